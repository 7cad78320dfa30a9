//! Task types: one file each, all listed once in [`task_types!`] below.
//!
//! Each task type deserializes its own arguments (an unknown argument is an error with its
//! file, line and column) and runs against one host through its [`Connection`]. A task
//! checks and acts in the same round trip to the host: in check mode it only checks.

mod acl;
mod apt;
mod archive;
mod args;
mod assert;
mod async_status;
mod blockinfile;
mod command;
pub mod config_bundle;
pub(crate) mod controller_files;
mod copy;
mod copy_files;
mod debug;
mod dnf;
mod fail;
mod fetch;
mod fetch_files;
mod file;
mod file_edit;
mod file_install;
mod find;
mod firewalld;
mod generate_key;
mod get_url;
mod group;
pub mod home;
mod include_vars;
mod lineinfile;
mod mount;
mod package;
mod pause;
mod podman;
mod podman_container;
mod podman_container_info;
mod podman_engine;
mod podman_image;
mod podman_load;
mod podman_login;
mod podman_network;
mod podman_object;
mod podman_pod;
mod podman_run;
mod podman_secret;
mod podman_stop;
mod podman_volume;
mod postgresql_db;
mod postgresql_ext;
mod postgresql_login;
mod postgresql_ping;
mod postgresql_privs;
mod postgresql_query;
mod postgresql_user;
mod reboot;
mod replace;
mod script;
mod seboolean;
mod sefcontext;
mod service;
mod service_facts;
mod set_fact;
mod setfacl;
pub mod setup;
mod shell;
mod slurp;
mod sql;
mod sql_insert;
mod stat;
mod systemd;
mod tempfile;
mod template;
mod template_config;
mod unarchive;
mod uri;
mod user;
pub mod validate_argument_spec;
mod wait_for;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use crate::diagnostic::Diagnostic;
use crate::playbook::{Play, Task};
use crate::source::Span;
use crate::transport::{Connection, Output, Script, TransportError};
use crate::vars::Vars;
use crate::yaml::{Node, Value, from_node, from_node_lenient};

/// Everything the engine knows of one task type: how it runs on a host, and its
/// properties, each a default that a task type overrides in its own file. Adding a task
/// type is one file and one line in [`task_types!`].
#[allow(async_fn_in_trait)]
pub trait TaskType {
    /// The argument a free-form string value stands for (`command: ls -l` is
    /// `command: {cmd: ls -l}`).
    const FREE_FORM: Option<&'static str> = None;

    /// Its arguments' choices (`state: file, directory...`) are all of ansible-core's, so a
    /// value none of them is one ansible-core fails the task with on each host (`value of
    /// state must be one of: ...`), not one quayside does not build: on a task written to
    /// fail it fails so ([`argument_failure`]). False by default: a value quayside does not
    /// take stays refused before the run.
    const CHOICES_ARE_ANSIBLES: bool = false;

    /// It runs on the controller only, as Ansible's action plugins of the same names
    /// (`debug`, `set_fact`...): it needs no connection to its host.
    const ON_CONTROLLER: bool = false;

    /// With these arguments (as written) it may be pipelined: sent to its host before the
    /// answers to the tasks before it have come back (`runner/pipeline.rs`). It must then
    /// make at most one request, and fail exactly when that request exits non-zero (or
    /// before sending it), so that the host can tell from the exit status alone whether
    /// the next task runs.
    fn pipelines(_args: &Node) -> bool {
        false
    }

    /// With these arguments it may join a pipelined chain although the controller decides
    /// its failure from its answers, or it makes more than one request: its first request
    /// is written behind the tasks before it without waiting for their answers, and the
    /// tasks after it wait for its whole result (its turn is held until then; its later
    /// requests go through the same shell). It must make no request after one that exited
    /// non-zero. Saves the wait for the earlier answers, not its own.
    fn pipelines_holding(_args: &Node) -> bool {
        false
    }

    /// The controller's template files its `run` renders with the host's variables (found
    /// from `role`'s folder, then `base`, the playbook's), for the pipelining analysis to
    /// read what they read; `None` when they cannot be known from the arguments as written.
    fn rendered_files(_args: &Node, _role: Option<&Path>, _base: &Path) -> Option<Vec<PathBuf>> {
        Some(Vec::new())
    }

    /// How it runs across the hosts of a batch.
    const ACROSS: Across = Across::EachHost;

    /// What the `async` keyword does to it: by default quayside cannot run it in the
    /// background and refuses the keyword before the run.
    const ASYNC: Async = Async::NotBuilt;

    /// The Ansible collection whose module of the same name it is, beside `ansible.builtin`
    /// (`community.postgresql`: `community.postgresql.postgresql_query` names it too).
    const COLLECTION: Option<&'static str> = None;

    /// The module ansible-core's action of the same name hands the task to on the hosts
    /// quayside runs it on (`service` on systemd: `systemd`): that module's
    /// `module_defaults` fill what the task's own leave out, as that action applies them.
    const BACKEND: Option<&'static str> = None;

    /// Variables its template files see beside the host's (`template`'s `template_path`...),
    /// so that the check before the run does not take them for undefined.
    const TEMPLATE_VARIABLES: &'static [&'static str] = &[];

    /// Its arguments that are paths on the host (each a string or a list of strings),
    /// whose leading `~` or `~user` is made that home on the host before it runs
    /// ([`home`]).
    const HOST_PATHS: &'static [&'static str] = &[];

    /// The variables it sets, read from its arguments as written (files it names found
    /// from `dirs`, the task's role first), for the check before the run that every
    /// variable a task reads is set somewhere.
    fn sets_variables(_args: &Node, _dirs: &[&Path]) -> Vec<String> {
        Vec::new()
    }

    /// With these arguments (as written) it may set variables that cannot be known before
    /// it runs (`include_vars` of a file named by a template): the check before the run
    /// then requires no variable, and one still undefined fails its task at run time, as
    /// in ansible-core.
    fn sets_unknown_variables(_args: &Node) -> bool {
        false
    }

    /// The template files its arguments name as written, each with where it is found
    /// from the playbook's folder `dir`, so that one that cannot be read stops the run
    /// before any host is touched.
    fn template_files<'n>(_args: &'n Node, _dir: &Path) -> Vec<(&'n Node, Option<PathBuf>)> {
        Vec::new()
    }

    /// The controller files its arguments name as written (not through a template) that
    /// it sends to the host, each with the node that names it and where it is looked for
    /// ([`controller_files::find_with_role`]): one that is not there stops the run before
    /// any host is touched.
    fn controller_files(_args: &Node) -> Vec<(&Node, String, controller_files::Look)> {
        Vec::new()
    }

    /// How the check before the run reads its arguments: by default every template in
    /// them is read whenever the task runs.
    fn read_args(args: &Node, certain: bool, reads: &dyn ArgReads) -> Result<(), Diagnostic> {
        reads.node(args, certain)
    }

    /// Checks of where the task stands in its play (a keyword or play setting the task
    /// type cannot honour), before the run.
    fn check_placement(_task: &Task, _play: &Play) -> Result<(), Diagnostic> {
        Ok(())
    }

    /// Run on one host (in check mode: only look).
    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError>;
}

/// What the check before the run offers a task type to read its arguments with
/// ([`TaskType::read_args`]). `certain`: the value is read whenever the task runs, so a
/// variable set nowhere is an error before the run.
pub trait ArgReads {
    /// Every template in a value.
    fn node(&self, node: &Node, certain: bool) -> Result<(), Diagnostic>;
    /// A bare expression (`assert.that`), or a template there.
    fn expression(&self, node: &Node, certain: bool) -> Result<(), Diagnostic>;
}

/// The single list of task types: the name a playbook uses, its [`TaskKind`] variant and
/// its Rust type. Everything else about a task type is in its own file.
macro_rules! task_types {
    ($($name:literal => $variant:ident($ty:ty);)*) => {
        /// A task type with its arguments rendered for one host.
        // One `Action` lives per host and task while it runs: the size of the largest
        // (`podman_container`, with every option of the collection) costs nothing.
        #[allow(clippy::large_enum_variant)]
        #[derive(Debug, Deserialize)]
        pub enum Action {
            $(#[serde(rename = $name)] $variant($ty),)*
        }

        /// A task type, as the playbook names it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum TaskKind {
            $($variant,)*
        }

        impl TaskKind {
            /// Every task type, in the order of [`task_types!`].
            pub const ALL: &[TaskKind] = &[$(TaskKind::$variant),*];

            /// The name playbooks write.
            pub fn name(self) -> &'static str {
                match self {
                    $(TaskKind::$variant => $name,)*
                }
            }

            /// The task type a playbook's name (the short one) stands for.
            pub fn from_name(name: &str) -> Option<TaskKind> {
                match name {
                    $($name => Some(TaskKind::$variant),)*
                    _ => None,
                }
            }

            /// [`TaskType::CHOICES_ARE_ANSIBLES`].
            pub fn choices_are_ansibles(self) -> bool {
                match self {
                    $(TaskKind::$variant => <$ty as TaskType>::CHOICES_ARE_ANSIBLES,)*
                }
            }

            /// [`TaskType::FREE_FORM`].
            pub fn free_form(self) -> Option<&'static str> {
                match self {
                    $(TaskKind::$variant => <$ty as TaskType>::FREE_FORM,)*
                }
            }

            /// [`TaskType::pipelines`].
            pub fn pipelines(self, args: &Node) -> bool {
                match self {
                    $(TaskKind::$variant => <$ty as TaskType>::pipelines(args),)*
                }
            }

            /// [`TaskType::pipelines_holding`].
            pub fn pipelines_holding(self, args: &Node) -> bool {
                match self {
                    $(TaskKind::$variant => <$ty as TaskType>::pipelines_holding(args),)*
                }
            }

            /// [`TaskType::rendered_files`].
            pub fn rendered_files(
                self,
                args: &Node,
                role: Option<&Path>,
                base: &Path,
            ) -> Option<Vec<PathBuf>> {
                match self {
                    $(TaskKind::$variant => <$ty as TaskType>::rendered_files(args, role, base),)*
                }
            }

            /// [`TaskType::ON_CONTROLLER`].
            pub fn on_controller(self) -> bool {
                match self {
                    $(TaskKind::$variant => <$ty as TaskType>::ON_CONTROLLER,)*
                }
            }

            /// [`TaskType::TEMPLATE_VARIABLES`].
            pub fn template_variables(self) -> &'static [&'static str] {
                match self {
                    $(TaskKind::$variant => <$ty as TaskType>::TEMPLATE_VARIABLES,)*
                }
            }

            /// [`TaskType::HOST_PATHS`].
            pub fn host_paths(self) -> &'static [&'static str] {
                match self {
                    $(TaskKind::$variant => <$ty as TaskType>::HOST_PATHS,)*
                }
            }

            /// [`TaskType::COLLECTION`].
            pub fn collection(self) -> Option<&'static str> {
                match self {
                    $(TaskKind::$variant => <$ty as TaskType>::COLLECTION,)*
                }
            }

            /// [`TaskType::BACKEND`].
            pub fn backend(self) -> Option<&'static str> {
                match self {
                    $(TaskKind::$variant => <$ty as TaskType>::BACKEND,)*
                }
            }

            /// [`TaskType::ASYNC`].
            pub fn async_support(self) -> Async {
                match self {
                    $(TaskKind::$variant => <$ty as TaskType>::ASYNC,)*
                }
            }

            /// [`TaskType::ACROSS`].
            pub fn across(self) -> Across {
                match self {
                    $(TaskKind::$variant => <$ty as TaskType>::ACROSS,)*
                }
            }

            /// [`TaskType::sets_unknown_variables`].
            pub fn sets_unknown_variables(self, args: &Node) -> bool {
                match self {
                    $(TaskKind::$variant => <$ty as TaskType>::sets_unknown_variables(args),)*
                }
            }

            /// [`TaskType::sets_variables`].
            pub fn sets_variables(self, args: &Node, dirs: &[&Path]) -> Vec<String> {
                match self {
                    $(TaskKind::$variant => <$ty as TaskType>::sets_variables(args, dirs),)*
                }
            }

            /// [`TaskType::template_files`].
            pub fn template_files<'n>(
                self,
                args: &'n Node,
                dir: &Path,
            ) -> Vec<(&'n Node, Option<PathBuf>)> {
                match self {
                    $(TaskKind::$variant => <$ty as TaskType>::template_files(args, dir),)*
                }
            }

            /// [`TaskType::controller_files`].
            pub fn controller_files(
                self,
                args: &Node,
            ) -> Vec<(&Node, String, controller_files::Look)> {
                match self {
                    $(TaskKind::$variant => <$ty as TaskType>::controller_files(args),)*
                }
            }

            /// [`TaskType::read_args`].
            pub fn read_args(
                self,
                args: &Node,
                certain: bool,
                reads: &dyn ArgReads,
            ) -> Result<(), Diagnostic> {
                match self {
                    $(TaskKind::$variant => <$ty as TaskType>::read_args(args, certain, reads),)*
                }
            }

            /// [`TaskType::check_placement`].
            pub fn check_placement(self, task: &Task, play: &Play) -> Result<(), Diagnostic> {
                match self {
                    $(TaskKind::$variant => <$ty as TaskType>::check_placement(task, play),)*
                }
            }
        }

        impl std::fmt::Display for TaskKind {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl Action {
            /// Each type's future on the heap, of its own size: awaited in place, every
            /// caller's future (a host's task, each unit a pipelined host has in flight)
            /// would be as large as the largest type's, tens of kilobytes per host at once.
            pub async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
                match self {
                    $(Action::$variant(task) => Box::pin(task.run(ctx)).await,)*
                }
            }
        }
    };
}

task_types! {
    "command" => Command(command::Command);
    "shell" => Shell(shell::Shell);
    "script" => Script(script::Script);
    "debug" => Debug(debug::Debug);
    "set_fact" => SetFact(set_fact::SetFact);
    "include_vars" => IncludeVars(include_vars::IncludeVars);
    "validate_argument_spec" => ValidateArgumentSpec(validate_argument_spec::ValidateArgumentSpec);
    "setup" => Setup(setup::Setup);
    // Ansible's `gather_facts` action as a task: the facts `setup` gathers.
    "gather_facts" => GatherFacts(setup::Setup);
    "assert" => Assert(assert::Assert);
    "fail" => Fail(fail::Fail);
    "podman_run" => PodmanRun(podman_run::PodmanRun);
    "podman_stop" => PodmanStop(podman_stop::PodmanStop);
    "podman_container" => PodmanContainer(podman_container::PodmanContainer);
    "podman_volume" => PodmanVolume(podman_volume::PodmanVolume);
    "podman_container_info" => PodmanContainerInfo(podman_container_info::PodmanContainerInfo);
    "podman_network" => PodmanNetwork(podman_network::PodmanNetwork);
    "podman_pod" => PodmanPod(podman_pod::PodmanPod);
    "podman_secret" => PodmanSecret(podman_secret::PodmanSecret);
    "podman_image" => PodmanImage(podman_image::PodmanImage);
    "podman_load" => PodmanLoad(podman_load::PodmanLoad);
    "podman_login" => PodmanLogin(podman_login::PodmanLogin);
    "wait_for" => WaitFor(wait_for::WaitFor);
    "generate_key" => GenerateKey(generate_key::GenerateKey);
    "config_bundle" => ConfigBundle(config_bundle::ConfigBundle);
    "sql" => Sql(sql::Sql);
    "sql_insert" => SqlInsert(sql_insert::SqlInsert);
    "copy_files" => CopyFiles(copy_files::CopyFiles);
    "setfacl" => SetFacl(setfacl::SetFacl);
    "acl" => Acl(acl::Acl);
    "mount" => Mount(mount::Mount);
    "apt" => Apt(apt::Apt);
    "package" => Package(package::Package);
    "dnf" => Dnf(dnf::Dnf);
    // ansible-core 2.19 redirects `yum` to `dnf`.
    "yum" => Yum(dnf::Dnf);
    "seboolean" => SeBoolean(seboolean::SeBoolean);
    "sefcontext" => SeFcontext(sefcontext::SeFcontext);
    "firewalld" => Firewalld(firewalld::Firewalld);
    "template_config" => TemplateConfig(template_config::TemplateConfig);
    "fetch" => Fetch(fetch::Fetch);
    "fetch_files" => FetchFiles(fetch_files::FetchFiles);
    "file" => File(file::File);
    "stat" => Stat(stat::Stat);
    "slurp" => Slurp(slurp::Slurp);
    "copy" => Copy(copy::Copy);
    "template" => Template(template::Template);
    "lineinfile" => LineInFile(lineinfile::LineInFile);
    "blockinfile" => BlockInFile(blockinfile::BlockInFile);
    "replace" => Replace(replace::Replace);
    "tempfile" => TempFile(tempfile::TempFile);
    "find" => Find(find::Find);
    "group" => Group(group::Group);
    "user" => User(user::User);
    "pause" => Pause(pause::Pause);
    "reboot" => Reboot(reboot::Reboot);
    "uri" => Uri(uri::Uri);
    "get_url" => GetUrl(get_url::GetUrl);
    "unarchive" => Unarchive(unarchive::Unarchive);
    "archive" => Archive(archive::Archive);
    "postgresql_query" => PostgresqlQuery(postgresql_query::PostgresqlQuery);
    "postgresql_db" => PostgresqlDb(postgresql_db::PostgresqlDb);
    "postgresql_user" => PostgresqlUser(postgresql_user::PostgresqlUser);
    "postgresql_ext" => PostgresqlExt(postgresql_ext::PostgresqlExt);
    "postgresql_ping" => PostgresqlPing(postgresql_ping::PostgresqlPing);
    "postgresql_privs" => PostgresqlPrivs(postgresql_privs::PostgresqlPrivs);
    "systemd" => Systemd(systemd::Systemd);
    "systemd_service" => SystemdService(systemd::Systemd);
    "service" => Service(service::Service);
    "service_facts" => ServiceFacts(service_facts::ServiceFacts);
    "async_status" => AsyncStatus(async_status::AsyncStatus);
    // A module quayside does not build in (src/plugins/): never a name a playbook writes.
    "(module)" => Module(crate::plugins::run::ModuleTask);
}

/// How a task type runs across the hosts of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Across {
    /// Each host on its own: most task types.
    EachHost,
    /// One call for every host of the batch at once ([`run_together`]): `config_bundle`
    /// goes to every host or to none.
    Together,
    /// Each host on its own, once every host's rendering was compared
    /// ([`Action::rendering`], [`agreement`]): `template_config` with `same_on_all_hosts`.
    AgreeFirst,
}

/// What the `async` keyword does to a task type ([`TaskType::ASYNC`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Async {
    /// Its scripts run in the background on the host (`runner/async_job.rs`): each
    /// request it makes is started detached and its answer read from the job's files.
    Runs,
    /// As the ansible-core action plugin of the same name: the task fails on each host
    /// with `This action (NAME) does not support async.` (`debug`, `copy`...).
    Fails,
    /// quayside cannot run it in the background: the keyword is refused before the run.
    NotBuilt,
}

pub use template_config::{Rendering, agreement, check_taken_in, render_file, template_path};

impl Action {
    /// For [`Across::AgreeFirst`]: the file this host would install, rendered, if the task
    /// asks every host to agree on it; `None` if it does not ask.
    pub fn rendering(&self, vars: &minijinja::Value) -> Option<Result<Vec<u8>, String>> {
        match self {
            Action::TemplateConfig(task) if task.same_on_all_hosts => Some(task.render(vars)),
            _ => None,
        }
    }
}

/// What a task of an [`Across::Together`] type did: a result per member, and the bundle's
/// digests when a bundle was installed.
pub struct Together {
    pub results: Vec<Result<Outcome, TransportError>>,
    pub digests: Option<config_bundle::BundleDigests>,
    /// What the task found and repaired on a host, said whatever the results (a staged
    /// copy left by a run that was killed, removed), as `HOST: what`.
    pub warnings: Vec<String>,
}

/// Run a task of an [`Across::Together`] type on every host of the batch at once.
/// `blockers` are hosts of the batch that cannot take part (unreachable, or failed
/// before this task), with why.
pub async fn run_together(
    members: &[(&Action, &TaskContext<'_>)],
    blockers: &[(String, String)],
    interrupt: &crate::interrupt::Interrupt,
    forks: usize,
) -> Together {
    let bundles: Vec<config_bundle::Member<'_>> = members
        .iter()
        .filter_map(|(action, ctx)| match action {
            Action::ConfigBundle(bundle) => Some(config_bundle::Member { bundle, ctx }),
            _ => None,
        })
        .collect();
    if bundles.len() != members.len() {
        return Together {
            results: members
                .iter()
                .map(|_| {
                    Ok(Outcome::failed(
                        "only `config_bundle` runs on every host at once",
                    ))
                })
                .collect(),
            digests: None,
            warnings: Vec::new(),
        };
    }
    config_bundle::install(&bundles, blockers, interrupt, forks).await
}

fn action_node(key: &Node, args: &Node) -> Node {
    Node::new(
        key.span.clone(),
        Value::Map(vec![(
            Node::new(key.span.clone(), Value::Str(key.key_string())),
            args.clone(),
        )]),
    )
}

/// Check a task's arguments before the run: known names, required ones present, literal
/// values of the right type. Templates are checked after rendering, per host.
pub fn check_args(kind: TaskKind, key: &Node, args: &Node) -> Result<(), Diagnostic> {
    let key = Node::new(key.span.clone(), Value::Str(kind.name().to_owned()));
    from_node_lenient::<Action>(&action_node(&key, args))
        .map(|_| ())
        .map_err(Diagnostic::from)
}

/// The arguments `args` names that a task of type `kind` does not take, with those it
/// takes, in ansible-core's words for a module's (`Unsupported parameters for (debug)
/// module: bogus. Supported parameters include: msg, var, verbosity.`); `None` when it
/// takes every one.
pub fn unsupported_args(kind: TaskKind, args: &Node) -> Option<String> {
    let key = Node::new(args.span.clone(), Value::Str(kind.name().to_owned()));
    let mut args = args.clone();
    let mut unknown = Vec::new();
    let mut supported: &[&str] = &[];
    while let Err(error) = from_node_lenient::<Action>(&action_node(&key, &args)) {
        let (Some((name, expected)), Value::Map(entries)) = (error.unknown, &mut args.value) else {
            break;
        };
        entries.retain(|(k, _)| k.key_string() != name);
        supported = expected;
        unknown.push(name);
    }
    if unknown.is_empty() {
        return None;
    }
    unknown.sort();
    let mut supported = supported.to_vec();
    supported.sort_unstable();
    Some(format!(
        "Unsupported parameters for ({}) module: {}. Supported parameters include: {}.",
        kind.name(),
        unknown.join(", "),
        supported.join(", ")
    ))
}

/// The required arguments `args` leaves out for a task of type `kind`, in ansible-core's
/// words for a module's (`missing required arguments: path`); `None` when none is.
pub fn missing_args(kind: TaskKind, args: &Node) -> Option<String> {
    let key = Node::new(args.span.clone(), Value::Str(kind.name().to_owned()));
    let mut args = args.clone();
    let mut missing = Vec::new();
    while let Err(error) = from_node_lenient::<Action>(&action_node(&key, &args)) {
        let (Some(name), Value::Map(entries)) = (error.missing, &mut args.value) else {
            break;
        };
        if missing.contains(&name) {
            break;
        }
        // A template stands for any value: the check goes on to the next one left out.
        let span = args.span.clone();
        entries.push((
            Node::new(span.clone(), Value::Str(name.to_owned())),
            Node::new(span, Value::Str("{{ given }}".to_owned())),
        ));
        missing.push(name);
    }
    if missing.is_empty() {
        return None;
    }
    missing.sort_unstable();
    Some(format!(
        "missing required arguments: {}",
        missing.join(", ")
    ))
}

/// What ansible-core fails a task of type `kind` with `args` (as written) on each host: a
/// required argument left out, or an error its type words as ansible-core does
/// ([`args::is_ansible_argument_error`]: mutually exclusive arguments, a bad choice...).
/// `None` when the arguments are right, or wrong another way (an argument quayside does
/// not take): those stay refused before the run.
pub fn argument_failure(kind: TaskKind, args: &Node) -> Option<String> {
    let key = Node::new(args.span.clone(), Value::Str(kind.name().to_owned()));
    let error = from_node_lenient::<Action>(&action_node(&key, args)).err()?;
    if error.unknown.is_some() {
        return None;
    }
    if error.missing.is_some() {
        return missing_args(kind, args);
    }
    if let (Some(choice), Some(span), Value::Map(entries), true) = (
        &error.choice,
        &error.span,
        &args.value,
        kind.choices_are_ansibles(),
    ) {
        let (value, expected) = &**choice;
        // ansible-core's words, the choices in order (its argument specs list most so).
        let (name, _) = entries.iter().find(|(_, node)| node.span == *span)?;
        let mut choices = expected.to_vec();
        choices.sort_unstable();
        return Some(format!(
            "value of {} must be one of: {}, got: {value}",
            name.key_string(),
            choices.join(", ")
        ));
    }
    args::is_ansible_argument_error(&error.message).then_some(error.message)
}

/// Whether ansible-core's action plugin, not its module, fails a task with this
/// [`argument_failure`] (`copy`'s `dest is required`): `Action failed`.
pub fn argument_failure_is_the_actions(message: &str) -> bool {
    args::is_ansible_action_error(message)
}

/// Read a task's rendered arguments.
pub fn parse_action(kind: TaskKind, span: &Span, args: &Node) -> Result<Action, Diagnostic> {
    let key = Node::new(span.clone(), Value::Str(kind.name().to_owned()));
    from_node::<Action>(&action_node(&key, args)).map_err(Diagnostic::from)
}

/// Everything a task may use while it runs on one host.
pub struct TaskContext<'a> {
    pub host: &'a str,
    pub connection: &'a dyn Connection,
    /// The host's variables, for task types that evaluate expressions (`debug: var`,
    /// `assert`).
    pub vars: &'a minijinja::Value,
    pub check: bool,
    pub diff: bool,
    pub become_user: Option<String>,
    pub env: Vec<(String, String)>,
    pub timeout: Option<Duration>,
    /// Where the task was written, for errors of evaluated expressions.
    pub span: &'a Span,
    /// The script goes to the host before the answers to the tasks before it have come
    /// back (pipelining): the task must make one request (`file_install` then sends every
    /// file in its first script).
    pub pipelined: bool,
    /// Every host's connection, for tasks that go through another host (`via`).
    pub connections: &'a dyn crate::transport::Connections,
    pub verbosity: u8,
}

impl TaskContext<'_> {
    /// A script run with this task's privilege escalation, environment and time limit.
    pub fn script(&self, text: impl Into<String>) -> Script {
        Script {
            text: text.into(),
            stdin: Vec::new(),
            become_user: self.become_user.clone(),
            env: self.env.clone(),
            timeout: self.timeout,
        }
    }

    pub async fn run(&self, script: Script) -> Result<Output, TransportError> {
        self.connection.run(&script).await
    }
}

/// The `key=value` lines a check-and-act script prints: `changed=0|1`, `failed=MESSAGE`,
/// and whatever else the task type reads back.
pub(crate) struct ScriptReport(String);

impl ScriptReport {
    /// The lines of what a script printed, to be read with [`ScriptReport::get`].
    pub(crate) fn of(output: &Output) -> ScriptReport {
        ScriptReport(output.stdout_lossy())
    }

    /// What the script of task type `name` reported, and whether it changed anything; the
    /// task's failure when it said `failed=`, or printed no `changed=` line.
    pub(crate) fn read(output: &Output, name: &str) -> Result<(ScriptReport, bool), Box<Outcome>> {
        let report = ScriptReport::of(output);
        if let Some(message) = report.get("failed") {
            return Err(Box::new(Outcome::failed(message)));
        }
        let changed = report.changed(output, name)?;
        Ok((report, changed))
    }

    /// Whether the script changed anything (`changed=1`); with no `changed=` line it failed
    /// on its own, and its status and standard error say why.
    pub(crate) fn changed(&self, output: &Output, name: &str) -> Result<bool, Box<Outcome>> {
        match self.get("changed") {
            Some(changed) => Ok(changed == "1"),
            None => Err(Box::new(Outcome::failed(format!(
                "the `{name}` script exited with {}: {}",
                output.status,
                output.stderr_lossy().trim()
            )))),
        }
    }

    /// Every line the script printed.
    pub(crate) fn lines(&self) -> std::str::Lines<'_> {
        self.0.lines()
    }

    /// The value of the first `key=` line.
    pub(crate) fn get(&self, key: &str) -> Option<String> {
        self.0
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(str::to_owned)
    }
}

/// The before and after of one file a task changed (or would change).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileDiff {
    pub path: String,
    pub before: String,
    pub after: String,
    /// The headers Ansible's module returns (`before_header`, `after_header`), for the
    /// types that print `--diff` as ansible-core does: `--- before: HEADER` (or `--- before`
    /// without one), the diff, an empty line. Without them, `before: PATH`.
    #[serde(skip)]
    pub headers: Option<DiffHeaders>,
}

/// A diff's `before_header` and `after_header`, as an Ansible module returns them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DiffHeaders {
    pub before: Option<String>,
    pub after: Option<String>,
}

/// What a task that manages a container found and leaves behind (in check mode: would
/// leave), told whether it changed anything: the plan of a check run follows a container
/// through every task that touches it, to tell a restart from a start or a stop.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContainerChange {
    pub name: String,
    /// It was running (or paused) when the task looked.
    pub was_running: bool,
    /// It runs once the task is done.
    pub running: bool,
    /// The task stops it and starts it again (a restart, or a new container in its place).
    pub restarted: bool,
}

/// What a diff may show of a file's contents: nothing of a secret (a file marked secret,
/// or any text holding a private key), nothing of a binary file such as an archive (it may
/// hold anything), and text with secret-looking values masked.
pub fn diff_text(bytes: &[u8], secret: bool) -> String {
    const HIDDEN: &str = "(secret contents hidden)\n";
    if secret {
        return HIDDEN.to_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(text) if text.contains("PRIVATE KEY-----") => HIDDEN.to_owned(),
        Ok(text) if !text.contains('\0') => crate::secrets::mask_text(text),
        _ => format!("(binary contents, {} bytes)\n", bytes.len()),
    }
}

/// What a task did on one host.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub changed: bool,
    pub failed: bool,
    pub skipped: bool,
    /// The run was interrupted before the task could do its work on this host.
    pub interrupted: bool,
    pub msg: Option<String>,
    /// The fields `register` keeps (`rc`, `stdout`, ...), beside `changed` and `failed`.
    pub data: Map<String, Json>,
    /// Variables the task sets on the host (`set_fact`).
    pub facts: Vars,
    pub diffs: Vec<FileDiff>,
    /// The full paths of the files the task changed (in check mode: would change), with or
    /// without `--diff`.
    pub files: Vec<String>,
    /// The containers the task manages, changed or not.
    pub containers: Vec<ContainerChange>,
    /// What the task shows on the terminal (`debug`), as a JSON object.
    pub show: Option<Map<String, Json>>,
    /// It failed on the controller's side, not in what its type did on the host
    /// (`failed_when` held, a condition could not be evaluated): ansible-core's
    /// `Action failed`, where a module's own failure is `Module failed`.
    pub action_failed: bool,
}

impl Outcome {
    pub fn ok() -> Self {
        Self::default()
    }

    pub fn changed() -> Self {
        Self {
            changed: true,
            ..Self::default()
        }
    }

    pub fn failed(msg: impl Into<String>) -> Self {
        Self {
            failed: true,
            msg: Some(msg.into()),
            ..Self::default()
        }
    }

    pub fn interrupted(msg: impl Into<String>) -> Self {
        Self {
            interrupted: true,
            msg: Some(msg.into()),
            ..Self::default()
        }
    }

    pub fn skipped(msg: impl Into<String>) -> Self {
        Self {
            skipped: true,
            msg: Some(msg.into()),
            ..Self::default()
        }
    }

    pub fn with_msg(mut self, msg: impl Into<String>) -> Self {
        self.msg = Some(msg.into());
        self
    }

    /// Show `key: value` on the terminal and keep it in the registered result.
    pub fn showing(mut self, key: &str, value: impl Into<Json>) -> Self {
        let value = value.into();
        self.show
            .get_or_insert_with(Map::new)
            .insert(key.to_owned(), value.clone());
        self.data.insert(key.to_owned(), value);
        self
    }

    pub fn with(mut self, key: &str, value: impl Into<Json>) -> Self {
        self.data.insert(key.to_owned(), value.into());
        self
    }

    /// The value `register` stores: the task's data with `changed`, `failed`, `skipped`
    /// and `msg`, as Ansible registers them.
    pub fn registered(&self) -> Json {
        let mut map = self.data.clone();
        map.insert("changed".into(), self.changed.into());
        map.insert("failed".into(), self.failed.into());
        if self.skipped {
            map.insert("skipped".into(), true.into());
            // As Ansible registers a skipped task: why, under `skip_reason`.
            if let Some(msg) = &self.msg {
                map.entry("skip_reason")
                    .or_insert_with(|| msg.clone().into());
            }
        }
        if let Some(msg) = &self.msg {
            map.entry("msg").or_insert_with(|| msg.clone().into());
        }
        Json::Object(map)
    }
}

/// Command output as Ansible registers it: `rc`, `stdout`, `stderr` and their lines.
pub(crate) fn command_result(output: &Output) -> Map<String, Json> {
    let stdout = output.stdout_lossy();
    let stderr = output.stderr_lossy();
    let stdout = stdout.strip_suffix('\n').unwrap_or(&stdout).to_owned();
    let stderr = stderr.strip_suffix('\n').unwrap_or(&stderr).to_owned();
    let mut map = Map::new();
    map.insert("rc".into(), output.status.into());
    map.insert(
        "stdout_lines".into(),
        stdout.lines().collect::<Vec<_>>().into(),
    );
    map.insert(
        "stderr_lines".into(),
        stderr.lines().collect::<Vec<_>>().into(),
    );
    map.insert("stdout".into(), stdout.into());
    map.insert("stderr".into(), stderr.into());
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::load_str;

    fn check(text: &str) -> Result<(), String> {
        let node = load_str("t.yml", text).unwrap();
        let (key, args) = &node.as_map().unwrap()[0];
        let kind = TaskKind::from_name(&key.key_string()).expect("a task type");
        check_args(kind, key, args).map_err(|d| d.headline())
    }

    #[test]
    fn diffs_show_no_secret_and_no_binary() {
        assert_eq!(diff_text(b"a: 1\n", true), "(secret contents hidden)\n");
        assert_eq!(
            diff_text(b"x\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\n", false),
            "(secret contents hidden)\n"
        );
        assert_eq!(diff_text(b"ab\0cd", false), "(binary contents, 5 bytes)\n");
        assert_eq!(
            diff_text(&[0xff, 0xfe], false),
            "(binary contents, 2 bytes)\n"
        );
        assert_eq!(
            diff_text(
                b"DB_URI: postgresql://quay:pw@db/quay\nSECRET_KEY: abc\n",
                false
            ),
            "DB_URI: postgresql://quay:********@db/quay\nSECRET_KEY: ********\n"
        );
    }

    #[test]
    fn task_type_list_matches_the_enum() {
        for kind in TaskKind::ALL {
            let name = kind.name();
            assert_eq!(TaskKind::from_name(name), Some(*kind));
            let free = kind.free_form();
            let args = match free {
                Some(arg) => format!("{name}:\n  {arg}: x\n"),
                None => format!("{name}: {{}}\n"),
            };
            // Any error must be about the arguments, never about the task type itself.
            if let Err(message) = check(&args) {
                assert!(!message.contains("unknown value"), "{name}: {message}");
            }
        }
    }

    #[test]
    fn unknown_arguments_are_named() {
        assert_eq!(
            check("command:\n  cmd: ls\n  chdri: /tmp\n").unwrap_err(),
            "unknown argument `chdri` at t.yml:3:3 — did you mean `chdir`?"
        );
    }

    #[test]
    fn arguments_a_type_does_not_take_or_misses_in_ansible_s_words() {
        let args = |text: &str| crate::yaml::load_str("t.yml", text).unwrap();
        assert_eq!(
            unsupported_args(TaskKind::Debug, &args("{msg: x, zz: 1, bogus: 2}")).as_deref(),
            Some(
                "Unsupported parameters for (debug) module: bogus, zz. Supported parameters include: msg, var, verbosity."
            )
        );
        assert_eq!(unsupported_args(TaskKind::Debug, &args("{msg: x}")), None);
        assert_eq!(
            missing_args(TaskKind::File, &args("{state: directory}")).as_deref(),
            Some("missing required arguments: path")
        );
        assert_eq!(missing_args(TaskKind::File, &args("{path: /x}")), None);
    }

    #[test]
    fn argument_failures_are_those_ansible_core_fails_a_task_with() {
        let args = |text: &str| crate::yaml::load_str("t.yml", text).unwrap();
        let failure = |kind, text| argument_failure(kind, &args(text));
        assert_eq!(
            failure(TaskKind::Slurp, "{}").as_deref(),
            Some("missing required arguments: src")
        );
        assert_eq!(
            failure(TaskKind::Copy, "{src: a}").as_deref(),
            Some("dest is required")
        );
        assert_eq!(
            failure(
                TaskKind::Unarchive,
                "{src: a, dest: b, include: [x], exclude: [y]}"
            )
            .as_deref(),
            Some("parameters are mutually exclusive: include|exclude")
        );
        assert_eq!(
            failure(TaskKind::File, "{path: /x, state: bogus}").as_deref(),
            Some(
                "value of state must be one of: absent, directory, file, hard, link, touch, got: bogus"
            )
        );
        // Right, or wrong another way: not a failure on the host but a refusal.
        assert_eq!(failure(TaskKind::Slurp, "{src: /x}"), None);
        assert_eq!(failure(TaskKind::Slurp, "{src: /x, bogus: 1}"), None);
        assert_eq!(
            failure(TaskKind::Find, "{paths: /x, file_type: bogus}"),
            None
        );
        assert_eq!(failure(TaskKind::Find, "{paths: /x, limit: 0}"), None);
    }
}
