"""berthd killed with SIGKILL while containers run, then restarted: the
containers still run, their logs have no gap, attach and exec work."""

import time

from daemon_fixtures import berthd_factory  # noqa: F401
from daemon_fixtures import docker_text as docker, wait_for


def test_sigkill_daemon_containers_survive(berthd_factory):
    d = berthd_factory()
    docker(d, "run", "-d", "--name", "counter", "busybox", "sh", "-c",
             "i=0; while true; do echo $i; i=$((i+1)); usleep 100000; done")
    docker(d, "run", "-d", "--name", "always", "--restart", "always", "busybox", "sleep", "1000")
    st, doc = d.json("GET", "/v1.41/containers/counter/json")
    pid = doc["State"]["Pid"]
    wait_for(lambda: len(docker(d, "logs", "counter").stdout.split()) > 5)

    d.kill()
    time.sleep(1.5)  # the counter keeps printing while no daemon runs
    d.start()

    st, doc = d.json("GET", "/v1.41/containers/counter/json")
    assert st == 200
    assert doc["State"]["Running"] is True
    assert doc["State"]["Pid"] == pid
    wait_for(lambda: len(docker(d, "logs", "counter").stdout.split()) > 40)
    nums = [int(x) for x in docker(d, "logs", "counter").stdout.split()]
    assert nums == list(range(len(nums))), "gap in the log"

    p = docker(d, "exec", "counter", "echo", "exec-ok")
    assert p.stdout == "exec-ok\n"
    st, doc = d.json("GET", "/v1.41/containers/always/json")
    assert doc["State"]["Running"] is True

    # Stop after the restart still works (the shim is re-adopted).
    docker(d, "stop", "-t", "1", "counter")
    st, doc = d.json("GET", "/v1.41/containers/counter/json")
    assert doc["State"]["Status"] == "exited"
    docker(d, "rm", "-f", "counter", "always")


def test_exit_while_daemon_down_is_recorded(berthd_factory):
    d = berthd_factory()
    docker(d, "run", "-d", "--name", "short", "busybox", "sh", "-c", "sleep 1; exit 5")
    d.kill()
    time.sleep(2.5)
    d.start()
    st, doc = d.json("GET", "/v1.41/containers/short/json")
    assert doc["State"]["Status"] == "exited"
    assert doc["State"]["ExitCode"] == 5
    docker(d, "rm", "short")
