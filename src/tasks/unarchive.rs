//! `unarchive` (Ansible's `ansible.builtin.unarchive`): a tar archive (plain, gzip, bzip2,
//! xz, zstd) or a zip archive unpacked into an existing directory on the host, as
//! ansible-core 2.19 does it, in one round trip: the archive (from the controller, sent on
//! the script's standard input, or already on the host with `remote_src`) is compared with
//! what is in `dest` and unpacked only when a member differs. Tar archives are compared by
//! GNU tar's `--diff`, read as Ansible reads it; zip archives are unpacked into a temporary
//! folder and each member's contents compared. Owner, group and mode then apply to every
//! member, as Ansible applies them.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::args::{Account, FileMode, OneOrMany};
use super::controller_files::{Look, find_with_role, role_dir};
use super::copy_files::playbook_dir;
use super::file::attributes;
use super::uri::attrs_prelude;
use super::{Outcome, TaskContext, TaskType};
use crate::transport::{TransportError, quote};

#[derive(Debug, Deserialize)]
#[serde(try_from = "Args")]
pub struct Unarchive(Args);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    src: String,
    dest: String,
    #[serde(default)]
    remote_src: bool,
    #[serde(default)]
    creates: Option<String>,
    #[serde(default)]
    list_files: bool,
    #[serde(default)]
    keep_newer: bool,
    #[serde(default)]
    exclude: Option<OneOrMany>,
    #[serde(default)]
    include: Option<OneOrMany>,
    #[serde(default)]
    extra_opts: Option<OneOrMany>,
    #[serde(default)]
    mode: Option<FileMode>,
    #[serde(default)]
    owner: Option<Account>,
    #[serde(default)]
    group: Option<Account>,
}

impl TryFrom<Args> for Unarchive {
    type Error = String;

    fn try_from(args: Args) -> Result<Self, String> {
        let has = |list: &Option<OneOrMany>| list.as_ref().is_some_and(|l| !l.0.is_empty());
        if has(&args.include) && has(&args.exclude) {
            return Err("parameters are mutually exclusive: include|exclude".to_owned());
        }
        if !args.remote_src && args.src.contains("://") {
            return Err(format!(
                "Unsupported option, an URI src ({}) is only supported when remote_src is True",
                args.src
            ));
        }
        if args.remote_src && args.src.contains("://") {
            return Err(format!(
                "`src` `{}`: a URL is not supported; download it with `get_url` first",
                args.src
            ));
        }
        Ok(Unarchive(args))
    }
}

/// The handlers, in Ansible's order of trying, with the flag tar reads each with.
const TARS: &[(&str, &str)] = &[
    ("TgzArchive", "-z"),
    ("TarArchive", ""),
    ("TarBzipArchive", "-j"),
    ("TarXzArchive", "-J"),
    ("TarZstdArchive", "--use-compress-program=zstd"),
];

const SCRIPT: &str = r#"[ -d "$qdest" ] || fail "dest '$shown' must be an existing dir"
qtmp=$(mktemp -d) || exit 1
trap 'rm -rf -- "$qtmp"' EXIT
if [ $local = 1 ]; then qsrc=$qtmp/source; cat > "$qsrc" || fail "cannot receive the archive"; fi
[ -e "$qsrc" ] || fail "Source '$qsrc' does not exist"
[ -r "$qsrc" ] || fail "Source '$qsrc' not readable"
[ -s "$qsrc" ] || fail "Invalid archive '$qsrc', the file is 0 bytes"
export LC_ALL=C
printf 'S %s\n' "$qsrc"
h= flag=
if command -v unzip >/dev/null 2>&1 && unzip -Z1 "$qsrc" > "$qtmp/list" 2>/dev/null && [ -s "$qtmp/list" ]; then
  h=ZipArchive
elif tarbin=$(command -v gtar || command -v tar) && "$tarbin" --version 2>/dev/null | head -n 1 | grep -q GNU; then
  for cand in $tars; do
    flag=${cand#*:}
    if "$tarbin" --list -C "$qdest" $flag @TAR_ARGS@ -f "$qsrc" @INCLUDE@ > "$qtmp/list" 2>/dev/null && [ -s "$qtmp/list" ]; then
      h=${cand%%:*}; break
    fi
  done
fi
[ -n "$h" ] || fail "Failed to find handler for \"$qsrc\". Make sure the required command to extract the file is installed."
printf 'H %s %s\n' "$h" "${tarbin:-}"
# The members, leading `/` taken off, the excluded left out.
: > "$qtmp/members"
while IFS= read -r f; do
  f=${f#/}
  case $f in @EXCLUDED@) continue ;; esac
  # tar lists only what `include` names; a zip's listing is filtered here.
  [ $h != ZipArchive ] || case $f in @INCLUDED@) ;; *) continue ;; esac
  printf '%s\n' "$f" >> "$qtmp/members"
done < "$qtmp/list"
printf 'L '; base64 -w0 < "$qtmp/members"; echo
differ=0
if [ $h = ZipArchive ]; then
  # Each member's permissions as the archive holds them, the umask applied (Ansible's
  # comparison when no `mode` is given).
  um=$(umask)
  unzip -Z "$qsrc" 2>/dev/null | sed -n 's/^\([-dlrwxsStT]\{10\}\) .* [0-9][0-9]:[0-9][0-9] \(.*\)$/\1 \2/p' > "$qtmp/perms"
  mkdir "$qtmp/x" && unzip -qq -o "$qsrc" @INCLUDE@ -d "$qtmp/x" @ZIPX@ > "$qtmp/zo" 2>&1 || fail "unzip failed: $(head -n 1 "$qtmp/zo")"
  while IFS= read -r f; do
    case $f in
    */) [ -d "$qdest/$f" ] || differ=1 ;;
    *) if [ ! -f "$qdest/$f" ] || [ "$(sha1sum < "$qtmp/x/$f")" != "$(sha1sum < "$qdest/$f")" ]; then differ=1; fi ;;
    esac
    if [ $differ = 0 ] && [ $hasmode = 0 ]; then
      p=$(awk -v n="$f" 'substr($0, 12) == n { print substr($0, 2, 9); exit }' "$qtmp/perms")
      if [ -n "$p" ]; then
        o=0 i=0
        for c in $(printf '%s' "$p" | sed 's/./& /g'); do
          b=$(( 256 >> i )); i=$((i + 1))
          case $c in r|w|x|s|t) o=$((o | b)) ;; esac
        done
        want=$(printf '%o' $(( o & ~0$um )))
        [ "$(stat -c %a -- "$qdest/${f%/}")" = "$want" ] || differ=1
      fi
    fi
  done < "$qtmp/members"
else
  [ $check = 0 ] || { echo K; exit 0; }
  "$tarbin" --diff -C "$qdest" $flag @TAR_ARGS@ @OWNERSHIP@ -f "$qsrc" @INCLUDE@ > "$qtmp/diff" 2>&1
  re=': (Mod time differs|Warning: Cannot stat: No such file or directory|Symlink differs|Contents differ|Size differs)$|: Invalid (owner|group)'
  [ "$(id -u)" != 0 ] || [ "$wown" != - ] || re="$re|: Uid differs\$"
  [ "$(id -u)" != 0 ] || [ "$wgrp" != - ] || re="$re|: Gid differs\$"
  [ $hasmode = 1 ] || re="$re|: Mode differs\$"
  grep -v ': : Warning: Cannot stat: No such file or directory$' "$qtmp/diff" | grep -Eq "$re" && differ=1
fi
printf 'D %s\n' $differ
if [ $differ = 1 ] && [ $check = 0 ]; then
  if [ $h = ZipArchive ]; then
    unzip -qq -o "$qsrc" @INCLUDE@ -d "$qdest" @ZIPX@ > "$qtmp/out" 2> "$qtmp/err"; rc=$?
  else
    "$tarbin" --extract -C "$qdest" $flag @TAR_ARGS@ @OWNERSHIP@ -f "$qsrc" @INCLUDE@ > "$qtmp/out" 2> "$qtmp/err"; rc=$?
  fi
  printf 'X %s ' $rc; base64 -w0 < "$qtmp/out"; printf ' '; base64 -w0 < "$qtmp/err"; echo
  [ $rc = 0 ] || exit 0
fi
ch=$differ
if [ $attrs = 1 ]; then
  tops=
  while IFS= read -r f; do
    [ -e "$qdest/$f" ] || [ -L "$qdest/$f" ] || continue
    [ -L "$qdest/$f" ] && continue
    attrs "$qdest/${f%/}"
    case $f in */*) t1=${f%%/*}; case " $tops " in *" $t1 "*) ;; *) tops="$tops $t1" ;; esac ;; esac
  done < "$qtmp/members"
  for t1 in $tops; do [ -d "$qdest/$t1" ] && attrs "$qdest/$t1"; done
fi
printf 'C %s\n' $ch
stat -L -c 'A %a %u %U %g %G %s' -- "$qdest"
"#;

impl Unarchive {
    fn script(&self, check: bool, local: bool) -> Result<String, String> {
        let args = &self.0;
        let list = |l: &Option<OneOrMany>| l.as_ref().map(|l| l.0.clone()).unwrap_or_default();
        let words = |items: Vec<String>| -> String {
            items.iter().map(|i| quote(i)).collect::<Vec<_>>().join(" ")
        };
        let excludes: Vec<String> = list(&args.exclude)
            .into_iter()
            .map(|x| x.trim_end_matches('/').to_owned())
            .collect();
        let opts = list(&args.extra_opts);
        // tar's own options: `--show-transformed-names` with `extra_opts`, the excludes.
        let mut tar_args = Vec::new();
        if !opts.is_empty() {
            tar_args.push("--show-transformed-names".to_owned());
            tar_args.extend(opts);
        }
        tar_args.extend(excludes.iter().map(|x| format!("--exclude={x}")));
        let mut ownership = Vec::new();
        if let Some(owner) = &args.owner {
            ownership.push(format!("--owner={}", owner.name()?));
        }
        if let Some(group) = &args.group {
            ownership.push(format!("--group={}", group.name()?));
        }
        if args.keep_newer {
            ownership.push("--keep-newer-files".to_owned());
        }
        let zipx = if excludes.is_empty() {
            String::new()
        } else {
            format!("-x {}", words(excludes.clone()))
        };
        // The excluded and included as `case` patterns: globs stay globs where they hold
        // nothing the shell would read otherwise, anything else matches literally.
        let patterns = |items: &[String], none: &str| {
            if items.is_empty() {
                return none.to_owned();
            }
            items
                .iter()
                .map(|x| {
                    let plain = x
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_./*?[]!-+,=:@%^".contains(c));
                    if plain { x.clone() } else { quote(x) }
                })
                .collect::<Vec<_>>()
                .join("|")
        };
        let excluded = patterns(&excludes, "''");
        let included = patterns(&list(&args.include), "*");
        let has_attrs = args.mode.is_some() || args.owner.is_some() || args.group.is_some();
        let mut text = String::from("set -u\n");
        text.push_str(&attrs_prelude(
            args.mode.as_ref(),
            args.owner.as_ref(),
            args.group.as_ref(),
            check,
        )?);
        if let Some(creates) = &args.creates {
            text.push_str(&format!(
                "if [ -e {} ]; then echo 'E+ skipped'; exit 0; fi\n",
                super::fetch::host_path(creates)
            ));
        }
        text.push_str(&format!(
            "set -f\nqdest={dest} shown={shown} qsrc={src} local={local} attrs={attrs}\ntars={tars}\n",
            dest = super::fetch::host_path(&args.dest),
            shown = quote(&args.dest),
            src = super::fetch::host_path(&args.src),
            local = u8::from(local),
            attrs = u8::from(has_attrs),
            tars = quote(
                &TARS
                    .iter()
                    .map(|(name, flag)| format!("{name}:{flag}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        ));
        text.push_str(
            &SCRIPT
                .replace("@TAR_ARGS@", &words(tar_args))
                .replace("@INCLUDE@", &words(list(&args.include)))
                .replace("@OWNERSHIP@", &words(ownership))
                .replace("@ZIPX@", &zipx)
                .replace("@EXCLUDED@", &excluded)
                .replace("@INCLUDED@", &included),
        );
        Ok(text)
    }

    /// The archive on the controller, found as `copy` finds its `src` (`files/` first).
    fn archive(&self, ctx: &TaskContext<'_>) -> Result<Vec<u8>, String> {
        let args = &self.0;
        let base = playbook_dir(ctx.vars);
        let role = role_dir(ctx.vars);
        let path = find_with_role(role.as_deref(), &base, &args.src, Look::File).ok_or_else(|| {
            format!(
                "Could not find or access '{}' on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option",
                args.src
            )
        })?;
        let bytes = crate::inputs::read(&path, false)
            .map_err(|error| format!("cannot read `{}`: {error}", path.display()))?;
        Ok(crate::vault::open_bytes(bytes, &path.display().to_string())?.0)
    }
}

impl TaskType for Unarchive {
    // As ansible-core's action plugin: "This action (NAME) does not support async."
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Fails;

    const HOST_PATHS: &'static [&'static str] = &["dest", "creates"];

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let args = &self.0;
        let local = !args.remote_src;
        let archive = if local {
            match self.archive(ctx) {
                Ok(bytes) => bytes,
                Err(reason) => return Ok(Outcome::failed(reason)),
            }
        } else {
            Vec::new()
        };
        let script = match self.script(ctx.check, local) {
            Ok(script) => script,
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        let output = ctx.run(ctx.script(script).stdin(archive)).await?;
        let stdout = output.stdout_lossy();
        let lines: BTreeMap<&str, &str> = stdout
            .lines()
            .filter_map(|l| l.split_once(' ').or(Some((l, ""))))
            .collect();
        if lines.contains_key("E+") {
            let creates = args.creates.clone().unwrap_or_default();
            return Ok(Outcome::skipped(format!("skipped, since {creates} exists")));
        }
        if let Some(reason) = lines.get("E") {
            return Ok(Outcome::failed(reason.to_string()));
        }
        if !output.success() {
            return Ok(super::uri::failure(&output, "cannot unpack on the host"));
        }
        let (handler, tar) = lines
            .get("H")
            .and_then(|h| h.split_once(' '))
            .unwrap_or_default();
        if lines.contains_key("K") {
            return Ok(Outcome::skipped(
                "remote module (ansible.legacy.unarchive) does not support check mode when using gtar",
            ));
        }
        let src = lines.get("S").copied().unwrap_or_default().to_owned();
        let files: Vec<String> = lines
            .get("L")
            .and_then(|b64| STANDARD.decode(b64).ok())
            .map(|bytes| {
                String::from_utf8_lossy(&bytes)
                    .lines()
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let mut outcome = Outcome::ok()
            .with("dest", args.dest.clone())
            .with("src", src.clone())
            .with("handler", handler);
        if let Some(extract) = lines.get("X") {
            let mut words = extract.split(' ');
            let rc: i64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(-1);
            let text = |w: Option<&str>| {
                String::from_utf8_lossy(&STANDARD.decode(w.unwrap_or_default()).unwrap_or_default())
                    .into_owned()
            };
            let out = text(words.next());
            let err = text(words.next());
            let cmd = self.command(handler, tar, &src);
            let results = json!({"cmd": cmd, "err": err, "out": out, "rc": rc});
            if rc != 0 {
                let mut failed =
                    Outcome::failed(format!("failed to unpack {src} to {}", args.dest));
                failed.data = outcome.data;
                return Ok(failed.with("extract_results", results));
            }
            outcome = outcome.with("extract_results", results);
        }
        outcome.changed = lines.get("C") == Some(&"1");
        if outcome.changed {
            outcome.files = vec![args.dest.clone()];
        }
        if args.list_files {
            outcome = outcome.with("files", files);
        }
        if let Some(line) = lines.get("A") {
            outcome = attributes(outcome, line).with("state", "directory");
        }
        Ok(outcome)
    }
}

impl Unarchive {
    /// The extraction command as Ansible registers it under `extract_results.cmd`.
    fn command(&self, handler: &str, tar: &str, src: &str) -> Json {
        let args = &self.0;
        let mut cmd: Vec<String> = Vec::new();
        if handler == "ZipArchive" {
            cmd.extend(["unzip", "-o", src].map(str::to_owned));
            cmd.extend(["-d".to_owned(), args.dest.clone()]);
        } else {
            cmd.extend([tar, "--extract", "-C", &args.dest].map(str::to_owned));
            if let Some((_, flag)) = TARS.iter().find(|(name, _)| *name == handler) {
                if !flag.is_empty() {
                    cmd.push((*flag).to_owned());
                }
            }
            cmd.extend(["-f".to_owned(), src.to_owned()]);
        }
        cmd.into()
    }
}
