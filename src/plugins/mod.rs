//! Plugins: modules quayside does not build in, run on the host as Ansible runs them.
//!
//! A task type's name is looked up, at load, in this order: quayside's built-in task types
//! (`tasks/`); the user's modules (`library/` beside the playbook, the task's role's
//! `library/`, then ANSIBLE_LIBRARY / ansible.cfg's `library`); then Ansible's own modules
//! and collections, when ansible-core is installed on the controller ([`ansible`]). What a
//! name resolves to is a [`Module`]: its file, its protocol (how it takes its arguments),
//! the bytes sent to the host and, where its documentation says, its options, so that
//! `validate` checks a task's arguments before the run. [`run`] runs one on a host.

pub mod ansible;
pub mod run;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use sha2::{Digest, Sha256};

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::yaml::Node;

/// How a module takes its arguments and is started, as ansible-core tells them apart
/// (`executor/module_common.py`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// A Python module on `AnsibleModule`, packaged with its module_utils by ansible-core
    /// (AnsiballZ); its arguments on standard input.
    NewStyle,
    /// A text file holding `WANT_JSON`: one argument, a file of the arguments as JSON.
    WantJson,
    /// Any other text file: one argument, a file of `key=value` arguments.
    OldStyle,
    /// Not text (a compiled program): one argument, a file of the arguments as JSON.
    Binary,
}

impl Protocol {
    pub fn describe(self) -> &'static str {
        match self {
            Protocol::NewStyle => "new-style Python (AnsibleModule)",
            Protocol::WantJson => "WANT_JSON",
            Protocol::OldStyle => "old-style (key=value)",
            Protocol::Binary => "binary",
        }
    }
}

/// Where a module was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// The user's: `library/` beside the playbook or in a role, or ANSIBLE_LIBRARY.
    User,
    /// Ansible's: ansible-core's `ansible/modules/` or a collection.
    Ansible,
}

/// One of a module's options, as its documentation gives it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct OptionSpec {
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// A module a task names, resolved at load.
#[derive(Debug, Clone)]
pub struct Module {
    /// The name Ansible gives it (`hello`, `ansible.builtin.getent`, `ns.coll.thing`): the
    /// name it is packaged under.
    pub name: String,
    /// The name as the task writes it (`ping`, `ansible.legacy.ping`): what it is told as
    /// `_ansible_module_name`, as ansible-core tells it the task's `action`, so its messages
    /// name it as the task does (`Unsupported parameters for (ping) module`).
    pub written: String,
    pub path: PathBuf,
    pub found: Found,
    pub protocol: Protocol,
    /// What is sent to the host: the file itself, or ansible-core's package of it.
    pub payload: Vec<u8>,
    /// SHA-256 of `payload`, hex: its name on the host.
    pub digest: String,
    /// The interpreter of its `#!` line and that line's arguments.
    pub shebang: Option<(String, Vec<String>)>,
    /// Its documented options, when it documents them.
    pub options: Option<BTreeMap<String, OptionSpec>>,
}

/// Where modules are looked for beyond the playbook's and roles' `library/`, as settings
/// say.
#[derive(Debug, Clone, Default)]
pub struct SearchPaths {
    /// ANSIBLE_LIBRARY / ansible.cfg's `library`.
    pub library: Vec<PathBuf>,
    /// ANSIBLE_COLLECTIONS_PATH / ansible.cfg's `collections_path`.
    pub collections: Vec<PathBuf>,
}

static SEARCH: OnceLock<SearchPaths> = OnceLock::new();

/// Set, once, where modules are looked for (from the settings).
pub fn set_search_paths(paths: SearchPaths) {
    let _ = SEARCH.set(paths);
}

fn search_paths() -> &'static SearchPaths {
    SEARCH.get_or_init(SearchPaths::default)
}

/// Collections whose modules are Ansible's own (ansible-core's `ansible/modules/`).
const BUILTIN: &[&str] = &["ansible.builtin.", "ansible.legacy."];

/// File names in module folders that are never modules (as Ansible's loader skips them).
fn is_module_file_name(file: &str, name: &str) -> bool {
    if file == name {
        return true;
    }
    let Some((stem, extension)) = file.rsplit_once('.') else {
        return false;
    };
    stem == name
        && !matches!(
            extension,
            "pyc" | "pyo" | "swp" | "bak" | "md" | "txt" | "rst" | "yml" | "yaml" | "json"
        )
}

/// The file of module `name` in `dir`, if there is one.
fn in_folder(dir: &Path, name: &str) -> Option<PathBuf> {
    let exact = dir.join(name);
    if exact.is_file() {
        return Some(exact);
    }
    let python = dir.join(format!("{name}.py"));
    if python.is_file() {
        return Some(python);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|entry| is_module_file_name(&entry.file_name().to_string_lossy(), name))
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect();
    found.sort();
    found.into_iter().next()
}

/// The `library/` folders of the roles loaded so far, in the order they were loaded.
static ROLE_LIBRARIES: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// A role was loaded: as in ansible-core, its `library/` serves every task loaded after it
/// (a role's tasks see the modules of the roles it depends on, loaded before them).
pub fn add_role_library(role_dir: &Path) {
    let library = role_dir.join("library");
    if !library.is_dir() {
        return;
    }
    let mut libraries = ROLE_LIBRARIES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !libraries.contains(&library) {
        libraries.push(library);
    }
}

/// The folders of the user's modules a task sees, in order: `library/` beside the
/// playbook, in its role, in the other roles loaded so far, then ANSIBLE_LIBRARY /
/// `library`.
pub fn user_folders(play_dir: &Path, role_dir: Option<&Path>) -> Vec<PathBuf> {
    let mut folders = vec![play_dir.join("library")];
    if let Some(role) = role_dir {
        folders.push(role.join("library"));
    }
    for library in ROLE_LIBRARIES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
    {
        if !folders.contains(library) {
            folders.push(library.clone());
        }
    }
    folders.extend(search_paths().library.iter().cloned());
    folders
}

/// The folders collections are looked for in: `collections/` beside the playbook,
/// `collections_path`, then the `ansible_collections` of ansible-core's Python.
pub fn collection_folders(play_dir: &Path) -> Vec<PathBuf> {
    let mut folders = vec![play_dir.join("collections")];
    folders.extend(search_paths().collections.iter().cloned());
    if let Some(core) = ansible::core() {
        folders.push(core.site_packages.clone());
    }
    folders
}

/// Where a name is found, before the file is read: the file, whose it is, and its name
/// as Ansible gives it.
pub fn locate(
    word: &str,
    play_dir: &Path,
    role_dir: Option<&Path>,
) -> Option<(PathBuf, Found, String, Option<String>)> {
    let short = BUILTIN.iter().find_map(|prefix| word.strip_prefix(prefix));
    let legacy = word.starts_with("ansible.legacy.");
    let name = short.unwrap_or(word);
    // The user's modules answer to their short name and to `ansible.legacy.NAME`.
    if (short.is_none() || legacy) && !name.contains('.') {
        for folder in user_folders(play_dir, role_dir) {
            if let Some(path) = in_folder(&folder, name) {
                return Some((path, Found::User, name.to_owned(), None));
            }
        }
    }
    if !name.contains('.') {
        let core = ansible::core()?;
        let path = core.modules.join(format!("{name}.py"));
        return path.is_file().then(|| {
            (
                path,
                Found::Ansible,
                format!("ansible.builtin.{name}"),
                None,
            )
        });
    }
    // `namespace.collection.module`.
    let mut parts = name.splitn(3, '.');
    let (namespace, collection, module) = (parts.next()?, parts.next()?, parts.next()?);
    if module.contains('.') {
        return None;
    }
    for folder in collection_folders(play_dir) {
        let dir = folder
            .join("ansible_collections")
            .join(namespace)
            .join(collection)
            .join("plugins")
            .join("modules");
        // Ansible's own collections folder in site-packages is `.../ansible_collections`.
        let direct = folder
            .join(namespace)
            .join(collection)
            .join("plugins")
            .join("modules");
        for dir in [dir, direct] {
            if let Some(path) = in_folder(&dir, module) {
                return Some((
                    path,
                    Found::Ansible,
                    name.to_owned(),
                    Some(format!("{namespace}.{collection}")),
                ));
            }
        }
    }
    None
}

/// Modules resolved this run, by file and name: each is read (and packaged) once.
type Loaded = Mutex<HashMap<(PathBuf, String), Arc<Module>>>;

fn loaded() -> &'static Loaded {
    static LOADED: OnceLock<Loaded> = OnceLock::new();
    LOADED.get_or_init(Default::default)
}

/// The module a task's type names, when it is not a built-in task type: `Ok(None)` when
/// no module of that name is found anywhere; an error (at `key`) when one is found but
/// cannot be run.
pub fn resolve(
    key: &Node,
    play_dir: &Path,
    role_dir: Option<&Path>,
) -> Result<Option<Arc<Module>>, Diagnostic> {
    let word = key.key_string();
    let Some((path, found, name, collection)) = locate(&word, play_dir, role_dir) else {
        return Ok(None);
    };
    let cache_key = (path.clone(), name.clone());
    if let Some(module) = loaded().lock().expect("modules").get(&cache_key) {
        if module.written == word {
            return Ok(Some(module.clone()));
        }
        // The same module written another way (`ping` beside `ansible.builtin.ping`).
        return Ok(Some(Arc::new(Module {
            written: word,
            ..Module::clone(module)
        })));
    }
    let mut module = load(&path, found, &name, collection.as_deref(), play_dir)
        .map_err(|message| Diagnostic::at(message, key.span.clone()))?;
    module.written = word;
    let module = Arc::new(module);
    loaded()
        .lock()
        .expect("modules")
        .insert(cache_key, module.clone());
    Ok(Some(module))
}

/// ansible-core's `_is_binary`: bytes that are not text.
fn is_binary(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1024)];
    head.contains(&0) || std::str::from_utf8(bytes).is_err()
}

/// What ansible-core's `NEW_STYLE_PYTHON_MODULE_RE` finds: an import of module_utils.
fn is_new_style(text: &str) -> bool {
    text.contains("<<INCLUDE_ANSIBLE_MODULE_COMMON>>")
        || text.lines().any(|line| {
            let line = line.trim_start();
            line.starts_with("from ansible.module_utils")
                || line.starts_with("import ansible.module_utils")
                || line.starts_with("from ansible_collections.")
                || line.starts_with("import ansible_collections.")
                || (line.starts_with("from .") && line.contains("module_utils"))
        })
}

/// The interpreter of a `#!` line and its arguments.
fn shebang(bytes: &[u8]) -> Option<(String, Vec<String>)> {
    let line = bytes.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line.strip_prefix(b"#!")?).ok()?.trim();
    let mut words = shell_words::split(line).ok()?.into_iter();
    let interpreter = words.next()?;
    Some((interpreter, words.collect()))
}

fn hex_digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// How a module's file takes its arguments, as ansible-core tells (`_find_module_utils`);
/// `Err`: what quayside cannot run.
pub fn protocol(bytes: &[u8]) -> Result<Protocol, &'static str> {
    if is_binary(bytes) {
        return Ok(Protocol::Binary);
    }
    let text = String::from_utf8_lossy(bytes);
    if text.contains("#Requires -Module")
        || text.contains("#AnsibleRequires -")
        || text.contains("#<<INCLUDE_ANSIBLE_MODULE_WINDOWS_SUBS>>")
    {
        Err("is a PowerShell module: quayside runs modules on POSIX hosts only")
    } else if is_new_style(&text) {
        Ok(Protocol::NewStyle)
    } else if text.contains("<<INCLUDE_ANSIBLE_MODULE_JSON_ARGS>>") {
        Err(
            "takes its arguments written into its own text (`<<INCLUDE_ANSIBLE_MODULE_JSON_ARGS>>`), which quayside does not do: use `WANT_JSON` instead",
        )
    } else if text.contains("WANT_JSON") {
        Ok(Protocol::WantJson)
    } else {
        Ok(Protocol::OldStyle)
    }
}

/// Read a module's file and make it ready to send: its protocol, its payload, its
/// options. Refused here (so before the run): what quayside cannot run as Ansible would.
fn load(
    path: &Path,
    found: Found,
    name: &str,
    collection: Option<&str>,
    play_dir: &Path,
) -> Result<Module, String> {
    let shown = path.display();
    let bytes =
        std::fs::read(path).map_err(|error| format!("cannot read module `{shown}`: {error}"))?;
    if let Some(action) = ansible::action_plugin(path, name, collection, &found) {
        return Err(format!(
            "module `{name}` works with Ansible's action plugin `{}`, which quayside does not run: only modules that run on the host alone can be used",
            action.display()
        ));
    }
    let protocol = protocol(&bytes).map_err(|why| format!("module `{name}` (`{shown}`) {why}"))?;
    let shebang = shebang(&bytes);
    if shebang.is_none() && protocol != Protocol::Binary && protocol != Protocol::NewStyle {
        // As ansible-core: "module (NAME) is missing interpreter line".
        return Err(format!(
            "module `{name}` (`{shown}`) is missing its interpreter line (`#!/bin/sh`, ...)"
        ));
    }
    let (payload, options) = match protocol {
        Protocol::NewStyle => {
            let built = ansible::build(
                path,
                name,
                collection,
                &bytes,
                &collection_folders(play_dir),
            )?;
            (built.payload.into_bytes(), built.options)
        }
        _ => (bytes, None),
    };
    Ok(Module {
        name: name.to_owned(),
        written: name.to_owned(),
        path: path.to_owned(),
        found,
        protocol,
        digest: hex_digest(&payload),
        payload,
        shebang,
        options,
    })
}

/// Check a module task's arguments as written against the module's documented options:
/// each known (by name or alias) and every required one given. Templated values are the
/// module's to check when it runs.
pub fn check_args(module: &Module, key: &Node, args: &Node) -> Result<(), Diagnostic> {
    let Some(options) = &module.options else {
        return Ok(());
    };
    let mut names: Vec<&str> = Vec::new();
    for (option, spec) in options {
        names.push(option);
        names.extend(spec.aliases.iter().map(String::as_str));
    }
    let given: Vec<(String, &Node)> = args
        .as_map()
        .unwrap_or_default()
        .iter()
        .map(|(name, _)| (name.key_string(), name))
        .collect();
    for (name, node) in &given {
        if !names.contains(&name.as_str()) {
            let mut message = format!("unknown argument `{name}` of module `{}`", module.name);
            if let Some(suggestion) = did_you_mean(name, names.iter().copied()) {
                message.push_str(&format!(" — did you mean `{suggestion}`?"));
            }
            return Err(Diagnostic::at(message, node.span.clone()));
        }
    }
    for (option, spec) in options {
        if !spec.required {
            continue;
        }
        let present = given
            .iter()
            .any(|(name, _)| name == option || spec.aliases.iter().any(|alias| alias == name));
        if !present {
            return Err(Diagnostic::at(
                format!("missing argument `{option}` of module `{}`", module.name),
                key.span.clone(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_are_told_apart_as_ansible_core_does() {
        assert!(is_binary(b"\x7fELF\x02\x01\x01\0\0"));
        assert!(!is_binary(b"#!/bin/sh\necho {}\n"));
        assert!(is_new_style(
            "#!/usr/bin/python\nfrom ansible.module_utils.basic import AnsibleModule\n"
        ));
        assert!(!is_new_style("#!/bin/sh\n# WANT_JSON\n"));
        assert_eq!(
            shebang(b"#!/usr/bin/env python3 -u\nx"),
            Some((
                "/usr/bin/env".to_owned(),
                vec!["python3".to_owned(), "-u".to_owned()]
            ))
        );
        assert_eq!(shebang(b"echo\n"), None);
    }

    #[test]
    fn module_files_answer_to_their_name_with_any_extension() {
        assert!(is_module_file_name("hello", "hello"));
        assert!(is_module_file_name("hello.sh", "hello"));
        assert!(!is_module_file_name("hello.yml", "hello"));
        assert!(!is_module_file_name("hello_world.sh", "hello"));
    }
}
