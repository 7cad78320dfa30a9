//! `postgresql_db` (`community.postgresql.postgresql_db`): a database present (with its
//! `owner`, `template`, `encoding`, `lc_collate`, `lc_ctype`, `conn_limit`, `tablespace`,
//! `comment`) or absent (`force` ends its sessions first), on the host's PostgreSQL,
//! connecting to `maintenance_db` as [`super::postgresql_login`] says; or dumped to and
//! restored from a `target` file on the host with `pg_dump`, `psql` or `pg_restore`.
//!
//! As the collection: a database that exists is altered where its owner, connection limit,
//! tablespace or comment differ; a different encoding or locale fails ("Changing database
//! encoding is not supported. ..."). Check mode only looks. `register` gets `db` and
//! `executed_commands` (empty in check mode, as the collection leaves it); a dump or
//! restore `cmd`, `rc`, `msg` and `stderr`. `state: rename`, a compressed `target`,
//! `icu_locale`, `locale_provider` and `session_role` are refused.

use serde::Deserialize;
use serde_json::Value as Json;

use super::postgresql_login::{self, postgresql_module};
use super::{Outcome, TaskContext, TaskType};
use crate::postgres::Session;
use crate::postgres::{quote_literal, quote_name};
use crate::transport::TransportError;
use crate::transport::quote::{quote, quote_argv};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    #[default]
    Present,
    Absent,
    Dump,
    Restore,
}

postgresql_module! {
    pub struct PostgresqlDb {
        #[serde(alias = "name")]
        db: String,
        #[serde(default)]
        state: State,
        #[serde(default)]
        owner: Option<String>,
        #[serde(default)]
        template: Option<String>,
        #[serde(default)]
        encoding: Option<String>,
        #[serde(default)]
        lc_collate: Option<String>,
        #[serde(default)]
        lc_ctype: Option<String>,
        /// A number, or a string of one (the collection takes a string).
        #[serde(default)]
        conn_limit: Option<Json>,
        #[serde(default)]
        tablespace: Option<String>,
        #[serde(default)]
        comment: Option<String>,
        #[serde(default)]
        force: bool,
        #[serde(default = "maintenance_db")]
        maintenance_db: String,
        /// The file `state: dump` writes and `state: restore` reads, on the host.
        #[serde(default)]
        target: Option<String>,
        #[serde(default)]
        target_opts: Option<String>,
        #[serde(default)]
        dump_extra_args: Option<String>,
    }
}

fn maintenance_db() -> String {
    "postgres".to_owned()
}

/// What the database is now.
struct Info {
    owner: String,
    encoding: String,
    encoding_id: i64,
    lc_collate: String,
    lc_ctype: String,
    conn_limit: i64,
    tablespace: String,
    comment: String,
}

const INFO: &str = "SELECT rolname AS owner, pg_encoding_to_char(encoding) AS encoding, \
     encoding::int8 AS encoding_id, datcollate::text AS lc_collate, datctype::text AS lc_ctype, \
     datconnlimit::int8 AS conn_limit, spcname::text AS tablespace, \
     coalesce(pg_catalog.shobj_description(pg_database.oid, 'pg_database'), '') AS comment \
     FROM pg_database JOIN pg_roles ON pg_roles.oid = pg_database.datdba \
     JOIN pg_tablespace ON pg_tablespace.oid = pg_database.dattablespace WHERE datname = $1";

async fn info(session: &Session, db: &str) -> Result<Option<Info>, String> {
    let rows = postgresql_login::rows(session, INFO, &[&db]).await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let text = |key: &str| row.get(key).and_then(Json::as_str).unwrap_or("").to_owned();
    let number = |key: &str| row.get(key).and_then(Json::as_i64).unwrap_or(0);
    Ok(Some(Info {
        owner: text("owner"),
        encoding: text("encoding"),
        encoding_id: number("encoding_id"),
        lc_collate: text("lc_collate"),
        lc_ctype: text("lc_ctype"),
        conn_limit: number("conn_limit"),
        tablespace: text("tablespace"),
        comment: text("comment"),
    }))
}

async fn encoding_id(session: &Session, encoding: &str) -> Result<i64, String> {
    let rows = postgresql_login::rows(
        session,
        "SELECT pg_char_to_encoding($1)::int8 AS encoding_id",
        &[&encoding],
    )
    .await?;
    Ok(rows
        .first()
        .and_then(|row| row.get("encoding_id"))
        .and_then(Json::as_i64)
        .unwrap_or(-1))
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

impl PostgresqlDb {
    fn conn_limit(&self) -> Result<Option<String>, String> {
        match &self.conn_limit {
            None | Some(Json::Null) => Ok(None),
            Some(Json::Number(n)) if n.is_i64() => Ok(Some(n.to_string())),
            Some(Json::String(s)) if s.is_empty() => Ok(None),
            Some(Json::String(s)) if s.trim().parse::<i64>().is_ok() => {
                Ok(Some(s.trim().to_owned()))
            }
            Some(other) => Err(format!(
                "`conn_limit` must be a whole number, found `{other}`"
            )),
        }
    }

    /// The changes the database needs (statements), or why it cannot be made so.
    async fn alterations(&self, session: &Session, info: &Info) -> Result<Vec<String>, String> {
        let db = quote_name(&self.db);
        if let Some(encoding) = given(&self.encoding) {
            if encoding_id(session, encoding).await? != info.encoding_id {
                return Err(format!(
                    "Changing database encoding is not supported. Current encoding: {}",
                    info.encoding
                ));
            }
        }
        if let Some(collate) = given(&self.lc_collate) {
            if collate != info.lc_collate {
                return Err(format!(
                    "Changing LC_COLLATE is not supported. Current LC_COLLATE: {}",
                    info.lc_collate
                ));
            }
        }
        if let Some(ctype) = given(&self.lc_ctype) {
            if ctype != info.lc_ctype {
                return Err(format!(
                    "Changing LC_CTYPE is not supported.Current LC_CTYPE: {}",
                    info.lc_ctype
                ));
            }
        }
        let mut statements = Vec::new();
        if let Some(owner) = given(&self.owner) {
            if owner != info.owner {
                statements.push(format!(
                    "ALTER DATABASE {db} OWNER TO {}",
                    quote_name(owner)
                ));
            }
        }
        if let Some(limit) = self.conn_limit()? {
            if limit != info.conn_limit.to_string() {
                statements.push(format!("ALTER DATABASE {db} CONNECTION LIMIT {limit}"));
            }
        }
        if let Some(tablespace) = given(&self.tablespace) {
            if tablespace != info.tablespace {
                statements.push(format!(
                    "ALTER DATABASE {db} SET TABLESPACE {}",
                    quote_name(tablespace)
                ));
            }
        }
        if let Some(comment) = &self.comment {
            if *comment != info.comment {
                statements.push(self.comment_statement(comment));
            }
        }
        Ok(statements)
    }

    fn comment_statement(&self, comment: &str) -> String {
        format!(
            "COMMENT ON DATABASE {} IS {}",
            quote_name(&self.db),
            quote_literal(comment)
        )
    }

    fn create_statements(&self) -> Result<Vec<String>, String> {
        let mut create = vec![format!("CREATE DATABASE {}", quote_name(&self.db))];
        if let Some(owner) = given(&self.owner) {
            create.push(format!("OWNER {}", quote_name(owner)));
        }
        if let Some(template) = given(&self.template) {
            create.push(format!("TEMPLATE {}", quote_name(template)));
        }
        if let Some(encoding) = given(&self.encoding) {
            create.push(format!("ENCODING {}", quote_literal(encoding)));
        }
        if let Some(collate) = given(&self.lc_collate) {
            create.push(format!("LC_COLLATE {}", quote_literal(collate)));
        }
        if let Some(ctype) = given(&self.lc_ctype) {
            create.push(format!("LC_CTYPE {}", quote_literal(ctype)));
        }
        if let Some(tablespace) = given(&self.tablespace) {
            create.push(format!("TABLESPACE {}", quote_name(tablespace)));
        }
        // The collection leaves out a limit of 0 (Python's falsy `'0'` is not; `''` is).
        if let Some(limit) = self.conn_limit()? {
            create.push(format!("CONNECTION LIMIT {limit}"));
        }
        let mut statements = vec![create.join(" ")];
        if let Some(comment) = &self.comment {
            statements.push(self.comment_statement(comment));
        }
        Ok(statements)
    }

    /// Check and, unless `check`, act: whether it changed, and the statements run.
    async fn apply(&self, session: &Session, check: bool) -> Result<(bool, Vec<String>), String> {
        let current = info(session, &self.db).await?;
        let statements = match (self.state, &current) {
            (State::Dump | State::Restore, _) => Vec::new(),
            (State::Absent, None) => Vec::new(),
            (State::Absent, Some(_)) => {
                let force = if self.force { " WITH (FORCE)" } else { "" };
                vec![format!("DROP DATABASE {}{force}", quote_name(&self.db))]
            }
            (State::Present, None) => self.create_statements()?,
            (State::Present, Some(info)) => {
                if check {
                    // The collection's check mode compares without failing on an
                    // encoding or locale it could not change.
                    match self.alterations(session, info).await {
                        Ok(statements) => statements,
                        Err(_) => return Ok((true, Vec::new())),
                    }
                } else {
                    self.alterations(session, info).await?
                }
            }
        };
        let changed = !statements.is_empty();
        if check {
            return Ok((changed, Vec::new()));
        }
        for statement in &statements {
            postgresql_login::execute(session, statement)
                .await
                .map_err(|e| format!("Database query failed: {e}"))?;
        }
        Ok((changed, statements))
    }
}

/// The words of `target_opts` or `dump_extra_args`, each quoted for the shell (the
/// collection splices them in as written; quayside passes them as the words they are).
fn extra_words(text: Option<&str>, name: &str) -> Result<String, String> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(String::new());
    };
    let words = shell_words::split(text).map_err(|e| format!("`{name}`: {e}"))?;
    Ok(format!(" {} ", quote_argv(&words)))
}

/// What `state: dump` or `restore` runs on the host, as the collection builds it: the
/// program (found on the host's `PATH`), the login flags, the format the file's extension
/// says, and the file. `$bin` stands for the program's path, found on the host.
fn dump_command(task: &PostgresqlDb, target: &str) -> Result<(&'static str, String), String> {
    let extension = std::path::Path::new(target)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    let mut flags = Vec::new();
    let dump = task.state == State::Dump;
    flags.push(if dump {
        format!(" {}", quote(&task.db))
    } else {
        format!(" --dbname={}", quote(&task.db))
    });
    if let Some(host) = task.login_host.as_deref().filter(|h| !h.is_empty()) {
        flags.push(format!(" --host={}", quote(host)));
    }
    flags.push(format!(" --port={}", task.port));
    flags.push(format!(" --username={}", quote(&task.login_user)));
    let target_quoted = quote(target);
    if dump {
        match extension {
            "tar" => flags.push(" --format=t".to_owned()),
            "pgc" => flags.push(" --format=c".to_owned()),
            "dir" => flags.push(" --format=d".to_owned()),
            "gz" | "bz2" | "xz" => {
                return Err(format!(
                    "a compressed `target` (`.{extension}`) is not supported yet: dump to `.sql`, `.tar`, `.pgc` or `.dir`"
                ));
            }
            _ => {}
        }
        let mut command = format!("$bin{}", flags.concat());
        command.push_str(&extra_words(
            task.dump_extra_args.as_deref(),
            "dump_extra_args",
        )?);
        command.push_str(&extra_words(task.target_opts.as_deref(), "target_opts")?);
        if extension == "dir" {
            command.push_str(&format!(" -f {target_quoted}"));
        } else {
            command.push_str(&format!(" > {target_quoted}"));
        }
        Ok(("pg_dump", command))
    } else {
        let program = match extension {
            "sql" => {
                flags.push(format!(" --file={target_quoted}"));
                "psql"
            }
            "tar" => {
                flags.push(" --format=Tar".to_owned());
                "pg_restore"
            }
            "pgc" => {
                flags.push(" --format=Custom".to_owned());
                "pg_restore"
            }
            "dir" => {
                flags.push(" --format=Directory".to_owned());
                "pg_restore"
            }
            "gz" | "bz2" | "xz" => {
                return Err(format!(
                    "a compressed `target` (`.{extension}`) is not supported yet: restore from `.sql`, `.tar`, `.pgc` or `.dir`"
                ));
            }
            _ => "psql",
        };
        let mut command = format!("$bin{}", flags.concat());
        command.push_str(&extra_words(task.target_opts.as_deref(), "target_opts")?);
        if matches!(extension, "pgc" | "dir") {
            command.push_str(&format!(" {target_quoted}"));
        } else if extension != "sql" {
            command.push_str(&format!(" < {target_quoted}"));
        }
        Ok((program, command))
    }
}

/// Finds the program, says the command it runs on the first line, runs it with the
/// password (read from standard input, never on a command line) in `PGPASSWORD`.
const DUMP_SCRIPT: &str = r#"
bin=$(command -v "$program") || { echo "Failed to find required executable \"$program\" in paths: $PATH" >&2; exit 127; }
password=$(cat)
if [ -n "$password" ]; then PGPASSWORD=$password; export PGPASSWORD; fi
unset password
printf 'cmd=%s%s\n' "$bin" "${command#\$bin}"
eval "$command"
"#;

impl PostgresqlDb {
    /// `state: dump` and `restore`: `pg_dump`, `psql` or `pg_restore` on the host, as the
    /// collection runs them (always `changed`; in check mode nothing runs).
    async fn dump_or_restore(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let Some(target) = self.target.as_deref().filter(|t| !t.is_empty()) else {
            return Ok(Outcome::failed(
                "`target` is required with `state: dump` and `restore` (quayside does not guess the module's working directory on the host)",
            ));
        };
        if ctx.check {
            return Ok(Outcome::ok()
                .with("db", self.db.clone())
                .with("executed_commands", Json::Array(Vec::new())));
        }
        let (program, command) = match dump_command(self, target) {
            Ok(found) => found,
            Err(message) => return Ok(Outcome::failed(message)),
        };
        let text = format!(
            "program={}\ncommand={}\n{DUMP_SCRIPT}",
            quote(program),
            quote(&command)
        );
        let mut script = ctx.script(text);
        script.stdin = self.login_password.clone().unwrap_or_default().into_bytes();
        let output = ctx.run(script).await?;
        let stdout = output.stdout_lossy();
        let (cmd, stdout) = match stdout.strip_prefix("cmd=") {
            Some(rest) => match rest.split_once('\n') {
                Some((cmd, rest)) => (cmd.to_owned(), rest.to_owned()),
                None => (rest.to_owned(), String::new()),
            },
            None => (String::new(), stdout),
        };
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        // Ansible adds the `_lines` of every `stdout` and `stderr` a module returns.
        let lines = |text: &str| Json::Array(text.lines().map(Json::from).collect());
        let outcome = if output.success() {
            Outcome::changed()
                .with_msg(stdout)
                .with("stderr_lines", lines(&stderr))
                .with("stderr", stderr)
                .with(
                    "executed_commands",
                    Json::Array(vec![Json::String(cmd.clone())]),
                )
        } else {
            Outcome::failed(stderr)
                .with("stdout_lines", lines(&stdout))
                .with("stdout", stdout)
        };
        Ok(outcome.with("rc", output.status).with("cmd", cmd))
    }
}

impl TaskType for PostgresqlDb {
    const COLLECTION: Option<&'static str> = Some("community.postgresql");

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        if matches!(self.state, State::Dump | State::Restore) {
            return self.dump_or_restore(ctx).await;
        }
        let login = self.login(Some(&self.maintenance_db), None);
        let (dsn, session) = match postgresql_login::connect(ctx, &login).await {
            Ok(opened) => opened,
            Err(message) => return Ok(Outcome::failed(message)),
        };
        match self.apply(&session, ctx.check).await {
            Ok((changed, statements)) => {
                let outcome = if changed {
                    Outcome::changed()
                } else {
                    Outcome::ok()
                };
                Ok(outcome.with("db", self.db.clone()).with(
                    "executed_commands",
                    Json::Array(statements.into_iter().map(Json::String).collect()),
                ))
            }
            Err(message) => Ok(Outcome::failed(dsn.redact(&message))),
        }
    }
}
