//! The private directories of the ssh masters' control sockets and logs, how they are
//! named (so that a later run or the watchdog can find a dead run's), and the child
//! processes quayside started.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A new private (0700) directory for one master's control socket and log.
///
/// Unix socket paths are limited to about 100 bytes, so a long `TMPDIR` is not used.
pub(super) fn control_dir() -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;

    static COUNTER: AtomicU64 = AtomicU64::new(0);
    crate::transport::watchdog::ensure_started();
    let base = control_base();
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("{}{n}", control_prefix()));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            // Left over by an earlier process with the same pid.
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(error),
        }
    }
}

/// Where control directories go: the temporary directory, unless its path is too long.
fn control_base() -> PathBuf {
    let base = std::env::temp_dir();
    if base.as_os_str().len() > 48 {
        PathBuf::from("/tmp")
    } else {
        base
    }
}

/// How this process's control directories are named: `quayside-ssh-PID-N`.
fn control_prefix() -> String {
    control_prefix_of(std::process::id())
}

/// How the control directories of process `pid` are named.
pub(crate) fn control_prefix_of(pid: u32) -> String {
    format!("quayside-ssh-{pid}-")
}

/// Remove every control directory this process made: for a process about to exit without
/// closing its connections.
pub(crate) fn remove_control_dirs() {
    remove_control_dirs_of(std::process::id());
}

/// Remove the control directories of quayside processes that are gone: a run killed before
/// its watchdog could clear them (the watchdog killed too). Other users' directories are
/// not ours to remove, and removing them fails.
pub(crate) fn remove_dead_control_dirs() {
    let Ok(entries) = std::fs::read_dir(control_base()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let pid = name
            .to_str()
            .and_then(|name| name.strip_prefix("quayside-ssh-"))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok());
        if let Some(pid) = pid {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                remove_dir(&entry.path());
            }
        }
    }
}

/// Remove every control directory process `pid` made.
pub(crate) fn remove_control_dirs_of(pid: u32) {
    let prefix = control_prefix_of(pid);
    if let Ok(entries) = std::fs::read_dir(control_base()) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                remove_dir(&entry.path());
            }
        }
    }
}

pub(super) fn remove_dir(dir: &Path) {
    // Best effort: a leftover directory in /tmp is harmless.
    let _ = std::fs::remove_dir_all(dir);
}

/// The pids of the processes whose parent is `parent`, from /proc: the lists of children
/// the kernel keeps for each of its threads where it keeps them (a read of a file a
/// thread), else a look at every process.
pub(crate) fn children_of(parent: u32) -> Vec<u32> {
    let lists: Option<Vec<String>> = std::fs::read_dir(format!("/proc/{parent}/task"))
        .ok()
        .and_then(|threads| {
            threads
                .flatten()
                .map(|thread| std::fs::read_to_string(thread.path().join("children")).ok())
                .collect()
        });
    if let Some(lists) = lists {
        return lists
            .iter()
            .flat_map(|list| list.split_whitespace())
            .filter_map(|pid| pid.parse().ok())
            .collect();
    }
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // `pid (comm) state ppid ...`; comm may contain spaces and parentheses.
            let ppid: u32 = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            (ppid == parent).then_some(pid)
        })
        .collect()
}
