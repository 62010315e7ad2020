//! vcp: a compiler for sharded batch pipelines.
//!
//! Data flows one way (see ARCHITECTURE.md):
//!
//! ```text
//! grammar/vcp.pest -> syntax (text -> AST) -> check (names, types, Volcano rules)
//!                  -> ir (the checked pipeline) -> emit (YAML, scripts)
//!                  -> run (local processes) / cli (files, rendering, exit codes)
//! ```
//!
//! `syntax`, `check`, `ir`, `shard` and `emit` do no IO: no filesystem, clock or
//! environment. Files reach the checker through the [`check::Loader`] trait.

pub mod check;
pub mod cli;
pub mod diag;
pub mod emit;
pub mod fmt;
pub mod ir;
pub mod lsp;
pub mod par;
pub mod shard;
pub mod source;
pub mod stdlib;
pub mod syntax;

/// Checks `roots` and, when there is no error, emits the build's files:
/// the whole compiler as one function.
pub fn compile(
    roots: &[String],
    loader: &mut dyn check::Loader,
    options: &check::Options,
) -> (check::Checked, Option<emit::Output>) {
    compile_keeping(roots, loader, options, emit::Keep::Everything)
}

/// [`compile`], keeping only what `keep` asks for of the output.
pub fn compile_keeping(
    roots: &[String],
    loader: &mut dyn check::Loader,
    options: &check::Options,
    keep: emit::Keep,
) -> (check::Checked, Option<emit::Output>) {
    let mut checked = check::check(roots, loader, options);
    let output = match checked.build.as_ref().map(|b| emit::emit_keeping(b, keep)) {
        Some(Ok(output)) => Some(output),
        Some(Err(diags)) => {
            checked.diagnostics.extend(diags);
            checked.build = None;
            None
        }
        None => None,
    };
    (checked, output)
}
pub mod run;
