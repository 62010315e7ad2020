//! Data parallelism for the core: a `map` over a slice on every core, with
//! the results in the order of the input whatever the threads do, so that
//! output stays deterministic. Threads are not IO; the core stays pure.

/// `items.iter().map(f).collect()`, spread over the cores for long lists:
/// one contiguous part per core, each on a thread of its own. (The calling
/// thread only waits: giving it a part, or handing out small runs to free
/// threads, both measured slower on the 2-core benchmark machine.)
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    // Below a few dozen items a thread costs more than it saves.
    let threads = cores().min(items.len() / 32).max(1);
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
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
    }
}
