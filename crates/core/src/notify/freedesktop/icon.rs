//! Which icon a notification carries: Herald's own source icons (`source-koji.png`, …)
//! from an icon folder, else a freedesktop themed icon name.

use std::path::{Path, PathBuf};

/// The themed icon used when no icon file can be found.
const FALLBACK_ICON: &str = "dialog-information";
/// Source keys Herald has drawn icons for (`icons/source-<key>.png`).
const SOURCE_KEYS: &[&str] = &["anitya", "bodhi", "copr", "generic", "koji", "pulp"];

/// See [`Freedesktop::default_icon_dir`](super::Freedesktop::default_icon_dir).
pub(super) fn default_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("HERALD_ICON_DIR").filter(|d| !d.is_empty()) {
        return Some(absolute(PathBuf::from(dir)));
    }
    let data = directories::BaseDirs::new().map(|b| b.data_dir().join("herald/icons"));
    if let Some(dir) = data.filter(|d| d.is_dir()) {
        return Some(absolute(dir));
    }
    let repo = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../icons"));
    repo.is_dir().then(|| absolute(repo.to_owned()))
}

/// See [`Freedesktop::icon_for`](super::Freedesktop::icon_for).
pub(super) fn resolve_icon(key: &str, icon_dir: Option<&Path>) -> String {
    if Path::new(key).is_absolute() {
        return key.to_owned();
    }
    if let Some(dir) = icon_dir {
        if is_icon_name(key) {
            let file = dir.join(format!("source-{key}.png"));
            if file.is_file() {
                return file.to_string_lossy().into_owned();
            }
        }
        let generic = dir.join("source-generic.png");
        if generic.is_file() {
            return generic.to_string_lossy().into_owned();
        }
    }
    if is_icon_name(key) && !SOURCE_KEYS.contains(&key) {
        key.to_owned()
    } else {
        FALLBACK_ICON.to_owned()
    }
}

/// A name fit for a file name and a themed icon: lower-case ASCII letters, digits, `-`, `_`.
fn is_icon_name(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// `p` made absolute (and resolved, if it exists): the server needs absolute icon paths.
pub(super) fn absolute(p: PathBuf) -> PathBuf {
    std::fs::canonicalize(&p)
        .or_else(|_| std::path::absolute(&p))
        .unwrap_or(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_icons() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["source-koji.png", "source-generic.png"] {
            std::fs::write(dir.path().join(name), b"png").expect("write icon");
        }
        let d = Some(dir.path());
        let path = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
        assert_eq!(resolve_icon("koji", d), path("source-koji.png"));
        assert_eq!(resolve_icon("bodhi", d), path("source-generic.png"));
        assert_eq!(
            resolve_icon("no-such-source", d),
            path("source-generic.png")
        );
        assert_eq!(
            resolve_icon("../../etc/passwd", d),
            path("source-generic.png")
        );
        assert_eq!(
            resolve_icon("/usr/share/icons/x.png", d),
            "/usr/share/icons/x.png"
        );
        assert_eq!(resolve_icon("koji", None), FALLBACK_ICON);
        assert_eq!(resolve_icon("dialog-warning", None), "dialog-warning");
        assert_eq!(resolve_icon("<b>", None), FALLBACK_ICON);
        assert_eq!(resolve_icon("", None), FALLBACK_ICON);
    }

    #[test]
    fn the_source_tree_has_an_icon_for_every_source_key() {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../icons"));
        for key in SOURCE_KEYS {
            assert!(
                dir.join(format!("source-{key}.png")).is_file(),
                "icons/source-{key}.png"
            );
        }
    }
}
