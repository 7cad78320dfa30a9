//! Input limits of the loaders: files that are too large, nested too deep, expand without
//! bound or are not UTF-8 are refused before any host is touched, quickly, with the exact
//! place, and exit 4.

use std::time::{Duration, Instant};

use crate::common::{Output, Test};

/// A playbook whose only task leaves `ran` behind if anything runs.
const PLAY: &str =
    "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: touch ran\n";

/// Run `quayside ARGS` in `test`'s folder.
fn run(test: &Test, args: &[&str]) -> Output {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_quayside"))
        .args(args)
        .current_dir(test.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("run quayside");
    Output::from(output)
}

/// Run `quayside ARGS` in `test`'s folder: it must exit 4 within a few seconds (a debug
/// build on a busy machine; the work is bounded, not the clock), print nothing on stdout
/// and run nothing.
fn refused(test: &Test, args: &[&str]) -> Output {
    let started = Instant::now();
    let output = run(test, args);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    let output = output.status(4);
    assert_eq!(output.stdout, "");
    assert!(!test.path().join("ran").exists(), "a task ran");
    output
}

/// `count` sequences nested in each other under `x:`.
fn nested_lists(count: usize) -> String {
    format!("x: {}{}\n", "[".repeat(count), "]".repeat(count))
}

/// A sparse file of `size` bytes: as large as asked, costing no disk.
fn huge_file(path: &std::path::Path, size: u64) {
    std::fs::File::create(path).unwrap().set_len(size).unwrap();
}

#[test]
fn nesting_deeper_than_64_levels_names_the_file_line_and_column() {
    // The play's list, the play, `vars` and `x` take four levels: the 61st `[` is the 65th.
    let test = Test::new().file(
        "play.yml",
        &format!(
            "- hosts: localhost\n  vars:\n    {}  tasks:\n    - command: touch ran\n",
            nested_lists(70)
        ),
    );
    let output = refused(&test, &["run", "play.yml"]);
    let line = format!("    x: {}{}", "[".repeat(70), "]".repeat(70));
    assert_eq!(
        output.stderr,
        format!(
            "error: invalid YAML: lists and mappings nested deeper than 64 levels at play.yml:3:69
 --> play.yml:3:69
  |
3 | {line}
  | {}^
",
            " ".repeat(68)
        )
    );
    // 64 levels in all are read.
    let fits = Test::new().file(
        "play.yml",
        &format!(
            "- hosts: localhost\n  gather_facts: false\n  vars:\n    {}  tasks: []\n",
            nested_lists(60)
        ),
    );
    run(&fits, &["validate", "play.yml"]).success();
}

#[test]
fn deep_inventories_and_variable_files_are_refused_the_same_way() {
    let mut mappings = String::from("all:\n  vars:\n");
    for level in 0..70 {
        mappings.push_str(&format!("{}k{level}:\n", "  ".repeat(level + 2)));
    }
    let test = Test::new()
        .file("play.yml", PLAY)
        .file("hosts.yml", &mappings)
        .file("vars.yml", &nested_lists(80));
    let output = refused(&test, &["run", "play.yml", "-i", "hosts.yml"]);
    // The file, `all` and `vars` hold three mappings, k0..k60 61 more: k61's, which begins
    // at k62 on line 65, is the 65th.
    assert_eq!(
        output.stderr.lines().next().unwrap(),
        "error: invalid YAML: lists and mappings nested deeper than 64 levels at hosts.yml:65:129"
    );
    // The file's mapping and 63 lists are 64 levels: the 64th `[`, column 67, is one too many.
    let vars_play =
        "- hosts: localhost\n  vars_files: [vars.yml]\n  tasks:\n    - command: touch ran\n";
    let test = test.file("play.yml", vars_play);
    let output = refused(&test, &["run", "play.yml"]);
    assert_eq!(
        output.stderr.lines().next().unwrap(),
        "error: invalid YAML: lists and mappings nested deeper than 64 levels at ./vars.yml:1:67"
    );
}

#[test]
fn a_100_mb_playbook_inventory_or_template_is_refused_at_once() {
    let test = Test::new()
        .file("play.yml", PLAY)
        .file(
            "template.yml",
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: touch ran\n    - template_config:\n        src: big.j2\n        dest: out.yaml\n",
        );
    for name in ["big.yml", "hosts", "templates/big.j2"] {
        std::fs::create_dir_all(test.path().join("templates")).unwrap();
        huge_file(&test.path().join(name), 100 << 20);
    }
    let output = refused(&test, &["run", "big.yml"]);
    assert_eq!(
        output.stderr,
        "error: `big.yml` is larger than 8 MiB, the most quayside reads of a playbook, inventory or variables file\n"
    );
    let output = refused(&test, &["run", "play.yml", "-i", "hosts"]);
    assert_eq!(
        output.stderr,
        "error: `hosts` is larger than 8 MiB, the most quayside reads of a playbook, inventory or variables file\n"
    );
    let output = refused(&test, &["validate", "template.yml"]);
    assert_eq!(
        output.stderr,
        "error: template `templates/big.j2` is larger than 8 MiB, the most quayside reads of a template at template.yml:6:14
 --> template.yml:6:14
  |
6 |         src: big.j2
  |              ^^^^^^
"
    );
    let output = refused(&test, &["run", "template.yml"]);
    assert!(
        output.stderr.starts_with(
            "error: template `templates/big.j2` is larger than 8 MiB, the most quayside reads of a template at template.yml:6:14\n"
        ),
        "{}",
        output.stderr
    );
    assert!(!test.path().join("out.yaml").exists());
}

#[test]
fn a_file_of_exactly_8_mib_is_read() {
    // A comment line that fills the file to the byte: the limit is inclusive.
    let mut text = PLAY.replace("command: touch ran", "debug: {msg: fits}");
    text.push('#');
    text.push_str(&"x".repeat((8 << 20) - text.len() - 1));
    text.push('\n');
    assert_eq!(text.len(), 8 << 20);
    let test = Test::new().file("play.yml", &text);
    run(&test, &["validate", "play.yml"]).success();
    let mut over = text;
    over.push('\n');
    let test = Test::new().file("play.yml", &over);
    let output = refused(&test, &["validate", "play.yml"]);
    assert!(output.stderr.contains("larger than 8 MiB"), "{output:?}");
}

#[test]
fn invalid_utf8_is_refused_with_its_place() {
    let test = Test::new()
        .file("play.yml", PLAY)
        .file(
            "template.yml",
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: touch ran\n    - template_config:\n        src: latin1.j2\n        dest: out.yaml\n",
        )
        .file(
            "bundle.yml",
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: touch ran\n    - config_bundle:\n        dest: /nonexistent/quayside-bundle\n        files:\n          - template: latin1.j2\n",
        );
    let latin1 = |text: &str| {
        text.bytes()
            .map(|b| if b == b'#' { 0xe9 } else { b })
            .collect::<Vec<u8>>()
    };
    std::fs::write(
        test.path().join("latin1.yml"),
        latin1("- hosts: localhost\n  tasks:\n    - debug: {msg: \"caf#\"}\n"),
    )
    .unwrap();
    std::fs::write(test.path().join("hosts"), latin1("[all]\nh#te\n")).unwrap();
    std::fs::create_dir_all(test.path().join("templates")).unwrap();
    std::fs::write(
        test.path().join("templates/latin1.j2"),
        latin1("registry: {{ 'quay' }}\ntitle: Caf# \n"),
    )
    .unwrap();
    let output = refused(&test, &["run", "latin1.yml"]);
    assert_eq!(
        output.stderr,
        "error: `latin1.yml` is not valid UTF-8 (at latin1.yml:3:24)\n"
    );
    let output = refused(&test, &["run", "play.yml", "-i", "hosts"]);
    assert_eq!(
        output.stderr,
        "error: `hosts` is not valid UTF-8 (at hosts:2:2)\n"
    );
    for play in ["template.yml", "bundle.yml"] {
        for command in ["validate", "run"] {
            let output = refused(&test, &[command, play]);
            assert!(
                output.stderr.starts_with(&format!(
                    "error: template `templates/latin1.j2` is not valid UTF-8 (at templates/latin1.j2:2:11) at {play}:"
                )),
                "{}",
                output.stderr
            );
        }
    }
    assert!(!test.path().join("out.yaml").exists());
    assert!(!test.path().join("bundle").exists());
}

#[test]
fn alias_bombs_are_refused_by_their_size() {
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        let refs = vec![format!("*a{p}"); 10].join(", ");
        bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    let many_aliases = format!("a: &a x\nb: [{}]\n", vec!["*a"; 10_001].join(", "));
    let test = Test::new()
        .file("play.yml", PLAY)
        .file("bomb.yml", &bomb)
        .file("aliases.yml", &many_aliases);
    let output = refused(&test, &["run", "play.yml", "-i", "bomb.yml"]);
    assert_eq!(
        output.stderr.lines().next().unwrap(),
        "error: invalid YAML: the document expands to more than 200000 values (nested aliases?) at bomb.yml:6:10"
    );
    let output = refused(&test, &["run", "play.yml", "-i", "aliases.yml"]);
    assert_eq!(
        output.stderr.lines().next().unwrap(),
        "error: invalid YAML: the document uses more than 10000 aliases at aliases.yml:2:40005"
    );
}

#[test]
fn a_template_that_reads_a_huge_file_is_stopped_at_the_limit() {
    // `lookup('file')` reads on the controller: a sparse file of 9 GiB costs no disk, and
    // /dev/zero would never end (a device is refused before it is opened).
    let test = Test::new().file(
        "play.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"{{ lookup('file', 'huge') }}\"\n      ignore_errors: true\n    - debug:\n        msg: \"{{ lookup('file', '/dev/zero') }}\"\n",
    );
    std::fs::File::create(test.path().join("huge"))
        .unwrap()
        .set_len(9 << 30)
        .unwrap();
    let started = Instant::now();
    let output = run(&test, &["run", "play.yml"]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let output = output.status(2);
    for expected in [
        "lookup('file', 'huge'): file `huge` is larger than 8 MiB, the most quayside reads of a file",
        "lookup('file', '/dev/zero'): cannot read file `/dev/zero`: it is a device, not a regular file",
    ] {
        assert!(output.stdout.contains(expected), "{}", output.stdout);
    }
}

#[test]
fn a_host_range_that_names_too_many_hosts_is_refused_before_it_is_made() {
    let test = Test::new()
        .file("play.yml", PLAY)
        .file("hosts", "[quay]\nquay[0:99999999].example\n")
        .file("hosts.yml", "all:\n  hosts:\n    'h[0:999][0:999]':\n")
        .file("many", &format!("[quay]\n{}", "h[0:999]\n".repeat(200)));
    let output = refused(&test, &["run", "play.yml", "-i", "hosts"]);
    assert_eq!(
        output.stderr,
        "error: `quay[0:99999999].example` brings the inventory to more than 100000 host names (ranges expanded); quayside reads no larger inventories at hosts:2:1
 --> hosts:2:1
  |
2 | quay[0:99999999].example
  | ^^^^^^^^^^^^^^^^^^^^^^^^
"
    );
    let output = refused(&test, &["run", "play.yml", "-i", "hosts.yml"]);
    assert_eq!(
        output.stderr.lines().next().unwrap(),
        "error: `h[0:999][0:999]` brings the inventory to more than 100000 host names (ranges expanded); quayside reads no larger inventories at hosts.yml:3:5"
    );
    // The same range on every line counts every time.
    let output = refused(&test, &["run", "play.yml", "-i", "many"]);
    assert_eq!(
        output.stderr.lines().next().unwrap(),
        "error: `h[0:999]` brings the inventory to more than 100000 host names (ranges expanded); quayside reads no larger inventories at many:102:1"
    );
}
