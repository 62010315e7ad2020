//! The one integration-test binary (one link, one process, as just and nickel do).

mod architecture;
mod cli;
mod cluster;
mod common;
mod examples;
mod fmt;
mod hostile;
mod kubelet;
mod kustomize;
mod output;
mod parser_agreement;
mod reduce;
mod repository;
mod robustness;
mod run;
mod shard_agreement;
mod terminal;
mod ui;
mod validate;
