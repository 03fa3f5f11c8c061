/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the security area. They run as root; everything applied
 * (credentials, capabilities, rlimits, no_new_privs, seccomp) is applied in
 * a forked child that checks what the kernel reports and exits 0, or writes
 * what went wrong to a pipe and exits 1. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/security.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/xalloc.h"

#define CAPBIT(c) (UINT64_C(1) << (c))

static json_object *parse_json(const char *text)
{
        json_object *o = NULL;
        berth_error *err = NULL;

        if (berth_json_parse(text, strlen(text), "test", &o, &err) < 0)
                fail_msg("bad test JSON: %s", err->msg);
        return o;
}

/* Assert that R failed with a message containing WANT. */
static void check_failed_with(int r, const berth_error *err, const char *want)
{
        assert_true(r < 0);
        assert_non_null(err);
        if (strstr(err->msg, want) == NULL)
                fail_msg("error `%s` does not contain `%s`", err->msg, want);
}
/* CALL is evaluated before ERR is read. */
#define assert_failed_with(call, err, want)                                                        \
        do {                                                                                       \
                int _r = (call);                                                                   \
                check_failed_with(_r, (err), (want));                                              \
        } while (0)

/* ---- running checks in a child ------------------------------------------ */

typedef int (*child_fn)(void *arg, char *msg, size_t len);

static int child_fail(char *msg, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int child_fail(char *msg, size_t len, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        (void)vsnprintf(msg, len, fmt, ap);
        va_end(ap);
        return 1;
}

static int child_err(char *msg, size_t len, berth_error *err)
{
        return child_fail(msg, len, "%s", err && err->msg ? err->msg : "(no message)");
}

static void run_in_child(child_fn fn, void *arg)
{
        int pfd[2];
        pid_t pid;
        char msg[1024] = "";
        ssize_t n;
        int status;

        assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char cmsg[1024] = "";
                int r;

                close(pfd[0]);
                r = fn(arg, cmsg, sizeof(cmsg));
                if (r != 0)
                        (void)!write(pfd[1], cmsg, strlen(cmsg));
                _exit(r == 0 ? 0 : 1);
        }
        close(pfd[1]);
        n = berth_read_all(pfd[0], msg, sizeof(msg) - 1);
        msg[n > 0 ? n : 0] = '\0';
        close(pfd[0]);
        assert_int_equal(TEMP_FAILURE_RETRY_INT(waitpid(pid, &status, 0)), pid);
        if (!WIFEXITED(status))
                fail_msg("child killed by signal %d (%s)", WTERMSIG(status), msg);
        if (WEXITSTATUS(status) != 0)
                fail_msg("child: %s", msg[0] ? msg : "exit status != 0");
}

/* The value of "FIELD:" in /proc/self/status (copied into BUF). */
static int status_field(const char *field, char *buf, size_t len)
{
        char data[8192];
        cleanup_close int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
        ssize_t n;
        const char *p, *end;
        size_t fl = strlen(field);

        if (fd < 0)
                return -errno;
        n = berth_read_all(fd, data, sizeof(data) - 1);
        if (n <= 0)
                return -EIO;
        data[n] = '\0';
        for (p = data; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
                if (strncmp(p, field, fl) == 0 && p[fl] == ':') {
                        p += fl + 1;
                        while (*p == '\t' || *p == ' ')
                                p++;
                        end = strchr(p, '\n');
                        if (end == NULL)
                                end = p + strlen(p);
                        if ((size_t)(end - p) >= len)
                                return -E2BIG;
                        memcpy(buf, p, (size_t)(end - p));
                        buf[end - p] = '\0';
                        return 0;
                }
        }
        return -ENOENT;
}

static int status_hex(const char *field, uint64_t *ret)
{
        char buf[64];
        int r = status_field(field, buf, sizeof(buf));

        if (r < 0)
                return r;
        *ret = strtoull(buf, NULL, 16);
        return 0;
}

/* ---- name tables -------------------------------------------------------- */

static void test_name_tables(void **state)
{
        size_t n;
        const char *const *names;
        int sig;

        (void)state;
        names = berth_cap_names(&n);
        assert_int_equal(n, CAP_LAST_CAP + 1);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(berth_cap_from_name(names[i]), (int)i);
        assert_string_equal(names[CAP_SYS_ADMIN], "CAP_SYS_ADMIN");
        assert_int_equal(berth_cap_from_name("CAP_FOO"), -1);
        assert_int_equal(berth_cap_from_name("cap_chown"), -1);

        names = berth_rlimit_names(&n);
        assert_int_equal(n, 16);
        for (size_t i = 0; i < n; i++) {
                int res = berth_rlimit_from_name(names[i]);
                assert_true(res >= 0);
                assert_string_equal(berth_rlimit_name(res), names[i]);
        }
        assert_int_equal(berth_rlimit_from_name("RLIMIT_NOFILE"), RLIMIT_NOFILE);

        names = berth_seccomp_action_names(&n);
        assert_int_equal(n, 9);
        for (size_t i = 0; i < n; i++)
                assert_true(berth_seccomp_action_from_name(names[i]) >= 0);
        assert_int_equal(berth_seccomp_action_from_name("SCMP_ACT_ALLOW"), SCMP_ACT_ALLOW);
        names = berth_seccomp_operator_names(&n);
        assert_int_equal(n, 7);
        for (size_t i = 0; i < n; i++)
                assert_true(berth_seccomp_operator_from_name(names[i]) >= 0);
        assert_int_equal(berth_seccomp_operator_from_name("SCMP_CMP_MASKED_EQ"),
                         SCMP_CMP_MASKED_EQ);
        names = berth_seccomp_arch_names(&n);
        assert_true(n >= 19);
        for (size_t i = 0; i < n; i++)
                assert_true(berth_seccomp_arch_from_name(names[i]) > 0);
        assert_int_equal(berth_seccomp_arch_from_name("SCMP_ARCH_X86_64"), SCMP_ARCH_X86_64);
        names = berth_seccomp_flag_names(&n);
        assert_int_equal(n, 4);
        for (size_t i = 0; i < n; i++)
                assert_true(berth_seccomp_flag_from_name(names[i]) > 0);
        /* Kernel 6.x knows all four. */
        names = berth_seccomp_supported_flag_names(&n);
        assert_int_equal(n, 4);
        assert_null(names[n]);

        assert_int_equal(berth_signal_parse("KILL", &sig), 0);
        assert_int_equal(sig, SIGKILL);
        assert_int_equal(berth_signal_parse("SIGTERM", &sig), 0);
        assert_int_equal(sig, SIGTERM);
        assert_int_equal(berth_signal_parse("sigusr1", &sig), 0);
        assert_int_equal(sig, SIGUSR1);
        assert_int_equal(berth_signal_parse("9", &sig), 0);
        assert_int_equal(sig, 9);
        assert_int_equal(berth_signal_parse("SIGRTMIN+3", &sig), 0);
        assert_int_equal(sig, SIGRTMIN + 3);
        assert_int_equal(berth_signal_parse("RTMIN", &sig), 0);
        assert_int_equal(sig, SIGRTMIN);
        assert_int_equal(berth_signal_parse("SIGRTMAX-2", &sig), 0);
        assert_int_equal(sig, SIGRTMAX - 2);
        assert_int_equal(berth_signal_parse("SIGWINCH", &sig), 0);
        assert_int_equal(sig, SIGWINCH);
        assert_int_equal(berth_signal_parse("SIGFOO", &sig), -EINVAL);
        assert_int_equal(berth_signal_parse("0", &sig), -EINVAL);
        assert_int_equal(berth_signal_parse("65", &sig), -EINVAL);
        assert_int_equal(berth_signal_parse("9x", &sig), -EINVAL);
        assert_int_equal(berth_signal_parse("SIGRTMIN+99", &sig), -EINVAL);
        assert_int_equal(berth_signal_parse("SIGRTMIN-1", &sig), -EINVAL);
        assert_int_equal(berth_signal_parse("", &sig), -EINVAL);
}

/* ---- parsing ------------------------------------------------------------ */

static void test_caps_parse(void **state)
{
        (void)state;
        {
                cleanup_caps struct berth_caps *caps = NULL;
                assert_int_equal(berth_caps_parse(NULL, &caps, NULL), 0);
                assert_int_equal(caps->bounding | caps->effective | caps->permitted |
                                     caps->inheritable | caps->ambient,
                                 0);
        }
        {
                cleanup_json json_object *o = parse_json(
                    "{\"bounding\":[\"CAP_CHOWN\",\"CAP_KILL\",\"CAP_SYS_ADMIN\"],"
                    "\"effective\":[\"CAP_KILL\"],\"permitted\":[\"CAP_KILL\",\"CAP_CHOWN\"],"
                    "\"ambient\":[\"CAP_CHOWN\"]}");
                cleanup_caps struct berth_caps *caps = NULL;
                assert_int_equal(berth_caps_parse(o, &caps, NULL), 0);
                assert_int_equal(caps->bounding,
                                 CAPBIT(CAP_CHOWN) | CAPBIT(CAP_KILL) | CAPBIT(CAP_SYS_ADMIN));
                assert_int_equal(caps->effective, CAPBIT(CAP_KILL));
                assert_int_equal(caps->permitted, CAPBIT(CAP_KILL) | CAPBIT(CAP_CHOWN));
                assert_int_equal(caps->inheritable, 0);
                assert_int_equal(caps->ambient, CAPBIT(CAP_CHOWN));
        }
        {
                cleanup_json json_object *o =
                    parse_json("{\"bounding\":[\"CAP_CHOWN\",\"CAP_FOO\"]}");
                cleanup_caps struct berth_caps *caps = NULL;
                cleanup_error berth_error *err = NULL;
                assert_failed_with(berth_caps_parse(o, &caps, &err), err,
                                   "process.capabilities.bounding: unknown capability `CAP_FOO`");
                assert_null(caps);
        }
        {
                cleanup_json json_object *o = parse_json("{\"ambient\":\"CAP_CHOWN\"}");
                cleanup_caps struct berth_caps *caps = NULL;
                cleanup_error berth_error *err = NULL;
                assert_failed_with(berth_caps_parse(o, &caps, &err), err,
                                   "process.capabilities.ambient: must be an array");
        }
        {
                cleanup_json json_object *o =
                    parse_json("{\"effective\":[\"CAP_NET_RAW\"],\"permitted\":[\"CAP_CHOWN\"]}");
                cleanup_caps struct berth_caps *caps = NULL;
                cleanup_error berth_error *err = NULL;
                assert_failed_with(berth_caps_parse(o, &caps, &err), err,
                                   "`CAP_NET_RAW` is not in the permitted set");
        }
}

static void test_creds_parse(void **state)
{
        (void)state;
        {
                cleanup_json json_object *o =
                    parse_json("{\"uid\":1000,\"gid\":1001,\"additionalGids\":[10,20,30]}");
                cleanup_creds struct berth_creds c = {0};
                assert_int_equal(berth_creds_parse(o, &c, NULL), 0);
                assert_int_equal(c.uid, 1000);
                assert_int_equal(c.gid, 1001);
                assert_int_equal(c.n_groups, 3);
                assert_int_equal(c.groups[2], 30);
                assert_true(c.set_groups);
        }
        {
                cleanup_creds struct berth_creds c = {0};
                assert_int_equal(berth_creds_parse(NULL, &c, NULL), 0);
                assert_int_equal(c.uid, 0);
                assert_int_equal(c.n_groups, 0);
        }
        {
                cleanup_json json_object *o = parse_json("{\"uid\":-5}");
                cleanup_creds struct berth_creds c = {0};
                cleanup_error berth_error *err = NULL;
                assert_failed_with(berth_creds_parse(o, &c, &err), err,
                                   "process.user.uid: `-5` is out of range");
        }
        {
                cleanup_json json_object *o = parse_json("{\"gid\":\"wheel\"}");
                cleanup_creds struct berth_creds c = {0};
                cleanup_error berth_error *err = NULL;
                assert_failed_with(berth_creds_parse(o, &c, &err), err,
                                   "process.user.gid: `\"wheel\"` is not an integer");
        }
        {
                cleanup_json json_object *o = parse_json("{\"additionalGids\":[1,4294967295]}");
                cleanup_creds struct berth_creds c = {0};
                cleanup_error berth_error *err = NULL;
                assert_failed_with(berth_creds_parse(o, &c, &err), err,
                                   "process.user.additionalGids: `4294967295` is out of range");
        }
}

static void test_rlimits_parse(void **state)
{
        static const struct {
                const char *json, *want;
        } bad[] = {
            {"[{\"type\":\"RLIMIT_FOO\",\"soft\":1,\"hard\":1}]",
             "process.rlimits[0].type: unknown rlimit `RLIMIT_FOO`"},
            {"[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":1},"
             "{\"type\":\"RLIMIT_CORE\",\"soft\":0,\"hard\":0},"
             "{\"type\":\"RLIMIT_NOFILE\",\"soft\":2,\"hard\":2}]",
             "process.rlimits[2].type: duplicate rlimit `RLIMIT_NOFILE`"},
            {"[{\"type\":\"RLIMIT_NOFILE\",\"soft\":10,\"hard\":5}]",
             "`RLIMIT_NOFILE` soft limit 10 is above its hard limit 5"},
            {"[{\"type\":\"RLIMIT_NOFILE\",\"soft\":-1,\"hard\":5}]",
             "process.rlimits[0].soft: `-1` is not a non-negative integer"},
            {"[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1}]", "process.rlimits[0].hard: missing"},
        };

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                cleanup_json json_object *o = parse_json(bad[i].json);
                cleanup_rlimits struct berth_rlimits *r = NULL;
                cleanup_error berth_error *err = NULL;
                assert_failed_with(berth_rlimits_parse(o, &r, &err), err, bad[i].want);
                assert_null(r);
        }
        {
                cleanup_json json_object *o =
                    parse_json("[{\"type\":\"RLIMIT_CORE\",\"soft\":18446744073709551615,"
                               "\"hard\":18446744073709551615},{\"type\":\"RLIMIT_NOFILE\","
                               "\"soft\":1,\"hard\":2}]");
                cleanup_rlimits struct berth_rlimits *r = NULL;
                assert_int_equal(berth_rlimits_parse(o, &r, NULL), 0);
                assert_int_equal(berth_rlimits_count(r), 2);
        }
}

/* ---- applying credentials and capabilities ------------------------------ */

static int check_caps_child(void *arg, char *msg, size_t len)
{
        static const struct {
                const char *field;
                uint64_t want;
        } want[] = {
            {"CapBnd", CAPBIT(CAP_CHOWN) | CAPBIT(CAP_KILL) | CAPBIT(CAP_NET_BIND_SERVICE) |
                           CAPBIT(CAP_SETUID) | CAPBIT(CAP_SYS_ADMIN)},
            {"CapPrm", CAPBIT(CAP_CHOWN) | CAPBIT(CAP_KILL) | CAPBIT(CAP_NET_BIND_SERVICE)},
            {"CapEff", CAPBIT(CAP_CHOWN) | CAPBIT(CAP_KILL)},
            {"CapInh", CAPBIT(CAP_NET_BIND_SERVICE) | CAPBIT(CAP_SETUID)},
            {"CapAmb", CAPBIT(CAP_NET_BIND_SERVICE)},
        };
        cleanup_json json_object *user =
            parse_json("{\"uid\":1000,\"gid\":1000,\"additionalGids\":[10,20]}");
        cleanup_json json_object *capj =
            parse_json("{\"bounding\":[\"CAP_CHOWN\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\","
                       "\"CAP_SETUID\",\"CAP_SYS_ADMIN\"],"
                       "\"permitted\":[\"CAP_CHOWN\",\"CAP_KILL\",\"CAP_NET_BIND_SERVICE\"],"
                       "\"effective\":[\"CAP_CHOWN\",\"CAP_KILL\"],"
                       "\"inheritable\":[\"CAP_NET_BIND_SERVICE\",\"CAP_SETUID\"],"
                       /* CAP_SETUID is not permitted: left out, like runc/crun. */
                       "\"ambient\":[\"CAP_NET_BIND_SERVICE\",\"CAP_SETUID\"]}");
        cleanup_creds struct berth_creds c = {0};
        cleanup_caps struct berth_caps *caps = NULL;
        cleanup_error berth_error *err = NULL;
        char buf[256];

        (void)arg;
        if (berth_creds_parse(user, &c, &err) < 0 || berth_caps_parse(capj, &caps, &err) < 0 ||
            berth_security_apply_creds_caps(&c, caps, &err) < 0)
                return child_err(msg, len, err);

        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
                uint64_t v = 0;
                if (status_hex(want[i].field, &v) < 0)
                        return child_fail(msg, len, "no %s in /proc/self/status", want[i].field);
                if (v != want[i].want)
                        return child_fail(msg, len, "%s is %#" PRIx64 ", want %#" PRIx64,
                                          want[i].field, v, want[i].want);
        }
        if (status_field("Uid", buf, sizeof(buf)) < 0 || strcmp(buf, "1000\t1000\t1000\t1000") != 0)
                return child_fail(msg, len, "Uid is `%s`", buf);
        if (status_field("Gid", buf, sizeof(buf)) < 0 || strcmp(buf, "1000\t1000\t1000\t1000") != 0)
                return child_fail(msg, len, "Gid is `%s`", buf);
        if (status_field("Groups", buf, sizeof(buf)) < 0 || strcmp(buf, "10 20 ") != 0)
                return child_fail(msg, len, "Groups is `%s`", buf);
        /* And the kernel enforces them: CAP_KILL is effective, so uid 1000
         * may signal its root parent; CAP_DAC_OVERRIDE is gone, so it cannot
         * read a root-only file. */
        if (kill(getppid(), 0) < 0)
                return child_fail(msg, len, "kill(parent, 0) with CAP_KILL: %s", strerror(errno));
        if (access("/etc/shadow", F_OK) == 0 && open("/etc/shadow", O_RDONLY | O_CLOEXEC) >= 0)
                return child_fail(msg, len, "/etc/shadow is readable without CAP_DAC_OVERRIDE");
        return 0;
}

static void test_apply_creds_caps(void **state)
{
        (void)state;
        run_in_child(check_caps_child, NULL);
}

/* Root keeps uid 0 but only the sets asked for; an empty config leaves root
 * with no capability at all. */
static int check_root_nocaps_child(void *arg, char *msg, size_t len)
{
        cleanup_caps struct berth_caps *caps = NULL;
        cleanup_creds struct berth_creds c = {0};
        cleanup_error berth_error *err = NULL;
        static const char *const fields[] = {"CapBnd", "CapPrm", "CapEff", "CapInh", "CapAmb"};
        char path[] = "/tmp/berth-sec-XXXXXX";
        int fd;

        (void)arg;
        if (berth_creds_parse(NULL, &c, &err) < 0 || berth_caps_parse(NULL, &caps, &err) < 0 ||
            berth_security_apply_creds_caps(&c, caps, &err) < 0)
                return child_err(msg, len, err);
        for (size_t i = 0; i < 5; i++) {
                uint64_t v = UINT64_MAX;
                if (status_hex(fields[i], &v) < 0 || v != 0)
                        return child_fail(msg, len, "%s is %#" PRIx64 ", want 0", fields[i], v);
        }
        /* Without CAP_CHOWN, root cannot give its file away. */
        fd = mkstemp(path);
        if (fd < 0)
                return child_fail(msg, len, "mkstemp: %s", strerror(errno));
        if (fchown(fd, 1234, 1234) == 0 || errno != EPERM) {
                (void)unlink(path);
                return child_fail(msg, len, "fchown without CAP_CHOWN did not fail with EPERM");
        }
        (void)unlink(path);
        close(fd);
        return 0;
}

static void test_apply_root_no_caps(void **state)
{
        (void)state;
        run_in_child(check_root_nocaps_child, NULL);
}

static int check_groups_denied_child(void *arg, char *msg, size_t len)
{
        cleanup_json json_object *user = parse_json("{\"uid\":0,\"gid\":0,\"additionalGids\":[5]}");
        cleanup_creds struct berth_creds c = {0};
        cleanup_error berth_error *err = NULL;
        int r;

        (void)arg;
        if (berth_creds_parse(user, &c, &err) < 0)
                return child_err(msg, len, err);
        c.set_groups = false;
        r = berth_security_apply_creds_caps(&c, NULL, &err);
        if (r != -EPERM || err == NULL || strstr(err->msg, "setgroups is denied") == NULL)
                return child_fail(msg, len, "want a setgroups-denied error, got %d `%s`", r,
                                  err ? err->msg : "");
        return 0;
}

static void test_groups_denied(void **state)
{
        (void)state;
        run_in_child(check_groups_denied_child, NULL);
}

static int check_nnp_child(void *arg, char *msg, size_t len)
{
        cleanup_error berth_error *err = NULL;
        char buf[32];

        (void)arg;
        if (status_field("NoNewPrivs", buf, sizeof(buf)) < 0 || strcmp(buf, "0") != 0)
                return child_fail(msg, len, "NoNewPrivs is `%s` before", buf);
        if (berth_no_new_privs(&err) < 0)
                return child_err(msg, len, err);
        if (status_field("NoNewPrivs", buf, sizeof(buf)) < 0 || strcmp(buf, "1") != 0)
                return child_fail(msg, len, "NoNewPrivs is `%s` after", buf);
        return 0;
}

static void test_no_new_privs(void **state)
{
        (void)state;
        run_in_child(check_nnp_child, NULL);
}

/* ---- rlimits ------------------------------------------------------------ */

static int check_rlimits_child(void *arg, char *msg, size_t len)
{
        cleanup_json json_object *o =
            parse_json("[{\"type\":\"RLIMIT_NOFILE\",\"soft\":100,\"hard\":200},"
                       "{\"type\":\"RLIMIT_CORE\",\"soft\":0,\"hard\":4096}]");
        cleanup_rlimits struct berth_rlimits *r = NULL;
        cleanup_error berth_error *err = NULL;
        struct rlimit lim;

        (void)arg;
        if (berth_rlimits_parse(o, &r, &err) < 0 || berth_rlimits_apply(r, &err) < 0)
                return child_err(msg, len, err);
        if (getrlimit(RLIMIT_NOFILE, &lim) < 0 || lim.rlim_cur != 100 || lim.rlim_max != 200)
                return child_fail(msg, len, "RLIMIT_NOFILE is %llu/%llu",
                                  (unsigned long long)lim.rlim_cur,
                                  (unsigned long long)lim.rlim_max);
        if (getrlimit(RLIMIT_CORE, &lim) < 0 || lim.rlim_cur != 0 || lim.rlim_max != 4096)
                return child_fail(msg, len, "RLIMIT_CORE is %llu/%llu",
                                  (unsigned long long)lim.rlim_cur,
                                  (unsigned long long)lim.rlim_max);
        return 0;
}

static void test_rlimits_apply(void **state)
{
        (void)state;
        run_in_child(check_rlimits_child, NULL);
}

/* Raising a hard limit without CAP_SYS_RESOURCE gives a message that says so. */
static int check_rlimits_eperm_child(void *arg, char *msg, size_t len)
{
        cleanup_json json_object *o =
            parse_json("[{\"type\":\"RLIMIT_NOFILE\",\"soft\":10,\"hard\":500}]");
        cleanup_json json_object *capj =
            parse_json("{\"bounding\":[\"CAP_CHOWN\"],\"permitted\":[\"CAP_CHOWN\"],"
                       "\"effective\":[\"CAP_CHOWN\"]}");
        cleanup_rlimits struct berth_rlimits *r = NULL;
        cleanup_caps struct berth_caps *caps = NULL;
        cleanup_error berth_error *err = NULL;
        struct rlimit lim = {.rlim_cur = 10, .rlim_max = 100};
        int ret;

        (void)arg;
        if (setrlimit(RLIMIT_NOFILE, &lim) < 0)
                return child_fail(msg, len, "setrlimit: %s", strerror(errno));
        if (berth_caps_parse(capj, &caps, &err) < 0 ||
            berth_security_apply_creds_caps(NULL, caps, &err) < 0 ||
            berth_rlimits_parse(o, &r, &err) < 0)
                return child_err(msg, len, err);
        ret = berth_rlimits_apply(r, &err);
        if (ret != -EPERM || err == NULL ||
            strstr(err->msg, "setting `RLIMIT_NOFILE` to soft 10 hard 500: raising the hard "
                             "limit above 100 needs CAP_SYS_RESOURCE") == NULL)
                return child_fail(msg, len, "got %d `%s`", ret, err ? err->msg : "");
        return 0;
}

static void test_rlimits_eperm(void **state)
{
        (void)state;
        run_in_child(check_rlimits_eperm_child, NULL);
}

/* ---- seccomp ------------------------------------------------------------ */

static void test_seccomp_parse_errors(void **state)
{
        static const struct {
                const char *json, *want;
        } bad[] = {
            {"{\"defaultAction\":\"SCMP_ACT_FOO\"}",
             "linux.seccomp.defaultAction: unknown action `SCMP_ACT_FOO`"},
            {"{}", "linux.seccomp.defaultAction: missing"},
            {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],"
             "\"action\":\"SCMP_ACT_EXPLODE\"}]}",
             "linux.seccomp.syscalls[0]: unknown action `SCMP_ACT_EXPLODE`"},
            {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],"
             "\"action\":\"SCMP_ACT_ALLOW\"},{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\","
             "\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_ALMOST\"}]}]}",
             "linux.seccomp.syscalls[1].args[0].op: unknown operator `SCMP_CMP_ALMOST`"},
            {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],"
             "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":6,\"value\":1,\"op\":\"SCMP_CMP_"
             "EQ\"}]}]}",
             "linux.seccomp.syscalls[0].args[0].index: `6` is not 0..5"},
            {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_Z80\"]}",
             "linux.seccomp.architectures: unknown architecture `SCMP_ARCH_Z80`"},
            {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_FAST\"]}",
             "linux.seccomp.flags: unknown flag `SECCOMP_FILTER_FLAG_FAST`"},
            {"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"mkdir\"],"
             "\"action\":\"SCMP_ACT_ALLOW\",\"errnoRet\":5}]}",
             "errnoRet is only valid with SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not `SCMP_ACT_ALLOW`"},
            {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],"
             "\"action\":\"SCMP_ACT_NOTIFY\"}]}",
             "SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath"},
            {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
             "{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":2,"
             "\"args\":[{\"index\":1,\"value\":448,\"op\":\"SCMP_CMP_EQ\"}]},"
             "{\"names\":[\"rmdir\",\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":3,"
             "\"args\":[{\"index\":1,\"value\":448,\"op\":\"SCMP_CMP_EQ\"}]}]}",
             "linux.seccomp.syscalls[1]: the rule for `mkdir` conflicts with an earlier one"},
            {"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[],"
             "\"action\":\"SCMP_ACT_ERRNO\"}]}",
             "linux.seccomp.syscalls[0].names: must be a non-empty array"},
        };

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                cleanup_json json_object *o = parse_json(bad[i].json);
                cleanup_seccomp struct berth_seccomp *s = NULL;
                cleanup_error berth_error *err = NULL;
                assert_failed_with(berth_seccomp_parse(o, &s, &err), err, bad[i].want);
                assert_null(s);
        }
}

static void test_seccomp_parse_ok(void **state)
{
        (void)state;
        {
                cleanup_seccomp struct berth_seccomp *s = (void *)1;
                assert_int_equal(berth_seccomp_parse(NULL, &s, NULL), 0);
                assert_null(s);
        }
        {
                /* Unknown syscall names are skipped; a rule equal to the
                 * default action is dropped: both give the bare filter. */
                cleanup_json json_object *bare =
                    parse_json("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1}");
                cleanup_json json_object *o = parse_json(
                    "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,"
                    "\"syscalls\":[{\"names\":[\"no_such_syscall\"],\"action\":\"SCMP_ACT_ALLOW\"},"
                    "{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\"}]}");
                cleanup_json json_object *o2 =
                    parse_json("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,"
                               "\"syscalls\":[{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\","
                               "\"errnoRet\":2}]}");
                cleanup_seccomp struct berth_seccomp *sb = NULL, *s = NULL, *s2 = NULL;
                cleanup_error berth_error *err = NULL;
                if (berth_seccomp_parse(bare, &sb, &err) < 0 ||
                    berth_seccomp_parse(o, &s, &err) < 0 || berth_seccomp_parse(o2, &s2, &err) < 0)
                        fail_msg("%s", err->msg);
                assert_true(berth_seccomp_bpf_len(sb) > 0);
                assert_int_equal(berth_seccomp_bpf_len(s), berth_seccomp_bpf_len(sb));
                /* ERRNO(2) differs from the default ERRNO(1): a real rule. */
                assert_true(berth_seccomp_bpf_len(s2) > berth_seccomp_bpf_len(sb));
                assert_false(berth_seccomp_uses_notify(s));
        }
        {
                cleanup_json json_object *o = parse_json(
                    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/run/agent.sock\","
                    "\"listenerMetadata\":\"x\",\"architectures\":[\"SCMP_ARCH_X86_64\","
                    "\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"],\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\"],"
                    "\"syscalls\":[{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}");
                cleanup_seccomp struct berth_seccomp *s = NULL;
                cleanup_error berth_error *err = NULL;
                if (berth_seccomp_parse(o, &s, &err) < 0)
                        fail_msg("%s", err->msg);
                assert_true(berth_seccomp_uses_notify(s));
                assert_string_equal(berth_seccomp_listener_path(s), "/run/agent.sock");
                assert_string_equal(berth_seccomp_listener_metadata(s), "x");
                assert_failed_with(berth_seccomp_apply(s, &err), err, "SCMP_ACT_NOTIFY");
        }
}

static int load_filter(const char *json, bool nnp, char *msg, size_t len)
{
        cleanup_json json_object *o = parse_json(json);
        cleanup_seccomp struct berth_seccomp *s = NULL;
        cleanup_error berth_error *err = NULL;

        if (berth_seccomp_parse(o, &s, &err) < 0)
                return child_err(msg, len, err);
        if (nnp && berth_no_new_privs(&err) < 0)
                return child_err(msg, len, err);
        if (berth_seccomp_apply(s, &err) < 0)
                return child_err(msg, len, err);
        return 0;
}

/* Each check below is a raw system call, so that nothing but the call
 * under test goes through the filter. */
#define EXPECT_SYSCALL(want_ret, want_errno, ...)                                                  \
        do {                                                                                       \
                long _r;                                                                           \
                errno = 0;                                                                         \
                _r = syscall(__VA_ARGS__);                                                         \
                if (_r != (want_ret) || (_r < 0 && errno != (want_errno)))                         \
                        return child_fail(msg, len, "%s: returned %ld errno %d, want %d/%d",       \
                                          #__VA_ARGS__, _r, errno, (int)(want_ret),                \
                                          (int)(want_errno));                                      \
        } while (0)

static int seccomp_errno_child(void *arg, char *msg, size_t len)
{
        int r;
        long fd;

        (void)arg;
        r = load_filter("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":"
                        "[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"],"
                        "\"syscalls\":[{\"names\":[\"mkdir\",\"mkdirat\"],"
                        "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":123}]}",
                        true, msg, len);
        if (r)
                return r;
        EXPECT_SYSCALL(-1, 123, SYS_mkdir, "/tmp/berth-seccomp-test-dir", 0700);
        EXPECT_SYSCALL(-1, 123, SYS_mkdirat, AT_FDCWD, "/tmp/berth-seccomp-test-dir", 0700);
        /* Other calls work. */
        EXPECT_SYSCALL((long)getpid(), 0, SYS_getpid);
        fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/status", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return child_fail(msg, len, "openat failed: %s", strerror(errno));
        close((int)fd);
        return 0;
}

static void test_seccomp_errno(void **state)
{
        (void)state;
        run_in_child(seccomp_errno_child, NULL);
}

/* Conditions: distinct arguments are ANDed; MASKED_EQ uses value as mask. */
static int seccomp_args_child(void *arg, char *msg, size_t len)
{
        int r;
        long fd;

        (void)arg;
        r = load_filter(
            "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
            "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":99,"
            " \"args\":[{\"index\":0,\"value\":4294967295,\"op\":\"SCMP_CMP_NE\"}]},"
            "{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":55,"
            " \"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"},"
            "          {\"index\":1,\"value\":2,\"op\":\"SCMP_CMP_EQ\"}]},"
            "{\"names\":[\"umask\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":66,"
            " \"args\":[{\"index\":0,\"value\":3840,\"valueTwo\":256,\"op\":\"SCMP_CMP_MASKED_EQ\"}"
            "]}"
            "]}",
            true, msg, len);
        if (r)
                return r;
        /* personality(0xffffffff) only queries: allowed; anything else fails. */
        errno = 0;
        r = (int)syscall(SYS_personality, 0xffffffffUL);
        if (r < 0)
                return child_fail(msg, len, "personality query failed: %s", strerror(errno));
        EXPECT_SYSCALL(-1, 99, SYS_personality, (unsigned long)PER_LINUX);
        EXPECT_SYSCALL(-1, 99, SYS_personality, 0x0008UL);
        /* socket(AF_UNIX, SOCK_DGRAM) matches both conditions; STREAM does not. */
        EXPECT_SYSCALL(-1, 55, SYS_socket, AF_UNIX, SOCK_DGRAM, 0);
        fd = syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0)
                return child_fail(msg, len, "socket(AF_UNIX, SOCK_STREAM): %s", strerror(errno));
        close((int)fd);
        fd = syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);
        if (fd < 0)
                return child_fail(msg, len, "socket(AF_INET, SOCK_DGRAM): %s", strerror(errno));
        close((int)fd);
        /* (mode & 07400) == 0400 fails; others pass. */
        EXPECT_SYSCALL(-1, 66, SYS_umask, 00422);
        r = (int)syscall(SYS_umask, 0022);
        if (r < 0)
                return child_fail(msg, len, "umask(022): %s", strerror(errno));
        return 0;
}

static void test_seccomp_args(void **state)
{
        (void)state;
        run_in_child(seccomp_args_child, NULL);
}

/* defaultAction errno with an allow list; personality allowed for two
 * values of arg 0 (one argument tested twice: the conditions are ORed). */
static int seccomp_allowlist_child(void *arg, char *msg, size_t len)
{
        int r;

        (void)arg;
        r = load_filter(
            "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":77,\"syscalls\":["
            "{\"names\":[\"write\",\"exit\",\"exit_group\",\"getpid\",\"rt_sigreturn\","
            "\"close\",\"brk\",\"mmap\",\"munmap\",\"futex\",\"mprotect\",\"madvise\",\"gettid\","
            /* what ASan/UBSan call on their own */
            "\"sigaltstack\",\"rt_sigaction\",\"rt_sigprocmask\"],\"action\":\"SCMP_ACT_ALLOW\"},"
            "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\","
            " \"args\":[{\"index\":0,\"value\":4294967295,\"op\":\"SCMP_CMP_EQ\"},"
            "          {\"index\":0,\"value\":0,\"op\":\"SCMP_CMP_EQ\"}]}"
            "]}",
            true, msg, len);
        if (r)
                return r;
        EXPECT_SYSCALL((long)getpid(), 0, SYS_getpid);
        EXPECT_SYSCALL(-1, 77, SYS_getppid);
        EXPECT_SYSCALL(-1, 77, SYS_mkdir, "/tmp/berth-seccomp-test-dir", 0700);
        EXPECT_SYSCALL(-1, 77, SYS_personality, 0x0008UL);
        errno = 0;
        if (syscall(SYS_personality, 0xffffffffUL) < 0 || syscall(SYS_personality, 0UL) < 0)
                return child_fail(msg, len, "allowed personality call failed: %d", errno);
        return 0;
}

static void test_seccomp_allowlist(void **state)
{
        (void)state;
        run_in_child(seccomp_allowlist_child, NULL);
}

/* Without no_new_privs and without CAP_SYS_ADMIN, applying fails clearly. */
static int seccomp_needs_nnp_child(void *arg, char *msg, size_t len)
{
        cleanup_json json_object *capj =
            parse_json("{\"bounding\":[\"CAP_CHOWN\"],\"permitted\":[\"CAP_CHOWN\"],"
                       "\"effective\":[\"CAP_CHOWN\"]}");
        cleanup_json json_object *o = parse_json("{\"defaultAction\":\"SCMP_ACT_ALLOW\","
                                                 "\"syscalls\":[{\"names\":[\"mkdir\"],"
                                                 "\"action\":\"SCMP_ACT_ERRNO\"}]}");
        cleanup_caps struct berth_caps *caps = NULL;
        cleanup_seccomp struct berth_seccomp *s = NULL;
        cleanup_error berth_error *err = NULL;
        int r;

        (void)arg;
        if (berth_caps_parse(capj, &caps, &err) < 0 || berth_seccomp_parse(o, &s, &err) < 0 ||
            berth_security_apply_creds_caps(NULL, caps, &err) < 0)
                return child_err(msg, len, err);
        r = berth_seccomp_apply(s, &err);
        if (r != -EPERM || err == NULL ||
            strstr(err->msg, "needs no_new_privs or CAP_SYS_ADMIN") == NULL)
                return child_fail(msg, len, "got %d `%s`", r, err ? err->msg : "");
        /* The filter was not loaded. */
        {
                char buf[16];
                if (status_field("Seccomp", buf, sizeof(buf)) < 0 || strcmp(buf, "0") != 0)
                        return child_fail(msg, len, "Seccomp is `%s`", buf);
        }
        return 0;
}

static void test_seccomp_needs_nnp(void **state)
{
        (void)state;
        run_in_child(seccomp_needs_nnp_child, NULL);
}

/* SCMP_ACT_NOTIFY: the child sends its listener fd to a unix socket with
 * the state as the message; the "agent" (the parent) answers the child's
 * mkdir with errno 42. */
static void test_seccomp_notify(void **state)
{
        static const char state_json[] = "{\"ociVersion\":\"1.3.0\",\"fds\":[\"seccompFd\"]}";
        char path[] = "/tmp/berth-sec-notify-XXXXXX";
        char sockpath[64], buf[256];
        cleanup_close int srv = -1, conn = -1, lfd = -1;
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        union {
                struct cmsghdr h;
                char b[CMSG_SPACE(sizeof(int))];
        } control;
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf) - 1};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = control.b,
                            .msg_controllen = sizeof(control.b)};
        struct cmsghdr *cm;
        union {
                struct seccomp_notif n;
                char pad[512];
        } req;
        struct seccomp_notif_resp resp;
        ssize_t n;
        pid_t pid;
        int status;

        (void)state;
        assert_non_null(mkdtemp(path));
        (void)snprintf(sockpath, sizeof(sockpath), "%s/agent.sock", path);
        memcpy(addr.sun_path, sockpath, strlen(sockpath) + 1);
        srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(srv >= 0);
        assert_int_equal(bind(srv, (struct sockaddr *)&addr, sizeof(addr)), 0);
        assert_int_equal(listen(srv, 1), 0);

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                cleanup_free char *text = xasprintf(
                    "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"%s\","
                    "\"syscalls\":[{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}",
                    sockpath);
                cleanup_json json_object *o = parse_json(text);
                cleanup_seccomp struct berth_seccomp *s = NULL;
                berth_error *err = NULL;
                int fd = -1;
                long r;

                alarm(20);
                if (berth_seccomp_parse(o, &s, &err) < 0 || berth_no_new_privs(&err) < 0 ||
                    berth_seccomp_apply_listener(s, &fd, &err) < 0 || fd < 0 ||
                    berth_seccomp_send_listener(berth_seccomp_listener_path(s), fd, state_json,
                                                &err) < 0)
                        _exit(2);
                close(fd);
                errno = 0;
                r = syscall(SYS_mkdir, "/tmp/berth-seccomp-notify-dir", 0700);
                _exit(r == -1 && errno == 42 ? 0 : 3);
        }

        conn = accept4(srv, NULL, NULL, SOCK_CLOEXEC);
        assert_true(conn >= 0);
        n = TEMP_FAILURE_RETRY_INT(recvmsg(conn, &mh, MSG_CMSG_CLOEXEC));
        assert_int_equal(n, (ssize_t)strlen(state_json));
        buf[n] = '\0';
        assert_string_equal(buf, state_json);
        cm = CMSG_FIRSTHDR(&mh);
        assert_non_null(cm);
        assert_int_equal(cm->cmsg_type, SCM_RIGHTS);
        memcpy(&lfd, CMSG_DATA(cm), sizeof(int));
        assert_true(lfd >= 0);

        memset(&req, 0, sizeof(req));
        assert_int_equal(ioctl(lfd, SECCOMP_IOCTL_NOTIF_RECV, &req.n), 0);
        assert_int_equal(req.n.data.nr, SYS_mkdir);
        assert_int_equal(req.n.pid, pid);
        memset(&resp, 0, sizeof(resp));
        resp.id = req.n.id;
        resp.error = -42;
        assert_int_equal(ioctl(lfd, SECCOMP_IOCTL_NOTIF_SEND, &resp), 0);

        assert_int_equal(TEMP_FAILURE_RETRY_INT(waitpid(pid, &status, 0)), pid);
        (void)unlink(sockpath);
        (void)rmdir(path);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

/* A profile shaped like Docker's default: defaultAction errno, three
 * architectures, one allow rule naming every syscall of this architecture
 * but a few, and the argument rules Docker adds (personality, clone,
 * socket). */
static char *docker_like_profile(void)
{
        static const char *const denied[] = {"reboot",      "kexec_load", "init_module", "mount",
                                             "umount2",     "clone",      "clone3",      "socket",
                                             "personality", "ptrace",     "getppid"};
        json_object *root = json_object_new_object();
        json_object *syscalls = json_object_new_array();
        json_object *allow = json_object_new_object();
        json_object *names = json_object_new_array();
        json_object *archs = json_object_new_array();
        char *ret;
        int count = 0;

        json_object_object_add(root, "defaultAction", json_object_new_string("SCMP_ACT_ERRNO"));
        json_object_object_add(root, "defaultErrnoRet", json_object_new_int(EPERM));
        json_object_array_add(archs, json_object_new_string("SCMP_ARCH_X86_64"));
        json_object_array_add(archs, json_object_new_string("SCMP_ARCH_X86"));
        json_object_array_add(archs, json_object_new_string("SCMP_ARCH_X32"));
        json_object_object_add(root, "architectures", archs);
        for (int nr = 0; nr < 512; nr++) {
                char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
                bool skip = name == NULL;

                for (size_t i = 0; !skip && i < sizeof(denied) / sizeof(denied[0]); i++)
                        skip = strcmp(name, denied[i]) == 0;
                if (!skip) {
                        json_object_array_add(names, json_object_new_string(name));
                        count++;
                }
                free(name);
        }
        /* Docker also lists syscalls of other architectures. */
        json_object_array_add(names, json_object_new_string("socketcall"));
        json_object_array_add(names, json_object_new_string("_llseek"));
        json_object_array_add(names, json_object_new_string("arm_fadvise64_64"));
        assert_true(count > 300);
        json_object_object_add(allow, "names", names);
        json_object_object_add(allow, "action", json_object_new_string("SCMP_ACT_ALLOW"));
        json_object_array_add(syscalls, allow);
        json_object_object_add(root, "syscalls", syscalls);
        ret = xstrdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
        json_object_put(root);

        {
                /* Append Docker's argument rules. */
                static const char tail[] =
                    ",{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{"
                    "\"index\":0,\"value\":0,\"op\":\"SCMP_CMP_EQ\"}]}"
                    ",{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{"
                    "\"index\":0,\"value\":8,\"op\":\"SCMP_CMP_EQ\"}]}"
                    ",{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{"
                    "\"index\":0,\"value\":131072,\"op\":\"SCMP_CMP_EQ\"}]}"
                    ",{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{"
                    "\"index\":0,\"value\":131080,\"op\":\"SCMP_CMP_EQ\"}]}"
                    ",{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{"
                    "\"index\":0,\"value\":4294967295,\"op\":\"SCMP_CMP_EQ\"}]}"
                    ",{\"names\":[\"clone\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,"
                    "\"value\":2114060288,\"valueTwo\":0,\"op\":\"SCMP_CMP_MASKED_EQ\"}]}"
                    ",{\"names\":[\"clone3\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38}"
                    ",{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,"
                    "\"value\":40,\"op\":\"SCMP_CMP_NE\"}]}"
                    "]}";
                size_t l = strlen(ret);
                /* ret ends with "]}" (syscalls is the last member). */
                assert_true(l > 2 && strcmp(ret + l - 2, "]}") == 0);
                ret = xrealloc(ret, l + sizeof(tail));
                memcpy(ret + l - 2, tail, sizeof(tail));
        }
        return ret;
}

static double now_us(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int seccomp_docker_child(void *arg, char *msg, size_t len)
{
        int r;

        r = load_filter(arg, true, msg, len);
        if (r)
                return r;
        EXPECT_SYSCALL((long)getpid(), 0, SYS_getpid);
        EXPECT_SYSCALL(-1, EPERM, SYS_getppid);
        EXPECT_SYSCALL(-1, EPERM, SYS_reboot, 0, 0, 0, 0);
        EXPECT_SYSCALL(-1, ENOSYS, SYS_clone3, NULL, 0);
        EXPECT_SYSCALL(-1, EPERM, SYS_socket, 40 /* AF_VSOCK */, SOCK_STREAM, 0);
        EXPECT_SYSCALL(-1, EPERM, SYS_personality, 0x0004UL);
        if (syscall(SYS_personality, 0xffffffffUL) < 0)
                return child_fail(msg, len, "personality query: %s", strerror(errno));
        return 0;
}

static void test_seccomp_docker_profile(void **state)
{
        cleanup_free char *text = docker_like_profile();
        cleanup_json json_object *o = parse_json(text);
        double best = 1e18, t0, t;
        size_t insns = 0;

        (void)state;
        for (int i = 0; i < 5; i++) {
                cleanup_seccomp struct berth_seccomp *s = NULL;
                cleanup_error berth_error *err = NULL;

                t0 = now_us();
                if (berth_seccomp_parse(o, &s, &err) < 0)
                        fail_msg("%s", err->msg);
                t = now_us() - t0;
                if (t < best)
                        best = t;
                insns = berth_seccomp_bpf_len(s);
        }
        printf("# docker-like profile: compiled in %.0f us (best of 5), %zu BPF instructions\n",
               best, insns);
        /* Budget: 100 ms even under ASan/UBSan; the release build is much
         * faster (see the report). */
        assert_true(best < 100000.0);
        run_in_child(seccomp_docker_child, text);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_name_tables),
            cmocka_unit_test(test_caps_parse),
            cmocka_unit_test(test_creds_parse),
            cmocka_unit_test(test_rlimits_parse),
            cmocka_unit_test(test_apply_creds_caps),
            cmocka_unit_test(test_apply_root_no_caps),
            cmocka_unit_test(test_groups_denied),
            cmocka_unit_test(test_no_new_privs),
            cmocka_unit_test(test_rlimits_apply),
            cmocka_unit_test(test_rlimits_eperm),
            cmocka_unit_test(test_seccomp_parse_errors),
            cmocka_unit_test(test_seccomp_parse_ok),
            cmocka_unit_test(test_seccomp_errno),
            cmocka_unit_test(test_seccomp_args),
            cmocka_unit_test(test_seccomp_allowlist),
            cmocka_unit_test(test_seccomp_needs_nnp),
            cmocka_unit_test(test_seccomp_notify),
            cmocka_unit_test(test_seccomp_docker_profile),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
