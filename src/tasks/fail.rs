//! `fail`: fail the host with a message.

use serde::Deserialize;

use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fail {
    #[serde(default = "default_message")]
    msg: String,
}

fn default_message() -> String {
    "Failed as requested from task".to_owned()
}

impl TaskType for Fail {
    // As ansible-core's action plugin: "This action (NAME) does not support async."
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Fails;

    const FREE_FORM: Option<&'static str> = Some("msg");
    const ON_CONTROLLER: bool = true;

    async fn run(&self, _ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        Ok(Outcome::failed(self.msg.clone()))
    }
}
