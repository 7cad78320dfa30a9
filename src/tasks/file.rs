//! `file` (Ansible's `ansible.builtin.file`): a path's state on the host — `file`,
//! `directory`, `touch`, `absent`, `link`, `hard` — with its owner, group and mode (octal or
//! symbolic), `recurse` for a directory's contents, in one round trip per host.
//!
//! The host's script looks and acts in one go (in check mode it only looks) and reports
//! the path's kind before, every change, and its attributes after, which `register` gets
//! under Ansible's names (`path` or `dest`, `state`, `mode`, `owner`, `group`, `uid`,
//! `gid`, `size`, `src`).

use serde::Deserialize;

use super::args::{Account, FileMode, ModeSpec};
use super::{FileDiff, Outcome, TaskContext, TaskType};
use crate::transport::{TransportError, quote};
use crate::yaml::Node;

#[derive(Debug, Deserialize)]
#[serde(try_from = "Args")]
pub struct File(Args);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    #[serde(alias = "dest", alias = "name")]
    path: String,
    #[serde(default)]
    state: Option<State>,
    /// The link's target (`link`, `hard`).
    #[serde(default)]
    src: Option<String>,
    #[serde(default)]
    mode: Option<FileMode>,
    #[serde(default)]
    owner: Option<Account>,
    #[serde(default)]
    group: Option<Account>,
    /// With `directory`: owner, group and mode for everything under it too.
    #[serde(default)]
    recurse: bool,
    /// With `link` and `hard`: replace a file in the way, and link to a `src` that does
    /// not exist.
    #[serde(default)]
    force: bool,
    /// `preserve`, `now` or `YYYYMMDDHHMM.SS` (Ansible's default format).
    #[serde(default)]
    access_time: Option<String>,
    #[serde(default)]
    modification_time: Option<String>,
    /// `strptime`'s format of `access_time` (`%Y%m%d%H%M.%S` when not written).
    #[serde(default)]
    access_time_format: Option<String>,
    #[serde(default)]
    modification_time_format: Option<String>,
    /// Whether a link at `path` is followed (Ansible's default): `false` works on the link
    /// itself, and owner and group for `state: link` go to the link, not its target.
    #[serde(default)]
    follow: Option<bool>,
    /// ansible-core's internal argument (its action plugins ask with it whether a file
    /// looks binary): written at all, the task only looks, registering `appears_binary`.
    #[serde(default, rename = "_diff_peek")]
    diff_peek: Option<bool>,
    /// chattr's flags (`A`, `+i`, `-a`, `=`...), set as ansible-core sets them
    /// ([`SET_ATTRIBUTES`]).
    #[serde(default, alias = "attr")]
    attributes: Option<String>,
}

/// Ansible's default `access_time_format` and `modification_time_format`.
const TIME_FORMAT: &str = "%Y%m%d%H%M.%S";

/// A time as `date -d` reads it (the host's local time, as Python's `time.mktime`), from
/// `preserve`, `now` or a time in `format` (`strptime`'s; `YYYYMMDDHHMM.SS` without it).
fn time_arg(text: &str, format: Option<&str>) -> Result<String, String> {
    if text == "preserve" || text == "now" {
        return Ok(text.to_owned());
    }
    if let Some(format) = format.filter(|format| *format != TIME_FORMAT) {
        let parsed = chrono::NaiveDateTime::parse_from_str(text, format).or_else(|_| {
            chrono::NaiveDate::parse_from_str(text, format)
                .map(|date| date.and_time(chrono::NaiveTime::MIN))
        });
        return parsed
            .map(|time| time.format("%Y-%m-%d %H:%M:%S").to_string())
            .map_err(|_| {
                format!(
                    "Error while obtaining timestamp for time {text} using format {format}: time data '{text}' does not match format '{format}'"
                )
            });
    }
    // strptime's `%S` takes one digit or two (`202001011200.0`, in ansible-core's find
    // target).
    let digits = matches!(text.len(), 14 | 15)
        && text.as_bytes()[12] == b'.'
        && text
            .chars()
            .enumerate()
            .all(|(i, c)| i == 12 || c.is_ascii_digit());
    if !digits {
        return Err(format!(
            "time `{text}` must be `preserve`, `now` or a time such as `202401021530.45` (YYYYMMDDHHMM.SS)"
        ));
    }
    Ok(format!(
        "{}-{}-{} {}:{}:{}",
        &text[0..4],
        &text[4..6],
        &text[6..8],
        &text[8..10],
        &text[10..12],
        format_args!("{:0>2}", &text[13..])
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    File,
    Directory,
    Touch,
    Absent,
    Link,
    Hard,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::File => "file",
            State::Directory => "directory",
            State::Touch => "touch",
            State::Absent => "absent",
            State::Link => "link",
            State::Hard => "hard",
        }
    }
}

impl TryFrom<Args> for File {
    type Error = String;

    fn try_from(args: Args) -> Result<Self, String> {
        if args.path.is_empty() {
            return Err("`path` is empty".to_owned());
        }
        let linking = matches!(args.state, Some(State::Link | State::Hard));
        // Without `state`, ansible-core takes the path's own (a link, a file of several
        // names, a directory): whether `src` or `recurse` go with it is known on the host.
        if !linking && args.state.is_some() && args.src.is_some() {
            return Err("`src` goes only with `state: link` or `state: hard`".to_owned());
        }
        if args.recurse && args.state.is_some() && args.state != Some(State::Directory) {
            return Err("`recurse` goes only with `state: directory`".to_owned());
        }
        for (time, format) in [
            (&args.access_time, &args.access_time_format),
            (&args.modification_time, &args.modification_time_format),
        ] {
            let format = format.as_deref();
            if let Some(time) = time
                && !crate::yaml::is_template(time)
                && !format.is_some_and(crate::yaml::is_template)
            {
                time_arg(time, format)?;
            }
        }
        let timed = args.access_time.is_some() || args.modification_time.is_some();
        if timed && matches!(args.state, Some(State::Absent | State::Link | State::Hard)) {
            return Err(
                "`access_time` and `modification_time` go with `file`, `directory` or `touch`"
                    .to_owned(),
            );
        }
        // With `recurse` the state is `directory` (or the task fails on the host).
        if args.follow == Some(false) && args.state.is_none() && !args.recurse {
            return Err("`follow: false` needs a `state`".to_owned());
        }
        Ok(File(args))
    }
}

/// The shell function `wantmode CURRENT ISDIR` that prints the mode (octal digits, as
/// `stat -c %a` prints them) a file with mode `CURRENT` must have, in the host's shell
/// arithmetic: symbolic modes are worked out as Ansible does (no users is `a`, no umask).
pub(super) fn wantmode_function(mode: Option<&ModeSpec>) -> String {
    let body = match mode {
        None => "printf '%o' $((0$1))".to_owned(),
        Some(ModeSpec::Octal(bits)) => format!("printf '%o' {bits}"),
        Some(ModeSpec::Symbolic(clauses)) => {
            let mut body = String::from("m=$((0$1))\n");
            for clause in clauses {
                body.push_str(&format!(
                    "  a={}\n  if [ \"$2\" = 1 ] || [ $((m & 73)) -ne 0 ]; then a=$((a | {})); fi\n",
                    clause.bits, clause.conditional_x
                ));
                body.push_str(match clause.op {
                    '+' => "  m=$((m | a))\n",
                    '-' => "  m=$((m & ~a))\n",
                    _ => "",
                });
                if clause.op == '=' {
                    body.push_str(&format!("  m=$(((m & ~{}) | a))\n", clause.who));
                }
            }
            body.push_str("  printf '%o' $m");
            body
        }
    };
    format!("wantmode() {{\n  {body}\n}}\n")
}

/// Shell functions for owner, group and mode: `attrs PATH` (links are followed unless
/// `$nofollow` is 1) sets `ch=1` when anything differs and, unless `$check` is 1, fixes it.
/// chattr's flags (`$wattr`) and the diff of the task's own path (`$p`) only where the
/// script sets them (`file`'s; get_url's, archive's... set neither).
pub(super) const ATTRS: &str = r#"attrs() {
  : "${wattr:=-}" "${p:=}"
  t=$1
  d=0; [ -d "$t" ] && d=1
  if [ "$nofollow" = 1 ]; then meta=$(stat -c '%a %u %U %g %G %s' -- "$t") || fail "cannot read $t"
  else meta=$(stat -L -c '%a %u %U %g %G %s' -- "$t") || fail "cannot read $t"; fi
  # What was read stays true while nothing is changed: the report at the end uses it.
  seen_path=$t seen_nofollow=$nofollow seen_meta=$meta
  set -f; set -- $meta; set +f
  owned=0
  if [ "$wown" != - ] && [ "$2" != "$wown" ] && [ "$3" != "$wown" ]; then
    ch=1
    # ansible-core's diff: the owners' numbers.
    if [ "$t" = "$p" ]; then
      case $wown in *[!0-9]*) x=$(id -u -- "$wown") || x= ;; *) x=$wown ;; esac
      printf 'Y owner %s %s\n' "$2" "$x"
    fi
    if [ $check = 0 ]; then
      owned=1 seen_path=
      if [ "$nofollow" = 1 ]; then chown -h -- "$wown" "$t" || fail "chown failed: $t"
      else chown -- "$wown" "$t" || fail "chown failed: $t"; fi
    fi
  fi
  if [ "$wgrp" != - ] && [ "$4" != "$wgrp" ] && [ "$5" != "$wgrp" ]; then
    ch=1
    if [ "$t" = "$p" ]; then
      case $wgrp in *[!0-9]*) x=$(getent group -- "$wgrp") || x=; x=${x#*:*:}; x=${x%%:*} ;; *) x=$wgrp ;; esac
      printf 'Y group %s %s\n' "$4" "$x"
    fi
    if [ $check = 0 ]; then
      owned=1 seen_path=
      if [ "$nofollow" = 1 ]; then chgrp -h -- "$wgrp" "$t" || fail "chgrp failed: $t"
      else chgrp -- "$wgrp" "$t" || fail "chgrp failed: $t"; fi
    fi
  fi
  # A link's own mode (0777) cannot change on Linux: ansible-core's chmod leaves it, and
  # says so only in check mode, where it compares without trying.
  if [ $hasmode = 1 ] && [ "$nofollow" = 1 ] && [ $check = 1 ] && [ -L "$t" ]; then
    [ "$(wantmode 777 0)" = 777 ] || ch=1
  fi
  if [ $hasmode = 1 ] && [ "$nofollow" != 1 ]; then
    # chown may have cleared set-id bits: read the mode again (only then: one process
    # fewer for each file).
    cur=$1
    [ $owned = 0 ] || cur=$(stat -L -c %a -- "$t") || fail "cannot read $t"
    w=$(wantmode "$cur" $d)
    if [ "$w" != "$cur" ]; then
      ch=1
      [ "$t" != "$p" ] || printf 'Y mode 0%03o 0%03o\n' 0$cur 0$w
      [ $check = 1 ] || { seen_path=; chmod -- "$w" "$t"; } || fail "chmod failed: $t"
    fi
  fi
  if [ "$wattr" != - ]; then
    if ! setattributes "$t"; then
      printf 'F %s\n' "$(printf %s "$xerr" | base64 -w0)"
      printf 'P %s\n' "$(kind "$t")"
      stat -L -c 'A %a %u %U %g %G %s' -- "$t"
      fail "chattr failed"
    fi
    if [ $xch = 1 ]; then
      ch=1
      [ "$t" != "$p" ] || printf 'X %s %s %s\n' $xread "$xflags" "$xwant"
    fi
  fi
}
# ansible-core's recursive_set_attributes: a link inside gets owner and group itself and,
# with `follow` (the default), what it leads to gets them too (a directory's contents
# first), found from the link's own directory.
walk() {
  local f to
  depth=$((depth + 1))
  [ $depth -le 200 ] || fail "Could not recursively set attributes on $1. Original error was: 'maximum recursion depth exceeded'"
  for f in "$1"/* "$1"/.[!.]* "$1"/..?*; do
    if [ -L "$f" ]; then
      nofollow=1; attrs "$f"; nofollow=0
      [ $follow = 1 ] || continue
      to=$(readlink -- "$f") || continue
      case $to in /*) ;; *) to=$1/$to ;; esac
      [ -e "$to" ] || continue
      [ -d "$to" ] && walk "$to"
      attrs "$to"
      continue
    fi
    [ -e "$f" ] || continue
    attrs "$f"
    [ -d "$f" ] && walk "$f"
  done
  depth=$((depth - 1))
  return 0
}
"#;

/// The shell function `setattributes PATH`, ansible-core's `set_attributes_if_different`
/// with `$wattr` (chattr's flags, `+` or `-` before them or `=` implied): `lsattr -d`'s
/// flags (`xflags`, `xread=1` when it answered) are compared as text with the wanted ones,
/// and `chattr` runs when they differ, or always for `-` (ansible-core's rule: `+A` on a
/// file with `Ae` changes it again, as there). `xch=1` when it ran (or would, in check
/// mode); it returns 1 when chattr failed or wrote anything, its output in `xerr`. No
/// chattr on the host: nothing done, as there.
pub(super) const SET_ATTRIBUTES: &str = r#"setattributes() {
  xch=0 xread=0 xflags= xerr=
  if xout=$(lsattr -d "$1" 2>/dev/null); then
    xread=1 xf=${xout%% *}
    while [ -n "$xf" ]; do
      xc=${xf%"${xf#?}"} xf=${xf#?}
      [ "$xc" = - ] || xflags=$xflags$xc
    done
  fi
  xmod='=' xa=$wattr
  case $xa in [-+]*) xmod=${xa%"${xa#?}"} xa=${xa#?} ;; esac
  xwant=$xmod$xa
  [ -n "$xa" ] || return 0
  [ "$xflags" != "$xa" ] || [ "$xmod" = - ] || return 0
  # ansible-core runs chattr by its full path: its messages name it so.
  xbin=$(command -v chattr) || return 0
  xch=1
  [ "$check" = 0 ] || return 0
  xerr=$("$xbin" "$xwant" "$1" 2>&1; xs=$?; echo .; exit $xs); xs=$?
  xerr=${xerr%.}
  [ $xs = 0 ] && [ -z "$xerr" ]
}
"#;

/// `up PATH`: the directory a path is in, as `dirname` prints it, in `$u`, with no
/// process.
const UP: &str = r#"# The directory a path is in, as `dirname` prints it, in `$u` (no process).
up() {
  u=$1
  while :; do case $u in */) u=${u%/} ;; *) break ;; esac; done
  case $u in
  '') u=/ ;;
  */*) u=${u%/*}
    while :; do case $u in */) u=${u%/} ;; *) break ;; esac; done
    [ -n "$u" ] || u=/ ;;
  *) u=. ;;
  esac
}
"#;

const SCRIPT: &str = r#"set -u
fail() { printf 'E %s\n' "$1"; exit 1; }
# ansible-core's get_state: whatever else exists (a device, a socket, a pipe) is a file.
kind() {
  if [ -L "$1" ]; then echo link
  elif [ -d "$1" ]; then echo directory
  elif [ -e "$1" ]; then echo file
  else echo absent; fi
}
settimes() {
  for w in a m; do
    if [ $w = a ]; then v=$atime f=%X; else v=$mtime f=%Y; fi
    case $v in
    preserve) ;;
    now) ch=1; [ $check = 1 ] || touch -$w -- "$1" || fail "cannot touch $1" ;;
    *) want=$(date -d "$v" +%s) || fail "invalid time $v"
      have=$(stat -L -c $f -- "$1") || fail "cannot read $1"
      if [ "$have" != "$want" ]; then
        ch=1; [ $check = 1 ] || touch -$w -d "$v" -- "$1" || fail "cannot touch $1"
      fi ;;
    esac
  done
}
mkd() {
  [ -d "$1" ] && return 0
  up "$1"; mkd "$u"
  if [ $check = 0 ]; then mkdir -- "$1" || fail "cannot create directory $1"; attrs "$1"; fi
  ch=1
}
ch=0 nofollow=0 seen_path= depth=0
# ansible-core's additional_parameter_handling: with `src`, a directory at the path (but
# for `link` and `absent`) means the file named as `src` inside it.
if [ $hassrc = 1 ] && [ "$st" != link ] && [ "$st" != absent ] && [ -d "$p" ]; then
  b=${src##*/}
  if [ -n "$b" ]; then p=${p%/}/$b; printf 'N %s\n' "$p"; fi
fi
prev=$(kind "$p")
printf 'K %s\n' "$prev"
# With links followed (file, directory, touch): what the link leads to.
seen=$prev
if [ $prev = link ] && [ -e "$p" ]; then
  if [ -d "$p" ]; then seen=directory; else seen=file; fi
fi
# Without `state`, ansible-core's: the path's own, `directory` to recurse into a new one.
if [ -z "$st" ] && [ $recurse = 1 ]; then
  case $prev in absent|directory) st=directory ;;
  *) fail "recurse option requires state to be 'directory'" ;; esac
fi
if [ -z "$st" ] && [ $hassrc = 1 ]; then
  if [ $prev = link ]; then st=link
  elif [ $prev = file ] && [ "$(stat -c %h -- "$p")" -gt 1 ]; then st=hard
  else fail "src option requires state to be 'link' or 'hard'"; fi
fi
[ -n "$st" ] || if [ $prev = absent ]; then st=file; else st=$seen; fi
# With `follow: false` a link is itself: file and directory refuse it, touch works on it.
if [ $follow = 0 ] && [ $prev = link ]; then
  seen=link nofollow=1
  [ $st = touch ] && [ $hasmode = 1 ] && fail "mode on a symbolic link with follow: false is not supported: $p"
fi
case $st in
absent)
  if [ $prev != absent ]; then ch=1; [ $check = 1 ] || rm -rf -- "$p" || fail "cannot remove $p"; fi ;;
directory)
  case $seen in
  absent) mkd "$p" ;;
  directory) attrs "$p"; settimes "$p"; [ $recurse = 0 ] || walk "$p" ;;
  *) fail "$p already exists as a $seen" ;;
  esac ;;
file)
  case $seen in
  file) attrs "$p"; settimes "$p" ;;
  *) fail "file ($p) is $seen, cannot continue" ;;
  esac ;;
touch)
  case $seen in
  absent) ch=1; if [ $check = 0 ]; then : >> "$p" || fail "cannot create $p"; attrs "$p"; settimes "$p"; fi ;;
  *) attrs "$p"; settimes "$p" ;;
  esac ;;
link|hard)
  # Without `src`, an existing link (or a file with more than one name, for `hard`) keeps
  # what it leads to and gets its attributes; a followed link's `src` is read from it.
  if [ $hassrc = 0 ] && [ $st = link ] && [ $follow = 1 ] && [ -e "$p" ]; then
    [ $prev = link ] || fail "Task failed: Module failed: [Errno 22] Invalid argument: b'$p'"
    src=$(readlink -- "$p") || fail "cannot read $p"; hassrc=1
    printf 'R %s\n' "$src"
  fi
  if [ $hassrc = 0 ] && [ $st = hard ]; then
    [ $prev = file ] && [ "$(stat -c %h -- "$p")" -gt 1 ] || fail "src is required for creating new hardlinks"
  fi
  if [ $hassrc = 1 ]; then
    case $src in /*) full=$src ;; *) up "$p"; full=$u/$src ;; esac
    if [ $st = hard ] && [ ! -e "$full" ]; then fail "src does not exist: $src"; fi
    if [ $st = link ] && [ ! -e "$full" ] && [ $force = 0 ]; then
      fail "src file does not exist, use 'force=yes' if you really want to create the link: $full"
    fi
  fi
  what=symlink; [ $st = link ] || what="hard link"
  ok=0
  if [ $hassrc = 0 ]; then
    [ $prev = link ] || [ $st = hard ] && ok=1
  elif [ $st = link ]; then
    [ $prev = link ] && [ "$(readlink -- "$p")" = "$src" ] && ok=1
  else
    [ $prev = file ] && [ "$p" -ef "$src" ] && ok=1
  fi
  if [ $ok = 0 ]; then
    case $prev in
    absent) ;;
    link) [ $st = link ] || [ $force = 1 ] || fail "refusing to convert from link to $what for $p" ;;
    directory) [ $force = 1 ] || fail "refusing to convert from directory to $what for $p"
      [ -z "$(ls -A -- "$p")" ] || fail "the directory $p is not empty, refusing to convert it" ;;
    *) [ $force = 1 ] || fail "refusing to convert from $prev to $what for $p" ;;
    esac
    [ $hassrc = 1 ] || fail "src is required for creating new symlinks"
    ch=1
    if [ $check = 0 ]; then
      [ $prev = directory ] && { rmdir -- "$p" || fail "cannot remove $p"; }
      if [ $st = link ]; then ln -sfn -- "$src" "$p" || fail "cannot link $p"
      else ln -f -- "$src" "$p" || fail "cannot link $p"; fi
    fi
  fi
  # Owner, group and mode go to what the link leads to unless `follow: false`, where owner
  # and group go to the link and its mode is left (Linux has none for a link). A link that
  # leads nowhere gets nothing, with ansible-core's warning.
  if [ $check = 0 ] || [ $ok = 1 ]; then
    if [ $st = hard ] || [ $follow = 0 ]; then [ $st = link ] && nofollow=1; attrs "$p"
    elif [ -e "$p" ]; then attrs "$p"
    elif [ $check = 0 ]; then echo W; fi
  fi
  [ $st = link ] && nofollow=1 ;;
esac
# A link touched with `follow: false` is still a link.
[ $st = touch ] && [ $nofollow = 1 ] && st=link
printf 'C %s %s\n' $ch $st
# ansible-core registers no attributes for a link that leads nowhere.
if [ $st != absent ] && [ -e "$p" ]; then
  if [ "$seen_path" = "$p" ] && [ "$seen_nofollow" = $nofollow ]; then printf 'A %s\n' "$seen_meta"
  elif [ $nofollow = 1 ]; then stat -c 'A %a %u %U %g %G %s' -- "$p"
  else stat -L -c 'A %a %u %U %g %G %s' -- "$p"; fi
fi
"#;

/// `_diff_peek`: a NUL in the first 8 KiB makes a file look binary, as ansible-core reads
/// it; then the path's attributes as `file` registers them.
const DIFF_PEEK: &str = r#"if head -c 8192 -- "$p" 2>/dev/null | od -An -tx1 -v | grep -q ' 00'; then echo B; fi
if [ -L "$p" ]; then stat -c 'K link' -- "$p"; stat -c 'A %a %u %U %g %G %s' -- "$p"
elif [ -e "$p" ]; then
  if [ -d "$p" ]; then echo 'K directory'; else echo 'K file'; fi
  stat -c 'A %a %u %U %g %G %s' -- "$p"
fi
"#;

impl File {
    async fn diff_peek(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let path = &self.0.path;
        let text = format!("p={}\n{DIFF_PEEK}", quote(path));
        let output = ctx.run(ctx.script("exec sh -s").stdin(text)).await?;
        let stdout = output.stdout_lossy();
        let mut outcome = Outcome::ok()
            .with("path", path.clone())
            .with("appears_binary", stdout.lines().any(|line| line == "B"));
        if let Some(kind) = stdout.lines().find_map(|line| line.strip_prefix("K ")) {
            outcome = outcome.with("state", kind);
        }
        if let Some(line) = stdout.lines().find_map(|line| line.strip_prefix("A ")) {
            outcome = attributes(outcome, line);
        }
        Ok(outcome)
    }

    fn script(&self, check: bool) -> Result<String, String> {
        let args = &self.0;
        let mode = args.mode.as_ref().map(FileMode::spec).transpose()?;
        let name = |account: &Option<Account>| -> Result<String, String> {
            Ok(match account {
                Some(account) => quote(account.name()?),
                None => "-".to_owned(),
            })
        };
        // `touch` sets both times to now unless told otherwise; other states keep them.
        let default = if args.state == Some(State::Touch) {
            "now"
        } else {
            "preserve"
        };
        let time = |value: &Option<String>, format: &Option<String>| -> Result<String, String> {
            Ok(quote(&time_arg(
                value.as_deref().unwrap_or(default),
                format.as_deref(),
            )?))
        };
        let mut text = format!(
            "atime={} mtime={}\n",
            time(&args.access_time, &args.access_time_format)?,
            time(&args.modification_time, &args.modification_time_format)?
        );
        text.push_str(&format!(
            "p={} st={} src={} hassrc={} force={} recurse={} follow={} check={} wown={} wgrp={} hasmode={}\n",
            quote(&args.path),
            args.state.map_or("", State::name),
            quote(args.src.as_deref().unwrap_or_default()),
            u8::from(args.src.is_some()),
            u8::from(args.force),
            u8::from(args.recurse),
            u8::from(args.follow.unwrap_or(true)),
            u8::from(check),
            name(&args.owner)?,
            name(&args.group)?,
            u8::from(mode.is_some()),
        ));
        text.push_str(&format!(
            "wattr={}\n",
            args.attributes.as_deref().map_or("-".to_owned(), quote)
        ));
        text.push_str(&wantmode_function(mode.as_ref()));
        text.push_str(SET_ATTRIBUTES);
        text.push_str(ATTRS);
        text.push_str(UP);
        text.push_str(SCRIPT);
        Ok(text)
    }
}

/// What the script reported changing on the path itself (`Y KEY BEFORE AFTER` for mode,
/// owner and group; `X READ FLAGS WANTED` for chattr's flags), for ansible-core's `diff`.
#[derive(Debug, Default)]
struct Changes {
    before: serde_json::Map<String, serde_json::Value>,
    after: serde_json::Map<String, serde_json::Value>,
}

impl Changes {
    fn read(&mut self, line: &str) {
        use serde_json::Value;
        if let Some(rest) = line.strip_prefix("Y ") {
            let words: Vec<&str> = rest.splitn(3, ' ').collect();
            let [key, before, after] = words.as_slice() else {
                return;
            };
            // Owners are numbers in ansible-core's diff, modes strings.
            let value = |text: &str| match text.parse::<u64>() {
                Ok(number) if *key != "mode" => Value::from(number),
                _ => Value::from(text),
            };
            self.before.insert((*key).to_owned(), value(before));
            self.after.insert((*key).to_owned(), value(after));
        } else if let Some(rest) = line.strip_prefix("X ") {
            let words: Vec<&str> = rest.splitn(3, ' ').collect();
            let [read, flags, wanted] = words.as_slice() else {
                return;
            };
            let before = if *read == "1" {
                Value::from(*flags)
            } else {
                Value::Null
            };
            self.before.insert("attributes".to_owned(), before);
            self.after
                .insert("attributes".to_owned(), Value::from(*wanted));
        }
    }

    /// The registered `diff` and, when its sides differ, the one `--diff` prints: each
    /// side as ansible-core's callback serializes it (sorted keys, four spaces).
    fn diff(self, path: &str, prev: &str, state: &str) -> (serde_json::Value, Option<FileDiff>) {
        let mut before = self.before;
        let mut after = self.after;
        before.insert("path".to_owned(), path.into());
        after.insert("path".to_owned(), path.into());
        if prev != state {
            before.insert("state".to_owned(), prev.into());
            after.insert("state".to_owned(), state.into());
        }
        let (before, after) = (
            serde_json::Value::Object(before),
            serde_json::Value::Object(after),
        );
        let text = |value: &serde_json::Value| {
            format!("{}\n", crate::template::python::json(value, Some(4), true))
        };
        let (before_text, after_text) = (text(&before), text(&after));
        let shown = (before_text != after_text).then(|| FileDiff {
            headers: Some(super::DiffHeaders::default()),
            path: path.to_owned(),
            before: before_text,
            after: after_text,
        });
        (
            serde_json::json!({ "before": before, "after": after }),
            shown,
        )
    }
}

/// `A mode uid user gid group size` as Ansible registers a path's attributes.
pub(super) fn attributes(outcome: Outcome, line: &str) -> Outcome {
    let words: Vec<&str> = line.split(' ').collect();
    let [mode, uid, user, gid, group, size] = words.as_slice() else {
        return outcome;
    };
    let number = |text: &str| text.parse::<u64>().unwrap_or_default();
    outcome
        .with("mode", format!("{:0>4}", mode))
        .with("uid", number(uid))
        .with("owner", *user)
        .with("gid", number(gid))
        .with("group", *group)
        .with("size", number(size))
}

impl TaskType for File {
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Runs;

    /// `state`'s six are ansible-core's.
    const CHOICES_ARE_ANSIBLES: bool = true;

    const HOST_PATHS: &'static [&'static str] = &["path", "dest", "name", "src"];

    fn pipelines(_args: &Node) -> bool {
        true
    }

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let args = &self.0;
        if args.diff_peek.is_some() {
            return self.diff_peek(ctx).await;
        }
        let text = match self.script(ctx.check) {
            Ok(text) => text,
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        let output = ctx.run(ctx.script("exec sh -s").stdin(text)).await?;
        let stdout = output.stdout_lossy();
        let mut prev = "absent".to_owned();
        let mut changed = false;
        let mut state = args.state.map_or("file", State::name).to_owned();
        let mut attrs = None;
        let mut error = None;
        let mut warnings = Vec::new();
        let mut read_src = None;
        let mut changes = Changes::default();
        let mut details = None;
        let mut kind_now = None;
        let mut path = args.path.clone();
        for line in stdout.lines() {
            changes.read(line);
            if let Some(rest) = line.strip_prefix("N ") {
                path = rest.to_owned();
            }
            if let Some(rest) = line.strip_prefix("F ") {
                details = Some(
                    String::from_utf8_lossy(
                        &base64::Engine::decode(
                            &base64::engine::general_purpose::STANDARD,
                            rest.trim(),
                        )
                        .unwrap_or_default(),
                    )
                    .into_owned(),
                );
            } else if let Some(rest) = line.strip_prefix("P ") {
                kind_now = Some(rest.to_owned());
            }
            if line == "W" {
                warnings.push(
                    "Cannot set fs attributes on a non-existent symlink target. follow should be \
                     set to False to avoid this."
                        .to_owned(),
                );
            }
            if let Some(rest) = line.strip_prefix("R ") {
                read_src = Some(rest.to_owned());
            } else if let Some(rest) = line.strip_prefix("K ") {
                prev = rest.to_owned();
            } else if let Some(rest) = line.strip_prefix("C ") {
                let mut words = rest.splitn(2, ' ');
                changed = words.next() == Some("1");
                state = words.next().unwrap_or_default().to_owned();
            } else if let Some(rest) = line.strip_prefix("A ") {
                attrs = Some(rest.to_owned());
            } else if let Some(rest) = line.strip_prefix("E ") {
                error = Some(rest.to_owned());
            }
        }
        let state = if state == "touch" {
            "file".to_owned()
        } else {
            state
        };
        // Links, hard links (written, or the path's own without `state`) and touched files
        // name the path `dest`, as Ansible does.
        let linking = matches!(args.state, Some(State::Link | State::Hard))
            || (args.state.is_none() && matches!(state.as_str(), "link" | "hard"));
        let key = if linking || args.state == Some(State::Touch) {
            "dest"
        } else {
            "path"
        };
        if let Some(details) = details {
            // ansible-core's fail_json after chattr: the path's attributes as they are.
            let mut outcome = Outcome::failed("chattr failed")
                .with(
                    "details",
                    format!("Error while setting attributes: {details}"),
                )
                .with("path", path.clone())
                .with("state", kind_now.unwrap_or(prev));
            if let Some(line) = attrs {
                outcome = attributes(outcome, &line);
            }
            return Ok(outcome);
        }
        if !output.success() || error.is_some() {
            let reason = error.unwrap_or_else(|| {
                let stderr = output.stderr_lossy();
                stderr.lines().next().unwrap_or("failed").to_owned()
            });
            // ansible-core names the state where it says the path cannot be one, and
            // (add_path_info) wherever the path exists.
            let named = reason.ends_with(", cannot continue") || prev != "absent";
            let outcome = Outcome::failed(reason).with("path", path.clone());
            return Ok(if named {
                outcome.with("state", prev)
            } else {
                outcome
            });
        }
        let mut outcome = if changed {
            Outcome::changed()
        } else {
            Outcome::ok()
        };
        if changed {
            outcome.files = vec![path.clone()];
        }
        // ansible-core's `diff`: the path, its state when it changes (`touch` as written),
        // and what set_fs_attributes_if_different changed. Not when an absent path stays
        // absent, nor for a file touched into being in check mode (ansible-core returns
        // none there).
        let diff_state = if args.state == Some(State::Touch) && state == "file" {
            "touch"
        } else {
            state.as_str()
        };
        let touched_in_check = ctx.check && args.state == Some(State::Touch) && prev == "absent";
        if ctx.diff && (changed || state != "absent") && !touched_in_check {
            let (diff, shown) = changes.diff(&path, &prev, diff_state);
            if changed && let Some(shown) = shown {
                outcome.diffs = vec![shown];
            }
            outcome = outcome.with("diff", diff);
        }
        outcome = outcome.with(key, path.clone());
        // A link's `src` as written, else as read from the link, else null (ansible-core's
        // `None`).
        match args.src.clone().or(read_src) {
            Some(src) => outcome = outcome.with("src", src),
            None if linking => outcome = outcome.with("src", serde_json::Value::Null),
            None => {}
        }
        if !warnings.is_empty() {
            outcome = outcome.with("warnings", warnings);
        }
        // In check mode a path that would be created has no attributes yet; a link or hard
        // link without them (one that leads nowhere, or is not made yet) has no `state`, as
        // in ansible-core.
        if attrs.is_some() || state == "absent" {
            outcome = outcome.with("state", state);
        } else if !linking && !touched_in_check {
            outcome = outcome.with("state", prev);
        }
        if let Some(line) = attrs {
            outcome = attributes(outcome, &line);
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_is_dirname() {
        for path in [
            "/a/b", "/a", "/", "//", "a", "a/b/", "/a//b", "a//", "/a/b//", ".", "..", "a b/c d",
        ] {
            let ours = std::process::Command::new("sh")
                .args([
                    "-c",
                    &format!("{UP}up \"$1\"; printf %s \"$u\""),
                    "sh",
                    path,
                ])
                .output()
                .expect("sh runs");
            let dirname = std::process::Command::new("dirname")
                .args(["--", path])
                .output()
                .expect("dirname runs");
            assert_eq!(
                String::from_utf8_lossy(&ours.stdout),
                String::from_utf8_lossy(&dirname.stdout).trim_end_matches('\n'),
                "{path}"
            );
        }
    }
}
