#!/usr/bin/env bash
# Whole-process timings of `vcp build` on the generated benchmark pipelines
# (benches/gen.py): the stream against file output, on tmpfs and on disk,
# optionally side by side with a baseline binary. For each N, file system
# and binary it prints hyperfine medians (warm cache) of
#   stream   vcp build bench.vcp -o -          (every manifest as one YAML stream)
#   fresh    vcp build bench.vcp -o DIR         (DIR empty: every file written)
#   uptodate the same into a DIR holding this build (the GitOps / CI case:
#            every file compared, none written)
#   one      the same after one stage changed (its files rewritten)
# the ratios fresh/stream and uptodate/stream, the peak RSS of a fresh
# build (GNU time) and the output size.
#
#   bash benches/render.sh [N...]            (default: 1000 10000)
#
# Environment: VCP (the binary; default: cargo build --release), BASE (a
# baseline binary, e.g. main's, timed in the same hyperfine runs, rounds
# taken in turn), TMPFS (default /dev/shm), DISK (default target/bench-disk),
# RUNS (default 15; 5 at N >= 10,000).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
((${#sizes[@]})) || sizes=(1000 10000)

need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
[ -x /usr/bin/time ] || need+=(time)
if ((${#need[@]})); then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ -z "${VCP:-}" ]; then
  cargo build --release --quiet
  VCP=$PWD/target/release/vcp
fi
bins=("new=$VCP")
[ -n "${BASE:-}" ] && bins=("base=$BASE" "${bins[@]}")
tmpfs=${TMPFS:-/dev/shm}
disk=${DISK:-$PWD/target/bench-disk}
mkdir -p "$disk"
src=$(mktemp -d)
works=()
trap 'rm -rf "$src" "${works[@]}"' EXIT

median() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(" ".join("%.1f" % (x["median"] * 1000) for x in r))' "$1"; }
peak_mb() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1 | awk '{ printf "%.1f", $1 / 1024 }'; }

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%6s %6s %5s %9s %9s %9s %9s %8s %8s %8s %7s\n' N fs bin stream_ms fresh_ms upd_ms one_ms fr/str up/str peak_MB out_MB
for n in "${sizes[@]}"; do
  python3 benches/gen.py "$n" >"$src/bench-$n.vcp"
  # One stage's command changed: what a typical commit does.
  sed '0,/python3 /s//python3 -u /' "$src/bench-$n.vcp" >"$src/one-$n.vcp"
  runs=${RUNS:-$((n >= 10000 ? 5 : 15))}
  for fs in tmpfs disk; do
    base_dir=$tmpfs
    [ "$fs" = disk ] && base_dir=$disk
    work=$(mktemp -d "$base_dir/vcp-render.XXXXXX")
    works+=("$work")
    cp "$src/bench-$n.vcp" "$src/one-$n.vcp" "$work/"
    cd "$work"
    cmds_s=() cmds_f=() cmds_u=() cmds_o=() names=()
    for b in "${bins[@]}"; do
      name=${b%%=*} bin=${b#*=}
      names+=("$name")
      "$bin" build "bench-$n.vcp" -o "up-$name" 2>/dev/null
      cmds_s+=("$bin build bench-$n.vcp -o -")
      cmds_f+=("$bin build bench-$n.vcp -o fresh-$name")
      cmds_u+=("$bin build bench-$n.vcp -o up-$name")
      # Alternates the changed stage in and out: one stage rewritten a run.
      cmds_o+=("sh -c 'if [ -e flip-$name ]; then rm flip-$name; f=bench; else : >flip-$name; f=one; fi; exec $bin build \$f-$n.vcp -o up-$name'")
    done
    hyperfine -N --warmup 2 --runs "$runs" --export-json s.json "${cmds_s[@]}" >/dev/null 2>&1
    hyperfine --warmup 1 --runs "$runs" --prepare "rm -rf fresh-base fresh-new" --export-json f.json "${cmds_f[@]}" >/dev/null 2>&1
    hyperfine -N --warmup 2 --runs "$runs" --export-json u.json "${cmds_u[@]}" >/dev/null 2>&1
    hyperfine --warmup 2 --runs "$runs" --export-json o.json "${cmds_o[@]}" >/dev/null 2>&1
    read -r -a s <<<"$(median s.json)"
    read -r -a f <<<"$(median f.json)"
    read -r -a u <<<"$(median u.json)"
    read -r -a o <<<"$(median o.json)"
    for i in "${!names[@]}"; do
      bin=${bins[$i]#*=}
      rm -rf peak
      peak=$(peak_mb "$bin" build "bench-$n.vcp" -o peak)
      size=$(du -sb peak | awk '{ printf "%.1f", $1 / 1e6 }')
      printf '%6s %6s %5s %9s %9s %9s %9s %8s %8s %8s %7s\n' "$n" "$fs" "${names[$i]}" "${s[$i]}" "${f[$i]}" "${u[$i]}" "${o[$i]}" \
        "$(python3 -c "print('%.2f' % (${f[$i]} / ${s[$i]}))")" "$(python3 -c "print('%.2f' % (${u[$i]} / ${s[$i]}))")" "$peak" "$size"
    done
    cd - >/dev/null
  done
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
