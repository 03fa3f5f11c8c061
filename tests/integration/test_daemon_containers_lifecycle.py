"""Containers through a real berthd: create/run/stop/rm, limits that really
hold, health checks, restart policies, bad input. Driven with the docker CLI
and docker-py (the engine core's end-to-end tests)."""

import json
import time
from urllib.parse import quote

import pytest

from daemon_fixtures import berthd, berthd_factory, _module_berthd  # noqa: F401
from daemon_fixtures import docker_text as docker, wait_for
from daemon_fixtures import inspect_container as inspect, remove_container as rm


# ---- basics ----

def test_run_rm_echo(berthd):
    p = docker(berthd, "run", "--rm", "busybox", "echo", "hello berth")
    assert p.stdout == "hello berth\n"
    # --rm: nothing is left behind.
    st, lst = berthd.json("GET", "/v1.41/containers/json?all=1")
    assert st == 200
    assert not [c for c in lst if c["Command"] == "echo hello berth"]


def test_run_exit_code(berthd):
    p = docker(berthd, "run", "--rm", "busybox", "sh", "-c", "exit 7", check=False)
    assert p.returncode == 7


def test_run_d_env_user_workdir(berthd):
    name = "lc-env"
    rm(berthd, name)
    docker(berthd, "run", "-d", "--name", name, "-e", "FOO=bar", "-u", "65534:65534",
                  "-w", "/tmp", "busybox", "sh", "-c", "echo $FOO $(id -u):$(id -g) $(pwd); sleep 60")
    try:
        doc = inspect(berthd, name)
        assert doc["State"]["Running"] is True
        assert doc["State"]["Pid"] > 0
        assert doc["Name"] == "/" + name
        assert "FOO=bar" in doc["Config"]["Env"]
        out = wait_for(lambda: docker(berthd, "logs", name).stdout.strip())
        assert out == "bar 65534:65534 /tmp"
        # ps shows it with Docker's status text.
        ps = docker(berthd, "ps", "--format", "{{.Names}} {{.Status}}").stdout
        assert any(l.startswith(name + " Up ") for l in ps.splitlines()), ps
    finally:
        rm(berthd, name)


def test_user_by_name_from_image_passwd(berthd):
    p = docker(berthd, "run", "--rm", "-u", "nobody", "busybox", "id", "-u")
    assert p.stdout.strip() == "65534"
    p = docker(berthd, "run", "--rm", "-u", "nosuchuser", "busybox", "id", check=False)
    assert p.returncode != 0
    assert "nosuchuser" in p.stderr


def test_stop_and_rm(berthd):
    name = "lc-stop"
    rm(berthd, name)
    docker(berthd, "run", "-d", "--name", name, "busybox", "sleep", "1000")
    t0 = time.time()
    docker(berthd, "stop", "-t", "1", name)
    # busybox sleep as pid 1 ignores SIGTERM: killed after the 1 s timeout.
    assert time.time() - t0 < 8
    doc = inspect(berthd, name)
    assert doc["State"]["Status"] == "exited"
    assert doc["State"]["ExitCode"] == 137
    docker(berthd, "rm", name)
    st, _ = berthd.json("GET", "/v1.41/containers/%s/json" % name)
    assert st == 404


def test_rm_running_needs_force(berthd):
    name = "lc-rmforce"
    rm(berthd, name)
    docker(berthd, "run", "-d", "--name", name, "busybox", "sleep", "1000")
    st, body = berthd.json("DELETE", "/v1.41/containers/%s" % name)
    assert st == 409
    assert "cannot remove a running container" in body["message"]
    docker(berthd, "rm", "-f", name)
    st, _ = berthd.json("GET", "/v1.41/containers/%s/json" % name)
    assert st == 404


def test_pause_unpause_kill_wait(berthd):
    name = "lc-pause"
    rm(berthd, name)
    docker(berthd, "run", "-d", "--name", name, "busybox", "sleep", "1000")
    try:
        docker(berthd, "pause", name)
        assert inspect(berthd, name)["State"]["Status"] == "paused"
        docker(berthd, "unpause", name)
        assert inspect(berthd, name)["State"]["Status"] == "running"
        docker(berthd, "kill", "-s", "KILL", name)
        p = docker(berthd, "wait", name)
        assert p.stdout.strip() == "137"
    finally:
        rm(berthd, name)


def test_top_and_rename(berthd):
    name = "lc-top"
    rm(berthd, name)
    rm(berthd, name + "2")
    docker(berthd, "run", "-d", "--name", name, "busybox", "sleep", "1000")
    try:
        top = docker(berthd, "top", name).stdout
        assert "sleep 1000" in top
        docker(berthd, "rename", name, name + "2")
        assert inspect(berthd, name + "2")["Name"] == "/" + name + "2"
    finally:
        rm(berthd, name)
        rm(berthd, name + "2")


# ---- limits that hold ----

def test_read_only_rootfs_and_tmpfs(berthd):
    p = docker(berthd, "run", "--rm", "--read-only", "--tmpfs", "/scratch:size=1m",
                      "busybox", "sh", "-c",
                      "touch /x 2>/dev/null && echo wrote-root; "
                      "echo ok > /scratch/f && cat /scratch/f; "
                      "grep ' /scratch ' /proc/mounts")
    out = p.stdout
    assert "wrote-root" not in out
    assert "ok\n" in out
    assert "tmpfs" in out and "size=1024k" in out


def test_cap_drop_all_blocks_chown(berthd):
    p = docker(berthd, "run", "--rm", "busybox", "sh", "-c",
                      "touch /tmp/f && chown 65534 /tmp/f && echo chowned")
    assert "chowned" in p.stdout
    p = docker(berthd, "run", "--rm", "--cap-drop", "ALL", "busybox", "sh", "-c",
                      "touch /tmp/f && chown 65534 /tmp/f && echo chowned", check=False)
    assert "chowned" not in p.stdout
    assert p.returncode != 0


def test_no_new_privileges(berthd):
    p = docker(berthd, "run", "--rm", "--security-opt", "no-new-privileges", "busybox",
                      "grep", "NoNewPrivs", "/proc/self/status")
    assert p.stdout.split()[-1] == "1"
    p = docker(berthd, "run", "--rm", "busybox", "grep", "NoNewPrivs", "/proc/self/status")
    assert p.stdout.split()[-1] == "0"


def test_default_seccomp_blocks_mount_and_unshare(berthd):
    p = docker(berthd, "run", "--rm", "busybox", "unshare", "-n", "true", check=False)
    assert p.returncode != 0
    p = docker(berthd, "run", "--rm", "--security-opt", "seccomp=unconfined",
                      "--cap-add", "SYS_ADMIN", "busybox", "unshare", "-n", "true", check=False)
    assert p.returncode == 0, p.stderr


def test_memory_limit_oom_killed(berthd):
    name = "lc-oom"
    rm(berthd, name)
    p = docker(berthd, "run", "--name", name, "-m", "16m", "--memory-swap", "16m", "busybox",
                      "sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo done",
                      check=False)
    try:
        assert "done" not in p.stdout
        doc = inspect(berthd, name)
        assert doc["HostConfig"]["Memory"] == 16 * 1024 * 1024
        assert doc["State"]["OOMKilled"] is True
        assert doc["State"]["ExitCode"] == 137
    finally:
        rm(berthd, name)


def test_pids_limit_stops_fork_bomb(berthd):
    bomb = "for i in $(seq 1 30); do sleep 2 & done; echo all-forked"
    p = docker(berthd, "run", "--rm", "--pids-limit", "10", "busybox", "sh", "-c", bomb,
               check=False, timeout=60)
    assert "all-forked" not in p.stdout
    assert "can't fork" in p.stderr
    # The same without the limit forks them all.
    p = docker(berthd, "run", "--rm", "busybox", "sh", "-c", bomb, timeout=60)
    assert "all-forked" in p.stdout


def test_cpus_quota(berthd):
    name = "lc-cpus"
    rm(berthd, name)
    docker(berthd, "run", "-d", "--name", name, "--cpus", "0.5", "--cpu-shares", "512",
                  "busybox", "sleep", "100")
    try:
        doc = inspect(berthd, name)
        assert doc["HostConfig"]["NanoCpus"] == 500000000
        p = docker(berthd, "exec", name, "sh", "-c",
                          "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cat /sys/fs/cgroup/cpu.max")
        assert p.stdout.split()[0] == "50000"
    finally:
        rm(berthd, name)


# ---- health, restart ----

def test_health_transitions(berthd):
    name = "lc-health"
    rm(berthd, name)
    docker(berthd, "run", "-d", "--name", name,
                  "--health-cmd", "test ! -e /tmp/sick",
                  "--health-interval", "300ms", "--health-retries", "2",
                  "busybox", "sleep", "1000")
    try:
        assert inspect(berthd, name)["State"]["Health"]["Status"] == "starting"
        assert wait_for(lambda: inspect(berthd, name)["State"]["Health"]["Status"] == "healthy")
        docker(berthd, "exec", name, "touch", "/tmp/sick")
        assert wait_for(lambda: inspect(berthd, name)["State"]["Health"]["Status"] == "unhealthy")
        h = inspect(berthd, name)["State"]["Health"]
        assert h["FailingStreak"] >= 2
        assert 1 <= len(h["Log"]) <= 5
        assert h["Log"][-1]["ExitCode"] == 1
        ps = docker(berthd, "ps", "--filter", "name=" + name, "--format", "{{.Status}}").stdout
        assert "(unhealthy)" in ps
        st, _, evs = berthd.request("GET", "/v1.41/events?since=1&until=%d&filters=%s" % (
            int(time.time()) + 1, quote(json.dumps({"container": [name], "event": ["health_status"]}))))
        assert b"health_status: healthy" in evs and b"health_status: unhealthy" in evs
    finally:
        rm(berthd, name)


def test_restart_on_failure_counts(berthd):
    name = "lc-restart"
    rm(berthd, name)
    docker(berthd, "run", "-d", "--name", name, "--restart", "on-failure:3", "busybox",
                  "sh", "-c", "exit 3")
    try:
        def done():
            doc = inspect(berthd, name)
            return doc if doc["State"]["Status"] == "exited" and doc["RestartCount"] == 3 else None
        doc = wait_for(done, timeout=30)
        assert doc, inspect(berthd, name)
        assert doc["State"]["ExitCode"] == 3
        assert doc["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    finally:
        rm(berthd, name)


# ---- docker-py ----

def test_docker_py_run_and_logs(berthd):
    client = berthd.client()
    out = client.containers.run("busybox", ["sh", "-c", "echo one; echo two >&2"], remove=True,
                                stdout=True, stderr=True)
    assert b"one" in out and b"two" in out
    c = client.containers.run("busybox", ["sh", "-c", "for i in 1 2 3 4 5; do echo l$i; done; sleep 100"],
                              detach=True, environment={"X": "1"}, mem_limit="32m")
    try:
        wait_for(lambda: b"l5" in c.logs())
        assert c.logs(tail=2) == b"l4\nl5\n"
        c.reload()
        assert c.status == "running"
        assert c.attrs["HostConfig"]["Memory"] == 32 * 1024 * 1024
    finally:
        c.remove(force=True)


# ---- bad input ----

def test_name_conflict(berthd):
    name = "lc-dup"
    rm(berthd, name)
    docker(berthd, "create", "--name", name, "busybox", "true")
    try:
        st, body = berthd.json("POST", "/v1.41/containers/create?name=" + name,
                               {"Image": "busybox", "Cmd": ["true"]})
        assert st == 409
        assert "is already in use" in body["message"]
    finally:
        rm(berthd, name)


def test_ambiguous_prefix(berthd):
    ids = []
    try:
        # Create until two ids share a first hex digit.
        seen = {}
        while True:
            st, body = berthd.json("POST", "/v1.41/containers/create",
                                   {"Image": "busybox", "Cmd": ["true"]})
            assert st == 201
            ids.append(body["Id"])
            if body["Id"][0] in seen:
                prefix = body["Id"][0]
                break
            seen[body["Id"][0]] = True
        st, body = berthd.json("GET", "/v1.41/containers/%s/json" % prefix)
        assert st == 400
        assert "multiple IDs found" in body["message"]
        st, body = berthd.json("GET", "/v1.41/containers/%s/json" % ids[-1][:12])
        assert st == 200 and body["Id"] == ids[-1]
    finally:
        for i in ids:
            rm(berthd, i)


def test_unknown_image_404(berthd):
    st, body = berthd.json("POST", "/v1.41/containers/create",
                           {"Image": "nosuchimage:1", "Cmd": ["true"]})
    assert st == 404
    assert "No such image: nosuchimage:1" in body["message"]


@pytest.mark.parametrize("hc,needle", [
    ({"Memory": 100}, "Minimum memory limit"),
    ({"Memory": "x"}, "HostConfig.Memory"),
    ({"RestartPolicy": {"Name": "bogus"}}, "bogus"),
    ({"CapAdd": ["NOPE"]}, "NOPE"),
    ({"Ulimits": [{"Name": "nofile", "Soft": 10, "Hard": 1}]}, "ulimit"),
])
def test_bad_hostconfig_400(berthd, hc, needle):
    st, body = berthd.json("POST", "/v1.41/containers/create",
                           {"Image": "busybox", "Cmd": ["true"], "HostConfig": hc})
    assert st == 400, body
    assert needle in body["message"]


def test_missing_container_404(berthd):
    for method, path in (("GET", "/containers/nope/json"), ("POST", "/containers/nope/start"),
                         ("POST", "/containers/nope/stop"), ("DELETE", "/containers/nope")):
        st, body = berthd.json(method, "/v1.41" + path)
        assert st == 404
        assert "No such container: nope" in body["message"]
