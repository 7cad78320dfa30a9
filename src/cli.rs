//! The command line, as clap reads it. Commands live in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "quayside",
    version,
    about = "Run Ansible-style YAML playbooks of typed tasks across an SSH fleet",
    long_about = "quayside runs Ansible-style YAML playbooks of typed tasks across an SSH \
inventory of hosts. It was built to operate Red Hat Quay registries on plain VMs: service \
keys, the Quay database, config bundles, ACLs and podman containers.",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a playbook against the hosts of an inventory
    Run(RunArgs),
    /// Check a playbook and inventory as `run` would, without touching any host
    Validate(ValidateArgs),
    /// List the hosts a pattern selects
    ListHosts(ListHostsArgs),
    /// List the plays and tasks of a playbook
    ListTasks(ListTasksArgs),
    /// Show what task type names resolve to: built in, a user module (its file) or one of
    /// Ansible's modules
    ListModules(ListModulesArgs),
    /// Report hosts whose live config bundle differs from the others'
    Drift(DriftArgs),
    /// Print a shell completion script
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
    /// Print the manual pages (roff): quayside(1), then one page for each subcommand with
    /// all its options (quayside-run(1), ...)
    Man {
        /// Print only the page of this subcommand (`run`, `validate`, ...)
        #[arg(value_name = "COMMAND")]
        command: Option<String>,
    },
    /// Make a Quay service key pair (NAME.jwk, NAME.kid, NAME.pem) as Quay's
    /// `tools/generatekeypair.py` does
    Keygen(KeygenArgs),
}

impl Command {
    /// The vault password options of a command that reads playbooks or inventories.
    pub fn vault(&self) -> Option<&VaultArgs> {
        match self {
            Command::Run(args) => Some(&args.vault),
            Command::Validate(args) => Some(&args.vault),
            Command::ListHosts(args) => Some(&args.vault),
            Command::ListTasks(args) => Some(&args.vault),
            Command::ListModules(args) => Some(&args.vault),
            Command::Drift(args) => Some(&args.vault),
            Command::Completions { .. } | Command::Man { .. } | Command::Keygen(_) => None,
        }
    }
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// The key's name, such as `quay-readonly`
    pub name: String,
    /// The directory to write the files to
    #[arg(long = "dir", value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Replace an existing key pair
    #[arg(long = "force")]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Ansible-style text
    Human,
    /// One JSON object a line for every event
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DriftOutput {
    /// The report as text: the hosts that differ and how
    Human,
    /// The whole report as one JSON object: `path`, `reference`, `hosts` (each host's
    /// digest and files), `differing`, `unreachable`
    Json,
}

#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// An inventory file or directory (YAML or INI); may be given more than once. Without
    /// it, ansible.cfg's `inventory` or ANSIBLE_INVENTORY.
    /// Without one, only `localhost` is known
    #[arg(short = 'i', long = "inventory", value_name = "INVENTORY")]
    pub inventory: Vec<PathBuf>,
}

/// Where the passwords of Ansible Vault files and `!vault` values come from.
#[derive(Debug, Args, Default)]
pub struct VaultArgs {
    /// A file holding a vault password, or an executable that prints it; repeatable
    /// (also ANSIBLE_VAULT_PASSWORD_FILE, or `vault_password_file` in the config file)
    #[arg(
        long = "vault-password-file",
        alias = "vault-pass-file",
        value_name = "FILE"
    )]
    pub vault_password_file: Vec<PathBuf>,
    /// Ask for the vault password on the terminal (without one, read it from standard input)
    #[arg(short = 'J', long = "ask-vault-pass", alias = "ask-vault-password")]
    pub ask_vault_pass: bool,
    /// A vault password with its label: `LABEL@FILE`, `LABEL@prompt`, or a FILE; repeatable
    #[arg(long = "vault-id", value_name = "[LABEL@]SOURCE")]
    pub vault_id: Vec<String>,
}

#[derive(Debug, Args)]
pub struct SelectArgs {
    /// Further limit the hosts to those matching this pattern
    #[arg(short = 'l', long = "limit", value_name = "PATTERN")]
    pub limit: Option<String>,
    /// Set variables: `key=value`, a JSON or YAML mapping, or `@file.yml`; repeatable
    #[arg(short = 'e', long = "extra-vars", value_name = "VARS")]
    pub extra_vars: Vec<String>,
    /// Only run tasks with these tags (comma separated; repeatable)
    #[arg(short = 't', long = "tags", value_delimiter = ',')]
    pub tags: Vec<String>,
    /// Skip tasks with these tags (comma separated; repeatable)
    #[arg(long = "skip-tags", value_delimiter = ',')]
    pub skip_tags: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The playbook to run
    pub playbook: PathBuf,
    #[command(flatten)]
    pub inventory: InventoryArgs,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub vault: VaultArgs,
    /// Change nothing; report what would change
    #[arg(short = 'C', long = "check")]
    pub check: bool,
    /// Show the before and after of every file a task changes
    #[arg(short = 'D', long = "diff")]
    pub diff: bool,
    /// How many hosts a task runs on at once (50 unless ansible.cfg or ANSIBLE_FORKS says)
    #[arg(short = 'f', long = "forks", value_parser = clap::value_parser!(u32).range(1..))]
    pub forks: Option<u32>,
    /// How results are printed
    #[arg(long = "output", value_enum, default_value_t = Output::Human)]
    pub output: Output,
    /// Show more: `-v` task results, `-vv` task paths
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// No live display: one line a result
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Seconds to wait for an SSH connection (10 unless ansible.cfg or ANSIBLE_TIMEOUT says)
    #[arg(long = "timeout", value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Append the run's JSON events (with run id, user, playbook digest, start and end
    /// times) to this file, secrets censored
    #[arg(long = "log", value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Start at the first task with this name, skipping the tasks before it
    #[arg(long = "start-at-task", value_name = "NAME")]
    pub start_at_task: Option<String>,
    /// Confirm each task before it runs: (y)es, (n)o to skip it, (c)ontinue without asking
    #[arg(long = "step")]
    pub step: bool,
    /// Run the handlers notified on a host even after it failed (a play's `force_handlers`
    /// wins)
    #[arg(long = "force-handlers")]
    pub force_handlers: bool,
    /// Wait for each task's answer before sending a host the next (ansible.cfg's
    /// `pipelining = False` does the same); by default a host is sent its next tasks
    /// ahead wherever the result cannot differ
    #[arg(long = "no-pipelining")]
    pub no_pipelining: bool,
    /// Do not write a `.retry` file of the hosts that failed
    #[arg(long = "no-retry-file")]
    pub no_retry_file: bool,
    /// Exit as ansible-playbook does when a host is unreachable: 4 (also when another
    /// failed), where quayside exits 3 (and 2 when another failed)
    #[arg(long = "ansible-exit-codes", env = "QUAYSIDE_ANSIBLE_EXIT_CODES")]
    pub ansible_exit_codes: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The playbook to check
    pub playbook: PathBuf,
    #[command(flatten)]
    pub inventory: InventoryArgs,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub vault: VaultArgs,
}

#[derive(Debug, Args)]
pub struct ListHostsArgs {
    /// A host pattern: `all`, group and host names, globs, `a:b`, `a:&b`, `a:!b`
    pub pattern: String,
    #[command(flatten)]
    pub inventory: InventoryArgs,
    /// Further limit the hosts to those matching this pattern
    #[arg(short = 'l', long = "limit", value_name = "PATTERN")]
    pub limit: Option<String>,
    #[command(flatten)]
    pub vault: VaultArgs,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    #[command(flatten)]
    pub inventory: InventoryArgs,
    #[command(flatten)]
    pub vault: VaultArgs,
    /// The hosts to compare
    #[arg(
        short = 'l',
        long = "limit",
        value_name = "PATTERN",
        default_value = "all"
    )]
    pub limit: String,
    /// The bundle directory on each host; may use the host's variables
    /// (`{{ quay_root }}/config`)
    #[arg(long = "path", value_name = "DIR")]
    pub path: String,
    /// How the report is printed
    #[arg(long = "output", value_enum, default_value_t = DriftOutput::Human)]
    pub output: DriftOutput,
    /// Read each host's bundle through `sudo` (as root, or `ansible_become_user`), so that
    /// files the SSH user cannot read are compared too; a host's `ansible_become` does the
    /// same for that host
    #[arg(short = 'b', long = "become")]
    pub r#become: bool,
    /// How many hosts are read at once (50 unless ansible.cfg or ANSIBLE_FORKS says)
    #[arg(short = 'f', long = "forks", value_parser = clap::value_parser!(u32).range(1..))]
    pub forks: Option<u32>,
    /// Seconds to wait for an SSH connection (10 unless ansible.cfg or ANSIBLE_TIMEOUT says)
    #[arg(long = "timeout", value_name = "SECONDS")]
    pub timeout: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ListModulesArgs {
    /// The names to resolve (`hello`, `ansible.builtin.getent`, `ns.coll.module`); without
    /// any, every task type name the playbook uses, or else every built-in task type and
    /// user module
    pub names: Vec<String>,
    /// Resolve as the tasks of this playbook do (its `library/`, `collections/`, and with
    /// no NAME, every task type name it and its roles use)
    #[arg(short = 'p', long = "playbook", value_name = "PLAYBOOK")]
    pub playbook: Option<PathBuf>,
    #[command(flatten)]
    pub vault: VaultArgs,
}

#[derive(Debug, Args)]
pub struct ListTasksArgs {
    /// The playbook to list
    pub playbook: PathBuf,
    /// Only list tasks with these tags
    #[arg(short = 't', long = "tags", value_delimiter = ',')]
    pub tags: Vec<String>,
    /// Leave out tasks with these tags
    #[arg(long = "skip-tags", value_delimiter = ',')]
    pub skip_tags: Vec<String>,
    #[command(flatten)]
    pub vault: VaultArgs,
}
