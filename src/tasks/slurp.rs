//! `slurp` (Ansible's `ansible.builtin.slurp`): a file on the host, registered as base64
//! `content` with `encoding: base64` and `source`, as Ansible returns it; a file it cannot
//! read fails with ansible-core 2.19.14's messages (`File not found: PATH`, `File is not
//! readable: PATH`, `Source is a directory and must be a file: PATH`, and, for a path
//! through a file, its `Unable to slurp file: {source}` as written).

use serde::Deserialize;

use super::{Outcome, TaskContext, TaskType};
use crate::transport::{TransportError, quote};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slurp {
    #[serde(alias = "path")]
    src: String,
}

impl TaskType for Slurp {
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Runs;

    /// One script, which exits non-zero exactly when the task fails.
    fn pipelines(_args: &crate::yaml::Node) -> bool {
        true
    }

    const HOST_PATHS: &'static [&'static str] = &["src", "path"];

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let text = format!(
            r#"p={}
if [ ! -e "$p" ] && [ ! -L "$p" ]; then
  d=$(dirname -- "$p")
  while [ ! -e "$d" ] && [ "$d" != / ] && [ "$d" != . ]; do d=$(dirname -- "$d"); done
  if [ -e "$d" ] && [ ! -d "$d" ]; then echo "E Unable to slurp file: {{source}}"; exit 1; fi
  echo "E File not found: $p"; exit 1
fi
if [ ! -r "$p" ]; then echo "E File is not readable: $p"; exit 1; fi
if [ -d "$p" ]; then echo "E Source is a directory and must be a file: $p"; exit 1; fi
printf 'C '; base64 -w0 < "$p" || exit 1; echo
"#,
            quote(&self.src)
        );
        let output = ctx.run(ctx.script(text)).await?;
        let stdout = output.stdout_lossy();
        if let Some(reason) = stdout.lines().find_map(|l| l.strip_prefix("E ")) {
            return Ok(Outcome::failed(reason.to_owned()));
        }
        let content = stdout.lines().find_map(|l| l.strip_prefix("C "));
        match content {
            Some(content) if output.success() => Ok(Outcome::ok()
                .with("content", content.to_owned())
                .with("encoding", "base64")
                .with("source", self.src.clone())),
            _ => {
                let stderr = output.stderr_lossy();
                Ok(Outcome::failed(format!(
                    "cannot read `{}`: {}",
                    self.src,
                    stderr.lines().next().unwrap_or("failed")
                )))
            }
        }
    }
}
