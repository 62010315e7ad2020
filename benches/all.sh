#!/usr/bin/env bash
# Re-measures every figure docs/performance.md publishes, each side by side
# with its baseline in the same run, and prints the docs' tables (markdown,
# ready to paste): a header line (date, commit, machine, load before and
# after), the summary table (figure, target, measured, baseline, ratio, met,
# load during the part), then one table per part.
#
#   bash benches/all.sh [PART...]     (default: every part, in this order)
#   QUICK=1 bash benches/all.sh       (a smoke run: small sizes, few rounds)
#
# Parts:
#   compile  `vcp build -o -` at N = 10, 1,000 and 10,000 and `vcp check` of
#            a broken N = 1,000 file, alternating (benches/measure.py)
#   output   `vcp build -o DIR` at N = 1,000, fresh and up to date, against
#            `-o -`, on tmpfs and on disk; jrsonnet writing its one file (and
#            its stream), in the same rounds, on the same objects
#   memory   peak RSS at N = 10,000 of `-o DIR`, `-o -` and `vcp check`
#   run      `vcp run` against `xargs -P` (benches/run_overhead.sh), 4 x 500
#            and 2 x 5,000 with parallel 50
#   shard    one worker's shard assignment (benches/shard.sh) under mawk and
#            gawk
#   lsp      `vcp lsp`: a change to its diagnostics (benches/lsp.py), against
#            `vcp check` of the same file
#   peers    the other configuration tools on the same objects
#            (benches/peers.sh, N = 1,000)
#
# With UPDATE_DOCS=1 the report also replaces the one in docs/performance.md
# (between its `benches/all.sh begin` and `end` markers).
#
# Each part can run alone (`bash benches/all.sh output`); a part whose tool
# is missing and cannot be installed is skipped with a notice (and a row
# saying so). The default run takes a few minutes (under 15) on a 2-core
# machine; QUICK=1 under a minute.
#
# Environment: VCP (the binary; default: cargo build --release, copied so
# that another build cannot change it mid-run), BASE (a baseline binary, e.g.
# an older commit's release build: the compile, output and memory parts time
# it in the same rounds and print its figures beside), QUICK=1, TMPFS (default
# /dev/shm), DISK (a directory on disk; default target/bench-disk), OUT (the
# directory the report is also written to; default target/bench-all),
# AWKS (default "mawk gawk"), SHARD_ITEMS / SHARD_FILES (default 1000000 /
# 100000), PEERS_INSTALL (none|quick|all, as benches/peers.sh).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$PWD
all_parts=(compile output memory run shard lsp peers)
parts=("$@")
((${#parts[@]})) || parts=("${all_parts[@]}")
for p in "${parts[@]}"; do
  [[ " ${all_parts[*]} " == *" $p "* ]] || {
    echo "benches/all.sh: unknown part '$p' (parts: ${all_parts[*]})" >&2
    exit 2
  }
done
quick=${QUICK:-0}
[ "$quick" = 0 ] && quick=
note() { printf '# all.sh: %s\n' "$*" >&2; }
load1() { cut -d' ' -f1 /proc/loadavg; }
load3() { cut -d' ' -f1-3 /proc/loadavg; }
# calc FORMAT EXPR: awk arithmetic, printed with FORMAT.
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
# met EXPR: "met" when the awk condition holds, "**not met**" otherwise.
met() { if awk "BEGIN { exit !($1) }"; then echo met; else echo '**not met**'; fi; }

# --- tools and the binary -------------------------------------------------
# want COMMAND PACKAGE: installs PACKAGE from the distribution when COMMAND is
# missing (not with PEERS_INSTALL=none); true when COMMAND is there after.
want() {
  command -v "$1" >/dev/null && return 0
  [ "${PEERS_INSTALL:-quick}" != none ] && command -v apt-get >/dev/null || return 1
  local sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  note "apt-get install $2"
  "${sudo_cmd[@]}" apt-get install -y -qq "$2" >/dev/null 2>&1 ||
    { "${sudo_cmd[@]}" apt-get update -qq >/dev/null 2>&1 && "${sudo_cmd[@]}" apt-get install -y -qq "$2" >/dev/null 2>&1; }
  command -v "$1" >/dev/null
}
want python3 python3
want /usr/bin/time time
command -v python3 >/dev/null || { echo "benches/all.sh: needs python3" >&2; exit 1; }
[ -x /usr/bin/time ] || note "GNU time (/usr/bin/time) missing: no peak RSS figures"

work=$(mktemp -d)
scratch=()
trap 'rm -rf "$work" "${scratch[@]}"' EXIT
if [ -z "${VCP:-}" ]; then
  note "cargo build --release"
  cargo build --release --quiet || exit 1
  VCP=$root/target/release/vcp
  rev=$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || echo +dirty)
else
  rev="$(git rev-parse --short HEAD 2>/dev/null) (worktree; binary VCP=$VCP)"
fi
cp "$VCP" "$work/vcp" || exit 1
vcp=$work/vcp
base_vcp=
if [ -n "${BASE:-}" ]; then
  cp "$BASE" "$work/base-vcp" || exit 1
  base_vcp=$work/base-vcp
fi
export PATH=$HOME/.cargo/bin:$PATH
measure() { python3 "$root/benches/measure.py" "$@"; }

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
started=$(date -u '+%Y-%m-%d %H:%M UTC')
SECONDS=0
load_before=$(load3)
note "$started, load $load_before; parts: ${parts[*]}${quick:+ (QUICK)}"

# Sizes and rounds; QUICK=1 takes few of each.
n_small=1000 n_large=10000 n_peers=1000 r_compile=20 r_large=7 r_tmpfs=15 r_disk=7 r_mem=3
run_a=(4 500 1 5) run_b=(2 5000 50 3)
shard_items=${SHARD_ITEMS:-1000000} shard_files=${SHARD_FILES:-100000} lsp_changes=20
if [ -n "$quick" ]; then
  n_large=3000 r_compile=3 r_large=2 r_tmpfs=3 r_disk=2 r_mem=1
  run_a=(2 100 1 1) run_b=(2 500 50 1)
  shard_items=${SHARD_ITEMS:-20000} shard_files=${SHARD_FILES:-2000} lsp_changes=4 n_peers=100
fi

rows=$work/rows.tsv
: >"$rows"
# row PART FIGURE TARGET MEASURED BASELINE RATIO MET: one line of the summary
# (the load column is the part's, filled in when the part ends).
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$rows"; }
skipped() { note "$1: skipped: $2"; row "$1" "($1 skipped: $2)" - - - - -; }
detail() { cat >>"$work/detail-$part.md"; }
fmt_n() { calc '%d' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }

for n in 10 "$n_small" "$n_large"; do
  python3 benches/gen.py "$n" >"$work/bench-$n.vcp"
done
python3 benches/gen.py "$n_small" --broken >"$work/broken-$n_small.vcp"
big=$(fmt_n "$n_large") small=$(fmt_n "$n_small")

# fields FILE NAME: the measure.py line of NAME as "median cpu peak".
fields() { awk -F'\t' -v n="$2" '$1 == n { print $2, $5, $6 }' "$1"; }

# --- compile --------------------------------------------------------------
part_compile() {
  local m=$work/compile.tsv t10 t1k tbr t10k c1k c10k base=() base_large=()
  if [ -n "$base_vcp" ]; then
    base=("b_n1k=$base_vcp build bench-$n_small.vcp -o -" "b_broken=$base_vcp check broken-$n_small.vcp")
    base_large=("b_n10k=$base_vcp build bench-$n_large.vcp -o -")
  fi
  measure --rounds "$r_compile" --warmup 2 --cwd "$work" --expect broken=1 --expect b_broken=1 \
    n10="$vcp build bench-10.vcp -o -" \
    n1k="$vcp build bench-$n_small.vcp -o -" \
    broken="$vcp check broken-$n_small.vcp" "${base[@]}" >"$m" || return 1
  measure --rounds "$r_large" --warmup 1 --cwd "$work" \
    n1k="$vcp build bench-$n_small.vcp -o -" \
    n10k="$vcp build bench-$n_large.vcp -o -" "${base_large[@]}" >"$m.large" || return 1
  read -r t10 _ _ <<<"$(fields "$m" n10)"
  read -r t1k c1k _ <<<"$(fields "$m" n1k)"
  read -r tbr _ _ <<<"$(fields "$m" broken)"
  read -r t10k c10k _ <<<"$(fields "$m.large" n10k)"
  local l1k
  read -r l1k _ _ <<<"$(fields "$m.large" n1k)"
  row compile "N = $small, \`vcp build -o -\`, whole process" "<= 25 ms" "$t1k ms" "N = 10: $t10 ms" \
    "$(calc '%.2f of target' "$t1k / 25")" "$(met "$t1k <= 25")"
  row compile "N = $big, \`vcp build -o -\`" "<= 250 ms" "$t10k ms" "-" \
    "$(calc '%.2f of target' "$t10k / 250")" "$(met "$t10k <= 250")"
  row compile "linear: N = $big against $((n_large / n_small)) x N = $small" "<= 1.15" \
    "$t10k ms" "$((n_large / n_small)) x $l1k ms" "$(calc '%.2f' "$t10k / ($n_large / $n_small * $l1k)")" \
    "$(met "$t10k / ($n_large / $n_small * $l1k) <= 1.15")"
  row compile "first diagnostic, broken N = $small (\`vcp check\`)" "<= the build" "$tbr ms" \
    "build $t1k ms" "$(calc '%.2f' "$tbr / $t1k")" "$(met "$tbr <= $t1k")"
  detail <<EOF
| \`vcp build -o -\`, whole process | median ms | CPU ms | rounds |
|---|---|---|---|
| N = 10 (start-up) | $t10 | $(fields "$m" n10 | cut -d' ' -f2) | $r_compile |
| N = $small | $t1k | $c1k | $r_compile |
| N = $small, \`vcp check\` with one bad stage | $tbr | $(fields "$m" broken | cut -d' ' -f2) | $r_compile |
| N = $big | $t10k | $c10k | $r_large |
EOF
  [ -n "$base_vcp" ] || return 0
  local b1k bbr b10k
  read -r b1k _ _ <<<"$(fields "$m" b_n1k)"
  read -r bbr _ _ <<<"$(fields "$m" b_broken)"
  read -r b10k _ _ <<<"$(fields "$m.large" b_n10k)"
  row compile "N = $small, \`-o -\`, against the baseline binary" - "$t1k ms" "BASE $b1k ms" "$(calc '%.2fx' "$t1k / $b1k")" -
  row compile "N = $big, \`-o -\`, against the baseline binary" - "$t10k ms" "BASE $b10k ms" "$(calc '%.2fx' "$t10k / $b10k")" -
  detail <<EOF
| N = $small, BASE | $b1k | $(fields "$m" b_n1k | cut -d' ' -f2) | $r_compile |
| N = $small, \`vcp check\` with one bad stage, BASE | $bbr | $(fields "$m" b_broken | cut -d' ' -f2) | $r_compile |
| N = $big, BASE | $b10k | $(fields "$m.large" b_n10k | cut -d' ' -f2) | $r_large |
EOF
}

# --- output ---------------------------------------------------------------
part_output() {
  local fs base d m have_jr=
  if command -v jrsonnet >/dev/null; then
    have_jr=1
  elif [ -z "$quick" ] && command -v cargo >/dev/null && [ "${PEERS_INSTALL:-quick}" != none ]; then
    note "cargo install jrsonnet (a few minutes)"
    cargo install jrsonnet --version 0.5.0-pre98 --locked >"$work/jrsonnet.log" 2>&1 && have_jr=1
  fi
  [ -n "$have_jr" ] || skipped output "jrsonnet is not installed: no comparison with it"
  printf '| N = %s | stream ms | fresh ms | up to date ms | fresh / stream | up to date / stream | rounds |\n|---|---|---|---|---|---|---|\n' "$small" | detail
  for fs in tmpfs disk; do
    if [ "$fs" = tmpfs ]; then
      base=${TMPFS:-/dev/shm}
      [ "$(stat -f -c %T "$base" 2>/dev/null)" = tmpfs ] || { skipped output "tmpfs: $base is not a tmpfs"; continue; }
    else
      base=${DISK:-$root/target/bench-disk}
      mkdir -p "$base"
    fi
    d=$(mktemp -d "$base/vcp-all.XXXXXX") || continue
    scratch+=("$d")
    cp "$work/bench-$n_small.vcp" "$d/bench.vcp"
    (cd "$d" && "$vcp" build bench.vcp -o up >/dev/null 2>&1) || { skipped output "$fs: the build failed"; continue; }
    local jr=() base_cmds=()
    if [ -n "$base_vcp" ]; then
      (cd "$d" && "$base_vcp" build bench.vcp -o b_up >/dev/null 2>&1) || { skipped output "$fs: BASE's build failed"; continue; }
      base_cmds=("b_stream=$base_vcp build bench.vcp -o -" "b_fresh=$base_vcp build bench.vcp -o b_fresh"
        "b_uptodate=$base_vcp build bench.vcp -o b_up")
    fi
    if [ "$fs" = tmpfs ] && [ -n "$have_jr" ]; then
      cp benches/peers/bench.jsonnet "$d/"
      (cd "$d" && "$vcp" build bench.vcp -o - >stream.yaml) && python3 - "$d/stream.yaml" "$d/vcp-lib.sh" <<'PY' || have_jr=
import sys, yaml
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
with open(sys.argv[1]) as f:
    first = next(yaml.load_all(f, Loader=Loader))
open(sys.argv[2], "w").write(first["data"]["vcp-lib.sh"])
PY
      if [ -n "$have_jr" ] && (cd "$d" && jrsonnet -J . --tla-code n="$n_small" -y bench.jsonnet -o jr.yaml) &&
        python3 benches/peers/check.py "$d/stream.yaml" "$d/jr.yaml" "$n_small" >"$work/check-jr" 2>&1; then
        jr=("jr_file=$(command -v jrsonnet) -J . --tla-code n=$n_small -y bench.jsonnet -o jr.yaml"
          "jr_stream=$(command -v jrsonnet) -J . --tla-code n=$n_small -y bench.jsonnet")
      else
        skipped output "jrsonnet's output does not hold vcp's objects (benches/peers/bench.jsonnet needs updating): $(head -c 200 "$work/check-jr" 2>/dev/null | head -1)"
        have_jr=
      fi
    fi
    m=$work/output-$fs.tsv
    local rounds=$r_tmpfs
    [ "$fs" = disk ] && rounds=$r_disk
    note "output: $fs ($d), $rounds rounds"
    # On disk, every run starts with nothing left to write back (`sync`,
    # untimed): the previous fresh build's writeback is not charged to the
    # next command.
    local flush=
    [ "$fs" = disk ] && flush=" && sync"
    local prep=(--prepare "fresh=rm -rf fresh$flush" --prepare "b_fresh=rm -rf b_fresh$flush")
    [ "$fs" = disk ] && prep+=(--prepare stream=sync --prepare uptodate=sync --prepare b_stream=sync --prepare b_uptodate=sync)
    measure --rounds "$rounds" --warmup 1 --cwd "$d" "${prep[@]}" \
      stream="$vcp build bench.vcp -o -" \
      fresh="$vcp build bench.vcp -o fresh" \
      uptodate="$vcp build bench.vcp -o up" "${base_cmds[@]}" "${jr[@]}" >"$m" || { skipped output "$fs: a build failed"; continue; }
    local s f u jf js
    read -r s _ _ <<<"$(fields "$m" stream)"
    read -r f _ _ <<<"$(fields "$m" fresh)"
    read -r u _ _ <<<"$(fields "$m" uptodate)"
    row output "N = $small, $fs: \`-o DIR\` fresh against \`-o -\`" "<= 1.5x" "$f ms" "$s ms" \
      "$(calc '%.2fx' "$f / $s")" "$(met "$f / $s <= 1.5")"
    row output "N = $small, $fs: \`-o DIR\` up to date against \`-o -\`" "<= 1.5x" "$u ms" "$s ms" \
      "$(calc '%.2fx' "$u / $s")" "$(met "$u / $s <= 1.5")"
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$fs" "$s" "$f" "$u" "$(calc '%.2f' "$f / $s")" \
      "$(calc '%.2f' "$u / $s")" "$rounds" | detail
    if ((${#base_cmds[@]})); then
      local bs bf bu
      read -r bs _ _ <<<"$(fields "$m" b_stream)"
      read -r bf _ _ <<<"$(fields "$m" b_fresh)"
      read -r bu _ _ <<<"$(fields "$m" b_uptodate)"
      printf '| %s, BASE | %s | %s | %s | %s | %s | %s |\n' "$fs" "$bs" "$bf" "$bu" "$(calc '%.2f' "$bf / $bs")" \
        "$(calc '%.2f' "$bu / $bs")" "$rounds" | detail
    fi
    if ((${#jr[@]})); then
      read -r jf _ _ <<<"$(fields "$m" jr_file)"
      read -r js _ _ <<<"$(fields "$m" jr_stream)"
      row output "N = $small, tmpfs: \`-o DIR\` fresh against jrsonnet writing its one file" ">= 5x faster" \
        "$f ms" "jrsonnet $jf ms" "$(calc '%.1fx faster' "$jf / $f")" "$(met "$jf / $f >= 5")"
      row output "N = $small: \`-o -\` against jrsonnet's stream (\`-y\`)" ">= 5x faster" \
        "$s ms" "jrsonnet $js ms" "$(calc '%.1fx faster' "$js / $s")" "$(met "$js / $s >= 5")"
      jr_line="| jrsonnet $(jrsonnet --version 2>/dev/null | awk '{ print $NF }'), tmpfs | $js | $jf (its one file) | - | - | - | $rounds |"
    fi
  done
  [ -n "${jr_line:-}" ] && echo "$jr_line" | detail
  return 0
}

# --- memory ---------------------------------------------------------------
part_memory() {
  [ -x /usr/bin/time ] || { skipped memory "GNU time missing"; return 0; }
  local base=${TMPFS:-/dev/shm} d m
  [ "$(stat -f -c %T "$base" 2>/dev/null)" = tmpfs ] || base=$work
  d=$(mktemp -d "$base/vcp-all.XXXXXX") || return 1
  scratch+=("$d")
  cp "$work/bench-$n_large.vcp" "$d/bench.vcp"
  m=$work/memory.tsv
  local base_cmds=()
  [ -n "$base_vcp" ] && base_cmds=("b_fresh=$base_vcp build bench.vcp -o b_fresh"
    "b_stream=$base_vcp build bench.vcp -o -" "b_check=$base_vcp check bench.vcp")
  measure --rounds "$r_mem" --warmup 1 --cwd "$d" --prepare fresh="rm -rf fresh" --prepare b_fresh="rm -rf b_fresh" \
    stream="$vcp build bench.vcp -o -" \
    fresh="$vcp build bench.vcp -o fresh" \
    check="$vcp check bench.vcp" "${base_cmds[@]}" >"$m" || return 1
  local out_mb name label t cpu peak
  out_mb=$(du -sb "$d/fresh" | awk '{ printf "%.1f", $1 / 1e6 }')
  printf '| N = %s | median ms | CPU ms | peak RSS MB |\n|---|---|---|---|\n' "$big" | detail
  for name in fresh stream check; do
    case $name in
      fresh) label="\`vcp build -o DIR\` (fresh, tmpfs; $out_mb MB written)" ;;
      stream) label="\`vcp build -o -\`" ;;
      check) label="\`vcp check\`" ;;
    esac
    read -r t cpu peak <<<"$(fields "$m" "$name")"
    row memory "N = $big, peak RSS, $label" "< 100 MB" "$peak MB" "-" \
      "$(calc '%.2f of target' "$peak / 100")" "$(met "$peak < 100")"
    printf '| %s | %s | %s | %s |\n' "$label" "$t" "$cpu" "$peak" | detail
    if ((${#base_cmds[@]})); then
      read -r t cpu peak <<<"$(fields "$m" "b_$name")"
      printf '| %s, BASE | %s | %s | %s |\n' "$label" "$t" "$cpu" "$peak" | detail
    fi
  done
}

# --- run ------------------------------------------------------------------
part_run() {
  local spec w k p rounds out xw xs vw vs ratio
  want xargs findutils || { skipped run "xargs missing"; return 0; }
  # shellcheck disable=SC2016 # backquotes for markdown
  printf '| W x K, parallel | rounds | `xargs -P` wall s | `vcp run` wall s | ratio | `xargs` system s | `vcp run` system s |\n|---|---|---|---|---|---|---|\n' | detail
  for spec in "${run_a[*]}" "${run_b[*]}"; do
    read -r w k p rounds <<<"$spec"
    note "run: $w x $k, parallel $p, $rounds rounds"
    out=$(VCP=$vcp bash benches/run_overhead.sh "$w" "$k" "$p" "$rounds" 2>&1) || {
      skipped run "run_overhead.sh $w $k $p failed: $(tail -c 300 <<<"$out")"
      continue
    }
    read -r xw xs <<<"$(awk '/^ *xargs -P/ { print $4, $7 }' <<<"$out")"
    read -r vw vs <<<"$(awk '/^ *vcp run:/ { print $3, $6 }' <<<"$out")"
    ratio=$(calc '%.2f' "$vw / $xw")
    row run "\`vcp run\`, $w x $(fmt_n "$k") items, parallel $p" "<= 1.2x" "$vw s" "xargs -P $((w * p)): $xw s" \
      "${ratio}x" "$(met "$ratio <= 1.2")"
    printf '| %s x %s, %s | %s | %s | %s | %sx | %s | %s |\n' "$w" "$(fmt_n "$k")" "$p" "$rounds" "$xw" "$vw" "$ratio" "$xs" "$vs" | detail
  done
}

# --- shard ----------------------------------------------------------------
part_shard() {
  local awk_name out any=
  want dash dash || { skipped shard "dash missing (apt-get install dash)"; return 0; }
  for awk_name in ${AWKS:-mawk gawk}; do
    want "$awk_name" "$awk_name" || { skipped shard "$awk_name missing"; continue; }
    note "shard: $awk_name, $shard_items items, $shard_files files"
    out=$(AWK=$awk_name RUNS=1 sh benches/shard.sh "$shard_items" "$shard_files" 2>/dev/null) || {
      skipped shard "shard.sh under $awk_name failed"
      continue
    }
    any=1
    # The table: a label, then modulo, block and hash seconds (or one figure
    # for the size strategy).
    local body
    body=$(awk '/^input \(/ { on = 1; next } /^load average after/ { on = 0 } on' <<<"$out")
    local mb hs hr sz
    read -r mb hs hr sz <<<"$(awk '
      /^size,/ { sz = $(NF-1); next }
      { m = $(NF-2); b = $(NF-1); h = $NF
        if (m > mb) mb = m; if (b > mb) mb = b
        if ($0 ~ /^random/) { if (h > hr) hr = h } else if (h > hs) hs = h }
      END { print mb + 0, hs + 0, hr + 0, sz + 0 }' <<<"$body")"
    local items
    items=$(fmt_n "$shard_items")
    row shard "$awk_name: \`modulo\`, \`block\`, $items items, slowest input" "< 2 s" "$mb s" - "-" "$(met "$mb < 2")"
    row shard "$awk_name: \`hash\`, $items numbers, paths or URIs, slowest" "< 2 s" "$hs s" - "-" "$(met "$hs < 2")"
    row shard "$awk_name: \`hash\`, $items random names (nothing repeats)" "< 2 s (known miss)" "$hr s" - "-" "$(met "$hr < 2")"
    row shard "$awk_name: \`size\`, $(fmt_n "$shard_files") files" "-" "$sz s" - - -
    {
      [ -s "$work/detail-shard.md" ] && echo
      printf '%s, worker 0 of 2, dash, one run each:\n\n' "$awk_name"
      printf '| input (%s items) | modulo s | block s | hash s |\n|---|---|---|---|\n' "$items"
      awk '/^size,/ { n = NF - 2; l = $1; for (i = 2; i <= n; i++) l = l " " $i; printf "| %s | %s | | |\n", l, $(NF-1); next }
        { n = NF - 3; l = $1; for (i = 2; i <= n; i++) l = l " " $i; printf "| %s | %s | %s | %s |\n", l, $(NF-2), $(NF-1), $NF }' <<<"$body"
    } | detail
  done
  [ -n "$any" ] || return 0
}

# --- lsp ------------------------------------------------------------------
part_lsp() {
  local out
  out=$(python3 benches/lsp.py --vcp "$vcp" --stages "$n_small" --changes "$lsp_changes" 2>&1) || {
    skipped lsp "benches/lsp.py failed: $(tail -c 300 <<<"$out")"
    return 0
  }
  # lsp_stat LABEL FIELD: a figure of lsp.py's line starting with LABEL.
  lsp_stat() { awk -v l="$1" -v f="$2" 'index($0, l) == 1 { for (i = 1; i < NF; i++) if ($i == f) { print $(i + 1); exit } }' <<<"$out"; }
  local cli inc_med inc_p90 full_med full_p90 open hover
  cli=$(lsp_stat "vcp check" median)
  open=$(lsp_stat "didOpen" median)
  inc_med=$(lsp_stat "didChange (incremental)" median)
  inc_p90=$(lsp_stat "didChange (incremental)" p90)
  full_med=$(lsp_stat "didChange (full text)" median)
  full_p90=$(lsp_stat "didChange (full text)" p90)
  hover=$(lsp_stat "hover" median)
  row lsp "N = $small: a change (incremental) to its diagnostics, median" "<= 50 ms" "$inc_med ms" \
    "\`vcp check\` $cli ms" "$(calc '%.2f' "$inc_med / $cli")" "$(met "$inc_med <= 50")"
  row lsp "N = $small: a change to its diagnostics, p90 (incremental, full text)" "<= 300 ms" \
    "$inc_p90, $full_p90 ms" "\`vcp check\` $cli ms" "-" "$(met "$inc_p90 <= 300 && $full_p90 <= 300")"
  detail <<EOF
| N = $small, $lsp_changes changes each way | median ms | p90 ms |
|---|---|---|
| \`vcp check\`, command line (baseline) | $cli | $(lsp_stat "vcp check" p90) |
| \`didOpen\` -> diagnostics | $open | |
| incremental \`didChange\` -> diagnostics | $inc_med | $inc_p90 |
| full-text \`didChange\` -> diagnostics | $full_med | $full_p90 |
| hover on a stage after a change | $hover | $(lsp_stat "hover" p90) |
EOF
}

# --- peers ----------------------------------------------------------------
part_peers() {
  local out
  out=$(PEERS_WAIT=0 PEERS_INSTALL=${PEERS_INSTALL:-quick} VCP=$vcp bash benches/peers.sh "$n_peers" 2>"$work/peers.err") || {
    skipped peers "benches/peers.sh failed: $(tail -c 300 "$work/peers.err")"
    return 0
  }
  grep '^# all.sh\|skipped\|failed' "$work/peers.err" >&2
  {
    printf '| tool | N | median ms | ratio | CPU ms | out MB | peak MB | runs | load |\n|---|---|---|---|---|---|---|---|---|\n'
    awk '$1 != "tool" && $1 !~ /^#/ && NF == 9 { printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }' <<<"$out"
  } | detail
  local fastest name ms ratio vcp_ms
  vcp_ms=$(awk '$1 == "vcp" && $2 != "startup" { print $3; exit }' <<<"$out")
  fastest=$(awk '$2 != "startup" && $1 != "vcp" && $1 != "tool" && $1 !~ /^#/ && NF == 9 { r = $4; sub(/x$/, "", r); if (best == "" || r + 0 < best + 0) { best = r; name = $1; ms = $3 } } END { if (name != "") print name, ms, best }' <<<"$out")
  if [ -n "$fastest" ]; then
    read -r name ms ratio <<<"$fastest"
    row peers "N = $(fmt_n "$n_peers"), \`-o -\` against the fastest peer ($name), same objects" ">= 5x faster" "$vcp_ms ms" "$name $ms ms" \
      "${ratio}x faster" "$(met "$ratio >= 5")"
  else
    row peers "(no peer ran)" - - - - -
  fi
}

for part in "${parts[@]}"; do
  note "part $part (load $(load1))"
  lb=$(load1)
  before=$(wc -l <"$rows")
  "part_$part" || skipped "$part" "failed"
  la=$(load1)
  # The load column of the part's rows: the 1-minute load average before
  # and after it.
  awk -v b="$before" -v l="$lb-$la" 'BEGIN { FS = OFS = "\t" } NR > b && NF == 7 { $8 = l } { print }' "$rows" >"$rows.new" && mv "$rows.new" "$rows"
done

# --- the report -----------------------------------------------------------
report=$work/report.md
{
  echo "$started to $(date -u '+%H:%M UTC') ($((SECONDS / 60)) min $((SECONDS % 60)) s), commit ${rev:-?}, $(nproc) cores ($cpu), $mem," \
    "$(uname -r), /bin/sh -> $(readlink -f /bin/sh);${base_vcp:+ baseline BASE=$BASE;} load average $load_before before, $(load3) after${quick:+; QUICK=1 (smoke run: not the published sizes)}"
  echo
  echo '| part | figure | target | measured | baseline (same run) | ratio | met | load |'
  echo '|---|---|---|---|---|---|---|---|'
  awk -F'\t' '{
    for (i = 1; i <= 7; i++) gsub(/\|/, "\\|", $i)
    printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, ($8 == "" ? "-" : $8) }' "$rows"
  for part in "${parts[@]}"; do
    [ -s "$work/detail-$part.md" ] || continue
    printf '\n### %s\n\n' "$part"
    cat "$work/detail-$part.md"
  done
} >"$report"
out_dir=${OUT:-$root/target/bench-all}
mkdir -p "$out_dir" && cp "$report" "$out_dir/$(date -u +%Y%m%dT%H%MZ)${quick:+-quick}.md" &&
  note "report also in $out_dir"
cat "$report"
if [ "${UPDATE_DOCS:-0}" != 0 ]; then
  python3 - "$report" docs/performance.md <<'PY' && note "docs/performance.md updated"
import re, sys
report = open(sys.argv[1]).read()
page = open(sys.argv[2]).read()
begin, end = "<!-- benches/all.sh begin", "<!-- benches/all.sh end -->"
start = page.index(begin)
start = page.index("\n", start) + 1
stop = page.index(end)
open(sys.argv[2], "w").write(page[:start] + "\n" + report + "\n" + page[stop:])
PY
fi
