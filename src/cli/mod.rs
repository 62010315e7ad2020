//! The command-line edge: argument parsing, reading files, rendering
//! diagnostics, writing outputs, exit codes. Exit codes: 0 success, 1 errors
//! in the input (or a failed run), 2 usage errors, 130 a `vcp run` stopped by
//! Ctrl-C or SIGTERM (its workers stopped first).
//!
//! `args.rs` defines the command line, `inputs.rs` turns the files named into
//! a compiled build, and each subcommand has its file (`build.rs`, `fmt.rs`,
//! `graph.rs`, `shards.rs`, `run.rs`); this file dispatches to them.

mod args;
mod build;
pub mod fmt;
mod graph;
mod inputs;
pub mod output;
pub mod render;
pub mod report;
mod run;
mod shards;
pub mod survey;

pub use inputs::{FsLoader, display_name};
pub(crate) use inputs::{compile_inputs, parse_sets, vcp_files_below};

use crate::diag::Code;
use crate::emit::{self, Keep};
use args::{Cli, ColorChoice, Command};
use clap::{CommandFactory, Parser};
use report::DiagnosticPrinter;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout with success, usage errors with 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let style = render::Style {
        color: match cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        },
        width: 100,
    };
    let printer = DiagnosticPrinter {
        format: cli.message_format,
        style,
    };
    match cli.command {
        Command::Check { files, sets } => {
            let (code, compiled) = compile_inputs(&files, &sets, printer, Keep::Manifests);
            // The process ends here: freeing tens of megabytes of small
            // allocations one by one would only cost time.
            std::mem::forget(compiled);
            code
        }
        Command::Build {
            files,
            output,
            sets,
            check,
            prune,
        } => {
            // On stdout go the manifests alone.
            let keep = if !check && output.as_os_str() == "-" {
                Keep::Manifests
            } else {
                Keep::Everything
            };
            let (code, compiled) = compile_inputs(&files, &sets, printer, keep);
            let Some((out, b)) = compiled.and_then(|c| c.output.zip(c.checked.build)) else {
                return code;
            };
            let code = if check {
                build::check(&output, &out, printer.format)
            } else if output.as_os_str() == "-" {
                stdout(&emit::stream_pieces(&out))
            } else {
                build::write(&output, &out, b.pipelines.len(), prune)
            };
            // As for `check`: the process ends here.
            std::mem::forget((out, b));
            code
        }
        Command::Graph {
            files,
            format,
            sets,
        } => graph::show(&files, format, &sets, printer),
        Command::Shards {
            file,
            stage,
            pipeline,
            worker,
            sets,
        } => shards::show(
            shards::Args {
                file,
                stage,
                pipeline,
                worker,
                sets,
            },
            printer,
        ),
        Command::Explain { code } => explain(&code),
        Command::Fmt { paths, check } => fmt::format_files(&paths, check),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "vcp", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Command::Man => {
            match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Run {
            file,
            pipeline,
            stage,
            sets,
            mounts,
            max_procs,
            follow,
            resume,
        } => run::run(
            run::Args {
                file,
                pipeline,
                stage,
                sets,
                mounts,
                max_procs,
                follow,
                resume,
            },
            printer,
        ),
    }
}

/// Writes a command's result to stdout, piece by piece: the manifests of a
/// large build are never joined into one string. A closed pipe (`vcp shards
/// ... | head`) is a normal end, not an error.
pub(crate) fn stdout(pieces: &[&str]) -> ExitCode {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let result = pieces
        .iter()
        .try_for_each(|p| out.write_all(p.as_bytes()))
        .and_then(|()| out.flush());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write to stdout: {e}");
            ExitCode::from(1)
        }
    }
}

fn explain(code: &str) -> ExitCode {
    let wanted = code.trim().to_ascii_uppercase();
    let wanted = if wanted.starts_with('E') {
        wanted
    } else {
        format!("E{wanted:0>4}")
    };
    match Code::ALL.iter().find(|c| c.as_str() == wanted) {
        Some(c) => stdout(&[c.explanation()]),
        None => {
            eprintln!(
                "error: no diagnostic code `{code}`; codes run from E0001 to E0801 (see docs/errors/)"
            );
            ExitCode::from(2)
        }
    }
}
