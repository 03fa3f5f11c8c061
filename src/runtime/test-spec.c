/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of the JSON Schema validator and of config.json loading. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/schema.h"
#include "runtime/spec.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define SPEC_DIR BERTH_SPECS_DIR "/oci-runtime-spec"

static json_object *parse(const char *text)
{
        json_object *o = NULL;
        cleanup_error berth_error *err = NULL;
        if (berth_json_parse(text, strlen(text), "test document", &o, &err) < 0) {
                print_error("%s\n", err->msg);
                fail();
        }
        return o;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.json file names in DIR, sorted, NULL-terminated. */
static char **list_json(const char *dir)
{
        cleanup_closedir DIR *d = opendir(dir);
        char **v = xcalloc(128, sizeof(char *));
        size_t n = 0;
        struct dirent *de;

        if (d == NULL) {
                print_error("opendir %s: %s\n", dir, strerror(errno));
                fail();
        }
        while ((de = readdir(d)) != NULL)
                if (berth_str_has_suffix(de->d_name, ".json") && n < 127)
                        v[n++] = xstrdup(de->d_name);
        qsort(v, n, sizeof(char *), cmp_str);
        return v;
}

/* Validate with the config schema, or the semantic checks too (KIND
 * "config"), and return the error message (NULL when valid). */
static char *check_doc(const char *kind, json_object *doc)
{
        cleanup_error berth_error *err = NULL;
        int r;
        if (strcmp(kind, "config") == 0) {
                r = berth_spec_validate(doc, false, &err);
        } else {
                cleanup_free char *schema = xasprintf("%s-schema.json", kind);
                r = berth_schema_validate(schema, doc, kind, &err);
        }
        if (r == 0)
                return NULL;
        assert_non_null(err);
        assert_int_equal(r, -err->status);
        return xstrdup(err->msg);
}

/* Every good document of the runtime-spec test suite validates. */
static void test_good_documents(void **state)
{
        static const char *const kinds[] = {"config", "state", "features"};
        for (size_t k = 0; k < 3; k++) {
                cleanup_free char *dir = xasprintf(SPEC_DIR "/test/%s/good", kinds[k]);
                cleanup_strv char **files = list_json(dir);
                assert_non_null(files[0]);
                for (char **f = files; *f; f++) {
                        cleanup_free char *path = xasprintf("%s/%s", dir, *f);
                        cleanup_json json_object *doc = NULL;
                        cleanup_error berth_error *err = NULL;
                        cleanup_free char *msg = NULL;
                        assert_int_equal(berth_json_parse_file(path, &doc, &err), 0);
                        msg = check_doc(kinds[k], doc);
                        if (msg != NULL) {
                                print_error("%s: %s\n", path, msg);
                                fail();
                        }
                }
        }
}

/* What the bad documents of the test suite must be refused with. A bad
 * document added to the suite must be added here too. */
static const struct {
        const char *file;
        const char *message;
} bad_expect[] = {
    {"config/bad/freebsd-vnet-disable.json",
     "config.json: `freebsd.jail.vnet`: \"disable\" is not one of \"new\", \"inherit\""},
    {"config/bad/invalid-json.json", "line 1, column 2"},
    {"config/bad/linux-hugepage.json",
     "config.json: `linux.resources.hugepageLimits[0].pageSize`: \"64kB\" does not match the "
     "pattern `^[1-9][0-9]*[KMG]B$`"},
    {"config/bad/linux-netdevice.json",
     "config.json: `linux.netDevices.eth0.name`: 23 is not of type string"},
    {"config/bad/linux-rdma.json",
     "config.json: `linux.resources.rdma.mlx5_1.hcaHandles`: \"not a uint32\" is not of type "
     "integer"},
    {"features/bad/missing-ociVersionMax.json",
     "features: missing required property `ociVersionMax`"},
    {"state/bad/invalid-json.json", "line 1, column 2"},
};

static void test_bad_documents(void **state)
{
        static const char *const kinds[] = {"config", "state", "features"};
        size_t seen = 0;
        for (size_t k = 0; k < 3; k++) {
                cleanup_free char *dir = xasprintf(SPEC_DIR "/test/%s/bad", kinds[k]);
                cleanup_strv char **files = list_json(dir);
                for (char **f = files; *f; f++) {
                        cleanup_free char *rel = xasprintf("%s/bad/%s", kinds[k], *f);
                        cleanup_free char *path = xasprintf(SPEC_DIR "/test/%s", rel);
                        cleanup_free char *data = NULL;
                        cleanup_json json_object *doc = NULL;
                        cleanup_error berth_error *err = NULL;
                        cleanup_free char *msg = NULL;
                        const char *want = NULL;
                        size_t len;

                        for (size_t i = 0; i < sizeof(bad_expect) / sizeof(bad_expect[0]); i++)
                                if (strcmp(bad_expect[i].file, rel) == 0)
                                        want = bad_expect[i].message;
                        if (want == NULL) {
                                print_error("no expected message for %s\n", rel);
                                fail();
                        }
                        seen++;
                        assert_int_equal(berth_read_file(path, &data, &len, &err), 0);
                        if (berth_json_parse(data, len, kinds[k], &doc, &err) < 0) {
                                msg = xstrdup(err->msg);
                        } else {
                                msg = check_doc(kinds[k], doc);
                                if (msg == NULL) {
                                        print_error("%s was accepted\n", rel);
                                        fail();
                                }
                        }
                        if (strstr(msg, want) == NULL) {
                                print_error("%s: got  %s\nwant %s\n", rel, msg, want);
                                fail();
                        }
                }
        }
        assert_int_equal(seen, sizeof(bad_expect) / sizeof(bad_expect[0]));
}

/* The embedded copies are the spec's schema files, all of them. */
static void test_embedded_match_spec(void **state)
{
        cleanup_strv char **files = list_json(SPEC_DIR);
        size_t n = 0;
        for (char **f = files; *f; f++, n++) {
                cleanup_free char *path = xasprintf(SPEC_DIR "/%s", *f);
                cleanup_json json_object *disk = NULL;
                cleanup_json json_object *embedded = NULL;
                cleanup_error berth_error *err = NULL;
                const struct berth_schema_file *e = NULL;

                for (size_t i = 0; i < berth_runtime_schemas.n_files; i++)
                        if (strcmp(berth_runtime_schemas.files[i].name, *f) == 0)
                                e = &berth_runtime_schemas.files[i];
                if (e == NULL) {
                        print_error("%s is not embedded\n", *f);
                        fail();
                }
                assert_int_equal(berth_json_parse_file(path, &disk, &err), 0);
                assert_int_equal(berth_json_parse(e->data, e->len, *f, &embedded, &err), 0);
                assert_true(json_object_equal(disk, embedded));
        }
        assert_int_equal(n, berth_runtime_schemas.n_files);
}

/* A schema set built from the files on disk (as another module would
 * register its own) gives the same verdicts as the embedded one. */
static void test_set_from_disk(void **state)
{
        cleanup_strv char **names = list_json(SPEC_DIR);
        size_t n = berth_strv_len(names);
        /* A set is identified by its address and must outlive the process:
         * the compiled schemas point into it. */
        static struct berth_schema_file *files;
        static char **data;
        static struct berth_schema_set set;
        cleanup_json json_object *good = NULL;
        cleanup_json json_object *bad = NULL;
        cleanup_error berth_error *err = NULL;

        files = xcalloc(n, sizeof(*files));
        data = xcalloc(n + 1, sizeof(char *));
        set.name = "disk";
        set.files = files;
        set.n_files = n;
        for (size_t i = 0; i < n; i++) {
                cleanup_free char *path = xasprintf(SPEC_DIR "/%s", names[i]);
                assert_int_equal(berth_read_file(path, &data[i], &files[i].len, &err), 0);
                files[i].name = xstrdup(names[i]);
                files[i].data = data[i];
        }
        assert_int_equal(
            berth_json_parse_file(SPEC_DIR "/test/config/good/spec-example.json", &good, &err), 0);
        assert_int_equal(berth_schema_validate_in(&set, "config-schema.json", good, "x", &err), 0);
        assert_int_equal(
            berth_json_parse_file(SPEC_DIR "/test/config/bad/linux-rdma.json", &bad, &err), 0);
        assert_int_equal(berth_schema_validate_in(&set, "config-schema.json", bad, "x", &err),
                         -EINVAL);
        assert_non_null(strstr(err->msg, "`linux.resources.rdma.mlx5_1.hcaHandles`"));
        berth_error_freep(&err);
        assert_int_equal(berth_schema_validate_in(&set, "nope.json", bad, "x", &err), -ENOENT);
        assert_non_null(strstr(err->msg, "`nope.json`"));
}

static void expect_config_error(const char *text, bool for_create, const char *want)
{
        cleanup_json json_object *doc = parse(text);
        cleanup_error berth_error *err = NULL;
        int r = berth_spec_validate(doc, for_create, &err);
        if (r == 0) {
                print_error("accepted: %s\n", text);
                fail();
        }
        assert_non_null(err);
        if (strstr(err->msg, want) == NULL) {
                print_error("got  %s\nwant %s\n", err->msg, want);
                fail();
        }
}

static void expect_config_ok(const char *text, bool for_create)
{
        cleanup_json json_object *doc = parse(text);
        cleanup_error berth_error *err = NULL;
        if (berth_spec_validate(doc, for_create, &err) != 0) {
                print_error("refused: %s\n%s\n", text, err->msg);
                fail();
        }
}

#define RUNNABLE_HEAD                                                                              \
        "{\"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"rootfs\"},"                            \
        " \"process\": {\"cwd\": \"/\", \"args\": [\"sh\"]},"

static void test_handwritten_bad_configs(void **state)
{
        /* Schema errors, deep inside. */
        expect_config_error(RUNNABLE_HEAD "\"linux\": {\"resources\": {\"memory\": "
                                          "{\"limit\": \"big\"}}}}",
                            false,
                            "config.json: `linux.resources.memory.limit`: \"big\" is not of "
                            "type integer");
        expect_config_error(RUNNABLE_HEAD "\"linux\": {\"resources\": {\"cpu\": "
                                          "{\"shares\": 1.5}}}}",
                            false, "`linux.resources.cpu.shares`: 1.5 is not of type integer");
        expect_config_error(RUNNABLE_HEAD "\"linux\": {\"resources\": {\"blockIO\": "
                                          "{\"weightDevice\": [{\"major\": 8, \"minor\": 0, "
                                          "\"weight\": 70000}]}}}}",
                            false,
                            "`linux.resources.blockIO.weightDevice[0].weight`: 70000 is greater "
                            "than the maximum 65535");
        expect_config_error(RUNNABLE_HEAD "\"linux\": {\"namespaces\": [{\"type\": \"pid\"}, "
                                          "{\"type\": \"bogus\"}]}}",
                            false,
                            "config.json: `linux.namespaces[1].type`: \"bogus\" is not one of "
                            "\"mount\", \"pid\"");
        expect_config_error("{\"ociVersion\": \"1.0.0\", \"process\": {\"cwd\": \"/\", "
                            "\"user\": {\"uid\": -1}}}",
                            false, "`process.user.uid`: -1 is less than the minimum 0");
        expect_config_error("{\"ociVersion\": \"1.0.0\", \"process\": {\"cwd\": \"/\", "
                            "\"rlimits\": [{\"type\": \"NOFILE\", \"soft\": 1, \"hard\": 1}]}}",
                            false,
                            "`process.rlimits[0].type`: \"NOFILE\" does not match the pattern "
                            "`^RLIMIT_[A-Z]+$`");
        expect_config_error("{\"ociVersion\": \"1.0.0\", \"annotations\": {\"a.b\": 1}}", false,
                            "config.json: `annotations[\"a.b\"]`: 1 is not of type string");
        expect_config_error("{\"ociVersion\": \"1.0.0\", \"process\": {\"args\": []}}", false,
                            "config.json: `process`: missing required property `cwd`");
        expect_config_error("{\"root\": {\"path\": \"r\"}}", false,
                            "config.json: missing required property `ociVersion`");
        expect_config_error("[1]", false, "config.json: [1] is not of type object");

        /* What the schema cannot say. */
        expect_config_ok("{\"ociVersion\": \"0.5.0-dev\"}", false);
        expect_config_error("{\"ociVersion\": \"2.0.0\", \"root\": {\"path\": \"r\"}, "
                            "\"process\": {\"cwd\": \"/\", \"args\": [\"sh\"]}}",
                            true, "`ociVersion`: version `2.0.0` is not supported");
        expect_config_error("{\"ociVersion\": \"1.0.0\", \"process\": {\"cwd\": \"tmp\", "
                            "\"args\": [\"sh\"]}}",
                            false, "config.json: `process.cwd`: `tmp` is not an absolute path");
        expect_config_error("{\"ociVersion\": \"1.0.0\", \"process\": {\"cwd\": \"/\", "
                            "\"args\": []}}",
                            false, "`process.args`: at least one argument");
        expect_config_error(RUNNABLE_HEAD "\"linux\": {\"namespaces\": [{\"type\": \"pid\"}, "
                                          "{\"type\": \"ipc\"}, {\"type\": \"pid\"}]}}",
                            false, "`linux.namespaces[2].type`: namespace `pid` is listed twice");
        expect_config_error(RUNNABLE_HEAD "\"linux\": {\"uidMappings\": [{\"containerID\": 0, "
                                          "\"hostID\": 1000, \"size\": 1}]}}",
                            false, "`linux.uidMappings`: id mappings need a user namespace");
        expect_config_ok(RUNNABLE_HEAD "\"linux\": {\"namespaces\": [{\"type\": \"user\"}], "
                                       "\"uidMappings\": [{\"containerID\": 0, \"hostID\": "
                                       "1000, \"size\": 1}]}}",
                         true);

        /* Running on Linux. */
        expect_config_ok("{\"ociVersion\": \"1.0.0\", \"freebsd\": {}}", false);
        expect_config_error(RUNNABLE_HEAD "\"freebsd\": {}}", true,
                            "config.json: `freebsd`: this config is for freebsd and this is a "
                            "Linux runtime");
        expect_config_error(RUNNABLE_HEAD "\"windows\": {\"layerFolders\": [\"C:\\\\l\"]}}", true,
                            "this is a Linux runtime");
        expect_config_error("{\"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"rootfs\"}}", true,
                            "`process` is required to create a container");
        expect_config_error("{\"ociVersion\": \"1.0.0\", \"process\": {\"cwd\": \"/\", "
                            "\"args\": [\"sh\"]}}",
                            true, "`root` is required on Linux");
        expect_config_error(RUNNABLE_HEAD "\"linux\": {\"namespaces\": [{\"type\": \"net"
                                          "work\", \"path\": \"/nonexistent/ns/net\"}]}}",
                            true,
                            "`linux.namespaces[0].path`: network namespace "
                            "`/nonexistent/ns/net`: No such file or directory");
        expect_config_ok(RUNNABLE_HEAD "\"linux\": {\"namespaces\": [{\"type\": \"net"
                                       "work\", \"path\": \"/proc/self/ns/net\"}]}}",
                         true);
        expect_config_error(RUNNABLE_HEAD "\"hostname\": \"h\", \"linux\": {}}", true,
                            "`hostname`: setting the hostname `h` needs a private UTS namespace");
}

static void test_uint64_and_patterns(void **state)
{
        /* The full uint64 range is accepted; one past int64 is not negative. */
        expect_config_ok("{\"ociVersion\": \"1.0.0\", \"process\": {\"cwd\": \"/\", "
                         "\"args\": [\"sh\"], \"consoleSize\": {\"height\": 18446744073709551615, "
                         "\"width\": 1}}}",
                         false);
        expect_config_error("{\"ociVersion\": \"1.0.0\", \"process\": {\"cwd\": \"/\", "
                            "\"args\": [\"sh\"], \"consoleSize\": {\"height\": -1, \"width\": 1}}}",
                            false, "`process.consoleSize.height`: -1 is less than the minimum 0");
        expect_config_ok("{\"ociVersion\": \"1.0.0\", \"linux\": {\"resources\": {\"memory\": "
                         "{\"limit\": -9223372036854775808}}}}",
                         false);
        /* "^MB:[^\n]*$": \n inside brackets is a newline, not 'n'. */
        expect_config_ok("{\"ociVersion\": \"1.0.0\", \"linux\": {\"intelRdt\": "
                         "{\"memBwSchema\": \"MB:0=nn\\\\x\"}}}",
                         false);
        expect_config_error("{\"ociVersion\": \"1.0.0\", \"linux\": {\"intelRdt\": "
                            "{\"memBwSchema\": \"MB:0=1\\n\"}}}",
                            false, "`linux.intelRdt.memBwSchema`: \"MB:0=1\\n\" does not match");
        expect_config_error("{\"ociVersion\": \"1.0.0\", \"linux\": {\"intelRdt\": "
                            "{\"memBwSchema\": \"L3:0=1\"}}}",
                            false, "`linux.intelRdt.memBwSchema`");
}

static void test_load_bundle(void **state)
{
        char dir[] = "/tmp/berth-test-spec-XXXXXX";
        cleanup_free char *config = NULL;
        cleanup_free char *rootfs = NULL;
        cleanup_json json_object *spec = NULL;
        cleanup_error berth_error *err = NULL;
        static const char bad_json[] = "{\n  \"ociVersion\": \"1.0.0\",\n  oops\n}\n";
        const char *text;

        assert_non_null(mkdtemp(dir));
        config = xasprintf("%s/config.json", dir);
        rootfs = xasprintf("%s/rootfs", dir);

        /* No config.json. */
        assert_int_equal(berth_spec_load(dir, &spec, &err), -ENOENT);
        assert_non_null(strstr(err->msg, "config.json"));
        assert_null(spec);
        berth_error_freep(&err);

        /* Not JSON: line and column. */
        assert_int_equal(berth_write_file_atomic(config, bad_json, strlen(bad_json), 0644, &err),
                         0);
        assert_int_equal(berth_spec_load(dir, &spec, &err), -EINVAL);
        if (strstr(err->msg, "config.json is not valid JSON") == NULL ||
            strstr(err->msg, "line 3") == NULL) {
                print_error("%s\n", err->msg);
                fail();
        }
        berth_error_freep(&err);

        /* Valid, but the root file system is missing. */
        {
                cleanup_json json_object *ex = berth_spec_example(false);
                text = json_object_to_json_string(ex);
                assert_int_equal(berth_write_file_atomic(config, text, strlen(text), 0644, &err),
                                 0);
        }
        assert_int_equal(berth_spec_load(dir, &spec, &err), -ENOENT);
        assert_non_null(strstr(err->msg, "config.json: `root.path`: root file system `"));
        assert_non_null(strstr(err->msg, "/rootfs`: No such file or directory"));
        berth_error_freep(&err);

        /* A file where the root directory should be. */
        assert_int_equal(berth_write_file_atomic(rootfs, "x", 1, 0644, &err), 0);
        assert_int_equal(berth_spec_load(dir, &spec, &err), -ENOTDIR);
        berth_error_freep(&err);
        assert_int_equal(unlink(rootfs), 0);

        assert_int_equal(mkdir(rootfs, 0755), 0);
        assert_int_equal(berth_spec_load(dir, &spec, &err), 0);
        assert_non_null(spec);
        assert_string_equal(berth_json_str(berth_json_get(spec, "root"), "path"), "rootfs");

        assert_int_equal(berth_rm_rf(dir, &err), 0);
}

static bool has_ns(json_object *spec, const char *type)
{
        json_object *ns = berth_json_get(berth_json_get(spec, "linux"), "namespaces");
        for (size_t i = 0; i < json_object_array_length(ns); i++)
                if (strcmp(berth_json_str(json_object_array_get_idx(ns, i), "type"), type) == 0)
                        return true;
        return false;
}

static json_object *find_mount(json_object *spec, const char *dest)
{
        json_object *mounts = berth_json_get(spec, "mounts");
        for (size_t i = 0; i < json_object_array_length(mounts); i++) {
                json_object *m = json_object_array_get_idx(mounts, i);
                if (strcmp(berth_json_str(m, "destination"), dest) == 0)
                        return m;
        }
        return NULL;
}

static void test_example(void **state)
{
        for (int rootless = 0; rootless < 2; rootless++) {
                cleanup_json json_object *ex = berth_spec_example(rootless);
                cleanup_error berth_error *err = NULL;
                json_object *process = berth_json_get(ex, "process");
                json_object *devpts = find_mount(ex, "/dev/pts");
                json_object *sys = find_mount(ex, "/sys");
                const char *devpts_opts;

                if (berth_spec_validate(ex, true, &err) != 0) {
                        print_error("%s\n", err->msg);
                        fail();
                }
                assert_string_equal(berth_json_str(ex, "ociVersion"), "1.3.0");
                assert_string_equal(berth_json_str(ex, "hostname"), "berth");
                assert_true(berth_json_bool(process, "terminal", false));
                assert_true(berth_json_bool(process, "noNewPrivileges", false));
                assert_string_equal(json_object_get_string(json_object_array_get_idx(
                                        berth_json_get(process, "args"), 0)),
                                    "sh");
                assert_int_equal(json_object_array_length(berth_json_get(
                                     berth_json_get(process, "capabilities"), "bounding")),
                                 3);
                assert_non_null(find_mount(ex, "/sys/fs/cgroup"));
                assert_non_null(find_mount(ex, "/dev/mqueue"));
                assert_true(has_ns(ex, "pid") && has_ns(ex, "mount") && has_ns(ex, "cgroup"));
                devpts_opts = json_object_to_json_string(berth_json_get(devpts, "options"));
                if (rootless) {
                        json_object *map = json_object_array_get_idx(
                            berth_json_get(berth_json_get(ex, "linux"), "uidMappings"), 0);
                        assert_true(has_ns(ex, "user"));
                        assert_false(has_ns(ex, "network"));
                        assert_string_equal(berth_json_str(sys, "type"), "none");
                        assert_null(strstr(devpts_opts, "gid="));
                        assert_int_equal(berth_json_int(map, "hostID", -1), (int64_t)geteuid());
                        assert_null(berth_json_get(berth_json_get(ex, "linux"), "resources"));
                } else {
                        assert_false(has_ns(ex, "user"));
                        assert_true(has_ns(ex, "network"));
                        assert_string_equal(berth_json_str(sys, "type"), "sysfs");
                        assert_non_null(strstr(devpts_opts, "\"gid=5\""));
                }
        }
}

/* ---- the validator itself, on a small schema set -------------------------- */

/* test-schemas/{main,other}.json, compiled at build time... */
extern const struct berth_schema_set berth_test_schemas;

/* ... and the same text compiled at run time. */
static struct berth_schema_file t_files[2];
static const struct berth_schema_set t_set = {"test-runtime", t_files, 2};

static void expect_one(const struct berth_schema_set *set, const char *doc_text, const char *want)
{
        cleanup_json json_object *doc = parse(doc_text);
        cleanup_error berth_error *err = NULL;
        int r = berth_schema_validate_in(set, "main.json", doc, "doc", &err);
        if (want == NULL) {
                if (r != 0) {
                        print_error("%s: refused %s: %s\n", set->name, doc_text, err->msg);
                        fail();
                }
                return;
        }
        if (r == 0) {
                print_error("%s: accepted %s\n", set->name, doc_text);
                fail();
        }
        assert_int_equal(r, -EINVAL);
        assert_int_equal(err->status, EINVAL);
        if (strcmp(err->msg, want) != 0) {
                print_error("%s: got  %s\nwant %s\n", set->name, err->msg, want);
                fail();
        }
}

static void expect_t(const char *doc_text, const char *want)
{
        if (t_files[0].name == NULL) {
                assert_int_equal(berth_test_schemas.n_files, 2);
                for (size_t i = 0; i < 2; i++) {
                        t_files[i] = berth_test_schemas.files[i];
                        assert_non_null(t_files[i].root);
                        t_files[i].root = NULL;
                }
        }
        expect_one(&berth_test_schemas, doc_text, want);
        expect_one(&t_set, doc_text, want);
}

static void test_validator_keywords(void **state)
{
        expect_t("{\"tree\": {\"v\": 1, \"kids\": [{\"v\": null}, {\"v\": 2, \"kids\": []}]}}",
                 NULL);
        expect_t("{\"tree\": {\"v\": 1, \"kids\": [{\"v\": null}, {\"v\": 2.5}]}}",
                 "doc: `tree.kids[1].v`: 2.5 is not of type integer or null");
        expect_t("{\"tree\": {\"v\": 1, \"kids\": [{}]}}",
                 "doc: `tree.kids[0]`: missing required property `v`");
        expect_t("{\"tree\": {\"v\": 1, \"x\": 2}}", "doc: `tree`: property `x` is not allowed");
        expect_t("{\"one\": \"a\"}", NULL);
        expect_t("{\"one\": \"ab\"}", "doc: `one`: \"ab\" matches more than one allowed schema");
        expect_t("{\"one\": 3}", "doc: `one`: 3 is not of type string");
        expect_t("{\"notneg\": 1}", NULL);
        expect_t("{\"notneg\": \"x\"}", NULL);
        expect_t("{\"notneg\": -1}", "doc: `notneg`: -1 matches a schema it must not match");
        expect_t("{\"k\": \"fixed\"}", NULL);
        expect_t("{\"k\": \"other\"}", "doc: `k`: \"other\" is not \"fixed\"");
        expect_t("{\"set\": [1, \"1\", {\"a\": 1}]}", NULL);
        expect_t("{\"set\": [{\"a\": 1}, 2, {\"a\": 1}]}",
                 "doc: `set[2]`: {\"a\":1} repeats item 0");
        expect_t("{\"set\": [1, 2, 3, 4]}",
                 "doc: `set`: array has 4 items, more than the maximum 3");
        expect_t("{\"name\": \"\xc3\xa9t\xc3\xa9\"}", NULL); /* 3 characters, 5 bytes */
        expect_t("{\"name\": \"a\"}", "doc: `name`: \"a\" is shorter than 2 characters");
        expect_t("{\"name\": \"abcd\"}", "doc: `name`: \"abcd\" is longer than 3 characters");
        expect_t("{\"num\": 0.6}", NULL);
        expect_t("{\"num\": 0.5}", "doc: `num`: 0.5 is less than the minimum 0.5");
        expect_t("{\"pct\": 100}", NULL);
        expect_t("{\"pct\": 101}", "doc: `pct`: 101 is greater than the maximum 100");
        expect_t("{\"never\": 1}", "doc: `never`: 1 is not allowed here");
        expect_t("{\"word\": \"a_b.7\"}", NULL);
        expect_t("{\"word\": \"a-b.7\"}",
                 "doc: `word`: \"a-b.7\" does not match the pattern `^\\w+\\.\\d$`");
        expect_t("\"x\"", "doc: \"x\" is not of type object");
        expect_t("{\"pair\": [\"a\", 1]}", NULL);
        expect_t("{\"pair\": [\"a\", \"b\"]}", "doc: `pair[1]`: \"b\" is not of type integer");
        expect_t("{\"pair\": [\"a\", 1, 2]}",
                 "doc: `pair`: array has 3 items, more than the 2 allowed");
        expect_t("{\"labels\": {\"x-a\": \"s\", \"other\": true}}", NULL);
        expect_t("{\"labels\": {\"x-a\": 1}}", "doc: `labels.x-a`: 1 is not of type string");
        expect_t("{\"labels\": {\"y\": \"s\"}}", "doc: `labels.y`: \"s\" is not of type boolean");
        expect_t("{\"labels\": {}}", "doc: `labels`: object has 0 properties, fewer than 1");
        expect_t("{\"big\": -9223372036854775808}", NULL);
        expect_t("{\"big\": 18446744073709551614}", NULL);
        expect_t("{\"big\": 18446744073709551615}",
                 "doc: `big`: 18446744073709551615 is not less than the maximum "
                 "18446744073709551615");
        expect_t("{\"both\": 15}", NULL);
        expect_t("{\"both\": 150}", NULL);
        expect_t("{\"both\": 5}", "doc: `both`: 5 is less than the minimum 10");
        expect_t("{\"both\": 50}", "doc: `both`: 50 is greater than the maximum 20");
}

/* A typical config validates in well under 100 µs once the schemas are
 * compiled (the bound here is loose: this build has sanitizers). */
static void test_speed(void **state)
{
        cleanup_json json_object *doc = NULL;
        cleanup_error berth_error *err = NULL;
        struct timespec a, b;
        const int rounds = 200;
        double us;

        assert_int_equal(
            berth_json_parse_file(SPEC_DIR "/test/config/good/spec-example.json", &doc, &err), 0);
        assert_int_equal(berth_spec_validate(doc, false, &err), 0);
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (int i = 0; i < rounds; i++)
                assert_int_equal(berth_schema_validate("config-schema.json", doc, "c", &err), 0);
        clock_gettime(CLOCK_MONOTONIC, &b);
        us = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / 1e3 / rounds;
        print_message("spec-example.json validates in %.1f us\n", us);
        assert_true(us < 2000.0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_good_documents),
            cmocka_unit_test(test_bad_documents),
            cmocka_unit_test(test_embedded_match_spec),
            cmocka_unit_test(test_set_from_disk),
            cmocka_unit_test(test_handwritten_bad_configs),
            cmocka_unit_test(test_uint64_and_patterns),
            cmocka_unit_test(test_load_bundle),
            cmocka_unit_test(test_example),
            cmocka_unit_test(test_validator_keywords),
            cmocka_unit_test(test_speed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
