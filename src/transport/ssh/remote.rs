//! The session that carries a host's remote shell ([`crate::transport::shell`]): the
//! master's own session (its `ssh` process's standard input and output), or a channel
//! opened over the master's control socket. One script a request, one answer back; or,
//! pipelined, several requests written before their answers are read ([`ShellPipeline`]).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use openssh::Session;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::transport::local::sh_argv;
use crate::transport::shell;
use crate::transport::{Chain, Output, Script};

/// The most standard input a script sends through the host's shell; more goes through a
/// channel of its own.
pub(super) const SHELL_INPUT_LIMIT: usize = 1 << 20;

/// The shell's input: the master's standard input, or a channel's.
pub(super) type ShellInput = Box<dyn AsyncWrite + Send + Sync + Unpin>;
/// One of the shell's output streams.
pub(super) type ShellOutput = Box<dyn AsyncRead + Send + Sync + Unpin>;

/// Which session carries a host's shell.
pub(super) enum ShellChannel {
    /// The master's own session: the `ssh` process's standard input and output are the
    /// shell's. When that session ends the master ends too, unless a channel over its
    /// control socket is open.
    Master,
    /// A channel opened over the control socket; dropping it closes the channel.
    Mux(
        #[allow(dead_code, reason = "held for its drop, which closes the channel")]
        Box<openssh::Child<Arc<Session>>>,
    ),
}

/// The writing half of a host's shell.
pub(super) struct ShellWriter {
    pub(super) stdin: ShellInput,
    /// The driver has been written (it goes with the first request).
    pub(super) driver_sent: bool,
}

/// The reading half of a host's shell.
pub(super) struct ShellReader {
    pub(super) stdout: ShellOutput,
    pub(super) stderr: ShellOutput,
    /// What was read past the last frame on each stream (the start of the next ones).
    carry_out: Vec<u8>,
    carry_err: Vec<u8>,
    /// The shell's pid on the host, from its ready line.
    pub(super) pid: Option<u32>,
    /// Where the pid is told as soon as it is read, while a pipeline holds the reader.
    published: Option<Arc<AtomicU32>>,
}

/// What the two halves share: the requests written and not yet read, in the order
/// written, and whether the driver's ready lines are still to be read.
#[derive(Default)]
pub(super) struct InFlight {
    pending: VecDeque<String>,
    ready_pending: bool,
}

/// The shell on a host that runs its scripts.
pub(super) struct RemoteShell {
    /// The session; dropping the shell closes its input, and the shell ends.
    pub(super) channel: ShellChannel,
    pub(super) writer: ShellWriter,
    pub(super) reader: ShellReader,
    in_flight: InFlight,
    /// While a script runs: `Some(become_user)` of that script. Still set when the caller
    /// gave up on it before the answer came.
    pub(super) busy: Option<Option<String>>,
}

/// Round trips a host's shell took: times a request was written with nothing in flight.
pub(super) type Flights = AtomicU64;

impl ShellWriter {
    /// The bytes of one request, the driver first if it has not gone yet, and its token,
    /// recorded in `in_flight` as written.
    fn request(
        &mut self,
        script: &Script,
        chain: Chain,
        in_flight: &mut InFlight,
        flights: &Flights,
    ) -> std::io::Result<(String, Vec<u8>)> {
        let argv = sh_argv(script);
        if argv.iter().any(|word| word.contains('\0')) {
            return Err(std::io::Error::other(
                "the script or its environment contains a NUL byte, which no command line can carry",
            ));
        }
        let token = shell::new_token();
        let mut bytes = Vec::new();
        if !self.driver_sent {
            bytes.extend_from_slice(shell::DRIVER.as_bytes());
            self.driver_sent = true;
            in_flight.ready_pending = true;
        }
        bytes.extend(shell::request_in(chain, &token, &argv, &script.stdin));
        if in_flight.pending.is_empty() {
            flights.fetch_add(1, Ordering::Relaxed);
        }
        in_flight.pending.push_back(token.clone());
        Ok((token, bytes))
    }

    async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stdin.write_all(bytes).await?;
        self.stdin.flush().await
    }
}

impl ShellReader {
    /// Read the frame of `token` (the first request written and not yet read), with the
    /// ready lines before it if `ready`; `None` when the shell ended first.
    async fn frame(&mut self, token: &str, ready: bool) -> std::io::Result<Option<Output>> {
        let ShellReader {
            stdout,
            stderr,
            carry_out,
            carry_err,
            pid,
            published,
        } = self;
        if ready {
            // The ready lines first: the shell's pid is known as soon as the shell runs.
            let (out, err) = tokio::join!(
                shell::read_ready(stdout, carry_out),
                shell::read_ready(stderr, carry_err),
            );
            let (Some(shell_pid), Some(_)) = (out?, err?) else {
                return Ok(None);
            };
            *pid = shell_pid;
            if let Some(published) = published {
                published.store(shell_pid.unwrap_or(0), Ordering::SeqCst);
            }
        }
        let ShellReader {
            stdout,
            stderr,
            carry_out,
            carry_err,
            ..
        } = self;
        let (out, err) = tokio::join!(
            shell::read_frame_after(stdout, token, None, carry_out),
            shell::read_frame_after(stderr, token, None, carry_err),
        );
        let (Some(out), Some(err)) = (out?, err?) else {
            return Ok(None);
        };
        Ok(Some(Output {
            status: out.status,
            stdout: out.output,
            stderr: err.output,
        }))
    }
}

impl RemoteShell {
    pub(super) fn new(
        channel: ShellChannel,
        stdin: ShellInput,
        stdout: ShellOutput,
        stderr: ShellOutput,
    ) -> RemoteShell {
        RemoteShell {
            channel,
            writer: ShellWriter {
                stdin,
                driver_sent: false,
            },
            reader: ShellReader {
                stdout,
                stderr,
                carry_out: Vec::new(),
                carry_err: Vec::new(),
                pid: None,
                published: None,
            },
            in_flight: InFlight::default(),
            busy: None,
        }
    }

    /// Read the next answer written for; `None` when the shell ended first.
    async fn next_frame(&mut self) -> std::io::Result<Option<Output>> {
        let Some(token) = self.in_flight.pending.front().cloned() else {
            return Err(std::io::Error::other(
                "no request is waiting for its answer",
            ));
        };
        let ready = std::mem::take(&mut self.in_flight.ready_pending);
        let frame = self.reader.frame(&token, ready).await?;
        if frame.is_some() {
            self.in_flight.pending.pop_front();
        }
        Ok(frame)
    }

    /// Send one script and read its answer; `None` when the shell ended first. Answers
    /// of pipelined requests nobody waited for are read first and thrown away.
    pub(super) async fn exchange(
        &mut self,
        script: &Script,
        flights: &Flights,
    ) -> std::io::Result<Option<Output>> {
        self.busy = Some(script.become_user.clone());
        while !self.in_flight.pending.is_empty() {
            if self.next_frame().await?.is_none() {
                return Ok(None);
            }
        }
        let (token, bytes) =
            self.writer
                .request(script, Chain::Start, &mut self.in_flight, flights)?;
        let ready = std::mem::take(&mut self.in_flight.ready_pending);
        let RemoteShell { writer, reader, .. } = self;
        // Written and read at the same time: a script may answer before it has read all
        // of its input.
        let (written, frame) = tokio::join!(writer.write(&bytes), reader.frame(&token, ready));
        let Some(output) = frame? else {
            return Ok(None);
        };
        written?;
        self.in_flight.pending.pop_front();
        self.busy = None;
        Ok(Some(output))
    }

    pub(super) fn pid(&self) -> Option<u32> {
        self.reader.pid
    }

    /// The shell runs in the master's own session.
    pub(super) fn on_master(&self) -> bool {
        matches!(self.channel, ShellChannel::Master)
    }
}

/// A host's shell taken for a pipeline: the writing and the reading halves each behind a
/// lock of their own, so that a request can be written while an earlier one's answer is
/// awaited.
pub(super) struct ShellPipeline {
    channel: std::sync::Mutex<ShellChannel>,
    writer: tokio::sync::Mutex<ShellWriter>,
    reader: tokio::sync::Mutex<ShellReader>,
    in_flight: std::sync::Mutex<InFlight>,
    /// Answers read while waiting for a later one, by token.
    answered: std::sync::Mutex<HashMap<String, Output>>,
    /// The become user of the last request written: who may stop what it runs.
    last_user: std::sync::Mutex<Option<Option<String>>>,
    /// The shell broke: no request goes any more.
    broken: AtomicBool,
    /// The shell's pid on the host once known (0 before).
    pid: Arc<AtomicU32>,
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ShellPipeline {
    /// The shell split for a pipeline; `None` if it still had answers nobody read and the
    /// shell ended while they were read.
    pub(super) async fn new(mut shell: RemoteShell) -> std::io::Result<Option<ShellPipeline>> {
        while !shell.in_flight.pending.is_empty() {
            if shell.next_frame().await?.is_none() {
                return Ok(None);
            }
        }
        let pid = Arc::new(AtomicU32::new(shell.reader.pid.unwrap_or(0)));
        Ok(Some(ShellPipeline {
            pid: pid.clone(),
            channel: std::sync::Mutex::new(shell.channel),
            writer: tokio::sync::Mutex::new(shell.writer),
            reader: tokio::sync::Mutex::new(ShellReader {
                published: Some(pid),
                ..shell.reader
            }),
            in_flight: std::sync::Mutex::new(shell.in_flight),
            answered: std::sync::Mutex::new(HashMap::new()),
            last_user: std::sync::Mutex::new(None),
            broken: AtomicBool::new(false),
        }))
    }

    pub(super) fn is_broken(&self) -> bool {
        self.broken.load(Ordering::SeqCst)
    }

    /// The shell's pid on the host, once its ready line has been read.
    pub(super) fn pid(&self) -> Option<u32> {
        Some(self.pid.load(Ordering::SeqCst)).filter(|pid| *pid != 0)
    }

    /// Write one request: its token.
    pub(super) async fn send(
        &self,
        script: &Script,
        chain: Chain,
        flights: &Flights,
    ) -> std::io::Result<String> {
        if self.is_broken() {
            return Err(std::io::Error::other("the shell broke"));
        }
        let mut writer = self.writer.lock().await;
        let (token, bytes) = writer.request(script, chain, &mut lock(&self.in_flight), flights)?;
        *lock(&self.last_user) = Some(script.become_user.clone());
        if let Err(error) = writer.write(&bytes).await {
            self.broken.store(true, Ordering::SeqCst);
            return Err(error);
        }
        Ok(token)
    }

    /// The answer to the request written with `token`; `None` when the shell ended first.
    /// Answers to requests written before it are read on the way and kept for their
    /// callers (or thrown away with the pipeline when nobody waits for them).
    pub(super) async fn answer(&self, token: &str) -> std::io::Result<Option<Output>> {
        let mut reader = self.reader.lock().await;
        loop {
            if let Some(output) = lock(&self.answered).remove(token) {
                return Ok(Some(output));
            }
            let (next, ready) = {
                let mut in_flight = lock(&self.in_flight);
                let Some(next) = in_flight.pending.front().cloned() else {
                    return Err(std::io::Error::other(
                        "no request is waiting for this answer",
                    ));
                };
                (next, std::mem::take(&mut in_flight.ready_pending))
            };
            match reader.frame(&next, ready).await {
                Ok(Some(output)) => {
                    lock(&self.in_flight).pending.pop_front();
                    lock(&self.answered).insert(next, output);
                }
                Ok(None) => {
                    self.broken.store(true, Ordering::SeqCst);
                    return Ok(None);
                }
                Err(error) => {
                    self.broken.store(true, Ordering::SeqCst);
                    return Err(error);
                }
            }
        }
    }

    /// The shell back in one piece, `None` when it broke. Answers not read yet are left
    /// to the next use to read; if their callers gave up on them (an interrupted run)
    /// the shell is marked busy, so that the next use stops what they run.
    pub(super) fn into_shell(self, abandoned: bool) -> Option<RemoteShell> {
        if self.is_broken() {
            return None;
        }
        let in_flight = self
            .in_flight
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let busy = if abandoned && !in_flight.pending.is_empty() {
            self.last_user
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        } else {
            None
        };
        Some(RemoteShell {
            channel: self
                .channel
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            writer: self.writer.into_inner(),
            reader: ShellReader {
                published: None,
                ..self.reader.into_inner()
            },
            in_flight,
            busy,
        })
    }
}
