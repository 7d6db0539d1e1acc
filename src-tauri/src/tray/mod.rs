//! The tray icon: Tauri glue around [`model`], which decides what to show. Pipeline events
//! and menu clicks update the shared [`Tray`]; one render task turns the model's view into the
//! icon, tooltip and menu, at most a few times per second and only where something changed;
//! another reads the package model for the "Behind upstream" submenu ([`behind`]) after each
//! stored batch and every hour. The menu is the only way to quit Herald.

pub mod behind;
pub mod catch_up;
mod label;
mod menu;
pub mod model;

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tauri::image::Image;
use tauri::menu::{IsMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Runtime};
use tokio::sync::Notify;

use crate::backend::Backend;
use crate::host;
use crate::pipeline;
use crate::status::Focus;
use crate::window::Window;
pub use model::{MenuEntry, MenuId, MenuModel, TrayModel, TrayState, TrayView};

/// Identifies Herald's tray icon among any others the process owns.
pub const TRAY_ID: &str = "herald";

/// The tray is redrawn at most once per this interval, however fast messages arrive.
const THROTTLE: Duration = Duration::from_millis(250);

/// The package model is read for the tray at most once per this interval: a catch-up
/// stores a batch every few milliseconds.
const BEHIND_THROTTLE: Duration = Duration::from_secs(5);

/// How long to wait before reading the package model again after it could not be read
/// (Herald still starting, or a broken config).
const BEHIND_RETRY: Duration = Duration::from_secs(30);

/// The tray's model, shared by the pipeline listener, the menu and the render task (managed
/// state of the app).
#[derive(Debug, Default)]
pub struct Tray {
    model: Mutex<TrayModel>,
    dirty: Notify,
    /// A batch with new messages was stored: the package model may have changed.
    stored: Notify,
}

impl Tray {
    /// Changes the model on the user's behalf and asks for a redraw.
    pub fn update<T>(&self, f: impl FnOnce(&mut TrayModel) -> T) -> T {
        let result = f(&mut self.lock());
        self.dirty.notify_one();
        result
    }

    /// Takes in a pipeline event; asks for a redraw only if it may change the view, and
    /// says whether it did.
    pub fn apply(&self, event: &herald_core::pipeline::PipelineEvent) -> bool {
        if let herald_core::pipeline::PipelineEvent::Committed(report) = event {
            if report.stored > 0 {
                self.stored.notify_one();
            }
        }
        let changed = self.lock().apply(event);
        if changed {
            self.dirty.notify_one();
        }
        changed
    }

    /// The packages behind upstream now, for the submenu.
    pub fn set_behind(&self, list: Vec<behind::Behind>) {
        if self.lock().set_behind(list) {
            self.dirty.notify_one();
        }
    }

    /// The pipeline is not running, and why.
    pub fn halt(&self, why: String) {
        self.update(|m| m.halt(why));
    }

    /// How long notifications stay paused from now, if they are (see
    /// [`TrayModel::pause_left`]).
    pub fn pause_left(&self) -> Option<Option<Duration>> {
        self.lock().pause_left(Instant::now())
    }

    /// Herald's state as the windows show it.
    pub fn status(&self) -> crate::status::Status {
        self.lock()
            .status(Instant::now(), time::OffsetDateTime::now_utc())
    }

    /// What the tray should show at `now`.
    pub fn view(&self, now: Instant) -> TrayView {
        self.lock().view(now)
    }

    fn lock(&self) -> MutexGuard<'_, TrayModel> {
        // The model stays consistent between calls; a panic elsewhere must not hide the tray.
        self.model.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Creates the tray icon and starts redrawing it as the model changes. Needs a desktop
/// session (GTK on Linux), which is why it is not part of [`crate::run_app`].
pub fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let view = app.state::<Tray>().view(Instant::now());
    let menu = build_menu(app, &view.menu)?;
    let mut builder = TrayIconBuilder::with_id(TRAY_ID);
    if let Some(dir) = icon_folder() {
        builder = builder.temp_dir_path(dir);
    }
    builder
        .icon(icon(view.state))
        .tooltip(&view.tooltip)
        .menu(&menu)
        .on_menu_event(on_menu_event)
        .build(app)?;
    tauri::async_runtime::spawn(render(app.clone(), view));
    Ok(())
}

/// Where the tray library writes the picture it hands to the panel: Herald's own cache
/// folder. Its default, `$XDG_RUNTIME_DIR/tray-icon`, is shared with every app using the
/// library and, inside a Flatpak sandbox, is a private folder the host's panel cannot read;
/// `$XDG_CACHE_HOME` inside the sandbox is a real folder of the host's.
pub fn icon_folder() -> Option<std::path::PathBuf> {
    directories::ProjectDirs::from("", "", "herald").map(|d| d.cache_dir().join("tray-icon"))
}

/// The picture of each state, from `icons/`.
pub fn icon(state: TrayState) -> Image<'static> {
    match state {
        TrayState::Normal => tauri::include_image!("../icons/tray-normal.png"),
        TrayState::Unread => tauri::include_image!("../icons/tray-unread.png"),
        TrayState::Offline => tauri::include_image!("../icons/tray-offline.png"),
        TrayState::Paused => tauri::include_image!("../icons/tray-paused.png"),
    }
}

/// Menu text for a plain label: the menu library reads `&` as a mnemonic marker, `&&` as `&`.
pub fn menu_text(label: &str) -> String {
    label.replace('&', "&&")
}

fn build_menu<R: Runtime>(app: &AppHandle<R>, model: &MenuModel) -> tauri::Result<Menu<R>> {
    let items = menu_items(app, &model.0)?;
    let refs: Vec<&dyn IsMenuItem<R>> = items.iter().map(AsRef::as_ref).collect();
    Menu::with_items(app, &refs)
}

fn menu_items<R: Runtime>(
    app: &AppHandle<R>,
    entries: &[MenuEntry],
) -> tauri::Result<Vec<Box<dyn IsMenuItem<R>>>> {
    let mut items: Vec<Box<dyn IsMenuItem<R>>> = Vec::with_capacity(entries.len());
    for entry in entries {
        match entry {
            MenuEntry::Item { id, label, enabled } => items.push(Box::new(MenuItem::with_id(
                app,
                id.to_id(),
                menu_text(label),
                *enabled,
                None::<&str>,
            )?)),
            MenuEntry::Submenu { label, entries } => {
                let children = menu_items(app, entries)?;
                let refs: Vec<&dyn IsMenuItem<R>> = children.iter().map(AsRef::as_ref).collect();
                items.push(Box::new(Submenu::with_items(
                    app,
                    menu_text(label),
                    true,
                    &refs,
                )?));
            }
            MenuEntry::Separator => items.push(Box::new(PredefinedMenuItem::separator(app)?)),
        }
    }
    Ok(items)
}

/// Redraws the tray when the model changes or a timed pause ends, then rests for
/// [`THROTTLE`]; changes made meanwhile are drawn together after the rest.
async fn render<R: Runtime>(app: AppHandle<R>, mut shown: TrayView) {
    loop {
        let tray = app.state::<Tray>();
        let wake = tray.lock().next_change(Instant::now());
        tokio::select! {
            _ = tray.dirty.notified() => {}
            _ = sleep_until(wake) => {}
        }
        let view = tray.view(Instant::now());
        if let Err(err) = redraw(&app, &shown, &view) {
            tracing::warn!("cannot update the tray icon: {err}");
        }
        shown = view;
        tokio::time::sleep(THROTTLE).await;
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

fn redraw<R: Runtime>(app: &AppHandle<R>, shown: &TrayView, view: &TrayView) -> tauri::Result<()> {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return Ok(());
    };
    if view.state != shown.state {
        tracing::debug!(state = ?view.state, "tray icon");
        tray.set_icon(Some(icon(view.state)))?;
    }
    if view.tooltip != shown.tooltip {
        // Unsupported on Linux, where the menu's first line says the same.
        tray.set_tooltip(Some(&view.tooltip))?;
    }
    if view.menu != shown.menu {
        tray.set_menu(Some(build_menu(app, &view.menu)?))?;
    }
    Ok(())
}

/// Keeps the "Behind upstream" submenu current: reads the package model of the profile's
/// packages when a batch was stored (at most every 5 s) and every
/// [`behind::REFRESH_EVERY`], with the config as its file says now.
pub fn keep_behind_current<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let tray = app.state::<Tray>();
        loop {
            let wait = match read_behind(&app).await {
                Ok(list) => {
                    tray.set_behind(list);
                    behind::REFRESH_EVERY
                }
                Err(err) => {
                    tracing::debug!("cannot read the packages behind upstream: {err:#}");
                    BEHIND_RETRY
                }
            };
            tokio::select! {
                _ = tray.stored.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
            tokio::time::sleep(BEHIND_THROTTLE).await;
        }
    });
}

async fn read_behind<R: Runtime>(app: &AppHandle<R>) -> anyhow::Result<Vec<behind::Behind>> {
    let parts = app.state::<Backend>().parts().await?;
    let config = parts.config()?;
    let now = time::OffsetDateTime::now_utc();
    let summaries = parts.store.profile_packages(&config.herald, now).await?;
    Ok(behind::behind(
        &summaries,
        config.herald.packages.behind_after(),
        now,
    ))
}

fn on_menu_event<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    match MenuId::parse(event.id().as_ref()) {
        Some(id) => act(app, id),
        None => tracing::warn!(id = event.id().as_ref(), "unknown tray menu item"),
    }
}

/// Does what a menu entry says.
pub fn act<R: Runtime>(app: &AppHandle<R>, id: MenuId) {
    let tray = app.state::<Tray>();
    let now = Instant::now();
    match id {
        MenuId::Status | MenuId::MoreBehind => {}
        MenuId::Package(name) => {
            host::open(app, Window::History, Some(Focus::Package { name }));
        }
        MenuId::Message(id) => {
            tray.update(|m| m.mark_seen(&id));
            host::open(app, Window::History, Some(Focus::Message { id }));
        }
        MenuId::PauseHour => {
            pipeline::pause(app, Some(model::PAUSE_HOUR));
            tray.update(|m| m.pause(Some(now + model::PAUSE_HOUR)));
        }
        MenuId::PauseUntilResumed => {
            pipeline::pause(app, None);
            tray.update(|m| m.pause(None));
        }
        MenuId::Resume => {
            pipeline::resume(app);
            tray.update(TrayModel::resume);
        }
        MenuId::OpenHistory => {
            tray.update(TrayModel::mark_all_seen);
            host::open(app, Window::History, None);
        }
        MenuId::Settings => host::open(app, Window::Settings, None),
        MenuId::Quit => crate::quit(app),
    }
    host::publish_status(app);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tray_state_has_a_square_icon() {
        for state in TrayState::ALL {
            let icon = icon(state);
            assert_eq!((icon.width(), icon.height()), (64, 64), "{state:?}");
        }
    }

    #[test]
    fn ampersands_survive_the_menu_library() {
        assert_eq!(menu_text("Tom & Jerry && co"), "Tom && Jerry &&&& co");
        assert_eq!(menu_text("a_b"), "a_b");
    }
}
