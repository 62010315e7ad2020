//! `cargo bench`: parse (and, for comparison, the pest parser alone), check
//! and emit, each on its own, on the generated benchmark pipelines
//! (benches/gen.py, N = 10, 100, 1,000, 10,000 stages). The whole-process
//! figures come from benches/render.sh.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::process::Command;
use vcp::check::{MemoryLoader, Options};
use vcp::source::FileId;

// The allocator of the `vcp` binary (src/main.rs), so that these figures
// add up to the whole-process ones.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn pipeline(n: usize) -> String {
    let out = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/gen.py"))
        .arg(n.to_string())
        .output()
        .expect("python3 runs benches/gen.py");
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn phases(c: &mut Criterion) {
    for n in [10, 100, 1000, 10_000] {
        let text = pipeline(n);
        let mut group = c.benchmark_group(format!("stages-{n}"));
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.sample_size(if n >= 1000 { 10 } else { 50 });
        group.bench_with_input(BenchmarkId::new("parse", n), &text, |b, t| {
            b.iter(|| vcp::syntax::parse(FileId(0), black_box(t)));
        });
        // The parser generated from the grammar alone, which reads files
        // with errors: `parse` over this is the fast path's speed-up.
        group.bench_with_input(BenchmarkId::new("parse-pest", n), &text, |b, t| {
            b.iter(|| vcp::syntax::parse_with_pest(FileId(0), black_box(t)));
        });
        let roots = vec!["bench.vcp".to_string()];
        group.bench_with_input(BenchmarkId::new("check", n), &text, |b, t| {
            b.iter(|| {
                let mut loader = MemoryLoader::new([("bench.vcp".to_string(), t.clone())]);
                vcp::check::check(black_box(&roots), &mut loader, &Options::default())
            });
        });
        let mut loader = MemoryLoader::new([("bench.vcp".to_string(), text.clone())]);
        let build = vcp::check::check(&roots, &mut loader, &Options::default())
            .build
            .expect("compiles");
        group.bench_with_input(BenchmarkId::new("emit", n), &build, |b, build| {
            b.iter(|| vcp::emit::emit(black_box(build)));
        });
        group.finish();
    }
}

criterion_group!(benches, phases);
criterion_main!(benches);
