//! The Concurrency Queue Lab's tools for the learner — `cargo xtask watch`,
//! `hint` and `progress` — and what the maintainer's tools (the xtask crate)
//! share with them: where the lessons are ([`kit`]), building their tests
//! ([`compile`]), running one test under a hard limit ([`runner`], [`place`]),
//! reading libtest's verdict ([`libtest`]), a chapter's sections and hints
//! ([`chapter`]), warming the loom models ([`models`]), and the known
//! mistakes' signatures ([`signature`]) with the matcher that names the one a
//! learner's failures look like ([`matcher`], [`known`]). Written once here;
//! xtask depends on this crate.
//!
//! It is built with the learner's first `cargo xtask` command, so it keeps to
//! what lesson 01 builds anyway: serde, serde_json, anyhow and lesson-support.

pub mod break_it;
pub mod chapter;
pub mod cli;
pub mod compile;
pub mod handoff;
pub mod hint;
pub mod kit;
pub mod known;
pub mod libtest;
pub mod matcher;
pub mod models;
pub mod place;
pub mod progress;
pub mod runner;
pub mod signature;
pub mod term;
pub mod watch;
