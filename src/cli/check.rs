//! `jobd check`: validate a config file without a daemon.

use super::{Outcome, PathArgs};
use crate::config::{self, Env};
use crate::tzdb::SystemZones;

pub fn run(paths: &PathArgs) -> Outcome {
    let path = paths.config();
    match config::load(&path, &SystemZones::from_env(), &Env::from_process()) {
        Ok(c) => {
            for w in warnings(&c) {
                eprintln!("{}: warning: {w}", path.display());
            }
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

/// What the file asks for that this machine cannot give: the jobs still
/// run, without it.
fn warnings(c: &config::Config) -> Vec<String> {
    let mut out = Vec::new();
    for job in &c.jobs {
        for l in job.limits.files() {
            if let Some(why) = crate::supervise::scope::machine_lacks(l.controller) {
                out.push(format!(
                    "{}: {}: {} cannot be applied: {why}; the job runs without it",
                    job.name, l.key, l.shown
                ));
            }
        }
        if !job.inhibit.is_empty() && crate::supervise::helper("systemd-inhibit").is_none() {
            out.push(format!(
                "{}: inhibit needs systemd-inhibit (part of systemd) in PATH; the job runs without an inhibitor",
                job.name
            ));
        }
    }
    out
}
