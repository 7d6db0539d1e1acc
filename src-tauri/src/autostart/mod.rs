//! Starting Herald at login: an XDG autostart entry (`$XDG_CONFIG_HOME/autostart/`) that
//! runs the app in the tray only. The entry is Herald's own file; turning the option off
//! removes it. Inside a Flatpak sandbox the Background portal ([`portal`]) writes it instead.

pub mod portal;

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AutostartError {
    #[error("no home directory to keep the autostart entry in")]
    NoHome,
    #[error("cannot find the running program to start at login")]
    NoExe(#[source] io::Error),
    #[error("cannot write the autostart entry {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the desktop did not let Herald start at login")]
    Portal(#[from] portal::PortalError),
    #[error("cannot remove the autostart entry {path}")]
    Remove {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Where the entry lives.
pub fn entry_path() -> Result<PathBuf, AutostartError> {
    let base = directories::BaseDirs::new().ok_or(AutostartError::NoHome)?;
    // Named after the app id, so it cannot clash with another program's entry.
    let file = format!("{}.desktop", herald_core::APP_ID);
    Ok(base.config_dir().join("autostart").join(file))
}

pub fn enabled() -> Result<bool, AutostartError> {
    if sandboxed() {
        return Ok(portal_marker()?.is_file());
    }
    Ok(entry_path()?.is_file())
}

/// Turns starting at login on or off: the entry written (pointing at this program,
/// `--tray`) or removed, or, in a Flatpak sandbox, asked of the Background portal.
pub async fn set(enabled: bool) -> Result<(), AutostartError> {
    if !sandboxed() {
        return set_entry(enabled);
    }
    portal::request(enabled).await?;
    // The portal offers no way to read the setting back: remember what it agreed to.
    let marker = portal_marker()?;
    let result = if enabled {
        marker
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&marker, b""))
    } else {
        std::fs::remove_file(&marker).or_else(|e| match e.kind() {
            io::ErrorKind::NotFound => Ok(()),
            _ => Err(e),
        })
    };
    result.map_err(|source| AutostartError::Write {
        path: marker,
        source,
    })
}

/// Whether this is a Flatpak sandbox, where the host's autostart folder is out of reach.
fn sandboxed() -> bool {
    std::path::Path::new("/.flatpak-info").is_file()
}

/// Inside the sandbox: that the portal agreed to start Herald at login.
fn portal_marker() -> Result<PathBuf, AutostartError> {
    let base = directories::BaseDirs::new().ok_or(AutostartError::NoHome)?;
    Ok(base.config_dir().join("herald").join("autostart-requested"))
}

fn set_entry(enabled: bool) -> Result<(), AutostartError> {
    let path = entry_path()?;
    if !enabled {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(AutostartError::Remove { path, source: e })
            }
            _ => Ok(()),
        };
    }
    let exe = std::env::current_exe().map_err(AutostartError::NoExe)?;
    let write = |source| AutostartError::Write {
        path: path.clone(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(write)?;
    }
    std::fs::write(&path, entry(&exe.to_string_lossy())).map_err(write)
}

/// The entry as shipped (`packaging/desktop/`, checked by desktop-file-validate), which
/// starts `herald-desktop --tray` from the PATH.
const TEMPLATE: &str =
    include_str!("../../../packaging/desktop/io.github.herald.Herald-autostart.desktop");
const TEMPLATE_EXEC: &str = "Exec=herald-desktop --tray\n";

/// The desktop entry text: the shipped entry, started from this very program. `Exec`
/// quoting follows the Desktop Entry spec: the path in double quotes, with `"`, `` ` ``,
/// `$` and `\` escaped.
pub fn entry(exe: &str) -> String {
    let mut quoted = String::with_capacity(exe.len() + 2);
    quoted.push('"');
    for c in exe.chars() {
        if matches!(c, '"' | '`' | '$' | '\\') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    // A literal `%` would start a field code.
    let quoted = quoted.replace('%', "%%");
    TEMPLATE.replace(TEMPLATE_EXEC, &format!("Exec={quoted} --tray\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_line_quotes_odd_paths_and_starts_in_the_tray() {
        let text = entry("/opt/my apps/$herald\"%");
        let exec = text
            .lines()
            .find_map(|l| l.strip_prefix("Exec="))
            .expect("an Exec line");
        assert_eq!(exec, r#""/opt/my apps/\$herald\"%%" --tray"#);
    }

    #[test]
    fn the_entry_is_the_shipped_one_with_only_exec_changed() {
        assert_eq!(TEMPLATE.matches(TEMPLATE_EXEC).count(), 1, "{TEMPLATE}");
        let text = entry("/usr/bin/herald-desktop");
        let changed: Vec<_> = TEMPLATE
            .lines()
            .zip(text.lines())
            .filter(|(a, b)| a != b)
            .collect();
        assert_eq!(
            changed,
            [(
                "Exec=herald-desktop --tray",
                r#"Exec="/usr/bin/herald-desktop" --tray"#
            )]
        );
        assert_eq!(TEMPLATE.lines().count(), text.lines().count());
        assert!(text.contains(&format!("Icon={}\n", herald_core::APP_ID)));
    }
}
