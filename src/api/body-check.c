/* SPDX-License-Identifier: Apache-2.0 */
/* Type checks of request bodies (see body-check.h). */
#include <stdbool.h>
#include <string.h>

#include "api/body-check.h"
#include "util/xalloc.h"

enum {
        T_STR = 1 << 0,
        T_BOOL = 1 << 1,
        T_INT = 1 << 2,
        T_OBJ = 1 << 3,
        T_ARR = 1 << 4,
        T_STRV = 1 << 5, /* an array of strings */
};

struct field {
        const char *name;
        unsigned types;
};

static const struct field container_fields[] = {
    {"Hostname", T_STR},         {"Domainname", T_STR},    {"User", T_STR},
    {"AttachStdin", T_BOOL},     {"AttachStdout", T_BOOL}, {"AttachStderr", T_BOOL},
    {"ExposedPorts", T_OBJ},     {"Tty", T_BOOL},          {"OpenStdin", T_BOOL},
    {"StdinOnce", T_BOOL},       {"Env", T_STRV},          {"Cmd", T_STRV | T_STR},
    {"Healthcheck", T_OBJ},      {"ArgsEscaped", T_BOOL},  {"Image", T_STR},
    {"Volumes", T_OBJ},          {"WorkingDir", T_STR},    {"Entrypoint", T_STRV | T_STR},
    {"NetworkDisabled", T_BOOL}, {"MacAddress", T_STR},    {"OnBuild", T_STRV},
    {"Labels", T_OBJ},           {"StopSignal", T_STR},    {"StopTimeout", T_INT},
    {"Shell", T_STRV},           {"HostConfig", T_OBJ},    {"NetworkingConfig", T_OBJ},
};

static const struct field host_fields[] = {
    {"Binds", T_STRV},
    {"Memory", T_INT},
    {"MemorySwap", T_INT},
    {"MemoryReservation", T_INT},
    {"MemorySwappiness", T_INT},
    {"NanoCpus", T_INT},
    {"CpuShares", T_INT},
    {"CpuPeriod", T_INT},
    {"CpuQuota", T_INT},
    {"CpusetCpus", T_STR},
    {"CpusetMems", T_STR},
    {"PidsLimit", T_INT},
    {"CapAdd", T_STRV},
    {"CapDrop", T_STRV},
    {"SecurityOpt", T_STRV},
    {"Privileged", T_BOOL},
    {"ReadonlyRootfs", T_BOOL},
    {"Tmpfs", T_OBJ},
    {"Ulimits", T_ARR},
    {"AutoRemove", T_BOOL},
    {"RestartPolicy", T_OBJ},
    {"Init", T_BOOL},
    {"GroupAdd", T_STRV},
    {"LogConfig", T_OBJ},
    {"PortBindings", T_OBJ},
    {"ConsoleSize", T_ARR},
    {"NetworkMode", T_STR},
    {"OomKillDisable", T_BOOL},
    {"Mounts", T_ARR},
    {"Devices", T_ARR},
    {"Dns", T_STRV},
    {"ExtraHosts", T_STRV},
    {"ShmSize", T_INT},
    {"Sysctls", T_OBJ},
    {"IpcMode", T_STR},
    {"PidMode", T_STR},
    {"UTSMode", T_STR},
    {"UsernsMode", T_STR},
    {"Runtime", T_STR},
    {"VolumesFrom", T_STRV},
};

static const struct field exec_fields[] = {
    {"AttachStdin", T_BOOL}, {"AttachStdout", T_BOOL}, {"AttachStderr", T_BOOL},
    {"DetachKeys", T_STR},   {"Tty", T_BOOL},          {"Env", T_STRV},
    {"Cmd", T_STRV},         {"Privileged", T_BOOL},   {"User", T_STR},
    {"WorkingDir", T_STR},   {"ConsoleSize", T_ARR},   {"Detach", T_BOOL},
};

static const struct field exec_start_fields[] = {
    {"Detach", T_BOOL},
    {"Tty", T_BOOL},
    {"ConsoleSize", T_ARR},
};

static const char *type_name(json_object *v)
{
        switch (json_object_get_type(v)) {
        case json_type_null:
                return "null";
        case json_type_boolean:
                return "bool";
        case json_type_double:
        case json_type_int:
                return "number";
        case json_type_object:
                return "object";
        case json_type_array:
                return "array";
        case json_type_string:
                return "string";
        }
        return "value";
}

static const char *want_name(unsigned t)
{
        if (t & T_STRV)
                return (t & T_STR) ? "a string or an array of strings" : "an array of strings";
        if (t & T_STR)
                return "a string";
        if (t & T_BOOL)
                return "a boolean";
        if (t & T_INT)
                return "an integer";
        if (t & T_OBJ)
                return "an object";
        return "an array";
}

static bool type_ok(json_object *v, unsigned t)
{
        switch (json_object_get_type(v)) {
        case json_type_null:
                return true;
        case json_type_boolean:
                return t & T_BOOL;
        case json_type_int:
                return t & T_INT;
        case json_type_double:
                return false;
        case json_type_object:
                return t & T_OBJ;
        case json_type_string:
                return t & T_STR;
        case json_type_array:
                if (t & T_ARR)
                        return true;
                if (!(t & T_STRV))
                        return false;
                for (size_t i = 0; i < json_object_array_length(v); i++)
                        if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string))
                                return false;
                return true;
        }
        return false;
}

static char *check(json_object *body, const char *what, const struct field *f, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                json_object *v;
                if (!json_object_object_get_ex(body, f[i].name, &v))
                        continue;
                if (!type_ok(v, f[i].types))
                        return xasprintf("invalid JSON: %s.%s must be %s, not %s", what, f[i].name,
                                         want_name(f[i].types), type_name(v));
        }
        return NULL;
}

#define CHECK(body, what, table) check(body, what, table, sizeof(table) / sizeof(table[0]))

char *api_check_host_config(json_object *body)
{
        char *why = CHECK(body, "HostConfig", host_fields);
        json_object *rp;
        if (why == NULL && json_object_object_get_ex(body, "RestartPolicy", &rp) &&
            json_object_is_type(rp, json_type_object)) {
                static const struct field rpf[] = {{"Name", T_STR}, {"MaximumRetryCount", T_INT}};
                why = CHECK(rp, "HostConfig.RestartPolicy", rpf);
        }
        return why;
}

char *api_check_container_config(json_object *body)
{
        char *why = CHECK(body, "ContainerConfig", container_fields);
        json_object *hc;
        if (why == NULL && json_object_object_get_ex(body, "HostConfig", &hc) &&
            json_object_is_type(hc, json_type_object))
                why = api_check_host_config(hc);
        return why;
}

char *api_check_exec_config(json_object *body)
{
        return CHECK(body, "ExecConfig", exec_fields);
}

char *api_check_exec_start(json_object *body)
{
        return CHECK(body, "ExecStartConfig", exec_start_fields);
}
