//! The tray menu as data: its entries ([`MenuEntry`], a [`MenuModel`] top to bottom) and the
//! ids they are clicked by ([`MenuId`]), which travel through the desktop's menu protocol as
//! strings and come back in click events.

/// Tray menu entries. The id strings travel through the desktop's menu protocol and come back
/// in click events, so [`MenuId::parse`] is the only place a string becomes an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MenuId {
    /// The first line: the tooltip text, for desktops that show no tooltips (Linux). Disabled.
    Status,
    /// One of the latest notified messages, by message id.
    Message(String),
    /// A package behind upstream, by name: opens its timeline.
    Package(String),
    /// The count of packages behind upstream beyond those listed. Disabled.
    MoreBehind,
    PauseHour,
    PauseUntilResumed,
    Resume,
    OpenHistory,
    Settings,
    Quit,
}

const MESSAGE_PREFIX: &str = "message:";
const PACKAGE_PREFIX: &str = "package:";

impl MenuId {
    /// The entries that are always there, in menu order.
    pub const FIXED: [MenuId; 7] = [
        MenuId::Status,
        MenuId::PauseHour,
        MenuId::PauseUntilResumed,
        MenuId::Resume,
        MenuId::OpenHistory,
        MenuId::Settings,
        MenuId::Quit,
    ];

    pub fn to_id(&self) -> String {
        match self {
            MenuId::Status => "status".into(),
            MenuId::Message(id) => format!("{MESSAGE_PREFIX}{id}"),
            MenuId::Package(name) => format!("{PACKAGE_PREFIX}{name}"),
            MenuId::MoreBehind => "behind-more".into(),
            MenuId::PauseHour => "pause-hour".into(),
            MenuId::PauseUntilResumed => "pause".into(),
            MenuId::Resume => "resume".into(),
            MenuId::OpenHistory => "open-history".into(),
            MenuId::Settings => "settings".into(),
            MenuId::Quit => "quit".into(),
        }
    }

    pub fn parse(id: &str) -> Option<MenuId> {
        if let Some(message) = id.strip_prefix(MESSAGE_PREFIX) {
            return (!message.is_empty()).then(|| MenuId::Message(message.to_owned()));
        }
        if let Some(name) = id.strip_prefix(PACKAGE_PREFIX) {
            return (!name.is_empty()).then(|| MenuId::Package(name.to_owned()));
        }
        if id == MenuId::MoreBehind.to_id() {
            return Some(MenuId::MoreBehind);
        }
        MenuId::FIXED.into_iter().find(|m| m.to_id() == id)
    }

    /// The label of a fixed entry; `None` for the ones whose label is data.
    pub fn label(&self) -> Option<&'static str> {
        match self {
            MenuId::Status | MenuId::Message(_) | MenuId::Package(_) | MenuId::MoreBehind => None,
            MenuId::PauseHour => Some("Pause 1 h"),
            MenuId::PauseUntilResumed => Some("Pause until resumed"),
            MenuId::Resume => Some("Resume"),
            MenuId::OpenHistory => Some("Open history"),
            MenuId::Settings => Some("Settings"),
            MenuId::Quit => Some("Quit"),
        }
    }
}

/// One line of the menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MenuEntry {
    Item {
        id: MenuId,
        /// Plain text, shown as is.
        label: String,
        enabled: bool,
    },
    /// A submenu: its plain-text label, and its entries.
    Submenu {
        label: String,
        entries: Vec<MenuEntry>,
    },
    Separator,
}

/// The whole menu, top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuModel(pub Vec<MenuEntry>);
