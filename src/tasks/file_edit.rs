//! Editing a file in place on the host, for Ansible's `lineinfile`, `blockinfile` and
//! `replace`: the file is read in one round trip, edited on the controller (Ansible's own
//! rules, in each module's file), and installed as `copy` installs a file
//! (`file_install.rs`: compared by SHA-256, replaced atomically, owner, group, mode, backup
//! and validate). A file that needs no change and no attribute costs one round trip.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::args::{Account, FileMode};
use super::copy::{ansible_settings, failure_outcome};
use super::file_install::{self, Change, NewFile, Target};
use super::{DiffHeaders, FileDiff, Outcome, TaskContext};
use crate::transport::{TransportError, quote};

/// What was at the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A file's text; a device's (or pipe's) too, read as ansible-core's edit modules read
    /// it (`/dev/null` is an empty file to them).
    File(String),
    Absent,
    Directory,
}

/// Read `path` on the host as text. `Ok(Err)`: it could not be read, with why.
pub async fn read(
    ctx: &TaskContext<'_>,
    path: &str,
) -> Result<Result<Found, String>, TransportError> {
    Ok(match read_raw(ctx, path, true).await? {
        Ok(Raw::File(bytes)) => match String::from_utf8(bytes) {
            Ok(text) => Ok(Found::File(text)),
            Err(_) => Err(format!("`{path}` is not UTF-8 text")),
        },
        Ok(Raw::Absent) => Ok(Found::Absent),
        Ok(Raw::Directory) => Ok(Found::Directory),
        Ok(Raw::Other) => Err(format!("cannot read `{path}`")),
        Err(reason) => Err(reason),
    })
}

/// What was at a path, its contents as bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Raw {
    File(Vec<u8>),
    Absent,
    Directory,
    Other,
}

/// Read `path` on the host. `Ok(Err)`: it could not be read, with why.
pub async fn read_bytes(
    ctx: &TaskContext<'_>,
    path: &str,
) -> Result<Result<Raw, String>, TransportError> {
    read_raw(ctx, path, false).await
}

/// Read `path` on the host; with `devices`, whatever is not a directory is read as a file.
async fn read_raw(
    ctx: &TaskContext<'_>,
    path: &str,
    devices: bool,
) -> Result<Result<Raw, String>, TransportError> {
    let text = format!(
        r#"p={} devices={}
if [ -d "$p" ]; then echo D
elif [ -f "$p" ] || {{ [ $devices = 1 ] && [ -e "$p" ]; }}; then
  printf 'F '; base64 -w0 < "$p" || exit 1; echo
elif [ -e "$p" ]; then echo O
else echo N; fi
"#,
        quote(path),
        u8::from(devices)
    );
    let output = ctx.run(ctx.script(text)).await?;
    let stdout = output.stdout_lossy();
    if !output.success() {
        let stderr = output.stderr_lossy();
        return Ok(Err(format!(
            "cannot read `{path}`: {}",
            stderr.lines().next().unwrap_or("failed")
        )));
    }
    let line = stdout.lines().next().unwrap_or_default();
    Ok(Ok(match line {
        "D" => Raw::Directory,
        "O" => Raw::Other,
        "N" => Raw::Absent,
        _ => {
            let encoded = line.strip_prefix("F ").unwrap_or_default().trim();
            match STANDARD.decode(encoded) {
                Ok(bytes) => Raw::File(bytes),
                Err(error) => return Ok(Err(format!("cannot read `{path}`: {error}"))),
            }
        }
    }))
}

/// The arguments every editing module takes for the file it writes.
#[derive(Debug, Clone, Copy)]
pub struct Attributes<'a> {
    pub mode: Option<&'a FileMode>,
    pub owner: Option<&'a Account>,
    pub group: Option<&'a Account>,
    pub backup: bool,
    pub validate: Option<&'a str>,
    /// chattr's flags (Ansible's `attributes`).
    pub attributes: Option<&'a str>,
}

impl Attributes<'_> {
    fn any(&self) -> bool {
        self.mode.is_some()
            || self.owner.is_some()
            || self.group.is_some()
            || self.attributes.is_some()
    }
}

/// Write `after` to `path` if it differs from `before` (or owner, group or mode differ),
/// with the module's message for a change of contents. The outcome carries Ansible's
/// `msg`, `changed`, the backup under `backup_key`, and the diff. `backup_key`
/// `backup_file` (blockinfile's) is there only when a backup was made, as in Ansible;
/// another key is always there (`""` without a backup). `registered`: the `diff`
/// lineinfile and blockinfile register ([`registered_diff`]), which gets chattr's flags
/// when they change, as ansible-core's check_file_attrs writes them there.
#[allow(clippy::too_many_arguments)]
pub async fn write(
    ctx: &TaskContext<'_>,
    path: &str,
    before: Option<&str>,
    after: &str,
    attributes: Attributes<'_>,
    message: &str,
    backup_key: &str,
    registered: Option<serde_json::Value>,
) -> Result<Outcome, TransportError> {
    let differs = before != Some(after);
    if !differs && !attributes.any() {
        let mut outcome = Outcome::ok().with("msg", "");
        if !backup_key.is_empty() && backup_key != "backup_file" {
            outcome = outcome.with(backup_key, "");
        }
        if let Some(registered) = registered {
            outcome = outcome.with("diff", registered);
        }
        return Ok(outcome);
    }
    let mut settings = match ansible_settings(
        attributes.mode,
        attributes.owner,
        attributes.group,
        attributes.backup,
        true,
        attributes.validate,
    ) {
        Ok(settings) => settings,
        Err(reason) => return Ok(Outcome::failed(reason)),
    };
    // ansible-core reads the file a link points to and writes the new contents there: the
    // link stays a link, its backup is named after it, and owner, group and mode go to the
    // link itself.
    settings.follow = true;
    settings.at_link = true;
    settings.attributes = attributes.attributes.map(str::to_owned);
    settings.devices_as_read = true;
    let files = [NewFile {
        target: Target::Path(path.to_owned()),
        bytes: after.as_bytes().to_vec(),
        secret: super::args::secret_by_name(path),
    }];
    let installed = match file_install::install(ctx, &files, &settings).await? {
        Ok(installed) => installed,
        Err(failure) => return Ok(failure_outcome(failure)),
    };
    let Some(one) = installed.first() else {
        return Ok(Outcome::failed("nothing was installed"));
    };
    // ansible-core's check_file_attrs: the attributes changed after new contents add
    // their words to the message.
    let attrs = "ownership, perms or SE linux context changed";
    let (mut outcome, msg) = match one.change {
        Change::None => (Outcome::ok(), String::new()),
        Change::Meta => (Outcome::changed(), attrs.to_owned()),
        Change::Contents if one.flags.is_some() => {
            (Outcome::changed(), format!("{message} and {attrs}"))
        }
        Change::Contents => (Outcome::changed(), message.to_owned()),
    };
    if one.change != Change::None {
        outcome.files = vec![one.path.clone()];
    }
    if ctx.diff {
        // Printed as ansible-core prints lineinfile's and blockinfile's (`replace` names
        // the file alone: `replace.rs`).
        let content = format!("{path} (content)");
        outcome.diffs = one
            .diff(after.as_bytes())
            .map(|diff| FileDiff {
                headers: Some(DiffHeaders {
                    before: Some(content.clone()),
                    after: Some(content),
                }),
                ..diff
            })
            .into_iter()
            .collect();
    }
    if let Some(mut registered) = registered {
        if let (Some((read, flags, wanted)), Some(entry)) = (&one.flags, registered.get_mut(1)) {
            let before = serde_json::json!({ "attributes": if *read { flags.as_str().into() } else { serde_json::Value::Null } });
            let after = serde_json::json!({ "attributes": wanted });
            if ctx.diff {
                let header = format!("{path} (file attributes)");
                let text = |value: &serde_json::Value| {
                    format!("{}\n", crate::template::python::json(value, Some(4), true))
                };
                outcome.diffs.push(FileDiff {
                    headers: Some(DiffHeaders {
                        before: Some(header.clone()),
                        after: Some(header),
                    }),
                    path: path.to_owned(),
                    before: text(&before),
                    after: text(&after),
                });
            }
            entry["before"] = before;
            entry["after"] = after;
        }
        outcome = outcome.with("diff", registered);
    }
    outcome = outcome.with("msg", msg);
    if backup_key == "backup_file" {
        if let Some(backup) = &one.backup {
            outcome = outcome.with(backup_key, backup.clone());
        }
    } else if !backup_key.is_empty() {
        outcome = outcome.with(backup_key, one.backup.clone().unwrap_or_default());
    }
    Ok(outcome)
}

/// The `diff` lineinfile and blockinfile register, as ansible-core's modules return it
/// with or without `--diff`: the contents before and after (empty strings unless the task
/// runs in diff mode), then the file attributes' headers. Secrets are hidden as `--diff`
/// hides them.
pub fn registered_diff(
    ctx: &TaskContext<'_>,
    path: &str,
    before: Option<&str>,
    after: &str,
) -> serde_json::Value {
    let secret = super::args::secret_by_name(path);
    let show = |text: &str| {
        if ctx.diff {
            super::diff_text(text.as_bytes(), secret)
        } else {
            String::new()
        }
    };
    let content = format!("{path} (content)");
    let attributes = format!("{path} (file attributes)");
    serde_json::json!([
        {
            "before": show(before.unwrap_or_default()),
            "after": show(after),
            "before_header": content,
            "after_header": content,
        },
        { "before_header": attributes, "after_header": attributes },
    ])
}

pub use crate::python_regex::{Flags, PythonRegex};

/// A Python regular expression, `re.MULTILINE` with `multi_line`.
pub fn regex(pattern: &str, multi_line: bool) -> Result<PythonRegex, String> {
    let flags = if multi_line {
        Flags::MULTI_LINE
    } else {
        Flags::NONE
    };
    PythonRegex::new(pattern, flags)
}

/// Check a pattern where it is written, unless it is still a template.
pub fn check_regex(pattern: Option<&str>) -> Result<(), String> {
    match pattern {
        Some(pattern) if !crate::yaml::is_template(pattern) => regex(pattern, false).map(|_| ()),
        _ => Ok(()),
    }
}
