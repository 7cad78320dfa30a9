//! Config bundles on the fleet: installed on every host of the play, or on none.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::Test;
use crate::common::fleet::{fleet, run_play as run};

const HOSTS: &str = "host1:host2:host3:host4:host5";

/// A play installing a two-file bundle (a template and inline content) into
/// `{{ host_root }}/SCRATCH/b/config`, with a handler that records which hosts changed.
fn playbook(scratch: &str) -> String {
    format!(
        "
        - hosts: fleet
          gather_facts: false
          vars:
            greeting: hello
          environment:
            PATH: \"{{{{ slow_path | default('/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin') }}}}\"
          tasks:
            - name: Install the bundle
              config_bundle:
                dest: '{{{{ host_root }}}}/{scratch}/b/config'
                same_on_all_hosts: true
                acl: ['user:1001:rw']
                files:
                  - template: config.yaml.j2
                    validate: yaml
                  - content: 'key material'
                    name: quay-readonly.pem
                    mode: '0600'
              register: bundle
              notify: restart
          handlers:
            - name: restart
              shell: touch {{{{ host_root }}}}/{scratch}/restarted
        "
    )
}

fn setup(scratch: &str) -> Test {
    let fleet = fleet();
    fleet.scratch(scratch);
    for i in 1..=6 {
        let live = fleet.root(i).join(scratch).join("b/config");
        std::fs::create_dir_all(&live).unwrap();
        std::fs::write(live.join("config.yaml"), "old: true\n").unwrap();
        std::fs::write(live.join("ssl.cert"), "kept as it is\n").unwrap();
        chown_r(&fleet.root(i).join(scratch));
    }
    Test::new().file("play.yml", &playbook(scratch)).file(
        "templates/config.yaml.j2",
        "greeting: {{ greeting }}\nstate: {{ site_state | default('normal') }}\n",
    )
}

fn chown_r(path: &Path) {
    let status = Command::new("chown")
        .args(["-R", "quayside:quayside"])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

fn live(i: usize, scratch: &str) -> PathBuf {
    fleet().root(i).join(scratch).join("b/config")
}

fn assert_untouched(scratch: &str, hosts: std::ops::RangeInclusive<usize>) {
    for i in hosts {
        let live = live(i, scratch);
        assert_eq!(
            std::fs::read_to_string(live.join("config.yaml")).unwrap(),
            "old: true\n",
            "host{i}"
        );
        assert!(!live.join("quay-readonly.pem").exists(), "host{i}");
        let parent = live.parent().unwrap();
        let mut names: Vec<String> = std::fs::read_dir(parent)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["config"], "host{i} left {names:?}");
    }
}

#[test]
fn a_bundle_goes_to_every_host_and_a_second_run_changes_nothing() {
    let scratch = "bundle_ok";
    let test = setup(scratch);
    // host5 gets the bundle first: later, only the other four change and restart.
    let first = run(&test, "host5", &["--output", "json"]);
    assert_eq!(first.code, 0, "{first:?}");
    std::fs::remove_file(fleet().root(5).join(scratch).join("restarted")).unwrap();

    let output = run(&test, HOSTS, &["--output", "json"]);
    assert_eq!(output.code, 0, "{output:?}");
    let results: Vec<serde_json::Value> = output
        .events()
        .into_iter()
        .filter(|e| e["event"] == "host_result" && e["task"] == "Install the bundle")
        .collect();
    assert_eq!(results.len(), 5);
    for result in &results {
        let expected = if result["host"] == "host5" {
            "ok"
        } else {
            "changed"
        };
        assert_eq!(result["status"], expected, "{result}");
    }
    for i in 1..=5 {
        let live = live(i, scratch);
        assert_eq!(
            std::fs::read_to_string(live.join("config.yaml")).unwrap(),
            "greeting: hello\nstate: normal\n"
        );
        assert_eq!(
            std::fs::read_to_string(live.join("ssl.cert")).unwrap(),
            "kept as it is\n"
        );
        let pem = std::fs::metadata(live.join("quay-readonly.pem")).unwrap();
        // 0600 with an ACL for uid 1001: the group bits show the ACL mask.
        assert_eq!(pem.permissions().mode() & 0o707, 0o600);
        let acl = Command::new("getfacl")
            .args(["-cpn"])
            .arg(live.join("quay-readonly.pem"))
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&acl.stdout).contains("user:1001:rw-"));
        // The bundle it replaced stays beside it (host5's from its first run).
        let prev = live.parent().unwrap().join("config.prev/config.yaml");
        assert_eq!(
            std::fs::read_to_string(prev).unwrap(),
            "old: true\n",
            "host{i}"
        );
        assert_eq!(
            fleet().root(i).join(scratch).join("restarted").exists(),
            i != 5,
            "host{i}"
        );
    }
    // Every host reports the same bundle digest.
    let digests: std::collections::BTreeSet<&str> = results
        .iter()
        .map(|r| r["msg"].as_str().unwrap_or_else(|| panic!("{r}")))
        .collect();
    assert_eq!(digests.len(), 1, "{digests:?}");

    let again = run(&test, HOSTS, &[]);
    assert_eq!(again.code, 0);
    for i in 1..=5 {
        assert!(
            again.recap(&format!("host{i}")).contains("changed=0"),
            "{}",
            again.stdout
        );
    }
}

#[test]
fn a_host_that_cannot_stage_keeps_every_bundle_as_it_was() {
    let scratch = "bundle_stage_fails";
    let test = setup(scratch);
    // host3 cannot write beside its live bundle.
    let parent = fleet().root(3).join(scratch).join("b");
    Command::new("chown")
        .args(["root:root"])
        .arg(&parent)
        .status()
        .unwrap();
    std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o755)).unwrap();
    let output = run(&test, HOSTS, &[]);
    assert_eq!(output.code, 2, "{output:?}");
    assert_untouched(scratch, 1..=5);
    for i in 1..=5 {
        assert!(
            output.stdout.contains(&format!(
                "fatal: [host{i}]: FAILED! => {{\"changed\":false,\"failed\":true,\"msg\":\"bundle not installed on any host: staging failed on `host3`: "
            )),
            "{}",
            output.stdout
        );
    }
    assert!(
        output.stdout.contains("Permission denied"),
        "{}",
        output.stdout
    );
}

#[test]
fn an_unreachable_host_keeps_every_bundle_as_it_was() {
    let scratch = "bundle_unreachable";
    let test = setup(scratch).file(
        "down.yml",
        "fleet:\n  hosts:\n    down:\n      ansible_host: 127.0.0.9\n      ansible_port: 2299\n      host_root: /nonexistent\n",
    );
    let inventory = fleet().inventory.display().to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_quayside"))
        .args([
            "run",
            "play.yml",
            "-i",
            &inventory,
            "-i",
            "down.yml",
            "--limit",
            &format!("{HOSTS}:down"),
        ])
        .current_dir(test.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    assert_untouched(scratch, 1..=5);
    assert!(
        stdout.contains(
            "bundle not installed on any host: `down` cannot take part (it is unreachable)"
        ),
        "{stdout}"
    );
}

#[test]
fn a_failed_swap_rolls_every_host_back() {
    let scratch = "bundle_swap_fails";
    let test = setup(scratch);
    // host4's old `.prev` cannot be removed by the SSH user: its swap fails after every
    // host has staged.
    let stuck = fleet().root(4).join(scratch).join("b/config.prev/locked");
    std::fs::create_dir_all(&stuck).unwrap();
    std::fs::write(stuck.join("file"), "x").unwrap();
    chown_r(&fleet().root(4).join(scratch));
    Command::new("chown")
        .args(["-R", "root:root"])
        .arg(&stuck)
        .status()
        .unwrap();
    let output = run(&test, HOSTS, &[]);
    assert_eq!(output.code, 2, "{output:?}");
    for i in 1..=5 {
        let live = live(i, scratch);
        assert_eq!(
            std::fs::read_to_string(live.join("config.yaml")).unwrap(),
            "old: true\n",
            "host{i}"
        );
        assert!(!live.join("quay-readonly.pem").exists(), "host{i}");
        assert!(
            !live
                .parent()
                .unwrap()
                .join("config.quayside-stage")
                .exists(),
            "host{i}"
        );
    }
    let message = output
        .stdout
        .lines()
        .find(|l| l.starts_with("fatal: [host1]"))
        .unwrap_or_else(|| panic!("{}", output.stdout));
    assert!(message.contains("the swap failed on `host4`"), "{message}");
    for i in [1, 2, 3, 5] {
        assert!(
            message.contains(&format!(
                "`host{i}`: swapped, then rolled back to the previous bundle"
            )),
            "{message}"
        );
    }
    assert!(
        message.contains("`host4`: swap failed; its previous bundle is in place"),
        "{message}"
    );
    assert!(!fleet().root(1).join(scratch).join("restarted").exists());
}

#[test]
fn sigterm_during_staging_keeps_every_bundle_as_it_was() {
    let scratch = "bundle_sigterm";
    let test = setup(scratch)
        .file("slowbin/cp", "#!/bin/sh\nsleep 3\nexec /bin/cp \"$@\"\n")
        .file(
            "slow.yml",
            "fleet:\n  hosts:\n    host2:\n      slow_path: SLOWBIN:/usr/bin:/bin\n",
        );
    let slowbin = test.path().join("slowbin");
    std::fs::set_permissions(slowbin.join("cp"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(test.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let slow = std::fs::read_to_string(test.path().join("slow.yml"))
        .unwrap()
        .replace("SLOWBIN", slowbin.to_str().unwrap());
    std::fs::write(test.path().join("slow.yml"), slow).unwrap();
    let inventory = fleet().inventory.display().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_quayside"))
        .args([
            "run", "play.yml", "-i", &inventory, "-i", "slow.yml", "--limit", HOSTS,
        ])
        .current_dir(test.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the fast hosts have staged, then stop the run.
    let staged = live(1, scratch)
        .parent()
        .unwrap()
        .join("config.quayside-stage");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !staged.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(staged.exists(), "host1 never staged");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let mut stdout = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    assert_eq!(status.code(), Some(99), "{stdout}");
    assert!(
        stdout.contains("the run was interrupted before the swap"),
        "{stdout}"
    );
    assert_untouched(scratch, 1..=5);
}

#[test]
fn bundles_that_differ_between_hosts_go_nowhere() {
    let scratch = "bundle_differs";
    let test = setup(scratch).file(
        "odd.yml",
        "fleet:\n  hosts:\n    host2:\n      site_state: odd\n",
    );
    let inventory = fleet().inventory.display().to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_quayside"))
        .args([
            "run", "play.yml", "-i", &inventory, "-i", "odd.yml", "--limit", HOSTS,
        ])
        .current_dir(test.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("bundle not installed on any host: `same_on_all_hosts` is set, but the hosts' bundles differ: "),
        "{stdout}"
    );
    assert_untouched(scratch, 1..=5);
}

#[test]
fn an_archive_whose_members_would_escape_goes_nowhere() {
    let scratch = "bundle_archive";
    let test = setup(scratch);
    // Made with Python's tarfile, which writes any member name it is given.
    for (name, member, kind, reason) in [
        (
            "dotdot",
            "../escaped",
            "file",
            "member `../escaped` would land outside the bundle",
        ),
        (
            "absolute",
            "/tmp/escaped",
            "file",
            "member `/tmp/escaped` would land outside the bundle",
        ),
        (
            "link",
            "passwd",
            "link",
            "member `passwd` is not a plain file or directory (Symlink)",
        ),
    ] {
        let script = format!(
            "import tarfile, io\n\
             with tarfile.open('{name}.tar', 'w') as t:\n\
             \x20   ok = tarfile.TarInfo('config.yaml')\n\
             \x20   ok.size = 15\n\
             \x20   t.addfile(ok, io.BytesIO(b'restored: true\\n'))\n\
             \x20   bad = tarfile.TarInfo('{member}')\n\
             \x20   if '{kind}' == 'link':\n\
             \x20       bad.type = tarfile.SYMTYPE\n\
             \x20       bad.linkname = '/etc/passwd'\n\
             \x20   t.addfile(bad, io.BytesIO(b''))\n"
        );
        let status = Command::new("python3")
            .args(["-c", &script])
            .current_dir(test.path())
            .status()
            .unwrap();
        assert!(status.success());
        let play = format!(
            "- hosts: fleet\n  gather_facts: false\n  tasks:\n    - name: Restore\n      config_bundle:\n        dest: '{{{{ host_root }}}}/{scratch}/b/config'\n        archive: {name}.tar\n"
        );
        std::fs::write(test.path().join("play.yml"), play).unwrap();
        let output = run(&test, HOSTS, &[]);
        assert_eq!(output.code, 2, "{output:?}");
        assert!(
            output
                .stdout
                .contains(&format!("archive `{name}.tar`: {reason}")),
            "{}",
            output.stdout
        );
        assert_untouched(scratch, 1..=5);
        assert!(!Path::new("/tmp/escaped").exists());
    }
}
