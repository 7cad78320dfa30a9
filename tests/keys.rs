//! `generate_key` and `quayside keygen`: Quay's service key pair, byte for byte in layout.

use std::os::unix::fs::PermissionsExt;

use crate::common::Test;

#[test]
fn keygen_prints_what_quays_script_prints() {
    let test = Test::new().args(&["keygen", "quay-readonly"]);
    let output = test.run();
    assert_eq!(output.code, 0, "{output:?}");
    assert_eq!(
        output.stdout,
        "Writing public key to quay-readonly.jwk\nWriting key ID to quay-readonly.kid\nWriting private key to quay-readonly.pem\n"
    );
    let kid = std::fs::read_to_string(test.path().join("quay-readonly.kid")).unwrap();
    assert_eq!(kid.len(), 43);
    let jwk = std::fs::read_to_string(test.path().join("quay-readonly.jwk")).unwrap();
    assert!(jwk.ends_with(&format!(r#","e":"AQAB","kty":"RSA","kid":"{kid}"}}"#)));
    let pem = test.path().join("quay-readonly.pem");
    assert_eq!(
        std::fs::metadata(&pem).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // A second run refuses to replace the key.
    let again = test.run();
    assert_eq!(again.code, 1);
    assert_eq!(
        again.stderr,
        "error: a key named `quay-readonly` already exists in `.`; use `--force` to replace it\n"
    );
    assert_eq!(
        std::fs::read_to_string(test.path().join("quay-readonly.kid")).unwrap(),
        kid
    );
}

#[test]
fn generate_key_is_idempotent_and_never_shows_the_private_key() {
    let test = Test::new().file(
        "play.yml",
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - generate_key:
                name: quay-readonly
                dest: keys
              register: key
            - debug:
                var: key
            - assert:
                that:
                  - key.kid | length == 43
                  - key.pem_path == 'keys/quay-readonly.pem'
                  - (key.jwk | from_json).kid == key.kid
        ",
    );
    let test = test.args(&["run", "play.yml", "-v", "--output", "json"]);
    let first = test.run();
    assert_eq!(first.code, 0, "{first:?}");
    let pem = std::fs::read_to_string(test.path().join("keys/quay-readonly.pem")).unwrap();
    let body = pem.lines().nth(1).unwrap();
    assert!(
        !first.stdout.contains(body),
        "private key leaked: {}",
        first.stdout
    );
    assert!(!first.stdout.contains("PRIVATE KEY"), "{}", first.stdout);
    let statuses: Vec<String> = first
        .events()
        .iter()
        .filter(|e| e["event"] == "host_result")
        .map(|e| e["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["changed", "ok", "ok"]);
    let second = test.run();
    assert_eq!(second.code, 0);
    let statuses: Vec<String> = second
        .events()
        .iter()
        .filter(|e| e["event"] == "host_result")
        .map(|e| e["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["ok", "ok", "ok"]);
    assert_eq!(
        std::fs::read_to_string(test.path().join("keys/quay-readonly.pem")).unwrap(),
        pem
    );
}
