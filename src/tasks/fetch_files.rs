//! `fetch_files` (quayside's own; Ansible's `fetch` is `fetch.rs`, sharing the controller-side
//! writes below): a file or directory from each host to the controller, under
//! `dest/<inventory_hostname>/` (backups before a change), in one round trip per host.
//!
//! As `copy_files` reads its sources: `src: /srv/quay/config` arrives as
//! `dest/HOST/config/...`, `src: /srv/quay/config/` (with the slash) as `dest/HOST/...`, and
//! a file as `dest/HOST/NAME`.
//!
//! The host lists the tree without following links and sends each file's SHA-256, and its
//! contents only if the controller does not already hold a file with that sum (the script
//! carries the sums of the copies already fetched). Every name the host sends is checked
//! before anything is written: it must stay under the host's folder (no `..`, no absolute
//! path, no empty part), and no existing part of the way may be a symbolic link. A
//! symbolic link or special file on the host is refused, and nothing is written for that
//! host. Contents are checked against their SHA-256 and written through a temporary file
//! and a rename.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::json;

use super::args::secret_by_name;
use super::copy_files::playbook_dir;
use super::file_install::sha256;
use super::{FileDiff, Outcome, TaskContext, TaskType};
use crate::transport::{TransportError, quote};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchFiles {
    /// A file or directory on the host.
    src: String,
    /// A directory on the controller (relative to the playbook's directory).
    dest: String,
}

/// One entry the host sent.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Dir,
    File {
        mode: u32,
        sha256: String,
        /// `None` when the controller already holds these contents.
        contents: Option<Vec<u8>>,
    },
    /// A symbolic link (with its target) or a special file: refused.
    Refused(String),
}

/// The script: list `src` without following links. Names are base64 (they may hold
/// newlines); contents are sent only for sums not in `$known`.
fn script(src: &str, known: &[String], send: bool) -> String {
    let send = if send { "1" } else { "0" };
    // A trailing slash would make the shell follow a link to a directory.
    let trimmed = match src.trim_end_matches('/') {
        "" => "/",
        trimmed => trimmed,
    };
    let (parent, base) = match trimmed.rsplit_once('/') {
        Some(("", base)) => ("/".to_owned(), base),
        Some((parent, base)) => (parent.to_owned(), base),
        None => (".".to_owned(), trimmed),
    };
    format!(
        r#"set -u
src={src}
known='
{known}
'
send={send}
export known send
if [ -L "$src" ]; then printf 'L %s %s\n' "$(printf . | base64 -w0)" "$(readlink -- "$src" | base64 -w0)"; exit 0; fi
if [ ! -e "$src" ]; then echo "\`$src\` does not exist" >&2; exit 3; fi
if [ -f "$src" ]; then echo K file; cd -- {dir} || exit 1; set -- ./{base}
else echo K dir; cd -- "$src" || exit 1; set -- .; fi
find -P "$@" -exec sh -c '
for f; do
  n=$(printf %s "$f" | base64 -w0)
  if [ -L "$f" ]; then printf "L %s %s\n" "$n" "$(readlink -- "$f" | base64 -w0)"
  elif [ -d "$f" ]; then printf "D %s %s\n" "$n" "$(stat -c %a -- "$f")"
  elif [ -f "$f" ]; then
    sum=$(sha256sum < "$f") || exit 1; sum=${{sum%% *}}
    printf "F %s %s %s " "$n" "$(stat -c %a -- "$f")" "$sum"
    case "$known" in
      *"
$sum
"*) echo = ;;
      *) if [ "$send" = 1 ]; then base64 -w0 < "$f" || exit 1; echo; else echo -; fi ;;
    esac
  else printf "O %s\n" "$n"; fi
done' sh {{}} +
"#,
        src = quote(trimmed),
        dir = quote(&parent),
        base = quote(base),
        known = known.join("\n"),
    )
}

/// Read the host's listing: every name, checked, with its entry.
fn parse(stdout: &str) -> Result<BTreeMap<PathBuf, Entry>, String> {
    let mut entries = BTreeMap::new();
    for line in stdout
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("K "))
    {
        let words: Vec<&str> = line.split(' ').collect();
        let name = words
            .get(1)
            .map(|n| STANDARD.decode(n))
            .transpose()
            .map_err(|_| "the host sent a listing that is not base64".to_owned())?
            .unwrap_or_default();
        let name = relative(&name)?;
        let mode = |word: Option<&&str>| {
            word.and_then(|m| u32::from_str_radix(m, 8).ok())
                .ok_or_else(|| format!("the host sent a bad mode for `{}`", name.display()))
        };
        let entry = match (words[0], words.len()) {
            ("D", 3) => Entry::Dir,
            ("F", 5) => Entry::File {
                mode: mode(words.get(2))?,
                sha256: words[3].to_owned(),
                contents: match words[4] {
                    "=" | "-" => None,
                    b64 => Some(STANDARD.decode(b64).map_err(|_| {
                        format!("the host sent bad contents for `{}`", name.display())
                    })?),
                },
            },
            ("L", 3) => Entry::Refused(format!(
                "`{}` is a symbolic link (to `{}`); fetch_files does not follow links",
                shown(&name),
                String::from_utf8_lossy(&STANDARD.decode(words[2]).unwrap_or_default()).trim_end()
            )),
            ("O", 2) => Entry::Refused(format!(
                "`{}` is not a regular file or directory",
                shown(&name)
            )),
            _ => return Err(format!("the host sent an unreadable line: {line}")),
        };
        entries.insert(name, entry);
    }
    Ok(entries)
}

fn shown(path: &Path) -> String {
    if path.as_os_str().is_empty() {
        ".".to_owned()
    } else {
        path.display().to_string()
    }
}

/// A name the host sent (`./a/b`), as a path that stays where it is put: no `..`, no root,
/// no empty or NUL part. `.` is the fetched path itself (empty).
fn relative(name: &[u8]) -> Result<PathBuf, String> {
    let refuse = || {
        format!(
            "refusing the name `{}` sent by the host: it would leave the destination",
            String::from_utf8_lossy(name).escape_debug()
        )
    };
    let text = name.strip_prefix(b"./").unwrap_or(name);
    if name == b"." {
        return Ok(PathBuf::new());
    }
    if name.first() != Some(&b'.') || text.is_empty() || name.contains(&0) {
        return Err(refuse());
    }
    let path = Path::new(OsStr::from_bytes(text));
    let mut clean = PathBuf::new();
    for part in text.split(|b| *b == b'/') {
        if part.is_empty() || part == b"." || part == b".." {
            return Err(refuse());
        }
        clean.push(OsStr::from_bytes(part));
    }
    if !path.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(refuse());
    }
    Ok(clean)
}

/// Where `src` goes under the host's folder: `/srv/quay/config` → `config`, and
/// `/srv/quay/config/` → the host's folder itself.
fn local_part(src: &str) -> Result<PathBuf, String> {
    if src.ends_with('/') {
        return Ok(PathBuf::new());
    }
    match src.rsplit('/').next() {
        Some("") | None => Err(format!("`src` `{src}` names no file")),
        Some(".") | Some("..") => Err(format!(
            "`src` `{src}` must end in a name (or `/` for what is in it)"
        )),
        Some(name) => Ok(PathBuf::from(name)),
    }
}

/// Every existing part of `path` below `root` must be a real directory (or, for the last,
/// a regular file): a link planted there would send the write elsewhere.
pub(super) fn check_way(root: &Path, path: &Path) -> Result<(), String> {
    let relative = path
        .strip_prefix(root)
        .map_err(|_| format!("`{}` is not under `{}`", path.display(), root.display()))?;
    let mut at = root.to_path_buf();
    for part in relative.components() {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(format!(
                    "`{}` on the controller is a symbolic link; refusing to write through it",
                    at.display()
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

pub(super) fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(".{name}.quayside-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(mode & 0o777))?;
        std::fs::rename(&temp, path)
    })();
    result.map_err(|error| {
        let _ = std::fs::remove_file(&temp);
        format!("cannot write `{}`: {error}", path.display())
    })
}

impl TaskType for FetchFiles {
    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let part = match local_part(&self.src) {
            Ok(part) => part,
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        if ctx.host.is_empty() || ctx.host.contains('/') || ctx.host == ".." || ctx.host == "." {
            return Ok(Outcome::failed(format!(
                "host name `{}` cannot be a folder name",
                ctx.host
            )));
        }
        let dest = playbook_dir(ctx.vars).join(&self.dest);
        let host_root = dest.join(ctx.host);
        let root = if part.as_os_str().is_empty() {
            host_root.clone()
        } else {
            host_root.join(&part)
        };
        // The sums of what is already here, so that the host sends only what is new.
        let mut known = Vec::new();
        collect_sums(&root, &mut known);
        // In check mode contents are only needed for `--diff`.
        let send = !ctx.check || ctx.diff;
        let output = ctx.run(ctx.script(script(&self.src, &known, send))).await?;
        if !output.success() {
            let stderr = output.stderr_lossy();
            let reason = stderr
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("failed")
                .trim();
            return Ok(Outcome::failed(format!("cannot fetch: {reason}")));
        }
        let stdout = output.stdout_lossy();
        let mut entries = match parse(&stdout) {
            Ok(entries) => entries,
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        if stdout.lines().next() == Some("K file") {
            // The one entry is the file `src` names itself.
            entries = entries.into_values().map(|e| (PathBuf::new(), e)).collect();
        }
        let refused: Vec<&String> = entries
            .values()
            .filter_map(|e| match e {
                Entry::Refused(why) => Some(why),
                _ => None,
            })
            .collect();
        if !refused.is_empty() {
            return Ok(Outcome::failed(format!(
                "nothing fetched: {}",
                refused
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            )));
        }
        match self.store(ctx, &host_root, &root, &entries) {
            Ok(outcome) => Ok(outcome),
            Err(reason) => Ok(Outcome::failed(reason)),
        }
    }
}

/// The SHA-256 of every regular file under `path` (not following links).
fn collect_sums(path: &Path, sums: &mut Vec<String>) {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    if meta.is_file() {
        if let Ok(bytes) = std::fs::read(path) {
            sums.push(sha256(&bytes));
        }
    } else if meta.is_dir() {
        if let Ok(entries) = std::fs::read_dir(path) {
            for entry in entries.flatten() {
                collect_sums(&entry.path(), sums);
            }
        }
    }
}

/// What a local file holds now, if it is a regular file.
fn local_file(path: &Path) -> Option<(Vec<u8>, u32)> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    Some((std::fs::read(path).ok()?, meta.permissions().mode() & 0o777))
}

impl FetchFiles {
    fn store(
        &self,
        ctx: &TaskContext<'_>,
        host_root: &Path,
        root: &Path,
        entries: &BTreeMap<PathBuf, Entry>,
    ) -> Result<Outcome, String> {
        // Everything is checked before anything is written.
        let mut plan = Vec::new();
        for (name, entry) in entries {
            let local = if name.as_os_str().is_empty() {
                root.to_path_buf()
            } else {
                root.join(name)
            };
            check_way(host_root.parent().unwrap_or(host_root), &local)?;
            let remote = if name.as_os_str().is_empty() {
                self.src.clone()
            } else {
                format!("{}/{}", self.src.trim_end_matches('/'), name.display())
            };
            match entry {
                Entry::Dir => plan.push((local, remote, None)),
                Entry::File {
                    mode,
                    sha256: sum,
                    contents,
                } => {
                    let have = local_file(&local);
                    let bytes = match (contents, &have) {
                        (Some(bytes), _) => {
                            if sha256(bytes) != *sum {
                                return Err(format!(
                                    "`{remote}` arrived with sha256 {}, but the host reported {sum}",
                                    sha256(bytes)
                                ));
                            }
                            Some(bytes.clone())
                        }
                        // Sent as known: the local copy must be it.
                        (None, Some((bytes, _))) if sha256(bytes) == *sum => Some(bytes.clone()),
                        // Known elsewhere under the folder (a renamed file): find it.
                        (None, _) if !ctx.check => {
                            Some(find_by_sum(root, sum).ok_or_else(|| {
                                format!("`{remote}` was not sent and is not here")
                            })?)
                        }
                        (None, _) => None,
                    };
                    plan.push((local, remote, Some((*mode, sum.clone(), bytes, have))));
                }
                Entry::Refused(_) => {}
            }
        }
        let mut files = Vec::new();
        let mut changed_files = Vec::new();
        let mut diffs = Vec::new();
        for (local, remote, file) in plan {
            let Some((mode, sum, bytes, have)) = file else {
                if !ctx.check {
                    std::fs::create_dir_all(&local)
                        .map_err(|error| format!("cannot create `{}`: {error}", local.display()))?;
                }
                continue;
            };
            let same_contents = have.as_ref().is_some_and(|(b, _)| sha256(b) == sum);
            let same_mode = have.as_ref().is_some_and(|(_, m)| *m == mode & 0o777);
            let changed = !(same_contents && same_mode);
            if changed && !ctx.check {
                if let Some(dir) = local.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|error| format!("cannot create `{}`: {error}", dir.display()))?;
                }
                if same_contents {
                    std::fs::set_permissions(&local, std::fs::Permissions::from_mode(mode & 0o777))
                        .map_err(|error| {
                            format!("cannot set the mode of `{}`: {error}", local.display())
                        })?;
                } else if let Some(bytes) = &bytes {
                    write_file(&local, bytes, mode)?;
                }
            }
            if changed && !same_contents && ctx.diff {
                let secret = secret_by_name(&remote);
                let show = |b: &[u8]| super::diff_text(b, secret);
                diffs.push(FileDiff {
                    headers: None,
                    path: local.display().to_string(),
                    before: show(have.as_ref().map_or(&[][..], |(b, _)| b)),
                    after: bytes
                        .as_deref()
                        .map_or_else(|| "(not read in check mode)\n".to_owned(), show),
                });
            }
            let path = local.display().to_string();
            if changed {
                changed_files.push(path.clone());
            }
            files.push(json!({
                "path": path,
                "remote": remote,
                "sha256": sum,
                "changed": changed,
            }));
        }
        let mut outcome = if changed_files.is_empty() {
            Outcome::ok()
        } else {
            Outcome::changed()
        };
        outcome.diffs = diffs;
        outcome.files = changed_files.clone();
        let verb = if ctx.check { "would change" } else { "changed" };
        let msg = match files.as_slice() {
            [one] if changed_files.is_empty() => {
                format!(
                    "`{}` already fetched",
                    one["path"].as_str().unwrap_or_default()
                )
            }
            [one] => format!(
                "`{}` {}",
                one["path"].as_str().unwrap_or_default(),
                if ctx.check {
                    "would be fetched"
                } else {
                    "fetched"
                }
            ),
            _ => format!("{} files, {} {verb}", files.len(), changed_files.len()),
        };
        Ok(outcome
            .with_msg(msg)
            .with("dest", root.display().to_string())
            .with("files", files)
            .with("changed_files", changed_files))
    }
}

fn find_by_sum(root: &Path, sum: &str) -> Option<Vec<u8>> {
    let meta = std::fs::symlink_metadata(root).ok()?;
    if meta.is_file() {
        let bytes = std::fs::read(root).ok()?;
        return (sha256(&bytes) == sum).then_some(bytes);
    }
    if meta.is_dir() {
        for entry in std::fs::read_dir(root).ok()?.flatten() {
            if let Some(bytes) = find_by_sum(&entry.path(), sum) {
                return Some(bytes);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_would_leave_are_refused() {
        assert_eq!(relative(b".").unwrap(), PathBuf::new());
        assert_eq!(relative(b"./a/b").unwrap(), PathBuf::from("a/b"));
        assert_eq!(
            relative(b"./line\nbreak").unwrap(),
            PathBuf::from("line\nbreak")
        );
        for bad in [
            &b"../x"[..],
            b"/etc/passwd",
            b"./a/../../x",
            b"./a//b",
            b"./",
            b"x",
            b"./..",
        ] {
            assert!(relative(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn the_source_maps_under_the_host() {
        assert_eq!(
            local_part("/srv/quay/config").unwrap(),
            PathBuf::from("config")
        );
        assert_eq!(local_part("/srv/quay/config/").unwrap(), PathBuf::new());
        assert!(local_part("/srv/..").is_err());
        assert!(local_part("").is_err());
    }

    #[test]
    fn listings_are_read() {
        let name = STANDARD.encode("./a b");
        let body = STANDARD.encode("hi");
        let sum = sha256(b"hi");
        let entries = parse(&format!("D Lg== 755\nF {name} 640 {sum} {body}\n")).unwrap();
        assert_eq!(entries[&PathBuf::new()], Entry::Dir);
        assert_eq!(
            entries[&PathBuf::from("a b")],
            Entry::File {
                mode: 0o640,
                sha256: sum,
                contents: Some(b"hi".to_vec())
            }
        );
        let evil = STANDARD.encode("../../etc/x");
        assert!(parse(&format!("D {evil} 755\n")).is_err());
    }
}
