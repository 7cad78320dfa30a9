//! The loaders under random and hostile input: the YAML reader, the playbook parser, the
//! inventory reader (YAML and INI) and the template renderer never panic, and answer
//! quickly. A short proptest pass runs with every test run; `CORPUS` keeps inputs that
//! once mattered, and proptest keeps any failing case it finds in `proptest-regressions/`.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use quayside::inventory::Inventory;
use quayside::playbook::parse_playbook;
use quayside::yaml::{Span, load_str};

/// Inputs worth keeping: each once broke a YAML or template reader somewhere.
const CORPUS: &[&str] = &[
    "",
    "- hosts: all\n  tasks:\n    - command: ls\n",
    "a: &a [*a]\n",
    "a: &a {b: *a}\n",
    "- &x\n  - *x\n",
    "{{",
    "{% for %}",
    "{{ 1/0 }}",
    "{{ x | default( }}",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    "a: !!binary ////\n",
    "? [a, b]\n: c\n",
    "- hosts: all\n  tasks:\n    - block:\n        - block:\n            - debug: {}\n",
    "[all]\nhost ansible_port=notanumber\n",
    "[g:children]\ng\n",
    "all:\n  children:\n    a:\n      children:\n        a: {}\n",
    "\u{feff}- hosts: all\n",
    "- hosts: all\n  tasks:\n    - import_tasks: play.yml\n",
];

/// Text that looks like YAML, INI and templates often enough to reach deep into the parsers.
fn yamlish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("- ".to_owned()),
        Just(": ".to_owned()),
        Just("\n".to_owned()),
        Just("  ".to_owned()),
        Just("hosts".to_owned()),
        Just("tasks".to_owned()),
        Just("all".to_owned()),
        Just("children".to_owned()),
        Just("vars".to_owned()),
        Just("block".to_owned()),
        Just("command".to_owned()),
        Just("when".to_owned()),
        Just("loop".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("&a ".to_owned()),
        Just("*a".to_owned()),
        Just("{{ x }}".to_owned()),
        Just("{%".to_owned()),
        Just("'".to_owned()),
        Just("\"".to_owned()),
        Just("=".to_owned()),
        Just("[g]".to_owned()),
        "[a-z0-9_]{1,8}",
        any::<String>(),
    ];
    proptest::collection::vec(token, 0..40).prop_map(|tokens| tokens.concat())
}

/// Every loader on one input: none may panic, and none may take long.
fn load_everything(text: &str) {
    let started = Instant::now();
    let _ = load_str("fuzz.yml", text);
    let dir = tempfile::tempdir().unwrap();
    for name in ["play.yml", "hosts.yml", "hosts"] {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let _ = parse_playbook(&dir.path().join("play.yml"));
    let _ = Inventory::load(&[dir.path().join("hosts.yml")]);
    let _ = Inventory::load(&[dir.path().join("hosts")]);
    let ctx = minijinja::Value::from_serialize(serde_json::json!({"x": [1, 2], "y": "z"}));
    let _ = quayside::template::render_str(text, &Span::synthetic("fuzz"), &ctx);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?} on {text:?}",
        started.elapsed()
    );
}

#[test]
fn the_corpus_loads_without_panic() {
    for text in CORPUS {
        load_everything(text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn loaders_never_panic_on_yamlish_text(text in yamlish()) {
        load_everything(&text);
    }

    #[test]
    fn loaders_never_panic_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        load_everything(&String::from_utf8_lossy(&bytes));
    }
}
