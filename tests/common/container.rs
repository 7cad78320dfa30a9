//! Test hosts that are podman containers reached over SSH as root: the systemd host
//! (`scripts/systemd-host`, also the one the `reboot` tests reboot) and the RPM host
//! (`scripts/rpm-host`). Each script writes the same files into its folder (`port`,
//! `inventory.yml`, `id_ed25519`, `known_hosts`).

use std::path::PathBuf;
use std::process::Command;

use super::{Output, Test, repo_root};

pub struct ContainerHost {
    pub dir: PathBuf,
    pub inventory: String,
}

impl ContainerHost {
    /// `scripts/SCRIPT up ARGS --dir DIR`, DIR being `$DIR_VARIABLE` (set by `scripts/test`)
    /// or `target/DEFAULT_DIR`: the host is started, or kept when it is up already.
    pub fn up(script: &str, args: &[&str], dir_variable: &str, default_dir: &str) -> Self {
        let dir = std::env::var_os(dir_variable)
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join("target").join(default_dir));
        let status = Command::new(repo_root().join("scripts").join(script))
            .arg("up")
            .args(args)
            .arg("--dir")
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap_or_else(|error| panic!("run scripts/{script}: {error}"));
        assert!(status.success(), "scripts/{script} up failed");
        let inventory = dir.join("inventory.yml").display().to_string();
        ContainerHost { dir, inventory }
    }

    /// A shell command on the host as root: its stdout, trimmed (empty when the host cannot
    /// be reached).
    pub fn on(&self, command: &str) -> String {
        let port = std::fs::read_to_string(self.dir.join("port")).unwrap();
        let output = Command::new("ssh")
            .args(["-q", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-i"])
            .arg(self.dir.join("id_ed25519"))
            .arg("-o")
            .arg(format!(
                "UserKnownHostsFile={}",
                self.dir.join("known_hosts").display()
            ))
            .args(["-p", port.trim(), "root@127.0.0.1", command])
            .output()
            .expect("ssh to the container host");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// `quayside run play.yml` against this host.
    pub fn run(&self, play: &str) -> Output {
        Test::new()
            .file("play.yml", play)
            .args(&["run", "play.yml", "-i", &self.inventory])
            .run()
    }
}
