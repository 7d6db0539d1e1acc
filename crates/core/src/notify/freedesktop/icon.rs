//! Which icon a notification carries: Herald's own source icons (`source-koji.png`, …)
//! from an icon folder, else a freedesktop themed icon name. Installed builds find the folder
//! as `herald/icons` under the XDG data directories (`/usr/share`, a Flatpak's `/app/share`).

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
    let user = directories::BaseDirs::new().map(|b| b.data_dir().to_owned());
    let system = std::env::var_os("XDG_DATA_DIRS").filter(|d| !d.is_empty());
    let system = system.unwrap_or_else(|| "/usr/local/share:/usr/share".into());
    let repo = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../icons"));
    first_icon_dir(user, std::env::split_paths(&system), repo).map(absolute)
}

/// The first existing `herald/icons` folder: the user's data directory, then the system's in
/// order (relative entries are ignored, as the XDG spec says), then the source tree's icons.
fn first_icon_dir(
    user: Option<PathBuf>,
    system: impl IntoIterator<Item = PathBuf>,
    repo: &Path,
) -> Option<PathBuf> {
    user.into_iter()
        .chain(system.into_iter().filter(|d| d.is_absolute()))
        .map(|d| d.join("herald/icons"))
        .chain(std::iter::once(repo.to_owned()))
        .find(|d| d.is_dir())
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
    fn icon_folder_is_looked_up_user_first_then_system_dirs_then_the_source_tree() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = |name: &str| root.path().join(name);
        let icons = |name: &str| {
            let d = dir(name).join("herald/icons");
            std::fs::create_dir_all(&d).expect("mkdir");
            d
        };
        let repo = dir("repo");
        std::fs::create_dir_all(&repo).expect("mkdir repo");
        let (user, usr, app) = (dir("user"), dir("usr"), dir("app"));

        // Nothing installed: the source tree.
        let found = first_icon_dir(Some(user.clone()), [usr.clone(), app.clone()], &repo);
        assert_eq!(found, Some(repo.clone()));
        // A system folder, in XDG_DATA_DIRS order; relative entries are skipped.
        let app_icons = icons("app");
        let found = first_icon_dir(
            Some(user.clone()),
            [PathBuf::from("app"), usr.clone(), app.clone()],
            &repo,
        );
        assert_eq!(found, Some(app_icons));
        let usr_icons = icons("usr");
        let found = first_icon_dir(Some(user.clone()), [usr.clone(), app.clone()], &repo);
        assert_eq!(found, Some(usr_icons));
        // The user's own folder wins.
        let user_icons = icons("user");
        let found = first_icon_dir(Some(user), [usr, app], &repo);
        assert_eq!(found, Some(user_icons));
        // None at all.
        assert_eq!(first_icon_dir(None, [], &dir("nowhere")), None);
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
