"""Trace conformance: berthd answers the real docker CLI the way dockerd did.

/work/shared/specs/docker-cli-traces.{md,json} record ~90 docker CLI commands
against a real dockerd 20.10. For every section in scope this test runs the
same command, with the real docker CLI, through a recording proxy
(trace_proxy.py) in front of berthd, and compares with the recording:

  * the sequence of requests: method, path without the /vX.Y prefix (ids
    replaced by <id>) and the names of the query parameters (requests sent
    within a few ms of each other in the trace may come in either order);
  * for each response: status code, Content-Type, the standard headers
    (Api-Version, Docker-Experimental, Ostype, Server; the ping's own), the
    chunked encoding of streams, the JSON keys the trace shows (recursively;
    extra keys are fine, missing keys and mismatched value types are not),
    hijacks (101 + Upgrade/Connection headers, multiplexed frames vs raw TTY
    bytes, the frames' content where the command is deterministic);
  * the CLI's exit code and the shape of its output.

Each section is one parametrized case; a failure prints a diff per mismatch.
Sections that need features Berth does not have are skipped with the reason.
"""

import base64
import json
import os
import re
import subprocess
import tempfile
import threading
import time
from urllib.parse import parse_qsl, urlsplit

import pytest

from daemon_fixtures import DOCKER, Berthd, load_busybox, _skip_if_unbuilt  # noqa: F401
from trace_proxy import TraceProxy, parse_frames

SPECS = os.environ.get("BERTH_SPECS", "/work/shared/specs")
TRACE_JSON = os.path.join(SPECS, "docker-cli-traces.json")
TRACE_MD = os.path.join(SPECS, "docker-cli-traces.md")

# --------------------------------------------------------------------------
# Out of scope: features Berth does not have yet.
SKIP = {}
for _s, _why in (
        (("30", "31", "81"), "image build is not implemented in Berth yet"),
        (("37", "38", "39", "40", "41"), "networks are not implemented in Berth yet"),
        (("42", "43", "44", "45"), "volumes are not implemented in Berth yet"),
        (("46", "47", "48", "49", "50", "51", "52", "53", "55", "80", "82", "83", "84",
          "85", "86", "87"), "registry push/pull/login is not implemented in Berth yet"),
        (("58", "59", "60"), "compose is not implemented in Berth yet"),
        (("70",), "commit is not implemented in Berth yet")):
    for _n in _s:
        SKIP[_n] = _why


# --------------------------------------------------------------------------
# The recording, parsed once.

def _load_trace():
    if not os.path.exists(TRACE_JSON):
        return {}, {}
    with open(TRACE_JSON) as f:
        exchanges = json.load(f)
    md = open(TRACE_MD).read()
    md = md[md.index("## Traces"):]
    cli = {}
    for part in re.split(r"^### ", md, flags=re.M)[1:]:
        name = part.split("\n", 1)[0].strip()
        block = re.search(r"```\n(.*?)```", part, re.S).group(1)
        lines = block.rstrip("\n").split("\n")
        cmd = lines[0][2:] if lines[0].startswith("$ ") else lines[0]
        out, code, more = [], None, False
        for ln in lines[1:]:
            m = re.fullmatch(r"\[exit (\d+)\]", ln)
            if m:
                code = int(m.group(1))
            elif re.fullmatch(r"… \(\d+ more lines\)", ln):
                more = True
            else:
                out.append(ln)
        cli[name] = {"cmd": cmd, "out": out, "exit": code, "truncated": more}
    return exchanges, cli


TRACE, CLI = _load_trace()
SECTIONS = sorted(TRACE)

# --------------------------------------------------------------------------
# Normalization and comparison.

HEX64 = re.compile(r"[0-9a-f]{64}")
HEX12 = re.compile(r"\b[0-9a-f]{12}\b")
VERSION_PREFIX = re.compile(r"^/v\d+\.\d+(?=/)")


def req_key(method, target):
    u = urlsplit(target)
    path = VERSION_PREFIX.sub("", u.path)
    path = HEX64.sub("<id>", path)
    path = re.sub(r"(?<=/containers/)[0-9a-f]{12}(?=/)", "<id>", path)
    names = sorted({k for k, _ in parse_qsl(u.query, keep_blank_values=True)})
    return "%s %s%s" % (method, path, ("?" + "&".join(names)) if names else "")


def _groups(ts, gap=0.004):
    """Split indexes into runs whose consecutive trace times are within gap."""
    out, cur = [], []
    for i, t in enumerate(ts):
        if cur and t - ts[cur[-1]] > gap:
            out.append(cur)
            cur = []
        cur.append(i)
    if cur:
        out.append(cur)
    return out


def align(expected, actual):
    """Pair trace exchanges with recorded ones. Returns (pairs, problems)."""
    ek = [req_key(e["method"], e["path"]) for e in expected]
    ak = [req_key(a.method, a.target) for a in actual]
    problems = []
    if sorted(ek) != sorted(ak) or len(ek) != len(ak):
        problems.append("request sequence differs:\n" + _seqdiff(ek, ak))
        # pair what can be paired, in order, by key
        pairs, used = [], set()
        for i, k in enumerate(ek):
            for j, k2 in enumerate(ak):
                if j not in used and k2 == k:
                    used.add(j)
                    pairs.append((expected[i], actual[j]))
                    break
        return pairs, problems
    pairs = []
    pos = 0
    for g in _groups([e["t"] for e in expected]):
        exp_keys = sorted(ek[i] for i in g)
        got = list(range(pos, pos + len(g)))
        got_keys = sorted(ak[j] for j in got)
        if exp_keys != got_keys:
            problems.append("request order differs:\n" + _seqdiff(ek, ak))
            break
        free = list(got)
        for i in g:
            for j in free:
                if ak[j] == ek[i]:
                    free.remove(j)
                    pairs.append((expected[i], actual[j]))
                    break
        pos += len(g)
    if problems:
        pairs = []
        used = set()
        for i, k in enumerate(ek):
            for j, k2 in enumerate(ak):
                if j not in used and k2 == k:
                    used.add(j)
                    pairs.append((expected[i], actual[j]))
                    break
    return pairs, problems


def _seqdiff(ek, ak):
    import difflib
    return "\n".join("    " + ln for ln in difflib.unified_diff(
        ek, ak, "trace (dockerd)", "berthd", lineterm="", n=20))


# JSON objects whose keys are data (names, labels, ports...), not schema.
DATA_MAPS = {
    "Labels", "Runtimes", "IndexConfigs", "Networks", "Ports", "ExposedPorts",
    "PortBindings", "Volumes", "Options", "networks", "Attributes", "Config.Labels",
    "DriverData.Data", "GraphDriver.Data", "Plugins", "Devices", "Sysctls",
    "StorageOpt", "Tmpfs", "Annotations", "Healthcheck", "Health",
    "stats", "Mounts", "Env", "Data",
}

# Keys that only exist with networking (out of scope: Berth's containers have
# a private network namespace with loopback only, like --network none).
OPTIONAL = {"$.networks"}

# Keys Docker marshals with omitempty: present in the trace only because the
# traced object had them (an EXPOSE, a HEALTHCHECK in the built image...).
OMITEMPTY = {"ExposedPorts", "Healthcheck", "StopSignal", "Shell", "StopTimeout",
             "ArgsEscaped", "MacAddress", "NetworkDisabled"}


def _type(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def json_shape_diff(exp, got, path="$"):
    """Keys/types the trace has that `got` lacks or types differently."""
    out = []
    te, tg = _type(exp), _type(got)
    last = path.rsplit(".", 1)[-1]
    if last in DATA_MAPS and tg in ("object", "null"):
        return out
    if path in OPTIONAL:
        return out
    if te == "null" or tg == "null":
        # dockerd and Berth may legitimately differ between null and empty.
        if te == "object" and tg == "null" and exp:
            out.append("%s: null, trace has an object with keys %s" % (path, sorted(exp)[:8]))
        return out
    if te != tg:
        out.append("%s: %s (%s), trace has %s (%s)" % (
            path, tg, json.dumps(got)[:60], te, json.dumps(exp)[:60]))
        return out
    if te == "object":
        for k, v in exp.items():
            if "%s.%s" % (path, k) in OPTIONAL or (k in OMITEMPTY and k not in got):
                continue
            if k not in got:
                out.append("%s.%s: missing (trace: %s)" % (path, k, json.dumps(v)[:60]))
            else:
                out += json_shape_diff(v, got[k], "%s.%s" % (path, k))
    elif te == "array" and exp and got:
        # every element must have the keys all the trace's elements share
        objs = [e for e in exp if isinstance(e, dict)]
        if objs and len(objs) == len(exp):
            common = _common(objs)
            for i, g in enumerate(got[:20]):
                out += json_shape_diff(common, g, "%s[%d]" % (path, i))
        elif all(not isinstance(e, (dict, list)) for e in exp):
            te0 = {_type(e) for e in exp} - {"null"}
            for i, g in enumerate(got[:20]):
                if te0 and _type(g) not in te0 | {"null"}:
                    out.append("%s[%d]: %s, trace has %s" % (path, i, _type(g), sorted(te0)))
    return out


def _common(objs):
    """The shape every object in objs shares (recursively for objects)."""
    out = {}
    for k in set.intersection(*(set(o) for o in objs)):
        vals = [o[k] for o in objs]
        if all(isinstance(v, dict) for v in vals):
            out[k] = _common(vals)
        else:
            out[k] = next((v for v in vals if v is not None), None)
    return out


STD_HEADERS = {"Api-Version": "1.41", "Docker-Experimental": "false", "Ostype": "linux"}
STREAM_PATHS = re.compile(r"/(logs|events|wait|attach|images/get|images/load|images/create|"
                          r"containers/[^/]+/export|stats)\b")


def _hdict(pairs):
    return {k.lower(): v for k, v in pairs}


def compare_exchange(e, a, frames_exact):
    """Differences between trace exchange e and recorded exchange a."""
    key = req_key(e["method"], e["path"])
    out = []
    eh = _hdict(e["resp_headers"])
    ah = _hdict(a.resp_headers)
    if a.status is None:
        return ["%s: no response (trace: %s)" % (key, e["status"])]
    if a.status != e["status"]:
        body = a.resp_body[:200].decode(errors="replace")
        out.append("%s: status %s, trace %s   (body: %s)" % (key, a.status, e["status"], body))
    ect, act = eh.get("content-type"), ah.get("content-type")
    if (ect or "").lower() != (act or "").lower():
        out.append("%s: Content-Type %r, trace %r" % (key, act, ect))
    if e["status"] == 101:
        for h in ("connection", "upgrade"):
            if (ah.get(h) or "").lower() != eh[h].lower():
                out.append("%s: 101 header %s=%r, trace %r" % (key, h, ah.get(h), eh[h]))
    else:
        for h, v in STD_HEADERS.items():
            if ah.get(h.lower()) != v:
                out.append("%s: header %s=%r, trace %r" % (key, h, ah.get(h.lower()), v))
        if "server" not in ah:
            out.append("%s: no Server header" % key)
    if e["path"] == "/_ping":
        for h in ("cache-control", "pragma"):
            if ah.get(h) != eh.get(h):
                out.append("%s: header %s=%r, trace %r" % (key, h, ah.get(h), eh.get(h)))
        if e["method"] == "GET" and a.resp_body != b"OK":
            out.append("%s: body %r, trace 'OK'" % (key, a.resp_body))
    if a.status != e["status"]:
        return out
    # streaming behaviour
    if e.get("resp_transfer_encoding") == "chunked" and STREAM_PATHS.search(e["path"]):
        if not a.resp_chunked:
            out.append("%s: a stream: trace is chunked, berthd sent %s" % (
                key, "Content-Length" if a.header("Content-Length") else "a body until close"))
    for h in ("x-docker-container-path-stat",):
        if h in eh and h not in ah:
            out.append("%s: no %s header" % (key, h))
        elif h in eh:
            try:
                got = json.loads(base64.b64decode(ah[h]))
                out += ["%s: path stat %s" % (key, d) for d in
                        json_shape_diff(e["x_docker_container_path_stat_decoded"], got)]
            except ValueError as ex:
                out.append("%s: bad %s: %s" % (key, h, ex))
    # bodies (a stream the client abandoned, e.g. run -d's wait, is not judged)
    if not a.resp_complete:
        return out
    if "resp_body_json" in e:
        got = a.json()
        if got is None and e["method"] != "HEAD":
            stream = a.json_stream()
            if len(stream) == 1:
                got = stream[0]
        if got is None and e["method"] != "HEAD":
            out.append("%s: body is not JSON: %r" % (key, a.resp_body[:120]))
        elif got is not None:
            out += ["%s: %s" % (key, d) for d in json_shape_diff(e["resp_body_json"], got)]
    if "resp_json_stream" in e and e["resp_json_stream"]:
        msgs = a.json_stream()
        by_type = {}
        for m in e["resp_json_stream"]:
            by_type.setdefault((m.get("Type"), "error" in m), []).append(m)
        for i, m in enumerate(msgs[:40]):
            exp = by_type.get((m.get("Type"), "error" in m))
            if not exp:
                continue
            common = _common(exp)
            out += ["%s: message %d: %s" % (key, i, d) for d in json_shape_diff(common, m)]
    if e.get("resp_framing", "").startswith("multiplexed"):
        if a.resp_body and parse_frames(a.resp_body) is None:
            out.append("%s: body is not multiplexed frames: %r" % (key, a.resp_body[:40]))
        elif frames_exact == "streams":
            exp = [f["stream"] for f in e["resp_frames"]]
            got = [s for s, _ in parse_frames(a.resp_body)]
            if exp != got:
                out.append("%s: frames on streams %r, trace %r" % (key, got, exp))
        elif frames_exact:
            exp = [(f["stream"], f["data"]) for f in e["resp_frames"]]
            got = [(s, d.decode(errors="replace")) for s, d in parse_frames(a.resp_body)]
            if _joined(exp) != _joined(got):
                out.append("%s: frames %r, trace %r" % (key, got, exp))
    if e.get("hijacked"):
        efr = e.get("stream_down_framing", "")
        if efr.startswith("multiplexed"):
            fr = parse_frames(a.down)
            if fr is None:
                out.append("%s: hijacked stream is not multiplexed: %r" % (key, a.down[:40]))
            elif frames_exact:
                exp = [(f["stream"], f["data"]) for f in e["stream_down_frames"]]
                got = [(s, d.decode(errors="replace")) for s, d in fr]
                if _joined(exp) != _joined(got):
                    out.append("%s: frames %r, trace %r" % (key, got, exp))
        elif efr.startswith("raw"):
            if a.down[:1] in (b"\x01", b"\x02") and a.down[1:4] == b"\0\0\0":
                out.append("%s: TTY stream is framed: %r" % (key, a.down[:40]))
    return out


def _joined(frames):
    """Per-stream concatenation (frame boundaries are not semantic)."""
    r = {}
    for s, d in frames:
        r[s] = r.get(s, "") + d
    return r


def canon(line):
    line = HEX64.sub("<ID>", line)
    line = HEX12.sub("<id>", line)
    return line


def check_output(name, spec, out, code):
    """Compare the CLI's exit code and output with the trace's."""
    exp = CLI[name]
    probs = []
    if exp["exit"] is not None and code != exp["exit"]:
        probs.append("exit code %d, trace %d" % (code, exp["exit"]))
    lines = out.rstrip("\n").split("\n") if out.strip() else []
    mode = spec.get("out", "exact")
    if callable(mode):
        msg = mode(lines, exp)
        if msg:
            probs.append(msg)
    elif mode == "exact":
        if [canon(x) for x in lines] != [canon(x) for x in exp["out"]]:
            probs.append("output differs:\n    got:   %r\n    trace: %r" % (lines, exp["out"]))
    elif mode == "sorted":
        if sorted(lines) != sorted(exp["out"]):
            probs.append("output lines differ:\n    got:   %r\n    trace: %r" % (lines, exp["out"]))
    elif mode == "header":
        first = lambda ls: " ".join(ls[0].split()) if ls else ""  # noqa: E731
        if first(lines) != first(exp["out"]):
            probs.append("table header %r, trace %r" % (lines[:1], exp["out"][:1]))
        if len(lines) < spec.get("min_lines", 1):
            probs.append("%d output lines, expected at least %d:\n%s" % (
                len(lines), spec.get("min_lines", 1), out))
    elif mode == "prefix":
        n = spec.get("prefix", len(exp["out"]))
        keyf = lambda s: s.split(":", 1)[0]  # noqa: E731
        if [keyf(x) for x in lines[:n]] != [keyf(x) for x in exp["out"][:n]]:
            probs.append("output starts %r, trace %r" % (lines[:n], exp["out"][:n]))
    elif mode is None:
        pass
    return probs


# --------------------------------------------------------------------------
# Per-section commands, preconditions and output checks.

def _lines_match(*patterns):
    def f(lines, exp):
        if len(lines) != len(patterns) or not all(re.fullmatch(p, ln) for p, ln in zip(patterns, lines)):
            return "output %r does not match %r" % (lines, list(patterns))
    return f


def _contains(*subs):
    def f(lines, exp):
        text = "\n".join(lines)
        miss = [s for s in subs if s not in text]
        if miss:
            return "output lacks %r:\n%s" % (miss, text)
    return f


def _json_list(lines, exp):
    try:
        v = json.loads("\n".join(lines))
    except ValueError as ex:
        return "not JSON (%s): %r" % (ex, lines[:5])
    if not isinstance(v, list) or len(v) != 1 or "Id" not in v[0]:
        return "expected a list of one object with an Id: %r" % lines[:5]


def _events_lines(lines, exp):
    if not lines:
        return "no events printed"
    bad = [ln for ln in lines if not re.match(r"\d{4}-\d\d-\d\dT[\d:.]+Z? (container|image) \w+", ln)]
    if bad:
        return "event lines not in docker's format: %r" % bad[:3]


def _events_json(lines, exp):
    if len(lines) != 3:
        return "%d lines, trace 3" % len(lines)
    for ln in lines:
        v = json.loads(ln)
        need = {"status", "id", "from", "Type", "Action", "Actor", "scope", "time", "timeNano"}
        if v.get("Type") == "container" and not need <= set(v):
            return "event %r lacks %s" % (ln, sorted(need - set(v)))


WEB_CMD = ["busybox", "httpd", "-f", "-v", "-p", "80"]


class Ctx:
    """What a section's setup can use: the daemon, direct docker, a workdir."""

    def __init__(self, d, work):
        self.d = d
        self.work = work

    def docker(self, *args, check=True):
        return self.d.docker(*args, check=check, timeout=60)

    def state(self, name):
        st, body = self.d.json("GET", "/v1.41/containers/%s/json" % name)
        return body["State"] if st == 200 else None

    def absent(self, *names):
        for n in names:
            self.docker("rm", "-f", n, check=False)

    def running(self, name, *run_args):
        s = self.state(name)
        if s is None:
            self.docker("run", "-d", "--name", name, *run_args)
            return
        if s.get("Paused"):
            self.docker("unpause", name)
        elif not s.get("Running"):
            self.docker("start", name)

    def web(self):
        self.running("specs-web", "-e", "A=1", "--memory", "64m", "--restart",
                     "unless-stopped", "busybox:local", *WEB_CMD)

    def stopped(self, name, *run_args):
        self.running(name, *run_args)
        self.docker("stop", "-t", "1", name)

    def image(self, ref, src="busybox:local"):
        self.docker("tag", src, ref)

    def no_image(self, ref):
        self.docker("rmi", ref, check=False)


def _ticker(c):
    c.running("specs-attach", "busybox:local", "sh", "-c",
              "while true; do echo tick; sleep 1; done")
    time.sleep(1.2)


HELLO = "hello from the build ctx\n"
DOCKERFILE = "FROM busybox:local\nRUN echo layer > /layer.txt\nCMD x\n"


def _file_is(c, name, path, want):
    got = c.docker("exec", name, "cat", path, check=False).stdout.decode(errors="replace")
    if got != want:
        return "%s:%s holds %r, expected %r" % (name, path, got, want)


def _state_is(c, name, **want):
    st = c.state(name) or {}
    bad = {k: st.get(k) for k, v in want.items() if st.get(k) != v}
    if bad:
        return "%s: State %r, expected %r" % (name, bad, want)


def _updated(c):
    hc = c.d.json("GET", "/v1.41/containers/specs-cp2/json")[1]["HostConfig"]
    if (hc["Memory"], hc["MemorySwap"]) != (96 << 20, 128 << 20):
        return "after update: Memory %r MemorySwap %r" % (hc["Memory"], hc["MemorySwap"])


def _web_logs(c):
    """httpd -v logs each request on stderr: make more than five."""
    c.web()
    for _ in range(6):
        c.docker("exec", "specs-web", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/nope",
                 check=False)


def _paused_web(c):
    c.web()
    c.docker("pause", "specs-web")


def _cp_setup(c):
    c.running("specs-cp", "busybox:local", "sleep", "300")
    c.docker("exec", "specs-cp", "rm", "-rf", "/hello.txt", "/ctx2")


def _save_file(c):
    if not os.path.exists(os.path.join(c.work, "specs-save.tar")):
        c.docker("save", "-o", os.path.join(c.work, "specs-save.tar"), "busybox:local")


def _no_exited_specs(c):
    p = c.docker("ps", "-aq", "--filter", "name=specs-", "--filter", "status=exited")
    for cid in p.stdout.decode().split():
        c.docker("rm", "-f", cid)


def _events_activity(c):
    time.sleep(1.0)
    c.docker("run", "--rm", "busybox:local", "true")


TTY92 = ("(sleep 1; printf 'stty size\\n'; sleep 0.5; printf 'exit 3\\n') | script -qec "
         "\"stty rows 40 cols 100; docker exec -it specs-tty2 sh\" /dev/null")
TTY93 = ("(sleep 1; printf 'stty size\\n'; sleep 0.5; printf 'exit 5\\n') | script -qec "
         "\"stty rows 40 cols 100; docker run -it --rm --name specs-tty3 busybox:local sh\" /dev/null")

# name -> spec. cmd: shell command (default: the trace's); setup(ctx); out:
# "exact" | "header" | "prefix" | None | callable(lines, trace) -> message;
# frames: compare frame payloads exactly; expect: {request index: {"status": ..}}
# adaptations where our image differs from the traced one.
SPEC = {
    "01-version": {"out": "prefix", "prefix": 3},
    "02-info": {"out": "prefix", "prefix": 7},
    "03-ps-a": {"setup": lambda c: c.docker("container", "prune", "-f") and
                c.absent("specs-web", "specs-c", "specs-cp", "specs-cp2", "specs-attach",
                         "specs-tty2")},
    "04-images": {"out": "header", "min_lines": 2},
    "05-run-rm-echo": {"frames": True},
    "06-run-d-web": {"setup": lambda c: c.absent("specs-web")},
    "07-logs-tail-f": {"setup": _web_logs, "frames": "streams",
                       "out": _lines_match(*[r"\[[0-9a-f:.]+\]:\d+: response:404"] * 5)},
    "08-exec": {"setup": lambda c: c.web(), "frames": True},
    "09-exec-i-stdin": {"setup": lambda c: c.web(), "frames": True},
    "10-exec-it-tty": {"setup": lambda c: c.web(), "out": None},
    "11-run-it-tty": {"setup": lambda c: c.absent("specs-tty"), "out": _contains("tty-ok")},
    # dockerd happened to forward stderr before stdout; Berth keeps the order
    # the process wrote in. The frames' payloads per stream are compared exactly.
    "12-run-attached-stderr": {"setup": lambda c: c.absent("specs-att"), "frames": True,
                               "out": "sorted"},
    "13-inspect": {"setup": lambda c: c.web(), "out": _json_list},
    "14-ps": {"setup": lambda c: c.web(), "out": "header", "min_lines": 2},
    "15-stats-no-stream": {"setup": lambda c: c.web(), "out": "header", "min_lines": 2},
    "16-top": {"setup": lambda c: c.web(), "out": "header", "min_lines": 2},
    # -p publishing is out of scope: `docker port` may print nothing.
    "17-port": {"setup": lambda c: c.web(), "out": None},
    "18-cp-from": {"setup": lambda c: c.web(),
                   "out": _lines_match(r"lrwxrwxrwx 1 root root 7 .* \./cp-sh\.bin -> busybox")},
    # The traced image had no /tmp (so dockerd answered 404); ours has one.
    "19-cp-to": {"setup": lambda c: (c.web(), c.docker("exec", "specs-web", "rm", "-f", "/tmp/hello.txt")),
                 "expect": {2: {"status": 200, "content-type": None}}, "exit": 0, "out": None,
                 "post": lambda c: _file_is(c, "specs-web", "/tmp/hello.txt", HELLO)},
    "20-pause": {"setup": lambda c: c.web(),
                 "post": lambda c: _state_is(c, "specs-web", Status="paused", Paused=True)},
    "21-unpause": {"setup": _paused_web,
                   "post": lambda c: _state_is(c, "specs-web", Status="running", Paused=False)},
    "22-restart": {"setup": lambda c: c.web()},
    "23-stop": {"setup": lambda c: c.web(),
                "post": lambda c: _state_is(c, "specs-web", Status="exited", Running=False)},
    "24-start": {"setup": lambda c: (c.web(), c.docker("stop", "-t", "1", "specs-web"))},
    "25-kill": {"setup": lambda c: c.web(),
                "post": lambda c: _state_is(c, "specs-web", Running=False, ExitCode=137)},
    "26-rm": {"setup": lambda c: (c.web(), c.docker("kill", "specs-web"))},
    "27-create-start-a": {"setup": lambda c: c.absent("specs-c"), "frames": True},
    "28-wait": {"setup": lambda c: c.state("specs-c") or
                c.docker("run", "--name", "specs-c", "busybox:local", "sh", "-c",
                         "echo created-and-started")},
    "29-rm-f": {"setup": lambda c: c.state("specs-c") or
                c.docker("create", "--name", "specs-c", "busybox:local", "true")},
    "32-history": {"setup": lambda c: c.image("specs-img:1"), "out": "header"},
    "33-image-inspect": {"setup": lambda c: c.image("specs-img:1"), "out": _json_list},
    "34-tag": {"setup": lambda c: (c.image("specs-img:1"), c.no_image("specs-img:2"))},
    "35-rmi-tag": {"setup": lambda c: c.image("specs-img:2")},
    "36-rmi": {"setup": lambda c: c.image("specs-img:1")},
    "56-events": {"during": _events_activity, "out": _events_lines},
    "57-events-since-until": {"setup": lambda c: c.docker("run", "--rm", "busybox:local", "true"),
                              "out": _events_json},
    "61-system-df": {"out": "header", "min_lines": 5},
    "62-system-prune": {},
    "63-container-prune": {},
    "64-bad-version-call": {"out": _contains(
        '{"message":"client version 1.50 is too new. Maximum supported API version is 1.4',
        '{"message":"No such container: specs-nope"}', "HTTP/1.1 200 OK", "Api-Version: 1.4")},
    "65-run-d-sleep": {"setup": lambda c: c.absent("specs-cp", "specs-cp2")},
    "66-cp-to-root": {"setup": _cp_setup,
                      "post": lambda c: _file_is(c, "specs-cp", "/hello.txt", HELLO)},
    "67-cp-dir-to": {"setup": _cp_setup,
                     "post": lambda c: _file_is(c, "specs-cp", "/ctx2/Dockerfile", DOCKERFILE)},
    "68-rename": {"setup": lambda c: (c.absent("specs-cp2"), _cp_setup(c))},
    "69-update": {"setup": lambda c: (c.absent("specs-cp"),
                                      c.running("specs-cp2", "busybox:local", "sleep", "300")),
                  "post": _updated},
    "71-rm-f-running": {"setup": lambda c: c.running("specs-cp2", "busybox:local", "sleep", "300")},
    # Without commit (out of scope) the tag points at busybox:local's image,
    # which stays: only the Untagged line.
    "72-rmi-committed": {"setup": lambda c: c.image("specs-committed:1"),
                         "out": _lines_match(r"Untagged: specs-committed:1")},
    "73-run-i-stdin": {"frames": True, "out": "sorted"},
    "74-run-d-ticker": {"setup": lambda c: c.absent("specs-attach")},
    # docker attach --sig-proxy=false ignores SIGINT (against dockerd too: the
    # trace has no exit line, the CLI was killed later): kill it after 1 s more.
    "75-attach": {"setup": _ticker, "out": _contains("tick"), "exit": 137,
                  "cmd": "timeout -k 1 -s INT 2.5 docker attach --sig-proxy=false specs-attach"},
    "76-logs-timestamps": {"setup": _ticker,
                           "out": _lines_match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z tick",
                                               r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z tick")},
    "77-rm-f-ticker": {"setup": _ticker},
    "78-save": {},
    "79-load": {"setup": _save_file},
    "89-images-json-format": {"out": lambda lines, exp: None if lines and all(
        set(json.loads(x)) >= set(json.loads(exp["out"][0])) for x in lines)
        else "lines are not docker's JSON image rows: %r" % lines[:2]},
    "90-ps-filters": {"setup": _no_exited_specs},
    "91-run-d-for-exec": {"setup": lambda c: c.absent("specs-tty2")},
    "92-exec-it-tty-sized": {"cmd": TTY92, "setup": lambda c: c.running(
        "specs-tty2", "busybox:local", "sleep", "300"), "out": _contains("40 100")},
    "93-run-it-tty-sized": {"cmd": TTY93, "setup": lambda c: c.absent("specs-tty3"),
                            "out": _contains("40 100")},
    "94-rm-f-tty2": {"setup": lambda c: c.running("specs-tty2", "busybox:local", "sleep", "300")},
}

# Commands as recorded, adapted: the trace's 06 and 72 need no change; a few
# use the recording machine's paths or need the whole line.
CMD_ADAPT = {
    "06-run-d-web": "docker run -d --name specs-web -p 18081:80 -e A=1 --memory 64m "
                    "--restart unless-stopped busybox:local busybox httpd -f -v -p 80",
    "56-events": "timeout -s INT 5 docker events",
    "64-bad-version-call": "curl -s --unix-socket $SOCK http://localhost/v1.50/version; echo; "
                           "curl -s --unix-socket $SOCK http://localhost/v1.41/containers/specs-nope/json; "
                           "echo; curl -si --unix-socket $SOCK -X HEAD http://localhost/_ping",
}


def _section_id(name):
    return name.split("-", 1)[0]


# --------------------------------------------------------------------------
# Fixtures.

@pytest.fixture(scope="module")
def traced():
    _skip_if_unbuilt()
    if not TRACE:
        pytest.skip("no trace file at %s" % TRACE_JSON)
    d = Berthd()
    proxy = None
    try:
        d.start()
        load_busybox(d, "busybox:local")
        work = tempfile.mkdtemp(prefix="traces-", dir=d.tmp)
        os.makedirs(os.path.join(work, "ctx"))
        os.makedirs(os.path.join(work, "ctx2"))
        with open(os.path.join(work, "ctx", "hello.txt"), "w") as f:
            f.write(HELLO)
        with open(os.path.join(work, "ctx2", "Dockerfile"), "w") as f:
            f.write(DOCKERFILE)
        proxy = TraceProxy(d.sock, os.path.join(d.tmp, "proxy.sock")).start()
        yield d, proxy, Ctx(d, work)
    finally:
        if proxy:
            proxy.stop()
        try:
            d.docker("rm", "-f", "specs-web", "specs-c", "specs-cp", "specs-cp2",
                     "specs-attach", "specs-tty2", "specs-tty3", check=False)
            d.stop()
        finally:
            d.cleanup()




def _run_section(name, d, proxy, ctx):
    spec = SPEC.get(name, {})
    if spec.get("setup"):
        spec["setup"](ctx)
    cmd = spec.get("cmd") or CMD_ADAPT.get(name) or CLI[name]["cmd"]
    env = dict(d.env, DOCKER_HOST="unix://" + proxy.listen, SOCK=proxy.listen,
               PATH="/usr/local/bin:" + os.environ.get("PATH", "/usr/bin:/bin"))
    proxy.settle(0.2)
    proxy.take()
    during = None
    if spec.get("during"):
        during = threading.Thread(target=spec["during"], args=(ctx,))
        during.start()
    p = subprocess.run(["sh", "-c", cmd + " 2>&1"], cwd=ctx.work, env=env,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, timeout=90)
    if during:
        during.join(60)
    proxy.settle()
    recs = proxy.take()
    return p.returncode, p.stdout.decode(errors="replace"), recs


@pytest.mark.parametrize("name", SECTIONS)
def test_trace(traced, name):
    d, proxy, ctx = traced
    sid = _section_id(name)
    if sid in SKIP:
        pytest.skip(SKIP[sid])
    if name not in SPEC and name not in CMD_ADAPT:
        pytest.skip("no adaptation written for this section")
    spec = SPEC.get(name, {})
    expected = TRACE[name]
    # 64 is curl, not the CLI: no ping first, and HEAD /_ping at the end.
    code, out, recs = _run_section(name, d, proxy, ctx)
    problems = []
    pairs, seq = align(expected, recs)
    problems += seq
    for (e, a) in pairs:
        idx = expected.index(e)
        over = spec.get("expect", {}).get(idx)
        if over:
            e = dict(e, status=over["status"])
            hdrs = [h for h in e["resp_headers"] if h[0].lower() != "content-type"]
            if over.get("content-type"):
                hdrs.append(["Content-Type", over["content-type"]])
            e["resp_headers"] = hdrs
            e.pop("resp_body_json", None)
        problems += compare_exchange(e, a, spec.get("frames", False))
    exp_cli = dict(CLI[name])
    if "exit" in spec:
        exp_cli["exit"] = spec["exit"]
    CLI_SAVED = CLI[name]
    CLI[name] = exp_cli
    try:
        problems += check_output(name, spec, out, code)
    finally:
        CLI[name] = CLI_SAVED
    if spec.get("post"):
        msg = spec["post"](ctx)
        if msg:
            problems.append("effect: " + msg)
    if problems:
        got = "\n".join("    %s" % req_key(a.method, a.target) + " -> %s" % a.status for a in recs)
        pytest.fail("%s: %d mismatch(es) with the dockerd trace\n  - %s\n\n  command: %s\n"
                    "  exit %d, output:\n%s\n  requests seen:\n%s" % (
                        name, len(problems), "\n  - ".join(problems),
                        spec.get("cmd") or CMD_ADAPT.get(name) or CLI[name]["cmd"],
                        code, "\n".join("    | " + ln for ln in out.rstrip("\n").split("\n")[:30]),
                        got), pytrace=False)


# --------------------------------------------------------------------------
# The comparison itself must be able to fail.

def test_comparison_catches_differences():
    e = {"method": "GET", "path": "/v1.41/containers/specs-web/json", "t": 0.0, "status": 200,
         "resp_headers": [["Content-Type", "application/json"], ["Api-Version", "1.41"]],
         "resp_body_json": {"Id": "x", "State": {"Status": "running", "Pid": 1}}}

    class A:
        pass

    a = A()
    a.method, a.target, a.status = "GET", "/v1.44/containers/specs-web/json", 200
    a.resp_headers = [("Content-Type", "application/json"), ("Api-Version", "1.41"),
                      ("Docker-Experimental", "false"), ("Ostype", "linux"), ("Server", "Berth")]
    a.resp_body = json.dumps({"Id": "y", "State": {"Status": "running"}}).encode()
    a.resp_chunked = False
    a.resp_complete = True
    a.json = lambda: json.loads(a.resp_body)
    a.header = lambda n: None
    probs = compare_exchange(e, a, False)
    assert probs == ["GET /containers/specs-web/json: $.State.Pid: missing (trace: 1)"]
    a.status = 404
    assert any("status 404, trace 200" in p for p in compare_exchange(e, a, False))
    pairs, seq = align([e], [a])
    assert not seq and len(pairs) == 1
    a.target = "/v1.41/containers/specs-web/json?size=1"
    pairs, seq = align([e], [a])
    assert seq and "size" in seq[0]
    assert req_key("POST", "/v1.41/containers/" + "a" * 64 + "/wait?condition=removed") == \
        "POST /containers/<id>/wait?condition"
    assert parse_frames(b"\x01\0\0\0\0\0\0\x03hi\n") == [("stdout", b"hi\n")]
    assert parse_frames(b"hi\r\n") is None
    assert json_shape_diff({"a": [{"b": 1}]}, {"a": [{"c": 1}]}) == ["$.a[0].b: missing (trace: 1)"]
    assert json_shape_diff({"a": 1}, {"a": "1"})
