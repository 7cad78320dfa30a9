//! The run's secrets, in one registry, and how text shown to people is masked.
//!
//! A secret is registered once, with how far it is hidden ([`Reach`]):
//! - [`Reach::Everywhere`]: values decrypted from Ansible Vault (`vault.rs`, inline
//!   `!vault` values, files vaulted whole: [`register_decrypted`]). Never shown: [`mask`]
//!   hides them in everything quayside writes (the reporters' `Sink`, the run log, the
//!   progress display, the error printed at exit), as Ansible never shows them.
//! - [`Reach::Diffs`]: values of the run's variables whose names say secret
//!   ([`remember_variables`]), so that `DB_PASS: "{{ db_password }}"`, rendered, is masked
//!   under any key name in a diff. They are not hidden elsewhere: a `debug` of such a
//!   variable shows it, as in Ansible (`no_log` is the way to hide a task's output).
//!
//! [`mask_text`] masks what a diff shows (under `--diff`, in the JSON events and the run
//! log): every registered secret, and a value for what it *is*, not for the line it
//! happens to be on:
//! - the value of a key whose name says secret (`password`, `LDAP_ADMIN_PASSWD`,
//!   `SECRET_KEY`, `SECURITY_SCANNER_V4_PSK`, `client_secret`, `api_token`, ...), in every
//!   form a config file writes it: `key: value`, `"key": "value"`, inside a flow mapping
//!   (`{host: redis, password: x}`), a block scalar under the key (`SECRET_KEY: |` and the
//!   lines under it), anything nested under the key, `key=value` (env files, libpq
//!   connection strings, with their `\ ` escapes and quotes), `?password=x&...`;
//! - the password of a URI (`postgresql://user:PASSWORD@host`);
//! - a value a YAML text holds under such a key, wherever else the text repeats it (an
//!   alias, a second key): the text is parsed as YAML when it is YAML.
//!
//! Masked values read `********` (quotes and all); keys stay, so the diff still says which
//! setting changed.

use std::collections::BTreeSet;
use std::sync::{PoisonError, RwLock};

/// What a masked value reads as.
pub const MASK: &str = "********";

/// How far a registered secret is hidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// In all text quayside writes: [`mask`] and [`mask_text`].
    Everywhere,
    /// In diffs only: [`mask_text`].
    Diffs,
}

/// The shortest value hidden everywhere: a value of one or two characters would mask
/// every occurrence of them (recap counts, ...) and give itself away by the gaps.
const SHORTEST_EVERYWHERE: usize = 3;

/// The shortest secret value replaced in a diff wherever it appears: a shorter one (`1`,
/// `no`) would mask unrelated text, and is masked only where its key says it is secret.
const SHORTEST_ANYWHERE: usize = 4;

/// The run's one registry of secrets.
struct Registry {
    /// [`Reach::Everywhere`]: each value in every form it may be written (itself, its
    /// JSON-escaped form, each long line of a multi-line one), the longest first so that
    /// a secret within another is not masked half-way.
    everywhere: Vec<String>,
    /// [`Reach::Diffs`], and the values found under secret keys in texts masked so far.
    diffs: BTreeSet<String>,
}

static REGISTRY: RwLock<Registry> = RwLock::new(Registry {
    everywhere: Vec::new(),
    diffs: BTreeSet::new(),
});

/// Register a secret value: from now on it is masked as far as `reach` says.
pub fn register(value: &str, reach: Reach) {
    match reach {
        Reach::Everywhere => {
            let mut forms = Vec::new();
            let mut add = |form: &str| {
                if form.trim().chars().count() >= SHORTEST_EVERYWHERE {
                    forms.push(form.to_owned());
                }
            };
            add(value);
            let escaped = serde_json::to_string(value).unwrap_or_default();
            if let Some(inner) = escaped.strip_prefix('"').and_then(|e| e.strip_suffix('"')) {
                add(inner);
            }
            if value.contains('\n') {
                for line in value.lines() {
                    if line.trim().chars().count() >= 6 {
                        add(line);
                    }
                }
            }
            let mut registry = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
            for form in forms {
                if !registry.everywhere.contains(&form) {
                    registry.everywhere.push(form);
                }
            }
            registry
                .everywhere
                .sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
        Reach::Diffs => {
            let value = value.trim();
            if value.chars().count() >= SHORTEST_ANYWHERE {
                REGISTRY
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .diffs
                    .insert(value.to_owned());
            }
        }
    }
}

/// A document decrypted from Ansible Vault: every value in it is a secret everywhere, but
/// for the connection settings (`ansible_host`, `ansible_user`, `ansible_connection`,
/// ...): masking `local` or a user name everywhere would hide more than it protects.
/// Their passwords and keys are secrets.
pub fn register_decrypted(value: &serde_json::Value) {
    match value {
        serde_json::Value::String(s) => register(s, Reach::Everywhere),
        serde_json::Value::Array(items) => items.iter().for_each(register_decrypted),
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                register_decrypted_var(key, value);
            }
        }
        serde_json::Value::Number(n) => register(&n.to_string(), Reach::Everywhere),
        _ => {}
    }
}

/// [`register_decrypted`] for the value of a variable named `key`.
pub fn register_decrypted_var(key: &str, value: &serde_json::Value) {
    let lower = key.to_ascii_lowercase();
    let setting = lower.starts_with("ansible_")
        && !["pass", "secret", "key", "token"]
            .iter()
            .any(|word| lower.contains(word));
    if !setting {
        register_decrypted(value);
    }
}

/// Text with every secret that is hidden everywhere masked: what every writer of text
/// applies last.
pub fn mask(text: &str) -> String {
    let registry = REGISTRY.read().unwrap_or_else(PoisonError::into_inner);
    let mut text = text.to_owned();
    for secret in &registry.everywhere {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), MASK);
        }
    }
    text
}

/// Whether a key's name says its value is secret.
pub fn secret_name(key: &str) -> bool {
    let key = key.trim().trim_matches(['"', '\'']);
    if key.is_empty() || key.contains(char::is_whitespace) {
        return false;
    }
    let upper = key.to_ascii_uppercase().replace(['-', '.'], "_");
    const WORDS: &[&str] = &[
        "PASSWORD",
        "PASSWD",
        "PASSPHRASE",
        "SECRET",
        "TOKEN",
        "PRIVATE",
        "CREDENTIAL",
        "APIKEY",
        "AUTHORIZATION",
    ];
    // Whole words only, for these: `KEY_ID`, `PASSTHROUGH` and `PSKILL` are not secrets.
    const LAST_WORDS: &[&str] = &["KEY", "PSK", "PWD", "PASS", "PW"];
    WORDS.iter().any(|word| upper.contains(word))
        || upper
            .rsplit('_')
            .next()
            .is_some_and(|last| LAST_WORDS.contains(&last))
}

/// Remember the values of every variable whose name says secret (at any depth: the
/// `password` of a mapping), and of every variable nested under one.
pub fn remember_variables<'a>(vars: impl IntoIterator<Item = (&'a String, &'a serde_json::Value)>) {
    fn leaves(value: &serde_json::Value, secret: bool) {
        match value {
            serde_json::Value::String(text) if secret => register(text, Reach::Diffs),
            serde_json::Value::Number(number) if secret => {
                register(&number.to_string(), Reach::Diffs);
            }
            serde_json::Value::Array(items) => items.iter().for_each(|item| leaves(item, secret)),
            serde_json::Value::Object(map) => map
                .iter()
                .for_each(|(key, value)| leaves(value, secret || secret_name(key))),
            _ => {}
        }
    }
    for (name, value) in vars {
        // A template is not the secret; what it renders to is found where it is used.
        if matches!(value, serde_json::Value::String(text) if crate::yaml::is_template(text)) {
            continue;
        }
        leaves(value, secret_name(name));
    }
}

/// `text` with every secret in it masked.
pub fn mask_text(text: &str) -> String {
    let mut found = BTreeSet::new();
    if let Ok(node) = crate::yaml::load_str("text", text) {
        secret_leaves(&node, false, &mut found);
    }
    let mut multi_line = BTreeSet::new();
    for value in &found {
        if value.trim().contains('\n') {
            // A block scalar's lines are masked where they stand.
            multi_line.extend(
                value
                    .lines()
                    .map(str::trim)
                    .filter(|line| !line.is_empty())
                    .map(str::to_owned),
            );
        } else {
            register(value, Reach::Diffs);
        }
    }
    let mut masked = mask(&mask_lines(text, &multi_line));
    let known = REGISTRY
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .diffs
        .clone();
    // Longest first, so that a secret containing another is masked whole.
    let mut known: Vec<String> = known.into_iter().collect();
    known.sort_by_key(|value| std::cmp::Reverse(value.len()));
    for value in known {
        if masked.contains(&value) {
            masked = masked.replace(&value, MASK);
        }
    }
    masked
}

/// The scalars of a YAML tree that are secret: under a key whose name says so.
fn secret_leaves(node: &crate::yaml::Node, secret: bool, found: &mut BTreeSet<String>) {
    use crate::yaml::Value;
    match &node.value {
        Value::Str(text) if secret => {
            found.insert(text.clone());
        }
        Value::Int(number) if secret => {
            found.insert(number.to_string());
        }
        Value::Float(number) if secret => {
            found.insert(number.to_string());
        }
        Value::Seq(items) => items
            .iter()
            .for_each(|item| secret_leaves(item, secret, found)),
        Value::Map(entries) => {
            for (key, value) in entries {
                let by_name = key.as_str().is_some_and(secret_name);
                secret_leaves(value, secret || by_name, found);
            }
        }
        _ => {}
    }
}

/// Mask line by line what a line shows to be secret; `block_lines`: lines of multi-line
/// secret values, masked whole wherever they stand.
fn mask_lines(text: &str, block_lines: &BTreeSet<String>) -> String {
    let mut out = String::with_capacity(text.len());
    // The indentation of a secret key whose value is the lines below it.
    let mut secret_block: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let ending = &line[body.len()..];
        let indent = body.len() - body.trim_start().len();
        if let Some(key_indent) = secret_block {
            if body.trim().is_empty() {
                out.push_str(line);
                continue;
            }
            if indent > key_indent {
                out.push_str(&mask_nested_line(body));
                out.push_str(ending);
                continue;
            }
            secret_block = None;
        }
        if block_lines.contains(body.trim()) {
            out.push_str(&body[..indent]);
            out.push_str(MASK);
            out.push_str(ending);
            continue;
        }
        let (masked, opens_block) = mask_line(body);
        if opens_block {
            secret_block = Some(indent);
        }
        out.push_str(&masked);
        out.push_str(ending);
    }
    out
}

/// A line under a secret key: every value in it masked, keys and list dashes kept.
fn mask_nested_line(body: &str) -> String {
    let indent = body.len() - body.trim_start().len();
    let mut rest = body.trim_start();
    let mut out = body[..indent].to_owned();
    while let Some(after) = rest.strip_prefix("- ") {
        out.push_str("- ");
        rest = after.trim_start();
    }
    match key_of(rest) {
        Some((key_end, value_start)) if value_start < rest.len() => {
            out.push_str(&rest[..key_end]);
            out.push_str(&rest[key_end..value_start]);
            out.push_str(MASK);
        }
        Some(_) => out.push_str(rest),
        None => out.push_str(MASK),
    }
    out
}

/// `key: ` at the start of `text`: where the key ends and where its value starts.
fn key_of(text: &str) -> Option<(usize, usize)> {
    let key_end = text.find(|c: char| !is_key_char(c) && c != '"' && c != '\'')?;
    let after = &text[key_end..];
    let value = after.strip_prefix(':')?;
    if !(value.is_empty() || value.starts_with([' ', '\t'])) {
        return None;
    }
    let skipped = value.len() - value.trim_start().len();
    Some((key_end, key_end + 1 + skipped))
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// One line with the value of every secret key in it masked, and URI passwords; and
/// whether the line opens a block (a secret key with nothing after it, or `|`/`>`) whose
/// more indented lines below are all secret.
fn mask_line(line: &str) -> (String, bool) {
    let line = mask_uri_passwords(line);
    let bytes = line.as_bytes();
    let mut out = String::with_capacity(line.len());
    let mut copied = 0;
    let mut opens_block = false;
    let mut i = 0;
    while i < bytes.len() {
        // A key starts where a key character follows something that is not one.
        let starts_key = is_key_char(bytes[i] as char)
            && (i == 0 || !is_key_char(bytes[i - 1] as char))
            && !(i > 0 && bytes[i - 1] == b'/');
        if !starts_key {
            i += 1;
            continue;
        }
        let key_start = i;
        let mut j = i;
        while j < bytes.len() && is_key_char(bytes[j] as char) {
            j += 1;
        }
        let key = &line[key_start..j];
        let quoted = key_start > 0
            && matches!(bytes[key_start - 1], b'"' | b'\'')
            && j < bytes.len()
            && bytes[j] == bytes[key_start - 1];
        let mut k = if quoted { j + 1 } else { j };
        while k < bytes.len() && bytes[k] == b' ' {
            k += 1;
        }
        let separator = bytes.get(k).copied();
        let value_start = match separator {
            // YAML wants a space after `:`; JSON, after a quoted key, does not.
            Some(b':')
                if quoted
                    || k + 1 == bytes.len()
                    || matches!(bytes.get(k + 1), Some(b' ' | b'\t')) =>
            {
                k + 1
            }
            Some(b'=') if !matches!(bytes.get(k + 1), Some(b'=')) => k + 1,
            _ => {
                i = j;
                continue;
            }
        };
        if !secret_name(key) {
            i = value_start;
            continue;
        }
        let mut v = value_start;
        while v < bytes.len() && matches!(bytes[v], b' ' | b'\t') {
            v += 1;
        }
        let in_flow = flow_depth(&line[..key_start]) > 0;
        let end = value_end(&line, v, separator == Some(b'='), in_flow);
        let value = line[v..end].trim_end();
        if value.is_empty() || is_block_indicator(value) {
            // The value is on the lines below.
            if separator == Some(b':') && !in_flow {
                opens_block = true;
            }
            i = end.max(j);
            continue;
        }
        // A quoted value is masked with its quotes, as the diffs always showed it.
        if value != MASK {
            out.push_str(&line[copied..v]);
            out.push_str(MASK);
            copied = v + value.len();
        }
        i = (v + value.len()).max(j);
    }
    out.push_str(&line[copied..]);
    (out, opens_block)
}

/// How many flow collections (`{`, `[`) are open at the end of `text`, outside quotes.
fn flow_depth(text: &str) -> usize {
    let mut depth = 0usize;
    let mut quote = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{' | '[') => depth += 1,
            (None, '}' | ']') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    depth
}

/// Where a value starting at `start` ends: a quoted value at its closing quote; after `=`
/// at unescaped white space or `&`, `;`, `,` (libpq, URI queries, env files); in a flow
/// collection at `,`, `}` or `]`; else at the end of the line (before a ` #` comment).
fn value_end(line: &str, start: usize, after_equals: bool, in_flow: bool) -> usize {
    let bytes = line.as_bytes();
    if let Some(&quote @ (b'"' | b'\'')) = bytes.get(start) {
        let mut k = start + 1;
        while k < bytes.len() {
            match bytes[k] {
                b'\\' => k += 2,
                // YAML's `''` inside a single-quoted value.
                b'\'' if quote == b'\'' && bytes.get(k + 1) == Some(&b'\'') => k += 2,
                c if c == quote => return k + 1,
                _ => k += 1,
            }
        }
        return bytes.len();
    }
    let mut k = start;
    while k < bytes.len() {
        let c = bytes[k];
        if after_equals {
            match c {
                b'\\' => {
                    k += 2;
                    continue;
                }
                b' ' | b'\t' | b'&' | b';' | b',' => return k,
                b'}' | b']' if in_flow => return k,
                _ => {}
            }
        } else if (in_flow && matches!(c, b',' | b'}' | b']'))
            || (c == b'#' && k > start && matches!(bytes[k - 1], b' ' | b'\t'))
        {
            return k;
        }
        k += 1;
    }
    k.min(bytes.len())
}

/// `|`, `>`, `|-`, `>+2`: a YAML block scalar whose text is on the lines below.
fn is_block_indicator(value: &str) -> bool {
    let mut chars = value.chars();
    matches!(chars.next(), Some('|' | '>'))
        && chars.all(|c| matches!(c, '-' | '+') || c.is_ascii_digit())
}

/// The password of every URI in a line: `scheme://user:PASSWORD@host`.
fn mask_uri_passwords(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(scheme) = rest.find("://") {
        let (before, after) = rest.split_at(scheme + 3);
        out.push_str(before);
        let end = after
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '}' | ']'))
            .unwrap_or(after.len());
        let authority_end = after[..end].find('/').unwrap_or(end);
        let authority = &after[..authority_end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..colon + 1]);
                out.push_str(MASK);
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &after[authority_end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(text: &str) -> String {
        mask_text(text)
    }

    #[test]
    fn names_that_say_secret() {
        for name in [
            "password",
            "LDAP_ADMIN_PASSWD",
            "SECRET_KEY",
            "DATABASE_SECRET_KEY",
            "SECURITY_SCANNER_V4_PSK",
            "client_secret",
            "api-token",
            "\"db.pass\"",
            "s3_access_key",
            "MAIL_PASSWORD",
        ] {
            assert!(secret_name(name), "{name}");
        }
        for name in [
            "SERVER_HOSTNAME",
            "host",
            "KEY_ID",
            "PASSTHROUGH",
            "FEATURE_PSKILL",
            "a key",
            "",
        ] {
            assert!(!secret_name(name), "{name}");
        }
    }

    #[test]
    fn quay_config_secrets_in_every_yaml_form() {
        let text = "\
SERVER_HOSTNAME: quay.example.test
DB_URI: postgresql://quay:s3cret-db@db:5432/quay
LDAP_ADMIN_PASSWD: ldap-Pw-1
SECURITY_SCANNER_V4_PSK: c2Nhbm5lci1wc2s=
BUILDLOGS_REDIS: {host: redis, password: redis-Pw-2, port: 6379}
\"DATABASE_SECRET_KEY\": \"quoted-3\"
SECRET_KEY: |
  block-line-one
  block-line-two
MAIL_PASSWORD: >-
  folded-4
GITHUB_LOGIN_CONFIG:
  CLIENT_ID: visible-id
  CLIENT_SECRET: gh-secret-5
SECRETS:
  - listed-6
  - {nested: listed-7}
FEATURE_MAILING: true
";
        let out = masked(text);
        for secret in [
            "s3cret-db",
            "ldap-Pw-1",
            "c2Nhbm5lci1wc2s=",
            "redis-Pw-2",
            "quoted-3",
            "block-line",
            "folded-4",
            "gh-secret-5",
            "listed-6",
            "listed-7",
        ] {
            assert!(!out.contains(secret), "{secret} shows in:\n{out}");
        }
        assert_eq!(
            out,
            "\
SERVER_HOSTNAME: quay.example.test
DB_URI: postgresql://quay:********@db:5432/quay
LDAP_ADMIN_PASSWD: ********
SECURITY_SCANNER_V4_PSK: ********
BUILDLOGS_REDIS: {host: redis, password: ********, port: 6379}
\"DATABASE_SECRET_KEY\": ********
SECRET_KEY: |
  ********
  ********
MAIL_PASSWORD: >-
  ********
GITHUB_LOGIN_CONFIG:
  CLIENT_ID: visible-id
  CLIENT_SECRET: ********
SECRETS:
  - ********
  - ********
FEATURE_MAILING: true
"
        );
    }

    #[test]
    fn libpq_env_and_query_strings() {
        assert_eq!(
            masked("conninfo: host=db password=Pw8\\ abc dbname=quay\n"),
            "conninfo: host=db password=******** dbname=quay\n"
        );
        assert_eq!(
            masked("dsn = \"host=db password='it''s x' user=q\"\n"),
            "dsn = \"host=db password=******** user=q\"\n"
        );
        assert_eq!(
            masked("export DB_PASSWORD=hunter22\nPGPASSWORD='a b'\n"),
            "export DB_PASSWORD=********\nPGPASSWORD=********\n"
        );
        assert_eq!(
            masked("url: https://h/api?user=u&token=t0k3n&x=1\n"),
            "url: https://h/api?user=u&token=********&x=1\n"
        );
        assert_eq!(
            masked("{\"password\":\"json-pw\",\"user\":\"u\"}"),
            "{\"password\":********,\"user\":\"u\"}"
        );
    }

    #[test]
    fn a_secret_repeated_elsewhere_is_masked_there_too() {
        let out = masked("db_password: &pw repeated-secret\nother: *pw\nnote: repeated-secret\n");
        assert!(!out.contains("repeated-secret"), "{out}");
    }

    #[test]
    fn remembered_variables_are_masked_under_any_key() {
        let vars: serde_json::Map<String, serde_json::Value> = serde_json::from_str(
            r#"{"quay_db_password": "var-pw-9", "db": {"user": "u", "pass": "nested-pw-10"}, "hostname": "h"}"#,
        )
        .unwrap();
        remember_variables(&vars);
        let out = masked("DB_CONNECTION: var-pw-9\nOTHER: nested-pw-10\nHOST: hostname\n");
        assert_eq!(
            out,
            "DB_CONNECTION: ********\nOTHER: ********\nHOST: hostname\n"
        );
    }

    #[test]
    fn text_that_is_not_yaml_is_masked_line_by_line() {
        assert_eq!(
            masked("[db]\npassword = ini-pw\nhost = x\n  : broken: [\n"),
            "[db]\npassword = ********\nhost = x\n  : broken: [\n"
        );
        assert_eq!(masked("  password: hunter2"), "  password: ********");
    }

    #[test]
    fn decrypted_values_are_masked_everywhere_but_connection_settings() {
        register_decrypted_var("db_password", &serde_json::json!("unit-pw-1"));
        register_decrypted_var("ansible_become_password", &serde_json::json!("unit-pw-2"));
        register_decrypted_var("ansible_user", &serde_json::json!("unit-user"));
        register_decrypted(
            &serde_json::json!({"all": {"vars": {"nested": ["unit-pw-3"], "n": 1}}}),
        );
        register("unit-multi\nline \"quoted\"", Reach::Everywhere);
        assert_eq!(
            mask("unit-pw-1 unit-pw-2 unit-user unit-pw-3 ok=1"),
            "******** ******** unit-user ******** ok=1"
        );
        // The JSON-escaped form of a secret, and a long line of a multi-line one.
        assert_eq!(
            mask(r#"{"msg": "unit-multi\nline \"quoted\""} line "quoted""#),
            r#"{"msg": "********"} ********"#
        );
    }

    #[test]
    fn one_registry_hides_each_secret_as_far_as_its_reach() {
        register("reach-diffs-only", Reach::Diffs);
        register("reach-everywhere", Reach::Everywhere);
        let text = "a: reach-diffs-only\nb: reach-everywhere\n";
        // Output at large: only what must never be shown.
        assert_eq!(mask(text), "a: reach-diffs-only\nb: ********\n");
        // A diff: both.
        assert_eq!(mask_text(text), "a: ********\nb: ********\n");
    }
}
