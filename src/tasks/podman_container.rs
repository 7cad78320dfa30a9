//! `containers.podman.podman_container`: the collection's arguments over the engine that
//! `podman_run` uses too (`podman_engine.rs`), registering what the collection registers:
//! `container` (the `podman container inspect` of the container), `podman_actions` (the
//! podman commands run), `actions`, `stdout`, `stderr` and `podman_systemd`.

use std::collections::BTreeMap;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use super::args::OneOrMany;
use super::podman::{Words, check_name};
use super::podman_engine::{Desired, Spec, Systemd, Want};
use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodmanContainer {
    name: String,
    /// Required unless the container exists (`state: absent`, `stopped` of one there).
    #[serde(default)]
    image: Option<String>,
    #[serde(default)]
    state: State,
    #[serde(default)]
    command: Option<Words>,
    #[serde(default)]
    entrypoint: Option<String>,
    #[serde(
        default,
        alias = "ports",
        alias = "published",
        alias = "published_ports"
    )]
    publish: Option<OneOrMany>,
    #[serde(default, alias = "volumes")]
    volume: Option<OneOrMany>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default, alias = "env_files")]
    env_file: Option<OneOrMany>,
    #[serde(default)]
    pod: Option<String>,
    #[serde(default, alias = "net", alias = "network_mode")]
    network: Option<OneOrMany>,
    #[serde(default)]
    restart_policy: Option<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default, alias = "working_dir")]
    workdir: Option<String>,
    #[serde(default = "super::args::yes")]
    detach: bool,
    #[serde(default)]
    recreate: bool,
    #[serde(default, alias = "restart")]
    force_restart: bool,
    #[serde(default, alias = "remove", alias = "auto_remove")]
    rm: bool,
    #[serde(default)]
    stop_timeout: Option<u32>,
    /// Removing the container (`state: absent`, or to make it again) removes the
    /// containers that depend on it too (`podman rm --depend`).
    #[serde(default)]
    delete_depend: bool,
    #[serde(default, alias = "labels")]
    label: BTreeMap<String, String>,
    #[serde(default, alias = "capabilities")]
    cap_add: Option<OneOrMany>,
    #[serde(default)]
    secrets: Option<OneOrMany>,
    #[serde(default, alias = "health_cmd")]
    healthcheck: Option<String>,
    #[serde(default, alias = "health_interval")]
    healthcheck_interval: Option<String>,
    #[serde(default, alias = "health_retries")]
    healthcheck_retries: Option<u32>,
    #[serde(default, alias = "health_start_period")]
    healthcheck_start_period: Option<String>,
    #[serde(default, alias = "health_timeout")]
    healthcheck_timeout: Option<String>,
    #[serde(default)]
    generate_systemd: Option<GenerateSystemd>,
    #[serde(default)]
    privileged: Option<bool>,
    #[serde(default)]
    read_only: Option<bool>,
    #[serde(default)]
    tty: Option<bool>,
    #[serde(default)]
    init: Option<bool>,
    #[serde(default, alias = "add_hosts")]
    etc_hosts: BTreeMap<String, String>,
    #[serde(default)]
    sysctl: BTreeMap<String, String>,
    #[serde(default)]
    tmpfs: BTreeMap<String, String>,
    #[serde(default)]
    device: Option<OneOrMany>,
    #[serde(default, alias = "ulimits")]
    ulimit: Option<OneOrMany>,
    #[serde(default, alias = "dns_servers")]
    dns: Option<OneOrMany>,
    /// Containers this one needs started first (`podman create --requires a,b`).
    #[serde(default)]
    requires: Option<OneOrMany>,
    #[serde(default, alias = "exposed", alias = "exposed_ports")]
    expose: Option<OneOrMany>,
    #[serde(default, alias = "userns_mode")]
    userns: Option<String>,
    #[serde(default)]
    log_driver: Option<LogDriver>,
    #[serde(default)]
    memory: Option<String>,
    #[serde(default)]
    cpus: Option<String>,
    #[serde(default)]
    timezone: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
enum LogDriver {
    #[serde(rename = "k8s-file")]
    K8sFile,
    #[serde(rename = "journald")]
    Journald,
    #[serde(rename = "json-file")]
    JsonFile,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum State {
    #[default]
    Started,
    Present,
    Created,
    Stopped,
    Absent,
}

/// `generate_systemd`: as the collection runs `podman generate systemd`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GenerateSystemd {
    /// Where the unit file is written; without it the unit is only registered.
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    restart_policy: Option<SystemdRestart>,
    #[serde(default)]
    restart_sec: Option<u32>,
    #[serde(default)]
    stop_timeout: Option<u32>,
    #[serde(default)]
    time: Option<u32>,
    #[serde(default)]
    start_timeout: Option<u32>,
    #[serde(default)]
    no_header: bool,
    /// Only `true` (the unit named after the container, not its id) is built.
    #[serde(default, rename = "names")]
    _names: Option<True>,
    #[serde(default)]
    new: bool,
    #[serde(default)]
    container_prefix: Option<String>,
    #[serde(default)]
    separator: Option<String>,
    #[serde(default)]
    after: Option<OneOrMany>,
    #[serde(default)]
    wants: Option<OneOrMany>,
    #[serde(default)]
    requires: Option<OneOrMany>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
enum SystemdRestart {
    No,
    OnSuccess,
    OnFailure,
    OnAbnormal,
    OnWatchdog,
    OnAbort,
    Always,
}

/// `true`, the only value of `generate_systemd.names` quayside builds (with `false` the unit
/// is named after the container's id, which is not known before it is made).
#[derive(Debug)]
struct True;

impl<'de> Deserialize<'de> for True {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if bool::deserialize(deserializer)? {
            Ok(True)
        } else {
            Err(de::Error::custom(
                "`names: false` is not built: the unit is named after the container",
            ))
        }
    }
}

impl GenerateSystemd {
    fn systemd(&self, name: &str) -> Option<Systemd> {
        let path = self.path.clone()?;
        let mut options = Vec::new();
        if let Some(policy) = self.restart_policy {
            let policy = serde_json::to_value(policy).unwrap_or_default();
            options.push(format!(
                "--restart-policy={}",
                policy.as_str().unwrap_or("")
            ));
        }
        if let Some(seconds) = self.restart_sec {
            options.push(format!("--restart-sec={seconds}"));
        }
        if let Some(seconds) = self.stop_timeout.or(self.time) {
            options.push(format!("--stop-timeout={seconds}"));
        }
        if let Some(seconds) = self.start_timeout {
            options.push(format!("--start-timeout={seconds}"));
        }
        if self.no_header {
            options.push("--no-header".to_owned());
        }
        options.push("--name".to_owned());
        if self.new {
            options.push("--new".to_owned());
        }
        if let Some(prefix) = &self.container_prefix {
            options.push(format!("--container-prefix={prefix}"));
        }
        if let Some(separator) = &self.separator {
            options.push(format!("--separator={separator}"));
        }
        for (flag, units) in [
            ("after", &self.after),
            ("wants", &self.wants),
            ("requires", &self.requires),
        ] {
            for unit in units.iter().flat_map(|units| &units.0) {
                options.push(format!("--{flag}={unit}"));
            }
        }
        let prefix = self.container_prefix.as_deref().unwrap_or("container");
        let separator = self.separator.as_deref().unwrap_or("-");
        Some(Systemd {
            dir: path,
            file: format!("{prefix}{separator}{name}.service"),
            options,
        })
    }
}

fn list(value: &Option<OneOrMany>) -> Vec<String> {
    value.as_ref().map(|v| v.0.clone()).unwrap_or_default()
}

impl PodmanContainer {
    /// `rm`, as the collection reads it: `generate_systemd.new` makes it true.
    fn rm(&self) -> bool {
        self.rm || self.generate_systemd.as_ref().is_some_and(|g| g.new)
    }

    fn spec(&self) -> Result<Spec, String> {
        let command = match &self.command {
            Some(words) => words.split()?,
            None => Vec::new(),
        };
        let mut spec = Spec::new(&self.name, self.image.as_deref(), command)?;
        for key in self.env.keys() {
            if key.is_empty() || key.contains('=') || key.contains('\0') {
                return Err(format!("invalid environment variable name `{key}`"));
            }
        }
        for key in self.label.keys() {
            if key.is_empty() || key.contains('=') || key.starts_with("quayside.") {
                return Err(format!("invalid label name `{key}`"));
            }
        }
        let one = |spec: &mut Spec, field: &str, flag: &str, value: &Option<String>| {
            if let Some(value) = value {
                spec.field(field, json!(value), [format!("--{flag}={value}")]);
            }
        };
        let many = |spec: &mut Spec, field: &str, flag: &str, values: Vec<String>| {
            if !values.is_empty() {
                let options = values
                    .iter()
                    .map(|value| format!("--{flag}={value}"))
                    .collect::<Vec<_>>();
                spec.field(field, json!(values), options);
            }
        };
        one(&mut spec, "entrypoint", "entrypoint", &self.entrypoint);
        one(&mut spec, "pod", "pod", &self.pod);
        one(&mut spec, "restart_policy", "restart", &self.restart_policy);
        one(&mut spec, "user", "user", &self.user);
        one(&mut spec, "hostname", "hostname", &self.hostname);
        one(&mut spec, "workdir", "workdir", &self.workdir);
        one(&mut spec, "healthcheck", "health-cmd", &self.healthcheck);
        one(
            &mut spec,
            "healthcheck_interval",
            "health-interval",
            &self.healthcheck_interval,
        );
        one(
            &mut spec,
            "healthcheck_retries",
            "health-retries",
            &self.healthcheck_retries.map(|n| n.to_string()),
        );
        one(
            &mut spec,
            "healthcheck_start_period",
            "health-start-period",
            &self.healthcheck_start_period,
        );
        one(
            &mut spec,
            "healthcheck_timeout",
            "health-timeout",
            &self.healthcheck_timeout,
        );
        one(
            &mut spec,
            "stop_timeout",
            "stop-timeout",
            &self.stop_timeout.map(|n| n.to_string()),
        );
        if self.rm() {
            spec.field("rm", json!(true), ["--rm".to_owned()]);
        }
        // The order ports are published in does not matter to podman; it must not make a
        // new container either.
        let mut ports = list(&self.publish);
        ports.sort();
        ports.dedup();
        many(&mut spec, "publish", "publish", ports);
        many(&mut spec, "volume", "volume", list(&self.volume));
        many(&mut spec, "env_file", "env-file", list(&self.env_file));
        many(&mut spec, "network", "network", list(&self.network));
        let mut caps = list(&self.cap_add);
        caps.sort();
        caps.dedup();
        many(&mut spec, "cap_add", "cap-add", caps);
        many(&mut spec, "secrets", "secret", list(&self.secrets));
        let flag = |spec: &mut Spec, field: &str, value: Option<bool>| {
            if let Some(value) = value {
                spec.field(
                    field,
                    json!(value),
                    [format!("--{}={value}", field.replace('_', "-"))],
                );
            }
        };
        flag(&mut spec, "privileged", self.privileged);
        flag(&mut spec, "read_only", self.read_only);
        flag(&mut spec, "tty", self.tty);
        if self.init == Some(true) {
            spec.field("init", json!(true), ["--init".to_owned()]);
        }
        one(&mut spec, "userns", "userns", &self.userns);
        one(&mut spec, "memory", "memory", &self.memory);
        one(&mut spec, "cpus", "cpus", &self.cpus);
        one(&mut spec, "timezone", "tz", &self.timezone);
        one(
            &mut spec,
            "log_driver",
            "log-driver",
            &self.log_driver.map(|driver| {
                serde_json::to_value(driver)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            }),
        );
        many(&mut spec, "device", "device", list(&self.device));
        many(&mut spec, "ulimit", "ulimit", list(&self.ulimit));
        // As the collection: every required container in one `--requires a,b`.
        let requires = list(&self.requires);
        if !requires.is_empty() {
            spec.field(
                "requires",
                json!(requires),
                [format!("--requires={}", requires.join(","))],
            );
        }
        // The collection gives every server in one `--dns a,b`.
        let dns = list(&self.dns);
        if !dns.is_empty() {
            spec.field("dns", json!(dns), [format!("--dns={}", dns.join(","))]);
        }
        many(&mut spec, "expose", "expose", list(&self.expose));
        let pairs = |spec: &mut Spec,
                     field: &str,
                     flag: &str,
                     sep: &str,
                     map: &BTreeMap<String, String>| {
            for (key, value) in map {
                spec.field(
                    &format!("{field} {key}"),
                    json!(value),
                    [format!("--{flag}={key}{sep}{value}")],
                );
            }
        };
        pairs(&mut spec, "etc_hosts", "add-host", ":", &self.etc_hosts);
        pairs(&mut spec, "sysctl", "sysctl", "=", &self.sysctl);
        pairs(&mut spec, "tmpfs", "tmpfs", ":", &self.tmpfs);
        for (key, value) in &self.env {
            spec.field(
                &format!("env {key}"),
                json!(value),
                [format!("--env={key}={value}")],
            );
        }
        for (key, value) in &self.label {
            spec.field(
                &format!("label {key}"),
                json!(value),
                [format!("--label={key}={value}")],
            );
        }
        Ok(spec)
    }
}

impl TaskType for PodmanContainer {
    const COLLECTION: Option<&'static str> = Some("containers.podman");

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        if let Err(message) = check_name(&self.name) {
            return Ok(Outcome::failed(message));
        }
        if matches!(self.state, State::Present | State::Created)
            && !self.force_restart
            && self.image.is_none()
        {
            // The collection's check and words.
            let state = if self.state == State::Present {
                "present"
            } else {
                "created"
            };
            return Ok(Outcome::failed(format!(
                "State '{state}' required image to be configured!"
            )));
        }
        let want = match self.state {
            State::Started => Want::Started,
            State::Present | State::Created => Want::Created,
            State::Stopped => Want::Stopped,
            State::Absent => Want::Absent,
        };
        let spec = match want {
            // Without an image the container must be there: taken as it is.
            Want::Absent => None,
            _ if self.image.is_none() => None,
            _ => match self.spec() {
                Ok(spec) => Some(spec),
                Err(message) => return Ok(Outcome::failed(message)),
            },
        };
        let desired = Desired {
            name: self.name.clone(),
            want,
            spec,
            restart: self.force_restart,
            recreate: self.recreate,
            stop_timeout: self.stop_timeout,
            delete_depend: self.delete_depend,
            detach: self.detach,
            inspect: true,
            systemd: self
                .generate_systemd
                .as_ref()
                .and_then(|g| g.systemd(&self.name)),
        };
        let done = desired.apply(ctx).await?;
        let mut outcome = done.outcome.clone();
        if done.get("failed") == "no-image" {
            // The collection's words.
            let verb = if want == Want::Started {
                "start"
            } else {
                "create"
            };
            outcome.msg = Some(format!(
                "Cannot {verb} container when image is not specified!"
            ));
        }
        // The collection's own words for what it did.
        let name = &self.name;
        let actions: Vec<String> = match done.action.as_str() {
            "run" => vec![format!("started {name}")],
            "create" => vec![format!("created {name}")],
            "recreate-run" | "recreate-create" => vec![format!("recreated {name}")],
            "recreate-start" => vec![format!("recreated {name}"), format!("started {name}")],
            "start" | "unpause" => vec![format!("started {name}")],
            "restart" => vec![format!("restarted {name}")],
            "stop" => vec![format!("stopped {name}")],
            "remove" => vec![format!("deleted {name}")],
            _ => Vec::new(),
        };
        // As the collection registers it: the last podman command's output as it was.
        let stdout = done.stdout.clone();
        let container = if want == Want::Absent {
            json!({})
        } else {
            done.inspect.clone()
        };
        if outcome.failed {
            outcome.data.insert("stdout".into(), stdout.into());
            return Ok(outcome);
        }
        outcome.data.insert("container".into(), container);
        outcome
            .data
            .insert("podman_actions".into(), json!(done.commands));
        outcome.data.insert("actions".into(), json!(actions));
        // quayside's own key, only when a stale container was recovered.
        let recovered = done.recovered();
        if !recovered.is_null() {
            outcome.data.insert("recovered".into(), recovered);
        }
        if want == Want::Absent {
            // The collection registers no output and no unit for a removal.
            return Ok(outcome);
        }
        outcome.data.insert(
            "stdout_lines".into(),
            json!(stdout.lines().collect::<Vec<_>>()),
        );
        outcome.data.insert("stdout".into(), stdout.into());
        outcome.data.insert("stderr".into(), "".into());
        outcome.data.insert("stderr_lines".into(), json!([]));
        outcome.data.insert(
            "podman_systemd".into(),
            Json::Object(
                done.units
                    .iter()
                    .map(|(name, unit)| (name.clone(), Json::String(unit.clone())))
                    .collect(),
            ),
        );
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{from_node, load_str};

    fn task(text: &str) -> PodmanContainer {
        from_node(&load_str("t.yml", text).unwrap()).unwrap()
    }

    #[test]
    fn aliases_make_the_same_spec() {
        let a = task("name: q\nimage: i\nports: ['1:1']\nvolumes: ['/a:/b']\nlabels: {x: y}\n");
        let b = task("name: q\nimage: i\npublish: ['1:1']\nvolume: ['/a:/b']\nlabel: {x: y}\n");
        assert_eq!(a.spec().unwrap().digest(), b.spec().unwrap().digest());
    }

    #[test]
    fn every_option_carries_its_value() {
        let spec = task(
            "name: q\nimage: i\nuser: '-x'\nnetwork: host\ncap_add: [NET_ADMIN]\n\
             secrets: ['s,type=env,target=S']\nhealthcheck: 'true'\n",
        )
        .spec()
        .unwrap();
        for option in [
            "--user=-x",
            "--network=host",
            "--cap-add=NET_ADMIN",
            "--secret=s,type=env,target=S",
            "--health-cmd=true",
        ] {
            assert!(
                spec.options.contains(&option.to_owned()),
                "{option}: {:?}",
                spec.options
            );
        }
    }

    #[test]
    fn the_unit_is_named_as_podman_names_it() {
        let t = task("name: q\nimage: i\ngenerate_systemd: {path: /u, new: true}\n");
        let systemd = t.generate_systemd.as_ref().unwrap().systemd("q").unwrap();
        assert_eq!(systemd.file, "container-q.service");
        assert!(systemd.options.contains(&"--new".to_owned()));
        assert!(t.rm());
    }
}
