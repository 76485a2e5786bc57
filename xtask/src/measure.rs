//! The reference simulator as the tooling runs it: built in release mode,
//! run as a user runs it, its JSON report read through the simulator's own
//! report types (a renamed field is an error, never a silent zero); and how
//! `bench` prints what it measured.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};
use queue_sim::Report;
use serde::de::DeserializeOwned;

use crate::kit;

/// The release build of `queue-sim`.
pub(crate) struct Simulator(pub(crate) PathBuf);

impl Simulator {
    /// Runs the simulator with `args`; its report read as the library's
    /// [`Report`].
    pub(crate) fn run(&self, args: &[&str]) -> Result<Report> {
        self.run_as(args)
    }

    /// Runs the simulator with `args`; its report read as `R` (with
    /// `--broker`, a [`BrokerReport`](queue_sim::broker::BrokerReport)).
    pub(crate) fn run_as<R: DeserializeOwned>(&self, args: &[&str]) -> Result<R> {
        let output = Command::new(&self.0)
            .args(args)
            .arg("--no-progress")
            .output()
            .context("could not run the simulator")?;
        if !output.status.success() {
            bail!(
                "queue-sim {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        serde_json::from_slice(&output.stdout).with_context(|| {
            format!(
                "queue-sim {}: its report is not the JSON expected",
                args.join(" ")
            )
        })
    }

    /// The peak resident memory of one run with `args`.
    pub(crate) fn peak_rss_kib(&self, args: &[&str]) -> Result<u64> {
        let (_, kib) = host::peak_rss_kib(
            Command::new(&self.0)
                .args(args)
                .arg("--no-progress")
                .stdout(Stdio::null()),
        )
        .context("could not measure the simulator's peak memory")?;
        Ok(kib)
    }
}

pub(crate) fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

/// 3.20M, 415k, 1.98k, 980.
pub(crate) fn human(value: f64) -> String {
    if value >= 1e6 {
        format!("{:.2}M", value / 1e6)
    } else if value >= 1e4 {
        format!("{:.0}k", value / 1e3)
    } else if value >= 1e3 {
        format!("{:.2}k", value / 1e3)
    } else {
        format!("{value:.0}")
    }
}

/// The middle of `values` (the upper middle of an even count).
pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Builds `targets` (cargo's `--bin NAME`, `--example NAME` arguments) of
/// queue-sim in release mode; returns the folder the binaries are in.
pub fn build_release(root: &Path, targets: &[&str]) -> Result<PathBuf> {
    let built = Command::new(kit::cargo())
        .args(["build", "--release", "--quiet", "--package", "queue-sim"])
        .args(targets)
        .current_dir(root)
        .status()
        .context("could not run cargo")?;
    if !built.success() {
        bail!("the release build failed");
    }
    Ok(kit::target_dir(root)?.join("release"))
}
