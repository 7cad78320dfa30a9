//! `include_tasks` and `include_role`: decided per host (and loop item) when reached, on
//! the controller. Hosts that include the same file with the same item run its tasks
//! together, as Ansible's linear strategy does; an include costs no round trip.

use std::path::PathBuf;
use std::time::Instant;

use serde_json::Value as Json;

use super::task::{item_context, label_text, located, loop_items};
use super::{Inherited, PlayScope, Runner, Stop};
use crate::playbook::{Include, Task};
use crate::report::Event;
use crate::tasks::Outcome;
use crate::template;

/// Hosts that include the same tasks with the same item.
struct Group {
    /// The file as shown (`included: FILE for ...`) and read.
    shown: String,
    path: Option<PathBuf>,
    /// `include_role` with templates: its arguments rendered for these hosts.
    role_args: Option<crate::yaml::Node>,
    item: Option<(usize, Json, String)>,
    hosts: Vec<String>,
}

impl Runner<'_> {
    pub(super) async fn run_include(
        &self,
        scope: &PlayScope<'_>,
        task: &Task,
        include: &Include,
        active: &[String],
        inherited: &Inherited,
    ) -> Option<Stop> {
        if !self.task_selected(task, inherited) || !self.step_confirms(task) {
            return None;
        }
        let effective = inherited.with(task);
        let run = self.task_run(scope, &effective);
        let mut title = match (&task.name, active.first()) {
            (Some(name), Some(first)) if crate::yaml::is_template(name) => {
                let ctx = self.context(scope, first, &run);
                template::render_str(name, &task.span, &ctx).unwrap_or_else(|_| name.clone())
            }
            _ => task.display_name(),
        };
        // As Ansible: a role's task is shown as `role : task`, but an `include_role` is
        // not (ansible-core's include_role task has no role of its own).
        if let (Some(role), None) = (&effective.role, &include.role) {
            title = format!("{} : {title}", role.name);
        }
        self.reporter.emit(&Event::TaskStart {
            task: title.clone(),
            path: task.span.to_string(),
            handler: effective.handler,
            action: None,
            hosts: active.len(),
            host_names: active.to_vec(),
        });
        let mut groups: Vec<Group> = Vec::new();
        for host in active {
            let started = Instant::now();
            let ctx = self.context(scope, host, &run);
            let fail = |message: String| {
                let result = Ok(Outcome::failed(message));
                self.emit_result(host, &title, &effective, &result, None, started);
                self.record(host, task, &effective, result);
            };
            let mut holds = Ok(true);
            for condition in &effective.when {
                holds = template::eval_condition(condition, &ctx).map_err(|e| located(&e));
                if holds != Ok(true) {
                    break;
                }
            }
            match holds {
                Ok(true) => {}
                Ok(false) => {
                    let result = Ok(Outcome::skipped("Conditional result was False"));
                    self.emit_result(host, &title, &effective, &result, None, started);
                    self.record(host, task, &effective, result);
                    continue;
                }
                Err(message) => {
                    fail(message);
                    continue;
                }
            }
            let items: Vec<Option<(usize, Json)>> = match &task.r#loop {
                None => vec![None],
                Some(_) => match loop_items(task, &ctx) {
                    Ok(items) => items.into_iter().enumerate().map(Some).collect(),
                    Err(message) => {
                        fail(message);
                        continue;
                    }
                },
            };
            if items.is_empty() {
                let result = Ok(Outcome::skipped("No items in the list"));
                self.emit_result(host, &title, &effective, &result, None, started);
                self.record(host, task, &effective, result);
                continue;
            }
            let values: Vec<Json> = items.iter().flatten().map(|(_, v)| v.clone()).collect();
            for item in items {
                let item_ctx = match &item {
                    Some((index, _)) => item_context(task, &ctx, *index, &values),
                    None => ctx.clone(),
                };
                let mut role_args = None;
                let (shown, path) = if let Some(args) = &include.role_args {
                    let rendered = match template::render_node(args, &item_ctx) {
                        Ok(node) => node,
                        Err(error) => {
                            fail(located(&error));
                            continue;
                        }
                    };
                    let shown = match rendered.get("name") {
                        Some(name) => name.key_string(),
                        None => rendered.key_string(),
                    };
                    role_args = Some(rendered);
                    (shown, None)
                } else if include.role.is_some() {
                    (include.file.key_string(), None)
                } else {
                    let name = match template::render_node(&include.file, &item_ctx) {
                        Ok(node) => node.key_string(),
                        Err(error) => {
                            fail(located(&error));
                            continue;
                        }
                    };
                    match crate::playbook::include_path(&name, &include.dir, &include.play_dir) {
                        Some(path) => {
                            let path = std::fs::canonicalize(&path).unwrap_or(path);
                            (path.display().to_string(), Some(path))
                        }
                        None => {
                            fail(format!(
                                "Could not find or access '{}' on the controller",
                                include.dir.join(&name).display()
                            ));
                            continue;
                        }
                    }
                };
                let item = item.map(|(index, value)| {
                    let label = match &task.label {
                        Some(label) => label_text(label, &item_ctx),
                        None => crate::template::python::str(&value),
                    };
                    (index, value, label)
                });
                let key = item.as_ref().map(|(_, value, _)| value);
                let args_key = role_args.as_ref().map(|a| a.to_json());
                match groups.iter_mut().find(|g| {
                    g.shown == shown
                        && g.item.as_ref().map(|(_, v, _)| v) == key
                        && g.role_args.as_ref().map(|a| a.to_json()) == args_key
                }) {
                    Some(group) => group.hosts.push(host.clone()),
                    None => groups.push(Group {
                        shown,
                        path,
                        role_args,
                        item,
                        hosts: vec![host.clone()],
                    }),
                }
            }
        }
        // A host the include failed on (its file not found, a template that did not
        // render) fails the others with `any_errors_fatal`, as any task's failure does.
        if let Some(stop) = self.after_task(scope, &effective, active) {
            return Some(stop);
        }
        for group in &groups {
            self.reporter.emit(&Event::Included {
                task: title.clone(),
                file: group.shown.clone(),
                hosts: group.hosts.clone(),
                item: group.item.as_ref().map(|(_, _, label)| label.clone()),
            });
            for host in &group.hosts {
                self.state(host).counts.ok += 1;
            }
        }
        if let Some((roles, true)) = &include.role {
            let mut included = self
                .included_roles
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            included.extend(roles.iter().cloned());
        }
        // The included tasks do not take the include's own `when` and tags: only its
        // `vars`, its loop item, and what `apply` gives them.
        let mut base = inherited.clone();
        base.params.extend(task.vars.clone());
        base.var_origins.extend(task.var_origins.clone());
        if let Some(role) = &task.role {
            base.enter(role);
        }
        if let Some(apply) = &include.apply {
            base = base.with(apply);
        }
        // A file or role that cannot be read fails the hosts that reach it (not counted
        // ok for the include as well, as ansible-core counts it), and with
        // `any_errors_fatal` every other host of the batch.
        let fail_hosts = |hosts: &[String], diagnostic: &crate::diagnostic::Diagnostic| {
            for host in hosts {
                {
                    let mut state = self.state(host);
                    state.counts.ok = state.counts.ok.saturating_sub(1);
                }
                let result = Ok(Outcome::failed(diagnostic.headline()));
                self.emit_result(host, &title, &effective, &result, None, Instant::now());
                self.record(host, task, &effective, result);
            }
            self.after_task(scope, &effective, hosts)
        };
        for group in groups {
            let hosts = self.active(&group.hosts);
            if hosts.is_empty() {
                continue;
            }
            let loaded;
            let tasks: &[Task] = match (&include.tasks, &group.path, &group.role_args) {
                (Some(tasks), _, _) => tasks,
                (None, None, Some(args)) => {
                    let loaded_role =
                        crate::playbook::load_role_at_run(args, &include.dir, &include.play_dir)
                            .and_then(|(mut blocks, roles, mut handlers)| {
                                crate::playbook::apply_module_defaults(
                                    &mut blocks,
                                    &include.module_defaults,
                                )?;
                                // Their arguments are checked there too.
                                crate::playbook::apply_module_defaults(
                                    &mut handlers,
                                    &Default::default(),
                                )?;
                                Ok((blocks, roles, handlers))
                            });
                    match loaded_role {
                        Ok((blocks, roles, handlers)) => {
                            if matches!(include.role, Some((_, true))) {
                                self.included_roles
                                    .lock()
                                    .unwrap_or_else(|e| e.into_inner())
                                    .extend(roles);
                            }
                            self.dynamic_handlers
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .extend(handlers);
                            loaded = blocks;
                            &loaded
                        }
                        Err(diagnostic) => {
                            if let Some(stop) = fail_hosts(&hosts, &diagnostic) {
                                return Some(stop);
                            }
                            continue;
                        }
                    }
                }
                (None, Some(path), _) => {
                    let read = crate::playbook::load_included_file(path, &include.play_dir)
                        .and_then(|mut tasks| {
                            crate::playbook::apply_module_defaults(
                                &mut tasks,
                                &include.module_defaults,
                            )?;
                            Ok(tasks)
                        });
                    match read {
                        Ok(tasks) => {
                            loaded = tasks;
                            &loaded
                        }
                        Err(diagnostic) => {
                            if let Some(stop) = fail_hosts(&hosts, &diagnostic) {
                                return Some(stop);
                            }
                            continue;
                        }
                    }
                }
                (None, None, None) => continue,
            };
            let mut inner = base.clone();
            if let Some((index, value, _)) = &group.item {
                inner.params.insert(task.loop_var.clone(), value.clone());
                if let Some(index_var) = &task.index_var {
                    inner.params.insert(index_var.clone(), Json::from(*index));
                }
            }
            if let Some(stop) = self.run_list(scope, tasks, &hosts, &inner).await {
                return Some(stop);
            }
        }
        None
    }
}
