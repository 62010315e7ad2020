#!/usr/bin/env bash
# Whole-process timings of `vcp build` on the generated benchmark pipelines
# (benches/gen.py), N = 10, 100, 1,000, 10,000 stages: hyperfine medians with
# a warm cache, and peak memory (GNU time). For each N it prints
#   stream   vcp build bench.vcp -o -            (every manifest as one YAML stream:
#                                                the workload the peers were timed on)
#   tree     vcp build bench.vcp -o DIR          (fresh directory: one file per object
#                                                and per script)
#   rebuild  the same into an up-to-date DIR     (the CI / pre-commit case)
#   cp       cp -r of the produced tree           (the floor for writing it)
#   broken   vcp check on the file with one bad stage at the end
#
#   bash benches/render.sh [N...]      (default: 10 100 1000 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
((${#sizes[@]})) || sizes=(10 100 1000 10000)

need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
[ -x /usr/bin/time ] || need+=(time)
if ((${#need[@]})); then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi
cargo build --release --quiet
vcp=$PWD/target/release/vcp
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.1f" % (r["median"] * 1000))' "$1"; }
peak_mb() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1 | awk '{ printf "%.1f", $1 / 1024 }'; }

printf '%7s %10s %10s %10s %10s %10s %12s %9s\n' N stream_ms tree_ms rebuild_ms cp_ms broken_ms peak_MB out_MB
for n in "${sizes[@]}"; do
  python3 benches/gen.py "$n" >"$work/bench-$n.vcp"
  python3 benches/gen.py "$n" --broken >"$work/broken-$n.vcp"
  runs=$((n >= 10000 ? 5 : 15))
  cd "$work"
  hyperfine -N --warmup 2 --runs "$runs" --export-json s.json "$vcp build bench-$n.vcp -o -" >/dev/null 2>&1 || true
  hyperfine --warmup 1 --runs "$runs" --prepare "rm -rf out" --export-json t.json "$vcp build bench-$n.vcp -o out" >/dev/null 2>&1
  hyperfine -N --warmup 2 --runs "$runs" --export-json r.json "$vcp build bench-$n.vcp -o out" >/dev/null 2>&1
  hyperfine --warmup 1 --runs "$runs" --prepare "rm -rf out-copy" --export-json c.json "cp -r out out-copy" >/dev/null 2>&1
  hyperfine -N -i --warmup 2 --runs "$runs" --export-json b.json "$vcp check broken-$n.vcp" >/dev/null 2>&1
  peak=$(peak_mb "$vcp" build "bench-$n.vcp" -o -)
  size=$("$vcp" build "bench-$n.vcp" -o - | wc -c | awk '{ printf "%.2f", $1 / 1e6 }')
  printf '%7s %10s %10s %10s %10s %10s %12s %9s\n' "$n" "$(median s.json)" "$(median t.json)" "$(median r.json)" "$(median c.json)" "$(median b.json)" "$peak" "$size"
  cd - >/dev/null
done
