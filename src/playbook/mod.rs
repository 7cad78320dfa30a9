//! The playbook model: plays, tasks and blocks, each keeping the span it was written at.
//!
//! A playbook is parsed and checked completely before any host is touched: every keyword,
//! task type and argument is known, every template compiles.

mod module_defaults;
mod parse;
mod roles;
mod templated;

pub use module_defaults::ModuleDefaults;
pub use module_defaults::apply as apply_module_defaults;

use std::path::{Path, PathBuf};

pub use parse::{
    TASK_KEYWORDS, check_notified_handlers, has_templated_handler_names, include_path,
    load_included_file, parse_playbook,
};
pub use roles::{
    Role, load_role_at_run, role_search_path, set_collections_path, set_load_vars, set_roles_path,
};
pub use templated::{Resolved, Templated, Unresolved};

use crate::source::Span;
use crate::tasks::TaskKind;
use crate::vars::Vars;
use crate::yaml::Node;

#[derive(Debug, Clone)]
pub struct Playbook {
    pub path: PathBuf,
    pub plays: Vec<Play>,
}

impl Playbook {
    /// The folder relative paths in the playbook are read from.
    pub fn dir(&self) -> &Path {
        self.path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    }

    /// Every task of every play, blocks flattened, handlers included.
    pub fn all_tasks(&self) -> Vec<&Task> {
        self.plays.iter().flat_map(Play::all_tasks).collect()
    }
}

impl Play {
    /// The task lists in the sections they run in, as Ansible runs them: handlers are
    /// flushed after `pre_tasks`, after `roles` and `tasks` together, and after
    /// `post_tasks`.
    pub fn sections(&self) -> [Vec<&[Task]>; 3] {
        [
            vec![&self.pre_tasks[..]],
            vec![&self.roles[..], &self.tasks[..]],
            vec![&self.post_tasks[..]],
        ]
    }

    /// Every task of the play, blocks flattened, handlers included.
    pub fn all_tasks(&self) -> Vec<&Task> {
        let mut tasks = Vec::new();
        for section in [
            &self.pre_tasks,
            &self.roles,
            &self.tasks,
            &self.post_tasks,
            &self.handlers,
        ] {
            tasks.extend(flatten(section));
        }
        tasks
    }
}

/// `tasks` and, depth first, the tasks of their blocks, rescues and always sections.
pub fn flatten(tasks: &[Task]) -> Vec<&Task> {
    let mut all = Vec::new();
    for task in tasks {
        all.push(task);
        if let TaskBody::Include(include) = &task.body {
            all.extend(flatten(include.tasks.as_deref().unwrap_or_default()));
        }
        if let TaskBody::Block {
            block,
            rescue,
            always,
        } = &task.body
        {
            for list in [block, rescue, always] {
                all.extend(flatten(list));
            }
        }
    }
    all
}

#[derive(Debug, Clone)]
pub struct Play {
    pub name: String,
    pub span: Span,
    pub hosts: String,
    /// Where `hosts` was written, for errors in a templated pattern.
    pub hosts_span: Span,
    pub vars: Vars,
    pub var_origins: crate::vars::Origins,
    pub vars_files: Vec<Node>,
    pub r#become: Option<bool>,
    pub become_user: Option<String>,
    /// `remote_user` (or its alias `user`): the SSH user when a host sets no `ansible_user`.
    pub remote_user: Option<String>,
    /// `diff`: the tasks' default for showing their changes, over `--diff`.
    pub diff: Option<bool>,
    pub serial: Vec<Serial>,
    pub max_fail_percentage: Option<f64>,
    pub any_errors_fatal: bool,
    /// `force_handlers`: handlers notified on a host before it failed still run there at
    /// the end of the section (`pre_tasks`, `roles`+`tasks`, `post_tasks`). Unset, the
    /// run's `--force-handlers` decides.
    pub force_handlers: Option<bool>,
    /// `module_defaults`: applied to the tasks' arguments when the play is read.
    pub module_defaults: ModuleDefaults,
    /// `strategy`: how the play's hosts go through its tasks, and where it was written
    /// (none: ansible.cfg's `[defaults] strategy`, set at load).
    pub strategy: Strategy,
    pub strategy_span: Option<Span>,
    pub gather_facts: bool,
    /// `gather_subset`: which facts `gather_facts` gathers.
    pub gather_subset: crate::tasks::setup::Subsets,
    pub tags: Vec<String>,
    pub environment: Option<Node>,
    pub pre_tasks: Vec<Task>,
    /// `roles:`, each a block of its dependencies and its tasks; they run after
    /// `pre_tasks` (and their handlers), before `tasks`.
    pub roles: Vec<Task>,
    /// The defaults of the play's public roles (`roles:`, `import_role`, `include_role`
    /// with `public`): every task of the play sees them, below the inventory.
    pub role_defaults: Vars,
    /// Their `vars/`: every task of the play sees them, above `vars_files`.
    pub role_vars: Vars,
    pub tasks: Vec<Task>,
    pub post_tasks: Vec<Task>,
    pub handlers: Vec<Task>,
}

/// A play's strategy, as ansible-core names its built-in strategy plugins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Every host runs a task before any host starts the next.
    #[default]
    Linear,
    /// Each host goes through the tasks on its own, a fork per task.
    Free,
    /// As `free`, a fork held by a host from its first task to its last.
    HostPinned,
}

impl Strategy {
    /// The strategy a playbook or ansible.cfg names (`free`, `ansible.builtin.free`).
    pub fn named(name: &str) -> Option<Strategy> {
        match name.strip_prefix("ansible.builtin.").unwrap_or(name) {
            "linear" => Some(Strategy::Linear),
            "free" => Some(Strategy::Free),
            "host_pinned" => Some(Strategy::HostPinned),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Strategy::Linear => "linear",
            Strategy::Free => "free",
            Strategy::HostPinned => "host_pinned",
        }
    }
}

/// One step of `serial`: a number of hosts or a percentage of the play's hosts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Serial {
    Count(usize),
    Percent(f64),
}

#[derive(Debug, Clone)]
pub struct Task {
    pub name: Option<String>,
    pub span: Span,
    pub body: TaskBody,
    pub when: Vec<Node>,
    pub r#loop: Option<Node>,
    /// Which loop keyword gave `r#loop`: how its value becomes the items.
    pub loop_form: LoopForm,
    /// `loop_control.extended`: the item's context has `ansible_loop`.
    pub loop_extended: bool,
    /// `loop_control.pause`: seconds to wait between two items.
    pub loop_pause: Option<f64>,
    pub loop_var: String,
    pub index_var: Option<String>,
    pub label: Option<Node>,
    pub register: Option<String>,
    pub notify: Vec<String>,
    /// Where each of `notify` was written.
    pub notify_spans: Vec<Span>,
    pub listen: Vec<String>,
    pub tags: Vec<String>,
    pub run_once: bool,
    /// `delegate_to`: a host name, or a template rendered per host (and loop item), and
    /// where it was written.
    pub delegate_to: Option<(String, Span)>,
    /// `delegate_facts`: facts a delegated task sets go to the delegated host.
    pub delegate_facts: Option<bool>,
    pub no_log: bool,
    pub ignore_errors: bool,
    pub changed_when: Option<Vec<Node>>,
    pub failed_when: Option<Vec<Node>>,
    /// `retries` and `delay`: a number, or a template rendered when the task runs.
    pub retries: Option<Node>,
    pub until: Option<Vec<Node>>,
    pub delay: Option<Node>,
    pub check_mode: Option<bool>,
    /// `diff`: show (or not) the task's changes whatever `--diff` says.
    pub diff: Option<bool>,
    /// `remote_user`: the SSH user for this task (or block) when the host sets no
    /// `ansible_user`, over the play's: a name, or a template rendered per host.
    pub remote_user: Option<(String, Span)>,
    pub environment: Option<Node>,
    pub r#become: Option<bool>,
    pub become_user: Option<String>,
    pub timeout: Option<u64>,
    /// `async`: run in the background on the host for at most this many seconds (a number,
    /// or a template rendered when the task runs), where the keyword was written.
    pub r#async: Option<(Span, Node)>,
    /// `poll`: seconds between looks at an `async` task (0: do not wait for it).
    pub poll: Option<(Span, Node)>,
    /// The task's (or block's) own `vars:`; a block's pass down to its tasks.
    pub vars: Vars,
    pub var_origins: crate::vars::Origins,
    /// The role the task belongs to: its defaults, vars and parameters apply to it.
    pub role: Option<std::sync::Arc<Role>>,
    /// The task's (or block's) own `module_defaults`, already applied to the arguments of
    /// the tasks they reach (see `module_defaults.rs`).
    pub module_defaults: ModuleDefaults,
    /// What checking its arguments as written found wrong (a required one left out...):
    /// the `module_defaults` around it may still supply it (ansible-core merges them before
    /// checking), so it is refused once they are applied, if still wrong (`module_defaults.rs`).
    pub unchecked: Option<crate::diagnostic::Diagnostic>,
    /// An argument error ansible-core fails the task with on each host (a required argument
    /// left out, mutually exclusive ones...), in its words, on a task written to fail
    /// (`ignore_errors: true`, or in a block with a `rescue`): the task fails so on each
    /// host it runs on, touching nothing, instead of the run being refused (see
    /// `module_defaults.rs`).
    pub argument_failure: Option<String>,
    /// Its task type's name as written (`ansible.builtin.command`, `ping`): an unnamed
    /// task is shown by it, as ansible-core shows one.
    pub written: Option<String>,
}

#[derive(Debug, Clone)]
pub enum TaskBody {
    /// One typed task: its type and its arguments, rendered per host at run time.
    Action {
        kind: TaskKind,
        args: Node,
        /// The module a [`TaskKind::Module`] task runs (src/plugins/), resolved at load.
        module: Option<std::sync::Arc<crate::plugins::Module>>,
    },
    Block {
        block: Vec<Task>,
        rescue: Vec<Task>,
        always: Vec<Task>,
    },
    /// `meta: flush_handlers` (and the other `meta` actions quayside knows).
    Meta(Meta),
    /// `include_tasks` / `include_role`: decided per host when the task is reached.
    Include(Box<Include>),
    /// `action: "{{ ... }}"`: a task whose type is a template, rendered and resolved per
    /// host when it runs (`templated.rs`), then run as the [`TaskBody::Action`] it names.
    Templated(Box<Templated>),
}

/// A dynamic include. Its `when` and `loop` decide, per host and item, whether the tasks
/// are included; hosts that include the same file with the same item run them together.
#[derive(Debug, Clone)]
pub struct Include {
    /// The file (`include_tasks`, perhaps a template) or the role's name (`include_role`).
    pub file: Node,
    /// The folder of the file the include is written in: a relative file is found there
    /// first, then beside the playbook.
    pub dir: PathBuf,
    /// The folder of the playbook.
    pub play_dir: PathBuf,
    /// The tasks, when they could be read at load (a role, a file named without a
    /// template).
    pub tasks: Option<Vec<Task>>,
    /// `include_role`: the role (with its dependencies), and whether its defaults and vars
    /// are seen by the play's later tasks once it ran (`public`).
    pub role: Option<(Vec<std::sync::Arc<Role>>, bool)>,
    /// `include_role` whose name or `*_from` is a template: its arguments, rendered and
    /// read for each host and item when it runs.
    pub role_args: Option<Node>,
    /// `apply`: keywords for every included task (a block carrying them).
    pub apply: Option<Task>,
    /// The `module_defaults` in force where the include is: applied to what it reads.
    pub module_defaults: ModuleDefaults,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meta {
    FlushHandlers,
    EndPlay,
    EndHost,
    /// `meta: end_role`: the hosts that reach it run no more of this use of the role.
    EndRole,
    Noop,
    /// `meta: end_batch`: the batch (of `serial`) ends; the play goes on with the next.
    EndBatch,
    /// `meta: clear_host_errors`: the play's failed and unreachable hosts are no longer
    /// failed: they take part in the next play (not in the rest of this one).
    ClearHostErrors,
    /// `meta: reset_connection`: the hosts' connections are closed, and opened again by
    /// their next task.
    ResetConnection,
}

/// The handlers (indices into `handlers`) a notification runs, as ansible-core 2.19.14
/// resolves it, looking through the play's handler blocks last first (the play's own, then
/// each role's, the last role first) and through each block in order: the first handler
/// found under that name (or `role : name`), and every handler listening on it as a topic
/// (or `role : topic`), one per handler name.
pub fn notified_handlers(notification: &str, handlers: &[&Task]) -> Vec<usize> {
    let order = search_order(handlers);
    let mut found = Vec::new();
    if let Some(&index) = order.iter().find(|&&i| {
        let h = handlers[i];
        h.name.as_deref() == Some(notification)
            || h.name
                .as_deref()
                .is_some_and(|name| h.role_qualified(name).any(|q| q == notification))
    }) {
        found.push(index);
    }
    let mut seen: Vec<&str> = Vec::new();
    for &index in &order {
        let handler = handlers[index];
        if !handler.listen.iter().any(|topic| {
            topic == notification || handler.role_qualified(topic).any(|q| q == notification)
        }) {
            continue;
        }
        if let Some(name) = handler.name.as_deref() {
            if seen.contains(&name) {
                continue;
            }
            seen.push(name);
        }
        if !found.contains(&index) {
            found.push(index);
        }
    }
    found
}

/// The order ansible-core looks through handlers in: their blocks (runs of handlers of one
/// role, or of the play) last first, each block's handlers first to last.
fn search_order(handlers: &[&Task]) -> Vec<usize> {
    let block_of = |task: &Task| task.role.as_ref().map(std::sync::Arc::as_ptr);
    let mut blocks: Vec<Vec<usize>> = Vec::new();
    for (index, handler) in handlers.iter().enumerate() {
        match blocks.last_mut() {
            Some(block) if block_of(handlers[block[0]]) == block_of(handler) => block.push(index),
            _ => blocks.push(vec![index]),
        }
    }
    blocks.into_iter().rev().flatten().collect()
}

/// The loop keywords, as Ansible turns each one's value into the items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoopForm {
    /// `loop` and `with_items`: a list.
    #[default]
    Items,
    /// `with_dict`: a mapping, one `{key, value}` item per entry.
    Dict,
    /// `with_sequence`: `start=1 end=5 stride=1 format=%d` (or `count=N`), numbers as text.
    Sequence,
    /// `with_together`: lists zipped, the shorter ones padded with null.
    Together,
    /// `with_fileglob`: the controller files the patterns match.
    Fileglob,
}

impl Task {
    /// The names a handler answers to: its `name`, `role : name` for a role's handler (as
    /// Ansible allows), and its `listen` topics.
    pub fn handler_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.name.iter().cloned().collect();
        if let Some(name) = &self.name {
            names.extend(self.role_qualified(name));
        }
        for topic in &self.listen {
            names.push(topic.clone());
            names.extend(self.role_qualified(topic));
        }
        names
    }

    /// `ROLE : name` for a role's handler name or `listen` topic, as ansible-core accepts
    /// it: the role's full name, and a collection's role by its short name too.
    fn role_qualified<'a>(&'a self, name: &'a str) -> impl Iterator<Item = String> + 'a {
        self.role.iter().flat_map(move |role| {
            let mut names = vec![format!("{} : {name}", role.name)];
            if role.short_name != role.name {
                names.push(format!("{} : {name}", role.short_name));
            }
            names
        })
    }

    /// Its task type, if it is a typed task (not a block or a `meta`).
    pub fn kind(&self) -> Option<TaskKind> {
        match &self.body {
            TaskBody::Action { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// The name of its task type as Ansible shows it: a module's own name for a module.
    pub fn action_name(&self) -> Option<String> {
        match &self.body {
            TaskBody::Action {
                module: Some(module),
                ..
            } => Some(module.name.clone()),
            TaskBody::Action { kind, .. } => Some(kind.name().to_owned()),
            TaskBody::Templated(templated) => Some(templated.name_text().to_owned()),
            _ => None,
        }
    }

    /// The name shown in output: the task's `name`, or its type and arguments.
    pub fn display_name(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        match &self.body {
            TaskBody::Action { .. } => self
                .written
                .clone()
                .or_else(|| self.action_name())
                .unwrap_or_default(),
            TaskBody::Templated(_) => self.action_name().unwrap_or_default(),
            TaskBody::Block { .. } => "block".to_owned(),
            TaskBody::Meta(_) => "meta".to_owned(),
            TaskBody::Include(include) => match &include.role {
                Some(_) => format!("include_role : {}", include.file.key_string()),
                None => "include_tasks".to_owned(),
            },
        }
    }
}
