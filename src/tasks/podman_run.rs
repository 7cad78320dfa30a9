//! `podman_run`: the desired state of one container, reached in one round trip.
//!
//! The container is run with a label `quayside.spec` holding the SHA-256 of its normalized
//! spec (image, command, ports, volumes, env, ...). The script compares that label with the
//! digest of the task's spec and decides alone what to do: nothing, start, restart, or
//! remove and run again. A second label, `quayside.fields`, holds a short hash per field,
//! so that the controller can tell from the script's report what differed ("env X
//! changed") without a second trip. Env values themselves never appear in the report.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Deserialize;
use serde_json::{Map, Value as Json, json};
use sha2::{Digest, Sha256};

use super::podman::{PREAMBLE, Words, check_name, failure, inspect_lines, report};
use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;
use crate::transport::quote::{quote, quote_argv};

/// The label holding the digest of the whole spec.
const SPEC_LABEL: &str = "quayside.spec";
/// The label holding a short hash per field of the spec.
const FIELDS_LABEL: &str = "quayside.fields";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodmanRun {
    name: String,
    /// Required unless `state: absent`.
    #[serde(default)]
    image: Option<String>,
    #[serde(default)]
    command: Option<Words>,
    /// `HOST:CONTAINER[/PROTO]`, as `podman run -p` takes them.
    #[serde(default)]
    ports: Vec<String>,
    /// `HOST_DIR:CONTAINER_DIR[:OPTIONS]`, as `podman run -v` takes them.
    #[serde(default)]
    volumes: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// Remove the container when it exits (`--rm`).
    #[serde(default)]
    rm: bool,
    #[serde(default)]
    restart_policy: Option<String>,
    /// Seconds podman waits for the container to stop before killing it (`--stop-timeout`,
    /// also used when this task stops, restarts or replaces it).
    #[serde(default)]
    stop_timeout: Option<u32>,
    /// More `podman run` options, passed as they are, before the image.
    #[serde(default)]
    extra_args: Option<Words>,
    #[serde(default)]
    state: State,
    /// Restart the container even if nothing changed (what a handler does after the
    /// configuration it reads changed).
    #[serde(default)]
    restart: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum State {
    #[default]
    Started,
    Stopped,
    Absent,
}

/// The spec, checked and normalized, ready to be written into a script.
struct Spec {
    image: String,
    command: Vec<String>,
    /// Every field that makes up the container, by name (`env KEY` for each variable).
    fields: BTreeMap<String, Json>,
    /// The `podman run`/`podman create` options, before the image.
    options: Vec<String>,
}

impl Spec {
    fn digest(&self) -> String {
        hex::encode(Sha256::digest(
            Json::Object(self.fields.clone().into_iter().collect()).to_string(),
        ))
    }

    /// A short hash per field, so that a later run can say which fields differ.
    fn field_hashes(&self) -> BTreeMap<String, String> {
        self.fields
            .iter()
            .map(|(name, value)| {
                let hash = hex::encode(Sha256::digest(format!("{name}\0{value}")));
                (name.clone(), hash[..12].to_owned())
            })
            .collect()
    }
}

impl PodmanRun {
    fn spec(&self) -> Result<Spec, String> {
        let image = match &self.image {
            Some(image) if image.is_empty() || image.starts_with('-') => {
                return Err(format!("invalid image `{image}`"));
            }
            Some(image) => image.clone(),
            None => {
                return Err("missing argument `image` (needed unless `state: absent`)".to_owned());
            }
        };
        let command = match &self.command {
            Some(words) => words.split()?,
            None => Vec::new(),
        };
        let extra_args = match &self.extra_args {
            Some(words) => words.split()?,
            None => Vec::new(),
        };
        for key in self.env.keys() {
            if key.is_empty() || key.contains('=') || key.contains('\0') {
                return Err(format!("invalid environment variable name `{key}`"));
            }
        }
        let mut ports = self.ports.clone();
        // The order ports are published in does not matter to podman; it must not make a
        // new container either.
        ports.sort();
        ports.dedup();

        let mut fields = BTreeMap::new();
        fields.insert("image".to_owned(), json!(image));
        fields.insert("command".to_owned(), json!(command));
        fields.insert("ports".to_owned(), json!(ports));
        fields.insert("volumes".to_owned(), json!(self.volumes));
        for (key, value) in &self.env {
            fields.insert(format!("env {key}"), json!(value));
        }
        if self.rm {
            fields.insert("rm".to_owned(), json!(true));
        }
        if let Some(policy) = &self.restart_policy {
            fields.insert("restart_policy".to_owned(), json!(policy));
        }
        if let Some(seconds) = self.stop_timeout {
            fields.insert("stop_timeout".to_owned(), json!(seconds));
        }
        if !extra_args.is_empty() {
            fields.insert("extra_args".to_owned(), json!(extra_args));
        }

        // Every option is one word with its value (`--env=K=V`), so that no value, however
        // it starts, can be read as another option.
        let mut options = vec![format!("--name={}", self.name)];
        if self.rm {
            options.push("--rm".to_owned());
        }
        if let Some(policy) = &self.restart_policy {
            options.push(format!("--restart={policy}"));
        }
        if let Some(seconds) = self.stop_timeout {
            options.push(format!("--stop-timeout={seconds}"));
        }
        options.extend(ports.iter().map(|port| format!("--publish={port}")));
        options.extend(
            self.volumes
                .iter()
                .map(|volume| format!("--volume={volume}")),
        );
        options.extend(
            self.env
                .iter()
                .map(|(key, value)| format!("--env={key}={value}")),
        );
        options.extend(extra_args);
        let mut spec = Spec {
            image,
            command,
            fields,
            options,
        };
        let digest = spec.digest();
        let hashes = serde_json::to_string(&spec.field_hashes()).unwrap_or_default();
        spec.options
            .insert(1, format!("--label={SPEC_LABEL}={digest}"));
        spec.options
            .insert(2, format!("--label={FIELDS_LABEL}={hashes}"));
        Ok(spec)
    }

    /// `-t N` for `podman stop`/`restart`/`rm`, when a stop timeout is set.
    fn time_flag(&self) -> String {
        match self.stop_timeout {
            Some(seconds) => format!(" -t {seconds}"),
            None => String::new(),
        }
    }

    fn script(&self, spec: Option<&Spec>, check: bool) -> String {
        let mut script = String::from(PREAMBLE);
        let _ = writeln!(script, "name={}", quote(&self.name));
        script.push_str(&inspect_lines(
            "before.",
            &[
                ("id", "{{.Id}}"),
                ("image_id", "{{.Image}}"),
                ("started_at", "{{.State.StartedAt}}"),
                (
                    "spec",
                    &format!("{{{{index .Config.Labels \"{SPEC_LABEL}\"}}}}"),
                ),
                (
                    "fields",
                    &format!("{{{{index .Config.Labels \"{FIELDS_LABEL}\"}}}}"),
                ),
            ],
        ));
        let time = self.time_flag();
        match (self.state, spec) {
            (State::Absent, _) | (_, None) => {
                script.push_str("if [ $exists = yes ]; then action=remove; else action=none; fi\n");
            }
            (state, Some(spec)) => {
                let _ = writeln!(script, "want_spec={}", quote(&spec.digest()));
                let _ = writeln!(script, "image={}", quote(&spec.image));
                // A tag that now names another image (a new build of `latest`) makes a new
                // container too; an image that is not here yet is pulled by `podman run`.
                script.push_str(
                    "same=no\n\
                     if [ $exists = yes ] && [ \"$spec\" = \"$want_spec\" ]; then\n\
                     want_image=$(podman image inspect --format '{{.Id}}' \"$image\" 2>/dev/null) || want_image=\n\
                     if [ -n \"$want_image\" ] && [ \"$want_image\" != \"$image_id\" ]; then echo image_moved=yes; else same=yes; fi\n\
                     fi\n",
                );
                let decide = match state {
                    State::Started if self.restart => {
                        "if [ $exists = no ]; then action=run\n\
                         elif [ $same = no ]; then action=recreate\n\
                         else action=restart; fi\n"
                    }
                    State::Started => {
                        "if [ $exists = no ]; then action=run\n\
                         elif [ $same = no ]; then action=recreate\n\
                         elif [ \"$state\" = running ]; then action=none\n\
                         elif [ \"$state\" = paused ]; then action=unpause\n\
                         else action=start; fi\n"
                    }
                    _ => {
                        "if [ $exists = no ]; then action=create\n\
                         elif [ $same = no ]; then action=recreate\n\
                         elif [ \"$state\" = running ] || [ \"$state\" = paused ]; then action=stop\n\
                         else action=none; fi\n"
                    }
                };
                script.push_str(decide);
            }
        }
        script.push_str("echo action=$action\n");
        if check {
            script.push_str("exit 0\n");
            return script;
        }
        let create = |verb: &str| {
            spec.map(|spec| {
                let mut argv = vec!["podman".to_owned(), verb.to_owned()];
                if verb == "run" {
                    argv.push("-d".to_owned());
                }
                argv.extend(spec.options.iter().cloned());
                argv.push(spec.image.clone());
                argv.extend(spec.command.iter().cloned());
                quote_argv(&argv)
            })
            .unwrap_or_default()
        };
        let new = if self.state == State::Started {
            ("podman-run", create("run"))
        } else {
            ("podman-create", create("create"))
        };
        let _ = write!(
            script,
            "step() {{ \"$@\" >/dev/null || {{ echo \"failed=$step\"; exit 1; }}; }}\n\
             case $action in\n\
             run|create) step={0}; step {1} ;;\n\
             recreate) step=podman-rm; step podman rm -f{time} \"$name\"; step={0}; step {1} ;;\n\
             start) step=podman-start; step podman start \"$name\" ;;\n\
             unpause) step=podman-unpause; step podman unpause \"$name\" ;;\n\
             restart) step=podman-restart; step podman restart{time} \"$name\" ;;\n\
             stop) step=podman-stop; step podman stop{time} \"$name\" ;;\n\
             remove) step=podman-rm; step podman rm -f{time} \"$name\" ;;\n\
             esac\n",
            new.0, new.1,
        );
        script.push_str(&inspect_lines(
            "after.",
            &[("id", "{{.Id}}"), ("started_at", "{{.State.StartedAt}}")],
        ));
        script
    }
}

impl TaskType for PodmanRun {
    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        if let Err(message) = check_name(&self.name) {
            return Ok(Outcome::failed(message));
        }
        if self.restart && self.state != State::Started {
            return Ok(Outcome::failed("`restart: true` needs `state: started`"));
        }
        let spec = match self.state {
            State::Absent => None,
            _ => match self.spec() {
                Ok(spec) => Some(spec),
                Err(message) => return Ok(Outcome::failed(message)),
            },
        };
        let output = ctx
            .run(ctx.script(self.script(spec.as_ref(), ctx.check)))
            .await?;
        let report = report(&output);
        if !output.success() || report.contains_key("failed") {
            return Ok(Outcome::failed(failure(ctx.host, &report, &output)));
        }
        let action = report.get("action").map(String::as_str).unwrap_or("none");
        let get = |key: &str| report.get(key).cloned().unwrap_or_default();
        let prefix = if ctx.check { "before." } else { "after." };
        let exists = get(&format!("{prefix}exists")) == "yes";
        let container = json!({
            "name": self.name,
            "id": if exists { get(&format!("{prefix}id")) } else { String::new() },
            "state": if exists { get(&format!("{prefix}state")) } else { "absent".to_owned() },
            "started_at": if exists { get(&format!("{prefix}started_at")) } else { String::new() },
            "spec": spec.as_ref().map(Spec::digest).unwrap_or_default(),
            "image": self.image.clone().unwrap_or_default(),
        });

        let what = match action {
            "none" => None,
            "run" => Some("created and started".to_owned()),
            "create" => Some("created".to_owned()),
            "start" => Some("started".to_owned()),
            "unpause" => Some("unpaused".to_owned()),
            "restart" => Some("restarted".to_owned()),
            "stop" => Some("stopped".to_owned()),
            "remove" => Some("removed".to_owned()),
            "recreate" => Some(format!(
                "recreated: {}",
                match &spec {
                    Some(spec) => differences(spec, &report),
                    None => String::new(),
                }
            )),
            other => Some(other.to_owned()),
        };
        let mut outcome = match what {
            None => Outcome::ok(),
            Some(what) if ctx.check => Outcome::changed().with_msg(format!("would be {what}")),
            Some(what) => Outcome::changed().with_msg(what),
        };
        let was_running = get("before.exists") == "yes"
            && matches!(get("before.state").as_str(), "running" | "paused");
        outcome.containers = vec![super::ContainerChange {
            name: self.name.clone(),
            was_running,
            running: self.state == State::Started,
            restarted: was_running && matches!(action, "restart" | "recreate"),
        }];
        outcome.data = Map::from_iter([
            ("container".to_owned(), container),
            ("recreated".to_owned(), Json::Bool(action == "recreate")),
            ("action".to_owned(), Json::String(action.to_owned())),
        ]);
        Ok(outcome)
    }
}

/// What differs between the running container and the spec, from the field hashes the
/// container was labelled with: `env A changed, ports changed`.
fn differences(spec: &Spec, report: &BTreeMap<String, String>) -> String {
    if report.get("image_moved").is_some_and(|v| v == "yes") {
        return format!("image `{}` now names another image", spec.image);
    }
    let old = report
        .get("before.fields")
        .map(String::as_str)
        .unwrap_or("");
    let Ok(old) = serde_json::from_str::<BTreeMap<String, String>>(old) else {
        return format!("the container was not made by quayside (no `{SPEC_LABEL}` label)");
    };
    let new = spec.field_hashes();
    let mut changes = Vec::new();
    for (field, hash) in &new {
        match old.get(field) {
            Some(old_hash) if old_hash == hash => {}
            Some(_) => changes.push(format!("{field} changed")),
            None => changes.push(format!("{field} added")),
        }
    }
    for field in old.keys().filter(|field| !new.contains_key(*field)) {
        changes.push(format!("{field} removed"));
    }
    if changes.is_empty() {
        "the spec changed".to_owned()
    } else {
        changes.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{from_node, load_str};

    fn task(text: &str) -> PodmanRun {
        from_node(&load_str("t.yml", text).unwrap()).unwrap()
    }

    #[test]
    fn the_digest_ignores_the_order_of_ports_and_env() {
        let a = task("name: q\nimage: i\nports: ['1:1', '2:2']\nenv: {A: '1', B: '2'}\n");
        let b = task("name: q\nimage: i\nports: ['2:2', '1:1']\nenv: {B: '2', A: '1'}\n");
        assert_eq!(a.spec().unwrap().digest(), b.spec().unwrap().digest());
    }

    #[test]
    fn a_command_string_and_its_list_are_the_same_spec() {
        let a = task("name: q\nimage: i\ncommand: httpd -f -p 8080\n");
        let b = task("name: q\nimage: i\ncommand: [httpd, -f, -p, 8080]\n");
        assert_eq!(a.spec().unwrap().digest(), b.spec().unwrap().digest());
    }

    #[test]
    fn differences_name_the_fields() {
        let old = task("name: q\nimage: i\nenv: {A: '1', B: '2', C: '3'}\n");
        let new = task("name: q\nimage: i\nenv: {A: '1', B: 'x', D: '4'}\n");
        let mut report = BTreeMap::new();
        report.insert(
            "before.fields".to_owned(),
            serde_json::to_string(&old.spec().unwrap().field_hashes()).unwrap(),
        );
        assert_eq!(
            differences(&new.spec().unwrap(), &report),
            "env B changed, env D added, env C removed"
        );
    }

    #[test]
    fn every_option_carries_its_value() {
        let spec = task("name: q\nimage: i\nvolumes: ['-x:/y']\nenv: {A: '-e B=1'}\n")
            .spec()
            .unwrap();
        assert!(spec.options.contains(&"--volume=-x:/y".to_owned()));
        assert!(spec.options.contains(&"--env=A=-e B=1".to_owned()));
    }
}
