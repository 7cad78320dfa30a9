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
pub struct GetUrl(Args, Auth, Option<(String, String)>);

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
}
}

fn ten() -> u64 {
    10
}

const ALGORITHMS: &[&str] = &["md5", "sha1", "sha224", "sha256", "sha384", "sha512"];

/// `ALGORITHM:HEX` as the algorithm and the digest, lower-cased.
fn checksum(text: &str) -> Result<(String, String), String> {
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
    if digest.contains("://") {
        return Err(format!(
            "`checksum` `{text}`: a checksum file's URL is not supported; give the digest"
        ));
    }
    let digest: String = digest
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    if digest.is_empty() || !digest.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("The checksum format is invalid".to_owned());
    }
    Ok((algorithm, digest))
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
        let auth = args.auth();
        Ok(GetUrl(args, auth, sum))
    }
}

impl GetUrl {
    fn script(&self, check: bool) -> Result<String, String> {
        let args = &self.0;
        let (algorithm, want) = self.2.clone().unwrap_or_default();
        let mut text = String::from("set -u\n");
        text.push_str(&attrs_prelude(
            args.mode.as_ref(),
            args.owner.as_ref(),
            args.group.as_ref(),
            check,
        )?);
        text.push_str(&format!(
            "qdest={dest} algo={algorithm} want={want} force={force} url={url}\n",
            dest = super::fetch::host_path(&args.dest),
            algorithm = quote(if algorithm.is_empty() {
                "sha1"
            } else {
                &algorithm
            }),
            want = quote(&want),
            force = u8::from(args.force),
            url = quote(&args.url),
        ));
        text.push_str(
            r#"report() {
  printf 'C %s\n' $ch
  m=$(md5sum < "$qdest") && printf 'M %s\n' "${m%% *}"
  stat -L -c 'A %a %u %U %g %G %s' -- "$qdest"
}
isdir=0; [ -d "$qdest" ] && isdir=1
if [ $isdir = 0 ] && [ -e "$qdest" ] && [ $force = 0 ] && [ -n "$want" ]; then
  have=$(${algo}sum < "$qdest") || fail "Destination $qdest is not readable"
  if [ "${have%% *}" = "$want" ]; then
    attrs "$qdest"; echo K; report; exit 0
  fi
fi
"#,
        );
        text.push_str(&super::uri::curl_settings(&self.1, &args.url, None));
        text.push_str(CURL);
        text.push_str(
            r#"case $url in [Ff][Ii][Ll][Ee]:*) [ $rc = 0 ] && code=200 ;; esac
[ "$code" = 200 ] || exit 0
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
  got=$(${algo}sum < "$qtmp/b") || exit 1; got=${got%% *}
  [ "$got" = "$want" ] || { printf 'Y %s %s\n' "$got" "$qtmp/b"; exit 0; }
fi
if [ "$ss" != "$ts" ]; then
  cat -- "$qtmp/b" > "$qdest.quayside-new" && mv -f -- "$qdest.quayside-new" "$qdest" || { rm -f -- "$qdest.quayside-new"; fail "failed to copy to $qdest"; }
  ch=1
fi
attrs "$qdest"; report
"#,
        );
        Ok(text)
    }
}

impl TaskType for GetUrl {
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Runs;

    const HOST_PATHS: &'static [&'static str] = &["dest"];

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let args = &self.0;
        mask_password(&self.1, &args.url);
        let script = match self.script(ctx.check) {
            Ok(script) => script,
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        let request = Request {
            url: &args.url,
            method: if ctx.check { "HEAD" } else { "GET" },
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
        };
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
            Ok(response) => response,
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        let file = args.url.to_ascii_lowercase().starts_with("file:");
        outcome = outcome.with("elapsed", response.elapsed);
        let Some(dest) = field("D ") else {
            // No download: the request failed, or answered other than 200.
            if !file && response.status.is_none() {
                // No answer: ansible-core fails with urllib's error alone.
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
            .with("checksum_src", sum_src.clone())
            .with(
                "checksum_dest",
                sum_dest.clone().map_or(Json::Null, Json::from),
            );
        if let Some(line) = field("Y ") {
            let (got, temp) = line.split_once(' ').unwrap_or((&line, ""));
            let (_, want) = self.2.clone().unwrap_or_default();
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
            ("sha256".to_owned(), "abcd".to_owned())
        );
        assert!(checksum("sha256").is_err());
        assert!(checksum("crc32:abcd").is_err());
        assert!(checksum("sha256:http://x/SHA256SUMS").is_err());
        assert_eq!(
            checksum("sha256:xyz").unwrap_err(),
            "The checksum format is invalid"
        );
    }
}
