//! `include_vars`: variables from YAML (or JSON) files on the controller, for the host, for
//! the rest of the run, as ansible-core 2.19's action of the same name.
//!
//! `file`: found as Ansible finds it: in the task's role (`vars/NAME`, then `NAME`), then
//! beside the playbook (`vars/NAME`, then `NAME`).
//!
//! `dir`: every file of a directory (a role's task: `ROLE/vars/DIR`, or `ROLE/DIR` when DIR
//! starts with `vars/`; otherwise beside the file the task is written in), walked in
//! sorted order down to `depth` levels (0: all), each file whose name `files_matching`
//! finds and no `ignore_files` pattern ends, with one of `extensions` (`yaml`, `yml`,
//! `json`: another fails the task unless `ignore_unknown_extensions`); later files win.
//!
//! `name` puts the variables under one name; `hash_behaviour: merge` merges mappings into
//! the host's variables of the same name instead of replacing them.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::controller_files::{Look, find_with_role, role_dir};
use super::copy_files::playbook_dir;
use super::{Outcome, TaskContext, TaskType};
use crate::diagnostic::Diagnostic;
use crate::playbook::{Play, Task, TaskBody};
use crate::transport::TransportError;
use crate::vars::Vars;
use crate::yaml::Node;

const DIR_ARGUMENTS: &[&str] = &[
    "dir",
    "depth",
    "files_matching",
    "ignore_files",
    "extensions",
    "ignore_unknown_extensions",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncludeVars {
    /// The file, found as Ansible finds it.
    #[serde(default)]
    file: Option<String>,
    /// A directory whose files are all read.
    #[serde(default)]
    dir: Option<String>,
    #[serde(default)]
    depth: Option<usize>,
    #[serde(default)]
    files_matching: Option<String>,
    #[serde(default)]
    ignore_files: Option<Words>,
    #[serde(default)]
    extensions: Option<Words>,
    #[serde(default)]
    ignore_unknown_extensions: bool,
    /// Put the file's variables under this one name instead of at the top.
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    hash_behaviour: Option<HashBehaviour>,
}

/// A list, or a string: `ignore_files` splits it on white space; `extensions`, as
/// Python's `list()` of a string, takes each character.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Words {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum HashBehaviour {
    Replace,
    Merge,
}

impl TaskType for IncludeVars {
    // As ansible-core's action plugin: "This action (NAME) does not support async."
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Fails;

    const FREE_FORM: Option<&'static str> = Some("file");
    const ON_CONTROLLER: bool = true;

    fn sets_variables(args: &Node, dirs: &[&Path]) -> Vec<String> {
        if let Some(name) = args.get("name").and_then(Node::as_str) {
            return vec![name.to_owned()];
        }
        if let Some(dir) = args.get("dir").and_then(Node::as_str) {
            if crate::yaml::is_template(dir) {
                return Vec::new();
            }
            // Every variable of every vars file there: the filters only take some away.
            let base = Path::new(&args.span.file.name)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let mut names = Vec::new();
            for (_, files) in walk(&base.join(dir), 0) {
                for file in files {
                    if let Ok(vars) = crate::vars::load_vars_file(&file) {
                        names.extend(vars.keys().cloned());
                    }
                }
            }
            return names;
        }
        let Some(file) = args.get("file").and_then(Node::as_str) else {
            return Vec::new();
        };
        // As Ansible: a name written as a folded block keeps no line ending.
        let file = file.trim_end_matches('\n');
        if crate::yaml::is_template(file) {
            return Vec::new();
        }
        dirs.iter()
            .find_map(|dir| super::controller_files::find(dir, file, Look::Vars))
            .and_then(|path| crate::vars::load_vars_file(&path).ok())
            .map(|vars| vars.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// A file or folder named by a template, with no `name` to hold what it sets.
    fn sets_unknown_variables(args: &Node) -> bool {
        args.get("name").is_none()
            && ["file", "dir"].iter().any(|key| {
                args.get(key)
                    .and_then(Node::as_str)
                    .is_some_and(crate::yaml::is_template)
            })
    }

    /// Ansible's refusals that need no host: file and dir arguments mixed, neither given.
    fn check_placement(task: &Task, _play: &Play) -> Result<(), Diagnostic> {
        let TaskBody::Action { args, .. } = &task.body else {
            return Ok(());
        };
        let Some(entries) = args.as_map() else {
            return Ok(());
        };
        let dir_args: Vec<&Node> = entries
            .iter()
            .filter(|(key, _)| key.as_str().is_some_and(|k| DIR_ARGUMENTS.contains(&k)))
            .map(|(key, _)| key)
            .collect();
        let file = entries.iter().find(|(key, _)| key.as_str() == Some("file"));
        if let (Some(first), Some(_)) = (dir_args.first(), file) {
            return Err(Diagnostic::at(
                "include_vars: You are mixing file only and dir only arguments, these are incompatible",
                first.span.clone(),
            ));
        }
        let has_dir = entries.iter().any(|(key, _)| key.as_str() == Some("dir"));
        if let (Some(first), None, false) = (dir_args.first(), file, has_dir) {
            return Err(Diagnostic::at(
                format!(
                    "include_vars: `{}` is for a directory, and no `dir` is given",
                    first.as_str().unwrap_or_default()
                ),
                first.span.clone(),
            ));
        }
        if file.is_none() && !has_dir {
            return Err(Diagnostic::at(
                "include_vars needs `file` (or the file's name as its value) or `dir`",
                task.span.clone(),
            ));
        }
        Ok(())
    }

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let role = role_dir(ctx.vars);
        let loaded = match (&self.dir, &self.file) {
            (Some(dir), _) => self.load_dir(role.as_deref(), dir, ctx),
            (None, Some(file)) => {
                let file = file.trim_end_matches('\n');
                let base = playbook_dir(ctx.vars);
                match find_with_role(role.as_deref(), &base, file, Look::Vars) {
                    Some(path) => load(&path).map(|vars| (vars, vec![path])),
                    None => Err(format!(
                        "Could not find or access '{file}' on the controller"
                    )),
                }
            }
            (None, None) => Err("include_vars needs `file` or `dir`".to_owned()),
        };
        let (loaded, paths) = match loaded {
            Ok(loaded) => loaded,
            Err(message) => {
                // Ansible registers the reason as `message`.
                let mut outcome = Outcome::failed(message.clone());
                outcome.data.insert("message".into(), message.into());
                return Ok(outcome);
            }
        };
        let mut facts: Vars = match &self.name {
            Some(name) => {
                if !crate::vars::is_identifier(name) {
                    return Ok(Outcome::failed(format!(
                        "`{name}` is not a valid variable name"
                    )));
                }
                let mut one = Vars::new();
                one.insert(name.clone(), serde_json::Value::Object(loaded));
                one
            }
            None => loaded,
        };
        if self.hash_behaviour == Some(HashBehaviour::Merge) {
            facts = merge_with_existing(ctx.vars, facts);
        }
        let mut outcome = Outcome::ok();
        outcome.data.insert(
            "ansible_facts".into(),
            serde_json::Value::Object(facts.clone()),
        );
        outcome.data.insert(
            "ansible_included_var_files".into(),
            paths
                .iter()
                .map(|path| serde_json::Value::from(path.display().to_string()))
                .collect(),
        );
        outcome.facts = facts;
        Ok(outcome)
    }
}

impl IncludeVars {
    fn load_dir(
        &self,
        role: Option<&Path>,
        dir: &str,
        ctx: &TaskContext<'_>,
    ) -> Result<(Vars, Vec<PathBuf>), String> {
        let root = match role {
            Some(role) if dir.split('/').next() == Some("vars") => {
                let in_role = role.join(dir);
                if in_role.exists() {
                    in_role
                } else {
                    PathBuf::from(dir)
                }
            }
            Some(role) => role.join("vars").join(dir),
            None => Path::new(&ctx.span.file.name)
                .parent()
                .map(|parent| parent.join(dir))
                .unwrap_or_else(|| PathBuf::from(dir)),
        };
        // Ansible names the files by their full paths.
        let root = std::path::absolute(&root).unwrap_or(root);
        if !root.exists() {
            return Err(format!("{} directory does not exist", root.display()));
        }
        if !root.is_dir() {
            return Err(format!("{} is not a directory", root.display()));
        }
        let matcher = match &self.files_matching {
            Some(pattern) => Some(
                regex::Regex::new(pattern)
                    .map_err(|_| format!("Invalid regular expression: {pattern}"))?,
            ),
            None => None,
        };
        let ignore: Vec<regex::Regex> = match &self.ignore_files {
            None => Vec::new(),
            Some(Words::One(words)) => words.split_whitespace().map(str::to_owned).collect(),
            Some(Words::Many(words)) => words.clone(),
        }
        .iter()
        .map(|pattern| {
            regex::Regex::new(&format!("(?:{pattern})$"))
                .map_err(|_| format!("Invalid regular expression: {pattern}"))
        })
        .collect::<Result<_, _>>()?;
        let extensions: Vec<String> = match &self.extensions {
            None => vec!["yaml".into(), "yml".into(), "json".into()],
            Some(Words::One(word)) => word.chars().map(String::from).collect(),
            Some(Words::Many(words)) => words.clone(),
        };
        // A name without an extension has the extension `` (as Python's `splitext`).
        let valid_extension = |name: &str| {
            let extension = Path::new(name)
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or_default();
            extensions.iter().any(|x| x == extension)
        };
        let mut vars = Vars::new();
        let mut paths = Vec::new();
        for (_, files) in walk(&root, self.depth.unwrap_or(0)) {
            for path in files {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if matcher.as_ref().is_some_and(|m| !m.is_match(&name))
                    || ignore.iter().any(|re| re.is_match(&name))
                {
                    continue;
                }
                if !valid_extension(&name) {
                    if self.ignore_unknown_extensions {
                        continue;
                    }
                    return Err(format!(
                        "{} does not have a valid extension: {}",
                        path.display(),
                        extensions.join(", ")
                    ));
                }
                vars.extend(load(&path)?);
                paths.push(path);
            }
        }
        Ok((vars, paths))
    }
}

/// One file's variables: an empty file has none; anything but a mapping fails.
fn load(path: &Path) -> Result<Vars, String> {
    let text = crate::template::read_file(path, "variables file", &path.display().to_string())?;
    if text.lines().all(|line| {
        line.trim().is_empty() || line.trim_start().starts_with('#') || line.trim() == "---"
    }) {
        return Ok(Vars::new());
    }
    crate::vars::load_vars_file(path).map_err(|diagnostic| {
        let headline = diagnostic.headline();
        if headline.contains("must be a mapping") {
            format!("{} must be stored as a dictionary/hash", path.display())
        } else {
            headline
        }
    })
}

/// The directories under `root` (itself first), sorted by path, each with its files sorted
/// by name, down to `depth` levels (`root` is level 1; 0: every level). Links are followed,
/// as Ansible's walk follows them.
fn walk(root: &Path, depth: usize) -> Vec<(PathBuf, Vec<PathBuf>)> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut pending = vec![(root.to_path_buf(), 1usize)];
    while let Some((dir, level)) = pending.pop() {
        // A link back up would make the walk endless.
        if !seen.insert(std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone())) {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push((path, level + 1));
            } else {
                files.push(path);
            }
        }
        files.sort();
        if depth == 0 || level <= depth {
            out.push((dir, files));
        }
    }
    // Python sorts the walk by the directories' paths as strings.
    out.sort_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
    out
}

/// `hash_behaviour: merge`: each mapping merged into the host's variable of the same name.
fn merge_with_existing(vars: &minijinja::Value, facts: Vars) -> Vars {
    let mut out = Vars::new();
    for (key, value) in facts {
        let existing = vars
            .get_attr(&key)
            .ok()
            .filter(|v| !v.is_undefined())
            .and_then(|v| crate::template::to_json_value(&v).ok());
        let merged = match existing {
            Some(mut base) => {
                crate::template::merge_mappings(&mut base, value, true);
                base
            }
            None => value,
        };
        out.insert(key, merged);
    }
    out
}
