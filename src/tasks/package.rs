//! `package` (ansible.builtin.package): the host's package manager, as ansible-core's
//! action picks it: `use` when written, else the `ansible_package_use` variable, else the
//! `pkg_mgr` fact (gathered facts), else the host's, found as the fact is (one more round
//! trip, where ansible-core runs `setup`). apt runs `apt.rs` (the same code and results as
//! `apt`), dnf and yum run `dnf.rs`; another manager fails the task, saying so.

use serde::Deserialize;

use super::apt::{self, Apt, State};
use super::args::OneOrMany;
use super::dnf::Dnf;
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
    manager: Manager,
}

/// `use`: `auto` (the default), `apt`, `dnf` or `yum` (ansible-core 2.19's `yum` is dnf).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Manager {
    #[default]
    Auto,
    Apt,
    Dnf,
    Yum,
}

impl Manager {
    fn named(name: &str) -> Result<Manager, String> {
        match name {
            "auto" => Ok(Manager::Auto),
            "apt" => Ok(Manager::Apt),
            "dnf" | "dnf5" => Ok(Manager::Dnf),
            "yum" => Ok(Manager::Yum),
            // The fact when the host has none of the managers it looks for.
            "unknown" => Err(
                "Could not find a matching action for the \"unknown\" package manager.".to_owned(),
            ),
            other => Err(format!(
                "quayside's `package` drives apt, dnf and yum; this host's package manager is `{other}`"
            )),
        }
    }
}

impl Package {
    /// The manager ansible-core's `package` action would pick for this host.
    async fn manager(
        &self,
        ctx: &TaskContext<'_>,
    ) -> Result<Result<Manager, String>, TransportError> {
        if self.manager != Manager::Auto {
            return Ok(Ok(self.manager));
        }
        let set = |value: minijinja::Value| {
            value
                .as_str()
                .filter(|name| !name.is_empty())
                .map(str::to_owned)
        };
        let configured = ctx.vars.get_attr("ansible_package_use").ok().and_then(set);
        let fact = || {
            ctx.vars
                .get_attr("ansible_facts")
                .and_then(|facts| facts.get_attr("pkg_mgr"))
                .ok()
                .and_then(set)
        };
        if let Some(name) = configured.or_else(fact) {
            return Ok(Manager::named(&name));
        }
        let output = ctx
            .run(ctx.script(super::setup::PKG_MGR.to_owned()))
            .await?;
        let stdout = output.stdout_lossy();
        let found = stdout.trim().strip_prefix("pkg_mgr=").unwrap_or("unknown");
        Ok(Manager::named(found.trim()))
    }
}

impl TaskType for Package {
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Runs;

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let manager = match self.manager(ctx).await? {
            Ok(manager) => manager,
            Err(message) => return Ok(Outcome::failed(message)),
        };
        if matches!(manager, Manager::Dnf | Manager::Yum) {
            let task = Dnf::for_package(self.name.clone(), self.state.name());
            return task.run(ctx).await;
        }
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
            "this host has no apt-get: give `package` a `use` (`dnf`, `yum`)",
        )
        .await
    }
}
