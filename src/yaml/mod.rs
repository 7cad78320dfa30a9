//! YAML documents as trees of spanned nodes.
//!
//! Every file a user writes (playbooks, inventories, `vars_files`, `group_vars`) is read
//! into a [`Node`] tree in which each value knows the file, line and column it came from.
//! Typed structures are then read out of the tree with [`from_node`], so that any error,
//! however deep, points at the user's text.
//!
//! The parser is `serde-saphyr`: it is maintained, it reports positions for every value
//! through its `Spanned` wrapper, it rejects duplicate keys, and its budget stops alias
//! bombs and runaway nesting before they cost time or memory.

mod de;
mod node;

pub use de::{DeError, from_node, from_node_lenient, is_template, parse_bool};
pub use node::{Node, Value, resolve_plain};

use std::path::Path;
use std::sync::Arc;

use crate::diagnostic::Diagnostic;
use crate::source::SourceFile;

/// Read and parse a YAML file, decrypting it first if it is vaulted whole (its
/// `SourceFile` is then `secret`, and variables read from it are secrets).
pub fn load_file(path: &Path) -> Result<Node, Diagnostic> {
    parse(crate::vault::read_source(path)?)
}

/// Parse YAML text that did not come from a file (extra vars given on the command line).
pub fn load_str(name: &str, text: &str) -> Result<Node, Diagnostic> {
    parse(Arc::new(SourceFile::new(name, text.to_owned())))
}

fn parse(source: Arc<SourceFile>) -> Result<Node, Diagnostic> {
    node::parse(source)
}
