//! `ansible_connection: local`: scripts run on the controller itself.

use std::process::Stdio;

use async_trait::async_trait;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::{Connection, Output, Script, TransportError};

pub struct LocalConnection {
    host: String,
}

impl LocalConnection {
    pub fn new(host: impl Into<String>) -> Self {
        Self { host: host.into() }
    }
}

/// The argument vector that runs `script` through `sh`, escalated with `sudo -n` when the
/// script asks for it. Shared by the local and SSH connections.
pub(crate) fn sh_argv(script: &Script) -> Vec<String> {
    let mut argv = Vec::new();
    if let Some(user) = &script.become_user {
        argv.extend(["sudo", "-n", "-H", "-u", user.as_str(), "--"].map(str::to_owned));
    }
    if !script.env.is_empty() {
        argv.push("env".to_owned());
        argv.extend(script.env.iter().map(|(k, v)| format!("{k}={v}")));
    }
    argv.extend(["sh".to_owned(), "-c".to_owned(), script.text.clone()]);
    argv
}

/// The process group of a running script: when the script's run ends before the script
/// does (a timeout, an abandoned run), every process it started is stopped with it.
/// Forgotten once the script has finished: what it left running in the background is its
/// own business, and the group's id may be reused.
struct ProcessGroup(Option<u32>);

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        let Some(group) = self.0 else { return };
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{group}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// `sudo -n` prints this when it would have to ask for a password.
pub(crate) fn sudo_wants_password(output: &Output) -> bool {
    output.status != 0
        && String::from_utf8_lossy(&output.stderr).contains("sudo: a password is required")
}

#[async_trait]
impl Connection for LocalConnection {
    fn host(&self) -> &str {
        &self.host
    }

    fn is_local(&self) -> bool {
        true
    }

    async fn run(&self, script: &Script) -> Result<Output, TransportError> {
        let argv = sh_argv(script);
        let mut child = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A process group of its own: a Ctrl-C at the terminal is quayside's to
            // handle (it lets scripts in flight finish), and the whole group can be
            // stopped when the script overruns its timeout or is abandoned.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| TransportError::Connect {
                host: self.host.clone(),
                reason: format!("cannot start `{}`: {error}", argv[0]),
            })?;
        let mut group = ProcessGroup(child.id());
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let input = script.stdin.clone();
        let feed = tokio::spawn(async move {
            // A script that does not read its input closes the pipe early; that is not an
            // error of ours.
            let _ = stdin.write_all(&input).await;
        });
        let wait = child.wait_with_output();
        let output =
            match script.timeout {
                Some(limit) => tokio::time::timeout(limit, wait).await.map_err(|_| {
                    TransportError::Timeout {
                        host: self.host.clone(),
                        seconds: limit.as_secs(),
                    }
                })?,
                None => wait.await,
            }
            .map_err(|error| TransportError::Lost {
                host: self.host.clone(),
                reason: error.to_string(),
            })?;
        group.0 = None;
        let _ = feed.await;
        let output = Output {
            status: output.status.code().unwrap_or(-1),
            stdout: output.stdout,
            stderr: output.stderr,
        };
        if script.become_user.is_some() && sudo_wants_password(&output) {
            return Err(TransportError::SudoPassword {
                host: self.host.clone(),
            });
        }
        Ok(output)
    }
}
