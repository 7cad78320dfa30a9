//! Integration tests: every test runs the real `quayside` binary.

mod common;

mod cli;
mod engine;
mod errors;
mod inventory;
mod sql;
