//! `jobd check`: validate a config file without a daemon.

use super::{Outcome, PathArgs};
use crate::config::{self, Env};
use crate::tzdb::SystemZones;

pub fn run(paths: &PathArgs) -> Outcome {
    let path = paths.config();
    match config::load(&path, &SystemZones::from_env(), &Env::from_process()) {
        Ok(c) => {
            println!("ok: {} jobs", c.jobs.len());
            Outcome::Success
        }
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("{e}");
            }
            Outcome::Failed
        }
    }
}
