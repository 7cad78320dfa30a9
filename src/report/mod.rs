//! What a run tells the user: the engine emits [`Event`]s, and a [`Reporter`] decides how
//! they look (Ansible-style text, JSON lines, or a recorder in tests).

mod human;
mod json;
mod log;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;

use serde::Serialize;

pub use human::Human;
pub use json::JsonLines;
pub use log::{RunLog, Tee};

use crate::tasks::FileDiff;

/// The result of one task on one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Changed,
    Failed,
    Skipped,
    Unreachable,
    Rescued,
    Ignored,
}

/// Per-host counts, as Ansible's `PLAY RECAP` shows them. A changed task counts in `ok`
/// too, as in Ansible.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failed: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
}

/// Events are made and consumed at once, one at a time: their size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    PlaybookStart {
        playbook: String,
        check: bool,
    },
    PlayStart {
        name: String,
        hosts: Vec<String>,
    },
    TaskStart {
        task: String,
        /// Where the task was written (`file:line:col`).
        path: String,
        handler: bool,
    },
    HostResult {
        host: String,
        task: String,
        status: Status,
        changed: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        msg: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        item: Option<String>,
        duration_ms: u64,
        /// The registered result, shown with `-v` (already censored under `no_log`).
        #[serde(skip_serializing_if = "Option::is_none")]
        result: Option<serde_json::Value>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        diffs: Vec<FileDiff>,
        /// What the task shows (`debug`).
        #[serde(skip_serializing_if = "Option::is_none")]
        output: Option<serde_json::Value>,
    },
    Warning {
        message: String,
    },
    Recap {
        hosts: BTreeMap<String, Counts>,
        interrupted: bool,
    },
}

/// The text that replaces anything a task marked `no_log`.
pub const CENSORED: &str = "<censored>";

/// Receives every event of a run, in order.
pub trait Reporter: Send + Sync {
    fn emit(&self, event: &Event);
}

/// Where reporters write: standard output in the binary, a buffer in tests.
pub struct Sink(Mutex<Box<dyn Write + Send>>);

impl Sink {
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        Self(Mutex::new(out))
    }

    pub fn stdout() -> Self {
        Self::new(Box::new(std::io::stdout()))
    }

    fn write(&self, text: &str) {
        let mut out = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Output that cannot be written (a closed pipe) must not stop a run half-way.
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
}

/// A reporter that keeps events, for tests.
#[derive(Default)]
pub struct Recorder(pub Mutex<Vec<Event>>);

impl Reporter for Recorder {
    fn emit(&self, event: &Event) {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(event.clone());
    }
}

/// A unified diff of one file, as `--diff` shows it.
pub fn unified_diff(diff: &FileDiff) -> String {
    let before: Vec<&str> = diff.before.lines().collect();
    let after: Vec<&str> = diff.after.lines().collect();
    let mut text = format!("--- before: {}\n+++ after: {}\n", diff.path, diff.path);
    // A longest-common-subsequence walk: files quayside diffs are small configuration files.
    let (n, m) = (before.len(), after.len());
    let mut table = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            table[i][j] = if before[i] == after[j] {
                table[i + 1][j + 1] + 1
            } else {
                table[i + 1][j].max(table[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && before[i] == after[j] {
            text.push_str(&format!(" {}\n", before[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || table[i][j + 1] >= table[i + 1][j]) {
            text.push_str(&format!("+{}\n", after[j]));
            j += 1;
        } else {
            text.push_str(&format!("-{}\n", before[i]));
            i += 1;
        }
    }
    text
}
