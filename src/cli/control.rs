//! `run-now`, `start`, `stop`, `restart`, `reload`: commands that change
//! what the daemon does.

use super::{Outcome, PathArgs, failed};
use crate::calendar::timespan;
use crate::ipc::{Finished, ReloadReport, Request, Started};

#[derive(Debug, clap::Args)]
pub struct NameArg {
    /// The job.
    pub name: String,
}

#[derive(Debug, clap::Args)]
pub struct RunNowArgs {
    /// The job.
    name: String,
    /// Wait for the run to end; exit 0 on success, 1 otherwise.
    #[arg(long)]
    wait: bool,
}

fn print_started(s: &Started) -> bool {
    if let Some(reason) = &s.error {
        eprintln!("jobd: failed to start {}: {reason}", s.name);
        return false;
    }
    let pid = s.pid.map_or("?".into(), |p| p.to_string());
    let inv = s.invocation.as_deref().unwrap_or("?");
    if s.already_running {
        println!(
            "{} is already running (pid {pid}, invocation {inv}); nothing started",
            s.name
        );
    } else {
        println!("Started {} (pid {pid}, invocation {inv})", s.name);
    }
    true
}

fn describe_finished(f: &Finished) -> String {
    let status = super::history::status_text(f.exit_status.as_ref());
    let took = timespan::format_usec(u64::try_from(f.duration_usec).unwrap_or(0), 1000);
    match &f.reason {
        Some(r) => format!("{} finished: result {} ({r})", f.name, f.result),
        None => format!(
            "{} finished: result {}, status {status}, after {took}",
            f.name, f.result
        ),
    }
}

pub fn run_now(paths: &PathArgs, args: &RunNowArgs) -> Outcome {
    let mut client = match paths.connect() {
        Ok(c) => c,
        Err(e) => return failed(&e),
    };
    let req = Request::RunNow {
        name: args.name.clone(),
        wait: args.wait,
    };
    let started: Started = match client.call(req) {
        Ok(s) => s,
        Err(e) => return failed(&e),
    };
    let ok = print_started(&started);
    if !args.wait {
        return if ok {
            Outcome::Success
        } else {
            Outcome::Failed
        };
    }
    let finished: Finished = match client.recv() {
        Ok(f) => f,
        Err(e) => return failed(&e),
    };
    println!("{}", describe_finished(&finished));
    if finished.result == "success" {
        Outcome::Success
    } else {
        Outcome::Failed
    }
}

pub fn start(paths: &PathArgs, name: &str) -> Outcome {
    let req = Request::Start { name: name.into() };
    match paths.connect().and_then(|mut c| c.call::<Started>(req)) {
        Ok(s) if print_started(&s) => Outcome::Success,
        Ok(_) => Outcome::Failed,
        Err(e) => failed(&e),
    }
}

pub fn stop(paths: &PathArgs, name: &str) -> Outcome {
    let req = Request::Stop { name: name.into() };
    match paths
        .connect()
        .and_then(|mut c| c.call::<serde_json::Value>(req))
    {
        Ok(v) => {
            match serde_json::from_value::<Finished>(v) {
                Ok(f) => println!("Stopped {name}: {}", describe_finished(&f)),
                Err(_) => println!("Stopped {name} (it was not running)"),
            }
            Outcome::Success
        }
        Err(e) => failed(&e),
    }
}

pub fn restart(paths: &PathArgs, name: &str) -> Outcome {
    let req = Request::Restart { name: name.into() };
    match paths.connect().and_then(|mut c| c.call::<Started>(req)) {
        Ok(s) if s.already_running && s.error.is_none() => {
            println!("Restarting {name}: stopping the running process, then starting it again");
            Outcome::Success
        }
        Ok(s) if print_started(&s) => Outcome::Success,
        Ok(_) => Outcome::Failed,
        Err(e) => failed(&e),
    }
}

pub fn reload(paths: &PathArgs) -> Outcome {
    match paths
        .connect()
        .and_then(|mut c| c.call::<ReloadReport>(Request::Reload))
    {
        Ok(r) => {
            if r.added.is_empty() && r.removed.is_empty() && r.changed.is_empty() {
                println!("Reloaded: no changes");
            } else {
                for (what, list) in [
                    ("added", &r.added),
                    ("removed", &r.removed),
                    ("changed", &r.changed),
                ] {
                    if !list.is_empty() {
                        println!("{what}: {}", list.join(", "));
                    }
                }
            }
            Outcome::Success
        }
        Err(e) => failed(&e),
    }
}
