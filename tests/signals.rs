//! Ctrl-C and SIGTERM in the middle of a run, sent as a terminal sends them: to the whole
//! process group quayside runs in. Tasks in flight finish within the grace period, nothing
//! starts after the signal, handlers do not run (and the recap says which were owed), the
//! run exits 99; a second signal stops at once. No ssh process, control directory, staged
//! bundle or half-written file is left behind, and a bundle swap is never left half-done.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::fleet::fleet;
use crate::common::{Output, Test};

/// Start `quayside run play.yml` on `limit` in a process group of its own, as a shell
/// starts a foreground job; `env` is added to its environment.
pub fn spawn_run(test: &Test, limit: &str, env: &[(&str, &str)], extra: &[&str]) -> Child {
    let inventory = fleet().inventory.display().to_string();
    let mut command = Command::new(env!("CARGO_BIN_EXE_quayside"));
    command
        .args(["run", "play.yml", "-i", &inventory, "--limit", limit])
        .args(extra)
        .current_dir(test.path())
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    command.spawn().expect("start quayside")
}

/// Send `signal` (`INT`, `TERM`) to the process group `child` leads, as a terminal does.
pub fn signal_group(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), "--", &format!("-{}", child.id())])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} -{}", child.id());
}

/// Wait (at most `limit`) until `done` holds.
pub fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What quayside left behind once it exited: ssh processes of its connections and their
/// control directories (`/tmp/quayside-ssh-PID-N`).
pub fn leftovers(pid: u32) -> Vec<String> {
    let mark = format!("quayside-ssh-{pid}-");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(&mark) {
            found.push(format!("process {name}: {cmdline}"));
        }
    }
    for entry in std::fs::read_dir(std::env::temp_dir()).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&mark) {
            found.push(format!("directory {name}"));
        }
    }
    found
}

/// Files whose names start with `.quayside` (temporary files of a write) under `dir`.
pub fn temp_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with(".quayside") {
            found.push(path.clone());
        }
        if path.is_dir() {
            found.extend(temp_files(&path));
        }
    }
    found
}

/// An executable script in `dir/name`, in a directory every user may reach.
pub fn fake_command(test: &Test, name: &str, body: &str) -> PathBuf {
    let dir = test.path().join("fakebin");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(test.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

fn finish(child: Child) -> (Output, u32) {
    let pid = child.id();
    (Output::from(child.wait_with_output().unwrap()), pid)
}

fn assert_nothing_left(pid: u32) {
    // A process killed as quayside exits may take a moment to be gone.
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut left = leftovers(pid);
    while !left.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        left = leftovers(pid);
    }
    assert!(left.is_empty(), "left behind: {left:#?}");
}

const HOSTS: [usize; 3] = [1, 2, 3];

/// A play that changes a file (notifying a handler), then works for `seconds` (saying when
/// it starts), then would touch `never`. The tests that signal it while it works give it 5 s:
/// on a loaded machine, 2 s could pass between the last host starting and the signal.
fn working_play(scratch: &str, seconds: u32) -> Test {
    Test::new().file(
        "play.yml",
        &format!(
            "
            - hosts: fleet
              gather_facts: false
              tasks:
                - name: Write the first file
                  copy_files:
                    content: \"first\\n\"
                    dest: '{{{{ host_root }}}}/{scratch}/first.txt'
                  notify: restart
                - name: Work a while
                  shell: touch {{{{ host_root }}}}/{scratch}/started; sleep {seconds}; echo done > {{{{ host_root }}}}/{scratch}/finished
                - name: Never starts
                  shell: touch {{{{ host_root }}}}/{scratch}/never
              handlers:
                - name: restart
                  shell: touch {{{{ host_root }}}}/{scratch}/restarted
            "
        ),
    )
}

fn started_everywhere(scratch: &str) -> impl FnMut() -> bool + '_ {
    move || {
        HOSTS
            .iter()
            .all(|i| fleet().root(*i).join(scratch).join("started").exists())
    }
}

#[test]
fn sigint_to_the_process_group_lets_tasks_in_flight_finish_and_starts_nothing_more() {
    let scratch = fleet().scratch("sig_grace");
    let test = working_play(&scratch, 5);
    let child = spawn_run(&test, "host1:host2:host3", &[], &[]);
    wait_until(
        Duration::from_secs(20),
        "the task runs on every host",
        started_everywhere(&scratch),
    );
    signal_group(&child, "INT");
    let (output, pid) = finish(child);
    let output = output.status(99);
    // The ssh masters did not get the terminal's signal: the task in flight finished on
    // every host, over its connection.
    assert!(!output.stdout.contains("UNREACHABLE"), "{}", output.stdout);
    for i in HOSTS {
        let root = fleet().root(i).join(&scratch);
        assert!(
            output.stdout.contains(&format!("changed: [host{i}]\n")),
            "{}",
            output.stdout
        );
        assert_eq!(
            std::fs::read_to_string(root.join("finished")).unwrap(),
            "done\n"
        );
        assert!(!root.join("never").exists(), "host{i} started a new task");
        assert!(!root.join("restarted").exists(), "host{i} ran a handler");
        assert_eq!(temp_files(&root), Vec::<PathBuf>::new());
        assert!(
            output
                .recap(&format!("host{i}"))
                .contains("ok=2 changed=2 unreachable=0 failed=0"),
            "{}",
            output.stdout
        );
    }
    assert!(!output.stdout.contains("TASK [Never starts]"));
    assert!(!output.stdout.contains("RUNNING HANDLER"));
    assert!(
        output.stdout.contains(
            "[WARNING]: handler `restart` was notified but did not run on: host1, host2, host3; "
        ),
        "{}",
        output.stdout
    );
    assert!(
        output.stderr.contains(
            "[quayside] interrupted: no new task starts; the tasks in flight have 10 s to finish"
        ),
        "{}",
        output.stderr
    );
    assert_nothing_left(pid);
}

#[test]
fn tasks_still_running_after_the_grace_period_are_given_up() {
    let scratch = fleet().scratch("sig_expire");
    let test = working_play(&scratch, 30);
    let child = spawn_run(
        &test,
        "host1:host2:host3",
        &[("QUAYSIDE_INTERRUPT_GRACE", "1")],
        &["--output", "json"],
    );
    wait_until(
        Duration::from_secs(20),
        "the task runs on every host",
        started_everywhere(&scratch),
    );
    let signalled = Instant::now();
    signal_group(&child, "TERM");
    let (output, pid) = finish(child);
    let took = signalled.elapsed();
    let output = output.status(99);
    assert!(
        took < Duration::from_secs(6),
        "took {took:?} after the signal"
    );
    assert!(
        output
            .stderr
            .contains("[quayside] the grace period is over: stopping the tasks in flight"),
        "{}",
        output.stderr
    );
    let events = output.events();
    for i in HOSTS {
        let host = format!("host{i}");
        let result = events
            .iter()
            .find(|e| {
                e["event"] == "host_result"
                    && e["task"] == "Work a while"
                    && e["host"] == host.as_str()
            })
            .unwrap_or_else(|| panic!("no result for {host}: {}", output.stdout));
        assert_eq!(result["status"], "interrupted", "{result}");
        assert!(
            result["msg"]
                .as_str()
                .unwrap()
                .starts_with("interrupted: quayside stopped waiting for this task"),
            "{result}"
        );
        assert!(!fleet().root(i).join(&scratch).join("never").exists());
    }
    let recap = events.last().unwrap();
    assert_eq!(recap["event"], "recap", "{recap}");
    assert_eq!(recap["interrupted"], true);
    assert_eq!(recap["hosts"]["host1"]["ok"], 1, "{recap}");
    assert_eq!(recap["hosts"]["host1"]["changed"], 1, "{recap}");
    assert_eq!(
        recap["hosts"]["host1"]["interrupted"], 1,
        "{}",
        output.stdout
    );
    assert_eq!(
        recap["handlers_not_run"]["restart"],
        serde_json::json!(["host1", "host2", "host3"]),
        "{recap}"
    );
    assert!(!events.iter().any(|e| e["task"] == "Never starts"));
    assert_nothing_left(pid);
    // What the task was running on its hosts was stopped with it, not left to finish.
    let running = format!("{scratch}/finished");
    wait_until(
        Duration::from_secs(5),
        "the abandoned task stops on its hosts",
        || {
            let found = Command::new("pgrep")
                .args(["-f", &running])
                .output()
                .unwrap();
            found.stdout.is_empty()
        },
    );
    for i in HOSTS {
        assert!(!fleet().root(i).join(&scratch).join("finished").exists());
    }
}

#[test]
fn a_second_interrupt_stops_at_once_and_leaves_no_half_file_and_no_ssh() {
    let scratch = fleet().scratch("sig_twice");
    for i in HOSTS {
        std::fs::write(fleet().root(i).join(&scratch).join("config.yaml"), "old\n").unwrap();
    }
    // Decoding the new file takes 3 s on every host: the write is in flight, its temporary
    // file made, when the signals come. (A file over 16 KiB: smaller ones are written with
    // the shell's printf, without base64.)
    let test = Test::new().file(
        "play.yml",
        &format!(
            "
            - hosts: fleet
              gather_facts: false
              environment:
                PATH: \"{{{{ fake_path }}}}\"
              tasks:
                - name: Write the config
                  copy_files:
                    content: \"{{{{ 'n' * 17000 }}}}\\n\"
                    dest: '{{{{ host_root }}}}/{scratch}/config.yaml'
            "
        ),
    );
    let fakebin = fake_command(&test, "base64", "sleep 3\nexec /usr/bin/base64 \"$@\"");
    let path = format!("{}:/usr/bin:/bin", fakebin.display());
    let child = spawn_run(
        &test,
        "host1:host2:host3",
        &[],
        &["-e", &format!("fake_path={path}")],
    );
    wait_until(Duration::from_secs(20), "every host writes", || {
        HOSTS
            .iter()
            .all(|i| !temp_files(&fleet().root(*i).join(&scratch)).is_empty())
    });
    signal_group(&child, "INT");
    std::thread::sleep(Duration::from_millis(200));
    let signalled = Instant::now();
    signal_group(&child, "INT");
    let (output, pid) = finish(child);
    let took = signalled.elapsed();
    let output = output.status(99);
    assert!(
        took < Duration::from_secs(2),
        "took {took:?} after the second signal"
    );
    assert!(
        output
            .stderr
            .contains("[quayside] interrupted again: stopping the tasks in flight now"),
        "{}",
        output.stderr
    );
    assert_nothing_left(pid);
    for i in HOSTS {
        assert!(
            output
                .recap(&format!("host{i}"))
                .ends_with("ignored=0 interrupted=1"),
            "{}",
            output.stdout
        );
    }
    // The scripts abandoned on the hosts end on their own; what they leave is the old file
    // or the new one, whole, and no temporary file.
    for i in HOSTS {
        let root = fleet().root(i).join(&scratch);
        wait_until(
            Duration::from_secs(10),
            "the temporary files are gone",
            || temp_files(&root).is_empty(),
        );
        let kept = std::fs::read_to_string(root.join("config.yaml")).unwrap();
        let new = format!("{}\n", "n".repeat(17000));
        assert!(
            kept == "old\n" || kept == new,
            "host{i} holds {} bytes",
            kept.len()
        );
    }
}

/// A bundle play on hosts 1 to 5 (`{{ host_root }}/SCRATCH/b/config`), with `fake_path` as
/// every task's PATH and a handler that marks the hosts it runs on.
fn bundle_play(scratch: &str) -> Test {
    let test = Test::new().file(
        "play.yml",
        &format!(
            "
                - hosts: fleet
                  gather_facts: false
                  environment:
                    PATH: \"{{{{ fake_path | default('/usr/local/bin:/usr/bin:/bin') }}}}\"
                  tasks:
                    - name: Install the bundle
                      config_bundle:
                        dest: '{{{{ host_root }}}}/{scratch}/b/config'
                        files:
                          - content: \"new: true\\n\"
                            name: config.yaml
                      notify: restart
                  handlers:
                    - name: restart
                      shell: touch {{{{ host_root }}}}/{scratch}/restarted
                "
        ),
    );
    for i in 1..=5 {
        let live = fleet().root(i).join(scratch).join("b/config");
        std::fs::create_dir_all(&live).unwrap();
        std::fs::write(live.join("config.yaml"), "old: true\n").unwrap();
        let status = Command::new("chown")
            .args(["-R", "quayside:quayside"])
            .arg(fleet().root(i).join(scratch))
            .status()
            .unwrap();
        assert!(status.success());
    }
    test
}

/// A fake command on `host` only: an inventory file giving that host `fake_path`.
fn fake_on(test: &Test, host: &str, fakebin: &Path) -> PathBuf {
    let path = test.path().join("fake.yml");
    std::fs::write(
        &path,
        format!(
            "fleet:\n  hosts:\n    {host}:\n      fake_path: {}:/usr/bin:/bin\n",
            fakebin.display()
        ),
    )
    .unwrap();
    path
}

fn bundle_dir(i: usize, scratch: &str) -> PathBuf {
    fleet().root(i).join(scratch).join("b")
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn interrupts_while_staging_remove_every_staged_copy_and_blame_no_host() {
    let scratch = fleet().scratch("sig_stage");
    let test = bundle_play(&scratch);
    // host2 stages slowly: its copy of the live directory starts after 4 s, and says so.
    let marks = test.path().join("marks");
    std::fs::create_dir_all(&marks).unwrap();
    std::fs::set_permissions(&marks, std::fs::Permissions::from_mode(0o777)).unwrap();
    let marker = marks.join("host2-copied");
    let fakebin = fake_command(
        &test,
        "cp",
        &format!(
            "sleep 4\ntouch {}\nexec /usr/bin/cp \"$@\"",
            marker.display()
        ),
    );
    let fake = fake_on(&test, "host2", &fakebin);
    let child = spawn_run(
        &test,
        "host1:host2:host3:host4:host5",
        &[],
        &["-i", fake.to_str().unwrap()],
    );
    wait_until(Duration::from_secs(20), "host1 has staged", || {
        bundle_dir(1, &scratch)
            .join("config.quayside-stage")
            .exists()
            && bundle_dir(2, &scratch)
                .join("config.quayside-stage.pid")
                .exists()
    });
    signal_group(&child, "INT");
    std::thread::sleep(Duration::from_millis(200));
    let signalled = Instant::now();
    signal_group(&child, "INT");
    let (output, pid) = finish(child);
    let output = output.status(99);
    assert!(
        signalled.elapsed() < Duration::from_secs(8),
        "took {:?}",
        signalled.elapsed()
    );
    assert!(!output.stdout.contains("UNREACHABLE"), "{}", output.stdout);
    assert!(
        !output.stdout.contains("lost the connection"),
        "{}",
        output.stdout
    );
    for i in 1..=5 {
        assert!(
            output.stdout.contains(&format!(
                "interrupted: [host{i}] => {{\"msg\": \"bundle not installed on any host: the run was interrupted while staging\"}}\n"
            )),
            "{}",
            output.stdout
        );
    }
    assert_nothing_left(pid);
    // host2's staging script was stopped, not left to run on: nothing appears later.
    std::thread::sleep(Duration::from_secs(5));
    assert!(!marker.exists(), "host2's staging script ran on");
    for i in 1..=5 {
        assert_eq!(names_in(&bundle_dir(i, &scratch)), ["config"], "host{i}");
        assert_eq!(
            std::fs::read_to_string(bundle_dir(i, &scratch).join("config/config.yaml")).unwrap(),
            "old: true\n"
        );
    }
}

#[test]
fn interrupts_during_the_swap_let_it_finish_on_every_host() {
    let scratch = fleet().scratch("sig_swap");
    let test = bundle_play(&scratch);
    // host3's swap is slow: moving its live bundle aside takes 5 s.
    let fakebin = fake_command(
        &test,
        "mv",
        "case \"$*\" in *config.prev*) sleep 5;; esac\nexec /usr/bin/mv \"$@\"",
    );
    let fake = fake_on(&test, "host3", &fakebin);
    let child = spawn_run(
        &test,
        "host1:host2:host3:host4:host5",
        &[],
        &["-i", fake.to_str().unwrap(), "-v"],
    );
    wait_until(Duration::from_secs(20), "host1 has swapped", || {
        bundle_dir(1, &scratch).join("config.prev").exists()
    });
    assert!(
        bundle_dir(3, &scratch)
            .join("config.quayside-stage")
            .exists(),
        "host3 has not swapped yet"
    );
    signal_group(&child, "INT");
    std::thread::sleep(Duration::from_millis(100));
    signal_group(&child, "INT");
    let (output, pid) = finish(child);
    let output = output.status(99);
    assert_nothing_left(pid);
    // Every host ends with the new bundle: the swap was finished, not left half-done.
    for i in 1..=5 {
        let dir = bundle_dir(i, &scratch);
        assert_eq!(
            std::fs::read_to_string(dir.join("config/config.yaml")).unwrap(),
            "new: true\n",
            "host{i}"
        );
        assert_eq!(names_in(&dir), ["config", "config.prev"], "host{i}");
        assert!(output.stdout.contains(&format!("changed: [host{i}]")));
        assert!(!fleet().root(i).join(&scratch).join("restarted").exists());
    }
    // The restart it owes is named, as are the digests.
    assert!(
        output.stdout.contains(
            "[WARNING]: handler `restart` was notified but did not run on: host1, host2, host3, host4, host5; "
        ),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains("bundle digest: "),
        "{}",
        output.stdout
    );
}

/// `scripts/fleet down` (and every test run's clean-up) reads sshd's pid files while sshd
/// may remove them at any moment: a file that is gone, empty, unreadable or names another
/// process means "no live sshd", quietly, and never stops the script.
#[test]
fn the_fleet_script_reads_pid_files_that_vanish() {
    let script = r#"
source "$FLEET"
d=$(mktemp -d)
sleep 60 & sp=$!
check() { # expected-pid-or-none pidfile config
  local got
  if got=$(live_pid "$2" "$3"); then [[ $1 == "$got" ]] || { echo "wanted $1, got $got"; exit 1; }
  else [[ $1 == none ]] || { echo "wanted $1, got none"; exit 1; }; fi
}
echo "$sp" > "$d/pid"; check "$sp" "$d/pid" "sleep 60"
check none "$d/pid" "another config"
printf '%s' "$sp" > "$d/pid"; check "$sp" "$d/pid" "sleep 60"
: > "$d/pid"; check none "$d/pid" "sleep 60"
echo 999999999 > "$d/pid"; check none "$d/pid" "sleep 60"
rm "$d/pid"; check none "$d/pid" "sleep 60"
mkdir "$d/pid"; check none "$d/pid" "sleep 60"; rmdir "$d/pid"
# sshd writing and removing its pid file while it is read, again and again.
( while [ ! -e "$d/stop" ]; do printf '%s\n' "$sp" > "$d/pid.tmp"; mv "$d/pid.tmp" "$d/pid"; rm -f "$d/pid"; done ) & racer=$!
found=0 gone=0
for _ in $(seq 300); do
  if pid=$(live_pid "$d/pid" "sleep 60"); then
    [[ $pid == "$sp" ]] || { echo "wrong pid '$pid'"; exit 1; }
    found=$((found + 1))
  else
    gone=$((gone + 1))
  fi
done
touch "$d/stop"; wait "$racer"
{ kill "$sp" && wait "$sp"; } 2>/dev/null || true
rm -rf "$d"
echo "found=$((found > 0)) gone=$((gone > 0))"
"#;
    let output = Command::new("bash")
        .args(["-c", script])
        .env("FLEET", crate::common::repo_root().join("scripts/fleet"))
        .output()
        .unwrap();
    let output = Output::from(output).success();
    assert_eq!(output.stderr, "", "{output:?}");
    assert_eq!(output.stdout, "found=1 gone=1\n", "{output:?}");

    // A pid file its reader may not open (sshd's, read by a plain user): bash fails the
    // redirection, which under `set -e` used to end the whole script.
    let dir = tempfile::tempdir_in(crate::common::repo_root().join("target")).unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let pidfile = dir.path().join("sshd.pid");
    std::fs::write(&pidfile, format!("{}\n", std::process::id())).unwrap();
    std::fs::set_permissions(&pidfile, std::fs::Permissions::from_mode(0o000)).unwrap();
    let output = Command::new("sudo")
        .args(["-n", "-u", "quayside", "bash", "-c"])
        .arg(
            "set -euo pipefail; source \"$1\"; \
             if live_pid \"$2\" quayside; then echo live; else echo 'not live'; fi",
        )
        .arg("bash")
        .arg(crate::common::repo_root().join("scripts/fleet"))
        .arg(&pidfile)
        .output()
        .unwrap();
    let output = Output::from(output).success();
    assert_eq!(output.stdout, "not live\n", "{output:?}");
    assert_eq!(output.stderr, "", "{output:?}");
}

#[test]
fn an_interrupt_seconds_after_the_second_quits_a_swap_that_hangs_and_takes_ssh_down() {
    let scratch = fleet().scratch("sig_third");
    let test = bundle_play(&scratch);
    // host3's swap hangs (a host that stopped answering, say).
    let fakebin = fake_command(
        &test,
        "mv",
        "case \"$*\" in *config.prev*) sleep 30;; esac\nexec /usr/bin/mv \"$@\"",
    );
    let fake = fake_on(&test, "host3", &fakebin);
    let mut child = spawn_run(
        &test,
        "host1:host2:host3:host4:host5",
        &[],
        &["-i", fake.to_str().unwrap()],
    );
    wait_until(Duration::from_secs(20), "host1 has swapped", || {
        bundle_dir(1, &scratch).join("config.prev").exists()
    });
    signal_group(&child, "INT");
    std::thread::sleep(Duration::from_millis(100));
    signal_group(&child, "INT");
    // Two interrupts wait for the swap, and so does a third right after them (a key held
    // down) ...
    std::thread::sleep(Duration::from_millis(100));
    signal_group(&child, "INT");
    std::thread::sleep(Duration::from_secs(3));
    assert!(child.try_wait().unwrap().is_none(), "quit during the swap");
    // ... one more, seconds later, does not.
    signal_group(&child, "INT");
    let signalled = Instant::now();
    let (output, pid) = finish(child);
    let output = output.status(99);
    assert!(signalled.elapsed() < Duration::from_secs(2));
    assert!(
        output.stderr.contains(
            "[quayside] quitting without waiting: a config bundle swap in progress may be left \
             unfinished; run `quayside drift` to see where each host stands"
        ),
        "{}",
        output.stderr
    );
    assert_nothing_left(pid);
}

#[test]
fn a_closed_terminal_stops_the_run_and_takes_its_ssh_down_unless_under_nohup() {
    let scratch = fleet().scratch("sig_hangup");
    let test = working_play(&scratch, 5);
    let child = spawn_run(&test, "host1:host2:host3", &[], &[]);
    wait_until(
        Duration::from_secs(20),
        "the task runs on every host",
        started_everywhere(&scratch),
    );
    signal_group(&child, "HUP");
    let (output, pid) = finish(child);
    output.status(99);
    assert!(!fleet().root(1).join(&scratch).join("never").exists());
    assert_nothing_left(pid);

    // `nohup` asks for the run to go on when the terminal goes away.
    let scratch = fleet().scratch("sig_nohup");
    let test = working_play(&scratch, 5);
    let inventory = fleet().inventory.display().to_string();
    let child = Command::new("nohup")
        .arg(env!("CARGO_BIN_EXE_quayside"))
        .args([
            "run",
            "play.yml",
            "-i",
            &inventory,
            "--limit",
            "host1:host2:host3",
        ])
        .current_dir(test.path())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    wait_until(
        Duration::from_secs(20),
        "the task runs on every host",
        started_everywhere(&scratch),
    );
    signal_group(&child, "HUP");
    let (output, pid) = finish(child);
    output.status(0);
    for i in HOSTS {
        assert!(
            fleet().root(i).join(&scratch).join("never").exists(),
            "host{i}"
        );
    }
    assert_nothing_left(pid);
}

/// The processes whose command line contains all of `words`.
fn processes_with(words: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if words.iter().all(|word| cmdline.contains(word)) {
            found.push(format!("process {name}: {cmdline}"));
        }
    }
    found
}

#[test]
fn sigkill_takes_the_ssh_masters_and_their_control_directories_down_with_quayside() {
    let scratch = fleet().scratch("sig_kill");
    let test = working_play(&scratch, 30);
    let mut child = spawn_run(&test, "host1:host2:host3", &[], &[]);
    wait_until(
        Duration::from_secs(20),
        "the task runs on every host",
        started_everywhere(&scratch),
    );
    let pid = child.id();
    // What must go: three masters and their directories, and the watchdog.
    let before = leftovers(pid);
    assert_eq!(
        before.iter().filter(|l| l.starts_with("process ")).count(),
        3,
        "{before:#?}"
    );
    assert_eq!(
        before
            .iter()
            .filter(|l| l.starts_with("directory "))
            .count(),
        3,
        "{before:#?}"
    );
    let pid_word = format!(" {pid} ");
    let watchdog = ["__quayside-ssh-watchdog", pid_word.as_str()];
    assert_eq!(processes_with(&watchdog).len(), 1, "no watchdog");
    // As the OOM killer or `timeout -s KILL`: quayside alone, and nothing it can catch.
    let status = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    assert_nothing_left(pid);
    wait_until(Duration::from_secs(3), "the watchdog exits", || {
        processes_with(&watchdog).is_empty()
    });
}

#[test]
fn a_run_clears_the_control_directories_of_a_quayside_that_is_gone() {
    // As a run killed together with its watchdog leaves them: a pid no process has.
    let dead = 4_000_000 + std::process::id() % 100_000;
    assert!(!Path::new(&format!("/proc/{dead}")).exists());
    let stale = std::env::temp_dir().join(format!("quayside-ssh-{dead}-0"));
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("log"), "").unwrap();
    let scratch = fleet().scratch("sig_stale");
    let test = working_play(&scratch, 0);
    let child = spawn_run(&test, "host1", &[], &[]);
    let (output, pid) = finish(child);
    output.status(0);
    assert!(!stale.exists(), "{} is still there", stale.display());
    assert_nothing_left(pid);
}

#[test]
fn after_an_interrupt_no_batch_play_rescue_or_always_section_starts() {
    let scratch = fleet().scratch("sig_nothing_after");
    let touch = |name: &str| format!("touch {{{{ host_root }}}}/{scratch}/{name}");
    let test = Test::new().file(
        "play.yml",
        &format!(
            "
            - hosts: host1:host2:host3
              serial: 1
              gather_facts: false
              tasks:
                - block:
                    - name: Work
                      shell: {}; sleep 2; {}
                    - name: After the work
                      shell: {}
                  rescue:
                    - shell: {}
                  always:
                    - shell: {}
            - hosts: host4
              gather_facts: false
              tasks:
                - shell: {}
            ",
            touch("started"),
            touch("finished"),
            touch("after"),
            touch("rescued"),
            touch("always"),
            touch("second_play"),
        ),
    );
    let child = spawn_run(&test, "host1:host2:host3:host4", &[], &[]);
    wait_until(Duration::from_secs(20), "host1 works", || {
        fleet().root(1).join(&scratch).join("started").exists()
    });
    signal_group(&child, "INT");
    let (output, pid) = finish(child);
    let output = output.status(99);
    // The task in flight finished in its grace period ...
    assert!(fleet().root(1).join(&scratch).join("finished").exists());
    assert!(
        output.stdout.contains("changed: [host1]\n"),
        "{}",
        output.stdout
    );
    // ... and nothing started after the signal: not the rest of the block, its rescue or
    // always section, the next batch, or the next play.
    for i in 1..=4 {
        let root = fleet().root(i).join(&scratch);
        for name in ["after", "rescued", "always", "second_play"] {
            assert!(!root.join(name).exists(), "host{i} ran `{name}`");
        }
        if i > 1 {
            assert!(!root.join("started").exists(), "host{i}'s batch started");
        }
    }
    assert!(!output.stdout.contains("host4"), "{}", output.stdout);
    assert_nothing_left(pid);
}

#[test]
fn a_task_given_up_on_on_the_controller_is_killed_with_everything_it_started() {
    let test = Test::new()
        .file(
            "hosts.yml",
            "all:\n  hosts:\n    here: {ansible_connection: local}\n",
        )
        .file(
            "play.yml",
            "
            - hosts: here
              gather_facts: false
              tasks:
                - name: Start a worker and wait for it
                  shell: sh -c 'echo $$ > {{ playbook_dir }}/worker.pid; exec sleep 300' & wait
                - name: Never starts
                  shell: touch never
            ",
        );
    let mut command = Command::new(env!("CARGO_BIN_EXE_quayside"));
    command
        .args(["run", "play.yml", "-i", "hosts.yml"])
        .current_dir(test.path())
        .env("NO_COLOR", "1")
        .env("QUAYSIDE_INTERRUPT_GRACE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let child = command.spawn().unwrap();
    let pid_file = test.path().join("worker.pid");
    wait_until(Duration::from_secs(20), "the worker starts", || {
        std::fs::read_to_string(&pid_file).is_ok_and(|text| text.ends_with('\n'))
    });
    let worker = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_owned();
    assert!(Path::new(&format!("/proc/{worker}")).exists());
    // The terminal's Ctrl-C reaches quayside's group only: the script's group is its own,
    // and quayside must stop it when the grace period is over.
    signal_group(&child, "INT");
    let started = Instant::now();
    let (output, pid) = finish(child);
    let output = output.status(99);
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert!(
        output.stdout.contains("interrupted: [here]"),
        "{}",
        output.stdout
    );
    wait_until(Duration::from_secs(3), "the worker is killed", || {
        !Path::new(&format!("/proc/{worker}")).exists()
            || std::fs::read_to_string(format!("/proc/{worker}/stat"))
                .is_ok_and(|stat| stat.contains(") Z "))
    });
    assert!(!test.path().join("never").exists());
    assert_nothing_left(pid);
}

#[test]
fn an_interrupt_while_a_host_is_still_connecting_leaves_no_ssh_behind() {
    // A port that accepts TCP and never says a word: ssh waits for its banner.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let test = Test::new()
        .file(
            "hosts.yml",
            &format!(
                "all:\n  hosts:\n    silent: {{ansible_host: 127.0.0.1, ansible_port: {port}}}\n"
            ),
        )
        .file(
            "play.yml",
            "- hosts: silent\n  gather_facts: false\n  tasks:\n    - shell: 'true'\n",
        );
    let mut command = Command::new(env!("CARGO_BIN_EXE_quayside"));
    command
        .args(["run", "play.yml", "-i", "hosts.yml", "--timeout", "60"])
        .current_dir(test.path())
        .env("NO_COLOR", "1")
        .env("QUAYSIDE_INTERRUPT_GRACE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let child = command.spawn().unwrap();
    let pid = child.id();
    wait_until(Duration::from_secs(10), "ssh is connecting", || {
        leftovers(pid).iter().any(|l| l.starts_with("process "))
    });
    signal_group(&child, "INT");
    let started = Instant::now();
    let (output, _) = finish(child);
    output.status(99);
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    assert_nothing_left(pid);
    drop(silent);
}
