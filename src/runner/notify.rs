//! Templated handler names, as ansible-core 2.19.14 reads them: a handler's `name` is
//! rendered once per play with the play's variables and `--extra-vars` (no host's), and a
//! task's `notify` is rendered for the host (and loop item) that notified; `listen` is
//! never rendered.

use std::borrow::Cow;

use minijinja::Value;
use serde_json::Value as Json;

use super::Runner;
use super::task::item_context;
use crate::diagnostic::Diagnostic;
use crate::playbook::{Play, Task};
use crate::report::Event;
use crate::tasks::Outcome;
use crate::transport::TransportError;
use crate::yaml::{Node, Value as YamlValue, is_template};

/// Render the templated names of the play's handlers over `ctx` (the play's variables and
/// `--extra-vars`). A name that does not render stays as written, and so answers no
/// notification (its `listen` topics still do); the warning says why, as ansible-core's.
pub(super) fn render_handler_names(play: &mut Play, ctx: &Value) -> Vec<String> {
    let mut warnings = Vec::new();
    for handler in &mut play.handlers {
        let Some(name) = handler.name.as_deref().filter(|name| is_template(name)) else {
            continue;
        };
        match crate::template::render_str(name, &handler.span, ctx) {
            Ok(rendered) => handler.name = Some(rendered),
            Err(error) if handler.listen.is_empty() => {
                let warning = format!(
                    "handler `{name}` is unusable: it has no `listen` topics and its name \
                     could not be templated (host variables are not read in handler names): {}",
                    error.message
                );
                if !warnings.contains(&warning) {
                    warnings.push(warning);
                }
            }
            Err(_) => {}
        }
    }
    warnings
}

impl Runner<'_> {
    /// `task` with its templated `notify` entries rendered for `host` (for a loop, for
    /// each item that changed), so that recording its result notifies the handlers they
    /// name. A rendered name no handler answers to is a warning here (ansible-core stops
    /// the run with an error).
    pub(super) fn with_rendered_notify<'t>(
        &self,
        handlers: &[Task],
        task: &'t Task,
        ctx: &Value,
        result: &Result<Outcome, TransportError>,
    ) -> Cow<'t, Task> {
        let Ok(outcome) = result else {
            return Cow::Borrowed(task);
        };
        if task.notify.is_empty() || !outcome.changed {
            return Cow::Borrowed(task);
        }
        let dynamic = self
            .dynamic_handlers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut all: Vec<&Task> = crate::playbook::flatten(handlers);
        all.extend(crate::playbook::flatten(&dynamic));
        let handlers = all;
        if !task.notify.iter().any(|name| is_template(name)) {
            // Checked before the run, unless a handler's name could not be rendered.
            for name in &task.notify {
                if crate::playbook::notified_handlers(name, &handlers).is_empty() {
                    self.warn(not_found(name));
                }
            }
            return Cow::Borrowed(task);
        }
        // The contexts the notification is rendered in: the host's, or each changed item's.
        let contexts: Vec<Value> = match outcome.data.get("results") {
            Some(Json::Array(results)) if task.r#loop.is_some() => {
                let items: Vec<Json> = results
                    .iter()
                    .map(|r| r.get(&task.loop_var).cloned().unwrap_or(Json::Null))
                    .collect();
                results
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.get("changed") == Some(&Json::Bool(true)))
                    .map(|(index, _)| item_context(task, ctx, index, &items))
                    .collect()
            }
            _ => vec![ctx.clone()],
        };
        let mut notify = Vec::new();
        for (index, name) in task.notify.iter().enumerate() {
            if !is_template(name) {
                notify.push(name.clone());
                continue;
            }
            let span = task
                .notify_spans
                .get(index)
                .cloned()
                .unwrap_or_else(|| task.span.clone());
            let node = Node::new(span, YamlValue::Str(name.clone()));
            for ctx in &contexts {
                match crate::template::render_node(&node, ctx) {
                    Ok(rendered) => {
                        for name in names(&rendered.to_json()) {
                            if !crate::playbook::notified_handlers(&name, &handlers).is_empty() {
                                notify.push(name);
                            } else {
                                self.warn(not_found(&name));
                            }
                        }
                    }
                    Err(error) => self.warn(Diagnostic::at(error.message, error.span).headline()),
                }
            }
        }
        notify.dedup();
        let mut task = task.clone();
        task.notify = notify;
        Cow::Owned(task)
    }

    fn warn(&self, message: String) {
        self.reporter.emit(&Event::Warning { message });
    }
}

fn not_found(name: &str) -> String {
    format!(
        "the requested handler `{name}` was not found in either the main handlers list nor \
         in the listening handlers list"
    )
}

/// The handler names a rendered `notify` entry gives: a string, or a list of them.
fn names(value: &Json) -> Vec<String> {
    match value {
        Json::String(name) => vec![name.clone()],
        Json::Array(items) => items.iter().flat_map(names).collect(),
        Json::Null => Vec::new(),
        other => vec![other.to_string()],
    }
}
