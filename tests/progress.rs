//! The live display on a real terminal (tmux): it appears while tasks run and leaves a clean
//! final screen of summary lines, failures, `debug` output and the recap.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::Test;
use crate::common::fleet::fleet;

fn tmux(args: &[&str]) -> String {
    let output = Command::new("tmux").args(args).output().expect("tmux");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn live_progress_leaves_a_clean_screen() {
    let fleet = fleet();
    let test = Test::new().file(
        "play.yml",
        "
        - hosts: fleet
          gather_facts: false
          tasks:
            - name: quick
              command: 'true'
            - name: slow on two
              shell: sleep {{ 2 if inventory_hostname in ['host2', 'host5'] else 0 }}
            - name: fails on host3
              command: 'false'
              when: inventory_hostname == 'host3'
            - name: greet
              debug:
                msg: hello from {{ inventory_hostname }}
              when: inventory_hostname == 'host1'
        ",
    );
    let session = format!("quayside-progress-{}", std::process::id());
    let command = format!(
        "cd {} && {} run play.yml -i {}; echo EXIT=$?; sleep 60",
        test.path().display(),
        env!("CARGO_BIN_EXE_quayside"),
        fleet.inventory.display()
    );
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "140",
        "-y",
        "50",
        &command,
    ]);
    // While the slow task runs, its bar is on screen.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut saw_bar = false;
    let mut screen = String::new();
    while Instant::now() < deadline {
        screen = tmux(&["capture-pane", "-p", "-t", &session]);
        saw_bar |=
            screen.contains("TASK [slow on two] [") && screen.contains("waiting for host2, host5");
        if screen.contains("EXIT=") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    tmux(&["kill-session", "-t", &session]);
    assert!(saw_bar, "no live bar seen; last screen:\n{screen}");
    assert!(screen.contains("EXIT=2"), "{screen}");
    let lines: Vec<&str> = screen.lines().filter(|l| !l.trim().is_empty()).collect();
    let summary = |prefix: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` in:\n{screen}"))
            .to_string()
    };
    assert!(
        summary("TASK [quick]  6 hosts: ok=0 changed=6 failed=0 skipped=0 unreachable=0 in ")
            .ends_with('s')
    );
    summary("TASK [slow on two]  6 hosts: ok=0 changed=6 failed=0");
    summary("TASK [fails on host3]  6 hosts: ok=0 changed=0 failed=1 skipped=5");
    summary("TASK [greet]  5 hosts: ok=1 changed=0 failed=0 skipped=4");
    summary("fatal: [host3]: FAILED! => ");
    summary("    \"msg\": \"hello from host1\"");
    summary("host3                      : ok=2    changed=2    unreachable=0    failed=1");
    // Nothing of the bars is left behind.
    assert!(
        !screen.contains("=>  ]") && !screen.contains("] 0/"),
        "{screen}"
    );
    // Plain per-host lines give way to the summaries; what `debug` shows stays.
    assert!(
        !lines
            .iter()
            .any(|l| (l.starts_with("ok: [") || l.starts_with("changed: [")) && !l.contains(" => ")),
        "{screen}"
    );
}
