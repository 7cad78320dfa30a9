//! quayside runs Ansible-style YAML playbooks of typed tasks across an SSH inventory of
//! hosts, with first-class task types for operating Red Hat Quay on plain VMs.

pub(crate) mod bundle_listing;
pub(crate) mod check;
pub(crate) mod cli;
pub(crate) mod commands;
pub(crate) mod diagnostic;
pub(crate) mod drift;
pub(crate) mod inputs;
pub(crate) mod interrupt;
pub mod inventory;
pub(crate) mod keypair;
pub mod playbook;
pub mod plugins;
pub(crate) mod postgres;
pub(crate) mod preflight;
pub mod python_codec;
pub mod python_regex;
pub(crate) mod quay;
pub(crate) mod quay_schema;
pub(crate) mod report;
pub(crate) mod runner;
pub(crate) mod secrets;
pub(crate) mod settings;
pub mod source;
pub mod tasks;
pub mod template;
pub(crate) mod transport;
pub(crate) mod vars;
pub(crate) mod vault;
pub mod yaml;

use std::io::Write;

use clap::Parser;

use crate::cli::{Cli, Command};

/// Run the command line; returns the process exit code.
pub fn run_cli() -> i32 {
    let mut args = std::env::args();
    if args.nth(1).as_deref() == Some(transport::watchdog::ARGUMENT) {
        return transport::watchdog::watch(args.next().as_deref());
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let code = match error.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    commands::exit::OK
                }
                _ => commands::exit::OPTIONS,
            };
            let _ = error.print();
            return code;
        }
    };
    let settings = match settings::Settings::load() {
        Ok(settings) => settings,
        Err(diagnostic) => {
            let _ = writeln!(std::io::stderr(), "{diagnostic}");
            return commands::exit::OPTIONS;
        }
    };
    // Roles are looked for where ansible.cfg (or ANSIBLE_ROLES_PATH) says.
    playbook::set_roles_path(settings.roles_path.clone());
    playbook::set_collections_path(settings.collections_path.clone());
    // Modules are looked for where ANSIBLE_LIBRARY and collections_path say.
    plugins::set_search_paths(plugins::SearchPaths {
        library: settings.library.clone(),
        collections: settings.collections_path.clone(),
    });
    for warning in &settings.warnings {
        let _ = writeln!(std::io::stderr(), "[WARNING]: {warning}");
    }
    let mut stdout = std::io::stdout();
    if let Some(args) = cli.command.vault() {
        if let Err(failure) = commands::load_vault_passwords(args, &settings) {
            let _ = writeln!(std::io::stderr(), "{}", failure.diagnostic);
            return failure.code;
        }
    }
    let result = match &cli.command {
        Command::Run(args) => commands::run(args, &settings),
        Command::Validate(args) => commands::validate(args, &settings, &mut stdout),
        Command::ListHosts(args) => commands::list_hosts(args, &settings, &mut stdout),
        Command::ListTasks(args) => commands::list_tasks(args, &mut stdout),
        Command::ListModules(args) => commands::list_modules(args, &mut stdout),
        Command::Drift(args) => commands::drift(args, &settings, &mut stdout),
        Command::Keygen(args) => commands::keygen(args, &mut stdout),
        Command::Completions { shell } => commands::completions(*shell, &mut stdout),
        Command::Man { command } => commands::man(command.as_deref(), &mut stdout),
    };
    match result {
        Ok(code) => code,
        Err(failure) => {
            let _ = stdout.flush();
            let text = crate::secrets::mask(&failure.diagnostic.to_string());
            let _ = writeln!(std::io::stderr(), "{text}");
            failure.code
        }
    }
}
