/* SPDX-License-Identifier: Apache-2.0 */
/* Base images without a registry: busybox from the host's busybox-static,
 * and Debian made with debootstrap --variant=minbase. */
#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image.h"
#include "layer.h"
#include "store-internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define MAX_APPLETS  2048

/* Run ARGV with stdout to OUT_FD (or the log) and stderr to LOG_FD; wait. */
static int run(char *const *argv, int out_fd, int log_fd, berth_error **err)
{
        pid_t pid = fork();
        int status;
        if (pid < 0)
                return berth_fail_errno(err, "fork");
        if (pid == 0) {
                int devnull = open("/dev/null", O_RDONLY);
                if (devnull >= 0)
                        dup2(devnull, 0);
                dup2(out_fd >= 0 ? out_fd : log_fd, 1);
                dup2(log_fd, 2);
                execvp(argv[0], argv);
                _exit(127);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return berth_fail_errno(err, "wait for `%s`", argv[0]);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return berth_fail(err, EIO, "`%s` failed (%s %d)", argv[0],
                                  WIFEXITED(status) ? "exit status" : "signal",
                                  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        return 0;
}

static la_ssize_t blob_write_cb(struct archive *a, void *ud, const void *buf, size_t len)
{
        berth_error *e = NULL;
        if (berth_blob_writer_write(ud, buf, len, &e) < 0) {
                archive_set_error(a, EIO, "%s", e->msg);
                berth_error_free(e);
                return -1;
        }
        return (la_ssize_t)len;
}

static int add(struct archive *a, const char *path, mode_t type, mode_t perm, const char *link,
               int64_t size, time_t mtime, berth_error **err)
{
        struct archive_entry *e = archive_entry_new();
        int r;
        archive_entry_set_pathname(e, path);
        archive_entry_set_filetype(e, type);
        archive_entry_set_perm(e, perm);
        archive_entry_set_uid(e, 0);
        archive_entry_set_gid(e, 0);
        archive_entry_set_mtime(e, mtime, 0);
        if (link)
                archive_entry_set_symlink(e, link);
        if (type == AE_IFREG)
                archive_entry_set_size(e, size);
        r = archive_write_header(a, e);
        archive_entry_free(e);
        if (r != ARCHIVE_OK)
                return berth_fail(err, EIO, "write `%s` into the layer: %s", path,
                                  archive_error_string(a));
        return 0;
}

static int add_text(struct archive *a, const char *path, const char *text, time_t mtime,
                    berth_error **err)
{
        size_t len = strlen(text);
        int r = add(a, path, AE_IFREG, 0644, NULL, (int64_t)len, mtime, err);
        if (r < 0)
                return r;
        if (archive_write_data(a, text, len) != (la_ssize_t)len)
                return berth_fail(err, EIO, "write `%s` into the layer: %s", path,
                                  archive_error_string(a));
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The busybox applets as paths ("bin/sh", "usr/bin/awk"), sorted. */
static int applets(const char *busybox, char ***ret, berth_error **err)
{
        char tmpl[] = "/tmp/berth-applets-XXXXXX";
        cleanup_close int fd = mkostemp(tmpl, O_CLOEXEC);
        cleanup_free char *data = NULL;
        size_t len;
        char **v = xmalloc0(sizeof(char *));
        char *argv[] = {(char *)busybox, (char *)"--list-full", NULL};
        int r;
        if (fd < 0) {
                free(v);
                return berth_fail_errno(err, "create a temporary file");
        }
        (void)unlink(tmpl);
        r = run(argv, fd, fd, err);
        if (r >= 0) {
                struct stat st;
                if (fstat(fd, &st) < 0 || st.st_size > (1 << 20))
                        r = berth_fail(err, EFBIG, "`%s --list-full` printed too much", busybox);
                else {
                        data = xmalloc((size_t)st.st_size + 1);
                        len = (size_t)pread(fd, data, (size_t)st.st_size, 0);
                        data[len] = '\0';
                }
        }
        if (r < 0) {
                free(v);
                return berth_error_prefix(err, r, "list the applets of `%s`", busybox);
        }
        size_t n = 0;
        for (char *save = NULL, *line = strtok_r(data, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
                if (*line == '\0' || strstr(line, "..") || line[0] == '/' ||
                    strcmp(line, "bin/busybox") == 0)
                        continue;
                if (++n > MAX_APPLETS)
                        break;
                store_strv_push(&v, line);
        }
        qsort(v, berth_strv_len(v), sizeof(char *), cmp_str);
        *ret = v;
        return 0;
}

static int busybox_layer(struct berth_image_store *s, const char *busybox,
                         char digest[BERTH_DIGEST_STR_LEN], berth_error **err)
{
        static const char *const dirs[] = {
            "bin", "dev", "etc",     "home",     "proc", "root",      "sbin",           "sys",
            "tmp", "usr", "usr/bin", "usr/sbin", "var",  "var/spool", "var/spool/mail", "var/www"};
        cleanup_strv char **apps = NULL;
        cleanup_blob_writer struct berth_blob_writer *w = NULL;
        cleanup_close int bfd = open(busybox, O_RDONLY | O_CLOEXEC);
        struct archive *a = NULL;
        struct stat st;
        int r;

        if (bfd < 0)
                return berth_fail_errno(err, "open `%s` (install busybox-static)", busybox);
        if (fstat(bfd, &st) < 0)
                return berth_fail_errno(err, "stat `%s`", busybox);
        r = applets(busybox, &apps, err);
        if (r < 0)
                return r;
        r = berth_blob_writer_new(s, NULL, -1, &w, err);
        if (r < 0)
                return r;
        /* Every mtime is the binary's, so the same busybox gives the same
         * layer digest. */
        time_t mtime = st.st_mtime;
        a = archive_write_new();
        archive_write_set_format_pax_restricted(a);
        archive_write_set_bytes_per_block(a, 0);
        if (archive_write_open(a, w, NULL, blob_write_cb, NULL) != ARCHIVE_OK) {
                r = berth_fail(err, EIO, "write the busybox layer: %s", archive_error_string(a));
                goto out;
        }
        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && r >= 0; i++)
                r = add(a, dirs[i], AE_IFDIR,
                        strcmp(dirs[i], "tmp") == 0    ? 01777
                        : strcmp(dirs[i], "root") == 0 ? 0700
                                                       : 0755,
                        NULL, 0, mtime, err);
        if (r < 0)
                goto out;
        r = add(a, "bin/busybox", AE_IFREG, 0755, NULL, st.st_size, mtime, err);
        if (r < 0)
                goto out;
        {
                cleanup_free char *buf = xmalloc(1 << 20);
                int64_t left = st.st_size;
                off_t off = 0;
                while (left > 0) {
                        ssize_t n = pread(bfd, buf, 1 << 20, off);
                        if (n <= 0) {
                                r = berth_fail(err, n < 0 ? errno : EIO, "read `%s`", busybox);
                                goto out;
                        }
                        if (archive_write_data(a, buf, (size_t)n) != n) {
                                r = berth_fail(err, EIO, "write the busybox layer: %s",
                                               archive_error_string(a));
                                goto out;
                        }
                        off += n;
                        left -= n;
                }
        }
        for (char **p = apps; *p && r >= 0; p++)
                r = add(a, *p, AE_IFLNK, 0777, "/bin/busybox", 0, mtime, err);
        if (r >= 0)
                r = add_text(a, "etc/group",
                             "root:x:0:\ndaemon:x:1:\nbin:x:2:\nsys:x:3:\nadm:x:4:\ntty:x:5:\ndisk:"
                             "x:6:\nwheel:x:10:\nmail:x:12:\nusers:x:100:\nnogroup:x:65534:\n",
                             mtime, err);
        if (r >= 0)
                r = add_text(a, "etc/passwd",
                             "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/"
                             "false\nbin:x:2:2:bin:/bin:/bin/false\nsys:x:3:3:sys:/dev:/bin/"
                             "false\nsync:x:4:100:sync:/bin:/bin/sync\nmail:x:8:8:mail:/var/spool/"
                             "mail:/bin/false\nwww-data:x:33:33:www-data:/var/www:/bin/"
                             "false\noperator:x:37:37:Operator:/var:/bin/"
                             "false\nnobody:x:65534:65534:nobody:/home:/bin/false\n",
                             mtime, err);
        if (r >= 0)
                r = add_text(a, "etc/shadow",
                             "root:*::::::\ndaemon:*::::::\nbin:*::::::\nsys:*::::::\nsync:*::::::"
                             "\nmail:*::::::\nwww-data:*::::::\noperator:*::::::\nnobody:*::::::\n",
                             mtime, err);
        if (r >= 0)
                r = add_text(a, "etc/nsswitch.conf",
                             "hosts: files dns\nnetworks: files\npasswd: files\ngroup: "
                             "files\nshadow: files\n",
                             mtime, err);
        if (r >= 0 && archive_write_close(a) != ARCHIVE_OK)
                r = berth_fail(err, EIO, "write the busybox layer: %s", archive_error_string(a));
        if (r >= 0)
                r = berth_blob_writer_commit(w, digest, NULL, err);
out:
        archive_write_free(a);
        return r;
}

static json_object *base_config(const char *cmd)
{
        json_object *c = json_object_new_object();
        json_object *env = json_object_new_array();
        json_object *argv = json_object_new_array();
        json_object_array_add(env, json_object_new_string(DEFAULT_PATH));
        json_object_object_add(c, "Env", env);
        json_object_array_add(argv, json_object_new_string(cmd));
        json_object_object_add(c, "Cmd", argv);
        return c;
}

int berth_image_base_busybox(struct berth_image_store *s, const char *busybox, const char *ref,
                             struct berth_image **ret, berth_error **err)
{
        char digest[BERTH_DIGEST_STR_LEN];
        cleanup_json json_object *cfg = base_config("sh");
        int r;
        if (busybox == NULL)
                busybox = "/bin/busybox";
        r = berth_image_store_lock(s, err);
        if (r < 0)
                return r;
        r = busybox_layer(s, busybox, digest, err);
        if (r >= 0) {
                cleanup_free char *by = xasprintf("berth image base busybox %s", busybox);
                r = berth_image_from_layer(s, digest, cfg, by, NULL, ref ? ref : "busybox:latest",
                                           ret, err);
                if (r < 0)
                        (void)berth_image_store_gc(s, NULL, NULL, NULL);
        }
        berth_image_store_unlock(s);
        if (r < 0)
                return berth_error_prefix(err, r, "busybox base image");
        return 0;
}

int berth_debian_mirror_from_sources(const char *path, char **ret, berth_error **err)
{
        cleanup_free char *data = NULL;
        size_t len;
        int r = berth_read_file(path, &data, &len, err);
        if (r < 0)
                return r;
        for (char *save = NULL, *line = strtok_r(data, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
                while (*line == ' ' || *line == '\t')
                        line++;
                if (strncasecmp(line, "URIs:", 5) != 0)
                        continue;
                char *u = line + 5;
                while (*u == ' ' || *u == '\t')
                        u++;
                size_t n = strcspn(u, " \t\r");
                if (n == 0)
                        continue;
                cleanup_free char *uri = xstrndup(u, n);
                if (strstr(uri, "debian-security") != NULL)
                        continue;
                *ret = steal_pointer(&uri);
                return 0;
        }
        return berth_fail(err, ENOENT, "no `URIs:` line in `%s`", path);
}

static bool safe_word(const char *s)
{
        if (*s == '\0' || *s == '-')
                return false;
        for (const char *p = s; *p; p++)
                if (!(isalnum((unsigned char)*p) || strchr(".+-_,:/~", *p)))
                        return false;
        return true;
}

int berth_image_base_debian(struct berth_image_store *s, const char *suite, const char *include,
                            const char *mirror, const char *ref, struct berth_image **ret,
                            berth_error **err)
{
        cleanup_free char *mirror_buf = NULL;
        cleanup_free char *dir = NULL, *logp = NULL, *incl = NULL, *by = NULL, *dflt_ref = NULL;
        cleanup_close int log_fd = -1, dfd = -1, tar_fd = -1;
        cleanup_json json_object *cfg = base_config("bash");
        char digest[BERTH_DIGEST_STR_LEN];
        int r;

        if (suite == NULL)
                suite = "bookworm";
        if (!safe_word(suite) || (include && !safe_word(include)) || (mirror && !safe_word(mirror)))
                return berth_fail(err, EINVAL,
                                  "debian base image: invalid suite, package list or mirror");
        if (mirror == NULL) {
                r = berth_debian_mirror_from_sources("/etc/apt/sources.list.d/debian.sources",
                                                     &mirror_buf, err);
                if (r < 0)
                        return berth_error_prefix(err, r, "debian base image: find the mirror");
                mirror = mirror_buf;
        }
        dir = xasprintf("%s/debootstrap-XXXXXX", s->tmp_dir);
        if (mkdtemp(dir) == NULL)
                return berth_fail_errno(err, "create `%s`", dir);
        logp = xasprintf("%s.log", dir);
        log_fd = open(logp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (log_fd < 0) {
                r = berth_fail_errno(err, "create `%s`", logp);
                goto out;
        }
        incl = include ? xasprintf("--include=%s", include) : NULL;
        {
                char *argv[8];
                size_t n = 0;
                argv[n++] = (char *)"debootstrap";
                argv[n++] = (char *)"--variant=minbase";
                if (incl)
                        argv[n++] = incl;
                argv[n++] = (char *)suite;
                argv[n++] = dir;
                argv[n++] = (char *)mirror;
                argv[n] = NULL;
                r = run(argv, -1, log_fd, err);
        }
        if (r < 0) {
                char tail[600] = "";
                off_t end = lseek(log_fd, 0, SEEK_END);
                off_t start = end > 500 ? end - 500 : 0;
                ssize_t n = pread(log_fd, tail, 500, start);
                if (n > 0)
                        tail[n] = '\0';
                berth_error_prefix(err, r, "debootstrap %s (log: %s)", suite, tail);
                goto out;
        }
        /* Drop caches that only make the image bigger. */
        {
                static const char *const junk[] = {"var/cache/apt/archives", "var/lib/apt/lists",
                                                   "var/log/bootstrap.log", "debootstrap"};
                for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
                        cleanup_free char *p = xasprintf("%s/%s", dir, junk[i]);
                        (void)berth_rm_rf(p, NULL);
                }
                cleanup_free char *lists = xasprintf("%s/var/lib/apt/lists/partial", dir);
                (void)berth_mkdir_p(lists, 0755, NULL);
                cleanup_free char *arch = xasprintf("%s/var/cache/apt/archives/partial", dir);
                (void)berth_mkdir_p(arch, 0755, NULL);
        }
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        tar_fd = open(s->tmp_dir, O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
        if (dfd < 0 || tar_fd < 0) {
                r = berth_fail_errno(err, "debian base image: open `%s`", dir);
                goto out;
        }
        r = berth_tree_export(dfd, tar_fd, err);
        if (r < 0)
                goto out;
        if (lseek(tar_fd, 0, SEEK_SET) < 0) {
                r = berth_fail_errno(err, "seek");
                goto out;
        }
        r = berth_image_store_lock(s, err);
        if (r < 0)
                goto out;
        r = berth_blob_put_fd(s, tar_fd, NULL, -1, digest, err);
        if (r >= 0) {
                by = xasprintf("debootstrap --variant=minbase%s%s %s %s", incl ? " " : "",
                               incl ? incl : "", suite, mirror);
                dflt_ref = xasprintf("debian:%s", suite);
                r = berth_image_from_layer(s, digest, cfg, by, NULL, ref ? ref : dflt_ref, ret,
                                           err);
                if (r < 0)
                        (void)berth_image_store_gc(s, NULL, NULL, NULL);
        }
        berth_image_store_unlock(s);
out:
        (void)berth_rm_rf(dir, NULL);
        if (logp)
                (void)unlink(logp);
        if (r < 0)
                return berth_error_prefix(err, r, "debian base image");
        return 0;
}
