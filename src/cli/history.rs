//! `jobd history NAME`: the job's last runs, newest first.

use super::{Outcome, PathArgs, failed};
use crate::calendar::ZoneSource as _;
use crate::calendar::{timespan, timestamp};
use crate::ipc::Request;
use crate::lifecycle::JobState;
use crate::run::ExitStatus;
use crate::state::Run;
use crate::tzdb::SystemZones;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The job.
    name: String,
    /// How many runs to show.
    #[arg(short = 'n', long = "lines", default_value_t = 20, value_name = "N")]
    n: usize,
    /// One JSON array, newest run first.
    #[arg(long)]
    json: bool,
}

pub fn status_text(s: Option<&ExitStatus>) -> String {
    s.map_or_else(|| "-".into(), ToString::to_string)
}

pub fn run(paths: &PathArgs, args: &Args) -> Outcome {
    let req = Request::History {
        name: args.name.clone(),
        n: args.n,
    };
    let runs: Vec<Run> = match paths.connect().and_then(|mut c| c.call(req)) {
        Ok(r) => r,
        Err(e) => return failed(&e),
    };
    let zones = SystemZones::from_env();
    if args.json {
        let rows: Vec<serde_json::Value> = runs
            .iter()
            .map(|r| {
                serde_json::json!({
                    "invocation": r.invocation,
                    "start": timestamp::format_rfc3339(r.start_usec, zones.local()),
                    "start_usec": r.start_usec,
                    "duration_usec": r.end_usec.map(|e| e - r.start_usec),
                    "result": r.result,
                    "exit_status": r.exit_status,
                    "trigger": r.trigger,
                    "pid": r.pid,
                    "reason": r.reason,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return Outcome::Success;
    }
    let mut rows = vec![
        [
            "INVOCATION",
            "START",
            "DURATION",
            "RESULT",
            "STATUS",
            "TRIGGER",
        ]
        .map(String::from),
    ];
    for r in &runs {
        rows.push([
            r.invocation.clone(),
            timestamp::format(r.start_usec, zones.local()),
            r.end_usec.map_or_else(
                || "-".into(),
                |e| timespan::format_usec(u64::try_from(e - r.start_usec).unwrap_or(0), 1000),
            ),
            r.result.map_or_else(
                || {
                    if r.end_usec.is_none() {
                        JobState::Running.to_string()
                    } else {
                        "-".to_owned()
                    }
                },
                |x| x.to_string(),
            ),
            status_text(r.exit_status.as_ref()),
            r.trigger.to_string(),
        ]);
    }
    print!("{}", super::list::table(&rows));
    Outcome::Success
}
