//! An in-process SSH transport, as a prototype for `bench/fleet` (issue #21 item 4): what
//! quayside's per-task round trips would cost over `russh` in one process, without one
//! OpenSSH client process per host. Not part of quayside.
//!
//!     inprocess --fleet DIR --hosts N --tasks FILE [--kex DEFAULT|curve25519-sha256]
//!               [--lockstep]
//!
//! Connects to host1..hostN of a `scripts/fleet` fleet (DIR/port, DIR/id_ed25519, every host
//! at 127.0.X.Y as the fleet numbers them, user `quayside`), all hosts at once, checks each
//! host key strictly against DIR/known_hosts (an unknown or changed key fails the host),
//! authenticates with the fleet's key, opens ONE session per host running `sh`, and sends
//! the workload's tasks one after another: each task is written to that shell and its
//! answer (its exit status after its output) read back before the next is sent, one round
//! trip per task as quayside's remote shell does. FILE holds the tasks, separated by lines
//! `#--task--`; `@ROOT@` and `@HOST@` stand for the host's root directory and name.
//! With `--lockstep` every host waits for every other after each task (and after
//! connecting), as quayside's linear strategy does; without, each host goes on alone.
//! Prints one JSON line: hosts, ok, failed (the first few errors), wall seconds, the
//! seconds until every host was connected, and the process's peak RSS (VmHWM) in MB.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use russh::client;
use russh::keys::{PrivateKeyWithHashAlg, load_secret_key};
use russh::{ChannelMsg, kex};

struct Host {
    address: String,
    port: u16,
    known_hosts: Arc<PathBuf>,
}

impl client::Handler for Host {
    type Error = russh::Error;

    /// OpenSSH's `StrictHostKeyChecking yes` with one `UserKnownHostsFile`: the key must be
    /// recorded for `[address]:port`; a different key of the same type is refused as
    /// changed, an unknown one as unknown.
    async fn check_server_key(
        &mut self,
        key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        // A certificate is not checked against a CA here: refused.
        let russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } = key else {
            return Ok(false);
        };
        russh::keys::check_known_hosts_path(&self.address, self.port, key, &*self.known_hosts)
            .map_err(russh::Error::from)
    }
}

fn host_ip(i: usize) -> String {
    let k = i + 1;
    format!("127.0.{}.{}", k >> 8, k & 255)
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// One host: connect, check its key, authenticate, one session with `sh`, every task in
/// turn. Returns when it was connected (since START).
async fn run_host(
    i: usize,
    lockstep: Option<Arc<tokio::sync::Barrier>>,
    fleet: Arc<PathBuf>,
    config: Arc<client::Config>,
    key: Arc<russh::keys::PrivateKey>,
    tasks: Arc<Vec<String>>,
    start: Instant,
) -> Result<Duration, String> {
    let mut met = 0;
    let result = connect_and_run(i, &lockstep, &mut met, fleet, config, key, &tasks, start).await;
    // A failed host still meets the others at every step left, so that they go on.
    if let Some(barrier) = &lockstep {
        while met <= tasks.len() {
            barrier.wait().await;
            met += 1;
        }
    }
    result
}

#[allow(clippy::too_many_arguments)]
async fn connect_and_run(
    i: usize,
    lockstep: &Option<Arc<tokio::sync::Barrier>>,
    met: &mut usize,
    fleet: Arc<PathBuf>,
    config: Arc<client::Config>,
    key: Arc<russh::keys::PrivateKey>,
    tasks: &[String],
    start: Instant,
) -> Result<Duration, String> {
    let port: u16 = std::fs::read_to_string(fleet.join("port"))
        .map_err(|e| e.to_string())?
        .trim()
        .parse()
        .map_err(|_| "bad port file".to_owned())?;
    let address = host_ip(i);
    let handler = Host {
        address: address.clone(),
        port,
        known_hosts: Arc::new(fleet.join("known_hosts")),
    };
    let mut session = client::connect(config, (address.as_str(), port), handler)
        .await
        .map_err(|e| format!("host{i}: connect: {e}"))?;
    let hash = session
        .best_supported_rsa_hash()
        .await
        .map_err(|e| format!("host{i}: {e}"))?
        .flatten();
    let auth = session
        .authenticate_publickey("quayside", PrivateKeyWithHashAlg::new(key, hash))
        .await
        .map_err(|e| format!("host{i}: authenticate: {e}"))?;
    if !auth.success() {
        return Err(format!("host{i}: the key was refused"));
    }
    let mut channel = session
        .channel_open_session()
        .await
        .map_err(|e| format!("host{i}: session: {e}"))?;
    channel
        .exec(true, "sh")
        .await
        .map_err(|e| format!("host{i}: exec: {e}"))?;
    let connected = start.elapsed();
    if let Some(barrier) = lockstep {
        barrier.wait().await;
        *met += 1;
    }
    let root = fleet.join(format!("hosts/host{i}/root"));
    let root = root.to_string_lossy();
    let host = format!("host{i}");
    for (n, task) in tasks.iter().enumerate() {
        let script = task.replace("@ROOT@", &root).replace("@HOST@", &host);
        let request = format!("(\n{script}\n)\nprintf '\\n__done %s\\n' $?\n");
        channel
            .data_bytes(request.into_bytes())
            .await
            .map_err(|e| format!("host{i}: write: {e}"))?;
        let mut out = Vec::new();
        let status = loop {
            match channel.wait().await {
                Some(ChannelMsg::Data { data }) => {
                    out.extend_from_slice(&data);
                    if let Some(at) = find_done(&out) {
                        break at;
                    }
                }
                Some(ChannelMsg::ExtendedData { .. }) => {}
                Some(ChannelMsg::ExitStatus { exit_status }) => {
                    return Err(format!("host{i}: sh exited {exit_status} in task {n}"));
                }
                None | Some(ChannelMsg::Eof) | Some(ChannelMsg::Close) => {
                    return Err(format!("host{i}: the session closed in task {n}"));
                }
                Some(_) => {}
            }
        };
        if status != 0 {
            return Err(format!("host{i}: task {n} exited {status}"));
        }
        if let Some(barrier) = lockstep {
            barrier.wait().await;
            *met += 1;
        }
    }
    let _ = channel.eof().await;
    let _ = session
        .disconnect(russh::Disconnect::ByApplication, "", "en")
        .await;
    Ok(connected)
}

/// The status of a finished task: the `__done N` line at the end of its output.
fn find_done(out: &[u8]) -> Option<i32> {
    let text = std::str::from_utf8(out).ok()?;
    let last = text.strip_suffix('\n')?.rsplit('\n').next()?;
    last.strip_prefix("__done ")?.parse().ok()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(fleet), Some(hosts), Some(tasks)) = (
        arg(&args, "--fleet"),
        arg(&args, "--hosts"),
        arg(&args, "--tasks"),
    ) else {
        eprintln!("usage: inprocess --fleet DIR --hosts N --tasks FILE [--kex NAME|DEFAULT]");
        std::process::exit(2);
    };
    let hosts: usize = hosts.parse().expect("--hosts N");
    let lockstep = args.iter().any(|a| a == "--lockstep");
    let kex_name = arg(&args, "--kex").unwrap_or_else(|| "DEFAULT".to_owned());
    let fleet = Arc::new(PathBuf::from(fleet));
    let tasks: Arc<Vec<String>> = Arc::new(
        std::fs::read_to_string(Path::new(&tasks))
            .expect("tasks file")
            .split("\n#--task--\n")
            .map(str::to_owned)
            .collect(),
    );
    let key = Arc::new(load_secret_key(fleet.join("id_ed25519"), None).expect("the fleet's key"));
    let mut preferred = russh::Preferred::default();
    if kex_name != "DEFAULT" {
        // OpenSSH's `KexAlgorithms NAME`: that exchange only (plus the extension markers
        // russh needs), as `-o KexAlgorithms=` does for the OpenSSH client.
        let Ok(name) = kex::Name::try_from(kex_name.as_str()) else {
            eprintln!("inprocess: russh has no key exchange {kex_name}");
            std::process::exit(2);
        };
        preferred.kex = Cow::Owned(vec![
            name,
            kex::EXTENSION_SUPPORT_AS_CLIENT,
            kex::EXTENSION_OPENSSH_STRICT_KEX_AS_CLIENT,
        ]);
    }
    let config = Arc::new(client::Config {
        preferred,
        nodelay: true,
        ..Default::default()
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let start = Instant::now();
    let results = runtime.block_on(async {
        let barrier = lockstep.then(|| Arc::new(tokio::sync::Barrier::new(hosts)));
        let mut handles = Vec::with_capacity(hosts);
        for i in 1..=hosts {
            handles.push(tokio::spawn(run_host(
                i,
                barrier.clone(),
                fleet.clone(),
                config.clone(),
                key.clone(),
                tasks.clone(),
                start,
            )));
        }
        let mut results = Vec::with_capacity(hosts);
        for handle in handles {
            results.push(handle.await.unwrap_or_else(|e| Err(e.to_string())));
        }
        results
    });
    let wall = start.elapsed().as_secs_f64();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let connected = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .max()
        .map_or(0.0, Duration::as_secs_f64);
    let errors: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().cloned())
        .take(5)
        .collect();
    println!(
        "{{\"hosts\": {hosts}, \"ok\": {ok}, \"failed\": {}, \"errors\": {:?}, \"wall_s\": {wall:.3}, \"all_connected_s\": {connected:.3}, \"peak_rss_mb\": {:.1}, \"kex\": {kex_name:?}, \"lockstep\": {lockstep}}}",
        hosts - ok,
        errors,
        peak_rss_mb()
    );
    if ok != hosts {
        std::process::exit(1);
    }
}
