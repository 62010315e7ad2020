//! CLI transcripts: `tests/cli/*.md` are documentation that runs. Each block
//! of `$ vcp ...` commands runs in a copy of the `.in/` folder beside it, and
//! its output and exit status must match (`VCP_BLESS=1 cargo test` rewrites
//! them, through trycmd's `TRYCMD=overwrite`; read the diff).

#[test]
fn cli_transcripts() {
    if crate::common::bless_through("cli::cli_transcripts", "TRYCMD", "overwrite") {
        return;
    }
    trycmd::TestCases::new()
        .register_bin("vcp", trycmd::cargo::cargo_bin!("vcp"))
        .register_bin("sh", std::path::PathBuf::from("/bin/sh"))
        .env("NO_COLOR", "1")
        .case("tests/cli/*.md");
}
