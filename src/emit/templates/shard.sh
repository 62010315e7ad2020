# vcp shard functions: list a stage's items and keep this worker's share.
#
# Wrapper scripts include this file verbatim. src/shard.rs holds the reference
# implementation of the same rules; tests/shard_agreement.rs runs both on the
# same inputs and requires the same bytes.
#
# - Every function body is a subshell: variables, IFS and `set +f` never leak
#   into the caller, and POSIX sh has no `local`.
# - awk always runs under LC_ALL=C, so that items are bytes, not characters.
# - Items never reach awk through -v (which interprets backslashes): they come
#   on stdin, and file names through the environment.
# - awk prints integers only below 2^31 (indices, range items): mawk prints
#   larger ones in exponent form. Sizes keep the digits wc printed.
# - Errors print `vcp: <message>` on stderr and return non-zero.

# vcp__fail MESSAGE: report and leave the enclosing function's subshell.
vcp__fail() {
  printf 'vcp: %s\n' "$1" >&2
  exit 1
}

# vcp_list_range START END STEP OUT_FILE: the items of range(START, END, STEP),
# one decimal number a line. The checker keeps START and END within
# (-2^31, 2^31), so awk's doubles hold every item exactly.
vcp_list_range() (
  [ "$#" -eq 4 ] || vcp__fail "usage: vcp_list_range START END STEP OUT_FILE"
  for vcp_number in "$1" "$2" "$3"; do
    case $vcp_number in
      '' | - | *[!0-9-]* | ?*-*) vcp__fail "range(): '$vcp_number' is not an integer" ;;
    esac
  done
  case $3 in
    *[1-9]*) ;;
    *) vcp__fail "range(): the step must not be 0" ;;
  esac
  LC_ALL=C awk -v start="$1" -v end="$2" -v step="$3" 'BEGIN {
    # + 0 turns a "-0" start into 0.
    x = start + 0; end += 0; step += 0
    if (step > 0) for (; x < end; x += step) printf "%.0f\n", x
    else for (; x > end; x += step) printf "%.0f\n", x
  }' > "$4" || vcp__fail "range(): cannot write $4"
)

# vcp_list_lines PATH OUT_FILE: the non-empty lines of PATH. A last line
# without newline counts; every other byte (\r, blanks, quotes) is kept.
vcp_list_lines() (
  [ "$#" -eq 2 ] || vcp__fail "usage: vcp_list_lines PATH OUT_FILE"
  if [ -d "$1" ]; then
    vcp__fail "lines(): $1 is a directory"
  elif [ ! -e "$1" ]; then
    vcp__fail "lines(): $1 does not exist"
  elif [ ! -r "$1" ]; then
    vcp__fail "lines(): cannot read $1"
  fi
  # Redirections, not operands: awk would take a file named `a=b` for an assignment.
  LC_ALL=C awk 'length($0) > 0' < "$1" > "$2" || vcp__fail "lines(): cannot read $1"
)

# vcp_list_output DIR STAGE WORKERS OUT_FILE: the non-empty lines that the
# WORKERS workers of STAGE wrote to $VCP_OUTPUT (DIR/STAGE.<rank>.output,
# written when the worker succeeded), rank 0's first, each file's in order.
# A last line without newline counts, in every file.
vcp_list_output() (
  [ "$#" -eq 4 ] || vcp__fail "usage: vcp_list_output DIR STAGE WORKERS OUT_FILE"
  : > "$4" || vcp__fail "output($2): cannot write $4"
  vcp_r=0
  while [ "$vcp_r" -lt "$3" ]; do
    vcp_f=$1/$2.$vcp_r.output
    [ -f "$vcp_f" ] || vcp__fail "output($2): $vcp_f does not exist: worker $vcp_r of $2 has not succeeded in this run"
    LC_ALL=C awk 'length($0) > 0' < "$vcp_f" >> "$4" || vcp__fail "output($2): cannot read $vcp_f"
    vcp_r=$((vcp_r + 1))
  done
)

# vcp_list_files GLOB OUT_FILE: the regular files (symbolic links followed)
# that the sh pattern GLOB matches, in byte order. No match is no item. A
# path holding a newline cannot be an item: it is skipped with a warning.
vcp_list_files() (
  [ "$#" -eq 2 ] || vcp__fail "usage: vcp_list_files GLOB OUT_FILE"
  vcp_glob=$1
  vcp_out=$2
  vcp_newline='
'
  # Pathname expansion only: IFS is empty, so no field splitting, and the
  # pattern is a variable's value, so nothing in it is ever run.
  set +f
  IFS=
  # shellcheck disable=SC2086 # the expansion is the point
  set -- $vcp_glob
  if [ "$#" -eq 1 ] && [ "$1" = "$vcp_glob" ]; then
    # Without a match the shell leaves the pattern as it is. A file of that
    # very name is a match only if the pattern matches its own text (`a*`
    # matches a file named `a*`; `a[1]` does not match `a[1]`).
    # shellcheck disable=SC2254 # the pattern must stay a pattern
    case $vcp_glob in
      $vcp_glob) ;;
      *) set -- ;;
    esac
  fi
  for vcp_path in "$@"; do
    case $vcp_path in
      *"$vcp_newline"*)
        printf 'vcp: warning: files(): skipping a path that holds a newline: %s\n' "$vcp_path" >&2
        continue
        ;;
    esac
    if [ -f "$vcp_path" ]; then
      printf '%s\n' "$vcp_path"
    fi
  done | LC_ALL=C sort > "$vcp_out" || vcp__fail "files(): cannot write $vcp_out"
)

# vcp_assign STRATEGY WORKERS RANK ITEMS_FILE OUT_FILE: write the items of
# worker RANK (from 0) of WORKERS as `index<TAB>item` lines, by ascending
# index. Every line of ITEMS_FILE is an item; its index is its line number
# from 0. STRATEGY is modulo, block, hash or size.
vcp_assign() (
  [ "$#" -eq 5 ] || vcp__fail "usage: vcp_assign STRATEGY WORKERS RANK ITEMS_FILE OUT_FILE"
  case $2 in
    '' | *[!0-9]* | 0* | ??????????*) vcp__fail "the number of workers must be an integer from 1 to 999999999, not '$2'" ;;
  esac
  case $3 in
    '' | *[!0-9]* | ??????????*) vcp__fail "the rank must be an integer from 0, not '$3'" ;;
  esac
  if [ "$3" -ge "$2" ]; then
    vcp__fail "rank $3 is out of range: there are $2 workers"
  fi
  if [ -d "$4" ] || [ ! -r "$4" ]; then
    vcp__fail "cannot read the item list $4"
  fi
  case $1 in
    modulo) vcp__assign_modulo "$2" "$3" < "$4" > "$5" ;;
    block) vcp__assign_block "$2" "$3" "$4" > "$5" ;;
    hash) vcp__assign_hash "$2" "$3" < "$4" > "$5" ;;
    size) vcp__assign_size "$2" "$3" "$4" "$5" ;;
    *) vcp__fail "unknown shard strategy '$1' (expected modulo, block, hash or size)" ;;
  esac || vcp__fail "cannot compute the $1 shard of worker $3"
)

# Item i goes to worker i mod WORKERS.
vcp__assign_modulo() {
  LC_ALL=C awk -v w="$1" -v r="$2" '(NR - 1) % w == r { print NR - 1 "\t" $0 }'
}

# Contiguous runs: worker r gets [r*base + min(r, extra), (r+1)*base + min(r+1, extra))
# with base = n / WORKERS and extra = n mod WORKERS.
vcp__assign_block() {
  # awk counts a last line without newline, as `wc -l` would not.
  vcp_count=$(LC_ALL=C awk 'END { print NR }' < "$3") || return 1
  LC_ALL=C awk -v n="$vcp_count" -v w="$1" -v r="$2" '
    BEGIN {
      base = int(n / w); extra = n % w
      lo = r * base + (r < extra ? r : extra)
      hi = lo + base + (r < extra ? 1 : 0)
    }
    NR > hi { exit }
    NR > lo { print NR - 1 "\t" $0 }
  ' < "$3"
}

# Worker cksum(item) mod WORKERS, with the CRC that POSIX cksum computes:
# CRC-32 (polynomial 04C11DB7, most significant bit first) over the item's
# bytes, then over its length's bytes (least significant first), complemented.
#
# Every worker hashes every item, so most items take no byte steps at all
# (issue 6: a million paths, sorted or shuffled, in under 2 s):
# - The CRC register starts at 0 and is linear: for an item A B and its
#   length bytes L, crc(A B L) = crc(A 0...0 L) xor crc(B 0...0), with as
#   many zero bytes as B, then L, has.
# - B is the item's last m bytes (all of it if it is shorter), A the rest.
#   Both parts are memoized: HM[A] and TM[B] number the entries that the
#   CRC steps keep (keep_head, keep_tail). crc(A 0...0 L) depends on the
#   item length too, crc(B 0...0) on the number of length bytes. In the
#   common case (A is not empty, the item is under 256 bytes) m and A's
#   length give both, so B alone is its key and A's key is A after one byte
#   that stands for m; else the keys start with the item length. Head
#   entries made with another m stay, and serve again when m comes back.
#   (Emptying HM when m moved made m go round in circles on some lists, the
#   misses that refilled it pushing m on: docs/performance.md.)
# - m follows the misses, counted over runs of 1024 items: it goes down when
#   the tails miss more than the heads, up in the other case, by steps that
#   double while it keeps going the same way (up to 64). In lists of
#   paths, URIs or numbers, sorted or not, it settles where the few last
#   varying characters are split between A and B, each part takes a few
#   thousand values, and an item costs two memo lookups and one xor.
# - Where both parts miss most of the time for 8 runs in a row (random
#   items), the memos are off for the next 65536 items: each item then goes
#   byte by byte, but for a prefix it shares with others (a bucket, a
#   directory), whose register is kept (run_head; heads that miss use it
#   too).
#
# The byte steps come in two sets of awk functions, chosen by what the awk
# offers (below); vcp__crc_memo is the same for both.
vcp__assign_hash() {
  if vcp__awk_has_xor; then
    vcp_crc=$vcp__crc_bits
  else
    vcp_crc=$vcp__crc_tables
  fi
  LC_ALL=C awk -v w="$1" -v r="$2" "$vcp_crc$vcp__crc_memo"
}

# vcp__awk_has_xor: whether awk has bitwise functions on 32 bits (gawk and
# busybox awk have; mawk has none). An xor that wrapped would pass on 6 and 3.
vcp__awk_has_xor() {
  LC_ALL=C awk 'BEGIN { exit !(xor(6, 3) == 5 && xor(4294967295, 2147483649) == 2147483646) }' \
    < /dev/null > /dev/null 2>&1
}

# Both sets define, for vcp__crc_memo: crc_reset() (the register to 0);
# run(k, last), run_length(len) and run_zeros(z) (the register through bytes
# k to last of $0, through the bytes of len, least significant first, and
# through z zero bytes); keep_head(j) and keep_tail(k) (the register as head
# or tail memo entry j or k); keep_prefix() and load_prefix() (the register
# kept aside, and back); mine_now() and mine_memo(j, k) (whether the
# item goes to worker r: by the register, or by the xor of two entries).
# Their BEGIN runs first; vcp__crc_memo assigns every name it uses before
# reading it.

# gawk and busybox awk have bitwise functions: the register is one number
# and a byte step is the textbook table-driven one. There, this is 3 to 6
# times faster than the tables below, which are made for mawk.
# shellcheck disable=SC2016 # awk text, for awk to expand
vcp__crc_bits='
    function crc_reset() { crc = 0 }
    function run(k, last) {
      for (; k <= last; k++)
        crc = xor((crc % 16777216) * 256, T[xor(int(crc / 16777216), ORD[substr($0, k, 1)])])
    }
    function run_length(len) {
      for (; len > 0; len = int(len / 256))
        crc = xor((crc % 16777216) * 256, T[xor(int(crc / 16777216), len % 256)])
    }
    function run_zeros(z) {
      for (; z > 0; z--) crc = xor((crc % 16777216) * 256, T[int(crc / 16777216)])
    }
    function keep_head(j) { HC[j] = crc }
    function keep_prefix() { PC = crc }
    function load_prefix() { crc = PC }
    function keep_tail(k) { TC[k] = crc }
    # cksum prints the complement of the register.
    function mine_now() { return (4294967295 - crc) % w == r }
    function mine_memo(j, k) { return (4294967295 - xor(HC[j], TC[k])) % w == r }
    BEGIN {
      for (i = 0; i < 256; i++) {
        v = i * 16777216
        for (k = 0; k < 8; k++) v = v >= 2147483648 ? xor((v - 2147483648) * 2, 79764919) : v * 2
        T[i] = v
      }
      for (i = 0; i < 256; i++) ORD[sprintf("%c", i)] = i
    }
'

# mawk has no bitwise functions (nor has POSIX awk): a byte step goes
# through lookup tables of 65536 entries keyed (256 * i + b + 1), where i is
# the byte that selects the CRC table entry and b a byte of the state: X
# gives the next i, U3, U2, U1 and U0 the next state bytes (a state byte xor
# a byte of the table entry).
# - The tables are built with split(), which mawk stores as plain arrays,
#   faster to read than its hash tables; their rows are rows of the xor
#   table, so building them is string concatenation, not 65536 computations.
# - The state is kept in the form the next lookup needs as a key: a as 256 * a,
#   b, c and d as byte + 1. X (256 * (t xor b)) and X1 ((t xor b) + 1) xor
#   two such bytes. A byte step costs some 0.3-0.6 us in mawk.
# shellcheck disable=SC2016 # awk text, for awk to expand
vcp__crc_tables='
    function xor8(x, y) {
      return NX[int(x / 16) * 16 + int(y / 16)] * 16 + NX[(x % 16) * 16 + y % 16]
    }
    function run(k, last,   i) {
      for (; k <= last; k++) {
        i = X[a + ORD[substr($0, k, 1)]]
        a = U3[i + b]; b = U2[i + c]; c = U1[i + d]; d = U0[i + 1]
      }
    }
    function run_length(len,   i) {
      for (; len > 0; len = int(len / 256)) {
        i = X[a + len % 256 + 1]
        a = U3[i + b]; b = U2[i + c]; c = U1[i + d]; d = U0[i + 1]
      }
    }
    # A byte xor 0 is the byte.
    function run_zeros(z,   i) {
      for (; z > 0; z--) {
        i = a; a = U3[i + b]; b = U2[i + c]; c = U1[i + d]; d = U0[i + 1]
      }
    }
    function crc_reset() { a = 0; b = 1; c = 1; d = 1 }
    function keep_head(j) { H3[j] = a; H2[j] = b; H1[j] = c; H0[j] = d }
    function keep_prefix() { p3 = a; p2 = b; p1 = c; p0 = d }
    function load_prefix() { a = p3; b = p2; c = p1; d = p0 }
    # Tail bytes are kept in the form that X and X1 take them with H3..H0.
    function keep_tail(k) {
      M3[k] = a / 256 + 1; M2[k] = (b - 1) * 256; M1[k] = (c - 1) * 256; M0[k] = (d - 1) * 256
    }
    function mine_now() { return ((a + b) * 65536 + c * 256 + d) % w == want3 }
    function mine_memo(j, k) {
      return ((X[H3[j] + M3[k]] + X1[M2[k] + H2[j]]) * 65536 + X[M1[k] + H1[j]] + X1[M0[k] + H0[j]]) % w == want1
    }
    BEGIN {
      # NX[x * 16 + y] = x xor y for nibbles, bit by bit.
      for (x = 0; x < 16; x++) for (y = 0; y < 16; y++) {
        v = 0; p = 1; xx = x; yy = y
        for (k = 0; k < 4; k++) {
          if (xx % 2 != yy % 2) v += p
          xx = int(xx / 2); yy = int(yy / 2); p *= 2
        }
        NX[x * 16 + y] = v
      }
      # The CRC table, one array per byte of each entry (C3 most significant).
      for (i = 0; i < 256; i++) {
        c3 = i; c2 = 0; c1 = 0; c0 = 0
        for (k = 0; k < 8; k++) {
          top = c3 >= 128
          c3 = (c3 * 2) % 256 + int(c2 / 128); c2 = (c2 * 2) % 256 + int(c1 / 128)
          c1 = (c1 * 2) % 256 + int(c0 / 128); c0 = (c0 * 2) % 256
          if (top) {
            c3 = xor8(c3, 4); c2 = xor8(c2, 193); c1 = xor8(c1, 29); c0 = xor8(c0, 183)
          }
        }
        C3[i] = c3; C2[i] = c2; C1[i] = c1; C0[i] = c0
      }
      # Rows of the xor table as split() input: ROWS[t] lists 256 * (t xor b)
      # and ROW1[t] lists (t xor b) + 1, for b from 0 to 255. Built from blocks
      # of 16 numbers: the high nibble of t xor b picks the block.
      for (h = 0; h < 16; h++) for (l = 0; l < 16; l++) {
        bs = ""; b1 = ""
        for (k = 0; k < 16; k++) {
          v = h * 16 + NX[l * 16 + k]
          bs = bs " " v * 256; b1 = b1 " " (v + 1)
        }
        BLOCKS[h * 16 + l] = bs; BLOCK1[h * 16 + l] = b1
      }
      for (t = 0; t < 256; t++) {
        th = int(t / 16) * 16; tl = t % 16; rs = ""; r1 = ""
        for (h = 0; h < 16; h++) {
          k = NX[th + h] * 16 + tl
          rs = rs BLOCKS[k]; r1 = r1 BLOCK1[k]
        }
        ROWS[t] = rs; ROW1[t] = r1
      }
      zeros = ""
      for (k = 1; k < 256; k++) zeros = zeros " 0"
      # Concatenated 16 rows at a time: appending row by row would copy
      # megabytes.
      sx = ""; sy = ""; s3 = ""; s2 = ""; s1 = ""; s0 = ""
      for (h = 0; h < 256; h += 16) {
        gx = ""; gy = ""; g3 = ""; g2 = ""; g1 = ""; g0 = ""
        for (i = h; i < h + 16; i++) {
          gx = gx ROWS[i]; gy = gy ROW1[i]
          g3 = g3 ROWS[C3[i]]; g2 = g2 ROW1[C2[i]]; g1 = g1 ROW1[C1[i]]
          g0 = g0 " " (C0[i] + 1) zeros
        }
        sx = sx gx; sy = sy gy; s3 = s3 g3; s2 = s2 g2; s1 = s1 g1; s0 = s0 g0
      }
      split(sx, X, " "); split(sy, X1, " ")
      split(s3, U3, " "); split(s2, U2, " "); split(s1, U1, " "); split(s0, U0, " ")
      sx = ""; sy = ""; s3 = ""; s2 = ""; s1 = ""; s0 = ""
      # split() leaves strings; numbers spare a conversion at every lookup.
      for (k = 1; k <= 65536; k++) {
        X[k] += 0; X1[k] += 0; U3[k] += 0; U2[k] += 0; U1[k] += 0; U0[k] += 0
      }
      for (i = 0; i < 256; i++) ORD[sprintf("%c", i)] = i + 1
      # Memo entries, preallocated by split() (plain arrays in mawk).
      z = "0"
      for (k = 1; k < 16384; k++) z = z " 0"
      split(z, H3, " "); split(z, H2, " "); split(z, H1, " "); split(z, H0, " ")
      split(z, M3, " "); split(z, M2, " "); split(z, M1, " "); split(z, M0, " ")
      # cksum = 4294967295 - register, so compare the register with this;
      # the sums above add 65537 (memo) or 65793 (byte steps) to it.
      want = (4294967295 - r) % w
      want1 = (want + 65537) % w; want3 = (want + 65793) % w
    }
'

# shellcheck disable=SC2016 # awk text, for awk to expand
vcp__crc_memo='
    # The register through bytes 1 to last of the item. Items that share a
    # prefix (a bucket, a directory) share its register: pre is what the
    # last two items that needed it had in common, if 4 bytes or more.
    function run_head(last,   lo, hi, mid) {
      if (plen && plen <= last && substr($0, 1, plen) == pre) {
        load_prefix(); run(plen + 1, last)
        return
      }
      lo = 0
      if (substr($0, 1, 4) == substr(prev, 1, 4)) {
        hi = length(prev) < last ? length(prev) : last
        while (lo < hi) {
          mid = int((lo + hi + 1) / 2)
          if (substr($0, 1, mid) == substr(prev, 1, mid)) lo = mid
          else hi = mid - 1
        }
      }
      prev = $0
      crc_reset()
      if (lo >= 4) {
        run(1, lo); keep_prefix(); pre = substr($0, 1, lo); plen = lo
        run(lo + 1, last)
      } else run(1, last)
    }
    BEGIN {
      # Entries in use (nh, nt), the bytes of the head keys, the tail length
      # m, items left in this run and its misses, runs in a row where both
      # memos missed, items left with the memos off.
      nh = 0; nt = 0; hbytes = 0; m = 8; left = 1024; hmiss = 0; tmiss = 0; cold = 0; direct = 0
      step = 1; last_move = 0; mark = sprintf("%c", 32 + m)
      pre = ""; plen = 0; prev = ""
      OFS = "\t"
    }
    {
      n = length($0)
      if (direct) {
        run_head(n); run_length(n)
        if (mine_now()) print NR - 1, $0
        if (--direct == 0) { left = 1024; hmiss = 0; tmiss = 0 }
        next
      }
      # A is the first s bytes, B the rest. Keys that start with the item
      # length put it between newlines, which no item holds; mark (the byte
      # 32 + m) is never a newline.
      s = n - m
      if (s > 0 && n < 256) { A = mark substr($0, 1, s); B = substr($0, s + 1) }
      else {
        if (s < 0) s = 0
        A = "\n" n "\n" substr($0, 1, s); B = "\n" n "\n" substr($0, s + 1)
      }
      if (!(j = HM[A])) {
        # Heads can be long: their keys take at most 16 MB.
        if (nh >= 16384 || hbytes > 16777216) { split("", HM); nh = 0; hbytes = 0 }
        j = ++nh; HM[A] = j; hbytes += length(A)
        # crc(A 0...0 L), with as many zero bytes as B has
        if (s) { run_head(s); run_zeros(n - s) }
        else crc_reset()
        run_length(n)
        keep_head(j)
        hmiss++
      }
      if (!(k = TM[B])) {
        if (nt >= 16384) { split("", TM); nt = 0 }
        k = ++nt; TM[B] = k
        # crc(B 0...0), with as many zero bytes as L has
        crc_reset()
        run(s + 1, n)
        for (len = n; len > 0; len = int(len / 256)) run_zeros(1)
        keep_tail(k)
        tmiss++
      }
      if (mine_memo(j, k)) print NR - 1, $0
      if (--left == 0) {
        if (hmiss > 512 && tmiss > 512) {
          if (++cold == 8) { direct = 65536; cold = 0 }
        } else {
          cold = 0
          move = 0
          if (tmiss > 2 * hmiss + 16 && m > 0) move = -1
          else if (hmiss > 2 * tmiss + 16 && m < 64) move = 1
          # Steps double while m keeps moving the same way.
          step = move && move == last_move ? 2 * step : 1
          last_move = move
          if (move) {
            m += move * step
            if (m < 0) m = 0
            if (m > 64) m = 64
            mark = sprintf("%c", 32 + m)
          }
        }
        left = 1024; hmiss = 0; tmiss = 0
      }
    }
'

# Files balanced by byte size: by size descending, then path bytes, then
# index, each item goes to the worker with the least bytes so far (ties to the
# lowest rank). wc measures the files in batches: awk writes each batch as a
# small script of single-quoted operands and reads wc's output lines, which
# follow the operands; only their leading numbers are read, so any file name
# works. (A long command string in `cmd | getline` would be compared at every
# line by gawk: quadratic.)
vcp__assign_size() {
  vcp_sizes=$4.vcp-sizes
  vcp_tab=$(printf '\t')
  if ! VCP_WC_SCRIPT=$4.vcp-wc LC_ALL=C awk '
    function quote(s) {
      gsub(q, q "\"" q "\"" q, s)
      return q s q
    }
    function measure(   line, got, field) {
      if (count == 0) return
      print "" > script
      close(script)
      got = 0
      while ((wc | getline line) > 0) {
        if (line == "vcp-wc-failed") failed = 1
        else if (got < count) {
          split(line, field, " ")
          printf "%s\t%d\t%s\n", field[1], first + got, names[got]
          got++
        } else got++
      }
      close(wc)
      # With more than one operand, wc adds a total line.
      if (got != count + (count > 1)) failed = 1
      if (failed) exit 1
      count = 0; bytes = 0
    }
    BEGIN {
      q = sprintf("%c", 39)
      script = ENVIRON["VCP_WC_SCRIPT"]
      wc = "sh " quote(script) " || echo vcp-wc-failed"
    }
    {
      if (count == 0) {
        first = NR - 1
        printf "exec wc -c --" > script
      }
      names[count++] = $0
      # ./ keeps wc from reading `-` as stdin.
      path = $0
      if (substr(path, 1, 1) != "/") path = "./" path
      path = quote(path)
      printf " %s", path > script
      # Well below the kernel limit on the size of a command line.
      bytes += length(path) + 1
      if (bytes > 100000) measure()
    }
    END {
      if (failed) exit 1
      measure()
    }
  ' < "$3" > "$vcp_sizes"; then
    rm -f "$vcp_sizes" "$4.vcp-wc"
    printf 'vcp: size: cannot measure every file of %s\n' "$3" >&2
    return 1
  fi
  rm -f "$4.vcp-wc"
  # One line per item: paths hold no newline.
  vcp_count=$(wc -l < "$vcp_sizes") || vcp_count=0
  LC_ALL=C sort -t "$vcp_tab" -k1,1nr -k3 -k2,2n "$vcp_sizes" |
    VCP_SHARD_ITEMS=$3 LC_ALL=C awk -v n="$vcp_count" -v w="$1" -v r="$2" '
      BEGIN {
        FS = "\t"
        # A binary min-heap of workers keyed (load, rank); rank order is one.
        # Only the first n ranks can get an item: a rank is chosen only when
        # every lower rank has a positive load, so an item.
        m = w < n + 0 ? w : n + 0
        for (k = 1; k <= m; k++) { L[k] = 0; R[k] = k - 1 }
      }
      {
        if (R[1] == r) mine[$2] = 1
        L[1] += $1
        k = 1
        while (1) {
          c = 2 * k
          if (c > m) break
          if (c < m && (L[c + 1] < L[c] || (L[c + 1] == L[c] && R[c + 1] < R[c]))) c++
          if (L[k] < L[c] || (L[k] == L[c] && R[k] < R[c])) break
          t = L[k]; L[k] = L[c]; L[c] = t
          t = R[k]; R[k] = R[c]; R[c] = t
          k = c
        }
        sorted++
      }
      END {
        items = ENVIRON["VCP_SHARD_ITEMS"]
        index_ = 0
        while ((getline line < items) > 0) {
          if (index_ in mine) print index_ "\t" line
          index_++
        }
        # Fewer sorted lines than items: sort failed.
        if (index_ != sorted) exit 1
      }
    ' > "$4"
  vcp_status=$?
  rm -f "$vcp_sizes"
  return "$vcp_status"
}
