//! `setup`: facts about the host, named and spelled as ansible-core's setup module gives
//! them on Linux, in one round trip. `gather_facts` at the start of a play runs the same.
//!
//! One `sh` script reads `/etc/os-release` (and `/etc/debian_version`), `id`, `getent`,
//! `/proc`, `/sys`, `ip` and the environment; the controller turns what it prints into
//! `ansible_*` variables and `ansible_facts` (the same facts without the prefix).
//! `gather_subset` picks groups as Ansible does: `min` (platform, distribution, user,
//! environment, service manager, SELinux, package manager) always unless `!min`;
//! `hardware` (memory, processors) and `network` (default IPv4 route, IPv4 addresses)
//! with `all` (the default) or by name.

use serde::Deserialize;
use serde_json::{Map, Value as Json, json};

use super::{Outcome, TaskContext, TaskType};
use crate::transport::{Connection, Script, TransportError};
use crate::vars::Vars;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setup {
    #[serde(default)]
    gather_subset: Option<Subsets>,
}

impl TaskType for Setup {
    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let subsets = self.gather_subset.clone().unwrap_or_default();
        let facts = gather(ctx.connection, &subsets).await?;
        let mut outcome = Outcome::ok();
        // As the setup module returns them: with the prefix (the `ansible_facts`
        // variable holds them without).
        let prefixed: Map<String, Json> = facts
            .iter()
            .map(|(key, value)| (format!("ansible_{key}"), value.clone()))
            .collect();
        outcome.data.insert("ansible_facts".into(), prefixed.into());
        outcome.facts = as_variables(facts);
        Ok(outcome)
    }
}

/// Which groups of facts are gathered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subsets {
    pub min: bool,
    pub hardware: bool,
    pub network: bool,
}

impl Default for Subsets {
    fn default() -> Self {
        Subsets {
            min: true,
            hardware: true,
            network: true,
        }
    }
}

/// The subset names quayside gathers.
const NAMES: &[&str] = &["all", "min", "hardware", "network"];

/// Ansible's subsets that quayside's `min` holds whole: naming one gathers `min`
/// (ansible-core's own integration targets ask for `distribution` alone).
const IN_MIN: &[&str] = &[
    "distribution",
    "platform",
    "user",
    "env",
    "service_mgr",
    "selinux",
    "pkg_mgr",
];

impl Subsets {
    /// Ansible's rules: names add a group, `!name` takes it away; with no name added,
    /// everything (`all`) is, unless `!all`; `min` is always there unless `!min`.
    pub fn parse(items: &[String]) -> Result<Subsets, String> {
        let mut added = Vec::new();
        let mut removed = Vec::new();
        for item in items.iter().map(|i| i.trim()) {
            let (name, list) = match item.strip_prefix('!') {
                Some(name) => (name, &mut removed),
                None => (item, &mut added),
            };
            let whole_of_min = IN_MIN.contains(&name) && !item.starts_with('!');
            if !NAMES.contains(&name) && !whole_of_min {
                return Err(format!(
                    "quayside gathers the fact subsets {} (and {}, within min); `{item}` is not one of them",
                    NAMES.join(", "),
                    IN_MIN.join(", ")
                ));
            }
            list.push(if whole_of_min { "min" } else { name });
        }
        let all = added.contains(&"all") || (added.is_empty() && !removed.contains(&"all"));
        let group = |name: &str| (all || added.contains(&name)) && !removed.contains(&name);
        Ok(Subsets {
            min: !removed.contains(&"min") || added.contains(&"min"),
            hardware: group("hardware"),
            network: group("network"),
        })
    }
}

impl<'de> Deserialize<'de> for Subsets {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            One(String),
            Many(Vec<String>),
        }
        let items = match Form::deserialize(deserializer)? {
            Form::One(text) => text.split(',').map(str::to_owned).collect(),
            Form::Many(items) => items,
        };
        Subsets::parse(&items).map_err(serde::de::Error::custom)
    }
}

const MIN: &str = r#"h=$(uname -n)
printf 'hostname=%s\n' "${h%%.*}"
printf 'nodename=%s\n' "$h"
a=$(getent ahostsv4 "$h" 2>/dev/null | awk 'NR == 1 {print $1}')
f=$([ -n "$a" ] && getent hosts "$a" 2>/dev/null | awk 'NR == 1 {for (i = 2; i <= NF; i++) if (index($i, ".")) {print $i; exit} print $2}')
printf 'fqdn=%s\n' "${f:-$h}"
printf 'system=%s\n' "$(uname -s)"
printf 'kernel=%s\n' "$(uname -r)"
printf 'kernel_version=%s\n' "$(uname -v)"
printf 'machine=%s\n' "$(uname -m)"
if [ -r /etc/os-release ]; then
  (. /etc/os-release; printf 'os_id=%s\nos_version_id=%s\nos_version=%s\nos_codename=%s\nos_name=%s\n' "${ID:-}" "${VERSION_ID:-}" "${VERSION:-}" "${VERSION_CODENAME:-}" "${NAME:-}")
fi
[ -r /etc/debian_version ] && printf 'debian_version=%s\n' "$(cat /etc/debian_version)"
printf 'user_id=%s\n' "$(id -un)"
printf 'passwd=%s\n' "$(getent passwd "$(id -u)" 2>/dev/null)"
printf 'real_user_id=%s\neffective_group_id=%s\nreal_group_id=%s\n' "$(id -ru)" "$(id -g)" "$(id -rg)"
p1=$(cat /proc/1/comm 2>/dev/null); p1=${p1##*/}
case $p1 in
  ''|init|*sh)
    if [ -d /run/systemd/system ]; then sm=systemd
    elif command -v initctl >/dev/null 2>&1 && [ -d /etc/init ]; then sm=upstart
    elif [ -e /sbin/openrc ]; then sm=openrc
    elif [ -d /etc/init.d ]; then sm=sysvinit
    else sm=service; fi ;;
  procd) sm=openwrt_init ;;
  runit-init) sm=runit ;;
  svscan) sm=svc ;;
  openrc-init) sm=openrc ;;
  *) sm=$p1 ;;
esac
printf 'service_mgr=%s\n' "$sm"
if [ -r /sys/fs/selinux/enforce ]; then
  printf 'selinux_enforce=%s\n' "$(cat /sys/fs/selinux/enforce)"
  printf 'selinux_policyvers=%s\n' "$(cat /sys/fs/selinux/policyvers 2>/dev/null)"
  [ -r /etc/selinux/config ] && (. /etc/selinux/config; printf 'selinux_config_mode=%s\nselinux_type=%s\n' "${SELINUX:-}" "${SELINUXTYPE:-}")
fi
"#;

/// The host's package manager, as the `pkg_mgr` fact reads it: the first of these it has.
pub(super) const PKG_MGR: &str = r#"for pm in dnf yum zypper apt-get apk pacman; do
  if command -v $pm >/dev/null 2>&1; then printf 'pkg_mgr=%s\n' "${pm%-get}"; break; fi
done
command -v python3 >/dev/null 2>&1 && python3 -c 'import sys
try:
    from ssl import SSLContext
    s = 1
except Exception:
    s = 0
v = sys.version_info
print("python=%d %d %d %s %d %s %d %s" % (v[0], v[1], v[2], v[3], v[4], sys.implementation.name, s, sys.executable))' 2>/dev/null
"#;

const HARDWARE: &str = r#"printf 'meminfo=%s\n' "$(awk '/^(MemTotal|MemFree|SwapTotal|SwapFree):/ {printf "%s%s ", $1, $2}' /proc/meminfo 2>/dev/null)"
printf 'vcpus=%s\n' "$(grep -c '^processor' /proc/cpuinfo 2>/dev/null)"
printf 'sockets=%s\n' "$(grep '^physical id' /proc/cpuinfo 2>/dev/null | sort -u | wc -l)"
printf 'cores=%s\n' "$(awk -F: '/^cpu cores/ {gsub(/ /, "", $2); print $2; exit}' /proc/cpuinfo 2>/dev/null)"
printf 'nproc=%s\n' "$(nproc 2>/dev/null)"
"#;

const NETWORK: &str = r#"printf 'route4=%s\n' "$(ip -4 route get 8.8.8.8 2>/dev/null | head -n 1)"
ip -4 -o addr show 2>/dev/null | while read -r _ dev _ cidr rest; do printf 'addr4=%s %s %s\n' "$dev" "$cidr" "$rest"; done
for dev in /sys/class/net/*; do
  [ -e "$dev/address" ] && printf 'link=%s %s %s %s\n' "${dev##*/}" "$(cat "$dev/address")" "$(cat "$dev/mtu" 2>/dev/null)" "$(cat "$dev/type" 2>/dev/null)"
done
"#;

/// The environment goes last, NUL-separated (values may hold newlines).
const ENV: &str = "printf '__env__\\n'; env -0\n";

/// Gather the facts of `subsets` on a host: the facts without the `ansible_` prefix, as
/// `ansible_facts` holds them.
pub async fn gather(
    connection: &dyn Connection,
    subsets: &Subsets,
) -> Result<Map<String, Json>, TransportError> {
    let mut script = String::new();
    if subsets.min {
        script.push_str(MIN);
        script.push_str(PKG_MGR);
    }
    if subsets.hardware {
        script.push_str(HARDWARE);
    }
    if subsets.network {
        script.push_str(NETWORK);
    }
    if subsets.min {
        script.push_str(ENV);
    }
    let output = connection.run(&Script::new(script)).await?;
    Ok(parse(&output.stdout_lossy()))
}

/// Facts as variables: each as `ansible_NAME`, and all of them as `ansible_facts`.
pub fn as_variables(facts: Map<String, Json>) -> crate::vars::Vars {
    let mut vars = crate::vars::Vars::new();
    for (key, value) in &facts {
        vars.insert(format!("ansible_{key}"), value.clone());
    }
    vars.insert("ansible_facts".to_owned(), Json::Object(facts));
    vars
}

/// Ansible's name for a distribution's os-release `ID`, and its family.
/// The host's variables a module's `ansible_facts` set: each fact by its name, and
/// `ansible_facts` with them merged in (without the `ansible_` prefix, as Ansible
/// namespaces them).
pub fn module_facts(ctx: &TaskContext<'_>, facts: &Map<String, Json>) -> Vars {
    let mut merged: Map<String, Json> = ctx
        .vars
        .get_attr("ansible_facts")
        .ok()
        .and_then(|value| serde_json::to_value(&value).ok())
        .and_then(|value| match value {
            Json::Object(map) => Some(map),
            _ => None,
        })
        .unwrap_or_default();
    let mut vars = Vars::new();
    for (key, value) in facts {
        let short = key.strip_prefix("ansible_").unwrap_or(key);
        merged.insert(short.to_owned(), value.clone());
        vars.insert(key.clone(), value.clone());
    }
    vars.insert("ansible_facts".into(), Json::Object(merged));
    vars
}

fn distribution(id: &str, name: &str) -> (String, &'static str) {
    let (name, family) = match id {
        "debian" => ("Debian", "Debian"),
        "ubuntu" => ("Ubuntu", "Debian"),
        "linuxmint" => ("Linux Mint", "Debian"),
        "rhel" => ("RedHat", "RedHat"),
        "centos" => ("CentOS", "RedHat"),
        "fedora" => ("Fedora", "RedHat"),
        "rocky" => ("Rocky", "RedHat"),
        "almalinux" => ("AlmaLinux", "RedHat"),
        "ol" => ("OracleLinux", "RedHat"),
        "amzn" => ("Amazon", "RedHat"),
        "sles" | "sles_sap" => ("SLES", "Suse"),
        "opensuse-leap" => ("openSUSE Leap", "Suse"),
        "opensuse-tumbleweed" => ("openSUSE Tumbleweed", "Suse"),
        "alpine" => ("Alpine", "Alpine"),
        "arch" => ("Archlinux", "Archlinux"),
        _ => return (name.to_owned(), ""),
    };
    (name.to_owned(), family)
}

fn int(text: &str) -> Json {
    text.trim()
        .parse::<i64>()
        .map_or_else(|_| Json::String(text.trim().to_owned()), Json::from)
}

/// What the script printed, as facts.
pub fn parse(stdout: &str) -> Map<String, Json> {
    let (lines, env) = match stdout.split_once("__env__\n") {
        Some((lines, env)) => (lines, Some(env)),
        None => (stdout, None),
    };
    let mut raw: Vec<(&str, &str)> = Vec::new();
    for line in lines.lines() {
        if let Some(pair) = line.split_once('=') {
            raw.push(pair);
        }
    }
    let get = |key: &str| raw.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    let mut facts = Map::new();
    let mut put = |key: &str, value: Json| {
        facts.insert(key.to_owned(), value);
    };
    for key in [
        "hostname",
        "nodename",
        "fqdn",
        "system",
        "kernel",
        "kernel_version",
        "machine",
    ] {
        if let Some(value) = get(key) {
            put(key, value.into());
        }
    }
    if let Some(machine) = get("machine") {
        put("architecture", machine.into());
    }
    if let Some(fqdn) = get("fqdn") {
        put("domain", fqdn.split_once('.').map_or("", |(_, d)| d).into());
    }
    if let Some(id) = get("os_id") {
        let (name, family) = distribution(id, get("os_name").unwrap_or(""));
        // Debian's point release is in /etc/debian_version, as Ansible reads it.
        let version = match (id, get("debian_version")) {
            ("debian", Some(v)) if v.starts_with(|c: char| c.is_ascii_digit()) => v,
            _ => get("os_version_id").unwrap_or(""),
        };
        let release = match get("os_codename").filter(|c| !c.is_empty()) {
            Some(codename) => codename.to_owned(),
            None => get("os_version")
                .and_then(|v| {
                    v.split_once('(')
                        .map(|(_, r)| r.trim_end_matches(')').to_owned())
                })
                .unwrap_or_default(),
        };
        let mut parts = version.split('.');
        put("distribution", name.clone().into());
        put("distribution_version", version.into());
        put(
            "distribution_major_version",
            parts.next().unwrap_or("").into(),
        );
        if let Some(minor) = parts.next() {
            put("distribution_minor_version", minor.into());
        }
        put("distribution_release", release.into());
        put(
            "os_family",
            if family.is_empty() {
                name
            } else {
                family.to_owned()
            }
            .into(),
        );
    }
    if let Some(user) = get("user_id") {
        put("user_id", user.into());
    }
    if let Some(passwd) = get("passwd") {
        let fields: Vec<&str> = passwd.split(':').collect();
        if fields.len() == 7 {
            put("user_uid", int(fields[2]));
            put("user_gid", int(fields[3]));
            put("user_gecos", fields[4].into());
            put("user_dir", fields[5].into());
            put("user_shell", fields[6].into());
        }
    }
    for (key, name) in [
        ("real_user_id", "real_user_id"),
        ("effective_group_id", "effective_group_id"),
        ("real_group_id", "real_group_id"),
    ] {
        if let Some(value) = get(key) {
            put(name, int(value));
        }
    }
    if let Some(uid) = get("passwd").and_then(|p| p.split(':').nth(2)) {
        put("effective_user_id", int(uid));
    }
    if let Some(manager) = get("service_mgr") {
        put("service_mgr", manager.into());
    }
    if get("service_mgr").is_some() {
        let selinux = match get("selinux_enforce") {
            Some(enforce) => {
                let mut selinux = json!({
                    "status": "enabled",
                    "mode": if enforce.trim() == "1" { "enforcing" } else { "permissive" },
                    "policyvers": int(get("selinux_policyvers").unwrap_or("")),
                });
                if let Some(mode) = get("selinux_config_mode") {
                    selinux["config_mode"] = mode.into();
                }
                if let Some(kind) = get("selinux_type") {
                    selinux["type"] = kind.into();
                }
                selinux
            }
            None => json!({"status": "disabled"}),
        };
        put("selinux", selinux);
    }
    if let Some(manager) = get("pkg_mgr") {
        put("pkg_mgr", manager.into());
    }
    if let Some(python) = get("python").and_then(python) {
        put("python", python);
    }
    if let Some(meminfo) = get("meminfo") {
        let field = |name: &str| {
            meminfo
                .split_whitespace()
                .find_map(|f| f.strip_prefix(name)?.strip_prefix(':')?.parse::<u64>().ok())
        };
        for (name, key) in [
            ("MemTotal", "memtotal_mb"),
            ("MemFree", "memfree_mb"),
            ("SwapTotal", "swaptotal_mb"),
            ("SwapFree", "swapfree_mb"),
        ] {
            if let Some(kb) = field(name) {
                put(key, (kb / 1024).into());
            }
        }
    }
    if let Some(vcpus) = get("vcpus") {
        put("processor_vcpus", int(vcpus));
        let sockets = get("sockets")
            .and_then(|s| s.trim().parse::<i64>().ok())
            .unwrap_or(0);
        put("processor_count", sockets.max(1).into());
        if let Some(cores) = get("cores").filter(|c| !c.is_empty()) {
            put("processor_cores", int(cores));
        }
    }
    if let Some(nproc) = get("nproc") {
        put("processor_nproc", int(nproc));
    }
    if get("route4").is_some() || raw.iter().any(|(k, _)| *k == "addr4") {
        network(&raw, &mut facts);
    }
    if let Some(env) = env {
        let vars: Map<String, Json> = env
            .split('\0')
            .filter_map(|entry| entry.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.into()))
            .collect();
        facts.insert("env".to_owned(), vars.into());
    }
    facts
}

/// `python`, as ansible-core's setup reports the interpreter it runs under: here the
/// host's `python3` (`major minor micro releaselevel serial type has_sslcontext
/// executable`, as the script prints them).
fn python(line: &str) -> Option<Json> {
    let fields: Vec<&str> = line.splitn(8, ' ').collect();
    let [major, minor, micro, level, serial, kind, ssl, executable] = fields[..] else {
        return None;
    };
    let number = |text: &str| text.parse::<i64>().ok();
    let (major, minor, micro, serial) = (
        number(major)?,
        number(minor)?,
        number(micro)?,
        number(serial)?,
    );
    Some(json!({
        "executable": executable,
        "has_sslcontext": ssl == "1",
        "type": kind,
        "version": {
            "major": major,
            "minor": minor,
            "micro": micro,
            "releaselevel": level,
            "serial": serial,
        },
        "version_info": [major, minor, micro, level, serial],
    }))
}

/// `default_ipv4` and `all_ipv4_addresses` from `ip -4 route get`, `ip -4 -o addr` and
/// `/sys/class/net`.
fn network(raw: &[(&str, &str)], facts: &mut Map<String, Json>) {
    // (device, address/prefix, rest of the line)
    let addresses: Vec<(&str, &str, &str)> = raw
        .iter()
        .filter(|(k, _)| *k == "addr4")
        .filter_map(|(_, v)| {
            let mut words = v.splitn(3, ' ');
            Some((words.next()?, words.next()?, words.next().unwrap_or("")))
        })
        .collect();
    let mut sorted = addresses.clone();
    sorted.sort_by_key(|(device, _, _)| *device);
    let all: Vec<Json> = sorted
        .iter()
        .filter_map(|(_, cidr, _)| cidr.split('/').next())
        .filter(|address| !address.starts_with("127."))
        .map(Json::from)
        .collect();
    facts.insert("all_ipv4_addresses".to_owned(), all.into());
    let route = raw
        .iter()
        .find(|(k, _)| *k == "route4")
        .map_or("", |(_, v)| *v);
    let words: Vec<&str> = route.split_whitespace().collect();
    let after = |key: &str| {
        words
            .iter()
            .position(|w| *w == key)
            .and_then(|i| words.get(i + 1))
            .copied()
    };
    let mut default = Map::new();
    if let (Some(device), Some(source)) = (after("dev"), after("src")) {
        default.insert("address".into(), source.into());
        default.insert("alias".into(), device.into());
        if let Some(gateway) = after("via") {
            default.insert("gateway".into(), gateway.into());
        }
        default.insert("interface".into(), device.into());
        let line = addresses
            .iter()
            .find(|(dev, cidr, _)| *dev == device && cidr.split('/').next() == Some(source));
        if let Some((_, cidr, rest)) = line {
            let prefix: u32 = cidr
                .split('/')
                .nth(1)
                .and_then(|p| p.parse().ok())
                .unwrap_or(32)
                .min(32);
            let address: std::net::Ipv4Addr =
                source.parse().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
            let mask = if prefix == 0 {
                0
            } else {
                u32::MAX << (32 - prefix)
            };
            let network = std::net::Ipv4Addr::from(u32::from(address) & mask);
            let rest: Vec<&str> = rest.split_whitespace().collect();
            let broadcast = rest
                .iter()
                .position(|w| *w == "brd")
                .and_then(|i| rest.get(i + 1))
                .map(|b| (*b).to_owned())
                .unwrap_or_default();
            default.insert("broadcast".into(), broadcast.into());
            default.insert(
                "netmask".into(),
                std::net::Ipv4Addr::from(mask).to_string().into(),
            );
            default.insert("network".into(), network.to_string().into());
            default.insert("prefix".into(), prefix.to_string().into());
        }
        let link = raw
            .iter()
            .filter(|(k, _)| *k == "link")
            .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>())
            .find(|fields| fields.first() == Some(&device));
        if let Some(fields) = link {
            if let Some(mac) = fields.get(1) {
                default.insert("macaddress".into(), (*mac).into());
            }
            if let Some(mtu) = fields.get(2) {
                default.insert("mtu".into(), int(mtu));
            }
            let kind = match fields.get(3).copied() {
                Some("1") => "ether",
                Some("772") => "loopback",
                _ => "unknown",
            };
            default.insert("type".into(), kind.into());
        }
    }
    // In name order, as Ansible shows it.
    let default: std::collections::BTreeMap<String, Json> = default.into_iter().collect();
    facts.insert("default_ipv4".to_owned(), json!(default));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subsets(items: &[&str]) -> Result<Subsets, String> {
        Subsets::parse(&items.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn subsets_follow_ansible() {
        let all = Subsets::default();
        assert_eq!(subsets(&[]).unwrap(), all);
        assert_eq!(subsets(&["all"]).unwrap(), all);
        let min = Subsets {
            min: true,
            hardware: false,
            network: false,
        };
        assert_eq!(subsets(&["!all"]).unwrap(), min);
        assert_eq!(subsets(&["min"]).unwrap(), min);
        assert_eq!(
            subsets(&["network"]).unwrap(),
            Subsets {
                network: true,
                ..min.clone()
            }
        );
        assert_eq!(
            subsets(&["!hardware"]).unwrap(),
            Subsets {
                hardware: false,
                ..all
            }
        );
        assert!(!subsets(&["!all", "!min"]).unwrap().min);
        assert!(subsets(&["virtual"]).unwrap_err().contains("`virtual`"));
        // A subset within min gathers min alone, even with `!min`.
        assert_eq!(subsets(&["distribution"]).unwrap(), min);
        assert_eq!(subsets(&["!min", "distribution"]).unwrap(), min);
        assert!(
            subsets(&["!distribution"])
                .unwrap_err()
                .contains("`!distribution`")
        );
    }

    #[test]
    fn debian_is_spelled_as_ansible_spells_it() {
        let out = "os_id=debian\nos_version_id=12\nos_version=12 (bookworm)\nos_codename=bookworm\nos_name=Debian GNU/Linux\ndebian_version=12.11\npasswd=root:x:0:0:root:/root:/bin/bash\nservice_mgr=systemd\nmeminfo=MemTotal:24683520 MemFree:8708096 \nvcpus=2\nroute4=8.8.8.8 via 192.0.2.1 dev eth0 src 192.0.2.2 uid 0 \naddr4=lo 127.0.0.1/8 scope host lo\naddr4=eth0 192.0.2.2/24 brd 192.0.2.255 scope global eth0\nlink=eth0 02:fc:00:00:00:01 1400 1\n__env__\nHOME=/root\0A=b\nc\0";
        let facts = parse(out);
        assert_eq!(facts["distribution"], "Debian");
        assert_eq!(facts["os_family"], "Debian");
        assert_eq!(facts["distribution_version"], "12.11");
        assert_eq!(facts["distribution_major_version"], "12");
        assert_eq!(facts["distribution_release"], "bookworm");
        assert_eq!(facts["user_uid"], 0);
        assert_eq!(facts["user_dir"], "/root");
        assert_eq!(facts["memtotal_mb"], 24105);
        assert_eq!(facts["selinux"], json!({"status": "disabled"}));
        assert_eq!(facts["all_ipv4_addresses"], json!(["192.0.2.2"]));
        assert_eq!(
            facts["default_ipv4"],
            json!({"address": "192.0.2.2", "alias": "eth0", "broadcast": "192.0.2.255",
                   "gateway": "192.0.2.1", "interface": "eth0", "macaddress": "02:fc:00:00:00:01",
                   "mtu": 1400, "netmask": "255.255.255.0", "network": "192.0.2.0",
                   "prefix": "24", "type": "ether"})
        );
        assert_eq!(facts["env"], json!({"HOME": "/root", "A": "b\nc"}));
    }

    #[test]
    fn red_hat_is_spelled_as_ansible_spells_it() {
        let facts = parse(
            "os_id=rhel\nos_version_id=9.4\nos_version=9.4 (Plow)\nos_name=Red Hat Enterprise Linux\nservice_mgr=systemd\nselinux_enforce=1\nselinux_policyvers=33\nselinux_config_mode=enforcing\nselinux_type=targeted\n",
        );
        assert_eq!(facts["distribution"], "RedHat");
        assert_eq!(facts["os_family"], "RedHat");
        assert_eq!(facts["distribution_major_version"], "9");
        assert_eq!(facts["distribution_release"], "Plow");
        assert_eq!(
            facts["selinux"],
            json!({"status": "enabled", "mode": "enforcing", "policyvers": 33,
                   "config_mode": "enforcing", "type": "targeted"})
        );
    }
}
