//! What vcp does with its terminal: a reader that goes away, colours asked
//! for through the environment. The real binary, real pipes.

use std::process::{Command, Stdio};

fn vcp() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vcp"));
    cmd.current_dir(crate::common::root())
        .stdin(Stdio::null())
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("FORCE_COLOR")
        .env_remove("CLICOLOR");
    cmd
}

/// Runs `vcp args` with stdout the write end of a pipe whose read end is
/// already closed: the first write fails with EPIPE, deterministically
/// (`vcp ... | head` where head has exited). Returns (exit code, stderr).
fn into_closed_pipe(args: &[&str]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let out = vcp()
        .args(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("vcp runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_stdout_command_ends_quietly_when_the_reader_goes_away() {
    let cases: &[&[&str]] = &[
        &["man"],
        &["completions", "bash"],
        &["build", "examples/etl/pipeline.vcp", "-o", "-"],
        &[
            "shards",
            "examples/cube-volcano/pipeline.vcp",
            "--stage",
            "square",
        ],
        &["graph", "examples/etl/pipeline.vcp"],
        &["explain", "E0101"],
        &["--help"],
        &[
            "check",
            "--message-format",
            "json",
            "tests/cli/check.in/bad.vcp",
        ],
    ];
    for args in cases {
        let (code, stderr) = into_closed_pipe(args);
        let expected = if args[0] == "check" { 1 } else { 0 };
        assert_eq!(
            code,
            Some(expected),
            "vcp {} into a closed pipe: {stderr}",
            args.join(" ")
        );
        assert_eq!(stderr, "", "vcp {} into a closed pipe", args.join(" "));
    }
}

/// `vcp check` of a file with an error; returns stderr.
fn check_stderr(env: &[(&str, &str)]) -> String {
    let out = vcp()
        .args(["check", "tests/cli/check.in/bad.vcp"])
        .envs(env.iter().copied())
        .output()
        .expect("vcp runs");
    assert_eq!(out.status.code(), Some(1));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn colours_follow_clicolor_force_force_color_and_no_color() {
    let escape = "\u{1b}[";
    // stderr is a pipe here: no colours unless asked for.
    assert!(!check_stderr(&[]).contains(escape));
    assert!(check_stderr(&[("CLICOLOR_FORCE", "1")]).contains(escape));
    assert!(check_stderr(&[("FORCE_COLOR", "1")]).contains(escape));
    assert!(!check_stderr(&[("FORCE_COLOR", "0")]).contains(escape));
    assert!(!check_stderr(&[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]).contains(escape));
    let never = vcp()
        .args(["--color", "never", "check", "tests/cli/check.in/bad.vcp"])
        .env("CLICOLOR_FORCE", "1")
        .output()
        .expect("vcp runs");
    assert!(!String::from_utf8_lossy(&never.stderr).contains(escape));
}
