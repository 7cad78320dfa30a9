//! The shipped Quay playbooks, end to end on the Quay lab (`scripts/quay-lab`): four sshd
//! "VMs" in two regions, a real PostgreSQL with Quay's tables, and podman running the Quay
//! stand-in image on every host. The tests share the lab and take turns.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value as Json;

use crate::common::{Output, repo_root};

const HOSTS: [&str; 4] = ["host1", "host2", "host3", "host4"];
/// The ports of the lab the test holds, as its `up` chose them (`DIR/ports`, written by
/// scripts/quay-lab).
static DB_PORT: HeldLab<u16> = HeldLab(|lab| &lab.db_port);
static QUAY_PORTS: HeldLab<[u16; 4]> = HeldLab(|lab| &lab.quay_ports);
const DENIED: &str = r#"{"errors":[{"code":"DENIED","message":"System is currently read-only. Pulls will succeed but all write operations are currently suspended.","detail":{},"is_readonly":true}]}"#;

pub(crate) struct Lab {
    pub(crate) dir: PathBuf,
    /// `DIR/ports`: what each port is for (`fleet`, `postgres`, `host1`..) and the port.
    ports: BTreeMap<String, u16>,
    db_port: u16,
    quay_ports: [u16; 4],
    /// `DIR/containers`: host `i`'s container is the `i`th.
    containers: Vec<String>,
}

/// The labs the tests share: `QUAYSIDE_TEST_LABS` of them (2 unless set), in
/// `QUAYSIDE_TEST_LAB_DIR` (target/quay-lab unless set), then `DIR-2`, ...; each brought up
/// the first time no lab before it is free. A test holds one lab at a time and has it to
/// itself; what the tests check is each lab's own (ports, database, containers, disks).
struct Pool {
    free: Mutex<Vec<bool>>,
    freed: Condvar,
    labs: Vec<(PathBuf, OnceLock<Lab>)>,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let dir = std::env::var_os("QUAYSIDE_TEST_LAB_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join("target/quay-lab"));
        let count: usize = std::env::var("QUAYSIDE_TEST_LABS")
            .map(|n| n.parse().expect("QUAYSIDE_TEST_LABS is a number"))
            .unwrap_or(2)
            .max(1);
        let labs = (1..=count)
            .map(|i| {
                let dir = match i {
                    1 => dir.clone(),
                    _ => PathBuf::from(format!("{}-{i}", dir.display())),
                };
                (dir, OnceLock::new())
            })
            .collect();
        Pool {
            free: Mutex::new(vec![true; count]),
            freed: Condvar::new(),
            labs,
        }
    })
}

thread_local! {
    /// The lab this test's thread holds.
    static HELD: Cell<Option<&'static Lab>> = const { Cell::new(None) };
}

/// A value of the lab the test holds (its ports), read as `*DB_PORT` or `QUAY_PORTS[0]`.
struct HeldLab<T: 'static>(fn(&'static Lab) -> &'static T);

impl<T> std::ops::Deref for HeldLab<T> {
    type Target = T;

    fn deref(&self) -> &T {
        let lab = HELD
            .get()
            .expect("the lab's ports are read by the test that holds the lab (`lab()`)");
        (self.0)(lab)
    }
}

/// A test's hold on labs, given back when dropped.
struct Turn(Vec<usize>);

impl Drop for Turn {
    fn drop(&mut self) {
        HELD.set(None);
        let pool = pool();
        let mut free = pool
            .free
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for &i in &self.0 {
            free[i] = true;
        }
        pool.freed.notify_all();
    }
}

/// A lab to this test alone, the first that is free.
fn lab() -> (Turn, &'static Lab) {
    let pool = pool();
    let mut free = pool
        .free
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let i = loop {
        if let Some(i) = free.iter().position(|&f| f) {
            break i;
        }
        free = pool
            .freed
            .wait(free)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
    };
    free[i] = false;
    drop(free);
    let turn = Turn(vec![i]);
    let (dir, lab) = &pool.labs[i];
    let lab = lab.get_or_init(|| Lab::up(dir, &[]));
    HELD.set(Some(lab));
    (turn, lab)
}

/// A lab while no other test holds any: for what the labs share (the retry files beside
/// the playbooks).
fn lab_alone() -> (Turn, &'static Lab) {
    let pool = pool();
    let mut free = pool
        .free
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    while !free.iter().all(|&f| f) {
        free = pool
            .freed
            .wait(free)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
    }
    free.iter_mut().for_each(|f| *f = false);
    drop(free);
    let turn = Turn((0..pool.labs.len()).collect());
    let (dir, lab) = &pool.labs[0];
    let lab = lab.get_or_init(|| Lab::up(dir, &[]));
    HELD.set(Some(lab));
    (turn, lab)
}

impl Lab {
    /// `scripts/quay-lab up --dir DIR ARGS...`, which must succeed.
    pub(crate) fn up(dir: &Path, args: &[&str]) -> Lab {
        let output = Command::new(repo_root().join("scripts/quay-lab"))
            .args(["up", "--dir"])
            .arg(dir)
            .args(args)
            .output()
            .expect("run scripts/quay-lab");
        assert!(
            output.status.success(),
            "scripts/quay-lab up failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let ports = std::fs::read_to_string(dir.join("ports"))
            .unwrap()
            .lines()
            .map(|line| {
                let (role, port) = line.split_once('=').unwrap();
                (role.to_owned(), port.parse().unwrap())
            })
            .collect();
        let containers = std::fs::read_to_string(dir.join("containers"))
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        let port = |ports: &BTreeMap<String, u16>, role: &str| ports[role];
        Lab {
            dir: dir.to_owned(),
            db_port: port(&ports, "postgres"),
            quay_ports: [1, 2, 3, 4].map(|i| port(&ports, &format!("host{i}"))),
            ports,
            containers,
        }
    }

    /// The port the lab gave to `role` (`fleet`, `postgres`, `host1`..`host4`).
    pub(crate) fn port(&self, role: &str) -> u16 {
        self.ports[role]
    }

    /// Host `i`'s container (1-based).
    pub(crate) fn container(&self, i: usize) -> &str {
        &self.containers[i - 1]
    }

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
        self.run(playbook, extra).success()
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

    /// Run a playbook with arguments built at run time.
    fn run_with(&self, playbook: &str, extra: &[String]) -> Output {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        self.run(playbook, &extra)
    }

    fn ok_with(&self, playbook: &str, extra: &[String]) -> Output {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        self.ok(playbook, &extra)
    }

    /// podman as the lab runs it (its own storage, through `CONTAINERS_CONF`).
    fn podman(&self, args: &[&str]) -> Vec<u8> {
        let output = Command::new("podman")
            .args(args)
            .env("CONTAINERS_CONF", self.dir.join("podman/containers.conf"))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "podman {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    }

    /// Drop a database of the lab's server, even with Quays still connected to it.
    fn drop_database(&self, name: &str) {
        self.query(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        );
    }

    /// Empty every stand-in's event log.
    fn clear_events(&self) {
        for i in 1..=4 {
            std::fs::write(self.dir.join(format!("events/host{i}/log")), "").unwrap();
        }
    }

    /// Host `i`'s stand-in events since the last `clear_events`: (kind, time).
    fn events(&self, i: usize) -> Vec<(String, String)> {
        let log = std::fs::read_to_string(self.dir.join(format!("events/host{i}/log"))).unwrap();
        // `TIME EVENT NAME port=... pid=... ...`, one line per start, refusal and stop.
        log.lines()
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                let time = words.next()?;
                Some((words.next()?.to_owned(), time.to_owned()))
            })
            .collect()
    }

    /// Remove a directory from every host's disk.
    fn remove_on_hosts(&self, name: &str) {
        for i in 1..=4 {
            let _ = std::fs::remove_dir_all(self.root(i).join(name));
        }
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

pub(crate) fn info(port: u16) -> Json {
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

/// A run that changed nothing on any VM of the lab: what a second run must be.
#[track_caller]
fn assert_changes_nothing(output: &Output) {
    for host in HOSTS {
        assert!(
            changed(output, host).contains("changed=0"),
            "{host}: {}",
            output.stdout
        );
    }
}

/// The DSN of database `name` on the lab's server, as the `quay` role.
fn dsn(name: &str) -> String {
    format!(
        "postgresql://quay:quay-secret-pw@127.0.0.1:{}/{name}",
        *DB_PORT
    )
}

/// `quay-restore.yml`'s arguments: restore `folder` into database `database` and the
/// bundle directories `{{ host_root }}/ROOT/config`.
fn restore_args(folder: &Path, database: &str, root: &str) -> Vec<String> {
    vec![
        "-e".to_owned(),
        format!("quay_restore_from={}", folder.display()),
        "-e".to_owned(),
        format!("quay_db_uri={}", dsn(database)),
        "-e".to_owned(),
        format!(r#"{{"quay_root": "{{{{ host_root }}}}/{root}"}}"#),
    ]
}

/// A tar archive unpacked into a fresh directory.
fn unpack(archive: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("tar")
        .arg("-xf")
        .arg(archive)
        .arg("-C")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success(), "tar -xf {}", archive.display());
    dir
}

/// The files of a bundle directory: name → (mode bits, contents).
fn tree(dir: &Path) -> BTreeMap<String, (u32, Vec<u8>)> {
    use std::os::unix::fs::PermissionsExt;
    listing(dir)
        .into_iter()
        .map(|name| {
            let path = dir.join(&name);
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
            (name, (mode, std::fs::read(&path).unwrap()))
        })
        .collect()
}

/// A backup folder's name for the current UTC second, as quay-backup.yml names it.
fn utc_name() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H%M%SZ").to_string()
}

/// The shipped playbooks, `playbooks/*.yml`, sorted: every test that must cover all of them
/// takes the list from here, so a new playbook cannot be left out.
fn shipped_playbooks() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo_root().join("playbooks"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yml"))
        .collect();
    names.sort();
    for expected in ["quay-restore.yml", "fleet-check.yml", "quay-backup.yml"] {
        assert!(names.iter().any(|n| n == expected), "{names:?}");
    }
    names
}

const ROWS: &str = "SELECT row_to_json(k)::text FROM servicekey k ORDER BY id";
const APPROVALS: &str = "SELECT row_to_json(a)::text FROM servicekeyapproval a ORDER BY id";

/// The lab's `servicekey` rows as a backup dumped them: the backup's read-only off expires
/// the read-only key (`kid`) after the dump, which still holds its expiration date.
fn rows_as_dumped(lab: &Lab, kid: &str) -> Vec<Json> {
    lab.query("quay", ROWS)
        .iter()
        .map(|row| {
            let mut row: Json = serde_json::from_str(row).unwrap();
            if row["kid"] == kid {
                assert_ne!(row["expiration_date"], "2099-12-31T00:00:00", "not expired");
                row["expiration_date"] = "2099-12-31T00:00:00".into();
            }
            row
        })
        .collect()
}

/// Rows of `ROWS` as JSON.
fn parsed(rows: Vec<String>) -> Vec<Json> {
    rows.iter()
        .map(|row| serde_json::from_str(row).unwrap())
        .collect()
}

#[test]
fn read_only_cycle_enable_extend_disable() {
    let (_turn, lab) = lab();
    lab.reset();
    for port in *QUAY_PORTS {
        assert_eq!(
            http("PUT", port, "/v2/library/busybox/blobs/uploads/").0 / 100,
            2
        );
    }

    lab.clear_events();
    lab.ok("quay-readonly-enable.yml", &[]);
    let kid = std::fs::read_to_string(lab.dir.join("keys/quay-readonly.kid")).unwrap();
    for (i, port) in QUAY_PORTS.into_iter().enumerate() {
        assert_eq!(info(port)["registry_state"], "readonly", "host{}", i + 1);
        assert_eq!(info(port)["kid"], kid.as_str(), "host{}", i + 1);
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
    // As the manual does it: every Quay stopped, then every Quay started (no host was
    // started before the last one stopped).
    let (mut stops, mut starts) = (Vec::new(), Vec::new());
    for i in 1..=4 {
        let events = lab.events(i);
        let kinds: Vec<&str> = events.iter().map(|(kind, _)| kind.as_str()).collect();
        assert_eq!(kinds, ["stop", "start"], "host{i}");
        stops.push(events[0].1.clone());
        starts.push(events[1].1.clone());
    }
    let last_stop = stops.iter().max().unwrap();
    let first_start = starts.iter().min().unwrap();
    assert!(
        last_stop < first_start,
        "a Quay started before every Quay stopped: stops {stops:?}, starts {starts:?}"
    );
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
    assert_changes_nothing(&again);
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
    for port in *QUAY_PORTS {
        assert_eq!(info(port)["registry_state"], "normal");
        assert_eq!(
            http("PUT", port, "/v2/library/busybox/blobs/uploads/").0 / 100,
            2
        );
    }
    for i in 1..=4 {
        let config = std::fs::read_to_string(lab.bundle(i).join("config.yaml")).unwrap();
        assert!(!config.contains("REGISTRY_STATE"), "{config}");
        assert!(!config.contains("INSTANCE_SERVICE_KEY"), "{config}");
        assert_eq!(listing(&lab.bundle(i)), ["config.yaml"], "host{i}");
    }
    // The key is expired, not deleted: Quay accepts it no more, nor any token it signs.
    let expired = |kid: &str| {
        lab.query(
            "quay",
            &format!(
                "SELECT expiration_date <= timezone('utc', now()) FROM servicekey WHERE kid = '{kid}'"
            ),
        )
    };
    assert_eq!(expired(&kid), ["t"]);
    assert_eq!(lab.query("quay", "SELECT count(*) FROM servicekey"), ["1"]);
    for port in *QUAY_PORTS {
        assert_eq!(
            http("GET", port, &format!("/keys/services/quay/keys/{kid}")).0,
            403
        );
    }
    let again = lab.ok("quay-readonly-disable.yml", &[]);
    assert_changes_nothing(&again);

    // Enabling again makes a fresh key: the expired one would keep Quay from starting.
    lab.ok("quay-readonly-enable.yml", &[]);
    let fresh = std::fs::read_to_string(lab.dir.join("keys/quay-readonly.kid")).unwrap();
    assert_ne!(fresh, kid);
    for port in *QUAY_PORTS {
        assert_eq!(info(port)["kid"], fresh.as_str());
        assert_eq!(http("GET", port, "/health/instance").0, 200);
    }
    assert_eq!(expired(&kid), ["t"]);
    assert_eq!(expired(&fresh), ["f"]);
    assert_eq!(lab.query("quay", "SELECT count(*) FROM servicekey"), ["2"]);
    lab.ok("quay-readonly-disable.yml", &[]);
}

/// The `servicekey` row of the key in `quay_keys_dir` made unusable in one of the ways
/// Quay's boot refuses (or soon will), while the registry is read-only on it.
const UNUSABLE_KEY_ROWS: [(&str, &str); 4] = [
    (
        "expired",
        "UPDATE servicekey SET expiration_date = timezone('utc', now()) - interval '1 day'",
    ),
    (
        "expiring within the margin",
        "UPDATE servicekey SET expiration_date = timezone('utc', now()) + interval '10 minutes'",
    ),
    ("unapproved", "UPDATE servicekey SET approval_id = NULL"),
    ("deleted", "DELETE FROM servicekey"),
];

#[test]
fn enable_replaces_a_key_quay_would_refuse_and_every_quay_stays_up() {
    let (_turn, lab) = lab();
    for (case, sql) in UNUSABLE_KEY_ROWS {
        lab.reset();
        lab.ok("quay-readonly-enable.yml", &[]);
        let old = std::fs::read_to_string(lab.dir.join("keys/quay-readonly.kid")).unwrap();
        lab.query("quay", &format!("{sql} WHERE kid = '{old}'"));

        lab.clear_events();
        let output = lab.ok("quay-readonly-enable.yml", &["--output", "json"]);
        let fresh = std::fs::read_to_string(lab.dir.join("keys/quay-readonly.kid")).unwrap();
        assert_ne!(fresh, old, "{case}");
        let replaced = output
            .events()
            .into_iter()
            .find(|e| {
                e["event"] == "host_result"
                    && e["task"]
                        == "Replace a read-only key Quay would refuse with a fresh key pair"
            })
            .expect("the replacement ran");
        assert_eq!(replaced["status"], "changed", "{case}: {}", output.stdout);
        // Every Quay restarted once onto the fresh key, none was refused.
        for (i, port) in QUAY_PORTS.into_iter().enumerate() {
            let kinds: Vec<String> = lab.events(i + 1).into_iter().map(|(k, _)| k).collect();
            assert_eq!(kinds, ["stop", "start"], "{case}: host{}", i + 1);
            assert_eq!(info(port)["kid"], fresh.as_str(), "{case}");
            assert_eq!(http("GET", port, "/health/instance").0, 200, "{case}");
            assert_eq!(
                std::fs::read_to_string(lab.bundle(i + 1).join("quay-readonly.kid")).unwrap(),
                fresh
            );
        }
        assert_eq!(
            lab.query(
                "quay",
                &format!(
                    "SELECT a.approval_type || ' ' || k.expiration_date FROM servicekey k \
                     JOIN servicekeyapproval a ON a.id = k.approval_id WHERE k.kid = '{fresh}'"
                )
            ),
            ["ServiceKeyApprovalType.SUPERUSER 2099-12-31 00:00:00"],
            "{case}"
        );
        // The fresh key is kept from now on.
        let again = lab.ok("quay-readonly-enable.yml", &[]);
        for host in HOSTS {
            assert!(
                changed(&again, host).contains("changed=0"),
                "{case}: {}",
                again.stdout
            );
        }
    }
    lab.ok("quay-readonly-disable.yml", &[]);
}

#[test]
fn enable_refuses_an_expiration_date_quay_would_soon_reject_before_anything_changes() {
    let (_turn, lab) = lab();
    lab.reset();
    let bundles: Vec<_> = (1..=4).map(|i| tree(&lab.bundle(i))).collect();
    lab.clear_events();
    // Past, and in the future but too soon.
    let soon = (chrono::Utc::now() + chrono::Duration::minutes(30))
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();
    for shown in ["2001-01-01T00:00:00", soon.as_str()] {
        let output = lab
            .run(
                "quay-readonly-enable.yml",
                &["-e", &format!("quay_readonly_expiration={shown}")],
            )
            .status(2);
        assert!(
            output.stdout.contains(&format!(
                "`quay_readonly_expiration` {shown} (UTC) is less than 3600 seconds away: Quay \
                 refuses to start read-only on an expired key, so nothing was changed; run again \
                 with a later date (-e quay_readonly_expiration=YYYY-MM-DDTHH:MM:SS), or none \
                 (empty) for a key that never expires"
            )),
            "{}",
            output.stdout
        );
    }
    // The margin is the inventory's to choose.
    let output = lab
        .run(
            "quay-readonly-enable.yml",
            &[
                "-e",
                "quay_readonly_expiration=2099-12-31T00:00:00",
                "-e",
                "quay_readonly_min_validity=4000000000",
            ],
        )
        .status(2);
    assert!(
        output
            .stdout
            .contains("is less than 4000000000 seconds away"),
        "{}",
        output.stdout
    );
    // No key made, no row, no bundle touched, no Quay restarted.
    assert!(!lab.dir.join("keys").exists());
    assert_eq!(lab.query("quay", "SELECT count(*) FROM servicekey"), ["0"]);
    assert_eq!(
        lab.query("quay", "SELECT count(*) FROM servicekeyapproval"),
        ["0"]
    );
    for i in 1..=4 {
        assert_eq!(tree(&lab.bundle(i)), bundles[i - 1], "host{i}");
        assert!(lab.events(i).is_empty(), "host{i}: {:?}", lab.events(i));
    }
    for port in *QUAY_PORTS {
        assert_eq!(info(port)["registry_state"], "normal");
    }
}

#[test]
fn disable_deletes_the_read_only_key_by_its_kid_when_asked() {
    let (_turn, lab) = lab();
    lab.reset();
    lab.ok("quay-readonly-enable.yml", &[]);
    let kid = std::fs::read_to_string(lab.dir.join("keys/quay-readonly.kid")).unwrap();
    // Another key of the same name (an older read-only key, or one made by hand), with its
    // own approval: it is not the key in quay_keys_dir, and stays.
    lab.query(
        "quay",
        "WITH a AS (INSERT INTO servicekeyapproval (approval_type, approved_date, notes) \
           VALUES ('ServiceKeyApprovalType.SUPERUSER', now(), 'made by hand') RETURNING id) \
         INSERT INTO servicekey (name, kid, service, jwk, metadata, created_date, approval_id) \
           SELECT 'quay-readonly', 'another-kid', 'quay', '{}', '{}', now(), id FROM a",
    );
    let output = lab.ok(
        "quay-readonly-disable.yml",
        &["-e", "quay_readonly_delete_key=true", "--output", "json"],
    );
    let deleted = output
        .events()
        .into_iter()
        .find(|e| {
            e["event"] == "host_result" && e["task"] == "Delete the read-only key and its approval"
        })
        .expect("the delete ran");
    assert_eq!(deleted["status"], "changed", "{}", output.stdout);
    assert_eq!(
        lab.query("quay", "SELECT kid FROM servicekey ORDER BY id"),
        ["another-kid"]
    );
    assert_eq!(
        lab.query(
            "quay",
            "SELECT a.notes FROM servicekeyapproval a JOIN servicekey k ON k.approval_id = a.id"
        ),
        ["made by hand"]
    );
    assert_eq!(
        lab.query("quay", "SELECT count(*) FROM servicekeyapproval"),
        ["1"]
    );
    assert_eq!(
        lab.query(
            "quay",
            &format!("SELECT count(*) FROM servicekey WHERE kid = '{kid}'")
        ),
        ["0"]
    );
    // Nothing left to delete: a second run changes nothing.
    let again = lab.ok(
        "quay-readonly-disable.yml",
        &["-e", "quay_readonly_delete_key=true"],
    );
    assert!(
        changed(&again, "host1").contains("changed=0"),
        "{}",
        again.stdout
    );
}

#[test]
fn backup_then_restore_into_a_fresh_database_and_bundle() {
    let (_turn, lab) = lab();
    lab.reset();
    // Already read-only, so the backup's own "read-only on" changes no bundle and each
    // host's archive keeps the times its files have. host2's are older: its archive differs
    // from the others' byte for byte, though it unpacks to the same files.
    lab.ok("quay-readonly-enable.yml", &[]);
    let status = Command::new("touch")
        .args(["-d", "2001-02-03T04:05:06"])
        .args(
            listing(&lab.bundle(2))
                .iter()
                .map(|n| lab.bundle(2).join(n)),
        )
        .arg(lab.bundle(2))
        .status()
        .unwrap();
    assert!(status.success());
    let output = lab.ok("quay-backup.yml", &["-e", "quay_backup_name=full"]);
    let folder = lab.dir.join("backups/full");
    // The registry is writable again.
    for port in *QUAY_PORTS {
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
        for file in ["config.tar", "run-command.txt"] {
            assert!(
                manifest.contains(&format!("./{host}/{file}\n")),
                "{manifest}"
            );
        }
    }
    assert!(manifest.contains("./quay-backup.sql\n"));
    // The lab's storage is S3: object storage is not copied (the README says what to do).
    assert!(!manifest.contains("storage.tar"), "{manifest}");
    let archive = |i: usize| folder.join(format!("host{i}/config.tar"));
    assert_ne!(
        std::fs::read(archive(1)).unwrap(),
        std::fs::read(archive(2)).unwrap(),
        "host2's archive should differ from host1's in its times"
    );
    let kid = std::fs::read_to_string(lab.dir.join("keys/quay-readonly.kid")).unwrap();
    for i in 1..=4 {
        // The archive holds the bundle as it was during the backup, in read-only mode.
        let archived = unpack(&archive(i));
        assert_eq!(
            listing(archived.path()),
            ["config.yaml", "quay-readonly.kid", "quay-readonly.pem"]
        );
        assert_eq!(
            std::fs::read_to_string(archived.path().join("quay-readonly.kid")).unwrap(),
            kid
        );
        assert_eq!(
            tree(archived.path()),
            tree(unpack(&archive(1)).path()),
            "host{i}"
        );
        // The run command, one argument a line, as the manual's
        // `podman inspect quay | jq -r '.[0].Config.CreateCommand | .[]'` prints it.
        let inspect: Json =
            serde_json::from_slice(&lab.podman(&["inspect", lab.container(i)])).unwrap();
        let words: Vec<&str> = inspect[0]["Config"]["CreateCommand"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap())
            .collect();
        assert_eq!(words[..2], ["podman", "run"]);
        assert!(words.contains(&format!("--name={}", lab.container(i)).as_str()));
        assert_eq!(words.last(), Some(&"localhost/quay-standin:latest"));
        assert_eq!(
            std::fs::read_to_string(folder.join(format!("host{i}/run-command.txt"))).unwrap(),
            format!("{}\n", words.join("\n"))
        );
    }

    // Restore into a database that does not exist yet and new bundle directories.
    lab.drop_database("quay_restored");
    lab.remove_on_hosts("restored");
    let args = restore_args(&folder, "quay_restored", "restored");
    lab.ok_with("quay-restore.yml", &args);
    assert_eq!(
        parsed(lab.query("quay_restored", ROWS)),
        rows_as_dumped(lab, &kid)
    );
    assert_eq!(
        lab.query("quay_restored", APPROVALS),
        lab.query("quay", APPROVALS)
    );
    assert_eq!(
        lab.query(
            "quay_restored",
            "SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'"
        ),
        ["pg_trgm"]
    );
    assert_eq!(
        lab.query(
            "postgres",
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'quay_restored'"
        ),
        ["quay"]
    );
    let old_uri = format!("DB_URI: \"{}\"\n", dsn("quay"));
    let new_uri = format!("DB_URI: \"{}\"\n", dsn("quay_restored"));
    for (i, port) in (1..=4).zip(*QUAY_PORTS) {
        // Each host's bundle is its archive, file for file and mode for mode; config.yaml
        // differs in its DB_URI line only.
        let mut want = tree(unpack(&archive(i)).path());
        let config = want.get_mut("config.yaml").unwrap();
        let text = String::from_utf8(config.1.clone()).unwrap();
        assert!(text.contains(&old_uri), "{text}");
        config.1 = text.replace(&old_uri, &new_uri).into_bytes();
        let restored = lab.root(i).join("restored/config");
        assert_eq!(tree(&restored), want, "host{i}");
        // Its Quay runs on that bundle and the restored database: read-only, as it was
        // backed up, with the archived key, which the restored database holds.
        let started = info(port);
        assert_eq!(started["registry_state"], "readonly", "host{i}");
        assert_eq!(started["kid"], kid.as_str(), "host{i}");
        assert_eq!(
            started["config_sha256"],
            sha256(&restored.join("config.yaml")),
            "host{i}"
        );
        assert_eq!(http("GET", port, "/health/instance").0, 200);
        assert_eq!(
            http("GET", port, &format!("/keys/services/quay/keys/{kid}")).0,
            200
        );
    }
    // A second restore changes nothing.
    let again = lab.ok_with("quay-restore.yml", &args);
    assert_changes_nothing(&again);
    lab.ok("quay-deploy.yml", &[]);
}

/// Extra variables that give the lab one LocalStorage location instead of its two S3 ones
/// (LocalStorage cannot be replicated, and each site then prefers it).
const LOCAL_STORAGE: &str = r#"{"quay_storage": [{"name": "local", "driver": "LocalStorage", "params": {"storage_path": "/datastorage/registry"}}], "quay_storage_replication": false, "quay_storage_site": "local"}"#;

/// `-e LOCAL_STORAGE` followed by `extra`.
fn local_storage(extra: &[&str]) -> Vec<String> {
    ["-e", LOCAL_STORAGE]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect()
}

/// One file or directory of a storage tree as Quay would need it back: owner, group, mode,
/// ACL (`getfacl -cpn`, sorted) and, for a file, its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stored {
    uid: u32,
    gid: u32,
    mode: u32,
    acl: Vec<String>,
    contents: Option<Vec<u8>>,
}

fn acl(path: &Path) -> Vec<String> {
    let output = Command::new("getfacl")
        .args(["-cpn", "--"])
        .arg(path)
        .output()
        .unwrap();
    assert!(output.status.success(), "getfacl {}", path.display());
    let mut lines: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

/// Everything under `dir` (itself as `.`), without following links.
fn storage_tree(dir: &Path) -> BTreeMap<String, Stored> {
    use std::os::unix::fs::MetadataExt;
    fn walk(dir: &Path, name: &str, found: &mut BTreeMap<String, Stored>) {
        let path = if name == "." {
            dir.to_path_buf()
        } else {
            dir.join(name)
        };
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let contents = meta.is_file().then(|| std::fs::read(&path).unwrap());
        found.insert(
            name.to_owned(),
            Stored {
                uid: meta.uid(),
                gid: meta.gid(),
                mode: meta.mode(),
                acl: acl(&path),
                contents,
            },
        );
        if meta.is_dir() {
            for child in listing(&path) {
                let child = if name == "." {
                    child
                } else {
                    format!("{name}/{child}")
                };
                walk(dir, &child, found);
            }
        }
    }
    let mut found = BTreeMap::new();
    walk(dir, ".", &mut found);
    found
}

/// A blob as Quay (uid 1001) leaves it in its storage: directories and file owned by 1001,
/// with modes and ACL entries of their own so that a restore that loses them shows.
fn put_blob(storage: &Path, name: &str, contents: &[u8]) {
    use std::os::unix::fs::PermissionsExt;
    let path = storage.join(name);
    let mut dir = storage.to_path_buf();
    for part in Path::new(name).parent().unwrap().components() {
        dir.push(part);
        let _ = std::fs::create_dir(&dir);
        std::os::unix::fs::chown(&dir, Some(1001), Some(1001)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o750)).unwrap();
    }
    std::fs::write(&path, contents).unwrap();
    std::os::unix::fs::chown(&path, Some(1001), Some(1001)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let status = Command::new("setfacl")
        .args(["-m", "group:1002:r", "--"])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// Bytes no text decoder would pass through unchanged.
fn binary_blob(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ 0x80)
        .collect()
}

impl Lab {
    /// Host `i`'s storage directory (`quay_root/storage`, mounted as /datastorage).
    fn storage(&self, i: usize) -> PathBuf {
        self.root(i).join("quay/storage")
    }

    /// The lab on LocalStorage with a blob on host1 and one on host3 (host2 and host4 keep
    /// empty storage), backed up as `name`: the backup folder.
    fn local_storage_backup(&self, name: &str) -> PathBuf {
        self.reset();
        self.ok_with("quay-deploy.yml", &local_storage(&[]));
        for i in 1..=4 {
            let _ = std::fs::remove_dir_all(self.storage(i).join("registry"));
        }
        put_blob(
            &self.storage(1),
            "registry/sha256/ab/ab5f0e1c",
            &binary_blob(1, 70_000),
        );
        put_blob(
            &self.storage(3),
            "registry/sha256/cd/cd0a9b2e",
            &binary_blob(3, 1_000),
        );
        let _ = std::fs::remove_dir_all(self.dir.join("backups").join(name));
        self.ok_with(
            "quay-backup.yml",
            &local_storage(&["-e", &format!("quay_backup_name={name}")]),
        );
        self.dir.join("backups").join(name)
    }

    /// Each Quay's start time, to tell that none was restarted.
    fn started(&self) -> Vec<Json> {
        QUAY_PORTS.map(|p| info(p)["started_at"].clone()).to_vec()
    }
}

/// The source of the directory a Quay container has mounted at `target`.
fn mount_source(lab: &Lab, container: &str, target: &str) -> String {
    let inspect: Json = serde_json::from_slice(&lab.podman(&["inspect", container])).unwrap();
    inspect[0]["Mounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["Destination"] == target)
        .and_then(|m| m["Source"].as_str())
        .unwrap_or_else(|| panic!("{container} mounts nothing at {target}"))
        .to_owned()
}

/// A backup's MANIFEST.sha256 written again for what the folder now holds, as
/// quay-backup.yml writes it (a tampered archive then passes the manifest check).
fn rewrite_manifest(folder: &Path) {
    let status = Command::new("sh")
        .args([
            "-c",
            "find . -type f ! -name MANIFEST.sha256 | LC_ALL=C sort | xargs -d '\\n' sha256sum > MANIFEST.sha256",
        ])
        .current_dir(folder)
        .status()
        .unwrap();
    assert!(status.success());
}

/// A backup of a config.yaml as quayside's template wrote it before it followed Quay's
/// schema (`DB_CONNECTION_ARGS: {}`, which Quay's schema refuses and which turned
/// autorollback off) is restored with Quay's defaults for both arguments.
#[test]
fn restore_gives_an_old_config_quays_connection_defaults() {
    const CURRENT: &str = "DB_CONNECTION_ARGS:\n  autorollback: true\n  threadlocals: true\n";
    const OLD: &str = "DB_CONNECTION_ARGS: {}\n";
    let (_turn, lab) = lab();
    lab.reset();
    lab.ok("quay-backup.yml", &["-e", "quay_backup_name=old-template"]);
    let folder = lab.dir.join("backups/old-template");
    let mut archived = Vec::new();
    for i in 1..=4 {
        let archive = folder.join(format!("host{i}/config.tar"));
        let files = unpack(&archive);
        let config = files.path().join("config.yaml");
        let text = std::fs::read_to_string(&config).unwrap();
        assert!(text.contains(CURRENT), "{text}");
        let old = text.replace(CURRENT, OLD);
        std::fs::write(&config, &old).unwrap();
        let status = Command::new("tar")
            .arg("-C")
            .arg(files.path())
            .arg("-cf")
            .arg(&archive)
            .arg(".")
            .status()
            .unwrap();
        assert!(status.success());
        archived.push(old);
    }
    rewrite_manifest(&folder);

    lab.drop_database("quay_old_template");
    lab.remove_on_hosts("old-template");
    let args = restore_args(&folder, "quay_old_template", "old-template");
    lab.ok_with("quay-restore.yml", &args);
    let old_uri = format!("DB_URI: \"{}\"\n", dsn("quay"));
    let new_uri = format!("DB_URI: \"{}\"\n", dsn("quay_old_template"));
    for (i, port) in (1..=4).zip(*QUAY_PORTS) {
        let restored =
            std::fs::read_to_string(lab.root(i).join("old-template/config/config.yaml")).unwrap();
        assert_eq!(
            restored,
            archived[i - 1]
                .replace(&old_uri, &new_uri)
                .replace(OLD, CURRENT),
            "host{i}"
        );
        assert_eq!(http("GET", port, "/health/instance").0, 200, "host{i}");
    }
    let again = lab.ok_with("quay-restore.yml", &args);
    assert_changes_nothing(&again);
    lab.ok("quay-deploy.yml", &[]);
    lab.drop_database("quay_old_template");
}

#[test]
fn backup_and_restore_carry_local_storage_byte_for_byte() {
    let (_turn, lab) = lab();
    let folder = lab.local_storage_backup("local-storage");
    let before: Vec<BTreeMap<String, Stored>> =
        (1..=4).map(|i| storage_tree(&lab.storage(i))).collect();
    // What the backup is to carry: the blobs with their owner, mode and ACL, and the
    // directory's own `user:1001:rwx` (quay-start.yml).
    let blob = &before[0]["registry/sha256/ab/ab5f0e1c"];
    assert_eq!(
        (blob.uid, blob.gid, blob.mode & 0o7777),
        (1001, 1001, 0o640)
    );
    assert!(blob.acl.contains(&"group:1002:r--".to_owned()), "{blob:?}");
    assert_eq!(blob.contents.as_deref(), Some(&binary_blob(1, 70_000)[..]));
    assert_eq!(before[1].keys().collect::<Vec<_>>(), ["."]);
    for tree in &before {
        assert!(
            tree["."].acl.contains(&"user:1001:rwx".to_owned()),
            "{tree:?}"
        );
    }

    // The manifest lists every host's storage archive with its SHA-256, and they check.
    let manifest = std::fs::read_to_string(folder.join("MANIFEST.sha256")).unwrap();
    for i in 1..=4 {
        let archive = folder.join(format!("host{i}/storage.tar"));
        assert!(
            manifest.contains(&format!("{}  ./host{i}/storage.tar\n", sha256(&archive))),
            "{manifest}"
        );
        // The blobs may be private images: the archive is the owner's only.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&archive).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{} is {mode:o}", archive.display());
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

    // Restore into a new database and new install directories.
    lab.drop_database("quay_storage");
    lab.remove_on_hosts("restored-storage");
    let args = restore_args(&folder, "quay_storage", "restored-storage");
    let output = lab.ok_with("quay-restore.yml", &args);
    for i in 1..=4 {
        let restored = lab.root(i).join("restored-storage");
        assert_eq!(
            storage_tree(&restored.join("storage")),
            before[i - 1],
            "host{i}: {}",
            output.stdout
        );
        // Nothing staged is left beside it.
        assert_eq!(listing(&restored), ["config", "storage"], "host{i}");
        // Its Quay runs on the restored storage.
        assert_eq!(
            mount_source(lab, lab.container(i), "/datastorage"),
            restored.join("storage").display().to_string()
        );
        assert_eq!(http("GET", QUAY_PORTS[i - 1], "/health/instance").0, 200);
    }

    // A second restore changes nothing.
    let again = lab.ok_with("quay-restore.yml", &args);
    assert_changes_nothing(&again);
    for i in 1..=4 {
        let storage = lab.root(i).join("restored-storage/storage");
        assert_eq!(storage_tree(&storage), before[i - 1], "host{i}");
    }

    // A storage directory lost on one host after the restore (moved aside, with what its
    // Quay wrote since) comes back by itself, and that host's Quay is restarted onto it: a
    // running container still holds the directory it was started with.
    let storage = lab.root(1).join("restored-storage/storage");
    let aside = lab.root(1).join("restored-storage/storage.aside");
    std::fs::rename(&storage, &aside).unwrap();
    std::fs::write(aside.join("written-since"), "").unwrap();
    let output = lab.ok_with("quay-restore.yml", &args);
    assert!(
        changed(&output, "host1").contains("changed=3"),
        "{}",
        output.stdout
    );
    for host in ["host2", "host3", "host4"] {
        assert!(
            changed(&output, host).contains("changed=0"),
            "{}",
            output.stdout
        );
    }
    assert_eq!(storage_tree(&storage), before[0]);
    let seen = lab.podman(&["exec", lab.container(1), "ls", "/datastorage"]);
    assert_eq!(String::from_utf8_lossy(&seen), "registry\n");
    std::fs::remove_dir_all(&aside).unwrap();

    // Quay (uid 1001, in its container) writes into the restored storage, as a push would.
    lab.podman(&[
        "exec",
        lab.container(1),
        "sh",
        "-c",
        "mkdir /datastorage/registry/sha256/ef && echo pushed > /datastorage/registry/sha256/ab/new",
    ]);
    use std::os::unix::fs::MetadataExt;
    let written = lab
        .root(1)
        .join("restored-storage/storage/registry/sha256/ab/new");
    assert_eq!(std::fs::metadata(&written).unwrap().uid(), 1001);
    lab.ok("quay-deploy.yml", &[]);
}

#[test]
fn restore_refuses_a_storage_directory_that_holds_other_files() {
    let (_turn, lab) = lab();
    let folder = lab.local_storage_backup("local-occupied");
    let before: Vec<BTreeMap<String, Stored>> =
        (1..=4).map(|i| storage_tree(&lab.storage(i))).collect();
    lab.drop_database("quay_occupied");
    lab.remove_on_hosts("restored-occupied");
    // host3's storage holds a file of its own; host4's is there, empty (as quay-deploy.yml
    // leaves it): that one may take the backup.
    let occupied = lab.root(3).join("restored-occupied/storage");
    std::fs::create_dir_all(occupied.join("registry")).unwrap();
    std::fs::write(occupied.join("registry/other"), "not from this backup").unwrap();
    let empty = lab.root(4).join("restored-occupied/storage");
    std::fs::create_dir_all(&empty).unwrap();
    let occupied_before = storage_tree(&occupied);
    let started = lab.started();

    let args = restore_args(&folder, "quay_occupied", "restored-occupied");
    let refused = lab.run_with("quay-restore.yml", &args);
    assert_eq!(refused.code, 2, "{}", refused.stdout);
    let message = format!(
        "nothing was restored: files that are not this backup's are in `{}` on `host3`; move them aside, or restore into another `quay_root`",
        occupied.display()
    );
    for host in HOSTS {
        assert!(
            refused.stdout.contains(&format!(
                "fatal: [{host}]: FAILED! => {{\"changed\": false, \"msg\": \"{message}\"}}"
            )),
            "{}",
            refused.stdout
        );
    }
    // Nothing changed: no install directory made, nothing staged or left behind, no
    // database, no Quay restarted.
    for i in [1, 2] {
        assert!(!lab.root(i).join("restored-occupied").exists(), "host{i}");
    }
    assert_eq!(storage_tree(&occupied), occupied_before);
    assert_eq!(listing(&lab.root(3).join("restored-occupied")), ["storage"]);
    assert_eq!(listing(&lab.root(4).join("restored-occupied")), ["storage"]);
    assert!(listing(&empty).is_empty());
    assert_eq!(
        lab.query(
            "postgres",
            "SELECT count(*) FROM pg_database WHERE datname = 'quay_occupied'"
        ),
        ["0"]
    );
    assert_eq!(lab.started(), started, "a Quay was restarted");

    // Moved aside, the directory takes the backup; so does the empty one.
    std::fs::remove_dir_all(occupied.join("registry")).unwrap();
    lab.ok_with("quay-restore.yml", &args);
    for i in 1..=4 {
        let storage = lab.root(i).join("restored-occupied/storage");
        assert_eq!(storage_tree(&storage), before[i - 1], "host{i}");
    }
    let _ = std::fs::remove_file(repo_root().join("playbooks/quay-restore.retry"));
    lab.ok("quay-deploy.yml", &[]);
}

/// A tar archive of `(name, kind, link target)` members, the names written as they are
/// (the `tar` crate itself refuses to write `..` or absolute names).
fn raw_tar(members: &[(&str, tar::EntryType, &str)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, kind, link) in members {
        let mut header = tar::Header::new_gnu();
        let gnu = header.as_gnu_mut().unwrap();
        gnu.name[..name.len()].copy_from_slice(name.as_bytes());
        gnu.linkname[..link.len()].copy_from_slice(link.as_bytes());
        header.set_entry_type(*kind);
        header.set_mode(if kind.is_dir() { 0o755 } else { 0o644 });
        let data: &[u8] = if kind.is_file() { b"escaped\n" } else { b"" };
        header.set_size(data.len() as u64);
        header.set_cksum();
        builder.append(&header, data).unwrap();
    }
    builder.into_inner().unwrap()
}

#[test]
fn restore_refuses_storage_archives_that_are_not_a_plain_tree_of_files() {
    use tar::EntryType;
    let (_turn, lab) = lab();
    let good = lab.local_storage_backup("local-good");
    let escaped = lab.dir.join("escaped");
    let escaped_name = escaped.display().to_string();
    let bad = lab.dir.join("backups/local-bad");
    let cases: Vec<(Vec<u8>, String)> = vec![
        (
            raw_tar(&[
                ("./", EntryType::Directory, ""),
                ("./registry/../../escaped", EntryType::Regular, ""),
            ]),
            "member `./registry/../../escaped` would land outside the storage directory".to_owned(),
        ),
        (
            raw_tar(&[(&escaped_name, EntryType::Regular, "")]),
            format!("member `{escaped_name}` would land outside the storage directory"),
        ),
        (
            raw_tar(&[
                ("./registry", EntryType::Symlink, "/etc"),
                ("./registry/passwd", EntryType::Regular, ""),
            ]),
            "member `./registry -> /etc` is not a plain file or directory".to_owned(),
        ),
        (
            raw_tar(&[("./fifo", EntryType::Fifo, "")]),
            "member `./fifo` is not a plain file or directory".to_owned(),
        ),
        (
            b"not an archive\n".repeat(100),
            "it cannot be read as a tar archive".to_owned(),
        ),
    ];
    let started = lab.started();
    for (archive, reason) in cases {
        let _ = std::fs::remove_dir_all(&bad);
        let status = Command::new("cp")
            .arg("-a")
            .arg(&good)
            .arg(&bad)
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::write(bad.join("host2/storage.tar"), &archive).unwrap();
        rewrite_manifest(&bad);
        lab.drop_database("quay_bad");
        lab.remove_on_hosts("restored-bad");
        let output = lab
            .run_with(
                "quay-restore.yml",
                &restore_args(&bad, "quay_bad", "restored-bad"),
            )
            .status(2);
        let message = format!("`host2/storage.tar`: {reason}: nothing was restored");
        for host in HOSTS {
            assert!(
                output.stdout.contains(&format!(
                    "fatal: [{host}]: FAILED! => {{\"changed\": false, \"msg\": \"{message}\"}}"
                )),
                "{reason}: {}",
                output.stdout
            );
        }
        for i in 1..=4 {
            assert!(!lab.root(i).join("restored-bad").exists(), "host{i}");
            assert!(!lab.root(i).join("escaped").exists(), "host{i}");
        }
        assert!(!escaped.exists());
        assert_eq!(
            lab.query(
                "postgres",
                "SELECT count(*) FROM pg_database WHERE datname = 'quay_bad'"
            ),
            ["0"]
        );
    }
    assert_eq!(lab.started(), started, "a Quay was restarted");
    let _ = std::fs::remove_file(repo_root().join("playbooks/quay-restore.retry"));
    lab.ok("quay-deploy.yml", &[]);
}

#[test]
fn restore_loads_an_empty_database_and_refuses_one_that_holds_other_tables() {
    let (_turn, lab) = lab();
    lab.reset();
    lab.ok("quay-readonly-enable.yml", &[]);
    lab.ok("quay-backup.yml", &["-e", "quay_backup_name=into-existing"]);
    let folder = lab.dir.join("backups/into-existing");
    let kid = std::fs::read_to_string(lab.dir.join("keys/quay-readonly.kid")).unwrap();
    let original = rows_as_dumped(lab, &kid);
    assert_eq!(original.len(), 1);

    // An empty database made beforehand (by the database's own administrators, say) gets
    // the dump.
    lab.drop_database("quay_empty");
    lab.query("postgres", "CREATE DATABASE quay_empty OWNER quay");
    lab.remove_on_hosts("restored-empty");
    lab.ok_with(
        "quay-restore.yml",
        &restore_args(&folder, "quay_empty", "restored-empty"),
    );
    assert_eq!(parsed(lab.query("quay_empty", ROWS)), original);
    assert_eq!(
        lab.query("quay_empty", APPROVALS),
        lab.query("quay", APPROVALS)
    );

    // A database that holds tables of its own is refused before anything changes.
    lab.drop_database("quay_taken");
    lab.query("postgres", "CREATE DATABASE quay_taken OWNER quay");
    lab.query(
        "quay_taken",
        "SET ROLE quay; CREATE TABLE servicekey (note text); INSERT INTO servicekey VALUES ('kept')",
    );
    lab.remove_on_hosts("restored-taken");
    let started: Vec<Json> = QUAY_PORTS.map(|p| info(p)["started_at"].clone()).to_vec();
    let args = restore_args(&folder, "quay_taken", "restored-taken");
    let refused = lab.run_with("quay-restore.yml", &args);
    assert_eq!(refused.code, 2, "{}", refused.stdout);
    let message = "database `quay_taken` is not empty (1 tables) and this backup was not loaded into it: nothing was loaded and no bundle changed; to drop what `quay` owns there and load the backup, run again with `-e quay_restore_replace_database=true`";
    for host in HOSTS {
        assert!(
            refused.stdout.contains(&format!(
                "fatal: [{host}]: FAILED! => {{\"changed\": false, \"msg\": \"{message}\"}}"
            )),
            "{}",
            refused.stdout
        );
    }
    assert_eq!(
        lab.query("quay_taken", "SELECT note FROM servicekey"),
        ["kept"]
    );
    for i in 1..=4 {
        assert!(!lab.root(i).join("restored-taken").exists(), "host{i}");
    }
    assert_eq!(
        QUAY_PORTS.map(|p| info(p)["started_at"].clone()).to_vec(),
        started,
        "a Quay was restarted"
    );

    // Told to, the restore replaces those tables with the backup's.
    let mut replace = args.clone();
    replace.extend([
        "-e".to_owned(),
        "quay_restore_replace_database=true".to_owned(),
    ]);
    lab.ok_with("quay-restore.yml", &replace);
    assert_eq!(parsed(lab.query("quay_taken", ROWS)), original);
    assert_eq!(
        lab.query(
            "quay_taken",
            "SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'"
        ),
        ["pg_trgm"]
    );
    for port in *QUAY_PORTS {
        assert_eq!(info(port)["registry_state"], "readonly");
    }
    // The backup is in now: run again, without the flag, nothing changes.
    let again = lab.ok_with("quay-restore.yml", &args);
    assert_changes_nothing(&again);
    lab.ok("quay-deploy.yml", &[]);
}

#[test]
fn a_backup_without_a_name_goes_to_a_folder_named_by_the_utc_time() {
    let (_turn, lab) = lab();
    lab.reset();
    let backups = lab.dir.join("backups");
    std::fs::create_dir_all(&backups).unwrap();
    let before: BTreeSet<String> = listing(&backups).into_iter().collect();
    let earliest = utc_name();
    lab.ok("quay-backup.yml", &[]);
    let latest = utc_name();
    let new: Vec<String> = listing(&backups)
        .into_iter()
        .filter(|name| !before.contains(name))
        .collect();
    assert_eq!(new.len(), 1, "{new:?}");
    let name = &new[0];
    let form = regex::Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{6}Z$").unwrap();
    assert!(form.is_match(name), "{name}");
    assert!(
        earliest <= *name && *name <= latest,
        "{earliest} <= {name} <= {latest}"
    );
    assert!(backups.join(name).join("MANIFEST.sha256").is_file());
    assert!(backups.join(name).join("quay-backup.sql").is_file());
}

#[test]
fn a_failed_dump_still_leaves_the_registry_writable() {
    let (_turn, lab) = lab();
    lab.reset();
    // pg_dump cannot write where a directory stands.
    let dump = lab.dir.join("backups/broken/quay-backup.sql");
    std::fs::create_dir_all(&dump).unwrap();
    let output = lab
        .run("quay-backup.yml", &["-e", "quay_backup_name=broken"])
        .status(2);
    assert!(
        output.stdout.contains("TASK [Read-only mode off]"),
        "{}",
        output.stdout
    );
    for port in *QUAY_PORTS {
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
    lab.clear_events();
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
        let events = lab.events(i);
        let stop = events
            .iter()
            .find(|(kind, _)| kind == "stop")
            .map(|e| e.1.clone());
        let start = events
            .iter()
            .rfind(|(kind, _)| kind == "start")
            .map(|e| e.1.clone());
        let (Some(stop), Some(start)) = (stop, start) else {
            panic!("host{i} did not restart: {events:?}");
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

/// `GET /standin/info`'s `database`, or `None` while nothing answers on the port.
fn serving(port: u16) -> Option<String> {
    let mut stream =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET /standin/info HTTP/1.0\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (_, body) = response.split_once("\r\n\r\n")?;
    let info: Json = serde_json::from_str(body).ok()?;
    info["database"].as_str().map(str::to_owned)
}

#[test]
fn geo_replication_switches_the_database_with_no_two_sites_apart() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let (_turn, lab) = lab();
    lab.reset();
    lab.drop_database("quay_switch");
    let old = format!("127.0.0.1:{}/quay", *DB_PORT);
    let new = format!("127.0.0.1:{}/quay_switch", *DB_PORT);
    for port in *QUAY_PORTS {
        assert_eq!(info(port)["database"], old.as_str(), "port {port}");
    }
    lab.clear_events();

    // Every site, watched the whole time the playbook runs.
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let done = Arc::clone(&done);
        // The lab's ports are the test thread's to read: the watcher gets a copy.
        let ports = *QUAY_PORTS;
        std::thread::spawn(move || {
            let mut rounds: Vec<Vec<Option<String>>> = Vec::new();
            while !done.load(Ordering::SeqCst) {
                rounds.push(ports.into_iter().map(serving).collect());
                std::thread::sleep(Duration::from_millis(20));
            }
            rounds
        })
    };
    let uri = format!("quay_db_uri={}", dsn("quay_switch"));
    let output = lab.run("quay-georeplication.yml", &["-e", &uri]);
    done.store(true, Ordering::SeqCst);
    let rounds = watcher.join().unwrap();
    output.status(0);

    // In no round did two sites serve different databases.
    for round in &rounds {
        let databases: BTreeSet<&String> = round.iter().flatten().collect();
        assert!(databases.len() <= 1, "sites apart: {round:?}");
    }
    let seen = |database: &str| {
        rounds
            .iter()
            .any(|round| round.iter().flatten().any(|d| d == database))
    };
    assert!(seen(&old) && seen(&new), "{} rounds", rounds.len());
    assert!(
        rounds.iter().any(|round| round.iter().all(Option::is_none)),
        "the watcher never saw every site stopped"
    );
    for port in *QUAY_PORTS {
        assert_eq!(info(port)["database"], new.as_str(), "port {port}");
        assert_eq!(http("GET", port, "/health/instance").0, 200);
    }
    // The stand-ins' own records: every site stopped before the first started on the new
    // database, and each started once, on the new one.
    let mut stops = Vec::new();
    let mut starts = Vec::new();
    for i in 1..=4 {
        let log = std::fs::read_to_string(lab.dir.join(format!("events/host{i}/log"))).unwrap();
        for line in log.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.get(1) {
                Some(&"stop") => stops.push(words[0].to_owned()),
                Some(&"start") => {
                    assert_eq!(
                        words.last(),
                        Some(&format!("database={new}").as_str()),
                        "{line}"
                    );
                    starts.push(words[0].to_owned());
                }
                _ => panic!("host{i}: {line}"),
            }
        }
    }
    assert_eq!((stops.len(), starts.len()), (4, 4), "{stops:?} {starts:?}");
    assert!(
        stops.iter().max() < starts.iter().min(),
        "a site started on the new database while another still served the old one: \
         stops {stops:?}, starts {starts:?}"
    );

    // Back to the lab's database: the same way.
    lab.clear_events();
    lab.ok("quay-georeplication.yml", &[]);
    let stops: Vec<String> = (1..=4)
        .flat_map(|i| lab.events(i))
        .filter(|(kind, _)| kind == "stop")
        .map(|(_, time)| time)
        .collect();
    let starts: Vec<String> = (1..=4)
        .flat_map(|i| lab.events(i))
        .filter(|(kind, _)| kind == "start")
        .map(|(_, time)| time)
        .collect();
    assert_eq!((stops.len(), starts.len()), (4, 4), "{stops:?} {starts:?}");
    assert!(stops.iter().max() < starts.iter().min());
    for port in *QUAY_PORTS {
        assert_eq!(info(port)["database"], old.as_str(), "port {port}");
    }
    lab.ok("quay-deploy.yml", &[]);
}

#[test]
fn geo_replication_creates_its_database_when_it_is_missing() {
    let (_turn, lab) = lab();
    lab.reset();
    lab.drop_database("quay_geo");
    let exists = "SELECT count(*) FROM pg_database WHERE datname = 'quay_geo'";
    assert_eq!(lab.query("postgres", exists), ["0"]);
    let uri = format!("quay_db_uri={}", dsn("quay_geo"));
    let output = lab.ok("quay-georeplication.yml", &["-e", &uri]);
    assert_eq!(lab.query("postgres", exists), ["1"], "{}", output.stdout);
    assert_eq!(
        lab.query(
            "postgres",
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'quay_geo'"
        ),
        ["quay"]
    );
    assert_eq!(
        lab.query(
            "quay_geo",
            "SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'"
        ),
        ["pg_trgm"]
    );
    for (i, port) in (1..=4).zip(*QUAY_PORTS) {
        let config = std::fs::read_to_string(lab.bundle(i).join("config.yaml")).unwrap();
        assert!(
            config.contains(&format!("DB_URI: \"{}\"\n", dsn("quay_geo"))),
            "{config}"
        );
        assert_eq!(http("GET", port, "/health/instance").0, 200, "host{i}");
    }
    let again = lab.ok("quay-georeplication.yml", &["-e", &uri]);
    assert_changes_nothing(&again);
    lab.ok("quay-deploy.yml", &[]);
}

#[test]
fn every_shipped_playbook_validates_against_the_example_inventory() {
    let playbooks = shipped_playbooks();
    assert!(playbooks.len() >= 8, "{playbooks:?}");
    for playbook in playbooks {
        let output = Command::new(env!("CARGO_BIN_EXE_quayside"))
            .arg("validate")
            .arg(format!("playbooks/{playbook}"))
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
            "{playbook}: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[test]
fn no_secret_reaches_any_output_or_log() {
    use std::os::unix::fs::PermissionsExt;
    let (_turn, lab) = lab_alone();
    lab.reset();
    lab.drop_database("quay_secrets");
    lab.remove_on_hosts("secrets-restored");
    let _ = std::fs::remove_dir_all(lab.dir.join("backups/secrets"));
    let scratch = tempfile::tempdir().unwrap();
    let log = scratch.path().join("run.log");
    let loud: Vec<String> = ["-vvv", "--diff", "--output", "json", "--log"]
        .iter()
        .map(|s| s.to_string())
        .chain([log.display().to_string()])
        .collect();
    let backup = lab.dir.join("backups/secrets");
    // Every shipped playbook, in an order that makes each one do its work (a new playbook
    // runs last, with no arguments).
    let order = [
        "quay-readonly-enable.yml",
        "quay-readonly-extend.yml",
        "quay-readonly-disable.yml",
        "quay-backup.yml",
        "quay-restore.yml",
        "quay-georeplication.yml",
        "quay-deploy.yml",
        "fleet-check.yml",
    ];
    let mut playbooks = shipped_playbooks();
    playbooks.sort_by_key(|p| order.iter().position(|o| o == p).unwrap_or(order.len()));
    let mut outputs = Vec::new();
    for playbook in &playbooks {
        let extra: Vec<String> = match playbook.as_str() {
            "quay-readonly-extend.yml" => vec![
                "-e".into(),
                "quay_readonly_expiration=2100-01-01T00:00:00".into(),
            ],
            "quay-readonly-disable.yml" => {
                vec!["-e".into(), "quay_readonly_delete_key=true".into()]
            }
            "quay-backup.yml" => vec!["-e".into(), "quay_backup_name=secrets".into()],
            "quay-restore.yml" => restore_args(&backup, "quay_secrets", "secrets-restored"),
            "quay-deploy.yml" => vec![
                "-e".into(),
                "quay_secret_key=rotated-secret-key-value".into(),
            ],
            _ => Vec::new(),
        };
        let mut args = loud.clone();
        args.extend(extra);
        let output = lab.ok_with(playbook, &args);
        outputs.push((
            playbook.clone(),
            format!("{}\n{}", output.stdout, output.stderr),
        ));
        // The same run in check mode, which prints diffs of what would change.
        args.push("--check".to_owned());
        let output = lab.run_with(playbook, &args);
        outputs.push((
            format!("{playbook} --check"),
            format!("{}\n{}", output.stdout, output.stderr),
        ));
    }
    // A run that fails writes the hosts to retry: restoring into the lab's own database,
    // which holds tables.
    let mut args = loud.clone();
    args.extend(restore_args(&backup, "quay", "secrets-refused"));
    let refused = lab.run_with("quay-restore.yml", &args);
    assert_eq!(refused.code, 2, "{}", refused.stdout);
    outputs.push((
        "refused restore".to_owned(),
        format!("{}\n{}", refused.stdout, refused.stderr),
    ));
    let retry = repo_root().join("playbooks/quay-restore.retry");
    outputs.push((
        "retry file".to_owned(),
        std::fs::read_to_string(&retry).unwrap(),
    ));
    std::fs::remove_file(&retry).unwrap();
    outputs.push(("run log".to_owned(), std::fs::read_to_string(&log).unwrap()));
    // What the backup wrote beside its archives and dump (which hold secrets by design,
    // and are the owner's only).
    for path in files_under(&backup) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "config.tar" || name == "quay-backup.sql" {
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{} is {mode:o}", path.display());
        } else {
            outputs.push((
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
    }
    let pem_path = lab.dir.join("keys/quay-readonly.pem");
    let mode = std::fs::metadata(&pem_path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // Nothing is left on the hosts: no archive, no staged bundle.
    for i in 1..=4 {
        assert!(!lab.root(i).join("quay/backup").exists(), "host{i}");
        for dir in ["quay", "secrets-restored"] {
            for name in listing(&lab.root(i).join(dir)) {
                assert!(!name.contains("quayside-stage"), "host{i}: {dir}/{name}");
            }
        }
    }

    let pem = std::fs::read_to_string(&pem_path).unwrap();
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
        "lab-eu-secret-not-for-production",
    ]);
    for (what, text) in &outputs {
        for secret in &secrets {
            assert!(
                !text.contains(secret),
                "{what} holds a secret `{secret}`:\n{text}"
            );
        }
    }
    // Every playbook ran, and the diffs were there, masked.
    for playbook in &playbooks {
        assert!(
            outputs.iter().any(|(what, _)| what == playbook),
            "{playbook}"
        );
    }
    assert!(
        outputs
            .iter()
            .any(|(_, o)| o.contains("SECRET_KEY: ********")),
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
    let example = &readme[start..end];
    // What makes it the read-only procedure: the template's read-only switch, and each
    // site's storage preference on its container.
    assert!(example.contains("quay_readonly: true"), "{example}");
    assert!(
        example.contains("QUAY_DISTRIBUTED_STORAGE_PREFERENCE: \"{{ quay_storage_site }}\""),
        "{example}"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("play.yml"), example).unwrap();
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
fn every_shipped_playbook_has_a_check_diff_plan() {
    let (_turn, lab) = lab();
    lab.reset();
    // A deployed registry whose read-only key exists (made by an earlier run), and a
    // backup to restore from.
    lab.ok("quay-readonly-enable.yml", &[]);
    lab.ok("quay-readonly-disable.yml", &[]);
    lab.ok("quay-backup.yml", &["-e", "quay_backup_name=plan-base"]);
    let base = lab.dir.join("backups/plan-base");
    lab.drop_database("quay_plan");
    lab.remove_on_hosts("plan");
    // fleet-check.yml's directory and marker, as on a fleet it has not seen.
    lab.remove_on_hosts("config");
    let _ = std::fs::remove_dir_all(lab.dir.join("backups/check-only"));
    let kid = std::fs::read_to_string(lab.dir.join("keys/quay-readonly.kid")).unwrap();
    let keys = lab.query("quay", ROWS);
    let distribution = regex::Regex::new(r"\(([^()]*)\) seen at").unwrap();
    for playbook in shipped_playbooks() {
        let extra: Vec<String> = match playbook.as_str() {
            "quay-readonly-extend.yml" => vec![
                "-e".into(),
                "quay_readonly_expiration=2101-01-01T00:00:00".into(),
            ],
            "quay-backup.yml" => vec!["-e".into(), "quay_backup_name=check-only".into()],
            "quay-restore.yml" => restore_args(&base, "quay_plan", "plan"),
            "quay-deploy.yml" | "quay-georeplication.yml" => {
                vec!["-e".into(), "quay_hostname=registry.example.test".into()]
            }
            _ => Vec::new(),
        };
        let mut args: Vec<String> = ["--check", "--diff", "-f", "1"].map(String::from).to_vec();
        args.extend(extra);
        let output = lab.run_with(&playbook, &args).success();
        let text = crate::plans::filtered(&output.stdout, &lab.dir)
            .replace(&kid, "KID")
            .replace(&format!("127.0.0.1:{}/", *DB_PORT), "127.0.0.1:DB_PORT/");
        let text = distribution.replace_all(&text, "(DISTRIBUTION) seen at");
        let stem = playbook.trim_end_matches(".yml");
        crate::plans::assert_snapshot(&format!("{stem}.check-diff.txt"), &text);
    }
    // Nothing changed: no backup, no database, no bundle, every Quay as it was.
    assert!(!lab.dir.join("backups/check-only").exists());
    assert_eq!(
        lab.query(
            "postgres",
            "SELECT count(*) FROM pg_database WHERE datname = 'quay_plan'"
        ),
        ["0"]
    );
    for i in 1..=4 {
        assert!(!lab.root(i).join("plan").exists(), "host{i}");
        assert_eq!(listing(&lab.bundle(i)), ["config.yaml"], "host{i}");
    }
    for port in *QUAY_PORTS {
        assert_eq!(info(port)["registry_state"], "normal");
    }
    assert_eq!(lab.query("quay", ROWS), keys);
    // The key disable expired, and the fresh one the backup's read-only phase made.
    assert_eq!(keys.len(), 2, "{keys:?}");
    lab.ok("quay-deploy.yml", &[]);
}

#[test]
fn relative_backup_paths_are_refused_before_anything_changes() {
    let (_turn, lab) = lab();
    lab.reset();
    let started: Vec<Json> = QUAY_PORTS.map(|p| info(p)["started_at"].clone()).to_vec();
    let keys = lab.query("quay", "SELECT count(*) FROM servicekey");
    for (playbook, argument, message) in [
        (
            "quay-backup.yml",
            "quay_backup_dir=backups",
            "`quay_backup_dir` must be an absolute path, not `backups`",
        ),
        (
            "quay-restore.yml",
            "quay_restore_from=backups/first",
            "`quay_restore_from` must be an absolute path, not `backups/first`",
        ),
    ] {
        let output = lab
            .run(playbook, &["-e", argument, "--output", "json"])
            .status(2);
        let failed: Vec<(String, String)> = output
            .events()
            .into_iter()
            .filter(|e| e["event"] == "host_result" && e["status"] == "failed")
            .map(|e| {
                (
                    e["host"].as_str().unwrap().to_owned(),
                    e["msg"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let expected: Vec<(String, String)> = HOSTS
            .iter()
            .map(|h| (h.to_string(), message.to_owned()))
            .collect();
        assert_eq!(failed, expected, "{playbook}");
        // Nothing ran after it.
        let ran: BTreeSet<String> = output
            .events()
            .into_iter()
            .filter(|e| e["event"] == "task_start")
            .map(|e| e["task"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ran.len(), 2, "{playbook}: {ran:?}");
    }
    assert!(!lab.dir.join("backups/backups").exists());
    assert!(!repo_root().join("playbooks/backups").exists());
    assert_eq!(lab.query("quay", "SELECT count(*) FROM servicekey"), keys);
    assert_eq!(
        QUAY_PORTS.map(|p| info(p)["started_at"].clone()).to_vec(),
        started
    );
    for playbook in ["quay-backup.retry", "quay-restore.retry"] {
        let _ = std::fs::remove_file(repo_root().join("playbooks").join(playbook));
    }
}
