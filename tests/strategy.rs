//! `strategy: free` and `host_pinned`: each host goes through the play's tasks on its own.
//! Every expected recap, exit code and line below is ansible-core 2.19.14's on the same
//! playbook and inventory (`ansible-playbook -i hosts.yml play.yml -e dir=...`), unless a
//! test says otherwise. Hosts race under these strategies: where the order of their lines
//! matters, the playbook orders them through files one host leaves and another waits for.
//! Where a host must still be busy when another fails or ends the play (`end_play`, a
//! failed `run_once`), it waits for the file the other leaves just before, then 8 s more:
//! the margin for quayside to read the other's result on a loaded machine.

use crate::common::{Output, Test};

/// Three hosts with a local connection.
const HOSTS: &str = "
    all:
      vars: {ansible_connection: local}
      hosts:
        a: {}
        b: {}
        c: {}
";

/// `sh` that waits (up to 30 s, then fails) for a file in the test's directory.
fn wait_for(file: &str) -> String {
    format!(
        "i=0; while [ ! -e '{{{{ dir }}}}/{file}' ]; do i=$((i+1)); [ $i -lt 300 ] || exit 1; sleep 0.1; done"
    )
}

fn run(test: &Test, extra: &[&str]) -> Output {
    run_with(test, extra, None)
}

/// `quayside run` in the test's directory, with `extra` arguments and a variable set.
fn run_with(test: &Test, extra: &[&str], env: Option<(&str, &str)>) -> Output {
    let dir = format!("dir={}", test.path().display());
    let mut args = vec!["run", "-i", "hosts.yml", "play.yml", "-e", &dir];
    args.extend_from_slice(extra);
    let mut runner = Test::new().args(&args);
    if let Some((key, value)) = env {
        runner = runner.env(key, value);
    }
    runner.run_in(test.path())
}

fn recaps(output: &Output) -> Vec<String> {
    ["a", "b", "c"].iter().map(|h| output.recap(h)).collect()
}

/// The names of the tasks `host` has a result for, in order, from `--output json`.
fn host_tasks(output: &Output, host: &str) -> Vec<String> {
    output
        .events()
        .iter()
        .filter(|e| e["event"] == "host_result" && e["host"] == host)
        .map(|e| e["task"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_slow_host_does_not_hold_back_a_fast_one() {
    // `a`'s first task waits for the file `b`'s second task leaves: under `linear`, `b`
    // would not start its second task before `a` ended its first, and `a` would fail.
    let test = Test::new().file("hosts.yml", HOSTS).file(
        "play.yml",
        &format!(
            "
            - hosts: a:b
              gather_facts: false
              strategy: free
              tasks:
                - name: wait
                  shell: \"[ {{{{ inventory_hostname }}}} = b ] || {{ {wait} ; }}\"
                - name: leave
                  command: touch '{{{{ dir }}}}/{{{{ inventory_hostname }}}}-left'
            ",
            wait = wait_for("b-left")
        ),
    );
    let output = run(&test, &[]).success();
    assert_eq!(
        [output.recap("a"), output.recap("b")],
        [
            "a : ok=2 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0",
            "b : ok=2 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0",
        ]
    );
    assert!(test.path().join("a-left").exists());
}

#[test]
fn a_task_banner_is_shown_again_whenever_the_results_change_task() {
    // Each host waits for the one before it to finish: `a`, then `b`, then `c`.
    let test = Test::new().file("hosts.yml", HOSTS).file(
        "play.yml",
        &format!(
            "
            - hosts: all
              gather_facts: false
              strategy: free
              tasks:
                - name: first
                  shell: \"[ {{{{ inventory_hostname }}}} = a ] || {{ {wait} ; }}\"
                  vars:
                    before: \"{{{{ {{'b': 'a', 'c': 'b'}}[inventory_hostname] | default('') }}}}\"
                - name: second
                  debug: {{msg: hi}}
                  when: inventory_hostname != 'b'
                - name: third
                  command: touch '{{{{ dir }}}}/{{{{ inventory_hostname }}}}-done'
            ",
            wait = wait_for("{{ before }}-done")
        ),
    );
    let output = run(&test, &[]).success();
    let banner = |name: &str| format!("TASK [{name}] {}", "*".repeat(79 - 7 - name.len()));
    let mut expected = String::from("\nPLAY [all] ");
    expected.push_str(&"*".repeat(69));
    expected.push('\n');
    for host in ["a", "b", "c"] {
        expected.push_str(&format!("\n{}\nchanged: [{host}]\n", banner("first")));
        if host == "b" {
            expected.push_str(&format!("\n{}\nskipping: [b]\n", banner("second")));
        } else {
            expected.push_str(&format!(
                "\n{}\nok: [{host}] => {{\n    \"msg\": \"hi\"\n}}\n",
                banner("second")
            ));
        }
        expected.push_str(&format!("\n{}\nchanged: [{host}]\n", banner("third")));
    }
    assert!(
        output.stdout.starts_with(&expected),
        "expected:\n{expected}\ngot:\n{}",
        output.stdout
    );
    assert_eq!(
        recaps(&output),
        [
            "a : ok=3 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0",
            "b : ok=2 changed=2 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0",
            "c : ok=3 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0",
        ]
    );
}

/// Two tasks on three hosts with one fork: the hosts' lines in the order they come.
fn one_fork(strategy: &str) -> String {
    let test = Test::new().file("hosts.yml", HOSTS).file(
        "play.yml",
        &format!(
            "
            - hosts: all
              gather_facts: false
              strategy: {strategy}
              tasks:
                - name: one
                  command: 'true'
                - name: two
                  command: 'true'
            "
        ),
    );
    let output = run(&test, &["--forks", "1"]).success();
    output
        .stdout
        .lines()
        .filter(|line| line.starts_with("TASK") || line.starts_with("changed"))
        .map(|line| line.trim_end_matches([' ', '*']))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn free_hosts_take_turns_for_forks_and_host_pinned_keeps_one_per_host() {
    assert_eq!(
        one_fork("free"),
        "TASK [one]\nchanged: [a]\nchanged: [b]\nchanged: [c]\n\
         TASK [two]\nchanged: [a]\nchanged: [b]\nchanged: [c]"
    );
    assert_eq!(
        one_fork("host_pinned"),
        "TASK [one]\nchanged: [a]\nTASK [two]\nchanged: [a]\n\
         TASK [one]\nchanged: [b]\nTASK [two]\nchanged: [b]\n\
         TASK [one]\nchanged: [c]\nTASK [two]\nchanged: [c]"
    );
}

#[test]
fn each_host_runs_its_handlers_when_it_reaches_the_flush() {
    // `b` waits for the handler `a` runs at the end of its tasks: under `linear`, handlers
    // run once every host has done its tasks, and `b` would fail.
    let test = Test::new().file("hosts.yml", HOSTS).file(
        "play.yml",
        &format!(
            "
            - hosts: a:b
              gather_facts: false
              strategy: free
              tasks:
                - shell: \"[ {{{{ inventory_hostname }}}} = a ] || {{ {wait} ; }}\"
                  notify: h1
                - name: mid
                  debug: {{msg: mid}}
                - meta: flush_handlers
                - name: last
                  command: 'true'
                  notify: h2
              handlers:
                - name: h1
                  debug: {{msg: h1}}
                - name: h2
                  command: touch '{{{{ dir }}}}/{{{{ inventory_hostname }}}}-h2'
            ",
            wait = wait_for("a-h2")
        ),
    );
    let output = run(&test, &["--output", "json"]).success();
    for host in ["a", "b"] {
        assert_eq!(
            host_tasks(&output, host),
            ["shell", "mid", "h1", "last", "h2"],
            "{host}"
        );
    }
    let human = run(&test, &[]).success();
    assert_eq!(
        [human.recap("a"), human.recap("b")],
        [
            "a : ok=5 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0",
            "b : ok=5 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0",
        ]
    );
}

const WARN_RUN_ONCE: &str = "[WARNING]: Using run_once with the free strategy is not currently \
                             supported. This task will still be executed for every host in the \
                             inventory list.";

#[test]
fn run_once_runs_on_every_host_with_ansible_core_s_warning() {
    let test = Test::new().file("hosts.yml", HOSTS).file(
        "play.yml",
        "
        - hosts: all
          gather_facts: false
          strategy: free
          tasks:
            - name: once
              command: touch '{{ dir }}/{{ inventory_hostname }}-once'
              run_once: true
        ",
    );
    let output = run(&test, &[]).success();
    assert_eq!(output.stdout.matches(WARN_RUN_ONCE).count(), 1);
    // Printed when the first host reaches the task, before its banner.
    assert!(
        output
            .stdout
            .contains(&format!("{WARN_RUN_ONCE}\n\nTASK [once] ***")),
        "{}",
        output.stdout
    );
    for host in ["a", "b", "c"] {
        assert!(test.path().join(format!("{host}-once")).exists(), "{host}");
        assert_eq!(
            output.recap(host),
            format!("{host} : ok=1 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0")
        );
    }
}

#[test]
fn a_failed_run_once_task_fails_every_host_of_the_play() {
    // `a` and `c` are busy until `b` has failed its `run_once` task, then stop; no host
    // runs the second play.
    let test = Test::new().file("hosts.yml", HOSTS).file(
        "play.yml",
        &format!(
            "
            - hosts: all
              gather_facts: false
              strategy: free
              tasks:
                - name: first
                  shell: \"[ {{{{ inventory_hostname }}}} = b ] || {{ {wait} ; sleep 8 ; }}\"
                - name: once
                  shell: touch '{{{{ dir }}}}/go'; exit 1
                  when: inventory_hostname == 'b'
                  run_once: true
                - name: after
                  command: touch '{{{{ dir }}}}/{{{{ inventory_hostname }}}}-after'
            - hosts: all
              gather_facts: false
              tasks:
                - command: touch '{{{{ dir }}}}/next'
            ",
            wait = wait_for("go")
        ),
    );
    let output = run(&test, &[]).status(2);
    assert_eq!(
        recaps(&output),
        [
            "a : ok=1 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0",
            "b : ok=1 changed=1 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0",
            "c : ok=1 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0",
        ]
    );
    assert!(!test.path().join("a-after").exists());
    assert!(!test.path().join("c-after").exists());
    assert!(!test.path().join("next").exists());
}

#[test]
fn any_errors_fatal_and_max_fail_percentage_are_ignored_with_a_warning() {
    let test = Test::new().file("hosts.yml", HOSTS).file(
        "play.yml",
        "
        - hosts: all
          gather_facts: false
          strategy: free
          any_errors_fatal: true
          max_fail_percentage: 10
          tasks:
            - name: fail b
              fail: {msg: boom}
              when: inventory_hostname == 'b'
            - name: after
              command: 'true'
        - hosts: all
          gather_facts: false
          tasks:
            - command: touch '{{ dir }}/{{ inventory_hostname }}-next'
        ",
    );
    let output = run(&test, &[]).status(2);
    for warning in [
        "[WARNING]: Using any_errors_fatal with the free strategy is not supported, as tasks \
         are executed independently on each host\n",
        "[WARNING]: Using max_fail_percentage with the free strategy is not supported, as tasks \
         are executed independently on each host\n",
    ] {
        assert_eq!(output.stdout.matches(warning).count(), 1, "{warning}");
    }
    assert_eq!(
        recaps(&output),
        [
            "a : ok=2 changed=2 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0",
            "b : ok=0 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0",
            "c : ok=2 changed=2 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0",
        ]
    );
    assert!(test.path().join("a-next").exists());
    assert!(!test.path().join("b-next").exists());
}

#[test]
fn end_play_ends_the_play_for_every_host_at_its_next_task() {
    // `a` is in `after` and `c` in `first` when `b` ends the play: both finish that task
    // and run no other; every host runs the next play.
    let test = Test::new().file("hosts.yml", HOSTS).file(
        "play.yml",
        &format!(
            "
            - hosts: all
              gather_facts: false
              strategy: free
              tasks:
                - name: first
                  shell: \"[ {{{{ inventory_hostname }}}} != c ] || {{ {wait} ; sleep 8 ; }}\"
                - name: mark
                  command: touch '{{{{ dir }}}}/b-ending'
                  when: inventory_hostname == 'b'
                - name: endit
                  meta: end_play
                  when: inventory_hostname == 'b'
                - name: after
                  shell: \"{wait} ; sleep 8\"
                - name: last
                  command: touch '{{{{ dir }}}}/{{{{ inventory_hostname }}}}-last'
            - hosts: all
              gather_facts: false
              tasks:
                - command: 'true'
            ",
            wait = wait_for("b-ending")
        ),
    );
    let output = run(&test, &[]).success();
    assert_eq!(
        recaps(&output),
        [
            "a : ok=3 changed=3 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0",
            "b : ok=3 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0",
            "c : ok=2 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0",
        ]
    );
    assert!(output.stdout.contains("TASK [endit] ****"));
    assert!(output.stdout.contains("\nskipping: [a]\n"));
    for host in ["a", "b", "c"] {
        assert!(!test.path().join(format!("{host}-last")).exists(), "{host}");
    }
}

#[test]
fn end_host_ends_one_host_which_runs_the_next_play() {
    let test = Test::new().file("hosts.yml", HOSTS).file(
        "play.yml",
        "
        - hosts: all
          gather_facts: false
          strategy: free
          tasks:
            - name: endit
              meta: end_host
              when: inventory_hostname == 'b'
            - name: after
              command: touch '{{ dir }}/{{ inventory_hostname }}-after'
        - hosts: all
          gather_facts: false
          tasks:
            - command: 'true'
        ",
    );
    let output = run(&test, &[]).success();
    assert_eq!(
        recaps(&output),
        [
            "a : ok=2 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0",
            "b : ok=1 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0",
            "c : ok=2 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0",
        ]
    );
    assert!(!test.path().join("b-after").exists());
    assert_eq!(output.stdout.matches("skipping: [").count(), 2);
}

#[test]
fn a_host_that_ended_a_linear_play_runs_the_next_one() {
    let test = Test::new().file("hosts.yml", HOSTS).file(
        "play.yml",
        "
        - hosts: all
          gather_facts: false
          tasks:
            - meta: end_host
              when: inventory_hostname == 'b'
        - hosts: all
          gather_facts: false
          tasks:
            - command: 'true'
        ",
    );
    let output = run(&test, &[]).success();
    assert_eq!(
        output.recap("b"),
        "b : ok=1 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn serial_batches_blocks_includes_and_facts_run_per_host() {
    let test = Test::new()
        .file("hosts.yml", HOSTS)
        .file("inc.yml", "- name: inc\n  command: 'true'\n")
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: true
              gather_subset: [min]
              strategy: free
              serial: 2
              tasks:
                - command: touch '{{ dir }}/{{ inventory_hostname }}-{{ ansible_play_batch | join(\"\") }}'
                - block:
                    - name: inblock
                      fail: {msg: x}
                      when: inventory_hostname == 'a'
                  rescue:
                    - name: rescuer
                      debug: {msg: rescued}
                  always:
                    - name: alw
                      debug: {msg: always}
                - include_tasks: inc.yml
            ",
        );
    let output = run(&test, &[]).success();
    assert_eq!(
        recaps(&output),
        [
            "a : ok=6 changed=2 unreachable=0 failed=0 skipped=0 rescued=1 ignored=0",
            "b : ok=5 changed=2 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0",
            "c : ok=5 changed=2 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0",
        ]
    );
    for file in ["a-ab", "b-ab", "c-c"] {
        assert!(test.path().join(file).exists(), "{file}");
    }
    assert_eq!(output.stdout.matches("included: ").count(), 3);
}

#[test]
fn ansible_cfg_and_ansible_strategy_name_the_default_strategy() {
    let test = Test::new()
        .file("hosts.yml", HOSTS)
        .file("ansible.cfg", "[defaults]\nstrategy = host_pinned\n")
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              tasks:
                - name: one
                  command: 'true'
                - name: two
                  command: 'true'
            ",
        );
    let output = run(&test, &["--forks", "1"]).success();
    assert_eq!(output.stdout.matches("TASK [one]").count(), 3);
    let linear = Test::new()
        .file("hosts.yml", HOSTS)
        .file("ansible.cfg", "[defaults]\nstrategy = host_pinned\n")
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              tasks:
                - name: one
                  command: 'true'
            ",
        );
    let output = run_with(
        &linear,
        &["--forks", "1"],
        Some(("ANSIBLE_STRATEGY", "linear")),
    )
    .success();
    assert_eq!(output.stdout.matches("TASK [one]").count(), 1);
}

/// A play with `strategy` line `strategy` and a first task that leaves a file: refused
/// with `error` (exit `code`), and nothing ran.
fn refused(strategy: &str, task: &str, extra: &[&str], env: Option<(&str, &str)>) -> Output {
    let test = Test::new().file("hosts.yml", HOSTS).file(
        "play.yml",
        &format!(
            "
            - hosts: all
              gather_facts: false
              {strategy}
              tasks:
                - name: first
                  command: touch '{{{{ dir }}}}/ran'
                - {task}
            "
        ),
    );
    let output = run_with(&test, extra, env);
    assert!(!test.path().join("ran").exists(), "a task ran");
    output
}

#[test]
fn an_unknown_or_templated_strategy_is_refused_where_it_is_written() {
    // ansible-core 2.19.14: `[ERROR]: Invalid play strategy specified: bogus`, exit 1.
    let output = refused("strategy: bogus", "debug: {}", &[], None).status(4);
    assert_eq!(
        output.stderr.lines().next().unwrap_or_default(),
        "error: invalid play strategy `bogus` at play.yml:3:13"
    );
    let output = refused("strategy: '{{ s }}'", "debug: {}", &[], None).status(4);
    assert_eq!(
        output.stderr.lines().next().unwrap_or_default(),
        "error: a templated `strategy` is not supported; write `linear`, `free` or \
         `host_pinned` at play.yml:3:13"
    );
    let output = refused("", "debug: {}", &[], Some(("ANSIBLE_STRATEGY", "bogus"))).status(5);
    assert!(
        output.stderr.starts_with(
            "error: setting `strategy` from `env: ANSIBLE_STRATEGY` has an invalid value: \
             expected `linear`, `free` or `host_pinned`, found `bogus`"
        ),
        "{}",
        output.stderr
    );
}

#[test]
fn step_and_start_at_task_are_refused_under_free() {
    let output = refused("strategy: free", "debug: {}", &["--step"], None).status(5);
    assert_eq!(
        output.stderr.lines().next().unwrap_or_default(),
        "error: --step cannot be used with a play whose strategy is `free` at play.yml:3:13"
    );
    let output = refused(
        "",
        "debug: {}",
        &["--start-at-task", "first"],
        Some(("ANSIBLE_STRATEGY", "host_pinned")),
    )
    .status(5);
    assert_eq!(
        output.stderr.lines().next().unwrap_or_default(),
        "error: --start-at-task cannot be used with a play whose strategy is `host_pinned` \
         (from ansible.cfg or ANSIBLE_STRATEGY) at play.yml:1:3"
    );
}

#[test]
fn a_task_type_that_acts_on_every_host_at_once_is_refused_under_free() {
    let output = refused(
        "strategy: free",
        "config_bundle: {dest: /tmp/x, files: [{name: a.yaml, content: 'a: 1'}]}",
        &[],
        None,
    )
    .status(4);
    assert_eq!(
        output.stderr.lines().next().unwrap_or_default(),
        "error: `config_bundle` cannot run in a play whose strategy is `free`: it acts on \
         every host of the batch at once, and under `free` each host goes through the tasks \
         on its own at play.yml:7:7"
    );
}

#[test]
fn same_on_all_hosts_is_refused_under_free() {
    let output = refused(
        "strategy: free",
        "template_config: {src: a.j2, dest: /tmp/a, same_on_all_hosts: true}",
        &[],
        None,
    )
    .status(4);
    assert_eq!(
        output.stderr.lines().next().unwrap_or_default(),
        "error: `same_on_all_hosts` cannot be used in a play whose strategy is `free`: it \
         compares every host's rendering before any host goes on, and under `free` each host \
         goes through the tasks on its own at play.yml:7:69"
    );
}

#[test]
fn a_bundle_in_a_file_included_under_free_fails_on_every_host() {
    // quayside's own task type: no ansible-core counterpart. A file named without a
    // template is read, and the bundle in it refused, before the run.
    let test = Test::new()
        .file("hosts.yml", HOSTS)
        .file(
            "bundle.yml",
            "- config_bundle:\n    dest: '{{ dir }}/{{ inventory_hostname }}'\n    files: [{name: a.yaml, content: 'a: 1'}]\n",
        )
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              strategy: free
              tasks:
                - include_tasks: \"{{ 'bundle' }}.yml\"
                - command: touch '{{ dir }}/{{ inventory_hostname }}-after'
            ",
        );
    let output = run(&test, &[]).status(2);
    assert_eq!(
        output
            .stdout
            .matches(
                "\"msg\": \"`config_bundle` cannot run in a play whose strategy is `free`: it \
                 acts on every host of the batch at once",
            )
            .count(),
        3,
        "{}",
        output.stdout
    );
    for host in ["a", "b", "c"] {
        assert!(!test.path().join(host).exists(), "{host}");
        assert!(
            !test.path().join(format!("{host}-after")).exists(),
            "{host}"
        );
        assert_eq!(
            output.recap(host),
            format!("{host} : ok=1 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0")
        );
    }
}

#[test]
fn end_play_ends_the_later_batches_of_serial_too() {
    for strategy in ["free", "linear"] {
        let test = Test::new().file("hosts.yml", HOSTS).file(
            "play.yml",
            &format!(
                "
                - hosts: all
                  gather_facts: false
                  strategy: {strategy}
                  serial: 1
                  tasks:
                    - meta: end_play
                      when: inventory_hostname == 'a'
                    - command: touch '{{{{ dir }}}}/{{{{ inventory_hostname }}}}'
                "
            ),
        );
        let output = run(&test, &[]).success();
        if strategy == "free" {
            assert_eq!(
                output.stdout,
                format!(
                    "\nPLAY [all] {}\n\nPLAY RECAP {}\n",
                    "*".repeat(69),
                    "*".repeat(69)
                )
            );
        }
        for host in ["a", "b", "c"] {
            assert!(!test.path().join(host).exists(), "{strategy}: {host}");
        }
    }
}
