//! `herald run`: the pipeline in the foreground, stopped cleanly by SIGINT or SIGTERM. The
//! config is re-read on SIGHUP and when the file changes; new rules apply without a restart.
//! With `-v`, what the bus sent (topics, summaries, ids, error texts) is printed through
//! [`crate::terminal::escape`], so a message cannot drive the terminal.

use crate::terminal::escape;
use crate::Env;
use herald_core::notify::{Freedesktop, Notifier};
use herald_core::pipeline::{ConfigChange, Pipeline, PipelineEvent, PipelineOptions, Reloader};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Exit after SECS seconds without a message (for scripts and tests).
    #[arg(long, value_name = "SECS")]
    until_idle: Option<f64>,

    /// Do not raise desktop notifications (messages rules mark `notify` are still stored).
    #[arg(long)]
    no_notify: bool,
}

pub async fn run(env: Env, args: &RunArgs) -> anyhow::Result<ExitCode> {
    let store = env.open_store().await?;
    let until_idle = match args.until_idle {
        Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
        Some(_) => {
            return Err(
                crate::UsageError("--until-idle needs a positive number of seconds".into()).into(),
            )
        }
        None => None,
    };
    eprintln!(
        "herald: storing messages from {} in {}",
        env.config.redacted_url(),
        env.db.display()
    );
    let config_path = env.config_path.clone();
    let notifier = if args.no_notify {
        None
    } else {
        match Freedesktop::connect(None) {
            Ok(n) => Some(Arc::new(n) as Arc<dyn Notifier>),
            Err(e) => {
                eprintln!("herald: {e}; notifications are off, messages are still stored");
                None
            }
        }
    };
    let handle = Pipeline::start(
        env.config,
        store,
        PipelineOptions {
            until_idle,
            notifier,
            config_path: config_path.clone(),
            local_offset: crate::LOCAL_OFFSET
                .get()
                .copied()
                .unwrap_or(time::UtcOffset::UTC),
            ..PipelineOptions::default()
        },
    );
    let mut events = handle.subscribe();
    let verbose = env.verbose;
    let printer = tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(e) => print_event(&e, verbose),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    if verbose > 0 {
                        eprintln!("… {n} events not shown (output too slow)");
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    let cancel = handle.cancel_token();
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        eprintln!("herald: stopping — finishing the batch in flight");
        cancel.cancel();
    });
    let watcher = tokio::spawn(watch_config(config_path, handle.reloader()));
    let result = handle.wait().await;
    watcher.abort();
    let _ = printer.await;
    let report = result?;
    eprintln!(
        "herald: stored {}, quarantined {}, already known {}, dropped by rules {}",
        report.totals.stored, report.totals.quarantined, report.totals.duplicates, report.dropped
    );
    Ok(ExitCode::SUCCESS)
}

/// Follows the config file (see [`herald_core::pipeline::watch_config`]) and says on stderr
/// what came of each change.
async fn watch_config(path: Option<PathBuf>, reloader: Reloader) {
    let Some(path) = path else { return };
    herald_core::pipeline::watch_config(path, reloader, |path, change| match change {
        ConfigChange::Applied => eprintln!("herald: config {} re-read; applying", path.display()),
        ConfigChange::Gone => eprintln!(
            "herald: config {} is gone; keeping the settings in force",
            path.display()
        ),
        ConfigChange::Rejected(e) => eprintln!(
            "herald: config {} not applied: {}",
            path.display(),
            escape(&herald_core::pipeline::error_chain(&e))
        ),
    })
    .await;
}

fn print_event(e: &PipelineEvent, verbose: u8) {
    match e {
        PipelineEvent::Connected {
            connection,
            url,
            queues,
        } => {
            eprintln!(
                "herald: [{connection}] connected to {url} (queues: {})",
                escape(&queues.join(", "))
            )
        }
        PipelineEvent::Bound {
            connection,
            rules,
            bindings,
            server_side_headers,
        } => eprintln!(
            "herald: [{connection}] {rules} rules, {bindings} bindings{}",
            if *server_side_headers {
                ""
            } else {
                " (header filters client-side)"
            }
        ),
        PipelineEvent::Disconnected {
            connection,
            error,
            retry_in,
        } => {
            eprintln!(
                "herald: [{connection}] {}; retrying in {:.1}s",
                escape(error),
                retry_in.as_secs_f64()
            )
        }
        PipelineEvent::Notified { summary, messages } if verbose > 0 => {
            eprintln!("notified: {} ({messages} messages)", escape(summary))
        }
        PipelineEvent::PackageNotice { summary, .. } if verbose > 0 => {
            eprintln!("package: {}", escape(summary))
        }
        PipelineEvent::NotifyFailed { error } => {
            eprintln!("herald: notification failed: {}", escape(error))
        }
        PipelineEvent::ReloadFailed { connection, error } => {
            eprintln!(
                "herald: [{connection}] new rules not applied: {}",
                escape(error)
            )
        }
        PipelineEvent::StoreFailed { error } => {
            eprintln!("herald: cannot write to the history: {}", escape(error))
        }
        PipelineEvent::Stored {
            topic,
            source,
            severity,
            summary,
            action,
            rule,
            ..
        } if verbose > 0 => eprintln!(
            "{severity} {:<15} {}  {}  [{action}{}]",
            escape(source),
            escape(topic),
            escape(summary),
            by(rule.as_deref())
        ),
        PipelineEvent::Dropped { id, topic, rule } if verbose > 1 => eprintln!(
            "dropped {} {}{}",
            escape(id),
            escape(topic),
            by(rule.as_deref())
        ),
        PipelineEvent::QueuesChecked {
            connection,
            absence: Some(absence),
            kept,
            waiting,
        } => eprintln!(
            "herald: [{connection}] {}: {}",
            absence.describe(),
            if *kept {
                format!("the queue kept what arrived meanwhile ({waiting} waiting)")
            } else {
                "the queue did not survive".to_owned()
            }
        ),
        PipelineEvent::GapFound {
            connection,
            start,
            end,
            reason,
            waits,
        } => eprintln!(
            "herald: [{connection}] messages missed {} – {} ({}); {}",
            crate::timearg::show(*start),
            crate::timearg::show(*end),
            escape(reason),
            if *waits && reason.ends_with("no archive records this broker") {
                "not filled".to_owned()
            } else if *waits {
                "not filled by itself: run `herald backfill`".to_owned()
            } else {
                "filling from the archive".to_owned()
            }
        ),
        PipelineEvent::CatchingUp {
            connection,
            counts,
            total,
            done: true,
            ..
        } => eprintln!(
            "herald: [{connection}] caught up: {} fetched{}, {} stored, {} already known, {} dropped by rules",
            counts.fetched,
            total.map(|t| format!(" of {t}")).unwrap_or_default(),
            counts.stored,
            counts.known,
            counts.dropped
        ),
        PipelineEvent::CatchingUp {
            connection,
            counts,
            total,
            done: false,
            ..
        } if verbose > 0 => eprintln!(
            "herald: [{connection}] catching up {}{}",
            counts.fetched,
            total.map(|t| format!(" / {t}")).unwrap_or_default()
        ),
        PipelineEvent::CatchUpStalled {
            connection,
            error,
            retry_in,
        } => eprintln!(
            "herald: [{connection}] catch-up paused: {}; resuming in {} s",
            escape(error),
            retry_in.as_secs()
        ),
        PipelineEvent::Quarantined { id, topic, reason } if verbose > 0 => eprintln!(
            "quarantined {} {}: {}",
            escape(id),
            escape(topic),
            escape(reason)
        ),
        _ => {}
    }
}

/// ` by RULE` for the rule that decided, if one did.
fn by(rule: Option<&str>) -> String {
    rule.map(|r| format!(" by {}", escape(r)))
        .unwrap_or_default()
}
