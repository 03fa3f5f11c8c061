/* SPDX-License-Identifier: Apache-2.0 */
/* config.json: loading, schema validation, Linux checks, `spec` example. */
#include "runtime/spec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/schema.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/xalloc.h"

#define WHAT "config.json"

/* Sections of other platforms' configs. */
static const char *const foreign_sections[] = {"windows", "solaris", "vm", "zos", "freebsd"};

static int check_version(json_object *spec, berth_error **err)
{
        const char *v = berth_json_str(spec, "ociVersion");
        char *end;
        unsigned long major;

        if (v == NULL)
                return berth_fail_invalid(err, WHAT ": missing required property `ociVersion`");
        errno = 0;
        major = strtoul(v, &end, 10);
        if (end == v || errno != 0 || (*end != '.' && *end != '\0'))
                return berth_fail_invalid(err,
                                          WHAT ": `ociVersion`: `%s` is not a version "
                                               "(expected MAJOR.MINOR.PATCH, e.g. `%s`)",
                                          v, "1.3.0");
        if (major != 1)
                return berth_fail_invalid(err,
                                          WHAT ": `ociVersion`: version `%s` is not supported: "
                                               "this runtime implements the OCI runtime spec "
                                               "1.x (up to 1.3.0)",
                                          v);
        return 0;
}

static int check_process(json_object *spec, bool for_create, berth_error **err)
{
        json_object *process = berth_json_get(spec, "process");
        json_object *args;
        const char *cwd;

        if (process == NULL) {
                if (for_create)
                        return berth_fail_invalid(err, WHAT
                                                  ": `process` is required to create a container");
                return 0;
        }
        args = berth_json_get(process, "args");
        if (args == NULL || json_object_array_length(args) == 0) {
                /* A Windows config may carry commandLine instead. */
                if (berth_json_get(process, "commandLine") == NULL ||
                    berth_json_get(spec, "windows") == NULL)
                        return berth_fail_invalid(err, WHAT
                                                  ": `process.args`: at least one argument (the "
                                                  "program to run) is required");
        }
        cwd = berth_json_str(process, "cwd");
        if (cwd != NULL && cwd[0] != '/' && berth_json_get(spec, "windows") == NULL)
                return berth_fail_invalid(err, WHAT ": `process.cwd`: `%s` is not an absolute path",
                                          cwd);
        return 0;
}

static bool has_namespace(json_object *namespaces, const char *type)
{
        size_t n = namespaces ? json_object_array_length(namespaces) : 0;
        for (size_t i = 0; i < n; i++) {
                const char *t = berth_json_str(json_object_array_get_idx(namespaces, i), "type");
                if (t != NULL && strcmp(t, type) == 0)
                        return true;
        }
        return false;
}

static int check_linux(json_object *spec, bool for_create, berth_error **err)
{
        json_object *linux_ = berth_json_get(spec, "linux");
        json_object *namespaces = berth_json_get(linux_, "namespaces");
        size_t n = namespaces ? json_object_array_length(namespaces) : 0;
        const char *hostname = berth_json_str(spec, "hostname");

        for (size_t i = 0; i < n; i++) {
                json_object *ns = json_object_array_get_idx(namespaces, i);
                const char *type = berth_json_str(ns, "type");
                const char *path = berth_json_str(ns, "path");
                struct stat st;

                for (size_t j = 0; j < i; j++) {
                        const char *other =
                            berth_json_str(json_object_array_get_idx(namespaces, j), "type");
                        if (type != NULL && other != NULL && strcmp(type, other) == 0)
                                return berth_fail_invalid(
                                    err,
                                    WHAT ": `linux.namespaces[%zu].type`: namespace `%s` "
                                         "is listed twice (also at [%zu])",
                                    i, type, j);
                }
                if (path != NULL && for_create) {
                        if (path[0] != '/')
                                return berth_fail_invalid(
                                    err,
                                    WHAT ": `linux.namespaces[%zu].path`: `%s` is not an "
                                         "absolute path",
                                    i, path);
                        if (stat(path, &st) < 0)
                                return berth_fail(err, errno,
                                                  WHAT ": `linux.namespaces[%zu].path`: "
                                                       "%s namespace `%s`",
                                                  i, type ? type : "", path);
                }
        }

        if (!has_namespace(namespaces, "user")) {
                static const char *const maps[] = {"uidMappings", "gidMappings"};
                for (size_t i = 0; i < 2; i++) {
                        json_object *m = berth_json_get(linux_, maps[i]);
                        if (m != NULL && json_object_array_length(m) > 0)
                                return berth_fail_invalid(
                                    err,
                                    WHAT ": `linux.%s`: id mappings need a user namespace "
                                         "(add {\"type\": \"user\"} to `linux.namespaces`)",
                                    maps[i]);
                }
        }

        if (for_create && linux_ != NULL && hostname != NULL && hostname[0] != '\0' &&
            !has_namespace(namespaces, "uts"))
                return berth_fail_invalid(err,
                                          WHAT ": `hostname`: setting the hostname `%s` needs a "
                                               "private UTS namespace (add {\"type\": \"uts\"} "
                                               "to `linux.namespaces`)",
                                          hostname);
        return 0;
}

static int check_platform(json_object *spec, berth_error **err)
{
        json_object *root = berth_json_get(spec, "root");

        if (berth_json_get(spec, "linux") == NULL) {
                for (size_t i = 0; i < sizeof(foreign_sections) / sizeof(foreign_sections[0]); i++)
                        if (berth_json_get(spec, foreign_sections[i]) != NULL)
                                return berth_fail_invalid(
                                    err,
                                    WHAT ": `%s`: this config is for %s and this is a Linux "
                                         "runtime (a Linux config has a `linux` section)",
                                    foreign_sections[i], foreign_sections[i]);
        }
        if (root == NULL)
                return berth_fail_invalid(err, WHAT ": `root` is required on Linux");
        if (berth_json_str(root, "path") == NULL || berth_json_str(root, "path")[0] == '\0')
                return berth_fail_invalid(err, WHAT ": `root.path` is required on Linux");
        return 0;
}

/* linux.rootfsPropagation: the schema lists private, shared, slave and
 * unbindable; runc and crun also take the recursive forms, and Docker writes
 * "rshared" / "rslave" itself. Validate those as their plain form. */
static int validate_schema(json_object *spec, berth_error **err)
{
        static const char *const recursive[] = {"rprivate", "rshared", "rslave", "runbindable"};
        json_object *lx = berth_json_get(spec, "linux");
        const char *prop = berth_json_str(lx, "rootfsPropagation");
        int r;

        for (size_t i = 0; prop && i < sizeof(recursive) / sizeof(recursive[0]); i++) {
                if (strcmp(prop, recursive[i]) != 0)
                        continue;
                json_object_object_add(lx, "rootfsPropagation", json_object_new_string(prop + 1));
                r = berth_schema_validate("config-schema.json", spec, WHAT, err);
                json_object_object_add(lx, "rootfsPropagation",
                                       json_object_new_string(recursive[i]));
                return r;
        }
        return berth_schema_validate("config-schema.json", spec, WHAT, err);
}

int berth_spec_validate(json_object *spec, bool for_create, berth_error **err)
{
        int r = validate_schema(spec, err);
        if (r < 0)
                return r;
        if (for_create) {
                r = check_version(spec, err);
                if (r < 0)
                        return r;
                r = check_platform(spec, err);
                if (r < 0)
                        return r;
        }
        r = check_process(spec, for_create, err);
        if (r < 0)
                return r;
        return check_linux(spec, for_create, err);
}

int berth_spec_load(const char *bundle, json_object **ret, berth_error **err)
{
        cleanup_free char *path = xasprintf("%s/config.json", bundle);
        cleanup_free char *data = NULL;
        cleanup_free char *rootfs = NULL;
        cleanup_json json_object *spec = NULL;
        const char *root_path;
        struct stat st;
        size_t len;
        int r;

        r = berth_read_file(path, &data, &len, err);
        if (r < 0)
                return berth_error_prefix(err, r, "bundle `%s`", bundle);
        r = berth_json_parse(data, len, WHAT, &spec, err);
        if (r < 0)
                return r;
        r = berth_spec_validate(spec, true, err);
        if (r < 0)
                return r;

        root_path = berth_json_str(berth_json_get(spec, "root"), "path");
        if (root_path[0] == '/')
                rootfs = xstrdup(root_path);
        else
                rootfs = xasprintf("%s/%s", bundle, root_path);
        if (stat(rootfs, &st) < 0)
                return berth_fail(err, errno, WHAT ": `root.path`: root file system `%s`", rootfs);
        if (!S_ISDIR(st.st_mode))
                return berth_fail(err, ENOTDIR, WHAT ": `root.path`: root file system `%s`",
                                  rootfs);
        *ret = steal_pointer(&spec);
        return 0;
}

/* ---- the example -------------------------------------------------------- */

static json_object *strv_json(const char *const *v, size_t n)
{
        json_object *a = json_object_new_array_ext((int)n);
        for (size_t i = 0; i < n; i++)
                json_object_array_add(a, json_object_new_string(v[i]));
        return a;
}

#define STRV_JSON(...)                                                                             \
        strv_json((const char *const[]){__VA_ARGS__},                                              \
                  sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static json_object *mount_json(const char *dest, const char *type, const char *source,
                               json_object *options)
{
        json_object *m = json_object_new_object();
        json_object_object_add(m, "destination", json_object_new_string(dest));
        json_object_object_add(m, "type", json_object_new_string(type));
        json_object_object_add(m, "source", json_object_new_string(source));
        if (options != NULL)
                json_object_object_add(m, "options", options);
        return m;
}

static json_object *id_mapping(unsigned long host_id)
{
        json_object *arr = json_object_new_array();
        json_object *m = json_object_new_object();
        json_object_object_add(m, "containerID", json_object_new_int64(0));
        json_object_object_add(m, "hostID", json_object_new_int64((int64_t)host_id));
        json_object_object_add(m, "size", json_object_new_int64(1));
        json_object_array_add(arr, m);
        return arr;
}

static json_object *caps_json(void)
{
        static const char *const sets[] = {"bounding", "effective", "permitted"};
        json_object *caps = json_object_new_object();
        for (size_t i = 0; i < 3; i++)
                json_object_object_add(
                    caps, sets[i],
                    STRV_JSON("CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"));
        return caps;
}

json_object *berth_spec_example(bool rootless)
{
        json_object *spec = json_object_new_object();
        json_object *process = json_object_new_object();
        json_object *user = json_object_new_object();
        json_object *rlimits = json_object_new_array();
        json_object *rlimit = json_object_new_object();
        json_object *root = json_object_new_object();
        json_object *mounts = json_object_new_array();
        json_object *linux_ = json_object_new_object();
        json_object *namespaces = json_object_new_array();
        static const char *const ns_root[] = {"pid", "network", "ipc", "uts", "mount", "cgroup"};
        static const char *const ns_rootless[] = {"pid", "ipc", "uts", "mount", "cgroup", "user"};
        const char *const *ns = rootless ? ns_rootless : ns_root;

        json_object_object_add(spec, "ociVersion", json_object_new_string("1.3.0"));

        json_object_object_add(process, "terminal", json_object_new_boolean(1));
        json_object_object_add(user, "uid", json_object_new_int64(0));
        json_object_object_add(user, "gid", json_object_new_int64(0));
        json_object_object_add(process, "user", user);
        json_object_object_add(process, "args", STRV_JSON("sh"));
        json_object_object_add(
            process, "env",
            STRV_JSON("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                      "TERM=xterm"));
        json_object_object_add(process, "cwd", json_object_new_string("/"));
        json_object_object_add(process, "capabilities", caps_json());
        json_object_object_add(rlimit, "type", json_object_new_string("RLIMIT_NOFILE"));
        json_object_object_add(rlimit, "hard", json_object_new_int64(1024));
        json_object_object_add(rlimit, "soft", json_object_new_int64(1024));
        json_object_array_add(rlimits, rlimit);
        json_object_object_add(process, "rlimits", rlimits);
        json_object_object_add(process, "noNewPrivileges", json_object_new_boolean(1));
        json_object_object_add(spec, "process", process);

        json_object_object_add(root, "path", json_object_new_string("rootfs"));
        json_object_object_add(root, "readonly", json_object_new_boolean(1));
        json_object_object_add(spec, "root", root);
        json_object_object_add(spec, "hostname", json_object_new_string("berth"));

        json_object_array_add(mounts, mount_json("/proc", "proc", "proc", NULL));
        json_object_array_add(
            mounts, mount_json("/dev", "tmpfs", "tmpfs",
                               STRV_JSON("nosuid", "strictatime", "mode=755", "size=65536k")));
        json_object_array_add(
            mounts, mount_json("/dev/pts", "devpts", "devpts",
                               rootless ? STRV_JSON("nosuid", "noexec", "newinstance",
                                                    "ptmxmode=0666", "mode=0620")
                                        : STRV_JSON("nosuid", "noexec", "newinstance",
                                                    "ptmxmode=0666", "mode=0620", "gid=5")));
        json_object_array_add(
            mounts, mount_json("/dev/shm", "tmpfs", "shm",
                               STRV_JSON("nosuid", "noexec", "nodev", "mode=1777", "size=65536k")));
        json_object_array_add(mounts, mount_json("/dev/mqueue", "mqueue", "mqueue",
                                                 STRV_JSON("nosuid", "noexec", "nodev")));
        if (rootless)
                json_object_array_add(
                    mounts, mount_json("/sys", "none", "/sys",
                                       STRV_JSON("rbind", "nosuid", "noexec", "nodev", "ro")));
        else
                json_object_array_add(mounts,
                                      mount_json("/sys", "sysfs", "sysfs",
                                                 STRV_JSON("nosuid", "noexec", "nodev", "ro")));
        json_object_array_add(mounts,
                              mount_json("/sys/fs/cgroup", "cgroup", "cgroup",
                                         STRV_JSON("nosuid", "noexec", "nodev", "relatime", "ro")));
        json_object_object_add(spec, "mounts", mounts);

        if (rootless) {
                json_object_object_add(linux_, "uidMappings", id_mapping(geteuid()));
                json_object_object_add(linux_, "gidMappings", id_mapping(getegid()));
        } else {
                json_object *resources = json_object_new_object();
                json_object *devices = json_object_new_array();
                json_object *deny = json_object_new_object();
                json_object_object_add(deny, "allow", json_object_new_boolean(0));
                json_object_object_add(deny, "access", json_object_new_string("rwm"));
                json_object_array_add(devices, deny);
                json_object_object_add(resources, "devices", devices);
                json_object_object_add(linux_, "resources", resources);
        }
        for (size_t i = 0; i < 6; i++) {
                json_object *one = json_object_new_object();
                json_object_object_add(one, "type", json_object_new_string(ns[i]));
                json_object_array_add(namespaces, one);
        }
        json_object_object_add(linux_, "namespaces", namespaces);
        json_object_object_add(linux_, "maskedPaths",
                               STRV_JSON("/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                                         "/proc/latency_stats", "/proc/timer_list",
                                         "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                                         "/sys/devices/virtual/powercap", "/proc/scsi"));
        json_object_object_add(
            linux_, "readonlyPaths",
            STRV_JSON("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"));
        json_object_object_add(spec, "linux", linux_);
        return spec;
}
