/* SPDX-License-Identifier: Apache-2.0 */
/* berth-shim: one small monitor process per container, and the client API
 * the engine uses to talk to it.
 *
 * ## What the shim does
 * The engine starts one `berth-shim` per container start (berth_shim_spawn).
 * The shim detaches from berthd (double fork, new session: a SIGKILL of
 * berthd leaves it running), makes itself a child subreaper, and creates the
 * OCI container with the runtime library (--root RUNTIME_ROOT) so that the
 * container's init is its child. The container is left *created* (its init
 * waits for start) until the engine sends START: attachers that were waiting
 * for the start (docker run attaches before it starts) connect in between,
 * so that no output is lost.
 * The shim holds the container's stdio (pipes, or the pty master received on
 * a console socket when TTY), writes every line to the json-file log in
 * Docker's on-disk format ({"log":"..\n","stream":"stdout","time":"..Z"}),
 * rotating at max-size and keeping max-file files, fans the output out to
 * the attached clients, reaps the init and writes the exit record
 * atomically, then deletes the OCI container and exits.
 *
 * ## Files
 *   SOCKET      the shim's unix socket (stream), mode 0600
 *   EXIT_PATH   the exit record, written once, atomically, when the init
 *               has been reaped and its output drained:
 *               {"ExitCode":N,"OOMKilled":false,"FinishedAt":"..Z","Pid":N,"Error":""}
 *               ExitCode is 128+signal for a killed init. A shim that
 *               fails to create/start the container writes ExitCode 127 /
 *               126 / 128 and the message in Error.
 *   LOG_PATH    the json-file log; rotated files are LOG_PATH.1 .. .N-1
 *
 * ## Wire protocol (on SOCKET)
 * One request per connection. A request is one text line; a reply line is
 * "OK[ args]\n" or "ERR <errno> <message>\n" (the message is free text up
 * to the newline, no newline inside).
 *   STATE                 -> OK <created|running|exited> <init-pid> <exit-code>
 *   START                 -> OK | ERR (starts the created container; the
 *                            error carries the runtime's message, e.g.
 *                            "exec: `x`: executable file not found in $PATH")
 *   KILL <sig>            -> OK | ERR (signal to the init, through its pidfd)
 *   RESIZE <rows> <cols>  -> OK | ERR (TIOCSWINSZ on the container's pty)
 *   WAIT                  -> (blocks until the init is reaped and its output
 *                            drained and the exit record written)
 *                            OK <exit-code> <oom 0|1>
 *   ATTACH <flags>        flags: any of "i" (stdin), "o" (stdout), "e"
 *                         (stderr), or "-" for none.
 *                         -> OK; when "i" was asked and the container's
 *                            stdin is open, the reply carries (SCM_RIGHTS)
 *                            one fd: a dup of the container's stdin (the
 *                            write end of its stdin pipe, or the pty master).
 *                         Then shim -> client: frames of
 *                            [u8 stream (1 stdout, 2 stderr)][u32 BE length][bytes]
 *                            (a TTY container's output is stream 1) until the
 *                            container's output ends: then the shim closes.
 *                         Client -> shim: the byte 'c' closes the container's
 *                            stdin (StdinOnce); closing the connection detaches.
 *                         An attacher that falls more than 1 MiB behind is
 *                         disconnected (it never slows the container down).
 *   EXEC <tty 0|1> <stdin 0|1> <rows> <cols> <len>
 *                         followed by LEN bytes: an OCI "process" JSON object.
 *                         -> OK <pid> with (SCM_RIGHTS) the process's stdio:
 *                              tty:  [pty master]
 *                              else: [stdout read end, stderr read end,
 *                                     stdin write end (only when stdin=1)]
 *                            then, on the same connection, when the process
 *                            has been reaped: "EXIT <status>\n" (128+signal
 *                            for a killed process).
 *                         -> ERR <errno> <message> when it could not start
 *                            (ENOENT for a missing executable).
 *                         The client relays the fds itself; closing the
 *                         connection does not kill the process.
 */
#ifndef BERTH_SHIM_SHIM_H
#define BERTH_SHIM_SHIM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/error.h"

struct berth_shim_config {
        const char *shim_path;    /* the berth-shim binary */
        const char *id;           /* container id (the OCI id too) */
        const char *bundle;       /* bundle dir: config.json, rootfs */
        const char *runtime_root; /* the runtime's state root (--root) */
        const char *socket_path;  /* the shim's socket, e.g. <run_dir>/shim.sock */
        const char *exit_path;    /* the exit record, e.g. <run_dir>/exit.json */
        const char *log_path;     /* json-file log; NULL: no log */
        int64_t log_max_size;     /* bytes; 0: no rotation */
        int log_max_file;         /* files kept, including the live one (>= 1) */
        bool tty;                 /* process.terminal: the shim receives the pty */
        bool open_stdin;          /* keep a stdin pipe for attachers */
        bool stdin_once;          /* close stdin when the first attacher detaches */
        int rows, cols;           /* initial pty size, 0: unset */
};

/* Start a shim: the container is *created* (its init waits) when this
 * returns 0. *ret_shim_pid / *ret_init_pid are the host pids. The shim is not
 * a child of the caller (nothing to reap). On failure the shim has exited and
 * left nothing behind; the error carries the runtime's message. */
int berth_shim_spawn(const struct berth_shim_config *cfg, pid_t *ret_shim_pid, pid_t *ret_init_pid,
                     berth_error **err);

/* START: run the container's process. */
int berth_shim_start(const char *socket_path, berth_error **err);

enum berth_shim_status {
        BERTH_SHIM_CREATED,
        BERTH_SHIM_RUNNING,
        BERTH_SHIM_EXITED,
};
/* STATE. ECONNREFUSED / ENOENT: no shim answers (it died or is gone). */
int berth_shim_state(const char *socket_path, enum berth_shim_status *ret_status,
                     pid_t *ret_init_pid, berth_error **err);

struct berth_shim_exit {
        int exit_code;
        bool oom_killed;
        pid_t pid;
        char *finished_at; /* RFC 3339 nano, "Z"; owned */
        char *error;       /* "" when none; owned */
};
void berth_shim_exit_clear(struct berth_shim_exit *x);

/* Read the exit record. ENOENT when the shim has not written one. */
int berth_shim_read_exit(const char *exit_path, struct berth_shim_exit *ret, berth_error **err);

/* WAIT, then read the exit record. If the shim dies without writing one,
 * returns -ESRCH. Blocks; safe to call from several threads. */
int berth_shim_wait(const char *socket_path, const char *exit_path, struct berth_shim_exit *ret,
                    berth_error **err);
/* Like berth_shim_wait but only opens the WAIT connection: returns its fd
 * (readable when the container has exited; then call berth_shim_wait_finish)
 * so that one thread can wait for many shims with poll/epoll. */
int berth_shim_wait_open(const char *socket_path, berth_error **err);
int berth_shim_wait_finish(int fd, const char *exit_path, struct berth_shim_exit *ret,
                           berth_error **err);

int berth_shim_kill(const char *socket_path, int sig, berth_error **err);
int berth_shim_resize(const char *socket_path, int rows, int cols, berth_error **err);

/* ATTACH: returns the connected socket (frames as above) and, when STDIN
 * was asked and is open, a dup of the container's stdin in *ret_stdin_fd
 * (else -1). */
int berth_shim_attach(const char *socket_path, bool in, bool out, bool err_stream,
                      int *ret_stdin_fd, berth_error **err);
/* Read one frame header from an attach socket: 1 with *ret_stream and
 * *ret_len set, 0 at the end of the stream, < 0 on error. */
int berth_shim_read_frame_header(int fd, int *ret_stream, uint32_t *ret_len);

struct berth_shim_exec {
        pid_t pid;
        int conn;      /* the connection: "EXIT <status>\n" arrives on it */
        int pty;       /* tty: the pty master; else -1 */
        int stdin_fd;  /* -1 unless !tty && stdin */
        int stdout_fd; /* -1 when tty */
        int stderr_fd; /* -1 when tty */
};
void berth_shim_exec_clear(struct berth_shim_exec *x);
/* EXEC: PROCESS_JSON is an OCI "process" object (serialized). */
int berth_shim_exec(const char *socket_path, const char *process_json, bool tty, bool in, int rows,
                    int cols, struct berth_shim_exec *ret, berth_error **err);
/* Read "EXIT <status>" from the exec connection (blocks). */
int berth_shim_exec_wait(struct berth_shim_exec *x, int *ret_status, berth_error **err);

#endif
