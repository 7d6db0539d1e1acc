//! What `herald` prints for people never carries a message's control characters to the
//! terminal: a recorded message whose topic, agent and body hold ANSI escapes, a carriage
//! return and a bidi override is imported (no broker needed), then `search`, `show`, `stats`
//! and `rules test` must show those characters as visible escapes, while `--json` keeps the
//! exact text. (The rendered summary is cleaned by the core already; the raw topic and body
//! are what reach these printers intact.)

use herald_e2e::herald::{output_text, HeraldDir};
use std::process::Output;

const ID: &str = "6d1f0a52-3b9e-4c1d-8f0e-1b2c3d4e5f60";

/// One `fedora-messaging record` line: ESC sequences in the topic, the agent (which the
/// generic summary names) and the body; a carriage return and U+202E in the body too.
const RECORD: &str = concat!(
    r#"{"topic": "org.fedoraproject.prod.git\u001b[2J.receive", "#,
    r#""headers": {"fedora_messaging_schema": "base.message", "fedora_messaging_severity": 20, "#,
    r#""sent-at": "2024-01-01T00:00:00+00:00"}, "#,
    r#""id": "6d1f0a52-3b9e-4c1d-8f0e-1b2c3d4e5f60", "#,
    r#""body": {"agent": "mallory\u001b[31m\u202eliar", "note": "ok\rFAILED\u001b]0;pwned\u0007"}, "#,
    r#""queue": null}"#,
    "\n"
);

fn ok(dir: &HeraldDir, args: &[&str]) -> Output {
    dir.run_ok(args)
}

/// No byte that acts on a terminal: ESC, BEL, CR, the C1 CSI, or U+202E.
fn assert_inert(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    assert!(
        !text.contains(['\u{1b}', '\u{7}', '\r', '\u{9b}', '\u{202e}']),
        "{what} printed a control character: {text:?}"
    );
}

#[test]
fn message_text_is_escaped_for_the_terminal() {
    let dir = HeraldDir::new("");
    let record = dir.dir.path().join("hostile.jsonl");
    std::fs::write(&record, RECORD).expect("write record");
    let out = ok(&dir, &["import", record.to_str().expect("utf-8 path")]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("imported 1 new"),
        "{}",
        output_text(&out)
    );

    // --json is for programs and keeps the exact text (JSON-escaped). The summary is
    // rendered by the core, which already leaves controls out of it.
    let hits = dir.search(&[]);
    assert_eq!(hits.len(), 1, "{hits:?}");
    let topic = hits[0]["topic"].as_str().expect("topic");
    assert_eq!(topic, "org.fedoraproject.prod.git\u{1b}[2J.receive");

    let search = ok(&dir, &["search"]);
    assert_inert("search", &search.stdout);
    assert!(
        String::from_utf8_lossy(&search.stdout).contains("mallory"),
        "{}",
        output_text(&search)
    );

    // The raw topic, and the body (pretty JSON escapes ESC, not U+202E).
    let show = ok(&dir, &["show", ID]);
    assert_inert("show", &show.stdout);
    let shown = String::from_utf8_lossy(&show.stdout);
    assert!(
        shown.contains(r"topic:    org.fedoraproject.prod.git\x1b[2J.receive"),
        "{shown}"
    );
    assert!(shown.contains(r"\u{202e}liar"), "{shown}");

    let stats = ok(&dir, &["stats"]);
    assert_inert("stats", &stats.stdout);
    assert!(
        String::from_utf8_lossy(&stats.stdout).contains(r"git\x1b[2J.receive"),
        "{}",
        output_text(&stats)
    );

    let test = ok(
        &dir,
        &["rules", "test", "--topic", "#", "--action", "notify"],
    );
    assert_inert("rules test", &test.stdout);
    assert!(
        String::from_utf8_lossy(&test.stdout).contains(r"git\x1b[2J.receive"),
        "{}",
        output_text(&test)
    );

    // Logs on a pipe (here, debug logs of the history's queries) are not coloured.
    let logged = dir
        .command(&["stats"])
        .env("HERALD_LOG", "debug")
        .env_remove("NO_COLOR")
        .output()
        .expect("run herald");
    let stderr = String::from_utf8_lossy(&logged.stderr);
    assert!(stderr.contains("DEBUG"), "{}", output_text(&logged));
    assert!(
        !stderr.contains('\u{1b}'),
        "coloured logs on a pipe: {stderr:?}"
    );
}
