//! `herald rules test`: the config's rules with draft rules added (a draft with a rule's id
//! replaces it), run over the stored history without saving anything, by the core's dry run
//! ([`herald_core::filter::dry_run_set`]) with the configured rules compared alongside. Reports what would
//! notify, be kept or be dropped with and without the drafts, per rule, and examples.

use super::draft::{check_id, error_chain, rules_from_file, rules_from_text, RuleFlags};
use super::{check_connection, escape};
use crate::{timearg, Env, UsageError};
use anyhow::Context as _;
use herald_core::config::PRIMARY;
use herald_core::filter::{dry_run_set, Action, Decision, DryRunScope, RuleSet, RuleSpec, Subject};
use herald_core::history::Stored;
use serde::Serialize;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use time::OffsetDateTime;

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// A TOML file of draft rules: one rule table, or several as `[[rules]]`.
    #[arg(value_name = "RULE-FILE")]
    file: Option<PathBuf>,
    /// A draft rule as TOML, e.g. 'id = "x"\npackages = ["y"]' (repeatable).
    #[arg(long = "rule", value_name = "TOML")]
    rules: Vec<String>,
    /// Id of the draft rule the flags describe (default `draft`); a rule's id replaces it.
    #[arg(long, value_name = "ID")]
    id: Option<String>,
    #[command(flatten)]
    flags: RuleFlags,
    /// Only messages sent at or after T: 2024-05-02, 2024-05-02T10:00:00Z, or 30m / 12h / 7d
    /// ago. Default: the whole history.
    #[arg(long, value_name = "T")]
    since: Option<String>,
    /// Test at most the newest N messages.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Use the rules of this connection (default: the file's top level, `default`).
    #[arg(long, value_name = "NAME")]
    connection: Option<String>,
    /// How many example messages to show for each draft rule and for the changes.
    #[arg(long, default_value_t = 3, value_name = "N")]
    samples: usize,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Default, Serialize)]
struct Counts {
    notify: usize,
    history: usize,
    drop: usize,
}

impl Counts {
    fn add(&mut self, a: Action) {
        match a {
            Action::Notify => self.notify += 1,
            Action::History => self.history += 1,
            Action::Drop => self.drop += 1,
        }
    }
}

#[derive(Debug, Serialize)]
struct Sample {
    id: String,
    #[serde(with = "time::serde::rfc3339")]
    sent_at: OffsetDateTime,
    topic: String,
    summary: String,
    before: Action,
    after: Action,
    before_rule: Option<String>,
    after_rule: Option<String>,
}

#[derive(Debug, Serialize)]
struct DraftReport {
    id: String,
    action: Action,
    /// Messages the draft matches on its own.
    matches: usize,
    /// Messages it decides, after the rules that run before it.
    decides: usize,
    samples: Vec<Sample>,
}

#[derive(Debug, Serialize)]
struct RuleCount {
    /// `None`: no rule matched.
    rule: Option<String>,
    action: Action,
    count: usize,
    draft: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    connection: String,
    #[serde(with = "time::serde::rfc3339::option")]
    since: Option<OffsetDateTime>,
    scanned: usize,
    without: Counts,
    with: Counts,
    changed: usize,
    unmatched_without: Action,
    unmatched_with: Action,
    rules: Vec<RuleCount>,
    drafts: Vec<DraftReport>,
    changes: Vec<Sample>,
}

pub async fn test(env: &Env, args: &TestArgs) -> anyhow::Result<ExitCode> {
    let since = args
        .since
        .as_deref()
        .map(|s| timearg::parse(s, OffsetDateTime::now_utc()))
        .transpose()?;
    let connection = args
        .connection
        .clone()
        .unwrap_or_else(|| PRIMARY.to_owned());
    check_connection(&env.config, &connection)?;
    let drafts = drafts(args)?;

    let before_cfg = &env.config;
    let mut after_cfg = before_cfg.clone();
    for d in &drafts {
        match after_cfg.herald.rules.iter_mut().find(|r| r.id == d.id) {
            Some(slot) => *slot = d.clone(),
            None => after_cfg.herald.rules.push(d.clone()),
        }
    }
    let before = before_cfg
        .rule_set(&connection)
        .context("the configured rules do not compile")?;
    let after = after_cfg.rule_set(&connection).map_err(|e| {
        UsageError(format!(
            "the draft rules do not compile: {}",
            error_chain(&e)
        ))
    })?;
    let profile = &after_cfg.herald.profile;
    let alone: Vec<Option<RuleSet>> = drafts
        .iter()
        .map(|d| {
            if d.disabled || !d.applies_to(&connection) {
                return Ok(None);
            }
            RuleSet::compile(std::slice::from_ref(d), profile, Action::Drop).map(Some)
        })
        .collect::<Result<_, _>>()
        .map_err(|e| {
            UsageError(format!(
                "a draft rule does not compile: {}",
                error_chain(&e)
            ))
        })?;

    let mut report = Report {
        connection: connection.clone(),
        since,
        scanned: 0,
        without: Counts::default(),
        with: Counts::default(),
        changed: 0,
        unmatched_without: before.unmatched(),
        unmatched_with: after.unmatched(),
        rules: Vec::new(),
        drafts: drafts
            .iter()
            .map(|d| DraftReport {
                id: d.id.clone(),
                action: d.action,
                matches: 0,
                decides: 0,
                samples: Vec::new(),
            })
            .collect(),
        changes: Vec::new(),
    };
    let n = args.samples;
    let store = env.open_store().await?;
    let after_rules = after_cfg.rules_for(&connection);
    let scope = DryRunScope {
        since,
        limit: args.limit,
        samples: 0,
    };
    let run = dry_run_set(&after, &after_rules, &store, &scope, |s, a| {
        let subject = Subject::of(s);
        let b = before.evaluate(&subject);
        report.without.add(b.action);
        for (d, set) in report.drafts.iter_mut().zip(&alone) {
            if a.rule.as_deref() == Some(d.id.as_str()) {
                d.decides += 1;
            }
            if set
                .as_ref()
                .is_some_and(|set| set.evaluate(&subject).rule.is_some())
            {
                d.matches += 1;
                if d.samples.len() < n {
                    d.samples.push(sample(s, &b, a));
                }
            }
        }
        if a.action != b.action {
            report.changed += 1;
            if report.changes.len() < n {
                report.changes.push(sample(s, &b, a));
            }
        }
    })
    .await
    .context("cannot read the history")?;

    let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    report.scanned = count(run.scanned);
    report.with = Counts {
        notify: count(run.notify),
        history: count(run.history),
        drop: count(run.drop),
    };
    let draft_ids: Vec<&str> = drafts.iter().map(|d| d.id.as_str()).collect();
    for c in &run.by_rule {
        let action = after_rules
            .iter()
            .find(|r| r.id == c.rule)
            .map_or(after.unmatched(), |r| r.action);
        report.rules.push(RuleCount {
            count: count(c.count),
            draft: draft_ids.contains(&c.rule.as_str()),
            rule: Some(c.rule.clone()),
            action,
        });
    }
    let decided: u64 = run.by_rule.iter().map(|c| c.count).sum();
    report.rules.push(RuleCount {
        rule: None,
        action: after.unmatched(),
        count: count(run.scanned.saturating_sub(decided)),
        draft: false,
    });

    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&report)?)?;
    } else {
        print(&mut out, &report, drafts.is_empty())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The draft rules: from the file, each `--rule`, and the flags.
fn drafts(args: &TestArgs) -> Result<Vec<RuleSpec>, UsageError> {
    let mut drafts = Vec::new();
    if let Some(f) = &args.file {
        drafts.extend(rules_from_file(f)?);
    }
    for t in &args.rules {
        drafts.extend(rules_from_text(t, "--rule")?);
    }
    if !args.flags.is_empty() || args.id.is_some() {
        drafts.push(args.flags.build(args.id.as_deref().unwrap_or("draft"))?);
    }
    for (i, d) in drafts.iter().enumerate() {
        check_id(&d.id)?;
        if drafts[..i].iter().any(|e| e.id == d.id) {
            return Err(UsageError(format!(
                "two draft rules have the id {:?}",
                d.id
            )));
        }
    }
    Ok(drafts)
}

fn sample(s: &Stored, before: &Decision, after: &Decision) -> Sample {
    Sample {
        id: s.msg.id.clone(),
        sent_at: s.msg.sent_at,
        topic: s.msg.topic.clone(),
        summary: s.rendered.summary.clone(),
        before: before.action,
        after: after.action,
        before_rule: before.rule.as_deref().map(str::to_owned),
        after_rule: after.rule.as_deref().map(str::to_owned),
    }
}

fn print(out: &mut impl std::io::Write, r: &Report, no_drafts: bool) -> std::io::Result<()> {
    let since = r
        .since
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .map_or_else(|| "the whole history".to_owned(), |t| format!("since {t}"));
    writeln!(
        out,
        "tested {} stored messages ({since}) with the rules of connection {}",
        r.scanned, r.connection
    )?;
    if no_drafts {
        writeln!(
            out,
            "no draft rule given: showing what the configured rules do"
        )?;
    }
    writeln!(
        out,
        "\n{:<18}{:>8}{:>9}{:>8}",
        "", "notify", "history", "drop"
    )?;
    for (label, c) in [
        ("configured rules", &r.without),
        ("with the drafts", &r.with),
    ] {
        writeln!(
            out,
            "{label:<18}{:>8}{:>9}{:>8}",
            c.notify, c.history, c.drop
        )?;
    }
    writeln!(out, "messages whose action changes: {}", r.changed)?;
    if r.unmatched_with != r.unmatched_without {
        writeln!(
            out,
            "note: with the drafts, messages no rule matches are {} (now: {})",
            r.unmatched_with, r.unmatched_without
        )?;
    }
    writeln!(out, "\nmessages per rule, with the drafts:")?;
    for c in r.rules.iter().filter(|c| c.count > 0 || c.draft) {
        let name = match &c.rule {
            Some(id) => escape(id),
            None => "(no rule matches)".into(),
        };
        let draft = if c.draft { ", draft" } else { "" };
        writeln!(out, "{:>9}  {name} ({}{draft})", c.count, c.action)?;
    }
    for d in &r.drafts {
        writeln!(
            out,
            "\ndraft rule {} ({}): matches {} messages, decides {}",
            escape(&d.id),
            d.action,
            d.matches,
            d.decides
        )?;
        for s in &d.samples {
            writeln!(out, "  {}", sample_line(s, false))?;
        }
    }
    if !r.changes.is_empty() {
        writeln!(out, "\nchanges, e.g.:")?;
        for s in &r.changes {
            writeln!(out, "  {}", sample_line(s, true))?;
        }
    }
    writeln!(out, "\nnothing was saved")
}

fn sample_line(s: &Sample, change: bool) -> String {
    let when = s
        .sent_at
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]"
        ))
        .unwrap_or_default();
    let what = if change {
        format!("{} → {}  ", s.before, s.after)
    } else {
        String::new()
    };
    format!("{when}  {what}{}  {}", escape(&s.topic), escape(&s.summary))
}
