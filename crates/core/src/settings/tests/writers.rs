//! Herald's writers at the same moment: the settings window's Save against the tray's Mute
//! on two threads started together, changes on both sides merged and the clashes named, a
//! page without a base, and no config file readable by others at any moment (an inotify
//! watcher on the folder stats every file at every event).

use super::*;
use crate::config::edit::{mute_package, ConfigEditor};
use crate::error::ConfigError;
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use std::collections::BTreeMap;
use std::mem::MaybeUninit;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::sync::{Arc, Barrier};

/// The priority the pipeline's Mute writes with.
const MUTE_PRIORITY: i32 = 5;

fn has_rule(cfg: &Config, id: &str) -> bool {
    cfg.herald.rules.iter().any(|r| r.id == id)
}

#[test]
fn settings_save_and_mute_at_the_same_moment_keep_both_changes() {
    let dir = with_config(Some(COMMENTED));
    let (mut mute_first, mut save_first) = (0, 0);
    for round in 0..50u32 {
        // The window read its settings before either write.
        let mut s = load(&dir.path);
        s.retention_days = 100 + round;
        let barrier = Arc::new(Barrier::new(2));
        let saver = {
            let (path, barrier) = (dir.path.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                save(&path, &s)
            })
        };
        let muter = {
            let (path, barrier) = (dir.path.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                mute_package(&path, &format!("pkg{round}"), MUTE_PRIORITY)
            })
        };
        let report = saver.join().expect("saver").expect("save");
        let muted = muter.join().expect("muter").expect("mute");
        assert!(report.changed, "round {round}: {report:?}");
        assert!(report.conflicts.is_empty(), "round {round}: {report:?}");
        if muted.herald.retention_days == 100 + round {
            save_first += 1;
        } else {
            mute_first += 1;
        }
        let cfg = Config::load(&dir.path, false).expect("loads");
        assert_eq!(
            cfg.herald.retention_days,
            100 + round,
            "round {round}: the window's change is lost"
        );
        assert!(
            has_rule(&cfg, &format!("mute-pkg{round}")),
            "round {round}: the mute is lost"
        );
    }
    let cfg = Config::load(&dir.path, false).expect("loads");
    assert!((0..50).all(|r| has_rule(&cfg, &format!("mute-pkg{r}"))));
    assert!(has_rule(&cfg, "chromium") && has_rule(&cfg, "mine"));
    assert!(text(&dir.path).starts_with("# My Herald config.\n"));
    // The order that used to lose the mute (the window saving over it) must have come up.
    assert!(
        mute_first > 0,
        "the save always came first ({save_first} times): the merge was never needed"
    );
}

#[test]
fn settings_changed_on_both_sides_are_merged_and_the_clashes_named() {
    let dir = with_config(Some(COMMENTED));
    let mut s = load(&dir.path);

    // While the window is open: the tray mutes a package; `herald rules` and an editor
    // change other things.
    mute_package(&dir.path, "foo", MUTE_PRIORITY).expect("mute");
    ConfigEditor::modify(&dir.path, |e| {
        e.set_value(&["herald", "retention_days"], 7)?;
        e.set_value(&["herald", "notifications", "enabled"], false)?;
        e.set_value(
            &["herald", "profile", "packages"],
            toml_edit::Value::Array(["htop"].into_iter().collect()),
        )?;
        let mut mine = e.rule("mine")?.expect("rule mine");
        mine.priority = 20;
        e.upsert_rule(&mine)?;
        e.set_value(
            &["herald", "connections", "pulp", "amqp_url"],
            "amqps://pulp2.example:5671/%2F",
        )?;
        Ok::<_, ConfigError>(())
    })
    .expect("edit elsewhere");

    // The window: some of the same settings, some others.
    s.retention_days = 9;
    s.notifications.rate_limit_per_minute = 10;
    s.connections[1].url = "amqps://pulp3.example:5671/%2F".to_owned();
    s.rules_toml = "[[herald.rules]]\nid = \"mine\"\naction = \"notify\"\nusers = [\"spot\"]\n\n\
                    [[herald.rules]]\nid = \"window\"\npackages = [\"firefox\"]\n"
        .to_owned();
    let report = save(&dir.path, &s).expect("save");
    assert!(report.changed);
    let mut conflicts = report.conflicts.clone();
    conflicts.sort();
    assert_eq!(
        conflicts,
        ["connection pulp", "retention_days", "rule mine"]
    );

    let cfg = Config::load(&dir.path, false).expect("loads");
    let h = &cfg.herald;
    // Both changed: the window's value.
    assert_eq!(h.retention_days, 9);
    let mine = h.rules.iter().find(|r| r.id == "mine").expect("mine");
    assert_eq!((mine.action, mine.priority), (Action::Notify, 50));
    assert_eq!(
        cfg.connections[1].amqp_url,
        "amqps://pulp3.example:5671/%2F"
    );
    // Changed in the window only.
    assert_eq!(h.notifications.rate_limit_per_minute, 10);
    assert!(has_rule(&cfg, "window"));
    assert!(!has_rule(&cfg, "chromium"), "the window deleted it");
    // Changed elsewhere only.
    assert!(has_rule(&cfg, "mute-foo"));
    assert!(!h.notifications.enabled);
    assert_eq!(h.profile.packages, ["htop"]);
    let ids: Vec<&str> = h.rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["mine", "mute-foo", "window"]);
    // Still the user's file: comments where they were.
    let after = text(&dir.path);
    assert!(after.contains("# My Herald config."), "{after}");
    assert!(
        after.contains("enabled = false   # said explicitly"),
        "{after}"
    );
}

#[test]
fn settings_changed_elsewhere_only_are_not_conflicts() {
    let dir = with_config(Some(COMMENTED));
    let mut s = load(&dir.path);
    ConfigEditor::modify(&dir.path, |e| {
        e.set_value(&["herald", "retention_days"], 7)?;
        e.remove_rule("mine");
        Ok::<_, ConfigError>(())
    })
    .expect("edit elsewhere");
    // The window sets what the file already says: no clash.
    s.retention_days = 7;
    s.catch_up_max = "1w".to_owned();
    let report = save(&dir.path, &s).expect("save");
    assert!(report.conflicts.is_empty(), "{report:?}");
    let cfg = Config::load(&dir.path, false).expect("loads");
    assert_eq!(cfg.herald.retention_days, 7);
    assert_eq!(cfg.herald.catch_up_max, "1w");
    assert!(
        !has_rule(&cfg, "mine"),
        "deleted elsewhere, untouched in the window"
    );
}

#[test]
fn settings_read_without_a_file_keep_a_mute_written_since() {
    let dir = with_config(None);
    let mut s = load(&dir.path);
    assert_eq!(s.base.as_deref(), Some(""));
    mute_package(&dir.path, "foo", MUTE_PRIORITY).expect("mute");
    s.retention_days = 9;
    let report = save(&dir.path, &s).expect("save");
    assert!(report.conflicts.is_empty(), "{report:?}");
    let cfg = Config::load(&dir.path, false).expect("loads");
    assert_eq!(cfg.herald.retention_days, 9);
    assert!(has_rule(&cfg, "mute-foo"));
    assert_eq!(cfg.connections.len(), 1);
    assert_eq!(
        cfg.primary().amqp_url,
        Config::fedora_public().primary().amqp_url
    );
    assert!(!text(&dir.path).contains("amqp_url"), "{}", text(&dir.path));
}

#[test]
fn settings_without_a_base_save_over_the_file_as_it_is() {
    let dir = with_config(Some(COMMENTED));
    let mut s = load(&dir.path);
    s.base = None;
    mute_package(&dir.path, "foo", MUTE_PRIORITY).expect("mute");
    s.retention_days = 9;
    let report = save(&dir.path, &s).expect("save");
    assert!(report.conflicts.is_empty());
    let cfg = Config::load(&dir.path, false).expect("loads");
    assert_eq!(cfg.herald.retention_days, 9);
    // A page that cannot say what it read from: its rules are the rules, as always.
    assert!(!has_rule(&cfg, "mute-foo"));
}

#[test]
fn settings_with_a_base_that_is_no_config_are_refused() {
    let dir = with_config(Some(COMMENTED));
    let mut s = load(&dir.path);
    s.base = Some("[herald\n".to_owned());
    s.retention_days = 9;
    let err = save(&dir.path, &s).expect_err("refused");
    assert_eq!(err.field(), Some("base"));
    assert_eq!(text(&dir.path), COMMENTED);
}

/// What the watcher saw: events per kind of file, and every moment a file in the folder
/// could be read by others.
#[derive(Debug, Default)]
struct Seen {
    events: BTreeMap<&'static str, usize>,
    config_renamed_in: usize,
    exposed: Vec<String>,
}

const STOP: &str = "stop-watching";

fn kind(name: &str) -> &'static str {
    if name == "config.toml" {
        "config"
    } else if name.ends_with(".tmp") {
        "temporary"
    } else if name.ends_with(".lock") {
        "lock"
    } else {
        "other"
    }
}

/// Watches `folder` until a file named [`STOP`] appears; at every event, stats every file
/// in the folder.
fn watch(folder: PathBuf) -> std::thread::JoinHandle<Seen> {
    let fd = inotify::init(CreateFlags::CLOEXEC).expect("inotify");
    inotify::add_watch(
        &fd,
        &folder,
        WatchFlags::CREATE
            | WatchFlags::MODIFY
            | WatchFlags::CLOSE_WRITE
            | WatchFlags::MOVED_TO
            | WatchFlags::ATTRIB,
    )
    .expect("watch the folder");
    std::thread::spawn(move || {
        let mut buf = vec![MaybeUninit::<u8>::uninit(); 64 * 1024];
        let mut reader = inotify::Reader::new(&fd, &mut buf);
        let mut seen = Seen::default();
        loop {
            let (name, flags) = {
                let ev = reader.next().expect("inotify event");
                assert!(
                    !ev.events().contains(ReadFlags::QUEUE_OVERFLOW),
                    "events were lost"
                );
                let name = ev
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (name, ev.events())
            };
            for entry in std::fs::read_dir(&folder).expect("read folder").flatten() {
                // Temporary files come and go between the listing and the stat.
                let Ok(meta) = std::fs::symlink_metadata(entry.path()) else {
                    continue;
                };
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    seen.exposed.push(format!(
                        "{} was {mode:o} at an event on {name}",
                        entry.file_name().to_string_lossy()
                    ));
                }
            }
            if name == STOP {
                return seen;
            }
            *seen.events.entry(kind(&name)).or_default() += 1;
            if name == "config.toml" && flags.contains(ReadFlags::MOVED_TO) {
                seen.config_renamed_in += 1;
            }
        }
    })
}

#[test]
fn settings_config_files_are_never_readable_by_others() {
    // The usual umask, under which a file created without a mode is readable by all.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
    let tmp = tempfile::tempdir().expect("tempdir");
    let folder = tmp.path().join("herald");
    let path = folder.join("config.toml");
    // Herald creates the folder (and the lock beside the file) on the way: private.
    ConfigEditor::modify(&path, |_| Ok::<_, ConfigError>(())).expect("lock only");
    assert_eq!(
        std::fs::metadata(&folder)
            .expect("folder")
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    assert!(!path.exists(), "nothing changed, nothing written");

    let watcher = watch(folder.clone());
    let saves = 200u32;
    let mut s = load(&path);
    for i in 0..saves {
        if i % 2 == 0 {
            // Now and then from settings read a while ago, so merges write too.
            if i % 10 == 0 {
                s = load(&path);
            }
            s.retention_days = 1000 + i;
            assert!(save(&path, &s).expect("save").changed);
        } else {
            mute_package(&path, &format!("p{i}"), MUTE_PRIORITY).expect("mute");
        }
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(folder.join(STOP))
        .expect("stop file");
    let seen = watcher.join().expect("watcher");

    assert!(seen.exposed.is_empty(), "{:#?}", seen.exposed);
    assert_eq!(
        seen.config_renamed_in, saves as usize,
        "one rename per save: {seen:?}"
    );
    assert!(
        seen.events.get("temporary").copied().unwrap_or(0) >= 2 * saves as usize,
        "every temporary file is created and written: {seen:?}"
    );
    let meta = std::fs::metadata(&path).expect("config");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let cfg = Config::load(&path, false).expect("loads");
    assert_eq!(cfg.herald.retention_days, 1000 + saves - 2);
    assert_eq!(cfg.herald.rules.len(), saves as usize / 2);
}
