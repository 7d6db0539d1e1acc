//! `herald backfill`: fills a window from the bus archive by hand, through the same decode →
//! rules → history path as live deliveries, with a progress bar and a final count. Without
//! `--since` it walks the gaps Herald saved and left for the user (too long to fill by
//! itself, or catch-up switched off), saving its place as it goes.

use crate::{Env, UsageError};
use anyhow::Context as _;
use herald_core::bus::topology;
use herald_core::catchup::{self, Archive, Counts, Filler, Job, Ledger};
use indicatif::{ProgressBar, ProgressStyle};
use std::process::ExitCode;
use std::time::Duration;
use time::OffsetDateTime;

#[derive(Debug, clap::Args)]
pub struct BackfillArgs {
    /// Start of the window: `2d`, `12h` (ago), `2024-05-02` or `2024-05-02T10:00:00Z`.
    /// Without it, the saved gaps are filled.
    #[arg(long)]
    since: Option<String>,
    /// End of the window (default: now).
    #[arg(long, requires = "since")]
    until: Option<String>,
    /// The archive's address (default: `[herald] datagrepper_url`).
    #[arg(long, value_name = "URL")]
    datagrepper: Option<String>,
    /// Count what would be stored; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// The connection whose rules decide (default: the first).
    #[arg(long)]
    connection: Option<String>,
    /// Least milliseconds between two archive requests (default: the config's, 1000).
    #[arg(long, value_name = "MS")]
    spacing_ms: Option<u64>,
}

pub async fn backfill(env: Env, args: &BackfillArgs) -> anyhow::Result<ExitCode> {
    let cfg = &env.config;
    let connection = match &args.connection {
        Some(c) if cfg.connections.iter().any(|x| &x.name == c) => c.clone(),
        Some(c) => return Err(UsageError(format!("no connection named {c:?}")).into()),
        None => cfg.primary().name.clone(),
    };
    let conn = cfg
        .connections
        .iter()
        .find(|c| c.name == connection)
        .context("connection vanished")?;
    let now = OffsetDateTime::now_utc();
    let store = env.open_store().await?;
    let ledger = Ledger::new(store.clone(), &connection);
    let mut jobs = match &args.since {
        Some(since) => {
            let start = crate::timearg::parse(since, now)?.unix_timestamp();
            let end = match &args.until {
                Some(u) => crate::timearg::parse(u, now)?.unix_timestamp(),
                None => now.unix_timestamp(),
            };
            if end < start {
                return Err(UsageError("--until is before --since".to_owned()).into());
            }
            vec![Job::new(start, end, "asked for by hand")]
        }
        None => {
            // Only what waits for the user: the running app walks the others (and their
            // later tails) itself.
            let saved: Vec<Job> = ledger
                .jobs()
                .await?
                .into_iter()
                .filter(|j| j.waits_for_user)
                .collect();
            if saved.is_empty() {
                eprintln!("herald: no saved gap to fill; give --since to fill a window");
                return Ok(ExitCode::SUCCESS);
            }
            saved
        }
    };
    let saved = args.since.is_none();
    let rules = cfg.rule_set(&connection)?;
    let plan = topology::plan(conn, &cfg.rules_for(&connection), cfg.unmatched(), false);
    let narrow = catchup::narrowing(&plan);
    let mut politeness = catchup::Politeness::from(&cfg.herald.catch_up_tuning);
    if let Some(ms) = args.spacing_ms {
        politeness.spacing = Duration::from_millis(ms);
    }
    let url = args
        .datagrepper
        .clone()
        .unwrap_or_else(|| cfg.herald.datagrepper_url.clone());
    let mut archive = Archive::new(&url, politeness).map_err(|e| UsageError(e.to_string()))?;
    let ctx = cfg.render_context();
    let mut filler = Filler {
        store: &store,
        archive: &mut archive,
        rules: &rules,
        ctx: &ctx,
        narrow,
        dry_run: args.dry_run,
        recent: Default::default(),
    };
    let mut total = Counts::default();
    let started = std::time::Instant::now();
    while !jobs.is_empty() {
        let mut job = jobs[0].clone();
        let bar = bar(&job);
        loop {
            let page = filler.next_page(&mut job).await;
            match page {
                Ok(Some(_)) => {
                    if let Some(t) = job.total {
                        bar.set_length(t.max(job.counts.fetched));
                    }
                    bar.set_position(job.counts.fetched);
                    if saved && !args.dry_run {
                        ledger.save_job(&job).await?;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    bar.abandon();
                    return Err(anyhow::Error::new(e).context(format!(
                        "the archive failed after {} messages{}",
                        job.counts.fetched,
                        if saved {
                            "; run again to go on from there"
                        } else {
                            ""
                        }
                    )));
                }
            }
        }
        bar.finish_and_clear();
        total.add(job.counts);
        jobs.remove(0);
        if saved && !args.dry_run {
            // As the app would: the archive's late arrivals are fetched again later.
            let delay = i64::try_from(cfg.herald.catch_up_tuning.tail_delay_s).unwrap_or(i64::MAX);
            let tail = job.tail(now.unix_timestamp().saturating_add(delay));
            ledger.finish_job(job.id, Some(tail)).await?;
        }
    }
    println!(
        "{}fetched {}, {} {}, already known {}, dropped by rules {} ({} requests, {:.1} s)",
        if args.dry_run { "dry run: " } else { "" },
        total.fetched,
        if args.dry_run {
            "would store"
        } else {
            "stored"
        },
        total.stored,
        total.known,
        total.dropped,
        archive.requests,
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// A bar over the messages the archive counts in the window (a spinner until it says), with
/// the time left at the rate so far; hidden when stderr is not a terminal.
fn bar(job: &Job) -> ProgressBar {
    let bar = ProgressBar::new(job.total.unwrap_or(0));
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} catching up {pos}/{len} messages [{bar:30}] {elapsed} elapsed, {eta} left",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
