//! `module_defaults` (play, block, task, and the includes and imports under them), as
//! ansible-core 2.19.14 applies them: for each task, the entry naming its type (short or
//! `ansible.builtin.` name alike) of the innermost level that has one gives the arguments
//! the task does not set itself. An inner level's entry for a type replaces an outer one's
//! whole, it is not merged into it. Values may be templates, rendered with the task's.
//!
//! The defaults are written into each task's arguments when the playbook is read (and when
//! an include is read at run time), so they are checked before the run like the task's own.
//! A task's arguments are checked here, with its defaults merged (ansible-core merges them
//! before it checks): a required argument it leaves out may come from them.

use super::{Play, Task, TaskBody};
use crate::diagnostic::Diagnostic;
use crate::tasks::TaskKind;
use crate::yaml::{Node, Value};

/// The defaults in force, outer levels first: a later entry for a type wins.
#[derive(Debug, Clone, Default)]
pub struct ModuleDefaults(Vec<(String, Node)>);

impl ModuleDefaults {
    /// A `module_defaults` value: a mapping of task types to mappings of arguments, or a
    /// list of such mappings. Action groups (`group/NAME`) are refused.
    pub fn parse(node: &Node) -> Result<Self, Diagnostic> {
        let mut entries = Vec::new();
        let maps: Vec<&Node> = match &node.value {
            Value::Seq(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            _ => vec![node],
        };
        for map in maps {
            let Some(pairs) = map.as_map() else {
                return Err(Diagnostic::at(
                    format!(
                        "`module_defaults` must map task types to their arguments, found {}",
                        map.kind()
                    ),
                    map.span.clone(),
                ));
            };
            for (key, value) in pairs {
                let name = key.key_string();
                if name.starts_with("group/") {
                    return Err(Diagnostic::at(
                        format!(
                            "`module_defaults` for an action group (`{name}`) are not supported"
                        ),
                        key.span.clone(),
                    )
                    .with_hint("name each task type instead (`file:`, `ansible.builtin.copy:`)"));
                }
                let value = match &value.value {
                    Value::Null => Node::new(value.span.clone(), Value::Map(Vec::new())),
                    Value::Map(_) => value.clone(),
                    _ => {
                        return Err(Diagnostic::at(
                            format!(
                                "the defaults of `{name}` must be a mapping of its arguments, found {}",
                                value.kind()
                            ),
                            value.span.clone(),
                        ));
                    }
                };
                entries.push((resolved(&name), value));
            }
        }
        Ok(ModuleDefaults(entries))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// These defaults with `inner`'s after them (they win).
    fn within(&self, inner: &ModuleDefaults) -> ModuleDefaults {
        let mut entries = self.0.clone();
        entries.extend(inner.0.iter().cloned());
        ModuleDefaults(entries)
    }

    /// The arguments for the module `name` ([`resolved`]): the last entry naming it.
    fn for_name(&self, name: &str) -> Option<&[(Node, Node)]> {
        self.0
            .iter()
            .rev()
            .find(|(entry, _)| entry == name)
            .and_then(|(_, args)| args.as_map())
    }
}

/// A task type's name without `ansible.builtin.` or `ansible.legacy.`.
fn short(name: &str) -> &str {
    name.strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("ansible.legacy."))
        .unwrap_or(name)
}

/// The module a `module_defaults` key or a task's type names, short and full names alike
/// (`copy`, `ansible.builtin.copy`; `community.postgresql.postgresql_query`). Two names
/// of one module are two keys, as in ansible-core 2.19.14 (`systemd`'s defaults do not
/// reach `systemd_service`).
fn resolved(name: &str) -> String {
    let name = short(name);
    let kind = TaskKind::from_name(name).or_else(|| {
        let (collection, last) = name.rsplit_once('.')?;
        TaskKind::from_name(last).filter(|kind| kind.collection() == Some(collection))
    });
    kind.map_or_else(|| name.to_owned(), |kind| kind.name().to_owned())
}

/// Apply the play's `module_defaults`, and those of every block and task in it.
pub fn apply_to_play(play: &mut Play) -> Result<(), Diagnostic> {
    let scope = play.module_defaults.clone();
    for list in [
        &mut play.pre_tasks,
        &mut play.roles,
        &mut play.tasks,
        &mut play.post_tasks,
        &mut play.handlers,
    ] {
        apply(list, &scope)?;
    }
    Ok(())
}

/// Apply `scope` (and each task's own `module_defaults` within it) to `tasks`, and refuse
/// a task that still misses a required argument.
pub fn apply(tasks: &mut [Task], scope: &ModuleDefaults) -> Result<(), Diagnostic> {
    apply_within(tasks, scope, false)
}

/// [`apply`], for tasks that are written to fail (`written_to_fail`: an enclosing block has
/// `ignore_errors: true`, or they are in the `block` of one with a `rescue`) or not. A task
/// written to fail (so, or with its own `ignore_errors: true`) whose arguments are wrong
/// the way ansible-core fails a task on each host ([`crate::tasks::argument_failure`]) is
/// not refused: it keeps the failure, to fail so on each host it runs on.
fn apply_within(
    tasks: &mut [Task],
    scope: &ModuleDefaults,
    written_to_fail: bool,
) -> Result<(), Diagnostic> {
    for task in tasks {
        let scope = scope.within(&task.module_defaults);
        let written_to_fail = written_to_fail || task.ignore_errors;
        let mut argument_failure = None;
        let span = task.span.clone();
        let unchecked = task.unchecked.take();
        match &mut task.body {
            TaskBody::Action { kind, args, module } => {
                let added = add_defaults(&scope, *kind, module.as_deref(), args);
                if added || unchecked.is_some() {
                    let shown = match module {
                        Some(module) => short(&module.name).to_owned(),
                        None => kind.name().to_owned(),
                    };
                    let key = Node::new(span, Value::Str(shown));
                    let checked = match module {
                        Some(module) => crate::plugins::check_args(module, &key, args),
                        None => crate::tasks::check_args(*kind, &key, args),
                    };
                    // Written to fail, and wrong as ansible-core fails a task: it fails so.
                    let failure = match (checked.is_err() && written_to_fail, module) {
                        (true, None) => crate::tasks::argument_failure(*kind, args),
                        _ => None,
                    };
                    if failure.is_some() {
                        argument_failure = failure;
                    } else {
                        // Still wrong as written: refused where it was found when read.
                        checked.map_err(|error| match unchecked {
                            Some(unchecked) if unchecked.headline() == error.headline() => {
                                unchecked
                            }
                            _ => error,
                        })?;
                    }
                }
            }
            TaskBody::Block {
                block,
                rescue,
                always,
            } => {
                let rescued = !rescue.is_empty();
                apply_within(block, &scope, written_to_fail || rescued)?;
                for list in [rescue, always] {
                    apply_within(list, &scope, written_to_fail)?;
                }
            }
            TaskBody::Include(include) => {
                include.module_defaults = scope.clone();
                if let Some(tasks) = &mut include.tasks {
                    apply_within(tasks, &scope, written_to_fail)?;
                }
            }
            // Its defaults are those of the type it names on each host (`templated.rs`).
            TaskBody::Templated(templated) => templated.module_defaults = scope.clone(),
            TaskBody::Meta(_) => {}
        }
        task.argument_failure = argument_failure;
    }
    Ok(())
}

/// Write the defaults `scope` has for a task of type `kind` (a module's: `module`) into its
/// arguments `args`, where they do not set them: whether one was added.
pub(super) fn add_defaults(
    scope: &ModuleDefaults,
    kind: TaskKind,
    module: Option<&crate::plugins::Module>,
    args: &mut Node,
) -> bool {
    let name = match module {
        Some(module) => resolved(&module.name),
        None => kind.name().to_owned(),
    };
    // Its own module's defaults, then those of the module its action hands it to
    // (`service`: `systemd`'s) for what is still left out.
    let backend = module.is_none().then(|| kind.backend()).flatten();
    let layers: Vec<&[(Node, Node)]> = [Some(name.as_str()), backend]
        .into_iter()
        .flatten()
        .filter_map(|name| scope.for_name(name))
        .collect();
    let mut added = false;
    if let Value::Map(given) = &mut args.value {
        for (key, value) in layers.into_iter().flatten() {
            let name = key.key_string();
            if !given.iter().any(|(k, _)| k.key_string() == name) {
                given.push((key.clone(), value.clone()));
                added = true;
            }
        }
    }
    added
}
