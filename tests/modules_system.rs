//! Ansible's system modules built in (`group`, ...), run on localhost (as root): the same
//! results and registered values as ansible-core 2.19.14 gives for the same playbook;
//! second runs that change nothing; check mode; bad arguments refused where they are
//! written, before anything runs. Names are unique per test and removed after.

use crate::common::{Test, refused};

/// The user and group tests edit this machine's /etc/passwd and /etc/group (the fleet's
/// hosts share them): one at a time, so that none sees another's accounts in a line it
/// reads whole (`adm`'s members).
static ACCOUNTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn accounts() -> std::sync::MutexGuard<'static, ()> {
    ACCOUNTS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn getent(database: &str, name: &str) -> Option<String> {
    let output = std::process::Command::new("getent")
        .args([database, name])
        .output()
        .unwrap();
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

// Expected from ansible-core 2.19.14: each value asserted is what ansible-playbook
// registered for the same task (check mode keeps the group's gid; removing in check mode
// registers `changed` alone; a taken gid fails with groupadd's message and the name).
const GROUPS: &str = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - group: {name: qs19grp, gid: 47191}
      register: r1
    - assert: {that: [r1.changed, r1.gid == 47191, r1.name == 'qs19grp', r1.state == 'present', not r1.system]}
    - ansible.builtin.group: {name: qs19grp, gid: 47191}
      register: r2
    - assert: {that: [not r2.changed, r2.gid == 47191]}
    - group: {name: qs19grp, gid: 47192}
      check_mode: true
      register: r3
    - assert: {that: [r3.changed, r3.gid == 47191]}
    - group: {name: qs19sys, system: true}
      register: r4
    - assert: {that: [r4.changed, r4.system, r4.gid < 1000]}
    - group: {name: qs19grp, state: absent}
      check_mode: true
      register: r5
    - assert: {that: [r5.changed, r5.name is not defined]}
    - group: {name: qs19x, gid: 47191}
      register: r6
      ignore_errors: true
    - assert:
        that:
          - r6.failed and not r6.changed and r6.name == 'qs19x'
          - >-
            r6.msg | trim == "groupadd: GID '47191' already exists" and r6.msg | length == 37
    - group: {name: qs19sys, state: absent}
      register: r7
    - assert: {that: [r7.changed, r7.state == 'absent', r7.gid is not defined]}
    - group: {name: qs19sys, state: absent}
      register: r8
    - assert: {that: [not r8.changed]}
"#;

#[test]
fn group_creates_changes_and_removes_as_ansible() {
    let _accounts = accounts();
    let test = Test::new()
        .file("play.yml", GROUPS)
        .args(&["run", "play.yml"]);
    let output = test.run();
    for name in ["qs19grp", "qs19sys", "qs19x"] {
        let _ = std::process::Command::new("groupdel").arg(name).output();
    }
    let output = output.success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=16 changed=5 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1"
    );
    assert_eq!(getent("group", "qs19sys"), None);
    assert_eq!(getent("group", "qs19x"), None);
}

// Expected from ansible-core 2.19.14: each value asserted is what ansible-playbook
// registered for the same task (a shared gid with `non_unique`; `groupdel`'s message for a
// user's primary group, removed with `force`; libuser's commands with `local`, a gid
// another group has refused before them; the module's messages for the combinations it
// refuses); ok=22 changed=8 ignored=5.
const GROUP_OPTIONS: &str = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - group: {name: qs19nu1, gid: 47195}
    - group: {name: qs19nu2, gid: 47195, non_unique: true}
      register: r1
    - assert: {that: [r1.changed, r1.gid == 47195]}
    - group: {name: qs19nu3, non_unique: true}
      register: r2
      ignore_errors: true
    - assert:
        that:
          - >-
            r2.failed and r2.msg == "non_unique is True but all of the following are missing: gid"
    - group: {name: qs19mm, gid_min: 47180, gid_max: 47189}
      register: r3
    - assert: {that: [r3.changed, r3.gid >= 47180, r3.gid <= 47189]}
    - group: {name: qs19fg}
    - user: {name: qs19fu, group: qs19fg, create_home: false}
    - group: {name: qs19fg, state: absent}
      register: r4
      ignore_errors: true
    - assert:
        that:
          - >-
            r4.failed and r4.msg == "groupdel: cannot remove the primary group of user 'qs19fu'\n"
    - group: {name: qs19fg, state: absent, force: true}
      register: r5
    - assert: {that: [r5.changed]}
    - group: {name: qs19lg, gid: 47195, local: true}
      register: r6
      ignore_errors: true
    - assert:
        that:
          - >-
            r6.failed and r6.msg == "GID '47195' already exists with group 'qs19nu1'"
    - group: {name: qs19lg, gid: 47197, local: true}
      register: r7
    - assert: {that: [r7.changed, r7.gid == 47197]}
    - group: {name: qs19lg, gid_min: 1000, local: true}
      register: r8
      ignore_errors: true
    - group: {name: qs19lg, state: absent, local: true, force: true}
      register: r9
      ignore_errors: true
    - assert:
        that:
          - >-
            r8.msg == "'gid_min' can not be used with 'local'"
          - >-
            r9.msg == "force is not a valid option for local, force=True and local=True are mutually exclusive"
    - group: {name: qs19lg, state: absent, local: true}
      register: r10
    - assert: {that: [r10.changed]}
"#;

#[test]
fn group_options_act_and_fail_as_ansible() {
    let _accounts = accounts();
    let test = Test::new()
        .file("play.yml", GROUP_OPTIONS)
        .args(&["run", "play.yml"]);
    let output = test.run();
    let lg = getent("group", "qs19lg");
    let _ = std::process::Command::new("userdel").arg("qs19fu").output();
    for name in [
        "qs19nu1", "qs19nu2", "qs19nu3", "qs19mm", "qs19fg", "qs19lg",
    ] {
        let _ = std::process::Command::new("groupdel").arg(name).output();
    }
    let output = output.success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=22 changed=8 unreachable=0 failed=0 skipped=0 rescued=0 ignored=5"
    );
    assert_eq!(lg, None);
}

// Expected from ansible-core 2.19.14: the same changes, shadow fields and homes for the
// same playbook (`expires` compared by day, `-1` clearing it; the ages set with `chage`;
// `password_lock` as a `!` before the hash, kept when `update_password: on_create`; a new
// home from the skeleton with `umask`; `~` in `shell` the home of the user the task runs
// as; a home that is not there made for an existing account with login.defs' mode);
// ok=20 changed=14.
const USER_OPTIONS: &str = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - file: {path: /tmp/qs19skel, state: directory}
    - copy: {content: "hello\n", dest: /tmp/qs19skel/.profile_qs}
    - user: {name: qs19e, uid: 47311, expires: 1893456000, password_expire_max: 30, password_expire_min: 1, password_expire_warn: 5, password_expire_account_disable: 10, create_home: false}
      register: r1
    - user: {name: qs19e, expires: 1893456000.5, password_expire_max: 30, password_expire_min: 1, password_expire_warn: 5, create_home: false}
      register: r2
    - command: getent shadow qs19e
      register: s1
    - user: {name: qs19e, expires: -1, create_home: false}
      register: r3
    - user: {name: qs19e, password: '$6$salt$hash', password_lock: true, create_home: false}
      register: r4
    - command: getent shadow qs19e
      register: s2
    - user: {name: qs19e, password: '$6$other$hash', update_password: on_create, create_home: false}
      register: r5
    - user: {name: qs19e, password_lock: false, create_home: false}
      register: r6
    - command: getent shadow qs19e
      register: s3
    - user: {name: qs19h, skeleton: /tmp/qs19skel, umask: '077', shell: ~/qs19sh}
      register: r7
    - stat: {path: /home/qs19h}
      register: h7
    - stat: {path: /home/qs19h/.profile_qs}
      register: p7
    - user: {name: qs19f, create_home: false}
    - user: {name: qs19f}
      register: r8
    - stat: {path: /home/qs19f}
      register: h8
    - assert:
        that:
          - r1.changed and not r2.changed and r3.changed and r4.changed and not r5.changed and r6.changed
          - r7.changed and r8.changed
          - >-
            s1.stdout.split(':')[3:8] == ['1', '30', '5', '10', '21915']
          - >-
            s2.stdout.split(':')[1] == '!$6$salt$hash' and s2.stdout.split(':')[7] == ''
          - >-
            s3.stdout.split(':')[1] == '$6$salt$hash'
          - r7.shell == '/root/qs19sh' and h7.stat.mode == '0700' and p7.stat.exists and p7.stat.pw_name == 'qs19h'
          - h8.stat.isdir and h8.stat.pw_name == 'qs19f' and h8.stat.mode == '0755'
    - user: {name: '{{ item }}', state: absent, remove: true}
      loop: [qs19e, qs19h, qs19f]
    - file: {path: /tmp/qs19skel, state: absent}
"#;

#[test]
fn user_expiry_ages_locks_and_homes_as_ansible() {
    let _accounts = accounts();
    let test = Test::new()
        .file("play.yml", USER_OPTIONS)
        .args(&["run", "play.yml"]);
    let output = test.run();
    if output.code != 0 {
        for user in ["qs19e", "qs19h", "qs19f"] {
            let _ = std::process::Command::new("userdel")
                .args(["-r", user])
                .output();
        }
        let _ = std::fs::remove_dir_all("/tmp/qs19skel");
    }
    let output = output.success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=20 changed=14 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(getent("passwd", "qs19e"), None);
}

// Expected from ansible-core 2.19.14: the same changes and lines for the same playbook
// (`local` through libuser: groups with `lgroupmod`, expiry with `lchage`; groups named by
// gid compared by name; `append` without `groups` warned about; `umask` with `local`
// refused with the module's message); ok=14 changed=9 ignored=1.
const USER_LOCAL: &str = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - group: {name: qs19lg1, gid: 47321}
    - group: {name: qs19lg2}
    - user: {name: qs19l, local: true, groups: [qs19lg1], expires: 1893456000, create_home: false}
      register: r1
    - user: {name: qs19l, local: true, groups: [qs19lg1], expires: 1893456000, create_home: false}
      register: r2
    - user: {name: qs19l, local: true, groups: [qs19lg2], create_home: false}
      register: r3
    - command: getent group qs19lg1 qs19lg2
      register: g3
    - user: {name: qs19l, groups: '47321', append: true, create_home: false}
      register: r4
    - user: {name: qs19l, groups: '47321', append: true, create_home: false}
      register: r5
    - user: {name: qs19l, append: true, create_home: false}
      register: r6
    - user: {name: qs19l, local: true, umask: '077'}
      register: r7
      ignore_errors: true
    - command: getent shadow qs19l
      register: s
    - assert:
        that:
          - r1.changed and not r2.changed and r3.changed and r4.changed and not r5.changed and not r6.changed
          - >-
            g3.stdout_lines == ['qs19lg1:x:47321:', 'qs19lg2:x:' ~ (g3.stdout_lines[1].split(':')[2]) ~ ':qs19l']
          - >-
            r6.warnings is search("'append' is set, but no 'groups' are specified")
          - >-
            r7.failed and r7.msg == "'umask' can not be used with 'local'"
          - >-
            s.stdout.split(':')[7] == '21915'
    - user: {name: qs19l, state: absent, local: true}
    - group: {name: '{{ item }}', state: absent}
      loop: [qs19lg1, qs19lg2]
"#;

#[test]
fn user_local_and_groups_by_gid_as_ansible() {
    let _accounts = accounts();
    let test = Test::new()
        .file("play.yml", USER_LOCAL)
        .args(&["run", "play.yml"]);
    let output = test.run();
    if output.code != 0 {
        let _ = std::process::Command::new("userdel").arg("qs19l").output();
        for group in ["qs19lg1", "qs19lg2"] {
            let _ = std::process::Command::new("groupdel").arg(group).output();
        }
    }
    let output = output.success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=14 changed=9 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1"
    );
    assert_eq!(getent("passwd", "qs19l"), None);
}

#[test]
fn group_arguments_are_refused_where_written() {
    refused(
        "group: {name: x, bogus: true}",
        "error: unknown argument `bogus` (expected one of `name`, `gid`, `state`, `system`, `force`, `local`, `non_unique`, `gid_min`, `gid_max`) at play.yml:5:24",
    );
    refused(
        "group: {name: x, state: gone}",
        "error: unknown value `gone` (expected one of `present`, `absent`) at play.yml:5:31",
    );
    refused(
        "group: {name: x, gid: -1}",
        "error: invalid value: integer `-1`, expected u32 at play.yml:5:29",
    );
}

// Expected from ansible-core 2.19.14: each value asserted is what ansible-playbook
// registered for the same task (a new account registers `create_home` and `system`, an
// existing one `append` and `move_home`; the password is never registered; check mode on
// a new account registers `changed` alone; removal registers what `userdel` said).
const USERS: &str = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - group: {name: qs19ug}
    - user: {name: qs19u, uid: 47301, group: qs19ug, groups: [adm, audio], shell: /bin/sh, comment: QS user, home: /home/qs19u, password: '$6$salt$hash'}
      register: r1
    - assert:
        that:
          - r1.changed and r1.uid == 47301 and r1.name == 'qs19u' and r1.state == 'present'
          - r1.groups == 'adm,audio' and r1.shell == '/bin/sh' and r1.comment == 'QS user'
          - r1.home == '/home/qs19u' and r1.create_home and not r1.system
          - r1.password == 'NOT_LOGGING_PASSWORD' and r1.append is not defined
    - ansible.builtin.user: {name: qs19u, uid: 47301, group: qs19ug, groups: 'adm,audio', shell: /bin/sh, comment: QS user, home: /home/qs19u, password: '$6$salt$hash'}
      register: r2
    - assert: {that: [not r2.changed, not r2.append, not r2.move_home, r2.system is not defined]}
    - user: {name: qs19u, groups: [video], append: true, shell: /bin/bash}
      register: r3
    - assert: {that: [r3.changed, r3.append, r3.groups == 'video', r3.shell == '/bin/bash']}
    - user: {name: qs19u, groups: [video]}
      check_mode: true
      register: r4
    - assert: {that: [r4.changed, r4.groups == 'video']}
    - user: {name: qs19n, uid: 47302}
      check_mode: true
      register: r5
    - assert: {that: [r5.changed, r5.name is not defined]}
    - user: {name: qs19s, system: true, create_home: false}
      register: r6
    - assert: {that: [r6.changed, r6.system, r6.uid < 1000, not r6.create_home]}
    - user: {name: qs19v, group: qs19nosuch}
      register: r7
      ignore_errors: true
    - assert: {that: [r7.failed, "r7.msg == 'Group qs19nosuch does not exist'"]}
    - user: {name: qs19v, uid: 0}
      register: r8
      ignore_errors: true
    - assert: {that: [r8.failed, r8.rc == 4, r8.name == 'qs19v', r8.msg is search('UID 0 is not unique')]}
"#;

const USERS_GONE: &str = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - user: {name: qs19u, state: absent, remove: true}
      register: r1
    - assert: {that: [r1.changed, r1.remove, not r1.force, r1.state == 'absent', r1.stderr is defined]}
    - user: {name: qs19u, state: absent}
      register: r2
    - assert: {that: [not r2.changed, r2.name == 'qs19u', r2.stderr is not defined]}
    - user: {name: qs19s, state: absent}
    - group: {name: qs19ug, state: absent}
"#;

fn remove_accounts() {
    for user in ["qs19u", "qs19s", "qs19n", "qs19v"] {
        let _ = std::process::Command::new("userdel")
            .args(["-r", user])
            .output();
    }
    let _ = std::process::Command::new("groupdel")
        .arg("qs19ug")
        .output();
}

#[test]
fn user_creates_changes_and_removes_as_ansible() {
    let _accounts = accounts();
    let test = Test::new()
        .file("play.yml", USERS)
        .file("gone.yml", USERS_GONE)
        .args(&["run", "play.yml"]);
    let output = test.run();
    let shadow = getent("shadow", "qs19u");
    let ids = std::process::Command::new("id")
        .args(["-Gn", "qs19u"])
        .output()
        .unwrap();
    let home = std::path::Path::new("/home/qs19u").is_dir();
    if output.code != 0 {
        remove_accounts();
    }
    let output = output.success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=17 changed=6 unreachable=0 failed=0 skipped=0 rescued=0 ignored=2"
    );
    assert_eq!(shadow.unwrap().split(':').nth(1), Some("$6$salt$hash"));
    assert_eq!(
        String::from_utf8_lossy(&ids.stdout).trim(),
        "qs19ug adm audio video"
    );
    assert!(home, "the home directory was not made");
    assert!(!output.stdout.contains("$6$salt"), "the hash was shown");
    let gone = Test::new().args(&["run", "gone.yml"]).run_in(test.path());
    remove_accounts();
    gone.success();
    assert!(!std::path::Path::new("/home/qs19u").exists());
    assert_eq!(getent("passwd", "qs19u"), None);
}

#[test]
fn user_arguments_are_refused_where_written() {
    refused(
        "user: {name: x, move_home: true}",
        "error: unknown argument `move_home` (expected one of `name`, `user`, `uid`, `group`, `groups`, `append`, `home`, `create_home`, `createhome`, `shell`, `system`, `state`, `remove`, `force`, `comment`, `password`, `update_password`, `skeleton`, `umask`, `uid_min`, `uid_max`, `expires`, `password_lock`, `password_expire_min`, `password_expire_max`, `password_expire_warn`, `local`, `password_expire_account_disable`, `generate_ssh_key`, `ssh_key_passphrase`, `ssh_key_bits`, `ssh_key_type`, `ssh_key_file`, `ssh_key_comment`) at play.yml:5:23",
    );
    refused(
        "user: {name: x, update_password: never}",
        "error: unknown value `never` (expected one of `always`, `on_create`) at play.yml:5:40",
    );
    refused(
        "user: {name: 'bad name'}",
        "error: `bad name` is not a user or group name at play.yml:5:20",
    );
}

// Expected from ansible-core 2.19.14: the same tasks give these results (recap ok=20
// changed=1 ignored=5), each value asserted is the one ansible-playbook registered, and
// the failures' messages are Ansible's.
const WAITS: &str = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - wait_for: timeout=1
      register: a
    - assert:
        that:
          - not a.changed and a.elapsed == 1 and a.state == 'started'
          - a.path is none and a.port is none and a.search_regex is none
          - a.match_groups == [] and a.match_groupdict == {}
    - copy: {dest: "{{ dir }}/wf.txt", content: "ready port=8080\n"}
    - ansible.builtin.wait_for: {path: "{{ dir }}/wf.txt", search_regex: "port=(?P<p>\\d+)$", timeout: 2}
      register: b
    - assert:
        that:
          - b.state == 'file' and b.path == dir ~ '/wf.txt' and b.elapsed == 0
          - b.match_groups == ['8080'] and b.match_groupdict.p == '8080' and b.match_groupdict | length == 1
          - b.mode == '0644' and b.size == 16 and b.owner == 'root'
    - wait_for: {path: "{{ dir }}/nope", state: absent}
      register: c
    - assert: {that: [c.state == 'absent', c.match_groups | length == 0]}
    - wait_for: {path: "{{ dir }}/wf.txt", state: absent, timeout: 1}
      register: d
      ignore_errors: true
    - assert: {that: [d.failed, "d.msg == 'Timeout when waiting for ' ~ dir ~ '/wf.txt to be absent.'", d.elapsed == 1]}
    - wait_for: {path: "{{ dir }}/wf.txt", search_regex: nomatch, timeout: 1}
      register: e
      ignore_errors: true
    - assert: {that: ["e.msg == 'Timeout when waiting for search string nomatch in ' ~ dir ~ '/wf.txt'"]}
    - wait_for: {path: "{{ dir }}/nope", timeout: 1, sleep: 1}
      register: f
      ignore_errors: true
    - assert: {that: ["f.msg == 'Timeout when waiting for file ' ~ dir ~ '/nope'"]}
    - wait_for: {port: 1, state: stopped, timeout: 1}
      register: g
    - assert: {that: [g.state == 'stopped', g.port == 1, g.path is none]}
    - wait_for: {port: "{{ open }}", state: drained, timeout: 1, msg: custom says no}
      register: h
    - wait_for: {port: "{{ open }}", state: stopped, timeout: 1, msg: custom says no}
      register: i
      ignore_errors: true
    - assert: {that: [i.failed, i.msg == 'custom says no']}
    - wait_for: {port: 1, timeout: 1}
      register: j
      ignore_errors: true
    - assert: {that: [j.failed, "j.msg == 'Timeout when waiting for 127.0.0.1:1'", j.elapsed == 1]}
"#;

/// A test of `playbook` with its folder as `dir` and `open` a port that accepts.
fn wait_play(playbook: &str, open: &str) -> Test {
    let test = Test::new().file("play.yml", playbook);
    let dir = test.path().display().to_string();
    test.args(&[
        "run",
        "play.yml",
        "-e",
        &format!("dir={dir}"),
        "-e",
        &format!("open={open}"),
    ])
}

#[test]
fn wait_for_takes_ansibles_forms() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let open = listener.local_addr().unwrap().port().to_string();
    let test = wait_play(WAITS, &open);
    let output = test.run().success();
    drop(listener);
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=20 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=5"
    );
}

// Expected from ansible-core 2.19.14 on the same connections (a python3 process holding a
// connected pair and an idle listener, closing them when `close` appears): every task and
// assertion gives the same result, recap ok=18 changed=1 ignored=6, and the failures'
// messages (`elapsed` 1 on the timeouts, 0 on the argument checks) are Ansible's.
const DRAINS: &str = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - wait_for: {port: "{{ idle }}", state: drained, timeout: 2}
      register: a
    - assert:
        that:
          - not a.changed and a.state == 'drained' and a.port == idle | int and a.elapsed == 0
          - a.path is none and a.search_regex is none and a.match_groups == [] and a.match_groupdict == {}
    - wait_for: {port: "{{ busy }}", state: drained, timeout: 1}
      register: b
      ignore_errors: true
    - assert: {that: [b.failed, "b.msg == 'Timeout when waiting for 127.0.0.1:' ~ busy ~ ' to drain'", b.elapsed == 1]}
    - wait_for: {port: "{{ busy }}", state: drained, timeout: 1, exclude_hosts: [127.0.0.1]}
    - wait_for: {port: "{{ busy }}", state: drained, timeout: 1, exclude_hosts: "10.9.9.9,localhost"}
    - wait_for: {port: "{{ busy }}", state: drained, timeout: 1, host: 0.0.0.0, msg: still busy}
      register: d
      ignore_errors: true
    - wait_for: {port: "{{ busy }}", state: drained, timeout: 1, host: localhost}
      register: e
      ignore_errors: true
    - assert: {that: ["d.msg == 'still busy'", "e.msg == 'Timeout when waiting for localhost:' ~ busy ~ ' to drain'"]}
    - wait_for: {port: "{{ busy }}", state: drained, timeout: 1, host: 127.0.0.2}
    - wait_for: {port: "{{ busy }}", state: drained, timeout: 1, active_connection_states: [SYN_SENT, TIME_WAIT]}
    - wait_for: {port: 1, exclude_hosts: [10.0.0.1], timeout: 1}
      register: f
      ignore_errors: true
    - wait_for: {path: /tmp, state: drained, timeout: 1}
      register: g
      ignore_errors: true
    - wait_for: {port: 1, state: drained, active_connection_states: [BOGUS], timeout: 1}
      register: h
      ignore_errors: true
    - assert:
        that:
          - f.msg == 'exclude_hosts should only be with state=drained' and f.elapsed == 0
          - g.msg == 'state=drained should only be used for checking a port in the wait_for module'
          - h.msg == 'unknown active_connection_state (BOGUS) defined'
    - copy: {dest: "{{ dir }}/close", content: ""}
    - wait_for: {port: "{{ busy }}", state: drained, timeout: 10}
      register: i
    - assert: {that: [i.state == 'drained', not i.changed]}
"#;

#[test]
fn wait_for_drained_counts_the_connections_left_as_ansible() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let idle = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(busy.local_addr().unwrap()).unwrap();
    let (server, _) = busy.accept().unwrap();
    let test = Test::new().file("play.yml", DRAINS);
    let dir = test.path().to_path_buf();
    let dir_var = format!("dir={}", dir.display());
    // The client closes first, so the TIME_WAIT left is on its own port, not `busy`'s.
    let closer = std::thread::spawn(move || {
        let limit = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !dir.join("close").exists() && std::time::Instant::now() < limit {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        drop(client);
        std::thread::sleep(std::time::Duration::from_millis(200));
        drop(server);
    });
    let output = test
        .args(&[
            "run",
            "play.yml",
            "-e",
            &dir_var,
            "-e",
            &format!("busy={}", busy.local_addr().unwrap().port()),
            "-e",
            &format!("idle={}", idle.local_addr().unwrap().port()),
        ])
        .run()
        .success();
    closer.join().unwrap();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=18 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=6"
    );
}

// Expected from ansible-core 2.19.14 with stdin not a terminal: the same registered
// values (`stdout` as Python prints the duration; a prompt without a time goes on at once
// with Ansible's warning), recap ok=6 changed=0.
const PAUSES: &str = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - pause: {seconds: 1}
      register: a
    - assert:
        that:
          - not a.changed and a.delta == 1 and a.rc == 0 and a.echo
          # ansible-core prints the time it measured, rounded to 1/100 s: 1.0 on a quiet
          # machine, 1.01 or more on a loaded one
          - a.stdout is match('Paused for 1\.\d\d? seconds$') and a.user_input == '' and a.stderr == ''
          - a.start is match('\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$') and a.stop > a.start
    - ansible.builtin.pause: {prompt: Continue?}
      register: b
    - assert:
        that:
          - b.delta == 0 and b.stdout == 'Paused for 0.0 minutes' and b.user_input == ''
          - b.warnings == ['Not waiting for response to prompt as stdin is not interactive']
    - pause: {seconds: 1, minutes: 1}
      register: c
      ignore_errors: true
    - assert: {that: [c.failed, "c.msg == 'parameters are mutually exclusive: minutes|seconds'"]}
"#;

#[test]
fn pause_waits_and_goes_on_without_a_terminal_as_ansible() {
    let started = std::time::Instant::now();
    let output = Test::new()
        .file("play.yml", PAUSES)
        .args(&["run", "play.yml"])
        .run()
        .success();
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=6 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1"
    );
}

#[test]
fn pause_arguments_are_refused_where_written() {
    refused(
        "pause: {seconds: 1, echo: false, timeout: 3}",
        "error: unknown argument `timeout` (expected one of `seconds`, `minutes`, `prompt`, `echo`) at play.yml:5:40",
    );
    refused(
        "pause: {seconds: soon}",
        "error: expected u64, found string \"soon\" at play.yml:5:24",
    );
}

// On a fleet host over SSH as its unprivileged user, with `become` (sudo): the same play
// under ansible-core 2.19.14 on the same host registered these values (beside its
// interpreter discovery warning) and left these /etc/passwd, /etc/group and /etc/shadow
// lines; it printed the password warning once for the run, as quayside does. The fleet's
// hosts share this machine's /etc, so the play runs on one of them.
const FLEET_ACCOUNTS: &str = r#"
- hosts: host1
  gather_facts: false
  become: true
  tasks:
    - group: {name: qsf19g, gid: 47411}
      register: g1
    - assert: {that: [g1.changed, g1.gid == 47411, g1.name == 'qsf19g', g1.state == 'present', not g1.system]}
    - group: {name: qsf19g, gid: 47411}
      register: g2
    - assert: {that: [not g2.changed, g2.gid == 47411]}
    - group: {name: qsf19s, system: true}
      register: g3
    - assert: {that: [g3.changed, g3.system, g3.gid < 1000]}
    - user: {name: qsf19u, uid: 47411, group: qsf19g, groups: [adm, qsf19s], shell: /bin/sh, comment: QS fleet, home: /home/qsf19u, password: '$6$salt$fleet'}
      register: u1
    - assert:
        that:
          - u1.changed and u1.uid == 47411 and u1.group == 47411 and u1.groups == 'adm,qsf19s'
          - u1.create_home and not u1.system and u1.append is not defined
          - u1.home == '/home/qsf19u' and u1.shell == '/bin/sh' and u1.comment == 'QS fleet'
          - u1.password == 'NOT_LOGGING_PASSWORD'
          - >-
            u1.warnings == ["The input password appears not to have been hashed. The 'password' argument must be encrypted for this module to work properly."]
    - user: {name: qsf19u, uid: 47411, group: qsf19g, groups: 'adm,qsf19s', shell: /bin/sh, comment: QS fleet, home: /home/qsf19u, password: '$6$salt$fleet'}
      register: u2
    - assert: {that: [not u2.changed, not u2.append, not u2.move_home, u2.create_home is not defined, u2.warnings | length == 1]}
    - user: {name: qsf19u, groups: [audio], append: true, shell: /bin/bash}
      register: u3
    - assert: {that: [u3.changed, u3.append, u3.groups == 'audio', u3.shell == '/bin/bash', u3.password is not defined, u3.warnings is not defined]}
    - user: {name: qsf19u, groups: [video]}
      check_mode: true
      register: u4
    - assert: {that: [u4.changed, not u4.append, u4.groups == 'video', u4.uid == 47411]}
    - user: {name: qsf19n, uid: 47412}
      check_mode: true
      register: u5
    - assert: {that: [u5.changed, u5.name is not defined]}
    - user: {name: qsf19x, group: qsf19nosuch}
      register: u6
      ignore_errors: true
    - assert: {that: [u6.failed, not u6.changed, "u6.msg == 'Group qsf19nosuch does not exist'"]}
    - shell: "getent passwd qsf19u; getent group qsf19g adm audio; getent shadow qsf19u | cut -d: -f1-2,4-; id -Gn qsf19u; stat -c '%U %G %a' /home/qsf19u"
      register: files
      changed_when: false
    - assert:
        that:
          - files.stdout_lines[0] == 'qsf19u:x:47411:47411:QS fleet:/home/qsf19u:/bin/bash'
          - files.stdout_lines[1] == 'qsf19g:x:47411:'
          - files.stdout_lines[2] is match('^adm:x:4:(.*,)?qsf19u$')
          - files.stdout_lines[3] is match('^audio:x:29:(.*,)?qsf19u$')
          - files.stdout_lines[4] == 'qsf19u:$6$salt$fleet:0:99999:7:::'
          - files.stdout_lines[5] == 'qsf19g adm audio qsf19s'
          - files.stdout_lines[6] == 'qsf19u qsf19g 755'
- hosts: host1
  gather_facts: false
  become: true
  tasks:
    - user: {name: qsf19u, state: absent, remove: true}
      register: d1
    - assert:
        that:
          - d1.changed and d1.remove and not d1.force and d1.state == 'absent'
          - "d1.stderr == 'userdel: qsf19u mail spool (/var/mail/qsf19u) not found\n'"
    - user: {name: qsf19u, state: absent}
      register: d2
    - assert: {that: [not d2.changed, d2.stderr is not defined]}
    - group: {name: qsf19g, state: absent}
      register: d3
    - assert: {that: [d3.changed, d3.state == 'absent']}
    - group: {name: qsf19s, state: absent}
"#;

#[test]
fn user_and_group_on_a_fleet_host_with_become_as_ansible() {
    let _accounts = accounts();
    let test = Test::new().file("play.yml", FLEET_ACCOUNTS);
    let output = crate::common::fleet::run_play(&test, "host1", &[]);
    for user in ["qsf19u", "qsf19n", "qsf19x"] {
        let _ = std::process::Command::new("userdel")
            .args(["-r", user])
            .output();
    }
    for group in ["qsf19g", "qsf19s"] {
        let _ = std::process::Command::new("groupdel").arg(group).output();
    }
    let output = output.success();
    assert_eq!(
        output.recap("host1"),
        "host1 : ok=27 changed=9 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1"
    );
    assert_eq!(
        output
            .stdout
            .matches("[WARNING]: The input password appears not to have been hashed.")
            .count(),
        1
    );
    assert!(!output.stdout.contains("$6$salt"), "the hash was shown");
    assert!(!std::path::Path::new("/home/qsf19u").exists());
}

#[test]
fn user_ssh_key_passphrase_and_force_as_ansible() {
    // Expected from ansible-core 2.19.14, the same playbook (its asserts included): the
    // same results and recap (ok=8 changed=4), the same two warnings, the same key files.
    // The key is made with the passphrase; `force` with a passphrase keeps an existing
    // key, unchanged, and removes its public key (ansible-core answers ssh-keygen on a
    // terminal and stops at its `Overwrite (y/n)?`); `force` in check mode changes
    // nothing; `force` without one makes a new pair. The passphrase is never shown: not
    // at -v (where the `command` tasks' `cmd` holds it), not in the log.
    let _accounts = accounts();
    let test = Test::new()
        .file(
            "play.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              tasks:
                - user: {name: qs19p, generate_ssh_key: true, ssh_key_file: .ssh/pk, ssh_key_passphrase: s3cret-pass-19, force: true}
                  register: a
                - command: ssh-keygen -y -f {{ a.ssh_key_file }} -P s3cret-pass-19
                  changed_when: false
                - command: ssh-keygen -y -f {{ a.ssh_key_file }} -P ''
                  register: empty
                  failed_when: empty.rc == 0
                - name: force with a passphrase keeps the key
                  user: {name: qs19p, generate_ssh_key: true, ssh_key_file: .ssh/pk, ssh_key_passphrase: other-pass-19, force: true}
                  register: b
                - name: force in check mode
                  user: {name: qs19p, generate_ssh_key: true, ssh_key_file: .ssh/pk, force: true}
                  check_mode: true
                  register: c
                - name: force without a passphrase makes a new key
                  user: {name: qs19p, generate_ssh_key: true, ssh_key_file: .ssh/pk, force: true}
                  register: d
                - command: ssh-keygen -y -f {{ a.ssh_key_file }} -P ''
                  changed_when: false
                - assert:
                    that:
                      - a is changed and a.ssh_key_file == '/home/qs19p/.ssh/pk'
                      - a.ssh_public_key is match('ssh-rsa AAAA')
                      - b is not changed and b.ssh_public_key is none
                      - b.ssh_fingerprint == a.ssh_fingerprint | replace('ansible-generated on ' ~ lookup('pipe', 'hostname'), 'no comment')
                      - b.warnings | length == 2
                      - c is changed and c.ssh_fingerprint == b.ssh_fingerprint
                      - d is changed and d.ssh_fingerprint != a.ssh_fingerprint
                      - d.ssh_public_key is match('ssh-rsa AAAA')
            "#,
        )
        .args(&["run", "play.yml", "-v", "--log", "run.log"]);
    let _ = std::process::Command::new("userdel")
        .args(["-r", "qs19p"])
        .output();
    let output = test.run();
    let log = std::fs::read_to_string(test.path().join("run.log")).unwrap_or_default();
    let files = ["/home/qs19p/.ssh/pk", "/home/qs19p/.ssh/pk.pub"]
        .map(|f| std::path::Path::new(f).exists());
    let _ = std::process::Command::new("userdel")
        .args(["-r", "qs19p"])
        .output();
    let output = output.success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=8 changed=4 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    for warning in [
        "[WARNING]: Overwriting existing ssh key private file \"/home/qs19p/.ssh/pk\"",
        "[WARNING]: Overwriting existing ssh key public file \"/home/qs19p/.ssh/pk.pub\"",
    ] {
        assert!(
            output.stdout.contains(warning),
            "{warning} in:\n{}",
            output.stdout
        );
    }
    assert!(!log.is_empty(), "no log");
    for secret in ["s3cret-pass-19", "other-pass-19"] {
        for (what, text) in [
            ("stdout", &output.stdout),
            ("stderr", &output.stderr),
            ("log", &log),
        ] {
            assert!(
                !text.contains(secret),
                "the passphrase is in the {what}:\n{text}"
            );
        }
    }
    assert_eq!(files, [true, true]);
}

#[test]
fn user_generates_an_ssh_key_pair_as_ansible() {
    // Expected from ansible-core 2.19.14: the first run makes `.ssh` (0700) and the pair,
    // owned by the account, and registers `ssh_fingerprint`, `ssh_key_file` and
    // `ssh_public_key`; the second finds the key, warns that it skips ssh-keygen and is
    // ok with the same values.
    let _accounts = accounts();
    let test = Test::new()
        .file(
            "play.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              tasks:
                - user: {name: qs19k, generate_ssh_key: true, ssh_key_type: ed25519, ssh_key_comment: k@q}
                  register: k
                - assert:
                    that:
                      - k.ssh_key_file == '/home/qs19k/.ssh/id_ed25519'
                      - k.ssh_public_key is match('ssh-ed25519 AAAA\S+ k@q$')
                      - k.ssh_fingerprint is match('256 SHA256:\S+ k@q \(ED25519\)$')
            "#,
        )
        .args(&["run", "play.yml"]);
    let first = test.run();
    let second = Test::new().args(&["run", "play.yml"]).run_in(test.path());
    let meta = std::fs::metadata("/home/qs19k/.ssh");
    let key = std::fs::metadata("/home/qs19k/.ssh/id_ed25519");
    let owner = getent("passwd", "qs19k");
    let _ = std::process::Command::new("userdel")
        .args(["-r", "qs19k"])
        .output();
    let first = first.success();
    assert_eq!(
        first.recap("localhost"),
        "localhost : ok=2 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    let second = second.success();
    assert_eq!(
        second.recap("localhost"),
        "localhost : ok=2 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert!(second.stdout.contains(
        "[WARNING]: Found existing ssh key private file \"/home/qs19k/.ssh/id_ed25519\", no force, so skipping ssh-keygen generation"
    ) || second.stderr.contains("Found existing ssh key private file"));
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = meta.unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o700);
    let uid: u32 = owner.unwrap().split(':').nth(2).unwrap().parse().unwrap();
    assert_eq!(meta.uid(), uid);
    assert_eq!(key.unwrap().uid(), uid);
}
