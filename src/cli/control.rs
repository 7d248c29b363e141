//! `run-now`, `start`, `stop`, `restart`, `reload`: commands that change
//! what the daemon does.

use super::{Outcome, PathArgs, failed};
use crate::calendar::timespan;
use crate::ipc::{Answered, ReloadReport, Request};
use crate::lifecycle::{Answer, RunEnd};
use crate::run::RunResult;

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

/// Prints the first answer to a start; false if the start failed.
fn print_started(a: &Answered) -> bool {
    let name = &a.name;
    match &a.answer {
        Answer::Started { pid, invocation } => {
            println!("Started {name} (pid {pid}, invocation {invocation})");
            true
        }
        Answer::AlreadyRunning { pid, invocation } => {
            let pid = pid.map_or("?".into(), |p| p.to_string());
            println!(
                "{name} is already running (pid {pid}, invocation {invocation}); nothing started"
            );
            true
        }
        Answer::StartFailed { reason, .. } => {
            eprintln!("jobd: failed to start {name}: {reason}");
            false
        }
        Answer::Restarting { .. } => {
            println!("Restarting {name}: stopping the running process, then starting it again");
            true
        }
        Answer::NotRunning | Answer::Ended(_) => true,
    }
}

fn describe_end(name: &str, e: &RunEnd) -> String {
    let status = super::history::status_text(e.exit_status.as_ref());
    let took = timespan::format_usec(e.duration_usec, 1000);
    match &e.reason {
        Some(r) => format!("{name} finished: result {} ({r})", e.result),
        None => format!(
            "{name} finished: result {}, status {status}, after {took}",
            e.result
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
    let first: Answered = match client.call(req) {
        Ok(s) => s,
        Err(e) => return failed(&e),
    };
    let ok = print_started(&first);
    if let (true, Answer::StartFailed { reason, .. }) = (args.wait, &first.answer) {
        // Answered once: the run never began.
        println!(
            "{} finished: result {} ({reason})",
            first.name,
            RunResult::StartFailed
        );
        return Outcome::Failed;
    }
    if !args.wait {
        return if ok {
            Outcome::Success
        } else {
            Outcome::Failed
        };
    }
    let last: Answered = match client.recv() {
        Ok(f) => f,
        Err(e) => return failed(&e),
    };
    match &last.answer {
        Answer::Ended(end) => {
            println!("{}", describe_end(&last.name, end));
            if end.result == RunResult::Success {
                Outcome::Success
            } else {
                Outcome::Failed
            }
        }
        _ => Outcome::Failed,
    }
}

/// `start` and `restart`: one answer.
fn start_like(paths: &PathArgs, req: Request) -> Outcome {
    match paths.connect().and_then(|mut c| c.call::<Answered>(req)) {
        Ok(a) if print_started(&a) => Outcome::Success,
        Ok(_) => Outcome::Failed,
        Err(e) => failed(&e),
    }
}

pub fn start(paths: &PathArgs, name: &str) -> Outcome {
    start_like(paths, Request::Start { name: name.into() })
}

pub fn stop(paths: &PathArgs, name: &str) -> Outcome {
    let req = Request::Stop { name: name.into() };
    match paths.connect().and_then(|mut c| c.call::<Answered>(req)) {
        Ok(a) => {
            match &a.answer {
                Answer::Ended(end) => println!("Stopped {name}: {}", describe_end(name, end)),
                _ => println!("Stopped {name} (it was not running)"),
            }
            Outcome::Success
        }
        Err(e) => failed(&e),
    }
}

pub fn restart(paths: &PathArgs, name: &str) -> Outcome {
    start_like(paths, Request::Restart { name: name.into() })
}

pub fn reload(paths: &PathArgs) -> Outcome {
    match paths
        .connect()
        .and_then(|mut c| c.call::<ReloadReport>(Request::Reload))
    {
        Ok(r) => {
            let mut any = false;
            for (what, list) in r.parts() {
                println!("{what}: {}", list.join(", "));
                any = true;
            }
            if !any {
                println!("Reloaded: no changes");
            }
            Outcome::Success
        }
        Err(crate::ipc::client::ClientError::Refused {
            code: crate::ipc::ErrorCode::Failed,
            message,
        }) => {
            // The file's errors, once each, as `jobd check` prints them.
            eprintln!("jobd: reload refused; the running config is kept:");
            for line in message.lines() {
                eprintln!("{line}");
            }
            Outcome::Failed
        }
        Err(e) => failed(&e),
    }
}
