//! `podman_run`: the desired state of one container, reached in one round trip, in
//! quayside's own arguments. The work is done by the engine it shares with Ansible's
//! `podman_container` (`podman_engine.rs`): a container labelled with the digest of its spec,
//! compared, and made again when it differs.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value as Json, json};

use super::podman::{Words, check_name};
use super::podman_engine::{Desired, Spec, Want};
use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;

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

impl PodmanRun {
    fn spec(&self) -> Result<Spec, String> {
        let command = match &self.command {
            Some(words) => words.split()?,
            None => Vec::new(),
        };
        let mut spec = Spec::new(&self.name, self.image.as_deref(), command)?;
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

        if self.rm {
            spec.field("rm", json!(true), ["--rm".to_owned()]);
        }
        if let Some(policy) = &self.restart_policy {
            spec.field(
                "restart_policy",
                json!(policy),
                [format!("--restart={policy}")],
            );
        }
        if let Some(seconds) = self.stop_timeout {
            spec.field(
                "stop_timeout",
                json!(seconds),
                [format!("--stop-timeout={seconds}")],
            );
        }
        let publish = ports
            .iter()
            .map(|port| format!("--publish={port}"))
            .collect::<Vec<_>>();
        spec.field("ports", json!(ports), publish);
        spec.field(
            "volumes",
            json!(self.volumes),
            self.volumes
                .iter()
                .map(|volume| format!("--volume={volume}")),
        );
        for (key, value) in &self.env {
            spec.field(
                &format!("env {key}"),
                json!(value),
                [format!("--env={key}={value}")],
            );
        }
        if !extra_args.is_empty() {
            spec.field("extra_args", json!(extra_args), extra_args.clone());
        }
        Ok(spec)
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
        let digest = spec.as_ref().map(Spec::digest).unwrap_or_default();
        let desired = Desired {
            name: self.name.clone(),
            want: match self.state {
                State::Started => Want::Started,
                State::Stopped => Want::Stopped,
                State::Absent => Want::Absent,
            },
            spec,
            restart: self.restart,
            recreate: false,
            stop_timeout: self.stop_timeout,
            delete_depend: false,
            detach: true,
            inspect: false,
            systemd: None,
        };
        let done = desired.apply(ctx).await?;
        if done.outcome.failed {
            return Ok(done.outcome);
        }
        let prefix = if ctx.check { "before." } else { "after." };
        let exists = done.get(&format!("{prefix}exists")) == "yes";
        let field = |key: &str| {
            if exists {
                done.get(&format!("{prefix}{key}"))
            } else {
                String::new()
            }
        };
        let container = json!({
            "name": self.name,
            "id": field("id"),
            "state": if exists { field("state") } else { "absent".to_owned() },
            "started_at": field("started_at"),
            "spec": digest,
            "image": self.image.clone().unwrap_or_default(),
        });
        // podman_run's own names for what it did, kept from before the engine was shared.
        let action = match done.action.as_str() {
            "recreate-run" | "recreate-create" | "recreate-start" => "recreate",
            other => other,
        };
        let recovered = done.recovered();
        let mut outcome = done.outcome;
        outcome.data = Map::from_iter([
            ("container".to_owned(), container),
            ("recreated".to_owned(), Json::Bool(action == "recreate")),
            ("action".to_owned(), Json::String(action.to_owned())),
            ("recovered".to_owned(), recovered),
        ]);
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::super::podman_engine::differences;
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
