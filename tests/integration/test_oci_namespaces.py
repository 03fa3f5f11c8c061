"""berth-oci: namespaces (created and joined), user mappings, devices, seccomp."""

import os
import subprocess
import time
import uuid

import pytest


def run_ok(bundle, script):
    bundle.sh(script)
    r = bundle.run()
    assert r.ok, r
    return r.out


def ns_inode(kind, pid="self"):
    return os.readlink(f"/proc/{pid}/ns/{kind}")


def interfaces(proc_net_dev):
    return sorted(line.split(":")[0].strip() for line in proc_net_dev.splitlines()[2:]
                  if ":" in line)


def test_pid_namespace(bundle):
    """Feature: pid namespace (the process is pid 1)."""
    out = run_ok(bundle, "echo $$; ls -d /proc/[0-9]* | wc -l")
    pid, nprocs = out.split()
    assert pid == "1"
    assert int(nprocs) <= 3  # sh, ls, wc


def test_network_namespace_only_lo(bundle):
    """Feature: network namespace (only `lo`)."""
    out = run_ok(bundle, "cat /proc/net/dev")
    assert interfaces(out) == ["lo"]


@pytest.mark.parametrize("kind", ["ipc", "uts", "mnt", "net", "pid"])
def test_namespaces_differ_from_host(bundle, kind):
    """Feature: ipc/uts/mount/network/pid namespaces are new (inode differs from the host's)."""
    out = run_ok(bundle, f"readlink /proc/self/ns/{kind}")
    assert out.strip().startswith(kind + ":[")
    assert out.strip() != ns_inode(kind)


def test_without_namespace_shares_host(bundle):
    """Feature: a namespace not listed is the host's (ipc left out -> same inode)."""
    bundle.config["linux"]["namespaces"] = [n for n in bundle.config["linux"]["namespaces"]
                                            if n["type"] != "ipc"]
    assert run_ok(bundle, "readlink /proc/self/ns/ipc").strip() == ns_inode("ipc")


def test_cgroup_namespace(bundle):
    """Feature: cgroup namespace (/proc/self/cgroup shows `/`)."""
    bundle.config["linux"]["namespaces"].append({"type": "cgroup"})
    out = run_ok(bundle, "cat /proc/self/cgroup; readlink /proc/self/ns/cgroup")
    lines = out.splitlines()
    assert lines[-1] != ns_inode("cgroup")
    cg = [line for line in lines[:-1] if line]
    assert cg and all(line.endswith(":/") for line in cg), out


def test_no_cgroup_namespace_shows_path(bundle):
    """Feature: cgroupsPath visible in /proc/self/cgroup without a cgroup namespace."""
    out = run_ok(bundle, "cat /proc/self/cgroup")
    mem = [line for line in out.splitlines() if ":memory:" in line]
    assert mem and mem[0].endswith(":" + bundle.cgroups_path), out


def test_user_namespace_mappings(bundle):
    """Feature: user namespace with uid/gid mappings (root inside, 100000 on the host)."""
    bundle.config["linux"]["namespaces"].append({"type": "user"})
    bundle.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    bundle.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    rw = os.path.join(bundle.dir, "shared")
    os.makedirs(rw)
    os.chmod(rw, 0o777)
    os.makedirs(os.path.join(bundle.rootfs, "shared"))
    bundle.config["mounts"].append({"destination": "/shared", "type": "bind", "source": rw,
                                    "options": ["rbind", "rw"]})
    bundle.run_detached("id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; "
                        "touch /shared/made; exec sleep 30")
    st = bundle.state()
    host = os.stat(f"/proc/{st['pid']}")
    assert (host.st_uid, host.st_gid) == (100000, 100000)
    assert ns_inode("user", st["pid"]) != ns_inode("user")
    made = os.path.join(rw, "made")
    for _ in range(200):
        if os.path.exists(made):
            break
        time.sleep(0.02)
    f = os.stat(made)
    assert (f.st_uid, f.st_gid) == (100000, 100000)
    out, _ = bundle.ctr_output()
    lines = [line.split() for line in out.splitlines()]
    assert lines[0] == ["0"] and lines[1] == ["0"]
    assert lines[2] == ["0", "100000", "65536"] and lines[3] == ["0", "100000", "65536"]


@pytest.fixture
def netns():
    name = "bit-" + uuid.uuid4().hex[:8]
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "add", "vbitA", "type", "veth", "peer", "name",
                        "vbitB"], check=True)
        yield f"/var/run/netns/{name}"
    finally:
        subprocess.run(["ip", "netns", "del", name])


def test_join_network_namespace_by_path(bundle, netns):
    """Feature: joining a namespace by path (ip netns add; the container sees its veth pair)."""
    for n in bundle.config["linux"]["namespaces"]:
        if n["type"] == "network":
            n["path"] = netns
    out = run_ok(bundle, "cat /proc/net/dev; readlink /proc/self/ns/net")
    assert interfaces("\n".join(out.splitlines()[:-1])) == ["lo", "vbitA", "vbitB"]
    assert out.splitlines()[-1] == f"net:[{os.stat(netns).st_ino}]"


def test_custom_device(bundle):
    """Feature: linux.devices (a custom /dev/mydev with major/minor, mode, owner)."""
    bundle.config["linux"]["devices"] = [{"path": "/dev/mydev", "type": "c", "major": 1,
                                          "minor": 5, "fileMode": 0o646, "uid": 1000,
                                          "gid": 1000}]
    bundle.config["linux"]["resources"]["devices"].append(
        {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"})
    out = run_ok(bundle, "stat -c '%F %t:%T %a %u:%g' /dev/mydev; head -c 3 /dev/mydev | wc -c")
    assert out.splitlines() == ["character special file 1:5 646 1000:1000", "3"]


def test_default_devices(bundle):
    """Feature: the default device set is present and usable."""
    out = run_ok(bundle, "for d in null zero full random urandom tty; do "
                         "stat -c '%n %F %t:%T' /dev/$d; done; echo x > /dev/null && echo NULL-OK; "
                         "head -c 5 /dev/urandom | wc -c; for l in ptmx fd stdin; do readlink /dev/$l; done")
    lines = out.splitlines()
    assert lines[:6] == [f"/dev/{n} character special file {mm}" for n, mm in [
        ("null", "1:3"), ("zero", "1:5"), ("full", "1:7"), ("random", "1:8"),
        ("urandom", "1:9"), ("tty", "5:0")]]
    assert lines[6] == "NULL-OK" and lines[7] == "5"
    assert lines[8:] == ["pts/ptmx", "/proc/self/fd", "/proc/self/fd/0"]


@pytest.mark.parametrize("allowed", [False, True])
def test_device_cgroup_rule(bundle, allowed):
    """Feature: device cgroup rules (b 7:7, a loop device, denied by default, allowed by a rule)."""
    caps = bundle.config["process"]["capabilities"]
    for k in ("bounding", "effective", "permitted"):
        caps[k].append("CAP_MKNOD")
    if allowed:
        bundle.config["linux"]["resources"]["devices"].append(
            {"allow": True, "type": "b", "major": 7, "minor": 7, "access": "rw"})
    out = run_ok(bundle, "mknod /tmp/blk b 7 7 && echo MKNOD-OK; cat /tmp/blk 2>&1; true")
    assert "MKNOD-OK" in out
    assert ("Operation not permitted" in out) != allowed, out


def seccomp_cfg(rules, default="SCMP_ACT_ALLOW"):
    return {"defaultAction": default,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": rules}


def test_seccomp_errno_ret(bundle):
    """Feature: seccomp syscall rule with errnoRet (mkdir -> ENOSYS, "Function not implemented")."""
    bundle.config["linux"]["seccomp"] = seccomp_cfg([
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}])
    out = run_ok(bundle, "grep -E '^Seccomp' /proc/self/status; mkdir /tmp/d 2>&1; "
                         "test -d /tmp/d || echo NO-DIR; touch /tmp/f && echo TOUCH-OK")
    assert "Seccomp:\t2" in out
    assert "Function not implemented" in out
    assert "NO-DIR" in out and "TOUCH-OK" in out


def test_seccomp_argument_condition(bundle):
    """Feature: seccomp rule with an argument condition (chmod to 0777 refused, 0755 allowed)."""
    bundle.config["linux"]["seccomp"] = seccomp_cfg([
        {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
         "args": [{"index": 1, "value": 0o777, "op": "SCMP_CMP_EQ"}]},
        {"names": ["fchmodat", "fchmodat2"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
         "args": [{"index": 2, "value": 0o777, "op": "SCMP_CMP_EQ"}]}])
    out = run_ok(bundle, "touch /tmp/f; chmod 755 /tmp/f && echo C755-OK; chmod 777 /tmp/f 2>&1;"
                         " stat -c %a /tmp/f")
    lines = out.splitlines()
    assert lines[0] == "C755-OK"
    assert "Operation not permitted" in lines[1]
    assert lines[-1] == "755"

