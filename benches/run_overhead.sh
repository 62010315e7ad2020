#!/usr/bin/env bash
# vcp run overhead: W workers x K trivial items (P at a time in each worker)
# through `vcp run`, against the same work through `xargs -P W*P` (the floor:
# one `sh -c` per item). The two alternate round by round, so that the
# machine's drift hits both alike; prints each one's median wall time, the
# ratio, and the median system time of each.
#
#   bash benches/run_overhead.sh [W] [K] [P] [ROUNDS]   (default 4 500 1 7)
#   bash benches/run_overhead.sh 2 5000 50              (the second benchmark)
#   VCP=path/to/vcp bash benches/run_overhead.sh ...    (another binary)
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-4}
K=${2:-500}
P=${3:-1}
ROUNDS=${4:-7}
N=$((W * K))

if [ -z "${VCP:-}" ]; then
  cargo build --release --quiet
  VCP=$PWD/target/release/vcp
fi
VCP=$(realpath "$VCP")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/bench.vcp" <<VCP
pipeline bench {
  stage trivial {
    image    = "busybox:1.36"
    workers  = $W
    parallel = $P
    shard    = range(0, $N) by block
    run      = "true {item}"
  }
}
VCP
seq 0 $((N - 1)) >"$work/items"
cd "$work"

# One timed run: prints "wall_seconds system_seconds".
timed() {
  local out
  out=$( { TIMEFORMAT='%R %S'; time "$@" >/dev/null 2>&1; } 2>&1 )
  echo "$out"
}

# shellcheck disable=SC2016 # the inner shell expands $1
xargs_run() { xargs -P $((W * P)) -n 1 sh -c 'true "$1"' item <items; }
vcp_run() { rm -rf .vcp; "$VCP" run bench.vcp; }

# Warm-up, one each.
xargs_run
vcp_run >/dev/null 2>&1
: >"$work/xargs.t"
: >"$work/vcp.t"
for _ in $(seq "$ROUNDS"); do
  timed xargs_run >>"$work/xargs.t"
  timed vcp_run >>"$work/vcp.t"
done
python3 - "$work/xargs.t" "$work/vcp.t" "$W" "$K" "$P" "$ROUNDS" <<'PY'
import statistics, sys
def load(p):
    rows = [tuple(map(float, l.split())) for l in open(p) if l.strip()]
    return statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows)
(xw, xs), (vw, vs) = load(sys.argv[1]), load(sys.argv[2])
w, k, p, rounds = sys.argv[3:]
print(f"{w} x {k} items, parallel {p}, {rounds} alternating rounds (medians):")
print(f"  xargs -P {int(w) * int(p)}: {xw:.3f} s wall, {xs:.3f} s system")
print(f"  vcp run:     {vw:.3f} s wall, {vs:.3f} s system")
print(f"  ratio {vw / xw:.2f}x")
PY
