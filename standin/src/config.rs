//! The few config.yaml keys the stand-in acts on, and where its files live.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use serde::de::IgnoredAny;

/// Quay's own defaults when config.yaml names no key files.
const DEFAULT_KID_LOCATION: &str = "conf/quay.kid";
const DEFAULT_KEY_LOCATION: &str = "conf/quay.pem";

#[derive(Debug, Default, Deserialize)]
pub struct QuayConfig {
    #[serde(rename = "REGISTRY_STATE", default)]
    pub registry_state: Option<String>,
    #[serde(rename = "INSTANCE_SERVICE_KEY_KID_LOCATION", default)]
    pub kid_location: Option<String>,
    #[serde(rename = "INSTANCE_SERVICE_KEY_LOCATION", default)]
    pub key_location: Option<String>,
    #[serde(rename = "DB_URI", default)]
    pub db_uri: Option<String>,
    #[serde(rename = "FEATURE_STORAGE_REPLICATION", default)]
    pub storage_replication: bool,
    #[serde(rename = "DISTRIBUTED_STORAGE_CONFIG", default)]
    pub storage_config: BTreeMap<String, IgnoredAny>,
}

impl QuayConfig {
    pub fn parse(text: &str) -> Result<Self, String> {
        serde_saphyr::from_str(text).map_err(|error| format!("config.yaml does not parse: {error}"))
    }

    pub fn kid_location(&self) -> &str {
        self.kid_location.as_deref().unwrap_or(DEFAULT_KID_LOCATION)
    }

    pub fn key_location(&self) -> &str {
        self.key_location.as_deref().unwrap_or(DEFAULT_KEY_LOCATION)
    }
}

/// The container's file system root: `/` in the image, another directory (`STANDIN_ROOT`)
/// when the binary runs outside a container. Quay opens the key locations relative to its
/// working directory, which the stand-in takes to be `/`: `conf/stack/quay-readonly.kid` is
/// `/conf/stack/quay-readonly.kid`.
pub struct Root(PathBuf);

impl Root {
    pub fn from_env() -> Self {
        Root(
            std::env::var_os("STANDIN_ROOT")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/")),
        )
    }

    pub fn path(&self, location: &str) -> PathBuf {
        self.0.join(location.trim_start_matches('/'))
    }

    /// Where Quay's image finds its config bundle: `-v $QUAY/config:/conf/stack:Z`.
    pub fn config_path(&self) -> PathBuf {
        self.path("conf/stack/config.yaml")
    }
}

#[cfg(test)]
mod tests {
    use super::QuayConfig;

    #[test]
    fn reads_the_keys_it_needs_and_ignores_the_rest() {
        let config = QuayConfig::parse(
            "SERVER_HOSTNAME: quay.example.com\n\
             REGISTRY_STATE: readonly\n\
             INSTANCE_SERVICE_KEY_KID_LOCATION: 'conf/stack/quay-readonly.kid'\n\
             DB_URI: postgresql://quay:secret@db:5432/quay\n\
             FEATURE_STORAGE_REPLICATION: true\n\
             DISTRIBUTED_STORAGE_CONFIG:\n  usstorage:\n    - S3Storage\n    - {s3_bucket: us}\n  \
             eustorage: [S3Storage, {s3_bucket: eu}]\n\
             BUILDLOGS_REDIS: {host: redis}\n",
        )
        .unwrap();
        assert_eq!(config.registry_state.as_deref(), Some("readonly"));
        assert_eq!(config.kid_location(), "conf/stack/quay-readonly.kid");
        assert_eq!(config.key_location(), "conf/quay.pem");
        assert!(config.storage_replication);
        assert_eq!(
            config.storage_config.keys().collect::<Vec<_>>(),
            ["eustorage", "usstorage"]
        );
    }
}
