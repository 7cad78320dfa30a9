//! A templated task type: `action: "{{ mod }} ARGS"`, `local_action: "{{ ... }}"` and
//! `action: {module: "{{ m }}", ...}`, rendered and resolved per host when the task runs,
//! on the sshd fleet.
//!
//! Expected from ansible-core 2.19.14: each playbook below was run with `ansible-playbook`
//! on the same hosts; the results, messages, recaps and exit codes are its own.

use crate::common::Test;
use crate::common::fleet::{fleet, run_play};

fn exists(i: usize, scratch: &str, name: &str) -> bool {
    fleet().root(i).join(scratch).join(name).exists()
}

/// Each host renders the name with its own variables: host1 runs `command`, host2 names a
/// module that does not exist and fails with ansible-core's message; only host2 stops.
#[test]
fn templated_type_is_chosen_per_host() {
    let scratch = fleet().scratch("templated_per_host");
    let test = Test::new().file(
        "play.yml",
        &format!(
            r#"
            - hosts: fleet
              gather_facts: false
              tasks:
                - name: per host
                  action: "{{{{ 'command' if inventory_hostname == 'host1' else 'nosuchmod' }}}} touch {{{{ host_root }}}}/{scratch}/ran"
                - name: after
                  command: touch {{{{ host_root }}}}/{scratch}/after
            "#
        ),
    );
    let output = run_play(&test, "host1,host2", &[]).status(2);
    assert!(
        output.stdout.contains(
            r#"fatal: [host2]: FAILED! => {"changed": false, "msg": "Task failed: Cannot resolve 'nosuchmod' to an action or module."}"#
        ),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains("changed: [host1]"),
        "{}",
        output.stdout
    );
    assert_eq!(
        output.recap("host1"),
        "host1 : ok=2 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        output.recap("host2"),
        "host2 : ok=0 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0"
    );
    assert!(exists(1, &scratch, "ran") && exists(1, &scratch, "after"));
    assert!(!exists(2, &scratch, "ran") && !exists(2, &scratch, "after"));
}

/// The keywords work as for a written name: `loop` with the item in the arguments,
/// `register`, `changed_when`, `args:` merged, the mapping form, `check_mode`,
/// `local_action`; a second run changes nothing.
#[test]
fn templated_type_takes_the_task_keywords() {
    let scratch = fleet().scratch("templated_keywords");
    let test = Test::new().file(
        "play.yml",
        &format!(
            r#"
            - hosts: fleet
              gather_facts: false
              vars:
                m: command
              tasks:
                - name: loop
                  action: "{{{{ m }}}} echo {{{{ item }}}}"
                  loop: [a, b]
                  register: r
                  changed_when: false
                - debug: msg="{{{{ r.results | map(attribute='stdout') | list }}}}"
                - name: args
                  action: "{{{{ 'file' }}}}"
                  args:
                    path: "{{{{ host_root }}}}/{scratch}/dir"
                    state: directory
                - name: mapping in check mode
                  action:
                    module: "{{{{ m }}}}"
                    cmd: touch {{{{ host_root }}}}/{scratch}/never
                  check_mode: true
                - name: local
                  local_action: "{{{{ 'debug' }}}} msg=local"
            "#
        ),
    );
    let output = run_play(&test, "host1", &[]).success();
    for line in [
        "ok: [host1] => (item=a)",
        "ok: [host1] => (item=b)",
        "changed: [host1]",
        "skipping: [host1]",
        "ok: [host1 -> localhost] => {\n    \"msg\": \"local\"\n}",
    ] {
        assert!(
            output.stdout.contains(line),
            "{line:?} in:\n{}",
            output.stdout
        );
    }
    assert!(
        output
            .stdout
            .contains("    \"msg\": [\n        \"a\",\n        \"b\"\n    ]"),
        "{}",
        output.stdout
    );
    assert_eq!(
        output.recap("host1"),
        "host1 : ok=4 changed=1 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0"
    );
    assert!(fleet().root(1).join(&scratch).join("dir").is_dir());
    assert!(!exists(1, &scratch, "never"));
    let again = run_play(&test, "host1", &[]).success();
    assert_eq!(
        again.recap("host1"),
        "host1 : ok=4 changed=0 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0"
    );
}

/// An argument the named type does not take fails the host when it runs, with
/// ansible-core's message (its result there has no `changed`: that of its `debug` action
/// plugin); nothing after it runs there. A `when` that is false skips the
/// task before its name is resolved.
#[test]
fn templated_type_with_a_bad_argument_fails_its_host() {
    let scratch = fleet().scratch("templated_bad_argument");
    let test = Test::new().file(
        "play.yml",
        &format!(
            r#"
            - hosts: fleet
              gather_facts: false
              tasks:
                - name: skipped
                  action: "{{{{ 'nosuchmod' }}}}"
                  when: false
                - name: bad argument
                  action:
                    module: "{{{{ 'debug' }}}}"
                    bogus: 1
                - command: touch {{{{ host_root }}}}/{scratch}/after
            "#
        ),
    );
    let output = run_play(&test, "host1", &[]).status(2);
    assert!(
        output.stdout.contains(
            r#"fatal: [host1]: FAILED! => {"changed": false, "msg": "Unsupported parameters for (debug) module: bogus. Supported parameters include: msg, var, verbosity."}"#
        ),
        "{}",
        output.stdout
    );
    assert_eq!(
        output.recap("host1"),
        "host1 : ok=0 changed=0 unreachable=0 failed=1 skipped=1 rescued=0 ignored=0"
    );
    assert!(!exists(1, &scratch, "after"));
}

/// A name whose variable is not defined anywhere is refused before the run, where it is
/// written (ansible-core stops the run at that task: `[ERROR]: 'nosuch' is undefined`,
/// exit 1); nothing ran.
#[test]
fn templated_type_of_an_undefined_variable_is_refused_before_the_run() {
    let scratch = fleet().scratch("templated_undefined");
    let test = Test::new().file(
        "play.yml",
        &format!(
            r#"
            - hosts: fleet
              gather_facts: false
              tasks:
                - command: touch {{{{ host_root }}}}/{scratch}/ran
                - action: "{{{{ nosuch }}}} msg=x"
            "#
        ),
    );
    run_play(&test, "host1", &[])
        .status(4)
        .stderr_contains("error: undefined variable `nosuch` at play.yml:5:15");
    assert!(!exists(1, &scratch, "ran"));
}

/// An unnamed templated task is shown by its name as written, as ansible-core shows it.
#[test]
fn unnamed_templated_task_shows_the_template() {
    let test = Test::new().file(
        "play.yml",
        r#"
        - hosts: fleet
          gather_facts: false
          vars:
            m: debug
          tasks:
            - action: "{{ m }} msg=unnamed"
        "#,
    );
    run_play(&test, "host1", &[])
        .success()
        .stdout_contains("TASK [{{ m }}] ***")
        .stdout_contains("ok: [host1] => {\n    \"msg\": \"unnamed\"\n}");
}

/// A templated name that is one of ansible-core's modules runs it, and the module checks
/// its own arguments, with its own message, naming the module as written: `(ping)`
/// (expected from ansible-core 2.19.14).
#[test]
fn templated_type_naming_an_ansible_module_runs_it() {
    let Ok(python) = std::env::var("QUAYSIDE_ANSIBLE_PYTHON") else {
        panic!("QUAYSIDE_ANSIBLE_PYTHON names a Python with ansible-core (scripts/test sets it)");
    };
    let test = Test::new().file(
        "play.yml",
        r#"
        - hosts: fleet
          gather_facts: false
          tasks:
            - name: a module named by a template
              action: "{{ 'ping' }} data=pong"
              register: r
            - assert:
                that:
                  - r.ping == 'pong'
                  - r is not changed
            - name: its own argument check
              action: "{{ 'ping' }} bogus=1"
              ignore_errors: true
        "#,
    );
    let inventory = fleet().inventory.display().to_string();
    let output = Test::new()
        .args(&["run", "play.yml", "-i", &inventory, "--limit", "host1"])
        .env("QUAYSIDE_ANSIBLE_PYTHON", &python)
        .run_in(test.path())
        .success();
    assert!(
        output
            .stdout
            .contains("Unsupported parameters for (ping) module: bogus. Supported parameters include: data.\"}\n...ignoring"),
        "{}",
        output.stdout
    );
    assert_eq!(
        output.recap("host1"),
        "host1 : ok=3 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1"
    );
}

/// A templated name may be `set_fact`: the variables its arguments name are not refused
/// before the run as undefined, and the next task reads them.
#[test]
fn templated_type_may_set_the_variables_its_arguments_name() {
    let test = Test::new().file(
        "play.yml",
        r#"
        - hosts: fleet
          gather_facts: false
          tasks:
            - action: "{{ 'set_fact' }} x=1"
            - debug: msg="{{ x }}"
        "#,
    );
    let output = run_play(&test, "host1", &[]).success();
    assert!(
        output.stdout.contains("TASK [{{ 'set_fact' }}] ***"),
        "{}",
        output.stdout
    );
    assert!(
        output
            .stdout
            .contains("ok: [host1] => {\n    \"msg\": \"1\"\n}"),
        "{}",
        output.stdout
    );
}

/// A required argument the named type misses fails the host, with ansible-core's message.
#[test]
fn templated_type_missing_a_required_argument_fails_its_host() {
    let test = Test::new().file(
        "play.yml",
        r#"
        - hosts: fleet
          gather_facts: false
          tasks:
            - action: "{{ 'file' }} state=directory"
              ignore_errors: true
            - action: "{{ 'user' }}"
              ignore_errors: true
        "#,
    );
    let output = run_play(&test, "host1", &[]).success();
    for message in [
        r#"fatal: [host1]: FAILED! => {"changed": false, "msg": "missing required arguments: path"}"#,
        r#"fatal: [host1]: FAILED! => {"changed": false, "msg": "missing required arguments: name"}"#,
    ] {
        assert!(
            output.stdout.contains(message),
            "{message} in:\n{}",
            output.stdout
        );
    }
    assert_eq!(
        output.recap("host1"),
        "host1 : ok=2 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=2"
    );
}
