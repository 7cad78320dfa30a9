//! `quayside drift` on the fleet: a one-byte change, a mode change and an ACL change on one
//! host of five.

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
    let fleet = fleet();
    let mut args = vec![
        "drift",
        "-i",
        fleet.inventory.to_str().unwrap(),
        "--limit",
        "host1:host2:host3:host4:host5",
        "--path",
        "{{ host_root }}/drift/config",
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
        lines[0].ends_with(", 1 differ, 0 unreadable"),
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
