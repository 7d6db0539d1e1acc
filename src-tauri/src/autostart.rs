//! Starting Herald at login: an XDG autostart entry (`$XDG_CONFIG_HOME/autostart/`) that
//! runs the app in the tray only. The entry is Herald's own file; turning the option off
//! removes it.

use std::io;
use std::path::PathBuf;

/// The entry's file name, after the app id so it cannot clash with another program's.
const FILE: &str = "io.github.herald.Herald.desktop";

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
    Ok(base.config_dir().join("autostart").join(FILE))
}

pub fn enabled() -> Result<bool, AutostartError> {
    Ok(entry_path()?.is_file())
}

/// Writes the entry (pointing at this program, `--tray`) or removes it.
pub fn set(enabled: bool) -> Result<(), AutostartError> {
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

/// The desktop entry text. `Exec` quoting follows the Desktop Entry spec: the path in double
/// quotes, with `"`, `` ` ``, `$` and `\` escaped.
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
    format!(
        "[Desktop Entry]\nType=Application\nName=Herald\n\
         Comment=Fedora messaging bus in your tray\nExec={quoted} --tray\n\
         Icon=io.github.herald.Herald\nTerminal=false\nX-GNOME-Autostart-enabled=true\n"
    )
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
}
