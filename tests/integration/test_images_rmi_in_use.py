"""`rmi -f` of an image a container uses (docker-py through berthd): the tag
goes, the container's layers stay until the container is removed.

Run with /usr/bin/python3 -m pytest; BERTH_BUILD points at the build dir.
"""

import os

import docker
import pytest

from daemon_fixtures import berthd, _module_berthd, load_busybox  # noqa: F401


def _layers(d):
    p = os.path.join(d.data_root, "layers")
    return sorted(x for x in os.listdir(p) if not x.startswith(".")) if os.path.isdir(p) else []


def test_rmi_force_keeps_layers_of_a_container(berthd):  # noqa: F811
    load_busybox(berthd, "rmi-inuse:1")
    client = docker.DockerClient(base_url=berthd.host, version="1.41")
    try:
        img = client.images.get("rmi-inuse:1")
        before = _layers(berthd)
        assert before, "the image has unpacked layers"
        c = client.containers.run("rmi-inuse:1", ["sh", "-c", "echo hi > /f; sleep 300"],
                                  detach=True)
        with pytest.raises(docker.errors.APIError):
            client.images.remove("rmi-inuse:1")  # in use, not forced: 409
        client.images.remove("rmi-inuse:1", force=True)
        with pytest.raises(docker.errors.ImageNotFound):
            client.images.get("rmi-inuse:1")
        # the container still runs from its layers, and starts again
        assert set(before) <= set(_layers(berthd))
        assert c.exec_run(["cat", "/f"]).output == b"hi\n"
        c.restart(timeout=1)
        assert c.exec_run(["cat", "/bin/sh"]).exit_code == 0
        c.remove(force=True)
        client.images.prune(filters={"dangling": False})
        # with the container gone, nothing holds the layers any more
        left = client.images.list(all=True)
        assert all(i.id != img.id for i in left)
        if not left:
            assert _layers(berthd) == [], "no image and no container, but layers stay"
    finally:
        client.close()
