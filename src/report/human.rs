//! The output Ansible users know: `PLAY [...]`, `TASK [...]`, a line per host, the recap.

use super::{AsyncState, Event, Reporter, Sink, Status};

pub struct Human {
    sink: Sink,
    verbosity: u8,
    color: bool,
    /// The `[WARNING]` and `[ERROR]: Task failed:` texts printed so far: as ansible-core's
    /// display, each is printed once (a loop's failure, or the same one on every host).
    shown: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl Human {
    pub fn new(sink: Sink, verbosity: u8, color: bool) -> Self {
        Self {
            sink,
            verbosity,
            color,
            shown: Default::default(),
        }
    }

    /// `text`, unless it was printed before (then nothing).
    fn once(&self, text: String) -> String {
        let first = self
            .shown
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(text.clone());
        if first { text } else { String::new() }
    }

    fn paint(&self, text: &str, status: Status) -> String {
        if !self.color {
            return text.to_owned();
        }
        let code = match status {
            Status::Ok => "32",
            Status::Changed => "33",
            Status::Failed | Status::Unreachable | Status::Interrupted => "31",
            Status::Skipped => "36",
            Status::Ignored => "35",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }
}

/// JSON indented by four spaces, keys sorted, as Ansible prints what `debug` and `assert`
/// show (`json.dumps(sort_keys=True, indent=4)`).
fn pretty(value: &serde_json::Value) -> String {
    crate::template::python::json_unicode(value, Some(4), true)
}

/// A result as Ansible's callbacks print it (`_dump_results`): keys sorted, without
/// `failed` (the line says it) and `exception`, and `invocation` only at `-vvv`, where the
/// result is indented by four spaces; on one line below (Python's `json.dumps`, without
/// escaping non-ASCII characters).
fn dump_result(result: &serde_json::Value, verbosity: u8) -> String {
    let indent = verbosity >= 3;
    let mut result = result.clone();
    if let serde_json::Value::Object(map) = &mut result {
        map.remove("failed");
        map.remove("exception");
        if !indent {
            map.remove("invocation");
        }
    }
    crate::template::python::json_unicode(&result, indent.then_some(4), true)
}

/// ansible-core 2.19's block before a failed result: `[ERROR]: Task failed: HEADLINE` and
/// `Origin: FILE:LINE:COL` (the file's absolute path). ansible-core quotes the task's line
/// and the two before it there too; quayside does not, since those lines may be another
/// task's, holding a secret it would then print.
fn error_block(origin: &super::Origin) -> String {
    let Some(span) = &origin.span else {
        return format!("[ERROR]: Task failed: {}\n", origin.headline);
    };
    let path = absolute(&span.file.name);
    format!(
        "[ERROR]: Task failed: {}\nOrigin: {path}:{}:{}\n\n",
        origin.headline, span.line, span.column
    )
}

/// A file's name as ansible-core shows it in `Origin:` and `task path:`: absolute.
fn absolute(name: &str) -> String {
    std::path::absolute(name).map_or_else(|_| name.to_owned(), |p| p.display().to_string())
}

/// `TITLE ****...` padded to 80 columns, as Ansible prints its banners.
fn banner(title: &str) -> String {
    let stars = 79usize.saturating_sub(title.chars().count()).max(3);
    format!("\n{title} {}\n", "*".repeat(stars))
}

impl Reporter for Human {
    fn emit(&self, event: &Event) {
        let text = self.render(event);
        if !text.is_empty() {
            self.sink.write(&text);
        }
    }
}

impl Human {
    /// The text an event prints, empty for events that print nothing.
    pub fn render(&self, event: &Event) -> String {
        match event {
            // Ansible prints a loop's items, not a line for the loop as a whole; but when
            // it skipped every item, a line for the host after them (its default
            // callback's `v2_runner_on_skipped`).
            Event::LoopResult {
                host,
                status: Status::Skipped,
                items,
                ..
            } if *items > 0 => format!(
                "{}\n",
                self.paint(&format!("skipping: [{host}]"), Status::Skipped)
            ),
            // As Ansible: a loop whose failed items are ignored says so once, after them.
            Event::LoopResult {
                status: Status::Ignored,
                ..
            } => self.paint("...ignoring\n", Status::Skipped),
            Event::PlaybookStart { .. } | Event::HostStart { .. } | Event::LoopResult { .. } => {
                String::new()
            }
            // ansible-core's default callback, word for word.
            Event::AsyncPoll { host, jid, state } => match state {
                AsyncState::Running => {
                    format!("ASYNC POLL on {host}: jid={jid} started=True finished=False\n")
                }
                AsyncState::Ok => format!("ASYNC OK on {host}: jid={jid}\n"),
                AsyncState::Failed => format!("ASYNC FAILED on {host}: jid={jid}\n"),
            },
            Event::PlayStart { name, .. } => banner(&format!("PLAY [{name}]")),
            Event::TaskStart {
                task,
                handler,
                path,
                ..
            } => {
                let kind = if *handler { "RUNNING HANDLER" } else { "TASK" };
                let mut text = banner(&format!("{kind} [{task}]"));
                if self.verbosity >= 2 {
                    // As ansible-core: the file's absolute path and the line.
                    let (file, line) = path
                        .rsplit_once(':')
                        .and_then(|(rest, _column)| rest.rsplit_once(':'))
                        .unwrap_or((path.as_str(), ""));
                    text.push_str(&format!("task path: {}:{line}\n", absolute(file)));
                }
                text
            }
            Event::HostResult {
                origin,
                host,
                delegated_to,
                status,
                msg,
                item,
                result,
                diffs,
                output,
                ..
            } => {
                let mut text = String::new();
                if let Some(origin) = origin {
                    let block = self.once(error_block(origin));
                    if !block.is_empty() {
                        text.push_str(&self.paint(&block, Status::Failed));
                    }
                }
                for diff in diffs {
                    text.push_str(&crate::report::unified_diff(diff));
                }
                let label = item.as_ref();
                let item = label.map(|i| format!(" => (item={i})")).unwrap_or_default();
                // As Ansible: a delegated task's host is `host -> delegated`.
                let host = match delegated_to {
                    Some(delegated) => format!("{host} -> {delegated}"),
                    None => host.clone(),
                };
                let line = match (status, label) {
                    (Status::Ok, _) => format!("ok: [{host}]{item}"),
                    (Status::Changed, _) => format!("changed: [{host}]{item}"),
                    (Status::Skipped, _) => format!("skipping: [{host}]{item}"),
                    // As Ansible: a failed item is `failed: [host] (item=...)`.
                    (Status::Failed | Status::Ignored, Some(label)) => {
                        format!("failed: [{host}] (item={label})")
                    }
                    (Status::Failed | Status::Ignored, None) => format!("fatal: [{host}]: FAILED!"),
                    (Status::Unreachable, _) => format!("fatal: [{host}]: UNREACHABLE!"),
                    (Status::Interrupted, _) => format!("interrupted: [{host}]{item}"),
                };
                text.push_str(&self.paint(&line, *status));
                // As Ansible's callbacks: a result's `diff` is not printed below `-vvv`.
                let result = result.as_ref().map(|result| match result {
                    serde_json::Value::Object(map)
                        if self.verbosity < 3 && map.contains_key("diff") =>
                    {
                        let mut map = map.clone();
                        map.remove("diff");
                        std::borrow::Cow::Owned(serde_json::Value::Object(map))
                    }
                    _ => std::borrow::Cow::Borrowed(result),
                });
                let detail = match (status, result.as_deref(), msg) {
                    // As Ansible: `debug` and `assert` show their own fields, indented,
                    // whatever the verbosity, and whether they failed or not.
                    (Status::Ok | Status::Changed | Status::Failed | Status::Ignored, _, _)
                        if output.is_some() =>
                    {
                        output.as_ref().map(pretty)
                    }
                    (_, Some(result), _) if self.verbosity >= 1 => {
                        Some(dump_result(result, self.verbosity))
                    }
                    (Status::Failed | Status::Ignored, Some(result), _) => {
                        Some(dump_result(result, self.verbosity))
                    }
                    // As Ansible prints a result that is only a message.
                    (Status::Failed | Status::Ignored, _, Some(msg)) => Some(dump_result(
                        &serde_json::json!({ "changed": false, "msg": msg }),
                        self.verbosity,
                    )),
                    (Status::Unreachable, _, Some(msg)) => Some(dump_result(
                        &serde_json::json!({ "changed": false, "msg": msg, "unreachable": true }),
                        self.verbosity,
                    )),
                    (Status::Interrupted, _, Some(msg)) => Some(dump_result(
                        &serde_json::json!({ "msg": msg }),
                        self.verbosity,
                    )),
                    _ => output.as_ref().map(pretty),
                };
                if let Some(detail) = detail {
                    text.push_str(" => ");
                    text.push_str(&self.paint(&detail, *status));
                }
                text.push('\n');
                // A loop's failed items are ignored once, after the last (the loop's line).
                if *status == Status::Ignored && label.is_none() {
                    text.push_str(&self.paint("...ignoring\n", Status::Skipped));
                }
                text
            }
            Event::Included {
                file, hosts, item, ..
            } => {
                let item = item
                    .as_ref()
                    .map(|i| format!(" => (item={i})"))
                    .unwrap_or_default();
                let line = format!("included: {file} for {}{item}", hosts.join(", "));
                format!("{}\n", self.paint(&line, Status::Ok))
            }
            Event::Warning { message } => self.once(format!("[WARNING]: {message}\n")),
            Event::Plan(plan) => {
                let mut text = banner("PLAN (check mode: nothing was changed)");
                for task in &plan.tasks {
                    let hosts: Vec<&str> = task.hosts.iter().map(String::as_str).collect();
                    text.push_str(&self.paint(
                        &format!(
                            "{} would change {} of {} hosts: {}",
                            task.task,
                            hosts.len(),
                            plan.hosts,
                            hosts.join(", ")
                        ),
                        Status::Changed,
                    ));
                    text.push('\n');
                }
                text.push_str(&plan.summary());
                text.push('\n');
                text
            }
            Event::Bundle(bundle) => {
                if self.verbosity == 0 {
                    return String::new();
                }
                bundle.render()
            }
            Event::Recap {
                hosts,
                interrupted,
                handlers_not_run,
                ..
            } => {
                let mut text = String::new();
                if *interrupted {
                    text.push_str(
                        "\n[ERROR]: interrupted: no task started after the interrupt, tasks in \
                         flight finished or were given up on, and no handler ran\n",
                    );
                }
                for (handler, hosts) in handlers_not_run {
                    text.push_str(&self.paint(
                        &format!(
                            "[WARNING]: handler `{handler}` was notified but did not run on: {}; \
                             what notified it is in place and a new run will not notify it \
                             again, so do what it does yourself\n",
                            hosts.join(", ")
                        ),
                        Status::Changed,
                    ));
                }
                text.push_str(&banner("PLAY RECAP"));
                for (host, c) in hosts {
                    let host_status = if c.failed > 0 || c.unreachable > 0 || c.interrupted > 0 {
                        Status::Failed
                    } else if c.changed > 0 {
                        Status::Changed
                    } else {
                        Status::Ok
                    };
                    text.push_str(&format!(
                        "{} : ok={:<4} changed={:<4} unreachable={:<4} failed={:<4} skipped={:<4} rescued={:<4} ignored={:<4}\n",
                        self.paint(&format!("{host:<26}"), host_status),
                        c.ok, c.changed, c.unreachable, c.failed, c.skipped, c.rescued, c.ignored
                    ));
                    if c.interrupted > 0 {
                        // After the fixed columns, so that the usual recap reads as Ansible's.
                        text.truncate(text.trim_end().len());
                        text.push_str(&format!(" interrupted={}\n", c.interrupted));
                    }
                }
                text
            }
        }
    }
}
