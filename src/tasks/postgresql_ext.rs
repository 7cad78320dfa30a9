//! `postgresql_ext` (`community.postgresql.postgresql_ext`): an extension present in a
//! database (in `schema`, at `version` or the latest, with `cascade`, `comment`) or absent,
//! on the host's PostgreSQL, connecting as [`super::postgresql_login`] says.
//!
//! As the collection: an installed extension is updated only when `version` is given and
//! differs (along a path `pg_extension_update_paths` knows); one not available on the server
//! fails ("Extension pg_nothing is not available"). Check mode only looks. `register` gets
//! `db`, `ext`, `prev_version`, `version` and `queries` (in check mode: what would run).
//! `session_role` is refused where written.

use serde::Deserialize;
use serde_json::Value as Json;

use super::postgresql_login::{self, postgresql_module};
use super::{Outcome, TaskContext, TaskType};
use crate::postgres::{Session, quote_literal, quote_name};
use crate::transport::TransportError;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    #[default]
    Present,
    Absent,
}

postgresql_module! {
    pub struct PostgresqlExt {
        #[serde(alias = "name")]
        ext: String,
        #[serde(alias = "db")]
        login_db: String,
        #[serde(default)]
        schema: Option<String>,
        #[serde(default)]
        state: State,
        #[serde(default)]
        cascade: bool,
        #[serde(default)]
        version: Option<String>,
        #[serde(default)]
        comment: Option<String>,
    }
}

/// The extension's installed version, its default version, and the versions available.
struct Versions {
    current: Option<String>,
    default: Option<String>,
    available: Vec<String>,
}

/// A query that failed, as the collection reports it.
fn failed(reason: String) -> String {
    format!("Management of PostgreSQL extension failed: {reason}")
}

async fn versions(session: &Session, ext: &str) -> Result<Versions, String> {
    let one = |rows: Vec<serde_json::Map<String, Json>>, key: &str| {
        rows.first()
            .and_then(|row| row.get(key))
            .and_then(Json::as_str)
            .map(str::to_owned)
    };
    let current = one(
        postgresql_login::rows(
            session,
            "SELECT extversion::text FROM pg_catalog.pg_extension WHERE extname = $1",
            &[&ext],
        )
        .await
        .map_err(failed)?,
        "extversion",
    );
    let default = one(
        postgresql_login::rows(
            session,
            "SELECT default_version::text FROM pg_catalog.pg_available_extensions WHERE name = $1",
            &[&ext],
        )
        .await
        .map_err(failed)?,
        "default_version",
    );
    let available = postgresql_login::rows(
        session,
        "SELECT version::text FROM pg_catalog.pg_available_extension_versions WHERE name = $1",
        &[&ext],
    )
    .await
    .map_err(failed)?
    .iter()
    .filter_map(|row| row.get("version").and_then(Json::as_str).map(str::to_owned))
    .collect();
    Ok(Versions {
        current,
        default,
        available,
    })
}

async fn has_update_path(
    session: &Session,
    ext: &str,
    from: &str,
    to: &str,
) -> Result<bool, String> {
    Ok(!postgresql_login::rows(
        session,
        "SELECT path FROM pg_extension_update_paths($1) WHERE source = $2 AND target = $3",
        &[&ext, &from, &to],
    )
    .await
    .map_err(failed)?
    .is_empty())
}

impl PostgresqlExt {
    /// The statements to run, and the version the task reports afterwards in check mode.
    async fn plan(&self, session: &Session) -> Result<(Vec<String>, Versions, String), String> {
        let found = versions(session, &self.ext).await?;
        let ext = quote_name(&self.ext);
        let version = self.version.as_deref().filter(|v| !v.is_empty());
        let real_version = match version {
            None | Some("latest") => {
                if found.available.is_empty() {
                    return Err(format!("Extension {} is not available", self.ext));
                }
                match &found.default {
                    Some(default) => default.clone(),
                    None => {
                        return Err("Passed version 'latest' but no default_version available in extension control file".to_owned());
                    }
                }
            }
            Some(version) => version.to_owned(),
        };
        let mut statements = Vec::new();
        match self.state {
            State::Present => {
                match (&found.current, version) {
                    (Some(current), Some(_)) if *current == real_version => {}
                    (Some(current), Some(version)) => {
                        if has_update_path(session, &self.ext, current, &real_version).await? {
                            let mut statement = format!("ALTER EXTENSION {ext} UPDATE");
                            if version != "latest" {
                                statement.push_str(&format!(" TO {}", quote_literal(version)));
                            }
                            statements.push(statement);
                        } else if version == "latest" {
                            return Err(format!(
                                "Latest version '{real_version}' has no valid update path from the currently installed version '{current}'"
                            ));
                        } else {
                            return Err(format!(
                                "Passed version '{version}' has no valid update path from the currently installed version '{current}' or the passed version is not available"
                            ));
                        }
                    }
                    (Some(_), None) => {}
                    (None, _) => {
                        if version.is_some() && !found.available.contains(&real_version) {
                            return Err(if version == Some("latest") {
                                format!("Latest version '{real_version}' is not available")
                            } else {
                                format!("Passed version '{real_version}' is not available")
                            });
                        }
                        let mut statement = format!("CREATE EXTENSION {ext}");
                        if let Some(schema) = self.schema.as_deref().filter(|s| !s.is_empty()) {
                            statement.push_str(&format!(" WITH SCHEMA {}", quote_name(schema)));
                        }
                        if let Some(version) = version.filter(|v| *v != "latest") {
                            statement.push_str(&format!(" VERSION {}", quote_literal(version)));
                        }
                        if self.cascade {
                            statement.push_str(" CASCADE");
                        }
                        statements.push(statement);
                    }
                }
                if let Some(comment) = &self.comment {
                    let current = postgresql_login::rows(
                        session,
                        "SELECT coalesce(obj_description(oid, 'pg_extension'), '') AS comment FROM pg_extension WHERE extname = $1",
                        &[&self.ext],
                    )
                    .await
                    .map_err(failed)?
                    .first()
                    .and_then(|row| row.get("comment").and_then(Json::as_str).map(str::to_owned))
                    .unwrap_or_default();
                    if *comment != current {
                        statements.push(format!(
                            "COMMENT ON EXTENSION {ext} IS {}",
                            quote_literal(comment)
                        ));
                    }
                }
            }
            State::Absent => {
                if found.current.is_some() {
                    let cascade = if self.cascade { " CASCADE" } else { "" };
                    statements.push(format!("DROP EXTENSION {ext}{cascade}"));
                }
            }
        }
        Ok((statements, found, real_version))
    }
}

impl TaskType for PostgresqlExt {
    const COLLECTION: Option<&'static str> = Some("community.postgresql");

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let login = self.login(Some(&self.login_db), None);
        let (dsn, session) = match postgresql_login::connect(ctx, &login).await {
            Ok(opened) => opened,
            Err(message) => return Ok(Outcome::failed(message)),
        };
        let result = async {
            let (statements, before, real_version) = self.plan(&session).await?;
            if !ctx.check {
                for statement in &statements {
                    postgresql_login::execute(&session, statement)
                        .await
                        .map_err(failed)?;
                }
            }
            let changed = !statements.is_empty();
            let version = if ctx.check && changed {
                match self.state {
                    State::Present => real_version,
                    State::Absent => String::new(),
                }
            } else {
                versions(&session, &self.ext)
                    .await?
                    .current
                    .unwrap_or_default()
            };
            Ok::<_, String>((statements, before.current.unwrap_or_default(), version))
        }
        .await;
        match result {
            Ok((statements, previous, version)) => {
                let outcome = if statements.is_empty() {
                    Outcome::ok()
                } else {
                    Outcome::changed()
                };
                Ok(outcome
                    .with("db", self.login_db.clone())
                    .with("ext", self.ext.clone())
                    .with("prev_version", previous)
                    .with("version", version)
                    .with(
                        "queries",
                        Json::Array(statements.into_iter().map(Json::String).collect()),
                    ))
            }
            Err(message) => Ok(Outcome::failed(dsn.redact(&message))),
        }
    }
}
