//! `stat` (Ansible's `ansible.builtin.stat`): what a path on the host is, registered under
//! `stat` with Ansible's keys (`exists`, `isdir`, `mode`, `checksum`...), in one round trip.
//! It never changes anything, in check mode or not.

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::{Outcome, TaskContext, TaskType};
use crate::transport::{TransportError, quote};

#[derive(Debug, Deserialize)]
#[serde(try_from = "Args")]
pub struct Stat(Args);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    #[serde(alias = "dest", alias = "name")]
    path: String,
    /// Look through a symbolic link to what it leads to.
    #[serde(default)]
    follow: bool,
    #[serde(default = "super::args::yes")]
    get_checksum: bool,
    #[serde(default = "sha1", alias = "checksum", alias = "checksum_algo")]
    checksum_algorithm: Algorithm,
    /// `mimetype` and `charset`, as `file --mime-type --mime-encoding` says them
    /// (`unknown` without `file`), as Ansible's.
    #[serde(
        default = "super::args::yes",
        alias = "mime",
        alias = "mime_type",
        alias = "mime-type"
    )]
    get_mime: bool,
    /// `attributes`, `attr_flags` and `version`, as `lsattr -vd` gives them (empty and
    /// null where it cannot read them), as ansible-core's.
    #[serde(default = "super::args::yes", alias = "attr", alias = "attributes")]
    get_attributes: bool,
}

fn sha1() -> Algorithm {
    Algorithm::Sha1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Algorithm {
    /// The coreutils program that prints the digest.
    pub(super) fn command(self) -> &'static str {
        match self {
            Algorithm::Md5 => "md5sum",
            Algorithm::Sha1 => "sha1sum",
            Algorithm::Sha224 => "sha224sum",
            Algorithm::Sha256 => "sha256sum",
            Algorithm::Sha384 => "sha384sum",
            Algorithm::Sha512 => "sha512sum",
        }
    }
}

impl TryFrom<Args> for Stat {
    type Error = String;

    fn try_from(args: Args) -> Result<Self, String> {
        if args.path.is_empty() {
            return Err("`path` is empty".to_owned());
        }
        Ok(Stat(args))
    }
}

impl Stat {
    fn script(&self) -> String {
        let args = &self.0;
        format!(
            r#"p={} L={}
if [ -e "$p" ] || [ -L "$p" ]; then
  stat $L -c 'S %f %a %u %g %s %.9X %.9Y %.9Z %i %d %h %b %o %t %T %U %G' -- "$p" || exit 1
  if [ -L "$p" ] && [ -z "$L" ]; then
    printf 'T '; readlink -- "$p"
    printf 'R '; readlink -m -- "$p"
  fi
  printf 'P %s%s%s\n' "$([ -r "$p" ] && echo 1 || echo 0)" "$([ -w "$p" ] && echo 1 || echo 0)" "$([ -x "$p" ] && echo 1 || echo 0)"
  if [ {} = 1 ] && [ -r "$p" ] && {{ [ -n "$L" ] || [ ! -L "$p" ]; }} && [ -f "$p" ]; then
    s=$({} < "$p") && printf 'H %s\n' "${{s%% *}}"
  fi
  if [ {} = 1 ]; then
    m=$(file -b --mime-type --mime-encoding -- "$p" 2>/dev/null) && printf 'M %s\n' "$m" || echo 'M unknown; charset=unknown'
  fi
  if [ {} = 1 ]; then
    x=$(lsattr -vd "$p" 2>/dev/null) && printf 'X %s\n' "$x" || :
  fi
else
  echo N
fi
"#,
            quote(&args.path),
            if args.follow { "-L" } else { "''" },
            u8::from(args.get_checksum),
            args.checksum_algorithm.command(),
            u8::from(args.get_mime),
            u8::from(args.get_attributes),
        )
    }
}

/// The `stat` dictionary from the script's report.
fn read_report(
    path: &str,
    stdout: &str,
    get_attributes: bool,
) -> Result<Map<String, Json>, String> {
    let mut stat = Map::new();
    if stdout.lines().any(|l| l == "N") {
        stat.insert("exists".into(), false.into());
        return Ok(stat);
    }
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("S ") {
            let words: Vec<&str> = rest.split(' ').collect();
            let [
                raw,
                mode,
                uid,
                gid,
                size,
                atime,
                mtime,
                ctime,
                inode,
                dev,
                nlink,
                blocks,
                block_size,
                major,
                minor,
                user,
                group,
            ] = words.as_slice()
            else {
                return Err(format!("unexpected `stat` output for `{path}`: {rest}"));
            };
            let raw = u32::from_str_radix(raw, 16).unwrap_or_default();
            let bits = u32::from_str_radix(mode, 8).unwrap_or_default();
            let kind = raw & 0o170000;
            let int = |text: &str| text.parse::<u64>().unwrap_or_default();
            let float = |text: &str| {
                serde_json::Number::from_f64(text.parse::<f64>().unwrap_or_default())
                    .map_or(Json::Null, Json::Number)
            };
            let hex = |text: &str| u64::from_str_radix(text, 16).unwrap_or_default();
            let (major, minor) = (hex(major), hex(minor));
            let rdev = (minor & 0xff)
                | ((major & 0xfff) << 8)
                | ((minor & !0xff) << 12)
                | ((major & !0xfff) << 32);
            let flag = |bit: u32| Json::Bool(bits & bit != 0);
            let entries: Vec<(&str, Json)> = vec![
                ("exists", true.into()),
                ("path", path.into()),
                ("mode", format!("{bits:04o}").into()),
                ("isdir", (kind == 0o040000).into()),
                ("ischr", (kind == 0o020000).into()),
                ("isblk", (kind == 0o060000).into()),
                ("isreg", (kind == 0o100000).into()),
                ("isfifo", (kind == 0o010000).into()),
                ("islnk", (kind == 0o120000).into()),
                ("issock", (kind == 0o140000).into()),
                ("uid", int(uid).into()),
                ("gid", int(gid).into()),
                ("pw_name", (*user).into()),
                ("gr_name", (*group).into()),
                ("size", int(size).into()),
                ("inode", int(inode).into()),
                ("dev", int(dev).into()),
                ("nlink", int(nlink).into()),
                ("atime", float(atime)),
                ("mtime", float(mtime)),
                ("ctime", float(ctime)),
                ("wusr", flag(0o200)),
                ("rusr", flag(0o400)),
                ("xusr", flag(0o100)),
                ("wgrp", flag(0o020)),
                ("rgrp", flag(0o040)),
                ("xgrp", flag(0o010)),
                ("woth", flag(0o002)),
                ("roth", flag(0o004)),
                ("xoth", flag(0o001)),
                ("isuid", flag(0o4000)),
                ("isgid", flag(0o2000)),
                ("blocks", int(blocks).into()),
                ("block_size", int(block_size).into()),
                ("device_type", rdev.into()),
            ];
            for (key, value) in entries {
                stat.insert(key.into(), value);
            }
        } else if let Some(rest) = line.strip_prefix("T ") {
            stat.insert("lnk_target".into(), rest.into());
        } else if let Some(rest) = line.strip_prefix("R ") {
            stat.insert("lnk_source".into(), rest.into());
        } else if let Some(rest) = line.strip_prefix("P ") {
            let bit = |i: usize| Json::Bool(rest.as_bytes().get(i) == Some(&b'1'));
            stat.insert("readable".into(), bit(0));
            stat.insert("writeable".into(), bit(1));
            stat.insert("executable".into(), bit(2));
        } else if let Some(rest) = line.strip_prefix("H ") {
            stat.insert("checksum".into(), rest.into());
        } else if let Some(rest) = line.strip_prefix("X ") {
            // `lsattr -vd`: the version, then the flags (`-` for each one not set).
            let mut words = rest.split_whitespace();
            if let (Some(version), Some(flags)) = (words.next(), words.next()) {
                let flags = flags.replace('-', "");
                stat.insert("version".into(), version.into());
                stat.insert("attributes".into(), attribute_names(&flags).into());
                stat.insert("attr_flags".into(), flags.into());
            }
        } else if let Some(rest) = line.strip_prefix("M ") {
            // `TYPE; charset=CHARSET`, as ansible-core splits it.
            let (mimetype, charset) = rest.split_once(';').unwrap_or((rest, "charset=unknown"));
            let charset = charset.split_once('=').map_or(charset, |(_, c)| c);
            stat.insert("mimetype".into(), mimetype.trim().into());
            stat.insert("charset".into(), charset.trim().into());
        }
    }
    if stat.is_empty() {
        return Err(format!("cannot read `{path}`"));
    }
    if get_attributes && !stat.contains_key("attr_flags") {
        stat.insert("version".into(), Json::Null);
        stat.insert("attributes".into(), Json::Array(Vec::new()));
        stat.insert("attr_flags".into(), "".into());
    }
    Ok(stat)
}

/// The names of chattr's flags, as ansible-core's `format_attributes` gives them (flags it
/// has no name for left out).
fn attribute_names(flags: &str) -> Vec<&'static str> {
    flags
        .chars()
        .filter_map(|flag| {
            Some(match flag {
                'A' => "noatime",
                'a' => "append",
                'c' => "compressed",
                'C' => "nocow",
                'd' => "nodump",
                'D' => "dirsync",
                'e' => "extents",
                'E' => "encrypted",
                'h' => "blocksize",
                'i' => "immutable",
                'I' => "indexed",
                'j' => "journalled",
                'N' => "inline",
                's' => "zero",
                'S' => "synchronous",
                't' => "notail",
                'T' => "blockroot",
                'u' => "undelete",
                'X' => "compressedraw",
                'Z' => "compresseddirty",
                _ => return None,
            })
        })
        .collect()
}

impl TaskType for Stat {
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Runs;

    /// One script, which exits non-zero exactly when the task fails (but for a `stat`
    /// line it cannot read, which GNU `stat -c` with this format does not print).
    fn pipelines(_args: &crate::yaml::Node) -> bool {
        true
    }

    const HOST_PATHS: &'static [&'static str] = &["path", "dest", "name"];

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let output = ctx.run(ctx.script(self.script())).await?;
        let stdout = output.stdout_lossy();
        if !output.success() {
            let stderr = output.stderr_lossy();
            return Ok(Outcome::failed(
                stderr.lines().next().unwrap_or("stat failed").to_owned(),
            ));
        }
        match read_report(&self.0.path, &stdout, self.0.get_attributes) {
            Ok(stat) => Ok(Outcome::ok().with("stat", Json::Object(stat))),
            Err(reason) => Ok(Outcome::failed(reason)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_path_is_only_not_there() {
        let stat = read_report("/x", "N\n", true).unwrap();
        assert_eq!(Json::Object(stat), serde_json::json!({"exists": false}));
    }

    #[test]
    fn a_regular_file_reads_as_ansible_names_it() {
        let stat = read_report(
            "/etc/x",
            "S 81a4 640 0 42 5 1.5 2.25 3.0 77 65024 1 8 4096 0 0 root quay\nP 110\nH abc\n",
            false,
        )
        .unwrap();
        assert_eq!(stat["mode"], "0640");
        assert_eq!(stat["isreg"], true);
        assert_eq!(stat["isdir"], false);
        assert_eq!(stat["gr_name"], "quay");
        assert_eq!(stat["rgrp"], true);
        assert_eq!(stat["roth"], false);
        assert_eq!(stat["mtime"], 2.25);
        assert_eq!(stat["writeable"], true);
        assert_eq!(stat["executable"], false);
        assert_eq!(stat["checksum"], "abc");
    }
}
