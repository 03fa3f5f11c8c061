/* SPDX-License-Identifier: Apache-2.0 */
/* The default seccomp profile: an allowlist (everything else fails with
 * EPERM), in the OCI linux.seccomp shape. Berth's own list: the system calls
 * ordinary programs make, without those that reach the kernel's global state
 * (modules, clocks, mounts, namespaces, keyrings, BPF, perf, reboot, swap,
 * kexec...), which come back only with the capability that governs them. */
#include "core.h"

#include <errno.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/jsonutil.h"
#include "util/xalloc.h"

static const char *const allowed[] = {
    "accept",
    "accept4",
    "access",
    "adjtimex",
    "alarm",
    "arch_prctl",
    "bind",
    "brk",
    "cachestat",
    "capget",
    "capset",
    "chdir",
    "chmod",
    "chown",
    "chown32",
    "clock_getres",
    "clock_getres_time64",
    "clock_gettime",
    "clock_gettime64",
    "clock_nanosleep",
    "clock_nanosleep_time64",
    "clone",
    "clone3",
    "close",
    "close_range",
    "connect",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_ctl_old",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "epoll_wait_old",
    "eventfd",
    "eventfd2",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fadvise64_64",
    "fallocate",
    "fanotify_mark",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "fchown",
    "fchown32",
    "fchownat",
    "fcntl",
    "fcntl64",
    "fdatasync",
    "fgetxattr",
    "flistxattr",
    "flock",
    "fork",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstat64",
    "fstatat64",
    "fstatfs",
    "fstatfs64",
    "fsync",
    "ftruncate",
    "ftruncate64",
    "futex",
    "futex_requeue",
    "futex_time64",
    "futex_wait",
    "futex_waitv",
    "futex_wake",
    "futimesat",
    "get_robust_list",
    "get_thread_area",
    "getcpu",
    "getcwd",
    "getdents",
    "getdents64",
    "getegid",
    "getegid32",
    "geteuid",
    "geteuid32",
    "getgid",
    "getgid32",
    "getgroups",
    "getgroups32",
    "getitimer",
    "getpeername",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresgid32",
    "getresuid",
    "getresuid32",
    "getrlimit",
    "getrusage",
    "getsid",
    "getsockname",
    "getsockopt",
    "gettid",
    "gettimeofday",
    "getuid",
    "getuid32",
    "getxattr",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "io_cancel",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_pgetevents_time64",
    "io_setup",
    "io_submit",
    "ioctl",
    "ioprio_get",
    "ioprio_set",
    "ipc",
    "kill",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "lchown",
    "lchown32",
    "lgetxattr",
    "link",
    "linkat",
    "listen",
    "listxattr",
    "llistxattr",
    "lremovexattr",
    "lseek",
    "lsetxattr",
    "lstat",
    "lstat64",
    "madvise",
    "map_shadow_stack",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mmap2",
    "mprotect",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_timedsend",
    "mq_timedsend_time64",
    "mq_unlink",
    "mremap",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "name_to_handle_at",
    "nanosleep",
    "newfstatat",
    "open",
    "openat",
    "openat2",
    "pause",
    "pidfd_getfd",
    "pidfd_open",
    "pidfd_send_signal",
    "pipe",
    "pipe2",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "poll",
    "ppoll",
    "ppoll_time64",
    "prctl",
    "pread64",
    "preadv",
    "preadv2",
    "prlimit64",
    "process_mrelease",
    "pselect6",
    "pselect6_time64",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "recv",
    "recvfrom",
    "recvmmsg",
    "recvmmsg_time64",
    "recvmsg",
    "remap_file_pages",
    "removexattr",
    "rename",
    "renameat",
    "renameat2",
    "restart_syscall",
    "rmdir",
    "rseq",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_rr_get_interval_time64",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "select",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "semtimedop_time64",
    "send",
    "sendfile",
    "sendfile64",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "set_robust_list",
    "set_thread_area",
    "set_tid_address",
    "setfsgid",
    "setfsgid32",
    "setfsuid",
    "setfsuid32",
    "setgid",
    "setgid32",
    "setgroups",
    "setgroups32",
    "setitimer",
    "setpgid",
    "setpriority",
    "setregid",
    "setregid32",
    "setresgid",
    "setresgid32",
    "setresuid",
    "setresuid32",
    "setreuid",
    "setreuid32",
    "setrlimit",
    "setsid",
    "setsockopt",
    "setuid",
    "setuid32",
    "setxattr",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
    "shutdown",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "sigprocmask",
    "sigreturn",
    "socket",
    "socketcall",
    "socketpair",
    "splice",
    "stat",
    "stat64",
    "statfs",
    "statfs64",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "sysinfo",
    "tee",
    "tgkill",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_gettime64",
    "timer_settime",
    "timer_settime64",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_gettime64",
    "timerfd_settime",
    "timerfd_settime64",
    "times",
    "tkill",
    "truncate",
    "truncate64",
    "ugetrlimit",
    "umask",
    "uname",
    "unlink",
    "unlinkat",
    "utime",
    "utimensat",
    "utimensat_time64",
    "utimes",
    "vfork",
    "vmsplice",
    "wait4",
    "waitid",
    "waitpid",
    "write",
    "writev",
    "personality",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
};

/* System calls unlocked by a capability the container holds. */
static const struct {
        const char *cap;
        const char *const names[24];
} by_cap[] = {
    {"CAP_SYS_ADMIN",
     {"bpf",
      "clone",
      "fanotify_init",
      "fsconfig",
      "fsmount",
      "fsopen",
      "fspick",
      "lookup_dcookie",
      "mount",
      "mount_setattr",
      "move_mount",
      "open_tree",
      "perf_event_open",
      "quotactl",
      "quotactl_fd",
      "setdomainname",
      "sethostname",
      "setns",
      "syslog",
      "umount",
      "umount2",
      "unshare",
      "open_by_handle_at",
      NULL}},
    {"CAP_SYS_BOOT", {"reboot", NULL}},
    {"CAP_SYS_CHROOT", {"chroot", NULL}},
    {"CAP_SYS_MODULE", {"delete_module", "init_module", "finit_module", NULL}},
    {"CAP_SYS_PACCT", {"acct", NULL}},
    {"CAP_SYS_PTRACE", {"kcmp", "pidfd_getfd", "process_madvise", NULL}},
    {"CAP_SYS_RAWIO", {"iopl", "ioperm", NULL}},
    {"CAP_SYS_TIME",
     {"settimeofday", "stime", "clock_settime", "clock_settime64", "clock_adjtime",
      "clock_adjtime64", NULL}},
    {"CAP_SYS_TTY_CONFIG", {"vhangup", NULL}},
    {"CAP_SYS_NICE",
     {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node", "move_pages", NULL}},
    {"CAP_SYSLOG", {"syslog", NULL}},
    {"CAP_BPF", {"bpf", NULL}},
    {"CAP_PERFMON", {"perf_event_open", NULL}},
};

static bool has_cap(char *const *caps, const char *cap)
{
        for (size_t i = 0; caps && caps[i]; i++)
                if (strcmp(caps[i], cap) == 0)
                        return true;
        return false;
}

static json_object *arches(void)
{
        json_object *a = json_object_new_array();
        json_object_array_add(a, json_object_new_string("SCMP_ARCH_X86_64"));
        json_object_array_add(a, json_object_new_string("SCMP_ARCH_X86"));
        json_object_array_add(a, json_object_new_string("SCMP_ARCH_X32"));
        return a;
}

json_object *berth_seccomp_default(char *const *caps)
{
        json_object *s = json_object_new_object();
        json_object *rules = json_object_new_array();
        json_object *names = json_object_new_array();
        json_object *allow = json_object_new_object();
        bool sys_admin = has_cap(caps, "CAP_SYS_ADMIN");

        json_object_object_add(s, "defaultAction", json_object_new_string("SCMP_ACT_ERRNO"));
        json_object_object_add(s, "defaultErrnoRet", json_object_new_int(EPERM));
        json_object_object_add(s, "architectures", arches());
        json_object_object_add(s, "syscalls", rules);
        for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
                /* Without CAP_SYS_ADMIN, clone/clone3 are constrained below. */
                if (!sys_admin &&
                    (strcmp(allowed[i], "clone") == 0 || strcmp(allowed[i], "clone3") == 0))
                        continue;
                json_object_array_add(names, json_object_new_string(allowed[i]));
        }
        for (size_t i = 0; i < sizeof(by_cap) / sizeof(by_cap[0]); i++) {
                if (!has_cap(caps, by_cap[i].cap))
                        continue;
                for (size_t k = 0; by_cap[i].names[k]; k++)
                        json_object_array_add(names, json_object_new_string(by_cap[i].names[k]));
        }
        json_object_object_add(allow, "names", names);
        json_object_object_add(allow, "action", json_object_new_string("SCMP_ACT_ALLOW"));
        json_object_array_add(rules, allow);

        if (!sys_admin) {
                /* clone without any namespace flag; clone3 returns ENOSYS so
                 * that libcs fall back to clone, where the flags are visible. */
                json_object *cl = json_object_new_object();
                json_object *cn = json_object_new_array();
                json_object *args = json_object_new_array();
                json_object *a0 = json_object_new_object();
                json_object *c3 = json_object_new_object();
                json_object *c3n = json_object_new_array();
                /* CLONE_NEWNS|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWCGROUP|NEWTIME */
                int64_t ns_flags = 0x00020000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 |
                                   0x40000000 | 0x02000000 | 0x00000080;

                json_object_array_add(cn, json_object_new_string("clone"));
                json_object_object_add(cl, "names", cn);
                json_object_object_add(cl, "action", json_object_new_string("SCMP_ACT_ALLOW"));
                json_object_object_add(a0, "index", json_object_new_int(0));
                json_object_object_add(a0, "value", json_object_new_int64(ns_flags));
                json_object_object_add(a0, "valueTwo", json_object_new_int64(0));
                json_object_object_add(a0, "op", json_object_new_string("SCMP_CMP_MASKED_EQ"));
                json_object_array_add(args, a0);
                json_object_object_add(cl, "args", args);
                json_object_array_add(rules, cl);

                json_object_array_add(c3n, json_object_new_string("clone3"));
                json_object_object_add(c3, "names", c3n);
                json_object_object_add(c3, "action", json_object_new_string("SCMP_ACT_ERRNO"));
                json_object_object_add(c3, "errnoRet", json_object_new_int(ENOSYS));
                json_object_array_add(rules, c3);
        }
        return s;
}

/* Does a Docker rule's includes/excludes match CAPS? */
static bool rule_applies(json_object *rule, char *const *caps)
{
        json_object *inc = berth_json_get(rule, "includes");
        json_object *exc = berth_json_get(rule, "excludes");
        json_object *ic = berth_json_get(inc, "caps");
        json_object *ec = berth_json_get(exc, "caps");

        for (size_t i = 0; ic && i < json_object_array_length(ic); i++)
                if (!has_cap(caps, json_object_get_string(json_object_array_get_idx(ic, i))))
                        return false;
        for (size_t i = 0; ec && i < json_object_array_length(ec); i++)
                if (has_cap(caps, json_object_get_string(json_object_array_get_idx(ec, i))))
                        return false;
        return true;
}

int berth_seccomp_from_docker(const char *profile, char *const *caps, json_object **ret,
                              berth_error **err)
{
        cleanup_json json_object *p = NULL;
        json_object *s, *rules, *v;
        int r;

        r = berth_json_parse(profile, strlen(profile), "seccomp profile", &p, err);
        if (r < 0)
                return berth_error_prefix(err, -EINVAL, "invalid seccomp profile");
        if (!json_object_is_type(p, json_type_object) || !berth_json_str(p, "defaultAction"))
                return berth_engine_fail(err, EINVAL,
                                         "invalid seccomp profile: defaultAction is required");
        s = json_object_new_object();
        rules = json_object_new_array();
        json_object_object_add(s, "defaultAction",
                               json_object_new_string(berth_json_str(p, "defaultAction")));
        if ((v = berth_json_get(p, "defaultErrnoRet")))
                json_object_object_add(s, "defaultErrnoRet", json_object_get(v));
        if ((v = berth_json_get(p, "architectures"))) {
                json_object_object_add(s, "architectures", json_object_get(v));
        } else if ((v = berth_json_get(p, "archMap"))) {
                json_object *a = json_object_new_array();
                for (size_t i = 0; i < json_object_array_length(v); i++) {
                        json_object *m = json_object_array_get_idx(v, i);
                        json_object *sub = berth_json_get(m, "subArchitectures");
                        if (berth_json_str(m, "architecture"))
                                json_object_array_add(
                                    a, json_object_new_string(berth_json_str(m, "architecture")));
                        for (size_t k = 0; sub && k < json_object_array_length(sub); k++)
                                json_object_array_add(
                                    a, json_object_get(json_object_array_get_idx(sub, k)));
                }
                json_object_object_add(s, "architectures", a);
        }
        json_object_object_add(s, "syscalls", rules);
        v = berth_json_get(p, "syscalls");
        for (size_t i = 0; v && i < json_object_array_length(v); i++) {
                json_object *rule = json_object_array_get_idx(v, i);
                json_object *o, *x;
                if (!rule_applies(rule, caps))
                        continue;
                o = json_object_new_object();
                if ((x = berth_json_get(rule, "names")))
                        json_object_object_add(o, "names", json_object_get(x));
                else if (berth_json_str(rule, "name")) {
                        json_object *n = json_object_new_array();
                        json_object_array_add(n,
                                              json_object_new_string(berth_json_str(rule, "name")));
                        json_object_object_add(o, "names", n);
                }
                if ((x = berth_json_get(rule, "action")))
                        json_object_object_add(o, "action", json_object_get(x));
                if ((x = berth_json_get(rule, "errnoRet")))
                        json_object_object_add(o, "errnoRet", json_object_get(x));
                if ((x = berth_json_get(rule, "args")) && json_object_array_length(x))
                        json_object_object_add(o, "args", json_object_get(x));
                json_object_array_add(rules, o);
        }
        *ret = s;
        return 0;
}
