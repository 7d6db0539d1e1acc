//! Conformance of the renderers with the fixture corpus: every message in the shared corpus
//! (`../shared/fixtures/messages`, or `$HERALD_FIXTURES`) and in the project's own
//! `tests/fixtures/messages` is decoded and rendered, and the result is compared with the
//! fixture's `expect` block. No broker is involved.
//!
//! Failures are collected and reported together, so one run shows every divergence.

use herald_core::message::Message;
use herald_core::recorded::{fixture_paths, Fixture};
use herald_core::sources::{render, RenderContext, Rendered};
use serde_json::Value;
use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// The shared corpus; a missing corpus is a failure, never a silent skip.
fn shared_dir() -> PathBuf {
    herald_e2e::herald::shared_fixtures()
}

fn own_dir() -> PathBuf {
    herald_e2e::herald::own_fixtures()
}

#[test]
fn conformance_every_fixture_renders_as_expected() {
    let shared = shared_dir();
    let own = own_dir();
    for dir in [&shared, &own] {
        assert!(
            dir.is_dir(),
            "fixture directory {} is missing (set HERALD_FIXTURES to the shared corpus)",
            dir.display()
        );
    }
    let shared_paths = fixture_paths(&shared).unwrap_or_else(|e| panic!("{e}"));
    let own_paths = fixture_paths(&own).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !shared_paths.is_empty(),
        "no fixtures in {}",
        shared.display()
    );
    assert!(!own_paths.is_empty(), "no fixtures in {}", own.display());

    let mut failures = Vec::new();
    let mut checked = 0;
    for path in shared_paths.iter().chain(&own_paths) {
        checked += 1;
        let problems = match catch_unwind(AssertUnwindSafe(|| check(path))) {
            Ok(problems) => problems,
            Err(_) => vec!["panicked".to_owned()],
        };
        if !problems.is_empty() {
            failures.push(format!(
                "{}:\n  - {}",
                path.display(),
                problems.join("\n  - ")
            ));
        }
    }
    println!(
        "conformance: {checked} fixtures checked ({} shared, {} own), {} passed, {} failed",
        shared_paths.len(),
        own_paths.len(),
        checked - failures.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} fixtures do not conform:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Renders one fixture and lists every way the result departs from `expect`.
fn check(path: &Path) -> Vec<String> {
    let fixture = match Fixture::load(path) {
        Ok(f) => f,
        Err(e) => return vec![format!("cannot load: {e}")],
    };
    let envelope = match fixture.envelope(OffsetDateTime::now_utc()) {
        Ok(e) => e,
        Err(e) => return vec![format!("cannot build the delivery: {e}")],
    };
    let msg = Message::decode(envelope);
    let expect = &fixture.expect;
    let ctx = RenderContext {
        koji_web_base: expect_str(expect, "koji_web_base"),
        pulp_base: expect_str(expect, "pulp_base"),
        ..Default::default()
    };
    let r = render(&msg, &ctx);

    let mut problems = Vec::new();
    if let Some(url) = &r.url {
        let lower = url.trim().to_ascii_lowercase();
        if lower.starts_with("javascript:") || lower.starts_with("file:") {
            problems.push(format!("offers a hostile link {url:?}"));
        }
        let relative_ok = expect.get("url_is_relative").and_then(Value::as_bool) == Some(true);
        if !(lower.starts_with("https://")
            || lower.starts_with("http://")
            || (relative_ok && url.starts_with('/')))
        {
            problems.push(format!("link {url:?} is not http(s)"));
        }
    }
    // Rejected messages only have to survive; what they display is up to the app.
    if expect.get("accept").and_then(Value::as_bool) == Some(false) {
        return problems;
    }
    compare(expect, &msg, &r, &mut problems);
    problems
}

fn compare(expect: &Value, msg: &Message, r: &Rendered, problems: &mut Vec<String>) {
    if let Some(source) = expect.get("source").and_then(Value::as_str) {
        if r.source != source {
            problems.push(format!("source {:?}, expected {source:?}", r.source));
        }
    }
    if let Some(kind) = expect.get("kind").and_then(Value::as_str) {
        if r.kind != kind {
            problems.push(format!("kind {:?}, expected {kind:?}", r.kind));
        }
    }
    for s in strings(expect.get("summary_contains")) {
        if !r.summary.contains(&s) {
            problems.push(format!("summary {:?} lacks {s:?}", r.summary));
        }
    }
    // Where the corpus gives the upstream schema's summary, the wording is the schema's
    // (Koji repo messages fall back to the topic, which Herald improves on).
    if let Some(schema) = expect.get("schema_summary").and_then(Value::as_str) {
        if schema != msg.topic && r.summary != schema {
            problems.push(format!("summary {:?}, schema says {schema:?}", r.summary));
        }
    }
    for (key, got) in [("users", &r.users), ("packages", &r.packages)] {
        if let Some(want) = expect.get(key) {
            let want: BTreeSet<String> = strings(Some(want)).into_iter().collect();
            let got: BTreeSet<String> = got.iter().cloned().collect();
            if want != got {
                problems.push(format!("{key} {got:?}, expected {want:?}"));
            }
        }
    }
    if let Some(want) = expect.get("url") {
        let want = want.as_str();
        if r.url.as_deref() != want {
            problems.push(format!("url {:?}, expected {want:?}", r.url));
        }
    }
    let severity = expect
        .get("severity")
        .or_else(|| expect.get("severity_fallback"))
        .and_then(Value::as_u64);
    if let Some(want) = severity {
        if u64::from(r.severity) != want {
            problems.push(format!("severity {}, expected {want}", r.severity));
        }
    }
    if let Some(want) = expect.get("agent") {
        let want = want.as_str();
        if r.agent.as_deref() != want {
            problems.push(format!("agent {:?}, expected {want:?}", r.agent));
        }
    }
}

fn expect_str(expect: &Value, key: &str) -> Option<String> {
    expect.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}
