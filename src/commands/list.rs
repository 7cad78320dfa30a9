//! `quayside list-hosts` and `quayside list-tasks`, as `ansible-playbook --list-hosts` and
//! `--list-tasks` print them.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write;

use super::{Failure, exit};
use crate::cli::{ListHostsArgs, ListTasksArgs};
use crate::diagnostic::Diagnostic;
use crate::inventory::Inventory;
use crate::playbook::{Task, TaskBody, parse_playbook};
use crate::runner::select_by_tags;
use crate::settings::Settings;

pub fn list_hosts(
    args: &ListHostsArgs,
    settings: &Settings,
    out: &mut dyn Write,
) -> Result<i32, Failure> {
    let inventory = Inventory::load_with(
        &settings.inventory_sources(&args.inventory.inventory),
        &settings.inventory_dirs,
    )
    .map_err(Failure::parse)?;
    for warning in &inventory.warnings {
        let _ = writeln!(out, "[WARNING]: {warning}");
    }
    let mut hosts = crate::inventory::select(&inventory, &args.pattern)
        .map_err(|message| Failure::options(Diagnostic::new(message)))?;
    if let Some(limit) = &args.limit {
        let limited = crate::inventory::select(&inventory, limit)
            .map_err(|message| Failure::options(Diagnostic::new(message)))?;
        hosts.retain(|h| limited.contains(h));
    }
    if hosts.is_empty() {
        let _ = writeln!(out, "[WARNING]: no hosts matched `{}`", args.pattern);
    }
    let _ = writeln!(out, "  hosts ({}):", hosts.len());
    for host in hosts {
        let _ = writeln!(out, "    {host}");
    }
    Ok(exit::OK)
}

pub fn list_tasks(args: &ListTasksArgs, out: &mut dyn Write) -> Result<i32, Failure> {
    let playbook = parse_playbook(&args.playbook).map_err(Failure::parse)?;
    let mut text = format!("\nplaybook: {}\n", args.playbook.display());
    for (index, play) in playbook.plays.iter().enumerate() {
        let _ = write!(
            text,
            "\n  play #{} ({}): {}\tTAGS: [{}]\n    tasks:\n",
            index + 1,
            play.hosts,
            play.name,
            play.tags.join(", ")
        );
        let inherited: BTreeSet<String> = play.tags.iter().cloned().collect();
        for section in [&play.pre_tasks, &play.roles, &play.tasks, &play.post_tasks] {
            list_section(section, &inherited, args, &mut text);
        }
    }
    let _ = out.write_all(text.as_bytes());
    Ok(exit::OK)
}

fn list_section(
    tasks: &[Task],
    inherited: &BTreeSet<String>,
    args: &ListTasksArgs,
    text: &mut String,
) {
    for task in tasks {
        let mut tags = inherited.clone();
        tags.extend(task.tags.iter().cloned());
        match &task.body {
            TaskBody::Block {
                block,
                rescue,
                always,
            } => {
                for list in [block, rescue, always] {
                    list_section(list, &tags, args, text);
                }
            }
            TaskBody::Meta(_) => {}
            TaskBody::Action { .. } | TaskBody::Include(_) | TaskBody::Templated(_) => {
                if select_by_tags(&tags, &args.tags, &args.skip_tags) {
                    let own: Vec<&str> = tags.iter().map(String::as_str).collect();
                    let _ = writeln!(
                        text,
                        "      {}\tTAGS: [{}]",
                        // As Ansible lists them: a named task of a role as `role : name`.
                        match (&task.role, &task.name) {
                            (Some(role), Some(name)) => format!("{} : {name}", role.name),
                            _ => task.display_name(),
                        },
                        own.join(", ")
                    );
                }
            }
        }
    }
}
