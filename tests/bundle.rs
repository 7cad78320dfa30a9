//! Config bundles on the fleet: installed on every host of the play, or on none.

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::Test;
use crate::common::fleet::{OwnFleet, fleet, run_play as run};

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

    let output = run(&test, HOSTS, &["--output", "json"]).success();
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
    // The bundle's digest once, and each host's live digest read back after the swap: the
    // digest `quayside drift` finds there.
    let events = output.events();
    let bundle = events
        .iter()
        .find(|e| e["event"] == "bundle")
        .unwrap_or_else(|| panic!("no bundle event: {}", output.stdout));
    assert_eq!(bundle["task"], "Install the bundle");
    let digest = bundle["digest"].as_str().unwrap();
    assert_eq!(digest.len(), 64);
    assert_eq!(
        format!("bundle {}", &digest[..12]),
        *digests.iter().next().unwrap()
    );
    let inventory = fleet().inventory.display().to_string();
    let drift = Command::new(env!("CARGO_BIN_EXE_quayside"))
        .args([
            "drift",
            "-i",
            &inventory,
            "--limit",
            HOSTS,
            "--output",
            "json",
            "--path",
            &format!("{{{{ host_root }}}}/{scratch}/b/config"),
        ])
        .output()
        .unwrap();
    let drift: serde_json::Value = serde_json::from_slice(&drift.stdout).unwrap();
    assert_eq!(bundle["hosts"].as_object().unwrap().len(), 5, "{bundle}");
    for i in 1..=5 {
        let host = format!("host{i}");
        let reported = &bundle["hosts"][&host];
        assert_eq!(reported["bundle"], digest, "{bundle}");
        assert_eq!(reported["changed"], i != 5, "{bundle}");
        assert_eq!(
            reported["live"], drift["hosts"][&host]["digest"],
            "{bundle}"
        );
        assert_eq!(
            reported["dest"],
            live(i, scratch).display().to_string(),
            "{bundle}"
        );
    }
    let verbose = run(&test, "host1", &["-v"]);
    assert!(
        verbose.stdout.contains(&format!(
            "\nbundle digest: {digest}\n  host1: live digest {} of `{}`\n",
            drift["hosts"]["host1"]["digest"].as_str().unwrap(),
            live(1, scratch).display()
        )),
        "{}",
        verbose.stdout
    );

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
    let output = run(&test, HOSTS, &[]).status(2);
    assert_untouched(scratch, 1..=5);
    for i in 1..=5 {
        assert!(
            output.stdout.contains(&format!(
                "fatal: [host{i}]: FAILED! => {{\"changed\": false, \"msg\": \"bundle not installed on any host: staging failed on `host3`: "
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
    let output = run(&test, HOSTS, &[]).status(2);
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
        let output = run(&test, HOSTS, &[]).status(2);
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

#[test]
fn config_bundle_under_serial_or_in_a_loop_is_refused_before_anything_runs() {
    let serial = Test::new()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              serial: 1
              tasks:
                - command: touch ran
                - name: Install the bundle
                  config_bundle:
                    dest: /nonexistent/config
                    files:
                      - {content: 'a: 1', name: config.yaml}
            ",
        )
        .args(&["validate", "play.yml"]);
    let output = serial.run().status(4);
    assert_eq!(
        output.stderr,
        "error: `config_bundle` cannot run in a play with `serial`: each batch of hosts would \
get the bundle on its own, so the hosts would not change all at once at play.yml:6:7
 --> play.yml:6:7
  |
6 |     - name: Install the bundle
  |       ^
hint: install the bundle in a play of its own without `serial`, then restart host by host \
in a following play with `serial`
"
    );
    let looped = Test::new()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              tasks:
                - command: touch ran
                - block:
                    - name: Install the bundle
                      config_bundle:
                        dest: /nonexistent/config
                        files:
                          - {content: 'a: 1', name: config.yaml}
                      loop: [a, b]
            ",
        )
        .args(&["run", "play.yml"]);
    let output = looped.run().status(4);
    assert_eq!(
        output.stderr.lines().next().unwrap(),
        "error: `config_bundle` cannot take `loop`: the loop would install it host by host, \
one item at a time, not on every host at once at play.yml:11:17"
    );
    assert!(
        output.stderr.ends_with(
            "hint: list every file in the bundle's `files`; for several directories, write one \
`config_bundle` task for each\n"
        ),
        "{}",
        output.stderr
    );
    assert!(!looped.path().join("ran").exists(), "a task ran");
    assert!(!serial.path().join("ran").exists(), "a task ran");
    // The shipped playbooks, geo-replication's restart under `serial: 1` included, keep
    // their bundles out of batched plays.
    for playbook in [
        "quay-georeplication.yml",
        "quay-deploy.yml",
        "quay-restore.yml",
    ] {
        Test::new()
            .args(&[
                "validate",
                crate::common::repo_root()
                    .join("playbooks")
                    .join(playbook)
                    .to_str()
                    .unwrap(),
                "-i",
                crate::common::repo_root()
                    .join("inventory/example.yml")
                    .to_str()
                    .unwrap(),
                "-e",
                "quay_restore_from=/nonexistent",
            ])
            .run()
            .success();
    }
}

#[test]
fn a_bundle_owned_by_another_user_needs_become_and_gets_the_owner() {
    let scratch = "bundle_owner";
    let fleet = fleet();
    fleet.scratch(scratch);
    for i in 1..=3 {
        let live = live(i, scratch);
        std::fs::create_dir_all(&live).unwrap();
        std::fs::write(live.join("config.yaml"), "old: true\n").unwrap();
        chown_r(&fleet.root(i).join(scratch));
    }
    let play = |r#become: bool| {
        format!(
            "
            - hosts: fleet
              gather_facts: false
              become: {become}
              tasks:
                - name: Install the bundle
                  config_bundle:
                    dest: '{{{{ host_root }}}}/{scratch}/b/config'
                    owner: quayside-app
                    group: quayside-app
                    files:
                      - content: \"new: true\\n\"
                        name: config.yaml
            ",
            become = r#become
        )
    };
    // The SSH user may not give files away: staging fails on every host, nothing changes.
    let test = Test::new().file("play.yml", &play(false));
    let output = run(&test, "host1:host2:host3", &[]).status(2);
    assert!(
        output.stdout.contains(
            "\"msg\": \"bundle not installed on any host: staging failed on `host1`: chown: "
        ),
        "{}",
        output.stdout
    );
    for i in 1..=3 {
        let live = live(i, scratch);
        assert_eq!(
            std::fs::read_to_string(live.join("config.yaml")).unwrap(),
            "old: true\n"
        );
        assert_eq!(names_in(live.parent().unwrap()), ["config"], "host{i}");
    }
    // Through sudo the bundle goes in, owned as asked; the next run changes nothing.
    let test = Test::new().file("play.yml", &play(true));
    run(&test, "host1:host2:host3", &[]).success();
    let uid = |name: &str| -> u32 {
        let out = Command::new("id").args(["-u", name]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    for i in 1..=3 {
        let file = live(i, scratch).join("config.yaml");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "new: true\n");
        let meta = std::fs::metadata(&file).unwrap();
        assert_eq!(meta.uid(), uid("quayside-app"), "host{i}");
        assert_eq!(meta.gid(), uid("quayside-app"), "host{i}");
        assert_eq!(meta.permissions().mode() & 0o777, 0o640, "host{i}");
        assert_eq!(
            names_in(live(i, scratch).parent().unwrap()),
            ["config", "config.prev"],
            "host{i}"
        );
    }
    let again = run(&test, "host1:host2:host3", &[]);
    assert_eq!(again.code, 0, "{again:?}");
    for i in 1..=3 {
        assert!(
            again.recap(&format!("host{i}")).contains("changed=0"),
            "{}",
            again.stdout
        );
    }
}

#[test]
fn a_staged_file_that_differs_from_the_controllers_goes_nowhere() {
    let scratch = "bundle_sha";
    let test = setup(scratch);
    // host3's `base64 -d` changes every `l` into `L`: what it stages is not what was sent.
    let bin = test.path().join("badbin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(
        bin.join("base64"),
        "#!/bin/sh\nif [ \"$1\" = -d ]; then /usr/bin/base64 -d | tr l L; else exec /usr/bin/base64 \"$@\"; fi\n",
    )
    .unwrap();
    std::fs::set_permissions(bin.join("base64"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(test.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        test.path().join("bad.yml"),
        format!(
            "fleet:\n  hosts:\n    host3:\n      slow_path: {}:/usr/bin:/bin\n",
            bin.display()
        ),
    )
    .unwrap();
    let output = run(&test, HOSTS, &["-i", "bad.yml"]).status(2);
    let sent = hex::encode(Sha256::digest(b"greeting: hello\nstate: normal\n"));
    let staged = hex::encode(Sha256::digest(b"greeting: heLLo\nstate: normaL\n"));
    for i in 1..=5 {
        assert!(
            output.stdout.contains(&format!(
                "fatal: [host{i}]: FAILED! => {{\"changed\": false, \"msg\": \"bundle not installed on any host: staging failed on `host3`: staged `config.yaml` does not match: sha256 {staged} on the host, {sent} here\"}}"
            )),
            "{}",
            output.stdout
        );
    }
    assert_untouched(scratch, 1..=5);
    assert!(!fleet().root(1).join(scratch).join("restarted").exists());
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

impl OwnFleet {
    /// The bundle directory's parent on host `i`, with `config/config.yaml` = `old: true`.
    fn bundle(&self, i: usize) -> PathBuf {
        self.root(i).join("lost/b")
    }

    fn prepare(&self) {
        for i in 1..=4 {
            let _ = std::fs::remove_dir_all(self.root(i).join("lost"));
            let live = self.bundle(i).join("config");
            std::fs::create_dir_all(&live).unwrap();
            std::fs::write(live.join("config.yaml"), "old: true\n").unwrap();
            chown_r(&self.root(i).join("lost"));
        }
    }

    /// `quayside run play.yml` on every host, `slow` giving host2 a PATH of its own.
    fn spawn(&self, test: &Test, slow: &Path) -> std::process::Child {
        std::fs::write(
            test.path().join("slow.yml"),
            format!(
                "fleet:\n  hosts:\n    host2:\n      slow_path: {}:/usr/bin:/bin\n",
                slow.display()
            ),
        )
        .unwrap();
        Command::new(env!("CARGO_BIN_EXE_quayside"))
            .args(["run", "play.yml", "-i"])
            .arg(self.dir.join("inventory.yml"))
            .args(["-i", "slow.yml"])
            .current_dir(test.path())
            .env("NO_COLOR", "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }
}

/// A bundle play on every host of an [`OwnFleet`], with host2's PATH from `slow_path`.
fn lost_play() -> Test {
    let test = Test::new().file(
        "play.yml",
        "
        - hosts: fleet
          gather_facts: false
          environment:
            PATH: \"{{ slow_path | default('/usr/bin:/bin') }}\"
          tasks:
            - name: Install the bundle
              config_bundle:
                dest: '{{ host_root }}/lost/b/config'
                files:
                  - {content: \"new: true\\n\", name: config.yaml}
        ",
    );
    std::fs::set_permissions(test.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    test
}

fn slow_command(test: &Test, name: &str, body: &str) -> PathBuf {
    let dir = test.path().join("slowbin");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(dir.join(name), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_host_lost_while_staging_keeps_every_bundle_and_is_named_as_lost() {
    let fleet = OwnFleet::up("bundle-lost-stage", 4);
    fleet.prepare();
    let test = lost_play();
    let slow = slow_command(&test, "cp", "sleep 10\nexec /usr/bin/cp \"$@\"");
    let child = fleet.spawn(&test, &slow);
    wait_for("host1 has staged and host2 stages", || {
        fleet.bundle(1).join("config.quayside-stage").exists()
            && fleet.bundle(2).join("config.quayside-stage.pid").exists()
    });
    fleet.kill_sshd(2);
    let output = crate::common::Output::from(child.wait_with_output().unwrap()).status(2);
    assert!(
        output.stdout.contains(
            "fatal: [host2]: UNREACHABLE! => {\"changed\": false, \"msg\": \"lost the connection to `host2`: "
        ),
        "{}",
        output.stdout
    );
    for i in [1, 3, 4] {
        let line = output
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("fatal: [host{i}]: FAILED!")))
            .unwrap_or_else(|| panic!("{}", output.stdout));
        assert!(
            line.contains(
                "bundle not installed on any host: staging failed on `host2`: lost the connection to `host2`: "
            ),
            "{line}"
        );
        // The copy staged on host2 cannot be removed over a dead connection, and the
        // message says so rather than claim it was.
        assert!(
            line.contains("; the staged copy on `host2` could not be removed (lost the connection to `host2`: "),
            "{line}"
        );
        assert_eq!(names_in(&fleet.bundle(i)), ["config"], "host{i}");
    }
    assert!(output.recap("host2").contains("unreachable=1"));
    for i in 1..=4 {
        assert_eq!(
            std::fs::read_to_string(fleet.bundle(i).join("config/config.yaml")).unwrap(),
            "old: true\n",
            "host{i}"
        );
    }
}

#[test]
fn a_host_lost_during_the_swap_is_reported_as_unknown_and_the_others_roll_back() {
    let fleet = OwnFleet::up("bundle-lost-swap", 4);
    fleet.prepare();
    let test = lost_play();
    let slow = slow_command(
        &test,
        "mv",
        "case \"$*\" in *config.prev*) sleep 10;; esac\nexec /usr/bin/mv \"$@\"",
    );
    let child = fleet.spawn(&test, &slow);
    wait_for("host1 has swapped", || {
        fleet.bundle(1).join("config.prev").exists()
    });
    fleet.kill_sshd(2);
    let output = crate::common::Output::from(child.wait_with_output().unwrap()).status(2);
    let line = output
        .stdout
        .lines()
        .find(|l| l.starts_with("fatal: [host1]: FAILED!"))
        .unwrap_or_else(|| panic!("{}", output.stdout));
    let dest = fleet.bundle(2).join("config").display().to_string();
    assert!(
        line.contains("the swap failed on `host2`: lost the connection to `host2`: "),
        "{line}"
    );
    // Whether host2 swapped is not known (its script may run on): never claimed either way.
    assert!(
        line.contains(&format!(
            "`host2`: the connection failed during its swap: whether `{dest}` holds the new bundle or the previous one is unknown: check `{dest}` and `{dest}.prev` on `host2`"
        )),
        "{line}"
    );
    assert!(!line.contains("`host2`: swap failed; its previous bundle is in place"));
    for i in [1, 3, 4] {
        assert!(
            line.contains(&format!(
                "`host{i}`: swapped, then rolled back to the previous bundle"
            )),
            "{line}"
        );
        assert_eq!(
            std::fs::read_to_string(fleet.bundle(i).join("config/config.yaml")).unwrap(),
            "old: true\n",
            "host{i}"
        );
    }
}
