//! `ansible_connection: ssh`: one OpenSSH master connection per host for the whole run.
//!
//! [`SshConnection::connect`] starts `ssh -M ... HOST 'exec sh'` (the system's OpenSSH
//! client, so the user's `~/.ssh/config`, `/etc/ssh/ssh_config`, agent and `known_hosts`
//! all apply) with a control socket in a private directory. The master's own session is
//! the host's shell ([`super::shell`]): its standard input and output are the shell's, so
//! one `ssh` process and one session per host carry every script of the run, each as one
//! request and one answer: one network round trip per script, no new channel, no new
//! sshd session, no new `ssh` process. The session opens right after authentication,
//! while quayside waits for the control socket, as a plain `ssh HOST sh` would.
//!
//! The control socket serves what needs another session, through the `openssh` crate's
//! native multiplexing client: a script that arrives while the shell is busy with another
//! (two tasks reaching the same host at once) or that sends more than a mebibyte of input
//! gets a channel of its own, as do port forwardings and stopping a script on the host.
//! A master ends with its own session unless a channel over its socket is open, so when
//! the master's shell must go (a script that overran its timeout is stopped with it), the
//! next shell is opened over the socket first and the master lives on through it.
//!
//! The master runs in a process group of its own, so that a Ctrl-C at the terminal reaches
//! quayside (which lets the scripts in flight finish) and not the connections under them.
//!
//! The master is our own child process rather than one started by
//! `openssh::SessionBuilder`, because the builder forks it into the background with
//! `ssh -f` and never tells us its pid: a connection that hangs past the connect timeout
//! (a port that accepts TCP and then says nothing) could then not be stopped, and an
//! `ssh` would be left behind. Owning the process also lets `ansible_ssh_common_args` go to
//! `ssh` as command-line words, exactly as Ansible passes them.

use std::error::Error as StdError;
use std::path::{Path, PathBuf};
use std::process::Stdio as ProcessStdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use openssh::{ForwardType, Session, Socket, Stdio};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

mod args;
mod control;
mod remote;

pub(super) use control::{
    children_of, control_prefix_of, remove_control_dirs, remove_control_dirs_of,
    remove_dead_control_dirs,
};

use self::args::parse_common_args;
use self::control::{control_dir, remove_dir};
use self::remote::{Flights, RemoteShell, SHELL_INPUT_LIMIT, ShellChannel, ShellPipeline};
use super::local::{sh_argv, sudo_wants_password};
use super::quote::quote;
use super::shell;
use super::{Chain, Connection, Output, Pipeline, Script, Ticket, TransportError};

/// How to reach one host, from its inventory variables.
#[derive(Debug, Clone)]
pub struct SshOptions {
    /// `ansible_host`, or the inventory name.
    pub address: String,
    /// `ansible_port`; `None` leaves it to the ssh configuration (22 by default).
    pub port: Option<u16>,
    /// `ansible_user`; `None` leaves it to the ssh configuration.
    pub user: Option<String>,
    /// `ansible_ssh_private_key_file`: when set, only this key is offered.
    pub private_key_file: Option<PathBuf>,
    /// `ansible_ssh_common_args`, already split into words (`-o Key=Value`, `-J host`, ...).
    pub common_args: Vec<String>,
    /// `true` (the default, as in Ansible): refuse a host whose key is not in
    /// `known_hosts` or differs from it (`StrictHostKeyChecking=yes`). `false`, only on
    /// explicit request: accept any key (`StrictHostKeyChecking=no`). A
    /// `-o StrictHostKeyChecking=...` among `common_args` is the more specific request
    /// and wins over this.
    pub host_key_checking: bool,
    /// Give up on reaching the host (TCP connect, key exchange and authentication) after
    /// this long; 10 s by default. Zero also means 10 s.
    pub connect_timeout: Duration,
}

/// What a host's shell session runs: the user's login shell hands it to `sh`.
const SHELL_COMMAND: &str = "exec sh";

/// The connect timeout by default and when [`SshOptions::connect_timeout`] is zero.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for SshOptions {
    fn default() -> Self {
        Self {
            address: String::new(),
            port: None,
            user: None,
            private_key_file: None,
            common_args: Vec::new(),
            host_key_checking: true,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }
}

/// One master connection to one host.
pub struct SshConnection {
    host: String,
    session: Arc<Session>,
    /// The `ssh -M` process, whose session is the first shell; `None` once closed.
    /// Dropping it kills it.
    master: Mutex<Option<Child>>,
    /// The shell on the host that runs the scripts; `None` until the first script, and
    /// again after one it ran could not be finished.
    shell: tokio::sync::Mutex<Option<RemoteShell>>,
    /// How the master was started, to start it again ([`Connection::reconnect`]).
    options: SshOptions,
    /// The private directory holding the control socket and the master's log.
    dir: PathBuf,
    log: PathBuf,
    /// Round trips the shell took (see [`Flights`]).
    flights: Flights,
}

impl SshConnection {
    /// Start the master connection to `host` (the inventory name, used in messages) and
    /// wait until it has authenticated, for at most `options.connect_timeout`.
    pub async fn connect(
        host: &str,
        options: &SshOptions,
    ) -> Result<SshConnection, TransportError> {
        let connect_error = |reason: String| TransportError::Connect {
            host: host.to_owned(),
            reason,
        };
        // Checked once here, so that a reconnection cannot fail on them.
        parse_common_args(&options.common_args).map_err(connect_error)?;
        let dir = control_dir().map_err(|error| {
            connect_error(format!(
                "cannot create a directory for the ssh control socket: {error}"
            ))
        })?;
        let socket = dir.join("master");
        let log = dir.join("log");
        let connection = SshConnection {
            host: host.to_owned(),
            session: Arc::new(Session::resume_mux(
                socket.clone().into_boxed_path(),
                Some(log.clone().into()),
            )),
            master: Mutex::new(None),
            shell: tokio::sync::Mutex::new(None),
            options: options.clone(),
            dir,
            log,
            flights: Flights::new(0),
        };
        // On an error, dropping `connection` kills the master and removes the directory.
        connection.start_master(options.connect_timeout).await?;
        Ok(connection)
    }

    /// Start `ssh -M` on the control socket, its session the host's shell, and wait until
    /// it has authenticated, for at most `timeout` (zero: the default); the shell goes to
    /// `self.shell`. The socket's path stays the same across restarts, so the session over
    /// it stays valid.
    async fn start_master(&self, timeout: Duration) -> Result<(), TransportError> {
        let options = &self.options;
        let common_args =
            parse_common_args(&options.common_args).map_err(|e| self.connect_error(e))?;
        let address = if options.address.is_empty() {
            self.host.as_str()
        } else {
            options.address.as_str()
        };
        let limit = if timeout.is_zero() {
            DEFAULT_CONNECT_TIMEOUT
        } else {
            timeout
        };
        let socket = self.dir.join("master");
        // A socket left by a master that was killed would pass for a ready one.
        let _ = std::fs::remove_file(&socket);

        // ssh logs to the file itself (-E). Its standard streams are the shell's: a
        // ProxyJump/ProxyCommand helper says why it could not reach the host on the
        // standard error it shares with ssh, which goes to the log when the master fails.
        let mut ssh = Command::new("ssh");
        ssh.stdin(ProcessStdio::piped())
            .stdout(ProcessStdio::piped())
            .stderr(ProcessStdio::piped())
            .kill_on_drop(true)
            // A process group of its own: a Ctrl-C at the terminal signals the whole
            // foreground group, and the master must outlive it so that quayside can finish
            // or clean up what runs over it (src/interrupt.rs).
            .process_group(0)
            .arg("-E")
            .arg(&self.log)
            .arg("-S")
            .arg(&socket)
            // The master, its session without a terminal (and so without an escape
            // character: the scripts are data) running the command given below.
            .args(["-M", "-T", "-e", "none"])
            // ssh takes the first value it sees for an option, so these come before the
            // user's words and configuration: a `ControlPersist` there would make the
            // master fork into the background, a `ControlPath` would move its socket, a
            // `RemoteCommand` would refuse the shell's command, and any prompt would hang
            // the run.
            .args([
                "-o",
                "ControlPersist=no",
                "-o",
                "BatchMode=yes",
                "-o",
                "RemoteCommand=none",
            ])
            .arg("-o")
            .arg(format!(
                "ConnectTimeout={}",
                (limit.as_secs() + u64::from(limit.subsec_nanos() > 0)).max(1)
            ));
        if !common_args.sets_host_key_checking {
            let value = if options.host_key_checking {
                "yes"
            } else {
                "no"
            };
            ssh.arg("-o").arg(format!("StrictHostKeyChecking={value}"));
        }
        if let Some(port) = options.port {
            ssh.arg("-p").arg(port.to_string());
        }
        if let Some(user) = &options.user {
            ssh.arg("-l").arg(user);
        }
        if let Some(key) = &options.private_key_file {
            // Offer only the inventory's key: agents holding many keys otherwise exhaust
            // the server's MaxAuthTries before the right one is tried.
            ssh.args(["-o", "IdentitiesOnly=yes", "-i"]).arg(key);
        }
        ssh.args(&common_args.words)
            .arg("--")
            .arg(address)
            .arg(SHELL_COMMAND);

        let mut master = match ssh.spawn() {
            Ok(master) => master,
            Err(error) => return Err(self.connect_error(format!("cannot start `ssh`: {error}"))),
        };
        let (Some(stdin), Some(stdout), Some(mut stderr)) = (
            master.stdin.take(),
            master.stdout.take(),
            master.stderr.take(),
        ) else {
            return Err(self.connect_error("the ssh master has no pipes".to_owned()));
        };
        *self.master.lock().unwrap_or_else(PoisonError::into_inner) = Some(master);
        match tokio::time::timeout(limit, self.wait_until_ready(&socket)).await {
            Ok(Ok(())) => {
                *self.shell.lock().await = Some(RemoteShell::new(
                    ShellChannel::Master,
                    Box::new(stdin),
                    Box::new(stdout),
                    Box::new(stderr),
                ));
                Ok(())
            }
            Ok(Err(status)) => {
                self.log_stderr(&mut stderr).await;
                Err(self.connect_failure(&status))
            }
            Err(_) => {
                // What ssh said before being killed (killing it makes it say more).
                self.log_stderr(&mut stderr).await;
                let said = self.log_tail();
                self.kill_master().await;
                let reason = if said.is_empty() {
                    format!("no answer within {} s", limit.as_secs_f64())
                } else {
                    format!("no answer within {} s ({said})", limit.as_secs_f64())
                };
                Err(self.connect_error(reason))
            }
        }
    }

    /// Forward a local TCP port over this master to `remote_host:remote_port` as seen from
    /// the host, for as long as the connection stays open; returns the local port (on
    /// 127.0.0.1).
    ///
    /// The host connects to the target only when a local client connects, so an
    /// unreachable target shows as that client's connection being closed at once. A
    /// `remote_host` that is an absolute path is a Unix socket on the host.
    pub async fn forward(
        &self,
        remote_host: &str,
        remote_port: u16,
    ) -> Result<u16, TransportError> {
        let target = if remote_host.starts_with('/') {
            Socket::from(std::path::PathBuf::from(remote_host))
        } else {
            Socket::new(remote_host, remote_port)
        };
        let mut last_error = None;
        // The master cannot pick a free port for a local forwarding and report it, so we
        // find one ourselves; another process may take it in between, hence the retries.
        for _ in 0..3 {
            let port = free_local_port().map_err(|error| {
                self.connect_error(format!("cannot find a free local port to forward: {error}"))
            })?;
            let listen = Socket::new("127.0.0.1", port);
            match self
                .session
                .request_port_forward(ForwardType::Local, listen, target.clone())
                .await
            {
                Ok(()) => return Ok(port),
                Err(error) => {
                    if !self.master_alive().await {
                        return Err(self.lost(&error));
                    }
                    last_error = Some(error);
                }
            }
        }
        let reason = last_error.map_or_else(String::new, |error| describe(&error));
        Err(self.connect_error(format!(
            "cannot forward a local port to {remote_host}:{remote_port}: {reason}"
        )))
    }

    /// Wait until the master has authenticated and listens on its control socket (it
    /// creates the socket only then), or until it exits, which means it failed.
    async fn wait_until_ready(&self, socket: &Path) -> Result<(), String> {
        // Loopback logins take about 50 ms; a WAN one takes several round trips.
        let mut pause = Duration::from_millis(2);
        loop {
            if socket.exists() {
                return Ok(());
            }
            let exited = match self
                .master
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_mut()
            {
                None => Some("the ssh master is gone".to_owned()),
                Some(master) => match master.try_wait() {
                    Ok(None) => None,
                    Ok(Some(status)) => Some(format!("ssh {status}")),
                    Err(error) => Some(format!("cannot wait for ssh: {error}")),
                },
            };
            if let Some(status) = exited {
                return Err(status);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(25));
        }
    }

    /// The error for a master that exited before it was ready, from what it logged.
    fn connect_failure(&self, status: &str) -> TransportError {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let said = summarize(&log);
        if log.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") {
            return TransportError::HostKey {
                host: self.host.clone(),
                reason: format!(
                    "the host's key has CHANGED since it was recorded in known_hosts \
                     (a man-in-the-middle, or a reinstalled host whose old key must be \
                     removed from known_hosts): {said}"
                ),
            };
        }
        if log.contains("Host key verification failed") || log.contains("host key is known") {
            return TransportError::HostKey {
                host: self.host.clone(),
                reason: format!(
                    "the host's key is not in known_hosts and host key checking is on \
                     (add the key to known_hosts, or set host_key_checking to false): {said}"
                ),
            };
        }
        let reason = if said.is_empty() {
            status.to_owned()
        } else {
            said
        };
        self.connect_error(reason)
    }

    fn connect_error(&self, reason: String) -> TransportError {
        TransportError::Connect {
            host: self.host.clone(),
            reason,
        }
    }

    /// The error for an operation that failed because the master is gone.
    fn lost(&self, error: &openssh::Error) -> TransportError {
        let said = self.log_tail();
        TransportError::Lost {
            host: self.host.clone(),
            reason: if said.is_empty() {
                describe(error)
            } else {
                said
            },
        }
    }

    /// Append what the master's standard error holds to its log: what a
    /// ProxyJump/ProxyCommand helper said when the master failed. Reads what has come,
    /// waiting a moment for more (a hung helper keeps the pipe open).
    async fn log_stderr(&self, stderr: &mut (impl AsyncRead + Unpin)) {
        let mut said = Vec::new();
        let mut buffer = [0u8; 4096];
        while said.len() < 64 * 1024 {
            match tokio::time::timeout(Duration::from_millis(100), stderr.read(&mut buffer)).await {
                Ok(Ok(n)) if n > 0 => said.extend_from_slice(&buffer[..n]),
                _ => break,
            }
        }
        if !said.is_empty() {
            if let Ok(mut log) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.log)
            {
                use std::io::Write as _;
                let _ = log.write_all(&said);
            }
        }
    }

    /// The last thing the master logged, usually why it stopped.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        log.lines()
            .map(str::trim)
            .rfind(|line| !line.is_empty())
            .unwrap_or_default()
            .to_owned()
    }

    /// Whether the master still runs and answers on its socket. Only asked after
    /// something went wrong, so the happy path pays no round trip for it.
    async fn master_alive(&self) -> bool {
        let exited = match self
            .master
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            Some(child) => !matches!(child.try_wait(), Ok(None)),
            None => true,
        };
        !exited && self.session.check().await.is_ok()
    }

    async fn kill_master(&self) {
        let master = self
            .master
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(mut master) = master else { return };
        // A ProxyJump/ProxyCommand helper is the master's child; if it hangs (a jump host
        // that never answers) it would outlive the master, so it goes first.
        let helpers = master.id().map(children_of).unwrap_or_default();
        if !helpers.is_empty() {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg("--")
                .args(helpers.iter().map(u32::to_string))
                .stdout(ProcessStdio::null())
                .stderr(ProcessStdio::null())
                .status()
                .await;
        }
        // Nothing is left to say to the host; SIGKILL is as good as a goodbye, and waiting
        // reaps the process.
        let _ = master.kill().await;
    }

    /// Run one script in the host's shell, starting the shell first if there is none (or
    /// the last one was left in the middle of a script). Takes the timeout into account:
    /// a script that overruns it is stopped on the host.
    async fn run_in_shell(
        &self,
        slot: &mut Option<RemoteShell>,
        script: &Script,
    ) -> Result<Output, TransportError> {
        if slot.as_ref().is_some_and(|shell| shell.busy.is_some()) {
            // Whoever sent the last script gave up on it (an interrupted run): it may
            // still be running, and its answer would be taken for the next one's.
            self.discard_shell(slot, false).await;
        }
        let shell = match slot.take() {
            Some(shell) => shell,
            None => self.start_shell().await?,
        };
        let exchange = slot.insert(shell).exchange(script, &self.flights);
        let answer = match script.timeout {
            Some(limit) => match tokio::time::timeout(limit, exchange).await {
                Ok(answer) => answer,
                Err(_) => {
                    self.discard_shell(slot, false).await;
                    return Err(TransportError::Timeout {
                        host: self.host.clone(),
                        seconds: limit.as_secs(),
                    });
                }
            },
            None => exchange.await,
        };
        match answer {
            Ok(Some(output)) => self.finish(script, output),
            Ok(None) => {
                *slot = None;
                Err(if self.master_alive().await {
                    TransportError::Lost {
                        host: self.host.clone(),
                        reason: "the shell on the host ended in the middle of a script".to_owned(),
                    }
                } else {
                    self.lost_without_error()
                })
            }
            Err(error) => {
                *slot = None;
                Err(if self.master_alive().await {
                    TransportError::Lost {
                        host: self.host.clone(),
                        reason: format!("cannot talk to the shell on the host: {error}"),
                    }
                } else {
                    self.lost_without_error()
                })
            }
        }
    }

    /// Open a channel and start a shell in it; the driver goes with the first request.
    async fn start_shell(&self) -> Result<RemoteShell, TransportError> {
        let mut command = Session::to_raw_command(Arc::clone(&self.session), SHELL_COMMAND);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = match command.spawn().await {
            Ok(child) => child,
            Err(error) => return Err(self.channel_failure(&error).await),
        };
        let (Some(stdin), Some(stdout), Some(stderr)) = (
            child.stdin().take(),
            child.stdout().take(),
            child.stderr().take(),
        ) else {
            return Err(self.connect_error("the shell's channel has no pipes".to_owned()));
        };
        Ok(RemoteShell::new(
            ShellChannel::Mux(Box::new(child)),
            Box::new(stdin),
            Box::new(stdout),
            Box::new(stderr),
        ))
    }

    /// Stop whatever the shell was running (an overrun or abandoned script) and forget the
    /// shell; the next script gets a new one. Best effort: the host may be gone.
    ///
    /// The master's own shell ends the master with it unless another session stays open,
    /// so before it goes the next shell is opened over the control socket and left in
    /// `slot` (not at `close`, where the master goes too).
    async fn discard_shell(&self, slot: &mut Option<RemoteShell>, closing: bool) {
        let Some(mut shell) = slot.take() else { return };
        let (pid, busy) = (shell.pid(), shell.busy.take());
        if busy.is_none() && closing {
            return;
        }
        if shell.on_master() && !closing {
            *slot = self.start_shell().await.ok();
        }
        drop(shell);
        let (Some(pid), Some(become_user)) = (pid, busy) else {
            return;
        };
        // A script run through sudo runs as another user; only root may stop it.
        let mut stop = Script::new(shell::kill_tree(pid));
        stop.become_user = become_user.map(|_| "root".to_owned());
        stop.timeout = Some(Duration::from_secs(5));
        let _ = tokio::time::timeout(Duration::from_secs(5), self.execute(&stop)).await;
    }

    /// What both ways of running a script check of its output.
    fn finish(&self, script: &Script, output: Output) -> Result<Output, TransportError> {
        if script.become_user.is_some() && sudo_wants_password(&output) {
            return Err(TransportError::SudoPassword {
                host: self.host.clone(),
            });
        }
        Ok(output)
    }

    /// Run one script over a channel of its own (when the shell is busy); `run` adds the
    /// timeout around this.
    async fn execute(&self, script: &Script) -> Result<Output, TransportError> {
        let argv = sh_argv(script);
        if argv.iter().any(|word| word.contains('\0')) {
            return Err(self.connect_error(
                "the script or its environment contains a NUL byte, which no command line can carry"
                    .to_owned(),
            ));
        }
        // The host's sshd hands the command to the user's shell as one line, so every word
        // is quoted for it: sh_argv's words arrive as exactly those words.
        let mut words = argv.iter().map(|word| quote(word));
        let mut command = self.session.raw_command(words.next().unwrap_or_default());
        command.raw_args(words);
        command
            .stdin(if script.stdin.is_empty() {
                Stdio::null()
            } else {
                Stdio::piped()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = match command.spawn().await {
            Ok(child) => child,
            Err(error) => return Err(self.channel_failure(&error).await),
        };

        let stdin = child.stdin().take();
        let stdout = child.stdout().take();
        let stderr = child.stderr().take();
        let feed = async {
            if let Some(mut stdin) = stdin {
                // A script that does not read its input closes the pipe early; that is
                // not an error of ours. Dropping `stdin` then sends EOF.
                let _ = stdin.write_all(&script.stdin).await;
                let _ = stdin.shutdown().await;
            }
        };
        let ((), stdout, stderr) = tokio::join!(feed, read_all(stdout), read_all(stderr));
        let (stdout, stderr) = match (stdout, stderr) {
            (Ok(stdout), Ok(stderr)) => (stdout, stderr),
            (Err(error), _) | (_, Err(error)) => {
                return Err(TransportError::Lost {
                    host: self.host.clone(),
                    reason: format!("cannot read the script's output: {error}"),
                });
            }
        };

        let status = match child.wait().await {
            Ok(status) => match status.code() {
                // 255 is also what a dying connection looks like; a script may exit 255
                // itself, so only a dead master makes it a lost connection.
                Some(255) if !self.master_alive().await => {
                    return Err(self.lost_without_error());
                }
                Some(code) => code,
                None => -1,
            },
            // The crate turns exit status 127 into this error; for us it is the script's
            // own "command not found".
            Err(openssh::Error::Remote(error)) if error.kind() == std::io::ErrorKind::NotFound => {
                127
            }
            // No exit status: either the script was killed by a signal or the connection
            // died under it; only the master can tell which.
            Err(openssh::Error::RemoteProcessTerminated) => {
                if self.master_alive().await {
                    -1
                } else {
                    return Err(self.lost_without_error());
                }
            }
            Err(error) => return Err(self.channel_failure(&error).await),
        };
        self.finish(
            script,
            Output {
                status,
                stdout,
                stderr,
            },
        )
    }

    /// The error for a channel that could not be opened or broke.
    async fn channel_failure(&self, error: &openssh::Error) -> TransportError {
        if self.master_alive().await {
            // The connection stands but the host refused or broke this channel (for
            // example more sessions than its sshd's MaxSessions).
            TransportError::Lost {
                host: self.host.clone(),
                reason: format!("the host refused or broke a channel: {}", describe(error)),
            }
        } else {
            self.lost(error)
        }
    }

    fn lost_without_error(&self) -> TransportError {
        let said = self.log_tail();
        TransportError::Lost {
            host: self.host.clone(),
            reason: if said.is_empty() {
                "the connection closed (the host's sshd stopped, or the network dropped it)"
                    .to_owned()
            } else {
                said
            },
        }
    }
}

#[async_trait]
impl Connection for SshConnection {
    fn host(&self) -> &str {
        &self.host
    }

    async fn forward(&self, remote_host: &str, remote_port: u16) -> Result<u16, TransportError> {
        SshConnection::forward(self, remote_host, remote_port).await
    }

    async fn run(&self, script: &Script) -> Result<Output, TransportError> {
        // Large input (a big file to install) streams through a channel of its own: the
        // shell would take it whole, in base64, before starting the script.
        if script.stdin.len() <= SHELL_INPUT_LIMIT {
            if let Ok(mut shell) = self.shell.try_lock() {
                return self.run_in_shell(&mut shell, script).await;
            }
        }
        match script.timeout {
            // Giving up drops the channel; the master stays usable for the next script.
            Some(limit) => tokio::time::timeout(limit, self.execute(script))
                .await
                .map_err(|_| TransportError::Timeout {
                    host: self.host.clone(),
                    seconds: limit.as_secs(),
                })?,
            None => self.execute(script).await,
        }
    }

    async fn disconnect(&self) {
        // The host is going down: whatever its shell ran dies with it.
        *self.shell.lock().await = None;
        self.kill_master().await;
    }

    async fn reconnect(&self, connect_timeout: Option<Duration>) -> Result<(), TransportError> {
        self.disconnect().await;
        self.start_master(connect_timeout.unwrap_or(self.options.connect_timeout))
            .await
    }

    async fn pipeline(&self) -> Option<Box<dyn Pipeline + '_>> {
        let mut slot = self.shell.lock().await;
        if slot.as_ref().is_some_and(|shell| shell.busy.is_some()) {
            self.discard_shell(&mut slot, false).await;
        }
        let shell = match slot.take() {
            Some(shell) => shell,
            None => self.start_shell().await.ok()?,
        };
        let pipeline = ShellPipeline::new(shell).await.ok().flatten()?;
        Some(Box::new(SshPipeline {
            connection: self,
            slot,
            pipeline: Some(pipeline),
            finished: false,
        }))
    }

    fn round_trips(&self) -> u64 {
        self.flights.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn close(&self) {
        // A script abandoned in the middle (an interrupted run) is stopped on the host
        // rather than left to run on after quayside has gone.
        if let Ok(mut shell) = self.shell.try_lock() {
            self.discard_shell(&mut shell, true).await;
        }
        self.kill_master().await;
        remove_dir(&self.dir);
    }
}

/// A host's shell taken for a pipeline ([`Connection::pipeline`]): given back to the
/// connection when finished or dropped.
struct SshPipeline<'a> {
    connection: &'a SshConnection,
    slot: tokio::sync::MutexGuard<'a, Option<RemoteShell>>,
    pipeline: Option<ShellPipeline>,
    finished: bool,
}

impl SshPipeline<'_> {
    fn shell(&self) -> &ShellPipeline {
        self.pipeline.as_ref().expect("the pipeline is in use")
    }

    async fn broken(&self, error: Option<std::io::Error>) -> TransportError {
        let connection = self.connection;
        if connection.master_alive().await {
            TransportError::Lost {
                host: connection.host.clone(),
                reason: match error {
                    Some(error) => format!("cannot talk to the shell on the host: {error}"),
                    None => "the shell on the host ended in the middle of a script".to_owned(),
                },
            }
        } else {
            connection.lost_without_error()
        }
    }
}

#[async_trait]
impl Pipeline for SshPipeline<'_> {
    async fn send(&self, script: &Script, chain: Chain) -> Result<Ticket, TransportError> {
        match self
            .shell()
            .send(script, chain, &self.connection.flights)
            .await
        {
            Ok(token) => Ok(Ticket(token)),
            Err(error) => Err(self.broken(Some(error)).await),
        }
    }

    async fn answer(&self, ticket: Ticket, script: &Script) -> Result<Output, TransportError> {
        match self.shell().answer(&ticket.0).await {
            Ok(Some(output)) if output.status == shell::SKIPPED => Ok(output),
            Ok(Some(output)) => self.connection.finish(script, output),
            Ok(None) => Err(self.broken(None).await),
            Err(error) => Err(self.broken(Some(error)).await),
        }
    }

    async fn stop(&self) {
        // The first answer has not come yet: nothing known to signal; the requests run.
        let Some(pid) = self.shell().pid() else {
            return;
        };
        let mut stop = Script::new(format!("kill -USR1 {pid} 2>/dev/null; exit 0"));
        stop.timeout = Some(Duration::from_secs(5));
        let _ = tokio::time::timeout(Duration::from_secs(5), self.connection.execute(&stop)).await;
    }

    async fn finish(mut self: Box<Self>) {
        self.finished = true;
    }
}

impl Drop for SshPipeline<'_> {
    fn drop(&mut self) {
        if let Some(pipeline) = self.pipeline.take() {
            *self.slot = pipeline.into_shell(!self.finished);
        }
    }
}

impl Drop for SshConnection {
    fn drop(&mut self) {
        // The master child is killed by its own drop (kill_on_drop); only the directory
        // needs removing.
        remove_dir(&self.dir);
    }
}

fn free_local_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}

async fn read_all(stream: Option<impl AsyncRead + Unpin>) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    if let Some(mut stream) = stream {
        stream.read_to_end(&mut bytes).await?;
    }
    Ok(bytes)
}

/// What ssh logged when it failed, on one line: the warning banners dropped, the lines
/// that say what happened kept.
fn summarize(log: &str) -> String {
    log.lines()
        .map(str::trim)
        .filter(|line| {
            !line.is_empty()
                && !line.starts_with('@')
                && !line.starts_with("The fingerprint for")
                && !line.starts_with("SHA256:")
                && !line.starts_with("Add correct host key")
                && !line.starts_with("IT IS POSSIBLE")
                && !line.starts_with("Someone could be")
                && !line.starts_with("It is also possible")
                && !line.starts_with("Please contact")
        })
        .fold(String::new(), |mut text, line| {
            // "remove with:" is followed by the command on the next line.
            if !text.is_empty() {
                text.push_str(if text.ends_with(':') { " " } else { "; " });
            }
            text.push_str(line);
            text
        })
}

/// An error with its chain of causes, which is where the crate puts the useful part.
fn describe(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_failures_are_summarized_on_one_line() {
        let log = "@@@@@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n\
                   Offending ED25519 key in /k:3\nHost key verification failed.\n";
        assert_eq!(
            summarize(log),
            "Offending ED25519 key in /k:3; Host key verification failed."
        );
    }
}
