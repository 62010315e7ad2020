//! The one integration-test binary (one link, one process, as just and nickel do).

mod architecture;
mod cli;
mod common;
mod examples;
mod fmt;
mod hostile;
mod output;
mod parser_agreement;
mod repository;
mod robustness;
mod run;
mod shard_agreement;
mod sources;
mod ui;
mod validate;
mod writer;
