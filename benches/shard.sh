#!/bin/sh
# Shard assignment in the wrapper scripts (issue 6): seconds for one worker's
# vcp_assign (src/emit/templates/shard.sh) on a million items, for each
# strategy, under dash with mawk as awk (the Debian defaults). Every worker
# lists and hashes every item, so this is paid once per worker.
#
#   sh benches/shard.sh [ITEMS] [FILES]      (default 1000000 items, 100000 files)
#
# Inputs, one item a line:
#   numbers          0 .. ITEMS-1, in order (range(), or a lines() file of numbers)
#   paths            32-byte paths /data/input/part-00000000.csv.gz, sorted
#                    (what files() gives)
#   shuffled paths   the same paths in random order (neighbours share little
#                    more than the directory)
#   shuffled URIs    75-byte object URIs, 100 days x 10,000 shards, in random
#                    order
#   random names     32 random hex digits: nothing repeats, the worst case for
#                    hash (every byte of every item goes through the CRC)
#   random URIs      the random names as objects under one bucket prefix
#                    (s3://.../<name>.jpg): only the prefix repeats
# and, for the size strategy, FILES small files listed with files().
#
# Environment: AWK (default mawk; AWK=gawk or AWK=busybox times the other
# kind of CRC steps, see vcp__assign_hash), WORKERS (2) and RANK (0) of the
# timed worker, RUNS (3: the best run is printed), FRAGMENT (the shard.sh to time:
# `git show REV:src/emit/templates/shard.sh > old.sh; FRAGMENT=old.sh ...`
# times an older version). The load average is printed before and after:
# timings are only comparable on a machine at rest.
set -eu
# FRAGMENT is relative to the caller's directory.
case ${FRAGMENT:-} in
  '' | /*) ;;
  *) FRAGMENT=$PWD/$FRAGMENT ;;
esac
cd "$(dirname "$0")/.."
items=${1:-1000000}
files=${2:-100000}
awk_name=${AWK:-mawk}
workers=${WORKERS:-2}
rank=${RANK:-0}
runs=${RUNS:-3}
fragment=${FRAGMENT:-src/emit/templates/shard.sh}

for tool in dash "$awk_name"; do
  command -v "$tool" >/dev/null || {
    echo "benches/shard.sh: $tool is not installed (apt-get install $tool)" >&2
    exit 1
  }
done
case $(date +%N) in
  *N*) echo "benches/shard.sh: needs a date with %N (GNU coreutils)" >&2; exit 1 ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$fragment" "$work/shard.sh"
# `awk` in the timed functions is the chosen one.
mkdir "$work/bin"
ln -s "$(command -v "$awk_name")" "$work/bin/awk"

echo "generating inputs..." >&2
LC_ALL=C awk -v n="$items" 'BEGIN { for (i = 0; i < n; i++) print i }' > "$work/numbers"
LC_ALL=C awk -v n="$items" 'BEGIN {
  for (i = 0; i < n; i++) printf "/data/input/part-%08d.csv.gz\n", i
}' > "$work/paths"
LC_ALL=C awk 'BEGIN { srand(6) } { printf "%.12f\t%s\n", rand(), $0 }' "$work/paths" |
  LC_ALL=C sort | cut -f 2- > "$work/shuffled"
LC_ALL=C awk -v n="$items" 'BEGIN {
  srand(7)
  for (i = 0; i < n; i++) {
    printf "%.12f\ts3://ml-datasets-prod/imagenet/train/day-%03d/shard-%05d-of-10000.tfrecord\n", \
      rand(), int(i / 10000), i % 10000
  }
}' | LC_ALL=C sort | cut -f 2- > "$work/uris"
LC_ALL=C awk -v n="$items" 'BEGIN {
  srand(8)
  for (i = 0; i < n; i++) {
    for (k = 0; k < 4; k++) printf "%08x", int(rand() * 4294967296)
    print ""
  }
}' > "$work/random"
LC_ALL=C awk '{ print "s3://ml-datasets-prod/images/" $0 ".jpg" }' "$work/random" > "$work/random-uris"
mkdir "$work/files"
(cd "$work/files" && LC_ALL=C awk -v n="$files" 'BEGIN {
  for (i = 0; i < n; i++) {
    f = sprintf("f%06d", i)
    # Sizes from 1 to 4096 bytes, not in name order.
    printf "%*s", (i * 7919) % 4096 + 1, "" > f
    close(f)
  }
}')

# now_ns: the time in nanoseconds.
now_ns() {
  date +%s%N
}

# best STRATEGY ITEMS_FILE: the best of RUNS timings, in seconds.
best() {
  best_ns=
  run=0
  while [ "$run" -lt "$runs" ]; do
    start=$(now_ns)
    # shellcheck disable=SC2016 # the inner shell expands its arguments
    PATH="$work/bin:$PATH" dash -c '. "$1"; vcp_assign "$2" "$3" "$4" "$5" "$6"' \
      bench "$work/shard.sh" "$1" "$workers" "$rank" "$2" "$work/out"
    took=$(($(now_ns) - start))
    if [ -z "$best_ns" ] || [ "$took" -lt "$best_ns" ]; then
      best_ns=$took
    fi
    run=$((run + 1))
  done
  awk -v ns="$best_ns" 'BEGIN { printf "%.2f", ns / 1e9 }'
}

awk_version=$("$awk_name" -W version 2>/dev/null | head -n 1) ||
  awk_version=$("$awk_name" --version 2>/dev/null | head -n 1) || awk_version=$awk_name
echo "vcp_assign, worker $rank of $workers, dash + ${awk_version:-$awk_name}, best of $runs runs"
echo "fragment: $fragment"
echo "load average before: $(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo '?')"
printf '%-34s %8s %8s %8s\n' "input ($items items)" modulo block hash
for input in numbers paths shuffled uris random random-uris; do
  case $input in
    numbers) label="numbers" ;;
    paths) label="32-byte paths, sorted" ;;
    shuffled) label="32-byte paths, shuffled" ;;
    uris) label="75-byte URIs, shuffled" ;;
    random) label="random names (32 hex digits)" ;;
    random-uris) label="random names under one prefix" ;;
  esac
  printf '%-34s %8s %8s %8s\n' "$label" \
    "$(best modulo "$work/$input")" "$(best block "$work/$input")" "$(best hash "$work/$input")"
done
# shellcheck disable=SC2016 # the inner shell expands its arguments
dash -c '. "$1"; vcp_list_files "$2/files/*" "$2/file-list"' bench "$work/shard.sh" "$work"
printf '%-34s %8s s\n' "size, $files files" "$(best size "$work/file-list")"
echo "load average after: $(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo '?')"
