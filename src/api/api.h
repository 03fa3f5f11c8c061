/* SPDX-License-Identifier: Apache-2.0 */
/* The Docker Engine API server: HTTP/1.1 on unix sockets and TCP (optionally
 * TLS with client certificates), version negotiation, routing, errors as
 * {"message": ...}, streaming and hijacked connections, the image endpoints
 * over the image store and every container/exec/system endpoint over the
 * engine (src/engine/engine.h). One thread per connection. */
#ifndef BERTH_API_API_H
#define BERTH_API_API_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

struct berth_engine;
struct berth_image_store;
struct berth_api;

/* The API versions accepted in /vX.Y/ prefixes; the one reported. */
#define BERTH_API_VERSION     "1.41"
#define BERTH_API_MIN_VERSION "1.24"
#define BERTH_API_MAX_VERSION "1.45"

/* Limits on what a client may send. */
#define BERTH_API_MAX_JSON_BODY    (64u << 20)
#define BERTH_API_MAX_HEADERS      100
#define BERTH_API_MAX_HEADER_BYTES (64u << 10)

enum berth_api_log_level {
        BERTH_API_LOG_ERROR,
        BERTH_API_LOG_WARN,
        BERTH_API_LOG_INFO,
        BERTH_API_LOG_DEBUG,
};

struct berth_api_config {
        struct berth_engine *engine;      /* may be NULL only in tests of the image routes */
        struct berth_image_store *images; /* the engine's store */
        const char *data_root;
        const char *exec_root;
        enum berth_api_log_level log_level;
        /* Called (from any thread) for each log line; NULL: stderr. */
        void (*log)(void *ctx, enum berth_api_log_level level, const char *msg);
        void *log_ctx;
};

struct berth_api_tls {
        const char *ca_file; /* with verify: clients must present a cert it signed */
        const char *cert_file;
        const char *key_file;
        bool verify;
};

int berth_api_new(const struct berth_api_config *cfg, struct berth_api **ret, berth_error **err);
/* Serve on ADDR: "unix:///path", "tcp://host:port", "fd://" is not supported.
 * A unix socket is created with mode 0660 and, when GROUP exists, that group
 * (GROUP may be NULL). TLS (may be NULL) applies to tcp:// only. */
int berth_api_listen(struct berth_api *api, const char *addr, const char *group,
                     const struct berth_api_tls *tls, berth_error **err);
/* Change the log level (SIGHUP reload). */
void berth_api_set_log_level(struct berth_api *api, enum berth_api_log_level level);
/* Stop accepting, end every stream and hijacked connection, and free. */
void berth_api_free(struct berth_api *api);

/* Parse "1.41" into 141 (major*100+minor); -1 when it is not a version. */
int berth_api_parse_version(const char *s);

#endif
