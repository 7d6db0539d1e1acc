//! Where the tray listens: a socket path a Unix socket can hold, in a folder that is the
//! user's alone, checked and fixed before the socket is bound there.

use std::io;
use std::os::unix::fs::{DirBuilderExt as _, FileTypeExt as _};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

use rustix::fs::{Mode, OFlags};

use super::own_uid;

/// The longest socket path: `sun_path` holds 108 bytes, the last of them the closing NUL.
pub const MAX_PATH: usize = 107;

/// See [`super::Server::bind`].
pub(super) fn bind(path: &Path) -> io::Result<UnixListener> {
    let len = path.as_os_str().len();
    if len > MAX_PATH {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "the socket path {} is {len} bytes long, more than the {MAX_PATH} a Unix \
                 socket's address holds (set XDG_RUNTIME_DIR to a shorter folder)",
                path.display()
            ),
        ));
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    private_folder(dir)?;
    if UnixStream::connect(path).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("another Herald answers on {}", path.display()),
        ));
    }
    match std::fs::symlink_metadata(path) {
        // A socket nobody answers on: left by a tray that was killed.
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path)?,
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "{} exists and is not a socket: Herald leaves it alone",
                    path.display()
                ),
            ))
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    let listener = UnixListener::bind(path)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Makes `dir` a folder only this user can enter: created 0700 when missing; refused when it
/// is a symbolic link, not a folder, or another user's (what another user owns, they can
/// open to anyone, or swap); group and other permissions taken off when it has them.
fn private_folder(dir: &Path) -> io::Result<()> {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            // Every folder made here is the user's alone, the intermediate ones too.
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
            std::fs::symlink_metadata(dir)?
        }
        Err(err) => return Err(err),
    };
    if meta.file_type().is_symlink() {
        return Err(refused(dir, "is a symbolic link"));
    }
    if !meta.is_dir() {
        return Err(refused(dir, "is not a folder"));
    }
    // Checked and fixed through one handle opened without following links, so the folder
    // whose owner is checked is the one whose mode is fixed, even if the name is swapped
    // meanwhile.
    let folder = rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|err| refused(dir, &format!("cannot be opened as a folder ({err})")))?;
    let stat = rustix::fs::fstat(&folder)?;
    let me = own_uid();
    if stat.st_uid != me {
        return Err(refused(
            dir,
            &format!(
                "belongs to uid {}, not to this user (uid {me})",
                stat.st_uid
            ),
        ));
    }
    let mode = stat.st_mode & 0o7777;
    if mode & 0o077 != 0 {
        rustix::fs::fchmod(&folder, Mode::from_raw_mode(0o700))?;
        tracing::warn!(
            "{} was open to other users (mode {mode:o}): made private (700)",
            dir.display()
        );
    }
    Ok(())
}

fn refused(dir: &Path, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!(
            "{} {why}: Herald listens for its windows only in a folder that is this user's \
             alone",
            dir.display()
        ),
    )
}
