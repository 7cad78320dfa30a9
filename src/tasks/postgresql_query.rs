//! `postgresql_query` (`community.postgresql.postgresql_query`): run SQL on the host's
//! PostgreSQL as the collection's module does, connecting as [`super::postgresql_login`]
//! says.
//!
//! ```yaml
//! - community.postgresql.postgresql_query:
//!     db: quay
//!     query: UPDATE servicekey SET expiration_date = %s WHERE kid = %s
//!     positional_args: ["{{ expires }}", "{{ kid }}"]
//! ```
//!
//! `query` is a string or a list of strings, run in order in one transaction (committed at
//! the end, rolled back in check mode; `autocommit: true` runs each on its own). A string
//! may hold several statements separated by `;`. Placeholders are psycopg's: `%s` takes
//! the next of `positional_args`, `%(name)s` the value of `named_args`'s `name`, and `%%`
//! is a `%` (only when arguments are given, as in psycopg). quayside binds the values as
//! parameters instead of writing them into the text: a number, boolean is typed as
//! psycopg's literal would be (`%s` with `5` is an integer), a string takes the type
//! PostgreSQL infers. A placeholder inside a quoted string or a comment is refused.
//!
//! `register` gets the collection's values: `query` (the last query with its arguments
//! written in, as psycopg's `mogrify` shows it), `query_list`, `query_result` (the last
//! query's rows, `{}` when none), `query_all_results`, `rowcount`, `statusmessage` (the
//! command tag of the last statement, such as `INSERT 0 1`, `SELECT 2`, `CREATE TABLE`) and
//! `execution_time_ms`. `changed` follows the collection's rule: a statement whose tag is
//! not `SELECT`/`SHOW` changes something, except an `INSERT`, `UPDATE` or `DELETE` of no row.

use std::time::Instant;

use futures::TryStreamExt;
use serde_json::{Map, Value as Json};

use super::postgresql_login::{self, postgresql_module, python_repr};
use super::{Outcome, TaskContext, TaskType};
use crate::postgres::{self, Bindable, Session};
use crate::transport::TransportError;

postgresql_module! {
    pub struct PostgresqlQuery {
        /// A string or a list of strings.
        query: Json,
        #[serde(default, alias = "db")]
        login_db: Option<String>,
        #[serde(default)]
        positional_args: Option<Vec<Json>>,
        #[serde(default)]
        named_args: Option<Map<String, Json>>,
        #[serde(default)]
        autocommit: bool,
        #[serde(default)]
        encoding: Option<String>,
        #[serde(default)]
        search_path: Option<Vec<String>>,
    }
}

/// The arguments a query's placeholders take.
#[derive(Debug, Clone, Copy)]
enum Args<'a> {
    None,
    Positional(&'a [Json]),
    Named(&'a Map<String, Json>),
}

/// One statement of a query, ready to prepare: `$N` placeholders and their values.
#[derive(Debug, Clone, PartialEq)]
struct Piece {
    text: String,
    values: Vec<Json>,
    /// The words outside parentheses, quotes and comments, lowercased: enough to name the
    /// command's tag.
    words: Vec<String>,
}

/// How psycopg writes a value into a query (`mogrify`).
fn literal(value: &Json) -> String {
    match value {
        Json::Null => "NULL".to_owned(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => postgres::quote_literal(s),
        Json::Array(items) => postgres::quote_literal(&pg_array(items)),
        Json::Object(_) => postgres::quote_literal(&value.to_string()),
    }
}

/// A list as the collection passes it: PostgreSQL's array text, `{1,2}`.
fn pg_array(items: &[Json]) -> String {
    let parts: Vec<String> = items
        .iter()
        .map(|item| match item {
            Json::String(s) => s.clone(),
            Json::Null => "NULL".to_owned(),
            other => other.to_string(),
        })
        .collect();
    format!("{{{}}}", parts.join(","))
}

/// The cast that gives a bound value the type psycopg's literal would have.
fn cast(value: &Json) -> &'static str {
    match value {
        Json::Bool(_) => "::boolean",
        Json::Number(n) if n.is_i64() || n.is_u64() => match n.as_i64() {
            Some(i) if i32::try_from(i).is_ok() => "::integer",
            Some(_) => "::bigint",
            None => "::numeric",
        },
        Json::Number(_) => "::numeric",
        _ => "",
    }
}

/// Split a query into statements and turn psycopg's placeholders into `$N`. Also returns
/// the query with the arguments written in, as psycopg's `mogrify` shows it.
fn prepare_text(query: &str, args: Args<'_>) -> Result<(Vec<Piece>, String), String> {
    let chars: Vec<char> = query.chars().collect();
    let mut pieces = Vec::new();
    let mut piece = Piece {
        text: String::new(),
        values: Vec::new(),
        words: Vec::new(),
    };
    let mut names: Vec<String> = Vec::new();
    let mut shown = String::new();
    let mut next_positional = 0;
    let mut depth = 0usize;
    let mut i = 0;
    let substitute = !matches!(args, Args::None);
    // Copy chars[from..to] into the statement and the shown text, `%%` read as `%`.
    let copy_quoted = |piece: &mut Piece,
                       shown: &mut String,
                       text: &[char]|
     -> Result<(), String> {
        let mut j = 0;
        while j < text.len() {
            if substitute && text[j] == '%' {
                if text.get(j + 1) == Some(&'%') {
                    piece.text.push('%');
                    shown.push('%');
                    j += 2;
                    continue;
                }
                return Err(
                    "a placeholder inside a quoted string or a comment is not supported (write `%%` for a `%`)"
                        .to_owned(),
                );
            }
            piece.text.push(text[j]);
            shown.push(text[j]);
            j += 1;
        }
        Ok(())
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let start = i;
        if c == '-' && next == Some('-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            copy_quoted(&mut piece, &mut shown, &chars[start..i])?;
        } else if c == '/' && next == Some('*') {
            let mut level = 0;
            loop {
                match (chars.get(i), chars.get(i + 1)) {
                    (Some('/'), Some('*')) => {
                        level += 1;
                        i += 2;
                    }
                    (Some('*'), Some('/')) => {
                        level -= 1;
                        i += 2;
                        if level == 0 {
                            break;
                        }
                    }
                    (Some(_), _) => i += 1,
                    (None, _) => return Err("unterminated comment".to_owned()),
                }
            }
            copy_quoted(&mut piece, &mut shown, &chars[start..i])?;
        } else if c == '\'' || c == '"' {
            let escapes = c == '\''
                && i > 0
                && matches!(chars[i - 1], 'e' | 'E')
                && (i < 2 || !(chars[i - 2].is_alphanumeric() || chars[i - 2] == '_'));
            i += 1;
            loop {
                match chars.get(i) {
                    Some('\\') if escapes => i += 2,
                    Some(&q) if q == c && chars.get(i + 1) == Some(&c) => i += 2,
                    Some(&q) if q == c => {
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                    None => return Err("unterminated quoted string".to_owned()),
                }
            }
            let end = i.min(chars.len());
            copy_quoted(&mut piece, &mut shown, &chars[start..end])?;
        } else if c == '$' && next.is_some_and(|n| n.is_alphabetic() || n == '_' || n == '$') {
            let mut end = i + 1;
            while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '_') {
                end += 1;
            }
            if chars.get(end) == Some(&'$') {
                let tag: String = chars[i..=end].iter().collect();
                let rest: String = chars[end + 1..].iter().collect();
                let Some(close) = rest.find(&tag) else {
                    return Err("unterminated dollar-quoted string".to_owned());
                };
                i = end + 1 + rest[..close].chars().count() + tag.chars().count();
                copy_quoted(&mut piece, &mut shown, &chars[start..i])?;
            } else {
                piece.text.push(c);
                shown.push(c);
                i += 1;
            }
        } else if c == '%' && substitute {
            if next == Some('%') {
                piece.text.push('%');
                shown.push('%');
                i += 2;
                continue;
            }
            let (value, length) = match (next, args) {
                (Some('s'), Args::Positional(values)) => {
                    // psycopg's own words (Python's string formatting).
                    let value = values
                        .get(next_positional)
                        .ok_or("tuple index out of range")?;
                    next_positional += 1;
                    (value, 2)
                }
                (Some('('), Args::Named(values)) => {
                    let rest: String = chars[i + 2..].iter().collect();
                    let Some(close) = rest.find(")s") else {
                        return Err("a `%(` placeholder must end with `)s`".to_owned());
                    };
                    let name = &rest[..close];
                    let value = values.get(name).ok_or_else(|| format!("'{name}'"))?;
                    if !names.iter().any(|n| n == name) {
                        names.push(name.to_owned());
                    }
                    (value, 2 + name.chars().count() + 2)
                }
                (Some('s'), Args::Named(_)) => {
                    return Err("`%s` takes `positional_args`, not `named_args`".to_owned());
                }
                (Some('('), Args::Positional(_)) => {
                    return Err("`%(name)s` takes `named_args`, not `positional_args`".to_owned());
                }
                _ => {
                    return Err(format!(
                        "unsupported placeholder `%{}` (psycopg takes `%s`, `%(name)s` and `%%`)",
                        next.map(String::from).unwrap_or_default()
                    ));
                }
            };
            piece.values.push(value.clone());
            piece
                .text
                .push_str(&format!("${}{}", piece.values.len(), cast(value)));
            shown.push_str(&literal(value));
            i += length;
        } else if c == ';' && depth == 0 {
            shown.push(c);
            i += 1;
            let done = std::mem::replace(
                &mut piece,
                Piece {
                    text: String::new(),
                    values: Vec::new(),
                    words: Vec::new(),
                },
            );
            if !done.words.is_empty() {
                pieces.push(done);
            }
        } else if c.is_alphabetic() || c == '_' {
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if depth == 0 {
                piece.words.push(word.to_lowercase());
            }
            piece.text.push_str(&word);
            shown.push_str(&word);
        } else {
            if c == '(' {
                depth += 1;
            } else if c == ')' {
                depth = depth.saturating_sub(1);
            } else if !c.is_whitespace() && piece.words.is_empty() {
                // Anything before the first word (a parenthesis) still makes a statement.
                piece.words.push(String::new());
            }
            piece.text.push(c);
            shown.push(c);
            i += 1;
        }
    }
    if let Args::Positional(values) = args {
        if next_positional < values.len() {
            return Err("not all arguments converted during string formatting".to_owned());
        }
    }
    if !piece.words.is_empty() {
        pieces.push(piece);
    }
    Ok((pieces, shown))
}

/// A `search_path` entry as SQL: quoted, unless written quoted already (`"$user"`).
fn schema_name(name: &str) -> String {
    let inner = name
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .filter(|inner| !inner.contains('"'));
    match inner {
        Some(_) => name.to_owned(),
        None => postgres::quote_name(name),
    }
}

/// The command tag PostgreSQL sends for a statement (tokio-postgres keeps only its count).
fn command_tag(words: &[String], count: u64) -> String {
    let word = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    let mut first = word(0);
    if first == "with" {
        first = words
            .iter()
            .skip(1)
            .map(String::as_str)
            .find(|w| {
                [
                    "select", "insert", "update", "delete", "merge", "values", "table",
                ]
                .contains(w)
            })
            .unwrap_or("select");
    }
    let upper = |w: &str| w.to_uppercase();
    match first {
        "select" | "values" | "table" => format!("SELECT {count}"),
        "insert" => format!("INSERT 0 {count}"),
        "update" | "delete" | "merge" | "copy" | "fetch" | "move" => {
            format!("{} {count}", upper(first))
        }
        "create" | "alter" | "drop" => {
            const MODIFIERS: &[&str] = &[
                "or",
                "replace",
                "unique",
                "temp",
                "temporary",
                "unlogged",
                "global",
                "local",
                "trusted",
                "procedural",
                "recursive",
            ];
            let rest: Vec<&str> = words[1..]
                .iter()
                .map(String::as_str)
                .skip_while(|w| MODIFIERS.contains(w))
                .collect();
            let kind = rest.first().copied().unwrap_or("");
            let second = rest.get(1).copied().unwrap_or("");
            if first == "create"
                && (kind == "table" || kind == "materialized")
                && rest.contains(&"as")
            {
                return format!("SELECT {count}");
            }
            let kind = match (kind, second) {
                ("user", "mapping") => "USER MAPPING".to_owned(),
                ("user" | "group" | "role", _) => "ROLE".to_owned(),
                ("materialized", _) => "MATERIALIZED VIEW".to_owned(),
                ("foreign", "data") => "FOREIGN DATA WRAPPER".to_owned(),
                ("foreign", _) => "FOREIGN TABLE".to_owned(),
                ("event", _) => "EVENT TRIGGER".to_owned(),
                ("access", _) => "ACCESS METHOD".to_owned(),
                ("default", _) => "DEFAULT PRIVILEGES".to_owned(),
                ("text", "search") => {
                    format!("TEXT SEARCH {}", upper(rest.get(2).copied().unwrap_or("")))
                }
                (kind, _) => upper(kind),
            };
            format!("{} {kind}", upper(first))
        }
        "truncate" => "TRUNCATE TABLE".to_owned(),
        "lock" => "LOCK TABLE".to_owned(),
        "refresh" => "REFRESH MATERIALIZED VIEW".to_owned(),
        "start" => "START TRANSACTION".to_owned(),
        "end" => "COMMIT".to_owned(),
        "abort" => "ROLLBACK".to_owned(),
        "security" => "SECURITY LABEL".to_owned(),
        "import" => "IMPORT FOREIGN SCHEMA".to_owned(),
        "discard" => format!("DISCARD {}", upper(word(1))),
        "set" if word(1) == "constraints" => "SET CONSTRAINTS".to_owned(),
        "analyse" => "ANALYZE".to_owned(),
        other => upper(other),
    }
}

/// The collection's rule: a tag holding `SELECT` or `SHOW` changes nothing; `INSERT`,
/// `UPDATE`, `DELETE` change something when their count is not 0; anything else does.
fn changes(tag: &str) -> bool {
    if tag.contains("SELECT") || tag.contains("SHOW") {
        return false;
    }
    if ["UPDATE", "INSERT", "DELETE"]
        .iter()
        .any(|w| tag.contains(w))
    {
        let words: Vec<&str> = tag.split_whitespace().collect();
        return match words.len() {
            3 => words[2] != "0",
            2 => words[1] != "0",
            _ => true,
        };
    }
    true
}

/// What one query (one entry of `query`) did.
struct Ran {
    rows: Vec<Json>,
    tag: String,
    rowcount: u64,
    millis: f64,
}

/// Run one statement; `whole`: its text is the query as written (no placeholders, no other
/// statement), so an error's position can be shown in it.
async fn run_piece(
    session: &Session,
    piece: &Piece,
    whole: bool,
) -> Result<(Vec<Json>, String, u64), String> {
    let source = whole.then_some(piece.text.as_str());
    let prepared = session
        .client
        .prepare(&piece.text)
        .await
        .map_err(|e| error_text(&e, source))?;
    let values: Vec<Bindable> = piece
        .values
        .iter()
        .map(|v| match v {
            Json::Array(items) => Bindable::Plain(Json::String(pg_array(items))),
            Json::Object(_) => Bindable::Json(v.clone()),
            other => Bindable::Plain(other.clone()),
        })
        .collect();
    let params = postgres::bind_all(&values, prepared.params(), |i| {
        format!("argument {}", i + 1)
    })?;
    let stream = session
        .client
        .query_raw(&prepared, postgres::as_refs(&params))
        .await
        .map_err(|e| error_text(&e, source))?;
    futures::pin_mut!(stream);
    let mut rows = Vec::new();
    while let Some(row) = stream
        .try_next()
        .await
        .map_err(|e| error_text(&e, source))?
    {
        rows.push(Json::Object(postgres::row_to_json(&row)?));
    }
    // psycopg's `rowcount` is the number of rows for a statement that returns rows (`SHOW`
    // included), else the number affected.
    let count = if rows.is_empty() {
        stream.rows_affected().unwrap_or(0)
    } else {
        rows.len() as u64
    };
    let tag = command_tag(&piece.words, count);
    Ok((rows, tag, count))
}

/// The server's error as psycopg's says it (libpq's text without `ERROR:  `): the message,
/// the line the error is on with a `^` under it when `source` is the text the server saw,
/// and the hint. The server's `DETAIL` is left out: it may quote row values.
fn error_text(error: &tokio_postgres::Error, source: Option<&str>) -> String {
    let Some(db) = error.as_db_error() else {
        return postgres::describe(error);
    };
    let mut text = format!("{}\n", db.message());
    if let (Some(source), Some(tokio_postgres::error::ErrorPosition::Original(position))) =
        (source, db.position())
    {
        text.push_str(&error_line(source, *position as usize));
    }
    if let Some(hint) = db.hint() {
        text.push_str(&format!("HINT:  {hint}\n"));
    }
    text
}

/// libpq's `LINE n: ...` and its marker, for a line short enough to show whole.
fn error_line(source: &str, position: usize) -> String {
    let before: String = source.chars().take(position.saturating_sub(1)).collect();
    let number = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count();
    let line = source.lines().nth(number - 1).unwrap_or("");
    if line.chars().count() > 60 || position == 0 {
        return String::new();
    }
    let prefix = format!("LINE {number}: ");
    format!(
        "{prefix}{line}\n{}^\n",
        " ".repeat(prefix.chars().count() + column)
    )
}

impl PostgresqlQuery {
    fn queries(&self) -> Result<Vec<String>, String> {
        match &self.query {
            Json::String(query) => Ok(vec![query.clone()]),
            Json::Array(items) => items
                .iter()
                .map(|item| match item {
                    Json::String(query) => Ok(query.clone()),
                    _ => Err("query argument must be of type string or list".to_owned()),
                })
                .collect(),
            _ => Err("query argument must be of type string or list".to_owned()),
        }
    }

    fn args(&self) -> Result<Args<'_>, String> {
        match (&self.positional_args, &self.named_args) {
            (Some(_), Some(_)) => {
                Err("parameters are mutually exclusive: positional_args|named_args".to_owned())
            }
            (Some(values), None) if !values.is_empty() => Ok(Args::Positional(values)),
            (None, Some(values)) if !values.is_empty() => Ok(Args::Named(values)),
            _ => Ok(Args::None),
        }
    }

    fn args_repr(&self) -> String {
        match self.args() {
            Ok(Args::Positional(values)) => python_repr(&Json::Array(values.to_vec())),
            Ok(Args::Named(values)) => python_repr(&Json::Object(values.clone())),
            _ => "None".to_owned(),
        }
    }
}

impl TaskType for PostgresqlQuery {
    const COLLECTION: Option<&'static str> = Some("community.postgresql");

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let prepared = self.queries().and_then(|queries| {
            let args = self.args()?;
            if self.autocommit && ctx.check {
                return Err("Using autocommit is mutually exclusive with check_mode".to_owned());
            }
            let texts: Vec<_> = queries.iter().map(|q| prepare_text(q, args)).collect();
            Ok((queries, texts))
        });
        let (queries, texts) = match prepared {
            Ok(prepared) => prepared,
            Err(message) => return Ok(Outcome::failed(message)),
        };
        let login = self.login(self.login_db.as_deref(), self.encoding.as_deref());
        let (dsn, session) = match postgresql_login::connect(ctx, &login).await {
            Ok(opened) => opened,
            Err(message) => return Ok(Outcome::failed(message)),
        };
        let query_list = Json::Array(queries.iter().cloned().map(Json::String).collect());
        let work = async {
            if let Some(path) = &self.search_path {
                let path: Vec<String> = path
                    .iter()
                    .map(|p| schema_name(p.trim_matches(' ')))
                    .collect();
                postgresql_login::execute(
                    &session,
                    &format!("SET search_path TO {}", path.join(",")),
                )
                .await
                .map_err(|e| format!("Cannot set search_path: {e}"))?;
            }
            if !self.autocommit {
                postgresql_login::execute(&session, "BEGIN").await?;
            }
            let mut ran = Vec::new();
            for (query, text) in queries.iter().zip(&texts) {
                let failed = |reason: &str| {
                    format!(
                        "Cannot execute SQL '{query}' {}: {reason}, query list: {}",
                        self.args_repr(),
                        python_repr(&query_list)
                    )
                };
                let (pieces, _) = text.as_ref().map_err(|reason| failed(reason))?;
                let started = Instant::now();
                let mut last = (Vec::new(), String::new(), 0);
                let whole = pieces.len() == 1 && pieces[0].values.is_empty();
                for piece in pieces {
                    last = run_piece(&session, piece, whole)
                        .await
                        .map_err(|reason| failed(&reason))?;
                }
                let millis = (started.elapsed().as_secs_f64() * 1000.0 * 10000.0).round() / 10000.0;
                ran.push(Ran {
                    rows: last.0,
                    tag: last.1,
                    rowcount: last.2,
                    millis,
                });
            }
            if !self.autocommit {
                let end = if ctx.check { "ROLLBACK" } else { "COMMIT" };
                postgresql_login::execute(&session, end).await?;
            }
            Ok::<_, String>(ran)
        };
        let ran = match work.await {
            Ok(ran) => ran,
            Err(message) => return Ok(Outcome::failed(dsn.redact(&message))),
        };
        let result = |rows: &[Json]| {
            if rows.is_empty() {
                Json::Object(Map::new())
            } else {
                Json::Array(rows.to_vec())
            }
        };
        let last = ran.last();
        let changed = ran.iter().any(|r| changes(&r.tag));
        let mut outcome = if changed {
            Outcome::changed()
        } else {
            Outcome::ok()
        };
        outcome = outcome
            .with(
                "query",
                texts
                    .last()
                    .and_then(|text| text.as_ref().ok())
                    .map(|(_, shown)| shown.clone())
                    .unwrap_or_default(),
            )
            .with("query_list", query_list.clone())
            .with(
                "statusmessage",
                last.map(|r| r.tag.clone()).unwrap_or_default(),
            )
            .with(
                "query_result",
                last.map(|r| result(&r.rows))
                    .unwrap_or(Json::Object(Map::new())),
            )
            .with(
                "query_all_results",
                Json::Array(ran.iter().map(|r| result(&r.rows)).collect()),
            )
            .with(
                "rowcount",
                ran.iter()
                    .map(|r| r.rowcount)
                    .filter(|n| *n > 0)
                    .sum::<u64>(),
            )
            .with(
                "execution_time_ms",
                Json::Array(ran.iter().map(|r| Json::from(r.millis)).collect()),
            );
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pieces(query: &str, args: Args<'_>) -> Vec<(String, Vec<Json>)> {
        prepare_text(query, args)
            .unwrap()
            .0
            .into_iter()
            .map(|p| (p.text, p.values))
            .collect()
    }

    #[test]
    fn placeholders_become_numbered_parameters_typed_as_psycopg_writes_them() {
        let values = [json!("a"), json!(5), json!(true)];
        assert_eq!(
            pieces("SELECT %s, %s, %s, '100%%'", Args::Positional(&values)),
            vec![(
                "SELECT $1, $2::integer, $3::boolean, '100%'".to_owned(),
                values.to_vec()
            )]
        );
        let named: Map<String, Json> =
            serde_json::from_value(json!({"id": 3000000000u64})).unwrap();
        assert_eq!(
            pieces("SELECT %(id)s; SELECT %(id)s + 1;", Args::Named(&named)),
            vec![
                ("SELECT $1::bigint".to_owned(), vec![json!(3000000000u64)]),
                (
                    " SELECT $1::bigint + 1".to_owned(),
                    vec![json!(3000000000u64)]
                ),
            ]
        );
        // Without arguments a `%` is itself, as psycopg leaves it.
        assert_eq!(
            pieces("SELECT 7 % 3", Args::None),
            vec![("SELECT 7 % 3".to_owned(), vec![])]
        );
    }

    #[test]
    fn the_shown_query_has_the_arguments_written_in() {
        let values = [json!("it's"), json!(null), json!([1, 2])];
        let (_, shown) = prepare_text("SELECT %s, %s, %s", Args::Positional(&values)).unwrap();
        assert_eq!(shown, "SELECT 'it''s', NULL, '{1,2}'");
    }

    #[test]
    fn bad_placeholders_are_refused() {
        let values = [json!(1)];
        let error = |q: &str| prepare_text(q, Args::Positional(&values)).unwrap_err();
        // psycopg's words, compared with ansible-core 2.19.14 and community.postgresql 3.14.3.
        assert_eq!(error("SELECT %s, %s"), "tuple index out of range");
        assert_eq!(
            error("SELECT 1"),
            "not all arguments converted during string formatting"
        );
        assert_eq!(
            error("SELECT '%s'"),
            "a placeholder inside a quoted string or a comment is not supported (write `%%` for a `%`)"
        );
        assert_eq!(
            error("SELECT %d"),
            "unsupported placeholder `%d` (psycopg takes `%s`, `%(name)s` and `%%`)"
        );
    }

    #[test]
    fn search_path_entries_are_quoted_once() {
        assert_eq!(schema_name("public"), "\"public\"");
        assert_eq!(schema_name("\"$user\""), "\"$user\"");
        assert_eq!(schema_name("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn semicolons_in_quotes_do_not_split() {
        let got = pieces("SELECT ';', $$;$$, \"a;b\" -- ;\n; ;", Args::None);
        assert_eq!(got.len(), 1, "{got:?}");
    }

    #[test]
    fn tags_are_named_as_postgresql_names_them() {
        let tag = |q: &str, n: u64| {
            let (pieces, _) = prepare_text(q, Args::None).unwrap();
            command_tag(&pieces[0].words, n)
        };
        assert_eq!(tag("select 1", 1), "SELECT 1");
        assert_eq!(tag("INSERT INTO t VALUES (1)", 1), "INSERT 0 1");
        assert_eq!(
            tag("WITH x AS (SELECT 1) UPDATE t SET a = 1", 0),
            "UPDATE 0"
        );
        assert_eq!(
            tag("CREATE TABLE IF NOT EXISTS t (a int)", 0),
            "CREATE TABLE"
        );
        assert_eq!(tag("create unique index i on t (a)", 0), "CREATE INDEX");
        assert_eq!(
            tag("CREATE OR REPLACE FUNCTION f() ...", 0),
            "CREATE FUNCTION"
        );
        assert_eq!(tag("ALTER USER bob WITH LOGIN", 0), "ALTER ROLE");
        assert_eq!(tag("CREATE TABLE t2 AS SELECT * FROM t", 3), "SELECT 3");
        assert_eq!(tag("SHOW work_mem", 1), "SHOW");
        assert_eq!(tag("truncate t", 0), "TRUNCATE TABLE");
    }

    #[test]
    fn errors_point_at_their_line_as_libpq_does() {
        // psycopg's text for `SELECT * FROM nope`, from ansible-core 2.19.14 with
        // community.postgresql 3.14.3.
        assert_eq!(
            error_line("SELECT * FROM nope", 15),
            "LINE 1: SELECT * FROM nope\n                      ^\n"
        );
        assert_eq!(
            error_line("SELECT 1,\n  nope", 13),
            "LINE 2:   nope\n          ^\n"
        );
        assert_eq!(error_line(&format!("SELECT {}", "x".repeat(70)), 8), "");
    }

    #[test]
    fn changed_follows_the_collections_rule() {
        assert!(!changes("SELECT 3"));
        assert!(!changes("SHOW"));
        assert!(!changes("INSERT 0 0"));
        assert!(changes("INSERT 0 1"));
        assert!(!changes("UPDATE 0"));
        assert!(changes("DELETE 2"));
        assert!(changes("CREATE TABLE"));
        assert!(changes("SET"));
    }
}
