//! The history window's Packages view: the packages the user's profile covers, and one
//! package's timeline.

use herald_core::packages::{PackageSummary, TimelineEvent};
use tauri::State;
use time::OffsetDateTime;

use crate::backend::Backend;
use crate::error::CommandError;

/// The longest package name asked for: RPM names are far shorter.
const NAME_MAX: usize = 255;

/// The packages `[herald.profile]` covers (watched, and those its users built or submitted
/// updates for; every package when it names neither), the one most in need of its
/// packager first. The config is read as it is now, so a profile just saved applies.
#[tauri::command]
pub async fn packages(backend: State<'_, Backend>) -> Result<Vec<PackageSummary>, CommandError> {
    let parts = backend.parts().await?;
    let config = parts.config()?;
    Ok(parts
        .store
        .profile_packages(&config.herald, OffsetDateTime::now_utc())
        .await?)
}

/// One package's timeline in time order (the newest events when it is long).
#[tauri::command]
pub async fn package_timeline(
    backend: State<'_, Backend>,
    name: String,
) -> Result<Vec<TimelineEvent>, CommandError> {
    if name.is_empty() || name.len() > NAME_MAX {
        return Err(CommandError::invalid(format!(
            "a package name has 1 to {NAME_MAX} bytes"
        )));
    }
    Ok(backend.parts().await?.store.package_timeline(&name).await?)
}
