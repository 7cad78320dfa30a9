//! `sql`: run SQL statements against PostgreSQL in one transaction, from the controller.
//!
//! ```yaml
//! - name: Extend the read-only key
//!   run_once: true
//!   sql:
//!     dsn: "{{ quay_db_uri }}"
//!     statements:
//!       - query: >-
//!           UPDATE servicekey SET expiration_date = $1
//!           WHERE kid = $2 AND expiration_date IS DISTINCT FROM $1
//!         params: ["{{ readonly_expires }}", "{{ readonly_kid }}"]
//!       - CREATE EXTENSION IF NOT EXISTS pg_trgm     # a plain string: no parameters
//!   register: extended
//! ```
//!
//! Each statement is ONE SQL command, with `$1`, `$2`, ... bound to `params` (converted to
//! the types PostgreSQL expects, as `sql_insert` does; a list or mapping is bound as JSON).
//! The statements run in order in ONE transaction: if one fails, the earlier ones are rolled
//! back. Statements that PostgreSQL refuses inside a transaction (`CREATE DATABASE`,
//! `DROP DATABASE`, `CREATE INDEX CONCURRENTLY`, `VACUUM`, `ALTER SYSTEM`, ...) run alone,
//! outside it: the statements before such a statement are committed first, and those after
//! it start a new transaction. Give them a task of their own to keep things simple.
//! `BEGIN`, `COMMIT` and the like are refused: the task manages the transaction.
//!
//! Whether the task is `changed` (`changed_when` overrides it as usual):
//!
//! - `INSERT`, `UPDATE`, `DELETE`, `MERGE`, `COPY` (and `WITH` queries holding one): when
//!   they affected a row. An `UPDATE` that sets a column to the value it has still affects
//!   the row, so it is `changed` every run: add `AND col IS DISTINCT FROM $1` to its `WHERE`
//!   to make it idempotent.
//! - `SELECT`, `SHOW`, `VALUES`, `EXPLAIN`, `SET`, `ANALYZE`, `VACUUM`, `REINDEX`,
//!   `CLUSTER`, `CHECKPOINT`: never.
//! - `CREATE DATABASE`: when the database did not exist; an existing one is left alone
//!   (PostgreSQL has no `IF NOT EXISTS` for it). `DROP DATABASE IF EXISTS`: when it existed.
//! - Any other statement (`CREATE`, `ALTER`, `DROP`, `GRANT`, `DO`, ...): always, unless it
//!   says `IF [NOT] EXISTS` and PostgreSQL answered that it skipped it (its "already exists,
//!   skipping" / "does not exist, skipping" notice). So `CREATE EXTENSION IF NOT EXISTS
//!   pg_trgm` is `ok` when the extension is there. A statement naming several objects counts
//!   as unchanged when PostgreSQL skipped any of them.
//!
//! In check mode every statement runs and the transaction is rolled back, so `SELECT`s
//! return real rows; statements that cannot run in a transaction are not run (`CREATE
//! DATABASE` and `DROP DATABASE` still report whether they would change something).
//!
//! `register` keeps `rows` (for each statement, the rows it returned as JSON objects),
//! `rowcounts` (for each statement, the rows it affected or returned) and `rowcount`
//! (their sum).

use futures::TryStreamExt;
use serde::Deserialize;
use serde_json::{Map, Value as Json};
use tokio_postgres::error::DbError;

use super::{Outcome, TaskContext, TaskType};
use crate::postgres::{self, Bindable, Dsn, Session, SqlError};
use crate::transport::TransportError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sql {
    /// `postgresql://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=...`; the password is never shown.
    dsn: String,
    /// An inventory host to tunnel through.
    #[serde(default)]
    via: Option<String>,
    /// Each a string, or `{query, params}`.
    statements: Vec<Json>,
}

/// One statement as written, checked.
#[derive(Debug, Clone, PartialEq)]
struct Statement {
    query: String,
    params: Vec<Bindable>,
    class: Class,
    /// Whether it says `IF EXISTS` or `IF NOT EXISTS`.
    guarded: bool,
}

/// What a statement does, as far as the task needs to know.
#[derive(Debug, Clone, PartialEq)]
enum Class {
    /// Reads (or sets session state): never a change.
    Read,
    /// Changes rows: a change when it affected any.
    Write,
    /// Changes the schema or anything else: a change unless skipped.
    Ddl,
    CreateDatabase(String),
    DropDatabase {
        name: String,
        if_exists: bool,
    },
    /// Maintenance that cannot run in a transaction and changes nothing (`VACUUM`).
    Maintenance,
    /// Anything else that cannot run in a transaction.
    Alone,
}

impl Class {
    fn in_transaction(&self) -> bool {
        matches!(self, Class::Read | Class::Write | Class::Ddl)
    }
}

/// A token of SQL text: enough to find keywords and names outside strings and comments.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// A bare word, lowercased as PostgreSQL folds it.
    Word(String),
    /// A double-quoted identifier, as written.
    Quoted(String),
    /// A string, number or parameter.
    Literal,
    Punct(char),
}

fn tokenize(sql: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = sql.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let unterminated = |what: &str| format!("unterminated {what}");
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && next == Some('-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            loop {
                match (chars.get(i), chars.get(i + 1)) {
                    (Some('/'), Some('*')) => {
                        depth += 1;
                        i += 2;
                    }
                    (Some('*'), Some('/')) => {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    }
                    (Some(_), _) => i += 1,
                    (None, _) => return Err(unterminated("comment")),
                }
            }
        } else if c == '\'' {
            // `E'...'` strings take backslash escapes; the `E` was read as a word.
            let escapes = matches!(tokens.last(), Some(Token::Word(w)) if w == "e")
                && i > 0
                && matches!(chars[i - 1], 'e' | 'E');
            if escapes {
                tokens.pop();
            }
            i += 1;
            loop {
                match chars.get(i) {
                    Some('\\') if escapes => i += 2,
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => i += 2,
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                    None => return Err(unterminated("string")),
                }
            }
            tokens.push(Token::Literal);
        } else if c == '"' {
            let mut name = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    Some('"') if chars.get(i + 1) == Some(&'"') => {
                        name.push('"');
                        i += 2;
                    }
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some(&ch) => {
                        name.push(ch);
                        i += 1;
                    }
                    None => return Err(unterminated("quoted identifier")),
                }
            }
            tokens.push(Token::Quoted(name));
        } else if c == '$' && next.is_some_and(|n| n.is_ascii_digit()) {
            i += 1;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            tokens.push(Token::Literal);
        } else if c == '$' {
            // A dollar-quoted string: `$tag$ ... $tag$`.
            let mut end = i + 1;
            while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '_') {
                end += 1;
            }
            if chars.get(end) != Some(&'$') {
                tokens.push(Token::Punct('$'));
                i += 1;
                continue;
            }
            let tag: String = chars[i..=end].iter().collect();
            let body_start = end + 1;
            let rest: String = chars[body_start..].iter().collect();
            let Some(close) = rest.find(&tag) else {
                return Err(unterminated("dollar-quoted string"));
            };
            i = body_start + rest[..close].chars().count() + tag.chars().count();
            tokens.push(Token::Literal);
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            tokens.push(Token::Word(word.to_lowercase()));
        } else if c.is_ascii_digit() || (c == '.' && next.is_some_and(|n| n.is_ascii_digit())) {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            tokens.push(Token::Literal);
        } else {
            tokens.push(Token::Punct(c));
            i += 1;
        }
    }
    Ok(tokens)
}

fn word(token: Option<&Token>) -> Option<&str> {
    match token {
        Some(Token::Word(w)) => Some(w.as_str()),
        _ => None,
    }
}

fn name(token: Option<&Token>) -> Option<String> {
    match token {
        Some(Token::Word(w)) => Some(w.clone()),
        Some(Token::Quoted(q)) => Some(q.clone()),
        _ => None,
    }
}

/// Sort a statement into its [`Class`], refusing what the task cannot run.
fn classify(query: &str) -> Result<(Class, bool), String> {
    let mut tokens = tokenize(query)?;
    while tokens.last() == Some(&Token::Punct(';')) {
        tokens.pop();
    }
    if tokens.is_empty() {
        return Err("the query is empty".to_owned());
    }
    if tokens.contains(&Token::Punct(';')) {
        return Err(
            "the query holds more than one SQL command; give each its own entry in `statements`"
                .to_owned(),
        );
    }
    let words: Vec<&str> = tokens.iter().filter_map(|t| word(Some(t))).collect();
    let has = |w: &str| words.contains(&w);
    let has_pair = |a: &str, b: &str| words.windows(2).any(|p| p[0] == a && p[1] == b);
    let guarded =
        has_pair("if", "exists") || words.windows(3).any(|p| p == ["if", "not", "exists"]);
    let first = word(tokens.first()).unwrap_or("");
    let second = word(tokens.get(1)).unwrap_or("");
    let class = match first {
        "select" | "show" | "values" | "table" | "explain" | "set" | "reset" | "analyze"
        | "analyse" | "listen" | "unlisten" | "notify" | "lock" | "discard" => Class::Read,
        "with" => {
            if ["insert", "update", "delete", "merge"]
                .iter()
                .any(|w| has(w))
            {
                Class::Write
            } else {
                Class::Read
            }
        }
        "insert" | "update" | "delete" | "merge" | "copy" => Class::Write,
        "begin" | "start" | "commit" | "end" | "rollback" | "abort" | "savepoint" | "release" => {
            return Err(format!(
                "`{}` is not allowed: the task runs its statements in one transaction itself",
                first.to_uppercase()
            ));
        }
        "vacuum" | "reindex" | "cluster" | "checkpoint" => Class::Maintenance,
        "create" if second == "database" => {
            let database = name(tokens.get(2))
                .ok_or("`CREATE DATABASE` must be followed by the database's name")?;
            Class::CreateDatabase(database)
        }
        "drop" if second == "database" => {
            let if_exists =
                word(tokens.get(2)) == Some("if") && word(tokens.get(3)) == Some("exists");
            let database = name(tokens.get(if if_exists { 4 } else { 2 }))
                .ok_or("`DROP DATABASE` must be followed by the database's name")?;
            Class::DropDatabase {
                name: database,
                if_exists,
            }
        }
        "create" | "drop" | "alter"
            if second == "tablespace"
                || (first == "alter" && second == "system")
                || has_pair("index", "concurrently") =>
        {
            Class::Alone
        }
        _ => Class::Ddl,
    };
    Ok((class, guarded))
}

/// Read `statements`: strings, or mappings of `query` and `params`.
fn parse_statements(items: &[Json]) -> Result<Vec<Statement>, String> {
    if items.is_empty() {
        return Err("`statements` is empty".to_owned());
    }
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let label = format!("statement {}", index + 1);
            let (query, params) = match item {
                Json::String(query) => (query.clone(), Vec::new()),
                Json::Object(map) => {
                    if let Some(key) = map.keys().find(|k| *k != "query" && *k != "params") {
                        return Err(format!(
                            "{label}: unknown key `{key}` (expected `query` and `params`)"
                        ));
                    }
                    let query = match map.get("query") {
                        Some(Json::String(query)) => query.clone(),
                        Some(_) => return Err(format!("{label}: `query` must be a string")),
                        None => return Err(format!("{label}: `query` is missing")),
                    };
                    let params = match map.get("params") {
                        None | Some(Json::Null) => Vec::new(),
                        Some(Json::Array(params)) => params.clone(),
                        Some(_) => return Err(format!("{label}: `params` must be a list")),
                    };
                    (query, params)
                }
                _ => {
                    return Err(format!(
                        "{label} must be a string or a mapping with `query` and `params`"
                    ));
                }
            };
            let (class, guarded) = classify(&query).map_err(|e| format!("{label}: {e}"))?;
            let params = params
                .into_iter()
                .map(|value| match value {
                    Json::Array(_) | Json::Object(_) => Bindable::Json(value),
                    other => Bindable::Plain(other),
                })
                .collect();
            Ok(Statement {
                query,
                params,
                class,
                guarded,
            })
        })
        .collect()
}

/// What one statement did.
#[derive(Debug, Default)]
struct Ran {
    rows: Vec<Json>,
    rowcount: u64,
    changed: bool,
}

/// PostgreSQL's notice that an `IF [NOT] EXISTS` statement did nothing: "... already
/// exists, skipping" (a `42xxx` duplicate-object code) or "... does not exist, skipping".
fn is_skip_notice(notice: &DbError) -> bool {
    notice.code().code().starts_with("42") || notice.message().ends_with("skipping")
}

fn statement_error(index: usize, reason: String) -> SqlError {
    SqlError::Statement {
        what: format!("statement {}", index + 1),
        reason,
    }
}

async fn execute(
    session: &mut Session,
    index: usize,
    statement: &Statement,
) -> Result<Ran, SqlError> {
    let failed = |reason: String| statement_error(index, reason);
    let prepared = session
        .client
        .prepare(&statement.query)
        .await
        .map_err(|e| failed(postgres::describe(&e)))?;
    let params = postgres::bind_all(&statement.params, prepared.params(), |i| {
        format!("`params[{i}]`")
    })
    .map_err(failed)?;
    session.take_notices();
    let stream = session
        .client
        .query_raw(&prepared, postgres::as_refs(&params))
        .await
        .map_err(|e| failed(postgres::describe(&e)))?;
    futures::pin_mut!(stream);
    let mut rows = Vec::new();
    while let Some(row) = stream
        .try_next()
        .await
        .map_err(|e| failed(postgres::describe(&e)))?
    {
        rows.push(Json::Object(postgres::row_to_json(&row).map_err(failed)?));
    }
    let affected = stream.rows_affected().unwrap_or(0);
    let skipped = statement.guarded && session.take_notices().iter().any(is_skip_notice);
    let (rowcount, changed) = match statement.class {
        Class::Read | Class::Maintenance => (rows.len() as u64, false),
        Class::Write => (affected, affected > 0),
        _ => (affected, !skipped),
    };
    Ok(Ran {
        rows,
        rowcount,
        changed,
    })
}

async fn database_exists(session: &Session, index: usize, name: &str) -> Result<bool, SqlError> {
    session
        .client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await
        .map(|row| row.is_some())
        .map_err(|e| statement_error(index, postgres::describe(&e)))
}

/// A statement that cannot run in a transaction, alone.
async fn run_alone(
    session: &mut Session,
    index: usize,
    statement: &Statement,
    check: bool,
) -> Result<Ran, SqlError> {
    let would_change = match &statement.class {
        Class::CreateDatabase(name) => !database_exists(session, index, name).await?,
        Class::DropDatabase { name, if_exists } => {
            // Without `IF EXISTS`, a missing database is PostgreSQL's error to report.
            database_exists(session, index, name).await? || !*if_exists
        }
        Class::Maintenance => false,
        _ => true,
    };
    let must_run = !matches!(statement.class, Class::Maintenance);
    if check || (must_run && !would_change) {
        return Ok(Ran {
            changed: would_change,
            ..Ran::default()
        });
    }
    let mut ran = execute(session, index, statement).await?;
    if !matches!(statement.class, Class::Maintenance | Class::Alone) {
        ran.changed = true;
    }
    Ok(ran)
}

async fn transaction(session: &Session, command: &str) -> Result<(), SqlError> {
    session
        .client
        .batch_execute(command)
        .await
        .map_err(|e| SqlError::Statement {
            what: command.to_owned(),
            reason: postgres::describe(&e),
        })
}

async fn apply(
    session: &mut Session,
    statements: &[Statement],
    check: bool,
) -> Result<Vec<Ran>, SqlError> {
    let end = if check { "ROLLBACK" } else { "COMMIT" };
    let mut results = Vec::new();
    let mut open = false;
    for (index, statement) in statements.iter().enumerate() {
        let in_transaction = statement.class.in_transaction();
        if in_transaction && !open {
            transaction(session, "BEGIN").await?;
            open = true;
        } else if !in_transaction && open {
            transaction(session, end).await?;
            open = false;
        }
        let result = if in_transaction {
            execute(session, index, statement).await
        } else {
            run_alone(session, index, statement, check).await
        };
        match result {
            Ok(ran) => results.push(ran),
            Err(error) => {
                if open {
                    // Best effort: closing the connection rolls back as well.
                    let _ = transaction(session, "ROLLBACK").await;
                }
                return Err(error);
            }
        }
    }
    if open {
        transaction(session, end).await?;
    }
    Ok(results)
}

impl TaskType for Sql {
    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let statements = match parse_statements(&self.statements) {
            Ok(statements) => statements,
            Err(message) => return Ok(Outcome::failed(message)),
        };
        let dsn = match Dsn::parse(&self.dsn) {
            Ok(dsn) => dsn,
            Err(error) => return Ok(Outcome::failed(error.to_string())),
        };
        let work = async {
            let mut session =
                postgres::connect(&dsn, self.via.as_deref(), ctx.timeout, ctx.connections).await?;
            apply(&mut session, &statements, ctx.check).await
        };
        let results = match postgres::within(ctx.timeout, &dsn, work).await {
            Ok(results) => results,
            Err(error) => return Ok(Outcome::failed(dsn.redact(&error.to_string()))),
        };
        Ok(outcome(&results, ctx.check))
    }
}

fn outcome(results: &[Ran], check: bool) -> Outcome {
    let changed = results.iter().filter(|r| r.changed).count();
    let rowcount: u64 = results.iter().map(|r| r.rowcount).sum();
    let verb = if check { "would change" } else { "changed" };
    let msg = format!(
        "{} statement{}, {changed} {verb} something, {rowcount} row{}",
        results.len(),
        if results.len() == 1 { "" } else { "s" },
        if rowcount == 1 { "" } else { "s" },
    );
    let base = if changed > 0 {
        Outcome::changed()
    } else {
        Outcome::ok()
    };
    let mut data = Map::new();
    data.insert(
        "rows".into(),
        Json::Array(
            results
                .iter()
                .map(|r| Json::Array(r.rows.clone()))
                .collect(),
        ),
    );
    data.insert(
        "rowcounts".into(),
        Json::Array(results.iter().map(|r| r.rowcount.into()).collect()),
    );
    data.insert("rowcount".into(), rowcount.into());
    let mut outcome = base.with_msg(msg);
    outcome.data.extend(data);
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn class(query: &str) -> Class {
        classify(query).unwrap().0
    }

    #[test]
    fn statements_are_classified_by_their_command() {
        assert_eq!(class("select 1"), Class::Read);
        assert_eq!(
            class("  -- comment\n/* nested /* c */ */ SELECT 'insert'"),
            Class::Read
        );
        assert_eq!(class("WITH a AS (SELECT 1) SELECT * FROM a"), Class::Read);
        assert_eq!(
            class("WITH a AS (INSERT INTO t VALUES (1) RETURNING id) SELECT * FROM a"),
            Class::Write
        );
        assert_eq!(class("update servicekey set x = $1;"), Class::Write);
        assert_eq!(class("CREATE TABLE t (id int)"), Class::Ddl);
        assert_eq!(
            class("CREATE DATABASE quay_restore OWNER quay"),
            Class::CreateDatabase("quay_restore".into())
        );
        assert_eq!(
            class("create database \"Quay\""),
            Class::CreateDatabase("Quay".into())
        );
        assert_eq!(
            class("DROP DATABASE IF EXISTS old"),
            Class::DropDatabase {
                name: "old".into(),
                if_exists: true
            }
        );
        assert_eq!(
            class("CREATE UNIQUE INDEX CONCURRENTLY i ON t (a)"),
            Class::Alone
        );
        assert_eq!(class("VACUUM ANALYZE servicekey"), Class::Maintenance);
        assert_eq!(class("ALTER SYSTEM SET work_mem = '8MB'"), Class::Alone);
        assert_eq!(class("DO $body$ BEGIN; COMMIT; END $body$"), Class::Ddl);
    }

    #[test]
    fn guards_are_found_outside_strings() {
        assert!(
            classify("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                .unwrap()
                .1
        );
        assert!(classify("drop table if exists t").unwrap().1);
        assert!(
            !classify("CREATE TABLE t (note text default 'if not exists')")
                .unwrap()
                .1
        );
    }

    #[test]
    fn what_cannot_run_is_refused() {
        let error = |query: &str| classify(query).unwrap_err();
        assert_eq!(
            error("BEGIN"),
            "`BEGIN` is not allowed: the task runs its statements in one transaction itself"
        );
        assert_eq!(
            error("SELECT 1; SELECT 2"),
            "the query holds more than one SQL command; give each its own entry in `statements`"
        );
        assert_eq!(error(" -- nothing\n ;"), "the query is empty");
        assert_eq!(error("SELECT 'open"), "unterminated string");
        assert_eq!(
            error("CREATE DATABASE"),
            "`CREATE DATABASE` must be followed by the database's name"
        );
        // A semicolon inside a string or dollar quotes is not a second command.
        assert_eq!(class("SELECT ';', E'\\';', $$;$$, $q$;$q$"), Class::Read);
    }

    #[test]
    fn statements_are_read_from_strings_and_mappings() {
        let statements = parse_statements(&[
            json!("SELECT 1"),
            json!({"query": "SELECT $1, $2", "params": [1, {"a": 1}]}),
        ])
        .unwrap();
        assert_eq!(statements[0].params, vec![]);
        assert_eq!(
            statements[1].params,
            vec![Bindable::Plain(json!(1)), Bindable::Json(json!({"a": 1}))]
        );
        assert_eq!(
            parse_statements(&[json!({"query": "SELECT 1", "parms": []})]).unwrap_err(),
            "statement 1: unknown key `parms` (expected `query` and `params`)"
        );
        assert_eq!(
            parse_statements(&[json!(3)]).unwrap_err(),
            "statement 1 must be a string or a mapping with `query` and `params`"
        );
        assert_eq!(parse_statements(&[]).unwrap_err(), "`statements` is empty");
    }
}
