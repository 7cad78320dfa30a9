//! The live display on a terminal: a bar per task with hosts done / total, ok / changed /
//! failed counts, the elapsed time and the hosts that have been running longest. Failures
//! (and what `debug` shows, and diffs) are printed as they happen; when a task ends its bar
//! is replaced by one summary line, so the final screen reads like a short report.
//!
//! A host is done with a task when its result comes, or, for a loop, when its last item
//! has run (`loop_result`), with the status of the whole loop.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use super::{Event, Human, Reporter, Status};

/// How many of the hosts still running the bar names.
const RUNNING_SHOWN: usize = 3;

pub struct Progress {
    human: Human,
    color: bool,
    state: Mutex<Option<TaskBar>>,
}

/// The hosts that have started the task and not finished it, with when they started. The
/// bar reads it each time it draws, so their times go on counting between events.
type Running = Arc<Mutex<BTreeMap<String, Instant>>>;

struct TaskBar {
    bar: ProgressBar,
    title: String,
    started: Instant,
    hosts: BTreeSet<String>,
    running: Running,
    done: BTreeSet<String>,
    ok: u32,
    changed: u32,
    failed: u32,
    skipped: u32,
    unreachable: u32,
}

impl TaskBar {
    fn counts(&self) -> String {
        format!(
            "ok={} changed={} failed={} skipped={} unreachable={}",
            self.ok, self.changed, self.failed, self.skipped, self.unreachable
        )
    }

    fn summary(&self) -> String {
        format!(
            "{}  {} hosts: {} in {:.1}s\n",
            self.title,
            self.hosts.len(),
            self.counts(),
            self.started.elapsed().as_secs_f64()
        )
    }

    fn start(&mut self, host: &str) {
        if self.hosts.contains(host) && !self.done.contains(host) {
            lock(&self.running)
                .entry(host.to_owned())
                .or_insert_with(Instant::now);
        }
    }

    /// The host's result for the whole task; a second one (a loop's failure to start, then
    /// its `loop_result`) counts once.
    fn finish(&mut self, host: &str, status: Status) {
        if !self.hosts.contains(host) || !self.done.insert(host.to_owned()) {
            return;
        }
        lock(&self.running).remove(host);
        match status {
            Status::Ok => self.ok += 1,
            Status::Changed => self.changed += 1,
            Status::Failed | Status::Ignored => self.failed += 1,
            Status::Skipped => self.skipped += 1,
            Status::Unreachable | Status::Interrupted => self.unreachable += 1,
        }
        self.bar.inc(1);
        self.bar.set_message(self.counts());
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `  running: host3 12s, host1 8s and 2 more`: the hosts running longest first.
fn running_text(running: &BTreeMap<String, Instant>, now: Instant) -> String {
    if running.is_empty() {
        return String::new();
    }
    let mut hosts: Vec<(&String, &Instant)> = running.iter().collect();
    hosts.sort_by(|a, b| a.1.cmp(b.1).then_with(|| a.0.cmp(b.0)));
    let shown: Vec<String> = hosts
        .iter()
        .take(RUNNING_SHOWN)
        .map(|(host, since)| format!("{host} {}", seconds(now.duration_since(**since))))
        .collect();
    let mut text = format!("  running: {}", shown.join(", "));
    if hosts.len() > RUNNING_SHOWN {
        let _ = write!(text, " and {} more", hosts.len() - RUNNING_SHOWN);
    }
    text
}

/// `7s`, `2m05s`.
fn seconds(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs < 60 {
        format!("{secs}s")
    } else {
        format!("{}m{:02}s", secs / 60, secs % 60)
    }
}

impl Progress {
    pub fn new(human: Human, color: bool) -> Self {
        Self {
            human,
            color,
            state: Mutex::new(None),
        }
    }

    fn print(&self, bar: Option<&TaskBar>, text: &str) {
        let text = crate::secrets::mask(text);
        let text = text.trim_end_matches('\n');
        if text.is_empty() {
            return;
        }
        match bar {
            Some(task) => task.bar.println(text),
            None => {
                let _ = std::io::Write::write_all(
                    &mut std::io::stdout(),
                    format!("{text}\n").as_bytes(),
                );
            }
        }
    }

    fn finish(&self, state: &mut Option<TaskBar>) {
        if let Some(task) = state.take() {
            task.bar.finish_and_clear();
            self.print(None, &task.summary());
        }
    }

    fn bar(&self, title: &str, hosts: usize, running: &Running) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(Some(hosts as u64), ProgressDrawTarget::stdout());
        let template = if self.color {
            "{spinner:.cyan} {prefix:.bold} [{bar:24.green/white}] {pos}/{len} {elapsed} {msg}{running}"
        } else {
            "{spinner} {prefix} [{bar:24}] {pos}/{len} {elapsed} {msg}{running}"
        };
        let running = running.clone();
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> ").with_key(
                "running",
                move |_: &ProgressState, out: &mut dyn std::fmt::Write| {
                    let text = running_text(&lock(&running), Instant::now());
                    let _ = out.write_str(&text);
                },
            ));
        }
        bar.set_prefix(crate::secrets::mask(title));
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }
}

impl Reporter for Progress {
    fn emit(&self, event: &Event) {
        let mut state = lock(&self.state);
        match event {
            Event::TaskStart {
                task,
                handler,
                host_names,
                ..
            } => {
                self.finish(&mut state);
                let kind = if *handler { "HANDLER" } else { "TASK" };
                let title = format!("{kind} [{task}]");
                let running = Running::default();
                let task = TaskBar {
                    bar: self.bar(&title, host_names.len(), &running),
                    title,
                    started: Instant::now(),
                    hosts: host_names.iter().cloned().collect(),
                    running,
                    done: BTreeSet::new(),
                    ok: 0,
                    changed: 0,
                    failed: 0,
                    skipped: 0,
                    unreachable: 0,
                };
                task.bar.set_message(task.counts());
                *state = Some(task);
            }
            Event::HostStart { host } => {
                if let Some(task) = state.as_mut() {
                    task.start(host);
                }
            }
            Event::HostResult {
                host,
                status,
                item,
                output,
                diffs,
                ..
            } => {
                let loud = matches!(
                    status,
                    Status::Failed | Status::Unreachable | Status::Ignored | Status::Interrupted
                ) || output.is_some()
                    || !diffs.is_empty();
                if loud {
                    self.print(state.as_ref(), &self.human.render(event));
                }
                // An item is not the end of its loop: `loop_result` is.
                if item.is_none() {
                    if let Some(task) = state.as_mut() {
                        task.finish(host, *status);
                    }
                }
            }
            Event::LoopResult { host, status, .. } => {
                if let Some(task) = state.as_mut() {
                    task.finish(host, *status);
                }
            }
            Event::Included { hosts, .. } => {
                if let Some(task) = state.as_mut() {
                    for host in hosts {
                        task.finish(host, Status::Ok);
                    }
                }
            }
            Event::PlayStart { .. }
            | Event::Plan(_)
            | Event::Bundle(_)
            | Event::Recap { .. }
            | Event::Warning { .. } => {
                self.finish(&mut state);
                self.print(None, &self.human.render(event));
            }
            // The live bar shows the host still running.
            Event::PlaybookStart { .. } | Event::AsyncPoll { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hosts_running_longest_come_first() {
        let now = Instant::now();
        let running: BTreeMap<String, Instant> =
            [("a", 1), ("b", 30), ("c", 5), ("d", 125), ("e", 2)]
                .into_iter()
                .map(|(host, ago)| (host.to_owned(), now - Duration::from_secs(ago)))
                .collect();
        assert_eq!(
            running_text(&running, now),
            "  running: d 2m05s, b 30s, c 5s and 2 more"
        );
        assert_eq!(running_text(&BTreeMap::new(), now), "");
    }
}
