#!/usr/bin/env bash
# vcp run overhead: W workers x K trivial items through `vcp run`, against the
# same work through a plain `xargs -P W` (the floor: one `sh -c` per item).
# Prints both timings (hyperfine, warm cache) and their ratio.
#
#   bash benches/run_overhead.sh [W] [K]      (default 4 workers x 500 items)
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-4}
K=${2:-500}
N=$((W * K))

command -v hyperfine >/dev/null || {
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get install -y -qq hyperfine >/dev/null
}
cargo build --release --quiet
vcp=$PWD/target/release/vcp

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/bench.vcp" <<VCP
pipeline bench {
  stage trivial {
    image   = "busybox:1.36"
    workers = $W
    shard   = range(0, $N) by block
    run     = "true {item}"
  }
}
VCP
seq 0 $((N - 1)) >"$work/items"

cd "$work"
hyperfine --warmup 1 --runs "${RUNS:-5}" --export-json "$work/result.json" \
  --prepare 'rm -rf .vcp' \
  -n "xargs -P $W" "xargs -P $W -n 1 sh -c 'true \"\$1\"' item <items" \
  -n "vcp run ($W x $K)" "$vcp run bench.vcp 2>/dev/null"
python3 - "$work/result.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
base, vcp = r[0]["median"], r[1]["median"]
print(f"median: xargs {base:.3f} s, vcp run {vcp:.3f} s, ratio {vcp / base:.2f}x")
PY
