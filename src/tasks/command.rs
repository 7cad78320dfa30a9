//! `command`: run a program with arguments, without a shell.

use serde::Deserialize;

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
        run_guarded(ctx, &format!("exec {line}"), self, &argv.join(" ")).await
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
/// always report `changed`, as in Ansible, unless a guard skipped them.
pub(super) async fn run_guarded(
    ctx: &TaskContext<'_>,
    body: &str,
    guards: &impl Guards,
    display: &str,
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
    let output = ctx.run(request).await?;
    if output.stdout_lossy().trim_end() == SKIP_MARKER {
        let reason = if guards.creates().is_some() {
            "creates"
        } else {
            "removes"
        };
        return Ok(Outcome::ok()
            .with_msg(format!(
                "skipped, since `{reason}` says there is nothing to do"
            ))
            .with("rc", 0));
    }
    if ctx.check {
        return Ok(Outcome::skipped(
            "skipped in check mode: the command would run",
        ));
    }
    let mut outcome = Outcome::changed();
    outcome.data = command_result(&output);
    outcome.data.insert("cmd".into(), display.to_owned().into());
    if !output.success() {
        outcome.failed = true;
        outcome.msg = Some(format!("non-zero return code {}", output.status));
    }
    Ok(outcome)
}
