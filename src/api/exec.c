/* SPDX-License-Identifier: Apache-2.0 */
/* Exec endpoints: create, start (hijacked, or detached), inspect, resize. */
#include <stdlib.h>
#include <string.h>

#include "api/api-internal.h"
#include "api/body-check.h"
#include "util/cleanup.h"
#include "util/jsonutil.h"
#include "util/xalloc.h"
#ifdef BERTH_API_HAVE_ENGINE
#include "engine/engine.h"
#endif

#ifdef BERTH_API_HAVE_ENGINE

#define ENGINE(r) ((r)->api->cfg.engine)

void api_exec_create(struct api_req *r)
{
        cleanup_error berth_error *err = NULL;
        cleanup_json json_object *body = NULL;
        cleanup_json json_object *out = NULL;
        cleanup_free char *why = NULL;

        if ((body = api_body_json(r, false)) == NULL)
                return;
        if ((why = api_check_exec_config(body)) != NULL) {
                api_reply_error(r, 400, "%s", why);
                return;
        }
        json_object *cmd = berth_json_get(body, "Cmd");
        if (cmd == NULL || json_object_array_length(cmd) == 0) {
                api_reply_error(r, 400, "No exec command specified");
                return;
        }
        if (!api_need_engine(r))
                return;
        if (berth_engine_exec_create(ENGINE(r), r->params[0], body, &out, &err) < 0) {
                api_reply_berr(r, err);
                return;
        }
        api_reply_json(r, 201, out);
}

struct exec_job {
        struct berth_engine *e;
        char *id;
        json_object *body;
};

static void exec_run(void *p, int sock)
{
        struct exec_job *j = p;
        cleanup_error berth_error *err = NULL;
        (void)berth_engine_exec_start(j->e, j->id, j->body, sock, &err);
}

static void exec_free(void *p)
{
        struct exec_job *j = p;
        free(j->id);
        json_object_put(j->body);
        free(j);
}

void api_exec_start(struct api_req *r)
{
        cleanup_error berth_error *err = NULL;
        cleanup_json json_object *body = NULL;
        cleanup_json json_object *info = NULL;
        cleanup_free char *why = NULL;
        struct exec_job *j;

        if (!api_need_engine(r) || (body = api_body_json(r, true)) == NULL)
                return;
        if ((why = api_check_exec_start(body)) != NULL) {
                api_reply_error(r, 400, "%s", why);
                return;
        }
        if (berth_engine_exec_inspect(ENGINE(r), r->params[0], &info, &err) < 0) {
                api_reply_berr(r, err);
                return;
        }
        if (berth_json_bool(info, "Running", false)) {
                api_reply_error(r, 409, "Error: Exec command %s is already running", r->params[0]);
                return;
        }
        if (berth_json_bool(body, "Detach", false)) {
                if (berth_engine_exec_start(ENGINE(r), r->params[0], body, -1, &err) < 0)
                        api_reply_berr(r, err);
                else
                        api_reply_empty(r, 200);
                return;
        }
        bool tty = berth_json_bool(body, "Tty", false) ||
                   berth_json_bool(berth_json_get(info, "ProcessConfig"), "tty", false);
        j = xmalloc(sizeof(*j));
        j->e = ENGINE(r);
        j->id = xstrdup(r->params[0]);
        j->body = json_object_get(body);
        api_hijack(r, tty, exec_run, j, exec_free);
}

void api_exec_inspect(struct api_req *r)
{
        cleanup_error berth_error *err = NULL;
        cleanup_json json_object *out = NULL;
        if (!api_need_engine(r))
                return;
        if (berth_engine_exec_inspect(ENGINE(r), r->params[0], &out, &err) < 0) {
                api_reply_berr(r, err);
                return;
        }
        api_reply_json(r, 200, out);
}

void api_exec_resize(struct api_req *r)
{
        cleanup_error berth_error *err = NULL;
        long long h, w;
        if (!api_need_engine(r) || !api_query_int(r, "h", 0, &h) || !api_query_int(r, "w", 0, &w))
                return;
        if (h < 0 || h > 65535 || w < 0 || w > 65535) {
                api_reply_error(r, 400, "invalid terminal size %lldx%lld", h, w);
                return;
        }
        if (berth_engine_exec_resize(ENGINE(r), r->params[0], (int)h, (int)w, &err) < 0)
                api_reply_berr(r, err);
        else
                api_reply_empty(r, 200);
}

#else /* !BERTH_API_HAVE_ENGINE */

void api_exec_create(struct api_req *r)
{
        api_need_engine(r);
}
void api_exec_start(struct api_req *r)
{
        api_need_engine(r);
}
void api_exec_inspect(struct api_req *r)
{
        api_need_engine(r);
}
void api_exec_resize(struct api_req *r)
{
        api_need_engine(r);
}

#endif
