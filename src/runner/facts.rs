//! `gather_facts`: each host's facts as ansible-core's setup module names them, in one
//! round trip (the `setup` task type gathers them: src/tasks/setup.rs).

use std::time::Instant;

use super::{PlayScope, Runner};
use crate::report::{Event, Status};

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
                // Each host gathers its facts as soon as it is connected (an unreachable
                // one is reported as such under this task, as in ansible-core).
                if !self.connect_host(host, None, None).await {
                    return;
                }
                let started = Instant::now();
                self.reporter.emit(&Event::HostStart { host: host.clone() });
                let Some(connection) = self.state(host).connection.clone() else {
                    return;
                };
                let subsets = &scope.prepared.play.gather_subset;
                let result = crate::tasks::setup::gather(connection.as_ref(), subsets).await;
                let status = match result {
                    Ok(facts) => {
                        let mut state = self.state(host);
                        state.facts.extend(crate::tasks::setup::as_variables(facts));
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
