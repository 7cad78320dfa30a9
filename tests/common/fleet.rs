//! The local fleet of sshd hosts the SSH tests run against.
//!
//! `scripts/test` brings it up once and names it in `QUAYSIDE_TEST_FLEET_DIR`; a test run
//! started some other way brings up its own the first time a test asks for it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::repo_root;

pub struct Fleet {
    pub dir: PathBuf,
    pub inventory: PathBuf,
    /// The port its hosts listen on (`DIR/port`; `scripts/fleet --port auto` chose it).
    pub port: u16,
}

/// How many hosts the test fleet has.
pub const HOSTS: usize = 6;

pub fn fleet() -> &'static Fleet {
    static FLEET: OnceLock<Fleet> = OnceLock::new();
    FLEET.get_or_init(|| {
        let dir = std::env::var_os("QUAYSIDE_TEST_FLEET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join("target/test-fleet"));
        let inventory = dir.join("inventory.yml");
        if std::env::var_os("QUAYSIDE_TEST_FLEET_DIR").is_none() || !inventory.exists() {
            let status = Command::new(repo_root().join("scripts/fleet"))
                .args(["up", &HOSTS.to_string(), "--port", "auto", "--dir"])
                .arg(&dir)
                .stdout(std::process::Stdio::null())
                .status()
                .expect("run scripts/fleet");
            assert!(status.success(), "scripts/fleet up failed");
        }
        let port = port_of(&dir);
        Fleet {
            dir,
            inventory,
            port,
        }
    })
}

impl Fleet {
    /// The directory that stands for host `i`'s disk (1-based).
    pub fn root(&self, i: usize) -> PathBuf {
        self.dir.join(format!("hosts/host{i}/root"))
    }

    /// A fresh directory for one test on every host's disk, owned by the SSH user.
    pub fn scratch(&self, test: &str) -> String {
        for i in 1..=HOSTS {
            let path = self.root(i).join(test);
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            chown_quayside(&path);
        }
        test.to_owned()
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.dir.join("known_hosts")
    }

    pub fn key(&self) -> PathBuf {
        self.dir.join("id_ed25519")
    }
}

/// The port of the fleet in `dir`, as `scripts/fleet up` wrote it.
fn port_of(dir: &Path) -> u16 {
    let port = std::fs::read_to_string(dir.join("port"))
        .unwrap_or_else(|e| panic!("{}/port: {e}", dir.display()));
    port.trim().parse().unwrap()
}

fn chown_quayside(path: &Path) {
    let status = Command::new("chown")
        .args(["quayside:quayside"])
        .arg(path)
        .status()
        .expect("chown");
    assert!(status.success());
}

/// Run `play.yml` of `test` on the fleet's hosts that `limit` selects.
pub fn run_play(test: &super::Test, limit: &str, extra: &[&str]) -> super::Output {
    let inventory = fleet().inventory.display().to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_quayside"))
        .args(["run", "play.yml", "-i", &inventory, "--limit", limit])
        .args(extra)
        .current_dir(test.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("run quayside");
    super::Output::from(output)
}

/// A fleet on a port of its own, for tests that kill or slow its hosts: what they do to it
/// disturbs no other test. Taken down when dropped.
pub struct OwnFleet {
    pub dir: PathBuf,
    /// The port its hosts listen on, a free one `scripts/fleet --port auto` chose.
    pub port: u16,
}

impl OwnFleet {
    /// `hosts` hosts in `target/NAME`.
    pub fn up(name: &str, hosts: usize) -> OwnFleet {
        let dir = repo_root().join("target").join(name);
        let status = Command::new(repo_root().join("scripts/fleet"))
            .args(["up", &hosts.to_string(), "--port", "auto", "--dir"])
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "scripts/fleet up failed");
        let port = port_of(&dir);
        OwnFleet { dir, port }
    }

    /// The directory that stands for host `i`'s disk (1-based).
    pub fn root(&self, i: usize) -> PathBuf {
        self.dir.join(format!("hosts/host{i}/root"))
    }

    /// `quayside run play.yml` in `test`'s directory against this fleet.
    pub fn run(&self, test: &super::Test) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_quayside"));
        command
            .args(["run", "play.yml", "-i"])
            .arg(self.dir.join("inventory.yml"))
            .current_dir(test.path())
            .env("NO_COLOR", "1");
        command
    }

    /// Kill host `i`'s sshd and the sshd of every session it serves, as a lost network
    /// drops them: the commands those sessions run live on and see their input end.
    pub fn kill_sshd(&self, i: usize) {
        let pid: u32 = std::fs::read_to_string(self.dir.join(format!("hosts/host{i}/sshd.pid")))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // One look at /proc and one `kill` for the whole tree: on a busy machine, a scan
        // and a process per victim gave the host time to finish what it was doing.
        let victims: Vec<String> = descendants(pid)
            .into_iter()
            .chain([pid])
            .filter(|victim| {
                let comm =
                    std::fs::read_to_string(format!("/proc/{victim}/comm")).unwrap_or_default();
                comm.trim() == "sshd" || comm.trim().starts_with("sshd-")
            })
            .map(|victim| victim.to_string())
            .collect();
        // A session's sshd may be gone already.
        let _ = Command::new("kill")
            .arg("-KILL")
            .args(&victims)
            .stderr(std::process::Stdio::null())
            .status();
    }
}

impl Drop for OwnFleet {
    fn drop(&mut self) {
        let _ = Command::new(repo_root().join("scripts/fleet"))
            .args(["down", "--dir"])
            .arg(&self.dir)
            .output();
    }
}

/// Every process below `pid`, deepest first.
fn descendants(pid: u32) -> Vec<u32> {
    // Every process's parent, read once.
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        let rest = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
        if let Some(parent) = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
            parents.push((child, parent));
        }
    }
    let mut found: Vec<u32> = Vec::new();
    let mut level = vec![pid];
    while !level.is_empty() {
        let next: Vec<u32> = parents
            .iter()
            .filter(|(_, parent)| level.contains(parent))
            .map(|(child, _)| *child)
            .filter(|child| !found.contains(child))
            .collect();
        found.extend(&next);
        level = next;
    }
    found
}
