//! The shard rules exist twice: `vcp::shard` for the compiler, and
//! `src/emit/templates/shard.sh` for the wrapper scripts, which list `lines()`
//! and `files()` items inside the pod. These tests run the sh functions under
//! dash on hostile inputs and require the exact bytes the Rust functions
//! predict; one test repeats a fixed input under every shell and awk found on
//! the machine (dash, bash, busybox sh; mawk, gawk, busybox awk). A test
//! whose program is missing skips with a notice (`common::require_tool`).

use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use proptest::prelude::*;
// The prelude's `Strategy` trait is shadowed by vcp's shard strategy below.
use proptest::strategy::Strategy as _;
use vcp::ir::Strategy;
use vcp::shard;

const SHARD_SH: &str = include_str!("../src/emit/templates/shard.sh");

const STRATEGIES: [Strategy; 4] = [
    Strategy::Modulo,
    Strategy::Block,
    Strategy::Hash,
    Strategy::Size,
];

/// Items that a careless script would run, split, glob or misquote.
const HOSTILE: &[&str] = &[
    "$(touch pwned)",
    "`id`",
    "$HOME",
    "-n",
    "-e",
    "--",
    "-",
    "*",
    "?",
    "[a]",
    "%s%d%%",
    "a\\b\\",
    "\\n",
    "'",
    "\"",
    "it's \"quoted\"",
    "  leading",
    "trailing  ",
    "\ttab\t",
    "a\rb\r",
    "é",
    "日本語",
    "~",
    "a=b",
    "#comment",
    "; &&|",
    "\u{7f}",
];

/// Where to run the fragment: the shell, and a directory put first on PATH
/// to choose which awk (and sort, wc) it finds.
struct Runner {
    shell: Vec<String>,
    bin: Option<PathBuf>,
}

impl Runner {
    fn dash() -> Self {
        Runner {
            shell: vec!["dash".to_string()],
            bin: None,
        }
    }

    /// Runs `script` after the fragment, under `set -eu` (as wrapper scripts
    /// do), in `dir`, with `args` as the positional parameters.
    fn run(&self, dir: &Path, script: &str, args: &[&[u8]]) -> Output {
        let driver = dir.join("driver.sh");
        fs::write(&driver, format!("set -eu\n{SHARD_SH}\n{script}\n")).expect("write driver");
        let mut command = Command::new(&self.shell[0]);
        command.args(&self.shell[1..]).arg(&driver).current_dir(dir);
        for arg in args {
            command.arg(std::ffi::OsStr::from_bytes(arg));
        }
        if let Some(bin) = &self.bin {
            let path = std::env::var("PATH").unwrap_or_default();
            command.env("PATH", format!("{}:{path}", bin.display()));
        }
        command.output().expect("the shell runs")
    }

    /// Like `run`, and fails with the shell's stderr unless it succeeded.
    fn run_ok(&self, dir: &Path, script: &str, args: &[&[u8]]) -> Output {
        let output = self.run(dir, script, args);
        assert!(
            output.status.success(),
            "{:?} failed: {}\n{}",
            self.shell,
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }
}

/// Calls vcp_assign for every rank at once and waits for all of them.
const ASSIGN_ALL_RANKS: &str = r#"
strategy=$1
workers=$2
items=$3
pids=
rank=0
while [ "$rank" -lt "$workers" ]; do
  vcp_assign "$strategy" "$workers" "$rank" "$items" "out.$rank" &
  pids="$pids $!"
  rank=$((rank + 1))
done
status=0
for pid in $pids; do
  wait "$pid" || status=1
done
exit "$status"
"#;

/// Bytes with escapes, so that a failure shows what differs.
fn show(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// One item a line, each line ended by `\n`.
fn lines_of<T: AsRef<[u8]>>(items: &[T]) -> Vec<u8> {
    let mut out = Vec::new();
    for item in items {
        out.extend_from_slice(item.as_ref());
        out.push(b'\n');
    }
    out
}

/// What vcp_assign must write for each rank: `index<TAB>item` lines.
fn expected_outputs(items: &[&[u8]], assignment: &[u32], workers: u32) -> Vec<Vec<u8>> {
    (0..workers)
        .map(|rank| {
            let mut out = Vec::new();
            for index in shard::shard(assignment, rank) {
                out.extend_from_slice(format!("{index}\t").as_bytes());
                out.extend_from_slice(items[index]);
                out.push(b'\n');
            }
            out
        })
        .collect()
}

/// Runs vcp_assign for every rank in `dir` (the items file is written there)
/// and compares each rank's output with the Rust assignment.
fn check_assign(
    runner: &Runner,
    dir: &Path,
    strategy: Strategy,
    items: &[&[u8]],
    sizes: Option<&[u64]>,
    workers: u32,
) -> Result<(), TestCaseError> {
    fs::write(dir.join("items"), lines_of(items)).expect("write items");
    let workers_arg = workers.to_string();
    runner.run_ok(
        dir,
        ASSIGN_ALL_RANKS,
        &[
            strategy.as_str().as_bytes(),
            workers_arg.as_bytes(),
            b"items",
        ],
    );
    let assignment = shard::assign(strategy, items, sizes, workers);
    for (rank, expected) in expected_outputs(items, &assignment, workers)
        .iter()
        .enumerate()
    {
        let actual = fs::read(dir.join(format!("out.{rank}"))).expect("read a rank's output");
        prop_assert_eq!(
            show(&actual),
            show(expected),
            "{} shard of rank {} of {} ({:?} under {:?})",
            strategy.as_str(),
            rank,
            workers,
            items.iter().map(|item| show(item)).collect::<Vec<_>>(),
            runner.shell
        );
    }
    Ok(())
}

/// Any byte but a line break (items are lines) or NUL (items become argv).
fn item_byte() -> impl proptest::strategy::Strategy<Value = u8> {
    (1u8..=255).prop_map(|byte| if byte == b'\n' { b'N' } else { byte })
}

fn item() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::collection::vec(item_byte(), 1..24),
        2 => prop::sample::select(HOSTILE).prop_map(|item| item.as_bytes().to_vec()),
        // Shared heads and tails: the awk CRC memoizes both.
        2 => (
            prop::sample::select(&["/data/2026-11-28/part-", "/data/2026-11-29/", "s3://b/k/"][..]),
            "[0-9]{1,7}(\\.txt)?",
        )
            .prop_map(|(prefix, rest)| format!("{prefix}{rest}").into_bytes()),
        // Two length bytes: the awk memo keys then hold the length.
        1 => prop::collection::vec(item_byte(), 250..700),
    ]
}

fn items() -> impl proptest::strategy::Strategy<Value = Vec<Vec<u8>>> {
    (prop::collection::vec(item(), 0..40), any::<bool>()).prop_map(|(mut items, sorted)| {
        if sorted {
            items.sort();
        }
        items
    })
}

fn as_slices(items: &[Vec<u8>]) -> Vec<&[u8]> {
    items.iter().map(Vec::as_slice).collect()
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(crate::common::cases(24)))]

    #[test]
    fn modulo_in_sh_agrees_with_rust(items in items(), workers in 1u32..=12) {
        if !crate::common::require_tool("dash") {
            return Ok(());
        }
        let dir = temp_dir();
        check_assign(&Runner::dash(), dir.path(), Strategy::Modulo, &as_slices(&items), None, workers)?;
    }

    #[test]
    fn block_in_sh_agrees_with_rust(items in items(), workers in 1u32..=12) {
        if !crate::common::require_tool("dash") {
            return Ok(());
        }
        let dir = temp_dir();
        check_assign(&Runner::dash(), dir.path(), Strategy::Block, &as_slices(&items), None, workers)?;
    }
}

proptest! {
    // Each awk run builds its CRC tables (about 0.1 s), once per rank.
    #![proptest_config(ProptestConfig::with_cases(crate::common::cases(16)))]

    #[test]
    fn hash_in_sh_agrees_with_rust(items in items(), workers in 1u32..=12) {
        if !crate::common::require_tool("dash") {
            return Ok(());
        }
        let dir = temp_dir();
        check_assign(&Runner::dash(), dir.path(), Strategy::Hash, &as_slices(&items), None, workers)?;
    }
}

/// A list long enough for every path of `vcp__assign_hash`: the tail length
/// moving over runs of 1024 items (sorted and shuffled paths, numbers of
/// several lengths sharing tails), both memos filling up (more than 16384
/// distinct items), items longer than the longest tail or of several length
/// bytes, the memos switched off by random items and back on, and the
/// register of a shared prefix kept and used past items that lack it.
#[test]
fn hash_in_sh_agrees_with_rust_on_long_lists() {
    if !crate::common::require_tool("dash") || !crate::common::full("skipped: a long test") {
        return;
    }
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        state >> 33
    };
    let mut items: Vec<Vec<u8>> = Vec::new();
    items.extend((0..6000).map(|i| format!("/data/part-{i:06}.csv").into_bytes()));
    // 7919 is prime to 6000: a permutation.
    items.extend((0..6000).map(|i| format!("/data/part-{:06}.csv", i * 7919 % 6000).into_bytes()));
    items.extend((0..12_000).map(|i| (i * 37 % 12_000).to_string().into_bytes()));
    // Heads that always miss and tails that always hit: the tail grows to
    // its longest, and the head memo fills up and starts again.
    items.extend((0..24_000).map(|_| {
        let mut item: Vec<u8> = (0..8).map(|_| b'a' + (next() % 26) as u8).collect();
        item.extend_from_slice(&[b'/'; 80]);
        item
    }));
    items.extend((0..20_000).map(|_| {
        let len = 1 + next() % 90;
        (0..len)
            .map(|_| match (next() % 255 + 1) as u8 {
                b'\n' => b'N',
                byte => byte,
            })
            .collect()
    }));
    // Short items for the 65536 with the memos off, sharing a prefix (whose
    // register is kept) but every tenth, then memoized ones again: tails
    // shared by items of 252 to 263 bytes (one length byte, then two), and
    // an item of three length bytes.
    items.extend((0..62_000).map(|i| {
        let prefix = if i % 10 == 0 { "/tmp/" } else { "/var/tmp/" };
        format!("{prefix}{}", i % 1000).into_bytes()
    }));
    items.extend((0..3000).map(|i| {
        let mut item = vec![b'x'; 250 + i % 12];
        item.extend_from_slice(format!("{:02}", i % 97).as_bytes());
        item
    }));
    items.push(vec![b'y'; 70_000]);
    items.extend((0..3000).map(|i| {
        format!(
            "s3://bucket/{}/shard-{:05}-of-03000.tfrecord",
            "x".repeat(70),
            i * 7 % 3000
        )
        .into_bytes()
    }));
    let items = as_slices(&items);
    let workers = 3;
    let assignment = shard::assign(Strategy::Hash, &items, None, workers);
    let expected = expected_outputs(&items, &assignment, workers);
    // Both sets of CRC steps: mawk's tables, and the bitwise functions of
    // gawk and busybox awk.
    let tools = temp_dir();
    for (awk, runner) in awk_runners(tools.path()) {
        let dir = temp_dir();
        fs::write(dir.path().join("items"), lines_of(&items)).expect("write items");
        runner.run_ok(dir.path(), ASSIGN_ALL_RANKS, &[b"hash", b"3", b"items"]);
        for (rank, expected) in expected.iter().enumerate() {
            let actual =
                fs::read(dir.path().join(format!("out.{rank}"))).expect("read a rank's output");
            if let Some((line, (got, want))) = actual
                .split(|&byte| byte == b'\n')
                .zip(expected.split(|&byte| byte == b'\n'))
                .enumerate()
                .find(|(_, (got, want))| got != want)
            {
                panic!(
                    "{awk}, rank {rank}, output line {line}: got {}, expected {}",
                    show(got),
                    show(want)
                );
            }
            assert_eq!(
                actual.len(),
                expected.len(),
                "{awk}, rank {rank}: output length"
            );
        }
    }
}

/// File names that break naive listing, quoting or `wc` parsing.
const ODD_NAMES: &[&str] = &[
    "plain",
    "with space",
    "-dash",
    "-",
    "it's",
    "\"quoted\"",
    "$(touch pwned)",
    "star*",
    "tab\there",
    "back\\slash",
    "é.bin",
    " lead",
    "total",
    "a=b",
];

/// Sizes with many ties, so that the path and index tie-breaks matter.
const ODD_SIZES: &[u64] = &[0, 1, 2, 3, 5, 5, 5, 8, 13, 100, 4096];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(crate::common::cases(24)))]

    #[test]
    fn size_in_sh_agrees_with_rust(
        sizes in prop::collection::vec(prop::sample::select(ODD_SIZES), ODD_NAMES.len()),
        picks in prop::collection::vec((0..ODD_NAMES.len(), any::<bool>()), 0..30),
        workers in 1u32..=12,
    ) {
        if !crate::common::require_tool("dash") {
            return Ok(());
        }
        let dir = temp_dir();
        for (name, size) in ODD_NAMES.iter().zip(&sizes) {
            fs::write(dir.path().join(name), vec![b'x'; *size as usize]).expect("write a file");
        }
        // Relative and absolute paths, duplicates allowed (lines() may repeat a path).
        let items: Vec<Vec<u8>> = picks
            .iter()
            .map(|&(name, absolute)| {
                let path = if absolute {
                    dir.path().join(ODD_NAMES[name])
                } else {
                    PathBuf::from(ODD_NAMES[name])
                };
                path.as_os_str().as_bytes().to_vec()
            })
            .collect();
        let measured: Vec<u64> = picks.iter().map(|&(name, _)| sizes[name]).collect();
        check_assign(&Runner::dash(), dir.path(), Strategy::Size, &as_slices(&items), Some(&measured), workers)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(crate::common::cases(256)))]

    /// The law behind every strategy: each item lands in exactly one shard.
    #[test]
    fn shards_partition_the_items(
        items in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 0..200),
        sizes in prop::collection::vec(0u64..50, 200),
        workers in 1u32..=40,
    ) {
        let items = as_slices(&items);
        let sizes = &sizes[..items.len()];
        for strategy in STRATEGIES {
            let assignment = shard::assign(strategy, &items, Some(sizes), workers);
            prop_assert_eq!(assignment.len(), items.len());
            let mut seen = vec![0u32; items.len()];
            for rank in 0..workers {
                let indices = shard::shard(&assignment, rank);
                prop_assert!(indices.windows(2).all(|pair| pair[0] < pair[1]));
                for index in indices {
                    seen[index] += 1;
                }
            }
            prop_assert!(seen.iter().all(|&count| count == 1), "{}: {:?}", strategy.as_str(), seen);
        }
    }

    /// Modulo and block are fixed by the item count alone.
    #[test]
    fn modulo_and_block_follow_their_formulas(count in 0usize..300, workers in 1u32..=40) {
        let items = vec![&b"x"[..]; count];
        let modulo = shard::assign(Strategy::Modulo, &items, None, workers);
        prop_assert!(modulo.iter().enumerate().all(|(i, &w)| w as usize == i % workers as usize));
        let block = shard::assign(Strategy::Block, &items, None, workers);
        let (base, extra) = (count / workers as usize, count % workers as usize);
        for rank in 0..workers as usize {
            let start = rank * base + rank.min(extra);
            let end = (rank + 1) * base + (rank + 1).min(extra);
            prop_assert_eq!(shard::shard(&block, rank as u32), (start..end).collect::<Vec<_>>());
        }
    }

    /// Greedy largest-first never leaves a worker more than one item's size
    /// above the least loaded one.
    #[test]
    fn size_keeps_loads_within_the_largest_item(
        sizes in prop::collection::vec(0u64..1000, 0..200),
        workers in 1u32..=12,
    ) {
        let items = vec![&b"same"[..]; sizes.len()];
        let assignment = shard::assign(Strategy::Size, &items, Some(&sizes), workers);
        let mut loads = vec![0u64; workers as usize];
        for (worker, size) in assignment.iter().zip(&sizes) {
            loads[*worker as usize] += size;
        }
        let largest = sizes.iter().copied().max().unwrap_or(0);
        let (min, max) = (loads.iter().min().copied(), loads.iter().max().copied());
        prop_assert!(max.unwrap_or(0) - min.unwrap_or(0) <= largest, "{:?}", loads);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(crate::common::cases(48)))]

    #[test]
    fn cksum_matches_the_cksum_binary(bytes in prop::collection::vec(any::<u8>(), 0..700)) {
        let mut child = Command::new("cksum")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("cksum runs");
        child.stdin.take().expect("stdin").write_all(&bytes).expect("feed cksum");
        let output = child.wait_with_output().expect("cksum finishes");
        let printed = String::from_utf8_lossy(&output.stdout);
        let crc: u32 = printed
            .split_whitespace()
            .next()
            .and_then(|field| field.parse().ok())
            .expect("cksum prints a CRC");
        prop_assert_eq!(shard::cksum(&bytes), crc);
    }
}

// --- Sources -----------------------------------------------------------------

fn check_range(runner: &Runner, start: i64, end: i64, step: i64) -> Result<(), TestCaseError> {
    let dir = temp_dir();
    let args = [start.to_string(), end.to_string(), step.to_string()];
    runner.run_ok(
        dir.path(),
        r#"vcp_list_range "$1" "$2" "$3" out"#,
        &[args[0].as_bytes(), args[1].as_bytes(), args[2].as_bytes()],
    );
    let expected: Vec<String> = shard::range_items(start, end, step)
        .map(|item| item.to_string())
        .collect();
    let actual = fs::read(dir.path().join("out")).expect("read range output");
    prop_assert_eq!(
        show(&actual),
        show(&lines_of(&expected)),
        "range({}, {}, {})",
        start,
        end,
        step
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(crate::common::cases(48)))]

    #[test]
    fn range_in_sh_agrees_with_rust(
        start in -300i64..300,
        end in -300i64..300,
        step in prop_oneof![-40i64..0, 1i64..40],
    ) {
        if !crate::common::require_tool("dash") {
            return Ok(());
        }
        check_range(&Runner::dash(), start, end, step)?;
    }

    #[test]
    fn lines_in_sh_agree_with_rust(
        content in prop::collection::vec(
            prop_oneof![
                3 => Just(b'\n'),
                1 => Just(b'\r'),
                1 => Just(b' '),
                1 => Just(b'\t'),
                1 => Just(b'\\'),
                8 => item_byte(),
            ],
            0..200,
        ),
    ) {
        if !crate::common::require_tool("dash") {
            return Ok(());
        }
        let dir = temp_dir();
        fs::write(dir.path().join("input"), &content).expect("write input");
        Runner::dash().run_ok(dir.path(), "vcp_list_lines input out", &[]);
        let actual = fs::read(dir.path().join("out")).expect("read lines output");
        prop_assert_eq!(show(&actual), show(&lines_of(&shard::lines_items(&content))));
    }

    /// Random names in one directory, listed with `*`.
    #[test]
    fn files_in_sh_agree_with_a_sorted_listing(
        names in prop::collection::btree_set(
            prop_oneof![
                3 => prop::collection::vec(
                    // No `/`; `\n` is allowed: such a path must be skipped.
                    (1u8..=255).prop_map(|byte| if byte == b'/' { b'_' } else { byte }),
                    1..12,
                ),
                1 => prop::sample::select(ODD_NAMES).prop_map(|name| name.as_bytes().to_vec()),
            ],
            0..12,
        ),
    ) {
        if !crate::common::require_tool("dash") {
            return Ok(());
        }
        let dir = temp_dir();
        let base = dir.path().join("in dir");
        fs::create_dir(&base).expect("mkdir");
        let mut expected = Vec::new();
        for name in &names {
            let path = base.join(std::ffi::OsStr::from_bytes(name));
            // `.` and `..` name directories that exist already.
            if fs::write(&path, b"x").is_err() {
                continue;
            }
            if name[0] != b'.' && !name.contains(&b'\n') {
                expected.push(path.as_os_str().as_bytes().to_vec());
            }
        }
        expected.sort();
        let glob = base.join("*");
        Runner::dash().run_ok(
            dir.path(),
            r#"vcp_list_files "$1" out"#,
            &[glob.as_os_str().as_bytes()],
        );
        let actual = fs::read(dir.path().join("out")).expect("read files output");
        prop_assert_eq!(show(&actual), show(&lines_of(&expected)));
    }
}

#[test]
fn range_in_sh_reaches_the_checker_bounds() {
    if !crate::common::require_tool("dash") {
        return;
    }
    const LIMIT: i64 = (1 << 31) - 1;
    for (start, end, step) in [
        (LIMIT - 5, LIMIT, 1),
        (-LIMIT, -LIMIT + 10, 3),
        (-LIMIT, LIMIT, 1 << 29),
        (LIMIT, -LIMIT, -(1 << 30)),
        (0, LIMIT, 1 << 40),
        (5, -5, i64::MIN),
        (3, 3, 1),
    ] {
        check_range(&Runner::dash(), start, end, step).expect("range agrees");
    }
}

#[test]
fn lines_in_sh_keep_bytes_and_skip_empty_lines() {
    if !crate::common::require_tool("dash") {
        return;
    }
    let dir = temp_dir();
    let content = b"\n\nfirst\r\n\n  spaced  \n\ttab\\back\n\xff\xfe\nno newline at the end";
    fs::write(dir.path().join("input"), content).expect("write input");
    Runner::dash().run_ok(dir.path(), "vcp_list_lines input out", &[]);
    assert_eq!(
        show(&fs::read(dir.path().join("out")).expect("read output")),
        show(b"first\r\n  spaced  \n\ttab\\back\n\xff\xfe\nno newline at the end\n")
    );
    assert_eq!(
        lines_of(&shard::lines_items(content)),
        b"first\r\n  spaced  \n\ttab\\back\n\xff\xfe\nno newline at the end\n"
    );
}

#[test]
fn files_in_sh_list_regular_files_in_byte_order() {
    if !crate::common::require_tool("dash") {
        return;
    }
    let dir = temp_dir();
    let base = dir.path().join("dir with space").join("sub dir");
    fs::create_dir_all(&base).expect("mkdir");
    for name in [
        "b c.txt",
        "a.txt",
        "B.txt",
        "-dash.txt",
        "it's.txt",
        "$(touch pwned).txt",
        "star*.txt",
        "tab\t.txt",
        "é.txt",
        "[1].txt",
        "1.txt",
        ".hidden.txt",
        "z.TXT",
        "new\nline.txt",
    ] {
        fs::write(base.join(name), name).expect("write file");
    }
    fs::create_dir(base.join("dir.txt")).expect("mkdir");
    std::os::unix::fs::symlink(base.join("a.txt"), base.join("link.txt")).expect("symlink");
    std::os::unix::fs::symlink(base.join("missing"), base.join("broken.txt")).expect("symlink");

    let list = |glob: &str| -> (Vec<String>, String) {
        // The caller's `set -f` and IFS must not matter.
        let output = Runner::dash().run_ok(
            dir.path(),
            "set -f\nIFS=' /.'\nvcp_list_files \"$1\" out",
            &[glob.as_bytes()],
        );
        let listed = fs::read_to_string(dir.path().join("out")).expect("UTF-8 output");
        (
            listed.lines().map(str::to_string).collect(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let base_text = base.to_str().expect("UTF-8 temp dir");
    let full = |names: &[&str]| -> Vec<String> {
        names
            .iter()
            .map(|name| format!("{base_text}/{name}"))
            .collect()
    };

    let (listed, warnings) = list(&format!("{base_text}/*.txt"));
    assert_eq!(
        listed,
        full(&[
            "$(touch pwned).txt",
            "-dash.txt",
            "1.txt",
            "B.txt",
            "[1].txt",
            "a.txt",
            "b c.txt",
            "it's.txt",
            "link.txt",
            "star*.txt",
            "tab\t.txt",
            "é.txt",
        ])
    );
    assert!(
        warnings.contains("vcp: warning: files(): skipping"),
        "{warnings}"
    );

    assert_eq!(
        list(&format!("{base_text}/?.txt")).0,
        full(&["1.txt", "B.txt", "a.txt"])
    );
    // `[1].txt` as a pattern means `1.txt`; the file literally named so is no match.
    assert_eq!(list(&format!("{base_text}/[1].txt")).0, full(&["1.txt"]));
    fs::remove_file(base.join("1.txt")).expect("rm");
    assert_eq!(
        list(&format!("{base_text}/[1].txt")).0,
        Vec::<String>::new()
    );
    // A literal path is its own match.
    assert_eq!(list(&format!("{base_text}/b c.txt")).0, full(&["b c.txt"]));
    assert_eq!(list(&format!("{base_text}/*.none")).0, Vec::<String>::new());
    assert_eq!(
        list(&format!("{base_text}/nowhere/*")).0,
        Vec::<String>::new()
    );

    // Relative to the current directory.
    let (listed, _) = list("dir with space/sub dir/[ab]*");
    assert_eq!(
        listed,
        [
            "dir with space/sub dir/a.txt",
            "dir with space/sub dir/b c.txt"
        ]
    );
    assert!(!dir.path().join("pwned").exists());
}

// --- Errors ------------------------------------------------------------------

fn assert_fails(output: &Output, message: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "succeeded; stderr: {stderr}");
    assert!(
        stderr.contains(&format!("vcp: {message}")),
        "expected `vcp: {message}` in: {stderr}"
    );
}

#[test]
fn sh_functions_report_bad_input() {
    if !crate::common::require_tool("dash") {
        return;
    }
    let dir = temp_dir();
    let runner = Runner::dash();
    fs::write(dir.path().join("items"), "a\nb\n").expect("write items");
    let run = |script: &str| runner.run(dir.path(), script, &[]);

    assert_fails(
        &run("vcp_list_lines missing out"),
        "lines(): missing does not exist",
    );
    assert_fails(&run("vcp_list_lines . out"), "lines(): . is a directory");
    assert_fails(
        &run("vcp_list_range 0 10 0 out"),
        "range(): the step must not be 0",
    );
    assert_fails(
        &run("vcp_list_range 0 1e3 1 out"),
        "range(): '1e3' is not an integer",
    );
    assert_fails(
        &run("vcp_assign random 2 0 items out"),
        "unknown shard strategy 'random'",
    );
    assert_fails(
        &run("vcp_assign modulo 2 2 items out"),
        "rank 2 is out of range",
    );
    assert_fails(
        &run("vcp_assign modulo 0 0 items out"),
        "the number of workers must be",
    );
    assert_fails(
        &run("vcp_assign hash 2 0 missing out"),
        "cannot read the item list missing",
    );
    // `size` measures at run time: a missing or unreadable file is an error.
    assert_fails(
        &run("vcp_assign size 2 0 items out"),
        "size: cannot measure every file of items",
    );
    fs::create_dir(dir.path().join("a")).expect("mkdir");
    fs::write(dir.path().join("b"), "b").expect("write");
    assert_fails(
        &run("vcp_assign size 2 0 items out"),
        "size: cannot measure",
    );
    // A failure inside a function must not end the caller's script.
    let output = run("if vcp_assign random 2 0 items out; then exit 3; fi\necho still here");
    assert!(output.status.success());
    assert_eq!(output.stdout, b"still here\n");
}

// --- Shells and awks ------------------------------------------------------------

/// A directory whose `awk` (and with busybox, `sort` and `wc`) is `target`.
fn bin_dir(root: &Path, name: &str, target: &str, programs: &[&str]) -> PathBuf {
    let bin = root.join(name);
    fs::create_dir_all(&bin).expect("mkdir");
    let target = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join(target))
        .find(|path| path.is_file())
        .expect("target is on PATH");
    for program in programs {
        std::os::unix::fs::symlink(&target, bin.join(program)).expect("symlink");
    }
    bin
}

/// dash with each awk that is installed (mawk, gawk, busybox awk; busybox
/// also brings its `sort` and `wc`), by name, with tools made under `root`.
fn awk_runners(root: &Path) -> Vec<(&'static str, Runner)> {
    let mut runners = Vec::new();
    for (awk, programs) in [
        ("mawk", &["awk"][..]),
        ("gawk", &["awk"]),
        ("busybox", &["awk", "sort", "wc"]),
    ] {
        if crate::common::require_tool(awk) {
            let runner = Runner {
                shell: vec!["dash".to_string()],
                bin: Some(bin_dir(root, awk, awk, programs)),
            };
            runners.push((awk, runner));
        }
    }
    runners
}

/// The hash strategy steps the CRC with bitwise functions where the awk has
/// them, and through lookup tables where it does not: the agreement tests
/// above and below exercise one set or the other by the awk they run.
#[test]
fn the_crc_steps_follow_what_the_awk_offers() {
    if !crate::common::require_tool("dash") {
        return;
    }
    let tools = temp_dir();
    for (awk, runner) in awk_runners(tools.path()) {
        let dir = temp_dir();
        let has_xor = runner
            .run(dir.path(), "vcp__awk_has_xor", &[])
            .status
            .success();
        assert_eq!(has_xor, awk != "mawk", "{awk}");
    }
}

/// The same hostile input under every available shell with the default
/// tools, and under dash with every available awk.
#[test]
fn every_shell_and_awk_agrees_with_rust() {
    if !crate::common::require_tool("dash") {
        return;
    }
    let tools = temp_dir();
    let mut runners = Vec::new();
    for shell in [&["dash"][..], &["bash", "--posix"], &["busybox", "sh"]] {
        if crate::common::require_tool(shell[0]) {
            runners.push(Runner {
                shell: shell.iter().map(|s| s.to_string()).collect(),
                bin: None,
            });
        }
    }
    runners.extend(
        awk_runners(tools.path())
            .into_iter()
            .map(|(_, runner)| runner),
    );

    let mut items: Vec<Vec<u8>> = HOSTILE
        .iter()
        .map(|item| item.as_bytes().to_vec())
        .collect();
    items.push(b"\xff\xfe\x80 not UTF-8".to_vec());
    items.push(vec![b'y'; 300]);
    items.extend((0..40).map(|i| format!("/data/part-{i:05}.txt").into_bytes()));
    let items = as_slices(&items);

    for runner in &runners {
        let dir = temp_dir();
        for strategy in [Strategy::Modulo, Strategy::Block, Strategy::Hash] {
            check_assign(runner, dir.path(), strategy, &items, None, 5).expect("agreement");
        }

        let mut paths = Vec::new();
        let mut sizes = Vec::new();
        for (i, name) in ODD_NAMES.iter().enumerate() {
            let size = ODD_SIZES[i % ODD_SIZES.len()];
            fs::write(dir.path().join(name), vec![b'x'; size as usize]).expect("write file");
            paths.push(name.as_bytes());
            sizes.push(size);
        }
        check_assign(runner, dir.path(), Strategy::Size, &paths, Some(&sizes), 4)
            .expect("agreement");

        check_range(runner, -7, 20, 3).expect("range agrees");
        let content = b"one\r\n\n two \nthree";
        fs::write(dir.path().join("input"), content).expect("write input");
        runner.run_ok(dir.path(), "vcp_list_lines input lines.out", &[]);
        assert_eq!(
            fs::read(dir.path().join("lines.out")).expect("read"),
            lines_of(&shard::lines_items(content)),
            "{:?}",
            runner.shell
        );
        let mut expected: Vec<Vec<u8>> = fs::read_dir(dir.path())
            .expect("list")
            .map(|entry| entry.expect("entry").file_name().as_bytes().to_vec())
            .filter(|name| name.contains(&b'a') && name[0] != b'.')
            .collect();
        expected.sort();
        runner.run_ok(dir.path(), "vcp_list_files '*a*' files.out", &[]);
        assert_eq!(
            show(&fs::read(dir.path().join("files.out")).expect("read")),
            show(&lines_of(&expected)),
            "{:?}",
            runner.shell
        );
    }
    assert!(!runners.is_empty());
}

// --- The fragment itself ----------------------------------------------------------

#[test]
fn fragment_is_safe_to_include_in_a_template() {
    for delimiter in ["{{", "{%", "{#"] {
        assert!(
            !SHARD_SH.contains(delimiter),
            "shard.sh holds `{delimiter}`, which minijinja would interpret"
        );
    }
}

#[test]
fn fragment_is_clean_under_shellcheck() {
    if !crate::common::require_tool("shellcheck") {
        return;
    }
    let dir = temp_dir();
    let path = dir.path().join("shard.sh");
    fs::write(&path, SHARD_SH).expect("write fragment");
    let output = Command::new("shellcheck")
        .args(["-s", "sh"])
        .arg(&path)
        .output()
        .expect("shellcheck runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

/// `vcp shards` expands `files()` from a volume's local folder: it lists what
/// the wrapper's `vcp_list_files` lists there, for hidden files, brackets,
/// links, directories and patterns in every path component.
#[test]
fn vcp_shards_lists_local_files_as_the_wrapper_does() {
    if !crate::common::require_tool("dash") {
        return;
    }
    let dir = temp_dir();
    let data = dir.path().join("data");
    for sub in ["", "sub one", "sub two", "other", ".hid"] {
        let base = data.join(sub);
        fs::create_dir_all(&base).expect("mkdir");
        for name in [
            "b c.txt",
            "a.txt",
            "B.txt",
            "-dash.txt",
            "it's.txt",
            "star*.txt",
            "tab\t.txt",
            "é.txt",
            "[1].txt",
            "1.txt",
            ".hidden.txt",
            "z.TXT",
            "new\nline.txt",
            "a]b.txt",
        ] {
            fs::write(base.join(name), name).expect("write file");
        }
        fs::create_dir(base.join("dir.txt")).expect("mkdir");
        std::os::unix::fs::symlink(base.join("a.txt"), base.join("link.txt")).expect("symlink");
        std::os::unix::fs::symlink(base.join("missing"), base.join("broken.txt")).expect("symlink");
    }
    let patterns = [
        "*.txt",
        "*",
        "[ab]*",
        "[!a]*.txt",
        "?.txt",
        "sub*/*.txt",
        "*/[0-9]*",
        ".*",
        ".*/*.txt",
        "[[:upper:]]*",
        "[a-c]*.txt",
        "*]*",
        "[]]*",
        "[!]]*.TXT",
        "sub one/a.txt",
        "none/*",
        "*/*/*",
        "[*]*",
        "a[",
        "*.[tT][xX][tT]",
    ];
    let mut source = String::from(
        "pipeline p {\n  image = \"busybox\"\n  volume data { claim = \"c\", mount = \"/data\", local = \"data\" }\n",
    );
    for (i, pattern) in patterns.iter().enumerate() {
        source.push_str(&format!(
            "  stage s{i} {{ workers = 1, shard = files(\"/data/{pattern}\") by modulo, run = \"true\" }}\n"
        ));
    }
    source.push_str("}\n");
    fs::write(dir.path().join("p.vcp"), source).expect("write pipeline");
    let data_text = data.to_str().expect("UTF-8 temp dir");
    for (i, pattern) in patterns.iter().enumerate() {
        Runner::dash().run_ok(
            dir.path(),
            "vcp_list_files \"$1\" out",
            &[format!("{data_text}/{pattern}").as_bytes()],
        );
        let listed = fs::read_to_string(dir.path().join("out")).expect("UTF-8 output");
        let expected: Vec<String> = listed
            .lines()
            .map(|l| format!("/data{}", &l[data_text.len()..]))
            .collect();
        let out = Command::new(env!("CARGO_BIN_EXE_vcp"))
            .args([
                "shards",
                "p.vcp",
                "--stage",
                &format!("s{i}"),
                "--worker",
                "0",
            ])
            .current_dir(dir.path())
            .output()
            .expect("vcp runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let previewed: Vec<String> = String::from_utf8(out.stdout)
            .expect("UTF-8")
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(previewed, expected, "files(\"/data/{pattern}\")");
    }
}
