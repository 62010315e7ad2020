//! CLI transcripts: `tests/cli/*.md` are documentation that runs. Each block
//! of `$ vcp ...` commands runs in a copy of the `.in/` folder beside it, and
//! its output and exit status must match (`TRYCMD=overwrite cargo test` to
//! rewrite them; read the diff).

#[test]
fn cli_transcripts() {
    trycmd::TestCases::new()
        .register_bin("vcp", trycmd::cargo::cargo_bin!("vcp"))
        .register_bin("sh", std::path::PathBuf::from("/bin/sh"))
        .env("NO_COLOR", "1")
        .case("tests/cli/*.md");
}
