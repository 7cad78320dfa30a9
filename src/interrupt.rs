//! Ctrl-C and SIGTERM during a run.
//!
//! The first signal *stops* the run: no task starts after it, and the tasks in flight get a
//! grace period ([`grace_period`], 10 s unless `QUAYSIDE_INTERRUPT_GRACE` says otherwise)
//! to finish. When the grace period is over, or at a second signal, the run *abandons*
//! them: each host still busy is reported as interrupted, its connection is closed and the
//! run ends (exit 99). Work that must not be left half-done is not abandoned: a config
//! bundle being staged is removed from every host, and a bundle swap that has started is
//! finished or rolled back.
//!
//! The ssh master connections run in a process group of their own, so a Ctrl-C typed at
//! the terminal (which signals the whole foreground process group) reaches quayside only,
//! and quayside decides what happens to each connection.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::watch;

/// The grace period by default.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// The environment variable that sets the grace period, in seconds (`2`, `0.5`).
pub const GRACE_VARIABLE: &str = "QUAYSIDE_INTERRUPT_GRACE";

/// How long tasks in flight may take to finish after the first signal.
pub fn grace_period() -> Duration {
    std::env::var(GRACE_VARIABLE)
        .ok()
        .and_then(|text| parse_grace(&text))
        .unwrap_or(DEFAULT_GRACE)
}

fn parse_grace(text: &str) -> Option<Duration> {
    let seconds: f64 = text.trim().parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

/// Where a run stands with respect to interruption; shared by the signal handler, the
/// runner and the tasks that must clean up after themselves.
#[derive(Debug)]
pub struct Interrupt {
    stopping: AtomicBool,
    abandoned: watch::Sender<bool>,
    /// Config bundles being staged (their staged copies are removed when abandoned).
    staging: AtomicUsize,
    /// Config bundle swaps in progress (finished or rolled back, even when abandoned).
    swapping: AtomicUsize,
}

/// What an abandoned run still waits for, so that the messages at a second and third
/// interrupt say what is really going on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pending {
    /// Nothing that must be finished.
    Nothing,
    /// Staged copies of a config bundle are being removed (no live bundle changed).
    Staging,
    /// A config bundle swap has started: it is finished or rolled back.
    Swap,
}

/// Marks a config bundle phase as in progress while it lives.
#[derive(Debug)]
pub struct InProgress<'a>(&'a AtomicUsize);

impl Drop for InProgress<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Default for Interrupt {
    fn default() -> Self {
        Self::new()
    }
}

impl Interrupt {
    pub fn new() -> Self {
        Self {
            stopping: AtomicBool::new(false),
            abandoned: watch::Sender::new(false),
            staging: AtomicUsize::new(0),
            swapping: AtomicUsize::new(0),
        }
    }

    /// A config bundle is being staged (or its staged copies removed) until the guard drops.
    pub fn staging(&self) -> InProgress<'_> {
        self.staging.fetch_add(1, Ordering::SeqCst);
        InProgress(&self.staging)
    }

    /// A config bundle swap is in progress until the guard drops.
    pub fn swapping(&self) -> InProgress<'_> {
        self.swapping.fetch_add(1, Ordering::SeqCst);
        InProgress(&self.swapping)
    }

    /// What the run still finishes once abandoned.
    pub fn pending(&self) -> Pending {
        if self.swapping.load(Ordering::SeqCst) > 0 {
            Pending::Swap
        } else if self.staging.load(Ordering::SeqCst) > 0 {
            Pending::Staging
        } else {
            Pending::Nothing
        }
    }

    /// No task starts from now on; the tasks in flight may finish.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// The tasks in flight are given up on now.
    pub fn abandon(&self) {
        self.stop();
        self.abandoned.send_replace(true);
    }

    /// Whether the run was interrupted (stopped, and perhaps abandoned).
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    pub fn is_abandoned(&self) -> bool {
        *self.abandoned.borrow()
    }

    /// Resolves once the tasks in flight are to be abandoned; never before.
    pub async fn abandoned(&self) {
        let mut receiver = self.abandoned.subscribe();
        // The sender lives as long as `self`, so this cannot fail while we wait.
        let _ = receiver.wait_for(|abandoned| *abandoned).await;
    }

    /// Run `work` unless the run is abandoned first; `None` when it was.
    pub async fn unless_abandoned<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        tokio::select! {
            biased;
            () = self.abandoned() => None,
            value = work => Some(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grace_period_is_seconds() {
        assert_eq!(parse_grace("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_grace(" 0.5 "), Some(Duration::from_millis(500)));
        assert_eq!(parse_grace("0"), Some(Duration::ZERO));
        assert_eq!(parse_grace("-1"), None);
        assert_eq!(parse_grace("soon"), None);
        assert_eq!(parse_grace("inf"), None);
    }

    #[test]
    fn what_an_abandoned_run_waits_for_is_what_is_under_way() {
        let interrupt = Interrupt::new();
        assert_eq!(interrupt.pending(), Pending::Nothing);
        let staging = interrupt.staging();
        assert_eq!(interrupt.pending(), Pending::Staging);
        let swapping = interrupt.swapping();
        assert_eq!(interrupt.pending(), Pending::Swap);
        drop(staging);
        assert_eq!(interrupt.pending(), Pending::Swap);
        drop(swapping);
        assert_eq!(interrupt.pending(), Pending::Nothing);
    }

    #[tokio::test]
    async fn abandoning_ends_the_work_in_flight() {
        let interrupt = Interrupt::new();
        assert_eq!(interrupt.unless_abandoned(async { 1 }).await, Some(1));
        interrupt.stop();
        assert!(interrupt.is_stopping() && !interrupt.is_abandoned());
        let slow = interrupt.unless_abandoned(tokio::time::sleep(Duration::from_secs(60)));
        let abandon = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            interrupt.abandon();
        };
        let (result, ()) = tokio::join!(slow, abandon);
        assert_eq!(result, None);
        assert!(interrupt.is_abandoned());
    }
}
