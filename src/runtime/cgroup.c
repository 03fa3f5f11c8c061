/* SPDX-License-Identifier: Apache-2.0 */
/* Cgroups: what v1 and v2 share, mode detection and the dispatch to the
 * back-end (cgroup-v1.c, cgroup-v2.c). */
#include "runtime/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define DEFAULT_ROOT     "/sys/fs/cgroup"
#define MAX_CGROUP_DEPTH 64
#define MAX_PIDS         (1u << 22)

/* ---- Small file helpers ---- */

int berth_cgroup_write(const char *dir, const char *file, const char *value, berth_error **err)
{
        cleanup_free char *p = xasprintf("%s/%s", dir, file);
        cleanup_close int fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);
        size_t len = strlen(value);

        if (fd < 0)
                return berth_fail_errno(err, "cgroup: write `%s`=`%s`", file, value);
        /* One write() is the whole update for a kernel control file. */
        ssize_t n = TEMP_FAILURE_RETRY_INT(write(fd, value, len));
        if (n < 0)
                return berth_fail_errno(err, "cgroup: write `%s`=`%s`", file, value);
        if ((size_t)n != len)
                return berth_fail(err, EIO, "cgroup: write `%s`=`%s`: short write", file, value);
        return 0;
}

int berth_cgroup_writef(const char *dir, const char *file, berth_error **err, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        cleanup_free char *v = xvasprintf(fmt, ap);
        va_end(ap);
        return berth_cgroup_write(dir, file, v, err);
}

int berth_cgroup_write_i64(const char *dir, const char *file, int64_t v, berth_error **err)
{
        return berth_cgroup_writef(dir, file, err, "%lld", (long long)v);
}

int berth_cgroup_write_cpuset(const char *dir, const char *cpus, const char *mems,
                              berth_error **err)
{
        int r;

        if (cpus && cpus[0] && (r = berth_cgroup_write(dir, "cpuset.cpus", cpus, err)) < 0)
                return r;
        if (mems && mems[0] && (r = berth_cgroup_write(dir, "cpuset.mems", mems, err)) < 0)
                return r;
        return 0;
}

int berth_cgroup_hugetlb_file(json_object *entry, const char *suffix, char **ret, berth_error **err)
{
        const char *size = berth_json_str(entry, "pageSize");

        if (size == NULL || strchr(size, '/') != NULL)
                return berth_fail(err, EINVAL, "cgroup: bad hugepage size `%s`", size ? size : "");
        *ret = xasprintf("hugetlb.%s.%s", size, suffix);
        return 0;
}

void berth_cgroup_add_u64(json_object *o, const char *key, uint64_t v)
{
        json_object_object_add(o, key, json_object_new_uint64(v));
}

json_object *berth_cgroup_io_entry(unsigned major, unsigned minor, const char *op, uint64_t value)
{
        json_object *e = json_object_new_object();

        berth_cgroup_add_u64(e, "major", major);
        berth_cgroup_add_u64(e, "minor", minor);
        json_object_object_add(e, "op", json_object_new_string(op));
        berth_cgroup_add_u64(e, "value", value);
        return e;
}

int berth_cgroup_read(const char *dir, const char *file, char **ret, berth_error **err)
{
        cleanup_free char *p = xasprintf("%s/%s", dir, file);
        cleanup_free char *buf = NULL;
        size_t len = 0;
        int r = berth_read_file(p, &buf, &len, NULL);
        if (r < 0)
                return berth_fail(err, -r, "cgroup: read `%s`", p);
        while (len > 0 && buf[len - 1] == '\n')
                buf[--len] = '\0';
        *ret = steal_pointer(&buf);
        return 0;
}

int berth_cgroup_read_u64(const char *dir, const char *file, uint64_t *ret, berth_error **err)
{
        cleanup_free char *s = NULL;
        uint64_t v;
        int r = berth_cgroup_read(dir, file, &s, err);
        if (r < 0)
                return r;
        if (strcmp(s, "max") == 0 || strcmp(s, "-1") == 0) {
                *ret = UINT64_MAX;
                return 0;
        }
        if (berth_parse_uint64(s, &v) < 0)
                return berth_fail(err, EINVAL, "cgroup: `%s/%s`: not a number: `%s`", dir, file, s);
        *ret = v;
        return 0;
}

bool berth_cgroup_file_exists(const char *dir, const char *file)
{
        cleanup_free char *p = xasprintf("%s/%s", dir, file);
        return access(p, F_OK) == 0;
}

int berth_cgroup_mkdirs(const char *base, const char *rel,
                        int (*hook)(const char *parent, const char *dir, void *data,
                                    berth_error **err),
                        void *data, berth_error **err)
{
        cleanup_free char *cur = xstrdup(base);
        cleanup_free char *copy = xstrdup(rel);
        char *save = NULL;

        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                cleanup_free char *parent = steal_pointer(&cur);
                cur = xasprintf("%s/%s", parent, c);
                if (mkdir(cur, 0755) < 0) {
                        if (errno != EEXIST)
                                return berth_fail_errno(err, "cgroup: mkdir `%s`", cur);
                }
                if (hook) {
                        int r = hook(parent, cur, data, err);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

json_object *berth_cgroup_parse_kv(const char *text)
{
        json_object *o = json_object_new_object();
        cleanup_free char *copy = xstrdup(text ? text : "");
        char *save = NULL;

        for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char *sp = strchr(l, ' ');
                uint64_t v;
                if (!sp)
                        continue;
                *sp = '\0';
                if (berth_parse_uint64(sp + 1, &v) < 0)
                        continue;
                json_object_object_add(o, l, json_object_new_uint64(v));
        }
        return o;
}

int berth_cgroup_enter_dir(const char *dir, pid_t pid, berth_error **err)
{
        return berth_cgroup_writef(dir, "cgroup.procs", err, "%d", (int)pid);
}

/* ---- Mode and paths ---- */

int berth_cgroup_mode_detect(const char *root, enum berth_cgroup_mode *ret, berth_error **err)
{
        struct statfs st;

        if (root == NULL)
                root = DEFAULT_ROOT;
        if (statfs(root, &st) < 0)
                return berth_fail_errno(err, "cgroup: statfs `%s`", root);
        if (st.f_type == CGROUP2_SUPER_MAGIC) {
                *ret = BERTH_CGROUP_V2;
                return 0;
        }
        /* A tmpfs of v1 mounts never holds cgroup.controllers; a fake v2 tree
         * made by the tests does. */
        if (st.f_type != CGROUP_SUPER_MAGIC && berth_cgroup_file_exists(root, "cgroup.controllers"))
                *ret = BERTH_CGROUP_V2;
        else
                *ret = BERTH_CGROUP_V1;
        return 0;
}

/* Append "/component" for each component of P, refusing "..". */
static int append_components(char **buf, size_t *len, const char *p, const char *orig,
                             berth_error **err)
{
        cleanup_free char *copy = xstrdup(p);
        char *save = NULL;

        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                if (strcmp(c, ".") == 0)
                        continue;
                if (strcmp(c, "..") == 0)
                        return berth_fail(err, EINVAL, "cgroup: path `%s` contains `..`", orig);
                size_t cl = strlen(c);
                *buf = xrealloc(*buf, *len + cl + 2);
                (*buf)[(*len)++] = '/';
                memcpy(*buf + *len, c, cl + 1);
                *len += cl;
        }
        return 0;
}

/* "a-b-c.slice" => "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" => "". */
static int expand_slice(const char *slice, char **ret, berth_error **err)
{
        size_t n = strlen(slice);
        cleanup_free char *out = xstrdup("");

        if (strcmp(slice, "-.slice") == 0) {
                *ret = steal_pointer(&out);
                return 0;
        }
        if (!berth_str_has_suffix(slice, ".slice") || strchr(slice, '/') != NULL || n <= 6 ||
            slice[0] == '-' || strstr(slice, "--") != NULL || slice[n - 7] == '-')
                return berth_fail(err, EINVAL, "cgroup: invalid systemd slice `%s`", slice);
        const char *base = slice;
        size_t base_len = n - 6;
        for (size_t i = 0; i <= base_len; i++) {
                if (i == base_len || base[i] == '-') {
                        char *next = xasprintf("%s/%.*s.slice", out, (int)i, base);
                        free(out);
                        out = next;
                }
        }
        *ret = steal_pointer(&out);
        return 0;
}

int berth_cgroup_resolve_path(const char *path, const char *id, char **ret, berth_error **err)
{
        cleanup_free char *buf = xstrdup("");
        cleanup_free char *tmp = NULL;
        size_t len = 0;
        int r;

        if (path == NULL || path[0] == '\0') {
                if (id == NULL || id[0] == '\0' || strchr(id, '/') != NULL ||
                    strcmp(id, "..") == 0 || strcmp(id, ".") == 0)
                        return berth_fail(err, EINVAL, "cgroup: invalid container id `%s`",
                                          id ? id : "");
                tmp = xasprintf("/berth/%s", id);
                path = tmp;
        }
        const char *c1 = path[0] != '/' ? strchr(path, ':') : NULL;
        const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c1 && c2 && strchr(c2 + 1, ':') == NULL) {
                /* systemd style "slice:prefix:name", mapped onto cgroupfs. */
                cleanup_free char *slice = xstrndup(path, (size_t)(c1 - path));
                cleanup_free char *prefix = xstrndup(c1 + 1, (size_t)(c2 - c1 - 1));
                const char *name = c2 + 1;
                cleanup_free char *expanded = NULL;
                cleanup_free char *unit = NULL;

                if (name[0] == '\0' || strchr(name, '/') || strchr(prefix, '/'))
                        return berth_fail(err, EINVAL, "cgroup: invalid systemd cgroupsPath `%s`",
                                          path);
                r = expand_slice(slice[0] ? slice : "system.slice", &expanded, err);
                if (r < 0)
                        return berth_error_prefix(err, r, "cgroupsPath `%s`", path);
                if (berth_str_has_suffix(name, ".slice"))
                        unit = xstrdup(name);
                else if (prefix[0])
                        unit = xasprintf("%s-%s.scope", prefix, name);
                else
                        unit = xasprintf("%s.scope", name);
                free(tmp);
                tmp = xasprintf("%s/%s", expanded, unit);
                r = append_components(&buf, &len, tmp, path, err);
                if (r < 0)
                        return r;
                *ret = steal_pointer(&buf);
                return 0;
        }
        r = append_components(&buf, &len, path, path, err);
        if (r < 0)
                return r;
        if (path[0] != '/') {
                /* Keep it relative: drop the leading "/". */
                char *rel = xstrdup(buf[0] ? buf + 1 : "");
                free(buf);
                buf = rel;
        }
        *ret = steal_pointer(&buf);
        return 0;
}

/* ---- Objects ---- */

void berth_cgroup_free(struct berth_cgroup *cg)
{
        if (cg == NULL)
                return;
        for (size_t i = 0; i < cg->n_hier; i++) {
                free(cg->hier[i].controllers);
                free(cg->hier[i].dir);
        }
        free(cg->hier);
        free(cg->root);
        free(cg->relpath);
        free(cg->path);
        free(cg);
}

const char *berth_cgroup_relpath(const struct berth_cgroup *cg)
{
        return cg->relpath;
}

enum berth_cgroup_mode berth_cgroup_get_mode(const struct berth_cgroup *cg)
{
        return cg->mode;
}

static bool list_has(const char *list, const char *item)
{
        size_t n = strlen(item);
        for (const char *p = list; p && *p;) {
                const char *e = strchr(p, ',');
                size_t l = e ? (size_t)(e - p) : strlen(p);
                if (l == n && strncmp(p, item, n) == 0)
                        return true;
                p = e ? e + 1 : NULL;
        }
        return false;
}

const char *berth_cgroup_dir(const struct berth_cgroup *cg, const char *controller)
{
        if (cg->mode == BERTH_CGROUP_V2)
                return cg->path;
        for (size_t i = 0; i < cg->n_hier; i++)
                if (list_has(cg->hier[i].controllers, controller))
                        return cg->hier[i].dir;
        return NULL;
}

/* The directory whose cgroup.procs lists the container's processes. */
static const char *procs_dir(const struct berth_cgroup *cg)
{
        static const char *const prefer[] = {"pids", "freezer", "memory", "cpu", "devices"};
        const char *d;

        if (cg->mode == BERTH_CGROUP_V2)
                return cg->path;
        for (size_t i = 0; i < sizeof(prefer) / sizeof(prefer[0]); i++)
                if ((d = berth_cgroup_dir(cg, prefer[i])) != NULL)
                        return d;
        return cg->n_hier > 0 ? cg->hier[0].dir : NULL;
}

bool berth_cgroup_get_i64(json_object *o, const char *key, int64_t *ret)
{
        json_object *v = o ? berth_json_get(o, key) : NULL;
        if (v == NULL)
                return false;
        *ret = json_object_get_int64(v);
        return true;
}

bool berth_cgroup_get_u64(json_object *o, const char *key, uint64_t *ret)
{
        json_object *v = o ? berth_json_get(o, key) : NULL;
        if (v == NULL)
                return false;
        *ret = json_object_get_uint64(v);
        return true;
}

/* True when every item of the comma list A is in the comma list B. */
static bool list_subset(const char *a, const char *b)
{
        cleanup_free char *copy = xstrdup(a);
        char *save = NULL;
        for (char *c = strtok_r(copy, ",", &save); c; c = strtok_r(NULL, ",", &save))
                if (!list_has(b, c))
                        return false;
        return true;
}

int berth_cgroup_self_path(const char *proc_cgroup, const char *controllers, char **ret,
                           berth_error **err)
{
        cleanup_free char *text = NULL;
        const char *file = proc_cgroup ? proc_cgroup : "/proc/self/cgroup";
        char *save = NULL;
        int r = berth_read_file(file, &text, NULL, err);

        if (r < 0)
                return berth_error_prefix(err, r, "cgroup");
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char *c1 = strchr(l, ':');
                char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (c2 == NULL)
                        continue;
                *c2 = '\0';
                const char *ctrls = c1 + 1;
                bool match = controllers == NULL
                                 ? (strncmp(l, "0:", 2) == 0 && ctrls[0] == '\0')
                                 : (ctrls[0] != '\0' && list_subset(controllers, ctrls));
                if (match) {
                        *ret = xstrdup(c2 + 1);
                        return 0;
                }
        }
        return berth_fail(err, ENOENT, "cgroup: `%s` has no entry for `%s`", file,
                          controllers ? controllers : "cgroup2");
}

int berth_cgroup_create(const struct berth_cgroup_opts *o, struct berth_cgroup **ret,
                        berth_error **err)
{
        cleanup_cgroup struct berth_cgroup *cg = xmalloc0(sizeof(*cg));
        cleanup_free char *rel = NULL;
        enum berth_cgroup_mode mode;
        int r;

        r = berth_cgroup_mode_detect(o->root, &mode, err);
        if (r < 0)
                return r;
        r = berth_cgroup_resolve_path(o->path, o->id, &rel, err);
        if (r < 0)
                return r;
        if (rel[0] == '\0' || strcmp(rel, "/") == 0)
                return berth_fail(err, EINVAL, "cgroup: refusing to use the root cgroup `%s`",
                                  o->path ? o->path : "");
        cg->mode = mode;
        cg->root = xstrdup(o->root ? o->root : DEFAULT_ROOT);
        if (mode == BERTH_CGROUP_V2) {
                cg->ops = &berth_cgroup_v2_ops;
                r = berth_cgroup_v2_setup(cg, o, rel, err);
        } else {
                cg->ops = &berth_cgroup_v1_ops;
                r = berth_cgroup_v1_setup(cg, o, rel, err);
        }
        if (r < 0)
                return r;
        r = cg->ops->create(cg, o->resources, err);
        if (r < 0) {
                (void)berth_cgroup_destroy(cg, NULL);
                return r;
        }
        if (o->pid > 0) {
                r = berth_cgroup_enter(cg, o->pid, err);
                if (r < 0) {
                        (void)berth_cgroup_destroy(cg, NULL);
                        return r;
                }
        }
        *ret = steal_pointer(&cg);
        return 0;
}

int berth_cgroup_enter(struct berth_cgroup *cg, pid_t pid, berth_error **err)
{
        if (cg->mode == BERTH_CGROUP_V2)
                return berth_cgroup_enter_dir(cg->path, pid, err);
        for (size_t i = 0; i < cg->n_hier; i++) {
                int r = berth_cgroup_enter_dir(cg->hier[i].dir, pid, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int berth_cgroup_attach_fds(const struct berth_cgroup *cg, int **ret_fds, size_t *ret_n,
                            int *ret_dirfd, berth_error **err)
{
        *ret_fds = NULL;
        *ret_n = 0;
        *ret_dirfd = -1;
        if (cg->mode == BERTH_CGROUP_V2) {
                int fd = open(cg->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return berth_fail_errno(err, "cgroup: open `%s`", cg->path);
                *ret_dirfd = fd;
                return 0;
        }
        int *fds = xcalloc(cg->n_hier ? cg->n_hier : 1, sizeof(int));
        for (size_t i = 0; i < cg->n_hier; i++) {
                cleanup_free char *p = xasprintf("%s/tasks", cg->hier[i].dir);
                fds[i] = open(p, O_WRONLY | O_CLOEXEC);
                if (fds[i] < 0) {
                        int r = berth_fail_errno(err, "cgroup: open `%s`", p);
                        for (size_t j = 0; j < i; j++)
                                close(fds[j]);
                        free(fds);
                        return r;
                }
        }
        *ret_fds = fds;
        *ret_n = cg->n_hier;
        return 0;
}

int berth_cgroup_attach_self(const int *fds, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                ssize_t w;
                do
                        w = write(fds[i], "0", 1);
                while (w < 0 && errno == EINTR);
                if (w != 1)
                        return w < 0 ? -errno : -EIO;
                close(fds[i]);
        }
        return 0;
}

int berth_cgroup_update(struct berth_cgroup *cg, json_object *resources, berth_error **err)
{
        if (resources == NULL)
                return 0;
        return cg->ops->update(cg, resources, err);
}

int berth_cgroup_freeze(struct berth_cgroup *cg, bool frozen, berth_error **err)
{
        return cg->ops->freeze(cg, frozen, err);
}

int berth_cgroup_is_frozen(struct berth_cgroup *cg, bool *ret, berth_error **err)
{
        return cg->ops->is_frozen(cg, ret, err);
}

struct pidvec {
        pid_t *v;
        size_t n, cap;
};

static int collect_pids(const char *dir, struct pidvec *pv, int depth, berth_error **err)
{
        cleanup_free char *procs = NULL;
        cleanup_closedir DIR *d = NULL;
        struct dirent *de;
        char *save = NULL;
        int r;

        if (depth > MAX_CGROUP_DEPTH)
                return berth_fail(err, ELOOP, "cgroup: `%s` nests too deep", dir);
        r = berth_cgroup_read(dir, "cgroup.procs", &procs, err);
        if (r < 0)
                return r;
        for (char *l = strtok_r(procs, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                int64_t v;
                if (berth_parse_int64(l, &v) < 0 || v <= 0)
                        continue;
                if (pv->n == pv->cap) {
                        if (pv->cap >= MAX_PIDS)
                                return berth_fail(err, E2BIG, "cgroup: too many processes");
                        pv->cap = pv->cap ? pv->cap * 2 : 16;
                        pv->v = xrealloc(pv->v, pv->cap * sizeof(pid_t));
                }
                pv->v[pv->n++] = (pid_t)v;
        }
        d = opendir(dir);
        if (d == NULL)
                return berth_fail_errno(err, "cgroup: opendir `%s`", dir);
        while ((de = readdir(d)) != NULL) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                cleanup_free char *sub = xasprintf("%s/%s", dir, de->d_name);
                r = collect_pids(sub, pv, depth + 1, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int berth_cgroup_pids(struct berth_cgroup *cg, pid_t **ret, size_t *ret_n, berth_error **err)
{
        struct pidvec pv = {0};
        const char *dir = procs_dir(cg);
        int r;

        if (dir == NULL)
                return berth_fail(err, ENOENT, "cgroup: no hierarchy to list processes from");
        r = collect_pids(dir, &pv, 0, err);
        if (r < 0) {
                free(pv.v);
                return r;
        }
        *ret = pv.v ? pv.v : xmalloc(sizeof(pid_t));
        *ret_n = pv.n;
        return 0;
}

int berth_cgroup_kill(struct berth_cgroup *cg, int sig, berth_error **err)
{
        cleanup_free pid_t *pids = NULL;
        bool was_frozen = false, froze = false;
        size_t n = 0;
        int r;

        if (sig == SIGKILL && cg->ops->kill_all) {
                r = cg->ops->kill_all(cg, NULL);
                if (r == 0)
                        return 0;
        }
        /* Freeze so that no process forks behind our back, signal, thaw
         * (always for SIGKILL: a frozen task does not die before). */
        if (cg->ops->is_frozen(cg, &was_frozen, NULL) == 0) {
                if (!was_frozen && cg->ops->freeze(cg, true, NULL) == 0)
                        froze = true;
        }
        r = berth_cgroup_pids(cg, &pids, &n, err);
        for (size_t i = 0; r == 0 && i < n; i++) {
                if (kill(pids[i], sig) < 0 && errno != ESRCH)
                        r = berth_fail_errno(err, "cgroup: kill %d", (int)pids[i]);
        }
        if (froze || (was_frozen && sig == SIGKILL)) {
                int r2 = cg->ops->freeze(cg, false, err);
                if (r == 0)
                        r = r2;
        }
        return r;
}

/* rmdir DIR and every sub-cgroup below it (deepest first). */
static int rmdir_tree(const char *dir, int depth, berth_error **err)
{
        cleanup_closedir DIR *d = opendir(dir);
        struct dirent *de;

        if (d == NULL)
                return errno == ENOENT ? 0 : berth_fail_errno(err, "cgroup: opendir `%s`", dir);
        if (depth > MAX_CGROUP_DEPTH)
                return berth_fail(err, ELOOP, "cgroup: `%s` nests too deep", dir);
        while ((de = readdir(d)) != NULL) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                cleanup_free char *sub = xasprintf("%s/%s", dir, de->d_name);
                int r = rmdir_tree(sub, depth + 1, err);
                if (r < 0)
                        return r;
        }
        /* Back off from 1ms to 64ms, about 2s in total. */
        long delay_ns = 1000000;
        for (int tries = 0;; tries++) {
                if (rmdir(dir) == 0 || errno == ENOENT)
                        return 0;
                if (errno != EBUSY || tries >= 40)
                        return berth_fail_errno(err, "cgroup: rmdir `%s`", dir);
                struct timespec ts = {0, delay_ns};
                (void)nanosleep(&ts, NULL);
                if (delay_ns < 64000000)
                        delay_ns *= 2;
        }
}

int berth_cgroup_destroy_if_empty(struct berth_cgroup *cg)
{
        if (cg->mode == BERTH_CGROUP_V2)
                return rmdir(cg->path) == 0 || errno == ENOENT ? 0 : -errno;
        for (size_t i = 0; i < cg->n_hier; i++)
                if (rmdir(cg->hier[i].dir) < 0 && errno != ENOENT)
                        return -errno;
        return 0;
}

int berth_cgroup_destroy(struct berth_cgroup *cg, berth_error **err)
{
        int ret = 0;

        if (cg->mode == BERTH_CGROUP_V2)
                return rmdir_tree(cg->path, 0, err);
        for (size_t i = 0; i < cg->n_hier; i++) {
                int r = rmdir_tree(cg->hier[i].dir, 0, err);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}

json_object *berth_cgroup_to_json(const struct berth_cgroup *cg)
{
        json_object *o = json_object_new_object();

        json_object_object_add(o, "mode",
                               json_object_new_string(cg->mode == BERTH_CGROUP_V2 ? "v2" : "v1"));
        json_object_object_add(o, "root", json_object_new_string(cg->root));
        json_object_object_add(o, "relpath", json_object_new_string(cg->relpath));
        if (cg->mode == BERTH_CGROUP_V2) {
                json_object_object_add(o, "path", json_object_new_string(cg->path));
        } else {
                json_object *a = json_object_new_array();
                for (size_t i = 0; i < cg->n_hier; i++) {
                        json_object *h = json_object_new_object();
                        json_object_object_add(h, "controllers",
                                               json_object_new_string(cg->hier[i].controllers));
                        json_object_object_add(h, "dir", json_object_new_string(cg->hier[i].dir));
                        json_object_array_add(a, h);
                }
                json_object_object_add(o, "hierarchies", a);
        }
        return o;
}

int berth_cgroup_from_json(json_object *saved, const char *root, struct berth_cgroup **ret,
                           berth_error **err)
{
        cleanup_cgroup struct berth_cgroup *cg = xmalloc0(sizeof(*cg));
        const char *mode = berth_json_str(saved, "mode");
        const char *sroot = berth_json_str(saved, "root");
        const char *rel = berth_json_str(saved, "relpath");

        if (mode == NULL || rel == NULL)
                return berth_fail(err, EINVAL, "cgroup: saved state lacks `mode` or `relpath`");
        cg->root = xstrdup(sroot ? sroot : root ? root : DEFAULT_ROOT);
        cg->relpath = xstrdup(rel);
        if (strcmp(mode, "v2") == 0) {
                const char *p = berth_json_str(saved, "path");
                if (p == NULL)
                        return berth_fail(err, EINVAL, "cgroup: saved state lacks `path`");
                cg->mode = BERTH_CGROUP_V2;
                cg->ops = &berth_cgroup_v2_ops;
                cg->path = xstrdup(p);
        } else if (strcmp(mode, "v1") == 0) {
                json_object *a = berth_json_get(saved, "hierarchies");
                size_t n =
                    a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
                cg->mode = BERTH_CGROUP_V1;
                cg->ops = &berth_cgroup_v1_ops;
                cg->hier = xcalloc(n ? n : 1, sizeof(*cg->hier));
                for (size_t i = 0; i < n; i++) {
                        json_object *h = json_object_array_get_idx(a, i);
                        const char *c = berth_json_str(h, "controllers");
                        const char *d = berth_json_str(h, "dir");
                        if (c == NULL || d == NULL)
                                return berth_fail(err, EINVAL,
                                                  "cgroup: saved hierarchy %zu is incomplete", i);
                        cg->hier[i].controllers = xstrdup(c);
                        cg->hier[i].dir = xstrdup(d);
                        cg->n_hier++;
                }
        } else {
                return berth_fail(err, EINVAL, "cgroup: unknown saved mode `%s`", mode);
        }
        *ret = steal_pointer(&cg);
        return 0;
}

int berth_cgroup_stats(struct berth_cgroup *cg, json_object **ret, berth_error **err)
{
        cleanup_json json_object *o = json_object_new_object();
        int r = cg->ops->stats(cg, o, err);
        if (r < 0)
                return r;
        *ret = steal_pointer(&o);
        return 0;
}
