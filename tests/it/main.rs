//! jobd's one integration-test binary: one file per feature, helpers in
//! `helper`.

// Tests wait on their own children (`jobd` runs, the daemon under test);
// the ban in clippy.toml is for the daemon's code.
#![allow(clippy::disallowed_methods)]

mod calendar_cli;
mod calendar_oracle;
mod conditions;
mod config_errors;
mod daemon;
mod ecosystem;
mod everyday;
mod faults;
mod helper;
mod import;
mod journal;
mod lifecycle;
mod resources;
mod schema;
mod supervise;
mod unbreakable;
