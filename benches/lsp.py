#!/usr/bin/env python3
"""Times `vcp lsp` on the benchmark pipeline (benches/gen.py): from a
didChange sent to the publishDiagnostics that answers it, as an editor sees
it. Each change alternately breaks and fixes one stage in the middle of the
file (so every change has new diagnostics to publish); a full-text change,
as clients without incremental sync send, and an incremental one of a few
bytes are timed separately. Also times a hover on a stage right after a
change (the first one parses the file's tree), and, as the baseline, `vcp
check` of the same file from the command line.

    cargo build --release
    python3 benches/lsp.py                       # 1,000 stages, 20 changes each way
    python3 benches/lsp.py --stages 10000 --vcp target/release/vcp

No dependencies beyond Python 3; the client speaks JSON-RPC itself.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


class Client:
    def __init__(self, vcp, root):
        self.p = subprocess.Popen(
            [vcp, "lsp"], cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self.next_id = 0

    def send(self, obj):
        body = json.dumps(obj).encode()
        self.p.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.p.stdin.flush()

    def recv(self):
        length = None
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise SystemExit("vcp lsp closed its output")
            if line in (b"\r\n", b"\n"):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return json.loads(self.p.stdout.read(length))

    def request(self, method, params):
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        while True:
            m = self.recv()
            if m.get("id") == self.next_id and "method" not in m:
                return m

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def diagnostics(self):
        while True:
            m = self.recv()
            if m.get("method") == "textDocument/publishDiagnostics":
                return m["params"]["diagnostics"]


def summary(name, times):
    ms = sorted(t * 1000 for t in times)
    p90 = ms[min(len(ms) - 1, int(len(ms) * 0.9))]
    print(
        f"{name:<44} min {ms[0]:7.1f} ms   median {statistics.median(ms):7.1f} ms"
        f"   p90 {p90:7.1f} ms   max {ms[-1]:7.1f} ms   (n={len(ms)})"
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stages", type=int, default=1000)
    ap.add_argument("--changes", type=int, default=20)
    ap.add_argument("--vcp", default=os.path.join(HERE, "..", "target", "release", "vcp"))
    args = ap.parse_args()
    text = subprocess.run(
        [sys.executable, os.path.join(HERE, "gen.py"), str(args.stages)],
        check=True, capture_output=True, text=True,
    ).stdout
    root = tempfile.mkdtemp(prefix="vcp-lsp-bench-")
    path = os.path.join(root, "bench.vcp")
    with open(path, "w") as f:
        f.write(text)
    uri = "file://" + path

    # The baseline: the command line checking the same file.
    cli = []
    for _ in range(5):
        t0 = time.perf_counter()
        subprocess.run([args.vcp, "check", path], check=True, capture_output=True)
        cli.append(time.perf_counter() - t0)

    c = Client(args.vcp, root)
    c.request("initialize", {"capabilities": {}, "rootUri": "file://" + root, "processId": None})
    c.notify("initialized", {})
    t0 = time.perf_counter()
    c.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "vcp", "version": 1, "text": text}})
    c.diagnostics()
    opened = time.perf_counter() - t0

    # A stage in the middle: its `workers = N` line.
    lines = text.split("\n")
    target = [i for i, l in enumerate(lines) if l.strip().startswith("workers")][args.stages // 2]
    line = lines[target]
    col = line.index("=") + 2
    old_value = line[col:]
    version = 1

    def change(new_value, full):
        nonlocal version
        version += 1
        if full:
            lines[target] = line[:col] + new_value
            changes = [{"text": "\n".join(lines)}]
        else:
            cur = lines[target][col:]
            changes = [{
                "range": {"start": {"line": target, "character": col},
                          "end": {"line": target, "character": col + len(cur)}},
                "text": new_value,
            }]
            lines[target] = line[:col] + new_value
        t0 = time.perf_counter()
        c.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version}, "contentChanges": changes})
        c.diagnostics()
        return time.perf_counter() - t0

    incremental, full, hovers = [], [], []
    for i in range(args.changes):
        incremental.append(change("0" if i % 2 == 0 else old_value, full=False))
    for i in range(args.changes):
        full.append(change("0" if i % 2 == 0 else old_value, full=True))
    for i in range(min(args.changes, 10)):
        change("0" if i % 2 == 0 else old_value, full=False)
        t0 = time.perf_counter()
        r = c.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": target - 3, "character": 9}})
        hovers.append(time.perf_counter() - t0)
        assert r.get("result") is not None, r
    c.request("shutdown", None)
    c.notify("exit", None)
    c.p.wait()

    print(f"{args.stages} stages, {len(text)} bytes, {args.vcp}")
    summary("vcp check (command line, baseline)", cli)
    summary("didOpen -> diagnostics", [opened])
    summary("didChange (incremental) -> diagnostics", incremental)
    summary("didChange (full text) -> diagnostics", full)
    summary("hover on a stage after a change", hovers)


if __name__ == "__main__":
    main()
