//! `validate_argument_spec`: arguments checked against an argument specification, as
//! ansible-core 2.19's action and its `ArgumentSpecValidator` check them (`type`,
//! `required`, `choices`, `elements`, `options`, `no_log`; messages word for word). A
//! role with `meta/argument_specs.yml` gets this task first (playbook/roles.rs), as
//! ansible-core inserts it; the spec's keys quayside does not implement are refused when it
//! is read ([`check_spec`]).
//!
//! The values checked: each option's variable on the host, overridden by the arguments
//! given (a role's parameters). A `default` does not set a variable (as in Ansible).

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::{Outcome, TaskContext, TaskType};
use crate::diagnostic::Diagnostic;
use crate::transport::TransportError;
use crate::yaml::Node;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidateArgumentSpec {
    argument_spec: Map<String, Json>,
    #[serde(default)]
    provided_arguments: Map<String, Json>,
    #[serde(default)]
    validate_args_context: Map<String, Json>,
}

impl TaskType for ValidateArgumentSpec {
    // As ansible-core's action plugin: "This action (NAME) does not support async."
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Fails;

    const ON_CONTROLLER: bool = true;

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let mut params = Map::new();
        for name in self.argument_spec.keys() {
            let Ok(value) = ctx.vars.get_attr(name) else {
                continue;
            };
            if value.is_undefined() {
                continue;
            }
            let value = match crate::template::to_json_value(&value) {
                Ok(Json::String(text)) if crate::yaml::is_template(&text) => {
                    match crate::template::render_value(&text, ctx.span, ctx.vars) {
                        Ok(value) => value,
                        Err(error) => return Ok(Outcome::failed(error.to_string())),
                    }
                }
                Ok(value) => value,
                Err(error) => return Ok(Outcome::failed(error)),
            };
            params.insert(name.clone(), value);
        }
        params.extend(self.provided_arguments.clone());
        let (errors, warnings) = validate_warning(&self.argument_spec, &params, true);
        let context = Json::Object(self.validate_args_context.clone());
        if errors.is_empty() {
            let outcome = Outcome::ok()
                .with_msg("The arg spec validation passed")
                .with("validate_args_context", context);
            return Ok(if warnings.is_empty() {
                outcome
            } else {
                outcome.with("warnings", warnings)
            });
        }
        let mut outcome = Outcome::failed(format!(
            "Validation of arguments failed:\n{}",
            errors.join("\n")
        ));
        outcome.data.insert("argument_errors".into(), errors.into());
        outcome.data.insert(
            "argument_spec_data".into(),
            Json::Object(self.argument_spec.clone()),
        );
        outcome.data.insert("validate_args_context".into(), context);
        Ok(outcome)
    }
}

/// Keys of one option quayside implements.
const OPTION_KEYS: &[&str] = &[
    "type", "aliases", "required", "default", "choices", "elements", "options", "no_log",
];

/// Keys of one option ansible-core's validator acts on that quayside does not implement:
/// refused where written. Any other key (`description`, `version_added`, a key of the
/// author's own) ansible-core does not read, nor does quayside.
const OPTION_KEYS_NOT_BUILT: &[&str] = &[
    "apply_defaults",
    "fallback",
    "deprecated_aliases",
    "removed_in_version",
    "removed_at_date",
    "removed_from_collection",
    "mutually_exclusive",
    "required_together",
    "required_one_of",
    "required_if",
    "required_by",
];

const TYPES: &[&str] = &[
    "str", "int", "float", "bool", "list", "dict", "path", "raw", "json", "jsonarg", "bytes",
    "bits",
];

/// A spec's options as written (`options:` of an entry point): every key and type one
/// quayside implements, or the first that is not, at its place.
pub fn check_spec(options: &Node) -> Result<(), Diagnostic> {
    let Some(entries) = options.as_map() else {
        if options.is_null() {
            return Ok(());
        }
        return Err(Diagnostic::at(
            format!(
                "an argument spec's `options` must be a mapping, found {}",
                options.kind()
            ),
            options.span.clone(),
        ));
    };
    for (name, option) in entries {
        let Some(keys) = option.as_map() else {
            return Err(Diagnostic::at(
                format!(
                    "the argument spec of `{}` must be a mapping, found {}",
                    name.key_string(),
                    option.kind()
                ),
                option.span.clone(),
            ));
        };
        for (key, value) in keys {
            let word = key.key_string();
            if OPTION_KEYS_NOT_BUILT.contains(&word.as_str()) {
                return Err(Diagnostic::at(
                    format!("`{word}` in an argument spec is not supported"),
                    key.span.clone(),
                )
                .with_hint(format!(
                    "quayside checks {}",
                    OPTION_KEYS
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            match word.as_str() {
                "type" | "elements" => {
                    let wanted = value.as_str().unwrap_or_default();
                    if !TYPES.contains(&wanted) {
                        return Err(Diagnostic::at(
                            format!("argument spec type `{wanted}` is not supported"),
                            value.span.clone(),
                        )
                        .with_hint(format!("quayside checks the types {}", TYPES.join(", "))));
                    }
                }
                "options" => check_spec(value)?,
                // As ansible-core: "internal error: aliases must be a list or tuple".
                "aliases"
                    if !matches!(&value.value, crate::yaml::Value::Seq(items)
                        if items.iter().all(|item| item.as_str().is_some())) =>
                {
                    return Err(Diagnostic::at(
                        format!("`aliases` must be a list of names, found {}", value.kind()),
                        value.span.clone(),
                    ));
                }
                "choices" if !matches!(value.value, crate::yaml::Value::Seq(_)) => {
                    return Err(Diagnostic::at(
                        format!("`choices` must be a list, found {}", value.kind()),
                        value.span.clone(),
                    ));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Python's name of a value's type, as Ansible's messages say it.
fn type_name(value: &Json) -> &'static str {
    match value {
        Json::String(_) => "str",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::Bool(_) => "bool",
        Json::Array(_) => "list",
        Json::Object(_) => "dict",
        Json::Null => "NoneType",
    }
}

/// Python's `repr` of a scalar, for the messages.
fn repr(value: &Json) -> String {
    match value {
        Json::String(s) => format!("'{s}'"),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Null => "None".into(),
        other => other.to_string(),
    }
}

/// Python's `str` of a value, as choices and conversions to `str` show it.
fn python_str(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        other => repr(other),
    }
}

const BOOLEANS_TRUE: &[&str] = &["y", "yes", "on", "1", "true", "t"];
const BOOLEANS_FALSE: &[&str] = &["n", "no", "off", "0", "false", "f"];

/// `value` as type `wanted`, or why not (the text after "unable to convert to X: ").
fn convert(value: &Json, wanted: &str) -> Result<Json, String> {
    match (wanted, value) {
        ("raw", _) => Ok(value.clone()),
        ("str" | "path", Json::String(_)) => Ok(value.clone()),
        ("str" | "path", other) => Ok(Json::String(python_str(other))),
        ("int", Json::Number(n)) if n.is_i64() || n.is_u64() => Ok(value.clone()),
        ("int", Json::Number(n)) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 => Ok(Json::from(f as i64)),
            _ => Err(format!("\"{}\" cannot be converted to an int", repr(value))),
        },
        ("int", Json::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(Json::from)
            .map_err(|_| format!("\"{}\" cannot be converted to an int", repr(value))),
        ("int", _) => Err(format!(
            "<class '{}'> cannot be converted to an int",
            type_name(value)
        )),
        ("float", Json::Number(_)) => Ok(value.clone()),
        ("float", Json::String(s)) => s
            .trim()
            .parse::<f64>()
            .map(Json::from)
            .map_err(|_| "<class 'str'> cannot be converted to a float".to_owned()),
        ("float", _) => Err(format!(
            "<class '{}'> cannot be converted to a float",
            type_name(value)
        )),
        ("bool", Json::Bool(_)) => Ok(value.clone()),
        ("bool", Json::String(_) | Json::Number(_)) => {
            let text = python_str(value).to_lowercase();
            if BOOLEANS_TRUE.contains(&text.as_str()) {
                Ok(Json::Bool(true))
            } else if BOOLEANS_FALSE.contains(&text.as_str()) {
                Ok(Json::Bool(false))
            } else {
                Err(format!(
                    "The value {} is not a valid boolean. Valid booleans include: 'on', 'true', 1, 0, 'no', 'yes', 'false', '1', 'f', '0', 'y', 't', 'n', 'off'",
                    repr(value)
                ))
            }
        }
        ("bool", _) => Err(format!(
            "The value {} is not a valid boolean. Valid booleans include: 'on', 'true', 1, 0, 'no', 'yes', 'false', '1', 'f', '0', 'y', 't', 'n', 'off'",
            repr(value)
        )),
        ("list", Json::Array(_)) => Ok(value.clone()),
        ("list", Json::String(s)) => Ok(Json::from(
            s.split(',')
                .map(|s| Json::from(s.to_owned()))
                .collect::<Vec<_>>(),
        )),
        ("list", Json::Number(_)) => Ok(Json::from(vec![Json::from(python_str(value))])),
        ("list", _) => Err(format!(
            "<class '{}'> cannot be converted to a list",
            type_name(value)
        )),
        ("dict", Json::Object(_)) => Ok(value.clone()),
        ("dict", Json::String(s)) if s.trim_start().starts_with('{') => {
            serde_json::from_str::<Json>(s)
                .ok()
                .filter(Json::is_object)
                .ok_or_else(|| "dictionary requested, could not parse JSON or key=value".into())
        }
        ("dict", Json::String(s)) => {
            let mut out = Map::new();
            for field in s.split([',', ' ']).filter(|f| !f.is_empty()) {
                let Some((k, v)) = field.split_once('=') else {
                    return Err("dictionary requested, could not parse JSON or key=value".into());
                };
                out.insert(k.trim().to_owned(), Json::from(v.trim().to_owned()));
            }
            Ok(Json::Object(out))
        }
        ("dict", _) => Err(format!(
            "<class '{}'> cannot be converted to a dict",
            type_name(value)
        )),
        ("json" | "jsonarg", Json::String(_)) => Ok(value.clone()),
        ("json" | "jsonarg", Json::Array(_) | Json::Object(_)) => Ok(Json::from(value.to_string())),
        ("json" | "jsonarg", _) => Err(format!(
            "<class '{}'> cannot be converted to a json string",
            type_name(value)
        )),
        ("bytes" | "bits", Json::String(_) | Json::Number(_)) => {
            human_to_bytes(&python_str(value), wanted == "bits").ok_or_else(|| {
                format!(
                    "<class '{}'> cannot be converted to a {} value",
                    type_name(value),
                    if wanted == "bits" { "Bit" } else { "Byte" }
                )
            })
        }
        ("bytes" | "bits", _) => Err(format!(
            "<class '{}'> cannot be converted to a {} value",
            type_name(value),
            if wanted == "bits" { "Bit" } else { "Byte" }
        )),
        (other, _) => Err(format!("unknown type {other}")),
    }
}

/// Ansible's `human_to_bytes`: `2K` is 2048; a unit of more than one letter must be `KB`
/// (`Kb` for bits) or the unit's name (`kilobyte`, `kilobit`).
fn human_to_bytes(text: &str, bits: bool) -> Option<Json> {
    const UNITS: &[(char, u32, &str)] = &[
        ('B', 0, "byte"),
        ('K', 10, "kilo"),
        ('M', 20, "mega"),
        ('G', 30, "giga"),
        ('T', 40, "tera"),
        ('P', 50, "peta"),
        ('E', 60, "exa"),
        ('Z', 70, "zetta"),
        ('Y', 80, "yotta"),
    ];
    let text = text.trim_end();
    let digits = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let unit = unit.trim_start();
    let valid_number =
        !number.is_empty() && number.matches('.').count() <= 1 && !number.ends_with('.');
    if !valid_number || !unit.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let num: f64 = number.parse().ok()?;
    if unit.is_empty() {
        return Some(Json::from(num.round_ties_even() as i64));
    }
    let key = unit.chars().next()?.to_ascii_uppercase();
    let &(_, shift, name) = UNITS.iter().find(|(k, _, _)| *k == key)?;
    if unit.len() > 1 {
        let class = if bits { "b" } else { "B" };
        let full = match (key, bits) {
            ('B', false) => "byte".to_owned(),
            ('B', true) => "bit".to_owned(),
            (_, false) => format!("{name}byte"),
            (_, true) => format!("{name}bit"),
        };
        let short = if key == 'B' {
            class.to_owned()
        } else {
            format!("{key}{class}")
        };
        if unit.to_lowercase() != full && unit != short {
            return None;
        }
    }
    let value = (num * 2f64.powi(shift as i32)).round_ties_even();
    Some(if value <= i64::MAX as f64 {
        Json::from(value as i64)
    } else {
        Json::from(value)
    })
}

fn spec_str<'a>(spec: &'a Json, key: &str) -> Option<&'a str> {
    spec.get(key).and_then(Json::as_str)
}

/// Ansible's messages for `params` against `spec`, in its order: missing required, types
/// (and elements), choices, sub-options, then the unsupported parameters of every level in
/// one message. `required`: check for missing required arguments (off when only some
/// values are known).
pub fn validate(
    spec: &Map<String, Json>,
    params: &Map<String, Json>,
    required: bool,
) -> Vec<String> {
    validate_warning(spec, params, required).0
}

/// [`validate`], and the warnings ansible-core gives beside its errors (an option given
/// both by its name and by an alias).
pub fn validate_warning(
    spec: &Map<String, Json>,
    params: &Map<String, Json>,
    required: bool,
) -> (Vec<String>, Vec<String>) {
    let mut found = Found::default();
    check(spec, params, required, &mut Vec::new(), &mut found);
    let mut errors = found.errors;
    if let Some((_, (supported, aliases))) = found.unsupported.last_key_value() {
        let names: Vec<&str> = found.unsupported.keys().map(String::as_str).collect();
        let mut text = supported.join(", ");
        if !aliases.is_empty() {
            text.push_str(&format!(" ({})", aliases.join(", ")));
        }
        errors.push(format!(
            "{}. Supported parameters include: {text}.",
            names.join(", ")
        ));
    }
    (errors, found.warnings)
}

/// What checking finds, level by level.
#[derive(Default)]
struct Found {
    errors: Vec<String>,
    warnings: Vec<String>,
    /// Each unsupported parameter (`a.b.c` below the top), with the names and the aliases
    /// its level supports, sorted.
    unsupported: std::collections::BTreeMap<String, (Vec<String>, Vec<String>)>,
}

/// An option's aliases, as written.
fn aliases(option: &Json) -> Vec<&str> {
    option
        .get("aliases")
        .and_then(Json::as_array)
        .map(|names| names.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default()
}

fn check(
    spec: &Map<String, Json>,
    given: &Map<String, Json>,
    required: bool,
    context: &mut Vec<String>,
    found: &mut Found,
) {
    // As ansible-core's `_handle_aliases`: an alias given sets its option (over the
    // option's own name, with a warning when both are given).
    let mut params = given.clone();
    let prefix: String = context.iter().map(|name| format!("{name}.")).collect();
    for (name, option) in spec {
        for alias in aliases(option) {
            if let Some(value) = given.get(alias) {
                if given.contains_key(name) {
                    found.warnings.push(format!(
                        "Both option {prefix}{name} and its alias {prefix}{alias} are set."
                    ));
                }
                params.insert(name.clone(), value.clone());
            }
        }
    }
    let params = &params;
    let chain = context.join(" -> ");
    let found_in = |text: String| {
        if context.is_empty() {
            text
        } else {
            format!("{text} found in {chain}")
        }
    };
    let errors = &mut found.errors;
    if required {
        let mut missing: Vec<&str> = spec
            .iter()
            .filter(|(name, option)| {
                option.get("required").and_then(Json::as_bool) == Some(true)
                    && !params.contains_key(*name)
            })
            .map(|(name, _)| name.as_str())
            .collect();
        missing.sort();
        if !missing.is_empty() {
            errors.push(found_in(format!(
                "missing required arguments: {}",
                missing.join(", ")
            )));
        }
    }
    let mut converted = params.clone();
    for (name, option) in spec {
        let Some(value) = params.get(name) else {
            continue;
        };
        if let (true, Json::String(s)) = (
            option.get("no_log").and_then(Json::as_bool) == Some(true),
            value,
        ) {
            crate::secrets::register(s, crate::secrets::Reach::Everywhere);
        }
        if value.is_null() {
            continue;
        }
        let wanted = spec_str(option, "type").unwrap_or("str");
        match convert(value, wanted) {
            Ok(mut good) => {
                if let (Some(elements), Json::Array(items)) =
                    (spec_str(option, "elements"), &mut good)
                {
                    for item in items.iter_mut() {
                        match convert(item, elements) {
                            Ok(c) => *item = c,
                            Err(why) => {
                                errors.push(format!(
                                    "Elements value for option '{name}'{} is of type {} and we were unable to convert to {elements}: {why}",
                                    if context.is_empty() { String::new() } else { format!(" found in '{chain}'") },
                                    type_name(item)
                                ));
                                break;
                            }
                        }
                    }
                }
                converted.insert(name.clone(), good);
            }
            Err(why) => {
                let place = if context.is_empty() {
                    String::new()
                } else {
                    format!(" found in '{chain}'.")
                };
                errors.push(format!(
                    "argument '{name}' is of type {}{place} and we were unable to convert to {wanted}: {why}",
                    type_name(value)
                ));
                converted.remove(name);
            }
        }
    }
    for (name, option) in spec {
        let (Some(choices), Some(value)) = (
            option.get("choices").and_then(Json::as_array),
            converted.get(name),
        ) else {
            continue;
        };
        let shown: Vec<String> = choices.iter().map(python_str).collect();
        let in_choices = |v: &Json| choices.iter().any(|c| python_str(c) == python_str(v));
        match value {
            Json::Array(items) => {
                let bad: Vec<String> = items
                    .iter()
                    .filter(|v| !in_choices(v))
                    .map(python_str)
                    .collect();
                if !bad.is_empty() {
                    errors.push(found_in(format!(
                        "value of {name} must be one or more of: {}. Got no match for: {}",
                        shown.join(", "),
                        bad.join(", ")
                    )));
                }
            }
            Json::Null => {}
            other if !in_choices(other) => errors.push(found_in(format!(
                "value of {name} must be one of: {}, got: {}",
                shown.join(", "),
                python_str(other)
            ))),
            _ => {}
        }
    }
    // Unsupported at this level, before the levels below (as ansible-core finds them).
    let legal = |key: &str| {
        spec.contains_key(key) || spec.values().any(|option| aliases(option).contains(&key))
    };
    let mut supported: Vec<String> = spec.keys().cloned().collect();
    supported.sort();
    let mut all_aliases: Vec<String> = spec
        .values()
        .flat_map(|option| aliases(option).into_iter().map(str::to_owned))
        .collect();
    all_aliases.sort();
    for key in given.keys().filter(|key| !legal(key)) {
        found.unsupported.insert(
            format!("{prefix}{key}"),
            (supported.clone(), all_aliases.clone()),
        );
    }
    for (name, option) in spec {
        let (Some(options), Some(value)) = (
            option.get("options").and_then(Json::as_object),
            converted.get(name),
        ) else {
            continue;
        };
        let values: Vec<&Map<String, Json>> = match value {
            Json::Object(map) => vec![map],
            Json::Array(items) => items.iter().filter_map(Json::as_object).collect(),
            _ => Vec::new(),
        };
        context.push(name.clone());
        for sub in values {
            check(options, sub, required, context, found);
        }
        context.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages ansible-core 2.19.14 gave for the same spec and values (the role
    /// `r` of tests/roles.rs `argument_specs_*`).
    #[test]
    fn messages_are_ansibles() {
        let spec: Map<String, Json> = serde_json::from_str(
            r#"{"svc_name": {"type": "str", "required": true},
                "web_port": {"type": "int", "default": 80},
                "mode": {"type": "str", "choices": ["a", "b"]},
                "ports": {"type": "list", "elements": "int"},
                "flag": {"type": "bool"},
                "conf": {"type": "dict", "options": {"host": {"type": "str", "required": true}, "size": {"type": "int"}}}}"#,
        )
        .unwrap();
        let params: Map<String, Json> = serde_json::from_str(
            r#"{"web_port": "abc", "mode": "c", "ports": ["x"], "flag": "maybe", "conf": {"size": "big"}, "extra": 1}"#,
        )
        .unwrap();
        assert_eq!(
            validate(&spec, &params, true),
            [
                "missing required arguments: svc_name",
                "argument 'web_port' is of type str and we were unable to convert to int: \"'abc'\" cannot be converted to an int",
                "Elements value for option 'ports' is of type str and we were unable to convert to int: \"'x'\" cannot be converted to an int",
                "argument 'flag' is of type str and we were unable to convert to bool: The value 'maybe' is not a valid boolean. Valid booleans include: 'on', 'true', 1, 0, 'no', 'yes', 'false', '1', 'f', '0', 'y', 't', 'n', 'off'",
                "value of mode must be one of: a, b, got: c",
                "missing required arguments: host found in conf",
                "argument 'size' is of type str found in 'conf'. and we were unable to convert to int: \"'big'\" cannot be converted to an int",
                "extra. Supported parameters include: conf, flag, mode, ports, svc_name, web_port.",
            ]
        );
        let good: Map<String, Json> = serde_json::from_str(
            r#"{"svc_name": 1, "web_port": "8080", "ports": ["1", 2], "flag": "yes", "conf": {"host": "h"}}"#,
        )
        .unwrap();
        assert!(validate(&spec, &good, true).is_empty());
    }

    /// Aliases and nested options, as ansible-core 2.19.14's `ArgumentSpecValidator`
    /// gives them for the same spec and values.
    #[test]
    fn aliases_and_nested_options_are_ansibles() {
        let spec: Map<String, Json> = serde_json::from_str(
            r#"{"name": {"type": "str", "aliases": ["nick", "aka"]}, "port": {"type": "int"},
                "multi": {"type": "dict", "options": {"second": {"type": "dict",
                    "options": {"third": {"type": "int", "required": true}}}}}}"#,
        )
        .unwrap();
        let cases: &[(&str, &[&str], &[&str])] = &[
            (r#"{"nick": "bob"}"#, &[], &[]),
            (
                r#"{"name": "x", "aka": "y"}"#,
                &[],
                &["Both option name and its alias aka are set."],
            ),
            (
                r#"{"bogus": 1}"#,
                &["bogus. Supported parameters include: multi, name, port (aka, nick)."],
                &[],
            ),
            (
                r#"{"multi": {"second": {"zzz": true}}}"#,
                &[
                    "missing required arguments: third found in multi -> second",
                    "multi.second.zzz. Supported parameters include: third.",
                ],
                &[],
            ),
            (
                r#"{"multi": {"second": {"third": "abc"}}, "bogus": 2}"#,
                &[
                    "argument 'third' is of type str found in 'multi -> second'. and we were unable to convert to int: \"'abc'\" cannot be converted to an int",
                    "bogus. Supported parameters include: multi, name, port (aka, nick).",
                ],
                &[],
            ),
        ];
        for (params, errors, warnings) in cases {
            let params: Map<String, Json> = serde_json::from_str(params).unwrap();
            let (got_errors, got_warnings) = validate_warning(&spec, &params, true);
            assert_eq!(got_errors, *errors, "{params:?}");
            assert_eq!(got_warnings, *warnings, "{params:?}");
        }
    }

    /// What `human_to_bytes` gives in ansible-core 2.19.14.
    #[test]
    fn sizes_are_read_as_ansible_reads_them() {
        assert_eq!(human_to_bytes("2K", false), Some(Json::from(2048)));
        assert_eq!(human_to_bytes("1MB", false), Some(Json::from(1_048_576)));
        assert_eq!(human_to_bytes("1Mb", true), Some(Json::from(1_048_576)));
        assert_eq!(human_to_bytes("1Mb", false), None);
        assert_eq!(
            human_to_bytes("1.5 kilobyte", false),
            Some(Json::from(1536))
        );
        assert_eq!(human_to_bytes("12", false), Some(Json::from(12)));
        assert_eq!(human_to_bytes("abc", false), None);
        assert_eq!(human_to_bytes("1X", false), None);
    }
}
