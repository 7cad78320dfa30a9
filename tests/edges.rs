//! The edges of a run, tried as a hostile or unlucky user would (issue 16): bad options,
//! huge lines, files that never end, secrets in every form YAML can write them.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Output, Test};

/// A play that would write `wrote` beside it: proof that nothing ran.
const WRITING_PLAY: &str = "
    - hosts: localhost
      gather_facts: false
      tasks:
        - name: Write
          shell: touch wrote
    ";

#[test]
fn a_bad_limit_regex_is_a_bad_option_and_runs_nothing() {
    for command in ["run", "validate"] {
        let test = Test::new()
            .file("play.yml", WRITING_PLAY)
            .args(&[command, "play.yml", "--limit", "~web(["]);
        let output = test.run();
        assert_eq!(output.code, 5, "{command}: {output:?}");
        assert!(
            output
                .stderr
                .starts_with("error: --limit: bad regular expression in host pattern `~web([`: regex parse error:"),
            "{command}: {}",
            output.stderr
        );
        assert!(!test.path().join("wrote").exists());
    }
    // A bad glob too; a host list that cannot be read stays a file that cannot be read (4).
    let test = Test::new().file("play.yml", WRITING_PLAY).args(&[
        "run",
        "play.yml",
        "--limit",
        "all:!web[",
        "-e",
        "x=1",
    ]);
    let output = test.run();
    assert_eq!(output.code, 5, "{output:?}");
    assert!(
        output
            .stderr
            .starts_with("error: --limit: bad glob in host pattern `web[`: "),
        "{}",
        output.stderr
    );
    assert!(!test.path().join("wrote").exists());
}

#[test]
fn a_yaml_error_on_a_huge_line_shows_a_bounded_excerpt_around_its_column() {
    // 200 KB of flow sequence on one line, then words where none may be.
    let items: Vec<String> = (0..30_000).map(|i| format!("x{i}")).collect();
    let line = format!("    - debug: [{}] trailing", items.join(", "));
    assert!(line.len() > 200_000);
    let test = Test::new()
        .file(
            "play.yml",
            &format!("- hosts: localhost\n  tasks:\n{line}\n"),
        )
        .args(&["validate", "play.yml"]);
    let output = test.run();
    assert_eq!(output.code, 4, "{output:?}");
    assert!(
        output.stderr.len() < 1_000,
        "{} bytes: {}",
        output.stderr.len(),
        &output.stderr[..2_000.min(output.stderr.len())]
    );
    let lines: Vec<&str> = output.stderr.lines().collect();
    assert!(
        lines[0].starts_with("error: invalid YAML: "),
        "{}",
        output.stderr
    );
    let at = lines[0].rsplit_once(" at play.yml:3:").unwrap().1;
    let column: usize = at.parse().unwrap();
    // The source line is cut around the column, and the marker points at the same text.
    let shown = lines[3].strip_prefix("3 | ").unwrap();
    let marker = lines[4].strip_prefix("  | ").unwrap();
    assert!(shown.chars().count() <= 206, "{shown}");
    let offset = marker.find('^').unwrap();
    let expected = line.chars().nth(column - 1).unwrap();
    assert_eq!(
        shown.chars().nth(offset),
        Some(expected),
        "{}",
        output.stderr
    );
    assert!(column > 200_000, "{}", output.stderr);
    assert!(shown.starts_with("...x"), "{shown}");
    assert!(shown.ends_with("x29999] trailing"), "{shown}");
}

/// Run `quayside ARGS` in `dir`; kill it and fail if it takes longer than `limit`.
fn run_within(dir: &std::path::Path, args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quayside"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let output = Output::from(child.wait_with_output().unwrap());
            panic!("still running after {limit:?}: {output:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Output::from(child.wait_with_output().unwrap())
}

fn mkfifo(path: &std::path::Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

#[test]
fn a_named_pipe_read_by_lookup_or_copied_fails_the_host_at_once_instead_of_hanging() {
    let test = Test::new().file(
        "play.yml",
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - name: Read the pipe
              debug:
                msg: \"{{ lookup('file', 'pipe') }}\"
              ignore_errors: true
            - name: Copy the pipe
              copy_files:
                src: pipe
                dest: '{{ playbook_dir }}/copied'
              ignore_errors: true
            - name: After
              shell: touch after
        ",
    );
    mkfifo(&test.path().join("pipe"));
    let output = run_within(
        test.path(),
        &["run", "play.yml", "--output", "json"],
        Duration::from_secs(20),
    );
    assert_eq!(output.code, 0, "{output:?}");
    let events = output.events();
    let message = |task: &str| -> String {
        events
            .iter()
            .find(|e| e["event"] == "host_result" && e["task"] == task)
            .unwrap_or_else(|| panic!("no result for {task}: {}", output.stdout))["msg"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        message("Read the pipe"),
        "template error: invalid operation: lookup('file', 'pipe'): cannot read file `pipe`: \
         it is a named pipe (FIFO), not a regular file at play.yml:6:14"
    );
    assert_eq!(
        message("Copy the pipe"),
        format!(
            "cannot read `{}`: it is a named pipe (FIFO), not a regular file",
            test.path().join("pipe").display()
        )
    );
    assert!(!test.path().join("copied").exists());
    assert!(test.path().join("after").exists());

    // A template file that is a named pipe is refused before the run, with its place.
    let test = Test::new().file(
        "play.yml",
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - shell: touch wrote
            - template_config:
                src: pipe
                dest: '{{ playbook_dir }}/rendered'
        ",
    );
    mkfifo(&test.path().join("pipe"));
    for command in ["validate", "run"] {
        let output = run_within(test.path(), &[command, "play.yml"], Duration::from_secs(20));
        assert_eq!(output.code, 4, "{output:?}");
        assert!(
            output.stderr.starts_with(
                "error: cannot read template `pipe`: it is a named pipe (FIFO), not a regular \
                 file at play.yml:6:14\n"
            ),
            "{}",
            output.stderr
        );
        assert!(!test.path().join("wrote").exists());
    }
}
