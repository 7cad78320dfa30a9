//! `service` (Ansible's `ansible.builtin.service`): on a host whose service manager is
//! systemd, what ansible-core's `service` action does there: it runs `systemd` (`systemd.rs`)
//! with `name`, `state` and `enabled`, and ignores `sleep`, `pattern`, `runlevel` and
//! `arguments`/`args` with Ansible's warning, registered under `warnings`.
//!
//! With `use: sysvinit` (or `use: auto` on a host whose PID 1 is not systemd) it does what
//! ansible-core's `sysvinit` module does: the init script `/etc/init.d/NAME` (or `name` as a
//! path), its status read from `service NAME status` (else `SCRIPT status`) with Ansible's
//! reading of the output and exit code (or `ps auxww` holding `pattern`), enabled when an
//! `/etc/rc?.d/S??NAME` link is there (`runlevels`: in those runlevels), enabled or disabled
//! with `update-rc.d` (else `chkconfig`), started, stopped, reloaded with `SCRIPT ACTION
//! ARGUMENTS` and restarted as a stop then a start, `sleep` seconds after each; registering
//! `name` and `status` as Ansible does. `daemonize: true` is refused where written; `use`
//! other than `auto`, `systemd` or `sysvinit` too.

use serde::Deserialize;

use base64::Engine;
use serde_json::{Map, Value as Json};

use super::args::OneOrMany;
use super::systemd::{State, Systemd};
use super::{Outcome, TaskContext, TaskType};
use crate::transport::{TransportError, quote};

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
    /// `sysvinit`'s: the runlevels to enable or disable the script in.
    #[serde(default)]
    runlevels: Option<OneOrMany>,
    /// `sysvinit`'s: only `false` is built.
    #[serde(default, deserialize_with = "not_daemonized")]
    daemonize: bool,
    /// The service manager to drive.
    #[serde(default, rename = "use")]
    manager: Use,
}

fn not_daemonized<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    if bool::deserialize(deserializer)? {
        return Err(serde::de::Error::custom(
            "`daemonize: true` is not built: quayside runs the init script in the foreground",
        ));
    }
    Ok(false)
}

/// The service manager module to run: systemd, whichever way it is asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Use {
    #[default]
    Auto,
    Systemd,
    Sysvinit,
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
    echo "this host's service manager is not systemd (give \`use: sysvinit\` for its init scripts)"
    exit 0
fi
"#;

/// What [`PRELUDE`] fails with: under `use: auto`, the init scripts are driven instead.
const NOT_SYSTEMD: &str =
    "this host's service manager is not systemd (give `use: sysvinit` for its init scripts)";

impl TaskType for Service {
    // quayside's `service` drives systemd, as ansible-core's action does on a systemd host
    // (it runs `ansible.legacy.systemd` there: `systemd_service`'s defaults do not reach it).
    const BACKEND: Option<&'static str> = Some("systemd");
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Runs;

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let args = &self.0;
        if args.manager == Use::Sysvinit {
            return self.sysvinit(ctx, false).await;
        }
        // As ansible-core's `systemd` module, which takes neither.
        let unsupported: Vec<&str> = [
            ("daemonize", args.daemonize),
            ("runlevels", args.runlevels.is_some()),
        ]
        .into_iter()
        .filter(|(_, given)| *given)
        .map(|(name, _)| name)
        .collect();
        if !unsupported.is_empty() {
            return Ok(Outcome::failed(format!(
                "Unsupported parameters for (systemd) module: {}",
                unsupported.join(", ")
            )));
        }
        let systemd = Systemd::for_service(args.name.clone(), args.state, args.enabled);
        let mut outcome = systemd.apply(ctx, PRELUDE).await?;
        if args.manager == Use::Auto
            && outcome.failed
            && outcome.msg.as_deref() == Some(NOT_SYSTEMD)
        {
            return self.sysvinit(ctx, true).await;
        }
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

/// What the first round trip of `use: sysvinit` finds on the host: `M` (no script), `B NAME
/// PATH` (a tool found), `E RUNLEVEL 0|1` (`-` for any runlevel), `R rc`, `O`/`X` the status
/// command's output and errors and `P` `ps auxww`, each base64.
const SYSV_LOOK: &str = r#"
[ -e "$script" ] || { echo M; exit 0; }
for b in chkconfig update-rc.d insserv service; do
    p=$(PATH="$PATH:/sbin:/usr/sbin:/bin:/usr/bin" command -v "$b" 2>/dev/null) && printf 'B %s %s\n' "$b" "$p"
done
if [ -d /etc/rc0.d/ ]; then rc=/etc/rc; else rc=/etc/init.d/rc; fi
for l in $levels -; do
    if [ "$l" = - ]; then set -- $rc?.d/S??"$name"; else set -- $rc"$l".d/S??"$name"; fi
    if [ -e "$1" ] || [ -L "$1" ]; then echo "E $l 1"; else echo "E $l 0"; fi
done
b64() { base64 -w0 < "$1"; echo; }
t=$(mktemp -d) || exit 1
trap 'rm -rf -- "$t"' EXIT
if [ "$pattern" = 0 ]; then
    if svc=$(PATH="$PATH:/sbin:/usr/sbin:/bin:/usr/bin" command -v service 2>/dev/null); then
        "$svc" "$name" status > "$t/o" 2> "$t/e" < /dev/null
    else
        "$script" status > "$t/o" 2> "$t/e" < /dev/null
    fi
    echo "R $?"
    printf 'O '; b64 "$t/o"
    printf 'X '; b64 "$t/e"
fi
ps auxww > "$t/p" 2>/dev/null
printf 'P '; b64 "$t/p"
"#;

/// One command of `use: sysvinit`'s second round trip: `C rc`, `O`, `X` (base64), and the
/// end of the run at the first that fails (as the module's `fail_json`).
const SYSV_DO: &str = r#"
t=$(mktemp -d) || exit 1
trap 'rm -rf -- "$t"' EXIT
run() {
    "$@" > "$t/o" 2> "$t/e" < /dev/null
    r=$?
    echo "C $r"
    printf 'O '; base64 -w0 < "$t/o"; echo
    printf 'X '; base64 -w0 < "$t/e"; echo
    return $r
}
"#;

/// The report of one command, as Python's `run_command` returns it.
#[derive(Debug, Clone, Default)]
struct Ran {
    rc: i64,
    out: String,
    err: String,
}

fn decode(text: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

/// The commands' reports (`C`, `O`, `X` lines) in order.
fn read_ran(stdout: &str) -> Vec<Ran> {
    let mut all: Vec<Ran> = Vec::new();
    for line in stdout.lines() {
        if let Some(rc) = line.strip_prefix("C ") {
            all.push(Ran {
                rc: rc.trim().parse().unwrap_or(-1),
                ..Ran::default()
            });
        } else if let (Some(out), Some(last)) = (line.strip_prefix("O "), all.last_mut()) {
            last.out = decode(out);
        } else if let (Some(err), Some(last)) = (line.strip_prefix("X "), all.last_mut()) {
            last.err = decode(err);
        }
    }
    all
}

/// ansible-core's `sysvinit` reading of `service NAME status`: whether the service is up,
/// and whether that could be told at all.
fn read_status(name: &str, status: &Ran) -> (bool, bool) {
    let (rc, out) = (status.rc, &status.out);
    let mut worked = false;
    let mut started = false;
    if rc != -1 {
        if name == "iptables" && out.contains("ACCEPT") {
            worked = true;
            started = true;
        }
        if !worked && out.matches('\n').count() <= 1 {
            let clean = out.to_lowercase().replace(&name.to_lowercase(), "");
            if [
                "stop",
                "is dead ",
                "dead but ",
                "could not access pid file",
                "inactive",
            ]
            .iter()
            .any(|word| clean.contains(word))
            {
                worked = true;
            }
            if !worked
                && ["run", "start", "active"]
                    .iter()
                    .any(|word| clean.contains(word))
                && !clean.contains("not ")
            {
                started = true;
                worked = true;
            }
        }
        if !worked && [1, 2, 3, 4, 69].contains(&rc) {
            worked = true;
        }
    }
    (started, worked)
}

impl Service {
    /// ansible-core's `sysvinit` module, in two round trips: what is there, then what to do.
    /// `auto`: reached through `use: auto`, where ansible-core runs its `service` module,
    /// whose message for a missing script ends in `host`.
    async fn sysvinit(&self, ctx: &TaskContext<'_>, auto: bool) -> Result<Outcome, TransportError> {
        let args = &self.0;
        if args.runlevel.is_some() {
            return Ok(Outcome::failed(
                "Unsupported parameters for (sysvinit) module: runlevel",
            ));
        }
        let name = &args.name;
        let script = if name.starts_with('/') {
            name.clone()
        } else {
            format!("/etc/init.d/{name}")
        };
        let levels: Vec<String> = args
            .runlevels
            .as_ref()
            .map(super::args::OneOrMany::split_commas)
            .unwrap_or_default();
        if let Some(bad) = levels
            .iter()
            .find(|level| !level.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            return Ok(Outcome::failed(format!("`{bad}` is not a runlevel")));
        }
        let look = format!(
            "set -u\nname={}\nscript={}\nlevels={}\npattern={}\n{SYSV_LOOK}",
            quote(name),
            quote(&script),
            quote(&levels.join(" ")),
            u8::from(args.pattern.is_some()),
        );
        let output = ctx.run(ctx.script(look)).await?;
        let stdout = output.stdout_lossy();
        if stdout.lines().next() == Some("M") {
            return Ok(Outcome::failed(format!(
                "Could not find the requested service {name}: {}",
                if auto { "host" } else { "" }
            )));
        }
        let mut tools = std::collections::BTreeMap::new();
        let mut enabled_in = std::collections::BTreeMap::new();
        let mut status = Ran::default();
        let mut ps = String::new();
        for line in stdout.lines() {
            let mut words = line.splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some("B"), Some(tool), Some(path)) => {
                    tools.insert(tool.to_owned(), path.to_owned());
                }
                (Some("E"), Some(level), Some(on)) => {
                    enabled_in.insert(level.to_owned(), on == "1");
                }
                (Some("R"), Some(rc), None) => status.rc = rc.parse().unwrap_or(-1),
                (Some("O"), Some(b64), None) => status.out = decode(b64),
                (Some("X"), Some(b64), None) => status.err = decode(b64),
                (Some("P"), Some(b64), None) => ps = decode(b64),
                _ => {}
            }
        }
        if !stdout.lines().any(|line| line.starts_with("P ")) {
            return Ok(Outcome::failed(format!(
                "the `sysvinit` script exited with {}: {}",
                output.status,
                output.stderr_lossy().trim()
            )));
        }
        let mut warnings = Vec::new();
        let in_ps = |pattern: &str| ps.lines().any(|line| line.contains(pattern));
        let (started, worked) = match &args.pattern {
            Some(pattern) => {
                let found = in_ps(pattern);
                (found, found)
            }
            None => {
                let (started, worked) = read_status(name, &status);
                if worked {
                    (started, worked)
                } else if status.rc == 0 {
                    (true, true)
                } else if in_ps(name) {
                    warnings.push("Used ps output to match service name and determine it is up, this is very unreliable".to_owned());
                    (true, true)
                } else {
                    (false, false)
                }
            }
        };
        if !worked {
            warnings.push("Unable to determine if service is up, assuming it is down".to_owned());
        }
        // What to do: the commands, each with what it is for.
        let mut changed = false;
        let mut enable_changed = false;
        let mut commands: Vec<(&str, Vec<String>)> = Vec::new();
        let tool = |name: &str| tools.get(name).cloned();
        if levels.is_empty() {
            let now = enabled_in.get("-").copied().unwrap_or(false);
            if let Some(enabled) = args.enabled.filter(|enabled| *enabled != now) {
                changed = true;
                enable_changed = true;
                let word = |rc_d: &str, chk: &str| {
                    if let Some(update) = tool("update-rc.d") {
                        Some(vec![update, name.clone(), rc_d.to_owned()])
                    } else {
                        tool("chkconfig")
                            .map(|chkconfig| vec![chkconfig, name.clone(), chk.to_owned()])
                    }
                };
                if let Some(command) = if enabled {
                    word("defaults", "on")
                } else {
                    word("disable", "off")
                } {
                    commands.push(("enable", command));
                }
            }
        } else {
            if levels
                .iter()
                .any(|level| args.enabled != Some(enabled_in.get(level).copied().unwrap_or(false)))
            {
                changed = true;
                enable_changed = true;
            }
            if changed {
                let on = args.enabled == Some(true);
                let command = if let Some(update) = tool("update-rc.d") {
                    let mut command = vec![
                        update,
                        name.clone(),
                        if on { "enable" } else { "disable" }.to_owned(),
                    ];
                    command.extend(levels.iter().cloned());
                    Some(command)
                } else {
                    tool("chkconfig").map(|chkconfig| {
                        vec![
                            chkconfig,
                            "--level".to_owned(),
                            levels.concat(),
                            name.clone(),
                            if on { "on" } else { "off" }.to_owned(),
                        ]
                    })
                };
                if let Some(command) = command {
                    commands.push(("enable", command));
                }
            }
        }
        let action = args.state.map(|state| match state {
            State::Started => "start",
            State::Stopped => "stop",
            State::Restarted => "restart",
            State::Reloaded => "reload",
        });
        let extra = match &args.arguments {
            Some(text) => match shell_words::split(text) {
                Ok(words) => words,
                Err(error) => return Ok(Outcome::failed(format!("`arguments` `{text}`: {error}"))),
            },
            None => Vec::new(),
        };
        let runme = |what: &str| {
            let mut command = vec![script.clone(), what.to_owned()];
            command.extend(extra.iter().cloned());
            command
        };
        let mut state_changed = false;
        match action {
            Some("restart") => {
                state_changed = true;
                commands.push(("restart", runme("stop")));
                commands.push(("restart", runme("start")));
            }
            Some(action) if started != (action == "start") || started == (action == "stop") => {
                state_changed = true;
                commands.push((action, runme(action)));
            }
            _ => {}
        }
        changed |= state_changed;
        let sleep = args.sleep.unwrap_or(1);
        let mut ran: Vec<Ran> = Vec::new();
        if !ctx.check && !commands.is_empty() {
            let mut text = format!("set -u\n{SYSV_DO}");
            for (what, command) in &commands {
                let words: Vec<String> = command.iter().map(|word| quote(word)).collect();
                if *what == "enable" {
                    text.push_str(&format!("run {}\n", words.join(" ")));
                } else {
                    text.push_str(&format!("run {} || exit 0\n", words.join(" ")));
                    if *what == "restart" && sleep > 0 {
                        text.push_str(&format!("sleep {sleep}\n"));
                    }
                }
            }
            let output = ctx.run(ctx.script(text)).await?;
            ran = read_ran(&output.stdout_lossy());
        }
        // The report, as the module's `result`.
        let empty = |changed: bool| {
            let mut entry = Map::new();
            entry.insert("changed".into(), changed.into());
            entry.insert("rc".into(), Json::Null);
            entry.insert("stdout".into(), Json::Null);
            entry.insert("stderr".into(), Json::Null);
            entry
        };
        let fill = |entry: &mut Map<String, Json>, ran: &Ran| {
            entry.insert("rc".into(), ran.rc.into());
            entry.insert("stdout".into(), ran.out.clone().into());
            entry.insert("stderr".into(), ran.err.clone().into());
        };
        let mut results = ran.into_iter();
        let mut enabled_entry = empty(enable_changed);
        if !levels.is_empty() {
            enabled_entry.insert("runlevels".into(), levels.clone().into());
        }
        if !ctx.check && enable_changed {
            // With neither update-rc.d nor chkconfig, the module reports the status
            // command's (its variables hold that).
            let enable_ran = if commands.first().is_some_and(|(what, _)| *what == "enable") {
                results.next().unwrap_or_default()
            } else {
                status.clone()
            };
            fill(&mut enabled_entry, &enable_ran);
            if enable_ran.err.contains("illegal runlevel specified") {
                let mut report = Map::new();
                report.insert("enabled".into(), enabled_entry.into());
                return Ok(Outcome::failed(format!(
                    "Illegal runlevel specified for enable operation on service {name}"
                ))
                .with("name", name.clone())
                .with("changed", changed)
                .with("status", report));
            }
        }
        let state_key = args.state.map_or("null", State::as_str);
        let mut state_entry = empty(state_changed);
        if !ctx.check && state_changed {
            let mut last = Ran::default();
            for _ in commands.iter().filter(|(what, _)| *what != "enable") {
                let Some(one) = results.next() else {
                    break;
                };
                if one.rc != 0 {
                    return Ok(Outcome::failed(format!(
                        "Failed to {} service: {name}",
                        action.unwrap_or_default()
                    ))
                    .with("rc", one.rc)
                    .with("stdout", one.out)
                    .with("stderr", one.err));
                }
                last = one;
            }
            fill(&mut state_entry, &last);
        }
        let mut report = Map::new();
        report.insert("enabled".into(), enabled_entry.into());
        report.insert(state_key.into(), state_entry.into());
        let mut outcome = if changed {
            Outcome::changed()
        } else {
            Outcome::ok()
        }
        .with("name", name.clone())
        .with("status", report);
        if !warnings.is_empty() {
            outcome = outcome.with("warnings", warnings);
        }
        Ok(outcome)
    }
}
