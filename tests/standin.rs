//! The Quay stand-in image (`standin/`), built by `standin/build-image` and run with podman
//! the way the Quay procedures run Quay (`--network=host`, the bundle at `/conf/stack`, uid
//! 1001), against a PostgreSQL of each test's own holding Quay's tables. Containers are
//! named `standin-test-*` and removed by a guard, even when a test fails.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use crate::common::repo_root;

const IMAGE: &str = "localhost/quay-standin:latest";
const NO_VALID_KEY: &str = "No valid service key found for read-only registry.";
const DENIED: &str = r#"{"errors":[{"code":"DENIED","message":"System is currently read-only. Pulls will succeed but all write operations are currently suspended.","detail":{},"is_readonly":true}]}"#;
const HEALTHY: &str = r#"{"data":{"services":{"auth":true,"database":true,"disk_space":true,"registry_gunicorn":true,"service_key":true,"web_gunicorn":true}},"status_code":200}"#;
/// The key of the Quay reference's test vector; the stand-in treats kids as opaque.
const KID: &str = "jkuyGp7FZO6JGOpaTcVqun-_2rzDM1hUTuUJM7Rfl6E";
const JWK: &str =
    r#"{"n":"9qDf","e":"AQAB","kty":"RSA","kid":"jkuyGp7FZO6JGOpaTcVqun-_2rzDM1hUTuUJM7Rfl6E"}"#;
/// Only its readability and PEM armour are checked.
const PEM: &str = "-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5\n-----END RSA PRIVATE KEY-----\n";

/// The `CONTAINERS_CONF` of `scripts/podman-env`, once the image is built.
fn containers_conf() -> &'static str {
    static CONF: OnceLock<String> = OnceLock::new();
    CONF.get_or_init(|| {
        let output = Command::new(repo_root().join("scripts/podman-env"))
            .output()
            .expect("run scripts/podman-env");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "scripts/podman-env: {output:?}");
        let conf = stdout
            .lines()
            .find_map(|line| line.strip_prefix("export CONTAINERS_CONF="))
            .unwrap_or_else(|| panic!("no CONTAINERS_CONF in {stdout}"))
            .to_owned();
        let output = Command::new(repo_root().join("standin/build-image"))
            .env("CONTAINERS_CONF", &conf)
            .output()
            .expect("run standin/build-image");
        assert!(
            output.status.success(),
            "standin/build-image failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        conf
    })
}

fn podman(args: &[&str]) -> std::process::Output {
    Command::new("podman")
        .args(args)
        .env("CONTAINERS_CONF", containers_conf())
        .output()
        .expect("run podman")
}

/// A PostgreSQL server of the test's own (`scripts/postgres`), stopped on drop.
struct Postgres {
    _dir: tempfile::TempDir,
    data: PathBuf,
    port: u16,
    /// `postgresql://quay:quay-secret-pw@127.0.0.1:PORT/quay`: password authentication.
    dsn: String,
}

impl Postgres {
    fn up() -> Postgres {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let data = dir.path().join("pg");
        let port = free_port();
        let output = Command::new(repo_root().join("scripts/postgres"))
            .args(["up", "--dir"])
            .arg(&data)
            .args(["--port", &port.to_string()])
            .output()
            .expect("run scripts/postgres");
        assert!(output.status.success(), "scripts/postgres up: {output:?}");
        let dsn = String::from_utf8(output.stdout).unwrap().trim().to_owned();
        Postgres {
            _dir: dir,
            data,
            port,
            dsn,
        }
    }

    /// Runs `sql` in database `quay` as `postgres`.
    fn sql(&self, sql: &str) {
        let output = Command::new("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U"])
            .args([
                "postgres",
                "-d",
                "quay",
                "-p",
                &self.port.to_string(),
                "-c",
                sql,
            ])
            .output()
            .expect("run psql");
        assert!(output.status.success(), "psql: {output:?}");
    }

    /// A `servicekey` row for `kid` as the read-only procedure inserts it, with its approval
    /// (none when `approved` is false) and `expiration` (an SQL expression).
    fn insert_key(&self, kid: &str, service: &str, approved: bool, expiration: &str) {
        self.sql(&format!(
            "WITH a AS (
               INSERT INTO servicekeyapproval (approver_id, approval_type, approved_date, notes)
               VALUES (NULL, 'ServiceKeyApprovalType.SUPERUSER', timezone('utc', now()), 'test')
               RETURNING id)
             INSERT INTO servicekey
               (name, kid, service, jwk, metadata, created_date, expiration_date, approval_id)
             SELECT 'quay-readonly', '{kid}', '{service}', '{JWK}', '{{}}',
                    timezone('utc', now()), {expiration}, CASE WHEN {approved} THEN id END
             FROM a"
        ));
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = Command::new(repo_root().join("scripts/postgres"))
            .args(["down", "--dir"])
            .arg(&self.data)
            .output();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A host's Quay directory: the config bundle (mounted at `/conf/stack`) and a directory
/// for the stand-in's events log (mounted at `/events`, writable by uid 1001).
struct Bundle {
    dir: tempfile::TempDir,
}

impl Bundle {
    fn new() -> Bundle {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["", "config", "events"] {
            let path = dir.path().join(sub);
            std::fs::create_dir_all(&path).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::os::unix::fs::chown(dir.path().join("events"), Some(1001), Some(0)).unwrap();
        Bundle { dir }
    }

    fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    fn write(&self, name: &str, contents: &str) {
        std::fs::write(self.config_dir().join(name), contents).unwrap();
    }

    /// `config.yaml` with `DB_URI` and `extra` lines.
    fn config(&self, db_uri: &str, extra: &str) {
        self.write(
            "config.yaml",
            &format!(
                "SERVER_HOSTNAME: quay.example.test\nDB_URI: {db_uri}\n\
                 DISTRIBUTED_STORAGE_CONFIG:\n  default: [LocalStorage, {{storage_path: /datastorage/registry}}]\n\
                 {extra}"
            ),
        );
    }

    /// Read-only `config.yaml`, the kid file holding `kid` and the private key, which only
    /// root may read unless `acl` (the procedure's `setfacl -m user:1001:rw`).
    fn readonly(&self, db_uri: &str, kid: &str, acl: bool) {
        self.config(
            db_uri,
            "REGISTRY_STATE: readonly\n\
             INSTANCE_SERVICE_KEY_KID_LOCATION: 'conf/stack/quay-readonly.kid'\n\
             INSTANCE_SERVICE_KEY_LOCATION: 'conf/stack/quay-readonly.pem'\n",
        );
        self.write("quay-readonly.kid", kid);
        let pem = self.config_dir().join("quay-readonly.pem");
        std::fs::write(&pem, PEM).unwrap();
        std::fs::set_permissions(&pem, std::fs::Permissions::from_mode(0o600)).unwrap();
        if acl {
            setfacl(&["-m", "user:1001:rw"], &pem);
        }
    }

    /// The events log's lines, each split into words.
    fn events(&self) -> Vec<Vec<String>> {
        std::fs::read_to_string(self.dir.path().join("events/log"))
            .unwrap_or_default()
            .lines()
            .map(|line| line.split_whitespace().map(str::to_owned).collect())
            .collect()
    }
}

fn setfacl(args: &[&str], path: &Path) {
    let status = Command::new("setfacl")
        .args(args)
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success(), "setfacl {args:?} {}", path.display());
}

/// A stand-in container, removed on drop.
struct Container {
    name: String,
    port: u16,
}

impl Container {
    /// `podman run -d` as the procedures run Quay, listening on `port`, with `env`.
    fn start(test: &str, bundle: &Bundle, port: u16, env: &[&str]) -> Container {
        let name = format!("standin-test-{test}-{}", std::process::id());
        podman(&["rm", "--force", "--ignore", "-t", "0", &name]);
        let config = format!("{}:/conf/stack:Z", bundle.config_dir().display());
        let events = format!("{}:/events:Z", bundle.dir.path().join("events").display());
        let port_env = format!("PORT={port}");
        let mut args = vec!["run", "-d", "--name", &name, "--network=host"];
        args.extend(["-v", &config, "-v", &events, "-e", &port_env]);
        args.extend([
            "-e",
            "STANDIN_EVENTS=/events/log",
            "-e",
            "STANDIN_NAME=test",
        ]);
        for variable in env {
            args.extend(["-e", variable]);
        }
        args.push(IMAGE);
        let output = podman(&args);
        assert!(output.status.success(), "podman run: {output:?}");
        Container { name, port }
    }

    fn inspect(&self, format: &str) -> String {
        let output = podman(&["container", "inspect", "--format", format, &self.name]);
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    fn logs(&self) -> String {
        let output = podman(&["logs", &self.name]);
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr)
    }

    /// Waits until it answers HTTP; panics with its log when it exits or takes 10 s.
    fn ready(self) -> Container {
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            let status = self.inspect("{{.State.Status}}");
            assert!(
                status == "running" && Instant::now() < deadline,
                "{} is {status}, not serving: {}",
                self.name,
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        self
    }

    /// Waits until it exits (at most 10 s): its exit code and log.
    fn exited(&self) -> (String, String) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.inspect("{{.State.Status}}") != "exited" {
            assert!(
                Instant::now() < deadline,
                "{} still runs: {}",
                self.name,
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        (self.inspect("{{.State.ExitCode}}"), self.logs())
    }

    /// One request: status and body.
    fn http(&self, method: &str, path: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: quay\r\nContent-Length: 0\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        (status, body.to_owned())
    }

    fn info(&self) -> Json {
        let (status, body) = self.http("GET", "/standin/info");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        podman(&["rm", "--force", "--ignore", "-t", "0", &self.name]);
    }
}

/// `2024-05-01T12:34:56.789Z`
fn is_timestamp(text: &str) -> bool {
    regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        .unwrap()
        .is_match(text)
}

fn health(status: u16, database: bool, service_key: bool) -> String {
    format!(
        r#"{{"data":{{"services":{{"auth":true,"database":{database},"disk_space":true,"registry_gunicorn":true,"service_key":{service_key},"web_gunicorn":true}}}},"status_code":{status}}}"#
    )
}

#[test]
fn standin_writable_is_healthy_accepts_pushes_and_records_start_and_stop() {
    let postgres = Postgres::up();
    let bundle = Bundle::new();
    // Geo-replicated: every site has this config; the preference comes from the environment.
    bundle.write(
        "config.yaml",
        &format!(
            "DB_URI: {}\nFEATURE_STORAGE_REPLICATION: true\nDISTRIBUTED_STORAGE_CONFIG:\n  \
             usstorage: [S3Storage, {{s3_bucket: us}}]\n  eustorage: [S3Storage, {{s3_bucket: eu}}]\n\
             DISTRIBUTED_STORAGE_PREFERENCE: [usstorage, eustorage]\n",
            postgres.dsn
        ),
    );
    let container = Container::start(
        "writable",
        &bundle,
        18901,
        &["QUAY_DISTRIBUTED_STORAGE_PREFERENCE=eustorage"],
    )
    .ready();

    assert_eq!(
        container.http("GET", "/health/instance"),
        (200, HEALTHY.to_owned())
    );
    assert_eq!(container.http("GET", "/health"), (200, HEALTHY.to_owned()));
    assert_eq!(
        container.http("GET", "/health/endtoend"),
        (
            200,
            r#"{"data":{"services":{"auth":true,"database":true,"redis":true,"storage":true}},"status_code":200}"#
                .to_owned()
        )
    );
    assert_eq!(container.http("GET", "/v2/"), (200, "{}".to_owned()));
    for method in ["PUT", "POST", "PATCH"] {
        let (status, _) = container.http(method, "/v2/library/busybox/blobs/uploads/");
        assert_eq!(status, 202, "{method}");
    }

    let config = std::fs::read(bundle.config_dir().join("config.yaml")).unwrap();
    let info = container.info();
    let started_at = info["started_at"].as_str().unwrap().to_owned();
    assert!(is_timestamp(&started_at), "{info}");
    assert_eq!(
        info,
        json!({
            "registry_state": "normal",
            "storage_preference": "eustorage",
            "config_sha256": hex::encode(Sha256::digest(&config)),
            "started_at": started_at,
            "pid": 1,
            "name": "test",
            "port": 18901,
            "kid": null,
            // Without the credentials of `DB_URI`.
            "database": format!("127.0.0.1:{}/quay", postgres.port),
        })
    );
    let uid = podman(&["exec", &container.name, "id", "-u"]);
    assert_eq!(String::from_utf8_lossy(&uid.stdout).trim(), "1001");

    // SIGTERM is handled: `podman stop` does not wait for its 10 s timeout.
    let stopping = Instant::now();
    let output = podman(&["stop", "-t", "10", &container.name]);
    assert!(output.status.success(), "{output:?}");
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "{:?}",
        stopping.elapsed()
    );
    assert_eq!(container.inspect("{{.State.ExitCode}}"), "0");

    let events = bundle.events();
    assert_eq!(events.len(), 2, "{events:?}");
    let (start, stop) = (&events[0], &events[1]);
    assert_eq!(
        start[1..],
        [
            "start",
            "test",
            "port=18901",
            "pid=1",
            "registry_state=normal",
            "storage_preference=eustorage",
            format!("database=127.0.0.1:{}/quay", postgres.port).as_str(),
        ]
    );
    assert_eq!(start[0], started_at);
    assert_eq!(
        stop[1..],
        ["stop", "test", "port=18901", "pid=1", "signal=SIGTERM"]
    );
    assert!(is_timestamp(&stop[0]) && stop[0] >= start[0], "{events:?}");
}

#[test]
fn standin_readonly_with_an_approved_key_denies_pushes_until_the_key_expires() {
    let postgres = Postgres::up();
    postgres.insert_key(
        KID,
        "quay",
        true,
        "timezone('utc', now()) + interval '1 day'",
    );
    let bundle = Bundle::new();
    bundle.readonly(&postgres.dsn, KID, true);
    let container = Container::start("readonly", &bundle, 18902, &[]).ready();

    assert_eq!(
        container.http("GET", "/health/instance"),
        (200, HEALTHY.to_owned())
    );
    for method in ["PUT", "POST", "PATCH", "DELETE"] {
        assert_eq!(
            container.http(method, "/v2/library/busybox/manifests/latest"),
            (405, DENIED.to_owned()),
            "{method}"
        );
    }
    // Pulls still work.
    assert_eq!(container.http("GET", "/v2/"), (200, "{}".to_owned()));
    let info = container.info();
    assert_eq!(info["registry_state"], "readonly");
    assert_eq!(info["kid"], KID);
    assert_eq!(info["storage_preference"], Json::Null);
    assert_eq!(
        container.http("GET", &format!("/keys/services/quay/keys/{KID}")),
        (200, JWK.to_owned())
    );
    assert_eq!(
        container.http("GET", "/keys/services/quay/keys/nokey").0,
        404
    );

    // Nobody extends the key: the registry turns unhealthy.
    postgres.sql(&format!(
        "UPDATE servicekey SET expiration_date = timezone('utc', now()) - interval '1 minute' \
         WHERE kid = '{KID}'"
    ));
    assert_eq!(
        container.http("GET", "/health/instance"),
        (503, health(503, true, false))
    );
    assert_eq!(
        container
            .http("GET", &format!("/keys/services/quay/keys/{KID}"))
            .0,
        403
    );
}

#[test]
fn standin_readonly_refuses_to_start_without_a_valid_key() {
    let postgres = Postgres::up();
    postgres.insert_key(
        "kid-expired",
        "quay",
        true,
        "timezone('utc', now()) - interval '1 second'",
    );
    postgres.insert_key("kid-unapproved", "quay", false, "NULL");
    postgres.insert_key("kid-clair", "clair", true, "NULL");
    postgres.insert_key(KID, "quay", true, "NULL");
    // Quay reads the kid file as it is: a trailing newline makes another kid.
    let with_newline = format!("{KID}\n");
    let with_newline_problem = format!(r#"no `servicekey` row has kid "{KID}\n""#);
    let cases = [
        (
            "kid-missing",
            r#"no `servicekey` row has kid "kid-missing""#,
        ),
        ("kid-expired", r#"service key "kid-expired" expired at "#),
        (
            "kid-unapproved",
            r#"service key "kid-unapproved" is not approved (`approval_id` is NULL)"#,
        ),
        (
            "kid-clair",
            r#"service key "kid-clair" belongs to service `clair`, not `quay`"#,
        ),
        (&with_newline, &with_newline_problem),
    ];
    let bundle = Bundle::new();
    for (kid, problem) in cases {
        bundle.readonly(&postgres.dsn, kid, true);
        let container = Container::start("refuses", &bundle, 18903, &[]);
        let (code, logs) = container.exited();
        assert_eq!(code, "1", "{kid:?}: {logs}");
        let lines: Vec<&str> = logs.lines().collect();
        assert_eq!(lines.len(), 2, "{kid:?}: {logs}");
        assert!(lines[0].starts_with(problem), "{kid:?}: {logs}");
        assert_eq!(lines[1], NO_VALID_KEY);
    }

    std::fs::remove_file(bundle.config_dir().join("quay-readonly.kid")).unwrap();
    let container = Container::start("refuses", &bundle, 18903, &[]);
    assert_eq!(
        container.exited(),
        (
            "1".to_owned(),
            format!(
                "cannot read `INSTANCE_SERVICE_KEY_KID_LOCATION` `/conf/stack/quay-readonly.kid`: \
                 No such file or directory (os error 2)\n{NO_VALID_KEY}\n"
            )
        )
    );
    // Every attempt is in the events log, and none started.
    let events = bundle.events();
    assert_eq!(events.len(), cases.len() + 1, "{events:?}");
    assert!(
        events.iter().all(|event| event[1] == "refused"),
        "{events:?}"
    );
}

#[test]
fn standin_readonly_needs_the_private_key_readable_by_uid_1001() {
    let postgres = Postgres::up();
    postgres.insert_key(KID, "quay", true, "NULL");
    let bundle = Bundle::new();
    bundle.readonly(&postgres.dsn, KID, false);
    let container = Container::start("acl", &bundle, 18904, &[]);
    assert_eq!(
        container.exited(),
        (
            "1".to_owned(),
            format!(
                "cannot read `INSTANCE_SERVICE_KEY_LOCATION` `/conf/stack/quay-readonly.pem`: \
                 Permission denied (os error 13)\n\
                 hint: the registry runs as uid 1001; on the host, give it access to the \
                 bundle's files: `setfacl -m user:1001:rw FILE`\n{NO_VALID_KEY}\n"
            )
        )
    );
    drop(container);

    setfacl(
        &["-m", "user:1001:rw"],
        &bundle.config_dir().join("quay-readonly.pem"),
    );
    let container = Container::start("acl", &bundle, 18904, &[]).ready();
    // An expiration of NULL never lapses.
    assert_eq!(
        container.http("GET", "/health/instance"),
        (200, HEALTHY.to_owned())
    );
}

#[test]
fn standin_refuses_replication_without_a_configured_preference() {
    let bundle = Bundle::new();
    bundle.write(
        "config.yaml",
        "DB_URI: postgresql://quay@127.0.0.1:1/quay\nFEATURE_STORAGE_REPLICATION: true\n\
         DISTRIBUTED_STORAGE_CONFIG:\n  usstorage: [S3Storage, {}]\n  eustorage: [S3Storage, {}]\n",
    );
    let cases = [
        (
            None,
            "`FEATURE_STORAGE_REPLICATION` is true but `QUAY_DISTRIBUTED_STORAGE_PREFERENCE` is \
             not set; set it to one of the locations in `DISTRIBUTED_STORAGE_CONFIG`: \
             `eustorage`, `usstorage`\n",
        ),
        (
            Some("QUAY_DISTRIBUTED_STORAGE_PREFERENCE=apstorage"),
            "`QUAY_DISTRIBUTED_STORAGE_PREFERENCE` `apstorage` is not a location in \
             `DISTRIBUTED_STORAGE_CONFIG`: `eustorage`, `usstorage`\n",
        ),
    ];
    for (env, message) in cases {
        let container = Container::start("preference", &bundle, 18905, env.as_slice());
        assert_eq!(container.exited(), ("1".to_owned(), message.to_owned()));
    }
}

#[test]
fn standin_without_its_database_is_unhealthy() {
    let bundle = Bundle::new();
    // Nothing listens on port 1.
    bundle.config("postgresql://quay:pw@127.0.0.1:1/quay", "");
    let container = Container::start("nodb", &bundle, 18906, &[]).ready();
    assert_eq!(
        container.http("GET", "/health/instance"),
        (503, health(503, false, true))
    );
    assert_eq!(
        container.http("GET", "/status"),
        (
            503,
            r#"{"data":{"services":{"auth":true,"database":false,"redis":true,"storage":true}},"status_code":503}"#
                .to_owned()
        )
    );
}
