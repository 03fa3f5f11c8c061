/* SPDX-License-Identifier: Apache-2.0 */
/* The json-file log writer (see jsonlog.h). */
#include "shim/jsonlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static char *put_digits(char *p, uint64_t v, int width)
{
        for (int i = width - 1; i >= 0; i--) {
                p[i] = (char)('0' + v % 10);
                v /= 10;
        }
        return p + width;
}

/* Done by hand, not with gmtime_r + strftime + snprintf: this runs for every
 * log line in the shim, and those drag in glibc's time-zone loading, locale
 * tables and printf engine, which would stay resident in every shim. The
 * date is the proleptic Gregorian calendar computed from the day count in
 * 400-year eras (146097 days each), counted from 0000-03-01 so that the leap
 * day falls at the end of the year. */
size_t berth_jsonlog_format_time(char *out, const struct timespec *ts)
{
        int64_t days = ts->tv_sec / 86400, secs = ts->tv_sec % 86400;
        char *p = out;

        if (secs < 0) {
                secs += 86400;
                days--;
        }
        days += 719468; /* 1970-01-01 counted from 0000-03-01 */
        int64_t era = (days >= 0 ? days : days - 146096) / 146097;
        uint64_t doe = (uint64_t)(days - era * 146097);                       /* [0, 146096] */
        uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
        uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
        uint64_t mp = (5 * doy + 2) / 153;                                    /* March = 0 */
        uint64_t mday = doy - (153 * mp + 2) / 5 + 1;
        uint64_t mon = mp < 10 ? mp + 3 : mp - 9;
        int64_t year = (int64_t)yoe + era * 400 + (mon <= 2);

        if (year < 0 || year > 9999)
                year = year < 0 ? 0 : 9999; /* not a clock_gettime() value */
        p = put_digits(p, (uint64_t)year, 4);
        *p++ = '-';
        p = put_digits(p, mon, 2);
        *p++ = '-';
        p = put_digits(p, mday, 2);
        *p++ = 'T';
        p = put_digits(p, (uint64_t)secs / 3600, 2);
        *p++ = ':';
        p = put_digits(p, (uint64_t)secs / 60 % 60, 2);
        *p++ = ':';
        p = put_digits(p, (uint64_t)secs % 60, 2);
        if (ts->tv_nsec > 0 && ts->tv_nsec < 1000000000) {
                int k = 9;
                *p++ = '.';
                put_digits(p, (uint64_t)ts->tv_nsec, 9);
                while (p[k - 1] == '0') /* RFC3339Nano: no trailing zeros */
                        k--;
                p += k;
        }
        *p++ = 'Z';
        *p = '\0';
        return (size_t)(p - out);
}

size_t berth_jsonlog_encoded_max(size_t len)
{
        /* Worst case: every byte becomes \ufffd (6 bytes). */
        return len * 6 + 128;
}

/* Length of a valid UTF-8 sequence at S (at most N bytes), or 0. */
static size_t utf8_valid(const unsigned char *s, size_t n)
{
        unsigned char c = s[0];
        size_t need;
        unsigned int cp;

        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf) {
                need = 2;
                cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
                need = 3;
                cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
                need = 4;
                cp = c & 0x07;
        } else {
                return 0;
        }
        if (n < need)
                return 0;
        for (size_t i = 1; i < need; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return need;
}

/* Escape as Go's encoding/json does (HTML-safe, invalid UTF-8 as U+FFFD). */
size_t berth_jsonlog_escape(char *out, const char *msg, size_t len)
{
        static const char hex[] = "0123456789abcdef";
        const unsigned char *s = (const unsigned char *)msg;
        size_t o = 0;

        for (size_t i = 0; i < len;) {
                unsigned char c = s[i];
                if (c >= 0x80) {
                        size_t k = utf8_valid(s + i, len - i);
                        if (k == 0) {
                                memcpy(out + o, "\\ufffd", 6);
                                o += 6;
                                i++;
                                continue;
                        }
                        /* U+2028 and U+2029 are escaped by Go too. */
                        if (k == 3 && c == 0xe2 && s[i + 1] == 0x80 &&
                            (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
                                memcpy(out + o, s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
                                o += 6;
                        } else {
                                memcpy(out + o, s + i, k);
                                o += k;
                        }
                        i += k;
                        continue;
                }
                switch (c) {
                case '"':
                case '\\':
                        out[o++] = '\\';
                        out[o++] = (char)c;
                        break;
                case '\n':
                        out[o++] = '\\';
                        out[o++] = 'n';
                        break;
                case '\r':
                        out[o++] = '\\';
                        out[o++] = 'r';
                        break;
                case '\t':
                        out[o++] = '\\';
                        out[o++] = 't';
                        break;
                default:
                        if (c < 0x20 || c == '<' || c == '>' || c == '&') {
                                memcpy(out + o, "\\u00", 4);
                                out[o + 4] = hex[c >> 4];
                                out[o + 5] = hex[c & 15];
                                o += 6;
                        } else {
                                out[o++] = (char)c;
                        }
                }
                i++;
        }
        return o;
}

size_t berth_jsonlog_encode(char *out, const char *stream, const char *msg, size_t len,
                            const struct timespec *ts)
{
        size_t o = 0, sl = strlen(stream);

        memcpy(out, "{\"log\":\"", 8);
        o = 8;
        o += berth_jsonlog_escape(out + o, msg, len);
        memcpy(out + o, "\",\"stream\":\"", 12);
        o += 12;
        memcpy(out + o, stream, sl);
        o += sl;
        memcpy(out + o, "\",\"time\":\"", 10);
        o += 10;
        o += berth_jsonlog_format_time(out + o, ts);
        memcpy(out + o, "\"}\n", 3);
        return o + 3;
}

int berth_jsonlog_open(struct berth_jsonlog *l, const char *path, int64_t max_size, int max_file,
                       berth_error **err)
{
        struct stat st;
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

        if (fd < 0)
                return berth_fail_errno(err, "open the log `%s`", path);
        if (fstat(fd, &st) < 0) {
                int r = berth_fail_errno(err, "stat the log `%s`", path);
                close(fd);
                return r;
        }
        l->path = xstrdup(path);
        l->fd = fd;
        l->size = st.st_size;
        l->max_size = max_size > 0 ? max_size : 0;
        l->max_file = max_file >= 1 ? max_file : 1;
        return 0;
}

void berth_jsonlog_close(struct berth_jsonlog *l)
{
        if (l->fd >= 0)
                (void)close(l->fd);
        l->fd = -1;
        free(l->path);
        l->path = NULL;
}

int berth_jsonlog_rotate(struct berth_jsonlog *l, berth_error **err)
{
        int fd;

        if (l->max_file <= 1) {
                if (ftruncate(l->fd, 0) < 0)
                        return berth_fail_errno(err, "truncate the log `%s`", l->path);
                l->size = 0;
                return 0;
        }
        for (int i = l->max_file - 1; i >= 1; i--) {
                cleanup_free char *to = xasprintf("%s.%d", l->path, i);
                cleanup_free char *from =
                    i == 1 ? xstrdup(l->path) : xasprintf("%s.%d", l->path, i - 1);
                if (rename(from, to) < 0 && errno != ENOENT)
                        return berth_fail_errno(err, "rotate the log `%s`", from);
        }
        fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        if (fd < 0)
                return berth_fail_errno(err, "open the log `%s`", l->path);
        (void)close(l->fd);
        l->fd = fd;
        l->size = 0;
        return 0;
}

int berth_jsonlog_write(struct berth_jsonlog *l, const char *stream, const char *msg, size_t len,
                        const struct timespec *ts, berth_error **err)
{
        char small[4096];
        cleanup_free char *big = NULL;
        char *buf = small;
        size_t n;
        int r;

        if (berth_jsonlog_encoded_max(len) > sizeof(small))
                buf = big = xmalloc(berth_jsonlog_encoded_max(len));
        n = berth_jsonlog_encode(buf, stream, msg, len, ts);
        if (l->max_size > 0 && l->size > 0 && l->size + (int64_t)n > l->max_size) {
                r = berth_jsonlog_rotate(l, err);
                if (r < 0)
                        return r;
        }
        r = berth_write_all(l->fd, buf, n);
        if (r < 0)
                return berth_fail(err, -r, "write the log `%s`", l->path);
        l->size += (int64_t)n;
        return 0;
}

int berth_jsonlog_feed(struct berth_jsonlog *l, struct berth_jsonlog_line *line, const char *stream,
                       const char *data, size_t len, berth_error **err)
{
        struct timespec ts;
        int r;

        clock_gettime(CLOCK_REALTIME, &ts);
        while (len > 0) {
                const char *nl = memchr(data, '\n', len);
                size_t take = nl ? (size_t)(nl - data) + 1 : len;
                size_t room = sizeof(line->buf) - line->len;
                bool full;

                if (take > room)
                        take = room;
                memcpy(line->buf + line->len, data, take);
                line->len += take;
                data += take;
                len -= take;
                full = line->len == sizeof(line->buf);
                if (line->buf[line->len - 1] == '\n' || full) {
                        r = berth_jsonlog_write(l, stream, line->buf, line->len, &ts, err);
                        line->len = 0;
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int berth_jsonlog_flush(struct berth_jsonlog *l, struct berth_jsonlog_line *line,
                        const char *stream, berth_error **err)
{
        struct timespec ts;
        int r;

        if (line->len == 0)
                return 0;
        clock_gettime(CLOCK_REALTIME, &ts);
        r = berth_jsonlog_write(l, stream, line->buf, line->len, &ts, err);
        line->len = 0;
        return r;
}
