//! Checks of a playbook against its inventory before any host is touched: every template
//! compiles, every variable a task is certain to read is set somewhere, and every template
//! file a task names can be read (not too large, UTF-8).
//!
//! The check must never reject a playbook Ansible would run. A variable is only required
//! where Ansible is sure to read it: not under `default` or an `is defined` test, not on
//! one side of `and`/`or` or an `if`, and not in a task that a `when`, a loop that may be
//! empty, a `rescue`, a handler or the tag selection may keep from running. Whatever this
//! leaves out is still caught at run time, with its place.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostic;
use crate::inventory::Inventory;
use crate::playbook::{Playbook, Task, TaskBody};
use crate::runner::{PreparedPlay, RunOptions, magic_variable_names, select_by_tags};
use crate::tasks::TaskKind;
use crate::template;
use crate::yaml::{Node, Value};

/// Names minijinja provides itself.
const TEMPLATE_GLOBALS: &[&str] = &[
    "range",
    "dict",
    "namespace",
    "lookup",
    "query",
    "q",
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
    known.extend(options.extra_vars.keys().cloned());
    for task in playbook.all_tasks() {
        known.extend(task.register.iter().cloned());
        known.insert(task.loop_var.clone());
        known.extend(task.index_var.iter().cloned());
        if let TaskBody::Action { kind, args, .. } = &task.body {
            let mut dirs: Vec<&Path> = task.role.iter().map(|r| r.path.as_path()).collect();
            dirs.push(playbook.dir());
            known.extend(kind.sets_variables(args, &dirs));
        }
        // A templated type may name `set_fact` on a host: its arguments may be variables.
        if let TaskBody::Templated(templated) = &task.body {
            known.extend(templated.argument_names());
        }
        known.extend(task.vars.keys().cloned());
        if let Some(role) = &task.role {
            for vars in [&role.defaults, &role.vars, &role.params, &role.magic()] {
                known.extend(vars.keys().cloned());
            }
        }
    }
    for play in &playbook.plays {
        known.extend(play.role_defaults.keys().cloned());
        known.extend(play.role_vars.keys().cloned());
    }
    // A file or role included under a template is read only when it runs: the variables
    // it sets are not known before, so none is required.
    // So does a module (src/plugins/): its `ansible_facts` may set any variable; and an
    // `include_vars` of a file a template names.
    let dynamic = playbook.all_tasks().iter().any(|task| match &task.body {
        TaskBody::Include(include) => include.tasks.is_none(),
        TaskBody::Action {
            module: Some(_), ..
        } => true,
        TaskBody::Action { kind, args, .. } => kind.sets_unknown_variables(args),
        _ => false,
    });
    // Set anywhere but in a play's `vars` and `vars_files`.
    let elsewhere = known.clone();
    for play in plays {
        known.extend(play.vars.keys().cloned());
    }
    for prepared in plays {
        let checker = Checker {
            broken: broken_play_vars(prepared, &known, &elsewhere),
            known: known.clone(),
            options,
            dir: playbook.dir(),
            dynamic,
        };
        let play = &prepared.play;
        // A play that selects no host runs nothing: its templates are only compiled. With
        // `--start-at-task`, any task may be one that does not run.
        let runs = !prepared.hosts.is_empty() && options.start_at_task.is_none();
        let tags: BTreeSet<String> = play.tags.iter().cloned().collect();
        for section in [&play.pre_tasks, &play.roles, &play.tasks, &play.post_tasks] {
            checker.tasks(section, runs, &tags)?;
        }
        checker.tasks(&play.handlers, false, &tags)?;
    }
    Ok(())
}

/// The template files a task names as written (not through a variable), each read: it
/// must be a regular file, at most [`crate::source::MAX_FILE_BYTES`] and UTF-8, so that a
/// template that cannot be read stops the run before any host is touched. A file that is
/// not there is left to the task, which says so on each host. A role's task finds its
/// templates in the role first. Returns each file's name (relative to the playbook's
/// folder), its text, the node that names it, and its path.
fn template_files<'n>(
    task: &Task,
    kind: TaskKind,
    args: &'n Node,
    dir: &Path,
) -> Result<Vec<(String, String, &'n Node, PathBuf)>, Diagnostic> {
    let mut found = kind.template_files(args, dir);
    if let Some(role) = &task.role {
        for ((_, path), (_, in_role)) in found.iter_mut().zip(kind.template_files(args, &role.path))
        {
            if in_role.is_some() {
                *path = in_role;
            }
        }
    }
    let mut files = Vec::new();
    for (node, path) in found {
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
        let text = template::read_file(&path, "template", &name)
            .map_err(|message| Diagnostic::at(message, node.span.clone()))?;
        files.push((name, text, node, path));
    }
    Ok(files)
}

/// The controller files a task sends as it names them (not through a template) must be
/// there: a script that is not is refused before any host is touched, where it is named. A
/// role's task looks in its role first.
fn sent_files_exist(
    task: &Task,
    kind: TaskKind,
    args: &Node,
    dir: &Path,
) -> Result<(), Diagnostic> {
    let role = task.role.as_ref().map(|role| role.path.as_path());
    for (node, name, look) in kind.controller_files(args) {
        if crate::tasks::controller_files::find_with_role(role, dir, &name, look).is_none() {
            return Err(Diagnostic::at(
                format!("could not find or access `{name}` on the controller"),
                node.span.clone(),
            )
            .with_hint(format!(
                "`{name}` is looked for in `files/` and beside the playbook (a role's task: in the role first)"
            )));
        }
    }
    Ok(())
}

/// Refuse, before the run, a task placed where its task type cannot do what it promises
/// ([`crate::tasks::TaskType::check_placement`]): `config_bundle` under `serial`, say.
pub fn check_placements(playbook: &Playbook) -> Result<(), Diagnostic> {
    for play in &playbook.plays {
        for task in play.all_tasks() {
            if let Some(kind) = task.kind() {
                crate::runner::check_strategy_placement(task, kind, play)?;
                if let Some((span, _)) = &task.r#async {
                    if kind.async_support() == crate::tasks::Async::NotBuilt {
                        return Err(Diagnostic::at(
                            format!(
                                "`async` is not supported for `{kind}` tasks: quayside cannot run them in the background"
                            ),
                            span.clone(),
                        ));
                    }
                }
                kind.check_placement(task, play)?;
            }
        }
    }
    Ok(())
}

struct Checker<'a> {
    known: BTreeSet<String>,
    /// The play's variables whose values read a variable set nowhere: the name read and
    /// where the value was written.
    broken: std::collections::BTreeMap<String, (String, crate::source::Span)>,
    options: &'a RunOptions,
    /// The playbook's folder, where template files are found.
    dir: &'a Path,
    /// The playbook includes files read only at run time: no variable is required.
    dynamic: bool,
}

/// The play's own variables (`vars`, `vars_files`), set nowhere else, whose templates are
/// sure to read a variable that is set nowhere (directly or through another such variable).
fn broken_play_vars(
    prepared: &PreparedPlay,
    known: &BTreeSet<String>,
    elsewhere: &BTreeSet<String>,
) -> std::collections::BTreeMap<String, (String, crate::source::Span)> {
    fn strings<'v>(value: &'v serde_json::Value, into: &mut Vec<&'v str>) {
        match value {
            serde_json::Value::String(s) if crate::yaml::is_template(s) => into.push(s),
            serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, into)),
            serde_json::Value::Object(map) => map.values().for_each(|v| strings(v, into)),
            _ => {}
        }
    }
    let mut reads: std::collections::BTreeMap<&str, (Vec<String>, crate::source::Span)> =
        Default::default();
    for (name, value) in &prepared.vars {
        let Some(span) = prepared.origins.get(name) else {
            continue;
        };
        if elsewhere.contains(name) {
            continue;
        }
        let mut texts = Vec::new();
        strings(value, &mut texts);
        let required: Vec<String> = texts
            .iter()
            .flat_map(|text| template::required_variables(text, false))
            .collect();
        if !required.is_empty() {
            reads.insert(name, (required, span.clone()));
        }
    }
    let mut broken = std::collections::BTreeMap::new();
    // A few rounds settle chains (`y: "{{ x }}"`, `x: "{{ nothere }}"`).
    for _ in 0..8 {
        let mut changed = false;
        for (name, (required, span)) in &reads {
            if broken.contains_key(*name) {
                continue;
            }
            for read in required {
                let cause = if let Some(cause) = broken.get(read) {
                    Some((cause as &(String, crate::source::Span)).clone())
                } else if !known.contains(read) && !read.starts_with("ansible_") {
                    Some((read.clone(), span.clone()))
                } else {
                    None
                };
                if let Some(cause) = cause {
                    broken.insert((*name).to_owned(), cause);
                    changed = true;
                    break;
                }
            }
        }
        if !changed {
            break;
        }
    }
    broken
}

impl crate::tasks::ArgReads for Checker<'_> {
    fn node(&self, node: &Node, certain: bool) -> Result<(), Diagnostic> {
        Checker::node(self, node, certain)
    }

    fn expression(&self, node: &Node, certain: bool) -> Result<(), Diagnostic> {
        Checker::expression(self, node, certain)
    }
}

impl Checker<'_> {
    /// `certain`: the tasks run whenever the play runs (no `when` above them, not a
    /// `rescue` or a handler).
    fn tasks(
        &self,
        tasks: &[Task],
        certain: bool,
        tags: &BTreeSet<String>,
    ) -> Result<(), Diagnostic> {
        for task in tasks {
            let mut tags = tags.clone();
            tags.extend(task.tags.iter().cloned());
            let selected = select_by_tags(&tags, &self.options.tags, &self.options.skip_tags);
            self.task(task, certain && selected, &tags)?;
        }
        Ok(())
    }

    fn task(&self, task: &Task, certain: bool, tags: &BTreeSet<String>) -> Result<(), Diagnostic> {
        // A failure under `ignore_errors` does not stop the run: Ansible runs such a task
        // even when its variables are missing.
        let mut certain = certain && !task.ignore_errors;
        // Conditions are read in order; after one that may be false, nothing is sure.
        for condition in &task.when {
            self.expression(condition, certain)?;
            certain &= matches!(condition.value, Value::Bool(true));
        }
        if let Some(items) = &task.r#loop {
            self.node(items, certain)?;
            // The task's arguments are read once per item: an empty loop reads none.
            certain &= matches!(&items.value, Value::Seq(list) if !list.is_empty());
        }
        for node in task.label.iter().chain(task.environment.iter()) {
            self.node(node, certain)?;
        }
        match &task.body {
            TaskBody::Block {
                block,
                rescue,
                always,
            } => {
                self.tasks(block, certain, tags)?;
                self.tasks(rescue, false, tags)?;
                self.tasks(always, certain, tags)?;
            }
            TaskBody::Action { kind, args, .. } => {
                kind.read_args(args, certain, self)?;
                sent_files_exist(task, *kind, args, self.dir)?;
                for (name, text, node, path) in template_files(task, *kind, args, self.dir)? {
                    self.template_file(&name, &text, node, certain, kind.template_variables())?;
                    let role = task.role.as_ref().map(|role| role.path.as_path());
                    let used = format!("the template of the task at {}", node.span);
                    crate::tasks::check_taken_in(
                        &path, &name, &text, role, self.dir, certain, &used,
                    )?;
                }
            }
            TaskBody::Include(include) => {
                // Included per host and item: nothing in it is sure to run.
                self.node(&include.file, certain)?;
                if let Some(tasks) = &include.tasks {
                    self.tasks(tasks, false, tags)?;
                }
            }
            // Its type is known per host when it runs: its name and arguments are
            // templates like any other.
            TaskBody::Templated(templated) => {
                self.node(&templated.name, certain)?;
                for node in std::iter::once(&templated.args).chain(&templated.extra_args) {
                    self.node(node, certain)?;
                }
            }
            TaskBody::Meta(_) => {}
        }
        let after = task
            .changed_when
            .iter()
            .chain(task.failed_when.iter())
            .chain(task.until.iter())
            .flatten();
        for node in after {
            self.expression(node, certain)?;
        }
        Ok(())
    }

    /// A template file a task renders: it must compile, and (in a task sure to run) every
    /// variable it is sure to read must be set somewhere. Errors point into the file.
    fn template_file(
        &self,
        name: &str,
        text: &str,
        node: &Node,
        certain: bool,
        provided: &[&str],
    ) -> Result<(), Diagnostic> {
        let file = std::sync::Arc::new(crate::source::SourceFile::new(name, text.to_owned()));
        let at = |line: u32, column: u32, length: usize| {
            crate::source::Span::new(file.clone(), line, column, length as u32)
        };
        let used = format!("the template of the task at {}", node.span);
        if let Some((message, line, column)) = template::file_syntax_error(text) {
            return Err(Diagnostic::at(message, at(line, column, 1)).with_hint(used.clone()));
        }
        if !certain || self.dynamic {
            return Ok(());
        }
        for (variable, line, column) in template::file_required_variables(text) {
            if let Some((read, span)) = self.broken.get(&variable) {
                return Err(
                    Diagnostic::at(format!("undefined variable `{read}`"), span.clone()).with_hint(
                        format!("read by the value of `{variable}`, used at {name}:{line}:{column} in {used}"),
                    ),
                );
            }
            if !self.known.contains(&variable)
                && !provided.contains(&variable.as_str())
                && !variable.starts_with("ansible_")
            {
                return Err(Diagnostic::at(
                    format!("undefined variable `{variable}`"),
                    at(line, column, variable.chars().count()),
                )
                .with_hint(format!(
                    "read by {used}; set it in the inventory, the play's `vars` or `vars_files`, with `register`, `set_fact` or `--extra-vars`"
                )));
            }
        }
        Ok(())
    }

    /// A bare expression (`when`, `failed_when`, `assert.that`), or a template there.
    fn expression(&self, node: &Node, certain: bool) -> Result<(), Diagnostic> {
        match &node.value {
            Value::Str(text) => self.text(text, !crate::yaml::is_template(text), node, certain),
            _ => Ok(()),
        }
    }

    fn node(&self, node: &Node, certain: bool) -> Result<(), Diagnostic> {
        match &node.value {
            Value::Str(text) if crate::yaml::is_template(text) => {
                self.text(text, false, node, certain)
            }
            Value::Seq(items) => items.iter().try_for_each(|item| self.node(item, certain)),
            Value::Map(entries) => entries
                .iter()
                .try_for_each(|(k, v)| self.node(k, certain).and_then(|_| self.node(v, certain))),
            _ => Ok(()),
        }
    }

    fn text(
        &self,
        text: &str,
        expression: bool,
        node: &Node,
        certain: bool,
    ) -> Result<(), Diagnostic> {
        if let Some(error) = template::syntax_error(text, expression, &node.span) {
            return Err(error.into());
        }
        if !certain || self.dynamic {
            return Ok(());
        }
        for name in template::required_variables(text, expression) {
            if let Some((read, span)) = self.broken.get(&name) {
                return Err(
                    Diagnostic::at(format!("undefined variable `{read}`"), span.clone()).with_hint(
                        format!("read by the value of `{name}`, used at {}", node.span),
                    ),
                );
            }
            // Facts gathered from hosts are named `ansible_*`; they exist only at run time.
            if !self.known.contains(&name) && !name.starts_with("ansible_") {
                return Err(Diagnostic::at(format!("undefined variable `{name}`"), node.span.clone())
                    .with_hint(
                        "set it in the inventory, the play's `vars` or `vars_files`, with `register`, `set_fact` or `--extra-vars`",
                    ));
            }
        }
        Ok(())
    }
}
