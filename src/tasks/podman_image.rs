//! `containers.podman.podman_image`: an image present (there already, built from a
//! context on the host with `path`, or pulled) or absent, in one round trip. A build is
//! labelled `containerfile.hash` with the SHA-256 of its Containerfile, as the collection
//! labels it, and built again when the Containerfile changes (or with `force`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Deserialize;
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use super::podman::{PREAMBLE, failure, report};
use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;
use crate::transport::quote::{quote, quote_argv};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodmanImage {
    name: String,
    #[serde(default = "latest")]
    tag: String,
    #[serde(default)]
    state: State,
    /// The build context, a folder on the host.
    #[serde(default)]
    path: Option<String>,
    /// Build (or pull) again even when the image is there; with `state: absent`, remove
    /// it even when containers use it.
    #[serde(default)]
    force: bool,
    /// Pull an image that is not there and not built here.
    #[serde(default = "super::args::yes")]
    pull: bool,
    #[serde(default)]
    build: Build,
}

fn latest() -> String {
    "latest".to_owned()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum State {
    #[default]
    Present,
    Absent,
    Build,
}

/// `build`: the options of `podman build` the collection passes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Build {
    /// The Containerfile, a path on the host (default: `Containerfile` or `Dockerfile` in
    /// `path`).
    #[serde(default)]
    file: Option<String>,
    /// The Containerfile's text, written to a file on the host for the build.
    #[serde(default)]
    container_file: Option<String>,
    #[serde(default = "oci")]
    format: Format,
    #[serde(default = "super::args::yes")]
    cache: bool,
    #[serde(default = "super::args::yes")]
    rm: bool,
    #[serde(default)]
    force_rm: bool,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    annotation: BTreeMap<String, String>,
    #[serde(default)]
    volume: Vec<String>,
}

impl Default for Build {
    /// As the collection's defaults: `--format oci --rm`, with the cache.
    fn default() -> Self {
        Build {
            file: None,
            container_file: None,
            format: Format::Oci,
            cache: true,
            rm: true,
            force_rm: false,
            target: None,
            annotation: BTreeMap::new(),
            volume: Vec::new(),
        }
    }
}

fn oci() -> Format {
    Format::Oci
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Format {
    Oci,
    Docker,
}

impl PodmanImage {
    /// `NAME:TAG` (or `NAME@sha256:...`), as the collection joins them: a tag in `name`
    /// wins over `tag`.
    fn full_name(&self) -> String {
        if let Some((name, digest)) = self.name.rsplit_once('@') {
            return format!("{name}@{digest}");
        }
        match self.name.rsplit_once(':') {
            Some((_, tag)) if !tag.contains('/') => self.name.clone(),
            _ if self.tag.starts_with("sha256:") => format!("{}@{}", self.name, self.tag),
            _ => format!("{}:{}", self.name, self.tag),
        }
    }

    fn builds(&self) -> bool {
        self.state == State::Build || self.path.is_some()
    }

    /// `podman build` without the Containerfile's hash label and the context (added by the
    /// script, which hashes the file on the host).
    fn build_argv(&self, full: &str) -> Vec<String> {
        let build = &self.build;
        let mut argv = vec![
            "podman".to_owned(),
            "build".to_owned(),
            format!("--tag={full}"),
        ];
        if build.force_rm {
            argv.push("--force-rm".to_owned());
        }
        let format = match build.format {
            Format::Oci => "oci",
            Format::Docker => "docker",
        };
        argv.push(format!("--format={format}"));
        if !build.cache {
            argv.push("--no-cache".to_owned());
        }
        if build.rm {
            argv.push("--rm".to_owned());
        }
        for (key, value) in &build.annotation {
            argv.push(format!("--annotation={key}={value}"));
        }
        for volume in &build.volume {
            argv.push(format!("--volume={volume}"));
        }
        if let Some(target) = &build.target {
            argv.push(format!("--target={target}"));
        }
        argv
    }

    fn script(&self, full: &str, check: bool) -> Result<String, String> {
        let mut script = String::from(PREAMBLE);
        let _ = write!(
            script,
            "full={}\n\
             if podman image exists \"$full\"; then exists=yes; else exists=no; fi\n\
             echo before.exists=$exists\n",
            quote(full)
        );
        if self.state == State::Absent {
            script.push_str("if [ $exists = yes ]; then action=remove; else action=none; fi\n");
        } else if self.builds() {
            let Some(path) = &self.path else {
                return Err("`state: build` needs `path`, the build context".to_owned());
            };
            let _ = write!(
                script,
                "context={}\nfile={}\n",
                quote(path),
                quote(self.build.file.as_deref().unwrap_or(""))
            );
            match &self.build.container_file {
                Some(text) => {
                    if self.build.file.is_some() {
                        return Err("`build.file` and `build.container_file` exclude each other"
                            .to_owned());
                    }
                    let hash = hex::encode(Sha256::digest(text.as_bytes()));
                    let _ = writeln!(script, "want_hash={hash}");
                }
                None => script.push_str(
                    "if [ -z \"$file\" ]; then\n\
                     for candidate in Containerfile Dockerfile; do\n\
                     if [ -f \"$context/$candidate\" ]; then file=$context/$candidate; break; fi\n\
                     done\n\
                     fi\n\
                     want_hash=\n\
                     if [ -n \"$file\" ] && [ -r \"$file\" ]; then want_hash=$(sha256sum <\"$file\" | cut -d' ' -f1); fi\n",
                ),
            }
            let _ = writeln!(
                script,
                "force={}\necho want_hash=$want_hash\necho file=$file",
                if self.force { "yes" } else { "no" }
            );
            script.push_str(
                "if [ $exists = no ] || [ $force = yes ]; then action=build\n\
                 else\n\
                 had_hash=$(podman image inspect --format '{{index .Labels \"containerfile.hash\"}}' \"$full\") || { echo failed=podman-image-inspect; exit 1; }\n\
                 if [ -n \"$want_hash\" ] && [ \"$had_hash\" != \"$want_hash\" ]; then action=build; else action=none; fi\n\
                 fi\n",
            );
        } else {
            let _ = writeln!(
                script,
                "force={}\npull={}",
                if self.force { "yes" } else { "no" },
                if self.pull { "yes" } else { "no" },
            );
            script.push_str(
                "if [ $exists = yes ] && [ $force = no ]; then action=none\n\
                 elif [ $pull = no ]; then echo failed=no-pull; exit 1\n\
                 else action=pull; fi\n",
            );
        }
        script.push_str("echo action=$action\nlast_out=\n");
        if !check {
            let mut rm = vec!["podman".to_owned(), "rmi".to_owned()];
            if self.force {
                rm.push("--force".to_owned());
            }
            rm.push(full.to_owned());
            let mut build = quote_argv(&self.build_argv(full));
            if let Some(text) = &self.build.container_file {
                let _ = write!(
                    script,
                    "tmp=$(mktemp -d) || {{ echo failed=mktemp; exit 1; }}\n\
                     trap 'rm -rf \"$tmp\"' EXIT\n\
                     printf '%s' {} >\"$tmp/Containerfile\" || {{ echo failed=write-containerfile; exit 1; }}\n\
                     file=$tmp/Containerfile\n",
                    quote(text)
                );
            }
            build.push_str(
                " \"--label=containerfile.hash=$want_hash\" ${file:+\"--file=$file\"} \"$context\"",
            );
            let _ = write!(
                script,
                "step() {{ out=$(\"$@\" 2>&1) || {{ echo \"failed=$step\"; printf '%s\\n' \"$out\" >&2; exit 1; }}; last_out=$out; }}\n\
                 case $action in\n\
                 remove) step=podman-rmi; step {rm} ;;\n\
                 pull) step=podman-pull; step podman pull \"$full\" ;;\n\
                 build) step=podman-build; step {build} ;;\n\
                 esac\n",
                rm = quote_argv(&rm),
            );
        }
        script.push_str(
            "echo '@@quayside:stdout@@'; printf '%s\\n' \"$last_out\"\n\
             echo '@@quayside:inspect@@'\n\
             if podman image exists \"$full\"; then podman image inspect \"$full\"; else echo '[]'; fi\n",
        );
        Ok(script)
    }
}

impl TaskType for PodmanImage {
    const COLLECTION: Option<&'static str> = Some("containers.podman");

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        if self.name.is_empty() || self.name.starts_with('-') {
            return Ok(Outcome::failed(format!(
                "invalid image name `{}`",
                self.name
            )));
        }
        let full = self.full_name();
        let script = match self.script(&full, ctx.check) {
            Ok(script) => script,
            Err(message) => return Ok(Outcome::failed(message)),
        };
        let output = ctx.run(ctx.script(script)).await?;
        let stdout = output.stdout_lossy();
        let (head, inspect) = stdout
            .split_once("@@quayside:inspect@@\n")
            .unwrap_or((&stdout, ""));
        let (head, last_out) = head
            .split_once("@@quayside:stdout@@\n")
            .unwrap_or((head, ""));
        let report = report(&crate::transport::Output {
            stdout: head.as_bytes().to_vec(),
            ..Default::default()
        });
        match report.get("failed").map(String::as_str) {
            Some("no-pull") => {
                return Ok(Outcome::failed(format!(
                    "Image {full} not found locally and pull is disabled"
                )));
            }
            _ if !output.success() || report.contains_key("failed") => {
                return Ok(Outcome::failed(failure(ctx.host, &report, &output)));
            }
            _ => {}
        }
        let action = report.get("action").map(String::as_str).unwrap_or("none");
        let context = self.path.as_deref().unwrap_or("context");
        let (actions, commands): (Vec<String>, Vec<String>) = match action {
            "remove" => (
                vec![format!("Removed image {full}")],
                vec![format!(
                    "podman rmi{} {full}",
                    if self.force { " --force" } else { "" }
                )],
            ),
            "pull" => (
                vec![format!("Pulled image {full}")],
                vec![format!("podman pull {full}")],
            ),
            "build" => (vec![format!("Built image {full} from {context}")], {
                let mut argv = self.build_argv(&full);
                let hash = report.get("want_hash").cloned().unwrap_or_default();
                argv.push(format!("--label=containerfile.hash={hash}"));
                match report.get("file") {
                    Some(file) if !file.is_empty() && self.build.container_file.is_none() => {
                        argv.push(format!("--file={file}"));
                    }
                    _ => {}
                }
                argv.push(context.to_owned());
                vec![shell_words::join(argv)]
            }),
            _ => (Vec::new(), Vec::new()),
        };
        let image = if action == "remove" {
            json!({"state": "Deleted"})
        } else {
            match serde_json::from_str::<Json>(inspect.trim()) {
                Ok(Json::Array(items)) if !items.is_empty() => Json::Array(items),
                _ => json!({}),
            }
        };
        let mut outcome = match actions.first() {
            None => Outcome::ok(),
            Some(what) if ctx.check => Outcome::changed().with_msg(format!("would be: {what}")),
            Some(what) => Outcome::changed().with_msg(what.clone()),
        };
        let last_out = last_out.trim_end_matches('\n');
        outcome.data.insert("actions".into(), json!(actions));
        outcome.data.insert(
            "podman_actions".into(),
            json!(if ctx.check { Vec::new() } else { commands }),
        );
        outcome.data.insert("image".into(), image);
        outcome.data.insert(
            "stdout_lines".into(),
            json!(last_out.lines().collect::<Vec<_>>()),
        );
        outcome.data.insert("stdout".into(), json!(last_out));
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{from_node, load_str};

    fn task(text: &str) -> PodmanImage {
        from_node(&load_str("t.yml", text).unwrap()).unwrap()
    }

    #[test]
    fn names_join_tags_as_the_collection_does() {
        assert_eq!(task("name: a/b").full_name(), "a/b:latest");
        assert_eq!(task("name: a/b:1").full_name(), "a/b:1");
        assert_eq!(task("name: a/b\ntag: '2'").full_name(), "a/b:2");
        assert_eq!(task("name: host:5000/b").full_name(), "host:5000/b:latest");
        assert_eq!(task("name: a@sha256:ab").full_name(), "a@sha256:ab");
    }
}
