//! `tempfile` (Ansible's `ansible.builtin.tempfile`): a new temporary file or directory on
//! the host, owner-only, named `PREFIX` + eight random characters + `SUFFIX` in `path` (the
//! host's `$TMPDIR`, else `/tmp`). It always changes something, so in check mode it is
//! skipped, as Ansible skips it.

use serde::Deserialize;

use super::{Outcome, TaskContext, TaskType};
use crate::transport::{TransportError, quote};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TempFile {
    #[serde(default)]
    state: State,
    #[serde(default)]
    path: Option<String>,
    #[serde(default = "default_prefix")]
    prefix: String,
    #[serde(default)]
    suffix: String,
}

fn default_prefix() -> String {
    "ansible.".to_owned()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    #[default]
    File,
    Directory,
}

impl TaskType for TempFile {
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Runs;

    /// One script, which exits non-zero exactly when the task fails.
    fn pipelines(_args: &crate::yaml::Node) -> bool {
        true
    }

    const HOST_PATHS: &'static [&'static str] = &["path"];

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        if ctx.check {
            return Ok(Outcome::skipped(
                "remote module (tempfile) does not support check mode",
            ));
        }
        if self.prefix.contains('/') || self.suffix.contains('/') {
            return Ok(Outcome::failed("`prefix` and `suffix` may not hold `/`"));
        }
        let dir = match &self.path {
            Some(path) => quote(path),
            None => "\"${TMPDIR:-/tmp}\"".to_owned(),
        };
        let text = format!(
            "t=$(mktemp {}--suffix={} -p {dir} {}XXXXXXXX) || exit 1\nprintf 'P %s\\n' \"$t\"\nstat -c 'A %a %u %U %g %G %s' -- \"$t\"\n",
            if self.state == State::Directory {
                "-d "
            } else {
                ""
            },
            quote(&self.suffix),
            quote(&self.prefix),
        );
        let output = ctx.run(ctx.script(text)).await?;
        let stdout = output.stdout_lossy();
        let path = stdout.lines().find_map(|l| l.strip_prefix("P "));
        let (true, Some(path)) = (output.success(), path) else {
            let stderr = output.stderr_lossy();
            return Ok(Outcome::failed(format!(
                "cannot create a temporary {}: {}",
                if self.state == State::Directory {
                    "directory"
                } else {
                    "file"
                },
                stderr.lines().next().unwrap_or("failed")
            )));
        };
        let mut outcome = Outcome::changed().with("path", path.to_owned()).with(
            "state",
            if self.state == State::Directory {
                "directory"
            } else {
                "file"
            },
        );
        outcome.files = vec![path.to_owned()];
        if let Some(line) = stdout.lines().find_map(|l| l.strip_prefix("A ")) {
            outcome = super::file::attributes(outcome, line);
        }
        Ok(outcome)
    }
}
