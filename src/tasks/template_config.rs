//! `template_config`: a minijinja template from the playbook's `templates/`, rendered with
//! each host's variables (undefined is an error), checked, and installed like
//! `copy_files` installs a file (`tasks/file_install.rs`).
//!
//! With `same_on_all_hosts: true` the runner renders the file for every host of the batch
//! first and fails the task on every host, before anything is installed, if any two
//! renderings differ: the geo-replication rule that every site runs a byte-identical
//! `config.yaml` (see [`agreement`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::args::{Account, Mode, Validate, secret_by_name};
use super::controller_files::{self, Look};
use super::copy_files::{outcome, playbook_dir};
use super::file_install::{self, NewFile, Settings, Target, sha256};
use super::{Across, Outcome, TaskContext, TaskType};
use crate::transport::TransportError;
use crate::yaml::Node;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateConfig {
    /// The template, in `templates/` beside the playbook (or beside the playbook itself).
    src: String,
    /// The file on the host.
    dest: String,
    #[serde(default)]
    mode: Option<Mode>,
    #[serde(default)]
    owner: Option<Account>,
    #[serde(default)]
    group: Option<Account>,
    /// Keep the replaced file beside the new one as `NAME.YYYYMMDDTHHMMSS.bak`.
    #[serde(default)]
    backup: bool,
    /// Check the rendering before it is installed: `yaml`, or `quay` (Quay's own checks).
    #[serde(default)]
    validate: Option<Validate>,
    /// Fail on every host, before anything is installed, if the renderings differ.
    #[serde(default)]
    pub(super) same_on_all_hosts: bool,
    /// Never show the contents in a diff (implied for `.pem` and `.key` files).
    #[serde(default)]
    secret: bool,
}

impl TemplateConfig {
    /// The file for one host: found, rendered and checked on the controller.
    pub(super) fn render(&self, vars: &minijinja::Value) -> Result<Vec<u8>, String> {
        let base = playbook_dir(vars);
        let role = super::controller_files::role_dir(vars);
        let path = super::controller_files::find_with_role(
            role.as_deref(),
            &base,
            &self.src,
            Look::Template,
        )
        .ok_or_else(|| {
            format!(
                "template `{}` not found in `templates/` beside the playbook",
                self.src
            )
        })?;
        let name = path
            .strip_prefix(&base)
            .unwrap_or(&path)
            .display()
            .to_string();
        let rendered = render_file(&path, &name, vars)?;
        let bytes = rendered.into_bytes();
        if let Some(validate) = self.validate {
            validate.check(file_name(&self.dest), &bytes)?;
        }
        Ok(bytes)
    }

    fn settings(&self) -> Result<Settings, String> {
        Settings::from_args(
            self.mode.as_ref(),
            self.owner.as_ref(),
            self.group.as_ref(),
            self.backup,
        )
    }
}

/// A template file rendered with `vars` as `template_config` renders it (at most
/// [`crate::source::MAX_FILE_BYTES`], UTF-8, undefined variables an error); `name` is how
/// messages call the file.
pub fn render_file(path: &Path, name: &str, vars: &minijinja::Value) -> Result<String, String> {
    render_file_in(crate::template::environment(), path, name, vars)
}

/// [`render_file`] in an environment of other whitespace settings (Ansible's `template`
/// with `trim_blocks: false` or `lstrip_blocks: true`).
pub fn render_file_in(
    env: &minijinja::Environment<'_>,
    path: &Path,
    name: &str,
    vars: &minijinja::Value,
) -> Result<String, String> {
    render_file_with(env, path, name, vars, true)
}

/// As [`render_file_in`]; `prepare: false` compiles the file as written (a template with
/// its own delimiters, which the rewriting for Ansible's Jinja would not read).
///
/// The templates it takes in (`{% include %}`, `{% import %}`, `{% from %}`,
/// `{% extends %}`) are found as ansible-core finds them
/// ([`controller_files::include_search_path`]) when the rendering reaches them, read as the
/// file itself is (noted among the run's inputs), and render with the same settings; an
/// error in one names that file and place.
pub fn render_file_with(
    env: &minijinja::Environment<'_>,
    path: &Path,
    name: &str,
    vars: &minijinja::Value,
    prepare: bool,
) -> Result<String, String> {
    let text = crate::template::read_file(path, "template", name)?;
    crate::inputs::record(path, text.as_bytes(), false);
    let source = if prepare {
        crate::template::prepare_template(&text)
    } else {
        std::borrow::Cow::Borrowed(text.as_str())
    };
    let base = playbook_dir(vars);
    let role = controller_files::role_dir(vars);
    let taken = std::sync::Arc::new(TakenIn {
        search: controller_files::include_search_path(role.as_deref(), &base, path),
        base,
        prepare,
        files: std::sync::Mutex::default(),
        missing: std::sync::Mutex::default(),
        failure: std::sync::Mutex::default(),
    });
    let mut env = env.clone();
    let loader = taken.clone();
    env.set_loader(move |name| loader.load(name));
    // Named without the file's extension, and so are the templates it takes in: minijinja
    // would JSON-escape values in a template whose name ends in `.yaml`.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.render_named_str(ROOT, &source, vars)
        .map_err(|error| taken.describe(&error, name, &text, vars))
}

/// The name the rendered file has in its environment (the templates it takes in have the
/// names they are taken in by).
const ROOT: &str = "template";

/// What a template file took in from other files while it rendered.
struct TakenIn {
    /// Where the names are looked for.
    search: Vec<PathBuf>,
    /// The playbook's folder, which messages name files from.
    base: PathBuf,
    /// Compiled as Ansible's Jinja reads them (not with the task's own delimiters).
    prepare: bool,
    /// Each name taken in: its file's name in messages and its text.
    files: std::sync::Mutex<BTreeMap<String, (String, String)>>,
    /// The names found nowhere, in order.
    missing: std::sync::Mutex<Vec<String>>,
    /// Why a file found could not be read.
    failure: std::sync::Mutex<Option<String>>,
}

impl TakenIn {
    /// minijinja's loader: the text of the template `name` stands for.
    fn load(&self, name: &str) -> Result<Option<String>, minijinja::Error> {
        let Some(path) = controller_files::find_included(&self.search, name) else {
            lock(&self.missing).push(name.to_owned());
            return Ok(None);
        };
        let shown = path
            .strip_prefix(&self.base)
            .unwrap_or(&path)
            .display()
            .to_string();
        let text = match crate::template::read_file(&path, "template", &shown) {
            Ok(text) => text,
            Err(reason) => {
                *lock(&self.failure) = Some(reason.clone());
                return Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    reason,
                ));
            }
        };
        crate::inputs::record(&path, text.as_bytes(), false);
        // As Jinja in Ansible: a file taken in loses its one last line ending (only the
        // rendered file keeps its own).
        let body = text
            .strip_suffix("\r\n")
            .or_else(|| text.strip_suffix('\n'))
            .or_else(|| text.strip_suffix('\r'))
            .unwrap_or(&text);
        let source = if self.prepare {
            crate::template::prepare_template(body).into_owned()
        } else {
            body.to_owned()
        };
        lock(&self.files).insert(name.to_owned(), (shown, text));
        Ok(Some(source))
    }

    /// A rendering error as `file:line:column: message`, in the file it happened in (the
    /// rendered file `name`, whose text is `text`, or one it took in).
    fn describe(
        &self,
        error: &minijinja::Error,
        name: &str,
        text: &str,
        vars: &minijinja::Value,
    ) -> String {
        // An error in a file taken in comes wrapped in the include's ("could not render
        // include"): the innermost is what went wrong, and where.
        let mut error = error;
        while let Some(inner) = std::error::Error::source(error)
            .and_then(|source| source.downcast_ref::<minijinja::Error>())
        {
            error = inner;
        }
        let files = lock(&self.files);
        let (name, text) = match error.name().and_then(|taken| files.get(taken)) {
            Some((shown, taken)) => (shown.as_str(), taken.as_str()),
            None => (name, text),
        };
        let message = if let Some(reason) = lock(&self.failure).clone() {
            reason
        } else if error.kind() == minijinja::ErrorKind::TemplateNotFound {
            let detail = error.detail().unwrap_or_default();
            let missing: Vec<String> = lock(&self.missing)
                .iter()
                .filter(|name| detail.contains(&format!("{name:?}")))
                .cloned()
                .collect();
            let search = controller_files::search_path_text(&self.search);
            match missing.as_slice() {
                [one] => format!("'{one}' not found in search paths: {search}"),
                [] => format!("{detail} (search paths: {search})"),
                many => format!(
                    "none of the templates given were found: {} (search paths: {search})",
                    many.join(", ")
                ),
            }
        } else {
            crate::template::describe_file_error(error, text, vars)
        };
        let variable = message
            .strip_prefix("undefined variable `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(name, _)| name.split('.').next().unwrap_or(name));
        match crate::template::file_error_position(text, error, variable) {
            Some((line, column)) => format!("{name}:{line}:{column}: {message}"),
            None => format!("{name}: {message}"),
        }
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Where a `src` is found: in `templates/` beside the playbook, else beside the playbook.
pub fn template_path(base: &Path, src: &str) -> Option<PathBuf> {
    super::controller_files::find(base, src, Look::Template)
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

impl TaskType for TemplateConfig {
    const ACROSS: Across = Across::AgreeFirst;

    /// `same_on_all_hosts` compares every host's rendering before any host goes on: not in
    /// a play whose hosts go through the tasks on their own (`strategy: free`).
    fn check_placement(
        task: &crate::playbook::Task,
        play: &crate::playbook::Play,
    ) -> Result<(), crate::diagnostic::Diagnostic> {
        let crate::playbook::TaskBody::Action { args, .. } = &task.body else {
            return Ok(());
        };
        let Some(same) = args.get("same_on_all_hosts") else {
            return Ok(());
        };
        let off = match &same.value {
            crate::yaml::Value::Bool(on) => !on,
            crate::yaml::Value::Str(text) => crate::yaml::parse_bool(text) == Some(false),
            _ => false,
        };
        if play.strategy == crate::playbook::Strategy::Linear || off {
            return Ok(());
        }
        Err(crate::diagnostic::Diagnostic::at(
            format!(
                "`same_on_all_hosts` cannot be used in a play whose strategy is `{}`: it \
                 compares every host's rendering before any host goes on, and under `{}` each \
                 host goes through the tasks on its own",
                play.strategy.name(),
                play.strategy.name()
            ),
            same.span.clone(),
        )
        .with_hint("put the task in a play of its own with `strategy: linear`"))
    }

    /// Not with `same_on_all_hosts` (or a value for it that is not written out), which
    /// compares every host's rendering before any host goes on.
    fn pipelines(args: &Node) -> bool {
        args.get("same_on_all_hosts")
            .is_none_or(|same| match &same.value {
                crate::yaml::Value::Bool(on) => !on,
                crate::yaml::Value::Str(text) => crate::yaml::parse_bool(text) == Some(false),
                _ => false,
            })
    }

    fn rendered_files(args: &Node, role: Option<&Path>, base: &Path) -> Option<Vec<PathBuf>> {
        let src = args.get("src")?.as_str()?;
        if crate::yaml::is_template(src) {
            return None;
        }
        let path = super::controller_files::find_with_role(role, base, src, Look::Template)?;
        Some(vec![path])
    }

    fn template_files<'n>(args: &'n Node, dir: &Path) -> Vec<(&'n Node, Option<PathBuf>)> {
        args.get("src")
            .and_then(|node| Some((node, template_path(dir, node.as_str()?))))
            .into_iter()
            .collect()
    }

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        if self.dest.is_empty() || self.dest.ends_with('/') {
            return Ok(Outcome::failed(format!(
                "`dest` must name the file, found `{}`",
                self.dest
            )));
        }
        let prepared = self
            .settings()
            .and_then(|settings| Ok((settings, self.render(ctx.vars)?)));
        let (settings, bytes) = match prepared {
            Ok(prepared) => prepared,
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        let files = [NewFile {
            target: Target::Path(self.dest.clone()),
            bytes,
            secret: self.secret || secret_by_name(&self.dest),
        }];
        let installed = match file_install::install(ctx, &files, &settings).await? {
            Ok(installed) => installed,
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        let mut outcome = outcome(ctx, &files, &installed, &self.dest);
        if let Some(file) = installed.first() {
            if let Some(backup) = &file.backup {
                outcome = outcome.with("backup_file", backup.clone());
            }
            if !file.secret {
                outcome = outcome.with("sha256", file.sha256.clone());
            }
        }
        Ok(outcome)
    }
}

/// What one host renders for a task whose hosts must agree: one file per loop item, or why
/// it could not render them.
pub type Rendering = Result<Vec<Vec<u8>>, String>;

/// Why the hosts of a batch may not go on with a `same_on_all_hosts` task, if they may not:
/// a host that could not render it, or renderings that differ. `renderings` holds each
/// host's renderings in order (several for a loop).
pub fn agreement(renderings: &[(&str, Rendering)]) -> Option<String> {
    if let Some((host, Err(reason))) = renderings.iter().find(|(_, r)| r.is_err()) {
        return Some(format!(
            "`same_on_all_hosts` is set, but `{host}` cannot render the file: {reason}"
        ));
    }
    let mut groups: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (host, rendering) in renderings {
        let Ok(files) = rendering else { continue };
        let digest = match files.as_slice() {
            [one] => sha256(one),
            many => sha256(
                many.iter()
                    .map(|f| sha256(f))
                    .collect::<Vec<_>>()
                    .join("\n")
                    .as_bytes(),
            ),
        };
        groups.entry(digest).or_default().push(host);
    }
    if groups.len() < 2 {
        return None;
    }
    // The hosts in the order they came, each group named once.
    let mut order: Vec<(&str, &Vec<&str>)> = groups
        .iter()
        .map(|(digest, hosts)| (digest.as_str(), hosts))
        .collect();
    order.sort_by_key(|(_, hosts)| {
        renderings
            .iter()
            .position(|(h, _)| hosts.first() == Some(h))
            .unwrap_or(usize::MAX)
    });
    let parts: Vec<String> = order
        .iter()
        .map(|(digest, hosts)| {
            format!(
                "{} {} {}…",
                hosts.join(", "),
                if hosts.len() == 1 {
                    "renders"
                } else {
                    "render"
                },
                &digest[..12]
            )
        })
        .collect();
    Some(format!(
        "`same_on_all_hosts` is set, but the hosts' renderings differ: {}",
        parts.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renderings_that_differ_are_named_by_host() {
        let same = |text: &str| Ok(vec![text.as_bytes().to_vec()]);
        assert_eq!(
            agreement(&[("host1", same("a")), ("host2", same("a"))]),
            None
        );
        let a = &sha256(b"a")[..12];
        let b = &sha256(b"b")[..12];
        assert_eq!(
            agreement(&[
                ("host1", same("a")),
                ("host2", same("b")),
                ("host3", same("a"))
            ])
            .unwrap(),
            format!(
                "`same_on_all_hosts` is set, but the hosts' renderings differ: host1, host3 render {a}…; host2 renders {b}…"
            )
        );
        assert_eq!(
            agreement(&[("host1", same("a")), ("host2", Err("boom".to_owned()))]).unwrap(),
            "`same_on_all_hosts` is set, but `host2` cannot render the file: boom"
        );
    }
}
