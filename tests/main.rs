//! The one integration-test binary (one link, one process, as just and nickel do).

mod architecture;
mod cli;
mod common;
mod examples;
mod fmt;
mod hostile;
mod kubelet;
mod output;
mod parser_agreement;
mod quoting;
mod reduce;
mod repository;
mod robustness;
mod run;
mod shard_agreement;
mod ui;
mod validate;
