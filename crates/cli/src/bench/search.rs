//! Search latency over a large history: text, user and package queries, p50 and p95.

use super::{percentile, synthetic};
use crate::Env;
use herald_core::history::{Entry, HistoryStore, SearchQuery};
use herald_core::message::Message;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct SearchBenchArgs {
    /// Rows in the history to search.
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    /// Queries of each kind.
    #[arg(long, default_value_t = 200)]
    queries: usize,
    /// Results per query (a page of the history window).
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Keep the built database here and reuse it when it already has the rows.
    #[arg(long, value_name = "FILE")]
    keep: Option<PathBuf>,
}

/// Builds the i-th query of one kind.
type QueryMaker = fn(usize) -> SearchQuery;

pub async fn run(env: Env, args: &SearchBenchArgs) -> anyhow::Result<ExitCode> {
    let dir = tempfile::tempdir()?;
    let path = args
        .keep
        .clone()
        .unwrap_or_else(|| dir.path().join("search-bench.db"));
    let ctx = env.config.render_context();
    let store = HistoryStore::open(&path, &ctx).await?;
    let have = store.stats(1).await?.messages as usize;
    if have < args.rows {
        let start = Instant::now();
        let mut batch = Vec::with_capacity(500);
        let (mut t_prepare, mut t_insert) = (0.0, 0.0);
        for i in have..args.rows {
            let t = Instant::now();
            batch.push(Entry::new(Message::decode(synthetic::envelope(i)), &ctx));
            t_prepare += t.elapsed().as_secs_f64();
            if batch.len() == 500 || i + 1 == args.rows {
                let t = Instant::now();
                store.insert_batch(&batch).await?;
                t_insert += t.elapsed().as_secs_f64();
                batch.clear();
            }
        }
        let per = |t: f64| t / (args.rows - have) as f64 * 1e6;
        println!(
            "per row: {:.1} µs generate + decode + render, {:.1} µs write (batches of 500)",
            per(t_prepare),
            per(t_insert)
        );
        let secs = start.elapsed().as_secs_f64();
        println!(
            "built {} rows in {secs:.1} s ({:.0} rows/s, direct insert)",
            args.rows - have,
            (args.rows - have) as f64 / secs
        );
    }
    let stats = store.stats(1).await?;
    println!(
        "history: {} rows, {:.0} MB",
        stats.messages,
        stats.database_bytes as f64 / 1e6
    );
    let kinds: [(&str, QueryMaker); 3] = [
        ("text", |i| SearchQuery {
            text: Some(synthetic::name(i * 31, synthetic::PACKAGES, "")),
            ..Default::default()
        }),
        ("user", |i| SearchQuery {
            user: Some(synthetic::name(i * 17, synthetic::USERS, "u")),
            ..Default::default()
        }),
        ("package", |i| SearchQuery {
            package: Some(synthetic::name(i * 13, synthetic::PACKAGES, "")),
            ..Default::default()
        }),
    ];
    for (label, make) in kinds {
        let mut times = Vec::with_capacity(args.queries);
        let mut found = 0usize;
        for i in 0..args.queries {
            let mut q = make(i);
            q.limit = args.limit;
            let t = Instant::now();
            found += store.search(&q).await?.len();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{label:<8} p50 {:>7.2} ms   p95 {:>7.2} ms   max {:>7.2} ms   ({} results over {} queries)",
            percentile(&times, 0.5),
            percentile(&times, 0.95),
            times.last().copied().unwrap_or(0.0),
            found,
            args.queries
        );
    }
    Ok(ExitCode::SUCCESS)
}
