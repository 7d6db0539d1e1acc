//! Writing the config file so that nobody else can read it at any moment and no crash leaves
//! half of it, with one writer at a time across Herald's processes.
//!
//! A write creates a fresh temporary file beside the config, exclusively and with mode 0600
//! from the first byte (never widened by the umask, never narrowed by a `chmod` after the
//! fact), fills and fsyncs it, renames it over the config and then fsyncs the folder, so
//! that after a crash the file is the old one or the new one and never another user's to
//! read. The result is always 0600: a wider mode the file had before is tightened. A symlinked
//! config is written through to the file it points at. Folders Herald creates on the way are
//! 0700.
//!
//! The tray (Mute from a notification), the settings window and `herald rules` each read,
//! change and write the file. [`lock`] takes an advisory lock (`flock`) on a lock file beside
//! the config, which they hold across the whole read-modify-write, so none of them writes
//! over a change it has not seen. The lock file is never removed: removing it would let two
//! writers lock two different files.

use crate::error::ConfigError;
use rustix::fs::{flock, FlockOperation};
use rustix::io::Errno;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The config and its temporary and lock files: the user's alone.
pub(crate) const FILE_MODE: u32 = 0o600;
/// Folders Herald creates for the config.
pub(crate) const DIR_MODE: u32 = 0o700;
/// How long a writer waits for another process's read-modify-write: these take
/// milliseconds, so a lock held for seconds belongs to a process that is stuck.
pub const LOCK_WAIT: Duration = Duration::from_secs(5);
/// Symlinks followed at most, as the kernel does.
const MAX_LINKS: usize = 40;

/// Held while one process reads, changes and writes the config; the next writer gets in
/// once it is dropped (closing the file releases the lock).
#[derive(Debug)]
pub struct ConfigLock {
    _file: File,
}

/// Locks the config at `path` (its symlink's target, when it is one) for one writer,
/// waiting at most `wait` for another process to finish. The lock file and the folder are
/// created when missing.
pub fn lock(path: &Path, wait: Duration) -> Result<ConfigLock, ConfigError> {
    let target = resolve(path);
    let lock_path = sibling(&target, "lock");
    let write_err = |source| ConfigError::Write {
        path: lock_path.clone(),
        source,
    };
    create_private_dir(&folder(&target)).map_err(write_err)?;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(FILE_MODE)
        .open(&lock_path)
        .map_err(write_err)?;
    let deadline = Instant::now() + wait;
    let mut pause = Duration::from_millis(1);
    loop {
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(ConfigLock { _file: file }),
            Err(Errno::INTR) => {}
            Err(Errno::WOULDBLOCK) if Instant::now() < deadline => {
                // Jittered, so two waiting writers do not retry in step.
                let jitter = Duration::from_micros(fastrand::u64(..500));
                std::thread::sleep(pause + jitter);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Err(Errno::WOULDBLOCK) => return Err(ConfigError::Locked { path: target }),
            Err(e) => return Err(write_err(e.into())),
        }
    }
}

/// Replaces the file at `path` (its symlink's target, when it is one) with `bytes`:
/// private from the first byte, atomic, and on disk, folder entry included, when this
/// returns. The caller holds the [`lock`] when it read the file first.
pub fn replace(path: &Path, bytes: &[u8]) -> Result<(), ConfigError> {
    let target = resolve(path);
    let write_err = |source| ConfigError::Write {
        path: target.clone(),
        source,
    };
    let dir = folder(&target);
    create_private_dir(&dir).map_err(write_err)?;
    let (tmp, file) = create_temp(&target).map_err(write_err)?;
    let result = fill_and_rename(file, &tmp, &target, &dir, bytes);
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(write_err)
}

/// Creates `dir` and the folders above it that are missing, each 0700; folders that exist
/// are left as they are.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)
}

/// The file a write to `path` lands in: a symlink's final target, also when that does not
/// exist yet (a dotfile manager's link to a file still to be written).
pub(crate) fn resolve(path: &Path) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(path) {
        return real;
    }
    let mut p = path.to_owned();
    for _ in 0..MAX_LINKS {
        match std::fs::read_link(&p) {
            Ok(next) if next.is_absolute() => p = next,
            Ok(next) => p = folder(&p).join(next),
            Err(_) => break,
        }
    }
    p
}

/// The folder holding `file`; `.` for a bare file name.
fn folder(file: &Path) -> PathBuf {
    match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// `.config.toml.<suffix>` beside `target`: hidden, and named after the file it serves.
fn sibling(target: &Path, suffix: &str) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config.toml".to_owned());
    folder(target).join(format!(".{name}.{suffix}"))
}

/// A new temporary file beside `target`, created by this call alone (`O_EXCL`), so a file
/// or link someone placed under the name is never opened, and 0600 from the start.
fn create_temp(target: &Path) -> std::io::Result<(PathBuf, File)> {
    let mut last = None;
    for _ in 0..16 {
        let tmp = sibling(target, &format!("{:016x}.tmp", fastrand::u64(..)));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::from(std::io::ErrorKind::AlreadyExists)))
}

fn fill_and_rename(
    mut file: File,
    tmp: &Path,
    target: &Path,
    dir: &Path,
    bytes: &[u8],
) -> std::io::Result<()> {
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(tmp, target)?;
    // The rename is a change to the folder: until the folder is on disk, a crash can bring
    // back the old entry, or none.
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests;
