//! The one minijinja environment every template and expression is rendered in.
//!
//! Undefined is strict: a variable that does not exist is an error that names it and the
//! place of the YAML value it was used in, never an empty string.

use std::sync::OnceLock;

use base64::Engine;
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior};
use sha2::Digest;

use crate::yaml::{Node, Span, Value as YamlValue};

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
/// `name` being how messages call it: at most [`crate::yaml::MAX_FILE_BYTES`], and UTF-8
/// (or an error with the place it stops being so).
pub fn read_file(path: &std::path::Path, what: &str, name: &str) -> Result<String, String> {
    use crate::yaml::TextError;
    crate::yaml::read_text(path).map_err(|error| match error {
        TextError::Io(error) => format!("cannot read {what} `{name}`: {error}"),
        TextError::TooLarge => format!(
            "{what} `{name}` is larger than {} MiB, the most quayside reads of a {what}",
            crate::yaml::MAX_FILE_BYTES >> 20
        ),
        TextError::NotUtf8 { line, column } => {
            format!("{what} `{name}` is not valid UTF-8 (at {name}:{line}:{column})")
        }
    })
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
    env.add_filter("bool", to_bool);
    env.add_filter("to_json", to_json);
    env.add_filter("to_nice_json", to_nice_json);
    env.add_filter("from_json", from_json);
    env.add_filter("to_yaml", to_yaml);
    env.add_filter("to_nice_yaml", to_yaml);
    env.add_filter("from_yaml", from_yaml);
    env.add_filter("b64encode", b64encode);
    env.add_filter("b64decode", b64decode);
    env.add_filter("basename", basename);
    env.add_filter("dirname", dirname);
    env.add_filter("regex_replace", regex_replace);
    env.add_filter("regex_search", regex_search);
    env.add_filter("hash", hash);
    env.add_filter("quote", shell_quote);
    env.add_filter("combine", combine);
    env.add_filter("mandatory", mandatory);
    env.add_filter("urlsplit", urlsplit);
    // Ansible's tests on registered results: `when: bundle is changed`.
    env.add_test("changed", |result: Value| result_flag(&result, "changed"));
    env.add_test("failed", |result: Value| result_flag(&result, "failed"));
    env.add_test("skipped", |result: Value| result_flag(&result, "skipped"));
    env.add_test("succeeded", |result: Value| !result_flag(&result, "failed"));
    env.add_test("success", |result: Value| !result_flag(&result, "failed"));
    env.add_function("lookup", lookup);
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
            return Err(TemplateError {
                message: match missing_variable(expression, ctx) {
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

/// Render a string template to a string.
pub fn render_str(text: &str, span: &Span, ctx: &Value) -> Result<String, TemplateError> {
    if !crate::yaml::is_template(text) {
        return Ok(text.to_owned());
    }
    environment()
        .render_str(text, ctx)
        .map_err(|error| describe(&error, text, span, ctx))
}

/// Evaluate a bare expression (`when`, `failed_when`, `assert.that`).
pub fn eval(expression: &str, span: &Span, ctx: &Value) -> Result<Value, TemplateError> {
    let env = environment();
    let compiled = env
        .compile_expression(expression)
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
            Ok(eval(trimmed, &node.span, ctx)?.is_true())
        }
        _ => Err(TemplateError {
            message: format!("a condition must be an expression, found {}", node.kind()),
            span: node.span.clone(),
        }),
    }
}

/// Render every string in a node tree, keeping its shape and spans.
pub fn render_node(node: &Node, ctx: &Value) -> Result<Node, TemplateError> {
    let value = match &node.value {
        YamlValue::Str(text) if crate::yaml::is_template(text) => {
            return Ok(Node::from_json(
                &render_value(text, &node.span, ctx)?,
                &node.span,
            ));
        }
        YamlValue::Seq(items) => YamlValue::Seq(
            items
                .iter()
                .map(|item| render_node(item, ctx))
                .collect::<Result<_, _>>()?,
        ),
        YamlValue::Map(entries) => YamlValue::Map(
            entries
                .iter()
                .map(|(k, v)| Ok((render_node(k, ctx)?, render_node(v, ctx)?)))
                .collect::<Result<_, TemplateError>>()?,
        ),
        other => other.clone(),
    };
    Ok(Node::new(node.span.clone(), value))
}

/// The variables a template or expression reads at its top level, to check them before a run.
pub fn referenced_variables(text: &str, expression: bool) -> Vec<String> {
    let env = environment();
    let mut names: Vec<String> = if expression {
        env.compile_expression(text)
            .map(|e| e.undeclared_variables(false).into_iter().collect())
            .unwrap_or_default()
    } else {
        env.template_from_str(text)
            .map(|t| t.undeclared_variables(false).into_iter().collect())
            .unwrap_or_default()
    };
    names.sort();
    names
}

/// A template or expression that does not compile, for checking before a run.
pub fn syntax_error(text: &str, expression: bool, span: &Span) -> Option<TemplateError> {
    let env = environment();
    let result = if expression {
        env.compile_expression(text).map(|_| ())
    } else {
        env.template_from_str(text).map(|_| ())
    };
    result.err().map(|error| TemplateError {
        message: format!("template error: {}", error_text(&error)),
        span: span.clone(),
    })
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

/// Turn a minijinja error into one that names what was undefined and where.
fn describe(error: &Error, text: &str, span: &Span, ctx: &Value) -> TemplateError {
    let message = if error.kind() == ErrorKind::UndefinedError {
        match missing_variable(text, ctx) {
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
fn missing_variable(text: &str, ctx: &Value) -> Option<String> {
    let env = environment();
    let names = |nested: bool| -> Vec<String> {
        let mut names: Vec<String> = env
            .template_from_str(text)
            .map(|t| t.undeclared_variables(nested).into_iter().collect())
            .or_else(|_| {
                env.compile_expression(text)
                    .map(|e| e.undeclared_variables(nested).into_iter().collect())
            })
            .unwrap_or_default();
        names.sort();
        names
    };
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
    names(false)
        .into_iter()
        .find(|name| !lookup(name))
        .or_else(|| names(true).into_iter().find(|name| !lookup(name)))
}

pub fn to_json_value(value: &Value) -> Result<serde_json::Value, String> {
    serde_json::to_value(value).map_err(|error| format!("cannot use this value: {error}"))
}

fn json_of(value: &Value) -> Result<serde_json::Value, Error> {
    to_json_value(value).map_err(|message| Error::new(ErrorKind::InvalidOperation, message))
}

fn to_bool(value: Value) -> bool {
    match value.as_str() {
        Some(s) => crate::yaml::parse_bool(s).unwrap_or(false),
        None => value.is_true(),
    }
}

fn to_json(value: Value) -> Result<String, Error> {
    serde_json::to_string(&json_of(&value)?)
        .map_err(|error| Error::new(ErrorKind::InvalidOperation, error.to_string()))
}

fn to_nice_json(value: Value) -> Result<String, Error> {
    serde_json::to_string_pretty(&json_of(&value)?)
        .map_err(|error| Error::new(ErrorKind::InvalidOperation, error.to_string()))
}

fn from_json(text: &str) -> Result<Value, Error> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|error| Error::new(ErrorKind::InvalidOperation, format!("from_json: {error}")))?;
    Ok(Value::from_serialize(&value))
}

fn to_yaml(value: Value) -> Result<String, Error> {
    serde_saphyr::to_string(&json_of(&value)?)
        .map_err(|error| Error::new(ErrorKind::InvalidOperation, error.to_string()))
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

fn dirname(path: &str) -> String {
    match path.rfind('/') {
        Some(0) => "/".to_owned(),
        Some(i) => path[..i].to_owned(),
        None => String::new(),
    }
}

fn compile_regex(pattern: &str) -> Result<regex::Regex, Error> {
    regex::Regex::new(pattern)
        .map_err(|error| Error::new(ErrorKind::InvalidOperation, format!("bad regex: {error}")))
}

/// Python's `\1` back-references become `${1}`, as Ansible playbooks write them.
fn regex_replace(text: &str, pattern: &str, replacement: Option<&str>) -> Result<String, Error> {
    let regex = compile_regex(pattern)?;
    let backref = regex::Regex::new(r"\\(\d+)")
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
    let replacement = backref.replace_all(replacement.unwrap_or(""), "$${$1}");
    Ok(regex.replace_all(text, replacement.as_ref()).into_owned())
}

fn regex_search(text: &str, pattern: &str) -> Result<Value, Error> {
    let regex = compile_regex(pattern)?;
    Ok(regex
        .find(text)
        .map_or(Value::from(()), |m| Value::from(m.as_str())))
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

fn combine(base: Value, other: Value) -> Result<Value, Error> {
    let mut base = json_of(&base)?;
    let other = json_of(&other)?;
    match (base.as_object_mut(), other) {
        (Some(map), serde_json::Value::Object(other)) => {
            map.extend(other);
            Ok(Value::from_serialize(&base))
        }
        _ => Err(Error::new(
            ErrorKind::InvalidOperation,
            "combine: both values must be mappings",
        )),
    }
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

/// `lookup('file', path)` and `lookup('env', NAME)`, read on the controller.
fn lookup(kind: &str, argument: &str) -> Result<Value, Error> {
    match kind {
        "file" => read_file(std::path::Path::new(argument), "file", argument)
            .map(|text| Value::from(text.trim_end_matches('\n').to_owned()))
            .map_err(|error| {
                Error::new(
                    ErrorKind::InvalidOperation,
                    format!("lookup('file', '{argument}'): {error}"),
                )
            }),
        "env" => Ok(Value::from(std::env::var(argument).unwrap_or_default())),
        other => Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("lookup: `{other}` is not supported (use `file` or `env`)"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Value {
        Value::from_serialize(
            serde_json::json!({"name": "quay", "ports": [80, 443], "flag": "yes"}),
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
        assert_eq!(
            r("{{ 'x-1' | regex_replace('x-(\\\\d)', 'y\\\\1') }}"),
            "y1"
        );
        assert_eq!(r("{{ 'hi' | b64encode | b64decode }}"), "hi");
        assert_eq!(r("{{ undefined_thing | default('d') }}"), "d");
        assert_eq!(r("{{ ports | to_json }}"), "[80,443]");
        assert_eq!(r("{{ ('{\"a\": 1}' | from_json).a }}"), "1");
        assert_eq!(r("{{ nothing is defined }}"), "False");
    }
}
