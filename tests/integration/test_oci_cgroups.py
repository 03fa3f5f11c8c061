"""berth-oci: cgroup v1 resources (written on the host, enforced inside), update, pause/resume."""

import json
import os
import time

import pytest

MiB = 1024 * 1024


def cg_path(bundle, ctrl, name):
    return f"/sys/fs/cgroup/{ctrl}{bundle.cgroups_path}/{name}"


def cg_read(bundle, ctrl, name):
    with open(cg_path(bundle, ctrl, name)) as f:
        return f.read().strip()


def resources(bundle):
    return bundle.config["linux"].setdefault("resources", {})


def created(bundle, script="exec sleep 30"):
    bundle.sh(script)
    r = bundle.create()
    assert r.ok, r
    return bundle.state()


def test_memory_limits_written(bundle):
    """Feature: memory limit/reservation/swap written to the v1 memory cgroup."""
    resources(bundle)["memory"] = {"limit": 48 * MiB, "reservation": 24 * MiB,
                                   "swap": 64 * MiB}
    created(bundle)
    assert int(cg_read(bundle, "memory", "memory.limit_in_bytes")) == 48 * MiB
    assert int(cg_read(bundle, "memory", "memory.soft_limit_in_bytes")) == 24 * MiB
    if os.path.exists(cg_path(bundle, "memory", "memory.memsw.limit_in_bytes")):
        assert int(cg_read(bundle, "memory", "memory.memsw.limit_in_bytes")) == 64 * MiB


def test_memory_limit_enforced(bundle):
    """Feature: memory limit enforced (a process allocating past it is OOM-killed)."""
    resources(bundle)["memory"] = {"limit": 16 * MiB, "swap": 16 * MiB}
    bundle.sh("dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo rc=$?; "
              "dd if=/dev/zero of=/dev/null bs=1M count=1 2>/dev/null; echo small=$?")
    r = bundle.run()
    assert r.ok, r
    assert r.out.split() == ["rc=137", "small=0"]


def test_pids_limit_enforced(bundle):
    """Feature: pids limit written and enforced (a fork loop stops)."""
    resources(bundle)["pids"] = {"limit": 8}
    # Only shell builtins after the fork loop: once the limit is reached, nothing can fork.
    created(bundle, "(for i in $(seq 1 20); do sleep 5 & done) 2>/tmp/err; "
                    "set -- /proc/[0-9]*; echo procs=$#; "
                    "while read -r l; do echo \"err: $l\"; done < /tmp/err")
    assert cg_read(bundle, "pids", "pids.max") == "8"
    r = bundle.start()
    assert r.ok, r
    bundle.wait_stopped()
    out, err = bundle.ctr_output()
    procs = [int(w.split("=")[1]) for w in out.split() if w.startswith("procs=")]
    assert procs and 2 <= procs[0] <= 8, (out, err)
    assert "can't fork" in out or "Resource temporarily unavailable" in out, (out, err)


def test_cpu_written(bundle):
    """Feature: cpu shares/quota/period written to the v1 cpu cgroup."""
    resources(bundle)["cpu"] = {"shares": 512, "quota": 50000, "period": 100000}
    created(bundle)
    assert cg_read(bundle, "cpu", "cpu.shares") == "512"
    assert cg_read(bundle, "cpu", "cpu.cfs_quota_us") == "50000"
    assert cg_read(bundle, "cpu", "cpu.cfs_period_us") == "100000"


@pytest.mark.skipif(os.cpu_count() < 2, reason="needs two CPUs")
def test_cpuset(bundle):
    """Feature: cpuset cpus/mems written and effective inside."""
    resources(bundle)["cpu"] = {"cpus": "1", "mems": "0"}
    st = created(bundle, "grep Cpus_allowed_list /proc/self/status")
    assert cg_read(bundle, "cpuset", "cpuset.cpus") == "1"
    assert cg_read(bundle, "cpuset", "cpuset.mems") == "0"
    assert st["status"] == "created"
    assert bundle.start().ok
    bundle.wait_stopped()
    out, _ = bundle.ctr_output()
    assert out.split() == ["Cpus_allowed_list:", "1"]


def blkio_weight_file():
    for name in ("blkio.weight", "blkio.bfq.weight"):
        if os.path.exists(f"/sys/fs/cgroup/blkio/{name}"):
            return name
    return None


@pytest.mark.skipif(blkio_weight_file() is None,
                    reason="this kernel's blkio cgroup has no weight file (no CFQ/BFQ)")
def test_blkio_weight(bundle):
    """Feature: blkio weight written."""
    resources(bundle)["blockIO"] = {"weight": 300}
    created(bundle)
    assert cg_read(bundle, "blkio", blkio_weight_file()).split()[-1] == "300"


def test_cgroups_path_honoured(bundle):
    """Feature: cgroupsPath honoured for every v1 controller, removed by delete."""
    st = created(bundle)
    with open(f"/proc/{st['pid']}/cgroup") as f:
        lines = [line.strip().split(":", 2) for line in f if line.strip()]
    v1 = {ctrl: path for _, ctrls, path in lines for ctrl in ctrls.split(",") if ctrl}
    for ctrl in ("memory", "pids", "cpu", "cpuset", "devices", "freezer"):
        assert v1.get(ctrl) == bundle.cgroups_path, (ctrl, lines)
    assert bundle.cgroup_dirs()
    assert bundle.delete(force=True).ok
    assert bundle.cgroup_dirs() == []


def test_update_live(bundle):
    """Feature: `update` changes limits live (flags and -r resources.json)."""
    resources(bundle)["memory"] = {"limit": 64 * MiB}
    resources(bundle)["pids"] = {"limit": 50}
    created(bundle)
    assert bundle.start().ok
    r = bundle.update("--memory", str(128 * MiB), "--pids-limit", "20")
    assert r.ok, r
    assert int(cg_read(bundle, "memory", "memory.limit_in_bytes")) == 128 * MiB
    assert cg_read(bundle, "pids", "pids.max") == "20"
    rfile = os.path.join(bundle.dir, "res.json")
    with open(rfile, "w") as f:
        json.dump({"cpu": {"shares": 256}, "pids": {"limit": 30}}, f)
    r = bundle.update("-r", rfile)
    assert r.ok, r
    assert cg_read(bundle, "cpu", "cpu.shares") == "256"
    assert cg_read(bundle, "pids", "pids.max") == "30"


def test_pause_resume(bundle):
    """Feature: pause/resume with the freezer (state says paused; the process stops counting)."""
    counter = os.path.join(bundle.rootfs, "tmp", "count")
    created(bundle, "i=0; while true; do i=$((i+1)); echo $i > /tmp/count; usleep 20000; done")
    assert bundle.start().ok

    def count():
        for _ in range(100):
            try:
                with open(counter) as f:
                    v = f.read().strip()
                if v:
                    return int(v)
            except FileNotFoundError:
                pass
            time.sleep(0.02)
        raise AssertionError("counter never written")

    count()
    r = bundle.pause()
    assert r.ok, r
    assert bundle.state()["status"] == "paused"
    assert cg_read(bundle, "freezer", "freezer.state") == "FROZEN"
    a = count()
    time.sleep(0.3)
    assert count() == a
    r = bundle.resume()
    assert r.ok, r
    assert bundle.state()["status"] == "running"
    time.sleep(0.3)
    assert count() > a
