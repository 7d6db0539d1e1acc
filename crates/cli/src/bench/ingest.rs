//! Ingest throughput: publish N messages to a private exchange and time publish → committed
//! row through Herald's pipeline, and publish → ack through a bare lapin consumer that does
//! no work, in the same run on the same broker. With `--notify`, every message Herald stores
//! is also marked notify and offered to the notification server on the session bus (each its
//! own notification), to measure what a slow or hung server costs ingestion: nothing, as the
//! notification stage is never waited on.

use super::{memory_mb, synthetic};
use crate::Env;
use anyhow::Context as _;
use futures_util::StreamExt;
use herald_core::config::{BindingSpec, Config, ExchangeSpec, QueueSpec};
use herald_core::filter::{Action, Conditions, RuleSpec};
use herald_core::history::HistoryStore;
use herald_core::notify::{Freedesktop, Notifier};
use herald_core::pipeline::{Pipeline, PipelineEvent, PipelineOptions};
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties, ExchangeKind};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    /// How many messages to publish per measurement.
    #[arg(long, default_value_t = 50_000)]
    messages: usize,
    /// Broker to use (a local one: the benchmark publishes to a private exchange).
    #[arg(
        long,
        env = "HERALD_BENCH_AMQP_URL",
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
    )]
    url: String,
    /// Prefetch window for both consumers.
    #[arg(long, default_value_t = 2000)]
    prefetch: u16,
    /// Messages per history transaction (default: the config's `batch_size`).
    #[arg(long)]
    batch: Option<usize>,
    /// Publish everything first, then start consuming (a backlog drain), instead of
    /// consuming while publishing.
    #[arg(long)]
    backlog: bool,
    /// Mark every message notify and show each on the session bus's notification server
    /// (fails if there is none).
    #[arg(long)]
    notify: bool,
}

pub async fn run(env: Env, args: &IngestArgs) -> anyhow::Result<ExitCode> {
    let n = args.messages;
    let conn = Connection::connect(&args.url, ConnectionProperties::default())
        .await
        .context("cannot connect to the benchmark broker")?;
    let (ex, q_bare, q_herald) = {
        let id = uuid::Uuid::new_v4().simple().to_string();
        (
            format!("herald-bench-{id}"),
            format!("herald-bench-bare-{id}"),
            format!("herald-bench-store-{id}"),
        )
    };
    let ch = conn.create_channel().await?;
    let pub_ch = conn.create_channel().await?;
    ch.exchange_declare(
        ex.as_str().into(),
        ExchangeKind::Topic,
        ExchangeDeclareOptions {
            auto_delete: false,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await?;

    // Bare drain: a consumer that acks and does nothing else.
    declare_queue(&ch, &q_bare, &ex).await?;
    let bare_rate = {
        let cch = conn.create_channel().await?;
        cch.basic_qos(args.prefetch, BasicQosOptions::default())
            .await?;
        let mut consumer = cch
            .basic_consume(
                q_bare.as_str().into(),
                "bare".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        if args.backlog {
            publish(&pub_ch, &ex, n).await?;
        }
        let start = Instant::now();
        let publisher = (!args.backlog).then(|| {
            let pch = pub_ch.clone();
            let ex2 = ex.clone();
            tokio::spawn(async move { publish(&pch, &ex2, n).await })
        });
        let mut got = 0usize;
        while got < n {
            let d = consumer.next().await.context("bare consumer ended")??;
            got += 1;
            if got % 100 == 0 || got == n {
                d.acker.ack(BasicAckOptions { multiple: true }).await?;
            }
        }
        let secs = start.elapsed().as_secs_f64();
        if let Some(p) = publisher {
            p.await??;
        }
        n as f64 / secs
    };
    let (peak_before, _) = memory_mb();

    // Herald: the real pipeline into a fresh database.
    declare_queue(&ch, &q_herald, &ex).await?;
    let dir = tempfile::tempdir()?;
    let mut cfg = Config::fedora_public();
    let conn = cfg.primary_mut();
    conn.amqp_url = args.url.clone();
    conn.tls = Default::default();
    conn.fedora_public_profile = false;
    conn.exchanges = [(
        ex.clone(),
        ExchangeSpec {
            kind: "topic".into(),
            durable: false,
            auto_delete: false,
            arguments: Default::default(),
        },
    )]
    .into();
    conn.queues = [(
        q_herald.clone(),
        QueueSpec {
            durable: false,
            auto_delete: true,
            exclusive: false,
            arguments: Default::default(),
        },
    )]
    .into();
    conn.bindings = vec![BindingSpec {
        queue: q_herald.clone(),
        exchange: ex.clone(),
        routing_keys: vec!["#".into()],
        arguments: Default::default(),
    }];
    conn.qos.prefetch_count = args.prefetch;
    if let Some(b) = args.batch {
        cfg.herald.batch_size = b.max(1);
    }
    let notifier = if args.notify {
        cfg.herald.rules.push(RuleSpec::new(
            "everything".to_owned(),
            Action::Notify,
            Conditions {
                topics: vec!["#".into()],
                ..Conditions::default()
            },
        ));
        cfg.herald.notifications.digest_window_secs = 0;
        cfg.herald.notifications.rate_limit_per_minute = 0;
        let notifier = tokio::task::spawn_blocking(|| Freedesktop::connect(None))
            .await?
            .context("--notify needs a notification server on the session bus")?;
        let server = notifier.server();
        println!(
            "notification server:       {} {}",
            server.name, server.version
        );
        Some(Arc::new(notifier) as Arc<dyn Notifier>)
    } else {
        None
    };
    let store = HistoryStore::open(&dir.path().join("bench.db"), &cfg.render_context()).await?;
    if args.backlog {
        publish(&pub_ch, &ex, n).await?;
    }
    let handle = Pipeline::start(
        cfg,
        store.clone(),
        PipelineOptions {
            notifier,
            ..PipelineOptions::default()
        },
    );
    let mut events = handle.subscribe();
    loop {
        match events.recv().await? {
            PipelineEvent::Connected { .. } => break,
            PipelineEvent::Disconnected { error, .. } => {
                anyhow::bail!("pipeline cannot connect: {error}")
            }
            _ => {}
        }
    }
    let start = Instant::now();
    let publisher = (!args.backlog).then(|| {
        let pch = pub_ch.clone();
        let ex2 = ex.clone();
        tokio::spawn(async move { publish(&pch, &ex2, n).await })
    });
    let mut stored = 0usize;
    let mut rss_during: f64 = 0.0;
    while stored < n {
        match tokio::time::timeout(Duration::from_secs(60), events.recv()).await {
            Ok(Ok(PipelineEvent::Committed(r))) => {
                stored += r.total();
                rss_during = rss_during.max(memory_mb().1);
            }
            Ok(Ok(_)) => {}
            Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(e)) => anyhow::bail!("pipeline stopped: {e}"),
            Err(_) => anyhow::bail!("no progress for 60 s after {stored} of {n} messages"),
        }
    }
    let herald_secs = start.elapsed().as_secs_f64();
    if let Some(p) = publisher {
        p.await??;
    }
    handle.shutdown();
    handle.wait().await?;
    ch.exchange_delete(ex.as_str().into(), Default::default())
        .await?;
    let rows = store.stats(1).await?.messages;
    let searchable = store
        .search(&herald_core::history::SearchQuery {
            text: Some("koji".into()),
            limit: 1,
            ..Default::default()
        })
        .await?
        .len();
    let herald_rate = n as f64 / herald_secs;
    let (peak, rss) = memory_mb();
    println!(
        "messages per run:          {n} ({} mode, prefetch {})",
        if args.backlog { "backlog" } else { "live" },
        args.prefetch
    );
    println!("bare lapin drain:          {bare_rate:>9.0} msg/s");
    println!(
        "herald publish → row:      {herald_rate:>9.0} msg/s ({:.0}% of bare)",
        100.0 * herald_rate / bare_rate
    );
    println!(
        "rows stored:               {rows} (searchable: {})",
        searchable > 0
    );
    if args.notify {
        let stats = store.stats(20).await?;
        let fates: Vec<String> = stats
            .by_notification
            .iter()
            .map(|c| format!("{} {}", c.count, c.name))
            .collect();
        println!("notification fates:        {}", fates.join(", "));
    }
    println!("RSS max while ingesting:   {rss_during:.1} MB (now {rss:.1} MB; process peak {peak:.1} MB, {peak_before:.1} MB before the Herald run)");
    let _ = env;
    anyhow::ensure!(rows as usize == n, "expected {n} rows, found {rows}");
    Ok(ExitCode::SUCCESS)
}

async fn declare_queue(ch: &lapin::Channel, q: &str, ex: &str) -> anyhow::Result<()> {
    ch.queue_declare(
        q.into(),
        QueueDeclareOptions {
            auto_delete: true,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await?;
    ch.queue_bind(
        q.into(),
        ex.into(),
        "#".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await?;
    Ok(())
}

async fn publish(ch: &lapin::Channel, exchange: &str, n: usize) -> anyhow::Result<()> {
    for i in 0..n {
        let env = synthetic::envelope(i);
        ch.basic_publish(
            exchange.into(),
            env.routing_key.as_str().into(),
            BasicPublishOptions::default(),
            &env.body,
            env.properties.to_amqp(env.headers),
        )
        .await?;
    }
    Ok(())
}
