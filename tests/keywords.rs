//! Task and play keywords as Ansible has them (issue 18 item 6), each case run with
//! ansible-core 2.19.14 on localhost first: the expectations below are what it printed.

use crate::common::Test;

#[test]
fn every_handler_listening_on_a_topic_runs_in_the_order_written() {
    let test = Test::play_on_two_local_hosts(
        "
            - hosts: a
              gather_facts: false
              tasks:
                - command: 'true'
                  notify: topic
                - command: 'true'
                  notify: second
              handlers:
                - name: h1
                  command: touch h1
                  listen: topic
                - name: second
                  command: touch second
                - name: h3
                  command: touch h3
                  listen: [topic, other]
            ",
    );
    // Expected from ansible-core 2.19.14: h1, second, h3 all run, in that order.
    let output = test
        .run()
        .success()
        .recap_is("a : ok=5 changed=5 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0");
    let h1 = output.stdout.find("RUNNING HANDLER [h1]").unwrap();
    let second = output.stdout.find("RUNNING HANDLER [second]").unwrap();
    let h3 = output.stdout.find("RUNNING HANDLER [h3]").unwrap();
    assert!(h1 < second && second < h3, "{}", output.stdout);
    for file in ["h1", "second", "h3"] {
        assert!(test.path().join(file).exists(), "{file} did not run");
    }
}

#[test]
fn flush_handlers_runs_them_only_where_its_when_holds() {
    let test = Test::play_on_two_local_hosts("
            - hosts: all
              gather_facts: false
              tasks:
                - command: 'true'
                  notify: h
                - meta: flush_handlers
                  when: inventory_hostname == 'a'
                - command: touch after-{{ inventory_hostname }}
              handlers:
                - name: h
                  shell: test -e after-{{ inventory_hostname }} && touch late-{{ inventory_hostname }} || touch early-{{ inventory_hostname }}
            ",
        );
    // Expected from ansible-core 2.19.14: `a` runs the handler at the flush, `b` at the
    // end of the play; both recaps ok=3 changed=3 (the skipped meta is not counted).
    test.run().success().recaps_are(&[
        "a : ok=3 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0",
        "b : ok=3 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0",
    ]);
    assert!(test.path().join("early-a").exists());
    assert!(test.path().join("late-b").exists());
    assert!(!test.path().join("late-a").exists());
    assert!(!test.path().join("early-b").exists());
}

/// An inventory of the fleet's host1 that names no SSH user: the play or task picks it.
fn host1_without_a_user(fleet: &crate::common::fleet::Fleet) -> String {
    host1(fleet, "host_root", &fleet.root(1).display().to_string())
}

/// `play` as `play.yml`, run on [`host1_without_a_user`].
fn on_host1_without_a_user(fleet: &crate::common::fleet::Fleet, play: &str) -> Test {
    Test::new()
        .file("hosts.yml", &host1_without_a_user(fleet))
        .file("play.yml", play)
        .args(&["run", "play.yml", "-i", "hosts.yml"])
}

/// An inventory of the fleet's host1 with one more host variable.
fn host1(fleet: &crate::common::fleet::Fleet, variable: &str, value: &str) -> String {
    format!(
        "
        fleet:
          vars:
            ansible_ssh_private_key_file: {key}
            ansible_ssh_common_args: -o UserKnownHostsFile={known}
          hosts:
            host1:
              ansible_host: 127.0.0.2
              ansible_port: {port}
              {variable}: {value}
        ",
        key = fleet.key().display(),
        known = fleet.known_hosts().display(),
        port = fleet.port,
    )
}

/// A play whose user cannot log in, with a task and a block whose `remote_user` is
/// `remote_user` (the play's `vars` given as `vars`), then a task with none. Expected from
/// ansible-core 2.19.14: the task and the block run as `quayside`; the last task connects
/// as the play's user, who cannot log in (ansible-core exits 4, quayside 3 for
/// unreachable).
fn task_and_block_run_as_quayside(scratch: &str, vars: &str, remote_user: &str) {
    let fleet = crate::common::fleet::fleet();
    let scratch = fleet.scratch(scratch);
    let test = on_host1_without_a_user(
        fleet,
        &format!(
            "
                - hosts: fleet
                  gather_facts: false
                  remote_user: nobody-here
                  vars: {vars}
                  tasks:
                    - shell: id -un > {{{{ host_root }}}}/{scratch}/task
                      remote_user: {remote_user}
                    - block:
                        - shell: id -un > {{{{ host_root }}}}/{scratch}/block
                        - shell: id -un > {{{{ host_root }}}}/{scratch}/again
                      remote_user: {remote_user}
                    - command: touch {{{{ host_root }}}}/{scratch}/play
                "
        ),
    );
    test.run()
        .status(3)
        .recap_is("host1 : ok=3 changed=3 unreachable=1 failed=0 skipped=0 rescued=0 ignored=0");
    for file in ["task", "block", "again"] {
        let who = std::fs::read_to_string(fleet.root(1).join(&scratch).join(file)).unwrap();
        assert_eq!(who, "quayside\n", "{file}");
    }
    assert!(!fleet.root(1).join(&scratch).join("play").exists());
}

#[test]
fn play_user_and_remote_user_pick_the_ssh_user_when_the_host_sets_none() {
    let fleet = crate::common::fleet::fleet();
    let scratch = fleet.scratch("play_user");
    let test = on_host1_without_a_user(
        fleet,
        &format!(
            "
                - hosts: fleet
                  gather_facts: false
                  user: quayside
                  tasks:
                    - shell: id -un > {{{{ host_root }}}}/{scratch}/who
                - hosts: fleet
                  gather_facts: false
                  remote_user: nobody-here
                  tasks:
                    - command: touch {{{{ host_root }}}}/{scratch}/second
                "
        ),
    );
    // Expected from ansible-core 2.19.14: the first play runs as `quayside`; the second
    // play's user cannot log in, so the host is unreachable there (ansible-core exits 4,
    // quayside 3 for unreachable, as README's exit codes say).
    test.run()
        .status(3)
        .recap_is("host1 : ok=1 changed=1 unreachable=1 failed=0 skipped=0 rescued=0 ignored=0");
    let who = std::fs::read_to_string(fleet.root(1).join(&scratch).join("who")).unwrap();
    assert_eq!(who, "quayside\n");
    assert!(!fleet.root(1).join(&scratch).join("second").exists());
}

#[test]
fn task_and_block_remote_user_pick_the_ssh_user_over_the_plays() {
    task_and_block_run_as_quayside("task_user", "{}", "quayside");
}

#[test]
fn a_hosts_ansible_user_wins_over_a_task_remote_user() {
    let fleet = crate::common::fleet::fleet();
    let test = Test::new()
        .file("hosts.yml", &host1(fleet, "ansible_user", "quayside"))
        .file(
            "play.yml",
            "
            - hosts: fleet
              gather_facts: false
              tasks:
                - command: id -un
                  remote_user: nobody-here
                  register: r
                - debug: {msg: '{{ r.stdout }}'}
            ",
        )
        .args(&["run", "play.yml", "-i", "hosts.yml"]);
    // Expected from ansible-core 2.19.14: `"msg": "quayside"`, ok=2 changed=1.
    test.run()
        .success()
        .stdout_contains(r#""msg": "quayside""#)
        .recap_is("host1 : ok=2 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0");
}

#[test]
fn a_templated_task_and_block_remote_user_is_rendered_for_each_host() {
    // Expected from ansible-core 2.19.14 as the same play with the user written out.
    task_and_block_run_as_quayside("templated_user", "{login: quayside}", "'{{ login }}'");
}

#[test]
fn a_templated_remote_user_that_is_undefined_fails_the_host_when_the_task_runs() {
    let test = Test::new()
        .file("hosts", "h1 ansible_connection=local\n")
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              tasks:
                - command: touch first
                  remote_user: '{{ nobody_defined }}'
                  ignore_errors: true
                - command: touch skipped
                  remote_user: '{{ nobody_defined }}'
                  when: false
                - command: touch last
                  remote_user: '{{ nobody_defined }}'
            ",
        )
        .args(&["run", "play.yml", "-i", "hosts"]);
    // Expected from ansible-core 2.19.14: "Error processing keyword 'remote_user':
    // 'nobody_defined' is undefined" on the first task (ignored) and the last, the second
    // skipped; ok=1 failed=1 skipped=1 ignored=1, exit 2.
    test.run()
        .status(2)
        .stdout_contains("undefined variable `nobody_defined` at play.yml:5:20")
        .stdout_contains("undefined variable `nobody_defined` at play.yml:11:20")
        .recap_is("h1 : ok=1 changed=0 unreachable=0 failed=1 skipped=1 rescued=0 ignored=1");
    for file in ["first", "skipped", "last"] {
        assert!(!test.path().join(file).exists(), "{file}");
    }
}

#[test]
fn a_templated_play_user_is_refused_where_it_is_written() {
    let test = Test::play_on_two_local_hosts(
        "- hosts: all\n  user: '{{ who }}'\n  tasks:\n    - command: touch ran\n",
    );
    test.refused_before_running(&[
        "play.yml:2:9",
        "a templated `user` is not supported; write the user name",
    ]);
}

#[test]
fn with_dict_sequence_together_fileglob_and_extended_loops_give_ansibles_items() {
    let test = Test::on_two_local_hosts()
        .file("files/a.conf", "")
        .file("files/b.conf", "")
        .file("files/c.txt", "")
        .file(
            "play.yml",
            "
            - hosts: a
              gather_facts: false
              vars:
                users: {alice: 1, bob: 2}
              tasks:
                - debug: msg=\"{{ item.key }}={{ item.value }}\"
                  with_dict: '{{ users }}'
                - debug: msg=\"{{ item }}\"
                  with_sequence: start=1 end=7 stride=3 format=web%02d
                - debug: msg=\"{{ item }}\"
                  with_sequence: count=2
                - debug: msg=\"{{ item.0 }}-{{ item.1 }}\"
                  with_together:
                    - [x, y, z]
                    - [1, 2]
                - debug: msg=\"{{ item | basename }}\"
                  with_fileglob: '*.conf'
                - debug: msg=\"{{ ansible_loop.index }}/{{ ansible_loop.length }} {{ ansible_loop.first }} {{ ansible_loop.last }} {{ ansible_loop.revindex }} {{ ansible_loop.previtem | default('-') }} {{ ansible_loop.nextitem | default('-') }}\"
                  loop: [p, q, r]
                  loop_control:
                    extended: true
            ",
        );
    let output = test.run().success();
    let messages: Vec<&str> = output
        .stdout
        .lines()
        .filter_map(|line| line.trim().strip_prefix("\"msg\": \""))
        .map(|line| line.trim_end_matches('"'))
        .collect();
    // Expected from ansible-core 2.19.14 (which lists the fileglob matches in directory
    // order; quayside sorts them).
    assert_eq!(
        messages,
        [
            "alice=1",
            "bob=2",
            "web01",
            "web04",
            "web07",
            "1",
            "2",
            "x-1",
            "y-2",
            "z-",
            "a.conf",
            "b.conf",
            "1/3 True False 3 - q",
            "2/3 False False 2 p r",
            "3/3 False True 1 q -",
        ]
    );
    assert_eq!(
        output.recap("a"),
        "a : ok=6 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn two_loop_keywords_on_one_task_are_refused_where_written() {
    let test = Test::play_on_two_local_hosts(
        "- hosts: all\n  tasks:\n    - command: touch ran\n      loop: [1]\n      with_dict: {a: 1}\n",
    );
    test.refused_before_running(&[
        "play.yml:5:7",
        "`with_dict` cannot be combined with `loop`: a task has one loop",
    ]);
}

#[test]
fn a_bad_with_sequence_or_with_dict_fails_the_task_with_where_it_is_written() {
    let test = Test::play_on_two_local_hosts(
        "
            - hosts: a
              gather_facts: false
              tasks:
                - command: touch ran-{{ item }}
                  ignore_errors: true
                  with_dict: [1, 2]
                - command: touch ran-{{ item }}
                  with_sequence: start=5 end=1
            ",
    );
    // Expected from ansible-core 2.19.14: both tasks fail without running anything (the
    // first ignored), exit 2.
    test.run()
        .status(2)
        .stdout_contains("`with_dict` expects a mapping, found a list at play.yml:6:18")
        .stdout_contains(
            "`with_sequence`: to count from 5 to 1, `stride` must be negative at play.yml:8:22",
        )
        .recap_is("a : ok=1 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=1");
    let ran = std::fs::read_dir(test.path())
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("ran"));
    assert!(!ran);
}

#[test]
fn templated_retries_and_delay_are_rendered_when_the_task_runs() {
    let test = Test::play_on_two_local_hosts(
        "
            - hosts: a
              gather_facts: false
              vars:
                tries: 2
                pause: 0
              tasks:
                - shell: echo x >> count; wc -l < count
                  register: r
                  until: r.stdout | int >= 99
                  retries: '{{ tries }}'
                  delay: '{{ pause }}'
                  ignore_errors: true
                - debug: msg=\"attempts={{ r.attempts }}\"
                - command: touch ran
                  until: true
                  retries: \"{{ 'many' }}\"
            ",
    );
    // Expected from ansible-core 2.19.14: three runs, `attempts` 2, then the task whose
    // `retries` is not a number fails without running; exit 2.
    test.run()
        .status(2)
        .stdout_contains("attempts=2")
        .stdout_contains("`retries` must be a number at play.yml:16:16")
        .recap_is("a : ok=2 changed=1 unreachable=0 failed=1 skipped=0 rescued=0 ignored=1");
    let count = std::fs::read_to_string(test.path().join("count")).unwrap();
    assert_eq!(count.lines().count(), 3);
    assert!(!test.path().join("ran").exists());
}

#[test]
fn a_literal_retries_that_is_not_a_number_is_refused_before_the_run() {
    let test = Test::play_on_two_local_hosts(
        "- hosts: all\n  tasks:\n    - command: touch ran\n      until: true\n      retries: many\n",
    );
    test.refused_before_running(&["play.yml:5:16", "expected a whole number, found `many`"]);
}

#[test]
fn local_action_runs_its_task_type_on_the_controller() {
    let fleet = crate::common::fleet::fleet();
    let controller_user = String::from_utf8(
        std::process::Command::new("id")
            .arg("-un")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let test = Test::new()
        .file(
            "play.yml",
            "
            - hosts: host1
              gather_facts: false
              tasks:
                - local_action: command id -un
                  register: local
                  changed_when: false
                - local_action:
                    module: shell
                    cmd: echo {{ inventory_hostname }} > local-map
                - command: id -un
                  register: remote
                  changed_when: false
                - debug: msg=\"local={{ local.stdout }} remote={{ remote.stdout }}\"
            ",
        )
        .args(&["run", "play.yml", "-i", fleet.inventory.to_str().unwrap()]);
    // Expected from ansible-core 2.19.14 (compared on local-connection hosts): both forms
    // run on the controller, as `delegate_to: localhost`.
    test.run()
        .success()
        .stdout_contains(&format!("local={} remote=quayside", controller_user.trim()))
        .recap_is("host1 : ok=4 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0");
    assert_eq!(
        std::fs::read_to_string(test.path().join("local-map")).unwrap(),
        "host1\n"
    );
}

#[test]
fn local_action_with_a_task_type_or_delegate_to_beside_it_is_refused() {
    for (play, at, message) in [
        (
            "- hosts: all\n  tasks:\n    - local_action: command touch ran\n      command: touch ran\n",
            "play.yml:4:7",
            "`local_action` cannot also have a task type (`command`): it names its own",
        ),
        (
            "- hosts: all\n  tasks:\n    - local_action: command touch ran\n      delegate_to: localhost\n",
            "play.yml:4:7",
            "`local_action` runs on localhost already; it cannot have `delegate_to` too",
        ),
        (
            "- hosts: all\n  tasks:\n    - local_action: {cmd: touch ran}\n",
            "play.yml:3:21",
            "`local_action` as a mapping needs `module` (the task type)",
        ),
    ] {
        let test = Test::play_on_two_local_hosts(play);
        test.refused_before_running(&[at, message]);
    }
}

#[test]
fn end_host_ends_only_the_hosts_its_when_holds_for() {
    let test = Test::play_on_two_local_hosts(
        "
            - hosts: all
              gather_facts: false
              tasks:
                - meta: end_host
                  when: inventory_hostname == 'a'
                - command: touch still-{{ inventory_hostname }}
            ",
    );
    // Expected from ansible-core 2.19.14: `a` ends there, `b` carries on.
    test.run()
        .success()
        .recap_is("b : ok=1 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0");
    assert!(test.path().join("still-b").exists());
    assert!(!test.path().join("still-a").exists());
}

#[test]
fn end_play_reads_its_when_for_the_first_host_as_ansible() {
    let test = Test::play_on_two_local_hosts(
        "
            - hosts: all
              gather_facts: false
              tasks:
                - meta: end_play
                  when: inventory_hostname == 'b'
                - command: touch one-{{ inventory_hostname }}
                - meta: end_play
                  when: inventory_hostname == 'a'
                - command: touch two-{{ inventory_hostname }}
            ",
    );
    // Expected from ansible-core 2.19.14: `end_play` runs once, its `when` read for the
    // first host (`a`): the first does not end the play, the second does, for both hosts.
    test.run().success();
    for host in ["a", "b"] {
        assert!(test.path().join(format!("one-{host}")).exists());
        assert!(!test.path().join(format!("two-{host}")).exists());
    }
}

/// A task's `name:` with no value (ansible-core's systemd target writes one): the task is
/// unnamed and titled by its type. Expected from ansible-core 2.19.14: `TASK [debug]`.
#[test]
fn an_empty_task_name_is_no_name_as_ansible() {
    let output = crate::common::Test::new()
        .file(
            "p.yml",
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - name:\n      debug: {msg: hi}\n",
        )
        .args(&["run", "p.yml"])
        .run()
        .success();
    assert!(output.stdout.contains("TASK [debug] ***"));
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=1 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

const ONE_LOCAL_HOST: &str = "
    all:
      vars: {ansible_connection: local}
      hosts:
        a: {}
";

const DIFF_KEYWORD_PLAY: &str = "
    - hosts: a
      gather_facts: false
      tasks:
        - lineinfile: {path: t1, line: one, create: true}
          diff: true
        - lineinfile: {path: t2, line: two, create: true}
        - block:
            - lineinfile: {path: t3, line: three, create: true}
            - lineinfile: {path: t4, line: four, create: true}
              diff: false
          diff: true
    - hosts: a
      gather_facts: false
      diff: true
      tasks:
        - lineinfile: {path: t5, line: five, create: true}
        - lineinfile: {path: t6, line: six, create: true}
          diff: false
";

#[test]
fn the_diff_keyword_on_a_task_block_or_play_overrides_the_diff_flag() {
    // Expected from ansible-core 2.19.14: without `--diff` the diffs of `one`, `three` and
    // `five` are shown; with it `two` as well; `four` and `six` (`diff: false`) never.
    for (flag, shown) in [
        (None, &["one", "three", "five"][..]),
        (Some("--diff"), &["one", "two", "three", "five"][..]),
    ] {
        let mut args = vec!["run", "play.yml", "-i", "hosts.yml"];
        args.extend(flag);
        let output = Test::new()
            .file("hosts.yml", ONE_LOCAL_HOST)
            .file("play.yml", DIFF_KEYWORD_PLAY)
            .args(&args)
            .run()
            .success()
            .recap_is("a : ok=6 changed=6 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0");
        let added: Vec<&str> = output
            .stdout
            .lines()
            .filter_map(|line| line.strip_prefix('+'))
            .filter(|line| !line.starts_with("++"))
            .collect();
        assert_eq!(added, shown, "{flag:?}: {}", output.stdout);
    }
}

#[test]
fn lineinfile_and_blockinfile_register_ansibles_diff_with_contents_only_in_diff_mode() {
    let play = "
        - hosts: a
          gather_facts: false
          tasks:
            - lineinfile: {path: t1, line: one, create: true}
              register: r1
            - lineinfile: {path: t1, line: one}
              register: r2
              diff: true
            - blockinfile: {path: t2, block: one, create: true}
              register: r3
              diff: true
            - debug: {msg: '{{ [r1.diff, r2.diff, r3.diff[0].after] | to_json }}'}
    ";
    // Expected from ansible-core 2.19.14: the diff is always there, a list of the contents
    // and the file attributes; `before`/`after` are empty strings outside diff mode.
    let output = Test::new()
        .file("hosts.yml", ONE_LOCAL_HOST)
        .file("play.yml", play)
        .args(&["run", "play.yml", "-i", "hosts.yml", "-v"])
        .run()
        .success();
    let content = r#"\"before_header\": \"t1 (content)\", \"after_header\": \"t1 (content)\"}"#;
    let attributes = r#"{\"before_header\": \"t1 (file attributes)\", \"after_header\": \"t1 (file attributes)\"}"#;
    let expected = format!(
        r##"[[{{\"before\": \"\", \"after\": \"\", {content}, {attributes}], [{{\"before\": \"one\\n\", \"after\": \"one\\n\", {content}, {attributes}], \"# BEGIN ANSIBLE MANAGED BLOCK\\none\\n# END ANSIBLE MANAGED BLOCK\\n\"]"##
    );
    assert!(output.stdout.contains(&expected), "{}", output.stdout);
    // As Ansible's callback: a result's `diff` is not printed below `-vvv`.
    assert!(!output.stdout.contains("\"diff\""), "{}", output.stdout);
}

#[test]
fn a_diff_keyword_that_is_not_a_boolean_is_refused_before_the_run() {
    let test = Test::new()
        .file("hosts.yml", ONE_LOCAL_HOST)
        .file(
            "play.yml",
            "- hosts: a\n  gather_facts: false\n  tasks:\n    - command: touch ran\n      diff: maybe\n",
        )
        .args(&["run", "play.yml", "-i", "hosts.yml"]);
    test.refused_before_running(&["play.yml:5:13", "expected `true` or `false`, found `maybe`"]);
}

#[test]
fn blockinfile_registers_backup_file_only_when_it_made_one() {
    let play = r#"
        - hosts: a
          gather_facts: false
          tasks:
            - copy: {dest: b1, content: "x\n"}
            - blockinfile: {path: b1, block: one, backup: true}
              register: r1
            - blockinfile: {path: b1, block: two}
              register: r2
            - debug:
                msg: "{{ [r1.backup_file | default('') is match('b1\\.'), 'backup_file' in r2] | to_json }}"
    "#;
    // Expected from ansible-core 2.19.14: `[true, false]`, ok=4 changed=3.
    Test::new()
        .file("hosts.yml", ONE_LOCAL_HOST)
        .file("play.yml", play)
        .args(&["run", "play.yml", "-i", "hosts.yml"])
        .run()
        .success()
        .stdout_contains(r#""msg": "[true, false]""#)
        .recap_is("a : ok=4 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0");
}

#[test]
fn a_meta_task_shows_its_banner_per_host_and_skipping_where_its_when_is_false() {
    let test = Test::play_on_two_local_hosts(
        "
            - hosts: all
              gather_facts: false
              tasks:
                - meta: end_host
                  when: inventory_hostname == 'a'
                - name: flush
                  meta: flush_handlers
                  when: false
                - meta: noop
                  when: false
                - meta: end_play
                  when: false
                - debug: msg=after
            ",
    );
    // Expected from ansible-core 2.19.14: its linear strategy runs a meta task host by
    // host, a banner each, `skipping` where the `when` is false (not counted); `noop`
    // warns that it takes no `when`.
    let output = test.run().success();
    let banner = |name: &str| format!("TASK [{name}] {}\n", "*".repeat(72 - name.len()));
    let expected = format!(
        "{meta}\n{meta}skipping: [b]\n\n{flush}skipping: [b]\n\n{meta}\n{meta}skipping: [b]\n\n",
        meta = banner("meta"),
        flush = banner("flush"),
    );
    let warning = "[WARNING]: noop task does not support when conditional\n";
    let all = format!("{}{}", output.stdout, output.stderr);
    assert!(all.contains(warning), "{all}");
    let shown = output.stdout.replace(warning, "");
    assert!(shown.contains(&expected), "{shown}");
    assert_eq!(
        output.recap("b"),
        "b : ok=1 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}
