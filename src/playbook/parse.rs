//! Reading plays and tasks out of the YAML tree, with an error at the exact key or value for
//! anything quayside does not understand.

use std::path::Path;

use super::{Meta, Play, Playbook, Serial, Task, TaskBody};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::tasks::TaskKind;
use crate::vars::{is_identifier, node_to_vars_with_origins};
use crate::yaml::{self, Node, Value};

const PLAY_KEYWORDS: &[&str] = &[
    "name",
    "hosts",
    "vars",
    "vars_files",
    "become",
    "become_user",
    "remote_user",
    "user",
    "diff",
    "serial",
    "max_fail_percentage",
    "any_errors_fatal",
    "force_handlers",
    "module_defaults",
    "gather_facts",
    "gather_subset",
    "tags",
    "environment",
    "pre_tasks",
    "tasks",
    "post_tasks",
    "handlers",
    "strategy",
    "roles",
    "collections",
];

/// Keywords a task (or block) may carry beside its one task type.
pub const TASK_KEYWORDS: &[&str] = &[
    "name",
    "when",
    "loop",
    "with_items",
    "with_dict",
    "with_sequence",
    "with_together",
    "with_fileglob",
    "loop_control",
    "register",
    "notify",
    "listen",
    "tags",
    "run_once",
    "delegate_to",
    "delegate_facts",
    "local_action",
    "action",
    "no_log",
    "ignore_errors",
    "changed_when",
    "failed_when",
    "retries",
    "until",
    "delay",
    "check_mode",
    "diff",
    "remote_user",
    "environment",
    "become",
    "become_user",
    "timeout",
    "async",
    "poll",
    "args",
    "block",
    "rescue",
    "always",
    "import_tasks",
    "import_role",
    "include_role",
    "include_tasks",
    "vars",
    "module_defaults",
];

/// Where an included file is: beside the file that includes it, else beside the playbook.
pub fn include_path(name: &str, dir: &Path, play_dir: &Path) -> Option<std::path::PathBuf> {
    include_candidates(name, dir, play_dir)
        .into_iter()
        .find(|p| p.is_file())
}

/// Where [`include_path`] looks, in order. A role's handler file (in `ROLE/handlers/`)
/// also finds the role's `tasks/` files, as Ansible looks in the role's `tasks/`.
fn include_candidates(name: &str, dir: &Path, play_dir: &Path) -> Vec<std::path::PathBuf> {
    let mut places = vec![dir.join(name)];
    if dir.file_name().is_some_and(|n| n == "handlers") {
        if let Some(role) = dir.parent() {
            places.push(role.join("tasks").join(name));
        }
    }
    places.push(play_dir.join(name));
    places
}

/// The tasks of a file `include_tasks` names.
fn included_tasks(path: &Path, origin: Origin<'_>) -> Result<Vec<Task>, Diagnostic> {
    if origin.depth >= MAX_IMPORT_DEPTH {
        return Err(Diagnostic::new(format!(
            "includes nest more than {MAX_IMPORT_DEPTH} deep: does `{}` include itself?",
            path.display()
        )));
    }
    let root = yaml::load_file(path)?;
    task_list(
        &root,
        false,
        Origin {
            dir: path.parent().unwrap_or(Path::new(".")),
            depth: origin.depth + 1,
            ..origin
        },
    )
}

/// The tasks of a file an `include_tasks` names only when it runs (a template), read then.
pub fn load_included_file(path: &Path, play_dir: &Path) -> Result<Vec<Task>, Diagnostic> {
    let state = super::roles::PlayRolesCell::default();
    included_tasks(
        path,
        Origin {
            dir: play_dir,
            depth: 0,
            play_dir,
            roles: Some(&state),
            in_handler: false,
            role_dir: None,
        },
    )
}

/// An include's arguments with `args:` merged in; a bare string is the `free` argument.
fn with_args(value: &Node, free: Option<&str>, extra: &Node) -> Result<Node, Diagnostic> {
    let mut entries = match (&value.value, free) {
        (Value::Map(entries), _) => entries.clone(),
        (Value::Null, _) => Vec::new(),
        (Value::Str(text), _) if text.contains('=') => key_value_args(text, value)?
            .as_map()
            .unwrap_or_default()
            .to_vec(),
        (Value::Str(_), Some(free)) => vec![(
            Node::new(value.span.clone(), Value::Str(free.to_owned())),
            value.clone(),
        )],
        _ => return Err(expected(value, "a mapping")),
    };
    let Some(more) = extra.as_map() else {
        return Err(Diagnostic::at(
            "`args` must be a mapping",
            extra.span.clone(),
        ));
    };
    entries.extend(more.iter().cloned());
    Ok(Node::new(value.span.clone(), Value::Map(entries)))
}

/// `apply:` of an include: task keywords, read as a block that carries them.
fn apply_keywords(node: &Node, origin: Origin<'_>) -> Result<Task, Diagnostic> {
    let Some(entries) = node.as_map() else {
        return Err(Diagnostic::at(
            format!(
                "`apply` must be a mapping of task keywords, found {}",
                node.kind()
            ),
            node.span.clone(),
        ));
    };
    let mut entries = entries.to_vec();
    for (key, _) in &entries {
        if matches!(
            key.as_str(),
            Some("block" | "rescue" | "always" | "loop" | "with_items" | "register" | "name")
        ) {
            return Err(Diagnostic::at(
                format!("`{}` cannot be applied to included tasks", key.key_string()),
                key.span.clone(),
            ));
        }
    }
    entries.push((
        Node::new(node.span.clone(), Value::Str("block".into())),
        Node::new(node.span.clone(), Value::Seq(Vec::new())),
    ));
    parse_task(
        &Node::new(node.span.clone(), Value::Map(entries)),
        false,
        origin,
    )
}

/// Collections whose modules are quayside's built-in task types under another name.
const ACTION_PREFIXES: &[&str] = &["ansible.builtin.", "ansible.legacy.", "quayside."];

pub fn parse_playbook(path: &Path) -> Result<Playbook, Diagnostic> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let root = yaml::load_file(path)?;
    let plays = play_list(
        &root,
        Origin {
            dir,
            depth: 0,
            play_dir: dir,
            roles: None,
            in_handler: false,
            role_dir: None,
        },
    )?;
    Ok(Playbook {
        path: path.to_owned(),
        plays,
    })
}

/// The folder of the file being read (paths in `import_tasks` and `import_playbook` are
/// relative to it) and how deep in imports it is.
#[derive(Clone, Copy)]
pub(super) struct Origin<'a> {
    pub dir: &'a Path,
    pub depth: usize,
    /// The folder of the playbook the play is written in: where `roles/` is looked for.
    pub play_dir: &'a Path,
    /// The roles the play being read has placed so far.
    pub roles: Option<&'a super::roles::PlayRolesCell>,
    /// Reading a handler's block: a block here is refused, as Ansible refuses it ("Using
    /// a block as a handler is not supported"; a handler's own block is its tasks).
    pub in_handler: bool,
    /// The folder of the role whose tasks are being read: its `library/` holds modules
    /// its tasks may name.
    pub role_dir: Option<&'a Path>,
}

/// Imports nest at most this deep: deeper is taken for a file importing itself.
const MAX_IMPORT_DEPTH: usize = 16;

/// Read the YAML file an `import_tasks` or `import_playbook` names.
fn import(value: &Node, origin: Origin<'_>) -> Result<(std::path::PathBuf, Node), Diagnostic> {
    let name = string(value)?;
    if origin.depth >= MAX_IMPORT_DEPTH {
        return Err(Diagnostic::at(
            format!("imports nest more than {MAX_IMPORT_DEPTH} deep: does `{name}` import itself?"),
            value.span.clone(),
        ));
    }
    // As Ansible: beside the importing file, then (in a role's handlers) the role's
    // `tasks/`, then beside the playbook.
    let Some(path) = include_path(&name, origin.dir, origin.play_dir) else {
        return Err(Diagnostic::at(
            format!(
                "cannot import `{name}`: no such file (looked for {})",
                include_candidates(&name, origin.dir, origin.play_dir)
                    .iter()
                    .map(|p| format!("`{}`", p.display()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            value.span.clone(),
        ));
    };
    let root = yaml::load_file(&path)?;
    Ok((path, root))
}

fn play_list(root: &Node, origin: Origin<'_>) -> Result<Vec<Play>, Diagnostic> {
    let Value::Seq(items) = &root.value else {
        return Err(Diagnostic::at(
            format!("a playbook must be a list of plays, found {}", root.kind()),
            root.span.clone(),
        ));
    };
    let mut plays = Vec::new();
    for item in items {
        match item.get("import_playbook") {
            Some(value) => plays.extend(import_playbook(item, value, origin)?),
            None => plays.push(parse_play(item, origin)?),
        }
    }
    Ok(plays)
}

/// `- import_playbook: other.yml`: the plays of another playbook, in place.
fn import_playbook(item: &Node, value: &Node, origin: Origin<'_>) -> Result<Vec<Play>, Diagnostic> {
    for (key, _) in item.as_map().unwrap_or_default() {
        if !matches!(key.as_str(), Some("import_playbook" | "name")) {
            return Err(Diagnostic::at(
                format!("`import_playbook` takes no `{}`", key.key_string()),
                key.span.clone(),
            ));
        }
    }
    let (path, root) = import(value, origin)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    play_list(
        &root,
        Origin {
            dir,
            depth: origin.depth + 1,
            play_dir: dir,
            roles: None,
            in_handler: false,
            role_dir: None,
        },
    )
}

fn unknown_key(key: &Node, what: &str, known: &[&str]) -> Diagnostic {
    let word = key.key_string();
    let mut message = format!("unknown {what} `{word}`");
    if let Some(suggestion) = did_you_mean(&word, known.iter().copied()) {
        message.push_str(&format!(" — did you mean `{suggestion}`?"));
    }
    Diagnostic::at(message, key.span.clone())
}

fn parse_play(node: &Node, origin: Origin<'_>) -> Result<Play, Diagnostic> {
    let Some(entries) = node.as_map() else {
        return Err(Diagnostic::at(
            format!("a play must be a mapping, found {}", node.kind()),
            node.span.clone(),
        ));
    };
    let mut play = Play {
        name: String::new(),
        span: node.span.clone(),
        hosts: String::new(),
        hosts_span: node.span.clone(),
        vars: Default::default(),
        var_origins: Default::default(),
        vars_files: Vec::new(),
        r#become: None,
        become_user: None,
        remote_user: None,
        diff: None,
        serial: Vec::new(),
        max_fail_percentage: None,
        any_errors_fatal: false,
        force_handlers: None,
        module_defaults: Default::default(),
        strategy: super::Strategy::Linear,
        strategy_span: None,
        gather_facts: true,
        gather_subset: crate::tasks::setup::Subsets::default(),
        tags: Vec::new(),
        environment: None,
        pre_tasks: Vec::new(),
        roles: Vec::new(),
        role_defaults: Default::default(),
        role_vars: Default::default(),
        tasks: Vec::new(),
        post_tasks: Vec::new(),
        handlers: Vec::new(),
    };
    let state = super::roles::PlayRolesCell::default();
    let origin = Origin {
        play_dir: origin.dir,
        roles: Some(&state),
        ..origin
    };
    // `collections:` first: roles' short names are looked for in them.
    if let Some(value) = node.get("collections") {
        state.borrow_mut().collections = string_list(value)?;
    }
    // And `vars:`: a templated role name may use them.
    if let Some(value) = node.get("vars") {
        state.borrow_mut().play_vars = node_to_vars_with_origins(value)?.0;
    }
    // `roles:` are read first, as Ansible places them before `tasks` wherever written.
    if let Some(value) = node.get("roles") {
        match &value.value {
            Value::Null => {}
            Value::Seq(items) => {
                for item in items {
                    play.roles.extend(super::roles::role_entry(item, origin)?);
                }
            }
            _ => {
                return Err(Diagnostic::at(
                    format!("`roles` must be a list of roles, found {}", value.kind()),
                    value.span.clone(),
                ));
            }
        }
    }
    let mut has_hosts = false;
    for (key, value) in entries {
        match key.as_str().unwrap_or_default() {
            "name" => play.name = string(value)?,
            "hosts" => {
                has_hosts = true;
                play.hosts_span = value.span.clone();
                play.hosts = match &value.value {
                    Value::Seq(items) => items
                        .iter()
                        .map(string)
                        .collect::<Result<Vec<_>, _>>()?
                        .join(":"),
                    _ => string(value)?,
                };
            }
            "vars" => (play.vars, play.var_origins) = node_to_vars_with_origins(value)?,
            "vars_files" => play.vars_files = list_of_nodes(value),
            "become" => play.r#become = Some(boolean(value)?),
            "become_user" => play.become_user = Some(string(value)?),
            "diff" => play.diff = Some(boolean(value)?),
            "remote_user" | "user" => {
                let user = string(value)?;
                if crate::yaml::is_template(&user) {
                    return Err(Diagnostic::at(
                        format!(
                            "a templated `{}` is not supported; write the user name",
                            key.key_string()
                        ),
                        value.span.clone(),
                    ));
                }
                play.remote_user = Some(user);
            }
            "serial" => play.serial = serial(value)?,
            "max_fail_percentage" => play.max_fail_percentage = Some(number(value)?),
            "any_errors_fatal" => play.any_errors_fatal = boolean(value)?,
            "force_handlers" => play.force_handlers = Some(boolean(value)?),
            "module_defaults" => play.module_defaults = super::ModuleDefaults::parse(value)?,
            "gather_facts" => play.gather_facts = boolean(value)?,
            "gather_subset" => play.gather_subset = yaml::from_node(value)?,
            "tags" => play.tags = string_list(value)?,
            "environment" => play.environment = Some(value.clone()),
            "strategy" => {
                let name = string(value)?;
                if crate::yaml::is_template(&name) {
                    return Err(Diagnostic::at(
                        "a templated `strategy` is not supported; write `linear`, `free` or \
                         `host_pinned`",
                        value.span.clone(),
                    ));
                }
                play.strategy = super::Strategy::named(&name).ok_or_else(|| {
                    Diagnostic::at(
                        format!("invalid play strategy `{name}`"),
                        value.span.clone(),
                    )
                    .with_hint("quayside runs the strategies `linear`, `free` and `host_pinned`")
                })?;
                play.strategy_span = Some(value.span.clone());
            }
            "pre_tasks" => play.pre_tasks = task_list(value, false, origin)?,
            "tasks" => play.tasks = task_list(value, false, origin)?,
            "post_tasks" => play.post_tasks = task_list(value, false, origin)?,
            "handlers" => play.handlers = imported_handlers(task_list(value, true, origin)?),
            "roles" | "collections" => {}
            _ => return Err(unknown_key(key, "play keyword", PLAY_KEYWORDS)),
        }
    }
    if !has_hosts {
        return Err(Diagnostic::at("a play needs `hosts`", node.span.clone()));
    }
    // As Ansible: the roles' handlers come before the play's own.
    let roles = state.into_inner();
    let mut handlers = roles.handlers;
    handlers.append(&mut play.handlers);
    play.handlers = handlers;
    play.role_defaults = roles.defaults;
    play.role_vars = roles.vars;
    super::module_defaults::apply_to_play(&mut play)?;
    // A templated handler name is known once the play's variables are: its play's literal
    // notifications are checked then (`runner::prepare`).
    if !has_templated_handler_names(&play.handlers) {
        check_notified_handlers(&play)?;
    }
    for task in play.all_tasks() {
        if matches!(task.body, TaskBody::Meta(Meta::EndRole)) && task.role.is_none() {
            return Err(Diagnostic::at(
                "`meta: end_role` can only run inside a role",
                task.span.clone(),
            ));
        }
    }
    Ok(play)
}

/// Whether a handler's name is a template (rendered with the play's variables before the
/// run).
pub fn has_templated_handler_names(handlers: &[Task]) -> bool {
    super::flatten(handlers)
        .iter()
        .any(|handler| handler.name.as_deref().is_some_and(yaml::is_template))
}

/// Every `notify` names a handler of the play (by `name` or `listen`), as Ansible requires.
/// A templated `notify` is rendered when the task notifies, and checked then.
pub fn check_notified_handlers(play: &Play) -> Result<(), Diagnostic> {
    let handlers = super::flatten(&play.handlers);
    let owned: Vec<String> = handlers.iter().flat_map(|h| h.handler_names()).collect();
    let names: Vec<&str> = owned.iter().map(String::as_str).collect();
    for task in play.all_tasks() {
        for (index, notified) in task.notify.iter().enumerate() {
            if names.contains(&notified.as_str()) || yaml::is_template(notified) {
                continue;
            }
            let mut message = format!("the requested handler `{notified}` was not found");
            if let Some(suggestion) = did_you_mean(notified, names.iter().copied()) {
                message.push_str(&format!(" — did you mean `{suggestion}`?"));
            }
            let span = task
                .notify_spans
                .get(index)
                .cloned()
                .unwrap_or_else(|| task.span.clone());
            let hint = if names.is_empty() {
                "the play has no handlers".to_owned()
            } else {
                format!(
                    "the play's handlers: {}",
                    names
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            return Err(Diagnostic::at(message, span).with_hint(hint));
        }
    }
    Ok(())
}

pub(super) fn task_list(
    node: &Node,
    handlers: bool,
    origin: Origin<'_>,
) -> Result<Vec<Task>, Diagnostic> {
    match &node.value {
        Value::Null => Ok(Vec::new()),
        Value::Seq(items) => items
            .iter()
            .map(|item| parse_task(item, handlers, origin))
            .collect(),
        _ => Err(Diagnostic::at(
            format!("expected a list of tasks, found {}", node.kind()),
            node.span.clone(),
        )),
    }
}

/// A block's (or import's) `notify` is its tasks' where they do not set their own, as in
/// ansible-core.
fn inherit_notify(block: &mut Task) {
    if block.notify.is_empty() {
        return;
    }
    let (notify, spans) = (block.notify.clone(), block.notify_spans.clone());
    let TaskBody::Block {
        block,
        rescue,
        always,
    } = &mut block.body
    else {
        return;
    };
    for task in block.iter_mut().chain(rescue).chain(always) {
        if task.notify.is_empty() {
            task.notify = notify.clone();
            task.notify_spans = spans.clone();
            inherit_notify(task);
        }
    }
}

/// A task with no type and every keyword at its default.
pub(super) fn new_task(span: crate::source::Span) -> Task {
    Task {
        name: None,
        span,
        body: TaskBody::Meta(Meta::Noop),
        when: Vec::new(),
        r#loop: None,
        loop_form: super::LoopForm::Items,
        loop_extended: false,
        loop_pause: None,
        loop_var: "item".to_owned(),
        index_var: None,
        label: None,
        register: None,
        notify: Vec::new(),
        notify_spans: Vec::new(),
        listen: Vec::new(),
        tags: Vec::new(),
        run_once: false,
        delegate_to: None,
        delegate_facts: None,
        no_log: false,
        ignore_errors: false,
        changed_when: None,
        failed_when: None,
        retries: None,
        until: None,
        delay: None,
        check_mode: None,
        diff: None,
        remote_user: None,
        environment: None,
        r#become: None,
        become_user: None,
        timeout: None,
        r#async: None,
        poll: None,
        vars: Default::default(),
        var_origins: Default::default(),
        role: None,
        module_defaults: Default::default(),
        unchecked: None,
        argument_failure: None,
        written: None,
    }
}

fn parse_task(node: &Node, handler: bool, origin: Origin<'_>) -> Result<Task, Diagnostic> {
    parse_task_with(node, handler, origin, None)
}

/// [`parse_task`], with the task type and arguments of an `action:` whose task type is a
/// template (`templated`), read apart from the task's keys.
fn parse_task_with(
    node: &Node,
    handler: bool,
    origin: Origin<'_>,
    templated: Option<&(Node, Node)>,
) -> Result<Task, Diagnostic> {
    let Some(entries) = node.as_map() else {
        return Err(Diagnostic::at(
            format!("a task must be a mapping, found {}", node.kind()),
            node.span.clone(),
        ));
    };
    // `action: TYPE ARGS` (or a mapping with `module:`) is Ansible's older spelling of
    // `TYPE: ARGS`: read the task again written that way. A templated TYPE is not a key:
    // it is carried beside the task's keys, and the task is told it is templated.
    if let Some(at) = entries
        .iter()
        .position(|(key, _)| key.as_str() == Some("action"))
    {
        let (module, args) = action_parts(&entries[at].1, "action")?;
        let mut rewritten = entries.to_vec();
        if crate::yaml::is_template(&module.key_string()) {
            rewritten.remove(at);
            return parse_task_with(
                &Node::new(node.span.clone(), Value::Map(rewritten)),
                handler,
                origin,
                Some(&(module, args)),
            );
        }
        rewritten[at] = (module, args);
        return parse_task_with(
            &Node::new(node.span.clone(), Value::Map(rewritten)),
            handler,
            origin,
            templated,
        );
    }
    let mut task = new_task(node.span.clone());
    let mut role_use: Option<(&Node, &Node)> = None;
    let mut included: Option<(&Node, &Node)> = None;
    let mut actions: Vec<(&Node, &Node)> = Vec::new();
    let mut extra_args: Option<&Node> = None;
    let (mut block, mut rescue, mut always) = (None, None, None);
    let mut imported = None;
    let mut loop_key: Option<String> = None;
    let mut local_action: Option<(&Node, &Node)> = None;
    let mut delegate_key: Option<&Node> = None;
    let mut delegate_facts_key: Option<&Node> = None;
    // The task type (`actions`' first) is a template, rendered per host when it runs.
    let mut templated_type = false;
    if let Some((module, args)) = templated {
        actions.push((module, args));
        templated_type = true;
    }
    for (key, value) in entries {
        let Some(word) = key.as_str() else {
            return Err(Diagnostic::at(
                "a task key must be a word",
                key.span.clone(),
            ));
        };
        match word {
            // As Ansible: `name:` with no value leaves the task unnamed.
            "name" if matches!(value.value, Value::Null) => {}
            "name" => task.name = Some(string(value)?),
            "when" => task.when = conditions(value),
            "loop" | "with_items" | "with_dict" | "with_sequence" | "with_together"
            | "with_fileglob" => {
                if let Some(other) = &loop_key {
                    return Err(Diagnostic::at(
                        format!("`{word}` cannot be combined with `{other}`: a task has one loop"),
                        key.span.clone(),
                    ));
                }
                loop_key = Some(word.to_owned());
                task.loop_form = match word {
                    "with_dict" => super::LoopForm::Dict,
                    "with_sequence" => super::LoopForm::Sequence,
                    "with_together" => super::LoopForm::Together,
                    "with_fileglob" => super::LoopForm::Fileglob,
                    _ => super::LoopForm::Items,
                };
                task.r#loop = Some(value.clone());
            }
            "loop_control" => loop_control(&mut task, value)?,
            "register" => {
                let name = string(value)?;
                if !is_identifier(&name) {
                    return Err(Diagnostic::at(
                        format!("`{name}` is not a valid variable name for `register`"),
                        value.span.clone(),
                    ));
                }
                task.register = Some(name);
            }
            "notify" => {
                task.notify = string_list(value)?;
                task.notify_spans = match &value.value {
                    Value::Seq(items) => items.iter().map(|item| item.span.clone()).collect(),
                    _ => vec![value.span.clone(); task.notify.len()],
                };
            }
            "listen" if handler => task.listen = string_list(value)?,
            "tags" => task.tags = string_list(value)?,
            "run_once" => task.run_once = boolean(value)?,
            "local_action" => local_action = Some((key, value)),
            "delegate_to" => {
                delegate_key = Some(key);
                // Any host, in the inventory or not, or a template rendered per host.
                task.delegate_to = Some((string(value)?, value.span.clone()));
            }
            "delegate_facts" => {
                delegate_facts_key = Some(key);
                task.delegate_facts = Some(boolean(value)?);
            }
            "no_log" => task.no_log = boolean(value)?,
            "ignore_errors" => task.ignore_errors = boolean(value)?,
            "changed_when" => task.changed_when = Some(conditions(value)),
            "failed_when" => task.failed_when = Some(conditions(value)),
            "retries" => {
                if !is_template_node(value) {
                    count(value)?;
                }
                task.retries = Some(value.clone());
            }
            "until" => task.until = Some(conditions(value)),
            "delay" => {
                if !is_template_node(value) {
                    number(value)?;
                }
                task.delay = Some(value.clone());
            }
            "check_mode" => task.check_mode = Some(boolean(value)?),
            "diff" => task.diff = Some(boolean(value)?),
            "remote_user" => task.remote_user = Some((string(value)?, value.span.clone())),
            "environment" => task.environment = Some(value.clone()),
            "become" => task.r#become = Some(boolean(value)?),
            "become_user" => task.become_user = Some(string(value)?),
            "timeout" => task.timeout = Some(count(value)? as u64),
            "async" | "poll" => {
                if !is_template_node(value) {
                    count(value)?;
                }
                let keyword = Some((key.span.clone(), value.clone()));
                match word {
                    "async" => task.r#async = keyword,
                    _ => task.poll = keyword,
                }
            }
            "args" => extra_args = Some(value),
            "block" | "rescue" | "always" if handler && origin.in_handler => {
                return Err(Diagnostic::at(
                    "Using a block as a handler is not supported",
                    node.span.clone(),
                ));
            }
            "block" => block = Some(task_list(value, handler, handler_inner(handler, origin))?),
            "rescue" => rescue = Some(task_list(value, handler, handler_inner(handler, origin))?),
            "always" => always = Some(task_list(value, handler, handler_inner(handler, origin))?),
            "import_tasks" => imported = Some(value),
            "vars" => (task.vars, task.var_origins) = node_to_vars_with_origins(value)?,
            "module_defaults" => task.module_defaults = super::ModuleDefaults::parse(value)?,
            "import_role"
            | "include_role"
            | "ansible.builtin.import_role"
            | "ansible.builtin.include_role" => role_use = Some((key, value)),
            "include_tasks" | "ansible.builtin.include_tasks" => included = Some((key, value)),
            _ => actions.push((key, value)),
        }
    }
    // `async` and `poll` belong to a task that runs a task type.
    if let Some((span, _)) = task.r#async.as_ref().or(task.poll.as_ref()) {
        let word = if task.r#async.is_some() {
            "async"
        } else {
            "poll"
        };
        if included.is_some()
            || role_use.is_some_and(|(key, _)| key.key_string().ends_with("include_role"))
        {
            // ansible-core's words.
            return Err(Diagnostic::at(
                format!("'{word}' is not a valid attribute for a TaskInclude"),
                span.clone(),
            ));
        }
        if imported.is_some() || role_use.is_some() {
            // ansible-core ignores it there; quayside does not let it pass unseen.
            return Err(Diagnostic::at(
                format!("`{word}` does not apply to an import: put it on the imported tasks"),
                span.clone(),
            ));
        }
    }
    // As ansible-core: an include is not delegated (its tasks may be, through `apply`).
    let include = match (included, role_use) {
        (Some(_), _) => Some("include_tasks".to_owned()),
        (None, Some((key, _))) if key.key_string().ends_with("include_role") => {
            Some("include_role".to_owned())
        }
        _ => None,
    };
    if let Some(include) = include {
        if let Some(key) = delegate_key.or(delegate_facts_key) {
            return Err(Diagnostic::at(
                format!(
                    "`{}` is not a keyword of `{include}`: its tasks take it from `apply`",
                    key.key_string()
                ),
                key.span.clone(),
            ));
        }
    }
    // `local_action: TYPE ARGS` is that task type delegated to localhost, as in Ansible.
    let local_owned;
    if let Some((_, value)) = local_action {
        if let Some((other, _)) = actions.first() {
            return Err(Diagnostic::at(
                format!(
                    "`local_action` cannot also have a task type (`{}`): it names its own",
                    other.key_string()
                ),
                other.span.clone(),
            ));
        }
        if let Some(other) = delegate_key {
            return Err(Diagnostic::at(
                "`local_action` runs on localhost already; it cannot have `delegate_to` too",
                other.span.clone(),
            ));
        }
        local_owned = action_parts(value, "local_action")?;
        templated_type = crate::yaml::is_template(&local_owned.0.key_string());
        actions.push((&local_owned.0, &local_owned.1));
        task.delegate_to = Some(("localhost".to_owned(), value.span.clone()));
    }
    if let Some((key, value)) = role_use {
        let word = key.key_string();
        if let Some((other, _)) = actions.first() {
            return Err(Diagnostic::at(
                format!(
                    "`{word}` cannot also have a task type (`{}`)",
                    other.key_string()
                ),
                other.span.clone(),
            ));
        }
        if imported.is_some() || block.is_some() || rescue.is_some() || always.is_some() {
            return Err(Diagnostic::at(
                format!(
                    "`{word}` cannot be combined with `block`, `rescue`, `always` or `import_tasks`"
                ),
                node.span.clone(),
            ));
        }
        let include = word.ends_with("include_role");
        // ansible-core 2.19.14 refuses both at load.
        if handler {
            let short = word.rsplit('.').next().unwrap_or(&word);
            return Err(Diagnostic::at(
                format!("Using '{short}' as a handler is not supported"),
                key.span.clone(),
            ));
        }
        let merged;
        let value = match extra_args {
            Some(extra) => {
                merged = with_args(value, None, extra)?;
                &merged
            }
            None => value,
        };
        // A role `include_role` cannot find is the failure of the hosts that reach it, as in
        // Ansible: read when it runs.
        if include && (super::roles::is_dynamic(value) || super::roles::is_missing(value, origin)) {
            let (role, _, apply) = super::roles::role_task_args(&word, value, true)?;
            task.body = TaskBody::Include(Box::new(super::Include {
                file: Node::new(role.name_span.clone(), Value::Str(role.name.clone())),
                dir: origin.dir.to_owned(),
                play_dir: origin.play_dir.to_owned(),
                tasks: None,
                role: Some((Vec::new(), role.public)),
                role_args: Some(value.clone()),
                apply: apply.map(|a| apply_keywords(&a, origin)).transpose()?,
                module_defaults: Default::default(),
            }));
            return Ok(task);
        }
        let (mut role, allow_duplicates, apply) =
            super::roles::role_task_args(&word, value, false)?;
        if !include {
            if let Some(items) = &task.r#loop {
                return Err(Diagnostic::at(
                    "`import_role` cannot have `loop`: it is read when the playbook is loaded; use `include_role`",
                    items.span.clone(),
                ));
            }
        }
        let public = role.public;
        if include {
            // An included role's defaults and vars reach the play once it ran, if public.
            role.public = false;
        }
        let name = Node::new(role.name_span.clone(), Value::Str(role.name.clone()));
        // As Ansible: an imported or included role runs each time unless told otherwise.
        let blocks = super::roles::load_role_with(role, allow_duplicates.or(Some(true)), origin)?;
        if include {
            let roles = blocks.iter().filter_map(|b| b.role.clone()).collect();
            task.body = TaskBody::Include(Box::new(super::Include {
                file: name,
                dir: origin.dir.to_owned(),
                play_dir: origin.play_dir.to_owned(),
                tasks: Some(blocks),
                role: Some((roles, public)),
                role_args: None,
                apply: apply.map(|a| apply_keywords(&a, origin)).transpose()?,
                module_defaults: Default::default(),
            }));
            return Ok(task);
        }
        task.body = TaskBody::Block {
            block: blocks,
            rescue: Vec::new(),
            always: Vec::new(),
        };
        inherit_notify(&mut task);
        return Ok(task);
    }
    if let Some((_, value)) = included {
        if let Some((other, _)) = actions.first() {
            return Err(Diagnostic::at(
                format!(
                    "`include_tasks` cannot also have a task type (`{}`)",
                    other.key_string()
                ),
                other.span.clone(),
            ));
        }
        if imported.is_some() || block.is_some() || rescue.is_some() || always.is_some() {
            return Err(Diagnostic::at(
                "`include_tasks` cannot be combined with `block`, `rescue`, `always` or `import_tasks`",
                node.span.clone(),
            ));
        }
        let merged;
        let value = match extra_args {
            Some(extra) => {
                merged = with_args(value, Some("file"), extra)?;
                &merged
            }
            None => value,
        };
        let owned;
        let value = match &value.value {
            Value::Str(text) if text.trim_start().starts_with("file=") => {
                owned = key_value_args(text, value)?;
                &owned
            }
            _ => value,
        };
        let (file, apply) = match &value.value {
            Value::Map(entries) => {
                let mut file = None;
                let mut apply = None;
                for (k, v) in entries {
                    match k.key_string().as_str() {
                        "file" | "_raw_params" => file = Some(v.clone()),
                        "apply" => apply = Some(apply_keywords(v, origin)?),
                        other => {
                            return Err(Diagnostic::at(
                                format!(
                                    "`include_tasks` takes no `{other}` (it takes `file` and `apply`)"
                                ),
                                k.span.clone(),
                            ));
                        }
                    }
                }
                let Some(file) = file else {
                    return Err(Diagnostic::at(
                        "`include_tasks` needs `file`",
                        value.span.clone(),
                    ));
                };
                (file, apply)
            }
            _ => (value.clone(), None),
        };
        let name = string(&file)?;
        // A file named without a template is read now: its mistakes stop the run before
        // any host is touched. One that is not there fails the hosts that include it, as
        // in Ansible (a `when` or an empty loop may keep it from being included at all).
        let tasks = match crate::yaml::is_template(&name) {
            true => None,
            false => match include_path(&name, origin.dir, origin.play_dir) {
                Some(path) => Some(included_tasks(&path, origin)?),
                None => None,
            },
        };
        task.body = TaskBody::Include(Box::new(super::Include {
            file,
            dir: origin.dir.to_owned(),
            play_dir: origin.play_dir.to_owned(),
            tasks,
            role: None,
            role_args: None,
            apply,
            module_defaults: Default::default(),
        }));
        return Ok(task);
    }
    if let Some(value) = imported {
        // A static import is a block of the file's tasks: the keywords on it apply to each.
        if let Some((key, _)) = actions.first() {
            return Err(Diagnostic::at(
                format!(
                    "`import_tasks` cannot also have a task type (`{}`)",
                    key.key_string()
                ),
                key.span.clone(),
            ));
        }
        if block.is_some() || rescue.is_some() || always.is_some() || task.r#loop.is_some() {
            return Err(Diagnostic::at(
                "`import_tasks` cannot be combined with `block`, `rescue`, `always` or `loop`",
                node.span.clone(),
            ));
        }
        let (path, root) = import(value, origin)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let tasks = task_list(
            &root,
            handler,
            Origin {
                dir,
                depth: origin.depth + 1,
                in_handler: false,
                ..origin
            },
        )?;
        task.body = TaskBody::Block {
            block: tasks,
            rescue: Vec::new(),
            always: Vec::new(),
        };
        inherit_notify(&mut task);
        return Ok(task);
    }
    if block.is_some() || rescue.is_some() || always.is_some() {
        // As ansible-core: `async` and `poll` are keywords of a task, not of a block.
        if let Some((span, _)) = task.r#async.as_ref().or(task.poll.as_ref()) {
            let word = if task.r#async.is_some() {
                "async"
            } else {
                "poll"
            };
            return Err(Diagnostic::at(
                format!("'{word}' is not a valid attribute for a Block"),
                span.clone(),
            ));
        }
        if let Some((key, _)) = actions.first() {
            return Err(Diagnostic::at(
                format!(
                    "a block cannot also have a task type (`{}`); put it in the block's list",
                    key.key_string()
                ),
                key.span.clone(),
            ));
        }
        let Some(block) = block else {
            return Err(Diagnostic::at(
                "`rescue` and `always` need a `block`",
                node.span.clone(),
            ));
        };
        task.body = TaskBody::Block {
            block,
            rescue: rescue.unwrap_or_default(),
            always: always.unwrap_or_default(),
        };
        inherit_notify(&mut task);
        return Ok(task);
    }
    // A key that is neither a keyword nor a task type, beside a task type: a misspelled
    // keyword (`whn: x`), not a second task type.
    if actions.len() > 1 {
        if let Some((key, _)) = actions.iter().find(|(key, _)| {
            let word = key.key_string();
            !is_task_type(&word)
                && crate::plugins::locate(&word, origin.play_dir, origin.role_dir).is_none()
        }) {
            return Err(unknown_word(key, true));
        }
    }
    let (key, value) = match actions.as_slice() {
        [] => {
            return Err(Diagnostic::at(
                "this task has no task type (such as `command`, `copy_files` or `debug`)",
                node.span.clone(),
            ));
        }
        [one] => *one,
        [first, second, ..] => {
            return Err(Diagnostic::at(
                format!(
                    "a task has exactly one task type, found `{}` and `{}`",
                    first.0.key_string(),
                    second.0.key_string()
                ),
                second.0.span.clone(),
            ));
        }
    };
    let word = key.key_string();
    task.written = Some(word.clone());
    if templated_type {
        task.body = TaskBody::Templated(Box::new(super::Templated::new(
            key.clone(),
            value.clone(),
            extra_args.cloned(),
            origin.play_dir,
            origin.role_dir,
        )));
        return Ok(task);
    }
    if is_meta(&word) {
        let action = string(value)?;
        task.body = TaskBody::Meta(match action.as_str() {
            // ansible-core 2.19.14 fails the run when it gets there; quayside refuses it
            // before, in its words.
            "flush_handlers" if handler => {
                return Err(Diagnostic::at(
                    "flush_handlers cannot be used as a handler",
                    value.span.clone(),
                ));
            }
            "flush_handlers" => Meta::FlushHandlers,
            "end_play" => Meta::EndPlay,
            "end_host" => Meta::EndHost,
            "end_role" if handler => {
                return Err(Diagnostic::at(
                    "`meta: end_role` cannot run from a handler",
                    value.span.clone(),
                ));
            }
            "end_role" => Meta::EndRole,
            "noop" => Meta::Noop,
            "end_batch" => Meta::EndBatch,
            "clear_host_errors" => Meta::ClearHostErrors,
            "reset_connection" => Meta::ResetConnection,
            _ => {
                return Err(Diagnostic::at(
                    format!(
                        "unknown `meta` action `{action}` (expected `flush_handlers`, `end_play`, `end_batch`, `end_host`, `end_role`, `clear_host_errors`, `reset_connection` or `noop`)"
                    ),
                    value.span.clone(),
                ));
            }
        });
        return Ok(task);
    }
    let Some(kind) = short_task_type(&word) else {
        // Not built in: a module of the user's or of Ansible's (src/plugins/), resolved now
        // so that `validate` knows it and checks its arguments.
        let Some(module) = crate::plugins::resolve(key, origin.play_dir, origin.role_dir)? else {
            return Err(unknown_word(key, false));
        };
        let args = merge_args(TaskKind::Module, value, extra_args)?;
        task.unchecked = crate::plugins::check_args(&module, key, &args).err();
        task.body = TaskBody::Action {
            kind: TaskKind::Module,
            args,
            module: Some(module),
        };
        return Ok(task);
    };
    let args = merge_args(kind, value, extra_args)?;
    task.unchecked = crate::tasks::check_args(kind, key, &args).err();
    task.body = TaskBody::Action {
        kind,
        args,
        module: None,
    };
    Ok(task)
}

/// The task type (as a key) and arguments of `local_action` or `action` (`word`): `TYPE ARGS` as one string, or
/// a mapping with `module: TYPE` and the arguments beside it.
fn action_parts(value: &Node, word: &str) -> Result<(Node, Node), Diagnostic> {
    match &value.value {
        Value::Str(text) => {
            let text = text.trim_start();
            let (module, rest) = first_word(text);
            if module.is_empty() {
                return Err(Diagnostic::at(
                    format!("`{word}` needs a task type, such as `command touch done`"),
                    value.span.clone(),
                ));
            }
            let args = match rest.trim() {
                "" => Value::Null,
                rest => Value::Str(rest.to_owned()),
            };
            Ok((
                Node::new(value.span.clone(), Value::Str(module.to_owned())),
                Node::new(value.span.clone(), args),
            ))
        }
        Value::Map(entries) => {
            let mut module = None;
            let mut args = Vec::new();
            for (key, arg) in entries {
                if key.as_str() == Some("module") {
                    module = Some(Node::new(arg.span.clone(), Value::Str(string(arg)?)));
                } else {
                    args.push((key.clone(), arg.clone()));
                }
            }
            let Some(module) = module else {
                return Err(Diagnostic::at(
                    format!("`{word}` as a mapping needs `module` (the task type)"),
                    value.span.clone(),
                ));
            };
            Ok((module, Node::new(value.span.clone(), Value::Map(args))))
        }
        _ => Err(expected(value, "a task type with its arguments")),
    }
}

/// The first word of `action`'s string and the rest: a template (`{{ mod }}`) is one
/// word whatever spaces it holds, as Ansible's `split_args` reads it.
fn first_word(text: &str) -> (&str, &str) {
    let mut depth = 0usize;
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'{' if matches!(bytes.get(at + 1), Some(b'{' | b'%' | b'#')) => {
                depth += 1;
                at += 2;
                continue;
            }
            b'}' | b'%' | b'#' if depth > 0 && bytes.get(at + 1) == Some(&b'}') => {
                depth -= 1;
                at += 2;
                continue;
            }
            c if depth == 0 && c.is_ascii_whitespace() => return (&text[..at], &text[at..]),
            _ => {}
        }
        at += 1;
    }
    (text, "")
}

/// A task type's own name, from its name or an Ansible collection name for it.
pub(super) fn short_task_type(word: &str) -> Option<TaskKind> {
    TaskKind::from_name(word)
        .or_else(|| {
            ACTION_PREFIXES
                .iter()
                .find_map(|prefix| word.strip_prefix(prefix))
                .and_then(TaskKind::from_name)
        })
        .or_else(|| {
            // A collection's module: `community.postgresql.postgresql_query`.
            let (collection, name) = word.rsplit_once('.')?;
            TaskKind::from_name(name).filter(|kind| kind.collection() == Some(collection))
        })
        .filter(|kind| *kind != TaskKind::Module)
}

fn is_task_type(word: &str) -> bool {
    is_meta(word) || short_task_type(word).is_some()
}

/// Handlers with each plain `import_tasks` among them (a block with no name and no
/// keyword) replaced by the tasks it imports, so that each is a handler by its own name, as
/// in Ansible.
pub(super) fn imported_handlers(handlers: Vec<Task>) -> Vec<Task> {
    let mut out = Vec::new();
    for handler in handlers {
        let plain = handler.name.is_none()
            && handler.when.is_empty()
            && handler.tags.is_empty()
            && handler.listen.is_empty()
            && handler.vars.is_empty()
            && handler.r#loop.is_none()
            && handler.r#become.is_none()
            && handler.become_user.is_none()
            && handler.environment.is_none()
            && handler.delegate_to.is_none()
            && handler.check_mode.is_none()
            && handler.diff.is_none()
            && handler.remote_user.is_none()
            && !handler.run_once
            && !handler.no_log
            && !handler.ignore_errors;
        match handler.body {
            TaskBody::Block {
                block,
                rescue,
                always,
            } if plain && rescue.is_empty() && always.is_empty() => {
                out.extend(imported_handlers(block));
            }
            body => out.push(Task { body, ..handler }),
        }
    }
    out
}

/// The origin of what a block holds: in a handler, the handler's own tasks.
fn handler_inner(handler: bool, origin: Origin<'_>) -> Origin<'_> {
    Origin {
        in_handler: origin.in_handler || handler,
        ..origin
    }
}

/// `meta`, also as `ansible.builtin.meta` or `ansible.legacy.meta`.
pub(super) fn is_meta(word: &str) -> bool {
    matches!(
        word,
        "meta" | "ansible.builtin.meta" | "ansible.legacy.meta"
    )
}

/// A key of a task that quayside does not know: a misspelled keyword or task type, with the
/// nearest of either. `beside_a_type`: the task has a task type already, so the key is
/// taken for a keyword unless it looks like a task type.
fn unknown_word(key: &Node, beside_a_type: bool) -> Diagnostic {
    let word = key.key_string();
    let candidates = TaskKind::ALL
        .iter()
        .filter(|kind| **kind != TaskKind::Module)
        .map(|kind| kind.name())
        .chain(TASK_KEYWORDS.iter().copied())
        .collect::<Vec<_>>();
    let suggestion = did_you_mean(&word, candidates);
    let keyword = match suggestion {
        Some(s) => TASK_KEYWORDS.contains(&s),
        None => beside_a_type,
    };
    let mut message = format!(
        "unknown {} `{word}`",
        if keyword { "keyword" } else { "task type" }
    );
    if let Some(suggestion) = suggestion {
        message.push_str(&format!(" — did you mean `{suggestion}`?"));
    }
    let diagnostic = Diagnostic::at(message, key.span.clone());
    // A name that may be one of Ansible's modules, which quayside cannot look for without
    // ansible-core.
    if !keyword && suggestion.is_none() && crate::plugins::ansible::core().is_none() {
        return diagnostic.with_hint(format!(
            "if `{word}` is one of Ansible's modules: {}",
            crate::plugins::ansible::INSTALL_HINT
        ));
    }
    diagnostic
}

/// The arguments of a task type: its value, with `args:` merged in, and a free-form string
/// (`command: ls -l`) turned into the task type's free-form argument.
pub(super) fn merge_args(
    kind: TaskKind,
    value: &Node,
    extra: Option<&Node>,
) -> Result<Node, Diagnostic> {
    let mut args = match (&value.value, kind.free_form()) {
        // `fail: msg=boom`, `include_vars: file=x.yml`: the free-form argument named, as
        // Ansible reads it (`key=value` words).
        (Value::Str(text), Some(argument))
            if text
                .strip_prefix(argument)
                .is_some_and(|rest| rest.starts_with('=')) =>
        {
            key_value_args(text, value)?
        }
        // `command: ls creates=/x`: the guard and shell options written among the words.
        (Value::Str(text), Some("cmd")) if raw_params_options(text, value).is_some() => {
            raw_params_options(text, value).unwrap_or_else(|| value.clone())
        }
        (Value::Str(_), Some(argument)) => Node::new(
            value.span.clone(),
            Value::Map(vec![(
                Node::new(value.span.clone(), Value::Str(argument.to_owned())),
                value.clone(),
            )]),
        ),
        (Value::Null, _) => Node::new(value.span.clone(), Value::Map(Vec::new())),
        // Ansible's `debug: msg=hello var=x` form.
        (Value::Str(text), None) => key_value_args(text, value)?,
        _ => value.clone(),
    };
    if let Some(extra) = extra {
        let (Value::Map(entries), Some(more)) = (&mut args.value, extra.as_map()) else {
            return Err(Diagnostic::at(
                "`args` must be a mapping",
                extra.span.clone(),
            ));
        };
        entries.extend(more.iter().cloned());
    }
    Ok(args)
}

/// The options Ansible's `parse_kv` takes out of a command line written free form (its
/// `check_raw`): `key=value` words whose key is one of these, anywhere on the line.
const RAW_PARAMS_OPTIONS: &[&str] = &[
    "creates",
    "removes",
    "chdir",
    "executable",
    "warn",
    "stdin",
    "stdin_add_newline",
    "strip_empty_ends",
];

/// A free-form command line (`command`, `shell`, `script`) with the `key=value` words of
/// [`RAW_PARAMS_OPTIONS`] taken out as arguments and the other words, joined by spaces, as
/// `cmd`, as ansible-core reads it; `None` when the line holds no such word (it is then
/// `cmd` as written) or does not split.
fn raw_params_options(text: &str, node: &Node) -> Option<Node> {
    let words = split_args(text).ok()?;
    let mut options = Vec::new();
    let mut raw = Vec::new();
    for word in &words {
        match word.split_once('=') {
            Some((key, value)) if RAW_PARAMS_OPTIONS.contains(&key) => options.push((
                Node::new(node.span.clone(), Value::Str(key.to_owned())),
                Node::new(node.span.clone(), Value::Str(unquote(value).to_owned())),
            )),
            _ => raw.push(word.as_str()),
        }
    }
    if options.is_empty() {
        return None;
    }
    if !raw.is_empty() {
        options.insert(
            0,
            (
                Node::new(node.span.clone(), Value::Str("cmd".to_owned())),
                Node::new(node.span.clone(), Value::Str(raw.join(" "))),
            ),
        );
    }
    Some(Node::new(node.span.clone(), Value::Map(options)))
}

pub(super) fn key_value_args(text: &str, node: &Node) -> Result<Node, Diagnostic> {
    let words = split_args(text).map_err(|error| {
        Diagnostic::at(format!("cannot split `{text}`: {error}"), node.span.clone())
    })?;
    let mut entries = Vec::new();
    for word in words {
        let word = decode_escapes(&word);
        let Some((key, value)) = word.split_once('=') else {
            return Err(Diagnostic::at(
                format!("expected `key=value` arguments or a mapping, found `{word}`"),
                node.span.clone(),
            ));
        };
        entries.push((
            Node::new(node.span.clone(), Value::Str(key.to_owned())),
            Node::new(node.span.clone(), Value::Str(unquote(value).to_owned())),
        ));
    }
    Ok(Node::new(node.span.clone(), Value::Map(entries)))
}

/// Ansible's `_decode_escapes` on each `key=value` word: `\\`, `\'`, `\"`, `\a`, `\b`,
/// `\f`, `\n`, `\r`, `\t`, `\v`, `\xHH`, `\uHHHH`, `\UHHHHHHHH` are the characters they
/// stand for (so `regexp='\b'` is a backspace there, as ansible-core reads it); any other
/// backslash stays (`\1`, `\d`). `\N{NAME}` is left as written.
fn decode_escapes(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut rest = word;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let hex = |digits: usize| {
            after
                .get(1..=digits)
                .filter(|h| h.chars().all(|c| c.is_ascii_hexdigit()))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .and_then(char::from_u32)
                .map(|c| (c, digits + 1))
        };
        let decoded = match after.chars().next() {
            Some(c @ ('\\' | '\'' | '"')) => Some((c, 1)),
            Some('a') => Some(('\u{7}', 1)),
            Some('b') => Some(('\u{8}', 1)),
            Some('f') => Some(('\u{c}', 1)),
            Some('n') => Some(('\n', 1)),
            Some('r') => Some(('\r', 1)),
            Some('t') => Some(('\t', 1)),
            Some('v') => Some(('\u{b}', 1)),
            Some('x') => hex(2),
            Some('u') => hex(4),
            Some('U') => hex(8),
            _ => None,
        };
        match decoded {
            Some((c, length)) => {
                out.push(c);
                rest = &after[length..];
            }
            None => {
                out.push('\\');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Ansible's `split_args`: words separated by spaces, except inside quotes and inside
/// `{{ }}`, `{% %}` and `{# #}` (so `msg={{ a | join(' ') }}` is one word). Quotes stay in
/// the word; [`unquote`] takes them off a value.
pub(super) fn split_args(text: &str) -> Result<Vec<String>, &'static str> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quote.is_some() => {
                word.push(c);
                if let Some(next) = chars.next() {
                    word.push(next);
                }
                continue;
            }
            '\'' | '"' if quote == Some(c) => quote = None,
            '\'' | '"' if quote.is_none() && depth == 0 => quote = Some(c),
            '{' if matches!(chars.peek(), Some('{' | '%' | '#')) => {
                depth += 1;
                word.push(c);
                word.extend(chars.next());
                continue;
            }
            '}' | '%' | '#' if depth > 0 && chars.peek() == Some(&'}') => {
                depth -= 1;
                word.push(c);
                word.extend(chars.next());
                continue;
            }
            c if c.is_whitespace() && quote.is_none() && depth == 0 => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                continue;
            }
            _ => {}
        }
        word.push(c);
    }
    if quote.is_some() {
        return Err("a quote is not closed");
    }
    if depth > 0 {
        return Err("a `{{` is not closed");
    }
    if !word.is_empty() {
        words.push(word);
    }
    Ok(words)
}

/// A value wholly in matching quotes, without them.
fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(quote) && value.ends_with(quote) {
            return &value[1..value.len() - 1];
        }
    }
    value
}

fn loop_control(task: &mut Task, node: &Node) -> Result<(), Diagnostic> {
    const KEYS: &[&str] = &["loop_var", "index_var", "label", "extended", "pause"];
    let Some(entries) = node.as_map() else {
        return Err(Diagnostic::at(
            "`loop_control` must be a mapping",
            node.span.clone(),
        ));
    };
    for (key, value) in entries {
        match key.as_str().unwrap_or_default() {
            "loop_var" => task.loop_var = string(value)?,
            "index_var" => task.index_var = Some(string(value)?),
            "label" => task.label = Some(value.clone()),
            "extended" => task.loop_extended = boolean(value)?,
            "pause" => task.loop_pause = Some(pause_seconds(value)?),
            _ => return Err(unknown_key(key, "`loop_control` key", KEYS)),
        }
    }
    Ok(())
}

/// `loop_control.pause`: a number of seconds, not negative (a template is not read).
fn pause_seconds(node: &Node) -> Result<f64, Diagnostic> {
    let seconds = match &node.value {
        Value::Int(n) => Some(*n as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    };
    match seconds {
        Some(seconds) if seconds >= 0.0 && seconds.is_finite() => Ok(seconds),
        _ => Err(expected(node, "a number of seconds for `pause`")),
    }
}

fn expected(node: &Node, what: &str) -> Diagnostic {
    let found = match &node.value {
        Value::Str(s) => format!("`{s}`"),
        _ => node.kind().to_owned(),
    };
    Diagnostic::at(format!("expected {what}, found {found}"), node.span.clone())
}

pub(super) fn string(node: &Node) -> Result<String, Diagnostic> {
    match &node.value {
        Value::Str(s) => Ok(s.clone()),
        Value::Int(_) | Value::Float(_) | Value::Bool(_) => Ok(node.key_string()),
        _ => Err(expected(node, "a string")),
    }
}

pub(super) fn string_list(node: &Node) -> Result<Vec<String>, Diagnostic> {
    match &node.value {
        Value::Null => Ok(Vec::new()),
        Value::Seq(items) => items.iter().map(string).collect(),
        Value::Str(s) => Ok(s
            .split(',')
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect()),
        _ => Ok(vec![string(node)?]),
    }
}

pub(super) fn list_of_nodes(node: &Node) -> Vec<Node> {
    match &node.value {
        Value::Seq(items) => items.clone(),
        Value::Null => Vec::new(),
        _ => vec![node.clone()],
    }
}

pub(super) fn conditions(node: &Node) -> Vec<Node> {
    list_of_nodes(node)
}

pub(super) fn boolean(node: &Node) -> Result<bool, Diagnostic> {
    match &node.value {
        Value::Bool(b) => Ok(*b),
        Value::Str(s) => yaml::parse_bool(s).ok_or_else(|| expected(node, "`true` or `false`")),
        Value::Int(i @ (0 | 1)) => Ok(*i == 1),
        _ => Err(expected(node, "`true` or `false`")),
    }
}

fn is_template_node(node: &Node) -> bool {
    matches!(&node.value, Value::Str(s) if yaml::is_template(s))
}

fn number(node: &Node) -> Result<f64, Diagnostic> {
    match &node.value {
        Value::Int(i) => Ok(*i as f64),
        Value::Float(f) => Ok(*f),
        Value::Str(s) => s.trim().parse().map_err(|_| expected(node, "a number")),
        _ => Err(expected(node, "a number")),
    }
}

fn count(node: &Node) -> Result<usize, Diagnostic> {
    match &node.value {
        Value::Int(i) if *i >= 0 => Ok(*i as usize),
        Value::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| expected(node, "a whole number")),
        _ => Err(expected(node, "a whole number")),
    }
}

fn serial(node: &Node) -> Result<Vec<Serial>, Diagnostic> {
    let one = |node: &Node| -> Result<Serial, Diagnostic> {
        let what = "a number of hosts or a percentage such as `30%`";
        let serial = match &node.value {
            Value::Int(i) if *i >= 0 => Serial::Count(*i as usize),
            Value::Str(s) => match s.trim().strip_suffix('%') {
                Some(p) => Serial::Percent(p.trim().parse().map_err(|_| expected(node, what))?),
                None => Serial::Count(s.trim().parse().map_err(|_| expected(node, what))?),
            },
            _ => return Err(expected(node, what)),
        };
        Ok(serial)
    };
    match &node.value {
        Value::Seq(items) => items.iter().map(one).collect(),
        _ => Ok(vec![one(node)?]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_value_words_keep_templates_whole() {
        let words = |text: &str| split_args(text).unwrap();
        assert_eq!(words("msg={{ item }}"), ["msg={{ item }}"]);
        assert_eq!(
            words("msg=\"{{ a | join(' ') }} x\" var=y"),
            ["msg=\"{{ a | join(' ') }} x\"", "var=y"]
        );
        assert_eq!(words("a='b c'  d=e"), ["a='b c'", "d=e"]);
        assert_eq!(unquote("\"{{ maybe }}\""), "{{ maybe }}");
        assert!(split_args("msg='open").is_err());
    }

    #[test]
    fn an_action_s_templated_type_is_one_word() {
        assert_eq!(
            first_word("{{ ansible_facts.pkg_mgr }}"),
            ("{{ ansible_facts.pkg_mgr }}", "")
        );
        assert_eq!(
            first_word("{{ mod }} name=x state=present"),
            ("{{ mod }}", " name=x state=present")
        );
        assert_eq!(
            first_word("command echo {{ x }}"),
            ("command", " echo {{ x }}")
        );
        assert_eq!(first_word("ns.{{ c }}.mod a=1"), ("ns.{{ c }}.mod", " a=1"));
    }
}
