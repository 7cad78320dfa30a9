//! The one minijinja environment every template and expression is rendered in.
//!
//! Undefined is strict: a variable that does not exist is an error that names it and the
//! place of the YAML value it was used in, never an empty string.

mod ansible;
/// Mappings merged as `combine` merges them (`recursive`: nested mappings too).
pub(crate) use ansible::merge as merge_mappings;
mod crypt;
mod password;
pub(crate) mod python;
mod rewrite;

use std::sync::OnceLock;

use base64::Engine;
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior};
use sha2::Digest;

use crate::source::Span;
use crate::yaml::{Node, Value as YamlValue};

/// A template that failed, and where it was written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    pub message: String,
    pub span: Span,
}

impl From<TemplateError> for crate::diagnostic::Diagnostic {
    fn from(error: TemplateError) -> Self {
        crate::diagnostic::Diagnostic::at(error.message, error.span)
    }
}

/// The text of a template (`what`: "template") or of a file a template reads ("file"),
/// `name` being how messages call it: at most [`crate::source::MAX_FILE_BYTES`], and UTF-8
/// (or an error with the place it stops being so).
///
/// A file vaulted whole is decrypted, as Ansible does, and its text becomes one of the
/// run's secrets (a `lookup('file')` value, the literal lines of a template).
pub fn read_file(path: &std::path::Path, what: &str, name: &str) -> Result<String, String> {
    let text = read_plain_file(path, what, name)?;
    if !crate::vault::is_vaulted(&text) {
        return Ok(text);
    }
    let (plain, _) = crate::vault::open_bytes(text.into_bytes(), name)?;
    let plain = String::from_utf8(plain)
        .map_err(|_| format!("{what} `{name}` decrypts to text that is not UTF-8"))?;
    crate::secrets::register(&plain, crate::secrets::Reach::Everywhere);
    Ok(plain)
}

fn read_plain_file(path: &std::path::Path, what: &str, name: &str) -> Result<String, String> {
    use crate::source::TextError;
    crate::inputs::regular_file(path)
        .map_err(TextError::Io)
        .and_then(|()| crate::source::read_text(path))
        .map_err(|error| match error {
            TextError::Io(error) => format!("cannot read {what} `{name}`: {error}"),
            TextError::TooLarge => format!(
                "{what} `{name}` is larger than {} MiB, the most quayside reads of a {what}",
                crate::source::MAX_FILE_BYTES >> 20
            ),
            TextError::NotUtf8 { line, column } => {
                format!("{what} `{name}` is not valid UTF-8 (at {name}:{line}:{column})")
            }
        })
}

/// The name under which a host's context carries the variables whose own templates could
/// not be rendered, so that an error reading one of them names the real cause and place.
pub const BROKEN: &str = "__broken_variables";

/// The broken variables of a context, as [`BROKEN`] carries them.
pub fn broken_value(broken: &std::collections::BTreeMap<String, TemplateError>) -> Value {
    let entries: serde_json::Map<String, serde_json::Value> = broken
        .iter()
        .map(|(name, error)| {
            (
                name.clone(),
                serde_json::json!({
                    "message": error.message,
                    "file": error.span.file.name,
                    "line": error.span.line,
                    "column": error.span.column,
                }),
            )
        })
        .collect();
    Value::from_serialize(&entries)
}

/// Why `name` is undefined when its own value could not be rendered.
fn broken_cause(ctx: &Value, name: &str) -> Option<TemplateError> {
    let entry = ctx.get_attr(BROKEN).ok()?.get_attr(name).ok()?;
    if entry.is_undefined() {
        return None;
    }
    let text = |key: &str| entry.get_attr(key).ok().map(|v| v.to_string());
    let number = |key: &str| {
        entry
            .get_attr(key)
            .ok()
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(0)
    };
    Some(TemplateError {
        message: text("message")?,
        span: Span::new(
            std::sync::Arc::new(crate::source::SourceFile::new(
                text("file").unwrap_or_default(),
                String::new(),
            )),
            number("line"),
            number("column"),
            0,
        ),
    })
}

/// Every variable a template reads at its top level, guarded or not.
pub fn read_variables(text: &str) -> Vec<String> {
    rewrite::analyse(text, false)
        .map(|analysis| {
            analysis
                .uses
                .into_iter()
                .map(|found| found.name)
                .filter(|name| !analysis.locals.contains(name))
                .collect()
        })
        .unwrap_or_default()
}

/// Every variable a template (or, with `expression`, a bare expression) reads at its top
/// level, guarded or not; `None` when it does not parse.
pub fn all_read_variables(text: &str, expression: bool) -> Option<Vec<String>> {
    let analysis = rewrite::analyse(text, expression)?;
    Some(
        analysis
            .uses
            .into_iter()
            .map(|found| found.name)
            .filter(|name| !analysis.locals.contains(name))
            .collect(),
    )
}

/// The shared environment, built once.
pub fn environment() -> &'static Environment<'static> {
    static ENVIRONMENT: OnceLock<Environment<'static>> = OnceLock::new();
    ENVIRONMENT.get_or_init(build)
}

fn build() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Templates render configuration files: keep their trailing newline.
    env.set_keep_trailing_newline(true);
    // As Ansible's template module: a block tag's own line ending is dropped.
    env.set_trim_blocks(true);
    env.set_recursion_limit(200);
    env.add_global("omit", OMIT);
    // Python's string methods (`.split()`, `.startswith()`, `.items()`, `.get()`...).
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.set_formatter(format_value);
    env.add_function(rewrite::CHAIN, chain);
    env.add_filter("int", to_int);
    env.add_filter("type_debug", type_debug);
    env.add_filter("string", to_string);
    env.add_filter("bool", to_bool);
    env.add_filter("to_json", to_json);
    env.add_filter("to_nice_json", to_nice_json);
    env.add_filter("from_json", from_json);
    env.add_filter("to_yaml", to_yaml);
    env.add_filter("to_nice_yaml", to_nice_yaml);
    env.add_filter("from_yaml", from_yaml);
    env.add_filter("b64encode", b64encode);
    env.add_filter("b64decode", b64decode);
    env.add_filter("basename", basename);
    env.add_filter("dirname", dirname);
    env.add_filter("expanduser", expanduser);
    env.add_filter("realpath", realpath);
    env.add_filter("hash", hash);
    env.add_filter("quote", shell_quote);
    env.add_filter("mandatory", mandatory);
    env.add_filter("urlsplit", urlsplit);
    // Ansible's tests on registered results: `when: bundle is changed`.
    ansible::register(&mut env);
    env.add_filter("password_hash", crypt::password_hash);
    env.add_test("version", version_test);
    env.add_test("version_compare", version_test);
    env.add_test("changed", |result: Value| result_flag(&result, "changed"));
    env.add_test("failed", |result: Value| result_flag(&result, "failed"));
    env.add_test("skipped", |result: Value| result_flag(&result, "skipped"));
    // Ansible's `exists`: a path on the controller, as `lookup('file', ...)` reads it.
    env.add_test("exists", |path: &str| std::path::Path::new(path).exists());
    // Ansible's other spellings of the same tests.
    env.add_test("failure", |result: Value| result_flag(&result, "failed"));
    env.add_test("change", |result: Value| result_flag(&result, "changed"));
    env.add_test("skip", |result: Value| result_flag(&result, "skipped"));
    env.add_test("succeeded", |result: Value| !result_flag(&result, "failed"));
    env.add_test("success", |result: Value| !result_flag(&result, "failed"));
    env.add_test("successful", |result: Value| {
        !result_flag(&result, "failed")
    });
    // Ansible Vault's tests.
    env.add_test("vault_encrypted", |value: Value| {
        value.as_str().is_some_and(crate::vault::is_vault_value)
    });
    env.add_test("vaulted_file", |path: String| {
        crate::vault::is_vaulted_file(std::path::Path::new(&path))
    });
    env
}

/// Render one string of a task. A string that is exactly one `{{ expression }}` keeps the
/// expression's type (a list stays a list), as in Ansible.
pub fn render_value(
    text: &str,
    span: &Span,
    ctx: &Value,
) -> Result<serde_json::Value, TemplateError> {
    if !crate::yaml::is_template(text) {
        return Ok(serde_json::Value::String(text.to_owned()));
    }
    if let Some(expression) = single_expression(text) {
        let value = eval(expression, span, ctx)?;
        if value.is_undefined() {
            let missing = missing_variable(expression, true, ctx);
            if let Some(cause) = missing.as_deref().and_then(|name| broken_cause(ctx, name)) {
                return Err(cause);
            }
            return Err(TemplateError {
                message: match missing {
                    Some(name) => format!("undefined variable `{name}`"),
                    None => format!("undefined value in `{expression}`"),
                },
                span: span.clone(),
            });
        }
        return to_json_value(&value).map_err(|message| TemplateError {
            message,
            span: span.clone(),
        });
    }
    render_str(text, span, ctx).map(serde_json::Value::String)
}

/// A whole template file's text as minijinja should compile it to behave as Jinja does in
/// Ansible (raw string literals, guarded lookups); line numbers are kept.
pub fn prepare_template(text: &str) -> std::borrow::Cow<'_, str> {
    rewrite::prepare(text, false)
}

/// Render a string template to a string.
pub fn render_str(text: &str, span: &Span, ctx: &Value) -> Result<String, TemplateError> {
    if !crate::yaml::is_template(text) {
        return Ok(text.to_owned());
    }
    environment()
        .render_str(&rewrite::prepare(text, false), ctx)
        .map_err(|error| describe(&error, text, span, ctx))
}

/// Evaluate a bare expression (`when`, `failed_when`, `assert.that`).
pub fn eval(expression: &str, span: &Span, ctx: &Value) -> Result<Value, TemplateError> {
    eval_prepared(&rewrite::prepare(expression, true), expression, span, ctx)
}

/// Evaluate a condition's expression: its string literals read as Python reads them
/// (`"a\nb"` is three characters), as ansible-core 2.19.14 reads them in a condition.
pub fn eval_conditional(
    expression: &str,
    span: &Span,
    ctx: &Value,
) -> Result<Value, TemplateError> {
    eval_prepared(
        &rewrite::prepare_condition(expression),
        expression,
        span,
        ctx,
    )
}

fn eval_prepared(
    prepared: &str,
    expression: &str,
    span: &Span,
    ctx: &Value,
) -> Result<Value, TemplateError> {
    let env = environment();
    let compiled = env
        .compile_expression(prepared)
        .map_err(|error| describe(&error, expression, span, ctx))?;
    compiled
        .eval(ctx)
        .map_err(|error| describe(&error, expression, span, ctx))
}

/// Evaluate a condition. A condition written as a template (`"{{ x }}"`) is rendered first,
/// and its text is then the expression, as Ansible does.
pub fn eval_condition(node: &Node, ctx: &Value) -> Result<bool, TemplateError> {
    match &node.value {
        YamlValue::Bool(b) => Ok(*b),
        YamlValue::Int(i) => Ok(*i != 0),
        YamlValue::Null => Ok(false),
        YamlValue::Str(text) => {
            let text = if crate::yaml::is_template(text) {
                render_str(text, &node.span, ctx)?
            } else {
                text.clone()
            };
            let trimmed = text.trim();
            if let Some(b) = crate::yaml::parse_bool(trimmed).filter(|_| !trimmed.is_empty()) {
                if !trimmed.chars().all(|c| c.is_ascii_digit()) {
                    return Ok(b);
                }
            }
            Ok(eval_conditional(trimmed, &node.span, ctx)?.is_true())
        }
        _ => Err(TemplateError {
            message: format!("a condition must be an expression, found {}", node.kind()),
            span: node.span.clone(),
        }),
    }
}

/// What `omit` renders to: an argument (or an item of a list or mapping) whose value is
/// exactly this is left out, and in a longer string it is nothing, as in ansible-core
/// 2.19.14.
pub const OMIT: &str = "__omit_place_holder__quayside";

/// Render every string in a node tree, keeping its shape and spans. A value that renders
/// to `omit` is left out of its list or mapping.
pub fn render_node(node: &Node, ctx: &Value) -> Result<Node, TemplateError> {
    Ok(render_or_omit(node, ctx)?.unwrap_or_else(|| Node::new(node.span.clone(), YamlValue::Null)))
}

fn render_or_omit(node: &Node, ctx: &Value) -> Result<Option<Node>, TemplateError> {
    let value = match &node.value {
        YamlValue::Str(text) if crate::yaml::is_template(text) => {
            let rendered = render_value(text, &node.span, ctx)?;
            return Ok(without_omit(rendered).map(|json| Node::from_json(&json, &node.span)));
        }
        YamlValue::Seq(items) => YamlValue::Seq(
            items
                .iter()
                .filter_map(|item| render_or_omit(item, ctx).transpose())
                .collect::<Result<_, _>>()?,
        ),
        YamlValue::Map(entries) => {
            let mut kept = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                if let (Some(k), Some(v)) = (render_or_omit(k, ctx)?, render_or_omit(v, ctx)?) {
                    kept.push((k, v));
                }
            }
            YamlValue::Map(kept)
        }
        other => other.clone(),
    };
    Ok(Some(Node::new(node.span.clone(), value)))
}

/// A rendered value with `omit` taken out: `None` if it is `omit` itself.
fn without_omit(value: serde_json::Value) -> Option<serde_json::Value> {
    use serde_json::Value as Json;
    match value {
        Json::String(text) if text == OMIT => None,
        Json::String(text) if text.contains(OMIT) => Some(Json::String(text.replace(OMIT, ""))),
        Json::Array(items) => Some(Json::Array(
            items.into_iter().filter_map(without_omit).collect(),
        )),
        Json::Object(entries) => Some(Json::Object(
            entries
                .into_iter()
                .filter_map(|(k, v)| without_omit(v).map(|v| (k, v)))
                .collect(),
        )),
        other => Some(other),
    }
}

/// The variables a template or expression reads on every path without a guard
/// (`default`, `is defined`), to check before a run that each is set somewhere.
pub fn required_variables(text: &str, expression: bool) -> Vec<String> {
    rewrite::analyse(text, expression)
        .map(|analysis| analysis.required())
        .unwrap_or_default()
}

/// A template or expression that does not compile, for checking before a run.
pub fn syntax_error(text: &str, expression: bool, span: &Span) -> Option<TemplateError> {
    let env = environment();
    let prepared = rewrite::prepare(text, expression);
    let result = if expression {
        env.compile_expression(&prepared).map(|_| ())
    } else {
        env.template_from_str(&prepared).map(|_| ())
    };
    result.err().map(|error| TemplateError {
        message: format!("template error: {}", error_text(&error)),
        span: span.clone(),
    })
}

/// A template file's text that does not compile: the message, and the 1-based line and
/// column of the error in the file.
///
/// As in Jinja, a filter or test that does not exist is an error of the template, not of
/// the render that reaches it.
pub fn file_syntax_error(text: &str) -> Option<(String, u32, u32)> {
    let prepared = prepare_template(text);
    if let Err(error) = environment().template_from_str(&prepared) {
        let (line, column) = error_position(&prepared, &error).unwrap_or((1, 1));
        return Some((
            format!("template error: {}", error_text(&error)),
            line,
            column,
        ));
    }
    let analysis = rewrite::analyse(text, false)?;
    let env = environment();
    let unknown = |probe: String, kind: ErrorKind| {
        env.compile_expression(&probe)
            .and_then(|expression| expression.eval(()))
            .is_err_and(|error| error.kind() == kind)
    };
    for (name, (line, column)) in &analysis.filters {
        if unknown(format!("none | {name}"), ErrorKind::UnknownFilter) {
            return Some((
                format!("template error: no filter named `{name}`"),
                *line,
                *column,
            ));
        }
    }
    for (name, (line, column)) in &analysis.tests {
        if unknown(format!("none is {name}"), ErrorKind::UnknownTest) {
            return Some((
                format!("template error: no test named `{name}`"),
                *line,
                *column,
            ));
        }
    }
    None
}

/// The variables a template file reads on every path without a guard, each with the
/// 1-based line and column of its first such read.
pub fn file_required_variables(text: &str) -> Vec<(String, u32, u32)> {
    rewrite::analyse(text, false)
        .map(|analysis| {
            analysis
                .required_uses()
                .into_iter()
                .map(|found| (found.name.clone(), found.line, found.column))
                .collect()
        })
        .unwrap_or_default()
}

/// Where a template file's text fails to render with `error`, 1-based line and column: at
/// the first read of the undefined variable `variable` when there is one, else where
/// minijinja says.
pub fn file_error_position(
    text: &str,
    error: &Error,
    variable: Option<&str>,
) -> Option<(u32, u32)> {
    if let Some(name) = variable {
        let first = rewrite::analyse(text, false).and_then(|analysis| {
            analysis
                .uses
                .iter()
                .find(|found| found.name == name)
                .map(|found| (found.line, found.column))
        });
        if first.is_some() {
            return first;
        }
    }
    error_position(&prepare_template(text), error)
}

/// The 1-based line and column of a minijinja error in the text it was compiled from.
fn error_position(text: &str, error: &Error) -> Option<(u32, u32)> {
    match error.range().filter(|range| range.start <= text.len()) {
        Some(range) => {
            let before = text.get(..range.start)?;
            let line_start = before.rfind('\n').map_or(0, |at| at + 1);
            Some((
                before.matches('\n').count() as u32 + 1,
                before[line_start..].chars().count() as u32 + 1,
            ))
        }
        None => Some((error.line()? as u32, 1)),
    }
}

fn single_expression(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%"))
        .then_some(inner.trim())
}

fn error_text(error: &Error) -> String {
    let mut text = error
        .detail()
        .map_or_else(|| error.kind().to_string(), str::to_owned);
    if error.kind() != ErrorKind::UndefinedError {
        if let Some(detail) = error.detail() {
            text = format!("{}: {detail}", error.kind());
        }
    }
    text
}

/// A template file's rendering error as a message (what was undefined, or minijinja's
/// words), `text` being the file it happened in: for a template that takes in others
/// (`{% include %}`), which the shared environment cannot render again to find out.
pub fn describe_file_error(error: &Error, text: &str, ctx: &Value) -> String {
    describe(error, text, &Span::synthetic(""), ctx).message
}

/// Turn a minijinja error into one that names what was undefined and where.
fn describe(error: &Error, text: &str, span: &Span, ctx: &Value) -> TemplateError {
    let message = if error.kind() == ErrorKind::UndefinedError {
        let missing = missing_variable(text, !crate::yaml::is_template(text), ctx);
        if let Some(cause) = missing.as_deref().and_then(|name| broken_cause(ctx, name)) {
            return cause;
        }
        match missing {
            Some(name) => format!("undefined variable `{name}`"),
            None => format!("undefined value in `{}`", text.trim()),
        }
    } else {
        format!("template error: {}", error_text(error))
    };
    TemplateError {
        message,
        span: span.clone(),
    }
}

/// The first variable (or `a.b` attribute path) the text reads that the context lacks.
fn missing_variable(text: &str, expression: bool, ctx: &Value) -> Option<String> {
    let env = environment();
    let lookup = |path: &str| -> bool {
        let mut value = ctx.clone();
        for part in path.split('.') {
            match value.get_attr(part) {
                Ok(v) if !v.is_undefined() => value = v,
                _ => return false,
            }
        }
        true
    };
    let read: Vec<String> = rewrite::analyse(text, expression)
        .map(|analysis| {
            analysis
                .uses
                .into_iter()
                .filter(|found| !found.guarded && !analysis.locals.contains(&found.name))
                .map(|found| found.name)
                .collect()
        })
        .unwrap_or_default();
    if let Some(name) = read.into_iter().find(|name| !lookup(name)) {
        return Some(name);
    }
    let mut paths: Vec<String> = if expression {
        env.compile_expression(text)
            .map(|e| e.undeclared_variables(true).into_iter().collect())
            .unwrap_or_default()
    } else {
        env.template_from_str(text)
            .map(|t| t.undeclared_variables(true).into_iter().collect())
            .unwrap_or_default()
    };
    paths.sort();
    paths.into_iter().find(|path| !lookup(path))
}

pub fn to_json_value(value: &Value) -> Result<serde_json::Value, String> {
    serde_json::to_value(value).map_err(|error| format!("cannot use this value: {error}"))
}

fn json_of(value: &Value) -> Result<serde_json::Value, Error> {
    to_json_value(value).map_err(|message| Error::new(ErrorKind::InvalidOperation, message))
}

/// How a value is printed inside a template: as Jinja in Ansible prints it — an undefined
/// value is an error, `None` is empty, lists and mappings as Python writes them.
fn format_value(
    out: &mut minijinja::Output<'_>,
    state: &minijinja::State<'_, '_>,
    value: &Value,
) -> Result<(), Error> {
    use minijinja::value::ValueKind;
    if value.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    match value.kind() {
        ValueKind::None => Ok(()),
        ValueKind::Seq | ValueKind::Map => {
            let text = python::repr(&json_of(value)?);
            out.write_str(&text)
                .map_err(|error| Error::new(ErrorKind::WriteFailure, error.to_string()))
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

/// `__chain(value, key, ...)`: a lookup that stays undefined when any step is missing, as
/// Ansible's undefined values do under `default` and `is defined`.
fn chain(base: Value, keys: minijinja::value::Rest<Value>) -> Value {
    let mut value = base;
    for key in keys.iter() {
        if value.is_undefined() || value.is_none() {
            return Value::UNDEFINED;
        }
        value = match value.get_item(key) {
            Ok(next) => next,
            Err(_) => return Value::UNDEFINED,
        };
    }
    value
}

/// Ansible's `int`: a number, a numeric string (`'3.7'` is 3), else `default` (0).
fn to_int(value: Value, default: Option<i64>, kwargs: Kwargs) -> Result<Value, Error> {
    let base: Option<u32> = kwargs.get("base")?;
    let default: i64 = kwargs
        .get::<Option<i64>>("default")?
        .or(default)
        .unwrap_or(0);
    kwargs.assert_all_used()?;
    if value.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    if let Some(b) = value.as_str().map(str::trim) {
        let parsed = match base {
            Some(radix) if radix != 10 => {
                let digits = b
                    .trim_start_matches("0x")
                    .trim_start_matches("0o")
                    .trim_start_matches("0b");
                i64::from_str_radix(digits, radix).ok()
            }
            _ => b.replace('_', "").parse::<i64>().ok().or_else(|| {
                b.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(|f| f as i64)
            }),
        };
        return Ok(Value::from(parsed.unwrap_or(default)));
    }
    if let Ok(b) = bool::try_from(value.clone()) {
        if value.kind() == minijinja::value::ValueKind::Bool {
            return Ok(Value::from(i64::from(b)));
        }
    }
    if let Ok(i) = i64::try_from(value.clone()) {
        return Ok(Value::from(i));
    }
    if let Ok(f) = f64::try_from(value.clone()) {
        return Ok(Value::from(f as i64));
    }
    Ok(Value::from(default))
}

/// Ansible's `type_debug`: the Python type's name.
fn type_debug(value: Value) -> &'static str {
    use minijinja::value::ValueKind;
    match value.kind() {
        ValueKind::Undefined => "AnsibleUndefined",
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number if value.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::String => "str",
        ValueKind::Bytes => "bytes",
        ValueKind::Seq | ValueKind::Iterable => "list",
        ValueKind::Map => "dict",
        _ => "object",
    }
}

/// Python's `str()`.
pub(crate) fn to_string(value: Value) -> Result<String, Error> {
    if value.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    Ok(match value.as_str() {
        Some(s) => s.to_owned(),
        None => python::str(&json_of(&value)?),
    })
}

/// Ansible's `bool`: `yes`, `on`, `true`, `1` (any case) and the number 1 are true.
fn to_bool(value: Value) -> bool {
    match value.as_str() {
        Some(s) => matches!(s.to_ascii_lowercase().as_str(), "yes" | "on" | "true" | "1"),
        None if value.kind() == minijinja::value::ValueKind::Bool => value.is_true(),
        None => i64::try_from(value).is_ok_and(|i| i == 1),
    }
}

/// `json.dumps`, as Ansible's `to_json`: `{"b": 2, "a": 1}`.
fn to_json(value: Value) -> Result<String, Error> {
    Ok(python::json(&json_of(&value)?, None, false))
}

/// As Ansible's `to_nice_json`: indented by 4, keys sorted.
fn to_nice_json(value: Value, indent: Option<usize>) -> Result<String, Error> {
    Ok(python::json(
        &json_of(&value)?,
        Some(indent.unwrap_or(4)),
        true,
    ))
}

fn from_json(text: &str) -> Result<Value, Error> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|error| Error::new(ErrorKind::InvalidOperation, format!("from_json: {error}")))?;
    Ok(Value::from_serialize(&value))
}

/// As Ansible's `to_yaml`: PyYAML with `default_flow_style=None`, keys sorted.
fn to_yaml(value: Value, kwargs: Kwargs) -> Result<String, Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    kwargs.assert_all_used()?;
    Ok(python::yaml(&json_of(&value)?, true, indent.unwrap_or(2)))
}

/// As Ansible's `to_nice_yaml`: block style, indented by 4.
fn to_nice_yaml(value: Value, kwargs: Kwargs) -> Result<String, Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    kwargs.assert_all_used()?;
    Ok(python::yaml(&json_of(&value)?, false, indent.unwrap_or(4)))
}

fn from_yaml(text: &str) -> Result<Value, Error> {
    let node = crate::yaml::load_str("from_yaml", text).map_err(|error| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("from_yaml: {}", error.message),
        )
    })?;
    Ok(Value::from_serialize(node.to_json()))
}

fn b64encode(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn b64decode(text: &str) -> Result<String, Error> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|error| Error::new(ErrorKind::InvalidOperation, format!("b64decode: {error}")))?;
    String::from_utf8(bytes)
        .map_err(|_| Error::new(ErrorKind::InvalidOperation, "b64decode: not UTF-8 text"))
}

fn basename(path: &str) -> String {
    path.rsplit('/').next().unwrap_or(path).to_owned()
}

/// Python's `os.path.expanduser` on the controller (the rule controller files are found by).
fn expanduser(path: &str) -> String {
    crate::tasks::controller_files::expand_home(path)
}

/// Python's `os.path.realpath` on the controller: absolute, `.` and `..` folded, each
/// symbolic link followed; a part that is not there is kept as written (not strict).
fn realpath(path: &str) -> String {
    use std::collections::VecDeque;
    let mut rest: VecDeque<String> = VecDeque::new();
    if !path.starts_with('/') {
        let cwd = std::env::current_dir().unwrap_or_default();
        rest.extend(cwd.to_string_lossy().split('/').map(str::to_owned));
    }
    rest.extend(path.split('/').map(str::to_owned));
    let mut resolved = std::path::PathBuf::from("/");
    let mut links = 0;
    while let Some(part) = rest.pop_front() {
        match part.as_str() {
            "" | "." => continue,
            ".." => {
                resolved.pop();
                continue;
            }
            _ => {}
        }
        let next = resolved.join(&part);
        match std::fs::read_link(&next) {
            // Python gives up on a loop and keeps the rest as written.
            Ok(target) if links < 40 => {
                links += 1;
                let target = target.to_string_lossy().into_owned();
                if target.starts_with('/') {
                    resolved = std::path::PathBuf::from("/");
                }
                for (i, piece) in target.split('/').enumerate() {
                    rest.insert(i, piece.to_owned());
                }
            }
            _ => resolved = next,
        }
    }
    resolved.to_string_lossy().into_owned()
}

fn dirname(path: &str) -> String {
    match path.rfind('/') {
        Some(0) => "/".to_owned(),
        Some(i) => path[..i].to_owned(),
        None => String::new(),
    }
}

fn hash(text: &str, algorithm: Option<&str>) -> Result<String, Error> {
    match algorithm.unwrap_or("sha1") {
        "sha256" => Ok(hex::encode(sha2::Sha256::digest(text.as_bytes()))),
        "sha512" => Ok(hex::encode(sha2::Sha512::digest(text.as_bytes()))),
        "sha384" => Ok(hex::encode(sha2::Sha384::digest(text.as_bytes()))),
        "sha224" => Ok(hex::encode(sha2::Sha224::digest(text.as_bytes()))),
        other => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("hash: `{other}` is not supported (use sha256, sha384, sha512 or sha224)"),
        )),
    }
}

fn shell_quote(text: &str) -> String {
    crate::transport::quote(text)
}

fn result_flag(result: &Value, flag: &str) -> bool {
    result.get_attr(flag).is_ok_and(|value| value.is_true())
}

/// Ansible's `urlsplit`: the parts of a URL such as Quay's `DB_URI`
/// (`scheme`, `username`, `password`, `hostname`, `port`, `path`, `query`), or one of them.
fn urlsplit(url: &str, part: Option<&str>) -> Result<Value, Error> {
    let invalid = || Error::new(ErrorKind::InvalidOperation, "urlsplit: not a URL");
    let (scheme, rest) = url.split_once("://").ok_or_else(invalid)?;
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, ""),
    };
    let (userinfo, hostport) = authority.rsplit_once('@').unwrap_or(("", authority));
    let (username, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let (hostname, port) = match hostport.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || hostport.starts_with('[') => {
            (host, port.parse::<u16>().ok())
        }
        _ => (hostport, None),
    };
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8_lossy()
            .into_owned()
    };
    let parts = serde_json::json!({
        "scheme": scheme,
        "username": decode(username),
        "password": decode(password),
        "hostname": hostname.trim_start_matches('[').trim_end_matches(']'),
        "port": port,
        "path": path,
        "query": query,
    });
    match part {
        None => Ok(Value::from_serialize(&parts)),
        Some(name) => parts.get(name).map(Value::from_serialize).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("urlsplit: no part `{name}`"),
            )
        }),
    }
}

/// One part of a version as Python's `LooseVersion` splits it: a number or a string.
#[derive(Debug, Clone, PartialEq, Eq)]
enum LoosePart {
    Number(u128),
    Text(String),
}

/// Python's `LooseVersion`: the parts `(\d+ | [a-z]+ | \.)` splits the text into (the
/// text between matches kept too), without the empty ones and the dots; digits as numbers.
fn loose_version(text: &str) -> Vec<LoosePart> {
    let mut parts = Vec::new();
    let mut other = String::new();
    let mut chars = text.chars().peekable();
    let flush = |other: &mut String, parts: &mut Vec<LoosePart>| {
        if !other.is_empty() {
            parts.push(LoosePart::Text(std::mem::take(other)));
        }
    };
    while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() || c.is_ascii_lowercase() {
            flush(&mut other, &mut parts);
            let digits = c.is_ascii_digit();
            let mut run = String::new();
            while let Some(&c) = chars.peek() {
                if (digits && c.is_ascii_digit()) || (!digits && c.is_ascii_lowercase()) {
                    run.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
            parts.push(match run.parse::<u128>() {
                Ok(number) if digits => LoosePart::Number(number),
                _ => LoosePart::Text(run),
            });
        } else if c == '.' {
            flush(&mut other, &mut parts);
            chars.next();
        } else {
            other.push(c);
            chars.next();
        }
    }
    flush(&mut other, &mut parts);
    parts
}

/// Python's comparison of two `LooseVersion` part lists (`_cmp`: equal lists, else `<`):
/// Python's error where it raises (a number against a string at the first difference).
fn loose_cmp(a: &[LoosePart], b: &[LoosePart]) -> Result<std::cmp::Ordering, String> {
    if a == b {
        return Ok(std::cmp::Ordering::Equal);
    }
    for (x, y) in a.iter().zip(b) {
        match (x, y) {
            (LoosePart::Number(x), LoosePart::Number(y)) if x != y => return Ok(x.cmp(y)),
            (LoosePart::Text(x), LoosePart::Text(y)) if x != y => return Ok(x.cmp(y)),
            (LoosePart::Number(_), LoosePart::Text(_)) => {
                return Err("'<' not supported between instances of 'int' and 'str'".to_owned());
            }
            (LoosePart::Text(_), LoosePart::Number(_)) => {
                return Err("'<' not supported between instances of 'str' and 'int'".to_owned());
            }
            _ => {}
        }
    }
    Ok(a.len().cmp(&b.len()))
}

/// Ansible's `version` test (`version_compare`) with its default `LooseVersion`; `strict`
/// and `version_type` are not built and say so.
fn version_test(
    value: Value,
    version: Value,
    operator: Option<String>,
    kwargs: Kwargs,
) -> Result<bool, Error> {
    let operator: String = match kwargs.get::<Option<String>>("operator")? {
        Some(operator) => operator,
        None => operator.unwrap_or_else(|| "eq".to_owned()),
    };
    let strict: Option<Value> = kwargs.get("strict")?;
    let version_type: Option<Value> = kwargs.get("version_type")?;
    kwargs.assert_all_used()?;
    let failed = |message: String| Error::new(ErrorKind::InvalidOperation, message);
    if strict.as_ref().is_some_and(|v| v.is_true())
        || version_type
            .as_ref()
            .is_some_and(|v| !v.is_none() && !v.is_undefined())
    {
        return Err(failed(
            "the `version` test's `strict` and `version_type` are not built: it compares as Python's LooseVersion".to_owned(),
        ));
    }
    let text = |v: &Value| match v.as_str() {
        Some(text) => text.to_owned(),
        None => v.to_string(),
    };
    if !value.is_true() {
        return Err(failed("Input version value cannot be empty".to_owned()));
    }
    if !version.is_true() {
        return Err(failed(
            "Version parameter to compare against cannot be empty".to_owned(),
        ));
    }
    use std::cmp::Ordering::{Equal, Greater, Less};
    let wanted: &[std::cmp::Ordering] = match operator.as_str() {
        "==" | "=" | "eq" => &[Equal],
        "<" | "lt" => &[Less],
        "<=" | "le" => &[Less, Equal],
        ">" | "gt" => &[Greater],
        ">=" | "ge" => &[Greater, Equal],
        "!=" | "<>" | "ne" => &[Less, Greater],
        other => {
            return Err(failed(format!(
                "Invalid operator type ({other}). Must be one of '==', '=', 'eq', '<', 'lt', '<=', 'le', '>', 'gt', '>=', 'ge', '!=', '<>', 'ne'"
            )));
        }
    };
    let (a, b) = (loose_version(&text(&value)), loose_version(&text(&version)));
    match loose_cmp(&a, &b) {
        Ok(order) => Ok(wanted.contains(&order)),
        Err(reason) => Err(failed(format!("Version comparison failed: {reason}"))),
    }
}

fn mandatory(value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let message: Option<String> = kwargs.get("msg")?;
    kwargs.assert_all_used()?;
    if value.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            message.unwrap_or_else(|| "mandatory variable not defined".to_owned()),
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Value {
        Value::from_serialize(
            serde_json::json!({"name": "quay", "ports": [80, 443], "flag": "yes", "d": {"a": 1}}),
        )
    }

    fn span() -> Span {
        Span::synthetic("test")
    }

    #[test]
    fn urlsplit_takes_a_dsn_apart() {
        let value = |text: &str| render_value(text, &span(), &ctx()).unwrap();
        let dsn = "postgresql://quay:p%40ss@db.example.test:5433/quay?sslmode=require";
        assert_eq!(
            value(&format!("{{{{ '{dsn}' | urlsplit }}}}")),
            serde_json::json!({
                "scheme": "postgresql", "username": "quay", "password": "p@ss",
                "hostname": "db.example.test", "port": 5433, "path": "/quay",
                "query": "sslmode=require",
            })
        );
        assert_eq!(
            value("{{ 'postgresql://db/quay' | urlsplit('port') }}"),
            serde_json::Value::Null
        );
    }

    #[test]
    fn results_can_be_tested() {
        let ctx = Value::from_serialize(serde_json::json!({"r": {"changed": true}}));
        let test = |text: &str| render_value(text, &span(), &ctx).unwrap();
        assert_eq!(test("{{ r is changed }}"), serde_json::json!(true));
        assert_eq!(test("{{ r is failed }}"), serde_json::json!(false));
        assert_eq!(test("{{ r is succeeded }}"), serde_json::json!(true));
    }

    #[test]
    fn exists_tests_a_path_on_the_controller() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("quay-readonly.kid");
        std::fs::write(&file, "kid").unwrap();
        let ctx = Value::from_serialize(serde_json::json!({"dir": dir.path()}));
        let test = |text: &str| render_value(text, &span(), &ctx).unwrap();
        assert_eq!(
            test("{{ (dir ~ '/quay-readonly.kid') is exists }}"),
            serde_json::json!(true)
        );
        assert_eq!(
            test("{{ (dir ~ '/other.kid') is exists }}"),
            serde_json::json!(false)
        );
        assert_eq!(
            test("{{ (dir ~ '/other.kid') is not exists }}"),
            serde_json::json!(true)
        );
    }

    #[test]
    fn expanduser_is_pythons_on_the_controller() {
        let home = std::env::var("HOME").unwrap();
        assert_eq!(
            expanduser("~/x"),
            format!("{}/x", home.trim_end_matches('/'))
        );
        assert_eq!(expanduser("~root/x"), "/root/x");
        assert_eq!(expanduser("~no-such-user-here/x"), "~no-such-user-here/x");
        assert_eq!(expanduser("/a/~b"), "/a/~b");
    }

    #[test]
    fn a_lone_expression_keeps_its_type() {
        assert_eq!(
            render_value("{{ ports }}", &span(), &ctx()).unwrap(),
            serde_json::json!([80, 443])
        );
        assert_eq!(
            render_value("port {{ ports[0] }}", &span(), &ctx()).unwrap(),
            serde_json::json!("port 80")
        );
    }

    #[test]
    fn undefined_variables_are_named() {
        let error = render_str("{{ nmae }}", &span(), &ctx()).unwrap_err();
        assert_eq!(error.message, "undefined variable `nmae`");
        let error = render_str("{{ name }}-{{ missing.x }}", &span(), &ctx()).unwrap_err();
        assert_eq!(error.message, "undefined variable `missing`");
    }

    #[test]
    fn filters_ansible_playbooks_use() {
        let r = |t: &str| render_str(t, &span(), &ctx()).unwrap();
        assert_eq!(r("{{ flag | bool }}"), "True");
        assert_eq!(
            r("{{ 'a/b/c.pem' | basename }}|{{ 'a/b/c.pem' | dirname }}"),
            "c.pem|a/b"
        );
        assert_eq!(r("{{ 'abc' | hash('sha256') }}").len(), 64);
        assert_eq!(r(r"{{ 'x-1' | regex_replace('x-(\d)', 'y\1') }}"), "y1");
        assert_eq!(
            r(r"{{ 'quay-01' | regex_replace('^(?P<n>\w+)-(\d+)$', '\2-\g<n> $') }}"),
            "01-quay $"
        );
        assert_eq!(
            r("{{ 'abc' | int }} {{ '3.7' | int }} {{ none }}|{{ [none, 'x'] }}"),
            "0 3 |[None, 'x']"
        );
        assert_eq!(r("{{ {'b': 2, 'a': 1} | to_json }}"), r#"{"b": 2, "a": 1}"#);
        assert_eq!(
            r("{{ d.b.c | default('y') }} {{ missing.attr is defined }}"),
            "y False"
        );
        assert_eq!(
            r("{{ 'a,b'.split(',') | join('+') }} {{ 'ab'.startswith('a') }}"),
            "a+b True"
        );
        assert_eq!(r("{{ 'hi' | b64encode | b64decode }}"), "hi");
        assert_eq!(r("{{ undefined_thing | default('d') }}"), "d");
        assert_eq!(r("{{ ports | to_json }}"), "[80, 443]");
        assert_eq!(r("{{ ('{\"a\": 1}' | from_json).a }}"), "1");
        assert_eq!(r("{{ nothing is defined }}"), "False");
    }
}
