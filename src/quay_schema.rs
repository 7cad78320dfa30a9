//! The rules Quay's `CONFIG_SCHEMA` (quay/quay, `util/config/schema.py`) states for the
//! keys quayside's config template can write: which keys and sub-keys are required, their
//! JSON types, the values an enum allows and the patterns strings must match.
//!
//! Quay checks a config against this schema with `jsonschema`; these are the same facts,
//! written here as data. Keys the template never writes are not listed: the schema lets any
//! other key through, and so does this check. A few keys (`SECRET_KEY`,
//! `DATABASE_SECRET_KEY`, `SETUP_COMPLETE`, the `INSTANCE_SERVICE_KEY_*` locations) are
//! described at the schema's top level rather than under its `properties`, so `jsonschema`
//! does not apply their types; they are checked here all the same, since Quay reads them as
//! the type the schema states.

use crate::yaml::{Node, Value};

/// A JSON type as `jsonschema` tells them apart: a boolean is not a number.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Type {
    String,
    Boolean,
    Number,
    Object,
    Array,
}

impl Type {
    fn name(self) -> &'static str {
        match self {
            Type::String => "a string",
            Type::Boolean => "a boolean",
            Type::Number => "a number",
            Type::Object => "a mapping",
            Type::Array => "a list",
        }
    }

    fn admits(self, node: &Node) -> bool {
        matches!(
            (self, &node.value),
            (Type::String, Value::Str(_))
                | (Type::Boolean, Value::Bool(_))
                | (Type::Number, Value::Int(_) | Value::Float(_))
                | (Type::Object, Value::Map(_))
                | (Type::Array, Value::Seq(_))
        )
    }
}

/// One schema node: the parts of JSON Schema that `CONFIG_SCHEMA` uses for these keys.
struct Schema {
    kind: Type,
    allowed: &'static [&'static str],
    /// The one pattern these keys use: `^[0-9]+(w|m|d|h|s)$`.
    duration: bool,
    items: Option<&'static Schema>,
    properties: &'static [(&'static str, Schema)],
    required: &'static [&'static str],
}

impl Schema {
    const fn of(kind: Type) -> Schema {
        Schema {
            kind,
            allowed: &[],
            duration: false,
            items: None,
            properties: &[],
            required: &[],
        }
    }
}

const STRING: Schema = Schema::of(Type::String);
const BOOLEAN: Schema = Schema::of(Type::Boolean);
const NUMBER: Schema = Schema::of(Type::Number);
const DURATION: Schema = Schema {
    duration: true,
    ..Schema::of(Type::String)
};
const STRING_LIST: Schema = Schema {
    items: Some(&STRING),
    ..Schema::of(Type::Array)
};
const REDIS: Schema = Schema {
    properties: &[("host", STRING), ("port", NUMBER), ("password", STRING)],
    required: &["host"],
    ..Schema::of(Type::Object)
};

const DURATION_PATTERN: &str = "^[0-9]+(w|m|d|h|s)$";

/// `CONFIG_SCHEMA` for the keys of `templates/config.yaml.j2`.
static CONFIG: Schema = Schema {
    properties: &[
        (
            "PREFERRED_URL_SCHEME",
            Schema {
                allowed: &["http", "https"],
                ..STRING
            },
        ),
        ("SERVER_HOSTNAME", STRING),
        ("EXTERNAL_TLS_TERMINATION", BOOLEAN),
        ("SETUP_COMPLETE", BOOLEAN),
        (
            "AUTHENTICATION_TYPE",
            Schema {
                allowed: &["Database", "LDAP", "JWT", "Keystone", "OIDC", "AppToken"],
                ..STRING
            },
        ),
        ("SECRET_KEY", STRING),
        ("DATABASE_SECRET_KEY", STRING),
        ("DB_URI", STRING),
        (
            "DB_CONNECTION_ARGS",
            Schema {
                properties: &[
                    ("threadlocals", BOOLEAN),
                    ("autorollback", BOOLEAN),
                    (
                        "ssl",
                        Schema {
                            properties: &[("ca", STRING)],
                            required: &["ca"],
                            ..Schema::of(Type::Object)
                        },
                    ),
                ],
                required: &["threadlocals", "autorollback"],
                ..Schema::of(Type::Object)
            },
        ),
        ("BUILDLOGS_REDIS", REDIS),
        ("USER_EVENTS_REDIS", REDIS),
        ("DEFAULT_TAG_EXPIRATION", DURATION),
        (
            "TAG_EXPIRATION_OPTIONS",
            Schema {
                items: Some(&DURATION),
                ..Schema::of(Type::Array)
            },
        ),
        ("FEATURE_MAILING", BOOLEAN),
        ("FEATURE_USER_CREATION", BOOLEAN),
        ("USERFILES_LOCATION", STRING),
        ("USERFILES_PATH", STRING),
        ("LOG_ARCHIVE_LOCATION", STRING),
        ("LOG_ARCHIVE_PATH", STRING),
        ("FEATURE_STORAGE_REPLICATION", BOOLEAN),
        // The schema gives it `items: {type: array}`, which JSON Schema does not apply to
        // a mapping: only the type counts.
        ("DISTRIBUTED_STORAGE_CONFIG", Schema::of(Type::Object)),
        ("DISTRIBUTED_STORAGE_PREFERENCE", STRING_LIST),
        ("DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS", STRING_LIST),
        (
            "REGISTRY_STATE",
            Schema {
                allowed: &["normal", "readonly"],
                ..STRING
            },
        ),
        ("INSTANCE_SERVICE_KEY_KID_LOCATION", STRING),
        ("INSTANCE_SERVICE_KEY_LOCATION", STRING),
    ],
    required: &[
        "PREFERRED_URL_SCHEME",
        "SERVER_HOSTNAME",
        "DB_URI",
        "AUTHENTICATION_TYPE",
        "DISTRIBUTED_STORAGE_CONFIG",
        "BUILDLOGS_REDIS",
        "USER_EVENTS_REDIS",
        "DISTRIBUTED_STORAGE_PREFERENCE",
        "DEFAULT_TAG_EXPIRATION",
        "TAG_EXPIRATION_OPTIONS",
    ],
    ..Schema::of(Type::Object)
};

/// Check a parsed `config.yaml` against the rules above; the first rule broken is named with
/// the key's dotted path and where it was written (`config.yaml:LINE:COLUMN`).
pub fn check(root: &Node) -> Result<(), String> {
    check_node(&CONFIG, root, "", root)
}

fn check_node(schema: &Schema, node: &Node, path: &str, at: &Node) -> Result<(), String> {
    if !schema.kind.admits(node) {
        return Err(format!(
            "`{path}` must be {}, not {} at {}",
            schema.kind.name(),
            node.kind(),
            at.span
        ));
    }
    if let Value::Str(text) = &node.value {
        if !schema.allowed.is_empty() && !schema.allowed.contains(&text.as_str()) {
            let allowed: Vec<String> = schema.allowed.iter().map(|v| format!("`{v}`")).collect();
            return Err(format!(
                "`{path}` must be one of {}, not `{text}` at {}",
                allowed.join(", "),
                at.span
            ));
        }
        if schema.duration && !is_duration(text) {
            return Err(format!(
                "`{path}` `{text}` does not match `{DURATION_PATTERN}` (a whole number and \
                 one of the units w, m, d, h, s) at {}",
                at.span
            ));
        }
    }
    if let (Some(items), Value::Seq(elements)) = (schema.items, &node.value) {
        for (index, element) in elements.iter().enumerate() {
            check_node(items, element, &format!("{path}[{index}]"), element)?;
        }
    }
    if let Value::Map(entries) = &node.value {
        for required in schema.required {
            if !entries
                .iter()
                .any(|(key, _)| key.as_str() == Some(*required))
            {
                return Err(format!(
                    "`{}` is missing: Quay's schema requires it{} at {}",
                    join(path, required),
                    if path.is_empty() {
                        String::new()
                    } else {
                        format!(" whenever `{path}` is present")
                    },
                    at.span
                ));
            }
        }
        for (key, value) in entries {
            let Some(name) = key.as_str() else { continue };
            if let Some((_, property)) = schema.properties.iter().find(|(p, _)| *p == name) {
                check_node(property, value, &join(path, name), key)?;
            }
        }
    }
    Ok(())
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// `^[0-9]+(w|m|d|h|s)$`, as Python's `re.search` reads it (`$` also before a final newline,
/// which a YAML scalar of these keys cannot hold unquoted).
fn is_duration(text: &str) -> bool {
    let text = text.strip_suffix('\n').unwrap_or(text);
    match text.char_indices().last() {
        Some((last, unit)) if "wmdhs".contains(unit) => {
            last > 0 && text[..last].bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml;

    /// What `templates/config.yaml.j2` writes, with every key it can write.
    const FULL: &str = "SERVER_HOSTNAME: quay.example.test
PREFERRED_URL_SCHEME: https
EXTERNAL_TLS_TERMINATION: true
SETUP_COMPLETE: true
AUTHENTICATION_TYPE: Database
SECRET_KEY: \"s\"
DATABASE_SECRET_KEY: \"d\"
DB_URI: \"postgresql://quay:pw@db/quay\"
DB_CONNECTION_ARGS:
  autorollback: true
  threadlocals: true
BUILDLOGS_REDIS:
  host: redis
  port: 6379
USER_EVENTS_REDIS:
  host: redis
  port: 6379
DEFAULT_TAG_EXPIRATION: 2w
TAG_EXPIRATION_OPTIONS:
  - 0s
  - 1d
  - 2w
FEATURE_MAILING: false
FEATURE_USER_CREATION: true
USERFILES_LOCATION: us
USERFILES_PATH: userfiles/
LOG_ARCHIVE_LOCATION: us
LOG_ARCHIVE_PATH: logarchive/
FEATURE_STORAGE_REPLICATION: true
DISTRIBUTED_STORAGE_CONFIG:
  us:
    - S3Storage
    - {s3_bucket: \"us\"}
DISTRIBUTED_STORAGE_PREFERENCE:
  - us
DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS:
  - us
REGISTRY_STATE: readonly
INSTANCE_SERVICE_KEY_KID_LOCATION: 'conf/stack/quay-readonly.kid'
INSTANCE_SERVICE_KEY_LOCATION: 'conf/stack/quay-readonly.pem'
";

    fn checked(text: &str) -> Result<(), String> {
        check(&yaml::load_str("config.yaml", text).unwrap())
    }

    /// `FULL` with `from` replaced by `to` (which must change it), checked.
    fn broken(from: &str, to: &str) -> String {
        let text = FULL.replacen(from, to, 1);
        assert_ne!(text, FULL, "`{from}` is not in the config");
        checked(&text).unwrap_err()
    }

    /// `templates/config.yaml.j2` rendered as the playbooks render it for each host of
    /// `inventory/example.yml`, writable and read-only.
    #[test]
    fn the_example_inventorys_config_passes_in_both_modes() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let inventory =
            crate::inventory::Inventory::load(&[root.join("inventory/example.yml")]).unwrap();
        let template = std::fs::read_to_string(root.join("templates/config.yaml.j2")).unwrap();
        let hosts = crate::inventory::select(&inventory, "quay").unwrap();
        assert_eq!(hosts.len(), 4, "{hosts:?}");
        for host in hosts {
            for readonly in [false, true] {
                let mut vars = inventory.host_vars(&host);
                vars.insert("quay_readonly".to_owned(), readonly.into());
                let text = crate::template::environment()
                    .render_named_str(
                        "template",
                        &crate::template::prepare_template(&template),
                        minijinja::Value::from_serialize(&vars),
                    )
                    .unwrap();
                assert_eq!(
                    crate::quay::validate_config(&text),
                    Ok(()),
                    "{host}, read-only {readonly}:\n{text}"
                );
                let config = yaml::load_str("config.yaml", &text).unwrap();
                let args = config.get("DB_CONNECTION_ARGS").unwrap().to_json();
                assert_eq!(
                    args,
                    serde_json::json!({"autorollback": true, "threadlocals": true})
                );
                assert_eq!(
                    config.get("REGISTRY_STATE").and_then(Node::as_str),
                    readonly.then_some("readonly")
                );
            }
        }
    }

    #[test]
    fn every_key_the_template_writes_passes() {
        assert_eq!(checked(FULL), Ok(()));
        // `ssl` is optional; when present it needs `ca`.
        let ssl = FULL.replace(
            "  threadlocals: true\n",
            "  threadlocals: true\n  ssl:\n    ca: conf/stack/database.pem\n",
        );
        assert_eq!(checked(&ssl), Ok(()));
        // Keys the schema does not describe here pass, as jsonschema lets them.
        assert_eq!(checked(&format!("{FULL}SOMETHING_ELSE: [1]\n")), Ok(()));
    }

    #[test]
    fn every_required_key_is_named_with_where_it_is_missing() {
        for key in CONFIG.required {
            // The key's line and the indented lines of its value.
            let mut inside = false;
            let text: String = FULL
                .split_inclusive('\n')
                .filter(|line| {
                    if line.starts_with(&format!("{key}:")) {
                        inside = true;
                    } else if !line.starts_with(' ') {
                        inside = false;
                    }
                    !inside
                })
                .collect();
            assert_ne!(text, FULL, "{key}");
            assert_eq!(
                checked(&text).unwrap_err(),
                format!("`{key}` is missing: Quay's schema requires it at config.yaml:1:1"),
            );
        }
        assert_eq!(
            broken(
                "DB_CONNECTION_ARGS:\n  autorollback: true\n",
                "DB_CONNECTION_ARGS:\n"
            ),
            "`DB_CONNECTION_ARGS.autorollback` is missing: Quay's schema requires it whenever \
             `DB_CONNECTION_ARGS` is present at config.yaml:9:1"
        );
        assert_eq!(
            broken("  threadlocals: true\n", ""),
            "`DB_CONNECTION_ARGS.threadlocals` is missing: Quay's schema requires it whenever \
             `DB_CONNECTION_ARGS` is present at config.yaml:9:1"
        );
        // What the template wrote before: an empty mapping.
        assert_eq!(
            broken(
                "DB_CONNECTION_ARGS:\n  autorollback: true\n  threadlocals: true\n",
                "DB_CONNECTION_ARGS: {}\n"
            ),
            "`DB_CONNECTION_ARGS.threadlocals` is missing: Quay's schema requires it whenever \
             `DB_CONNECTION_ARGS` is present at config.yaml:9:1"
        );
        assert_eq!(
            broken(
                "  threadlocals: true\n",
                "  threadlocals: true\n  ssl: {verify: true}\n"
            ),
            "`DB_CONNECTION_ARGS.ssl.ca` is missing: Quay's schema requires it whenever \
             `DB_CONNECTION_ARGS.ssl` is present at config.yaml:12:3"
        );
        assert_eq!(
            broken("BUILDLOGS_REDIS:\n  host: redis\n", "BUILDLOGS_REDIS:\n"),
            "`BUILDLOGS_REDIS.host` is missing: Quay's schema requires it whenever \
             `BUILDLOGS_REDIS` is present at config.yaml:12:1"
        );
        assert_eq!(
            broken(
                "USER_EVENTS_REDIS:\n  host: redis\n",
                "USER_EVENTS_REDIS:\n"
            ),
            "`USER_EVENTS_REDIS.host` is missing: Quay's schema requires it whenever \
             `USER_EVENTS_REDIS` is present at config.yaml:15:1"
        );
    }

    #[test]
    fn every_type_is_checked_with_the_key_and_its_line() {
        let cases = [
            (
                "SERVER_HOSTNAME: quay.example.test",
                "SERVER_HOSTNAME: 8080",
                "`SERVER_HOSTNAME` must be a string, not a number at config.yaml:1:1",
            ),
            (
                "EXTERNAL_TLS_TERMINATION: true",
                "EXTERNAL_TLS_TERMINATION: \"true\"",
                "`EXTERNAL_TLS_TERMINATION` must be a boolean, not a string at config.yaml:3:1",
            ),
            (
                "SETUP_COMPLETE: true",
                "SETUP_COMPLETE: 1",
                "`SETUP_COMPLETE` must be a boolean, not a number at config.yaml:4:1",
            ),
            (
                "SECRET_KEY: \"s\"",
                "SECRET_KEY: 12345",
                "`SECRET_KEY` must be a string, not a number at config.yaml:6:1",
            ),
            (
                "DATABASE_SECRET_KEY: \"d\"",
                "DATABASE_SECRET_KEY: [d]",
                "`DATABASE_SECRET_KEY` must be a string, not a list at config.yaml:7:1",
            ),
            (
                "DB_URI: \"postgresql://quay:pw@db/quay\"",
                "DB_URI: {host: db}",
                "`DB_URI` must be a string, not a mapping at config.yaml:8:1",
            ),
            (
                "DB_CONNECTION_ARGS:\n  autorollback: true\n  threadlocals: true",
                "DB_CONNECTION_ARGS: []",
                "`DB_CONNECTION_ARGS` must be a mapping, not a list at config.yaml:9:1",
            ),
            (
                "  autorollback: true",
                "  autorollback: yes please",
                "`DB_CONNECTION_ARGS.autorollback` must be a boolean, not a string at config.yaml:10:3",
            ),
            (
                "  threadlocals: true",
                "  threadlocals: 1",
                "`DB_CONNECTION_ARGS.threadlocals` must be a boolean, not a number at config.yaml:11:3",
            ),
            (
                "  threadlocals: true",
                "  threadlocals: true\n  ssl: conf/stack/ca.pem",
                "`DB_CONNECTION_ARGS.ssl` must be a mapping, not a string at config.yaml:12:3",
            ),
            (
                "  threadlocals: true",
                "  threadlocals: true\n  ssl: {ca: 1}",
                "`DB_CONNECTION_ARGS.ssl.ca` must be a string, not a number at config.yaml:12:9",
            ),
            (
                "BUILDLOGS_REDIS:\n  host: redis\n  port: 6379",
                "BUILDLOGS_REDIS: redis:6379",
                "`BUILDLOGS_REDIS` must be a mapping, not a string at config.yaml:12:1",
            ),
            (
                "  host: redis\n  port: 6379\nUSER",
                "  host: 10\n  port: 6379\nUSER",
                "`BUILDLOGS_REDIS.host` must be a string, not a number at config.yaml:13:3",
            ),
            (
                "  port: 6379\nUSER",
                "  port: \"6379\"\nUSER",
                "`BUILDLOGS_REDIS.port` must be a number, not a string at config.yaml:14:3",
            ),
            (
                "  port: 6379\nUSER",
                "  port: 6379\n  password: 42\nUSER",
                "`BUILDLOGS_REDIS.password` must be a string, not a number at config.yaml:15:3",
            ),
            (
                "USER_EVENTS_REDIS:\n  host: redis",
                "USER_EVENTS_REDIS:\n  host: [redis]",
                "`USER_EVENTS_REDIS.host` must be a string, not a list at config.yaml:16:3",
            ),
            (
                "  port: 6379\nDEFAULT",
                "  port: true\nDEFAULT",
                "`USER_EVENTS_REDIS.port` must be a number, not a boolean at config.yaml:17:3",
            ),
            (
                "DEFAULT_TAG_EXPIRATION: 2w",
                "DEFAULT_TAG_EXPIRATION: 14",
                "`DEFAULT_TAG_EXPIRATION` must be a string, not a number at config.yaml:18:1",
            ),
            (
                "TAG_EXPIRATION_OPTIONS:\n  - 0s\n  - 1d\n  - 2w",
                "TAG_EXPIRATION_OPTIONS: 2w",
                "`TAG_EXPIRATION_OPTIONS` must be a list, not a string at config.yaml:19:1",
            ),
            (
                "  - 1d",
                "  - 1",
                "`TAG_EXPIRATION_OPTIONS[1]` must be a string, not a number at config.yaml:21:5",
            ),
            (
                "FEATURE_MAILING: false",
                "FEATURE_MAILING: \"false\"",
                "`FEATURE_MAILING` must be a boolean, not a string at config.yaml:23:1",
            ),
            (
                "FEATURE_USER_CREATION: true",
                "FEATURE_USER_CREATION: null",
                "`FEATURE_USER_CREATION` must be a boolean, not null at config.yaml:24:1",
            ),
            (
                "USERFILES_LOCATION: us",
                "USERFILES_LOCATION: 1",
                "`USERFILES_LOCATION` must be a string, not a number at config.yaml:25:1",
            ),
            (
                "USERFILES_PATH: userfiles/",
                "USERFILES_PATH: [userfiles]",
                "`USERFILES_PATH` must be a string, not a list at config.yaml:26:1",
            ),
            (
                "LOG_ARCHIVE_LOCATION: us",
                "LOG_ARCHIVE_LOCATION: true",
                "`LOG_ARCHIVE_LOCATION` must be a string, not a boolean at config.yaml:27:1",
            ),
            (
                "LOG_ARCHIVE_PATH: logarchive/",
                "LOG_ARCHIVE_PATH: 0",
                "`LOG_ARCHIVE_PATH` must be a string, not a number at config.yaml:28:1",
            ),
            (
                "FEATURE_STORAGE_REPLICATION: true",
                "FEATURE_STORAGE_REPLICATION: \"yes\"",
                "`FEATURE_STORAGE_REPLICATION` must be a boolean, not a string at config.yaml:29:1",
            ),
            (
                "DISTRIBUTED_STORAGE_CONFIG:\n  us:\n    - S3Storage\n    - {s3_bucket: \"us\"}",
                "DISTRIBUTED_STORAGE_CONFIG: [us]",
                "`DISTRIBUTED_STORAGE_CONFIG` must be a mapping, not a list at config.yaml:30:1",
            ),
            (
                "DISTRIBUTED_STORAGE_PREFERENCE:\n  - us",
                "DISTRIBUTED_STORAGE_PREFERENCE: us",
                "`DISTRIBUTED_STORAGE_PREFERENCE` must be a list, not a string at config.yaml:34:1",
            ),
            (
                "DISTRIBUTED_STORAGE_PREFERENCE:\n  - us",
                "DISTRIBUTED_STORAGE_PREFERENCE:\n  - 1",
                "`DISTRIBUTED_STORAGE_PREFERENCE[0]` must be a string, not a number at config.yaml:35:5",
            ),
            (
                "DEFAULT_LOCATIONS:\n  - us",
                "DEFAULT_LOCATIONS:\n  - {us: 1}",
                "`DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS[0]` must be a string, not a mapping at config.yaml:37:5",
            ),
            (
                "DEFAULT_LOCATIONS:\n  - us",
                "DEFAULT_LOCATIONS: {}",
                "`DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS` must be a list, not a mapping at config.yaml:36:1",
            ),
            (
                "REGISTRY_STATE: readonly",
                "REGISTRY_STATE: false",
                "`REGISTRY_STATE` must be a string, not a boolean at config.yaml:38:1",
            ),
            (
                "KID_LOCATION: 'conf/stack/quay-readonly.kid'",
                "KID_LOCATION: 7",
                "`INSTANCE_SERVICE_KEY_KID_LOCATION` must be a string, not a number at config.yaml:39:1",
            ),
            (
                "KEY_LOCATION: 'conf/stack/quay-readonly.pem'",
                "KEY_LOCATION: {}",
                "`INSTANCE_SERVICE_KEY_LOCATION` must be a string, not a mapping at config.yaml:40:1",
            ),
        ];
        for (from, to, message) in cases {
            assert_eq!(broken(from, to), message, "{to}");
        }
    }

    #[test]
    fn enums_and_patterns_are_checked_with_the_key_and_its_line() {
        assert_eq!(
            broken("PREFERRED_URL_SCHEME: https", "PREFERRED_URL_SCHEME: ftp"),
            "`PREFERRED_URL_SCHEME` must be one of `http`, `https`, not `ftp` at config.yaml:2:1"
        );
        assert_eq!(
            broken(
                "AUTHENTICATION_TYPE: Database",
                "AUTHENTICATION_TYPE: database"
            ),
            "`AUTHENTICATION_TYPE` must be one of `Database`, `LDAP`, `JWT`, `Keystone`, \
             `OIDC`, `AppToken`, not `database` at config.yaml:5:1"
        );
        assert_eq!(
            broken("REGISTRY_STATE: readonly", "REGISTRY_STATE: readonyl"),
            "`REGISTRY_STATE` must be one of `normal`, `readonly`, not `readonyl` at config.yaml:38:1"
        );
        assert_eq!(
            broken(
                "DEFAULT_TAG_EXPIRATION: 2w",
                "DEFAULT_TAG_EXPIRATION: 2 weeks"
            ),
            "`DEFAULT_TAG_EXPIRATION` `2 weeks` does not match `^[0-9]+(w|m|d|h|s)$` (a whole \
             number and one of the units w, m, d, h, s) at config.yaml:18:1"
        );
        assert_eq!(
            broken("  - 2w", "  - 2y"),
            "`TAG_EXPIRATION_OPTIONS[2]` `2y` does not match `^[0-9]+(w|m|d|h|s)$` (a whole \
             number and one of the units w, m, d, h, s) at config.yaml:22:5"
        );
        for good in ["0s", "10m", "24h", "1d", "52w"] {
            assert!(is_duration(good), "{good}");
        }
        for bad in ["", "w", "2", "-1d", "1.5d", "2W", "2 w", "1dd", "٣d"] {
            assert!(!is_duration(bad), "{bad}");
        }
    }
}
