//! The plan of a `--check` run: which hosts each task would change, which files and how
//! many containers, told once at the end ("config.yaml would change on 6 of 6 hosts; 2
//! containers would restart"), as text and as a JSON `plan` event.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use serde::Serialize;

use super::{Event, Reporter, Status};

/// The plan of a check run, as the `plan` event carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// How many hosts the run covered, and how many tasks it ran.
    pub hosts: usize,
    pub tasks_run: usize,
    /// Every task that would change something, in run order.
    pub tasks: Vec<PlannedTask>,
    /// Each file (by name) that would change, and on which hosts.
    pub files: BTreeMap<String, BTreeSet<String>>,
    /// The hosts whose container would be stopped, started or recreated.
    pub containers: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedTask {
    pub task: String,
    pub path: String,
    pub hosts: BTreeSet<String>,
}

impl Plan {
    /// One line: what would change where.
    pub fn summary(&self) -> String {
        if self.tasks.is_empty() {
            return format!("nothing would change on {} hosts", self.hosts);
        }
        let mut parts: Vec<String> = self
            .files
            .iter()
            .map(|(name, hosts)| {
                format!(
                    "{name} would change on {} of {} hosts",
                    hosts.len(),
                    self.hosts
                )
            })
            .collect();
        if !self.containers.is_empty() {
            let n = self.containers.len();
            let noun = if n == 1 { "container" } else { "containers" };
            parts.push(format!("{n} {noun} would restart"));
        }
        let changing: BTreeSet<&String> = self.tasks.iter().flat_map(|t| &t.hosts).collect();
        parts.push(format!(
            "{} of {} tasks would change something, on {} of {} hosts",
            self.tasks.len(),
            self.tasks_run,
            changing.len(),
            self.hosts
        ));
        parts.join("; ")
    }
}

/// Passes every event on, and in a check run adds the `plan` event before the recap.
pub struct Planner<R> {
    inner: R,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    check: bool,
    hosts: BTreeSet<String>,
    /// The task now running: its name, where it was written and its task type.
    current: Option<(String, String, Option<String>)>,
    plan: Plan,
    tasks_seen: usize,
}

impl<R: Reporter> Planner<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            state: Mutex::new(State::default()),
        }
    }
}

impl<R: Reporter> Reporter for Planner<R> {
    fn emit(&self, event: &Event) {
        let plan = {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            state.observe(event)
        };
        if let Some(plan) = plan {
            self.inner.emit(&Event::Plan(plan));
        }
        self.inner.emit(event);
    }
}

impl State {
    /// Take in one event; at the recap of a check run, the plan.
    fn observe(&mut self, event: &Event) -> Option<Plan> {
        match event {
            Event::PlaybookStart { check, .. } => self.check = *check,
            Event::PlayStart { hosts, .. } => self.hosts.extend(hosts.iter().cloned()),
            Event::TaskStart {
                task, path, action, ..
            } => {
                self.tasks_seen += 1;
                self.current = Some((task.clone(), path.clone(), action.clone()));
            }
            Event::HostResult {
                host,
                status: Status::Changed,
                diffs,
                ..
            } => {
                let Some((task, path, action)) = &self.current else {
                    return None;
                };
                match self.plan.tasks.last_mut() {
                    Some(last) if last.task == *task && last.path == *path => {
                        last.hosts.insert(host.clone());
                    }
                    _ => self.plan.tasks.push(PlannedTask {
                        task: task.clone(),
                        path: path.clone(),
                        hosts: BTreeSet::from([host.clone()]),
                    }),
                }
                for diff in diffs {
                    let name = diff.path.rsplit('/').next().unwrap_or(&diff.path);
                    self.plan
                        .files
                        .entry(name.to_owned())
                        .or_default()
                        .insert(host.clone());
                }
                if action
                    .as_deref()
                    .is_some_and(|a| matches!(a, "podman_run" | "podman_stop"))
                {
                    self.plan.containers.insert(host.clone());
                }
            }
            Event::Recap { .. } if self.check => {
                let mut plan = self.plan.clone();
                plan.hosts = self.hosts.len();
                plan.tasks_run = self.tasks_seen;
                return Some(plan);
            }
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_counts_files_containers_and_hosts() {
        let plan = Plan {
            hosts: 6,
            tasks_run: 5,
            tasks: vec![PlannedTask {
                task: "Install".into(),
                path: "p.yml:3:5".into(),
                hosts: ["a", "b"].map(String::from).into(),
            }],
            files: BTreeMap::from([(
                "config.yaml".to_owned(),
                ["a", "b"].map(String::from).into(),
            )]),
            containers: ["a", "b"].map(String::from).into(),
        };
        assert_eq!(
            plan.summary(),
            "config.yaml would change on 2 of 6 hosts; 2 containers would restart; 1 of 5 tasks would change something, on 2 of 6 hosts"
        );
        assert_eq!(
            Plan {
                hosts: 3,
                ..Plan::default()
            }
            .summary(),
            "nothing would change on 3 hosts"
        );
    }
}
