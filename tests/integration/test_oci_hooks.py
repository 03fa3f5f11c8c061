"""berth-oci: hooks run with the state on stdin; a hook timeout fails create cleanly."""

import json
import os
import time

from oci_util import leftovers

HOOK = """#!/bin/sh
# $1 = hook name, $2 = output dir
name=$1; out=$2
printf '%s\\n' "$@" > "$out/$name.args.tmp"
env > "$out/$name.env"
cat > "$out/$name.state"
mv "$out/$name.args.tmp" "$out/$name.args"
"""

# Paths of all hooks but startContainer resolve in the runtime namespace (createContainer runs
# in the container's namespaces before pivot_root, so host paths are still reachable).
HOST_HOOKS = ("prestart", "createRuntime", "createContainer", "poststart", "poststop")
CTR_HOOKS = ("startContainer",)  # path resolves in the container


def install_hooks(bundle):
    host_out = os.path.join(bundle.dir, "hookout")
    os.makedirs(host_out)
    host_script = os.path.join(bundle.dir, "hook.sh")
    for path in (host_script, os.path.join(bundle.rootfs, "hook.sh")):
        with open(path, "w") as f:
            f.write(HOOK)
        os.chmod(path, 0o755)
    hooks = {}
    for name in HOST_HOOKS:
        hooks[name] = [{"path": host_script, "args": ["hook.sh", name, host_out],
                        "env": [f"HOOKVAR={name}"]}]
    for name in CTR_HOOKS:
        hooks[name] = [{"path": "/hook.sh", "args": ["hook.sh", name, "/tmp"],
                        "env": [f"HOOKVAR={name}"]}]
    bundle.config["hooks"] = hooks
    return host_out, os.path.join(bundle.rootfs, "tmp")


def read_hook(d, name, timeout=5.0):
    end = time.monotonic() + timeout
    while not os.path.exists(os.path.join(d, f"{name}.args")):
        assert time.monotonic() < end, f"hook {name} did not run"
        time.sleep(0.02)
    with open(os.path.join(d, f"{name}.args")) as f:
        args = f.read().splitlines()
    with open(os.path.join(d, f"{name}.env")) as f:
        env = f.read().splitlines()
    with open(os.path.join(d, f"{name}.state")) as f:
        state = json.load(f)
    return args, env, state


def test_all_hooks_run_with_state(bundle):
    """Feature: hooks prestart, createRuntime, createContainer, startContainer, poststart,
    poststop each run with args, env and the state JSON on stdin."""
    host_out, ctr_out = install_hooks(bundle)
    bundle.sh("exec sleep 30")
    assert bundle.create().ok
    pid = bundle.state()["pid"]
    for name in ("prestart", "createRuntime", "createContainer"):
        assert os.path.exists(os.path.join(host_out if name in HOST_HOOKS else ctr_out,
                                           f"{name}.args")), f"{name} not run by create"
    assert not os.path.exists(os.path.join(ctr_out, "startContainer.args"))
    assert bundle.start().ok
    assert bundle.kill("KILL").ok
    bundle.wait_stopped()
    assert bundle.delete().ok
    expected_status = {"prestart": "creating", "createRuntime": "creating",
                       "createContainer": "creating", "startContainer": "created",
                       "poststart": "running", "poststop": "stopped"}
    for name in HOST_HOOKS + CTR_HOOKS:
        args, env, state = read_hook(host_out if name in HOST_HOOKS else ctr_out, name)
        assert args[:2] == [name, host_out if name in HOST_HOOKS else "/tmp"], (name, args)
        assert f"HOOKVAR={name}" in env, (name, env)
        assert state["id"] == bundle.id, (name, state)
        assert os.path.realpath(state["bundle"]) == os.path.realpath(bundle.dir), (name, state)
        assert state["ociVersion"]
        assert state["status"] in (expected_status[name], "created", "running", "stopped"), \
            (name, state)
        if name in ("createContainer", "startContainer"):
            assert state["pid"] > 0, (name, state)  # runc reports the in-namespace pid 1
        elif name != "poststop":
            assert state["pid"] == pid, (name, state)


def test_hook_timeout_fails_create(bundle):
    """Feature: a hook with a timeout that sleeps too long fails create with a clear message,
    leaving nothing behind."""
    bundle.config["hooks"] = {"createRuntime": [
        {"path": "/bin/sleep", "args": ["sleep", "10"], "timeout": 1}]}
    bundle.sh("true")
    t0 = time.monotonic()
    r = bundle.create(timeout=20)
    assert r.rc not in (0, "timeout"), r
    assert time.monotonic() - t0 < 8, "the hook timeout was not applied"
    assert "timeout" in r.err.lower() or "timed out" in r.err.lower(), r
    assert leftovers(bundle) == []


def test_failing_prestart_hook_fails_create(bundle):
    """Feature: a failing hook (exit 1) fails create, naming the hook, leaving nothing behind."""
    bundle.config["hooks"] = {"prestart": [
        {"path": "/bin/sh", "args": ["sh", "-c", "echo hook-said-no >&2; exit 1"]}]}
    bundle.sh("true")
    r = bundle.create()
    assert not r.ok, r
    assert "hook" in r.err.lower(), r
    assert leftovers(bundle) == []
