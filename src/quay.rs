//! What quayside knows of Quay itself: the checks of Quay's config validator, and which
//! parts of a config are secrets.

use crate::yaml::{self, Node, Value};

/// Check a rendered `config.yaml` as Quay's own validator would, before it is installed:
/// first the rules of Quay's `CONFIG_SCHEMA` ([`crate::quay_schema`]), then what Quay's
/// config validator adds (a valid host name, storage locations that exist).
pub fn validate_config(text: &str) -> Result<(), String> {
    let root = yaml::load_str("config.yaml", text).map_err(|d| d.headline())?;
    if root.as_map().is_none() {
        return Err("config.yaml must be a mapping".to_owned());
    }
    crate::quay_schema::check(&root)?;
    let text_of = |key: &str| root.get(key).and_then(scalar);
    if let Some(hostname) = text_of("SERVER_HOSTNAME") {
        if !valid_hostname(&hostname) {
            return Err(format!(
                "`SERVER_HOSTNAME` `{hostname}` is not a valid host name"
            ));
        }
    }
    if text_of("DB_URI").is_none_or(|uri| uri.is_empty()) {
        return Err("`DB_URI` is empty".to_owned());
    }
    if let Some(state) = text_of("REGISTRY_STATE") {
        if state == "readonly" {
            for key in [
                "INSTANCE_SERVICE_KEY_KID_LOCATION",
                "INSTANCE_SERVICE_KEY_LOCATION",
            ] {
                if text_of(key).is_none() {
                    return Err(format!("`REGISTRY_STATE: readonly` needs `{key}`"));
                }
            }
        }
    }
    let locations: Vec<(String, String)> =
        match root.get("DISTRIBUTED_STORAGE_CONFIG").map(|n| &n.value) {
            Some(Value::Map(entries)) if !entries.is_empty() => entries
                .iter()
                .map(|(name, engine)| {
                    let driver = match &engine.value {
                        Value::Seq(parts) => parts.first().and_then(scalar).unwrap_or_default(),
                        _ => String::new(),
                    };
                    (name.key_string(), driver)
                })
                .collect(),
            _ => {
                return Err(
                    "`DISTRIBUTED_STORAGE_CONFIG` needs at least one storage location".to_owned(),
                );
            }
        };
    let replication = root
        .get("FEATURE_STORAGE_REPLICATION")
        .and_then(scalar)
        .and_then(|v| yaml::parse_bool(&v))
        .unwrap_or(false);
    for key in [
        "DISTRIBUTED_STORAGE_PREFERENCE",
        "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS",
    ] {
        if let Some(Value::Seq(names)) = root.get(key).map(|n| &n.value) {
            for name in names.iter().filter_map(scalar) {
                if !locations.iter().any(|(location, _)| *location == name) {
                    return Err(format!(
                        "`{key}` names `{name}`, which is not in `DISTRIBUTED_STORAGE_CONFIG`"
                    ));
                }
            }
        }
    }
    if replication {
        if let Some((name, _)) = locations
            .iter()
            .find(|(_, driver)| driver == "LocalStorage")
        {
            return Err(format!(
                "storage location `{name}` is LocalStorage, which cannot be used with `FEATURE_STORAGE_REPLICATION`"
            ));
        }
    }
    Ok(())
}

/// The rule of Quay's validator that needs the whole bundle, not only config.yaml: with
/// `PREFERRED_URL_SCHEME: https` and TLS not terminated in front of Quay
/// (`EXTERNAL_TLS_TERMINATION` not true), Quay serves TLS itself from `ssl.cert` and
/// `ssl.key`, which must then be in the bundle. `names` are the bundle's file names.
pub fn check_tls_files<'a>(
    text: &str,
    names: impl IntoIterator<Item = &'a str>,
) -> Result<(), String> {
    let root = yaml::load_str("config.yaml", text).map_err(|d| d.headline())?;
    let scheme = root.get("PREFERRED_URL_SCHEME").and_then(scalar);
    let external = root
        .get("EXTERNAL_TLS_TERMINATION")
        .and_then(scalar)
        .and_then(|v| yaml::parse_bool(&v))
        .unwrap_or(false);
    if scheme.as_deref() != Some("https") || external {
        return Ok(());
    }
    let names: Vec<&str> = names.into_iter().collect();
    let missing: Vec<String> = ["ssl.cert", "ssl.key"]
        .into_iter()
        .filter(|file| !names.contains(file))
        .map(|file| format!("`{file}`"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(format!(
        "`PREFERRED_URL_SCHEME` is `https` and `EXTERNAL_TLS_TERMINATION` is not `true`, so Quay serves TLS itself and the bundle needs `ssl.cert` and `ssl.key`; missing: {}",
        missing.join(", ")
    ))
}

fn scalar(node: &Node) -> Option<String> {
    match &node.value {
        Value::Str(s) => Some(s.clone()),
        Value::Int(_) | Value::Float(_) | Value::Bool(_) => Some(node.key_string()),
        _ => None,
    }
}

fn valid_hostname(name: &str) -> bool {
    let host = name.rsplit_once(':').map_or(name, |(host, port)| {
        if port.chars().all(|c| c.is_ascii_digit()) {
            host
        } else {
            name
        }
    });
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// Hide the secrets of a config file in text shown to people (diffs): the password in a
/// URI (`postgresql://user:PASSWORD@host`) and the values of keys that name a secret.
pub fn mask_secrets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        out.push_str(&mask_line(line));
    }
    out
}

fn mask_line(line: &str) -> String {
    let masked = mask_uri_password(line);
    let trimmed = masked.trim_start();
    if let Some((key, value)) = trimmed.split_once(':') {
        let upper = key.trim().trim_matches(['"', '\'']).to_ascii_uppercase();
        let secret = ["PASSWORD", "SECRET", "TOKEN", "PRIVATE"]
            .iter()
            .any(|s| upper.contains(s))
            || upper.ends_with("_KEY")
            || upper == "KEY";
        if secret && !value.trim().is_empty() && !upper.contains(' ') {
            let indent = &masked[..masked.len() - trimmed.len()];
            let newline = if masked.ends_with('\n') { "\n" } else { "" };
            return format!("{indent}{}: ********{newline}", key.trim_end());
        }
    }
    masked
}

fn mask_uri_password(line: &str) -> String {
    let Some(scheme) = line.find("://") else {
        return line.to_owned();
    };
    let rest = &line[scheme + 3..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"' || c == '\'')
        .unwrap_or(rest.len());
    let authority = &rest[..end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:********{}",
            &line[..scheme + 3],
            &authority[..colon],
            &rest[at..]
        ),
        _ => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "SERVER_HOSTNAME: quay.example.test\nPREFERRED_URL_SCHEME: http\nAUTHENTICATION_TYPE: Database\nDB_URI: postgresql://quay:pw@db/quay\nBUILDLOGS_REDIS:\n  host: redis\nUSER_EVENTS_REDIS:\n  host: redis\nDEFAULT_TAG_EXPIRATION: 2w\nTAG_EXPIRATION_OPTIONS: [2w]\nDISTRIBUTED_STORAGE_CONFIG:\n  default:\n    - LocalStorage\n    - {storage_path: /datastorage/registry}\nDISTRIBUTED_STORAGE_PREFERENCE: [default]\n";

    #[test]
    fn quay_config_checks() {
        assert_eq!(validate_config(GOOD), Ok(()));
        let bad = |from: &str, to: &str| validate_config(&GOOD.replace(from, to)).unwrap_err();
        assert_eq!(
            bad("quay.example.test", "quay_example"),
            "`SERVER_HOSTNAME` `quay_example` is not a valid host name"
        );
        assert_eq!(
            bad("DB_URI: postgresql://quay:pw@db/quay\n", ""),
            "`DB_URI` is missing: Quay's schema requires it at config.yaml:1:1"
        );
        assert_eq!(
            bad("DB_URI: postgresql://quay:pw@db/quay\n", "DB_URI: ''\n"),
            "`DB_URI` is empty"
        );
        assert_eq!(
            validate_config(&format!("{GOOD}REGISTRY_STATE: readonyl\n")).unwrap_err(),
            "`REGISTRY_STATE` must be one of `normal`, `readonly`, not `readonyl` at config.yaml:16:1"
        );
        assert_eq!(
            bad("PREFERENCE: [default]", "PREFERENCE: [usstorage]"),
            "`DISTRIBUTED_STORAGE_PREFERENCE` names `usstorage`, which is not in `DISTRIBUTED_STORAGE_CONFIG`"
        );
        assert_eq!(
            validate_config(&format!("{GOOD}FEATURE_STORAGE_REPLICATION: true\n")).unwrap_err(),
            "storage location `default` is LocalStorage, which cannot be used with `FEATURE_STORAGE_REPLICATION`"
        );
    }

    #[test]
    fn every_rule_of_quays_validator_has_its_message() {
        let bad = |from: &str, to: &str| {
            let text = GOOD.replace(from, to);
            assert_ne!(text, GOOD, "`{from}` is not in the config");
            validate_config(&text).unwrap_err()
        };
        assert_eq!(
            bad(
                "BUILDLOGS_REDIS:\n  host: redis\n",
                "BUILDLOGS_REDIS:\n  port: 6379\n"
            ),
            "`BUILDLOGS_REDIS.host` is missing: Quay's schema requires it whenever `BUILDLOGS_REDIS` is present at config.yaml:5:1"
        );
        assert_eq!(
            bad("USER_EVENTS_REDIS:\n  host: redis\n", ""),
            "`USER_EVENTS_REDIS` is missing: Quay's schema requires it at config.yaml:1:1"
        );
        assert_eq!(
            bad(
                "PREFERRED_URL_SCHEME: http\n",
                "PREFERRED_URL_SCHEME: ftp\n"
            ),
            "`PREFERRED_URL_SCHEME` must be one of `http`, `https`, not `ftp` at config.yaml:2:1"
        );
        assert_eq!(
            bad(
                "DISTRIBUTED_STORAGE_CONFIG:\n  default:\n    - LocalStorage\n    - {storage_path: /datastorage/registry}\n",
                "DISTRIBUTED_STORAGE_CONFIG: {}\n"
            ),
            "`DISTRIBUTED_STORAGE_CONFIG` needs at least one storage location"
        );
        assert_eq!(
            validate_config(&format!(
                "{GOOD}REGISTRY_STATE: readonly\nINSTANCE_SERVICE_KEY_LOCATION: conf/stack/k.pem\n"
            ))
            .unwrap_err(),
            "`REGISTRY_STATE: readonly` needs `INSTANCE_SERVICE_KEY_KID_LOCATION`"
        );
        assert_eq!(
            validate_config(&format!(
                "{GOOD}REGISTRY_STATE: readonly\nINSTANCE_SERVICE_KEY_KID_LOCATION: conf/stack/k.kid\n"
            ))
            .unwrap_err(),
            "`REGISTRY_STATE: readonly` needs `INSTANCE_SERVICE_KEY_LOCATION`"
        );
        assert_eq!(
            bad("SERVER_HOSTNAME: quay.example.test\n", ""),
            "`SERVER_HOSTNAME` is missing: Quay's schema requires it at config.yaml:1:1"
        );
    }

    #[test]
    fn https_served_by_quay_needs_its_certificate_and_key_in_the_bundle() {
        let https = GOOD.replace(
            "PREFERRED_URL_SCHEME: http\n",
            "PREFERRED_URL_SCHEME: https\n",
        );
        assert_eq!(validate_config(&https), Ok(()));
        assert_eq!(
            check_tls_files(&https, ["config.yaml", "ssl.cert"]).unwrap_err(),
            "`PREFERRED_URL_SCHEME` is `https` and `EXTERNAL_TLS_TERMINATION` is not `true`, so Quay serves TLS itself and the bundle needs `ssl.cert` and `ssl.key`; missing: `ssl.key`"
        );
        assert_eq!(
            check_tls_files(&https, ["config.yaml"]).unwrap_err(),
            "`PREFERRED_URL_SCHEME` is `https` and `EXTERNAL_TLS_TERMINATION` is not `true`, so Quay serves TLS itself and the bundle needs `ssl.cert` and `ssl.key`; missing: `ssl.cert`, `ssl.key`"
        );
        assert_eq!(
            check_tls_files(&https, ["config.yaml", "ssl.key", "ssl.cert"]),
            Ok(())
        );
        // TLS ends in front of Quay, or Quay speaks plain HTTP: no files needed.
        let terminated = format!("{https}EXTERNAL_TLS_TERMINATION: true\n");
        assert_eq!(check_tls_files(&terminated, ["config.yaml"]), Ok(()));
        let not_terminated = format!("{https}EXTERNAL_TLS_TERMINATION: false\n");
        assert!(check_tls_files(&not_terminated, ["config.yaml"]).is_err());
        assert_eq!(check_tls_files(GOOD, ["config.yaml"]), Ok(()));
    }

    #[test]
    fn secrets_are_masked() {
        assert_eq!(
            mask_secrets(
                "DB_URI: postgresql://quay:s3cret@db:5432/quay\nSECRET_KEY: abc\nSERVER_HOSTNAME: q\n"
            ),
            "DB_URI: postgresql://quay:********@db:5432/quay\nSECRET_KEY: ********\nSERVER_HOSTNAME: q\n"
        );
        assert_eq!(mask_secrets("  password: hunter2"), "  password: ********");
    }
}
