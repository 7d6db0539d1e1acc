//! `herald run`: the pipeline in the foreground, stopped cleanly by SIGINT or SIGTERM.

use crate::Env;
use herald_core::pipeline::{Pipeline, PipelineEvent, PipelineOptions};
use std::process::ExitCode;
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Exit after SECS seconds without a message (for scripts and tests).
    #[arg(long, value_name = "SECS")]
    until_idle: Option<f64>,
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
    let handle = Pipeline::start(
        env.config,
        store,
        PipelineOptions {
            until_idle,
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
    let result = handle.wait().await;
    let _ = printer.await;
    let report = result?;
    eprintln!(
        "herald: stored {}, quarantined {}, already known {}",
        report.totals.stored, report.totals.quarantined, report.totals.duplicates
    );
    Ok(ExitCode::SUCCESS)
}

fn print_event(e: &PipelineEvent, verbose: u8) {
    match e {
        PipelineEvent::Connected { url, queues } => {
            eprintln!("herald: connected to {url} (queues: {})", queues.join(", "))
        }
        PipelineEvent::Disconnected { error, retry_in } => {
            eprintln!(
                "herald: {error}; retrying in {:.1}s",
                retry_in.as_secs_f64()
            )
        }
        PipelineEvent::StoreFailed { error } => {
            eprintln!("herald: cannot write to the history: {error}; nothing was acknowledged")
        }
        PipelineEvent::Stored {
            topic,
            source,
            severity,
            summary,
            ..
        } if verbose > 0 => eprintln!("{severity} {source:<15} {topic}  {summary}"),
        PipelineEvent::Quarantined { id, topic, reason } if verbose > 0 => {
            eprintln!("quarantined {id} {topic}: {reason}")
        }
        _ => {}
    }
}
