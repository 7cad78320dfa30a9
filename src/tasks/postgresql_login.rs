//! What the `community.postgresql` modules share: their connection arguments (the
//! collection's `postgres_common_argument_spec`), where they connect from, and how they
//! open a session through quayside's one PostgreSQL client ([`crate::postgres`]).
//!
//! Ansible runs these modules on the task's host, which connects to `login_host:port` as
//! it sees them (psycopg, libpq). quayside runs them on the controller through the host's
//! SSH connection: a forward to `login_host:port` as the host sees them, so `localhost` is
//! the host's own PostgreSQL, as in Ansible. With `ansible_connection: local` (and
//! `delegate_to: localhost`) the controller connects directly. An empty `login_host` is
//! `localhost` over TCP: quayside does not reach the host's Unix socket, so
//! `login_unix_socket` is refused, and so is peer authentication by `become_user`.

use serde::Deserialize;
use serde_json::Value as Json;

use super::TaskContext;
use crate::postgres::{self, Dsn, Login, Session, SqlError};

/// libpq's `sslmode`, as the collection's `ssl_mode` accepts it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    Allow,
    Disable,
    #[default]
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn name(self) -> &'static str {
        match self {
            SslMode::Allow => "allow",
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

pub fn default_user() -> String {
    "postgres".to_owned()
}

pub fn default_port() -> u16 {
    5432
}

pub fn yes() -> bool {
    true
}

/// A module's argument struct: its own fields, then the collection's connection arguments
/// (`login_user`/`login`, `login_password`, `login_host`/`host`, `port`/`login_port`,
/// `ssl_mode`, `ca_cert`/`ssl_rootcert`, `ssl_cert`, `ssl_key`, `trust_input`).
/// `login_unix_socket`, `connect_params` and `session_role` are not among them, so
/// they are refused where written.
macro_rules! postgresql_module {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fmeta])* $field: $ty,)*
            #[serde(default = "crate::tasks::postgresql_login::default_user", alias = "login")]
            login_user: String,
            #[serde(default)]
            login_password: Option<String>,
            #[serde(default, alias = "host")]
            login_host: Option<String>,
            #[serde(default = "crate::tasks::postgresql_login::default_port", alias = "login_port")]
            port: u16,
            #[serde(default)]
            ssl_mode: crate::tasks::postgresql_login::SslMode,
            #[serde(default, alias = "ssl_rootcert")]
            ca_cert: Option<String>,
            #[serde(default)]
            ssl_cert: Option<String>,
            #[serde(default)]
            ssl_key: Option<String>,
            /// quayside quotes every name and value it writes into SQL itself, so input
            /// cannot inject SQL whatever this says (the collection's check of input it
            /// does not quote is not needed).
            #[serde(default = "crate::tasks::postgresql_login::yes")]
            #[allow(dead_code)]
            trust_input: bool,
        }

        impl $name {
            /// The connection its arguments describe, into `database`.
            fn login(&self, database: Option<&str>, encoding: Option<&str>) -> crate::postgres::Login {
                crate::tasks::postgresql_login::login(
                    crate::tasks::postgresql_login::LoginArgs {
                        user: &self.login_user,
                        password: self.login_password.as_deref(),
                        host: self.login_host.as_deref(),
                        port: self.port,
                        ssl_mode: self.ssl_mode,
                        ca_cert: self.ca_cert.as_deref(),
                        ssl_cert: self.ssl_cert.as_deref(),
                        ssl_key: self.ssl_key.as_deref(),
                    },
                    database,
                    encoding,
                )
            }
        }
    };
}

pub(crate) use postgresql_module;

/// The connection arguments as written.
pub struct LoginArgs<'a> {
    pub user: &'a str,
    pub password: Option<&'a str>,
    pub host: Option<&'a str>,
    pub port: u16,
    pub ssl_mode: SslMode,
    pub ca_cert: Option<&'a str>,
    pub ssl_cert: Option<&'a str>,
    pub ssl_key: Option<&'a str>,
}

pub fn login(args: LoginArgs<'_>, database: Option<&str>, encoding: Option<&str>) -> Login {
    let non_empty = |value: Option<&str>| value.filter(|v| !v.is_empty()).map(str::to_owned);
    Login {
        host: non_empty(args.host).unwrap_or_else(|| "localhost".to_owned()),
        port: args.port,
        user: args.user.to_owned(),
        password: non_empty(args.password),
        database: non_empty(database),
        ssl_mode: args.ssl_mode.name().to_owned(),
        ca_cert: non_empty(args.ca_cert),
        ssl_cert: non_empty(args.ssl_cert),
        ssl_key: non_empty(args.ssl_key),
        encoding: non_empty(encoding),
    }
}

/// A `login_host` that names a Unix socket directory, which quayside cannot reach.
pub fn check_host(host: Option<&str>) -> Result<(), String> {
    match host {
        Some(host) if host.starts_with('/') => Err(format!(
            "`login_host` `{host}` is a Unix socket directory: quayside connects over TCP only (give the host's address, such as `localhost`)"
        )),
        _ => Ok(()),
    }
}

/// Open a session as the module would on the task's host, failing as the collection does
/// ("unable to connect to database: ...") with any password masked.
pub async fn connect(ctx: &TaskContext<'_>, login: &Login) -> Result<(Dsn, Session), String> {
    open(ctx, login)
        .await
        .map_err(|reason| format!("unable to connect to database: {reason}"))
}

/// Open a session, or say why not (password masked).
pub async fn open(ctx: &TaskContext<'_>, login: &Login) -> Result<(Dsn, Session), String> {
    check_host(Some(&login.host))?;
    let dsn = Dsn::from_login(login).map_err(|e| e.to_string())?;
    match postgres::connect_on_host(&dsn, ctx.connection, ctx.timeout).await {
        Ok(session) => Ok((dsn, session)),
        Err(SqlError::Connect { reason, .. }) => Err(dsn.redact(&reason)),
        Err(error) => Err(dsn.redact(&error.to_string())),
    }
}

/// One query with `$N` parameters, its rows as JSON objects.
pub async fn rows(
    session: &Session,
    query: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<serde_json::Map<String, Json>>, String> {
    let rows = session
        .client
        .query(query, params)
        .await
        .map_err(|e| postgres::describe(&e))?;
    rows.iter().map(postgres::row_to_json).collect()
}

/// Run a statement that takes no parameters.
pub async fn execute(session: &Session, statement: &str) -> Result<(), String> {
    session
        .client
        .batch_execute(statement)
        .await
        .map_err(|e| postgres::describe(&e))
}

/// A value as Python writes it (`repr`), for messages the collection formats with `%s`.
pub fn python_repr(value: &Json) -> String {
    match value {
        Json::Null => "None".to_owned(),
        Json::Bool(true) => "True".to_owned(),
        Json::Bool(false) => "False".to_owned(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Json::Array(items) => format!(
            "[{}]",
            items.iter().map(python_repr).collect::<Vec<_>>().join(", ")
        ),
        Json::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("'{k}': {}", python_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_repr_writes_what_python_prints() {
        assert_eq!(
            python_repr(&json!(["a'b", 1, null, true, {"k": [false]}])),
            r#"['a\'b', 1, None, True, {'k': [False]}]"#
        );
    }

    #[test]
    fn socket_directories_are_refused() {
        assert!(check_host(Some("/var/run/postgresql")).is_err());
        assert!(check_host(Some("db.example")).is_ok());
    }
}
