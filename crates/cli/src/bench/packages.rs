//! The package model's costs over a large history: reading the summaries of the watched
//! packages (in this process, and as a fresh `herald packages --json` process, which is
//! what a script or the tray's first look pays), and what keeping the model adds to each
//! stored message on the ingest path.
//!
//! The ingest cost is measured as a difference on the real write path: the same rendered
//! rows are written with `insert_batch` twice — once as they are, once with their topic moved
//! under a prefix no chain stage knows, so the model skips them — alternating, into the same
//! history. What remains in both is the row and its FTS entry, so the difference is the
//! model's share of the write path: queueing the rows that concern packages. The fold that
//! follows the batch (off the ingest path: decoding the queued rows again, extracting
//! events, inserting them, loading, folding and saving package states) is timed on its own
//! after each batch, and reported per stored message too.

use super::{chain, percentile, synthetic};
use crate::Env;
use anyhow::Context as _;
use herald_core::history::{Entry, HistoryStore};
use herald_core::message::Message;
use herald_core::packages::Selection;
use herald_core::sources::RenderContext;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;
use time::OffsetDateTime;

#[derive(Debug, clap::Args)]
pub struct PackagesBenchArgs {
    /// Rows in the history.
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    /// Watched packages (`[herald.profile] packages`), out of the history's 5,000.
    #[arg(long, default_value_t = 500)]
    packages: usize,
    /// Repeats of each read measurement.
    #[arg(long, default_value_t = 50)]
    repeats: usize,
    /// Batch pairs written for the ingest measurement.
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    /// Messages per batch (default: the config's `batch_size`).
    #[arg(long)]
    batch: Option<usize>,
    /// Keep the built database here and reuse it when it already has the rows.
    #[arg(long, value_name = "FILE")]
    keep: Option<PathBuf>,
}

pub async fn run(env: Env, args: &PackagesBenchArgs) -> anyhow::Result<ExitCode> {
    let dir = tempfile::tempdir()?;
    let path = args
        .keep
        .clone()
        .unwrap_or_else(|| dir.path().join("packages-bench.db"));
    let ctx = env.config.render_context();
    let start = Instant::now();
    let store = HistoryStore::open(&path, &ctx).await?;
    println!(
        "opened {} in {:.1} s (a stale package model is rebuilt on open)",
        path.display(),
        start.elapsed().as_secs_f64()
    );
    let have = store.stats(1).await?.messages as usize;
    let batch = args.batch.unwrap_or(env.config.herald.batch_size).max(1);
    if have < args.rows {
        build(&store, &ctx, have, args.rows, batch).await?;
    }
    let stats = store.stats(1).await?;
    println!(
        "history: {} rows, {:.0} MB; {:.0}% of the generated messages have chain topics",
        stats.messages,
        stats.database_bytes as f64 / 1e6,
        chain::CHAIN_SHARE * 100.0
    );
    let watched: Vec<String> = (0..args.packages)
        .map(|k| {
            synthetic::name(
                k * (synthetic::PACKAGES / args.packages.max(1)),
                synthetic::PACKAGES,
                "",
            )
        })
        .collect();
    read_in_process(&store, &watched, args.repeats).await?;
    read_in_a_process(&path, dir.path(), &watched, args.repeats.min(30))?;
    timeline(&store, &watched, args.repeats).await?;
    ingest(&store, &ctx, stats.messages as usize, batch, args.rounds).await?;
    Ok(ExitCode::SUCCESS)
}

async fn build(
    store: &HistoryStore,
    ctx: &RenderContext,
    from: usize,
    to: usize,
    batch: usize,
) -> anyhow::Result<()> {
    let start = Instant::now();
    let mut entries = Vec::with_capacity(batch);
    for i in from..to {
        entries.push(Entry::new(Message::decode(chain::envelope(i)), ctx));
        if entries.len() == batch || i + 1 == to {
            store.insert_batch(&entries).await?;
            // As the pipeline's chain stage does after each batch.
            store.catch_up_packages().await?;
            entries.clear();
        }
        if i % 100_000 == 99_999 {
            println!("  {} rows, {:.0} s", i + 1, start.elapsed().as_secs_f64());
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "built {} rows in {secs:.1} s ({:.0} rows/s: generate, decode, render, insert, fold into the model)",
        to - from,
        (to - from) as f64 / secs
    );
    Ok(())
}

fn line(label: &str, mut times: Vec<f64>, note: &str) {
    times.sort_by(f64::total_cmp);
    println!(
        "{label:<44} p50 {:>7.2} ms   p95 {:>7.2} ms   max {:>7.2} ms   {note}",
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        times.last().copied().unwrap_or(0.0),
    );
}

async fn read_in_process(
    store: &HistoryStore,
    watched: &[String],
    repeats: usize,
) -> anyhow::Result<()> {
    let sel = Selection {
        watched: watched.to_vec(),
        ..Selection::default()
    };
    let settle = herald_core::packages::DEFAULT_SETTLE;
    let mut times = Vec::with_capacity(repeats);
    let mut found = 0;
    let mut bytes = 0;
    for _ in 0..repeats {
        let t = Instant::now();
        let list = store
            .package_summaries(&sel, OffsetDateTime::now_utc(), settle)
            .await?;
        // What `--json` does with them, so the two figures compare.
        let mut out = Vec::with_capacity(list.len() * 600);
        for s in &list {
            serde_json::to_writer(&mut out, s)?;
            out.push(b'\n');
        }
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        found = list.len();
        bytes = out.len();
    }
    line(
        "package_summaries + JSON, in process",
        times,
        &format!("({found} packages, {bytes} bytes of JSON)"),
    );
    Ok(())
}

/// `herald packages --json` as a new process with the watched packages in its profile:
/// start, config, opening the history, the query, the output.
fn read_in_a_process(
    db: &Path,
    dir: &Path,
    watched: &[String],
    repeats: usize,
) -> anyhow::Result<()> {
    let config = dir.join("bench-config.toml");
    let names: Vec<String> = watched.iter().map(|n| format!("{n:?}")).collect();
    std::fs::write(
        &config,
        format!("[herald.profile]\npackages = [{}]\n", names.join(", ")),
    )?;
    let exe = std::env::current_exe().context("cannot find this herald binary")?;
    let mut times = Vec::with_capacity(repeats);
    let mut lines = 0;
    for _ in 0..repeats {
        let t = Instant::now();
        let out = Command::new(&exe)
            .arg("--config")
            .arg(&config)
            .arg("--db")
            .arg(db)
            .args(["packages", "--json"])
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .context("cannot run herald packages")?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(out.status.success(), "herald packages failed");
        lines = out.stdout.iter().filter(|b| **b == b'\n').count();
    }
    line(
        "herald packages --json, a fresh process",
        times,
        &format!(
            "({lines} lines, release build: {})",
            !cfg!(debug_assertions)
        ),
    );
    Ok(())
}

async fn timeline(store: &HistoryStore, watched: &[String], repeats: usize) -> anyhow::Result<()> {
    let mut times = Vec::with_capacity(repeats);
    let mut events = 0;
    for k in 0..repeats {
        let name = &watched[k % watched.len().max(1)];
        let t = Instant::now();
        events += store.package_timeline(name).await?.len();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    line(
        "package_timeline (one package)",
        times,
        &format!("({} events on average)", events / repeats.max(1)),
    );
    Ok(())
}

/// The same rows, their topics moved where no chain stage is.
fn inert(entries: &mut [Entry]) {
    for e in entries {
        if let Entry::Stored(s) = e {
            s.msg.topic = format!("org.herald.bench.inert.{}", s.msg.topic);
        }
    }
}

async fn ingest(
    store: &HistoryStore,
    ctx: &RenderContext,
    from: usize,
    batch: usize,
    rounds: usize,
) -> anyhow::Result<()> {
    println!(
        "\nmodel cost on ingest: insert_batch of {batch} messages into this history, {rounds} pairs, \
         the model on vs the same rows with topics it skips, alternating, each followed by its fold"
    );
    let mut next = from;
    for (label, make, share) in [
        (
            "mixed stream",
            chain::envelope as fn(usize) -> herald_core::Envelope,
            chain::CHAIN_SHARE,
        ),
        ("chain topics only", chain::chain_only, 1.0),
    ] {
        let (mut on, mut off, mut folds) = (Vec::new(), Vec::new(), Vec::new());
        let mut folded = 0;
        let mut extract = 0.0;
        for round in 0..rounds {
            let mut make_batch = || {
                let v: Vec<Entry> = (next..next + batch)
                    .map(|i| Entry::new(Message::decode(make(i)), ctx))
                    .collect();
                next += batch;
                v
            };
            let live = make_batch();
            let mut skipped = make_batch();
            inert(&mut skipped);
            // The pure part alone: what the model reads out of each message.
            let t = Instant::now();
            let mut n = 0;
            for e in &live {
                if let Entry::Stored(s) = e {
                    n += herald_core::packages::extract(s, Some(44)).events.len();
                }
            }
            extract += t.elapsed().as_secs_f64();
            std::hint::black_box(n);
            let order: [(&[Entry], bool); 2] = if round % 2 == 0 {
                [(&live, true), (&skipped, false)]
            } else {
                [(&skipped, false), (&live, true)]
            };
            for (entries, model) in order {
                let t = Instant::now();
                store.insert_batch(entries).await?;
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                let t = Instant::now();
                let n = store.catch_up_packages().await?;
                if model {
                    on.push(ms);
                    folds.push(t.elapsed().as_secs_f64() * 1000.0);
                    folded += n;
                } else {
                    off.push(ms);
                }
            }
        }
        on.sort_by(f64::total_cmp);
        off.sort_by(f64::total_cmp);
        folds.sort_by(f64::total_cmp);
        let (a, b) = (percentile(&on, 0.5), percentile(&off, 0.5));
        let per = (a - b) * 1000.0 / batch as f64;
        let fold = percentile(&folds, 0.5) * 1000.0 / batch as f64;
        println!(
            "  {label:<18} batch p50 {a:>7.2} ms with the model, {b:>7.2} ms without: \
             {per:>5.2} µs per stored message on the write path; \
             the fold after it {fold:>6.2} µs per stored message ({:.2} per chain message, \
             {folded} folded); extracting alone {:.2} µs per message",
            fold / share,
            extract * 1e6 / (rounds * batch) as f64
        );
    }
    Ok(())
}
