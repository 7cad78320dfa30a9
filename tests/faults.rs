//! Faults on a fleet of its own (sshd killed in the middle of a task, a full disk): the
//! other hosts finish, and no host is left with half a file.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Output, Test, repo_root};

const HOSTS: usize = 4;

struct Fleet {
    dir: PathBuf,
}

impl Fleet {
    /// A fleet on a port of its own: killing one of its hosts disturbs no other test.
    fn up(name: &str, port: u16) -> Fleet {
        let dir = repo_root().join("target").join(name);
        let status = Command::new(repo_root().join("scripts/fleet"))
            .args([
                "up",
                &HOSTS.to_string(),
                "--port",
                &port.to_string(),
                "--dir",
            ])
            .arg(&dir)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        Fleet { dir }
    }

    fn root(&self, i: usize) -> PathBuf {
        self.dir.join(format!("hosts/host{i}/root"))
    }

    fn run(&self, test: &Test) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_quayside"));
        command
            .args(["run", "play.yml", "-i"])
            .arg(self.dir.join("inventory.yml"))
            .current_dir(test.path())
            .env("NO_COLOR", "1");
        command
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let _ = Command::new(repo_root().join("scripts/fleet"))
            .args(["down", "--dir"])
            .arg(&self.dir)
            .output();
    }
}

/// Every process below `pid`, deepest first.
fn descendants(pid: u32) -> Vec<u32> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        let rest = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
        if rest.split_whitespace().nth(1) == Some(&pid.to_string()) {
            children.extend(descendants(child));
            children.push(child);
        }
    }
    children
}

/// Kill host `i`'s sshd and the sshd of every session it serves, as a lost network drops
/// them: the commands those sessions run live on and see their input end.
fn kill_sshd(fleet: &Fleet, i: usize) {
    let pid: u32 = std::fs::read_to_string(fleet.dir.join(format!("hosts/host{i}/sshd.pid")))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    for victim in descendants(pid).into_iter().chain([pid]) {
        let comm = std::fs::read_to_string(format!("/proc/{victim}/comm")).unwrap_or_default();
        if comm.trim() == "sshd" || comm.trim().starts_with("sshd-") {
            let _ = Command::new("kill")
                .args(["-KILL", &victim.to_string()])
                .status();
        }
    }
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with(".quayside"))
                .collect()
        })
        .unwrap_or_default()
}

fn chown(path: &Path) {
    let status = Command::new("chown")
        .args(["-R", "quayside:quayside"])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// 24 MiB that compress badly, so that sending them takes a while.
fn big_file() -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..24 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

#[test]
fn a_host_lost_in_the_middle_of_a_copy_keeps_its_old_file_and_the_others_finish() {
    let fleet = Fleet::up("faults-fleet", 2203);
    let test = Test::new().file(
        "play.yml",
        "
        - hosts: fleet
          gather_facts: false
          tasks:
            - name: Copy the big file
              copy_files:
                src: big.bin
                dest: '{{ host_root }}/faults/'
        ",
    );
    std::fs::write(test.path().join("big.bin"), big_file()).unwrap();
    for i in 1..=HOSTS {
        let dir = fleet.root(i).join("faults");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("big.bin"), "old\n").unwrap();
        chown(&dir);
    }
    let child = fleet.run(&test).stdout(Stdio::piped()).spawn().unwrap();
    // Once host2 has started writing its temporary file, its sshd goes away.
    let dir2 = fleet.root(2).join("faults");
    let deadline = Instant::now() + Duration::from_secs(30);
    while temp_files(&dir2).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(!temp_files(&dir2).is_empty(), "host2 never started writing");
    kill_sshd(&fleet, 2);
    let output = Output::from(child.wait_with_output().unwrap());
    assert_eq!(output.code, 3, "{}", output.stdout);
    assert!(
        output.recap("host2").contains("unreachable=1"),
        "{}",
        output.stdout
    );
    let big = std::fs::read(test.path().join("big.bin")).unwrap();
    for i in [1, 3, 4] {
        assert!(
            output.recap(&format!("host{i}")).contains("changed=1"),
            "{}",
            output.stdout
        );
        assert!(
            std::fs::read(fleet.root(i).join("faults/big.bin")).unwrap() == big,
            "host{i}"
        );
    }
    // host2 holds its old file or the new one, whole: never part of what it received.
    let kept = std::fs::read(dir2.join("big.bin")).unwrap();
    assert!(
        kept == b"old\n" || kept == big,
        "host2 holds {} bytes of something else",
        kept.len()
    );
}

#[test]
fn a_full_disk_fails_the_write_and_keeps_the_old_file() {
    let fleet = Fleet::up("faults-fleet-disk", 2204);
    let dir = fleet.root(1).join("full");
    let _ = Command::new("umount").arg(&dir).status();
    std::fs::create_dir_all(&dir).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(mounted.success(), "mount a small tmpfs");
    std::fs::write(dir.join("config.yaml"), "old: true\n").unwrap();
    chown(&dir);
    let test = Test::new().file(
        "play.yml",
        "
        - hosts: host1
          gather_facts: false
          tasks:
            - name: Write a file larger than the disk
              copy_files:
                content: \"{{ 'x' * 200000 }}\"
                dest: '{{ host_root }}/full/config.yaml'
        ",
    );
    let output = Output::from(fleet.run(&test).output().unwrap());
    let old = std::fs::read_to_string(dir.join("config.yaml"));
    let leftovers = temp_files(&dir);
    let _ = Command::new("umount").arg(&dir).status();
    assert_eq!(output.code, 2, "{}", output.stdout);
    assert!(
        output.stdout.contains("fatal: [host1]"),
        "{}",
        output.stdout
    );
    assert_eq!(old.unwrap(), "old: true\n");
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
