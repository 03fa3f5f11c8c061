"""berth-oci: bad config.json fails with a message naming the field/value, leaving nothing."""

import os
import shutil

import pytest

from oci_util import IS_BERTH, SPEC_TESTS_DIR, leftovers

schema_only = pytest.mark.skipif(not IS_BERTH, reason="reference runtimes do not validate "
                                 "config.json against the JSON schema")


def create_fails(bundle, *needles, write=True, berth_needles=()):
    """create must fail, stderr must contain every NEEDLE (and, for berth-oci, every one of
    BERTH_NEEDLES: runc's messages are vaguer than ours), nothing may be left behind."""
    r = bundle.create() if write else bundle.rt("create", "--bundle", bundle.dir, bundle.id)
    assert r.rc not in (0, "timeout"), r
    for n in needles + (tuple(berth_needles) if IS_BERTH else ()):
        assert n in r.err, (n, r)
    assert leftovers(bundle) == []
    assert not bundle.rt("state", bundle.id).ok
    return r


def test_invalid_json(bundle):
    """Bad input: config.json that is not valid JSON."""
    with open(os.path.join(bundle.dir, "config.json"), "w") as f:
        f.write('{"ociVersion": "1.0.2", "process": {]')
    create_fails(bundle, write=False, berth_needles=["config.json"])


@schema_only
@pytest.mark.parametrize("name,needle", [("linux-hugepage.json", "pageSize"),
                                         ("linux-netdevice.json", "name"),
                                         ("linux-rdma.json", "hcaHandles"),
                                         ("invalid-json.json", "config.json")])
def test_spec_bad_documents(bundle, name, needle):
    """Bad input: every `bad` document of the runtime-spec test suite is refused."""
    shutil.copy(os.path.join(SPEC_TESTS_DIR, "config", "bad", name),
                os.path.join(bundle.dir, "config.json"))
    create_fails(bundle, needle, write=False)


@schema_only
def test_schema_violation_in_full_config(bundle):
    """Bad input: a schema violation (process.user.uid a string) names the field and value."""
    bundle.config["process"]["user"]["uid"] = "root"
    create_fails(bundle, "uid", "root")


def test_missing_rootfs(bundle):
    """Bad input: root.path that does not exist."""
    bundle.config["root"]["path"] = "no-such-rootfs"
    create_fails(bundle, "no-such-rootfs")


def test_missing_bind_source(bundle):
    """Bad input: a bind mount whose source does not exist."""
    src = os.path.join(bundle.dir, "no-such-source")
    bundle.config["mounts"].append({"destination": "/mnt/x", "type": "bind", "source": src,
                                    "options": ["rbind"]})
    create_fails(bundle, src)


def test_missing_namespace_path(bundle):
    """Bad input: joining a namespace by a path that does not exist."""
    path = "/var/run/netns/berth-no-such-netns"
    for n in bundle.config["linux"]["namespaces"]:
        if n["type"] == "network":
            n["path"] = path
    create_fails(bundle, path)


def test_missing_executable(bundle):
    """Bad input: process.args[0] does not exist in the rootfs."""
    bundle.args = ["/bin/no-such-binary"]
    create_fails(bundle, "/bin/no-such-binary")


def test_missing_device_bind(bundle):
    """Bad input: a host device bind-mounted into the container that does not exist."""
    bundle.config["mounts"].append({"destination": "/dev/mydev", "type": "bind",
                                    "source": "/dev/berth-no-such-device",
                                    "options": ["bind"]})
    create_fails(bundle, "/dev/berth-no-such-device")


@pytest.mark.skipif(not IS_BERTH, reason="runc ignores unknown capabilities with a warning")
def test_unknown_capability(bundle):
    """Bad input: an unknown capability name is refused, naming it."""
    bundle.config["process"]["capabilities"]["bounding"].append("CAP_BERTH_NONSENSE")
    create_fails(bundle, "CAP_BERTH_NONSENSE")


def test_no_config(bundle):
    """Bad input: a bundle without config.json."""
    r = create_fails(bundle, write=False)
    assert "config.json" in r.err, r


def test_duplicate_id_refused(bundle):
    """Bad input: creating a second container with an existing id fails and keeps the first."""
    bundle.sh("exec sleep 30")
    assert bundle.create().ok
    pid = bundle.state()["pid"]
    r = bundle.rt("create", "--bundle", bundle.dir, bundle.id)
    assert not r.ok, r
    if IS_BERTH:
        assert f"`{bundle.id}`" in r.err, r
    st = bundle.state()
    assert st["pid"] == pid and st["status"] == "created"
