//! `quayside run`: a playbook on its hosts, reported as the user asked, with a retry file
//! and a run log.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use super::Failure;
use super::signals::{Signals, handle_signals};
use crate::cli::{Output, RunArgs};
use crate::diagnostic::Diagnostic;
use crate::interrupt::{Interrupt, grace_period};
use crate::preflight;
use crate::report::{Human, JsonLines, Planner, Progress, Reporter, RunLog, Sink, Tee};
use crate::runner::{RunOptions, Runner};
use crate::settings::Settings;

pub fn run(args: &RunArgs, settings: &Settings) -> Result<i32, Failure> {
    let options = RunOptions {
        check: args.check,
        diff: args.diff,
        forks: settings.forks(args.forks),
        verbosity: args.verbose,
        connect: settings.connect(args.timeout),
        start_at_task: args.start_at_task.clone(),
        step: args.step,
        r#become: settings.r#become,
        become_user: settings.become_user.clone(),
        force_handlers: args.force_handlers || settings.force_handlers,
        strategy: settings.strategy,
        pipelining: !args.no_pipelining && settings.pipelining != Some(false),
        ..RunOptions::default()
    };
    let loaded = preflight::load(
        &args.playbook,
        (
            &settings.inventory_sources(&args.inventory.inventory),
            &settings.inventory_dirs,
        ),
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
    let runtime = super::runtime()?;
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
    let code = if args.ansible_exit_codes {
        summary.ansible_exit_code()
    } else {
        summary.exit_code()
    };
    if let Some(log) = &log {
        log.finish(code);
    }
    // A check run changed nothing, so it has nothing to retry, and the retry file of the
    // real run before it is still the one that matters.
    if !args.no_retry_file && !args.check && settings.retry_files_enabled != Some(false) {
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
