//! `archive` (`community.general.archive`): files and trees on the host packed into a tar
//! archive (plain, gzip, bzip2, xz) or a zip archive, or one file compressed, as the
//! collection's module does it, in one round trip with the host's `tar`, `gzip`, `bzip2`,
//! `xz` and `zip`. The new archive is built in a temporary file and compared with `dest`
//! member by member (names, modes, owners, sizes and times for tar; names and CRCs for zip;
//! the contents for a compressed file): `dest` is replaced only when they differ, so that
//! a second run changes nothing, and registers what the module registers (`archived`,
//! `arcroot`, `dest_state`, `missing`, `expanded_paths`...).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::Value as Json;

use super::args::{Account, FileMode, OneOrMany};
use super::uri::attrs_prelude;
use super::{Outcome, TaskContext, TaskType};
use crate::transport::{TransportError, quote};

#[derive(Debug, Deserialize)]
#[serde(try_from = "Args")]
pub struct Archive(Args);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    path: OneOrMany,
    #[serde(default)]
    format: Format,
    #[serde(default)]
    dest: Option<String>,
    #[serde(default)]
    exclude_path: Option<OneOrMany>,
    #[serde(default)]
    force_archive: bool,
    #[serde(default)]
    remove: bool,
    #[serde(default)]
    mode: Option<FileMode>,
    #[serde(default)]
    owner: Option<Account>,
    #[serde(default)]
    group: Option<Account>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Bz2,
    #[default]
    Gz,
    Tar,
    Xz,
    Zip,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Bz2 => "bz2",
            Format::Gz => "gz",
            Format::Tar => "tar",
            Format::Xz => "xz",
            Format::Zip => "zip",
        }
    }

    /// tar's flag for the compression, and the compressor for a single file.
    fn tools(self) -> (&'static str, &'static str) {
        match self {
            Format::Bz2 => ("-j", "bzip2"),
            Format::Gz => ("-z", "gzip"),
            Format::Xz => ("-J", "xz"),
            Format::Tar | Format::Zip => ("", ""),
        }
    }
}

impl TryFrom<Args> for Archive {
    type Error = String;

    fn try_from(args: Args) -> Result<Self, String> {
        if args.path.0.is_empty() {
            return Err("`path` names no file".to_owned());
        }
        Ok(Archive(args))
    }
}

/// A path as a shell word: quoted, except `*` and `?`, which stay globs as Python's `glob`
/// reads them (Ansible's module globs a path that holds either).
fn glob_word(path: &str) -> String {
    let mut word = String::new();
    let mut literal = String::new();
    for c in path.chars() {
        if c == '*' || c == '?' {
            if !literal.is_empty() {
                word.push_str(&quote(&literal));
                literal.clear();
            }
            word.push(c);
        } else {
            literal.push(c);
        }
    }
    if !literal.is_empty() {
        word.push_str(&quote(&literal));
    }
    word
}

/// Shell that appends each of `paths`, expanded, to `file`; sets `globby=1` if one globs.
fn expand(paths: &[String], file: &str) -> String {
    let mut text = String::new();
    for path in paths {
        if path.contains(['*', '?']) {
            text.push_str(&format!(
                "globby=1; set +f; for p in {}; do [ -e \"$p\" ] || [ -L \"$p\" ] || continue; printf '%s\\n' \"$p\" >> \"$qtmp/{file}\"; done; set -f\n",
                glob_word(path)
            ));
        } else {
            text.push_str(&format!(
                "printf '%s\\n' {} >> \"$qtmp/{file}\"\n",
                quote(path)
            ));
        }
    }
    text
}

const SCRIPT: &str = r#"export LC_ALL=C
sort -u "$qtmp/expanded" | grep -vxF -f "$qtmp/excluded" > "$qtmp/paths"
printf 'X '; base64 -w0 < "$qtmp/expanded"; echo
printf 'Y '; base64 -w0 < "$qtmp/excluded"; echo
[ -s "$qtmp/paths" ] || fail "Error, no source paths were found"
root=$(awk '{ d = $0; if (!sub(/\/[^\/]*$/, "", d)) d = ""; d = d "/"; if (NR == 1) c = d; else { n = 0; while (n < length(c) && n < length(d) && substr(c, n + 1, 1) == substr(d, n + 1, 1)) n++; c = substr(c, 1, n) } } END { sub(/[^\/]*$/, "", c); print c }' "$qtmp/paths")
printf 'R %s\n' "$root"
first=$(head -n 1 "$qtmp/paths")
count=$(wc -l < "$qtmp/paths")
must=$force
if [ $globby = 1 ] || [ -d "$first" ] || [ "$count" -gt 1 ]; then must=1; fi
if [ -z "$qdest" ]; then
  [ $must = 0 ] || fail 'Error, must specify "dest" when archiving multiple files or trees'
  qdest=$first.$fmt
fi
printf 'D %s\n' "$qdest"
if [ $remove = 1 ]; then
  while IFS= read -r p; do
    if [ -d "$p" ]; then case $qdest in "${p%/}"/*) fail "Error, created archive can not be contained in source paths when remove=true" ;; esac; fi
  done < "$qtmp/paths"
fi
: > "$qtmp/targets"; : > "$qtmp/missing"; : > "$qtmp/members"; : > "$qtmp/archived"
while IFS= read -r p; do
  if [ -e "$p" ] || [ -L "$p" ]; then printf '%s\n' "$p" >> "$qtmp/targets"; else printf '%s\n' "$p" >> "$qtmp/missing"; fi
done < "$qtmp/paths"
printf 'M '; base64 -w0 < "$qtmp/missing"; echo
state=absent ch=0
isarchive() { case $1 in *.tar|*.tar.gz|*.tar.bz2|*.tar.xz|*.tgz|*.tbz2|*.zip|*.TAR|*.TGZ|*.ZIP) return 0 ;; esac; return 1; }
# What a file holds, to compare: the sorted listing of an archive, or the contents.
listing() {
  case $1 in
  zip) unzip -v "$2" 2>/dev/null | sed -n 's/^ *[0-9][0-9]* *[A-Za-z:0-9]* *[0-9][0-9]* *-*[0-9]*% *[0-9-]* *[0-9:]* *\([0-9a-f]\{8\}\) *\(.*\)$/\1 \2/p' | sort ;;
  tar) tar -tv --numeric-owner --full-time $tflag -f "$2" 2>/dev/null | sort ;;
  *) $comp -dc < "$2" 2>/dev/null | sha1sum ;;
  esac
}
# What is under a directory in Python's os.walk order: a folder's directories, its other
# entries, then each directory's own.
walk() {
  find "$1" -mindepth 1 -maxdepth 1 -type d >> "$qtmp/archived"
  find "$1" -mindepth 1 -maxdepth 1 ! -type d >> "$qtmp/archived"
  find "$1" -mindepth 1 -maxdepth 1 -type d | while IFS= read -r sd; do walk "$sd"; done
}
if [ ! -s "$qtmp/targets" ]; then
  if [ -e "$qdest" ]; then if isarchive "$qdest"; then state=archive; else state=compress; fi; fi
elif [ $check = 1 ]; then
  if [ $must = 1 ] || [ ! -e "$qdest" ]; then ch=1; fi
else
  kind=tar nf=$qtmp/new.tar; [ $fmt = zip ] && kind=zip nf=$qtmp/new.zip
  if [ $must = 1 ] || [ $fmt = zip ] || [ $fmt = tar ]; then
    if [ $must = 1 ]; then
      while IFS= read -r p; do
        if [ -d "$p" ] && [ ! -L "$p" ]; then walk "$p"; else printf '%s\n' "$p" >> "$qtmp/archived"; fi
      done < "$qtmp/targets"
    else
      printf '%s\n' "$first" >> "$qtmp/archived"
    fi
    while IFS= read -r p; do printf '%s\n' "${p#"$root"}" >> "$qtmp/members"; done < "$qtmp/archived"
    state=archive
    [ -s "$qtmp/missing" ] && [ $must = 1 ] && state=incomplete
    if [ $kind = zip ]; then
      command -v zip >/dev/null 2>&1 || fail "no \`zip\` on the host to write $qdest with"
      (cd -- "${root:-.}" && zip -q -X "$nf" -@ < "$qtmp/members") > "$qtmp/err" 2>&1 || fail "Error when writing zip archive at $qdest: $(head -n 1 "$qtmp/err")"
    else
      tar -C "${root:-.}" --no-recursion $tflag -cf "$nf" -T "$qtmp/members" 2> "$qtmp/err" || fail "Error when writing $tname archive at $qdest: $(head -n 1 "$qtmp/err")"
    fi
  else
    kind=single
    printf '%s\n' "$first" >> "$qtmp/archived"
    $comp -c < "$first" > "$nf" || fail "Unable to write to compressed file: $first"
    state=compress
  fi
  if [ $kind = single ]; then new=$(sha1sum < "$first"); else new=$(listing $kind "$nf"); fi
  old=; [ -e "$qdest" ] && old=$(listing $kind "$qdest")
  if [ ! -e "$qdest" ] || [ "$new" != "$old" ]; then
    cat -- "$nf" > "$qdest.quayside-new" && mv -f -- "$qdest.quayside-new" "$qdest" || { rm -f -- "$qdest.quayside-new"; fail "cannot write $qdest"; }
    ch=1
  fi
  if [ $remove = 1 ]; then
    while IFS= read -r p; do [ -e "$p" ] && rm -rf -- "$p"; done < "$qtmp/archived"
    while IFS= read -r p; do [ -d "$p" ] && rm -rf -- "$p"; done < "$qtmp/paths"
  fi
fi
printf 'A '; base64 -w0 < "$qtmp/archived"; echo
[ -e "$qdest" ] && attrs "$qdest"
printf 'S %s\n' $state
printf 'C %s\n' $ch
[ ! -e "$qdest" ] || stat -L -c 'F %a %u %U %g %G %s' -- "$qdest"
"#;

impl Archive {
    fn script(&self, check: bool) -> Result<String, String> {
        let args = &self.0;
        let (tflag, comp) = args.format.tools();
        let tname = match args.format {
            Format::Tar => "tar".to_owned(),
            other => format!("tar.{}", other.name()),
        };
        let mut text = String::from("set -u\nset -f\n");
        text.push_str(&attrs_prelude(
            args.mode.as_ref(),
            args.owner.as_ref(),
            args.group.as_ref(),
            check,
        )?);
        text.push_str(&format!(
            "qtmp=$(mktemp -d) || exit 1\ntrap 'rm -rf -- \"$qtmp\"' EXIT\n: > \"$qtmp/expanded\"; : > \"$qtmp/excluded\"\nglobby=0 fmt={} force={} remove={} tflag={} comp={} tname={} qdest={}\n",
            args.format.name(),
            u8::from(args.force_archive),
            u8::from(args.remove),
            quote(tflag),
            quote(comp),
            quote(&tname),
            args.dest.as_deref().map_or("''".to_owned(), super::fetch::host_path),
        ));
        text.push_str(&expand(&args.path.0, "expanded"));
        let globby = "globby_paths=$globby\n";
        text.push_str(globby);
        let excluded = args
            .exclude_path
            .as_ref()
            .map(|l| l.0.clone())
            .unwrap_or_default();
        text.push_str(&expand(&excluded, "excluded"));
        // Only `path`'s globs make an archive of one file.
        text.push_str("globby=$globby_paths\n");
        text.push_str(SCRIPT);
        Ok(text)
    }
}

fn lines(b64: Option<&str>) -> Json {
    let bytes = STANDARD.decode(b64.unwrap_or_default()).unwrap_or_default();
    String::from_utf8_lossy(&bytes)
        .lines()
        .map(str::to_owned)
        .collect::<Vec<_>>()
        .into()
}

impl TaskType for Archive {
    const HOST_PATHS: &'static [&'static str] = &["path", "dest"];

    const COLLECTION: Option<&'static str> = Some("community.general");

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let script = match self.script(ctx.check) {
            Ok(script) => script,
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        let output = ctx.run(ctx.script(script)).await?;
        let stdout = output.stdout_lossy();
        let field = |prefix: &str| stdout.lines().find_map(|l| l.strip_prefix(prefix));
        let expanded = lines(field("X "));
        let excluded = lines(field("Y "));
        if let Some(reason) = field("E ") {
            let mut failed = Outcome::failed(reason.to_owned());
            if reason == "Error, no source paths were found" {
                let join = |v: &Json| {
                    v.as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(Json::as_str)
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_default()
                };
                failed = failed
                    .with("path", self.0.path.0.join(", "))
                    .with("expanded_paths", join(&expanded))
                    .with("expanded_exclude_paths", join(&excluded));
            } else if reason.starts_with("Error, must specify") {
                failed = failed
                    .with("dest", "None")
                    .with("path", self.0.path.0.join(", "));
            }
            return Ok(failed);
        }
        if !output.success() {
            return Ok(super::uri::failure(&output, "cannot archive on the host"));
        }
        let dest = field("D ").unwrap_or_default().to_owned();
        let mut outcome = if field("C ") == Some("1") {
            let mut changed = Outcome::changed();
            changed.files = vec![dest.clone()];
            changed
        } else {
            Outcome::ok()
        };
        outcome = outcome
            .with("archived", lines(field("A ")))
            .with("dest", dest)
            .with("dest_state", field("S ").unwrap_or("absent"))
            .with("arcroot", field("R ").unwrap_or_default())
            .with("missing", lines(field("M ")))
            .with("expanded_paths", expanded)
            .with("expanded_exclude_paths", excluded);
        // As AnsibleModule adds a `dest`'s attributes to every result.
        if let Some(line) = field("F ") {
            outcome = super::file::attributes(outcome, line).with("state", "file");
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_stay_globs_and_the_rest_is_quoted() {
        assert_eq!(glob_word("/srv/a b/*.log"), "'/srv/a b/'*.log");
        assert_eq!(glob_word("/x/y"), "/x/y");
        assert_eq!(glob_word("/x/$(id)?"), "'/x/$(id)'?");
    }
}
