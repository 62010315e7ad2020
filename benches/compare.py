#!/usr/bin/env python3
"""Two or more vcp binaries side by side on the generated workload.

    python3 benches/compare.py [--runs R] [--n N] BIN [BIN...]

Builds `benches/gen.py N` (default 1,000 stages) with each binary, `vcp build
bench.vcp -o -`, R times each (default 40), alternating the binaries run by
run (and reversing the order every other round), so that a machine that
slows down or speeds up in the middle weighs on all of them alike. Prints
the median, the first quartile and the fastest run of each, and each
binary's median against the first one's: on a shared machine, hyperfine's
one-command-after-the-other blocks drift more than the changes measured.
`BASE=OLD bash benches/all.sh compile output memory` does the same for
every build figure of docs/performance.md.

To compare with an older commit:
    git worktree add /tmp/old REV && cargo build --release --manifest-path /tmp/old/Cargo.toml
    python3 benches/compare.py /tmp/old/target/release/vcp target/release/vcp
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--runs", type=int, default=40)
parser.add_argument("--n", type=int, default=1000)
parser.add_argument("binaries", nargs="+")
args = parser.parse_args()

with tempfile.TemporaryDirectory() as work:
    source = os.path.join(work, "bench.vcp")
    with open(source, "w") as f:
        subprocess.run([sys.executable, os.path.join(here, "gen.py"), str(args.n)], stdout=f, check=True)
    binaries = [os.path.abspath(b) for b in args.binaries]
    times = {b: [] for b in binaries}
    with open(os.devnull, "w") as null:
        # One warm-up run each: the file and the binaries in the page cache.
        for b in binaries:
            subprocess.run([b, "build", source, "-o", "-"], stdout=null, check=True)
        for run in range(args.runs):
            for b in binaries if run % 2 == 0 else reversed(binaries):
                start = time.perf_counter()
                subprocess.run([b, "build", source, "-o", "-"], stdout=null, check=True)
                times[b].append(time.perf_counter() - start)

base = statistics.median(times[binaries[0]])
print(f"N = {args.n}, {args.runs} runs each, alternating; whole process, ms")
for b, name in zip(binaries, args.binaries):
    t = sorted(times[b])
    median = statistics.median(t)
    print(
        f"{name:40s} median {1000 * median:8.1f}  p25 {1000 * t[len(t) // 4]:8.1f}"
        f"  min {1000 * t[0]:8.1f}  {base / median:5.2f}x"
    )
