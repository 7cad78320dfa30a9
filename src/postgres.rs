//! The PostgreSQL client of the `sql` and `sql_insert` task types and of the
//! `community.postgresql` modules (`postgresql_*`): reading a DSN or a module's `login_*`
//! arguments (and masking the password), connecting from the controller (through another
//! host with `via`, or through the task's host as Ansible's modules do) with the TLS that
//! `sslmode` asks for, binding YAML values as typed parameters, and reading result rows
//! back as JSON.
//!
//! The DSN is a URL as Quay's `DB_URI` writes it,
//! `postgresql://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=require` (`postgres://` and
//! SQLAlchemy's `postgresql+psycopg2://` work too), or a libpq `key=value` string.
//! `sslmode` means what it means to libpq (and so to Quay):
//!
//! | `sslmode`           | TLS                          | server certificate checked    |
//! |---------------------|------------------------------|-------------------------------|
//! | `disable`           | never                        | -                             |
//! | `allow`, `prefer`   | if the server offers it      | no                            |
//! | `require`           | always                       | no (yes with `sslrootcert`)   |
//! | `verify-ca`         | always                       | chain                         |
//! | `verify-full`       | always                       | chain and host name           |
//!
//! `sslrootcert`, `sslcert` and `sslkey` name PEM files on the controller. With no
//! `sslmode` the default is `prefer`, as in libpq.
//!
//! Values are always sent as bound parameters, converted to the type PostgreSQL expects
//! for each parameter (see [`bind`]): strings become timestamps for `timestamp` columns,
//! numbers for `integer` columns, and so on. Nothing a user writes is spliced into SQL
//! text, except identifiers that [`quote_identifier`] checked.

use std::error::Error as StdError;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat, Utc};
use futures::StreamExt;
use openssl::ssl::{SslConnector, SslFiletype, SslMethod, SslVerifyMode};
use postgres_openssl::MakeTlsConnector;
use serde_json::{Map, Number, Value as Json};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_postgres::error::DbError;
use tokio_postgres::types::{FromSql, IsNull, Kind, ToSql, Type, to_sql_checked};
use tokio_postgres::{AsyncMessage, Client, Config, Row};

/// What stands in for a password wherever a DSN is shown.
pub const MASK: &str = "********";

/// How long a connection may take when the task sets no `timeout`.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a database task could not do its work. Every text in here has had the DSN's
/// password masked.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error("invalid `dsn` `{dsn}`: {reason}")]
    Dsn { dsn: String, reason: String },
    #[error("cannot reach `{target}` through `{via}`: {reason}")]
    Via {
        via: String,
        target: String,
        reason: String,
    },
    #[error("cannot connect to `{dsn}`: {reason}")]
    Connect { dsn: String, reason: String },
    #[error("no answer from `{dsn}` within {seconds} s")]
    Timeout { dsn: String, seconds: u64 },
    #[error("{what}: {reason}")]
    Statement { what: String, reason: String },
}

/// The DSN with any password replaced by `********`, in URL or `key=value` form.
pub fn mask_dsn(dsn: &str) -> String {
    let mut masked = dsn.to_owned();
    for (start, end) in password_ranges(dsn).into_iter().rev() {
        masked.replace_range(start..end, MASK);
    }
    masked
}

/// The byte ranges of the passwords in a DSN: the URL's user info after the first `:`,
/// and every `password=` value (URL query or `key=value` form).
fn password_ranges(dsn: &str) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    if let Some(scheme_end) = dsn.find("://") {
        let rest_start = scheme_end + 3;
        let rest = &dsn[rest_start..];
        // The last `@` ends the user info: an unencoded `@` in a password stays masked.
        if let Some(at) = rest.rfind('@') {
            if let Some(colon) = rest[..at].find(':') {
                ranges.push((rest_start + colon + 1, rest_start + at));
            }
        }
        if let Some(query) = dsn.find('?') {
            let mut offset = query + 1;
            for pair in dsn[query + 1..].split('&') {
                if let Some(value) = pair.strip_prefix("password=") {
                    let start = offset + "password=".len();
                    ranges.push((start, start + value.len()));
                }
                offset += pair.len() + 1;
            }
        }
    } else {
        let bytes = dsn.as_bytes();
        let mut search = 0;
        while let Some(found) = dsn[search..].find("password") {
            let key_start = search + found;
            search = key_start + "password".len();
            let boundary = key_start == 0 || bytes[key_start - 1].is_ascii_whitespace();
            let mut i = search;
            while i < bytes.len() && bytes[i] == b' ' {
                i += 1;
            }
            if !boundary || bytes.get(i) != Some(&b'=') {
                continue;
            }
            i += 1;
            while i < bytes.len() && bytes[i] == b' ' {
                i += 1;
            }
            let start = i;
            if bytes.get(i) == Some(&b'\'') {
                i += 1;
                while i < bytes.len() && bytes[i] != b'\'' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(bytes.len());
            } else {
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
            }
            ranges.push((start, i));
            search = i;
        }
    }
    ranges.sort_unstable();
    ranges.dedup();
    ranges
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 3 <= bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(byte) = u8::from_str_radix(hex, 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// libpq's `sslmode`, all of it (tokio-postgres knows only three of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

#[derive(Debug, Clone)]
struct Tls {
    mode: SslMode,
    root_cert: Option<PathBuf>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
}

/// A parsed DSN that knows how to hide its password.
#[derive(Debug, Clone)]
pub struct Dsn {
    config: Config,
    tls: Tls,
    masked: String,
    secrets: Vec<String>,
}

impl Dsn {
    pub fn parse(raw: &str) -> Result<Dsn, SqlError> {
        let masked = mask_dsn(raw);
        let mut secrets: Vec<String> = Vec::new();
        for (start, end) in password_ranges(raw) {
            let secret = &raw[start..end];
            secrets.push(secret.to_owned());
            secrets.push(percent_decode(secret));
            let unquoted = secret.trim_matches('\'');
            secrets.push(unquoted.replace("\\'", "'").replace("\\\\", "\\"));
        }
        secrets.retain(|s| !s.is_empty());
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        let invalid = |reason: String| SqlError::Dsn {
            dsn: masked.clone(),
            reason: redact_with(&reason, raw, &masked, &secrets),
        };

        let mut tls = Tls {
            mode: SslMode::Prefer,
            root_cert: None,
            cert: None,
            key: None,
        };
        let mut set = |key: &str, value: &str| -> Result<bool, String> {
            match key {
                "sslmode" => {
                    tls.mode = match value {
                        "disable" => SslMode::Disable,
                        "allow" | "prefer" => SslMode::Prefer,
                        "require" => SslMode::Require,
                        "verify-ca" => SslMode::VerifyCa,
                        "verify-full" => SslMode::VerifyFull,
                        other => {
                            return Err(format!(
                                "unknown `sslmode` `{other}` (expected `disable`, `allow`, `prefer`, `require`, `verify-ca` or `verify-full`)"
                            ));
                        }
                    }
                }
                "sslrootcert" => tls.root_cert = Some(PathBuf::from(value)),
                "sslcert" => tls.cert = Some(PathBuf::from(value)),
                "sslkey" => tls.key = Some(PathBuf::from(value)),
                _ => return Ok(false),
            }
            Ok(true)
        };

        let text = if let Some(scheme_end) = raw.find("://") {
            let scheme = &raw[..scheme_end];
            let base = scheme.split('+').next().unwrap_or(scheme);
            if base != "postgresql" && base != "postgres" {
                return Err(invalid(format!(
                    "the scheme must be `postgresql://` or `postgres://`, found `{scheme}://`"
                )));
            }
            let rest = &raw[scheme_end..];
            let (before, query) = match rest.split_once('?') {
                Some((before, query)) => (before, Some(query)),
                None => (rest, None),
            };
            let mut kept = Vec::new();
            for pair in query.into_iter().flat_map(|q| q.split('&')) {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                if !set(key, &percent_decode(value)).map_err(&invalid)? {
                    kept.push(pair);
                }
            }
            let mut text = format!("postgresql{before}");
            if !kept.is_empty() {
                text.push('?');
                text.push_str(&kept.join("&"));
            }
            text
        } else {
            // The `key=value` form goes to tokio-postgres as written, but for the TLS keys
            // it does not know; their values hold no spaces or quotes in practice.
            let mut kept = Vec::new();
            for word in raw.split_whitespace() {
                let handled = match word.split_once('=') {
                    Some((key, value)) if !value.starts_with('\'') => {
                        set(key, value).map_err(&invalid)?
                    }
                    _ => false,
                };
                if !handled {
                    kept.push(word);
                }
            }
            kept.join(" ")
        };
        let mut config = Config::from_str(&text).map_err(|e| invalid(with_sources(&e)))?;
        config.ssl_mode(match tls.mode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            _ => tokio_postgres::config::SslMode::Require,
        });
        if config.get_hosts().is_empty() {
            return Err(invalid("it names no host".into()));
        }
        Ok(Dsn {
            config,
            tls,
            masked,
            secrets,
        })
    }

    /// The DSN as it may be shown: password masked.
    pub fn masked(&self) -> &str {
        &self.masked
    }

    /// `text` with the password masked wherever it appears.
    pub fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in &self.secrets {
            text = text.replace(secret.as_str(), MASK);
        }
        text
    }

    /// The database's host and port, for a tunnel.
    fn target(&self) -> (String, u16) {
        let host = match self.config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
            #[cfg(unix)]
            Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
            None => "localhost".to_owned(),
        };
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        (host, port)
    }
}

/// Where a `community.postgresql` module connects, from its `login_*` arguments, as
/// psycopg hands them to libpq.
#[derive(Debug, Clone)]
pub struct Login {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub database: Option<String>,
    /// libpq's `sslmode`, checked by the module's arguments.
    pub ssl_mode: String,
    pub ca_cert: Option<String>,
    pub ssl_cert: Option<String>,
    pub ssl_key: Option<String>,
    /// `client_encoding`, when set.
    pub encoding: Option<String>,
}

impl Dsn {
    /// The connection a module's `login_*` arguments describe; shown as
    /// `postgresql://USER:********@HOST:PORT/DATABASE`.
    pub fn from_login(login: &Login) -> Result<Dsn, SqlError> {
        let database = login.database.clone().unwrap_or_else(|| login.user.clone());
        let password = login.password.clone().filter(|p| !p.is_empty());
        let masked = format!(
            "postgresql://{}{}@{}:{}/{}",
            login.user,
            if password.is_some() { ":********" } else { "" },
            login.host,
            login.port,
            database
        );
        let mut config = Config::new();
        config
            .host(&login.host)
            .port(login.port)
            .user(&login.user)
            .dbname(&database);
        if let Some(password) = &password {
            config.password(password);
        }
        if let Some(encoding) = &login.encoding {
            config.options(format!("-c client_encoding={encoding}"));
        }
        let mode = match login.ssl_mode.as_str() {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(SqlError::Dsn {
                    dsn: masked,
                    reason: format!("unknown `ssl_mode` `{other}`"),
                });
            }
        };
        config.ssl_mode(match mode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            _ => tokio_postgres::config::SslMode::Require,
        });
        Ok(Dsn {
            config,
            tls: Tls {
                mode,
                root_cert: login.ca_cert.as_ref().map(PathBuf::from),
                cert: login.ssl_cert.as_ref().map(PathBuf::from),
                key: login.ssl_key.as_ref().map(PathBuf::from),
            },
            masked,
            secrets: password.into_iter().collect(),
        })
    }
}

/// Any name double-quoted as a PostgreSQL identifier (a `"` in it doubled): for statements
/// that take no parameters (`CREATE DATABASE`, `CREATE ROLE`...).
pub fn quote_name(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Any text as a PostgreSQL string literal (a `'` in it doubled; sessions run with
/// `standard_conforming_strings` on, so a backslash is itself): for statements that take
/// no parameters.
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn redact_with(text: &str, raw: &str, masked: &str, secrets: &[String]) -> String {
    let mut text = text.replace(raw, masked);
    for secret in secrets {
        text = text.replace(secret.as_str(), MASK);
    }
    text
}

fn tls_connector(tls: &Tls) -> Result<MakeTlsConnector, String> {
    let describe = |what: &str, path: &PathBuf, error: openssl::error::ErrorStack| {
        format!("cannot read {what} `{}`: {error}", path.display())
    };
    let mut builder = SslConnector::builder(SslMethod::tls()).map_err(|e| e.to_string())?;
    // libpq checks the server's certificate with verify-ca, verify-full, and with
    // `require` when a root certificate is given; `prefer` and bare `require` only encrypt.
    let verify = match tls.mode {
        SslMode::VerifyCa | SslMode::VerifyFull => true,
        SslMode::Require => tls.root_cert.is_some(),
        SslMode::Disable | SslMode::Prefer => false,
    };
    if verify {
        if let Some(path) = &tls.root_cert {
            builder
                .set_ca_file(path)
                .map_err(|e| describe("`sslrootcert`", path, e))?;
        }
        builder.set_verify(SslVerifyMode::PEER);
    } else {
        builder.set_verify(SslVerifyMode::NONE);
    }
    if let Some(path) = &tls.cert {
        builder
            .set_certificate_chain_file(path)
            .map_err(|e| describe("`sslcert`", path, e))?;
    }
    if let Some(path) = &tls.key {
        builder
            .set_private_key_file(path, SslFiletype::PEM)
            .map_err(|e| describe("`sslkey`", path, e))?;
    }
    let mut connector = MakeTlsConnector::new(builder.build());
    if tls.mode != SslMode::VerifyFull {
        connector.set_callback(|config, _host| {
            config.set_verify_hostname(false);
            Ok(())
        });
    }
    Ok(connector)
}

/// A local address that reaches the database through another host, when the task asks
/// for one with `via`.
///
/// The SSH transport will forward a local port to `host:port` through the `via` host; until
/// the task context can hand out such a forward, `via` is refused.
async fn tunnel(
    via: &str,
    dsn: &Dsn,
    connections: &dyn crate::transport::Connections,
) -> Result<(IpAddr, u16), SqlError> {
    let (host, port) = dsn.target();
    let failed = |reason: String| SqlError::Via {
        via: via.to_owned(),
        target: format!("{host}:{port}"),
        reason,
    };
    let connection = connections
        .connection(via)
        .await
        .map_err(|error| failed(error.to_string()))?;
    let local = connection
        .forward(&host, port)
        .await
        .map_err(|error| failed(error.to_string()))?;
    Ok((IpAddr::from([127, 0, 0, 1]), local))
}

/// The configuration reaching the first host of `config` at `address:port` instead. The
/// host name stays, for `verify-full` and SNI.
fn tunneled(config: &Config, address: IpAddr, port: u16) -> Config {
    let mut tunneled = Config::new();
    if let Some(host) = config.get_hosts().first() {
        match host {
            tokio_postgres::config::Host::Tcp(host) => tunneled.host(host),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(path) => tunneled.host_path(path),
        };
    }
    tunneled.hostaddr(address).port(port);
    if let Some(user) = config.get_user() {
        tunneled.user(user);
    }
    if let Some(password) = config.get_password() {
        tunneled.password(password);
    }
    if let Some(dbname) = config.get_dbname() {
        tunneled.dbname(dbname);
    }
    if let Some(options) = config.get_options() {
        tunneled.options(options);
    }
    if let Some(name) = config.get_application_name() {
        tunneled.application_name(name);
    }
    if let Some(timeout) = config.get_connect_timeout() {
        tunneled.connect_timeout(*timeout);
    }
    tunneled
        .ssl_mode(config.get_ssl_mode())
        .channel_binding(config.get_channel_binding());
    tunneled
}

/// An open connection to the database, with the notices the server sent on it.
pub struct Session {
    pub client: Client,
    notices: mpsc::UnboundedReceiver<DbError>,
}

impl Session {
    /// The notices received since the last call, oldest first.
    pub fn take_notices(&mut self) -> Vec<DbError> {
        let mut notices = Vec::new();
        while let Ok(notice) = self.notices.try_recv() {
            notices.push(notice);
        }
        notices
    }
}

/// Connect from the controller, through `via` if given. `timeout` bounds the connection
/// (10 s when unset) and every statement of the session.
pub async fn connect(
    dsn: &Dsn,
    via: Option<&str>,
    timeout: Option<Duration>,
    connections: &dyn crate::transport::Connections,
) -> Result<Session, SqlError> {
    let config = match via {
        Some(via) => {
            let (address, port) = tunnel(via, dsn, connections).await?;
            tunneled(&dsn.config, address, port)
        }
        None => dsn.config.clone(),
    };
    open(dsn, config, timeout).await
}

/// Connect from the controller as the task's host would: through a forward of the host's
/// connection to the database's host and port as the host sees them, or directly when the
/// host is the controller (`ansible_connection: local`, `delegate_to: localhost`). This is
/// where Ansible's `community.postgresql` modules connect from: they run on the host.
pub async fn connect_on_host(
    dsn: &Dsn,
    connection: &dyn crate::transport::Connection,
    timeout: Option<Duration>,
) -> Result<Session, SqlError> {
    let config = if connection.is_local() {
        dsn.config.clone()
    } else {
        let (mut host, port) = dsn.target();
        if host.starts_with('/') {
            // A socket directory, as libpq takes it: the socket is a file in it.
            host = format!("{}/.s.PGSQL.{port}", host.trim_end_matches('/'));
        }
        let local = connection
            .forward(&host, port)
            .await
            .map_err(|error| SqlError::Via {
                via: connection.host().to_owned(),
                target: format!("{host}:{port}"),
                reason: error.to_string(),
            })?;
        tunneled(&dsn.config, IpAddr::from([127, 0, 0, 1]), local)
    };
    open(dsn, config, timeout).await
}

/// Open the session `config` describes, `dsn` naming it in errors.
async fn open(
    dsn: &Dsn,
    mut config: Config,
    timeout: Option<Duration>,
) -> Result<Session, SqlError> {
    let connect_timeout = config
        .get_connect_timeout()
        .copied()
        .or(timeout)
        .unwrap_or(DEFAULT_CONNECT_TIMEOUT);
    config.connect_timeout(connect_timeout);
    let failed = |reason: String| SqlError::Connect {
        dsn: dsn.masked().to_owned(),
        reason: dsn.redact(&reason),
    };
    let connector = tls_connector(&dsn.tls).map_err(failed)?;
    let (client, connection) =
        match tokio::time::timeout(connect_timeout, config.connect(connector)).await {
            Ok(Ok(pair)) => pair,
            Ok(Err(error)) => return Err(failed(describe(&error))),
            Err(_) => {
                return Err(SqlError::Timeout {
                    dsn: dsn.masked().to_owned(),
                    seconds: connect_timeout.as_secs(),
                });
            }
        };
    let (sender, notices) = mpsc::unbounded_channel();
    drive(connection, sender);
    let mut setup =
        String::from("SET client_min_messages = notice; SET standard_conforming_strings = on;");
    if let Some(limit) = timeout {
        // The task gives up at `limit` and drops the connection; the server then stops
        // the statement too, a moment later, rather than running it to its end.
        let millis = (limit + Duration::from_secs(1)).as_millis();
        setup.push_str(&format!("SET statement_timeout = {millis};"));
    }
    client
        .batch_execute(&setup)
        .await
        .map_err(|e| failed(describe(&e)))?;
    Ok(Session { client, notices })
}

/// Run the connection on its own task, passing the server's notices on. Notices arrive
/// in protocol order: a statement's notices are sent before its result reaches the client.
fn drive<S, T>(
    mut connection: tokio_postgres::Connection<S, T>,
    notices: mpsc::UnboundedSender<DbError>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(AsyncMessage::Notice(notice)) => {
                    let _ = notices.send(notice);
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
}

/// An error from the server or the connection, in one line: `ERROR: message`, with the
/// server's hint. The server's `DETAIL` is left out: it may quote row values.
pub fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => {
            let mut text = format!("{}: {}", db.severity(), db.message());
            if let Some(hint) = db.hint() {
                text.push_str(&format!(" (hint: {hint})"));
            }
            text
        }
        None => {
            let mut text = with_sources(error);
            // tokio-postgres says "error performing TLS handshake: server does not support
            // TLS"; say which setting asked for TLS.
            if text.contains("TLS") {
                text.push_str(" (`sslmode` in the DSN decides whether TLS is required)");
            }
            text
        }
    }
}

/// An error's text followed by those of its sources: tokio-postgres keeps the cause
/// ("server does not support TLS", "Connection refused") out of its own text.
fn with_sources(error: &dyn StdError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// `name` or `schema.name` checked as plain identifiers and double-quoted.
pub fn quote_identifier(name: &str) -> Result<String, String> {
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() > 2 || parts.iter().any(|part| !is_plain_identifier(part)) {
        return Err(format!(
            "`{name}` is not a plain identifier (`[a-z_][a-z0-9_]*`, at most 63 characters, optionally `schema.name`)"
        ));
    }
    Ok(parts
        .iter()
        .map(|part| format!("\"{part}\""))
        .collect::<Vec<_>>()
        .join("."))
}

fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 63
        && matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A value to bind: a plain YAML value, or one explicitly meant as JSON (`{json: ...}`).
#[derive(Debug, Clone, PartialEq)]
pub enum Bindable {
    Plain(Json),
    Json(Json),
}

/// A parameter converted to the type PostgreSQL asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Null,
    Bool(bool),
    Int2(i16),
    Int4(i32),
    Int8(i64),
    Oid(u32),
    Float4(f32),
    Float8(f64),
    Numeric(String),
    Text(String),
    Timestamp(NaiveDateTime),
    TimestampTz(DateTime<Utc>),
    Date(NaiveDate),
    Time(NaiveTime),
    Uuid([u8; 16]),
    Json(Json),
    Array(Vec<Param>),
}

impl ToSql for Param {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self {
            Param::Null => Ok(IsNull::Yes),
            Param::Bool(v) => v.to_sql(ty, out),
            Param::Int2(v) => v.to_sql(ty, out),
            Param::Int4(v) => v.to_sql(ty, out),
            Param::Int8(v) => v.to_sql(ty, out),
            Param::Oid(v) => v.to_sql(ty, out),
            Param::Float4(v) => v.to_sql(ty, out),
            Param::Float8(v) => v.to_sql(ty, out),
            Param::Numeric(v) => {
                numeric_to_sql(v, out)?;
                Ok(IsNull::No)
            }
            // Text's binary form is its UTF-8 bytes, for every text-like type and enums.
            Param::Text(v) => {
                out.put_slice(v.as_bytes());
                Ok(IsNull::No)
            }
            Param::Timestamp(v) => v.to_sql(ty, out),
            Param::TimestampTz(v) => v.to_sql(ty, out),
            Param::Date(v) => v.to_sql(ty, out),
            Param::Time(v) => v.to_sql(ty, out),
            Param::Uuid(v) => {
                out.put_slice(v);
                Ok(IsNull::No)
            }
            Param::Json(v) => v.to_sql(ty, out),
            Param::Array(items) => items.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_ty: &Type) -> bool {
        // `bind` chose the variant for the type.
        true
    }

    to_sql_checked!();
}

fn is_text_type(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
    ) || matches!(ty.kind(), Kind::Enum(_))
        || ty.name() == "citext"
}

fn shown(value: &Json) -> String {
    let text = match value {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > 40 {
        format!("{}...", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}

/// Convert a value to the parameter type PostgreSQL inferred (`Statement::params()`).
///
/// - `null` is NULL for any type.
/// - text types (and enums) take strings as they are, numbers and booleans as their text,
///   lists and mappings as compact JSON text.
/// - integers and floats take numbers or numeric strings; `boolean` takes booleans or
///   `true`/`false`/`yes`/`no`/`on`/`off`/`1`/`0`; `numeric` takes numbers or decimal strings.
/// - `timestamp` takes ISO 8601 strings (`2030-01-01T00:00:00`, a space instead of `T`,
///   fractions, or just a date); one with an offset (`Z`, `+02:00`) is converted to UTC,
///   which is how Quay stores its naive timestamps. `timestamptz` reads a string without an
///   offset as UTC. `date` and `time` take ISO strings too.
/// - `json`/`jsonb` take any value; a plain string is read as JSON text (`'{"a": 1}'`),
///   while `{json: ...}` binds its value as is (so `{json: abc}` is the JSON string).
/// - `uuid` takes the usual hex form; arrays take lists of their element type.
pub fn bind(value: &Bindable, ty: &Type) -> Result<Param, String> {
    let (value, explicit_json) = match value {
        Bindable::Plain(value) => (value, false),
        Bindable::Json(value) => (value, true),
    };
    let wrong = |expected: &str| {
        format!(
            "`{}` is not {expected} (the parameter has type `{}`)",
            shown(value),
            ty.name()
        )
    };
    if value.is_null() && !(explicit_json && matches!(*ty, Type::JSON | Type::JSONB)) {
        return Ok(Param::Null);
    }
    if let Kind::Array(member) = ty.kind() {
        let Json::Array(items) = value else {
            return Err(wrong("a list"));
        };
        return items
            .iter()
            .map(|item| bind(&Bindable::Plain(item.clone()), member))
            .collect::<Result<_, _>>()
            .map(Param::Array);
    }
    if is_text_type(ty) {
        return Ok(Param::Text(match value {
            Json::String(s) if !explicit_json => s.clone(),
            Json::Bool(b) if !explicit_json => b.to_string(),
            Json::Number(n) if !explicit_json => n.to_string(),
            other => other.to_string(),
        }));
    }
    let text = match value {
        Json::String(s) => Some(s.trim()),
        _ => None,
    };
    let integer = || -> Option<i64> {
        match value {
            Json::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
            Json::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    };
    let float = || -> Option<f64> {
        match value {
            Json::Number(n) => n.as_f64(),
            Json::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    };
    match *ty {
        Type::BOOL => match value {
            Json::Bool(b) => Ok(Param::Bool(*b)),
            Json::Number(n) if n.as_i64() == Some(0) || n.as_i64() == Some(1) => {
                Ok(Param::Bool(n.as_i64() == Some(1)))
            }
            Json::String(s) => crate::yaml::parse_bool(s)
                .map(Param::Bool)
                .ok_or_else(|| wrong("a boolean")),
            _ => Err(wrong("a boolean")),
        },
        Type::INT2 => integer()
            .and_then(|i| i16::try_from(i).ok())
            .map(Param::Int2)
            .ok_or_else(|| wrong("a 16-bit integer")),
        Type::INT4 => integer()
            .and_then(|i| i32::try_from(i).ok())
            .map(Param::Int4)
            .ok_or_else(|| wrong("a 32-bit integer")),
        Type::INT8 => integer()
            .map(Param::Int8)
            .ok_or_else(|| wrong("a 64-bit integer")),
        Type::OID => integer()
            .and_then(|i| u32::try_from(i).ok())
            .map(Param::Oid)
            .ok_or_else(|| wrong("an OID")),
        Type::FLOAT4 => float()
            .map(|f| Param::Float4(f as f32))
            .ok_or_else(|| wrong("a number")),
        Type::FLOAT8 => float().map(Param::Float8).ok_or_else(|| wrong("a number")),
        Type::NUMERIC => {
            let text = match value {
                Json::Number(n) => n.to_string(),
                Json::String(s) => s.trim().to_owned(),
                _ => return Err(wrong("a number")),
            };
            parse_decimal(&text).ok_or_else(|| wrong("a decimal number"))?;
            Ok(Param::Numeric(text))
        }
        Type::TIMESTAMP => text
            .and_then(parse_timestamp)
            .map(|t| Param::Timestamp(t.naive_utc()))
            .ok_or_else(|| wrong("an ISO 8601 timestamp")),
        Type::TIMESTAMPTZ => text
            .and_then(parse_timestamp)
            .map(|t| Param::TimestampTz(t.to_utc()))
            .ok_or_else(|| wrong("an ISO 8601 timestamp")),
        Type::DATE => text
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            .map(Param::Date)
            .ok_or_else(|| wrong("an ISO 8601 date (`YYYY-MM-DD`)")),
        Type::TIME => text
            .and_then(|s| NaiveTime::parse_from_str(s, "%H:%M:%S%.f").ok())
            .map(Param::Time)
            .ok_or_else(|| wrong("a time (`HH:MM:SS`)")),
        Type::UUID => text
            .and_then(parse_uuid)
            .map(Param::Uuid)
            .ok_or_else(|| wrong("a UUID")),
        Type::JSON | Type::JSONB => match value {
            Json::String(s) if !explicit_json => serde_json::from_str(s)
                .map(Param::Json)
                .map_err(|_| wrong("JSON text (write `{json: VALUE}` to bind a value as JSON)")),
            other => Ok(Param::Json(other.clone())),
        },
        _ => Err(format!(
            "quayside cannot bind a value of type `{}`; cast the parameter to text in the query (`$N::text::{}`)",
            ty.name(),
            ty.name()
        )),
    }
}

/// An ISO 8601 timestamp, naive ones read as UTC. A date alone is its midnight.
pub fn parse_timestamp(text: &str) -> Option<DateTime<chrono::FixedOffset>> {
    let text = text.trim();
    let normalized = if text.len() > 10 && text.as_bytes()[10] == b' ' {
        format!("{}T{}", &text[..10], &text[11..])
    } else {
        text.to_owned()
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(&normalized) {
        return Some(t);
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
        if let Ok(t) = DateTime::parse_from_str(&normalized, format) {
            return Some(t);
        }
    }
    let naive = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(&normalized, format).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(&normalized, "%Y-%m-%d")
                .ok()
                .map(|d| d.and_time(NaiveTime::MIN))
        })?;
    Some(naive.and_utc().fixed_offset())
}

fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let hex: String = text
        .trim_matches(|c| c == '{' || c == '}')
        .chars()
        .filter(|c| *c != '-')
        .collect();
    let bytes = hex::decode(hex).ok()?;
    bytes.try_into().ok()
}

/// A decimal string split into sign, integer digits and fraction digits.
fn parse_decimal(text: &str) -> Option<(bool, String, String)> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    Some((negative, int.to_owned(), frac.to_owned()))
}

/// `numeric`'s binary form: digit count, weight, sign, display scale, base-10000 digits.
fn numeric_to_sql(text: &str, out: &mut BytesMut) -> Result<(), Box<dyn StdError + Sync + Send>> {
    let (negative, int, frac) = parse_decimal(text).ok_or("not a decimal number")?;
    let int = int.trim_start_matches('0');
    let scale = u16::try_from(frac.len())?;
    let pad_left = (4 - int.len() % 4) % 4;
    let int_padded = format!("{}{int}", "0".repeat(pad_left));
    let pad_right = (4 - frac.len() % 4) % 4;
    let frac_padded = format!("{frac}{}", "0".repeat(pad_right));
    let group = |s: &str| -> Vec<i16> {
        s.as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).unwrap_or("0").parse().unwrap_or(0))
            .collect()
    };
    let mut digits = group(&int_padded);
    let mut weight = digits.len() as i16 - 1;
    digits.extend(group(&frac_padded));
    while digits.first() == Some(&0) {
        digits.remove(0);
        weight -= 1;
    }
    while digits.last() == Some(&0) {
        digits.pop();
    }
    if digits.is_empty() {
        weight = 0;
    }
    out.put_i16(i16::try_from(digits.len())?);
    out.put_i16(weight);
    out.put_u16(if negative && !digits.is_empty() {
        0x4000
    } else {
        0
    });
    out.put_u16(scale);
    for digit in digits {
        out.put_i16(digit);
    }
    Ok(())
}

fn numeric_from_sql(raw: &[u8]) -> Result<String, Box<dyn StdError + Sync + Send>> {
    let word = |i: usize| -> Result<u16, Box<dyn StdError + Sync + Send>> {
        raw.get(i * 2..i * 2 + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "truncated numeric".into())
    };
    let count = word(0)? as usize;
    let weight = word(1)? as i16;
    let sign = word(2)?;
    let scale = word(3)? as usize;
    match sign {
        0xC000 => return Ok("NaN".into()),
        0xD000 => return Ok("Infinity".into()),
        0xF000 => return Ok("-Infinity".into()),
        _ => {}
    }
    let digits: Vec<u16> = (0..count).map(|i| word(4 + i)).collect::<Result<_, _>>()?;
    let digit = |i: i32| -> u16 {
        usize::try_from(i)
            .ok()
            .and_then(|i| digits.get(i).copied())
            .unwrap_or(0)
    };
    let mut text = String::new();
    if sign == 0x4000 {
        text.push('-');
    }
    if weight < 0 {
        text.push('0');
    } else {
        for i in 0..=i32::from(weight) {
            if i == 0 {
                text.push_str(&digit(i).to_string());
            } else {
                text.push_str(&format!("{:04}", digit(i)));
            }
        }
    }
    if scale > 0 {
        let mut fraction = String::new();
        let mut i = i32::from(weight) + 1;
        while fraction.len() < scale {
            fraction.push_str(&format!("{:04}", digit(i)));
            i += 1;
        }
        fraction.truncate(scale);
        text.push('.');
        text.push_str(&fraction);
    }
    Ok(text)
}

/// A result cell as JSON. Accepts every type, and says which ones it cannot read.
struct Cell(Json);

impl<'a> FromSql<'a> for Cell {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Cell, Box<dyn StdError + Sync + Send>> {
        let json = match *ty {
            Type::BOOL => Json::Bool(bool::from_sql(ty, raw)?),
            Type::INT2 => i16::from_sql(ty, raw)?.into(),
            Type::INT4 => i32::from_sql(ty, raw)?.into(),
            Type::INT8 => i64::from_sql(ty, raw)?.into(),
            Type::OID => u32::from_sql(ty, raw)?.into(),
            Type::CHAR => Json::String(char::from(i8::from_sql(ty, raw)? as u8).to_string()),
            Type::FLOAT4 => float_json(f64::from(f32::from_sql(ty, raw)?)),
            Type::FLOAT8 => float_json(f64::from_sql(ty, raw)?),
            Type::NUMERIC => {
                let text = numeric_from_sql(raw)?;
                // A number when JSON can hold it exactly, the decimal text otherwise.
                text.parse::<i64>()
                    .map(Json::from)
                    .ok()
                    .or_else(|| {
                        text.parse::<f64>()
                            .ok()
                            .filter(|f| f.is_finite() && format_float(*f) == text)
                            .and_then(Number::from_f64)
                            .map(Json::Number)
                    })
                    .unwrap_or(Json::String(text))
            }
            Type::TIMESTAMP => Json::String(format_naive(NaiveDateTime::from_sql(ty, raw)?)),
            Type::TIMESTAMPTZ => Json::String(
                DateTime::<Utc>::from_sql(ty, raw)?.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            ),
            Type::DATE => Json::String(NaiveDate::from_sql(ty, raw)?.to_string()),
            Type::TIME => Json::String(NaiveTime::from_sql(ty, raw)?.to_string()),
            Type::JSON | Type::JSONB => Json::from_sql(ty, raw)?,
            Type::BYTEA => Json::String(format!("\\x{}", hex::encode(raw))),
            Type::UUID => {
                let h = hex::encode(raw);
                if h.len() != 32 {
                    return Err("bad uuid".into());
                }
                Json::String(format!(
                    "{}-{}-{}-{}-{}",
                    &h[..8],
                    &h[8..12],
                    &h[12..16],
                    &h[16..20],
                    &h[20..]
                ))
            }
            _ if is_text_type(ty) => Json::String(String::from_utf8(raw.to_vec())?),
            _ => match ty.kind() {
                Kind::Array(_) => Json::Array(
                    Vec::<Cell>::from_sql(ty, raw)?
                        .into_iter()
                        .map(|c| c.0)
                        .collect(),
                ),
                _ => {
                    return Err(format!(
                        "quayside cannot read type `{}`; cast the column to text in the query (`::text`)",
                        ty.name()
                    )
                    .into());
                }
            },
        };
        Ok(Cell(json))
    }

    fn from_sql_null(_ty: &Type) -> Result<Cell, Box<dyn StdError + Sync + Send>> {
        Ok(Cell(Json::Null))
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}

fn float_json(f: f64) -> Json {
    Number::from_f64(f)
        .map(Json::Number)
        .unwrap_or_else(|| Json::String(f.to_string()))
}

fn format_float(f: f64) -> String {
    let text = f.to_string();
    if text.contains('.') {
        text
    } else {
        format!("{text}.0")
    }
}

/// A naive timestamp as ISO 8601 (`2030-01-01T00:00:00`, fraction only when there is one),
/// which [`parse_timestamp`] reads back.
pub fn format_naive(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.f").to_string()
}

/// A row as a JSON object, columns in order.
pub fn row_to_json(row: &Row) -> Result<Map<String, Json>, String> {
    let mut map = Map::new();
    for (index, column) in row.columns().iter().enumerate() {
        let cell: Cell = row.try_get(index).map_err(|error| {
            let reason = error
                .source()
                .map(|s| s.to_string())
                .unwrap_or_else(|| error.to_string());
            format!("column `{}`: {reason}", column.name())
        })?;
        map.insert(column.name().to_owned(), cell.0);
    }
    Ok(map)
}

/// Bind every value for a prepared statement's parameters, naming the one that does not fit.
pub fn bind_all(
    values: &[Bindable],
    types: &[Type],
    name: impl Fn(usize) -> String,
) -> Result<Vec<Param>, String> {
    if values.len() != types.len() {
        return Err(format!(
            "the query has {} parameter{}, {} value{} given",
            types.len(),
            if types.len() == 1 { "" } else { "s" },
            values.len(),
            if values.len() == 1 { " is" } else { "s are" }
        ));
    }
    values
        .iter()
        .zip(types)
        .enumerate()
        .map(|(index, (value, ty))| bind(value, ty).map_err(|e| format!("{}: {e}", name(index))))
        .collect()
}

/// The parameters as tokio-postgres takes them.
pub fn as_refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

/// Run `work` with the task's time limit, if it has one.
pub async fn within<T>(
    timeout: Option<Duration>,
    dsn: &Dsn,
    work: impl Future<Output = Result<T, SqlError>>,
) -> Result<T, SqlError> {
    match timeout {
        None => work.await,
        Some(limit) => tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
            Err(SqlError::Timeout {
                dsn: dsn.masked().to_owned(),
                seconds: limit.as_secs(),
            })
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_dsn_hides_the_url_password() {
        assert_eq!(
            mask_dsn("postgresql://quay:quay-secret-pw@db.example.com:5432/quay"),
            "postgresql://quay:********@db.example.com:5432/quay"
        );
        assert_eq!(
            mask_dsn("postgresql://quay:p%40ss@db/quay?sslmode=require"),
            "postgresql://quay:********@db/quay?sslmode=require"
        );
        // An unencoded `@` in the password: everything up to the last `@` is masked.
        assert_eq!(
            mask_dsn("postgres://quay:p@ss:w@rd@db/quay"),
            "postgres://quay:********@db/quay"
        );
        assert_eq!(
            mask_dsn("postgresql://db/quay?user=quay&password=s3cret&sslmode=disable"),
            "postgresql://db/quay?user=quay&password=********&sslmode=disable"
        );
    }

    #[test]
    fn mask_dsn_leaves_a_dsn_without_password_alone() {
        for dsn in [
            "postgresql://quay@db/quay",
            "postgresql://db:5432/quay?sslmode=require",
            "host=db user=quay dbname=quay",
        ] {
            assert_eq!(mask_dsn(dsn), dsn);
        }
    }

    #[test]
    fn mask_dsn_hides_key_value_passwords() {
        assert_eq!(
            mask_dsn("host=db user=quay password=s3cret dbname=quay"),
            "host=db user=quay password=******** dbname=quay"
        );
        assert_eq!(
            mask_dsn("host=db password = 'with space\\'s' dbname=quay"),
            "host=db password = ******** dbname=quay"
        );
        // `sslpassword` is another key; `password` alone is masked.
        assert_eq!(
            mask_dsn("sslpassword=x password=y"),
            "sslpassword=x password=********"
        );
    }

    #[test]
    fn redact_masks_raw_and_decoded_passwords() {
        let dsn = Dsn::parse("postgresql://quay:p%40ss-w0rd@127.0.0.1:5432/quay").unwrap();
        assert_eq!(
            dsn.masked(),
            "postgresql://quay:********@127.0.0.1:5432/quay"
        );
        assert_eq!(
            dsn.redact("tried p@ss-w0rd and p%40ss-w0rd"),
            "tried ******** and ********"
        );
    }

    #[test]
    fn invalid_dsns_are_reported_masked() {
        let error = Dsn::parse("mysql://quay:hunter2@db/quay").unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid `dsn` `mysql://quay:********@db/quay`: the scheme must be `postgresql://` or `postgres://`, found `mysql://`"
        );
        let error = Dsn::parse("postgresql://quay:hunter2@db/quay?sslmode=sometimes").unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid `dsn` `postgresql://quay:********@db/quay?sslmode=sometimes`: unknown `sslmode` `sometimes` (expected `disable`, `allow`, `prefer`, `require`, `verify-ca` or `verify-full`)"
        );
        let error = Dsn::parse("postgresql://quay:hunter2@db/quay?colour=blue").unwrap_err();
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }

    #[test]
    fn sslmode_and_driver_suffix_are_understood() {
        let dsn = Dsn::parse("postgresql+psycopg2://quay:pw@db:6543/quay?sslmode=verify-full&sslrootcert=/ca.pem&application_name=q").unwrap();
        assert_eq!(dsn.tls.mode, SslMode::VerifyFull);
        assert_eq!(dsn.tls.root_cert, Some(PathBuf::from("/ca.pem")));
        assert_eq!(dsn.target(), ("db".to_owned(), 6543));
        assert_eq!(
            dsn.config.get_ssl_mode(),
            tokio_postgres::config::SslMode::Require
        );
        assert_eq!(dsn.config.get_application_name(), Some("q"));
        let dsn = Dsn::parse("host=db user=quay sslmode=disable").unwrap();
        assert_eq!(dsn.tls.mode, SslMode::Disable);
        let dsn = Dsn::parse("postgresql://quay@db/quay").unwrap();
        assert_eq!(dsn.tls.mode, SslMode::Prefer);
    }

    #[test]
    fn identifiers_are_checked_and_quoted() {
        assert_eq!(quote_identifier("servicekey").unwrap(), "\"servicekey\"");
        assert_eq!(
            quote_identifier("public.servicekey").unwrap(),
            "\"public\".\"servicekey\""
        );
        for bad in [
            "ServiceKey",
            "a-b",
            "1a",
            "a.b.c",
            "",
            "x\"; drop table y",
            "a b",
        ] {
            assert!(quote_identifier(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamps_parse_in_iso_forms() {
        let utc = |s: &str| parse_timestamp(s).map(|t| format_naive(t.naive_utc()));
        assert_eq!(utc("2030-01-02T03:04:05").unwrap(), "2030-01-02T03:04:05");
        assert_eq!(
            utc("2030-01-02 03:04:05.25").unwrap(),
            "2030-01-02T03:04:05.250"
        );
        assert_eq!(utc("2030-01-02T03:04:05Z").unwrap(), "2030-01-02T03:04:05");
        assert_eq!(
            utc("2030-01-02T05:04:05+02:00").unwrap(),
            "2030-01-02T03:04:05"
        );
        assert_eq!(
            utc("2030-01-02 05:04:05+0200").unwrap(),
            "2030-01-02T03:04:05"
        );
        assert_eq!(utc("2030-01-02").unwrap(), "2030-01-02T00:00:00");
        assert_eq!(utc("next tuesday"), None);
    }

    #[test]
    fn values_bind_to_the_parameter_type() {
        let plain = |v: Json| Bindable::Plain(v);
        assert_eq!(
            bind(&plain("42".into()), &Type::INT4).unwrap(),
            Param::Int4(42)
        );
        assert_eq!(
            bind(&plain(7.into()), &Type::TEXT).unwrap(),
            Param::Text("7".into())
        );
        assert_eq!(bind(&plain(Json::Null), &Type::INT4).unwrap(), Param::Null);
        assert_eq!(
            bind(&plain("yes".into()), &Type::BOOL).unwrap(),
            Param::Bool(true)
        );
        assert_eq!(
            bind(&plain("2030-01-01T00:00:00Z".into()), &Type::TIMESTAMP).unwrap(),
            Param::Timestamp(
                NaiveDate::from_ymd_opt(2030, 1, 1)
                    .unwrap()
                    .and_time(NaiveTime::MIN)
            )
        );
        assert_eq!(
            bind(&plain(r#"{"a":1}"#.into()), &Type::JSONB).unwrap(),
            Param::Json(serde_json::json!({"a": 1}))
        );
        assert_eq!(
            bind(&Bindable::Json("abc".into()), &Type::JSONB).unwrap(),
            Param::Json("abc".into())
        );
        assert_eq!(
            bind(&Bindable::Json(serde_json::json!({})), &Type::TEXT).unwrap(),
            Param::Text("{}".into())
        );
        assert_eq!(
            bind(&plain("x".into()), &Type::INT4).unwrap_err(),
            "`x` is not a 32-bit integer (the parameter has type `int4`)"
        );
        assert_eq!(
            bind(&plain(70000.into()), &Type::INT2).unwrap_err(),
            "`70000` is not a 16-bit integer (the parameter has type `int2`)"
        );
        assert_eq!(
            bind(&plain("soon".into()), &Type::TIMESTAMP).unwrap_err(),
            "`soon` is not an ISO 8601 timestamp (the parameter has type `timestamp`)"
        );
        assert_eq!(
            bind(&plain("1 day".into()), &Type::INTERVAL).unwrap_err(),
            "quayside cannot bind a value of type `interval`; cast the parameter to text in the query (`$N::text::interval`)"
        );
        assert_eq!(
            bind(&plain(serde_json::json!([1, "2"])), &Type::INT8_ARRAY).unwrap(),
            Param::Array(vec![Param::Int8(1), Param::Int8(2)])
        );
    }

    #[test]
    fn numerics_round_trip_through_the_binary_form() {
        for text in [
            "0",
            "1",
            "-1",
            "12345.6789",
            "0.0001",
            "100000000",
            "-0.5",
            "3.14159",
        ] {
            let mut out = BytesMut::new();
            numeric_to_sql(text, &mut out).unwrap();
            let back = numeric_from_sql(&out).unwrap();
            let expected = if text == "-0.5" { "-0.5" } else { text };
            assert_eq!(back, expected, "{text}");
        }
    }
}
