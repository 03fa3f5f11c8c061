/* SPDX-License-Identifier: Apache-2.0 */
/* cp: files between a container and the host through the archive
 * endpoints, with Docker's naming rules (copy into an existing directory,
 * or as the destination name). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <nettle/base64.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmds.h"
#include "untar.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsonutil.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define GO_MODE_DIR     (1U << 31)
#define GO_MODE_SYMLINK (1U << 27)

/* "name:path" -> container, path; NULL container for a local path. */
static void split_ref(const char *arg, char **ret_container, char **ret_path)
{
        const char *colon = strchr(arg, ':');
        /* a local path may contain ':' after a '/' (./a:b) */
        if (colon == NULL || arg[0] == '/' || arg[0] == '.' ||
            (strchr(arg, '/') && strchr(arg, '/') < colon)) {
                *ret_container = NULL;
                *ret_path = xstrdup(arg);
                return;
        }
        *ret_container = xstrndup(arg, (size_t)(colon - arg));
        *ret_path = xstrdup(colon + 1);
}

static char *base_name(const char *p)
{
        cleanup_free char *c = xstrdup(p);
        size_t l = strlen(c);
        while (l > 1 && c[l - 1] == '/')
                c[--l] = '\0';
        return xstrdup(basename(c));
}

static char *dir_name(const char *p)
{
        cleanup_free char *c = xstrdup(p);
        size_t l = strlen(c);
        while (l > 1 && c[l - 1] == '/')
                c[--l] = '\0';
        return xstrdup(dirname(c));
}

/* ---- out of the container ---- */
static ssize_t response_read_cb(void *ud, void *buf, size_t len, berth_error **err)
{
        return berth_response_read(ud, buf, len, err);
}

static int stat_header(struct berth_response *r, json_object **ret);

/* GET /containers/{id}/archive?path=SRC with the stat of SRC. */
static int archive_get(struct api_cli *c, const char *ctr, const char *src,
                       struct berth_response **ret, json_object **ret_stat, berth_error **err)
{
        cleanup_response struct berth_response *r = NULL;
        cleanup_free char *n = berth_url_escape(ctr);
        cleanup_free char *sp = berth_url_escape(src);
        cleanup_free char *p = xasprintf("/containers/%s/archive?path=%s", n, sp);
        int k = berth_client_request(c->client, "GET", p, NULL, &r, err);
        if (k < 0 || (k = berth_response_check(r, err)) < 0)
                return k;
        if (stat_header(r, ret_stat) < 0)
                *ret_stat = NULL;
        *ret = steal_pointer(&r);
        return 0;
}

/* -L: a symlink SRC is replaced by its target (relative to SRC's parent);
 * *ret_rebase is SRC's own name when the target's differs (docker's
 * GetRebaseName). */
static char *follow_link(const char *src, json_object *st, char **ret_rebase)
{
        const char *target = berth_json_str(st, "linkTarget");
        *ret_rebase = NULL;
        if (st == NULL || !((uint64_t)berth_json_int(st, "mode", 0) & GO_MODE_SYMLINK) ||
            target == NULL || *target == '\0')
                return NULL;
        cleanup_free char *parent = dir_name(src);
        char *resolved = target[0] == '/' ? xstrdup(target) : xasprintf("%s/%s", parent, target);
        size_t l = strlen(src);
        if (l > 0 && src[l - 1] == '/' && resolved[strlen(resolved) - 1] != '/') {
                char *t = xasprintf("%s/", resolved);
                free(resolved);
                resolved = t;
        }
        cleanup_free char *a = base_name(src), *b = base_name(resolved);
        if (strcmp(a, b) != 0)
                *ret_rebase = steal_pointer(&a);
        return resolved;
}

static int cp_from(struct api_cli *c, const char *ctr, const char *src, const char *dst,
                   bool follow)
{
        cleanup_error berth_error *err = NULL;
        cleanup_response struct berth_response *r = NULL;
        cleanup_json json_object *st = NULL;
        cleanup_free char *resolved = NULL, *rebase_name = NULL;

        if (follow) {
                cleanup_response struct berth_response *h = NULL;
                cleanup_free char *n = berth_url_escape(ctr);
                cleanup_free char *sp = berth_url_escape(src);
                cleanup_free char *hp = xasprintf("/containers/%s/archive?path=%s", n, sp);
                cleanup_json json_object *lst = NULL;
                if (berth_client_request(c->client, "HEAD", hp, NULL, &h, &err) < 0)
                        return api_fail(&err, 1);
                if (berth_response_status(h) == 200 && stat_header(h, &lst) == 0)
                        resolved = follow_link(src, lst, &rebase_name);
                if (resolved != NULL)
                        src = resolved;
        }
        if (archive_get(c, ctr, src, &r, &st, &err) < 0)
                return api_fail(&err, 1);
        if (strcmp(dst, "-") == 0) {
                if (berth_response_copy_stream(r, true, STDOUT_FILENO, STDOUT_FILENO, &err) < 0)
                        return api_fail(&err, 1);
                return 0;
        }
        bool src_is_dir = ((uint64_t)berth_json_int(st, "mode", 0) & GO_MODE_DIR) != 0;
        struct stat dst_st;
        bool dst_exists = stat(dst, &dst_st) == 0;
        bool dst_is_dir = dst_exists && S_ISDIR(dst_st.st_mode);
        if (!dst_exists) {
                cleanup_free char *parent = dir_name(dst);
                struct stat pst;
                if (stat(parent, &pst) < 0 || !S_ISDIR(pst.st_mode)) {
                        fprintf(stderr,
                                "Error: invalid output path: directory \"%s\" does not exist\n",
                                parent);
                        return 1;
                }
        }
        if (dst_exists && !dst_is_dir && src_is_dir) {
                fprintf(stderr, "Error: cannot copy directory\n");
                return 1;
        }
        if (!dst_exists && !src_is_dir && dst[strlen(dst) - 1] == '/') {
                fprintf(stderr, "Error: no such directory\n");
                return 1;
        }
        /* docker's PrepareArchiveCopy: into an existing directory under the
         * source's name, else under the destination's name in its parent. */
        cleanup_free char *src_base = base_name(src);
        cleanup_free char *dst_base = base_name(dst);
        cleanup_free char *target_dir = dst_is_dir ? xstrdup(dst) : dir_name(dst);
        struct cli_untar_opts uo = {.rebase_from = src_base};
        uo.rebase_to = dst_is_dir ? (rebase_name ? rebase_name : src_base) : dst_base;
        cleanup_close int dfd = open(target_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                fprintf(stderr, "Error: open %s: %s\n", target_dir, strerror(errno));
                return 1;
        }
        if (cli_untar(dfd, response_read_cb, r, &uo, &err) < 0) {
                berth_error_prefix(&err, -1, "copying to `%s`", dst);
                fprintf(stderr, "Error: %s\n", err->msg);
                return 1;
        }
        return 0;
}

/* ---- into the container ---- */
/* The tree at SRC as NAME into A. FOLLOW (-L): SRC itself is followed when
 * a symlink. Without KEEP_IDS (-a) the entries belong to root, which the
 * daemon keeps: docker's default of the container's root user. */
static int add_tree(struct archive *a, const char *src, const char *name, bool follow,
                    bool keep_ids, berth_error **err)
{
        struct archive *disk = archive_read_disk_new();
        archive_read_disk_set_standard_lookup(disk);
        if (follow)
                archive_read_disk_set_symlink_hybrid(disk);
        else
                archive_read_disk_set_symlink_physical(disk);
        if (archive_read_disk_open(disk, src) != ARCHIVE_OK) {
                int r = berth_fail(err, 0, "Error: %s", archive_error_string(disk));
                archive_read_free(disk);
                return r;
        }
        size_t sl = strlen(src);
        while (sl > 1 && src[sl - 1] == '/')
                sl--;
        for (;;) {
                struct archive_entry *e = archive_entry_new();
                int k = archive_read_next_header2(disk, e);
                if (k == ARCHIVE_EOF) {
                        archive_entry_free(e);
                        break;
                }
                if (k != ARCHIVE_OK && k != ARCHIVE_WARN) {
                        int r = berth_fail(err, 0, "Error: %s", archive_error_string(disk));
                        archive_entry_free(e);
                        archive_read_free(disk);
                        return r;
                }
                (void)archive_read_disk_descend(disk);
                const char *path = archive_entry_pathname(e);
                const char *rel = strncmp(path, src, sl) == 0 ? path + sl : path;
                cleanup_free char *nn = xasprintf("%s%s", name, rel);
                cleanup_free char *srcpath =
                    xstrdup(archive_entry_sourcepath(e) ? archive_entry_sourcepath(e) : path);
                archive_entry_set_pathname(e, nn);
                if (!keep_ids) {
                        archive_entry_set_uid(e, 0);
                        archive_entry_set_gid(e, 0);
                        archive_entry_set_uname(e, "root");
                        archive_entry_set_gname(e, "root");
                }
                if (archive_write_header(a, e) != ARCHIVE_OK) {
                        int r = berth_fail(err, 0, "Error: %s", archive_error_string(a));
                        archive_entry_free(e);
                        archive_read_free(disk);
                        return r;
                }
                if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0) {
                        cleanup_close int fd = open(srcpath, O_RDONLY | O_CLOEXEC);
                        char buf[65536];
                        ssize_t n;
                        while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
                                (void)archive_write_data(a, buf, (size_t)n);
                }
                archive_entry_free(e);
        }
        archive_read_free(disk);
        return 0;
}

static int stat_header(struct berth_response *r, json_object **ret)
{
        const char *h = berth_response_header(r, "x-docker-container-path-stat");
        if (h == NULL)
                return -1;
        size_t l = strlen(h);
        uint8_t *out = xmalloc(BASE64_DECODE_LENGTH(l) + 1);
        size_t n = BASE64_DECODE_LENGTH(l) + 1;
        struct base64_decode_ctx b64;
        base64_decode_init(&b64);
        if (!base64_decode_update(&b64, &n, out, l, h) || !base64_decode_final(&b64)) {
                free(out);
                return -1;
        }
        while (n > 0 && out[n - 1] == '\0')
                n--;
        int k = berth_json_parse((char *)out, n, "stat", ret, NULL);
        free(out);
        return k;
}

static int cp_to(struct api_cli *c, const char *src, const char *ctr, const char *dst, bool follow,
                 bool keep_ids)
{
        cleanup_error berth_error *err = NULL;
        cleanup_response struct berth_response *h = NULL, *r = NULL;
        cleanup_json json_object *st = NULL;
        cleanup_free char *n = berth_url_escape(ctr);
        cleanup_free char *dp = berth_url_escape(dst);
        cleanup_free char *hp = xasprintf("/containers/%s/archive?path=%s", n, dp);
        struct stat lst;
        bool from_stdin = strcmp(src, "-") == 0;

        if (!from_stdin && (follow ? stat(src, &lst) : lstat(src, &lst)) < 0) {
                fprintf(stderr, "lstat %s: no such file or directory\n", src);
                return 1;
        }
        if (berth_client_request(c->client, "HEAD", hp, NULL, &h, &err) < 0)
                return api_fail(&err, 1);
        bool exists = berth_response_status(h) == 200;
        bool is_dir = false;
        if (exists && stat_header(h, &st) == 0)
                is_dir = ((uint64_t)berth_json_int(st, "mode", 0) & GO_MODE_DIR) != 0;
        if (berth_response_status(h) >= 400 && berth_response_status(h) != 404) {
                (void)berth_response_check(h, &err);
                return api_fail(&err, 1);
        }
        cleanup_free char *put_dir = NULL, *name = NULL;
        if (from_stdin) {
                if (!exists || !is_dir) {
                        fprintf(stderr,
                                "Error response from daemon: destination \"%s:%s\" must be a "
                                "directory\n",
                                ctr, dst);
                        return 1;
                }
                put_dir = xstrdup(dst);
        } else if (exists && is_dir) {
                put_dir = xstrdup(dst);
                name = base_name(src);
        } else {
                if (dst[strlen(dst) - 1] == '/' && !exists) {
                        fprintf(stderr,
                                "Error response from daemon: destination \"%s:%s\" must be a "
                                "directory\n",
                                ctr, dst);
                        return 1;
                }
                put_dir = dir_name(dst);
                name = base_name(dst);
        }
        int body_fd = STDIN_FILENO;
        FILE *tmp = NULL;
        if (!from_stdin) {
                tmp = tmpfile();
                if (tmp == NULL) {
                        fprintf(stderr, "Error: tmpfile: %s\n", strerror(errno));
                        return 1;
                }
                struct archive *a = archive_write_new();
                archive_write_set_format_pax_restricted(a);
                archive_write_open_fd(a, fileno(tmp));
                int k = add_tree(a, src, name, follow, keep_ids, &err);
                archive_write_close(a);
                archive_write_free(a);
                if (k < 0) {
                        fclose(tmp);
                        return api_fail(&err, 1);
                }
                (void)lseek(fileno(tmp), 0, SEEK_SET);
                body_fd = fileno(tmp);
        }
        cleanup_free char *pd = berth_url_escape(put_dir);
        cleanup_free char *pp =
            xasprintf("/containers/%s/archive?%snoOverwriteDirNonDir=true&path=%s", n,
                      keep_ids ? "copyUIDGID=true&" : "", pd);
        struct berth_request req = {.body_fd = body_fd, .content_type = "text/plain"};
        int k = berth_client_request(c->client, "PUT", pp, &req, &r, &err);
        if (tmp)
                fclose(tmp);
        if (k < 0 || berth_response_check(r, &err) < 0)
                return api_fail(&err, 1);
        return 0;
}

int cmd_cp(struct api_cli *c, int argc, char **argv)
{
        bool archive_mode = false, follow = false, quiet = false;
        const struct flag flags[] = {
            {'a', "archive", F_BOOL, &archive_mode, "Archive mode (copy all uid/gid information)",
             NULL},
            {'L', "follow-link", F_BOOL, &follow, "Always follow symbol link in SRC_PATH", NULL},
            {'q', "quiet", F_BOOL, &quiet, "Suppress progress output during copy", NULL},
        };
        const struct command cmd = {
            "cp",
            "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- "
            "CONTAINER:DEST_PATH",
            "Copy files/folders between a container and the local filesystem",
            2,
            2,
            false,
            "berth container cp, berth cp",
            flags,
            3};
        cleanup_free char **args = NULL;
        cleanup_free char *c1 = NULL, *p1 = NULL, *c2 = NULL, *p2 = NULL;
        int ex;
        if (flags_parse(&cmd, argc, argv, &args, &ex) < 0)
                return ex;
        split_ref(args[0], &c1, &p1);
        split_ref(args[1], &c2, &p2);
        if (c1 && c2) {
                fprintf(stderr, "copying between containers is not supported\n");
                return 1;
        }
        if (!c1 && !c2) {
                fprintf(stderr, "must specify at least one container source\n");
                return 1;
        }
        if (api_client(c) == NULL)
                return 1;
        if (c1)
                return cp_from(c, c1, p1, p2, follow);
        return cp_to(c, p1, c2, p2, follow, archive_mode);
}
