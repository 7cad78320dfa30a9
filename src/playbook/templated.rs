//! A task whose type is a template: `action: "{{ ansible_facts.pkg_mgr }}"`, `action:
//! "{{ mod }} name=x"`, `local_action: "{{ ... }}"`, `action: {module: "{{ m }}", ...}`.
//!
//! As in ansible-core 2.19.14, the name is rendered for each host when the task runs (with
//! that host's variables and facts) and resolved then, as a written name is at load: a
//! built-in task type or a module (src/plugins/). Its arguments are read and checked
//! against the type it names then; what is wrong (a name that is no type, an argument the
//! type does not take) fails that host with ansible-core's message, not the run. The task
//! then runs as the [`super::TaskBody::Action`] it names.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::ModuleDefaults;
use super::parse::{is_meta, merge_args, short_task_type};
use crate::plugins::Module;
use crate::tasks::{Across, TaskKind};
use crate::template::TemplateError;
use crate::yaml::{Node, Value};

/// The task type as written (a template) and its arguments, read when it runs.
#[derive(Debug, Clone)]
pub struct Templated {
    /// The name as written (`{{ ansible_facts.pkg_mgr }}`), where it was written.
    pub name: Node,
    /// The arguments as written beside it: `name=x state=present`, a free-form command
    /// line, or a mapping (`action`'s mapping form without `module`).
    pub args: Node,
    /// `args:`, merged into them once the type is known.
    pub extra_args: Option<Node>,
    /// Where the task's modules are looked for (src/plugins/).
    pub play_dir: PathBuf,
    pub role_dir: Option<PathBuf>,
    /// The `module_defaults` that reach the task: those of the type it names apply.
    pub module_defaults: ModuleDefaults,
    /// Modules resolved so far, by name: looked for once a run, not once a host.
    modules: Arc<Mutex<HashMap<String, Option<Arc<Module>>>>>,
}

/// What a templated task names on one host: its type, its arguments as written (not yet
/// rendered) with `args:` and its `module_defaults` merged in, and its module.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub kind: TaskKind,
    pub args: Node,
    pub module: Option<Arc<Module>>,
}

/// Why a templated task cannot run on a host.
#[derive(Debug)]
pub enum Unresolved {
    /// The name did not render (an undefined variable...).
    Template(TemplateError),
    /// It rendered to no task type, or its arguments do not fit the type: the message.
    Message(String),
}

impl Templated {
    pub fn new(
        name: Node,
        args: Node,
        extra_args: Option<Node>,
        play_dir: &Path,
        role_dir: Option<&Path>,
    ) -> Self {
        Self {
            name,
            args,
            extra_args,
            play_dir: play_dir.to_owned(),
            role_dir: role_dir.map(Path::to_owned),
            module_defaults: ModuleDefaults::default(),
            modules: Arc::default(),
        }
    }

    /// The names of its arguments as written (`KEY=` words, a mapping's keys, `args:`):
    /// the variables it may set, should it name `set_fact` on a host.
    pub fn argument_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for node in std::iter::once(&self.args).chain(&self.extra_args) {
            match &node.value {
                Value::Map(entries) => names.extend(entries.iter().map(|(k, _)| k.key_string())),
                Value::Str(text) => names.extend(
                    super::parse::split_args(text)
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|word| word.split_once('=').map(|(k, _)| k.to_owned())),
                ),
                _ => {}
            }
        }
        names
    }

    /// The name as written.
    pub fn name_text(&self) -> &str {
        self.name.as_str().unwrap_or_default()
    }

    /// The task type the name renders to for a host whose variables are `ctx`, with its
    /// arguments.
    pub fn resolve(&self, ctx: &minijinja::Value) -> Result<Resolved, Unresolved> {
        let name = crate::template::render_str(self.name_text(), &self.name.span, ctx)
            .map_err(Unresolved::Template)?;
        let name = name.trim();
        // ansible-core's words (`Task failed:` is part of the result's message).
        let unresolved = || {
            Unresolved::Message(format!(
                "Task failed: Cannot resolve '{name}' to an action or module."
            ))
        };
        if name.is_empty() || is_meta(name) || name.contains(char::is_whitespace) {
            return Err(unresolved());
        }
        let key = Node::new(self.name.span.clone(), Value::Str(name.to_owned()));
        let (kind, module) = match short_task_type(name) {
            Some(kind) => (kind, None),
            None => match self.module(&key)? {
                Some(module) => (TaskKind::Module, Some(module)),
                None => return Err(unresolved()),
            },
        };
        if kind.across() != Across::EachHost {
            return Err(Unresolved::Message(format!(
                "`{kind}` runs across the hosts of a batch: its name cannot be a template"
            )));
        }
        let mut args = merge_args(kind, &self.args, self.extra_args.as_ref())
            .map_err(|diagnostic| Unresolved::Message(diagnostic.headline()))?;
        super::module_defaults::add_defaults(
            &self.module_defaults,
            kind,
            module.as_deref(),
            &mut args,
        );
        // A module checks its own arguments when it runs, with ansible-core's messages; a
        // built-in type is checked here, as it would have been at load.
        if module.is_none() {
            if let Some(message) = crate::tasks::unsupported_args(kind, &args)
                .or_else(|| crate::tasks::missing_args(kind, &args))
            {
                return Err(Unresolved::Message(message));
            }
            crate::tasks::check_args(kind, &key, &args)
                .map_err(|diagnostic| Unresolved::Message(diagnostic.headline()))?;
        }
        Ok(Resolved { kind, args, module })
    }

    /// The module `key` names, looked for once.
    fn module(&self, key: &Node) -> Result<Option<Arc<Module>>, Unresolved> {
        let name = key.key_string();
        if let Some(found) = self.modules.lock().expect("modules").get(&name) {
            return Ok(found.clone());
        }
        let found = crate::plugins::resolve(key, &self.play_dir, self.role_dir.as_deref())
            .map_err(|diagnostic| Unresolved::Message(diagnostic.headline()))?;
        self.modules
            .lock()
            .expect("modules")
            .insert(name, found.clone());
        Ok(found)
    }
}
