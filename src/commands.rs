//! What each subcommand does, given the parsed command line.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::cli::{
    DriftArgs, ListHostsArgs, ListTasksArgs, Output, RunArgs, SelectArgs, ValidateArgs,
};
use crate::diagnostic::Diagnostic;
use crate::inventory::{Inventory, Vars};
use crate::playbook::{Playbook, Task, TaskBody, parse_playbook};
use crate::report::{Human, JsonLines, Planner, Progress, Reporter, RunLog, Sink, Tee};
use crate::runner::{ConnectSettings, PreparedPlay, RunOptions, Runner, prepare, select_by_tags};
use crate::settings::Settings;

/// Exit codes, as `ansible-playbook` uses them.
pub mod exit {
    pub const OK: i32 = 0;
    pub const PARSE: i32 = 4;
    pub const OPTIONS: i32 = 5;
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
    let interrupted = Arc::new(AtomicBool::new(false));
    let summary = runtime.block_on(async {
        let flag = interrupted.clone();
        tokio::spawn(async move {
            // The first Ctrl-C (or SIGTERM) lets tasks in flight finish and stops before the
            // next task; a second one stops at once.
            wait_for_signal().await;
            flag.store(true, Ordering::SeqCst);
            wait_for_signal().await;
            std::process::exit(99);
        });
        let runner = Runner::new(
            &loaded.inventory,
            &loaded.playbook,
            &loaded.options,
            &reporter,
            interrupted.clone(),
        );
        runner.run(&loaded.plays, &loaded.warnings).await
    });
    // Connections close in the background; do not wait for stragglers.
    runtime.shutdown_timeout(Duration::from_millis(200));
    let code = summary.exit_code();
    if let Some(log) = &log {
        log.finish(code);
    }
    if !args.no_retry_file {
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

pub fn man(out: &mut dyn Write) -> Result<i32, Failure> {
    let command = <crate::cli::Cli as clap::CommandFactory>::command();
    clap_mangen::Man::new(command)
        .render(out)
        .map_err(|error| {
            Failure::options(Diagnostic::new(format!("cannot write the manual: {error}")))
        })?;
    Ok(exit::OK)
}

async fn wait_for_signal() {
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
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
    let report = runtime.block_on(crate::drift::drift(
        &inventory,
        &hosts,
        &args.path,
        &connect,
        args.forks as usize,
    ));
    runtime.shutdown_timeout(Duration::from_millis(200));
    let text = match args.output {
        Output::Human => crate::drift::render(&report),
        Output::Json => serde_json::to_string(&report).unwrap_or_default() + "\n",
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
