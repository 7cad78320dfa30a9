//! What the tests of keywords, compatibility and facts build again and again: a play run
//! on two local hosts, a refusal before anything ran, a recap compared whole.

use super::{Output, Test};

/// Hosts `a` and `b`, both reached locally.
pub const TWO_LOCAL_HOSTS: &str = "
    all:
      vars: {ansible_connection: local}
      hosts:
        a: {}
        b: {}
";

impl Test {
    /// A test that runs `play.yml` (added with [`Test::file`]) on [`TWO_LOCAL_HOSTS`]:
    /// `quayside run play.yml -i hosts.yml`.
    pub fn on_two_local_hosts() -> Self {
        Test::new()
            .file("hosts.yml", TWO_LOCAL_HOSTS)
            .args(&["run", "play.yml", "-i", "hosts.yml"])
    }

    /// `play` as `play.yml`, run on [`TWO_LOCAL_HOSTS`].
    pub fn play_on_two_local_hosts(play: &str) -> Self {
        Test::on_two_local_hosts().file("play.yml", play)
    }

    /// The run is refused before anything runs: exit 4, standard error holds each of
    /// `texts` (where it is written, what is wrong), and the file `ran`, which the play's
    /// first task would leave, is not there.
    #[track_caller]
    pub fn refused_before_running(&self, texts: &[&str]) -> Output {
        let mut output = self.run().status(4);
        for text in texts {
            output = output.stderr_contains(text);
        }
        self.ran_nothing();
        output
    }

    /// The file `ran`, which the play's first task would leave, is not there.
    #[track_caller]
    pub fn ran_nothing(&self) {
        assert!(!self.path().join("ran").exists(), "a task ran");
    }
}

impl Output {
    /// The recap line of the host `expected` starts with is `expected` (spaces folded).
    #[track_caller]
    pub fn recap_is(self, expected: &str) -> Self {
        let host = expected.split_whitespace().next().unwrap_or_default();
        assert_eq!(self.recap(host), expected);
        self
    }

    /// The recap line of each host is as `expected`, in order.
    #[track_caller]
    pub fn recaps_are(self, expected: &[&str]) -> Self {
        let got: Vec<String> = expected
            .iter()
            .map(|line| self.recap(line.split_whitespace().next().unwrap_or_default()))
            .collect();
        assert_eq!(got, expected);
        self
    }
}
