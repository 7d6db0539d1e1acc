//! The pictures: PNG decoding ([`Pixels`]) and the tray icons of `icons/` to tell which one
//! an item shows ([`TrayIcons`]).

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// The repository's `icons/` folder.
pub fn icons_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../icons")
}

/// A decoded image: size and 8-bit RGBA pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pixels {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

impl Pixels {
    pub fn read(path: &Path) -> Result<Pixels, String> {
        let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut decoder = png::Decoder::new(BufReader::new(file));
        decoder.set_transformations(png::Transformations::EXPAND);
        let mut reader = decoder
            .read_info()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let mut buf = vec![0; reader.output_buffer_size().unwrap_or(0)];
        let info = reader
            .next_frame(&mut buf)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        buf.truncate(info.buffer_size());
        let rgba = match info.color_type {
            png::ColorType::Rgba => buf,
            png::ColorType::Rgb => buf
                .chunks(3)
                .flat_map(|p| [p[0], p[1], p[2], 255])
                .collect(),
            other => {
                return Err(format!(
                    "{}: unexpected colour type {other:?}",
                    path.display()
                ))
            }
        };
        Ok(Pixels {
            width: info.width,
            height: info.height,
            rgba,
        })
    }
}

/// The tray icons of `icons/`, to tell which one an item shows.
#[derive(Debug)]
pub struct TrayIcons(Vec<(&'static str, Pixels)>);

impl TrayIcons {
    pub fn load() -> TrayIcons {
        TrayIcons(
            ["normal", "unread", "offline", "paused"]
                .into_iter()
                .map(|state| {
                    let path = icons_dir().join(format!("tray-{state}.png"));
                    (state, Pixels::read(&path).unwrap_or_else(|e| panic!("{e}")))
                })
                .collect(),
        )
    }

    /// `normal`, `unread`, `offline` or `paused`, if `pixels` is one of them.
    pub fn which(&self, pixels: &Pixels) -> Option<&'static str> {
        self.0.iter().find(|(_, p)| p == pixels).map(|(s, _)| *s)
    }
}
