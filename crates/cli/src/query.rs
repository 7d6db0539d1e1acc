//! `herald search`, `herald show` and `herald stats`: reading the history. Whatever a message
//! brought is printed through [`crate::terminal::escape`], except in `--json`.

use crate::terminal::{escape, escape_lines};
use crate::{timearg, Env, UsageError};
use herald_core::history::{Hit, RawParts, SearchQuery};
use serde_json::Value;
use std::borrow::Cow;
use std::io::Write as _;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// Words that must all appear (topic, summary, people, packages, body text).
    /// `"a phrase"` matches a phrase; `word*` a prefix.
    text: Vec<String>,
    /// Topic pattern with AMQP wildcards: `*` one word, `#` zero or more
    /// (e.g. `org.fedoraproject.prod.buildsys.#`).
    #[arg(long, value_name = "PATTERN")]
    topic: Option<String>,
    /// Only messages about this user (FAS name).
    #[arg(long, value_name = "USER")]
    user: Option<String>,
    /// Only messages about this package.
    #[arg(long, value_name = "PACKAGE")]
    package: Option<String>,
    /// Only this source: anitya, koji, koji-messagebus, pulp, bodhi, copr, …
    #[arg(long, value_name = "SOURCE")]
    source: Option<String>,
    /// Minimum severity: 10 debug, 20 info, 30 warning, 40 error.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=50))]
    severity_min: Option<u8>,
    /// Sent at or after T: 2024-05-02, 2024-05-02T10:00:00Z, or 30m / 12h / 7d ago.
    #[arg(long, value_name = "T")]
    since: Option<String>,
    /// Sent at or before T (same forms as --since).
    #[arg(long, value_name = "T")]
    until: Option<String>,
    /// At most N results.
    #[arg(long, default_value_t = 50, value_name = "N")]
    limit: u32,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
}

pub async fn search(env: Env, args: &SearchArgs) -> anyhow::Result<ExitCode> {
    let now = time::OffsetDateTime::now_utc();
    let when = |s: &Option<String>| s.as_deref().map(|s| timearg::parse(s, now)).transpose();
    let text = args.text.join(" ");
    let q = SearchQuery {
        text: (!text.trim().is_empty()).then_some(text),
        topic: args.topic.clone(),
        user: args.user.clone(),
        package: args.package.clone(),
        source: args.source.clone(),
        severity_min: args.severity_min,
        since: when(&args.since)?,
        until: when(&args.until)?,
        limit: args.limit,
        before: None,
        unread_only: false,
    };
    if let (Some(a), Some(b)) = (q.since, q.until) {
        if a > b {
            return Err(UsageError("--since is after --until".into()).into());
        }
    }
    let store = env.open_store().await?;
    let hits = store.search(&q).await?;
    let mut out = std::io::stdout().lock();
    for h in &hits {
        if args.json {
            writeln!(out, "{}", serde_json::to_string(h)?)?;
        } else {
            writeln!(out, "{}", line(h))?;
        }
    }
    if hits.is_empty() && !args.json {
        eprintln!("no messages found");
    }
    Ok(ExitCode::SUCCESS)
}

fn line(h: &Hit) -> String {
    let when = h
        .sent_at
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]"
        ))
        .unwrap_or_default();
    format!(
        "{when}  {:<2} {:<15} {}",
        h.severity,
        escape(&h.source),
        escape(&h.summary)
    )
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The message id (as printed by `herald search --json`).
    id: String,
}

pub async fn show(env: Env, args: &ShowArgs) -> anyhow::Result<ExitCode> {
    let store = env.open_store().await?;
    let mut out = std::io::stdout().lock();
    if let Some(d) = store.get(&args.id).await? {
        let r = &d.rendered;
        let m = &d.message;
        writeln!(out, "{}", escape(&r.summary))?;
        writeln!(out, "source:   {} ({})", escape(&r.source), escape(&r.kind))?;
        writeln!(out, "severity: {}", r.severity)?;
        writeln!(out, "sent at:  {}", m.sent_at)?;
        writeln!(out, "topic:    {}", escape(&m.topic))?;
        writeln!(out, "exchange: {}", escape(&m.exchange))?;
        if m.backfilled {
            writeln!(
                out,
                "origin:   back-filled from the bus archive (not delivered live)"
            )?;
        }
        writeln!(
            out,
            "link:     {}",
            r.url.as_deref().map_or(Cow::Borrowed("-"), escape)
        )?;
        writeln!(out, "users:    {}", escape(&r.users.join(", ")))?;
        writeln!(out, "packages: {}", escape(&r.packages.join(", ")))?;
        if let Some(a) = &r.agent {
            writeln!(out, "agent:    {}", escape(a))?;
        }
        match &d.rule {
            Some(rule) => writeln!(out, "kept by:  rule {} ({})", escape(rule), d.action)?,
            None => writeln!(out, "kept by:  no rule ({})", d.action)?,
        }
        for p in &d.problems {
            writeln!(out, "problem:  {}", escape(p))?;
        }
        if !r.details.is_empty() {
            writeln!(out, "\n{}", escape_lines(&r.details))?;
        }
        raw(&mut out, m)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(q) = store.get_quarantined(&args.id).await? {
        writeln!(out, "quarantined: {}", escape(&q.reason))?;
        writeln!(out, "topic:    {}", escape(&q.message.topic))?;
        if let (Some(n), Some(sha)) = (q.body_length, &q.body_sha256) {
            writeln!(
                out,
                "body:     {n} bytes, sha256 {sha}; only the first {} are kept",
                q.message.body.len()
            )?;
        }
        raw(&mut out, &q.message)?;
        return Ok(ExitCode::SUCCESS);
    }
    Err(UsageError(format!("no message with id {:?}", args.id)).into())
}

fn raw(out: &mut impl std::io::Write, m: &herald_core::Message) -> std::io::Result<()> {
    let parts = RawParts::of(m);
    writeln!(out, "\nheaders:")?;
    // JSON escapes C0 controls but not C1, bidi or zero-width characters.
    writeln!(out, "{}", escape_lines(&parts.headers_json))?;
    writeln!(out, "\nproperties:")?;
    writeln!(out, "{}", escape_lines(&parts.properties_json))?;
    writeln!(out, "\nbody ({} bytes):", m.body.len())?;
    let mut body = parts.body;
    if !parts.body_is_json {
        // A terminal page of text, not a whole log.
        let cut: String = body.chars().take(4096).collect();
        if cut.len() < body.len() {
            body = cut + "\n… (cut)";
        }
    }
    writeln!(out, "{}", escape_lines(&body))
}

#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// How many topics to list.
    #[arg(long, default_value_t = 20)]
    topics: u32,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub async fn stats(env: Env, args: &StatsArgs) -> anyhow::Result<ExitCode> {
    let store = env.open_store().await?;
    let s = store.stats(args.topics).await?;
    let health = store.health().await;
    let mut out = std::io::stdout().lock();
    if args.json {
        let mut v = serde_json::to_value(&s)?;
        if let Value::Object(o) = &mut v {
            o.insert(
                "database".into(),
                Value::String(env.db.display().to_string()),
            );
            o.insert("health".into(), serde_json::to_value(&health)?);
        }
        writeln!(out, "{v}")?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "database:    {} ({:.1} MB)",
        env.db.display(),
        s.database_bytes as f64 / 1e6
    )?;
    match &health.problem {
        None => writeln!(out, "writable:    yes")?,
        Some(p) => writeln!(
            out,
            "writable:    NO, {}; a running Herald pauses consuming (nothing is lost) and \
             carries on once this clears",
            escape(p)
        )?,
    }
    writeln!(out, "messages:    {}", s.messages)?;
    writeln!(out, "quarantined: {}", s.quarantined)?;
    let t = |t: Option<time::OffsetDateTime>| {
        t.and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "-".to_owned())
    };
    writeln!(out, "oldest:      {}", t(s.oldest))?;
    writeln!(out, "newest:      {}", t(s.newest))?;
    writeln!(out, "\nby source:")?;
    for c in &s.by_source {
        writeln!(out, "  {:>9}  {}", c.count, escape(&c.name))?;
    }
    writeln!(out, "\nby topic:")?;
    for c in &s.by_topic {
        writeln!(out, "  {:>9}  {}", c.count, escape(&c.name))?;
    }
    writeln!(out, "\nby rule:")?;
    for c in &s.by_rule {
        writeln!(out, "  {:>9}  {}", c.count, escape(&c.name))?;
    }
    if !s.by_notification.is_empty() {
        writeln!(out, "\nnotifications:")?;
        for c in &s.by_notification {
            match herald_core::notify::Fate::from_name(&c.name) {
                Some(f) if f.describe() != c.name => {
                    writeln!(out, "  {:>9}  {} ({})", c.count, c.name, f.describe())?
                }
                _ => writeln!(out, "  {:>9}  {}", c.count, escape(&c.name))?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
