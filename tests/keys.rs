//! `generate_key` and `quayside keygen`: Quay's service key pair, byte for byte in layout;
//! and how a key file comes into being, on the controller and on a host (traced).

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use crate::common::Test;
use crate::common::fleet::{fleet, run_play};

#[test]
fn keygen_prints_what_quays_script_prints() {
    let test = Test::new().args(&["keygen", "quay-readonly"]);
    let output = test.run().success();
    assert_eq!(
        output.stdout,
        "Writing public key to quay-readonly.jwk\nWriting key ID to quay-readonly.kid\nWriting private key to quay-readonly.pem\n"
    );
    let kid = std::fs::read_to_string(test.path().join("quay-readonly.kid")).unwrap();
    assert_eq!(kid.len(), 43);
    let jwk = std::fs::read_to_string(test.path().join("quay-readonly.jwk")).unwrap();
    assert!(jwk.ends_with(&format!(r#","e":"AQAB","kty":"RSA","kid":"{kid}"}}"#)));
    let pem = test.path().join("quay-readonly.pem");
    assert_eq!(
        std::fs::metadata(&pem).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // A second run refuses to replace the key.
    let again = test.run();
    assert_eq!(again.code, 1);
    assert_eq!(
        again.stderr,
        "error: a key named `quay-readonly` already exists in `.`; use `--force` to replace it\n"
    );
    assert_eq!(
        std::fs::read_to_string(test.path().join("quay-readonly.kid")).unwrap(),
        kid
    );
}

#[test]
fn generate_key_is_idempotent_and_never_shows_the_private_key() {
    let test = Test::new().file(
        "play.yml",
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - generate_key:
                name: quay-readonly
                dest: keys
              register: key
            - debug:
                var: key
            - assert:
                that:
                  - key.kid | length == 43
                  - key.pem_path == playbook_dir ~ '/keys/quay-readonly.pem'
                  - (key.jwk | from_json).kid == key.kid
        ",
    );
    let test = test.args(&["run", "play.yml", "-v", "--output", "json"]);
    let first = test.run();
    assert_eq!(first.code, 0, "{first:?}");
    let pem = std::fs::read_to_string(test.path().join("keys/quay-readonly.pem")).unwrap();
    let body = pem.lines().nth(1).unwrap();
    assert!(
        !first.stdout.contains(body),
        "private key leaked: {}",
        first.stdout
    );
    assert!(!first.stdout.contains("PRIVATE KEY"), "{}", first.stdout);
    let statuses: Vec<String> = first
        .events()
        .iter()
        .filter(|e| e["event"] == "host_result")
        .map(|e| e["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["changed", "ok", "ok"]);
    let second = test.run();
    assert_eq!(second.code, 0);
    let statuses: Vec<String> = second
        .events()
        .iter()
        .filter(|e| e["event"] == "host_result")
        .map(|e| e["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["ok", "ok", "ok"]);
    assert_eq!(
        std::fs::read_to_string(test.path().join("keys/quay-readonly.pem")).unwrap(),
        pem
    );
}

/// The `host_result` events of a run under `--output json`.
fn results(output: &crate::common::Output) -> Vec<serde_json::Value> {
    output
        .events()
        .into_iter()
        .filter(|e| e["event"] == "host_result")
        .collect()
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const FORCED: &str = "
    - hosts: localhost
      gather_facts: false
      tasks:
        - name: key
          generate_key:
            name: quay-readonly
            dest: keys
            force: '{{ force | default(false) }}'
          register: key
";

#[test]
fn generate_key_force_replaces_the_pair_with_a_new_kid() {
    let test = Test::new().file("play.yml", FORCED);
    let run = |extra: &[&str]| {
        let mut args = vec!["run", "play.yml", "-v", "--output", "json"];
        args.extend(extra);
        Command::new(env!("CARGO_BIN_EXE_quayside"))
            .args(&args)
            .current_dir(test.path())
            .output()
            .map(crate::common::Output::from)
            .unwrap()
    };
    let first = run(&[]);
    assert_eq!(first.code, 0, "{first:?}");
    let kid_path = test.path().join("keys/quay-readonly.kid");
    let pem_path = test.path().join("keys/quay-readonly.pem");
    let (kid, pem) = (read(&kid_path), read(&pem_path));
    let forced = run(&["-e", "force=true"]);
    assert_eq!(forced.code, 0, "{forced:?}");
    let result = &results(&forced)[0];
    assert_eq!(result["status"], "changed", "{forced:?}");
    let new_kid = read(&kid_path);
    assert_ne!(new_kid, kid);
    assert_eq!(new_kid.len(), 43);
    assert_ne!(read(&pem_path), pem);
    assert_eq!(result["result"]["kid"], new_kid.as_str());
    // The jwk on disk is the new key's, and names the new kid.
    let jwk: serde_json::Value =
        serde_json::from_str(&read(&test.path().join("keys/quay-readonly.jwk"))).unwrap();
    assert_eq!(jwk["kid"], new_kid.as_str());
    assert_eq!(
        std::fs::metadata(&pem_path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(!forced.stdout.contains(pem.lines().nth(1).unwrap()));
    // Without `force` the new pair stays.
    let again = run(&[]);
    assert_eq!(results(&again)[0]["status"], "ok");
    assert_eq!(read(&kid_path), new_kid);
}

#[test]
fn generate_key_in_check_mode_writes_nothing() {
    let test = Test::new().file("play.yml", FORCED);
    let output = Command::new(env!("CARGO_BIN_EXE_quayside"))
        .args(["run", "play.yml", "--check", "--output", "json"])
        .current_dir(test.path())
        .output()
        .map(crate::common::Output::from)
        .unwrap()
        .success();
    let result = &results(&output)[0];
    assert_eq!(result["status"], "changed");
    let keys = test.path().join("keys");
    assert_eq!(
        result["msg"],
        format!(
            "would write Writing public key to {0}/quay-readonly.jwk, Writing key ID to {0}/quay-readonly.kid, Writing private key to {0}/quay-readonly.pem",
            std::fs::canonicalize(test.path())
                .unwrap()
                .join("keys")
                .display()
        )
    );
    assert!(!keys.exists(), "check mode made {}", keys.display());
}

#[test]
fn generate_key_dest_is_relative_to_the_playbook_not_the_working_directory() {
    let test = Test::new().file("site/play.yml", FORCED);
    let elsewhere = test.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_quayside"))
        .args(["run", "../site/play.yml", "--output", "json", "-v"])
        .current_dir(&elsewhere)
        .output()
        .map(crate::common::Output::from)
        .unwrap()
        .success();
    let keys = std::fs::canonicalize(test.path())
        .unwrap()
        .join("site/keys");
    assert_eq!(read(&keys.join("quay-readonly.kid")).len(), 43);
    assert!(!elsewhere.join("keys").exists());
    let result = &results(&output)[0];
    assert_eq!(
        result["result"]["pem_path"],
        keys.join("quay-readonly.pem").display().to_string()
    );
}

#[test]
fn keygen_writes_into_dir_and_replaces_only_with_force() {
    let test = Test::new();
    let keygen = |extra: &[&str]| {
        let mut args = vec!["keygen", "quay-readonly", "--dir", "deep/keys"];
        args.extend(extra);
        Command::new(env!("CARGO_BIN_EXE_quayside"))
            .args(&args)
            .current_dir(test.path())
            .output()
            .map(crate::common::Output::from)
            .unwrap()
    };
    let first = keygen(&[]);
    assert_eq!(first.code, 0, "{first:?}");
    assert_eq!(
        first.stdout,
        "Writing public key to deep/keys/quay-readonly.jwk\nWriting key ID to deep/keys/quay-readonly.kid\nWriting private key to deep/keys/quay-readonly.pem\n"
    );
    let dir = test.path().join("deep/keys");
    let kid = read(&dir.join("quay-readonly.kid"));
    let pem = read(&dir.join("quay-readonly.pem"));
    assert!(!test.path().join("quay-readonly.kid").exists());

    let refused = keygen(&[]);
    assert_eq!(refused.code, 1);
    assert_eq!(
        refused.stderr,
        "error: a key named `quay-readonly` already exists in `deep/keys`; use `--force` to replace it\n"
    );
    assert_eq!(read(&dir.join("quay-readonly.kid")), kid);

    let forced = keygen(&["--force"]);
    assert_eq!(forced.code, 0, "{forced:?}");
    assert_eq!(forced.stdout, first.stdout);
    let new_kid = read(&dir.join("quay-readonly.kid"));
    assert_ne!(new_kid, kid);
    assert_ne!(read(&dir.join("quay-readonly.pem")), pem);
    let jwk: serde_json::Value =
        serde_json::from_str(&read(&dir.join("quay-readonly.jwk"))).unwrap();
    assert_eq!(jwk["kid"], new_kid.as_str());
    assert_eq!(
        std::fs::metadata(dir.join("quay-readonly.pem"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
}

/// `quayside keygen` under `umask 000`, traced: the private key's file is created by the
/// `open(2)` that makes it, with O_CREAT|O_EXCL and mode 0600, written, and renamed into
/// place; no chmod ever touches it, so there is no moment it is readable by anyone else.
#[test]
fn the_private_key_is_created_0600_and_never_chmodded() {
    let test = Test::new();
    let trace = test.path().join("trace");
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"umask 000 && exec strace -f -qq -o "$0" -e trace=%file,fchmod "$@""#)
        .arg(&trace)
        .args([env!("CARGO_BIN_EXE_quayside"), "keygen", "quay-readonly"])
        .current_dir(test.path())
        .output()
        .expect("strace (scripts/setup installs it)");
    assert!(output.status.success(), "{output:?}");
    let trace = std::fs::read_to_string(trace).unwrap();
    let calls: Vec<&str> = trace
        .lines()
        .map(|line| {
            line.split_once(' ')
                .map_or(line, |(_pid, call)| call.trim())
        })
        .collect();
    // Every call that creates, changes the mode of or renames the private key or its
    // temporary file.
    let syscall = |call: &str| call.split('(').next().unwrap_or("").to_owned();
    let pem: Vec<&str> = calls
        .iter()
        .copied()
        .filter(|call| call.contains(".pem"))
        .filter(|call| {
            let name = syscall(call);
            name.starts_with("open")
                || name.starts_with("creat")
                || name.contains("chmod")
                || name.starts_with("rename")
                || name.starts_with("link")
        })
        .collect();
    assert_eq!(pem.len(), 2, "{pem:#?}");
    let (open, rename) = (pem[0], pem[1]);
    let temporary = open
        .strip_prefix("openat(AT_FDCWD, \"")
        .and_then(|rest| rest.split_once('"'))
        .map(|(name, _)| name)
        .unwrap_or_else(|| panic!("{open}"));
    assert!(temporary.starts_with("./.quay-readonly.pem."), "{open}");
    let (flags_and_mode, fd) = open.rsplit_once(" = ").unwrap();
    assert!(
        flags_and_mode.ends_with(", O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0600)"),
        "{open}"
    );
    assert_eq!(
        rename,
        format!("rename(\"{temporary}\", \"quay-readonly.pem\") = 0")
    );
    // Between its creation and its rename, nothing changes its mode through its descriptor.
    let from = calls.iter().position(|c| *c == open).unwrap();
    let to = calls.iter().position(|c| *c == rename).unwrap();
    let fchmod = format!("fchmod({fd},");
    assert!(
        calls[from..to]
            .iter()
            .all(|call| !call.starts_with(&fchmod)),
        "{:#?}",
        &calls[from..to]
    );
    // The public halves are made 0644 whatever the umask; the key stays 0600.
    let mode = |name: &str| {
        std::fs::metadata(test.path().join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("quay-readonly.pem"), 0o600);
    assert_eq!(mode("quay-readonly.jwk"), 0o644);
    assert_eq!(mode("quay-readonly.kid"), 0o644);
}

/// A key sent to a host with `copy_files`, traced on the host (strace on its sshd): the
/// temporary file is created by `mktemp` with O_CREAT|O_EXCL and mode 0600 before anything
/// is written to it, gets its mode while it still has its temporary name, and is renamed
/// over the target. The contents never sit in a file anyone else may read.
#[test]
fn a_key_sent_to_a_host_is_created_owner_only_before_it_is_written() {
    let fleet = fleet();
    let scratch = fleet.scratch("key_on_host");
    let dir = fleet.root(1).join(&scratch);
    let sshd = std::fs::read_to_string(fleet.dir.join("hosts/host1/sshd.pid")).unwrap();
    let test = Test::new()
        .file(
            "keys/quay-readonly.pem",
            "-----BEGIN RSA PRIVATE KEY-----\nnot a key\n",
        )
        .file(
            "play.yml",
            &format!(
                "
                - hosts: host1
                  gather_facts: false
                  tasks:
                    - copy_files:
                        src: keys/quay-readonly.pem
                        dest: '{{{{ host_root }}}}/{scratch}/'
                        mode: '0640'
                "
            ),
        );
    let trace = test.path().join("trace");
    // Sessions opened from now on are followed: the run's, and any other test's.
    let mut strace = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=%file,fchmod", "-o"])
        .arg(&trace)
        .args(["-p", sshd.trim()])
        .stderr(Stdio::piped())
        .spawn()
        .expect("strace (scripts/setup installs it)");
    // strace says nothing once attached; give it a moment to be.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let output = run_play(&test, "host1", &[]);
    let stopped = Command::new("kill")
        .args(["-INT", &strace.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let _ = strace.wait();
    output.status(0);
    let target = dir.join("quay-readonly.pem");
    let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);

    let trace = std::fs::read_to_string(trace).unwrap();
    let prefix = format!("\"{}/.quayside.", dir.display());
    let calls: Vec<&str> = trace
        .lines()
        .map(|line| {
            line.split_once(' ')
                .map_or(line, |(_pid, call)| call.trim())
        })
        .filter(|call| call.contains(&prefix))
        .collect();
    let first = calls
        .first()
        .unwrap_or_else(|| panic!("nothing traced:\n{trace}"));
    let temporary = first
        .split_once(&prefix)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(suffix, _)| format!("{}/.quayside.{suffix}", dir.display()))
        .unwrap();
    // The first call that names it creates it, owner-only.
    assert!(
        first.starts_with(&format!(
            "openat(AT_FDCWD, \"{temporary}\", O_RDWR|O_CREAT|O_EXCL"
        )) && first.contains(", 0600) = "),
        "{calls:#?}"
    );
    // Then: opened for the contents (it exists: no mode is given to it), read back for its
    // sum, given its mode, renamed over the target. Nothing else creates or widens it.
    let named: Vec<&&str> = calls.iter().filter(|c| c.contains(&temporary)).collect();
    let chmod = named
        .iter()
        .position(|c| c.contains("chmod"))
        .unwrap_or_else(|| panic!("{named:#?}"));
    assert!(
        named[chmod].contains(&format!("\"{temporary}\", 0640)")),
        "{named:#?}"
    );
    let rename = named.len() - 1;
    assert!(
        named[rename].starts_with("rename")
            && named[rename].contains(&format!("\"{}\"", target.display())),
        "{named:#?}"
    );
    assert!(chmod < rename, "{named:#?}");
    for call in &named[1..] {
        assert!(!call.contains("O_EXCL"), "created twice: {named:#?}");
    }
    for call in &named[chmod + 1..rename] {
        assert!(!call.contains("chmod"), "{named:#?}");
    }
}
