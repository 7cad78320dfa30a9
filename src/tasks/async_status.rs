//! `async_status` (Ansible's `ansible.builtin.async_status`): a job that an `async` task
//! started on the host, read (`mode: status`, the default) or its files removed
//! (`mode: cleanup`), as ansible-core reports it (`runner/async_job.rs` reads it).

use serde::Deserialize;

use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AsyncStatus {
    jid: String,
    #[serde(default)]
    mode: Mode,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Mode {
    #[default]
    Status,
    Cleanup,
}

impl TaskType for AsyncStatus {
    // As ansible-core's action plugin: "This action (NAME) does not support async."
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Fails;

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let cleanup = matches!(self.mode, Mode::Cleanup);
        crate::runner::async_job::status(ctx, &self.jid, cleanup).await
    }
}
