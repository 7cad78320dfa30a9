//! The shipped Quay playbooks, end to end on the Quay lab (`scripts/quay-lab`): four sshd
//! "VMs" in two regions, a real PostgreSQL with Quay's tables, and podman running the Quay
//! stand-in image on every host. The tests share the lab and take turns.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use serde_json::Value as Json;

use crate::common::{Output, repo_root};

const HOSTS: [&str; 4] = ["host1", "host2", "host3", "host4"];
/// The lab's fixed ports (scripts/quay-lab and inventory/lab.yml).
const DB_PORT: u16 = 55433;
const QUAY_PORTS: [u16; 4] = [18081, 18082, 18083, 18084];
const DENIED: &str = r#"{"errors":[{"code":"DENIED","message":"System is currently read-only. Pulls will succeed but all write operations are currently suspended.","detail":{},"is_readonly":true}]}"#;

struct Lab {
    dir: PathBuf,
}

/// The lab, brought up once, and held by one test at a time.
fn lab() -> (MutexGuard<'static, ()>, &'static Lab) {
    static LAB: OnceLock<Lab> = OnceLock::new();
    static TURN: Mutex<()> = Mutex::new(());
    let turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let lab = LAB.get_or_init(|| {
        let dir = std::env::var_os("QUAYSIDE_TEST_LAB_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join("target/quay-lab"));
        let output = Command::new(repo_root().join("scripts/quay-lab"))
            .args(["up", "--dir"])
            .arg(&dir)
            .output()
            .expect("run scripts/quay-lab");
        assert!(
            output.status.success(),
            "scripts/quay-lab up failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Lab { dir }
    });
    (turn, lab)
}

impl Lab {
    fn run(&self, playbook: &str, extra: &[&str]) -> Output {
        let output = Command::new(env!("CARGO_BIN_EXE_quayside"))
            .args(["run", &format!("playbooks/{playbook}"), "-i"])
            .arg(self.dir.join("inventory"))
            .args(extra)
            .current_dir(repo_root())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        Output::from(output)
    }

    /// Run a playbook that must succeed.
    fn ok(&self, playbook: &str, extra: &[&str]) -> Output {
        let output = self.run(playbook, extra);
        assert_eq!(
            output.code, 0,
            "{playbook}:\n{}\n{}",
            output.stdout, output.stderr
        );
        output
    }

    /// Host `i`'s disk (1-based).
    fn root(&self, i: usize) -> PathBuf {
        self.dir.join(format!("fleet/hosts/host{i}/root"))
    }

    fn bundle(&self, i: usize) -> PathBuf {
        self.root(i).join("quay/config")
    }

    /// One column of query results from the lab's database, as text rows.
    fn query(&self, database: &str, sql: &str) -> Vec<String> {
        let output = Command::new("psql")
            .args(["-X", "-At", "-h", "127.0.0.1", "-p", &DB_PORT.to_string()])
            .args(["-U", "postgres", "-d", database, "-c", sql])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Start from a registry in normal mode with no read-only key.
    fn reset(&self) {
        self.query(
            "quay",
            "DELETE FROM servicekey; DELETE FROM servicekeyapproval",
        );
        let _ = std::fs::remove_dir_all(self.dir.join("keys"));
        self.ok("quay-deploy.yml", &[]);
    }
}

/// A bare HTTP/1.0 request to a stand-in: status and body.
fn http(method: &str, port: u16, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: quay.example.test\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, body.to_owned())
}

fn info(port: u16) -> Json {
    let (status, body) = http("GET", port, "/standin/info");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn sha256(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// The names in a directory, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn changed(output: &Output, host: &str) -> String {
    output.recap(host)
}

#[test]
fn read_only_cycle_enable_extend_disable() {
    let (_turn, lab) = lab();
    lab.reset();
    for port in QUAY_PORTS {
        assert_eq!(
            http("PUT", port, "/v2/library/busybox/blobs/uploads/").0 / 100,
            2
        );
    }

    lab.ok("quay-readonly-enable.yml", &[]);
    let kid = std::fs::read_to_string(lab.dir.join("keys/quay-readonly.kid")).unwrap();
    for (i, port) in QUAY_PORTS.into_iter().enumerate() {
        assert_eq!(info(port)["registry_state"], "readonly", "host{}", i + 1);
        assert_eq!(http("GET", port, "/health/instance").0, 200);
        assert_eq!(
            http("PUT", port, "/v2/library/busybox/blobs/uploads/"),
            (405, DENIED.to_owned())
        );
        let bundle = lab.bundle(i + 1);
        assert_eq!(
            std::fs::read_to_string(bundle.join("quay-readonly.kid")).unwrap(),
            kid
        );
        let config = std::fs::read_to_string(bundle.join("config.yaml")).unwrap();
        assert!(config.contains(
            "REGISTRY_STATE: readonly\nINSTANCE_SERVICE_KEY_KID_LOCATION: 'conf/stack/quay-readonly.kid'\nINSTANCE_SERVICE_KEY_LOCATION: 'conf/stack/quay-readonly.pem'\n"
        ));
    }
    // One key, approved by a superuser, alive.
    let rows = lab.query(
        "quay",
        "SELECT k.kid || ' ' || k.service || ' ' || a.approval_type || ' ' || k.expiration_date \
         FROM servicekey k JOIN servicekeyapproval a ON a.id = k.approval_id",
    );
    assert_eq!(
        rows,
        [format!(
            "{kid} quay ServiceKeyApprovalType.SUPERUSER 2099-12-31 00:00:00"
        )]
    );

    // A second run changes nothing.
    let again = lab.ok("quay-readonly-enable.yml", &[]);
    for host in HOSTS {
        assert!(
            changed(&again, host).contains("changed=0"),
            "{}",
            again.stdout
        );
    }
    assert_eq!(
        lab.query("quay", "SELECT count(*) FROM servicekeyapproval"),
        ["1"]
    );

    // Extend moves the date and nothing else.
    let before = lab.query("quay", "SELECT row_to_json(k)::text FROM servicekey k");
    lab.ok(
        "quay-readonly-extend.yml",
        &["-e", "quay_readonly_expiration=2100-06-30T12:00:00"],
    );
    let after = lab.query("quay", "SELECT row_to_json(k)::text FROM servicekey k");
    let mut expected: Json = serde_json::from_str(&before[0]).unwrap();
    expected["expiration_date"] = "2100-06-30T12:00:00".into();
    assert_eq!(serde_json::from_str::<Json>(&after[0]).unwrap(), expected);
    let again = lab.ok(
        "quay-readonly-extend.yml",
        &["-e", "quay_readonly_expiration=2100-06-30T12:00:00"],
    );
    assert!(
        changed(&again, "host1").contains("changed=0"),
        "{}",
        again.stdout
    );

    lab.ok("quay-readonly-disable.yml", &[]);
    for port in QUAY_PORTS {
        assert_eq!(info(port)["registry_state"], "normal");
        assert_eq!(
            http("PUT", port, "/v2/library/busybox/blobs/uploads/").0 / 100,
            2
        );
    }
    for i in 1..=4 {
        let config = std::fs::read_to_string(lab.bundle(i).join("config.yaml")).unwrap();
        assert!(!config.contains("REGISTRY_STATE"), "{config}");
        assert!(!lab.bundle(i).join("quay-readonly.pem").exists());
    }
}

#[test]
fn backup_then_restore_into_a_fresh_database_and_bundle() {
    let (_turn, lab) = lab();
    lab.reset();
    let output = lab.ok("quay-backup.yml", &["-e", "quay_backup_name=full"]);
    let folder = lab.dir.join("backups/full");
    // The registry is writable again.
    for port in QUAY_PORTS {
        assert_eq!(info(port)["registry_state"], "normal", "{}", output.stdout);
    }
    let check = Command::new("sha256sum")
        .args(["--check", "--strict", "MANIFEST.sha256"])
        .current_dir(&folder)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let manifest = std::fs::read_to_string(folder.join("MANIFEST.sha256")).unwrap();
    for host in HOSTS {
        assert!(
            manifest.contains(&format!("./{host}/config.tar")),
            "{manifest}"
        );
        assert!(
            manifest.contains(&format!("./{host}/run-command.json")),
            "{manifest}"
        );
    }
    assert!(manifest.contains("./quay-backup.sql"));

    // Restore into a new database and new bundle directories.
    let new_root = "{{ host_root }}/restored";
    let dsn = "postgresql://quay:quay-secret-pw@127.0.0.1:55433/quay_restored";
    lab.query("postgres", "DROP DATABASE IF EXISTS quay_restored");
    let restore = [
        "-e",
        &format!("quay_restore_from={}", folder.display()),
        "-e",
        &format!("quay_db_uri={dsn}"),
        "-e",
        &format!(r#"{{"quay_root": "{new_root}"}}"#),
    ]
    .map(|s| s.to_owned());
    let args: Vec<&str> = restore.iter().map(String::as_str).collect();
    lab.ok("quay-restore.yml", &args);
    let rows = "SELECT row_to_json(k)::text FROM servicekey k ORDER BY id";
    assert_eq!(lab.query("quay_restored", rows), lab.query("quay", rows));
    let approvals = "SELECT row_to_json(a)::text FROM servicekeyapproval a ORDER BY id";
    assert_eq!(
        lab.query("quay_restored", approvals),
        lab.query("quay", approvals)
    );
    let kid = std::fs::read_to_string(lab.dir.join("keys/quay-readonly.kid")).unwrap();
    for i in 1..=4 {
        // The archive holds the bundle as it was during the backup, in read-only mode.
        let archived = tempfile::tempdir().unwrap();
        let untar = Command::new("tar")
            .arg("-xf")
            .arg(folder.join(format!("host{i}/config.tar")))
            .arg("-C")
            .arg(archived.path())
            .status()
            .unwrap();
        assert!(untar.success());
        assert_eq!(
            listing(archived.path()),
            ["config.yaml", "quay-readonly.kid", "quay-readonly.pem"]
        );
        assert_eq!(
            std::fs::read_to_string(archived.path().join("quay-readonly.kid")).unwrap(),
            kid
        );
        // The restored bundle is the registry's normal one, pointing at the new database.
        let new = lab.root(i).join("restored/config");
        assert_eq!(listing(&new), listing(&lab.bundle(i)), "host{i}");
        let config = std::fs::read_to_string(new.join("config.yaml")).unwrap();
        assert!(config.contains(&format!("DB_URI: \"{dsn}\"")), "{config}");
        assert_eq!(
            std::fs::read_to_string(lab.bundle(i).join("config.yaml"))
                .unwrap()
                .replace("/quay\"", "/quay_restored\""),
            config
        );
    }
    // A second restore changes nothing.
    let again = lab.ok("quay-restore.yml", &args);
    for host in HOSTS {
        assert!(
            changed(&again, host).contains("changed=0"),
            "{}",
            again.stdout
        );
    }
    lab.ok("quay-deploy.yml", &[]);
}

#[test]
fn a_failed_dump_still_leaves_the_registry_writable() {
    let (_turn, lab) = lab();
    lab.reset();
    // pg_dump cannot write where a directory stands.
    let dump = lab.dir.join("backups/broken/quay-backup.sql");
    std::fs::create_dir_all(&dump).unwrap();
    let output = lab.run("quay-backup.yml", &["-e", "quay_backup_name=broken"]);
    assert_eq!(output.code, 2, "{}", output.stdout);
    assert!(
        output.stdout.contains("TASK [Read-only mode off]"),
        "{}",
        output.stdout
    );
    for port in QUAY_PORTS {
        assert_eq!(info(port)["registry_state"], "normal");
        assert_eq!(
            http("PUT", port, "/v2/library/busybox/blobs/uploads/").0 / 100,
            2
        );
    }
}

#[test]
fn geo_replication_runs_one_config_and_restarts_site_by_site() {
    let (_turn, lab) = lab();
    lab.reset();
    for i in 1..=4 {
        let _ = std::fs::write(lab.dir.join(format!("events/host{i}/log")), "");
    }
    // A change of config.yaml that every site must take.
    let output = lab.ok(
        "quay-georeplication.yml",
        &["-e", "quay_hostname=registry.example.test"],
    );
    let sums: BTreeSet<String> = (1..=4)
        .map(|i| sha256(&lab.bundle(i).join("config.yaml")))
        .collect();
    assert_eq!(sums.len(), 1, "{}", output.stdout);
    for (i, port) in QUAY_PORTS.into_iter().enumerate() {
        let expected = if i < 2 { "usstorage" } else { "eustorage" };
        assert_eq!(info(port)["storage_preference"], expected, "host{}", i + 1);
    }
    // Each site was down (stop..start) while no other site was.
    let mut windows = Vec::new();
    for i in 1..=4 {
        let log = std::fs::read_to_string(lab.dir.join(format!("events/host{i}/log"))).unwrap();
        // `TIME EVENT NAME port=... pid=... ...`, one line per start, refusal and stop.
        let events: Vec<(String, String)> = log
            .lines()
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                let time = words.next()?;
                Some((words.next()?.to_owned(), time.to_owned()))
            })
            .collect();
        let stop = events
            .iter()
            .find(|(kind, _)| kind == "stop")
            .map(|e| e.1.clone());
        let start = events
            .iter()
            .rfind(|(kind, _)| kind == "start")
            .map(|e| e.1.clone());
        let (Some(stop), Some(start)) = (stop, start) else {
            panic!("host{i} did not restart: {log:?}");
        };
        windows.push((stop, start, i));
    }
    windows.sort();
    for pair in windows.windows(2) {
        assert!(pair[0].1 < pair[1].0, "sites down at once: {windows:?}");
    }
    lab.ok(
        "quay-deploy.yml",
        &["-e", "quay_hostname=registry.example.test"],
    );
    lab.ok("quay-deploy.yml", &[]);
}

#[test]
fn every_shipped_playbook_validates_against_the_example_inventory() {
    let mut playbooks: Vec<PathBuf> = std::fs::read_dir(repo_root().join("playbooks"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yml"))
        .collect();
    playbooks.sort();
    assert!(playbooks.len() >= 7, "{playbooks:?}");
    for playbook in playbooks {
        let output = Command::new(env!("CARGO_BIN_EXE_quayside"))
            .arg("validate")
            .arg(&playbook)
            .args([
                "-i",
                "inventory/example.yml",
                "-e",
                "quay_restore_from=/backups/x",
            ])
            .current_dir(repo_root())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.ends_with(": ok\n"),
            "{}: {stdout}{}",
            playbook.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn no_secret_reaches_any_output_or_log() {
    let (_turn, lab) = lab();
    lab.reset();
    let scratch = tempfile::tempdir().unwrap();
    let log = scratch.path().join("run.log");
    let log_arg = log.display().to_string();
    let loud = [
        "-vvv",
        "--diff",
        "--output",
        "json",
        "--log",
        log_arg.as_str(),
    ];
    let mut outputs = Vec::new();
    for (playbook, extra) in [
        ("quay-readonly-enable.yml", vec![]),
        (
            "quay-readonly-extend.yml",
            vec!["-e", "quay_readonly_expiration=2100-01-01T00:00:00"],
        ),
        ("quay-readonly-disable.yml", vec![]),
        ("quay-backup.yml", vec!["-e", "quay_backup_name=secrets"]),
        ("quay-georeplication.yml", vec![]),
        (
            "quay-deploy.yml",
            vec!["-e", "quay_secret_key=rotated-secret-key-value"],
        ),
    ] {
        let mut args: Vec<&str> = loud.to_vec();
        args.extend(extra);
        let output = lab.ok(playbook, &args);
        outputs.push(format!("{}\n{}", output.stdout, output.stderr));
        // The same run in check mode, which prints diffs of what would change.
        let mut check = args.clone();
        check.push("--check");
        let output = lab.run(playbook, &check);
        outputs.push(format!("{}\n{}", output.stdout, output.stderr));
    }
    outputs.push(std::fs::read_to_string(&log).unwrap());
    let pem = std::fs::read_to_string(lab.dir.join("keys/quay-readonly.pem")).unwrap();
    // Every line of the private key's body (except those that only spell the public
    // modulus, which the .jwk shows too), and the secrets of the lab's inventory.
    let public = std::fs::read_to_string(lab.dir.join("keys/quay-readonly.jwk"))
        .unwrap()
        .replace('-', "+")
        .replace('_', "/");
    let mut secrets: Vec<&str> = pem
        .lines()
        .filter(|l| !l.starts_with("-----") && !public.contains(l))
        .collect();
    assert!(secrets.len() > 10);
    secrets.extend([
        "quay-secret-pw",
        "lab-secret-key-not-for-production",
        "rotated-secret-key-value",
        "lab-database-secret-key-not-for-production",
        "lab-us-secret-not-for-production",
    ]);
    for (index, text) in outputs.iter().enumerate() {
        for secret in &secrets {
            assert!(
                !text.contains(secret),
                "output {index} holds a secret `{secret}`:\n{text}"
            );
        }
    }
    // The diffs were there, masked.
    assert!(
        outputs.iter().any(|o| o.contains("SECRET_KEY: ********")),
        "{outputs:?}"
    );
    lab.ok("quay-deploy.yml", &[]);
}

#[test]
fn the_readme_example_of_the_read_only_procedure_validates() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let start = readme
        .find("```yaml\n- name: Put Quay into read-only mode")
        .expect("the example is in the README")
        + "```yaml\n".len();
    let end = start + readme[start..].find("```\n").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("play.yml"), &readme[start..end]).unwrap();
    std::fs::create_dir(dir.path().join("templates")).unwrap();
    std::fs::copy(
        repo_root().join("templates/config.yaml.j2"),
        dir.path().join("templates/config.yaml.j2"),
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_quayside"))
        .args(["validate", "play.yml", "-i"])
        .arg(repo_root().join("inventory/example.yml"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "play.yml: 1 play, 6 tasks, 4 hosts: ok\n",
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_plan_of_read_only_mode_on_a_deployed_registry() {
    let (_turn, lab) = lab();
    lab.reset();
    // The key exists (made by an earlier run), so the plan shows what the bundle and the
    // containers would do, and nothing else changes between runs.
    lab.ok("quay-readonly-enable.yml", &[]);
    lab.ok("quay-readonly-disable.yml", &[]);
    let kid = std::fs::read_to_string(lab.dir.join("keys/quay-readonly.kid")).unwrap();
    let output = lab.ok(
        "quay-readonly-enable.yml",
        &["--check", "--diff", "-f", "1"],
    );
    let text = crate::plans::filtered(&output.stdout, &lab.dir).replace(&kid, "KID");
    crate::plans::assert_snapshot("quay-readonly-enable.check-diff.txt", &text);
    assert_eq!(info(QUAY_PORTS[0])["registry_state"], "normal");
    lab.ok("quay-deploy.yml", &[]);
}
