//! The plan of a `--check` run: which hosts each task would change, which files and which
//! containers, told once at the end ("config.yaml would change on 6 of 6 hosts; 2
//! containers would restart"), as text and as a JSON `plan` event. It is made of what the
//! task results say they change, not of their diffs, so it is the same with `--diff` or
//! without.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use serde::Serialize;

use super::{Event, Reporter, Status};
use crate::tasks::ContainerChange;

/// The plan of a check run, as the `plan` event carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// How many hosts the run covered, and how many tasks it ran.
    pub hosts: usize,
    pub tasks_run: usize,
    /// Every task that would change something, in run order.
    pub tasks: Vec<PlannedTask>,
    /// Each file that would change, by its full path, and on which hosts.
    pub files: BTreeMap<String, BTreeSet<String>>,
    /// The containers that would start, restart or stop.
    pub containers: Vec<PlannedContainer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedTask {
    pub task: String,
    pub path: String,
    pub hosts: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PlannedContainer {
    pub host: String,
    pub name: String,
    pub change: ContainerPlan,
}

/// What would happen to a container over the whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerPlan {
    /// Running before and after, stopped (or replaced) on the way.
    Restart,
    /// Not running before, running after.
    Start,
    /// Running before, not after.
    Stop,
}

impl ContainerPlan {
    fn verb(self) -> &'static str {
        match self {
            ContainerPlan::Restart => "restart",
            ContainerPlan::Start => "start",
            ContainerPlan::Stop => "stop",
        }
    }

    /// Follow one container through the results of every task that manages it, in run
    /// order. In check mode each task sees the container as it is, not as the tasks before
    /// it would leave it, so only the first task's view of the start counts, and each
    /// task's intent for the end: a `podman_stop` then a `podman_run` of a running
    /// container is a restart.
    fn of(changes: &[ContainerChange]) -> Option<ContainerPlan> {
        let (first, last) = (changes.first()?, changes.last()?);
        let stopped_on_the_way = changes.iter().any(|c| c.restarted)
            || changes[..changes.len() - 1].iter().any(|c| !c.running);
        match (first.was_running, last.running) {
            (false, true) => Some(ContainerPlan::Start),
            (true, false) => Some(ContainerPlan::Stop),
            (true, true) if stopped_on_the_way => Some(ContainerPlan::Restart),
            _ => None,
        }
    }
}

impl Plan {
    /// One line: what would change where.
    pub fn summary(&self) -> String {
        if self.tasks.is_empty() {
            return format!("nothing would change on {} hosts", self.hosts);
        }
        let mut parts: Vec<String> = self
            .changing_files()
            .into_iter()
            .map(|(name, hosts)| format!("{name} would change on {hosts} of {} hosts", self.hosts))
            .collect();
        for change in [
            ContainerPlan::Restart,
            ContainerPlan::Start,
            ContainerPlan::Stop,
        ] {
            let n = self
                .containers
                .iter()
                .filter(|c| c.change == change)
                .count();
            if n > 0 {
                let noun = if n == 1 { "container" } else { "containers" };
                parts.push(format!("{n} {noun} would {}", change.verb()));
            }
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

    /// The files that would change, as the summary names them, and on how many hosts.
    /// Files are told apart by their full paths, but named by their base name when that
    /// is unambiguous: when no host has two files of that name that would change. (The
    /// same file may have a different path on each host, under a root of its own.)
    fn changing_files(&self) -> Vec<(&str, usize)> {
        let mut by_name: BTreeMap<&str, Vec<(&str, &BTreeSet<String>)>> = BTreeMap::new();
        for (path, hosts) in &self.files {
            by_name
                .entry(base_name(path))
                .or_default()
                .push((path.as_str(), hosts));
        }
        let mut named = Vec::new();
        for (name, paths) in by_name {
            let hosts: BTreeSet<&String> = paths.iter().flat_map(|(_, hosts)| *hosts).collect();
            let files: usize = paths.iter().map(|(_, hosts)| hosts.len()).sum();
            if hosts.len() == files {
                named.push((name, hosts.len()));
            } else {
                named.extend(paths.iter().map(|(path, hosts)| (*path, hosts.len())));
            }
        }
        named
    }
}

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Passes every event on, and in a check run adds the `plan` event before the recap.
pub struct Planner<R> {
    inner: R,
    state: Mutex<State>,
}

/// A task as the plan knows it: the play it is in (counted from 1), where it was written
/// and whether it is a handler. Under `serial` the same task starts once per batch; it is
/// still one task.
type TaskKey = (usize, String, bool);

#[derive(Default)]
struct State {
    check: bool,
    hosts: BTreeSet<String>,
    plays: usize,
    /// The task now running: when it first started, and where it was written.
    current: Option<(usize, String)>,
    /// Every task run, and when it first started.
    seen: BTreeMap<TaskKey, usize>,
    /// The tasks that would change something, by when they first started.
    tasks: BTreeMap<usize, PlannedTask>,
    files: BTreeMap<String, BTreeSet<String>>,
    /// What each task that manages a container reported, by host and container.
    containers: BTreeMap<(String, String), Vec<ContainerChange>>,
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
            Event::PlayStart { hosts, .. } => {
                self.plays += 1;
                self.hosts.extend(hosts.iter().cloned());
            }
            Event::TaskStart { path, handler, .. } => {
                let next = self.seen.len();
                let order = *self
                    .seen
                    .entry((self.plays, path.clone(), *handler))
                    .or_insert(next);
                self.current = Some((order, path.clone()));
            }
            Event::HostResult {
                host,
                task,
                status,
                files,
                containers,
                ..
            } => {
                if matches!(status, Status::Ok | Status::Changed) {
                    for container in containers {
                        self.containers
                            .entry((host.clone(), container.name.clone()))
                            .or_default()
                            .push(container.clone());
                    }
                }
                if *status != Status::Changed {
                    return None;
                }
                let (order, path) = self.current.as_ref()?;
                self.tasks
                    .entry(*order)
                    .or_insert_with(|| PlannedTask {
                        task: task.clone(),
                        path: path.clone(),
                        hosts: BTreeSet::new(),
                    })
                    .hosts
                    .insert(host.clone());
                for file in files {
                    self.files
                        .entry(file.clone())
                        .or_default()
                        .insert(host.clone());
                }
            }
            Event::Recap { .. } if self.check => return Some(self.plan()),
            _ => {}
        }
        None
    }

    fn plan(&self) -> Plan {
        let mut containers: Vec<PlannedContainer> = self
            .containers
            .iter()
            .filter_map(|((host, name), changes)| {
                Some(PlannedContainer {
                    host: host.clone(),
                    name: name.clone(),
                    change: ContainerPlan::of(changes)?,
                })
            })
            .collect();
        containers.sort();
        Plan {
            hosts: self.hosts.len(),
            tasks_run: self.seen.len(),
            tasks: self.tasks.values().cloned().collect(),
            files: self.files.clone(),
            containers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|h| (*h).to_owned()).collect()
    }

    fn container(host: &str, change: ContainerPlan) -> PlannedContainer {
        PlannedContainer {
            host: host.to_owned(),
            name: "quay".to_owned(),
            change,
        }
    }

    #[test]
    fn a_plan_counts_files_containers_and_hosts() {
        let plan = Plan {
            hosts: 6,
            tasks_run: 5,
            tasks: vec![PlannedTask {
                task: "Install".into(),
                path: "p.yml:3:5".into(),
                hosts: hosts(&["a", "b"]),
            }],
            files: BTreeMap::from([
                ("/etc/quay/config.yaml".to_owned(), hosts(&["a", "b"])),
                ("/etc/quay/extra/config.yaml".to_owned(), hosts(&["a"])),
                ("/etc/quay/ssl.cert".to_owned(), hosts(&["b"])),
            ]),
            containers: vec![
                container("a", ContainerPlan::Restart),
                container("b", ContainerPlan::Restart),
                container("c", ContainerPlan::Start),
            ],
        };
        assert_eq!(
            plan.summary(),
            "/etc/quay/config.yaml would change on 2 of 6 hosts; \
             /etc/quay/extra/config.yaml would change on 1 of 6 hosts; \
             ssl.cert would change on 1 of 6 hosts; 2 containers would restart; \
             1 container would start; 1 of 5 tasks would change something, on 2 of 6 hosts"
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

    #[test]
    fn one_file_under_a_root_of_each_host_is_named_once() {
        let plan = Plan {
            hosts: 2,
            tasks_run: 1,
            tasks: vec![PlannedTask {
                task: "Install".into(),
                path: "p.yml:3:5".into(),
                hosts: hosts(&["a", "b"]),
            }],
            files: BTreeMap::from([
                ("/hosts/a/quay/config.yaml".to_owned(), hosts(&["a"])),
                ("/hosts/b/quay/config.yaml".to_owned(), hosts(&["b"])),
            ]),
            containers: Vec::new(),
        };
        assert_eq!(
            plan.summary(),
            "config.yaml would change on 2 of 2 hosts; 1 of 1 tasks would change something, on 2 of 2 hosts"
        );
    }

    #[test]
    fn a_container_is_followed_through_the_run() {
        let change = |was_running, running, restarted| ContainerChange {
            name: "quay".to_owned(),
            was_running,
            running,
            restarted,
        };
        let of = ContainerPlan::of;
        // `podman_run` of a container that was not running.
        assert_eq!(
            of(&[change(false, true, false)]),
            Some(ContainerPlan::Start)
        );
        // `podman_run` with `restart: true`, or a new spec.
        assert_eq!(
            of(&[change(true, true, true)]),
            Some(ContainerPlan::Restart)
        );
        // Already running as asked.
        assert_eq!(of(&[change(true, true, false)]), None);
        // `podman_stop`, then `podman_run`, which in check mode still sees it running.
        assert_eq!(
            of(&[change(true, false, false), change(true, true, false)]),
            Some(ContainerPlan::Restart)
        );
        assert_eq!(of(&[change(true, false, false)]), Some(ContainerPlan::Stop));
        assert_eq!(of(&[change(false, false, false)]), None);
        assert_eq!(of(&[]), None);
    }

    fn task_start(path: &str, action: &str) -> Event {
        Event::TaskStart {
            task: path.to_owned(),
            path: path.to_owned(),
            handler: false,
            action: Some(action.to_owned()),
            hosts: 1,
            host_names: vec!["a".to_owned()],
        }
    }

    fn result(status: Status, containers: Vec<ContainerChange>) -> Event {
        Event::HostResult {
            origin: None,
            host: "a".to_owned(),
            delegated_to: None,
            task: String::new(),
            status,
            changed: status == Status::Changed,
            msg: None,
            item: None,
            duration_ms: 0,
            result: None,
            diffs: Vec::new(),
            files: Vec::new(),
            containers,
            output: None,
        }
    }

    fn change(name: &str, was_running: bool, running: bool, restarted: bool) -> ContainerChange {
        ContainerChange {
            name: name.to_owned(),
            was_running,
            running,
            restarted,
        }
    }

    /// Regression: the plan counted hosts with a container task, not containers, and
    /// called a container that would only start a restart.
    #[test]
    fn the_plan_counts_containers_and_what_would_happen_to_them() {
        let mut state = State::default();
        let events = [
            Event::PlaybookStart {
                playbook: "p.yml".to_owned(),
                check: true,
            },
            Event::PlayStart {
                name: "p".to_owned(),
                hosts: vec!["a".to_owned()],
            },
            task_start("p.yml:1:1", "podman_run"),
            result(Status::Changed, vec![change("quay", true, true, true)]),
            task_start("p.yml:2:1", "podman_run"),
            result(Status::Changed, vec![change("clair", false, true, false)]),
            task_start("p.yml:3:1", "podman_stop"),
            result(Status::Changed, vec![change("redis", true, false, false)]),
            task_start("p.yml:4:1", "podman_run"),
            result(Status::Ok, vec![change("mirror", true, true, false)]),
            // A failed task changes nothing to go by.
            task_start("p.yml:5:1", "podman_run"),
            result(Status::Failed, vec![change("builder", false, true, false)]),
        ];
        for event in &events {
            assert_eq!(state.observe(event), None);
        }
        let plan = state
            .observe(&Event::Recap {
                hosts: BTreeMap::new(),
                interrupted: false,
                handlers_not_run: BTreeMap::new(),
                round_trips: BTreeMap::new(),
            })
            .unwrap();
        assert_eq!(
            plan.summary(),
            "1 container would restart; 1 container would start; 1 container would stop; \
             3 of 5 tasks would change something, on 1 of 1 hosts"
        );
        assert_eq!(
            serde_json::to_value(&plan.containers).unwrap(),
            serde_json::json!([
                {"host": "a", "name": "clair", "change": "start"},
                {"host": "a", "name": "quay", "change": "restart"},
                {"host": "a", "name": "redis", "change": "stop"},
            ])
        );
    }
}
