//! The loaders under random and hostile input: the playbook parser, the inventory readers
//! (YAML and INI, with `group_vars/`), the template file loader `template_config` uses and
//! the template renderer never panic, and never take long.
//!
//! Every input is written to files as bytes, so what is not UTF-8 reaches the file loaders
//! as it is. The inputs:
//! - the corpus: every file in `tests/fuzz/corpus/` (inputs worth keeping: each once broke
//!   a YAML, INI or template reader somewhere, or stands for a kind of input), and the
//!   shipped playbooks, inventories and templates;
//! - mutations of the corpus (bits flipped, bytes and tokens inserted, parts cut, spliced
//!   from another file), text built from YAML, INI and template tokens, and any bytes.
//!
//! Every run replays the cases in `tests/fuzz/regressions.txt` first, and a failure adds
//! its seed there (commit it). A seed stands for a case only while the corpus is the same,
//! so copy the shrunk input proptest prints into `tests/fuzz/corpus/` as well.
//!
//! The pass that runs with the tests is short; `PROPTEST_CASES=100000 cargo test --test
//! integration fuzz::` runs a long one.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use quayside::inventory::Inventory;
use quayside::playbook::parse_playbook;
use quayside::source::Span;
use quayside::yaml::load_str;

use crate::common::repo_root;

/// A case taking longer than this has hung (a debug build on a busy machine reads the
/// largest corpus file in well under a second).
const HANG_LIMIT: Duration = Duration::from_secs(20);

/// Where proptest keeps failing cases, relative to the package (tests run there).
const REGRESSIONS: &str = "tests/fuzz/regressions.txt";

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS))),
        ..ProptestConfig::default()
    }
}

/// Every corpus file, by name, as bytes.
fn corpus() -> &'static [(String, Vec<u8>)] {
    static CORPUS: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let root = repo_root();
        let mut files = Vec::new();
        for dir in ["tests/fuzz/corpus", "playbooks", "inventory", "templates"] {
            collect(&root.join(dir), &mut files);
        }
        files.sort();
        let corpus: Vec<(String, Vec<u8>)> = files
            .into_iter()
            .map(|path| {
                let bytes = std::fs::read(&path).unwrap();
                let name = path.strip_prefix(&root).unwrap().display().to_string();
                (name, bytes)
            })
            .collect();
        assert!(corpus.len() > 40, "the corpus is missing");
        corpus
    })
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else {
            files.push(path);
        }
    }
}

/// Every loader on one input, given as the bytes of a file. Errors are expected; a panic
/// is the failure.
fn load_everything(bytes: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str| {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let _ = parse_playbook(&write("play.yml"));
    let _ = Inventory::load(&[write("yaml/hosts.yml")]);
    // The INI reader, and the same bytes as `group_vars/all.yml` beside it.
    write("ini/group_vars/all.yml");
    let _ = Inventory::load(&[write("ini/hosts")]);
    let vars = minijinja::Value::from_serialize(serde_json::json!({"x": [1, 2], "y": "z"}));
    let _ = quayside::tasks::render_file(&write("templates/t.j2"), "t.j2", &vars);
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = load_str("fuzz.yml", text);
        let _ = quayside::template::render_str(text, &Span::synthetic("fuzz"), &vars);
    }
}

/// [`load_everything`] in a thread of its own: a panic or a hang fails the case.
fn check(bytes: &[u8]) -> Result<(), String> {
    let owned = bytes.to_vec();
    let (done, finished) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        load_everything(&owned);
        let _ = done.send(());
    });
    match finished.recv_timeout(HANG_LIMIT) {
        Ok(()) => Ok(()),
        // The worker is left running: nothing can stop a thread, and the test has failed.
        Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
            "no answer within {HANG_LIMIT:?} on {:?}",
            String::from_utf8_lossy(bytes)
        )),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let panic = worker.join().err().map(|payload| {
                payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            });
            Err(format!(
                "panicked ({}) on {:?}",
                panic.unwrap_or_default(),
                String::from_utf8_lossy(bytes)
            ))
        }
    }
}

#[test]
fn the_corpus_loads_without_panic_or_hang() {
    for (name, bytes) in corpus() {
        if let Err(failure) = check(bytes) {
            panic!("{name}: {failure}");
        }
    }
}

#[test]
fn files_that_are_not_utf8_are_refused_by_every_file_loader() {
    let foreign: Vec<&(String, Vec<u8>)> = corpus()
        .iter()
        .filter(|(_, bytes)| std::str::from_utf8(bytes).is_err())
        .collect();
    assert!(foreign.len() >= 7, "{}", foreign.len());
    for (name, bytes) in foreign {
        let dir = tempfile::tempdir().unwrap();
        let at = |file: &str| {
            let path = dir.path().join(file);
            std::fs::write(&path, bytes).unwrap();
            path
        };
        let utf8 = |message: String| {
            assert!(
                message.contains("is not valid UTF-8 (at "),
                "{name}: {message}"
            );
        };
        utf8(parse_playbook(&at("play.yml")).unwrap_err().message);
        utf8(Inventory::load(&[at("hosts.yml")]).unwrap_err().message);
        utf8(Inventory::load(&[at("hosts")]).unwrap_err().message);
        let vars = minijinja::Value::from_serialize(serde_json::json!({}));
        utf8(quayside::tasks::render_file(&at("t.j2"), "t.j2", &vars).unwrap_err());
    }
}

/// One change to an input.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBit {
        at: usize,
        bit: u8,
    },
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    Delete {
        at: usize,
        len: usize,
    },
    /// A piece of another corpus file, put in at `at`.
    Splice {
        from: usize,
        start: usize,
        len: usize,
        at: usize,
    },
    Truncate {
        at: usize,
    },
}

impl Mutation {
    fn apply(&self, bytes: &mut Vec<u8>) {
        let place = |at: usize, len: usize| if len == 0 { 0 } else { at % (len + 1) };
        match self {
            Mutation::FlipBit { at, bit } => {
                if !bytes.is_empty() {
                    let at = at % bytes.len();
                    bytes[at] ^= 1 << (bit % 8);
                }
            }
            Mutation::Insert { at, bytes: new } => {
                let at = place(*at, bytes.len());
                bytes.splice(at..at, new.iter().copied());
            }
            Mutation::Delete { at, len } => {
                let at = place(*at, bytes.len());
                let end = (at + len).min(bytes.len());
                bytes.drain(at..end);
            }
            Mutation::Splice {
                from,
                start,
                len,
                at,
            } => {
                let other = &corpus()[from % corpus().len()].1;
                let start = place(*start, other.len());
                let end = (start + len).min(other.len());
                let at = place(*at, bytes.len());
                bytes.splice(at..at, other[start..end].iter().copied());
            }
            Mutation::Truncate { at } => {
                let at = place(*at, bytes.len());
                bytes.truncate(at);
            }
        }
    }
}

/// Pieces that mean something to one of the readers, some of them not UTF-8.
fn token() -> impl Strategy<Value = Vec<u8>> {
    let words: &[&[u8]] = &[
        b"- ",
        b": ",
        b"\n",
        b"  ",
        b"\t",
        b"hosts",
        b"tasks",
        b"all",
        b"children",
        b"vars",
        b"block",
        b"command",
        b"template_config",
        b"when",
        b"loop",
        b"[",
        b"]",
        b"{",
        b"}",
        b"&a ",
        b"*a",
        b"<<: ",
        b"!!binary ",
        b"? ",
        b"---\n",
        b"{{ x }}",
        b"{{",
        b"}}",
        b"{%",
        b"%}",
        b"{% for i in x %}",
        b"{% endfor %}",
        b"'",
        b"\"",
        b"=",
        b"[g]",
        b"[g:vars]",
        b"[g:children]",
        b"h[0:9]",
        b"\xef\xbb\xbf",
        b"\xff",
        b"\xe2\x82",
        b"\xc0\xaf",
        b"\x00",
        b"\r\n",
    ];
    prop_oneof![
        proptest::sample::select(words).prop_map(<[u8]>::to_vec),
        "[a-z0-9_]{1,8}".prop_map(String::into_bytes),
        any::<String>().prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 1..4),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        (any::<usize>(), token()).prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), 1..64usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), any::<usize>(), 1..256usize, any::<usize>()).prop_map(
            |(from, start, len, at)| Mutation::Splice {
                from,
                start,
                len,
                at
            }
        ),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn loaders_never_panic_on_mutations_of_the_corpus(
        index in any::<usize>(),
        mutations in proptest::collection::vec(mutation(), 1..8),
    ) {
        let mut bytes = corpus()[index % corpus().len()].1.clone();
        for mutation in &mutations {
            mutation.apply(&mut bytes);
        }
        check(&bytes).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn loaders_never_panic_on_token_soup(tokens in proptest::collection::vec(token(), 0..40)) {
        check(&tokens.concat()).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn loaders_never_panic_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        check(&bytes).map_err(TestCaseError::fail)?;
    }
}
