//! `fetch` (Ansible's `ansible.builtin.fetch`): one file from the host to
//! `dest/<inventory_hostname>/<src>` on the controller (or `dest` itself with `flat: true`),
//! as ansible-core 2.19's action plugin does, in one round trip: the host reports what
//! `src` is and its SHA-1, and sends the contents only when the controller's copy differs.
//!
//! The controller side is `fetch_files`' (a write through a temporary file and a rename,
//! never through a symbolic link planted under `dest/<host>/`). Directories are
//! `fetch_files`' work: a `src` that ends in `/` is refused before the run with a hint
//! naming it, and a directory found on the host fails as Ansible's fetch fails.

use std::path::{Component, Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::hash::{MessageDigest, hash};
use serde::Deserialize;
use serde_json::Value as Json;

use super::copy_files::playbook_dir;
use super::fetch_files::{check_way, write_file};
use super::{Outcome, TaskContext, TaskType};
use crate::transport::{TransportError, quote};

#[derive(Debug, Deserialize)]
#[serde(try_from = "Args")]
pub struct Fetch(Args);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// One file on the host.
    src: String,
    /// A directory on the controller (relative to the playbook's), or with `flat`, the file
    /// itself (or a directory, written with a trailing `/`).
    dest: String,
    #[serde(default)]
    flat: bool,
    #[serde(default = "super::args::yes")]
    fail_on_missing: bool,
    #[serde(default = "super::args::yes", alias = "validate_md5")]
    validate_checksum: bool,
}

impl TryFrom<Args> for Fetch {
    type Error = String;

    fn try_from(args: Args) -> Result<Self, String> {
        if args.src.ends_with('/') {
            return Err(format!(
                "`fetch` is Ansible's fetch, which fetches one file, and `src` `{}` names a directory; quayside's `fetch_files` fetches directories (and takes only `src` and `dest`)",
                args.src
            ));
        }
        if args.src.is_empty() || args.dest.is_empty() {
            return Err("src and dest are required".to_owned());
        }
        Ok(Fetch(args))
    }
}

/// What the host found at `src`.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    Missing,
    Directory,
    Unreadable,
    /// The file's SHA-1 (as Ansible's `checksum`), and its contents unless the controller's
    /// copy already has that SHA-1.
    File(String, Option<Vec<u8>>),
}

fn digest(kind: MessageDigest, bytes: &[u8]) -> String {
    hash(kind, bytes).map(hex::encode).unwrap_or_default()
}

pub(super) fn sha1(bytes: &[u8]) -> String {
    digest(MessageDigest::sha1(), bytes)
}

pub(super) fn md5(bytes: &[u8]) -> String {
    digest(MessageDigest::md5(), bytes)
}

/// `src` as the host's shell reads it: `~` and `~/...` are the login user's home, as
/// Ansible's `_remote_expand_user` makes them.
pub(super) fn host_path(src: &str) -> String {
    if src == "~" {
        "\"$HOME\"".to_owned()
    } else if let Some(rest) = src.strip_prefix("~/") {
        format!("\"$HOME\"/{}", quote(rest))
    } else {
        quote(src)
    }
}

fn script(src: &str, known: Option<&str>) -> String {
    format!(
        r#"p={}
if [ ! -e "$p" ]; then echo N; exit 0; fi
if [ -d "$p" ]; then echo D; exit 0; fi
if [ ! -r "$p" ]; then echo R; exit 0; fi
s=$(sha1sum < "$p") || exit 1; s=${{s%% *}}
if [ "$s" = {} ]; then echo "S $s"; exit 0; fi
printf 'C %s ' "$s"; base64 -w0 < "$p" || exit 1; echo
"#,
        host_path(src),
        quote(known.unwrap_or("-")),
    )
}

fn parse(stdout: &str) -> Result<Found, String> {
    let line = stdout.lines().next().unwrap_or_default();
    let mut words = line.split(' ');
    Ok(match (words.next(), words.next(), words.next()) {
        (Some("N"), None, None) => Found::Missing,
        (Some("D"), None, None) => Found::Directory,
        (Some("R"), None, None) => Found::Unreadable,
        (Some("S"), Some(sum), None) => Found::File(sum.to_owned(), None),
        (Some("C"), Some(sum), contents) => Found::File(
            sum.to_owned(),
            Some(
                STANDARD
                    .decode(contents.unwrap_or_default())
                    .map_err(|_| "the host sent contents that are not base64".to_owned())?,
            ),
        ),
        _ => return Err(format!("the host sent an unreadable answer: {line}")),
    })
}

/// `path` with `.` and `..` resolved on paper, as Python's `os.path.normpath`; `None` if
/// it would climb above where it starts.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            other => out.push(other),
        }
    }
    Some(out)
}

impl Fetch {
    /// Where the file goes on the controller, and the folder under which no part of the
    /// way may be a symbolic link (`dest/<host>/` in the host layout).
    fn local_path(&self, ctx: &TaskContext<'_>) -> Result<(PathBuf, Option<PathBuf>), String> {
        let args = &self.0;
        let dest = playbook_dir(ctx.vars).join(&args.dest);
        if args.flat {
            if dest.is_dir() && !args.dest.ends_with('/') {
                return Err("dest is an existing directory, use a trailing slash if you want to fetch src into that directory".to_owned());
            }
            if args.dest.ends_with('/') {
                let base = args.src.rsplit('/').next().unwrap_or_default();
                let path = dest.join(base);
                if path.is_dir() {
                    return Err(format!(
                        "calculated dest '{}' is an existing directory, use another path that does not point to an existing directory",
                        path.display()
                    ));
                }
                return Ok((path, None));
            }
            return Ok((dest, None));
        }
        if ctx.host.is_empty() || ctx.host.contains('/') || ctx.host == ".." || ctx.host == "." {
            return Err(format!("host name `{}` cannot be a folder name", ctx.host));
        }
        let root = dest.join(ctx.host);
        let src = args.src.trim_start_matches('/');
        let path = normalize(Path::new(src))
            .filter(|p| !p.as_os_str().is_empty())
            .ok_or_else(|| {
                format!(
                    "Detected directory traversal, expected to be contained in '{}' but got '{}'",
                    root.display(),
                    args.src
                )
            })?;
        Ok((root.join(path), Some(root)))
    }
}

impl TaskType for Fetch {
    // As ansible-core's action plugin: "This action (NAME) does not support async."
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Fails;

    const HOST_PATHS: &'static [&'static str] = &["src"];

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let args = &self.0;
        if ctx.check {
            return Ok(Outcome::skipped(
                "check mode not (yet) supported for this module",
            ));
        }
        let (local, root) = match self.local_path(ctx) {
            Ok(found) => found,
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        let have = std::fs::read(&local).ok();
        let known = have.as_deref().map(sha1);
        let output = ctx
            .run(ctx.script(script(&args.src, known.as_deref())))
            .await?;
        let found = match parse(&output.stdout_lossy()) {
            Ok(found) if output.success() => found,
            Ok(_) | Err(_) => {
                let stderr = output.stderr_lossy();
                return Ok(Outcome::failed(format!(
                    "cannot read `{}` on the host: {}",
                    args.src,
                    stderr.lines().next().unwrap_or("failed")
                )));
            }
        };
        let (sum, contents) = match found {
            Found::File(sum, contents) => (sum, contents),
            Found::Missing => {
                let msg = "the remote file does not exist, not transferring, ignored";
                if args.fail_on_missing {
                    return Ok(Outcome::failed(msg));
                }
                return Ok(Outcome::ok().with_msg(msg).with("file", args.src.clone()));
            }
            // As ansible-core 2.19.14: slurp's message when it fails, nothing but the file
            // when it may.
            Found::Unreadable => {
                if args.fail_on_missing {
                    return Ok(Outcome::failed(format!(
                        "File is not readable: {}",
                        args.src
                    )));
                }
                return Ok(Outcome::ok().with("file", args.src.clone()));
            }
            Found::Directory => {
                let msg = "remote file is a directory, fetch cannot work on directories";
                if args.fail_on_missing {
                    return Ok(Outcome::failed(msg));
                }
                return Ok(Outcome::ok().with_msg(format!("{msg}, not transferring, ignored")));
            }
        };
        let dest = local.display().to_string();
        let Some(bytes) = contents else {
            // The controller's copy has the host's checksum already.
            let have = have.unwrap_or_default();
            return Ok(Outcome::ok()
                .with("md5sum", md5(&have))
                .with("file", args.src.clone())
                .with("dest", dest)
                .with("checksum", sum));
        };
        let new_sum = sha1(&bytes);
        if args.validate_checksum && new_sum != sum {
            let mut outcome = Outcome::failed("checksum mismatch");
            outcome.data.extend([
                ("md5sum".to_owned(), Json::from(md5(&bytes))),
                ("file".to_owned(), Json::from(args.src.clone())),
                ("dest".to_owned(), Json::from(dest)),
                ("remote_md5sum".to_owned(), Json::Null),
                ("checksum".to_owned(), Json::from(new_sum)),
                ("remote_checksum".to_owned(), Json::from(sum)),
            ]);
            return Ok(outcome);
        }
        let written = (|| {
            if let Some(root) = &root {
                check_way(root.parent().unwrap_or(root), &local)?;
            }
            if let Some(dir) = local.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|error| format!("cannot create `{}`: {error}", dir.display()))?;
            }
            if let Some(root) = &root {
                // Created just now: checked again, so that no link was planted meanwhile.
                check_way(root.parent().unwrap_or(root), &local)?;
            }
            write_file(&local, &bytes, 0o644)
        })();
        if let Err(reason) = written {
            return Ok(Outcome::failed(reason));
        }
        let mut outcome = Outcome::changed()
            .with("md5sum", md5(&bytes))
            .with("dest", dest)
            .with("remote_md5sum", Json::Null)
            .with("checksum", new_sum)
            .with("remote_checksum", sum);
        outcome.files = vec![local.display().to_string()];
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read() {
        assert_eq!(parse("N\n").unwrap(), Found::Missing);
        assert_eq!(parse("D\n").unwrap(), Found::Directory);
        assert_eq!(
            parse("S abc\n").unwrap(),
            Found::File("abc".to_owned(), None)
        );
        assert_eq!(
            parse("C abc aGk=\n").unwrap(),
            Found::File("abc".to_owned(), Some(b"hi".to_vec()))
        );
        assert!(parse("C abc !!\n").is_err());
        assert!(parse("what\n").is_err());
    }

    #[test]
    fn paths_stay_under_the_host_folder() {
        assert_eq!(
            normalize(Path::new("etc/./quay//config.yaml")).unwrap(),
            PathBuf::from("etc/quay/config.yaml")
        );
        assert_eq!(normalize(Path::new("a/../b")).unwrap(), PathBuf::from("b"));
        assert!(normalize(Path::new("a/../../etc/passwd")).is_none());
        assert!(normalize(Path::new("../x")).is_none());
    }

    #[test]
    fn checksums_are_ansibles() {
        // ansible-core 2.19.14 registered these for a file holding "hello\n".
        assert_eq!(sha1(b"hello\n"), "f572d396fae9206628714fb2ce00f72e94f2258f");
        assert_eq!(md5(b"hello\n"), "b1946ac92492d2347c6235b4d2611184");
    }
}
