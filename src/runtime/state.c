/* SPDX-License-Identifier: Apache-2.0 */
/* Container state on disk: STATE_ROOT/<id>/state.json, written atomically. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/cgroup.h"
#include "runtime/lifecycle.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/xalloc.h"

#define BERTH_OCI_VERSION_STR "1.3.0"

const char *berth_status_name(enum berth_status s)
{
        switch (s) {
        case BERTH_STATUS_CREATING:
                return "creating";
        case BERTH_STATUS_CREATED:
                return "created";
        case BERTH_STATUS_RUNNING:
                return "running";
        case BERTH_STATUS_PAUSED:
                return "paused";
        case BERTH_STATUS_STOPPED:
                return "stopped";
        }
        return "unknown";
}

int berth_id_check(const char *id, berth_error **err)
{
        size_t n = id ? strlen(id) : 0;

        if (n == 0)
                return berth_fail(err, EINVAL, "container id is empty");
        if (n > 1024)
                return berth_fail(err, EINVAL, "container id `%.32s...` is too long", id);
        if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
                return berth_fail(err, EINVAL, "invalid container id `%s`", id);
        for (size_t i = 0; i < n; i++) {
                char ch = id[i];
                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.' || ch == '+'))
                        return berth_fail(err, EINVAL,
                                          "invalid container id `%s`: use letters, digits, "
                                          "`_`, `-`, `+` and `.`",
                                          id);
        }
        return 0;
}

char *berth_state_dir(const struct berth_runtime *rt, const char *id)
{
        return xasprintf("%s/%s", rt->state_root ? rt->state_root : BERTH_OCI_DEFAULT_ROOT, id);
}

uint64_t berth_pid_start_time(pid_t pid)
{
        char path[64], buf[1024];
        cleanup_close int fd = -1;
        ssize_t n;
        char *p;
        unsigned long long start = 0;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        n = berth_read_all(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        /* The command name may hold spaces and parentheses: skip past the last ')'. */
        p = strrchr(buf, ')');
        if (p == NULL)
                return 0;
        p++;
        /* Field 3 (state) is the first after ')'; starttime is field 22. */
        for (int field = 3; field < 22 && p; field++) {
                p = strchr(p + 1, ' ');
        }
        if (p == NULL || sscanf(p, " %llu", &start) != 1)
                return 0;
        /* A zombie still has its start time, but is not running. */
        return start;
}

static bool pid_is_zombie(pid_t pid)
{
        char path[64], buf[512];
        cleanup_close int fd = -1;
        ssize_t n;
        char *p;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return true;
        n = berth_read_all(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return true;
        buf[n] = '\0';
        p = strrchr(buf, ')');
        return p == NULL || p[1] == '\0' || p[2] == 'Z' || p[2] == 'X';
}

int berth_pidfd_checked(pid_t pid, uint64_t start)
{
        int fd;

        if (pid <= 0)
                return -1;
        fd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (fd < 0)
                return -1;
        /* The pidfd pins the process: check it is still the one we started. */
        if (berth_pid_start_time(pid) != start) {
                close(fd);
                return -1;
        }
        return fd;
}

static char *str_or_null(json_object *o, const char *key)
{
        const char *s = berth_json_str(o, key);
        return s ? xstrdup(s) : NULL;
}

int berth_state_load(const struct berth_runtime *rt, const char *id, struct berth_state **ret,
                     berth_error **err)
{
        cleanup_json json_object *o = NULL;
        cleanup_free char *dir = NULL;
        cleanup_free char *path = NULL;
        struct berth_state *st;
        int r;

        r = berth_id_check(id, err);
        if (r < 0)
                return r;
        dir = berth_state_dir(rt, id);
        path = xasprintf("%s/state.json", dir);
        if (access(path, F_OK) < 0) {
                if (errno == ENOENT)
                        return berth_fail(err, ENOENT, "container `%s` does not exist", id);
                return berth_fail_errno(err, "access `%s`", path);
        }
        r = berth_json_parse_file(path, &o, err);
        if (r < 0)
                return r;
        st = xmalloc0(sizeof(*st));
        st->id = xstrdup(id);
        st->dir = steal_pointer(&dir);
        st->pid = (pid_t)berth_json_int(o, "pid", 0);
        st->pid_start = (uint64_t)berth_json_int(o, "pid_start", 0);
        st->bundle = str_or_null(o, "bundle");
        st->rootfs = str_or_null(o, "rootfs");
        st->created = str_or_null(o, "created");
        st->owner = str_or_null(o, "owner");
        st->started = berth_json_bool(o, "started", false);
        st->config = berth_json_get(o, "config");
        if (st->config)
                json_object_get(st->config);
        st->cgroup = berth_json_get(o, "cgroup");
        if (st->cgroup)
                json_object_get(st->cgroup);
        *ret = st;
        return 0;
}

int berth_state_save(const struct berth_state *st, berth_error **err)
{
        cleanup_json json_object *o = json_object_new_object();
        cleanup_free char *path = xasprintf("%s/state.json", st->dir);

        json_object_object_add(o, "id", json_object_new_string(st->id));
        json_object_object_add(o, "pid", json_object_new_int(st->pid));
        json_object_object_add(o, "pid_start", json_object_new_int64((int64_t)st->pid_start));
        json_object_object_add(o, "bundle", json_object_new_string(st->bundle ? st->bundle : ""));
        json_object_object_add(o, "rootfs", json_object_new_string(st->rootfs ? st->rootfs : ""));
        json_object_object_add(o, "created",
                               json_object_new_string(st->created ? st->created : ""));
        json_object_object_add(o, "owner", json_object_new_string(st->owner ? st->owner : ""));
        json_object_object_add(o, "started", json_object_new_boolean(st->started));
        if (st->config)
                json_object_object_add(o, "config", json_object_get(st->config));
        if (st->cgroup)
                json_object_object_add(o, "cgroup", json_object_get(st->cgroup));
        /* Under /run: atomic (rename) but not fsync'd, it dies with the boot. */
        return berth_json_write_file_replace(path, o, err);
}

enum berth_status berth_state_status(const struct berth_state *st)
{
        if (st->pid <= 0)
                return BERTH_STATUS_STOPPED;
        if (berth_pid_start_time(st->pid) != st->pid_start || pid_is_zombie(st->pid))
                return BERTH_STATUS_STOPPED;
        if (!st->started)
                return BERTH_STATUS_CREATED;
        if (st->cgroup) {
                cleanup_cgroup struct berth_cgroup *cg = NULL;
                bool frozen = false;
                if (berth_cgroup_from_json(st->cgroup, NULL, &cg, NULL) == 0 &&
                    berth_cgroup_is_frozen(cg, &frozen, NULL) == 0 && frozen)
                        return BERTH_STATUS_PAUSED;
        }
        return BERTH_STATUS_RUNNING;
}

json_object *berth_state_to_oci(const struct berth_state *st, enum berth_status status)
{
        json_object *o = json_object_new_object();
        json_object *ann = st->config ? berth_json_get(st->config, "annotations") : NULL;

        json_object_object_add(o, "ociVersion", json_object_new_string(BERTH_OCI_VERSION_STR));
        json_object_object_add(o, "id", json_object_new_string(st->id));
        json_object_object_add(o, "pid",
                               json_object_new_int(status == BERTH_STATUS_STOPPED ? 0 : st->pid));
        json_object_object_add(o, "status", json_object_new_string(berth_status_name(status)));
        json_object_object_add(o, "bundle", json_object_new_string(st->bundle ? st->bundle : ""));
        json_object_object_add(o, "rootfs", json_object_new_string(st->rootfs ? st->rootfs : ""));
        json_object_object_add(o, "created",
                               json_object_new_string(st->created ? st->created : ""));
        json_object_object_add(o, "owner", json_object_new_string(st->owner ? st->owner : ""));
        if (ann)
                json_object_object_add(o, "annotations", json_object_get(ann));
        return o;
}

void berth_state_free(struct berth_state *st)
{
        if (st == NULL)
                return;
        free(st->id);
        free(st->dir);
        free(st->bundle);
        free(st->rootfs);
        free(st->created);
        free(st->owner);
        if (st->config)
                json_object_put(st->config);
        if (st->cgroup)
                json_object_put(st->cgroup);
        free(st);
}
