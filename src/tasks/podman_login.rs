//! `containers.podman.podman_login`: log in to a registry. The password reaches the host
//! only on `podman login --password-stdin`'s standard input (never on a command line `ps`
//! shows) and is masked in every output of the run. `changed` as the collection tells it:
//! the credentials file changed.

use std::fmt::Write as _;

use serde::Deserialize;
use serde_json::json;

use super::podman::{PREAMBLE, failure, report};
use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;
use crate::transport::quote::{quote, quote_argv};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodmanLogin {
    registry: String,
    username: String,
    password: String,
    /// The credentials file (podman's default: `REGISTRY_AUTH_FILE`, or `auth.json` in
    /// `$XDG_RUNTIME_DIR/containers` or `/run/containers/UID`).
    #[serde(default)]
    authfile: Option<String>,
    #[serde(default)]
    certdir: Option<String>,
    #[serde(default)]
    tlsverify: Option<bool>,
}

impl PodmanLogin {
    fn argv(&self) -> Result<Vec<String>, String> {
        for (name, value) in [("registry", &self.registry), ("username", &self.username)] {
            if value.is_empty() || value.starts_with('-') {
                return Err(format!("invalid {name} `{value}`"));
            }
        }
        let mut argv = vec![
            "podman".to_owned(),
            "login".to_owned(),
            format!("--username={}", self.username),
            "--password-stdin".to_owned(),
        ];
        if let Some(authfile) = &self.authfile {
            argv.push(format!("--authfile={authfile}"));
        }
        if let Some(certdir) = &self.certdir {
            argv.push(format!("--cert-dir={certdir}"));
        }
        if let Some(verify) = self.tlsverify {
            argv.push(format!("--tls-verify={verify}"));
        }
        argv.push(self.registry.clone());
        Ok(argv)
    }

    fn script(&self, argv: &[String]) -> String {
        let mut script = String::from(PREAMBLE);
        match &self.authfile {
            Some(authfile) => {
                let _ = writeln!(script, "authfile={}", quote(authfile));
            }
            None => script.push_str(
                "if [ -n \"${REGISTRY_AUTH_FILE:-}\" ]; then authfile=$REGISTRY_AUTH_FILE\n\
                 elif [ -n \"${XDG_RUNTIME_DIR:-}\" ]; then authfile=$XDG_RUNTIME_DIR/containers/auth.json\n\
                 else authfile=/run/containers/$(id -u)/auth.json; fi\n",
            ),
        }
        let _ = write!(
            script,
            "sum() {{ if [ -f \"$authfile\" ]; then sha256sum <\"$authfile\"; fi; }}\n\
             before=$(sum)\n\
             out=$({}) || {{ echo failed=podman-login; exit 1; }}\n\
             after=$(sum)\n\
             if [ \"$before\" = \"$after\" ]; then echo changed=no; else echo changed=yes; fi\n\
             echo '@@quayside:stdout@@'; printf '%s\\n' \"$out\"\n",
            quote_argv(argv)
        );
        script
    }
}

impl TaskType for PodmanLogin {
    const COLLECTION: Option<&'static str> = Some("containers.podman");

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        // From now on the password is masked wherever the run writes text.
        crate::secrets::register(&self.password, crate::secrets::Reach::Everywhere);
        if ctx.check {
            // As Ansible treats a module without check mode.
            return Ok(Outcome::skipped(
                "remote module does not support check mode",
            ));
        }
        let argv = match self.argv() {
            Ok(argv) => argv,
            Err(message) => return Ok(Outcome::failed(message)),
        };
        let mut script = ctx.script(self.script(&argv));
        script.stdin = format!("{}\n", self.password).into_bytes();
        let output = ctx.run(script).await?;
        let stdout = output.stdout_lossy();
        let (head, out) = stdout
            .split_once("@@quayside:stdout@@\n")
            .unwrap_or((&stdout, ""));
        let report = report(&crate::transport::Output {
            stdout: head.as_bytes().to_vec(),
            ..Default::default()
        });
        if !output.success() || report.contains_key("failed") {
            let mut outcome = Outcome::failed(failure(ctx.host, &report, &output));
            if let Some(message) = &mut outcome.msg {
                *message = format!("Unable to gather info for {}: {message}", self.registry);
            }
            return Ok(outcome);
        }
        let mut outcome = if report.get("changed").is_some_and(|c| c == "yes") {
            Outcome::changed().with_msg(format!("logged in to {}", self.registry))
        } else {
            Outcome::ok()
        };
        // As the collection registers podman's output: with its last newline.
        let out = match out.trim_end_matches('\n') {
            "" => String::new(),
            text => format!("{text}\n"),
        };
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
