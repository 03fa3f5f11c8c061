/* SPDX-License-Identifier: Apache-2.0 */
/* Name tables of the security area: capabilities, rlimits, seccomp actions,
 * operators, architectures and flags, signals. Lookups are bsearch()es over
 * tables sorted by name (test-security.c checks every entry round-trips). */
#include "runtime/security.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/strutil.h"

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- capabilities ------------------------------------------------------- */

/* Index N is capability N. */
static const char *const cap_names[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

/* Sorted by name. */
static const struct berth_name_value cap_table[] = {
    {"CAP_AUDIT_CONTROL", 30},  {"CAP_AUDIT_READ", 37},   {"CAP_AUDIT_WRITE", 29},
    {"CAP_BLOCK_SUSPEND", 36},  {"CAP_BPF", 39},          {"CAP_CHECKPOINT_RESTORE", 40},
    {"CAP_CHOWN", 0},           {"CAP_DAC_OVERRIDE", 1},  {"CAP_DAC_READ_SEARCH", 2},
    {"CAP_FOWNER", 3},          {"CAP_FSETID", 4},        {"CAP_IPC_LOCK", 14},
    {"CAP_IPC_OWNER", 15},      {"CAP_KILL", 5},          {"CAP_LEASE", 28},
    {"CAP_LINUX_IMMUTABLE", 9}, {"CAP_MAC_ADMIN", 33},    {"CAP_MAC_OVERRIDE", 32},
    {"CAP_MKNOD", 27},          {"CAP_NET_ADMIN", 12},    {"CAP_NET_BIND_SERVICE", 10},
    {"CAP_NET_BROADCAST", 11},  {"CAP_NET_RAW", 13},      {"CAP_PERFMON", 38},
    {"CAP_SETFCAP", 31},        {"CAP_SETGID", 6},        {"CAP_SETPCAP", 8},
    {"CAP_SETUID", 7},          {"CAP_SYSLOG", 34},       {"CAP_SYS_ADMIN", 21},
    {"CAP_SYS_BOOT", 22},       {"CAP_SYS_CHROOT", 18},   {"CAP_SYS_MODULE", 16},
    {"CAP_SYS_NICE", 23},       {"CAP_SYS_PACCT", 20},    {"CAP_SYS_PTRACE", 19},
    {"CAP_SYS_RAWIO", 17},      {"CAP_SYS_RESOURCE", 24}, {"CAP_SYS_TIME", 25},
    {"CAP_SYS_TTY_CONFIG", 26}, {"CAP_WAKE_ALARM", 35},
};

_Static_assert(N_ELEMENTS(cap_names) == N_ELEMENTS(cap_table), "cap tables differ");
_Static_assert(N_ELEMENTS(cap_names) == CAP_LAST_CAP + 1, "cap table is not complete");

const char *const *berth_cap_names(size_t *n)
{
        *n = N_ELEMENTS(cap_names);
        return cap_names;
}

int berth_cap_from_name(const char *name)
{
        const struct berth_name_value *e =
            berth_name_lookup(cap_table, N_ELEMENTS(cap_table), name);
        return e ? (int)e->value : -1;
}

/* ---- rlimits ------------------------------------------------------------ */

static const struct berth_name_value rlimit_table[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

static const char *const rlimit_names[] = {
    "RLIMIT_AS",     "RLIMIT_CORE",   "RLIMIT_CPU",        "RLIMIT_DATA",
    "RLIMIT_FSIZE",  "RLIMIT_LOCKS",  "RLIMIT_MEMLOCK",    "RLIMIT_MSGQUEUE",
    "RLIMIT_NICE",   "RLIMIT_NOFILE", "RLIMIT_NPROC",      "RLIMIT_RSS",
    "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK",
};

_Static_assert(N_ELEMENTS(rlimit_names) == N_ELEMENTS(rlimit_table), "rlimit tables differ");

const char *const *berth_rlimit_names(size_t *n)
{
        *n = N_ELEMENTS(rlimit_names);
        return rlimit_names;
}

int berth_rlimit_from_name(const char *name)
{
        const struct berth_name_value *e =
            berth_name_lookup(rlimit_table, N_ELEMENTS(rlimit_table), name);
        return e ? (int)e->value : -1;
}

const char *berth_rlimit_name(int resource)
{
        for (size_t i = 0; i < N_ELEMENTS(rlimit_table); i++)
                if (rlimit_table[i].value == resource)
                        return rlimit_table[i].name;
        return "RLIMIT_?";
}

/* ---- seccomp ------------------------------------------------------------ */

static const struct berth_name_value action_table[] = {
    {"SCMP_ACT_ALLOW", SCMP_ACT_ALLOW},
    {"SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0)},
    {"SCMP_ACT_KILL", SCMP_ACT_KILL},
    {"SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS},
    {"SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD},
    {"SCMP_ACT_LOG", SCMP_ACT_LOG},
    {"SCMP_ACT_NOTIFY", SCMP_ACT_NOTIFY},
    {"SCMP_ACT_TRACE", SCMP_ACT_TRACE(0)},
    {"SCMP_ACT_TRAP", SCMP_ACT_TRAP},
};

static const char *const action_names[] = {
    "SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",        "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",          "SCMP_ACT_NOTIFY",
};

static const struct berth_name_value operator_table[] = {
    {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
    {"SCMP_CMP_NE", SCMP_CMP_NE},
};

static const char *const operator_names[] = {
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",        "SCMP_CMP_EQ",
    "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
};

/* Every architecture of the OCI spec; 0 for those this libseccomp lacks. */
static const struct berth_name_value arch_table[] = {
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
#ifdef SCMP_ARCH_LOONGARCH64
    {"SCMP_ARCH_LOONGARCH64", SCMP_ARCH_LOONGARCH64},
#else
    {"SCMP_ARCH_LOONGARCH64", 0},
#endif
#ifdef SCMP_ARCH_M68K
    {"SCMP_ARCH_M68K", SCMP_ARCH_M68K},
#else
    {"SCMP_ARCH_M68K", 0},
#endif
    {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390},
    {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
#ifdef SCMP_ARCH_SH
    {"SCMP_ARCH_SH", SCMP_ARCH_SH},
    {"SCMP_ARCH_SHEB", SCMP_ARCH_SHEB},
#else
    {"SCMP_ARCH_SH", 0},
    {"SCMP_ARCH_SHEB", 0},
#endif
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},
    {"SCMP_ARCH_X86", SCMP_ARCH_X86},
    {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
};

/* Those this libseccomp supports, in the spec's order. */
static const char *const arch_names[] = {
    "SCMP_ARCH_X86",         "SCMP_ARCH_X86_64",      "SCMP_ARCH_X32",       "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",
#ifdef SCMP_ARCH_LOONGARCH64
    "SCMP_ARCH_LOONGARCH64",
#endif
#ifdef SCMP_ARCH_M68K
    "SCMP_ARCH_M68K",
#endif
    "SCMP_ARCH_MIPS",        "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64",    "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",       "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",     "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
#ifdef SCMP_ARCH_SH
    "SCMP_ARCH_SH",          "SCMP_ARCH_SHEB",
#endif
    "SCMP_ARCH_PARISC",      "SCMP_ARCH_PARISC64",    "SCMP_ARCH_RISCV64",
};

static const struct berth_name_value flag_table[] = {
    {"SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
};

static const char *const flag_names[] = {
    "SECCOMP_FILTER_FLAG_TSYNC",
    "SECCOMP_FILTER_FLAG_LOG",
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
};

const char *const *berth_seccomp_action_names(size_t *n)
{
        *n = N_ELEMENTS(action_names);
        return action_names;
}

const char *const *berth_seccomp_operator_names(size_t *n)
{
        *n = N_ELEMENTS(operator_names);
        return operator_names;
}

const char *const *berth_seccomp_arch_names(size_t *n)
{
        *n = N_ELEMENTS(arch_names);
        return arch_names;
}

const char *const *berth_seccomp_flag_names(size_t *n)
{
        *n = N_ELEMENTS(flag_names);
        return flag_names;
}

const char *const *berth_seccomp_supported_flag_names(size_t *n)
{
        static const char *supported[N_ELEMENTS(flag_names) + 1];
        size_t k = 0;

        /* A flag the kernel knows makes seccomp() fail on the NULL program
         * with EFAULT; an unknown one fails with EINVAL (runc's probe). */
        for (size_t i = 0; i < N_ELEMENTS(flag_names); i++) {
                long flag = (long)berth_seccomp_flag_from_name(flag_names[i]);
                long r;

                /* WAIT_KILLABLE_RECV is only accepted with NEW_LISTENER. */
                if (flag == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)
                        flag |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
                r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flag, NULL);
                if (r < 0 && errno == EFAULT)
                        supported[k++] = flag_names[i];
        }
        supported[k] = NULL;
        *n = k;
        return supported;
}

int64_t berth_seccomp_action_from_name(const char *name)
{
        const struct berth_name_value *e =
            berth_name_lookup(action_table, N_ELEMENTS(action_table), name);
        return e ? (int64_t)(uint32_t)e->value : -1;
}

int berth_seccomp_operator_from_name(const char *name)
{
        const struct berth_name_value *e =
            berth_name_lookup(operator_table, N_ELEMENTS(operator_table), name);
        return e ? (int)e->value : -1;
}

int64_t berth_seccomp_arch_from_name(const char *name)
{
        const struct berth_name_value *e =
            berth_name_lookup(arch_table, N_ELEMENTS(arch_table), name);
        return e ? (int64_t)(uint32_t)e->value : -1;
}

int64_t berth_seccomp_flag_from_name(const char *name)
{
        const struct berth_name_value *e =
            berth_name_lookup(flag_table, N_ELEMENTS(flag_table), name);
        return e ? (int64_t)e->value : -1;
}

/* ---- signals ------------------------------------------------------------ */

/* Without the "SIG" prefix, sorted by name. */
static const struct berth_name_value signal_table[] = {
    {"ABRT", SIGABRT}, {"ALRM", SIGALRM}, {"BUS", SIGBUS},       {"CHLD", SIGCHLD},
    {"CLD", SIGCHLD},  {"CONT", SIGCONT}, {"FPE", SIGFPE},       {"HUP", SIGHUP},
    {"ILL", SIGILL},   {"INT", SIGINT},   {"IO", SIGIO},         {"IOT", SIGIOT},
    {"KILL", SIGKILL}, {"PIPE", SIGPIPE}, {"POLL", SIGPOLL},     {"PROF", SIGPROF},
    {"PWR", SIGPWR},   {"QUIT", SIGQUIT}, {"SEGV", SIGSEGV},     {"STKFLT", SIGSTKFLT},
    {"STOP", SIGSTOP}, {"SYS", SIGSYS},   {"TERM", SIGTERM},     {"TRAP", SIGTRAP},
    {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
    {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"VTALRM", SIGVTALRM}, {"WINCH", SIGWINCH},
    {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
};

/* "+N" / "-N" after RTMIN / RTMAX; "" is 0. */
static int parse_rt_offset(const char *s, int sign_expected, int *ret)
{
        int64_t v;

        if (*s == '\0') {
                *ret = 0;
                return 0;
        }
        if ((sign_expected > 0 && *s != '+') || (sign_expected < 0 && *s != '-'))
                return -EINVAL;
        if (s[1] < '0' || s[1] > '9' || berth_parse_int64(s + 1, &v) < 0 || v > SIGRTMAX - SIGRTMIN)
                return -EINVAL;
        *ret = (int)v * sign_expected;
        return 0;
}

int berth_signal_parse(const char *s, int *ret)
{
        char up[16];
        const char *name;
        const struct berth_name_value *e;
        size_t len;
        int64_t num;
        int off;

        if (s == NULL || *s == '\0')
                return -EINVAL;
        if (*s >= '0' && *s <= '9') {
                if (berth_parse_int64(s, &num) < 0 || num < 1 || num > SIGRTMAX)
                        return -EINVAL;
                *ret = (int)num;
                return 0;
        }
        len = strlen(s);
        if (len >= sizeof(up))
                return -EINVAL;
        for (size_t i = 0; i <= len; i++)
                up[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 'a' + 'A') : s[i];
        name = berth_str_has_prefix(up, "SIG") ? up + 3 : up;

        if (berth_str_has_prefix(name, "RTMIN")) {
                if (parse_rt_offset(name + 5, +1, &off) < 0)
                        return -EINVAL;
                *ret = SIGRTMIN + off;
                return 0;
        }
        if (berth_str_has_prefix(name, "RTMAX")) {
                if (parse_rt_offset(name + 5, -1, &off) < 0)
                        return -EINVAL;
                *ret = SIGRTMAX + off;
                return 0;
        }
        e = berth_name_lookup(signal_table, N_ELEMENTS(signal_table), name);
        if (e == NULL)
                return -EINVAL;
        *ret = (int)e->value;
        return 0;
}
