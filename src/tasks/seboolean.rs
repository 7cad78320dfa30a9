//! `seboolean` (ansible.posix.seboolean): an SELinux boolean on or off, for now or also
//! in the persistent policy, through `getsebool`, `semanage boolean -l` and `setsebool`
//! in one round trip. On a host where SELinux is disabled (or absent: `selinuxenabled`
//! fails or is not there) it fails with ansible.posix's `SELinux is disabled on this
//! host.`, unless `ignore_selinux_state`. Registers `name`, `persistent` and `state`.
//!
//! Tested here only on a host without SELinux (this project's machines have none): what
//! it does where SELinux is enabled follows ansible.posix 1.6.2's source, untested.

use serde::Deserialize;

use super::{Outcome, TaskContext, TaskType};
use crate::transport::{TransportError, quote};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeBoolean {
    name: String,
    state: bool,
    #[serde(default)]
    persistent: bool,
    #[serde(default)]
    ignore_selinux_state: bool,
}

/// Reports `changed=0|1`, or `failed=MESSAGE`.
const SCRIPT: &str = r#"
set -u
fail() { printf 'failed=%s\n' "$1"; exit 0; }
enabled=0; selinuxenabled 2>/dev/null && enabled=1
[ "$enabled" = 1 ] || [ "$ignore" = 1 ] || fail "SELinux is disabled on this host."
changed=0
if [ "$persistent" = 1 ]; then
    line=$(semanage boolean -l -n 2>/dev/null) || fail "Failed to connect to semanage"
    # `name (current , persistent) description`
    value=$(printf '%s\n' "$line" | awk -v n="$name" '$1 == n { gsub(/[(),]/, " "); print $3; exit }')
    [ -n "$value" ] || fail "SELinux boolean $name is not defined in persistent policy"
    if [ "$value" != "$want" ]; then
        changed=1
        if [ "$check" = 0 ]; then
            setsebool -P "$name" "$want" >/dev/null 2>&1 || fail "Failed to modify boolean key with semanage"
        fi
    fi
elif [ "$enabled" = 1 ]; then
    current=$(getsebool "$name" 2>/dev/null) || fail "Failed to determine current state for boolean $name"
    if [ "${current##* }" != "$want" ]; then
        changed=1
        if [ "$check" = 0 ]; then
            setsebool "$name" "$want" >/dev/null 2>&1 || fail "Failed to set boolean $name to $state"
        fi
    fi
fi
echo "changed=$changed"
"#;

impl TaskType for SeBoolean {
    const COLLECTION: Option<&'static str> = Some("ansible.posix");

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let flag = |b: bool| if b { "1" } else { "0" };
        let text = format!(
            "name={}\nwant={}\nstate={}\npersistent={}\nignore={}\ncheck={}\n{SCRIPT}",
            quote(&self.name),
            if self.state { "on" } else { "off" },
            if self.state { "True" } else { "False" },
            flag(self.persistent),
            flag(self.ignore_selinux_state),
            flag(ctx.check),
        );
        let output = ctx.run(ctx.script(text)).await?;
        let changed = match super::ScriptReport::read(&output, "seboolean") {
            Ok((_, changed)) => changed,
            Err(failure) => return Ok(*failure),
        };
        let outcome = if changed {
            Outcome::changed()
        } else {
            Outcome::ok()
        };
        Ok(outcome
            .with("name", self.name.clone())
            .with("persistent", self.persistent)
            .with("state", self.state))
    }
}
