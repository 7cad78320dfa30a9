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

/// `std::fs::read`, noted.
pub fn read(path: &Path, secret: bool) -> std::io::Result<Vec<u8>> {
    let bytes = std::fs::read(path)?;
    record(path, &bytes, secret);
    Ok(bytes)
}

/// `std::fs::read_to_string`, noted.
pub fn read_to_string(path: &Path) -> std::io::Result<String> {
    let text = std::fs::read_to_string(path)?;
    record(path, text.as_bytes(), false);
    Ok(text)
}

/// Every file read so far, by canonical path, with its SHA-256 (`None` for a secret).
pub fn files() -> BTreeMap<PathBuf, Option<String>> {
    read_files().clone()
}
