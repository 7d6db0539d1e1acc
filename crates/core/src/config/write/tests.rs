//! Config writes on real files: modes from the first byte, folders Herald creates, symlinks
//! written through, one writer at a time (threads locking the same file), a bounded wait.

use super::*;
use crate::config::edit::ConfigEditor;
use std::os::unix::fs::PermissionsExt as _;
use std::sync::{Arc, Barrier};

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .expect("stat")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn config_write_makes_every_missing_folder_private_and_the_file_0600() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("a/b/config.toml");
    replace(&path, b"[herald]\nretention_days = 3\n").expect("write");
    assert_eq!(mode(&tmp.path().join("a")), 0o700);
    assert_eq!(mode(&tmp.path().join("a/b")), 0o700);
    assert_eq!(mode(&path), 0o600);
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "[herald]\nretention_days = 3\n"
    );
    // A folder that was there keeps its mode: it is the user's.
    let shared = tmp.path().join("shared");
    std::fs::create_dir(&shared).expect("mkdir");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    replace(&shared.join("config.toml"), b"").expect("write");
    assert_eq!(mode(&shared), 0o755);
}

#[test]
fn config_write_tightens_a_wider_mode() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("config.toml");
    std::fs::write(&path, "# old\n").expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let mut e = ConfigEditor::load(&path).expect("load");
    e.set_value(&["herald", "retention_days"], 5).expect("set");
    e.save().expect("save");
    assert_eq!(mode(&path), 0o600);
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(
        text.contains("# old\n") && text.contains("retention_days = 5"),
        "{text}"
    );
}

#[test]
fn config_write_goes_through_symlinks_to_their_target() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dotfiles = tmp.path().join("dotfiles");
    std::fs::create_dir(&dotfiles).expect("mkdir");
    let real = dotfiles.join("herald.toml");
    std::fs::write(&real, "# mine\n").expect("write");
    let link = tmp.path().join("config.toml");
    std::os::unix::fs::symlink("dotfiles/herald.toml", &link).expect("symlink");
    crate::config::edit::mute_package(&link, "htop", 5).expect("mute");
    assert!(std::fs::symlink_metadata(&link)
        .expect("stat")
        .file_type()
        .is_symlink());
    let text = std::fs::read_to_string(&real).expect("read");
    assert!(
        text.contains("# mine\n") && text.contains("mute-htop"),
        "{text}"
    );
    assert_eq!(mode(&real), 0o600);
    // The lock lives beside the file written, where every writer finds it.
    assert!(dotfiles.join(".herald.toml.lock").exists());

    // A link to a file still to be written: the file is created where it points.
    let dangling = tmp.path().join("other.toml");
    std::os::unix::fs::symlink(dotfiles.join("new.toml"), &dangling).expect("symlink");
    replace(&dangling, b"# new\n").expect("write");
    assert!(std::fs::symlink_metadata(&dangling)
        .expect("stat")
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read_to_string(dotfiles.join("new.toml")).expect("read"),
        "# new\n"
    );
}

#[test]
fn config_write_leaves_only_the_file_and_its_lock_behind() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("config.toml");
    for i in 0..20 {
        ConfigEditor::modify(&path, |e| e.set_value(&["herald", "retention_days"], i))
            .expect("modify");
    }
    let mut names: Vec<String> = std::fs::read_dir(tmp.path())
        .expect("read dir")
        .map(|d| d.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [".config.toml.lock", "config.toml"]);
    assert_eq!(mode(&tmp.path().join(".config.toml.lock")), 0o600);
}

#[test]
fn config_lock_admits_one_writer_and_times_out_with_a_typed_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("config.toml");
    let held = lock(&path, LOCK_WAIT).expect("lock");
    // A second open file description, as another process would have: refused while held.
    let started = Instant::now();
    let err = lock(&path, Duration::from_millis(200)).expect_err("held elsewhere");
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(matches!(&err, ConfigError::Locked { path: p } if p.ends_with("config.toml")));
    assert!(err.to_string().contains("another Herald process"), "{err}");

    // A writer waits for the holder, then goes ahead.
    let barrier = Arc::new(Barrier::new(2));
    let writer = {
        let (path, barrier) = (path.clone(), barrier.clone());
        std::thread::spawn(move || {
            barrier.wait();
            let waited = Instant::now();
            ConfigEditor::modify(&path, |e| e.set_value(&["herald", "retention_days"], 9))
                .expect("modify");
            waited.elapsed()
        })
    };
    barrier.wait();
    std::thread::sleep(Duration::from_millis(300));
    drop(held);
    let waited = writer.join().expect("writer");
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains("retention_days = 9"), "{text}");
}

#[test]
fn config_modify_writes_nothing_when_the_edit_fails_or_changes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("config.toml");
    std::fs::write(&path, "# as it was\n").expect("write");
    let before = std::fs::metadata(&path)
        .expect("stat")
        .modified()
        .expect("mtime");
    let failed: Result<(), ConfigError> = ConfigEditor::modify(&path, |e| {
        e.set_value(&["herald", "retention_days"], 1)?;
        Err(ConfigError::NoHome)
    });
    assert!(matches!(failed, Err(ConfigError::NoHome)));
    ConfigEditor::modify(&path, |_| Ok::<_, ConfigError>(())).expect("no change");
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "# as it was\n"
    );
    assert_eq!(
        std::fs::metadata(&path)
            .expect("stat")
            .modified()
            .expect("mtime"),
        before
    );
    // Unchanged files are not rewritten, so their mode is left alone too.
    assert_eq!(mode(&path) & 0o600, 0o600);
}

#[test]
fn config_threads_changing_the_file_at_once_lose_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("config.toml");
    let n = 8;
    let barrier = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let (path, barrier) = (path.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                for round in 0..10 {
                    crate::config::edit::mute_package(&path, &format!("p{i}-{round}"), 5)
                        .expect("mute");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let rules = ConfigEditor::load(&path)
        .expect("load")
        .rules()
        .expect("rules");
    assert_eq!(rules.len(), n * 10);
}
