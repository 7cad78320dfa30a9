//! `group` (Ansible's `ansible.builtin.group`): a local group present with its `gid`, or
//! absent, through `groupadd`, `groupmod` and `groupdel`, looked up and changed in one round
//! trip. Registers what Ansible registers: `name`, `state`, and when the group exists
//! afterwards `gid` and `system`. `local` works on `/etc/group` itself, through libuser's
//! `lgroupadd`, `lgroupmod` and `lgroupdel`; `non_unique` (`-o`), `force` (`groupdel -f`),
//! `gid_min` and `gid_max` (`groupadd -K`) as ansible-core passes them. The combinations
//! ansible-core's module refuses fail the task with its messages.

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
    /// `groupdel -f`: remove the group even when it is a user's primary group.
    #[serde(default)]
    force: bool,
    /// Look in `/etc/group` itself and change it with libuser's commands.
    #[serde(default)]
    local: bool,
    /// `-o`: a `gid` another group has already.
    #[serde(default)]
    non_unique: bool,
    #[serde(default)]
    gid_min: Option<u32>,
    #[serde(default)]
    gid_max: Option<u32>,
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
exists() {
    if [ "$local" = 1 ]; then
        grep -q "^$name:" /etc/group
    else
        getent group "$name" >/dev/null
    fi
}
# libuser's commands do not check that a gid is free: as ansible-core, look first.
taken() {
    [ "$local" = 1 ] && [ -n "$gid" ] || return 0
    other=$(getent group "$gid" | cut -d: -f1)
    if [ -n "$other" ] && [ "$other" != "$name" ]; then
        echo "failed=GID '$gid' already exists with group '$other'"
        exit 0
    fi
}
line=
exists && line=$(getent group "$name")
changed=0
if [ "$state" = absent ]; then
    if [ -n "$line" ]; then
        changed=1
        if [ "$check" = 0 ]; then
            set -- "$name"
            [ "$force" = 1 ] && set -- -f "$@"
            err=$(${prefix}groupdel "$@" 2>&1) || { echo "rc=$?"; printf '%s\n' "$err" >&2; exit 0; }
        fi
    fi
    echo "changed=$changed"
    exit 0
fi
if [ -z "$line" ]; then
    changed=1
    if [ "$check" = 0 ]; then
        taken
        set -- "$name"
        [ -n "$gid_max" ] && set -- -K "GID_MAX=$gid_max" "$@"
        [ -n "$gid_min" ] && set -- -K "GID_MIN=$gid_min" "$@"
        [ "$system" = 1 ] && set -- -r "$@"
        [ -n "$gid" ] && [ "$non_unique" = 1 ] && set -- -o "$@"
        [ -n "$gid" ] && set -- -g "$gid" "$@"
        err=$(${prefix}groupadd "$@" 2>&1) || { echo "rc=$?"; printf '%s\n' "$err" >&2; exit 0; }
    fi
else
    current=$(printf '%s' "$line" | cut -d: -f3)
    if [ -n "$gid" ] && [ "$current" != "$gid" ]; then
        changed=1
        if [ "$check" = 0 ]; then
            taken
            set -- "$name"
            [ "$non_unique" = 1 ] && set -- -o "$@"
            err=$(${prefix}groupmod -g "$gid" "$@" 2>&1) || { echo "rc=$?"; printf '%s\n' "$err" >&2; exit 0; }
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
        // The combinations ansible-core's module refuses when it runs, with its messages.
        let refused = if self.non_unique && self.gid.is_none() {
            Some("non_unique is True but all of the following are missing: gid")
        } else if self.force && self.local {
            Some(
                "force is not a valid option for local, force=True and local=True are mutually exclusive",
            )
        } else if self.local && self.gid_min.is_some() {
            Some("'gid_min' can not be used with 'local'")
        } else if self.local && self.gid_max.is_some() {
            Some("'gid_max' can not be used with 'local'")
        } else {
            None
        };
        if let Some(message) = refused {
            return Ok(Outcome::failed(message));
        }
        let number = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
        let text = format!(
            "name={}\ngid={}\nstate={}\nsystem={}\ncheck={}\nlocal={}\nprefix={}\nforce={}\n\
             non_unique={}\ngid_min={}\ngid_max={}\n{SCRIPT}",
            quote(&self.name),
            number(self.gid),
            if self.state == State::Absent {
                "absent"
            } else {
                "present"
            },
            u8::from(self.system),
            u8::from(ctx.check),
            u8::from(self.local),
            if self.local { "l" } else { "" },
            u8::from(self.force),
            u8::from(self.non_unique),
            number(self.gid_min),
            number(self.gid_max),
        );
        let output = ctx.run(ctx.script(text)).await?;
        let report = super::ScriptReport::of(&output);
        let get = |key: &str| report.get(key);
        let state = if self.state == State::Absent {
            "absent"
        } else {
            "present"
        };
        if let Some(message) = get("failed") {
            return Ok(Outcome::failed(message));
        }
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
