//! Which tasks may be pipelined: sent to a host before the answers to the tasks before it
//! have come back, with the host itself stopping at the first failure
//! (`quayside_next` in [`crate::transport`]'s remote shell).
//!
//! A task is pipelined after the one before it only where the result cannot differ from
//! the linear strategy's, which waits for every answer before it renders the next task.
//! What can make them differ, and how each is kept out:
//!
//! - The task reads what an earlier task on that host left: a registered result, a
//!   `set_fact` or `include_vars` value. Every template the task reads (`when`, its
//!   arguments, `environment`, `changed_when`, its `vars`, the loop) is analysed; a task
//!   that reads any name some task of the playbook registers or sets, or `hostvars`
//!   (another host's state), or a template that does not parse, is not pipelined.
//! - Whether the next task runs at all depends on the answer: the host decides that from
//!   the exit statuses alone (the next script runs only if the task before it exited 0).
//!   So only task types whose failure is exactly a non-zero status are pipelined
//!   ([`crate::tasks::TaskType::pipelines`]), and
//!   not with `failed_when` (a status 0 may then fail). A task that the host skipped
//!   although the controller found its predecessor not failed (`ignore_errors`, a status
//!   the task type accepts) is sent again on its own: slower, never different. A task
//!   type whose failure the controller decides from the answer, or that makes several
//!   requests, may still join ([`crate::tasks::TaskType::pipelines_holding`]): its first
//!   request is written behind the others, and the tasks after it wait for its result.
//! - Decisions across hosts between two tasks: `run_once`, `any_errors_fatal`,
//!   `max_fail_percentage`, `delegate_to` (another host's connection) end a pipeline, as
//!   do everything that is not a plain action (blocks with `rescue`, includes, `meta`,
//!   handler flushes, the `serial` batch boundary, since the runner pipelines only within
//!   one list of one batch).
//! - Several round trips in one task (`until`/`retries`, loops over registered data, a
//!   `timeout`, which stops the shell and with it every script queued behind): not
//!   pipelined.
//! - `--step` asks before each task: no pipelining.
//!
//! Events and the recap come from the same code as without pipelining, in task order:
//! only the waiting for answers overlaps.
//!
//! The runner sends the segments this analysis allows in `chain.rs`.

use std::collections::BTreeSet;

use crate::playbook::{Play, Playbook, Task, TaskBody};
use crate::yaml::{Node, Value};

/// Names a task must not read to be pipelined: what some task of the playbook registers
/// or sets on a host, another host's state, what changes when a host fails (the active
/// hosts, a rescue's failed task), and every variable whose value is a template that
/// reads one of those (`extra`: the inventory's variables and the like, beside the
/// playbook's own).
pub(super) fn host_written_names(
    playbook: &Playbook,
    extra: &[&crate::vars::Vars],
) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = [
        "hostvars",
        "vars",
        "ansible_play_hosts",
        "play_hosts",
        "ansible_failed_result",
        "ansible_failed_task",
    ]
    .map(str::to_owned)
    .into();
    let mut definitions: Vec<&crate::vars::Vars> = extra.to_vec();
    for play in &playbook.plays {
        definitions.extend([&play.vars, &play.role_defaults, &play.role_vars]);
    }
    for task in playbook.all_tasks() {
        definitions.push(&task.vars);
        if let Some(role) = &task.role {
            definitions.extend([&role.defaults, &role.vars, &role.params]);
        }
        names.extend(task.register.iter().cloned());
        if let TaskBody::Action { kind, args, .. } = &task.body {
            let mut dirs: Vec<&std::path::Path> =
                task.role.iter().map(|role| role.path.as_path()).collect();
            dirs.push(playbook.dir());
            names.extend(kind.sets_variables(args, &dirs));
        }
    }
    close_over(&mut names, &definitions);
    names
}

/// Names the tasks of a list (blocks included) register or set: a list read when it runs
/// (`include_tasks`, `include_role`) is not among the playbook's tasks.
pub(super) fn list_writes(tasks: &[Task], base: &std::path::Path) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for task in crate::playbook::flatten(tasks) {
        names.extend(task.register.iter().cloned());
        if let TaskBody::Action { kind, args, .. } = &task.body {
            let mut dirs: Vec<&std::path::Path> =
                task.role.iter().map(|role| role.path.as_path()).collect();
            dirs.push(base);
            names.extend(kind.sets_variables(args, &dirs));
        }
    }
    names
}

/// Variables are templates rendered when a task reads them: one of `definitions` whose
/// template reads a name in `names` is itself added to them, until nothing more is.
pub(super) fn close_over(names: &mut BTreeSet<String>, definitions: &[&crate::vars::Vars]) {
    loop {
        let before = names.len();
        for vars in definitions {
            for (name, value) in vars.iter() {
                if names.contains(name) {
                    continue;
                }
                let mut reads = Vec::new();
                if !json_reads(value, &mut reads) || reads.iter().any(|read| names.contains(read)) {
                    names.insert(name.clone());
                }
            }
        }
        if names.len() == before {
            return;
        }
    }
}

/// Whether templates a task inherits (its blocks' `when` and `environment`, block and
/// include `vars`) read a name in `written`, or do not parse.
pub(super) fn inherited_reads_written(
    expressions: &[Node],
    templates: &[Node],
    vars: &[&crate::vars::Vars],
    written: &BTreeSet<String>,
) -> bool {
    let mut reads = Vec::new();
    let parsed = expressions
        .iter()
        .all(|node| node_reads(node, true, &mut reads))
        && templates
            .iter()
            .all(|node| node_reads(node, false, &mut reads))
        && vars
            .iter()
            .all(|vars| vars.values().all(|value| json_reads(value, &mut reads)));
    !parsed || reads.iter().any(|name| written.contains(name))
}

/// Why a task is not pipelined after the one before it, or `None` when it may be.
pub(super) fn not_pipelinable(
    task: &Task,
    play: &Play,
    base: &std::path::Path,
    written: &BTreeSet<String>,
) -> Option<&'static str> {
    let TaskBody::Action { kind, args, .. } = &task.body else {
        return Some("not a plain action");
    };
    if !kind.pipelines(args) && !kind.pipelines_holding(args) {
        return Some("its task type decides failure on the controller");
    }
    if task.argument_failure.is_some() {
        return Some("its arguments are wrong: it fails on the controller");
    }
    if task.run_once || play.any_errors_fatal || play.max_fail_percentage.is_some() {
        return Some("a decision across hosts follows it");
    }
    if task.delegate_to.is_some() {
        return Some("delegated to another host");
    }
    if task.failed_when.is_some() || task.until.is_some() || task.retries.is_some() {
        return Some("its failure is not its exit status");
    }
    if task.timeout.is_some() {
        return Some("a timeout stops the scripts queued behind it");
    }
    if task.r#async.is_some() {
        return Some("`async` runs it in the background, looked at later");
    }
    if task.loop_pause.is_some_and(|seconds| seconds > 0.0) {
        return Some("`loop_control.pause` waits between its items");
    }
    let mut nodes: Vec<&Node> = vec![args];
    nodes.extend(task.when.iter());
    nodes.extend(task.r#loop.iter());
    nodes.extend(task.label.iter());
    nodes.extend(task.environment.iter());
    nodes.extend(task.changed_when.iter().flatten());
    let vars = serde_json::Value::Object(task.vars.clone());
    let expressions: Vec<&Node> = task
        .when
        .iter()
        .chain(task.changed_when.iter().flatten())
        .collect();
    let mut reads = Vec::new();
    for node in &nodes {
        let expression = expressions.iter().any(|e| std::ptr::eq(*e, *node));
        if !node_reads(node, expression, &mut reads) {
            return Some("a template in it does not parse");
        }
    }
    if !json_reads(&vars, &mut reads) {
        return Some("a template in it does not parse");
    }
    let role = task.role.as_ref().map(|role| role.path.as_path());
    let Some(files) = kind.rendered_files(args, role, base) else {
        return Some("the template it renders is not known before it runs");
    };
    for file in files {
        if !file_reads(&file, &mut reads) {
            return Some("the template it renders cannot be read through");
        }
    }
    if reads.iter().any(|name| written.contains(name)) {
        return Some("it reads what an earlier task may have registered or set");
    }
    None
}

/// What a template file on the controller reads; false when it cannot be read, does not
/// parse, or takes in other templates (whose reads are not followed).
fn file_reads(path: &std::path::Path, into: &mut Vec<String>) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let takes_in = ["include", "import", "extends", "from"].iter().any(|word| {
        text.match_indices("{%").any(|(at, _)| {
            text[at + 2..]
                .trim_start_matches(['-', '+', ' '])
                .starts_with(word)
        })
    });
    !takes_in && text_reads(&text, false, into)
}

/// Every variable the templates in `node` read, guarded or not; false when one does not
/// parse.
fn node_reads(node: &Node, expression: bool, into: &mut Vec<String>) -> bool {
    match &node.value {
        Value::Str(text) if expression && !crate::yaml::is_template(text) => {
            text_reads(text, true, into)
        }
        Value::Str(text) if crate::yaml::is_template(text) => text_reads(text, false, into),
        Value::Seq(items) => items.iter().all(|item| node_reads(item, expression, into)),
        Value::Map(entries) => entries
            .iter()
            .all(|(key, value)| node_reads(key, false, into) && node_reads(value, false, into)),
        _ => true,
    }
}

fn json_reads(value: &serde_json::Value, into: &mut Vec<String>) -> bool {
    match value {
        serde_json::Value::String(text) if crate::yaml::is_template(text) => {
            text_reads(text, false, into)
        }
        serde_json::Value::Array(items) => items.iter().all(|item| json_reads(item, into)),
        serde_json::Value::Object(entries) => entries.values().all(|item| json_reads(item, into)),
        _ => true,
    }
}

fn text_reads(text: &str, expression: bool, into: &mut Vec<String>) -> bool {
    let Some(names) = crate::template::all_read_variables(text, expression) else {
        return false;
    };
    into.extend(names);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn playbook(text: &str) -> Playbook {
        let dir = std::env::temp_dir().join(format!(
            "quayside-pipeline-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("site.yml");
        std::fs::write(&path, text).unwrap();
        let playbook = crate::playbook::parse_playbook(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        playbook
    }

    fn verdicts(text: &str) -> Vec<Option<&'static str>> {
        let playbook = playbook(text);
        let written = host_written_names(&playbook, &[]);
        let play = &playbook.plays[0];
        play.tasks
            .iter()
            .map(|task| not_pipelinable(task, play, playbook.dir(), &written))
            .collect()
    }

    #[test]
    fn a_loop_that_pauses_between_items_is_not_pipelined() {
        let found = verdicts(
            "- hosts: all\n  tasks:\n    - command: 'true'\n      loop: [1, 2]\n      loop_control: {pause: 1}\n    - command: 'true'\n      loop: [1, 2]\n",
        );
        assert_eq!(
            found,
            [Some("`loop_control.pause` waits between its items"), None]
        );
    }

    #[test]
    fn straight_line_commands_pipeline_and_readers_of_host_state_do_not() {
        let found = verdicts(
            r#"
- hosts: all
  gather_facts: false
  vars: {dir: /tmp}
  tasks:
    - command: touch {{ dir }}/a
    - shell: echo {{ dir | default('x') }}
      when: ansible_facts.os_family == 'Debian'
      ignore_errors: true
    - command: cat /etc/hostname
      register: name
    - command: echo {{ name.stdout }}
    - command: echo {{ other | default('') }}
    - set_fact: {other: 1}
    - command: echo hi
      when: name is defined
    - command: echo {{ hostvars['h1'].x }}
    - command: echo hi
      failed_when: false
    - command: echo hi
      run_once: true
    - shell: echo {{ 1 + }}
    - file: {path: /tmp/x, state: touch}
"#,
        );
        let reads = Some("it reads what an earlier task may have registered or set");
        assert_eq!(
            found,
            [
                None,
                None,
                None,
                reads,
                reads,
                Some("its task type decides failure on the controller"),
                reads,
                reads,
                Some("its failure is not its exit status"),
                Some("a decision across hosts follows it"),
                Some("a template in it does not parse"),
                None,
            ]
        );
    }

    /// Reads through a variable whose value is a template, a template file, or a block's
    /// `when` count as reads of what they read.
    #[test]
    fn reads_through_variables_template_files_and_blocks_count() {
        let dir =
            std::env::temp_dir().join(format!("quayside-pipeline-files-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("templates")).unwrap();
        std::fs::write(dir.join("templates/plain.j2"), "port: {{ port }}\n").unwrap();
        std::fs::write(dir.join("templates/reads.j2"), "id: {{ out.stdout }}\n").unwrap();
        std::fs::write(dir.join("templates/takes.j2"), "{% include 'plain.j2' %}\n").unwrap();
        let path = dir.join("site.yml");
        std::fs::write(
            &path,
            r#"
- hosts: all
  vars:
    port: 8080
    derived: "{{ out.stdout | default('') }}"
    twice: "{{ derived }}"
  tasks:
    - command: id
      register: out
    - command: echo {{ twice }}
    - template: {src: plain.j2, dest: /tmp/a}
    - template: {src: reads.j2, dest: /tmp/b}
    - template: {src: takes.j2, dest: /tmp/c}
    - template: {src: "{{ port }}.j2", dest: /tmp/d}
    - copy: {src: /etc/hostname, dest: /tmp/e, remote_src: true}
    - copy: {content: "{{ port }}", dest: /tmp/f}
"#,
        )
        .unwrap();
        let playbook = crate::playbook::parse_playbook(&path).unwrap();
        let written = host_written_names(&playbook, &[]);
        assert!(written.contains("derived") && written.contains("twice"));
        let play = &playbook.plays[0];
        let found: Vec<_> = play
            .tasks
            .iter()
            .map(|task| not_pipelinable(task, play, playbook.dir(), &written))
            .collect();
        let reads = Some("it reads what an earlier task may have registered or set");
        assert_eq!(
            found,
            [
                None,
                reads,
                None,
                reads,
                Some("the template it renders cannot be read through"),
                Some("the template it renders is not known before it runs"),
                Some("its task type decides failure on the controller"),
                None,
            ]
        );
        let other = super::tests::playbook(
            "- hosts: all\n  tasks:\n    - command: 'true'\n      when: out.rc == 0\n",
        );
        let when = other.plays[0].tasks[0].when[0].clone();
        assert!(inherited_reads_written(
            std::slice::from_ref(&when),
            &[],
            &[],
            &written
        ));
        assert!(!inherited_reads_written(&[], &[when], &[], &written));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn file_task_types_join_unless_their_hosts_must_agree_first() {
        let found = verdicts(
            "- hosts: all\n  tasks:\n    - command: 'true'\n    - lineinfile: {path: /tmp/x, line: a}\n    - stat: {path: /tmp/x}\n    - copy_files: {content: a, dest: /tmp/y}\n    - template_config: {src: c.j2, dest: /tmp/z, same_on_all_hosts: true}\n    - template_config: {src: '{{ name }}.j2', dest: /tmp/z}\n",
        );
        assert_eq!(
            found,
            [
                None,
                None,
                None,
                None,
                Some("its task type decides failure on the controller"),
                Some("the template it renders is not known before it runs"),
            ]
        );
    }

    #[test]
    fn an_async_task_is_not_pipelined() {
        let found = verdicts(
            "- hosts: all\n  tasks:\n    - command: sleep 1\n      async: 10\n      poll: 0\n    - command: 'true'\n    - command: 'true'\n",
        );
        assert_eq!(
            found,
            [
                Some("`async` runs it in the background, looked at later"),
                None,
                None
            ]
        );
    }

    #[test]
    fn plays_that_decide_across_hosts_pipeline_nothing() {
        let found =
            verdicts("- hosts: all\n  any_errors_fatal: true\n  tasks:\n    - command: 'true'\n");
        assert_eq!(found, [Some("a decision across hosts follows it")]);
    }
}
