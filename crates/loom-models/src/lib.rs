//! Nothing to use: this package holds the loom model checks of the
//! simulator's hand-made queues (`tests/loom.rs`), run with
//!
//! ```sh
//! RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test --release -p loom-models
//! ```
