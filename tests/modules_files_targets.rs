//! The file modules' last gaps, found by running ansible-core's own integration targets
//! (`bench/ansible-targets`) beside quayside: each case here was run by ansible-playbook
//! 2.19.14 on the same playbook and files, and asserts what it did.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::common::Test;
use crate::modules_files::{mode, play, read};

/// Files `NAME.txt` holding `one`, each with a link `NAME-link` to it.
fn linked(test: &Test, names: &[&str]) {
    for name in names {
        std::fs::write(test.path().join(format!("{name}.txt")), "one\n").unwrap();
        std::os::unix::fs::symlink(
            format!("{name}.txt"),
            test.path().join(format!("{name}-link")),
        )
        .unwrap();
    }
}

#[test]
fn edits_with_backup_write_through_a_link_and_back_it_up_under_its_name() {
    // ansible-core's lineinfile target, "issue 76727".
    let test = play(
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - blockinfile: {path: '{{ dir }}/a-link', block: two, backup: true}
              register: a
            - replace: {path: '{{ dir }}/b-link', regexp: one, replace: three, backup: true}
              register: b
            - lineinfile: {path: '{{ dir }}/c-link', regexp: one, line: four, backup: true}
              register: c
            - lineinfile: {path: '{{ dir }}/c-link', regexp: one, line: four, backup: true}
              register: again
            - assert:
                that:
                  - a.backup_file.startswith(dir ~ '/a-link.')
                  - b.backup_file.startswith(dir ~ '/b-link.')
                  - c.backup.startswith(dir ~ '/c-link.') and c.backup.endswith('~')
                  - again is not changed and again.backup == ''
            - stat: {path: '{{ c.backup }}'}
              register: backup
            - assert: {that: [backup.stat.exists, not backup.stat.islnk]}
        ",
    );
    linked(&test, &["a", "b", "c"]);
    // Expected from ansible-core 2.19.14 (same playbook, same files): ok=7 changed=3; the
    // links stay links to their files, which get the new contents; each backup is a
    // regular file named after the link (`c-link.PID.DATE@TIME~`) with the old contents.
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=7 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    let at = |name: &str| test.path().join(name);
    for name in ["a", "b", "c"] {
        assert!(at(&format!("{name}-link")).is_symlink(), "{name}-link");
        let backups: Vec<_> = std::fs::read_dir(test.path())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| {
                let file = path.file_name().unwrap().to_string_lossy().into_owned();
                file.starts_with(&format!("{name}-link.")) && file.ends_with('~')
            })
            .collect();
        assert_eq!(backups.len(), 1, "{name}: {backups:?}");
        assert!(!backups[0].is_symlink());
        assert_eq!(read(&backups[0]), "one\n");
    }
    assert_eq!(
        read(&at("a.txt")),
        "one\n# BEGIN ANSIBLE MANAGED BLOCK\ntwo\n# END ANSIBLE MANAGED BLOCK\n"
    );
    assert_eq!(read(&at("b.txt")), "three\n");
    assert_eq!(read(&at("c.txt")), "four\n");
}

#[test]
fn an_edit_through_a_link_gives_owner_to_the_link_and_leaves_the_mode() {
    let test = play(
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - lineinfile: {path: '{{ dir }}/c-link', line: one, mode: '0600'}
            - lineinfile: {path: '{{ dir }}/c-link', line: two, mode: '0600'}
            - lineinfile: {path: '{{ dir }}/c-link', line: two, mode: '0600'}
            - lineinfile: {path: '{{ dir }}/c-link', line: two, owner: nobody}
            - lineinfile: {path: '{{ dir }}/c-link', line: two, owner: nobody}
        ",
    );
    linked(&test, &["c"]);
    std::fs::set_permissions(test.path().join("c.txt"), PermissionsExt::from_mode(0o644)).unwrap();
    // Expected from ansible-core 2.19.14 (same playbook, same files): ok=5 changed=2 (the
    // line added, then the link's owner); `mode` on a link is left as it is on Linux,
    // `owner` goes to the link itself; the file keeps 0644 and root.
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=5 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    let link = std::fs::symlink_metadata(test.path().join("c-link")).unwrap();
    let file = std::fs::metadata(test.path().join("c.txt")).unwrap();
    assert!(link.file_type().is_symlink());
    assert_ne!(link.uid(), 0);
    assert_eq!(file.uid(), 0);
    assert_eq!(mode(&test.path().join("c.txt")), 0o644);
    assert_eq!(read(&test.path().join("c.txt")), "one\ntwo\n");
}

#[test]
fn file_mode_with_a_link_goes_to_what_it_leads_to_unless_follow_is_false() {
    // ansible-core's file target, `state_link.yml` (links with `mode`, `follow: false` in a
    // sticky directory, "issue 56928").
    let test = play(
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - file: {src: '{{ dir }}/a.txt', dest: '{{ dir }}/a-link', state: link, mode: '0600'}
              register: a1
            - file: {src: '{{ dir }}/a.txt', dest: '{{ dir }}/a-link', state: link, mode: '0600'}
              register: a2
            - file: {src: '{{ dir }}/b.txt', dest: '{{ dir }}/b-link', state: link, mode: '0600', follow: false}
              register: b1
            - file: {src: '{{ dir }}/b.txt', dest: '{{ dir }}/b-link', state: link, mode: '0600', follow: false}
              register: b2
            - file: {src: '{{ dir }}/c.txt', dest: '{{ dir }}/c-link', state: link, mode: g+w}
            - file: {src: '{{ dir }}/h.txt', dest: '{{ dir }}/h-hard', state: hard, mode: '0600'}
              register: h1
            - file: {src: '{{ dir }}/h.txt', dest: '{{ dir }}/h-hard', state: hard, mode: '0600'}
              register: h2
            - file: {src: '{{ dir }}/k.txt', dest: '{{ dir }}/k-hard', state: hard, mode: u+x, follow: false}
              register: k
            - assert:
                that:
                  - a1 is changed and a2 is not changed and a1.mode == '0777' and a1.state == 'link'
                  - b1 is changed and b2 is not changed and b1.mode == '0777'
                  - h1 is changed and h2 is not changed and h1.mode == '0600' and h1.state == 'hard'
                  - k is changed and k.mode == '0744'
        ",
    );
    for name in ["a", "b", "c", "h", "k"] {
        let path = test.path().join(format!("{name}.txt"));
        std::fs::write(&path, "one\n").unwrap();
        std::fs::set_permissions(&path, PermissionsExt::from_mode(0o644)).unwrap();
    }
    // Expected from ansible-core 2.19.14 (same playbook, same files): ok=9 changed=5; a
    // link's `mode` goes to the file it leads to (a.txt 0600, c.txt 0664) and the result
    // registers the link's own mode, 0777; with `follow: false` the file keeps its mode
    // (b.txt 0644); a hard link is the file (h.txt 0600, k.txt 0744).
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=9 changed=5 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    let at = |name: &str| test.path().join(name);
    assert_eq!(mode(&at("a.txt")), 0o600);
    assert_eq!(mode(&at("b.txt")), 0o644);
    assert_eq!(mode(&at("c.txt")), 0o664);
    assert_eq!(mode(&at("h.txt")), 0o600);
    assert_eq!(mode(&at("k.txt")), 0o744);
    assert!(at("a-link").is_symlink() && at("b-link").is_symlink());
}

#[test]
fn a_link_that_leads_nowhere_gets_no_attributes_and_a_warning_unless_follow_is_false() {
    let test = play(
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - file: {src: '{{ dir }}/nothere', dest: '{{ dir }}/n-link', state: link, force: true, mode: '0600'}
              register: n1
            - file: {src: '{{ dir }}/nothere', dest: '{{ dir }}/n-link', state: link, force: true, follow: false, mode: '0600'}
              register: n2
            - assert:
                that:
                  - n1 is changed and n2 is not changed
                  - n1.warnings == ['Cannot set fs attributes on a non-existent symlink target. follow should be set to False to avoid this.']
                  - n2.warnings is not defined
                  - n1.mode is not defined and n1.state is not defined and n2.state is not defined
                  - n1.dest == dir ~ '/n-link' and n1.src == dir ~ '/nothere'
        ",
    );
    // Expected from ansible-core 2.19.14 (same playbook): ok=3 changed=1, the warning
    // printed once, and neither result has `state`, `mode` or owners.
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=3 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        output
            .stderr
            .matches("[WARNING]: Cannot set fs attributes on a non-existent symlink target. follow should be set to False to avoid this.")
            .count()
            + output
                .stdout
                .matches("[WARNING]: Cannot set fs attributes on a non-existent symlink target. follow should be set to False to avoid this.")
                .count(),
        1
    );
    assert!(test.path().join("n-link").is_symlink());
}

#[test]
fn template_writes_its_output_encoding_and_newline_sequence_as_ansible() {
    // ansible-core's template target, `output_encoding` and "DOS TEMPLATE".
    let test = play(
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - template: {src: t.j2, dest: "{{ dir }}/latin1", output_encoding: latin-1}
              register: l1
            - template: {src: t.j2, dest: "{{ dir }}/latin1", output_encoding: latin-1}
              register: l2
            - template: {src: t.j2, dest: "{{ dir }}/utf16", output_encoding: utf-16}
            - template: {src: t.j2, dest: "{{ dir }}/utf16le", output_encoding: UTF_16 LE, newline_sequence: '\r\n'}
            - template: {src: t.j2, dest: "{{ dir }}/cp1252", output_encoding: windows-1252}
            - template: {src: t.j2, dest: "{{ dir }}/default", output_encoding: ''}
            - template: {src: t.j2, dest: "{{ dir }}/crlf", newline_sequence: "\r\n"}
              register: c1
            - template: {src: t.j2, dest: "{{ dir }}/crlf", newline_sequence: '\r\n'}
              register: c2
            - template: {src: t.j2, dest: "{{ dir }}/cr", newline_sequence: '\r'}
            - template: {src: t.j2, dest: "{{ dir }}/ascii", output_encoding: ascii}
              register: a
              ignore_errors: true
            - assert:
                that:
                  - l1 is changed and l2 is not changed and l1.size == 8
                  - l1.checksum == 'fd0b94f49d5f74602b3c21f5415d86864c96f86e'
                  - l1.md5sum == '5ee59a9842f32a2b7f95f3c31f01a68c'
                  - c1.checksum == '80c8fdef6f4341ad512f73833b015476e8906fd3'
                  - c1 is changed and c2 is not changed
                  - a is failed
        "#,
    )
    .file("templates/t.j2", "a {{ 1 }}\nb é\n");
    // Expected from ansible-core 2.19.14 (same playbook, same template): ok=11 changed=7
    // ignored=1; these bytes, the checksums and the message above. A `newline_sequence`
    // of CRLF is written as CRLF, whether YAML or the action reads the escapes.
    let output = test.run().success().stdout_contains(
        r#"Task failed: 'ascii' codec can't encode character '\\xe9' in position 6: ordinal not in range(128)"#,
    );
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=11 changed=7 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1"
    );
    let bytes = |name: &str| std::fs::read(test.path().join(name)).unwrap();
    assert_eq!(bytes("latin1"), b"a 1\nb \xe9\n");
    assert_eq!(bytes("utf16"), b"\xff\xfea\0 \x001\0\n\0b\0 \0\xe9\0\n\0");
    assert_eq!(bytes("utf16le"), b"a\0 \x001\0\r\0\n\0b\0 \0\xe9\0\r\0\n\0");
    assert_eq!(bytes("cp1252"), b"a 1\nb \xe9\n");
    assert_eq!(read(&test.path().join("default")), "a 1\nb é\n");
    assert_eq!(read(&test.path().join("crlf")), "a 1\r\nb é\r\n");
    assert_eq!(read(&test.path().join("cr")), "a 1\rb é\r");
    assert!(!test.path().join("ascii").exists());
}

#[test]
fn an_unknown_output_encoding_is_refused_where_written_before_anything_runs() {
    // ansible-core 2.19.14 fails the task with "Task failed: unknown encoding: nonesuch";
    // written out, it is a bad input.
    crate::common::refused(
        "template: {src: t.j2, dest: /tmp/y, output_encoding: nonesuch}",
        "error: unknown encoding: nonesuch at play.yml:5:7",
    );
}

#[test]
fn find_registers_the_checksum_algorithm_it_is_given_as_ansible() {
    // ansible-core's find target, "specify the checksum_algo".
    let test = play(
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - find: {paths: "{{ dir }}/d", get_checksum: true, checksum_algorithm: md5, recurse: true}
              register: f1
            - find: {paths: "{{ dir }}/d", get_checksum: true, checksum: sha256, file_type: any}
              register: f2
            - find: {paths: "{{ dir }}/d", checksum_algo: sha512}
              register: f3
            - find: {paths: "{{ dir }}/d", get_checksum: true}
              register: f4
            - stat: {path: "{{ dir }}/d/a.txt", checksum_algorithm: md5}
              register: st
            - assert:
                that:
                  - f1.files | map(attribute='checksum') | sort == ['5bbf5a52328e7439ae6e719dfe712200', 'c193497a1a06b2c72230e6146ff47080']
                  - f1.files | selectattr('path', 'equalto', dir ~ '/d/a.txt') | map(attribute='checksum') | first == st.stat.checksum
                  - f2.matched == 3
                  - f2.files | selectattr('checksum', 'defined') | map(attribute='checksum') | list == ['2c8b08da5ce60398e1f19af0e5dccc744df274b826abe585eaba68c525434806']
                  - f3.files | selectattr('checksum', 'defined') | list == []
                  - f4.files | map(attribute='checksum') | list == ['c7059bb19433cc3cabaa6236c83d56668a843dd2']
        "#,
    )
    .file("d/a.txt", "one\n")
    .file("d/sub/b.txt", "two\n");
    std::os::unix::fs::symlink("a.txt", test.path().join("d/l.txt")).unwrap();
    // Expected from ansible-core 2.19.14 (same playbook, same files): ok=6, these digests;
    // a link and a directory get none, and none without `get_checksum`.
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=6 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn an_unknown_checksum_algorithm_is_refused_where_written_before_anything_runs() {
    // ansible-core 2.19.14 fails the task: "value of checksum_algorithm must be one of:
    // md5, sha1, sha224, sha256, sha384, sha512, got: crc32".
    crate::common::refused(
        "find: {paths: /tmp, get_checksum: true, checksum_algorithm: crc32}",
        "error: unknown value `crc32` (expected one of `md5`, `sha1`, `sha224`, `sha256`, `sha384`, `sha512`) at play.yml:5:67",
    );
}

#[test]
fn file_link_without_src_updates_a_link_that_is_there_and_fails_otherwise() {
    // ansible-core's file target, `state_link.yml` ("attempt to modify the permissions of
    // the link itself", "Create without src").
    let test = play(
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - file: {path: "{{ dir }}/l.txt", state: link, mode: "0600", follow: false}
              register: r1
            - file: {path: "{{ dir }}/l.txt", state: link, mode: "0600"}
              register: r2
            - file: {path: "{{ dir }}/nothere", state: link}
              register: r3
              ignore_errors: true
            - file: {path: "{{ dir }}/f.txt", state: link}
              register: r4
              ignore_errors: true
            - file: {path: "{{ dir }}/h.txt", state: hard, mode: "0640"}
              register: r5
            - file: {path: "{{ dir }}/f.txt", state: hard}
              register: r6
              ignore_errors: true
            - vars:
                want: "Task failed: Module failed: [Errno 22] Invalid argument: b'{{ dir }}/f.txt'"
              assert:
                that:
                  - r1 is not changed and r1.src == None and r1.state == 'link'
                  - r2 is changed and r2.src == 'a.txt' and r2.mode == '0777'
                  - r3.msg == 'src is required for creating new symlinks'
                  - r4.msg == want
                  - r5 is changed and r5.src == None and r5.mode == '0640' and r5.state == 'hard'
                  - r6.msg == 'src is required for creating new hardlinks'
        "#,
    )
    .file("a.txt", "one\n")
    .file("f.txt", "x\n");
    let at = |name: &str| test.path().join(name);
    std::fs::set_permissions(at("a.txt"), PermissionsExt::from_mode(0o644)).unwrap();
    std::os::unix::fs::symlink("a.txt", at("l.txt")).unwrap();
    std::fs::hard_link(at("a.txt"), at("h.txt")).unwrap();
    // Expected from ansible-core 2.19.14 (same playbook, same files): ok=7 changed=2
    // ignored=3; a.txt (h.txt is the same file) ends 0640, l.txt still a link to it.
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=7 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=3"
    );
    assert_eq!(mode(&at("a.txt")), 0o640);
    assert_eq!(std::fs::read_link(at("l.txt")).unwrap(), Path::new("a.txt"));
    assert!(!at("nothere").exists() && read(&at("f.txt")) == "x\n");
}

#[test]
fn file_without_state_takes_the_paths_own_for_src_and_recurse() {
    // ansible-core's file target, `state_link.yml` ("Specify src without state"): without
    // `state`, the path's own is used, so `src` goes with a link or a file of several names
    // and `recurse` with a directory (or a new one).
    let test = play(
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - file: {path: "{{ dir }}/l.txt", src: b.txt}
              register: r1
            - file: {path: "{{ dir }}/h.txt", src: "{{ dir }}/a.txt", mode: "0600"}
              register: r2
            - file: {path: "{{ dir }}/f.txt", src: "{{ dir }}/a.txt"}
              register: r3
              ignore_errors: true
            - file: {path: "{{ dir }}/new.txt", src: "{{ dir }}/a.txt"}
              register: r4
              ignore_errors: true
            - file: {path: "{{ dir }}/dir", recurse: true, mode: "u=rwX,g=rX,o="}
              register: r5
            - file: {path: "{{ dir }}/newdir", recurse: true, mode: "0700"}
              register: r6
            - file: {path: "{{ dir }}/f.txt", recurse: true, mode: "0700"}
              register: r7
              ignore_errors: true
            - assert:
                that:
                  - r1 is changed and r1.state == 'link' and r1.dest == dir ~ '/l.txt' and r1.src == 'b.txt'
                  - r2 is changed and r2.state == 'hard' and r2.mode == '0600'
                  - r3.msg == "src option requires state to be 'link' or 'hard'"
                  - r4.msg == "src option requires state to be 'link' or 'hard'"
                  - r5 is changed and r5.state == 'directory' and r5.mode == '0750'
                  - r6 is changed and r6.state == 'directory'
                  - r7.msg == "recurse option requires state to be 'directory'"
        "#,
    )
    .file("a.txt", "one\n")
    .file("b.txt", "two\n")
    .file("f.txt", "x\n")
    .file("dir/sub/g", "");
    let at = |name: &str| test.path().join(name);
    std::os::unix::fs::symlink("a.txt", at("l.txt")).unwrap();
    std::fs::hard_link(at("a.txt"), at("h.txt")).unwrap();
    // Expected from ansible-core 2.19.14 (same playbook, same files): ok=8 changed=4
    // ignored=3; l.txt now leads to b.txt, a.txt 0600, dir/sub/g 0640, newdir 0700, and
    // nothing made where it failed.
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=8 changed=4 unreachable=0 failed=0 skipped=0 rescued=0 ignored=3"
    );
    assert_eq!(std::fs::read_link(at("l.txt")).unwrap(), Path::new("b.txt"));
    assert_eq!(mode(&at("a.txt")), 0o600);
    assert_eq!(mode(&at("dir/sub/g")), 0o640);
    assert_eq!(mode(&at("dir/sub")), 0o750);
    assert_eq!(mode(&at("newdir")), 0o700);
    assert!(!at("new.txt").exists() && !at("f.txt").is_symlink());
}

#[test]
fn src_or_recurse_with_a_state_they_do_not_go_with_are_refused_before_anything_runs() {
    // ansible-core 2.19.14 fails these whatever the path: "src option requires state to be
    // 'link' or 'hard'", "recurse option requires state to be 'directory'".
    crate::common::refused(
        "file: {path: /tmp/x, src: /tmp/y, state: file}",
        "error: `src` goes only with `state: link` or `state: hard` at play.yml:5:7",
    );
    crate::common::refused(
        "file: {path: /tmp/x, recurse: true, state: touch}",
        "error: `recurse` goes only with `state: directory` at play.yml:5:7",
    );
}

#[test]
fn file_diff_peek_only_looks_and_says_whether_a_file_appears_binary() {
    // ansible-core's file target, `diff_peek.yml`.
    let test = play(
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - file: {path: "{{ dir }}/bin.dat", _diff_peek: yes}
              register: a
            - file: {path: "{{ dir }}/txt.dat", _diff_peek: yes}
              register: b
            - file: {path: "{{ dir }}/none.dat", _diff_peek: yes}
              register: c
            - file: {path: "{{ dir }}/bin.dat", _diff_peek: no, mode: "0600"}
              register: d
            - assert:
                that:
                  - a is not changed and a.appears_binary and a.state == 'file' and a.size == 3
                  - b is not changed and not b.appears_binary and b.warnings is not defined
                  - c is not changed and not c.appears_binary and c.state is not defined
                  - d is not changed and d.appears_binary and d.mode == '0644'
        "#,
    )
    .file("txt.dat", "a");
    std::fs::write(test.path().join("bin.dat"), b"a\0b").unwrap();
    std::fs::set_permissions(
        test.path().join("bin.dat"),
        PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    // Expected from ansible-core 2.19.14 (same playbook, same files): ok=5, nothing
    // changed (bin.dat keeps 0644 though `mode` is written), nothing made.
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=5 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(mode(&test.path().join("bin.dat")), 0o644);
    assert!(!test.path().join("none.dat").exists());
}

#[test]
fn file_reads_times_in_the_format_it_is_given() {
    // ansible-core's file target, `modification_time.yml` (`modification_time_format`).
    let test = play(
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - file: {path: "{{ dir }}/tf", modification_time: "2022-02-08 14:14", modification_time_format: "%Y-%m-%d %H:%M", access_time: "08/02/2021", access_time_format: "%d/%m/%Y"}
              register: a
            - file: {path: "{{ dir }}/tf", modification_time: "2022-02-08 14:14", modification_time_format: "%Y-%m-%d %H:%M", access_time: "08/02/2021", access_time_format: "%d/%m/%Y"}
              register: b
            - file: {path: "{{ dir }}/tf", modification_time: "202202081414.00", modification_time_format: "%Y%m%d%H%M.%S"}
              register: c
            - stat: {path: "{{ dir }}/tf"}
              register: s
            - file: {path: "{{ dir }}/old.txt", state: touch, modification_time: "202001011200.5"}
            - stat: {path: "{{ dir }}/old.txt"}
              register: old
            - assert:
                that:
                  - a is changed and b is not changed and c is not changed
                  - s.stat.mtime == 1644329640 and s.stat.atime == 1612742400
                  - old.stat.mtime == 1577880005
        "#,
    )
    .file("tf", "")
    .env("TZ", "UTC");
    // Expected from ansible-core 2.19.14 (same playbook, the machine's time zone UTC):
    // ok=7 changed=2, these times (`202001011200.5`: strptime's `%S` takes one digit, as in
    // ansible-core's find target).
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=7 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn a_time_not_in_its_format_is_refused_where_written_before_anything_runs() {
    // ansible-core 2.19.14 fails the task with these words.
    crate::common::refused(
        "file: {path: /tmp/x, state: touch, modification_time: '2022-02-08', modification_time_format: '%d/%m/%Y'}",
        "error: Error while obtaining timestamp for time 2022-02-08 using format %d/%m/%Y: time data '2022-02-08' does not match format '%d/%m/%Y' at play.yml:5:7",
    );
}

#[test]
fn a_replaced_file_keeps_its_acls_as_ansible() {
    // ansible-core's lineinfile target, `acls.yml` (issue 72929): atomic_move keeps the
    // replaced file's ACLs; so do copy's and template's writes.
    let test = play(
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - copy: {content: "TEST", mode: "0644", dest: "{{ dir }}/t.txt"}
            - command: setfacl -m nobody:rwx {{ dir }}/t.txt
            - lineinfile: {path: "{{ dir }}/t.txt", regexp: TEST, line: UPDATE}
            - copy: {content: "NEW\n", dest: "{{ dir }}/t.txt"}
            - command: getfacl -c {{ dir }}/t.txt
              register: acls
            - assert:
                that:
                  - "'user:nobody:rwx' in acls.stdout_lines"
                  - "'mask::rwx' in acls.stdout_lines"
        "#,
    );
    // Expected from ansible-core 2.19.14 (same playbook): ok=6 changed=5, the ACL entry
    // and its mask kept, the file 0674.
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=6 changed=5 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(mode(&test.path().join("t.txt")), 0o674);
}

// Expected from ansible-core 2.19.14 (its replace target, "issue 79364", and the same on a
// device of the test's own, made with mknod): lineinfile, blockinfile and replace read a
// character device as an empty file. replace's bad escape then fails as it does on a
// file; an edit that leaves the contents leaves the device, its mode set; one that adds
// contents replaces it with a regular file.
#[test]
fn edits_read_a_character_device_as_an_empty_file() {
    let test = play(
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - command: mknod {{ dir }}/{{ item }} c 1 3
              loop: [n1, n2, n3, n4]
            - replace: {path: /dev/null, after: '^', before: '$', regexp: '\.', replace: '\D'}
              register: r1
              ignore_errors: true
            - replace: {path: /dev/null, regexp: 'x', replace: 'y'}
              register: r2
            - replace: {path: "{{ dir }}/n1", regexp: 'x', replace: 'y', mode: '0600'}
              register: r3
            - lineinfile: {path: "{{ dir }}/n2", line: 'a'}
              register: r4
            - lineinfile: {path: "{{ dir }}/n3", line: 'a', state: absent}
              register: r5
            - blockinfile: {path: "{{ dir }}/n4", block: 'a'}
              register: r6
            - assert:
                that:
                  - >-
                    r1 is failed and r1.msg == 'Unable to process replace due to error: bad escape \D at position 0'
                  - r2 is not changed and r2.msg == '' and r2.rc == 0
                  - r3 is changed and r3.msg == 'ownership, perms or SE linux context changed'
                  - r4 is changed and r4.msg == 'line added' and r4.backup == ''
                  - r5 is not changed and r5.found == 0 and r5.msg == ''
                  - r6 is changed and r6.msg == 'Block inserted'
        "#,
    );
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=8 changed=4 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1"
    );
    let kind = |name: &str| std::fs::symlink_metadata(test.path().join(name)).unwrap();
    use std::os::unix::fs::FileTypeExt;
    assert!(kind("n1").file_type().is_char_device());
    assert_eq!(mode(&test.path().join("n1")), 0o600);
    assert_eq!(read(&test.path().join("n2")), "a\n");
    assert!(kind("n3").file_type().is_char_device());
    assert_eq!(
        read(&test.path().join("n4")),
        "# BEGIN ANSIBLE MANAGED BLOCK\na\n# END ANSIBLE MANAGED BLOCK\n"
    );
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
}

// Expected from ansible-core 2.19.14 (its file target's "Follow + recursive tests", and
// check mode): `recurse` with `follow: false` changes what is under the directory and the
// links' own owners, never what a link leads to (a link's mode cannot change: in check
// mode it counts as a change, as there); with `follow` (the default) what a link leads to
// gets the mode too, a directory's contents first.
#[test]
fn recurse_follows_the_links_inside_unless_follow_is_false() {
    let test = play(
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - file: {path: "{{ dir }}/top", state: directory, mode: '0755'}
            - file: {path: "{{ dir }}/tfile", state: touch, mode: '0700'}
            - file: {path: "{{ dir }}/tdir", state: directory, mode: '0700'}
            - file: {path: "{{ dir }}/tdir/foo", state: touch, mode: '0700'}
            - file: {path: "{{ dir }}/top/l", state: link, src: ../tfile}
            - file: {path: "{{ dir }}/top/ld", state: link, src: ../tdir}
            - file: {path: "{{ dir }}/top/nx", state: link, src: does_not_exist, force: true}
            - file: {path: "{{ dir }}/top", follow: false, mode: a-x, recurse: true}
              check_mode: true
              register: r0
            - file: {path: "{{ dir }}/top", follow: false, mode: a-x, recurse: true}
              register: r1
            - file: {path: "{{ dir }}/top", follow: false, mode: a-x, recurse: true}
              register: r2
            - stat: {path: "{{ dir }}/{{ item }}"}
              loop: [tfile, tdir, tdir/foo]
              register: s1
            - file: {path: "{{ dir }}/top", follow: true, mode: a-x, recurse: true}
              register: r3
            - file: {path: "{{ dir }}/top", mode: a-x, recurse: true}
              register: r4
            - stat: {path: "{{ dir }}/{{ item }}"}
              loop: [tfile, tdir, tdir/foo, top]
              register: s2
            - assert:
                that:
                  - r0 is changed and r1 is changed and r2 is not changed
                  - r3 is changed and r4 is not changed
                  - s1.results | map(attribute='stat.mode') | list == ['0700', '0700', '0700']
                  - s2.results | map(attribute='stat.mode') | list == ['0600', '0600', '0600', '0644']
        "#,
    );
    test.run().success();
    assert_eq!(mode(&test.path().join("tdir/foo")), 0o600);
}

// Expected from ansible-core 2.19.14 (its file target's directory_as_dest.yml, and
// state_link.yml's "src without state"): a hard link whose path is a directory is made
// inside it under `src`'s name (ansible-core's additional_parameter_handling); a failure
// on a path that is not there names no `state`.
#[test]
fn a_hard_link_into_a_directory_takes_the_sources_name() {
    let test = play(
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - file: {path: "{{ dir }}/sub1", state: directory}
            - file: {src: "{{ dir }}/f", dest: "{{ dir }}/sub1", state: hard, force: false}
              register: r1
            - file: {src: "{{ dir }}/f", dest: "{{ dir }}/sub1", state: hard, force: false}
              register: r2
            - file: {src: "{{ dir }}/f", path: "{{ dir }}/nothing"}
              register: r3
              ignore_errors: true
            - assert:
                that:
                  - r1 is changed and r1.dest == dir ~ '/sub1/f' and r1.state == 'hard'
                  - r2 is not changed and r2.dest == dir ~ '/sub1/f'
                  - r3 is failed and r3.path == dir ~ '/nothing' and r3.state is not defined
                  - >-
                    r3.msg == "src option requires state to be 'link' or 'hard'"
        "#,
    )
    .file("f", "one\n");
    test.run().success();
    let meta = |p: &str| std::fs::metadata(test.path().join(p)).unwrap();
    assert_eq!(meta("sub1/f").ino(), meta("f").ino());
    assert!(meta("sub1").is_dir());
}
