//! Integration tests: every test runs the real `quayside` binary.

mod common;

mod ansible_cfg;
mod bundle;
mod bundle_faults;
mod cli;
mod drift;
mod edges;
mod engine;
mod errors;
mod facts;
mod faults;
mod files;
mod filters;
mod fuzz;
mod hostile;
mod inventory;
mod keys;
mod keywords;
mod labs;
mod limits;
mod modules_files;
mod modules_system;
mod plans;
mod plugins;
mod podman;
mod progress;
mod quay;
mod roles;
mod signals;
mod sql;
mod ssh;
mod standin;
mod vault;
