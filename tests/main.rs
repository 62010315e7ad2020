//! The one integration-test binary (one link, one process, as just and nickel do).

mod shard_agreement;
mod validate;
