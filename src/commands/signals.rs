//! The signals a run watches (Ctrl-C, SIGTERM, SIGHUP) and what each one in turn does:
//! stop starting tasks, abandon the ones in flight, quit.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use super::exit;
use crate::interrupt::{Interrupt, Pending};

/// Ctrl-C (SIGINT), SIGTERM and SIGHUP, watched from the start of the run so that none is
/// missed.
///
/// SIGHUP (the terminal closed) counts as an interrupt too: the ssh masters, in process
/// groups of their own, do not get it, and quayside must close them rather than die and
/// leave them connected. Under `nohup` (SIGHUP ignored from the start) it stays ignored.
pub(super) struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    hangup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    pub(super) fn new() -> std::io::Result<Self> {
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

    pub(super) async fn next(&mut self) {
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
pub(super) async fn handle_signals(
    mut signals: Signals,
    interrupt: Arc<Interrupt>,
    grace: Duration,
) {
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
    // Only what is really under way is named: a swap that never started is not spoken of.
    let waiting = match interrupt.pending() {
        Pending::Swap => "a config bundle swap that started still finishes",
        Pending::Staging => "the staged copies of a config bundle are being removed",
        Pending::Nothing => "",
    };
    let headline = if second {
        "[quayside] interrupted again: stopping the tasks in flight now"
    } else {
        "[quayside] the grace period is over: stopping the tasks in flight"
    };
    if waiting.is_empty() {
        say(headline);
    } else {
        say(&format!(
            "{headline} ({waiting}; to quit without waiting for it, interrupt again {} s from \
             now or later)",
            QUIT_AFTER.as_secs()
        ));
    }
    // A key held down sends many interrupts at once: only a deliberate one, some seconds
    // later, may leave a swap unfinished.
    loop {
        signals.next().await;
        if abandoned.elapsed() >= QUIT_AFTER {
            break;
        }
        match interrupt.pending() {
            Pending::Swap => {
                say("[quayside] still stopping: a config bundle swap that started is finishing");
            }
            Pending::Staging => say(
                "[quayside] still stopping: the staged copies of a config bundle are being removed",
            ),
            Pending::Nothing => say("[quayside] still stopping"),
        }
    }
    // The way out when a host no longer answers in the middle of a swap: say what may be
    // left, and take our ssh connections down with us.
    say(match interrupt.pending() {
        Pending::Swap => {
            "[quayside] quitting without waiting: a config bundle swap in progress may be left \
             unfinished; run `quayside drift` to see where each host stands"
        }
        Pending::Staging => {
            "[quayside] quitting without waiting: staged copies of a config bundle may be left \
             on the hosts (no live bundle changed; the next run of the bundle removes them)"
        }
        Pending::Nothing => "[quayside] quitting without waiting",
    });
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
