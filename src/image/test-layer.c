/* SPDX-License-Identifier: Apache-2.0 */
/* Layers: apply (whiteouts, every file type, escapes, bad streams), diff
 * determinism, snapshots and overlay mounts. Runs as root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image/layer.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* ---- Helpers. ---- */

struct ent {
        const char *name;
        unsigned type; /* AE_IFREG when 0 */
        unsigned perm; /* 0644 / 0755 when 0 */
        const char *data;
        const char *link;     /* symlink target */
        const char *hardlink; /* hardlink target */
        unsigned uid, gid;
        int64_t mtime;
        unsigned maj, min;
        const char *xname;
        const void *xval;
        size_t xlen;
};

enum { F_PLAIN, F_GZIP, F_ZSTD };

static int new_memfd(void)
{
        int fd = memfd_create("layer", MFD_CLOEXEC);
        assert_true(fd >= 0);
        return fd;
}

static void tar_write(int fd, int filter, const struct ent *ents, size_t n)
{
        struct archive *a = archive_write_new();
        assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
        if (filter == F_GZIP)
                assert_true(archive_write_add_filter_gzip(a) >= ARCHIVE_WARN);
        else if (filter == F_ZSTD)
                assert_true(archive_write_add_filter_zstd(a) >= ARCHIVE_WARN);
        assert_int_equal(archive_write_open_fd(a, fd), ARCHIVE_OK);
        for (size_t i = 0; i < n; i++) {
                const struct ent *en = &ents[i];
                struct archive_entry *e = archive_entry_new();
                unsigned type = en->type ? en->type : AE_IFREG;
                archive_entry_set_pathname(e, en->name);
                archive_entry_set_filetype(e, type);
                archive_entry_set_perm(e, en->perm ? en->perm : type == AE_IFDIR ? 0755 : 0644);
                archive_entry_set_uid(e, en->uid);
                archive_entry_set_gid(e, en->gid);
                archive_entry_set_mtime(e, en->mtime ? en->mtime : 1600000000, 0);
                if (en->link)
                        archive_entry_set_symlink(e, en->link);
                if (en->hardlink)
                        archive_entry_set_hardlink(e, en->hardlink);
                if (type == AE_IFCHR || type == AE_IFBLK) {
                        archive_entry_set_rdevmajor(e, en->maj);
                        archive_entry_set_rdevminor(e, en->min);
                }
                if (en->xname)
                        archive_entry_xattr_add_entry(e, en->xname, en->xval, en->xlen);
                size_t len = en->data ? strlen(en->data) : 0;
                archive_entry_set_size(e, type == AE_IFREG && !en->hardlink ? (int64_t)len : 0);
                assert_true(archive_write_header(a, e) >= ARCHIVE_WARN);
                if (len > 0 && !en->hardlink)
                        assert_int_equal(archive_write_data(a, en->data, len), (ssize_t)len);
                archive_entry_free(e);
        }
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
}

static int make_tar(int filter, const struct ent *ents, size_t n)
{
        int fd = new_memfd();
        tar_write(fd, filter, ents, n);
        return fd;
}

#define TAR(filter, ...)                                                                           \
        make_tar(filter, (const struct ent[]){__VA_ARGS__},                                        \
                 sizeof((const struct ent[]){__VA_ARGS__}) / sizeof(struct ent))

static int apply(int root, int tarfd, unsigned flags, berth_error **err)
{
        struct berth_layer_apply_stats st;
        assert_int_equal(lseek(tarfd, 0, SEEK_SET), 0);
        return berth_layer_apply(root, tarfd, BERTH_LAYER_AUTO, flags, &st, err);
}

static char *mk_base(void)
{
        char tmpl[] = "/tmp/berth-layer-XXXXXX";
        assert_non_null(mkdtemp(tmpl));
        return xstrdup(tmpl);
}

static int open_dir(const char *base, const char *sub)
{
        cleanup_free char *p = xasprintf("%s/%s", base, sub);
        assert_int_equal(berth_mkdir_p(p, 0755, NULL), 0);
        int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        return fd;
}

static bool exists_at(int dfd, const char *p)
{
        struct stat st;
        return fstatat(dfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static char *read_at(int dfd, const char *p)
{
        char *buf = NULL;
        size_t len;
        if (berth_read_file_at(dfd, p, &buf, &len, NULL) < 0)
                return NULL;
        return buf;
}

static void fd_digest(int fd, char out[BERTH_DIGEST_STR_LEN])
{
        struct stat st;
        assert_int_equal(fstat(fd, &st), 0);
        void *m = st.st_size ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0) : NULL;
        berth_sha256_digest(m, (size_t)st.st_size, out);
        if (m)
                munmap(m, (size_t)st.st_size);
}

static bool fds_equal(int a, int b)
{
        struct stat sa, sb;
        assert_int_equal(fstat(a, &sa), 0);
        assert_int_equal(fstat(b, &sb), 0);
        if (sa.st_size != sb.st_size)
                return false;
        if (sa.st_size == 0)
                return true;
        void *ma = mmap(NULL, (size_t)sa.st_size, PROT_READ, MAP_SHARED, a, 0);
        void *mb = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, b, 0);
        bool eq = memcmp(ma, mb, (size_t)sa.st_size) == 0;
        munmap(ma, (size_t)sa.st_size);
        munmap(mb, (size_t)sb.st_size);
        return eq;
}

/* A minimal v2 file capability: cap_net_bind_service, effective. */
static const unsigned char cap_net_bind[20] = {0x01, 0x00, 0x00, 0x02, 0x00, 0x04};

/* ---- Apply. ---- */

static void test_apply_types(void **state)
{
        cleanup_free char *base = mk_base();
        cleanup_close int root = open_dir(base, "root");
        cleanup_close int t = TAR(
            F_PLAIN,
            {.name = "d", .type = AE_IFDIR, .perm = 0750, .uid = 7, .gid = 8, .mtime = 1000000000},
            {.name = "d/suid",
             .perm = 04755,
             .data = "#!/bin/sh\n",
             .uid = 1000,
             .gid = 1001,
             .mtime = 1234567890,
             .xname = "security.capability",
             .xval = cap_net_bind,
             .xlen = sizeof(cap_net_bind)},
            {.name = "d/user", .data = "x", .xname = "user.note", .xval = "hi", .xlen = 2},
            {.name = "d/link", .type = AE_IFLNK, .link = "suid", .uid = 5, .gid = 6},
            {.name = "/d/hard", .hardlink = "d/suid"},
            {.name = "./dev/null", .type = AE_IFCHR, .perm = 0666, .maj = 1, .min = 3},
            {.name = "dev/fifo", .type = AE_IFIFO, .perm = 0600},
            {.name = "dev/blk", .type = AE_IFBLK, .perm = 0660, .maj = 7, .min = 0});
        cleanup_error berth_error *err = NULL;
        struct berth_layer_apply_stats st;
        struct stat s;
        char want[BERTH_DIGEST_STR_LEN];

        assert_int_equal(berth_layer_apply(root, t, BERTH_LAYER_PLAIN, 0, &st, &err), 0);
        assert_null(err);
        fd_digest(t, want);
        assert_string_equal(st.diff_id, want);
        assert_string_equal(st.digest, want);
        assert_int_equal(st.entries, 8);
        assert_int_equal(st.unpacked_size, 11);

        assert_int_equal(fstatat(root, "d", &s, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISDIR(s.st_mode));
        assert_int_equal(s.st_mode & 07777, 0750);
        assert_int_equal(s.st_uid, 7);
        assert_int_equal(s.st_gid, 8);
        /* Set after its children were written. */
        assert_int_equal(s.st_mtim.tv_sec, 1000000000);

        assert_int_equal(fstatat(root, "d/suid", &s, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(s.st_mode & 07777, 04755);
        assert_int_equal(s.st_uid, 1000);
        assert_int_equal(s.st_gid, 1001);
        assert_int_equal(s.st_mtim.tv_sec, 1234567890);
        assert_int_equal(s.st_nlink, 2);
        cleanup_free char *content = read_at(root, "d/suid");
        assert_string_equal(content, "#!/bin/sh\n");
        cleanup_close int fd = openat(root, "d/suid", O_RDONLY | O_CLOEXEC);
        unsigned char cap[64];
        assert_int_equal(fgetxattr(fd, "security.capability", cap, sizeof(cap)),
                         sizeof(cap_net_bind));
        assert_memory_equal(cap, cap_net_bind, sizeof(cap_net_bind));
        char note[8];
        cleanup_close int fd2 = openat(root, "d/user", O_RDONLY | O_CLOEXEC);
        assert_int_equal(fgetxattr(fd2, "user.note", note, sizeof(note)), 2);
        assert_memory_equal(note, "hi", 2);

        struct stat h;
        assert_int_equal(fstatat(root, "d/hard", &h, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(h.st_ino, s.st_ino);

        char target[64];
        assert_int_equal(readlinkat(root, "d/link", target, sizeof(target)), 4);
        assert_memory_equal(target, "suid", 4);
        assert_int_equal(fstatat(root, "d/link", &s, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(s.st_uid, 5);

        assert_int_equal(fstatat(root, "dev/null", &s, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISCHR(s.st_mode));
        assert_int_equal(s.st_rdev, makedev(1, 3));
        assert_int_equal(s.st_mode & 0777, 0666);
        assert_int_equal(fstatat(root, "dev/fifo", &s, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISFIFO(s.st_mode));
        assert_int_equal(fstatat(root, "dev/blk", &s, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISBLK(s.st_mode));
        assert_int_equal(s.st_rdev, makedev(7, 0));
        assert_int_equal(berth_rm_rf(base, NULL), 0);
}

static void test_apply_compressed(void **state)
{
        const struct ent ents[] = {
            {.name = "a", .type = AE_IFDIR},
            {.name = "a/file", .data = "compressed content"},
        };
        cleanup_close int plain = make_tar(F_PLAIN, ents, 2);
        char want_diff[BERTH_DIGEST_STR_LEN], want_digest[BERTH_DIGEST_STR_LEN];
        fd_digest(plain, want_diff);

        for (int f = F_GZIP; f <= F_ZSTD; f++) {
                cleanup_free char *base = mk_base();
                cleanup_close int root = open_dir(base, "root");
                cleanup_close int t = make_tar(f, ents, 2);
                cleanup_error berth_error *err = NULL;
                struct berth_layer_apply_stats st;
                struct stat s;
                fd_digest(t, want_digest);
                assert_int_equal(fstat(t, &s), 0);
                assert_int_equal(berth_layer_apply(root, t, BERTH_LAYER_AUTO, 0, &st, &err), 0);
                assert_string_equal(st.diff_id, want_diff);
                assert_string_equal(st.digest, want_digest);
                assert_int_equal(st.size, s.st_size);
                assert_string_not_equal(st.diff_id, st.digest);
                cleanup_free char *c = read_at(root, "a/file");
                assert_string_equal(c, "compressed content");
                /* Naming the wrong compression fails clearly. */
                assert_int_equal(lseek(t, 0, SEEK_SET), 0);
                cleanup_close int root2 = open_dir(base, "root2");
                cleanup_error berth_error *err2 = NULL;
                assert_true(berth_layer_apply(root2, t,
                                              f == F_GZIP ? BERTH_LAYER_ZSTD : BERTH_LAYER_GZIP, 0,
                                              &st, &err2) < 0);
                assert_non_null(strstr(err2->msg, f == F_GZIP ? "zstd" : "gzip"));
                assert_int_equal(berth_rm_rf(base, NULL), 0);
        }
}

static void lower_tree(int root)
{
        cleanup_close int t =
            TAR(F_PLAIN, {.name = "a", .type = AE_IFDIR}, {.name = "a/f1", .data = "1"},
                {.name = "a/f2", .data = "2"}, {.name = "d", .type = AE_IFDIR},
                {.name = "d/x", .type = AE_IFDIR}, {.name = "d/x/old", .data = "old"},
                {.name = "d/y", .data = "y"});
        assert_int_equal(apply(root, t, 0, NULL), 0);
}

static int whiteout_layer(void)
{
        return TAR(F_PLAIN, {.name = "a/.wh.f1", .perm = 0600}, {.name = "d", .type = AE_IFDIR},
                   {.name = "d/.wh..wh..opq"}, {.name = "d/x", .type = AE_IFDIR},
                   {.name = "d/x/new", .data = "new"});
}

static void test_whiteouts_flat(void **state)
{
        cleanup_free char *base = mk_base();
        cleanup_close int root = open_dir(base, "root");
        cleanup_close int wl = whiteout_layer();
        lower_tree(root);
        assert_true(exists_at(root, "a/f1"));
        assert_true(exists_at(root, "d/y"));

        assert_int_equal(apply(root, wl, 0, NULL), 0);
        assert_false(exists_at(root, "a/f1"));
        assert_false(exists_at(root, "a/.wh.f1"));
        assert_true(exists_at(root, "a/f2"));
        assert_false(exists_at(root, "d/y"));
        assert_false(exists_at(root, "d/x/old"));
        assert_false(exists_at(root, "d/.wh..wh..opq"));
        cleanup_free char *c = read_at(root, "d/x/new");
        assert_string_equal(c, "new");
        assert_int_equal(berth_rm_rf(base, NULL), 0);
}

static void test_whiteouts_overlay(void **state)
{
        cleanup_free char *base = mk_base();
        cleanup_close int root = open_dir(base, "layer");
        cleanup_close int wl = whiteout_layer();
        struct stat s;
        char v[4];

        assert_int_equal(apply(root, wl, BERTH_LAYER_APPLY_OVERLAY, NULL), 0);
        assert_int_equal(fstatat(root, "a/f1", &s, AT_SYMLINK_NOFOLLOW), 0);
        assert_true(S_ISCHR(s.st_mode));
        assert_int_equal(s.st_rdev, makedev(0, 0));
        assert_false(exists_at(root, "a/.wh.f1"));
        assert_false(exists_at(root, "d/.wh..wh..opq"));
        cleanup_close int d = openat(root, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(fgetxattr(d, "trusted.overlay.opaque", v, sizeof(v)), 1);
        assert_int_equal(v[0], 'y');
        assert_true(exists_at(root, "d/x/new"));
        /* A tar cannot smuggle overlay xattrs in. */
        cleanup_close int evil = TAR(F_PLAIN, {.name = "e",
                                               .type = AE_IFDIR,
                                               .xname = "trusted.overlay.redirect",
                                               .xval = "/x",
                                               .xlen = 2});
        assert_int_equal(apply(root, evil, BERTH_LAYER_APPLY_OVERLAY, NULL), 0);
        cleanup_close int e = openat(root, "e", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(fgetxattr(e, "trusted.overlay.redirect", v, sizeof(v)), -1);
        assert_int_equal(berth_rm_rf(base, NULL), 0);
}

/* Everything below BASE, as one string, to prove nothing appeared. */
static void list_tree(int dfd, const char *rel, char **acc)
{
        cleanup_closedir DIR *d = fdopendir(openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        struct dirent *de;
        assert_non_null(d);
        char *names[256];
        size_t n = 0;
        while ((de = readdir(d)) != NULL && n < 256)
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        names[n++] = xstrdup(de->d_name);
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
                        char *t = names[j];
                        names[j] = names[j - 1];
                        names[j - 1] = t;
                }
        for (size_t i = 0; i < n; i++) {
                cleanup_free char *p = xasprintf("%s/%s", rel, names[i]);
                char *na = xasprintf("%s%s\n", *acc, p);
                free(*acc);
                *acc = na;
                struct stat st;
                if (fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                    S_ISDIR(st.st_mode)) {
                        cleanup_close int sub =
                            openat(dirfd(d), names[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        list_tree(sub, p, acc);
                }
                free(names[i]);
        }
}

struct escape_case {
        const char *what;
        int ntar;
        struct ent ents[3];
        const char *msg; /* expected in the error */
};

static void check_escapes(bool no_openat2)
{
        cleanup_free char *base = mk_base();
        cleanup_free char *sentinel = xasprintf("%s/host/etc/passwd", base);
        cleanup_free char *etc = xasprintf("%s/host/etc", base);
        struct stat hostpw_before, hostpw_after;
        assert_int_equal(berth_mkdir_p(etc, 0755, NULL), 0);
        assert_int_equal(berth_write_file_atomic(sentinel, "root:x:0:0\n", 11, 0644, NULL), 0);
        assert_int_equal(stat("/etc/passwd", &hostpw_before), 0);
        /* Escapes are relative to base/l1/l2/root, so ../../.. is base. */
        cleanup_free char *abs_etc = xstrdup(etc);
        const struct escape_case cases[] = {
            {"dotdot", 1, {{.name = "../x", .data = "p"}}, "path escapes"},
            {"abs dotdot", 1, {{.name = "/../../x", .data = "p"}}, "path escapes"},
            {"inner dotdot", 1, {{.name = "a/../../x", .data = "p"}}, "path escapes"},
            {"abs symlink",
             2,
             {{.name = "evil", .type = AE_IFLNK, .link = "/etc"},
              {.name = "evil/passwd", .data = "pwned"}},
             "absolute symlink"},
            {"abs symlink to host dir",
             2,
             {{.name = "evil", .type = AE_IFLNK, .link = abs_etc},
              {.name = "evil/passwd", .data = "pwned"}},
             "absolute symlink"},
            {"rel symlink",
             2,
             {{.name = "evil", .type = AE_IFLNK, .link = "../../.."},
              {.name = "evil/x", .data = "pwned"}},
             "leads out"},
            {"rel symlink in subdir",
             3,
             {{.name = "s", .type = AE_IFDIR},
              {.name = "s/evil", .type = AE_IFLNK, .link = "../../host"},
              {.name = "s/evil/etc/passwd", .data = "pwned"}},
             "leads out"},
            {"hardlink",
             1,
             {{.name = "h", .hardlink = "../../etc/passwd"}},
             "hardlink target escapes"},
            {"hardlink abs",
             1,
             {{.name = "h", .hardlink = "/../../../host/etc/passwd"}},
             "hardlink target escapes"},
            {"symlink chain",
             3,
             {{.name = "c1", .type = AE_IFLNK, .link = "c2/sub"},
              {.name = "c2", .type = AE_IFLNK, .link = "c3/../.."},
              {.name = "c1/x", .data = "pwned"}},
             "leads out"},
            {"hardlink through symlink",
             2,
             {{.name = "evil", .type = AE_IFLNK, .link = "../../../host"},
              {.name = "h", .hardlink = "evil/etc/passwd"}},
             "leads out"},
        };

        berth_fs_no_openat2 = no_openat2;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const struct escape_case *c = &cases[i];
                cleanup_free char *rootp = xasprintf("%s/l1/l2/root", base);
                assert_int_equal(berth_rm_rf(rootp, NULL), 0);
                cleanup_close int root = open_dir(base, "l1/l2/root");
                cleanup_close int all = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                cleanup_free char *before = xstrdup("");
                list_tree(all, "", &before);
                cleanup_close int t = make_tar(F_PLAIN, c->ents, (size_t)c->ntar);
                cleanup_error berth_error *err = NULL;
                for (unsigned flags = 0; flags <= BERTH_LAYER_APPLY_OVERLAY; flags++) {
                        berth_error_freep(&err);
                        int r = apply(root, t, flags, &err);
                        if (r >= 0 || err == NULL)
                                fail_msg("escape case `%s` was not refused", c->what);
                        if (r != -EPERM)
                                fail_msg("case `%s`: %d %s", c->what, r, err->msg);
                        if (strstr(err->msg, c->msg) == NULL ||
                            strncmp(err->msg, "layer entry `", 13) != 0)
                                fail_msg("case `%s`: unexpected message `%s`", c->what, err->msg);
                }
                /* Nothing appeared anywhere but inside the root. */
                cleanup_free char *after = xstrdup("");
                list_tree(all, "", &after);
                char *p = before, *q = after;
                for (char *line = strtok_r(q, "\n", &q); line; line = strtok_r(NULL, "\n", &q))
                        if (strncmp(line, "/l1/l2/root/", 12) != 0 && strstr(p, line) == NULL)
                                fail_msg("case `%s` created `%s` outside the root", c->what, line);
                cleanup_free char *pw = NULL;
                size_t len;
                assert_int_equal(berth_read_file(sentinel, &pw, &len, NULL), 0);
                assert_string_equal(pw, "root:x:0:0\n");
        }
        assert_int_equal(stat("/etc/passwd", &hostpw_after), 0);
        assert_int_equal(hostpw_before.st_ino, hostpw_after.st_ino);
        assert_int_equal(hostpw_before.st_mtim.tv_sec, hostpw_after.st_mtim.tv_sec);
        assert_int_equal(hostpw_before.st_size, hostpw_after.st_size);

        /* A regular file replacing a symlink that points outside: the
         * symlink goes, nothing is written through it. */
        {
                cleanup_close int root = open_dir(base, "l1/l2/root2");
                cleanup_close int t =
                    TAR(F_PLAIN, {.name = "evil", .type = AE_IFLNK, .link = sentinel},
                        {.name = "evil", .data = "pwned"},
                        {.name = "rel", .type = AE_IFLNK, .link = "../../../host/etc/passwd"},
                        {.name = "rel", .type = AE_IFDIR});
                assert_int_equal(apply(root, t, 0, NULL), 0);
                struct stat s;
                assert_int_equal(fstatat(root, "evil", &s, AT_SYMLINK_NOFOLLOW), 0);
                assert_true(S_ISREG(s.st_mode));
                assert_int_equal(fstatat(root, "rel", &s, AT_SYMLINK_NOFOLLOW), 0);
                assert_true(S_ISDIR(s.st_mode));
                cleanup_free char *pw = NULL;
                size_t len;
                assert_int_equal(berth_read_file(sentinel, &pw, &len, NULL), 0);
                assert_string_equal(pw, "root:x:0:0\n");
        }
        /* A symlink that stays inside is followed. */
        {
                cleanup_close int root = open_dir(base, "l1/l2/root3");
                cleanup_close int t = TAR(F_PLAIN, {.name = "usr/lib", .type = AE_IFDIR},
                                          {.name = "lib", .type = AE_IFLNK, .link = "usr/lib"},
                                          {.name = "lib/libc.so", .data = "elf"});
                assert_int_equal(apply(root, t, 0, NULL), 0);
                cleanup_free char *c = read_at(root, "usr/lib/libc.so");
                assert_string_equal(c, "elf");
        }
        berth_fs_no_openat2 = false;
        assert_int_equal(berth_rm_rf(base, NULL), 0);
}

static void test_escapes_openat2(void **state)
{
        check_escapes(false);
}

static void test_escapes_fallback(void **state)
{
        check_escapes(true);
}

static void test_bad_streams(void **state)
{
        cleanup_free char *base = mk_base();
        cleanup_close int root = open_dir(base, "root");
        char big[20000];
        memset(big, 'z', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        const struct ent ents[] = {{.name = "f", .data = big}, {.name = "g", .data = "g"}};
        struct stat s;

        /* Truncated gzip: cut in the middle. */
        {
                cleanup_close int t = make_tar(F_GZIP, ents, 2);
                assert_int_equal(fstat(t, &s), 0);
                assert_int_equal(ftruncate(t, s.st_size / 2), 0);
                cleanup_error berth_error *err = NULL;
                assert_true(apply(root, t, 0, &err) < 0);
                if (strstr(err->msg, "truncated gzip") == NULL)
                        fail_msg("%s", err->msg);
                /* Cut only the trailer: all the tar is there, the stream is not. */
                cleanup_close int t2 = make_tar(F_GZIP, ents, 2);
                assert_int_equal(fstat(t2, &s), 0);
                assert_int_equal(ftruncate(t2, s.st_size - 4), 0);
                cleanup_error berth_error *err2 = NULL;
                assert_true(apply(root, t2, 0, &err2) < 0);
                assert_non_null(strstr(err2->msg, "truncated gzip"));
        }
        /* Truncated zstd. */
        {
                cleanup_close int t = make_tar(F_ZSTD, ents, 2);
                assert_int_equal(fstat(t, &s), 0);
                assert_int_equal(ftruncate(t, s.st_size - 3), 0);
                cleanup_error berth_error *err = NULL;
                assert_true(apply(root, t, 0, &err) < 0);
                assert_non_null(strstr(err->msg, "zstd"));
        }
        /* Corrupt gzip body. */
        {
                cleanup_close int t = make_tar(F_GZIP, ents, 2);
                char junk[64];
                memset(junk, 0xa5, sizeof(junk));
                assert_int_equal(pwrite(t, junk, sizeof(junk), 20), sizeof(junk));
                cleanup_error berth_error *err = NULL;
                assert_true(apply(root, t, 0, &err) < 0);
                assert_non_null(strstr(err->msg, "gzip"));
        }
        /* Truncated plain tar, inside the file data. */
        {
                cleanup_close int t = make_tar(F_PLAIN, ents, 2);
                assert_int_equal(ftruncate(t, 5000), 0);
                cleanup_error berth_error *err = NULL;
                assert_true(apply(root, t, 0, &err) < 0);
                assert_non_null(strstr(err->msg, "runcated"));
        }
        /* Garbage. */
        {
                cleanup_close int t = new_memfd();
                char junk[4096];
                for (size_t i = 0; i < sizeof(junk); i++)
                        junk[i] = (char)(i * 7 + 3);
                assert_int_equal(write(t, junk, sizeof(junk)), sizeof(junk));
                cleanup_error berth_error *err = NULL;
                assert_true(apply(root, t, 0, &err) < 0);
                assert_true(strncmp(err->msg, "layer", 5) == 0);
        }
        /* Empty stream. */
        {
                cleanup_close int t = new_memfd();
                cleanup_error berth_error *err = NULL;
                assert_true(apply(root, t, 0, &err) < 0);
                assert_non_null(strstr(err->msg, "empty"));
        }
        /* Limits. */
        {
                cleanup_close int t = make_tar(F_PLAIN, ents, 2);
                struct berth_layer_limits lim = {.max_entries = 1};
                cleanup_error berth_error *err = NULL;
                assert_int_equal(
                    berth_layer_apply_limits(root, t, BERTH_LAYER_AUTO, 0, &lim, NULL, &err),
                    -E2BIG);
                assert_int_equal(lseek(t, 0, SEEK_SET), 0);
                struct berth_layer_limits lim2 = {.max_entry_size = 1000};
                cleanup_error berth_error *err2 = NULL;
                assert_int_equal(
                    berth_layer_apply_limits(root, t, BERTH_LAYER_AUTO, 0, &lim2, NULL, &err2),
                    -EFBIG);
                assert_non_null(strstr(err2->msg, "layer entry `f`"));
        }
        assert_int_equal(berth_rm_rf(base, NULL), 0);
}

/* ---- Diff. ---- */

static void set_time(int dfd, const char *p, time_t t)
{
        struct timespec ts[2] = {{t, 0}, {t, 0}};
        assert_int_equal(utimensat(dfd, p, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static void put(int dfd, const char *p, const char *data, mode_t mode)
{
        assert_int_equal(berth_write_file_at(dfd, p, data, strlen(data), true, NULL), 0);
        assert_int_equal(fchmodat(dfd, p, mode, 0), 0);
}

/* An overlay upper dir with every kind of entry, created in one of two
 * orders; the times are set explicitly at the end. */
static void build_upper(int u, bool reverse)
{
        if (!reverse) {
                assert_int_equal(mkdirat(u, "etc", 0755), 0);
                put(u, "etc/conf", "conf", 0640);
                assert_int_equal(mkdirat(u, "opq", 0700), 0);
                put(u, "opq/keep", "k", 0644);
                put(u, "bin", "binary", 04755);
                assert_int_equal(linkat(u, "bin", u, "bin2", 0), 0);
                assert_int_equal(symlinkat("etc/conf", u, "link"), 0);
                assert_int_equal(mknodat(u, "gone", S_IFCHR | 0, makedev(0, 0)), 0);
        } else {
                assert_int_equal(mknodat(u, "gone", S_IFCHR | 0, makedev(0, 0)), 0);
                assert_int_equal(symlinkat("etc/conf", u, "link"), 0);
                put(u, "bin", "binary", 04755);
                assert_int_equal(linkat(u, "bin", u, "bin2", 0), 0);
                assert_int_equal(mkdirat(u, "opq", 0700), 0);
                put(u, "opq/keep", "k", 0644);
                assert_int_equal(mkdirat(u, "etc", 0755), 0);
                put(u, "etc/conf", "conf", 0640);
        }
        assert_int_equal(fchownat(u, "etc/conf", 33, 44, 0), 0);
        assert_int_equal(fchmodat(u, "bin", 04755, 0), 0);
        cleanup_close int b = openat(u, "bin", O_RDONLY | O_CLOEXEC);
        assert_int_equal(fsetxattr(b, "user.x", "1", 1, 0), 0);
        assert_int_equal(fsetxattr(b, "security.capability", cap_net_bind, sizeof(cap_net_bind), 0),
                         0);
        cleanup_close int o = openat(u, "opq", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(fsetxattr(o, "trusted.overlay.opaque", "y", 1, 0), 0);
        set_time(u, "etc/conf", 1500000000);
        set_time(u, "opq/keep", 1500000001);
        set_time(u, "bin", 1500000002);
        set_time(u, "link", 1500000003);
        set_time(u, "gone", 1500000004);
        set_time(u, "etc", 1500000005);
        set_time(u, "opq", 1500000006);
}

static int diff_to(int dir, enum berth_layer_compression c, const struct berth_layer_diff_opts *o,
                   struct berth_layer_diff_result *res)
{
        int fd = new_memfd();
        cleanup_error berth_error *err = NULL;
        int r = berth_layer_diff(dir, fd, c, o, res, &err);
        if (r < 0)
                fail_msg("diff: %s", err->msg);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        return fd;
}

static void test_diff_deterministic(void **state)
{
        cleanup_free char *base = mk_base();
        cleanup_close int u1 = open_dir(base, "u1");
        cleanup_close int u2 = open_dir(base, "u2");
        struct berth_layer_diff_result r1, r2, r3, rp;

        unsetenv("SOURCE_DATE_EPOCH");
        build_upper(u1, false);
        build_upper(u2, true);
        cleanup_close int d1 = diff_to(u1, BERTH_LAYER_GZIP, NULL, &r1);
        /* Reading every file changes atimes; the output must not change. */
        struct timespec now[2] = {{2000000000, 0}, {0, UTIME_OMIT}};
        assert_int_equal(utimensat(u1, "etc/conf", now, 0), 0);
        cleanup_close int d2 = diff_to(u1, BERTH_LAYER_GZIP, NULL, &r2);
        cleanup_close int d3 = diff_to(u2, BERTH_LAYER_GZIP, NULL, &r3);
        assert_true(fds_equal(d1, d2));
        assert_true(fds_equal(d1, d3));
        assert_string_equal(r1.digest, r2.digest);
        assert_string_equal(r1.digest, r3.digest);
        assert_string_equal(r1.diff_id, r3.diff_id);

        char got[BERTH_DIGEST_STR_LEN];
        fd_digest(d1, got);
        assert_string_equal(got, r1.digest);
        struct stat s;
        assert_int_equal(fstat(d1, &s), 0);
        assert_int_equal(r1.size, s.st_size);

        /* The diffID is the digest of the plain stream. */
        cleanup_close int p = diff_to(u1, BERTH_LAYER_PLAIN, NULL, &rp);
        fd_digest(p, got);
        assert_string_equal(got, r1.diff_id);
        assert_string_equal(rp.diff_id, rp.digest);
        assert_int_equal(rp.uncompressed_size, r1.uncompressed_size);

        /* zstd: deterministic too, same diffID. */
        struct berth_layer_diff_result z1, z2;
        cleanup_close int zf1 = diff_to(u1, BERTH_LAYER_ZSTD, NULL, &z1);
        cleanup_close int zf2 = diff_to(u2, BERTH_LAYER_ZSTD, NULL, &z2);
        assert_true(fds_equal(zf1, zf2));
        assert_string_equal(z1.diff_id, r1.diff_id);
        assert_string_not_equal(z1.digest, r1.digest);

        /* A change shows. */
        set_time(u2, "bin", 1500000009);
        struct berth_layer_diff_result r4;
        cleanup_close int d4 = diff_to(u2, BERTH_LAYER_GZIP, NULL, &r4);
        assert_false(fds_equal(d1, d4));
        assert_string_not_equal(r4.diff_id, r1.diff_id);

        /* The tar holds OCI whiteouts, hardlinks, and no overlay xattrs. */
        struct archive *a = archive_read_new();
        archive_read_support_format_tar(a);
        assert_int_equal(archive_read_open_fd(a, p, 16384), ARCHIVE_OK);
        struct archive_entry *e;
        cleanup_free char *names = xstrdup("");
        bool saw_hard = false;
        while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
                char *n = xasprintf("%s%s;", names, archive_entry_pathname(e));
                free(names);
                names = n;
                if (archive_entry_hardlink(e)) {
                        assert_string_equal(archive_entry_pathname(e), "bin2");
                        assert_string_equal(archive_entry_hardlink(e), "bin");
                        saw_hard = true;
                }
                const char *xn;
                const void *xv;
                size_t xl;
                archive_entry_xattr_reset(e);
                while (archive_entry_xattr_next(e, &xn, &xv, &xl) == ARCHIVE_OK)
                        assert_true(strncmp(xn, "trusted.overlay.", 16) != 0);
                assert_false(archive_entry_atime_is_set(e));
                assert_false(archive_entry_ctime_is_set(e));
        }
        archive_read_free(a);
        assert_true(saw_hard);
        assert_string_equal(names, "bin;bin2;etc/;etc/conf;.wh.gone;link;opq/;opq/.wh..wh..opq;"
                                   "opq/keep;");

        /* metacopy uppers are refused. */
        cleanup_close int u3 = open_dir(base, "u3");
        put(u3, "m", "", 0644);
        cleanup_close int m = openat(u3, "m", O_RDONLY | O_CLOEXEC);
        assert_int_equal(fsetxattr(m, "trusted.overlay.metacopy", "", 0, 0), 0);
        cleanup_close int out = new_memfd();
        cleanup_error berth_error *err = NULL;
        assert_true(berth_layer_diff(u3, out, BERTH_LAYER_GZIP, NULL, NULL, &err) < 0);
        assert_non_null(strstr(err->msg, "metacopy"));
        assert_int_equal(berth_rm_rf(base, NULL), 0);
}

static void test_diff_source_date_epoch(void **state)
{
        cleanup_free char *base = mk_base();
        cleanup_close int u = open_dir(base, "u");
        put(u, "new", "n", 0644);
        put(u, "old", "o", 0644);
        set_time(u, "new", 5000);
        set_time(u, "old", 500);

        for (int round = 0; round < 2; round++) {
                struct berth_layer_diff_opts o = {.has_source_date_epoch = true,
                                                  .source_date_epoch = 1000};
                if (round == 0)
                        assert_int_equal(setenv("SOURCE_DATE_EPOCH", "1000", 1), 0);
                struct berth_layer_diff_result r;
                cleanup_close int fd = diff_to(u, BERTH_LAYER_PLAIN, round ? &o : NULL, &r);
                unsetenv("SOURCE_DATE_EPOCH");
                struct archive *a = archive_read_new();
                archive_read_support_format_tar(a);
                assert_int_equal(archive_read_open_fd(a, fd, 16384), ARCHIVE_OK);
                struct archive_entry *e;
                int n = 0;
                while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
                        if (strcmp(archive_entry_pathname(e), "new") == 0)
                                assert_int_equal(archive_entry_mtime(e), 1000);
                        else
                                assert_int_equal(archive_entry_mtime(e), 500);
                        n++;
                }
                assert_int_equal(n, 2);
                archive_read_free(a);
        }
        /* Without it, the real time. */
        struct berth_layer_diff_result r;
        cleanup_close int fd = diff_to(u, BERTH_LAYER_PLAIN, NULL, &r);
        struct archive *a = archive_read_new();
        archive_read_support_format_tar(a);
        assert_int_equal(archive_read_open_fd(a, fd, 16384), ARCHIVE_OK);
        struct archive_entry *e;
        assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
        assert_string_equal(archive_entry_pathname(e), "new");
        assert_int_equal(archive_entry_mtime(e), 5000);
        archive_read_free(a);
        /* A bad value is an error. */
        assert_int_equal(setenv("SOURCE_DATE_EPOCH", "yesterday", 1), 0);
        cleanup_close int out = new_memfd();
        cleanup_error berth_error *err = NULL;
        assert_int_equal(berth_layer_diff(u, out, BERTH_LAYER_PLAIN, NULL, NULL, &err), -EINVAL);
        assert_non_null(strstr(err->msg, "`yesterday`"));
        unsetenv("SOURCE_DATE_EPOCH");
        assert_int_equal(berth_rm_rf(base, NULL), 0);
}

static void compare_trees(int a, int b, const char *rel)
{
        cleanup_free char *la = xstrdup(""), *lb = xstrdup("");
        list_tree(a, "", &la);
        list_tree(b, "", &lb);
        assert_string_equal(la, lb);
        char *save = NULL;
        for (char *p = strtok_r(la, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
                const char *n = p + 1;
                struct stat sa, sb;
                assert_int_equal(fstatat(a, n, &sa, AT_SYMLINK_NOFOLLOW), 0);
                assert_int_equal(fstatat(b, n, &sb, AT_SYMLINK_NOFOLLOW), 0);
                if (sa.st_mode != sb.st_mode || sa.st_uid != sb.st_uid || sa.st_gid != sb.st_gid ||
                    sa.st_mtim.tv_sec != sb.st_mtim.tv_sec || sa.st_rdev != sb.st_rdev ||
                    sa.st_nlink != sb.st_nlink)
                        fail_msg("%s%s differs: mode %o/%o uid %d/%d mtime %ld/%ld nlink %ld/%ld",
                                 rel, n, sa.st_mode, sb.st_mode, sa.st_uid, sb.st_uid,
                                 (long)sa.st_mtim.tv_sec, (long)sb.st_mtim.tv_sec,
                                 (long)sa.st_nlink, (long)sb.st_nlink);
                if (S_ISREG(sa.st_mode)) {
                        cleanup_free char *ca = read_at(a, n), *cb = read_at(b, n);
                        assert_string_equal(ca, cb);
                }
                if (S_ISLNK(sa.st_mode)) {
                        char ta[256] = "", tb[256] = "";
                        assert_true(readlinkat(a, n, ta, sizeof(ta)) > 0);
                        assert_true(readlinkat(b, n, tb, sizeof(tb)) > 0);
                        assert_string_equal(ta, tb);
                }
                if (S_ISREG(sa.st_mode) || S_ISDIR(sa.st_mode)) {
                        const char *names[] = {"user.x", "security.capability",
                                               "trusted.overlay.opaque"};
                        for (size_t i = 0; i < 3; i++) {
                                char va[64], vb[64];
                                cleanup_close int fa = openat(a, n, O_RDONLY | O_CLOEXEC);
                                cleanup_close int fb = openat(b, n, O_RDONLY | O_CLOEXEC);
                                ssize_t xa = fgetxattr(fa, names[i], va, sizeof(va));
                                ssize_t xb = fgetxattr(fb, names[i], vb, sizeof(vb));
                                assert_int_equal(xa, xb);
                                if (xa > 0)
                                        assert_memory_equal(va, vb, (size_t)xa);
                        }
                }
        }
}

static void test_diff_apply_roundtrip(void **state)
{
        cleanup_free char *base = mk_base();
        cleanup_close int u = open_dir(base, "upper");
        cleanup_close int l = open_dir(base, "layer");
        struct berth_layer_diff_result r;
        struct berth_layer_apply_stats st;
        cleanup_error berth_error *err = NULL;

        unsetenv("SOURCE_DATE_EPOCH");
        build_upper(u, false);
        assert_int_equal(mkdirat(u, "dev", 0755), 0);
        assert_int_equal(mknodat(u, "dev/null", S_IFCHR | 0666, makedev(1, 3)), 0);
        assert_int_equal(fchmodat(u, "dev/null", 0666, 0), 0);
        assert_int_equal(mknodat(u, "dev/fifo", S_IFIFO | 0600, 0), 0);
        set_time(u, "dev/null", 1400000000);
        set_time(u, "dev/fifo", 1400000000);
        set_time(u, "dev", 1400000001);
        cleanup_close int fd = diff_to(u, BERTH_LAYER_GZIP, NULL, &r);
        /* Into a standalone layer dir: the overlay whiteouts come back. */
        assert_int_equal(
            berth_layer_apply(l, fd, BERTH_LAYER_AUTO, BERTH_LAYER_APPLY_OVERLAY, &st, &err), 0);
        assert_string_equal(st.diff_id, r.diff_id);
        assert_string_equal(st.digest, r.digest);
        assert_int_equal(st.size, r.size);
        compare_trees(u, l, "");

        /* Export of the tree, applied flat, gives the same tree. */
        cleanup_close int x = new_memfd();
        assert_int_equal(berth_tree_export(l, x, &err), 0);
        assert_int_equal(lseek(x, 0, SEEK_SET), 0);
        cleanup_close int flat = open_dir(base, "flat");
        assert_int_equal(apply(flat, x, BERTH_LAYER_APPLY_OVERLAY, &err), 0);
        /* Export does not convert: the 0/0 device is a device, no .wh. */
        assert_false(exists_at(flat, ".wh.gone"));
        assert_int_equal(berth_rm_rf(base, NULL), 0);
}

/* ---- Snapshots and mounts. ---- */

static bool have_mountns;

static int setup_ns(void **state)
{
        if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
                have_mountns = true;
        return 0;
}

static void test_chain_id(void **state)
{
        char d1[BERTH_DIGEST_STR_LEN], d2[BERTH_DIGEST_STR_LEN];
        char c[BERTH_DIGEST_STR_LEN], want[BERTH_DIGEST_STR_LEN];
        berth_sha256_digest("one", 3, d1);
        berth_sha256_digest("two", 3, d2);
        assert_int_equal(berth_chain_id(NULL, d1, c), 0);
        assert_string_equal(c, d1);
        assert_int_equal(berth_chain_id(d1, d2, c), 0);
        cleanup_free char *s = xasprintf("%s %s", d1, d2);
        berth_sha256_digest(s, strlen(s), want);
        assert_string_equal(c, want);
        assert_int_equal(berth_chain_id(NULL, "sha256:nothex", c), -EINVAL);
        assert_int_equal(berth_chain_id("bad", d1, c), -EINVAL);
}

static void unpack(const char *root, const char *parent, int tarfd,
                   char chain[BERTH_DIGEST_STR_LEN])
{
        cleanup_error berth_error *err = NULL;
        assert_int_equal(lseek(tarfd, 0, SEEK_SET), 0);
        if (berth_snapshot_unpack(root, parent, tarfd, BERTH_LAYER_AUTO, NULL, chain, &err) < 0)
                fail_msg("unpack: %s", err->msg);
}

static void test_snapshot_unpack(void **state)
{
        cleanup_free char *base = mk_base();
        cleanup_close int t1 = TAR(F_GZIP, {.name = "a", .data = "A"});
        cleanup_close int t2 = TAR(F_PLAIN, {.name = ".wh.a"}, {.name = "b", .data = "B"});
        char c1[BERTH_DIGEST_STR_LEN], c2[BERTH_DIGEST_STR_LEN], again[BERTH_DIGEST_STR_LEN];
        struct berth_layer_apply_stats st;
        cleanup_error berth_error *err = NULL;

        unpack(base, NULL, t1, c1);
        assert_true(berth_snapshot_exists(base, c1));
        unpack(base, c1, t2, c2);
        assert_true(berth_snapshot_exists(base, c2));
        char want[BERTH_DIGEST_STR_LEN];
        fd_digest(t2, want);
        assert_int_equal(berth_chain_id(c1, want, again), 0);
        assert_string_equal(c2, again);
        cleanup_free char *p2 = berth_snapshot_path(base, c2);
        cleanup_free char *wh = xasprintf("%s/a", p2);
        struct stat s;
        assert_int_equal(lstat(wh, &s), 0);
        assert_true(S_ISCHR(s.st_mode));

        /* Again: same chain, still there, the digests still computed. */
        assert_int_equal(lseek(t2, 0, SEEK_SET), 0);
        assert_int_equal(berth_snapshot_unpack(base, c1, t2, BERTH_LAYER_AUTO, &st, again, &err),
                         0);
        assert_string_equal(again, c2);
        assert_string_equal(st.diff_id, want);

        /* A bad layer leaves no snapshot and no temporary directory. */
        cleanup_close int bad = TAR(F_PLAIN, {.name = "../x", .data = "x"});
        assert_true(berth_snapshot_unpack(base, c1, bad, BERTH_LAYER_AUTO, NULL, again, &err) < 0);
        assert_non_null(strstr(err->msg, "escapes"));
        cleanup_free char *layers = xasprintf("%s/layers", base);
        cleanup_closedir DIR *d = opendir(layers);
        struct dirent *de;
        int n = 0;
        while ((de = readdir(d)) != NULL)
                if (de->d_name[0] != '.')
                        n++;
                else
                        assert_true(strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0);
        assert_int_equal(n, 2);
        /* A missing parent is refused. */
        berth_error_freep(&err);
        char missing[BERTH_DIGEST_STR_LEN];
        berth_sha256_digest("missing", 7, missing);
        assert_int_equal(
            berth_snapshot_unpack(base, missing, t1, BERTH_LAYER_AUTO, NULL, again, &err), -ENOENT);

        /* Crash leftovers are cleaned. */
        cleanup_free char *leftover = xasprintf("%s/.tmp-crash/x", layers);
        assert_int_equal(berth_mkdir_p(leftover, 0755, NULL), 0);
        assert_int_equal(berth_snapshot_cleanup_tmp(base, NULL), 0);
        cleanup_free char *lp = xasprintf("%s/.tmp-crash", layers);
        assert_int_equal(access(lp, F_OK), -1);

        assert_int_equal(berth_snapshot_remove(base, c2, NULL), 0);
        assert_false(berth_snapshot_exists(base, c2));
        assert_true(berth_snapshot_exists(base, c1));
        assert_int_equal(berth_snapshot_remove(base, c2, NULL), 0);
        assert_int_equal(berth_rm_rf(base, NULL), 0);
}

static void test_snapshot_mount(void **state)
{
        if (!have_mountns)
                skip();
        cleanup_free char *base = mk_base();
        cleanup_close int t1 =
            TAR(F_PLAIN, {.name = "a", .data = "A"}, {.name = "b", .data = "B"},
                {.name = "dir", .type = AE_IFDIR}, {.name = "dir/x", .data = "X"});
        cleanup_close int t2 = TAR(F_GZIP, {.name = ".wh.a"}, {.name = "c", .data = "C"});
        cleanup_close int t3 =
            TAR(F_ZSTD, {.name = "dir", .type = AE_IFDIR}, {.name = "dir/.wh..wh..opq"},
                {.name = "dir/y", .data = "Y"}, {.name = "b", .data = "B3"});
        char c[3][BERTH_DIGEST_STR_LEN];
        unpack(base, NULL, t1, c[0]);
        unpack(base, c[0], t2, c[1]);
        unpack(base, c[1], t3, c[2]);
        const char *ids[3] = {c[0], c[1], c[2]};
        cleanup_free char *upper = xasprintf("%s/ctr/upper", base);
        cleanup_free char *work = xasprintf("%s/ctr/work", base);
        cleanup_free char *target = xasprintf("%s/ctr/merged", base);
        assert_int_equal(berth_mkdir_p(upper, 0755, NULL), 0);
        assert_int_equal(berth_mkdir_p(work, 0755, NULL), 0);
        assert_int_equal(berth_mkdir_p(target, 0755, NULL), 0);

        for (int legacy = 0; legacy < 2; legacy++) {
                cleanup_error berth_error *err = NULL;
                if (legacy)
                        assert_int_equal(setenv("BERTH_NO_FSOPEN", "1", 1), 0);
                if (berth_snapshot_mount(base, ids, 3, upper, work, target, &err) < 0)
                        fail_msg("mount: %s", err->msg);
                unsetenv("BERTH_NO_FSOPEN");
                cleanup_close int m = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                assert_false(exists_at(m, "a"));
                cleanup_free char *b = read_at(m, "b");
                assert_string_equal(b, "B3");
                if (!legacy) {
                        cleanup_free char *cc = read_at(m, "c");
                        assert_string_equal(cc, "C");
                } else {
                        /* The upper of the first round is still there. */
                        assert_false(exists_at(m, "c"));
                        cleanup_free char *nn = read_at(m, "new");
                        assert_string_equal(nn, "N");
                }
                assert_false(exists_at(m, "dir/x"));
                assert_true(exists_at(m, "dir/y"));
                if (!legacy) {
                        /* Changes land in the upper dir, and diff to a layer. */
                        put(m, "new", "N", 0644);
                        assert_int_equal(unlinkat(m, "c", 0), 0);
                }
                close(m);
                m = -1;
                assert_int_equal(umount2(target, 0), 0);
        }
        cleanup_close int u = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct berth_layer_diff_result r;
        cleanup_close int fd = diff_to(u, BERTH_LAYER_PLAIN, NULL, &r);
        struct archive *a = archive_read_new();
        archive_read_support_format_tar(a);
        assert_int_equal(archive_read_open_fd(a, fd, 16384), ARCHIVE_OK);
        struct archive_entry *e;
        cleanup_free char *names = xstrdup("");
        while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
                char *n = xasprintf("%s%s;", names, archive_entry_pathname(e));
                free(names);
                names = n;
        }
        archive_read_free(a);
        assert_string_equal(names, ".wh.c;new;");

        /* A missing snapshot is refused by name. */
        cleanup_error berth_error *err = NULL;
        char missing[BERTH_DIGEST_STR_LEN];
        berth_sha256_digest("missing", 7, missing);
        const char *bad[2] = {c[0], missing};
        assert_int_equal(berth_snapshot_mount(base, bad, 2, NULL, NULL, target, &err), -ENOENT);
        assert_non_null(strstr(err->msg, missing));
        assert_int_equal(berth_rm_rf(base, NULL), 0);
}

static void test_snapshot_mount_many(void **state)
{
        if (!have_mountns)
                skip();
        enum { N = 150 };
        cleanup_free char *base = mk_base();
        char(*c)[BERTH_DIGEST_STR_LEN] = xcalloc(N, BERTH_DIGEST_STR_LEN);
        const char **ids = xcalloc(N, sizeof(char *));
        for (int i = 0; i < N; i++) {
                cleanup_free char *name = xasprintf("f%03d", i);
                cleanup_free char *data = xasprintf("%d", i);
                cleanup_close int t =
                    TAR(F_PLAIN, {.name = name, .data = data}, {.name = "top", .data = data});
                unpack(base, i ? c[i - 1] : NULL, t, c[i]);
                ids[i] = c[i];
        }
        cleanup_free char *target = xasprintf("%s/merged", base);
        assert_int_equal(berth_mkdir_p(target, 0755, NULL), 0);
        cleanup_error berth_error *err = NULL;
        if (berth_snapshot_mount(base, ids, N, NULL, NULL, target, &err) < 0)
                fail_msg("mount: %s", err->msg);
        cleanup_close int m = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(exists_at(m, "f000"));
        assert_true(exists_at(m, "f149"));
        cleanup_free char *top = read_at(m, "top");
        assert_string_equal(top, "149");
        close(m);
        m = -1;
        assert_int_equal(umount2(target, 0), 0);
        /* The legacy path cannot carry that many, and says so. */
        assert_int_equal(setenv("BERTH_NO_FSOPEN", "1", 1), 0);
        cleanup_error berth_error *err2 = NULL;
        assert_int_equal(berth_snapshot_mount(base, ids, N, NULL, NULL, target, &err2), -E2BIG);
        unsetenv("BERTH_NO_FSOPEN");
        assert_non_null(strstr(err2->msg, "150 layers"));
        free(ids);
        free(c);
        assert_int_equal(berth_rm_rf(base, NULL), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_apply_types),
            cmocka_unit_test(test_apply_compressed),
            cmocka_unit_test(test_whiteouts_flat),
            cmocka_unit_test(test_whiteouts_overlay),
            cmocka_unit_test(test_escapes_openat2),
            cmocka_unit_test(test_escapes_fallback),
            cmocka_unit_test(test_bad_streams),
            cmocka_unit_test(test_diff_deterministic),
            cmocka_unit_test(test_diff_source_date_epoch),
            cmocka_unit_test(test_diff_apply_roundtrip),
            cmocka_unit_test(test_chain_id),
            cmocka_unit_test(test_snapshot_unpack),
            cmocka_unit_test(test_snapshot_mount),
            cmocka_unit_test(test_snapshot_mount_many),
        };
        return cmocka_run_group_tests(tests, setup_ns, NULL);
}
