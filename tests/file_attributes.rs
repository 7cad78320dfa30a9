//! `attributes` (alias `attr`), chattr's flags, as ansible-core's file modules set them
//! (module_utils/basic.py's `set_attributes_if_different`): lsattr's flags compared as text
//! with the wanted ones, `+`, `-` or `=`, chattr's own failures reported as `chattr failed`
//! with its words. Each playbook asserts what ansible-core 2.19.14 registered for it on
//! this machine's ext4 and tmpfs; the flags a file system gives every file (`e` on ext4)
//! are read with lsattr in the playbook, so the assertions hold on either.

use crate::common::Test;
use crate::modules_files::play;

fn lsattr(path: &std::path::Path) -> String {
    let out = std::process::Command::new("lsattr")
        .arg("-d")
        .arg(path)
        .output()
        .expect("lsattr runs");
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .next()
        .unwrap_or_default()
        .replace('-', "")
}

// Expected from ansible-core 2.19.14: the same playbook gives these results (`A` as
// written is `=A`: on ext4 chattr keeps `e` and the second `A` runs chattr again, whose
// "Operation not permitted" fails the task, as here; `+A` on a file with `Ae` changes it
// again, `Ae` as lsattr prints it does not, `-A` always does).
const FLAGS: &str = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - command: lsattr -d {{ dir }}/f
      register: plain
    - set_fact:
        fs: "{{ plain.stdout.split()[0] | replace('-', '') }}"
    - file: {path: "{{ dir }}/f", attributes: +A}
      register: r1
    - file: {path: "{{ dir }}/f", attr: "A{{ fs }}"}
      register: r2
    - file: {path: "{{ dir }}/f", attributes: +A}
      register: r3
    - file: {path: "{{ dir }}/f", attributes: -A}
      register: r4
    - file: {path: "{{ dir }}/f", attributes: ""}
      register: r5
    - file: {path: "{{ dir }}/f", attributes: "+"}
      register: r6
    - file: {path: "{{ dir }}/f", attributes: -A}
      register: r7
    - assert:
        that:
          - r1 is changed and r1.state == 'file' and r1.mode == '0644' and r1.path == dir ~ '/f'
          - r1.diff is not defined
          - r2 is not changed
          - (r3 is changed) == (fs != '')
          - r4 is changed and r7 is changed
          - r5 is not changed and r6 is not changed
"#;

#[test]
fn attributes_are_set_as_ansible_sets_them() {
    let test = play(FLAGS).file("f", "");
    test.run().success();
    assert!(
        !lsattr(&test.path().join("f")).contains('A'),
        "{}",
        lsattr(&test.path().join("f"))
    );
}

// Expected from ansible-core 2.19.14 with --diff: the diff names the path, lsattr's flags
// before and the flags as written after; mode and owners changed beside them are in it
// too; a new directory's state. In check mode the flags are read and nothing is set.
const DIFF: &str = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - command: lsattr -d {{ dir }}/f
      register: plain
    - set_fact:
        fs: "{{ plain.stdout.split()[0] | replace('-', '') }}"
    - file: {path: "{{ dir }}/f", attributes: +A, mode: '0600'}
      check_mode: true
      register: c1
    - command: lsattr -d {{ dir }}/f
      register: unchanged
    - file: {path: "{{ dir }}/f", attributes: +A, mode: '0600'}
      register: r1
    - file: {path: "{{ dir }}/d", state: directory, attributes: +A}
      register: r2
    - file: {path: "{{ dir }}/f", attributes: "A{{ fs }}", mode: '0600'}
      register: r3
    - file: {path: "{{ dir }}/new", state: touch, attributes: +A}
      check_mode: true
      register: c2
    - assert:
        that:
          - c1 is changed and c1.mode == '0644'
          - >-
            c1.diff == {'before': {'path': dir ~ '/f', 'attributes': fs, 'mode': '0644'}, 'after': {'path': dir ~ '/f', 'attributes': '+A', 'mode': '0600'}}
          - unchanged.stdout == plain.stdout
          - r1 is changed and r1.mode == '0600'
          - r1.diff == c1.diff
          - >-
            r2 is changed and r2.diff.before.state == 'absent' and r2.diff.after == {'path': dir ~ '/d', 'state': 'directory', 'attributes': '+A'}
          - >-
            r3 is not changed and r3.diff == {'before': {'path': dir ~ '/f'}, 'after': {'path': dir ~ '/f'}}
          - c2 is changed and c2.diff is not defined and c2.state is not defined and c2.dest == dir ~ '/new'
"#;

#[test]
fn attributes_show_in_the_diff_and_check_mode_sets_none() {
    let test = play(DIFF).file("f", "");
    std::fs::set_permissions(
        test.path().join("f"),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let dir = test.path().display().to_string();
    let output = Test::new()
        .args(&["run", "play.yml", "--diff", "-e", &format!("dir={dir}")])
        .run_in(test.path())
        .success();
    let fs = lsattr(&test.path().join("f")).replace('A', "");
    // ansible-core's callback prints a mapping's sides as sorted JSON, four spaces.
    let printed = format!(
        "--- before\n+++ after\n@@ -1,5 +1,5 @@\n {{\n-    \"attributes\": \"{fs}\",\n-    \"mode\": \"0644\",\n+    \"attributes\": \"+A\",\n+    \"mode\": \"0600\",\n     \"path\": \"{dir}/f\"\n }}\n\n"
    );
    assert!(output.stdout.contains(&printed), "{}", output.stdout);
    assert!(lsattr(&test.path().join("f")).contains('A'));
    assert!(!test.path().join("new").exists());
}

// Expected from ansible-core 2.19.14: chattr's refusal fails the task with `chattr
// failed`, chattr's words (its full path in them) in `details`, and the path's attributes
// as they are; a device (lsattr cannot read its flags) is a `file` to ansible-core, and
// its flags fail the same way.
const REFUSED: &str = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - file: {path: "{{ dir }}/f", attributes: +Q}
      register: r1
      ignore_errors: true
    - file: {path: /dev/null}
      register: r2
    - file: {path: /dev/null, attributes: +A}
      register: r3
      ignore_errors: true
    - shell: command -v chattr
      register: chattr
    - assert:
        that:
          - r1 is failed and r1 is not changed and r1.msg == 'chattr failed'
          - >-
            r1.details == 'Error while setting attributes: Usage: ' ~ chattr.stdout ~ ' [-RVf] [-+=aAcCdDeijPsStTuFx] [-p project] [-v version] files...\n'
          - r1.path == dir ~ '/f' and r1.state == 'file' and r1.mode == '0644'
          - r2 is not changed and r2.state == 'file' and r2.mode == '0666'
          - r3 is failed and r3.msg == 'chattr failed' and r3.state == 'file'
          - >-
            r3.details == 'Error while setting attributes: ' ~ chattr.stdout ~ ': Operation not supported while reading flags on /dev/null\n'
"#;

#[test]
fn a_flag_chattr_refuses_fails_with_chattrs_words_as_ansible() {
    let test = play(REFUSED).file("f", "");
    std::fs::set_permissions(
        test.path().join("f"),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=5 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=2"
    );
}

// Expected from ansible-core 2.19.14: `stat` reads `lsattr -vd` by default: the version
// (a string), the flags and their names; where lsattr cannot read them (a device, a
// symbolic link, followed or not: lsattr is given the path) null, `[]` and `''`; none of
// the three with `get_attributes: false`.
const STAT: &str = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - file: {path: "{{ dir }}/f", attributes: +A}
    - file: {path: "{{ dir }}/l", src: "{{ dir }}/f", state: link}
    - stat: {path: "{{ dir }}/f"}
      register: f
    - stat: {path: /dev/null}
      register: null_device
    - stat: {path: "{{ dir }}/l", follow: true}
      register: link
    - stat: {path: "{{ dir }}/f", get_attributes: false}
      register: bare
    - assert:
        that:
          - "'A' in f.stat.attr_flags and 'noatime' in f.stat.attributes"
          - f.stat.attributes | length == f.stat.attr_flags | length
          - f.stat.version is string
          - null_device.stat.version is none and null_device.stat.attributes == [] and null_device.stat.attr_flags == ''
          - link.stat.isreg and link.stat.attr_flags == '' and link.stat.version is none
          - "'version' not in bare.stat and 'attributes' not in bare.stat and 'attr_flags' not in bare.stat"
"#;

#[test]
fn stat_reads_the_attributes_as_ansible() {
    play(STAT).file("f", "").run().success();
}

// Expected from ansible-core 2.19.14 (with --diff): copy, lineinfile, blockinfile and
// replace set the flags after the contents; new contents and flags together are
// `... and ownership, perms or SE linux context changed`; flags alone on contents that
// stay are a change (copy's: the `file` module's diff, lineinfile's and blockinfile's:
// their `file attributes` entry); as lsattr prints them they are no change; a file
// replaced with new contents does not keep its flags (blockinfile after replace sets `A`
// again); chattr's refusal fails the task after the file is written, with copy's checksum.
const EDITS: &str = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - command: lsattr -d {{ dir }}/e
      register: plain
    - set_fact:
        fs: "{{ plain.stdout.split()[0] | replace('-', '') }}"
    - copy: {content: "x\n", dest: "{{ dir }}/c", attributes: +A}
      register: c1
    - copy: {content: "x\n", dest: "{{ dir }}/c", attributes: "A{{ fs }}"}
      register: c2
    - copy: {content: "x\n", dest: "{{ dir }}/c", attributes: -A}
      register: c3
      check_mode: true
    - command: lsattr -d {{ dir }}/c
      register: c_flags
    - lineinfile: {path: "{{ dir }}/e", line: "b=2", attributes: +A}
      register: l1
    - lineinfile: {path: "{{ dir }}/e", line: "b=2", attr: -A}
      register: l2
    - replace: {path: "{{ dir }}/e", regexp: "2", replace: "3", attributes: +A}
      register: r1
    - blockinfile: {path: "{{ dir }}/e", block: "c=3", attributes: "A{{ fs }}"}
      register: b1
    - copy: {content: "y\n", dest: "{{ dir }}/bad", attributes: +Q}
      register: bad
      ignore_errors: true
    - assert:
        that:
          - c1 is changed and c1.mode == '0644' and c1.checksum == '6fcf9dfbd479ed82697fee719b9f8c610a11ff2a'
          - c2 is not changed
          - c3 is changed
          - >-
            c3.diff == {'before': {'path': dir ~ '/c', 'attributes': 'A' ~ fs}, 'after': {'path': dir ~ '/c', 'attributes': '-A'}}
          - "'A' in c_flags.stdout.split()[0]"
          - l1 is changed and l1.msg == 'line added and ownership, perms or SE linux context changed'
          - >-
            l1.diff[1] == {'before_header': dir ~ '/e (file attributes)', 'after_header': dir ~ '/e (file attributes)', 'before': {'attributes': fs}, 'after': {'attributes': '+A'}}
          - l2 is changed and l2.msg == 'ownership, perms or SE linux context changed'
          - l2.diff[1].before.attributes == 'A' ~ fs
          - r1 is changed and r1.msg == '1 replacements made and ownership, perms or SE linux context changed'
          - b1 is changed and b1.msg == 'Block inserted and ownership, perms or SE linux context changed'
          - b1.diff[1].before.attributes == fs and b1.diff[1].after.attributes == '=A' ~ fs
          - bad is failed and bad.msg == 'chattr failed' and bad.path == dir ~ '/bad'
          - >-
            bad.details is match('Error while setting attributes: Usage: .*chattr ')
          - bad.mode == '0644' and bad.state == 'file'
"#;

#[test]
fn copy_and_the_edits_set_attributes_after_the_contents_as_ansible() {
    let test = play(EDITS).file("e", "a=1\n");
    let dir = test.path().display().to_string();
    Test::new()
        .args(&["run", "play.yml", "--diff", "-e", &format!("dir={dir}")])
        .run_in(test.path())
        .success();
    assert_eq!(
        std::fs::read_to_string(test.path().join("e")).unwrap(),
        "a=1\nb=3\n# BEGIN ANSIBLE MANAGED BLOCK\nc=3\n# END ANSIBLE MANAGED BLOCK\n"
    );
    assert_eq!(
        std::fs::read_to_string(test.path().join("bad")).unwrap(),
        "y\n"
    );
}
