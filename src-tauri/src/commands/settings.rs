//! The settings window's commands: read and save the settings, secrets into the keyring,
//! test a connection, and a dry run of draft rules over the history.

use std::time::Duration;

use herald_core::filter::DryRun;
use herald_core::secrets::{Secret, SecretKind};
use herald_core::settings::{self, ConnectionSettings, SaveReport, Settings, TestResult, Typed};
use tauri::{AppHandle, Runtime, State};

use crate::backend::Backend;
use crate::error::CommandError;

/// How long "Test connection" waits for the broker.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// The most messages one dry run may scan: a preview must come back while the user types.
const DRY_RUN_MAX: usize = 50_000;

/// The settings as the window edits them; no secret is in them, only whether one is stored.
#[tauri::command]
pub async fn get_settings(backend: State<'_, Backend>) -> Result<Settings, CommandError> {
    let parts = backend.parts().await?;
    // Keyring lookups are D-Bus round trips: off the async threads.
    let settings = tauri::async_runtime::spawn_blocking(move || {
        Settings::load(&parts.config_path, &parts.secrets)
    })
    .await
    .map_err(|e| CommandError::internal(&e))??;
    Ok(settings)
}

/// Writes what differs from the defaults and applies it without a restart.
#[tauri::command]
pub async fn save_settings<R: Runtime>(
    app: AppHandle<R>,
    backend: State<'_, Backend>,
    settings: Settings,
) -> Result<SaveReport, CommandError> {
    let parts = backend.parts().await?;
    let path = parts.config_path.clone();
    let report = tauri::async_runtime::spawn_blocking(move || settings::save(&path, &settings))
        .await
        .map_err(|e| CommandError::internal(&e))??;
    if report.changed {
        crate::host::apply_settings(&app, &parts.config_path).await?;
    }
    Ok(report)
}

/// Stores (or, with `None`, deletes) a connection's password or key passphrase in the OS
/// keyring, bound to the address `connection` names: it is given out for that address
/// only. The value never comes back over IPC.
#[tauri::command]
pub async fn set_secret(
    backend: State<'_, Backend>,
    connection: ConnectionSettings,
    kind: SecretKind,
    value: Option<String>,
) -> Result<(), CommandError> {
    let parts = backend.parts().await?;
    let value = value.map(Secret::new);
    tauri::async_runtime::spawn_blocking(move || {
        settings::store_secret(&connection, kind, value, &parts.secrets)
    })
    .await
    .map_err(|e| CommandError::internal(&e))??;
    Ok(())
}

/// Connects to the broker as `connection` says and reports how it went, in words for a
/// person: with the secrets `typed` for the test, and the stored ones only when
/// `connection` is the saved one.
#[tauri::command]
pub async fn test_connection(
    backend: State<'_, Backend>,
    connection: ConnectionSettings,
    typed: Option<Typed>,
) -> Result<TestResult, CommandError> {
    let parts = backend.parts().await?;
    Ok(settings::probe(
        &connection,
        typed.unwrap_or_default(),
        &parts.config_path,
        &parts.secrets,
        PROBE_TIMEOUT,
    )
    .await)
}

/// What the rules in `rules_toml` would do to the newest `limit` stored messages.
#[tauri::command]
pub async fn dry_run(
    backend: State<'_, Backend>,
    rules_toml: String,
    limit: usize,
) -> Result<DryRun, CommandError> {
    let parts = backend.parts().await?;
    let limit = limit.clamp(1, DRY_RUN_MAX);
    Ok(settings::dry_run(&parts.config_path, &rules_toml, &parts.store, limit).await?)
}
