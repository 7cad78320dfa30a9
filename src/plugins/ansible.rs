//! ansible-core on the controller, when it is installed: where its modules are, and its own
//! code to package a new-style Python module (AnsiballZ) and read its documentation,
//! through `helper.py` run with its Python. Optional: without it, Ansible's modules are not
//! found and a user's `AnsibleModule` module is refused before the run.
//!
//! Its Python is QUAYSIDE_ANSIBLE_PYTHON, else the one `ansible-playbook` on PATH runs
//! with, else `python3`. Packages are cached by digest (of the module, ansible-core's
//! version and the helper) under `$XDG_CACHE_HOME/quayside/modules` (or `~/.cache/...`).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use super::{Found, OptionSpec};

const HELPER: &str = include_str!("helper.py");

/// What to do when ansible-core is needed and not found.
pub const INSTALL_HINT: &str = "install ansible-core (`pip install ansible-core`) and set QUAYSIDE_ANSIBLE_PYTHON to the Python that has it (or put its `ansible-playbook` on PATH)";

/// ansible-core as found on the controller.
#[derive(Debug)]
pub struct Core {
    pub python: PathBuf,
    pub version: String,
    /// `ansible/modules/`.
    pub modules: PathBuf,
    /// The `ansible_collections` folder beside the `ansible` package (the `ansible`
    /// package's collections, when installed).
    pub site_packages: PathBuf,
}

/// The Python to ask for ansible-core.
fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("QUAYSIDE_ANSIBLE_PYTHON").filter(|p| !p.is_empty()) {
        return PathBuf::from(python);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("ansible-playbook"))
            .find(|path| path.is_file())
    });
    if let Some(interpreter) = on_path
        .and_then(|path| std::fs::read(path).ok())
        .and_then(|bytes| super::shebang(&bytes))
        .filter(|(interpreter, args)| args.is_empty() && Path::new(interpreter).is_absolute())
    {
        return PathBuf::from(interpreter.0);
    }
    PathBuf::from("python3")
}

static CORE: OnceLock<Option<Core>> = OnceLock::new();

/// ansible-core, if it was looked for already (without looking: that runs Python).
pub fn core_if_known() -> Option<&'static Core> {
    CORE.get().and_then(Option::as_ref)
}

/// ansible-core on the controller, looked for once.
pub fn core() -> Option<&'static Core> {
    CORE.get_or_init(|| {
        let python = python();
        let output = Command::new(&python)
            .args(["-c", HELPER, "version"])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        if !output.status.success() {
            return None;
        }
        let info: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
        let modules = PathBuf::from(info.get("modules")?.as_str()?);
        let site_packages = modules.parent()?.parent()?.join("ansible_collections");
        Some(Core {
            python,
            version: info.get("version")?.as_str()?.to_owned(),
            modules,
            site_packages,
        })
    })
    .as_ref()
}

/// The action plugin Ansible runs a module through, when it has one beside ansible-core's
/// or the collection's modules: such a module does part of its work on the controller.
pub fn action_plugin(
    path: &Path,
    name: &str,
    collection: Option<&str>,
    found: &Found,
) -> Option<PathBuf> {
    if *found != Found::Ansible {
        return None;
    }
    let short = name.rsplit('.').next()?;
    let plugins = path.parent()?.parent()?;
    let action = match collection {
        // `.../ansible_collections/NS/COLL/plugins/modules/x.py`
        Some(_) => plugins.join("action").join(format!("{short}.py")),
        // `.../ansible/modules/x.py` beside `.../ansible/plugins/action/x.py`
        None => plugins
            .join("plugins")
            .join("action")
            .join(format!("{short}.py")),
    };
    action.is_file().then_some(action)
}

/// A new-style module as ansible-core packages it.
#[derive(Debug, serde::Deserialize)]
pub struct Built {
    pub payload: String,
    pub options: Option<BTreeMap<String, OptionSpec>>,
}

fn cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("quayside").join("modules"))
}

/// Package a new-style module with ansible-core's own code (once per module, ansible-core
/// version and collections, then from the cache).
pub fn build(
    path: &Path,
    name: &str,
    collection: Option<&str>,
    bytes: &[u8],
    collection_folders: &[PathBuf],
) -> Result<Built, String> {
    let Some(core) = core() else {
        return Err(format!(
            "module `{name}` (`{}`) is a new-style Python module (AnsibleModule), which quayside packages with ansible-core's code, and ansible-core was not found: {INSTALL_HINT}",
            path.display()
        ));
    };
    let collections = std::env::join_paths(
        collection_folders
            .iter()
            .map(|folder| std::path::absolute(folder).unwrap_or_else(|_| folder.clone())),
    )
    .map_err(|error| format!("cannot list the collection folders: {error}"))?;
    let mut hasher = Sha256::new();
    for part in [
        HELPER.as_bytes(),
        core.version.as_bytes(),
        path.as_os_str().as_encoded_bytes(),
        name.as_bytes(),
        collections.as_encoded_bytes(),
        bytes,
    ] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    let key = hex::encode(hasher.finalize());
    let cached = cache_dir().map(|dir| dir.join(format!("{key}.json")));
    if let Some(built) = cached
        .as_ref()
        .and_then(|file| std::fs::read(file).ok())
        .and_then(|text| serde_json::from_slice::<Built>(&text).ok())
    {
        return Ok(built);
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let request = serde_json::json!({
        "name": name.rsplit('.').next().unwrap_or(name),
        "path": absolute,
        "collection": collection,
    });
    let mut child = Command::new(&core.python)
        .args(["-c", HELPER, "build"])
        .arg(&collections)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot run `{}`: {error}", core.python.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(request.to_string().as_bytes());
    }
    let output = child
        .wait_with_output()
        .map_err(|error| format!("cannot run `{}`: {error}", core.python.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let reason = stderr.trim().lines().last().unwrap_or("no output");
        return Err(format!(
            "ansible-core {} cannot package module `{name}` (`{}`): {reason}",
            core.version,
            path.display()
        ));
    }
    let built: Built = serde_json::from_slice(&output.stdout)
        .map_err(|error| format!("ansible-core's package of `{name}` is unreadable: {error}"))?;
    if let Some(file) = cached {
        if let Some(dir) = file.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let part = file.with_extension(format!("part{}", std::process::id()));
        if std::fs::write(&part, &output.stdout).is_ok() {
            let _ = std::fs::rename(&part, &file);
        }
    }
    Ok(built)
}
