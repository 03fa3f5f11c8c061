#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Regenerate the seed corpora in fuzz/corpus/<harness>/ from the repo's
real inputs: the OCI runtime-spec test configs, the docker CLI and registry
traces (../shared/specs) and a few hand-written cases. Small files only.

    python3 fuzz/make-corpus.py [--specs ../shared/specs]
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_FILE = 32 * 1024
MAX_PER_HARNESS = 48


class Corpus:
    def __init__(self, name):
        self.dir = os.path.join(HERE, "corpus", name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.seen = set()

    def add(self, data):
        if isinstance(data, str):
            data = data.encode()
        if len(data) > MAX_FILE or len(self.seen) >= MAX_PER_HARNESS:
            return
        h = hashlib.sha1(data).hexdigest()
        if h in self.seen:
            return
        self.seen.add(h)
        with open(os.path.join(self.dir, h), "wb") as f:
            f.write(data)


def dumps(o):
    return json.dumps(o, separators=(",", ":"))


def traces(specs, name):
    with open(os.path.join(specs, name)) as f:
        d = json.load(f)
    for steps in d.values():
        for e in steps:
            yield e


def oci_config(specs):
    c = Corpus("fuzz-oci-config")
    base = os.path.join(specs, "oci-runtime-spec", "test", "config")
    for kind in ("good", "bad"):
        for n in sorted(os.listdir(os.path.join(base, kind))):
            with open(os.path.join(base, kind, n), "rb") as f:
                c.add(f.read())
    minimal = {
        "ociVersion": "1.0.2",
        "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
        "root": {"path": "rootfs"},
        "linux": {"namespaces": [{"type": "mount"}, {"type": "pid"}]},
    }
    c.add(dumps(minimal))
    full = json.loads(dumps(minimal))
    full["process"]["capabilities"] = {k: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
                                       for k in ("bounding", "effective", "permitted",
                                                 "inheritable", "ambient")}
    full["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024},
                                  {"type": "RLIMIT_CORE", "hard": 0, "soft": 0}]
    full["process"]["user"]["additionalGids"] = [1, 2, 3]
    full["mounts"] = [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/etc/hosts", "type": "bind", "source": "/etc/hosts",
         "options": ["rbind", "ro", "rprivate"]},
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
         "options": ["tmpcopyup", "rro", "nosymfollow"]},
    ]
    full["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        "syscalls": [
            {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
            {"names": ["clone"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
             "args": [{"index": 0, "value": 2114060288, "valueTwo": 0,
                       "op": "SCMP_CMP_MASKED_EQ"}]},
        ],
    }
    full["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.msgmax": "8192"}
    full["linux"]["maskedPaths"] = ["/proc/kcore"]
    full["linux"]["readonlyPaths"] = ["/proc/sys"]
    full["linux"]["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]
    full["linux"]["rootfsPropagation"] = "rslave"
    c.add(dumps(full))
    notify = json.loads(dumps(full))
    notify["linux"]["seccomp"]["listenerPath"] = "/run/agent.sock"
    notify["linux"]["seccomp"]["syscalls"].append({"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"})
    c.add(dumps(notify))


def image_ref():
    c = Corpus("fuzz-image-ref")
    for s in ["busybox", "busybox:latest", "library/busybox:1.36", "docker.io/library/busybox",
              "index.docker.io/busybox", "localhost/foo", "localhost:5000/a/b:c",
              "127.0.0.1:5002/specs-busybox:1", "[::1]:5000/x", "quay.io/org/repo@sha256:"
              + "a" * 64, "busybox:1@sha256:" + "0123456789abcdef" * 4, "a__b.c--d/e-f",
              "UPPER/case", "foo:TAG_1.2-x", "sha256:" + "b" * 64, "b" * 64, "a/b/c/d/e/f/g",
              "example.com:443/ns/img:" + "t" * 128, "x:", "@sha256:abc", "a..b", "-a", "a/",
              "registry:5000", "Docker.io/busybox", "my_registry.local/img", "a:b:c",
              "foo@sha512:" + "c" * 128, "foo@md5:abc"]:
        c.add(s)


def manifests(specs):
    c = Corpus("fuzz-manifest")
    cfg = Corpus("fuzz-image-config")
    hints = {None: 0, "application/vnd.oci.image.manifest.v1+json": 1,
             "application/vnd.docker.distribution.manifest.v2+json": 2,
             "application/vnd.oci.image.index.v1+json": 3,
             "application/vnd.docker.distribution.manifest.list.v2+json": 4}
    for e in traces(specs, "registry-client-traces.json"):
        for key in ("resp_body_json", "req_body_json"):
            b = e.get(key)
            if isinstance(b, dict) and b.get("schemaVersion") == 2:
                c.add(bytes([hints.get(b.get("mediaType"), 0)]) + json.dumps(b).encode())
                c.add(bytes([0]) + dumps({k: v for k, v in b.items() if k != "mediaType"}).encode())
            if isinstance(b, dict) and "rootfs" in b:
                cfg.add(json.dumps(b))
    d = lambda n: "sha256:" + hashlib.sha256(str(n).encode()).hexdigest()
    layer = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d(1), "size": 123}
    oci = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": d(0),
                      "size": 10},
           "layers": [layer, dict(layer, mediaType="application/vnd.oci.image.layer.v1.tar+zstd",
                                  digest=d(2))],
           "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"}}
    c.add(b"\x01" + dumps(oci).encode())
    idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
           "manifests": [
               {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d(3),
                "size": 500, "platform": {"architecture": "amd64", "os": "linux"},
                "annotations": {"org.opencontainers.image.ref.name": "1.0",
                                "io.containerd.image.name": "docker.io/library/x:1.0"}},
               {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d(4),
                "size": 501, "platform": {"architecture": "arm", "os": "linux", "variant": "v7"}},
               {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d(5),
                "size": 502, "platform": {"architecture": "arm64", "os": "linux",
                                          "variant": "v8"}}]}
    c.add(b"\x03" + dumps(idx).encode())
    c.add(b"\x00" + dumps({k: v for k, v in idx.items() if k != "mediaType"}).encode())
    lst = dict(idx, mediaType="application/vnd.docker.distribution.manifest.list.v2+json")
    c.add(b"\x04" + dumps(lst).encode())
    # image-spec's own schemas are JSON too (not manifests: error paths)
    for n in ("image-manifest-schema.json", "image-index-schema.json"):
        p = os.path.join(specs, "oci-image-spec", n)
        if os.path.exists(p):
            with open(p, "rb") as f:
                c.add(b"\x00" + f.read())
    for n, arch in enumerate(("amd64", "arm64")):
        cfg.add(dumps({"architecture": arch, "os": "linux", "created": "2024-05-01T10:00:00Z",
                       "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"], "WorkingDir": "/",
                                  "Labels": {"a": "b"}},
                       "rootfs": {"type": "layers", "diff_ids": [d(10 + n), d(20 + n)]},
                       "history": [{"created": "2024-05-01T10:00:00Z", "created_by": "ADD x /"},
                                   {"empty_layer": True, "created_by": "CMD sh"}]}))
    cfg.add(dumps({"rootfs": {"type": "layers", "diff_ids": []}}))
    cfg.add(dumps({"rootfs": {"type": "layers", "diff_ids": ["sha256:xyz"]}}))


def create_bodies(specs):
    eng = Corpus("fuzz-engine-create")
    api = Corpus("fuzz-api-body")
    for e in traces(specs, "docker-cli-traces.json"):
        b = e.get("req_body_json")
        path = urllib.parse.urlsplit(e["path"])
        if isinstance(b, dict):
            if path.path.endswith("/containers/create"):
                eng.add(dumps(b))
                api.add(b"\x00" + dumps(b).encode())
                if isinstance(b.get("HostConfig"), dict):
                    api.add(b"\x01" + dumps(b["HostConfig"]).encode())
            elif path.path.endswith("/update"):
                api.add(b"\x01" + dumps(b).encode())
            elif path.path.endswith("/exec"):
                api.add(b"\x02" + dumps(b).encode())
            elif "/exec/" in path.path and path.path.endswith("/start"):
                api.add(b"\x03" + dumps(b).encode())
        for k, v in urllib.parse.parse_qsl(path.query):
            if k == "filters":
                api.add(b"\x04" + v.encode())
        m = re.match(r"^/v(\d+\.\d+)/", path.path)
        if m:
            api.add(b"\x05" + m.group(1).encode())
    for v in ("1.41", "1.24", "99.99", "1.", "01.041", "1.100", "9999999999999999999.1"):
        api.add(b"\x05" + v.encode())
    api.add(b'\x04{"label":{"a=b":true},"status":["running"]}')
    api.add(b'\x04{"dangling":["true"],"before":"busybox"}')
    base = {"Image": "busybox", "Cmd": ["sh", "-c", "true"], "Env": ["A=1", "B"],
            "Labels": {"x": "y"}, "StopSignal": "SIGRTMIN+3", "WorkingDir": "/w",
            "Entrypoint": "/bin/sh", "User": "1000:1000",
            "Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 2000000000, "Retries": 3}}
    hc = {"CapAdd": ["NET_ADMIN", "cap_sys_time"], "CapDrop": ["CHOWN"],
          "Memory": 67108864, "MemorySwap": -1, "NanoCpus": 500000000, "PidsLimit": 100,
          "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3},
          "Binds": ["/tmp:/data:ro,z"], "Tmpfs": {"/run": "size=64m,noexec"},
          "Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048}],
          "ShmSize": 1048576, "Sysctls": {"net.core.somaxconn": "1024"},
          "NetworkMode": "bridge", "Privileged": False, "ReadonlyRootfs": True,
          "SecurityOpt": ["no-new-privileges", "label=disable"],
          "Mounts": [{"Type": "volume", "Source": "v", "Target": "/v"},
                     {"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1024}}],
          "Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/x",
                       "CgroupPermissions": "rwm"}],
          "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}}
    eng.add(dumps(dict(base, HostConfig=hc)))
    api.add(b"\x00" + dumps(dict(base, HostConfig=hc)).encode())
    api.add(b"\x01" + dumps(hc).encode())
    api.add(b"\x02" + dumps({"AttachStdout": True, "Cmd": ["ls", "-l"], "Env": ["X=1"],
                             "User": "nobody", "WorkingDir": "/", "Tty": True,
                             "ConsoleSize": [24, 80]}).encode())
    api.add(b"\x03" + dumps({"Detach": False, "Tty": True, "ConsoleSize": [24, 80]}).encode())
    profile = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
               "archMap": [{"architecture": "SCMP_ARCH_X86_64",
                            "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
               "syscalls": [
                   {"names": ["read", "write", "exit_group", "futex"], "action": "SCMP_ACT_ALLOW"},
                   {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW",
                    "includes": {"caps": ["CAP_SYS_PTRACE"]}},
                   {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                    "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}],
                    "excludes": {"arches": ["s390x"]}}]}
    eng.add(dumps(dict(base, HostConfig={"SecurityOpt": ["seccomp=" + dumps(profile)],
                                         "CapAdd": ["ALL"], "CapDrop": ["SYS_ADMIN"]})))
    eng.add(dumps(dict(base, HostConfig={"SecurityOpt": ["seccomp=unconfined"],
                                         "Privileged": True})))
    eng.add(dumps(dict(base, __image_config={"Env": ["PATH=/bin", "A=0"], "Entrypoint": ["/e"],
                                             "Cmd": ["c"], "User": "u", "Volumes": {"/v": {}},
                                             "OnBuild": None, "Shell": ["/bin/sh", "-c"],
                                             "Healthcheck": {"Test": ["NONE"]}})))
    eng.add(dumps({"Image": "x", "Cmd": None, "Entrypoint": [""], "HostConfig": {
        "RestartPolicy": {"Name": "always"}, "AutoRemove": True, "Memory": 1}}))
    eng.add(dumps({"Image": "x", "HostConfig": {"IpcMode": "container:abc", "PidMode": "host",
                                                "NetworkMode": "none", "UTSMode": "host",
                                                "Init": True, "GroupAdd": ["audio", "10"],
                                                "LogConfig": {"Type": "json-file",
                                                              "Config": {"max-size": "10m",
                                                                         "max-file": "3"}}}}))


def http_response(status, reason, headers, body, chunked=False):
    out = "HTTP/1.1 %d %s\r\n" % (status, reason)
    hs = [(k, v) for k, v in headers if k.lower() not in ("content-length", "transfer-encoding")]
    if chunked:
        hs.append(("Transfer-Encoding", "chunked"))
    elif body is not None:
        hs.append(("Content-Length", str(len(body))))
    out = out.encode() + b"".join(("%s: %s\r\n" % (k, v)).encode() for k, v in hs) + b"\r\n"
    if body is None:
        return out
    if chunked:
        parts = [body[i:i + 37] for i in range(0, len(body), 37)]
        for p in parts:
            out += b"%x\r\n" % len(p) + p + b"\r\n"
        return out + b"0\r\n\r\n"
    return out + body


def client_responses(specs):
    c = Corpus("fuzz-client-response")
    n = 0
    for e in traces(specs, "docker-cli-traces.json"):
        body = None
        mode = 2
        if "resp_json_stream" in e:
            body = b"".join(json.dumps(x).encode() + b"\r\n" for x in e["resp_json_stream"])
            mode = 1
        elif "resp_body_json" in e:
            body = json.dumps(e["resp_body_json"]).encode() + b"\n"
            mode = 0
        elif e.get("stream_down_frames"):
            body = b""
            for fr in e["stream_down_frames"]:
                if isinstance(fr, dict) and "data" in fr:
                    data = str(fr["data"]).encode()
                    sid = {"stdin": 0, "stdout": 1, "stderr": 2}.get(fr.get("stream"), 1)
                    body += bytes([sid, 0, 0, 0]) + len(data).to_bytes(4, "big") + data
            mode = 3
        elif e.get("resp_body_len") == 0:
            body = b""
        if body is None or len(body) > 8192:
            continue
        method = {"GET": 0, "POST": 1, "HEAD": 2, "DELETE": 3}.get(e["method"], 0)
        chunked = e.get("resp_transfer_encoding") == "chunked"
        if e["method"] == "HEAD":
            body = b""
        resp = http_response(e["status"], e["reason"], e["resp_headers"], body, chunked)
        c.add(bytes([(method << 4) | mode]) + resp)
        n += 1
    # the corner cases by hand
    c.add(b"\x05HTTP/1.1 200 OK\nContent-Type: text/plain\n\nuntil eof")
    c.add(b"\x02HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n")
    c.add(b"\x00HTTP/1.1 404 Not Found\r\nContent-Length: 30\r\n\r\n{\"message\":\"No such image: x\"}")
    c.add(b"\x00HTTP/1.1 500 Internal Server Error\r\nContent-Length: 6\r\n\r\noops \n")
    c.add(b"\x03HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n\x01\x00\x00\x00\x00\x00\x00\x03hi\n\x02\x00\x00\x00\x00\x00\x00\x04err\n")
    c.add(b"\x04HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\n\r\nraw tty bytes\r\n")
    c.add(b"\x01HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4\r\n\":1}\r\n2\r\n[]\r\n0\r\n\r\n")
    c.add(b"\x02HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    c.add(b"\x20HTTP/1.1 204 No Content\r\nApi-Version: 1.41\r\n\r\n")


def templates():
    c = Corpus("fuzz-template")
    for t in ["{{.Id}}", "table {{.Id}}\t{{.Image}}", "{{json .}}", "{{.State.Status}}",
              "{{range .Names}}{{.}} {{end}}", "{{range $i, $n := .Names}}{{$i}}={{$n}};{{end}}",
              "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}},{{end}}",
              "{{if .State.Running}}up{{else if .Nil}}?{{else}}down{{end}}",
              "{{with .Config}}{{join .Cmd \" \"}}{{end}}", "{{index .Names 1}}",
              "{{(index .Ports 0).PublicPort}}", "{{printf \"%s:%d\" .Image .State.Pid}}",
              "{{.Config.Env | json}}", "{{upper .Image}} {{lower .Id}} {{title .Image}}",
              "{{len .Names}} {{len .Config.Labels}}", "{{split .Id \"a\"}}",
              "{{if and .State.Running (gt .State.Pid 1)}}pid{{end}}",
              "{{if or .Nil (eq .Image \"busybox\" \"alpine\")}}yes{{end}}",
              "{{if not .Config.Tty}}notty{{end}}", "{{- .Id -}}  {{/* comment */}}",
              "{{pad .Image 2 3}}|{{truncate .Id 4}}|{{slice .Id 1 3}}",
              "{{println .Size}}{{print .Created \"x\"}}", "{{$x := .State}}{{$x.Pid}}",
              "{{.Mounts}} {{.Nope}} {{.Nope.Deeper}} {{.Nil}}", "{{ .Size | printf \"%.1f\" }}",
              "{{if le .Size 2.5}}s{{end}}{{if ge .Created 1}}c{{end}}{{if ne 1 2}}n{{end}}",
              "{{range .Mounts}}x{{else}}none{{end}}", "{{end}}", "{{if}}", "{{.}", "{{range .Names",
              "{{\"str\\n\"}} {{'c'}} {{1e3}} {{-1}} {{true}} {{nil}}"]:
        c.add(t)
    c.add(b'{{range .}}{{.}},{{end}}\x00[1,"two",{"three":3},null,true]')
    c.add(b'{{.a.b}}\x00{"a":{"b":[1,2]}}')


def layers():
    c = Corpus("fuzz-layer-apply")

    def tar(entries, compress=False):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
            for name, kind, extra in entries:
                ti = tarfile.TarInfo(name)
                ti.mtime = 1700000000
                data = b""
                if kind == "file":
                    data = extra or b"hello\n"
                    ti.size = len(data)
                elif kind == "dir":
                    ti.type = tarfile.DIRTYPE
                    ti.mode = 0o755
                elif kind == "sym":
                    ti.type = tarfile.SYMTYPE
                    ti.linkname = extra
                elif kind == "link":
                    ti.type = tarfile.LNKTYPE
                    ti.linkname = extra
                elif kind == "fifo":
                    ti.type = tarfile.FIFOTYPE
                t.addfile(ti, io.BytesIO(data) if kind == "file" else None)
        raw = buf.getvalue()
        return gzip.compress(raw, mtime=0) if compress else raw

    base = [("etc", "dir", None), ("etc/passwd", "file", b"root:x:0:0::/root:/bin/sh\n"),
            ("bin", "dir", None), ("bin/sh", "file", b"\x7fELF"), ("bin/ash", "link", "bin/sh"),
            ("lib", "sym", "usr/lib"), ("run/fifo", "fifo", None)]
    c.add(tar(base))
    c.add(tar(base, compress=True))
    c.add(tar([("etc", "dir", None), ("etc/.wh.passwd", "file", b""),
               ("var/.wh..wh..opq", "file", b""), ("usr/x", "file", None)]))
    c.add(tar([("a", "sym", "/"), ("a/b", "file", None), ("../escape", "file", None),
               ("c", "sym", "../../.."), ("d", "link", "../etc/shadow")]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--specs", default=os.path.join(HERE, "..", "..", "shared", "specs"))
    a = ap.parse_args()
    oci_config(a.specs)
    image_ref()
    manifests(a.specs)
    create_bodies(a.specs)
    client_responses(a.specs)
    templates()
    layers()


if __name__ == "__main__":
    main()
