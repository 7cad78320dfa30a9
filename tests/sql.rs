//! `sql_insert` and `sql` against a real PostgreSQL that each test starts for itself with
//! `scripts/postgres` (Quay's tables, a `quay` role that logs in with a scram password).

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value as Json, json};

use crate::common::{Output, Test, repo_root};

const PASSWORD: &str = "quay-secret-pw";
const KID: &str = "jkuyGp7FZO6JGOpaTcVqun-_2rzDM1hUTuUJM7Rfl6E";
const JWK: &str =
    r#"{"n":"9qDf","e":"AQAB","kty":"RSA","kid":"jkuyGp7FZO6JGOpaTcVqun-_2rzDM1hUTuUJM7Rfl6E"}"#;

/// A PostgreSQL server of the test's own, stopped and removed on drop.
pub(crate) struct Postgres {
    _dir: tempfile::TempDir,
    pub(crate) data: PathBuf,
    pub(crate) port: u16,
    /// `postgresql://quay:quay-secret-pw@127.0.0.1:PORT/quay`
    dsn: String,
}

impl Postgres {
    pub(crate) fn up() -> Postgres {
        let dir = tempfile::tempdir().expect("temporary directory");
        // The server runs as `postgres`, which must reach DIR/pg.
        Command::new("chmod")
            .arg("0755")
            .arg(dir.path())
            .status()
            .unwrap();
        let data = dir.path().join("pg");
        let port = free_port();
        let output = Command::new(repo_root().join("scripts/postgres"))
            .args(["up", "--dir"])
            .arg(&data)
            .args(["--port", &port.to_string()])
            .output()
            .expect("run scripts/postgres");
        assert!(
            output.status.success(),
            "scripts/postgres up failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let dsn = String::from_utf8(output.stdout).unwrap().trim().to_owned();
        assert_eq!(
            dsn,
            format!("postgresql://quay:{PASSWORD}@127.0.0.1:{port}/quay")
        );
        Postgres {
            _dir: dir,
            data,
            port,
            dsn,
        }
    }

    /// A DSN for `user` (`postgres` is trusted over TCP) into `database`.
    fn dsn_for(&self, user: &str, database: &str) -> String {
        format!("postgresql://{user}@127.0.0.1:{}/{database}", self.port)
    }

    /// One query's rows through psql as `postgres`: fields joined by `|`, rows by newlines.
    pub(crate) fn psql(&self, database: &str, sql: &str) -> String {
        let psql = glob::glob("/usr/lib/postgresql/*/bin/psql")
            .unwrap()
            .filter_map(Result::ok)
            .max()
            .expect("psql");
        let output = Command::new(psql)
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"])
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                database,
            ])
            .args(["-c", sql])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .unwrap()
            .trim_end()
            .to_owned()
    }

    fn count(&self, table: &str) -> String {
        self.psql("quay", &format!("SELECT count(*) FROM {table}"))
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

const INVENTORY: &str = "
    all:
      hosts:
        db:
          ansible_connection: local
    ";

/// Run a playbook of `tasks` (YAML, indented by 4) against host `db`, with `dsn` and the
/// key's variables set, as JSON events with results.
fn run(dsn: &str, tasks: &str, extra: &[&str]) -> Output {
    let play = format!(
        "
        - hosts: db
          gather_facts: false
          vars:
            dsn: {dsn}
            readonly_kid: {KID}
            readonly_jwk: '{JWK}'
            readonly_expires: '2030-06-01T12:00:00'
          tasks:
{tasks}
        "
    );
    let mut args = vec![
        "run",
        "-i",
        "inventory.yml",
        "play.yml",
        "--output",
        "json",
        "-v",
    ];
    args.extend(extra);
    Test::new()
        .file("inventory.yml", INVENTORY)
        .file("play.yml", &play)
        .args(&args)
        .run()
}

/// The `host_result` events, in order.
fn results(output: &Output) -> Vec<Json> {
    output
        .events()
        .into_iter()
        .filter(|e| e["event"] == "host_result")
        .collect()
}

fn only_result(output: &Output) -> Json {
    let results = results(output);
    assert_eq!(results.len(), 1, "{output:?}");
    results.into_iter().next().unwrap()
}

/// Quay's read-only key and its SUPERUSER approval, as one task.
const INSERT_KEY: &str = "
            - name: Insert the read-only key
              sql_insert:
                dsn: '{{ dsn }}'
                rows:
                  - name: approval
                    table: servicekeyapproval
                    values:
                      approver_id: null
                      approval_type: ServiceKeyApprovalType.SUPERUSER
                      approved_date: {sql: now_utc}
                      notes: Read-only key for the test site
                  - name: key
                    table: servicekey
                    values:
                      name: quay-readonly
                      kid: '{{ readonly_kid }}'
                      service: quay
                      jwk: '{{ readonly_jwk }}'
                      metadata: {json: {}}
                      created_date: {sql: now_utc}
                      expiration_date: '{{ readonly_expires }}'
                      approval_id: {from: approval, column: id}
                    unique_by: [kid]
                    returning: [id, expiration_date]
              register: inserted
";

#[test]
fn sql_insert_adds_the_read_only_key_and_its_approval_once() {
    let db = Postgres::up();
    let output = run(&db.dsn, INSERT_KEY, &[]).success();
    let result = only_result(&output);
    assert_eq!(result["status"], "changed");
    let approval_id: i64 = db
        .psql("quay", "SELECT id FROM servicekeyapproval")
        .parse()
        .unwrap();
    let key_id: i64 = db
        .psql("quay", "SELECT id FROM servicekey")
        .parse()
        .unwrap();
    assert_eq!(
        result["result"],
        json!({
            "rows": [
                {"name": "approval", "table": "servicekeyapproval", "state": "inserted",
                 "returning": {"id": approval_id}},
                {"name": "key", "table": "servicekey", "state": "inserted",
                 "returning": {"id": key_id, "expiration_date": "2030-06-01T12:00:00"}},
            ],
            "inserted": 2, "existing": 0, "skipped": 0,
            "changed": true, "failed": false, "msg": "inserted 2 of 2 rows",
        })
    );
    // The rows exactly as Quay's own statement (reference section 2) writes them.
    assert_eq!(
        db.psql(
            "quay",
            "SELECT approver_id IS NULL, approval_type, notes,
                    approved_date BETWEEN timezone('utc', now()) - interval '1 minute'
                                      AND timezone('utc', now())
             FROM servicekeyapproval"
        ),
        "t|ServiceKeyApprovalType.SUPERUSER|Read-only key for the test site|t"
    );
    assert_eq!(
        db.psql(
            "quay",
            "SELECT k.name, k.kid, k.service, k.jwk, k.metadata, k.expiration_date,
                    k.rotation_duration IS NULL, k.approval_id = a.id,
                    k.created_date BETWEEN timezone('utc', now()) - interval '1 minute'
                                       AND timezone('utc', now())
             FROM servicekey k, servicekeyapproval a"
        ),
        format!("quay-readonly|{KID}|quay|{JWK}|{{}}|2030-06-01 12:00:00|t|t|t")
    );

    // Again: the key exists, so neither row is inserted.
    let output = run(&db.dsn, INSERT_KEY, &[]).success();
    let result = only_result(&output);
    assert_eq!(result["status"], "ok");
    assert_eq!(
        result["result"]["rows"],
        json!([
            {"name": "approval", "table": "servicekeyapproval", "state": "skipped",
             "returning": {}},
            {"name": "key", "table": "servicekey", "state": "existing",
             "returning": {"id": key_id, "expiration_date": "2030-06-01T12:00:00"}},
        ])
    );
    assert_eq!(
        result["msg"],
        "nothing to insert: 1 of 2 rows exist, 1 skipped"
    );
    assert_eq!(db.count("servicekeyapproval"), "1");
    assert_eq!(db.count("servicekey"), "1");
}

#[test]
fn a_failing_row_leaves_neither_row_behind() {
    let db = Postgres::up();
    // The key misses `jwk`, which is NOT NULL: the approval before it must go too.
    let missing_jwk = INSERT_KEY.replace("jwk: '{{ readonly_jwk }}'", "rotation_duration: 60");
    let output = run(&db.dsn, &missing_jwk, &[]).status(2);
    let result = only_result(&output);
    assert_eq!(result["status"], "failed");
    assert_eq!(
        result["msg"],
        "row 2 (`servicekey`): ERROR: null value in column \"jwk\" of relation \"servicekey\" violates not-null constraint"
    );
    assert_eq!(db.count("servicekeyapproval"), "0");
    assert_eq!(db.count("servicekey"), "0");

    let bad_column = INSERT_KEY.replace("service: quay", "servce: quay");
    let output = run(&db.dsn, &bad_column, &[]).status(2);
    assert_eq!(
        only_result(&output)["msg"],
        "row 2 (`servicekey`): ERROR: column \"servce\" of relation \"servicekey\" does not exist"
    );
    assert_eq!(db.count("servicekeyapproval"), "0");
    assert_eq!(db.count("servicekey"), "0");

    // A value that does not fit its column is caught before anything is sent.
    let bad_date = INSERT_KEY.replace("'{{ readonly_expires }}'", "next tuesday");
    let output = run(&db.dsn, &bad_date, &[]).status(2);
    assert_eq!(
        only_result(&output)["msg"],
        "row 2 (`servicekey`): `values.expiration_date`: `next tuesday` is not an ISO 8601 timestamp (the parameter has type `timestamp`)"
    );
    assert_eq!(db.count("servicekeyapproval"), "0");
    assert_eq!(db.count("servicekey"), "0");
}

#[test]
fn check_mode_inserts_nothing() {
    let db = Postgres::up();
    let output = run(&db.dsn, INSERT_KEY, &["--check"]).success();
    let result = only_result(&output);
    assert_eq!(result["status"], "changed");
    assert_eq!(result["msg"], "would insert 2 of 2 rows");
    assert_eq!(db.count("servicekeyapproval"), "0");
    assert_eq!(db.count("servicekey"), "0");

    let insert_and_read = "
            - sql:
                dsn: '{{ dsn }}'
                statements:
                  - query: INSERT INTO servicekeyapproval (approval_type, approved_date, notes) VALUES ($1, $2, 'n')
                    params: [ServiceKeyApprovalType.AUTOMATIC, '2030-01-01 00:00:00']
                  - SELECT approval_type, approved_date FROM servicekeyapproval
";
    let output = run(&db.dsn, insert_and_read, &["--check"]).success();
    let result = only_result(&output);
    assert_eq!(result["status"], "changed");
    // The SELECT saw the insert inside the transaction that was then rolled back.
    assert_eq!(
        result["result"]["rows"],
        json!([[], [{"approval_type": "ServiceKeyApprovalType.AUTOMATIC",
                     "approved_date": "2030-01-01T00:00:00"}]])
    );
    assert_eq!(db.count("servicekeyapproval"), "0");
}

#[test]
fn sql_update_changes_exactly_the_one_row() {
    let db = Postgres::up();
    db.psql(
        "quay",
        "INSERT INTO servicekeyapproval (approval_type, approved_date, notes)
           VALUES ('ServiceKeyApprovalType.SUPERUSER', timezone('utc', now()), '');
         INSERT INTO servicekey (name, kid, service, jwk, metadata, created_date, expiration_date, approval_id)
           VALUES ('a', 'kid-a', 'quay', '{}', '{}', timezone('utc', now()), '2029-01-01', 1),
                  ('b', 'kid-b', 'quay', '{}', '{}', timezone('utc', now()), '2029-01-01', 1)",
    );
    let update = "
            - sql:
                dsn: '{{ dsn }}'
                statements:
                  - query: UPDATE servicekey SET expiration_date = $1 WHERE kid = $2
                    params: ['{{ readonly_expires }}', kid-a]
              register: extended
";
    let output = run(&db.dsn, update, &[]).success();
    let result = only_result(&output);
    assert_eq!(result["status"], "changed");
    assert_eq!(result["result"]["rowcount"], 1);
    assert_eq!(result["result"]["rowcounts"], json!([1]));
    assert_eq!(
        db.psql(
            "quay",
            "SELECT kid, expiration_date FROM servicekey ORDER BY kid"
        ),
        "kid-a|2030-06-01 12:00:00\nkid-b|2029-01-01 00:00:00"
    );

    // The same UPDATE again still affects the row, so it is `changed` (as documented)...
    let output = run(&db.dsn, update, &[]);
    let result = only_result(&output);
    assert_eq!(result["status"], "changed");
    assert_eq!(result["result"]["rowcount"], 1);

    // ...while `IS DISTINCT FROM` makes it idempotent.
    let idempotent = update.replace(
        "WHERE kid = $2",
        "WHERE kid = $2 AND expiration_date IS DISTINCT FROM $1",
    );
    let output = run(&db.dsn, &idempotent, &[]).success();
    let result = only_result(&output);
    assert_eq!(result["status"], "ok");
    assert_eq!(result["result"]["rowcount"], 0);
    assert_eq!(
        db.psql(
            "quay",
            "SELECT kid, expiration_date FROM servicekey ORDER BY kid"
        ),
        "kid-a|2030-06-01 12:00:00\nkid-b|2029-01-01 00:00:00"
    );
}

#[test]
fn create_database_and_extension_are_ok_when_present() {
    let db = Postgres::up();
    let admin = db.dsn_for("postgres", "postgres");
    let create = "
            - sql:
                dsn: '{{ dsn }}'
                statements:
                  - CREATE DATABASE quay_restore OWNER quay
";
    let output = run(&admin, create, &[]).success();
    assert_eq!(only_result(&output)["status"], "changed");
    assert_eq!(
        db.psql(
            "postgres",
            "SELECT datname FROM pg_database WHERE datname = 'quay_restore'"
        ),
        "quay_restore"
    );
    let output = run(&admin, create, &[]).success();
    assert_eq!(only_result(&output)["status"], "ok");

    let extension = "
            - sql:
                dsn: '{{ dsn }}'
                statements:
                  - CREATE EXTENSION IF NOT EXISTS pg_trgm
";
    // Missing in the new database, then present.
    let restore = db.dsn_for("postgres", "quay_restore");
    let output = run(&restore, extension, &[]).success();
    assert_eq!(only_result(&output)["status"], "changed");
    assert_eq!(
        db.psql(
            "quay_restore",
            "SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'"
        ),
        "pg_trgm"
    );
    let output = run(&restore, extension, &[]);
    assert_eq!(only_result(&output)["status"], "ok");
    // Quay's own database has it from the schema, and its owner may ask again.
    let output = run(&db.dsn, extension, &[]).success();
    assert_eq!(only_result(&output)["status"], "ok");

    // In check mode a missing database is reported, not created.
    let other = create.replace("quay_restore", "quay_other");
    let output = run(&admin, &other, &["--check"]);
    assert_eq!(only_result(&output)["status"], "changed");
    assert_eq!(
        db.psql(
            "postgres",
            "SELECT count(*) FROM pg_database WHERE datname = 'quay_other'"
        ),
        "0"
    );
}

#[test]
fn a_wrong_password_fails_with_the_password_masked() {
    let db = Postgres::up();
    let wrong = db.dsn.replace(PASSWORD, "not-the-pw");
    for task in [
        INSERT_KEY,
        "            - sql: {dsn: '{{ dsn }}', statements: [SELECT 1]}\n",
    ] {
        let output = run(&wrong, task, &[]).status(2);
        assert_eq!(
            only_result(&output)["msg"],
            format!(
                "cannot connect to `postgresql://quay:********@127.0.0.1:{}/quay`: FATAL: password authentication failed for user \"quay\"",
                db.port
            )
        );
        assert!(!output.stdout.contains("not-the-pw"), "{}", output.stdout);
        assert!(!output.stderr.contains("not-the-pw"), "{}", output.stderr);
    }
    assert_eq!(db.count("servicekey"), "0");

    // Nothing listening: refused, with the right password masked as well.
    let nowhere = db
        .dsn
        .replace(&db.port.to_string(), &free_port().to_string());
    let output = run(&nowhere, INSERT_KEY, &[]).status(2);
    let msg = only_result(&output)["msg"].as_str().unwrap().to_owned();
    assert!(
        msg.starts_with("cannot connect to `postgresql://quay:********@127.0.0.1:")
            && msg
                .ends_with("/quay`: error connecting to server: Connection refused (os error 111)"),
        "{msg}"
    );
    assert!(!output.stdout.contains(PASSWORD), "{}", output.stdout);
}

#[test]
fn sslmode_is_honoured() {
    let db = Postgres::up();
    let select = "            - sql: {dsn: '{{ dsn }}', statements: [SELECT 1 AS one]}\n";
    let output = run(&format!("{}?sslmode=require", db.dsn), select, &[]).status(2);
    assert_eq!(
        only_result(&output)["msg"],
        format!(
            "cannot connect to `postgresql://quay:********@127.0.0.1:{}/quay?sslmode=require`: error performing TLS handshake: server does not support TLS (`sslmode` in the DSN decides whether TLS is required)",
            db.port
        )
    );
    for mode in ["disable", "prefer"] {
        let output = run(&format!("{}?sslmode={mode}", db.dsn), select, &[]).success();
        assert_eq!(
            only_result(&output)["result"]["rows"],
            json!([[{"one": 1}]])
        );
    }
}

#[test]
fn via_tunnels_through_a_fleet_host() {
    let db = Postgres::up();
    let fleet = crate::common::fleet::fleet();
    let play = format!(
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - sql:
                dsn: '{dsn}'
                via: host1
                statements: ['SELECT 40 + 2 AS answer']
              register: through
            - assert:
                that: through.rows[0][0].answer == 42
            - sql:
                dsn: '{dsn}'
                via: nowhere
                statements: [SELECT 1]
        ",
        dsn = db.dsn
    );
    let output = Test::new()
        .file("play.yml", &play)
        .args(&[
            "run",
            "play.yml",
            "-i",
            fleet.inventory.to_str().unwrap(),
            "--output",
            "json",
        ])
        .run()
        .status(2);
    let results = results(&output);
    assert_eq!(results[0]["status"], "ok", "{output:?}");
    assert_eq!(results[1]["status"], "ok", "{output:?}");
    assert_eq!(
        results[2]["msg"],
        format!(
            "cannot reach `127.0.0.1:{}` through `nowhere`: cannot connect to `nowhere`: no such host in the inventory",
            db.port
        )
    );
    assert!(!output.stdout.contains("quay-secret-pw"));
}

#[test]
fn a_statement_slower_than_the_timeout_fails_the_task() {
    let db = Postgres::up();
    let task = "
            - sql:
                dsn: '{{ dsn }}'
                statements: [SELECT pg_sleep(30)]
              timeout: 1
";
    let started = std::time::Instant::now();
    let output = run(&db.dsn, task, &[]);
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
    let output = output.status(2);
    assert_eq!(
        only_result(&output)["msg"],
        format!(
            "no answer from `postgresql://quay:********@127.0.0.1:{}/quay` within 1 s",
            db.port
        )
    );
}

impl Postgres {
    /// Stop the server, keeping its data; `scripts/postgres up` starts it again.
    fn stop(&self) {
        let pg_ctl = glob::glob("/usr/lib/postgresql/*/bin/pg_ctl")
            .unwrap()
            .filter_map(Result::ok)
            .max()
            .expect("pg_ctl");
        let status = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(pg_ctl)
            .args(["stop", "-w", "-m", "fast", "-D"])
            .arg(self.data.join("data"))
            .status()
            .unwrap();
        assert!(status.success(), "pg_ctl stop");
    }

    fn start(&self) {
        let output = Command::new(repo_root().join("scripts/postgres"))
            .args(["up", "--dir"])
            .arg(&self.data)
            .args(["--port", &self.port.to_string()])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn a_stopped_database_fails_the_task_cleanly_and_a_rerun_after_restart_succeeds() {
    let pg = Postgres::up();
    pg.stop();
    let output = run(&pg.dsn, INSERT_KEY, &[]).status(2);
    let result = only_result(&output);
    assert_eq!(result["status"], "failed");
    let msg = result["msg"].as_str().unwrap();
    assert!(
        msg.contains("Connection refused") || msg.contains("connect"),
        "{msg}"
    );
    assert!(
        !output.stdout.contains(PASSWORD) && !output.stderr.contains(PASSWORD),
        "{output:?}"
    );

    pg.start();
    // Nothing of the failed run is there; the rerun inserts both rows.
    assert_eq!(pg.count("servicekey"), "0");
    assert_eq!(pg.count("servicekeyapproval"), "0");
    let output = run(&pg.dsn, INSERT_KEY, &[]).success();
    assert_eq!(only_result(&output)["status"], "changed");
    assert_eq!(pg.count("servicekey"), "1");
    assert_eq!(pg.count("servicekeyapproval"), "1");
}

#[test]
fn quotes_and_sql_in_values_go_in_as_data() {
    let db = Postgres::up();
    let hostile = "x'); DROP TABLE servicekey; --";
    let notes = r#"it's "quoted" \ $1 $$ ; -- no comment"#;
    let vars = json!({"hostile": hostile, "notes": notes}).to_string();
    let tasks = "
            - sql_insert:
                dsn: '{{ dsn }}'
                rows:
                  - name: approval
                    table: servicekeyapproval
                    values:
                      approval_type: ServiceKeyApprovalType.SUPERUSER
                      approved_date: {sql: now_utc}
                      notes: '{{ notes }}'
                    returning: [id]
                  - table: servicekey
                    values:
                      name: '{{ hostile }}'
                      kid: '{{ hostile }}'
                      service: quay
                      jwk: '{{ hostile }}'
                      metadata: {json: {}}
                      created_date: {sql: now_utc}
                      approval_id: {from: approval, column: id}
                    unique_by: [kid]
            - sql:
                dsn: '{{ dsn }}'
                statements:
                  - query: SELECT notes FROM servicekeyapproval WHERE notes = $1
                    params: ['{{ notes }}']
                  - query: UPDATE servicekey SET jwk = $1 WHERE kid = $1 AND jwk IS DISTINCT FROM $1
                    params: ['{{ hostile }}']
              register: found
";
    let output = run(&db.dsn, tasks, &["-e", &vars]).success();
    let results = results(&output);
    assert_eq!(results[0]["status"], "changed");
    assert_eq!(results[1]["result"]["rows"][0], json!([{ "notes": notes }]));
    // The table is still there, holding the text as it was written.
    assert_eq!(
        db.psql("quay", "SELECT name, kid, jwk FROM servicekey"),
        format!("{hostile}|{hostile}|{hostile}")
    );
    assert_eq!(
        db.psql("quay", "SELECT notes FROM servicekeyapproval"),
        notes
    );
    // The second insert finds the row by that kid: nothing more goes in.
    run(&db.dsn, tasks, &["-e", &vars]).success();
    assert_eq!(db.count("servicekey"), "1");
    assert_eq!(db.count("servicekeyapproval"), "1");
}

impl Postgres {
    /// Turn TLS on with a self-signed certificate (its own CA); returns the certificate.
    fn enable_tls(&self) -> PathBuf {
        let dir = self.data.parent().unwrap();
        let (cert, key) = (dir.join("server.crt"), dir.join("server.key"));
        let status = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", "/CN=quay-test-db", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "openssl req");
        let status = Command::new("chown")
            .arg("postgres:postgres")
            .args([&cert, &key])
            .status()
            .unwrap();
        assert!(status.success());
        for setting in [
            format!("ALTER SYSTEM SET ssl_cert_file = '{}'", cert.display()),
            format!("ALTER SYSTEM SET ssl_key_file = '{}'", key.display()),
            "ALTER SYSTEM SET ssl = on".to_owned(),
            "SELECT pg_reload_conf()".to_owned(),
        ] {
            self.psql("postgres", &setting);
        }
        for _ in 0..50 {
            if self.psql("postgres", "SHOW ssl") == "on" {
                return cert;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the server did not turn TLS on");
    }
}

#[test]
fn sslmode_against_a_server_with_tls() {
    let db = Postgres::up();
    let cert = db.enable_tls();
    let probe = "            - sql: {dsn: '{{ dsn }}', statements: ['SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()']}\n";
    let ssl = |query: &str| {
        let output = run(&format!("{}?{query}", db.dsn), probe, &[]).success();
        only_result(&output)["result"]["rows"][0][0]["ssl"].clone()
    };
    assert_eq!(ssl("sslmode=require"), json!(true));
    assert_eq!(ssl("sslmode=prefer"), json!(true));
    assert_eq!(ssl("sslmode=disable"), json!(false));
    // verify-ca checks the server's certificate against the root given...
    assert_eq!(
        ssl(&format!("sslmode=verify-ca&sslrootcert={}", cert.display())),
        json!(true)
    );
    // ...and without one, a self-signed certificate is refused.
    let output = run(&format!("{}?sslmode=verify-ca", db.dsn), probe, &[]).status(2);
    let msg = only_result(&output)["msg"].as_str().unwrap().to_owned();
    assert!(
        msg.starts_with(&format!(
            "cannot connect to `postgresql://quay:********@127.0.0.1:{}/quay?sslmode=verify-ca`: error performing TLS handshake:",
            db.port
        )) && msg.contains("certificate verify failed"),
        "{msg}"
    );
    // verify-full also checks the name: the certificate is for `quay-test-db`.
    let output = run(
        &format!(
            "{}?sslmode=verify-full&sslrootcert={}",
            db.dsn,
            cert.display()
        ),
        probe,
        &[],
    )
    .status(2);
    let msg = only_result(&output)["msg"].as_str().unwrap().to_owned();
    assert!(msg.contains("certificate verify failed"), "{msg}");
    assert!(!output.stdout.contains(PASSWORD));
}

/// The program and pid holding the client end of the TCP connection from local `port`.
fn socket_owner(port: u16) -> Option<(String, u32)> {
    let output = Command::new("ss")
        .args(["-Htnp", "state", "established"])
        .arg(format!("( sport = :{port} )"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let users = regex::Regex::new(r#"users:\(\("([^"]+)",pid=(\d+)"#).unwrap();
    let found = users.captures(&text)?;
    Some((found[1].to_owned(), found[2].parse().unwrap()))
}

/// Process `pid` and its ancestors, up to init.
fn lineage(mut pid: u32) -> Vec<u32> {
    let mut chain = Vec::new();
    while pid > 1 {
        chain.push(pid);
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        pid = status
            .lines()
            .find_map(|l| l.strip_prefix("PPid:"))
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or(0);
    }
    chain
}

/// Run a slow query (through `via`, if given) and return who holds the client end of its
/// connection, seen from the server while the query runs: the program and its lineage.
fn who_connects(db: &Postgres, via: Option<&str>) -> (String, Vec<u32>) {
    let fleet = crate::common::fleet::fleet();
    let via = via.map(|host| format!("via: {host}")).unwrap_or_default();
    let play = format!(
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - sql:
                dsn: '{dsn}'
                {via}
                statements: ['SELECT 1 AS tunnel_probe FROM pg_sleep(3)']
        ",
        dsn = db.dsn
    );
    let test = Test::new().file("play.yml", &play);
    let mut child = Command::new(env!("CARGO_BIN_EXE_quayside"))
        .args(["run", "play.yml", "-i", fleet.inventory.to_str().unwrap()])
        .current_dir(test.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut owner = None;
    for _ in 0..100 {
        let port = db.psql(
            "postgres",
            "SELECT client_port FROM pg_stat_activity \
             WHERE query LIKE '%tunnel_probe%' AND pid <> pg_backend_pid()",
        );
        if let Ok(port) = port.parse::<u16>() {
            owner = socket_owner(port).map(|(program, pid)| (program, lineage(pid)));
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(child.wait().unwrap().success());
    owner.expect("the query was seen on the server")
}

#[test]
fn via_connects_from_the_host_not_from_the_controller() {
    let db = Postgres::up();
    let fleet = crate::common::fleet::fleet();
    let sshd: u32 = std::fs::read_to_string(fleet.dir.join("hosts/host1/sshd.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Directly, quayside itself is the database's client.
    let (program, _) = who_connects(&db, None);
    assert_eq!(program, "quayside");
    // Through host1, the client is host1's sshd, forwarding the tunnel.
    let (program, lineage) = who_connects(&db, Some("host1"));
    assert_eq!(program, "sshd");
    assert!(
        lineage.contains(&sshd),
        "{lineage:?} is not host1's sshd ({sshd})"
    );
}
