//! The one integration-test binary (one link, one process, as just and nickel do).

mod architecture;
mod cli;
mod cluster;
mod common;
mod docs;
mod error_pages;
mod examples;
mod fmt;
mod hostile;
mod kubelet;
mod kustomize;
mod lsp;
mod lsp_grammar;
mod lsp_nvim;
mod output;
mod parser_agreement;
mod reduce;
mod repository;
mod robustness;
mod run;
mod run_faults;
mod shard_agreement;
mod terminal;
mod ui;
mod validate;
