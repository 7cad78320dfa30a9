//! `copy_files`: files, directories or globs from the controller (or inline `content`) to
//! each host, sent only where the host's SHA-256 differs and replaced atomically
//! (`tasks/file_install.rs`).
//!
//! Where they go:
//! - `content`: `dest` is the file.
//! - one `src` file: into `dest` if it ends in `/` or is a directory on the host, else to
//!   `dest` itself (as Ansible's `copy`).
//! - a directory, a glob or a list: into the directory `dest`. A directory `conf` arrives
//!   as `dest/conf/...`; `conf/` (with the slash) sends only what is in it.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::args::{Account, Mode, OneOrMany, secret_by_name};
use super::file_install::{self, Change, NewFile, Settings, Target};
use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;

#[derive(Debug, Deserialize)]
#[serde(try_from = "Args")]
pub struct CopyFiles(Args);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// Files, directories or globs on the controller, relative to the playbook's directory
    /// (or its `files/`).
    #[serde(default)]
    src: Option<OneOrMany>,
    /// The contents of the one file `dest` names, inline.
    #[serde(default)]
    content: Option<String>,
    /// A directory on the host; or the file, with `content` or one `src` file.
    dest: String,
    #[serde(default)]
    mode: Option<Mode>,
    #[serde(default)]
    owner: Option<Account>,
    #[serde(default)]
    group: Option<Account>,
    /// Keep each replaced file beside the new one as `NAME.YYYYMMDDTHHMMSS.bak`.
    #[serde(default)]
    backup: bool,
    /// Never show the contents in a diff (implied for `.pem` and `.key` files).
    #[serde(default)]
    secret: bool,
    /// Vaulted sources are sent decrypted (`copy`'s `decrypt: false` sends them as they are).
    #[serde(skip, default = "super::args::yes")]
    decrypt: bool,
}

/// How deep a source directory may nest (a link loop stops here).
const MAX_DEPTH: usize = 40;

impl TryFrom<Args> for CopyFiles {
    type Error = String;

    fn try_from(args: Args) -> Result<Self, String> {
        if args.src.is_some() == args.content.is_some() {
            return Err("copy_files needs exactly one of `src` or `content`".to_owned());
        }
        if args.dest.is_empty() {
            return Err("`dest` is empty".to_owned());
        }
        Ok(CopyFiles(args))
    }
}

impl Args {
    /// The sources of Ansible's `copy` (`src` or `content`, and `dest`), read as
    /// `copy_files` reads them: one way of finding and naming the files for both.
    pub(super) fn sources_of(src: Option<String>, content: Option<String>, dest: String) -> Args {
        Args {
            src: src.map(|one| OneOrMany(vec![one])),
            content,
            dest,
            mode: None,
            owner: None,
            group: None,
            backup: false,
            secret: false,
            decrypt: true,
        }
    }

    /// `copy`'s `decrypt`: `false` sends vaulted sources as they are.
    pub(super) fn decrypting(mut self, decrypt: bool) -> Args {
        self.decrypt = decrypt;
        self
    }

    /// [`Self::files`] for a task whose variables are `vars`: a role's task finds its
    /// sources in the role (`files/NAME`, `NAME`) first, then beside the playbook. Returns
    /// the folder they were found from, with the files.
    pub(super) fn files_for(
        &self,
        vars: &minijinja::Value,
    ) -> Result<(PathBuf, Vec<NewFile>), String> {
        if let Some(role) = super::controller_files::role_dir(vars) {
            if let Ok(files) = self.files(&role) {
                return Ok((role, files));
            }
        }
        let base = playbook_dir(vars);
        let files = self.files(&base)?;
        Ok((base, files))
    }

    /// Every file to send, read on the controller, found from `base`.
    pub(super) fn files(&self, base: &Path) -> Result<Vec<NewFile>, String> {
        let files = match (&self.src, &self.content) {
            (None, Some(content)) => {
                if self.dest.ends_with('/') {
                    return Err(format!(
                        "with `content`, `dest` names the file, not a directory: `{}`",
                        self.dest
                    ));
                }
                vec![NewFile {
                    secret: self.secret || secret_by_name(&self.dest),
                    target: Target::Path(self.dest.clone()),
                    bytes: content.clone().into_bytes(),
                }]
            }
            (Some(src), None) => self.sources(base, src)?,
            _ => return Err("copy_files needs exactly one of `src` or `content`".to_owned()),
        };
        let mut seen = std::collections::BTreeSet::new();
        for file in &files {
            if let Target::Path(path) = &file.target {
                if !seen.insert(path.clone()) {
                    return Err(format!("two sources go to `{path}`"));
                }
            }
        }
        Ok(files)
    }

    fn sources(&self, base: &Path, src: &OneOrMany) -> Result<Vec<NewFile>, String> {
        if src.0.is_empty() {
            return Err("`src` lists no files".to_owned());
        }
        // `dest: /` gives `/NAME`.
        let dir = self.dest.trim_end_matches('/');
        let into = |rel: &str| format!("{dir}/{rel}");
        // One plain file: `dest` may be the file itself.
        if let Some(one) = src.single().filter(|s| !is_glob(s)) {
            let path = locate(base, one)?;
            if path.is_file() {
                let name = file_name(&path)?;
                let secret = self.secret || secret_by_name(&name);
                let (bytes, vaulted) = read_as(&path, secret, self.decrypt)?;
                let secret = secret || vaulted;
                let target = if self.dest.ends_with('/') {
                    Target::Path(into(&name))
                } else {
                    Target::PathOrInto {
                        dest: self.dest.clone(),
                        name,
                    }
                };
                return Ok(vec![NewFile {
                    target,
                    bytes,
                    secret,
                }]);
            }
        }
        let mut found: Vec<(String, PathBuf)> = Vec::new();
        for pattern in &src.0 {
            let matches: Vec<PathBuf> = if is_glob(pattern) {
                glob_matches(base, pattern)?
            } else {
                vec![locate(base, pattern)?]
            };
            for path in matches {
                if path.is_dir() {
                    // `conf/` sends what is in it; `conf` sends the directory itself.
                    let prefix = if pattern.ends_with('/') {
                        String::new()
                    } else {
                        format!("{}/", file_name(&path)?)
                    };
                    walk(&path, &prefix, 0, &mut found)?;
                } else {
                    found.push((file_name(&path)?, path));
                }
            }
        }
        if found.is_empty() {
            return Err(format!(
                "`src` {} holds no files",
                src.0
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        found
            .into_iter()
            .map(|(rel, path)| {
                let secret = self.secret || secret_by_name(&rel);
                let (bytes, vaulted) = read_as(&path, secret, self.decrypt)?;
                Ok(NewFile {
                    target: Target::Path(into(&rel)),
                    bytes,
                    secret: secret || vaulted,
                })
            })
            .collect()
    }

    fn settings(&self) -> Result<Settings, String> {
        Settings::from_args(
            self.mode.as_ref(),
            self.owner.as_ref(),
            self.group.as_ref(),
            self.backup,
        )
    }
}

fn is_glob(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

fn file_name(path: &Path) -> Result<String, String> {
    let name = path
        .file_name()
        .ok_or_else(|| format!("`{}` has no file name", path.display()))?;
    name.to_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("file name `{}` is not UTF-8", name.to_string_lossy()))
}

/// A file's contents, decrypted if it is vaulted whole (and then secret: `true`).
pub(super) fn read(path: &Path, secret: bool) -> Result<(Vec<u8>, bool), String> {
    read_as(path, secret, true)
}

/// [`read`], decrypting only if `decrypt` (`copy`'s `decrypt: false` sends it as it is).
fn read_as(path: &Path, secret: bool, decrypt: bool) -> Result<(Vec<u8>, bool), String> {
    let bytes = crate::inputs::read(path, secret)
        .map_err(|error| format!("cannot read `{}`: {error}", path.display()))?;
    if !decrypt {
        return Ok((bytes, false));
    }
    crate::vault::open_bytes(bytes, &path.display().to_string())
}

/// A source on the controller: absolute, beside the playbook, or in its `files/`.
pub(super) fn locate(base: &Path, name: &str) -> Result<PathBuf, String> {
    let expanded = super::controller_files::expand_home(name);
    let name = expanded.as_str();
    let trimmed = if name.len() > 1 {
        name.trim_end_matches('/')
    } else {
        name
    };
    for candidate in [base.join(trimmed), base.join("files").join(trimmed)] {
        if candidate.exists() {
            return Ok(candidate);
        }
    }
    Err(format!("`{name}` not found beside the playbook"))
}

fn glob_matches(base: &Path, pattern: &str) -> Result<Vec<PathBuf>, String> {
    let expanded = super::controller_files::expand_home(pattern);
    let pattern = expanded.as_str();
    for root in [base.to_path_buf(), base.join("files")] {
        let full = root.join(pattern.trim_end_matches('/'));
        let full = full
            .to_str()
            .ok_or_else(|| format!("`{pattern}` is not UTF-8"))?;
        let mut matches: Vec<PathBuf> = glob::glob(full)
            .map_err(|error| format!("`src` `{pattern}` is not a valid glob: {error}"))?
            .filter_map(Result::ok)
            .collect();
        if !matches.is_empty() {
            matches.sort();
            return Ok(matches);
        }
    }
    Err(format!(
        "`src` `{pattern}` matches no file beside the playbook"
    ))
}

/// Every file under `dir` (links followed), named `prefix` + its path under `dir`.
fn walk(
    dir: &Path,
    prefix: &str,
    depth: usize,
    found: &mut Vec<(String, PathBuf)>,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("`{}` nests too deep", dir.display()));
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|error| format!("cannot read `{}`: {error}", dir.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(|error| format!("cannot read `{}`: {error}", dir.display()))?;
    entries.sort();
    for path in entries {
        let name = format!("{prefix}{}", file_name(&path)?);
        if path.is_dir() {
            walk(&path, &format!("{name}/"), depth + 1, found)?;
        } else if path.is_file() {
            found.push((name, path));
        }
    }
    Ok(())
}

/// The directory relative sources are found in.
pub(super) fn playbook_dir(vars: &minijinja::Value) -> PathBuf {
    vars.get_attr("playbook_dir")
        .ok()
        .and_then(|v| v.as_str().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("."))
}

impl TaskType for CopyFiles {
    /// Pipelined, every file travels in the one script, which fails exactly when an
    /// install does; what is wrong on the controller fails before it is sent.
    fn pipelines(_args: &crate::yaml::Node) -> bool {
        true
    }

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let args = &self.0;
        let prepared = args
            .settings()
            .and_then(|settings| Ok((settings, args.files_for(ctx.vars)?.1)));
        let (settings, files) = match prepared {
            Ok(prepared) => prepared,
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        let installed = match file_install::install(ctx, &files, &settings).await? {
            Ok(installed) => installed,
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        Ok(outcome(ctx, &files, &installed, &args.dest))
    }
}

/// The outcome of installing `files`: what changed, with diffs and registered data.
pub(super) fn outcome(
    ctx: &TaskContext<'_>,
    files: &[NewFile],
    installed: &[file_install::Installed],
    dest: &str,
) -> Outcome {
    let changed: Vec<&file_install::Installed> = installed
        .iter()
        .filter(|i| i.change != Change::None)
        .collect();
    let mut outcome = if changed.is_empty() {
        Outcome::ok()
    } else {
        Outcome::changed()
    };
    outcome.files = changed.iter().map(|i| i.path.clone()).collect();
    if ctx.diff {
        outcome.diffs = installed
            .iter()
            .zip(files)
            .filter_map(|(i, f)| i.diff(&f.bytes))
            .collect();
    }
    let records: Vec<Json> = installed
        .iter()
        .map(|i| {
            let mut record = json!({
                "path": i.path,
                // A short secret's sum could be guessed back: secrets are listed without.
                "sha256": if i.secret { Json::Null } else { i.sha256.clone().into() },
                "changed": i.change != Change::None,
            });
            if let Some(backup) = &i.backup {
                record["backup_file"] = backup.clone().into();
            }
            record
        })
        .collect();
    let verb = if ctx.check { "would change" } else { "changed" };
    let msg = match installed {
        [one] => match one.change {
            Change::None => format!("`{}` is up to date", one.path),
            Change::Meta if ctx.check => format!("`{}`: owner or mode would change", one.path),
            Change::Meta => format!("`{}`: owner or mode changed", one.path),
            Change::Contents if ctx.check && one.created => {
                format!("`{}` would be created", one.path)
            }
            Change::Contents if ctx.check => format!("`{}` would change", one.path),
            Change::Contents if one.created => format!("`{}` created", one.path),
            Change::Contents => format!("`{}` changed", one.path),
        },
        _ => format!("{} files, {} {verb}", installed.len(), changed.len()),
    };
    outcome
        .with_msg(msg)
        .with("dest", dest)
        .with("files", records)
        .with(
            "changed_files",
            changed.iter().map(|i| i.path.clone()).collect::<Vec<_>>(),
        )
}
