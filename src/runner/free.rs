//! The `free` and `host_pinned` strategies, as ansible-core 2.19 runs them.
//!
//! Each host of a batch goes through the play's task lists on its own, not waiting for
//! the other hosts between tasks: the same per-host code as the linear strategy
//! (`run_list`, blocks, includes, handlers) run with one host at a time. `forks` bounds
//! the hosts at work: under `free` a host takes a fork for each task and gives it back
//! after (hosts waiting for one take turns, first come first served), under
//! `host_pinned` a host keeps its fork from its first task to its last.
//!
//! What ansible-core does differently under these strategies, done the same here:
//! - a task's banner is printed before a result whenever the previous result shown was
//!   of another task ([`Output`]), so it repeats as hosts interleave;
//! - `any_errors_fatal` and `max_fail_percentage` are ignored, with a warning;
//! - `run_once` runs on every host, with a warning (a failed `run_once` task still fails
//!   every host of the batch, which stop at their next task);
//! - `meta: end_play` on one host ends the play for every host at its next task;
//! - handlers are flushed per host, when that host reaches the flush.
//!
//! What cannot be done the same is refused before the run: task types that act on every
//! host of the batch together ([`check_strategy_placement`]), `--step` and
//! `--start-at-task` ([`check_strategy_options`]).

use std::cell::Cell;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{Inherited, PlayScope, PreparedPlay, RunOptions, Runner, Stop};
use crate::diagnostic::Diagnostic;
use crate::playbook::{Play, Playbook, Strategy, Task};
use crate::report::{Event, Reporter};
use crate::tasks::{Across, TaskKind};

/// ansible-core 2.19.14's warnings, word for word.
const ANY_ERRORS_FATAL: &str = "Using any_errors_fatal with the free strategy is not supported, \
                                as tasks are executed independently on each host";
const MAX_FAIL_PERCENTAGE: &str = "Using max_fail_percentage with the free strategy is not \
                                   supported, as tasks are executed independently on each host";
const RUN_ONCE: &str = "Using run_once with the free strategy is not currently supported. This \
                        task will still be executed for every host in the inventory list.";

/// The forks of a batch under `free`, as one host's run sees them.
struct Forks {
    semaphore: Arc<Semaphore>,
    /// The host holds a fork now (work nested in its task takes no other).
    held: Cell<bool>,
}

tokio::task_local! {
    static FORKS: Forks;
}

/// A fork held by a host for one task under `free`.
pub(super) struct Fork {
    _permit: OwnedSemaphorePermit,
}

impl Drop for Fork {
    fn drop(&mut self) {
        let _ = FORKS.try_with(|forks| forks.held.set(false));
    }
}

/// Under `free`, wait for a fork for the host's next piece of work; outside a `free`
/// host's run (or when it holds one already), nothing to wait for.
pub(super) async fn fork() -> Option<Fork> {
    let semaphore = FORKS
        .try_with(|forks| (!forks.held.get()).then(|| forks.semaphore.clone()))
        .ok()
        .flatten()?;
    // The other hosts first get their turn to queue for a fork: hosts take turns, as
    // ansible-core's free strategy gives each host its next task in turn.
    tokio::task::yield_now().await;
    let permit = semaphore.acquire_owned().await.ok()?;
    let _ = FORKS.try_with(|forks| forks.held.set(true));
    Some(Fork { _permit: permit })
}

/// Refuse, before the run, options a play under `free` or `host_pinned` cannot honour:
/// `--step` (ansible-core asks per host) and `--start-at-task` (quayside finds the task
/// once for the run, ansible-core once per host).
pub fn check_strategy_options(playbook: &Playbook, options: &RunOptions) -> Result<(), Diagnostic> {
    let Some(play) = playbook
        .plays
        .iter()
        .find(|play| play.strategy != Strategy::Linear)
    else {
        return Ok(());
    };
    let option = if options.step {
        "--step"
    } else if options.start_at_task.is_some() {
        "--start-at-task"
    } else {
        return Ok(());
    };
    let message = format!(
        "{option} cannot be used with a play whose strategy is `{}`",
        play.strategy.name()
    );
    let hint = "run it with `strategy: linear` (the play's `strategy`, ansible.cfg's \
                `[defaults] strategy` or ANSIBLE_STRATEGY)";
    Err(match &play.strategy_span {
        Some(span) => Diagnostic::at(message, span.clone()),
        None => Diagnostic::at(
            format!("{message} (from ansible.cfg or ANSIBLE_STRATEGY)"),
            play.span.clone(),
        ),
    }
    .with_hint(hint))
}

/// Refuse, before the run, a task whose type acts on every host of the batch together
/// ([`Across::Together`]) in a play whose hosts go through the tasks on their own.
pub fn check_strategy_placement(
    task: &Task,
    kind: TaskKind,
    play: &Play,
) -> Result<(), Diagnostic> {
    if play.strategy == Strategy::Linear || kind.across() != Across::Together {
        return Ok(());
    }
    Err(
        Diagnostic::at(not_together(kind, play.strategy), task.span.clone())
            .with_hint("put it in a play of its own with `strategy: linear`"),
    )
}

fn not_together(kind: TaskKind, strategy: Strategy) -> String {
    format!(
        "`{kind}` cannot run in a play whose strategy is `{}`: it acts on every host of the \
         batch at once, and under `{}` each host goes through the tasks on its own",
        strategy.name(),
        strategy.name()
    )
}

impl Runner<'_> {
    /// One batch under `free` or `host_pinned`: every host through the play's task lists
    /// on its own.
    pub(super) async fn run_batch_free(
        &self,
        prepared: &PreparedPlay,
        batch: &[String],
        inherited: &Inherited,
    ) -> Option<Stop> {
        let play = &prepared.play;
        let scope = PlayScope { prepared, batch };
        self.warn_free(play);
        let semaphore = Arc::new(Semaphore::new(self.options.forks.max(1)));
        let pinned = play.strategy == Strategy::HostPinned;
        let scope = &scope;
        let runs = batch.iter().map(|host| {
            let semaphore = semaphore.clone();
            async move {
                // `host_pinned`: the host keeps its fork until it is done.
                let _pinned = if pinned {
                    semaphore.clone().acquire_owned().await.ok()
                } else {
                    None
                };
                let forks = Forks {
                    semaphore,
                    held: Cell::new(pinned),
                };
                FORKS
                    .scope(forks, self.run_host_free(scope, host, inherited))
                    .await
            }
        });
        let stops = futures::future::join_all(runs).await;
        if stops.contains(&Some(Stop::Interrupted)) || self.is_interrupted() {
            return Some(Stop::Interrupted);
        }
        // `meta: end_play` ends the play: its later batches too, as in ansible-core.
        stops.into_iter().flatten().next()
    }

    /// One host's run of a batch's task lists, as `run_batch` runs them for every host.
    async fn run_host_free(
        &self,
        scope: &PlayScope<'_>,
        host: &String,
        inherited: &Inherited,
    ) -> Option<Stop> {
        let play = &scope.prepared.play;
        let hosts = std::slice::from_ref(host);
        if play.gather_facts && !self.is_interrupted() {
            let own = PlayScope {
                prepared: scope.prepared,
                batch: hosts,
            };
            self.gather_facts(&own).await;
        }
        for section in play.sections() {
            for list in section {
                match self.run_list(scope, list, hosts, inherited).await {
                    Some(stop @ (Stop::EndPlay | Stop::EndBatch)) => {
                        // As ansible-core: every host of the play (or batch) ends it, at
                        // its next task.
                        for other in scope.batch {
                            self.state(other).ended = true;
                        }
                        return Some(stop);
                    }
                    Some(stop) => return Some(stop),
                    None => {}
                }
            }
            if let Some(stop) = self.flush_section_handlers(scope, hosts, inherited).await {
                return Some(stop);
            }
        }
        None
    }

    /// ansible-core shows a `meta` task (`flush_handlers`, `end_host`, `end_play`, `noop`)
    /// its `when` skips on a host as skipped (not counted): under `free` and `host_pinned`
    /// a banner and `skipping` per such host; under `linear` a banner per host.
    pub(super) fn meta_skipped(
        &self,
        scope: &PlayScope<'_>,
        task: &Task,
        inherited: &Inherited,
        hosts: &[String],
        holding: &[String],
    ) {
        let effective = inherited.with(task);
        let title = match &effective.role {
            Some(role) => format!("{} : {}", role.name, task.display_name()),
            None => task.display_name(),
        };
        // Under `linear`, ansible-core runs a `meta` task host by host and shows its
        // banner for each host, then `skipping` if its `when` was false there; under the
        // others, only the hosts it skips show it.
        let linear = scope.prepared.play.strategy == Strategy::Linear;
        for host in hosts {
            let skipped = !holding.contains(host);
            if !linear && !skipped {
                continue;
            }
            self.reporter.emit(&Event::TaskStart {
                task: title.clone(),
                path: task.span.to_string(),
                handler: effective.handler,
                action: None,
                hosts: 1,
                host_names: vec![host.clone()],
            });
            if skipped {
                self.reporter.emit(&Event::bare_result(
                    host,
                    &title,
                    crate::report::Status::Skipped,
                    None,
                    None,
                    0,
                ));
            }
        }
    }

    /// A task of a type that acts on every host at once, met in a file included under
    /// `free` (what the play names is refused before the run): it fails on each host
    /// rather than run host by host.
    pub(super) fn strategy_refuses(
        &self,
        scope: &PlayScope<'_>,
        task: &Task,
        effective: &Inherited,
        hosts: &[String],
        title: &str,
        across: Across,
    ) -> bool {
        let strategy = scope.prepared.play.strategy;
        let Some(kind) = task.kind() else {
            return false;
        };
        if strategy == Strategy::Linear || across != Across::Together {
            return false;
        }
        let started = std::time::Instant::now();
        for host in hosts {
            let result = Ok(crate::tasks::Outcome::failed(not_together(kind, strategy)));
            self.emit_result(host, title, effective, &result, None, started);
            self.record(host, task, effective, result);
        }
        true
    }

    /// A task starts on a host under `free`: ansible-core's warning when it is `run_once`
    /// (once a run, when the first host reaches such a task), then the host's fork for it.
    pub(super) async fn free_task(
        &self,
        scope: &PlayScope<'_>,
        effective: &Inherited,
    ) -> Option<Fork> {
        if effective.run_once && scope.prepared.play.strategy != Strategy::Linear {
            self.reporter.warn_once(RUN_ONCE);
        }
        fork().await
    }

    /// Whether hosts may pipeline their tasks in a play under `free` or `host_pinned`
    /// (`chain.rs`). There another host can stop this one at its next task, after its
    /// chain has sent that task ahead: by `meta: end_play`, or a `run_once` task that
    /// fails. A play with either (or an include whose file is not known before it runs,
    /// which might hold one) is not pipelined. Nor, under `free`, a batch with more hosts
    /// than forks: hosts take turns for a fork at each task, as in ansible-core, and a
    /// host holding one for a whole segment would change the turns.
    pub(super) fn free_may_pipeline(&self, scope: &PlayScope<'_>) -> bool {
        let play = &scope.prepared.play;
        if play.strategy == Strategy::Free && scope.batch.len() > self.options.forks.max(1) {
            return false;
        }
        play.all_tasks().iter().all(|task| match &task.body {
            crate::playbook::TaskBody::Meta(
                crate::playbook::Meta::EndPlay
                | crate::playbook::Meta::EndBatch
                | crate::playbook::Meta::ClearHostErrors,
            ) => false,
            crate::playbook::TaskBody::Include(include) => {
                include.tasks.is_some() && include.role_args.is_none()
            }
            _ => !task.run_once,
        })
    }

    /// ansible-core's warnings for what these strategies ignore, each once a run.
    fn warn_free(&self, play: &Play) {
        let mut warnings = Vec::new();
        if play.any_errors_fatal {
            warnings.push(ANY_ERRORS_FATAL);
        }
        if play.max_fail_percentage.is_some() {
            warnings.push(MAX_FAIL_PERCENTAGE);
        }
        for message in warnings {
            self.reporter.warn_once(message);
        }
    }
}

/// The run's reporter as the runner sees it. Under `free` and `host_pinned` a task's
/// banner is held back until a result of the task is shown, and shown again whenever a
/// result follows one of another task, as ansible-core's default callback does under these
/// strategies; under `linear` events pass through as they are.
pub(super) struct Output<'a> {
    inner: &'a dyn Reporter,
    free: AtomicBool,
    banners: Mutex<Banners>,
}

#[derive(Default)]
struct Banners {
    /// Each host's task start, not shown yet.
    pending: HashMap<String, Event>,
    /// The task whose banner was shown last: its place, title and whether a handler.
    shown: Option<(String, String, bool)>,
    /// The warnings given once a run.
    warned: BTreeSet<&'static str>,
}

/// Which task a `TaskStart` is, for banners.
fn task_key(event: &Event) -> Option<(String, String, bool)> {
    match event {
        Event::TaskStart {
            task,
            path,
            handler,
            ..
        } => Some((path.clone(), task.clone(), *handler)),
        _ => None,
    }
}

impl<'a> Output<'a> {
    pub(super) fn new(inner: &'a dyn Reporter) -> Self {
        Output {
            inner,
            free: AtomicBool::new(false),
            banners: Mutex::new(Banners::default()),
        }
    }

    /// The strategy of the play now starting.
    pub(super) fn set_strategy(&self, strategy: Strategy) {
        self.free
            .store(strategy != Strategy::Linear, Ordering::SeqCst);
        let mut banners = self.banners.lock().unwrap_or_else(|e| e.into_inner());
        banners.pending.clear();
        banners.shown = None;
    }

    fn warn_once(&self, message: &'static str) {
        let first = self
            .banners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .warned
            .insert(message);
        if first {
            self.inner.emit(&Event::Warning {
                message: message.to_owned(),
            });
        }
    }

    pub(super) fn emit(&self, event: &Event) {
        if !self.free.load(Ordering::SeqCst) {
            return self.inner.emit(event);
        }
        // Held while the banner and the result are written, so no other host's line
        // comes between them.
        let mut banners = self.banners.lock().unwrap_or_else(|e| e.into_inner());
        let host = match event {
            Event::TaskStart { host_names, .. } if host_names.len() == 1 => {
                banners.pending.insert(host_names[0].clone(), event.clone());
                return;
            }
            Event::HostResult { host, .. } | Event::AsyncPoll { host, .. } => Some(host),
            Event::Included { hosts, .. } => hosts.first(),
            _ => None,
        };
        if let Some(start) = host.and_then(|host| banners.pending.get(host)) {
            let key = task_key(start);
            if key != banners.shown {
                self.inner.emit(start);
                banners.shown = key;
            }
        }
        self.inner.emit(event);
    }
}
