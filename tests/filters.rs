//! Ansible's filters, tests and lookups (src/template/ansible.rs), each compared with
//! ansible-core 2.19.14 on the same playbook.

use crate::common::Test;

const PLAY: &str = r#"
- hosts: localhost
  gather_facts: false
  vars:
    users: [{name: a, admin: true}, {name: b, admin: false}]
    text: "version: 3.12.1 build=77"
    d1: {a: {x: 1, y: [1]}, b: 1}
    d2: {a: {y: [2], z: 2}, c: 3}
  tasks:
    - debug:
        msg:
          - "{{ users | selectattr('admin') | map(attribute='name') | list }}"
          - "{{ {'a b': 'c&d/e'} | urlencode }}"
          - "{{ 'a b/c?d' | urlencode }}"
          - "{{ text | regex_search('(\\d+)\\.(?P<minor>\\d+)', '\\1', '\\g<minor>') }}"
          - "{{ text | regex_search('build=(\\d+)') }}"
          - "{{ text | regex_search('nomatch') }}"
          - "{{ text | regex_search('VERSION', ignorecase=true) }}"
          - "{{ 'a.b*c (d) e-f#g~h' | regex_escape }}"
          - "{{ true | ternary('yes', 'no') }}"
          - "{{ none | ternary('yes', 'no', 'null') }}"
          - "{{ 0 | ternary('yes', 'no') }}"
          - "{{ [1, 2, 2, 3] | union([3, 4, 1]) }}"
          - "{{ [1, 2, 2, 3] | intersect([3, 2, 5]) }}"
          - "{{ [1, 2, 2, 3] | difference([3]) }}"
          - "{{ [1, 2, 3] | symmetric_difference([3, 4]) }}"
          - "{{ {'k1': 'v1', 'k2': 2} | dict2items }}"
          - "{{ {'k1': 'v1'} | dict2items(key_name='n', value_name='v') }}"
          - "{{ [{'key': 'a', 'value': 1}, {'key': 'b', 'value': 2}, {'key': 'a', 'value': 3}] | items2dict }}"
          - "{{ d1 | combine(d2) }}"
          - "{{ d1 | combine(d2, recursive=true) }}"
          - "{{ d1 | combine(d2, {'b': 9}) }}"
          - "{{ 'abc' is match('b') }}"
          - "{{ 'abc' is match('a') }}"
          - "{{ 'abc' is search('b') }}"
          - "{{ 'ABC' is search('b', ignorecase=true) }}"
          - "{{ 'abc' is regex('b') }}"
          - "{{ 'abc' is regex('b', match_type='match') }}"
          - "{{ lookup('env', 'QS_A') }}"
          - "{{ lookup('env', 'QS_A', 'QS_B') }}"
          - "{{ query('env', 'QS_A') }}"
          - "{{ lookup('env', 'QS_B', wantlist=true) }}"
          - "{{ lookup('pipe', 'echo hi; echo there') }}"
          - "{{ 'aGk=' | b64decode }}"
          - "{{ 'hi' | b64encode }}"
"#;

/// Expected from ansible-core 2.19.14 (`ansible-playbook` on the same playbook, same
/// environment): this output, byte for byte.
const EXPECTED: &str = r#"    "msg": [
        [
            "a"
        ],
        "a+b=c%26d%2Fe",
        "a%20b/c%3Fd",
        [
            "3",
            "12"
        ],
        "build=77",
        null,
        "version",
        "a\\.b\\*c\\ \\(d\\)\\ e\\-f\\#g\\~h",
        "yes",
        "null",
        "no",
        [
            1,
            2,
            3,
            4
        ],
        [
            2,
            3
        ],
        [
            1,
            2
        ],
        [
            1,
            2,
            4
        ],
        [
            {
                "key": "k1",
                "value": "v1"
            },
            {
                "key": "k2",
                "value": 2
            }
        ],
        [
            {
                "n": "k1",
                "v": "v1"
            }
        ],
        {
            "a": 3,
            "b": 2
        },
        {
            "a": {
                "y": [
                    2
                ],
                "z": 2
            },
            "b": 1,
            "c": 3
        },
        {
            "a": {
                "x": 1,
                "y": [
                    2
                ],
                "z": 2
            },
            "b": 1,
            "c": 3
        },
        {
            "a": {
                "y": [
                    2
                ],
                "z": 2
            },
            "b": 9,
            "c": 3
        },
        false,
        true,
        true,
        true,
        true,
        false,
        "1",
        "1,two",
        [
            "1"
        ],
        [
            "two"
        ],
        "hi\nthere",
        "hi",
        "aGk="
    ]
}
"#;

#[test]
fn filters_tests_and_lookups_give_what_ansible_gives() {
    let output = Test::new()
        .file("f.yml", PLAY)
        .env("QS_A", "1")
        .env("QS_B", "two")
        .args(&["run", "f.yml"])
        .run()
        .success();
    let start = output.stdout.find("    \"msg\"").unwrap();
    let end = start + output.stdout[start..].find("\n}").unwrap() + 2;
    assert_eq!(&output.stdout[start..end], EXPECTED.trim_end());
}

/// A lookup quayside does not have, `regex_search` arguments that are not groups and a
/// `combine` list merge it does not do fail the task with the place of the template.
#[test]
fn lookups_and_arguments_quayside_does_not_have_fail_at_their_place() {
    for (template, message) in [
        (
            "{{ lookup('dig', 'example.org') }}",
            "lookup: `dig` is not supported (use `file`, `env`, `pipe`, `lines`, `first_found`, `password` or `community.general.random_string`)",
        ),
        (
            "{{ lookup('password', '/dev/null size=3') }}",
            "Unrecognized parameter(s) given to password lookup: size",
        ),
        (
            "{{ lookup('password', '/dev/null encrypt=bcrypt') }}",
            "lookup('password'): encrypt `bcrypt` is not supported (use sha512_crypt or sha256_crypt)",
        ),
        (
            "{{ 'ab' | regex_search('(a)', 'x') }}",
            "regex_search: unknown argument `x`",
        ),
        (
            "{{ {} | combine({}, list_merge='append') }}",
            "combine: list_merge `append` is not supported (only `replace`)",
        ),
        (
            "{{ lookup('pipe', 'exit 3') }}",
            "lookup('pipe', 'exit 3'): the command exited with 3",
        ),
    ] {
        let play = format!(
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"{template}\"\n"
        );
        Test::new()
            .file("p.yml", &play)
            .args(&["run", "p.yml"])
            .run()
            .status(2)
            .stdout_contains(&format!("{message} at p.yml:5:14"));
    }
}

/// `password_hash('sha512', salt, rounds=N)`. ansible-core 2.19.14 needs passlib for it
/// (not in the comparison virtualenv: "passlib must be installed"); passlib's
/// sha512_crypt is the algorithm of Python's `crypt.crypt`, which gives these values
/// (`crypt.crypt('pässword', '$6$rounds=10000$abcdefgh')`, and with 5000 rounds, which
/// the hash then does not name). Without a salt a random one is made, 16 characters.
#[test]
fn password_hash_is_sha512_crypt() {
    let play = r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - debug:
                msg:
                  - "{{ 'pässword' | password_hash('sha512', 'abcdefgh', rounds=10000) }}"
                  - "{{ 'Hello world!' | password_hash('sha512', 'saltstring', rounds=5000) }}"
                  - "{{ ('x' | password_hash(rounds=1000)).split('$')[3] | length }}"
    "#;
    Test::new()
        .file("p.yml", play)
        .args(&["run", "p.yml"])
        .run()
        .success()
        .stdout_contains(
            "\"$6$rounds=10000$abcdefgh$KP8CIbjL7geqs/y5OdJVQBBmNqAqCoNbfh8kYfsdUrGLudgOSFLfiSegivK7fSHPwr/Gby2kXoq3dFLdmN8ee/\",\n        \
             \"$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1\",\n        \
             16\n",
        );
    Test::new()
        .file(
            "p.yml",
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"{{ 'x' | password_hash('md5') }}\"\n",
        )
        .args(&["run", "p.yml"])
        .run()
        .status(2)
        .stdout_contains("password_hash: `md5` is not supported (use sha512) at p.yml:5:14");
}

/// `lookup('community.general.random_string', ...)` as the collection documents it
/// (the collection is not in the comparison virtualenv): `length` characters (8 by
/// default) from the enabled sets, or `override_all`; `query` gives a list. An unknown
/// option fails the task.
#[test]
fn random_string_lookup() {
    let play = r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - set_fact:
                a: "{{ lookup('community.general.random_string', length=40, special=false, upper=false) }}"
                b: "{{ query('community.general.random_string', override_all='xy', length=6) }}"
                c: "{{ lookup('community.general.random_string') }}"
            - debug:
                msg: "{{ [a | length, a is match('^[a-z0-9]+$'), b | length, b[0] is match('^[xy]{6}$'), c | length] }}"
            - debug:
                msg: "{{ lookup('community.general.random_string', size=3) }}"
    "#;
    Test::new()
        .file("p.yml", play)
        .args(&["run", "p.yml"])
        .run()
        .status(2)
        .stdout_contains(
            "\"msg\": [\n        40,\n        true,\n        1,\n        true,\n        8\n    ]",
        )
        .stdout_contains("unknown keyword argument 'size' at p.yml:11:14");
}

/// `lookup('password')` compared with ansible-core 2.19.14 (with passlib) on the same
/// playbook: a missing file is created (0600, its directory 0700) and read back after;
/// `/dev/null` with a `seed` gives what Ansible gives (Python's Mersenne Twister); a file
/// Ansible wrote with a salt gives the same `sha512_crypt`/`sha256_crypt` hash; passwords
/// never reach the output.
#[test]
fn password_lookup_creates_reuses_and_matches_ansible() {
    let play = r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - set_fact:
                a: "{{ lookup('password', 'creds/a chars=digits length=12') }}"
                b: "{{ lookup('password', '/dev/null', seed='web01') }}"
                c: "{{ query('password', '/dev/null chars=ascii_lowercase,,x length=30 seed=k') }}"
                e: "{{ lookup('password', 'keep/e encrypt=sha512_crypt') }}"
                f: "{{ lookup('password', 'keep/e encrypt=sha256_crypt') }}"
            - debug:
                msg: "{{ [a | length, a is match('^[0-9]+$'), b == 'TXbxglXHgc0wppmbG5H,', c == ['axogpvtclrezaogxjqvdxqsiloyazx'], e, f] }}"
            - debug:
                msg: "{{ b }} {{ lookup('password', 'creds/a') == a }}"
    "#;
    let test = Test::new()
        .file("p.yml", play)
        .file("keep/e", "96Raap salt=i.BXPZ29kGK7hqgd\n")
        .args(&["run", "p.yml"]);
    let output = test.run().success().stdout_contains(
        "12,\n        true,\n        true,\n        true,\n        \
         \"$6$rounds=656000$i.BXPZ29kGK7hqgd$6E1Ma5YzTTl5tHd/FrxuxNdLXlPZs8tEgL.DPEDmMQdiDwXpUox7bItP.tMceBxR.tf0nVH2W2/j.aj.a/1ET0\",\n        \
         \"$5$rounds=535000$i.BXPZ29kGK7hqgd$XjEgXdqB4D4bNLHnawzqz2cMO9Xs.qX6DGVuCcvBdW7\"\n",
    );
    let output = output.stdout_contains("\"msg\": \"******** True\"");
    use std::os::unix::fs::PermissionsExt;
    let dir = test.path().join("creds");
    let a = std::fs::read_to_string(dir.join("a")).unwrap();
    assert!(a.len() == 13 && a.ends_with('\n'), "{a:?}");
    assert!(!output.stdout.contains(a.trim_end()));
    assert!(!output.stdout.contains("TXbxglXHgc0wppmbG5H"));
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.join("a")), 0o600);
    assert_eq!(mode(&dir), 0o700);
    // The second run reads the same password back and writes nothing.
    test.run().success();
    assert_eq!(std::fs::read_to_string(dir.join("a")).unwrap(), a);
    assert_eq!(
        std::fs::read_to_string(test.path().join("keep/e")).unwrap(),
        "96Raap salt=i.BXPZ29kGK7hqgd\n"
    );
}

/// `lookup('first_found')` and `relpath` compared with ansible-core 2.19.14 on the same
/// files: the same output and recap. As a lookup it looks in the role's folder, its
/// `tasks/` (the folder of the task's file), then the playbook's (no `files/`); `paths` prefix each name; `skip` and `errors='ignore'` give an
/// empty list; nothing found fails the task.
#[test]
fn first_found_lookup_matches_ansible() {
    let output = Test::new()
        .file("files/b.txt", "")
        .file("c.txt", "")
        .file("vars/Debian.yml", "x: 1\n")
        .file("roles/r/files/rf.txt", "")
        .file("roles/r/tasks/default.yml", "")
        .file(
            "roles/r/tasks/main.yml",
            "- debug: {msg: \"{{ lookup('first_found', ['none.yml', 'default.yml']) | relpath(playbook_dir) }}\"}\n- debug: {msg: \"{{ lookup('first_found', ['none.txt', 'rf.txt', 'b.txt']) }}\"}\n",
        )
        .file(
            "p.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              vars:
                params:
                  files: [Fedora.yml, Debian.yml]
                  paths: [vars]
              tasks:
                - debug: {msg: "{{ lookup('first_found', params) | relpath(playbook_dir) }}"}
                - debug: {msg: "{{ lookup('first_found', 'a.txt', 'b.txt', 'c.txt') | relpath(playbook_dir) }}"}
                - debug: {msg: "{{ query('first_found', 'nope', errors='ignore') }}"}
                - debug: {msg: "{{ query('first_found', files=['nope', 'c.txt']) | map('basename') | list }}"}
                - debug: {msg: "{{ lookup('first_found', {'files': ['nope'], 'skip': true}) }}"}
                - include_role: {name: r}
            "#,
        )
        .args(&["run", "p.yml"])
        .run()
        .status(2);
    let msgs: Vec<String> = output
        .stdout
        .split("\n    \"msg\": ")
        .skip(1)
        .map(|m| m.split("\n}").next().unwrap().split_whitespace().collect())
        .collect();
    assert_eq!(
        msgs,
        [
            "\"vars/Debian.yml\"",
            "\"c.txt\"",
            "[]",
            "[\"c.txt\"]",
            "[]",
            "\"roles/r/tasks/default.yml\"",
        ]
    );
    assert!(
        output
            .stdout
            .contains("No file was found when using first_found.")
    );
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=7 changed=0 unreachable=0 failed=1 skipped=0 rescued=0 ignored=0"
    );
}

/// ansible-core 2.19.14 reads a string literal in a bare expression (`when`,
/// `assert.that`) as Python does (`\n`, `\t`, `\\`, `\"`, `\'`, octal, `\x41`, `\u00e9`,
/// an unknown escape kept), but keeps a `{{ }}` template's backslashes as written. Both
/// run the same playbook: 3 ok, 1 skipped there and here.
#[test]
fn string_literal_escapes_in_expressions_and_templates() {
    let play = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - assert:
        that:
          - '"a\nb" | length == 3'
          - '"a\\b" | length == 3'
          - "\"a\\nb\" == 'a\nb'"
          - '"\d" | length == 2'
          - '"\x41" == "A"'
          - '"\101\u00e9\t" == "Aé	"'
          - "'q\\'q' | length == 3"
          - '"a.b" is match("a\.b")'
    - debug:
        msg: "unescaped"
      when: '"a\tb" | length == 3'
    - debug:
        msg: "kept"
      when: '"a\tb" | length == 4'
    - debug:
        msg: '{{ "a\nb" | length }} {{ "a\\b" | length }} {{ "q\"q" }} {{ "\u00e9" }} {{ "\1" | length }}'
"#;
    Test::new()
        .file("p.yml", play)
        .args(&["run", "p.yml"])
        .run()
        .success()
        .stdout_contains("\"msg\": \"unescaped\"")
        .stdout_contains(r#""msg": "4 4 q\\\"q \\u00e9 2""#)
        .stdout_contains("ok=3    changed=0    unreachable=0    failed=0    skipped=1");
}

/// `extract`, alone and through `map`, with one key or a list of keys after the first;
/// a missing key fails the task at its place (ansible-core 2.19.14: "object of type
/// 'dict' has no attribute 'zz'"), the same values otherwise.
#[test]
fn extract_filter() {
    let play = r#"
- hosts: localhost
  gather_facts: false
  vars:
    d: {a: {x: {y: 1}, n: 5}, b: {x: {y: 2}, n: 6}}
    l: [10, 20, 30]
  tasks:
    - debug:
        msg: "{{ ['a','b'] | map('extract', d) | list }} {{ ['a','b'] | map('extract', d, 'n') | list }} {{ ['a','b'] | map('extract', d, ['x','y']) | list }} {{ [0,2] | map('extract', l) | list }} {{ 'a' | extract(d, 'n') }} {{ ['localhost'] | map('extract', hostvars, 'inventory_hostname') | list }}"
    - debug:
        msg: "{{ ['a'] | map('extract', d, 'zz') | list }}"
"#;
    Test::new()
        .file("p.yml", play)
        .args(&["run", "p.yml"])
        .run()
        .status(2)
        .stdout_contains(
            r#""msg": "[{'x': {'y': 1}, 'n': 5}, {'x': {'y': 2}, 'n': 6}] [5, 6] [1, 2] [10, 30] 5 ['localhost']""#,
        )
        .stdout_contains("at p.yml:10:14");
}

/// `omit`: an argument that renders to it is left out (a module's default applies), and
/// so is an item of a list or mapping; inside a longer string it is nothing. The same
/// values and recap as ansible-core 2.19.14 on this playbook.
#[test]
fn omit_leaves_arguments_and_items_out() {
    let play = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - debug:
        msg: {a: "{{ omit }}", b: [1, "{{ omit }}"], c: 2}
    - debug:
        msg: "{{ omit }}"
    - set_fact:
        x: "{{ omit }}"
        y: 1
    - debug: {msg: "{{ x is defined }} {{ y }}"}
    - debug: {msg: "x{{ omit }}"}
    - file: {path: "{{ playbook_dir }}/d", state: directory, mode: "{{ m | default(omit) }}", owner: "{{ o | default(omit) }}"}
      register: f
    - debug: {msg: "{{ f.mode }}"}
"#;
    let test = Test::new().file("p.yml", play);
    test.args(&["run", "p.yml"])
        .run()
        .success()
        .stdout_contains(
            "\"msg\": {\n        \"b\": [\n            1\n        ],\n        \"c\": 2\n    }",
        )
        .stdout_contains("\"msg\": \"Hello world!\"")
        .stdout_contains("\"msg\": \"False 1\"")
        .stdout_contains("\"msg\": \"x\"")
        .stdout_contains("\"msg\": \"0755\"")
        .stdout_contains("ok=7    changed=1    unreachable=0    failed=0");
}

/// Ansible's other spellings of the result tests (`successful`, `failure`, `change`,
/// `skip`). Expected from ansible-core 2.19.14 on the same play: the assertion holds, and
/// this recap.
#[test]
fn result_tests_take_every_spelling_ansible_takes() {
    let output = Test::new()
        .file(
            "p.yml",
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: \"true\"\n      register: r\n    - command: \"false\"\n      register: f\n      ignore_errors: true\n    - command: \"true\"\n      when: false\n      register: s\n    - assert: {that: [r is successful, r is change, s is skip, f is failure, f is not successful, r is not skip]}\n",
        )
        .args(&["run", "p.yml"])
        .run()
        .success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=3 changed=2 unreachable=0 failed=0 skipped=1 rescued=0 ignored=1"
    );
}

// Expected from ansible-core 2.19.14: the same assertions hold and the same two tasks fail
// (an empty list: `Cannot choose from an empty sequence`; a mapping); ok=5 ignored=2.
const RANDOM: &str = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - assert:
        that:
          - "[5] | random == 5"
          - "1 | random == 0"
          - "10 | random(start=9) == 9"
          - "10 | random(9) == 9"
          - "'a' | random == 'a'"
          - "([1, 2, 3] | random) in [1, 2, 3]"
          - "(20 | random(start=10, step=5)) in [10, 15]"
          - "(0 | random(start=10, step=-5)) in [10, 5]"
    - debug: {msg: "{{ [] | random }}"}
      register: r
      ignore_errors: true
    - debug: {msg: "{{ {'a': 1} | random }}"}
      register: r2
      ignore_errors: true
    - debug: {var: r.msg}
    - debug: {var: r2.msg}
"#;

#[test]
fn random_draws_an_item_or_a_number_of_the_range_as_ansible() {
    let output = Test::new()
        .file("play.yml", RANDOM)
        .args(&["run", "play.yml"])
        .run()
        .success();
    assert!(
        output
            .stdout
            .contains("Cannot choose from an empty sequence at play.yml:14:20"),
        "{}",
        output.stdout
    );
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=5 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=2"
    );
}

// Expected from ansible-core 2.19.14 on the same folder (a link to a folder, an absolute
// link through it, a part that is not there): the same list, `os.path.realpath`'s.
#[test]
fn realpath_follows_links_as_python() {
    let test = Test::new().file(
        "play.yml",
        r#"- hosts: localhost
  gather_facts: false
  tasks:
    - assert:
        that:
          - >-
            ['/usr/../usr/./bin/', playbook_dir ~ '/d/link/sub/../f', playbook_dir ~ '/d/abs', playbook_dir ~ '/d//nope/..', '/', 'd/link'] | map('realpath') | list
            == ['/usr/bin', real ~ '/d/real/f', real ~ '/d/real/x', real ~ '/d', '/', real ~ '/d/real']
      vars:
        real: "{{ playbook_dir | realpath }}"
"#,
    );
    let dir = test.path().to_path_buf();
    std::fs::create_dir_all(dir.join("d/real")).unwrap();
    std::os::unix::fs::symlink("real", dir.join("d/link")).unwrap();
    std::os::unix::fs::symlink(dir.join("d/link/x"), dir.join("d/abs")).unwrap();
    test.args(&["run", "play.yml"]).run().success();
}

// Expected from ansible-core 2.19.14: the same list, and the same three failures, whose
// messages hold Ansible's words (ansible-core wraps them in its own `Task failed: ...`).
#[test]
fn the_version_test_compares_as_loose_version() {
    let test = Test::new().file(
        "play.yml",
        r#"- hosts: localhost
  gather_facts: false
  tasks:
    - assert:
        that:
          - >-
            [ '12' is version('8', '>='), '12.1' is version('12.1.0', '<'), '1.2-rc1' is version('1.2-rc2', 'lt'), '2.19.14' is version('2.19.9', 'gt'), '1.0' is version('1.0'), '1.0' is version('1.0', operator='ne'), 'abc' is version('abd', '<='), 'Debian12' is version('Debian9', '>')]
            == [true, true, true, true, true, false, true, true]
    - debug: {msg: "{{ '1.a' is version('1.1', '<') }}"}
      ignore_errors: true
      register: e1
    - debug: {msg: "{{ '1.0' is version('1.0', 'bogus') }}"}
      ignore_errors: true
      register: e2
    - debug: {msg: "{{ '' is version('1.0') }}"}
      ignore_errors: true
      register: e3
    - assert:
        that:
          - >-
            e1.msg is search("Version comparison failed: '<' not supported between instances of 'str' and 'int'")
          - >-
            e2.msg is search("Invalid operator type \(bogus\)\. Must be one of '==', '=', 'eq', '<', 'lt', '<=', 'le', '>', 'gt', '>=', 'ge', '!=', '<>', 'ne'")
          - e3.msg is search('Input version value cannot be empty')
"#,
    );
    let output = test.args(&["run", "play.yml"]).run().success();
    assert_eq!(
        output.recap("localhost"),
        "localhost : ok=5 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=3"
    );
}
