//! What a run tells the user: the engine emits [`Event`]s, and a [`Reporter`] decides how
//! they look (Ansible-style text, JSON lines, or a recorder in tests).

mod human;
mod json;
mod log;
mod plan;
mod progress;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;

use serde::Serialize;

pub use human::Human;
pub use json::JsonLines;
pub use log::{RunLog, Tee};
pub use plan::{Plan, Planner};
pub use progress::Progress;

use crate::tasks::{ContainerChange, FileDiff};

/// The result of one task on one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Changed,
    Failed,
    Skipped,
    Unreachable,
    Ignored,
    /// The run was interrupted and gave up waiting for the task on this host.
    Interrupted,
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
    /// Tasks the run gave up on when it was interrupted; shown only when there are any.
    #[serde(skip_serializing_if = "is_zero")]
    pub interrupted: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Where an `async` job stands when the controller looked ([`Event::AsyncPoll`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AsyncState {
    Running,
    Ok,
    Failed,
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
        /// The task type (`config_bundle`), for the plan of a check run.
        #[serde(skip_serializing_if = "Option::is_none")]
        action: Option<String>,
        /// How many hosts the task runs on.
        hosts: usize,
        /// Which hosts, for the live display.
        #[serde(skip)]
        host_names: Vec<String>,
    },
    /// A host begins the task now running: for the live display only (the JSON stream
    /// and the run log leave it out).
    HostStart {
        host: String,
    },
    /// A look at the job of an `async` task that waits (`poll` above 0), as ansible-playbook
    /// prints it: `ASYNC POLL` while it runs, `ASYNC OK` or `ASYNC FAILED` once the task's
    /// result is known. For the display only, as Ansible's JSON callback leaves it out.
    AsyncPoll {
        host: String,
        jid: String,
        state: AsyncState,
    },
    /// The result of a task on one host, or of one item of a loop (`item`).
    HostResult {
        /// Where the task was written and what failed, when it failed: for the
        /// `[ERROR]: Task failed: ...` block ansible-core 2.19 prints before the result
        /// (the display only: the JSON stream and the run log leave it out).
        #[serde(skip)]
        origin: Option<Origin>,
        host: String,
        /// The host a delegated task ran on (`delegate_to`), as Ansible shows it after
        /// `host ->`: its name, and its address when that differs (`host3(10.0.0.3)`).
        #[serde(skip_serializing_if = "Option::is_none")]
        delegated_to: Option<String>,
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
        /// The full paths of the files the task changed or would change, with or without
        /// `--diff` (none under `no_log`).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        files: Vec<String>,
        /// The containers the task manages, and what it does to them (none under `no_log`).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        containers: Vec<ContainerChange>,
        /// What the task shows (`debug`).
        #[serde(skip_serializing_if = "Option::is_none")]
        output: Option<serde_json::Value>,
    },
    /// `include_tasks` / `include_role` included `file` (a path, or a role's name) for
    /// `hosts` (with one loop `item`); each of them counts it as ok.
    Included {
        task: String,
        file: String,
        hosts: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        item: Option<String>,
    },
    /// A loop is done on one host: every item has reported (as a `host_result` with its
    /// `item`); this is the task's result there, over all its items.
    LoopResult {
        host: String,
        task: String,
        status: Status,
        changed: bool,
        /// How many items it ran (0: the list was empty, or did not render).
        items: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        msg: Option<String>,
        duration_ms: u64,
    },
    Warning {
        message: String,
    },
    /// What a `--check` run would change, just before its recap.
    Plan(Plan),
    /// A config bundle's digest, and each host's live bundle digest after the task.
    Bundle(crate::tasks::config_bundle::BundleDigests),
    Recap {
        hosts: BTreeMap<String, Counts>,
        interrupted: bool,
        /// After an interrupt: the handlers (or `listen` topics) that were notified and
        /// did not run, with the hosts that notified them.
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        handlers_not_run: BTreeMap<String, Vec<String>>,
        /// Round trips each host's connection took (a script sent while no answer was
        /// awaited: pipelined scripts written together are one), for hosts reached over
        /// SSH.
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        round_trips: BTreeMap<String, u64>,
    },
}

/// What ansible-core 2.19's default callback says of a failed task before its result:
/// `[ERROR]: Task failed: HEADLINE`, then `Origin: FILE:LINE:COL` and the lines of the
/// task up to it.
#[derive(Debug, Clone)]
pub struct Origin {
    /// Where the task was written (its first key); none for Gathering Facts.
    pub span: Option<crate::source::Span>,
    /// After `Task failed: `: `Module failed: MSG`, `Action failed: MSG`, or for a host
    /// not reached the message alone.
    pub headline: String,
}

impl Event {
    /// A host's result that carries only a status and a message: a host that could not
    /// be reached, a task given up on, an error before the task could say more.
    pub fn bare_result(
        host: &str,
        task: &str,
        status: Status,
        msg: Option<String>,
        item: Option<String>,
        duration_ms: u64,
    ) -> Event {
        Event::HostResult {
            origin: None,
            host: host.to_owned(),
            delegated_to: None,
            task: task.to_owned(),
            status,
            changed: false,
            msg,
            item,
            duration_ms,
            result: None,
            diffs: Vec::new(),
            files: Vec::new(),
            containers: Vec::new(),
            output: None,
        }
    }
}

/// What a `no_log` task's result shows instead of its fields, in ansible-core's words.
pub const NO_LOG_RESULT: &str =
    "the output has been hidden due to the fact that 'no_log: true' was specified for this result";

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
        // No decrypted vault value is ever shown.
        let text = crate::secrets::mask(text);
        // Output that cannot be written (a closed pipe) must not stop a run half-way.
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
}

impl Event {
    /// Whether the event is there for the live display only.
    pub fn display_only(&self) -> bool {
        matches!(self, Event::HostStart { .. } | Event::AsyncPoll { .. })
    }
}

/// A unified diff of one file, as `--diff` shows it.
pub fn unified_diff(diff: &FileDiff) -> String {
    let label = |side: &str, header: &Option<String>| match header {
        Some(header) => format!("{side}: {header}"),
        None => side.to_owned(),
    };
    let (before, after) = match &diff.headers {
        Some(headers) => (
            label("before", &headers.before),
            label("after", &headers.after),
        ),
        None => (
            format!("before: {}", diff.path),
            format!("after: {}", diff.path),
        ),
    };
    if diff.headers.is_some() && diff.before != diff.after {
        // ansible-core's callback: the diff, then an empty line.
        let text = similar::TextDiff::from_lines(&diff.before, &diff.after)
            .unified_diff()
            .context_radius(3)
            .header(&before, &after)
            .to_string();
        return format!("{text}\n");
    }
    if diff.before == diff.after {
        // What a diff may show is the same on both sides (a hidden secret, a binary size):
        // say that the file changes, and what stands for it.
        return format!("--- {before}\n+++ {after}\n {}", diff.after);
    }
    similar::TextDiff::from_lines(&diff.before, &diff.after)
        .unified_diff()
        .context_radius(3)
        .header(&before, &after)
        .to_string()
}
