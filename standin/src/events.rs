//! The events log: one line per start, refusal and stop, appended to the file that
//! `STANDIN_EVENTS` names (a mounted directory), so that a test can tell when each
//! registry was down. A line reads
//!
//! ```text
//! 2024-05-01T12:34:56.789Z start vm port=18081 pid=1 registry_state=normal storage_preference=usstorage database=db:5432/quay
//! ```
//!
//! with the event (`start` once it listens, `refused`, `stop`), the instance name
//! (`STANDIN_NAME`, else the host name), the port and the pid, then details.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;

use crate::clock;

pub struct Events {
    path: Option<PathBuf>,
    name: String,
    port: String,
}

impl Events {
    pub fn from_env(port: &str) -> Self {
        Events {
            path: std::env::var_os("STANDIN_EVENTS")
                .filter(|path| !path.is_empty())
                .map(PathBuf::from),
            name: instance_name(),
            port: port.to_owned(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Appends one line stamped now; a log that cannot be written is reported on stderr
    /// but does not stop the registry.
    pub fn record(&self, event: &str, details: &str) {
        self.record_at(&clock::now_rfc3339(), event, details);
    }

    /// Appends one line stamped `at` (the start event carries the same instant as the
    /// `started_at` the registry reports).
    pub fn record_at(&self, at: &str, event: &str, details: &str) {
        let Some(path) = &self.path else {
            return;
        };
        let mut line = format!(
            "{at} {event} {} port={} pid={}",
            self.name,
            self.port,
            std::process::id()
        );
        if !details.is_empty() {
            line.push(' ');
            line.push_str(details);
        }
        line.push('\n');
        // One write of a whole line to a file opened for appending: lines from several
        // containers sharing the file do not interleave.
        let written = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut file| file.write_all(line.as_bytes()));
        if let Err(error) = written {
            eprintln!(
                "cannot append to `STANDIN_EVENTS` `{}`: {error}",
                path.display()
            );
        }
    }
}

/// `STANDIN_NAME`, else the host name (the container's, or the host's under
/// `--network=host`).
fn instance_name() -> String {
    std::env::var("STANDIN_NAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|name| name.split_whitespace().collect::<Vec<_>>().join("_"))
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}
