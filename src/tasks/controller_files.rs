//! Where a task finds a file it names on the controller (a template, a file to copy): one
//! rule for every task type and for the checks before the run.
//!
//! As Ansible looks in a playbook's folder: `templates/NAME` (or `files/NAME`) first, then
//! `NAME` beside the playbook; then the same folder beside the playbook's parent, for the
//! layout quayside ships (`playbooks/` beside `templates/`). An absolute name is taken as
//! it is. A directory of that name is passed over; anything else is found (a named pipe,
//! a device), so that reading it says what it is rather than that nothing is there. A
//! role's task looks in its role first: `ROLE/templates/NAME` (or `ROLE/files/NAME`), then
//! `ROLE/NAME`.

use std::path::{Path, PathBuf};

/// What a task looks for: a template (in `templates/`), a file (in `files/`) or a
/// variables file (in `vars/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    Template,
    File,
    Vars,
}

/// The path of `name` seen from the playbook's folder `base`, if there is such a file.
pub fn find(base: &Path, name: &str, look: Look) -> Option<PathBuf> {
    find_with_role(None, base, name, look)
}

/// [`find`] for a task of the role in `role` (its `role_path`): the role's folders first.
pub fn find_with_role(role: Option<&Path>, base: &Path, name: &str, look: Look) -> Option<PathBuf> {
    let expanded = expand_home(name);
    let name = expanded.as_str();
    if Path::new(name).is_absolute() {
        return Some(PathBuf::from(name));
    }
    let folder = match look {
        Look::Template => "templates",
        Look::File => "files",
        Look::Vars => "vars",
    };
    let in_role = role
        .into_iter()
        .flat_map(|role| [role.join(folder).join(name), role.join(name)]);
    in_role
        .chain([
            base.join(folder).join(name),
            base.join(name),
            base.join("..").join(folder).join(name),
        ])
        .find(|path| path.exists() && !path.is_dir())
}

/// The folders in which a template's `{% include %}`, `{% import %}`, `{% from %}` and
/// `{% extends %}` look for the templates they name, in order, as ansible-core's `template`
/// action sets Jinja's search path: the task's search path (for a role's task the role's
/// folder, then the folder of its task files, `tasks/`), the playbook's folder `base`, then
/// the folder of the `template` itself; each as `P/templates`, then `P`. Repeats are dropped
/// (ansible-core lists some twice, to the same effect). Not followed, where ansible-core
/// follows them: the roles that depend on the task's role, and a task file in another
/// folder than the role's `tasks/` or the playbook's.
pub fn include_search_path(role: Option<&Path>, base: &Path, template: &Path) -> Vec<PathBuf> {
    let own = template.parent().map(Path::to_path_buf).unwrap_or_default();
    let roots = role
        .into_iter()
        .flat_map(|role| [role.to_path_buf(), role.join("tasks")])
        .chain([base.to_path_buf(), own]);
    let mut search: Vec<PathBuf> = Vec::new();
    for root in roots {
        let root = std::path::absolute(&root).unwrap_or(root);
        for folder in [root.join("templates"), root] {
            if !search.contains(&folder) {
                search.push(folder);
            }
        }
    }
    search
}

/// The file a template's `{% include %}` (`import`, `extends`) `name` stands for in the
/// folders `search` ([`include_search_path`]), as Jinja's `FileSystemLoader` finds it: the
/// name's `/`-separated parts below each folder in turn, the first regular file (or link
/// to one) found. Empty and `.` parts are dropped, so a leading `/` does not make the name
/// absolute; a name with a `..` part is found nowhere.
pub fn find_included(search: &[PathBuf], name: &str) -> Option<PathBuf> {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            ".." => return None,
            "" | "." => {}
            part => parts.push(part),
        }
    }
    if parts.is_empty() {
        return None;
    }
    search
        .iter()
        .map(|folder| {
            parts
                .iter()
                .fold(folder.clone(), |path, part| path.join(part))
        })
        .find(|path| path.is_file())
}

/// How [`include_search_path`]'s folders are listed in messages: each quoted, as
/// ansible-core lists them.
pub fn search_path_text(search: &[PathBuf]) -> String {
    search
        .iter()
        .map(|folder| format!("'{}'", folder.display()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `name` with a leading `~` or `~user` made the controller's home of that user, as
/// Python's `os.path.expanduser` makes it (`~` is `$HOME`, `~user` from the password
/// file); otherwise as written.
pub fn expand_home(name: &str) -> String {
    let Some(rest) = name.strip_prefix('~') else {
        return name.to_owned();
    };
    let (user, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let home = if user.is_empty() {
        std::env::var("HOME").ok()
    } else {
        std::fs::read_to_string("/etc/passwd")
            .ok()
            .and_then(|text| {
                text.lines().find_map(|line| {
                    let fields: Vec<&str> = line.split(':').collect();
                    (fields.len() >= 6 && fields[0] == user).then(|| fields[5].to_owned())
                })
            })
    };
    // As Python: the home without its trailing slashes, `/` if nothing is left.
    match home {
        Some(home) => match format!("{}{tail}", home.trim_end_matches('/')) {
            expanded if expanded.is_empty() => "/".to_owned(),
            expanded => expanded,
        },
        None => name.to_owned(),
    }
}

/// `with_fileglob`: the files (not folders) `pattern` matches, sorted. A relative pattern is
/// looked for in the folders [`find_with_role`] looks in for a file (`files/` first); the
/// first folder with a match gives them all, as Ansible's `fileglob`.
pub fn glob(role: Option<&Path>, base: &Path, pattern: &str) -> Result<Vec<PathBuf>, String> {
    let candidates: Vec<PathBuf> = if Path::new(pattern).is_absolute() {
        vec![PathBuf::from(pattern)]
    } else {
        role.into_iter()
            .flat_map(|role| [role.join("files").join(pattern), role.join(pattern)])
            .chain([
                base.join("files").join(pattern),
                base.join(pattern),
                base.join("..").join("files").join(pattern),
            ])
            .collect()
    };
    for candidate in candidates {
        let text = candidate.to_string_lossy();
        let paths = ::glob::glob(&text)
            .map_err(|e| format!("`with_fileglob`: bad pattern `{pattern}`: {}", e.msg))?;
        let mut files: Vec<PathBuf> = paths.flatten().filter(|p| p.is_file()).collect();
        if !files.is_empty() {
            files.sort();
            return Ok(files);
        }
    }
    Ok(Vec::new())
}

/// The role folder of the task whose variables are `vars` (its `role_path`), if any.
pub fn role_dir(vars: &minijinja::Value) -> Option<PathBuf> {
    vars.get_attr("role_path")
        .ok()
        .and_then(|v| v.as_str().map(PathBuf::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_folder_first_then_beside_then_the_parents_templates() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("playbooks");
        std::fs::create_dir_all(base.join("templates")).unwrap();
        std::fs::create_dir_all(dir.path().join("templates")).unwrap();
        std::fs::write(dir.path().join("templates/a.j2"), "parent").unwrap();
        assert_eq!(
            find(&base, "a.j2", Look::Template),
            Some(base.join("../templates/a.j2"))
        );
        std::fs::write(base.join("a.j2"), "beside").unwrap();
        assert_eq!(find(&base, "a.j2", Look::Template), Some(base.join("a.j2")));
        std::fs::write(base.join("templates/a.j2"), "templates").unwrap();
        assert_eq!(
            find(&base, "a.j2", Look::Template),
            Some(base.join("templates/a.j2"))
        );
        // A directory of that name is not the file.
        std::fs::create_dir_all(base.join("files/b")).unwrap();
        assert_eq!(find(&base, "b", Look::File), None);
        assert_eq!(find(&base, "/etc/x", Look::File), Some("/etc/x".into()));
        // A role's own templates come first.
        let role = dir.path().join("roles/web");
        std::fs::create_dir_all(role.join("templates")).unwrap();
        assert_eq!(
            find_with_role(Some(&role), &base, "a.j2", Look::Template),
            Some(base.join("templates/a.j2"))
        );
        std::fs::write(role.join("templates/a.j2"), "role").unwrap();
        assert_eq!(
            find_with_role(Some(&role), &base, "a.j2", Look::Template),
            Some(role.join("templates/a.j2"))
        );
    }

    /// As ansible-core 2.19.14's `template` action: a role's folder and its `tasks/`, the
    /// playbook's folder, then the template's own, each with its `templates/` first.
    #[test]
    fn included_templates_are_looked_for_as_ansible_core_looks() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("play");
        let role = dir.path().join("roles/web");
        let template = base.join("templates/sub/main.j2");
        assert_eq!(
            include_search_path(Some(&role), &base, &template),
            vec![
                role.join("templates"),
                role.clone(),
                role.join("tasks/templates"),
                role.join("tasks"),
                base.join("templates"),
                base.clone(),
                base.join("templates/sub/templates"),
                base.join("templates/sub"),
            ]
        );
        let search = include_search_path(None, &base, &template);
        std::fs::create_dir_all(base.join("templates/sub")).unwrap();
        std::fs::write(base.join("templates/sub/inc.j2"), "own").unwrap();
        assert_eq!(
            find_included(&search, "inc.j2"),
            Some(base.join("templates/sub/inc.j2"))
        );
        std::fs::write(base.join("inc.j2"), "play").unwrap();
        assert_eq!(find_included(&search, "inc.j2"), Some(base.join("inc.j2")));
        assert_eq!(
            find_included(&search, "./sub//inc.j2"),
            Some(base.join("templates/sub/inc.j2"))
        );
        // A leading `/` is one more empty part; `..` is found nowhere; a folder is no file.
        assert_eq!(find_included(&search, "/inc.j2"), Some(base.join("inc.j2")));
        assert_eq!(find_included(&search, "sub/../inc.j2"), None);
        assert_eq!(find_included(&search, "sub"), None);
    }
}
