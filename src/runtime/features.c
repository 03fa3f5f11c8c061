/* SPDX-License-Identifier: Apache-2.0 */
/* `features` (features-schema.json) and `spec`. */
#include <string.h>

#include "runtime/rootfs.h"
#include "runtime/runtime.h"
#include "runtime/schema.h"
#include "runtime/security.h"
#include "runtime/spec.h"
#include "util/jsonutil.h"

static json_object *str_array(const char *const *v, size_t n)
{
        json_object *a = json_object_new_array();
        for (size_t i = 0; i < n; i++)
                if (v[i])
                        json_object_array_add(a, json_object_new_string(v[i]));
        return a;
}

static json_object *enabled(bool on)
{
        json_object *o = json_object_new_object();
        json_object_object_add(o, "enabled", json_object_new_boolean(on));
        return o;
}

json_object *berth_runtime_features(void)
{
        static const char *const hooks[] = {"prestart",       "createRuntime", "createContainer",
                                            "startContainer", "poststart",     "poststop"};
        static const char *const namespaces[] = {"cgroup", "ipc",  "mount", "network",
                                                 "pid",    "time", "user",  "uts"};
        json_object *f = json_object_new_object();
        json_object *lx = json_object_new_object();
        json_object *cg = json_object_new_object();
        json_object *sc = json_object_new_object();
        json_object *ann = json_object_new_object();
        json_object *mext = json_object_new_object();
        size_t n;
        const char *const *v;

        json_object_object_add(f, "ociVersionMin", json_object_new_string("1.0.0"));
        json_object_object_add(f, "ociVersionMax", json_object_new_string("1.3.0"));
        json_object_object_add(f, "hooks", str_array(hooks, sizeof(hooks) / sizeof(hooks[0])));
        v = berth_mount_option_names(&n);
        json_object_object_add(f, "mountOptions", str_array(v, n));

        json_object_object_add(lx, "namespaces",
                               str_array(namespaces, sizeof(namespaces) / sizeof(namespaces[0])));
        v = berth_cap_names(&n);
        json_object_object_add(lx, "capabilities", str_array(v, n));
        json_object_object_add(cg, "v1", json_object_new_boolean(true));
        json_object_object_add(cg, "v2", json_object_new_boolean(true));
        json_object_object_add(cg, "systemd", json_object_new_boolean(false));
        json_object_object_add(cg, "systemdUser", json_object_new_boolean(false));
        json_object_object_add(cg, "rdma", json_object_new_boolean(false));
        json_object_object_add(lx, "cgroup", cg);
        json_object_object_add(sc, "enabled", json_object_new_boolean(true));
        v = berth_seccomp_action_names(&n);
        json_object_object_add(sc, "actions", str_array(v, n));
        v = berth_seccomp_operator_names(&n);
        json_object_object_add(sc, "operators", str_array(v, n));
        v = berth_seccomp_arch_names(&n);
        json_object_object_add(sc, "archs", str_array(v, n));
        v = berth_seccomp_flag_names(&n);
        json_object_object_add(sc, "knownFlags", str_array(v, n));
        v = berth_seccomp_supported_flag_names(&n);
        json_object_object_add(sc, "supportedFlags", str_array(v, n));
        json_object_object_add(lx, "seccomp", sc);
        /* No LSM on the hosts we run on: labels are accepted and ignored. */
        json_object_object_add(lx, "apparmor", enabled(false));
        json_object_object_add(lx, "selinux", enabled(false));
        json_object_object_add(lx, "intelRdt", enabled(false));
        json_object_object_add(mext, "idmap", enabled(true));
        json_object_object_add(lx, "mountExtensions", mext);
        json_object_object_add(f, "linux", lx);
        json_object_object_add(ann, "org.opencontainers.runtime-spec.features.implementation",
                               json_object_new_string("berth-oci"));
        json_object_object_add(f, "annotations", ann);
        return f;
}

json_object *berth_runtime_spec_example(bool rootless)
{
        return berth_spec_example(rootless);
}

int berth_runtime_validate_config(json_object *config, berth_error **err)
{
        return berth_spec_validate(config, true, err);
}
