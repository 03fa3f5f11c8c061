/* SPDX-License-Identifier: Apache-2.0 */
/* The rootfs set-up, run for real (as root) in a child with its own mount,
 * pid, uts and ipc namespaces; the child checks what a container would see
 * and exits non-zero on the first failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif
#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202
#endif
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/rootfs.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/xalloc.h"

/* --- parsing --- */

static json_object *parse_config(const char *text)
{
        json_object *c = NULL;
        assert_int_equal(berth_json_parse(text, strlen(text), "config", &c, NULL), 0);
        return c;
}

static int parse_err(const char *text, char **ret_msg)
{
        cleanup_json json_object *c = parse_config(text);
        cleanup_mounts struct berth_mounts *m = NULL;
        cleanup_error berth_error *err = NULL;
        int r = berth_mounts_parse(c, &m, &err);
        if (r < 0) {
                assert_non_null(err);
                *ret_msg = xstrdup(err->msg);
        } else {
                assert_null(err);
                *ret_msg = NULL;
        }
        return r;
}

static void test_parse(void **state)
{
        cleanup_json json_object *c = parse_config(
            "{\"mounts\":["
            "{\"destination\":\"/tmp\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
            "\"options\":[\"nosuid\",\"size=1m\",\"mode=1777\",\"frob\",\"ro\",\"rw\"]},"
            "{\"destination\":\"/x\",\"type\":\"bind\",\"source\":\"/etc/passwd\","
            "\"options\":[\"rbind\",\"rro\",\"rnoatime\",\"rslave\"]},"
            "{\"destination\":\"/y\",\"source\":\"/etc\",\"options\":[\"bind\",\"ro\"]}]}");
        cleanup_mounts struct berth_mounts *m = NULL;
        cleanup_error berth_error *err = NULL;

        assert_int_equal(berth_mounts_parse(c, &m, &err), 0);
        assert_int_equal(m->n, 3);
        /* Unknown names and key=value go to the fs as data, in order. */
        assert_string_equal(m->v[0].data, "size=1m,mode=1777,frob");
        assert_int_equal(m->v[0].flags, MS_NOSUID); /* rw cleared ro */
        assert_true(m->v[0].clear_flags & MS_RDONLY);
        assert_false(m->v[0].bind);

        assert_true(m->v[1].bind);
        assert_true(m->v[1].recursive);
        assert_true(m->v[1].source_is_file);
        assert_int_equal(m->v[1].rec_attr_set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOATIME);
        assert_int_equal(m->v[1].rec_attr_clr, MOUNT_ATTR__ATIME);
        assert_int_equal(m->v[1].propagation, MS_SLAVE | MS_REC);

        assert_true(m->v[2].bind);
        assert_false(m->v[2].recursive);
        assert_false(m->v[2].source_is_file);
        assert_string_equal(m->v[2].type, "bind");
        assert_int_equal(m->v[2].flags, MS_RDONLY);
}

static void test_parse_errors(void **state)
{
        cleanup_free char *msg = NULL;

        assert_int_equal(parse_err("{\"mounts\":[{\"destination\":\"/a\",\"type\":\"tmpfs\"},"
                                   "{\"destination\":\"/b\",\"type\":\"tmpfs\"},"
                                   "{\"destination\":\"/c\",\"type\":\"tmpfs\"},"
                                   "{\"destination\":\"/d\",\"type\":\"bind\","
                                   "\"source\":\"/nope\",\"options\":[\"rbind\"]}]}",
                                   &msg),
                         -ENOENT);
        assert_string_equal(msg, "mounts[3]: source `/nope` does not exist: No such file or "
                                 "directory");
        free(msg);
        assert_int_equal(
            parse_err("{\"mounts\":[{\"destination\":\"run\",\"type\":\"tmpfs\"}]}", &msg),
            -EINVAL);
        assert_non_null(strstr(msg, "mounts[0]: destination `run` is not absolute"));
        free(msg);
        assert_int_equal(parse_err("{\"mounts\":[{\"destination\":\"/x\","
                                   "\"options\":[\"nosuid\"]}]}",
                                   &msg),
                         -EINVAL);
        free(msg);
        /* sysctl: not namespaced at all, or the namespace is the host's. */
        assert_int_equal(parse_err("{\"linux\":{\"sysctl\":{\"kernel.pid_max\":\"1\"}}}", &msg),
                         -EINVAL);
        assert_non_null(strstr(msg, "sysctl `kernel.pid_max` is not namespaced"));
        free(msg);
        assert_int_equal(parse_err("{\"linux\":{\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"},"
                                   "\"namespaces\":[{\"type\":\"mount\"}]}}",
                                   &msg),
                         -EINVAL);
        assert_non_null(strstr(msg, "needs a new network namespace"));
        free(msg);
        assert_int_equal(parse_err("{\"linux\":{\"sysctl\":{\"net.ipv4.ip_forward\":\"1\","
                                   "\"kernel.shmmax\":\"100\",\"fs.mqueue.msg_max\":\"5\"},"
                                   "\"namespaces\":[{\"type\":\"network\"},{\"type\":\"ipc\"}]}}",
                                   &msg),
                         0);
        assert_int_equal(parse_err("{\"linux\":{\"sysctl\":{\"kernel.hostname\":\"x\"},"
                                   "\"namespaces\":[{\"type\":\"ipc\"}]}}",
                                   &msg),
                         -EINVAL);
        assert_non_null(strstr(msg, "uts"));
        free(msg);
        assert_int_equal(parse_err("{\"linux\":{\"rootfsPropagation\":\"sideways\"}}", &msg),
                         -EINVAL);
        free(msg);
        assert_int_equal(parse_err("{\"linux\":{\"devices\":[{\"path\":\"/dev/x\","
                                   "\"type\":\"q\"}]}}",
                                   &msg),
                         -EINVAL);
        free(msg);
        msg = NULL;
}

static void test_option_names(void **state)
{
        size_t n = 0;
        const char *const *names = berth_mount_option_names(&n);

        assert_true(n > 50);
        for (size_t i = 0; i < n; i++) {
                struct berth_mount_entry e = {0};
                if (i > 0)
                        assert_true(strcmp(names[i - 1], names[i]) < 0);
                /* Every advertised name is understood by the table. */
                assert_int_equal(berth_mount_option_apply(&e, names[i]), 1);
        }
        struct berth_mount_entry e = {0};
        assert_int_equal(berth_mount_option_apply(&e, "size=1m"), 0);
}

/* --- the set-up, for real --- */

struct fixture {
        char *dir;    /* temporary bundle */
        char *rootfs; /* DIR/rootfs */
};

static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        cleanup_free char *cmd = xvasprintf(fmt, ap);
        va_end(ap);
        assert_int_equal(system(cmd), 0);
}

static void put(const char *dir, const char *name, const char *content)
{
        cleanup_free char *p = xasprintf("%s/%s", dir, name);
        assert_int_equal(berth_write_file_at(AT_FDCWD, p, content, strlen(content), true, NULL), 0);
}

static int setup_fixture(void **state)
{
        struct fixture *f = xmalloc0(sizeof(*f));
        char tmpl[] = "/tmp/berth-rootfs-XXXXXX";

        if (geteuid() != 0)
                return -1;
        f->dir = xstrdup(mkdtemp(tmpl));
        f->rootfs = xasprintf("%s/rootfs", f->dir);
        run("sh %s/scripts/mk-busybox-rootfs.sh %s >/dev/null", BERTH_SOURCE_DIR, f->rootfs);
        put(f->rootfs, "MARKER", "berth");
        run("mkdir -p %s/data %s/rootfs/opt/sub %s/rootfs/secretdir", f->dir, f->dir, f->dir);
        put(f->dir, "data/file", "data");
        put(f->dir, "hostfile", "hostfile");
        put(f->rootfs, "opt/sub/seed", "seed");
        put(f->rootfs, "secretdir/secret", "secret");
        put(f->rootfs, "secretfile", "secret");
        cleanup_free char *evil = xasprintf("%s/evil", f->rootfs);
        assert_int_equal(symlink("/../../etc", evil), 0);
        *state = f;
        return 0;
}

static int teardown_fixture(void **state)
{
        struct fixture *f = *state;
        if (f == NULL)
                return 0;
        (void)berth_rm_rf(f->dir, NULL);
        free(f->dir);
        free(f->rootfs);
        free(f);
        return 0;
}

static const char config_json[] =
    "{\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
    "\"mounts\":["
    "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
    "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
    " \"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},"
    "{\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\","
    " \"options\":[\"nosuid\",\"noexec\",\"newinstance\",\"ptmxmode=0666\",\"mode=0620\"]},"
    "{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\",\"source\":\"mqueue\","
    " \"options\":[\"nosuid\",\"noexec\",\"nodev\"]},"
    "{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\","
    " \"options\":[\"nosuid\",\"noexec\",\"nodev\",\"ro\"]},"
    "{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\","
    " \"options\":[\"nosuid\",\"noexec\",\"nodev\",\"relatime\",\"ro\"]},"
    "{\"destination\":\"/tmp\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
    " \"options\":[\"nosuid\",\"size=1m\",\"mode=1777\"]},"
    "{\"destination\":\"/opt\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
    " \"options\":[\"tmpcopyup\"]},"
    "{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"data\","
    " \"options\":[\"rbind\",\"ro\"]},"
    "{\"destination\":\"/evil/berth-escape-test\",\"type\":\"bind\",\"source\":\"data\","
    " \"options\":[\"rbind\"]},"
    "{\"destination\":\"/etc/new/hostfile\",\"type\":\"bind\",\"source\":\"hostfile\","
    " \"options\":[\"bind\"]}"
    "],"
    "\"linux\":{"
    " \"namespaces\":[{\"type\":\"mount\"},{\"type\":\"pid\"},{\"type\":\"uts\"},"
    "  {\"type\":\"ipc\"}],"
    " \"devices\":[{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,\"minor\":229,"
    "  \"fileMode\":384,\"uid\":0,\"gid\":0}],"
    " \"sysctl\":{\"kernel.domainname\":\"berth.test\",\"kernel.shmmni\":\"1000\"},"
    " \"maskedPaths\":[\"/proc/kcore\",\"/proc/keys\",\"/proc/acpi\",\"/secretdir\",\"/"
    "secretfile\",\"/nonexistent\"],"
    " \"readonlyPaths\":[\"/proc/sys\",\"/nonexistent2\"]}}";

/* Checks from inside; a failure prints its line and exits non-zero. */
#define CHECK(cond)                                                                                \
        do {                                                                                       \
                if (!(cond)) {                                                                     \
                        fprintf(stderr, "rootfs check failed at line %d: %s (errno %s)\n",         \
                                __LINE__, #cond, strerror(errno));                                 \
                        _exit(10);                                                                 \
                }                                                                                  \
        } while (0)

static bool is_chr(const char *p, unsigned maj, unsigned min, mode_t mode)
{
        struct stat st;
        return stat(p, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == maj &&
               minor(st.st_rdev) == min && (st.st_mode & 07777) == mode;
}

static bool is_fs(const char *p, long type)
{
        struct statfs s;
        return statfs(p, &s) == 0 && s.f_type == type;
}

static bool content_is(const char *p, const char *want)
{
        cleanup_free char *data = NULL;
        return berth_read_file(p, &data, NULL, NULL) == 0 && strcmp(data, want) == 0;
}

static bool write_fails(const char *p, int flags, int want_errno)
{
        int fd = open(p, O_WRONLY | O_CLOEXEC | flags, 0644);
        if (fd >= 0) {
                close(fd);
                return false;
        }
        return errno == want_errno;
}

static void inside_checks(void)
{
        struct stat st;
        char buf[64];
        ssize_t n;

        /* "/" is the rootfs. */
        CHECK(access("/MARKER", F_OK) == 0);
        CHECK(access("/work", F_OK) < 0 && errno == ENOENT);
        CHECK(access("/bin/busybox", X_OK) == 0);
        n = readlink("/proc/self", buf, sizeof(buf) - 1);
        CHECK(n == 1 && buf[0] == '1');
        CHECK(is_fs("/proc", PROC_SUPER_MAGIC));
        CHECK(is_fs("/sys", SYSFS_MAGIC));
        CHECK(is_fs("/dev/pts", DEVPTS_SUPER_MAGIC));
        CHECK(is_fs("/dev/mqueue", MQUEUE_MAGIC));
        /* The root is read-only; tmpfs are not. */
        CHECK(write_fails("/newfile", O_CREAT, EROFS));
        CHECK(write_fails("/sys/kernel/profiling", 0, EROFS));
        /* tmpfs size and mode */
        struct statfs sfs;
        CHECK(statfs("/tmp", &sfs) == 0 && sfs.f_type == TMPFS_MAGIC);
        CHECK((unsigned long long)sfs.f_blocks * sfs.f_bsize == 1024 * 1024);
        CHECK(stat("/tmp", &st) == 0 && (st.st_mode & 07777) == 01777);
        {
                int fd = open("/tmp/x", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
                CHECK(fd >= 0);
                close(fd);
        }
        /* tmpcopyup */
        CHECK(is_fs("/opt", TMPFS_MAGIC));
        CHECK(content_is("/opt/sub/seed", "seed"));
        /* ro bind of a relative source */
        CHECK(content_is("/data/file", "data"));
        CHECK(write_fails("/data/file", 0, EROFS));
        /* a file bind, destination created with its parent */
        CHECK(content_is("/etc/new/hostfile", "hostfile"));
        /* a destination through "/evil" -> "/../../etc" stays inside */
        CHECK(content_is("/etc/berth-escape-test/file", "data"));
        /* devices */
        CHECK(is_chr("/dev/null", 1, 3, 0666));
        CHECK(is_chr("/dev/zero", 1, 5, 0666));
        CHECK(is_chr("/dev/full", 1, 7, 0666));
        CHECK(is_chr("/dev/random", 1, 8, 0666));
        CHECK(is_chr("/dev/urandom", 1, 9, 0666));
        CHECK(is_chr("/dev/tty", 5, 0, 0666));
        CHECK(is_chr("/dev/fuse", 10, 229, 0600));
        n = readlink("/dev/ptmx", buf, sizeof(buf) - 1);
        CHECK(n == 8 && memcmp(buf, "pts/ptmx", 8) == 0);
        n = readlink("/dev/fd", buf, sizeof(buf) - 1);
        CHECK(n == 13 && memcmp(buf, "/proc/self/fd", 13) == 0);
        CHECK(access("/dev/stderr", F_OK) == 0);
        {
                int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
                CHECK(fd >= 0 && write(fd, "x", 1) == 1);
                close(fd);
        }
        /* cgroup v1 (or v2) under a read-only /sys/fs/cgroup */
        CHECK(mkdir("/sys/fs/cgroup/x", 0755) < 0 && errno == EROFS);
        /* masked paths */
        CHECK(is_chr("/proc/keys", 1, 3, 0666));
        CHECK(is_fs("/proc/acpi", TMPFS_MAGIC));
        CHECK(content_is("/secretfile", ""));
        CHECK(access("/secretdir/secret", F_OK) < 0 && errno == ENOENT);
        CHECK(write_fails("/secretdir/new", O_CREAT, EROFS));
        /* sysctl written, then /proc/sys read-only */
        CHECK(content_is("/proc/sys/kernel/domainname", "berth.test\n"));
        CHECK(content_is("/proc/sys/kernel/shmmni", "1000\n"));
        CHECK(write_fails("/proc/sys/kernel/domainname", 0, EROFS));
        /* cwd is "/" */
        CHECK(getcwd(buf, sizeof(buf)) != NULL && strcmp(buf, "/") == 0);
}

/* A new user namespace where root is the host's root (only that uid). */
static int enter_userns(void)
{
        if (unshare(CLONE_NEWUSER) < 0)
                return -1;
        if (berth_write_file("/proc/self/setgroups", "deny", 4, NULL) < 0 ||
            berth_write_file("/proc/self/uid_map", "0 0 1", 5, NULL) < 0 ||
            berth_write_file("/proc/self/gid_map", "0 0 1", 5, NULL) < 0)
                return -1;
        return 0;
}

/* In a child with new mount/pid/uts/ipc namespaces (and FLAGS), set up the rootfs from
 * CONFIG, then run CHECKS (if any). Returns the child's exit status; the
 * error message (if the set-up failed) comes back in *ret_msg. */
static int in_container(struct fixture *f, const char *config, void (*checks)(void), int flags,
                        char **ret_msg)
{
        cleanup_json json_object *c = parse_config(config);
        cleanup_mounts struct berth_mounts *m = NULL;
        cleanup_error berth_error *err = NULL;
        int pfd[2], status;
        char msg[1024];

        assert_int_equal(chdir(f->dir), 0);
        assert_int_equal(berth_mounts_parse(c, &m, &err), 0);
        assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(pfd[0]);
                if ((flags & CLONE_NEWUSER) && enter_userns() < 0)
                        _exit(6);
                if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC |
                            (flags & ~CLONE_NEWUSER)) < 0)
                        _exit(3);
                pid_t inner = fork();
                if (inner < 0)
                        _exit(4);
                if (inner == 0) {
                        struct berth_rootfs_opts o = {
                            .config = c,
                            .mounts = m,
                            .rootfs = f->rootfs,
                            .userns = (flags & CLONE_NEWUSER) != 0,
                            .cgroupns = (flags & CLONE_NEWCGROUP) != 0,
                            .netns = (flags & CLONE_NEWNET) != 0,
                        };
                        if (berth_rootfs_setup(&o, &err) < 0) {
                                (void)berth_write_all(pfd[1], err->msg, strlen(err->msg));
                                _exit(2);
                        }
                        if (checks != NULL)
                                checks();
                        _exit(0);
                }
                close(pfd[1]);
                if (waitpid(inner, &status, 0) < 0 || !WIFEXITED(status))
                        _exit(5);
                _exit(WEXITSTATUS(status));
        }
        close(pfd[1]);
        ssize_t n = berth_read_all(pfd[0], msg, sizeof(msg) - 1);
        close(pfd[0]);
        msg[n > 0 ? n : 0] = '\0';
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_int_equal(chdir("/"), 0);
        assert_true(WIFEXITED(status));
        if (n > 0)
                fprintf(stderr, "set-up error: %s\n", msg);
        if (ret_msg != NULL)
                *ret_msg = n > 0 ? xstrdup(msg) : NULL;
        return WEXITSTATUS(status);
}

static void check_setup(void **state, bool no_openat2)
{
        struct fixture *f = *state;
        cleanup_free char *before = NULL, *after = NULL, *host_etc = NULL;
        cleanup_free char *inside = xasprintf("%s/etc/berth-escape-test", f->rootfs);
        struct stat st;

        assert_int_equal(berth_read_file("/proc/self/mountinfo", &before, NULL, NULL), 0);
        berth_fs_no_openat2 = no_openat2;
        int code = in_container(f, config_json, inside_checks, 0, NULL);
        berth_fs_no_openat2 = false;
        assert_int_equal(code, 0);
        /* Nothing leaked to the host's mount table or /etc. */
        assert_int_equal(berth_read_file("/proc/self/mountinfo", &after, NULL, NULL), 0);
        assert_string_equal(before, after);
        assert_int_equal(stat("/etc/berth-escape-test", &st), -1);
        assert_int_equal(stat(inside, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
}

static void test_setup(void **state)
{
        check_setup(state, false);
}

static void test_setup_no_openat2(void **state)
{
        check_setup(state, true);
}

static void test_setup_error_names_mount(void **state)
{
        struct fixture *f = *state;
        cleanup_free char *msg = NULL;
        int code = in_container(f,
                                "{\"mounts\":[{\"destination\":\"/run\",\"type\":\"tmpfs\","
                                "\"source\":\"tmpfs\",\"options\":[\"size=lots\"]}]}",
                                NULL, 0, &msg);
        assert_int_equal(code, 2);
        assert_non_null(msg);
        assert_true(strncmp(msg, "mount `tmpfs` on `/run`: ", 25) == 0);
        assert_non_null(strstr(msg, "size"));
}

static const char userns_json[] =
    "{\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
    "\"mounts\":["
    "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
    "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
    " \"options\":[\"nosuid\",\"mode=755\"]},"
    "{\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\","
    " \"options\":[\"nosuid\",\"noexec\",\"newinstance\",\"ptmxmode=0666\"]},"
    "{\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\","
    " \"options\":[\"nosuid\",\"noexec\",\"nodev\",\"ro\"]},"
    "{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"data\","
    " \"options\":[\"rbind\",\"rro\"]}"
    "],"
    "\"linux\":{"
    " \"maskedPaths\":[\"/proc/keys\"],"
    " \"readonlyPaths\":[\"/proc/sys\"]}}";

static void userns_checks(void)
{
        CHECK(access("/MARKER", F_OK) == 0);
        CHECK(access("/work", F_OK) < 0 && errno == ENOENT);
        CHECK(is_fs("/proc", PROC_SUPER_MAGIC));
        /* sysfs of the host's net namespace: a recursive bind of /sys */
        CHECK(is_fs("/sys", SYSFS_MAGIC));
        CHECK(write_fails("/sys/kernel/profiling", 0, EROFS));
        /* devices are the host's nodes, bound: they work on a userns tmpfs */
        CHECK(is_chr("/dev/null", 1, 3, 0666));
        CHECK(is_chr("/dev/tty", 5, 0, 0666));
        {
                int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
                char b = 1;
                CHECK(fd >= 0 && read(fd, &b, 1) == 1 && b == 0);
                close(fd);
        }
        CHECK(is_chr("/proc/keys", 1, 3, 0666));
        CHECK(write_fails("/proc/sys/kernel/domainname", 0, EROFS));
        CHECK(write_fails("/data/file", 0, EROFS));
        CHECK(write_fails("/newfile", O_CREAT, EROFS));
}

static void test_setup_userns(void **state)
{
        struct fixture *f = *state;
        cleanup_free char *before = NULL, *after = NULL;

        assert_int_equal(berth_read_file("/proc/self/mountinfo", &before, NULL, NULL), 0);
        assert_int_equal(in_container(f, userns_json, userns_checks, CLONE_NEWUSER, NULL), 0);
        assert_int_equal(berth_read_file("/proc/self/mountinfo", &after, NULL, NULL), 0);
        assert_string_equal(before, after);
}

static bool host_cgroup_v2(void)
{
        return is_fs("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC);
}

static void cgroup_checks(void)
{
        if (host_cgroup_v2()) {
                CHECK(is_fs("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC));
                CHECK(access("/sys/fs/cgroup/cgroup.procs", F_OK) == 0);
                return;
        }
        CHECK(is_fs("/sys/fs/cgroup", TMPFS_MAGIC));
        CHECK(is_fs("/sys/fs/cgroup/memory", CGROUP_SUPER_MAGIC));
        CHECK(access("/sys/fs/cgroup/memory/cgroup.procs", F_OK) == 0);
        CHECK(is_fs("/sys/fs/cgroup/systemd", CGROUP_SUPER_MAGIC));
        /* not read-only: this mount did not ask for it */
        CHECK(access("/sys/fs/cgroup/memory", W_OK) == 0);
        CHECK(mkdir("/sys/fs/cgroup/not-a-controller", 0755) == 0);
}

static const char cgroup_json[] =
    "{\"mounts\":[{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\","
    "\"source\":\"cgroup\",\"options\":[\"nosuid\",\"noexec\",\"nodev\"]}]}";

static void test_setup_cgroupns(void **state)
{
        struct fixture *f = *state;
        assert_int_equal(in_container(f, cgroup_json, cgroup_checks, CLONE_NEWCGROUP, NULL), 0);
}

static void test_setup_cgroup_bind(void **state)
{
        struct fixture *f = *state;
        assert_int_equal(in_container(f, cgroup_json, cgroup_checks, 0, NULL), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse),
            cmocka_unit_test(test_parse_errors),
            cmocka_unit_test(test_option_names),
            cmocka_unit_test_setup_teardown(test_setup, setup_fixture, teardown_fixture),
            cmocka_unit_test_setup_teardown(test_setup_no_openat2, setup_fixture, teardown_fixture),
            cmocka_unit_test_setup_teardown(test_setup_userns, setup_fixture, teardown_fixture),
            cmocka_unit_test_setup_teardown(test_setup_cgroupns, setup_fixture, teardown_fixture),
            cmocka_unit_test_setup_teardown(test_setup_cgroup_bind, setup_fixture,
                                            teardown_fixture),
            cmocka_unit_test_setup_teardown(test_setup_error_names_mount, setup_fixture,
                                            teardown_fixture),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
