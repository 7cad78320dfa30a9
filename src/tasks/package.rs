//! `package` (ansible.builtin.package): the host's package manager, as Ansible's `use:
//! auto` picks it, with `name` and `state`. quayside drives apt (`apt.rs`, the same code
//! and results as `apt`); on a host without apt-get the task fails, saying so (`dnf` is
//! its own task type, `dnf.rs`).

use serde::Deserialize;

use super::apt::{self, Apt, State};
use super::args::OneOrMany;
use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Package {
    name: OneOrMany,
    /// `present` when not written: ansible-core hands the task to apt, whose default it is.
    #[serde(default)]
    state: State,
    #[serde(default, rename = "use")]
    #[allow(dead_code)]
    manager: Manager,
}

/// `use`: `auto` (the default) or `apt`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Manager {
    #[default]
    Auto,
    Apt,
}

impl TaskType for Package {
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Runs;

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        for spec in &self.name.0 {
            if let Err(message) = apt::check_package(spec) {
                return Ok(Outcome::failed(message));
            }
        }
        let task = Apt(apt::Args {
            package: Some(self.name.clone()),
            state: self.state,
            ..apt::Args::default()
        });
        task.apply(
            ctx,
            "quayside's `package` drives apt only, and this host has no apt-get (on a dnf host, use `dnf`)",
        )
        .await
    }
}
