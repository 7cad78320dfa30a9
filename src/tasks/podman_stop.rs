//! `podman_stop`: stop a container (and remove it with `remove: true`), in one round trip.

use serde::Deserialize;
use serde_json::json;

use super::podman::{PREAMBLE, STALE, STATE_PIDS, check_name, failure, inspect_lines, report};
use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;
use crate::transport::quote::quote;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodmanStop {
    name: String,
    /// Seconds to wait for the container to stop before killing it (`podman stop -t`).
    #[serde(default)]
    timeout: Option<u32>,
    /// Remove the container too.
    #[serde(default)]
    remove: bool,
}

impl PodmanStop {
    fn script(&self, check: bool) -> String {
        let time = match self.timeout {
            Some(seconds) => format!(" -t {seconds}"),
            None => String::new(),
        };
        let mut script = format!("{PREAMBLE}name={}\n", quote(&self.name));
        script.push_str(&inspect_lines("before.", &STATE_PIDS));
        // A stale container has nothing left to stop: `podman stop` would return 0 and
        // leave it as it is, or time out waiting for conmon's exit file.
        script.push_str(STALE);
        script.push_str(
            "stale=no\nif [ $exists = yes ] && stale; then stale=yes; echo stale=$state; fi\n",
        );
        script.push_str(if self.remove {
            "if [ $exists = yes ]; then action=remove\n"
        } else {
            "if [ $exists = no ] || [ $stale = yes ]; then action=none\n"
        });
        script.push_str(
            "elif [ \"$state\" = running ] || [ \"$state\" = paused ] || [ \"$state\" = stopping ]; \
             then action=stop\n\
             else action=none; fi\n\
             echo action=$action\n",
        );
        if check {
            script.push_str("exit 0\n");
            return script;
        }
        // `--ignore`: a container run with `--rm` may remove itself while it stops. Twice:
        // right after conmon died, podman 4.3.1's first `rm -f` fails ("could not be
        // stopped ... container state improper") and leaves the container `stopping`.
        script.push_str(&format!(
            "case $action in\n\
             stop) podman stop{time} \"$name\" >/dev/null || {{ echo failed=podman-stop; exit 1; }} ;;\n\
             remove) podman rm --force --ignore{time} \"$name\" >/dev/null 2>&1 || podman rm --force --ignore{time} \"$name\" >/dev/null || {{ echo failed=podman-rm; exit 1; }} ;;\n\
             esac\n"
        ));
        script.push_str(&inspect_lines("after.", &[]));
        script
    }
}

impl TaskType for PodmanStop {
    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        if let Err(message) = check_name(&self.name) {
            return Ok(Outcome::failed(message));
        }
        let output = ctx.run(ctx.script(self.script(ctx.check))).await?;
        let report = report(&output);
        if !output.success() || report.contains_key("failed") {
            return Ok(Outcome::failed(failure(ctx.host, &report, &output)));
        }
        let state_of = |prefix: &str| {
            if report.get(&format!("{prefix}exists")).map(String::as_str) == Some("yes") {
                report
                    .get(&format!("{prefix}state"))
                    .cloned()
                    .unwrap_or_default()
            } else {
                "absent".to_owned()
            }
        };
        let before = state_of("before.");
        let after = if ctx.check {
            before.clone()
        } else {
            state_of("after.")
        };
        let action = report.get("action").map(String::as_str).unwrap_or("none");
        let mut outcome = match (action, ctx.check) {
            ("stop", false) => Outcome::changed().with_msg("stopped"),
            ("stop", true) => Outcome::changed().with_msg("would be stopped"),
            ("remove", false) => Outcome::changed().with_msg("removed"),
            ("remove", true) => Outcome::changed().with_msg("would be removed"),
            _ if before == "absent" => Outcome::ok().with_msg("absent"),
            _ if report.contains_key("stale") => Outcome::ok().with_msg(format!(
                "already stopped: podman lists it as `{before}`, but its conmon and processes are gone"
            )),
            _ => Outcome::ok().with_msg(format!("already stopped ({before})")),
        };
        outcome.containers = vec![super::ContainerChange {
            name: self.name.clone(),
            was_running: !report.contains_key("stale")
                && matches!(before.as_str(), "running" | "paused"),
            running: false,
            restarted: false,
        }];
        outcome = outcome.with(
            "container",
            json!({ "name": self.name, "state": after, "state_before": before }),
        );
        Ok(outcome)
    }
}
