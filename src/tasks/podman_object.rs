//! What `podman_volume`, `podman_network` and `podman_pod` share: a podman object made
//! with a label holding the digest of its spec, compared with the wanted spec and made
//! again when it differs, in one round trip; registered as the collection registers it
//! (the object's `podman KIND inspect` under its kind's name, `actions`, `podman_actions`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use super::podman::{PREAMBLE, check_name, failure, report};
use super::{Outcome, TaskContext};
use crate::transport::TransportError;
use crate::transport::quote::{quote, quote_argv};

/// The label holding the digest of the object's spec.
const SPEC_LABEL: &str = "quayside.spec";

/// The running state a pod is wanted in, beside existing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Running {
    /// As it is.
    Any,
    Started,
    Stopped,
}

/// A podman object wanted present (with `options`) or absent (`options: None`).
pub(super) struct Object {
    /// `volume`, `network` or `pod`.
    pub kind: &'static str,
    pub name: String,
    /// The `podman KIND create` options (each one word with its value), `None` for absent.
    pub options: Option<Vec<String>>,
    pub recreate: bool,
    pub running: Running,
    /// `rm` with `--force` (a network: only with the collection's `force`).
    pub force: bool,
}

impl Object {
    fn digest(options: &[String]) -> String {
        hex::encode(Sha256::digest(json!(options).to_string()))
    }

    fn create_argv(&self) -> Vec<String> {
        let options = self.options.clone().unwrap_or_default();
        let mut argv = vec![
            "podman".to_owned(),
            self.kind.to_owned(),
            "create".to_owned(),
            format!("--label={SPEC_LABEL}={}", Self::digest(&options)),
        ];
        argv.extend(options);
        argv.push(self.name.clone());
        argv
    }

    fn rm_argv(&self) -> Vec<String> {
        let mut argv = vec!["podman".to_owned(), self.kind.to_owned(), "rm".to_owned()];
        if self.force {
            argv.push("--force".to_owned());
        }
        argv.push(self.name.clone());
        argv
    }

    fn simple(&self, verb: &str) -> Vec<String> {
        vec![
            "podman".to_owned(),
            self.kind.to_owned(),
            verb.to_owned(),
            self.name.clone(),
        ]
    }

    /// The commands of each step the script may take, by the step's name.
    fn steps(&self) -> Vec<(&'static str, Vec<String>)> {
        vec![
            ("remove", self.rm_argv()),
            ("create", self.create_argv()),
            ("start", self.simple("start")),
            ("stop", self.simple("stop")),
        ]
    }

    /// The deciding part of the script: each step to take is printed as `do.STEP=yes` and
    /// kept in `do_STEP`.
    fn decisions(&self) -> String {
        let kind = self.kind;
        let mut script = String::from(PREAMBLE);
        let _ = write!(
            script,
            "name={}\n\
             do_remove=no; do_create=no; do_start=no; do_stop=no\n\
             decide() {{ echo \"do.$1=yes\"; eval \"do_$1=yes\"; }}\n\
             if podman {kind} exists \"$name\"; then exists=yes\n\
             spec=$(podman {kind} inspect --format '{{{{index .Labels \"{SPEC_LABEL}\"}}}}' \"$name\") || {{ echo failed=podman-{kind}-inspect; exit 1; }}\n\
             else exists=no; spec=; fi\n\
             echo before.exists=$exists\n\
             state=\n",
            quote(&self.name),
        );
        if kind == "pod" {
            script.push_str(
                "if [ $exists = yes ]; then state=$(podman pod inspect --format '{{.State}}' \"$name\") || { echo failed=podman-pod-inspect; exit 1; }; fi\n\
                 echo before.state=$state\n",
            );
        }
        match &self.options {
            None => script.push_str("if [ $exists = yes ]; then decide remove; fi\n"),
            Some(options) => {
                let _ = writeln!(
                    script,
                    "want={}\nrecreate={}",
                    quote(&Self::digest(options)),
                    if self.recreate { "yes" } else { "no" }
                );
                script.push_str(
                    "made=no\n\
                     if [ $exists = no ]; then decide create; made=yes\n\
                     elif [ \"$spec\" != \"$want\" ] || [ $recreate = yes ]; then decide remove; decide create; made=yes; fi\n",
                );
                match self.running {
                    Running::Any => {}
                    Running::Started => script.push_str(
                        "if [ $made = yes ] || [ \"$state\" != Running ]; then decide start; fi\n",
                    ),
                    Running::Stopped => script.push_str(
                        "if [ $made = no ] && { [ \"$state\" = Running ] || [ \"$state\" = Degraded ]; }; then decide stop; fi\n",
                    ),
                }
            }
        }
        script
    }

    fn script(&self, check: bool) -> String {
        let kind = self.kind;
        let mut script = self.decisions();
        if !check {
            script.push_str(
                "last_out=\nstep() { out=$(\"$@\") || { echo \"failed=$step\"; exit 1; }; last_out=$out; }\n",
            );
            for (step, argv) in self.steps() {
                let _ = writeln!(
                    script,
                    "if [ $do_{step} = yes ]; then step=podman-{kind}-{step}; step {}; fi",
                    quote_argv(&argv),
                );
            }
        }
        if !check {
            script.push_str("echo '@@quayside:stdout@@'; printf '%s\\n' \"$last_out\"\n");
        }
        let _ = write!(
            script,
            "echo '@@quayside:inspect@@'\n\
             if podman {kind} exists \"$name\"; then podman {kind} inspect \"$name\"; else echo '{{}}'; fi\n"
        );
        script
    }

    /// Reach the wanted state on the host of `ctx` (in check mode: tell what would be done).
    pub async fn apply(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        if let Err(message) = check_name(&self.name) {
            return Ok(Outcome::failed(message.replace("container name", "name")));
        }
        let output = ctx.run(ctx.script(self.script(ctx.check))).await?;
        let stdout = output.stdout_lossy();
        let (head, inspect) = stdout
            .split_once("@@quayside:inspect@@\n")
            .unwrap_or((&stdout, ""));
        let (head, last_out) = head
            .split_once("@@quayside:stdout@@\n")
            .unwrap_or((head, ""));
        // As the collection registers the output of the last podman command run.
        let last_out = match last_out.trim_end_matches('\n') {
            "" => String::new(),
            text => format!("{text}\n"),
        };
        let report: BTreeMap<String, String> = report(&crate::transport::Output {
            stdout: head.as_bytes().to_vec(),
            ..Default::default()
        });
        if !output.success() || report.contains_key("failed") {
            return Ok(Outcome::failed(failure(ctx.host, &report, &output)));
        }
        let steps: Vec<&str> = ["remove", "create", "start", "stop"]
            .into_iter()
            .filter(|step| {
                report
                    .get(&format!("do.{step}"))
                    .is_some_and(|v| v == "yes")
            })
            .collect();
        let name = &self.name;
        let recreated = steps.contains(&"remove") && steps.contains(&"create");
        let mut actions = Vec::new();
        if recreated {
            actions.push(format!("recreated {name}"));
        } else if steps.contains(&"remove") {
            actions.push(format!("deleted {name}"));
        } else if steps.contains(&"create") {
            actions.push(format!("created {name}"));
        }
        if steps.contains(&"start") {
            actions.push(format!("started {name}"));
        }
        if steps.contains(&"stop") {
            actions.push(format!("stopped {name}"));
        }
        let all = self.steps();
        let commands: Vec<String> = steps
            .iter()
            .filter_map(|step| all.iter().find(|(name, _)| name == step))
            .map(|(_, argv)| shell_words::join(argv))
            .collect();
        let mut outcome = if steps.is_empty() {
            Outcome::ok()
        } else {
            let said = actions.join(", ");
            Outcome::changed().with_msg(if ctx.check {
                format!("would be {said}")
            } else {
                said
            })
        };
        let inspect = serde_json::from_str::<Json>(inspect.trim()).unwrap_or_else(|_| json!({}));
        // `podman volume inspect` and `network inspect` print a list, `pod inspect` one object.
        let inspect = match inspect {
            Json::Array(mut items) if !items.is_empty() => items.swap_remove(0),
            Json::Array(_) => json!({}),
            other => other,
        };
        let inspect = if self.options.is_none() {
            json!({})
        } else {
            inspect
        };
        outcome.data.insert(self.kind.to_owned(), inspect);
        outcome.data.insert("actions".into(), json!(actions));
        outcome
            .data
            .insert("podman_actions".into(), json!(commands));
        if self.options.is_some() {
            outcome.data.insert(
                "stdout_lines".into(),
                json!(last_out.lines().collect::<Vec<_>>()),
            );
            outcome.data.insert("stdout".into(), json!(last_out));
            outcome.data.insert("stderr".into(), json!(""));
            outcome.data.insert("stderr_lines".into(), json!([]));
        }
        Ok(outcome)
    }
}
