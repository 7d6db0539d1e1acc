//! The history window's commands: search pages, facets, one message whole, read state.

use herald_core::history::{self, Facets, MessageDetail, Page, SearchQuery};
use tauri::{AppHandle, Runtime, State};

use crate::backend::Backend;
use crate::error::CommandError;

/// The most rows one page may ask for: the list asks for a screenful or two at a time.
const PAGE_MAX: u32 = 500;

/// One page of results, newest first; `next_before` asks for the next one.
#[tauri::command]
pub async fn search(
    backend: State<'_, Backend>,
    mut query: SearchQuery,
) -> Result<Page, CommandError> {
    query.limit = query.limit.clamp(1, PAGE_MAX);
    Ok(backend.parts().await?.store.page(&query).await?)
}

/// Counts per source, severity, user and package among the newest matches.
#[tauri::command]
pub async fn facets(
    backend: State<'_, Backend>,
    query: SearchQuery,
) -> Result<Facets, CommandError> {
    Ok(backend.parts().await?.store.facets(&query).await?)
}

/// The words and phrases a search for `text` matches, for highlighting.
#[tauri::command]
pub fn highlight_terms(text: String) -> Vec<String> {
    history::highlight_terms(&text)
}

/// A stored message whole, or `None` if it is not (or no longer) in the history.
#[tauri::command]
pub async fn message(
    backend: State<'_, Backend>,
    id: String,
) -> Result<Option<MessageDetail>, CommandError> {
    Ok(backend.parts().await?.store.detail(&id).await?)
}

/// Marks these messages read; returns how many were unread.
#[tauri::command]
pub async fn mark_read<R: Runtime>(
    app: AppHandle<R>,
    backend: State<'_, Backend>,
    ids: Vec<String>,
) -> Result<u64, CommandError> {
    let changed = backend.parts().await?.store.mark_read(&ids).await?;
    crate::host::seen(&app, &ids);
    Ok(changed)
}

/// Marks the whole history read; returns how many were unread.
#[tauri::command]
pub async fn mark_all_read<R: Runtime>(
    app: AppHandle<R>,
    backend: State<'_, Backend>,
) -> Result<u64, CommandError> {
    let changed = backend.parts().await?.store.mark_all_read().await?;
    crate::host::all_seen(&app);
    Ok(changed)
}
