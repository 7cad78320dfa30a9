//! The files a run reads on the controller — the playbook and the task files it imports,
//! inventories, vars files, templates, files it copies — each with its SHA-256, so that the
//! run log can record exactly what ran.
//!
//! Files that hold secrets are listed without their digest: a short secret's SHA-256 could
//! be guessed back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

/// Every file read so far in this process, by its canonical path: its SHA-256, or `None`
/// for a secret. The first read of a file is the one kept.
static READ: Mutex<BTreeMap<PathBuf, Option<String>>> = Mutex::new(BTreeMap::new());

fn read_files() -> std::sync::MutexGuard<'static, BTreeMap<PathBuf, Option<String>>> {
    READ.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Note that `path` was read and held `bytes`.
pub fn record(path: &Path, bytes: &[u8], secret: bool) {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    // A task reads its sources once per host: digest them once.
    if read_files().contains_key(&path) {
        return;
    }
    let digest = (!secret).then(|| hex::encode(Sha256::digest(bytes)));
    read_files().entry(path).or_insert(digest);
}

/// An error unless `path` is a regular file (or a link to one). Files read during a run
/// must be: opening a named pipe waits for a writer, and reading a device or a socket may
/// never end, and a task stuck in such a read cannot be stopped (not even by SIGTERM).
pub fn regular_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let kind = std::fs::metadata(path)?.file_type();
    let what = if kind.is_file() {
        return Ok(());
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a named pipe (FIFO)"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "a device"
    };
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("it is {what}, not a regular file"),
    ))
}

/// `std::fs::read` of a regular file, noted.
pub fn read(path: &Path, secret: bool) -> std::io::Result<Vec<u8>> {
    regular_file(path)?;
    let bytes = std::fs::read(path)?;
    record(path, &bytes, secret);
    Ok(bytes)
}

/// Every file read so far, by canonical path, with its SHA-256 (`None` for a secret).
pub fn files() -> BTreeMap<PathBuf, Option<String>> {
    read_files().clone()
}
