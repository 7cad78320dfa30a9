//! What each subcommand does, given the parsed command line: one file a subcommand, and
//! what they share (exit codes, the failure that ends a command before it runs, the tokio
//! runtime, the signals a run watches).

mod docs;
mod drift;
mod keygen;
mod list;
mod list_modules;
mod run;
mod signals;
mod validate;
mod vault;

pub use docs::{completions, man};
pub use drift::drift;
pub use keygen::keygen;
pub use list::{list_hosts, list_tasks};
pub use list_modules::list_modules;
pub use run::run;
pub use validate::validate;
pub use vault::load_vault_passwords;

use crate::diagnostic::Diagnostic;
use crate::preflight::Refusal;

/// Exit codes, as `ansible-playbook` uses them.
pub mod exit {
    pub const OK: i32 = 0;
    pub const PARSE: i32 = 4;
    pub const OPTIONS: i32 = 5;
    pub const INTERRUPTED: i32 = 99;
}

/// An error that ends a command before it runs, with its exit code.
#[derive(Debug)]
pub struct Failure {
    pub diagnostic: Diagnostic,
    pub code: i32,
}

impl Failure {
    pub(crate) fn parse(diagnostic: Diagnostic) -> Self {
        Self {
            diagnostic,
            code: exit::PARSE,
        }
    }

    pub(crate) fn options(diagnostic: Diagnostic) -> Self {
        Self {
            diagnostic,
            code: exit::OPTIONS,
        }
    }
}

impl From<Refusal> for Failure {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Input(diagnostic) => Failure::parse(diagnostic),
            Refusal::Option(diagnostic) => Failure::options(diagnostic),
        }
    }
}

/// The one tokio runtime a command that reaches hosts (`run`, `drift`) runs on.
fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| {
            Failure::options(Diagnostic::new(format!(
                "cannot start the runtime: {error}"
            )))
        })
}
