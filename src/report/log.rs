//! `--log FILE`: the run's JSON events appended to a file, framed by a `run_start` line
//! (run id, user, the files the playbook was loaded from and their digest, start time) and
//! a `run_end` line (end time, exit code, every file the run read, templates included, and
//! their digest), so that a change record can be attached to a ticket. Secrets are
//! censored in the events already; the log adds nothing that was not in them.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::json;
use sha2::{Digest, Sha256};

use super::{Event, Reporter};

pub struct RunLog {
    file: Mutex<std::fs::File>,
    run_id: String,
    /// The playbook's folder, canonical: files in it are named relative to it.
    base: PathBuf,
}

impl RunLog {
    pub fn open(path: &Path, playbook: &Path, argv: &[String]) -> std::io::Result<RunLog> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let started = chrono::Utc::now();
        let run_id = format!(
            "{}-{}",
            started.format("%Y%m%dT%H%M%S%.3fZ"),
            std::process::id()
        );
        let base = playbook
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let log = RunLog {
            file: Mutex::new(file),
            run_id,
            base: std::fs::canonicalize(base).unwrap_or_else(|_| base.to_owned()),
        };
        let (files, digest) = log.files_read();
        log.write(&json!({
            "event": "run_start",
            "run_id": log.run_id,
            "user": current_user(),
            "playbook": playbook.display().to_string(),
            "playbook_sha256": digest,
            "files": files,
            "argv": censor_argv(argv),
            "started_at": started.to_rfc3339(),
        }));
        Ok(log)
    }

    /// The files read so far (everything loaded before the run when it starts; templates
    /// and copied files too when it ends), and their digest: the SHA-256 of their
    /// `sha256sum`-style list, `DIGEST  PATH` lines sorted by path, secrets left out.
    fn files_read(&self) -> (Vec<serde_json::Value>, String) {
        let mut files: Vec<(String, Option<String>)> = crate::inputs::files()
            .into_iter()
            .map(|(path, digest)| {
                let name = path.strip_prefix(&self.base).unwrap_or(&path);
                (name.display().to_string(), digest)
            })
            .collect();
        files.sort();
        let list: String = files
            .iter()
            .filter_map(|(name, digest)| Some(format!("{}  {name}\n", digest.as_ref()?)))
            .collect();
        let listed = files
            .into_iter()
            .map(|(path, sha256)| json!({ "path": path, "sha256": sha256 }))
            .collect();
        (listed, hex::encode(Sha256::digest(list.as_bytes())))
    }

    fn write(&self, value: &serde_json::Value) {
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        // A log that cannot be written must not stop the run it records.
        let _ = writeln!(file, "{}", crate::secrets::mask(&value.to_string()));
    }

    /// The closing line, with the run's exit code and every file the run read.
    pub fn finish(&self, exit_code: i32) {
        let (files, digest) = self.files_read();
        self.write(&json!({
            "event": "run_end",
            "run_id": self.run_id,
            "ended_at": chrono::Utc::now().to_rfc3339(),
            "exit_code": exit_code,
            "files": files,
            "files_sha256": digest,
        }));
    }
}

impl Reporter for RunLog {
    fn emit(&self, event: &Event) {
        if event.display_only() {
            return;
        }
        if let Ok(mut value) = serde_json::to_value(event) {
            if let Some(map) = value.as_object_mut() {
                map.insert("run_id".into(), self.run_id.clone().into());
            }
            self.write(&value);
        }
    }
}

/// The command line with the values of `-e`/`--extra-vars` censored: they may hold secrets.
fn censor_argv(argv: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len());
    let mut censor_next = false;
    for arg in argv {
        if censor_next {
            out.push(super::CENSORED.to_owned());
            censor_next = false;
        } else if arg == "-e" || arg == "--extra-vars" {
            out.push(arg.clone());
            censor_next = true;
        } else if arg.starts_with("--extra-vars=") {
            out.push(format!("--extra-vars={}", super::CENSORED));
        } else if arg.starts_with("-e") && !arg.starts_with("--") && arg.len() > 2 {
            out.push(format!("-e{}", super::CENSORED));
        } else {
            out.push(arg.clone());
        }
    }
    out
}

/// The name of the user running quayside, from the process's uid.
fn current_user() -> String {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().next().map(str::to_owned))
        })
        .unwrap_or_default();
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let fields: Vec<&str> = line.split(':').collect();
                (fields.len() > 2 && fields[2] == uid).then(|| fields[0].to_owned())
            })
        })
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or(uid)
}

/// Several reporters, each given every event.
pub struct Tee(pub Vec<Box<dyn Reporter>>);

impl Reporter for Tee {
    fn emit(&self, event: &Event) {
        for reporter in &self.0 {
            reporter.emit(event);
        }
    }
}
