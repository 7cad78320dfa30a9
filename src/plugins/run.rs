//! Running a [`Module`] on a host, as Ansible's `normal` action runs one: the module's file
//! is sent to each host once per run (named by its digest, into a per-run folder removed at
//! the end: [`cleanup`]), and each task is one script over the host's persistent shell
//! that writes the arguments, runs the module and removes the task's folder. The result is
//! the JSON object the module prints.

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::{Module, Protocol};
use crate::tasks::{FileDiff, Outcome, TaskContext, TaskType};
use crate::transport::{Connection, Output, Script, TransportError, quote};
use crate::vars::Vars;

/// The version of ansible-core quayside runs modules as, when none is installed.
const ANSIBLE_VERSION: &str = "2.19.14";

/// Where ansible-core's interpreter discovery looks, in order (INTERPRETER_PYTHON_FALLBACK).
const PYTHONS: &[&str] = &[
    "python3.13",
    "python3.12",
    "python3.11",
    "python3.10",
    "python3.9",
    "python3.8",
    "/usr/bin/python3",
    "python3",
];

/// What the script says on standard error when the module's file is not on the host.
const MISSING: &str = "quayside-module-missing";
/// The line on standard error that tells the interpreter discovery found.
const DISCOVERED: &str = "quayside-python ";

/// A task of a module: its arguments (rendered for the host), the module the task's name
/// resolved to at load, and the task's `no_log`.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct ModuleTask {
    args: Vars,
    #[serde(skip)]
    pub module: Option<Arc<Module>>,
    #[serde(skip)]
    pub no_log: bool,
}

/// What this run has put on hosts.
#[derive(Default)]
struct Sent {
    /// (host, become user, digest): the module's file is on the host.
    files: BTreeSet<(String, Option<String>, String)>,
    /// (host, become user): a folder to remove at the end.
    folders: BTreeSet<(String, Option<String>)>,
    /// The Python interpreter discovery found on a host.
    pythons: HashMap<String, String>,
    tasks: u64,
}

fn sent() -> &'static Mutex<Sent> {
    static SENT: OnceLock<Mutex<Sent>> = OnceLock::new();
    SENT.get_or_init(Default::default)
}

/// The run's folder on a host for a user: new for every run.
fn folder(become_user: Option<&str>) -> String {
    static RUN: OnceLock<u64> = OnceLock::new();
    let run = RUN.get_or_init(|| {
        RandomState::new().hash_one((std::process::id(), std::time::SystemTime::now()))
    });
    let user: String = become_user
        .unwrap_or("login")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("/tmp/quayside-modules-{run:016x}-{user}")
}

/// Remove the run's module folders from every host that got one (at the end of the run).
pub async fn cleanup(connections: &[Arc<dyn Connection>]) {
    let folders = std::mem::take(&mut sent().lock().expect("sent").folders);
    let local = crate::transport::LocalConnection::new("localhost");
    let jobs = folders.iter().map(|(host, become_user)| {
        let connection: &dyn Connection = connections
            .iter()
            .find(|c| c.host() == host)
            .map_or(&local as &dyn Connection, |c| c.as_ref());
        let script = Script {
            text: format!("rm -rf {}", quote(&folder(become_user.as_deref()))),
            become_user: become_user.clone(),
            ..Script::default()
        };
        async move {
            let _ = connection.run(&script).await;
        }
    });
    futures::future::join_all(jobs).await;
}

/// Python's `str()` of a value, for old-style `key=value` arguments.
fn python_str(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        other => crate::template::python::str(other),
    }
}

/// The arguments Ansible passes beside the user's (`_update_module_args`).
fn internal_args(module: &Module, ctx: &TaskContext<'_>, no_log: bool, tmpdir: &str) -> Vars {
    // ansible-core's version when it was needed to load the playbook (never looked for
    // here, in the middle of a run).
    let version =
        super::ansible::core_if_known().map_or(ANSIBLE_VERSION, |core| core.version.as_str());
    let mut args = Vars::new();
    let mut set = |key: &str, value: Json| {
        args.insert(key.to_owned(), value);
    };
    set("_ansible_check_mode", ctx.check.into());
    set("_ansible_no_log", no_log.into());
    set("_ansible_debug", false.into());
    set("_ansible_diff", ctx.diff.into());
    set("_ansible_verbosity", ctx.verbosity.into());
    set("_ansible_version", version.into());
    set("_ansible_module_name", module.written.clone().into());
    set("_ansible_syslog_facility", "LOG_USER".into());
    set(
        "_ansible_selinux_special_fs",
        serde_json::json!(["fuse", "nfs", "vboxsf", "ramfs", "9p", "vfat"]),
    );
    set("_ansible_socket", Json::Null);
    set("_ansible_shell_executable", "/bin/sh".into());
    set("_ansible_keep_remote_files", false.into());
    set("_ansible_tmpdir", tmpdir.into());
    set("_ansible_remote_tmp", "~/.ansible/tmp".into());
    set("_ansible_ignore_unknown_opts", false.into());
    set("_ansible_target_log_info", Json::Null);
    set("_ansible_tracebacks_for", Json::Array(Vec::new()));
    args
}

/// A host variable as a string (`ansible_python_interpreter`...), rendered if a template.
fn host_var(ctx: &TaskContext<'_>, name: &str) -> Option<String> {
    let value = ctx.vars.get_attr(name).ok()?;
    if value.is_undefined() || value.is_none() {
        return None;
    }
    let text = value.as_str()?.to_owned();
    if crate::yaml::is_template(&text) {
        return crate::template::render_str(&text, ctx.span, ctx.vars).ok();
    }
    Some(text)
}

/// How the module is started: the command words before the module's path, and whether
/// Python is to be discovered first (then `"$py"` stands first).
fn interpreter(module: &Module, ctx: &TaskContext<'_>) -> (Vec<String>, bool) {
    let python = || match host_var(ctx, "ansible_python_interpreter") {
        Some(python) if !python.starts_with("auto") => (vec![python], false),
        _ => match sent()
            .lock()
            .expect("sent")
            .pythons
            .get(ctx.connection.host())
        {
            Some(python) => (vec![python.clone()], false),
            None => (Vec::new(), true),
        },
    };
    match (&module.protocol, &module.shebang) {
        (Protocol::NewStyle, _) => python(),
        (Protocol::Binary, None) => (Vec::new(), false),
        (_, Some((interpreter, args))) => {
            let name = std::path::Path::new(interpreter)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name == "python" {
                let (mut words, discover) = python();
                words.extend(args.iter().cloned());
                return (words, discover);
            }
            let interpreter = host_var(ctx, &format!("ansible_{name}_interpreter"))
                .unwrap_or_else(|| interpreter.clone());
            let mut words = vec![interpreter];
            words.extend(args.iter().cloned());
            (words, false)
        }
        (_, None) => (Vec::new(), false),
    }
}

/// The arguments file as the module's protocol wants it.
fn args_file(protocol: Protocol, args: &Vars) -> Vec<u8> {
    match protocol {
        Protocol::NewStyle => {
            serde_json::to_vec(&serde_json::json!({ "ANSIBLE_MODULE_ARGS": args }))
                .unwrap_or_default()
        }
        Protocol::WantJson | Protocol::Binary => serde_json::to_vec(args).unwrap_or_default(),
        // As ansible-core: `key=shlex.quote(str(value)) ` for each.
        Protocol::OldStyle => args
            .iter()
            .map(|(key, value)| format!("{key}={} ", shlex_quote(&python_str(value))))
            .collect::<String>()
            .into_bytes(),
    }
}

/// Python's `shlex.quote`.
fn shlex_quote(text: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        return text.to_owned();
    }
    format!("'{}'", text.replace('\'', "'\"'\"'"))
}

/// The script that runs one task of the module on the host.
fn script_text(
    module: &Module,
    folder: &str,
    task: &str,
    upload: bool,
    (interpreter, discover): &(Vec<String>, bool),
) -> String {
    let mut text = format!(
        "u=$(umask)\numask 077\nd={folder}\nm=\"$d\"/{digest}\nt=\"$d\"/{task}\n",
        folder = quote(folder),
        digest = module.digest,
        task = quote(task),
    );
    text.push_str(
        "if ! mkdir \"$d\" 2>/dev/null; then\n  \
         { [ -d \"$d\" ] && [ ! -L \"$d\" ] && [ -O \"$d\" ]; } || { echo \"cannot use $d\" >&2; exit 97; }\nfi\n\
         IFS= read -r a || exit 97\n",
    );
    if upload {
        text.push_str(
            "cat > \"$m.$$\" && chmod 700 \"$m.$$\" && mv -f \"$m.$$\" \"$m\" || exit 97\n",
        );
    }
    text.push_str(&format!(
        "[ -f \"$m\" ] || {{ echo {MISSING} >&2; exit 97; }}\n\
         mkdir \"$t\" && printf %s \"$a\" | base64 -d > \"$t/args\" || exit 97\n"
    ));
    let mut command = String::new();
    if *discover {
        text.push_str("py=\nfor c in");
        for python in PYTHONS {
            text.push(' ');
            text.push_str(&quote(python));
        }
        text.push_str(
            "; do\n  p=$(command -v \"$c\" 2>/dev/null) && case $p in /*) py=$p; break ;; esac\ndone\n\
             [ -n \"$py\" ] || py=/usr/bin/python3\n",
        );
        text.push_str(&format!("printf '{DISCOVERED}%s\\n' \"$py\" >&2\n"));
        command.push_str("\"$py\" ");
    }
    for word in interpreter {
        command.push_str(&quote(word));
        command.push(' ');
    }
    command.push_str("\"$m\"");
    match module.protocol {
        Protocol::NewStyle => command.push_str(" < \"$t/args\""),
        _ => command.push_str(" \"$t/args\" < /dev/null"),
    }
    // The module runs with the user's umask, as under Ansible; only quayside's own files
    // are private.
    text.push_str("umask \"$u\"\n");
    text.push_str(&command);
    text.push_str("\ns=$?\nrm -rf \"$t\"\nexit $s\n");
    text
}

impl TaskType for ModuleTask {
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Runs;

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let Some(module) = &self.module else {
            return Ok(Outcome::failed("no module was resolved for this task"));
        };
        let host = ctx.connection.host().to_owned();
        let become_user = ctx.become_user.clone();
        let folder = folder(become_user.as_deref());
        let task = {
            let mut sent = sent().lock().expect("sent");
            sent.tasks += 1;
            sent.folders.insert((host.clone(), become_user.clone()));
            format!("task-{}-{}", std::process::id(), sent.tasks)
        };
        let tmpdir = format!("{folder}/{task}");
        let mut args = self.args.clone();
        args.extend(internal_args(module, ctx, self.no_log, &tmpdir));
        let arguments = args_file(module.protocol, &args);
        let interpreter = interpreter(module, ctx);
        let key = (host.clone(), become_user.clone(), module.digest.clone());
        let mut upload = !sent().lock().expect("sent").files.contains(&key);
        let output = loop {
            let mut stdin = base64::engine::general_purpose::STANDARD
                .encode(&arguments)
                .into_bytes();
            stdin.push(b'\n');
            if upload {
                stdin.extend_from_slice(&module.payload);
            }
            let mut script = ctx.script(script_text(module, &folder, &task, upload, &interpreter));
            script.stdin = stdin;
            let output = ctx.run(script).await?;
            if !upload && output.status == 97 && output.stderr_lossy().contains(MISSING) {
                // Removed from the host since it was sent: send it again.
                upload = true;
                continue;
            }
            break output;
        };
        if output.status != 97 {
            sent().lock().expect("sent").files.insert(key);
        }
        Ok(outcome(module, ctx, output, &host))
    }
}

/// The module's result as a task's outcome.
fn outcome(module: &Module, ctx: &TaskContext<'_>, mut output: Output, host: &str) -> Outcome {
    let mut discovered = None;
    if let Some(rest) = output.stderr.strip_prefix(DISCOVERED.as_bytes()) {
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let python = String::from_utf8_lossy(&rest[..end]).into_owned();
        output.stderr = rest.get(end + 1..).unwrap_or_default().to_vec();
        sent()
            .lock()
            .expect("sent")
            .pythons
            .insert(host.to_owned(), python.clone());
        discovered = Some(python);
    }
    if output.status == 97 && output.stdout.is_empty() {
        let stderr = output.stderr_lossy();
        return Outcome::failed(format!(
            "cannot send module `{}` to the host: {}",
            module.name,
            stderr.trim()
        ));
    }
    let mut data = match parse_result(&output.stdout_lossy()) {
        Ok(data) => data,
        Err(reason) => return module_failure(&reason, &output),
    };
    // Keys only Ansible's own code may set, and what `register` does not keep (the
    // module's `invocation`, shown by ansible-playbook at -vvv only).
    data.retain(|key, _| !key.starts_with("_ansible_") && key != "invocation");
    for key in ["warnings", "deprecations"] {
        if data
            .get(key)
            .is_some_and(|v| v.as_array().is_some_and(Vec::is_empty))
        {
            data.remove(key);
        }
    }
    if let Some(Json::Object(facts)) = data.get_mut("ansible_facts") {
        facts.retain(|key, _| {
            !key.starts_with("discovered_interpreter_")
                && !key.starts_with("ansible_discovered_interpreter_")
        });
    }
    if let Some(python) = discovered {
        if let Json::Object(facts) = data
            .entry("ansible_facts")
            .or_insert_with(|| Json::Object(Map::new()))
        {
            facts.insert("discovered_interpreter_python".into(), python.into());
        }
    }
    for (key, lines) in [("stdout", "stdout_lines"), ("stderr", "stderr_lines")] {
        if let Some(text) = data.get(key) {
            if !data.contains_key(lines) {
                let text = text.as_str().unwrap_or_default().to_owned();
                let split: Vec<Json> = text.lines().map(|l| Json::from(l.to_owned())).collect();
                data.insert(lines.into(), Json::Array(split));
            }
        }
    }
    let mut outcome = Outcome::ok();
    outcome.changed = truthy(data.remove("changed").as_ref());
    outcome.skipped = truthy(data.get("skipped"));
    outcome.failed = match data.remove("failed") {
        Some(failed) if truthy(Some(&failed)) => {
            // As ansible-core 2.19 registers a module's failure: with its `exception`.
            if !data.get("exception").is_some_and(truthy_text) {
                data.insert("exception".into(), "(traceback unavailable)".into());
            }
            true
        }
        Some(_) => false,
        // As ansible-core: a result without `failed` fails when its `rc` is not 0.
        None => data
            .get("rc")
            .is_some_and(|rc| rc.as_i64() != Some(0) && rc.as_str() != Some("0")),
    };
    if let Some(msg) = data.remove("msg") {
        outcome.msg = Some(match msg {
            Json::String(text) => text,
            other => other.to_string(),
        });
    }
    if ctx.diff {
        outcome.diffs = diffs(data.get("diff"));
    }
    if let Some(Json::Object(facts)) = data.get("ansible_facts") {
        outcome.facts = crate::tasks::setup::module_facts(ctx, facts);
    }
    outcome.data = data;
    outcome
}

/// A value that is there: not null, empty or false.
fn truthy_text(value: &Json) -> bool {
    match value {
        Json::Null | Json::Bool(false) => false,
        Json::String(text) => !text.is_empty(),
        _ => true,
    }
}

/// Ansible's truth of a result's `changed`, `failed`, `skipped`.
fn truthy(value: Option<&Json>) -> bool {
    match value {
        Some(Json::Bool(b)) => *b,
        Some(Json::String(s)) => matches!(
            s.to_ascii_lowercase().as_str(),
            "yes" | "on" | "1" | "true" | "y" | "t"
        ),
        Some(Json::Number(n)) => n.as_f64().is_some_and(|n| n != 0.0),
        _ => false,
    }
}

/// The JSON object a module printed, as ansible-core's `_filter_non_json_lines` finds it:
/// from the first line that starts with `{` to the last that ends with `}`. `Err`: why
/// there is none, as ansible-core says it.
fn parse_result(stdout: &str) -> Result<Map<String, Json>, String> {
    let lines: Vec<&str> = stdout.lines().collect();
    let start = lines
        .iter()
        .position(|line| line.trim().starts_with('{'))
        .ok_or("No start of json char found")?;
    let end = lines
        .iter()
        .rposition(|line| line.trim().ends_with('}'))
        .filter(|end| *end >= start)
        .ok_or("No end of json char found")?;
    match serde_json::from_str(&lines[start..=end].join("\n")) {
        Ok(Json::Object(map)) => Ok(map),
        Ok(_) => Err("the result is not a JSON object".to_owned()),
        Err(error) => Err(error.to_string()),
    }
}

/// A module that printed no JSON object: a failure of this host, with what ansible-core
/// 2.19 registers for it.
fn module_failure(reason: &str, output: &Output) -> Outcome {
    let mut outcome = Outcome::failed(format!("Module result deserialization failed: {reason}"));
    outcome
        .data
        .insert("exception".into(), "(traceback unavailable)".into());
    outcome
        .data
        .insert("module_stdout".into(), output.stdout_lossy().into());
    outcome
        .data
        .insert("module_stderr".into(), output.stderr_lossy().into());
    outcome.data.insert("rc".into(), output.status.into());
    outcome
}

/// A module's `diff` (one or a list of `before`/`after` with their headers, or
/// `prepared`) as the diffs `--diff` shows.
fn diffs(diff: Option<&Json>) -> Vec<FileDiff> {
    let items: Vec<&Json> = match diff {
        Some(Json::Array(items)) => items.iter().collect(),
        Some(item @ Json::Object(_)) => vec![item],
        _ => return Vec::new(),
    };
    let text = |value: Option<&Json>| match value {
        Some(Json::String(text)) => text.clone(),
        Some(Json::Null) | None => String::new(),
        Some(other) => serde_json::to_string_pretty(other).unwrap_or_default() + "\n",
    };
    items
        .into_iter()
        .filter_map(|item| {
            if let Some(prepared) = item.get("prepared") {
                return Some(FileDiff {
                    headers: None,
                    path: "prepared".into(),
                    before: String::new(),
                    after: crate::secrets::mask_text(&text(Some(prepared))),
                });
            }
            let before = item.get("before");
            let after = item.get("after");
            if before.is_none() && after.is_none() {
                return None;
            }
            let path = item
                .get("after_header")
                .or_else(|| item.get("before_header"))
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_owned();
            Some(FileDiff {
                headers: None,
                path,
                before: crate::secrets::mask_text(&text(before)),
                after: crate::secrets::mask_text(&text(after)),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_found_among_other_lines() {
        let result = parse_result("noise\n{\"changed\": true,\n \"x\": 1}\ntrailer\n").unwrap();
        assert_eq!(result["x"], 1);
        assert_eq!(
            parse_result("not json\n").unwrap_err(),
            "No start of json char found"
        );
        assert_eq!(
            parse_result("{\"a\":\n").unwrap_err(),
            "No end of json char found"
        );
    }

    #[test]
    fn old_style_arguments_are_python_strings_shell_quoted() {
        let args: Vars =
            serde_json::from_str(r#"{"a": "x y", "b": true, "c": 3, "d": null}"#).unwrap();
        assert_eq!(
            String::from_utf8(args_file(Protocol::OldStyle, &args)).unwrap(),
            "a='x y' b=True c=3 d=None "
        );
    }
}
