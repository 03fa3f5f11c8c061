/* SPDX-License-Identifier: Apache-2.0 */
/* The cgroup v2 device filter: a BPF_PROG_TYPE_CGROUP_DEVICE program built
 * from the OCI device rules with raw bpf() syscalls. The last rule that
 * matches a request decides; no match denies. */
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/cgroup.h"
#include "util/cleanup.h"
#include "util/jsonutil.h"
#include "util/xalloc.h"

#define MAX_RULES    4096
#define MAX_ATTACHED 64

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
        struct bpf_insn i = {.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
        return i;
}

#define LDX_W(dst, src, off)   insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
#define ALU_IMM(op, dst, imm)  insn(BPF_ALU64 | (op) | BPF_K, dst, 0, 0, imm)
#define MOV_REG(dst, src)      insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0)
#define JNE_IMM(dst, imm, off) insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm)
#define JNE_REG(dst, src, off) insn(BPF_JMP | BPF_JNE | BPF_X, dst, src, off, 0)
#define EXIT()                 insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

struct prog {
        struct bpf_insn *v;
        size_t n, cap;
};

static void emit(struct prog *p, struct bpf_insn i)
{
        if (p->n == p->cap) {
                p->cap = p->cap ? p->cap * 2 : 64;
                p->v = xrealloc(p->v, p->cap * sizeof(*p->v));
        }
        p->v[p->n++] = i;
}

static int parse_access(const char *s, int *ret)
{
        int a = 0;
        for (; s && *s; s++) {
                switch (*s) {
                case 'r':
                        a |= BPF_DEVCG_ACC_READ;
                        break;
                case 'w':
                        a |= BPF_DEVCG_ACC_WRITE;
                        break;
                case 'm':
                        a |= BPF_DEVCG_ACC_MKNOD;
                        break;
                default:
                        return -EINVAL;
                }
        }
        *ret = a;
        return 0;
}

#define ACC_ALL (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)

/* Emit one rule; *ret_total is set when it matches every request (so that
 * the rules before it are unreachable). */
static int emit_rule(struct prog *p, json_object *rule, size_t idx, bool *ret_total,
                     berth_error **err)
{
        const char *type = berth_json_str(rule, "type");
        const char *access = berth_json_str(rule, "access");
        int64_t major = berth_json_int(rule, "major", -1);
        int64_t minor = berth_json_int(rule, "minor", -1);
        bool allow = berth_json_bool(rule, "allow", false);
        size_t jumps[4], nj = 0;
        int acc = ACC_ALL, devtype = 0;

        if (type == NULL || type[0] == '\0' || strcmp(type, "a") == 0)
                devtype = 0;
        else if (strcmp(type, "c") == 0)
                devtype = BPF_DEVCG_DEV_CHAR;
        else if (strcmp(type, "b") == 0)
                devtype = BPF_DEVCG_DEV_BLOCK;
        else
                return berth_fail(err, EINVAL, "cgroup: device rule %zu: bad type `%s`", idx, type);
        if (access && access[0] && parse_access(access, &acc) < 0)
                return berth_fail(err, EINVAL, "cgroup: device rule %zu: bad access `%s`", idx,
                                  access);
        if (major > UINT32_MAX || minor > UINT32_MAX)
                return berth_fail(err, EINVAL, "cgroup: device rule %zu: bad major/minor", idx);
        if (devtype != 0) {
                jumps[nj++] = p->n;
                emit(p, JNE_IMM(BPF_REG_2, devtype, 0));
        }
        if (acc != ACC_ALL) {
                /* The request's access bits must all be in the rule's. */
                emit(p, MOV_REG(BPF_REG_1, BPF_REG_3));
                emit(p, ALU_IMM(BPF_AND, BPF_REG_1, acc));
                jumps[nj++] = p->n;
                emit(p, JNE_REG(BPF_REG_1, BPF_REG_3, 0));
        }
        if (major >= 0) {
                jumps[nj++] = p->n;
                emit(p, JNE_IMM(BPF_REG_4, (int32_t)major, 0));
        }
        if (minor >= 0) {
                jumps[nj++] = p->n;
                emit(p, JNE_IMM(BPF_REG_5, (int32_t)minor, 0));
        }
        emit(p, insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, allow ? 1 : 0));
        emit(p, EXIT());
        /* "goto next": just past this block. */
        for (size_t i = 0; i < nj; i++)
                p->v[jumps[i]].off = (int16_t)(p->n - jumps[i] - 1);
        *ret_total = nj == 0;
        return 0;
}

int berth_cgroup_bpf_build(json_object *rules, struct bpf_insn **ret, size_t *ret_n,
                           berth_error **err)
{
        struct prog p = {0};
        size_t n = rules ? json_object_array_length(rules) : 0;
        bool total = false;

        if (n > MAX_RULES)
                return berth_fail(err, E2BIG, "cgroup: %zu device rules is too many", n);
        /* ctx: struct bpf_cgroup_dev_ctx { access_type (access << 16 | type),
         * major, minor }. r2 = type, r3 = access, r4 = major, r5 = minor. */
        emit(&p, LDX_W(BPF_REG_2, BPF_REG_1, 0));
        emit(&p, ALU_IMM(BPF_AND, BPF_REG_2, 0xffff));
        emit(&p, LDX_W(BPF_REG_3, BPF_REG_1, 0));
        emit(&p, ALU_IMM(BPF_RSH, BPF_REG_3, 16));
        emit(&p, LDX_W(BPF_REG_4, BPF_REG_1, 4));
        emit(&p, LDX_W(BPF_REG_5, BPF_REG_1, 8));
        /* Last rule wins: emit from the end. */
        for (size_t i = n; i-- > 0 && !total;) {
                int r = emit_rule(&p, json_object_array_get_idx(rules, i), i, &total, err);
                if (r < 0) {
                        free(p.v);
                        return r;
                }
        }
        if (!total) {
                emit(&p, insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));
                emit(&p, EXIT());
        }
        *ret = p.v;
        *ret_n = p.n;
        return 0;
}

static int sys_bpf(int cmd, union bpf_attr *attr)
{
        return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

int berth_cgroup_bpf_apply(int dirfd, json_object *rules, berth_error **err)
{
        cleanup_free struct bpf_insn *prog = NULL;
        cleanup_close int progfd = -1;
        uint32_t old[MAX_ATTACHED];
        uint32_t n_old = MAX_ATTACHED;
        union bpf_attr attr;
        size_t n = 0;
        int r;

        r = berth_cgroup_bpf_build(rules, &prog, &n, err);
        if (r < 0)
                return r;
        memset(&attr, 0, sizeof(attr));
        attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        attr.insns = (uint64_t)(uintptr_t)prog;
        attr.insn_cnt = (uint32_t)n;
        attr.license = (uint64_t)(uintptr_t) "Apache-2.0";
        progfd = sys_bpf(BPF_PROG_LOAD, &attr);
        if (progfd < 0)
                return berth_fail_errno(err, "cgroup: load the device filter (%zu instructions)",
                                        n);

        /* The programs attached before (a previous `update`), to detach
         * once the new one is in place. */
        memset(&attr, 0, sizeof(attr));
        attr.query.target_fd = (uint32_t)dirfd;
        attr.query.attach_type = BPF_CGROUP_DEVICE;
        attr.query.prog_ids = (uint64_t)(uintptr_t)old;
        attr.query.prog_cnt = n_old;
        if (sys_bpf(BPF_PROG_QUERY, &attr) < 0)
                n_old = 0;
        else
                n_old = attr.query.prog_cnt < MAX_ATTACHED ? attr.query.prog_cnt : MAX_ATTACHED;

        memset(&attr, 0, sizeof(attr));
        attr.target_fd = (uint32_t)dirfd;
        attr.attach_bpf_fd = (uint32_t)progfd;
        attr.attach_type = BPF_CGROUP_DEVICE;
        attr.attach_flags = BPF_F_ALLOW_MULTI;
        if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0)
                return berth_fail_errno(err, "cgroup: attach the device filter");

        for (uint32_t i = 0; i < n_old; i++) {
                memset(&attr, 0, sizeof(attr));
                attr.prog_id = old[i];
                cleanup_close int fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
                if (fd < 0)
                        continue;
                memset(&attr, 0, sizeof(attr));
                attr.target_fd = (uint32_t)dirfd;
                attr.attach_bpf_fd = (uint32_t)fd;
                attr.attach_type = BPF_CGROUP_DEVICE;
                if (sys_bpf(BPF_PROG_DETACH, &attr) < 0 && errno != ENOENT)
                        return berth_fail_errno(err, "cgroup: detach the old device filter");
        }
        return 0;
}
