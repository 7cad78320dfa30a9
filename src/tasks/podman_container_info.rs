//! `containers.podman.podman_container_info`: what `podman container inspect` says of the
//! named containers (or of every container), as the collection registers it: `containers`
//! (the inspect objects; a name podman does not know is left out) and `stderr`. Reads
//! only: the same in check mode, never changed. One round trip.

use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::args::OneOrMany;
use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;
use crate::transport::quote::{quote, quote_argv};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodmanContainerInfo {
    /// Containers by name or id (a list, or a comma-separated string as Ansible's `list`
    /// type reads one); every container when left out.
    #[serde(default)]
    name: Option<OneOrMany>,
    #[serde(default = "podman")]
    executable: String,
}

fn podman() -> String {
    "podman".to_owned()
}

/// Prints records, each a line `@@KIND` and the text below it: `@@json` (an inspect
/// array), `@@stderr` (podman's messages), `@@fail` (why the task fails). The names are
/// the script's arguments; none means every container. As the collection: a failed
/// inspect of several names that podman does not all know is done again name by name.
const SCRIPT: &str = r#"
set -u
if ! path=$(command -v "$exe" 2>/dev/null); then
    printf '@@fail\nFailed to find required executable "%s" in paths: %s\n' "$exe" "$PATH"
    exit 0
fi
err=$(mktemp) || exit 1
trap 'rm -f "$err"' EXIT
if [ $all = yes ]; then
    tries=0
    while ! ids=$("$path" container ls -q -a 2>"$err"); do
        tries=$((tries + 1))
        if [ $tries -gt 4 ]; then
            printf '@@fail\nUnable to get list of containers during 4 retries\n'
            exit 0
        fi
        sleep 1
    done
    set -- $ids
    if [ $# -eq 0 ]; then printf '@@json\n[]\n'; exit 0; fi
fi
if out=$("$path" container inspect -- "$@" 2>"$err"); then
    printf '@@json\n%s\n@@stderr\n' "$out"; cat "$err"; exit 0
fi
if ! grep -q 'no such ' "$err"; then
    printf '@@fail\nUnable to gather info for %s: ' "$(IFS=,; echo "$*")"; cat "$err"; exit 0
fi
if [ $# -lt 2 ]; then printf '@@json\n[]\n@@stderr\n'; cat "$err"; exit 0; fi
for name in "$@"; do
    if out=$("$path" container inspect -- "$name" 2>"$err"); then
        printf '@@json\n%s\n' "$out"
    elif ! grep -q 'no such ' "$err"; then
        printf '@@fail\nUnable to gather info for %s: ' "$name"; cat "$err"; exit 0
    fi
    printf '@@stderr\n'; cat "$err"
done
"#;

impl TaskType for PodmanContainerInfo {
    const COLLECTION: Option<&'static str> = Some("containers.podman");

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let names: Vec<String> = self
            .name
            .iter()
            .flat_map(|names| names.0.iter())
            .flat_map(|name| name.split(','))
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty())
            .collect();
        let script = format!(
            "exe={}\nall={}\nset -- {}\n{SCRIPT}",
            quote(&self.executable),
            if names.is_empty() { "yes" } else { "no" },
            quote_argv(&names)
        );
        let output = ctx.run(ctx.script(script)).await?;
        if !output.success() {
            return Ok(Outcome::failed(format!(
                "podman_container_info failed on the host: {}",
                output.stderr_lossy().trim()
            )));
        }
        let text = output.stdout_lossy();
        // The records, split at their marker lines.
        let mut records: Vec<(&str, String)> = Vec::new();
        for line in text.lines() {
            match line {
                "@@json" | "@@stderr" | "@@fail" => records.push((&line[2..], String::new())),
                _ => {
                    if let Some((_, body)) = records.last_mut() {
                        body.push_str(line);
                        body.push('\n');
                    }
                }
            }
        }
        let mut containers = Vec::new();
        let mut stderr = Vec::new();
        for (kind, body) in &records {
            let body = body.as_str();
            match *kind {
                "fail" => return Ok(Outcome::failed(body.trim_end())),
                "json" => match serde_json::from_str::<Json>(body.trim()) {
                    Ok(Json::Array(items)) => containers.extend(items),
                    Ok(Json::Null) => {}
                    Ok(other) => containers.push(other),
                    Err(error) => {
                        return Ok(Outcome::failed(format!(
                            "podman container inspect printed what is not JSON: {error}"
                        )));
                    }
                },
                "stderr" => stderr.push(body.strip_suffix('\n').unwrap_or(body).to_owned()),
                _ => {}
            }
        }
        Ok(Outcome::ok()
            .with("containers", Json::Array(containers))
            .with("stderr", json!(stderr.join("\n"))))
    }
}
