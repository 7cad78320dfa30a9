//! The channel over a host's master that carries its remote shell ([`crate::transport::shell`]):
//! one script a request, one answer back.

use std::sync::Arc;

use openssh::{ChildStderr, ChildStdin, ChildStdout, Session};
use tokio::io::AsyncWriteExt;

use crate::transport::local::sh_argv;
use crate::transport::shell;
use crate::transport::{Output, Script};

/// The most standard input a script sends through the host's shell; more goes through a
/// channel of its own.
pub(super) const SHELL_INPUT_LIMIT: usize = 1 << 20;

/// The shell on a host that runs its scripts, one at a time.
pub(super) struct RemoteShell {
    /// The channel; dropping it closes the shell's input, and the shell ends.
    pub(super) _child: openssh::Child<Arc<Session>>,
    pub(super) stdin: ChildStdin,
    pub(super) stdout: ChildStdout,
    pub(super) stderr: ChildStderr,
    /// The shell's pid on the host, from its first answer.
    pub(super) pid: Option<u32>,
    /// While a script runs: `Some(become_user)` of that script. Still set when the caller
    /// gave up on it before the answer came.
    pub(super) busy: Option<Option<String>>,
}

impl RemoteShell {
    /// Send one script and read its answer; `None` when the shell ended first.
    pub(super) async fn exchange(&mut self, script: &Script) -> std::io::Result<Option<Output>> {
        let argv = sh_argv(script);
        if argv.iter().any(|word| word.contains('\0')) {
            return Err(std::io::Error::other(
                "the script or its environment contains a NUL byte, which no command line can carry",
            ));
        }
        let first = self.pid.is_none();
        let token = shell::new_token();
        let mut bytes = Vec::new();
        if first {
            bytes.extend_from_slice(shell::DRIVER.as_bytes());
        }
        bytes.extend(shell::request(&token, &argv, &script.stdin));
        self.busy = Some(script.become_user.clone());

        let RemoteShell {
            stdin,
            stdout,
            stderr,
            pid,
            ..
        } = self;
        let write = async {
            stdin.write_all(&bytes).await?;
            stdin.flush().await
        };
        let mut stderr_pid = None;
        let (written, stdout, stderr) = tokio::join!(
            write,
            shell::read_frame(stdout, &token, first.then_some(pid)),
            shell::read_frame(stderr, &token, first.then_some(&mut stderr_pid)),
        );
        let (Some(stdout), Some(stderr)) = (stdout?, stderr?) else {
            return Ok(None);
        };
        written?;
        self.busy = None;
        Ok(Some(Output {
            status: stdout.status,
            stdout: stdout.output,
            stderr: stderr.output,
        }))
    }
}
