//! `containers.podman.podman_load`: load an image archive on the host (`podman save`'s
//! docker-archive), registering the image's `podman image inspect` as the collection does.
//! Unlike the collection (which loads every time), an archive whose image is there with
//! every tag it names is not loaded again: a second run changes nothing.

use std::fmt::Write as _;

use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::podman::{PREAMBLE, failure, report};
use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;
use crate::transport::quote::quote;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodmanLoad {
    /// The archive, a path on the host.
    #[serde(alias = "path")]
    input: String,
}

impl PodmanLoad {
    fn script(&self, check: bool) -> String {
        let mut script = String::from(PREAMBLE);
        // The archive's manifest names the image's id (its config's digest) and its tags:
        // when the image is there under each tag, there is nothing to load.
        let _ = write!(
            script,
            "input={}\n\
             [ -r \"$input\" ] || {{ echo failed=no-input; exit 1; }}\n\
             manifest=$(tar -xOf \"$input\" manifest.json 2>/dev/null) || manifest=\n\
             id=$(printf '%s' \"$manifest\" | sed -n 's/.*\"Config\":\"\\([^\"]*\\)\".*/\\1/p' | sed 's/\\.json$//; s|^blobs/sha256/||')\n\
             tags=$(printf '%s' \"$manifest\" | sed -n 's/.*\"RepoTags\":\\[\\([^]]*\\)\\].*/\\1/p' | tr ',' '\\n' | tr -d '\"')\n\
             action=load\n\
             if [ -n \"$id\" ] && [ \"$(podman image inspect --format '{{{{.Id}}}}' \"$id\" 2>/dev/null)\" = \"$id\" ]; then\n\
             action=none\n\
             for tag in $tags; do\n\
             [ \"$(podman image inspect --format '{{{{.Id}}}}' \"$tag\" 2>/dev/null)\" = \"$id\" ] || action=load\n\
             done\n\
             fi\n\
             echo action=$action\n\
             out=\n\
             image=$id\n",
            quote(&self.input)
        );
        if !check {
            script.push_str(
                "if [ $action = load ]; then\n\
                 out=$(podman load --input \"$input\") || { echo failed=podman-load; exit 1; }\n\
                 image=$(printf '%s\\n' \"$out\" | sed -n 's/^Loaded image: *//p; s/^Loaded image(s): *//p' | head -n 1 | cut -d, -f1)\n\
                 fi\n",
            );
        }
        script.push_str(
            "echo '@@quayside:stdout@@'; printf '%s\\n' \"$out\"\n\
             echo '@@quayside:inspect@@'\n\
             if [ -n \"$image\" ] && podman image exists \"$image\"; then podman image inspect \"$image\"; else echo '[]'; fi\n",
        );
        script
    }
}

impl TaskType for PodmanLoad {
    const COLLECTION: Option<&'static str> = Some("containers.podman");

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let output = ctx.run(ctx.script(self.script(ctx.check))).await?;
        let stdout = output.stdout_lossy();
        let (head, inspect) = stdout
            .split_once("@@quayside:inspect@@\n")
            .unwrap_or((&stdout, ""));
        let (head, out) = head
            .split_once("@@quayside:stdout@@\n")
            .unwrap_or((head, ""));
        let report = report(&crate::transport::Output {
            stdout: head.as_bytes().to_vec(),
            ..Default::default()
        });
        if report.get("failed").is_some_and(|step| step == "no-input") {
            return Ok(Outcome::failed(format!(
                "cannot read the archive `{}` on `{}`",
                self.input, ctx.host
            )));
        }
        if !output.success() || report.contains_key("failed") {
            let mut outcome = Outcome::failed(failure(ctx.host, &report, &output));
            if let Some(message) = &mut outcome.msg {
                *message = format!("Image loading failed: {message}");
            }
            return Ok(outcome);
        }
        let loaded = report.get("action").is_some_and(|action| action == "load");
        let image = match serde_json::from_str::<Json>(inspect.trim()) {
            Ok(Json::Array(mut items)) if !items.is_empty() => items.swap_remove(0),
            _ => json!({}),
        };
        let mut outcome = match (loaded, ctx.check) {
            (false, _) => Outcome::ok(),
            (true, false) => Outcome::changed().with_msg("loaded"),
            (true, true) => Outcome::changed().with_msg("would be loaded"),
        };
        outcome.data.insert("image".into(), image);
        let out = out.trim_end_matches('\n');
        outcome.data.insert(
            "stdout_lines".into(),
            json!(out.lines().collect::<Vec<_>>()),
        );
        outcome.data.insert("stdout".into(), json!(out));
        outcome.data.insert("stderr".into(), json!(""));
        outcome.data.insert("stderr_lines".into(), json!([]));
        Ok(outcome)
    }
}
