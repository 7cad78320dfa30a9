//! quayside runs Ansible-style YAML playbooks of typed tasks across an SSH inventory of
//! hosts, with first-class task types for operating Red Hat Quay on plain VMs.

pub mod check;
pub mod cli;
pub mod commands;
pub mod diagnostic;
pub mod drift;
pub mod inputs;
pub mod interrupt;
pub mod inventory;
pub mod keypair;
pub mod playbook;
pub mod postgres;
pub mod quay;
pub mod quay_schema;
pub mod report;
pub mod runner;
pub mod settings;
pub mod source;
pub mod tasks;
pub mod template;
pub mod transport;
pub mod vars;
pub mod vault;
pub mod yaml;

use std::io::Write;

use clap::Parser;

use crate::cli::{Cli, Command};

/// Run the command line; returns the process exit code.
pub fn run_cli() -> i32 {
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
    let settings = settings::Settings::load();
    let mut stdout = std::io::stdout();
    if let Some(args) = cli.command.vault() {
        if let Err(failure) = commands::load_vault_passwords(args, &settings) {
            let _ = writeln!(std::io::stderr(), "{}", failure.diagnostic);
            return failure.code;
        }
    }
    let result = match &cli.command {
        Command::Run(args) => commands::run(args, &settings),
        Command::Validate(args) => commands::validate(args, &mut stdout),
        Command::ListHosts(args) => commands::list_hosts(args, &mut stdout),
        Command::ListTasks(args) => commands::list_tasks(args, &mut stdout),
        Command::Drift(args) => commands::drift(args, &settings, &mut stdout),
        Command::Keygen(args) => commands::keygen(args, &mut stdout),
        Command::Completions { shell } => commands::completions(*shell, &mut stdout),
        Command::Man { command } => commands::man(command.as_deref(), &mut stdout),
    };
    match result {
        Ok(code) => code,
        Err(failure) => {
            let _ = stdout.flush();
            let text = vault::mask(&failure.diagnostic.to_string());
            let _ = writeln!(std::io::stderr(), "{text}");
            failure.code
        }
    }
}
