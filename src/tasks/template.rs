//! `template` (Ansible's `ansible.builtin.template`): a Jinja template from the
//! controller, rendered with the host's variables, installed on the host. Rendering is
//! `template_config`'s (`render_file`: the one minijinja environment, found by the one
//! controller-file rule) and installing is `copy`'s (`file_install.rs`), so a fix in one is
//! a fix in all three; this file adds Ansible's arguments (`newline_sequence`,
//! `output_encoding`, `trim_blocks`, `lstrip_blocks`, `force`, `validate`, `backup`) and Ansible's result.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::args::{Account, secret_by_name};
use super::copy::{CopyMode, ansible_settings, failure_outcome, file_outcome};
use super::copy_files::playbook_dir;
use super::file_install::{self, Change, NewFile, Target};
use super::template_config::{render_file_in, render_file_with, template_path};
use super::{Outcome, TaskContext, TaskType};
use crate::python_codec::CodecError;
use crate::transport::TransportError;
use crate::yaml::Node;

#[derive(Debug, Deserialize)]
#[serde(try_from = "Args")]
pub struct Template(Args);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// The template, in `templates/` beside the playbook (or beside the playbook itself).
    src: String,
    /// The file on the host (into it, if it is a directory there).
    dest: String,
    /// A file mode, or `preserve`: the template file's own.
    #[serde(default)]
    mode: Option<CopyMode>,
    #[serde(default)]
    owner: Option<Account>,
    #[serde(default)]
    group: Option<Account>,
    #[serde(default)]
    backup: bool,
    #[serde(default = "super::args::yes")]
    force: bool,
    #[serde(default)]
    validate: Option<String>,
    #[serde(default)]
    newline_sequence: Option<String>,
    /// The encoding the file is written in, by Python's name (`utf-8` when not written or
    /// empty, as in ansible-core).
    #[serde(default)]
    output_encoding: Option<String>,
    #[serde(default = "super::args::yes")]
    trim_blocks: bool,
    #[serde(default)]
    lstrip_blocks: bool,
    /// Jinja's delimiters, when the template writes them otherwise (`{%`, `%}`, `{{`,
    /// `}}`, `{#`, `#}` when not written).
    #[serde(default)]
    block_start_string: Option<String>,
    #[serde(default)]
    block_end_string: Option<String>,
    #[serde(default)]
    variable_start_string: Option<String>,
    #[serde(default)]
    variable_end_string: Option<String>,
    #[serde(default)]
    comment_start_string: Option<String>,
    #[serde(default)]
    comment_end_string: Option<String>,
    /// A `dest` that is a symbolic link is written through, not replaced.
    #[serde(default)]
    follow: bool,
}

/// The arguments that set the template's delimiters.
const DELIMITERS: [&str; 6] = [
    "block_start_string",
    "block_end_string",
    "variable_start_string",
    "variable_end_string",
    "comment_start_string",
    "comment_end_string",
];

/// Whether the task writes any of the template's delimiters.
fn own_delimiters(args: &Node) -> bool {
    DELIMITERS.iter().any(|key| args.get(key).is_some())
}

impl Args {
    /// The template's syntax when any delimiter is written otherwise.
    fn syntax(&self) -> Result<Option<minijinja::syntax::SyntaxConfig>, String> {
        let pairs = [
            (&self.block_start_string, &self.block_end_string),
            (&self.variable_start_string, &self.variable_end_string),
            (&self.comment_start_string, &self.comment_end_string),
        ];
        if pairs.iter().all(|(s, e)| s.is_none() && e.is_none()) {
            return Ok(None);
        }
        let pick = |value: &Option<String>, default: &'static str| {
            value.clone().unwrap_or_else(|| default.to_owned())
        };
        let starts = [
            pick(&self.block_start_string, "{%"),
            pick(&self.variable_start_string, "{{"),
            pick(&self.comment_start_string, "{#"),
        ];
        if starts[0] == starts[1] || starts[0] == starts[2] || starts[1] == starts[2] {
            // Jinja's words, which Ansible fails the task with.
            return Err("Block, variable and comment start strings must be different.".to_owned());
        }
        minijinja::syntax::SyntaxConfig::builder()
            .block_delimiters(
                pick(&self.block_start_string, "{%"),
                pick(&self.block_end_string, "%}"),
            )
            .variable_delimiters(
                pick(&self.variable_start_string, "{{"),
                pick(&self.variable_end_string, "}}"),
            )
            .comment_delimiters(
                pick(&self.comment_start_string, "{#"),
                pick(&self.comment_end_string, "#}"),
            )
            .build()
            .map(Some)
            .map_err(|error| format!("the template's delimiters: {error}"))
    }
}

impl TryFrom<Args> for Template {
    type Error = String;

    fn try_from(mut args: Args) -> Result<Self, String> {
        if args.dest.is_empty() {
            return Err("`dest` is empty".to_owned());
        }
        if let Some(sequence) = &mut args.newline_sequence {
            // As ansible-core's action: the escapes written out (`'\r\n'` in single
            // quotes) stand for the characters.
            let written = match sequence.as_str() {
                "\\n" => Some("\n"),
                "\\r\\n" => Some("\r\n"),
                "\\r" => Some("\r"),
                _ => None,
            };
            if let Some(written) = written {
                written.clone_into(sequence);
            }
            if !matches!(sequence.as_str(), "\n" | "\r\n" | "\r") {
                return Err(format!(
                    "newline_sequence must be one of `\\n`, `\\r\\n` or `\\r`, found {sequence:?}"
                ));
            }
        }
        if let Some(encoding) = args.output_encoding.as_deref()
            && !encoding.is_empty()
            && !crate::yaml::is_template(encoding)
            && crate::python_codec::encode("", encoding) == Err(CodecError::Unknown)
        {
            // ansible-core's words, when it fails the task there.
            return Err(format!("unknown encoding: {encoding}"));
        }
        if let Some(validate) = &args.validate {
            if !crate::yaml::is_template(validate) && !validate.contains("%s") {
                return Err(format!("validate must contain %s: {validate}"));
            }
        }
        let delimiters = [
            &args.block_start_string,
            &args.block_end_string,
            &args.variable_start_string,
            &args.variable_end_string,
            &args.comment_start_string,
            &args.comment_end_string,
        ];
        if delimiters
            .iter()
            .any(|d| d.as_deref().is_some_and(|d| d.is_empty()))
        {
            return Err("a template delimiter is empty".to_owned());
        }
        if !delimiters
            .iter()
            .any(|d| d.as_deref().is_some_and(crate::yaml::is_template))
        {
            args.syntax()?;
        }
        Ok(Template(args))
    }
}

impl Template {
    /// The template on the controller: a role's task finds it in the role first.
    fn source(&self, vars: &minijinja::Value) -> Result<PathBuf, String> {
        let args = &self.0;
        let role = super::controller_files::role_dir(vars);
        super::controller_files::find_with_role(
            role.as_deref(),
            &playbook_dir(vars),
            &args.src,
            super::controller_files::Look::Template,
        )
        .ok_or_else(|| {
            format!(
                "Could not find or access '{}' in `templates/` beside the playbook",
                args.src
            )
        })
    }

    /// The rendered bytes, and the template file's path on the controller.
    fn render(&self, vars: &minijinja::Value) -> Result<(Vec<u8>, PathBuf), String> {
        let args = &self.0;
        let base = playbook_dir(vars);
        let path = self.source(vars)?;
        let name = path
            .strip_prefix(&base)
            .unwrap_or(&path)
            .display()
            .to_string();
        let vars = &template_vars(vars, &args.src, &path, &args.dest);
        let standard = crate::template::environment();
        let syntax = args.syntax()?;
        let rendered = if args.trim_blocks && !args.lstrip_blocks && syntax.is_none() {
            render_file_in(standard, &path, &name, vars)?
        } else {
            let mut env = standard.clone();
            env.set_trim_blocks(args.trim_blocks);
            env.set_lstrip_blocks(args.lstrip_blocks);
            let own = syntax.is_some();
            if let Some(syntax) = syntax {
                env.set_syntax(syntax);
            }
            render_file_with(&env, &path, &name, vars, !own)?
        };
        let text = match args.newline_sequence.as_deref() {
            Some(sequence) if sequence != "\n" => rendered.replace('\n', sequence),
            _ => rendered,
        };
        let encoding = match args.output_encoding.as_deref() {
            None | Some("") => "utf-8",
            Some(encoding) => encoding,
        };
        let bytes = crate::python_codec::encode(&text, encoding).map_err(|error| match error {
            CodecError::Unencodable(reason) => format!("Task failed: {reason}"),
            _ => format!("Task failed: unknown encoding: {encoding}"),
        })?;
        Ok((bytes, path))
    }
}

/// The host's variables with the ones Ansible's `template` adds: `ansible_managed`,
/// `template_host`, `template_path`, `template_fullpath`, `template_destpath`,
/// `template_uid`.
fn template_vars(vars: &minijinja::Value, src: &str, path: &Path, dest: &str) -> minijinja::Value {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned());
    let full = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let uid = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).map(|m| m.uid()).ok()
    };
    let owner = uid.map(|uid| user_name(uid).unwrap_or_else(|| uid.to_string()));
    minijinja::context! {
        ansible_managed => "Ansible managed",
        template_host => host,
        template_path => src,
        template_fullpath => full.display().to_string(),
        template_destpath => dest,
        template_uid => owner,
        ..vars.clone()
    }
}

/// A user's name on the controller, from `/etc/passwd`.
fn user_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id = fields.nth(1)?;
        (id.parse::<u32>().ok()? == uid).then(|| name.to_owned())
    })
}

impl TaskType for Template {
    // As ansible-core's action plugin: "This action (NAME) does not support async."
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Fails;

    const HOST_PATHS: &'static [&'static str] = &["dest"];

    const TEMPLATE_VARIABLES: &'static [&'static str] = &[
        "ansible_managed",
        "template_host",
        "template_path",
        "template_fullpath",
        "template_destpath",
        "template_uid",
    ];

    fn template_files<'n>(args: &'n Node, dir: &Path) -> Vec<(&'n Node, Option<PathBuf>)> {
        // A template with its own delimiters is read when it renders, not before.
        if own_delimiters(args) {
            return Vec::new();
        }
        args.get("src")
            .and_then(|node| Some((node, template_path(dir, node.as_str()?))))
            .into_iter()
            .collect()
    }

    fn pipelines(_args: &Node) -> bool {
        true
    }

    fn rendered_files(args: &Node, role: Option<&Path>, base: &Path) -> Option<Vec<PathBuf>> {
        let src = args.get("src")?.as_str()?;
        if crate::yaml::is_template(src) || own_delimiters(args) {
            return None;
        }
        let path = super::controller_files::find_with_role(
            role,
            base,
            src,
            super::controller_files::Look::Template,
        )?;
        Some(vec![path])
    }

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let args = &self.0;
        let prepared = ansible_settings(
            args.mode.as_ref().and_then(CopyMode::set),
            args.owner.as_ref(),
            args.group.as_ref(),
            args.backup,
            args.force,
            args.validate.as_deref(),
        )
        .and_then(|mut settings| {
            settings.follow = args.follow;
            let (bytes, src_path) = self.render(ctx.vars)?;
            if matches!(args.mode, Some(CopyMode::Preserve)) {
                settings.mode = Some(super::copy::file_mode(&src_path)?);
            }
            Ok((settings, (bytes, src_path)))
        });
        let (settings, (bytes, src_path)) = match prepared {
            Ok(prepared) => prepared,
            Err(reason) => return Ok(Outcome::failed(reason)),
        };
        let name = args.src.rsplit('/').next().unwrap_or(&args.src).to_owned();
        let target = if args.dest.ends_with('/') {
            Target::Path(format!("{}{name}", args.dest))
        } else {
            Target::PathOrInto {
                dest: args.dest.clone(),
                name,
            }
        };
        let files = [NewFile {
            target,
            bytes,
            secret: secret_by_name(&args.dest),
        }];
        let installed = match file_install::install(ctx, &files, &settings).await? {
            Ok(installed) => installed,
            Err(failure) => return Ok(failure_outcome(failure)),
        };
        match (files.first(), installed.first()) {
            // ansible-core's `after_header` is the rendered copy in its temporary
            // folder on the controller; quayside names the template itself.
            (Some(file), Some(one)) => {
                let src = std::fs::canonicalize(&src_path).unwrap_or(src_path);
                let src = src.display().to_string();
                let outcome = file_outcome(ctx, file, one, Some(&src));
                // ansible-core's `src` is the rendered copy it sent, in its temporary
                // folder on the host, when the contents were copied; quayside names the
                // template.
                Ok(match one.change {
                    Change::Contents => outcome.with("src", src),
                    _ => outcome,
                })
            }
            _ => Ok(Outcome::failed("nothing was installed")),
        }
    }
}
