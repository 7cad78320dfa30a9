//! `get_url` (Ansible's `ansible.builtin.get_url`): a file downloaded ON THE HOST (`http://`,
//! `https://`, `file://`) to `dest`, as ansible-core 2.19 does it, in one round trip: a
//! `dest` that already has the `checksum` asked for is left alone without a request;
//! otherwise the host's `curl` (the request `uri` makes, credentials on its standard input)
//! downloads into a temporary folder, the download is checked against `checksum`, and it
//! replaces `dest` only when its SHA-1 differs; then owner, group and mode. In check mode
//! the request is a `HEAD`, as Ansible's is.

use serde::Deserialize;
use serde_json::Value as Json;

use super::args::{Account, FileMode};
use super::file::attributes;
use super::uri::{
    Auth, CURL, Request, attrs_prelude, check_url, failure, mask_password, mask_url, read_response,
};
use super::{Outcome, TaskContext, TaskType};
use crate::transport::{TransportError, quote};

#[derive(Debug, Deserialize)]
#[serde(try_from = "Args")]
pub struct GetUrl(Args, Auth, Option<(String, Digest)>);

/// The digest `checksum` gives: written, or in a checksum file at a URL (`sha256sum`'s or
/// BSD's lines), found by the downloaded file's name.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Digest {
    Hex(String),
    Url(String),
}

super::uri::http_args! {
"username", "ten",
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    url: String,
    dest: String,
    /// `ALGORITHM:HEX`, such as `sha256:5891b5b5...`.
    #[serde(default)]
    checksum: Option<String>,
    #[serde(default)]
    force: bool,
    #[serde(default)]
    mode: Option<FileMode>,
    #[serde(default)]
    owner: Option<Account>,
    #[serde(default)]
    group: Option<Account>,
    /// Keep the replaced file as `DEST.PID.YYYY-MM-DD@HH:MM:SS~`.
    #[serde(default)]
    backup: bool,
    /// The directory on the host the download is written in before it replaces `dest`.
    #[serde(default)]
    tmp_dest: Option<String>,
}
}

fn ten() -> u64 {
    10
}

/// Python's `hashlib` algorithms ansible-core takes whose digest the host can make: the
/// coreutils' `*sum`, and SHA-3 and BLAKE2 with `openssl dgst`.
const ALGORITHMS: &[&str] = &[
    "md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_224", "sha3_256", "sha3_384",
    "sha3_512", "blake2b", "blake2s",
];

/// `ALGORITHM:HEX` (or `ALGORITHM:URL`) as the algorithm and the digest, lower-cased.
fn checksum(text: &str) -> Result<(String, Digest), String> {
    let (algorithm, digest) = text.split_once(':').ok_or_else(|| {
        format!("`checksum` `{text}` must be `ALGORITHM:DIGEST`, such as `sha256:5891b5b5...`")
    })?;
    let algorithm = algorithm.trim().to_ascii_lowercase();
    if !ALGORITHMS.contains(&algorithm.as_str()) {
        return Err(format!(
            "`checksum` algorithm `{algorithm}` must be one of {}",
            ALGORITHMS
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let scheme = digest
        .split_once("://")
        .map(|(scheme, _)| scheme.to_ascii_lowercase());
    if let Some(scheme) = scheme {
        if ["http", "https", "file"].contains(&scheme.as_str()) {
            return Ok((algorithm, Digest::Url(digest.to_owned())));
        }
        if scheme == "ftp" {
            return Err(format!(
                "`checksum` `{text}`: an `ftp://` checksum file is not supported"
            ));
        }
    }
    Ok((algorithm, Digest::Hex(hex_digest(digest)?)))
}

/// A digest as ansible-core reads it: anything not a word character dropped, lower-cased,
/// hexadecimal.
fn hex_digest(digest: &str) -> Result<String, String> {
    let digest: String = digest
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    if digest.is_empty() || !digest.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("The checksum format is invalid".to_owned());
    }
    Ok(digest)
}

/// The name ansible-core looks for in a checksum file: the URL path's last part, or
/// `index.html`.
fn url_filename(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = rest
        .find('/')
        .map_or("", |i| &rest[i..])
        .split(['?', '#'])
        .next()
        .unwrap_or_default();
    match path.rsplit('/').next().unwrap_or_default() {
        "" => "index.html".to_owned(),
        name => name.to_owned(),
    }
}

/// The digest for `filename` in a checksum file, as ansible-core's `parse_digest_lines`
/// reads one: a file of one word is that digest; otherwise the first line, BSD's
/// `SHA256 (NAME) = DIGEST` or GNU's `DIGEST  NAME` (`*NAME`, `./NAME`), naming it.
fn digest_in(lines: &[&str], filename: &str) -> Option<String> {
    if let [one] = lines {
        if one.split_whitespace().count() == 1 {
            return Some((*one).to_owned());
        }
    }
    let word = |c: char| c.is_alphanumeric() || c == '_';
    for line in lines {
        // BSD: `^(\w+) ?\((?P<path>.+)\) ?= (?P<digest>[\w.]+)$`
        let bsd = (|| {
            let open = line.find('(')?;
            let algo = line[..open].strip_suffix(' ').unwrap_or(&line[..open]);
            if algo.is_empty() || !algo.chars().all(word) {
                return None;
            }
            let (inner, digest) = line[open + 1..]
                .rsplit_once(") = ")
                .or_else(|| line[open + 1..].rsplit_once(")= "))?;
            (!inner.is_empty() && !digest.is_empty() && digest.chars().all(|c| word(c) || c == '.'))
                .then(|| (digest.to_owned(), inner.to_owned()))
        })();
        // GNU: `^(?P<digest>[\w.]+)\s+(\*|\.\/|\.)?(?P<path>.+)$`, the path's
        // leading `.` and `/` dropped.
        let gnu = || {
            let end = line.find(|c: char| !(word(c) || c == '.'))?;
            let (digest, rest) = line.split_at(end);
            let rest = rest.trim_start_matches(char::is_whitespace);
            if digest.is_empty() || rest.len() == line.len() - end {
                return None;
            }
            let path = rest
                .strip_prefix('*')
                .or_else(|| rest.strip_prefix("./"))
                .or_else(|| rest.strip_prefix('.'))
                .filter(|p| !p.is_empty())
                .unwrap_or(rest);
            (!path.is_empty()).then(|| {
                (
                    digest.to_owned(),
                    path.trim_start_matches(['.', '/']).to_owned(),
                )
            })
        };
        if let Some((digest, path)) = bsd.or_else(gnu) {
            if path == filename {
                return Some(digest);
            }
        }
    }
    None
}

impl TryFrom<Args> for GetUrl {
    type Error = String;

    fn try_from(args: Args) -> Result<Self, String> {
        check_url(&args.url, &["http", "https", "file"])?;
        let sum = match &args.checksum {
            Some(text) if !crate::yaml::is_template(text) && !text.is_empty() => {
                Some(checksum(text)?)
            }
            _ => None,
        };
        let mut auth = args.auth();
        // ansible-core's `fetch_url(force=...)`: `Cache-control: no-cache` with `force`.
        auth.no_cache = args.force;
        Ok(GetUrl(args, auth, sum))
    }
}

impl GetUrl {
    fn script(&self, check: bool, sum: Option<&(String, String)>) -> Result<String, String> {
        let args = &self.0;
        let (algorithm, want) = sum.cloned().unwrap_or_default();
        let mut text = String::from("set -u\n");
        text.push_str(&attrs_prelude(
            args.mode.as_ref(),
            args.owner.as_ref(),
            args.group.as_ref(),
            check,
        )?);
        text.push_str(&format!(
            "qdest={dest} algo={algorithm} want={want} force={force} url={url} backup={backup} qtmpdir={tmpdir}\n",
            dest = super::fetch::host_path(&args.dest),
            algorithm = quote(if algorithm.is_empty() {
                "sha1"
            } else {
                &algorithm
            }),
            want = quote(&want),
            force = u8::from(args.force),
            url = quote(&args.url),
            backup = u8::from(args.backup),
            tmpdir = args
                .tmp_dest
                .as_deref()
                .map_or_else(|| "''".to_owned(), super::fetch::host_path),
        ));
        text.push_str(
            r#"qsum() {
  case $algo in
    sha3_*) openssl dgst -"sha3-${algo#sha3_}" -r ;;
    blake2b) openssl dgst -blake2b512 -r ;;
    blake2s) openssl dgst -blake2s256 -r ;;
    *) "${algo}sum" ;;
  esac
}
report() {
  printf 'C %s\n' $ch
  m=$(md5sum < "$qdest") && printf 'M %s\n' "${m%% *}"
  stat -L -c 'A %a %u %U %g %G %s' -- "$qdest"
}
isdir=0; [ -d "$qdest" ] && isdir=1
if [ $isdir = 0 ] && [ -e "$qdest" ] && [ $force = 0 ] && [ -n "$want" ]; then
  have=$(qsum < "$qdest") || fail "Destination $qdest is not readable"
  if [ "${have%% *}" = "$want" ]; then
    attrs "$qdest"; echo K; report; exit 0
  fi
fi
# As ansible-core: an existing `dest` is asked for only if modified since (`force`, or a
# checksum it does not match, asks for it afresh: `Cache-control: no-cache`).
qims= qnocache=0
if [ $isdir = 0 ] && [ -e "$qdest" ] && [ $force = 0 ]; then
  if [ -n "$want" ]; then qnocache=1
  else qims=$(LC_ALL=C date -u -r "$qdest" '+%a, %d %b %Y %H:%M:%S GMT'); fi
fi
"#,
        );
        // As ansible-core: `tmp_dest` must be a directory.
        text.push_str(
            r#"if [ -n "$qtmpdir" ] && [ ! -d "$qtmpdir" ]; then
  if [ -e "$qtmpdir" ]; then printf 'G %s\n' "$qtmpdir is a file but should be a directory."
  else printf 'G %s\n' "$qtmpdir directory does not exist."; fi
  exit 0
fi
"#,
        );
        text.push_str(&super::uri::curl_settings(&self.1, &args.url, None));
        text.push_str(CURL);
        text.push_str(
            r#"case $url in [Ff][Ii][Ll][Ee]:*) [ $rc = 0 ] && code=200 ;; esac
if [ "$code" = 304 ] && [ -e "$qdest" ]; then stat -L -c 'A %a %u %U %g %G %s' -- "$qdest"; exit 0; fi
[ "$code" = 200 ] || exit 0
printf 'F %s\n' "$qtmp/b"
if [ $isdir = 1 ]; then
  n=$(grep -i '^content-disposition:' "$qtmp/h" | tail -n 1 | tr -d '\r' | sed -n 's/.*filename="\{0,1\}\([^";]*\)"\{0,1\}.*/\1/p')
  n=${n##*/}
  if [ -z "$n" ]; then n=$(printf %s "$url" | sed 's/[?#].*//; s|/*$||; s|.*/||'); fi
  qdest="${qdest%/}/${n:-index.html}"
fi
printf 'D %s\n' "$qdest"
ss=$(sha1sum < "$qtmp/b") || exit 1; ss=${ss%% *}; ts=-; printf 'S %s\n' "$ss"; printf 'N %s\n' "$(wc -c < "$qtmp/b")"
if [ -e "$qdest" ]; then
  [ -w "$qdest" ] || fail "Destination $qdest is not writable"
  ts=$(sha1sum < "$qdest") || fail "Destination $qdest is not readable"; ts=${ts%% *}; printf 'T %s\n' "$ts"
else
  p=$(dirname -- "$qdest")
  [ -d "$p" ] || fail "Destination $p does not exist"
  [ -w "$p" ] || fail "Destination $p is not writable"
fi
[ $check = 0 ] || exit 0
if [ -n "$want" ]; then
  got=$(qsum < "$qtmp/b") || exit 1; got=${got%% *}
  [ "$got" = "$want" ] || { printf 'Y %s %s\n' "$got" "$qtmp/b"; exit 0; }
fi
if [ "$ss" != "$ts" ]; then
  if [ $backup = 1 ] && [ -e "$qdest" ]; then
    b="$qdest.$$.$(date +%Y-%m-%d@%H:%M:%S)~"
    cp -pf -- "$qdest" "$b" || fail "failed to back up $qdest"
    printf 'U %s\n' "$b"
  fi
  cat -- "$qtmp/b" > "$qdest.quayside-new" && mv -f -- "$qdest.quayside-new" "$qdest" || { rm -f -- "$qdest.quayside-new"; fail "failed to copy to $qdest"; }
  ch=1
fi
attrs "$qdest"; report
"#,
        );
        Ok(text)
    }
}

impl GetUrl {
    /// The request for `url` (the file's, or a checksum file's): `GET`, or `HEAD` in check
    /// mode for the file.
    fn request<'a>(&'a self, url: &'a str, method: &'a str) -> Request<'a> {
        let args = &self.0;
        Request {
            url,
            method,
            headers: args
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.0.clone()))
                .collect(),
            body: None,
            auth: &self.1,
            timeout: args.timeout,
            follow: true,
            schemes: "http,https,file",
        }
    }

    /// The digest a checksum file at `url` gives the downloaded file's name, downloaded on
    /// the host first as ansible-core does; or the task's failure, as ansible-core's.
    async fn digest_from(
        &self,
        ctx: &TaskContext<'_>,
        url: &str,
    ) -> Result<Result<String, Box<Outcome>>, TransportError> {
        let args = &self.0;
        mask_password(&self.1, url);
        let mut script = String::from("set -u\n");
        script.push_str(&super::uri::curl_settings(&self.1, url, None));
        script.push_str(CURL);
        script.push_str(&format!(
            "case {} in [Ff][Ii][Ll][Ee]:*) [ $rc = 0 ] && code=200 ;; esac\nprintf 'B '; base64 -w0 < \"$qtmp/b\"; echo\nprintf 'Q %s\\n' \"$code\"\n",
            quote(url)
        ));
        let output = ctx
            .run(ctx.script(script).stdin(self.request(url, "GET").config()))
            .await?;
        let failed = |outcome: Outcome| {
            Ok(Err(Box::new(
                outcome
                    .with("dest", args.dest.clone())
                    .with("url", mask_url(url)),
            )))
        };
        if !output.success() {
            return failed(failure(&output, "the download failed on the host"));
        }
        let stdout = output.stdout_lossy();
        let response = match read_response(&stdout) {
            Ok(response) => response.gssapi_unanswered(&self.1),
            Err(reason) => return failed(Outcome::failed(reason)),
        };
        let code = stdout
            .lines()
            .find_map(|l| l.strip_prefix("Q "))
            .unwrap_or_default();
        if code != "200" {
            let Some(status) = response.status else {
                return failed(Outcome::failed(response.msg()).with("elapsed", response.elapsed));
            };
            return failed(
                Outcome::failed("Request failed")
                    .with("status_code", status)
                    .with("response", response.msg())
                    .with("elapsed", response.elapsed),
            );
        }
        let text = String::from_utf8_lossy(&response.body.unwrap_or_default()).into_owned();
        let lines: Vec<&str> = text.lines().collect();
        let filename = url_filename(&args.url);
        let Some(digest) = digest_in(&lines, &filename) else {
            // ansible-core's `fail_json` gives the message alone.
            return Ok(Err(Box::new(Outcome::failed(format!(
                "Unable to find a checksum for file '{filename}' in '{}'",
                mask_url(url)
            )))));
        };
        match hex_digest(&digest) {
            Ok(hex) => Ok(Ok(hex)),
            Err(reason) => failed(Outcome::failed(reason)),
        }
    }
}

impl TaskType for GetUrl {
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Runs;

    const HOST_PATHS: &'static [&'static str] = &["dest"];

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let args = &self.0;
        mask_password(&self.1, &args.url);
        let sum = match &self.2 {
            None => None,
            Some((algorithm, Digest::Hex(hex))) => Some((algorithm.clone(), hex.clone())),
            Some((algorithm, Digest::Url(url))) => match self.digest_from(ctx, url).await? {
                Ok(hex) => Some((algorithm.clone(), hex)),
                Err(failed) => return Ok(*failed),
            },
        };
        let script = match self.script(ctx.check, sum.as_ref()) {
            Ok(script) => script,
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        let request = self.request(&args.url, if ctx.check { "HEAD" } else { "GET" });
        let output = ctx.run(ctx.script(script).stdin(request.config())).await?;
        if !output.success() {
            return Ok(failure(&output, "the download failed on the host"));
        }
        let stdout = output.stdout_lossy();
        let field = |prefix: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(prefix))
                .map(str::to_owned)
        };
        let mut outcome = Outcome::ok()
            .with("dest", args.dest.clone())
            .with("url", mask_url(&args.url));
        if let Some(reason) = field("G ") {
            // `tmp_dest` is not a directory: ansible-core's `fail_json` gives `elapsed` only.
            return Ok(Outcome::failed(reason).with("elapsed", 0));
        }
        if let Some(reason) = field("E ") {
            return Ok(Outcome::failed(reason)
                .with("dest", args.dest.clone())
                .with("url", mask_url(&args.url)));
        }
        if stdout.lines().any(|l| l == "K") {
            // `dest` already has the checksum asked for: no request.
            outcome = outcome
                .with("checksum_dest", Json::Null)
                .with("checksum_src", Json::Null)
                .with("elapsed", 0);
            let changed = field("C ").as_deref() == Some("1");
            outcome.changed = changed;
            outcome = outcome.with_msg(if changed {
                "file already exists but file attributes changed"
            } else {
                "file already exists"
            });
            if let Some(line) = field("A ") {
                outcome = attributes(outcome, &line).with("state", "file");
            }
            return Ok(outcome);
        }
        let response = match read_response(&stdout) {
            Ok(response) => response.gssapi_unanswered(&self.1),
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        let file = args.url.to_ascii_lowercase().starts_with("file:");
        outcome = outcome.with("elapsed", response.elapsed);
        if response.status == Some(304) {
            // Not modified since `dest`'s time: ansible-core's `url_get` exits there, with
            // `dest`'s attributes and no checksums.
            let mut outcome = Outcome::ok()
                .with("url", mask_url(&args.url))
                .with("dest", args.dest.clone())
                .with("status_code", 304)
                .with("elapsed", response.elapsed);
            if let Some(line) = field("A ") {
                outcome = attributes(outcome, &line).with("state", "file");
            }
            return Ok(outcome.with_msg(response.msg()));
        }
        let Some(dest) = field("D ") else {
            // No download: the request failed, or answered other than 200.
            if response.status.is_none() {
                // No answer (nor a `file://` file): ansible-core fails with urllib's error
                // alone.
                let mut failed = Outcome::failed(response.msg());
                failed.data = outcome.data;
                return Ok(failed);
            }
            let status = match (file, response.status) {
                (true, _) => Json::Null,
                (false, Some(status)) => status.into(),
                (false, None) => (-1).into(),
            };
            let mut failed = Outcome::failed("Request failed");
            failed.data = outcome.data;
            return Ok(failed
                .with("status_code", status)
                .with("response", response.msg()));
        };
        let status = if file {
            Json::Null
        } else {
            response.status.unwrap_or(-1).into()
        };
        // For `file://` urllib's answer says the file's size.
        let msg = if file {
            format!(
                "OK ({} bytes)",
                field("N ").unwrap_or_else(|| "unknown".to_owned())
            )
        } else {
            response.msg()
        };
        let sum_src = field("S ").unwrap_or_default();
        let sum_dest = field("T ");
        outcome = outcome
            .with("dest", dest.clone())
            .with("src", field("F ").unwrap_or_default())
            .with("checksum_src", sum_src.clone())
            .with(
                "checksum_dest",
                sum_dest.clone().map_or(Json::Null, Json::from),
            );
        if let Some(line) = field("Y ") {
            let (got, temp) = line.split_once(' ').unwrap_or((&line, ""));
            let (_, want) = sum.clone().unwrap_or_default();
            let mut failed = Outcome::failed(format!(
                "The checksum for {temp} did not match {want}; it was {got}."
            ));
            failed.data = outcome.data;
            return Ok(failed.with("src", temp));
        }
        if ctx.check {
            outcome.changed = sum_dest.as_deref() != Some(sum_src.as_str());
            if outcome.changed {
                outcome.files = vec![dest];
            }
            return Ok(outcome.with_msg(msg).with("status_code", status));
        }
        outcome.changed = field("C ").as_deref() == Some("1");
        if outcome.changed {
            outcome.files = vec![dest];
        }
        if let Some(md5) = field("M ") {
            outcome = outcome.with("md5sum", md5);
        }
        if let Some(backup) = field("U ") {
            outcome = outcome.with("backup_file", backup);
        }
        if let Some(line) = field("A ") {
            outcome = attributes(outcome, &line).with("state", "file");
        }
        Ok(outcome.with_msg(msg).with("status_code", status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_are_read_as_ansible_reads_them() {
        assert_eq!(
            checksum("SHA256:AB:CD").unwrap(),
            ("sha256".to_owned(), Digest::Hex("abcd".to_owned()))
        );
        assert!(checksum("sha256").is_err());
        assert!(checksum("crc32:abcd").is_err());
        assert_eq!(
            checksum("sha256:http://x/SHA256SUMS").unwrap(),
            (
                "sha256".to_owned(),
                Digest::Url("http://x/SHA256SUMS".to_owned())
            )
        );
        assert_eq!(
            checksum("sha256:xyz").unwrap_err(),
            "The checksum format is invalid"
        );
    }
}
