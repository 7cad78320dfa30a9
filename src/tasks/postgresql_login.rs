//! What the `community.postgresql` modules share: their connection arguments (the
//! collection's `postgres_common_argument_spec`), where they connect from, and how they
//! open a session through quayside's one PostgreSQL client ([`crate::postgres`]).
//!
//! Ansible runs these modules on the task's host, which connects to `login_host:port` as
//! it sees them (psycopg, libpq). quayside runs them on the controller through the host's
//! SSH connection: a forward to `login_host:port` as the host sees them, so `localhost` is
//! the host's own PostgreSQL, as in Ansible. With no `login_host` (or `localhost` and a
//! `login_unix_socket`) it is the host's Unix socket, `/var/run/postgresql/.s.PGSQL.PORT`
//! by default, as libpq's; the forward reaches it as the SSH user, so a server that
//! authenticates socket connections by peer sees that user, not `become_user`. With
//! `ansible_connection: local` (and `delegate_to: localhost`) the controller connects
//! directly, as quayside itself.

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

/// A module's argument struct: its own fields, then the collection's connection arguments
/// (`login_user`/`login`, `login_password`, `login_host`/`host`, `port`/`login_port`,
/// `ssl_mode`, `ca_cert`/`ssl_rootcert`, `ssl_cert`, `ssl_key`, `trust_input`).
/// `login_unix_socket`/`unix_socket`. `connect_params` and `session_role` are not among
/// them, so they are refused where written.
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
            #[serde(default, alias = "unix_socket")]
            login_unix_socket: Option<String>,
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
            #[serde(default = "crate::tasks::args::yes")]
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
                        unix_socket: self.login_unix_socket.as_deref(),
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
    pub unix_socket: Option<&'a str>,
    pub port: u16,
    pub ssl_mode: SslMode,
    pub ca_cert: Option<&'a str>,
    pub ssl_cert: Option<&'a str>,
    pub ssl_key: Option<&'a str>,
}

/// Where libpq looks for the server's socket when no host is given.
const DEFAULT_SOCKET_DIRECTORY: &str = "/var/run/postgresql";

pub fn login(args: LoginArgs<'_>, database: Option<&str>, encoding: Option<&str>) -> Login {
    let non_empty = |value: Option<&str>| value.filter(|v| !v.is_empty()).map(str::to_owned);
    // As the collection: `login_unix_socket` stands for an empty or `localhost` host; an
    // empty host with no socket is libpq's default socket directory (Debian's and Red Hat's).
    let host = match (non_empty(args.host), non_empty(args.unix_socket)) {
        (None, Some(socket)) => socket,
        (Some(host), Some(socket)) if host == "localhost" => socket,
        (Some(host), _) => host,
        (None, None) => DEFAULT_SOCKET_DIRECTORY.to_owned(),
    };
    Login {
        host,
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

/// Open a session as the module would on the task's host, failing as the collection does
/// ("unable to connect to database: ...") with any password masked.
pub async fn connect(ctx: &TaskContext<'_>, login: &Login) -> Result<(Dsn, Session), String> {
    open(ctx, login)
        .await
        .map_err(|reason| format!("unable to connect to database: {reason}"))
}

/// Open a session, or say why not (password masked).
pub async fn open(ctx: &TaskContext<'_>, login: &Login) -> Result<(Dsn, Session), String> {
    let dsn = Dsn::from_login(login).map_err(|e| e.to_string())?;
    match postgres::connect_on_host(&dsn, ctx.connection, ctx.timeout).await {
        Ok(session) => Ok((dsn, session)),
        // libpq's words for the commonest failure, as psycopg reports it.
        Err(SqlError::Connect { reason, .. }) if reason.contains("Connection refused") => {
            Err(format!(
                "connection to server at \"{}\", port {} failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?\n",
                login.host, login.port
            ))
        }
        // libpq's words for a socket that is not there.
        Err(SqlError::Connect { reason, .. })
            if login.host.starts_with('/')
                && ctx.connection.is_local()
                && reason.contains("No such file or directory") =>
        {
            Err(format!(
                "connection to server on socket \"{}/.s.PGSQL.{}\" failed: No such file or directory\n\tIs the server running locally and accepting connections on that socket?\n",
                login.host.trim_end_matches('/'),
                login.port
            ))
        }
        // Through a forward, a socket that is missing (or not to be reached) shows as the
        // connection being closed at once.
        Err(SqlError::Connect { reason, .. })
            if login.host.starts_with('/') && !ctx.connection.is_local() =>
        {
            Err(format!(
                "connection to server on socket \"{}/.s.PGSQL.{}\" failed: {} (no server listening on that socket on `{}`, or the SSH user may not reach it)",
                login.host.trim_end_matches('/'),
                login.port,
                dsn.redact(&reason),
                ctx.host
            ))
        }
        Err(SqlError::Connect { reason, .. })
            if reason.contains("server does not support TLS") && !login.host.starts_with('/') =>
        {
            Err(format!(
                "connection to server at \"{}\", port {} failed: server does not support SSL, but SSL was required\n",
                login.host, login.port
            ))
        }
        // The server refused the session (`FATAL: password authentication failed ...`).
        Err(SqlError::Connect { reason, .. }) if reason.starts_with("FATAL: ") => {
            let place = if login.host.starts_with('/') {
                format!(
                    "on socket \"{}/.s.PGSQL.{}\"",
                    login.host.trim_end_matches('/'),
                    login.port
                )
            } else {
                format!("at \"{}\", port {}", login.host, login.port)
            };
            Err(format!(
                "connection to server {place} failed: FATAL:  {}\n",
                dsn.redact(&reason["FATAL: ".len()..])
            ))
        }
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

/// Run statements (several in one text), failing with the server's message as psycopg's
/// error says it: the message and a newline.
pub async fn execute_as_psycopg(session: &Session, statements: &str) -> Result<(), String> {
    session
        .client
        .batch_execute(statements)
        .await
        .map_err(|e| match e.as_db_error() {
            Some(db) => format!("{}\n", db.message()),
            None => postgres::describe(&e),
        })
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

    fn args<'a>(host: Option<&'a str>, unix_socket: Option<&'a str>) -> LoginArgs<'a> {
        LoginArgs {
            user: "postgres",
            password: None,
            host,
            unix_socket,
            port: 5432,
            ssl_mode: SslMode::Prefer,
            ca_cert: None,
            ssl_cert: None,
            ssl_key: None,
        }
    }

    #[test]
    fn the_host_is_chosen_as_the_collection_chooses_it() {
        let host = |h, s| login(args(h, s), None, None).host;
        assert_eq!(host(None, None), "/var/run/postgresql");
        assert_eq!(host(Some(""), Some("/tmp")), "/tmp");
        assert_eq!(host(Some("localhost"), Some("/tmp")), "/tmp");
        assert_eq!(host(Some("127.0.0.1"), Some("/tmp")), "127.0.0.1");
        assert_eq!(host(Some("db"), None), "db");
    }
}
