//! Following the config file while the pipeline runs, so edits made elsewhere (`herald rules
//! add`, an editor, a synced dotfile) apply without a restart, in `herald run` and in the tray
//! app alike.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::Reloader;
use crate::config::Config;
use crate::error::ConfigError;

/// How often the file's modification time is compared: cheap, and it works on every
/// filesystem, network homes included, where change notifications may never come.
const POLL: Duration = Duration::from_secs(1);

/// What [`watch_config`] made of a change to the file.
#[derive(Debug)]
pub enum ConfigChange {
    /// Re-read and handed to the pipeline.
    Applied,
    /// The file is gone (or halfway through being replaced): the settings in force stay, a
    /// missing file is not a wish for the built-in defaults.
    Gone,
    /// The new file does not load; the settings in force stay.
    Rejected(ConfigError),
}

/// Tells when a file's modification time changes (it is written, appears or goes), looked
/// at every [`POLL`].
#[derive(Debug)]
pub struct FileChanges {
    path: PathBuf,
    seen: Option<SystemTime>,
    tick: tokio::time::Interval,
}

impl FileChanges {
    /// Changes from the file as it is now. Needs the async runtime.
    pub fn new(path: PathBuf) -> FileChanges {
        let seen = modified(&path);
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        FileChanges { path, seen, tick }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits for the next change. A change is taken only when this returns, so it may be
    /// dropped unfinished (in a `select!`) without losing one.
    pub async fn next(&mut self) {
        loop {
            self.tick.tick().await;
            let now = modified(&self.path);
            if now != self.seen {
                self.seen = now;
                return;
            }
        }
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Re-reads the config at `path` when its modification time changes, and on SIGHUP, until
/// dropped; tells `report` what came of each change.
pub async fn watch_config(
    path: PathBuf,
    reloader: Reloader,
    mut report: impl FnMut(&Path, ConfigChange),
) {
    let mut changes = FileChanges::new(path);
    let mut hup = hangups();
    loop {
        tokio::select! {
            _ = next_hangup(&mut hup) => {}
            _ = changes.next() => {}
        }
        let path = changes.path();
        if !path.exists() {
            report(path, ConfigChange::Gone);
            continue;
        }
        match Config::load(path, false) {
            Ok(config) => {
                reloader.reload(config);
                report(path, ConfigChange::Applied);
            }
            Err(err) => report(path, ConfigChange::Rejected(err)),
        }
    }
}

#[cfg(unix)]
type Hangups = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangups = Option<()>;

#[cfg(unix)]
fn hangups() -> Hangups {
    use tokio::signal::unix::{signal, SignalKind};
    signal(SignalKind::hangup()).ok()
}

#[cfg(not(unix))]
fn hangups() -> Hangups {
    None
}

/// The next SIGHUP; never, where there is none to listen for.
async fn next_hangup(hup: &mut Hangups) {
    #[cfg(unix)]
    if let Some(signal) = hup.as_mut() {
        signal.recv().await;
        return;
    }
    let _ = hup;
    std::future::pending::<()>().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn config(url: &str) -> String {
        format!("amqp_url = \"{url}\"\n")
    }

    #[tokio::test]
    async fn edits_apply_and_a_broken_or_missing_file_keeps_what_is_in_force() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        std::fs::write(&path, config("amqp://one.example/")).expect("write");
        let reloader = Reloader::new(Config::load(&path, false).expect("load"));
        let mut config_rx = reloader.subscribe();
        let changes = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&changes);
        let watcher = tokio::spawn(watch_config(path.clone(), reloader.clone(), move |_, c| {
            seen.lock().expect("lock").push(match c {
                ConfigChange::Applied => "applied".to_owned(),
                ConfigChange::Gone => "gone".to_owned(),
                ConfigChange::Rejected(e) => format!("rejected: {e}"),
            });
        }));
        let wait_changes = |n: usize| {
            let changes = Arc::clone(&changes);
            async move {
                tokio::time::timeout(Duration::from_secs(10), async {
                    loop {
                        let now = changes.lock().expect("lock").clone();
                        if now.len() >= n {
                            return now;
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                })
                .await
                .expect("the watcher reported")
            }
        };

        // Modification times can be coarse: make each change visibly later.
        let touch = |body: &str| {
            std::thread::sleep(Duration::from_millis(20));
            std::fs::write(&path, body).expect("write");
            let later = SystemTime::now() + Duration::from_secs(changes_len(&changes) as u64 + 2);
            std::fs::File::options()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_modified(later))
                .expect("set mtime");
        };
        // Let the watcher note the file as it is now.
        tokio::time::sleep(Duration::from_millis(200)).await;
        touch(&config("amqp://two.example/"));
        assert_eq!(wait_changes(1).await, ["applied"]);
        config_rx.changed().await.expect("a new config");
        assert_eq!(
            config_rx.borrow().connections[0].amqp_url.as_str(),
            "amqp://two.example/"
        );

        touch("amqp_url = [broken");
        let reported = wait_changes(2).await;
        assert!(reported[1].starts_with("rejected: "), "{reported:?}");
        assert_eq!(
            reloader.subscribe().borrow().connections[0]
                .amqp_url
                .as_str(),
            "amqp://two.example/",
            "a broken file changes nothing"
        );

        std::fs::remove_file(&path).expect("remove");
        assert_eq!(wait_changes(3).await[2], "gone");
        watcher.abort();
    }

    fn changes_len(changes: &Arc<Mutex<Vec<String>>>) -> usize {
        changes.lock().expect("lock").len()
    }
}
