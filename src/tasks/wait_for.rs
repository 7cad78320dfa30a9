//! `wait_for`: wait until a TCP port accepts connections or a URL answers with the expected
//! status, probing from the host itself (as Ansible's `wait_for` does), in one round trip.
//! Ansible's forms work too: `port` with `state: stopped` (until nothing accepts), `path`
//! with `state: present`/`started` (until the file is there, holding `search_regex` if
//! given) or `absent`/`stopped`, the sleep-only `wait_for: timeout=N`, and `msg`; the result
//! registers Ansible's `elapsed` (whole seconds), `state`, `path`, `port`, `search_regex`,
//! `match_groups` and `match_groupdict`. `state: drained` waits until no connection to the
//! port is left in `active_connection_states` (default: all but `LISTEN`/`CLOSE*`), read
//! from /proc/net/tcp and /proc/net/tcp6 on the host as Ansible's Linux module does, the
//! remote addresses in `exclude_hosts` left out. `search_regex` on a port is not built:
//! refused.
//!
//! The whole loop runs in one `sh` script on the host, with what is there:
//! - a port is probed with bash's `/dev/tcp` (bash is essential on Debian and RHEL; `sh` is
//!   dash there and has no `/dev/tcp`), else with `python3`;
//! - a URL is fetched with `curl`, else `python3`, else (plain `http://` only) a `GET`
//!   written through bash's `/dev/tcp`.
//!
//! Each try is bounded by `connect_timeout` through coreutils' `timeout`. When curl cannot
//! connect, the port is probed once more to name the reason ("connection refused"), since
//! curl only says it could not connect.
//!
//! With `delegate_to: localhost` the runner hands the task a local connection, so the same
//! script probes from the controller.

use serde::Deserialize;
use serde_json::Value as Json;

use super::args::OneOrMany;
use super::{Outcome, TaskContext, TaskType};
use crate::transport::TransportError;
use crate::transport::quote::quote;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitFor {
    /// The host to connect to, with `port` (default `127.0.0.1`, as the target sees it).
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    port: Option<u16>,
    /// A file to wait for (Ansible's `path`), or to wait to be gone.
    #[serde(default)]
    path: Option<String>,
    /// A regular expression the file at `path` must match (multi-line, as Ansible's).
    #[serde(default)]
    search_regex: Option<String>,
    /// `started`/`present` (the default) or `stopped`/`absent`.
    #[serde(default)]
    state: WaitState,
    /// The failure's message instead of the one that says what timed out.
    #[serde(default)]
    msg: Option<String>,
    /// An `http://` or `https://` URL that must answer `status`.
    #[serde(default)]
    url: Option<String>,
    /// The HTTP status to wait for (default 200).
    #[serde(default)]
    status: Option<u16>,
    /// Seconds to wait in all, `delay` included (default 300).
    #[serde(default = "default_timeout")]
    timeout: u64,
    /// Seconds to wait before the first try.
    #[serde(default)]
    delay: f64,
    /// Seconds between tries (default 1).
    #[serde(default = "default_sleep")]
    sleep: f64,
    /// Seconds one try may take (default 5).
    #[serde(default = "default_connect_timeout")]
    connect_timeout: u64,
    /// Check the server's TLS certificate (default true).
    #[serde(default = "super::args::yes")]
    validate_certs: bool,
    /// With `state: drained`: remote hosts whose connections do not count (a list, or
    /// names separated by commas).
    #[serde(default)]
    exclude_hosts: Option<OneOrMany>,
    /// With `state: drained`: the TCP states that count as a connection.
    #[serde(default)]
    active_connection_states: Option<OneOrMany>,
}

/// Ansible's `state`: what `port` or `path` must come to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WaitState {
    #[default]
    Started,
    Present,
    Stopped,
    Absent,
    Drained,
}

impl WaitState {
    fn name(self) -> &'static str {
        match self {
            WaitState::Started => "started",
            WaitState::Present => "present",
            WaitState::Stopped => "stopped",
            WaitState::Absent => "absent",
            WaitState::Drained => "drained",
        }
    }

    fn gone(self) -> bool {
        matches!(self, WaitState::Stopped | WaitState::Absent)
    }
}

fn default_timeout() -> u64 {
    300
}

fn default_sleep() -> f64 {
    1.0
}

fn default_connect_timeout() -> u64 {
    5
}

/// What to probe, checked.
enum Target {
    Port {
        host: String,
        port: u16,
    },
    /// Until nothing accepts connections on the port.
    PortStopped {
        host: String,
        port: u16,
    },
    /// Until no connection to the port is left (`host`'s addresses found on the host).
    PortDrained {
        host: String,
        port: u16,
    },
    Url {
        url: Url,
        status: u16,
    },
    File {
        path: String,
        regex: Option<regex::Regex>,
    },
    FileAbsent {
        path: String,
    },
    /// Neither a port, a path nor a URL: sleep `timeout` seconds.
    Sleep,
}

/// The parts of an `http(s)://` URL the probes need.
#[derive(Debug, PartialEq, Eq)]
struct Url {
    /// The URL as given, for curl and python.
    full: String,
    /// The URL without credentials, for messages.
    shown: String,
    https: bool,
    host: String,
    port: u16,
    /// `host[:port]`, for the `Host` header.
    authority: String,
    /// The path and query, for the request line.
    path: String,
}

impl Url {
    fn parse(text: &str) -> Result<Self, String> {
        let (https, rest) = if let Some(rest) = text.strip_prefix("http://") {
            (false, rest)
        } else if let Some(rest) = text.strip_prefix("https://") {
            (true, rest)
        } else {
            return Err(format!(
                "`url` must start with `http://` or `https://`, found `{text}`"
            ));
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(end);
        let path = path.split('#').next().unwrap_or("");
        let path = match path {
            "" => "/".to_owned(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_owned(),
        };
        let (userinfo, authority) = match authority.rsplit_once('@') {
            Some((userinfo, authority)) => (Some(userinfo), authority),
            None => (None, authority),
        };
        let invalid = || format!("invalid host or port in `url` `{text}`");
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(invalid)?;
            match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None if after.is_empty() => (host, None),
                None => return Err(invalid()),
            }
        } else {
            match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(invalid());
        }
        let port = match port {
            Some(port) => port.parse::<u16>().map_err(|_| invalid())?,
            None if https => 443,
            None => 80,
        };
        let shown = match userinfo {
            Some(userinfo) => text.replacen(&format!("{userinfo}@"), "", 1),
            None => text.to_owned(),
        };
        Ok(Self {
            full: text.to_owned(),
            shown,
            https,
            host: host.to_owned(),
            port,
            authority: authority.to_owned(),
            path,
        })
    }
}

impl WaitFor {
    fn target(&self) -> Result<Target, String> {
        // Ansible's checks, in Ansible's order, with its messages.
        if self.path.is_some() && self.port.is_some() {
            return Err("port and path parameter can not both be passed to wait_for".to_owned());
        }
        let drained = self.state == WaitState::Drained;
        if self.path.is_some() && drained {
            return Err(
                "state=drained should only be used for checking a port in the wait_for module"
                    .to_owned(),
            );
        }
        if self.exclude_hosts.is_some() && !drained {
            return Err("exclude_hosts should only be with state=drained".to_owned());
        }
        self.connection_states()?;
        if drained {
            return match (self.port, &self.url) {
                (Some(port), None) => Ok(Target::PortDrained {
                    host: self.host.clone().unwrap_or_else(|| "127.0.0.1".to_owned()),
                    port,
                }),
                _ => Err("`state: drained` goes with `port`".to_owned()),
            };
        }
        if let Some(path) = &self.path {
            if self.url.is_some() || self.host.is_some() || self.status.is_some() {
                return Err("`path` goes without `url`, `host` or `status`".to_owned());
            }
            if self.state.gone() {
                if self.search_regex.is_some() {
                    return Err("`search_regex` goes with `state: present` or `started`".to_owned());
                }
                return Ok(Target::FileAbsent { path: path.clone() });
            }
            let regex = match &self.search_regex {
                Some(pattern) => Some(
                    regex::RegexBuilder::new(pattern)
                        .multi_line(true)
                        .build()
                        .map_err(|e| format!("invalid `search_regex` `{pattern}`: {e}"))?,
                ),
                None => None,
            };
            return Ok(Target::File {
                path: path.clone(),
                regex,
            });
        }
        if self.search_regex.is_some() {
            return Err("`search_regex` is built for `path` only, not yet for `port`".to_owned());
        }
        if self.url.is_none() && self.port.is_none() && self.host.is_none() && self.status.is_none()
        {
            return Ok(Target::Sleep);
        }
        if self.state.gone() {
            return match (self.port, &self.url) {
                (Some(port), None) => Ok(Target::PortStopped {
                    host: self.host.clone().unwrap_or_else(|| "127.0.0.1".to_owned()),
                    port,
                }),
                _ => Err("`state: stopped` or `absent` goes with `port` or `path`".to_owned()),
            };
        }
        match (&self.url, self.port) {
            (Some(_), Some(_)) => Err("`wait_for` takes `port` or `url`, not both".to_owned()),
            (None, None) => Err("`wait_for` needs `port` or `url`".to_owned()),
            (Some(_), None) if self.host.is_some() => {
                Err("`host` goes with `port`; a `url` names its own host".to_owned())
            }
            (Some(url), None) => Ok(Target::Url {
                url: Url::parse(url)?,
                status: self.status.unwrap_or(200),
            }),
            (None, Some(_)) if self.status.is_some() => {
                Err("`status` goes with `url`, not with `port`".to_owned())
            }
            (None, Some(port)) => Ok(Target::Port {
                host: self.host.clone().unwrap_or_else(|| "127.0.0.1".to_owned()),
                port,
            }),
        }
    }

    /// The /proc/net/tcp codes of `active_connection_states`, space separated.
    fn connection_states(&self) -> Result<String, String> {
        let states = match &self.active_connection_states {
            Some(states) => states.split_commas(),
            None => [
                "ESTABLISHED",
                "FIN_WAIT1",
                "FIN_WAIT2",
                "SYN_RECV",
                "SYN_SENT",
                "TIME_WAIT",
            ]
            .map(str::to_owned)
            .to_vec(),
        };
        let codes = states
            .iter()
            .map(|state| match state.as_str() {
                "ESTABLISHED" => Ok("01"),
                "SYN_SENT" => Ok("02"),
                "SYN_RECV" => Ok("03"),
                "FIN_WAIT1" => Ok("04"),
                "FIN_WAIT2" => Ok("05"),
                "TIME_WAIT" => Ok("06"),
                other => Err(format!("unknown active_connection_state ({other}) defined")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(codes.join(" "))
    }

    fn check_times(&self) -> Result<(), String> {
        for (name, value) in [("delay", self.delay), ("sleep", self.sleep)] {
            if !value.is_finite() || value < 0.0 {
                return Err(format!(
                    "`{name}` must be a number of seconds, found {value}"
                ));
            }
        }
        if self.connect_timeout == 0 {
            return Err("`connect_timeout` must be at least 1 second".to_owned());
        }
        Ok(())
    }

    fn script(&self, target: &Target, drain: &Drain) -> String {
        let mut script = String::from("set -u\n");
        let none = |kind: &str| {
            vec![
                ("kind", kind.to_owned()),
                ("host", String::new()),
                ("port", String::new()),
                ("url", String::new()),
                ("scheme", String::new()),
                ("path", String::new()),
                ("authority", String::new()),
                ("expect", String::new()),
            ]
        };
        let mut vars: Vec<(&str, String)> = match target {
            Target::Sleep => none("sleep"),
            Target::File { path, .. } => {
                let mut vars = none("file");
                vars[5].1 = path.clone();
                vars
            }
            Target::FileAbsent { path } => {
                let mut vars = none("nofile");
                vars[5].1 = path.clone();
                vars
            }
            Target::PortStopped { host, port } => {
                let mut vars = none("tcpstop");
                vars[1].1 = host.clone();
                vars[2].1 = port.to_string();
                vars
            }
            Target::PortDrained { host, port } => {
                let mut vars = none("drain");
                vars[1].1 = host.clone();
                vars[2].1 = format!("{port:04X}");
                vars
            }
            Target::Port { host, port } => vec![
                ("kind", "tcp".to_owned()),
                ("host", host.clone()),
                ("port", port.to_string()),
                ("url", String::new()),
                ("scheme", String::new()),
                ("path", String::new()),
                ("authority", String::new()),
                ("expect", String::new()),
            ],
            Target::Url { url, status } => vec![
                ("kind", "http".to_owned()),
                ("host", url.host.clone()),
                ("port", url.port.to_string()),
                ("url", url.full.clone()),
                (
                    "scheme",
                    if url.https { "https" } else { "http" }.to_owned(),
                ),
                ("path", url.path.clone()),
                ("authority", url.authority.clone()),
                ("expect", status.to_string()),
            ],
        };
        vars.push((
            "regex",
            match target {
                Target::File { regex: Some(_), .. } => {
                    format!("(?m){}", self.search_regex.as_deref().unwrap_or(""))
                }
                _ => String::new(),
            },
        ));
        vars.push(("drain_ips", drain.ips.clone()));
        vars.push(("drain_exclude", drain.exclude.clone()));
        vars.push(("drain_states", drain.states.clone()));
        for (name, value) in vars {
            script.push_str(&format!("{name}={}\n", quote(&value)));
        }
        script.push_str(&format!(
            "timeout_ms={}\nsleep_ms={}\ndelay={}\nconnect={}\ninsecure={}\n",
            self.timeout.saturating_mul(1000),
            (self.sleep * 1000.0).round() as u64,
            quote(&format!("{:.3}", self.delay)),
            self.connect_timeout,
            u8::from(!self.validate_certs),
        ));
        script.push_str(&format!("py_tcp={}\n", quote(PY_TCP)));
        script.push_str(&format!("py_http={}\n", quote(PY_HTTP)));
        script.push_str(&format!("bash_http={}\n", quote(BASH_HTTP)));
        script.push_str(LOOP);
        script
    }
}

/// Connect once: `python3 -c PY_TCP HOST PORT SECONDS`; prints the error on failure.
const PY_TCP: &str = r#"import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), float(sys.argv[3])).close()
except OSError as error:
    print(error.strerror or error)
    sys.exit(1)
"#;

/// Fetch once without following redirects: `python3 -c PY_HTTP URL SECONDS INSECURE`;
/// prints the status, or the error and exits 1.
const PY_HTTP: &str = r#"import ssl, sys, urllib.error, urllib.request
class Stay(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None
handlers = [Stay()]
if sys.argv[3] == "1":
    handlers.append(urllib.request.HTTPSHandler(context=ssl._create_unverified_context()))
try:
    with urllib.request.build_opener(*handlers).open(sys.argv[1], timeout=float(sys.argv[2])) as answer:
        print(answer.status)
except urllib.error.HTTPError as error:
    print(error.code)
except urllib.error.URLError as error:
    print(getattr(error.reason, "strerror", None) or error.reason)
    sys.exit(1)
except OSError as error:
    print(error.strerror or error)
    sys.exit(1)
"#;

/// A plain-HTTP `GET` through bash's `/dev/tcp`: `bash -c BASH_HTTP - HOST PORT PATH
/// AUTHORITY`; prints the status.
const BASH_HTTP: &str = r#"exec 3<>"/dev/tcp/$1/$2" || exit 7
printf 'GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: quayside\r\nConnection: close\r\n\r\n' "$3" "$4" >&3
read -r protocol code rest <&3 && printf '%s\n' "$code""#;

/// The probe loop. Reports `key=value` lines: `result` (`ok`, `timeout` or `unsupported`),
/// `attempts`, `elapsed_ms`, `code` (the last HTTP status) and `error` (the last error;
/// `os:` marks an operating system message such as `Connection refused`).
const LOOP: &str = r#"nl='
'
have() { command -v "$1" >/dev/null 2>&1; }
now_ms() {
    t=$(date +%s%N 2>/dev/null) || t=
    case $t in
        ''|*[!0-9]*) echo $(( $(date +%s) * 1000 )) ;;
        *) echo $(( t / 1000000 )) ;;
    esac
}
secs() { printf '%d.%03d' $(( $1 / 1000 )) $(( $1 % 1000 )); }
with_limit() {
    if have timeout; then timeout "$@"; else shift; "$@"; fi
}
first_line() { printf '%s' "${1%%"$nl"*}"; }

if have bash; then tcp_tool=bash
elif have python3; then tcp_tool=python3
else tcp_tool=none; fi
if have curl; then http_tool=curl
elif have python3; then http_tool=python3
elif [ "$scheme" = http ] && [ $tcp_tool = bash ]; then http_tool=bash
else http_tool=none; fi

# probe_tcp SECONDS: 0 when $host:$port accepts; else sets $err.
probe_tcp() {
    if [ $tcp_tool = bash ]; then
        out=$(with_limit "$1" bash -c 'exec 3<>"/dev/tcp/$1/$2"' wait_for "$host" "$port" 2>&1)
    else
        out=$(with_limit "$1" python3 -c "$py_tcp" "$host" "$port" "$1" 2>&1)
    fi
    case $? in
        0) return 0 ;;
        124) err="no answer within $1 s" ;;
        *) out=$(first_line "$out"); err="os:${out##*: }" ;;
    esac
    return 1
}

# probe_http SECONDS: 0 when $url answers $expect; else sets $err (and $code if it answered).
probe_http() {
    code=
    case $http_tool in
    curl)
        out=$(curl -sS -o /dev/null -w '%{http_code}\n' --max-time "$1" ${insecure_k:+-k} -- "$url" 2>&1)
        rc=$?
        msg=
        while IFS= read -r line; do
            case $line in
                [0-9][0-9][0-9]) [ $rc = 0 ] && code=$line ;;
                'curl: ('*) msg=${line#*) } ;;
            esac
        done <<EOF
$out
EOF
        case $rc in
            0) ;;
            7) if [ $tcp_tool = none ] || probe_tcp "$1"; then err="cannot connect: $msg"; fi; return 1 ;;
            28) err="no answer within $1 s"; return 1 ;;
            *) err=${msg:-"curl exited with $rc"}; return 1 ;;
        esac
        ;;
    python3)
        out=$(with_limit $(( $1 + 1 )) python3 -c "$py_http" "$url" "$1" "$insecure" 2>&1)
        case $? in
            0) code=$(first_line "$out") ;;
            124) err="no answer within $1 s"; return 1 ;;
            *) err="os:$(first_line "$out")"; return 1 ;;
        esac
        ;;
    bash)
        out=$(with_limit "$1" bash -c "$bash_http" wait_for "$host" "$port" "$path" "$authority" 2>&1)
        case $? in
            0) code=$(first_line "$out") ;;
            124) err="no answer within $1 s"; return 1 ;;
            *) out=$(first_line "$out"); err="os:${out##*: }"; [ -n "$out" ] || err="no answer"; return 1 ;;
        esac
        ;;
    esac
    [ "$code" = "$expect" ] && return 0
    err="last answer: $code"
    return 1
}

if [ $kind = file ] && [ -n "$regex" ] && ! printf 'x\n' | grep -Pq 'x' 2>/dev/null; then
    echo result=unsupported; echo 'error=no `grep -P` on the host to search files with'; exit 0
fi
if { [ $kind = tcp ] || [ $kind = tcpstop ]; } && [ $tcp_tool = none ]; then
    echo result=unsupported; echo 'error=no `bash` or `python3` on the host to probe a port with'; exit 0
fi
if [ $kind = http ] && [ $http_tool = none ]; then
    echo result=unsupported; echo "error=no \`curl\` or \`python3\` on the host to fetch \`$scheme://\` URLs with"; exit 0
fi
insecure_k=
[ "$insecure" = 1 ] && insecure_k=1

start=$(now_ms)
deadline=$(( start + timeout_ms ))
[ "$delay" = 0.000 ] || sleep "$delay"
attempts=0
code=
err=
found=
if [ $kind = sleep ]; then
    sleep "$(secs $timeout_ms)"
    echo result=ok
    echo "elapsed_ms=$(( $(now_ms) - start ))"
    exit 0
fi
# probe_file: 0 when $path is there (holding $regex, whose first match goes to $found as
# base64), or when it is gone for `nofile`.
probe_file() {
    if [ $kind = nofile ]; then
        [ -e "$path" ] || [ -L "$path" ] || return 0
        err="still there"
        return 1
    fi
    [ -e "$path" ] || { err="no such file"; return 1; }
    [ -n "$regex" ] || return 0
    if grep -Pzq -- "$regex" "$path" 2>/dev/null; then
        found=$(grep -Pzo -- "$regex" "$path" 2>/dev/null | head -zn1 | tr -d '\000' | base64 | tr -d '\n')
        return 0
    fi
    err="no match"
    return 1
}
# count_drain: prints how many connections to $port (hex) in $drain_states have a local
# address in $drain_ips and a remote one not in $drain_exclude (`F:HEX` words, F the
# family: 4 for /proc/net/tcp, 6 for /proc/net/tcp6), as Ansible's Linux module counts.
count_drain() {
    files=
    for f in /proc/net/tcp /proc/net/tcp6; do [ -r $f ] && files="$files $f"; done
    [ -n "$files" ] || { echo 0; return; }
    awk -v ips=" $drain_ips " -v ex=" $drain_exclude " -v states=" $drain_states " -v port="$port" '
        $2 == "local_address" { next }
        {
            fam = (FILENAME ~ /6$/) ? 6 : 4
            split($2, l, ":"); split($3, r, ":")
            if (index(states, " " $4 " ") == 0 || l[2] != port) next
            if (index(ex, " " fam ":" r[1] " ")) next
            any = (fam == 4) ? "00000000" : "00000000000000000000000000000000"
            if (index(ips, " " fam ":" l[1] " ") || index(ips, " " fam ":" any " ") ||
                (substr(l[1], 1, 24) == "0000000000000000FFFF0000" &&
                 index(ips, " 6:0000000000000000FFFF000000000000 ")))
                n++
        }
        END { print n + 0 }' $files
}
while :; do
    attempts=$(( attempts + 1 ))
    left=$(( deadline - $(now_ms) ))
    limit=$(( (left + 999) / 1000 ))
    [ $limit -gt $connect ] && limit=$connect
    [ $limit -lt 1 ] && limit=1
    case $kind in
        tcp) probe_tcp $limit && { result=ok; break; } ;;
        tcpstop) probe_tcp $limit || { result=ok; break; }; err="still accepting connections" ;;
        drain) n=$(count_drain); [ "$n" = 0 ] && { result=ok; break; }; err="$n connection(s) left" ;;
        file|nofile) probe_file && { result=ok; break; } ;;
        *) probe_http $limit && { result=ok; break; } ;;
    esac
    left=$(( deadline - $(now_ms) ))
    [ $left -le 0 ] && { result=timeout; break; }
    nap=$sleep_ms
    [ $left -lt $nap ] && nap=$left
    sleep "$(secs $nap)"
done
echo "result=$result"
echo "attempts=$attempts"
echo "elapsed_ms=$(( $(now_ms) - start ))"
echo "code=$code"
echo "error=$(first_line "$err")"
if [ $kind = file ] && [ $result = ok ]; then
    echo "found=$found"
    [ -d "$path" ] && echo ftype=directory || echo ftype=file
    stat -L -c 'A %a %u %U %g %G %s' -- "$path"
fi
"#;

impl TaskType for WaitFor {
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Runs;

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let target = match self.check_times().and_then(|()| self.target()) {
            Ok(target) => target,
            // As Ansible's checks: nothing waited for.
            Err(message) => return Ok(Outcome::failed(message).with("elapsed", 0)),
        };
        let drain = match &target {
            Target::PortDrained { host, .. } => match self.drain(ctx, host).await? {
                Ok(drain) => drain,
                Err(message) => return Ok(Outcome::failed(message)),
            },
            _ => Drain::default(),
        };
        let output = ctx.run(ctx.script(self.script(&target, &drain))).await?;
        let report: std::collections::BTreeMap<String, String> = output
            .stdout_lossy()
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect();
        let get = |key: &str| report.get(key).map(String::as_str).unwrap_or("");
        let error = match get("error").strip_prefix("os:") {
            Some(os) => os.to_lowercase(),
            None => get("error").to_owned(),
        };
        let elapsed_ms = get("elapsed_ms").parse::<u64>().unwrap_or(0);
        let mut outcome = match get("result") {
            "ok" => Outcome::ok(),
            "timeout" => Outcome::failed(self.msg.clone().unwrap_or_else(|| match &target {
                // Ansible's messages for Ansible's forms (the last error is `last_error`).
                Target::Port { host, port } => format!("Timeout when waiting for {host}:{port}"),
                Target::Url { url, status } => format!(
                    "timed out after {} s waiting for {} to answer {status}: {error}",
                    self.timeout, url.shown
                ),
                Target::PortStopped { host, port } => {
                    format!("Timeout when waiting for {host}:{port} to stop.")
                }
                Target::PortDrained { host, port } => {
                    format!("Timeout when waiting for {host}:{port} to drain")
                }
                Target::File { path, regex: None } => {
                    format!("Timeout when waiting for file {path}")
                }
                Target::File {
                    path,
                    regex: Some(_),
                } => format!(
                    "Timeout when waiting for search string {} in {path}",
                    self.search_regex.as_deref().unwrap_or("")
                ),
                Target::FileAbsent { path } => {
                    format!("Timeout when waiting for {path} to be absent.")
                }
                Target::Sleep => "timed out".to_owned(),
            })),
            "unsupported" => Outcome::failed(format!("cannot wait on `{}`: {error}", ctx.host)),
            _ => {
                let stderr = output.stderr_lossy();
                return Ok(Outcome::failed(format!(
                    "the `wait_for` script exited with {}: {}",
                    output.status,
                    stderr.trim()
                )));
            }
        };
        // Ansible's `elapsed` is in whole seconds; a `url` (quayside's own) keeps the
        // milliseconds.
        outcome = match target {
            Target::Url { .. } => outcome.with("elapsed", elapsed_ms as f64 / 1000.0),
            _ => outcome.with("elapsed", elapsed_ms / 1000),
        };
        if outcome.failed {
            if !matches!(target, Target::Sleep) {
                outcome = outcome
                    .with("attempts", get("attempts").parse::<u64>().unwrap_or(0))
                    .with("last_error", error);
            }
            if let Target::Url { .. } = target {
                outcome = outcome.with("status", get("code").parse::<u16>().ok());
            }
            return Ok(outcome);
        }
        if let Target::Url { .. } = target {
            return Ok(outcome
                .with("attempts", get("attempts").parse::<u64>().unwrap_or(0))
                .with("status", get("code").parse::<u16>().ok()));
        }
        let (groups, named) = match (&target, get("found")) {
            (
                Target::File {
                    regex: Some(regex), ..
                },
                found,
            ) => match_groups(regex, found),
            _ => (Vec::new(), serde_json::Map::new()),
        };
        outcome = outcome
            .with("state", self.state.name())
            .with("path", self.path.clone())
            .with("port", self.port)
            .with("search_regex", self.search_regex.clone())
            .with("match_groups", groups)
            .with("match_groupdict", named);
        if let Target::File { .. } = target {
            // As Ansible: the file's attributes, and its kind as `state`.
            outcome = outcome.with("state", get("ftype").to_owned());
            if let Some(line) = output
                .stdout_lossy()
                .lines()
                .find_map(|l| l.strip_prefix("A "))
            {
                outcome = super::file::attributes(outcome, line);
            }
        }
        if !matches!(target, Target::Sleep) {
            outcome = outcome.with("attempts", get("attempts").parse::<u64>().unwrap_or(0));
        }
        Ok(outcome)
    }
}

/// What `state: drained` counts, as the words the script's `count_drain` reads.
#[derive(Debug, Default)]
struct Drain {
    /// `host`'s addresses.
    ips: String,
    /// `exclude_hosts`' addresses.
    exclude: String,
    /// The states' codes.
    states: String,
}

impl WaitFor {
    /// `host` and `exclude_hosts` resolved on the host (an address stands for itself; a
    /// name is looked up with `getent ahosts`, as Ansible's `getaddrinfo`), in
    /// /proc/net/tcp's form.
    async fn drain(
        &self,
        ctx: &TaskContext<'_>,
        host: &str,
    ) -> Result<Result<Drain, String>, TransportError> {
        let exclude = self
            .exclude_hosts
            .as_ref()
            .map(OneOrMany::split_commas)
            .unwrap_or_default();
        let names: Vec<&str> = std::iter::once(host)
            .chain(exclude.iter().map(String::as_str))
            .filter(|name| name.parse::<std::net::IpAddr>().is_err())
            .collect();
        let mut found: std::collections::BTreeMap<String, Vec<std::net::IpAddr>> =
            Default::default();
        if !names.is_empty() {
            let mut script = String::from("for name in");
            for name in &names {
                script.push(' ');
                script.push_str(&quote(name));
            }
            script.push_str(
                "; do
    case $name in -*) continue ;; esac
                     getent ahosts \"$name\" | while read -r addr rest; do                  printf '%s\\t%s\\n' \"$name\" \"$addr\"; done\ndone\n",
            );
            let output = ctx.run(ctx.script(script)).await?;
            for line in output.stdout_lossy().lines() {
                if let Some((name, addr)) = line.split_once('\t')
                    && let Ok(addr) = addr.parse()
                {
                    let addrs = found.entry(name.to_owned()).or_default();
                    if !addrs.contains(&addr) {
                        addrs.push(addr);
                    }
                }
            }
        }
        let words = |name: &str| -> Result<String, String> {
            let addrs = match name.parse::<std::net::IpAddr>() {
                Ok(addr) => vec![addr],
                Err(_) => found.get(name).cloned().unwrap_or_default(),
            };
            if addrs.is_empty() {
                return Err(format!(
                    "cannot resolve `{name}` on {}: Name or service not known",
                    ctx.host
                ));
            }
            Ok(addrs
                .iter()
                .flat_map(|addr| proc_net_words(*addr))
                .collect::<Vec<_>>()
                .join(" "))
        };
        let ips = match words(host) {
            Ok(ips) => ips,
            Err(message) => return Ok(Err(message)),
        };
        let mut excluded = Vec::new();
        for name in &exclude {
            match words(name) {
                Ok(words) => excluded.push(words),
                Err(message) => return Ok(Err(message)),
            }
        }
        let states = match self.connection_states() {
            Ok(states) => states,
            Err(message) => return Ok(Err(message)),
        };
        Ok(Ok(Drain {
            ips,
            exclude: excluded.join(" "),
            states,
        }))
    }
}

/// An address as /proc/net/tcp{,6} writes it: `F:HEX`, each 32-bit word in the host's
/// (little-endian) order; an IPv4 address also as its IPv4-mapped IPv6 form, as Ansible's.
fn proc_net_words(addr: std::net::IpAddr) -> Vec<String> {
    fn hex(octets: &[u8]) -> String {
        octets
            .chunks(4)
            .map(|word| {
                format!(
                    "{:08X}",
                    u32::from_le_bytes([word[0], word[1], word[2], word[3]])
                )
            })
            .collect()
    }
    match addr {
        std::net::IpAddr::V4(v4) => vec![
            format!("4:{}", hex(&v4.octets())),
            format!("6:{}", hex(&v4.to_ipv6_mapped().octets())),
        ],
        std::net::IpAddr::V6(v6) => vec![format!("6:{}", hex(&v6.octets()))],
    }
}

/// Ansible's `match_groups` and `match_groupdict` of the first match, found on the host
/// and sent back as base64.
fn match_groups(regex: &regex::Regex, found: &str) -> (Vec<Json>, serde_json::Map<String, Json>) {
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD
        .decode(found)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    let Some(captures) = regex.captures(&text) else {
        return (Vec::new(), serde_json::Map::new());
    };
    let groups = captures
        .iter()
        .skip(1)
        .map(|m| m.map_or(Json::Null, |m| Json::from(m.as_str())))
        .collect();
    let named = regex
        .capture_names()
        .flatten()
        .map(|name| {
            (
                name.to_owned(),
                captures
                    .name(name)
                    .map_or(Json::Null, |m| Json::from(m.as_str())),
            )
        })
        .collect();
    (groups, named)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_what_the_probes_need() {
        let url =
            Url::parse("https://admin:secret@quay.example:8443/health/instance?x=1#top").unwrap();
        assert_eq!(url.host, "quay.example");
        assert_eq!(url.port, 8443);
        assert_eq!(url.authority, "quay.example:8443");
        assert_eq!(url.path, "/health/instance?x=1");
        assert_eq!(
            url.shown,
            "https://quay.example:8443/health/instance?x=1#top"
        );
        let url = Url::parse("http://[::1]").unwrap();
        assert_eq!(
            (url.host.as_str(), url.port, url.path.as_str()),
            ("::1", 80, "/")
        );
    }

    #[test]
    fn addresses_are_written_as_proc_net_tcp_writes_them() {
        assert_eq!(
            proc_net_words("127.0.0.1".parse().unwrap()),
            ["4:0100007F", "6:0000000000000000FFFF00000100007F"]
        );
        assert_eq!(
            proc_net_words("::1".parse().unwrap()),
            ["6:00000000000000000000000001000000"]
        );
    }

    #[test]
    fn bad_urls_are_named() {
        assert_eq!(
            Url::parse("ftp://x/").unwrap_err(),
            "`url` must start with `http://` or `https://`, found `ftp://x/`"
        );
        assert_eq!(
            Url::parse("http://x:port/").unwrap_err(),
            "invalid host or port in `url` `http://x:port/`"
        );
    }
}
