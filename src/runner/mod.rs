//! Running a playbook: plays, batches (`serial`), the linear strategy, blocks, handlers
//! and the recap.
//!
//! Each task runs on every active host of the batch concurrently (at most `forks` at a
//! time) before the next task starts, as Ansible's linear strategy does. A host that fails
//! leaves the play; the others go on.

pub(crate) mod async_job;
mod chain;
mod connect;
mod context;
mod delegate;
mod facts;
mod failed_task;
mod free;
mod include;
mod notify;
mod pipeline;
mod task;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use futures::StreamExt;

pub use connect::{ConnectSettings, become_user, connect, connection_vars};
pub use context::magic_variable_names;
pub use free::{check_strategy_options, check_strategy_placement};

use crate::diagnostic::Diagnostic;
use crate::interrupt::Interrupt;
use crate::inventory::Inventory;
use crate::playbook::{Meta, Play, Playbook, Serial, Strategy, Task, TaskBody};
use crate::report::{Counts, Event, Reporter, Status};
use crate::transport::Connection;
use crate::vars::Vars;
use crate::yaml::Node;

/// The message of a task the run gave up on while it was in flight on its host.
const GIVEN_UP: &str = "interrupted: quayside stopped waiting for this task; it may still finish on the host, or may not";

/// Everything from the command line that shapes a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub check: bool,
    pub diff: bool,
    pub forks: usize,
    pub tags: Vec<String>,
    pub skip_tags: Vec<String>,
    pub limit: Option<String>,
    pub extra_vars: Vars,
    pub verbosity: u8,
    pub connect: ConnectSettings,
    /// `--start-at-task`: tasks before the first one with this name do not run.
    pub start_at_task: Option<String>,
    /// `--step`: ask before each task.
    pub step: bool,
    /// ansible.cfg's `[privilege_escalation] become`: `become` where no task, block, play
    /// or inventory variable says.
    pub r#become: bool,
    /// ansible.cfg's `[privilege_escalation] become_user`, below every other source.
    pub become_user: Option<String>,
    /// `--force-handlers` (or ansible.cfg's `force_handlers`): a play's `force_handlers`
    /// when it does not say.
    pub force_handlers: bool,
    /// ansible.cfg's `[defaults] strategy`: the strategy of plays that name none.
    pub strategy: crate::playbook::Strategy,
    /// Send a host its next tasks before the answers to the earlier ones come back, where
    /// the result cannot differ (`pipeline.rs`); ansible.cfg's `pipelining = False` and
    /// `--no-pipelining` turn it off.
    pub pipelining: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            check: false,
            diff: false,
            forks: 50,
            tags: Vec::new(),
            skip_tags: Vec::new(),
            limit: None,
            extra_vars: Vars::new(),
            verbosity: 0,
            connect: ConnectSettings::default(),
            start_at_task: None,
            step: false,
            r#become: false,
            become_user: None,
            force_handlers: false,
            strategy: crate::playbook::Strategy::Linear,
            pipelining: true,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    pub hosts: BTreeMap<String, Counts>,
    /// Hosts that ended the run failed: those with a failure no `rescue` caught, and those
    /// `any_errors_fatal` failed (their recap shows no failure of their own, as in Ansible).
    pub failed_hosts: BTreeSet<String>,
    /// Failures `meta: clear_host_errors` cleared, per host: they no longer make the run
    /// fail (its recap still counts them, as Ansible's does).
    pub cleared: BTreeMap<String, u32>,
    pub interrupted: bool,
}

impl RunSummary {
    /// `ansible-playbook`'s exit codes: 2 a host failed, 3 a host was unreachable, 99
    /// interrupted. ansible-core exits 4 when a host was unreachable, whether or not
    /// another failed: that is `ansible_exit_code`.
    pub fn exit_code(&self) -> i32 {
        if self.interrupted {
            99
        } else if !self.failed_hosts.is_empty()
            || self
                .hosts
                .iter()
                .any(|(host, c)| c.failed > self.cleared.get(host).copied().unwrap_or(0))
        {
            2
        } else if self.any_unreachable() {
            3
        } else {
            0
        }
    }

    /// The exit code `ansible-playbook` 2.19 gives the same run (`--ansible-exit-codes`):
    /// its code for unreachable hosts (4, which it also gives a playbook it cannot read)
    /// wins over its code for failed ones.
    pub fn ansible_exit_code(&self) -> i32 {
        if !self.interrupted && self.any_unreachable() {
            4
        } else {
            self.exit_code()
        }
    }

    fn any_unreachable(&self) -> bool {
        self.hosts.values().any(|c| c.unreachable > 0)
    }
}

/// A play with the hosts it selects and its variables read, ready to run.
#[derive(Debug, Clone)]
pub struct PreparedPlay {
    pub play: Play,
    /// The play's name with its templates rendered (the host pattern if it has none).
    pub name: String,
    pub hosts: Vec<String>,
    /// `vars` then `vars_files`, merged.
    pub vars: Vars,
    /// Where each of `vars` was written.
    pub origins: crate::vars::Origins,
}

/// Select each play's hosts and read its `vars_files`: everything that can fail before a
/// host is touched. `quayside validate` stops here.
pub fn prepare(
    playbook: &Playbook,
    inventory: &Inventory,
    options: &RunOptions,
) -> Result<(Vec<PreparedPlay>, Vec<String>), Diagnostic> {
    let mut warnings = Vec::new();
    let limit = match &options.limit {
        Some(pattern) => Some(
            crate::inventory::select(inventory, pattern)
                .map_err(|message| Diagnostic::new(format!("--limit: {message}")))?,
        ),
        None => None,
    };
    let mut plays = Vec::new();
    let groups = inventory.group_members();
    for play in &playbook.plays {
        let mut vars = play.vars.clone();
        let mut origins = play.var_origins.clone();
        for file in &play.vars_files {
            let mut scope = vars.clone();
            scope.extend(options.extra_vars.clone());
            let ctx = minijinja::Value::from_serialize(&scope);
            let name = file.as_str().ok_or_else(|| {
                Diagnostic::at("a `vars_files` entry must be a path", file.span.clone())
            })?;
            let name = crate::template::render_str(name, &file.span, &ctx)?;
            let path = playbook.dir().join(&name);
            let (loaded, loaded_origins) = crate::vars::load_vars_file_with_origins(&path)
                .map_err(|error| {
                    if path.exists() {
                        error
                    } else {
                        Diagnostic::at(format!("vars file `{name}` not found"), file.span.clone())
                            .with_hint(format!("looked for `{}`", path.display()))
                    }
                })?;
            vars.extend(loaded);
            origins.extend(loaded_origins);
        }
        // As Ansible: the host pattern and the play's name are templates over the play's
        // variables, `--extra-vars` and `groups` (no host's variables yet).
        let mut scope = vars.clone();
        scope.extend(options.extra_vars.clone());
        let mut ctx = scope
            .iter()
            .map(|(k, v)| (k.clone(), minijinja::Value::from_serialize(v)))
            .collect::<BTreeMap<String, minijinja::Value>>();
        ctx.insert("groups".into(), minijinja::Value::from_serialize(&groups));
        let ctx = minijinja::Value::from(ctx);
        let pattern = crate::template::render_str(&play.hosts, &play.hosts_span, &ctx)?;
        let name = if play.name.is_empty() {
            pattern.clone()
        } else {
            crate::template::render_str(&play.name, &play.span, &ctx)
                .unwrap_or_else(|_| play.name.clone())
        };
        let mut hosts = crate::inventory::select(inventory, &pattern)
            .map_err(|message| Diagnostic::at(message, play.hosts_span.clone()))?;
        let mut play = play.clone();
        if crate::playbook::has_templated_handler_names(&play.handlers) {
            let unusable = notify::render_handler_names(&mut play, &ctx);
            // With every name rendered, a notification no handler answers is refused
            // now; otherwise (ansible-core is lazy here) it is a warning when it notifies.
            if unusable.is_empty() {
                crate::playbook::check_notified_handlers(&play)?;
            }
            warnings.extend(unusable);
        }
        if let Some(limit) = &limit {
            hosts.retain(|h| limit.contains(h));
        }
        if hosts.is_empty() {
            warnings.push(format!(
                "no hosts matched `{pattern}` for play `{name}`; skipping it"
            ));
        }
        plays.push(PreparedPlay {
            play,
            name,
            hosts,
            vars,
            origins,
        });
    }
    Ok((plays, warnings))
}

/// `--start-at-task NAME` must name a task of the playbook, checked before anything runs:
/// a name that matches nothing would otherwise skip every task and look like success.
/// Handlers are not places to start: nothing before them would notify them.
pub fn check_start_at_task(playbook: &Playbook, name: &str) -> Result<(), Diagnostic> {
    let known: Vec<&str> = playbook
        .plays
        .iter()
        .flat_map(|play| [&play.pre_tasks, &play.roles, &play.tasks, &play.post_tasks])
        .flat_map(|section| crate::playbook::flatten(section))
        .filter_map(|task| task.name.as_deref())
        .collect();
    if known.contains(&name) {
        return Ok(());
    }
    let mut message = format!("--start-at-task: no task is named `{name}`");
    if let Some(suggestion) = crate::diagnostic::did_you_mean(name, known.iter().copied()) {
        message.push_str(&format!(" — did you mean `{suggestion}`?"));
    }
    Err(Diagnostic::new(message).with_hint(format!(
        "the name must match a task's `name` exactly; `quayside list-tasks {}` lists them",
        playbook.path.display()
    )))
}

/// Per-host state that lasts the whole run.
#[derive(Default)]
struct HostState {
    /// Registered results, `set_fact` values and gathered facts.
    facts: Vars,
    /// The host runs no further task of the list it is in (a `rescue` or `always` may
    /// still run for it).
    failed: bool,
    /// It failed where a `rescue` will run: that failure is counted as `rescued`, and does
    /// not count towards `max_fail_percentage`.
    rescue_pending: bool,
    /// `any_errors_fatal` (or a failed `run_once` task) failed it: it may still run the
    /// `rescue` and the rest of this play, but no later play, and the run exits 2.
    fatal: bool,
    /// `fatal`, and it ran a `rescue`: as ansible-core 2.19.14, the run exits 2 for it
    /// only if a later play starts (which it takes no part in).
    fatal_rescued: bool,
    unreachable: bool,
    /// `meta: end_host`: the host does nothing more in this play.
    ended: bool,
    /// `meta: end_role`: the uses of roles (by address) the host runs no more of.
    ended_roles: Vec<usize>,
    /// How many of its failures `meta: clear_host_errors` cleared.
    cleared_failures: u32,
    counts: Counts,
    notified: BTreeSet<String>,
    connection: Option<Arc<dyn Connection>>,
    /// The `remote_user` the connection was opened with: a task or play with another one
    /// uses another connection.
    connected_as: Option<String>,
    /// Connections opened as other users, kept for the tasks that connect as them again.
    idle: Vec<Pooled>,
}

impl HostState {
    fn active(&self) -> bool {
        !self.failed && !self.unreachable && !self.ended
    }

    /// Makes the connection opened as `user` the current one, if there is one (the current
    /// one is kept aside for later); false when there is none and one must be opened.
    fn use_connection_as(&mut self, user: Option<&str>) -> bool {
        if self.connection.is_some() && self.connected_as.as_deref() == user {
            return true;
        }
        let found = self
            .idle
            .iter()
            .position(|(_, opened_as)| opened_as.as_deref() == user)
            .map(|index| self.idle.swap_remove(index));
        if let Some(current) = self.connection.take() {
            self.idle.push((current, self.connected_as.take()));
        }
        let Some((connection, opened_as)) = found else {
            return false;
        };
        self.connection = Some(connection);
        self.connected_as = opened_as;
        true
    }
}

/// Keywords a block passes down to the tasks in it.
#[derive(Debug, Clone, Default)]
struct Inherited {
    when: Vec<Node>,
    tags: BTreeSet<String>,
    r#become: Option<bool>,
    become_user: Option<String>,
    environment: Vec<Node>,
    ignore_errors: bool,
    no_log: bool,
    check_mode: Option<bool>,
    /// `diff` on the task, a block or the play: over `--diff`.
    diff: Option<bool>,
    /// `remote_user` on the task or a block (as written): over the play's.
    remote_user: Option<(String, crate::source::Span)>,
    run_once: bool,
    delegate_to: Option<(String, crate::source::Span)>,
    delegate_facts: Option<bool>,
    /// Inside the `block` of a block that has a `rescue` (at any depth): a failure here is
    /// rescued, as Ansible counts it.
    rescuable: bool,
    /// The role the task belongs to (the innermost).
    role: Option<Arc<crate::playbook::Role>>,
    /// Running as a handler (or included by one): shown as `RUNNING HANDLER`, and run when
    /// notified whatever `--tags` select, as in Ansible.
    handler: bool,
    /// The roles it is in, outermost first (a role imported inside another's tasks sees
    /// that role's defaults, vars and parameters below its own, as in Ansible).
    roles: Vec<Arc<crate::playbook::Role>>,
    /// Block and task `vars:`, outer first.
    vars: Vars,
    /// The `vars:` of the includes (`include_tasks`, `include_role`) the task is in: above
    /// `set_fact`, as Ansible's include parameters.
    params: Vars,
    var_origins: crate::vars::Origins,
    /// The task itself (the innermost): where it was written, and whether Ansible runs it
    /// as an action plugin alone (`debug`, `fail`...: its failures are `Action failed`,
    /// a module's `Module failed`).
    origin: Option<(crate::source::Span, bool)>,
}

impl Inherited {
    /// Now inside `role` (a no-op when already in it).
    fn enter(&mut self, role: &Arc<crate::playbook::Role>) {
        if !self.roles.iter().any(|r| Arc::ptr_eq(r, role)) {
            self.roles.push(role.clone());
        }
        self.role = Some(role.clone());
    }

    fn with(&self, task: &Task) -> Inherited {
        let mut next = self.clone();
        next.when.extend(task.when.iter().cloned());
        next.tags.extend(task.tags.iter().cloned());
        next.r#become = task.r#become.or(next.r#become);
        next.become_user = task.become_user.clone().or(next.become_user);
        next.environment.extend(task.environment.iter().cloned());
        next.ignore_errors |= task.ignore_errors;
        next.no_log |= task.no_log;
        next.check_mode = task.check_mode.or(next.check_mode);
        next.diff = task.diff.or(next.diff);
        next.remote_user = task.remote_user.clone().or(next.remote_user);
        next.run_once |= task.run_once;
        next.delegate_to = task.delegate_to.clone().or(next.delegate_to);
        next.delegate_facts = task.delegate_facts.or(next.delegate_facts);
        if let Some(role) = &task.role {
            next.enter(role);
        }
        next.vars.extend(task.vars.clone());
        next.var_origins.extend(task.var_origins.clone());
        let action = match &task.body {
            crate::playbook::TaskBody::Action { kind, .. } => kind.on_controller(),
            _ => false,
        };
        next.origin = Some((task.span.clone(), action));
        next
    }
}

/// One run of one playbook.
pub struct Runner<'a> {
    inventory: &'a Inventory,
    playbook: &'a Playbook,
    options: &'a RunOptions,
    /// The run's reporter, through the banners of the `free` strategy.
    reporter: free::Output<'a>,
    interrupt: Arc<Interrupt>,
    hosts: HashMap<String, Mutex<HostState>>,
    /// Every host's inventory variables, computed once.
    inventory_vars: HashMap<String, Vars>,
    groups: Arc<BTreeMap<String, Vec<String>>>,
    /// The playbook's directory, absolute, for `playbook_dir`.
    playbook_dir: String,
    /// Whether `--start-at-task` has reached its task.
    started: AtomicBool,
    /// `--step` still asks (until answered `c`).
    stepping: AtomicBool,
    /// Public roles `include_role` ran in the current play: their defaults and vars are
    /// seen by the play's tasks from then on.
    included_roles: Mutex<Vec<Arc<crate::playbook::Role>>>,
    /// Handlers of roles `include_role` read when it ran (a templated name), in the
    /// current play: they follow the play's own.
    dynamic_handlers: Mutex<Vec<Task>>,
    /// The running play's `remote_user`.
    remote_user: Mutex<Option<String>>,
    /// Connections to hosts the inventory does not name that tasks were delegated to,
    /// with the `remote_user` each was opened as.
    others: Mutex<HashMap<String, Pooled>>,
    /// A lock per host a task is delegated to, held while its connection is opened.
    dialing: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// What a task must not read to be pipelined (`pipeline::host_written_names`).
    written: BTreeSet<String>,
    /// Results of pipelined units waiting for their task's turn (`chain.rs`).
    prefetched: Mutex<HashMap<chain::UnitKey, tokio::sync::oneshot::Receiver<chain::Unit>>>,
    /// The units a chain sent to their host: one whose chain was given up on before it
    /// answered was in flight there, not "not started".
    sent: Mutex<BTreeSet<chain::UnitKey>>,
    /// Counts the times hosts were connected, for chains waiting for their host's.
    connects: tokio::sync::watch::Sender<u64>,
}

/// A connection kept for the run, with the `remote_user` it was opened as.
type Pooled = (Arc<dyn Connection>, Option<String>);

/// Why a play stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// `any_errors_fatal`, `max_fail_percentage` or every host of a batch failed.
    Abort,
    /// `meta: end_play`.
    EndPlay,
    /// `meta: end_batch`: this batch ends, the play goes on with the next.
    EndBatch,
    Interrupted,
}

impl<'a> Runner<'a> {
    pub fn new(
        inventory: &'a Inventory,
        playbook: &'a Playbook,
        options: &'a RunOptions,
        reporter: &'a dyn Reporter,
        interrupt: Arc<Interrupt>,
    ) -> Self {
        let hosts = inventory
            .hosts
            .keys()
            .map(|h| (h.clone(), Mutex::new(HostState::default())))
            .collect();
        let inventory_vars: HashMap<String, Vars> = inventory
            .hosts
            .keys()
            .map(|h| (h.clone(), inventory.host_vars(h)))
            .collect();
        let mut definitions: Vec<&Vars> = inventory_vars.values().collect();
        definitions.push(&options.extra_vars);
        let written = pipeline::host_written_names(playbook, &definitions);
        Self {
            written,
            prefetched: Mutex::new(HashMap::new()),
            sent: Mutex::new(BTreeSet::new()),
            connects: tokio::sync::watch::Sender::new(0),
            inventory,
            playbook,
            options,
            reporter: free::Output::new(reporter),
            interrupt,
            hosts,
            inventory_vars,
            groups: Arc::new(inventory.group_members()),
            playbook_dir: std::fs::canonicalize(playbook.dir())
                .unwrap_or_else(|_| playbook.dir().to_owned())
                .display()
                .to_string(),
            started: AtomicBool::new(false),
            stepping: AtomicBool::new(options.step),
            included_roles: Mutex::new(Vec::new()),
            dynamic_handlers: Mutex::new(Vec::new()),
            remote_user: Mutex::new(None),
            others: Mutex::new(HashMap::new()),
            dialing: Mutex::new(HashMap::new()),
        }
    }

    fn state(&self, host: &str) -> std::sync::MutexGuard<'_, HostState> {
        self.hosts[host]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn active(&self, hosts: &[String]) -> Vec<String> {
        hosts
            .iter()
            .filter(|h| self.state(h).active())
            .cloned()
            .collect()
    }

    fn is_interrupted(&self) -> bool {
        self.interrupt.is_stopping()
    }

    /// Run `work` on every host, at most `forks` at once, until every host is done or the
    /// run abandons its tasks in flight. Returns what the finished hosts gave, and the
    /// hosts that had not finished (in their order in `hosts`).
    async fn each_host<'h, T, Fut>(
        &self,
        hosts: &'h [String],
        work: impl Fn(&'h String) -> Fut,
    ) -> (Vec<T>, Vec<&'h String>)
    where
        Fut: Future<Output = T>,
    {
        let forks = self.options.forks.max(1);
        let mut busy: BTreeSet<&String> = hosts.iter().collect();
        let stream = futures::stream::iter(hosts.iter().map(|host| {
            let work = work(host);
            async move { (host, work.await) }
        }))
        .buffer_unordered(forks);
        let mut stream = std::pin::pin!(stream);
        let mut done = Vec::new();
        // Under `free`, the host's fork for this work, unless its task holds one already
        // (none needed otherwise).
        let _fork = free::fork().await;
        while let Some(Some((host, value))) = self.interrupt.unless_abandoned(stream.next()).await {
            busy.remove(host);
            done.push(value);
        }
        let abandoned = hosts.iter().filter(|h| busy.contains(h)).collect();
        (done, abandoned)
    }

    /// A host whose task the run gave up on: it is reported and counted as interrupted.
    fn report_abandoned(&self, host: &str, task: &str) {
        self.state(host).counts.interrupted += 1;
        self.reporter.emit(&Event::bare_result(
            host,
            task,
            Status::Interrupted,
            Some(GIVEN_UP.to_owned()),
            None,
            0,
        ));
    }

    pub async fn run(&self, plays: &[PreparedPlay], warnings: &[String]) -> RunSummary {
        self.reporter.emit(&Event::PlaybookStart {
            playbook: self.playbook.path.display().to_string(),
            check: self.options.check,
        });
        for message in warnings {
            self.reporter.emit(&Event::Warning {
                message: message.clone(),
            });
        }
        let mut touched: BTreeSet<String> = BTreeSet::new();
        for prepared in plays {
            if prepared.hosts.is_empty() {
                continue;
            }
            touched.extend(prepared.hosts.iter().cloned());
            for host in self.hosts.keys() {
                self.state(host).fatal_rescued = false;
            }
            let stop = self.run_play(prepared).await;
            if matches!(stop, Some(Stop::Abort | Stop::Interrupted)) {
                break;
            }
            if self.is_interrupted() {
                break;
            }
        }
        let round_trips: BTreeMap<String, u64> = self
            .hosts
            .keys()
            .filter_map(|host| {
                let trips = self.state(host).connection.as_ref()?.round_trips();
                (trips > 0).then(|| (host.clone(), trips))
            })
            .collect();
        // Every host at once (those tasks were delegated to as well): closing may first
        // stop a script an interrupt gave up on.
        let mut connections: Vec<_> = self
            .hosts
            .keys()
            .filter_map(|host| self.state(host).connection.take())
            .collect();
        connections.extend(
            std::mem::take(&mut *self.others.lock().unwrap_or_else(|e| e.into_inner()))
                .into_values()
                .map(|(connection, _)| connection),
        );
        crate::plugins::run::cleanup(&connections).await;
        futures::future::join_all(connections.iter().map(|connection| connection.close())).await;
        // As Ansible's recap: hosts of a batch that never started (after a failed batch)
        // are not listed.
        touched.retain(|h| self.state(h).counts != Counts::default());
        let summary = RunSummary {
            hosts: touched
                .iter()
                .map(|h| (h.clone(), self.state(h).counts))
                .collect(),
            failed_hosts: touched
                .iter()
                .filter(|h| {
                    let state = self.state(h);
                    (state.failed || state.fatal) && !state.unreachable && !state.fatal_rescued
                })
                .cloned()
                .collect(),
            cleared: touched
                .iter()
                .map(|h| (h.clone(), self.state(h).cleared_failures))
                .filter(|(_, cleared)| *cleared > 0)
                .collect(),
            interrupted: self.is_interrupted(),
        };
        // Handlers do not run after an interrupt. What notified them (a new config bundle)
        // is in place, and a rerun would find nothing to change and notify nothing: say
        // which handlers each host still needs.
        let mut handlers_not_run: BTreeMap<String, Vec<String>> = BTreeMap::new();
        if summary.interrupted {
            for host in &touched {
                for name in &self.state(host).notified {
                    handlers_not_run
                        .entry(name.clone())
                        .or_default()
                        .push(host.clone());
                }
            }
        }
        self.reporter.emit(&Event::Recap {
            hosts: summary.hosts.clone(),
            interrupted: summary.interrupted,
            handlers_not_run,
            round_trips,
        });
        summary
    }

    async fn run_play(&self, prepared: &PreparedPlay) -> Option<Stop> {
        let play = &prepared.play;
        let name = prepared.name.clone();
        // Hosts that failed in an earlier play do not take part in later ones; hosts that
        // ended one (`meta: end_host`, `end_play`) do.
        for host in &prepared.hosts {
            self.state(host).ended = false;
        }
        let hosts = self.active(&prepared.hosts);
        self.reporter.emit(&Event::PlayStart {
            name,
            hosts: hosts.clone(),
        });
        self.included_roles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.dynamic_handlers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        play.remote_user
            .clone_into(&mut self.remote_user.lock().unwrap_or_else(|e| e.into_inner()));
        let inherited = Inherited {
            tags: play.tags.iter().cloned().collect(),
            r#become: play.r#become,
            become_user: play.become_user.clone(),
            environment: play.environment.iter().cloned().collect(),
            diff: play.diff,
            ..Inherited::default()
        };
        self.reporter.set_strategy(play.strategy);
        for batch in batches(&hosts, &play.serial) {
            let stop = match play.strategy {
                Strategy::Linear => self.run_batch(prepared, &batch, &inherited).await,
                _ => self.run_batch_free(prepared, &batch, &inherited).await,
            };
            // Hosts `any_errors_fatal` failed take no part in later plays.
            for host in &batch {
                let mut state = self.state(host);
                state.failed |= state.fatal;
            }
            if stop.is_some() && stop != Some(Stop::EndBatch) {
                return stop;
            }
            let lost = batch
                .iter()
                .filter(|h| {
                    let state = self.state(h);
                    state.failed || state.unreachable
                })
                .count();
            if lost == batch.len() {
                // Every host of the batch failed: Ansible ends the playbook there.
                return Some(Stop::Abort);
            }
        }
        None
    }

    async fn run_batch(
        &self,
        prepared: &PreparedPlay,
        batch: &[String],
        inherited: &Inherited,
    ) -> Option<Stop> {
        let play = &prepared.play;
        let scope = PlayScope { prepared, batch };
        if play.gather_facts && !self.is_interrupted() {
            self.gather_facts(&scope).await;
        }
        for section in play.sections() {
            for list in section {
                // `meta: end_play` ends the play: its later batches too, as in ansible-core.
                if let Some(stop) = self.run_list(&scope, list, batch, inherited).await {
                    return Some(stop);
                }
            }
            if let Some(stop) = self.flush_section_handlers(&scope, batch, inherited).await {
                return Some(stop);
            }
        }
        None
    }

    /// With `force_handlers` (the play's, or else `--force-handlers`): the hosts of the
    /// batch that failed with handlers still notified. As ansible-core 2.19.14, they run
    /// those at the end of the section they failed in, and nothing after.
    fn forced_handler_hosts(&self, scope: &PlayScope<'_>, hosts: &[String]) -> Vec<String> {
        let play = &scope.prepared.play;
        if !play.force_handlers.unwrap_or(self.options.force_handlers) {
            return Vec::new();
        }
        hosts
            .iter()
            .filter(|h| {
                let state = self.state(h);
                state.failed && !state.unreachable && !state.notified.is_empty()
            })
            .cloned()
            .collect()
    }

    /// Run a list of tasks on `hosts`, task by task (pipelined where it may be).
    async fn run_list(
        &self,
        scope: &PlayScope<'_>,
        tasks: &[Task],
        hosts: &[String],
        inherited: &Inherited,
    ) -> Option<Stop> {
        self.run_list_with(scope, tasks, hosts, inherited, false)
            .await
    }

    /// How many tasks from the first of `tasks` make a segment that may be pipelined
    /// (`pipeline.rs`): each a selected plain action that may follow the one before it.
    fn segment_len(&self, scope: &PlayScope<'_>, tasks: &[Task], inherited: &Inherited) -> usize {
        // Under `free` and `host_pinned` each host runs its own segments (`run_list` with
        // one host), holding its fork for the whole segment (`run_segment`), where nothing
        // another host does can stop it between two tasks (`free::may_pipeline`).
        if !self.options.pipelining
            || (scope.prepared.play.strategy != Strategy::Linear && !self.free_may_pipeline(scope))
            || self.stepping.load(Ordering::SeqCst)
            || inherited.handler
            || (self.options.start_at_task.is_some() && !self.started.load(Ordering::SeqCst))
        {
            return 0;
        }
        let play = &scope.prepared.play;
        // A list read when it runs (an include) may write names the playbook's tasks do
        // not: they count too, with the variables of the roles it is in.
        let mut written = std::borrow::Cow::Borrowed(&self.written);
        let more = pipeline::list_writes(tasks, self.playbook.dir());
        if !more.is_subset(&self.written) {
            let names = written.to_mut();
            names.extend(more);
            let included = self
                .included_roles
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            let mut definitions: Vec<&Vars> = vec![
                &scope.prepared.vars,
                &play.role_defaults,
                &play.role_vars,
                &inherited.vars,
                &inherited.params,
            ];
            for role in inherited.roles.iter().chain(&included) {
                definitions.extend([&role.defaults, &role.vars, &role.params]);
            }
            pipeline::close_over(names, &definitions);
        }
        let written = written.as_ref();
        if pipeline::inherited_reads_written(
            &inherited.when,
            &inherited.environment,
            &[&inherited.vars, &inherited.params],
            written,
        ) {
            return 0;
        }
        tasks
            .iter()
            .take_while(|task| {
                matches!(task.body, TaskBody::Action { .. })
                    && self.task_selected(task, inherited)
                    && pipeline::not_pipelinable(task, play, self.playbook.dir(), written).is_none()
                    && {
                        let effective = inherited.with(task);
                        !effective.run_once
                            && effective.delegate_to.is_none()
                            && effective.remote_user.is_none()
                    }
            })
            .count()
    }

    /// [`Self::run_list`], looking for segments to pipeline, or running the tasks of one
    /// (`in_segment`).
    async fn run_list_with(
        &self,
        scope: &PlayScope<'_>,
        tasks: &[Task],
        hosts: &[String],
        inherited: &Inherited,
        in_segment: bool,
    ) -> Option<Stop> {
        let mut next = 0;
        while let Some(task) = tasks.get(next) {
            let at = next;
            next += 1;
            let mut active = self.active(hosts);
            if self.is_interrupted() {
                // In a pipelined segment, hosts may have run this task ahead before the
                // interrupt: what they ran is reported; nothing starts anew.
                if !in_segment {
                    return Some(Stop::Interrupted);
                }
                active = self.ran_ahead(task, &active).await;
                if active.is_empty() {
                    return Some(Stop::Interrupted);
                }
            }
            if active.is_empty() {
                return None;
            }
            // Hosts that ended this use of the role (`meta: end_role`) skip the rest of it.
            let in_roles: Vec<usize> = inherited
                .roles
                .iter()
                .chain(task.role.iter())
                .map(|role| Arc::as_ptr(role) as usize)
                .collect();
            if !in_roles.is_empty() {
                active.retain(|h| {
                    let state = self.state(h);
                    !in_roles.iter().any(|r| state.ended_roles.contains(r))
                });
                if active.is_empty() {
                    continue;
                }
            }
            match &task.body {
                TaskBody::Action { .. } | TaskBody::Templated(_) => {
                    let length = if !in_segment {
                        self.segment_len(scope, &tasks[at..], inherited)
                    } else {
                        0
                    };
                    if length >= 2 {
                        next = at + length;
                        let segment = &tasks[at..next];
                        if let Some(stop) =
                            self.run_segment(scope, segment, &active, inherited).await
                        {
                            return Some(stop);
                        }
                        continue;
                    }
                    self.run_task(scope, task, &active, inherited, false).await;
                    if let Some(stop) = self.after_task(scope, &inherited.with(task), &active) {
                        return Some(stop);
                    }
                }
                TaskBody::Block {
                    block,
                    rescue,
                    always,
                } => {
                    if let Some(stop) = self
                        .run_block(scope, task, (block, rescue, always), &active, inherited)
                        .await
                    {
                        return Some(stop);
                    }
                }
                TaskBody::Include(include) => {
                    if let Some(stop) =
                        Box::pin(self.run_include(scope, task, include, &active, inherited)).await
                    {
                        return Some(stop);
                    }
                }
                TaskBody::Meta(Meta::FlushHandlers) => {
                    // As Ansible: only the hosts its `when` holds for run their handlers now.
                    let flushing = self.when_holds(scope, task, &active, inherited);
                    self.meta_skipped(scope, task, inherited, &active, &flushing);
                    if let Some(stop) = self.flush_handlers(scope, &flushing, inherited).await {
                        return Some(stop);
                    }
                }
                TaskBody::Meta(meta @ (Meta::EndPlay | Meta::EndBatch)) => {
                    // As ansible-core's linear strategy: `end_play` (and `end_batch`) runs
                    // once, its `when` read for the first host that reaches it.
                    if self.task_selected(task, inherited) {
                        let ending = self.when_holds(scope, task, &active[..1], inherited);
                        self.meta_skipped(scope, task, inherited, &active[..1], &ending);
                        if !ending.is_empty() {
                            return Some(match meta {
                                Meta::EndPlay => Stop::EndPlay,
                                _ => Stop::EndBatch,
                            });
                        }
                    }
                }
                TaskBody::Meta(Meta::ClearHostErrors) => {
                    if self.task_selected(task, inherited) {
                        let clearing = self.when_holds(scope, task, &active, inherited);
                        self.meta_skipped(scope, task, inherited, &active, &clearing);
                        if !clearing.is_empty() {
                            // As ansible-core 2.19.14: every host of the play is no longer
                            // failed nor unreachable; one that was stays out of the rest of
                            // this play, and takes part in the next.
                            for host in &scope.prepared.hosts {
                                let mut state = self.state(host);
                                if state.failed || state.unreachable || state.fatal {
                                    state.failed = false;
                                    state.unreachable = false;
                                    state.fatal = false;
                                    state.ended = true;
                                    state.cleared_failures = state.counts.failed;
                                }
                            }
                        }
                    }
                }
                TaskBody::Meta(Meta::ResetConnection) => {
                    if self.task_selected(task, inherited) {
                        let resetting = self.when_holds(scope, task, &active, inherited);
                        self.meta_skipped(scope, task, inherited, &active, &resetting);
                        for host in resetting {
                            let mut state = self.state(&host);
                            state.connection = None;
                            state.connected_as = None;
                            state.idle.clear();
                        }
                    }
                }
                TaskBody::Meta(Meta::EndHost) => {
                    if self.task_selected(task, inherited) {
                        let ending = self.when_holds(scope, task, &active, inherited);
                        self.meta_skipped(scope, task, inherited, &active, &ending);
                        for host in ending {
                            self.state(&host).ended = true;
                        }
                    }
                }
                TaskBody::Meta(Meta::EndRole) => {
                    if self.task_selected(task, inherited) {
                        self.end_role(scope, task, &active, inherited);
                    }
                }
                TaskBody::Meta(Meta::Noop) => {
                    if self.task_selected(task, inherited) {
                        self.meta_skipped(scope, task, inherited, &active, &active);
                        if !task.when.is_empty() {
                            self.reporter.emit(&Event::Warning {
                                message: "noop task does not support when conditional".into(),
                            });
                        }
                    }
                }
            }
        }
        None
    }

    /// `meta: end_role` on the hosts its `when` holds for.
    fn end_role(
        &self,
        scope: &PlayScope<'_>,
        task: &Task,
        hosts: &[String],
        inherited: &Inherited,
    ) {
        let effective = inherited.with(task);
        let Some(role) = &effective.role else {
            return;
        };
        let role = Arc::as_ptr(role) as usize;
        for host in self.when_holds(scope, task, hosts, inherited) {
            self.state(&host).ended_roles.push(role);
        }
    }

    /// The hosts a `meta` task's `when` (with its blocks' and roles') holds for.
    fn when_holds(
        &self,
        scope: &PlayScope<'_>,
        task: &Task,
        hosts: &[String],
        inherited: &Inherited,
    ) -> Vec<String> {
        let effective = inherited.with(task);
        let run = self.task_run(scope, &effective);
        hosts
            .iter()
            .filter(|host| {
                let ctx = self.context(scope, host, &run);
                effective
                    .when
                    .iter()
                    .all(|condition| crate::template::eval_condition(condition, &ctx) == Ok(true))
            })
            .cloned()
            .collect()
    }

    /// A `block` with its `rescue` and `always`, as Ansible runs them: hosts that fail in
    /// the block run the rescue (their failure was counted as rescued); every host that
    /// started the block runs `always`, and hosts still failed afterwards stay failed.
    async fn run_block(
        &self,
        scope: &PlayScope<'_>,
        task: &Task,
        (block, rescue, always): (&[Task], &[Task], &[Task]),
        active: &[String],
        inherited: &Inherited,
    ) -> Option<Stop> {
        let stop = self
            .run_block_inner(scope, task, (block, rescue, always), active, inherited)
            .await;
        // Leaving a use of a role: `meta: end_role` in it no longer applies.
        if let Some(role) = &task.role {
            let entered = inherited
                .role
                .as_ref()
                .is_none_or(|outer| !Arc::ptr_eq(outer, role));
            if entered {
                let role = Arc::as_ptr(role) as usize;
                for host in active {
                    self.state(host).ended_roles.retain(|r| *r != role);
                }
            }
        }
        stop
    }

    async fn run_block_inner(
        &self,
        scope: &PlayScope<'_>,
        task: &Task,
        (block, rescue, always): (&[Task], &[Task], &[Task]),
        active: &[String],
        inherited: &Inherited,
    ) -> Option<Stop> {
        let inner = inherited.with(task);
        let mut in_block = inner.clone();
        in_block.rescuable |= !rescue.is_empty();
        if let Some(stop) = Box::pin(self.run_list(scope, block, active, &in_block)).await {
            return Some(stop);
        }
        if !rescue.is_empty() {
            let failed: Vec<String> = active
                .iter()
                .filter(|h| {
                    let state = self.state(h);
                    state.failed && !state.unreachable
                })
                .cloned()
                .collect();
            for host in &failed {
                let mut state = self.state(host);
                state.failed = false;
                state.rescue_pending = false;
                // A host `any_errors_fatal` failed recovers in the rescue, as far as this
                // play goes (ansible-core's 80981 target exits 0).
                state.fatal_rescued |= state.fatal;
            }
            if !failed.is_empty() {
                if let Some(stop) = Box::pin(self.run_list(scope, rescue, &failed, &inner)).await {
                    return Some(stop);
                }
            }
        }
        if !always.is_empty() {
            // `always` runs on hosts that failed in the block too; they stay failed
            // afterwards.
            let still_failed: Vec<String> = active
                .iter()
                .filter(|h| self.state(h).failed)
                .cloned()
                .collect();
            for host in &still_failed {
                self.state(host).failed = false;
            }
            let reachable: Vec<String> = active
                .iter()
                .filter(|h| !self.state(h).unreachable)
                .cloned()
                .collect();
            let stop = Box::pin(self.run_list(scope, always, &reachable, &inner)).await;
            for host in &still_failed {
                self.state(host).failed = true;
            }
            if stop.is_some() {
                return stop;
            }
        }
        None
    }

    /// After a task ran on `hosts`: `any_errors_fatal` (and a failed `run_once` task) fails
    /// every other host of the batch, as Ansible does (hosts in a block with a `rescue` run
    /// it); `max_fail_percentage` ends the playbook when too many hosts failed for good.
    fn after_task(
        &self,
        scope: &PlayScope<'_>,
        effective: &Inherited,
        hosts: &[String],
    ) -> Option<Stop> {
        let play = &scope.prepared.play;
        let failed_now: Vec<&String> = hosts
            .iter()
            .filter(|h| {
                let state = self.state(h);
                state.failed || state.unreachable
            })
            .collect();
        if failed_now.is_empty() {
            return None;
        }
        // As ansible-core: the `free` strategies ignore `any_errors_fatal` and
        // `max_fail_percentage` (with a warning), not a failed `run_once` task.
        let linear = play.strategy == Strategy::Linear;
        if ((play.any_errors_fatal && linear) || effective.run_once) && !effective.ignore_errors {
            for host in scope.batch {
                if failed_now.contains(&host) {
                    continue;
                }
                let mut state = self.state(host);
                if !state.unreachable {
                    state.failed = true;
                    state.fatal = true;
                }
            }
        }
        if let Some(limit) = play.max_fail_percentage.filter(|_| linear) {
            let failed = scope
                .batch
                .iter()
                .filter(|h| {
                    let state = self.state(h);
                    (state.failed && !state.rescue_pending) || state.fatal
                })
                .count();
            let percent = failed as f64 * 100.0 / scope.batch.len() as f64;
            if percent > limit {
                return Some(Stop::Abort);
            }
        }
        None
    }

    /// The flush at the end of a section (`pre_tasks`, `roles` and `tasks`, `post_tasks`):
    /// the handlers notified so far on `hosts`, and with `force_handlers` on those of them
    /// that failed, which are done once their handlers ran (or one failed there).
    async fn flush_section_handlers(
        &self,
        scope: &PlayScope<'_>,
        hosts: &[String],
        inherited: &Inherited,
    ) -> Option<Stop> {
        let forced = self.forced_handler_hosts(scope, hosts);
        let stop = self
            .flush_handlers_forced(scope, hosts, &forced, inherited)
            .await;
        for host in &forced {
            self.state(host).notified.clear();
        }
        stop
    }

    /// Run the handlers notified so far, in the order they are defined, each on the hosts
    /// that notified it.
    async fn flush_handlers(
        &self,
        scope: &PlayScope<'_>,
        hosts: &[String],
        inherited: &Inherited,
    ) -> Option<Stop> {
        self.flush_handlers_forced(scope, hosts, &[], inherited)
            .await
    }

    /// `flush_handlers`, where the `forced` hosts (failed ones, `force_handlers`) run their
    /// handlers too, until one of those fails on them.
    async fn flush_handlers_forced(
        &self,
        scope: &PlayScope<'_>,
        hosts: &[String],
        forced: &[String],
        inherited: &Inherited,
    ) -> Option<Stop> {
        let failures_before: Vec<(String, u32)> = forced
            .iter()
            .map(|h| (h.clone(), self.state(h).counts.failed))
            .collect();
        let mut as_handler = inherited.clone();
        as_handler.handler = true;
        let inherited = &as_handler;
        let dynamic = self
            .dynamic_handlers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let handlers: Vec<&Task> = scope
            .prepared
            .play
            .handlers
            .iter()
            .chain(dynamic.iter())
            .collect();
        // A notification stays pending until the last handler it runs has run: every
        // handler listening on a topic runs, each once, in the order written. One made
        // during the flush for a handler already passed (a handler notifying an earlier
        // one, or itself) waits for the next flush, as in ansible-core 2.19.14.
        let targets = |name: &str| crate::playbook::notified_handlers(name, &handlers);
        for (index, handler) in handlers.iter().copied().enumerate() {
            if self.is_interrupted() {
                return Some(Stop::Interrupted);
            }
            let still_forced = failures_before.iter().filter(|(h, failures)| {
                let state = self.state(h);
                !state.unreachable && state.counts.failed == *failures
            });
            let notified: Vec<String> = self
                .active(hosts)
                .into_iter()
                .chain(still_forced.map(|(h, _)| h.clone()))
                .filter(|h| {
                    let mut state = self.state(h);
                    let mut hit = false;
                    let pending: Vec<String> = state.notified.iter().cloned().collect();
                    for name in pending {
                        let runs = targets(&name);
                        hit |= runs.contains(&index);
                        if runs.iter().max() == Some(&index) {
                            state.notified.remove(&name);
                        }
                    }
                    hit
                })
                .collect();
            if notified.is_empty() {
                continue;
            }
            let inner = inherited.with(handler);
            match &handler.body {
                TaskBody::Action { .. } | TaskBody::Templated(_) => {
                    self.run_task(scope, handler, &notified, inherited, true)
                        .await
                }
                TaskBody::Block { .. } | TaskBody::Include(_) => {
                    Box::pin(self.run_list(
                        scope,
                        std::slice::from_ref(handler),
                        &notified,
                        inherited,
                    ))
                    .await;
                }
                TaskBody::Meta(_) => {}
            }
            if let Some(stop) = self.after_task(scope, &inner, &notified) {
                return Some(stop);
            }
        }
        None
    }

    /// Open a connection to every host of the batch that has none yet (or one opened as
    /// another user than `task_user`, else the play's `remote_user`), concurrently. Each
    /// host's connection is its own as soon as it is open: a chain waiting for it
    /// (`chain.rs`) sends its first units while other hosts are still handshaking.
    async fn connect_all(
        &self,
        batch: &[String],
        task_user: Option<&str>,
        origin: Option<&crate::source::Span>,
    ) {
        let (_, abandoned) = self
            .each_host(batch, |host| self.connect_host(host, task_user, origin))
            .await;
        for host in abandoned {
            self.report_abandoned(host, "connect");
        }
    }

    /// Connect one host, unless it has a connection opened as the user it is to connect
    /// as (`connect_all`): whether it is connected (false: it is unreachable, now or
    /// before).
    /// `origin`: where the task that connects it was written, for the `[ERROR]` line of a
    /// host not reached (none for Gathering Facts, as in ansible-core).
    async fn connect_host(
        &self,
        host: &str,
        task_user: Option<&str>,
        origin: Option<&crate::source::Span>,
    ) -> bool {
        let remote_user = self.remote_user_for(task_user);
        {
            let mut state = self.state(host);
            if state.unreachable {
                return false;
            }
            if state.use_connection_as(remote_user.as_deref()) {
                return true;
            }
        }
        // As Ansible: the host's `ansible_user`, else the task's or the play's `remote_user`, else
        // ansible.cfg's.
        let mut settings = self.options.connect.clone();
        if remote_user.is_some() {
            settings.remote_user.clone_from(&remote_user);
        }
        let vars = self.connection_vars(host);
        let result = connect::connect(host, &vars, &settings).await;
        self.connected(host, &remote_user, result, origin);
        !self.state(host).unreachable
    }

    /// A host's connection attempt, as soon as it ends: the connection is the host's (and
    /// chains waiting for it are told), or the host is unreachable.
    fn connected(
        &self,
        host: &str,
        remote_user: &Option<String>,
        result: Result<Arc<dyn Connection>, crate::transport::TransportError>,
        origin: Option<&crate::source::Span>,
    ) {
        match result {
            Ok(connection) => {
                {
                    let mut state = self.state(host);
                    state.connection = Some(connection);
                    state.connected_as.clone_from(remote_user);
                }
                self.connects.send_modify(|count| *count += 1);
            }
            Err(error) => {
                {
                    let mut state = self.state(host);
                    state.unreachable = true;
                    state.counts.unreachable += 1;
                }
                let mut event = Event::bare_result(
                    host,
                    "connect",
                    Status::Unreachable,
                    Some(error.to_string()),
                    None,
                    0,
                );
                if let Event::HostResult { origin: shown, .. } = &mut event {
                    *shown = Some(crate::report::Origin {
                        span: origin.cloned(),
                        headline: error.to_string(),
                    });
                }
                self.reporter.emit(&event);
            }
        }
    }

    /// The `remote_user` a task connects as: its own (or its block's), else the play's.
    fn remote_user_for(&self, task_user: Option<&str>) -> Option<String> {
        task_user.map(str::to_owned).or_else(|| {
            self.remote_user
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        })
    }

    /// The variables that say how to reach a host, with templates in them rendered.
    fn connection_vars(&self, host: &str) -> Vars {
        let inventory_vars = self.inventory_vars.get(host).cloned().unwrap_or_default();
        connect::connection_vars(&inventory_vars, &self.options.extra_vars)
    }

    /// `--step`: whether the user wants this task to run. Asked on standard error, answered
    /// on standard input; no answer (end of input) stops the run as an interruption does.
    fn step_confirms(&self, task: &Task) -> bool {
        use std::io::{BufRead, Write};
        if !self.stepping.load(Ordering::SeqCst)
            || !matches!(task.body, TaskBody::Action { .. } | TaskBody::Templated(_))
        {
            return true;
        }
        loop {
            let _ = write!(
                std::io::stderr(),
                "Perform task: TASK: {} (N)o/(y)es/(c)ontinue: ",
                task.display_name()
            );
            let mut answer = String::new();
            let read =
                tokio::task::block_in_place(|| std::io::stdin().lock().read_line(&mut answer));
            match (read, answer.trim().to_ascii_lowercase().as_str()) {
                (Ok(0) | Err(_), _) => {
                    let _ = writeln!(
                        std::io::stderr(),
                        "\n--step: no answer on standard input; stopping"
                    );
                    self.interrupt.stop();
                    return false;
                }
                (_, "y" | "yes") => return true,
                (_, "n" | "no" | "") => return false,
                (_, "c" | "continue") => {
                    self.stepping.store(false, Ordering::SeqCst);
                    return true;
                }
                _ => {}
            }
        }
    }

    /// Whether `--tags` / `--skip-tags` select a task, as Ansible decides it, and
    /// `--start-at-task` has been reached.
    fn task_selected(&self, task: &Task, inherited: &Inherited) -> bool {
        if inherited.handler {
            return true;
        }
        if let Some(start) = &self.options.start_at_task {
            if !self.started.load(Ordering::SeqCst) {
                if task.name.as_deref() != Some(start.as_str()) {
                    return false;
                }
                self.started.store(true, Ordering::SeqCst);
            }
        }
        let mut tags = inherited.tags.clone();
        tags.extend(task.tags.iter().cloned());
        select_by_tags(&tags, &self.options.tags, &self.options.skip_tags)
    }
}

#[async_trait::async_trait]
impl crate::transport::Connections for Runner<'_> {
    async fn connection(
        &self,
        host: &str,
    ) -> Result<Arc<dyn Connection>, crate::transport::TransportError> {
        if !self.hosts.contains_key(host) {
            return Err(crate::transport::TransportError::Connect {
                host: host.to_owned(),
                reason: "no such host in the inventory".to_owned(),
            });
        }
        if let Some(connection) = self.state(host).connection.clone() {
            return Ok(connection);
        }
        let connection =
            connect::connect(host, &self.connection_vars(host), &self.options.connect).await?;
        let mut state = self.state(host);
        // Another task may have connected meanwhile: keep the first connection.
        Ok(state.connection.get_or_insert(connection).clone())
    }
}

/// The hosts and scope of the batch a task runs in.
struct PlayScope<'a> {
    prepared: &'a PreparedPlay,
    batch: &'a [String],
}

/// Ansible's tag selection: `always` runs unless skipped by name, `never` only when asked
/// for by name, `tagged`/`untagged`/`all` as special selectors.
pub fn select_by_tags(tags: &BTreeSet<String>, only: &[String], skip: &[String]) -> bool {
    let has = |t: &str| tags.contains(t);
    if !skip.is_empty() {
        let skipped = skip.iter().any(|s| {
            (s == "all" && !has("always"))
                || (s == "tagged" && !tags.is_empty() && !has("always"))
                || (s == "untagged" && tags.is_empty())
                || has(s)
        });
        if skipped {
            return false;
        }
    }
    if only.is_empty() {
        return !has("never");
    }
    if has("always") {
        return true;
    }
    only.iter().any(|t| match t.as_str() {
        "all" => !has("never"),
        "tagged" => !tags.is_empty() && !has("never"),
        "untagged" => tags.is_empty(),
        name => has(name),
    })
}

/// Split the play's hosts into batches as `serial` asks; the last size repeats.
fn batches(hosts: &[String], serial: &[Serial]) -> Vec<Vec<String>> {
    if serial.is_empty() {
        return vec![hosts.to_vec()];
    }
    let total = hosts.len();
    let size = |s: &Serial| -> usize {
        match *s {
            Serial::Count(0) => total,
            Serial::Count(n) => n,
            Serial::Percent(p) => ((total as f64 * p / 100.0) as usize).max(1),
        }
    };
    let mut batches = Vec::new();
    let mut rest = hosts;
    let mut step = 0;
    while !rest.is_empty() {
        let n = size(&serial[step.min(serial.len() - 1)])
            .max(1)
            .min(rest.len());
        batches.push(rest[..n].to_vec());
        rest = &rest[n..];
        step += 1;
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("h{i}")).collect()
    }

    #[test]
    fn serial_batches_repeat_the_last_size() {
        let sizes = |serial: &[Serial]| -> Vec<usize> {
            batches(&names(10), serial).iter().map(Vec::len).collect()
        };
        assert_eq!(sizes(&[]), [10]);
        assert_eq!(sizes(&[Serial::Count(3)]), [3, 3, 3, 1]);
        assert_eq!(sizes(&[Serial::Count(1), Serial::Percent(50.0)]), [1, 5, 4]);
    }

    #[test]
    fn tags_select_like_ansible() {
        let set = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        let v = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(select_by_tags(&set(&[]), &[], &[]));
        assert!(!select_by_tags(&set(&["never"]), &[], &[]));
        assert!(select_by_tags(&set(&["never", "x"]), &v(&["x"]), &[]));
        assert!(select_by_tags(&set(&["always"]), &v(&["x"]), &[]));
        assert!(!select_by_tags(&set(&["y"]), &v(&["x"]), &[]));
        assert!(!select_by_tags(&set(&["x"]), &[], &v(&["x"])));
        assert!(select_by_tags(&set(&["always"]), &[], &v(&["all"])));
    }
}
