//! The database questions Quay asks: is it there, and is a service key usable.

use std::time::Duration;

use postgres::{Client, NoTls};

pub struct Database(postgres::Config);

/// A key is usable for a read-only registry when all of these hold (Quay's `boot.py`
/// plus the approval the read-only procedure inserts).
pub enum KeyState {
    Valid,
    Missing,
    WrongService(String),
    Unapproved,
    ApprovalMissing(i32),
    Expired(String),
}

impl KeyState {
    /// Why the key cannot be used, for the refusal message; the kid is shown with Rust's
    /// escapes so that a stray trailing newline is visible.
    pub fn problem(&self, kid: &str) -> Option<String> {
        match self {
            KeyState::Valid => None,
            KeyState::Missing => Some(format!("no `servicekey` row has kid {kid:?}")),
            KeyState::WrongService(service) => Some(format!(
                "service key {kid:?} belongs to service `{service}`, not `quay`"
            )),
            KeyState::Unapproved => Some(format!(
                "service key {kid:?} is not approved (`approval_id` is NULL)"
            )),
            KeyState::ApprovalMissing(id) => Some(format!(
                "service key {kid:?} points at `servicekeyapproval` {id}, which does not exist"
            )),
            KeyState::Expired(at) => Some(format!("service key {kid:?} expired at {at} UTC")),
        }
    }
}

/// What `GET /keys/services/<service>/keys/<kid>` finds.
pub enum PublishedKey {
    Missing,
    Unapproved,
    Expired,
    Jwk(String),
}

impl Database {
    pub fn new(db_uri: &str) -> Result<Self, String> {
        let mut config: postgres::Config = db_uri
            .parse()
            .map_err(|error| format!("`DB_URI` is not a PostgreSQL address: {error}"))?;
        config.connect_timeout(Duration::from_secs(3));
        Ok(Database(config))
    }

    /// Which database this is, without credentials: `HOST:PORT/NAME`.
    pub fn name(&self) -> String {
        let host = match self.0.get_hosts().first() {
            Some(postgres::config::Host::Tcp(host)) => host.clone(),
            Some(postgres::config::Host::Unix(path)) => path.display().to_string(),
            None => "localhost".to_owned(),
        };
        let port = self.0.get_ports().first().copied().unwrap_or(5432);
        let name = self
            .0
            .get_dbname()
            .or(self.0.get_user())
            .unwrap_or_default();
        format!("{host}:{port}/{name}")
    }

    fn connect(&self) -> Result<Client, postgres::Error> {
        self.0.connect(NoTls)
    }

    /// `SELECT 1`: what the health endpoints call "database".
    pub fn answers(&self) -> bool {
        self.connect()
            .and_then(|mut client| client.simple_query("SELECT 1"))
            .is_ok()
    }

    pub fn key_state(&self, kid: &str) -> Result<KeyState, postgres::Error> {
        let rows = self.connect()?.query(
            "SELECT k.service, k.approval_id, a.id IS NOT NULL, \
                    k.expiration_date IS NULL OR k.expiration_date > timezone('utc', now()), \
                    to_char(k.expiration_date, 'YYYY-MM-DD\"T\"HH24:MI:SS') \
             FROM servicekey k LEFT JOIN servicekeyapproval a ON a.id = k.approval_id \
             WHERE k.kid = $1",
            &[&kid],
        )?;
        let Some(row) = rows.first() else {
            return Ok(KeyState::Missing);
        };
        let service: String = row.get(0);
        let approval_id: Option<i32> = row.get(1);
        let approval_exists: bool = row.get(2);
        let alive: bool = row.get(3);
        Ok(if service != "quay" {
            KeyState::WrongService(service)
        } else if approval_id.is_none() {
            KeyState::Unapproved
        } else if !approval_exists {
            KeyState::ApprovalMissing(approval_id.unwrap_or_default())
        } else if !alive {
            KeyState::Expired(row.get::<_, Option<String>>(4).unwrap_or_default())
        } else {
            KeyState::Valid
        })
    }

    pub fn published_key(&self, service: &str, kid: &str) -> Result<PublishedKey, postgres::Error> {
        let rows = self.connect()?.query(
            "SELECT jwk, approval_id IS NOT NULL, \
                    expiration_date IS NULL OR expiration_date > timezone('utc', now()) \
             FROM servicekey WHERE kid = $1 AND service = $2",
            &[&kid, &service],
        )?;
        let Some(row) = rows.first() else {
            return Ok(PublishedKey::Missing);
        };
        Ok(if !row.get::<_, bool>(1) {
            PublishedKey::Unapproved
        } else if !row.get::<_, bool>(2) {
            PublishedKey::Expired
        } else {
            PublishedKey::Jwk(row.get(0))
        })
    }
}
