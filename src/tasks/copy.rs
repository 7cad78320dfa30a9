//! `copy` (Ansible's `ansible.builtin.copy`): a file or directory from the controller, or
//! inline `content`, to the host. The files are found, named and installed as `copy_files`
//! does it (`copy_files.rs`, `file_install.rs`: SHA-256 compared on the host, sent only when
//! it differs, replaced atomically), so a fix in one is a fix in both; what this file adds
//! is Ansible's arguments (`force`, `validate`, `backup` named as Ansible names it) and
//! what `register` gets (`dest`, `checksum`, `md5sum`, `size`, `mode`, `owner`...).

use serde::Deserialize;
use serde_json::Value as Json;

use super::args::{Account, FileMode, ModeSpec};
use super::copy_files;
use super::file_install::{self, Change, Failure, Installed, NewFile, Settings};
use super::{DiffHeaders, FileDiff, Outcome, TaskContext, TaskType};
use crate::transport::{TransportError, quote};
use crate::yaml::Node;

#[derive(Debug, Deserialize)]
#[serde(try_from = "Args")]
pub struct Copy(Args);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// A file or directory on the controller (in `files/` or beside the playbook).
    #[serde(default)]
    src: Option<String>,
    #[serde(default)]
    content: Option<String>,
    /// Required: left out, it is `dest is required`, as ansible-core's `copy` says.
    #[serde(default)]
    dest: String,
    #[serde(default)]
    mode: Option<CopyMode>,
    #[serde(default)]
    owner: Option<Account>,
    #[serde(default)]
    group: Option<Account>,
    #[serde(default)]
    backup: bool,
    /// `false`: a file already at `dest` is left as it is.
    #[serde(default = "super::args::yes")]
    force: bool,
    /// A command on the host that must accept the new file (`%s`) before it is installed.
    #[serde(default)]
    validate: Option<String>,
    /// `src` is a file on the host, not on the controller.
    #[serde(default)]
    remote_src: bool,
    /// A vaulted `src` is sent decrypted (`false`: as it is), as ansible-core's `decrypt`.
    #[serde(default = "super::args::yes")]
    decrypt: bool,
    /// A `dest` that is a symbolic link is written through, not replaced.
    #[serde(default)]
    follow: bool,
    /// chattr's flags, as ansible-core sets them (`file_install.rs`).
    #[serde(default, alias = "attr")]
    attributes: Option<String>,
}

/// `copy`'s `mode`: a file mode, or `preserve`: the source file's own, as ansible-core.
#[derive(Debug)]
pub(super) enum CopyMode {
    Preserve,
    Set(FileMode),
}

impl CopyMode {
    pub(super) fn set(&self) -> Option<&FileMode> {
        match self {
            CopyMode::Set(mode) => Some(mode),
            CopyMode::Preserve => None,
        }
    }
}

impl<'de> Deserialize<'de> for CopyMode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{self, IntoDeserializer};

        struct CopyModeVisitor;

        impl de::Visitor<'_> for CopyModeVisitor {
            type Value = CopyMode;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a mode such as '0640' or 'u=rw,g=r', or 'preserve'")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<CopyMode, E> {
                if text == "preserve" {
                    return Ok(CopyMode::Preserve);
                }
                FileMode::deserialize(text.into_deserializer()).map(CopyMode::Set)
            }

            fn visit_i64<E: de::Error>(self, number: i64) -> Result<CopyMode, E> {
                FileMode::deserialize(number.into_deserializer()).map(CopyMode::Set)
            }

            fn visit_u64<E: de::Error>(self, number: u64) -> Result<CopyMode, E> {
                FileMode::deserialize(number.into_deserializer()).map(CopyMode::Set)
            }
        }

        deserializer.deserialize_any(CopyModeVisitor)
    }
}

impl TryFrom<Args> for Copy {
    type Error = String;

    fn try_from(args: Args) -> Result<Self, String> {
        // ansible-core's `copy` action's checks, in its order and words.
        if args.src.as_deref().is_none_or(str::is_empty) && args.content.is_none() {
            return Err("src (or content) is required".to_owned());
        }
        if args.dest.is_empty() {
            return Err("dest is required".to_owned());
        }
        if args.src.is_some() && args.content.is_some() {
            return Err("src and content are mutually exclusive".to_owned());
        }
        if args.remote_src && args.content.is_some() {
            return Err("`remote_src` goes with `src`, not `content`".to_owned());
        }
        if let Some(validate) = &args.validate {
            if !crate::yaml::is_template(validate) && !validate.contains("%s") {
                return Err(format!("validate must contain %s: {validate}"));
            }
        }
        Ok(Copy(args))
    }
}

/// The install settings of Ansible's file-writing modules (`copy`, `template`).
pub(super) fn ansible_settings(
    mode: Option<&FileMode>,
    owner: Option<&Account>,
    group: Option<&Account>,
    backup: bool,
    force: bool,
    validate: Option<&str>,
) -> Result<Settings, String> {
    let mut settings = Settings::from_args(None, owner, group, backup)?;
    match mode.map(FileMode::spec).transpose()? {
        Some(ModeSpec::Octal(bits)) => settings.mode = Some(bits),
        Some(ModeSpec::Symbolic(clauses)) => settings.symbolic = Some(clauses),
        None => {}
    }
    settings.keep_existing = !force;
    settings.validate = validate.map(file_install::validate_command).transpose()?;
    settings.ansible_names = true;
    settings.report_meta = true;
    Ok(settings)
}

/// What Ansible registers for one file it wrote (or left alone): `dest`, `checksum`,
/// `size`, `state`, `mode`, owners, `md5sum` when it changed, `backup_file`.
/// With `--diff` (or the `diff` keyword), the `diff` is ansible-core's: the contents
/// before and after under `before_header` (the file, when there was one) and
/// `after_header` (`after_header`: the file for `copy`, the template for `template`), or
/// the path on both sides when the contents stay; without, an empty list.
pub(super) fn file_outcome(
    ctx: &TaskContext<'_>,
    file: &NewFile,
    one: &Installed,
    after_header: Option<&str>,
) -> Outcome {
    let mut outcome = if one.change == Change::None {
        Outcome::ok()
    } else {
        Outcome::changed()
    };
    if one.change != Change::None {
        outcome.files = vec![one.path.clone()];
    }
    let mut registered = Json::Array(Vec::new());
    if ctx.diff {
        let headers = DiffHeaders {
            before: (!one.created).then(|| one.path.clone()),
            after: Some(after_header.unwrap_or(&one.path).to_owned()),
        };
        outcome.diffs = one
            .diff(&file.bytes)
            .map(|diff| FileDiff {
                headers: Some(headers.clone()),
                ..diff
            })
            .into_iter()
            .collect();
        registered = match outcome.diffs.first() {
            Some(diff) => {
                let mut shown = serde_json::Map::new();
                shown.insert("after".into(), diff.after.clone().into());
                shown.insert("after_header".into(), headers.after.clone().into());
                shown.insert("before".into(), diff.before.clone().into());
                if let Some(before) = &headers.before {
                    shown.insert("before_header".into(), before.clone().into());
                }
                Json::Array(vec![Json::Object(shown)])
            }
            // The contents stay: ansible-core's action runs the `file` module, whose
            // diff this is, chattr's flags in it when they change.
            None => {
                let mut before = serde_json::json!({"path": one.path});
                let mut after = before.clone();
                if let Some((read, flags, wanted)) = &one.flags {
                    before["attributes"] = if *read {
                        flags.as_str().into()
                    } else {
                        Json::Null
                    };
                    after["attributes"] = wanted.as_str().into();
                    let text = |value: &Json| {
                        format!("{}\n", crate::template::python::json(value, Some(4), true))
                    };
                    outcome.diffs = vec![FileDiff {
                        headers: Some(DiffHeaders::default()),
                        path: one.path.clone(),
                        before: text(&before),
                        after: text(&after),
                    }];
                }
                serde_json::json!({"after": after, "before": before})
            }
        };
    }
    outcome = outcome.with("diff", registered);
    outcome = outcome.with("dest", one.path.clone());
    if let Some(meta) = &one.meta {
        // What ansible-core's `file` module adds when the contents were not copied.
        if one.change != Change::Contents {
            outcome = outcome.with("path", one.path.clone());
        }
        outcome = outcome.with("checksum", meta.sha1.clone());
        if let Some(md5) = &meta.md5 {
            outcome = outcome.with("md5sum", md5.clone());
        }
        outcome = super::file::attributes(outcome, &meta.attrs).with("state", "file");
    }
    if let Some(backup) = &one.backup {
        outcome = outcome.with("backup_file", backup.clone());
    }
    outcome
}

/// A failed install as Ansible reports it: a refused validation keeps its exit status and
/// standard error.
pub(super) fn failure_outcome(failure: Failure) -> Outcome {
    let mut outcome = Outcome::failed(failure.reason);
    // ansible-core's fail_json after chattr: the path's attributes as they are.
    if let Some(chattr) = failure.chattr {
        outcome = outcome
            .with("details", chattr.details)
            .with("path", chattr.path)
            .with("state", "file");
        if let Some(line) = chattr.attrs {
            outcome = super::file::attributes(outcome, &line);
        }
    }
    if let Some(invalid) = failure.invalid {
        let stderr = invalid.stderr;
        outcome = outcome
            .with("exit_status", invalid.status)
            .with("stderr_lines", stderr.lines().collect::<Vec<_>>())
            .with("stderr", stderr);
    }
    outcome
}

/// A failed copy: with chattr's refusal, the checksum of the file sent, as ansible-core's
/// action adds it.
fn copy_failure(failure: Failure) -> Outcome {
    let checksum = failure
        .chattr
        .as_ref()
        .map(|chattr| chattr.checksum.clone());
    let outcome = failure_outcome(failure);
    match checksum {
        Some(checksum) => outcome.with("checksum", checksum),
        None => outcome,
    }
}

/// `mode: preserve`: the permission bits of the one `src` file on the controller; with
/// `content`, 0600 (ansible-core's: those of the temporary file it writes the content to).
fn preserved_mode(base: &std::path::Path, src: Option<&str>) -> Result<u32, String> {
    let Some(src) = src else {
        return Ok(0o600);
    };
    let path = copy_files::locate(base, src)?;
    if path.is_dir() {
        return Err(format!(
            "`mode: preserve` with a directory `src` (`{src}`) is not supported yet"
        ));
    }
    file_mode(&path)
}

/// The permission bits of a file on the controller (`mode: preserve`).
pub(super) fn file_mode(path: &std::path::Path) -> Result<u32, String> {
    use std::os::unix::fs::PermissionsExt;
    let metadata = std::fs::metadata(path)
        .map_err(|error| format!("cannot read `{}`: {error}", path.display()))?;
    Ok(metadata.permissions().mode() & 0o7777)
}

impl Copy {
    /// `remote_src`: one file on the host, read in one round trip and installed as any
    /// other file (a directory is not supported yet, and says so).
    async fn copy_on_the_host(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let args = &self.0;
        let Some(src) = args.src.as_deref() else {
            return Ok(Outcome::failed("`remote_src` needs `src`"));
        };
        let bytes = match super::file_edit::read_bytes(ctx, src).await? {
            Ok(super::file_edit::Raw::File(bytes)) => bytes,
            Ok(super::file_edit::Raw::Directory) => {
                return Ok(Outcome::failed(format!(
                    "`remote_src` with a directory (`{src}`) is not supported yet"
                )));
            }
            Ok(_) => return Ok(Outcome::failed(format!("Source {src} not found"))),
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        let settings = match ansible_settings(
            args.mode.as_ref().and_then(CopyMode::set),
            args.owner.as_ref(),
            args.group.as_ref(),
            args.backup,
            args.force,
            args.validate.as_deref(),
        ) {
            Ok(settings) => Settings {
                follow: args.follow,
                attributes: args.attributes.clone(),
                ..settings
            },
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        // `mode: preserve`: the source's permission bits on the host (through a link, as
        // ansible-core's `os.stat`).
        let mut settings = settings;
        if matches!(args.mode, Some(CopyMode::Preserve)) {
            let output = ctx
                .run(ctx.script(format!("stat -L -c %a {}", quote(src))))
                .await?;
            match u32::from_str_radix(output.stdout_lossy().trim(), 8) {
                Ok(bits) if output.success() => settings.mode = Some(bits & 0o7777),
                _ => {
                    return Ok(Outcome::failed(format!(
                        "cannot read the mode of `{src}`: {}",
                        output.stderr_lossy().trim()
                    )));
                }
            }
        }
        let name = src.trim_end_matches('/').rsplit('/').next().unwrap_or(src);
        let target = if args.dest.ends_with('/') {
            super::file_install::Target::Path(format!("{}{name}", args.dest))
        } else {
            super::file_install::Target::PathOrInto {
                dest: args.dest.clone(),
                name: name.to_owned(),
            }
        };
        let files = [NewFile {
            target,
            bytes,
            secret: super::args::secret_by_name(&args.dest) || super::args::secret_by_name(src),
        }];
        let installed = match file_install::install(ctx, &files, &settings).await? {
            Ok(installed) => installed,
            Err(failure) => return Ok(copy_failure(failure)),
        };
        match (files.first(), installed.first()) {
            (Some(file), Some(one)) => Ok(file_outcome(ctx, file, one, None).with("src", src)),
            _ => Ok(Outcome::failed("nothing was installed")),
        }
    }
}

/// The last subdirectory of `dir` in the order ansible-core's walk lists them (a level's
/// subdirectories before the next level's, names sorted), relative to `dir`; symbolic
/// links are not followed.
fn last_subdirectory(dir: &std::path::Path) -> Option<String> {
    let mut last = None;
    let mut queue = std::collections::VecDeque::from([(dir.to_path_buf(), String::new())]);
    while let Some((path, rel)) = queue.pop_front() {
        let Ok(entries) = std::fs::read_dir(&path) else {
            continue;
        };
        let mut subdirs: Vec<(std::path::PathBuf, String)> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let rel = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                (e.path(), rel)
            })
            .collect();
        subdirs.sort();
        for (sub, rel) in subdirs {
            last = Some(rel.clone());
            queue.push_back((sub, rel));
        }
    }
    last
}

impl TaskType for Copy {
    // As ansible-core's action plugin: "This action (NAME) does not support async."
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Fails;

    const HOST_PATHS: &'static [&'static str] = &["dest"];

    /// Not with `remote_src`, which reads the source on the host first.
    fn pipelines(args: &Node) -> bool {
        args.get("remote_src")
            .is_none_or(|node| matches!(node.value, crate::yaml::Value::Bool(false)))
    }

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let args = &self.0;
        if args.remote_src {
            return self.copy_on_the_host(ctx).await;
        }
        let sources =
            copy_files::Args::sources_of(args.src.clone(), args.content.clone(), args.dest.clone())
                .decrypting(args.decrypt);
        let prepared = ansible_settings(
            args.mode.as_ref().and_then(CopyMode::set),
            args.owner.as_ref(),
            args.group.as_ref(),
            args.backup,
            args.force,
            args.validate.as_deref(),
        )
        .and_then(|settings| Ok((settings, sources.files_for(ctx.vars)?)))
        .and_then(|(mut settings, (base, files))| {
            settings.follow = args.follow;
            settings.attributes = args.attributes.clone();
            if matches!(args.mode, Some(CopyMode::Preserve)) {
                settings.mode = Some(preserved_mode(&base, args.src.as_deref())?);
            }
            Ok((settings, (base, files)))
        });
        let (settings, (base, files)) = match prepared {
            Ok(prepared) => prepared,
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        let installed = match file_install::install(ctx, &files, &settings).await? {
            Ok(installed) => installed,
            Err(failure) => return Ok(copy_failure(failure)),
        };
        // One file from `content` or a `src` file: Ansible's single-file result.
        let one_file = args.content.is_some()
            || args
                .src
                .as_deref()
                .and_then(|src| copy_files::locate(&base, src).ok())
                .is_some_and(|path| path.is_file());
        if let ([file], [one], true) = (files.as_slice(), installed.as_slice(), one_file) {
            return Ok(file_outcome(ctx, file, one, None));
        }
        // A directory holding exactly one file: ansible-core's action keeps the result of
        // the last module it ran. With no subdirectory that is the file's; with some, the
        // `file` module's on the last subdirectory, which the file's copy made or found:
        // ok, whatever happened to the file.
        if let ([file], [one], Some(src)) = (files.as_slice(), installed.as_slice(), &args.src) {
            let dir = copy_files::locate(&base, src).ok().filter(|p| p.is_dir());
            if let Some(dir) = dir {
                return Ok(match last_subdirectory(&dir) {
                    None => file_outcome(ctx, file, one, None),
                    Some(rel) => {
                        let top = if src.ends_with('/') {
                            String::new()
                        } else {
                            dir.file_name()
                                .map(|n| format!("{}/", n.to_string_lossy()))
                                .unwrap_or_default()
                        };
                        let path = format!("{}/{top}{rel}", args.dest.trim_end_matches('/'));
                        Outcome::ok()
                            .with("dest", path.clone())
                            .with("path", path)
                            .with("state", "directory")
                    }
                });
            }
        }
        let mut outcome = copy_files::outcome(ctx, &files, &installed, &args.dest);
        outcome.msg = None;
        let dest = if args.dest.ends_with('/') {
            args.dest.clone()
        } else {
            format!("{}/", args.dest)
        };
        let mut data = serde_json::Map::new();
        data.insert("dest".into(), dest.into());
        if let Some(src) = &args.src {
            let path = copy_files::locate(&base, src)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| src.clone());
            let path = if src.ends_with('/') && !path.ends_with('/') {
                format!("{path}/")
            } else {
                path
            };
            data.insert("src".into(), Json::from(path));
        }
        outcome.data = data;
        Ok(outcome)
    }
}
