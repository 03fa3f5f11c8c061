/* SPDX-License-Identifier: Apache-2.0 */
/* The client's transports: a plain socket, and TLS over it with GnuTLS
 * (tcp:// hosts with --tls / --tlsverify, as docker). */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transport.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

struct berth_tls_config {
        gnutls_certificate_credentials_t cred;
        bool verify;
};

/* ---- plain ---- */

static ssize_t plain_read(struct berth_conn *c, void *buf, size_t len, berth_error **err)
{
        ssize_t n = TEMP_FAILURE_RETRY_INT(read(c->fd, buf, len));
        if (n < 0)
                return berth_fail_errno(err, "reading from the daemon");
        return n;
}

static int plain_write_all(struct berth_conn *c, const void *buf, size_t len, berth_error **err)
{
        const char *p = buf;
        while (len > 0) {
                ssize_t n = TEMP_FAILURE_RETRY_INT(send(c->fd, p, len, MSG_NOSIGNAL));
                if (n < 0)
                        return berth_fail_errno(err, "writing to the daemon");
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

static void plain_shutdown_write(struct berth_conn *c)
{
        (void)shutdown(c->fd, SHUT_WR);
}

static size_t plain_pending(struct berth_conn *c)
{
        (void)c;
        return 0;
}

static void plain_close(struct berth_conn *c)
{
        berth_closep(&c->fd);
}

static const struct berth_transport plain_ops = {
    .name = "plain",
    .read = plain_read,
    .write_all = plain_write_all,
    .shutdown_write = plain_shutdown_write,
    .pending = plain_pending,
    .close = plain_close,
};

void berth_conn_plain(struct berth_conn *c, int fd)
{
        c->ops = &plain_ops;
        c->fd = fd;
        c->tls = NULL;
}

/* ---- TLS ---- */

static int tls_fail(berth_error **err, int status, int gnutls_ret, const char *what)
{
        return berth_fail(err, status, "%s: %s", what, gnutls_strerror(gnutls_ret));
}

static ssize_t tls_read(struct berth_conn *c, void *buf, size_t len, berth_error **err)
{
        for (;;) {
                ssize_t n = gnutls_record_recv(c->tls, buf, len);
                if (n >= 0)
                        return n;
                if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
                        continue;
                /* a daemon closing without close_notify ends the stream, as
                 * the plain transport's EOF does */
                if (n == GNUTLS_E_PREMATURE_TERMINATION)
                        return 0;
                return tls_fail(err, ECONNRESET, (int)n, "reading from the daemon (TLS)");
        }
}

static int tls_write_all(struct berth_conn *c, const void *buf, size_t len, berth_error **err)
{
        const char *p = buf;
        while (len > 0) {
                ssize_t n = gnutls_record_send(c->tls, p, len);
                if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
                        continue;
                if (n < 0)
                        return tls_fail(err, n == GNUTLS_E_PUSH_ERROR ? EPIPE : EIO, (int)n,
                                        "writing to the daemon (TLS)");
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

static void tls_shutdown_write(struct berth_conn *c)
{
        /* close_notify, then the socket's half-close that the daemon sees */
        (void)gnutls_bye(c->tls, GNUTLS_SHUT_WR);
        (void)shutdown(c->fd, SHUT_WR);
}

static size_t tls_pending(struct berth_conn *c)
{
        return gnutls_record_check_pending(c->tls);
}

static void tls_close(struct berth_conn *c)
{
        if (c->tls != NULL)
                gnutls_deinit(c->tls);
        c->tls = NULL;
        berth_closep(&c->fd);
}

static const struct berth_transport tls_ops = {
    .name = "tls",
    .read = tls_read,
    .write_all = tls_write_all,
    .shutdown_write = tls_shutdown_write,
    .pending = tls_pending,
    .close = tls_close,
};

int berth_tls_config_new(const struct berth_client_tls *o, struct berth_tls_config **ret,
                         berth_error **err)
{
        struct berth_tls_config *t = xmalloc0(sizeof(*t));
        int r = gnutls_certificate_allocate_credentials(&t->cred);
        if (r < 0) {
                free(t);
                return tls_fail(err, ENOMEM, r, "TLS credentials");
        }
        t->verify = o->verify;
        if (o->ca_file != NULL && *o->ca_file) {
                r = gnutls_certificate_set_x509_trust_file(t->cred, o->ca_file,
                                                           GNUTLS_X509_FMT_PEM);
                if (r <= 0) {
                        berth_tls_config_free(t);
                        return berth_fail(err, EINVAL, "could not read CA certificate `%s`: %s",
                                          o->ca_file,
                                          r < 0 ? gnutls_strerror(r) : "no certificate found");
                }
        } else if (o->verify) {
                r = gnutls_certificate_set_x509_system_trust(t->cred);
                if (r < 0) {
                        berth_tls_config_free(t);
                        return tls_fail(err, EINVAL, r, "the system's CA certificates");
                }
        }
        bool has_cert = o->cert_file != NULL && *o->cert_file;
        bool has_key = o->key_file != NULL && *o->key_file;
        if (has_cert != has_key) {
                berth_tls_config_free(t);
                return berth_fail(err, EINVAL,
                                  "the client certificate needs both --tlscert and --tlskey");
        }
        if (has_cert) {
                r = gnutls_certificate_set_x509_key_file(t->cred, o->cert_file, o->key_file,
                                                         GNUTLS_X509_FMT_PEM);
                if (r < 0) {
                        berth_tls_config_free(t);
                        return berth_fail(err, EINVAL,
                                          "could not load X509 key pair `%s`, `%s`: %s",
                                          o->cert_file, o->key_file, gnutls_strerror(r));
                }
        }
        *ret = t;
        return 0;
}

void berth_tls_config_free(struct berth_tls_config *t)
{
        if (t == NULL)
                return;
        if (t->cred != NULL)
                gnutls_certificate_free_credentials(t->cred);
        free(t);
}

static bool is_address(const char *host)
{
        unsigned char buf[sizeof(struct in6_addr)];
        return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

int berth_conn_tls(struct berth_conn *c, int fd, struct berth_tls_config *t, const char *host,
                   berth_error **err)
{
        gnutls_session_t s = NULL;
        int r = gnutls_init(&s, GNUTLS_CLIENT);
        if (r < 0) {
                (void)close(fd);
                return tls_fail(err, ENOMEM, r, "TLS session");
        }
        c->ops = &tls_ops;
        c->fd = fd;
        c->tls = s;
        if ((r = gnutls_set_default_priority(s)) < 0 ||
            (r = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, t->cred)) < 0) {
                tls_close(c);
                return tls_fail(err, EINVAL, r, "TLS session");
        }
        if (!is_address(host))
                (void)gnutls_server_name_set(s, GNUTLS_NAME_DNS, host, strlen(host));
        if (t->verify)
                gnutls_session_set_verify_cert(s, host, 0);
        gnutls_transport_set_int(s, fd);
        gnutls_handshake_set_timeout(s, GNUTLS_DEFAULT_HANDSHAKE_TIMEOUT);
        do
                r = gnutls_handshake(s);
        while (r < 0 && gnutls_error_is_fatal(r) == 0);
        if (r < 0) {
                if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
                        gnutls_datum_t why = {0};
                        unsigned status = gnutls_session_get_verify_cert_status(s);
                        (void)gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509,
                                                                           &why, 0);
                        r = berth_fail(err, 0,
                                       "TLS handshake with `%s`: the daemon's certificate: %s",
                                       host, why.data ? (const char *)why.data : "not trusted");
                        if (err != NULL && *err != NULL)
                                (*err)->status = EPERM;
                        r = -EPERM;
                        gnutls_free(why.data);
                } else {
                        r = berth_fail(err, ECONNREFUSED, "TLS handshake with `%s`: %s", host,
                                       gnutls_strerror(r));
                }
                tls_close(c);
                return r;
        }
        return 0;
}

void berth_conn_close(struct berth_conn *c)
{
        if (c->ops != NULL)
                c->ops->close(c);
        c->ops = NULL;
}
