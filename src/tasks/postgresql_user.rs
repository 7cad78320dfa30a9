//! `postgresql_user` (`community.postgresql.postgresql_user`): a role present with its
//! `password`, `role_attr_flags`, `expires`, `conn_limit` and `comment`, or absent, on the
//! host's PostgreSQL, connecting as [`super::postgresql_login`] says.
//!
//! It decides as the collection does: a password is changed when the stored one does not
//! match (a SCRAM verifier is checked against the password, an MD5 hash compared), flags
//! when a `pg_authid` column differs, `expires` when the timestamp differs, and with
//! `no_password_changes` only the flags are looked at. Everything runs in one transaction,
//! rolled back in check mode. The password is never written into SQL text: quayside sends
//! the SCRAM verifier (or MD5 hash, if the server's `password_encryption` is `md5`) it
//! computes itself, and it is never printed. `register` gets `user`, `queries` (the
//! statements, with the password as the collection shows it, `%(password)s`) and, with
//! `state: absent`, `user_removed`. `encrypted: false` is refused (PostgreSQL 10 and later
//! store no plain passwords); `configuration`, `priv` and `session_role` are refused where
//! written.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use serde::Deserialize;
use serde_json::{Map, Value as Json};

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
    pub struct PostgresqlUser {
        #[serde(alias = "name")]
        user: String,
        #[serde(default)]
        password: Option<String>,
        #[serde(default)]
        state: State,
        #[serde(default, alias = "db")]
        login_db: Option<String>,
        #[serde(default = "crate::tasks::args::yes", alias = "fail_on_role")]
        fail_on_user: bool,
        #[serde(default)]
        role_attr_flags: String,
        #[serde(default = "crate::tasks::args::yes")]
        encrypted: bool,
        #[serde(default)]
        no_password_changes: bool,
        #[serde(default)]
        expires: Option<String>,
        #[serde(default)]
        conn_limit: Option<i64>,
        #[serde(default)]
        comment: Option<String>,
    }
}

/// The role attributes `role_attr_flags` may name, with their `pg_authid` columns.
const FLAGS: &[(&str, &str)] = &[
    ("SUPERUSER", "rolsuper"),
    ("CREATEROLE", "rolcreaterole"),
    ("CREATEDB", "rolcreatedb"),
    ("INHERIT", "rolinherit"),
    ("LOGIN", "rolcanlogin"),
    ("REPLICATION", "rolreplication"),
    ("BYPASSRLS", "rolbypassrls"),
];

/// `role_attr_flags` (`CREATEDB,NOSUPERUSER`) checked and joined with spaces.
fn parse_flags(text: &str) -> Result<Vec<String>, String> {
    let mut flags: Vec<String> = Vec::new();
    let mut invalid = Vec::new();
    for flag in text.split(',').filter(|f| !f.is_empty()) {
        let flag = flag.to_uppercase();
        let base = flag.strip_prefix("NO").unwrap_or(&flag);
        if !FLAGS.iter().any(|(name, _)| *name == base || *name == flag) {
            invalid.push(flag.clone());
        } else if !flags.contains(&flag) {
            flags.push(flag);
        }
    }
    if !invalid.is_empty() {
        return Err(format!(
            "Invalid role_attr_flags specified: {}",
            invalid.join(" ")
        ));
    }
    Ok(flags)
}

/// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, decoded.
fn scram_parts(text: &str) -> Option<(u32, Vec<u8>, Vec<u8>)> {
    let rest = text.strip_prefix("SCRAM-SHA-256$")?;
    let (head, keys) = rest.split_once('$')?;
    let (iterations, salt) = head.split_once(':')?;
    let (stored, server) = keys.split_once(':')?;
    let iterations = iterations.parse().ok()?;
    let salt = BASE64.decode(salt).ok()?;
    BASE64.decode(stored).ok()?;
    let server = BASE64.decode(server).ok()?;
    Some((iterations, salt, server))
}

fn hmac(key: &[u8], data: &[u8]) -> Result<Vec<u8>, String> {
    let key = PKey::hmac(key).map_err(|e| e.to_string())?;
    let mut signer = Signer::new(MessageDigest::sha256(), &key).map_err(|e| e.to_string())?;
    signer.update(data).map_err(|e| e.to_string())?;
    signer.sign_to_vec().map_err(|e| e.to_string())
}

fn salted(password: &str, salt: &[u8], iterations: u32) -> Result<Vec<u8>, String> {
    let mut out = vec![0u8; 32];
    openssl::pkcs5::pbkdf2_hmac(
        password.as_bytes(),
        salt,
        iterations as usize,
        MessageDigest::sha256(),
        &mut out,
    )
    .map_err(|e| e.to_string())?;
    Ok(out)
}

/// Whether `password` is the one a SCRAM verifier was made from (its server key).
fn scram_matches(verifier: &str, password: &str) -> bool {
    let Some((iterations, salt, server_key)) = scram_parts(verifier) else {
        return false;
    };
    salted(password, &salt, iterations)
        .and_then(|key| hmac(&key, b"Server Key"))
        .is_ok_and(|key| key == server_key)
}

/// A new SCRAM-SHA-256 verifier for `password`, as libpq's `PQencryptPasswordConn` makes.
fn scram_verifier(password: &str) -> Result<String, String> {
    const ITERATIONS: u32 = 4096;
    let mut salt = [0u8; 16];
    openssl::rand::rand_bytes(&mut salt).map_err(|e| e.to_string())?;
    let key = salted(password, &salt, ITERATIONS)?;
    let client = hmac(&key, b"Client Key")?;
    let stored = openssl::sha::sha256(&client);
    let server = hmac(&key, b"Server Key")?;
    Ok(format!(
        "SCRAM-SHA-256${ITERATIONS}:{}${}:{}",
        BASE64.encode(salt),
        BASE64.encode(stored),
        BASE64.encode(server)
    ))
}

fn md5_password(password: &str, user: &str) -> Result<String, String> {
    let digest = openssl::hash::hash(MessageDigest::md5(), format!("{password}{user}").as_bytes())
        .map_err(|e| e.to_string())?;
    Ok(format!("md5{}", hex::encode(digest)))
}

fn is_md5(password: &str) -> bool {
    password.starts_with("md5") && password.len() == 35
}

/// One statement as the collection records it, and as quayside runs it.
struct Statement {
    shown: String,
    run: String,
}

struct Work<'a> {
    task: &'a PostgresqlUser,
    session: &'a Session,
    queries: Vec<String>,
}

impl Work<'_> {
    async fn execute(&mut self, statement: Statement) -> Result<(), String> {
        postgresql_login::execute(self.session, &statement.run).await?;
        self.queries.push(statement.shown);
        Ok(())
    }

    async fn first_row(
        &self,
        query: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Option<Map<String, Json>>, String> {
        Ok(postgresql_login::rows(self.session, query, params)
            .await?
            .into_iter()
            .next())
    }

    /// The password as it is sent: a hash the server stores as it is.
    async fn stored_form(&self, password: &str) -> Result<String, String> {
        if scram_parts(password).is_some() || is_md5(password) {
            return Ok(password.to_owned());
        }
        match self.encryption().await?.as_str() {
            "md5" => md5_password(password, &self.task.user),
            _ => scram_verifier(password),
        }
    }

    async fn encryption(&self) -> Result<String, String> {
        Ok(self
            .first_row("SHOW password_encryption", &[])
            .await?
            .and_then(|row| {
                row.get("password_encryption")
                    .and_then(Json::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_default())
    }

    /// The role's `pg_authid` row (its `pg_roles` row where `pg_authid` cannot be read).
    async fn attributes(&self) -> Result<Option<Map<String, Json>>, String> {
        let user = self.task.user.as_str();
        let columns = "rolsuper, rolcreaterole, rolcreatedb, rolinherit, rolcanlogin, \
             rolreplication, rolbypassrls, rolconnlimit::int8 AS rolconnlimit, rolpassword::text AS rolpassword";
        match self
            .first_row(
                &format!("SELECT {columns} FROM pg_authid WHERE rolname = $1"),
                &[&user],
            )
            .await
        {
            Ok(row) => Ok(row),
            Err(_) => {
                self.first_row(
                    &format!("SELECT {columns} FROM pg_roles WHERE rolname = $1"),
                    &[&user],
                )
                .await
            }
        }
    }

    async fn password_changes(
        &self,
        current: &Map<String, Json>,
        password: &str,
    ) -> Result<bool, String> {
        let stored = current.get("rolpassword").and_then(Json::as_str);
        Ok(if password.is_empty() {
            stored.is_some()
        } else if scram_parts(password).is_some() || is_md5(password) {
            stored != Some(password)
        } else if let Some(verifier) = stored.filter(|s| scram_parts(s).is_some()) {
            !scram_matches(verifier, password)
        } else if self.encryption().await? == "md5" {
            stored != Some(md5_password(password, &self.task.user)?.as_str())
        } else {
            true
        })
    }

    async fn expires_changes(&self, expires: &str) -> Result<bool, String> {
        let user = self.task.user.as_str();
        let row = self
            .first_row(
                "SELECT $1::text::timestamptz IS DISTINCT FROM rolvaliduntil AS differs FROM pg_roles WHERE rolname = $2",
                &[&expires, &user],
            )
            .await?;
        Ok(row
            .and_then(|row| row.get("differs").and_then(Json::as_bool))
            .unwrap_or(true))
    }

    fn flags_change(flags: &[String], current: &Map<String, Json>) -> bool {
        flags.iter().any(|flag| {
            let (name, wanted) = match flag.strip_prefix("NO") {
                Some(name) if FLAGS.iter().any(|(n, _)| *n == name) => (name, false),
                _ => (flag.as_str(), true),
            };
            let column = FLAGS.iter().find(|(n, _)| *n == name).map(|(_, c)| *c);
            column.and_then(|c| current.get(c)).and_then(Json::as_bool) != Some(wanted)
        })
    }

    /// `VALID UNTIL` and `CONNECTION LIMIT`, shown and run.
    fn tail(&self, shown: &mut Vec<String>, run: &mut Vec<String>) {
        if let Some(expires) = &self.task.expires {
            shown.push("VALID UNTIL %(expires)s".to_owned());
            run.push(format!("VALID UNTIL {}", quote_literal(expires)));
        }
        if let Some(limit) = self.task.conn_limit {
            shown.push(format!("CONNECTION LIMIT {limit}"));
            run.push(format!("CONNECTION LIMIT {limit}"));
        }
    }

    async fn add(&mut self, flags: &str) -> Result<bool, String> {
        let user = quote_name(&self.task.user);
        let mut shown = vec![format!("CREATE USER {user}")];
        let mut run = shown.clone();
        if let Some(password) = self.task.password.as_deref().filter(|p| !p.is_empty()) {
            shown.push("WITH ENCRYPTED PASSWORD %(password)s".to_owned());
            let stored = self.stored_form(password).await?;
            run.push(format!(
                "WITH ENCRYPTED PASSWORD {}",
                quote_literal(&stored)
            ));
        }
        self.tail(&mut shown, &mut run);
        shown.push(flags.to_owned());
        run.push(flags.to_owned());
        self.execute(Statement {
            shown: shown.join(" "),
            run: run.join(" "),
        })
        .await
        .map_err(|e| format!("Unable to add user with given requirement due to : {e}"))?;
        Ok(true)
    }

    async fn alter(&mut self, flags: &[String]) -> Result<bool, String> {
        let task = self.task;
        let joined = flags.join(" ");
        let user = quote_name(&task.user);
        if !task.no_password_changes
            && (task.password.is_some()
                || !flags.is_empty()
                || task.expires.is_some()
                || task.conn_limit.is_some())
        {
            let Some(current) = self.attributes().await? else {
                return Ok(false);
            };
            let password_changes = match &task.password {
                Some(password) => self.password_changes(&current, password).await?,
                None => false,
            };
            let flags_change = Self::flags_change(flags, &current);
            let expires_change = match &task.expires {
                Some(expires) => self.expires_changes(expires).await?,
                None => false,
            };
            let limit_changes = task.conn_limit.is_some_and(|limit| {
                current.get("rolconnlimit").and_then(Json::as_i64) != Some(limit)
            });
            if !password_changes && !flags_change && !expires_change && !limit_changes {
                return Ok(false);
            }
            let mut shown = vec![format!("ALTER USER {user}")];
            let mut run = shown.clone();
            if password_changes {
                match task.password.as_deref() {
                    Some(password) if !password.is_empty() => {
                        shown.push("WITH ENCRYPTED PASSWORD %(password)s".to_owned());
                        let stored = self.stored_form(password).await?;
                        run.push(format!(
                            "WITH ENCRYPTED PASSWORD {}",
                            quote_literal(&stored)
                        ));
                    }
                    _ => {
                        shown.push("WITH PASSWORD NULL".to_owned());
                        run.push("WITH PASSWORD NULL".to_owned());
                    }
                }
                shown.push(joined.clone());
                run.push(joined.clone());
            } else if !flags.is_empty() {
                shown.push(format!("WITH {joined}"));
                run.push(format!("WITH {joined}"));
            }
            self.tail(&mut shown, &mut run);
            self.execute(Statement {
                shown: shown.join(" "),
                run: run.join(" "),
            })
            .await?;
            Ok(true)
        } else if task.no_password_changes && !flags.is_empty() {
            let Some(before) = self.attributes().await? else {
                return Ok(false);
            };
            if !Self::flags_change(flags, &before) {
                return Ok(false);
            }
            let statement = format!("ALTER USER {user} WITH {joined}");
            self.execute(Statement {
                shown: statement.clone(),
                run: statement,
            })
            .await?;
            Ok(self.attributes().await? != Some(before))
        } else {
            Ok(false)
        }
    }

    async fn comment(&mut self, comment: &str) -> Result<bool, String> {
        let user = self.task.user.as_str();
        let current = self
            .first_row(
                "SELECT coalesce(shobj_description(oid, 'pg_authid'), '') AS comment FROM pg_roles WHERE rolname = $1",
                &[&user],
            )
            .await?
            .and_then(|row| row.get("comment").and_then(Json::as_str).map(str::to_owned))
            .unwrap_or_default();
        if current == comment {
            return Ok(false);
        }
        let statement = format!(
            "COMMENT ON ROLE {} IS {}",
            quote_name(user),
            quote_literal(comment)
        );
        self.execute(Statement {
            shown: statement.clone(),
            run: statement,
        })
        .await
        .map_err(|e| format!("Unable to add comment on role: {e}"))?;
        Ok(true)
    }

    async fn exists(&self) -> Result<bool, String> {
        if self.task.user == "PUBLIC" {
            return Ok(true);
        }
        let user = self.task.user.as_str();
        Ok(self
            .first_row("SELECT rolname FROM pg_roles WHERE rolname = $1", &[&user])
            .await?
            .is_some())
    }
}

impl TaskType for PostgresqlUser {
    const COLLECTION: Option<&'static str> = Some("community.postgresql");

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        if !self.encrypted && self.password.as_deref().is_some_and(|p| !p.is_empty()) {
            return Ok(Outcome::failed(
                "`encrypted: false` is not supported: PostgreSQL 10 and later store no unencrypted passwords",
            ));
        }
        let flags = match parse_flags(&self.role_attr_flags) {
            Ok(flags) => flags,
            Err(message) => return Ok(Outcome::failed(message)),
        };
        if self.user == "PUBLIC" && self.state == State::Present {
            if self.password.is_some() {
                return Ok(Outcome::failed(
                    "cannot change the password for PUBLIC user",
                ));
            }
            if !flags.is_empty() {
                return Ok(Outcome::failed(
                    "cannot change the role_attr_flags for PUBLIC user",
                ));
            }
        }
        let login = self.login(self.login_db.as_deref(), None);
        let (dsn, session) = match postgresql_login::connect(ctx, &login).await {
            Ok(opened) => opened,
            Err(message) => return Ok(Outcome::failed(message)),
        };
        let mut work = Work {
            task: self,
            session: &session,
            queries: Vec::new(),
        };
        let mut removed = None;
        let result = async {
            postgresql_login::execute(&session, "BEGIN").await?;
            let exists = work.exists().await?;
            let mut changed = false;
            match self.state {
                State::Present => {
                    changed = if exists {
                        if self.user == "PUBLIC" {
                            false
                        } else {
                            work.alter(&flags).await?
                        }
                    } else {
                        work.add(&flags.join(" ")).await?
                    };
                    if let Some(comment) = &self.comment {
                        changed = work.comment(comment).await? || changed;
                    }
                }
                State::Absent if exists => {
                    if ctx.check {
                        changed = true;
                        removed = Some(true);
                    } else {
                        postgresql_login::execute(&session, "SAVEPOINT ansible_pgsql_user_delete")
                            .await?;
                        let statement = format!("DROP USER {}", quote_name(&self.user));
                        work.queries.push(statement.clone());
                        let dropped = postgresql_login::execute(&session, &statement)
                            .await
                            .is_ok();
                        if !dropped {
                            postgresql_login::execute(
                                &session,
                                "ROLLBACK TO SAVEPOINT ansible_pgsql_user_delete",
                            )
                            .await?;
                        }
                        postgresql_login::execute(
                            &session,
                            "RELEASE SAVEPOINT ansible_pgsql_user_delete",
                        )
                        .await?;
                        removed = Some(dropped);
                        changed = dropped;
                        if self.fail_on_user && !dropped {
                            return Err("Unable to remove user".to_owned());
                        }
                    }
                }
                State::Absent => {}
            }
            let end = if ctx.check { "ROLLBACK" } else { "COMMIT" };
            postgresql_login::execute(&session, end).await?;
            Ok::<_, String>(changed)
        }
        .await;
        let changed = match result {
            Ok(changed) => changed,
            Err(message) => return Ok(Outcome::failed(dsn.redact(&message))),
        };
        let mut outcome = if changed {
            Outcome::changed()
        } else {
            Outcome::ok()
        };
        outcome = outcome.with("user", self.user.clone()).with(
            "queries",
            Json::Array(work.queries.iter().cloned().map(Json::String).collect()),
        );
        if let Some(removed) = removed {
            outcome = outcome.with("user_removed", removed);
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_checked() {
        assert_eq!(
            parse_flags("createdb,NOSUPERUSER,createdb").unwrap(),
            vec!["CREATEDB", "NOSUPERUSER"]
        );
        assert_eq!(
            parse_flags("CREATEDB,FLY").unwrap_err(),
            "Invalid role_attr_flags specified: FLY"
        );
        assert!(parse_flags("").unwrap().is_empty());
    }

    #[test]
    fn scram_verifiers_check_their_password() {
        let verifier = scram_verifier("s3cret").unwrap();
        assert!(verifier.starts_with("SCRAM-SHA-256$4096:"));
        assert!(scram_matches(&verifier, "s3cret"));
        assert!(!scram_matches(&verifier, "s3cret!"));
    }

    #[test]
    fn md5_passwords_are_postgresqls() {
        // `SELECT 'md5' || md5('secret' || 'bob')`
        assert_eq!(
            md5_password("secret", "bob").unwrap(),
            "md521f3163f8f86fa10bdefbfbd502a8f06"
        );
        assert!(is_md5(&md5_password("x", "y").unwrap()));
    }
}
