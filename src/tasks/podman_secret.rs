//! `containers.podman.podman_secret`: a podman secret, present with its `data` or absent.
//!
//! The data is a secret: it reaches the host only on the script's standard input (never
//! on a command line `ps` shows, never in the script's text), and is masked in every
//! output of the run from the moment the task reads it. To tell whether the secret already
//! holds the data without reading it back (podman before 4.7 cannot), the secret carries
//! a label `quayside.secret=SETTINGS:SALT:HASH`: the digest of its driver, options and
//! labels, and a salted SHA-256 of its data that the host computes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::podman::{PREAMBLE, check_name, failure, report};
use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;
use crate::transport::quote::{quote, quote_argv};

/// The label holding the settings' digest and the salted hash of the data.
const LABEL: &str = "quayside.secret";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodmanSecret {
    name: String,
    #[serde(default)]
    state: State,
    /// Required with `state: present`.
    #[serde(default)]
    data: Option<String>,
    /// Make the secret again even when it holds the data.
    #[serde(default)]
    force: bool,
    /// Leave a secret of this name as it is, whatever it holds.
    #[serde(default)]
    skip_existing: bool,
    #[serde(default)]
    driver: Option<String>,
    #[serde(default)]
    driver_opts: BTreeMap<String, String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum State {
    #[default]
    Present,
    Absent,
}

impl PodmanSecret {
    /// The `podman secret create` options but the label of the data's hash.
    fn options(&self) -> Result<Vec<String>, String> {
        let mut options = Vec::new();
        if let Some(driver) = &self.driver {
            options.push(format!("--driver={driver}"));
        }
        if !self.driver_opts.is_empty() {
            let opts = self
                .driver_opts
                .iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect::<Vec<_>>();
            options.push(format!("--driver-opts={}", opts.join(",")));
        }
        for (key, value) in &self.labels {
            if key.is_empty() || key.contains('=') || key == LABEL {
                return Err(format!("invalid label name `{key}`"));
            }
            options.push(format!("--label={key}={value}"));
        }
        Ok(options)
    }

    fn script(&self, options: &[String], check: bool) -> String {
        let mut script = String::from(PREAMBLE);
        let settings = hex::encode(Sha256::digest(json!(options).to_string()));
        let _ = write!(
            script,
            "name={name}\n\
             umask 077\n\
             tmp=$(mktemp -d) || {{ echo failed=mktemp; exit 1; }}\n\
             trap 'rm -rf \"$tmp\"' EXIT\n\
             cat >\"$tmp/data\" || {{ echo failed=read-data; exit 1; }}\n\
             if podman secret inspect --format '{{{{index .Spec.Labels \"{LABEL}\"}}}}' \"$name\" >\"$tmp/label\" 2>/dev/null; then exists=yes; else exists=no; fi\n\
             echo before.exists=$exists\n",
            name = quote(&self.name),
        );
        if self.state == State::Absent {
            script.push_str("if [ $exists = yes ]; then action=remove; else action=none; fi\n");
        } else {
            let _ = write!(
                script,
                "settings={settings}\nforce={force}\nskip={skip}\n\
                 hash_of() {{ {{ printf '%s' \"$1\"; cat \"$tmp/data\"; }} | sha256sum | cut -d' ' -f1; }}\n\
                 same=no\n\
                 if [ $exists = yes ]; then\n\
                 IFS=: read -r had_settings had_salt had_hash <\"$tmp/label\" || had_settings=\n\
                 if [ \"$had_settings\" = \"$settings\" ] && [ -n \"$had_salt\" ] && [ \"$(hash_of \"$had_salt\")\" = \"$had_hash\" ]; then same=yes; fi\n\
                 fi\n\
                 if [ $exists = no ]; then action=create\n\
                 elif [ $skip = yes ]; then action=none\n\
                 elif [ $force = yes ] || [ $same = no ]; then action=recreate\n\
                 else action=none; fi\n",
                force = if self.force { "yes" } else { "no" },
                skip = if self.skip_existing { "yes" } else { "no" },
            );
            // A new salt for the label of a secret made now.
            script.push_str(
                "salt=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \\n') || { echo failed=salt; exit 1; }\n",
            );
        }
        script.push_str("echo action=$action\n");
        if check {
            return script;
        }
        let mut create = vec![
            "podman".to_owned(),
            "secret".to_owned(),
            "create".to_owned(),
        ];
        create.extend(options.iter().cloned());
        let _ = write!(
            script,
            "step() {{ \"$@\" >/dev/null || {{ echo \"failed=$step\"; exit 1; }}; }}\n\
             create() {{ step=podman-secret-create; step {create} \"--label={LABEL}=$settings:$salt:$(hash_of \"$salt\")\" \"$name\" \"$tmp/data\"; }}\n\
             case $action in\n\
             create) create ;;\n\
             recreate) step=podman-secret-rm; step podman secret rm \"$name\"; create ;;\n\
             remove) step=podman-secret-rm; step podman secret rm \"$name\" ;;\n\
             esac\n",
            create = quote_argv(&create),
        );
        script
    }
}

impl TaskType for PodmanSecret {
    const COLLECTION: Option<&'static str> = Some("containers.podman");

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        if let Err(message) = check_name(&self.name) {
            return Ok(Outcome::failed(
                message.replace("container name", "secret name"),
            ));
        }
        let data = match (self.state, &self.data) {
            (State::Present, None) => {
                return Ok(Outcome::failed(
                    "state is present but all of the following are missing: data",
                ));
            }
            (_, data) => data.clone().unwrap_or_default(),
        };
        // From now on the data is masked wherever the run writes text.
        crate::secrets::register(&data, crate::secrets::Reach::Everywhere);
        let options = match self.options() {
            Ok(options) => options,
            Err(message) => return Ok(Outcome::failed(message)),
        };
        let mut script = ctx.script(self.script(&options, ctx.check));
        script.stdin = data.into_bytes();
        let output = ctx.run(script).await?;
        let report = report(&output);
        if !output.success() || report.contains_key("failed") {
            return Ok(Outcome::failed(failure(ctx.host, &report, &output)));
        }
        let action = report.get("action").map(String::as_str).unwrap_or("none");
        let what = match action {
            "create" => "created",
            "recreate" => "recreated",
            "remove" => "removed",
            _ => return Ok(Outcome::ok()),
        };
        Ok(Outcome::changed().with_msg(if ctx.check {
            format!("would be {what}")
        } else {
            what.to_owned()
        }))
    }
}
