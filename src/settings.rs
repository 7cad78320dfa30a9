//! Settings that come from the environment and config files rather than flags.

use std::path::PathBuf;

/// Settings resolved once, before any command runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Check SSH host keys (the default). Turned off only by `QUAYSIDE_HOST_KEY_CHECKING=false`
    /// or `host_key_checking = false` in a config file.
    pub host_key_checking: bool,
    /// The default vault password file: ANSIBLE_VAULT_PASSWORD_FILE, or
    /// `vault_password_file` in the config file (relative to the file).
    pub vault_password_file: Option<PathBuf>,
    /// Vault ids tried before those of `--vault-id`: ANSIBLE_VAULT_IDENTITY_LIST, or
    /// `vault_identity_list` in the config file (comma separated).
    pub vault_identity_list: Vec<String>,
}

impl Settings {
    /// Read `./quayside.cfg`, then `~/.quayside.cfg`, then the environment (which wins).
    pub fn load() -> Settings {
        let mut settings = Settings {
            host_key_checking: true,
            vault_password_file: None,
            vault_identity_list: Vec::new(),
        };
        let home = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".quayside.cfg"));
        for path in [Some(PathBuf::from("quayside.cfg")), home]
            .into_iter()
            .flatten()
        {
            if let Ok(text) = std::fs::read_to_string(&path) {
                settings.apply_file(&text);
                if let (Some(file), Some(dir)) = (&settings.vault_password_file, path.parent()) {
                    settings.vault_password_file = Some(dir.join(file));
                }
                break;
            }
        }
        if let Ok(value) = std::env::var("QUAYSIDE_HOST_KEY_CHECKING") {
            if let Some(enabled) = crate::yaml::parse_bool(&value) {
                settings.host_key_checking = enabled;
            }
        }
        if let Some(file) =
            std::env::var_os("ANSIBLE_VAULT_PASSWORD_FILE").filter(|f| !f.is_empty())
        {
            settings.vault_password_file = Some(PathBuf::from(file));
        }
        if let Ok(list) = std::env::var("ANSIBLE_VAULT_IDENTITY_LIST") {
            settings.vault_identity_list = comma_list(&list);
        }
        settings
    }

    /// `key = value` lines (an INI file with or without `[defaults]`).
    fn apply_file(&mut self, text: &str) {
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            if key.trim() == "vault_password_file" && !value.trim().is_empty() {
                self.vault_password_file = Some(PathBuf::from(value.trim()));
            }
            if key.trim() == "vault_identity_list" {
                self.vault_identity_list = comma_list(value);
            }
            if key.trim() == "host_key_checking" {
                if let Some(enabled) = crate::yaml::parse_bool(value.trim()) {
                    self.host_key_checking = enabled;
                }
            }
        }
    }
}

/// A list setting: comma separated, blanks dropped.
fn comma_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}
