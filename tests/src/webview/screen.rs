//! What lives outside the web view, seen on the X screen itself: a classic XEmbed system
//! tray ([`TrayHost`], `trayer`) for the app's icon to dock into, the windows on screen
//! ([`Screen::windows`]), clicks through the XTEST extension ([`Screen::click`]) and PNG
//! captures of the root window ([`Screen::save_png`]).
//!
//! libayatana-appindicator shows the tray icon as an XEmbed `GtkStatusIcon` when no
//! StatusNotifierWatcher is on the bus; with a tray host on the display the icon and its
//! menu become real pixels that can be clicked and captured.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use x11rb::connection::Connection as _;
use x11rb::protocol::xproto::{
    AtomEnum, ConnectionExt as _, ImageFormat, ImageOrder, MapState, Window,
};
use x11rb::rust_connection::RustConnection;

/// The `WM_CLASS` of trayer's panel ("panel", "trayer").
const TRAYER_CLASS: &str = "trayer";

/// A window on screen, in root coordinates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnScreen {
    pub id: Window,
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
    /// Menus and tooltips bypass the window manager.
    pub override_redirect: bool,
    /// `WM_CLASS`, instance and class joined by a space.
    pub class: String,
}

impl OnScreen {
    fn w(&self) -> i32 {
        i32::try_from(self.width).unwrap_or(i32::MAX)
    }

    fn h(&self) -> i32 {
        i32::try_from(self.height).unwrap_or(i32::MAX)
    }

    /// Whether it lies within `other`.
    pub fn inside(&self, other: &OnScreen) -> bool {
        self.x >= other.x
            && self.y >= other.y
            && self.x + self.w() <= other.x + other.w()
            && self.y + self.h() <= other.y + other.h()
    }

    pub fn center(&self) -> (i32, i32) {
        (
            self.x + i32::try_from(self.width / 2).unwrap_or(0),
            self.y + i32::try_from(self.height / 2).unwrap_or(0),
        )
    }
}

/// A rectangle of the screen, for cropping captures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
}

impl Rect {
    /// The smallest rectangle holding `windows`, grown by `margin` on each side.
    pub fn around(windows: &[&OnScreen], margin: i32) -> Option<Rect> {
        let x0 = windows.iter().map(|w| w.x).min()? - margin;
        let y0 = windows.iter().map(|w| w.y).min()? - margin;
        let right = |w: &&OnScreen| w.x + i32::try_from(w.width).unwrap_or(0);
        let bottom = |w: &&OnScreen| w.y + i32::try_from(w.height).unwrap_or(0);
        let x1 = windows.iter().map(right).max()? + margin;
        let y1 = windows.iter().map(bottom).max()? + margin;
        Some(Rect {
            x: x0,
            y: y0,
            width: u32::try_from(x1 - x0).ok()?,
            height: u32::try_from(y1 - y0).ok()?,
        })
    }
}

/// A client connection to an X display.
pub struct Screen {
    conn: RustConnection,
    root: Window,
    width: u16,
    height: u16,
}

impl std::fmt::Debug for Screen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Screen")
            .field("root", &self.root)
            .field("size", &(self.width, self.height))
            .finish()
    }
}

impl Screen {
    pub fn connect(display: &str) -> Screen {
        let (conn, n) = x11rb::connect(Some(display))
            .unwrap_or_else(|e| panic!("cannot connect to X display {display}: {e}"));
        let screen = &conn.setup().roots[n];
        let (root, width, height) = (screen.root, screen.width_in_pixels, screen.height_in_pixels);
        Screen {
            conn,
            root,
            width,
            height,
        }
    }

    /// Every viewable window, top-level or nested, depth first.
    pub fn windows(&self) -> Vec<OnScreen> {
        let mut found = Vec::new();
        let mut pending = vec![self.root];
        while let Some(parent) = pending.pop() {
            let Some(tree) = self
                .conn
                .query_tree(parent)
                .ok()
                .and_then(|c| c.reply().ok())
            else {
                continue;
            };
            for w in tree.children {
                let Some(attrs) = self
                    .conn
                    .get_window_attributes(w)
                    .ok()
                    .and_then(|c| c.reply().ok())
                else {
                    continue;
                };
                if attrs.map_state != MapState::VIEWABLE {
                    continue;
                }
                pending.push(w);
                let Some(geometry) = self.conn.get_geometry(w).ok().and_then(|c| c.reply().ok())
                else {
                    continue;
                };
                let Some(at) = self
                    .conn
                    .translate_coordinates(w, self.root, 0, 0)
                    .ok()
                    .and_then(|c| c.reply().ok())
                else {
                    continue;
                };
                found.push(OnScreen {
                    id: w,
                    x: at.dst_x.into(),
                    y: at.dst_y.into(),
                    width: geometry.width.into(),
                    height: geometry.height.into(),
                    override_redirect: attrs.override_redirect,
                    class: self.class(w),
                });
            }
        }
        found
    }

    /// Waits up to `timeout` until a system tray owns `_NET_SYSTEM_TRAY_S0`, so that an
    /// icon created from now on docks at once.
    pub fn wait_for_tray_manager(&self, timeout: std::time::Duration) {
        let atom = self
            .conn
            .intern_atom(false, b"_NET_SYSTEM_TRAY_S0")
            .map_err(x11rb::errors::ReplyError::from)
            .and_then(|c| c.reply())
            .unwrap_or_else(|e| panic!("intern _NET_SYSTEM_TRAY_S0: {e}"))
            .atom;
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let owner = self
                .conn
                .get_selection_owner(atom)
                .map_err(x11rb::errors::ReplyError::from)
                .and_then(|c| c.reply())
                .map(|r| r.owner)
                .unwrap_or(x11rb::NONE);
            if owner != x11rb::NONE {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no system tray took _NET_SYSTEM_TRAY_S0 within {timeout:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// The icon docked in the tray host whose `WM_CLASS` contains `class`
    /// (case-insensitive).
    pub fn docked_icon(&self, class: &str) -> Option<OnScreen> {
        let class = class.to_lowercase();
        let windows = self.windows();
        let panel = windows.iter().find(|w| w.class.contains(TRAYER_CLASS))?;
        windows
            .iter()
            .find(|w| {
                w.id != panel.id && w.inside(panel) && w.class.to_lowercase().contains(&class)
            })
            .cloned()
    }

    /// A popup menu (an override-redirect window) that opened beside `icon`, as a tray
    /// menu does; context menus of other windows open elsewhere.
    pub fn menu_beside(&self, icon: &OnScreen) -> Option<OnScreen> {
        const GAP: i32 = 48;
        self.windows().into_iter().find(|w| {
            let (right, bottom) = (w.x + w.w(), w.y + w.h());
            w.override_redirect
                && w.height > 40
                && right >= icon.x - GAP
                && w.x <= icon.x + icon.w() + GAP
                && bottom >= icon.y - GAP
                && w.y <= icon.y + icon.h() + GAP
        })
    }

    fn class(&self, w: Window) -> String {
        self.conn
            .get_property(false, w, AtomEnum::WM_CLASS, AtomEnum::STRING, 0, 256)
            .ok()
            .and_then(|c| c.reply().ok())
            .map(|p| {
                p.value
                    .split(|&b| b == 0)
                    .filter(|s| !s.is_empty())
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
    }

    /// Moves the pointer to (`x`, `y`) and clicks `button` (1 left, 3 right) through XTEST,
    /// as a real mouse would.
    pub fn click(&self, x: i32, y: i32, button: u8) {
        use x11rb::protocol::xproto::{
            BUTTON_PRESS_EVENT, BUTTON_RELEASE_EVENT, MOTION_NOTIFY_EVENT,
        };
        use x11rb::protocol::xtest::fake_input;
        let (x, y) = (
            i16::try_from(x).unwrap_or(i16::MAX),
            i16::try_from(y).unwrap_or(i16::MAX),
        );
        let sent = fake_input(&self.conn, MOTION_NOTIFY_EVENT, 0, 0, self.root, x, y, 0)
            .and_then(|_| {
                fake_input(
                    &self.conn,
                    BUTTON_PRESS_EVENT,
                    button,
                    0,
                    self.root,
                    0,
                    0,
                    0,
                )
            })
            .and_then(|_| self.conn.flush())
            .and_then(|_| {
                // A press and a release in the same instant read as nothing to some toolkits.
                std::thread::sleep(std::time::Duration::from_millis(60));
                fake_input(
                    &self.conn,
                    BUTTON_RELEASE_EVENT,
                    button,
                    0,
                    self.root,
                    0,
                    0,
                    0,
                )
            })
            .and_then(|_| self.conn.flush());
        if let Err(e) = sent {
            panic!("cannot click at {x},{y} through XTEST: {e}");
        }
    }

    /// Captures `rect` of the screen (all of it when `None`) into an RGB PNG at `path`.
    pub fn save_png(&self, path: &Path, rect: Option<Rect>) {
        let full = Rect {
            x: 0,
            y: 0,
            width: self.width.into(),
            height: self.height.into(),
        };
        let r = clamp(rect.unwrap_or(full), full);
        let to16 = |v: i64| i16::try_from(v).unwrap_or(0);
        let image = self
            .conn
            .get_image(
                ImageFormat::Z_PIXMAP,
                self.root,
                to16(r.x.into()),
                to16(r.y.into()),
                u16::try_from(r.width).unwrap_or(0),
                u16::try_from(r.height).unwrap_or(0),
                !0,
            )
            .map_err(x11rb::errors::ReplyError::from)
            .and_then(|c| c.reply())
            .unwrap_or_else(|e| panic!("cannot read the screen: {e}"));
        let setup = self.conn.setup();
        let bpp = setup
            .pixmap_formats
            .iter()
            .find(|f| f.depth == image.depth)
            .map(|f| f.bits_per_pixel)
            .unwrap_or(0);
        assert!(
            image.depth == 24 && bpp == 32 && setup.image_byte_order == ImageOrder::LSB_FIRST,
            "expected a 24-bit screen stored as 32-bit little-endian pixels, got depth {} at {bpp} \
             bits, {:?}",
            image.depth,
            setup.image_byte_order
        );
        // B, G, R, unused → R, G, B.
        let rgb: Vec<u8> = image
            .data
            .chunks_exact(4)
            .flat_map(|p| [p[2], p[1], p[0]])
            .collect();
        write_png(path, r.width, r.height, &rgb);
    }
}

fn clamp(r: Rect, full: Rect) -> Rect {
    let x0 = r.x.clamp(0, i32::try_from(full.width).unwrap_or(0));
    let y0 = r.y.clamp(0, i32::try_from(full.height).unwrap_or(0));
    let x1 = (r.x + i32::try_from(r.width).unwrap_or(0))
        .clamp(x0, i32::try_from(full.width).unwrap_or(0));
    let y1 = (r.y + i32::try_from(r.height).unwrap_or(0))
        .clamp(y0, i32::try_from(full.height).unwrap_or(0));
    Rect {
        x: x0,
        y: y0,
        width: u32::try_from(x1 - x0).unwrap_or(0),
        height: u32::try_from(y1 - y0).unwrap_or(0),
    }
}

fn write_png(path: &Path, width: u32, height: u32, rgb: &[u8]) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    }
    let file = std::fs::File::create(path)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder
        .write_header()
        .and_then(|mut w| w.write_image_data(rgb))
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// `trayer`, a freestanding XEmbed system tray, in the bottom right corner of a display,
/// where the app's windows (placed at the top left, there being no window manager) leave it
/// uncovered. Killed on drop.
#[derive(Debug)]
pub struct TrayHost {
    child: Child,
}

impl TrayHost {
    pub fn start(display: &str) -> TrayHost {
        let child = Command::new("trayer")
            .env("DISPLAY", display)
            .env("NO_AT_BRIDGE", "1")
            .args([
                "--edge",
                "bottom",
                "--align",
                "right",
                "--widthtype",
                "request",
            ])
            .args([
                "--height",
                "32",
                "--SetDockType",
                "false",
                "--tint",
                "0x2e3440",
            ])
            .args(["--transparent", "true", "--alpha", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run trayer ({e}): install the trayer package (apt-get install \
                     trayer / dnf install /usr/bin/trayer); `./dev setup` does it"
                )
            });
        TrayHost { child }
    }
}

impl Drop for TrayHost {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
