//! The runner with the local connection: results, recap, blocks, handlers, loops, check
//! mode, JSON events.

use crate::common::Test;

#[test]
fn a_small_ansible_playbook_runs_with_the_same_recap() {
    let test = Test::new()
        .file(
            "play.yml",
            "
            - name: Converted from Ansible
              hosts: localhost
              gather_facts: false
              vars:
                who: world
              tasks:
                - name: Greet
                  ansible.builtin.command: echo hello {{ who }}
                  register: greeting
                - name: Show
                  debug:
                    var: greeting.stdout
                - name: Skipped
                  command: 'false'
                  when: who == 'nobody'
                - name: Ignored failure
                  command: 'false'
                  ignore_errors: true
                - name: Protected
                  block:
                    - command: 'false'
                  rescue:
                    - debug: msg=rescued
                  always:
                    - debug: msg=always
                - name: Loop
                  shell: echo {{ item }} >> items.txt
                  loop: [a, b, c]
                  notify: done
              handlers:
                - name: done
                  command: touch handler-ran
            ",
        )
        .args(&["run", "play.yml"]);
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=7 changed=4 unreachable=0 failed=0 skipped=1 rescued=1 ignored=1"
    );
    assert!(
        output
            .stdout
            .contains("\"greeting.stdout\": \"hello world\""),
        "{}",
        output.stdout
    );
    assert_eq!(
        std::fs::read_to_string(test.path().join("items.txt")).unwrap(),
        "a\nb\nc\n"
    );
    assert!(test.path().join("handler-ran").exists());
}

#[test]
fn a_failed_host_exits_2_and_stops_there() {
    let test = Test::new()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              tasks:
                - command: 'false'
                - command: touch ran
            ",
        )
        .args(&["run", "play.yml"]);
    let output = test.run().status(2);
    assert!(!test.path().join("ran").exists());
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=0 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn check_mode_changes_nothing() {
    let test = Test::new()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              tasks:
                - command: touch ran
                - command: touch guarded
                  args:
                    creates: play.yml
            ",
        )
        .args(&["run", "play.yml", "--check"]);
    let output = test.run().success();
    assert!(!test.path().join("ran").exists());
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=1 changed=0 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0"
    );
}

#[test]
fn json_events_and_no_log() {
    let test = Test::new()
        .file(
            "play.yml",
            "
            - name: p
              hosts: localhost
              gather_facts: false
              tasks:
                - name: secret
                  debug:
                    msg: hunter2
                  no_log: true
                - name: plain
                  command: echo visible
            ",
        )
        .args(&["run", "play.yml", "--output", "json", "-v"]);
    let output = test.run().success();
    assert!(!output.stdout.contains("hunter2"), "{}", output.stdout);
    let events = output.events();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "playbook_start",
            "play_start",
            "task_start",
            "host_result",
            "task_start",
            "host_result",
            "recap"
        ]
    );
    let secret = &events[3];
    assert_eq!(secret["host"], "localhost");
    assert_eq!(secret["task"], "secret");
    assert_eq!(secret["status"], "ok");
    assert_eq!(secret["msg"], "<censored>");
    assert!(secret["duration_ms"].is_u64());
    let plain = &events[5];
    assert_eq!(plain["status"], "changed");
    assert_eq!(plain["changed"], true);
    assert_eq!(plain["result"]["stdout"], "visible");
    assert_eq!(events[6]["hosts"]["localhost"]["changed"], 1);
    assert_eq!(events[6]["hosts"]["localhost"]["ok"], 2);
}

#[test]
fn serial_and_max_fail_percentage() {
    let test = Test::new()
        .file(
            "hosts.yml",
            "
            all:
              vars: {ansible_connection: local}
              hosts:
                a: {}
                b: {bad: true}
                c: {}
                d: {}
            ",
        )
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              serial: 2
              max_fail_percentage: 40
              tasks:
                - command: 'false'
                  when: bad | default(false)
                - shell: echo {{ inventory_hostname }} >> done.txt
            ",
        )
        .args(&["run", "play.yml", "-i", "hosts.yml"]);
    let output = test.run().status(2);
    // The first batch (a, b) lost half its hosts: the play stops before c and d.
    assert!(!test.path().join("done.txt").exists(), "{}", output.stdout);
}

#[test]
fn until_retries_and_changed_when() {
    let test = Test::new()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              tasks:
                - shell: echo x >> tries; wc -l < tries
                  register: count
                  until: count.stdout | int >= 3
                  retries: 5
                  delay: 0
                  changed_when: false
                - assert:
                    that: count.attempts == 3
            ",
        )
        .args(&["run", "play.yml"]);
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=2 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn forks_do_not_change_results() {
    let hosts: String = (1..=8)
        .map(|i| format!("    h{i}: {{ansible_connection: local}}\n"))
        .collect();
    let make = || {
        Test::new()
            .file("hosts.yml", &format!("all:\n  hosts:\n{hosts}"))
            .file(
                "play.yml",
                "- hosts: all\n  gather_facts: false\n  tasks:\n    - shell: echo {{ inventory_hostname }} > {{ inventory_hostname }}.out\n",
            )
    };
    let one = make().args(&["run", "play.yml", "-i", "hosts.yml", "-f", "1"]);
    let many = make().args(&["run", "play.yml", "-i", "hosts.yml", "-f", "50"]);
    let (a, b) = (one.run(), many.run());
    assert_eq!(a.code, 0);
    assert_eq!(b.code, 0);
    for i in 1..=8 {
        let host = format!("h{i}");
        assert_eq!(a.recap(&host), b.recap(&host));
        assert!(one.path().join(format!("{host}.out")).exists());
    }
}

#[test]
fn variables_may_be_templates_of_other_variables() {
    Test::new()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              vars:
                quay_root: /srv/quay
                bundle_dir: '{{ quay_root }}/config'
                key_path: '{{ bundle_dir }}/quay-readonly.kid'
              tasks:
                - assert:
                    that: key_path == '/srv/quay/config/quay-readonly.kid'
            ",
        )
        .args(&["run", "play.yml"])
        .run()
        .success();
}

/// Three hosts with a local connection, for tests of the linear strategy.
const THREE_HOSTS: &str = "
    all:
      vars: {ansible_connection: local}
      hosts:
        a: {}
        b: {}
        c: {}
";

fn recaps(output: &crate::common::Output, hosts: &[&str]) -> Vec<String> {
    hosts.iter().map(|h| output.recap(h)).collect()
}

#[test]
fn an_ignored_failure_counts_as_ok_changed_and_ignored() {
    let output = Test::new()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              tasks:
                - command: 'false'
                  ignore_errors: true
            ",
        )
        .args(&["run", "play.yml"])
        .run()
        .success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=1 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1"
    );
}

#[test]
fn a_rescue_that_fails_counts_one_rescued_and_one_failed() {
    let test = Test::new()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              tasks:
                - block:
                    - command: 'false'
                  rescue:
                    - debug:
                        msg: 'rc was {{ ansible_failed_result.rc }}'
                    - fail:
                        msg: the rescue failed too
                  always:
                    - command: touch always-ran
                - command: touch ran
            ",
        )
        .args(&["run", "play.yml"]);
    let output = test.run().status(2);
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=2 changed=1 unreachable=0 failed=1 skipped=0 rescued=1 ignored=0"
    );
    assert!(
        output.stdout.contains("\"msg\": \"rc was 1\""),
        "{}",
        output.stdout
    );
    assert!(test.path().join("always-ran").exists());
    assert!(!test.path().join("ran").exists());
}

#[test]
fn any_errors_fatal_runs_the_rescue_on_every_host_and_carries_on() {
    let test = Test::new()
        .file("hosts.yml", THREE_HOSTS)
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              any_errors_fatal: true
              tasks:
                - block:
                    - command: 'false'
                      when: inventory_hostname == 'a'
                  rescue:
                    - command: touch rescued-{{ inventory_hostname }}
                - command: touch after-{{ inventory_hostname }}
            - hosts: all
              gather_facts: false
              tasks:
                - command: touch play2-{{ inventory_hostname }}
            ",
        )
        .args(&["run", "play.yml", "-i", "hosts.yml"]);
    let output = test.run();
    // Expected from ansible-core 2.19.14 (checked again for issue 18: it exits 2, not 0):
    // the hosts `any_errors_fatal` failed were rescued, but they are out of later plays and
    // the run exits 2.
    let output = output.status(2);
    assert_eq!(
        recaps(&output, &["a", "b", "c"]),
        [
            "a : ok=3 changed=3 unreachable=0 failed=0 skipped=0 rescued=1 ignored=0",
            "b : ok=2 changed=2 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0",
            "c : ok=2 changed=2 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0",
        ]
    );
    for host in ["a", "b", "c"] {
        assert!(test.path().join(format!("rescued-{host}")).exists());
        assert!(test.path().join(format!("after-{host}")).exists());
    }
    assert!(test.path().join("play2-a").exists());
    assert!(!test.path().join("play2-b").exists());
}

#[test]
fn any_errors_fatal_without_a_rescue_stops_every_host() {
    let test = Test::new()
        .file("hosts.yml", THREE_HOSTS)
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              any_errors_fatal: true
              tasks:
                - command: 'false'
                  when: inventory_hostname == 'b'
                - command: touch ran-{{ inventory_hostname }}
            - hosts: all
              gather_facts: false
              tasks:
                - command: touch ran-again
            ",
        )
        .args(&["run", "play.yml", "-i", "hosts.yml"]);
    let output = test.run().status(2);
    assert_eq!(
        recaps(&output, &["a", "b", "c"]),
        [
            "a : ok=0 changed=0 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0",
            "b : ok=0 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0",
            "c : ok=0 changed=0 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0",
        ]
    );
    let ran: Vec<_> = std::fs::read_dir(test.path())
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter(|n| n.starts_with("ran"))
        .collect();
    assert!(ran.is_empty(), "{ran:?}");
}

#[test]
fn a_rescued_failure_does_not_count_towards_max_fail_percentage() {
    let test = Test::new()
        .file("hosts.yml", THREE_HOSTS)
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              max_fail_percentage: 0
              tasks:
                - block:
                    - command: 'false'
                      when: inventory_hostname == 'a'
                  rescue:
                    - debug: msg=rescued
                - command: touch after-{{ inventory_hostname }}
            - hosts: all
              gather_facts: false
              tasks:
                - command: touch play2-{{ inventory_hostname }}
            ",
        )
        .args(&["run", "play.yml", "-i", "hosts.yml"]);
    let output = test.run().success();
    assert_eq!(
        recaps(&output, &["a", "b", "c"]),
        [
            "a : ok=3 changed=2 unreachable=0 failed=0 skipped=0 rescued=1 ignored=0",
            "b : ok=2 changed=2 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0",
            "c : ok=2 changed=2 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0",
        ]
    );
    for host in ["a", "b", "c"] {
        assert!(test.path().join(format!("play2-{host}")).exists());
    }
}

/// The `msg` of every `debug` result, in order, from `--output json`.
fn shown(output: &crate::common::Output) -> Vec<serde_json::Value> {
    output
        .events()
        .into_iter()
        .filter_map(|e| e.get("output").and_then(|o| o.get("msg")).cloned())
        .collect()
}

fn run_json(playbook: &str, args: &[&str]) -> crate::common::Output {
    let mut all = vec!["run", "play.yml", "--output", "json"];
    all.extend(args);
    Test::new().file("play.yml", playbook).args(&all).run()
}

#[test]
fn an_undefined_variable_inside_a_variable_names_it_and_where_the_value_is() {
    // In the play's own variables: caught before the run.
    let test = Test::new()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              vars:
                x: '{{ nothere }}/a'
                y: '{{ x }}/b'
              tasks:
                - debug:
                    msg: '{{ x is defined }} {{ x | default(\"dd\") }}'
                - command: touch \"{{ y }}\"
            ",
        )
        .args(&["run", "play.yml"]);
    let output = test.run().status(4);
    assert_eq!(
        output.stderr,
        "error: undefined variable `nothere` at play.yml:4:8
 --> play.yml:4:8
  |
4 |     x: '{{ nothere }}/a'
  |        ^^^^^^^^^^^^^^^^^
hint: read by the value of `y`, used at play.yml:9:16
"
    );

    // In the inventory, where only the run can tell: the host fails before the command,
    // at the value's place, and a guard sees the variable as undefined.
    let test = Test::new()
        .file(
            "hosts.yml",
            "
            all:
              hosts:
                localhost:
                  ansible_connection: local
                  x: '{{ nothere }}/a'
            ",
        )
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              tasks:
                - debug:
                    msg: '{{ x is defined }} {{ x | default(\"dd\") }}'
                - command: touch \"{{ x }}\"
            ",
        )
        .args(&["run", "play.yml", "-i", "hosts.yml"]);
    let output = test.run().status(2);
    assert!(
        output.stdout.contains("\"msg\": \"False dd\""),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains(
            r#"fatal: [localhost]: FAILED! => {"changed": false, "msg": "undefined variable `nothere` at hosts.yml:5:10"}"#
        ),
        "{}",
        output.stdout
    );
    let touched: Vec<_> = std::fs::read_dir(test.path())
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter(|n| !["play.yml", "play.retry", "hosts.yml"].contains(&n.as_str()))
        .collect();
    assert!(touched.is_empty(), "{touched:?}");
}

#[test]
fn play_hosts_and_names_are_templates() {
    let output = Test::new()
        .file(
            "play.yml",
            "
            - name: 'Play for {{ target }}'
              hosts: '{{ target }}'
              gather_facts: false
              vars: {who: world}
              tasks:
                - name: 'Say hi to {{ who }} from {{ inventory_hostname }}'
                  debug: msg=hi
                - name: 'Unknown {{ nothing_here }}'
                  debug: msg=hi
            ",
        )
        .args(&["run", "play.yml", "-e", "target=localhost"])
        .run()
        .success();
    assert!(
        output.stdout.contains("PLAY [Play for localhost] "),
        "{}",
        output.stdout
    );
    assert!(
        output
            .stdout
            .contains("TASK [Say hi to world from localhost] "),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains("TASK [Unknown {{ nothing_here }}] "),
        "{}",
        output.stdout
    );
}

#[test]
fn key_value_arguments_keep_templates_with_spaces() {
    let output = run_json(
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - debug: msg={{ item }}
              loop: [a, b]
            - debug: msg=\"{{ ['x', 'y'] | join(' ') }} z\"
        ",
        &[],
    )
    .success();
    assert_eq!(shown(&output), ["a", "b", "x y z"]);
}

#[test]
fn guards_that_ansible_accepts_pass_validate_and_run() {
    let output = run_json(
        "
        - hosts: localhost
          gather_facts: false
          vars: {d: {a: 1}}
          tasks:
            - debug: msg=\"{{ maybe }}\"
              when: maybe is defined
            - debug: msg=\"ok {{ other }}\"
              when: other is defined and other == 'x'
            - debug: {msg: '{{ nope is undefined }}'}
            - debug: {msg: \"{{ missing.attr | default('z') }}\"}
            - debug: {msg: attr-missing}
              when: missing.attr is not defined
            - debug: {msg: \"{{ d.b.c | default('y') }}\"}
            - debug: {var: not_set_anywhere}
            - debug: {msg: \"{{ (unset | default({})).a | default(1) }}\"}
            - debug: {msg: \"{{ ((unset | default({})).a) | default(2) }}\"}
        ",
        &[],
    )
    .success();
    assert_eq!(
        shown(&output),
        [
            serde_json::json!(true),
            serde_json::json!("z"),
            serde_json::json!("attr-missing"),
            serde_json::json!("y"),
            serde_json::json!(1),
            serde_json::json!(2)
        ]
    );
}

#[test]
fn a_misspelled_variable_is_still_caught_before_the_run() {
    let test = Test::new()
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              vars: {quay_root: /srv}
              tasks:
                - command: touch ran
                - debug: msg=\"{{ quay_roto | default('x') }} {{ qauy_root }}\"
            ",
        )
        .args(&["validate", "play.yml"]);
    let output = test.run().status(4);
    assert_eq!(
        output.stderr.lines().next().unwrap(),
        "error: undefined variable `qauy_root` at play.yml:6:14"
    );
}

#[test]
fn filters_and_values_as_ansible_shows_them() {
    let output = run_json(
        r#"
        - hosts: localhost
          gather_facts: false
          vars:
            d: {b: 2, a: [1, "x"]}
            s: Hello World
            nul: ~
          tasks:
            - debug: {msg: "{{ '12' | int + 1 }} {{ '3.7' | int }} {{ 'abc' | int }} {{ true | int }}"}
            - debug: {msg: "{{ 5 | string ~ 'x' }} {{ nul | string }} {{ [1, 'a'] | string }}"}
            - debug: {msg: "{{ s | lower }} {{ s | upper }} {{ s | replace('o', '0') }}"}
            - debug: {msg: "{{ d | to_json }}"}
            - debug: {msg: "{{ d | to_yaml }}"}
            - debug: {msg: "{{ d | to_nice_json }}"}
            - debug: {msg: "{{ ('a: 1\nb: [x, yes]' | from_yaml).b }}"}
            - debug: {msg: "{{ 'quay-01' | regex_replace('^(\\w+)-(\\d+)$', '\\2-\\1') }}"}
            - debug: {msg: '{{ "quay-01" | regex_replace("^(?P<n>\w+)-(\d+)$", "\g<n>") }}'}
            - debug: {msg: "[{{ nul }}] {{ nul is none }} {{ nope is undefined }} {{ d.a }}"}
            - debug: {msg: "{{ 'yes' | bool }} {{ 'y' | bool }} {{ 'off' | bool }} {{ 1 | bool }}"}
            - debug: {msg: "{{ s.split(' ') | join('+') }} {{ s.startswith('He') }} {{ s.upper() }} {{ d.get('b') }} {{ d.keys() | list }}"}
        "#,
        &[],
    ).success();
    let mut expected: Vec<serde_json::Value> = [
        "13 3 0 1",
        "5x None [1, 'a']",
        "hello world HELLO WORLD Hell0 W0rld",
        r#"{"b": 2, "a": [1, "x"]}"#,
        "a: [1, x]\nb: 2\n",
        "{\n    \"a\": [\n        1,\n        \"x\"\n    ],\n    \"b\": 2\n}",
        "01-quay",
        "quay",
        "[] True True [1, 'x']",
        "True False False True",
        "Hello+World True HELLO WORLD 2 ['b', 'a']",
    ]
    .map(serde_json::Value::from)
    .to_vec();
    // A lone expression keeps its type, as in Ansible.
    expected.insert(6, serde_json::json!(["x", true]));
    assert_eq!(shown(&output), expected);
}

#[test]
fn yaml_scalars_read_as_ansible_reads_them() {
    let output = run_json(
        "
        - hosts: localhost
          gather_facts: false
          vars:
            a: n
            b: y
            c: NO
            d: on
            e: 0644
            f: 017
            g: 1e3
            h: 1_000
            i: 0x1F
            j: '0644'
          tasks:
            - debug:
                msg: \"{{ [a, b, c, d, e, f, g, h, i, j] | map('string') | join('|') }}\"
            - debug:
                msg: '{{ item.n }}'
              loop: [{n: 1}]
        ",
        &[],
    )
    .success();
    assert_eq!(
        shown(&output),
        [
            serde_json::json!("n|y|False|True|420|15|1e3|1000|31|0644"),
            serde_json::json!(1)
        ]
    );
}

#[test]
fn a_task_delegated_to_localhost_needs_no_connection_to_its_host() {
    let test = Test::new()
        .file(
            "hosts.yml",
            "all:\n  hosts:\n    remote1: {ansible_host: 127.0.0.9, ansible_port: 1}\n",
        )
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              tasks:
                - command: touch delegated-{{ inventory_hostname }}
                  delegate_to: localhost
                - debug: msg=on-the-controller
            ",
        )
        .args(&["run", "play.yml", "-i", "hosts.yml"]);
    let output = test.run().success();
    assert!(test.path().join("delegated-remote1").exists());
    assert_eq!(
        output.recap("remote1"),
        "remote1 : ok=2 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn a_task_on_the_host_itself_still_needs_it_reachable() {
    let test = Test::new()
        .file(
            "hosts.yml",
            "all:\n  hosts:\n    remote1: {ansible_host: 127.0.0.9, ansible_port: 1}\n",
        )
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              tasks:
                - debug: msg=before
                - command: 'true'
                - command: touch after
                  delegate_to: localhost
            ",
        )
        .args(&["run", "play.yml", "-i", "hosts.yml"]);
    let output = test.run().status(3);
    assert!(
        output.stdout.contains("fatal: [remote1]: UNREACHABLE!"),
        "{}",
        output.stdout
    );
    assert!(!test.path().join("after").exists());
    assert_eq!(
        output.recap("remote1"),
        "remote1 : ok=1 changed=0 unreachable=1 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

/// The lines of a file the tasks appended to, in phases: consecutive lines with the same
/// prefix (before `-`) gathered as sorted host lists, since hosts run concurrently.
fn phases(test: &Test, file: &str) -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(test.path().join(file)).unwrap_or_default();
    let mut phases: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        let (what, host) = line.split_once('-').unwrap();
        match phases.last_mut() {
            Some((last, hosts)) if last == what => hosts.push(host.to_owned()),
            _ => phases.push((what.to_owned(), vec![host.to_owned()])),
        }
    }
    for (_, hosts) in &mut phases {
        hosts.sort();
    }
    phases
}

fn phase(what: &str, hosts: &[&str]) -> (String, Vec<String>) {
    (
        what.to_owned(),
        hosts.iter().map(|h| h.to_string()).collect(),
    )
}

#[test]
fn handlers_run_in_their_order_on_the_hosts_that_notified_them() {
    let test = Test::new()
        .file("hosts.yml", THREE_HOSTS)
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              tasks:
                - command: echo x
                  changed_when: inventory_hostname != 'c'
                  notify: [second, first]
                - meta: flush_handlers
                - shell: echo flushed-{{ inventory_hostname }} >> log
                - command: echo x
                  changed_when: inventory_hostname == 'b'
                  notify: second
                - shell: echo end-{{ inventory_hostname }} >> log
                  run_once: true
              handlers:
                - name: first
                  shell: echo first-{{ inventory_hostname }} >> log
                - name: second
                  shell: echo second-{{ inventory_hostname }} >> log
            ",
        )
        .args(&["run", "play.yml", "-i", "hosts.yml"]);
    let output = test.run().success();
    // As ansible-playbook: handlers in the order they are defined, not notified; only on
    // the hosts that notified them; `flush_handlers` runs them there and then; `run_once`
    // runs on the first host only.
    assert_eq!(
        phases(&test, "log"),
        [
            phase("first", &["a", "b"]),
            phase("second", &["a", "b"]),
            phase("flushed", &["a", "b", "c"]),
            phase("end", &["a"]),
            phase("second", &["b"]),
        ]
    );
    assert_eq!(
        recaps(&output, &["a", "b", "c"]),
        [
            "a : ok=6 changed=5 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0",
            "b : ok=6 changed=6 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0",
            "c : ok=3 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0",
        ]
    );
}

#[test]
fn run_once_failed_when_and_check_mode_keyword() {
    let test = Test::new()
        .file("hosts.yml", THREE_HOSTS)
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              tasks:
                - command: echo {{ inventory_hostname }}
                  run_once: true
                  register: once
                - debug: {msg: '{{ inventory_hostname }} {{ once.stdout }}'}
                - command: echo hi
                  register: fw
                  failed_when: \"'hi' in fw.stdout and inventory_hostname == 'b'\"
                - command: touch cm-{{ inventory_hostname }}
                  check_mode: true
                  register: cm
                - debug: {msg: '{{ cm.skipped | default(false) }} {{ cm.changed }}'}
                  when: inventory_hostname == 'a'
            ",
        )
        .args(&["run", "play.yml", "-i", "hosts.yml", "--output", "json"]);
    let output = test.run().status(2);
    let mut messages: Vec<String> = shown(&output)
        .into_iter()
        .map(|m| m.as_str().unwrap().to_owned())
        .collect();
    messages[..3].sort();
    assert_eq!(messages, ["a a", "b a", "c a", "True False"]);
    assert!(!test.path().join("cm-a").exists());
    let events = output.events();
    let recap = &events.last().unwrap()["hosts"];
    let counts = |host: &str| {
        let c = &recap[host];
        [&c["ok"], &c["changed"], &c["failed"], &c["skipped"]].map(|v| v.as_u64().unwrap())
    };
    // Figures of ansible-playbook on the same play.
    assert_eq!(counts("a"), [4, 2, 0, 1]);
    assert_eq!(counts("b"), [1, 0, 1, 0]);
    assert_eq!(counts("c"), [2, 1, 0, 2]);
}

#[test]
fn nested_blocks_with_loop_control() {
    let output = run_json(
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - name: outer
              block:
                - debug: {msg: '{{ thing.n }}-{{ idx }}'}
                  loop: [{n: 1}, {n: 2}]
                  loop_control: {loop_var: thing, label: 'L{{ thing.n }}', index_var: idx}
                - name: inner
                  block:
                    - command: 'false'
                    - debug: {msg: not-reached}
                  rescue:
                    - debug: {msg: inner rescue}
                    - block:
                        - fail: {msg: deep}
                      always:
                        - debug: {msg: deep-always}
                  always:
                    - debug: {msg: inner-always}
              rescue:
                - debug: {msg: 'outer rescue {{ ansible_failed_result.msg }}'}
              always:
                - debug: {msg: outer-always}
            - debug: {msg: after}
        ",
        &[],
    )
    .success();
    assert_eq!(
        shown(&output),
        [
            "1-0",
            "2-1",
            "inner rescue",
            "deep-always",
            "inner-always",
            "outer rescue deep",
            "outer-always",
            "after"
        ]
    );
    let items: Vec<String> = output
        .events()
        .into_iter()
        .filter_map(|e| e.get("item").and_then(|i| i.as_str()).map(str::to_owned))
        .collect();
    assert_eq!(items, ["L1", "L2"]);
    let events = output.events();
    let recap = &events.last().unwrap()["hosts"]["localhost"];
    assert_eq!(
        [&recap["ok"], &recap["failed"], &recap["rescued"]].map(|v| v.as_u64().unwrap()),
        [7, 0, 2]
    );
}

#[test]
fn tags_and_skip_tags_select_tasks_on_run() {
    let run = |args: &[&str]| {
        let mut all = vec!["run", "play.yml", "-i", "hosts.yml"];
        all.extend(args);
        let test = Test::new()
            .file("hosts.yml", THREE_HOSTS)
            .file(
                "play.yml",
                "
                - hosts: all
                  gather_facts: false
                  tasks:
                    - shell: echo one-{{ inventory_hostname }} >> log
                      tags: [one]
                    - shell: echo two-{{ inventory_hostname }} >> log
                      tags: [two]
                    - shell: echo always-{{ inventory_hostname }} >> log
                      tags: [always]
                    - shell: echo never-{{ inventory_hostname }} >> log
                      tags: [never, debugonly]
                    - shell: echo untagged-{{ inventory_hostname }} >> log
                ",
            )
            .args(&all);
        assert_eq!(test.run().code, 0);
        phases(&test, "log")
            .into_iter()
            .map(|(what, _)| what)
            .collect::<Vec<_>>()
    };
    assert_eq!(run(&[]), ["one", "two", "always", "untagged"]);
    assert_eq!(run(&["--tags", "two"]), ["two", "always"]);
    assert_eq!(
        run(&["--tags", "debugonly,one"]),
        ["one", "always", "never"]
    );
    assert_eq!(run(&["--skip-tags", "one,always"]), ["two", "untagged"]);
    assert_eq!(run(&["--tags", "untagged"]), ["always", "untagged"]);
}

#[test]
fn magic_variables_have_ansibles_values() {
    let output = Test::new()
        .file(
            "hosts.ini",
            "
            [us]
            us1 ansible_connection=local
            us2 ansible_connection=local
            [eu]
            eu1 ansible_connection=local
            [quay:children]
            us
            eu
            [db]
            db1 ansible_connection=local
            ",
        )
        .file(
            "play.yml",
            "
            - hosts: quay:!eu1
              gather_facts: false
              tasks:
                - command: 'false'
                  when: inventory_hostname == 'us2'
                - debug:
                    msg: \"{{ group_names }} {{ ansible_play_hosts }} {{ ansible_play_hosts_all }} {{ groups['quay'] }} {{ groups.all }} {{ groups.ungrouped }} {{ groups | dictsort | map('first') | list }} {{ hostvars['db1'].inventory_hostname }}\"
            ",
        )
        .args(&["run", "play.yml", "-i", "hosts.ini", "--output", "json"])
        .run().status(2);
    assert_eq!(
        shown(&output),
        [
            "['quay', 'us'] ['us1'] ['us1', 'us2'] ['us1', 'us2', 'eu1'] ['db1', 'us1', 'us2', 'eu1'] [] ['all', 'db', 'eu', 'quay', 'ungrouped', 'us'] db1"
        ]
    );
}

/// `ansible_play_batch` is the batch's hosts that have not failed, `ansible_play_hosts`
/// the play's, `ansible_play_hosts_all` every host of the play (expected from ansible-core
/// 2.19.14: the same play, `serial: 2`, host1 failing in the first batch).
#[test]
fn play_batch_and_play_hosts_leave_out_failed_hosts() {
    let output = Test::new()
        .file(
            "hosts.ini",
            "
            host1 ansible_connection=local
            host2 ansible_connection=local
            host3 ansible_connection=local
            ",
        )
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              serial: 2
              tasks:
                - command: 'false'
                  when: inventory_hostname == 'host1'
                - debug:
                    msg: \"{{ inventory_hostname }} {{ ansible_play_batch }} {{ ansible_play_hosts }} {{ ansible_play_hosts_all }}\"
            ",
        )
        .args(&["run", "play.yml", "-i", "hosts.ini", "--output", "json"])
        .run()
        .status(2);
    assert_eq!(
        shown(&output),
        [
            "host2 ['host2'] ['host2', 'host3'] ['host1', 'host2', 'host3']",
            "host3 ['host3'] ['host2', 'host3'] ['host1', 'host2', 'host3']",
        ]
    );
}

#[test]
fn extra_vars_from_a_file_a_yaml_string_and_key_values() {
    let output = Test::new()
        .file("vars.yml", "from_file: f\nlist: [1, 2]\n")
        .file(
            "play.yml",
            "
            - hosts: localhost
              gather_facts: false
              vars: {kv: play, num: play}
              tasks:
                - debug: {msg: '{{ from_file }} {{ list }} {{ kv }} {{ num }} {{ num | type_debug }} {{ y }}'}
            ",
        )
        .args(&[
            "run",
            "play.yml",
            "--output",
            "json",
            "-e",
            "@vars.yml",
            "-e",
            "kv=cli num=7",
            "-e",
            "{num: 5, y: [1, b]}",
        ])
        .run().success();
    // As ansible-playbook: later `-e` win; `key=value` values are strings, YAML keeps types.
    assert_eq!(shown(&output), ["f [1, 2] cli 5 int [1, 'b']"]);
}

/// `--forks N`: at most N hosts run a task at once. Each host records how many were
/// running when it started (a lock-protected counter in files), not timings.
#[test]
fn forks_limit_how_many_hosts_run_at_once() {
    let hosts: String = (1..=6)
        .map(|i| format!("    h{i}: {{ansible_connection: local}}\n"))
        .collect();
    let script = "
        exec 9>lock
        flock 9; n=$(( $(cat running 2>/dev/null || echo 0) + 1 )); echo $n > running
        echo $n >> peaks; flock -u 9
        sleep 0.5
        flock 9; echo $(( $(cat running) - 1 )) > running; flock -u 9
    ";
    let make = |forks: &str| {
        let test = Test::new()
            .file("hosts.yml", &format!("all:\n  hosts:\n{hosts}"))
            .file("step.sh", script)
            .file(
                "play.yml",
                "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: sh step.sh\n",
            )
            .args(&["run", "play.yml", "-i", "hosts.yml", "-f", forks]);
        test.run().success();
        let peaks = std::fs::read_to_string(test.path().join("peaks")).unwrap();
        let peaks: Vec<u32> = peaks.lines().map(|l| l.parse().unwrap()).collect();
        assert_eq!(peaks.len(), 6);
        peaks.into_iter().max().unwrap()
    };
    assert_eq!(make("1"), 1);
    assert!(make("2") <= 2);
    // With more forks, hosts do run together (how many depends on how busy the machine is).
    assert!(make("6") >= 2);
}

#[test]
fn loop_results_are_registered_as_ansible_registers_them() {
    let output = run_json(
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - debug: {msg: '{{ thing.n }}'}
              loop: [{n: 1}, {n: 2}]
              loop_control: {loop_var: thing}
              register: lp
            - debug: {msg: \"{{ lp.results | map(attribute='thing') | list }} {{ lp.results[0].keys() | list | sort }}\"}
            - command: echo {{ item }}
              loop: [a, b]
              when: item != 'b'
              register: lw
            - debug: {msg: \"{{ lw.results | map(attribute='skipped', default=false) | list }} {{ lw.skipped }}\"}
            - debug: {msg: '{{ item }}'}
              loop: []
              register: empty
            - debug: {msg: '{{ empty.skipped }} {{ empty.results }}'}
        ",
        &[],
    ).success();
    assert_eq!(
        shown(&output),
        [
            serde_json::json!(1),
            serde_json::json!(2),
            serde_json::json!(
                "[{'n': 1}, {'n': 2}] ['ansible_loop_var', 'changed', 'failed', 'msg', 'thing']"
            ),
            serde_json::json!("[False, True] False"),
            serde_json::json!("True []"),
        ]
    );
    let events = output.events();
    let recap = &events.last().unwrap()["hosts"]["localhost"];
    assert_eq!(
        [&recap["ok"], &recap["changed"], &recap["skipped"]].map(|v| v.as_u64().unwrap()),
        [5, 1, 1]
    );
}

#[test]
fn an_until_that_never_holds_registers_attempts_as_ansible_does() {
    let test = Test::new().file(
        "play.yml",
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - shell: echo x >> tries; wc -l < tries
              register: c
              until: false
              retries: 2
              delay: 0
              ignore_errors: true
            - debug: {msg: '{{ c.attempts }} {{ c.failed }} {{ c.stdout }}'}
        ",
    );
    let output = test
        .args(&["run", "play.yml", "--output", "json"])
        .run()
        .success();
    // Three runs (the first and two retries); ansible-core registers `attempts: 2`.
    assert_eq!(shown(&output), ["2 True 3"]);
}
