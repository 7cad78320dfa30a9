//! Everything before the first host is touched, in one place: the inputs read (inventory,
//! playbook, `-e`), every check that can refuse a run (placements, `--start-at-task`,
//! hosts and `vars_files`, templates and the variables they are sure to read), and the
//! run's secret variables remembered for masking. It returns a run ready to start, or the
//! first problem with its place; `run` and `validate` both go through it.

use crate::cli::SelectArgs;
use crate::diagnostic::Diagnostic;
use crate::inventory::Inventory;
use crate::playbook::{Playbook, parse_playbook};
use crate::runner::{PreparedPlay, RunOptions, check_start_at_task, prepare};
use crate::vars::Vars;

/// Why a run cannot start: a bad input file (exit 4, as `ansible-playbook`) or a bad
/// option (exit 5).
#[derive(Debug)]
pub enum Refusal {
    Input(Diagnostic),
    Option(Diagnostic),
}

fn extra_vars(select: &SelectArgs) -> Result<Vars, Refusal> {
    let mut vars = Vars::new();
    for arg in &select.extra_vars {
        // A vars file that cannot be read is a bad input file (4), not a bad option (5).
        let failure = if arg.starts_with('@') {
            Refusal::Input
        } else {
            Refusal::Option
        };
        vars.extend(crate::vars::parse_extra_vars(arg).map_err(failure)?);
    }
    Ok(vars)
}

/// Everything `run` and `validate` read and check before touching a host: a run ready to
/// start.
pub struct Ready {
    pub playbook: Playbook,
    pub inventory: Inventory,
    pub options: RunOptions,
    pub plays: Vec<PreparedPlay>,
    pub warnings: Vec<String>,
}

/// Read and check everything a run needs before it touches a host: the inventory, the
/// playbook, the options; the plays prepared (hosts, `vars_files`, tags); every check that
/// can refuse the run. The first problem found is returned with its place.
pub fn load(
    playbook: &std::path::Path,
    (inventory, rules): (&[std::path::PathBuf], &crate::inventory::DirRules),
    select: &SelectArgs,
    mut options: RunOptions,
) -> Result<Ready, Refusal> {
    options.extra_vars = extra_vars(select)?;
    options.limit = select.limit.clone();
    options.tags = select.tags.clone();
    options.skip_tags = select.skip_tags.clone();
    if let Some(limit) = &options.limit {
        crate::inventory::check_pattern(limit)
            .map_err(|message| Refusal::Option(Diagnostic::new(format!("--limit: {message}"))))?;
    }
    let mut inventory = Inventory::load_with(inventory, rules).map_err(Refusal::Input)?;
    // group_vars/ and host_vars/ beside the playbook, over those beside the inventory.
    let playbook_dir = playbook
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    inventory
        .load_playbook_vars_dirs(playbook_dir)
        .map_err(Refusal::Input)?;
    // A templated role name may use the extra variables.
    crate::playbook::set_load_vars(options.extra_vars.clone());
    let mut playbook = parse_playbook(playbook).map_err(Refusal::Input)?;
    // Plays that name no strategy take ansible.cfg's.
    for play in &mut playbook.plays {
        if play.strategy_span.is_none() {
            play.strategy = options.strategy;
        }
    }
    crate::runner::check_strategy_options(&playbook, &options).map_err(Refusal::Option)?;
    crate::check::check_placements(&playbook).map_err(Refusal::Input)?;
    if let Some(name) = &options.start_at_task {
        check_start_at_task(&playbook, name).map_err(Refusal::Option)?;
    }
    let (plays, prepared) = prepare(&playbook, &inventory, &options).map_err(Refusal::Input)?;
    let mut warnings = inventory.warnings.clone();
    warnings.extend(prepared);
    // Tasks written to fail whose arguments are wrong: they fail on each host, as in
    // ansible-core (see `playbook::module_defaults`).
    for task in playbook.all_tasks() {
        if let Some(message) = &task.argument_failure {
            warnings.push(format!(
                "{message} at {}: the task is written to fail (`ignore_errors` or a `rescue`), so it fails on each host it runs on, as in ansible-core",
                task.span
            ));
        }
    }
    crate::check::check_templates(&playbook, &inventory, &plays, &options)
        .map_err(Refusal::Input)?;
    // Values of variables whose names say secret are masked wherever a diff shows them.
    for host in inventory.hosts.keys() {
        crate::secrets::remember_variables(&inventory.host_vars(host));
    }
    for play in &plays {
        crate::secrets::remember_variables(&play.vars);
    }
    crate::secrets::remember_variables(&options.extra_vars);
    Ok(Ready {
        playbook,
        inventory,
        options,
        plays,
        warnings,
    })
}
