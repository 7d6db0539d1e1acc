//! `herald packages` and `herald package NAME`: the package model on the command line. The
//! first prints one line per package — upstream version and its age, each branch's build,
//! update status, gating and karma, and the "behind upstream" and FTBFS badges — with the
//! packages that need their packager first; the second prints one package's timeline in
//! time order. Everything in these lines came from the bus, so it goes through
//! [`crate::terminal::escape`]; `--json` prints the model's own shapes (`PackageSummary`,
//! `TimelineEvent`), one object a line, for programs.

use crate::terminal::escape;
use crate::Env;
use anyhow::Context as _;
use herald_core::packages::{BranchView, PackageSummary, Selection, TimelineEvent};
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Instant;
use time::OffsetDateTime;

#[derive(Debug, clap::Args)]
pub struct PackagesArgs {
    /// Only these packages. Default: the watched packages (`[herald.profile] packages`) and
    /// those the profile's users built or submitted updates for; with neither configured,
    /// every package in the history.
    #[arg(value_name = "NAME")]
    names: Vec<String>,
    /// One JSON object per package per line, by name.
    #[arg(long)]
    json: bool,
    /// Rebuild the model from every stored message first (and say how long that took).
    #[arg(long)]
    rebuild: bool,
}

#[derive(Debug, clap::Args)]
pub struct PackageArgs {
    /// The package (its RPM name, e.g. `python-rich`).
    name: String,
    /// One JSON object per event per line.
    #[arg(long)]
    json: bool,
}

pub async fn packages(env: Env, args: &PackagesArgs) -> anyhow::Result<ExitCode> {
    let store = env.open_store().await?;
    if args.rebuild {
        let start = Instant::now();
        store
            .rebuild_packages(true)
            .await
            .context("cannot rebuild the package model")?;
        // On stderr, so that `--rebuild --json` still prints only JSON.
        eprintln!(
            "rebuilt the package model from the history in {:.2} s",
            start.elapsed().as_secs_f64()
        );
    }
    let profile = &env.config.herald.profile;
    let sel = Selection {
        names: args.names.clone(),
        watched: profile.packages.clone(),
        users: profile.users.clone(),
    };
    let now = OffsetDateTime::now_utc();
    let mut list = store
        .package_summaries(&sel, now, settle(&env))
        .await
        .context("cannot read the package model")?;
    let mut out = std::io::stdout().lock();
    if args.json {
        for s in &list {
            writeln!(out, "{}", serde_json::to_string(s)?)?;
        }
    } else {
        herald_core::packages::by_attention(&mut list);
        let width = list
            .iter()
            .map(|s| s.package.chars().count())
            .max()
            .unwrap_or(0)
            .min(32);
        for s in &list {
            writeln!(out, "{}", line(s, now, width))?;
        }
    }
    for name in &args.names {
        if !list.iter().any(|s| &s.package == name) {
            eprintln!("no package {} in the history", escape(name));
        }
    }
    if list.is_empty() && args.names.is_empty() {
        eprintln!("no packages found");
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn package(env: Env, args: &PackageArgs) -> anyhow::Result<ExitCode> {
    let store = env.open_store().await?;
    let events = store
        .package_timeline(&args.name)
        .await
        .context("cannot read the package's timeline")?;
    let mut out = std::io::stdout().lock();
    if events.is_empty() {
        eprintln!("no package {} in the history", escape(&args.name));
        return Ok(ExitCode::SUCCESS);
    }
    if args.json {
        for e in &events {
            writeln!(out, "{}", serde_json::to_string(e)?)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let now = OffsetDateTime::now_utc();
    let sel = Selection {
        names: vec![args.name.clone()],
        ..Selection::default()
    };
    if let Some(s) = store
        .package_summaries(&sel, now, settle(&env))
        .await?
        .first()
    {
        writeln!(out, "{}\n", line(s, now, 0))?;
    }
    for e in &events {
        writeln!(out, "{}", event_line(e))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// How long a gating decision must hold to count, from `[herald.packages] gating_settle`.
fn settle(env: &Env) -> time::Duration {
    time::Duration::try_from(env.config.herald.packages.gating_settle())
        .unwrap_or(herald_core::packages::DEFAULT_SETTLE)
}

/// One package as a line: name, upstream, badges, then each branch.
fn line(s: &PackageSummary, now: OffsetDateTime, width: usize) -> String {
    let mut l = format!("{:<width$}", escape(&s.package));
    match &s.upstream {
        Some(u) => {
            let _ = write!(
                l,
                "  upstream {} ({} ago)",
                escape(&u.version),
                span(now - u.sent_at)
            );
        }
        None => l.push_str("  upstream unknown"),
    }
    if s.behind_upstream == Some(true) {
        match s.behind_since {
            Some(since) => {
                let _ = write!(l, "  [behind upstream for {}]", span(now - since));
            }
            None => l.push_str("  [behind upstream]"),
        }
    }
    if s.ftbfs == Some(true) {
        l.push_str("  [FTBFS]");
    }
    let branches: Vec<String> = s.branches.iter().filter_map(branch).collect();
    if branches.is_empty() {
        l.push_str("  no builds or updates seen");
    } else {
        let _ = write!(l, "  {}", branches.join("; "));
    }
    l
}

/// `f43: python-rich-14.1.0-1.fc43 complete, FEDORA-2025-… testing, gating passed, karma +1`.
fn branch(b: &BranchView) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(build) = &b.build {
        parts.push(format!("{} {}", escape(&build.nvr), escape(&build.state)));
    } else if let Some(stable) = &b.stable {
        parts.push(format!("{} stable", escape(stable)));
    }
    if let Some(u) = &b.update {
        parts.push(format!(
            "{} {}",
            escape(&u.alias),
            escape(u.status.as_deref().unwrap_or("?"))
        ));
        if let Some(g) = &u.gating {
            let settling = g != "waiting" && !u.gating_settled;
            parts.push(format!(
                "gating {}{}",
                escape(g),
                if settling { " (settling)" } else { "" }
            ));
        }
        match u.karma {
            Some(k) if k > 0 => parts.push(format!("karma +{k}")),
            Some(k) => parts.push(format!("karma {k}")),
            None => {}
        }
    }
    (!parts.is_empty()).then(|| format!("{}: {}", escape(&b.branch), parts.join(", ")))
}

/// One timeline event: when, stage, branch, what happened, and where its link goes.
fn event_line(e: &TimelineEvent) -> String {
    let when = e
        .sent_at
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]"
        ))
        .unwrap_or_default();
    let mut l = format!(
        "{when}  {:<8} {:<8}",
        e.stage.as_str(),
        escape(e.branch.as_deref().unwrap_or("-"))
    );
    if let Some(state) = &e.state {
        let _ = write!(l, " {} ·", escape(state));
    }
    let _ = write!(l, " {}", escape(&e.summary));
    if let Some((url, host)) = e.url.as_deref().and_then(link) {
        let _ = write!(l, "\n{:>18}{} {}", "", escape(&host), escape(url));
    }
    l
}

/// A link worth printing (http or https only) and the host it goes to.
fn link(url: &str) -> Option<(&str, String)> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return None;
    }
    Some((url, herald_core::clean::host_of(url)?))
}

/// A length of time as a person reads it: minutes, hours under two days, then days.
fn span(d: time::Duration) -> String {
    let s = d.whole_seconds().max(0);
    match s {
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 2 * 86_400 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_core::packages::{BuildView, UpdateView, UpstreamView};
    use time::macros::datetime;

    fn summary() -> PackageSummary {
        PackageSummary {
            package: "python-rich".into(),
            upstream: Some(UpstreamView {
                version: "14.1.0".into(),
                sent_at: datetime!(2025-05-01 10:00 UTC),
            }),
            branches: vec![
                BranchView {
                    branch: "f43".into(),
                    build: Some(BuildView {
                        nvr: "python-rich-14.0.0-1.fc43".into(),
                        state: "complete".into(),
                        sent_at: datetime!(2025-04-01 10:00 UTC),
                        url: None,
                    }),
                    update: Some(UpdateView {
                        alias: "FEDORA-2025-1a2b3c4d5e".into(),
                        status: Some("testing".into()),
                        gating: Some("failed".into()),
                        gating_settled: false,
                        karma: Some(-1),
                        url: None,
                        user: None,
                    }),
                    stable: None,
                    ci: None,
                },
                BranchView {
                    branch: "epel9".into(),
                    build: None,
                    update: None,
                    stable: None,
                    ci: Some("passed x".into()),
                },
            ],
            ftbfs: Some(true),
            behind_upstream: Some(true),
            behind_since: Some(datetime!(2025-05-01 10:00 UTC)),
            fedora_version: Some("14.0.0".into()),
            changed_at: datetime!(2025-05-01 10:00 UTC),
        }
    }

    #[test]
    fn a_package_line_says_what_needs_doing() {
        let l = line(&summary(), datetime!(2025-05-06 11:00 UTC), 14);
        assert_eq!(
            l,
            "python-rich     upstream 14.1.0 (5 days ago)  [behind upstream for 5 days]  \
             [FTBFS]  f43: python-rich-14.0.0-1.fc43 complete, FEDORA-2025-1a2b3c4d5e testing, \
             gating failed (settling), karma -1"
        );
    }

    #[test]
    fn bus_text_in_a_package_line_is_escaped() {
        let mut s = summary();
        s.package = "evil\u{1b}[2J\u{202e}".into();
        if let Some(b) = s.branches[0].build.as_mut() {
            b.state = "ok\rdone".into();
        }
        let l = line(&s, datetime!(2025-05-01 10:30 UTC), 0);
        assert!(
            l.starts_with(r"evil\x1b[2J\u{202e}  upstream 14.1.0 (30 min ago)"),
            "{l}"
        );
        assert!(l.contains(r"python-rich-14.0.0-1.fc43 ok\rdone"), "{l}");
        assert!(!l.contains(['\u{1b}', '\r', '\u{202e}']), "{l}");
    }

    #[test]
    fn only_web_links_are_printed_with_their_host() {
        assert_eq!(
            link("https://bodhi.fedoraproject.org/updates/X"),
            Some((
                "https://bodhi.fedoraproject.org/updates/X",
                "bodhi.fedoraproject.org".to_owned()
            ))
        );
        assert_eq!(
            link("HTTP://Example.org:8080/a").map(|l| l.1),
            Some("example.org:8080".into())
        );
        assert_eq!(link("javascript:alert(1)"), None);
        assert_eq!(link("file:///etc/passwd"), None);
        assert_eq!(link("smb://host/share"), None);
        assert_eq!(link(""), None);
    }

    #[test]
    fn spans_read_as_minutes_hours_then_days() {
        assert_eq!(span(time::Duration::seconds(-5)), "0 min");
        assert_eq!(span(time::Duration::minutes(59)), "59 min");
        assert_eq!(span(time::Duration::hours(47)), "47 h");
        assert_eq!(span(time::Duration::days(5)), "5 days");
    }
}
