//! What the commands work on once the pipeline has started: the history it writes, where
//! the config lives and the keyring. The page may call a command before start-up has
//! opened the history; such a call waits for it a little rather than failing at once.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use herald_core::config::Config;
use herald_core::history::HistoryStore;
use herald_core::secrets::SecretStore;
use tokio::sync::watch;

use crate::error::{CommandError, ErrorKind};

/// How long a command waits for start-up before it says Herald is not ready.
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// The parts the commands need (managed state of the app).
#[derive(Debug)]
pub struct Backend {
    ready: watch::Sender<Option<Result<Parts, String>>>,
}

/// Everything a command may touch.
#[derive(Debug, Clone)]
pub struct Parts {
    pub store: HistoryStore,
    pub config_path: PathBuf,
    pub secrets: SecretStore,
}

impl Parts {
    /// The config as its file says now: the settings window or an editor may have changed
    /// it since start-up.
    pub fn config(&self) -> Result<Config, herald_core::ConfigError> {
        Config::load(&self.config_path, false)
    }

    /// Finds the config the way the `herald` CLI does (writing the commented example at the
    /// default location when `write_example`) and opens the history it names; returns the
    /// parts and the config.
    pub async fn open(write_example: bool) -> anyhow::Result<(Parts, Config)> {
        let setup =
            herald_core::config::locate(None, None, write_example).context("cannot load config")?;
        let store = HistoryStore::open(&setup.database, &setup.config.render_context())
            .await
            .with_context(|| format!("cannot open the history at {}", setup.database.display()))?;
        let parts = Parts {
            store,
            config_path: setup.config_path,
            secrets: SecretStore::new(),
        };
        Ok((parts, setup.config))
    }
}

impl Default for Backend {
    fn default() -> Self {
        Backend {
            ready: watch::channel(None).0,
        }
    }
}

impl Backend {
    /// Start-up opened the history: commands may run.
    pub fn set_ready(&self, parts: Parts) {
        self.ready.send_replace(Some(Ok(parts)));
    }

    /// Start-up runs again: commands wait for it.
    pub fn set_starting(&self) {
        self.ready.send_replace(None);
    }

    /// Start-up failed: commands report why instead of waiting.
    pub fn set_failed(&self, why: String) {
        self.ready.send_replace(Some(Err(why)));
    }

    /// Where the config lives, if start-up got that far.
    pub fn config_path(&self) -> Option<PathBuf> {
        match &*self.ready.borrow() {
            Some(Ok(parts)) => Some(parts.config_path.clone()),
            _ => None,
        }
    }

    /// The parts, once start-up has opened them.
    pub async fn parts(&self) -> Result<Parts, CommandError> {
        let mut rx = self.ready.subscribe();
        let ready = tokio::time::timeout(READY_TIMEOUT, rx.wait_for(Option::is_some)).await;
        let not_ready = |message: String| CommandError {
            kind: ErrorKind::Starting,
            message,
        };
        match ready {
            Err(_) => Err(not_ready(format!(
                "Herald is still starting after {} s",
                READY_TIMEOUT.as_secs()
            ))),
            Ok(Err(_)) => Err(not_ready("Herald is shutting down".to_owned())),
            Ok(Ok(state)) => match state.as_ref() {
                Some(Ok(parts)) => Ok(parts.clone()),
                Some(Err(why)) => Err(not_ready(format!("Herald could not start: {why}"))),
                None => Err(not_ready("Herald is still starting".to_owned())),
            },
        }
    }
}
