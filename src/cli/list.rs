//! `jobd list`: one row a job, like `systemctl list-timers`, or `--json`.

use super::{Outcome, PathArgs, failed};
use crate::calendar::ZoneSource as _;
use crate::calendar::timestamp;
use crate::ipc::{JobInfo, Request};
use crate::tzdb::SystemZones;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// One JSON array of job objects.
    #[arg(long)]
    json: bool,
}

pub fn run(paths: &PathArgs, args: &Args) -> Outcome {
    let mut client = match paths.connect() {
        Ok(c) => c,
        Err(e) => return failed(&e),
    };
    if let Err(e) = client.send(Request::List) {
        return failed(&e);
    }
    if args.json {
        // The daemon's array as it sent it: one line, nothing re-encoded.
        return match client.recv_raw() {
            Ok(raw) => {
                println!("{}", raw.get());
                Outcome::Success
            }
            Err(e) => failed(&e),
        };
    }
    let jobs: Vec<JobInfo> = match client.recv() {
        Ok(j) => j,
        Err(e) => return failed(&e),
    };
    let zones = SystemZones::from_env();
    let now = crate::tzdb::now_usec();
    let mut rows =
        vec![["NAME", "TYPE", "STATE", "NEXT", "LEFT", "LAST", "RESULT"].map(String::from)];
    for j in &jobs {
        let dash = || "-".to_owned();
        rows.push([
            j.name.clone(),
            j.kind.to_string(),
            match &j.state_reason {
                Some(r) => format!("{} ({r})", j.state),
                None => j.state.to_string(),
            },
            j.next_usec
                .map_or_else(dash, |t| timestamp::format(t, zones.local())),
            j.next_usec
                .map_or_else(dash, |t| timestamp::format_relative(t, now)),
            j.result_start_usec
                .map_or_else(dash, |t| timestamp::format_relative(t, now)),
            j.last_result.map_or_else(dash, |r| r.to_string()),
        ]);
    }
    print!("{}", table(&rows));
    println!("\n{} jobs listed.", jobs.len());
    Outcome::Success
}

/// Left-aligned columns two spaces apart, no trailing blanks.
pub fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (k, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if k + 1 < N {
                let pad = widths[k] - cell.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
