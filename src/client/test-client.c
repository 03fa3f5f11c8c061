/* SPDX-License-Identifier: Apache-2.0 */
/* The API client against a scripted HTTP server on a real unix socket. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/client.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/xalloc.h"

struct server {
        char path[108];
        int lfd;
        const char *reply; /* written after the request head was read */
        size_t reply_len;
        char request[8192]; /* what the client sent (head + body) */
        size_t request_len;
        bool echo_after; /* after the reply, echo what comes up until EOF, then close */
        pthread_t thr;
};

static void *serve(void *arg)
{
        struct server *s = arg;
        int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
                return NULL;
        /* read until the end of the head (and a Content-Length body) */
        for (;;) {
                ssize_t n =
                    read(fd, s->request + s->request_len, sizeof(s->request) - 1 - s->request_len);
                if (n <= 0)
                        break;
                s->request_len += (size_t)n;
                s->request[s->request_len] = '\0';
                char *e = strstr(s->request, "\r\n\r\n");
                if (e == NULL)
                        continue;
                const char *cl = strcasestr(s->request, "Content-Length: ");
                size_t want = (size_t)(e + 4 - s->request) + (cl ? (size_t)atoi(cl + 16) : 0);
                if (strcasestr(s->request, "Transfer-Encoding: chunked") && !strstr(e, "0\r\n\r\n"))
                        continue;
                if (s->request_len >= want)
                        break;
        }
        (void)berth_write_all(fd, s->reply, s->reply_len);
        if (s->echo_after) {
                char buf[256];
                ssize_t n;
                while ((n = read(fd, buf, sizeof(buf))) > 0) {
                        char hdr[8] = {1, 0, 0, 0, 0, 0, 0, (char)n};
                        (void)berth_write_all(fd, hdr, 8);
                        (void)berth_write_all(fd, buf, (size_t)n);
                }
        }
        close(fd);
        return NULL;
}

static struct server *server_start(const char *reply, size_t len)
{
        struct server *s = xmalloc0(sizeof(*s));
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(s->path, sizeof(s->path), "/tmp/berth-test-client-%d-%p.sock", getpid(),
                 (void *)s);
        memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
        s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(s->lfd >= 0);
        unlink(s->path);
        assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(listen(s->lfd, 4), 0);
        s->reply = reply;
        s->reply_len = len;
        return s;
}

static void server_go(struct server *s)
{
        assert_int_equal(pthread_create(&s->thr, NULL, serve, s), 0);
}

static void server_end(struct server *s)
{
        pthread_join(s->thr, NULL);
        close(s->lfd);
        unlink(s->path);
        free(s);
}

static struct berth_client *client_for(struct server *s)
{
        struct berth_client *c = NULL;
        cleanup_free char *host = xasprintf("unix://%s", s->path);
        assert_int_equal(berth_client_new(host, &c, NULL), 0);
        return c;
}

static void test_ping_negotiates_down(void **state)
{
        static const char reply[] =
            "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 0\r\n\r\n";
        struct server *s = server_start(reply, sizeof(reply) - 1);
        cleanup_client struct berth_client *c = client_for(s);
        server_go(s);
        assert_int_equal(berth_client_ping(c, NULL), 0);
        assert_string_equal(berth_client_version(c), "1.41");
        assert_true(strncmp(s->request, "HEAD /_ping HTTP/1.1\r\n", 22) == 0);
        assert_null(strstr(s->request, "/v1."));
        server_end(s);
}

static void test_ping_caps_at_our_version(void **state)
{
        static const char reply[] =
            "HTTP/1.1 200 OK\r\napi-version: 1.99\r\nContent-Length: 0\r\n\r\n";
        struct server *s = server_start(reply, sizeof(reply) - 1);
        cleanup_client struct berth_client *c = client_for(s);
        server_go(s);
        assert_int_equal(berth_client_ping(c, NULL), 0);
        assert_string_equal(berth_client_version(c), BERTH_CLIENT_API_VERSION);
        assert_true(strncmp(s->request, "HEAD /_ping HTTP/1.1\r\n", 22) == 0);
        server_end(s);
}

static void test_chunked_json_and_version_prefix(void **state)
{
        static const char reply[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                                    "Content-Type: application/json\r\n\r\n"
                                    "5\r\n{\"Sta\r\n"
                                    "b\r\ntusCode\":7}\r\n"
                                    "0\r\n\r\n";
        struct server *s = server_start(reply, sizeof(reply) - 1);
        cleanup_client struct berth_client *c = client_for(s);
        cleanup_json json_object *o = NULL;
        cleanup_json json_object *body = json_object_new_object();
        json_object_object_add(body, "A", json_object_new_int(1));
        berth_client_set_version(c, "1.41");
        server_go(s);
        assert_int_equal(berth_client_call(c, "POST", "/containers/x/wait", body, &o, NULL), 0);
        assert_int_equal(berth_json_int(o, "StatusCode", -1), 7);
        assert_true(strncmp(s->request, "POST /v1.41/containers/x/wait HTTP/1.1\r\n", 40) == 0);
        assert_non_null(strstr(s->request, "Content-Type: application/json\r\n"));
        assert_non_null(strstr(s->request, "\r\n\r\n{\"A\":1}"));
        server_end(s);
}

static void test_error_message(void **state)
{
        static const char reply[] =
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
            "Content-Length: 35\r\n\r\n{\"message\":\"No such container: x\"}\n";
        struct server *s = server_start(reply, sizeof(reply) - 1);
        cleanup_client struct berth_client *c = client_for(s);
        cleanup_error berth_error *err = NULL;
        server_go(s);
        assert_true(berth_client_call(c, "GET", "/containers/x/json", NULL, NULL, &err) < 0);
        assert_string_equal(err->msg, "Error response from daemon: No such container: x");
        assert_int_equal(err->status, ENOENT);
        server_end(s);
}

static void test_json_stream_split_objects(void **state)
{
        static const char reply[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                    "a\r\n{\"a\":1}\r\n{\r\n"
                                    "9\r\n\"a\":2}\n{}\r\n"
                                    "0\r\n\r\n";
        struct server *s = server_start(reply, sizeof(reply) - 1);
        cleanup_client struct berth_client *c = client_for(s);
        cleanup_response struct berth_response *r = NULL;
        server_go(s);
        assert_int_equal(berth_client_request(c, "GET", "/events", NULL, &r, NULL), 0);
        assert_int_equal(berth_response_status(r), 200);
        json_object *o = NULL;
        assert_int_equal(berth_response_next_json(r, &o, NULL), 1);
        assert_int_equal(berth_json_int(o, "a", 0), 1);
        json_object_put(o);
        assert_int_equal(berth_response_next_json(r, &o, NULL), 1);
        assert_int_equal(berth_json_int(o, "a", 0), 2);
        json_object_put(o);
        assert_int_equal(berth_response_next_json(r, &o, NULL), 1);
        assert_int_equal(json_object_object_length(o), 0);
        json_object_put(o);
        assert_int_equal(berth_response_next_json(r, &o, NULL), 0);
        server_end(s);
}

static void test_demux(void **state)
{
        int out[2], errp[2];
        assert_int_equal(pipe(out), 0);
        assert_int_equal(pipe(errp), 0);
        static const char frames[] = "\x01\0\0\0\0\0\0\x03hi\n\x02\0\0\0\0\0\0\x04oops";
        struct berth_demux d = {0};
        /* fed one byte at a time */
        for (size_t i = 0; i < sizeof(frames) - 1; i++)
                assert_int_equal(berth_demux_feed(&d, frames + i, 1, out[1], errp[1], NULL), 0);
        char buf[16] = {0};
        assert_int_equal(read(out[0], buf, sizeof(buf)), 3);
        assert_string_equal(buf, "hi\n");
        memset(buf, 0, sizeof(buf));
        assert_int_equal(read(errp[0], buf, sizeof(buf)), 4);
        assert_string_equal(buf, "oops");
        cleanup_error berth_error *err = NULL;
        assert_true(berth_demux_feed(&d, "\x07\0\0\0\0\0\0\x01x", 9, out[1], errp[1], &err) < 0);
        close(out[0]);
        close(out[1]);
        close(errp[0]);
        close(errp[1]);
}

static void test_hijack_pump(void **state)
{
        /* The 101 and the first frame arrive together; then the server
         * echoes what we send up as stdout frames until our half-close. */
        static const char reply[] =
            "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
            "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
            "\x01\0\0\0\0\0\0\x06"
            "early\n";
        struct server *s = server_start(reply, sizeof(reply) - 1);
        cleanup_client struct berth_client *c = client_for(s);
        cleanup_response struct berth_response *r = NULL;
        struct berth_request req = {.body_fd = -1, .upgrade = true, .content_type = "text/plain"};
        int in[2], out[2];
        s->echo_after = true;
        server_go(s);
        assert_int_equal(
            berth_client_request(c, "POST", "/containers/x/attach?stream=1", &req, &r, NULL), 0);
        assert_int_equal(berth_response_status(r), 101);
        assert_non_null(strstr(s->request, "Connection: Upgrade\r\nUpgrade: tcp\r\n"));
        assert_int_equal(pipe(in), 0);
        assert_int_equal(pipe(out), 0);
        assert_int_equal(write(in[1], "up!", 3), 3);
        close(in[1]);
        assert_int_equal(berth_hijack_pump(r, in[0], false, out[1], out[1], NULL, NULL), 0);
        close(out[1]);
        char buf[64] = {0};
        ssize_t n = berth_read_all(out[0], buf, sizeof(buf) - 1);
        assert_int_equal(n, 9);
        assert_string_equal(buf, "early\nup!");
        close(in[0]);
        close(out[0]);
        server_end(s);
}

static void test_chunked_upload_from_fd(void **state)
{
        static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        struct server *s = server_start(reply, sizeof(reply) - 1);
        cleanup_client struct berth_client *c = client_for(s);
        cleanup_response struct berth_response *r = NULL;
        int p[2];
        assert_int_equal(pipe(p), 0);
        assert_int_equal(write(p[1], "tar-bytes", 9), 9);
        close(p[1]);
        struct berth_request req = {.body_fd = p[0], .content_type = "application/x-tar"};
        server_go(s);
        assert_int_equal(berth_client_request(c, "POST", "/images/load", &req, &r, NULL), 0);
        cleanup_free char *body = NULL;
        assert_int_equal(berth_response_read_all(r, 100, &body, NULL, NULL), 0);
        assert_string_equal(body, "ok");
        assert_non_null(strstr(s->request, "Transfer-Encoding: chunked\r\n"));
        assert_non_null(strstr(s->request, "\r\n\r\n9\r\ntar-bytes\r\n0\r\n\r\n"));
        close(p[0]);
        server_end(s);
}

static void test_no_daemon_message(void **state)
{
        cleanup_client struct berth_client *c = NULL;
        cleanup_error berth_error *err = NULL;
        assert_int_equal(berth_client_new("unix:///nonexistent/berth.sock", &c, NULL), 0);
        assert_true(berth_client_ping(c, &err) < 0);
        assert_non_null(strstr(
            err->msg, "Cannot connect to the Berth daemon at unix:///nonexistent/berth.sock"));
        assert_int_equal(err->status, ENOENT);
}

static void test_hosts(void **state)
{
        cleanup_client struct berth_client *c = NULL;
        cleanup_error berth_error *err = NULL;
        assert_int_equal(berth_client_new("tcp://127.0.0.1:2376", &c, NULL), 0);
        assert_string_equal(berth_client_host(c), "tcp://127.0.0.1:2376");
        assert_true(berth_client_new("ftp://x", &c, &err) < 0);
        assert_non_null(strstr(err->msg, "`ftp://x`"));
        cleanup_free char *e = berth_url_escape("{\"a\":[\"b c\"]}");
        assert_string_equal(e, "%7B%22a%22%3A%5B%22b%20c%22%5D%7D");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_ping_negotiates_down),
            cmocka_unit_test(test_ping_caps_at_our_version),
            cmocka_unit_test(test_chunked_json_and_version_prefix),
            cmocka_unit_test(test_error_message),
            cmocka_unit_test(test_json_stream_split_objects),
            cmocka_unit_test(test_demux),
            cmocka_unit_test(test_hijack_pump),
            cmocka_unit_test(test_chunked_upload_from_fd),
            cmocka_unit_test(test_no_daemon_message),
            cmocka_unit_test(test_hosts),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
