//! `uri` (Ansible's `ansible.builtin.uri`): an HTTP request made ON THE HOST, as Ansible
//! makes it, registering what ansible-core 2.19 registers (`status`, `msg` such as
//! `OK (24 bytes)` or `HTTP Error 404: Not Found`, `url`, `redirected`, `json` when the
//! answer is JSON, `content` with `return_content`, every response header lower-cased with
//! `-` as `_`, `cookies`...).
//!
//! No Python runs on the host: the request is `curl`'s, in one round trip. Everything about
//! the request (URL, headers, body, user and password) reaches curl on its standard input
//! as a `--config -` file, never on a command line that `ps` shows; the password is masked
//! in every output. A host without `curl` fails the task saying so (`delegate_to:
//! localhost` makes the request from the controller). `get_url` shares this request.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Deserializer, de};
use serde_json::{Map, Value as Json};

use super::args::{Account, FileMode};
use super::file::{ATTRS, attributes, wantmode_function};
use super::{Outcome, TaskContext, TaskType};
use crate::transport::{Output, TransportError, quote};

#[derive(Debug, Deserialize)]
#[serde(try_from = "Args")]
pub struct Uri(Args, Auth);

/// The arguments `uri` and `get_url` share (ansible-core's `url_argument_spec` and what both
/// modules add to it), in one definition written into each task type's `Args` after its
/// own fields (serde's `flatten` would lose `deny_unknown_fields`): `$user` is
/// `url_username`'s alias (`user` for `uri`, `username` for `get_url`, as ansible-core has
/// them), `$timeout` the function giving `timeout`'s default. It also gives `Args::auth`.
macro_rules! http_args {
    ($user:literal, $timeout:literal, $(#[$meta:meta])* pub struct $name:ident { $($fields:tt)* }) => {
        $(#[$meta])*
        pub struct $name {
            $($fields)*
            #[serde(default)]
            headers: std::collections::BTreeMap<String, super::uri::Scalar>,
            #[serde(default, alias = $user)]
            url_username: Option<String>,
            #[serde(default, alias = "password")]
            url_password: Option<String>,
            #[serde(default)]
            force_basic_auth: bool,
            #[serde(default = "super::args::yes")]
            validate_certs: bool,
            /// A PEM file on the host: the client's certificate (and its key, unless
            /// `client_key` names the key's file), as curl's `--cert`.
            #[serde(default)]
            client_cert: Option<String>,
            /// The client certificate's key, a PEM file on the host (curl's `--key`).
            #[serde(default)]
            client_key: Option<String>,
            /// `false`: the proxies of the environment (`http_proxy`...) are not used.
            #[serde(default = "super::args::yes")]
            use_proxy: bool,
            /// Headers sent with the first request only, not again after a redirect.
            #[serde(default)]
            unredirected_headers: Option<super::args::OneOrMany>,
            #[serde(default = $timeout)]
            timeout: u64,
            /// Whether a `Content-Encoding: gzip` answer is decompressed.
            #[serde(default = "super::args::yes")]
            decompress: bool,
            /// The `User-Agent` sent.
            #[serde(default = "super::uri::ansible_httpget")]
            http_agent: String,
            /// The TLS ciphers allowed, OpenSSL's names (joined with `:`).
            #[serde(default)]
            ciphers: Option<super::args::OneOrMany>,
            /// Basic credentials for the host from the host's `~/.netrc` (or `$NETRC`) when
            /// none are given.
            #[serde(default = "super::args::yes")]
            use_netrc: bool,
            /// SPNEGO (Kerberos) authentication with the host's credentials cache.
            #[serde(default)]
            use_gssapi: bool,
        }

        impl $name {
            /// The shared arguments the request reads.
            fn auth(&self) -> super::uri::Auth {
                super::uri::Auth {
                    url_username: self.url_username.clone(),
                    url_password: self.url_password.clone(),
                    force_basic_auth: self.force_basic_auth,
                    validate_certs: self.validate_certs,
                    ca_path: None,
                    client_cert: self.client_cert.clone(),
                    client_key: self.client_key.clone(),
                    use_proxy: self.use_proxy,
                    unredirected_headers: self
                        .unredirected_headers
                        .iter()
                        .flat_map(super::args::OneOrMany::split_commas)
                        .map(|name| name.to_ascii_lowercase())
                        .collect(),
                    decompress: self.decompress,
                    http_agent: self.http_agent.clone(),
                    ciphers: self
                        .ciphers
                        .iter()
                        .flat_map(super::args::OneOrMany::split_commas)
                        .collect(),
                    use_netrc: self.use_netrc,
                    use_gssapi: self.use_gssapi,
                    unix_socket: None,
                    no_cache: false,
                }
            }
        }
    };
}
pub(super) use http_args;

http_args! {
"user", "thirty",
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    url: String,
    #[serde(default = "get")]
    method: String,
    #[serde(default)]
    body: Option<Json>,
    #[serde(default)]
    body_format: BodyFormat,
    #[serde(default = "ok_codes")]
    status_code: StatusCodes,
    #[serde(default)]
    return_content: bool,
    #[serde(default)]
    follow_redirects: FollowRedirects,
    /// Where the answer's body is written on the host.
    #[serde(default)]
    dest: Option<String>,
    #[serde(default)]
    creates: Option<String>,
    #[serde(default)]
    removes: Option<String>,
    #[serde(default)]
    mode: Option<FileMode>,
    #[serde(default)]
    owner: Option<Account>,
    #[serde(default)]
    group: Option<Account>,
    /// A file whose bytes are the body: on the controller (`files/`), or on the host with
    /// `remote_src`.
    #[serde(default)]
    src: Option<String>,
    /// `src` and a multipart body's files are read on the host, not the controller.
    #[serde(default)]
    remote_src: bool,
    /// A socket on the host the request goes through (curl's `--unix-socket`).
    #[serde(default)]
    unix_socket: Option<String>,
    /// The CA certificates the server's is checked against, a PEM file on the host
    /// (`uri`'s only: ansible-core's `get_url` has no `ca_path`).
    #[serde(default)]
    ca_path: Option<String>,
    /// `Cache-control: no-cache` is sent.
    #[serde(default)]
    force: bool,
}
}

/// How the host authenticates and checks the server: the arguments `uri` and `get_url`
/// share (each reads them as its own arguments).
#[derive(Debug, Default)]
pub(super) struct Auth {
    pub url_username: Option<String>,
    pub url_password: Option<String>,
    pub force_basic_auth: bool,
    pub validate_certs: bool,
    pub ca_path: Option<String>,
    /// The client certificate and its key: PEM files on the host.
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
    /// Whether the environment's proxies are used (curl's and urllib's default).
    pub use_proxy: bool,
    /// The headers (lower-cased) sent with the first request only.
    pub unredirected_headers: Vec<String>,
    /// Whether a `Content-Encoding: gzip` answer is decompressed, as urllib's is.
    pub decompress: bool,
    /// The `User-Agent` header (none when empty).
    pub http_agent: String,
    /// The TLS ciphers allowed (OpenSSL's names), as Python's `set_ciphers`.
    pub ciphers: Vec<String>,
    /// Whether the host's `~/.netrc` (or `$NETRC`) gives credentials when none are given.
    pub use_netrc: bool,
    /// SPNEGO with the host's Kerberos credentials cache (curl's `--negotiate`).
    pub use_gssapi: bool,
    /// A socket on the host the request goes through (`uri`'s `unix_socket`).
    pub unix_socket: Option<String>,
    /// `Cache-control: no-cache` is sent (`uri`'s `force`).
    pub no_cache: bool,
}

pub(super) fn ansible_httpget() -> String {
    "ansible-httpget".to_owned()
}

fn get() -> String {
    "GET".to_owned()
}

fn thirty() -> u64 {
    30
}

fn ok_codes() -> StatusCodes {
    StatusCodes(vec![200])
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum BodyFormat {
    #[serde(rename = "json")]
    Json,
    #[serde(rename = "form-urlencoded")]
    Form,
    #[default]
    #[serde(rename = "raw")]
    Raw,
    #[serde(rename = "form-multipart")]
    Multipart,
}

/// Ansible's `follow_redirects`: `safe` (the default) follows for `GET` and `HEAD` only.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FollowRedirects {
    All,
    Yes,
    No,
    None,
    #[default]
    Safe,
    Urllib2,
}

/// A header's value: a string, or a number or boolean written without quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Json::deserialize(deserializer)? {
            Json::String(text) => Ok(Scalar(text)),
            Json::Number(n) => Ok(Scalar(n.to_string())),
            Json::Bool(b) => Ok(Scalar(if b { "True" } else { "False" }.to_owned())),
            _ => Err(de::Error::custom("a header's value must be a string")),
        }
    }
}

/// `status_code`: one code, a list, or `"200,201"`, as Ansible's list of integers reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCodes(pub Vec<i64>);

impl<'de> Deserialize<'de> for StatusCodes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        fn code(value: &Json) -> Option<Vec<i64>> {
            match value {
                Json::Number(n) => n.as_i64().map(|n| vec![n]),
                Json::String(text) => text
                    .split(',')
                    .map(|part| part.trim().parse::<i64>().ok())
                    .collect(),
                _ => None,
            }
        }
        let value = Json::deserialize(deserializer)?;
        let codes = match &value {
            Json::Array(items) => items
                .iter()
                .map(code)
                .collect::<Option<Vec<_>>>()
                .map(|v| v.concat()),
            other => code(other),
        };
        codes.map(StatusCodes).ok_or_else(|| {
            de::Error::custom(format!(
                "`status_code` must be HTTP status codes such as `200` or `[200, 201]`, not `{value}`"
            ))
        })
    }
}

impl StatusCodes {
    /// As Python prints the list: `[200, 201]`.
    fn shown(&self) -> String {
        let codes: Vec<String> = self.0.iter().map(i64::to_string).collect();
        format!("[{}]", codes.join(", "))
    }
}

impl TryFrom<Args> for Uri {
    type Error = String;

    fn try_from(args: Args) -> Result<Self, String> {
        let method = &args.method;
        if !crate::yaml::is_template(method)
            && (method.is_empty() || !method.chars().all(|c| c.is_ascii_alphabetic()))
        {
            return Err(
                "Parameter 'method' needs to be a single word in uppercase, like GET or POST."
                    .to_owned(),
            );
        }
        check_url(&args.url, &["http", "https"])?;
        if args.src.is_some() && args.body.is_some() {
            return Err("parameters are mutually exclusive: body|src".to_owned());
        }
        if args.body_format == BodyFormat::Multipart && args.src.is_none() {
            check_multipart(args.body.as_ref().unwrap_or(&Json::Null))?;
        }
        let mut auth = args.auth();
        auth.unix_socket = args.unix_socket.clone();
        auth.ca_path = args.ca_path.clone();
        auth.no_cache = args.force;
        Ok(Uri(args, auth))
    }
}

/// A URL whose scheme quayside's request can take, checked where it is written.
pub(super) fn check_url(url: &str, schemes: &[&str]) -> Result<(), String> {
    if crate::yaml::is_template(url) {
        return Ok(());
    }
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme {
        Some(scheme) if schemes.contains(&scheme.as_str()) => Ok(()),
        _ => Err(format!(
            "`url` `{url}` must start with {}",
            schemes
                .iter()
                .map(|s| format!("`{s}://`"))
                .collect::<Vec<_>>()
                .join(" or ")
        )),
    }
}

/// A value in a curl config file: quoted, with `\` and `"` escaped and line breaks as
/// `\n`, so that nothing in it can start another option.
fn config_value(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One request, as curl's `--config -` file: what the host's curl reads on its standard
/// input.
pub(super) struct Request<'a> {
    pub url: &'a str,
    pub method: &'a str,
    pub headers: Vec<(String, String)>,
    pub body: Option<Body>,
    pub auth: &'a Auth,
    pub timeout: u64,
    pub follow: bool,
    /// The schemes curl may use, first and after a redirect.
    pub schemes: &'a str,
}

/// A request's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Body {
    /// Text, in curl's config.
    Text(String),
    /// Any bytes: sent to the host base64-encoded on the first line of the standard input,
    /// which [`CURL`] writes to a file curl reads (`qbody=1`).
    Bytes(Vec<u8>),
    /// A file on the host.
    HostFile(String),
}

/// The first line of the standard input of [`CURL`]: curl follows the redirects itself.
const ONE_CURL: &str = "# quayside: one request";
/// The first line when the script follows the first redirect itself (`unredirected_headers`):
/// the first request's config, then after each [`NEXT`] line the second request's for a
/// `307`/`308`, a `301`, and a `302`/`303` answer.
const FIRST_HOP: &str = "# quayside: the first redirect followed by the script";
const NEXT: &str = "# quayside: next";

impl Request<'_> {
    /// Whether the first redirect is followed by the script, not by curl: headers that must
    /// not be sent again after a redirect are sent with the first request only.
    fn first_hop(&self) -> bool {
        self.follow && !self.auth.unredirected_headers.is_empty()
    }

    /// What curl reads on its standard input in [`CURL`].
    pub fn config(&self) -> String {
        let first = self.render(
            Some(self.url),
            self.method,
            &self.headers,
            self.body.as_ref(),
            self.follow && !self.first_hop(),
            true,
        );
        let data = match &self.body {
            Some(Body::Bytes(bytes)) => format!("{}\n", STANDARD.encode(bytes)),
            _ => String::new(),
        };
        if !self.first_hop() {
            return format!("{data}{ONE_CURL}\n{first}");
        }
        let mut text = format!("{data}{FIRST_HOP}\n{first}");
        let kept = |name: &str| {
            !self
                .auth
                .unredirected_headers
                .contains(&name.to_ascii_lowercase())
        };
        // As urllib's redirect handler in ansible-core: a 307 or 308 keeps the method, the
        // body and the headers; a 301, 302 or 303 drops the body and the headers about it,
        // a 301 turns a POST into a GET, a 302 or 303 anything but HEAD.
        let all: Vec<(String, String)> = self
            .headers
            .iter()
            .filter(|(name, _)| kept(name))
            .cloned()
            .collect();
        let bodiless: Vec<(String, String)> = all
            .iter()
            .filter(|(name, _)| {
                !["content-length", "content-type", "transfer-encoding"]
                    .contains(&name.to_ascii_lowercase().as_str())
            })
            .cloned()
            .collect();
        // A forced `Authorization` is one of the headers; credentials sent on a challenge
        // are not a header and are sent again on one.
        let user = !self.auth.force_basic_auth || kept("authorization");
        let after_301 = if self.method == "POST" {
            "GET"
        } else {
            self.method
        };
        let after_302 = if self.method == "HEAD" { "HEAD" } else { "GET" };
        for (method, headers, body) in [
            (self.method, &all, self.body.as_ref()),
            (after_301, &bodiless, None),
            (after_302, &bodiless, None),
        ] {
            text.push_str(NEXT);
            text.push('\n');
            text.push_str(&self.render(None, method, headers, body, true, user));
        }
        text
    }

    /// One request's curl config (without `url` for a redirect's, whose URL the script
    /// gives); `follow` lets curl follow the redirects, `user` sends the credentials.
    fn render(
        &self,
        url: Option<&str>,
        method: &str,
        headers: &[(String, String)],
        body: Option<&Body>,
        follow: bool,
        user: bool,
    ) -> String {
        let schemes = if url.is_some() {
            self.schemes
        } else {
            "http,https"
        };
        let mut lines = Vec::new();
        if let Some(url) = url {
            lines.push(format!("url = {}", config_value(url)));
        }
        lines.extend([
            // `[` and `{` in a URL are the URL's, not curl's ranges.
            "globoff".to_owned(),
            "silent".to_owned(),
            "show-error".to_owned(),
            "http1.1".to_owned(),
            format!("proto = {}", config_value(&format!("={schemes}"))),
            format!("proto-redir = {}", config_value("=http,https")),
            format!("max-time = {}", self.timeout),
            format!("user-agent = {}", config_value(&self.auth.http_agent)),
        ]);
        if let Some(socket) = &self.auth.unix_socket {
            lines.push(format!("unix-socket = {}", config_value(socket)));
        }
        if !self.auth.ciphers.is_empty() {
            lines.push(format!(
                "ciphers = {}",
                config_value(&self.auth.ciphers.join(":"))
            ));
        }
        let named = |wanted: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(wanted));
        // As urllib: `force`'s header, unless the task's headers name it.
        if self.auth.no_cache && !named("cache-control") {
            lines.push(format!(
                "header = {}",
                config_value("Cache-control: no-cache")
            ));
        }
        match method {
            "HEAD" => lines.push("head".to_owned()),
            "GET" if body.is_none() => {}
            method => lines.push(format!("request = {}", config_value(method))),
        }
        if follow {
            lines.push("location".to_owned());
            // Ten in all, as urllib's limit: one was followed by the script.
            let limit = if url.is_some() { 10 } else { 9 };
            lines.push(format!("max-redirs = {limit}"));
        }
        for (name, value) in headers {
            lines.push(format!(
                "header = {}",
                config_value(&format!("{name}: {value}"))
            ));
        }
        match body {
            Some(Body::Text(text)) => lines.push(format!("data-raw = {}", config_value(text))),
            // The file [`CURL`] wrote the bytes to, open on descriptor 7.
            Some(Body::Bytes(_)) => {
                lines.push(format!("data-binary = {}", config_value("@/dev/fd/7")))
            }
            Some(Body::HostFile(path)) => lines.push(format!(
                "data-binary = {}",
                config_value(&format!("@{path}"))
            )),
            None => {}
        }
        if self.auth.use_gssapi {
            // As ansible-core's GSSAPI handler: SPNEGO on a `Negotiate` challenge, with the
            // credentials cache (or the user given); no basic credentials, no netrc.
            if user {
                let username = self.auth.url_username.as_deref().unwrap_or_default();
                lines.push(format!("user = {}", config_value(&format!("{username}:"))));
                lines.push("negotiate".to_owned());
            }
        } else if let Some(username) = self.auth.url_username.as_ref().filter(|_| user) {
            let password = self.auth.url_password.as_deref().unwrap_or_default();
            lines.push(format!(
                "user = {}",
                config_value(&format!("{username}:{password}"))
            ));
            // Without `force_basic_auth` the credentials go only in answer to a challenge,
            // as Python's urllib sends them.
            lines.push(
                if self.auth.force_basic_auth {
                    "basic"
                } else {
                    "anyauth"
                }
                .to_owned(),
            );
        }
        if !self.auth.validate_certs {
            lines.push("insecure".to_owned());
        }
        if !self.auth.use_proxy {
            // As urllib's `ProxyHandler({})`: no proxy for any host.
            lines.push(format!("noproxy = {}", config_value("*")));
        }
        if let Some(ca) = &self.auth.ca_path {
            lines.push(format!("cacert = {}", config_value(ca)));
        }
        // As Python's `load_cert_chain(client_cert, client_key)`: the key is read from the
        // certificate's file when `client_key` is not given.
        // A `client_key` without `client_cert` is not read, as in ansible-core.
        if let Some(cert) = &self.auth.client_cert {
            lines.push(format!("cert = {}", config_value(cert)));
            if let Some(key) = &self.auth.client_key {
                lines.push(format!("key = {}", config_value(key)));
            }
        }
        let mut text = lines.join("\n");
        text.push('\n');
        text
    }
}

/// The shell that runs the request on the host: curl's config on standard input, the body
/// into `$qtmp/b`, the headers into `$qtmp/h`; then the report (`R rc`, `W code
/// redirects seconds url`, `H headers`, `X curl's error`, each base64) and `$code` set for what
/// follows.
pub(super) const CURL: &str = r#"command -v curl >/dev/null 2>&1 || { echo 'E no `curl` on the host: the request is made with curl there (or from the controller with `delegate_to: localhost`)'; exit 0; }
[ "$qgss" = 0 ] || curl -V 2>/dev/null | grep -q '^Features:.*SPNEGO' || { echo 'E use_gssapi: the host'"'"'s curl has no SPNEGO (GSS-API) support'; exit 0; }
qtmp=$(mktemp -d ${qtmpdir:+-p "$qtmpdir"}) || exit 1
trap 'rm -rf -- "$qtmp"' EXIT
# A body of any bytes comes first, base64 on one line: curl reads it from descriptor 7.
exec 7</dev/null
if [ "$qbody" = 1 ]; then
  IFS= read -r qline
  printf '%s' "$qline" | base64 -d > "$qtmp/data" || exit 1
  qline=
  exec 7< "$qtmp/data"
fi
# As ansible-core with `use_netrc` and no credentials given: the host's netrc (`$NETRC`, or
# `~/.netrc`), read by curl.
set --
qdropauth=0
if [ "$qnetrc" = 1 ]; then
  qrc=${NETRC-$HOME/.netrc}
  if [ -n "$qrc" ] && [ -f "$qrc" ] && [ -r "$qrc" ]; then
    set -- --netrc-file "$qrc"
    # Credentials the netrc has for the host replace an `Authorization` header the task
    # gives, as in ansible-core.
    if tr -s ' \t\r\n' '\n\n\n\n' < "$qrc" | awk -v h="$qhost" 'p == "machine" && tolower($0) == h { f = 1 } $0 == "default" { f = 1 } { p = $0 } END { exit !f }'; then qdropauth=1; fi
  fi
fi
# The config without the task's `Authorization` header when the netrc's replaces it.
qfilter() { if [ "$qdropauth" = 1 ]; then grep -vi '^header = "authorization:'; else cat; fi; }
# The time of the file the answer replaces (`If-Modified-Since`), or a fresh copy asked for.
if [ -n "${qims:-}" ]; then set -- "$@" -H "If-Modified-Since: $qims"; fi
if [ "${qnocache:-0}" = 1 ]; then set -- "$@" -H "Cache-control: no-cache"; fi
# one_config: the standard input's lines up to the next `# quayside: next` (read one at a
# time: what follows stays for the next request).
one_config() {
  while IFS= read -r qline; do
    [ "$qline" = '# quayside: next' ] && break
    printf '%s\n' "$qline"
  done
}
IFS= read -r qmode
if [ "$qmode" = '# quayside: the first redirect followed by the script' ]; then
  one_config | qfilter | curl "$@" --config - -o "$qtmp/b" -D "$qtmp/h" -w '%{http_code} %{num_redirects} %{time_total} %{url_effective}\n%{redirect_url}\n' > "$qtmp/w1" 2> "$qtmp/e"
  rc=$?
  qafter307=$(one_config); qafter301=$(one_config); qafter302=$(one_config)
  read -r qcode qn qtime qurl < "$qtmp/w1"
  qnext=$(sed -n 2p "$qtmp/w1")
  case $qcode in
    307|308) qcfg=$qafter307 ;;
    301) qcfg=$qafter301 ;;
    302|303) qcfg=$qafter302 ;;
    *) qcfg= ;;
  esac
  if [ $rc = 0 ] && [ -n "$qcfg" ] && [ -n "$qnext" ]; then
    mv -f -- "$qtmp/h" "$qtmp/h1"
    # The URL redirected to without credentials (curl's keeps `url_username`'s), in the
    # config: never on a command line.
    qnext=$(printf '%s' "$qnext" | sed 's|^\([A-Za-z][A-Za-z0-9+.-]*://\)[^/?#@]*@|\1|; s/[\\"]/\\&/g')
    printf 'url = "%s"\n%s\n' "$qnext" "$qcfg" | qfilter | curl "$@" --config - -o "$qtmp/b" -D "$qtmp/h" -w '%{http_code} %{num_redirects} %{time_total} %{url_effective}' > "$qtmp/w2" 2>> "$qtmp/e"
    rc=$?
    read -r qcode2 qn2 qtime2 qurl2 < "$qtmp/w2"
    : >> "$qtmp/h"
    cat -- "$qtmp/h1" "$qtmp/h" > "$qtmp/h2" && mv -f -- "$qtmp/h2" "$qtmp/h"
    printf '%s %s %s %s' "$qcode2" $(( ${qn2:-0} + 1 )) "$(awk -v a="$qtime" -v b="${qtime2:-0}" 'BEGIN { print a + b }')" "$qurl2" > "$qtmp/w"
  else
    head -n 1 "$qtmp/w1" | tr -d '\n' > "$qtmp/w"
  fi
else
  qfilter | curl "$@" --config - -o "$qtmp/b" -D "$qtmp/h" -w '%{http_code} %{num_redirects} %{time_total} %{url_effective}' > "$qtmp/w" 2> "$qtmp/e"
  rc=$?
fi
: >> "$qtmp/b"; : >> "$qtmp/h"
printf 'R %s\n' $rc
printf 'W '; base64 -w0 < "$qtmp/w"; echo
printf 'H '; base64 -w0 < "$qtmp/h"; echo
printf 'X '; base64 -w0 < "$qtmp/e"; echo
code=$(cut -d' ' -f1 < "$qtmp/w")
if [ "$qdecompress" = 1 ] && sed -n '/^HTTP\//{h;d;}; H; ${x;p;}' "$qtmp/h" | tr -d '\r' | grep -qi '^content-encoding:[[:space:]]*gzip[[:space:]]*$'; then
  gzip -dc < "$qtmp/b" > "$qtmp/z" && mv -f -- "$qtmp/z" "$qtmp/b"
fi
"#;

/// The settings [`CURL`] reads, set before it: `qdecompress`, `qnetrc` (the host's netrc
/// is read), `qgss` (SPNEGO), `qbody` (a body of bytes comes first on the standard input).
pub(super) fn curl_settings(auth: &Auth, url: &str, body: Option<&Body>) -> String {
    // ansible-core reads the netrc only when no user is given (nor in the URL) and GSSAPI
    // is not asked for.
    let user = auth.url_username.as_deref().is_some_and(|u| !u.is_empty())
        || url_credentials(url).is_some_and(|(user, _)| !user.is_empty());
    let netrc = auth.use_netrc && !auth.use_gssapi && !user;
    // The host name the netrc is searched for: Python's `urlparse(url).hostname`.
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let netloc = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let hostport = netloc.rsplit_once('@').map_or(netloc, |(_, host)| host);
    let host = match hostport.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => hostport.split(':').next().unwrap_or_default(),
    };
    format!(
        "qdecompress={} qnetrc={} qgss={} qbody={} qhost={}\n",
        u8::from(auth.decompress),
        u8::from(netrc),
        u8::from(auth.use_gssapi),
        u8::from(matches!(body, Some(Body::Bytes(_)))),
        quote(&host.to_ascii_lowercase()),
    )
}

/// What the host's curl got.
#[derive(Debug, Default)]
pub(super) struct Response {
    /// `None` when no answer came (curl's error in `error`).
    pub status: Option<i64>,
    pub reason: String,
    pub redirects: u64,
    pub effective_url: String,
    /// The last answer's headers, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    pub error: String,
    pub elapsed: u64,
    pub body: Option<Vec<u8>>,
    /// An error other than the transport's, as ansible-core's `An unknown error occurred`.
    pub unknown: Option<String>,
}

/// Read the report [`CURL`] printed (and a `B` line with the body, if the script sent it).
pub(super) fn read_response(stdout: &str) -> Result<Response, String> {
    let mut response = Response::default();
    let decode = |b64: &str| {
        STANDARD
            .decode(b64.trim())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .map_err(|_| "the host sent a report that is not base64".to_owned())
    };
    let mut rc = None;
    for line in stdout.lines() {
        if let Some(reason) = line.strip_prefix("E ") {
            return Err(reason.to_owned());
        } else if let Some(rest) = line.strip_prefix("R ") {
            rc = rest.trim().parse::<i32>().ok();
        } else if let Some(rest) = line.strip_prefix("W ") {
            let text = decode(rest)?;
            let mut words = text.splitn(4, ' ');
            response.status = words
                .next()
                .and_then(|w| w.parse::<i64>().ok())
                .filter(|code| *code > 0);
            response.redirects = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
            // Whole seconds, as Ansible's `timedelta.seconds`.
            response.elapsed = words
                .next()
                .and_then(|w| w.parse::<f64>().ok())
                .map_or(0, |s| s.max(0.0).floor() as u64);
            response.effective_url = words.next().unwrap_or_default().to_owned();
        } else if let Some(rest) = line.strip_prefix("H ") {
            let (reason, headers) = last_headers(&decode(rest)?);
            response.reason = reason;
            response.headers = headers;
        } else if let Some(rest) = line.strip_prefix("X ") {
            let text = decode(rest)?;
            response.error = urllib_error(
                text.lines()
                    .next()
                    .unwrap_or_default()
                    .trim_start_matches("curl: "),
            );
        } else if let Some(rest) = line.strip_prefix("B ") {
            response.body = Some(
                STANDARD
                    .decode(rest.trim())
                    .map_err(|_| "the host sent a body that is not base64".to_owned())?,
            );
        }
    }
    if rc.is_none() {
        return Err("the host's request did not report".to_owned());
    }
    if rc != Some(0) && response.error.is_empty() {
        response.error = format!("curl exited with {}", rc.unwrap_or(-1));
    }
    if rc != Some(0) && response.status.is_some() && response.headers.is_empty() {
        response.status = None;
    }
    Ok(response)
}

/// curl's error as urllib words it where playbooks test the words: a certificate that
/// fails verification (curl's exit 60) is Python's `[SSL: CERTIFICATE_VERIFY_FAILED]
/// certificate verify failed: ...` (`Hostname mismatch, certificate is not valid for
/// 'HOST'.`, `self-signed certificate`, `unable to get local issuer certificate`...), as
/// ansible-core's `urlopen error` shows it. Others are curl's own.
fn urllib_error(error: &str) -> String {
    let Some(reason) = error.strip_prefix("(60) ") else {
        return error.to_owned();
    };
    let reason = if let Some(host) = reason
        .strip_prefix("SSL: no alternative certificate subject name matches target host name ")
        .or_else(|| {
            reason
                .strip_prefix("SSL: certificate subject name ")
                .and_then(|rest| rest.split(" does not match target host name ").nth(1))
        }) {
        format!("Hostname mismatch, certificate is not valid for {host}.")
    } else if let Some(problem) = reason.strip_prefix("SSL certificate problem: ") {
        problem.to_owned()
    } else {
        return error.to_owned();
    };
    format!("urlopen error [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {reason}")
}

/// The reason phrase and headers of the last answer in a `curl -D` dump (one block per
/// answer: interim `100 Continue`, redirects).
fn last_headers(dump: &str) -> (String, Vec<(String, String)>) {
    let mut reason = String::new();
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in dump.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with("HTTP/") {
            reason = line.splitn(3, ' ').nth(2).unwrap_or_default().to_owned();
            headers.clear();
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    (reason, headers)
}

impl Response {
    /// A header's value; several of one name joined with `, `, as ansible-core joins them.
    pub fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }

    /// With `use_gssapi`, a `401` still asking for `Negotiate` is the challenge the host
    /// could not answer (no Kerberos ticket): ansible-core's GSSAPI handler fails there
    /// with the library's error, which its `fetch_url` reports as an unknown error with
    /// status -1, without the answer's headers.
    pub fn gssapi_unanswered(mut self, auth: &Auth) -> Response {
        let challenged = self.status == Some(401)
            && self.header("www-authenticate").is_some_and(|value| {
                let value = value.to_ascii_lowercase();
                value.contains("negotiate") || value.contains("kerberos")
            });
        if auth.use_gssapi && challenged {
            self.status = None;
            self.headers.clear();
            self.body = None;
            self.unknown = Some(
                "the server asks for SPNEGO (Negotiate) and the host has no Kerberos credentials to answer it"
                    .to_owned(),
            );
        }
        self
    }

    /// Python's urllib takes 2xx for success; anything else is an `HTTPError`.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// Ansible's `msg` for the answer: `OK (N bytes)` (Content-Length, or `unknown`),
    /// `HTTP Error 404: Not Found`, or `Request failed: <...>` when none came.
    pub fn msg(&self) -> String {
        match self.status {
            Some(_) if self.success() => format!(
                "OK ({} bytes)",
                self.header("content-length")
                    .unwrap_or_else(|| "unknown".to_owned())
            ),
            Some(status) => format!("HTTP Error {status}: {}", self.reason),
            None if self.unknown.is_some() => format!(
                "An unknown error occurred: {}",
                self.unknown.as_deref().unwrap_or_default()
            ),
            None => format!("Request failed: <{}>", self.error),
        }
    }

    /// The URL answered: after redirects, curl's; otherwise the one asked for as written.
    ///
    /// As urllib's `geturl()` in ansible-core: the URL redirected to carries no credentials
    /// (curl's keeps those of `url_username`), and an error answer after a redirect reports
    /// the URL asked for (urllib raises it as an error of the first request).
    pub fn url(&self, asked: &str) -> String {
        let answered = self.status.is_some_and(|code| (200..300).contains(&code));
        if self.redirects > 0 && !self.effective_url.is_empty() && answered {
            match self.effective_url.split_once("://") {
                Some((scheme, rest)) => {
                    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
                    let (netloc, path) = rest.split_at(end);
                    let host = netloc.rsplit_once('@').map_or(netloc, |(_, host)| host);
                    format!("{scheme}://{host}{path}")
                }
                None => self.effective_url.clone(),
            }
        } else {
            asked.to_owned()
        }
    }
}

/// `application/json`, `text/javascript`, `application/problem+json`: Ansible's JSON
/// candidates.
fn maybe_json(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return false;
    };
    let mime = content_type.split(';').next().unwrap_or_default().trim();
    let sub = mime.split_once('/').map(|(_, s)| s).unwrap_or_default();
    let sub = sub.rsplit_once('+').map_or(sub, |(_, suffix)| suffix);
    matches!(sub.to_ascii_lowercase().as_str(), "json" | "javascript")
}

/// Python's `urljoin` for the common forms of a `Location`.
fn join_url(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_owned();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if let Some(rest) = location.strip_prefix("//") {
        return format!("{scheme}://{rest}");
    }
    if location.starts_with('/') {
        return format!("{scheme}://{host}{location}");
    }
    let path = &rest[host.len()..];
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
    format!("{scheme}://{host}{dir}/{location}")
}

/// `application/x-www-form-urlencoded` as Python's `urlencode(..., doseq=True)` writes it.
fn form_urlencoded(body: &Json) -> Result<String, String> {
    const SET: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'_')
        .remove(b'.')
        .remove(b'-')
        .remove(b'~')
        .remove(b' ');
    let encode = |text: &str| utf8_percent_encode(text, SET).to_string().replace(' ', "+");
    let scalar = |value: &Json| match value {
        Json::String(s) => Ok(s.clone()),
        Json::Number(n) => Ok(n.to_string()),
        Json::Bool(b) => Ok(if *b { "True" } else { "False" }.to_owned()),
        Json::Null => Ok("None".to_owned()),
        _ => Err("failed to parse body as form_urlencoded: a value is a mapping".to_owned()),
    };
    let mut pairs = Vec::new();
    let Json::Object(map) = body else {
        return Err(
            "failed to parse body as form_urlencoded: the body must be a mapping or a string"
                .to_owned(),
        );
    };
    for (key, value) in map {
        match value {
            Json::Array(items) => {
                for item in items {
                    pairs.push(format!("{}={}", encode(key), encode(&scalar(item)?)));
                }
            }
            other => pairs.push(format!("{}={}", encode(key), encode(&scalar(other)?))),
        }
    }
    Ok(pairs.join("&"))
}

/// Python's name of a value's type, as ansible-core's messages give it.
fn python_type(value: &Json) -> &'static str {
    match value {
        Json::String(_) => "str",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::Bool(_) => "bool",
        Json::Null => "NoneType",
        Json::Array(_) => "list",
        Json::Object(_) => "dict",
    }
}

/// A multipart field's `filename` or `content` as given (a value that is not empty).
fn given<'a>(field: &'a Map<String, Json>, key: &str) -> Option<&'a Json> {
    field.get(key).filter(|value| match value {
        Json::String(text) => !text.is_empty(),
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Array(items) => !items.is_empty(),
        Json::Object(map) => !map.is_empty(),
        Json::Number(n) => n.as_f64() != Some(0.0),
    })
}

/// The checks ansible-core makes of a `form-multipart` body, with its messages (those a
/// template's value decides are made when it runs).
fn check_multipart(body: &Json) -> Result<(), String> {
    let parse = "failed to parse body as form-multipart";
    let fields = match body {
        Json::Object(fields) => fields,
        Json::String(text) if crate::yaml::is_template(text) => return Ok(()),
        other => {
            return Err(format!(
                "body must be mapping, cannot be type {}",
                python_type(other)
            ));
        }
    };
    for value in fields.values() {
        match value {
            Json::String(_) => {}
            Json::Object(field) => {
                if given(field, "filename").is_none() && given(field, "content").is_none() {
                    return Err(format!(
                        "{parse}: at least one of filename or content must be provided"
                    ));
                }
                if let Some(Json::String(encoding)) = given(field, "multipart_encoding") {
                    if !["base64", "7or8bit"].contains(&encoding.as_str())
                        && !crate::yaml::is_template(encoding)
                    {
                        return Err(format!(
                            "{parse}: multipart_encoding must be one of dict_keys(['base64', '7or8bit'])."
                        ));
                    }
                }
            }
            other => {
                return Err(format!(
                    "{parse}: value must be a string, or mapping, cannot be type {}",
                    python_type(other)
                ));
            }
        }
    }
    Ok(())
}

/// The files a multipart body reads (fields with a `filename` and no `content`), in the
/// order of its sorted fields.
fn multipart_files(body: &Json) -> Vec<String> {
    let Json::Object(fields) = body else {
        return Vec::new();
    };
    let mut sorted: Vec<(&String, &Json)> = fields.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    sorted
        .into_iter()
        .filter_map(|(_, value)| {
            let field = value.as_object()?;
            if given(field, "content").is_some() {
                return None;
            }
            given(field, "filename").map(crate::template::python::str)
        })
        .collect()
}

/// The type Python's `mimetypes.guess_type` gives a file name (its common extensions),
/// `application/octet-stream` for any other.
fn guess_mime(name: &str) -> &'static str {
    let base = name.rsplit('/').next().unwrap_or(name).to_ascii_lowercase();
    let ext = match base.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext,
        _ => return "application/octet-stream",
    };
    match ext {
        "txt" | "text" => "text/plain",
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "csv" => "text/csv",
        "js" | "mjs" => "text/javascript",
        "md" | "markdown" => "text/markdown",
        "py" => "text/x-python",
        "sh" => "text/x-sh",
        "json" => "application/json",
        "xml" => "application/xml",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "tar" | "tgz" => "application/x-tar",
        "pem" => "application/pem-certificate-chain",
        "crt" => "application/x-x509-ca-cert",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// Lines ended with CRLF, as Python's email generator writes them under its HTTP policy.
fn crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 32);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                out.extend_from_slice(b"\r\n");
                i += 1;
            }
            b'\r' | b'\n' => out.extend_from_slice(b"\r\n"),
            byte => out.push(byte),
        }
        i += 1;
    }
    out
}

/// A parameter of `Content-Disposition`, quoted as Python's email package quotes it.
fn param(name: &str, value: &str) -> String {
    format!(
        "; {name}=\"{}\"",
        value.replace('\\', "\\\\").replace('"', "\\\"")
    )
}

/// A `multipart/form-data` body as ansible-core's `prepare_multipart` makes it: its
/// `Content-Type` and its bytes. The fields in sorted order; a string is a `text/plain`
/// part, a mapping a part of `content` or of the file `filename` (read with `read`),
/// base64-encoded unless `multipart_encoding` is `7or8bit`; `mime_type` or the type the
/// file name says.
fn multipart(
    body: &Json,
    boundary: &str,
    read: &mut dyn FnMut(&str) -> Result<Vec<u8>, String>,
) -> Result<(String, Vec<u8>), String> {
    check_multipart(body)?;
    let Json::Object(fields) = body else {
        return Err(format!(
            "body must be mapping, cannot be type {}",
            python_type(body)
        ));
    };
    let mut sorted: Vec<(&String, &Json)> = fields.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut out: Vec<u8> = Vec::new();
    for (name, value) in sorted {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let (mime, content, filename, encoding) = match value {
            Json::String(text) => ("text/plain".to_owned(), Some(text.clone()), None, None),
            Json::Object(field) => {
                let filename = given(field, "filename").map(crate::template::python::str);
                let content = given(field, "content").map(crate::template::python::str);
                let mime = match given(field, "mime_type") {
                    Some(mime) => crate::template::python::str(mime),
                    None => guess_mime(filename.as_deref().unwrap_or_default()).to_owned(),
                };
                let encoding = given(field, "multipart_encoding")
                    .map(crate::template::python::str)
                    .unwrap_or_else(|| "base64".to_owned());
                (mime, content, filename, Some(encoding))
            }
            other => {
                return Err(format!(
                    "failed to parse body as form-multipart: value must be a string, or mapping, cannot be type {}",
                    python_type(other)
                ));
            }
        };
        let (main, sub) = mime.split_once('/').unwrap_or((mime.as_str(), ""));
        let payload = match (&content, &filename) {
            (None, Some(file)) => {
                let bytes = read(file)?;
                let (cte, payload) = match encoding.as_deref() {
                    Some("7or8bit") => {
                        let cte = if bytes.is_ascii() { "7bit" } else { "8bit" };
                        (cte, crlf(&bytes))
                    }
                    _ => {
                        // `base64.encodebytes`: lines of 76 characters, each ended.
                        let text = STANDARD.encode(&bytes);
                        let mut lines = Vec::new();
                        for chunk in text.as_bytes().chunks(76) {
                            lines.extend_from_slice(chunk);
                            lines.extend_from_slice(b"\r\n");
                        }
                        ("base64", lines)
                    }
                };
                out.extend_from_slice(format!("Content-Transfer-Encoding: {cte}\r\n").as_bytes());
                payload
            }
            (content, _) => crlf(content.as_deref().unwrap_or_default().as_bytes()),
        };
        let mut disposition = format!("form-data{}", param("name", name));
        if let Some(file) = &filename {
            let base = file.rsplit('/').next().unwrap_or(file);
            disposition.push_str(&param("filename", base));
        }
        out.extend_from_slice(
            format!("Content-Type: {main}/{sub}\r\nContent-Disposition: {disposition}\r\n\r\n")
                .as_bytes(),
        );
        out.extend_from_slice(&payload);
        out.extend_from_slice(b"\r\n");
    }
    if fields.is_empty() {
        // Python's generator writes an empty multipart as one empty part's delimiters.
        out.extend_from_slice(format!("--{boundary}\r\n\r\n").as_bytes());
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Ok((format!("multipart/form-data; boundary=\"{boundary}\""), out))
}

/// A file on the controller a task names (`src`, a multipart field's `filename`), found
/// as ansible-core's action finds it (`files/` first) and decrypted if vaulted.
fn controller_file(ctx: &TaskContext<'_>, name: &str) -> Result<Vec<u8>, String> {
    let role = super::controller_files::role_dir(ctx.vars);
    let base = super::copy_files::playbook_dir(ctx.vars);
    let path = super::controller_files::find_with_role(
        role.as_deref(),
        &base,
        name,
        super::controller_files::Look::File,
    )
    .ok_or_else(|| {
        // ansible-core's action plugin's words (its search path left out).
        format!(
            "Task failed: Could not find or access '{name}' on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option"
        )
    })?;
    let secret = super::args::secret_by_name(name);
    let (bytes, vaulted) = super::copy_files::read(&path, secret)?;
    if vaulted {
        crate::secrets::register(
            &String::from_utf8_lossy(&bytes),
            crate::secrets::Reach::Everywhere,
        );
    }
    Ok(bytes)
}

/// Files on the host (a multipart body's with `remote_src`), read in one round trip.
async fn host_files(ctx: &TaskContext<'_>, names: &[String]) -> Result<Vec<Vec<u8>>, String> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut script = String::from("set -u\n");
    for name in names {
        let path = super::fetch::host_path(name);
        script.push_str(&format!(
            "if [ -f {path} ] && [ -r {path} ]; then printf 'F '; base64 -w0 < {path}; echo; else echo N; fi\n"
        ));
    }
    let output = ctx
        .run(ctx.script(script))
        .await
        .map_err(|error| error.to_string())?;
    let stdout = output.stdout_lossy();
    let mut files = Vec::new();
    for (name, line) in names.iter().zip(stdout.lines()) {
        match line.strip_prefix("F ") {
            Some(b64) => files.push(
                STANDARD
                    .decode(b64.trim())
                    .map_err(|_| "the host sent a file that is not base64".to_owned())?,
            ),
            None => {
                // Python's `open` fails in the module: ansible-core shows its error.
                return Err(format!(
                    "Task failed: Module failed: [Errno 2] No such file or directory: b'{name}'"
                ));
            }
        }
    }
    if files.len() != names.len() {
        return Err(format!(
            "cannot read the files on the host: {}",
            output.stderr_lossy().lines().next().unwrap_or_default()
        ));
    }
    Ok(files)
}

/// The shell functions and settings for owner, group and mode of a file the request wrote
/// (`file`'s), with `fail` for their errors.
pub(super) fn attrs_prelude(
    mode: Option<&FileMode>,
    owner: Option<&Account>,
    group: Option<&Account>,
    check: bool,
) -> Result<String, String> {
    let mode = mode.map(FileMode::spec).transpose()?;
    let name = |account: Option<&Account>| -> Result<String, String> {
        Ok(match account {
            Some(account) => quote(account.name()?),
            None => "-".to_owned(),
        })
    };
    let mut text = format!(
        "fail() {{ printf 'E %s\\n' \"$1\"; exit 0; }}\ncheck={} nofollow=0 ch=0 wown={} wgrp={} hasmode={}\n",
        u8::from(check),
        name(owner)?,
        name(group)?,
        u8::from(mode.is_some()),
    );
    text.push_str(&wantmode_function(mode.as_ref()));
    text.push_str(ATTRS);
    Ok(text)
}

/// Register the password as the run's secret, so that no output shows it (an echo of it
/// by the server included), and the password a URL holds (`https://user:PASSWORD@host/`),
/// as written and percent-decoded.
pub(super) fn mask_password(auth: &Auth, url: &str) {
    if let Some(password) = &auth.url_password {
        crate::secrets::register(password, crate::secrets::Reach::Everywhere);
    }
    if let Some((_, Some(password))) = url_credentials(url) {
        crate::secrets::register(password, crate::secrets::Reach::Everywhere);
        let decoded = percent_encoding::percent_decode_str(password).decode_utf8_lossy();
        crate::secrets::register(&decoded, crate::secrets::Reach::Everywhere);
    }
}

/// The user and password a URL holds, as Python's `urlparse` reads them: the part of the
/// network location before its last `@`, split at its first `:`.
fn url_credentials(url: &str) -> Option<(&str, Option<&str>)> {
    let (_, rest) = url.split_once("://")?;
    let netloc = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let (userinfo, _) = netloc.rsplit_once('@')?;
    Some(match userinfo.split_once(':') {
        Some((user, password)) => (user, Some(password)),
        None => (userinfo, None),
    })
}

/// A URL as ansible-core's `mask_url` shows it: its user and password as `****:****`
/// (`https://****:****@host/path`), a user alone as `****`.
pub(super) fn mask_url(url: &str) -> String {
    let Some((user, password)) = url_credentials(url) else {
        return url.to_owned();
    };
    let (scheme, rest) = url.split_once("://").unwrap_or_default();
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (netloc, tail) = rest.split_at(end);
    let netloc = match password {
        Some(password) if !password.is_empty() => {
            netloc.replacen(&format!("{user}:{password}@"), "****:****@", 1)
        }
        _ if user.is_empty() && password.is_none_or(str::is_empty) => netloc.to_owned(),
        _ => netloc.replacen(&format!("{user}@"), "****@", 1),
    };
    format!("{scheme}://{netloc}{tail}")
}

pub(super) fn failure(output: &Output, what: &str) -> Outcome {
    let stderr = output.stderr_lossy();
    Outcome::failed(format!(
        "{what}: {}",
        stderr
            .lines()
            .next()
            .unwrap_or("the script failed on the host")
    ))
}

impl Uri {
    /// The body, and the `Content-Type` of a multipart one. `src` and a multipart body's
    /// files are read where ansible-core reads them: on the controller (ansible-core's
    /// action sends them to the host first), on the host with `remote_src`.
    async fn body(&self, ctx: &TaskContext<'_>) -> Result<(Option<Body>, Option<String>), String> {
        let args = &self.0;
        if let Some(src) = &args.src {
            if args.remote_src {
                return Ok((Some(Body::HostFile(src.clone())), None));
            }
            return Ok((Some(Body::Bytes(controller_file(ctx, src)?)), None));
        }
        if args.body_format == BodyFormat::Multipart {
            let body = args.body.clone().unwrap_or(Json::Null);
            check_multipart(&body)?;
            let names = multipart_files(&body);
            let files: Vec<Vec<u8>> = if args.remote_src {
                host_files(ctx, &names).await?
            } else {
                names
                    .iter()
                    .map(|name| controller_file(ctx, name))
                    .collect::<Result<_, _>>()?
            };
            let mut files = names.into_iter().zip(files);
            let mut boundary = [0u8; 8];
            openssl::rand::rand_bytes(&mut boundary).map_err(|e| e.to_string())?;
            // As Python's email package: fifteen `=`, a random 19-digit number, `==`.
            let number = u64::from_le_bytes(boundary) % 9_223_372_036_854_775_807;
            let boundary = format!("==============={number:019}==");
            let (content_type, bytes) = multipart(&body, &boundary, &mut |name| {
                files
                    .next()
                    .filter(|(wanted, _)| wanted == name)
                    .map(|(_, bytes)| bytes)
                    .ok_or_else(|| format!("`{name}` was not read"))
            })?;
            return Ok((Some(Body::Bytes(bytes)), Some(content_type)));
        }
        Ok((self.text_body()?.map(Body::Text), None))
    }

    fn text_body(&self) -> Result<Option<String>, String> {
        let args = &self.0;
        let Some(body) = &args.body else {
            return Ok(None);
        };
        Ok(Some(match (args.body_format, body) {
            (_, Json::String(text)) => text.clone(),
            (BodyFormat::Multipart, _) => {
                return Err("a multipart body is built from its fields".to_owned());
            }
            (BodyFormat::Json, value) => crate::template::python::json(value, None, false),
            (BodyFormat::Form, value) => form_urlencoded(value)?,
            (BodyFormat::Raw, Json::Number(n)) => n.to_string(),
            (BodyFormat::Raw, Json::Null) => return Ok(None),
            (BodyFormat::Raw, value) => crate::template::python::str(value),
        }))
    }

    fn headers(&self, multipart: Option<String>) -> Vec<(String, String)> {
        let args = &self.0;
        let mut headers: Vec<(String, String)> = args
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect();
        if let Some(content_type) = multipart {
            // As ansible-core: the multipart body's type, whatever the task's headers say.
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
            headers.push(("Content-Type".to_owned(), content_type));
            return headers;
        }
        let has_type = headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
        let content_type = match args.body_format {
            BodyFormat::Json => Some("application/json"),
            BodyFormat::Form => Some("application/x-www-form-urlencoded"),
            BodyFormat::Raw | BodyFormat::Multipart => None,
        };
        if let Some(content_type) = content_type.filter(|_| !has_type) {
            headers.push(("Content-Type".to_owned(), content_type.to_owned()));
        }
        headers
    }

    fn script(&self, ok_codes: &str, body: Option<&Body>) -> Result<String, String> {
        let args = &self.0;
        let mut text = String::from("set -u\n");
        if let Some(creates) = &args.creates {
            text.push_str(&format!(
                "if [ -e {} ]; then echo 'S c'; exit 0; fi\n",
                super::fetch::host_path(creates)
            ));
        }
        if let Some(removes) = &args.removes {
            text.push_str(&format!(
                "if [ ! -e {} ]; then echo 'S r'; exit 0; fi\n",
                super::fetch::host_path(removes)
            ));
        }
        if let Some(Body::HostFile(src)) = body {
            text.push_str(&format!(
                "[ -f {src} ] && [ -r {src} ] || {{ printf 'E %s\\n' {msg}; exit 0; }}\n",
                src = super::fetch::host_path(src),
                msg = quote(&format!("Unable to open source file {src}")),
            ));
        }
        if let Some(dest) = args.dest.as_ref().filter(|_| !args.force) {
            // As ansible-core: a `dest` that is a file is asked for only if modified since.
            text.push_str(&format!(
                "qims=; if [ -f {dest} ]; then qims=$(LC_ALL=C date -u -r {dest} '+%a, %d %b %Y %H:%M:%S GMT'); fi\n",
                dest = super::fetch::host_path(dest),
            ));
        }
        text.push_str(&curl_settings(&self.1, &args.url, body));
        text.push_str(CURL);
        text.push_str("printf 'B '; base64 -w0 < \"$qtmp/b\"; echo\n");
        if let Some(dest) = &args.dest {
            text.push_str(&attrs_prelude(
                args.mode.as_ref(),
                args.owner.as_ref(),
                args.group.as_ref(),
                false,
            )?);
            // Written only for an expected status other than 304, as Ansible writes it; a
            // directory gets the URL's last name (or `index.html`).
            text.push_str(&format!(
                r#"qdest={dest}
case " {ok_codes} " in *" $code "*) ok=1 ;; *) ok=0 ;; esac
if [ "$code" = 304 ] || [ "$code" = 000 ]; then ok=0; fi
if [ $ok = 1 ]; then
  if [ -d "$qdest" ]; then
    n=$(grep -i '^content-disposition:' "$qtmp/h" | tail -n 1 | tr -d '\r' | sed -n 's/.*filename="\{{0,1\}}\([^";]*\)"\{{0,1\}}.*/\1/p')
    n=${{n##*/}}
    [ -n "$n" ] || n=$(printf %s {name} | sed 's/[?#].*//; s|/*$||; s|.*/||')
    qdest="${{qdest%/}}/${{n:-index.html}}"
  fi
  cat -- "$qtmp/b" > "$qdest.quayside-new" && mv -f -- "$qdest.quayside-new" "$qdest" || fail "cannot write $qdest"
  attrs "$qdest"
  printf 'P %s\n' "$qdest"
  stat -L -c 'A %a %u %U %g %G %s' -- "$qdest"
fi
"#,
                dest = super::fetch::host_path(dest),
                name = quote(&args.url),
            ));
        }
        Ok(text)
    }
}

impl TaskType for Uri {
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Runs;

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let args = &self.0;
        if ctx.check {
            return Ok(Outcome::skipped(
                "This action (uri) does not support check mode.",
            ));
        }
        mask_password(&self.1, &args.url);
        let method = args.method.to_ascii_uppercase();
        let follow = match args.follow_redirects {
            FollowRedirects::All | FollowRedirects::Yes => true,
            FollowRedirects::No | FollowRedirects::None => false,
            FollowRedirects::Safe | FollowRedirects::Urllib2 => method == "GET" || method == "HEAD",
        };
        let (body, multipart) = match self.body(ctx).await {
            Ok(body) => body,
            // ansible-core gives `elapsed` with a form it cannot encode only.
            Err(reason) if reason.starts_with("failed to parse body as form_urlencoded") => {
                return Ok(Outcome::failed(reason).with("elapsed", 0));
            }
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        let codes: Vec<String> = args.status_code.0.iter().map(i64::to_string).collect();
        let script = match self.script(&codes.join(" "), body.as_ref()) {
            Ok(script) => script,
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        let request = Request {
            url: &args.url,
            method: &method,
            headers: self.headers(multipart),
            body,
            auth: &self.1,
            timeout: args.timeout,
            follow,
            schemes: "http,https",
        };
        let output = ctx.run(ctx.script(script).stdin(request.config())).await?;
        let stdout = output.stdout_lossy();
        let skipped = match stdout.lines().next() {
            Some("S c") => args
                .creates
                .as_ref()
                .map(|path| format!("skipped, since '{path}' exists")),
            Some("S r") => args
                .removes
                .as_ref()
                .map(|path| format!("skipped, since '{path}' does not exist")),
            _ => None,
        };
        if let Some(line) = skipped {
            return Ok(Outcome::ok()
                .with("stdout", line.clone())
                .with("stdout_lines", vec![line]));
        }
        if !output.success() {
            return Ok(failure(&output, "the request failed on the host"));
        }
        let response = match read_response(&stdout) {
            Ok(response) => response.gssapi_unanswered(&self.1),
            Err(reason) if reason.starts_with("Unable to open source file") => {
                return Ok(Outcome::failed(reason).with("elapsed", 0));
            }
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        Ok(self.outcome(&response, &stdout))
    }
}

impl Uri {
    fn outcome(&self, response: &Response, stdout: &str) -> Outcome {
        let args = &self.0;
        let status = response.status.unwrap_or(-1);
        let mut data = Map::new();
        // The URL shown, as ansible-core shows it: without its credentials.
        let asked = mask_url(&args.url);
        let url = mask_url(&response.url(&args.url));
        data.insert(
            "redirected".into(),
            (response.redirects > 0 && url != asked).into(),
        );
        for (name, _) in &response.headers {
            let key = name.replace('-', "_");
            if key == "set_cookie" || data.contains_key(&key) {
                continue;
            }
            let value = response.header(name).unwrap_or_default();
            let value = if key == "location" {
                join_url(&asked, &value)
            } else {
                value
            };
            data.insert(key, value.into());
        }
        data.insert("msg".into(), response.msg().into());
        data.insert("url".into(), url.into());
        data.insert("status".into(), status.into());
        data.insert("elapsed".into(), response.elapsed.into());
        if response.success() {
            let cookies: Vec<(String, String)> = response
                .headers
                .iter()
                .filter(|(n, _)| n == "set-cookie")
                .filter_map(|(_, v)| {
                    let pair = v.split(';').next()?;
                    let (name, value) = pair.split_once('=')?;
                    Some((name.trim().to_owned(), value.trim().to_owned()))
                })
                .collect();
            data.insert(
                "cookies_string".into(),
                cookies
                    .iter()
                    .map(|(n, v)| format!("{n}={v}"))
                    .collect::<Vec<_>>()
                    .join("; ")
                    .into(),
            );
            data.insert(
                "cookies".into(),
                Json::Object(
                    cookies
                        .into_iter()
                        .map(|(n, v)| (n, Json::from(v)))
                        .collect(),
                ),
            );
        }
        let expected = args.status_code.0.contains(&status);
        let json = maybe_json(response.header("content-type").as_deref());
        let body = response.body.clone().unwrap_or_default();
        let content = String::from_utf8_lossy(&body).into_owned();
        if response.status.is_some() {
            if json {
                if let Ok(value) = serde_json::from_slice::<Json>(&body) {
                    data.insert("json".into(), value);
                }
            }
            let read = json || args.return_content || !expected;
            if !response.success() && !read {
                // urllib keeps an error's body under `body` when the module does not read it.
                data.insert("body".into(), content.clone().into());
            }
            if args.return_content {
                data.insert("content".into(), content.into());
            }
        }
        let mut changed = false;
        let mut path = None;
        for line in stdout.lines() {
            if let Some(written) = line.strip_prefix("P ") {
                changed = true;
                path = Some(written.to_owned());
            }
        }
        let mut outcome = if !expected {
            let msg = format!(
                "Status code was {status} and not {}: {}",
                args.status_code.shown(),
                response.msg()
            );
            data.insert("msg".into(), msg.clone().into());
            Outcome::failed(msg)
        } else if changed {
            Outcome::changed()
        } else {
            Outcome::ok()
        };
        if let Some(path) = path {
            data.insert("path".into(), path.clone().into());
            outcome.files = vec![path];
            if let Some(line) = stdout.lines().find_map(|l| l.strip_prefix("A ")) {
                outcome = attributes(outcome, line).with("state", "file");
            }
        }
        let msg = data
            .get("msg")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned();
        outcome.data.extend(data);
        outcome.with_msg(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_values_cannot_start_another_option() {
        assert_eq!(
            config_value("a\"b\\c\nurl = x"),
            "\"a\\\"b\\\\c\\nurl = x\""
        );
    }

    #[test]
    fn forms_are_encoded_as_python_encodes_them() {
        // ansible-core 2.19.14 sent this body for {user: quay, pw: "a b&c"}.
        let body = serde_json::json!({"user": "quay", "pw": "a b&c", "l": [1, "x/y"]});
        assert_eq!(
            form_urlencoded(&body).unwrap(),
            "user=quay&pw=a+b%26c&l=1&l=x%2Fy"
        );
    }

    #[test]
    fn the_last_answer_s_headers_are_read() {
        let dump = "HTTP/1.1 302 Found\r\nLocation: /json\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nX-A: 1\r\nx-a: 2\r\n\r\n";
        let (reason, headers) = last_headers(dump);
        assert_eq!(reason, "Not Found");
        let response = Response {
            headers,
            status: Some(404),
            reason,
            ..Response::default()
        };
        assert_eq!(response.header("x-a").as_deref(), Some("1, 2"));
        assert_eq!(response.msg(), "HTTP Error 404: Not Found");
    }

    #[test]
    fn status_codes_are_read_as_ansible_reads_a_list_of_integers() {
        let read = |text: &str| serde_json::from_str::<StatusCodes>(text).map(|c| c.0);
        assert_eq!(read("200").unwrap(), [200]);
        assert_eq!(read("[200, 201]").unwrap(), [200, 201]);
        assert_eq!(read("\"200, 201\"").unwrap(), [200, 201]);
        assert_eq!(read("[\"200\", 204]").unwrap(), [200, 204]);
        assert!(read("\"ok\"").is_err());
        assert!(read("{}").is_err());
        assert_eq!(StatusCodes(vec![200, 201]).shown(), "[200, 201]");
    }

    #[test]
    fn header_values_are_written_as_python_writes_them() {
        let read = |text: &str| serde_json::from_str::<Scalar>(text).map(|s| s.0);
        assert_eq!(read("\"abc\"").unwrap(), "abc");
        assert_eq!(read("3").unwrap(), "3");
        assert_eq!(read("true").unwrap(), "True");
        assert!(read("[1]").is_err());
    }

    #[test]
    fn json_is_recognized_as_ansible_recognizes_it() {
        assert!(maybe_json(Some("application/json; charset=utf-8")));
        assert!(maybe_json(Some("application/problem+json")));
        assert!(maybe_json(Some("text/javascript")));
        assert!(!maybe_json(Some("text/plain")));
        assert!(!maybe_json(None));
    }

    #[test]
    fn credentials_in_a_url_are_masked_as_ansible_masks_them() {
        assert_eq!(
            mask_url("https://foo%40example.com:test%40@httpbin.org/basic-auth/u/p"),
            "https://****:****@httpbin.org/basic-auth/u/p"
        );
        assert_eq!(
            mask_url("http://bob@h:8/x?a=b@c"),
            "http://****@h:8/x?a=b@c"
        );
        assert_eq!(mask_url("http://a:b@c@h/"), "http://****:****@h/");
        assert_eq!(mask_url("http://h/x?u=a:b@c"), "http://h/x?u=a:b@c");
        assert_eq!(mask_url("http://h:1/x"), "http://h:1/x");
        assert_eq!(url_credentials("http://a:b@c@h/"), Some(("a", Some("b@c"))));
    }

    #[test]
    fn certificate_errors_are_worded_as_urllib_words_them() {
        assert_eq!(
            urllib_error(
                "(60) SSL: no alternative certificate subject name matches target host name 'localhost'"
            ),
            "urlopen error [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Hostname mismatch, certificate is not valid for 'localhost'."
        );
        assert_eq!(
            urllib_error("(60) SSL certificate problem: self-signed certificate"),
            "urlopen error [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"
        );
        assert_eq!(
            urllib_error("(7) Failed to connect to 127.0.0.1 port 1"),
            "(7) Failed to connect to 127.0.0.1 port 1"
        );
    }

    #[test]
    fn locations_are_joined() {
        assert_eq!(join_url("http://h:1/a/b?x", "/json"), "http://h:1/json");
        assert_eq!(join_url("http://h:1/a/b", "c"), "http://h:1/a/c");
        assert_eq!(join_url("http://h/a", "https://o/x"), "https://o/x");
    }
}
