/* SPDX-License-Identifier: Apache-2.0 */
/* Cgroup managers: fake v1 and v2 trees in a temp dir (exact strings
 * written), then the real v1 hierarchies of this host and its hybrid
 * unified mount (skipped when not root or not mounted). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/cgroup.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/xalloc.h"

/* ---- helpers ---- */

static void put(const char *dir, const char *name, const char *content)
{
        cleanup_free char *p = xasprintf("%s/%s", dir, name);
        cleanup_free char *d = xstrdup(p);
        *strrchr(d, '/') = '\0';
        assert_int_equal(berth_mkdir_p(d, 0755, NULL), 0);
        assert_int_equal(berth_write_file(p, content, strlen(content), NULL), 0);
}

static char *get(const char *dir, const char *name)
{
        cleanup_free char *p = xasprintf("%s/%s", dir, name);
        char *buf = NULL;
        size_t len = 0;
        if (berth_read_file(p, &buf, &len, NULL) < 0)
                return xstrdup("<missing>");
        while (len > 0 && buf[len - 1] == '\n')
                buf[--len] = '\0';
        return buf;
}

#define assert_file(dir, name, want)                                                               \
        do {                                                                                       \
                cleanup_free char *got_ = get(dir, name);                                          \
                assert_string_equal(got_, want);                                                   \
        } while (0)

static json_object *parse(const char *s)
{
        json_object *o = NULL;
        assert_int_equal(berth_json_parse(s, strlen(s), "test", &o, NULL), 0);
        return o;
}

static char *tempdir(void)
{
        char tmpl[] = "/tmp/berth-cgtest-XXXXXX";
        assert_non_null(mkdtemp(tmpl));
        return xstrdup(tmpl);
}

/* ---- paths ---- */

static void test_resolve_path(void **state)
{
        cleanup_error berth_error *err = NULL;
        char *p = NULL;

        assert_int_equal(berth_cgroup_resolve_path(NULL, "abc", &p, NULL), 0);
        assert_string_equal(p, "/berth/abc");
        free(p);
        assert_int_equal(berth_cgroup_resolve_path("/a//b/", "x", &p, NULL), 0);
        assert_string_equal(p, "/a/b");
        free(p);
        assert_int_equal(berth_cgroup_resolve_path("rel/./x", "x", &p, NULL), 0);
        assert_string_equal(p, "rel/x");
        free(p);
        assert_int_equal(berth_cgroup_resolve_path("system.slice:docker:abc", "x", &p, NULL), 0);
        assert_string_equal(p, "/system.slice/docker-abc.scope");
        free(p);
        assert_int_equal(berth_cgroup_resolve_path("machine-foo.slice:libpod:c1", "x", &p, NULL),
                         0);
        assert_string_equal(p, "/machine.slice/machine-foo.slice/libpod-c1.scope");
        free(p);
        assert_int_equal(berth_cgroup_resolve_path(":crio:c2", "x", &p, NULL), 0);
        assert_string_equal(p, "/system.slice/crio-c2.scope");
        free(p);
        assert_int_equal(berth_cgroup_resolve_path("/a/../../etc", "x", &p, &err), -EINVAL);
        assert_non_null(strstr(err->msg, "`/a/../../etc`"));
        assert_int_equal(berth_cgroup_resolve_path("bad:slice:x", "x", &p, NULL), -EINVAL);
        assert_int_equal(berth_cgroup_resolve_path(NULL, "../x", &p, NULL), -EINVAL);
}

/* ---- fake v2 ---- */

static const char *const v2_files[] = {
    "cgroup.procs", "cgroup.freeze", "memory.max", "memory.low",      "memory.swap.max",
    "memory.high",  "cpu.weight",    "cpu.max",    "cpuset.cpus",     "cpuset.mems",
    "pids.max",     "io.weight",     "io.max",     "hugetlb.2MB.max",
};

static char *fake_v2(void)
{
        char *root = tempdir();
        cleanup_free char *berth = xasprintf("%s/berth", root);
        cleanup_free char *leaf = xasprintf("%s/berth/abc", root);
        put(root, "cgroup.controllers", "cpuset cpu io memory hugetlb pids\n");
        put(root, "cgroup.subtree_control", "cpu\n");
        put(berth, "cgroup.controllers", "cpuset cpu io memory hugetlb pids\n");
        put(berth, "cgroup.subtree_control", "");
        for (size_t i = 0; i < sizeof(v2_files) / sizeof(v2_files[0]); i++)
                put(leaf, v2_files[i], "");
        put(leaf, "cgroup.events", "populated 1\nfrozen 1\n");
        put(leaf, "cpu.stat",
            "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n"
            "nr_periods 7\nnr_throttled 2\nthrottled_usec 30\n");
        put(leaf, "memory.current", "4096\n");
        put(leaf, "pids.current", "3\n");
        return root;
}

static void test_fake_v2(void **state)
{
        cleanup_free char *root = fake_v2();
        cleanup_free char *leaf = xasprintf("%s/berth/abc", root);
        cleanup_error berth_error *err = NULL;
        cleanup_cgroup struct berth_cgroup *cg = NULL;
        cleanup_json json_object *res =
            parse("{\"memory\":{\"limit\":67108864,\"swap\":134217728,\"reservation\":33554432},"
                  "\"cpu\":{\"shares\":1024,\"quota\":50000,\"period\":100000,\"cpus\":\"0-1\","
                  "\"mems\":\"0\"},\"pids\":{\"limit\":-1},\"blockIO\":{\"weight\":500,"
                  "\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":1048576}]},"
                  "\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304}],"
                  "\"unified\":{\"memory.high\":\"50M\"}}");
        struct berth_cgroup_opts o = {.root = root, .id = "abc", .resources = res};
        enum berth_cgroup_mode mode;

        assert_int_equal(berth_cgroup_mode_detect(root, &mode, NULL), 0);
        assert_int_equal(mode, BERTH_CGROUP_V2);
        assert_int_equal(berth_cgroup_create(&o, &cg, &err), 0);
        assert_string_equal(berth_cgroup_relpath(cg), "/berth/abc");
        /* Controllers enabled in every ancestor, without re-enabling "cpu". */
        assert_file(root, "cgroup.subtree_control", "+cpuset +io +memory +hugetlb +pids");
        cleanup_free char *berth = xasprintf("%s/berth", root);
        assert_file(berth, "cgroup.subtree_control", "+cpuset +cpu +io +memory +hugetlb +pids");
        assert_file(leaf, "memory.max", "67108864");
        assert_file(leaf, "memory.swap.max", "67108864"); /* swap - limit */
        assert_file(leaf, "memory.low", "33554432");
        assert_file(leaf, "cpu.weight", "39"); /* 1 + (1022 * 9999) / 262142 */
        assert_file(leaf, "cpu.max", "50000 100000");
        assert_file(leaf, "cpuset.cpus", "0-1");
        assert_file(leaf, "cpuset.mems", "0");
        assert_file(leaf, "pids.max", "max");
        assert_file(leaf, "io.weight", "4950"); /* 1 + (490 * 9999) / 990 */
        assert_file(leaf, "io.max", "8:0 rbps=1048576");
        assert_file(leaf, "hugetlb.2MB.max", "4194304");
        assert_file(leaf, "memory.high", "50M");

        /* update writes only what is given. */
        put(leaf, "cpu.max", "");
        put(leaf, "cpu.weight", "");
        cleanup_json json_object *upd =
            parse("{\"memory\":{\"limit\":-1},\"cpu\":{\"shares\":2,\"quota\":-1}}");
        assert_int_equal(berth_cgroup_update(cg, upd, NULL), 0);
        assert_file(leaf, "memory.max", "max");
        assert_file(leaf, "memory.swap.max", "max");
        assert_file(leaf, "cpu.weight", "1");
        assert_file(leaf, "cpu.max", "max");
        assert_file(leaf, "cpuset.cpus", "0-1");

        /* runc's swap checks. */
        cleanup_json json_object *bad = parse("{\"memory\":{\"limit\":100,\"swap\":50}}");
        assert_int_equal(berth_cgroup_update(cg, bad, &err), -EINVAL);
        assert_non_null(strstr(err->msg, "below"));
        berth_error_freep(&err);
        cleanup_json json_object *bad2 = parse("{\"unified\":{\"../x\":\"1\"}}");
        assert_int_equal(berth_cgroup_update(cg, bad2, &err), -EINVAL);
        berth_error_freep(&err);
        cleanup_json json_object *bad3 = parse("{\"unified\":{\"nope.max\":\"1\"}}");
        assert_int_equal(berth_cgroup_update(cg, bad3, &err), -ENOENT);
        assert_string_equal(err->msg, "cgroup: write `nope.max`=`1`: No such file or directory");
        berth_error_freep(&err);

        /* Freeze: cgroup.freeze written, cgroup.events already says frozen. */
        bool frozen = false;
        assert_int_equal(berth_cgroup_freeze(cg, true, NULL), 0);
        assert_file(leaf, "cgroup.freeze", "1");
        assert_int_equal(berth_cgroup_is_frozen(cg, &frozen, NULL), 0);
        assert_true(frozen);

        /* Stats in runc's shape. */
        cleanup_json json_object *st = NULL;
        assert_int_equal(berth_cgroup_stats(cg, &st, NULL), 0);
        json_object *cpu = berth_json_get(st, "cpu");
        assert_int_equal(berth_json_int(berth_json_get(cpu, "usage"), "total", 0), 1500000);
        assert_int_equal(berth_json_int(berth_json_get(cpu, "usage"), "user", 0), 1000000);
        assert_int_equal(berth_json_int(berth_json_get(cpu, "throttling"), "throttledPeriods", 0),
                         2);
        assert_int_equal(
            berth_json_int(berth_json_get(berth_json_get(st, "memory"), "usage"), "usage", 0),
            4096);
        assert_int_equal(berth_json_int(berth_json_get(st, "pids"), "current", 0), 3);
        assert_int_equal(berth_json_int(berth_json_get(st, "pids"), "limit", -1), 0);

        /* Persisted state comes back the same. */
        cleanup_json json_object *saved = berth_cgroup_to_json(cg);
        cleanup_cgroup struct berth_cgroup *cg2 = NULL;
        assert_int_equal(berth_cgroup_from_json(saved, NULL, &cg2, NULL), 0);
        assert_int_equal(berth_cgroup_get_mode(cg2), BERTH_CGROUP_V2);
        assert_string_equal(berth_cgroup_relpath(cg2), "/berth/abc");
        assert_string_equal(berth_cgroup_dir(cg2, "memory"), leaf);

        assert_int_equal(berth_rm_rf(root, NULL), 0);
}

static void test_fake_v2_relative(void **state)
{
        cleanup_free char *root = fake_v2();
        cleanup_free char *pc = xasprintf("%s/proc-cgroup", root);
        cleanup_error berth_error *err = NULL;
        cleanup_cgroup struct berth_cgroup *cg = NULL;
        put(root, "proc-cgroup", "0::/berth\n");
        struct berth_cgroup_opts o = {.root = root, .id = "x", .path = "abc", .proc_cgroup = pc};
        assert_int_equal(berth_cgroup_create(&o, &cg, &err), 0);
        assert_string_equal(berth_cgroup_relpath(cg), "/berth/abc");
        assert_int_equal(berth_rm_rf(root, NULL), 0);
}

/* ---- fake v1 ---- */

static const char *const v1_ctrls[] = {"cpu",     "cpuset",  "memory", "pids",
                                       "freezer", "devices", "blkio"};

static char *fake_v1(char **ret_mountinfo)
{
        char *root = tempdir();
        cleanup_free char *mi = xstrdup("");
        for (size_t i = 0; i < sizeof(v1_ctrls) / sizeof(v1_ctrls[0]); i++) {
                cleanup_free char *m = xasprintf("%s/%s", root, v1_ctrls[i]);
                cleanup_free char *leaf = xasprintf("%s/berth/abc", m);
                cleanup_free char *berth = xasprintf("%s/berth", m);
                char *next = xasprintf("%s%zu 31 0:%zu / %s rw,relatime - cgroup cgroup rw,%s\n",
                                       mi, 40 + i, 29 + i, m, v1_ctrls[i]);
                free(mi);
                mi = next;
                put(leaf, "cgroup.procs", "");
                if (strcmp(v1_ctrls[i], "cpuset") == 0) {
                        put(m, "cpuset.cpus", "0-1\n");
                        put(m, "cpuset.mems", "0\n");
                        put(berth, "cpuset.cpus", "");
                        put(berth, "cpuset.mems", "");
                        put(leaf, "cpuset.cpus", "");
                        put(leaf, "cpuset.mems", "");
                }
        }
        /* Not under the root: ignored. */
        char *next = xasprintf("%s50 31 0:50 / /elsewhere/hugetlb rw - cgroup cgroup rw,hugetlb\n"
                               "51 31 0:51 / %s/unified rw - cgroup2 cgroup2 rw\n",
                               mi, root);
        free(mi);
        mi = next;
        cleanup_free char *mdir = xasprintf("%s/memory/berth/abc", root);
        put(mdir, "memory.limit_in_bytes", "9223372036854771712\n");
        put(mdir, "memory.memsw.limit_in_bytes", "");
        put(mdir, "memory.soft_limit_in_bytes", "");
        cleanup_free char *cdir = xasprintf("%s/cpu/berth/abc", root);
        put(cdir, "cpu.shares", "");
        put(cdir, "cpu.cfs_quota_us", "");
        put(cdir, "cpu.cfs_period_us", "");
        cleanup_free char *pdir = xasprintf("%s/pids/berth/abc", root);
        put(pdir, "pids.max", "");
        cleanup_free char *ddir = xasprintf("%s/devices/berth/abc", root);
        put(ddir, "devices.allow", "");
        put(ddir, "devices.deny", "");
        cleanup_free char *bdir = xasprintf("%s/blkio/berth/abc", root);
        put(bdir, "blkio.bfq.weight", "");
        put(root, "mountinfo", mi);
        *ret_mountinfo = xasprintf("%s/mountinfo", root);
        return root;
}

static void test_fake_v1(void **state)
{
        cleanup_free char *mi = NULL;
        cleanup_free char *root = fake_v1(&mi);
        cleanup_error berth_error *err = NULL;
        cleanup_cgroup struct berth_cgroup *cg = NULL;
        cleanup_json json_object *res =
            parse("{\"memory\":{\"limit\":67108864,\"swap\":134217728,\"reservation\":1000},"
                  "\"cpu\":{\"shares\":512,\"quota\":50000,\"period\":100000},"
                  "\"pids\":{\"limit\":20},\"blockIO\":{\"weight\":300},"
                  "\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
                  "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rwm\"}]}");
        struct berth_cgroup_opts o = {.root = root, .id = "abc", .resources = res, .mountinfo = mi};
        enum berth_cgroup_mode mode;

        assert_int_equal(berth_cgroup_mode_detect(root, &mode, NULL), 0);
        assert_int_equal(mode, BERTH_CGROUP_V1);
        assert_int_equal(berth_cgroup_create(&o, &cg, &err), 0);
        cleanup_free char *m = xasprintf("%s/memory/berth/abc", root);
        cleanup_free char *c = xasprintf("%s/cpu/berth/abc", root);
        cleanup_free char *cs = xasprintf("%s/cpuset/berth/abc", root);
        cleanup_free char *csp = xasprintf("%s/cpuset/berth", root);
        cleanup_free char *p = xasprintf("%s/pids/berth/abc", root);
        cleanup_free char *d = xasprintf("%s/devices/berth/abc", root);
        cleanup_free char *b = xasprintf("%s/blkio/berth/abc", root);
        assert_string_equal(berth_cgroup_dir(cg, "memory"), m);
        assert_null(berth_cgroup_dir(cg, "hugetlb"));
        assert_file(m, "memory.limit_in_bytes", "67108864");
        assert_file(m, "memory.memsw.limit_in_bytes", "134217728");
        assert_file(m, "memory.soft_limit_in_bytes", "1000");
        assert_file(c, "cpu.shares", "512");
        assert_file(c, "cpu.cfs_quota_us", "50000");
        assert_file(c, "cpu.cfs_period_us", "100000");
        assert_file(p, "pids.max", "20");
        assert_file(b, "blkio.bfq.weight", "300"); /* no blkio.weight: BFQ's file */
        /* The cpuset trap: parents' values copied down. */
        assert_file(csp, "cpuset.cpus", "0-1");
        assert_file(cs, "cpuset.cpus", "0-1");
        assert_file(cs, "cpuset.mems", "0");
        assert_file(d, "devices.allow", "c 1:3 rwm");
        assert_file(d, "devices.deny", "a");

        /* Asking for what is not mounted fails, naming it. */
        cleanup_json json_object *hp = parse("{\"hugepageLimits\":[{\"pageSize\":\"2MB\","
                                             "\"limit\":1}]}");
        assert_int_equal(berth_cgroup_update(cg, hp, &err), -ENOTSUP);
        assert_non_null(strstr(err->msg, "`hugetlb`"));
        berth_error_freep(&err);
        cleanup_json json_object *un = parse("{\"unified\":{\"memory.high\":\"1\"}}");
        assert_int_equal(berth_cgroup_update(cg, un, &err), -EINVAL);
        assert_non_null(strstr(err->msg, "unified"));
        berth_error_freep(&err);
        /* Leaf weight on a kernel without the file. */
        cleanup_json json_object *lw = parse("{\"blockIO\":{\"leafWeight\":10}}");
        assert_int_equal(berth_cgroup_update(cg, lw, &err), -ENOENT);
        assert_non_null(strstr(err->msg, "`blkio.leaf_weight`"));
        berth_error_freep(&err);

        cleanup_json json_object *saved = berth_cgroup_to_json(cg);
        cleanup_cgroup struct berth_cgroup *cg2 = NULL;
        assert_int_equal(berth_cgroup_from_json(saved, NULL, &cg2, NULL), 0);
        assert_string_equal(berth_cgroup_dir(cg2, "pids"), p);
        assert_string_equal(berth_cgroup_relpath(cg2), "/berth/abc");
        assert_int_equal(berth_rm_rf(root, NULL), 0);
}

static void test_fake_v1_relative(void **state)
{
        cleanup_free char *mi = NULL;
        cleanup_free char *root = fake_v1(&mi);
        cleanup_free char *pc = xasprintf("%s/proc-cgroup", root);
        cleanup_cgroup struct berth_cgroup *cg = NULL;
        cleanup_error berth_error *err = NULL;
        put(root, "proc-cgroup",
            "7:blkio:/\n6:freezer:/\n5:devices:/\n4:memory:/berth\n"
            "3:cpuset:/berth\n2:pids:/\n1:cpu:/\n0::/\n");
        struct berth_cgroup_opts o = {
            .root = root, .id = "x", .path = "abc", .mountinfo = mi, .proc_cgroup = pc};
        assert_int_equal(berth_cgroup_create(&o, &cg, &err), 0);
        cleanup_free char *m = xasprintf("%s/memory/berth/abc", root);
        cleanup_free char *c = xasprintf("%s/cpu/abc", root);
        assert_string_equal(berth_cgroup_dir(cg, "memory"), m);
        assert_string_equal(berth_cgroup_dir(cg, "cpu"), c);
        assert_int_equal(berth_rm_rf(root, NULL), 0);
}

/* ---- real hierarchies ---- */

static bool have(const char *path)
{
        return access(path, F_OK) == 0;
}

/* Remove the tests' parent cgroup "berth-test" from every hierarchy. */
static void rm_test_parents(void)
{
        cleanup_closedir DIR *d = opendir("/sys/fs/cgroup");
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
                if (de->d_name[0] == '.')
                        continue;
                cleanup_free char *p = xasprintf("/sys/fs/cgroup/%s/berth-test", de->d_name);
                (void)rmdir(p);
        }
        (void)rmdir("/sys/fs/cgroup/berth-test");
}

/* A child that counts in shared memory until killed. */
static pid_t spinner(volatile uint64_t **ret_counter)
{
        volatile uint64_t *counter =
            mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        assert_true(counter != MAP_FAILED);
        *counter = 0;
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                for (;;)
                        (*counter)++;
        }
        *ret_counter = counter;
        return pid;
}

static void msleep(long ms)
{
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
}

static void test_real_v1(void **state)
{
        if (geteuid() != 0 || !have("/sys/fs/cgroup/memory/memory.limit_in_bytes") ||
            !have("/sys/fs/cgroup/freezer")) {
                skip();
                return;
        }
        enum berth_cgroup_mode mode;
        assert_int_equal(berth_cgroup_mode_detect(NULL, &mode, NULL), 0);
        if (mode != BERTH_CGROUP_V1) {
                skip();
                return;
        }
        cleanup_error berth_error *err = NULL;
        cleanup_cgroup struct berth_cgroup *cg = NULL;
        cleanup_free char *path = xasprintf("/berth-test/c%d", (int)getpid());
        cleanup_json json_object *res =
            parse("{\"memory\":{\"limit\":67108864},\"cpu\":{\"quota\":50000,\"period\":100000,"
                  "\"cpus\":\"0\",\"mems\":\"0\"},\"pids\":{\"limit\":20},"
                  "\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
                  "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rwm\"}]}");
        volatile uint64_t *counter = NULL;
        pid_t child = spinner(&counter);
        struct berth_cgroup_opts o = {.id = "x", .path = path, .resources = res, .pid = child};

        int r = berth_cgroup_create(&o, &cg, &err);
        if (r < 0)
                fprintf(stderr, "create: %s\n", err->msg);
        assert_int_equal(r, 0);
        const char *m = berth_cgroup_dir(cg, "memory");
        const char *c = berth_cgroup_dir(cg, "cpu");
        const char *cs = berth_cgroup_dir(cg, "cpuset");
        const char *p = berth_cgroup_dir(cg, "pids");
        const char *dv = berth_cgroup_dir(cg, "devices");
        cleanup_free char *mdir = xasprintf("/sys/fs/cgroup/memory%s", path);
        assert_string_equal(m, mdir);
        assert_file(m, "memory.limit_in_bytes", "67108864");
        assert_file(c, "cpu.cfs_quota_us", "50000");
        assert_file(c, "cpu.cfs_period_us", "100000");
        assert_file(cs, "cpuset.cpus", "0");
        assert_file(p, "pids.max", "20");
        assert_file(dv, "devices.list", "c 1:3 rwm");
        cleanup_free char *procs = xasprintf("%d", (int)child);
        assert_file(p, "cgroup.procs", procs);

        pid_t *pids = NULL;
        size_t n = 0;
        assert_int_equal(berth_cgroup_pids(cg, &pids, &n, NULL), 0);
        assert_int_equal(n, 1);
        assert_int_equal(pids[0], child);
        free(pids);

        /* update changes live values; a refused value is an error naming
         * the file. */
        cleanup_json json_object *upd = parse("{\"memory\":{\"limit\":33554432},"
                                              "\"pids\":{\"limit\":-1}}");
        assert_int_equal(berth_cgroup_update(cg, upd, NULL), 0);
        assert_file(m, "memory.limit_in_bytes", "33554432");
        assert_file(p, "pids.max", "max");
        cleanup_json json_object *bad = parse("{\"cpu\":{\"cpus\":\"abc\"}}");
        assert_int_equal(berth_cgroup_update(cg, bad, &err), -EINVAL);
        assert_string_equal(err->msg, "cgroup: write `cpuset.cpus`=`abc`: Invalid argument");
        berth_error_freep(&err);

        /* Freeze: the counter stops; thaw: it moves again. */
        bool frozen = false;
        msleep(20);
        assert_true(*counter > 0);
        assert_int_equal(berth_cgroup_freeze(cg, true, NULL), 0);
        assert_int_equal(berth_cgroup_is_frozen(cg, &frozen, NULL), 0);
        assert_true(frozen);
        uint64_t a = *counter;
        msleep(50);
        assert_true(*counter == a);
        assert_int_equal(berth_cgroup_freeze(cg, false, NULL), 0);
        assert_int_equal(berth_cgroup_is_frozen(cg, &frozen, NULL), 0);
        assert_false(frozen);
        msleep(50);
        assert_true(*counter != a);

        cleanup_json json_object *st = NULL;
        assert_int_equal(berth_cgroup_stats(cg, &st, NULL), 0);
        assert_int_equal(berth_json_int(berth_json_get(st, "pids"), "current", 0), 1);
        assert_true(berth_json_int(berth_json_get(berth_json_get(st, "memory"), "usage"), "limit",
                                   0) == 33554432);
        assert_true(berth_json_int(berth_json_get(berth_json_get(st, "cpu"), "usage"), "total", 0) >
                    0);

        /* Kill, even while frozen. */
        assert_int_equal(berth_cgroup_freeze(cg, true, NULL), 0);
        assert_int_equal(berth_cgroup_kill(cg, SIGKILL, NULL), 0);
        int status = 0;
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

        assert_int_equal(berth_cgroup_destroy(cg, NULL), 0);
        assert_false(have(mdir));
        cleanup_free char *cdir = xasprintf("/sys/fs/cgroup/cpuset%s", path);
        assert_false(have(cdir));
        /* Destroying again is fine. */
        assert_int_equal(berth_cgroup_destroy(cg, NULL), 0);
        rm_test_parents();
        cleanup_free char *parent = xasprintf("/sys/fs/cgroup/memory/berth-test");
        assert_false(have(parent));
        munmap((void *)counter, 4096);
}

/* A memory limit below the current usage (no swap here) is refused by the
 * kernel, and that is an error. */
static void test_real_v1_limit_below_usage(void **state)
{
        if (geteuid() != 0 || !have("/sys/fs/cgroup/memory/memory.limit_in_bytes")) {
                skip();
                return;
        }
        cleanup_error berth_error *err = NULL;
        cleanup_cgroup struct berth_cgroup *cg = NULL;
        cleanup_free char *path = xasprintf("/berth-test/m%d", (int)getpid());
        int pfd[2];
        assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                char ch;
                /* Wait to be moved in, then touch 32M and stay. */
                (void)read(pfd[0], &ch, 1);
                char *mem = mmap(NULL, 32 << 20, PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
                if (mem == MAP_FAILED)
                        _exit(1);
                memset(mem, 1, 32 << 20);
                (void)read(pfd[0], &ch, 1);
                _exit(0);
        }
        close(pfd[0]);
        struct berth_cgroup_opts o = {.id = "x", .path = path, .pid = child};
        assert_int_equal(berth_cgroup_create(&o, &cg, NULL), 0);
        assert_int_equal(write(pfd[1], "x", 1), 1);
        const char *m = berth_cgroup_dir(cg, "memory");
        for (int i = 0; i < 200; i++) {
                uint64_t use = 0;
                (void)berth_cgroup_read_u64(m, "memory.usage_in_bytes", &use, NULL);
                if (use >= (32u << 20))
                        break;
                msleep(10);
        }
        bool has_swap = false;
        {
                cleanup_free char *sw = get("/proc", "swaps");
                has_swap = strchr(sw, '\n') != NULL;
        }
        cleanup_json json_object *upd = parse("{\"memory\":{\"limit\":4194304}}");
        int r = berth_cgroup_update(cg, upd, &err);
        if (!has_swap) {
                assert_int_equal(r, -EBUSY);
                assert_string_equal(err->msg, "cgroup: write `memory.limit_in_bytes`=`4194304`: "
                                              "Device or resource busy");
        }
        assert_int_equal(berth_cgroup_kill(cg, SIGKILL, NULL), 0);
        int status;
        assert_int_equal(waitpid(child, &status, 0), child);
        close(pfd[1]);
        assert_int_equal(berth_cgroup_destroy(cg, NULL), 0);
        rm_test_parents();
}

#define UNIFIED "/sys/fs/cgroup/unified"

/* The v2 manager on the hybrid unified mount: no controllers there, but
 * cgroup.freeze, cgroup.events and cgroup.kill are core files. */
static void test_real_v2_unified(void **state)
{
        if (geteuid() != 0 || !have(UNIFIED "/cgroup.procs")) {
                skip();
                return;
        }
        enum berth_cgroup_mode mode;
        assert_int_equal(berth_cgroup_mode_detect(UNIFIED, &mode, NULL), 0);
        assert_int_equal(mode, BERTH_CGROUP_V2);
        cleanup_cgroup struct berth_cgroup *cg = NULL;
        cleanup_error berth_error *err = NULL;
        cleanup_free char *path = xasprintf("/berth-test/u%d", (int)getpid());
        volatile uint64_t *counter = NULL;
        pid_t child = spinner(&counter);
        struct berth_cgroup_opts o = {.root = UNIFIED, .id = "x", .path = path, .pid = child};
        assert_int_equal(berth_cgroup_create(&o, &cg, &err), 0);
        cleanup_free char *dir = xasprintf(UNIFIED "%s", path);
        cleanup_free char *procs = xasprintf("%d", (int)child);
        assert_file(dir, "cgroup.procs", procs);

        bool frozen = true;
        assert_int_equal(berth_cgroup_is_frozen(cg, &frozen, NULL), 0);
        assert_false(frozen);
        assert_int_equal(berth_cgroup_freeze(cg, true, NULL), 0);
        assert_int_equal(berth_cgroup_is_frozen(cg, &frozen, NULL), 0);
        assert_true(frozen);
        uint64_t a = *counter;
        msleep(50);
        assert_true(*counter == a);
        assert_int_equal(berth_cgroup_freeze(cg, false, NULL), 0);
        msleep(50);
        assert_true(*counter != a);

        assert_int_equal(berth_cgroup_kill(cg, SIGKILL, NULL), 0);
        int status = 0;
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        assert_int_equal(berth_cgroup_destroy(cg, NULL), 0);
        assert_false(have(dir));
        (void)rmdir(UNIFIED "/berth-test");
        munmap((void *)counter, 4096);
}

/* Run a child in CG that opens /dev/zero and /dev/null; returns its exit
 * status: bit 0 set when /dev/zero failed with EPERM, bit 1 when /dev/null
 * failed. */
static int probe_devices(struct berth_cgroup_opts *o, struct berth_cgroup **ret_cg,
                         json_object *update, berth_error **err)
{
        int pfd[2];
        assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                char ch;
                int res = 0;
                close(pfd[1]);
                if (read(pfd[0], &ch, 1) != 1)
                        _exit(100);
                int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
                if (fd < 0 && errno == EPERM)
                        res |= 1;
                fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        res |= 2;
                _exit(res);
        }
        close(pfd[0]);
        int r;
        if (*ret_cg == NULL) {
                o->pid = child;
                r = berth_cgroup_create(o, ret_cg, err);
        } else {
                r = berth_cgroup_enter(*ret_cg, child, err);
                if (r == 0 && update)
                        r = berth_cgroup_update(*ret_cg, update, err);
        }
        if (r == 0)
                assert_int_equal(write(pfd[1], "x", 1), 1);
        close(pfd[1]);
        int status = 0;
        assert_int_equal(waitpid(child, &status, 0), child);
        if (r < 0)
                return r;
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static void test_real_bpf_devices(void **state)
{
        if (geteuid() != 0 || !have(UNIFIED "/cgroup.procs")) {
                skip();
                return;
        }
        cleanup_free char *path = xasprintf("/berth-test/b%d", (int)getpid());
        cleanup_json json_object *res =
            parse("{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
                  "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rwm\"},"
                  "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":5,\"access\":\"w\"}]}");
        struct berth_cgroup_opts o = {.root = UNIFIED, .id = "x", .path = path, .resources = res};
        cleanup_cgroup struct berth_cgroup *cg = NULL;
        cleanup_error berth_error *err = NULL;

        int r = probe_devices(&o, &cg, NULL, &err);
        if (r < 0) {
                /* The kernel may not allow device programs here. */
                cleanup_free char *dir = xasprintf(UNIFIED "%s", path);
                (void)rmdir(dir);
                (void)rmdir(UNIFIED "/berth-test");
                fprintf(stderr, "skipping: %s\n", err->msg);
                skip();
                return;
        }
        /* /dev/zero read denied (only "w" allowed), /dev/null allowed. */
        assert_int_equal(r, 1);

        /* update replaces the program: allow everything now. */
        cleanup_json json_object *all =
            parse("{\"devices\":[{\"allow\":true,\"access\":\"rwm\"}]}");
        assert_int_equal(probe_devices(&o, &cg, all, NULL), 0);
        /* And deny everything (the last matching rule wins). */
        cleanup_json json_object *none =
            parse("{\"devices\":[{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3},"
                  "{\"allow\":false,\"type\":\"a\"}]}");
        assert_int_equal(probe_devices(&o, &cg, none, NULL), 3);

        assert_int_equal(berth_cgroup_destroy(cg, NULL), 0);
        (void)rmdir(UNIFIED "/berth-test");
}

static void test_bpf_build(void **state)
{
        struct bpf_insn *prog = NULL;
        size_t n = 0;
        cleanup_error berth_error *err = NULL;
        cleanup_json json_object *allow_all = parse("[{\"allow\":false},{\"allow\":true}]");
        /* A rule matching everything ends the program: the rules before it
         * are unreachable and not emitted (the verifier refuses dead code). */
        assert_int_equal(berth_cgroup_bpf_build(allow_all, &prog, &n, NULL), 0);
        assert_int_equal(n, 6 + 2);
        free(prog);
        cleanup_json json_object *bad = parse("[{\"allow\":true,\"type\":\"x\"}]");
        assert_int_equal(berth_cgroup_bpf_build(bad, &prog, &n, &err), -EINVAL);
        assert_non_null(strstr(err->msg, "`x`"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_resolve_path),
            cmocka_unit_test(test_fake_v2),
            cmocka_unit_test(test_fake_v2_relative),
            cmocka_unit_test(test_fake_v1),
            cmocka_unit_test(test_fake_v1_relative),
            cmocka_unit_test(test_bpf_build),
            cmocka_unit_test(test_real_v1),
            cmocka_unit_test(test_real_v1_limit_below_usage),
            cmocka_unit_test(test_real_v2_unified),
            cmocka_unit_test(test_real_bpf_devices),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
