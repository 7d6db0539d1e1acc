//! `herald bench`: throughput and latency measured on this machine, against the real broker
//! and a real database. Run by hand; the figures go into release notes, not into CI.

use crate::Env;
use std::process::ExitCode;

mod chain;
mod ingest;
mod packages;
mod search;
mod synthetic;

#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Publish N bus-shaped messages and measure publish → committed, searchable row, beside a
    /// bare lapin drain of the same messages on the same broker.
    Ingest(ingest::IngestArgs),
    /// Build an N-row history and measure text, user and package query latency.
    Search(search::SearchBenchArgs),
    /// Build an N-row history of package chains and measure `herald packages` for the watched
    /// packages, and what keeping the package model adds to each stored message.
    Packages(packages::PackagesBenchArgs),
}

pub async fn bench(env: Env, cmd: &BenchCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BenchCommand::Ingest(a) => ingest::run(env, a).await,
        BenchCommand::Search(a) => search::run(env, a).await,
        BenchCommand::Packages(a) => packages::run(env, a).await,
    }
}

/// Peak and current resident memory of this process, in MB (Linux).
pub fn memory_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}
