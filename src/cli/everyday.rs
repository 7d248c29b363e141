//! `disable`, `enable`, the environment verbs, `next` and `metrics`.

use super::{Outcome, PathArgs, failed, print_json};
use crate::calendar::{MktimeState, ZoneSource as _, timestamp};
use crate::ipc::{EnvironmentInfo, JobInfo, NextElapse, Request};
use crate::tzdb::SystemZones;

/// Sends `req` and gives back the reply, or the outcome of a failure.
fn call<T: serde::de::DeserializeOwned>(paths: &PathArgs, req: Request) -> Result<T, Outcome> {
    let mut client = paths.connect().map_err(|e| failed(&e))?;
    client.call(req).map_err(|e| failed(&e))
}

pub fn disable(paths: &PathArgs, name: &str) -> Outcome {
    match call::<JobInfo>(
        paths,
        Request::Disable {
            name: name.to_owned(),
        },
    ) {
        Ok(j) => {
            println!(
                "Disabled {}: no schedule and no restarts until `jobd enable {}` (kept across restarts and reloads){}",
                j.name,
                j.name,
                if j.pid.is_some() {
                    "; the run in progress goes on"
                } else {
                    ""
                }
            );
            Outcome::Success
        }
        Err(o) => o,
    }
}

pub fn enable(paths: &PathArgs, name: &str) -> Outcome {
    match call::<JobInfo>(
        paths,
        Request::Enable {
            name: name.to_owned(),
        },
    ) {
        Ok(j) => {
            let file = if j.enabled {
                ""
            } else {
                " (its file says enabled: false)"
            };
            println!(
                "Enabled {}: back to what the config file says{file}",
                j.name
            );
            Outcome::Success
        }
        Err(o) => o,
    }
}

#[derive(Debug, clap::Args)]
pub struct SetArgs {
    /// VAR=VALUE pairs.
    #[arg(required = true, value_name = "VAR=VALUE")]
    pub vars: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct NamesArgs {
    /// Variable names.
    #[arg(value_name = "VAR")]
    pub names: Vec<String>,
}

/// What `import-environment` takes without names: what desktop jobs need
/// (`notify-send`, a PATH with `~/.local/bin`, the SSH agent).
const SESSION_VARS: &[&str] = &[
    "PATH",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XDG_SESSION_TYPE",
    "SSH_AUTH_SOCK",
    "DBUS_SESSION_BUS_ADDRESS",
];

pub fn set_environment(paths: &PathArgs, args: &SetArgs) -> Outcome {
    let mut vars = Vec::new();
    for a in &args.vars {
        let Some((k, v)) = a.split_once('=') else {
            eprintln!("jobd: {a:?} is not VAR=VALUE");
            return Outcome::Usage;
        };
        vars.push((k.to_owned(), v.to_owned()));
    }
    environment_reply(call(paths, Request::SetEnvironment { vars }))
}

pub fn unset_environment(paths: &PathArgs, args: &NamesArgs) -> Outcome {
    if args.names.is_empty() {
        eprintln!("jobd: name the variables to unset");
        return Outcome::Usage;
    }
    let names = args.names.clone();
    environment_reply(call(paths, Request::UnsetEnvironment { names }))
}

/// `import-environment`: the caller's own values, sent to the daemon.
pub fn import_environment(paths: &PathArgs, args: &NamesArgs) -> Outcome {
    let names: Vec<String> = if args.names.is_empty() {
        SESSION_VARS.iter().map(|s| (*s).to_owned()).collect()
    } else {
        args.names.clone()
    };
    let mut vars = Vec::new();
    for n in &names {
        match std::env::var(n) {
            Ok(v) => vars.push((n.clone(), v)),
            Err(_) if args.names.is_empty() => {}
            Err(_) => eprintln!("jobd: {n} is not set here; not imported"),
        }
    }
    environment_reply(call(paths, Request::SetEnvironment { vars }))
}

fn environment_reply(r: Result<EnvironmentInfo, Outcome>) -> Outcome {
    match r {
        Ok(info) => {
            if info.set.is_empty() {
                println!("No variables set for jobs beyond the daemon's environment.");
            } else {
                println!("Set for every run: {}", info.set.join(" "));
            }
            Outcome::Success
        }
        Err(o) => o,
    }
}

pub fn show_environment(paths: &PathArgs) -> Outcome {
    match call::<EnvironmentInfo>(paths, Request::ShowEnvironment) {
        Ok(info) => {
            for (k, v) in &info.vars {
                println!("{k}={v}");
            }
            Outcome::Success
        }
        Err(o) => o,
    }
}

#[derive(Debug, clap::Args)]
pub struct NextArgs {
    /// Only these jobs.
    pub names: Vec<String>,
    /// How many elapses.
    #[arg(short = 'n', default_value_t = 20)]
    pub n: usize,
    /// None after this time (systemd's timestamp syntax, or @EPOCH).
    #[arg(long, value_name = "TS")]
    pub until: Option<String>,
    /// One JSON array of {job, time, schedule}.
    #[arg(long)]
    pub json: bool,
}

pub fn next(paths: &PathArgs, args: &NextArgs) -> Outcome {
    let zones = SystemZones::from_env();
    let now = crate::tzdb::now_usec();
    let until = match &args.until {
        None => None,
        Some(ts) => match timestamp::parse(ts, now, &zones, &mut MktimeState::default()) {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("jobd: --until: {e}");
                return Outcome::Usage;
            }
        },
    };
    let req = Request::Next {
        names: args.names.clone(),
        n: args.n,
        until_usec: until,
    };
    let list: Vec<NextElapse> = match call(paths, req) {
        Ok(l) => l,
        Err(o) => return o,
    };
    if args.json {
        let plain: Vec<serde_json::Value> = list
            .iter()
            .map(|e| serde_json::json!({"job": e.job, "time": e.time, "schedule": e.schedule}))
            .collect();
        return print_json(&plain);
    }
    let mut rows = vec![["TIME", "LEFT", "JOB", "SCHEDULE"].map(String::from)];
    for e in &list {
        let t = e.usec.unwrap_or(now);
        rows.push([
            timestamp::format(t, zones.local()),
            timestamp::format_relative(t, now),
            e.job.clone(),
            e.schedule.clone(),
        ]);
    }
    print!("{}", super::list::table(&rows));
    println!("\n{} elapses listed.", list.len());
    Outcome::Success
}

pub fn metrics(paths: &PathArgs) -> Outcome {
    match call::<String>(paths, Request::Metrics) {
        Ok(text) => {
            print!("{text}");
            Outcome::Success
        }
        Err(o) => o,
    }
}
