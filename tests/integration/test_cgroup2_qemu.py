"""berth-oci on a pure cgroup v2 host, for real: Debian's kernel booted under
qemu (software emulation) with cgroup_no_v1=all.

The guest is an initramfs (tests/qemu/mkinitramfs.sh) holding busybox,
berth-oci and a busybox bundle; its init (tests/qemu/checks.sh) creates a
container with memory, pids, cpu and device limits, checks the cgroup files
from the host and from inside the container's cgroup namespace, proves each
limit is enforced (fork loop, OOM kill, throttling, eBPF device filter),
updates, pauses, resumes and deletes it, printing one "CHECK <name> OK|FAIL"
line per check on the serial console, then powers off.

Needs qemu-system-x86 and linux-image-amd64 (`scripts/install-deps.sh --qemu`,
run by the test when they are missing). Skipped only when they cannot be
installed or the guest does not boot; BERTH_SKIP_QEMU=1 opts out.
Environment: BERTH_QEMU_OCI (the berth-oci binary to boot, default: a
non-ASan build), BERTH_QEMU_KERNEL (default: the newest /boot/vmlinuz-*),
BERTH_QEMU_ACCEL (default tcg; "kvm" where nested KVM works).
"""

import glob
import hashlib
import os
import re
import shutil
import subprocess

import pytest

from oci_util import REPO, RUNTIME

QEMU_DIR = os.path.join(REPO, "tests", "qemu")
BOOT_TIMEOUT = 300

# Every check the guest must report OK (tests/qemu/checks.sh).
EXPECTED = [
    "host.cgroup2", "host.subtree_control", "create", "state.created",
    "host.cgroup.dir", "host.proc.cgroup", "host.cgroup.procs",
    "host.memory.max", "host.pids.max", "host.cpu.max", "host.cpu.weight",
    "start", "state.running",
    "inside.proc.cgroup", "inside.memory.max", "inside.pids.max", "inside.cpu.max",
    "inside.cpu.weight", "inside.cgroup2",
    "dev.null.allowed", "dev.kmsg.denied", "dev.vcs.read.allowed", "dev.vcs.write.denied",
    "pids.enforced", "pids.events", "pids.released",
    "memory.oom_kill", "memory.after.oom",
    "cpu.throttled",
    "update", "update.memory.max", "update.pids.max", "update.cpu.max",
    "update.inside.memory.max",
    "pause", "pause.cgroup.freeze", "pause.frozen", "pause.state",
    "resume", "resume.cgroup.freeze", "resume.frozen", "resume.state",
    "stats.memory.limit",
    "delete", "delete.cgroup.gone", "delete.process.gone", "delete.state.gone",
]

CHECK_RE = re.compile(r"^CHECK (\S+) (OK|FAIL)\b ?(.*)$")


def is_asan(path):
    with open(path, "rb") as f:
        return b"__asan_init" in f.read()


def pick_runtime():
    """A berth-oci without ASan when one is built (ASan needs its runtime and
    much memory in the guest); the ASan one otherwise (its libraries are
    copied too)."""
    if os.environ.get("BERTH_QEMU_OCI"):
        return os.environ["BERTH_QEMU_OCI"]
    candidates = [RUNTIME, os.path.join(REPO, "build", "src", "oci", "berth-oci")]
    built = [c for c in candidates if os.access(c, os.X_OK)]
    if not built:
        pytest.skip(f"berth-oci not built (looked for {candidates})")
    if not os.path.basename(built[0]).startswith("berth"):
        pytest.skip(f"`{built[0]}` is not berth-oci (OCI_RUNTIME is set)")
    for c in built:
        if os.path.basename(c).startswith("berth") and not is_asan(c):
            return c
    return built[0]


def kernel_path():
    if os.environ.get("BERTH_QEMU_KERNEL"):
        return os.environ["BERTH_QEMU_KERNEL"]
    kernels = sorted(glob.glob("/boot/vmlinuz-*"))
    return kernels[-1] if kernels else None


def ensure_tools():
    """qemu and a kernel, installed with install-deps.sh --qemu when missing;
    skips the test when they cannot be had."""
    if shutil.which("qemu-system-x86_64") is None or kernel_path() is None \
            or shutil.which("cpio") is None:
        r = subprocess.run(["sh", os.path.join(REPO, "scripts", "install-deps.sh"), "--qemu"],
                           capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            pytest.skip(f"cannot install qemu and a kernel: {r.stderr.strip()[-500:]}")
    qemu = shutil.which("qemu-system-x86_64")
    kernel = kernel_path()
    if qemu is None or kernel is None or not os.access(kernel, os.R_OK):
        pytest.skip(f"no qemu-system-x86_64 ({qemu}) or readable kernel ({kernel})")
    return qemu, kernel


def guest_inputs_digest():
    h = hashlib.sha256()
    for name in sorted(os.listdir(QEMU_DIR)):
        h.update(name.encode())
        with open(os.path.join(QEMU_DIR, name), "rb") as f:
            h.update(f.read())
    for script in ("mk-busybox-rootfs.sh",):
        with open(os.path.join(REPO, "scripts", script), "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:12]


def initramfs(oci):
    """Built once per berth-oci binary (its mtime) and guest scripts, cached
    next to the binary's build directory."""
    build_dir = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(oci))))
    cache = os.path.join(build_dir, "qemu")
    os.makedirs(cache, exist_ok=True)
    key = f"{os.stat(oci).st_mtime_ns}-{guest_inputs_digest()}"
    path = os.path.join(cache, f"initramfs-{key}.cpio.gz")
    if not os.path.exists(path):
        for old in glob.glob(os.path.join(cache, "initramfs-*.cpio.gz")):
            os.unlink(old)
        subprocess.run(["sh", os.path.join(QEMU_DIR, "mkinitramfs.sh"), path, oci],
                       check=True, capture_output=True, timeout=300)
    return path, cache


def boot(qemu, kernel, initrd, log_path):
    accel = os.environ.get("BERTH_QEMU_ACCEL", "tcg")
    argv = [qemu, "-accel", accel, "-m", "1024", "-smp", "2", "-nographic", "-no-reboot",
            "-kernel", kernel, "-initrd", initrd,
            "-append", "console=ttyS0 panic=-1 loglevel=4 "
                       "cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1"]
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=BOOT_TIMEOUT)
        out, timed_out = p.stdout, False
    except subprocess.TimeoutExpired as e:
        out, timed_out = e.stdout or b"", True
    text = out.decode(errors="replace").replace("\r", "")
    with open(log_path, "w") as f:
        f.write(text)
    return text, timed_out


@pytest.mark.skipif(os.environ.get("BERTH_SKIP_QEMU") == "1", reason="BERTH_SKIP_QEMU=1")
def test_cgroup2_under_qemu():
    """Feature: berth-oci's cgroup v2 manager on a pure v2 host (qemu guest):
    limits written and seen inside, enforced, updated, frozen, removed."""
    oci = pick_runtime()
    qemu, kernel = ensure_tools()
    initrd, cache = initramfs(oci)
    log_path = os.path.join(cache, "serial.log")
    text, timed_out = boot(qemu, kernel, initrd, log_path)

    if "GUEST kernel" not in text:
        pytest.skip(f"the qemu guest did not boot (timed out: {timed_out}); "
                    f"serial log {log_path}: {text[-800:]}")
    results = {}
    for line in text.splitlines():
        m = CHECK_RE.match(line.strip())
        if m:
            results[m.group(1)] = (m.group(2), m.group(3))
    failed = {k: v[1] for k, v in results.items() if v[0] != "OK"}
    missing = [k for k in EXPECTED if k not in results]
    assert not failed and not missing and "CHECKS DONE" in text, (
        f"failed: {failed}; missing: {missing}; timed out: {timed_out}; "
        f"serial log: {log_path}")
