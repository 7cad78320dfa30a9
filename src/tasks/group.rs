//! `group` (Ansible's `ansible.builtin.group`): a local group present with its `gid`, or
//! absent, through `groupadd`, `groupmod` and `groupdel`, looked up and changed in one round
//! trip. Registers what Ansible registers: `name`, `state`, and when the group exists
//! afterwards `gid` and `system`. Ansible's other arguments (`non_unique`, `local`,
//! `force`, `gid_min`/`gid_max`) are refused where written.

use serde::Deserialize;

use super::{Outcome, TaskContext, TaskType};
use crate::transport::{TransportError, quote};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    name: String,
    #[serde(default)]
    gid: Option<u32>,
    #[serde(default)]
    state: State,
    #[serde(default)]
    system: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    #[default]
    Present,
    Absent,
}

/// Reports `changed=0|1`, `gid=N` (the group's, once done), or `rc=N` for a failed
/// command, with its error on stderr.
const SCRIPT: &str = r#"
line=$(getent group "$name") || line=
changed=0
if [ "$state" = absent ]; then
    if [ -n "$line" ]; then
        changed=1
        if [ "$check" = 0 ]; then
            err=$(groupdel "$name" 2>&1) || { echo "rc=$?"; printf '%s\n' "$err" >&2; exit 0; }
        fi
    fi
    echo "changed=$changed"
    exit 0
fi
if [ -z "$line" ]; then
    changed=1
    if [ "$check" = 0 ]; then
        set -- "$name"
        [ -n "$gid" ] && set -- -g "$gid" "$@"
        [ "$system" = 1 ] && set -- -r "$@"
        err=$(groupadd "$@" 2>&1) || { echo "rc=$?"; printf '%s\n' "$err" >&2; exit 0; }
    fi
else
    current=$(printf '%s' "$line" | cut -d: -f3)
    if [ -n "$gid" ] && [ "$current" != "$gid" ]; then
        changed=1
        if [ "$check" = 0 ]; then
            err=$(groupmod -g "$gid" "$name" 2>&1) || { echo "rc=$?"; printf '%s\n' "$err" >&2; exit 0; }
        fi
    fi
fi
echo "changed=$changed"
line=$(getent group "$name") && echo "gid=$(printf '%s' "$line" | cut -d: -f3)"
exit 0
"#;

impl TaskType for Group {
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Runs;

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let text = format!(
            "name={}\ngid={}\nstate={}\nsystem={}\ncheck={}\n{SCRIPT}",
            quote(&self.name),
            self.gid.map(|g| g.to_string()).unwrap_or_default(),
            if self.state == State::Absent {
                "absent"
            } else {
                "present"
            },
            u8::from(self.system),
            u8::from(ctx.check),
        );
        let output = ctx.run(ctx.script(text)).await?;
        let report = super::ScriptReport::of(&output);
        let get = |key: &str| report.get(key);
        let state = if self.state == State::Absent {
            "absent"
        } else {
            "present"
        };
        if get("rc").is_some() {
            let stderr = output.stderr_lossy();
            // As Ansible: the command's error as `msg`, and the group's name.
            return Ok(
                Outcome::failed(format!("{}\n", stderr.trim())).with("name", self.name.clone())
            );
        }
        let changed = match report.changed(&output, "group") {
            Ok(changed) => changed,
            Err(failure) => return Ok(*failure),
        };
        let mut outcome = if changed {
            Outcome::changed()
        } else {
            Outcome::ok()
        }
        .with("name", self.name.clone())
        .with("state", state);
        if self.state == State::Absent {
            // As Ansible: a group that check mode would remove registers `changed` alone.
            if ctx.check && outcome.changed {
                return Ok(Outcome::changed());
            }
        } else if let Some(gid) = get("gid").and_then(|g| g.parse::<u64>().ok()) {
            outcome = outcome.with("gid", gid).with("system", self.system);
        } else if !ctx.check {
            return Ok(Outcome::failed(format!(
                "group `{}` is not there after `groupadd`",
                self.name
            )));
        }
        Ok(outcome)
    }
}
