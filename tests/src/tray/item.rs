//! A registered StatusNotifierItem read over the bus ([`StatusItem`]): its properties, its
//! picture, and its menu through `com.canonical.dbusmenu` ([`MenuEntry`]), clicked the way a
//! panel does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use zbus::{Connection, OwnedVariant, Structure, Variant};

use super::{Pixels, Registration, ITEM_INTERFACE, MENU_INTERFACE};
use crate::dbus::SessionBus;

/// One entry of a dbusmenu layout.
#[derive(Debug, Clone, PartialEq)]
pub struct MenuEntry {
    pub id: i32,
    /// The label as sent: `_` marks a mnemonic, `__` is a literal underscore.
    pub raw_label: String,
    pub enabled: bool,
    pub visible: bool,
    /// `separator` for separators, empty for ordinary items.
    pub kind: String,
}

impl MenuEntry {
    /// The label as shown: mnemonic markers removed.
    pub fn label(&self) -> String {
        let mut out = String::new();
        let mut chars = self.raw_label.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '_' {
                if chars.peek() == Some(&'_') {
                    chars.next();
                    out.push('_');
                }
                continue;
            }
            out.push(c);
        }
        out
    }

    pub fn is_separator(&self) -> bool {
        self.kind == "separator"
    }
}

/// A registered StatusNotifierItem, read and clicked over the bus.
#[derive(Debug)]
pub struct StatusItem {
    conn: Connection,
    pub bus_name: String,
    pub path: String,
}

impl StatusItem {
    pub fn new(bus: &SessionBus, registration: &Registration) -> StatusItem {
        let (bus_name, path) = registration.address();
        StatusItem {
            conn: bus.connect(),
            bus_name,
            path,
        }
    }

    /// Every property of the item, in debug form (for messages).
    pub fn properties(&self) -> BTreeMap<String, String> {
        let reply = self.call(
            &self.path,
            "org.freedesktop.DBus.Properties",
            "GetAll",
            &(ITEM_INTERFACE,),
        );
        let all: std::collections::HashMap<String, OwnedVariant> =
            reply.body().deserialize().expect("GetAll returns a{sv}");
        all.into_iter()
            .map(|(k, v)| (k, format!("{:?}", &*v)))
            .collect()
    }

    /// One property of the item.
    pub fn property(&self, name: &str) -> OwnedVariant {
        let reply = self.call(
            &self.path,
            "org.freedesktop.DBus.Properties",
            "Get",
            &(ITEM_INTERFACE, name),
        );
        reply
            .body()
            .deserialize::<OwnedVariant>()
            .unwrap_or_else(|e| panic!("property {name}: {e}"))
    }

    pub fn string_property(&self, name: &str) -> String {
        match unwrap_variant(&self.property(name)) {
            Variant::Str(s) => s.as_str().to_owned(),
            Variant::ObjectPath(p) => p.as_str().to_owned(),
            other => panic!("property {name} is not a string: {other:?}"),
        }
    }

    /// The object path of the item's menu (`Menu` property).
    pub fn menu_path(&self) -> String {
        self.string_property("Menu")
    }

    /// The menu as `GetLayout(0, -1, [])` returns it: the root's children, depth first.
    pub fn menu(&self) -> Vec<MenuEntry> {
        let path = self.menu_path();
        let reply = self.call(
            &path,
            MENU_INTERFACE,
            "GetLayout",
            &(0i32, -1i32, Vec::<String>::new()),
        );
        let body = reply.body();
        let body = body
            .deserialize::<Structure>()
            .expect("GetLayout returns (u(ia{sv}av))");
        let root = body.fields().get(1).expect("GetLayout returns a layout");
        let mut entries = Vec::new();
        if let Variant::Structure(root) = unwrap_variant(root) {
            for child in children(root) {
                flatten(child, &mut entries);
            }
        }
        entries
    }

    /// The visible, non-separator entries' shown labels.
    pub fn labels(&self) -> Vec<String> {
        self.menu()
            .iter()
            .filter(|e| e.visible && !e.is_separator())
            .map(MenuEntry::label)
            .collect()
    }

    /// The entry shown as `label`; panics with the whole menu if there is none.
    pub fn entry(&self, label: &str) -> MenuEntry {
        let menu = self.menu();
        menu.iter()
            .find(|e| e.label() == label)
            .cloned()
            .unwrap_or_else(|| panic!("no menu entry {label:?} in {menu:#?}"))
    }

    /// Clicks the entry `id` the way a panel does: `Event(id, "clicked", 0, 0)`.
    pub fn click(&self, id: i32) {
        let path = self.menu_path();
        self.call(
            &path,
            MENU_INTERFACE,
            "Event",
            &(id, "clicked", Variant::I32(0), 0u32),
        );
    }

    /// The picture the item shows, decoded. libappindicator publishes `IconName` as the path
    /// of a PNG file it wrote (or a theme icon name, which yields `None`).
    pub fn icon_pixels(&self) -> Option<Pixels> {
        let name = self.string_property("IconName");
        let path = if name.starts_with('/') {
            PathBuf::from(&name)
        } else {
            let dir = self.string_property("IconThemePath");
            let p = Path::new(&dir).join(format!("{name}.png"));
            if !p.exists() {
                return None;
            }
            p
        };
        // The file is replaced on every change; a vanished one is read again by the caller.
        Pixels::read(&path).ok()
    }

    fn call<B>(&self, path: &str, interface: &str, method: &str, body: &B) -> zbus::Message
    where
        B: zbus::export::serde::Serialize + zbus::wire::DynamicType,
    {
        zbus::block_on(self.conn.call_method(
            Some(self.bus_name.as_str()),
            path,
            Some(interface),
            method,
            body,
        ))
        .unwrap_or_else(|e| panic!("{interface}.{method} on {} {path}: {e}", self.bus_name))
    }
}

fn unwrap_variant<'a, 'b>(v: &'a Variant<'b>) -> &'a Variant<'b> {
    match v {
        Variant::Variant(inner) => unwrap_variant(inner),
        other => other,
    }
}

fn children<'a, 'b>(layout: &'a Structure<'b>) -> Vec<&'a Structure<'b>> {
    let Some(Variant::Array(items)) = layout.fields().get(2) else {
        return Vec::new();
    };
    items
        .inner()
        .iter()
        .filter_map(|c| match unwrap_variant(c) {
            Variant::Structure(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn flatten(layout: &Structure<'_>, out: &mut Vec<MenuEntry>) {
    let fields = layout.fields();
    let id = match fields.first() {
        Some(Variant::I32(id)) => *id,
        other => panic!("a layout starts with its id, not {other:?}"),
    };
    let mut entry = MenuEntry {
        id,
        raw_label: String::new(),
        enabled: true,
        visible: true,
        kind: String::new(),
    };
    if let Some(Variant::Dict(props)) = fields.get(1) {
        for (key, value) in props.iter() {
            let Variant::Str(key) = unwrap_variant(key) else {
                continue;
            };
            match (key.as_str(), unwrap_variant(value)) {
                ("label", Variant::Str(s)) => entry.raw_label = s.as_str().to_owned(),
                ("type", Variant::Str(s)) => entry.kind = s.as_str().to_owned(),
                ("enabled", Variant::Bool(b)) => entry.enabled = *b,
                ("visible", Variant::Bool(b)) => entry.visible = *b,
                _ => {}
            }
        }
    }
    out.push(entry);
    for child in children(layout) {
        flatten(child, out);
    }
}
