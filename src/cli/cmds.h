/* SPDX-License-Identifier: Apache-2.0 */
/* `berth` over the Engine API: Docker's commands, flags and output. */
#ifndef BERTH_CLI_CMDS_H
#define BERTH_CLI_CMDS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "client/client.h"
#include "util/error.h"

/* Docker's exit statuses. */
enum {
        EXIT_DAEMON = 125, /* the daemon or the CLI failed (run/create/exec) */
        EXIT_CANNOT_EXEC = 126,
        EXIT_NOT_FOUND = 127,
};

struct api_cli {
        const char *host;     /* resolved daemon host */
        bool host_is_default; /* no -H, BERTH_HOST or DOCKER_HOST: may autostart */
        bool debug;
        const char *argv0;
        bool use_tls; /* --tls, --tlsverify, DOCKER_TLS_VERIFY (tcp:// hosts) */
        struct berth_client_tls tls;
        struct berth_client *client; /* connected on first use */
};

/* The connected, version-negotiated client; starts berthd when the default
 * socket has no daemon. Prints the error and returns NULL. */
struct berth_client *api_client(struct api_cli *c);
/* Print an error as docker does ("Error response from daemon: ..." comes
 * from the client; others are printed as they are) and return CODE. */
int api_fail(berth_error **err, int code);

/* ---- flags ---- */
enum flag_type { F_BOOL, F_STRING, F_LIST, F_INT };

struct flag {
        char short_name; /* 0 when none */
        const char *long_name;
        enum flag_type type;
        void *dest; /* bool *, const char **, char *** (NULL-terminated, owned), int64_t * */
        const char *help;
        bool *set; /* when not NULL: set to true when the flag was given */
};

struct command {
        const char *name;  /* "run", "container ls" */
        const char *usage; /* "[OPTIONS] IMAGE [COMMAND] [ARG...]" */
        const char *desc;
        int min_args, max_args; /* max -1: unbounded */
        bool stop_at_first_arg; /* flags end at the first positional (run, exec) */
        const char *aliases;    /* "berth container ls, berth container list, berth ps" */
        const struct flag *flags;
        size_t nflags;
};

/* Parse ARGV (argv[0] is the command word). Returns the number of
 * positionals (in *ret_args, NULL-terminated, pointing into argv) or -1 with
 * *ret_exit set: 0 after --help, 125 on a bad flag, 1 on a wrong argument
 * count; the message has been printed. */
int flags_parse(const struct command *cmd, int argc, char **argv, char ***ret_args, int *ret_exit);
void flags_free_lists(const struct command *cmd);
/* flags_parse(), then api_client(): -1 with *ret_exit set (1 when the
 * daemon cannot be reached, the lists of flags freed) when the command
 * should end there. */
int api_begin(struct api_cli *c, const struct command *cmd, int argc, char **argv, char ***ret_args,
              int *ret_exit);
void command_help(const struct command *cmd, FILE *out);

/* ---- output ---- */
/* docker's units: "1.98MB" (SI, 3 significant digits), "336KiB" (binary). */
char *fmt_size(double bytes);
char *fmt_bytes_binary(double bytes);
/* "2 minutes ago"-style duration (Go's units.HumanDuration). */
char *fmt_duration(int64_t seconds);
/* Seconds since the epoch from RFC 3339 ("2026-11-27T22:14:57.78Z"); 0 on
 * failure or the zero time. */
int64_t parse_time(const char *rfc3339);
/* --since/--until values: RFC 3339, unix seconds, or a duration ("10m",
 * "1h30m") before now. Returns a string for the query (unix seconds). */
char *parse_since(const char *v, berth_error **err);
/* Replace the two-character escapes \t and \n; strip a "table" prefix
 * (reported through *ret_table). */
char *format_prepare(const char *format, bool *ret_table);
/* A tab writer like Go's (minwidth 0 ... padding 3, as docker's tables). */
struct tabw;
struct tabw *tabw_new(void);
void tabw_add(struct tabw *t, const char *line); /* cells separated by '\t' */
void tabw_flush(struct tabw *t, FILE *out);

/* Render rows (JSON objects) with a --format: "table ..." or plain; HEADER
 * maps field names to column titles (e.g. "ID" -> "CONTAINER ID"); returns
 * an exit status. */
int render_rows(const char *format, const char *default_table, json_object *rows,
                const char *const *header_map, bool quiet_ids_only);

/* filters={"k":{"v":true}} (URL-escaped) from --filter k=v values. */
char *filters_query(char *const *filters);
/* Go's time.Time.String() ("2026-11-27 22:14:57 +0000 UTC"). */
char *fmt_created_at(int64_t unix_time);
/* GET PATH into the file OUTPUT (atomically) or stdout (not a terminal). */
int download_to(struct api_cli *c, const char *path, const char *output, const char *what);

char *shell_join(char *const *argv); /* for "COMMAND" columns */
/* "WARNING! <WARNING>\nAre you sure you want to continue? [y/N] " on stdout;
 * true when the answer read from stdin starts with y or Y. */
bool confirm(const char *warning);
char *trunc_str(const char *s, size_t n); /* "abc…" */

/* ---- commands (argc/argv start at the command word) ---- */
int cmd_run(struct api_cli *c, int argc, char **argv);
int cmd_create(struct api_cli *c, int argc, char **argv);
int cmd_start(struct api_cli *c, int argc, char **argv);
int cmd_attach(struct api_cli *c, int argc, char **argv);
int cmd_stop(struct api_cli *c, int argc, char **argv);
int cmd_restart(struct api_cli *c, int argc, char **argv);
int cmd_kill(struct api_cli *c, int argc, char **argv);
int cmd_rm(struct api_cli *c, int argc, char **argv);
int cmd_pause(struct api_cli *c, int argc, char **argv);
int cmd_unpause(struct api_cli *c, int argc, char **argv);
int cmd_wait(struct api_cli *c, int argc, char **argv);
int cmd_rename(struct api_cli *c, int argc, char **argv);
int cmd_top(struct api_cli *c, int argc, char **argv);
int cmd_export(struct api_cli *c, int argc, char **argv);
int cmd_ps(struct api_cli *c, int argc, char **argv);
int cmd_logs(struct api_cli *c, int argc, char **argv);
int cmd_exec(struct api_cli *c, int argc, char **argv);
int cmd_inspect(struct api_cli *c, int argc, char **argv);
int cmd_container_inspect(struct api_cli *c, int argc, char **argv);
int cmd_image_inspect_api(struct api_cli *c, int argc, char **argv);
int cmd_cp(struct api_cli *c, int argc, char **argv);
int cmd_stats(struct api_cli *c, int argc, char **argv);
int cmd_events(struct api_cli *c, int argc, char **argv);
int cmd_container_prune(struct api_cli *c, int argc, char **argv);
int cmd_images_api(struct api_cli *c, int argc, char **argv);
int cmd_rmi_api(struct api_cli *c, int argc, char **argv);
int cmd_tag_api(struct api_cli *c, int argc, char **argv);
int cmd_save_api(struct api_cli *c, int argc, char **argv);
int cmd_load_api(struct api_cli *c, int argc, char **argv);
int cmd_import_api(struct api_cli *c, int argc, char **argv);
int cmd_history_api(struct api_cli *c, int argc, char **argv);
int cmd_image_prune_api(struct api_cli *c, int argc, char **argv);
int cmd_info(struct api_cli *c, int argc, char **argv);
int cmd_version(struct api_cli *c, int argc, char **argv);
int cmd_system_df_api(struct api_cli *c, int argc, char **argv);
int cmd_system_prune(struct api_cli *c, int argc, char **argv);

/* Shared by run/start/attach: attach to a container over a hijacked
 * connection (stdin when WITH_STDIN), returning the response (or NULL and
 * an error). */
struct berth_response;
int attach_container(struct api_cli *c, const char *id, bool with_stdin, bool logs,
                     struct berth_response **ret, berth_error **err);
/* GET /containers/NAME/json. */
int inspect_container(struct api_cli *c, const char *name, json_object **ret, berth_error **err);
/* Terminal handling for -t: raw mode on stdin (restored at exit), size. */
int tty_raw_begin(void);
void tty_raw_end(void);
bool tty_size(unsigned *rows, unsigned *cols);
/* Send the terminal size to PATH ("/containers/<id>/resize" or
 * "/exec/<id>/resize"), now and on every SIGWINCH in a helper thread. */
void tty_resize_follow(struct api_cli *c, const char *path);
/* --sig-proxy: forward the signals `berth` receives (SIGINT, SIGTERM, ...)
 * to the container ID (POST /containers/ID/kill?signal=...) from a helper
 * thread, as docker does for attached run, start -a and attach without -t. */
void sig_proxy_start(struct api_cli *c, const char *id);

#endif
