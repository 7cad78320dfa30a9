//! `gather_facts`: a few facts about each host, in one round trip.

use std::time::Instant;

use super::{PlayScope, Runner};
use crate::report::{Event, Status};
use crate::transport::Script;

const SCRIPT: &str = r#"printf 'hostname=%s\n' "$(uname -n)"
printf 'fqdn=%s\n' "$(hostname -f 2>/dev/null || uname -n)"
printf 'user_id=%s\n' "$(id -un)"
printf 'system=%s\n' "$(uname -s)"
printf 'kernel=%s\n' "$(uname -r)"
printf 'architecture=%s\n' "$(uname -m)"
if [ -r /etc/os-release ]; then . /etc/os-release; printf 'distribution=%s\ndistribution_version=%s\n' "${ID:-}" "${VERSION_ID:-}"; fi
"#;

impl Runner<'_> {
    pub(super) async fn gather_facts(&self, scope: &PlayScope<'_>) {
        let hosts = self.active(scope.batch);
        if hosts.is_empty() {
            return;
        }
        self.reporter.emit(&Event::TaskStart {
            task: "Gathering Facts".to_owned(),
            path: scope.prepared.play.span.to_string(),
            handler: false,
            action: None,
            hosts: hosts.len(),
            host_names: hosts.clone(),
        });
        let (_, abandoned) = self
            .each_host(&hosts, |host| async move {
                let started = Instant::now();
                self.reporter.emit(&Event::HostStart { host: host.clone() });
                let Some(connection) = self.state(host).connection.clone() else {
                    return;
                };
                let result = connection.run(&Script::new(SCRIPT)).await;
                let status = match result {
                    Ok(output) => {
                        let mut facts = serde_json::Map::new();
                        for line in output.stdout_lossy().lines() {
                            if let Some((key, value)) = line.split_once('=') {
                                facts.insert(key.to_owned(), value.to_owned().into());
                            }
                        }
                        let mut state = self.state(host);
                        for (key, value) in &facts {
                            state.facts.insert(format!("ansible_{key}"), value.clone());
                        }
                        state.facts.insert("ansible_facts".to_owned(), facts.into());
                        state.counts.ok += 1;
                        (Status::Ok, None)
                    }
                    Err(error) => {
                        let mut state = self.state(host);
                        state.unreachable = true;
                        state.counts.unreachable += 1;
                        (Status::Unreachable, Some(error.to_string()))
                    }
                };
                self.reporter.emit(&Event::bare_result(
                    host,
                    "Gathering Facts",
                    status.0,
                    status.1,
                    None,
                    started.elapsed().as_millis() as u64,
                ));
            })
            .await;
        for host in abandoned {
            self.report_abandoned(host, "Gathering Facts");
        }
    }
}
