/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the API's pure parts: versions, routing, body checks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/api-internal.h"
#include "api/body-check.h"
#include "util/jsonutil.h"

static void test_parse_version(void **state)
{
        assert_int_equal(berth_api_parse_version("1.41"), 141);
        assert_int_equal(berth_api_parse_version("1.24"), 124);
        assert_int_equal(berth_api_parse_version("1.5"), 105);
        assert_int_equal(berth_api_parse_version("2.0"), 200);
        assert_int_equal(berth_api_parse_version("1"), -1);
        assert_int_equal(berth_api_parse_version("1."), -1);
        assert_int_equal(berth_api_parse_version("v1.41"), -1);
        assert_int_equal(berth_api_parse_version("1.41x"), -1);
        assert_int_equal(berth_api_parse_version(""), -1);
}

struct routed {
        struct berth_api api;
        struct api_req r;
};

static void route(struct routed *t, const char *method, const char *url)
{
        memset(t, 0, sizeof(*t));
        atomic_init(&t->api.log_level, BERTH_API_LOG_ERROR);
        t->r.api = &t->api;
        t->r.method = (char *)method;
        t->r.url = (char *)url;
        t->r.resp.stream_fd = -1;
        api_route(&t->r);
}

static void routed_clear(struct routed *t)
{
        for (size_t i = 0; i < API_MAX_PARAMS; i++)
                free(t->r.params[i]);
        free(t->r.resp.body);
        free(t->r.resp.ctype);
}

static void test_route(void **state)
{
        struct routed t;

        route(&t, "GET", "/v1.41/containers/abc/json");
        assert_non_null(t.r.route);
        assert_ptr_equal(t.r.route->fn, api_container_inspect);
        assert_string_equal(t.r.params[0], "abc");
        assert_int_equal(t.r.version, 141);
        routed_clear(&t);

        route(&t, "GET", "/containers/json");
        assert_ptr_equal(t.r.route->fn, api_containers_list);
        assert_null(t.r.params[0]);
        routed_clear(&t);

        /* image names carry '/' and ':' */
        route(&t, "GET", "/v1.41/images/127.0.0.1:5002/specs-busybox:1/json");
        assert_ptr_equal(t.r.route->fn, api_image_inspect);
        assert_string_equal(t.r.params[0], "127.0.0.1:5002/specs-busybox:1");
        routed_clear(&t);

        route(&t, "DELETE", "/v1.45/images/docker.io/library/busybox:latest");
        assert_ptr_equal(t.r.route->fn, api_image_delete);
        assert_string_equal(t.r.params[0], "docker.io/library/busybox:latest");
        routed_clear(&t);

        /* fixed routes win over the image-name patterns */
        route(&t, "GET", "/v1.41/images/json");
        assert_ptr_equal(t.r.route->fn, api_images_list);
        routed_clear(&t);

        route(&t, "HEAD", "/_ping");
        assert_ptr_equal(t.r.route->fn, api_ping);
        routed_clear(&t);

        route(&t, "POST", "/exec/0123/start");
        assert_ptr_equal(t.r.route->fn, api_exec_start);
        assert_string_equal(t.r.params[0], "0123");
        routed_clear(&t);

        /* '+' is exactly one segment */
        route(&t, "GET", "/containers/a/b/json");
        assert_null(t.r.route);
        assert_int_equal(t.r.resp.status, 404);
        assert_non_null(strstr(t.r.resp.body, "page not found"));
        routed_clear(&t);

        route(&t, "GET", "/containers//json");
        assert_null(t.r.route);
        assert_int_equal(t.r.resp.status, 404);
        routed_clear(&t);

        route(&t, "PATCH", "/containers/json");
        assert_int_equal(t.r.resp.status, 404);
        routed_clear(&t);
}

static void test_route_versions(void **state)
{
        struct routed t;

        route(&t, "GET", "/v1.50/version");
        assert_null(t.r.route);
        assert_int_equal(t.r.resp.status, 400);
        assert_non_null(
            strstr(t.r.resp.body,
                   "client version 1.50 is too new. Maximum supported API version is 1.45"));
        routed_clear(&t);

        route(&t, "GET", "/v1.12/version");
        assert_int_equal(t.r.resp.status, 400);
        assert_non_null(strstr(t.r.resp.body, "client version 1.12 is too old"));
        routed_clear(&t);

        route(&t, "GET", "/v1.45/version");
        assert_ptr_equal(t.r.route->fn, api_version);
        assert_int_equal(t.r.version, 145);
        routed_clear(&t);

        route(&t, "GET", "/v1.24/_ping");
        assert_ptr_equal(t.r.route->fn, api_ping);
        routed_clear(&t);

        /* no prefix: the default version */
        route(&t, "GET", "/version");
        assert_int_equal(t.r.version, 141);
        routed_clear(&t);
}

static json_object *parse(const char *s)
{
        json_object *o = NULL;
        assert_int_equal(berth_json_parse(s, strlen(s), "test", &o, NULL), 0);
        return o;
}

static void test_body_check(void **state)
{
        struct {
                const char *body;
                const char *field; /* NULL: accepted */
        } cases[] = {
            {"{\"Image\":\"busybox\",\"Cmd\":[\"echo\",\"hi\"]}", NULL},
            {"{\"Image\":\"busybox\",\"Cmd\":\"echo hi\"}", NULL},
            {"{\"Image\":\"busybox\",\"Cmd\":null,\"Env\":null}", NULL},
            {"{\"Image\":5}", "ContainerConfig.Image"},
            {"{\"Cmd\":5}", "ContainerConfig.Cmd"},
            {"{\"Cmd\":[\"a\",1]}", "ContainerConfig.Cmd"},
            {"{\"Tty\":\"yes\"}", "ContainerConfig.Tty"},
            {"{\"HostConfig\":{\"Memory\":\"64m\"}}", "HostConfig.Memory"},
            {"{\"HostConfig\":{\"Memory\":1.5}}", "HostConfig.Memory"},
            {"{\"HostConfig\":{\"RestartPolicy\":{\"Name\":1}}}", "HostConfig.RestartPolicy.Name"},
            {"{\"HostConfig\":{\"Memory\":67108864,\"CapDrop\":[\"ALL\"]}}", NULL},
            {"{\"HostConfig\":[]}", "ContainerConfig.HostConfig"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                cleanup_json json_object *o = parse(cases[i].body);
                char *why = api_check_container_config(o);
                if (cases[i].field == NULL) {
                        assert_null(why);
                } else {
                        assert_non_null(why);
                        assert_non_null(strstr(why, cases[i].field));
                        free(why);
                }
        }
        cleanup_json json_object *e1 = parse("{\"Cmd\":[\"sh\"],\"Tty\":true}");
        assert_null(api_check_exec_config(e1));
        cleanup_json json_object *e2 = parse("{\"Cmd\":\"sh\"}");
        char *why = api_check_exec_config(e2);
        assert_non_null(why);
        free(why);
        cleanup_json json_object *s1 = parse("{\"Detach\":\"no\"}");
        why = api_check_exec_start(s1);
        assert_non_null(why);
        free(why);
}

static void test_errno_status(void **state)
{
        assert_int_equal(berth_errno_http_status(ENOENT), 404);
        assert_int_equal(berth_errno_http_status(EEXIST), 409);
        assert_int_equal(berth_errno_http_status(EBUSY), 409);
        assert_int_equal(berth_errno_http_status(EINVAL), 400);
        assert_int_equal(berth_errno_http_status(EALREADY), 304);
        assert_int_equal(berth_errno_http_status(EPERM), 403);
        assert_int_equal(berth_errno_http_status(ENOTSUP), 501);
        assert_int_equal(berth_errno_http_status(EIO), 500);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse_version),  cmocka_unit_test(test_route),
            cmocka_unit_test(test_route_versions), cmocka_unit_test(test_body_check),
            cmocka_unit_test(test_errno_status),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
