//! `systemd`, `systemd_service`, `service` and `service_facts` against a real systemd: a
//! podman container whose PID 1 is systemd, reached over SSH (`scripts/systemd-host`).
//! Each expectation is what ansible-core 2.19.14 registered for the same task on the same
//! container host (`/work/ansible-venv/bin/ansible-playbook`, same inventory); `status`
//! (the unit's `systemctl show` properties) matched key for key. Every test owns its units
//! (`qs-TEST...`), removes them first, and checks the host itself over SSH afterwards.

use std::sync::{OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::common::container::ContainerHost;
use crate::common::{Output, Test};

/// The systemd host: `scripts/test` brings it up and names it in
/// `QUAYSIDE_TEST_SYSTEMD_DIR`; a test run started some other way brings up its own.
fn host() -> &'static ContainerHost {
    static HOST: OnceLock<ContainerHost> = OnceLock::new();
    HOST.get_or_init(|| {
        ContainerHost::up(
            "systemd-host",
            &[],
            "QUAYSIDE_TEST_SYSTEMD_DIR",
            "test-systemd",
        )
    })
}

/// Tests share the host, except one that re-executes systemd (`daemon_reexec`): while PID 1
/// re-executes, every other `systemctl` on the host fails to reach it.
static MANAGER: RwLock<()> = RwLock::new(());

fn shared() -> RwLockReadGuard<'static, ()> {
    MANAGER
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn exclusive() -> RwLockWriteGuard<'static, ()> {
    MANAGER
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A shell command on the systemd host as root: its stdout, trimmed.
fn on_host(command: &str) -> String {
    host().on(command)
}

/// Stop, disable, unmask and remove the test's units (left by an earlier run), and reload
/// systemd when a unit file was removed (a reload costs about a second on a busy machine).
fn clean(units: &[&str]) {
    let units = units.join(" ");
    let mut files = String::new();
    for unit in units.split(' ') {
        files.push_str(&format!(
            " /etc/systemd/system/{unit}.service /usr/lib/systemd/system/{unit}.service"
        ));
    }
    on_host(&format!(
        "systemctl disable --now {units} 2>/dev/null; systemctl unmask {units} 2>/dev/null; \
         gone=; for f in{files}; do [ -e $f ] && rm -f $f && gone=1; done; \
         [ -z \"$gone\" ] || systemctl daemon-reload"
    ));
}

fn run(play: &str, extra: &[&str]) -> (Test, Output) {
    let test = Test::new().file("play.yml", play);
    let mut args = vec!["run", "play.yml", "-i", &host().inventory];
    args.extend_from_slice(extra);
    let test = test.args(&args);
    let output = test.run();
    (test, output)
}

/// A unit that runs until stopped, installed under /usr/lib (so that it can be masked).
fn unit(name: &str, path: &str) -> String {
    format!(
        "    - copy:\n        dest: {path}/{name}.service\n        content: |\n          [Unit]\n          Description=quayside test {name}\n          [Service]\n          ExecStart=/bin/sleep infinity\n          ExecReload=/bin/true\n          [Install]\n          WantedBy=multi-user.target\n"
    )
}

// Expected from ansible-core 2.19.14 (same playbook, same host): each registered value.
const LIFECYCLE: &str = r#"
    - systemd: {name: qs-life, state: started, daemon_reload: true}
      register: r1
    - assert:
        that:
          - r1.changed and r1.name == 'qs-life' and r1.state == 'started' and r1.enabled is not defined
          - r1.status.ActiveState == 'inactive' and r1.status.LoadState == 'loaded'
          - r1.status.Id == 'qs-life.service' and r1.status.Description == 'quayside test qs-life'
          - r1.status.ExecStart is search('argv\[\]=/bin/sleep infinity')
    - ansible.builtin.systemd_service: {name: qs-life, state: started}
      register: r2
    - assert: {that: [not r2.changed, r2.status.ActiveState == 'active', r2.status.SubState == 'running']}
    - systemd: {name: qs-life, enabled: true}
      register: r3
    - assert: {that: [r3.changed, r3.enabled, r3.state is not defined]}
    - ansible.legacy.systemd: {name: qs-life.service, state: restarted, enabled: true}
      register: r4
    - assert: {that: [r4.changed, r4.enabled, r4.state == 'started', r4.name == 'qs-life.service']}
    - systemd: {name: qs-life, state: reloaded}
      register: r5
    - assert: {that: [r5.changed, r5.state == 'started']}
    - systemd: {name: qs-life, state: stopped}
      register: r6
    - assert: {that: [r6.changed, r6.state == 'stopped', r6.status.ActiveState == 'active']}
    - systemd: {name: qs-life, state: reloaded}
      register: r7
    - assert: {that: [r7.changed, r7.state == 'started']}
    - systemd: {name: qs-life, state: stopped, masked: true}
      register: r8
    - assert: {that: [r8.changed, r8.enabled is not defined]}
    - systemd: {daemon_reload: true}
      register: r9
    - assert:
        that:
          - not r9.changed and r9.name == None
          - r9.status == {}
"#;

#[test]
fn systemd_starts_enables_restarts_stops_and_masks_as_ansible() {
    let _host = shared();
    clean(&["qs-life"]);
    let play = format!(
        "- hosts: systemd\n  gather_facts: false\n  tasks:\n{}{LIFECYCLE}",
        unit("qs-life", "/usr/lib/systemd/system")
    );
    let (_test, output) = run(&play, &[]);
    let output = output.success();
    assert_eq!(
        output.recap("systemd"),
        "systemd : ok=19 changed=8 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        on_host("systemctl is-enabled qs-life; systemctl is-active qs-life"),
        "masked\ninactive"
    );

    // The wanted state reached, a second run changes nothing.
    clean(&["qs-life"]);
    let settled = format!(
        "- hosts: systemd\n  gather_facts: false\n  tasks:\n{}    - systemd: {{name: qs-life, state: started, enabled: true, masked: false, daemon_reload: true}}\n",
        unit("qs-life", "/usr/lib/systemd/system")
    );
    let (_test, first) = run(&settled, &[]);
    assert_eq!(
        first.success().recap("systemd"),
        "systemd : ok=2 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    let (_test, second) = run(&settled, &[]);
    assert_eq!(
        second.success().recap("systemd"),
        "systemd : ok=2 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        on_host("systemctl is-enabled qs-life; systemctl is-active qs-life"),
        "enabled\nactive"
    );
    clean(&["qs-life"]);
}

#[test]
fn check_mode_says_what_would_change_and_changes_nothing() {
    let _host = shared();
    clean(&["qs-check"]);
    on_host(
        "printf '[Service]\\nExecStart=/bin/sleep infinity\\n[Install]\\nWantedBy=multi-user.target\\n' >/etc/systemd/system/qs-check.service && systemctl daemon-reload",
    );
    // ansible-core 2.19.14: check mode registers the wanted `enabled` and `state`, changed.
    let play = r#"
- hosts: systemd
  gather_facts: false
  tasks:
    - systemd: {name: qs-check, state: started, enabled: true, masked: false}
      register: c1
    - assert: {that: [c1.changed, c1.enabled, c1.state == 'started', c1.status.ActiveState == 'inactive']}
    - service: {name: qs-check, state: restarted}
      register: c2
    - assert: {that: [c2.changed, c2.state == 'started']}
    - systemd: {name: qs-check, state: stopped, enabled: false}
      register: c3
    - assert: {that: [not c3.changed, not c3.enabled, c3.state == 'stopped']}
"#;
    let (_test, output) = run(play, &["--check"]);
    assert_eq!(
        output.success().recap("systemd"),
        "systemd : ok=6 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        on_host("systemctl is-enabled qs-check; systemctl is-active qs-check"),
        "disabled\ninactive"
    );
    clean(&["qs-check"]);
}

// Each message is ansible-core 2.19.14's, word for word, for the same task on the same host.
#[test]
fn failures_say_what_ansible_says_and_change_nothing() {
    let _host = shared();
    clean(&["qs-fail", "qs-etc"]);
    let play = r#"
- hosts: systemd
  gather_facts: false
  tasks:
    - copy:
        dest: /etc/systemd/system/qs-fail.service
        content: "[Service]\nType=oneshot\nExecStart=/bin/false\n"
    - copy:
        dest: /etc/systemd/system/qs-etc.service
        content: "[Service]\nExecStart=/bin/sleep infinity\n"
    - systemd: {name: qs-fail, state: started, daemon_reload: true}
      register: f1
      ignore_errors: true
    - assert:
        that:
          - f1.failed and not f1.changed and f1.name is not defined
          - f1.msg == start_failed
      vars:
        start_failed: "Unable to start service qs-fail: Job for qs-fail.service failed because the control process exited with error code.\nSee \"systemctl status qs-fail.service\" and \"journalctl -xeu qs-fail.service\" for details.\n"
    - systemd: {name: qs-etc, masked: true}
      register: f2
      ignore_errors: true
    - assert:
        that:
          - f2.failed and not f2.changed
          - >-
            f2.msg == 'Failed to mask the service (qs-etc): Failed to mask unit: File /etc/systemd/system/qs-etc.service already exists.'
    - service: {name: qs-none, state: started}
      register: f3
      ignore_errors: true
    - assert: {that: [f3.failed, "f3.msg == 'Could not find the requested service qs-none: host'"]}
    - systemd: {name: qs-none, enabled: false}
      register: f4
      ignore_errors: true
    - assert: {that: [f4.failed, "f4.msg == 'Could not find the requested service qs-none: host'"]}
"#;
    let (_test, output) = run(play, &[]);
    assert_eq!(
        output.success().recap("systemd"),
        "systemd : ok=10 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=4"
    );
    assert_eq!(
        on_host("systemctl is-enabled qs-etc; systemctl is-active qs-etc qs-fail"),
        "static\ninactive\nfailed"
    );
    clean(&["qs-fail", "qs-etc"]);
}

#[test]
fn user_scope_drives_the_users_own_manager() {
    let _host = shared();
    on_host("rm -rf /home/quser/.config");
    // ansible-core 2.19.14, as quser: the same `changed`, `enabled` and `state`.
    let play = r#"
- hosts: systemd_user
  gather_facts: false
  tasks:
    - file: {path: /home/quser/.config/systemd/user, state: directory}
    - copy:
        dest: /home/quser/.config/systemd/user/qs-user.service
        content: "[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=default.target\n"
    - systemd: {name: qs-user, state: started, enabled: true, scope: user, daemon_reload: true}
      register: u1
    - assert: {that: [u1.changed, u1.enabled, u1.state == 'started', u1.status.ActiveState == 'inactive']}
    - systemd: {name: qs-user, state: started, enabled: true, scope: user}
      register: u2
    - assert: {that: [not u2.changed, u2.status.ActiveState == 'active']}
    - command: systemctl --user is-active qs-user
      environment: {XDG_RUNTIME_DIR: /run/user/1000}
      changed_when: false
      register: active
    - assert: {that: [active.stdout == 'active']}
    - systemd: {name: qs-user, state: stopped, enabled: false, scope: user}
      register: u3
    - assert: {that: [u3.changed, not u3.enabled, u3.state == 'stopped']}
"#;
    let (_test, output) = run(play, &[]);
    assert_eq!(
        output.success().recap("systemd_user"),
        "systemd_user : ok=10 changed=4 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    // The system manager never heard of it.
    assert_eq!(
        on_host("systemctl show -p LoadState qs-user"),
        "LoadState=not-found"
    );
    on_host("rm -f /home/quser/.config/systemd/user/qs-user.service");
}

#[test]
fn service_on_systemd_is_systemd_and_says_what_it_ignores() {
    let _host = shared();
    clean(&["qs-svc"]);
    // ansible-core 2.19.14: the warnings of its `service` action, registered.
    let play = format!(
        "- hosts: systemd\n  gather_facts: false\n  tasks:\n{}{}",
        unit("qs-svc", "/etc/systemd/system"),
        r#"    - ansible.builtin.service: {name: qs-svc, state: started, enabled: true, sleep: 2, pattern: sleep, use: auto}
      register: s1
    - assert:
        that:
          - s1.changed and s1.enabled and s1.state == 'started' and s1.name == 'qs-svc'
          - s1.status.LoadState == 'loaded'
          - >-
            s1.warnings == ['Ignoring "pattern" as it is not used in "systemd"', 'Ignoring "sleep" as it is not used in "systemd"']
    - service: {name: qs-svc, state: started, enabled: true}
      register: s2
    - assert: {that: [not s2.changed, s2.warnings is not defined]}
"#
    );
    let (_test, output) = run(&play, &[]);
    assert_eq!(
        output.success().recap("systemd"),
        "systemd : ok=5 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        on_host("systemctl is-enabled qs-svc; systemctl is-active qs-svc"),
        "enabled\nactive"
    );
    clean(&["qs-svc"]);
}

#[test]
fn service_on_a_host_without_systemd_drives_its_init_scripts() {
    // This machine's PID 1 is not systemd (testbed.md): `use: auto` drives its init scripts.
    // Expected from ansible-core 2.19.14 on this machine: its `service` module's message
    // there, and `sysvinit`'s (without `host`) with `use: sysvinit`.
    assert!(
        !std::path::Path::new("/run/systemd/system").exists(),
        "this test needs a controller whose service manager is not systemd"
    );
    let test = Test::new()
        .file(
            "play.yml",
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - service: {name: qs-nowhere, state: started}\n      ignore_errors: true\n    - service: {name: qs-nowhere, state: started, use: sysvinit}\n",
        )
        .args(&["run", "play.yml"]);
    test.run()
        .status(2)
        .stdout_contains("Could not find the requested service qs-nowhere: host")
        .stdout_contains(r#""msg": "Could not find the requested service qs-nowhere: "}"#);
}

// `use: sysvinit` on the systemd host: an init script (LSB headers, a daemon started with
// setsid) enabled with update-rc.d and driven through its status. Expected from
// ansible-core 2.19.14 on the same host: the same assertions hold (a longer play compared its
// twelve registered results key for key: equal),
// recap ok=13 changed=9 ignored=1, the same links left. Debian's `service NAME status` asks systemctl, which does not
// know a script added since the last daemon-reload ("could not be found", rc 4): the
// module then takes the service as down, so a second `started` starts it again and
// `stopped` leaves it, in ansible-core as here; `pattern` finds it in `ps`.
const SYSV_SCRIPT: &str = r#"#!/bin/sh
### BEGIN INIT INFO
# Provides:          qs-sysv
# Required-Start:
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: quayside test
### END INIT INFO
pidfile=/run/qs-sysv.pid
case "$1" in
  start) setsid sleep 100000 > /dev/null 2>&1 & echo $! > $pidfile; echo $! >> /run/qs-sysv.all; echo "started $2" ;;
  stop) [ -f $pidfile ] && kill $(cat $pidfile); rm -f $pidfile; echo stopped ;;
  reload) echo "reloaded $2" ;;
  status) if [ -f $pidfile ] && kill -0 $(cat $pidfile) 2>/dev/null; then echo "qs-sysv is running"; exit 0; else echo "qs-sysv is not running"; exit 3; fi ;;
  *) echo "usage"; exit 2 ;;
esac
"#;

const SYSV_PLAY: &str = r#"- hosts: systemd
  gather_facts: false
  tasks:
    - copy: {dest: /etc/init.d/qs-sysv, mode: "0755", src: qs-sysv}
    - service: {name: qs-sysv, use: sysvinit, state: started}
      register: a
    - service: {name: qs-sysv, use: sysvinit, state: started}
      register: b
    - service: {name: qs-sysv, use: sysvinit, enabled: true}
      register: c
    - service: {name: qs-sysv, use: sysvinit, enabled: true}
      register: d
    - service: {name: qs-sysv, use: sysvinit, state: reloaded, arguments: "one 'two words'"}
      register: e
    - service: {name: qs-sysv, use: sysvinit, state: restarted, sleep: 0}
      register: f
    - service: {name: qs-sysv, use: sysvinit, state: stopped}
      register: g
    - service: {name: qs-sysv, use: sysvinit, enabled: false, runlevels: [3, 5]}
      register: i
    - service: {name: qs-nope, use: sysvinit, state: started}
      register: j
      ignore_errors: true
    - service: {name: qs-sysv, use: sysvinit, state: started}
      check_mode: true
      register: k
    - service: {name: qs-sysv, use: sysvinit, state: stopped, pattern: "sleep 100000"}
      register: l
    - assert:
        that:
          - >-
            a.changed and a.name == 'qs-sysv'
          - >-
            a.status.started == {'changed': true, 'rc': 0, 'stdout': 'started \n', 'stderr': ''}
          - >-
            a.status.enabled == {'changed': false, 'rc': none, 'stdout': none, 'stderr': none}
          - >-
            b.changed and c.changed and c.status.enabled == {'changed': true, 'rc': 0, 'stdout': '', 'stderr': ''}
          - >-
            c.status['null'] == {'changed': false, 'rc': none, 'stdout': none, 'stderr': none}
          - >-
            not d.changed and not d.status.enabled.changed
          - >-
            e.changed and e.status.reloaded.stdout == 'reloaded one\n'
          - >-
            f.changed and f.status.restarted == {'changed': true, 'rc': 0, 'stdout': 'started \n', 'stderr': ''}
          - >-
            not g.changed and not g.status.stopped.changed
          - >-
            i.changed and i.status.enabled.runlevels == ['3', '5'] and i.status.enabled.rc == 0
          - >-
            j.failed and j.msg == 'Could not find the requested service qs-nope: '
          - >-
            k.changed and k.status.started == {'changed': true, 'rc': none, 'stdout': none, 'stderr': none}
          - >-
            l.changed and l.status.stopped == {'changed': true, 'rc': 0, 'stdout': 'stopped\n', 'stderr': ''}
          - >-
            l.warnings is not defined and b.warnings is not defined
"#;

fn clean_sysv() {
    on_host(
        "[ -f /run/qs-sysv.all ] && kill $(cat /run/qs-sysv.all) 2>/dev/null; \
         update-rc.d -f qs-sysv remove >/dev/null 2>&1; \
         rm -f /etc/init.d/qs-sysv /run/qs-sysv.pid /run/qs-sysv.all; true",
    );
}

#[test]
fn service_use_sysvinit_drives_an_init_script_as_ansible() {
    let _host = shared();
    clean_sysv();
    let test = Test::new()
        .file("play.yml", SYSV_PLAY)
        .file("qs-sysv", SYSV_SCRIPT);
    let inventory = host().inventory.clone();
    let output = test.args(&["run", "play.yml", "-i", &inventory]).run();
    assert_eq!(
        output.success().recap("systemd"),
        "systemd : ok=13 changed=9 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1"
    );
    // Enabled in 2 and 4 only (3 and 5 disabled), stopped; a check changed nothing.
    assert_eq!(
        on_host("ls /etc/rc?.d | grep -c '^S01qs-sysv$'; /etc/init.d/qs-sysv status"),
        "2\nqs-sysv is not running"
    );
    clean_sysv();
}

#[test]
fn service_facts_lists_units_and_scripts_as_ansible() {
    let _host = shared();
    clean(&["qs-facts"]);
    // ansible-core 2.19.14 on this host: the same entries (ssh twice: its SysV script and
    // its unit; `sshd.service` an alias whose state comes from `systemctl show`).
    let play = format!(
        "- hosts: systemd\n  gather_facts: false\n  tasks:\n{}{}",
        unit("qs-facts", "/etc/systemd/system"),
        r#"    - systemd: {name: qs-facts, state: started, daemon_reload: true}
    - service_facts:
      register: sf
    - assert:
        that:
          - not sf.changed
          - >-
            sf.ansible_facts.services['qs-facts.service'] == {'name': 'qs-facts.service', 'state': 'running', 'status': 'disabled', 'source': 'systemd'}
          - >-
            ansible_facts.services['ssh.service'] == {'name': 'ssh.service', 'state': 'running', 'status': 'enabled', 'source': 'systemd'}
          - >-
            services['ssh'] == {'name': 'ssh', 'state': 'running', 'source': 'sysv'}
          - >-
            services['sshd.service'] == {'name': 'sshd.service', 'state': 'active', 'status': 'alias', 'source': 'systemd'}
          - >-
            services['getty@.service'] == {'name': 'getty@.service', 'state': 'unknown', 'status': 'enabled', 'source': 'systemd'}
          - >-
            services['getty@tty1.service'] == {'name': 'getty@tty1.service', 'state': 'stopped', 'status': 'masked', 'source': 'systemd'}
          - >-
            services['cryptdisks.service'] == {'name': 'cryptdisks.service', 'state': 'inactive', 'status': 'masked', 'source': 'systemd'}
          - >-
            services['hwclock.sh'] == {'name': 'hwclock.sh', 'state': 'stopped', 'source': 'sysv'}
"#
    );
    let (_test, output) = run(&play, &[]);
    assert_eq!(
        output.success().recap("systemd"),
        "systemd : ok=4 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    clean(&["qs-facts"]);
}

fn refused(task: &str, error: &str) {
    let test = Test::new()
        .file(
            "play.yml",
            &format!(
                "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: touch ran\n    - {task}\n"
            ),
        )
        .args(&["run", "play.yml"]);
    let output = test.run().status(4);
    assert_eq!(output.stderr.lines().next().unwrap_or_default(), error);
    assert!(!test.path().join("ran").exists(), "a task ran");
}

#[test]
fn bad_arguments_are_refused_where_written() {
    refused(
        "systemd: {name: x, state: running}",
        "error: unknown value `running` (expected one of `started`, `stopped`, `restarted`, `reloaded`) at play.yml:5:33",
    );
    refused(
        "systemd: {name: x, enable: true}",
        "error: unknown argument `enable` at play.yml:5:26 — did you mean `enabled`?",
    );
    refused(
        "systemd: {name: x}",
        "error: one of the following is required: state, enabled, masked, daemon_reload, daemon_reexec at play.yml:5:7",
    );
    refused(
        "systemd_service: {enabled: true}",
        "error: missing parameter(s) required by 'enabled': name at play.yml:5:7",
    );
    refused(
        "systemd: {name: 'qs*', state: started}",
        "error: This module does not currently support using glob patterns, found '*' in service name: qs* at play.yml:5:7",
    );
    refused(
        "systemd: {name: x, scope: session, state: started}",
        "error: unknown value `session` (expected one of `system`, `user`, `global`) at play.yml:5:33",
    );
    refused(
        "service: {name: x, state: started, use: openrc}",
        "error: unknown value `openrc` (expected one of `auto`, `systemd`, `sysvinit`) at play.yml:5:47",
    );
    refused(
        "service: {name: x, state: started, use: sysvinit, daemonize: true}",
        "error: `daemonize: true` is not built: quayside runs the init script in the foreground at play.yml:5:68",
    );
    refused(
        "service: {name: x}",
        "error: one of the following is required: state, enabled at play.yml:5:7",
    );
    refused(
        "service_facts: {name: x}",
        "error: unknown argument `name` at play.yml:5:23",
    );
}

#[test]
fn no_block_force_daemon_reexec_and_global_scope_as_ansible() {
    let _host = exclusive();
    clean(&["qs-nb"]);
    // ansible-core 2.19.14 on the same host: these values and this recap.
    let play = format!(
        "- hosts: systemd\n  gather_facts: false\n  tasks:\n{}{}",
        unit("qs-nb", "/usr/lib/systemd/system"),
        r#"    - systemd: {name: qs-nb, state: started, no_block: true, daemon_reexec: true}
      register: n1
    - systemd: {name: qs-nb, enabled: true, force: true}
      register: n2
    - systemd: {daemon_reexec: true, daemon_reload: true}
      register: n3
    - systemd: {name: qs-nb, masked: true, force: true, state: stopped}
      register: n4
    - systemd: {name: qs-nb, masked: false, enabled: false}
      register: n5
    - systemd: {name: qs-nb, enabled: true, scope: global}
      register: n6
      ignore_errors: true
    - assert:
        that:
          - n1.changed and n1.state == 'started'
          - n2.changed and n2.enabled
          - not n3.changed and n3.name == None
          - n4.changed and n4.state == 'stopped' and n4.enabled is not defined
          - n5.changed and not n5.enabled
          - >-
            n6.failed and n6.msg == 'Could not find the requested service qs-nb: host'
"#
    );
    let (_test, output) = run(&play, &[]);
    assert_eq!(
        output.success().recap("systemd"),
        "systemd : ok=8 changed=5 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1"
    );
    assert_eq!(
        on_host("systemctl is-enabled qs-nb; systemctl is-active qs-nb"),
        "disabled\ninactive"
    );
    clean(&["qs-nb"]);
}

#[test]
fn a_hostile_unit_name_reaches_systemctl_as_one_word() {
    let _host = shared();
    on_host("rm -f /tmp/qs-pwned");
    let play = r#"
- hosts: systemd
  gather_facts: false
  tasks:
    - systemd: {name: "qs-$(touch /tmp/qs-pwned)'; touch /tmp/qs-pwned; '", state: started}
      register: h1
      ignore_errors: true
    - assert:
        that:
          - h1.failed
          - >-
            h1.msg == "Could not find the requested service qs-$(touch /tmp/qs-pwned)'; touch /tmp/qs-pwned; ': host"
"#;
    let (_test, output) = run(play, &[]);
    assert_eq!(
        output.success().recap("systemd"),
        "systemd : ok=2 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1"
    );
    assert_eq!(
        on_host("test -e /tmp/qs-pwned && echo present || echo absent"),
        "absent"
    );
}

#[test]
fn service_and_systemd_take_their_arguments_from_module_defaults() {
    let _host = shared();
    clean(&["qs-md"]);
    // Expected from ansible-core 2.19.14 (same playbook, same host): the play's `service`
    // defaults (templated) give the first task everything; in the block, whose `service`
    // entry replaces the play's whole, `service` takes its `name` from `systemd`'s
    // defaults (its action hands it to `systemd` there), and so does `systemd`.
    let play = format!(
        "- hosts: systemd\n  gather_facts: false\n  vars:\n    unit_name: qs-md\n  module_defaults:\n    ansible.builtin.service: {{name: '{{{{ unit_name }}}}', state: started}}\n  tasks:\n{}{}",
        unit("qs-md", "/etc/systemd/system"),
        r#"    - service:
      register: s1
    - block:
        - service:
          register: s2
        - systemd: {state: stopped}
          register: s3
      module_defaults:
        service: {enabled: true}
        systemd: {name: qs-md}
    - assert:
        that:
          - s1.changed and s1.name == 'qs-md' and s1.state == 'started' and s1.enabled is not defined
          - s2.changed and s2.enabled and s2.name == 'qs-md' and s2.state is not defined
          - s3.changed and s3.state == 'stopped' and s3.name == 'qs-md'
"#
    );
    let (_test, output) = run(&play, &[]);
    assert_eq!(
        output.success().recap("systemd"),
        "systemd : ok=5 changed=4 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        on_host("systemctl is-enabled qs-md; systemctl is-active qs-md"),
        "enabled\ninactive"
    );
    clean(&["qs-md"]);
}
