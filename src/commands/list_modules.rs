//! `quayside list-modules`: what each task type name resolves to, in quayside's lookup
//! order (src/plugins/): built in, a user module (its file), or one of Ansible's.

use std::io::Write;
use std::path::Path;

use super::{Failure, exit};
use crate::cli::ListModulesArgs;
use crate::playbook::{Task, parse_playbook};
use crate::plugins::{self, Found};
use crate::tasks::TaskKind;

/// One name and what it resolves to, as a line.
fn line(name: &str, play_dir: &Path, role_dir: Option<&Path>) -> (String, bool) {
    let short = ["ansible.builtin.", "ansible.legacy.", "quayside."]
        .iter()
        .find_map(|prefix| name.strip_prefix(prefix))
        .unwrap_or(name);
    if TaskKind::from_name(short).is_some_and(|kind| kind != TaskKind::Module) {
        return (format!("{name:<32} built in"), true);
    }
    let Some((path, found, _, _)) = plugins::locate(name, play_dir, role_dir) else {
        return (format!("{name:<32} not found"), false);
    };
    let whose = match found {
        Found::User => "user module",
        Found::Ansible => "Ansible's module",
    };
    let protocol = match std::fs::read(&path) {
        Ok(bytes) => match plugins::protocol(&bytes) {
            Ok(protocol) => protocol.describe().to_owned(),
            Err(why) => format!("refused: it {why}"),
        },
        Err(error) => format!("unreadable: {error}"),
    };
    (
        format!("{name:<32} {whose}: {} ({protocol})", path.display()),
        true,
    )
}

/// The user modules in a folder, by name.
fn modules_in(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|entry| entry.path().is_file())
        .map(|entry| {
            let file = entry.file_name().to_string_lossy().into_owned();
            match file.rsplit_once('.') {
                Some((stem, _)) if !stem.is_empty() => stem.to_owned(),
                _ => file,
            }
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

pub fn list_modules(args: &ListModulesArgs, out: &mut dyn Write) -> Result<i32, Failure> {
    let play_dir = args
        .playbook
        .as_deref()
        .and_then(Path::parent)
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut lines: Vec<(String, bool)> = Vec::new();
    if !args.names.is_empty() {
        for name in &args.names {
            lines.push(line(name, play_dir, None));
        }
    } else if let Some(path) = &args.playbook {
        // Loading the playbook resolves (and checks) every module its tasks name.
        let playbook = parse_playbook(path).map_err(Failure::parse)?;
        let mut seen: Vec<String> = Vec::new();
        for task in playbook.all_tasks() {
            let Some(name) = task.action_name() else {
                continue;
            };
            let role_dir = role_dir(task);
            let found = line(&name, play_dir, role_dir);
            if seen.contains(&found.0) {
                continue;
            }
            seen.push(found.0.clone());
            lines.push(found);
        }
    } else {
        for kind in TaskKind::ALL
            .iter()
            .filter(|kind| **kind != TaskKind::Module)
        {
            lines.push(line(kind.name(), play_dir, None));
        }
        for folder in plugins::user_folders(play_dir, None) {
            for name in modules_in(&folder) {
                let (text, found) = line(&name, play_dir, None);
                if !lines.iter().any(|(other, _)| *other == text) {
                    lines.push((text, found));
                }
            }
        }
    }
    let mut text = String::new();
    for (line, _) in &lines {
        text.push_str(line);
        text.push('\n');
    }
    if args.names.is_empty() {
        match plugins::ansible::core() {
            Some(core) => text.push_str(&format!(
                "Ansible's modules: ansible-core {} ({}) and its collections\n",
                core.version,
                core.modules.display()
            )),
            None => text.push_str(&format!(
                "Ansible's modules: ansible-core not found ({})\n",
                plugins::ansible::INSTALL_HINT
            )),
        }
    }
    let _ = out.write_all(text.as_bytes());
    Ok(if lines.iter().all(|(_, found)| *found) {
        exit::OK
    } else {
        exit::PARSE
    })
}

/// The folder of a task's role, whose `library/` its tasks see.
fn role_dir(task: &Task) -> Option<&Path> {
    task.role.as_ref().map(|role| role.path.as_path())
}
