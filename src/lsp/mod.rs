//! `vcp lsp`: a language server over stdio, for any editor that speaks the
//! Language Server Protocol. It reuses the checker (through an overlay
//! loader: open documents from memory, other files from disk), the field
//! table, the language reference, the naming functions of `ir::Pipeline`,
//! the shard rules and `vcp fmt`; it re-implements none of them. This is an
//! edge module: it reads files and talks on stdin/stdout.
//!
//! One file per concern: the transport (`transport.rs`), the loop
//! (`server.rs`), documents and their checks (`workspace.rs`,
//! `analysis.rs`), then one file per feature.

mod actions;
mod analysis;
mod completion;
mod diagnostics;
mod hover;
mod index;
mod lex;
mod navigate;
mod reference;
mod server;
mod symbols;
#[cfg(test)]
mod tests;
mod text;
mod tokens;
mod transport;
mod tree;
mod workspace;

use lsp_server::Connection;
use std::path::PathBuf;
use std::process::ExitCode;

/// Serves a client on stdin/stdout until it sends `exit`.
pub fn main() -> ExitCode {
    let (conn, writer) = transport::stdio();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let clean = server::serve(&conn, cwd);
    // Every reply written before the process ends.
    drop(conn);
    let _ = writer.join();
    if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Serves a client over an in-memory connection (tests): returns whether
/// it shut down cleanly.
pub fn serve(conn: &Connection, root: PathBuf) -> bool {
    server::serve(conn, root)
}
