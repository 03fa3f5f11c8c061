"""Image and system endpoints of berthd through the real docker CLI and
docker-py, compared with what ../shared/specs/docker-cli-traces.md shows."""

import io
import json
import os
import tarfile

import pytest
from urllib.parse import quote as _q


def quote(o):
    return _q(json.dumps(o))

from daemon_fixtures import berthd, _module_berthd, make_busybox_tar  # noqa: F401


def test_ping_headers(berthd):
    for method in ("HEAD", "GET"):
        st, h, body = berthd.request(method, "/_ping")
        assert st == 200
        assert h["api-version"] == "1.41"
        assert h["ostype"] == "linux"
        assert h["docker-experimental"] == "false"
        assert h["cache-control"] == "no-cache, no-store, must-revalidate"
        assert h["pragma"] == "no-cache"
        assert h["content-type"] == "text/plain; charset=utf-8"
        assert body == (b"OK" if method == "GET" else b"")


def test_version_cli_negotiates_down(berthd):
    out = berthd.docker("version").stdout.decode()
    assert "1.41 (downgraded from 1.50)" in out
    st, v = berthd.json("GET", "/version")
    assert st == 200 and v["ApiVersion"] == "1.41" and v["MinAPIVersion"] == "1.24"
    assert v["Os"] == "linux" and v["Components"][0]["Name"] == "Engine"
    fmt = berthd.docker("version", "--format", "{{.Server.APIVersion}}").stdout.decode().strip()
    assert fmt == "1.41"


def test_info(berthd):
    out = berthd.docker("info", "--format", "{{json .}}").stdout.decode()
    info = json.loads(out)
    assert info["OSType"] == "linux"
    assert info["DockerRootDir"] == berthd.data_root
    assert info["Images"] >= 1
    st, h, _ = berthd.request("GET", "/v1.41/info")
    assert st == 200 and h.get("transfer-encoding") == "chunked"


def test_images_list_and_inspect(berthd):
    out = berthd.docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.decode().split()
    assert "busybox:latest" in out and "busybox:local" in out
    ins = json.loads(berthd.docker("image", "inspect", "busybox:local").stdout)
    assert len(ins) == 1
    assert ins[0]["Id"].startswith("sha256:")
    assert sorted(ins[0]["RepoTags"]) == ["busybox:latest", "busybox:local"]
    assert ins[0]["Config"]["Cmd"] == ["sh"]
    assert ins[0]["RootFS"]["Type"] == "layers" and len(ins[0]["RootFS"]["Layers"]) == 1
    st, lst = berthd.json("GET", "/v1.41/images/json")
    assert st == 200
    row = [i for i in lst if "busybox:local" in i["RepoTags"]][0]
    for k in ("Containers", "Created", "Id", "RepoTags", "SharedSize", "Size", "VirtualSize"):
        assert k in row
    assert row["Containers"] == -1 and row["Size"] > 1000000
    p = berthd.docker("image", "inspect", "nope:1", check=False)
    assert p.returncode == 1 and b"No such image: nope:1" in p.stderr


def test_images_filters(berthd):
    q = "/v1.41/images/json?filters=" + quote({"reference": {"busybox:local": True}})
    st, lst = berthd.json("GET", q)
    assert st == 200 and len(lst) == 1
    # the list form docker-py sends
    q = "/v1.41/images/json?filters=" + quote({"reference": ["nothing-like-this*"]})
    st, lst = berthd.json("GET", q)
    assert st == 200 and lst == []
    st, err = berthd.json("GET", "/v1.41/images/json?filters=" + quote({"bogus": ["x"]}))
    assert st == 400 and "bogus" in err["message"]


def test_history(berthd):
    st, hist = berthd.json("GET", "/v1.41/images/busybox:local/history")
    assert st == 200 and len(hist) >= 1
    top = hist[0]
    assert top["Id"].startswith("sha256:") and "busybox:local" in top["Tags"]
    out = berthd.docker("history", "busybox:local").stdout.decode()
    assert out.splitlines()[0].split()[:2] == ["IMAGE", "CREATED"]


def test_tag_rmi(berthd):
    # docker tag sends the normalised repo (docker.io/library/...), section 34
    berthd.docker("tag", "busybox:local", "specs-img:2")
    berthd.docker("tag", "busybox:local", "example.com/team/specs-img:3")
    names = berthd.docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.decode().split()
    assert "specs-img:2" in names and "example.com/team/specs-img:3" in names
    st, out = berthd.json("DELETE", "/v1.41/images/specs-img:2")
    assert st == 200 and out == [{"Untagged": "specs-img:2"}]
    out = berthd.docker("rmi", "example.com/team/specs-img:3").stdout.decode()
    assert out.strip() == "Untagged: example.com/team/specs-img:3"
    p = berthd.docker("rmi", "specs-img:2", check=False)
    assert p.returncode == 1 and b"No such image: specs-img:2" in p.stderr
    p = berthd.docker("tag", "nope:1", "x:1", check=False)
    assert p.returncode == 1 and b"No such image: nope:1" in p.stderr
    st, err = berthd.json("POST", "/v1.41/images/busybox:local/tag?repo=UPPER&tag=1")
    assert st == 400 and "message" in err


def test_save_load_roundtrip(berthd, tmp_path):
    berthd.docker("tag", "busybox:local", "roundtrip:1")
    tar = str(tmp_path / "rt.tar")
    berthd.docker("save", "-o", tar, "roundtrip:1")
    with tarfile.open(tar) as tf:
        names = tf.getnames()
    assert "manifest.json" in names and "repositories" in names
    iid = json.loads(berthd.docker("image", "inspect", "roundtrip:1").stdout)[0]["Id"]
    berthd.docker("rmi", "roundtrip:1")
    out = berthd.docker("load", "-i", tar).stdout.decode()
    assert "Loaded image: roundtrip:1" in out
    assert json.loads(berthd.docker("image", "inspect", "roundtrip:1").stdout)[0]["Id"] == iid
    # the load answer is a JSON stream, chunked (section 79)
    with open(tar, "rb") as f:
        st, h, body = berthd.request("POST", "/v1.41/images/load?quiet=1", f.read(),
                                     {"Content-Type": "application/x-tar"})
    assert st == 200 and h["content-type"] == "application/json"
    assert h.get("transfer-encoding") == "chunked"
    assert json.loads(body.split(b"\r\n")[0]) == {"stream": "Loaded image: roundtrip:1\n"}
    berthd.docker("rmi", "roundtrip:1")
    # a missing name is a 404 before any byte of tar
    st, h, body = berthd.request("GET", "/v1.41/images/get?names=nope%3A1")
    assert st == 404 and json.loads(body)["message"] == "No such image: nope:1"


def test_load_garbage_is_an_error(berthd):
    st, h, body = berthd.request("POST", "/v1.41/images/load", b"this is not a tarball" * 100,
                                 {"Content-Type": "application/x-tar"})
    assert st in (400, 500)
    assert "message" in json.loads(body)
    # the daemon still serves
    assert berthd.request("GET", "/_ping")[0] == 200


def test_import_with_changes(berthd, tmp_path):
    tar = tmp_path / "rootfs.tar"
    tar.write_bytes(make_busybox_tar())
    out = berthd.docker("import", "-c", "ENV FOO=bar", "-c", "CMD [\"echo\",\"x\"]",
                        "-m", "imported here", str(tar), "imp:1").stdout.decode().strip()
    assert out.startswith("sha256:")
    ins = json.loads(berthd.docker("image", "inspect", "imp:1").stdout)[0]
    assert ins["Id"] == out
    assert "FOO=bar" in ins["Config"]["Env"] and ins["Config"]["Cmd"] == ["echo", "x"]
    assert ins["Comment"] == "imported here"
    berthd.docker("rmi", "imp:1")


def test_system_df_and_prune(berthd, tmp_path):
    out = berthd.docker("system", "df").stdout.decode()
    assert out.splitlines()[0].split()[:2] == ["TYPE", "TOTAL"]
    st, df = berthd.json("GET", "/v1.41/system/df")
    assert st == 200
    for k in ("LayersSize", "Images", "Containers", "Volumes", "BuildCache"):
        assert k in df
    assert df["LayersSize"] > 0
    # a dangling image: import without a name, then prune removes it
    tar = tmp_path / "rootfs.tar"
    tar.write_bytes(make_busybox_tar())
    iid = berthd.docker("import", "-c", "ENV DANGLING=1", str(tar)).stdout.decode().strip()
    st, lst = berthd.json("GET", "/v1.41/images/json?filters=" + quote({"dangling": ["true"]}))
    assert iid in [i["Id"] for i in lst]
    assert [i for i in lst if i["Id"] == iid][0]["RepoTags"] == ["<none>:<none>"]
    out = berthd.docker("image", "prune", "-f").stdout.decode()
    assert "Deleted" in out or "deleted" in out.lower()
    st, lst = berthd.json("GET", "/v1.41/images/json")
    assert iid not in [i["Id"] for i in lst]
    assert "busybox:local" in sum((i["RepoTags"] for i in lst), [])


def test_docker_py_images(berthd):
    c = berthd.client()
    try:
        assert c.version()["ApiVersion"] == "1.41"
        assert c.ping() is True
        img = c.images.get("busybox:local")
        assert "busybox:local" in img.tags
        assert img.tag("pyrepo", "t1") is True
        assert "pyrepo:t1" in c.images.get("pyrepo:t1").tags
        assert any("pyrepo:t1" in i.tags for i in c.images.list())
        assert c.images.list(filters={"reference": "pyrepo"})[0].id == img.id
        hist = img.history()
        assert hist[0]["Id"] == img.id
        data = b"".join(c.images.get("pyrepo:t1").save(named="pyrepo:t1"))
        c.images.remove("pyrepo:t1")
        loaded = c.images.load(data)
        assert loaded[0].id == img.id
        c.images.remove("pyrepo:t1")
        import docker
        with pytest.raises(docker.errors.ImageNotFound):
            c.images.get("pyrepo:t1")
        df = c.df()
        assert "Images" in df and "LayersSize" in df
        assert c.info()["OSType"] == "linux"
    finally:
        c.close()
