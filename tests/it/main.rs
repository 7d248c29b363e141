//! jobd's one integration-test binary: one file per feature, helpers in
//! `helper`.

mod calendar_cli;
mod calendar_oracle;
mod config_errors;
mod daemon;
mod helper;
mod supervise;
