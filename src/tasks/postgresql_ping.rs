//! `postgresql_ping` (`community.postgresql.postgresql_ping`): whether the host's
//! PostgreSQL answers, connecting as [`super::postgresql_login`] says. Never changes
//! anything and never fails for a server that does not answer: `register` gets
//! `is_available`, `server_version` (`major`, `minor`, `patch` when there is one, `full`,
//! `raw`, from `SELECT version()`) and `conn_err_msg`, as the collection returns them.

use serde_json::{Map, Value as Json};

use super::postgresql_login::{self, postgresql_module};
use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;

postgresql_module! {
    pub struct PostgresqlPing {
        #[serde(default, alias = "db")]
        login_db: Option<String>,
    }
}

/// `server_version` from `version()`'s text (`PostgreSQL 15.14 (Debian ...) on ...`).
fn server_version(raw: &str) -> Map<String, Json> {
    let mut version = Map::new();
    let full = raw.split_whitespace().nth(1).unwrap_or("");
    let numbers: Vec<u64> = full
        .split('.')
        .map_while(|part| {
            let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .take(3)
        .collect();
    if numbers.len() < 2 {
        return version;
    }
    version.insert("major".into(), numbers[0].into());
    version.insert("minor".into(), numbers[1].into());
    if let Some(patch) = numbers.get(2) {
        version.insert("patch".into(), (*patch).into());
    }
    version.insert("full".into(), full.into());
    version.insert("raw".into(), raw.into());
    version
}

impl TaskType for PostgresqlPing {
    const COLLECTION: Option<&'static str> = Some("community.postgresql");

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let login = self.login(self.login_db.as_deref(), None);
        let mut outcome = Outcome::ok()
            .with("is_available", false)
            .with("server_version", Json::Object(Map::new()))
            .with("conn_err_msg", "");
        match postgresql_login::open(ctx, &login).await {
            Err(reason) => outcome = outcome.with("conn_err_msg", reason),
            Ok((_, session)) => {
                match postgresql_login::rows(&session, "SELECT version()", &[]).await {
                    Ok(rows) => {
                        let raw = rows
                            .first()
                            .and_then(|row| row.get("version"))
                            .and_then(Json::as_str)
                            .unwrap_or("");
                        if !raw.is_empty() {
                            outcome = outcome
                                .with("is_available", true)
                                .with("server_version", Json::Object(server_version(raw)));
                        }
                    }
                    Err(reason) => return Ok(Outcome::failed(reason)),
                }
            }
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions_are_read_from_version_text() {
        let raw = "PostgreSQL 15.14 (Debian 15.14-0+deb12u1) on x86_64-pc-linux-gnu";
        assert_eq!(
            Json::Object(server_version(raw)),
            json!({"major": 15, "minor": 14, "full": "15.14", "raw": raw})
        );
        assert_eq!(
            Json::Object(server_version("PostgreSQL 9.6.24 on x")),
            json!({"major": 9, "minor": 6, "patch": 24, "full": "9.6.24", "raw": "PostgreSQL 9.6.24 on x"})
        );
    }
}
