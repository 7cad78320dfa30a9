//! The one container engine behind `podman_run` (quayside's own arguments) and
//! `podman_container` (the `containers.podman` collection's): a fix here is a fix in both.
//!
//! A container is made with a label `quayside.spec` holding the SHA-256 of its normalized
//! spec (image, command, ports, volumes, env, ...). The script compares that label with the
//! digest of the wanted spec and decides alone what to do: nothing, create, start, restart,
//! stop, or remove and make again, all in one round trip. A second label,
//! `quayside.fields`, holds a short hash per field, so that the controller can tell from
//! the script's report what differed ("env X changed") without a second trip. Env values
//! themselves never appear in the report.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use super::podman::{PREAMBLE, STALE, STATE_PIDS, failure, inspect_lines, report};
use super::{FileDiff, Outcome, TaskContext, diff_text};
use crate::transport::TransportError;
use crate::transport::quote::{quote, quote_argv};

/// The label holding the digest of the whole spec.
const SPEC_LABEL: &str = "quayside.spec";
/// The label holding a short hash per field of the spec.
const FIELDS_LABEL: &str = "quayside.fields";
/// The start of a line that opens a section of the script's output (after the report).
const SECTION: &str = "@@quayside:";

/// The state a container is wanted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Want {
    /// Running (made if missing, remade if it differs).
    Started,
    /// There, running or not as it is (made if missing, remade if it differs).
    Created,
    /// There and not running.
    Stopped,
    /// Not there.
    Absent,
}

/// The spec of a container, checked and normalized, ready to be written into a script.
pub(super) struct Spec {
    pub image: String,
    pub command: Vec<String>,
    /// Every field that makes up the container, by name (`env KEY` for each variable).
    pub fields: BTreeMap<String, Json>,
    /// The `podman run`/`podman create` options, before the image. Every option is one word
    /// with its value (`--env=K=V`), so that no value, however it starts, can be read as
    /// another option.
    pub options: Vec<String>,
}

impl Spec {
    /// A spec of `image` running `command`; fields and options are added with [`Spec::field`].
    pub fn new(name: &str, image: Option<&str>, command: Vec<String>) -> Result<Spec, String> {
        let image = match image {
            Some(image) if image.is_empty() || image.starts_with('-') => {
                return Err(format!("invalid image `{image}`"));
            }
            Some(image) => image.to_owned(),
            None => {
                return Err("missing argument `image` (needed unless `state: absent`)".to_owned());
            }
        };
        let mut fields = BTreeMap::new();
        fields.insert("image".to_owned(), json!(image));
        fields.insert("command".to_owned(), json!(command));
        Ok(Spec {
            image,
            command,
            fields,
            options: vec![format!("--name={name}")],
        })
    }

    /// A field of the spec, with the options that give it to podman.
    pub fn field(&mut self, name: &str, value: Json, options: impl IntoIterator<Item = String>) {
        self.fields.insert(name.to_owned(), value);
        self.options.extend(options);
    }

    pub fn digest(&self) -> String {
        hex::encode(Sha256::digest(
            Json::Object(self.fields.clone().into_iter().collect()).to_string(),
        ))
    }

    /// A short hash per field, so that a later run can say which fields differ.
    pub fn field_hashes(&self) -> BTreeMap<String, String> {
        self.fields
            .iter()
            .map(|(name, value)| {
                let hash = hex::encode(Sha256::digest(format!("{name}\0{value}")));
                (name.clone(), hash[..12].to_owned())
            })
            .collect()
    }

    /// The options with the two labels that let a later run compare.
    fn labelled_options(&self) -> Vec<String> {
        let hashes = serde_json::to_string(&self.field_hashes()).unwrap_or_default();
        let mut options = self.options.clone();
        options.insert(1, format!("--label={SPEC_LABEL}={}", self.digest()));
        options.insert(2, format!("--label={FIELDS_LABEL}={hashes}"));
        options
    }

    /// `podman VERB [-d] OPTIONS IMAGE COMMAND`.
    fn argv(&self, verb: &str, detach: bool) -> Vec<String> {
        let mut argv = vec!["podman".to_owned(), verb.to_owned()];
        if verb == "run" && detach {
            argv.push("-d".to_owned());
        }
        argv.extend(self.labelled_options());
        argv.push(self.image.clone());
        argv.extend(self.command.iter().cloned());
        argv
    }
}

/// `generate_systemd`: the unit file `podman generate systemd` writes for the container,
/// kept in `dir`.
#[derive(Debug, Clone)]
pub(super) struct Systemd {
    pub dir: String,
    /// The unit's file name (`container-NAME.service`).
    pub file: String,
    /// The options of `podman generate systemd`, each one word.
    pub options: Vec<String>,
}

/// What the engine is asked to reach for one container.
pub(super) struct Desired {
    pub name: String,
    pub want: Want,
    /// `None` with [`Want::Absent`].
    pub spec: Option<Spec>,
    /// Restart even if nothing changed.
    pub restart: bool,
    /// Make the container again even if nothing changed.
    pub recreate: bool,
    pub stop_timeout: Option<u32>,
    /// `podman rm --depend`: a removal takes the containers that depend on it too.
    pub delete_depend: bool,
    /// `podman run -d` (else `podman run` waits for the container to exit).
    pub detach: bool,
    /// Report the container's `podman container inspect` after the task.
    pub inspect: bool,
    pub systemd: Option<Systemd>,
}

/// What the engine did (in check mode: would do).
pub(super) struct Done {
    pub outcome: Outcome,
    /// The script's `key=value` report.
    pub report: BTreeMap<String, String>,
    /// What was decided: `none`, `run`, `create`, `recreate-run`, `start`, ...
    pub action: String,
    /// The podman commands run (in check mode: that would run), as command lines.
    pub commands: Vec<String>,
    /// `podman container inspect` of the container afterwards (in check mode: as it is),
    /// `{}` when there is none, `Null` unless asked for.
    pub inspect: Json,
    /// The standard output of the last podman command run.
    pub stdout: String,
    /// The systemd unit, by its name without `.service`, when `generate_systemd` asked.
    pub units: BTreeMap<String, String>,
}

impl Done {
    pub fn get(&self, key: &str) -> String {
        self.report.get(key).cloned().unwrap_or_default()
    }

    /// A stale container found and recovered: `{"state": "stopping", "by": "removed"}`
    /// (`by`: `cleanup`, `removed`, or in check mode `would`); `Null` when there was none.
    pub fn recovered(&self) -> Json {
        match self.report.get("recovered") {
            Some(by) => json!({"state": self.get("stale"), "by": by}),
            None => Json::Null,
        }
    }
}

impl Desired {
    /// `-t N` for `podman stop`/`restart`/`rm`, when a stop timeout is set.
    fn time_args(&self) -> Vec<String> {
        match self.stop_timeout {
            Some(seconds) => vec!["-t".to_owned(), seconds.to_string()],
            None => Vec::new(),
        }
    }

    /// The podman commands an action runs, each an argv.
    fn commands(&self, action: &str) -> Vec<Vec<String>> {
        let name = self.name.clone();
        let with_time = |verb: &[&str]| {
            let mut argv: Vec<String> = ["podman"]
                .iter()
                .chain(verb)
                .map(|s| (*s).to_owned())
                .collect();
            if self.delete_depend && verb.first() == Some(&"rm") {
                argv.push("--depend".to_owned());
            }
            argv.extend(self.time_args());
            argv.push(name.clone());
            argv
        };
        let simple = |verb: &str| vec!["podman".to_owned(), verb.to_owned(), name.clone()];
        let make = |verb: &str| {
            self.spec
                .as_ref()
                .map(|spec| spec.argv(verb, self.detach))
                .unwrap_or_default()
        };
        let commands: Vec<Vec<String>> = match action {
            "run" => vec![make("run")],
            "create" => vec![make("create")],
            "recreate-run" => vec![with_time(&["rm", "-f"]), make("run")],
            "recreate-create" => vec![with_time(&["rm", "-f"]), make("create")],
            "recreate-start" => vec![with_time(&["rm", "-f"]), make("create"), simple("start")],
            "start" => vec![simple("start")],
            "unpause" => vec![simple("unpause")],
            "restart" => vec![with_time(&["restart"])],
            "stop" => vec![with_time(&["stop"])],
            "remove" => vec![with_time(&["rm", "-f"])],
            _ => Vec::new(),
        };
        commands
            .into_iter()
            // Without a spec (`state: absent`) there is nothing to make.
            .filter(|argv| !argv.is_empty())
            .collect()
    }

    fn script(&self, check: bool) -> String {
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
                STATE_PIDS[0],
                STATE_PIDS[1],
            ],
        ));
        if self.want != Want::Absent {
            script.push_str(&self.recovery_script(check));
        }
        match (self.want, &self.spec) {
            (Want::Absent, _) => {
                script.push_str("if [ $exists = yes ]; then action=remove; else action=none; fi\n");
            }
            // No image: the container there is taken as it is (the collection's way), and
            // only its running state is reached.
            (want, None) => {
                let _ = writeln!(
                    script,
                    "restart={}\n\
                     if [ $exists = no ]; then echo failed=no-image; exit 1; fi\n\
                     up=no; case $state in running|paused) up=yes ;; esac",
                    if self.restart { "yes" } else { "no" },
                );
                script.push_str(match want {
                    Want::Started => {
                        "if [ $restart = yes ] && [ $up = yes ]; then action=restart\n\
                         elif [ \"$state\" = running ]; then action=none\n\
                         elif [ \"$state\" = paused ]; then action=unpause\n\
                         else action=start; fi\n"
                    }
                    Want::Created => {
                        "if [ $restart = yes ] && [ $up = yes ]; then action=restart\n\
                         elif [ $restart = yes ]; then action=start\n\
                         else action=none; fi\n"
                    }
                    _ => "if [ $up = yes ]; then action=stop; else action=none; fi\n",
                });
            }
            (want, Some(spec)) => {
                let _ = writeln!(script, "want_spec={}", quote(&spec.digest()));
                let _ = writeln!(script, "image={}", quote(&spec.image));
                let _ = writeln!(
                    script,
                    "recreate={}\nrestart={}",
                    if self.recreate { "yes" } else { "no" },
                    if self.restart { "yes" } else { "no" },
                );
                // A tag that now names another image (a new build of `latest`) makes a new
                // container too; an image that is not here yet is pulled by podman.
                script.push_str(
                    "same=no\n\
                     if [ $exists = yes ] && [ \"$spec\" = \"$want_spec\" ]; then\n\
                     want_image=$(podman image inspect --format '{{.Id}}' \"$image\" 2>/dev/null) || want_image=\n\
                     if [ -n \"$want_image\" ] && [ \"$want_image\" != \"$image_id\" ]; then echo image_moved=yes; else same=yes; fi\n\
                     fi\n\
                     if [ $recreate = yes ]; then same=no; fi\n\
                     up=no; case $state in running|paused) up=yes ;; esac\n",
                );
                script.push_str(match want {
                    Want::Started => {
                        "if [ $exists = no ]; then action=run\n\
                         elif [ $same = no ]; then action=recreate-run\n\
                         elif [ $restart = yes ] && [ $up = yes ]; then action=restart\n\
                         elif [ \"$state\" = running ]; then action=none\n\
                         elif [ \"$state\" = paused ]; then action=unpause\n\
                         else action=start; fi\n"
                    }
                    Want::Created => {
                        "if [ $exists = no ]; then action=create\n\
                         elif [ $same = no ] && [ $up = yes ]; then action=recreate-start\n\
                         elif [ $same = no ]; then action=recreate-create\n\
                         elif [ $restart = yes ] && [ $up = yes ]; then action=restart\n\
                         elif [ $restart = yes ]; then action=start\n\
                         else action=none; fi\n"
                    }
                    _ => {
                        "if [ $exists = no ]; then action=create\n\
                         elif [ $same = no ]; then action=recreate-create\n\
                         elif [ $up = yes ]; then action=stop\n\
                         else action=none; fi\n"
                    }
                });
            }
        }
        script.push_str("echo action=$action\nlast_out=\n");
        if !check {
            script.push_str(
                // `printf x`: the command's output kept whole, its last newlines too.
                "step() { out=$(\"$@\" && printf x) || { echo \"failed=$step\"; exit 1; }; last_out=${out%x}; }\n\
                 case $action in\n",
            );
            for action in [
                "run",
                "create",
                "recreate-run",
                "recreate-create",
                "recreate-start",
                "start",
                "unpause",
                "restart",
                "stop",
                "remove",
            ] {
                let _ = write!(script, "{action})");
                for argv in self.commands(action) {
                    let step = format!("podman-{}", argv[1]);
                    let _ = write!(script, " step={step}; step {};", quote_argv(&argv));
                }
                script.push_str(" ;;\n");
            }
            script.push_str("esac\n");
            script.push_str(&inspect_lines(
                "after.",
                &[("id", "{{.Id}}"), ("started_at", "{{.State.StartedAt}}")],
            ));
        } else {
            script.push_str("after_exists=$exists\n");
        }
        if let Some(systemd) = &self.systemd {
            script.push_str(&self.systemd_script(systemd, check));
        }
        script.push_str("printf '%s\\n%s\\n' '@@quayside:stdout@@' \"$last_out\"\n");
        if self.inspect {
            script.push_str(
                "echo '@@quayside:inspect@@'\n\
                 if podman container exists \"$name\"; then podman container inspect \"$name\"; else echo '[]'; fi\n",
            );
        }
        script
    }

    /// Lines that find a stale container ([`STALE`]) and recover it before anything else
    /// is decided, as an operator would:
    /// `podman container cleanup`, and when podman still lists it in that state,
    /// `podman rm -f`, after which the decision below makes it again from the spec.
    /// The report says `stale=STATE` and `recovered=cleanup|removed` (in check mode,
    /// `recovered=would`: it is then decided as if the container had been removed).
    fn recovery_script(&self, check: bool) -> String {
        let mut script = String::from(STALE);
        script.push_str(
            "if [ $exists = yes ] && stale; then\n\
             echo stale=$state\n",
        );
        if check {
            // Cleanup leaves podman 4's stale containers as they are: what would be done
            // is told as the removal that then follows.
            script.push_str("echo recovered=would\n");
            if self.spec.is_some() {
                script.push_str("exists=no; state=\n");
            }
        } else {
            script.push_str(
                "podman container cleanup \"$name\" >/dev/null 2>&1\n\
                 state=$(podman container inspect --format '{{.State.Status}}' \"$name\" 2>/dev/null) || state=\n\
                 if [ -n \"$state\" ] && ! stale; then echo recovered=cleanup\n",
            );
            if self.spec.is_some() {
                script.push_str(
                    // Right after conmon died, podman 4.3.1's first `rm -f` fails ("could
                    // not be stopped ... container state improper") and leaves the
                    // container `stopping`; the second removes it.
                    "else podman rm -f -t 0 \"$name\" >/dev/null 2>&1 || podman rm -f -t 0 --ignore \"$name\" >/dev/null || { echo failed=podman-rm; exit 1; }\n\
                     echo recovered=removed; exists=no; state=\n",
                );
            } else {
                // Without an image the container cannot be made again: it is left for
                // the operator, with the command that recovers it in the message.
                script.push_str("else echo failed=stale; exit 1\n");
            }
            script.push_str("fi\n");
        }
        script.push_str("fi\n");
        script
    }

    /// Lines that write (in check mode: compare) the unit file; the unit is printed at the
    /// end as the section `unit`.
    fn systemd_script(&self, systemd: &Systemd, check: bool) -> String {
        let mut argv = vec![
            "podman".to_owned(),
            "generate".to_owned(),
            "systemd".to_owned(),
        ];
        argv.extend(systemd.options.iter().cloned());
        // `~/` is the home of whom the script runs as, as the collection expands it.
        let dir = match systemd.dir.strip_prefix("~/") {
            Some(rest) => format!("\"$HOME\"/{}", quote(rest)),
            None if systemd.dir == "~" => "\"$HOME\"".to_owned(),
            None => quote(&systemd.dir),
        };
        let mut script = format!(
            "unit_dir={dir}\nunit_path=\"$unit_dir\"/{}\nunit=\nold_unit=\n\
             if [ -f \"$unit_path\" ]; then old_unit=$(cat \"$unit_path\") || old_unit=; fi\n",
            quote(&systemd.file)
        );
        // As the collection compares: comment lines (the header, with its date) aside.
        let _ = write!(
            script,
            "if podman container exists \"$name\"; then\n\
             unit=$({} \"$name\") || {{ echo failed=podman-generate-systemd; exit 1; }}\n\
             if [ -f \"$unit_path\" ] && [ \"$(grep -v '^#' \"$unit_path\")\" = \"$(printf '%s\\n' \"$unit\" | grep -v '^#')\" ]; then\n\
             echo unit_changed=no\n\
             else\n\
             echo unit_changed=yes\n",
            quote_argv(&argv)
        );
        if check {
            script.push_str("fi\n");
        } else {
            script.push_str(
                "mkdir -p \"$unit_dir\" || { echo failed=mkdir-unit-dir; exit 1; }\n\
                 printf '%s\\n' \"$unit\" >\"$unit_path\" || { echo failed=write-unit; exit 1; }\n\
                 fi\n",
            );
        }
        script.push_str("elif [ -f \"$unit_path\" ]; then\n");
        // The container is gone (`state: absent`): its unit goes too, as the collection's.
        if check {
            script.push_str("echo unit_changed=removed\n");
        } else {
            script.push_str(
                "rm -f \"$unit_path\" || { echo failed=rm-unit; exit 1; }\necho unit_changed=removed\n",
            );
        }
        script.push_str(
            "fi\n\
             if [ -n \"$unit\" ]; then echo '@@quayside:unit@@'; printf '%s\\n' \"$unit\"; fi\n\
             if [ -n \"$old_unit\" ]; then echo '@@quayside:old_unit@@'; printf '%s\\n' \"$old_unit\"; fi\n",
        );
        script
    }

    /// Reach the wanted state on the host of `ctx` (in check mode: tell what would be done).
    pub async fn apply(&self, ctx: &TaskContext<'_>) -> Result<Done, TransportError> {
        let output = ctx.run(ctx.script(self.script(ctx.check))).await?;
        let stdout = output.stdout_lossy();
        let mut sections: BTreeMap<&str, String> = BTreeMap::new();
        let mut current = "report";
        for line in stdout.split_inclusive('\n') {
            if let Some(rest) = line.strip_prefix(SECTION)
                && let Some(section) = rest.trim_end().strip_suffix("@@")
            {
                current = match section {
                    "stdout" => "stdout",
                    "inspect" => "inspect",
                    "unit" => "unit",
                    "old_unit" => "old_unit",
                    _ => "other",
                };
                continue;
            }
            sections.entry(current).or_default().push_str(line);
        }
        let report = report(&crate::transport::Output {
            stdout: sections
                .get("report")
                .cloned()
                .unwrap_or_default()
                .into_bytes(),
            ..Default::default()
        });
        let action = report
            .get("action")
            .cloned()
            .unwrap_or_else(|| "none".to_owned());
        let mut done = Done {
            outcome: Outcome::ok(),
            action: action.clone(),
            commands: self
                .commands(&action)
                .iter()
                .map(shell_words::join)
                .collect(),
            inspect: Json::Null,
            stdout: sections
                .get("stdout")
                .map(|text| text.strip_suffix('\n').unwrap_or(text).to_owned())
                .unwrap_or_default(),
            units: BTreeMap::new(),
            report,
        };
        let stale = done.get("stale");
        let recovered = done.get("recovered");
        if !stale.is_empty() {
            let mut commands = vec![format!("podman container cleanup {}", self.name)];
            if recovered != "cleanup" {
                commands.push(format!("podman rm -f -t 0 {}", self.name));
            }
            commands.append(&mut done.commands);
            done.commands = commands;
        }
        if done.get("failed") == "stale" {
            done.outcome = Outcome::failed(format!(
                "container `{}` is listed as `{stale}` with its conmon and processes gone, \
                 and `podman container cleanup` left it so; without an image it cannot be \
                 made again: remove it (`podman rm -f {}`) or give its `image`",
                self.name, self.name
            ));
            return Ok(done);
        }
        if !output.success() || done.report.contains_key("failed") {
            done.outcome = Outcome::failed(failure(ctx.host, &done.report, &output));
            return Ok(done);
        }
        if self.inspect {
            done.inspect = sections
                .get("inspect")
                .and_then(|text| serde_json::from_str::<Json>(text).ok())
                .and_then(|list| list.get(0).cloned())
                .unwrap_or_else(|| json!({}));
        }
        let unit_changed = done.get("unit_changed");
        if let (Some(systemd), Some(unit)) = (&self.systemd, sections.get("unit")) {
            let key = systemd
                .file
                .strip_suffix(".service")
                .unwrap_or(&systemd.file);
            done.units.insert(key.to_owned(), unit.clone());
        }

        let what = match action.as_str() {
            "none" => None,
            "run" => Some("created and started".to_owned()),
            "create" => Some("created".to_owned()),
            "start" => Some("started".to_owned()),
            "unpause" => Some("unpaused".to_owned()),
            "restart" => Some("restarted".to_owned()),
            "stop" => Some("stopped".to_owned()),
            "remove" => Some("removed".to_owned()),
            "recreate-run" | "recreate-create" | "recreate-start" => Some(format!(
                "recreated: {}",
                match &self.spec {
                    Some(_) if self.recreate => "`recreate: true`".to_owned(),
                    Some(spec) => differences(spec, &done.report),
                    None => String::new(),
                }
            )),
            other => Some(other.to_owned()),
        };
        // A stale container recovered is a change, and said first.
        let recovery = match recovered.as_str() {
            "" => None,
            "cleanup" => Some(format!(
                "recovered from a stale `{stale}` container (conmon and its processes gone) by `podman container cleanup`"
            )),
            "removed" => Some(format!(
                "recovered from a stale `{stale}` container (conmon and its processes gone) by removing it"
            )),
            _ => Some(format!(
                "would recover from a stale `{stale}` container (conmon and its processes gone): `podman container cleanup`, else remove it"
            )),
        };
        let what = match (recovery, what) {
            (Some(recovery), Some(what)) if ctx.check => {
                Some(format!("{recovery}; would be {what}"))
            }
            (Some(recovery), Some(what)) => Some(format!("{recovery}; {what}")),
            (Some(recovery), None) => Some(recovery),
            (None, Some(what)) if ctx.check => Some(format!("would be {what}")),
            (None, what) => what,
        };
        let mut outcome = match what {
            None => Outcome::ok(),
            Some(what) => Outcome::changed().with_msg(what),
        };
        if let Some(systemd) = &self.systemd
            && matches!(unit_changed.as_str(), "yes" | "removed")
        {
            outcome.changed = true;
            let path = format!("{}/{}", systemd.dir.trim_end_matches('/'), systemd.file);
            outcome.files.push(path.clone());
            if ctx.diff {
                let after = if unit_changed == "removed" {
                    String::new()
                } else {
                    done.units.values().next().cloned().unwrap_or_default()
                };
                // A unit made with `new: true` holds the whole `podman run` line, env
                // values too: masked as every diff is.
                let before = sections.get("old_unit").cloned().unwrap_or_default();
                outcome.diffs.push(FileDiff {
                    headers: None,
                    path,
                    before: diff_text(before.as_bytes(), false),
                    after: diff_text(after.as_bytes(), false),
                });
            }
            if outcome.msg.is_none() {
                outcome.msg = Some(
                    if ctx.check {
                        "the systemd unit would change"
                    } else {
                        "the systemd unit changed"
                    }
                    .to_owned(),
                );
            }
        }
        // A stale container only looked as if it ran.
        let was_running = done.get("before.exists") == "yes"
            && stale.is_empty()
            && matches!(done.get("before.state").as_str(), "running" | "paused");
        let running = match self.want {
            Want::Started => true,
            Want::Created => {
                was_running && action != "recreate-create"
                    || action == "start"
                    || action == "restart"
            }
            _ => false,
        };
        outcome.containers = vec![super::ContainerChange {
            name: self.name.clone(),
            was_running,
            running,
            restarted: was_running
                && matches!(
                    action.as_str(),
                    "restart" | "recreate-run" | "recreate-start"
                ),
        }];
        done.outcome = outcome;
        Ok(done)
    }
}

/// What differs between the existing container and the spec, from the field hashes the
/// container was labelled with: `env A changed, ports changed`.
pub(super) fn differences(spec: &Spec, report: &BTreeMap<String, String>) -> String {
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

    fn desired(dir: &str) -> Desired {
        Desired {
            name: "q".to_owned(),
            want: Want::Absent,
            spec: None,
            restart: false,
            recreate: false,
            stop_timeout: None,
            delete_depend: false,
            detach: true,
            inspect: false,
            systemd: Some(Systemd {
                dir: dir.to_owned(),
                file: "container-q.service".to_owned(),
                options: vec!["--name".to_owned()],
            }),
        }
    }

    #[test]
    fn a_unit_folder_under_home_is_expanded_on_the_host() {
        let script = desired("~/units x").script(false);
        assert!(
            script.contains("unit_dir=\"$HOME\"/'units x'\n"),
            "{script}"
        );
        let script = desired("/etc/systemd/system").script(false);
        assert!(
            script.contains("unit_dir=/etc/systemd/system\n"),
            "{script}"
        );
    }

    #[test]
    fn a_removal_runs_no_command_it_has_no_spec_for() {
        assert_eq!(
            desired("/u").commands("remove"),
            [["podman", "rm", "-f", "q"]]
        );
        assert!(desired("/u").commands("run").is_empty());
    }
}
