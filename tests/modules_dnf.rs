//! `dnf` and `yum` against a real dnf: a podman container with Debian's `dnf`, `rpm` and
//! `python3-dnf` and two local RPM repositories built with rpmbuild and createrepo_c
//! (`scripts/rpm-host`: `qs-base`, enabled, with qs-hello 1.0, qs-dep 1.0 and qs-needs 1.0,
//! which requires qs-dep; `qs-updates`, disabled, with qs-hello 1.1), reached over SSH.
//! Every registered value is what ansible-core 2.19.14's dnf module (`use_backend: dnf4`:
//! on a Debian host its fact says apt) registered for the same task on the same container,
//! compared whole; the lifecycle play below, with `use_backend: dnf4` added to each task,
//! passes every assertion under ansible-core 2.19.14 with the same recap.

use std::sync::{Mutex, MutexGuard, OnceLock};

use crate::common::container::ContainerHost;
use crate::common::refused;

/// The tests install and remove the same packages: one at a time.
static HOST_LOCK: Mutex<()> = Mutex::new(());

fn host() -> (&'static ContainerHost, MutexGuard<'static, ()>) {
    static HOST: OnceLock<ContainerHost> = OnceLock::new();
    let guard = HOST_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let host = HOST
        .get_or_init(|| ContainerHost::up("rpm-host", &[], "QUAYSIDE_TEST_RPM_DIR", "test-rpm"));
    host.on("dnf -q -y remove qs-hello qs-dep qs-needs >/dev/null 2>&1; true");
    (host, guard)
}

fn installed(host: &ContainerHost) -> String {
    host.on("rpm -qa --qf '%{NAME}-%{VERSION}\\n' 'qs-*' | sort | tr '\\n' ' '")
}

/// dnf on a Debian host cannot tell the release; ansible-core's module warns so.
const RELEASE: &str =
    r#""Unable to detect release version (use \"releasever\" option to specify release version)""#;

#[test]
fn dnf_installs_upgrades_and_removes_as_ansible() {
    let (host, _guard) = host();
    let play = format!(
        r#"- hosts: rpm
  gather_facts: false
  vars:
    warned: [{RELEASE}]
  tasks:
    - dnf: {{name: qs-hello}}
      check_mode: true
      register: r0
    - assert:
        that:
          - "r0.changed and r0.rc == 0 and r0.results == ['Installed: qs-hello-1.0-1.noarch']"
          - "r0.msg == 'Check mode: No changes made, but would have if not in check mode'"
          - r0.warnings == warned
    - command: rpm -q qs-hello
      register: q
      failed_when: q.rc != 1
    - ansible.builtin.dnf: {{name: qs-hello}}
      register: r1
    - assert: {{that: [r1.changed, r1.msg == '', r1.rc == 0, "r1.results == ['Installed: qs-hello-1.0-1.noarch']"]}}
    - yum: {{name: qs-hello, state: installed}}
      register: r2
    - assert: {{that: [not r2.changed, r2.msg == 'Nothing to do', r2.results | length == 0, r2.rc == 0, r2.warnings == warned]}}
    - dnf: {{name: [qs-needs], state: present}}
      register: r3
    - assert: {{that: [r3.changed, "r3.results == ['Installed: qs-dep-1.0-1.noarch', 'Installed: qs-needs-1.0-1.noarch']"]}}
    - dnf: {{name: qs-hello, state: latest}}
      register: r4
    - assert: {{that: [not r4.changed, r4.msg == 'Nothing to do']}}
    - dnf: {{name: qs-hello, state: latest, enablerepo: qs-updates}}
      check_mode: true
      register: r5
    - assert:
        that:
          - r5.changed and r5.msg is search('^Check mode')
          - "r5.results == ['Installed: qs-hello-1.1-1.noarch', 'Removed: qs-hello-1.0-1.noarch']"
    - dnf: {{name: qs-hello, state: latest, enablerepo: [qs-updates]}}
      register: r6
    - assert: {{that: [r6.changed, r6.msg == '', "r6.results == ['Installed: qs-hello-1.1-1.noarch', 'Removed: qs-hello-1.0-1.noarch']"]}}
    - dnf: {{name: [qs-hello, qs-dep], state: absent}}
      check_mode: true
      register: r8
    - assert:
        that:
          - r8.changed and r8.msg is search('^Check mode')
          - "r8.results == ['Removed: qs-dep-1.0-1.noarch', 'Removed: qs-hello-1.1-1.noarch', 'Removed: qs-needs-1.0-1.noarch']"
    - dnf: {{name: 'qs-hello,qs-dep', state: removed}}
      register: r9
    - assert: {{that: [r9.changed, r9.msg == '', r9.results | length == 3]}}
    - dnf: {{name: [qs-hello, nosuch], state: absent}}
      register: r10
    - assert:
        that:
          - not r10.changed and r10.msg == 'Nothing to do' and r10.rc == 0
          - "r10.results == ['No match for argument: qs-hello', 'No match for argument: nosuch']"
    - dnf: {{update_cache: true}}
      register: r12
    - assert: {{that: [not r12.changed, r12.msg == 'Cache updated', r12.results | length == 0, r12.rc == 0, r12.warnings == warned]}}
    - dnf: {{name: qs-hello, update_cache: true}}
      register: r13
    - assert: {{that: [r13.changed, "r13.results == ['Installed: qs-hello-1.0-1.noarch']"]}}
"#
    );
    let output = host.run(&play).success();
    assert_eq!(
        output.recap("rpm"),
        "rpm : ok=25 changed=9 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(installed(host), "qs-hello-1.0");

    // A second run of the settled state changes nothing.
    let play = "- hosts: rpm\n  gather_facts: false\n  tasks:\n    - dnf: {name: [qs-hello, qs-needs]}\n    - dnf: {name: qs-hello, state: latest, enablerepo: qs-updates}\n    - dnf: {name: qs-nothere, state: absent}\n";
    let first = host.run(play).success();
    assert_eq!(
        first.recap("rpm"),
        "rpm : ok=3 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    let second = host.run(play).success();
    assert_eq!(
        second.recap("rpm"),
        "rpm : ok=3 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(installed(host), "qs-dep-1.0 qs-hello-1.1 qs-needs-1.0");
}

#[test]
fn dnf_fails_as_ansible_and_installs_nothing() {
    let (host, _guard) = host();
    let play = r#"- hosts: rpm
  gather_facts: false
  tasks:
    - dnf: {name: [qs-hello, nosuch]}
      register: r7
      ignore_errors: true
    - assert:
        that:
          - r7.failed and not r7.changed and r7.rc == 1 and r7.results == []
          - r7.msg == 'Failed to install some of the specified packages'
          - r7.failures == ['No package nosuch available.']
    - dnf: {name: qs-hello, disablerepo: qs-base}
      register: r11
      ignore_errors: true
    - assert:
        that:
          - r11.failed and r11.failures == ['No package qs-hello available.']
          - r11.msg == 'Failed to install some of the specified packages'
"#;
    let output = host.run(play).success();
    assert_eq!(
        output.recap("rpm"),
        "rpm : ok=4 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=2"
    );
    assert_eq!(installed(host), "");
}

#[test]
fn dnf_arguments_are_refused_where_written() {
    refused(
        "dnf: {name: x1, use_backend: dnf5}",
        "error: unknown value `dnf5` at play.yml:5:36 — did you mean `dnf`?",
    );
    refused(
        "yum: {name: x1, allow_downgrade: true}",
        "error: unknown argument `allow_downgrade` (expected one of `name`, `pkg`, `state`, `enablerepo`, `disablerepo`, `expire-cache`, `update_cache`, `use_backend`) at play.yml:5:23",
    );
    refused(
        "dnf: {name: x1, state: fixed}",
        "error: unknown value `fixed` (expected one of `present`, `installed`, `latest`, `absent`, `removed`) at play.yml:5:30",
    );
    refused(
        "dnf: {state: present}",
        "error: one of the following is required: name, list, update_cache at play.yml:5:7",
    );
    refused(
        "ansible.builtin.yum: {name: 'qs-*'}",
        "error: package `qs-*` must be a package name (patterns, spaces and `>=` are not built) at play.yml:5:7",
    );
}

#[test]
fn package_runs_dnf_where_the_host_manager_is_dnf() {
    // Expected from ansible-core 2.19.14 on the same container: `package` with `use: dnf`,
    // with `ansible_package_use: dnf`, and with `ansible_facts.pkg_mgr` set to dnf runs
    // the dnf module: the same results and recap. (ansible-core's own facts say `apt` on
    // this Debian host, which has both; quayside's `pkg_mgr` fact takes dnf first, so the
    // gathered case is quayside's alone.)
    let (host, _guard) = host();
    let play = r#"- hosts: rpm
  gather_facts: false
  tasks:
    - package: {name: qs-hello, use: dnf}
      check_mode: true
      register: p0
    - package: {name: qs-hello, use: dnf}
      register: p1
    - package: {name: qs-hello, state: absent}
      vars: {ansible_package_use: dnf}
      register: p2
    - set_fact: {ansible_facts: {pkg_mgr: dnf}}
    - package: {name: [qs-needs]}
      register: p3
    - package: {name: [qs-needs]}
      register: p4
    - assert:
        that:
          - "p0.changed and p0.results == ['Installed: qs-hello-1.0-1.noarch'] and p0.msg is search('^Check mode')"
          - "p1.changed and p1.rc == 0 and p1.results == ['Installed: qs-hello-1.0-1.noarch']"
          - "p2.changed and p2.results == ['Removed: qs-hello-1.0-1.noarch']"
          - "p3.changed and p3.results == ['Installed: qs-dep-1.0-1.noarch', 'Installed: qs-needs-1.0-1.noarch']"
          - not p4.changed and p4.msg == 'Nothing to do'
- hosts: rpm
  gather_facts: true
  tasks:
    - package: {name: qs-needs, state: absent}
      register: p5
    - assert: {that: ["ansible_facts.pkg_mgr == 'dnf'", p5.changed, "p5.results == ['Removed: qs-needs-1.0-1.noarch']"]}
"#;
    let output = host.run(play).success();
    assert_eq!(
        output.recap("rpm"),
        "rpm : ok=10 changed=5 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(installed(host), "qs-dep-1.0");
}
