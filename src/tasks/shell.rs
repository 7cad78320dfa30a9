//! `shell`: run a command line through a shell, with pipes, redirections and expansions.

use serde::Deserialize;

use super::command::{Guards, run_guarded};
use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;
use crate::transport::quote::quote;
use crate::yaml::Node;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shell {
    cmd: String,
    #[serde(default)]
    chdir: Option<String>,
    #[serde(default)]
    creates: Option<String>,
    #[serde(default)]
    removes: Option<String>,
    #[serde(default)]
    stdin: Option<String>,
    /// The shell to run the command with (default `/bin/sh`).
    #[serde(default)]
    executable: Option<String>,
}

impl Guards for Shell {
    fn chdir(&self) -> Option<&str> {
        self.chdir.as_deref()
    }
    fn creates(&self) -> Option<&str> {
        self.creates.as_deref()
    }
    fn removes(&self) -> Option<&str> {
        self.removes.as_deref()
    }
    fn stdin(&self) -> Option<&str> {
        self.stdin.as_deref()
    }
}

impl TaskType for Shell {
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Runs;

    const FREE_FORM: Option<&'static str> = Some("cmd");
    fn pipelines(_args: &Node) -> bool {
        true
    }

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let body = match &self.executable {
            Some(shell) => format!("exec {} -c {}", quote(shell), quote(&self.cmd)),
            // A subshell keeps the user's `exit` from ending the guard script early.
            None => format!("( {}\n)", self.cmd),
        };
        run_guarded(ctx, &body, self, self.cmd.clone().into()).await
    }
}
