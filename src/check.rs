//! Checks of a playbook against its inventory before any host is touched: every template
//! compiles, every variable a template reads is set somewhere, and every template file a
//! task names can be read (not too large, UTF-8).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostic;
use crate::inventory::Inventory;
use crate::playbook::{Playbook, Task, TaskBody};
use crate::runner::{PreparedPlay, RunOptions, magic_variable_names};
use crate::template;
use crate::yaml::{Node, Value};

/// Names minijinja provides itself.
const TEMPLATE_GLOBALS: &[&str] = &[
    "range",
    "dict",
    "namespace",
    "lookup",
    "debug",
    "cycler",
    "joiner",
    "loop",
    "true",
    "false",
    "none",
    "True",
    "False",
    "None",
];

pub fn check_templates(
    playbook: &Playbook,
    inventory: &Inventory,
    plays: &[PreparedPlay],
    options: &RunOptions,
) -> Result<(), Diagnostic> {
    let mut known: BTreeSet<String> = TEMPLATE_GLOBALS
        .iter()
        .chain(magic_variable_names())
        .map(|s| (*s).to_owned())
        .collect();
    for host in inventory.hosts.keys() {
        known.extend(inventory.host_vars(host).keys().cloned());
    }
    for play in plays {
        known.extend(play.vars.keys().cloned());
    }
    known.extend(options.extra_vars.keys().cloned());
    for task in playbook.all_tasks() {
        known.extend(task.register.iter().cloned());
        known.insert(task.loop_var.clone());
        known.extend(task.index_var.iter().cloned());
        if let TaskBody::Action { kind, args } = &task.body {
            if kind == "set_fact" {
                if let Some(entries) = args.as_map() {
                    known.extend(entries.iter().map(|(k, _)| k.key_string()));
                }
            }
        }
    }
    for task in playbook.all_tasks() {
        check_task(task, &known)?;
        check_template_files(task, playbook.dir())?;
    }
    Ok(())
}

/// The template files a task names as written (not through a variable): each must be
/// readable, at most [`crate::yaml::MAX_FILE_BYTES`] and UTF-8, so that a template that
/// cannot be read stops the run before any host is touched. A file that is not there is
/// left to the task, which says so on each host.
fn check_template_files(task: &Task, dir: &Path) -> Result<(), Diagnostic> {
    let TaskBody::Action { kind, args } = &task.body else {
        return Ok(());
    };
    let named: Vec<(&Node, Option<PathBuf>)> = match kind.as_str() {
        "template_config" => args
            .get("src")
            .and_then(|node| Some((node, node.as_str()?)))
            .map(|(node, src)| (node, crate::tasks::template_path(dir, src)))
            .into_iter()
            .collect(),
        "config_bundle" => match args.get("files").map(|files| &files.value) {
            Some(Value::Seq(files)) => files
                .iter()
                .filter_map(|file| file.get("template"))
                .filter_map(|node| Some((node, node.as_str()?)))
                .map(|(node, name)| (node, bundle_template_path(dir, name)))
                .collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    for (node, path) in named {
        let (Some(written), Some(path)) = (node.as_str(), path) else {
            continue;
        };
        if crate::yaml::is_template(written) {
            continue;
        }
        let name = path
            .strip_prefix(dir)
            .unwrap_or(&path)
            .display()
            .to_string();
        template::read_file(&path, "template", &name)
            .map_err(|message| Diagnostic::at(message, node.span.clone()))?;
    }
    Ok(())
}

/// Where `config_bundle` finds a template (its `find`): as written (absolute, or beside
/// the playbook), else in `templates/` or `../templates/`.
fn bundle_template_path(dir: &Path, name: &str) -> Option<PathBuf> {
    [
        dir.join(name),
        dir.join("templates").join(name),
        dir.join("../templates").join(name),
    ]
    .into_iter()
    .find(|path| path.is_file())
}

fn check_task(task: &Task, known: &BTreeSet<String>) -> Result<(), Diagnostic> {
    let expressions = task
        .when
        .iter()
        .chain(task.changed_when.iter().flatten())
        .chain(task.failed_when.iter().flatten())
        .chain(task.until.iter().flatten());
    for node in expressions {
        if let Value::Str(text) = &node.value {
            let expression = !crate::yaml::is_template(text);
            check_text(text, expression, node, known)?;
        }
    }
    let templated = task
        .r#loop
        .iter()
        .chain(task.label.iter())
        .chain(task.environment.iter());
    for node in templated {
        check_node(node, known)?;
    }
    if let TaskBody::Action { kind, args } = &task.body {
        if kind == "assert" {
            // `that` holds bare expressions; its messages are templates.
            for (key, value) in args.as_map().unwrap_or_default() {
                if key.as_str() == Some("that") {
                    for item in as_list(value) {
                        if let Value::Str(text) = &item.value {
                            check_text(text, !crate::yaml::is_template(text), item, known)?;
                        }
                    }
                } else {
                    check_node(value, known)?;
                }
            }
        } else if kind == "debug" {
            for (key, value) in args.as_map().unwrap_or_default() {
                match (&value.value, key.as_str()) {
                    (Value::Str(text), Some("var")) => check_text(text, true, value, known)?,
                    _ => check_node(value, known)?,
                }
            }
        } else {
            check_node(args, known)?;
        }
    }
    Ok(())
}

fn as_list(node: &Node) -> Vec<&Node> {
    match &node.value {
        Value::Seq(items) => items.iter().collect(),
        _ => vec![node],
    }
}

fn check_node(node: &Node, known: &BTreeSet<String>) -> Result<(), Diagnostic> {
    match &node.value {
        Value::Str(text) if crate::yaml::is_template(text) => check_text(text, false, node, known),
        Value::Seq(items) => items.iter().try_for_each(|item| check_node(item, known)),
        Value::Map(entries) => entries
            .iter()
            .try_for_each(|(k, v)| check_node(k, known).and_then(|_| check_node(v, known))),
        _ => Ok(()),
    }
}

fn check_text(
    text: &str,
    expression: bool,
    node: &Node,
    known: &BTreeSet<String>,
) -> Result<(), Diagnostic> {
    if let Some(error) = template::syntax_error(text, expression, &node.span) {
        return Err(error.into());
    }
    for name in template::referenced_variables(text, expression) {
        // Facts gathered from hosts are named `ansible_*`; they exist only at run time.
        if !known.contains(&name) && !name.starts_with("ansible_") && !guarded(text, &name) {
            return Err(Diagnostic::at(format!("undefined variable `{name}`"), node.span.clone())
                .with_hint(
                    "set it in the inventory, the play's `vars` or `vars_files`, with `register`, `set_fact` or `--extra-vars`",
                ));
        }
    }
    Ok(())
}

/// Whether every use of `name` in `text` is guarded: `name | default(...)`,
/// `name is defined`, `name is not defined`. Such a variable may be left unset.
fn guarded(text: &str, name: &str) -> bool {
    let pattern = format!(
        r"(^|[^\w.]){}\b(\s*(\|\s*(default|d)\b|is\s+(not\s+)?defined\b))?",
        regex::escape(name)
    );
    let Ok(uses) = regex::Regex::new(&pattern) else {
        return false;
    };
    let mut any = false;
    for found in uses.captures_iter(text) {
        any = true;
        if found.get(2).is_none() {
            return false;
        }
    }
    any
}

#[cfg(test)]
mod tests {
    use super::guarded;

    #[test]
    fn a_variable_with_a_default_may_be_unset() {
        assert!(guarded("{{ a | default('x') }}", "a"));
        assert!(guarded("{{ (a|d({})) is changed }}", "a"));
        assert!(!guarded("a is defined and a.b", "a"));
        assert!(guarded("a is not defined", "a"));
        assert!(!guarded("{{ a }} {{ a | default(1) }}", "a"));
        assert!(!guarded("{{ b.a }} {{ a }}", "a"));
    }
}
