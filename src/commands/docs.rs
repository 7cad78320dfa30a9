//! `quayside completions` and `quayside man`, generated from the command-line definitions.

use std::io::Write;

use super::{Failure, exit};
use crate::diagnostic::Diagnostic;

pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> Result<i32, Failure> {
    let mut command = <crate::cli::Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut command, "quayside", out);
    Ok(exit::OK)
}

/// The manual: quayside(1) with the list of subcommands, then a page per subcommand with
/// every option it takes (as `man` shows several pages read from one input, one after the
/// other); or, given a subcommand's name, only its page.
pub fn man(only: Option<&str>, out: &mut dyn Write) -> Result<i32, Failure> {
    let mut root =
        <crate::cli::Cli as clap::CommandFactory>::command().disable_help_subcommand(true);
    // Building names each subcommand as its page is titled (`quayside-run`).
    root.build();
    let subcommands: Vec<clap::Command> = root
        .get_subcommands()
        .filter(|command| !command.is_hide_set())
        .cloned()
        .collect();
    let pages: Vec<clap::Command> = match only {
        None => std::iter::once(root.clone()).chain(subcommands).collect(),
        Some(name) => {
            let page = subcommands
                .iter()
                .find(|command| command.get_name() == name)
                .cloned();
            match page {
                Some(page) => vec![page],
                None => {
                    let names: Vec<&str> = subcommands.iter().map(|c| c.get_name()).collect();
                    let mut message = format!("no subcommand is named `{name}`");
                    if let Some(suggestion) =
                        crate::diagnostic::did_you_mean(name, names.iter().copied())
                    {
                        message.push_str(&format!(" — did you mean `{suggestion}`?"));
                    }
                    return Err(Failure::options(
                        Diagnostic::new(message)
                            .with_hint(format!("the subcommands are: {}", names.join(", "))),
                    ));
                }
            }
        }
    };
    for page in pages {
        clap_mangen::Man::new(page).render(out).map_err(|error| {
            Failure::options(Diagnostic::new(format!("cannot write the manual: {error}")))
        })?;
    }
    Ok(exit::OK)
}
