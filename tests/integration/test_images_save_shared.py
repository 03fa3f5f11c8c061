"""`berth save` of images that share layers writes each layer once, in both
formats, and dockerd loads the archive (both images, the shared layer once).

Run with /usr/bin/python3 -m pytest; BERTH_BUILD points at the build dir.
"""

import collections
import hashlib
import json
import tarfile

from test_images import berth, dockerd  # noqa: F401 (fixtures)
from test_images_crash import _archive, _layer


def test_save_shared_layers_once(berth, dockerd, tmp_path):  # noqa: F811
    shared, a, b = _layer(1), _layer(2, nfiles=3), _layer(3, nfiles=3)
    for layers, tag in (([shared, a], "sh-a:1"), ([shared, b], "sh-b:1")):
        src = tmp_path / f"{tag}.tar"
        src.write_bytes(_archive(layers, tag))
        berth("load", "-i", str(src))
    diff = {name: "sha256:" + hashlib.sha256(l).hexdigest() for name, l in
            (("shared", shared), ("a", a), ("b", b))}
    for fmt in ("docker", "oci"):
        out = tmp_path / f"two-{fmt}.tar"
        berth("save", "--format", fmt, "-o", str(out), "sh-a:1", "sh-b:1")
        with tarfile.open(out) as t:
            names = t.getnames()
            counts = collections.Counter(names)
            assert [n for n, c in counts.items() if c > 1] == [], fmt
            mf = json.load(t.extractfile("manifest.json"))
            layer_files = [m.name for m in t.getmembers()
                           if m.isfile() and (m.name.endswith("/layer.tar") or
                                              m.name.startswith("blobs/sha256/"))]
        assert sorted(e["RepoTags"][0] for e in mf) == ["sh-a:1", "sh-b:1"]
        # the two manifests name the shared layer with the same file
        assert mf[0]["Layers"][0] == mf[1]["Layers"][0]
        used = {l for e in mf for l in e["Layers"]}
        assert len(used) == 3
        assert used <= set(layer_files)
        p = dockerd("load", "-i", str(out))
        assert "Loaded image: sh-a:1" in p.out and "Loaded image: sh-b:1" in p.out, p.out
        for tag, top in (("sh-a:1", "a"), ("sh-b:1", "b")):
            got = json.loads(dockerd("image", "inspect", "-f", "{{json .RootFS.Layers}}", tag).out)
            assert got == [diff["shared"], diff[top]], (fmt, tag)
        # and dockerd's save of both loads back into berth
        back = tmp_path / f"back-{fmt}.tar"
        dockerd("save", "-o", str(back), "sh-a:1", "sh-b:1")
        dockerd("rmi", "sh-a:1", "sh-b:1")
        p = berth("load", "-i", str(back))
        assert "Loaded image: sh-a:1" in p.out and "Loaded image: sh-b:1" in p.out
        assert berth("image", "check").out.strip() == "image store is consistent"
