//! `firewalld` (ansible.posix.firewalld): a service, port, source or rich rule enabled or
//! disabled in a zone, for now (`immediate`), in the permanent configuration
//! (`permanent`), or both, through `firewall-cmd` in one round trip, with ansible.posix's
//! messages (`Permanent and Non-Permanent(immediate) operation, Changed port 8443/tcp to
//! enabled`). Where the daemon is not running, as ansible.posix, a permanent-only change
//! goes to firewalld's files (`firewall-offline-cmd`) and anything immediate fails with
//! `firewall is not currently running, unable to perform immediate actions without a
//! running firewall daemon`; where firewalld is not installed at all, a permanent-only
//! change fails saying so (ansible.posix fails with a Python error there).
//!
//! Tested here only on a host without firewalld (this project's machines have none): what
//! it does where firewalld is installed follows ansible.posix 1.6.2's source, untested.
//! Zone-level `present`/`absent`, `interface`, `masquerade`, `forward`, `icmp_block`,
//! `protocol`, `port_forward` and `target` are not built: refused where written.

use serde::Deserialize;

use super::{Outcome, TaskContext, TaskType};
use crate::transport::{TransportError, quote};
use crate::yaml::is_template;

#[derive(Debug, Deserialize)]
#[serde(try_from = "Args")]
pub struct Firewalld(Args);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    port: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    rich_rule: Option<String>,
    #[serde(default)]
    zone: Option<String>,
    #[serde(default)]
    permanent: bool,
    #[serde(default)]
    immediate: bool,
    state: State,
    #[serde(default)]
    timeout: u32,
    #[serde(default)]
    offline: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum State {
    Enabled,
    Disabled,
    Present,
    Absent,
}

impl TryFrom<Args> for Firewalld {
    type Error = String;

    fn try_from(args: Args) -> Result<Self, String> {
        let given = [&args.service, &args.port, &args.source, &args.rich_rule]
            .iter()
            .filter(|v| v.is_some())
            .count();
        if given > 1 {
            return Err("parameters are mutually exclusive: icmp_block|icmp_block_inversion|service|protocol|port|port_forward|rich_rule|interface|forward|masquerade|source|target".to_owned());
        }
        if matches!(args.state, State::Present | State::Absent) {
            return Err(if given > 0 {
                "absent and present state can only be used in zone level operations".to_owned()
            } else {
                "zone-level `state: present`/`absent` (creating and deleting zones) is not built"
                    .to_owned()
            });
        }
        if args.offline && !args.permanent {
            return Err(
                "offline cannot be enabled unless permanent changes are allowed".to_owned(),
            );
        }
        if given == 0 {
            return Err("name one of `service`, `port`, `source` or `rich_rule`".to_owned());
        }
        // A templated port is checked when it is rendered (at run time).
        if let Some(port) = args.port.as_ref().filter(|port| !is_template(port))
            && port
                .split_once('/')
                .is_none_or(|(_, proto)| proto.is_empty())
        {
            return Err("improper port format (missing protocol?)".to_owned());
        }
        Ok(Firewalld(args))
    }
}

/// Reports `changed=0|1` and `msg=` lines, or `failed=MESSAGE`. `$kind` is the
/// firewall-cmd word (`service`, `port`, `source`, `rich-rule`), `$item` its value.
const SCRIPT: &str = r#"
set -u
fail() { printf 'failed=%s\n' "$1"; exit 0; }
cmd=firewall-cmd
if ! { command -v firewall-cmd >/dev/null 2>&1 && firewall-cmd --state >/dev/null 2>&1; }; then
    # As ansible.posix: with the daemon down, permanent changes go to the files on disk.
    [ "$offline" = 1 ] && targets=permanent
    case $targets in *immediate*) fail "firewall is not currently running, unable to perform immediate actions without a running firewall daemon";; esac
    command -v firewall-offline-cmd >/dev/null 2>&1 || fail "firewalld is not installed on this host: no firewall-offline-cmd to change its files with"
    cmd=firewall-offline-cmd
    echo offline=1
fi
echo "targets=$targets"
if [ -z "$zone" ]; then zone=$($cmd --get-default-zone 2>/dev/null) || fail "cannot read firewalld's default zone"; fi
perm() { [ "$cmd" = firewall-cmd ] && printf '%s\n' --permanent; }
query() {
    if [ "$1" = permanent ]; then $cmd $(perm) --zone="$zone" --query-$kind="$item" >/dev/null 2>&1
    else $cmd --zone="$zone" --query-$kind="$item" >/dev/null 2>&1; fi
}
set_to() {
    op=--add; [ "$state" = enabled ] || op=--remove
    if [ "$1" = permanent ]; then err=$($cmd $(perm) --zone="$zone" $op-$kind="$item" 2>&1)
    elif [ "$timeout" -gt 0 ] && [ "$state" = enabled ]; then err=$($cmd --zone="$zone" $op-$kind="$item" --timeout="${timeout}s" 2>&1)
    else err=$($cmd --zone="$zone" $op-$kind="$item" 2>&1); fi || fail "ERROR: Exception caught: $err"
}
changed=0
for where in $targets; do
    if query "$where"; then on=1; else on=0; fi
    if { [ "$state" = enabled ] && [ "$on" = 0 ]; } || { [ "$state" = disabled ] && [ "$on" = 1 ]; }; then
        # As ansible.posix: check mode ends with `changed` alone.
        [ "$check" = 1 ] && { echo changed=1; echo checked=1; exit 0; }
        set_to "$where"
        changed=1
    fi
done
echo "changed=$changed"
echo "zone=$zone"
"#;

impl TaskType for Firewalld {
    const COLLECTION: Option<&'static str> = Some("ansible.posix");

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let args = &self.0;
        let (kind, item) = if let Some(service) = &args.service {
            ("service", service.clone())
        } else if let Some(port) = &args.port {
            ("port", port.trim().to_owned())
        } else if let Some(source) = &args.source {
            ("source", source.clone())
        } else {
            ("rich-rule", args.rich_rule.clone().unwrap_or_default())
        };
        // As ansible.posix: `immediate` is implied when nothing is permanent.
        let immediate = args.immediate || !args.permanent;
        let targets = match (args.permanent, immediate) {
            (true, true) => "permanent immediate",
            (true, false) => "permanent",
            _ => "immediate",
        };
        let state = match args.state {
            State::Enabled => "enabled",
            _ => "disabled",
        };
        let flag = |b: bool| if b { "1" } else { "0" };
        let text = format!(
            "kind={kind}\nitem={}\nzone={}\nstate={state}\ntargets={}\ntimeout={}\noffline={}\ncheck={}\n{SCRIPT}",
            quote(&item),
            quote(args.zone.as_deref().unwrap_or("")),
            quote(targets),
            args.timeout,
            flag(args.offline),
            flag(ctx.check),
        );
        let output = ctx.run(ctx.script(text)).await?;
        let (report, changed) = match super::ScriptReport::read(&output, "firewalld") {
            Ok(read) => read,
            Err(failure) => return Ok(*failure),
        };
        let get = |key: &str| report.get(key);
        if get("checked").is_some() {
            return Ok(Outcome::changed());
        }
        let zone = get("zone").unwrap_or_default();
        let operation = match get("targets").as_deref() {
            Some("permanent immediate") => "Permanent and Non-Permanent(immediate) operation",
            Some("permanent") => "Permanent operation",
            _ => "Non-permanent operation",
        };
        let mut msgs = vec![operation.to_owned()];
        if changed {
            msgs.push(match kind {
                "source" if state == "enabled" => format!("Added {item} to zone {zone}"),
                "source" => format!("Removed {item} from zone {zone}"),
                "rich-rule" => format!("Changed rich_rule {item} to {state}"),
                _ => format!("Changed {kind} {item} to {state}"),
            });
        }
        if get("offline").is_some() {
            msgs.push("(offline operation: only on-disk configs were altered)".to_owned());
        }
        let outcome = if changed {
            Outcome::changed()
        } else {
            Outcome::ok()
        };
        Ok(outcome.with_msg(msgs.join(", ")))
    }
}
