//! `service_facts` (Ansible's `ansible.builtin.service_facts`): the host's services as the
//! fact `services` (also `ansible_facts.services`), each `{name, state, status, source}`,
//! read in one round trip as ansible-core 2.19 reads them on a Linux host: SysV scripts from
//! `service --status-all` (`source: sysv`, no `status`), then systemd's units from
//! `systemctl list-units` and `list-unit-files` (`source: systemd`), the state of a unit
//! file that no loaded unit stands for from `systemctl show --property=ActiveState`.
//! Upstart, `chkconfig` and OpenRC hosts are not read (see the README's "Not yet").

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceFacts {}

/// Prints each listing after a `@@NAME RC` line.
const SCRIPT: &str = r#"
LANG=C; LC_ALL=C; export LANG LC_ALL
if command -v service >/dev/null 2>&1 && ! command -v chkconfig >/dev/null 2>&1 && ! command -v rc-status >/dev/null 2>&1; then
    out=$(service --status-all 2>&1) && rc=0 || rc=$?
    if [ "$rc" = 4 ] && [ ! -e /etc/init.d ]; then :; else
        echo "@@sysv $rc"
        printf '%s\n' "$out"
    fi
fi
systemd=0
{ [ -d /run/systemd/system ] || [ -d /dev/.run/systemd ] || [ -d /dev/.systemd ]; } && command -v systemctl >/dev/null 2>&1 && systemd=1
[ "$systemd" = 1 ] || exit 0
units=$(systemctl list-units --no-pager --type service --all --plain 2>&1) && rc=0 || rc=$?
echo "@@units $rc"
printf '%s\n' "$units"
files=$(systemctl list-unit-files --no-pager --type service --all 2>&1) && rc=0 || rc=$?
echo "@@files $rc"
printf '%s\n' "$files"
# The unit files no loaded unit stands for: their state, one `systemctl show` for all.
[ "$rc" = 0 ] || exit 0
loaded=$(printf '%s\n' "$units" | awk '/\.service/ {print $1}')
# (ENVIRON, not -v: awk would read the backslashes of escaped unit names.)
names=$(printf '%s\n' "$files" | loaded=$loaded awk '
    BEGIN { n = split(ENVIRON["loaded"], l, "\n"); for (i = 1; i <= n; i++) seen[l[i]] = 1 }
    /\.service/ && !($1 in seen) { print $1 }')
echo "@@states"
# A template (`getty@.service`) has no state: `systemctl show` refuses it.
set -f
set --
for n in $names; do
    case $n in *@.service) ;; *) set -- "$@" "$n" ;; esac
done
set +f
if [ $# -gt 0 ]; then
    states=$(systemctl show --property=ActiveState -- "$@" 2>/dev/null | sed -n 's/^ActiveState=//p')
    if [ "$(printf '%s\n' "$states" | wc -l)" = $# ]; then
        printf '%s\n' "$states" | for n in "$@"; do read -r s; printf '%s %s\n' "$n" "$s"; done
    else
        for n in "$@"; do
            s=$(systemctl show "$n" --property=ActiveState 2>/dev/null) || s=
            printf '%s %s\n' "$n" "${s#ActiveState=}"
        done
    fi
fi
"#;

/// Units whose state in `list-units` says more than their unit file does.
const BAD_STATES: [&str; 3] = ["not-found", "masked", "failed"];

fn service(name: &str, state: &str, status: Option<&str>, source: &str) -> Json {
    let mut map = Map::new();
    map.insert("name".into(), name.into());
    map.insert("state".into(), state.into());
    if let Some(status) = status {
        map.insert("status".into(), status.into());
    }
    map.insert("source".into(), source.into());
    Json::Object(map)
}

/// The sections of the script's output: `(name, rc, lines)`.
fn sections(stdout: &str) -> Vec<(&str, i32, Vec<&str>)> {
    let mut found: Vec<(&str, i32, Vec<&str>)> = Vec::new();
    for line in stdout.lines() {
        if let Some(head) = line.strip_prefix("@@") {
            let mut words = head.split(' ');
            let name = words.next().unwrap_or_default();
            let rc = words.next().and_then(|rc| rc.parse().ok()).unwrap_or(0);
            found.push((name, rc, Vec::new()));
        } else if let Some((_, _, lines)) = found.last_mut() {
            lines.push(line);
        }
    }
    found
}

/// The services, as ansible-core's `service_facts` builds them, and its warnings.
fn services(stdout: &str) -> (Map<String, Json>, Vec<String>) {
    let mut services = Map::new();
    let mut warnings = Vec::new();
    let mut states: Vec<(&str, &str)> = Vec::new();
    for (name, rc, lines) in sections(stdout) {
        match name {
            "sysv" => {
                if rc != 0 {
                    warnings.push(format!("Unable to query 'service' tool ({rc}): "));
                }
                for line in lines {
                    let line = line.trim_start();
                    let state = if line.starts_with("[ + ]") {
                        "running"
                    } else if line.starts_with("[ - ]") {
                        "stopped"
                    } else {
                        continue;
                    };
                    let name = line[5..].trim_start();
                    if !name.is_empty() {
                        services.insert(name.to_owned(), service(name, state, None, "sysv"));
                    }
                }
            }
            "units" => {
                if rc != 0 {
                    warnings.push(format!(
                        "Could not list units from systemd: {}",
                        lines.join("\n")
                    ));
                    continue;
                }
                for line in lines.iter().filter(|l| l.contains(".service")) {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    if fields.len() < 4 {
                        continue;
                    }
                    let head = &fields[..fields.len() - 1];
                    let status = BAD_STATES
                        .into_iter()
                        .find(|bad| head.contains(bad))
                        .unwrap_or(fields[2]);
                    let state = if fields[3] == "running" {
                        "running"
                    } else {
                        "stopped"
                    };
                    services.insert(
                        fields[0].to_owned(),
                        service(fields[0], state, Some(status), "systemd"),
                    );
                }
            }
            "files" if rc != 0 => warnings.push(format!(
                "Could not get unit files data from systemd: {}",
                lines.join("\n")
            )),
            "files" => {
                for line in lines.iter().filter(|l| l.contains(".service")) {
                    let mut fields = line.split_whitespace();
                    let (Some(name), Some(status)) = (fields.next(), fields.next()) else {
                        continue;
                    };
                    match services.get_mut(name) {
                        Some(Json::Object(known)) => {
                            let bad = known
                                .get("status")
                                .and_then(Json::as_str)
                                .is_some_and(|s| BAD_STATES.contains(&s));
                            if !bad {
                                known.insert("status".into(), status.into());
                            }
                        }
                        _ => {
                            services.insert(
                                name.to_owned(),
                                service(name, "unknown", Some(status), "systemd"),
                            );
                        }
                    }
                }
            }
            "states" => {
                states.extend(lines.iter().filter_map(|l| l.split_once(' ')));
            }
            _ => {}
        }
    }
    for (name, state) in states {
        if let Some(Json::Object(known)) = services.get_mut(name) {
            if !state.is_empty() {
                known.insert("state".into(), state.into());
            }
        }
    }
    (services, warnings)
}

impl TaskType for ServiceFacts {
    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let output = ctx.run(ctx.script(SCRIPT)).await?;
        let (services, warnings) = services(&output.stdout_lossy());
        if services.is_empty() {
            return Ok(Outcome::skipped(
                "Failed to find any services. This can be due to privileges or some other configuration issue.",
            ));
        }
        let mut outcome = Outcome::ok().with(
            "ansible_facts",
            Json::Object(Map::from_iter([(
                "services".to_owned(),
                Json::Object(services.clone()),
            )])),
        );
        if !warnings.is_empty() {
            outcome = outcome.with("warnings", warnings);
        }
        // The fact joins the host's other facts, as Ansible merges a module's facts.
        let fact = Map::from_iter([("services".to_owned(), Json::Object(services))]);
        outcome.facts = super::setup::module_facts(ctx, &fact);
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_are_read_as_ansible_reads_them() {
        let stdout = "@@sysv 0\n [ + ]  ssh\n [ - ]  procps\n@@units 0\n  UNIT LOAD ACTIVE SUB DESCRIPTION\nssh.service loaded active running OpenBSD Secure Shell server\nbad.service not-found inactive dead bad.service\ngone.service loaded failed failed A failed unit\n@@files 0\nUNIT FILE STATE VENDOR PRESET\nssh.service enabled enabled\ngone.service enabled enabled\nsshd.service alias -\ngetty@.service enabled enabled\n2 unit files listed.\n@@states\nsshd.service active\n";
        let (services, warnings) = services(stdout);
        assert!(warnings.is_empty());
        assert_eq!(
            services["ssh"],
            serde_json::json!({"name": "ssh", "state": "running", "source": "sysv"})
        );
        assert_eq!(services["procps"]["state"], "stopped");
        assert_eq!(
            services["ssh.service"],
            serde_json::json!({"name": "ssh.service", "state": "running", "status": "enabled", "source": "systemd"})
        );
        assert_eq!(services["bad.service"]["status"], "not-found");
        assert_eq!(services["gone.service"]["status"], "failed");
        assert_eq!(services["sshd.service"]["state"], "active");
        assert_eq!(services["sshd.service"]["status"], "alias");
        assert_eq!(services["getty@.service"]["state"], "unknown");
        assert_eq!(services.len(), 7);
    }
}
