//! The `async` and `poll` keywords: a task's scripts run in the background on its host,
//! as ansible-core's `async_wrapper` runs a module, without Python there.
//!
//! The seam is the task's [`Connection`]: the runner hands the task type a [`Background`]
//! connection, and each script the type sends is started detached (`setsid`) by a small
//! launcher, its standard output, standard error and exit status written to the job's
//! files under the remote user's `~/.ansible_async/` (`ansible_async_dir` or
//! `ANSIBLE_ASYNC_DIR` to move it). With `poll` above 0 the controller looks at the job
//! every `poll` seconds and hands the type the script's output when it ended, so the type
//! reads it as ever; with `poll: 0` the task ends as soon as the job started, and
//! `async_status` later reads the output through the same type ([`status`]). A watchdog on
//! the host kills the job after `async` seconds, as the wrapper does.
//!
//! Files of job `JID` in the directory: `JID` (one line of JSON: `started`, `finished`,
//! `ansible_job_id`, and `rc` or `failed`/`msg`/`child_pid` once it ended, so that
//! ansible-core's `async_status` can read it too), `JID.out`, `JID.err`, and while it
//! runs `JID.sh` (the script) and `JID.in` (its standard input).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value as Json};

use crate::report::AsyncState;
use crate::source::Span;
use crate::tasks::{Action, Outcome, TaskContext, TaskKind, parse_action};
use crate::transport::{Connection, Output, Script, TransportError, quote};
use crate::yaml::Node;

/// What the controller keeps of a job started with `poll: 0`, for `async_status` to read
/// its output through the task type that started it.
struct Job {
    kind: TaskKind,
    span: Span,
    args: Node,
    check: bool,
    diff: bool,
}

/// Jobs started in this run, by host and job id.
static JOBS: LazyLock<Mutex<HashMap<(String, String), Job>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// A new job id, in ansible-core's form (`j` and twelve digits), with quayside's pid.
fn new_jid() -> String {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!(
        "j{:012}.{}",
        hasher.finish() % 1_000_000_000_000,
        std::process::id()
    )
}

/// The job directory as the host's shell reads it: ansible-core's `async_dir` shell option
/// (the host's `ansible_async_dir`, else `ANSIBLE_ASYNC_DIR`, else `~/.ansible_async`),
/// a leading `~/` the home of the user the script runs as.
pub fn async_dir(vars: &minijinja::Value) -> String {
    let dir = vars
        .get_attr("ansible_async_dir")
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_none())
        .map(|v| v.to_string())
        .or_else(|| std::env::var("ANSIBLE_ASYNC_DIR").ok())
        .filter(|dir| !dir.is_empty())
        .unwrap_or_else(|| "~/.ansible_async".to_owned());
    match dir.strip_prefix("~/") {
        Some(rest) => format!("\"$HOME\"/{}", quote(rest)),
        None if dir == "~" => "\"$HOME\"".to_owned(),
        None => quote(&dir),
    }
}

/// The program the launcher starts detached: `$1` the job's path, `$2` the time limit,
/// `$3` the job id, `$4` the umask the script runs with (the host's, not the job files'). The script runs in a process group of its own, which the watchdog kills
/// when the time is up.
const RUNNER: &str = r#"j=$1
umask "$4"
setsid sh "$j.sh" <"$j.in" >"$j.out" 2>"$j.err" &
c=$!
setsid sh -c 'sleep "$1"; : >"$2.killed"; kill -s KILL -- -"$3" 2>/dev/null || kill -s KILL "$3"' quayside-watchdog "$2" "$j" "$c" </dev/null >/dev/null 2>&1 &
w=$!
umask 077
wait "$c"
rc=$?
kill -s TERM -- -"$w" 2>/dev/null || kill "$w" 2>/dev/null
if [ -e "$j.killed" ]; then
  printf '{"started": 1, "finished": 1, "failed": 1, "msg": "Timeout exceeded", "child_pid": %s, "ansible_job_id": "%s"}\n' "$c" "$3" >"$j.tmp"
else
  printf '{"started": 1, "finished": 1, "rc": %s, "ansible_job_id": "%s"}\n' "$rc" "$3" >"$j.tmp"
fi
mv -f "$j.tmp" "$j"
rm -f "$j.killed" "$j.sh" "$j.in""#;

/// The script that starts `script` as job `jid` and prints the job's path. Its files are
/// the user's alone (`umask 077`): the script and its standard input may hold a password.
fn launcher(dir: &str, jid: &str, script: &str, limit: u64) -> String {
    let marker = format!("QUAYSIDE_ASYNC_{}", jid.replace('.', "_"));
    let mut text = script.to_owned();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    format!(
        "set -e\nu=$(umask)\numask 077\nd={dir}\nmkdir -p \"$d\"\nj=\"$d\"/{jid}\ncat >\"$j.in\"\n\
         cat >\"$j.sh\" <<'{marker}'\n{text}{marker}\n\
         : >\"$j.out\"\n: >\"$j.err\"\n\
         printf '{{\"started\": 1, \"finished\": 0, \"ansible_job_id\": \"%s\"}}\\n' {jid} >\"$j\"\n\
         setsid sh -c {runner} quayside-async \"$j\" {limit} {jid} \"$u\" </dev/null >/dev/null 2>&1 &\n\
         printf '%s\\n' \"$j\"\n",
        jid = quote(jid),
        runner = quote(RUNNER),
    )
}

/// The script that reads job `jid`: exit 3 if there is no such job; else its status line,
/// then, once it ended, its standard output (and its standard error on standard error),
/// its files removed after when `cleanup`.
fn reader(dir: &str, jid: &str, cleanup: bool) -> String {
    let remove = if cleanup {
        "rm -f \"$j\" \"$j.out\" \"$j.err\"\n"
    } else {
        ""
    };
    format!(
        "d={dir}\nj=\"$d\"/{jid}\n[ -e \"$j\" ] || {{ printf '%s\\n' \"$j\"; exit 3; }}\n\
         printf '%s\\n' \"$j\"\nIFS= read -r line <\"$j\" || true\nprintf '%s\\n' \"$line\"\n\
         case $line in *'\"finished\": 1'*)\ncat \"$j.out\" 2>/dev/null\ncat \"$j.err\" >&2 2>/dev/null\n{remove};; esac\n",
        jid = quote(jid),
    )
}

/// What reading a job found.
enum Read {
    /// No such job: its path.
    Missing(String),
    /// It runs still.
    Running { path: String },
    /// It ended: its status line, and its output when it exited on its own (`rc`).
    Ended {
        path: String,
        status: Map<String, Json>,
        output: Option<Output>,
    },
}

async fn read_job(
    connection: &dyn Connection,
    base: &Script,
    dir: &str,
    jid: &str,
    cleanup: bool,
) -> Result<Read, TransportError> {
    let script = Script {
        text: reader(dir, jid, cleanup),
        stdin: Vec::new(),
        ..base.clone()
    };
    let output = connection.run(&script).await?;
    let mut lines = output.stdout.splitn(3, |b| *b == b'\n');
    let path = String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    if output.status == 3 {
        return Ok(Read::Missing(path));
    }
    let line = lines.next().unwrap_or_default();
    let Ok(Json::Object(status)) = serde_json::from_slice::<Json>(line) else {
        // Not written yet (or not ours): it runs, as ansible-core's `async_status` says.
        return Ok(Read::Running { path });
    };
    // As ansible-core's `async_status`: a result without `started` is a finished module's
    // (a job ansible-core started).
    let finished = match status.get("finished") {
        Some(value) => truthy(value),
        None => !status.contains_key("started"),
    };
    if !finished {
        return Ok(Read::Running { path });
    }
    // quayside's own jobs say `started`; their output is in their files.
    let ours = status.contains_key("started");
    let output = status
        .get("rc")
        .and_then(Json::as_i64)
        .filter(|_| ours)
        .map(|rc| Output {
            status: rc as i32,
            stdout: lines.next().unwrap_or_default().to_vec(),
            stderr: output.stderr.clone(),
        });
    Ok(Read::Ended {
        path,
        status,
        output,
    })
}

/// How an `async` task waits for its job.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// `async`: seconds the job may run.
    pub seconds: u64,
    /// `poll`: seconds between looks; 0 does not wait.
    pub poll: u64,
}

/// The keys every async result carries, as ansible-core's `async_status` action sets them.
fn job_keys(data: &mut Map<String, Json>, jid: &str) {
    data.insert("ansible_job_id".into(), jid.into());
    for (key, value) in [
        ("stdout", Json::from("")),
        ("stderr", Json::from("")),
        ("stdout_lines", Json::Array(Vec::new())),
        ("stderr_lines", Json::Array(Vec::new())),
    ] {
        data.entry(key).or_insert(value);
    }
}

/// The connection an `async` task type runs with: each script started as a job.
struct Background<'a> {
    inner: &'a dyn Connection,
    dir: String,
    jid: String,
    limits: Limits,
    /// Scripts started so far (the first is job `jid`, later ones `jid-N`).
    started: Mutex<u32>,
    /// The task's result when the job decides it (`poll: 0`, a time-out): the runner
    /// stops the task type there.
    stop: Mutex<Option<tokio::sync::oneshot::Sender<Outcome>>>,
    /// The first job's path, once started.
    path: Mutex<Option<String>>,
    /// For `poll: 0`: the task, for `async_status` to read the job through it.
    job: Mutex<Option<Job>>,
    /// The controller waited for a job (`poll` above 0).
    waited: std::sync::atomic::AtomicBool,
    /// Where each look at a job is told (`ASYNC POLL`...).
    report: &'a (dyn Fn(&str, AsyncState) + Send + Sync),
}

impl Background<'_> {
    /// Hand the task's result to the runner and never answer the task type.
    async fn stop(&self, outcome: Outcome) -> Result<Output, TransportError> {
        if let Some(sender) = self.stop.lock().expect("stop").take() {
            let _ = sender.send(outcome);
        }
        std::future::pending().await
    }
}

#[async_trait]
impl Connection for Background<'_> {
    fn host(&self) -> &str {
        self.inner.host()
    }

    async fn run(&self, script: &Script) -> Result<Output, TransportError> {
        let jid = {
            let mut started = self.started.lock().expect("started");
            *started += 1;
            match *started {
                1 => self.jid.clone(),
                n => format!("{}-{n}", self.jid),
            }
        };
        let launch = Script {
            text: launcher(&self.dir, &jid, &script.text, self.limits.seconds),
            ..script.clone()
        };
        let output = self.inner.run(&launch).await?;
        let path = output.stdout_lossy().trim_end().to_owned();
        if !output.success() || path.is_empty() {
            return self
                .stop(Outcome::failed(format!(
                    "the job could not be started in the background (exit status {}): {}",
                    output.status,
                    output.stderr_lossy().trim()
                )))
                .await;
        }
        self.path.lock().expect("path").get_or_insert(path.clone());
        if self.limits.poll == 0 {
            let outcome = Outcome::changed()
                .with("ansible_job_id", jid.clone())
                .with("started", true)
                .with("finished", false)
                .with("results_file", path);
            if let Some(job) = self.job.lock().expect("job").take() {
                JOBS.lock()
                    .expect("jobs")
                    .insert((self.host().to_owned(), jid), job);
            }
            return self.stop(outcome).await;
        }
        // As ansible-core: look every `poll` seconds while time is left.
        self.waited.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut left = self.limits.seconds as i64;
        let mut last = None;
        while left > 0 {
            tokio::time::sleep(Duration::from_secs(self.limits.poll)).await;
            left -= self.limits.poll as i64;
            match read_job(self.inner, script, &self.dir, &jid, true).await? {
                Read::Missing(path) => {
                    let mut outcome = Outcome::failed("could not find job")
                        .with("started", true)
                        .with("finished", true)
                        .with("results_file", path);
                    job_keys(&mut outcome.data, &jid);
                    return self.stop(outcome).await;
                }
                Read::Running { path } => {
                    (self.report)(&jid, AsyncState::Running);
                    last = Some(path);
                }
                Read::Ended {
                    output: Some(output),
                    ..
                } => return Ok(output),
                Read::Ended { path, status, .. } => {
                    return self.stop(ended_without_rc(&jid, &path, status)).await;
                }
            }
        }
        let mut progress = Map::new();
        progress.insert("started".into(), true.into());
        progress.insert("finished".into(), false.into());
        progress.insert(
            "results_file".into(),
            last.unwrap_or_else(|| path.clone()).into(),
        );
        job_keys(&mut progress, &jid);
        let outcome = Outcome::failed(format!(
            "async task did not complete within the requested time - {}s",
            self.limits.seconds
        ))
        .with("async_result", Json::Object(progress));
        self.stop(outcome).await
    }

    async fn forward(&self, remote_host: &str, remote_port: u16) -> Result<u16, TransportError> {
        self.inner.forward(remote_host, remote_port).await
    }

    fn is_local(&self) -> bool {
        self.inner.is_local()
    }
}

/// The result of a job that ended without an exit status of its own (killed when its time
/// was up): what the watchdog wrote, as ansible-core's wrapper writes it.
/// A job ansible-core started ends the same way: its module's result, read as is.
fn ended_without_rc(jid: &str, path: &str, status: Map<String, Json>) -> Outcome {
    let mut outcome = Outcome {
        failed: status.get("failed").is_some_and(truthy),
        changed: status.get("changed").is_some_and(truthy),
        msg: status.get("msg").and_then(Json::as_str).map(str::to_owned),
        ..Outcome::default()
    };
    for (key, value) in status {
        match key.as_str() {
            "started" | "finished" | "failed" | "changed" | "msg" => {}
            _ => {
                outcome.data.insert(key, value);
            }
        }
    }
    outcome.data.insert("started".into(), true.into());
    outcome.data.insert("finished".into(), true.into());
    outcome.data.insert("results_file".into(), path.into());
    job_keys(&mut outcome.data, jid);
    outcome
}

/// A JSON flag as Python reads it: `1`, `true`.
fn truthy(value: &Json) -> bool {
    match value {
        Json::Bool(flag) => *flag,
        Json::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Json::String(text) => !text.is_empty(),
        Json::Null => false,
        _ => true,
    }
}

/// Run an `async` task type on one host: its scripts as jobs, its result with the job's
/// keys (`ansible_job_id`, `started`, `finished`, `results_file`).
pub(super) async fn run(
    action: &Action,
    ctx: &TaskContext<'_>,
    kind: TaskKind,
    args: &Node,
    limits: Limits,
    report: &(dyn Fn(&str, AsyncState) + Send + Sync),
) -> Result<Outcome, TransportError> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let background = Background {
        inner: ctx.connection,
        dir: async_dir(ctx.vars),
        jid: new_jid(),
        limits,
        started: Mutex::new(0),
        stop: Mutex::new(Some(sender)),
        path: Mutex::new(None),
        job: Mutex::new(Some(Job {
            kind,
            span: ctx.span.clone(),
            args: args.clone(),
            check: ctx.check,
            diff: ctx.diff,
        })),
        waited: std::sync::atomic::AtomicBool::new(false),
        report,
    };
    let task_ctx = TaskContext {
        connection: &background,
        become_user: ctx.become_user.clone(),
        env: ctx.env.clone(),
        ..*ctx
    };
    let (mut outcome, stopped) = tokio::select! {
        result = action.run(&task_ctx) => (result?, false),
        Ok(outcome) = receiver => (outcome, true),
    };
    // As ansible-core's callbacks once it waited: `ASYNC OK` or `ASYNC FAILED`.
    if background.waited.load(std::sync::atomic::Ordering::SeqCst) {
        let state = match outcome.failed {
            true => AsyncState::Failed,
            false => AsyncState::Ok,
        };
        report(&background.jid, state);
    }
    if stopped {
        return Ok(outcome);
    }
    let started = *background.started.lock().expect("started") > 0;
    if started {
        let path = background.path.lock().expect("path").clone();
        outcome.data.insert("started".into(), true.into());
        outcome.data.insert("finished".into(), true.into());
        if let Some(path) = path {
            outcome.data.insert("results_file".into(), path.into());
        }
        job_keys(&mut outcome.data, &background.jid);
    }
    Ok(outcome)
}

/// The connection a finished job's output is read through by the task type that started
/// it: its first script answers with the job's output, without running again.
struct Replay<'a> {
    inner: &'a dyn Connection,
    output: Mutex<Option<Output>>,
}

#[async_trait]
impl Connection for Replay<'_> {
    fn host(&self) -> &str {
        self.inner.host()
    }

    async fn run(&self, script: &Script) -> Result<Output, TransportError> {
        let recorded = self.output.lock().expect("output").take();
        match recorded {
            Some(output) => Ok(output),
            None => self.inner.run(script).await,
        }
    }

    async fn forward(&self, remote_host: &str, remote_port: u16) -> Result<u16, TransportError> {
        self.inner.forward(remote_host, remote_port).await
    }

    fn is_local(&self) -> bool {
        self.inner.is_local()
    }
}

/// `async_status`: job `jid` on the task's host, read (`cleanup`: removed), as
/// ansible-core's `async_status` reports it.
pub(crate) async fn status(
    ctx: &TaskContext<'_>,
    jid: &str,
    cleanup: bool,
) -> Result<Outcome, TransportError> {
    let dir = async_dir(ctx.vars);
    let base = ctx.script("");
    if cleanup {
        let text = format!(
            "d={dir}\nj=\"$d\"/{jid}\nprintf '%s\\n' \"$j\"\n[ -e \"$j\" ] || exit 3\n\
             rm -f \"$j\" \"$j.out\" \"$j.err\"\n",
            jid = quote(jid)
        );
        let output = ctx.run(Script { text, ..base }).await?;
        let path = output.stdout_lossy().trim_end().to_owned();
        if output.status == 3 {
            return Ok(missing(jid, path));
        }
        let mut outcome = Outcome::ok()
            .with("erased", path)
            .with("started", false)
            .with("finished", false);
        job_keys(&mut outcome.data, jid);
        return Ok(outcome);
    }
    let read = read_job(ctx.connection, &base, &dir, jid, false).await?;
    let (path, status, output) = match read {
        Read::Missing(path) => return Ok(missing(jid, path)),
        Read::Running { path } => {
            let mut outcome = Outcome::ok()
                .with("results_file", path)
                .with("started", true)
                .with("finished", false);
            job_keys(&mut outcome.data, jid);
            return Ok(outcome);
        }
        Read::Ended {
            path,
            status,
            output,
        } => (path, status, output),
    };
    let Some(output) = output else {
        return Ok(ended_without_rc(jid, &path, status));
    };
    let job = JOBS
        .lock()
        .expect("jobs")
        .remove(&(ctx.host.to_owned(), jid.to_owned()));
    let mut outcome = match job {
        Some(job) => {
            // Read through the task type that started it, as if its script had just run.
            let replay = Replay {
                inner: ctx.connection,
                output: Mutex::new(Some(output)),
            };
            let job_ctx = TaskContext {
                connection: &replay,
                check: job.check,
                diff: job.diff,
                span: &job.span,
                become_user: ctx.become_user.clone(),
                env: ctx.env.clone(),
                ..*ctx
            };
            let outcome = match parse_action(job.kind, &job.span, &job.args) {
                Ok(action) => {
                    // Boxed: `async_status` reads through a task type's `run`, as
                    // `async_status` is one itself.
                    let run: std::pin::Pin<Box<dyn std::future::Future<Output = _> + '_>> =
                        Box::pin(action.run(&job_ctx));
                    run.await?
                }
                Err(diagnostic) => Outcome::failed(diagnostic.headline()),
            };
            // Read again by a later `async_status`.
            JOBS.lock()
                .expect("jobs")
                .insert((ctx.host.to_owned(), jid.to_owned()), job);
            outcome
        }
        // A job of another run: its output as a command's.
        None => {
            let mut outcome = Outcome {
                changed: true,
                failed: output.status != 0,
                data: crate::tasks::command_result(&output),
                ..Outcome::default()
            };
            if outcome.failed {
                outcome.msg = Some("non-zero return code".to_owned());
            }
            outcome
        }
    };
    outcome.data.insert("started".into(), true.into());
    outcome.data.insert("finished".into(), true.into());
    outcome.data.insert("results_file".into(), path.into());
    job_keys(&mut outcome.data, jid);
    Ok(outcome)
}

fn missing(jid: &str, path: String) -> Outcome {
    let mut outcome = Outcome::failed("could not find job")
        .with("started", true)
        .with("finished", true)
        .with("results_file", path);
    job_keys(&mut outcome.data, jid);
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_are_ansible_cores_shape() {
        let jid = new_jid();
        let (digits, pid) = jid[1..].split_once('.').unwrap();
        assert!(jid.starts_with('j'));
        assert_eq!(digits.len(), 12);
        assert_eq!(pid, std::process::id().to_string());
        assert_ne!(new_jid(), jid);
    }
}
