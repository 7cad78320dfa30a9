//! `reboot` against a real reboot: a podman container whose PID 1 is systemd
//! (`scripts/systemd-host up --restart always`). `systemctl reboot` (or `shutdown -r`) there
//! makes systemd stop every unit and exit, and podman starts the container again: sshd goes
//! away, the connection drops, and a new systemd boots. The kernel is the machine's, so
//! `/proc/sys/kernel/random/boot_id` (the default `boot_time_command`) never changes in a
//! container; the tests read PID 1's start time instead (`/proc/1/stat`, field 22), which a
//! new boot of the container changes. Every expectation is what ansible-core 2.19.14's
//! `reboot` registered and printed for the same task against the same container.
//!
//! The container runs cgroup v1 here, where systemd inside a container is not told that a
//! user manager's cgroup emptied: stopping `user@.service` would wait its full stop timeout
//! (about two minutes) on every reboot. The tests give it a short one (a drop-in on the
//! host); the reboot itself is the real one.

use std::sync::{Mutex, MutexGuard, OnceLock};

use crate::common::container::ContainerHost;
use crate::common::refused;

/// The container is rebooted by the tests: one test at a time.
static HOST_LOCK: Mutex<()> = Mutex::new(());

fn host() -> (&'static ContainerHost, MutexGuard<'static, ()>) {
    static HOST: OnceLock<ContainerHost> = OnceLock::new();
    let guard = HOST_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let host = HOST.get_or_init(|| {
        let host = ContainerHost::up(
            "systemd-host",
            &["--restart", "always"],
            "QUAYSIDE_TEST_REBOOT_DIR",
            "test-reboot",
        );
        host.on("mkdir -p /etc/systemd/system/user@.service.d && \
             printf '[Service]\\nTimeoutStopSec=2s\\n' >/etc/systemd/system/user@.service.d/quayside-stop.conf && \
             systemctl daemon-reload",
        );
        host
    });
    // Up (a test before may have left it rebooting) before the test starts.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while pid1_started(host).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the reboot host did not come back"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    (host, guard)
}

/// When PID 1 started (clock ticks since the kernel booted): changes with every boot of
/// the container.
fn pid1_started(host: &ContainerHost) -> String {
    host.on("cut -d' ' -f22 /proc/1/stat")
}

const BOOT_TIME: &str = "cut -d' ' -f22 /proc/1/stat";

#[test]
fn reboot_reboots_waits_for_the_new_boot_and_goes_on_over_a_new_connection() {
    let (host, _guard) = host();
    let before = pid1_started(host);
    // Expected from ansible-core 2.19.14 (same play, same container): changed, `rebooted`
    // true, `elapsed` whole seconds (4 there), and the next task runs on the new boot.
    let play = format!(
        "- hosts: systemd\n  gather_facts: false\n  tasks:\n\
         \x20   - reboot:\n        boot_time_command: \"{BOOT_TIME}\"\n        reboot_timeout: 120\n        connect_timeout: 5\n      register: r\n\
         \x20   - assert:\n        that:\n          - r.changed and r.rebooted and not r.failed\n          - r.elapsed is number and r.elapsed < 120\n          - r.msg is not defined\n\
         \x20   - command: \"{BOOT_TIME}\"\n      register: now\n\
         \x20   - assert: {{that: [\"now.stdout != '{before}'\"]}}\n"
    );
    let output = host.run(&play).success();
    assert_eq!(
        output.recap("systemd"),
        "systemd : ok=4 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert!(output.stdout.contains("TASK [reboot]"));
    assert!(output.stdout.contains("changed: [systemd]"));
    let after = pid1_started(host);
    assert!(
        !after.is_empty() && after != before,
        "no new boot: {before} then {after}"
    );
    assert_eq!(host.on("systemctl is-system-running --wait"), "running");

    // A reboot is a reboot each time, as in Ansible: the second run changes again (and
    // the default `shutdown -r 0 MSG` is what runs when no reboot_command is given).
    let play = format!(
        "- hosts: systemd\n  gather_facts: false\n  tasks:\n\
         \x20   - ansible.builtin.reboot: {{boot_time_command: \"{BOOT_TIME}\", msg: \"it's quayside's\", post_reboot_delay: 1}}\n"
    );
    let output = host.run(&play).success();
    assert_eq!(
        output.recap("systemd"),
        "systemd : ok=1 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_ne!(pid1_started(host), after);
}

#[test]
fn reboot_check_mode_and_failures_before_the_reboot_as_ansible() {
    let (host, _guard) = host();
    let before = pid1_started(host);
    // Expected from ansible-core 2.19.14: these registered values (ansible-core runs the
    // commands in a pseudo-terminal, so its stdout there ends in \r\n and holds stderr,
    // and its stderr is ssh's "Shared connection to ... closed."; quayside keeps the two
    // streams as the host wrote them).
    let play = r#"- hosts: systemd
  gather_facts: false
  tasks:
    - reboot:
      check_mode: true
      register: r1
    - assert:
        that: [r1.changed, r1.rebooted, r1.elapsed == 0, not r1.failed]
    - reboot:
        boot_time_command: "echo out; echo err >&2; exit 3"
      register: r2
      ignore_errors: true
    - assert:
        that:
          - r2.failed and not r2.changed and r2.reboot == false
          - r2.rebooted is not defined and r2.elapsed is not defined
          - "r2.msg == 'reboot: failed to get host boot time info, rc: 3, stdout: out\n, stderr: err\n'"
    - reboot:
        reboot_command: nosuch-reboot -r now
        search_paths: [/nowhere, /usr/bin]
      register: r3
      ignore_errors: true
    - assert:
        that:
          - r3.failed and not r3.changed and r3.rebooted is not defined
          - >-
            r3.msg == "Task failed: Unable to find command \"nosuch-reboot\" in search paths: ['/nowhere', '/usr/bin']"
    - reboot:
        search_paths: /nowhere,/also
      register: r4
      ignore_errors: true
    - assert:
        that:
          - >-
            r4.msg == "Task failed: Unable to find command \"shutdown\" in search paths: ['/nowhere', '/also']"
    - reboot:
        reboot_command: "/bin/sh -c 'echo no; echo bad >&2; exit 4'"
      register: r5
      ignore_errors: true
    - assert:
        that:
          - r5.failed and not r5.changed and r5.rebooted == false and r5.elapsed == 0
          - "r5.msg == \"Reboot command failed. Error was: 'no, bad'\""
          - r5.start is match('^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$')
- hosts: localhost
  gather_facts: false
  tasks:
    - reboot:
      register: r6
      ignore_errors: true
    - assert:
        that:
          - r6.failed and not r6.changed and r6.rebooted == false and r6.elapsed == 0
          - r6.msg == 'Running reboot with local connection would reboot the control node.'
"#;
    let output = host.run(play).success();
    assert_eq!(
        output.recap("systemd"),
        "systemd : ok=10 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=4"
    );
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=2 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1"
    );
    assert!(output.stdout.contains(
        "fatal: [localhost]: FAILED! => {\"changed\": false, \"elapsed\": 0, \"msg\": \"Running reboot with local connection would reboot the control node.\", \"rebooted\": false}"
    ));
    // Nothing rebooted.
    assert_eq!(pid1_started(host), before);
}

/// Wait until the host has booted again since `before` and finished starting.
fn wait_for_new_boot(host: &ContainerHost, before: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let now = pid1_started(host);
        if !now.is_empty() && now != before {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the container did not reboot"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    host.on("systemctl is-system-running --wait");
}

#[test]
fn reboot_times_out_as_ansible() {
    let (host, _guard) = host();
    let before = pid1_started(host);
    // Expected from ansible-core 2.19.14: the kernel's boot id never changes in a container,
    // so the default check times out (the container did reboot).
    let play = "- hosts: systemd\n  gather_facts: false\n  tasks:\n\
         \x20   - reboot: {reboot_timeout: 3}\n      register: t1\n      ignore_errors: true\n\
         \x20   - assert:\n        that:\n          - t1.failed and t1.rebooted and not t1.changed and t1.elapsed >= 3\n          - t1.msg == 'Timed out waiting for last boot time check (timeout=3)'\n";
    let output = host.run(play).success();
    assert_eq!(
        output.recap("systemd"),
        "systemd : ok=2 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1"
    );
    assert!(output.stdout.contains(
        "\"msg\": \"Timed out waiting for last boot time check (timeout=3)\", \"rebooted\": true}\n...ignoring"
    ));
    wait_for_new_boot(host, &before);

    // A test command that keeps failing times out once the new boot was seen (60 s: a
    // loaded machine took more than 10 s, once more than 30 s, to boot the container, and
    // the boot-time check timed out first).
    let before = pid1_started(host);
    let play = format!(
        "- hosts: systemd\n  gather_facts: false\n  tasks:\n\
         \x20   - reboot:\n        boot_time_command: \"{BOOT_TIME}\"\n        test_command: test -e /nonexistent\n        reboot_timeout: 60\n        connect_timeout: 3\n      register: t2\n      ignore_errors: true\n\
         \x20   - assert:\n        that:\n          - t2.failed and t2.rebooted and not t2.changed and t2.elapsed >= 60\n          - t2.msg == 'Timed out waiting for post-reboot test command (timeout=60)'\n"
    );
    let output = host.run(&play).success();
    assert_eq!(
        output.recap("systemd"),
        "systemd : ok=2 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1"
    );
    assert_ne!(pid1_started(host), before);
}

#[test]
fn reboot_arguments_ansible_does_not_take_are_refused_where_written() {
    // ansible-core 2.19.14 fails the task: "Invalid options for reboot: reboot_timeout_sec".
    refused(
        "reboot: {reboot_timeout_sec: 5}",
        "error: unknown argument `reboot_timeout_sec` at play.yml:5:16 — did you mean `reboot_timeout`?",
    );
    refused(
        "reboot: {reboot_timeout: soon}",
        "error: expected u64, found string \"soon\" at play.yml:5:32",
    );
    refused(
        "reboot: {search_paths: {a: 1}}",
        "error: expected a string or a list of strings, found map at play.yml:5:30",
    );
}
