//! Pipelining wired in: the tasks of a segment (consecutive tasks that may be pipelined,
//! `pipeline.rs`) are sent to each host as one chain of *units* (a task, or one item of
//! its loop), each written to the host's shell as soon as the units before it have been
//! written, before their answers come back; the host runs them in order and stops at the
//! first failure. The tasks themselves still run one after another through the linear
//! strategy's code (`run_list`, `run_task`, `attempt`): each host's `attempt` takes its
//! unit's result from the chain instead of rendering and running the task itself, so
//! events, output and the recap come from the same code, in task order.
//!
//! A unit's turn to write comes after every unit before it on the host has written its
//! request or finished without one ([`Sequencer`]). One that finished without writing
//! (`when` false, a failure on the controller such as an undefined variable) passes its
//! verdict on: after a failure, the next tasks are not sent. The host's shell decides the
//! rest from the exit statuses ([`Chain`]). A unit the host did not run, or that was not
//! sent, is run again on its own by the linear path ([`Unit::Again`]): slower, never
//! different; it is only asked for if the host did not fail, which the chain rules out.

use std::sync::Mutex;

use async_trait::async_trait;
use minijinja::Value;
use tokio::sync::{oneshot, watch};

use super::context::TaskRun;
use super::task::{Ready, item_context, loop_items};
use super::{Inherited, PlayScope, Runner, Stop};
use crate::playbook::Task;
use crate::tasks::Outcome;
use crate::transport::{Chain, Connection, Output, Pipeline, SKIPPED, Script, TransportError};

/// Where a unit's result waits for the linear path: the task (by address), the host, the
/// loop item.
pub(super) type UnitKey = (usize, String, Option<usize>);

pub(super) fn unit_key(task: &Task, host: &str, item: Option<usize>) -> UnitKey {
    (std::ptr::from_ref(task) as usize, host.to_owned(), item)
}

/// What a unit's chain hands the linear path.
pub(super) enum Unit {
    /// It ended before touching the host (`when`, rendering): the result as it is.
    Early(Result<Outcome, TransportError>),
    /// It ran: the task as rendered, and what its type made of the answer.
    Ran(Box<Ready>, Result<Outcome, TransportError>),
    /// The host did not run it, or it was not sent: run it on its own.
    Again,
}

/// Whose turn it is to write on one host, and what the units before it decided.
#[derive(Debug, Default)]
struct Turns {
    turn: usize,
    /// A task before the current one failed on the controller: nothing more is sent.
    stopped: bool,
    /// The current task failed on the controller (one of its items did).
    task_failed: bool,
}

/// The order in which a host's units write their requests: unit `k` writes (or gives its
/// verdict) once units `0..k` have.
pub(super) struct Sequencer {
    turns: watch::Sender<Turns>,
}

impl Sequencer {
    pub(super) fn new() -> Sequencer {
        Sequencer {
            turns: watch::Sender::new(Turns::default()),
        }
    }

    /// Wait for unit `k`'s turn, and take its place in the chain: whether it may still be
    /// sent (no task before it failed on the controller, and the run goes on).
    pub(super) async fn turn(&self, k: usize, chain: Chain, stopping: bool) -> bool {
        let mut turns = self.turns.subscribe();
        // The sender lives as long as `self`.
        let _ = turns.wait_for(|turns| turns.turn == k).await;
        let mut may = false;
        self.turns.send_modify(|turns| {
            match chain {
                Chain::Start => {
                    turns.stopped = false;
                    turns.task_failed = false;
                }
                Chain::Next => {
                    turns.stopped |= turns.task_failed;
                    turns.task_failed = false;
                }
                Chain::Also => turns.task_failed = false,
                Chain::Item => {}
            }
            turns.stopped |= stopping;
            may = !turns.stopped;
        });
        may
    }

    /// The unit whose turn it is has written its request, or ended (`failed` on the
    /// controller, or not): the next one's turn.
    pub(super) fn pass(&self, failed: bool) {
        self.turns.send_modify(|turns| {
            turns.task_failed |= failed;
            turns.turn += 1;
        });
    }
}

/// One unit of a host's chain.
struct UnitSpec {
    /// Its task, by index in the segment.
    task: usize,
    item: Option<usize>,
    /// Its context; `None` when the loop itself could not be read (the task fails).
    ctx: Option<Value>,
    chain: Chain,
}

/// One task of a segment, as the chains see it.
struct Planned<'t> {
    task: &'t Task,
    effective: Inherited,
    run: TaskRun,
    /// Its type decides its failure on the controller
    /// ([`crate::tasks::TaskType::pipelines_holding`]): the units after it wait for its
    /// result, not only for its request to be written.
    holds: bool,
}

/// The connection a unit's task type runs its one script through: it waits for the
/// unit's turn, writes the request, passes the turn on and waits for the answer.
struct UnitConnection<'a> {
    connection: &'a dyn Connection,
    pipeline: &'a dyn Pipeline,
    sequencer: &'a Sequencer,
    k: usize,
    chain: Chain,
    /// The turn passes when the task's result is known, not when its request is written.
    holds: bool,
    stopping: &'a crate::interrupt::Interrupt,
    state: Mutex<UnitState>,
    /// Where it is noted once sent ([`Runner::sent`]), by its key.
    sent: (&'a Mutex<std::collections::BTreeSet<UnitKey>>, UnitKey),
}

#[derive(Default, Clone, Copy)]
struct UnitState {
    /// It has had its turn (written, or found the chain stopped).
    turned: bool,
    /// It has passed the turn on.
    passed: bool,
    /// It was not written: the chain had stopped.
    not_sent: bool,
    /// The host did not run it: a task before it failed there.
    host_skipped: bool,
}

impl UnitConnection<'_> {
    fn state(&self) -> std::sync::MutexGuard<'_, UnitState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Pass the turn on, once.
    fn pass(&self, failed: bool) {
        if !std::mem::replace(&mut self.state().passed, true) {
            self.sequencer.pass(failed);
        }
    }
}

#[async_trait]
impl Connection for UnitConnection<'_> {
    fn host(&self) -> &str {
        self.connection.host()
    }

    async fn run(&self, script: &Script) -> Result<Output, TransportError> {
        let skipped = || Output {
            status: SKIPPED,
            ..Output::default()
        };
        if std::mem::replace(&mut self.state().turned, true) {
            let state = *self.state();
            if state.not_sent || state.host_skipped {
                return Ok(skipped());
            }
            if self.holds {
                // A later request of a task that holds the turn: every request before it
                // has been answered, so it starts a chain of its own on the same shell.
                let ticket = self.pipeline.send(script, Chain::Start).await?;
                return self.pipeline.answer(ticket, script).await;
            }
            // A second script of a task that passed the turn on: task types that pipeline
            // make one, so this is not reached; it runs on a channel of its own.
            return self.connection.run(script).await;
        }
        if !self
            .sequencer
            .turn(self.k, self.chain, self.stopping.is_stopping())
            .await
        {
            self.pass(false);
            self.state().not_sent = true;
            return Ok(skipped());
        }
        let ticket = match self.pipeline.send(script, self.chain).await {
            Ok(ticket) => ticket,
            Err(error) => {
                self.pass(true);
                return Err(error);
            }
        };
        self.sent
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(self.sent.1.clone());
        if !self.holds {
            self.pass(false);
        }
        let output = self.pipeline.answer(ticket, script).await?;
        if output.status == SKIPPED {
            self.state().host_skipped = true;
        }
        Ok(output)
    }

    async fn forward(&self, remote_host: &str, remote_port: u16) -> Result<u16, TransportError> {
        self.connection.forward(remote_host, remote_port).await
    }

    fn is_local(&self) -> bool {
        self.connection.is_local()
    }
}

/// Whether a result stops the tasks after it (on the controller's side).
fn failed(result: &Result<Outcome, TransportError>) -> bool {
    match result {
        Ok(outcome) => outcome.failed,
        Err(_) => true,
    }
}

impl Runner<'_> {
    /// Run a segment of tasks (each may be pipelined after the one before it) on `hosts`:
    /// one chain per host sends the units ahead while the tasks run one after another
    /// through `run_list`, which takes each host's result from its chain.
    pub(super) async fn run_segment(
        &self,
        scope: &PlayScope<'_>,
        segment: &[Task],
        hosts: &[String],
        inherited: &Inherited,
    ) -> Option<Stop> {
        // Under `free` a host takes a fork for each task: here it holds one for the whole
        // segment, since its chain runs ahead of the tasks (`host_pinned` holds one anyway;
        // under `linear`, nothing to take).
        let _fork = super::free::fork().await;
        let plan: Vec<Planned<'_>> = segment
            .iter()
            .map(|task| {
                let effective = inherited.with(task);
                let run = self.task_run(scope, &effective);
                let holds = match &task.body {
                    crate::playbook::TaskBody::Action { kind, args, .. } => !kind.pipelines(args),
                    _ => true,
                };
                Planned {
                    task,
                    effective,
                    run,
                    holds,
                }
            })
            .collect();
        let mut chains = Vec::new();
        for host in hosts {
            let units = self.units(scope, &plan, host);
            let mut senders = Vec::new();
            {
                let mut prefetched = self.prefetched();
                for unit in &units {
                    if unit.ctx.is_some() {
                        let (sender, receiver) = oneshot::channel();
                        prefetched
                            .insert(unit_key(plan[unit.task].task, host, unit.item), receiver);
                        senders.push(Some(sender));
                    } else {
                        senders.push(None);
                    }
                }
            }
            chains.push((host, units, senders));
        }
        let (done, done_receiver) = watch::channel(false);
        let permits = tokio::sync::Semaphore::new(self.options.forks.max(1));
        let chains = futures::future::join_all(chains.into_iter().map(|(host, units, senders)| {
            self.run_chain(&plan, host, units, senders, &permits, done_receiver.clone())
        }));
        let linear = async {
            let stop = Box::pin(self.run_list_with(scope, segment, hosts, inherited, true)).await;
            done.send_replace(true);
            stop
        };
        let (stop, _) =
            futures::future::join(linear, self.interrupt.unless_abandoned(chains)).await;
        // Results nobody took (hosts that failed before those tasks) are dropped: these
        // hosts' only, as under `free` other hosts run the same segment on their own.
        let keep = |(task, host, _): &UnitKey| {
            !hosts.contains(host)
                || !segment
                    .iter()
                    .any(|planned| std::ptr::from_ref(planned) as usize == *task)
        };
        self.prefetched().retain(|key, _| keep(key));
        self.sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(keep);
        stop
    }

    /// A host's units for the segment, in order, each with its place in the chain.
    fn units(&self, scope: &PlayScope<'_>, plan: &[Planned<'_>], host: &str) -> Vec<UnitSpec> {
        let mut units = Vec::new();
        // `ignore_errors` of the task of the last unit: whether its failure stops the next.
        let mut last: Option<bool> = None;
        for (index, planned) in plan.iter().enumerate() {
            let task = planned.task;
            let first = match last {
                None => Chain::Start,
                Some(true) => Chain::Also,
                Some(false) => Chain::Next,
            };
            let ignores = planned.effective.ignore_errors;
            let ctx = self.context(scope, host, &planned.run);
            if task.r#loop.is_none() {
                units.push(UnitSpec {
                    task: index,
                    item: None,
                    ctx: Some(ctx),
                    chain: first,
                });
                last = Some(ignores);
                continue;
            }
            match loop_items(task, &ctx) {
                Ok(items) => {
                    for item in 0..items.len() {
                        units.push(UnitSpec {
                            task: index,
                            item: Some(item),
                            ctx: Some(item_context(task, &ctx, item, &items)),
                            chain: if item == 0 { first } else { Chain::Item },
                        });
                    }
                    if !items.is_empty() {
                        last = Some(ignores);
                    }
                }
                Err(_) => {
                    units.push(UnitSpec {
                        task: index,
                        item: None,
                        ctx: None,
                        chain: first,
                    });
                    last = Some(ignores);
                }
            }
        }
        units
    }

    /// One host's chain: once the linear path has connected the host, its units run
    /// together, each writing in its turn. Bounded by `forks` with the other hosts'.
    async fn run_chain(
        &self,
        plan: &[Planned<'_>],
        host: &str,
        units: Vec<UnitSpec>,
        senders: Vec<Option<oneshot::Sender<Unit>>>,
        permits: &tokio::sync::Semaphore,
        mut done: watch::Receiver<bool>,
    ) {
        let Ok(_permit) = permits.acquire().await else {
            return;
        };
        // The first task connects its hosts (its events say so when one is unreachable).
        let mut connects = self.connects.subscribe();
        let connection = loop {
            {
                let remote_user = self
                    .remote_user
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone();
                let state = self.state(host);
                if !state.active() {
                    return;
                }
                if let Some(connection) = &state.connection {
                    if state.connected_as == remote_user {
                        break connection.clone();
                    }
                }
            }
            tokio::select! {
                changed = connects.changed() => if changed.is_err() { return },
                _ = done.wait_for(|done| *done) => return,
            }
        };
        let Some(pipeline) = connection.pipeline().await else {
            return;
        };
        let sequencer = Sequencer::new();
        let finished = tokio::sync::Notify::new();
        // After an interrupt, the host skips what it was sent and has not started.
        let watch = async {
            loop {
                if self.interrupt.is_stopping() {
                    pipeline.stop().await;
                    return;
                }
                tokio::select! {
                    () = finished.notified() => return,
                    () = tokio::time::sleep(std::time::Duration::from_millis(100)) => {}
                }
            }
        };
        let units = futures::future::join_all(units.iter().zip(senders).enumerate().map(
            |(k, (unit, sender))| {
                let planned = &plan[unit.task];
                let pipeline = pipeline.as_ref();
                let sequencer = &sequencer;
                let connection = connection.as_ref();
                async move {
                    let result = self
                        .run_unit(planned, host, unit, k, sequencer, pipeline, connection)
                        .await;
                    if let Some(sender) = sender {
                        let _ = sender.send(result);
                    }
                }
            },
        ));
        let units = async {
            units.await;
            finished.notify_one();
        };
        futures::future::join(units, watch).await;
        pipeline.finish().await;
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "a unit, its place in the chain and what it goes through"
    )]
    async fn run_unit(
        &self,
        planned: &Planned<'_>,
        host: &str,
        unit: &UnitSpec,
        k: usize,
        sequencer: &Sequencer,
        pipeline: &dyn Pipeline,
        connection: &dyn Connection,
    ) -> Unit {
        let stopping = || self.interrupt.is_stopping();
        let Some(ctx) = &unit.ctx else {
            sequencer.turn(k, unit.chain, stopping()).await;
            sequencer.pass(true);
            return Unit::Again;
        };
        let (task, effective) = (planned.task, &planned.effective);
        // On the heap: it lives as long as the unit waits for its answer.
        let ready = match self.prepare(task, effective, host, ctx).await {
            Ok(ready) => Box::new(ready),
            Err(result) => {
                sequencer.turn(k, unit.chain, stopping()).await;
                sequencer.pass(failed(&result));
                return Unit::Early(result);
            }
        };
        let through = UnitConnection {
            connection,
            pipeline,
            sequencer,
            k,
            chain: unit.chain,
            holds: planned.holds,
            stopping: &self.interrupt,
            state: Mutex::new(UnitState::default()),
            sent: (&self.sent, unit_key(task, host, unit.item)),
        };
        let mut task_ctx = self.task_context(task, effective, host, ctx, &ready);
        task_ctx.connection = &through;
        task_ctx.pipelined = true;
        let result = ready.action.run(&task_ctx).await;
        drop(task_ctx);
        let state = *through.state();
        if !state.turned {
            // It decided on the controller alone.
            sequencer.turn(k, unit.chain, stopping()).await;
        }
        // A task that holds the turn passes it with its verdict.
        through.pass(failed(&result));
        if state.not_sent || state.host_skipped {
            return Unit::Again;
        }
        Unit::Ran(ready, result)
    }

    /// After an interrupt: the hosts among `hosts` that ran `task` (one of its items, at
    /// least) ahead, or were still running it when the grace period ended; their results
    /// wait to be reported as they are.
    pub(super) async fn ran_ahead(&self, task: &Task, hosts: &[String]) -> Vec<String> {
        let mut ran = Vec::new();
        for host in hosts {
            let keys: Vec<UnitKey> = self
                .prefetched()
                .keys()
                .filter(|key| key.0 == unit_key(task, host, None).0 && key.1 == *host)
                .cloned()
                .collect();
            let mut any = false;
            for key in keys {
                let Some(mut receiver) = self.prefetched().remove(&key) else {
                    continue;
                };
                let unit = match self.interrupt.unless_abandoned(&mut receiver).await {
                    Some(Ok(unit)) => unit,
                    Some(Err(_)) => continue,
                    // Still unanswered when the run gave up waiting: the first such task
                    // of the host's (it runs its tasks in order, so no earlier one was given
                    // up on) is the one in flight, reported as given up on as a task in
                    // flight is; the later ones did not start.
                    None => {
                        if self.state(host).counts.interrupted == 0 {
                            any = true;
                            self.prefetched().insert(key, receiver);
                        }
                        continue;
                    }
                };
                any |= matches!(unit, Unit::Ran(..));
                let (sender, receiver) = oneshot::channel();
                let _ = sender.send(unit);
                self.prefetched().insert(key, receiver);
            }
            if any {
                ran.push(host.clone());
            }
        }
        ran
    }

    /// Whether the unit of `key` was sent to its host (forgotten now: it is asked once).
    pub(super) fn take_sent(&self, key: &UnitKey) -> bool {
        self.sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(key)
    }

    pub(super) fn prefetched(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<UnitKey, oneshot::Receiver<Unit>>>
    {
        self.prefetched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// Units finish their work in any order; they write in theirs.
    #[tokio::test]
    async fn units_write_in_order_whatever_order_they_are_ready_in() {
        let sequencer = Arc::new(Sequencer::new());
        let written = Arc::new(Mutex::new(Vec::new()));
        let mut handles = Vec::new();
        for k in (0..5).rev() {
            let (sequencer, written) = (sequencer.clone(), written.clone());
            handles.push(tokio::spawn(async move {
                // Later units are ready first.
                tokio::time::sleep(std::time::Duration::from_millis(10 * (5 - k) as u64)).await;
                let chain = if k == 0 { Chain::Start } else { Chain::Next };
                assert!(sequencer.turn(k, chain, false).await);
                written.lock().unwrap().push(k);
                sequencer.pass(false);
            }));
        }
        for handle in handles {
            handle.await.unwrap();
        }
        assert_eq!(*written.lock().unwrap(), [0, 1, 2, 3, 4]);
    }

    /// A failure on the controller stops the next tasks, not the next items of its own
    /// loop; an ignored failure stops nothing; an interruption stops what is not sent.
    #[tokio::test]
    async fn controller_failures_stop_the_next_tasks_only() {
        let sequencer = Sequencer::new();
        let mut may = Vec::new();
        let steps = [
            (Chain::Start, false),
            (Chain::Next, true),  // item 1 of a loop fails on the controller
            (Chain::Item, false), // item 2 is still sent
            (Chain::Next, false), // the next task is not
            (Chain::Item, false),
        ];
        for (k, (chain, fails)) in steps.into_iter().enumerate() {
            may.push(sequencer.turn(k, chain, false).await);
            sequencer.pass(fails);
        }
        assert_eq!(may, [true, true, true, false, false]);

        let sequencer = Sequencer::new();
        let mut may = Vec::new();
        let steps = [
            (Chain::Start, true, false), // fails, with ignore_errors
            (Chain::Also, false, false), // sent all the same
            (Chain::Next, false, true),  // the run is interrupted
            (Chain::Next, false, false),
        ];
        for (k, (chain, fails, stopping)) in steps.into_iter().enumerate() {
            may.push(sequencer.turn(k, chain, stopping).await);
            sequencer.pass(fails);
        }
        assert_eq!(may, [true, true, false, false]);
    }
}
