//! `quayside drift`: the subcommand around [`crate::drift`], stopped at once by a signal.

use std::io::Write;
use std::time::Duration;

use super::signals::Signals;
use super::{Failure, exit};
use crate::cli::{DriftArgs, DriftOutput};
use crate::diagnostic::Diagnostic;
use crate::inventory::Inventory;
use crate::settings::Settings;

pub fn drift(args: &DriftArgs, settings: &Settings, out: &mut dyn Write) -> Result<i32, Failure> {
    let inventory = Inventory::load_with(
        &settings.inventory_sources(&args.inventory.inventory),
        &settings.inventory_dirs,
    )
    .map_err(Failure::parse)?;
    for warning in &inventory.warnings {
        let _ = writeln!(out, "[WARNING]: {warning}");
    }
    let hosts = crate::inventory::select(&inventory, &args.limit)
        .map_err(|message| Failure::options(Diagnostic::new(message)))?;
    if hosts.is_empty() {
        let _ = writeln!(out, "[WARNING]: no hosts matched `{}`", args.limit);
        return Ok(exit::OK);
    }
    let connect = settings.connect(args.timeout);
    let runtime = super::runtime()?;
    // drift only reads: Ctrl-C or SIGTERM stops it at once. Dropping the reads closes their
    // connections; the ssh masters, in a process group of their own, would otherwise
    // outlive quayside.
    let report: Result<Option<_>, Failure> = runtime.block_on(async {
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
                settings.forks(args.forks),
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
