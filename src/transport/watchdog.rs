//! The ssh masters die with quayside, however it dies.
//!
//! A master runs in a process group of its own (so that a Ctrl-C at the terminal reaches
//! quayside only), and quayside closes it at the end of a run or kills it on the way out of
//! an interrupt. A quayside that is killed outright (SIGKILL from the OOM killer or
//! `timeout -s KILL`) can do neither: its masters would stay connected, and their control
//! directories stay in /tmp, for good.
//!
//! So the first ssh connection of a process starts a watchdog: quayside itself again
//! (`/proc/self/exe`, which works even if the binary was replaced since), in a process group
//! of its own, whose standard input is a pipe only quayside holds open. The watchdog reads it
//! and never gets anything; when quayside ends, by any means, the kernel closes the pipe and
//! the watchdog reads end-of-file. It then kills every process whose command line names one
//! of quayside's control directories (`quayside-ssh-PID-N`, the masters), removes those
//! directories, and exits. After an ordinary run it finds nothing to do.
//!
//! Should the watchdog be killed with quayside, the next run that connects anywhere removes
//! the control directories of quayside processes that are gone.
//!
//! `PR_SET_PDEATHSIG` would kill the masters but not remove their directories, and it fires
//! when the *thread* that started the master ends, not the process; the pipe has neither
//! problem and needs no `unsafe`.

use std::io::Read;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::OnceLock;

/// The first argument that makes `quayside` a watchdog: not a subcommand a user would type,
/// and not in `--help`.
pub const ARGUMENT: &str = "__quayside-ssh-watchdog";

/// The write end of the watchdog's pipe, held (and never written) for as long as quayside
/// lives; `None` when the watchdog could not be started.
static PIPE: OnceLock<Option<ChildStdin>> = OnceLock::new();

/// Start this process's watchdog, once (and clear what runs killed before theirs could
/// left); later calls do nothing.
pub fn ensure_started() {
    PIPE.get_or_init(|| {
        super::ssh::remove_dead_control_dirs();
        start().ok()
    });
}

fn start() -> std::io::Result<ChildStdin> {
    use std::os::unix::process::CommandExt;
    let mut child = Command::new("/proc/self/exe")
        .arg0("quayside")
        .arg(ARGUMENT)
        .arg(std::process::id().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Not in quayside's process group: a Ctrl-C at the terminal must not end it.
        .process_group(0)
        .spawn()?;
    child
        .stdin
        .take()
        .ok_or_else(|| std::io::Error::other("no pipe to the watchdog"))
}

/// The watchdog's life (`quayside __quayside-ssh-watchdog PID`): wait until the process
/// `PID` is gone, then clear what it left. Returns the exit code.
pub fn watch(pid: Option<&str>) -> i32 {
    let Some(pid) = pid.and_then(|pid| pid.parse::<u32>().ok()) else {
        return crate::commands::exit::OPTIONS;
    };
    let mut stdin = std::io::stdin();
    let mut buffer = [0u8; 64];
    loop {
        match stdin.read(&mut buffer) {
            Ok(0) => break,
            Ok(_) => continue,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    clear_after(pid);
    crate::commands::exit::OK
}

/// Kill the ssh processes of `pid`'s connections and remove their control directories.
fn clear_after(pid: u32) {
    let mark = super::ssh::control_prefix_of(pid);
    let masters = processes_naming(&mark);
    if !masters.is_empty() {
        let _ = Command::new("kill")
            .arg("-KILL")
            .arg("--")
            .args(masters.iter().map(u32::to_string))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    super::ssh::remove_control_dirs_of(pid);
}

/// The processes whose command line contains `mark`, from /proc.
fn processes_naming(mark: &str) -> Vec<u32> {
    let own = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let found = cmdline
                .windows(mark.len())
                .any(|window| window == mark.as_bytes());
            (found && pid != own).then_some(pid)
        })
        .collect()
}
