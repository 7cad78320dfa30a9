//! Ansible roles, resolved when the playbook is loaded: `roles:` in a play, `import_role`
//! and `include_role` in a task list. A role becomes a block of its tasks that carries the
//! role (its defaults, vars and parameters); its dependencies (`meta/main.yml`) are blocks
//! before it, and its handlers join the play's. Nothing about a role costs a round trip.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::parse::{Origin, boolean, conditions, new_task, string, string_list, task_list};
use super::{Task, TaskBody};
use crate::diagnostic::Diagnostic;
use crate::source::Span;
use crate::vars::{Origins, Vars, node_to_vars_with_origins};
use crate::yaml::{self, Node, Value};

/// A role as one of its uses sees it.
#[derive(Debug)]
pub struct Role {
    /// As titles show it: a collection's role by its full name (`NS.COLL.ROLE`).
    pub name: String,
    /// `role_name`: the role's own name, without its collection.
    pub short_name: String,
    /// The role's folder, absolute; `role_path`, and where its templates and files are
    /// found first.
    pub path: PathBuf,
    /// `defaults/main.yml` (or `defaults_from`): below every other variable.
    pub defaults: Vars,
    /// `vars/main.yml` (or `vars_from`), then the `vars:` of its use.
    pub vars: Vars,
    /// The parameters of its use (`- role: x` with `p: 1`): above `set_fact`.
    pub params: Vars,
    pub origins: Origins,
}

impl Role {
    /// The variables quayside sets for the role's tasks: `role_name`, `role_path`.
    pub fn magic(&self) -> Vars {
        let mut vars = Vars::new();
        vars.insert("role_name".into(), self.short_name.clone().into());
        vars.insert("role_path".into(), self.path.display().to_string().into());
        vars.insert("ansible_role_name".into(), self.name.clone().into());
        vars
    }
}

/// What loading one play's roles gathers: the roles it placed (a role with the same
/// parameters is placed once), their handlers, and the defaults and vars of its public roles.
#[derive(Default)]
pub(super) struct PlayRoles {
    seen: Vec<(PathBuf, serde_json::Value)>,
    /// The roles being read now, outermost first: one among them again is a loop.
    loading: Vec<(PathBuf, String)>,
    pub handlers: Vec<Task>,
    pub defaults: Vars,
    pub vars: Vars,
    /// The play's `collections:`, then (while a collection's role is read) that role's
    /// collection first: where a role's short name is looked for before `roles_path`.
    pub collections: Vec<String>,
    /// The play's `vars:`: with the extra variables, what a templated role name is
    /// rendered with when the playbook is loaded.
    pub play_vars: Vars,
}

/// The `-e` variables, set once before playbooks are read: see [`set_load_vars`].
static LOAD_VARS: std::sync::OnceLock<Vars> = std::sync::OnceLock::new();

/// The extra variables (`-e`), known before the playbook is read: a templated role name
/// may use them.
pub fn set_load_vars(vars: Vars) {
    let _ = LOAD_VARS.set(vars);
}

/// A templated role name (`name: "{{ role_var }}"`), rendered with what is known when the
/// playbook is loaded, as Ansible does: the extra variables over the play's `vars:`.
fn render_role_name(role: &mut RoleUse, play_vars: &Vars) -> Result<(), Diagnostic> {
    let mut vars = play_vars.clone();
    if let Some(extra) = LOAD_VARS.get() {
        vars.extend(extra.clone());
    }
    let ctx = minijinja::Value::from_serialize(&vars);
    // A variable's value may be a template too: render until none is left.
    for _ in 0..8 {
        if !yaml::is_template(&role.name) {
            return Ok(());
        }
        role.name = crate::template::render_str(&role.name, &role.name_span, &ctx).map_err(
            |error| {
                Diagnostic::at(
                    format!(
                        "the role name `{}` cannot be rendered when the playbook is loaded: {}",
                        role.name,
                        error.message
                    ),
                    role.name_span.clone(),
                )
                .with_hint(
                    "a role placed when the playbook is loaded (`roles:`, `import_role`) can be named by the extra variables (-e) and the play's `vars:`; for a host's variables, use `include_role`",
                )
            },
        )?;
    }
    Err(Diagnostic::at(
        "the role name is a template that renders to a template, again and again",
        role.name_span.clone(),
    ))
}

/// `roles_path` as the settings resolved it (`ANSIBLE_ROLES_PATH`, ansible.cfg, or
/// Ansible's default, `~` expanded): see [`set_roles_path`].
static ROLES_PATH: std::sync::OnceLock<Vec<PathBuf>> = std::sync::OnceLock::new();

/// The settings' `roles_path`, set once before playbooks are read.
pub fn set_roles_path(paths: Vec<PathBuf>) {
    let _ = ROLES_PATH.set(paths);
}

/// `roles_path`: the settings' (see [`set_roles_path`]); where they were never loaded
/// (the library used on its own), what the settings give by default.
pub fn role_search_path() -> Vec<PathBuf> {
    ROLES_PATH
        .get()
        .cloned()
        .unwrap_or_else(|| crate::settings::Settings::default().roles_path)
}

/// `collections_path` as the settings resolved it (`ANSIBLE_COLLECTIONS_PATH(S)`,
/// ansible.cfg, or Ansible's default): see [`set_collections_path`].
static COLLECTIONS_PATH: std::sync::OnceLock<Vec<PathBuf>> = std::sync::OnceLock::new();

/// The settings' `collections_path`, set once before playbooks are read.
pub fn set_collections_path(paths: Vec<PathBuf>) {
    let _ = COLLECTIONS_PATH.set(paths);
}

/// The folders `ansible_collections/` trees are looked for in, as Ansible orders them:
/// `collections/` beside the playbook, then `collections_path`. A folder that is itself
/// named `ansible_collections` is taken as the tree.
fn collection_roots(play_dir: &Path) -> Vec<PathBuf> {
    let configured = COLLECTIONS_PATH
        .get()
        .cloned()
        .unwrap_or_else(|| crate::settings::Settings::default().collections_path);
    std::iter::once(play_dir.join("collections"))
        .chain(configured)
        .map(|root| match root.file_name() {
            Some(name) if name == "ansible_collections" => root,
            _ => root.join("ansible_collections"),
        })
        .collect()
}

/// A role of a collection, `NAMESPACE.COLLECTION.ROLE`: the folder
/// `ansible_collections/NAMESPACE/COLLECTION/roles/ROLE` in the first root that has it.
fn find_collection_role(fqcn: &str, roots: &[PathBuf]) -> Option<(PathBuf, String)> {
    let mut parts = fqcn.splitn(3, '.');
    let (namespace, collection, role) = (parts.next()?, parts.next()?, parts.next()?);
    let valid = |part: &str| crate::vars::is_identifier(part);
    if !(valid(namespace) && valid(collection) && valid(role)) {
        return None;
    }
    roots
        .iter()
        .map(|root| {
            root.join(namespace)
                .join(collection)
                .join("roles")
                .join(role)
        })
        .find(|path| path.is_dir())
        .map(|path| (path, format!("{namespace}.{collection}")))
}

/// Where Ansible looks for a role named `name`: a collection's role (`NS.COLL.ROLE`, or a
/// short name in each of the play's `collections:`), then `roles/` beside the playbook,
/// each folder of `roles_path`, then beside the playbook. A name with a `/` is a path.
/// Found: the role's folder and the collection it is in.
fn find_role(
    name: &str,
    play_dir: &Path,
    collections: &[String],
) -> Result<(PathBuf, Option<String>), Vec<PathBuf>> {
    let roots = collection_roots(play_dir);
    let fqcns = std::iter::once(name.to_owned()).chain(
        collections
            .iter()
            .filter(|c| !matches!(c.as_str(), "ansible.builtin" | "ansible.legacy"))
            .map(|c| format!("{c}.{name}")),
    );
    for fqcn in fqcns {
        if let Some((path, collection)) = find_collection_role(&fqcn, &roots) {
            return Ok((path, Some(collection)));
        }
    }
    find_role_in_paths(name, play_dir).map(|path| (path, None))
}

fn find_role_in_paths(name: &str, play_dir: &Path) -> Result<PathBuf, Vec<PathBuf>> {
    let path = Path::new(name);
    if path.is_absolute() {
        return if path.is_dir() {
            Ok(path.to_owned())
        } else {
            Err(vec![path.to_owned()])
        };
    }
    let mut places = vec![play_dir.join("roles")];
    places.extend(role_search_path());
    places.push(play_dir.to_owned());
    match places.iter().map(|dir| dir.join(name)).find(|p| p.is_dir()) {
        Some(found) => Ok(found),
        None => Err(places),
    }
}

/// One use of a role: from `roles:`, a dependency, or `import_role`/`include_role`.
pub(super) struct RoleUse {
    pub name: String,
    pub name_span: Span,
    pub vars: Vars,
    pub var_origins: Origins,
    pub params: Vars,
    pub from: From,
    pub public: bool,
    /// `rolespec_validate`: check the role's argument spec (Ansible's default).
    pub validate: bool,
}

/// `tasks_from`, `vars_from`, `defaults_from`, `handlers_from`.
#[derive(Default, Clone)]
pub(super) struct From {
    pub tasks: Option<Node>,
    pub vars: Option<Node>,
    pub defaults: Option<Node>,
    pub handlers: Option<Node>,
}

/// Keywords a `roles:` entry (or a dependency) may carry; any other key is a parameter of
/// the role, unless it is an Ansible keyword quayside does not implement on a role.
const ROLE_KEYWORDS: &[&str] = &[
    "role",
    "name",
    "vars",
    "when",
    "tags",
    "become",
    "become_user",
    "environment",
    "ignore_errors",
    "no_log",
    "check_mode",
    "diff",
];

/// Ansible keywords a role entry may carry that quayside does not implement there: refused
/// rather than taken for parameters.
const REFUSED_ROLE_KEYWORDS: &[&str] = &[
    "any_errors_fatal",
    "become_method",
    "become_flags",
    "become_exe",
    "collections",
    "connection",
    "debugger",
    "delegate_to",
    "delegate_facts",
    "module_defaults",
    "port",
    "remote_user",
    "run_once",
    "throttle",
    "timeout",
];

/// A `roles:` entry or a dependency: the role's block, with the entry's keywords on it.
pub(super) fn role_entry(node: &Node, origin: Origin<'_>) -> Result<Vec<Task>, Diagnostic> {
    let mut outer = new_task(node.span.clone());
    let mut role = RoleUse {
        name: String::new(),
        name_span: node.span.clone(),
        vars: Vars::new(),
        var_origins: Origins::new(),
        params: Vars::new(),
        from: From::default(),
        public: true,
        validate: true,
    };
    match &node.value {
        Value::Str(name) => {
            role.name = name.clone();
            role.name_span = node.span.clone();
        }
        Value::Map(entries) => {
            let mut named = false;
            for (key, value) in entries {
                let word = key.key_string();
                match word.as_str() {
                    "role" | "name" => {
                        role.name = string(value)?;
                        role.name_span = value.span.clone();
                        named = true;
                    }
                    "vars" => (role.vars, role.var_origins) = node_to_vars_with_origins(value)?,
                    "when" => outer.when = conditions(value),
                    "tags" => outer.tags = string_list(value)?,
                    "become" => outer.r#become = Some(boolean(value)?),
                    "become_user" => outer.become_user = Some(string(value)?),
                    "environment" => outer.environment = Some(value.clone()),
                    "ignore_errors" => outer.ignore_errors = boolean(value)?,
                    "no_log" => outer.no_log = boolean(value)?,
                    "check_mode" => outer.check_mode = Some(boolean(value)?),
                    "diff" => outer.diff = Some(boolean(value)?),
                    // ansible-core reads `async` and `poll` on a role as its parameters
                    // (with a warning that the names are reserved), as before they were
                    // task keywords here.
                    _ if REFUSED_ROLE_KEYWORDS.contains(&word.as_str())
                        || (super::TASK_KEYWORDS.contains(&word.as_str())
                            && !matches!(word.as_str(), "async" | "poll")) =>
                    {
                        return Err(Diagnostic::at(
                            format!("`{word}` on a role is not supported"),
                            key.span.clone(),
                        )
                        .with_hint(format!(
                            "a role takes {}; any other key is a parameter of the role",
                            ROLE_KEYWORDS
                                .iter()
                                .map(|k| format!("`{k}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )));
                    }
                    _ => {
                        if !crate::vars::is_identifier(&word) {
                            return Err(Diagnostic::at(
                                format!("`{word}` is not a valid variable name"),
                                key.span.clone(),
                            ));
                        }
                        role.params.insert(word, value.to_json());
                        role.var_origins
                            .entry(key.key_string())
                            .or_insert_with(|| value.span.clone());
                    }
                }
            }
            if !named {
                return Err(Diagnostic::at(
                    "a role entry needs `role` (the role's name)",
                    node.span.clone(),
                ));
            }
        }
        _ => {
            return Err(Diagnostic::at(
                format!(
                    "a role entry must be a role's name or a mapping with `role`, found {}",
                    node.kind()
                ),
                node.span.clone(),
            ));
        }
    }
    let block = load_role(role, origin)?;
    if block.is_empty() {
        return Ok(Vec::new());
    }
    outer.body = TaskBody::Block {
        block,
        rescue: Vec::new(),
        always: Vec::new(),
    };
    Ok(vec![outer])
}

/// `import_role` / `include_role`: `name` and the `*_from` files, `public`, `allow_duplicates`.
pub(super) fn role_task_args(
    word: &str,
    value: &Node,
    templates: bool,
) -> Result<(RoleUse, Option<bool>, Option<Node>), Diagnostic> {
    // Ansible's `import_role: name=x tasks_from=y` form.
    let owned;
    let value: &Node = match &value.value {
        Value::Str(text) if text.contains('=') => {
            owned = super::parse::key_value_args(text, value)?;
            &owned
        }
        _ => value,
    };
    let Some(entries) = value.as_map() else {
        return Err(Diagnostic::at(
            format!(
                "`{word}` takes a mapping with `name`, found {}",
                value.kind()
            ),
            value.span.clone(),
        ));
    };
    const KEYS: &[&str] = &[
        "name",
        "tasks_from",
        "vars_from",
        "defaults_from",
        "handlers_from",
        "public",
        "allow_duplicates",
        "apply",
        "rolespec_validate",
    ];
    let mut role = RoleUse {
        name: String::new(),
        name_span: value.span.clone(),
        vars: Vars::new(),
        var_origins: Origins::new(),
        params: Vars::new(),
        from: From::default(),
        public: word.ends_with("import_role"),
        validate: true,
    };
    let mut allow_duplicates = None;
    let mut apply = None;
    let mut named = false;
    for (key, arg) in entries {
        match key.key_string().as_str() {
            "name" => {
                role.name = string(arg)?;
                role.name_span = arg.span.clone();
                named = true;
            }
            "tasks_from" => role.from.tasks = Some(arg.clone()),
            "vars_from" => role.from.vars = Some(arg.clone()),
            "defaults_from" => role.from.defaults = Some(arg.clone()),
            "handlers_from" => role.from.handlers = Some(arg.clone()),
            "public" => role.public = boolean(arg)?,
            "allow_duplicates" => allow_duplicates = Some(boolean(arg)?),
            "rolespec_validate" => role.validate = boolean(arg)?,
            "apply" if word.ends_with("include_role") => apply = Some(arg.clone()),
            other => {
                let mut message = format!("`{word}` takes no `{other}`");
                if let Some(s) = crate::diagnostic::did_you_mean(other, KEYS.iter().copied()) {
                    message.push_str(&format!(" — did you mean `{s}`?"));
                }
                return Err(Diagnostic::at(message, key.span.clone()));
            }
        }
    }
    if !named {
        return Err(Diagnostic::at(
            format!("`{word}` needs `name` (the role's name)"),
            value.span.clone(),
        ));
    }
    let _ = templates;
    Ok((role, allow_duplicates, apply))
}

/// Whether an `include_role`'s name or `*_from` files are templates: then it is read when
/// it runs, for each host and item.
pub(super) fn is_dynamic(value: &Node) -> bool {
    let owned;
    let value = match &value.value {
        Value::Str(text) if text.contains('=') => match super::parse::key_value_args(text, value) {
            Ok(node) => {
                owned = node;
                &owned
            }
            Err(_) => return false,
        },
        _ => value,
    };
    value.as_map().unwrap_or_default().iter().any(|(key, arg)| {
        matches!(
            key.as_str(),
            Some("name" | "tasks_from" | "vars_from" | "defaults_from" | "handlers_from")
        ) && arg.as_str().is_some_and(yaml::is_template)
    })
}

/// Whether the role an `include_role` names (not a template) is nowhere to be found.
pub(super) fn is_missing(value: &Node, origin: Origin<'_>) -> bool {
    let Ok((role, _, _)) = role_task_args("include_role", value, true) else {
        return false;
    };
    if yaml::is_template(&role.name) {
        return false;
    }
    let collections = origin
        .roles
        .map(|state| state.borrow().collections.clone())
        .unwrap_or_default();
    find_role(&role.name, origin.play_dir, &collections).is_err()
}

/// An `include_role` whose arguments were rendered when it ran: the role's blocks, the
/// roles in them (for `public`) and its handlers.
#[allow(clippy::type_complexity)]
pub fn load_role_at_run(
    args: &Node,
    dir: &Path,
    play_dir: &Path,
) -> Result<(Vec<Task>, Vec<Arc<Role>>, Vec<Task>), Diagnostic> {
    let state = PlayRolesCell::default();
    let origin = Origin {
        dir,
        depth: 0,
        play_dir,
        roles: Some(&state),
        in_handler: false,
        role_dir: None,
    };
    let (mut role, allow_duplicates, _) = role_task_args("include_role", args, false)?;
    role.public = false;
    let blocks = load_role_with(role, allow_duplicates.or(Some(true)), origin)?;
    let roles = blocks.iter().filter_map(|b| b.role.clone()).collect();
    Ok((blocks, roles, state.into_inner().handlers))
}

/// A role's file in `folder`: `main` (or the `*_from` name), as `.yml`, `.yaml`, `.json`
/// or as written. `None` when there is none and none was asked for by name.
fn role_file(
    role_dir: &Path,
    folder: &str,
    from: Option<&Node>,
) -> Result<Option<PathBuf>, Diagnostic> {
    Ok(role_files(role_dir, folder, from, false)?
        .into_iter()
        .next())
}

/// [`role_file`], or for `defaults/` and `vars/` a folder of that name: its files, in the
/// order of their names, as Ansible merges them.
fn role_files(
    role_dir: &Path,
    folder: &str,
    from: Option<&Node>,
    folders: bool,
) -> Result<Vec<PathBuf>, Diagnostic> {
    let base = role_dir.join(folder);
    let name = match from {
        Some(node) => string(node)?,
        None => "main".to_owned(),
    };
    if let Some(node) = from {
        if yaml::is_template(&name) {
            return Err(Diagnostic::at(
                format!(
                    "a templated `{folder}_from` is not supported: the role is read when the playbook is loaded"
                ),
                node.span.clone(),
            ));
        }
        // As Ansible: the file must be the role's own.
        let mut depth = 0i32;
        let mut outside = Path::new(&name).is_absolute();
        for part in Path::new(&name).components() {
            match part {
                std::path::Component::ParentDir => depth -= 1,
                std::path::Component::Normal(_) => depth += 1,
                _ => {}
            }
            outside |= depth < 0;
        }
        if outside {
            return Err(Diagnostic::at(
                format!("`{folder}_from: {name}` is not inside the role's `{folder}/`"),
                node.span.clone(),
            ));
        }
    }
    let candidates = [
        base.join(format!("{name}.yml")),
        base.join(format!("{name}.yaml")),
        base.join(format!("{name}.json")),
        base.join(&name),
    ];
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(vec![found.clone()]);
    }
    let dir = base.join(&name);
    if folders && dir.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|error| Diagnostic::new(format!("cannot read `{}`: {error}", dir.display())))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && matches!(
                        p.extension().and_then(|e| e.to_str()),
                        Some("yml" | "yaml" | "json")
                    )
            })
            .collect();
        files.sort();
        return Ok(files);
    }
    match from {
        Some(node) => Err(Diagnostic::at(
            format!(
                "the role has no `{folder}/{name}` (looked in `{}`)",
                base.display()
            ),
            node.span.clone(),
        )),
        None => Ok(Vec::new()),
    }
}

/// The variables of a role's `defaults/` or `vars/`, with where each was written.
fn role_vars(
    role_dir: &Path,
    folder: &str,
    from: Option<&Node>,
) -> Result<(Vars, Origins), Diagnostic> {
    let mut vars = Vars::new();
    let mut origins = Origins::new();
    for file in role_files(role_dir, folder, from, true)? {
        let (more, more_origins) = crate::vars::load_vars_file_with_origins(&file)?;
        vars.extend(more);
        origins.extend(more_origins);
    }
    Ok((vars, origins))
}

/// Roles nest (dependencies, imports inside roles) at most this deep.
const MAX_ROLE_DEPTH: usize = 16;

/// The blocks a use of a role places: its dependencies, then its own tasks. Empty when the
/// play already has this role with the same parameters and it does not allow duplicates.
pub(super) fn load_role(role: RoleUse, origin: Origin<'_>) -> Result<Vec<Task>, Diagnostic> {
    load_role_with(role, None, origin)
}

pub(super) fn load_role_with(
    mut role: RoleUse,
    allow_duplicates: Option<bool>,
    origin: Origin<'_>,
) -> Result<Vec<Task>, Diagnostic> {
    let Some(state) = origin.roles else {
        return Err(Diagnostic::at(
            "a role can only be used in a play",
            role.name_span.clone(),
        ));
    };
    if yaml::is_template(&role.name) {
        let play_vars = state.borrow().play_vars.clone();
        render_role_name(&mut role, &play_vars)?;
    }
    if origin.depth >= MAX_ROLE_DEPTH {
        return Err(Diagnostic::at(
            format!(
                "roles nest more than {MAX_ROLE_DEPTH} deep: does `{}` depend on itself?",
                role.name
            ),
            role.name_span.clone(),
        ));
    }
    let collections = state.borrow().collections.clone();
    let (path, collection) =
        find_role(&role.name, origin.play_dir, &collections).map_err(|mut places| {
            if role.name.split('.').count() >= 3 || !collections.is_empty() {
                places.extend(collection_roots(origin.play_dir));
            }
            Diagnostic::at(
                format!("the role `{}` was not found", role.name),
                role.name_span.clone(),
            )
            .with_hint(format!(
                "looked in {}",
                places
                    .iter()
                    .map(|p| match p.as_os_str().is_empty() {
                        true => "`.`".to_owned(),
                        false => format!("`{}`", p.display()),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    crate::plugins::add_role_library(&path);
    let meta = match role_file(&path, "meta", None)? {
        Some(file) => Some(yaml::load_file(&file)?),
        None => None,
    };
    let mut dependencies = Vec::new();
    let mut allow = allow_duplicates.unwrap_or(false);
    if let Some(meta) = &meta {
        match &meta.value {
            Value::Null => {}
            Value::Map(entries) => {
                for (key, value) in entries {
                    match key.key_string().as_str() {
                        "dependencies" => dependencies = super::parse::list_of_nodes(value),
                        "allow_duplicates" => {
                            allow = allow_duplicates.unwrap_or(boolean(value)?);
                        }
                        "galaxy_info" | "argument_specs" => {}
                        other => {
                            return Err(Diagnostic::at(
                                format!(
                                    "`{other}` in a role's meta/main.yml is not supported (quayside reads `dependencies`, `allow_duplicates` and `galaxy_info`)"
                                ),
                                key.span.clone(),
                            ));
                        }
                    }
                }
            }
            _ => {
                return Err(Diagnostic::at(
                    format!(
                        "a role's meta/main.yml must be a mapping, found {}",
                        meta.kind()
                    ),
                    meta.span.clone(),
                ));
            }
        }
    }
    let key_path = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
    {
        let state = state.borrow();
        if let Some(at) = state.loading.iter().position(|(p, _)| *p == key_path) {
            let chain: Vec<&str> = state.loading[at..]
                .iter()
                .map(|(_, name)| name.as_str())
                .chain([role.name.as_str()])
                .collect();
            return Err(Diagnostic::at(
                format!(
                    "a recursion loop was detected with the roles: {}",
                    chain.join(" → ")
                ),
                role.name_span.clone(),
            )
            .with_hint("a role cannot depend on itself, nor on a role that depends on it"));
        }
    }
    let from_name = |node: Option<&Node>| node.and_then(Node::as_str).unwrap_or("main").to_owned();
    let key = serde_json::json!({
        "params": role.params,
        "vars": role.vars,
        "tasks": from_name(role.from.tasks.as_ref()),
        "vars_from": from_name(role.from.vars.as_ref()),
        "defaults": from_name(role.from.defaults.as_ref()),
    });
    {
        let mut state = state.borrow_mut();
        if !allow && state.seen.contains(&(key_path.clone(), key.clone())) {
            return Ok(Vec::new());
        }
        state.seen.push((key_path.clone(), key));
    }
    state
        .borrow_mut()
        .loading
        .push((key_path, role.name.clone()));
    // As Ansible: a collection's role finds the roles it names in its own collection first.
    let in_collection = collection.clone();
    let saved = collection.map(|collection| {
        let mut state = state.borrow_mut();
        let saved = state.collections.clone();
        state.collections.retain(|c| *c != collection);
        state.collections.insert(0, collection);
        saved
    });
    let specs = argument_specs(&path, meta.as_ref())?;
    let loaded = load_parts(
        role,
        path,
        in_collection,
        &dependencies,
        specs.as_ref(),
        state,
        origin,
    );
    let mut state = state.borrow_mut();
    state.loading.pop();
    if let Some(saved) = saved {
        state.collections = saved;
    }
    loaded
}

/// A role's dependencies, then its own block, once it is known not to be placed already.
#[allow(clippy::too_many_arguments)]
fn load_parts(
    role: RoleUse,
    path: PathBuf,
    collection: Option<String>,
    dependencies: &[Node],
    specs: Option<&Node>,
    state: &PlayRolesCell,
    origin: Origin<'_>,
) -> Result<Vec<Task>, Diagnostic> {
    let inner = Origin {
        dir: origin.dir,
        depth: origin.depth + 1,
        ..origin
    };
    let mut blocks = Vec::new();
    for dependency in dependencies {
        blocks.extend(role_entry(dependency, inner)?);
    }
    // The entry point's argument spec: checked now as far as it can be, and as a task
    // before the role's own, as ansible-core inserts it.
    let validation = match specs {
        Some(specs) if role.validate => validation_task(specs, &role, &path)?,
        _ => None,
    };
    let (defaults, mut origins) = role_vars(&path, "defaults", role.from.defaults.as_ref())?;
    let (mut vars, vars_origins) = role_vars(&path, "vars", role.from.vars.as_ref())?;
    origins.extend(vars_origins);
    // As Ansible: the play sees a public role's defaults and `vars/`, not the `vars:` of
    // its use.
    if role.public {
        let mut state = state.borrow_mut();
        state.defaults.extend(defaults.clone());
        state.vars.extend(vars.clone());
    }
    vars.extend(role.vars);
    origins.extend(role.var_origins);
    let short_name = match &collection {
        Some(_) => path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        None => Path::new(&role.name)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| role.name.clone()),
    };
    let name = match &collection {
        Some(collection) => format!("{collection}.{short_name}"),
        None => short_name.clone(),
    };
    let loaded = Arc::new(Role {
        name,
        short_name,
        path: std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone()),
        defaults,
        vars,
        params: role.params,
        origins,
    });
    fn file_origin<'a>(file: &'a Path, origin: Origin<'a>) -> Origin<'a> {
        Origin {
            dir: file.parent().unwrap_or(Path::new(".")),
            depth: origin.depth + 1,
            ..origin
        }
    }
    let mut tasks = match role_file(&path, "tasks", role.from.tasks.as_ref())? {
        Some(file) => {
            let root = yaml::load_file(&file)?;
            let origin = Origin {
                role_dir: Some(&path),
                ..file_origin(&file, origin)
            };
            task_list(&root, false, origin)?
        }
        None => Vec::new(),
    };
    if let Some(validation) = validation {
        tasks.insert(0, validation);
    }
    set_role(&mut tasks, &loaded);
    if let Some(file) = role_file(&path, "handlers", role.from.handlers.as_ref())? {
        let root = yaml::load_file(&file)?;
        let origin = Origin {
            role_dir: Some(&path),
            ..file_origin(&file, origin)
        };
        let mut handlers = super::parse::imported_handlers(task_list(&root, true, origin)?);
        set_role(&mut handlers, &loaded);
        state.borrow_mut().handlers.extend(handlers);
    }
    let mut block = new_task(role.name_span.clone());
    block.body = TaskBody::Block {
        block: tasks,
        rescue: Vec::new(),
        always: Vec::new(),
    };
    block.role = Some(loaded);
    blocks.push(block);
    Ok(blocks)
}

/// A role's argument specs: `argument_specs` in `meta/argument_specs.yml` (or `.yaml`),
/// else in `meta/main.yml`, as ansible-core reads them (the files are not merged).
fn argument_specs(role_dir: &Path, meta: Option<&Node>) -> Result<Option<Node>, Diagnostic> {
    let file = ["yml", "yaml"]
        .iter()
        .map(|ext| role_dir.join("meta").join(format!("argument_specs.{ext}")))
        .find(|p| p.is_file());
    let specs = match file {
        Some(file) => yaml::load_file(&file)?.get("argument_specs").cloned(),
        None => meta.and_then(|m| m.get("argument_specs")).cloned(),
    };
    Ok(specs.filter(|s| !s.is_null()))
}

/// The `validate_argument_spec` task ansible-core puts first in a role whose entry point
/// (`main`, or `tasks_from`) has a spec, once the spec is known to use only what quayside
/// checks and the role's parameters written as plain values are known to pass it.
fn validation_task(specs: &Node, role: &RoleUse, path: &Path) -> Result<Option<Task>, Diagnostic> {
    use crate::tasks::validate_argument_spec::{check_spec, validate};
    let Some(entries) = specs.as_map() else {
        return Err(Diagnostic::at(
            format!(
                "`argument_specs` must be a mapping of entry points, found {}",
                specs.kind()
            ),
            specs.span.clone(),
        ));
    };
    let entry = match &role.from.tasks {
        Some(node) => string(node)?,
        None => "main".to_owned(),
    };
    let Some((_, spec)) = entries.iter().find(|(key, _)| key.key_string() == entry) else {
        return Ok(None);
    };
    if spec.is_null() {
        return Ok(None);
    }
    let empty = Node::new(spec.span.clone(), Value::Map(Vec::new()));
    let options = spec.get("options").unwrap_or(&empty);
    check_spec(options)?;
    let spec_json = match options.to_json() {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    // A parameter written as a plain value fails the same way on every host: say so now.
    for (name, value) in &role.params {
        if contains_template(value) {
            continue;
        }
        let one = serde_json::Map::from_iter([(name.clone(), value.clone())]);
        let errors = validate(&spec_json, &one, false);
        if !errors.is_empty() {
            let span = role
                .var_origins
                .get(name)
                .cloned()
                .unwrap_or_else(|| role.name_span.clone());
            return Err(Diagnostic::at(
                format!(
                    "the role `{}` does not accept this: Validation of arguments failed: {}",
                    role.name,
                    errors.join("; ")
                ),
                span,
            )
            .with_hint(format!(
                "the role's argument spec `{entry}` is in {}",
                spec.span.file.name
            )));
        }
    }
    let mut name = format!("Validating arguments against arg spec '{entry}'");
    if let Some(short) = spec.get("short_description").and_then(Node::as_str) {
        name.push_str(&format!(" - {short}"));
    }
    let args = serde_json::json!({
        "argument_spec": spec_json,
        "provided_arguments": role.params,
        "validate_args_context": {
            "type": "role",
            "name": role.name,
            "argument_spec_name": entry,
            "path": std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned()).display().to_string(),
        },
    });
    let mut task = new_task(spec.span.clone());
    task.name = Some(name);
    task.tags = vec!["always".to_owned()];
    task.body = TaskBody::Action {
        kind: crate::tasks::TaskKind::ValidateArgumentSpec,
        args: Node::from_json(&args, &spec.span),
        module: None,
    };
    Ok(Some(task))
}

fn contains_template(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => yaml::is_template(s),
        serde_json::Value::Array(items) => items.iter().any(contains_template),
        serde_json::Value::Object(map) => map.values().any(contains_template),
        _ => false,
    }
}

/// Mark tasks (and the tasks of their blocks) as the role's, except those that belong to a
/// role of their own (imported inside it).
fn set_role(tasks: &mut [Task], role: &Arc<Role>) {
    for task in tasks {
        if task.role.is_some() {
            continue;
        }
        task.role = Some(role.clone());
        if let TaskBody::Include(include) = &mut task.body {
            if let Some(tasks) = &mut include.tasks {
                set_role(tasks, role);
            }
        }
        if let TaskBody::Block {
            block,
            rescue,
            always,
        } = &mut task.body
        {
            for list in [block, rescue, always] {
                set_role(list, role);
            }
        }
    }
}

/// The per-play state roles are loaded into.
pub(super) type PlayRolesCell = RefCell<PlayRoles>;
