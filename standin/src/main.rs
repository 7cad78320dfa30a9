//! quay-standin: a test fixture that behaves like the Quay container where quayside's
//! read-only, backup and geo-replication procedures depend on it (see "The Quay stand-in"
//! in the README). It is not Quay: it stores no images.

mod clock;
mod config;
mod db;
mod events;
mod http;

use std::io::ErrorKind;
use std::net::TcpListener;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use config::{QuayConfig, Root};
use db::{Database, KeyState, PublishedKey};
use events::Events;
use http::{Request, Response};

/// Quay's own words (`boot.py`) when a read-only registry has no usable key.
const NO_VALID_KEY: &str = "No valid service key found for read-only registry.";

/// Quay's answer to a write while `REGISTRY_STATE: readonly` (`endpoints/v2/errors.py`).
const READ_ONLY_DENIED: &str = r#"{"errors":[{"code":"DENIED","message":"System is currently read-only. Pulls will succeed but all write operations are currently suspended.","detail":{},"is_readonly":true}]}"#;

/// What `GET /standin/info` answers.
#[derive(Serialize)]
struct Info {
    registry_state: String,
    storage_preference: Option<String>,
    config_sha256: String,
    started_at: String,
    pid: u32,
    name: String,
    port: u16,
    /// The kid file's content, byte for byte (read-only mode only).
    kid: Option<String>,
    /// The database `DB_URI` names, without credentials: `HOST:PORT/NAME`.
    database: String,
}

struct State {
    info: Info,
    database: Database,
}

fn main() -> ExitCode {
    let port = std::env::var("PORT").unwrap_or_else(|_| "8080".to_owned());
    let events = Arc::new(Events::from_env(&port));
    // First of all: as PID 1 the process ignores SIGTERM unless it handles it, and
    // `podman stop` would wait for its timeout, then SIGKILL.
    let started = watch_for_stop(Arc::clone(&events)).and_then(|()| run(&port, &events));
    match started {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            events.record("refused", "");
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

fn run(port: &str, events: &Events) -> Result<(), String> {
    // Quay's image takes `registry` (its default), `config`, `repomirror`, ...
    if let Some(mode) = std::env::args().nth(1).filter(|mode| mode != "registry") {
        return Err(format!(
            "the stand-in runs only the registry (`registry`), not `{mode}`"
        ));
    }
    let port: u16 = port
        .parse()
        .map_err(|_| format!("`PORT` must be a port number, not `{port}`"))?;

    let root = Root::from_env();
    let config_path = root.config_path();
    let config_bytes = read_file("config.yaml", &config_path)?;
    let config_text = String::from_utf8(config_bytes.clone())
        .map_err(|_| format!("config `{}` is not UTF-8", config_path.display()))?;
    let config = QuayConfig::parse(&config_text)?;

    let registry_state = config
        .registry_state
        .clone()
        .unwrap_or_else(|| "normal".to_owned());
    if registry_state != "normal" && registry_state != "readonly" {
        return Err(format!(
            "`REGISTRY_STATE` must be `normal` or `readonly`, not `{registry_state}`"
        ));
    }
    let storage_preference = storage_preference(&config)?;
    let db_uri = config
        .db_uri
        .as_deref()
        .ok_or("config.yaml has no `DB_URI`")?;
    let database = Database::new(db_uri)?;

    let kid = if registry_state == "readonly" {
        let kid = verify_service_key(&config, &root, &database)
            .map_err(|problem| format!("{problem}\n{NO_VALID_KEY}"))?;
        Some(kid)
    } else {
        None
    };

    let listener = TcpListener::bind(("0.0.0.0", port))
        .map_err(|error| format!("cannot listen on port {port}: {error}"))?;
    let state = Arc::new(State {
        info: Info {
            registry_state,
            storage_preference,
            config_sha256: hex(&Sha256::digest(&config_bytes)),
            started_at: clock::now_rfc3339(),
            pid: std::process::id(),
            name: events.name().to_owned(),
            port,
            kid,
            database: database.name(),
        },
        database,
    });
    let info = &state.info;
    let preference = info.storage_preference.as_deref().unwrap_or("-");
    events.record_at(
        &info.started_at,
        "start",
        &format!(
            "registry_state={} storage_preference={preference} database={}",
            info.registry_state, info.database
        ),
    );
    println!(
        "quay-standin {}: REGISTRY_STATE={} storage preference {preference}, listening on :{port}",
        info.name, info.registry_state,
    );

    for stream in listener.incoming().flatten() {
        let state = Arc::clone(&state);
        std::thread::spawn(move || http::serve(stream, |request| route(&state, request)));
    }
    Ok(())
}

/// What Quay's `boot.py` does for `REGISTRY_STATE: readonly`: read the kid file as it is
/// (no trimming: a trailing newline makes another kid), make sure the private key is
/// there and readable by this user (uid 1001 in the container), and find the key in the
/// database for service `quay`, approved and not expired.
fn verify_service_key(
    config: &QuayConfig,
    root: &Root,
    database: &Database,
) -> Result<String, String> {
    let kid_path = root.path(config.kid_location());
    let kid = read_file("INSTANCE_SERVICE_KEY_KID_LOCATION", &kid_path)?;
    let kid = String::from_utf8(kid)
        .map_err(|_| format!("kid file `{}` is not UTF-8", kid_path.display()))?;

    let key_path = root.path(config.key_location());
    let key = read_file("INSTANCE_SERVICE_KEY_LOCATION", &key_path)?;
    if !key.starts_with(b"-----BEGIN ") {
        return Err(format!(
            "`INSTANCE_SERVICE_KEY_LOCATION` `{}` is not a PEM private key",
            key_path.display()
        ));
    }

    let state = database
        .key_state(&kid)
        .map_err(|error| format!("cannot look up the service key in the database: {error}"))?;
    match state.problem(&kid) {
        None => Ok(kid),
        Some(problem) => Err(problem),
    }
}

/// Reads a file of the config bundle; when this user may not, says who it is and how Quay's
/// procedure grants access.
fn read_file(what: &str, path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|error| {
        let mut message = format!("cannot read `{what}` `{}`: {error}", path.display());
        if error.kind() == ErrorKind::PermissionDenied {
            let uid = current_uid().map_or_else(|| "?".to_owned(), |uid| uid.to_string());
            message.push_str(&format!(
                "\nhint: the registry runs as uid {uid}; on the host, give it access to the \
                 bundle's files: `setfacl -m user:{uid}:rw FILE`"
            ));
        }
        message
    })
}

/// The real user id, from `/proc/self/status` (std has no `getuid`).
fn current_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `QUAY_DISTRIBUTED_STORAGE_PREFERENCE` must name a configured location when storage
/// replication is on (older Quay refuses to start otherwise); it is reported whenever set.
fn storage_preference(config: &QuayConfig) -> Result<Option<String>, String> {
    let preference = std::env::var("QUAY_DISTRIBUTED_STORAGE_PREFERENCE")
        .ok()
        .filter(|value| !value.is_empty());
    if !config.storage_replication {
        return Ok(preference);
    }
    let locations = config
        .storage_config
        .keys()
        .map(|location| format!("`{location}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match preference {
        None => Err(format!(
            "`FEATURE_STORAGE_REPLICATION` is true but `QUAY_DISTRIBUTED_STORAGE_PREFERENCE` \
             is not set; set it to one of the locations in `DISTRIBUTED_STORAGE_CONFIG`: \
             {locations}"
        )),
        Some(location) if !config.storage_config.contains_key(&location) => Err(format!(
            "`QUAY_DISTRIBUTED_STORAGE_PREFERENCE` `{location}` is not a location in \
             `DISTRIBUTED_STORAGE_CONFIG`: {locations}"
        )),
        Some(location) => Ok(Some(location)),
    }
}

fn route(state: &State, request: &Request) -> Response {
    let method = request.method.as_str();
    let path = request.path.as_str();
    let reading = method == "GET" || method == "HEAD";
    let writing = matches!(method, "PUT" | "POST" | "PATCH" | "DELETE");

    if path.starts_with("/v2/") && writing {
        return if state.info.registry_state == "readonly" {
            Response::json(405, READ_ONLY_DENIED)
        } else {
            Response::json(202, "{}")
        };
    }
    if !reading {
        return Response::json(405, r#"{"error":"method not allowed"}"#);
    }
    match path {
        "/health" | "/health/instance" => instance_health(state),
        "/health/endtoend" | "/status" => endtoend_health(state),
        "/v2/" => Response::json(200, "{}"),
        "/standin/info" => {
            Response::json(200, serde_json::to_string(&state.info).unwrap_or_default())
        }
        _ => match path
            .strip_prefix("/keys/services/")
            .and_then(|rest| rest.split_once("/keys/"))
        {
            Some((service, kid)) if !service.contains('/') && !kid.is_empty() => {
                published_key(state, service, kid)
            }
            _ => Response::json(404, r#"{"error":"not found"}"#),
        },
    }
}

/// Quay's `/health/instance` body. The stand-in checks the database and, read-only, that
/// its service key is still alive: it lapses when nobody extends the expiration.
fn instance_health(state: &State) -> Response {
    let database = state.database.answers();
    let service_key = match &state.info.kid {
        None => true,
        Some(kid) => database && matches!(state.database.key_state(kid), Ok(KeyState::Valid)),
    };
    let status = if database && service_key { 200 } else { 503 };
    Response::json(
        status,
        format!(
            r#"{{"data":{{"services":{{"auth":true,"database":{database},"disk_space":true,"registry_gunicorn":true,"service_key":{service_key},"web_gunicorn":true}}}},"status_code":{status}}}"#
        ),
    )
}

/// Quay's `/health/endtoend` checks auth, database, redis and storage; the stand-in has no
/// Redis or object storage, so only the database is real.
fn endtoend_health(state: &State) -> Response {
    let database = state.database.answers();
    let status = if database { 200 } else { 503 };
    Response::json(
        status,
        format!(
            r#"{{"data":{{"services":{{"auth":true,"database":{database},"redis":true,"storage":true}}}},"status_code":{status}}}"#
        ),
    )
}

/// `GET /keys/services/<service>/keys/<kid>`, with Quay's status codes.
fn published_key(state: &State, service: &str, kid: &str) -> Response {
    match state.database.published_key(service, kid) {
        Ok(PublishedKey::Jwk(jwk)) => Response::json(200, jwk),
        Ok(PublishedKey::Missing) => Response::json(404, r#"{"error":"not found"}"#),
        Ok(PublishedKey::Unapproved) => Response::json(409, r#"{"error":"key not approved"}"#),
        Ok(PublishedKey::Expired) => Response::json(403, r#"{"error":"key expired"}"#),
        Err(_) => Response::json(503, r#"{"error":"database unavailable"}"#),
    }
}

/// On SIGTERM (`podman stop`) or SIGINT: record the stop and exit at once.
fn watch_for_stop(events: Arc<Events>) -> Result<(), String> {
    let mut signals = Signals::new([SIGTERM, SIGINT])
        .map_err(|error| format!("cannot install signal handlers: {error}"))?;
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let name = if signal == SIGTERM {
                "SIGTERM"
            } else {
                "SIGINT"
            };
            events.record("stop", &format!("signal={name}"));
            println!("quay-standin: {name}, stopping");
            std::process::exit(0);
        }
    });
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
