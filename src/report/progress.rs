//! The live display on a terminal: a bar per task with hosts done / total, ok / changed /
//! failed counts, the hosts still running and the elapsed time. Failures (and what `debug`
//! shows, and diffs) are printed as they happen; when a task ends its bar is replaced by
//! one summary line, so the final screen reads like a short report.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Event, Human, Reporter, Status};

pub struct Progress {
    human: Human,
    color: bool,
    state: Mutex<Option<TaskBar>>,
}

struct TaskBar {
    bar: ProgressBar,
    title: String,
    started: Instant,
    waiting: BTreeSet<String>,
    ok: u32,
    changed: u32,
    failed: u32,
    skipped: u32,
    unreachable: u32,
}

impl TaskBar {
    fn message(&self) -> String {
        let mut message = format!(
            "ok={} changed={} failed={} skipped={} unreachable={}",
            self.ok, self.changed, self.failed, self.skipped, self.unreachable
        );
        if !self.waiting.is_empty() && self.waiting.len() <= 3 {
            let names: Vec<&str> = self.waiting.iter().map(String::as_str).collect();
            message.push_str(&format!("  waiting for {}", names.join(", ")));
        } else if !self.waiting.is_empty() {
            let names: Vec<&str> = self.waiting.iter().take(3).map(String::as_str).collect();
            message.push_str(&format!(
                "  waiting for {} and {} more",
                names.join(", "),
                self.waiting.len() - 3
            ));
        }
        message
    }

    fn summary(&self) -> String {
        format!(
            "{}  {} hosts: ok={} changed={} failed={} skipped={} unreachable={} in {:.1}s\n",
            self.title,
            self.bar.length().unwrap_or_default(),
            self.ok,
            self.changed,
            self.failed,
            self.skipped,
            self.unreachable,
            self.started.elapsed().as_secs_f64()
        )
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
}

impl Reporter for Progress {
    fn emit(&self, event: &Event) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
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
                let bar = ProgressBar::with_draw_target(
                    Some(host_names.len() as u64),
                    ProgressDrawTarget::stdout(),
                );
                let template = if self.color {
                    "{spinner:.cyan} {prefix:.bold} [{bar:24.green/white}] {pos}/{len} {elapsed} {msg}"
                } else {
                    "{spinner} {prefix} [{bar:24}] {pos}/{len} {elapsed} {msg}"
                };
                if let Ok(style) = ProgressStyle::with_template(template) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar.set_prefix(title.clone());
                bar.enable_steady_tick(Duration::from_millis(120));
                let task = TaskBar {
                    bar,
                    title,
                    started: Instant::now(),
                    waiting: host_names.iter().cloned().collect(),
                    ok: 0,
                    changed: 0,
                    failed: 0,
                    skipped: 0,
                    unreachable: 0,
                };
                task.bar.set_message(task.message());
                *state = Some(task);
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
                if let Some(task) = state.as_mut() {
                    // A loop reports every item; the host is done with its last one, which
                    // the display cannot know, so items only update the counts.
                    if item.is_none() || task.waiting.contains(host) {
                        match status {
                            Status::Ok | Status::Rescued => task.ok += 1,
                            Status::Changed => task.changed += 1,
                            Status::Failed | Status::Ignored => task.failed += 1,
                            Status::Skipped => task.skipped += 1,
                            Status::Unreachable | Status::Interrupted => task.unreachable += 1,
                        }
                        if task.waiting.remove(host) {
                            task.bar.inc(1);
                        }
                        task.bar.set_message(task.message());
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
            Event::PlaybookStart { .. } => {}
        }
    }
}
