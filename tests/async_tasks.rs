//! The `async` and `poll` task keywords and `async_status`: a task's scripts run in the
//! background on the host, as jobs under `~/.ansible_async` (or `ANSIBLE_ASYNC_DIR`).
//! Each expectation was taken from ansible-core 2.19.14 on the same playbook.

use std::path::Path;
use std::time::Duration;

use crate::common::Test;

const LOCAL: &str = "all:\n  hosts:\n    testhost: {ansible_connection: local}\n";

/// A test whose jobs go to `jobs/` in its own directory.
fn local(play: &str) -> Test {
    let test = Test::new()
        .file("hosts.yml", LOCAL)
        .file("play.yml", play)
        .args(&["run", "play.yml", "-i", "hosts.yml"]);
    let jobs = test.path().join("jobs").display().to_string();
    test.env("ANSIBLE_ASYNC_DIR", &jobs)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn job_files(test: &Test) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(test.path().join("jobs"))
        .map(|dir| {
            dir.map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn poll_above_zero_waits_and_registers_the_result_with_the_job_keys() {
    let test = local(
        "
        - hosts: testhost
          gather_facts: false
          tasks:
            - shell: sleep 2; touch made; echo hi
              async: 10
              poll: 1
              register: r
            - command: touch plain
            - copy:
                content: \"{{ r | list | sort | join(' ') }}\\n{{ r.stdout }} {{ r.rc }} {{ r.started }} {{ r.finished }} {{ r.ansible_job_id is match('j[0-9]{12}[.][0-9]+$') }} {{ r.results_file == lookup('env', 'ANSIBLE_ASYNC_DIR') ~ '/' ~ r.ansible_job_id }}\\n\"
                dest: result
        ",
    );
    let output = test.run().success();
    assert_eq!(
        output.recap("testhost"),
        "testhost : ok=3 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    // The job runs with the host's umask, not the job files' own.
    use std::os::unix::fs::PermissionsExt;
    let mode = |name: &str| {
        std::fs::metadata(test.path().join(name))
            .unwrap()
            .permissions()
            .mode()
    };
    assert_eq!(mode("made"), mode("plain"));
    // ansible-playbook's lines while it looks (the job runs 2 s, looked at each second).
    let jid = output
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("ASYNC OK on testhost: jid="))
        .unwrap_or_else(|| panic!("no ASYNC OK line:\n{}", output.stdout))
        .to_owned();
    assert!(
        output.stdout.contains(&format!(
            "ASYNC POLL on testhost: jid={jid} started=True finished=False\nASYNC OK on testhost: jid={jid}\nchanged: [testhost]\n"
        )),
        "{}",
        output.stdout
    );
    // ansible-core's keys, `msg` (`""`) among them.
    assert_eq!(
        read(&test.path().join("result")),
        "ansible_job_id changed cmd delta end failed finished msg rc results_file start started \
         stderr stderr_lines stdout stdout_lines\nhi 0 True True True True\n"
    );
    // As ansible-core: a job the task waited for leaves no file behind.
    assert_eq!(job_files(&test), Vec::<String>::new());
}

#[test]
fn a_job_past_its_async_seconds_is_killed_and_fails_with_ansibles_message() {
    let test = local(
        "
        - hosts: testhost
          gather_facts: false
          tasks:
            - shell: sleep 4; touch late
              async: 1
              poll: 3
            - command: touch after
        ",
    );
    let output = test
        .run()
        .status(2)
        .stdout_contains("ASYNC FAILED on testhost: jid=j")
        .stdout_contains("\"msg\": \"Timeout exceeded\"")
        .stdout_contains("\"finished\": true")
        .stdout_contains("\"child_pid\": ");
    assert_eq!(
        output.recap("testhost"),
        "testhost : ok=0 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0"
    );
    // The job was killed at its time limit: what it would have done later never happens.
    std::thread::sleep(Duration::from_secs(2));
    assert!(!test.path().join("late").exists());
    assert!(!test.path().join("after").exists());
}

#[test]
fn poll_zero_returns_at_once_and_async_status_until_finished_reads_the_result() {
    let test = local(
        "
        - hosts: testhost
          gather_facts: false
          tasks:
            - shell: sleep 5; echo out; echo err >&2; exit 3
              async: 20
              poll: 0
              register: job
            - copy:
                content: \"{{ job | list | sort | join(' ') }} {{ job.changed }} {{ job.finished }}\\n\"
                dest: started
            - async_status:
                jid: \"{{ job.ansible_job_id }}\"
              register: first
            - async_status: jid={{ job.ansible_job_id }}
              register: done
              until: done.finished
              retries: 15
              delay: 1
              ignore_errors: true
            - copy:
                content: \"{{ first.finished }} {{ first.changed }} {{ first.stdout == '' }}\\n{{ done.stdout }}|{{ done.stderr }}|{{ done.rc }}|{{ done.msg }}|{{ done.changed }}|{{ done.cmd }}\\n\"
                dest: result
        ",
    );
    let output = test.run().success();
    assert_eq!(
        output.recap("testhost"),
        "testhost : ok=5 changed=4 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1"
    );
    assert_eq!(
        read(&test.path().join("started")),
        "ansible_job_id changed failed finished results_file started True False\n"
    );
    assert_eq!(
        read(&test.path().join("result")),
        "False False True\nout|err|3|non-zero return code|True|sleep 5; echo out; echo err >&2; exit 3\n"
    );
    // A job nobody waited for keeps its files until `mode: cleanup` (ansible-core keeps
    // one, quayside three: the status line, the output and the errors).
    let files = job_files(&test);
    assert_eq!(files.len(), 3, "{files:?}");
    // The user's alone: a job's script and input may hold a password.
    use std::os::unix::fs::PermissionsExt;
    for name in &files {
        let mode = std::fs::metadata(test.path().join("jobs").join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
}

#[test]
fn async_status_cleanup_removes_the_job_and_registers_erased() {
    let test = local(
        "
        - hosts: testhost
          gather_facts: false
          tasks:
            - command: echo hi
              async: 20
              poll: 0
              register: job
            - async_status: jid={{ job.ansible_job_id }}
              register: done
              until: done.finished
              retries: 10
              delay: 1
            - async_status:
                jid: \"{{ job.ansible_job_id }}\"
                mode: cleanup
              register: gone
            - copy:
                content: \"{{ gone | list | sort | join(' ') }}\\n{{ gone.erased == job.results_file }} {{ gone.started }} {{ gone.finished }} {{ gone.changed }}\\n\"
                dest: result
        ",
    );
    let output = test.run().success();
    assert_eq!(
        output.recap("testhost"),
        "testhost : ok=4 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        read(&test.path().join("result")),
        "ansible_job_id changed erased failed finished started stderr stderr_lines stdout \
         stdout_lines\nTrue False False False\n"
    );
    assert_eq!(job_files(&test), Vec::<String>::new());
}

#[test]
fn async_status_of_a_job_that_does_not_exist_fails_with_could_not_find_job() {
    let test = local(
        "
        - hosts: testhost
          gather_facts: false
          tasks:
            - async_status: jid=12345.678
            - command: touch after
        ",
    );
    let output = test
        .run()
        .status(2)
        .stdout_contains("\"msg\": \"could not find job\"")
        .stdout_contains("\"ansible_job_id\": \"12345.678\"");
    assert_eq!(
        output.recap("testhost"),
        "testhost : ok=0 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0"
    );
    assert!(!test.path().join("after").exists());
}

#[test]
fn a_task_type_whose_ansible_action_refuses_async_fails_as_ansible_core_does() {
    let test = local(
        "
        - hosts: testhost
          gather_facts: false
          tasks:
            - debug: msg=hi
              async: 10
              poll: 1
              ignore_errors: true
            - set_fact: a=1
              async: 10
              poll: 0
        ",
    );
    let output = test
        .run()
        .status(2)
        .stdout_contains("This action (debug) does not support async.")
        .stdout_contains("This action (set_fact) does not support async.");
    assert_eq!(
        output.recap("testhost"),
        "testhost : ok=1 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=1"
    );
}

#[test]
fn async_on_a_type_quayside_cannot_run_in_the_background_is_refused_before_the_run() {
    let test = local(
        "
        - hosts: testhost
          gather_facts: false
          tasks:
            - command: touch ran
            - lineinfile:
                path: f
                line: x
              async: 10
        ",
    );
    test.run()
        .status(4)
        .stderr_contains("play.yml:8:7")
        .stderr_contains(
            "`async` is not supported for `lineinfile` tasks: quayside cannot run them in the background",
        );
    assert!(!test.path().join("ran").exists());
}

#[test]
fn async_on_a_block_or_an_include_is_refused_as_ansible_core_refuses_it() {
    let test = local(
        "
        - hosts: testhost
          gather_facts: false
          tasks:
            - command: touch ran
            - block:
                - command: echo hi
              async: 10
        ",
    );
    test.run()
        .status(4)
        .stderr_contains("play.yml:7:7")
        .stderr_contains("'async' is not a valid attribute for a Block");
    assert!(!test.path().join("ran").exists());
    let test = local(
        "
        - hosts: testhost
          gather_facts: false
          tasks:
            - command: touch ran
            - include_tasks: other.yml
              poll: 0
        ",
    )
    .file("other.yml", "- command: echo hi\n");
    test.run()
        .status(4)
        .stderr_contains("play.yml:6:7")
        .stderr_contains("'poll' is not a valid attribute for a TaskInclude");
    assert!(!test.path().join("ran").exists());
}

/// ansible-core fails the task when it runs ("Error processing keyword 'async_val'");
/// quayside refuses a literal that is not a number before anything runs.
#[test]
fn an_async_that_is_not_a_number_is_refused_where_written() {
    let test = local(
        "
        - hosts: testhost
          gather_facts: false
          tasks:
            - command: touch ran
            - command: echo hi
              async: soon
        ",
    );
    test.run()
        .status(4)
        .stderr_contains("expected a whole number, found `soon` at play.yml:6:14");
    assert!(!test.path().join("ran").exists());
}

/// On the fleet: the job lands in the SSH user's own `~/.ansible_async`, and goes on after
/// quayside has exited.
#[test]
fn a_poll_zero_job_on_a_fleet_host_runs_on_after_quayside_exits() {
    let fleet = crate::common::fleet::fleet();
    let scratch = fleet.scratch("async_after_exit");
    let test = Test::new().file(
        "play.yml",
        &format!(
            "
            - hosts: host1
              gather_facts: false
              tasks:
                - shell: sleep 3; echo late > {{{{ host_root }}}}/{scratch}/late
                  async: 30
                  poll: 0
                  register: job
                - copy:
                    content: \"{{{{ job.results_file }}}}\"
                    dest: \"{{{{ host_root }}}}/{scratch}/results_file\"
            "
        ),
    );
    let output = crate::common::fleet::run_play(&test, "host1", &[]).success();
    assert_eq!(
        output.recap("host1"),
        "host1 : ok=2 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    let dir = fleet.root(1).join(&scratch);
    assert!(
        !dir.join("late").exists(),
        "the job ran before quayside left"
    );
    let results_file = read(&dir.join("results_file"));
    let home = read(Path::new("/etc/passwd"))
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields[0] == "quayside").then(|| fields[5].to_owned())
        })
        .unwrap();
    assert!(
        results_file.starts_with(&format!("{home}/.ansible_async/j")),
        "{results_file}"
    );
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(read(&dir.join("late")), "late\n");
    let status: serde_json::Value = serde_json::from_str(&read(Path::new(&results_file))).unwrap();
    assert_eq!(status["finished"], 1);
    assert_eq!(status["rc"], 0);
    for suffix in ["", ".out", ".err"] {
        let _ = std::fs::remove_file(format!("{results_file}{suffix}"));
    }
}

#[test]
fn a_loop_of_poll_zero_jobs_is_waited_for_item_by_item_with_async_status() {
    let test = local(
        "
        - hosts: testhost
          gather_facts: false
          tasks:
            - shell: sleep {{ item }}; echo {{ item }}
              async: 30
              poll: 0
              loop: [1, 2]
              register: jobs
            - async_status:
                jid: \"{{ item.ansible_job_id }}\"
              loop: \"{{ jobs.results }}\"
              loop_control:
                label: \"{{ item.item }}\"
              register: done
              until: done.finished
              retries: 10
              delay: 1
            - copy:
                content: \"{{ done.results | map(attribute='stdout') | join(',') }} {{ jobs.results | map(attribute='finished') | join(',') }} {{ jobs.changed }}\\n\"
                dest: result
        ",
    );
    let output = test
        .run()
        .success()
        .stdout_contains("changed: [testhost] => (item=1)\nchanged: [testhost] => (item=2)\n");
    assert_eq!(
        output.recap("testhost"),
        "testhost : ok=3 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(read(&test.path().join("result")), "1,2 False,False True\n");
}

/// ansible-core runs the job in check mode: the task type only looks, in the background
/// (the same recap and `ASYNC OK` lines from ansible-core 2.19.14).
#[test]
fn in_check_mode_the_job_only_looks() {
    let test = local(
        "
        - hosts: testhost
          gather_facts: false
          tasks:
            - command: touch ran
              async: 10
              poll: 1
            - file: path=touched state=touch
              async: 10
              poll: 0
            - file: path=touched_too state=touch
              async: 10
              poll: 1
        ",
    )
    .args(&["--check"]);
    let output = test.run().success().stdout_contains("skipping: [testhost]");
    assert_eq!(
        output.recap("testhost"),
        "testhost : ok=2 changed=2 unreachable=0 failed=0 skipped=1 rescued=0 ignored=0"
    );
    assert_eq!(
        output.stdout.matches("ASYNC OK on testhost: jid=j").count(),
        2
    );
    std::thread::sleep(Duration::from_secs(1));
    for name in ["ran", "touched", "touched_too"] {
        assert!(!test.path().join(name).exists(), "{name}");
    }
}

/// A job ansible-core started (its file as ansible-core 2.19.14's wrapper wrote it for
/// `command: echo hi`): `async_status` reads it as ansible-core's does.
#[test]
fn async_status_reads_a_job_that_ansible_core_started() {
    let test = local(
        "
        - hosts: testhost
          gather_facts: false
          tasks:
            - async_status: jid=j704319648617.32144
              register: job
            - copy:
                content: \"{{ job.stdout }} {{ job.rc }} {{ job.changed }} {{ job.finished }} {{ job.cmd | join(' ') }}\\n\"
                dest: result
        ",
    )
    .file(
        "jobs/j704319648617.32144",
        r#"{"changed": true, "stdout": "hi", "stderr": "", "rc": 0, "cmd": ["echo", "hi"], "start": "2026-12-07 15:28:54.362931", "end": "2026-12-07 15:28:54.375940", "delta": "0:00:00.013009", "msg": ""}"#,
    );
    let output = test.run().success();
    assert_eq!(
        output.recap("testhost"),
        "testhost : ok=2 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        read(&test.path().join("result")),
        "hi 0 True True echo hi\n"
    );
}

/// ansible-core reads `async` on a role entry as a parameter of the role (warning that the
/// name is reserved), not as the task keyword.
#[test]
fn async_on_a_role_entry_is_a_parameter_of_the_role() {
    let test = local(
        "
        - hosts: testhost
          gather_facts: false
          roles:
            - role: r
              async: 10
        ",
    )
    .file(
        "roles/r/tasks/main.yml",
        "- copy: content={{ async }} dest=result\n",
    );
    test.run().success();
    assert_eq!(read(&test.path().join("result")), "10");
}
