//! The remote shell that runs a host's scripts one after another over one SSH channel.
//!
//! Opening a channel per script costs the channel's own round trips (open, exec, exit
//! status) and an sshd session on the host for every task. Instead, each connection keeps
//! one `sh` running on the host for the whole run and writes each script to it as one
//! request; the answer comes back on the same channel. A task is then one write and one
//! read: a single network round trip.
//!
//! The protocol, all in POSIX `sh` and `base64` on the host:
//!
//! - [`DRIVER`] is written once, before the first request. It defines `quayside_run` and
//!   prints `quayside-shell PID` on both streams, so that what a login script printed
//!   before it can be told apart and the shell's pid is known (to stop what it runs).
//! - A request is one line, `quayside_run TOKEN 0 'argv'...`, or with standard input
//!   `quayside_run TOKEN 1 'argv'... <<'TOKEN'`, the input in base64 and the end line
//!   (mode 2: the input as it is, when it is text that ends its last line). Every word is
//!   quoted; the script itself is one of the words, so the shell never parses it. The
//!   command's standard input is the data or `/dev/null`, never the channel.
//! - The answer is the command's output, then `\nTOKEN STATUS\n` on standard output and on
//!   standard error. TOKEN is new for every request and random per run, so output cannot
//!   end a frame early.
//! - A pipelined request ([`request_in`]) names another function in place of
//!   `quayside_run`, by where it stands in a chain of requests written one after another
//!   without waiting for the answers ([`Chain`]): `quayside_next` (the next task: it runs
//!   only if every request of the task before it and of the chain exited 0),
//!   `quayside_item` (another item of the same loop: it runs if the chain stood when its
//!   task began, whatever the items before it did), `quayside_also` (the next task after
//!   one whose failure is ignored). One that does not run answers at once with status
//!   [`SKIPPED`] (no exit status can be 256), its input read and thrown away. The shell
//!   reads requests one after another, so several can be written before the first answer
//!   comes back (one round trip for all of them), and the first task that fails stops the
//!   ones written after it: the stop-at-first-failure of the linear strategy, decided on
//!   the host. A `quayside_run` request always runs and starts a new chain. A `SIGUSR1`
//!   to the shell stops the chain too: after an interrupt, the requests already written
//!   and not started answer [`SKIPPED`] (the script running finishes first).

use std::fmt::Write as _;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use tokio::io::{AsyncRead, AsyncReadExt};

use super::Chain;
use super::quote::quote;

/// What the host's shell is given once, before the first request.
pub(crate) const DRIVER: &str = r#"quayside_run() {
    quayside_chain=0 quayside_task=0
    quayside_exec "$@"
}
quayside_exec() {
    quayside_token=$1 quayside_input=$2
    shift 2
    case $quayside_input in
        0) "$@" </dev/null ;;
        1) base64 -d | "$@" ;;
        *) "$@" ;;
    esac
    quayside_status=$?
    [ "$quayside_status" = 0 ] || quayside_task=1
    printf '\n%s %s\n' "$quayside_token" "$quayside_status" >&2
    printf '\n%s %s\n' "$quayside_token" "$quayside_status"
}
quayside_status=0 quayside_chain=0 quayside_task=0
trap 'quayside_chain=1' USR1
quayside_unless_stopped() {
    if [ "$quayside_chain" = 0 ]; then
        quayside_exec "$@"
    else
        quayside_status=256
        case $2 in
            0) ;;
            *) cat >/dev/null ;;
        esac
        printf '\n%s 256\n' "$1" >&2
        printf '\n%s 256\n' "$1"
    fi
}
quayside_next() {
    [ "$quayside_task" = 0 ] || quayside_chain=1
    quayside_task=0
    quayside_unless_stopped "$@"
}
quayside_item() {
    quayside_unless_stopped "$@"
}
quayside_also() {
    quayside_task=0
    quayside_unless_stopped "$@"
}
printf 'quayside-shell %s\n' "$$"
printf 'quayside-shell %s\n' "$$" >&2
"#;

/// The status of a pipelined request that did not run because one before it failed.
pub(crate) const SKIPPED: i32 = 256;

/// The line the driver prints on each stream when it starts.
const READY: &[u8] = b"quayside-shell ";

/// Base64 characters per line of a request's input.
const LINE: usize = 4096;

/// A token no output can contain by chance: random for the run, counted per request.
pub(crate) fn new_token() -> String {
    static RUN: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let run = RUN.get_or_init(|| {
        RandomState::new().hash_one((std::process::id(), std::time::SystemTime::now()))
    });
    format!(
        "quayside-end-{run:016x}-{}",
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The request that runs `argv` with `stdin` as its standard input.
#[cfg(test)]
pub(crate) fn request(token: &str, argv: &[String], stdin: &[u8]) -> Vec<u8> {
    request_with("quayside_run", token, argv, stdin)
}

/// The request that runs `argv` as `chain` places it after the requests written before
/// it (see [`Chain`]): one that may be written before the answers to those before it have
/// come back. A request the host does not run answers with status [`SKIPPED`].
pub(crate) fn request_in(chain: Chain, token: &str, argv: &[String], stdin: &[u8]) -> Vec<u8> {
    let function = match chain {
        Chain::Start => "quayside_run",
        Chain::Next => "quayside_next",
        Chain::Item => "quayside_item",
        Chain::Also => "quayside_also",
    };
    request_with(function, token, argv, stdin)
}

/// [`request_in`] for the next task of a chain.
#[cfg(test)]
pub(crate) fn request_after(token: &str, argv: &[String], stdin: &[u8]) -> Vec<u8> {
    request_in(Chain::Next, token, argv, stdin)
}

fn request_with(function: &str, token: &str, argv: &[String], stdin: &[u8]) -> Vec<u8> {
    // Text that ends its last line, holds no NUL and no line that is the token (a script,
    // say) goes as it is; anything else in base64.
    let raw = stdin.ends_with(b"\n")
        && !stdin.contains(&0)
        && !stdin
            .split(|&byte| byte == b'\n')
            .any(|line| line == token.as_bytes());
    let mode = match (stdin.is_empty(), raw) {
        (true, _) => 0,
        (false, false) => 1,
        (false, true) => 2,
    };
    let mut text = format!("{function} {token} {mode}");
    for word in argv {
        text.push(' ');
        text.push_str(&quote(word));
    }
    if stdin.is_empty() {
        text.push('\n');
        return text.into_bytes();
    }
    // The end line is the token itself, which base64 (no `-`) can never produce, and raw
    // input was checked not to hold.
    let _ = writeln!(text, " <<'{token}'");
    if raw {
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(stdin);
        bytes.extend_from_slice(token.as_bytes());
        bytes.push(b'\n');
        return bytes;
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(stdin);
    let mut bytes = text.into_bytes();
    bytes.reserve(encoded.len() + encoded.len() / LINE + token.len() + 2);
    for line in encoded.as_bytes().chunks(LINE) {
        bytes.extend_from_slice(line);
        bytes.push(b'\n');
    }
    bytes.extend_from_slice(token.as_bytes());
    bytes.push(b'\n');
    bytes
}

/// One stream's part of an answer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Frame {
    pub output: Vec<u8>,
    pub status: i32,
}

/// Read one stream up to the end of `token`'s frame. With `ready`, the driver's ready line
/// comes first (after whatever a login script printed): it is not output, and the shell's
/// pid on it goes into `ready` as soon as it arrives, so that a script can be stopped
/// even when its caller gives up before its answer. `None` when the stream ended before
/// the frame did: the shell is gone.
#[cfg(test)]
pub(crate) async fn read_frame(
    stream: &mut (impl AsyncRead + Unpin),
    token: &str,
    ready: Option<&mut Option<u32>>,
) -> std::io::Result<Option<Frame>> {
    // With one request in flight nothing follows its frame.
    read_frame_after(stream, token, ready, &mut Vec::new()).await
}

/// [`read_frame`] for one of several requests in flight: `carry` holds what was read past
/// the end of the frame before (the start of the next ones), and is left holding what
/// this read past its own.
pub(crate) async fn read_frame_after(
    stream: &mut (impl AsyncRead + Unpin),
    token: &str,
    mut ready: Option<&mut Option<u32>>,
    carry: &mut Vec<u8>,
) -> std::io::Result<Option<Frame>> {
    let mut bytes = std::mem::take(carry);
    // Where the script's output starts: after the ready line, once it has come.
    let mut start = if ready.is_some() { None } else { Some(0) };
    loop {
        if start.is_none() {
            if let Some((pid, rest)) = find_ready(&bytes) {
                if let Some(slot) = ready.as_deref_mut() {
                    *slot = pid;
                }
                start = Some(rest);
            }
        }
        if let Some(start) = start {
            if let Some((end, status, after)) = frame_end(&bytes[start..], token) {
                *carry = bytes[start + after..].to_vec();
                return Ok(Some(Frame {
                    output: bytes[start..start + end].to_vec(),
                    status,
                }));
            }
        }
        // Most answers are a line or two: grow with what comes, not ahead of it.
        bytes.reserve(4096.max(bytes.len() / 2));
        if stream.read_buf(&mut bytes).await? == 0 {
            return Ok(None);
        }
    }
}

/// Read one stream up to the end of the driver's ready line: the shell's pid on it (`None`
/// inside when it is not a number), `carry` left holding what followed. `None` when the
/// stream ended first.
pub(crate) async fn read_ready(
    stream: &mut (impl AsyncRead + Unpin),
    carry: &mut Vec<u8>,
) -> std::io::Result<Option<Option<u32>>> {
    let mut bytes = std::mem::take(carry);
    loop {
        if let Some((pid, rest)) = find_ready(&bytes) {
            *carry = bytes[rest..].to_vec();
            return Ok(Some(pid));
        }
        bytes.reserve(4096);
        if stream.read_buf(&mut bytes).await? == 0 {
            return Ok(None);
        }
    }
}

/// Once `bytes` holds `\nTOKEN STATUS\n`: where the output before it ends, the status,
/// and where what follows it starts. The token is new for every request and random for
/// the run, so its first end line is the frame's.
fn frame_end(bytes: &[u8], token: &str) -> Option<(usize, i32, usize)> {
    let marker = format!("\n{token} ");
    let end = bytes
        .windows(marker.len())
        .position(|window| window == marker.as_bytes())?;
    let rest = &bytes[end + marker.len()..];
    let line = rest.iter().position(|&byte| byte == b'\n')?;
    let status = std::str::from_utf8(&rest[..line]).ok()?.parse().ok()?;
    Some((end, status, end + marker.len() + line + 1))
}

/// Once the whole ready line has come: the pid on it, and where the script's own output
/// starts after it.
fn find_ready(bytes: &[u8]) -> Option<(Option<u32>, usize)> {
    let mut at = 0;
    while let Some(n) = bytes[at..].iter().position(|&byte| byte == b'\n') {
        let end = at + n;
        if let Some(pid) = bytes[at..end].strip_prefix(READY) {
            let pid = std::str::from_utf8(pid)
                .ok()
                .and_then(|pid| pid.parse().ok());
            return Some((pid, end + 1));
        }
        at = end + 1;
    }
    None
}

/// A script that stops `pid` and every process below it: what a shell was running when
/// its caller gave up on it.
pub(crate) fn kill_tree(pid: u32) -> String {
    format!(
        r#"all={pid} new={pid}
while [ -n "$new" ]; do
    next=
    for stat in /proc/[0-9]*/stat; do
        read -r line 2>/dev/null <"$stat" || continue
        set -- ${{line##*) }}
        for parent in $new; do
            [ "$2" = "$parent" ] && next="$next ${{line%% *}}"
        done
    done
    all="$all$next" new=$next
done
kill -TERM $all 2>/dev/null
exit 0
"#
    )
}

#[cfg(test)]
mod tests {
    use std::process::Stdio;

    use tokio::io::AsyncWriteExt;
    use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};

    use super::*;

    struct Shell {
        child: Child,
        stdin: ChildStdin,
        stdout: ChildStdout,
        stderr: ChildStderr,
        pid: Option<u32>,
    }

    impl Shell {
        fn start() -> Shell {
            let mut child = Command::new("sh")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .unwrap();
            Shell {
                stdin: child.stdin.take().unwrap(),
                stdout: child.stdout.take().unwrap(),
                stderr: child.stderr.take().unwrap(),
                child,
                pid: None,
            }
        }

        async fn run(&mut self, argv: &[&str], stdin: &[u8]) -> (Frame, Frame) {
            let token = new_token();
            let argv: Vec<String> = argv.iter().map(|word| (*word).to_owned()).collect();
            let mut bytes = Vec::new();
            let first = self.pid.is_none();
            if first {
                bytes.extend_from_slice(DRIVER.as_bytes());
            }
            bytes.extend(request(&token, &argv, stdin));
            let mut stderr_pid = None;
            let (written, stdout, stderr) = tokio::join!(
                self.stdin.write_all(&bytes),
                read_frame(&mut self.stdout, &token, first.then_some(&mut self.pid)),
                read_frame(&mut self.stderr, &token, first.then_some(&mut stderr_pid)),
            );
            written.unwrap();
            (stdout.unwrap().unwrap(), stderr.unwrap().unwrap())
        }
    }

    #[tokio::test]
    async fn scripts_run_one_after_another_with_their_output_status_and_input() {
        let mut shell = Shell::start();
        let (out, err) = shell
            .run(
                &["sh", "-c", "printf 'no newline'; echo oops >&2; exit 3"],
                b"",
            )
            .await;
        assert_eq!(out.output, b"no newline");
        assert_eq!(out.status, 3);
        assert_eq!(shell.pid, shell.child.id());
        assert_eq!(err.output, b"oops\n");
        assert_eq!(err.status, 3);

        // Binary input, arriving byte for byte, larger than a request line.
        let input: Vec<u8> = (0..20_000u32).map(|n| (n % 256) as u8).collect();
        let (out, _) = shell.run(&["sh", "-c", "cat"], &input).await;
        assert_eq!(out.output, input);
        assert_eq!(out.status, 0);

        // Text goes as it is, backslashes, quotes and all; text without its last line
        // ending, or holding a line that could end the request, goes in base64.
        for input in [
            &b"a script \\ with 'quotes' and $(no expansion)\n\nEOF\n"[..],
            b"no last line ending",
            b"\n",
        ] {
            let (out, _) = shell.run(&["sh", "-c", "cat"], input).await;
            assert_eq!(out.output, input);
        }
        let token = new_token();
        assert!(request(&token, &[], b"x\n").ends_with(format!("x\n{token}\n").as_bytes()));
        let tricky = format!("{token}\n");
        assert!(
            String::from_utf8(request(&token, &[], tricky.as_bytes()))
                .unwrap()
                .starts_with(&format!("quayside_run {token} 1"))
        );

        // Without input, a script reads end of file, not the requests that follow.
        let (out, _) = shell.run(&["sh", "-c", "cat; echo read"], b"").await;
        assert_eq!(out.output, b"read\n");

        // Hostile words arrive as written, and nothing runs but the command.
        let hostile = "a'b\"c $(touch x) `y` ;\n-z\\";
        let (out, _) = shell
            .run(&["sh", "-c", "printf '%s' \"$1\"", "sh", hostile], b"")
            .await;
        assert_eq!(out.output, hostile.as_bytes());

        // A script's variables and directory do not leak into the next one.
        shell.run(&["sh", "-c", "cd /; x=1"], b"").await;
        let (out, _) = shell.run(&["sh", "-c", "echo \"${x-unset}\""], b"").await;
        assert_eq!(out.output, b"unset\n");
    }

    #[tokio::test]
    async fn pipelined_requests_run_in_order_and_stop_at_the_first_failure() {
        let dir = std::env::temp_dir().join(format!("quayside-pipeline-{}", new_token()));
        std::fs::create_dir(&dir).unwrap();
        let touch = |name: &str| {
            vec![
                "sh".to_owned(),
                "-c".to_owned(),
                format!(
                    "cat >/dev/null; touch {}/{name}; echo {name}",
                    dir.display()
                ),
            ]
        };
        let fail = vec!["sh".to_owned(), "-c".to_owned(), "exit 3".to_owned()];
        let mut shell = Shell::start();
        // Every request is written before any answer is read: one round trip for all.
        let steps: Vec<(bool, Vec<String>, &[u8])> = vec![
            (false, touch("a"), b""),
            (true, touch("b"), b"raw input\n"),
            (true, fail.clone(), b""),
            (true, touch("c"), b"raw input\n"),
            (true, touch("d"), b"\0binary"),
            (true, touch("e"), b""),
            // A request that is not pipelined runs whatever came before it, and the
            // chain starts again from it.
            (false, touch("f"), b""),
            (true, touch("g"), b""),
        ];
        let mut bytes = DRIVER.as_bytes().to_vec();
        let mut tokens = Vec::new();
        for (after, argv, stdin) in &steps {
            let token = new_token();
            bytes.extend(if *after {
                request_after(&token, argv, stdin)
            } else {
                request(&token, argv, stdin)
            });
            tokens.push(token);
        }
        shell.stdin.write_all(&bytes).await.unwrap();
        let mut statuses = Vec::new();
        let (mut carry_out, mut carry_err) = (Vec::new(), Vec::new());
        for (n, token) in tokens.iter().enumerate() {
            let mut stderr_pid = None;
            let first = n == 0;
            let (out, err) = tokio::join!(
                read_frame_after(
                    &mut shell.stdout,
                    token,
                    first.then_some(&mut shell.pid),
                    &mut carry_out
                ),
                read_frame_after(
                    &mut shell.stderr,
                    token,
                    first.then_some(&mut stderr_pid),
                    &mut carry_err
                ),
            );
            let (out, err) = (out.unwrap().unwrap(), err.unwrap().unwrap());
            assert_eq!(out.status, err.status);
            if out.status == SKIPPED {
                assert!(out.output.is_empty() && err.output.is_empty());
            }
            statuses.push(out.status);
        }
        assert_eq!(statuses, [0, 0, 3, SKIPPED, SKIPPED, SKIPPED, 0, 0]);
        assert!(carry_out.is_empty() && carry_err.is_empty());
        let mut ran: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        ran.sort();
        assert_eq!(ran, ["a", "b", "f", "g"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Loop items go on after a failed item; the task after the loop does not. A task
    /// after one whose failure is ignored runs; one after a stopped chain does not.
    #[tokio::test]
    async fn items_go_on_after_a_failed_item_and_ignored_failures_stop_nothing() {
        let ok = vec!["true".to_owned()];
        let fail = vec!["false".to_owned()];
        let steps = [
            (Chain::Start, &ok),
            (Chain::Next, &fail),  // item 1 of a loop fails
            (Chain::Item, &ok),    // item 2 still runs
            (Chain::Next, &ok),    // the next task does not
            (Chain::Also, &ok),    // nor one after it, ignored or not: the chain stopped
            (Chain::Start, &fail), // a new chain: a failure whose task ignores it
            (Chain::Also, &ok),    // runs
            (Chain::Item, &fail),  // a failed item of that task
            (Chain::Next, &ok),    // stops the next task
        ];
        let mut shell = Shell::start();
        let mut bytes = DRIVER.as_bytes().to_vec();
        let mut tokens = Vec::new();
        for (chain, argv) in steps {
            let token = new_token();
            bytes.extend(request_in(chain, &token, argv, b""));
            tokens.push(token);
        }
        shell.stdin.write_all(&bytes).await.unwrap();
        let mut statuses = Vec::new();
        let mut carry = Vec::new();
        for (n, token) in tokens.iter().enumerate() {
            let frame = read_frame_after(
                &mut shell.stdout,
                token,
                (n == 0).then_some(&mut shell.pid),
                &mut carry,
            )
            .await
            .unwrap()
            .unwrap();
            statuses.push(frame.status);
        }
        assert_eq!(statuses, [0, 1, 0, SKIPPED, SKIPPED, 1, 0, 1, SKIPPED]);
    }

    #[tokio::test]
    async fn a_frame_ends_only_at_its_own_token() {
        let mut shell = Shell::start();
        // Output that looks like an end line of another request does not end this one.
        let (out, _) = shell
            .run(&["sh", "-c", "printf '\\nquayside-end-0-0 0\\nmore'"], b"")
            .await;
        assert_eq!(out.output, b"\nquayside-end-0-0 0\nmore");
    }

    #[test]
    fn the_ready_line_and_what_came_before_it_are_not_output() {
        assert_eq!(
            find_ready(b"motd\nquayside-shell 42\nout"),
            Some((Some(42), b"motd\nquayside-shell 42\n".len()))
        );
        assert_eq!(find_ready(b"motd\nquayside-shell 4"), None);
    }

    #[test]
    fn frames_end_with_the_token_and_a_status() {
        assert_eq!(frame_end(b"out\nT 0\n", "T"), Some((3, 0, 8)));
        assert_eq!(frame_end(b"\nT 127\n", "T"), Some((0, 127, 7)));
        assert_eq!(frame_end(b"out\nT 0\nnext", "T"), Some((3, 0, 8)));
        assert_eq!(frame_end(b"out\nT 0", "T"), None);
        assert_eq!(frame_end(b"out\nTT 0\n", "T"), None);
        assert_eq!(frame_end(b"out\nT x\n", "T"), None);
    }

    #[tokio::test]
    async fn kill_tree_stops_a_process_and_its_children() {
        let child = Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30; echo finished"])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let pid = child.id().unwrap();
        // Let the shell start its sleeps.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let status = Command::new("sh")
            .args(["-c", &kill_tree(pid)])
            .status()
            .await
            .unwrap();
        assert!(status.success());
        let output =
            tokio::time::timeout(std::time::Duration::from_secs(5), child.wait_with_output())
                .await
                .expect("the tree stopped")
                .unwrap();
        assert!(output.stdout.is_empty());
    }
}
