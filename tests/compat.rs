//! Behaviours measured against ansible-core 2.19.14 (follow-ups of issue 18): each case was
//! run with `ansible-playbook` on the same files first, and the expectations below are what
//! it printed and registered.

use crate::common::Test;
use crate::common::play::TWO_LOCAL_HOSTS;

#[test]
fn command_and_shell_register_cmd_start_end_and_delta_as_ansible_does() {
    let test = Test::play_on_two_local_hosts(
        r#"
            - hosts: a
              gather_facts: false
              tasks:
                - command: echo hi there
                  register: c
                - shell: echo hi | cat
                  register: s
                - command:
                    argv: [echo, a b]
                    creates: /
                  register: g
                - command: 'false'
                  register: f
                  ignore_errors: true
                - command: echo x
                  register: k
                  check_mode: true
                - command: echo x
                  args: {removes: /nonexistent}
                  register: r
                  check_mode: true
                - command: echo x
                  args: {creates: /nonexistent}
                  register: w
                  check_mode: true
                - assert:
                    that:
                      - c.cmd == ['echo', 'hi', 'there']
                      - s.cmd == 'echo hi | cat'
                      - c.start is match('^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$')
                      - c.end is match('^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$')
                      - c.start <= c.end
                      - s.delta is match('^0:00:\d\d\.\d{6}$')
                      - g.cmd == ['echo', 'a b']
                      - g.start is none and g.end is none and g.delta is none
                      - g.msg == "Did not run command since '/' exists"
                      - g.stdout == 'skipped, since / exists'
                      - g.stdout_lines == ['skipped, since / exists'] and g.rc == 0
                      - f.msg == 'non-zero return code'
                      - f.rc == 1 and f.delta is match('^0:00:')
                      - k is skipped and k.msg == 'Command would have run if not in check mode'
                      - k.start is none
                      - r is not changed and r.msg == "Would not run command since '/nonexistent' does not exist"
                      - w is changed and w.msg == 'Command would have run if not in check mode'
            "#,
    );
    // Expected from ansible-core 2.19.14: every assertion holds; the check-mode command
    // without a guard is skipped, the one whose guard says it would run is changed.
    test.run()
        .success()
        .recap_is("a : ok=7 changed=4 unreachable=0 failed=0 skipped=1 rescued=0 ignored=1");
}

/// A host nothing listens for (connection refused at once) beside a local one.
const ONE_DOWN: &str = "
    all:
      hosts:
        good: {ansible_connection: local}
        down: {ansible_host: 127.0.0.1, ansible_port: 1}
";

#[test]
fn an_unreachable_host_exits_3_or_as_ansible_4_with_ansible_exit_codes() {
    let only_unreachable = Test::new().file("hosts.yml", ONE_DOWN).file(
        "play.yml",
        "
            - hosts: all
              gather_facts: false
              tasks:
                - command: 'true'
            ",
    );
    // Expected from ansible-core 2.19.14: exit 4, `down` unreachable=1, `good` changed=1.
    // quayside keeps 3 for it unless asked for ansible-playbook's codes, since its 4 says
    // that nothing ran.
    for (args, env, code) in [
        (&["run", "play.yml", "-i", "hosts.yml"][..], None, 3),
        (
            &["run", "play.yml", "-i", "hosts.yml", "--ansible-exit-codes"][..],
            None,
            4,
        ),
        (
            &["run", "play.yml", "-i", "hosts.yml"][..],
            Some(("QUAYSIDE_ANSIBLE_EXIT_CODES", "true")),
            4,
        ),
    ] {
        let mut runner = Test::new().args(args);
        if let Some((key, value)) = env {
            runner = runner.env(key, value);
        }
        let output = runner
            .run_in(only_unreachable.path())
            .status(code)
            .recap_is("down : ok=0 changed=0 unreachable=1 failed=0 skipped=0 rescued=0 ignored=0");
        assert_eq!(
            output.recap("good"),
            "good : ok=1 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
        );
    }

    let also_failed = Test::new().file("hosts.yml", ONE_DOWN).file(
        "play.yml",
        "
            - hosts: all
              gather_facts: false
              tasks:
                - command: 'false'
            ",
    );
    // Expected from ansible-core 2.19.14: exit 4 (unreachable wins over failed); quayside
    // exits 2 by default, a host having failed.
    Test::new()
        .args(&["run", "play.yml", "-i", "hosts.yml"])
        .run_in(also_failed.path())
        .status(2);
    Test::new()
        .args(&["run", "play.yml", "-i", "hosts.yml", "--ansible-exit-codes"])
        .run_in(also_failed.path())
        .status(4)
        .recap_is("good : ok=0 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0");
}

/// `a` fails after notifying `h`; the second play says `force_handlers: false`.
const FORCE_HANDLERS_PLAY: &str = "
    - hosts: all
      gather_facts: false
      tasks:
        - command: touch {{ inventory_hostname }}-notified
          notify: h
        - command: 'false'
          when: inventory_hostname == 'a'
        - command: touch {{ inventory_hostname }}-after
      handlers:
        - name: h
          command: touch {{ inventory_hostname }}-handler
    - hosts: all
      gather_facts: false
      force_handlers: false
      tasks:
        - command: 'true'
          notify: h
        - command: 'false'
      handlers:
        - name: h
          command: touch {{ inventory_hostname }}-handler2
";

fn files_made(test: &Test) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(test.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("a-") || name.starts_with("b-"))
        .collect();
    names.sort();
    names
}

#[test]
fn force_handlers_from_the_command_line_ansible_cfg_or_its_variable() {
    // Expected from ansible-core 2.19.14, for each way of asking (and not asking): exit 2;
    // forced, `a` runs `h` after failing (ok=2) but no later task; the play's
    // `force_handlers: false` wins over the command line, so no `handler2` anywhere.
    type Way<'a> = (&'a [&'a str], Option<(&'a str, &'a str)>, bool);
    let ways: [Way; 4] = [
        (&[], None, false),
        (&["--force-handlers"], None, true),
        (&[], Some(("ANSIBLE_FORCE_HANDLERS", "true")), true),
        (&[], Some(("ANSIBLE_CONFIG", "forcing.cfg")), true),
    ];
    for (extra, env, forced) in ways {
        let mut test = Test::play_on_two_local_hosts(FORCE_HANDLERS_PLAY)
            .file("forcing.cfg", "[defaults]\nforce_handlers = True\n")
            .args(extra);
        if let Some((key, value)) = env {
            test = test.env(key, value);
        }
        let output = test.run().status(2);
        let a_ok = if forced { 2 } else { 1 };
        assert_eq!(
            output.recap("a"),
            format!(
                "a : ok={a_ok} changed={a_ok} unreachable=0 failed=1 skipped=0 rescued=0 ignored=0"
            ),
            "{extra:?} {env:?}"
        );
        assert_eq!(
            output.recap("b"),
            "b : ok=4 changed=4 unreachable=0 failed=1 skipped=1 rescued=0 ignored=0"
        );
        let mut want = vec!["a-notified", "b-after", "b-handler", "b-notified"];
        if forced {
            want.insert(0, "a-handler");
        }
        assert_eq!(files_made(&test), want, "{extra:?} {env:?}");
    }
}

#[test]
fn forced_handlers_run_at_the_end_of_the_section_and_stop_at_their_own_failure() {
    let test = Test::play_on_two_local_hosts(
        "
            - hosts: all
              gather_facts: false
              force_handlers: true
              pre_tasks:
                - command: touch {{ inventory_hostname }}-notified
                  notify: [h1, h2]
                - fail: msg=boom
              tasks:
                - command: touch {{ inventory_hostname }}-tasks
              handlers:
                - name: h1
                  fail: msg=h1-fails
                  when: inventory_hostname == 'a'
                - name: h2
                  command: touch {{ inventory_hostname }}-h2
            - hosts: all
              gather_facts: false
              tasks:
                - command: touch {{ inventory_hostname }}-second-play
            ",
    );
    // Expected from ansible-core 2.19.14: every host failed, yet both run their handlers
    // at the end of `pre_tasks`; h1 fails on `a`, which then runs no h2; nothing after.
    let output = test
        .run()
        .status(2)
        .recap_is("a : ok=1 changed=1 unreachable=0 failed=2 skipped=0 rescued=0 ignored=0");
    assert_eq!(
        output.recap("b"),
        "b : ok=2 changed=2 unreachable=0 failed=1 skipped=1 rescued=0 ignored=0"
    );
    assert!(
        output.stdout.contains(r#""msg": "boom""#),
        "{}",
        output.stdout
    );
    assert_eq!(files_made(&test), ["a-notified", "b-h2", "b-notified"]);
}

#[test]
fn force_handlers_that_is_not_a_boolean_is_refused_where_it_is_written() {
    let test = Test::play_on_two_local_hosts(
        "- hosts: all\n  force_handlers: sometimes\n  tasks:\n    - command: touch ran\n",
    );
    test.refused_before_running(&[
        "error: expected `true` or `false`, found `sometimes` at play.yml:2:19",
    ]);
}

#[test]
fn a_rescue_sees_the_failed_task_and_result_and_a_loop_all_skipped_says_so() {
    let test = Test::play_on_two_local_hosts(
        "
            - hosts: a
              gather_facts: false
              tasks:
                - block:
                    - name: Boom
                      command: 'false'
                      tags: [x]
                      vars: {v: 1}
                  rescue:
                    - assert:
                        that:
                          - ansible_failed_task.name == 'Boom'
                          - ansible_failed_task.action == 'command'
                          - ansible_failed_task.tags == ['x']
                          - ansible_failed_task.vars.v == 1
                          - ansible_failed_task.loop_control.loop_var == 'item'
                          - ansible_failed_result.rc == 1
                          - ansible_failed_result.msg == 'non-zero return code'
                - block:
                    - debug:
                        msg: '{{ data.value }}'
                      vars: {data: {}}
                  rescue:
                    - assert:
                        that:
                          - ansible_failed_task.name == ''
                          - ansible_failed_task.action == 'debug'
                - debug: msg={{ item }}
                  loop: [1, 2]
                  when: false
                  register: skipped_all
                - assert:
                    that:
                      - skipped_all is skipped
                      - skipped_all.msg == 'All items skipped'
                      - skipped_all.results | length == 2
            ",
    );
    // Expected from ansible-core 2.19.14: every assertion holds; two rescues, one
    // skipped task.
    test.run()
        .success()
        .recap_is("a : ok=3 changed=0 unreachable=0 failed=0 skipped=1 rescued=2 ignored=0");
}

#[test]
fn loop_control_pause_waits_between_items() {
    let test = Test::play_on_two_local_hosts(
        "
            - hosts: a
              gather_facts: false
              tasks:
                - command: date +%s.%N
                  loop: [1, 2, 3]
                  loop_control: {pause: 0.6}
                  register: times
                - assert:
                    that:
                      - (times.results[1].stdout | float) - (times.results[0].stdout | float) >= 0.6
                      - (times.results[2].stdout | float) - (times.results[1].stdout | float) >= 0.6
            ",
    );
    // Expected from ansible-core 2.19.14: ok=2, the items at least `pause` apart.
    let started = std::time::Instant::now();
    let output = test.run().success();
    assert!(started.elapsed() >= std::time::Duration::from_millis(1200));
    assert_eq!(
        output.recap("a"),
        "a : ok=2 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn a_pause_that_is_not_a_number_of_seconds_is_refused_where_it_is_written() {
    let test = Test::play_on_two_local_hosts(
        "- hosts: a\n  tasks:\n    - command: touch ran\n      loop: [1]\n      loop_control: {pause: soon}\n",
    );
    test.refused_before_running(&[
        "error: expected a number of seconds for `pause`, found `soon` at play.yml:5:29",
    ]);
}

#[test]
fn templated_handler_names_and_notifications_are_rendered_as_ansible_renders_them() {
    let test = Test::play_on_two_local_hosts(
        "
            - hosts: all
              gather_facts: false
              vars:
                svc: web
                both: [first, second]
              handlers:
                - name: 'restart {{ svc }}'
                  command: touch {{ inventory_hostname }}-restarted
                - name: 'reload {{ nothere }}'
                  command: touch {{ inventory_hostname }}-reloaded
                  listen: reloads
                - name: '{{ \"b\" }} only'
                  command: touch {{ inventory_hostname }}-only
                - name: first
                  command: touch {{ inventory_hostname }}-first
                - name: second
                  command: touch {{ inventory_hostname }}-second
                - name: topic
                  command: touch {{ inventory_hostname }}-topic
                  listen: '{{ svc }}'
              tasks:
                - command: 'true'
                  notify: 'restart {{ svc }}'
                - command: 'true'
                  notify: '{{ item }} only'
                  loop: [b]
                  when: inventory_hostname == 'b'
                - command: 'true'
                  notify: reloads
                - command: 'true'
                  notify: '{{ both }}'
                  when: inventory_hostname == 'a'
                - command: 'true'
                  notify: '{{ svc }}'
            ",
    );
    // Expected from ansible-core 2.19.14: names rendered with the play's variables, a
    // notification with the host's (and the item's), a list notifying each; a handler
    // whose name does not render still answers its `listen`; `listen` is not rendered, so
    // `web` finds no handler (ansible-core stops there with an error unless
    // ANSIBLE_ERROR_ON_MISSING_HANDLER=false, with which it was run here; quayside warns).
    let output = test
        .run()
        .success()
        .stdout_contains("RUNNING HANDLER [restart web]")
        .stdout_contains("RUNNING HANDLER [b only]")
        .stdout_contains("[WARNING]: the requested handler `web` was not found")
        .recap_is("a : ok=8 changed=8 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0");
    assert_eq!(
        output.recap("b"),
        "b : ok=7 changed=7 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0"
    );
    assert_eq!(
        files_made(&test),
        [
            "a-first",
            "a-reloaded",
            "a-restarted",
            "a-second",
            "b-only",
            "b-reloaded",
            "b-restarted"
        ]
    );
}

#[test]
fn a_notification_no_rendered_handler_name_answers_is_refused_before_the_run() {
    let test = Test::play_on_two_local_hosts(
        "
            - hosts: a
              gather_facts: false
              handlers:
                - name: 'restart {{ svc }}'
                  command: touch restarted
              tasks:
                - command: touch ran
                  notify: restart api
            ",
    )
    .args(&["-e", "svc=web"]);
    // ansible-core 2.19.14 fails when the task notifies (exit 1); quayside refuses a
    // literal notification before the run, as it does without templates.
    test.refused_before_running(&["error: the requested handler `restart api` was not found at play.yml:8:15 — did you mean `restart web`?",]);
}

#[test]
fn any_errors_fatal_stops_every_host_when_an_include_fails_on_one() {
    for include in [
        "include_tasks: missing.yml",
        "include_tasks: \"{{ 'missing' }}.yml\"",
        "include_role: {name: no-such-role}",
        "include_role: {name: \"{{ 'no-such-role' }}\"}",
    ] {
        let test = Test::play_on_two_local_hosts(&format!(
            "
                    - hosts: all
                      gather_facts: false
                      any_errors_fatal: true
                      tasks:
                        - {include}
                          when: inventory_hostname == 'b'
                        - command: touch {{{{ inventory_hostname }}}}-reached
                    "
        ));
        // Expected from ansible-core 2.19.14: exit 2; `a` skipped the include and runs
        // nothing more, `b` failed it (not counted ok as well).
        let output = test.run().status(2);
        assert_eq!(
            output.recap("a"),
            "a : ok=0 changed=0 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0",
            "{include}"
        );
        assert_eq!(
            output.recap("b"),
            "b : ok=0 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0",
            "{include}"
        );
        assert!(files_made(&test).is_empty(), "{include}");
    }
}

#[test]
fn module_defaults_from_the_play_a_block_a_task_an_include_and_a_role() {
    let test = Test::on_two_local_hosts()
        .file("inc.yml", "- command: pwd\n  register: from_include\n")
        .file(
            "roles/r/tasks/main.yml",
            "- ansible.builtin.command: pwd\n  register: from_role\n",
        )
        .file(
            "play.yml",
            "
            - hosts: a
              gather_facts: false
              module_defaults:
                debug: {msg: from-play}
                ansible.builtin.command: {chdir: /tmp}
                shell: {chdir: /usr, executable: /bin/bash}
              roles: [r]
              tasks:
                - debug:
                  register: d1
                - command: pwd
                  register: c1
                - ansible.builtin.shell: pwd; echo $0
                  register: s1
                - command: pwd
                  args: {chdir: /}
                  register: own
                - block:
                    - debug:
                      register: d2
                    - shell: pwd
                      register: s2
                    - debug:
                      register: d3
                      module_defaults:
                        debug: {msg: 'from-task {{ inventory_hostname }}'}
                  module_defaults:
                    debug: {var: inventory_hostname}
                    shell: {chdir: /}
                - include_tasks: '{{ \"inc.yml\" }}'
                - assert:
                    that:
                      - d1.msg == 'from-play'
                      - c1.stdout == '/tmp'
                      - s1.stdout_lines == ['/usr', '/bin/bash']
                      - own.stdout == '/'
                      - d2.inventory_hostname == 'a'
                      - s2.stdout == '/'
                      - d3.msg == 'from-task a'
                      - from_include.stdout == '/tmp'
                      - from_role.stdout == '/tmp'
            ",
        );
    // Expected from ansible-core 2.19.14: every assertion holds (short and
    // `ansible.builtin.` names alike; a block's entry for `debug` replaces the play's
    // whole, so `msg` and `var` never meet; the task's own arguments win).
    test.run()
        .success()
        .recap_is("a : ok=11 changed=6 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0");
}

/// A play on `a` with `defaults` as its `module_defaults`, a first task that would leave
/// `ran`, then the tasks `more`: refused before the run with `error`.
fn module_defaults_refused(defaults: &str, more: &str, error: &str) {
    Test::play_on_two_local_hosts(&format!(
        "- hosts: a\n  gather_facts: false\n  module_defaults:\n    {defaults}\n  tasks:\n    - command: touch ran\n{more}"
    ))
    .refused_before_running(&[error]);
}

#[test]
fn module_defaults_that_cannot_apply_are_refused_where_they_are_written() {
    for (defaults, error) in [
        (
            "group/ns.coll.cloud: {region: x}",
            "error: `module_defaults` for an action group (`group/ns.coll.cloud`) are not supported at play.yml:4:5",
        ),
        (
            "command: {bogus: 1}",
            "error: unknown argument `bogus` (expected one of `cmd`, `argv`, `chdir`, `creates`, `removes`, `stdin`) at play.yml:4:15",
        ),
        (
            "command: chdir=/tmp",
            "error: the defaults of `command` must be a mapping of its arguments, found a string at play.yml:4:14",
        ),
    ] {
        module_defaults_refused(defaults, "", error);
    }
}

#[test]
fn a_required_argument_left_to_module_defaults_that_give_none_is_refused_where_written() {
    for (defaults, task, error) in [
        (
            "command: {chdir: /tmp}",
            "service:",
            "error: missing argument `name` at play.yml:7:14",
        ),
        // ansible-core 2.19.14 keeps `systemd` and `systemd_service` apart here, and
        // fails the host when the task runs with the same message.
        (
            "systemd: {name: qs-md}",
            "systemd_service: {state: stopped}",
            "error: missing parameter(s) required by 'state': name at play.yml:7:7",
        ),
    ] {
        module_defaults_refused(defaults, &format!("    - {task}\n"), error);
    }
}

#[test]
fn variables_from_an_include_vars_a_template_names_are_not_required_before_the_run() {
    let test = Test::on_two_local_hosts()
        .file("vars/Debian.yml", "svc: ssh\n")
        .file("templates/t.j2", "svc={{ svc }}\n")
        .file(
            "play.yml",
            "
            - hosts: a
              gather_facts: false
              vars:
                distro: Debian
              tasks:
                - include_vars: \"{{ 'vars/' ~ distro ~ '.yml' }}\"
                - command: echo {{ svc }}
                - template: {src: t.j2, dest: '{{ playbook_dir }}/out'}
                - command: echo {{ never_set }}
                - command: touch not-reached
            ",
        );
    // Expected from ansible-core 2.19.14: `svc` is read from the file the template names
    // (in the command and the template file); `never_set` fails its task when it runs
    // ("'never_set' is undefined"): ok=3 changed=2 failed=1, exit 2.
    test.run()
        .status(2)
        .stdout_contains("undefined variable `never_set` at play.yml:9:16")
        .recap_is("a : ok=3 changed=2 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0");
    assert_eq!(
        std::fs::read_to_string(test.path().join("out")).unwrap(),
        "svc=ssh\n"
    );
    assert!(!test.path().join("not-reached").exists());
}

#[test]
fn meta_tasks_show_their_banner_and_the_hosts_their_when_skips() {
    let test = Test::play_on_two_local_hosts(
        "
            - hosts: a
              gather_facts: false
              tasks:
                - name: end nothing
                  meta: end_host
                  when: false
                - name: flush
                  meta: flush_handlers
                - name: nothing
                  meta: noop
                - name: end it
                  meta: end_host
                  when: true
                - command: touch not-reached
            ",
    );
    // Expected from ansible-core 2.19.14 (linear): each banner, `skipping` under the first
    // (not counted: the host has no recap line), nothing under the others.
    let output = test.run().success();
    let stdout = &output.stdout;
    let banners: Vec<&str> = stdout.lines().filter(|l| l.starts_with("TASK [")).collect();
    assert_eq!(banners.len(), 4, "{stdout}");
    for (banner, name) in banners
        .iter()
        .zip(["end nothing", "flush", "nothing", "end it"])
    {
        assert!(banner.starts_with(&format!("TASK [{name}] ")), "{stdout}");
    }
    assert_eq!(stdout.matches("skipping: [a]").count(), 1, "{stdout}");
    assert!(!stdout.contains("a   "), "{stdout}");
    assert!(!test.path().join("not-reached").exists());
}

#[test]
fn a_block_notify_reaches_its_tasks_that_set_none_of_their_own() {
    let test = Test::play_on_two_local_hosts(
        "
            - hosts: a
              gather_facts: false
              tasks:
                - notify: h1
                  block:
                    - command: 'true'
                      changed_when: false
                    - command: 'true'
                      notify: h2
                - notify: h3
                  block:
                    - block:
                        - command: 'true'
              handlers:
                - name: h1
                  command: touch a-h1
                - name: h2
                  command: touch a-h2
                - name: h3
                  command: touch a-h3
            ",
    );
    // Expected from ansible-core 2.19.14: a task's own `notify` wins over its block's (h1
    // never runs: the only task that takes it did not change); a nested block passes its
    // parent's down.
    test.run()
        .success()
        .recap_is("a : ok=5 changed=4 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0");
    assert_eq!(files_made(&test), ["a-h2", "a-h3"]);
}

#[test]
fn a_host_any_errors_fatal_failed_recovers_in_its_rescue() {
    let test = Test::play_on_two_local_hosts(
        "
            - hosts: all
              gather_facts: false
              any_errors_fatal: true
              tasks:
                - block:
                    - fail:
                      when: inventory_hostname == 'a'
                    - command: touch {{ inventory_hostname }}-not-reached
                  rescue:
                    - command: touch {{ inventory_hostname }}-rescued
                - command: touch {{ inventory_hostname }}-recovered
            ",
    );
    // Expected from ansible-core 2.19.14 (as its any_errors_fatal/80981 target): exit 0,
    // both hosts rescued and going on; `a` counts the rescue. (With a later play, which
    // `b` takes no part in, it exits 2: engine.rs's any_errors_fatal test.)
    let output = test
        .run()
        .success()
        .recap_is("a : ok=2 changed=2 unreachable=0 failed=0 skipped=0 rescued=1 ignored=0");
    assert_eq!(
        output.recap("b"),
        "b : ok=2 changed=2 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0"
    );
    assert_eq!(
        files_made(&test),
        ["a-recovered", "a-rescued", "b-recovered", "b-rescued"]
    );
}

#[test]
fn a_notification_finds_handlers_as_ansible_looks_for_them() {
    let test = Test::on_two_local_hosts()
        .file(
            "roles/r/handlers/main.yml",
            "
            - name: h
              command: touch a-role-h
            - name: in role
              command: touch a-role-topic
              listen: topic
            ",
        )
        .file("roles/r/tasks/main.yml", "- command: 'true'\n")
        .file(
            "play.yml",
            "
            - hosts: a
              gather_facts: false
              roles: [r]
              tasks:
                - command: 'true'
                  notify: [h, 'r : topic', dup]
              handlers:
                - name: h
                  command: touch a-play-h
                - name: dup
                  command: touch a-dup-first
                - name: dup
                  command: touch a-dup-second
            ",
        );
    // Expected from ansible-core 2.19.14: the play's handlers are looked through before
    // the roles', each list first to last (the first `dup` runs, the play's `h`); a role's
    // `listen` topic answers to `ROLE : topic`.
    test.run()
        .success()
        .recap_is("a : ok=5 changed=5 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0");
    assert_eq!(
        files_made(&test),
        ["a-dup-first", "a-play-h", "a-role-topic"]
    );
}

#[test]
fn a_handler_name_that_does_not_render_is_a_warning_and_its_notification_too() {
    let test = Test::new().file("hosts.yml", TWO_LOCAL_HOSTS).file(
        "play.yml",
        "
            - hosts: a
              gather_facts: false
              handlers:
                - name: 'restart {{ svc }}'
                  command: touch a-restarted
                - name: plain
                  command: touch a-plain
              tasks:
                - command: 'true'
                  notify: plain
                - command: 'true'
                  notify: restart web
                  tags: [lazy]
            ",
    );
    // Expected from ansible-core 2.19.14 (its handlers/58841 target): `svc` is not set,
    // so the handler is unusable, which is a warning; a notification of it is looked up
    // only when a task notifies (quayside warns where ansible-core stops with exit 1).
    Test::new()
        .args(&["run", "play.yml", "-i", "hosts.yml", "--skip-tags", "lazy"])
        .run_in(test.path())
        .success()
        .stdout_contains("[WARNING]: handler `restart {{ svc }}` is unusable")
        .recap_is("a : ok=2 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0");
    Test::new()
        .args(&["run", "play.yml", "-i", "hosts.yml"])
        .run_in(test.path())
        .success()
        .stdout_contains(
            "[WARNING]: the requested handler `restart web` was not found in either the main \
             handlers list nor in the listening handlers list",
        );
    assert_eq!(files_made(&test), ["a-plain"]);
}

#[test]
fn force_handlers_under_the_free_strategy() {
    let test = Test::play_on_two_local_hosts(
        "
            - hosts: all
              gather_facts: false
              force_handlers: true
              strategy: free
              tasks:
                - command: 'true'
                  notify: h
                - command: 'false'
                  when: inventory_hostname == 'a'
                - debug: msg=after
                - meta: flush_handlers
                - debug: msg=after-flush
              post_tasks:
                - command: 'true'
                  notify: h2
              handlers:
                - name: h
                  command: touch {{ inventory_hostname }}-h
                - name: h2
                  command: touch {{ inventory_hostname }}-h2
            ",
    );
    // Expected from ansible-core 2.19.14: `a` fails, runs `h` at the end of `tasks` and
    // nothing after; `b` runs everything.
    let output = test
        .run()
        .status(2)
        .recap_is("a : ok=2 changed=2 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0");
    assert_eq!(
        output.recap("b"),
        "b : ok=6 changed=4 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0"
    );
    assert_eq!(files_made(&test), ["a-h", "b-h", "b-h2"]);
}

#[test]
fn module_defaults_reach_a_module_of_the_users() {
    let test = Test::on_two_local_hosts()
        .file(
            "library/greet",
            "#!/bin/sh\n. \"$1\"\necho \"{\\\"changed\\\": false, \\\"said\\\": \\\"$word\\\"}\"\n",
        )
        .file(
            "play.yml",
            "
            - hosts: a
              gather_facts: false
              module_defaults:
                greet: {word: hi}
              tasks:
                - greet:
                  register: g
                - greet: {word: own}
                  register: own
                - assert:
                    that:
                      - g.said == 'hi'
                      - own.said == 'own'
            ",
        );
    std::fs::set_permissions(
        test.path().join("library/greet"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    // Expected from ansible-core 2.19.14: ok=3, both assertions hold.
    test.run()
        .success()
        .recap_is("a : ok=3 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0");
}

/// `command` and `shell` register the keys ansible-core's do, `msg: ""` on success among
/// them. Expected from ansible-core 2.19.14 (`register` then `r.keys() | sort`): `changed
/// cmd delta end failed msg rc start stderr stderr_lines stdout stdout_lines` for both, and
/// `msg` `""`; a failing one `non-zero return code`.
#[test]
fn command_and_shell_register_ansible_s_keys_with_an_empty_msg() {
    let output = crate::common::Test::new()
        .file(
            "play.yml",
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: echo hi\n      register: r\n    - shell: echo hi\n      register: s\n    - command: 'false'\n      register: t\n      ignore_errors: true\n    - debug: {msg: \"{{ [r.keys() | sort | join(' '), s.keys() | sort | join(' '), r.msg, s.msg, t.msg] }}\"}\n",
        )
        .args(&["run", "play.yml", "--output", "json"])
        .run()
        .success();
    let keys = "changed cmd delta end failed msg rc start stderr stderr_lines stdout stdout_lines";
    let got = output
        .events()
        .into_iter()
        .find_map(|e| e["output"]["msg"].as_array().cloned())
        .unwrap_or_else(|| panic!("{}", output.stdout));
    assert_eq!(
        serde_json::Value::from(got),
        serde_json::json!([keys, keys, "", "", "non-zero return code"])
    );
}

/// A loop whose every item was skipped shows a line for the host after its items; an
/// empty loop one line; a loop with an item that ran none (expected from ansible-core
/// 2.19.14, the same playbook: these lines, in this order).
#[test]
fn a_loop_that_skipped_every_item_shows_a_skipping_line_after_them() {
    let test = Test::play_on_two_local_hosts(
        r#"
        - hosts: a
          gather_facts: false
          tasks:
            - debug: msg={{ item }}
              loop: [1, 2]
              when: item > 5
            - debug: msg={{ item }}
              loop: [1, 2]
              when: item > 1
            - debug: msg={{ item }}
              loop: []
        "#,
    );
    let output = test.run().success();
    let lines: Vec<&str> = output
        .stdout
        .lines()
        .filter(|line| line.starts_with("skipping:") || line.starts_with("ok:"))
        .collect();
    assert_eq!(
        lines,
        [
            "skipping: [a] => (item=1)",
            "skipping: [a] => (item=2)",
            "skipping: [a]",
            "skipping: [a] => (item=1)",
            "ok: [a] => (item=2) => {",
            "skipping: [a]",
        ]
    );
    assert_eq!(
        output.recap("a"),
        "a : ok=1 changed=0 unreachable=0 failed=0 skipped=2 rescued=0 ignored=0"
    );
}

/// A loop whose failed items are ignored: each item is `failed: [host] (item=...)` with the
/// item in its result, and `...ignoring` comes once, after the last. Expected from
/// ansible-core 2.19.14 on the same play (its recap: ok=1 changed=1 ignored=1).
#[test]
fn a_loops_ignored_failures_are_ignored_once_after_its_items() {
    let output = Test::new()
        .file(
            "play.yml",
            r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - command: "false {{ item }}"
      loop: [a, b]
      ignore_errors: true
"#,
        )
        .args(&["run", "play.yml"])
        .run()
        .success();
    let lines: Vec<&str> = output
        .stdout
        .lines()
        .filter(|line| line.starts_with("failed: ") || line.starts_with("..."))
        .collect();
    assert_eq!(lines.len(), 3, "{}", output.stdout);
    assert!(lines[0].starts_with(r#"failed: [localhost] (item=a) => {"ansible_loop_var": "item", "changed": true, "cmd": ["false", "a"], "#));
    assert!(lines[0].contains(r#""item": "a", "msg": "non-zero return code", "rc": 1, "#));
    assert!(lines[1].starts_with("failed: [localhost] (item=b) => {"));
    assert_eq!(lines[2], "...ignoring");
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=1 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1"
    );
}

/// A handler that notifies an earlier handler, or itself, during a flush runs again at the
/// next flush (after `post_tasks`, even empty), not in the same one, and not after the last
/// (expected from ansible-core 2.19.14, its `handlers` target's
/// `test_handlers_infinite_loop.yml`: ok=7 changed=7).
#[test]
fn a_handler_notified_during_a_flush_after_it_ran_waits_for_the_next_flush() {
    let output = Test::play_on_two_local_hosts(
        r#"
            - hosts: a
              gather_facts: false
              tasks:
                - command: echo
                  notify: [handler1, self_notify]
              handlers:
                - name: handler1
                  debug: {msg: handler1 ran}
                  changed_when: true
                  notify: handler2
                - name: handler2
                  debug: {msg: handler2 ran}
                  changed_when: true
                  notify: handler1
                - name: self_notify
                  debug: {msg: self_notify ran}
                  changed_when: true
                  notify: self_notify
        "#,
    )
    .run()
    .success();
    let handlers: Vec<&str> = output
        .stdout
        .lines()
        .filter_map(|line| line.strip_prefix("RUNNING HANDLER ["))
        .map(|line| line.split(']').next().unwrap_or_default())
        .collect();
    assert_eq!(
        handlers,
        [
            "handler1",
            "handler2",
            "self_notify",
            "handler1",
            "handler2",
            "self_notify"
        ]
    );
    assert_eq!(
        output.recap("a"),
        "a : ok=7 changed=7 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

/// `meta: clear_host_errors`: the failed host stays out of the rest of the play, takes part
/// in the next, and the run no longer fails (the recap still counts the failure);
/// `reset_connection` and `end_batch` (with `serial: 1`, the next batch still runs).
/// Expected from ansible-core 2.19.14: exit 0, the same recaps and messages.
#[test]
fn meta_clear_host_errors_reset_connection_and_end_batch_as_ansible() {
    let output = Test::play_on_two_local_hosts(
        r#"
            - hosts: a,b
              gather_facts: false
              tasks:
                - fail:
                  when: inventory_hostname == "a"
                - meta: clear_host_errors
                - debug: msg=after-clear
                - meta: reset_connection
                - command: echo after-reset
            - hosts: a,b
              gather_facts: false
              serial: 1
              tasks:
                - debug: msg=next-play
                - meta: end_batch
                  when: inventory_hostname == 'a'
                - debug: msg=after-end-batch
        "#,
    )
    .run()
    .success();
    let lines = |text: &str| output.stdout.matches(text).count();
    assert_eq!(lines("\"msg\": \"after-clear\""), 1, "{}", output.stdout);
    assert_eq!(lines("changed: [b]"), 1, "{}", output.stdout);
    assert_eq!(lines("\"msg\": \"next-play\""), 2, "{}", output.stdout);
    // `a`'s batch ended at `end_batch`; `b`'s `when` is false there.
    assert_eq!(
        lines("\"msg\": \"after-end-batch\""),
        1,
        "{}",
        output.stdout
    );
    assert!(
        output
            .stdout
            .contains("ok: [b] => {\n    \"msg\": \"after-end-batch\""),
        "{}",
        output.stdout
    );
    assert_eq!(
        output.recap("a"),
        "a : ok=1 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        output.recap("b"),
        "b : ok=4 changed=1 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0"
    );
}

/// `meta: flush_handlers` written as a handler: ansible-core 2.19.14 runs the play's tasks,
/// then fails when the handler runs, "flush_handlers cannot be used as a handler" (exit 1);
/// quayside refuses it before the run, in those words.
#[test]
fn flush_handlers_as_a_handler_is_refused_before_the_run() {
    Test::play_on_two_local_hosts(
        "
            - hosts: a
              gather_facts: false
              tasks:
                - command: touch ran
                  notify: handler
              handlers:
                - name: handler
                  meta: flush_handlers
            ",
    )
    .refused_before_running(&[
        "error: flush_handlers cannot be used as a handler at play.yml:8:13",
    ]);
}
