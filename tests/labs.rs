//! Labs and fleets side by side on one machine (`scripts/quay-lab`, `scripts/fleet`,
//! `scripts/ports`): each has ports and container names of its own, a taken port stops
//! `up` before anything starts, and `down` takes down only what its `up` started.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::fleet::OwnFleet;
use crate::common::{Output, Test, repo_root};
use crate::quay::Lab;

fn script(name: &str, args: &[&str]) -> Output {
    Output::from(
        Command::new(repo_root().join("scripts").join(name))
            .args(args)
            .output()
            .unwrap(),
    )
}

fn lab_down(dir: &Path) {
    script("quay-lab", &["down", "--dir", &dir.display().to_string()]).success();
}

/// `quayside run playbooks/PLAYBOOK` against a lab, which must succeed.
fn run_on(lab: &Lab, playbook: &str) -> Output {
    Output::from(
        Command::new(env!("CARGO_BIN_EXE_quayside"))
            .args(["run", &format!("playbooks/{playbook}"), "-i"])
            .arg(lab.dir.join("inventory"))
            .current_dir(repo_root())
            .env("NO_COLOR", "1")
            .output()
            .unwrap(),
    )
    .success()
}

/// The registry state a lab's Quay reports on `port`.
fn registry_state(port: u16) -> String {
    crate::quay::info(port)["registry_state"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Whether something accepts connections on `address:port`.
fn listening(address: &str, port: u16) -> bool {
    TcpStream::connect((address, port)).is_ok()
}

/// The names of the running containers, as podman on this machine lists them.
fn running_containers(lab: &Lab) -> Vec<String> {
    let output = Command::new("podman")
        .args(["ps", "--format", "{{.Names}}"])
        .env("CONTAINERS_CONF", lab.dir.join("podman/containers.conf"))
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Every sshd process whose command line names `dir`.
fn sshds_under(dir: &Path) -> Vec<u32> {
    let needle = dir.display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| entry.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            cmdline.contains("sshd") && cmdline.contains(&needle)
        })
        .collect()
}

/// The reservations `scripts/ports` holds for `owner`.
fn reservations(owner: &Path) -> Vec<String> {
    let mut ports: Vec<String> = std::fs::read_dir("/run/lock/quayside-ports")
        .map(|entries| {
            entries
                .flatten()
                .filter(|entry| {
                    std::fs::read_to_string(entry.path())
                        .unwrap_or_default()
                        .trim()
                        == owner.display().to_string()
                })
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    ports.sort();
    ports
}

/// A fresh directory under target/ for a lab or fleet of this test.
fn fresh(name: &str) -> PathBuf {
    let dir = repo_root().join("target").join(name);
    lab_down(&dir);
    dir
}

/// This test process's name as `ss` shows it (the kernel's `comm`).
fn own_name() -> String {
    std::fs::read_to_string("/proc/self/comm")
        .unwrap()
        .trim()
        .to_owned()
}

/// Takes its labs down when dropped: a failing test leaves no lab running on the machine.
struct DownOnDrop(Vec<PathBuf>);

impl Drop for DownOnDrop {
    fn drop(&mut self) {
        for dir in &self.0 {
            script("quay-lab", &["down", "--dir", &dir.display().to_string()]);
        }
    }
}

#[test]
fn two_labs_and_a_fleet_side_by_side_each_run_their_own_playbook() {
    let (a_dir, b_dir) = (fresh("labs-a"), fresh("labs-b"));
    let _down = DownOnDrop(vec![a_dir.clone(), b_dir.clone()]);
    // Brought up at once: each takes ports no other lab has.
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| Lab::up(&a_dir, &[]));
        let b = scope.spawn(|| Lab::up(&b_dir, &[]));
        (a.join().unwrap(), b.join().unwrap())
    });
    let fleet = OwnFleet::up("labs-fleet", 2);
    let mut ports: Vec<u16> = ["fleet", "postgres", "host1", "host2", "host3", "host4"]
        .iter()
        .flat_map(|role| [a.port(role), b.port(role)])
        .chain([fleet.port])
        .collect();
    ports.sort();
    ports.dedup();
    assert_eq!(ports.len(), 13, "{ports:?}");
    assert!((1..=4).all(|i| a.container(i) != b.container(i)));

    run_on(&a, "quay-deploy.yml");
    run_on(&b, "quay-deploy.yml");
    run_on(&a, "quay-readonly-enable.yml");
    let test = Test::new().file(
        "play.yml",
        "
        - hosts: fleet
          gather_facts: false
          tasks:
            - shell: echo side by side > {{ host_root }}/side-by-side
        ",
    );
    Output::from(fleet.run(&test).output().unwrap()).success();
    for i in 1..=2 {
        assert_eq!(
            std::fs::read_to_string(fleet.root(i).join("side-by-side")).unwrap(),
            "side by side\n"
        );
    }
    // Each playbook went to its own lab: a's Quays are read-only, b's are not.
    for i in 1..=4 {
        let role = format!("host{i}");
        assert_eq!(registry_state(a.port(&role)), "readonly", "a {role}");
        assert_eq!(registry_state(b.port(&role)), "normal", "b {role}");
    }

    // Down takes b down, and nothing of a's, nor the fleet.
    lab_down(&b_dir);
    assert!(!b_dir.exists());
    let running = running_containers(&a);
    for i in 1..=4 {
        assert!(running.iter().any(|n| n == a.container(i)), "{running:?}");
        assert!(!running.iter().any(|n| n == b.container(i)), "{running:?}");
        let role = format!("host{i}");
        assert_eq!(registry_state(a.port(&role)), "readonly", "a {role}");
        assert!(!listening("127.0.0.1", b.port(&role)), "b {role}");
    }
    assert!(listening("127.0.0.1", a.port("postgres")));
    assert!(!listening("127.0.0.1", b.port("postgres")));
    assert!(listening("127.0.0.2", a.port("fleet")));
    assert!(!listening("127.0.0.2", b.port("fleet")));
    assert!(listening("127.0.0.2", fleet.port));
    assert!(sshds_under(&b_dir).is_empty());
    assert!(reservations(&b_dir).is_empty());
    assert_eq!(reservations(&a_dir).len(), 6);

    // Up again on a running lab keeps it as it is, on the same ports.
    let again = Lab::up(&a_dir, &[]);
    assert_eq!(again.port("fleet"), a.port("fleet"));
    assert_eq!(registry_state(a.port("host1")), "readonly");

    lab_down(&a_dir);
    assert!(sshds_under(&a_dir).is_empty());
    assert!(reservations(&a_dir).is_empty());
    assert!(!listening("127.0.0.1", a.port("host1")));
}

#[test]
fn a_taken_lab_port_stops_up_before_anything_starts() {
    let dir = fresh("labs-taken");
    // The lab's second port (its PostgreSQL's) is this test's.
    let holder = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = holder.local_addr().unwrap().port();
    let first = (taken - 1).to_string();
    let output = script(
        "quay-lab",
        &[
            "up",
            "--dir",
            &dir.display().to_string(),
            "--first-port",
            &first,
        ],
    )
    .status(1);
    assert_eq!(
        output.stderr,
        format!(
            "quay-lab: port {taken} (postgres) is taken by {} (pid {}, on 127.0.0.1:{taken}); nothing started\n",
            own_name(),
            std::process::id()
        )
    );
    assert!(!dir.exists());
    assert!(sshds_under(&dir).is_empty());
    assert!(reservations(&dir).is_empty());
    assert!(!listening("127.0.0.2", taken - 1));
    drop(holder);
}

#[test]
fn a_taken_fleet_port_stops_up_before_anything_starts() {
    let dir = fresh("labs-taken-fleet");
    // host2's address and port are this test's.
    let holder = TcpListener::bind("127.0.0.3:0").unwrap();
    let taken = holder.local_addr().unwrap().port();
    let output = script(
        "fleet",
        &[
            "up",
            "2",
            "--dir",
            &dir.display().to_string(),
            "--port",
            &taken.to_string(),
        ],
    )
    .status(1);
    assert_eq!(
        output.stderr,
        format!(
            "fleet: port {taken} on 127.0.0.3 (host2) is taken by {} (pid {}, on 127.0.0.3:{taken}); nothing started\n",
            own_name(),
            std::process::id()
        )
    );
    assert!(!dir.exists());
    assert!(sshds_under(&dir).is_empty());
    assert!(!listening("127.0.0.2", taken));
    drop(holder);
}

#[test]
fn bad_lab_and_fleet_arguments_are_refused_before_anything_starts() {
    let dir = fresh("labs-bad");
    let path = dir.display().to_string();
    let output = script("quay-lab", &["up", "--dir", &path, "--first-port", "80"]);
    assert_eq!(
        (output.code, output.stderr.as_str()),
        (1, "quay-lab: --first-port must be 1024..65530, got '80'\n")
    );
    let output = script("fleet", &["up", "2", "--dir", &path, "--port", "nope"]);
    assert_eq!(
        (output.code, output.stderr.as_str()),
        (1, "fleet: PORT must be 1..65535 or auto, got 'nope'\n")
    );
    assert!(!dir.exists());
    assert!(sshds_under(&dir).is_empty());
}

#[test]
fn up_again_on_another_port_is_refused_and_the_fleet_keeps_its_own() {
    let fleet = OwnFleet::up("labs-again", 1);
    let path = fleet.dir.display().to_string();
    // Another port nothing listens on: the next one up may be another lab's (the demo's
    // lab, left up beside the tests, holds ports of its own).
    let other_port = TcpListener::bind("127.0.0.2:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let other = other_port.to_string();
    let output = script("fleet", &["up", "1", "--dir", &path, "--port", &other]);
    assert_eq!(
        (output.code, output.stderr),
        (
            1,
            format!(
                "fleet: the fleet in {path} runs on port {}, not {other}; run `down` first\n",
                fleet.port
            )
        )
    );
    assert!(listening("127.0.0.2", fleet.port));
    assert!(!listening("127.0.0.2", other_port));
    assert_eq!(
        std::fs::read_to_string(fleet.dir.join("port")).unwrap(),
        format!("{}\n", fleet.port)
    );
    // `auto` keeps the port it has.
    script("fleet", &["up", "1", "--dir", &path, "--port", "auto"]).success();
    assert_eq!(
        std::fs::read_to_string(fleet.dir.join("port")).unwrap(),
        format!("{}\n", fleet.port)
    );
}
