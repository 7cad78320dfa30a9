//! What operators see: the human output, the plan of `--check --diff` and the JSON event
//! stream, compared whole against snapshots in `tests/snapshots/` (durations and temporary
//! paths filtered out); and `--step`.
//!
//! A snapshot that does not match fails the test and writes what it got beside it
//! (`NAME.new`); `QUAYSIDE_UPDATE_SNAPSHOTS=1` rewrites them instead.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::{Test, repo_root};

/// Two local "hosts" writing into their own folders; config.yaml already holds the old
/// greeting on `a`, so a check run plans a change on both, and the container task is a
/// stand-in shell command.
fn fleet() -> Test {
    Test::new()
        .file(
            "inventory.yml",
            "
            all:
              vars:
                ansible_connection: local
              hosts:
                a: {site: a}
                b: {site: b}
            ",
        )
        .file(
            "a/config.yaml",
            "greeting: hello\nDB_URI: postgresql://quay:old-pw@db/quay\n",
        )
        .file(
            "templates/config.yaml.j2",
            "greeting: bonjour\nDB_URI: postgresql://quay:{{ password }}@db/quay\n",
        )
        .file(
            "play.yml",
            "
            - name: Configure
              hosts: all
              gather_facts: false
              vars:
                password: new-secret-pw
              tasks:
                - name: Make the folder
                  command:
                    cmd: mkdir -p {{ site }}
                    creates: '{{ site }}'
                - name: Render config.yaml
                  template_config:
                    src: config.yaml.j2
                    dest: '{{ playbook_dir }}/{{ site }}/config.yaml'
                  notify: restart
                - name: Say where
                  debug:
                    msg: 'site {{ site }}'
              handlers:
                - name: restart
                  shell: echo restarted > {{ site }}/restarted
            ",
        )
}

/// Durations, the test's temporary folder and the run id vary; everything else is kept.
pub fn filtered(text: &str, dir: &Path) -> String {
    let duration = regex::Regex::new(r#""duration_ms":\d+"#).unwrap();
    let text = text.replace(&dir.display().to_string(), "TMP");
    duration
        .replace_all(&text, r#""duration_ms":0"#)
        .into_owned()
}

pub fn assert_snapshot(name: &str, got: &str) {
    let path = repo_root().join("tests/snapshots").join(name);
    if std::env::var_os("QUAYSIDE_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    if want != got {
        std::fs::write(path.with_extension("new"), got).unwrap();
        panic!(
            "snapshot {name} differs (got it in {name}.new; QUAYSIDE_UPDATE_SNAPSHOTS=1 accepts it):\n{}",
            similar::TextDiff::from_lines(want.as_str(), got)
                .unified_diff()
                .header("want", "got")
        );
    }
}

fn run(test: &Test, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_quayside"))
        .args(["run", "play.yml", "-i", "inventory.yml", "-f", "1"])
        .args(args)
        .current_dir(test.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    filtered(&String::from_utf8_lossy(&output.stdout), test.path())
}

#[test]
fn the_human_output_of_a_run() {
    let test = fleet();
    assert_snapshot("run.txt", &run(&test, &[]));
    assert_snapshot("second-run.txt", &run(&test, &[]));
}

#[test]
fn a_check_diff_run_prints_its_plan_and_changes_nothing() {
    let test = fleet();
    let plan = run(&test, &["--check", "--diff"]);
    assert!(
        !plan.contains("new-secret-pw") && !plan.contains("old-pw"),
        "{plan}"
    );
    assert_snapshot("check-diff.txt", &plan);
    assert_eq!(
        std::fs::read_to_string(test.path().join("a/config.yaml")).unwrap(),
        "greeting: hello\nDB_URI: postgresql://quay:old-pw@db/quay\n"
    );
    assert!(!test.path().join("b").exists());
}

#[test]
fn the_json_event_stream_with_its_plan() {
    let test = fleet();
    assert_snapshot(
        "check.jsonl",
        &run(&test, &["--check", "--diff", "--output", "json"]),
    );
}

#[test]
fn step_asks_before_each_task() {
    let test = fleet();
    let mut child = Command::new(env!("CARGO_BIN_EXE_quayside"))
        .args(["run", "play.yml", "-i", "inventory.yml", "--step"])
        .current_dir(test.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Yes to the folder, no to config.yaml, then continue without asking again (the
    // handler is not asked about).
    child.stdin.take().unwrap().write_all(b"y\nn\nc\n").unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(
        stderr.matches("Perform task: TASK: ").count(),
        3,
        "asked for the three tasks: {stderr}"
    );
    assert!(stdout.contains("TASK [Make the folder]") && stdout.contains("TASK [Say where]"));
    assert!(!stdout.contains("TASK [Render config.yaml]"), "{stdout}");
    assert!(test.path().join("b").is_dir());
    assert!(!test.path().join("b/config.yaml").exists());

    // No answer at all: the run stops as an interrupted one, having run nothing.
    let output = Command::new(env!("CARGO_BIN_EXE_quayside"))
        .args(["run", "play.yml", "-i", "inventory.yml", "--step"])
        .current_dir(test.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(99));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("--step: no answer on standard input; stopping")
    );
}

/// The plan's lines, from the banner to the recap.
fn plan_of(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("PLAN (check mode"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect()
}

/// Regression: under `serial`, each batch's run of a task was counted as a task of its
/// own, and a task was listed again for every batch.
#[test]
fn a_plan_under_serial_counts_each_task_once() {
    let test = Test::new()
        .file(
            "inventory.yml",
            "all:\n  vars: {ansible_connection: local}\n  hosts:\n    a: {}\n    b: {}\n",
        )
        .file("templates/one.j2", "one\n")
        .file("templates/two.j2", "two\n")
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              serial: 1
              tasks:
                - name: One
                  template_config: {src: one.j2, dest: '{{ playbook_dir }}/{{ inventory_hostname }}/one'}
                - name: Two
                  template_config: {src: two.j2, dest: '{{ playbook_dir }}/{{ inventory_hostname }}/two'}
            ",
        );
    for host in ["a", "b"] {
        std::fs::create_dir(test.path().join(host)).unwrap();
    }
    let stdout = run(&test, &["--check"]);
    assert_eq!(
        plan_of(&stdout),
        [
            "One would change 2 of 2 hosts: a, b",
            "Two would change 2 of 2 hosts: a, b",
            "one would change on 2 of 2 hosts; two would change on 2 of 2 hosts; \
             2 of 2 tasks would change something, on 2 of 2 hosts",
        ],
        "{stdout}"
    );
    let json = run(&test, &["--check", "--output", "json"]);
    let plan: serde_json::Value = json
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["event"] == "plan")
        .unwrap();
    assert_eq!(plan["tasks_run"], 2);
    assert_eq!(plan["tasks"].as_array().unwrap().len(), 2);
    assert_eq!(plan["tasks"][1]["hosts"], serde_json::json!(["a", "b"]));
}

/// Regression: without `--diff` the plan named no file, as it took file names from the
/// diffs; and it named files by their base name only, so two `config.yaml` in different
/// folders of one host were one file.
#[test]
fn a_plan_names_files_without_diff_and_tells_same_names_apart() {
    let test = fleet();
    let stdout = run(&test, &["--check"]);
    assert!(!stdout.contains("--- before"), "{stdout}");
    assert_eq!(
        plan_of(&stdout),
        [
            // A command whose `creates` guard says it would run is a change in check
            // mode, as in ansible-core 2.19.14.
            "Make the folder would change 1 of 2 hosts: b",
            "Render config.yaml would change 2 of 2 hosts: a, b",
            "config.yaml would change on 2 of 2 hosts; 2 of 4 tasks would change something, on 2 of 2 hosts",
        ],
        "{stdout}"
    );

    let test = Test::new()
        .file("inventory.yml", "all:\n  hosts:\n    a: {ansible_connection: local}\n")
        .file("templates/config.yaml.j2", "x: 1\n")
        .file("templates/other.txt", "x\n")
        .file(
            "play.yml",
            "
            - hosts: all
              gather_facts: false
              tasks:
                - name: Quay's
                  template_config: {src: config.yaml.j2, dest: '{{ playbook_dir }}/quay/config.yaml'}
                - name: Clair's
                  template_config: {src: config.yaml.j2, dest: '{{ playbook_dir }}/clair/config.yaml'}
                - name: Other
                  copy_files: {src: templates/other.txt, dest: '{{ playbook_dir }}/other.txt'}
            ",
        );
    std::fs::create_dir(test.path().join("quay")).unwrap();
    std::fs::create_dir(test.path().join("clair")).unwrap();
    let stdout = run(&test, &["--check"]);
    assert_eq!(
        plan_of(&stdout).last().unwrap(),
        &"TMP/clair/config.yaml would change on 1 of 1 hosts; \
          TMP/quay/config.yaml would change on 1 of 1 hosts; \
          other.txt would change on 1 of 1 hosts; \
          3 of 3 tasks would change something, on 1 of 1 hosts",
        "{stdout}"
    );
}
