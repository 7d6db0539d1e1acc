//! The tray icon: its menu, which is the only way to quit Herald, and its state icons.

use tauri::image::Image;
use tauri::menu::{Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Runtime};

use crate::window;

/// Identifies Herald's tray icon among any others the process owns.
pub const TRAY_ID: &str = "herald";

/// Tray menu entries. The id strings travel through the desktop's menu protocol and come back
/// in click events, so parsing them is the only place a string becomes an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuId {
    OpenWindow,
    Quit,
}

impl MenuId {
    pub const ALL: [MenuId; 2] = [MenuId::OpenWindow, MenuId::Quit];

    pub fn as_str(self) -> &'static str {
        match self {
            MenuId::OpenWindow => "open-window",
            MenuId::Quit => "quit",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            MenuId::OpenWindow => "Open Herald",
            MenuId::Quit => "Quit",
        }
    }

    pub fn parse(id: &str) -> Option<MenuId> {
        MenuId::ALL.into_iter().find(|m| m.as_str() == id)
    }
}

/// What the tray icon tells at a glance; each state has its own picture in `icons/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayState {
    Normal,
    Unread,
    Offline,
    Paused,
}

impl TrayState {
    pub fn icon(self) -> Image<'static> {
        match self {
            TrayState::Normal => tauri::include_image!("../icons/tray-normal.png"),
            TrayState::Unread => tauri::include_image!("../icons/tray-unread.png"),
            TrayState::Offline => tauri::include_image!("../icons/tray-offline.png"),
            TrayState::Paused => tauri::include_image!("../icons/tray-paused.png"),
        }
    }
}

/// Creates the tray icon. Needs a desktop session (GTK on Linux), which is why it is not part
/// of [`crate::run_app`].
pub fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<TrayIcon<R>> {
    let open = menu_item(app, MenuId::OpenWindow)?;
    let quit = menu_item(app, MenuId::Quit)?;
    let separator = PredefinedMenuItem::separator(app)?;
    let menu = Menu::with_items(app, &[&open, &separator, &quit])?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(TrayState::Normal.icon())
        .tooltip("Herald")
        .menu(&menu)
        .on_menu_event(on_menu_event)
        .build(app)
}

fn menu_item<R: Runtime>(app: &AppHandle<R>, id: MenuId) -> tauri::Result<MenuItem<R>> {
    MenuItem::with_id(app, id.as_str(), id.label(), true, None::<&str>)
}

fn on_menu_event<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    match MenuId::parse(event.id().as_ref()) {
        Some(MenuId::OpenWindow) => {
            if let Err(err) = window::show_main(app) {
                tracing::error!("cannot open the main window: {err}");
            }
        }
        Some(MenuId::Quit) => app.exit(0),
        None => tracing::warn!(id = event.id().as_ref(), "unknown tray menu item"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn menu_ids_round_trip_and_are_unique() {
        for id in MenuId::ALL {
            assert_eq!(MenuId::parse(id.as_str()), Some(id));
        }
        assert_eq!(MenuId::parse("open"), None);
    }

    #[test]
    fn every_tray_state_has_a_square_icon() {
        for state in [
            TrayState::Normal,
            TrayState::Unread,
            TrayState::Offline,
            TrayState::Paused,
        ] {
            let icon = state.icon();
            assert_eq!((icon.width(), icon.height()), (64, 64), "{state:?}");
        }
    }
}
