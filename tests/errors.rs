//! Every error a user can cause: exact message, exit code 4 (5 for options), nothing run.

use crate::common::Test;

/// A playbook whose tasks would leave a mark if anything ran.
fn marker_test(playbook: &str) -> Test {
    Test::new().file("play.yml", playbook)
}

fn assert_nothing_ran(test: &Test) {
    assert!(!test.path().join("ran").exists(), "a task ran");
}

/// What a playbook that must be refused before anything runs gives: exit `code`, `error`
/// as the first line of standard error, and no task ran.
#[track_caller]
fn refuses(test: &Test, code: i32, error: &str) {
    let output = test.run().status(code);
    assert_eq!(output.stderr.lines().next().unwrap_or_default(), error);
    assert_nothing_ran(test);
}

#[test]
fn yaml_syntax_error_points_at_the_spot() {
    let test = marker_test(
        "
        - hosts: localhost
          tasks:
            - command: touch ran
              register: [x
        ",
    )
    .args(&["run", "play.yml"]);
    let output = test.run().status(4);
    assert_eq!(
        output.stderr,
        "error: invalid YAML: unclosed bracket '[' at play.yml:4:17
 --> play.yml:4:17
  |
4 |       register: [x
  |                 ^
"
    );
    assert_nothing_ran(&test);
}

#[test]
fn yaml_indentation_error_names_the_real_file() {
    let test = marker_test(
        "
        - hosts: localhost
          tasks:
            - command: touch ran
             bad: indent
        ",
    )
    .args(&["run", "play.yml"]);
    let output = test.run().status(4);
    assert_eq!(
        output.stderr.lines().next().unwrap(),
        "error: invalid YAML: while parsing a block collection, did not find expected '-' indicator at play.yml:4:6"
    );
    assert!(!output.stderr.contains("<input>"), "{}", output.stderr);
    assert_nothing_ran(&test);
}

#[test]
fn a_bad_extra_vars_file_exits_4() {
    let test = marker_test("- hosts: localhost\n  tasks:\n    - command: touch ran\n")
        .file("bad.yml", "a: [1\n")
        .args(&["run", "play.yml", "-e", "@bad.yml"]);
    refuses(
        &test,
        4,
        "error: invalid YAML: unclosed bracket '[' at bad.yml:1:4",
    );
}

#[test]
fn unknown_task_type_suggests_the_right_one() {
    let test = marker_test(
        "
        - hosts: localhost
          tasks:
            - command: touch ran
            - name: typo
              comand: touch ran
        ",
    )
    .args(&["run", "play.yml"]);
    let output = test.run().status(4);
    assert_eq!(
        output.stderr,
        "error: unknown task type `comand` at play.yml:5:7 — did you mean `command`?
 --> play.yml:5:7
  |
5 |       comand: touch ran
  |       ^^^^^^
"
    );
    assert_nothing_ran(&test);
}

#[test]
fn unknown_argument_is_named_with_its_place() {
    let test = marker_test(
        "
        - hosts: localhost
          tasks:
            - command:
                cmd: touch ran
                chdri: /tmp
        ",
    )
    .args(&["run", "play.yml"]);
    refuses(
        &test,
        4,
        "error: unknown argument `chdri` at play.yml:5:9 — did you mean `chdir`?",
    );
}

#[test]
fn two_task_types_in_one_task() {
    let test = marker_test(
        "
        - hosts: localhost
          tasks:
            - command: touch ran
              shell: touch ran
        ",
    )
    .args(&["run", "play.yml"]);
    refuses(
        &test,
        4,
        "error: a task has exactly one task type, found `command` and `shell` at play.yml:4:7",
    );
}

#[test]
fn wrong_type_for_serial() {
    let test = marker_test(
        "
        - hosts: localhost
          serial: many
          tasks:
            - command: touch ran
        ",
    )
    .args(&["run", "play.yml"]);
    refuses(
        &test,
        4,
        "error: expected a number of hosts or a percentage such as `30%`, found `many` at play.yml:2:11",
    );
}

#[test]
fn undefined_variable_is_caught_before_anything_runs() {
    let test = marker_test(
        "
        - hosts: localhost
          vars:
            quay_root: /srv/quay
          tasks:
            - command: touch ran
            - command: ls {{ quay_rot }}/config
        ",
    )
    .args(&["run", "play.yml"]);
    refuses(
        &test,
        4,
        "error: undefined variable `quay_rot` at play.yml:6:16",
    );
}

#[test]
fn undefined_variable_at_run_time_fails_the_host_with_its_place() {
    // `hostvars` of a host that lacks the variable can only be seen at run time.
    let test = marker_test(
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - debug:
                msg: \"{{ hostvars['localhost'].nothing_here }}\"
        ",
    )
    .args(&["run", "play.yml"]);
    let output = test.run().status(2);
    assert!(
        output
            .stdout
            .contains(r#"fatal: [localhost]: FAILED! => {"changed": false, "msg": "undefined value in `hostvars['localhost'].nothing_here` at play.yml:5:14"}"#),
        "{}",
        output.stdout
    );
}

#[test]
fn pattern_matching_nothing_warns_and_runs_nothing() {
    let test = marker_test(
        "
        - hosts: webservers
          tasks:
            - command: touch ran
        ",
    )
    .file("hosts.ini", "[db]\ndb1 ansible_connection=local\n")
    .args(&["run", "play.yml", "-i", "hosts.ini"]);
    let output = test.run().success();
    assert!(
        output.stdout.contains(
            "[WARNING]: no hosts matched `webservers` for play `webservers`; skipping it"
        ),
        "{}",
        output.stdout
    );
    assert_nothing_ran(&test);
}

#[test]
fn missing_vars_file() {
    let test = marker_test(
        "
        - hosts: localhost
          vars_files:
            - vars/quay.yml
          tasks:
            - command: touch ran
        ",
    )
    .args(&["run", "play.yml"]);
    refuses(
        &test,
        4,
        "error: vars file `vars/quay.yml` not found at play.yml:3:7",
    );
}

#[test]
fn missing_inventory_file() {
    let test = marker_test("- hosts: all\n  tasks:\n    - command: touch ran\n").args(&[
        "run",
        "play.yml",
        "-i",
        "nowhere.yml",
    ]);
    let output = test.run().status(4);
    assert_eq!(
        output.stderr,
        "error: cannot read inventory `nowhere.yml`: No such file or directory (os error 2)\n"
    );
    assert_nothing_ran(&test);
}

#[test]
fn yaml_bomb_is_refused_quickly() {
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let test = Test::new()
        .file("bomb.yml", &bomb)
        .file(
            "play.yml",
            "- hosts: all\n  tasks:\n    - command: touch ran\n",
        )
        .args(&["run", "play.yml", "-i", "bomb.yml"]);
    let started = std::time::Instant::now();
    let output = test.run();
    // Generous: the machine running the tests may be busy; a bomb expanded in full
    // takes minutes and gigabytes.
    assert!(
        started.elapsed().as_secs() < 30,
        "took {:?}",
        started.elapsed()
    );
    let output = output.status(4);
    assert_eq!(
        output.stderr,
        "error: invalid YAML: the document expands to more than 200000 values (nested aliases?) at bomb.yml:6:10\n \
         --> bomb.yml:6:10\n  |\n6 | a5: &a5 [*a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4, *a4]\n  |          ^^^\n"
    );
    assert_nothing_ran(&test);
}

#[test]
fn duplicate_keys_are_an_error() {
    let test = marker_test(
        "
        - hosts: localhost
          hosts: all
          tasks:
            - command: touch ran
        ",
    )
    .args(&["run", "play.yml"]);
    let output = test.run().status(4);
    assert!(output.stderr.contains("duplicate"), "{}", output.stderr);
    assert!(output.stderr.contains("play.yml:2:"), "{}", output.stderr);
    assert_nothing_ran(&test);
}

#[test]
fn bad_option_exits_5() {
    Test::new()
        .args(&["run", "play.yml", "--forks", "0"])
        .run()
        .status(5);
    Test::new()
        .args(&["run", "play.yml", "--frobnicate"])
        .run()
        .status(5);
    let output = Test::new()
        .args(&["run", "play.yml", "-e", "novalue"])
        .run()
        .status(5);
    assert_eq!(
        output.stderr,
        "error: `--extra-vars` expects `key=value`, a JSON or YAML mapping, or `@file`; found `novalue`\n"
    );
}

#[test]
fn notify_of_a_handler_that_does_not_exist() {
    let test = marker_test(
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - command: touch ran
              notify: restart quay
          handlers:
            - name: restart quya
              debug: {msg: ha}
        ",
    )
    .args(&["validate", "play.yml"]);
    let output = test.run().status(4);
    assert_eq!(
        output.stderr,
        "error: the requested handler `restart quay` was not found at play.yml:5:15 — did you mean `restart quya`?
 --> play.yml:5:15
  |
5 |       notify: restart quay
  |               ^^^^^^^^^^^^
hint: the play's handlers: `restart quya`
"
    );
    assert_nothing_ran(&test);
}

#[test]
fn a_misspelled_keyword_is_named_as_a_keyword() {
    let test = marker_test(
        "
        - hosts: localhost
          tasks:
            - command: touch ran
              whn: false
        ",
    )
    .args(&["run", "play.yml"]);
    refuses(
        &test,
        4,
        "error: unknown keyword `whn` at play.yml:4:7 — did you mean `when`?",
    );
}

#[test]
fn unknown_arguments_of_the_general_task_types() {
    let cases = [
        (
            "debug: {msg: hi, mgs: x}",
            "error: unknown argument `mgs` at play.yml:3:24 — did you mean `msg`?",
        ),
        (
            "assert: {that: [true], fail_mgs: x}",
            "error: unknown argument `fail_mgs` at play.yml:3:30 — did you mean `fail_msg`?",
        ),
        (
            "fail: {msg: x, mesage: y}",
            "error: unknown argument `mesage` (expected one of `msg`) at play.yml:3:22",
        ),
        (
            "shell: {cmd: touch ran, chdri: /tmp}",
            "error: unknown argument `chdri` at play.yml:3:31 — did you mean `chdir`?",
        ),
    ];
    for (task, expected) in cases {
        let test = marker_test(&format!(
            "- hosts: localhost\n  tasks:\n    - {task}\n    - command: touch ran\n"
        ))
        .args(&["run", "play.yml"]);
        let output = test.run().status(4);
        assert_eq!(output.stderr.lines().next().unwrap(), expected, "{task}");
        assert_nothing_ran(&test);
    }
}

#[test]
fn an_undefined_variable_in_the_host_pattern() {
    let test = marker_test(
        "
        - name: Deploy
          hosts: '{{ target }}'
          tasks:
            - command: touch ran
        ",
    )
    .args(&["run", "play.yml"]);
    refuses(
        &test,
        4,
        "error: undefined variable `target` at play.yml:2:10",
    );
}
