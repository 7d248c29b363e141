//! `jobd check`: validate a config file without a daemon.

use super::{Outcome, PathArgs};
use crate::config::{self, Env};
use crate::tzdb::SystemZones;

pub fn run(paths: &PathArgs) -> Outcome {
    let path = paths.config();
    match config::load(&path, &SystemZones::from_env(), &Env::from_process()) {
        Ok(c) => {
            for w in warnings(&c)
                .into_iter()
                .chain(daemon_path_warnings(paths, &c))
            {
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

/// Against a running daemon: commands this shell finds in its `PATH` and
/// the daemon will not (the user manager's `PATH` is not the login
/// shell's), resolved as the daemon will resolve them.
fn daemon_path_warnings(paths: &PathArgs, c: &config::Config) -> Vec<String> {
    let Ok(mut client) = paths.connect() else {
        return Vec::new();
    };
    let Ok(env) = client.call::<crate::ipc::EnvironmentInfo>(crate::ipc::Request::ShowEnvironment)
    else {
        return Vec::new();
    };
    let daemon_path = env
        .vars
        .iter()
        .find(|(k, _)| k == "PATH")
        .map_or_else(String::new, |(_, v)| v.clone());
    let shell_path = std::env::var("PATH").unwrap_or_default();
    let mut out = Vec::new();
    for job in &c.jobs {
        let Some(cmd) = job.argv.first().filter(|a| !a.contains('/')) else {
            continue;
        };
        let own = job.env_var("PATH");
        let theirs = own.unwrap_or(&daemon_path);
        let ours = own.unwrap_or(&shell_path);
        if crate::supervise::search(cmd, theirs.as_ref()).is_some() {
            continue;
        }
        if let Some(found) = crate::supervise::search(cmd, ours.as_ref()) {
            out.push(format!(
                "{}: `{cmd}` is {} for this shell but not on the daemon's PATH ({theirs}); give its absolute path, set the job's environment: {{PATH: …}}, or run `jobd import-environment PATH`",
                job.name,
                found.display()
            ));
        }
    }
    out
}
