//! Conditions (`when`, `failed_when`, `changed_when`, `until`, `assert`'s `that`) as
//! ansible-core 2.19.14 evaluates them: strict about what is missing, no templates inside.

use crate::common::Test;

/// Each form ansible-core 2.19.14 allows or refuses with a missing variable or key, one task
/// each (expected from ansible-core 2.19.14, the same play: the same results in the same
/// order, messages without quayside's place, ok=10 changed=3 skipped=2 ignored=6, exit 0).
#[test]
fn a_missing_variable_or_key_fails_a_condition_unless_guarded() {
    let test = Test::new()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              vars:
                d: {a: 1}
              tasks:
                - command: echo hi
                  register: r
                - debug: {msg: guarded}
                  when: r.exists is defined
                - debug: {msg: chained}
                  when: nope.y is not defined and r.exists.y is undefined
                - debug: {msg: defaulted}
                  when: r.exists | default(true)
                - debug: {msg: short}
                  when: true or r.exists
                - debug: {msg: list}
                  when: [false, r.exists]
                - debug: {msg: not reached}
                  when: r.exists is false
                  ignore_errors: true
                - debug: {msg: not reached}
                  when: [true, nope == 1]
                  ignore_errors: true
                - command: echo fw
                  failed_when: r.exists is false
                  ignore_errors: true
                - command: echo cw
                  changed_when: d.b
                  ignore_errors: true
                - assert:
                    that: [d.a == 1, \"r['exists']\"]
                  ignore_errors: true
                - command: echo until
                  until: r.stdout_lines[3] == 'x'
                  retries: 1
                  delay: 0
                  ignore_errors: true
            ",
        )
        .args(&["run", "play.yml"]);
    let output = test
        .run()
        .success()
        .recap_is(
            "localhost : ok=10 changed=3 unreachable=0 failed=0 skipped=2 rescued=0 ignored=6",
        )
        .stdout_contains(r#""msg": "chained""#)
        .stdout_contains(r#""msg": "defaulted""#)
        .stdout_contains(r#""msg": "short""#)
        .stdout_contains(
            r#"fatal: [localhost]: FAILED! => {"changed": false, "msg": "Error while evaluating conditional: object of type 'dict' has no attribute 'exists' at play.yml:19:13"}"#,
        )
        .stdout_contains(
            r#"fatal: [localhost]: FAILED! => {"changed": false, "msg": "Error while evaluating conditional: 'nope' is undefined at play.yml:22:20"}"#,
        )
        // failed_when and changed_when keep the result, failed, the error beside it.
        .stdout_contains(
            r#""failed_when_result": "Error while evaluating conditional: object of type 'dict' has no attribute 'exists' at play.yml:25:20""#,
        )
        .stdout_contains(
            r#""changed_when_result": "Error while evaluating conditional: object of type 'dict' has no attribute 'b' at play.yml:28:21""#,
        )
        .stdout_contains(
            r#"fatal: [localhost]: FAILED! => {"changed": false, "msg": "Error while evaluating conditional: object of type 'dict' has no attribute 'exists'"}"#,
        )
        .stdout_contains(
            r#""msg": "Error while evaluating conditional: object of type 'list' has no attribute 3 at play.yml:34:14""#,
        );
    assert!(!output.stdout.contains("not reached"), "{}", output.stdout);
    assert!(
        !output.stdout.contains(r#""msg": "list""#),
        "{}",
        output.stdout
    );
    assert!(
        !output.stdout.contains(r#""msg": "guarded""#),
        "{}",
        output.stdout
    );
}

/// ansible/ansible's blockinfile target, `create_dir.yml`: `failed_when:
/// path_created.exists is false` on a result without `exists` fails the host there
/// (expected from ansible-core 2.19.14: ok=2 changed=1 failed=1, exit 2, `Task failed: Action
/// failed: All assertions passed`, the next task not run).
#[test]
fn a_failed_when_reading_a_key_the_result_lacks_fails_the_host() {
    let test = Test::new()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              tasks:
                - file: {path: '{{ playbook_dir }}/made', state: directory}
                  register: path_created
                - debug: {msg: \"{{ path_created.exists | default('no exists') }}\"}
                - assert:
                    that: path_created is changed
                  failed_when: path_created.exists is false
                - command: touch {{ playbook_dir }}/after
            ",
        )
        .args(&["run", "play.yml"]);
    test.run()
        .status(2)
        .recap_is("localhost : ok=2 changed=1 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0")
        .stdout_contains("[ERROR]: Task failed: Action failed: All assertions passed\n")
        .stdout_contains(
            "fatal: [localhost]: FAILED! => {\n    \"changed\": false,\n    \"msg\": \"All assertions passed\"\n}",
        );
    assert!(test.path().join("made").is_dir());
    assert!(!test.path().join("after").exists());
}

/// A condition that is not a template as a whole but holds `{{ }}` is a syntax error in
/// ansible-core 2.19.14, which fails the task when it runs (ansible/ansible's wait_for
/// target, `main.yml:161`; expected from ansible-core 2.19.14, the same play: "Syntax error
/// in expression. Template delimiters are not supported in expressions: expected token
/// ':', got '}'" on the three tasks, as `failed_when_result` on the last, ok=5 changed=3
/// ignored=3, exit 0).
#[test]
fn template_delimiters_inside_a_condition_fail_the_task() {
    let test = Test::new()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              vars:
                http_port: 8080
                w: {port: 8080}
              tasks:
                - command: touch ran
                - assert:
                    that: \"w.port == {{ http_port }}\"
                  ignore_errors: true
                - debug: {msg: x}
                  when: [true, \"w.port == {{ http_port }}\"]
                  ignore_errors: true
                - command: echo
                  failed_when: \"{{ http_port }} == w.port\"
                  ignore_errors: true
                - command: touch last
            ",
        )
        .args(&["run", "play.yml"]);
    let message = "Syntax error in expression. Template delimiters are not supported in expressions: expected token ':', got '}'";
    test.run()
        .success()
        .recap_is("localhost : ok=5 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=3")
        .stdout_contains(&format!(
            r#"fatal: [localhost]: FAILED! => {{"changed": false, "msg": "{message}"}}"#
        ))
        .stdout_contains(&format!(
            r#"fatal: [localhost]: FAILED! => {{"changed": false, "msg": "{message} at play.yml:12:20"}}"#
        ))
        .stdout_contains(&format!(r#""failed_when_result": "{message} at play.yml:15:20""#));
    assert!(test.path().join("last").exists());
}

/// A condition that is a template as a whole is rendered first, and a string it renders to
/// is the expression (expected from ansible-core 2.19.14: both tasks run, the third is
/// skipped; `"{{ flag }}"` also warns that this is deprecated, which quayside does not
/// print).
#[test]
fn a_condition_that_is_a_template_as_a_whole_is_rendered_first() {
    let output = Test::new()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              vars:
                flag: true
                expr: http_port == 8080
                other: http_port == 1
                http_port: 8080
              tasks:
                - debug: {msg: one}
                  when: '{{ flag }}'
                - debug: {msg: two}
                  when: '{{ expr }}'
                - debug: {msg: three}
                  when: '{{ other }}'
            ",
        )
        .args(&["run", "play.yml"])
        .run()
        .success()
        .recap_is(
            "localhost : ok=2 changed=0 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0",
        );
    assert!(
        output.stdout.contains(r#""msg": "two""#),
        "{}",
        output.stdout
    );
}

/// A condition's text is an expression and its result must be a boolean (expected from
/// ansible-core 2.19.14, the same play: `"yes"` is a variable's name, a string, a list, a
/// number or `None` fail the task, `| bool` and comparisons do not; ok=10 changed=1 ignored=6, exit 0).
#[test]
fn a_condition_must_give_a_boolean() {
    let output = Test::new()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              vars: {s: 'true', l: [1], n: 3}
              tasks:
                - debug: {msg: bool}
                  when: s | bool
                - debug: {msg: compared}
                  when: l | length > 0
                - debug: {msg: rendered}
                  when: '{{ s }}'
                - {debug: {msg: x}, when: s, ignore_errors: true}
                - {debug: {msg: x}, when: l, ignore_errors: true}
                - {debug: {msg: x}, when: n, ignore_errors: true}
                - {debug: {msg: x}, when: none, ignore_errors: true}
                - {debug: {msg: x}, when: 'yes', ignore_errors: true}
                - {debug: {msg: x}, when: 1, ignore_errors: true}
                - command: touch ran
            ",
        )
        .args(&["run", "play.yml"])
        .run()
        .success()
        .recap_is(
            "localhost : ok=10 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=6",
        );
    for (kind, truth, place) in [
        ("str", "True", "11:31"),
        ("list", "True", "12:31"),
        ("int", "True", "13:31"),
        ("NoneType", "False", "14:31"),
    ] {
        let message = format!(
            r#""msg": "Conditional result ({truth}) was derived from value of type '{kind}'. Conditionals must have a boolean result. at play.yml:{place}"}}"#
        );
        assert!(
            output.stdout.contains(&message),
            "{message}\n{}",
            output.stdout
        );
    }
    let output = output
        .stdout_contains(
            r#""msg": "Error while evaluating conditional: 'yes' is undefined at play.yml:15:31"}"#,
        )
        .stdout_contains(r#""msg": "Conditional expressions must be strings. at play.yml:16:31"}"#);
    assert!(
        !output.stdout.contains(r#""msg": "x""#),
        "{}",
        output.stdout
    );
}
