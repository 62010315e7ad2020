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
mod local_items;
pub mod output;
pub mod render;
pub mod report;
mod run;
mod shards;
pub mod survey;
mod term;

pub use inputs::{FsLoader, display_name};
pub(crate) use inputs::{compile_inputs, parse_sets, vcp_files_below};

use crate::diag::Code;
use crate::emit::{self, Keep};
use args::{Cli, Command};
use clap::{CommandFactory, Parser};
use report::DiagnosticPrinter;
use std::io::Write;
use std::path::Path;
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
    let style = term::stderr_style(cli.color);
    let printer = DiagnosticPrinter {
        format: cli.message_format,
        style,
    };
    match cli.command {
        Command::Check { files, sets } => {
            let (code, compiled) = compile_inputs(&files, &sets, printer, Keep::Problems);
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
            if check && output.as_os_str() == "-" {
                eprintln!(
                    "error: `--check` compares an output directory with the build; `-o -` writes to stdout, which there is nothing to compare with\n\nhelp: name the directory to check: `vcp build --check FILES -o DIR`"
                );
                return ExitCode::from(2);
            }
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
            mounts,
        } => shards::show(
            shards::Args {
                file,
                stage,
                pipeline,
                worker,
                sets,
                mounts,
            },
            printer,
        ),
        Command::Explain { code } => explain(&code),
        Command::Fmt { paths, check } => fmt::format_files_styled(&paths, check, style),
        Command::Completions { shell } => {
            // Generated in memory: clap_complete panics when its writer fails.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "vcp", &mut script);
            stdout_bytes(&[&script])
        }
        Command::Man { dir } => man(dir.as_deref()),
        Command::Lsp { stdio: _ } => crate::lsp::main(),
        Command::Run {
            file,
            pipeline,
            stage,
            sets,
            mounts,
            max_procs,
            follow,
            resume,
            timeout,
            log_limit,
            list,
            delete,
            prune,
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
                timeout,
                log_limit,
                list,
                delete,
                prune,
            },
            printer,
        ),
        Command::Supervise {
            log,
            lock,
            log_limit,
            program,
        } => crate::run::supervise::main(crate::run::supervise::SuperviseArgs {
            log,
            lock,
            log_limit,
            program,
        }),
    }
}

/// Writes a command's result to stdout, piece by piece: the manifests of a
/// large build are never joined into one string. A closed pipe (`vcp shards
/// ... | head`) is a normal end, not an error.
pub(crate) fn stdout(pieces: &[&str]) -> ExitCode {
    let bytes: Vec<&[u8]> = pieces.iter().map(|p| p.as_bytes()).collect();
    stdout_bytes(&bytes)
}

/// [`stdout`] for bytes. Every command that writes to stdout goes through
/// here (or ignores write errors), so that a reader that went away ends vcp
/// quietly with 0, and never with a panic or an error message.
pub(crate) fn stdout_bytes(pieces: &[&[u8]]) -> ExitCode {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let result = pieces
        .iter()
        .try_for_each(|p| out.write_all(p))
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

/// `vcp man`: the page of `vcp` on stdout; `vcp man DIR`: that page and one
/// per subcommand (`vcp-build.1`, ...), the pages vcp.1 refers to, in DIR.
fn man(dir: Option<&Path>) -> ExitCode {
    let mut cli = Cli::command().disable_help_subcommand(true);
    // Gives subcommands their display names (`vcp-build`), as in the pages'
    // titles and vcp.1's references.
    cli.build();
    let render = |cmd: clap::Command| {
        let man = clap_mangen::Man::new(cmd);
        let mut page = Vec::new();
        man.render(&mut page).map(|()| (man.get_filename(), page))
    };
    let Some(dir) = dir else {
        return match render(cli) {
            Ok((_, page)) => stdout_bytes(&[&page]),
            Err(e) => {
                eprintln!("error: cannot render the man page: {e}");
                ExitCode::from(1)
            }
        };
    };
    let pages: std::io::Result<Vec<(String, Vec<u8>)>> = std::iter::once(cli.clone())
        .chain(cli.get_subcommands().filter(|c| !c.is_hide_set()).cloned())
        .map(render)
        .collect();
    let written = pages.and_then(|pages| {
        std::fs::create_dir_all(dir)?;
        for (name, page) in &pages {
            // Beside it, then renamed: a reader never sees half a page.
            let tmp = dir.join(format!(".{name}.vcp-tmp"));
            std::fs::write(&tmp, page)?;
            std::fs::rename(&tmp, dir.join(name))?;
        }
        Ok(pages.len())
    });
    match written {
        Ok(n) => {
            eprintln!("wrote {n} man pages to {}", dir.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "error: cannot write the man pages to {}: {e}",
                dir.display()
            );
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
            let first = Code::ALL.first().map_or("", |c| c.as_str());
            let last = Code::ALL.last().map_or("", |c| c.as_str());
            eprintln!(
                "error: no diagnostic code `{code}`; codes run from {first} to {last} (see docs/errors/)"
            );
            ExitCode::from(2)
        }
    }
}
