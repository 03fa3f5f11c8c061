/* SPDX-License-Identifier: Apache-2.0 */
/* TLS for tcp:// listeners, in front of libmicrohttpd.
 *
 * libmicrohttpd's own TLS relays a hijacked (101 UPGRADED) connection
 * through a socketpair but never passes the client's half-close on: when
 * the client sends close_notify or shuts down its side of the TCP
 * connection, the handler's end of the socketpair stays open, so an attached
 * container's stdin never sees EOF (`docker --tlsverify run -i busybox cat
 * < file` hangs). So berthd terminates TLS itself: an acceptor thread takes
 * the TCP connections, one thread per connection does the handshake and
 * checks the client certificate, then hands the plaintext end of a
 * socketpair to libmicrohttpd (MHD_add_connection) and relays both ways with
 * one thread per direction (GnuTLS allows one sender and one receiver on a
 * session at once). Every end of stream is passed on: the client's EOF
 * (close_notify or FIN) becomes shutdown(SHUT_WR) of the socketpair, the
 * server's EOF a close_notify. */
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api-internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define TLS_HANDSHAKE_TIMEOUT_MS 30000
#define TLS_REFUSE_HEAD_MAX      16384

struct api_tls {
        atomic_int refs;
        gnutls_certificate_credentials_t cred;
        bool verify;
        struct berth_api *api;
        int listen_fd;
        int stop_fd;
        pthread_t acceptor;
        bool acceptor_started;
        pthread_mutex_t lock;      /* guards daemon against api_tls_stop */
        struct MHD_Daemon *daemon; /* NULL once stopped */
};

static struct api_tls *tls_ref(struct api_tls *t)
{
        atomic_fetch_add(&t->refs, 1);
        return t;
}

static void tls_unref(struct api_tls *t)
{
        if (t == NULL || atomic_fetch_sub(&t->refs, 1) != 1)
                return;
        berth_closep(&t->listen_fd);
        berth_closep(&t->stop_fd);
        if (t->cred != NULL)
                gnutls_certificate_free_credentials(t->cred);
        pthread_mutex_destroy(&t->lock);
        free(t);
}

int api_tls_new(const char *cert_pem, const char *key_pem, const char *ca_pem, bool verify,
                struct api_tls **ret, berth_error **err)
{
        struct api_tls *t = xmalloc0(sizeof(*t));
        gnutls_datum_t cert = {(unsigned char *)cert_pem, (unsigned)strlen(cert_pem)};
        gnutls_datum_t key = {(unsigned char *)key_pem, (unsigned)strlen(key_pem)};
        int r;

        atomic_init(&t->refs, 1);
        t->listen_fd = t->stop_fd = -1;
        t->verify = verify;
        pthread_mutex_init(&t->lock, NULL);
        r = gnutls_certificate_allocate_credentials(&t->cred);
        if (r < 0) {
                t->cred = NULL;
                tls_unref(t);
                return berth_fail(err, ENOMEM, "TLS credentials: %s", gnutls_strerror(r));
        }
        r = gnutls_certificate_set_x509_key_mem(t->cred, &cert, &key, GNUTLS_X509_FMT_PEM);
        if (r < 0) {
                tls_unref(t);
                return berth_fail(err, EINVAL, "load the TLS certificate and key: %s",
                                  gnutls_strerror(r));
        }
        if (verify) {
                gnutls_datum_t ca = {(unsigned char *)ca_pem, (unsigned)strlen(ca_pem)};
                r = gnutls_certificate_set_x509_trust_mem(t->cred, &ca, GNUTLS_X509_FMT_PEM);
                if (r <= 0) {
                        tls_unref(t);
                        return berth_fail(err, EINVAL, "load the TLS CA certificate: %s",
                                          r < 0 ? gnutls_strerror(r) : "no certificate in it");
                }
        }
        t->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (t->stop_fd < 0) {
                int e = errno;
                tls_unref(t);
                return berth_fail(err, e, "eventfd");
        }
        *ret = t;
        return 0;
}

/* ---- one connection ---------------------------------------------------- */

struct tls_conn {
        struct api_tls *t;
        int raw; /* the client's TCP connection */
        int app; /* our end of the socketpair to libmicrohttpd */
        gnutls_session_t s;
        struct sockaddr_storage peer;
        socklen_t peer_len;
};

static int tls_send_all(gnutls_session_t s, const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t n = gnutls_record_send(s, buf, len);
                if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
                        continue;
                if (n < 0)
                        return -EPIPE;
                buf += n;
                len -= (size_t)n;
        }
        return 0;
}

/* Client -> libmicrohttpd. The client's end of stream, clean
 * (close_notify) or not (FIN, reset), becomes the socketpair's. */
static void *tls_up_main(void *p)
{
        struct tls_conn *c = p;
        char buf[16384];

        for (;;) {
                ssize_t n = gnutls_record_recv(c->s, buf, sizeof(buf));
                if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
                        continue;
                if (n <= 0 || berth_write_all(c->app, buf, (size_t)n) < 0)
                        break;
        }
        (void)shutdown(c->app, SHUT_WR);
        return NULL;
}

/* A client without an acceptable certificate gets a 403 to its first
 * request (as libmicrohttpd's verification in http.c used to answer), then
 * the connection is closed. */
static void tls_refuse(struct tls_conn *c)
{
        static const char body[] =
            "{\"message\":\"a client certificate signed by the daemon's CA is required\"}\n";
        cleanup_free char *head = xmalloc(TLS_REFUSE_HEAD_MAX + 1);
        cleanup_free char *resp = NULL;
        size_t len = 0;

        while (len < TLS_REFUSE_HEAD_MAX) {
                ssize_t n = gnutls_record_recv(c->s, head + len, TLS_REFUSE_HEAD_MAX - len);
                if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
                        continue;
                if (n <= 0)
                        return;
                len += (size_t)n;
                head[len] = '\0';
                if (strstr(head, "\r\n\r\n") != NULL)
                        break;
        }
        resp = xasprintf("HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                         sizeof(body) - 1, body);
        if (tls_send_all(c->s, resp, strlen(resp)) == 0)
                (void)gnutls_bye(c->s, GNUTLS_SHUT_WR);
}

static bool tls_handshake(struct tls_conn *c)
{
        int r;

        if (gnutls_init(&c->s, GNUTLS_SERVER | GNUTLS_NO_SIGNAL) < 0) {
                c->s = NULL;
                return false;
        }
        if (gnutls_set_default_priority(c->s) < 0 ||
            gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, c->t->cred) < 0)
                return false;
        if (c->t->verify)
                gnutls_certificate_server_set_request(c->s, GNUTLS_CERT_REQUEST);
        gnutls_transport_set_int(c->s, c->raw);
        gnutls_handshake_set_timeout(c->s, TLS_HANDSHAKE_TIMEOUT_MS);
        do
                r = gnutls_handshake(c->s);
        while (r < 0 && !gnutls_error_is_fatal(r));
        return r >= 0;
}

static bool tls_peer_ok(struct tls_conn *c)
{
        unsigned status = 0;

        if (!c->t->verify)
                return true;
        return gnutls_certificate_verify_peers2(c->s, &status) == 0 && status == 0;
}

/* Hand the plaintext side to libmicrohttpd, unless the listener stopped. */
static bool tls_add_connection(struct tls_conn *c)
{
        int sp[2];
        bool ok = false;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
                return false;
        pthread_mutex_lock(&c->t->lock);
        if (c->t->daemon != NULL)
                /* MHD closes sp[1] on failure too. */
                ok = MHD_add_connection(c->t->daemon, sp[1], (struct sockaddr *)&c->peer,
                                        c->peer_len) == MHD_YES;
        else
                (void)close(sp[1]);
        pthread_mutex_unlock(&c->t->lock);
        if (!ok) {
                (void)close(sp[0]);
                return false;
        }
        c->app = sp[0];
        return true;
}

static void *tls_conn_main(void *p)
{
        struct tls_conn *c = p;
        pthread_t up;
        char buf[16384];

        if (!tls_handshake(c))
                goto out;
        if (!tls_peer_ok(c)) {
                tls_refuse(c);
                goto out;
        }
        if (!tls_add_connection(c))
                goto out;
        if (pthread_create(&up, NULL, tls_up_main, c) != 0)
                goto out;
        /* libmicrohttpd -> client. */
        for (;;) {
                ssize_t n = read(c->app, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0 || tls_send_all(c->s, buf, (size_t)n) < 0)
                        break;
        }
        (void)gnutls_bye(c->s, GNUTLS_SHUT_WR);
        /* Wake the other direction: its recv() on the client, its write()
         * to libmicrohttpd; libmicrohttpd sees the connection end. */
        (void)shutdown(c->raw, SHUT_RDWR);
        (void)shutdown(c->app, SHUT_RDWR);
        pthread_join(up, NULL);
out:
        if (c->s != NULL)
                gnutls_deinit(c->s);
        berth_closep(&c->app);
        berth_closep(&c->raw);
        tls_unref(c->t);
        free(c);
        return NULL;
}

/* ---- the acceptor ---------------------------------------------------- */

static void *tls_accept_main(void *p)
{
        struct api_tls *t = p;

        for (;;) {
                struct pollfd pf[2] = {{.fd = t->listen_fd, .events = POLLIN},
                                       {.fd = t->stop_fd, .events = POLLIN}};
                struct tls_conn *c;
                pthread_attr_t attr;
                pthread_t th;
                int fd, r;

                if (poll(pf, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (pf[1].revents)
                        break;
                c = xmalloc0(sizeof(*c));
                c->peer_len = sizeof(c->peer);
                fd = accept4(t->listen_fd, (struct sockaddr *)&c->peer, &c->peer_len, SOCK_CLOEXEC);
                if (fd < 0) {
                        int e = errno;
                        free(c);
                        if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
                                /* Out of fds: let some connections end. */
                                struct pollfd w = {.fd = t->stop_fd, .events = POLLIN};
                                (void)poll(&w, 1, 100);
                        }
                        continue;
                }
                c->t = tls_ref(t);
                c->raw = fd;
                c->app = -1;
                pthread_attr_init(&attr);
                pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
                r = pthread_create(&th, &attr, tls_conn_main, c);
                pthread_attr_destroy(&attr);
                if (r != 0) {
                        (void)close(fd);
                        tls_unref(t);
                        free(c);
                }
        }
        return NULL;
}

int api_tls_start(struct api_tls *t, struct berth_api *api, int listen_fd,
                  struct MHD_Daemon *daemon, berth_error **err)
{
        int r;

        t->api = api;
        t->listen_fd = listen_fd;
        t->daemon = daemon;
        tls_ref(t);
        r = pthread_create(&t->acceptor, NULL, tls_accept_main, t);
        if (r != 0) {
                t->daemon = NULL;
                t->listen_fd = -1;
                tls_unref(t);
                return berth_fail(err, r, "start the TLS acceptor thread");
        }
        t->acceptor_started = true;
        return 0;
}

void api_tls_stop(struct api_tls *t)
{
        uint64_t one = 1;

        if (t == NULL)
                return;
        if (t->acceptor_started) {
                (void)!write(t->stop_fd, &one, sizeof(one));
                pthread_join(t->acceptor, NULL);
                t->acceptor_started = false;
                tls_unref(t); /* the acceptor's reference */
        }
        pthread_mutex_lock(&t->lock);
        t->daemon = NULL;
        pthread_mutex_unlock(&t->lock);
        berth_closep(&t->listen_fd);
}

void api_tls_free(struct api_tls *t)
{
        tls_unref(t);
}
