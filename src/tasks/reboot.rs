//! `reboot` (Ansible's `ansible.builtin.reboot`): reboot the host, wait until it is back,
//! and go on with the same host, as ansible-core 2.19's action plugin does, step for step:
//!
//! 1. read the boot time (`boot_time_command`, by default the kernel's boot id);
//! 2. find the reboot command's program in `search_paths` (unless it is a full path) and
//!    run it (by default `shutdown -r MINUTES "MSG"`, `MINUTES` being `pre_reboot_delay`
//!    in whole minutes); a connection that drops under it is the reboot under way;
//! 3. wait `post_reboot_delay`, drop the host's connection (the ssh master and the shell
//!    in it), then until `reboot_timeout`: connect again (within `connect_timeout`) and
//!    read the boot time, until it is not the one read before;
//! 4. run `test_command` until it succeeds, within `reboot_timeout` again.
//!
//! Between tries it backs off as Ansible does (1, 2, 4, 8, 12, 12... seconds, plus up to
//! one). Registers `rebooted` and `elapsed` (whole seconds from the reboot command on). In
//! check mode it reports the change and does nothing; on a local connection it refuses,
//! with Ansible's message, to reboot the controller. Every command runs as the task's
//! `become` user.

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::args::OneOrMany;
use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;
use crate::transport::quote::quote;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reboot {
    /// Seconds to wait for the host to come back, and again for `test_command` to succeed.
    #[serde(default = "default_reboot_timeout")]
    reboot_timeout: u64,
    /// Seconds each connection attempt after the reboot may take (default: the run's).
    #[serde(default)]
    connect_timeout: Option<u64>,
    /// Seconds before the reboot: given to `shutdown` in whole minutes, as Ansible does.
    #[serde(default)]
    pre_reboot_delay: i64,
    /// Seconds to wait after the reboot command before the first check.
    #[serde(default)]
    post_reboot_delay: i64,
    #[serde(default = "default_test_command")]
    test_command: String,
    #[serde(default = "default_msg")]
    msg: String,
    /// Where the reboot command's program is looked for (a list, or `a,b`).
    #[serde(default)]
    search_paths: Option<OneOrMany>,
    #[serde(default = "default_boot_time_command")]
    boot_time_command: String,
    /// The whole command (`systemctl reboot`): its program is looked for in
    /// `search_paths`, the rest passed as written.
    #[serde(default)]
    reboot_command: Option<String>,
}

fn default_reboot_timeout() -> u64 {
    600
}

fn default_test_command() -> String {
    "whoami".to_owned()
}

fn default_msg() -> String {
    "Reboot initiated by Ansible".to_owned()
}

fn default_boot_time_command() -> String {
    "cat /proc/sys/kernel/random/boot_id".to_owned()
}

const DEFAULT_SEARCH_PATHS: &[&str] =
    &["/sbin", "/bin", "/usr/sbin", "/usr/bin", "/usr/local/sbin"];

/// What one try of a step after the reboot found.
enum Try {
    Done,
    /// Try again (why, for the last error's message).
    Again(String),
}

impl Reboot {
    fn search_paths(&self) -> Vec<String> {
        match &self.search_paths {
            None => DEFAULT_SEARCH_PATHS
                .iter()
                .map(|p| (*p).to_owned())
                .collect(),
            // As Ansible's check_type_list: one string is split at commas.
            Some(paths) => match paths.single() {
                Some(one) => one.split(',').map(str::to_owned).collect(),
                None => paths.0.clone(),
            },
        }
    }

    /// The program and the rest of the reboot command line, as Ansible splits them.
    fn command_parts(&self) -> (String, String) {
        match &self.reboot_command {
            Some(command) => match command.split_once(' ') {
                Some((program, rest)) => (program.to_owned(), rest.to_owned()),
                None => (command.clone(), String::new()),
            },
            None => {
                let minutes = self.pre_reboot_delay.max(0) / 60;
                (
                    "shutdown".to_owned(),
                    format!("-r {minutes} {}", quote(&self.msg)),
                )
            }
        }
    }

    /// The boot time now, or why it could not be read.
    async fn boot_time(
        &self,
        ctx: &TaskContext<'_>,
        limit: Option<Duration>,
    ) -> Result<String, Failure> {
        let mut script = ctx.script(self.boot_time_command.clone());
        script.timeout = limit.or(script.timeout);
        let output = ctx.run(script).await.map_err(Failure::Transport)?;
        if output.status != 0 {
            return Err(Failure::Command(format!(
                "reboot: failed to get host boot time info, rc: {}, stdout: {}, stderr: {}",
                output.status,
                output.stdout_lossy(),
                output.stderr_lossy()
            )));
        }
        Ok(output.stdout_lossy().trim().to_owned())
    }

    /// Where the reboot command's program is, as Ansible's `find` in `search_paths`.
    async fn find_program(
        &self,
        ctx: &TaskContext<'_>,
        program: &str,
    ) -> Result<Option<String>, TransportError> {
        if program.starts_with('/') {
            return Ok(Some(program.to_owned()));
        }
        let paths = self.search_paths();
        let mut text = String::new();
        for path in &paths {
            let candidate = format!("{}/{program}", path.trim_end_matches('/'));
            text.push_str(&format!(
                "if [ -e {0} ] || [ -L {0} ]; then printf '%s\\n' {0}; exit 0; fi\n",
                quote(&candidate)
            ));
        }
        text.push_str("exit 1\n");
        let output = ctx.run(ctx.script(text)).await?;
        let found = output.stdout_lossy().trim().to_owned();
        Ok((output.status == 0 && !found.is_empty()).then_some(found))
    }

    /// Python's repr of the search paths, as Ansible's message shows them.
    fn paths_repr(&self) -> String {
        let items: Vec<String> = self
            .search_paths()
            .iter()
            .map(|p| format!("'{}'", p.replace('\\', "\\\\").replace('\'', "\\'")))
            .collect();
        format!("[{}]", items.join(", "))
    }

    /// Try `step` until it is done or `reboot_timeout` has passed, backing off as Ansible.
    async fn until_done<F, Fut>(&self, mut step: F) -> bool
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Try>,
    {
        let deadline = Instant::now() + Duration::from_secs(self.reboot_timeout);
        let mut failures: u32 = 0;
        while Instant::now() < deadline {
            match step().await {
                Try::Done => return true,
                Try::Again(_why) => {
                    let jitter = f64::from(
                        std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map(|d| d.subsec_millis())
                            .unwrap_or(0),
                    ) / 1000.0;
                    let base = 2f64.powi(failures.min(10) as i32);
                    let pause = if base > 12.0 { 12.0 } else { base } + jitter;
                    failures += 1;
                    tokio::time::sleep(Duration::from_secs_f64(pause)).await;
                }
            }
        }
        false
    }
}

/// Why reading the boot time failed.
enum Failure {
    Transport(TransportError),
    Command(String),
}

fn result(outcome: Outcome, rebooted: bool, elapsed: u64) -> Outcome {
    outcome.with("rebooted", rebooted).with("elapsed", elapsed)
}

impl TaskType for Reboot {
    // As ansible-core's action plugin: "This action (NAME) does not support async."
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Fails;

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        if ctx.connection.is_local() {
            return Ok(result(
                Outcome::failed(
                    "Running reboot with local connection would reboot the control node.",
                ),
                false,
                0,
            ));
        }
        if ctx.check {
            return Ok(result(Outcome::changed(), true, 0));
        }
        let connect_timeout = self
            .connect_timeout
            .filter(|t| *t > 0)
            .map(Duration::from_secs);
        // A check may wait on a host going down: bounded, so that the next try reconnects.
        let limit = connect_timeout.unwrap_or(Duration::from_secs(10));

        let before = match self.boot_time(ctx, None).await {
            Ok(before) => before,
            Err(Failure::Transport(error)) => return Err(error),
            Err(Failure::Command(message)) => {
                return Ok(Outcome::failed(message).with("reboot", false));
            }
        };

        let (program, rest) = self.command_parts();
        let Some(program) = self.find_program(ctx, &program).await? else {
            // Ansible raises this one, so it registers as a task failure.
            return Ok(Outcome::failed(format!(
                "Task failed: Unable to find command \"{program}\" in search paths: {}",
                self.paths_repr()
            )));
        };
        let command = format!("{program} {rest}");
        let outcome = ctx.run(ctx.script(command)).await;
        let start = Instant::now();
        let started = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false);
        let elapsed = || start.elapsed().as_secs();
        match outcome {
            Ok(output) if output.status != 0 => {
                return Ok(result(
                    Outcome::failed(format!(
                        "Reboot command failed. Error was: '{}, {}'",
                        output.stdout_lossy().trim(),
                        output.stderr_lossy().trim()
                    ))
                    .with("start", started),
                    false,
                    elapsed(),
                ));
            }
            // The connection dropping under the reboot command is the reboot under way.
            Ok(_) | Err(_) => {}
        }
        if self.post_reboot_delay > 0 {
            tokio::time::sleep(Duration::from_secs(self.post_reboot_delay as u64)).await;
        }
        ctx.connection.disconnect().await;

        let connected = std::cell::Cell::new(false);
        let back = self
            .until_done(|| async {
                if !connected.get() {
                    if let Err(error) = ctx.connection.reconnect(connect_timeout).await {
                        return Try::Again(error.to_string());
                    }
                    connected.set(true);
                }
                match self.boot_time(ctx, Some(limit)).await {
                    Ok(now) if !now.is_empty() && now != before => Try::Done,
                    Ok(_) => Try::Again("boot time has not changed".to_owned()),
                    Err(Failure::Command(message)) => Try::Again(message),
                    Err(Failure::Transport(error)) => {
                        connected.set(false);
                        Try::Again(error.to_string())
                    }
                }
            })
            .await;
        // Given up on waiting: the host may be back by now, and the tasks after this one
        // find it connected if it is (Ansible's connect afresh for each command).
        let timed_out = async |waiting_for: &str| {
            if !connected.get() {
                let _ = ctx.connection.reconnect(connect_timeout).await;
            }
            result(
                Outcome::failed(format!(
                    "Timed out waiting for {waiting_for} (timeout={})",
                    self.reboot_timeout
                )),
                true,
                elapsed(),
            )
        };
        if !back {
            return Ok(timed_out("last boot time check").await);
        }

        let tested = self
            .until_done(|| async {
                if !connected.get() {
                    if let Err(error) = ctx.connection.reconnect(connect_timeout).await {
                        return Try::Again(error.to_string());
                    }
                    connected.set(true);
                }
                let mut script = ctx.script(self.test_command.clone());
                script.timeout = Some(limit);
                match ctx.run(script).await {
                    Ok(output) if output.status == 0 => Try::Done,
                    Ok(output) => Try::Again(format!(
                        "Test command failed: {} {}",
                        output.stderr_lossy(),
                        output.stdout_lossy()
                    )),
                    Err(error) => {
                        connected.set(false);
                        Try::Again(error.to_string())
                    }
                }
            })
            .await;
        if !tested {
            return Ok(timed_out("post-reboot test command").await);
        }
        Ok(result(Outcome::changed(), true, elapsed()))
    }
}
