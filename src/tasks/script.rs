//! `script` (Ansible's `ansible.builtin.script`): a script on the controller (found as a
//! file is: the role's `files/`, the playbook's `files/`, beside the playbook), sent to the
//! host and run there with the rest of the line as its arguments. As ansible-core's action
//! plugin: the first word of `cmd` (split as a shell splits it) names the script, and the
//! line is run by the host's shell with that word replaced by the script's path on the
//! host, so quotes and expansions in the arguments are the shell's; a script vaulted whole
//! is decrypted first. One round trip: the guards (`creates`, `removes`), the file (on
//! standard input, into a fresh private folder under `/tmp`), the run and the clean-up.

use std::hash::BuildHasher;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::controller_files::{self, Look};
use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;
use crate::transport::quote::quote;
use crate::yaml::Node;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// The script's name on the controller, then its arguments (shell text).
    cmd: String,
    /// Skip the script when this path exists on the host.
    #[serde(default)]
    creates: Option<String>,
    /// Skip the script when this path does not exist on the host.
    #[serde(default)]
    removes: Option<String>,
    /// An absolute folder on the host to run the script in.
    #[serde(default)]
    chdir: Option<String>,
    /// The program that runs the script (the script's path is its first argument).
    #[serde(default)]
    executable: Option<String>,
}

/// The line the guard prints when `creates`/`removes` says there is nothing to do.
const SKIP_MARKER: &str = "__quayside_script_skip__";

/// The script's name as `cmd` writes it (its first word, split as a shell splits it), if
/// `cmd` can be split; `None` when the line is empty or does not split.
fn script_name(cmd: &str) -> Option<String> {
    shell_words::split(cmd.trim()).ok()?.into_iter().next()
}

/// A folder on the host no other task of any run uses: the run's random number and a count.
fn remote_folder() -> String {
    static RUN: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let run = RUN.get_or_init(|| {
        std::collections::hash_map::RandomState::new()
            .hash_one((std::process::id(), std::time::SystemTime::now()))
    });
    format!(
        "/tmp/quayside-script-{run:016x}-{}",
        COUNT.fetch_add(1, Ordering::Relaxed)
    )
}

impl Script {
    /// The guards as shell lines: each prints the marker and its reason, and ends the
    /// script, when the script would not run.
    fn guards(&self) -> String {
        let mut text = String::new();
        if let Some(path) = &self.creates {
            text.push_str(&format!(
                "if [ -e {} ]; then echo {SKIP_MARKER}; exit 0; fi\n",
                quote(path)
            ));
        }
        if let Some(path) = &self.removes {
            text.push_str(&format!(
                "if [ ! -e {} ]; then echo {SKIP_MARKER}; exit 0; fi\n",
                quote(path)
            ));
        }
        text
    }

    /// Why the guards skipped the script, as ansible-core says it.
    fn skip_reason(&self) -> String {
        match (&self.creates, &self.removes) {
            (Some(path), _) => format!("{path} exists, matching creates option"),
            (None, Some(path)) => format!("{path} does not exist, matching removes option"),
            (None, None) => String::new(),
        }
    }

    fn guarded(&self) -> bool {
        self.creates.is_some() || self.removes.is_some()
    }
}

/// The script file on the controller, its contents decrypted.
fn read_script(ctx: &TaskContext<'_>, name: &str) -> Result<(PathBuf, Vec<u8>), String> {
    let role = controller_files::role_dir(ctx.vars);
    let base = super::copy_files::playbook_dir(ctx.vars);
    let path = controller_files::find_with_role(role.as_deref(), &base, name, Look::File)
        .ok_or_else(|| not_found(name))?;
    let secret = super::args::secret_by_name(name);
    let (bytes, _) = super::copy_files::read(&path, secret)?;
    Ok((path, bytes))
}

/// ansible-core's words for a script that is not on the controller.
fn not_found(name: &str) -> String {
    format!("Could not find or access '{name}' on the Ansible Controller.")
}

impl TaskType for Script {
    const FREE_FORM: Option<&'static str> = Some("cmd");

    /// ansible-core's `script` action refuses `async` on each host.
    const ASYNC: super::Async = super::Async::Fails;

    /// One request, which exits non-zero exactly when the task fails.
    fn pipelines(_args: &Node) -> bool {
        true
    }

    fn controller_files(args: &Node) -> Vec<(&Node, String, Look)> {
        args.get("cmd")
            .and_then(|node| {
                let name = script_name(node.as_str()?)?;
                (!crate::yaml::is_template(&name)).then_some((node, name, Look::File))
            })
            .into_iter()
            .collect()
    }

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        if let Some(dir) = &self.chdir {
            if !dir.starts_with('/') {
                return Ok(Outcome::failed(format!(
                    "chdir {dir} must be an absolute path for a Unix-aware remote node"
                )));
            }
        }
        let Some(name) = script_name(&self.cmd) else {
            return Ok(Outcome::failed(format!(
                "cannot read a script's name from `{}`",
                self.cmd
            )));
        };
        let (path, bytes) = match read_script(ctx, &name) {
            Ok(found) => found,
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        let guards = self.guards();
        if ctx.check {
            // ansible-core runs a script in check mode only to ask its guards: when they
            // say it would run, that is a change; without guards it cannot tell, and skips.
            if !self.guarded() {
                return Ok(Outcome::skipped(
                    "Check mode is not supported for this task.",
                ));
            }
            let output = ctx.run(ctx.script(format!("{guards}exit 0\n"))).await?;
            if output.stdout_lossy().trim_end() == SKIP_MARKER {
                return Ok(Outcome::skipped(self.skip_reason()));
            }
            return Ok(Outcome::changed());
        }
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| name.clone());
        let folder = remote_folder();
        // As ansible-core: every occurrence of the name as written becomes the path on the
        // host, the rest of the line (its quoting) left as the user wrote it.
        let target = self
            .cmd
            .trim()
            .replace(&name, &format!("{folder}/{file_name}"));
        let command = match &self.executable {
            Some(executable) => format!("{} {target}", quote(executable)),
            None => target,
        };
        let mut text = guards;
        text.push_str(&format!(
            "d={folder}\nmkdir -m 700 \"$d\" || exit 1\n\
             cat > \"$d\"/{file} && chmod 700 \"$d\"/{file} || {{ rm -rf \"$d\"; exit 1; }}\n",
            file = quote(&file_name),
        ));
        let cd = match &self.chdir {
            Some(dir) => format!("cd {} && ", quote(dir)),
            None => String::new(),
        };
        // A subshell keeps the user's `exit` from skipping the clean-up.
        text.push_str(&format!(
            "( {cd}{command}\n)\ns=$?\nrm -rf \"$d\"\nexit $s\n"
        ));
        let mut request = ctx.script(text);
        request.stdin = bytes;
        let output = ctx.run(request).await?;
        if self.guarded() && output.stdout_lossy().trim_end() == SKIP_MARKER {
            return Ok(Outcome::skipped(self.skip_reason()));
        }
        let mut outcome = Outcome::changed();
        outcome.data = result(&output);
        if !output.success() {
            outcome.failed = true;
            outcome.msg = Some("non-zero return code".into());
        }
        Ok(outcome)
    }
}

/// What ansible-core's `script` registers: `rc`, `stdout` and `stderr` as the host wrote
/// them (not trimmed, unlike `command`'s), and their lines.
fn result(output: &crate::transport::Output) -> Map<String, Json> {
    let stdout = output.stdout_lossy();
    let stderr = output.stderr_lossy();
    let mut data = Map::new();
    data.insert("rc".into(), output.status.into());
    data.insert("stdout_lines".into(), lines(&stdout).into());
    data.insert("stderr_lines".into(), lines(&stderr).into());
    data.insert("stdout".into(), stdout.into());
    data.insert("stderr".into(), stderr.into());
    data
}

/// Python's `str.splitlines` for the line ends a shell prints.
fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_is_the_first_word_as_a_shell_splits_it() {
        assert_eq!(script_name("x.sh a b").as_deref(), Some("x.sh"));
        assert_eq!(
            script_name(" 'my script.sh' \"a b\"").as_deref(),
            Some("my script.sh")
        );
        assert_eq!(script_name("   "), None);
        assert_eq!(script_name("'unclosed"), None);
    }
}
