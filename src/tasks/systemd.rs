//! `systemd` and `systemd_service` (Ansible's `ansible.builtin.systemd_service`, whose old
//! name is `systemd`): a unit started, stopped, restarted or reloaded, enabled or disabled,
//! masked or unmasked, after an optional `daemon-reload`/`daemon-reexec`, through
//! `systemctl` on the host (`--user`/`--global` for `scope`, `--no-block`, `--force`). The
//! unit is looked up and changed in one round trip, deciding as ansible-core 2.19 does: the
//! unit's `systemctl show` properties read first (registered as `status`), then `masked`,
//! then `enabled`, then `state`. Registers what Ansible registers: `name`, `status`,
//! `enabled` when asked, `state` when asked (`started` for `restarted`/`reloaded`).
//!
//! `service` on a systemd host is this module (`service.rs`).

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::{Outcome, TaskContext, TaskType};
use crate::transport::{TransportError, quote};

#[derive(Debug, Deserialize)]
#[serde(try_from = "Args")]
pub struct Systemd(Args);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    #[serde(default, alias = "service", alias = "unit")]
    name: Option<String>,
    #[serde(default)]
    state: Option<State>,
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    force: bool,
    #[serde(default)]
    masked: Option<bool>,
    #[serde(default, alias = "daemon-reload")]
    daemon_reload: bool,
    #[serde(default, alias = "daemon-reexec")]
    daemon_reexec: bool,
    #[serde(default)]
    scope: Scope,
    #[serde(default)]
    no_block: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Started,
    Stopped,
    Restarted,
    Reloaded,
}

impl State {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            State::Started => "started",
            State::Stopped => "stopped",
            State::Restarted => "restarted",
            State::Reloaded => "reloaded",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    #[default]
    System,
    User,
    Global,
}

impl TryFrom<Args> for Systemd {
    type Error = String;

    fn try_from(args: Args) -> Result<Self, String> {
        // Ansible's `required_one_of` and `required_by`, in its words.
        if args.state.is_none()
            && args.enabled.is_none()
            && args.masked.is_none()
            && !args.daemon_reload
            && !args.daemon_reexec
        {
            return Err("one of the following is required: state, enabled, masked, daemon_reload, daemon_reexec".to_owned());
        }
        if args.name.is_none() {
            for (given, argument) in [
                (args.state.is_some(), "state"),
                (args.enabled.is_some(), "enabled"),
                (args.masked.is_some(), "masked"),
            ] {
                if given {
                    return Err(format!(
                        "missing parameter(s) required by '{argument}': name"
                    ));
                }
            }
        }
        if let Some(name) = &args.name {
            if !crate::yaml::is_template(name) {
                check_name(name)?;
            }
        }
        Ok(Systemd(args))
    }
}

/// Ansible refuses glob patterns; an empty name is no unit either.
fn check_name(name: &str) -> Result<(), String> {
    if let Some(glob) = ["*", "?", "["].into_iter().find(|g| name.contains(g)) {
        return Err(format!(
            "This module does not currently support using glob patterns, found '{glob}' in service name: {name}"
        ));
    }
    if name.is_empty() {
        return Err("`name` is empty".to_owned());
    }
    Ok(())
}

/// The unit's work, decided on the host as ansible-core's `systemd_service` decides it.
/// Prints `key=value` lines, the `systemctl show` output between `@@show` and `@@end`, and
/// on failure `@@fail` followed by the message.
const SCRIPT: &str = r#"
fail() { echo "@@fail"; printf '%s\n' "$1"; exit 0; }
# A message ending in stderr as the command wrote it: with its final newline, as Ansible has it.
fail_err() { echo "@@fail"; printf '%s\n' "$1"; [ -s "$err" ] && echo "@@newline"; exit 0; }
command -v systemctl >/dev/null 2>&1 || fail "Failed to find required executable \"systemctl\" in paths: $PATH"
[ -n "${XDG_RUNTIME_DIR:-}" ] || { XDG_RUNTIME_DIR=/run/user/$(id -u); export XDG_RUNTIME_DIR; }
set -- systemctl
[ "$scope" = system ] || set -- "$@" "--$scope"
[ "$no_block" = 1 ] && set -- "$@" --no-block
[ "$force" = 1 ] && set -- "$@" --force
err=$(mktemp) || fail "mktemp failed"
trap 'rm -f "$err"' EXIT
if [ "$daemon_reload" = 1 ] && [ "$check" = 0 ]; then
    "$@" daemon-reload >/dev/null 2>"$err" || fail_err "failure $? during daemon-reload: $(cat "$err")"
fi
if [ "$daemon_reexec" = 1 ] && [ "$check" = 0 ]; then
    "$@" daemon-reexec >/dev/null 2>"$err" || fail_err "failure $? during daemon-reexec: $(cat "$err")"
fi
[ -n "$name" ] || { echo "changed=0"; exit 0; }
changed=0
initd=0
[ -f "/etc/init.d/$name" ] && initd=1
found_systemd=0
show=$("$@" show -- "$name" 2>"$err") && rc=0 || rc=$?
ignored=0
case "$show$(cat "$err")" in *=*) ;; *"ignoring request"*|*"ignoring command"*) ignored=1 ;; esac
active=
if [ "$rc" = 0 ] && [ "$ignored" = 0 ]; then
    if [ -n "$show" ]; then
        echo "@@show"
        printf '%s\n' "$show"
        echo "@@end"
        load=$(printf '%s\n' "$show" | sed -n 's/^LoadState=//p' | head -n 1)
        active=$(printf '%s\n' "$show" | sed -n 's/^ActiveState=//p' | head -n 1)
        has_active=$(printf '%s\n' "$show" | grep -c '^ActiveState=')
        [ -n "$load" ] && [ "$load" != not-found ] && found_systemd=1
        load_error=$(printf '%s\n' "$show" | sed -n 's/^LoadError=//p' | head -n 1)
        if [ "$found_systemd" = 1 ] && [ "$load" != masked ] && [ -n "$load_error" ]; then
            fail "Error loading unit file '$name': $load_error"
        fi
    fi
else
    case $("$@" is-enabled -- "$name" 2>/dev/null) in
    enabled|enabled-runtime|linked|linked-runtime|masked|masked-runtime|static|indirect|disabled|generated|transient)
        found_systemd=1 ;;
    *)
        if "$@" list-unit-files -- "$name" >/dev/null 2>&1; then
            found_systemd=1
        else
            out=$("$@" 2>&1) || fail "$out"
        fi ;;
    esac
fi
found=0
{ [ "$found_systemd" = 1 ] || [ "$initd" = 1 ]; } && found=1
[ "$initd" = 1 ] && [ "$found_systemd" = 0 ] &&
    echo "warning=The service ($name) is actually an init script but the system is managed by systemd"
missing="Could not find the requested service $name: host"
if [ -n "$masked" ]; then
    now=0
    [ "$("$@" is-enabled -- "$name" 2>/dev/null)" = masked ] && now=1
    if [ "$now" != "$masked" ]; then
        changed=1
        action=unmask
        [ "$masked" = 1 ] && action=mask
        if [ "$check" = 0 ]; then
            if ! "$@" "$action" -- "$name" >/dev/null 2>"$err"; then
                [ "$found" = 1 ] || fail "$missing"
                fail "Failed to $action the service ($name): $(cat "$err")"
            fi
        fi
    fi
fi
if [ -n "$enabled" ]; then
    [ "$found" = 1 ] || fail "$missing"
    now=0
    out=$("$@" is-enabled -l -- "$name" 2>/dev/null) && rc=0 || rc=$?
    if [ "$rc" = 0 ]; then
        case $out in enabled-runtime|indirect|alias) now=0 ;; *) now=1 ;; esac
    elif [ "$rc" = 1 ] && [ "$scope" = system ] && [ "$initd" = 1 ]; then
        case $out in
        *disabled) ;;
        *) for link in /etc/rc?.d/S??"$name"; do [ -e "$link" ] && now=1; done ;;
        esac
    fi
    if [ "$now" != "$enabled" ]; then
        changed=1
        action=disable
        [ "$enabled" = 1 ] && action=enable
        if [ "$check" = 0 ]; then
            out=$("$@" "$action" -- "$name" 2>&1) || fail "Unable to $action service $name: $out"
        fi
    fi
fi
if [ -n "$state" ]; then
    [ "$found" = 1 ] || fail "$missing"
    if [ "${has_active:-0}" -gt 0 ]; then
        running=0
        case $active in active|activating) running=1 ;; esac
        action=
        case $state in
        started) [ "$running" = 1 ] || action=start ;;
        stopped) { [ "$running" = 1 ] || [ "$active" = deactivating ]; } && action=stop ;;
        restarted) action=restart; [ "$running" = 1 ] || action=start ;;
        reloaded) action=reload; [ "$running" = 1 ] || action=start ;;
        esac
        if [ -n "$action" ]; then
            changed=1
            if [ "$check" = 0 ]; then
                "$@" "$action" -- "$name" >/dev/null 2>"$err" || fail_err "Unable to $action service $name: $(cat "$err")"
            fi
        fi
    else
        echo "unknown=1"
        fail "Service is in unknown state"
    fi
fi
echo "changed=$changed"
"#;

/// `systemctl show` output as ansible-core reads it: `Key=value` lines, each value
/// stripped, an `Exec*` value in braces that runs over several lines kept whole.
pub fn parse_show(text: &str) -> Map<String, Json> {
    let mut parsed = Map::new();
    let mut multi: Vec<&str> = Vec::new();
    let mut key: Option<&str> = None;
    for line in text.lines() {
        match key {
            None => {
                let Some((k, v)) = line.split_once('=') else {
                    continue;
                };
                if k.starts_with("Exec")
                    && v.trim_start().starts_with('{')
                    && !v.trim_end().ends_with('}')
                {
                    multi.push(v);
                    key = Some(k);
                    continue;
                }
                parsed.insert(k.to_owned(), v.trim().into());
            }
            Some(k) => {
                multi.push(line);
                if line.trim_end().ends_with('}') {
                    parsed.insert(k.to_owned(), multi.join("\n").trim().into());
                    multi.clear();
                    key = None;
                }
            }
        }
    }
    parsed
}

/// What the script found and did.
struct Report {
    changed: bool,
    status: Map<String, Json>,
    failure: Option<String>,
    unknown_state: bool,
    warnings: Vec<String>,
}

fn read_report(stdout: &str) -> Option<Report> {
    let mut report = Report {
        changed: false,
        status: Map::new(),
        failure: None,
        unknown_state: false,
        warnings: Vec::new(),
    };
    let mut done = false;
    let mut lines = stdout.split_inclusive('\n');
    while let Some(line) = lines.next() {
        let line_text = line.trim_end_matches('\n');
        match line_text {
            "@@show" => {
                let mut show = String::new();
                for inner in lines.by_ref() {
                    if inner.trim_end_matches('\n') == "@@end" {
                        break;
                    }
                    show.push_str(inner);
                }
                report.status = parse_show(&show);
            }
            "@@fail" => {
                let rest: String = lines.by_ref().collect();
                let mut message = rest.trim_end().to_owned();
                if let Some(text) = message.strip_suffix("\n@@newline") {
                    message = format!("{text}\n");
                }
                report.failure = Some(message);
                return Some(report);
            }
            _ => {
                if let Some(value) = line_text.strip_prefix("changed=") {
                    report.changed = value == "1";
                    done = true;
                } else if line_text == "unknown=1" {
                    report.unknown_state = true;
                } else if let Some(warning) = line_text.strip_prefix("warning=") {
                    report.warnings.push(warning.to_owned());
                }
            }
        }
    }
    done.then_some(report)
}

impl Systemd {
    /// The arguments `service` hands over on a systemd host.
    pub(super) fn for_service(name: String, state: Option<State>, enabled: Option<bool>) -> Self {
        Systemd(Args {
            name: Some(name),
            state,
            enabled,
            force: false,
            masked: None,
            daemon_reload: false,
            daemon_reexec: false,
            scope: Scope::System,
            no_block: false,
        })
    }

    pub(super) async fn apply(
        &self,
        ctx: &TaskContext<'_>,
        prelude: &str,
    ) -> Result<Outcome, TransportError> {
        let args = &self.0;
        if let Some(name) = &args.name {
            if let Err(message) = check_name(name) {
                return Ok(Outcome::failed(message));
            }
        }
        let flag = |b: bool| u8::from(b).to_string();
        let optional = |b: Option<bool>| b.map(flag).unwrap_or_default();
        let text = format!(
            "{prelude}name={}\nstate={}\nenabled={}\nmasked={}\ndaemon_reload={}\ndaemon_reexec={}\nscope={}\nno_block={}\nforce={}\ncheck={}\n{SCRIPT}",
            quote(args.name.as_deref().unwrap_or_default()),
            args.state.map(State::as_str).unwrap_or_default(),
            optional(args.enabled),
            optional(args.masked),
            flag(args.daemon_reload),
            flag(args.daemon_reexec),
            match args.scope {
                Scope::System => "system",
                Scope::User => "user",
                Scope::Global => "global",
            },
            flag(args.no_block),
            flag(args.force),
            flag(ctx.check),
        );
        let output = ctx.run(ctx.script(text)).await?;
        let stdout = output.stdout_lossy();
        let Some(report) = read_report(&stdout) else {
            return Ok(Outcome::failed(format!(
                "the `systemd` script exited with {}: {}",
                output.status,
                output.stderr_lossy().trim()
            )));
        };
        if let Some(message) = report.failure {
            let mut outcome = Outcome::failed(message);
            if report.unknown_state {
                outcome = outcome.with("status", report.status);
            }
            return Ok(outcome);
        }
        let mut outcome = if report.changed {
            Outcome::changed()
        } else {
            Outcome::ok()
        }
        .with("name", args.name.clone().map_or(Json::Null, Json::from))
        .with("status", report.status);
        if let Some(enabled) = args.enabled {
            // What the unit is once done (in check mode: would be).
            outcome = outcome.with("enabled", enabled);
        }
        if let Some(state) = args.state {
            // Ansible registers a restart or reload as `started`.
            let registered = if state == State::Stopped {
                "stopped"
            } else {
                "started"
            };
            outcome = outcome.with("state", registered);
        }
        if !report.warnings.is_empty() {
            outcome = outcome.with("warnings", report.warnings);
        }
        Ok(outcome)
    }
}

impl TaskType for Systemd {
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Runs;

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        self.apply(ctx, "").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_output_is_read_as_ansible_reads_it() {
        let text = "Id=qs.service\nExecStart={ path=/bin/sleep ; argv[]=/bin/sleep\n infinity ; ignore_errors=no }\nDescription= two words \nNoEquals\nExecReload={ path=/bin/true ; argv[]=/bin/true }\n";
        let parsed = parse_show(text);
        assert_eq!(parsed["Id"], "qs.service");
        assert_eq!(
            parsed["ExecStart"],
            "{ path=/bin/sleep ; argv[]=/bin/sleep\n infinity ; ignore_errors=no }"
        );
        assert_eq!(parsed["Description"], "two words");
        assert_eq!(
            parsed["ExecReload"],
            "{ path=/bin/true ; argv[]=/bin/true }"
        );
        assert_eq!(parsed.len(), 4);
    }

    #[test]
    fn a_failure_keeps_its_whole_message() {
        let report =
            read_report("@@show\nActiveState=active\n@@end\n@@fail\nUnable to x:\nline two\n")
                .unwrap();
        assert_eq!(report.failure.as_deref(), Some("Unable to x:\nline two"));
        assert_eq!(report.status["ActiveState"], "active");
        assert!(read_report("@@show\n").is_none());
    }
}
