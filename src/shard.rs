//! Shard assignment: which worker handles which item.
//!
//! This is the reference implementation of the shard rules (documented in
//! docs/language.md, "Sharding"). The wrapper scripts carry a second
//! implementation in POSIX sh + awk (`src/emit/templates/shard.sh`) because `lines()` and
//! `files()` sources are only known inside the pod at run time;
//! `tests/shard_agreement.rs` proves that both agree byte for byte, so that
//! what Rust computes for static sources (a preview of who gets what) is what
//! the pods will do.
//!
//! Items are bytes, not text: file names and lines may hold any byte but
//! `\n`. Nothing here does IO; sizes for the `size` strategy are measured by
//! the caller.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::ir::Strategy;

/// The CRC that POSIX `cksum` prints for a file whose content is `bytes`.
///
/// CRC-32 with polynomial 0x04C11DB7, most significant bit first, initial
/// value 0, computed over the data and then over the length (least
/// significant byte first, only as many bytes as the length needs), and
/// complemented at the end. The `hash` strategy uses it because every
/// machine has `cksum` to check a result by hand.
pub fn cksum(bytes: &[u8]) -> u32 {
    let mut crc = bytes.iter().fold(0, |crc, &byte| crc_step(crc, byte));
    let mut len = bytes.len();
    while len != 0 {
        // Truncation to the low byte is the point.
        crc = crc_step(crc, (len & 0xff) as u8);
        len >>= 8;
    }
    !crc
}

fn crc_step(crc: u32, byte: u8) -> u32 {
    (crc << 8) ^ CRC_TABLE[usize::from((crc >> 24) as u8 ^ byte)]
}

/// `CRC_TABLE[i]` is the CRC register after shifting the byte `i` through it.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u32) << 24;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04C1_1DB7
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// The items of `range(start, end, step)`: `start`, `start + step`, ... while
/// below `end` (above `end` when `step` is negative). Empty when `step` is 0,
/// which the checker rejects. Stops instead of overflowing `i64`.
pub fn range_items(start: i64, end: i64, step: i64) -> impl Iterator<Item = i64> {
    let first = Some(start).filter(|_| step != 0);
    std::iter::successors(first, move |&item| item.checked_add(step))
        .take_while(move |&item| if step > 0 { item < end } else { item > end })
}

/// The items of `lines(path)` given the file's content: the lines split on
/// `\n`, a last line without newline included, empty lines skipped. Every
/// other byte, `\r` included, belongs to the item.
pub fn lines_items(content: &[u8]) -> Vec<&[u8]> {
    content
        .split(|&byte| byte == b'\n')
        .filter(|line| !line.is_empty())
        .collect()
}

/// The items of `output(stage)` given what each worker of the stage wrote,
/// in rank order: every file's lines as [`lines_items`] reads them (a last
/// line without newline is an item of its own, never joined to the next
/// worker's first).
pub fn output_items<'a>(outputs: &[&'a [u8]]) -> Vec<&'a [u8]> {
    outputs.iter().flat_map(|o| lines_items(o)).collect()
}

/// The worker (rank, from 0) of each item, for `workers` workers.
///
/// `sizes` holds the byte size of each item for [`Strategy::Size`] and is
/// ignored by the other strategies.
///
/// # Panics
///
/// If `workers` is 0, or if the strategy is `Size` and `sizes` is missing or
/// not as long as `items`. The checker guarantees at least one worker and the
/// caller measures every item, so either is a bug in vcp, not bad input.
pub fn assign(
    strategy: Strategy,
    items: &[&[u8]],
    sizes: Option<&[u64]>,
    workers: u32,
) -> Vec<u32> {
    assert!(workers > 0, "shard::assign needs at least one worker");
    match strategy {
        Strategy::Modulo => (0..items.len())
            .map(|index| worker_of_index(index, workers))
            .collect(),
        Strategy::Block => assign_block(items.len(), workers),
        Strategy::Hash => items.iter().map(|item| cksum(item) % workers).collect(),
        Strategy::Size => {
            let sizes = sizes.expect("shard::assign: the size strategy needs sizes");
            assert_eq!(sizes.len(), items.len(), "shard::assign: one size per item");
            assign_size(items, sizes, workers)
        }
    }
}

/// `index mod workers`, computed in `u64` so that no index is truncated.
fn worker_of_index(index: usize, workers: u32) -> u32 {
    // The remainder is below `workers`, so it fits in u32.
    (index as u64 % u64::from(workers)) as u32
}

/// Worker `r` gets `[r*base + min(r, extra), (r+1)*base + min(r+1, extra))`
/// with `base = n / N` and `extra = n mod N`: the first `extra` workers get
/// one item more.
fn assign_block(count: usize, workers: u32) -> Vec<u32> {
    let n = count as u64;
    let base = n / u64::from(workers);
    let extra = n % u64::from(workers);
    let mut out = Vec::with_capacity(count);
    for rank in 0..busy_workers(count, workers) {
        let len = base + u64::from(u64::from(rank) < extra);
        out.extend(std::iter::repeat_n(rank, len as usize));
    }
    out
}

/// `min(count, workers)`: with more workers than items, only the first
/// `count` ranks can get one (block, size), and a job with a million workers
/// must not cost a million steps.
fn busy_workers(count: usize, workers: u32) -> u32 {
    u32::try_from(count).map_or(workers, |count| count.min(workers))
}

/// Greedy largest-first: walk the items by size descending (ties by path
/// bytes, then by index), giving each to the worker with the smallest total
/// so far (ties to the lowest rank).
fn assign_size(items: &[&[u8]], sizes: &[u64], workers: u32) -> Vec<u32> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_unstable_by(|&a, &b| {
        sizes[b]
            .cmp(&sizes[a])
            .then_with(|| items[a].cmp(items[b]))
            .then_with(|| a.cmp(&b))
    });
    // Min-heap on (load, rank); u128 so that no sum of u64 sizes overflows.
    // Only the first n ranks can get an item: a rank is chosen only when every
    // lower rank has a positive load, so an item.
    let mut heap: BinaryHeap<Reverse<(u128, u32)>> = (0..busy_workers(items.len(), workers))
        .map(|rank| Reverse((0, rank)))
        .collect();
    let mut out = vec![0; items.len()];
    for index in order {
        // With items to place the heap holds at least one entry, and each pop
        // is followed by a push.
        let Some(Reverse((load, rank))) = heap.pop() else {
            unreachable!("the heap holds one entry per candidate worker")
        };
        out[index] = rank;
        heap.push(Reverse((load + u128::from(sizes[index]), rank)));
    }
    out
}

/// The indices of the items assigned to `rank`, ascending.
pub fn shard(assignment: &[u32], rank: u32) -> Vec<usize> {
    assignment
        .iter()
        .enumerate()
        .filter(|&(_, &worker)| worker == rank)
        .map(|(index, _)| index)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(items: &[&'static str]) -> Vec<&'static [u8]> {
        items.iter().map(|item| item.as_bytes()).collect()
    }

    #[test]
    fn cksum_matches_known_values() {
        assert_eq!(cksum(b""), 4_294_967_295);
        assert_eq!(cksum(b"123456789"), 930_766_865);
        // `printf a | cksum` and `echo | cksum`.
        assert_eq!(cksum(b"a"), 1_220_704_766);
        assert_eq!(cksum(b"\n"), 3_515_105_045);
    }

    #[test]
    fn cksum_covers_lengths_of_several_bytes() {
        // 256 bytes need two length bytes, 65536 three.
        let zeros = vec![0u8; 65_536];
        assert_ne!(cksum(&zeros[..256]), cksum(&zeros[..255]));
        assert_ne!(cksum(&zeros), cksum(&zeros[..65_535]));
    }

    #[test]
    fn range_counts_up_and_down() {
        assert_eq!(range_items(0, 5, 1).collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
        assert_eq!(range_items(-3, 4, 3).collect::<Vec<_>>(), [-3, 0, 3]);
        assert_eq!(range_items(5, 0, -2).collect::<Vec<_>>(), [5, 3, 1]);
        assert_eq!(range_items(3, 3, 1).count(), 0);
        assert_eq!(range_items(0, 3, -1).count(), 0);
        assert_eq!(range_items(0, 3, 0).count(), 0);
    }

    #[test]
    fn range_stops_before_overflow() {
        let items: Vec<_> = range_items(i64::MAX - 1, i64::MAX, i64::MAX).collect();
        assert_eq!(items, [i64::MAX - 1]);
        let items: Vec<_> = range_items(i64::MIN + 1, i64::MIN, i64::MIN).collect();
        assert_eq!(items, [i64::MIN + 1]);
    }

    #[test]
    fn lines_skip_empty_lines_and_keep_other_bytes() {
        let content = b"a\n\n b\r\n\t\n\nlast";
        assert_eq!(lines_items(content), [&b"a"[..], b" b\r", b"\t", b"last"]);
        assert!(lines_items(b"").is_empty());
        assert!(lines_items(b"\n\n").is_empty());
    }

    #[test]
    fn modulo_deals_round_robin() {
        let items = bytes(&["a", "b", "c", "d", "e"]);
        assert_eq!(assign(Strategy::Modulo, &items, None, 2), [0, 1, 0, 1, 0]);
    }

    #[test]
    fn block_gives_the_extra_items_to_the_first_workers() {
        let items = bytes(&["a", "b", "c", "d", "e", "f", "g"]);
        assert_eq!(
            assign(Strategy::Block, &items, None, 3),
            [0, 0, 0, 1, 1, 2, 2]
        );
        // Fewer items than workers: the last workers get nothing.
        assert_eq!(assign(Strategy::Block, &items[..2], None, 4), [0, 1]);
    }

    #[test]
    fn hash_is_cksum_mod_workers() {
        let items = bytes(&["123456789", ""]);
        assert_eq!(
            assign(Strategy::Hash, &items, None, 7),
            [930_766_865 % 7, 4_294_967_295 % 7]
        );
    }

    #[test]
    fn size_balances_largest_first_with_deterministic_ties() {
        let items = bytes(&["d", "c", "b", "a", "c"]);
        let sizes = [10, 5, 5, 5, 5];
        // Order: d(10), a, b, c (index 1), c (index 4). Loads before each step:
        // d -> 0 (0|0), a -> 1 (10|0), b -> 1 (10|5), c#1 -> 0 (10|10), c#4 -> 1 (15|10).
        assert_eq!(
            assign(Strategy::Size, &items, Some(&sizes), 2),
            [0, 0, 1, 1, 1]
        );
    }

    #[test]
    fn size_handles_loads_beyond_u64() {
        let items = bytes(&["a", "b", "c"]);
        let sizes = [u64::MAX, u64::MAX, 1];
        assert_eq!(assign(Strategy::Size, &items, Some(&sizes), 2), [0, 1, 0]);
    }

    #[test]
    fn many_more_workers_than_items_cost_nothing() {
        let items = bytes(&["a", "b", "c"]);
        let sizes = [1, 3, 2];
        assert_eq!(
            assign(Strategy::Size, &items, Some(&sizes), u32::MAX),
            [2, 0, 1]
        );
        assert_eq!(assign(Strategy::Block, &items, None, u32::MAX), [0, 1, 2]);
    }

    #[test]
    fn shard_lists_a_ranks_indices() {
        assert_eq!(shard(&[0, 1, 0, 2, 0], 0), [0, 2, 4]);
        assert!(shard(&[0, 1], 5).is_empty());
    }

    /// A quadratic walk would not finish here in a debug build.
    #[test]
    fn large_inputs_assign_quickly() {
        let count = 300_000u64;
        let names: Vec<String> = (0..count).map(|i| format!("/data/part-{i:07}")).collect();
        let items: Vec<&[u8]> = names.iter().map(|name| name.as_bytes()).collect();
        let sizes: Vec<u64> = (0..count).map(|i| (i * 7919) % 100_003).collect();
        for strategy in Strategy::ALL {
            let assignment = assign(strategy, &items, Some(&sizes), 12);
            assert_eq!(assignment.len(), items.len());
            assert!(assignment.iter().all(|&worker| worker < 12));
        }
    }
}
