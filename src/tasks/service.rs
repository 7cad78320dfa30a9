//! `service` (Ansible's `ansible.builtin.service`): on a host whose service manager is
//! systemd, what ansible-core's `service` action does there: it runs `systemd` (`systemd.rs`)
//! with `name`, `state` and `enabled`, and ignores `sleep`, `pattern`, `runlevel` and
//! `arguments`/`args` with Ansible's warning, registered under `warnings`. quayside drives
//! systemd only: on a host without systemd the task fails and says so, and `use` other
//! than `auto` or `systemd` is refused where written.

use serde::Deserialize;

use super::systemd::{State, Systemd};
use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;

#[derive(Debug, Deserialize)]
#[serde(try_from = "Args")]
pub struct Service(Args);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    name: String,
    #[serde(default)]
    state: Option<State>,
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    sleep: Option<u32>,
    #[serde(default)]
    pattern: Option<String>,
    #[serde(default)]
    runlevel: Option<String>,
    #[serde(default, alias = "args")]
    arguments: Option<String>,
    /// Read only to refuse a service manager quayside does not drive.
    #[serde(default, rename = "use")]
    _use: Use,
}

/// The service manager module to run: systemd, whichever way it is asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Use {
    #[default]
    Auto,
    Systemd,
}

impl TryFrom<Args> for Service {
    type Error = String;

    fn try_from(args: Args) -> Result<Self, String> {
        if args.state.is_none() && args.enabled.is_none() {
            return Err("one of the following is required: state, enabled".to_owned());
        }
        Ok(Service(args))
    }
}

/// Ansible's test for systemd as the service manager (`ansible_service_mgr`): the
/// directory systemd makes at boot.
const PRELUDE: &str = r#"
if [ ! -d /run/systemd/system ] && [ ! -d /dev/.run/systemd ] && [ ! -d /dev/.systemd ]; then
    echo "@@fail"
    echo "this host's service manager is not systemd, and quayside's \`service\` drives systemd only"
    exit 0
fi
"#;

impl TaskType for Service {
    // quayside's `service` drives systemd, as ansible-core's action does on a systemd host
    // (it runs `ansible.legacy.systemd` there: `systemd_service`'s defaults do not reach it).
    const BACKEND: Option<&'static str> = Some("systemd");
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Runs;

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let args = &self.0;
        let systemd = Systemd::for_service(args.name.clone(), args.state, args.enabled);
        let mut outcome = systemd.apply(ctx, PRELUDE).await?;
        // As ansible-core's `service` action on a systemd host, in its order.
        let ignored: Vec<String> = [
            ("pattern", args.pattern.is_some()),
            ("runlevel", args.runlevel.is_some()),
            ("sleep", args.sleep.is_some()),
            ("arguments", args.arguments.is_some()),
        ]
        .into_iter()
        .filter(|(_, given)| *given)
        .map(|(name, _)| format!("Ignoring \"{name}\" as it is not used in \"systemd\""))
        .collect();
        if !ignored.is_empty() && !outcome.failed {
            outcome = outcome.with("warnings", ignored);
        }
        Ok(outcome)
    }
}
