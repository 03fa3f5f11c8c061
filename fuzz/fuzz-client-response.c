/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for the API client's response parser (src/client):
 * status line, headers, Content-Length / chunked / until-EOF bodies, JSON
 * and JSON-stream bodies, error bodies, Docker's multiplexed framing.
 *
 * A server thread listens on a unix socket in a per-process temp dir; for
 * each input it accepts one connection, reads the request head, answers
 * with the input bytes (after the first) and closes. The first byte picks
 * the request method and how the body is consumed, as the CLI's commands
 * do. Nothing is written outside the temp dir (removed at exit). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client/client.h"
#include "fuzz-common.h"
#include "util/cleanup.h"
#include "util/jsonutil.h"

#define FUZZ_MAX_INPUT (256 * 1024)

static char dir[64];
static char sock_path[96];
static int listen_fd = -1;
static int null_fd = -1;
static sem_t served;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const uint8_t *answer;
static size_t answer_len;

static void read_request_head(int fd)
{
        char buf[4096];
        size_t have = 0;
        for (;;) {
                ssize_t n = read(fd, buf + have, sizeof(buf) - have);
                if (n <= 0)
                        return;
                have += (size_t)n;
                if (memmem(buf, have, "\r\n\r\n", 4) != NULL)
                        return;
                if (have == sizeof(buf)) {
                        memmove(buf, buf + have - 3, 3);
                        have = 3;
                }
        }
}

static void *server(void *arg)
{
        (void)arg;
        for (;;) {
                int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno == EINTR)
                                continue;
                        abort();
                }
                read_request_head(fd);
                pthread_mutex_lock(&lock);
                const uint8_t *p = answer;
                size_t len = answer_len;
                pthread_mutex_unlock(&lock);
                while (len > 0) {
                        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0)
                                break; /* the client stopped reading */
                        p += n;
                        len -= (size_t)n;
                }
                (void)close(fd);
                sem_post(&served);
        }
        return NULL;
}

static void cleanup_dir(void)
{
        (void)unlink(sock_path);
        (void)rmdir(dir);
}

static void setup(void)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        pthread_t t;

        strcpy(dir, "/tmp/berth-fuzz-client-XXXXXX");
        if (mkdtemp(dir) == NULL)
                abort();
        snprintf(sock_path, sizeof(sock_path), "%s/s", dir);
        atexit(cleanup_dir);
        memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
        listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
            listen(listen_fd, 4) < 0)
                abort();
        null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null_fd < 0 || sem_init(&served, 0, 0) < 0)
                abort();
        signal(SIGPIPE, SIG_IGN);
        if (pthread_create(&t, NULL, server, NULL) != 0)
                abort();
        pthread_detach(t);
}

static void consume(struct berth_response *resp, unsigned how)
{
        berth_error *err = NULL;
        int r;

        (void)berth_response_header(resp, "content-type");
        (void)berth_response_header(resp, "api-version");
        (void)berth_response_buffered(resp);
        fuzz_assert(berth_response_fd(resp) >= 0);
        switch (how) {
        case 0: { /* berth_client_call: check, then one JSON document */
                cleanup_json json_object *o = NULL;
                r = berth_response_check(resp, &err);
                if (r < 0) {
                        fuzz_assert(err != NULL &&
                                    strncmp(err->msg, "Error response from daemon: ", 28) == 0);
                        fuzz_assert(berth_response_status(resp) >= 400);
                }
                fuzz_check_err(r, &err);
                if (r < 0)
                        break;
                r = berth_response_json(resp, &o, &err);
                fuzz_check_err(r, &err);
                break;
        }
        case 1: { /* a JSON stream (pull progress, events, stats) */
                for (int i = 0; i < 10000; i++) {
                        cleanup_json json_object *o = NULL;
                        r = berth_response_next_json(resp, &o, &err);
                        fuzz_check_err(r, &err);
                        if (r <= 0)
                                break;
                        fuzz_assert(o != NULL);
                }
                break;
        }
        case 2: { /* a bounded whole body */
                cleanup_free char *body = NULL;
                size_t len = 0;
                r = berth_response_read_all(resp, 64 * 1024, &body, &len, &err);
                fuzz_check_err(r, &err);
                if (r == 0) {
                        fuzz_assert(body != NULL && body[len] == '\0');
                        fuzz_assert(len <= 64 * 1024);
                }
                break;
        }
        case 3: /* logs / attach output, multiplexed */
        case 4: /* ... or raw with a TTY */
                r = berth_response_copy_stream(resp, how == 4, null_fd, null_fd, &err);
                fuzz_check_err(r, &err);
                break;
        default: { /* small reads */
                char buf[7];
                for (int i = 0; i < 100000; i++) {
                        ssize_t n = berth_response_read(resp, buf, sizeof(buf), &err);
                        fuzz_check_err(n < 0 ? -1 : 0, &err);
                        if (n <= 0)
                                break;
                        fuzz_assert((size_t)n <= sizeof(buf));
                }
                break;
        }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const methods[] = {"GET", "POST", "HEAD", "DELETE"};
        cleanup_client struct berth_client *c = NULL;
        berth_error *err = NULL;
        struct timespec deadline;
        int r;

        if (size < 1 || size > FUZZ_MAX_INPUT)
                return 0;
        if (listen_fd < 0)
                setup();
        pthread_mutex_lock(&lock);
        answer = data + 1;
        answer_len = size - 1;
        pthread_mutex_unlock(&lock);

        {
                /* The demultiplexer alone, over the raw bytes. */
                struct berth_demux d = {0};
                r = berth_demux_feed(&d, data + 1, size - 1, null_fd, null_fd, &err);
                fuzz_check_err(r, &err);
        }

        cleanup_free char *host = xasprintf("unix://%s", sock_path);
        r = berth_client_new(host, &c, &err);
        fuzz_check_err(r, &err);
        fuzz_assert(r == 0);
        berth_client_set_version(c, "1.41");
        {
                cleanup_response struct berth_response *resp = NULL;
                const char *method = methods[(data[0] >> 4) % 4];
                r = berth_client_request(c, method, "/fuzz?a=b", NULL, &resp, &err);
                fuzz_check_err(r, &err);
                if (r == 0)
                        consume(resp, data[0] % 6);
        }
        /* Wait until the server is done with this input's bytes. */
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 10;
        while (sem_timedwait(&served, &deadline) < 0) {
                if (errno != EINTR) {
                        fprintf(stderr, "the server thread did not finish\n");
                        abort();
                }
        }
        pthread_mutex_lock(&lock);
        answer = NULL;
        answer_len = 0;
        pthread_mutex_unlock(&lock);
        return 0;
}
