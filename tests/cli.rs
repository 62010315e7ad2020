//! CLI transcripts: `tests/cli/*.md` are documentation that runs. Each block
//! of `$ vcp ...` commands runs in a copy of the `.in/` folder beside it, and
//! its output and exit status must match (`VCP_BLESS=1 cargo test` rewrites
//! them, through trycmd's `TRYCMD=overwrite`; read the diff).

#[test]
fn cli_transcripts() {
    if crate::common::bless_through("cli::cli_transcripts", "TRYCMD", "overwrite") {
        return;
    }
    let vcp = trycmd::cargo::cargo_bin!("vcp");
    // `sh -c "vcp ... | head"` in a transcript finds the vcp under test first.
    let bin_dir = vcp.parent().expect("the binary is in a directory");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(
        std::iter::once(bin_dir.to_path_buf()).chain(std::env::split_paths(&path)),
    )
    .expect("PATH entries without `:`");
    trycmd::TestCases::new()
        .register_bin("vcp", vcp)
        .register_bin("sh", std::path::PathBuf::from("/bin/sh"))
        .env("NO_COLOR", "1")
        // Diagnostics wrap at COLUMNS: the transcripts' width, whatever the
        // shell running the tests exports.
        .env("COLUMNS", "100")
        .env("PATH", path.to_string_lossy())
        .case("tests/cli/*.md");
}
