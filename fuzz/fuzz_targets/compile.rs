//! parse + check + emit never panics, overflows or hangs, whatever the input.
//! The input is split on a NUL byte into the root file and a file it may
//! import (`lib.vcp`), so that imports and templates get fuzzed too.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vcp::check::{MemoryLoader, Options};

fuzz_target!(|data: &[u8]| {
    let (root, lib) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    // The CLI rejects files that are not UTF-8 before parsing.
    let (Ok(root), Ok(lib)) = (std::str::from_utf8(root), std::str::from_utf8(lib)) else {
        return;
    };
    let mut loader = MemoryLoader::new([
        ("fuzz.vcp".to_string(), root.to_string()),
        ("lib.vcp".to_string(), lib.to_string()),
    ]);
    let options = Options {
        sets: vec![("day".into(), "2026-11-28".into())],
    };
    let (checked, output) = vcp::compile(&["fuzz.vcp".to_string()], &mut loader, &options);
    // Every failure is explained by at least one error.
    assert!(output.is_some() || checked.has_errors());
});
