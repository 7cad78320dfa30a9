//! `quayside drift` on the fleet: a one-byte change, a mode change, an ACL change and an
//! owner change on one host of five; files only root can read; a host without the bundle;
//! a host that cannot be reached.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::common::Test;
use crate::common::fleet::fleet;

fn write_bundle(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, contents, mode) in [
        ("config.yaml", "REGISTRY_STATE: readonly\n", 0o640),
        ("quay-readonly.kid", "kid", 0o640),
        (
            "quay-readonly.pem",
            "-----BEGIN RSA PRIVATE KEY-----\n",
            0o600,
        ),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let status = Command::new("setfacl")
            .args(["-m", "user:1001:rw"])
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

fn drift(extra: &[&str]) -> crate::common::Output {
    drift_in("drift", extra)
}

/// `quayside drift` over hosts 1 to 5 for the bundle `{{ host_root }}/SCRATCH/config`.
fn drift_in(scratch: &str, extra: &[&str]) -> crate::common::Output {
    let fleet = fleet();
    let path = format!("{{{{ host_root }}}}/{scratch}/config");
    let mut args = vec![
        "drift",
        "-i",
        fleet.inventory.to_str().unwrap(),
        "--limit",
        "host1:host2:host3:host4:host5",
        "--path",
        &path,
    ];
    args.extend(extra);
    Test::new().args(&args).run()
}

#[test]
fn drift_finds_one_byte_one_mode_and_one_acl() {
    let fleet = fleet();
    fleet.scratch("drift");
    for i in 1..=5 {
        write_bundle(&fleet.root(i).join("drift/config"));
    }
    let clean = drift(&[]);
    assert_eq!(clean.code, 0, "{clean:?}");
    assert!(
        clean.stdout.contains("on 5 hosts: 5 agree on digest"),
        "{}",
        clean.stdout
    );

    let host3 = fleet.root(3).join("drift/config");
    std::fs::write(host3.join("config.yaml"), "REGISTRY_STATE: readonlY\n").unwrap();
    std::fs::set_permissions(
        host3.join("quay-readonly.pem"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let status = Command::new("setfacl")
        .args(["-m", "user:1001:r"])
        .arg(host3.join("quay-readonly.kid"))
        .status()
        .unwrap();
    assert!(status.success());

    let drifted = drift(&[]);
    assert_eq!(drifted.code, 2, "{drifted:?}");
    let lines: Vec<&str> = drifted.stdout.lines().collect();
    assert!(
        lines[0].contains("on 5 hosts: 4 agree on digest"),
        "{}",
        drifted.stdout
    );
    assert!(
        lines[0].ends_with(", 1 differ, 0 unreachable"),
        "{}",
        drifted.stdout
    );
    assert!(lines[1].starts_with("host3 (digest "), "{}", drifted.stdout);
    assert!(
        lines[2].starts_with("  config.yaml: contents differ (sha256 "),
        "{}",
        drifted.stdout
    );
    // With an ACL, the group bits of the mode are the ACL's mask: both changed.
    assert_eq!(
        lines[3],
        "  quay-readonly.kid: mode `0640` here, `0660` elsewhere"
    );
    assert_eq!(
        lines[4],
        "  quay-readonly.kid: acl `mask::r--,user:1001:r--` here, `mask::rw-,user:1001:rw-` elsewhere"
    );
    assert_eq!(
        lines[5],
        "  quay-readonly.pem: mode `0644` here, `0660` elsewhere"
    );
    // `chmod` on a file with an ACL sets the mask from the group bits.
    assert_eq!(
        lines[6],
        "  quay-readonly.pem: acl `mask::r--,user:1001:rw-` here, `mask::rw-,user:1001:rw-` elsewhere"
    );
    assert_eq!(lines.len(), 7, "{}", drifted.stdout);

    let json = drift(&["--output", "json"]);
    assert_eq!(json.code, 2);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let whats: Vec<&str> = report["differing"]["host3"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["what"].as_str().unwrap())
        .collect();
    assert_eq!(whats, ["contents", "mode", "acl", "mode", "acl"]);
    assert_eq!(report["hosts"].as_object().unwrap().len(), 5);
}

#[test]
fn drift_finds_an_owner_change() {
    let fleet = fleet();
    let scratch = fleet.scratch("drift_owner");
    for i in 1..=5 {
        let dir = fleet.root(i).join(&scratch).join("config");
        write_bundle(&dir);
        chown(&dir, "quayside:quayside");
    }
    chown(
        &fleet.root(4).join(&scratch).join("config/config.yaml"),
        "quayside-app:quayside",
    );
    let output = drift_in(&scratch, &[]).status(2);
    let lines: Vec<&str> = output.stdout.lines().collect();
    assert!(lines[1].starts_with("host4 (digest "), "{}", output.stdout);
    assert_eq!(
        lines[2],
        "  config.yaml: owner `quayside-app:quayside` here, `quayside:quayside` elsewhere"
    );
    assert_eq!(lines.len(), 3, "{}", output.stdout);
}

#[test]
fn a_file_the_user_cannot_read_is_never_taken_for_agreement() {
    let fleet = fleet();
    let scratch = fleet.scratch("drift_unreadable");
    // Every host has the same files, one of them readable by root only: without `become`
    // its contents cannot be compared, and the hosts must not be reported as agreeing.
    for i in 1..=5 {
        let dir = fleet.root(i).join(&scratch).join("config");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.yaml"), "a: 1\n").unwrap();
        std::fs::write(dir.join("secret.pem"), "key\n").unwrap();
        std::fs::set_permissions(
            dir.join("secret.pem"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        chown(&dir, "quayside:quayside");
        chown(&dir.join("secret.pem"), "root:root");
    }
    let output = drift_in(&scratch, &[]).status(2);
    let lines: Vec<&str> = output.stdout.lines().collect();
    assert!(
        lines[0].ends_with("on 5 hosts: no two hosts can be compared, 5 differ, 0 unreachable"),
        "{}",
        output.stdout
    );
    for i in 1..=5 {
        assert!(
            output.stdout.contains(&format!("host{i} (digest ")),
            "{}",
            output.stdout
        );
    }
    assert_eq!(
        output
            .stdout
            .matches("  secret.pem: cannot be read (Permission denied): its contents cannot be compared; use --become or set ansible_become\n")
            .count(),
        5,
        "{}",
        output.stdout
    );

    // Through sudo every file is read: the hosts agree ...
    let agreed = drift_in(&scratch, &["--become"]);
    assert_eq!(agreed.code, 0, "{agreed:?}");
    assert!(
        agreed.stdout.contains("on 5 hosts: 5 agree on digest"),
        "{}",
        agreed.stdout
    );
    // ... until one byte of the root-only file changes on one host, which `ansible_become`
    // in the inventory finds as `--become` does.
    std::fs::write(
        fleet.root(2).join(&scratch).join("config/secret.pem"),
        "kez\n",
    )
    .unwrap();
    let test = Test::new().file("become.yml", "all:\n  vars:\n    ansible_become: true\n");
    let inventory = fleet.inventory.to_str().unwrap().to_owned();
    let path = format!("{{{{ host_root }}}}/{scratch}/config");
    let become_inventory = test.path().join("become.yml");
    let found = test
        .args(&[
            "drift",
            "-i",
            &inventory,
            "-i",
            become_inventory.to_str().unwrap(),
            "--limit",
            "host1:host2:host3:host4:host5",
            "--path",
            &path,
        ])
        .run();
    assert_eq!(found.code, 2, "{found:?}");
    let lines: Vec<&str> = found.stdout.lines().collect();
    assert!(lines[1].starts_with("host2 (digest "), "{}", found.stdout);
    assert!(
        lines[2].starts_with("  secret.pem: contents differ (sha256 "),
        "{}",
        found.stdout
    );
    assert_eq!(lines.len(), 3, "{}", found.stdout);
}

#[test]
fn a_host_without_the_bundle_is_drift_and_an_unreachable_host_exits_3() {
    let fleet = fleet();
    let scratch = fleet.scratch("drift_absent");
    for i in 1..=5 {
        write_bundle(&fleet.root(i).join(&scratch).join("config"));
    }
    std::fs::remove_dir_all(fleet.root(5).join(&scratch).join("config")).unwrap();
    let output = drift_in(&scratch, &[]).status(2);
    let root5 = fleet.root(5).join(&scratch).join("config");
    assert_eq!(
        output.stdout.lines().skip(1).collect::<Vec<_>>(),
        [
            "host5:".to_owned(),
            format!(
                "  no bundle: `{}` does not exist or cannot be seen (try --become)",
                root5.display()
            )
        ]
    );
    let json = drift_in(&scratch, &["--output", "json"]);
    assert_eq!(json.code, 2);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["differing"]["host5"][0]["what"], "absent");

    // The bundle everywhere, but one more host that does not answer: exit 3.
    write_bundle(&root5);
    let test = Test::new().file(
        "down.yml",
        "fleet:\n  hosts:\n    down:\n      ansible_host: 127.0.0.9\n      ansible_port: 2299\n      host_root: /nonexistent\n",
    );
    let inventory = fleet.inventory.to_str().unwrap().to_owned();
    let path = format!("{{{{ host_root }}}}/{scratch}/config");
    let down = test.path().join("down.yml");
    let output = test
        .args(&[
            "drift",
            "-i",
            &inventory,
            "-i",
            down.to_str().unwrap(),
            "--limit",
            "host1:host2:host3:host4:host5:down",
            "--path",
            &path,
        ])
        .run()
        .status(3);
    let lines: Vec<&str> = output.stdout.lines().collect();
    assert!(
        lines[0].contains("on 6 hosts: 5 agree on digest")
            && lines[0].ends_with(", 0 differ, 1 unreachable"),
        "{}",
        output.stdout
    );
    assert!(
        lines[1].starts_with("down: cannot reach: cannot connect to `down`: "),
        "{}",
        output.stdout
    );
    assert_eq!(lines.len(), 2, "{}", output.stdout);
}

#[test]
fn drift_help_says_json_is_one_report() {
    let output = Test::new().args(&["drift", "--help"]).run().success();
    assert!(
        output
            .stdout
            .contains("The whole report as one JSON object"),
        "{}",
        output.stdout
    );
    assert!(
        !output.stdout.contains("for every event"),
        "{}",
        output.stdout
    );
    assert!(output.stdout.contains("-b, --become"), "{}", output.stdout);
}

fn chown(path: &std::path::Path, owner: &str) {
    let status = Command::new("chown")
        .args(["-R", owner])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// The ssh masters run in a process group of their own, so a Ctrl-C at the terminal no
/// longer ends them with quayside: drift must close them itself when interrupted.
#[test]
fn an_interrupted_drift_leaves_no_ssh_behind() {
    use std::os::unix::process::CommandExt;

    use crate::signals::{leftovers, signal_group, wait_until};

    // A host that accepts TCP and never says a word: the connection hangs.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let test = Test::new().file(
        "hang.yml",
        &format!(
            "all:\n  hosts:\n    hang:\n      ansible_host: 127.0.0.1\n      ansible_port: {port}\n"
        ),
    );
    let child = Command::new(env!("CARGO_BIN_EXE_quayside"))
        .args(["drift", "-i", "hang.yml", "--path", "/x", "--timeout", "60"])
        .current_dir(test.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = child.id();
    wait_until(
        std::time::Duration::from_secs(10),
        "ssh is connecting",
        || !leftovers(pid).is_empty(),
    );
    signal_group(&child, "INT");
    let signalled = std::time::Instant::now();
    let output = crate::common::Output::from(child.wait_with_output().unwrap()).status(99);
    // Stopped at once, not after the 60 s timeout (a margin for a loaded machine).
    assert!(signalled.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(output.stderr, "[quayside] interrupted: drift stopped\n");
    assert_eq!(output.stdout, "");
    // The master of a connection still being made is killed as quayside exits (by its
    // watchdog when not before): within a moment, never left running.
    let gone = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while !leftovers(pid).is_empty() && std::time::Instant::now() < gone {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let left = leftovers(pid);
    assert!(left.is_empty(), "left behind: {left:#?}");
    drop(listener);
}
