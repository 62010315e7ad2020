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
mod run_faults;
mod shard_agreement;
mod ui;
mod validate;
