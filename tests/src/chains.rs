//! Package chains for the Packages view and the tray's "Behind upstream" submenu: the
//! fixtures of `tests/fixtures/chains-ui/` (three packages from upstream release to stable,
//! FTBFS and failed gating), written as if it were [`ANCHOR`], moved to the test's own time
//! so "behind for 5 days" stays five days, and imported with `herald import` or published.

use std::path::{Path, PathBuf};

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::herald::{herald_bin, output_text};
use herald_core::recorded::Fixture;

/// The moment the fixtures were written as if it were now.
pub const ANCHOR: &str = "2025-06-30T12:00:00Z";

/// How many messages `history/` holds.
pub const HISTORY_MESSAGES: usize = 23;

/// `tests/fixtures/chains-ui`: `history/` to import, `live/` to publish during a test.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/chains-ui")
}

/// The fixture files of `dir` (not recursive), by name.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

/// The fixture at `path` with its `sent-at` header moved by `now - ANCHOR`.
pub fn shifted(path: &Path, now: OffsetDateTime) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut doc: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let anchor = OffsetDateTime::parse(ANCHOR, &Rfc3339).expect("anchor");
    let sent = doc["headers"]["sent-at"]
        .as_str()
        .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
        .unwrap_or_else(|| panic!("{} has no sent-at", path.display()));
    let moved = (sent + (now - anchor)).format(&Rfc3339).expect("format");
    doc["headers"]["sent-at"] = Value::String(moved);
    doc
}

/// `live/<name>` moved to `now`, ready to publish.
pub fn live(name: &str, now: OffsetDateTime) -> Fixture {
    let doc = shifted(&dir().join("live").join(name), now);
    serde_json::from_value(doc).unwrap_or_else(|e| panic!("live/{name}: {e}"))
}

/// Imports `history/`, moved to `now`, into the history at `db` with `herald import`, as
/// the config at `config` says.
pub fn import_history(config: &Path, db: &Path, now: OffsetDateTime) {
    let moved = tempfile::tempdir().expect("tempdir");
    for path in files(&dir().join("history")) {
        let name = path.file_name().expect("file name");
        let text = serde_json::to_string_pretty(&shifted(&path, now)).expect("JSON");
        std::fs::write(moved.path().join(name), text).expect("write a fixture");
    }
    let out = std::process::Command::new(herald_bin())
        .arg("--config")
        .arg(config)
        .arg("--db")
        .arg(db)
        .arg("import")
        .arg(moved.path())
        .output()
        .expect("run herald import");
    assert!(out.status.success(), "{}", output_text(&out));
    let expected = format!("imported {HISTORY_MESSAGES} new");
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with(&expected),
        "{}",
        output_text(&out)
    );
}
