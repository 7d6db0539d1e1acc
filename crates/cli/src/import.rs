//! `herald import`: recorded messages into the history, exactly as if they had arrived.

use crate::Env;
use anyhow::Context as _;
use herald_core::history::{Entry, InsertReport};
use herald_core::message::Message;
use herald_core::recorded;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// `fedora-messaging record` files (one JSON message per line), fixture files, or folders
    /// of fixture files.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

pub async fn import(env: Env, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let store = env.open_store().await?;
    let ctx = env.config.render_context();
    let mut paths = Vec::new();
    for f in &args.files {
        if f.is_dir() {
            paths.extend(recorded::fixture_paths(f)?);
        } else {
            paths.push(f.clone());
        }
    }
    let now = time::OffsetDateTime::now_utc();
    let mut total = InsertReport::default();
    let mut failed = 0usize;
    let mut batch = Vec::new();
    for path in &paths {
        let envelopes = match recorded::read_file(path, now) {
            Ok(e) => e,
            Err(e) => {
                // The error may quote the recorded message.
                let e = e.to_string();
                eprintln!(
                    "herald: skipped {}: {}",
                    path.display(),
                    crate::terminal::escape(&e)
                );
                failed += 1;
                continue;
            }
        };
        for env in envelopes {
            batch.push(Entry::new(Message::decode(env), &ctx));
            if batch.len() >= 500 {
                total.add(store.insert_batch(&batch).await.context("import failed")?);
                batch.clear();
            }
        }
    }
    total.add(store.insert_batch(&batch).await.context("import failed")?);
    println!(
        "imported {} new, {} quarantined, {} already known, from {} file(s){}",
        total.stored,
        total.quarantined,
        total.duplicates,
        paths.len() - failed,
        if failed > 0 {
            format!("; {failed} file(s) could not be read")
        } else {
            String::new()
        }
    );
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
