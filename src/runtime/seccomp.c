/* SPDX-License-Identifier: Apache-2.0 */
/* linux.seccomp: compiled with libseccomp in the parent (so a bad profile
 * fails before anything is created) and kept as a BPF program; the child
 * loads it with seccomp(2) as the last thing before execve. */
#include "runtime/security.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/xalloc.h"

/* Bounds on what a profile may ask for (Docker's default has ~400 names). */
#define MAX_SYSCALL_RULES 4096
#define MAX_ARGS_PER_RULE 6
#define MAX_BPF_BYTES     (BPF_MAXINSNS * sizeof(struct sock_filter))

struct berth_seccomp {
        struct sock_filter *prog;
        size_t len; /* instructions */
        unsigned int flags;
        bool notify;
        char *listener_path;
        char *listener_metadata;
};

static void ctx_releasep(scmp_filter_ctx *ctx)
{
        if (*ctx != NULL)
                seccomp_release(*ctx);
        *ctx = NULL;
}
#define cleanup_scmp __attribute__((cleanup(ctx_releasep)))

/* The full action of NAME with its errnoRet (FIELD names both for messages). */
static int parse_action(const char *name, json_object *errno_ret, const char *field, uint32_t *ret,
                        berth_error **err)
{
        int64_t base = berth_seccomp_action_from_name(name);
        uint64_t data = EPERM;

        if (base < 0)
                return berth_fail(err, EINVAL, "%s: unknown action `%s`", field, name);
        if (errno_ret != NULL) {
                if (base != (int64_t)SCMP_ACT_ERRNO(0) && base != (int64_t)SCMP_ACT_TRACE(0))
                        return berth_fail(err, EINVAL,
                                          "%s: errnoRet is only valid with SCMP_ACT_ERRNO and "
                                          "SCMP_ACT_TRACE, not `%s`",
                                          field, name);
                if (berth_json_get_u64(errno_ret, &data) < 0 || data > 0xffff)
                        return berth_fail(err, EINVAL, "%s: invalid errnoRet `%s`", field,
                                          json_object_to_json_string(errno_ret));
        }
        if (base == (int64_t)SCMP_ACT_ERRNO(0))
                *ret = SCMP_ACT_ERRNO((uint32_t)data);
        else if (base == (int64_t)SCMP_ACT_TRACE(0))
                *ret = SCMP_ACT_TRACE((uint32_t)data);
        else
                *ret = (uint32_t)base;
        return 0;
}

static int parse_arg(json_object *a, size_t i, size_t j, struct scmp_arg_cmp *ret,
                     berth_error **err)
{
        json_object *o;
        const char *op;
        uint64_t index, value, value2 = 0;
        int cmp;

        if (!json_object_is_type(a, json_type_object))
                return berth_fail(err, EINVAL,
                                  "linux.seccomp.syscalls[%zu].args[%zu]: must be an object", i, j);
        o = berth_json_get(a, "index");
        if (berth_json_get_u64(o, &index) < 0 || index >= MAX_ARGS_PER_RULE)
                return berth_fail(err, EINVAL,
                                  "linux.seccomp.syscalls[%zu].args[%zu].index: `%s` is not 0..5",
                                  i, j, o ? json_object_to_json_string(o) : "missing");
        o = berth_json_get(a, "value");
        if (berth_json_get_u64(o, &value) < 0)
                return berth_fail(
                    err, EINVAL,
                    "linux.seccomp.syscalls[%zu].args[%zu].value: `%s` is not an unsigned integer",
                    i, j, o ? json_object_to_json_string(o) : "missing");
        o = berth_json_get(a, "valueTwo");
        if (o != NULL && berth_json_get_u64(o, &value2) < 0)
                return berth_fail(err, EINVAL,
                                  "linux.seccomp.syscalls[%zu].args[%zu].valueTwo: `%s` is not an "
                                  "unsigned integer",
                                  i, j, json_object_to_json_string(o));
        op = berth_json_str(a, "op");
        if (op == NULL)
                return berth_fail(err, EINVAL, "linux.seccomp.syscalls[%zu].args[%zu].op: missing",
                                  i, j);
        cmp = berth_seccomp_operator_from_name(op);
        if (cmp < 0)
                return berth_fail(err, EINVAL,
                                  "linux.seccomp.syscalls[%zu].args[%zu].op: unknown operator `%s`",
                                  i, j, op);
        /* For SCMP_CMP_MASKED_EQ, "value" is the mask and "valueTwo" the
         * expected result, as in runc and libseccomp. */
        *ret = (struct scmp_arg_cmp){.arg = (unsigned int)index,
                                     .op = (enum scmp_compare)cmp,
                                     .datum_a = value,
                                     .datum_b = value2};
        return 0;
}

/* Add the rule for syscall NR. Conditions on distinct arguments are ANDed
 * in one rule; when one argument is tested more than once the conditions
 * are ORed instead (one rule each), which is what runc does and what
 * profiles such as Docker's rely on. */
static int add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, const struct scmp_arg_cmp *args,
                    size_t n_args, bool same_arg_twice)
{
        int r;

        if (n_args == 0 || !same_arg_twice)
                return seccomp_rule_add_array(ctx, action, nr, (unsigned int)n_args, args);
        for (size_t k = 0; k < n_args; k++) {
                r = seccomp_rule_add_array(ctx, action, nr, 1, &args[k]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_syscall(scmp_filter_ctx ctx, json_object *sc, size_t i, uint32_t default_action,
                         struct berth_seccomp *s, berth_error **err)
{
        char field[64];
        json_object *names, *args;
        struct scmp_arg_cmp cmps[16];
        const char *action_name;
        uint32_t action;
        size_t n_names, n_args = 0;
        unsigned seen_args = 0;
        bool same_arg_twice = false;
        int r;

        (void)snprintf(field, sizeof(field), "linux.seccomp.syscalls[%zu]", i);
        if (!json_object_is_type(sc, json_type_object))
                return berth_fail(err, EINVAL, "%s: must be an object", field);
        action_name = berth_json_str(sc, "action");
        if (action_name == NULL)
                return berth_fail(err, EINVAL, "%s.action: missing", field);
        if ((r = parse_action(action_name, berth_json_get(sc, "errnoRet"), field, &action, err)) <
            0)
                return r;

        args = berth_json_get(sc, "args");
        if (args != NULL) {
                if (!json_object_is_type(args, json_type_array))
                        return berth_fail(err, EINVAL, "%s.args: must be an array", field);
                n_args = json_object_array_length(args);
                if (n_args > sizeof(cmps) / sizeof(cmps[0]))
                        return berth_fail(err, E2BIG, "%s.args: %zu conditions, at most %zu", field,
                                          n_args, sizeof(cmps) / sizeof(cmps[0]));
                for (size_t j = 0; j < n_args; j++) {
                        if ((r = parse_arg(json_object_array_get_idx(args, j), i, j, &cmps[j],
                                           err)) < 0)
                                return r;
                        if (seen_args & (1u << cmps[j].arg))
                                same_arg_twice = true;
                        seen_args |= 1u << cmps[j].arg;
                }
        }

        names = berth_json_get(sc, "names");
        if (names == NULL || !json_object_is_type(names, json_type_array) ||
            json_object_array_length(names) == 0)
                return berth_fail(err, EINVAL, "%s.names: must be a non-empty array of strings",
                                  field);
        n_names = json_object_array_length(names);

        if (action == SCMP_ACT_NOTIFY)
                s->notify = true;
        /* libseccomp refuses a rule whose action is the default one; such a
         * rule changes nothing, so drop it. */
        if (action == default_action)
                return 0;

        for (size_t k = 0; k < n_names; k++) {
                json_object *e = json_object_array_get_idx(names, k);
                const char *name;
                int nr;

                if (!json_object_is_type(e, json_type_string))
                        return berth_fail(err, EINVAL, "%s.names[%zu]: must be a string", field, k);
                name = json_object_get_string(e);
                if (action == SCMP_ACT_NOTIFY && strcmp(name, "write") == 0)
                        return berth_fail(err, EINVAL,
                                          "%s: SCMP_ACT_NOTIFY cannot be used for `write`, "
                                          "which the runtime needs to report on the container",
                                          field);
                nr = seccomp_syscall_resolve_name(name);
                if (nr == __NR_SCMP_ERROR)
                        continue; /* unknown here: skipped, like runc */
                r = add_rule(ctx, action, nr, cmps, n_args, same_arg_twice);
                if (r == -EEXIST)
                        return berth_fail(err, EEXIST,
                                          "%s: the rule for `%s` conflicts with an earlier one "
                                          "with the same conditions and another action",
                                          field, name);
                if (r < 0)
                        return berth_fail(err, -r, "%s: adding the rule for `%s`", field, name);
        }
        return 0;
}

static int export_bpf(scmp_filter_ctx ctx, struct berth_seccomp *s, berth_error **err)
{
        cleanup_close int fd = -1;
        cleanup_free void *buf = NULL;
        struct stat st;
        ssize_t n;
        int r;

        fd = memfd_create("berth-seccomp", MFD_CLOEXEC);
        if (fd < 0)
                return berth_fail_errno(err, "memfd_create for the seccomp filter");
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return berth_fail(err, -r, "exporting the seccomp filter");
        if (fstat(fd, &st) < 0)
                return berth_fail_errno(err, "fstat of the seccomp filter");
        if (st.st_size <= 0 || (size_t)st.st_size > MAX_BPF_BYTES ||
            st.st_size % (off_t)sizeof(struct sock_filter) != 0)
                return berth_fail(err, E2BIG,
                                  "the seccomp filter compiles to %lld bytes of BPF, more than "
                                  "the kernel's %zu: simplify the profile",
                                  (long long)st.st_size, (size_t)MAX_BPF_BYTES);
        buf = xmalloc((size_t)st.st_size);
        n = TEMP_FAILURE_RETRY_INT(pread(fd, buf, (size_t)st.st_size, 0));
        if (n != st.st_size)
                return berth_fail(err, n < 0 ? errno : EIO, "reading the seccomp filter back");
        s->prog = steal_pointer(&buf);
        s->len = (size_t)st.st_size / sizeof(struct sock_filter);
        return 0;
}

static int parse_flags(json_object *flags, unsigned int *ret, berth_error **err)
{
        unsigned int f = 0;
        size_t n;

        if (flags == NULL) {
                *ret = 0;
                return 0;
        }
        if (!json_object_is_type(flags, json_type_array))
                return berth_fail(err, EINVAL, "linux.seccomp.flags: must be an array of strings");
        n = json_object_array_length(flags);
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(flags, i);
                const char *name = json_object_get_string(e);
                int64_t v;

                if (!json_object_is_type(e, json_type_string))
                        return berth_fail(err, EINVAL, "linux.seccomp.flags[%zu]: must be a string",
                                          i);
                v = berth_seccomp_flag_from_name(name);
                if (v < 0)
                        return berth_fail(err, EINVAL, "linux.seccomp.flags: unknown flag `%s`",
                                          name);
                f |= (unsigned int)v;
        }
        *ret = f;
        return 0;
}

static int parse_archs(scmp_filter_ctx ctx, json_object *archs, berth_error **err)
{
        size_t n;

        if (archs == NULL)
                return 0;
        if (!json_object_is_type(archs, json_type_array))
                return berth_fail(err, EINVAL,
                                  "linux.seccomp.architectures: must be an array of strings");
        n = json_object_array_length(archs);
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(archs, i);
                const char *name = json_object_get_string(e);
                int64_t token;
                int r;

                if (!json_object_is_type(e, json_type_string))
                        return berth_fail(err, EINVAL,
                                          "linux.seccomp.architectures[%zu]: must be a string", i);
                token = berth_seccomp_arch_from_name(name);
                if (token < 0)
                        return berth_fail(err, EINVAL,
                                          "linux.seccomp.architectures: unknown architecture `%s`",
                                          name);
                if (token == 0)
                        return berth_fail(err, EOPNOTSUPP,
                                          "linux.seccomp.architectures: `%s` is not supported by "
                                          "this libseccomp",
                                          name);
                r = seccomp_arch_add(ctx, (uint32_t)token);
                if (r < 0 && r != -EEXIST)
                        return berth_fail(err, -r, "linux.seccomp.architectures: adding `%s`",
                                          name);
        }
        return 0;
}

int berth_seccomp_parse(json_object *seccomp, struct berth_seccomp **ret, berth_error **err)
{
        cleanup_seccomp struct berth_seccomp *s = NULL;
        cleanup_scmp scmp_filter_ctx ctx = NULL;
        json_object *syscalls, *o;
        const char *default_name;
        uint32_t default_action;
        size_t n = 0;
        int r;

        if (seccomp == NULL) {
                *ret = NULL;
                return 0;
        }
        if (!json_object_is_type(seccomp, json_type_object))
                return berth_fail(err, EINVAL, "linux.seccomp: must be an object");
        s = xmalloc0(sizeof(*s));

        default_name = berth_json_str(seccomp, "defaultAction");
        if (default_name == NULL)
                return berth_fail(err, EINVAL, "linux.seccomp.defaultAction: missing");
        o = berth_json_get(seccomp, "defaultErrnoRet");
        if ((r = parse_action(default_name, o, "linux.seccomp.defaultAction", &default_action,
                              err)) < 0)
                return r;
        if (default_action == SCMP_ACT_NOTIFY)
                return berth_fail(err, EINVAL,
                                  "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the "
                                  "default action");
        if ((r = parse_flags(berth_json_get(seccomp, "flags"), &s->flags, err)) < 0)
                return r;
        if ((o = berth_json_get(seccomp, "listenerPath")) != NULL) {
                if (!json_object_is_type(o, json_type_string))
                        return berth_fail(err, EINVAL,
                                          "linux.seccomp.listenerPath: must be a string");
                s->listener_path = xstrdup(json_object_get_string(o));
        }
        if ((o = berth_json_get(seccomp, "listenerMetadata")) != NULL) {
                if (!json_object_is_type(o, json_type_string))
                        return berth_fail(err, EINVAL,
                                          "linux.seccomp.listenerMetadata: must be a string");
                s->listener_metadata = xstrdup(json_object_get_string(o));
        }

        ctx = seccomp_init(default_action);
        if (ctx == NULL)
                return berth_fail(err, EINVAL, "seccomp_init with default action `%s`",
                                  default_name);
        /* We set no_new_privs ourselves when the config asks for it. */
        if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0)
                return berth_fail(err, -r, "seccomp_attr_set(SCMP_FLTATR_CTL_NNP)");
        /* The default (linear) layout, not SCMP_FLTATR_CTL_OPTIMIZE=2: the
         * binary tree makes Docker's profile compile ~60% slower (measured:
         * 16 ms against 10 ms with three architectures), while since Linux
         * 5.11 the kernel caches the verdict of every syscall allowed without
         * argument checks, so the tree would only speed up the rare others. */

        if ((r = parse_archs(ctx, berth_json_get(seccomp, "architectures"), err)) < 0)
                return r;

        syscalls = berth_json_get(seccomp, "syscalls");
        if (syscalls != NULL) {
                if (!json_object_is_type(syscalls, json_type_array))
                        return berth_fail(err, EINVAL, "linux.seccomp.syscalls: must be an array");
                n = json_object_array_length(syscalls);
                if (n > MAX_SYSCALL_RULES)
                        return berth_fail(err, E2BIG,
                                          "linux.seccomp.syscalls: %zu rules, at most %d", n,
                                          MAX_SYSCALL_RULES);
        }
        for (size_t i = 0; i < n; i++)
                if ((r = parse_syscall(ctx, json_object_array_get_idx(syscalls, i), i,
                                       default_action, s, err)) < 0)
                        return r;

        if (s->notify && s->listener_path == NULL)
                return berth_fail(
                    err, EINVAL, "linux.seccomp: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath");
        if (s->listener_path != NULL &&
            strlen(s->listener_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
                return berth_fail(err, ENAMETOOLONG, "linux.seccomp.listenerPath: `%s` is too long",
                                  s->listener_path);

        if ((r = export_bpf(ctx, s, err)) < 0)
                return r;
        *ret = steal_pointer(&s);
        return 0;
}

static bool have_cap_sys_admin(void)
{
        struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {0};

        if (syscall(SYS_capget, &hdr, data) < 0)
                return false;
        return (data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective & CAP_TO_MASK(CAP_SYS_ADMIN)) != 0;
}

int berth_seccomp_apply_listener(const struct berth_seccomp *s, int *ret_listener_fd,
                                 berth_error **err)
{
        struct sock_fprog prog;
        unsigned long flags;
        long r;

        if (s == NULL) {
                *ret_listener_fd = -1;
                return 0;
        }
        if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1 && !have_cap_sys_admin())
                return berth_fail(err, EPERM,
                                  "loading the seccomp filter needs no_new_privs or "
                                  "CAP_SYS_ADMIN: set process.noNewPrivileges to true");
        flags = s->flags;
        if (s->notify) {
                flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
                /* TSYNC and NEW_LISTENER together need TSYNC_ESRCH. */
                if (flags & SECCOMP_FILTER_FLAG_TSYNC)
                        flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
        }
        prog.len = (unsigned short)s->len;
        prog.filter = s->prog;
        r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
        if (r < 0) {
                if (errno == EINVAL && s->flags != 0)
                        return berth_fail_errno(err, "loading the seccomp filter (the kernel may "
                                                     "not support one of linux.seccomp.flags)");
                return berth_fail_errno(err, "loading the seccomp filter");
        }
        *ret_listener_fd = s->notify ? (int)r : -1;
        return 0;
}

int berth_seccomp_apply(const struct berth_seccomp *s, berth_error **err)
{
        int fd = -1, r;

        if (s != NULL && s->notify)
                return berth_fail(err, EOPNOTSUPP,
                                  "the seccomp filter uses SCMP_ACT_NOTIFY: its listener fd "
                                  "must be collected (berth_seccomp_apply_listener)");
        r = berth_seccomp_apply_listener(s, &fd, err);
        return r < 0 ? r : 0;
}

bool berth_seccomp_uses_notify(const struct berth_seccomp *s)
{
        return s != NULL && s->notify;
}

const char *berth_seccomp_listener_path(const struct berth_seccomp *s)
{
        return s ? s->listener_path : NULL;
}

const char *berth_seccomp_listener_metadata(const struct berth_seccomp *s)
{
        return s ? s->listener_metadata : NULL;
}

int berth_seccomp_send_listener(const char *listener_path, int listener_fd, const char *state_json,
                                berth_error **err)
{
        cleanup_close int sock = -1;
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control;
        struct iovec iov = {.iov_base = (void *)state_json, .iov_len = strlen(state_json)};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = control.buf,
                             .msg_controllen = sizeof(control.buf)};
        struct cmsghdr *cmsg;
        ssize_t n;

        if (strlen(listener_path) >= sizeof(addr.sun_path))
                return berth_fail(err, ENAMETOOLONG, "seccomp listener `%s`: path too long",
                                  listener_path);
        memcpy(addr.sun_path, listener_path, strlen(listener_path) + 1);
        sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (sock < 0)
                return berth_fail_errno(err, "socket for the seccomp listener");
        if (TEMP_FAILURE_RETRY_INT(connect(sock, (struct sockaddr *)&addr, sizeof(addr))) < 0)
                return berth_fail_errno(err, "connecting to seccomp listener `%s`", listener_path);

        memset(control.buf, 0, sizeof(control.buf));
        cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cmsg), &listener_fd, sizeof(int));
        n = TEMP_FAILURE_RETRY_INT(sendmsg(sock, &msg, MSG_NOSIGNAL));
        if (n < 0)
                return berth_fail_errno(err, "sending the seccomp fd to `%s`", listener_path);
        if ((size_t)n < iov.iov_len &&
            berth_write_all(sock, state_json + n, iov.iov_len - (size_t)n) < 0)
                return berth_fail_errno(err, "sending the state to `%s`", listener_path);
        return 0;
}

size_t berth_seccomp_bpf_len(const struct berth_seccomp *s)
{
        return s ? s->len : 0;
}

void berth_seccomp_free(struct berth_seccomp *s)
{
        if (s == NULL)
                return;
        free(s->prog);
        free(s->listener_path);
        free(s->listener_metadata);
        free(s);
}

void berth_seccomp_freep(struct berth_seccomp **s)
{
        berth_seccomp_free(*s);
        *s = NULL;
}
