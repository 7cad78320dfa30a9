//! Ansible's file modules built in (`file`, `copy`, `template`, `stat`, `slurp`,
//! `lineinfile`, `blockinfile`, `replace`), run on
//! localhost: the same results, registered values and files afterwards as ansible-core
//! 2.19.14 gives for the same playbook; second runs that change nothing; check mode; bad
//! arguments refused where they are written, before anything runs.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::common::{Test, refused};

pub(crate) fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

pub(crate) fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A test whose playbook gets the test's folder as `dir`.
pub(crate) fn play(playbook: &str) -> Test {
    let test = Test::new().file("play.yml", playbook);
    let dir = test.path().display().to_string();
    test.args(&["run", "play.yml", "-e", &format!("dir={dir}")])
}

fn rerun(test: &Test, extra: &[&str]) -> crate::common::Output {
    let dir = test.path().display().to_string();
    let mut args = vec!["run", "play.yml"];
    args.extend_from_slice(extra);
    let dir_var = format!("dir={dir}");
    args.extend_from_slice(&["-e", &dir_var]);
    Test::new().args(&args).run_in(test.path())
}

// Expected from ansible-core 2.19.14: the same tasks give these results, and every value
// asserted here is the one ansible-playbook registered (an unquoted 0750 is octal there
// too).
const FILE_STATES: &str = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - file: {path: "{{ dir }}/d", state: directory, mode: 0750}
      register: r1
    - assert:
        that:
          - r1.changed and r1.path == dir ~ '/d' and r1.state == 'directory'
          - r1.mode == '0750' and r1.owner == 'root' and r1.uid == 0 and r1.group == 'root'
    - ansible.builtin.file: {path: "{{ dir }}/d", state: directory, mode: 'u=rwx,g=rx,o='}
      register: r2
    - assert: {that: [not r2.changed, r2.mode == '0750']}
    - ansible.legacy.file: {dest: "{{ dir }}/d/f", state: touch}
      register: r3
    - assert: {that: [r3.changed, r3.dest == dir ~ '/d/f', r3.state == 'file', r3.size == 0, r3.mode == '0644']}
    - file: {name: "{{ dir }}/d/f", mode: 'g+w'}
      register: r4
    - assert: {that: [r4.changed, r4.mode == '0664', r4.path == dir ~ '/d/f']}
    - file: {path: "{{ dir }}/d/l", state: link, src: "{{ dir }}/d/f"}
      register: r5
    - assert: {that: [r5.changed, r5.state == 'link', r5.src == dir ~ '/d/f', r5.mode == '0777']}
    - file: {path: "{{ dir }}/d/missing", state: file}
      register: r6
      ignore_errors: true
    - assert:
        that:
          - r6.failed and r6.state == 'absent'
          - r6.msg == 'file (' ~ dir ~ '/d/missing) is absent, cannot continue'
    - file: {path: "{{ dir }}/d/l", state: absent}
      register: r7
    - assert: {that: [r7.changed, r7.state == 'absent']}
    - file: {path: "{{ dir }}/d/l", state: absent}
      register: r8
    - assert: {that: [not r8.changed]}
    - file: {path: "{{ dir }}/d", state: file}
      register: r9
      ignore_errors: true
    - assert: {that: ["r9.msg == 'file (' ~ dir ~ '/d) is directory, cannot continue'"]}
    - file: {path: "{{ dir }}/d/f", state: link, src: "{{ dir }}/d"}
      register: r10
      ignore_errors: true
    - assert: {that: ["r10.msg == 'refusing to convert from file to symlink for ' ~ dir ~ '/d/f'"]}
"#;

#[test]
fn file_states_register_what_ansible_registers() {
    let test = play(FILE_STATES);
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=20 changed=5 unreachable=0 failed=0 skipped=0 rescued=0 ignored=3"
    );
    let dir = test.path().join("d");
    assert_eq!(mode(&dir), 0o750);
    assert_eq!(mode(&dir.join("f")), 0o664);
    assert!(!dir.join("l").exists());
}

#[test]
fn file_creates_parents_with_the_mode_and_recurses_symbolically() {
    // Expected from ansible-core 2.19.14: `u=rwX,g=rX,o=` gives directories (and a file
    // some one could execute) 0750 and other files 0640; the second run is ok.
    let test = Test::new()
        .file("r/f", "")
        .file("r/a/g", "")
        .file("r/a/b/h", "")
        .file(
            "play.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              tasks:
                - file: {path: "{{ dir }}/r", state: directory, recurse: true, mode: 'u=rwX,g=rX,o='}
                - file: {path: "{{ dir }}/new/a/b", state: directory, mode: '0700'}
            "#,
        );
    std::fs::set_permissions(test.path().join("r/f"), PermissionsExt::from_mode(0o755)).unwrap();
    let output = rerun(&test, &[]).success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=2 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    let root = test.path();
    for (path, bits) in [
        ("r", 0o750),
        ("r/f", 0o750),
        ("r/a", 0o750),
        ("r/a/b", 0o750),
        ("r/a/g", 0o640),
        ("r/a/b/h", 0o640),
        ("new", 0o700),
        ("new/a", 0o700),
        ("new/a/b", 0o700),
    ] {
        assert_eq!(mode(&root.join(path)), bits, "{path}");
    }
    let again = rerun(&test, &[]).success();
    assert_eq!(
        again.recap("localhost"),
        "localhost : ok=2 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

const COPY: &str = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - copy: {src: a.txt, dest: "{{ dir }}/out/", mode: '0640'}
      register: c1
    - assert:
        that:
          - c1.changed and c1.dest == dir ~ '/out/a.txt' and c1.state == 'file'
          - c1.checksum == 'f572d396fae9206628714fb2ce00f72e94f2258f'
          - c1.md5sum == 'b1946ac92492d2347c6235b4d2611184'
          - c1.size == 6 and c1.mode == '0640' and c1.owner == 'root'
    - ansible.builtin.copy: {src: a.txt, dest: "{{ dir }}/out/", mode: '0640'}
      register: c2
    - assert: {that: [not c2.changed, c2.path == dir ~ '/out/a.txt', c2.md5sum is not defined]}
    - copy: {content: "new\n", dest: "{{ dir }}/out/a.txt", force: false}
      register: c3
    - assert: {that: [not c3.changed]}
    - copy: {content: "new\n", dest: "{{ dir }}/out/a.txt", backup: true}
      register: c4
    - assert:
        that:
          - c4.changed and c4.checksum == '389cc6b7ae5a659383eab5dfc253764eccf84732'
          - c4.backup_file.startswith(dir ~ '/out/a.txt.') and c4.backup_file.endswith('~')
    - copy: {src: tree, dest: "{{ dir }}/out/"}
      register: c5
    - assert: {that: [c5.changed, c5.dest == dir ~ '/out/']}
    - copy: {src: tree/, dest: "{{ dir }}/out2"}
      register: c6
    - assert: {that: [c6.changed, c6.dest == dir ~ '/out2/']}
    - copy:
        content: "a: [\n"
        dest: "{{ dir }}/out/v.json"
        validate: "python3 -c 'import sys, json; json.load(open(sys.argv[1]))' %s"
      register: c7
      ignore_errors: true
    - assert:
        that:
          - c7.failed and c7.msg == 'failed to validate' and c7.exit_status == 1
          - "'JSONDecodeError' in c7.stderr"
"#;

#[test]
fn copy_registers_and_installs_what_ansible_does() {
    // Expected from ansible-core 2.19.14: ok=14 changed=4 ignored=1 for these tasks, the
    // same sums and files.
    let test = play(COPY)
        .file("files/a.txt", "hello\n")
        .file("files/tree/x", "x\n")
        .file("files/tree/sub/y", "y\n");
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=14 changed=4 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1"
    );
    let root = test.path();
    assert_eq!(read(&root.join("out/a.txt")), "new\n");
    assert_eq!(mode(&root.join("out/a.txt")), 0o640);
    assert_eq!(read(&root.join("out/tree/sub/y")), "y\n");
    assert_eq!(read(&root.join("out2/sub/y")), "y\n");
    assert_eq!(read(&root.join("out2/x")), "x\n");
    // The refused file was never installed, and no temporary file stayed behind.
    let mut names: Vec<String> = std::fs::read_dir(root.join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 3, "{names:?}");
    assert_eq!(names[0], "a.txt");
    assert!(names[1].starts_with("a.txt.") && names[1].ends_with('~'));
    assert_eq!(read(&root.join("out").join(&names[1])), "hello\n");
    assert_eq!(names[2], "tree");
}

#[test]
fn template_renders_byte_for_byte_as_ansible() {
    // Expected from ansible-core 2.19.14: these four files, byte for byte, and a template
    // put into a directory keeps its own name.
    let test = play(
        r#"
        - hosts: localhost
          gather_facts: false
          vars: {who: quay, items: [a, b]}
          tasks:
            - template: {src: conf.j2, dest: "{{ dir }}/out/c.conf", mode: '0600'}
              register: t1
            - assert: {that: [t1.changed, t1.checksum == '064ac10fb2215fe9d292336bd9612d1b127fe7f6', t1.size == 26]}
            - template: {src: conf.j2, dest: "{{ dir }}/out/c.conf", mode: '0600'}
              register: t2
            - assert: {that: [not t2.changed]}
            - template: {src: conf.j2, dest: "{{ dir }}/out/crlf.conf", newline_sequence: "\r\n"}
            - template: {src: conf.j2, dest: "{{ dir }}/out/crlf2.conf", newline_sequence: '\r\n'}
            - template: {src: conf.j2, dest: "{{ dir }}/out/notrim.conf", trim_blocks: false}
            - template: {src: conf.j2, dest: "{{ dir }}/out/"}
              register: t3
            - assert: {that: ["t3.dest == dir ~ '/out/conf.j2'"]}
        "#,
    )
    .file(
        "templates/conf.j2",
        "name={{ who }}\n{% for i in items %}\n  - {{ i }}\n{% endfor %}\nend\n",
    );
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=9 changed=5 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    let out = test.path().join("out");
    // ansible-core's action takes the escapes written out (`'\r\n'`) for the characters.
    assert_eq!(read(&out.join("crlf2.conf")), read(&out.join("crlf.conf")));
    assert_eq!(read(&out.join("c.conf")), "name=quay\n  - a\n  - b\nend\n");
    assert_eq!(mode(&out.join("c.conf")), 0o600);
    assert_eq!(
        read(&out.join("crlf.conf")),
        "name=quay\r\n  - a\r\n  - b\r\nend\r\n"
    );
    assert_eq!(
        read(&out.join("notrim.conf")),
        "name=quay\n\n  - a\n\n  - b\n\nend\n"
    );
    assert_eq!(read(&out.join("conf.j2")), read(&out.join("c.conf")));
}

#[test]
fn stat_and_slurp_register_ansibles_keys() {
    // Expected from ansible-core 2.19.14: a missing path is `{exists: false}` only; sha1 is
    // the default checksum; slurp gives base64 and fails on a missing file with this
    // message.
    let test = play(
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - stat: {path: "{{ dir }}/a.txt"}
              register: s1
            - assert:
                that:
                  - s1.stat.exists and s1.stat.isreg and not s1.stat.isdir and not s1.stat.islnk
                  - s1.stat.checksum == 'f572d396fae9206628714fb2ce00f72e94f2258f'
                  - s1.stat.mode == '0640' and s1.stat.size == 6 and s1.stat.pw_name == 'root'
                  - s1.stat.rusr and s1.stat.rgrp and not s1.stat.roth and s1.stat.readable
                  - s1.stat.path == dir ~ '/a.txt'
                  - s1.stat.mimetype == 'text/plain' and s1.stat.charset == 'us-ascii'
            - ansible.builtin.stat: {path: "{{ dir }}/a.txt", checksum_algorithm: sha256, get_mime: false}
              register: s2
            - assert: {that: ["s2.stat.checksum == '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03'", s2.stat.mimetype is not defined]}
            - stat: {path: "{{ dir }}"}
              register: s2d
            - assert: {that: ["s2d.stat.mimetype == 'inode/directory'", "s2d.stat.charset == 'binary'"]}
            - stat: {path: "{{ dir }}/nope"}
              register: s3
            - assert: {that: ["s3.stat == {'exists': false}"]}
            - file: {path: "{{ dir }}/l", state: link, src: a.txt}
            - stat: {path: "{{ dir }}/l"}
              register: s4
            - assert: {that: [s4.stat.islnk, s4.stat.lnk_target == 'a.txt', s4.stat.lnk_source == dir ~ '/a.txt', s4.stat.checksum is not defined]}
            - stat: {path: "{{ dir }}/l", follow: true}
              register: s5
            - assert: {that: [s5.stat.isreg, not s5.stat.islnk]}
            - slurp: {src: "{{ dir }}/a.txt"}
              register: c
            - assert: {that: [c.content == 'aGVsbG8K', c.encoding == 'base64', "c.content | b64decode == 'hello\n'"]}
            - slurp: {path: "{{ dir }}/nope"}
              register: gone
              ignore_errors: true
            - assert: {that: ["gone.msg == 'File not found: ' ~ dir ~ '/nope'"]}
        "#,
    )
    .file("a.txt", "hello\n");
    std::fs::set_permissions(test.path().join("a.txt"), PermissionsExt::from_mode(0o640)).unwrap();
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=17 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1"
    );
}

#[test]
fn check_mode_changes_nothing_and_says_what_would() {
    let playbook = r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - file: {path: "{{ dir }}/d", state: directory, mode: '0700'}
            - file: {path: "{{ dir }}/a.txt", mode: 'a+x'}
            - file: {path: "{{ dir }}/gone", state: absent}
            - copy: {content: "x\n", dest: "{{ dir }}/d/c"}
            - template: {src: t.j2, dest: "{{ dir }}/a.txt"}
        "#;
    let test = play(playbook)
        .file("a.txt", "hello\n")
        .file("gone", "")
        .file("templates/t.j2", "new\n");
    std::fs::set_permissions(test.path().join("a.txt"), PermissionsExt::from_mode(0o644)).unwrap();
    let before = std::fs::metadata(test.path().join("a.txt"))
        .unwrap()
        .ctime();
    let output = rerun(&test, &["--check"]).success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=5 changed=5 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    let root = test.path();
    assert!(!root.join("d").exists());
    assert!(root.join("gone").exists());
    assert_eq!(read(&root.join("a.txt")), "hello\n");
    assert_eq!(mode(&root.join("a.txt")), 0o644);
    assert_eq!(
        std::fs::metadata(root.join("a.txt")).unwrap().ctime(),
        before
    );
}

#[test]
fn bad_arguments_are_refused_where_written_before_anything_runs() {
    refused(
        "file: {path: /tmp/x, state: bogus}",
        "error: unknown value `bogus` (expected one of `file`, `directory`, `touch`, `absent`, `link`, `hard`) at play.yml:5:35",
    );
    refused(
        "file: {path: /tmp/x, mode: 'u=rq'}",
        "error: mode `u=rq` must be octal digits such as `0640` or symbolic such as `u=rw,g=r` at play.yml:5:34",
    );
    refused(
        "file: {path: /tmp/x, mode: 99999}",
        "error: mode `99999` is not a file mode: write octal digits in quotes, such as `'0640'` at play.yml:5:34",
    );
    refused(
        "file: {path: /tmp/x, state: touch, modification_time: yesterday}",
        "error: time `yesterday` must be `preserve`, `now` or a time such as `202401021530.45` (YYYYMMDDHHMM.SS) at play.yml:5:7",
    );
    refused(
        "file: {path: /tmp/x, follow: false}",
        "error: `follow: false` needs a `state` at play.yml:5:7",
    );
    refused(
        "find: {paths: /tmp, mode: 0644}",
        "error: argument 'mode' is not a string and conversion is not allowed, value is of type int at play.yml:5:33",
    );
    refused(
        "find: {paths: /tmp, mode: 'u=q'}",
        "error: bad symbolic permission for mode: u=q at play.yml:5:33",
    );
    refused(
        "find: {paths: /tmp, limit: 0}",
        "error: limit cannot be 0 (use None for unlimited) at play.yml:5:7",
    );
    refused(
        "find: {paths: /tmp, contains: '(x'}",
        "error: `(x` is not a valid regular expression: opening parenthesis without closing parenthesis at play.yml:5:7",
    );
    refused(
        "template: {src: a.j2, dest: /tmp/x, variable_start_string: '[[', block_start_string: '[['}",
        "error: Block, variable and comment start strings must be different. at play.yml:5:7",
    );
    refused(
        "template: {src: a.j2, dest: /tmp/x, variable_end_string: ''}",
        "error: a template delimiter is empty at play.yml:5:7",
    );
    refused(
        "copy: {content: x, dest: /tmp/y, directory_mode: '0755'}",
        "error: unknown argument `directory_mode` (expected one of `src`, `content`, `dest`, `mode`, `owner`, `group`, `backup`, `force`, `validate`, `remote_src`, `decrypt`, `follow`, `attr`, `attributes`) at play.yml:5:40",
    );
    refused(
        "copy: {content: x, dest: /tmp/y, mode: keep}",
        "error: mode `keep` must be octal digits such as `0640` or symbolic such as `u=rw,g=r` at play.yml:5:46",
    );
    refused(
        "copy: {content: x, dest: /tmp/y, validate: visudo -c}",
        "error: validate must contain %s: visudo -c at play.yml:5:7",
    );
    refused(
        "template: {src: t.j2, dest: /tmp/y, unsafe_writes: true}",
        "error: unknown argument `unsafe_writes` (expected one of `src`, `dest`, `mode`, `owner`, `group`, `backup`, `force`, `validate`, `newline_sequence`, `output_encoding`, `trim_blocks`, `lstrip_blocks`, `block_start_string`, `block_end_string`, `variable_start_string`, `variable_end_string`, `comment_start_string`, `comment_end_string`, `follow`) at play.yml:5:43",
    );
    refused(
        "lineinfile: {path: /x, regexp: '^a', search_string: a, line: b}",
        "error: parameters are mutually exclusive: regexp|search_string at play.yml:5:7",
    );
    refused(
        "lineinfile: {path: /x, regexp: 'a('}",
        "error: line is required with state=present at play.yml:5:7",
    );
    refused(
        "replace: {path: /x, regexp: 'a(', replace: b}",
        "error: `a(` is not a valid regular expression: opening parenthesis without closing parenthesis at play.yml:5:7",
    );
    // ansible-core 2.19.14 fails the task at run time on these (Python's `re.error`):
    // quayside refuses them before anything runs.
    refused(
        r"replace: {path: /x, regexp: '(a)\2', replace: b}",
        r"error: `(a)\2` is not a valid regular expression: invalid back reference to group 2 at play.yml:5:7",
    );
    refused(
        r"lineinfile: {path: /x, regexp: 'a[b', line: c}",
        r"error: `a[b` is not a valid regular expression: invalid character class at play.yml:5:7",
    );
    refused(
        r"find: {paths: /x, patterns: '(?P<n>a', use_regex: true}",
        r"error: `(?P<n>a` is not a valid regular expression: opening parenthesis without closing parenthesis at play.yml:5:7",
    );
    refused(
        "blockinfile: {path: /x, block: b, marker_start: x}",
        "error: unknown argument `marker_start` (expected one of `dest`, `destfile`, `name`, `path`, `state`, `marker`, `block`, `content`, `insertafter`, `insertbefore`, `create`, `marker_begin`, `marker_end`, `append_newline`, `prepend_newline`, `backup`, `mode`, `owner`, `group`, `validate`, `attr`, `attributes`) at play.yml:5:41",
    );
    refused(
        "slurp: {src: /x, encoding: utf8}",
        "error: unknown argument `encoding` (expected one of `path`, `src`) at play.yml:5:24",
    );
}

#[test]
fn python_regular_expressions_with_backreferences_and_look_around() {
    // Expected from ansible-core 2.19.14 on the same files and tasks (each assert here
    // was a `debug` of the same expression there): ok=10 changed=4, these messages and
    // these files byte for byte. `^(REF) .* \1$` is the lineinfile target's.
    let test = play(
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - lineinfile: {path: "{{ dir }}/f.conf", regexp: '^(REF) .* \1$', line: 'New line with backref'}
              register: l1
            - lineinfile: {path: "{{ dir }}/f.conf", regexp: '^(?P<w>\w+) no (?!REF)', line: 'matched \g<w>', backrefs: true}
              register: l2
            - replace: {path: "{{ dir }}/g.conf", regexp: '^(\w)=(?=\d)', replace: '\1 := '}
              register: r1
            - replace: {path: "{{ dir }}/g.conf", regexp: '80\Z', replace: '8080'}
              register: r2
            - replace: {path: "{{ dir }}/g.conf", regexp: '80$', replace: '8080'}
              register: r3
            - find: {paths: "{{ dir }}/c", contains: '.*(\w{3}) \1'}
              register: f1
            - find: {paths: "{{ dir }}/c", patterns: 'foo_(?!baz)\w+\.log', use_regex: true}
              register: f2
            - assert:
                that:
                  - "'abc abc' | regex_search('(\\\\w+) \\\\1') == 'abc abc'"
                  - "'say hello hello' | regex_search('(?P<w>\\\\w+) (?P=w)', '\\\\g<w>') == ['hello']"
                  - "'a1 b2 c3' | regex_findall('(\\\\w)(\\\\d)') | map('join', ':') | list == ['a:1', 'b:2', 'c:3']"
                  - "'a1 b2 c3' | regex_findall('\\\\w(?=2)') == ['b']"
                  - "'aa bb cd' | regex_replace('(\\\\w)\\\\1', '<\\\\1>') == '<a> <b> cd'"
                  - "'a-b-c' | regex_replace('-', '+', count=1) == 'a+b-c'"
                  - "'Foo' | regex_replace('^f', 'G', ignorecase=true) == 'Goo'"
                  - "'abab' is match('(ab)\\\\1')"
                  - "'xabab' is not match('(ab)\\\\1')"
                  - "'xabab' is search('(ab)\\\\1$')"
                  - "'ab\n' is not search('ab\\\\Z')"
                  - "'ab\n' is search('ab$')"
                  - "'a\nb' | regex_findall('^\\\\w$', multiline=true) == ['a', 'b']"
                  - "[l1.msg, l2.msg, r1.msg, r2.msg, r3.msg] == ['line replaced', 'line replaced', '2 replacements made', '', '1 replacements made']"
                  - "f1.files | map(attribute='path') | map('basename') | list == ['twice.txt']"
                  - "f2.files | map(attribute='path') | map('basename') | list == ['foo_bar.log']"
        "#,
    )
    .file("f.conf", "REF this is a line for backrefs REF\nREF no FER\nkeep\n")
    .file("g.conf", "a=1\nb=2\nport=80\n")
    .file("c/twice.txt", "abc abc\n")
    .file("c/once.txt", "abc abd\n")
    .file("c/foo_bar.log", "x\n")
    .file("c/foo_baz.log", "x\n");
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=8 changed=4 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        read(&test.path().join("f.conf")),
        "New line with backref\nmatched REF\nkeep\n"
    );
    assert_eq!(
        read(&test.path().join("g.conf")),
        "a := 1\nb := 2\nport=8080\n"
    );
}

const DIFFS: &str = r#"
- hosts: localhost
  gather_facts: false
  vars: {x: 5}
  tasks:
    - copy: {dest: "{{ dir }}/c.conf", content: "new\n"}
      register: c1
    - copy: {dest: "{{ dir }}/c.conf", content: "new\n"}
      register: c2
    - copy: {dest: "{{ dir }}/new.conf", content: "fresh\n"}
      register: c3
    - template: {src: t.j2, dest: "{{ dir }}/t.conf"}
      register: t1
    - replace: {path: "{{ dir }}/r.conf", regexp: '=', replace: ':'}
      register: r1
    - replace: {path: "{{ dir }}/r.conf", regexp: '=', replace: ':'}
      register: r2
    - copy: {dest: "{{ dir }}/nd.conf", content: "nd\n"}
      diff: false
      register: c4
    - set_fact:
        diffs: "{{ [c1.diff, c2.diff, c3.diff, t1.diff, r1.diff | default('NONE'), r2.diff | default('NONE'), c4.diff] }}"
"#;

/// `DIFFS` on a fresh copy of its files, with `extra` arguments.
fn diffs_run(extra: &[&str]) -> (Test, crate::common::Output) {
    let test = play(DIFFS)
        .file("r.conf", "a=1\nb=2\n")
        .file("c.conf", "old\n")
        .file("t.j2", "x={{ x }}\n")
        .file("t.conf", "x=0\n");
    let output = rerun(&test, extra).success();
    (test, output)
}

#[test]
fn copy_template_and_replace_register_and_print_their_diff_as_ansible() {
    // Expected from ansible-core 2.19.14 on the same files and tasks, with `--diff`: these
    // registered diffs (a list for copy and template, the paths alone when nothing
    // changes; a mapping for replace, only when it changes; an empty list under
    // `diff: false`) and these diffs printed, each followed by an empty line. The one
    // difference: ansible-core's template `after_header` is the rendered copy in its
    // temporary folder; quayside names the template.
    let (test, output) = diffs_run(&["--diff", "-v"]);
    let dir = test.path().canonicalize().unwrap().display().to_string();
    let d = test.path().display().to_string();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=8 changed=5 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert!(
        output.stdout.contains(&format!(
            "TASK [copy] ********************************************************************\n\
             --- before: {d}/c.conf\n+++ after: {d}/c.conf\n@@ -1 +1 @@\n-old\n+new\n\nchanged: [localhost]"
        )),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains(&format!(
            "--- before\n+++ after: {d}/new.conf\n@@ -0,0 +1 @@\n+fresh\n\nchanged: [localhost]"
        )),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains(&format!(
            "--- before: {d}/t.conf\n+++ after: {dir}/t.j2\n@@ -1 +1 @@\n-x=0\n+x=5\n\nchanged: [localhost]"
        )),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains(&format!(
            "--- before: {d}/r.conf\n+++ after: {d}/r.conf\n@@ -1,2 +1,2 @@\n-a=1\n-b=2\n+a:1\n+b:2\n\nchanged: [localhost]"
        )),
        "{}",
        output.stdout
    );
    let diffs = output
        .stdout
        .split("\"diffs\": ")
        .nth(1)
        .expect("the diffs set");
    let expected = serde_json::json!([
        [{"after": "new\n", "after_header": format!("{d}/c.conf"), "before": "old\n", "before_header": format!("{d}/c.conf")}],
        {"after": {"path": format!("{d}/c.conf")}, "before": {"path": format!("{d}/c.conf")}},
        [{"after": "fresh\n", "after_header": format!("{d}/new.conf"), "before": ""}],
        [{"after": "x=5\n", "after_header": format!("{dir}/t.j2"), "before": "x=0\n", "before_header": format!("{d}/t.conf")}],
        {"after": "a:1\nb:2\n", "after_header": format!("{d}/r.conf"), "before": "a=1\nb=2\n", "before_header": format!("{d}/r.conf")},
        "NONE",
        [],
    ]);
    let registered: serde_json::Value = serde_json::Deserializer::from_str(diffs)
        .into_iter()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(registered, expected);
}

#[test]
fn copy_and_template_register_an_empty_diff_without_diff_mode() {
    // Expected from ansible-core 2.19.14: without `--diff`, copy and template register
    // `diff: []` and replace none.
    let (_, output) = diffs_run(&["-v"]);
    let diffs = output
        .stdout
        .split("\"diffs\": ")
        .nth(1)
        .expect("the diffs set");
    let registered: serde_json::Value = serde_json::Deserializer::from_str(diffs)
        .into_iter()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(
        registered,
        serde_json::json!([[], [], [], [], "NONE", "NONE", []])
    );
    assert!(!output.stdout.contains("--- before"), "{}", output.stdout);
}

#[test]
fn key_value_arguments_decode_escapes_and_replace_refuses_a_bad_escape_as_ansible() {
    // Expected from ansible-core 2.19.14 (its replace target's `replace_test5_0` and
    // `replace_test9`): in `key=value` arguments `\b` is a backspace and `\x2e` a dot, so
    // the first matches nothing and the second does; `\t` is a tab; a replacement with
    // `\D` fails with Python's error.
    let test = play(
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - replace: {path: "{{ dir }}/f.txt", regexp: '\.', replace: '\D'}
              register: e1
              ignore_errors: true
            - replace: path="{{ dir }}/f.txt" regexp='\b(a)\b' replace='"\1"'
              register: e3
            - replace: path="{{ dir }}/f.txt" regexp='a\x2eb' replace='x\ty'
              register: e4
            - assert:
                that:
                  - e1.failed and not e1.changed
                  - >-
                    e1.msg == 'Unable to process replace due to error: bad escape \\D at position 0'
                  - not e3.changed and e4.changed
        "#,
    )
    .file("f.txt", "a.b\n");
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=4 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1"
    );
    assert_eq!(read(&test.path().join("f.txt")), "x\ty\n");
}

#[test]
fn lineinfile_warns_of_an_empty_regexp_or_search_string_as_ansible() {
    // Expected from ansible-core 2.19.14 (its lineinfile target asserts the first):
    // these warnings, the last line replaced each time, ok=3 changed=2.
    let test = play(
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - lineinfile: {path: "{{ dir }}/f.txt", regexp: '', line: 'six'}
              register: w1
            - lineinfile: {path: "{{ dir }}/f.txt", search_string: '', line: 'seven'}
              register: w2
            - assert:
                that:
                  - w1 is changed and w2 is changed
                  - >-
                    w1.warnings == ["The regular expression is an empty string, which will match every line in the file. This may have unintended consequences, such as replacing the last line in the file rather than appending. If this is desired, use '^' to match every line in the file and avoid this warning."]
                  - >-
                    w2.warnings == ["The search string is an empty string, which will match every line in the file. This may have unintended consequences, such as replacing the last line in the file rather than appending."]
        "#,
    )
    .file("f.txt", "a\nb\n");
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=3 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(read(&test.path().join("f.txt")), "a\nseven\n");
}

const EDITS: &str = r##"
- hosts: localhost
  gather_facts: false
  tasks:
    - copy: {dest: "{{ dir }}/f.conf", content: "# conf\nListen 80\n#Port 22\nUser quay\nend"}
    - lineinfile: {path: "{{ dir }}/f.conf", regexp: '^Listen ', line: 'Listen 8080'}
      register: l1
    - assert: {that: [l1.changed, l1.msg == 'line replaced', l1.backup == '']}
    - ansible.builtin.lineinfile: {path: "{{ dir }}/f.conf", regexp: '^Listen ', line: 'Listen 8080'}
      register: l2
    - assert: {that: [not l2.changed, l2.msg == '']}
    - lineinfile: {path: "{{ dir }}/f.conf", line: 'Added at end'}
    - lineinfile: {dest: "{{ dir }}/f.conf", line: 'After port', insertafter: '^#Port'}
    - lineinfile: {path: "{{ dir }}/f.conf", line: 'first', insertbefore: BOF}
    - lineinfile: {path: "{{ dir }}/f.conf", regexp: '^User (\w+)', line: 'Owner \1', backrefs: true}
    - lineinfile: {path: "{{ dir }}/f.conf", regexp: '^Nothing (\w+)', line: 'X \1', backrefs: true}
      register: l3
    - assert: {that: [not l3.changed]}
    - lineinfile: {path: "{{ dir }}/f.conf", regexp: '^#', state: absent}
      register: l4
    - assert: {that: [l4.changed, l4.found == 2, "l4.msg == '2 line(s) removed'"]}
    - lineinfile: {path: "{{ dir }}/missing.conf", line: x}
      register: l5
      ignore_errors: true
    - assert: {that: ["l5.msg == 'Destination ' ~ dir ~ '/missing.conf does not exist !'", l5.rc == 257]}
    - lineinfile: {path: "{{ dir }}/sub/new.conf", line: x, create: true}
      register: l6
    - assert: {that: [l6.changed, l6.msg == 'line added']}
    - blockinfile:
        path: "{{ dir }}/f.conf"
        block: |
          a=1
          b=2
      register: b1
    - assert: {that: [b1.changed, b1.msg == 'Block inserted']}
    - blockinfile:
        path: "{{ dir }}/f.conf"
        block: |
          a=1
          b=2
    - blockinfile:
        path: "{{ dir }}/f.conf"
        marker: "// {mark} quay"
        insertbefore: '^Listen'
        block: "x=1"
    - blockinfile: {path: "{{ dir }}/f.conf", block: "a=3"}
    - blockinfile:
        path: "{{ dir }}/f.conf"
        marker: "// {mark} quay"
        state: absent
      register: b3
    - assert: {that: [b3.changed, b3.msg == 'Block removed']}
    - replace: {path: "{{ dir }}/f.conf", regexp: '^(a)=(\d)$', replace: '\1 := \2'}
      register: r1
    - assert: {that: [r1.changed, r1.msg == '1 replacements made', r1.rc == 0]}
    - replace: {path: "{{ dir }}/f.conf", regexp: '^(a)=(\d)$', replace: '\1 := \2'}
      register: r2
    - assert: {that: [not r2.changed, r2.msg == '']}
    - replace: {path: "{{ dir }}/f.conf", regexp: 'o', replace: '0', after: 'Listen', before: 'Owner'}
    - replace: {path: "{{ dir }}/nope", regexp: 'o'}
      register: r3
      ignore_errors: true
    - assert: {that: ["r3.msg == 'Path ' ~ dir ~ '/nope does not exist !'"]}
"##;

#[test]
fn lineinfile_blockinfile_and_replace_edit_as_ansible() {
    // Expected from ansible-core 2.19.14 (the same tasks with 9 `debug` for these 11
    // asserts): ok=29 changed=14 ignored=2, these messages, and this file byte for byte.
    let test = play(EDITS);
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=31 changed=14 unreachable=0 failed=0 skipped=0 rescued=0 ignored=2"
    );
    assert_eq!(
        read(&test.path().join("f.conf")),
        "first\nListen 8080\nAfter p0rt\nOwner quay\nend\nAdded at end\n\
         # BEGIN ANSIBLE MANAGED BLOCK\na := 3\n# END ANSIBLE MANAGED BLOCK\n"
    );
    assert_eq!(read(&test.path().join("sub/new.conf")), "x\n");
}

#[test]
fn edits_in_check_mode_change_nothing_and_a_second_run_is_ok() {
    let playbook = r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - lineinfile: {path: "{{ dir }}/f.conf", regexp: '^port=', line: port=8443}
            - blockinfile: {path: "{{ dir }}/f.conf", block: "tls=on"}
            - replace: {path: "{{ dir }}/f.conf", regexp: 'quay', replace: 'QUAY'}
            - lineinfile: {path: "{{ dir }}/f.conf", line: x, mode: '0600'}
        "#;
    let test = play(playbook).file("f.conf", "port=80\nname=quay\nx\n");
    std::fs::set_permissions(test.path().join("f.conf"), PermissionsExt::from_mode(0o644)).unwrap();
    let check = rerun(&test, &["--check", "--diff"]).success();
    assert_eq!(
        check.recap("localhost"),
        "localhost : ok=4 changed=4 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert!(check.stdout.contains("+port=8443"), "{}", check.stdout);
    assert_eq!(read(&test.path().join("f.conf")), "port=80\nname=quay\nx\n");
    assert_eq!(mode(&test.path().join("f.conf")), 0o644);
    let run = rerun(&test, &[]).success();
    assert_eq!(
        run.recap("localhost"),
        "localhost : ok=4 changed=4 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        read(&test.path().join("f.conf")),
        "port=8443\nname=QUAY\nx\n# BEGIN ANSIBLE MANAGED BLOCK\ntls=on\n# END ANSIBLE MANAGED BLOCK\n"
    );
    assert_eq!(mode(&test.path().join("f.conf")), 0o600);
    let again = rerun(&test, &[]).success();
    assert_eq!(
        again.recap("localhost"),
        "localhost : ok=4 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

/// The same playbook as ansible-core 2.19.14 ran on this fleet (scripts: see the test):
/// what it left on the hosts' disks is what this test expects.
fn fleet_play(scratch: &str) -> String {
    format!(
        r#"
        - hosts: fleet
          gather_facts: false
          vars:
            base: "{{{{ host_root }}}}/{scratch}"
            port: 8443
          tasks:
            - ansible.builtin.file: {{path: "{{{{ base }}}}/etc/quay", state: directory, mode: 'u=rwx,g=rx,o='}}
            - ansible.builtin.copy: {{src: a.txt, dest: "{{{{ base }}}}/etc/quay/", mode: '0640'}}
            - ansible.builtin.copy: {{content: "name=quay\nport=80\n", dest: "{{{{ base }}}}/etc/quay/edit.conf", force: false, mode: '0640'}}
            - ansible.builtin.template: {{src: conf.j2, dest: "{{{{ base }}}}/etc/quay/conf.yaml", mode: '0600'}}
            - ansible.builtin.lineinfile: {{path: "{{{{ base }}}}/etc/quay/edit.conf", regexp: '^port=', line: 'port={{{{ port }}}}'}}
            - ansible.builtin.blockinfile: {{path: "{{{{ base }}}}/etc/quay/edit.conf", block: "tls=on"}}
            - ansible.builtin.replace: {{path: "{{{{ base }}}}/etc/quay/edit.conf", regexp: 'quay', replace: 'QUAY'}}
            - ansible.builtin.file: {{path: "{{{{ base }}}}/current", state: link, src: etc/quay}}
            - ansible.builtin.stat: {{path: "{{{{ base }}}}/etc/quay/conf.yaml"}}
              register: conf
            - ansible.builtin.slurp: {{src: "{{{{ base }}}}/etc/quay/conf.yaml"}}
              register: text
            - ansible.builtin.assert:
                that:
                  - conf.stat.exists and conf.stat.mode == '0600' and conf.stat.pw_name == (owner_name | default('quayside'))
                  - >-
                    (text.content | b64decode | trim) == 'host: ' ~ inventory_hostname
        "#
    )
}

#[test]
fn file_modules_on_the_fleet_leave_what_ansible_leaves() {
    use crate::common::fleet::{fleet, run_play};
    // Expected from ansible-core 2.19.14 on the same hosts and playbook: ok=11 changed=8 per
    // host, then ok=11 changed=0; these files, modes and owners (the SSH user's).
    let scratch = "ansible_file_modules";
    fleet().scratch(scratch);
    let test = Test::new()
        .file("play.yml", &fleet_play(scratch))
        .file("files/a.txt", "name=quay\nport=80\n")
        .file("templates/conf.j2", "host: {{ inventory_hostname }}\n");
    let output = run_play(&test, "host1:host2", &[]).success();
    for host in ["host1", "host2"] {
        assert_eq!(
            output.recap(host),
            format!(
                "{host} : ok=11 changed=8 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
            )
        );
    }
    for i in 1..=2 {
        let base = fleet().root(i).join(scratch);
        let quay = base.join("etc/quay");
        assert_eq!(mode(&quay), 0o750);
        assert_eq!(read(&quay.join("a.txt")), "name=quay\nport=80\n");
        assert_eq!(mode(&quay.join("a.txt")), 0o640);
        assert_eq!(
            read(&quay.join("edit.conf")),
            "name=QUAY\nport=8443\n# BEGIN ANSIBLE MANAGED BLOCK\ntls=on\n# END ANSIBLE MANAGED BLOCK\n"
        );
        assert_eq!(mode(&quay.join("edit.conf")), 0o640);
        assert_eq!(read(&quay.join("conf.yaml")), format!("host: host{i}\n"));
        assert_eq!(mode(&quay.join("conf.yaml")), 0o600);
        assert_eq!(
            std::fs::read_link(base.join("current")).unwrap(),
            Path::new("etc/quay")
        );
        let owner = std::fs::metadata(quay.join("conf.yaml")).unwrap().uid();
        assert_eq!(owner, std::fs::metadata(&base).unwrap().uid());
    }
    let again = run_play(&test, "host1:host2", &[]).success();
    for host in ["host1", "host2"] {
        assert_eq!(
            again.recap(host),
            format!(
                "{host} : ok=11 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
            )
        );
    }
}

#[test]
fn tempfile_makes_an_owner_only_file_or_directory_and_is_skipped_in_check_mode() {
    // Expected from ansible-core 2.19.14: 0600 files, 0700 directories, `PREFIX` + eight
    // characters + `SUFFIX`; in check mode the task is skipped.
    let playbook = r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - tempfile: {path: "{{ dir }}"}
              register: t1
            - ansible.builtin.tempfile: {state: directory, suffix: .build, prefix: quay., path: "{{ dir }}"}
              register: t2
            - assert:
                that:
                  - t1.changed and t1.state == 'file' and t1.mode == '0600' and t1.size == 0
                  - t1.path is search('/ansible[.][A-Za-z0-9]{8}$')
                  - t2.state == 'directory' and t2.mode == '0700'
                  - t2.path is search('/quay[.][A-Za-z0-9]{8}[.]build$')
              when: not ansible_check_mode
        "#;
    let test = play(playbook);
    let check = rerun(&test, &["--check"]).success();
    assert_eq!(
        check.recap("localhost"),
        "localhost : ok=0 changed=0 unreachable=0 failed=0 skipped=3 rescued=0 ignored=0"
    );
    assert_eq!(std::fs::read_dir(test.path()).unwrap().count(), 1);
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=3 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(std::fs::read_dir(test.path()).unwrap().count(), 3);
}

#[test]
fn find_chooses_what_ansible_chooses() {
    // Expected from ansible-core 2.19.14 on this tree: the same paths, counts, skipped
    // paths, checksum and messages (Ansible also warns of the skipped path).
    let test = Test::new()
        .file("t/a.conf", "a\n")
        .file("t/b.yaml", "bb\n")
        .file("t/sub/c.conf", "c\n")
        .file("t/sub/deep/d.conf", "d\n")
        .file("t/.hid/h.conf", "h\n")
        .file("t/.x.conf", "x\n")
        .file("t/big.conf", &"0".repeat(20000));
    std::os::unix::fs::symlink("a.conf", test.path().join("t/l.conf")).unwrap();
    let old = std::process::Command::new("touch")
        .args(["-d", "3 days ago"])
        .arg(test.path().join("t/a.conf"))
        .status()
        .unwrap();
    assert!(old.success());
    let test = test.file(
        "play.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          vars:
            t: "{{ dir }}/t"
          tasks:
            - find: {paths: "{{ t }}"}
              register: f1
            - find: {paths: "{{ t }}", patterns: '*.conf', recurse: true}
              register: f2
            - ansible.builtin.find:
                paths: ["{{ t }}", "{{ dir }}/nope"]
                patterns: '*.conf,*.yaml'
                excludes: 'b*'
                hidden: true
                recurse: true
                depth: 2
                file_type: any
              register: f3
            - find: {paths: "{{ t }}", age: 2d, size: '-1k', get_checksum: true}
              register: f4
            - find: {paths: "{{ t }}", patterns: '^[ab]\.', use_regex: true}
              register: f5
            - find: {paths: "{{ t }}", file_type: link}
              register: f6
            - find: {paths: "{{ t }}", size: 10k, file_type: directory, recurse: true}
              register: f7
            - assert:
                that:
                  - f1.matched == 3 and f1.examined == 7 and f1.msg == 'All paths examined'
                  - f1.files | map(attribute='path') | map('replace', t, '') | sort | list == ['/a.conf', '/b.yaml', '/big.conf']
                  - f2.matched == 5 and f2.examined == 11
                  - f2.files | map(attribute='path') | map('replace', t, '') | sort | list == ['/.hid/h.conf', '/a.conf', '/big.conf', '/sub/c.conf', '/sub/deep/d.conf']
                  - f3.files | map(attribute='path') | map('replace', t, '') | sort | list == ['/.hid/h.conf', '/.x.conf', '/a.conf', '/l.conf', '/sub/c.conf']
                  - >-
                    f3.skipped_paths[dir ~ '/nope'] == "'" ~ dir ~ "/nope' is not a directory"
                  - f3.msg == 'Not all paths examined, check warnings for details'
                  - f4.files | length == 1 and f4.files[0].path == t ~ '/a.conf'
                  - f4.files[0].checksum == '3f786850e387550fdab836ed7e6dc881de23001b'
                  - f4.files[0].isreg and not f4.files[0].isdir
                  - f5.files | map(attribute='path') | map('replace', t, '') | sort | list == ['/a.conf', '/b.yaml']
                  - f6.files | length == 1 and f6.files[0].islnk
                  - f7.files | map(attribute='path') | map('replace', t, '') | sort | list == ['/sub', '/sub/deep']
        "#,
    );
    let dir = test.path().display().to_string();
    let output = test
        .args(&["run", "play.yml", "-e", &format!("dir={dir}")])
        .run()
        .success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=8 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn find_chooses_by_mode_and_stops_at_limit_as_ansible() {
    // Expected from ansible-core 2.19.14 on this tree: the same matches, counts and
    // messages. `mode` is octal or symbolic (applied to no permissions), exact unless
    // `exact_mode: false` (then any bit in common); `limit` stops at that many matches in
    // os.walk's order (a directory's files before its directories), and a second path
    // only stops again if its first entry leaves the count at the limit.
    let test = Test::new();
    let play = r#"
        - hosts: localhost
          gather_facts: false
          vars:
            t: "{{ dir }}/t"
          tasks:
            - file: {path: "{{ t }}/sub/deep", state: directory}
            - file: {path: "{{ t }}/mode_{{ item }}", state: touch, mode: "{{ item }}"}
              loop: ['0644', '0444', '0400', '0700', '0666', '4755']
            - file: {path: "{{ t }}/sub/s_{{ item }}", state: touch, mode: '0600'}
              loop: [a, b, c]
            - file: {path: "{{ t }}/sub/deep/d", state: touch, mode: '0600'}
            - find: {path: "{{ t }}", pattern: 'mode_*', mode: '0644'}
              register: r1
            - find: {path: "{{ t }}", pattern: 'mode_*', mode: 'u=rw,g=r,o=r', exact_mode: true}
              register: r2
            - find: {path: "{{ t }}", pattern: 'mode_*', mode: 'o=r', exact_mode: false}
              register: r3
            - find: {path: "{{ t }}", pattern: 'mode_*', mode: 'u=rwxs,g=rx,o=rx'}
              register: r4
            - find: {path: "{{ t }}", pattern: 'mode_*', mode: 'a+X'}
              register: r5
            - find: {path: "{{ t }}", recurse: true, limit: 2}
              register: r6
            - find: {path: "{{ t }}", recurse: true, limit: 7, file_type: any}
              register: r7
            - find: {paths: ["{{ t }}/sub", "{{ t }}"], recurse: true, limit: 3}
              register: r8
            - find: {paths: ["{{ t }}"], recurse: true, depth: 0}
              register: r9
            - assert:
                that:
                  - r1.files | map(attribute='path') | list == [t ~ '/mode_0644']
                  - r2.files == r1.files
                  - r3.files | map(attribute='path') | map('basename') | sort == ['mode_0444', 'mode_0644', 'mode_0666', 'mode_4755']
                  - r4.files | map(attribute='path') | map('basename') | list == ['mode_4755']
                  - r5.matched == 0 and r5.msg == 'All paths examined'
                  - r6.matched == 2 and r6.examined == 7 and r6.msg == 'Limit of matches reached'
                  - r6.files | map(attribute='path') | map('basename') | select('match', 'mode_') | list | length == 2
                  - r7.matched == 7 and r7.files[6].path == t ~ '/sub'
                  - r8.matched == 13 and r8.examined == 16 and r8.msg == 'Limit of matches reached'
                  - r8.files[:3] | map(attribute='path') | map('dirname') | unique | list == [t ~ '/sub']
                  - r9.matched == 10 and r9.examined == 12 and r9.msg == 'All paths examined'
    "#;
    let test = test.file("play.yml", play);
    let dir = test.path().display().to_string();
    let output = test
        .args(&["run", "play.yml", "-e", &format!("dir={dir}")])
        .run()
        .success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=14 changed=4 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn slurp_fails_with_ansible_core_messages() {
    // Expected from ansible-core 2.19.14 (its slurp module's words, the last one with its
    // `{source}` as written).
    let test = Test::new().file("f", "x\n").file(
        "play.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - slurp: {src: "{{ dir }}"}
              ignore_errors: true
            - slurp: {src: "{{ dir }}/f/x"}
              ignore_errors: true
            - slurp: {src: "{{ dir }}/nope/x"}
              ignore_errors: true
        "#,
    );
    let dir = test.path().display().to_string();
    test.args(&["run", "play.yml", "-e", &format!("dir={dir}")])
        .run()
        .success()
        .stdout_contains(&format!(
            r#"fatal: [localhost]: FAILED! => {{"changed": false, "msg": "Source is a directory and must be a file: {dir}"}}"#
        ))
        .stdout_contains(
            r#"fatal: [localhost]: FAILED! => {"changed": false, "msg": "Unable to slurp file: {source}"}"#,
        )
        .stdout_contains(&format!(
            r#"fatal: [localhost]: FAILED! => {{"changed": false, "msg": "File not found: {dir}/nope/x"}}"#
        ));
}

#[test]
fn find_skips_a_directory_it_cannot_list_as_ansible() {
    // Expected from ansible-core 2.19.14 (as `nobody`): the directory os.walk could not
    // list is in `skipped_paths` with Python's error, without a warning, and the message
    // stays `All paths examined`; with `depth: 1` it is still walked into.
    let test = Test::new()
        .file("top/a", "")
        .file("top/ok/.keep", "")
        .file("top/no/b", "");
    let top = test.path().join("top");
    for (path, bits) in [(test.path().to_path_buf(), 0o755), (top.join("no"), 0o700)] {
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(bits))
            .unwrap();
    }
    let test = test.file(
        "play.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          become: true
          become_user: nobody
          tasks:
            - find: {paths: "{{ dir }}/top", recurse: true, file_type: any}
              register: r1
            - find: {paths: "{{ dir }}/top/no"}
              register: r2
            - find: {paths: "{{ dir }}/top/", recurse: true, depth: 1}
              register: r3
            - assert:
                that:
                  - r1.matched == 3 and r1.examined == 4 and r1.msg == 'All paths examined'
                  - r1.warnings is not defined
                  - >-
                    r1.skipped_paths == {dir ~ '/top/no': "[Errno 13] Permission denied: '" ~ dir ~ "/top/no'"}
                  - r2.matched == 0 and r2.skipped_paths | list == [dir ~ '/top/no']
                  - r3.skipped_paths | list == [dir ~ '/top/no']
        "#,
    );
    let dir = test.path().display().to_string();
    let output = test
        .args(&["run", "play.yml", "-e", &format!("dir={dir}")])
        .run()
        .success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=4 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn copy_with_remote_src_copies_a_file_on_the_host() {
    // Expected from ansible-core 2.19.14: into a directory under the source's name, the
    // same checksum, md5sum and mode, then ok; a missing source fails with this message.
    let test = play(
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - copy: {src: "{{ dir }}/src.txt", dest: "{{ dir }}/out/", remote_src: true, mode: '0600'}
              register: c1
            - copy: {src: "{{ dir }}/src.txt", dest: "{{ dir }}/out/", remote_src: true, mode: '0600'}
              register: c2
            - copy: {src: "{{ dir }}/nope", dest: "{{ dir }}/x", remote_src: true}
              register: c3
              ignore_errors: true
            - assert:
                that:
                  - c1.changed and c1.dest == dir ~ '/out/src.txt' and c1.src == dir ~ '/src.txt'
                  - c1.checksum == 'f572d396fae9206628714fb2ce00f72e94f2258f'
                  - c1.md5sum == 'b1946ac92492d2347c6235b4d2611184' and c1.mode == '0600'
                  - not c2.changed
                  - c3.msg == 'Source ' ~ dir ~ '/nope not found'
        "#,
    )
    .file("src.txt", "hello\n");
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=4 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=1"
    );
    assert_eq!(read(&test.path().join("out/src.txt")), "hello\n");
    assert_eq!(mode(&test.path().join("out/src.txt")), 0o600);
    assert!(!test.path().join("x").exists());
}

#[test]
fn copy_and_lineinfile_take_symbolic_modes_as_ansible() {
    // Expected from ansible-core 2.19.14: ok=5 changed=4; a new file starts from 0644, an
    // existing one from its own mode.
    let test = play(
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - copy: {content: "a\n", dest: "{{ dir }}/a", mode: 'u=rw,g=r,o='}
            - copy: {content: "a\n", dest: "{{ dir }}/b", mode: 'g+w'}
            - copy: {content: "a\n", dest: "{{ dir }}/a", mode: 'u=rw,g=r,o='}
            - copy: {content: "b\n", dest: "{{ dir }}/b", mode: 'a+x'}
            - lineinfile: {path: "{{ dir }}/a", line: x, mode: 'o+r'}
        "#,
    );
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=5 changed=4 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(mode(&test.path().join("a")), 0o644);
    assert_eq!(mode(&test.path().join("b")), 0o775);
    assert_eq!(read(&test.path().join("a")), "a\nx\n");
}

#[test]
fn template_sees_ansibles_template_variables() {
    // Expected from ansible-core 2.19.14: these values for this template.
    let test = play(
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - template: {src: m.j2, dest: "{{ dir }}/out.txt"}
        "#,
    )
    .file(
        "templates/m.j2",
        "# {{ ansible_managed }}\npath={{ template_path }}\nfull={{ template_fullpath }}\ndest={{ template_destpath }}\nuid={{ template_uid }}\n",
    );
    test.run().success();
    let dir = std::fs::canonicalize(test.path()).unwrap();
    assert_eq!(
        read(&test.path().join("out.txt")),
        format!(
            "# Ansible managed\npath=m.j2\nfull={}/templates/m.j2\ndest={}/out.txt\nuid=root\n",
            dir.display(),
            test.path().display()
        )
    );
}

#[test]
fn touch_keeps_or_sets_times_as_ansible() {
    // Expected from ansible-core 2.19.14: changed, ok, changed, ok, changed, changed; the
    // file's modification time is the one given.
    let test = play(
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - file: {path: "{{ dir }}/tm", state: touch, modification_time: preserve, access_time: preserve}
            - file: {path: "{{ dir }}/tm", state: touch, modification_time: preserve, access_time: preserve}
            - file: {path: "{{ dir }}/tm", state: file, modification_time: '202401021530.45'}
            - file: {path: "{{ dir }}/tm", state: file, modification_time: '202401021530.45'}
            - file: {path: "{{ dir }}/tm", state: touch, modification_time: '202401021530.45', access_time: '202401021530.45'}
            - file: {path: "{{ dir }}/tm", state: touch, access_time: now, modification_time: preserve}
        "#,
    );
    let output = rerun(&test, &["--output", "json"]).success();
    let statuses: Vec<String> = output
        .events()
        .into_iter()
        .filter(|e| e["event"] == "host_result")
        .map(|e| e["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        statuses,
        ["changed", "ok", "changed", "ok", "changed", "changed"]
    );
    let when = std::process::Command::new("date")
        .args(["-d", "2024-01-02 15:30:45", "+%s"])
        .output()
        .unwrap();
    let when: i64 = String::from_utf8_lossy(&when.stdout)
        .trim()
        .parse()
        .unwrap();
    assert_eq!(
        std::fs::metadata(test.path().join("tm")).unwrap().mtime(),
        when
    );
}

// Ansible content often chooses a state with a variable. Expected from ansible-core
// 2.19.14: the play loads, the rendered value is used, and a value the module does not know
// fails that host when the task runs (ansible-core: "value of state must be one of: ...").
#[test]
fn a_templated_state_is_checked_when_the_task_runs() {
    const PLAY: &str = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - file: {path: "{{ dir }}/d", state: "{{ wanted }}"}
"#;
    let test = play(PLAY);
    rerun(&test, &["-e", "wanted=directory"]).success();
    assert!(test.path().join("d").is_dir());
    let output = rerun(&test, &["-e", "wanted=dirctory"]).status(2);
    output.stdout_contains("unknown value `dirctory`");
}

// `~` at the start of a path on the host is that home there, and `~` in a `src` on the
// controller the controller's home. Compared with ansible-core 2.19.14 on this playbook
// (with `~` the real /root there, whose values are the same with /root for the home):
// ok=12 changed=4 ignored=1, then changed=0; `~root` is /root and `~nosuchuser/x` stays
// as written (it does not exist). Here HOME is the test's folder, for the login user's
// shell and for the controller alike.
const TILDE: &str = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - file: {path: ~/qs/d, state: directory}
      register: r1
    - copy: {src: ~/src.txt, dest: ~/qs/d/c.txt}
      register: r2
    - lineinfile: {path: ~/qs/d/l.txt, line: a, create: true}
      register: r3
    - stat: {path: ~/qs/d/c.txt}
      register: r4
    - find: {paths: [~/qs/d]}
      register: r5
    - slurp: {src: ~/qs/d/c.txt}
      register: r6
    - stat: {path: ~root}
      register: r7
    - stat: {path: ~nosuchuser/x}
      register: r8
    - template: {src: ~/src.txt, dest: ~/qs/d/t.txt}
      register: r9
    - file: {path: "~", state: directory}
      register: r10
    - blockinfile: {path: ~/qs/d/l.txt, block: b}
      register: r11
    - assert:
        that:
          - r1.path == home ~ '/qs/d'
          - r2.dest == home ~ '/qs/d/c.txt'
          - r4.stat.path == home ~ '/qs/d/c.txt'
          - (home ~ '/qs/d/c.txt') in (r5.files | map(attribute='path'))
          - r6.source == home ~ '/qs/d/c.txt'
          - r7.stat.path == '/root' and not r8.stat.exists
          - r9.dest == home ~ '/qs/d/t.txt' and r10.path == home
"#;

#[test]
fn a_tilde_path_is_the_home_on_the_host_and_on_the_controller() {
    let test = Test::new().file("play.yml", TILDE).file("src.txt", "hi\n");
    let home = test.path().display().to_string();
    let home_var = format!("home={home}");
    let args = ["run", "play.yml", "-e", &home_var];
    let test = test.env("HOME", &home).args(&args);
    test.run()
        .success()
        .stdout_contains("ok=12   changed=5    unreachable=0    failed=0");
    assert_eq!(read(&test.path().join("qs/d/c.txt")), "hi\n");
    assert_eq!(read(&test.path().join("qs/d/t.txt")), "hi\n");
    assert!(!test.path().join("~").exists(), "a folder named `~`");
    Test::new()
        .env("HOME", &home)
        .args(&args)
        .run_in(test.path())
        .success()
        .stdout_contains("ok=12   changed=0    unreachable=0    failed=0");
}

#[test]
fn file_follows_links_unless_told_not_to_as_ansible() {
    // Expected from ansible-core 2.19.14 (run as root on the same tasks): with
    // `follow: false` a link fails `state: file` ("file (P) is link, cannot continue") and
    // `state: directory` ("P already exists as a link"), and `touch` changes the link's
    // owner, registering `state: link`, mode 0777; `state: link` with `group` changes the
    // target's owner unless `follow: false`, which changes the link's. The mode through a
    // followed link is the target's. ok=9 changed=4 ignored=2, then changed=0.
    let test = Test::new()
        .file("d/t", "x\n")
        .file("d/sub/.keep", "")
        .file(
            "play.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              tasks:
                - file: {path: "{{ dir }}/d/l", state: file, follow: false}
                  ignore_errors: true
                - file: {path: "{{ dir }}/d/ld", state: directory, follow: false}
                  ignore_errors: true
                - file: {path: "{{ dir }}/d/l", state: file, mode: '0640'}
                - file: {path: "{{ dir }}/d/l", state: touch, follow: false, owner: nobody, modification_time: preserve, access_time: preserve}
                  register: touched
                - assert:
                    that:
                      - touched.state == 'link'
                      - touched.mode == '0777'
                      - touched.owner == 'nobody'
                - file: {path: "{{ dir }}/d/l2", state: link, src: t, group: nogroup}
                  register: linked
                - assert: {that: ["linked.mode == '0777'", "linked.group == 'root'"]}
                - file: {path: "{{ dir }}/d/sub", state: directory, follow: false}
                - debug: {msg: done}
            "#,
        );
    let d = test.path().join("d");
    std::os::unix::fs::symlink("t", d.join("l")).unwrap();
    std::os::unix::fs::symlink("sub", d.join("ld")).unwrap();
    let output = rerun(&test, &[]);
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=9 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=2",
        "{}",
        output.stdout
    );
    output
        .stdout_contains("is link, cannot continue")
        .stdout_contains("d/ld already exists as a link");
    use std::os::unix::fs::MetadataExt;
    let meta = |name: &str| std::fs::symlink_metadata(d.join(name)).unwrap();
    assert_eq!(mode(&d.join("t")), 0o640);
    assert_ne!(meta("l").uid(), 0, "the link itself is nobody's");
    assert_eq!(meta("t").uid(), 0, "the target is still root's");
    assert_eq!(meta("l2").gid(), 0, "the new link stays root's");
    assert_ne!(meta("t").gid(), 0, "its target is nogroup's");
    let again = rerun(&test, &[]);
    assert_eq!(
        again.recap("localhost"),
        "localhost : ok=9 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=2"
    );
}

#[test]
fn find_contains_matches_lines_or_the_whole_file_as_ansible() {
    // Expected from ansible-core 2.19.14 on this tree: `contains` is `re.match` on each
    // line (`$` before the newline; `\r\n` read as `\n`), `re.search` on the whole file
    // with `read_whole_file`, ignored with `file_type: any`; a file that is not UTF-8
    // skips its path with Ansible's message.
    let test = Test::new()
        .file("c/a.conf", "one\nport: 80\n")
        .file("c/b.conf", "port: 80")
        .file("c/c.conf", "x port: 80\r\n")
        .file("c/d.conf", "a\r\nport\r\n")
        .file("w/log.txt", "1 OK\n2 KO\n3 OK\n")
        .file("c/e.bin", "")
        .file("bin/.keep", "");
    std::fs::write(test.path().join("c/e.bin"), b"\xff\xfe port").unwrap();
    std::fs::remove_file(test.path().join("bin/.keep")).unwrap();
    std::fs::write(test.path().join("bin/e.bin"), b"\xff\xfe port").unwrap();
    let test = test.file(
        "play.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          vars:
            c: "{{ dir }}/c"
          tasks:
            - find: {paths: "{{ c }}", contains: 'port: \d+$', patterns: '*.conf'}
              register: r1
            - find: {paths: "{{ c }}", contains: 'port$', patterns: '*.conf'}
              register: r2
            - find: {paths: "{{ c }}", contains: 'x port', read_whole_file: true, patterns: '*.conf'}
              register: r3
            - find: {paths: "{{ c }}", contains: '^port', read_whole_file: true, patterns: '*.conf'}
              register: r4
            - find: {paths: "{{ c }}", contains: 'port', file_type: any, patterns: 'e*'}
              register: r5
            - find: {paths: "{{ dir }}/bin", contains: 'port'}
              register: r6
            - find: {paths: "{{ dir }}/w", contains: 'KO$', read_whole_file: true}
              register: r7
            - find: {paths: "{{ dir }}/w", contains: 'OK$', read_whole_file: true}
              register: r8
            - find: {paths: "{{ dir }}/w", contains: "OK\n2 KO", read_whole_file: true}
              register: r9
            - assert:
                that:
                  - r1.files | map(attribute='path') | map('replace', c, '') | sort | list == ['/a.conf', '/b.conf']
                  - r2.files | map(attribute='path') | map('replace', c, '') | list == ['/d.conf']
                  - r3.files | map(attribute='path') | map('replace', c, '') | list == ['/c.conf']
                  - r4.files | map(attribute='path') | map('replace', c, '') | list == ['/b.conf']
                  - r5.files | map(attribute='path') | map('replace', c, '') | list == ['/e.bin']
                  - r6.files == [] and r6.msg == 'Not all paths examined, check warnings for details'
                  - r7.matched == 0 and r8.matched == 1 and r9.matched == 1
                  - >-
                    r6.skipped_paths[dir ~ '/bin'] == 'Failed to read the file ' ~ dir ~ '/bin/e.bin due to an encoding error. current encoding: None (default determined by the Python built-in function "open")'
        "#,
    );
    let dir = test.path().display().to_string();
    let output = test
        .args(&["run", "play.yml", "-e", &format!("dir={dir}")])
        .run()
        .success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=10 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn find_contains_reads_files_in_their_encoding_as_ansible() {
    // Expected from ansible-core 2.19.14 on these files: a GBK file read as UTF-8 (or
    // ASCII) skips its path with Ansible's message naming the encoding as written, read
    // as GBK it matches; Latin-1 is Python's (every byte a character); an encoding Python
    // does not know skips the path only when a file is read, and the same warnings.
    let test = Test::new()
        .file("l/caf.txt", "")
        .file("g/plain.gbk", "nothing\n")
        .file(
            "play.yml",
            r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - find: {paths: "{{ dir }}/g", patterns: "*.gbk", contains: "你好世界", encoding: utf-8}
              register: e1
            - find: {paths: "{{ dir }}/g", patterns: "*.gbk", contains: "你好世界", encoding: gbk}
              register: e2
            - find: {paths: "{{ dir }}/g", patterns: "*.gbk", contains: "你好世界", encoding: idontexist}
              register: e3
            - find: {paths: "{{ dir }}/l", contains: "caf.$", encoding: latin-1}
              register: e4
            - find: {paths: "{{ dir }}/l", contains: "café", encoding: UTF8}
              register: e5
            - find: {paths: "{{ dir }}/g", patterns: "*.gbk", encoding: idontexist}
              register: e6
            - find: {paths: "{{ dir }}/g", patterns: "*.gbk", contains: "你好世界", encoding: ascii}
              register: e7
            - assert:
                that:
                  - "[e1.matched, e2.matched, e3.matched, e4.matched, e5.matched, e6.matched, e7.matched] == [0, 1, 0, 1, 0, 2, 0]"
                  - e2.files[0].path == dir ~ '/g/hello_world.gbk' and e4.files[0].path == dir ~ '/l/caf.txt'
                  - e1.msg == 'Not all paths examined, check warnings for details'
                  - >-
                    e1.skipped_paths[dir ~ '/g'] == 'Failed to read the file ' ~ dir ~ '/g/hello_world.gbk due to an encoding error. current encoding: utf-8'
                  - >-
                    e3.skipped_paths[dir ~ '/g'] == 'unknown encoding: idontexist'
                  - >-
                    e5.skipped_paths[dir ~ '/l'] == 'Failed to read the file ' ~ dir ~ '/l/caf.txt due to an encoding error. current encoding: UTF8'
                  - >-
                    e7.skipped_paths[dir ~ '/g'] == 'Failed to read the file ' ~ dir ~ '/g/hello_world.gbk due to an encoding error. current encoding: ascii'
                  - e2.msg == 'All paths examined' and e2.skipped_paths == {} and e6.skipped_paths == {}
                  - >-
                    e3.warnings == ["Skipped '" ~ dir ~ "/g' path due to this access issue: unknown encoding: idontexist\n"]
        "#,
        );
    // 你好世界 in GBK, café in Latin-1.
    std::fs::write(
        test.path().join("g/hello_world.gbk"),
        b"\xc4\xe3\xba\xc3\xca\xc0\xbd\xe7\n",
    )
    .unwrap();
    std::fs::write(test.path().join("l/caf.txt"), b"caf\xe9\n").unwrap();
    let dir = test.path().display().to_string();
    let output = test
        .args(&["run", "play.yml", "-e", &format!("dir={dir}")])
        .run()
        .success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=8 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert!(
        output.stdout.contains(&format!("[WARNING]: Skipped '{dir}/g' path due to this access issue: unknown encoding: idontexist")),
        "{}",
        output.stdout
    );
}

#[test]
fn template_takes_its_own_delimiters_as_ansible() {
    // Expected from ansible-core 2.19.14: these delimiters render `name=quay`, the loop,
    // and leave `{{ }}`, `{% %}` and `{# #}` as text, byte for byte; changed, then ok.
    let test = Test::new()
        .file(
            "templates/c.j2",
            "[# a comment #]\nname=[[ name ]]\n<% for i in items %>i=[[ i ]]\n<% endfor %>\nraw={{ not_a_var }} {% x %} {# y #}\n",
        )
        .file(
            "play.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              vars: {name: quay, items: [1, 2]}
              tasks:
                - template:
                    src: c.j2
                    dest: "{{ dir }}/out"
                    variable_start_string: '[['
                    variable_end_string: ']]'
                    block_start_string: '<%'
                    block_end_string: '%>'
                    comment_start_string: '[#'
                    comment_end_string: '#]'
            "#,
        );
    let output = rerun(&test, &[]).success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=1 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        read(&test.path().join("out")),
        "name=quay\ni=1\ni=2\nraw={{ not_a_var }} {% x %} {# y #}\n"
    );
    let again = rerun(&test, &[]).success();
    assert_eq!(
        again.recap("localhost"),
        "localhost : ok=1 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn copy_of_a_directory_holding_one_file_reports_as_ansible() {
    // Expected from ansible-core 2.19.14 (the user target's `copy skell to target`): its
    // action keeps the result of the last module it ran. A directory with one file and no
    // subdirectory gives the file's result; with a subdirectory, the `file` module's on
    // it, ok even on the run that wrote the file. Several files: the directory's result.
    // First run ok=5 changed=3, second ok=5 changed=0.
    let test = play(
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - copy: {src: one, dest: "{{ dir }}/out/o1"}
              register: r1
            - copy: {src: one/, dest: "{{ dir }}/out/o2"}
              register: r2
            - copy: {src: two, dest: "{{ dir }}/out/o3"}
              register: r3
            - copy: {src: skel/, dest: "{{ dir }}/out/o4"}
              register: r4
            - assert:
                that:
                  - r1.dest == dir ~ '/out/o1/one/a' and r1.state == 'file'
                  - r2.dest == dir ~ '/out/o2/a' and r2.state == 'file'
                  - r3.dest == dir ~ '/out/o3/' and r3.state is undefined
                  - r4.dest == dir ~ '/out/o4/.ssh' and r4.path == r4.dest
                  - r4.state == 'directory' and not r4.changed
        "#,
    )
    .file("files/one/a", "a\n")
    .file("files/two/b", "b\n")
    .file("files/two/sub/c", "c\n")
    .file("files/skel/.ssh/known_hosts", "host ssh-ed25519 AAAA\n");
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=5 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(
        read(&test.path().join("out/o4/.ssh/known_hosts")),
        "host ssh-ed25519 AAAA\n"
    );
    let again = rerun(&test, &[]).success();
    assert_eq!(
        again.recap("localhost"),
        "localhost : ok=5 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
}

#[test]
fn a_list_or_mapping_where_a_string_goes_is_its_python_str() {
    // Expected from ansible-core 2.19.14: a string argument given a mapping, a list or a
    // number takes its Python `str()`; the loop labels are Python's too. ok=4 changed=0.
    let test = play(
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - file: {path: '{{ item }}', state: absent}
              loop: [{a: 1, b: 'x'}, [1, 'two'], 5, 1.5]
              register: r
            - assert:
                that: "r.results | map(attribute='path') | list == [\"{'a': 1, 'b': 'x'}\", \"[1, 'two']\", '5', '1.5']"
            - file: {path: {a: 1}, state: absent}
              register: q
            - assert: {that: ["q.path == \"{'a': 1}\""]}
        "#,
    );
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=4 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert!(
        output.stdout.contains(
            "ok: [localhost] => (item={'a': 1, 'b': 'x'})\nok: [localhost] => (item=[1, 'two'])\n"
        ),
        "{}",
        output.stdout
    );
}

#[test]
fn copy_mode_preserve_keeps_the_source_files_mode() {
    let test = play(
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - copy: {src: run.sh, dest: '{{ dir }}/out.sh', mode: preserve}
              register: first
            - copy: {src: run.sh, dest: '{{ dir }}/out.sh', mode: preserve}
              register: again
            - assert: {that: [first is changed, first.mode == '0751', again is not changed]}
            - copy: {content: boo, dest: '{{ dir }}/content.txt', mode: preserve}
              register: content
            - assert: {that: [content is changed, content.mode == '0600']}
            - copy: {src: '{{ dir }}/out.sh', dest: '{{ dir }}/remote.sh', mode: preserve, remote_src: true}
              register: remote
            - copy: {src: '{{ dir }}/out.sh', dest: '{{ dir }}/remote.sh', mode: preserve, remote_src: true}
              register: remote_again
            - assert: {that: [remote is changed, remote.mode == '0751', remote_again is not changed]}
        ",
    )
    .file("files/run.sh", "x\n");
    std::fs::set_permissions(
        test.path().join("files/run.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o751),
    )
    .unwrap();
    // Expected from ansible-core 2.19.14 (same playbook): ok=8 changed=3, out.sh 0751,
    // content.txt 0600 (the mode of the temporary file ansible-core writes `content` to),
    // remote.sh 0751 (with `remote_src`, the mode of the source on the host).
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=8 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(mode(&test.path().join("out.sh")), 0o751);
    assert_eq!(mode(&test.path().join("remote.sh")), 0o751);
    assert_eq!(mode(&test.path().join("content.txt")), 0o600);
}

#[test]
fn template_and_copy_follow_write_through_a_link_and_replace_it_without() {
    let test = play(
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - template: {src: t.j2, dest: '{{ dir }}/l1.txt', follow: true, mode: '0600'}
              register: t1
            - template: {src: t.j2, dest: '{{ dir }}/l1.txt', follow: true, mode: '0600'}
              register: t2
            - template: {src: t.j2, dest: '{{ dir }}/l2.txt'}
              register: t3
            - copy: {content: \"c\\n\", dest: '{{ dir }}/l3.txt', follow: true}
              register: c1
            - copy: {content: \"c\\n\", dest: '{{ dir }}/l3.txt', follow: true}
              register: c2
            - assert:
                that:
                  - t1 is changed and t2 is not changed and t3 is changed
                  - c1 is changed and c2 is not changed
                  - t1.dest == dir ~ '/r1.txt' and c1.dest == dir ~ '/r3.txt'
        ",
    )
    .file("templates/t.j2", "new {{ 1 + 1 }}\n");
    for n in 1..=3 {
        std::fs::write(test.path().join(format!("r{n}.txt")), "old\n").unwrap();
        std::os::unix::fs::symlink(format!("r{n}.txt"), test.path().join(format!("l{n}.txt")))
            .unwrap();
    }
    // Expected from ansible-core 2.19.14 (same playbook, same files): ok=6 changed=3; the
    // followed links stay links and their files change (r1 0600), `dest` is the file the
    // link led to; without `follow` the link is replaced by the file, r2 untouched.
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=6 changed=3 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    let at = |name: &str| test.path().join(name);
    assert!(at("l1.txt").is_symlink() && at("l3.txt").is_symlink());
    assert!(!at("l2.txt").is_symlink());
    assert_eq!(read(&at("r1.txt")), "new 2\n");
    assert_eq!(mode(&at("r1.txt")), 0o600);
    assert_eq!(read(&at("l2.txt")), "new 2\n");
    assert_eq!(read(&at("r2.txt")), "old\n");
    assert_eq!(read(&at("r3.txt")), "c\n");
}

#[test]
fn template_mode_preserve_keeps_the_template_files_mode() {
    let test = play(
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - template: {src: t.j2, dest: '{{ dir }}/out.txt', mode: preserve}
              register: first
            - template: {src: t.j2, dest: '{{ dir }}/out.txt', mode: preserve}
              register: again
            - assert: {that: [first is changed, first.mode == '0547', again is not changed]}
        ",
    )
    .file("templates/t.j2", "x={{ 1 }}\n");
    std::fs::set_permissions(
        test.path().join("templates/t.j2"),
        std::os::unix::fs::PermissionsExt::from_mode(0o547),
    )
    .unwrap();
    // Expected from ansible-core 2.19.14 (same playbook): ok=3 changed=1, out.txt 0547.
    let output = test.run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=3 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0"
    );
    assert_eq!(mode(&test.path().join("out.txt")), 0o547);
}
