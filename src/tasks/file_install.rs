//! Installing files on a host: compare SHA-256 first, send only what differs, replace each
//! file atomically. `copy_files` and `template_config` are built on it.
//!
//! One script does the comparing and the installing: for every file it prints the state
//! of the target, decides itself whether the contents, the owner or the mode differ, and
//! installs the new contents when they do: a file up to [`PRINTF_LIMIT`] as a `printf`
//! format (the shell's own, no process), a larger one from a base64 heredoc. Small files
//! (together up to [`INLINE_LIMIT`]) travel in that first script, so a run costs one round
//! trip per host whether or not anything changed. Larger files are sent in a second round
//! trip, only when their sum differs. Each process on the host counts (a files task is a
//! few of them per host, on hosts that may share CPUs): one `stat` reads every attribute,
//! the SHA-256 is read only when the sizes match, and what is already known is not read
//! again.
//!
//! A new file is written to a temporary file in the target's own directory and renamed
//! over the target: readers see the old file or the new one, never a half-written one. A
//! secret's is created owner-only (`mktemp`), given its owner and then its mode, so it is
//! never readable by anyone the finished file would not let read it; another file's, when
//! no owner changes, is created exclusively with its final mode at once.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use super::args::{Account, Mode};
use super::{FileDiff, TaskContext};
use crate::transport::{Script, TransportError, quote};

/// Above this many bytes (over all files of a task), contents wait for a second round trip
/// and are sent only if the host's copy differs.
pub const INLINE_LIMIT: usize = 256 * 1024;

/// How much of a replaced file is read back for `--diff`.
const DIFF_LIMIT: usize = 1024 * 1024;

/// Where a file goes on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Exactly this path.
    Path(String),
    /// `dest` itself, or `dest/name` if `dest` is a directory on the host.
    PathOrInto { dest: String, name: String },
}

/// A file to install.
#[derive(Debug, Clone)]
pub struct NewFile {
    pub target: Target,
    pub bytes: Vec<u8>,
    /// Never shown in a diff, never read back, and `0600` when new without a `mode`.
    pub secret: bool,
}

/// How every file of a task is installed.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub mode: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
    /// Keep the replaced file beside the new one as `NAME.YYYYMMDDTHHMMSS.bak` (or, with
    /// `ansible_names`, Ansible's `NAME.PID.YYYY-MM-DD@HH:MM:SS~`).
    pub backup: bool,
    /// Leave a file that is already there as it is (Ansible's `force: false`).
    pub keep_existing: bool,
    /// A command (Ansible's `validate`, `%s` standing for the new file) that must succeed
    /// on the new contents before they replace the file.
    pub validate: Option<String>,
    /// Backups named as Ansible names them.
    pub ansible_names: bool,
    /// Report each file's mode, owners, size and SHA-1 after the install ([`Meta`]).
    pub report_meta: bool,
    /// A symbolic mode (`u=rw,g=r`), worked out from each file's mode (instead of `mode`).
    pub symbolic: Option<Vec<super::args::Clause>>,
    /// A target that is a symbolic link is written through (Ansible's `follow: true`):
    /// the file it points to gets the contents; otherwise the link is replaced.
    pub follow: bool,
    /// A followed link is the file as far as its attributes go: its backup is named after
    /// the link, `owner` and `group` are the link's own, and `mode` is left alone (a link
    /// has none on Linux). ansible-core's `lineinfile`, `blockinfile` and `replace` write
    /// their contents through the link and the rest to the path as written; `copy` and
    /// `template` with `follow` do all to the file the link points to.
    pub at_link: bool,
    /// chattr's flags (Ansible's `attributes`), set after the install as ansible-core's
    /// `set_attributes_if_different` sets them (`file.rs`'s [`super::file::SET_ATTRIBUTES`]).
    pub attributes: Option<String>,
    /// A device (or pipe) at the target holds the contents it was read as (`file_edit.rs`
    /// reads them first): empty contents leave it in place, its owner and mode set, as
    /// ansible-core's edit modules leave `/dev/null`; other contents replace it.
    pub devices_as_read: bool,
}

impl Settings {
    /// The settings of a task's `mode`, `owner`, `group` and `backup` arguments.
    pub fn from_args(
        mode: Option<&Mode>,
        owner: Option<&Account>,
        group: Option<&Account>,
        backup: bool,
    ) -> Result<Settings, String> {
        let name =
            |account: Option<&Account>| account.map(|a| a.name().map(str::to_owned)).transpose();
        Ok(Settings {
            mode: mode.map(Mode::bits).transpose()?,
            owner: name(owner)?,
            group: name(group)?,
            backup,
            ..Settings::default()
        })
    }
}

/// A validate command as a shell command line: each word quoted, `%s` the new file.
pub fn validate_command(command: &str) -> Result<String, String> {
    if !command.contains("%s") {
        return Err(format!("validate must contain %s: {command}"));
    }
    let words = shell_words::split(command)
        .map_err(|error| format!("cannot read validate command `{command}`: {error}"))?;
    Ok(words
        .iter()
        .map(|word| {
            word.split("%s")
                .map(quote)
                .collect::<Vec<_>>()
                .join("\"$tmp\"")
        })
        .collect::<Vec<_>>()
        .join(" "))
}

/// A file's attributes after an install, as the host reported them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    /// `mode uid user gid group size`, as `stat` prints them.
    pub attrs: String,
    pub sha1: String,
    /// Only for new contents.
    pub md5: Option<String>,
}

/// Why a validate command refused the new contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub status: i32,
    pub stderr: String,
}

/// What a file needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    None,
    /// The contents were right; the owner or mode were not.
    Meta,
    Contents,
}

/// One file after the install (or, in check mode, what it would need).
#[derive(Debug, Clone)]
pub struct Installed {
    pub path: String,
    pub sha256: String,
    pub change: Change,
    /// There was no file at the target.
    pub created: bool,
    pub backup: Option<String>,
    /// The contents replaced, for `--diff` (never read for secrets).
    pub before: Option<Vec<u8>>,
    pub secret: bool,
    pub meta: Option<Meta>,
    /// chattr's flags changed (or would): whether lsattr read them, the flags read, the
    /// flags as written (`+A`), for ansible-core's diff.
    pub flags: Option<(bool, String, String)>,
}

impl Installed {
    /// The diff of a file whose contents change. Secrets are hidden, and secret-looking
    /// values in config files are masked.
    pub fn diff(&self, after: &[u8]) -> Option<FileDiff> {
        if self.change != Change::Contents {
            return None;
        }
        let show = |bytes: &[u8]| super::diff_text(bytes, self.secret);
        Some(FileDiff {
            headers: None,
            path: self.path.clone(),
            before: show(self.before.as_deref().unwrap_or_default()),
            after: show(after),
        })
    }
}

pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The shell functions every install script starts with. Each file sets `i t d want
/// wmode wspec wown wgrp newmode backup` and calls `look`, then `fix` or `put`.
const PRELUDE: &str = r#"set -u
fail() { printf 'E %s\n' "$i"; exit 1; }
look() {
  o=$t at=0
  if [ $follow = 1 ] && [ -L "$t" ]; then
    t=$(readlink -f -- "$t") || fail
    d=${t%/*}; [ -n "$d" ] || d=/
    printf 'L %s %s\n' "$i" "$t"
    at=$at_link
  fi
  if [ -L "$t" ]; then kind=link
  elif [ -f "$t" ]; then kind=file
  elif [ $devices = 1 ] && [ -e "$t" ] && [ ! -d "$t" ]; then kind=device
  elif [ -e "$t" ]; then kind=other
  else kind=absent; fi
  sum=- meta=-
  if [ $kind = device ]; then
    meta=$(stat -c '%a %u %U %g %G %s' -- "$t") || fail
    # What was read from it: nothing (a device's contents are not read again).
    [ "$size" != 0 ] || sum=$want
  fi
  if [ $kind = file ]; then
    # One `stat` for every attribute; the size first: a file of another size differs
    # without being read.
    meta=$(stat -c '%a %u %U %g %G %s' -- "$t") || fail
    if [ "${meta##* }" = "$size" ]; then
      sum=$(sha256sum < "$t") || fail
      sum=${sum%% *}
    fi
  fi
  printf 'S %s %s %s\n' "$i" $kind $sum
  act=ok
  if [ $keep = 1 ] && [ $kind != absent ]; then return 0; fi
  if { [ $kind != file ] && [ $kind != device ]; } || [ "$sum" != "$want" ]; then
    act=contents; return 0
  fi
  set -f; set -- $meta; set +f
  if [ $at = 0 ]; then
    [ $sym = 0 ] || wmode=$(wantmode "$1" 0)
    [ "$wmode" = - ] || [ "$1" = "$wmode" ] || act=meta
  else
    # Written through a link: the owners compared are the link's own, the mode is none.
    lm=$(stat -c '- %u %U %g %G' -- "$o") || fail
    set -f; set -- $lm; set +f
  fi
  [ "$wown" = - ] || [ "$2" = "$wown" ] || [ "$3" = "$wown" ] || act=meta
  [ "$wgrp" = - ] || [ "$4" = "$wgrp" ] || [ "$5" = "$wgrp" ] || act=meta
}
fix() {
  if [ $at = 1 ]; then [ "$wspec" = - ] || chown -h -- "$wspec" "$o" || fail; return 0; fi
  [ "$wspec" = - ] || chown -- "$wspec" "$t" || fail
  [ "$wmode" = - ] || chmod -- "$wmode" "$t" || fail
}
put() {
  [ -d "$d" ] || mkdir -p -- "$d" || fail
  # A secret's is created owner-only (`mktemp`), given its owner, then its mode. Another
  # file's is created exclusively (`set -C`: O_EXCL, never through a link) with its final
  # mode at once when no owner changes (`cm`, the umask leaving that mode): no process.
  tmp=$d/.quayside.$$.$i
  drop() { rm -f -- "$tmp"; fail; }
  # A script stopped on the host (its run gave up on it) takes its temporary file along.
  trap 'rm -f -- "$tmp"; exit 143' TERM INT HUP PIPE
  cm=- fixmode=1
  if [ $sym = 0 ] && [ "$wspec" = - ] && [ $at = 0 ]; then
    if [ "$wmode" != - ]; then cm=$wcmask; elif [ $kind != file ]; then cm=$ncmask; fi
  fi
  [ $cm = - ] || fixmode=0
  [ $cm != - ] || cm=077
  if [ $sec = 1 ] || ! (umask $cm; set -C; : > "$tmp") 2>/dev/null; then
    tmp=$(mktemp -- "$d/.quayside.XXXXXXXX") || fail
    fixmode=1
  fi
  if [ -n "$pf" ]; then printf "$pf" > "$tmp" || drop
  else base64 -d > "$tmp" || drop; fi
  if [ -z "$pf" ]; then
    # A connection lost in the middle of the data ends it early: install only what is
    # whole. (Contents in a `printf` format are in the script's `if ... fi`, which runs
    # only once read to its end.)
    got=$(sha256sum < "$tmp") || drop
    [ "${got%% *}" = "$want" ] || drop
  fi
  if [ $validate = 1 ]; then
    verr=$(validate 2>&1 >/dev/null) || {
      printf 'V %s %s %s\n' "$i" $? "$(printf '%s' "$verr" | base64 -w0)"; rm -f -- "$tmp"; exit 1; }
  fi
  # The replaced file's ACLs and extended attributes stay, as ansible-core's atomic_move
  # keeps them (shutil.copystat); a host whose cp cannot copy them goes on without. The
  # mode is set again after. Not for a secret: the old file's mode would hold the new
  # contents until then (a secret's file stays owner-only until its own mode is set).
  if [ $kind = file ] && [ $sec = 0 ]; then
    cp --attributes-only --preserve=mode,xattr -- "$t" "$tmp" 2>/dev/null || :
    fixmode=1
  fi
  if [ $at = 1 ]; then
    if [ $kind = file ]; then m=${meta%% *}; else m=$newmode; fi
  elif [ "$wspec" != - ] && ! chown -- "$wspec" "$tmp"; then drop
  elif [ $sym = 1 ]; then
    if [ $kind = file ]; then m=${meta%% *}; else m=$newmode; fi
    m=$(wantmode "$m" 0)
  elif [ "$wmode" != - ]; then m=$wmode
  elif [ $kind = file ]; then m=${meta%% *}
  else m=$newmode; fi
  [ $fixmode = 0 ] || chmod -- "$m" "$tmp" || drop
  if [ $backup = 1 ] && [ $kind = file ]; then
    if [ $ansible_names = 1 ]; then stamp=.$$.$(date +%Y-%m-%d@%H:%M:%S)~
    else stamp=.$(date +%Y%m%dT%H%M%S).bak; fi
    if [ $at = 1 ]; then b=$o; else b=$t; fi
    ln -f -- "$t" "$b$stamp" 2>/dev/null || cp -pf -- "$t" "$b$stamp" || drop
    printf 'B %s %s\n' "$i" "$stamp"
  fi
  mv -fT -- "$tmp" "$t" || drop
  trap - TERM INT HUP PIPE
  [ $at = 0 ] || [ "$wspec" = - ] || chown -h -- "$wspec" "$o" || fail
}
# chattr's flags, once the file is in place (in check mode: whether they would change); a
# file followed through a link gets them at the path as written, as ansible-core.
flags() {
  [ "$wattr" != - ] && [ $act != need ] || return 0
  [ $check = 0 ] || [ $kind != absent ] || return 0
  if [ $at = 1 ]; then x=$o; else x=$t; fi
  if ! setattributes "$x"; then
    printf 'F %s %s %s\n' "$i" "$(printf %s "$xerr" | base64 -w0)" "$x"
    stat -L -c "A $i %a %u %U %g %G %s" -- "$x"; exit 1
  fi
  [ $xch = 1 ] || return 0
  printf 'X %s %s %s %s\n' "$i" $xread "$xflags" "$xwant"
  [ $act != ok ] || act=meta
}
# Contents known to be the ones sent (found so, or installed and checked) have the
# controller's sums (`=`): two processes fewer on the host for each file.
meta() {
  [ $report_meta = 1 ] && [ -f "$t" ] || return 0
  # Nothing done to a file (found as wanted, or check mode): what `look` read is still true.
  if [ $kind = file ] && { [ $act = ok ] || [ $check = 1 ]; }; then m=$meta
  # Only the mode set (`fix`): the rest is as read.
  elif [ $act = meta ] && [ "$wspec" = - ] && [ "$wmode" != - ]; then m="$wmode ${meta#* }"
  else m=$(stat -c '%a %u %U %g %G %s' -- "$t") || fail; fi
  new=0
  [ $act = contents ] && [ $check = 0 ] && new=1
  if [ "$sum" = "$want" ] || [ $new = 1 ]; then h==; else h=$(sha1sum < "$t") || fail; fi
  printf 'M %s %s %s' "$i" "${h%% *}" "$m"
  [ $new = 0 ] || printf ' ='
  echo
}
"#;

/// The directory a path is in, as the shell should see it.
fn parent(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rfind('/') {
        Some(0) => "/".to_owned(),
        Some(index) => trimmed[..index].to_owned(),
        None => ".".to_owned(),
    }
}

/// `owner:group`, `owner` or `:group` for `chown`.
fn chown_spec(settings: &Settings) -> Option<String> {
    match (&settings.owner, &settings.group) {
        (None, None) => None,
        (Some(owner), None) => Some(owner.clone()),
        (None, Some(group)) => Some(format!(":{group}")),
        (Some(owner), Some(group)) => Some(format!("{owner}:{group}")),
    }
}

/// The script for `files` (indices into the task's list); contents are included for the
/// files in `inline`.
fn script(
    files: &[(usize, &NewFile)],
    inline: &dyn Fn(usize) -> bool,
    settings: &Settings,
    check: bool,
    diff: bool,
) -> String {
    let dash = |value: Option<String>| value.as_deref().map_or("-".to_owned(), quote);
    let mut body = String::from(PRELUDE);
    body.push_str(super::file::SET_ATTRIBUTES);
    body.push_str(&format!(
        "wattr={}\n",
        settings.attributes.as_deref().map_or("-".to_owned(), quote)
    ));
    match &settings.symbolic {
        Some(clauses) => {
            body.push_str("sym=1\n");
            body.push_str(&super::file::wantmode_function(Some(
                &super::args::ModeSpec::Symbolic(clauses.clone()),
            )));
        }
        None => body.push_str("sym=0\n"),
    }
    match &settings.validate {
        Some(command) => body.push_str(&format!("validate=1\nvalidate() {{ {command}; }}\n")),
        None => body.push_str("validate=0\n"),
    }
    body.push_str(&format!(
        "follow={} at_link={} keep={} ansible_names={} report_meta={} check={} devices={}\n",
        u8::from(settings.follow),
        u8::from(settings.at_link),
        u8::from(settings.keep_existing),
        u8::from(settings.ansible_names),
        u8::from(settings.report_meta),
        u8::from(check),
        u8::from(settings.devices_as_read),
    ));
    // The umask that creates a file with its mode at once: only for the permission bits a
    // shell's `>` can give (no execute, no special bits).
    let wcmask = match settings.mode {
        Some(mode) if mode & !0o666 == 0 => format!("{:o}", 0o777 & !mode),
        _ => "-".to_owned(),
    };
    body.push_str(&format!("wcmask={wcmask}\n"));
    body.push_str(&format!(
        "wmode={} wspec={} wown={} wgrp={} backup={}\n",
        settings.mode.map_or("-".to_owned(), |m| format!("{m:o}")),
        dash(chown_spec(settings)),
        dash(settings.owner.clone()),
        dash(settings.group.clone()),
        u8::from(settings.backup),
    ));
    for &(index, file) in files {
        body.push_str(&format!(
            "i={index} want={} size={} sec={} newmode={} ncmask={} pf=\n",
            sha256(&file.bytes),
            file.bytes.len(),
            u8::from(file.secret),
            if file.secret { "600" } else { "644" },
            if file.secret { "177" } else { "133" }
        ));
        match &file.target {
            Target::Path(path) => body.push_str(&format!(
                "t={} d={}\n",
                quote(path),
                quote(&parent(path))
            )),
            Target::PathOrInto { dest, name } => body.push_str(&format!(
                "t={} d={}\nif [ -d \"$t\" ]; then d=$t; t=\"$t\"/{}; printf 'T %s\\n' \"$i\"; fi\n",
                quote(dest),
                quote(&parent(dest)),
                quote(name)
            )),
        }
        body.push_str("look\n");
        if diff && !file.secret {
            body.push_str(&format!(
                "if [ $act = contents ] && [ $kind = file ]; then printf 'D %s ' \"$i\"; head -c {DIFF_LIMIT} < \"$t\" | base64 -w0; echo; fi\n"
            ));
        }
        if check {
        } else if let (true, Some(format)) = (inline(index), printf_format(&file.bytes)) {
            body.push_str(&format!(
                "if [ $act = meta ]; then fix; fi\n\
                 if [ $act = contents ]; then pf={}; put; fi\n",
                quote(&format)
            ));
        } else if inline(index) {
            body.push_str(&format!(
                "if [ $act = meta ]; then fix; fi\n\
                 if [ $act = contents ]; then put <<'__QUAYSIDE_EOF__'\n{}\n__QUAYSIDE_EOF__\nfi\n",
                STANDARD.encode(&file.bytes)
            ));
        } else {
            body.push_str(
                "if [ $act = meta ]; then fix; fi\nif [ $act = contents ]; then act=need; fi\n",
            );
        }
        body.push_str("flags\nprintf 'R %s %s\\n' \"$i\" $act\nmeta\n");
    }
    body
}

/// What one script reported, by file index.
#[derive(Debug, Default)]
struct Report {
    kind: BTreeMap<usize, String>,
    into: BTreeMap<usize, bool>,
    /// Where a followed link led (`follow`).
    followed: BTreeMap<usize, String>,
    before: BTreeMap<usize, Vec<u8>>,
    backup: BTreeMap<usize, String>,
    action: BTreeMap<usize, String>,
    meta: BTreeMap<usize, Meta>,
    invalid: Option<(usize, Invalid)>,
    failed: Option<usize>,
    /// chattr's flags changed: (read, before, wanted).
    flags: BTreeMap<usize, (bool, String, String)>,
    /// chattr refused: its words and the path.
    chattr: Option<(usize, String, String)>,
    /// The path's attributes when chattr refused (`mode uid user gid group size`).
    attrs: Option<String>,
}

fn parse(stdout: &str, report: &mut Report) {
    for line in stdout.lines() {
        let mut words = line.splitn(3, ' ');
        let (Some(tag), Some(index)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(index) = index.parse::<usize>() else {
            continue;
        };
        let rest = words.next().unwrap_or_default();
        match tag {
            "S" => {
                report
                    .kind
                    .insert(index, rest.split(' ').next().unwrap_or_default().to_owned());
            }
            "T" => {
                report.into.insert(index, true);
            }
            "L" => {
                report.followed.insert(index, rest.to_owned());
            }
            "D" => {
                report
                    .before
                    .insert(index, STANDARD.decode(rest.trim()).unwrap_or_default());
            }
            "B" => {
                report.backup.insert(index, rest.trim().to_owned());
            }
            "R" => {
                report.action.insert(index, rest.trim().to_owned());
            }
            "M" => {
                let mut words = rest.splitn(2, ' ');
                let sha1 = words.next().unwrap_or_default().to_owned();
                let mut attrs: Vec<&str> = words.next().unwrap_or_default().split(' ').collect();
                let md5 = (attrs.len() > 6).then(|| attrs.pop().unwrap_or_default().to_owned());
                report.meta.insert(
                    index,
                    Meta {
                        attrs: attrs.join(" "),
                        sha1,
                        md5,
                    },
                );
            }
            "V" => {
                let mut words = rest.splitn(2, ' ');
                let status = words.next().unwrap_or_default().parse().unwrap_or(1);
                let stderr = STANDARD
                    .decode(words.next().unwrap_or_default().trim())
                    .unwrap_or_default();
                report.invalid = Some((
                    index,
                    Invalid {
                        status,
                        stderr: String::from_utf8_lossy(&stderr).into_owned(),
                    },
                ));
            }
            "E" => report.failed = Some(index),
            "X" => {
                let words: Vec<&str> = rest.splitn(3, ' ').collect();
                if let [read, before, wanted] = words.as_slice() {
                    report.flags.insert(
                        index,
                        (*read == "1", (*before).to_owned(), (*wanted).to_owned()),
                    );
                }
            }
            "A" => report.attrs = Some(rest.trim().to_owned()),
            "F" => {
                let (words, path) = rest.split_once(' ').unwrap_or((rest, ""));
                let words = STANDARD.decode(words.trim()).unwrap_or_default();
                report.chattr = Some((
                    index,
                    String::from_utf8_lossy(&words).into_owned(),
                    path.to_owned(),
                ));
            }
            _ => {}
        }
    }
}

/// The path a file went to, as the host resolved it (into a directory, through a link).
fn path_of(file: &NewFile, report: &Report, i: usize) -> String {
    match report.followed.get(&i) {
        Some(followed) => followed.clone(),
        None => link_path(file, report, i),
    }
}

/// The path a file went to before any link was followed.
fn link_path(file: &NewFile, report: &Report, i: usize) -> String {
    let into = report.into.contains_key(&i);
    match &file.target {
        Target::Path(path) => path.clone(),
        Target::PathOrInto { dest, name } if into => {
            format!("{}/{name}", dest.trim_end_matches('/'))
        }
        Target::PathOrInto { dest, .. } => dest.clone(),
    }
}

/// Files up to this size (holding no NUL) are written by the shell's `printf`, their
/// bytes in its format: no `base64` process.
const PRINTF_LIMIT: usize = 16 * 1024;

/// `bytes` as a `printf` format that prints them exactly: every byte but printable ASCII
/// and newlines as a three-digit octal escape, and `\`, `%`, `'` and a leading `-` too.
/// `None` for files too large for it or holding a NUL byte.
fn printf_format(bytes: &[u8]) -> Option<String> {
    if bytes.len() > PRINTF_LIMIT || bytes.contains(&0) {
        return None;
    }
    let mut text = String::with_capacity(bytes.len() + bytes.len() / 8);
    for (at, &byte) in bytes.iter().enumerate() {
        match byte {
            b'\n' => text.push('\n'),
            b'\\' | b'%' | b'\'' => text.push_str(&format!("\\{byte:03o}")),
            b'-' if at == 0 => text.push_str(&format!("\\{byte:03o}")),
            0x20..=0x7e => text.push(byte as char),
            _ => text.push_str(&format!("\\{byte:03o}")),
        }
    }
    Some(text)
}

/// A script sent on standard input: no limit on its size. The `sh` that runs it reads it
/// itself (`.`), one process on the host; `sh -s` only where the standard input cannot
/// be opened again (a pipe of another user's, under `become`).
fn on_stdin(ctx: &TaskContext<'_>, body: String) -> Script {
    ctx.script("if [ -r /dev/stdin ]; then . /dev/stdin; else exec sh -s; fi")
        .stdin(body.into_bytes())
}

/// Install `files` on the host (in check mode: find out what would change). `Ok(Err)` is a
/// failure on the host, with its reason.
pub async fn install(
    ctx: &TaskContext<'_>,
    files: &[NewFile],
    settings: &Settings,
) -> Result<Result<Vec<Installed>, Failure>, TransportError> {
    let indexed: Vec<(usize, &NewFile)> = files.iter().enumerate().collect();
    // Inline the smallest files first, up to the limit.
    let mut by_size: Vec<usize> = (0..files.len()).collect();
    by_size.sort_by_key(|&i| files[i].bytes.len());
    // Pipelined, the task makes one request: every file goes in it.
    let mut budget = if ctx.pipelined {
        usize::MAX
    } else {
        INLINE_LIMIT
    };
    let mut inline = vec![false; files.len()];
    for i in by_size {
        if files[i].bytes.len() <= budget {
            budget -= files[i].bytes.len();
            inline[i] = true;
        }
    }
    let mut report = Report::default();
    let first = script(&indexed, &|i| inline[i], settings, ctx.check, ctx.diff);
    if let Err(reason) = run(ctx, first, files, &mut report).await? {
        return Ok(Err(reason));
    }
    let needed: Vec<(usize, &NewFile)> = indexed
        .iter()
        .copied()
        .filter(|(i, _)| report.action.get(i).map(String::as_str) == Some("need"))
        .collect();
    if !needed.is_empty() {
        let second = script(&needed, &|_| true, settings, false, false);
        if let Err(reason) = run(ctx, second, files, &mut report).await? {
            return Ok(Err(reason));
        }
    }
    Ok(Ok(files
        .iter()
        .enumerate()
        .map(|(i, file)| {
            let change = match report.action.get(&i).map(String::as_str) {
                Some("ok") => Change::None,
                Some("meta") => Change::Meta,
                _ => Change::Contents,
            };
            Installed {
                path: path_of(file, &report, i),
                sha256: sha256(&file.bytes),
                change,
                created: report.kind.get(&i).map(String::as_str) == Some("absent"),
                backup: report.backup.get(&i).map(|stamp| {
                    let named = if settings.at_link {
                        link_path(file, &report, i)
                    } else {
                        path_of(file, &report, i)
                    };
                    format!("{named}{stamp}")
                }),
                meta: report.meta.remove(&i).map(|mut meta| {
                    // `=`: the contents sent, whose sums the controller knows.
                    if meta.sha1 == "=" {
                        meta.sha1 = super::fetch::sha1(&file.bytes);
                    }
                    if meta.md5.as_deref() == Some("=") {
                        meta.md5 = Some(super::fetch::md5(&file.bytes));
                    }
                    meta
                }),
                before: report.before.remove(&i),
                secret: file.secret,
                flags: report.flags.remove(&i),
            }
        })
        .collect()))
}

/// Why an install failed on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub reason: String,
    /// The validate command refused the new contents.
    pub invalid: Option<Invalid>,
    /// chattr refused the flags.
    pub chattr: Option<Chattr>,
}

/// chattr refused a file's flags: what ansible-core's fail_json reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chattr {
    /// `Error while setting attributes: ` and chattr's words.
    pub details: String,
    pub path: String,
    /// The file's attributes as they are (`mode uid user gid group size`).
    pub attrs: Option<String>,
    /// The SHA-1 of the contents sent (`copy` reports it).
    pub checksum: String,
}

impl From<Failure> for String {
    fn from(failure: Failure) -> String {
        failure.reason
    }
}

impl From<String> for Failure {
    fn from(reason: String) -> Failure {
        Failure {
            reason,
            invalid: None,
            chattr: None,
        }
    }
}

async fn run(
    ctx: &TaskContext<'_>,
    body: String,
    files: &[NewFile],
    report: &mut Report,
) -> Result<Result<(), Failure>, TransportError> {
    let output = ctx.run(on_stdin(ctx, body)).await?;
    let stdout = output.stdout_lossy();
    parse(&stdout, report);
    if output.success() {
        return Ok(Ok(()));
    }
    if let Some((_, invalid)) = report.invalid.take() {
        return Ok(Err(Failure {
            reason: "failed to validate".to_owned(),
            invalid: Some(invalid),
            chattr: None,
        }));
    }
    if let Some((i, words, path)) = report.chattr.take() {
        return Ok(Err(Failure {
            reason: "chattr failed".to_owned(),
            invalid: None,
            chattr: Some(Chattr {
                details: format!("Error while setting attributes: {words}"),
                path,
                attrs: report.attrs.take(),
                checksum: files
                    .get(i)
                    .map(|file| super::fetch::sha1(&file.bytes))
                    .unwrap_or_default(),
            }),
        }));
    }
    let reason = output
        .stderr_lossy()
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("failed")
        .trim()
        .to_owned();
    Ok(Err(Failure::from(
        match report.failed.and_then(|i| files.get(i).map(|f| (i, f))) {
            Some((i, file)) => format!("cannot install `{}`: {reason}", path_of(file, report, i)),
            None => reason,
        },
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents() {
        assert_eq!(parent("/etc/quay/config.yaml"), "/etc/quay");
        assert_eq!(parent("/config.yaml"), "/");
        assert_eq!(parent("config.yaml"), ".");
        assert_eq!(parent("a/b/"), "a");
    }

    #[test]
    fn printf_formats_print_every_byte_as_it_is() {
        let mut bytes: Vec<u8> = (1..=255).collect();
        bytes.extend_from_slice(b"\n%s%%\\n\\0101'x'\n");
        for sample in [bytes.as_slice(), b"-n x", b"%b\\c", b""] {
            let format = printf_format(sample).expect("a format");
            let out = std::process::Command::new("sh")
                .args(["-c", "printf \"$1\"", "sh", &format])
                .output()
                .expect("sh runs");
            assert_eq!(out.stdout, sample, "{format:?}");
        }
        assert_eq!(printf_format(b"a\0b"), None);
        assert_eq!(printf_format(&vec![b'a'; PRINTF_LIMIT + 1]), None);
    }

    #[test]
    fn reports_are_read_by_index() {
        let mut report = Report::default();
        parse(
            "S 0 file abc\nT 1\nS 1 absent -\nD 0 aGk=\nB 0 .20250101T000000.bak\nR 0 contents\nR 1 need\nnoise\n",
            &mut report,
        );
        assert_eq!(report.kind[&0], "file");
        assert_eq!(report.kind[&1], "absent");
        assert!(report.into[&1]);
        assert_eq!(report.before[&0], b"hi");
        assert_eq!(report.backup[&0], ".20250101T000000.bak");
        assert_eq!(report.action[&1], "need");
    }
}
