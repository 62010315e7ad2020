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

pub mod diag;
pub mod source;
pub mod syntax;
pub mod ir;
