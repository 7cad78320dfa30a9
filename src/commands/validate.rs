//! `quayside validate`: every check `run` makes before touching a host, and nothing else.

use std::collections::BTreeSet;
use std::io::Write;

use super::{Failure, exit};
use crate::cli::ValidateArgs;
use crate::preflight;
use crate::runner::RunOptions;
use crate::settings::Settings;

pub fn validate(
    args: &ValidateArgs,
    settings: &Settings,
    out: &mut dyn Write,
) -> Result<i32, Failure> {
    let loaded = preflight::load(
        &args.playbook,
        (
            &settings.inventory_sources(&args.inventory.inventory),
            &settings.inventory_dirs,
        ),
        &args.select,
        RunOptions {
            strategy: settings.strategy,
            ..RunOptions::default()
        },
    )?;
    for warning in &loaded.warnings {
        let _ = writeln!(out, "[WARNING]: {warning}");
    }
    let tasks = loaded.playbook.all_tasks().len();
    let hosts: BTreeSet<&String> = loaded.plays.iter().flat_map(|p| &p.hosts).collect();
    let _ = writeln!(
        out,
        "{}: {}, {}, {}: ok",
        args.playbook.display(),
        counted(loaded.plays.len(), "play"),
        counted(tasks, "task"),
        counted(hosts.len(), "host")
    );
    Ok(exit::OK)
}

/// `1 play`, `2 plays`.
fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
