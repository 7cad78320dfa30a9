//! Where a task finds a file it names on the controller (a template, a file to copy): one
//! rule for every task type and for the checks before the run.
//!
//! As Ansible looks in a playbook's folder: `templates/NAME` (or `files/NAME`) first, then
//! `NAME` beside the playbook; then the same folder beside the playbook's parent, for the
//! layout quayside ships (`playbooks/` beside `templates/`). An absolute name is taken as
//! it is. A directory of that name is passed over; anything else is found (a named pipe,
//! a device), so that reading it says what it is rather than that nothing is there.

use std::path::{Path, PathBuf};

/// What a task looks for: a template (in `templates/`) or a file (in `files/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    Template,
    File,
}

/// The path of `name` seen from the playbook's folder `base`, if there is such a file.
pub fn find(base: &Path, name: &str, look: Look) -> Option<PathBuf> {
    if Path::new(name).is_absolute() {
        return Some(PathBuf::from(name));
    }
    let folder = match look {
        Look::Template => "templates",
        Look::File => "files",
    };
    [
        base.join(folder).join(name),
        base.join(name),
        base.join("..").join(folder).join(name),
    ]
    .into_iter()
    .find(|path| path.exists() && !path.is_dir())
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
    }
}
