//! `quayside keygen`: Quay's service key pair, as Quay's `generatekeypair.py` writes it.

use std::io::Write;

use super::{Failure, exit};
use crate::diagnostic::Diagnostic;

pub fn keygen(args: &crate::cli::KeygenArgs, out: &mut dyn Write) -> Result<i32, Failure> {
    use crate::keypair::{self, KeyFiles, KeyPair};
    let fail = |message: String| Failure {
        diagnostic: Diagnostic::new(message),
        code: 1,
    };
    if args.name.is_empty() || args.name.contains('/') {
        return Err(Failure::options(Diagnostic::new(format!(
            "the key name must be a file name without `/`, found `{}`",
            args.name
        ))));
    }
    // As Quay's script, files are named relative to the directory as given.
    let dir = if args.dir == std::path::Path::new(".") {
        std::path::PathBuf::new()
    } else {
        args.dir.clone()
    };
    let files = KeyFiles::new(&dir, &args.name);
    if files.any_exist() && !args.force {
        return Err(fail(format!(
            "a key named `{}` already exists in `{}`; use `--force` to replace it",
            args.name,
            args.dir.display()
        )));
    }
    if !dir.as_os_str().is_empty() {
        std::fs::create_dir_all(&dir)
            .map_err(|error| fail(format!("cannot create `{}`: {error}", dir.display())))?;
    }
    let pair = KeyPair::generate().map_err(|error| fail(error.to_string()))?;
    let lines = keypair::announce(&files);
    keypair::write_files(&files, &pair).map_err(|error| fail(error.to_string()))?;
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
    Ok(exit::OK)
}
