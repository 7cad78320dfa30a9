//! `sql_insert`: insert rows into PostgreSQL unless they exist, in one transaction, from the
//! controller.
//!
//! ```yaml
//! - name: Insert the read-only service key and its approval
//!   run_once: true
//!   sql_insert:
//!     dsn: "{{ quay_db_uri }}"          # postgresql://quay:PASSWORD@db:5432/quay?sslmode=require
//!     rows:
//!       - name: approval                # so that a later row can use what it returns
//!         table: servicekeyapproval
//!         values:
//!           approver_id: null
//!           approval_type: ServiceKeyApprovalType.SUPERUSER
//!           approved_date: {sql: now_utc}
//!           notes: Read-only key for {{ quay_site }}
//!         returning: [id]
//!         # No `unique_by`: when the key exists this row is not inserted either (below).
//!       - table: servicekey
//!         values:
//!           name: quay-readonly
//!           kid: "{{ readonly_kid }}"
//!           service: quay
//!           jwk: "{{ readonly_jwk }}"
//!           metadata: {json: {}}          # the text '{}'
//!           created_date: {sql: now_utc}
//!           expiration_date: "{{ readonly_expires }}"   # ISO 8601, e.g. 2030-01-01T00:00:00
//!           approval_id: {from: approval, column: id}
//!         unique_by: [kid]
//!         returning: [id, expiration_date]
//!   register: readonly_key
//! ```
//!
//! Each row names its `table` and its `values` (column: value). Table and column names
//! must be plain identifiers (`[a-z_][a-z0-9_]*`, or `schema.table`); they are
//! double-quoted in the SQL. Every value is sent as a bound parameter, converted to the
//! column's type (`postgres::bind`: ISO strings for timestamps, numeric strings for integers,
//! and so on). A value may also be:
//!
//! - `{sql: now_utc}`: `timezone('utc', now())`, the naive UTC time Quay stores;
//!   `{sql: now_utc, plus: 365 days}` adds an interval (bound as a parameter too);
//! - `{sql: now}`: `now()` (for `timestamptz` columns), with `plus` as above;
//! - `{sql: default}`: the column's default;
//! - `{from: ROW, column: COLUMN}`: what the earlier row named `ROW` returned in `COLUMN`
//!   (the column is added to that row's `RETURNING` if it is not listed);
//! - `{json: VALUE}`: VALUE as JSON: a `json`/`jsonb` value, or compact JSON text in a text
//!   column (`{json: {}}` is the text `{}`).
//!
//! `unique_by: [columns]` makes a row idempotent: if a row with those column values exists
//! (NULL matches NULL), it is left alone, not compared or updated, and its `returning`
//! columns are read from it so that later rows still work. A row without `unique_by` is
//! always inserted, except a row that later rows refer to (through `from`): it is `skipped`
//! when every row referring to it has a `unique_by` of plain values and exists already.
//! That keeps the approval above, which has no natural key, from being inserted again on
//! every run. More than one existing match for `unique_by` is an error.
//!
//! All rows go in ONE transaction: if any fails, none is left behind. The task is `changed`
//! when it inserted a row, `ok` when every row existed. In check mode the rows are inserted
//! and rolled back, so constraints are checked for real (a `SERIAL` sequence still
//! advances: PostgreSQL never rolls sequences back).
//!
//! `register` keeps `rows` (one entry per row: `name`, `table`, `state` (`inserted`,
//! `existing` or `skipped`), and `returning`, the returned columns as JSON; a skipped row
//! returns nothing) and the counts `inserted`, `existing` and `skipped`.
//!
//! The task runs on the controller, not through the host's shell, so it runs once for each
//! host it targets: use `run_once: true`. `via: HOST` reaches the database through a port
//! forwarded over that inventory host's SSH master (the database as the host sees it).

use std::collections::{BTreeSet, HashMap};

use serde::Deserialize;
use serde_json::{Map, Value as Json};
use tokio_postgres::types::Type;

use super::{Outcome, TaskContext, TaskType};
use crate::postgres::{self, Bindable, Dsn, SqlError};
use crate::transport::TransportError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlInsert {
    /// `postgresql://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=...`; the password is never shown.
    dsn: String,
    /// An inventory host to tunnel through.
    #[serde(default)]
    via: Option<String>,
    rows: Vec<InsertRow>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InsertRow {
    /// A name later rows use in `{from: NAME, column: COLUMN}`.
    #[serde(default)]
    name: Option<String>,
    table: String,
    #[serde(default)]
    values: Map<String, Json>,
    #[serde(default)]
    returning: Vec<String>,
    #[serde(default)]
    unique_by: Vec<String>,
}

/// A value written in SQL rather than bound.
#[derive(Debug, Clone, PartialEq)]
enum SqlValue {
    /// `timezone('utc', now())` (naive UTC), plus an interval.
    NowUtc(Option<String>),
    /// `now()`, plus an interval.
    Now(Option<String>),
    Default,
}

#[derive(Debug, Clone, PartialEq)]
enum ValueSpec {
    Bind(Bindable),
    /// `{from: NAME, column: COLUMN}` as written.
    Ref {
        from: String,
        column: String,
    },
    /// The same, with the row found: what row `row` returned in `column`.
    From {
        row: usize,
        column: String,
    },
    Sql(SqlValue),
}

/// One row, checked: identifiers quoted, references resolved to row indexes.
#[derive(Debug)]
struct Planned {
    label: String,
    name: Option<String>,
    table: String,
    table_sql: String,
    columns: Vec<(String, ValueSpec)>,
    /// The columns to return: those asked for, then those later rows refer to.
    returning: Vec<String>,
    unique_by: Vec<usize>,
    /// Later rows that refer to this one.
    referenced_by: Vec<usize>,
}

fn quote(name: &str) -> String {
    // Only ever called on names `plan` checked.
    format!("\"{name}\"")
}

fn parse_value(label: &str, column: &str, value: &Json) -> Result<ValueSpec, String> {
    let Json::Object(map) = value else {
        return Ok(ValueSpec::Bind(Bindable::Plain(value.clone())));
    };
    let keys: BTreeSet<&str> = map.keys().map(String::as_str).collect();
    let text = |key: &str| -> Result<String, String> {
        match map.get(key) {
            Some(Json::String(s)) => Ok(s.clone()),
            Some(Json::Number(n)) => Ok(n.to_string()),
            _ => Err(format!("{label}: `values.{column}.{key}` must be a string")),
        }
    };
    let shape = format!(
        "{label}: `values.{column}` must be a plain value, `{{sql: now_utc}}` (or `now`, `default`, with an optional `plus: INTERVAL`), `{{from: ROW, column: COLUMN}}` or `{{json: VALUE}}`"
    );
    if keys == BTreeSet::from(["json"]) {
        return Ok(ValueSpec::Bind(Bindable::Json(map["json"].clone())));
    }
    if keys == BTreeSet::from(["from", "column"]) {
        return Ok(ValueSpec::Ref {
            from: text("from")?,
            column: text("column")?,
        });
    }
    if keys == BTreeSet::from(["sql"]) || keys == BTreeSet::from(["sql", "plus"]) {
        let plus = if keys.contains("plus") {
            Some(text("plus")?)
        } else {
            None
        };
        return match (text("sql")?.as_str(), plus) {
            ("now_utc", plus) => Ok(ValueSpec::Sql(SqlValue::NowUtc(plus))),
            ("now", plus) => Ok(ValueSpec::Sql(SqlValue::Now(plus))),
            ("default", None) => Ok(ValueSpec::Sql(SqlValue::Default)),
            ("default", Some(_)) => Err(format!(
                "{label}: `values.{column}`: `plus` goes with `now_utc` or `now`, not `default`"
            )),
            (other, _) => Err(format!(
                "{label}: `values.{column}`: unknown `sql` value `{other}` (expected `now_utc`, `now` or `default`)"
            )),
        };
    }
    Err(shape)
}

/// Check every row before connecting: identifiers, names, references, `unique_by`.
fn plan(rows: &[InsertRow]) -> Result<Vec<Planned>, String> {
    if rows.is_empty() {
        return Err("`rows` is empty".to_owned());
    }
    let mut planned: Vec<Planned> = Vec::new();
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (index, row) in rows.iter().enumerate() {
        let label = format!("row {} (`{}`)", index + 1, row.table);
        let table_sql =
            postgres::quote_identifier(&row.table).map_err(|e| format!("{label}: table {e}"))?;
        let mut columns = Vec::new();
        for (column, value) in &row.values {
            if !is_column(column) {
                return Err(format!(
                    "{label}: column `{column}` is not a plain identifier (`[a-z_][a-z0-9_]*`)"
                ));
            }
            let mut spec = parse_value(&label, column, value)?;
            if let ValueSpec::Ref {
                from,
                column: source,
            } = spec
            {
                let Some(&earlier) = names.get(from.as_str()) else {
                    return Err(format!(
                        "{label}: `values.{column}` refers to row `{from}`, but no earlier row has that `name`"
                    ));
                };
                if !is_column(&source) {
                    return Err(format!(
                        "{label}: `values.{column}.column`: `{source}` is not a plain identifier"
                    ));
                }
                let target = &mut planned[earlier];
                if !target.returning.contains(&source) {
                    target.returning.push(source.clone());
                }
                if !target.referenced_by.contains(&index) {
                    target.referenced_by.push(index);
                }
                spec = ValueSpec::From {
                    row: earlier,
                    column: source,
                };
            }
            columns.push((column.clone(), spec));
        }
        let mut returning = Vec::new();
        for column in &row.returning {
            if !is_column(column) {
                return Err(format!(
                    "{label}: `returning`: `{column}` is not a plain identifier"
                ));
            }
            if !returning.contains(column) {
                returning.push(column.clone());
            }
        }
        let mut unique_by = Vec::new();
        for column in &row.unique_by {
            let Some(position) = columns.iter().position(|(c, _)| c == column) else {
                return Err(format!(
                    "{label}: `unique_by` names `{column}`, which is not in `values`"
                ));
            };
            if matches!(columns[position].1, ValueSpec::Sql(_)) {
                return Err(format!(
                    "{label}: `unique_by` names `{column}`, whose value is SQL (`{{sql: ...}}`); it can only compare plain values"
                ));
            }
            unique_by.push(position);
        }
        if let Some(name) = &row.name {
            if names.insert(name.as_str(), index).is_some() {
                return Err(format!("{label}: another row is named `{name}` already"));
            }
        }
        planned.push(Planned {
            label,
            name: row.name.clone(),
            table: row.table.clone(),
            table_sql,
            columns,
            returning,
            unique_by,
            referenced_by: Vec::new(),
        });
    }
    Ok(planned)
}

fn is_column(name: &str) -> bool {
    !name.contains('.') && postgres::quote_identifier(name).is_ok()
}

/// What became of one row.
#[derive(Debug, Clone)]
struct Done {
    inserted: bool,
    /// The returned columns, with their PostgreSQL types.
    returning: Vec<(String, Json, Type)>,
}

/// A value ready for SQL: bound, or written as SQL.
enum Resolved {
    Bind(Bindable),
    Sql(SqlValue),
}

fn resolve(spec: &ValueSpec, done: &[Option<Done>]) -> Resolved {
    match spec {
        ValueSpec::Bind(value) => Resolved::Bind(value.clone()),
        ValueSpec::Sql(value) => Resolved::Sql(value.clone()),
        ValueSpec::Ref { .. } => unreachable!("`plan` resolves every reference"),
        ValueSpec::From { row, column } => {
            let found = done
                .get(*row)
                .and_then(Option::as_ref)
                .and_then(|d| d.returning.iter().find(|(c, _, _)| c == column));
            Resolved::Bind(match found {
                Some((_, value, ty)) if matches!(*ty, Type::JSON | Type::JSONB) => {
                    Bindable::Json(value.clone())
                }
                Some((_, value, _)) => Bindable::Plain(value.clone()),
                None => Bindable::Plain(Json::Null),
            })
        }
    }
}

/// Builds SQL text with numbered parameters.
#[derive(Default)]
struct Query {
    values: Vec<Bindable>,
    names: Vec<String>,
}

impl Query {
    fn param(&mut self, value: Bindable, name: String) -> String {
        self.values.push(value);
        self.names.push(name);
        format!("${}", self.values.len())
    }

    fn sql(&mut self, value: &SqlValue, column: &str) -> String {
        let (base, plus) = match value {
            SqlValue::Default => return "DEFAULT".to_owned(),
            SqlValue::NowUtc(plus) => ("timezone('utc', now())", plus),
            SqlValue::Now(plus) => ("now()", plus),
        };
        match plus {
            None => base.to_owned(),
            Some(interval) => {
                let param = self.param(
                    Bindable::Plain(Json::String(interval.clone())),
                    format!("`values.{column}.plus`"),
                );
                format!("({base} + {param}::text::interval)")
            }
        }
    }
}

fn returning_list(columns: &[String]) -> String {
    if columns.is_empty() {
        "1".to_owned()
    } else {
        columns
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

async fn run_query(
    client: &impl tokio_postgres::GenericClient,
    text: &str,
    query: &Query,
    label: &str,
) -> Result<Vec<tokio_postgres::Row>, SqlError> {
    let failed = |reason: String| SqlError::Statement {
        what: label.to_owned(),
        reason,
    };
    let statement = client
        .prepare(text)
        .await
        .map_err(|e| failed(postgres::describe(&e)))?;
    let params = postgres::bind_all(&query.values, statement.params(), |i| {
        query.names[i].clone()
    })
    .map_err(failed)?;
    client
        .query(&statement, &postgres::as_refs(&params))
        .await
        .map_err(|e| failed(postgres::describe(&e)))
}

fn read_returning(
    row: &tokio_postgres::Row,
    columns: &[String],
    label: &str,
) -> Result<Vec<(String, Json, Type)>, SqlError> {
    let map = postgres::row_to_json(row).map_err(|reason| SqlError::Statement {
        what: label.to_owned(),
        reason,
    })?;
    Ok(columns
        .iter()
        .enumerate()
        .map(|(index, column)| {
            let ty = row.columns()[index].type_().clone();
            (
                column.clone(),
                map.get(column).cloned().unwrap_or(Json::Null),
                ty,
            )
        })
        .collect())
}

/// Look for the existing row `unique_by` describes.
async fn find_existing(
    client: &impl tokio_postgres::GenericClient,
    row: &Planned,
    done: &[Option<Done>],
) -> Result<Option<Done>, SqlError> {
    let mut query = Query::default();
    let mut conditions = Vec::new();
    for &position in &row.unique_by {
        let (column, spec) = &row.columns[position];
        let Resolved::Bind(value) = resolve(spec, done) else {
            unreachable!("`plan` refuses SQL values in `unique_by`");
        };
        let is_null = matches!(&value, Bindable::Plain(Json::Null));
        if is_null {
            conditions.push(format!("{} IS NULL", quote(column)));
        } else {
            let param = query.param(value, format!("`values.{column}`"));
            conditions.push(format!("{} = {param}", quote(column)));
        }
    }
    let text = format!(
        "SELECT {} FROM {} WHERE {} LIMIT 2",
        returning_list(&row.returning),
        row.table_sql,
        conditions.join(" AND ")
    );
    let found = run_query(client, &text, &query, &row.label).await?;
    match found.as_slice() {
        [] => Ok(None),
        [existing] => Ok(Some(Done {
            inserted: false,
            returning: read_returning(existing, &row.returning, &row.label)?,
        })),
        _ => Err(SqlError::Statement {
            what: row.label.clone(),
            reason: format!(
                "more than one row of `{}` matches `unique_by` ({})",
                row.table,
                row.unique_by
                    .iter()
                    .map(|&p| format!("`{}`", row.columns[p].0))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

async fn insert(
    client: &impl tokio_postgres::GenericClient,
    row: &Planned,
    done: &[Option<Done>],
) -> Result<Done, SqlError> {
    let mut query = Query::default();
    let text = if row.columns.is_empty() {
        format!("INSERT INTO {} DEFAULT VALUES", row.table_sql)
    } else {
        let mut names = Vec::new();
        let mut values = Vec::new();
        for (column, spec) in &row.columns {
            names.push(quote(column));
            values.push(match resolve(spec, done) {
                Resolved::Bind(value) => query.param(value, format!("`values.{column}`")),
                Resolved::Sql(value) => query.sql(&value, column),
            });
        }
        format!(
            "INSERT INTO {} ({}) VALUES ({})",
            row.table_sql,
            names.join(", "),
            values.join(", ")
        )
    };
    let text = if row.returning.is_empty() {
        text
    } else {
        format!("{text} RETURNING {}", returning_list(&row.returning))
    };
    let rows = run_query(client, &text, &query, &row.label).await?;
    let returning = match rows.first() {
        Some(first) if !row.returning.is_empty() => {
            read_returning(first, &row.returning, &row.label)?
        }
        _ => Vec::new(),
    };
    Ok(Done {
        inserted: true,
        returning,
    })
}

/// Whether a row that has no `unique_by` of its own can be skipped: every row that refers
/// to it is idempotent and exists already.
async fn dependents_all_exist(
    client: &impl tokio_postgres::GenericClient,
    planned: &[Planned],
    index: usize,
) -> Result<bool, SqlError> {
    let row = &planned[index];
    if row.referenced_by.is_empty() {
        return Ok(false);
    }
    for &later in &row.referenced_by {
        let dependent = &planned[later];
        // A dependent can only be looked up before this row is inserted if its key does
        // not use what this (or another not yet run) row returns.
        let key_is_plain = dependent
            .unique_by
            .iter()
            .all(|&p| matches!(dependent.columns[p].1, ValueSpec::Bind(_)));
        if dependent.unique_by.is_empty() || !key_is_plain {
            return Ok(false);
        }
        if find_existing(client, dependent, &[]).await?.is_none() {
            return Ok(false);
        }
    }
    Ok(true)
}

async fn apply(
    client: &mut tokio_postgres::Client,
    planned: &[Planned],
    check: bool,
) -> Result<Vec<Option<Done>>, SqlError> {
    let transaction = client
        .transaction()
        .await
        .map_err(|e| SqlError::Statement {
            what: "BEGIN".to_owned(),
            reason: postgres::describe(&e),
        })?;
    let mut done: Vec<Option<Done>> = Vec::new();
    for (index, row) in planned.iter().enumerate() {
        let result = if !row.unique_by.is_empty() {
            match find_existing(&transaction, row, &done).await? {
                Some(existing) => Some(existing),
                None => Some(insert(&transaction, row, &done).await?),
            }
        } else if dependents_all_exist(&transaction, planned, index).await? {
            // Skipped: the rows that needed it exist. Nothing of it is returned.
            None
        } else {
            Some(insert(&transaction, row, &done).await?)
        };
        done.push(result);
    }
    let end = if check {
        transaction.rollback().await
    } else {
        transaction.commit().await
    };
    end.map_err(|e| SqlError::Statement {
        what: if check { "ROLLBACK" } else { "COMMIT" }.to_owned(),
        reason: postgres::describe(&e),
    })?;
    Ok(done)
}

impl TaskType for SqlInsert {
    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let planned = match plan(&self.rows) {
            Ok(planned) => planned,
            Err(message) => return Ok(Outcome::failed(message)),
        };
        let dsn = match Dsn::parse(&self.dsn) {
            Ok(dsn) => dsn,
            Err(error) => return Ok(Outcome::failed(error.to_string())),
        };
        let work = async {
            let mut session =
                postgres::connect(&dsn, self.via.as_deref(), ctx.timeout, ctx.connections).await?;
            apply(&mut session.client, &planned, ctx.check).await
        };
        let done = match postgres::within(ctx.timeout, &dsn, work).await {
            Ok(done) => done,
            Err(error) => return Ok(Outcome::failed(dsn.redact(&error.to_string()))),
        };
        Ok(outcome(&planned, &done, ctx.check))
    }
}

fn outcome(planned: &[Planned], done: &[Option<Done>], check: bool) -> Outcome {
    let mut rows = Vec::new();
    let (mut inserted, mut existing, mut skipped) = (0, 0, 0);
    for (row, done) in planned.iter().zip(done) {
        let mut entry = Map::new();
        entry.insert(
            "name".into(),
            row.name.clone().map(Json::String).unwrap_or(Json::Null),
        );
        entry.insert("table".into(), row.table.clone().into());
        let state = match done {
            Some(d) if d.inserted => {
                inserted += 1;
                "inserted"
            }
            Some(_) => {
                existing += 1;
                "existing"
            }
            None => {
                skipped += 1;
                "skipped"
            }
        };
        entry.insert("state".into(), state.into());
        let returning: Map<String, Json> = done
            .iter()
            .flat_map(|d| d.returning.iter())
            .map(|(column, value, _)| (column.clone(), value.clone()))
            .collect();
        entry.insert("returning".into(), Json::Object(returning));
        rows.push(Json::Object(entry));
    }
    let total = planned.len();
    let msg = match (inserted, check) {
        (0, _) => format!("nothing to insert: {existing} of {total} rows exist, {skipped} skipped"),
        (n, false) => format!("inserted {n} of {total} rows"),
        (n, true) => format!("would insert {n} of {total} rows"),
    };
    let base = if inserted > 0 {
        Outcome::changed()
    } else {
        Outcome::ok()
    };
    base.with_msg(msg)
        .with("rows", rows)
        .with("inserted", inserted)
        .with("existing", existing)
        .with("skipped", skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rows(value: Json) -> Vec<InsertRow> {
        serde_json::from_value(value).unwrap()
    }

    fn quay_rows() -> Json {
        json!([
            {"name": "approval", "table": "servicekeyapproval",
             "values": {"approver_id": null, "approval_type": "ServiceKeyApprovalType.SUPERUSER",
                        "approved_date": {"sql": "now_utc"}, "notes": "n"}},
            {"table": "servicekey", "unique_by": ["kid"], "returning": ["id"],
             "values": {"kid": "k", "approval_id": {"from": "approval", "column": "id"},
                        "created_date": {"sql": "now_utc", "plus": "1 day"}}}
        ])
    }

    #[test]
    fn references_add_returning_columns_to_the_earlier_row() {
        let planned = plan(&rows(quay_rows())).unwrap();
        assert_eq!(planned[0].returning, vec!["id".to_owned()]);
        assert_eq!(planned[0].referenced_by, vec![1]);
        assert_eq!(
            planned[1].columns[1].1,
            ValueSpec::From {
                row: 0,
                column: "id".into()
            }
        );
        assert_eq!(
            planned[1].columns[2].1,
            ValueSpec::Sql(SqlValue::NowUtc(Some("1 day".into())))
        );
        assert_eq!(planned[1].unique_by, vec![0]);
    }

    #[test]
    fn bad_rows_are_refused_before_connecting() {
        let error = |value: Json| plan(&rows(value)).unwrap_err();
        assert_eq!(
            error(json!([{"table": "Bad", "values": {}}])),
            "row 1 (`Bad`): table `Bad` is not a plain identifier (`[a-z_][a-z0-9_]*`, at most 63 characters, optionally `schema.name`)"
        );
        assert_eq!(
            error(json!([{"table": "t", "values": {"a; drop": 1}}])),
            "row 1 (`t`): column `a; drop` is not a plain identifier (`[a-z_][a-z0-9_]*`)"
        );
        assert_eq!(
            error(json!([{"table": "t", "values": {"a": {"from": "x", "column": "id"}}}])),
            "row 1 (`t`): `values.a` refers to row `x`, but no earlier row has that `name`"
        );
        assert_eq!(
            error(json!([{"table": "t", "values": {"a": 1}, "unique_by": ["b"]}])),
            "row 1 (`t`): `unique_by` names `b`, which is not in `values`"
        );
        assert_eq!(
            error(json!([{"table": "t", "values": {"a": {"sql": "now_utc"}}, "unique_by": ["a"]}])),
            "row 1 (`t`): `unique_by` names `a`, whose value is SQL (`{sql: ...}`); it can only compare plain values"
        );
        assert_eq!(
            error(json!([{"table": "t", "values": {"a": {"sql": "drop table t"}}}])),
            "row 1 (`t`): `values.a`: unknown `sql` value `drop table t` (expected `now_utc`, `now` or `default`)"
        );
        assert_eq!(
            error(json!([{"table": "t", "values": {"a": {"b": 1}}}])),
            "row 1 (`t`): `values.a` must be a plain value, `{sql: now_utc}` (or `now`, `default`, with an optional `plus: INTERVAL`), `{from: ROW, column: COLUMN}` or `{json: VALUE}`"
        );
        assert_eq!(
            error(json!([{"name": "a", "table": "t"}, {"name": "a", "table": "u"}])),
            "row 2 (`u`): another row is named `a` already"
        );
        assert_eq!(error(json!([])), "`rows` is empty");
    }

    #[test]
    fn sql_values_become_fixed_sql_with_bound_intervals() {
        let mut query = Query::default();
        assert_eq!(
            query.sql(&SqlValue::NowUtc(None), "c"),
            "timezone('utc', now())"
        );
        assert_eq!(
            query.sql(&SqlValue::NowUtc(Some("1 day'); drop".into())), "c"),
            "(timezone('utc', now()) + $1::text::interval)"
        );
        assert_eq!(query.sql(&SqlValue::Default, "c"), "DEFAULT");
        assert_eq!(
            query.values,
            vec![Bindable::Plain(Json::String("1 day'); drop".into()))]
        );
    }
}
