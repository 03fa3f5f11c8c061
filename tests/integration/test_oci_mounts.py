"""berth-oci: root, mounts, maskedPaths, readonlyPaths and sysctl, seen from inside."""

import os
import subprocess

import pytest


def run_ok(bundle, script):
    bundle.sh(script)
    r = bundle.run()
    assert r.ok, r
    return r.out


def host_dir(bundle, name, files=None):
    d = os.path.join(bundle.dir, name)
    os.makedirs(d, exist_ok=True)
    for fname, content in (files or {}).items():
        with open(os.path.join(d, fname), "w") as f:
            f.write(content)
    return d


def mountinfo_inside(out, dest):
    """(fields, fstype, super options) of the mountinfo line for DEST in OUT."""
    hit = None
    for line in out.splitlines():
        parts = line.split()
        if len(parts) > 4 and parts[4] == dest:
            hit = parts  # the last one wins (overmounts)
    assert hit, f"{dest} not mounted:\n{out}"
    sep = hit.index("-")
    return hit[5:sep], hit[sep + 1], hit[sep + 3] if len(hit) > sep + 3 else ""


def test_root_readonly(bundle):
    """Feature: root.readonly (a write to / fails)."""
    bundle.config["root"]["readonly"] = True
    out = run_ok(bundle, "touch /x 2>&1; echo rc=$?; touch /tmp/y 2>&1; echo rc=$?")
    assert "Read-only file system" in out
    assert "rc=0" not in out.splitlines()[1]


def test_bind_ro(bundle):
    """Feature: bind mount with ro (reads work, a write fails with EROFS)."""
    src = host_dir(bundle, "hostdata", {"hello": "from-host\n"})
    bundle.config["mounts"].append({"destination": "/mnt/ro", "type": "bind", "source": src,
                                    "options": ["bind", "ro"]})
    out = run_ok(bundle, "cat /mnt/ro/hello; touch /mnt/ro/new 2>&1; echo rc=$?")
    assert out.splitlines()[0] == "from-host"
    assert "Read-only file system" in out
    assert not os.path.exists(os.path.join(src, "new"))


def test_bind_rw_writes_reach_host(bundle):
    """Feature: bind mount rw (a write inside lands in the host directory)."""
    src = host_dir(bundle, "hostrw")
    bundle.config["mounts"].append({"destination": "/mnt/rw", "type": "bind", "source": src,
                                    "options": ["rbind", "rw"]})
    run_ok(bundle, "echo written > /mnt/rw/out")
    with open(os.path.join(src, "out")) as f:
        assert f.read() == "written\n"


def test_rbind_vs_bind_submounts(bundle):
    """Feature: rbind carries submounts, plain bind does not."""
    src = host_dir(bundle, "tree")
    sub = host_dir(bundle, "tree/sub")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", sub], check=True)
    try:
        with open(os.path.join(sub, "inner"), "w") as f:
            f.write("inner\n")
        bundle.config["mounts"] += [
            {"destination": "/mnt/r", "type": "bind", "source": src, "options": ["rbind"]},
            {"destination": "/mnt/b", "type": "bind", "source": src, "options": ["bind"]}]
        out = run_ok(bundle, "cat /mnt/r/sub/inner; ls -A /mnt/b/sub | wc -l")
        assert out.split() == ["inner", "0"]
    finally:
        subprocess.run(["umount", "-l", sub])


def test_tmpfs_size_mode(bundle):
    """Feature: tmpfs mount with size and mode options."""
    bundle.config["mounts"].append({"destination": "/mnt/t", "type": "tmpfs", "source": "tmpfs",
                                    "options": ["size=1m", "mode=1750", "nodev"]})
    out = run_ok(bundle, "stat -c %a /mnt/t; cat /proc/self/mountinfo")
    assert out.splitlines()[0] == "1750"
    _, fstype, sopts = mountinfo_inside(out, "/mnt/t")
    assert fstype == "tmpfs"
    assert "size=1024k" in sopts.split(",")


@pytest.mark.parametrize("prop,expect", [("rshared", "shared:"), ("rslave", "master:"),
                                         ("rprivate", None)])
def test_bind_propagation(bundle, prop, expect):
    """Feature: bind mount propagation options (rshared / rslave / rprivate)."""
    src = host_dir(bundle, "prop")
    # Make the source its own shared mount on the host so that slave/shared are observable.
    subprocess.run(["mount", "--bind", src, src], check=True)
    subprocess.run(["mount", "--make-shared", src], check=True)
    try:
        bundle.config["mounts"].append({"destination": "/mnt/p", "type": "bind", "source": src,
                                        "options": ["rbind", prop]})
        out = run_ok(bundle, "cat /proc/self/mountinfo")
        opt_fields, _, _ = mountinfo_inside(out, "/mnt/p")
        tags = [f.split(":")[0] + ":" for f in opt_fields[1:]]
        if expect is None:
            assert tags == [], opt_fields
        else:
            assert expect in tags, opt_fields
            if expect == "master:":
                assert "shared:" not in tags, opt_fields
    finally:
        subprocess.run(["umount", "-l", src])


def test_standard_filesystems(bundle):
    """Feature: proc, sysfs (ro), devpts, mqueue and tmpfs /dev mounts."""
    out = run_ok(bundle, "cat /proc/self/mountinfo")
    assert mountinfo_inside(out, "/proc")[1] == "proc"
    fields, fstype, _ = mountinfo_inside(out, "/sys")
    assert fstype == "sysfs" and "ro" in fields[0].split(",")
    assert mountinfo_inside(out, "/dev/pts")[1] == "devpts"
    assert mountinfo_inside(out, "/dev/mqueue")[1] == "mqueue"
    assert mountinfo_inside(out, "/dev/shm")[1] == "tmpfs"
    assert mountinfo_inside(out, "/dev")[1] == "tmpfs"


def test_cgroup_mount_ro(bundle):
    """Feature: cgroup mount (read-only): the controllers are visible, writes fail."""
    bundle.config["mounts"].append({"destination": "/sys/fs/cgroup", "type": "cgroup",
                                    "source": "cgroup",
                                    "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]})
    out = run_ok(bundle, "ls /sys/fs/cgroup; test -f /sys/fs/cgroup/memory/memory.limit_in_bytes "
                         "&& echo HAVE-MEMORY; (echo 1 > /sys/fs/cgroup/memory/memory.limit_in_bytes)"
                         " 2>&1; echo rc=$?")
    assert "memory" in out.split()
    assert "HAVE-MEMORY" in out
    assert "Read-only file system" in out


def test_masked_paths(bundle):
    """Feature: linux.maskedPaths (a masked file reads empty, a masked dir lists empty)."""
    host_dir(bundle, "rootfs/secret", {"key": "s3cr3t\n"})
    with open(os.path.join(bundle.rootfs, "etc", "secretfile"), "w") as f:
        f.write("hidden\n")
    bundle.config["linux"]["maskedPaths"] += ["/secret", "/etc/secretfile"]
    procfile = next(p for p in ("/proc/timer_list", "/proc/keys", "/proc/kcore")
                    if os.path.exists(p))
    assert os.path.getsize(procfile) > 0 or open(procfile).read(1)
    out = run_ok(bundle, f"cat {procfile} | wc -c; ls -A /secret | wc -l; "
                         "cat /etc/secretfile | wc -c; echo END")
    assert out.split() == ["0", "0", "0", "END"]


def test_readonly_paths(bundle):
    """Feature: linux.readonlyPaths (writes under the path fail with EROFS)."""
    host_dir(bundle, "rootfs/data")
    bundle.config["linux"]["readonlyPaths"].append("/data")
    out = run_ok(bundle, "touch /data/x 2>&1; (echo 1 > /proc/sys/net/ipv4/ip_forward) 2>&1;"
                         " touch /tmp/ok && echo TMP-OK")
    assert out.count("Read-only file system") == 2, out
    assert "TMP-OK" in out


def test_sysctl(bundle):
    """Feature: linux.sysctl (net.* in the netns, kernel.shm* in the ipc ns), host unchanged."""
    with open("/proc/sys/kernel/shmmax") as f:
        host_shmmax = f.read()
    bundle.config["linux"]["readonlyPaths"].remove("/proc/sys")
    bundle.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1",
                                        "kernel.shmmax": "123456789"}
    out = run_ok(bundle, "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax")
    assert out.split() == ["1", "123456789"]
    with open("/proc/sys/kernel/shmmax") as f:
        assert f.read() == host_shmmax
