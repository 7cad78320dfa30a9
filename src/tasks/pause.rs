//! `pause` (Ansible's `ansible.builtin.pause`): wait `seconds` or `minutes` on the
//! controller, registering what Ansible registers (`start`, `stop`, `delta`, `stdout`,
//! `user_input`...). A `prompt` without a time, when stdin is not a terminal, goes on at
//! once with Ansible's warning (registered under `warnings`), as ansible-core does; on a
//! terminal it fails, since answering a prompt is not built (it would mix with the
//! progress display), rather than go on without the answer the playbook asks for.

use std::io::IsTerminal;
use std::time::Instant;

use serde::Deserialize;

use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pause {
    #[serde(default)]
    seconds: Option<u64>,
    #[serde(default)]
    minutes: Option<u64>,
    #[serde(default)]
    prompt: Option<String>,
    #[serde(default = "super::args::yes")]
    echo: bool,
}

/// A number as Python prints a float (`1.0`, `0.02`).
fn python_float(value: f64) -> String {
    let value = (value * 100.0).round() / 100.0;
    if value.fract() == 0.0 {
        format!("{value:.1}")
    } else {
        format!("{value}")
    }
}

fn timestamp() -> String {
    chrono::Local::now()
        .format("%Y-%m-%d %H:%M:%S%.6f")
        .to_string()
}

impl TaskType for Pause {
    // As ansible-core's action plugin: "This action (NAME) does not support async."
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Fails;

    const ON_CONTROLLER: bool = true;

    async fn run(&self, _ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        if self.seconds.is_some() && self.minutes.is_some() {
            return Ok(Outcome::failed(
                "parameters are mutually exclusive: minutes|seconds",
            ));
        }
        let wait = self.seconds.or(self.minutes.map(|m| m.saturating_mul(60)));
        let mut warnings = Vec::new();
        // Without a time it waits for an answer to `prompt` (Ansible's default prompt when
        // none is given).
        if wait.is_none() {
            let _asked = self.prompt.as_deref().unwrap_or("Press enter to continue");
            if std::io::stdin().is_terminal() {
                return Ok(Outcome::failed(
                    "`pause` with a `prompt` and no `seconds` or `minutes` waits for an answer \
                     on the terminal, which is not built: give `seconds` or `minutes`",
                ));
            }
            warnings.push("Not waiting for response to prompt as stdin is not interactive");
        }
        let start = timestamp();
        let started = Instant::now();
        if let Some(seconds) = wait {
            tokio::time::sleep(std::time::Duration::from_secs(seconds)).await;
        }
        let duration = started.elapsed().as_secs_f64();
        let stop = timestamp();
        let stdout = if self.seconds.is_some() {
            format!("Paused for {} seconds", python_float(duration))
        } else {
            format!("Paused for {} minutes", python_float(duration / 60.0))
        };
        let mut outcome = Outcome::ok()
            .with("start", start)
            .with("stop", stop)
            .with("delta", duration as u64)
            .with("stdout", stdout)
            .with("stderr", "")
            .with("rc", 0)
            .with("user_input", "")
            .with("echo", self.echo);
        if !warnings.is_empty() {
            outcome = outcome.with("warnings", warnings);
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_python_prints_them() {
        assert_eq!(python_float(1.0015), "1.0");
        assert_eq!(python_float(1.0 / 60.0), "0.02");
        assert_eq!(python_float(0.0), "0.0");
    }
}
