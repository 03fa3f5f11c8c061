/* SPDX-License-Identifier: Apache-2.0 */
/* The `mounts` array: the option table and parsing, in the parent. */
#include "runtime/rootfs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "util/cleanup.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif

#define MAX_MOUNTS  4096
#define MAX_OPTIONS 256

enum opt_kind {
        OPT_SET,   /* set an MS_* flag */
        OPT_CLEAR, /* clear an MS_* flag */
        OPT_PROPAGATION,
        OPT_REC_SET, /* set a MOUNT_ATTR_* recursively */
        OPT_REC_CLR, /* clear a MOUNT_ATTR_* recursively */
        OPT_BIND,
        OPT_RBIND,
        OPT_TMPCOPYUP,
        OPT_IDMAP,
};

struct mount_option {
        const char *name;
        enum opt_kind kind;
        unsigned long value;
};

/* Sorted by name (bsearch). runc's and crun's names. */
static const struct mount_option options[] = {
    {"async", OPT_CLEAR, MS_SYNCHRONOUS},
    {"atime", OPT_CLEAR, MS_NOATIME},
    {"bind", OPT_BIND, MS_BIND},
    {"defaults", OPT_SET, 0},
    {"dev", OPT_CLEAR, MS_NODEV},
    {"diratime", OPT_CLEAR, MS_NODIRATIME},
    {"dirsync", OPT_SET, MS_DIRSYNC},
    {"exec", OPT_CLEAR, MS_NOEXEC},
    {"idmap", OPT_IDMAP, 0},
    {"iversion", OPT_SET, MS_I_VERSION},
    {"lazytime", OPT_SET, MS_LAZYTIME},
    {"loud", OPT_CLEAR, MS_SILENT},
    {"mand", OPT_SET, MS_MANDLOCK},
    {"noatime", OPT_SET, MS_NOATIME},
    {"nodev", OPT_SET, MS_NODEV},
    {"nodiratime", OPT_SET, MS_NODIRATIME},
    {"noexec", OPT_SET, MS_NOEXEC},
    {"noiversion", OPT_CLEAR, MS_I_VERSION},
    {"nolazytime", OPT_CLEAR, MS_LAZYTIME},
    {"nomand", OPT_CLEAR, MS_MANDLOCK},
    {"norelatime", OPT_CLEAR, MS_RELATIME},
    {"nostrictatime", OPT_CLEAR, MS_STRICTATIME},
    {"nosuid", OPT_SET, MS_NOSUID},
    {"nosymfollow", OPT_SET, MS_NOSYMFOLLOW},
    {"private", OPT_PROPAGATION, MS_PRIVATE},
    {"ratime", OPT_REC_CLR, MOUNT_ATTR_NOATIME},
    {"rbind", OPT_RBIND, MS_BIND | MS_REC},
    {"rdev", OPT_REC_CLR, MOUNT_ATTR_NODEV},
    {"rdiratime", OPT_REC_CLR, MOUNT_ATTR_NODIRATIME},
    {"relatime", OPT_SET, MS_RELATIME},
    {"remount", OPT_SET, MS_REMOUNT},
    {"rexec", OPT_REC_CLR, MOUNT_ATTR_NOEXEC},
    {"ridmap", OPT_IDMAP, 1},
    {"rnoatime", OPT_REC_SET, MOUNT_ATTR_NOATIME},
    {"rnodev", OPT_REC_SET, MOUNT_ATTR_NODEV},
    {"rnodiratime", OPT_REC_SET, MOUNT_ATTR_NODIRATIME},
    {"rnoexec", OPT_REC_SET, MOUNT_ATTR_NOEXEC},
    {"rnorelatime", OPT_REC_CLR, MOUNT_ATTR_RELATIME},
    {"rnostrictatime", OPT_REC_CLR, MOUNT_ATTR_STRICTATIME},
    {"rnosuid", OPT_REC_SET, MOUNT_ATTR_NOSUID},
    {"rnosymfollow", OPT_REC_SET, MOUNT_ATTR_NOSYMFOLLOW},
    {"ro", OPT_SET, MS_RDONLY},
    {"rprivate", OPT_PROPAGATION, MS_PRIVATE | MS_REC},
    {"rrelatime", OPT_REC_SET, MOUNT_ATTR_RELATIME},
    {"rro", OPT_REC_SET, MOUNT_ATTR_RDONLY},
    {"rrw", OPT_REC_CLR, MOUNT_ATTR_RDONLY},
    {"rshared", OPT_PROPAGATION, MS_SHARED | MS_REC},
    {"rslave", OPT_PROPAGATION, MS_SLAVE | MS_REC},
    {"rstrictatime", OPT_REC_SET, MOUNT_ATTR_STRICTATIME},
    {"rsuid", OPT_REC_CLR, MOUNT_ATTR_NOSUID},
    {"rsymfollow", OPT_REC_CLR, MOUNT_ATTR_NOSYMFOLLOW},
    {"runbindable", OPT_PROPAGATION, MS_UNBINDABLE | MS_REC},
    {"rw", OPT_CLEAR, MS_RDONLY},
    {"shared", OPT_PROPAGATION, MS_SHARED},
    {"silent", OPT_SET, MS_SILENT},
    {"slave", OPT_PROPAGATION, MS_SLAVE},
    {"strictatime", OPT_SET, MS_STRICTATIME},
    {"suid", OPT_CLEAR, MS_NOSUID},
    {"symfollow", OPT_CLEAR, MS_NOSYMFOLLOW},
    {"sync", OPT_SET, MS_SYNCHRONOUS},
    {"tmpcopyup", OPT_TMPCOPYUP, 0},
    {"unbindable", OPT_PROPAGATION, MS_UNBINDABLE},
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

/* The same names, for `features` (kept in step with the table above; the
 * unit test checks that they match). */
static const char *const option_names[] = {
    "async",         "atime",        "bind",
    "defaults",      "dev",          "diratime",
    "dirsync",       "exec",         "idmap",
    "iversion",      "lazytime",     "loud",
    "mand",          "noatime",      "nodev",
    "nodiratime",    "noexec",       "noiversion",
    "nolazytime",    "nomand",       "norelatime",
    "nostrictatime", "nosuid",       "nosymfollow",
    "private",       "ratime",       "rbind",
    "rdev",          "rdiratime",    "relatime",
    "remount",       "rexec",        "ridmap",
    "rnoatime",      "rnodev",       "rnodiratime",
    "rnoexec",       "rnorelatime",  "rnostrictatime",
    "rnosuid",       "rnosymfollow", "ro",
    "rprivate",      "rrelatime",    "rro",
    "rrw",           "rshared",      "rslave",
    "rstrictatime",  "rsuid",        "rsymfollow",
    "runbindable",   "rw",           "shared",
    "silent",        "slave",        "strictatime",
    "suid",          "symfollow",    "sync",
    "tmpcopyup",     "unbindable",
};

_Static_assert(sizeof(option_names) / sizeof(option_names[0]) == N_OPTIONS,
               "option_names and options must list the same names");

const char *const *berth_mount_option_names(size_t *n)
{
        *n = N_OPTIONS;
        return option_names;
}

static int option_cmp(const void *key, const void *elem)
{
        return strcmp(key, ((const struct mount_option *)elem)->name);
}

int berth_mount_option_apply(struct berth_mount_entry *e, const char *opt)
{
        const struct mount_option *o =
            bsearch(opt, options, N_OPTIONS, sizeof(options[0]), option_cmp);
        if (o == NULL)
                return 0;
        switch (o->kind) {
        case OPT_SET:
                e->flags |= o->value;
                e->clear_flags &= ~o->value;
                break;
        case OPT_CLEAR:
                e->flags &= ~o->value;
                e->clear_flags |= o->value;
                break;
        case OPT_PROPAGATION:
                e->propagation = o->value;
                break;
        case OPT_REC_SET:
                if (o->value == MOUNT_ATTR_RELATIME || (o->value & MOUNT_ATTR__ATIME)) {
                        /* One atime mode at a time. */
                        e->rec_attr_clr |= MOUNT_ATTR__ATIME;
                        e->rec_attr_set &= ~(uint64_t)MOUNT_ATTR__ATIME;
                } else {
                        e->rec_attr_clr &= ~(uint64_t)o->value;
                }
                e->rec_attr_set |= o->value;
                break;
        case OPT_REC_CLR:
                if (o->value & MOUNT_ATTR__ATIME) {
                        /* Back to the default, relatime. */
                        e->rec_attr_clr |= MOUNT_ATTR__ATIME;
                        e->rec_attr_set &= ~(uint64_t)MOUNT_ATTR__ATIME;
                } else {
                        e->rec_attr_clr |= o->value;
                        e->rec_attr_set &= ~(uint64_t)o->value;
                }
                break;
        case OPT_BIND:
                e->bind = true;
                break;
        case OPT_RBIND:
                e->bind = true;
                e->recursive = true;
                break;
        case OPT_TMPCOPYUP:
                e->tmpcopyup = true;
                break;
        case OPT_IDMAP:
                e->idmap = true;
                break;
        }
        return 1;
}

uint64_t berth_ms_to_mount_attr(unsigned long ms)
{
        uint64_t a = 0;
        if (ms & MS_RDONLY)
                a |= MOUNT_ATTR_RDONLY;
        if (ms & MS_NOSUID)
                a |= MOUNT_ATTR_NOSUID;
        if (ms & MS_NODEV)
                a |= MOUNT_ATTR_NODEV;
        if (ms & MS_NOEXEC)
                a |= MOUNT_ATTR_NOEXEC;
        if (ms & MS_NODIRATIME)
                a |= MOUNT_ATTR_NODIRATIME;
        if (ms & MS_NOSYMFOLLOW)
                a |= MOUNT_ATTR_NOSYMFOLLOW;
        if (ms & MS_NOATIME)
                a |= MOUNT_ATTR_NOATIME;
        else if (ms & MS_STRICTATIME)
                a |= MOUNT_ATTR_STRICTATIME;
        return a;
}

static void entry_free(struct berth_mount_entry *e)
{
        free(e->destination);
        free(e->type);
        free(e->source);
        free(e->data);
}

void berth_mounts_free(struct berth_mounts *m)
{
        if (m == NULL)
                return;
        for (size_t i = 0; i < m->n; i++)
                entry_free(&m->v[i]);
        free(m->v);
        free(m);
}

static void data_append(char **data, const char *opt)
{
        char *n = *data ? xasprintf("%s,%s", *data, opt) : xstrdup(opt);
        free(*data);
        *data = n;
}

static int parse_entry(json_object *jm, size_t i, struct berth_mount_entry *e, berth_error **err)
{
        const char *dest, *type, *source;
        json_object *opts;

        if (!json_object_is_type(jm, json_type_object))
                return berth_fail(err, EINVAL, "mounts[%zu]: not an object", i);
        dest = berth_json_str(jm, "destination");
        if (dest == NULL || *dest == '\0')
                return berth_fail(err, EINVAL, "mounts[%zu]: `destination` is required", i);
        if (dest[0] != '/')
                return berth_fail(err, EINVAL, "mounts[%zu]: destination `%s` is not absolute", i,
                                  dest);
        type = berth_json_str(jm, "type");
        source = berth_json_str(jm, "source");
        e->destination = xstrdup(dest);

        opts = berth_json_get(jm, "options");
        if (opts != NULL) {
                if (!json_object_is_type(opts, json_type_array))
                        return berth_fail(err, EINVAL, "mounts[%zu]: `options` is not an array", i);
                size_t n = json_object_array_length(opts);
                if (n > MAX_OPTIONS)
                        return berth_fail(err, E2BIG, "mounts[%zu]: more than %d options", i,
                                          MAX_OPTIONS);
                for (size_t k = 0; k < n; k++) {
                        json_object *jo = json_object_array_get_idx(opts, k);
                        const char *o = json_object_get_string(jo);
                        if (!json_object_is_type(jo, json_type_string) || *o == '\0')
                                return berth_fail(
                                    err, EINVAL, "mounts[%zu]: options[%zu] is not a string", i, k);
                        if (!berth_mount_option_apply(e, o))
                                data_append(&e->data, o);
                }
        }
        if (type != NULL && strcmp(type, "bind") == 0)
                e->bind = true;
        if (e->idmap)
                return berth_fail(err, ENOTSUP,
                                  "mounts[%zu]: idmapped mount on `%s` is not supported", i, dest);
        if (e->bind) {
                struct stat st;
                if (source == NULL || *source == '\0')
                        return berth_fail(err, EINVAL, "mounts[%zu]: a bind mount needs a `source`",
                                          i);
                if (stat(source, &st) < 0) {
                        if (errno == ENOENT)
                                return berth_fail(err, ENOENT,
                                                  "mounts[%zu]: source `%s` does not exist", i,
                                                  source);
                        return berth_fail_errno(err, "mounts[%zu]: source `%s`", i, source);
                }
                e->source_is_file = !S_ISDIR(st.st_mode);
                e->type = xstrdup("bind");
        } else {
                if (type == NULL || *type == '\0')
                        return berth_fail(err, EINVAL, "mounts[%zu]: `type` is required for `%s`",
                                          i, dest);
                if (e->flags & MS_REMOUNT)
                        return berth_fail(err, EINVAL,
                                          "mounts[%zu]: `remount` is not allowed on `%s`", i, dest);
                e->type = xstrdup(type);
        }
        if (e->tmpcopyup && strcmp(e->type, "tmpfs") != 0)
                return berth_fail(err, EINVAL, "mounts[%zu]: `tmpcopyup` needs a tmpfs on `%s`", i,
                                  dest);
        e->source = xstrdup(source ? source : e->type);
        return 0;
}

int berth_mounts_parse(json_object *config, struct berth_mounts **ret, berth_error **err)
{
        cleanup_mounts struct berth_mounts *m = xmalloc0(sizeof(*m));
        json_object *arr = berth_json_get(config, "mounts");
        int r;

        r = berth_rootfs_validate(config, err);
        if (r < 0)
                return r;
        if (arr != NULL) {
                if (!json_object_is_type(arr, json_type_array))
                        return berth_fail(err, EINVAL, "`mounts` is not an array");
                size_t n = json_object_array_length(arr);
                if (n > MAX_MOUNTS)
                        return berth_fail(err, E2BIG, "more than %d mounts", MAX_MOUNTS);
                m->v = xcalloc(n ? n : 1, sizeof(*m->v));
                for (size_t i = 0; i < n; i++) {
                        m->n = i + 1;
                        r = parse_entry(json_object_array_get_idx(arr, i), i, &m->v[i], err);
                        if (r < 0)
                                return r;
                }
        }
        *ret = steal_pointer(&m);
        return 0;
}

/* --- validation of the rest of what the set-up reads --- */

static bool has_namespace(json_object *config, const char *type)
{
        json_object *ns = berth_json_get(berth_json_get(config, "linux"), "namespaces");
        if (ns == NULL || !json_object_is_type(ns, json_type_array))
                return false;
        for (size_t i = 0; i < json_object_array_length(ns); i++) {
                const char *t = berth_json_str(json_object_array_get_idx(ns, i), "type");
                if (t != NULL && strcmp(t, type) == 0)
                        return true;
        }
        return false;
}

static const char *const ipc_sysctls[] = {
    "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
    "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
};

static int check_sysctl(json_object *config, const char *key, berth_error **err)
{
        bool ok = false;
        const char *ns = NULL;

        if (*key == '\0' || strstr(key, "..") != NULL || key[0] == '.' || key[0] == '/')
                return berth_fail(err, EINVAL, "sysctl `%s`: invalid name", key);
        for (size_t i = 0; i < sizeof(ipc_sysctls) / sizeof(ipc_sysctls[0]); i++)
                if (strcmp(key, ipc_sysctls[i]) == 0)
                        ns = "ipc";
        if (berth_str_has_prefix(key, "fs.mqueue.") || berth_str_has_prefix(key, "fs/mqueue/"))
                ns = "ipc";
        else if (berth_str_has_prefix(key, "net.") || berth_str_has_prefix(key, "net/"))
                ns = "network";
        else if (strcmp(key, "kernel.hostname") == 0 || strcmp(key, "kernel.domainname") == 0)
                ns = "uts";
        if (ns == NULL)
                return berth_fail(err, EINVAL,
                                  "sysctl `%s` is not namespaced: it would change the host; "
                                  "remove it from linux.sysctl",
                                  key);
        ok = has_namespace(config, ns);
        if (!ok)
                return berth_fail(err, EINVAL,
                                  "sysctl `%s` needs a new %s namespace: the container shares "
                                  "the host's",
                                  key, ns);
        return 0;
}

static int check_paths(json_object *lnx, const char *what, berth_error **err)
{
        json_object *a = berth_json_get(lnx, what);
        if (a == NULL)
                return 0;
        if (!json_object_is_type(a, json_type_array))
                return berth_fail(err, EINVAL, "linux.%s is not an array", what);
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *p = json_object_array_get_idx(a, i);
                if (!json_object_is_type(p, json_type_string) ||
                    json_object_get_string(p)[0] != '/')
                        return berth_fail(err, EINVAL, "linux.%s[%zu] `%s` is not an absolute path",
                                          what, i, json_object_get_string(p));
        }
        return 0;
}

int berth_rootfs_validate(json_object *config, berth_error **err)
{
        json_object *lnx = berth_json_get(config, "linux");
        json_object *sysctl = berth_json_get(lnx, "sysctl");
        json_object *devices = berth_json_get(lnx, "devices");
        const char *prop = berth_json_str(lnx, "rootfsPropagation");
        int r;

        if (prop != NULL) {
                struct berth_mount_entry e = {0};
                if (berth_mount_option_apply(&e, prop) != 1 || e.propagation == 0)
                        return berth_fail(err, EINVAL,
                                          "linux.rootfsPropagation `%s` is not one of shared, "
                                          "slave, private, unbindable (or r*)",
                                          prop);
        }
        if (sysctl != NULL) {
                if (!json_object_is_type(sysctl, json_type_object))
                        return berth_fail(err, EINVAL, "linux.sysctl is not an object");
                json_object_object_foreach(sysctl, key, val)
                {
                        if (!json_object_is_type(val, json_type_string))
                                return berth_fail(err, EINVAL, "sysctl `%s`: value is not a string",
                                                  key);
                        r = check_sysctl(config, key, err);
                        if (r < 0)
                                return r;
                }
        }
        if (devices != NULL) {
                if (!json_object_is_type(devices, json_type_array))
                        return berth_fail(err, EINVAL, "linux.devices is not an array");
                for (size_t i = 0; i < json_object_array_length(devices); i++) {
                        json_object *d = json_object_array_get_idx(devices, i);
                        const char *path = berth_json_str(d, "path");
                        const char *type = berth_json_str(d, "type");
                        if (path == NULL || path[0] != '/')
                                return berth_fail(err, EINVAL,
                                                  "linux.devices[%zu]: path `%s` is not absolute",
                                                  i, path ? path : "");
                        if (type == NULL || strlen(type) != 1 || strchr("cbup", type[0]) == NULL)
                                return berth_fail(err, EINVAL,
                                                  "linux.devices[%zu] `%s`: type `%s` is not one "
                                                  "of c, b, u, p",
                                                  i, path, type ? type : "");
                }
        }
        r = check_paths(lnx, "maskedPaths", err);
        if (r < 0)
                return r;
        return check_paths(lnx, "readonlyPaths", err);
}
