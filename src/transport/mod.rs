//! How quayside reaches a host: one `Connection` per host for the whole run.
//!
//! Every task talks to its host through [`Connection::run`], which sends one POSIX `sh`
//! script (with optional standard input) and waits for its exit status and output. A task
//! that needs several things done on a host writes them into one script, so that it costs
//! one round trip per host, not one per command or per file.

mod local;
pub mod quote;
mod shell;
mod ssh;
pub mod watchdog;

use std::time::Duration;

use async_trait::async_trait;

pub use local::LocalConnection;
pub use quote::quote;
pub use ssh::{SshConnection, SshOptions};

/// What a task asks a host to run.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// A POSIX `sh` script. Every value in it that came from a user must have gone through
    /// [`quote`].
    pub text: String,
    /// Bytes fed to the script's standard input.
    pub stdin: Vec<u8>,
    /// Run the script through `sudo -n -u USER` (privilege escalation, Ansible's `become`).
    pub become_user: Option<String>,
    /// Environment variables set for the script.
    pub env: Vec<(String, String)>,
    /// Give up on the script after this long; the host is then `unreachable`.
    pub timeout: Option<Duration>,
}

impl Script {
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::default()
        }
    }

    pub fn stdin(mut self, stdin: impl Into<Vec<u8>>) -> Self {
        self.stdin = stdin.into();
        self
    }
}

/// What a script left behind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    pub status: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status == 0
    }

    pub fn stdout_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// A failure to reach the host, as opposed to a script that ran and failed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TransportError {
    #[error("cannot connect to `{host}`: {reason}")]
    Connect { host: String, reason: String },
    #[error("host key verification failed for `{host}`: {reason}")]
    HostKey { host: String, reason: String },
    #[error("lost the connection to `{host}`: {reason}")]
    Lost { host: String, reason: String },
    #[error("`{host}` did not answer within {seconds} s")]
    Timeout { host: String, seconds: u64 },
    #[error("`sudo` on `{host}` wants a password; quayside runs `sudo -n` and never types one")]
    SudoPassword { host: String },
}

/// Where a pipelined request stands among those written before it on the same host (the
/// host's shell decides from this and the earlier exit statuses whether it runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chain {
    /// The first of a chain: it always runs.
    Start,
    /// The next task: it runs only if no task before it in the chain failed.
    Next,
    /// Another item of the same task's loop: it runs if the chain stood when the task
    /// began, whatever the items before it did (a loop goes on after a failed item).
    Item,
    /// The next task after one whose failure is ignored: that failure does not stop it.
    Also,
}

/// A request written to a host's shell whose answer has not been read yet.
#[derive(Debug)]
pub struct Ticket(pub(crate) String);

/// Requests written to one host one after another, each before the answers to the ones
/// before it have come back ([`Connection::pipeline`]). The host runs them in the order
/// written, and stops a chain at its first failure ([`Chain`]): a request it did not run
/// answers with status [`SKIPPED`].
#[async_trait]
pub trait Pipeline: Send + Sync {
    /// Write one request now, after those written before it.
    async fn send(&self, script: &Script, chain: Chain) -> Result<Ticket, TransportError>;

    /// Wait for the answer to a request written before.
    async fn answer(&self, ticket: Ticket, script: &Script) -> Result<Output, TransportError>;

    /// Stop the chain on the host (an interrupted run): what was written and has not
    /// started answers [`SKIPPED`]; what runs finishes. Best effort.
    async fn stop(&self) {}

    /// Everything written has been answered: give the shell back to the connection.
    async fn finish(self: Box<Self>);
}

/// The status of a pipelined request the host did not run because a request before it in
/// its chain failed.
pub const SKIPPED: i32 = shell::SKIPPED;

/// The open connections of a run, for tasks that reach one host through another
/// (`sql ... via: dbhost`).
#[async_trait]
pub trait Connections: Send + Sync {
    /// The connection to an inventory host, opened now if the run has none yet.
    async fn connection(
        &self,
        host: &str,
    ) -> Result<std::sync::Arc<dyn Connection>, TransportError>;
}

/// One open connection to one host, shared by every task of the run.
#[async_trait]
pub trait Connection: Send + Sync {
    /// The inventory name of the host this connection reaches.
    fn host(&self) -> &str;

    /// Run one script on the host: one round trip.
    async fn run(&self, script: &Script) -> Result<Output, TransportError>;

    /// Forward a local port on the controller to `remote_host:remote_port` as the host sees
    /// it (a database reached through a host); returns the local port on 127.0.0.1. A
    /// `remote_host` that is an absolute path is a Unix socket on the host (no port).
    async fn forward(&self, remote_host: &str, remote_port: u16) -> Result<u16, TransportError> {
        Err(TransportError::Connect {
            host: self.host().to_owned(),
            reason: format!(
                "cannot forward a port to `{remote_host}:{remote_port}` over a local connection"
            ),
        })
    }

    /// The host is the controller itself (`ansible_connection: local`): what the host
    /// reaches, the controller reaches directly, without a forward.
    fn is_local(&self) -> bool {
        false
    }

    /// Drop the connection to a host that is going away (`reboot`): its shell is
    /// forgotten rather than stopped, and the master closed. The next
    /// [`Connection::reconnect`] opens it again.
    async fn disconnect(&self) {}

    /// Drop the connection and open it again, giving up on reaching the host after
    /// `connect_timeout` (`None`: the run's); every task after this one uses the new one.
    async fn reconnect(&self, _connect_timeout: Option<Duration>) -> Result<(), TransportError> {
        Err(TransportError::Connect {
            host: self.host().to_owned(),
            reason: "a local connection cannot be opened again".to_owned(),
        })
    }

    /// A pipeline to the host, holding its shell until it is finished; `None` where the
    /// connection cannot pipeline (the script is then run with [`Connection::run`]).
    async fn pipeline(&self) -> Option<Box<dyn Pipeline + '_>> {
        None
    }

    /// Round trips taken so far: times a script was sent while no answer was awaited
    /// (several pipelined scripts written before their answers come back are one).
    fn round_trips(&self) -> u64 {
        0
    }

    /// Close the connection at the end of the run.
    async fn close(&self) {}
}

/// Kill every process this one started (ssh masters and local scripts run in process
/// groups of their own, so nothing else would) and remove the ssh control directories:
/// for a process about to exit without closing its connections.
pub fn stop_all_children() {
    let children = ssh::children_of(std::process::id());
    if !children.is_empty() {
        let _ = std::process::Command::new("kill")
            .arg("-KILL")
            .args(children.iter().map(u32::to_string))
            .stderr(std::process::Stdio::null())
            .status();
    }
    ssh::remove_control_dirs();
}
