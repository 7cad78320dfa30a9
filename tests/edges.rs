//! The edges of a run, tried as a hostile or unlucky user would (issue 16): bad options,
//! huge lines, files that never end, secrets in every form YAML can write them.

use crate::common::Test;

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
