//! One task on the hosts of a batch: conditions, loops, retries, rendering, the task type
//! itself, and what the result does to the host's state.

use std::sync::Arc;
use std::time::{Duration, Instant};

use minijinja::Value;
use serde_json::Value as Json;

use super::chain::{Unit, unit_key};
use super::context::{TaskRun, extend};
use super::delegate::Delegation;
use super::{Inherited, PlayScope, Runner};
use crate::playbook::{LoopForm, Task, TaskBody, Unresolved};
use crate::report::{CENSORED, Event, Status};
use crate::tasks::{Across, Outcome, TaskContext, TaskKind, parse_action};
use crate::template;
use crate::transport::{Connection, LocalConnection, TransportError};
use crate::vars::Vars;
use crate::yaml::{Node, Value as YamlValue};

/// A task rendered for one host, with what it needs to run there.
pub(super) struct Ready {
    /// The task's type (a templated one's, as this host names it).
    pub(super) kind: TaskKind,
    pub(super) action: crate::tasks::Action,
    /// Its arguments as rendered for the host (`~` made the home), which `action` was read
    /// from: an `async` job keeps them for `async_status`.
    args: Node,
    connection: Arc<dyn Connection>,
    env: Vec<(String, String)>,
    become_user: Option<String>,
    /// Where `delegate_to` sends it, if it does.
    delegation: Option<Delegation>,
}

/// What a task left on one host, for `run_once` to hand to the others.
pub(super) struct HostOutcome {
    registered: Json,
    facts: Vars,
}

impl Runner<'_> {
    pub(super) async fn run_task(
        &self,
        scope: &PlayScope<'_>,
        task: &Task,
        hosts: &[String],
        inherited: &Inherited,
        handler: bool,
    ) {
        if !self.task_selected(task, inherited) || !self.step_confirms(task) {
            return;
        }
        let effective = inherited.with(task);
        let handler = handler || inherited.handler;
        // Under `free`: ansible-core's warning for `run_once`, and the host's fork for the
        // whole task (connecting included).
        let _fork = self.free_task(scope, &effective).await;
        self.run_task_now(scope, task, hosts, &effective, handler)
            .await;
    }

    async fn run_task_now(
        &self,
        scope: &PlayScope<'_>,
        task: &Task,
        hosts: &[String],
        effective: &Inherited,
        handler: bool,
    ) {
        let effective = effective.clone();
        let mut run = self.task_run(scope, &effective);
        run.title = match (&task.name, hosts.first()) {
            // As Ansible: a task's name is rendered with the first host's variables; one
            // that cannot be rendered is shown as written.
            (Some(name), Some(first)) if crate::yaml::is_template(name) => {
                let ctx = self.context(scope, first, &run);
                template::render_str(name, &task.span, &ctx).unwrap_or_else(|_| name.clone())
            }
            _ => task.display_name(),
        };
        // As Ansible: a role's task is shown as `role : task`.
        if let Some(role) = &effective.role {
            run.title = format!("{} : {}", role.name, run.title);
        }
        let run = run;
        self.reporter.emit(&Event::TaskStart {
            task: run.title.clone(),
            path: task.span.to_string(),
            handler,
            action: task.action_name(),
            hosts: if effective.run_once { 1 } else { hosts.len() },
            host_names: if effective.run_once {
                hosts[..1].to_vec()
            } else {
                hosts.to_vec()
            },
        });
        let targets: &[String] = if effective.run_once {
            &hosts[..1]
        } else {
            hosts
        };
        // Hosts are connected to when a task first needs them: a task delegated to
        // localhost, or one that runs on the controller (`debug`, `set_fact`...), does not
        // need its host reachable, as in Ansible. A task that runs on each host on its own
        // starts on a host as soon as it is connected; one across the hosts waits for all.
        let across = task.kind().map_or(Across::EachHost, TaskKind::across);
        let task_user = effective
            .remote_user
            .as_ref()
            .map(|(user, _)| user.as_str());
        let connect_each = needs_connection(task, &effective) && across == Across::EachHost;
        let connected: Vec<String>;
        let mut targets = targets;
        if needs_connection(task, &effective) && !connect_each {
            self.connect_all(targets, task_user, Some(&task.span)).await;
            connected = targets
                .iter()
                .filter(|h| !self.state(h).unreachable)
                .cloned()
                .collect();
            targets = &connected;
        }
        if self.strategy_refuses(scope, task, &effective, targets, &run.title, across) {
            return;
        }
        if across == Across::Together && task.r#loop.is_none() {
            self.run_together(scope, task, &effective, targets, &run)
                .await;
            return;
        }
        // Hosts that rendered a file the others disagree with fail here; the rest (hosts
        // the task skips) go on as usual.
        let remaining: Vec<String>;
        if across == Across::AgreeFirst {
            if let Some((reason, taking_part)) = self
                .disagreement(scope, task, &effective, targets, &run)
                .await
            {
                let started = Instant::now();
                for host in &taking_part {
                    let result = Ok(Outcome::failed(reason.clone()));
                    self.emit_result(host, &run.title, &effective, &result, None, started);
                    self.record(host, task, &effective, result);
                }
                remaining = targets
                    .iter()
                    .filter(|h| !taking_part.contains(h))
                    .cloned()
                    .collect();
                targets = &remaining;
            }
        }
        let effective = &effective;
        let run = &run;
        let (outcomes, abandoned) = self
            .each_host(targets, |host| async move {
                if connect_each && !self.connect_host(host, task_user, Some(&task.span)).await {
                    return None;
                }
                self.run_on_host(scope, task, effective, host, run).await
            })
            .await;
        for host in abandoned {
            self.report_abandoned(host, &task.display_name());
        }
        if effective.run_once {
            if let Some(Some(outcome)) = outcomes.into_iter().next() {
                for host in &hosts[1..] {
                    let mut state = self.state(host);
                    state.facts.extend(outcome.facts.clone());
                    if let Some(name) = &task.register {
                        state.facts.insert(name.clone(), outcome.registered.clone());
                    }
                }
            }
        }
    }

    async fn run_on_host(
        &self,
        scope: &PlayScope<'_>,
        task: &Task,
        effective: &Inherited,
        host: &str,
        run: &TaskRun,
    ) -> Option<HostOutcome> {
        let started = Instant::now();
        self.reporter.emit(&Event::HostStart {
            host: host.to_owned(),
        });
        let ctx = self.context(scope, host, run);
        let name = run.title.clone();
        let result = match &task.r#loop {
            None => {
                let result = self.attempt(task, effective, host, &ctx, None).await;
                let delegated = self.shown_delegation(effective, host, &ctx, &result);
                self.emit_delegated(host, delegated, &name, effective, &result, None, started);
                result
            }
            Some(_) => {
                let result = self
                    .run_loop(task, effective, host, &ctx, started, run)
                    .await;
                self.reporter.emit(&Event::LoopResult {
                    host: host.to_owned(),
                    task: name.clone(),
                    status: status(&result, effective),
                    changed: result.as_ref().is_ok_and(|outcome| outcome.changed),
                    items: result
                        .as_ref()
                        .ok()
                        .and_then(|outcome| outcome.data.get("results"))
                        .and_then(Json::as_array)
                        .map_or(0, Vec::len),
                    msg: match &result {
                        _ if effective.no_log => Some(CENSORED.to_owned()),
                        Ok(outcome) => outcome.msg.clone(),
                        Err(error) => Some(error.to_string()),
                    },
                    duration_ms: started.elapsed().as_millis() as u64,
                });
                result
            }
        };
        let task = self.with_rendered_notify(&scope.prepared.play.handlers, task, &ctx, &result);
        self.record(host, &task, effective, result)
    }

    /// What a task's result does to the host: counts, failure, notified handlers,
    /// registered values and facts.
    pub(super) fn record(
        &self,
        host: &str,
        task: &Task,
        effective: &Inherited,
        result: Result<Outcome, TransportError>,
    ) -> Option<HostOutcome> {
        let Ok(outcome) = result else {
            // The event was emitted where the error happened.
            let mut state = self.state(host);
            state.unreachable = true;
            state.counts.unreachable += 1;
            return None;
        };
        let registered = outcome.registered();
        let mut state = self.state(host);
        if outcome.interrupted {
            state.counts.interrupted += 1;
        } else if outcome.failed {
            if effective.ignore_errors {
                // As Ansible counts an ignored failure: ok, changed if it changed, ignored.
                state.counts.ok += 1;
                state.counts.ignored += 1;
                if outcome.changed {
                    state.counts.changed += 1;
                }
            } else if effective.rescuable {
                // A `rescue` will run: Ansible counts the failure as rescued at once, and
                // gives the rescue the failed task and its result.
                state.failed = true;
                state.rescue_pending = true;
                state.counts.rescued += 1;
                state
                    .facts
                    .insert("ansible_failed_result".into(), registered.clone());
                state.facts.insert(
                    "ansible_failed_task".into(),
                    super::failed_task::failed_task(task),
                );
            } else {
                state.failed = true;
                state.counts.failed += 1;
            }
        } else if outcome.skipped {
            state.counts.skipped += 1;
        } else {
            state.counts.ok += 1;
            if outcome.changed {
                state.counts.changed += 1;
                state.notified.extend(task.notify.iter().cloned());
            }
        }
        // As Ansible: a registered value stands above the facts a module returns (a
        // module's `ansible_facts` are host facts, below registered variables).
        state.facts.extend(outcome.facts.clone());
        if let Some(name) = &task.register {
            state.facts.insert(name.clone(), registered.clone());
        }
        Some(HostOutcome {
            registered,
            facts: outcome.facts,
        })
    }

    /// Why the hosts of the batch may not run a task that asks them to agree on what they
    /// render (`template_config` with `same_on_all_hosts`), if they may not, and the hosts
    /// that took part. Every host renders it here, every loop item too; hosts it skips
    /// take no part.
    async fn disagreement(
        &self,
        scope: &PlayScope<'_>,
        task: &Task,
        effective: &Inherited,
        targets: &[String],
        run: &TaskRun,
    ) -> Option<(String, Vec<String>)> {
        let mut renderings: Vec<(&str, crate::tasks::Rendering)> = Vec::new();
        let mut asked = false;
        for host in targets {
            let ctx = self.context(scope, host, run);
            let contexts = match &task.r#loop {
                None => Ok(vec![ctx]),
                Some(_) => loop_items(task, &ctx).map(|items| {
                    (0..items.len())
                        .map(|index| item_context(task, &ctx, index, &items))
                        .collect()
                }),
            };
            let rendered = match contexts {
                Ok(contexts) => {
                    self.renderings(task, effective, host, &contexts, &mut asked)
                        .await
                }
                Err(message) => Err(message),
            };
            match rendered {
                Ok(files) if files.is_empty() => {}
                other => renderings.push((host, other)),
            }
        }
        if !asked {
            return None;
        }
        let reason = crate::tasks::agreement(&renderings)?;
        Some((
            reason,
            renderings
                .iter()
                .map(|(host, _)| (*host).to_owned())
                .collect(),
        ))
    }

    /// What a task renders on one host, in each of its contexts (loop items); `asked` is
    /// set when the task type renders anything to agree on.
    async fn renderings(
        &self,
        task: &Task,
        effective: &Inherited,
        host: &str,
        contexts: &[Value],
        asked: &mut bool,
    ) -> crate::tasks::Rendering {
        let mut files = Vec::new();
        for ctx in contexts {
            match self.prepare(task, effective, host, ctx).await {
                Ok(ready) => {
                    if let Some(rendering) = ready.action.rendering(ctx) {
                        *asked = true;
                        files.push(rendering?);
                    }
                }
                Err(Ok(outcome)) if outcome.skipped => {}
                Err(Ok(outcome)) => {
                    return Err(outcome.msg.unwrap_or_else(|| "it failed".to_owned()));
                }
                Err(Err(error)) => return Err(error.to_string()),
            }
        }
        Ok(files)
    }

    /// A task type that runs on every host of the batch at once (`config_bundle`: one
    /// unit on every host, or on none).
    async fn run_together(
        &self,
        scope: &PlayScope<'_>,
        task: &Task,
        effective: &Inherited,
        targets: &[String],
        run: &TaskRun,
    ) {
        let started = Instant::now();
        for host in targets {
            self.reporter.emit(&Event::HostStart { host: host.clone() });
        }
        let name = run.title.clone();
        let mut blockers: Vec<(String, String)> = scope
            .batch
            .iter()
            .filter(|host| !targets.contains(host))
            .filter_map(|host| {
                let state = self.state(host);
                if state.unreachable {
                    Some((host.clone(), "it is unreachable".to_owned()))
                } else if state.failed {
                    Some((host.clone(), "it failed an earlier task".to_owned()))
                } else {
                    None
                }
            })
            .collect();
        let contexts: Vec<Value> = targets
            .iter()
            .map(|host| self.context(scope, host, run))
            .collect();
        let mut readies = Vec::new();
        for (host, ctx) in targets.iter().zip(&contexts) {
            match self.prepare(task, effective, host, ctx).await {
                Ok(ready) => readies.push((host, ctx, ready)),
                Err(result) => {
                    // A host that cannot even render its bundle keeps every host's bundle
                    // as it is.
                    match &result {
                        Ok(outcome) if outcome.failed => blockers.push((
                            host.clone(),
                            outcome
                                .msg
                                .clone()
                                .unwrap_or_else(|| "it failed".to_owned()),
                        )),
                        Err(error) => blockers.push((host.clone(), error.to_string())),
                        Ok(_) => {}
                    }
                    self.emit_result(host, &name, effective, &result, None, started);
                    self.record(host, task, effective, result);
                }
            }
        }
        let task_contexts: Vec<TaskContext<'_>> = readies
            .iter()
            .map(|(host, ctx, ready)| self.task_context(task, effective, host, ctx, ready))
            .collect();
        let members: Vec<(&crate::tasks::Action, &TaskContext<'_>)> = readies
            .iter()
            .zip(&task_contexts)
            .map(|((_, _, ready), ctx)| (&ready.action, ctx))
            .collect();
        let together =
            crate::tasks::run_together(&members, &blockers, &self.interrupt, self.options.forks)
                .await;
        for message in together.warnings {
            self.reporter.emit(&Event::Warning { message });
        }
        for ((_, ctx), result) in members.iter().zip(together.results) {
            let host = ctx.host;
            self.emit_result(host, &name, effective, &result, None, started);
            self.record(host, task, effective, result);
        }
        if let Some(mut digests) = together.digests {
            digests.task = name;
            self.reporter.emit(&Event::Bundle(digests));
        }
    }

    async fn run_loop(
        &self,
        task: &Task,
        effective: &Inherited,
        host: &str,
        ctx: &Value,
        started: Instant,
        run: &TaskRun,
    ) -> Result<Outcome, TransportError> {
        let name = run.title.clone();
        if task.r#loop.is_none() {
            // Only called for a task with a loop.
            return Ok(Outcome::ok());
        }
        let items = match loop_items(task, ctx) {
            Ok(items) => items,
            Err(message) => {
                let outcome = Outcome::failed(message);
                let result = Ok(outcome);
                self.emit_result(host, &name, effective, &result, None, started);
                return result;
            }
        };
        if items.is_empty() {
            let mut outcome = Outcome::skipped("No items in the list");
            outcome
                .data
                .insert("results".into(), Json::Array(Vec::new()));
            let result = Ok(outcome);
            self.emit_result(host, &name, effective, &result, None, started);
            return result;
        }
        let mut results = Vec::new();
        let mut aggregate = Outcome::ok();
        // As Ansible: an empty loop skips the task.
        let mut all_skipped = true;
        for (index, item) in items.iter().enumerate() {
            // `loop_control.pause`: between two items, not before the first.
            if let Some(seconds) = task.loop_pause.filter(|s| index > 0 && *s > 0.0) {
                tokio::time::sleep(std::time::Duration::from_secs_f64(seconds)).await;
            }
            let item_started = Instant::now();
            let item_ctx = item_context(task, ctx, index, &items);
            let mut result = self
                .attempt(task, effective, host, &item_ctx, Some(index))
                .await;
            if let Ok(outcome) = &mut result {
                // As Ansible: the item under the loop's variable name, and that name, in the
                // item's result as shown and as registered.
                let data = &mut outcome.data;
                data.insert(task.loop_var.clone(), item.clone());
                data.insert("ansible_loop_var".into(), Json::from(task.loop_var.clone()));
                if let Some(index_var) = &task.index_var {
                    data.insert(index_var.clone(), Json::from(index));
                    data.insert("ansible_index_var".into(), Json::from(index_var.clone()));
                }
            }
            let label = match &task.label {
                Some(label) => label_text(label, &item_ctx),
                None => crate::template::python::str(item),
            };
            let delegated = self.shown_delegation(effective, host, &item_ctx, &result);
            self.emit_delegated(
                host,
                delegated,
                &name,
                effective,
                &result,
                Some(label),
                item_started,
            );
            let outcome = result?;
            aggregate.changed |= outcome.changed;
            aggregate.failed |= outcome.failed;
            all_skipped &= outcome.skipped;
            aggregate.facts.extend(outcome.facts.clone());
            results.push(outcome.registered());
        }
        aggregate.skipped = all_skipped;
        aggregate.msg = Some(if aggregate.failed {
            "One or more items failed".to_owned()
        } else if all_skipped {
            "All items skipped".to_owned()
        } else {
            "All items completed".to_owned()
        });
        aggregate
            .data
            .insert("results".into(), Json::Array(results));
        // Ansible registers whether every item was skipped, either way.
        aggregate
            .data
            .insert("skipped".into(), Json::Bool(all_skipped));
        Ok(aggregate)
    }

    /// Conditions, rendering and parsing of a task for one host: everything before it
    /// touches the host. `Err` holds the result when the task ends here.
    ///
    /// Its future is on the heap for as long as it runs: awaited in place it would take
    /// room in every host's task future for the whole task, and in each of the units a
    /// pipelined host has in flight at once (`chain.rs`).
    #[allow(
        clippy::result_large_err,
        reason = "the early result is returned at once, never stored"
    )]
    pub(super) async fn prepare(
        &self,
        task: &Task,
        effective: &Inherited,
        host: &str,
        ctx: &Value,
    ) -> Result<Ready, Result<Outcome, TransportError>> {
        Box::pin(self.prepare_in_place(task, effective, host, ctx)).await
    }

    #[allow(
        clippy::result_large_err,
        reason = "the early result is returned at once, never stored"
    )]
    async fn prepare_in_place(
        &self,
        task: &Task,
        effective: &Inherited,
        host: &str,
        ctx: &Value,
    ) -> Result<Ready, Result<Outcome, TransportError>> {
        for condition in &effective.when {
            match template::eval_condition(condition, ctx) {
                Ok(true) => {}
                Ok(false) => return Err(Ok(Outcome::skipped("Conditional result was False"))),
                Err(error) => return Err(Ok(Outcome::failed(located(&error)))),
            }
        }
        let resolved;
        let (kind, args, module) = match &task.body {
            TaskBody::Action { kind, args, module } => (kind, args, module),
            // Its type named on this host, as a written name is at load.
            TaskBody::Templated(templated) => {
                resolved = templated.resolve(ctx).map_err(|unresolved| {
                    Ok(Outcome::failed(match unresolved {
                        Unresolved::Template(error) => located(&error),
                        Unresolved::Message(message) => message,
                    }))
                })?;
                if let Some((span, _)) = &task.r#async {
                    if resolved.kind.async_support() == crate::tasks::Async::NotBuilt {
                        return Err(Ok(Outcome::failed(format!(
                            "`async` is not supported for `{}` tasks at {span}: quayside cannot run them in the background",
                            resolved.kind
                        ))));
                    }
                }
                (&resolved.kind, &resolved.args, &resolved.module)
            }
            _ => return Err(Ok(Outcome::ok())),
        };
        let rendered = template::render_args(args, ctx, kind.unrendered_args())
            .map_err(|error| Ok(Outcome::failed(located(&error))))?;
        // Written to fail with arguments ansible-core fails: it fails so, touching nothing.
        if let Some(message) = &task.argument_failure {
            // With the keys ansible-core registers, in its order.
            let mut outcome = Outcome::failed(message.clone());
            outcome.action_failed = crate::tasks::argument_failure_is_the_actions(message);
            outcome.data.insert("changed".into(), false.into());
            outcome
                .data
                .insert("exception".into(), "(traceback unavailable)".into());
            return Err(Ok(outcome));
        }
        let mut action = parse_action(*kind, &task.span, &rendered)
            .map_err(|diagnostic| Ok(Outcome::failed(diagnostic.headline())))?;
        if let crate::tasks::Action::Module(plugin) = &mut action {
            plugin.module = module.clone();
            plugin.no_log = effective.no_log;
        }
        let delegation = self
            .delegation(effective, host, ctx)
            .map_err(|message| Ok(Outcome::failed(message)))?;
        let connection: Arc<dyn Connection> = if kind.on_controller() {
            // These task types never touch the host.
            self.state(host)
                .connection
                .clone()
                .unwrap_or_else(|| Arc::new(LocalConnection::new("localhost")))
        } else if let Some(delegation) = &delegation {
            let user = task_user(effective, ctx).map_err(|message| Ok(Outcome::failed(message)))?;
            self.delegated_connection(delegation, user.as_deref())
                .await
                .map_err(Err)?
        } else if templated_user(effective) {
            // Connected here, not with the others before the task: the user is the host's.
            let user = task_user(effective, ctx).map_err(|message| Ok(Outcome::failed(message)))?;
            let own = Delegation {
                target: host.to_owned(),
                inventory_host: Some(host.to_owned()),
                vars: self.connection_vars(host),
            };
            self.delegated_connection(&own, user.as_deref())
                .await
                .map_err(Err)?
        } else {
            self.state(host).connection.clone().ok_or_else(|| {
                Err(TransportError::Lost {
                    host: host.to_owned(),
                    reason: "no connection".to_owned(),
                })
            })?
        };
        let env = environment(&effective.environment, ctx)
            .map_err(|message| Ok(Outcome::failed(message)))?;
        // As Ansible: whom a delegated task runs as is the delegated host's to say.
        let become_user = match &delegation {
            Some(delegation) if delegation.inventory_host.as_deref() != Some(host) => self
                .become_user_with(effective, |name| {
                    delegation
                        .vars
                        .get(name)
                        .filter(|value| !value.is_null())
                        .cloned()
                }),
            _ => self.become_user(effective, ctx),
        };
        // `~` in a path on the host: its home there, looked up only when written.
        let mut action = action;
        let mut rendered = rendered;
        if !kind.host_paths().is_empty() {
            if let Some(expanded) = crate::tasks::home::expand(
                &rendered,
                kind.host_paths(),
                connection.as_ref(),
                become_user.as_deref(),
            )
            .await
            .map_err(Err)?
            {
                action = parse_action(*kind, &task.span, &expanded)
                    .map_err(|diagnostic| Ok(Outcome::failed(diagnostic.headline())))?;
                rendered = expanded;
            }
        }
        Ok(Ready {
            kind: *kind,
            action,
            args: rendered,
            connection,
            env,
            become_user,
            delegation,
        })
    }

    pub(super) fn task_context<'a>(
        &'a self,
        task: &'a Task,
        effective: &Inherited,
        host: &'a str,
        ctx: &'a Value,
        ready: &'a Ready,
    ) -> TaskContext<'a> {
        TaskContext {
            host,
            connection: ready.connection.as_ref(),
            vars: ctx,
            check: effective.check_mode.unwrap_or(self.options.check),
            diff: effective.diff.unwrap_or(self.options.diff),
            become_user: ready.become_user.clone(),
            env: ready.env.clone(),
            timeout: task.timeout.map(Duration::from_secs),
            span: &task.span,
            pipelined: false,
            verbosity: self.options.verbosity,
            connections: self,
        }
    }

    /// One run of the task on one host (one loop item): conditions, rendering, the task
    /// type with its retries, then `changed_when` / `failed_when`. A task that was
    /// pipelined (`chain.rs`) takes its rendering and first result from its chain.
    async fn attempt(
        &self,
        task: &Task,
        effective: &Inherited,
        host: &str,
        ctx: &Value,
        item: Option<usize>,
    ) -> Result<Outcome, TransportError> {
        let key = unit_key(task, host, item);
        let prefetched = self.prefetched().remove(&key);
        let (ready, mut first) = match prefetched {
            Some(receiver) => match (receiver.await, self.take_sent(&key)) {
                (Ok(Unit::Early(result)), _) => return result,
                (Ok(Unit::Ran(ready, result)), _) => (ready, Some(result)),
                // Its chain was given up on after it was sent: it was in flight.
                (Err(_), true) if self.is_interrupted() => {
                    return Ok(Outcome::interrupted(super::GIVEN_UP));
                }
                // After an interrupt, what was not sent ahead does not start.
                (Ok(Unit::Again) | Err(_), _) if self.is_interrupted() => {
                    return Ok(Outcome::interrupted(
                        "interrupted: not started on this host",
                    ));
                }
                (Ok(Unit::Again) | Err(_), _) => {
                    match self.prepare(task, effective, host, ctx).await {
                        Ok(ready) => (Box::new(ready), None),
                        Err(result) => return result,
                    }
                }
            },
            None => match self.prepare(task, effective, host, ctx).await {
                Ok(ready) => (Box::new(ready), None),
                Err(result) => return result,
            },
        };
        let task_ctx = self.task_context(task, effective, host, ctx, &ready);
        let (attempts, delay) = match &task.until {
            Some(_) => {
                let retries = match &task.retries {
                    Some(node) => match rendered_whole(node, ctx, "retries") {
                        Ok(n) => u32::try_from(n).unwrap_or(u32::MAX),
                        Err(message) => return Ok(Outcome::failed(message)),
                    },
                    None => 3,
                };
                let delay = match &task.delay {
                    Some(node) => match rendered_number(node, ctx, "delay") {
                        Ok(n) => n.max(0.0),
                        Err(message) => return Ok(Outcome::failed(message)),
                    },
                    None => 5.0,
                };
                (retries + 1, delay)
            }
            None => (1, 0.0),
        };
        let mut outcome = Outcome::ok();
        for attempt in 1..=attempts {
            outcome = match first.take() {
                Some(result) => result?,
                None => self.run_action(task, &ready, &task_ctx, ctx).await?,
            };
            if outcome.skipped {
                return Ok(outcome);
            }
            let result_ctx = match &task.register {
                Some(name) => extend(ctx, &[(name.as_str(), outcome.registered())]),
                None => ctx.clone(),
            };
            if let Some(conditions) = &task.changed_when {
                match all_hold(conditions, &result_ctx) {
                    Ok(changed) => outcome.changed = changed,
                    // As ansible-core: the result is kept, failed, with the error beside.
                    Err(message) => condition_failed(&mut outcome, "changed_when_result", message),
                }
            }
            if let Some(conditions) = &task.failed_when {
                match all_hold(conditions, &result_ctx) {
                    // As ansible-core 2.19.14: the result says what the condition gave.
                    Ok(true) => condition_failed(&mut outcome, "failed_when_result", true),
                    Ok(false) => {
                        outcome.failed = false;
                        outcome
                            .data
                            .insert("failed_when_result".into(), false.into());
                    }
                    Err(message) => condition_failed(&mut outcome, "failed_when_result", message),
                }
            }
            if let Some(conditions) = &task.until {
                if attempts > 1 {
                    outcome.data.insert("attempts".into(), attempt.into());
                }
                match all_hold(conditions, &result_ctx) {
                    Ok(true) => break,
                    Ok(false) if attempt < attempts => {
                        tokio::time::sleep(Duration::from_secs_f64(delay)).await;
                    }
                    Ok(false) => {
                        // ansible-core reports one attempt fewer than it made when every
                        // attempt failed (`retries - 1` of `retries + 1`); registered
                        // results are kept the same as Ansible's.
                        outcome.data.insert("attempts".into(), (attempt - 1).into());
                        outcome.failed = true;
                        outcome
                            .msg
                            .get_or_insert_with(|| "`until` never held".to_owned());
                    }
                    Err(message) => return Ok(action_failed(message)),
                }
            }
        }
        // `delegate_facts`: the facts it set are the delegated host's (one the inventory
        // does not name keeps none, as `hostvars` cannot show them).
        if effective.delegate_facts == Some(true) {
            if let Some(delegation) = &ready.delegation {
                let facts = std::mem::take(&mut outcome.facts);
                match &delegation.inventory_host {
                    Some(target) if target != host => self.state(target).facts.extend(facts),
                    Some(_) => outcome.facts = facts,
                    None => {}
                }
            }
        }
        Ok(outcome)
    }

    /// Run the task type once on the host: in the background with `async`
    /// (`async_job.rs`), else as it is.
    async fn run_action(
        &self,
        task: &Task,
        ready: &Ready,
        task_ctx: &TaskContext<'_>,
        ctx: &Value,
    ) -> Result<Outcome, TransportError> {
        let kind = &ready.kind;
        let Some((_, seconds)) = &task.r#async else {
            return ready.action.run(task_ctx).await;
        };
        let seconds = match rendered_whole(seconds, ctx, "async") {
            Ok(n) => n,
            Err(message) => return Ok(Outcome::failed(message)),
        };
        // As ansible-core: `async: 0` runs the task as if it had no `async`.
        if seconds == 0 {
            return ready.action.run(task_ctx).await;
        }
        let poll = match &task.poll {
            Some((_, node)) => match rendered_whole(node, ctx, "poll") {
                Ok(n) => n,
                Err(message) => return Ok(Outcome::failed(message)),
            },
            None => 10,
        };
        match kind.async_support() {
            crate::tasks::Async::Runs => {
                let limits = super::async_job::Limits { seconds, poll };
                let report = |jid: &str, state| {
                    self.reporter.emit(&Event::AsyncPoll {
                        host: task_ctx.host.to_owned(),
                        jid: jid.to_owned(),
                        state,
                    })
                };
                super::async_job::run(&ready.action, task_ctx, *kind, &ready.args, limits, &report)
                    .await
            }
            // As ansible-core's action plugins that do not support it.
            crate::tasks::Async::Fails | crate::tasks::Async::NotBuilt => Ok(Outcome::failed(
                format!("This action ({kind}) does not support async."),
            )),
        }
    }

    /// The user tasks run as: `become` from the task, its blocks, the play, the
    /// inventory (`ansible_become`, `ansible_become_user`), or ansible.cfg.
    fn become_user(&self, effective: &Inherited, ctx: &Value) -> Option<String> {
        self.become_user_with(effective, |name| {
            ctx.get_attr(name)
                .ok()
                .filter(|v| !v.is_undefined() && !v.is_none())
                .and_then(|v| template::to_json_value(&v).ok())
        })
    }

    /// [`Self::become_user`] with the host's variables read by `var`.
    fn become_user_with(
        &self,
        effective: &Inherited,
        var: impl Fn(&str) -> Option<Json>,
    ) -> Option<String> {
        super::connect::become_user(effective.r#become, effective.become_user.clone(), |name| {
            var(name)
                // Below the inventory: ansible.cfg's `[privilege_escalation]`.
                .or_else(|| match name {
                    "ansible_become" => Some(serde_json::Value::Bool(self.options.r#become)),
                    "ansible_become_user" => self
                        .options
                        .become_user
                        .clone()
                        .map(serde_json::Value::String),
                    _ => None,
                })
        })
    }

    pub(super) fn emit_result(
        &self,
        host: &str,
        task: &str,
        effective: &Inherited,
        result: &Result<Outcome, TransportError>,
        item: Option<String>,
        started: Instant,
    ) {
        self.emit_delegated(host, None, task, effective, result, item, started);
    }

    /// Where output says a delegated task ran for `host`: the delegated host, unless the
    /// task skipped (Ansible shows no delegation then) or ran on the host itself.
    fn shown_delegation(
        &self,
        effective: &Inherited,
        host: &str,
        ctx: &Value,
        result: &Result<Outcome, TransportError>,
    ) -> Option<String> {
        if matches!(result, Ok(outcome) if outcome.skipped) {
            return None;
        }
        self.delegated_label(effective, host, ctx)
    }

    /// [`Self::emit_result`] for a task delegated (`delegated`: to whom, as shown).
    #[allow(
        clippy::too_many_arguments,
        reason = "one event's fields, each from where it is known"
    )]
    fn emit_delegated(
        &self,
        host: &str,
        delegated: Option<String>,
        task: &str,
        effective: &Inherited,
        result: &Result<Outcome, TransportError>,
        item: Option<String>,
        started: Instant,
    ) {
        let duration_ms = started.elapsed().as_millis() as u64;
        let status = status(result, effective);
        // As Ansible: the warnings a result carries (a module's, `pause`'s) are shown
        // before it, unless the task is `no_log`.
        if let Ok(outcome) = result {
            let warnings = outcome.data.get("warnings").and_then(Json::as_array);
            for warning in warnings.into_iter().flatten().filter_map(Json::as_str) {
                if !effective.no_log {
                    self.reporter.emit(&Event::Warning {
                        message: warning.to_owned(),
                    });
                }
            }
        }
        let event = match result {
            Err(error) => {
                let mut event = Event::bare_result(
                    host,
                    task,
                    status,
                    Some(error.to_string()),
                    item,
                    duration_ms,
                );
                if let Event::HostResult {
                    delegated_to,
                    origin: shown,
                    ..
                } = &mut event
                {
                    *delegated_to = delegated;
                    *shown = origin(effective, result, status);
                }
                event
            }
            Ok(outcome) => {
                let censor = effective.no_log;
                Event::HostResult {
                    origin: origin(effective, result, status),
                    host: host.to_owned(),
                    delegated_to: delegated,
                    task: task.to_owned(),
                    status,
                    changed: outcome.changed,
                    msg: outcome
                        .msg
                        .as_ref()
                        .map(|msg| if censor { CENSORED.to_owned() } else { msg.clone() }),
                    item: item.map(|i| if censor { CENSORED.to_owned() } else { i }),
                    duration_ms,
                    // Ansible shows a failed task's whole result; others with `-v`.
                    result: (self.options.verbosity >= 1 || outcome.failed).then(|| {
                        if censor {
                            serde_json::json!({ "censored": crate::report::NO_LOG_RESULT, "changed": outcome.changed })
                        } else {
                            outcome.registered()
                        }
                    }),
                    diffs: if effective.diff.unwrap_or(self.options.diff) && !censor {
                        outcome.diffs.clone()
                    } else {
                        Vec::new()
                    },
                    files: if censor {
                        Vec::new()
                    } else {
                        outcome.files.clone()
                    },
                    containers: if censor {
                        Vec::new()
                    } else {
                        outcome.containers.clone()
                    },
                    // As Ansible: what `debug` shows is not shown under `no_log` (its
                    // censored result only with `-v`).
                    output: outcome
                        .show
                        .as_ref()
                        .filter(|_| !censor)
                        .map(|show| serde_json::Value::Object(show.clone())),
                }
            }
        };
        self.reporter.emit(&event);
    }
}

/// The message ansible-core 2.19.14 gives a failure that has none (`failed_when` on a task
/// whose result carries no `msg`).
const UNKNOWN_FAILURE: &str = "Task failed: Action failed: Unknown error.";

/// A `changed_when` or `failed_when` that fails the task (its condition could not be
/// evaluated, or `failed_when` held): as ansible-core 2.19.14, the result is kept, failed,
/// with what the condition gave as `key` (a failure without a message says so).
fn condition_failed(outcome: &mut Outcome, key: &str, gave: impl Into<Json>) {
    outcome.failed = true;
    outcome.action_failed = true;
    outcome.data.insert(key.into(), gave.into());
    if outcome.msg.is_none() && !outcome.data.contains_key("msg") {
        outcome.msg = Some(UNKNOWN_FAILURE.to_owned());
    }
}

/// A failure of the controller's side of a task (an `until` that could not be evaluated).
fn action_failed(message: String) -> Outcome {
    Outcome {
        action_failed: true,
        ..Outcome::failed(message)
    }
}

/// What ansible-core 2.19 says of a failed task before its result (`[ERROR]: Task failed:
/// ...`): the host not reached, the module's failure or the action's, with its message. No
/// message under `no_log` (ansible-core prints it there; quayside never prints what
/// `no_log` hides).
fn origin(
    effective: &Inherited,
    result: &Result<Outcome, TransportError>,
    status: Status,
) -> Option<crate::report::Origin> {
    let (span, action) = effective.origin.clone()?;
    let headline = match result {
        Err(error) => error.to_string(),
        Ok(outcome) if matches!(status, Status::Failed | Status::Ignored) => {
            let context = if action || outcome.action_failed {
                "Action failed"
            } else {
                "Module failed"
            };
            let msg = outcome
                .msg
                .as_deref()
                .or_else(|| outcome.data.get("msg").and_then(Json::as_str));
            match msg {
                _ if effective.no_log => format!("{context}."),
                None => format!("{context}: Unknown error."),
                Some("") => format!("{context}."),
                Some(msg) => match msg.strip_prefix("Task failed: ") {
                    // A message that is already ansible-core's whole headline.
                    Some(headline) => headline.to_owned(),
                    None => format!("{context}: {msg}"),
                },
            }
        }
        Ok(_) => return None,
    };
    Some(crate::report::Origin {
        span: Some(span),
        headline,
    })
}

/// The status a result reports: an error reaching the host is `unreachable`, a failure
/// under `ignore_errors` is `ignored`.
fn status(result: &Result<Outcome, TransportError>, effective: &Inherited) -> Status {
    match result {
        Err(_) => Status::Unreachable,
        Ok(outcome) if outcome.interrupted => Status::Interrupted,
        Ok(outcome) if outcome.failed && effective.ignore_errors => Status::Ignored,
        Ok(outcome) if outcome.failed => Status::Failed,
        Ok(outcome) if outcome.skipped => Status::Skipped,
        Ok(outcome) if outcome.changed => Status::Changed,
        Ok(_) => Status::Ok,
    }
}

/// Whether a task needs a connection to its hosts.
fn needs_connection(task: &Task, effective: &Inherited) -> bool {
    let own = effective.delegate_to.is_none() && !templated_user(effective);
    match &task.body {
        // Whatever type it names on the host, it may need the host.
        TaskBody::Templated(_) => own,
        _ => task.kind().is_some_and(|kind| own && !kind.on_controller()),
    }
}

/// Whether the task's (or its block's) `remote_user` is a template, rendered per host.
fn templated_user(effective: &Inherited) -> bool {
    effective
        .remote_user
        .as_ref()
        .is_some_and(|(user, _)| crate::yaml::is_template(user))
}

/// The task's (or its block's) `remote_user` for one host, rendered in its context.
fn task_user(effective: &Inherited, ctx: &Value) -> Result<Option<String>, String> {
    effective
        .remote_user
        .as_ref()
        .map(|(user, span)| {
            template::render_str(user, span, ctx)
                .map(|user| user.trim().to_owned())
                .map_err(|error| located(&error))
        })
        .transpose()
}

/// A host's context with one loop item (and its index, with `index_var`).
/// With `loop_control.extended`, `ansible_loop` too, as Ansible: `index` (from 1),
/// `index0`, `revindex`, `revindex0`, `first`, `last`, `length`, `allitems`, and `previtem`
/// / `nextitem` where there is one.
pub(super) fn item_context(task: &Task, ctx: &Value, index: usize, items: &[Json]) -> Value {
    let item = items.get(index).cloned().unwrap_or(Json::Null);
    let mut extra = vec![(task.loop_var.as_str(), item)];
    if let Some(index_var) = &task.index_var {
        extra.push((index_var.as_str(), Json::from(index)));
    }
    if task.loop_extended {
        let length = items.len();
        let mut ansible_loop = serde_json::json!({
            "index": index + 1,
            "index0": index,
            "revindex": length - index,
            "revindex0": length - index - 1,
            "first": index == 0,
            "last": index + 1 == length,
            "length": length,
            "allitems": items,
        });
        if index > 0 {
            ansible_loop["previtem"] = items[index - 1].clone();
        }
        if index + 1 < length {
            ansible_loop["nextitem"] = items[index + 1].clone();
        }
        extra.push(("ansible_loop", ansible_loop));
    }
    extend(ctx, &extra)
}

pub(super) fn located(error: &template::TemplateError) -> String {
    format!("{} at {}", error.message, error.span)
}

fn all_hold(conditions: &[Node], ctx: &Value) -> Result<bool, String> {
    for condition in conditions {
        if !template::eval_condition(condition, ctx).map_err(|e| located(&e))? {
            return Ok(false);
        }
    }
    Ok(true)
}

pub(super) fn loop_items(task: &Task, ctx: &Value) -> Result<Vec<Json>, String> {
    let Some(node) = &task.r#loop else {
        return Ok(Vec::new());
    };
    let rendered = template::render_node(node, ctx).map_err(|e| located(&e))?;
    let kind = |value: &Json| match value {
        Json::Object(_) => "a mapping",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        _ => "a scalar",
    };
    let value = rendered.to_json();
    match task.loop_form {
        LoopForm::Items => match value {
            Json::Array(items) => Ok(items),
            Json::Null => Ok(Vec::new()),
            other => Err(format!(
                "`loop` must be a list, found {} at {}",
                kind(&other),
                node.span
            )),
        },
        LoopForm::Dict => match value {
            Json::Object(map) => Ok(map
                .into_iter()
                .map(|(key, value)| serde_json::json!({"key": key, "value": value}))
                .collect()),
            Json::Null => Ok(Vec::new()),
            other => Err(format!(
                "`with_dict` expects a mapping, found {} at {}",
                kind(&other),
                node.span
            )),
        },
        LoopForm::Together => {
            let Json::Array(lists) = value else {
                return Err(format!(
                    "`with_together` expects a list of lists, found {} at {}",
                    kind(&value),
                    node.span
                ));
            };
            let lists: Vec<Vec<Json>> = lists
                .into_iter()
                .map(|list| match list {
                    Json::Array(items) => Ok(items),
                    other => Err(format!(
                        "`with_together` expects a list of lists, found {} in it at {}",
                        kind(&other),
                        node.span
                    )),
                })
                .collect::<Result<_, _>>()?;
            let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
            Ok((0..longest)
                .map(|i| {
                    Json::Array(
                        lists
                            .iter()
                            .map(|list| list.get(i).cloned().unwrap_or(Json::Null))
                            .collect(),
                    )
                })
                .collect())
        }
        LoopForm::Sequence => match value {
            Json::String(text) => sequence(&text).map_err(|e| format!("{e} at {}", node.span)),
            other => Err(format!(
                "`with_sequence` expects `start=N end=N` (or `count=N`), found {} at {}",
                kind(&other),
                node.span
            )),
        },
        LoopForm::Fileglob => {
            let patterns = match value {
                Json::String(text) => vec![text],
                Json::Array(items) => items
                    .into_iter()
                    .map(|item| match item {
                        Json::String(text) => Ok(text),
                        other => Err(format!(
                            "`with_fileglob` expects patterns, found {} at {}",
                            kind(&other),
                            node.span
                        )),
                    })
                    .collect::<Result<_, _>>()?,
                other => {
                    return Err(format!(
                        "`with_fileglob` expects patterns, found {} at {}",
                        kind(&other),
                        node.span
                    ));
                }
            };
            let base = ctx
                .get_attr("playbook_dir")
                .ok()
                .and_then(|v| v.as_str().map(std::path::PathBuf::from))
                .unwrap_or_default();
            let role = crate::tasks::controller_files::role_dir(ctx);
            let mut files = Vec::new();
            for pattern in patterns {
                let found = crate::tasks::controller_files::glob(role.as_deref(), &base, &pattern)
                    .map_err(|e| format!("{e} at {}", node.span))?;
                files.extend(
                    found
                        .into_iter()
                        .map(|p| Json::from(p.display().to_string())),
                );
            }
            Ok(files)
        }
    }
}

/// `retries`, `async` or `poll` rendered to a whole number of at least zero.
fn rendered_whole(node: &Node, ctx: &Value, what: &str) -> Result<u64, String> {
    match rendered_number(node, ctx, what)? {
        n if n >= 0.0 && n.fract() == 0.0 => Ok(n as u64),
        _ => Err(format!("`{what}` must be a whole number at {}", node.span)),
    }
}

/// `retries`, `delay`, `async` or `poll` rendered (a number as written, or a template) to
/// a number.
fn rendered_number(node: &Node, ctx: &Value, what: &str) -> Result<f64, String> {
    let rendered = template::render_node(node, ctx).map_err(|e| located(&e))?;
    let number = match rendered.to_json() {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    number.ok_or_else(|| format!("`{what}` must be a number at {}", node.span))
}

/// `with_sequence`'s terms, as Ansible's `sequence` lookup reads them: `start=`, `end=`
/// (or `count=`), `stride=`, `format=` (one `%d`, `%0Nd`, `%x` or `%o`), or the short
/// form `[start-]end[/stride][:format]`.
fn sequence(text: &str) -> Result<Vec<Json>, String> {
    let (mut start, mut end, mut count, mut stride, mut format) =
        (1i64, None::<i64>, None::<i64>, 1i64, "%d".to_owned());
    let number = |name: &str, value: &str| {
        let value = value.trim();
        let parsed = if let Some(hex) = value.strip_prefix("0x") {
            i64::from_str_radix(hex, 16)
        } else {
            value.parse::<i64>()
        };
        parsed.map_err(|_| format!("`with_sequence`: `{name}` must be a number, found `{value}`"))
    };
    let text = text.trim();
    if text.contains('=') {
        for word in text.split_whitespace() {
            let Some((key, value)) = word.split_once('=') else {
                return Err(format!("`with_sequence`: `{word}` is not `key=value`"));
            };
            match key {
                "start" => start = number(key, value)?,
                "end" => end = Some(number(key, value)?),
                "count" => count = Some(number(key, value)?),
                "stride" => stride = number(key, value)?,
                "format" => format = value.to_owned(),
                _ => {
                    return Err(format!(
                        "`with_sequence`: unknown key `{key}` (expected start, end, count, stride or format)"
                    ));
                }
            }
        }
    } else {
        let (rest, fmt) = match text.split_once(':') {
            Some((rest, fmt)) => (rest, Some(fmt)),
            None => (text, None),
        };
        let (rest, step) = match rest.split_once('/') {
            Some((rest, step)) => (rest, Some(step)),
            None => (rest, None),
        };
        match rest.split_once('-') {
            Some((from, to)) => {
                start = number("start", from)?;
                end = Some(number("end", to)?);
            }
            None => end = Some(number("end", rest)?),
        }
        if let Some(step) = step {
            stride = number("stride", step)?;
        }
        if let Some(fmt) = fmt {
            format = fmt.to_owned();
        }
    }
    let end = match (end, count) {
        (Some(_), Some(_)) => {
            return Err("`with_sequence`: `count` and `end` cannot both be given".to_owned());
        }
        (None, None) => return Err("`with_sequence`: `end` or `count` is required".to_owned()),
        (Some(end), None) => end,
        (None, Some(0)) => return Ok(Vec::new()),
        (None, Some(count)) => start + (count - 1) * stride,
    };
    if stride == 0 {
        return Err("`with_sequence`: `stride` cannot be 0".to_owned());
    }
    if (stride > 0 && end < start) || (stride < 0 && end > start) {
        return Err(format!(
            "`with_sequence`: to count from {start} to {end}, `stride` must be {}",
            if stride > 0 { "negative" } else { "positive" }
        ));
    }
    let (before, spec, after) = printf_spec(&format)?;
    let mut items = Vec::new();
    let mut value = start;
    while (stride > 0 && value <= end) || (stride < 0 && value >= end) {
        let digits = match spec.1 {
            'x' => format!("{value:x}"),
            'o' => format!("{value:o}"),
            _ => value.to_string(),
        };
        let padded = if spec.0.starts_with('0') {
            let width: usize = spec.0.parse().unwrap_or(0);
            format!("{digits:0>width$}")
        } else {
            let width: usize = spec.0.parse().unwrap_or(0);
            format!("{digits:>width$}")
        };
        items.push(Json::from(format!("{before}{padded}{after}")));
        value += stride;
    }
    Ok(items)
}

/// A `format` with one integer conversion: the text before it, (width, conversion), after.
fn printf_spec(format: &str) -> Result<(String, (String, char), String), String> {
    let refuse = || {
        format!(
            "`with_sequence`: `format` needs one `%d` (or `%0Nd`, `%x`, `%o`), found `{format}`"
        )
    };
    let at = format.find('%').ok_or_else(refuse)?;
    let rest = &format[at + 1..];
    let width: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let conversion = rest[width.len()..].chars().next().ok_or_else(refuse)?;
    if !matches!(conversion, 'd' | 'i' | 'x' | 'o') {
        return Err(refuse());
    }
    let after = &rest[width.len() + 1..];
    if after.contains('%') {
        return Err(refuse());
    }
    Ok((
        format[..at].to_owned(),
        (width, conversion),
        after.to_owned(),
    ))
}

pub(super) fn label_text(label: &Node, ctx: &Value) -> String {
    match template::render_node(label, ctx) {
        Ok(node) => crate::template::python::str(&node.to_json()),
        Err(error) => error.message,
    }
}

/// `environment:` mappings from the play, blocks and task, rendered; later ones win.
fn environment(nodes: &[Node], ctx: &Value) -> Result<Vec<(String, String)>, String> {
    let mut env: Vec<(String, String)> = Vec::new();
    for node in nodes {
        let rendered = template::render_node(node, ctx).map_err(|e| located(&e))?;
        let YamlValue::Map(entries) = &rendered.value else {
            return Err(format!("`environment` must be a mapping at {}", node.span));
        };
        for (key, value) in entries {
            let name = key.key_string();
            let value = match value.to_json() {
                Json::String(s) => s,
                other => other.to_string(),
            };
            env.retain(|(k, _)| *k != name);
            env.push((name, value));
        }
    }
    Ok(env)
}
