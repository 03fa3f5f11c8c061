/* SPDX-License-Identifier: Apache-2.0 */
/* `docker logs` over the json-file log the shim writes: the rotated files
 * oldest first, --tail read backwards from the end, --since by a binary
 * search on the entries' times (neither reads the whole file), --follow with
 * inotify across rotations (no sleep polling), ended by the shim's WAIT
 * connection when the container exits. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine-internal.h"
#include "shim-io.h"
#include "shim/shim.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/xalloc.h"

#define MAX_ROTATED 100
#define BLOCK       65536
/* An entry longer than this is skipped (the shim writes at most ~100 KiB). */
#define MAX_ENTRY (4 * 1024 * 1024)

/* "2026-01-02T03:04:05.123Z" (any fraction length, Z or +hh:mm) -> ns. */
static int parse_time_ns(const char *s, int64_t *ret)
{
        struct tm tm = {0};
        const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        int64_t ns = 0, scale = 100000000;
        int64_t off = 0;

        if (p == NULL)
                return -EINVAL;
        if (*p == '.') {
                for (p++; *p >= '0' && *p <= '9'; p++) {
                        ns += (*p - '0') * scale;
                        scale /= 10;
                }
        }
        if (*p == '+' || *p == '-') {
                int hh = 0, mm = 0;
                if (sscanf(p + 1, "%d:%d", &hh, &mm) != 2)
                        return -EINVAL;
                off = (int64_t)(hh * 3600 + mm * 60) * (*p == '+' ? 1 : -1);
        } else if (*p != 'Z') {
                return -EINVAL;
        }
        *ret = ((int64_t)timegm(&tm) - off) * 1000000000LL + ns;
        return 0;
}

struct entry {
        json_object *obj;
        const char *log;
        size_t len;
        int stream; /* 1 stdout, 2 stderr */
        int64_t ns;
        const char *time;
};

static int parse_entry(const char *line, size_t len, struct entry *e)
{
        json_tokener *tok = json_tokener_new();
        json_object *o = json_tokener_parse_ex(tok, line, (int)len);
        const char *st, *t;

        json_tokener_free(tok);
        if (o == NULL)
                return -EINVAL;
        e->obj = o;
        e->log = json_object_get_string(json_object_object_get(o, "log"));
        e->len = (size_t)json_object_get_string_len(json_object_object_get(o, "log"));
        st = berth_json_str(o, "stream");
        e->stream = st && strcmp(st, "stderr") == 0 ? 2 : 1;
        t = berth_json_str(o, "time");
        e->time = t;
        if (e->log == NULL || t == NULL || parse_time_ns(t, &e->ns) < 0) {
                json_object_put(o);
                e->obj = NULL;
                return -EINVAL;
        }
        return 0;
}

struct writer {
        const struct berth_logs_opts *o;
        int fd;
        bool done; /* until passed */
};

/* Write one entry; -EPIPE when the peer is gone. */
static int emit(struct writer *w, const char *line, size_t len)
{
        struct entry e = {0};
        char ts[64] = "";
        size_t tl = 0;
        int r = 0;

        if (parse_entry(line, len, &e) < 0)
                return 0; /* a torn or foreign line: skip it */
        if (w->o->since_ns > 0 && e.ns < w->o->since_ns)
                goto out;
        if (w->o->until_ns > 0 && e.ns > w->o->until_ns) {
                w->done = true;
                goto out;
        }
        if ((e.stream == 1 && !w->o->out) || (e.stream == 2 && !w->o->err))
                goto out;
        if (w->o->timestamps) {
                /* RFC3339NanoFixed, as docker logs -t prints it. */
                time_t sec = (time_t)(e.ns / 1000000000LL);
                struct tm tm;
                gmtime_r(&sec, &tm);
                tl = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
                tl += (size_t)snprintf(ts + tl, sizeof(ts) - tl, ".%09lldZ ",
                                       (long long)(e.ns % 1000000000LL));
        }
        if (w->o->tty) {
                if (tl)
                        r = berth_write_all(w->fd, ts, tl);
                if (r == 0)
                        r = berth_write_all(w->fd, e.log, e.len);
        } else {
                size_t n = tl + e.len;
                unsigned char h[8] = {(unsigned char)e.stream,
                                      0,
                                      0,
                                      0,
                                      (unsigned char)(n >> 24),
                                      (unsigned char)(n >> 16),
                                      (unsigned char)(n >> 8),
                                      (unsigned char)n};
                char small[4096];
                if (n + 8 <= sizeof(small)) {
                        memcpy(small, h, 8);
                        memcpy(small + 8, ts, tl);
                        memcpy(small + 8 + tl, e.log, e.len);
                        r = berth_write_all(w->fd, small, n + 8);
                } else {
                        r = berth_write_all(w->fd, h, 8);
                        if (r == 0 && tl)
                                r = berth_write_all(w->fd, ts, tl);
                        if (r == 0)
                                r = berth_write_all(w->fd, e.log, e.len);
                }
        }
out:
        json_object_put(e.obj);
        return r < 0 ? -EPIPE : 0;
}

/* Reads lines from an fd from a given offset; keeps a partial last line. */
struct reader {
        int fd;
        char *buf;
        size_t len, cap;
        off_t pos; /* file offset of buf[len] */
};

static void reader_init(struct reader *rd, int fd, off_t pos)
{
        rd->fd = fd;
        rd->len = 0;
        rd->pos = pos;
        if (rd->buf == NULL) {
                rd->cap = BLOCK;
                rd->buf = xmalloc(rd->cap);
        }
}

/* Emit every complete line from the current position to EOF. */
static int reader_drain(struct reader *rd, struct writer *w)
{
        for (;;) {
                ssize_t n;
                size_t start = 0;

                if (rd->len == rd->cap) {
                        if (rd->cap >= MAX_ENTRY) {
                                rd->len = 0; /* an absurd line: drop it */
                        } else {
                                rd->cap *= 2;
                                rd->buf = xrealloc(rd->buf, rd->cap);
                        }
                }
                n = pread(rd->fd, rd->buf + rd->len, rd->cap - rd->len, rd->pos);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return 0;
                rd->len += (size_t)n;
                rd->pos += n;
                for (;;) {
                        char *nl = memchr(rd->buf + start, '\n', rd->len - start);
                        int r;
                        if (nl == NULL)
                                break;
                        r = emit(w, rd->buf + start, (size_t)(nl - (rd->buf + start)));
                        start = (size_t)(nl - rd->buf) + 1;
                        if (r < 0)
                                return r;
                        if (w->done)
                                return 0;
                }
                memmove(rd->buf, rd->buf + start, rd->len - start);
                rd->len -= start;
        }
}

/* Offset where the last NEED lines of FD (size SIZE) start, reading
 * backwards; *ret_found gets how many lines there are (<= need). */
static off_t tail_offset(int fd, off_t size, long need, long *ret_found)
{
        char buf[BLOCK];
        off_t end = size;
        long found = 0;

        while (end > 0) {
                size_t chunk = end > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)end;
                off_t at = end - (off_t)chunk;
                ssize_t n = pread(fd, buf, chunk, at);
                if (n != (ssize_t)chunk)
                        break;
                for (ssize_t i = n - 1; i >= 0; i--) {
                        /* Each newline but the last starts one more line. */
                        if (buf[i] != '\n' || at + i == size - 1)
                                continue;
                        if (++found == need) {
                                *ret_found = found;
                                return at + i + 1;
                        }
                }
                end = at;
        }
        /* The beginning of the file starts the first line. */
        if (size > 0)
                found++;
        *ret_found = found;
        return 0;
}

/* Time of the first complete entry at or after OFF; INT64_MAX if none. */
static int64_t time_at(int fd, off_t off, off_t size, bool aligned, off_t *ret_line)
{
        char buf[8192];
        off_t pos = off;
        bool skip = off > 0 && !aligned;

        while (pos < size) {
                ssize_t n = pread(fd, buf, sizeof(buf) - 1, pos);
                char *p = buf;
                if (n <= 0)
                        break;
                buf[n] = '\0';
                if (skip) {
                        char *nl = memchr(buf, '\n', (size_t)n);
                        if (nl == NULL) {
                                pos += n;
                                continue;
                        }
                        p = nl + 1;
                        skip = false;
                }
                {
                        char *t = strstr(p, "\"time\":\"");
                        char *nl = strchr(p, '\n');
                        int64_t ns;
                        if (t && (nl == NULL || t < nl) && parse_time_ns(t + 8, &ns) == 0) {
                                *ret_line = pos + (p - buf);
                                return ns;
                        }
                        if (nl == NULL)
                                break;
                        pos += (nl + 1) - buf;
                        skip = false;
                }
        }
        *ret_line = size;
        return INT64_MAX;
}

/* First offset whose entry is at or after SINCE (entries are in time order). */
static off_t since_offset(int fd, off_t size, int64_t since)
{
        off_t lo = 0, hi = size, line;

        while (hi - lo > 4096) {
                off_t mid = lo + (hi - lo) / 2;
                int64_t t = time_at(fd, mid, size, false, &line);
                if (t < since)
                        lo = line > mid ? line : mid;
                else
                        hi = mid;
        }
        /* lo is at a line start or inside the line before the answer:
         * realign to a line start at or before it. */
        while (lo > 0) {
                char ch;
                if (pread(fd, &ch, 1, lo - 1) != 1 || ch == '\n')
                        break;
                lo--;
        }
        return lo;
}

static char *rotated_path(const char *path, int i)
{
        return i == 0 ? xstrdup(path) : xasprintf("%s.%d", path, i);
}

/* Peer gone? (POLLRDHUP / POLLHUP / POLLERR on the output fd) */
static bool peer_gone(int fd)
{
        struct pollfd p = {.fd = fd, .events = POLLRDHUP};
        return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static int follow(const char *path, struct reader *rd, struct writer *w, int out_fd, int end_fd,
                  berth_error **err)
{
        cleanup_close int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        cleanup_free char *dir = xstrdup(path);
        char *slash = strrchr(dir, '/');
        bool ending = false;

        if (in < 0)
                return berth_fail_errno(err, "inotify");
        if (slash) {
                *slash = '\0';
        } else {
                free(dir);
                dir = xstrdup(".");
        }
        if (inotify_add_watch(in, dir,
                              IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE |
                                  IN_DELETE) < 0)
                return berth_fail_errno(err, "watch `%s`", dir);
        for (;;) {
                struct pollfd p[3] = {{.fd = in, .events = POLLIN},
                                      {.fd = out_fd, .events = POLLRDHUP},
                                      {.fd = end_fd, .events = POLLIN}};
                struct stat a, b;
                int r;

                /* Read what is there; then switch files if the live one was
                 * rotated away (the shim never writes the old one again). */
                for (;;) {
                        r = reader_drain(rd, w);
                        if (r < 0 || w->done)
                                return r;
                        if (fstat(rd->fd, &a) == 0 && stat(path, &b) == 0 &&
                            (a.st_ino != b.st_ino || a.st_dev != b.st_dev)) {
                                int fd = open(path, O_RDONLY | O_CLOEXEC);
                                if (fd < 0)
                                        break;
                                (void)close(rd->fd);
                                reader_init(rd, fd, 0);
                                continue;
                        }
                        if (fstat(rd->fd, &a) == 0 && a.st_size < rd->pos) {
                                /* Truncated in place (max-file 1). */
                                reader_init(rd, rd->fd, 0);
                                continue;
                        }
                        break;
                }
                if (ending)
                        return 0;
                r = poll(p, end_fd >= 0 ? 3 : 2, -1);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return berth_fail_errno(err, "poll");
                if (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR))
                        return -EPIPE;
                if (end_fd >= 0 && (p[2].revents & (POLLIN | POLLHUP | POLLERR)))
                        ending = true; /* one last drain: the shim flushed first */
                if (p[0].revents & POLLIN) {
                        char evbuf[4096]
                            __attribute__((aligned(__alignof__(struct inotify_event))));
                        while (read(in, evbuf, sizeof(evbuf)) > 0)
                                ;
                }
        }
}

int berth_logs_write(const char *log_path, const struct berth_logs_opts *o, int out_fd,
                     int follow_end_fd, berth_error **err)
{
        struct writer w = {.o = o, .fd = out_fd};
        struct reader rd = {.fd = -1};
        int nfiles = 0, r = 0;
        int fds[MAX_ROTATED + 1];
        off_t sizes[MAX_ROTATED + 1], starts[MAX_ROTATED + 1];

        /* Open the live file first, then the rotated ones: a rotation in
         * between can only duplicate, never lose, entries... and we check
         * inode identity below to drop a duplicate. */
        for (int i = 0; i <= MAX_ROTATED; i++) {
                cleanup_free char *p = rotated_path(log_path, i);
                struct stat st;
                int fd = open(p, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        if (i == 0 && errno != ENOENT)
                                return berth_fail_errno(err, "open the log `%s`", p);
                        break; /* no log (yet): nothing rotated either */
                }
                if (fstat(fd, &st) < 0) {
                        close(fd);
                        break;
                }
                fds[nfiles] = fd;
                sizes[nfiles] = st.st_size;
                starts[nfiles] = 0;
                nfiles++;
        }
        /* fds[0] is the live file (if any); older files follow. Choose the
         * starting point of each file. */
        if (o->tail >= 0) {
                long need = o->tail;
                for (int i = 0; i < nfiles; i++) {
                        long found = 0;
                        if (need == 0) {
                                starts[i] = sizes[i];
                                continue;
                        }
                        starts[i] = tail_offset(fds[i], sizes[i], need, &found);
                        need -= found;
                }
        }
        if (o->since_ns > 0) {
                for (int i = 0; i < nfiles; i++) {
                        off_t line;
                        off_t s;
                        if (starts[i] >= sizes[i])
                                continue;
                        /* Whole file before since? Check its last entry. */
                        {
                                long found;
                                off_t last = tail_offset(fds[i], sizes[i], 1, &found);
                                if (time_at(fds[i], last, sizes[i], true, &line) < o->since_ns) {
                                        starts[i] = sizes[i];
                                        continue;
                                }
                        }
                        s = since_offset(fds[i], sizes[i], o->since_ns);
                        if (s > starts[i])
                                starts[i] = s;
                }
        }
        /* Oldest first. */
        for (int i = nfiles - 1; i >= 1 && r == 0 && !w.done; i--) {
                struct reader old = {.fd = -1};
                reader_init(&old, fds[i], starts[i]);
                r = reader_drain(&old, &w);
                free(old.buf);
        }
        for (int i = 1; i < nfiles; i++)
                close(fds[i]);
        if (r < 0 || w.done) {
                if (nfiles > 0)
                        close(fds[0]);
                return r == -EPIPE ? -EPIPE : 0;
        }
        if (nfiles == 0) {
                if (!o->follow || follow_end_fd < 0)
                        return 0;
                /* The shim creates the log when it starts; wait for it. */
                fds[0] = open(log_path, O_RDONLY | O_CLOEXEC | O_CREAT, 0640);
                if (fds[0] < 0)
                        return 0;
                nfiles = 1;
        }
        reader_init(&rd, fds[0], starts[0]);
        if (o->follow && follow_end_fd >= 0 && !peer_gone(out_fd))
                r = follow(log_path, &rd, &w, out_fd, follow_end_fd, err);
        else
                r = reader_drain(&rd, &w);
        close(rd.fd);
        free(rd.buf);
        return r;
}

int berth_engine_container_logs(struct berth_engine *e, const char *ref,
                                const struct berth_logs_opts *o, int out_fd, berth_error **err)
{
        cleanup_container struct berth_container *c = NULL;
        cleanup_close int end_fd = -1;
        struct berth_logs_opts opts = *o;
        bool running;
        int r;

        r = berth_engine_container_get(e, ref, &c, err);
        if (r < 0)
                return r;
        pthread_mutex_lock(&c->lock);
        running = berth_container_is_running(c);
        opts.tty = c->tty;
        pthread_mutex_unlock(&c->lock);
        if (opts.follow && running)
                end_fd = berth_shim_wait_open(c->shim_socket, NULL);
        r = berth_logs_write(c->log_path, &opts, out_fd, end_fd, err);
        if (r == -EPIPE)
                return 0; /* the client went away: nothing to report */
        return r;
}
