//! `postgresql_privs` (`community.postgresql.postgresql_privs`): privileges on tables,
//! sequences, databases and schemas granted to (or revoked from) roles, and group
//! membership, on the host's PostgreSQL, connecting as [`super::postgresql_login`] says.
//!
//! As the collection: the `GRANT`/`REVOKE` runs in a transaction, and the task is `changed`
//! when the objects' ACLs (or the group's members) differ afterwards; it is rolled back in
//! check mode or when nothing changed. `objs: ALL_IN_SCHEMA` takes every table (or
//! sequence) of `schema` (default `public`). `register` gets `queries`. The types
//! `function`, `procedure`, `language`, `tablespace`, `default_privs`,
//! `foreign_data_wrapper`, `foreign_server`, `type` and `parameter`, and `target_roles`,
//! `session_role` and the deprecated `password` are refused where written.

use serde::Deserialize;
use serde_json::Value as Json;

use super::postgresql_login::{self, postgresql_module};
use super::{Outcome, TaskContext, TaskType};
use crate::postgres::{Session, quote_name};
use crate::transport::TransportError;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    #[default]
    Present,
    Absent,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectType {
    #[default]
    Table,
    Sequence,
    Database,
    Schema,
    Group,
}

impl ObjectType {
    fn name(self) -> &'static str {
        match self {
            ObjectType::Table => "table",
            ObjectType::Sequence => "sequence",
            ObjectType::Database => "database",
            ObjectType::Schema => "schema",
            ObjectType::Group => "group",
        }
    }

    /// Objects of this type live in a schema.
    fn in_schema(self) -> bool {
        matches!(self, ObjectType::Table | ObjectType::Sequence)
    }
}

postgresql_module! {
    pub struct PostgresqlPrivs {
        #[serde(alias = "db", alias = "database")]
        login_db: String,
        #[serde(default)]
        state: State,
        #[serde(default, alias = "priv")]
        privs: Option<String>,
        #[serde(default, rename = "type")]
        object_type: ObjectType,
        #[serde(default, alias = "obj")]
        objs: Option<String>,
        #[serde(default)]
        schema: Option<String>,
        #[serde(alias = "role")]
        roles: String,
        #[serde(default, alias = "admin_option")]
        grant_option: Option<bool>,
        #[serde(default = "crate::tasks::args::yes")]
        fail_on_role: bool,
    }
}

/// The privileges the collection accepts (`ALTER_SYSTEM` is `ALTER SYSTEM`).
const VALID_PRIVS: &[&str] = &[
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "TRUNCATE",
    "REFERENCES",
    "TRIGGER",
    "CREATE",
    "CONNECT",
    "TEMPORARY",
    "TEMP",
    "EXECUTE",
    "USAGE",
    "ALL",
    "SET",
    "ALTER_SYSTEM",
];

/// Roles PostgreSQL knows without a catalog row, written in capitals and unquoted.
const IMPLICIT_ROLES: &[&str] = &["PUBLIC", "CURRENT_USER", "SESSION_USER", "CURRENT_ROLE"];

/// What the task is asked to do, checked.
struct Plan {
    privs: Vec<String>,
    schema: Option<String>,
}

impl PostgresqlPrivs {
    fn plan(&self) -> Result<Plan, String> {
        let ty = self.object_type;
        let schema = if ty.in_schema() {
            Some(
                self.schema
                    .clone()
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "public".to_owned()),
            )
        } else if self.schema.as_deref().is_some_and(|s| !s.is_empty()) {
            return Err(format!(
                "Argument \"schema\" is not allowed for type \"{}\".",
                ty.name()
            ));
        } else {
            None
        };
        let objs = self.objs.as_deref().unwrap_or("");
        if objs == "ALL_IN_SCHEMA" && !ty.in_schema() {
            return Err(format!(
                "Argument \"objs\": ALL_IN_SCHEMA can be used only for type: table, sequence, function or procedure, {} was passed.",
                ty.name()
            ));
        }
        if ty != ObjectType::Database && objs.is_empty() {
            return Err(format!(
                "Argument \"objs\" is required for type \"{}\".",
                ty.name()
            ));
        }
        let privs = self.privs.as_deref().unwrap_or("");
        if ty == ObjectType::Group {
            if !privs.is_empty() {
                return Err("Argument \"privs\" is not allowed for type \"group\".".to_owned());
            }
        } else if privs.is_empty() {
            return Err(format!(
                "Argument \"privs\" is required for type \"{}\".",
                ty.name()
            ));
        }
        let mut wanted: Vec<String> = Vec::new();
        for p in privs.split(',').filter(|p| !p.is_empty()) {
            let p = p.to_uppercase();
            if !wanted.contains(&p) {
                wanted.push(p);
            }
        }
        let invalid: Vec<String> = wanted
            .iter()
            .filter(|p| !VALID_PRIVS.contains(&p.as_str()))
            .map(|p| format!("'{p}'"))
            .collect();
        if !invalid.is_empty() {
            return Err(format!(
                "Invalid privileges specified: frozenset({{{}}})",
                invalid.join(", ")
            ));
        }
        Ok(Plan {
            privs: wanted,
            schema,
        })
    }

    fn objects(&self) -> Vec<String> {
        match self.objs.as_deref().filter(|o| !o.is_empty()) {
            Some(objs) => objs.split(',').map(str::to_owned).collect(),
            None => vec![self.login_db.clone()],
        }
    }
}

/// The ACLs (or members) of the objects: what a grant or revoke changes.
async fn status(
    session: &Session,
    ty: ObjectType,
    schema: Option<&str>,
    objs: &[String],
) -> Result<Vec<String>, String> {
    let (query, with_schema) = match ty {
        ObjectType::Table => (
            "SELECT relacl::text AS acl FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE nspname = $1 AND relkind IN ('r','p','v','m','f') AND relname = ANY ($2) ORDER BY relname",
            true,
        ),
        ObjectType::Sequence => (
            "SELECT relacl::text AS acl FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE nspname = $1 AND relkind = 'S' AND relname = ANY ($2) ORDER BY relname",
            true,
        ),
        ObjectType::Database => (
            "SELECT datacl::text AS acl FROM pg_catalog.pg_database WHERE datname = ANY ($1) ORDER BY datname",
            false,
        ),
        ObjectType::Schema => (
            "SELECT nspacl::text AS acl FROM pg_catalog.pg_namespace WHERE nspname = ANY ($1) ORDER BY nspname",
            false,
        ),
        ObjectType::Group => (
            "SELECT concat_ws(' ', am.roleid, am.grantor, am.member, am.admin_option) AS acl \
             FROM pg_catalog.pg_auth_members am JOIN pg_catalog.pg_roles r ON r.oid = am.roleid \
             WHERE r.rolname = ANY ($1) ORDER BY am.roleid, am.grantor, am.member",
            false,
        ),
    };
    let objs: Vec<&str> = objs.iter().map(String::as_str).collect();
    let schema = schema.unwrap_or("");
    let rows = if with_schema {
        postgresql_login::rows(session, query, &[&schema, &objs]).await?
    } else {
        postgresql_login::rows(session, query, &[&objs]).await?
    };
    let mut acls: Vec<String> = rows
        .iter()
        .map(|row| {
            row.get("acl")
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    acls.sort();
    Ok(acls)
}

async fn all_in_schema(
    session: &Session,
    ty: ObjectType,
    schema: &str,
) -> Result<Vec<String>, String> {
    let exists = postgresql_login::rows(
        session,
        "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1",
        &[&schema],
    )
    .await?;
    if exists.is_empty() {
        return Err(format!("Schema \"{schema}\" does not exist."));
    }
    let kinds = if ty == ObjectType::Sequence {
        "('S')"
    } else {
        "('r', 'v', 'm', 'p', 'f')"
    };
    let rows = postgresql_login::rows(
        session,
        &format!(
            "SELECT relname::text FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE nspname = $1 AND relkind IN {kinds}"
        ),
        &[&schema],
    )
    .await?;
    Ok(rows
        .iter()
        .filter_map(|row| row.get("relname").and_then(Json::as_str).map(str::to_owned))
        .collect())
}

/// The roles to grant to, as SQL: implicit ones in capitals, others quoted. A role that
/// does not exist fails the task (or, with `fail_on_role: false`, is left out).
async fn roles(session: &Session, task: &PostgresqlPrivs) -> Result<Vec<String>, String> {
    let mut roles = Vec::new();
    for role in task.roles.split(',') {
        if IMPLICIT_ROLES.contains(&role.to_uppercase().as_str()) {
            roles.push(role.to_uppercase());
            continue;
        }
        let found = postgresql_login::rows(
            session,
            "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1",
            &[&role],
        )
        .await?;
        if !found.is_empty() {
            roles.push(quote_name(role));
        } else if task.fail_on_role {
            return Err(format!("Role '{role}' does not exist"));
        }
    }
    Ok(roles)
}

/// The statements, as the collection builds them (one text, statements a line each).
fn statements(
    task: &PostgresqlPrivs,
    plan: &Plan,
    objs: &[String],
    all_in_schema: bool,
    roles: &[String],
) -> String {
    let ty = task.object_type;
    let quoted_schema = plan.schema.as_deref().map(quote_name);
    let ids: Vec<String> = objs
        .iter()
        .map(|obj| match &quoted_schema {
            Some(schema) => format!("{schema}.{}", quote_name(obj)),
            None => quote_name(obj),
        })
        .collect();
    let privs = plan.privs.join(",").replace('_', " ");
    let what = if ty == ObjectType::Group {
        ids.join(",")
    } else if all_in_schema {
        let kind = if ty == ObjectType::Sequence {
            "SEQUENCES"
        } else {
            "TABLES"
        };
        format!(
            "{privs} ON ALL {kind} IN SCHEMA {}",
            quoted_schema.unwrap_or_default()
        )
    } else {
        format!("{privs} ON {} {}", ty.name(), ids.join(","))
    };
    let whom = roles.join(",");
    let mut lines = Vec::new();
    match task.state {
        State::Absent => lines.push(format!("REVOKE {what} FROM {whom};")),
        State::Present => {
            let grant = format!("GRANT {what} TO {whom}");
            let option = if ty == ObjectType::Group {
                "ADMIN"
            } else {
                "GRANT"
            };
            match task.grant_option {
                Some(true) => lines.push(format!("{grant} WITH {option} OPTION;")),
                Some(false) => {
                    lines.push(format!("{grant};"));
                    lines.push(format!("REVOKE {option} OPTION FOR {what} FROM {whom};"));
                }
                None => lines.push(format!("{grant};")),
            }
        }
    }
    lines.join("\n")
}

impl TaskType for PostgresqlPrivs {
    const COLLECTION: Option<&'static str> = Some("community.postgresql");

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let plan = match self.plan() {
            Ok(plan) => plan,
            Err(message) => return Ok(Outcome::failed(message)),
        };
        let login = self.login(Some(&self.login_db), None);
        let (dsn, session) = match postgresql_login::connect(ctx, &login).await {
            Ok(opened) => opened,
            Err(message) => return Ok(Outcome::failed(message)),
        };
        let result = async {
            postgresql_login::execute(&session, "BEGIN").await?;
            let all = self.objs.as_deref() == Some("ALL_IN_SCHEMA");
            let objs = if all {
                all_in_schema(
                    &session,
                    self.object_type,
                    plan.schema.as_deref().unwrap_or("public"),
                )
                .await?
            } else {
                self.objects()
            };
            let roles = roles(&session, self).await?;
            if objs.is_empty() || roles.is_empty() {
                postgresql_login::execute(&session, "ROLLBACK").await?;
                return Ok((false, Vec::new()));
            }
            let schema = plan.schema.as_deref();
            let before = status(&session, self.object_type, schema, &objs).await?;
            let text = statements(self, &plan, &objs, all, &roles);
            postgresql_login::execute_as_psycopg(&session, &text)
                .await
                .map_err(|e| format!("Cannot execute SQL '{text}': {e}"))?;
            let after = status(&session, self.object_type, schema, &objs).await?;
            let changed = before != after;
            let end = if ctx.check || !changed {
                "ROLLBACK"
            } else {
                "COMMIT"
            };
            postgresql_login::execute(&session, end).await?;
            Ok::<_, String>((changed, vec![text]))
        }
        .await;
        match result {
            Ok((changed, queries)) => {
                let outcome = if changed {
                    Outcome::changed()
                } else {
                    Outcome::ok()
                };
                Ok(outcome.with(
                    "queries",
                    Json::Array(queries.into_iter().map(Json::String).collect()),
                ))
            }
            Err(message) => Ok(Outcome::failed(dsn.redact(&message))),
        }
    }
}
