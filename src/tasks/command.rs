//! `command`: run a program with arguments, without a shell.

use chrono::{DateTime, Local};
use serde::Deserialize;
use serde_json::Value as Json;

use super::{Outcome, TaskContext, TaskType, command_result};
use crate::transport::TransportError;
use crate::transport::quote::{quote, quote_argv};
use crate::yaml::Node;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Command {
    /// The command line, split into words as a shell would split it (no expansion).
    #[serde(default)]
    cmd: Option<String>,
    /// The argument vector, passed as is.
    #[serde(default)]
    argv: Option<Vec<String>>,
    #[serde(default)]
    chdir: Option<String>,
    /// Skip the command when this path exists.
    #[serde(default)]
    creates: Option<String>,
    /// Skip the command when this path does not exist.
    #[serde(default)]
    removes: Option<String>,
    #[serde(default)]
    stdin: Option<String>,
}

impl TaskType for Command {
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Runs;

    const FREE_FORM: Option<&'static str> = Some("cmd");
    fn pipelines(_args: &Node) -> bool {
        true
    }

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let argv = match (&self.cmd, &self.argv) {
            (Some(cmd), None) => match shell_words::split(cmd) {
                Ok(words) if !words.is_empty() => words,
                Ok(_) => return Ok(Outcome::failed("`cmd` is empty")),
                Err(error) => return Ok(Outcome::failed(format!("cannot split `cmd`: {error}"))),
            },
            (None, Some(argv)) if !argv.is_empty() => argv.clone(),
            (None, Some(_)) => return Ok(Outcome::failed("`argv` is empty")),
            (None, None) => return Ok(Outcome::failed("`command` needs `cmd` or `argv`")),
            (Some(_), Some(_)) => {
                return Ok(Outcome::failed("`command` takes `cmd` or `argv`, not both"));
            }
        };
        let line = quote_argv(&argv);
        run_guarded(ctx, &format!("exec {line}"), self, argv.into()).await
    }
}

/// The arguments `command` and `shell` share.
pub(super) trait Guards {
    fn chdir(&self) -> Option<&str>;
    fn creates(&self) -> Option<&str>;
    fn removes(&self) -> Option<&str>;
    fn stdin(&self) -> Option<&str>;
}

impl Guards for Command {
    fn chdir(&self) -> Option<&str> {
        self.chdir.as_deref()
    }
    fn creates(&self) -> Option<&str> {
        self.creates.as_deref()
    }
    fn removes(&self) -> Option<&str> {
        self.removes.as_deref()
    }
    fn stdin(&self) -> Option<&str> {
        self.stdin.as_deref()
    }
}

/// The line a guarded script prints when `creates`/`removes` says there is nothing to do.
const SKIP_MARKER: &str = "__quayside_guard_skip__";

/// Run `body` with `creates`/`removes`/`chdir` applied in the same round trip. Commands
/// always report `changed`, as in Ansible, unless a guard skipped them. The result is
/// registered as ansible-core's `command` module returns it: `cmd` (`display`: the argument
/// vector for `command`, the line for `shell`), `start`, `end` and `delta` (null when the
/// command did not run), `rc`, `stdout`, `stderr` and their `_lines`.
pub(super) async fn run_guarded(
    ctx: &TaskContext<'_>,
    body: &str,
    guards: &impl Guards,
    display: Json,
) -> Result<Outcome, TransportError> {
    let mut script = String::new();
    if let Some(path) = guards.creates() {
        script.push_str(&format!(
            "if [ -e {} ]; then echo {SKIP_MARKER}; exit 0; fi\n",
            quote(path)
        ));
    }
    if let Some(path) = guards.removes() {
        script.push_str(&format!(
            "if [ ! -e {} ]; then echo {SKIP_MARKER}; exit 0; fi\n",
            quote(path)
        ));
    }
    if ctx.check {
        // In check mode only the guards run: they tell whether the command would run.
        script.push_str("exit 0\n");
    }
    if let Some(dir) = guards.chdir() {
        script.push_str(&format!("cd {} || exit 1\n", quote(dir)));
    }
    script.push_str(body);
    let mut request = ctx.script(script);
    if let Some(stdin) = guards.stdin() {
        request.stdin = format!("{stdin}\n").into_bytes();
    }
    let start = Local::now();
    let output = ctx.run(request).await?;
    let end = Local::now();
    let did = if ctx.check { "Would" } else { "Did" };
    if output.stdout_lossy().trim_end() == SKIP_MARKER {
        let (path, why) = match (guards.creates(), guards.removes()) {
            (Some(path), _) => (path, "exists"),
            (None, Some(path)) => (path, "does not exist"),
            (None, None) => ("", "exists"),
        };
        let stdout = format!("skipped, since {path} {why}");
        let mut outcome =
            Outcome::ok().with_msg(format!("{did} not run command since '{path}' {why}"));
        outcome.data = not_run(display, &stdout);
        return Ok(outcome);
    }
    if ctx.check {
        // ansible-core skips a command in check mode, unless a guard was there to ask:
        // then the guard said it would run, which is a change.
        let msg = "Command would have run if not in check mode";
        let mut outcome = if guards.creates().is_none() && guards.removes().is_none() {
            Outcome::skipped(msg)
        } else {
            Outcome::changed().with_msg(msg)
        };
        outcome.data = not_run(display, "");
        return Ok(outcome);
    }
    let mut outcome = Outcome::changed();
    outcome.data = command_result(&output);
    outcome.data.insert("cmd".into(), display);
    outcome.data.insert("start".into(), timestamp(start).into());
    outcome.data.insert("end".into(), timestamp(end).into());
    outcome
        .data
        .insert("delta".into(), delta(start, end).into());
    // ansible-core registers `msg: ""` for a command that succeeded.
    outcome.msg = Some(if output.success() {
        String::new()
    } else {
        outcome.failed = true;
        "non-zero return code".into()
    });
    Ok(outcome)
}

/// The result of a command a guard or check mode kept from running.
fn not_run(display: Json, stdout: &str) -> serde_json::Map<String, Json> {
    let mut data = serde_json::Map::new();
    data.insert("cmd".into(), display);
    data.insert("rc".into(), 0.into());
    data.insert("stdout".into(), stdout.into());
    data.insert("stderr".into(), "".into());
    let lines: Vec<&str> = stdout.lines().collect();
    data.insert("stdout_lines".into(), lines.into());
    data.insert("stderr_lines".into(), Json::Array(Vec::new()));
    for key in ["start", "end", "delta"] {
        data.insert(key.into(), Json::Null);
    }
    data
}

/// A time as Python's `str(datetime)` writes it (`2026-12-07 11:52:59.016835`), which is
/// how ansible-core's `command` reports `start` and `end`. The time is the controller's,
/// taken around the host's one round trip.
fn timestamp(time: DateTime<Local>) -> String {
    time.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

/// A duration as Python's `str(timedelta)` writes it (`0:00:00.006799`).
fn delta(start: DateTime<Local>, end: DateTime<Local>) -> String {
    let micros = (end - start).num_microseconds().unwrap_or(0).max(0);
    let seconds = micros / 1_000_000;
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let clock = format!(
        "{}:{:02}:{:02}.{:06}",
        rest / 3600,
        rest / 60 % 60,
        rest % 60,
        micros % 1_000_000
    );
    match days {
        0 => clock,
        1 => format!("1 day, {clock}"),
        n => format!("{n} days, {clock}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_are_written_as_python_writes_them() {
        let start = Local.with_ymd_and_hms(2026, 12, 7, 11, 52, 59).unwrap();
        let end = start + chrono::Duration::microseconds(6_799);
        assert_eq!(timestamp(end), "2026-12-07 11:52:59.006799");
        assert_eq!(delta(start, end), "0:00:00.006799");
        let later = start + chrono::Duration::seconds(3_723);
        assert_eq!(delta(start, later), "1:02:03.000000");
        let days = start + chrono::Duration::seconds(2 * 86_400 + 5);
        assert_eq!(delta(start, days), "2 days, 0:00:05.000000");
    }
}
