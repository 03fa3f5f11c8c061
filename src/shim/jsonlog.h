/* SPDX-License-Identifier: Apache-2.0 */
/* The json-file log driver's writer, in Docker's on-disk format: one JSON
 * object per message, {"log":"...","stream":"stdout","time":"...Z"}, with
 * rotation at max-size keeping max-file files (PATH, PATH.1, ... PATH.N-1).
 * Used by berth-shim; no json-c (the shim's steady state stays small). */
#ifndef BERTH_SHIM_JSONLOG_H
#define BERTH_SHIM_JSONLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/error.h"

/* Longest message in one entry: a longer line is split into partial
 * entries (no trailing "\n"), as dockerd does at 16 KiB. */
#define BERTH_JSONLOG_MAX_LINE (16 * 1024)

struct berth_jsonlog {
        char *path;
        int fd;
        int64_t size;
        int64_t max_size; /* 0: never rotate */
        int max_file;     /* >= 1 */
};

/* Open (append, create) PATH. */
int berth_jsonlog_open(struct berth_jsonlog *l, const char *path, int64_t max_size, int max_file,
                       berth_error **err);
void berth_jsonlog_close(struct berth_jsonlog *l);
/* Append one entry (rotating first when it would not fit). */
int berth_jsonlog_write(struct berth_jsonlog *l, const char *stream, const char *msg, size_t len,
                        const struct timespec *ts, berth_error **err);
/* Rename PATH.N-2 -> PATH.N-1 ... PATH -> PATH.1 and start a new PATH
 * (with max_file 1: truncate). */
int berth_jsonlog_rotate(struct berth_jsonlog *l, berth_error **err);

/* Encode one entry (with its trailing newline) into OUT, which must hold
 * berth_jsonlog_encoded_max(len) bytes; returns the length. */
size_t berth_jsonlog_encode(char *out, const char *stream, const char *msg, size_t len,
                            const struct timespec *ts);
size_t berth_jsonlog_encoded_max(size_t len);
/* The JSON string escape of Go's encoding/json (HTML-safe; invalid UTF-8
 * as \ufffd), without quotes; OUT holds 6 * LEN bytes. */
size_t berth_jsonlog_escape(char *out, const char *msg, size_t len);
/* Go's time.RFC3339Nano in UTC (trailing zeros of the fraction trimmed);
 * OUT holds at least 40 bytes. Returns the length. */
size_t berth_jsonlog_format_time(char *out, const struct timespec *ts);

/* Splits a stream of bytes into messages at '\n' (or at
 * BERTH_JSONLOG_MAX_LINE) and writes each one. */
struct berth_jsonlog_line {
        char buf[BERTH_JSONLOG_MAX_LINE];
        size_t len;
};
int berth_jsonlog_feed(struct berth_jsonlog *l, struct berth_jsonlog_line *line, const char *stream,
                       const char *data, size_t len, berth_error **err);
/* Write what is left (a last line without '\n'). */
int berth_jsonlog_flush(struct berth_jsonlog *l, struct berth_jsonlog_line *line,
                        const char *stream, berth_error **err);

#endif
