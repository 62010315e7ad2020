#!/usr/bin/env python3
"""Times commands side by side, alternating round by round (benches/all.sh).

    python3 benches/measure.py [--rounds R] [--warmup W] [--cwd DIR]
        [--prepare NAME=SHELL]... [--stdout NAME=FILE]... NAME=COMMAND...

Each round runs every command once, in the given order on even rounds and
in reverse on odd ones, so that a machine that slows down or speeds up in
the middle weighs on all of them alike (hyperfine runs one command's runs
after another's). A command is split like a shell word list (no shell runs
it: the figures hold no shell start-up); `--prepare` runs a shell command,
untimed, before each run of NAME (e.g. emptying its output directory), and
`--stdout` sends NAME's output to FILE instead of /dev/null. A command that
exits other than with 0 (or the status `--expect NAME=STATUS` gives: `vcp
check` of a broken file exits 1) stops the measurement.

Prints one tab-separated line per command:
    name  median_ms  p25_ms  min_ms  cpu_ms  peak_mb  runs
cpu_ms is the median user + system time of the process and its children,
peak_mb the peak RSS of one more run under GNU time (/usr/bin/time; `-`
without it). Not wait4's ru_maxrss of the timed runs: a child forked from
Python counts Python's own pages until it execs (some 15 MB).
"""

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time


def pairs(values, what):
    out = {}
    for v in values:
        name, sep, rest = v.partition("=")
        if not sep:
            sys.exit(f"measure.py: {what} wants NAME=VALUE, got {v!r}")
        out[name] = rest
    return out


def run(argv, cwd, stdout_path, expect=0):
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    try:
        start = time.perf_counter()
        p = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - start
        p.returncode = os.waitstatus_to_exitcode(status)
        err = p.stderr.read()
        p.stderr.close()
    finally:
        if stdout_path:
            out.close()
    if p.returncode != expect:
        sys.exit(f"measure.py: {shlex.join(argv)} failed ({p.returncode}): {err[:400].decode(errors='replace')}")
    return wall, usage.ru_utime + usage.ru_stime


def peak_mb(argv, cwd, stdout_path, expect):
    """The peak RSS of one run under GNU time, in MB, or None."""
    if not os.access("/usr/bin/time", os.X_OK):
        return None
    with tempfile.NamedTemporaryFile("r") as t:
        run(["/usr/bin/time", "-f", "%M", "-o", t.name] + argv, cwd, stdout_path, expect)
        return int(t.read().split()[-1]) / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--cwd", default=".")
    ap.add_argument("--prepare", action="append", default=[])
    ap.add_argument("--stdout", action="append", default=[])
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("commands", nargs="+")
    args = ap.parse_args()
    commands = list(pairs(args.commands, "a command").items())
    prepare = pairs(args.prepare, "--prepare")
    stdout = pairs(args.stdout, "--stdout")
    expect = {k: int(v) for k, v in pairs(args.expect, "--expect").items()}
    results = {name: [] for name, _ in commands}
    for r in range(args.warmup + args.rounds):
        order = commands if r % 2 == 0 else list(reversed(commands))
        for name, cmd in order:
            if name in prepare:
                subprocess.run(prepare[name], shell=True, cwd=args.cwd, check=True)
            sample = run(shlex.split(cmd), args.cwd, stdout.get(name), expect.get(name, 0))
            if r >= args.warmup:
                results[name].append(sample)
    for name, cmd in commands:
        rows = results[name]
        walls = sorted(1000 * w for w, _ in rows)
        cpu = statistics.median(1000 * c for _, c in rows)
        if name in prepare:
            subprocess.run(prepare[name], shell=True, cwd=args.cwd, check=True)
        peak = peak_mb(shlex.split(cmd), args.cwd, stdout.get(name), expect.get(name, 0))
        peak = "-" if peak is None else f"{peak:.1f}"
        print(
            f"{name}\t{statistics.median(walls):.1f}\t{walls[len(walls) // 4]:.1f}\t{walls[0]:.1f}"
            f"\t{cpu:.1f}\t{peak}\t{len(rows)}"
        )


if __name__ == "__main__":
    main()
