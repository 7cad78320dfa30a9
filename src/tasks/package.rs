//! `package` (ansible.builtin.package): the host's package manager, as Ansible's `use:
//! auto` picks it, with `name` and `state`. quayside drives apt (`apt.rs`, the same code
//! and results as `apt`); on a host without apt-get the task fails, saying so. `dnf` and
//! `yum` are refused where written: this project builds and tests on Debian only, and a
//! module that was never run against a real dnf is not offered.

use serde::Deserialize;
use serde::de::{self, Deserializer};

use super::apt::{self, Apt, State};
use super::args::OneOrMany;
use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Package {
    name: OneOrMany,
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
            "quayside's `package` drives apt only, and this host has no apt-get (dnf and yum are not built)",
        )
        .await
    }
}

/// `dnf` and `yum`: refused where written.
#[derive(Debug)]
pub struct NotBuilt;

impl<'de> Deserialize<'de> for NotBuilt {
    fn deserialize<D: Deserializer<'de>>(_deserializer: D) -> Result<Self, D::Error> {
        Err(de::Error::custom(
            "`dnf` and `yum` are not built: quayside is tested on Debian only (use `apt`, or `package` on apt hosts)",
        ))
    }
}

impl TaskType for NotBuilt {
    async fn run(&self, _ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        Ok(Outcome::failed("`dnf` and `yum` are not built"))
    }
}
