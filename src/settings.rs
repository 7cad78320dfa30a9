//! Settings that come from the environment and `ansible.cfg` rather than flags, found and
//! read as ansible-core finds and reads them.
//!
//! The file is the first that exists of `$ANSIBLE_CONFIG` (a file, or a directory holding
//! `ansible.cfg`), `./ansible.cfg` (passed over, with a warning, when the current directory
//! is world-writable), `~/.ansible.cfg` and `/etc/ansible/ansible.cfg`; only that one is
//! read. Each setting's `ANSIBLE_*` variable wins over the file, and a command-line option
//! wins over both (the caller applies those). Relative paths in the file are relative to
//! the file's directory, as in Ansible.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::Diagnostic;
use crate::source::{SourceFile, Span};

/// Settings resolved once, before any command runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The configuration file read, if any.
    pub config_file: Option<PathBuf>,
    /// What the user should know about the configuration (settings quayside does not use,
    /// a world-writable directory's `ansible.cfg` passed over).
    pub warnings: Vec<String>,
    /// `[defaults] inventory` / `ANSIBLE_INVENTORY`: used when no `-i` is given.
    pub inventory: Vec<PathBuf>,
    /// `[defaults] roles_path` / `ANSIBLE_ROLES_PATH`, Ansible's default when unset.
    pub roles_path: Vec<PathBuf>,
    /// `[defaults] collections_path` / `ANSIBLE_COLLECTIONS_PATH`.
    pub collections_path: Vec<PathBuf>,
    /// `[defaults] library` / `ANSIBLE_LIBRARY`: where the user's modules are looked for
    /// (after `library/` beside the playbook and in the task's role), Ansible's default
    /// when unset.
    pub library: Vec<PathBuf>,
    /// `[defaults] vault_password_file` / `ANSIBLE_VAULT_PASSWORD_FILE` (relative to the
    /// config file).
    pub vault_password_file: Option<PathBuf>,
    /// Vault ids tried before those of `--vault-id`: `[defaults] vault_identity_list` /
    /// `ANSIBLE_VAULT_IDENTITY_LIST` (comma separated).
    pub vault_identity_list: Vec<String>,
    /// `[defaults] remote_user` / `ANSIBLE_REMOTE_USER`: the SSH user when a host sets no
    /// `ansible_user`.
    pub remote_user: Option<String>,
    /// `[defaults] forks` / `ANSIBLE_FORKS`, when set.
    pub forks: Option<u32>,
    /// `[defaults] strategy` / `ANSIBLE_STRATEGY`: the strategy of plays that name none.
    pub strategy: crate::playbook::Strategy,
    /// Check SSH host keys (the default). `[defaults] host_key_checking` /
    /// `ANSIBLE_HOST_KEY_CHECKING` (and quayside's own `QUAYSIDE_HOST_KEY_CHECKING`).
    pub host_key_checking: bool,
    /// `[defaults] timeout` / `ANSIBLE_TIMEOUT`: the connection timeout in seconds.
    pub timeout: Option<u64>,
    /// `[defaults] retry_files_enabled` / `ANSIBLE_RETRY_FILES_ENABLED`, when set.
    pub retry_files_enabled: Option<bool>,
    /// `[defaults] force_handlers` / `ANSIBLE_FORCE_HANDLERS`: `--force-handlers`.
    pub force_handlers: bool,
    /// `[privilege_escalation] become` / `ANSIBLE_BECOME`.
    pub r#become: bool,
    /// `[ssh_connection] pipelining` / `ANSIBLE_PIPELINING`, when set: `False` turns
    /// quayside's pipelining (the next tasks sent before the answers come back) off.
    pub pipelining: Option<bool>,
    /// `[privilege_escalation] become_user` / `ANSIBLE_BECOME_USER`.
    pub become_user: Option<String>,
    /// `[ssh_connection] ssh_args` / `ANSIBLE_SSH_ARGS`, split as a shell would, without
    /// the `Control*` options (quayside keeps its own master connection per host).
    pub ssh_args: Vec<String>,
    /// How inventory directories are read: `inventory_ignore_extensions`,
    /// `inventory_ignore_patterns`, `[inventory] any_unparsed_is_failed` and their variables.
    pub inventory_dirs: crate::inventory::DirRules,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            config_file: None,
            warnings: Vec::new(),
            inventory: Vec::new(),
            roles_path: default_paths(
                "~/.ansible/roles:/usr/share/ansible/roles:/etc/ansible/roles",
            ),
            collections_path: default_paths(
                "~/.ansible/collections:/usr/share/ansible/collections",
            ),
            library: default_paths("~/.ansible/plugins/modules:/usr/share/ansible/plugins/modules"),
            vault_password_file: None,
            vault_identity_list: Vec::new(),
            remote_user: None,
            forks: None,
            strategy: crate::playbook::Strategy::Linear,
            host_key_checking: true,
            timeout: None,
            retry_files_enabled: None,
            force_handlers: false,
            r#become: false,
            pipelining: None,
            become_user: None,
            ssh_args: Vec::new(),
            inventory_dirs: crate::inventory::DirRules::default(),
        }
    }
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// `~` at the start of a path is the home directory.
fn expand_user(path: &str) -> PathBuf {
    match (path.strip_prefix('~'), home()) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            home.join(rest.trim_start_matches('/'))
        }
        _ => PathBuf::from(path),
    }
}

fn default_paths(list: &str) -> Vec<PathBuf> {
    list.split(':').map(expand_user).collect()
}

/// What type a setting's value has, and so how it is read.
#[derive(Clone, Copy)]
enum Kind {
    Bool,
    Int,
    Str,
    /// One path, relative to the config file.
    Path,
    /// Paths separated by `,` (Ansible's `pathlist`).
    PathList,
    /// Paths separated by `:` (Ansible's `pathspec`).
    PathSpec,
    /// Words separated by `,` (Ansible's `list`).
    List,
}

/// Every setting quayside reads: its section and key in `ansible.cfg`, its variables
/// (first wins), its Ansible name for messages, and its type.
struct Def {
    section: &'static str,
    keys: &'static [&'static str],
    env: &'static [&'static str],
    name: &'static str,
    kind: Kind,
}

const DEFS: &[Def] = &[
    Def {
        section: "defaults",
        keys: &["inventory", "hostfile"],
        env: &["ANSIBLE_INVENTORY"],
        name: "DEFAULT_HOST_LIST",
        kind: Kind::PathList,
    },
    Def {
        section: "defaults",
        keys: &["roles_path"],
        env: &["ANSIBLE_ROLES_PATH"],
        name: "DEFAULT_ROLES_PATH",
        kind: Kind::PathSpec,
    },
    Def {
        section: "defaults",
        keys: &["collections_path", "collections_paths"],
        env: &["ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS"],
        name: "COLLECTIONS_PATHS",
        kind: Kind::PathSpec,
    },
    Def {
        section: "defaults",
        keys: &["library"],
        env: &["ANSIBLE_LIBRARY"],
        name: "DEFAULT_MODULE_PATH",
        kind: Kind::PathSpec,
    },
    Def {
        section: "defaults",
        keys: &["vault_password_file"],
        env: &["ANSIBLE_VAULT_PASSWORD_FILE"],
        name: "DEFAULT_VAULT_PASSWORD_FILE",
        kind: Kind::Path,
    },
    Def {
        section: "defaults",
        keys: &["vault_identity_list"],
        env: &["ANSIBLE_VAULT_IDENTITY_LIST"],
        name: "DEFAULT_VAULT_IDENTITY_LIST",
        kind: Kind::List,
    },
    Def {
        section: "defaults",
        keys: &["remote_user"],
        env: &["ANSIBLE_REMOTE_USER"],
        name: "DEFAULT_REMOTE_USER",
        kind: Kind::Str,
    },
    Def {
        section: "defaults",
        keys: &["forks"],
        env: &["ANSIBLE_FORKS"],
        name: "DEFAULT_FORKS",
        kind: Kind::Int,
    },
    Def {
        section: "defaults",
        keys: &["strategy"],
        env: &["ANSIBLE_STRATEGY"],
        name: "DEFAULT_STRATEGY",
        kind: Kind::Str,
    },
    Def {
        section: "defaults",
        keys: &["host_key_checking"],
        env: &["ANSIBLE_HOST_KEY_CHECKING", "QUAYSIDE_HOST_KEY_CHECKING"],
        name: "HOST_KEY_CHECKING",
        kind: Kind::Bool,
    },
    Def {
        section: "defaults",
        keys: &["timeout"],
        env: &["ANSIBLE_TIMEOUT"],
        name: "DEFAULT_TIMEOUT",
        kind: Kind::Int,
    },
    Def {
        section: "defaults",
        keys: &["force_handlers"],
        env: &["ANSIBLE_FORCE_HANDLERS"],
        name: "DEFAULT_FORCE_HANDLERS",
        kind: Kind::Bool,
    },
    Def {
        section: "defaults",
        keys: &["retry_files_enabled"],
        env: &["ANSIBLE_RETRY_FILES_ENABLED"],
        name: "RETRY_FILES_ENABLED",
        kind: Kind::Bool,
    },
    Def {
        section: "privilege_escalation",
        keys: &["become"],
        env: &["ANSIBLE_BECOME"],
        name: "DEFAULT_BECOME",
        kind: Kind::Bool,
    },
    Def {
        section: "privilege_escalation",
        keys: &["become_user"],
        env: &["ANSIBLE_BECOME_USER"],
        name: "DEFAULT_BECOME_USER",
        kind: Kind::Str,
    },
    Def {
        section: "privilege_escalation",
        keys: &["become_method"],
        env: &["ANSIBLE_BECOME_METHOD"],
        name: "DEFAULT_BECOME_METHOD",
        kind: Kind::Str,
    },
    Def {
        section: "privilege_escalation",
        keys: &["become_ask_pass"],
        env: &["ANSIBLE_BECOME_ASK_PASS"],
        name: "DEFAULT_BECOME_ASK_PASS",
        kind: Kind::Bool,
    },
    Def {
        section: "ssh_connection",
        keys: &["ssh_args"],
        env: &["ANSIBLE_SSH_ARGS"],
        name: "ssh_args",
        kind: Kind::Str,
    },
    Def {
        section: "ssh_connection",
        keys: &["pipelining"],
        env: &["ANSIBLE_PIPELINING", "ANSIBLE_SSH_PIPELINING"],
        name: "pipelining",
        kind: Kind::Bool,
    },
    Def {
        section: "ssh_connection",
        keys: &["control_path"],
        env: &["ANSIBLE_SSH_CONTROL_PATH"],
        name: "control_path",
        kind: Kind::Str,
    },
    Def {
        section: "ssh_connection",
        keys: &["control_path_dir"],
        env: &["ANSIBLE_SSH_CONTROL_PATH_DIR"],
        name: "control_path_dir",
        kind: Kind::Str,
    },
    Def {
        section: "defaults",
        keys: &["inventory_ignore_extensions"],
        env: &["ANSIBLE_INVENTORY_IGNORE"],
        name: "INVENTORY_IGNORE_EXTS",
        kind: Kind::List,
    },
    Def {
        section: "inventory",
        keys: &["ignore_extensions"],
        env: &["ANSIBLE_INVENTORY_IGNORE"],
        name: "INVENTORY_IGNORE_EXTS",
        kind: Kind::List,
    },
    Def {
        section: "defaults",
        keys: &["inventory_ignore_patterns"],
        env: &["ANSIBLE_INVENTORY_IGNORE_REGEX"],
        name: "INVENTORY_IGNORE_PATTERNS",
        kind: Kind::List,
    },
    Def {
        section: "inventory",
        keys: &["ignore_patterns"],
        env: &["ANSIBLE_INVENTORY_IGNORE_REGEX"],
        name: "INVENTORY_IGNORE_PATTERNS",
        kind: Kind::List,
    },
    Def {
        section: "inventory",
        keys: &["any_unparsed_is_failed"],
        env: &["ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED"],
        name: "INVENTORY_ANY_UNPARSED_IS_FAILED",
        kind: Kind::Bool,
    },
];

/// One value as written: its text and where (a config line, or a variable).
struct Raw {
    text: String,
    span: Option<Span>,
    origin: String,
}

/// `[section] key = value` entries of an INI file as Python's configparser reads them
/// (with Ansible's `;` inline comments): keys lowercased, with where the value starts.
/// `control_path` and `control_path_dir` are read and change nothing: quayside keeps one
/// SSH master and one shell per host for the whole run and names its own control sockets.
/// `pipelining = False` turns quayside's own pipelining off (`runner/pipeline.rs`).
struct Ini {
    entries: Vec<(String, String, String, u32, u32)>,
}

fn parse_ini(file: &Arc<SourceFile>, text: &str) -> Result<Ini, Diagnostic> {
    let mut entries: Vec<(String, String, String, u32, u32)> = Vec::new();
    let mut section: Option<String> = None;
    for (index, line) in text.lines().enumerate() {
        let number = index as u32 + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        // A line that starts with blanks continues the value above, as in configparser.
        if line.starts_with([' ', '\t']) {
            if let Some(last) = entries.last_mut() {
                last.2.push('\n');
                last.2.push_str(strip_inline_comment(trimmed));
                continue;
            }
        }
        if let Some(rest) = trimmed.strip_prefix('[') {
            let Some(name) = rest.strip_suffix(']') else {
                let column = line.find('[').unwrap_or(0) as u32 + 1;
                return Err(Diagnostic::at(
                    "a section header must end with `]`",
                    Span::new(file.clone(), number, column, trimmed.len() as u32),
                ));
            };
            section = Some(name.trim().to_owned());
            continue;
        }
        let split = match (line.find('='), line.find(':')) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let Some(at) = split else {
            let column = (line.len() - line.trim_start().len()) as u32 + 1;
            return Err(Diagnostic::at(
                "expected `key = value`",
                Span::new(file.clone(), number, column, trimmed.len() as u32),
            ));
        };
        let Some(section) = &section else {
            return Err(Diagnostic::at(
                "a setting must come after a section header such as `[defaults]`",
                Span::new(file.clone(), number, 1, trimmed.len() as u32),
            ));
        };
        let key = line[..at].trim().to_lowercase();
        let after = &line[at + 1..];
        let value = strip_inline_comment(after.trim());
        let column = (at + 1 + (after.len() - after.trim_start().len())) as u32 + 1;
        entries.push((section.clone(), key, value.to_owned(), number, column));
    }
    Ok(Ini { entries })
}

/// `value ; comment` → `value` (configparser's inline comments need a blank before `;`).
fn strip_inline_comment(value: &str) -> &str {
    let bytes = value.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b';' && i > 0 && bytes[i - 1].is_ascii_whitespace() {
            return value[..i].trim_end();
        }
    }
    value
}

/// Where Ansible looks for its configuration, in order; the first that exists is read.
fn find_config(warnings: &mut Vec<String>) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ANSIBLE_CONFIG").filter(|p| !p.is_empty()) {
        let mut path = expand_user(&path.to_string_lossy());
        if path.is_dir() {
            path = path.join("ansible.cfg");
        }
        if path.is_file() {
            return Some(path);
        }
    }
    let local = PathBuf::from("ansible.cfg");
    if local.is_file() {
        if world_writable(Path::new(".")) {
            let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
            warnings.push(format!(
                "Ansible is being run in a world writable directory ({}), ignoring it as an \
                 ansible.cfg source.",
                cwd.display()
            ));
        } else {
            return Some(local);
        }
    }
    if let Some(home) = home() {
        let path = home.join(".ansible.cfg");
        if path.is_file() {
            return Some(path);
        }
    }
    let path = PathBuf::from("/etc/ansible/ansible.cfg");
    path.is_file().then_some(path)
}

fn world_writable(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o002 != 0)
}

impl Settings {
    /// The inventory sources of a run: `-i` when given, else the configured ones.
    pub fn inventory_sources(&self, given: &[PathBuf]) -> Vec<PathBuf> {
        if given.is_empty() {
            self.inventory.clone()
        } else {
            given.to_vec()
        }
    }

    /// `--forks` when given, else the configured forks, else 50.
    pub fn forks(&self, given: Option<u32>) -> usize {
        given.or(self.forks).unwrap_or(50) as usize
    }

    /// The connection settings of a run, `--timeout` winning over the configured one.
    pub fn connect(&self, timeout: Option<u64>) -> crate::runner::ConnectSettings {
        crate::runner::ConnectSettings {
            host_key_checking: self.host_key_checking,
            connect_timeout: std::time::Duration::from_secs(
                timeout.or(self.timeout).unwrap_or(10).max(1),
            ),
            remote_user: self.remote_user.clone(),
            ssh_args: self.ssh_args.clone(),
        }
    }

    /// Find and read the configuration, then the environment (which wins).
    pub fn load() -> Result<Settings, Diagnostic> {
        let mut settings = Settings::default();
        let file = find_config(&mut settings.warnings);
        let mut from_file: Vec<(&Def, Raw)> = Vec::new();
        let mut base = PathBuf::from(".");
        if let Some(path) = &file {
            let source = SourceFile::read(path)?;
            let text = source.text.clone();
            let ini = parse_ini(&source, &text)?;
            base = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            let mut unused: Vec<String> = Vec::new();
            for (section, key, value, line, column) in ini.entries {
                let def = DEFS
                    .iter()
                    .find(|d| d.section == section && d.keys.contains(&key.as_str()))
                    // `pipelining` is also read from `[defaults]` and `[connection]`.
                    .or_else(|| {
                        (key == "pipelining"
                            && matches!(section.as_str(), "defaults" | "connection"))
                        .then(|| DEFS.iter().find(|d| d.name == "pipelining"))
                        .flatten()
                    });
                match def {
                    Some(def) => {
                        let span =
                            Span::new(source.clone(), line, column, value.len().max(1) as u32);
                        from_file.retain(|(d, _)| d.name != def.name);
                        from_file.push((
                            def,
                            Raw {
                                text: value,
                                span: Some(span),
                                origin: path.display().to_string(),
                            },
                        ));
                    }
                    None => unused.push(format!("[{section}] {key} (line {line})")),
                }
            }
            if !unused.is_empty() {
                settings.warnings.push(format!(
                    "quayside does not use these settings of {}: {}",
                    path.display(),
                    unused.join(", ")
                ));
            }
        }
        settings.config_file = file;
        for def in DEFS {
            let from_env = def.env.iter().find_map(|name| {
                std::env::var(name).ok().map(|text| Raw {
                    text,
                    span: None,
                    origin: format!("env: {name}"),
                })
            });
            let (raw, relative_to) = match from_env {
                Some(raw) => (raw, PathBuf::from(".")),
                None => match from_file.iter().position(|(d, _)| d.name == def.name) {
                    Some(at) => (from_file.swap_remove(at).1, base.clone()),
                    None => continue,
                },
            };
            settings.apply(def, &raw, &relative_to)?;
        }
        Ok(settings)
    }

    fn apply(&mut self, def: &Def, raw: &Raw, base: &Path) -> Result<(), Diagnostic> {
        let invalid = |kind: &str| {
            let message = format!(
                "setting `{}` from `{}` has an invalid value: expected {kind}, found `{}`",
                def.keys[0], raw.origin, raw.text
            );
            match &raw.span {
                Some(span) => Diagnostic::at(message, span.clone()),
                None => Diagnostic::new(message),
            }
        };
        let text = raw.text.trim();
        let path = |p: &str| {
            let p = expand_user(p.trim());
            if p.is_relative() && base != Path::new(".") {
                base.join(p)
            } else {
                p
            }
        };
        match def.kind {
            Kind::Bool => {
                let value = crate::yaml::parse_bool(text).ok_or_else(|| invalid("a boolean"))?;
                match def.name {
                    "HOST_KEY_CHECKING" => self.host_key_checking = value,
                    "RETRY_FILES_ENABLED" => self.retry_files_enabled = Some(value),
                    "DEFAULT_FORCE_HANDLERS" => self.force_handlers = value,
                    "DEFAULT_BECOME" => self.r#become = value,
                    "pipelining" => self.pipelining = Some(value),
                    "INVENTORY_ANY_UNPARSED_IS_FAILED" => {
                        self.inventory_dirs.any_unparsed_is_failed = value
                    }
                    "DEFAULT_BECOME_ASK_PASS" if value => {
                        let message = "quayside cannot ask for a become password \
                                       (`become_ask_pass`); let sudo run without one for this user";
                        return Err(match &raw.span {
                            Some(span) => Diagnostic::at(message, span.clone()),
                            None => Diagnostic::new(message),
                        });
                    }
                    _ => {}
                }
            }
            Kind::Int => {
                let value: u64 = text.parse().map_err(|_| invalid("a whole number"))?;
                match def.name {
                    "DEFAULT_FORKS" => {
                        self.forks = Some(
                            u32::try_from(value)
                                .ok()
                                .filter(|f| *f > 0)
                                .ok_or_else(|| invalid("a number of forks from 1"))?,
                        );
                    }
                    "DEFAULT_TIMEOUT" => self.timeout = Some(value),
                    _ => {}
                }
            }
            Kind::Str => match def.name {
                "DEFAULT_REMOTE_USER" => self.remote_user = Some(text.to_owned()),
                "DEFAULT_BECOME_USER" => self.become_user = Some(text.to_owned()),
                "DEFAULT_STRATEGY" => {
                    self.strategy = crate::playbook::Strategy::named(text)
                        .ok_or_else(|| invalid("`linear`, `free` or `host_pinned`"))?;
                }
                "DEFAULT_BECOME_METHOD" if text != "sudo" => {
                    let message = format!(
                        "quayside becomes another user with sudo only; `become_method` is `{text}`"
                    );
                    return Err(match &raw.span {
                        Some(span) => Diagnostic::at(message, span.clone()),
                        None => Diagnostic::new(message),
                    });
                }
                "ssh_args" => {
                    let words = shell_words::split(text).map_err(|_| invalid("SSH options"))?;
                    self.ssh_args = without_control_options(words);
                }
                _ => {}
            },
            Kind::Path => {
                if def.name == "DEFAULT_VAULT_PASSWORD_FILE" && !text.is_empty() {
                    self.vault_password_file = Some(path(text));
                }
            }
            Kind::PathList => {
                self.inventory = text
                    .split(',')
                    .filter(|p| !p.trim().is_empty())
                    .map(path)
                    .collect();
            }
            Kind::List => {
                let words: Vec<String> = text
                    .split(',')
                    .map(str::trim)
                    .filter(|w| !w.is_empty())
                    .map(str::to_owned)
                    .collect();
                if def.name == "DEFAULT_VAULT_IDENTITY_LIST" {
                    self.vault_identity_list = words;
                } else if def.name == "INVENTORY_IGNORE_EXTS" {
                    self.inventory_dirs.ignore_extensions = words;
                } else {
                    self.inventory_dirs.ignore_patterns = words
                        .iter()
                        .map(|w| regex::Regex::new(w).map_err(|_| invalid("regular expressions")))
                        .collect::<Result<_, _>>()?;
                }
            }
            Kind::PathSpec => {
                let paths = text
                    .split(':')
                    .filter(|p| !p.trim().is_empty())
                    .map(path)
                    .collect();
                match def.name {
                    "DEFAULT_ROLES_PATH" => self.roles_path = paths,
                    "COLLECTIONS_PATHS" => self.collections_path = paths,
                    "DEFAULT_MODULE_PATH" => self.library = paths,
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

/// SSH options without `ControlMaster`, `ControlPersist` and `ControlPath` (in `-o X=Y`,
/// `-oX=Y` or `-o X Y` form): quayside opens and names its own master connection.
fn without_control_options(words: Vec<String>) -> Vec<String> {
    let is_control = |option: &str| {
        let name = option
            .split(['=', ' '])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        matches!(
            name.as_str(),
            "controlmaster" | "controlpersist" | "controlpath"
        )
    };
    let mut out = Vec::new();
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        if word == "-o" {
            match words.next() {
                Some(option) if is_control(&option) => {}
                Some(option) => {
                    out.push(word);
                    out.push(option);
                }
                None => out.push(word),
            }
        } else if let Some(option) = word.strip_prefix("-o") {
            if !is_control(option) {
                out.push(word);
            }
        } else {
            out.push(word);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_options_are_dropped_from_ssh_args() {
        let words = shell_words::split(
            "-C -o ControlMaster=auto -o ControlPersist=60s -oControlPath=/x -o ForwardAgent=yes",
        )
        .unwrap();
        assert_eq!(
            without_control_options(words),
            ["-C", "-o", "ForwardAgent=yes"]
        );
    }

    #[test]
    fn ini_reads_as_configparser_does() {
        let text = "# c\n[defaults]\nFORKS = 7 ; seven\nremote_user: deploy\nroles_path = a\n  b\n";
        let file = Arc::new(SourceFile::new("ansible.cfg", text.to_owned()));
        let ini = parse_ini(&file, text).unwrap();
        let entries: Vec<(&str, &str, &str, u32, u32)> = ini
            .entries
            .iter()
            .map(|(s, k, v, l, c)| (s.as_str(), k.as_str(), v.as_str(), *l, *c))
            .collect();
        assert_eq!(
            entries,
            [
                ("defaults", "forks", "7", 3, 9),
                ("defaults", "remote_user", "deploy", 4, 14),
                ("defaults", "roles_path", "a\nb", 5, 14),
            ]
        );
    }
}
