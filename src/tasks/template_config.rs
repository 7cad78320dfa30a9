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
    if text.starts_with(JINJA2_OVERRIDES) {
        return Err(format!("{name}:1:1: {OVERRIDES_NOT_BUILT}"));
    }
    // ansible-core 2.19 renders nothing in a file without Jinja's delimiters: it is
    // installed as it is.
    if prepare && !["{{", "{%", "{#"].iter().any(|start| text.contains(start)) {
        return Ok(text);
    }
    let source = if prepare {
        crate::template::prepare_template(&text)
    } else {
        std::borrow::Cow::Borrowed(text.as_str())
    };
    let base = playbook_dir(vars);
    let base = std::path::absolute(&base).unwrap_or(base);
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
    // As Jinja in ansible-core: the file's one last line ending is dropped before it
    // renders, and the rendering ends in as many newlines as the file, at least.
    let rendered = env
        .render_named_str(ROOT, without_last_line_ending(&source), vars)
        .map_err(|error| taken.describe(&error, name, &text, vars))?;
    let wanted = trailing_newlines(&text);
    let had = trailing_newlines(&rendered);
    Ok(match wanted > had {
        true => rendered + &"\n".repeat(wanted - had),
        false => rendered,
    })
}

/// `text` without its last line ending (`\r\n`, `\n` or `\r`), as Jinja reads a template
/// without `keep_trailing_newline`.
fn without_last_line_ending(text: &str) -> &str {
    text.strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .or_else(|| text.strip_suffix('\r'))
        .unwrap_or(text)
}

/// How many `\n` end `text`.
fn trailing_newlines(text: &str) -> usize {
    text.len() - text.trim_end_matches('\n').len()
}

/// The first line by which a template sets its own Jinja settings in ansible-core
/// (`#jinja2: variable_start_string:'<<', trim_blocks: False`): not built, and refused
/// rather than rendered as text.
const JINJA2_OVERRIDES: &str = "#jinja2:";

const OVERRIDES_NOT_BUILT: &str = "a template's own `#jinja2:` settings are not supported yet (the `template` task's `variable_start_string`, `block_start_string`, `trim_blocks`, ... arguments are)";

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
        // rendered file gets its own back).
        let body = without_last_line_ending(&text);
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

/// Before the run: the templates the template file `path` (`name` in messages, its text
/// `text`) takes in by names written out (`{% include 'x.j2' %}`, `{% import %}`,
/// `{% from %}`, `{% extends %}`), looked for as the rendering will look for them
/// (`role`: the task's role folder, `base`: the playbook's), and theirs in turn. One that
/// cannot be read, or does not parse, stops the run where it is named or where it is
/// wrong; one found nowhere does when the template is sure to take it in: `certain` (the
/// task runs whenever the play does), not inside an `{% if %}`, a loop, a macro or a block,
/// and not `ignore missing`. A name only a rendering knows (`{% include name %}`) is
/// looked for when it renders. A template that sets its own Jinja settings (`#jinja2:`),
/// not built, is refused. `used` says which task's template it is, for the hints.
pub fn check_taken_in(
    path: &Path,
    name: &str,
    text: &str,
    role: Option<&Path>,
    base: &Path,
    certain: bool,
    used: &str,
) -> Result<(), crate::diagnostic::Diagnostic> {
    if text.starts_with(JINJA2_OVERRIDES) {
        let file = std::sync::Arc::new(crate::source::SourceFile::new(name, text.to_owned()));
        let span = crate::source::Span::new(file, 1, 1, JINJA2_OVERRIDES.len() as u32);
        return Err(crate::diagnostic::Diagnostic::at(OVERRIDES_NOT_BUILT, span)
            .with_hint(format!("in {used}")));
    }
    let search = controller_files::include_search_path(role, base, path);
    let base = std::path::absolute(base).unwrap_or_else(|_| base.to_owned());
    let mut seen = vec![std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())];
    check_names(name, text, &search, &base, certain, used, &mut seen)
}

fn check_names(
    name: &str,
    text: &str,
    search: &[PathBuf],
    base: &Path,
    certain: bool,
    used: &str,
    seen: &mut Vec<PathBuf>,
) -> Result<(), crate::diagnostic::Diagnostic> {
    use crate::diagnostic::Diagnostic;
    let prepared = crate::template::prepare_template(text);
    let mut found = Vec::new();
    let parsed =
        minijinja::machinery::parse(&prepared, name, Default::default(), Default::default());
    if let Ok(stmt) = parsed {
        taken_names(&stmt, true, &mut found);
    }
    let file = std::sync::Arc::new(crate::source::SourceFile::new(name, text.to_owned()));
    for taken in found {
        let before = prepared.get(..taken.offset).unwrap_or("");
        let line_start = before.rfind('\n').map_or(0, |at| at + 1);
        let span = crate::source::Span::new(
            file.clone(),
            before.matches('\n').count() as u32 + 1,
            before[line_start..].chars().count() as u32 + 1,
            taken.length,
        );
        let Some(path) = taken
            .names
            .iter()
            .find_map(|name| controller_files::find_included(search, name))
        else {
            if taken.ignore_missing || !taken.unconditional || !certain {
                continue;
            }
            let paths = controller_files::search_path_text(search);
            let message = match taken.names.as_slice() {
                [one] => format!("'{one}' not found in search paths: {paths}"),
                many => format!(
                    "none of the templates given were found: {} (search paths: {paths})",
                    many.join(", ")
                ),
            };
            return Err(Diagnostic::at(message, span)
                .with_hint(format!("{used} takes it in whenever it renders")));
        };
        let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if seen.contains(&canonical) {
            continue;
        }
        seen.push(canonical);
        let shown = path
            .strip_prefix(base)
            .unwrap_or(&path)
            .display()
            .to_string();
        let included = crate::template::read_file(&path, "template", &shown)
            .map_err(|reason| Diagnostic::at(reason, span.clone()))?;
        if let Some((message, line, column)) = crate::template::file_syntax_error(&included) {
            let file = std::sync::Arc::new(crate::source::SourceFile::new(
                shown.as_str(),
                included.clone(),
            ));
            return Err(
                Diagnostic::at(message, crate::source::Span::new(file, line, column, 1))
                    .with_hint(format!("taken in at {span} by {used}")),
            );
        }
        check_names(
            &shown,
            &included,
            search,
            base,
            certain && taken.unconditional,
            used,
            seen,
        )?;
    }
    Ok(())
}

/// A statement that takes in other templates by names written out.
struct Taken {
    names: Vec<String>,
    /// Where the statement starts in the prepared text, and its length on its line.
    offset: usize,
    length: u32,
    ignore_missing: bool,
    /// Rendered whenever the template is (not inside a condition, loop, macro or block).
    unconditional: bool,
}

/// The statements in `stmt` that take in templates named by literals, in order.
fn taken_names(
    stmt: &minijinja::machinery::ast::Stmt<'_>,
    unconditional: bool,
    into: &mut Vec<Taken>,
) {
    use minijinja::machinery::ast::{Expr, Stmt};
    let literal = |expr: &Expr<'_>| -> Vec<String> {
        match expr {
            Expr::Const(constant) => constant
                .value
                .as_str()
                .map(|name| vec![name.to_owned()])
                .unwrap_or_default(),
            Expr::List(list) => {
                let names: Vec<String> = list
                    .items
                    .iter()
                    .filter_map(|item| match item {
                        Expr::Const(constant) => constant.value.as_str().map(str::to_owned),
                        _ => None,
                    })
                    .collect();
                match names.len() == list.items.len() {
                    true => names,
                    false => Vec::new(),
                }
            }
            _ => Vec::new(),
        }
    };
    let mut push = |names: Vec<String>, span: minijinja::machinery::Span, ignore_missing: bool| {
        if names.is_empty() {
            return;
        }
        let length = match span.start_line == span.end_line {
            true => span.end_offset.saturating_sub(span.start_offset),
            false => 1,
        };
        into.push(Taken {
            names,
            offset: span.start_offset as usize,
            length,
            ignore_missing,
            unconditional,
        });
    };
    let body = |stmts: &[Stmt<'_>], unconditional: bool, into: &mut Vec<Taken>| {
        for stmt in stmts {
            taken_names(stmt, unconditional, into);
        }
    };
    match stmt {
        Stmt::Include(include) => push(
            literal(&include.name),
            include.span(),
            include.ignore_missing,
        ),
        Stmt::Import(import) => push(literal(&import.expr), import.span(), false),
        Stmt::FromImport(import) => push(literal(&import.expr), import.span(), false),
        Stmt::Extends(extends) => push(literal(&extends.name), extends.span(), false),
        Stmt::Template(template) => body(&template.children, unconditional, into),
        Stmt::WithBlock(with) => body(&with.body, unconditional, into),
        Stmt::SetBlock(set) => body(&set.body, unconditional, into),
        Stmt::AutoEscape(escape) => body(&escape.body, unconditional, into),
        Stmt::FilterBlock(filter) => body(&filter.body, unconditional, into),
        Stmt::ForLoop(each) => {
            body(&each.body, false, into);
            body(&each.else_body, false, into);
        }
        Stmt::IfCond(cond) => {
            body(&cond.true_body, false, into);
            body(&cond.false_body, false, into);
        }
        Stmt::Block(block) => body(&block.body, false, into),
        Stmt::Macro(decl) => body(&decl.body, false, into),
        Stmt::CallBlock(call) => body(&call.macro_decl.body, false, into),
        _ => {}
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
