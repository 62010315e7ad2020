//! Data parallelism for the core: a `map` over a slice on every core, with
//! the results in the order of the input whatever the threads do, so that
//! output stays deterministic. Threads are not IO; the core stays pure.

/// `items.iter().map(f).collect()`, spread over the cores for long lists:
/// one contiguous part per core, each on a thread of its own. (The calling
/// thread only waits: giving it a part, or handing out small runs to free
/// threads, both measured slower on the 2-core benchmark machine.)
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    map_weighted(items, |_| 1, f)
}

/// [`map`] with parts of about equal `weight` rather than equal length
/// (writing files: one large file costs as much as many small ones).
pub fn map_weighted<T: Sync, R: Send>(
    items: &[T],
    weight: impl Fn(&T) -> usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    // Below a few dozen items a thread costs more than it saves.
    let threads = cores().min(items.len() / 32).max(1);
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let total: usize = items.iter().map(&weight).sum();
    let mut parts = Vec::with_capacity(threads);
    let (mut start, mut sum) = (0, 0);
    for (i, item) in items.iter().enumerate() {
        sum += weight(item);
        // Part k ends once the running sum reaches k/threads of the total.
        if parts.len() + 1 < threads && sum * threads >= total * (parts.len() + 1) {
            parts.push(&items[start..=i]);
            start = i + 1;
        }
    }
    parts.push(&items[start..]);
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| scope.spawn(|| part.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        // Sized once, each part moved in and freed as it is: the results
        // are held about once, not twice (the stages of the checker and
        // the emitter are the larger part of the peak memory).
        let mut results = Vec::with_capacity(items.len());
        for h in handles {
            let mut part = h
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            results.append(&mut part);
        }
        results
    })
}

/// The cores this process may use, asked once (the answer takes reading
/// cgroup files).
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES
        .get_or_init(|| std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get))
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_the_order() {
        let items: Vec<u32> = (0..10_000).collect();
        assert_eq!(
            super::map(&items, |i| i * 2),
            items.iter().map(|i| i * 2).collect::<Vec<_>>()
        );
        assert_eq!(
            super::map_weighted(&items, |i| *i as usize, |i| i * 2),
            items.iter().map(|i| i * 2).collect::<Vec<_>>()
        );
    }
}
