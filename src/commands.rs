//! What each subcommand does, given the parsed command line.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use crate::cli::{
    DriftArgs, DriftOutput, ListHostsArgs, ListTasksArgs, Output, RunArgs, SelectArgs,
    ValidateArgs, VaultArgs,
};
use crate::diagnostic::Diagnostic;
use crate::interrupt::{Interrupt, grace_period};
use crate::inventory::Inventory;
use crate::playbook::{Playbook, Task, TaskBody, parse_playbook};
use crate::report::{Human, JsonLines, Planner, Progress, Reporter, RunLog, Sink, Tee};
use crate::runner::{
    ConnectSettings, PreparedPlay, RunOptions, Runner, check_start_at_task, prepare, select_by_tags,
};
use crate::settings::Settings;
use crate::vars::Vars;

/// Exit codes, as `ansible-playbook` uses them.
pub mod exit {
    pub const OK: i32 = 0;
    pub const PARSE: i32 = 4;
    pub const OPTIONS: i32 = 5;
    pub const INTERRUPTED: i32 = 99;
}

/// An error that ends a command before it runs, with its exit code.
#[derive(Debug)]
pub struct Failure {
    pub diagnostic: Diagnostic,
    pub code: i32,
}

impl Failure {
    fn parse(diagnostic: Diagnostic) -> Self {
        Self {
            diagnostic,
            code: exit::PARSE,
        }
    }

    fn options(diagnostic: Diagnostic) -> Self {
        Self {
            diagnostic,
            code: exit::OPTIONS,
        }
    }
}

fn extra_vars(select: &SelectArgs) -> Result<Vars, Failure> {
    let mut vars = Vars::new();
    for arg in &select.extra_vars {
        // A vars file that cannot be read is a bad input file (4), not a bad option (5).
        let failure = if arg.starts_with('@') {
            Failure::parse
        } else {
            Failure::options
        };
        vars.extend(crate::vars::parse_extra_vars(arg).map_err(failure)?);
    }
    Ok(vars)
}

/// Everything `run` and `validate` read and check before touching a host.
struct Loaded {
    playbook: Playbook,
    inventory: Inventory,
    options: RunOptions,
    plays: Vec<PreparedPlay>,
    warnings: Vec<String>,
}

fn load(
    playbook: &std::path::Path,
    inventory: &[std::path::PathBuf],
    select: &SelectArgs,
    mut options: RunOptions,
) -> Result<Loaded, Failure> {
    options.extra_vars = extra_vars(select)?;
    options.limit = select.limit.clone();
    options.tags = select.tags.clone();
    options.skip_tags = select.skip_tags.clone();
    let inventory = Inventory::load(inventory).map_err(Failure::parse)?;
    let playbook = parse_playbook(playbook).map_err(Failure::parse)?;
    crate::check::check_placements(&playbook).map_err(Failure::parse)?;
    if let Some(name) = &options.start_at_task {
        check_start_at_task(&playbook, name).map_err(Failure::options)?;
    }
    let (plays, warnings) = prepare(&playbook, &inventory, &options).map_err(Failure::parse)?;
    crate::check::check_templates(&playbook, &inventory, &plays, &options)
        .map_err(Failure::parse)?;
    Ok(Loaded {
        playbook,
        inventory,
        options,
        plays,
        warnings,
    })
}

pub fn validate(args: &ValidateArgs, out: &mut dyn Write) -> Result<i32, Failure> {
    let loaded = load(
        &args.playbook,
        &args.inventory.inventory,
        &args.select,
        RunOptions::default(),
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

pub fn run(args: &RunArgs, settings: &Settings) -> Result<i32, Failure> {
    let options = RunOptions {
        check: args.check,
        diff: args.diff,
        forks: args.forks as usize,
        verbosity: args.verbose,
        connect: ConnectSettings {
            host_key_checking: settings.host_key_checking,
            connect_timeout: Duration::from_secs(args.timeout.max(1)),
        },
        start_at_task: args.start_at_task.clone(),
        step: args.step,
        ..RunOptions::default()
    };
    let loaded = load(
        &args.playbook,
        &args.inventory.inventory,
        &args.select,
        options,
    )?;
    let terminal: Box<dyn Reporter> = match args.output {
        Output::Json => Box::new(JsonLines::new(Sink::stdout())),
        Output::Human => {
            let terminal = std::io::stdout().is_terminal();
            let color = terminal && std::env::var_os("NO_COLOR").is_none();
            let human = Human::new(Sink::stdout(), args.verbose, color);
            // The live display needs a terminal; `-q`, `NO_COLOR` and a pipe get lines.
            if terminal && !args.quiet && std::env::var_os("NO_COLOR").is_none() {
                Box::new(Progress::new(human, color))
            } else {
                Box::new(human)
            }
        }
    };
    let log = match &args.log {
        Some(path) => {
            let argv: Vec<String> = std::env::args().collect();
            Some(Arc::new(
                RunLog::open(path, &args.playbook, &argv).map_err(|error| {
                    Failure::options(Diagnostic::new(format!(
                        "cannot open the log `{}`: {error}",
                        path.display()
                    )))
                })?,
            ))
        }
        None => None,
    };
    let mut reporters = vec![terminal];
    if let Some(log) = &log {
        reporters.push(Box::new(SharedLog(log.clone())));
    }
    let reporter = Planner::new(Tee(reporters));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| {
            Failure::options(Diagnostic::new(format!(
                "cannot start the runtime: {error}"
            )))
        })?;
    let interrupt = Arc::new(Interrupt::new());
    let summary = runtime.block_on(async {
        let signals = match Signals::new() {
            Ok(signals) => signals,
            Err(error) => {
                return Err(Failure::options(Diagnostic::new(format!(
                    "cannot watch for Ctrl-C and SIGTERM: {error}"
                ))));
            }
        };
        tokio::spawn(handle_signals(signals, interrupt.clone(), grace_period()));
        let runner = Runner::new(
            &loaded.inventory,
            &loaded.playbook,
            &loaded.options,
            &reporter,
            interrupt.clone(),
        );
        Ok(runner.run(&loaded.plays, &loaded.warnings).await)
    })?;
    // Connections close in the background; do not wait for stragglers.
    runtime.shutdown_timeout(Duration::from_millis(200));
    let code = summary.exit_code();
    if let Some(log) = &log {
        log.finish(code);
    }
    // A check run changed nothing, so it has nothing to retry, and the retry file of the
    // real run before it is still the one that matters.
    if !args.no_retry_file && !args.check {
        write_retry_file(&args.playbook, &summary);
    }
    Ok(code)
}

/// The log is shared between the reporter list and the end of the run.
struct SharedLog(Arc<RunLog>);

impl Reporter for SharedLog {
    fn emit(&self, event: &crate::report::Event) {
        self.0.emit(event);
    }
}

/// As Ansible: the hosts that failed or were unreachable, one a line, in
/// `PLAYBOOK.retry` beside the playbook, for `--limit @PLAYBOOK.retry`. A run with no failed
/// host removes a stale file.
fn write_retry_file(playbook: &std::path::Path, summary: &crate::runner::RunSummary) {
    let path = playbook.with_extension("retry");
    let failed: Vec<&String> = summary
        .hosts
        .iter()
        .filter(|(_, c)| c.failed > 0 || c.unreachable > 0)
        .map(|(h, _)| h)
        .collect();
    if failed.is_empty() {
        let _ = std::fs::remove_file(&path);
        return;
    }
    let text: String = failed.iter().map(|h| format!("{h}\n")).collect();
    if std::fs::write(&path, text).is_ok() {
        let _ = writeln!(
            std::io::stderr(),
            "to retry the failed hosts only, add: --limit @{}",
            path.display()
        );
    }
}

pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> Result<i32, Failure> {
    let mut command = <crate::cli::Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut command, "quayside", out);
    Ok(exit::OK)
}

/// The manual: quayside(1) with the list of subcommands, then a page per subcommand with
/// every option it takes (as `man` shows several pages read from one input, one after the
/// other); or, given a subcommand's name, only its page.
pub fn man(only: Option<&str>, out: &mut dyn Write) -> Result<i32, Failure> {
    let mut root =
        <crate::cli::Cli as clap::CommandFactory>::command().disable_help_subcommand(true);
    // Building names each subcommand as its page is titled (`quayside-run`).
    root.build();
    let subcommands: Vec<clap::Command> = root
        .get_subcommands()
        .filter(|command| !command.is_hide_set())
        .cloned()
        .collect();
    let pages: Vec<clap::Command> = match only {
        None => std::iter::once(root.clone()).chain(subcommands).collect(),
        Some(name) => {
            let page = subcommands
                .iter()
                .find(|command| command.get_name() == name)
                .cloned();
            match page {
                Some(page) => vec![page],
                None => {
                    let names: Vec<&str> = subcommands.iter().map(|c| c.get_name()).collect();
                    let mut message = format!("no subcommand is named `{name}`");
                    if let Some(suggestion) =
                        crate::diagnostic::did_you_mean(name, names.iter().copied())
                    {
                        message.push_str(&format!(" — did you mean `{suggestion}`?"));
                    }
                    return Err(Failure::options(
                        Diagnostic::new(message)
                            .with_hint(format!("the subcommands are: {}", names.join(", "))),
                    ));
                }
            }
        }
    };
    for page in pages {
        clap_mangen::Man::new(page).render(out).map_err(|error| {
            Failure::options(Diagnostic::new(format!("cannot write the manual: {error}")))
        })?;
    }
    Ok(exit::OK)
}

/// Ctrl-C (SIGINT), SIGTERM and SIGHUP, watched from the start of the run so that none is
/// missed.
///
/// SIGHUP (the terminal closed) counts as an interrupt too: the ssh masters, in process
/// groups of their own, do not get it, and quayside must close them rather than die and
/// leave them connected. Under `nohup` (SIGHUP ignored from the start) it stays ignored.
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    hangup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        let hangup = if hangup_ignored() {
            None
        } else {
            Some(signal(SignalKind::hangup())?)
        };
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup,
        })
    }

    async fn next(&mut self) {
        let hangup = async {
            match &mut self.hangup {
                Some(hangup) => {
                    hangup.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
            () = hangup => {}
        }
    }
}

/// Whether SIGHUP was ignored when quayside started (`nohup`), from `SigIgn` in
/// /proc/self/status: a mask in hex, SIGHUP its lowest bit.
fn hangup_ignored() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                let mask = line.strip_prefix("SigIgn:")?.trim();
                u64::from_str_radix(mask, 16).ok()
            })
        })
        .is_some_and(|mask| mask & 1 == 1)
}

/// The first signal stops the run and gives the tasks in flight `grace` to finish; the end
/// of the grace period, or a second signal, abandons them.
async fn handle_signals(mut signals: Signals, interrupt: Arc<Interrupt>, grace: Duration) {
    let say = |text: &str| {
        let _ = writeln!(std::io::stderr(), "{text}");
    };
    signals.next().await;
    interrupt.stop();
    say(&format!(
        "\n[quayside] interrupted: no new task starts; the tasks in flight have {} s to \
         finish (interrupt again to stop them now)",
        grace.as_secs_f64()
    ));
    let second = tokio::select! {
        () = signals.next() => true,
        () = tokio::time::sleep(grace) => false,
    };
    interrupt.abandon();
    let abandoned = std::time::Instant::now();
    say(&format!(
        "{} (a config bundle swap that started still finishes; to quit without waiting for \
         it, interrupt again {} s from now or later)",
        if second {
            "[quayside] interrupted again: stopping the tasks in flight now"
        } else {
            "[quayside] the grace period is over: stopping the tasks in flight"
        },
        QUIT_AFTER.as_secs()
    ));
    // A key held down sends many interrupts at once: only a deliberate one, some seconds
    // later, may leave a swap unfinished.
    loop {
        signals.next().await;
        if abandoned.elapsed() >= QUIT_AFTER {
            break;
        }
        say("[quayside] still stopping: a config bundle swap that started is finishing");
    }
    // The way out when a host no longer answers in the middle of a swap: say what may be
    // left, and take our ssh connections down with us.
    say(
        "[quayside] quitting without waiting: a config bundle swap in progress may be left \
         unfinished; run `quayside drift` to see where each host stands",
    );
    kill_children_and_exit();
}

/// How long after the tasks in flight were abandoned one more interrupt quits at once.
const QUIT_AFTER: Duration = Duration::from_secs(3);

/// Kill every process quayside started (its ssh masters, in process groups of their own,
/// would outlive it), remove the masters' control directories, and exit 99.
fn kill_children_and_exit() -> ! {
    crate::transport::stop_all_children();
    std::process::exit(exit::INTERRUPTED)
}

pub fn drift(args: &DriftArgs, settings: &Settings, out: &mut dyn Write) -> Result<i32, Failure> {
    let inventory = Inventory::load(&args.inventory.inventory).map_err(Failure::parse)?;
    let hosts = crate::inventory::select(&inventory, &args.limit)
        .map_err(|message| Failure::options(Diagnostic::new(message)))?;
    if hosts.is_empty() {
        let _ = writeln!(out, "[WARNING]: no hosts matched `{}`", args.limit);
        return Ok(exit::OK);
    }
    let connect = ConnectSettings {
        host_key_checking: settings.host_key_checking,
        connect_timeout: Duration::from_secs(args.timeout.max(1)),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| {
            Failure::options(Diagnostic::new(format!(
                "cannot start the runtime: {error}"
            )))
        })?;
    // drift only reads: Ctrl-C or SIGTERM stops it at once. Dropping the reads closes their
    // connections; the ssh masters, in a process group of their own, would otherwise
    // outlive quayside.
    let report = runtime.block_on(async {
        let mut signals = Signals::new().map_err(|error| {
            Failure::options(Diagnostic::new(format!(
                "cannot watch for Ctrl-C and SIGTERM: {error}"
            )))
        })?;
        tokio::select! {
            report = crate::drift::drift(
                &inventory,
                &hosts,
                &args.path,
                &connect,
                args.forks as usize,
                args.r#become,
            ) => Ok(Some(report)),
            () = signals.next() => Ok(None),
        }
    });
    runtime.shutdown_timeout(Duration::from_millis(200));
    let Some(report) = report? else {
        let _ = writeln!(std::io::stderr(), "[quayside] interrupted: drift stopped");
        return Ok(exit::INTERRUPTED);
    };
    let text = match args.output {
        DriftOutput::Human => crate::drift::render(&report),
        DriftOutput::Json => serde_json::to_string(&report).unwrap_or_default() + "\n",
    };
    let _ = out.write_all(text.as_bytes());
    Ok(report.exit_code())
}

pub fn keygen(args: &crate::cli::KeygenArgs, out: &mut dyn Write) -> Result<i32, Failure> {
    use crate::keypair::{self, KeyFiles, KeyPair};
    let fail = |message: String| Failure {
        diagnostic: Diagnostic::new(message),
        code: 1,
    };
    if args.name.is_empty() || args.name.contains('/') {
        return Err(Failure::options(Diagnostic::new(format!(
            "the key name must be a file name without `/`, found `{}`",
            args.name
        ))));
    }
    // As Quay's script, files are named relative to the directory as given.
    let dir = if args.dir == std::path::Path::new(".") {
        std::path::PathBuf::new()
    } else {
        args.dir.clone()
    };
    let files = KeyFiles::new(&dir, &args.name);
    if files.any_exist() && !args.force {
        return Err(fail(format!(
            "a key named `{}` already exists in `{}`; use `--force` to replace it",
            args.name,
            args.dir.display()
        )));
    }
    if !dir.as_os_str().is_empty() {
        std::fs::create_dir_all(&dir)
            .map_err(|error| fail(format!("cannot create `{}`: {error}", dir.display())))?;
    }
    let pair = KeyPair::generate().map_err(|error| fail(error.to_string()))?;
    let lines = keypair::announce(&files);
    keypair::write_files(&files, &pair).map_err(|error| fail(error.to_string()))?;
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
    Ok(exit::OK)
}

pub fn list_hosts(args: &ListHostsArgs, out: &mut dyn Write) -> Result<i32, Failure> {
    let inventory = Inventory::load(&args.inventory.inventory).map_err(Failure::parse)?;
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
        for section in [&play.pre_tasks, &play.tasks, &play.post_tasks] {
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
            TaskBody::Action { .. } => {
                if select_by_tags(&tags, &args.tags, &args.skip_tags) {
                    let own: Vec<&str> = tags.iter().map(String::as_str).collect();
                    let _ = writeln!(
                        text,
                        "      {}\tTAGS: [{}]",
                        task.display_name(),
                        own.join(", ")
                    );
                }
            }
        }
    }
}

/// Load the vault passwords before any file is read, in Ansible's order: the configured
/// vault ids and `--vault-id`s, then `--vault-password-file`s, then the default file of
/// the environment or config, then `--ask-vault-pass`.
pub fn load_vault_passwords(args: &VaultArgs, settings: &Settings) -> Result<(), Failure> {
    use crate::vault::PasswordSource;
    let mut sources: Vec<PasswordSource> = settings
        .vault_identity_list
        .iter()
        .chain(&args.vault_id)
        .map(|id| PasswordSource::from_vault_id(id))
        .collect();
    sources.extend(
        args.vault_password_file
            .iter()
            .map(|f| PasswordSource::file(f)),
    );
    if let Some(file) = &settings.vault_password_file {
        sources.push(PasswordSource::file(file));
    }
    if args.ask_vault_pass {
        sources.push(PasswordSource::from_vault_id("prompt"));
    }
    let passwords = sources
        .iter()
        .map(PasswordSource::load)
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::options)?;
    crate::vault::set_passwords(passwords);
    Ok(())
}
