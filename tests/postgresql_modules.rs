//! The `community.postgresql` modules (`postgresql_db`, `postgresql_user`,
//! `postgresql_ext`, `postgresql_query`, `postgresql_ping`, `postgresql_privs`) against a real PostgreSQL that
//! each test starts for itself (`scripts/postgres`).
//!
//! Expected values come from ansible-core 2.19.14 with community.postgresql 3.14.3 (and
//! psycopg2 2.9.13) running the same tasks against the same kind of server: each value
//! asserted is what ansible-playbook registered. Where quayside differs (the order of
//! `role_attr_flags` in `queries`, which Python takes from a set), the test says so.

use crate::common::Test;
use crate::sql::Postgres;

/// A playbook of `tasks` on `db` (a local connection), `PORT` replaced by the server's.
fn run(db: &Postgres, tasks: &str, extra: &[&str]) -> crate::common::Output {
    let play = format!(
        "- hosts: db\n  gather_facts: false\n  vars:\n    pg: &pg\n      login_host: 127.0.0.1\n      port: PORT\n      login_user: postgres\n  tasks:\n{tasks}"
    )
    .replace("PORT", &db.port.to_string());
    let mut args = vec!["run", "-i", "inventory.yml", "play.yml"];
    args.extend(extra);
    Test::new()
        .file(
            "inventory.yml",
            "all:\n  hosts:\n    db:\n      ansible_connection: local\n",
        )
        .file("play.yml", &play)
        .args(&args)
        .run()
}

const LIFECYCLE: &str = r#"
    - community.postgresql.postgresql_db: {<<: *pg, name: cmpdb, owner: quay, conn_limit: 5, comment: compared}
      register: db1
    - assert:
        that:
          - db1.changed and db1.db == 'cmpdb'
          - >-
            db1.executed_commands == ['CREATE DATABASE "cmpdb" OWNER "quay" CONNECTION LIMIT 5', 'COMMENT ON DATABASE "cmpdb" IS ' ~ "'compared'"]
    - postgresql_db: {<<: *pg, name: cmpdb, owner: quay, conn_limit: '5', comment: compared}
      register: db2
    - assert: {that: 'not db2.changed and db2.executed_commands == []'}
    - community.postgresql.postgresql_query:
        <<: *pg
        db: cmpdb
        query: CREATE TABLE IF NOT EXISTS t (id int primary key, name text, price numeric, at timestamp)
      register: q1
    - assert:
        that:
          - q1.changed and q1.statusmessage == 'CREATE TABLE' and q1.rowcount == 0
          - >-
            q1.query_result == {} and q1.query_all_results == [{}]
    - community.postgresql.postgresql_query:
        <<: *pg
        db: cmpdb
        query:
          - INSERT INTO t VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING
          - SELECT id, name, %s AS n, %s AS s, %s AS p, %s AS a FROM t ORDER BY id
        positional_args: [1, "it's", 2.5, "2030-01-01 00:00:00"]
      register: q2
    - assert:
        that:
          - q2.changed and q2.rowcount == 2 and q2.statusmessage == 'SELECT 1'
          - >-
            q2.query == "SELECT id, name, 1 AS n, 'it''s' AS s, 2.5 AS p, '2030-01-01 00:00:00' AS a FROM t ORDER BY id"
          - >-
            q2.query_result == [{"a": "2030-01-01 00:00:00", "id": 1, "n": 1, "name": "it's", "p": 2.5, "s": "it's"}]
          - >-
            q2.query_all_results[0] == {} and q2.query_list | length == 2
    - postgresql_query: {<<: *pg, db: cmpdb, query: "INSERT INTO t VALUES (%(id)s, %(name)s) ON CONFLICT DO NOTHING", named_args: {id: 2, name: two}}
      register: q3
    - postgresql_query: {<<: *pg, db: cmpdb, query: "INSERT INTO t VALUES (%(id)s, %(name)s) ON CONFLICT DO NOTHING", named_args: {id: 2, name: two}}
      register: q4
    - assert:
        that:
          - q3.changed and q3.statusmessage == 'INSERT 0 1' and q3.rowcount == 1
          - >-
            q3.query == "INSERT INTO t VALUES (2, 'two') ON CONFLICT DO NOTHING"
          - not q4.changed and q4.statusmessage == 'INSERT 0 0' and q4.rowcount == 0
    - postgresql_query: {<<: *pg, db: cmpdb, query: "SELECT id, name FROM t ORDER BY id; SELECT count(*) AS c FROM t"}
      register: q5
    - postgresql_query: {<<: *pg, db: cmpdb, query: SHOW work_mem}
      register: q6
    - postgresql_query: {<<: *pg, db: cmpdb, query: "UPDATE t SET name = 'x' WHERE id = 42"}
      register: q7
    - assert:
        that:
          - >-
            not q5.changed and q5.query_all_results == [[{"c": 2}]] and q5.rowcount == 1
          - not q6.changed and q6.statusmessage == 'SHOW' and q6.rowcount == 1
          - not q7.changed and q7.statusmessage == 'UPDATE 0'
    - community.postgresql.postgresql_user:
        <<: *pg
        name: alice
        password: alice-pw-123
        role_attr_flags: CREATEDB,NOSUPERUSER
        expires: "2031-01-01"
        conn_limit: 3
        comment: the user
      register: u1
    - assert:
        that:
          - u1.changed and u1.user == 'alice'
          # ansible-core lists the flags in Python's set order; quayside as written.
          - >-
            u1.queries == ['CREATE USER "alice" WITH ENCRYPTED PASSWORD %(password)s VALID UNTIL %(expires)s CONNECTION LIMIT 3 CREATEDB NOSUPERUSER', 'COMMENT ON ROLE "alice" IS ' ~ "'the user'"]
    - postgresql_user: {<<: *pg, name: alice, password: alice-pw-123, role_attr_flags: "CREATEDB,NOSUPERUSER", expires: "2031-01-01", conn_limit: 3, comment: the user}
      register: u2
    - assert: {that: 'not u2.changed and u2.queries == []'}
    - postgresql_ping: {login_host: 127.0.0.1, port: PORT, login_user: alice, login_password: alice-pw-123, db: cmpdb}
      register: p1
    - postgresql_user: {<<: *pg, name: alice, password: alice-pw-456}
      register: u3
    - postgresql_ping: {login_host: 127.0.0.1, port: PORT, login_user: alice, login_password: alice-pw-123, db: cmpdb}
      register: p2
    - assert:
        that:
          - p1.is_available and p1.server_version.major >= 10 and p1.conn_err_msg == ''
          - >-
            u3.changed and u3.queries == ['ALTER USER "alice" WITH ENCRYPTED PASSWORD %(password)s ']
          - >-
            not p2.is_available and p2.server_version == {} and not p2.changed
          - >-
            p2.conn_err_msg is match('connection to server at "127.0.0.1", port PORT failed: FATAL:  password authentication failed for user "alice"')
    - community.postgresql.postgresql_ext: {<<: *pg, db: cmpdb, name: pg_trgm}
      register: e1
    - postgresql_ext: {<<: *pg, db: cmpdb, name: pg_trgm}
      register: e2
    - assert:
        that:
          - >-
            e1.changed and e1.queries == ['CREATE EXTENSION "pg_trgm"'] and e1.prev_version == '' and e1.version != ''
          - >-
            not e2.changed and e2.queries == [] and e2.prev_version == e1.version and e2.ext == 'pg_trgm' and e2.db == 'cmpdb'
    - postgresql_ext: {<<: *pg, db: cmpdb, name: pg_trgm, state: absent}
      register: e3
    - postgresql_user: {<<: *pg, name: alice, state: absent}
      register: u4
    - postgresql_user: {<<: *pg, name: alice, state: absent}
      register: u5
    - postgresql_db: {<<: *pg, name: cmpdb, state: absent}
      register: db3
    - postgresql_db: {<<: *pg, name: cmpdb, state: absent}
      register: db4
    - assert:
        that:
          - >-
            e3.changed and e3.queries == ['DROP EXTENSION "pg_trgm"'] and e3.version == ''
          - >-
            u4.changed and u4.user_removed and u4.queries == ['DROP USER "alice"']
          - >-
            not u5.changed and u5.user_removed is not defined and u5.queries == []
          - >-
            db3.changed and db3.executed_commands == ['DROP DATABASE "cmpdb"']
          - not db4.changed
"#;

#[test]
fn postgresql_modules_create_use_and_remove_as_the_collection_does() {
    let db = Postgres::up();
    let output = run(&db, LIFECYCLE, &[]).success();
    assert_eq!(
        output.recap("db"),
        "db : ok=32 changed=10 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert!(!output.stdout.contains("alice-pw"), "{}", output.stdout);
    assert_eq!(
        db.psql(
            "postgres",
            "SELECT count(*) FROM pg_database WHERE datname = 'cmpdb'"
        ),
        "0"
    );
    assert_eq!(
        db.psql(
            "postgres",
            "SELECT count(*) FROM pg_roles WHERE rolname = 'alice'"
        ),
        "0"
    );
}

const DESIRED: &str = r#"
    - postgresql_user: {<<: *pg, name: bob, password: bob-secret-pw, role_attr_flags: "LOGIN,CREATEDB", expires: "2031-06-01T00:00:00", conn_limit: 4, comment: Bob}
    - postgresql_db: {<<: *pg, name: bobdb, owner: bob, encoding: UTF8, template: template0, conn_limit: 7, comment: Bob's}
    - postgresql_ext: {<<: *pg, db: bobdb, name: pg_trgm, schema: public}
"#;

#[test]
fn a_second_run_changes_nothing_and_the_password_is_stored_as_a_scram_verifier() {
    let db = Postgres::up();
    let first = run(&db, DESIRED, &["-v"]).success();
    assert_eq!(
        first.recap("db"),
        "db : ok=3 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    let second = run(&db, DESIRED, &["-v"]).success();
    assert_eq!(
        second.recap("db"),
        "db : ok=3 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    for output in [&first, &second] {
        assert!(
            !output.stdout.contains("bob-secret-pw"),
            "{}",
            output.stdout
        );
    }
    let stored = db.psql(
        "postgres",
        "SELECT rolpassword FROM pg_authid WHERE rolname = 'bob'",
    );
    assert!(stored.starts_with("SCRAM-SHA-256$4096:"), "{stored}");
    assert_eq!(
        db.psql(
            "postgres",
            "SELECT rolcanlogin, rolcreatedb, rolconnlimit, rolvaliduntil = '2031-06-01T00:00:00'::timestamptz, shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = 'bob'"
        ),
        "t|t|4|t|Bob"
    );
    assert_eq!(
        db.psql(
            "postgres",
            "SELECT pg_get_userbyid(datdba), datconnlimit, shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = 'bobdb'"
        ),
        "bob|7|Bob's"
    );
    let log = std::fs::read_to_string(db.data.join("postgres.log")).unwrap_or_default();
    assert!(!log.contains("bob-secret-pw"));
}

// ansible-core 2.19.14 in --check: changes are reported, nothing is changed.
const CHECK: &str = r#"
    - postgresql_db: {<<: *pg, name: chkdb}
      check_mode: false
    - postgresql_query: {<<: *pg, db: chkdb, query: "CREATE TABLE IF NOT EXISTS t (id int)"}
      check_mode: false
    - postgresql_user: {<<: *pg, name: bob, password: bob-pw-1}
      check_mode: false
    - postgresql_db: {<<: *pg, name: chkdb, owner: bob, comment: hi}
      register: c1
    - postgresql_db: {<<: *pg, name: chkdb2}
      register: c2
    - postgresql_db: {<<: *pg, name: chkdb, state: absent}
      register: c3
    - postgresql_query: {<<: *pg, db: chkdb, query: "INSERT INTO t VALUES (1)"}
      register: c4
    - postgresql_query: {<<: *pg, db: chkdb, query: "SELECT count(*) AS n FROM t"}
      register: c5
    - postgresql_user: {<<: *pg, name: bob, password: bob-pw-2, role_attr_flags: CREATEDB}
      register: c6
    - postgresql_user: {<<: *pg, name: bob, password: bob-pw-1}
      register: c7
    - postgresql_user: {<<: *pg, name: carol}
      register: c8
    - postgresql_user: {<<: *pg, name: bob, state: absent}
      register: c9
    - postgresql_ext: {<<: *pg, db: chkdb, name: pg_trgm}
      register: c10
    - assert:
        that:
          - >-
            c1.changed and c1.executed_commands == [] and c2.changed and c3.changed
          - c4.changed and c4.statusmessage == 'INSERT 0 1' and c4.rowcount == 1
          - >-
            not c5.changed and c5.query_result == [{"n": 0}]
          - >-
            c6.changed and c6.queries == ['ALTER USER "bob" WITH ENCRYPTED PASSWORD %(password)s CREATEDB']
          - >-
            not c7.changed and c7.queries == []
          - >-
            c8.changed and c8.queries == ['CREATE USER "carol" ']
          - >-
            c9.changed and c9.user_removed and c9.queries == []
          - >-
            c10.changed and c10.queries == ['CREATE EXTENSION "pg_trgm"'] and c10.prev_version == ''
"#;

#[test]
fn check_mode_reports_changes_and_changes_nothing() {
    let db = Postgres::up();
    let before = db.psql(
        "postgres",
        "SELECT rolpassword FROM pg_authid WHERE rolname = 'quay'",
    );
    let output = run(&db, CHECK, &["--check"]).success();
    assert_eq!(
        output.recap("db"),
        "db : ok=14 changed=11 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    let state = |sql: &str, database: &str| db.psql(database, sql);
    assert_eq!(
        state(
            "SELECT datname, pg_get_userbyid(datdba), coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname LIKE 'chkdb%'",
            "postgres"
        ),
        "chkdb|postgres|"
    );
    assert_eq!(state("SELECT count(*) FROM t", "chkdb"), "0");
    assert_eq!(
        state(
            "SELECT rolname, rolcreatedb FROM pg_roles WHERE rolname IN ('bob', 'carol')",
            "postgres"
        ),
        "bob|f"
    );
    assert_eq!(
        state(
            "SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'",
            "chkdb"
        ),
        "0"
    );
    assert_eq!(
        before,
        db.psql(
            "postgres",
            "SELECT rolpassword FROM pg_authid WHERE rolname = 'quay'"
        )
    );
}

// The messages ansible-core 2.19.14 registered for the same failures.
const FAILURES: &str = r#"
    - postgresql_query: {<<: *pg, login_db: quay, query: "SELECT * FROM nope"}
      register: f1
      ignore_errors: true
    - postgresql_db: {<<: *pg, name: quay, encoding: SQL_ASCII}
      register: f2
      ignore_errors: true
    - postgresql_user: {<<: *pg, name: x, role_attr_flags: "CREATEDB,FLY"}
      register: f3
      ignore_errors: true
    - postgresql_query: {<<: *pg, login_db: quay, query: "SELECT %s", positional_args: [1], named_args: {a: 1}}
      register: f4
      ignore_errors: true
    - postgresql_ext: {<<: *pg, db: quay, name: pg_nothing}
      register: f5
      ignore_errors: true
    - postgresql_query: {<<: *pg, login_db: quay, query: [INSERT INTO t VALUES (%s), "SELECT %s"], positional_args: [1, 2]}
      register: f6
      ignore_errors: true
    - postgresql_ping: {login_host: 127.0.0.1, login_port: 1}
      register: f7
    - postgresql_ping: {port: PORT}
      register: f8
    - postgresql_query: {<<: *pg, db: postgres, query: CREATE DATABASE later}
      register: f9
      ignore_errors: true
    - postgresql_query: {<<: *pg, db: postgres, query: SELECT 1, autocommit: true}
      register: f10
      check_mode: true
      ignore_errors: true
    - postgresql_query: {<<: *pg, db: postgres, query: CREATE DATABASE now, autocommit: true}
      register: f11
    - postgresql_ping: {<<: *pg, ssl_mode: require}
      register: f12
"#;

#[test]
fn failures_say_what_the_collection_says() {
    let db = Postgres::up();
    let output = run(&db, FAILURES, &["--output", "json", "-v"]).success();
    let results: Vec<serde_json::Value> = output
        .events()
        .into_iter()
        .filter(|e| e["event"] == "host_result")
        .collect();
    let messages: Vec<&str> = results
        .iter()
        .map(|r| r["msg"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        messages[..6],
        [
            "Cannot execute SQL 'SELECT * FROM nope' None: relation \"nope\" does not exist\nLINE 1: SELECT * FROM nope\n                      ^\n, query list: ['SELECT * FROM nope']",
            "Changing database encoding is not supported. Current encoding: UTF8",
            "Invalid role_attr_flags specified: FLY",
            "parameters are mutually exclusive: positional_args|named_args",
            "Extension pg_nothing is not available",
            "Cannot execute SQL 'INSERT INTO t VALUES (%s)' [1, 2]: not all arguments converted during string formatting, query list: ['INSERT INTO t VALUES (%s)', 'SELECT %s']",
        ],
        "{output:?}"
    );
    assert!(
        results[..6].iter().all(|r| r["status"] == "ignored"),
        "{results:?}"
    );
    assert_eq!(results[1]["result"].get("db"), None);
    let ping = &results[6];
    assert_eq!(ping["status"], "ok");
    assert_eq!(ping["result"]["is_available"], false);
    assert_eq!(
        ping["result"]["conn_err_msg"],
        "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?\n"
    );
    assert_eq!(
        [&results[8]["msg"], &results[9]["msg"]],
        [
            "Cannot execute SQL 'CREATE DATABASE later' None: CREATE DATABASE cannot run inside a transaction block\n, query list: ['CREATE DATABASE later']",
            "Using autocommit is mutually exclusive with check_mode",
        ]
    );
    assert_eq!(results[10]["status"], "changed");
    assert_eq!(results[10]["result"]["statusmessage"], "CREATE DATABASE");
    assert_eq!(
        db.psql(
            "postgres",
            "SELECT string_agg(datname, ',') FROM pg_database WHERE datname IN ('later', 'now')"
        ),
        "now"
    );
    assert_eq!(
        results[11]["result"]["conn_err_msg"],
        format!(
            "connection to server at \"127.0.0.1\", port {} failed: server does not support SSL, but SSL was required\n",
            db.port
        )
    );
    // No `login_host`: libpq's default socket, which no server listens on here.
    assert_eq!(
        results[7]["result"]["conn_err_msg"],
        format!(
            "connection to server on socket \"/var/run/postgresql/.s.PGSQL.{}\" failed: No such file or directory\n\tIs the server running locally and accepting connections on that socket?\n",
            db.port
        )
    );
    assert_eq!(
        db.psql("quay", "SELECT count(*) FROM pg_roles WHERE rolname = 'x'"),
        "0"
    );
}

// What ansible-core 2.19.14 registered for the same grants, in order, on a fresh server.
const PRIVS: &str = r#"
    - postgresql_user: {<<: *pg, name: pbob}
    - postgresql_user: {<<: *pg, name: pgrp}
    - postgresql_query: {<<: *pg, db: quay, query: "CREATE TABLE pt1 (id serial); CREATE TABLE pt2 (id int)"}
    - community.postgresql.postgresql_privs: {<<: *pg, db: quay, privs: SELECT, objs: pt1, roles: pbob}
      register: r1
    - postgresql_privs: {<<: *pg, db: quay, privs: SELECT, objs: pt1, roles: pbob}
      register: r2
    - postgresql_privs: {<<: *pg, db: quay, privs: SELECT, objs: ALL_IN_SCHEMA, roles: pbob, grant_option: true}
      register: r3
    - postgresql_privs: {<<: *pg, db: quay, type: database, privs: CONNECT, roles: pbob}
      register: r4
    - postgresql_privs: {<<: *pg, db: quay, type: database, privs: CONNECT, roles: pbob}
      register: r5
    - postgresql_privs: {<<: *pg, db: quay, type: schema, objs: public, privs: USAGE, roles: "pbob,PUBLIC"}
      register: r6
    - postgresql_privs: {<<: *pg, db: quay, type: group, objs: pgrp, roles: pbob}
      register: r7
    - postgresql_privs: {<<: *pg, db: quay, type: group, objs: pgrp, roles: pbob}
      register: r8
    - postgresql_privs: {<<: *pg, db: quay, type: sequence, objs: pt1_id_seq, privs: USAGE, roles: pbob, grant_option: false}
      register: r9
    - postgresql_privs: {<<: *pg, db: quay, privs: SELECT, objs: pt1, roles: pbob, state: absent}
      register: r10
      check_mode: true
    - postgresql_privs: {<<: *pg, db: quay, privs: SELECT, objs: pt1, roles: nobody}
      register: r11
      ignore_errors: true
    - postgresql_privs: {<<: *pg, db: quay, privs: FLY, objs: pt1, roles: pbob}
      register: r12
      ignore_errors: true
    - postgresql_privs: {<<: *pg, db: quay, type: database, schema: x, privs: CONNECT, roles: pbob}
      register: r13
      ignore_errors: true
    - postgresql_privs: {<<: *pg, db: quay, privs: SELECT, objs: ALL_IN_SCHEMA, schema: nope, roles: pbob}
      register: r14
      ignore_errors: true
    - assert:
        that:
          - >-
            r1.changed and r1.queries == ['GRANT SELECT ON table "public"."pt1" TO "pbob";']
          - >-
            not r2.changed and r2.queries == r1.queries
          - >-
            r3.changed and r3.queries == ['GRANT SELECT ON ALL TABLES IN SCHEMA "public" TO "pbob" WITH GRANT OPTION;']
          - >-
            r4.changed and r4.queries == ['GRANT CONNECT ON database "quay" TO "pbob";'] and not r5.changed
          - >-
            r6.changed and r6.queries == ['GRANT USAGE ON schema "public" TO "pbob",PUBLIC;']
          - >-
            r7.changed and r7.queries == ['GRANT "pgrp" TO "pbob";'] and not r8.changed
          - >-
            r9.changed and r9.queries[0].splitlines() == ['GRANT USAGE ON sequence "public"."pt1_id_seq" TO "pbob";', 'REVOKE GRANT OPTION FOR USAGE ON sequence "public"."pt1_id_seq" FROM "pbob";']
          - >-
            r10.changed and r10.queries == ['REVOKE SELECT ON table "public"."pt1" FROM "pbob";']
          - >-
            r11.msg == "Role 'nobody' does not exist" and r12.msg == "Invalid privileges specified: frozenset({'FLY'})"
          - >-
            r13.msg == 'Argument "schema" is not allowed for type "database".' and r14.msg == 'Schema "nope" does not exist.'
"#;

#[test]
fn postgresql_privs_grants_and_revokes_as_the_collection_does() {
    let db = Postgres::up();
    let output = run(&db, PRIVS, &[]).success();
    assert_eq!(
        output.recap("db"),
        "db : ok=18 changed=10 unreachable=0 failed=0 skipped=0 rescued=0 ignored=4"
    );
    // What ansible-core left behind (the check-mode revoke changed nothing).
    assert_eq!(
        db.psql(
            "quay",
            "SELECT relname, relacl FROM pg_class WHERE relname IN ('pt1', 'pt2', 'pt1_id_seq') ORDER BY 1"
        ),
        "pt1|{postgres=arwdDxt/postgres,pbob=r*/postgres}\npt1_id_seq|{postgres=rwU/postgres,pbob=U/postgres}\npt2|{postgres=arwdDxt/postgres,pbob=r*/postgres}"
    );
}

// As ansible-core 2.19.14 ran them: pg_dump, psql and pg_restore on the host, the command
// registered as `cmd` and in `executed_commands`, always `changed`; in check mode nothing.
const DUMPS: &str = r#"
    - postgresql_db: {<<: *pg, name: quay, state: dump, target: "DIR/quay.sql"}
      register: d1
    - postgresql_db: {<<: *pg, name: quay, state: dump, target: "DIR/quay.pgc"}
      register: d2
    - postgresql_db: {<<: *pg, name: restored}
    - postgresql_db: {<<: *pg, name: restored, state: restore, target: "DIR/quay.sql"}
      register: d3
    - postgresql_db: {<<: *pg, name: restoredc}
    - postgresql_db: {<<: *pg, name: restoredc, state: restore, target: "DIR/quay.pgc"}
      register: d4
    - postgresql_db: {<<: *pg, name: nodb, state: dump, target: "DIR/no.sql"}
      register: d5
      ignore_errors: true
    - postgresql_db: {<<: *pg, name: quay, state: dump, target: "DIR/check.sql"}
      register: d6
      check_mode: true
    - postgresql_db: {<<: *pg, name: quay, state: dump}
      register: d7
      ignore_errors: true
    - assert:
        that:
          - d1.changed and d1.rc == 0 and d1.msg == '' and d1.stderr == ''
          - d1.cmd is match('/.*pg_dump quay --host=127.0.0.1 --port=PORT --username=postgres > DIR/quay.sql$')
          - d1.executed_commands == [d1.cmd]
          - d2.cmd is search('--username=postgres --format=c > DIR/quay.pgc$')
          - d3.changed and d3.cmd is search('psql --dbname=restored --host=127.0.0.1 --port=PORT --username=postgres --file=DIR/quay.sql$')
          - d4.changed and d4.cmd is search('pg_restore --dbname=restoredc --host=127.0.0.1 --port=PORT --username=postgres --format=Custom DIR/quay.pgc$')
          - d5.failed and d5.rc == 1 and d5.stdout == ''
          - >-
            d5.msg is search('FATAL:  database "nodb" does not exist')
          - not d6.changed and d6.executed_commands == []
          - d7.failed and d7.msg is search('`target` is required')
"#;

#[test]
fn postgresql_db_dumps_and_restores_on_the_host() {
    let db = Postgres::up();
    let dir = tempfile::tempdir().unwrap();
    let tasks = DUMPS.replace("DIR", dir.path().to_str().unwrap());
    let output = run(&db, &tasks, &[]).success();
    assert_eq!(
        output.recap("db"),
        "db : ok=10 changed=6 unreachable=0 failed=0 skipped=0 rescued=0 ignored=2"
    );
    assert!(!dir.path().join("check.sql").exists());
    let tables = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'";
    let original = db.psql("quay", tables);
    assert_ne!(original, "0");
    assert_eq!(db.psql("restored", tables), original);
    assert_eq!(db.psql("restoredc", tables), original);
}

#[test]
fn the_modules_connect_from_the_host_over_tcp_and_its_socket() {
    let db = Postgres::up();
    // The socket's directory must be reachable by the SSH user, as on a real host.
    std::process::Command::new("chmod")
        .arg("0711")
        .arg(&db.data)
        .status()
        .unwrap();
    let fleet = crate::common::fleet::fleet();
    let play = r#"
- hosts: host1
  gather_facts: false
  tasks:
    - postgresql_query:
        port: PORT
        login_unix_socket: SOCKET
        db: quay
        query: SELECT current_user AS u, inet_client_addr()::text AS a
      register: s1
    - postgresql_ping: {login_host: localhost, port: PORT}
      register: s2
    - postgresql_ping: {port: PORT}
      register: s3
    - assert:
        that:
          - >-
            s1.query_result == [{"u": "postgres", "a": none}]
          - s2.is_available
          - not s3.is_available
          - >-
            s3.conn_err_msg is match('connection to server on socket "/var/run/postgresql/.s.PGSQL.PORT" failed')
"#
    .replace("PORT", &db.port.to_string())
    .replace("SOCKET", db.data.to_str().unwrap());
    let output = Test::new()
        .file("play.yml", &play)
        .args(&["run", "play.yml", "-i", fleet.inventory.to_str().unwrap()])
        .run()
        .success();
    assert_eq!(
        output.recap("host1"),
        "host1 : ok=4 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

/// Arguments quayside does not implement, refused before any host is touched.
#[test]
fn unimplemented_arguments_are_refused_where_written() {
    for (task, error) in [
        (
            "postgresql_query: {query: SELECT 1, session_role: x}",
            "error: unknown argument `session_role` (expected one of `query`, `db`, `login_db`, `positional_args`, `named_args`, `autocommit`, `encoding`, `search_path`, `login`, `login_user`, `login_password`, `host`, `login_host`, `login_unix_socket`, `unix_socket`, `login_port`, `port`, `ssl_mode`, `ca_cert`, `ssl_rootcert`, `ssl_cert`, `ssl_key`, `trust_input`) at play.yml:5:43",
        ),
        (
            "postgresql_db: {name: x, state: rename}",
            "error: unknown value `rename` (expected one of `present`, `absent`, `dump`, `restore`) at play.yml:5:39",
        ),
        (
            "community.postgresql.postgresql_ext: {name: x, db: y, connect_params: {}}",
            "error: unknown argument `connect_params` (expected one of `ext`, `name`, `db`, `login_db`, `schema`, `state`, `cascade`, `version`, `comment`, `login`, `login_user`, `login_password`, `host`, `login_host`, `login_unix_socket`, `unix_socket`, `login_port`, `port`, `ssl_mode`, `ca_cert`, `ssl_rootcert`, `ssl_cert`, `ssl_key`, `trust_input`) at play.yml:5:61",
        ),
        (
            "postgresql_user: {name: x, configuration: {work_mem: 1MB}}",
            "error: unknown argument `configuration` (expected one of `name`, `user`, `password`, `state`, `db`, `login_db`, `fail_on_role`, `fail_on_user`, `role_attr_flags`, `encrypted`, `no_password_changes`, `expires`, `conn_limit`, `comment`, `login`, `login_user`, `login_password`, `host`, `login_host`, `login_unix_socket`, `unix_socket`, `login_port`, `port`, `ssl_mode`, `ca_cert`, `ssl_rootcert`, `ssl_cert`, `ssl_key`, `trust_input`) at play.yml:5:34",
        ),
        (
            "postgresql_privs: {db: x, roles: y, type: function, objs: f, privs: EXECUTE}",
            "error: unknown value `function` (expected one of `table`, `sequence`, `database`, `schema`, `group`) at play.yml:5:49",
        ),
        (
            // The collection's name names its own modules only.
            "community.postgresql.file: {path: /tmp/x}",
            "error: unknown task type `community.postgresql.file` at play.yml:5:7",
        ),
        (
            "postgresql_query: {query: SELECT 1, as_single_query: true}",
            "error: unknown argument `as_single_query` (expected one of `query`, `db`, `login_db`, `positional_args`, `named_args`, `autocommit`, `encoding`, `search_path`, `login`, `login_user`, `login_password`, `host`, `login_host`, `login_unix_socket`, `unix_socket`, `login_port`, `port`, `ssl_mode`, `ca_cert`, `ssl_rootcert`, `ssl_cert`, `ssl_key`, `trust_input`) at play.yml:5:43",
        ),
    ] {
        let test = Test::new()
            .file(
                "play.yml",
                &format!(
                    "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: touch ran\n    - {task}\n"
                ),
            )
            .args(&["run", "play.yml"]);
        let output = test.run().status(4);
        assert_eq!(
            output.stderr.lines().next().unwrap_or_default(),
            error,
            "{task}"
        );
        assert!(!test.path().join("ran").exists(), "a task ran");
    }
}
