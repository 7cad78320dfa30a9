//! Integration tests: every test runs the real `quayside` binary.

mod common;

mod bundle;
mod cli;
mod drift;
mod engine;
mod errors;
mod faults;
mod files;
mod fuzz;
mod hostile;
mod inventory;
mod keys;
mod labs;
mod limits;
mod modules_files;
mod plans;
mod podman;
mod progress;
mod quay;
mod signals;
mod sql;
mod ssh;
mod standin;
mod vault;
