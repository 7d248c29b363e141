//! `jobd status NAME`: like `systemctl --user status`.

use std::fmt::Write as _;

use super::{Outcome, PathArgs, failed};
use crate::calendar::Zone;
use crate::calendar::ZoneSource as _;
use crate::calendar::{timespan, timestamp};
use crate::ipc::{Request, StatusInfo};
use crate::lifecycle::JobState;
use crate::run::RunResult;
use crate::tzdb::SystemZones;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The job.
    name: String,
    /// One JSON object.
    #[arg(long)]
    json: bool,
}

fn bytes(n: u64) -> String {
    // systemctl's format_bytes: 1024-based, one decimal.
    const UNITS: [&str; 4] = ["B", "K", "M", "G"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n}B")
    } else {
        format!("{v:.1}{}", UNITS[u])
    }
}

pub fn run(paths: &PathArgs, args: &Args) -> Outcome {
    let req = Request::Status {
        name: args.name.clone(),
    };
    let s: StatusInfo = match paths.connect().and_then(|mut c| c.call(req)) {
        Ok(s) => s,
        Err(e) => return failed(&e),
    };
    if args.json {
        return super::print_json(&s);
    }
    let zones = SystemZones::from_env();
    let mut o = String::new();
    describe_job(&mut o, &s, zones.local());
    describe_run(&mut o, &s);
    print!("{o}");
    Outcome::Success
}

/// Name, definition, state, schedule, last run.
fn describe_job(o: &mut String, s: &StatusInfo, zone: &Zone) {
    let now = s.now_usec;
    let j = &s.job;
    let dot = match j.state {
        JobState::Running => "●",
        JobState::Failed => "×",
        _ => "○",
    };
    let _ = writeln!(
        o,
        "{dot} {}{}",
        j.name,
        s.description
            .as_ref()
            .map_or(String::new(), |d| format!(" - {d}"))
    );
    let _ = writeln!(o, "     Config: {}", s.config);
    let _ = writeln!(o, "       Exec: {}", s.exec.join(" "));
    let _ = writeln!(
        o,
        "       Type: {}{}",
        j.kind,
        if j.enabled { "" } else { " (disabled)" }
    );
    let since = match s.run_start_usec.or(s.held_since_usec) {
        Some(t) => format!(
            " since {}; {}",
            timestamp::format(t, zone),
            timestamp::format_relative(t, now)
        ),
        None => String::new(),
    };
    let detail = match (s.restart_usec, s.start_limit_hit) {
        (Some(t), _) => format!(
            " (restart {}: {})",
            j.restarts,
            timestamp::format_relative(t, now)
        ),
        (None, true) => format!(" (start limit hit; `jobd start {}` to try again)", j.name),
        (None, false) => String::new(),
    };
    let reason = j
        .state_reason
        .as_ref()
        .map_or(String::new(), |r| format!(" ({r})"));
    let _ = writeln!(o, "      State: {}{reason}{detail}{since}", j.state);
    conditions_and_controls(o, s);
    if !j.schedule.is_empty() {
        let _ = writeln!(o, "   Schedule: {}", j.schedule.join("; "));
    }
    match j.next_usec {
        Some(t) => {
            let _ = writeln!(
                o,
                "    Trigger: {}; {}",
                timestamp::format(t, zone),
                timestamp::format_relative(t, now)
            );
        }
        None if !j.schedule.is_empty() => {
            let _ = writeln!(o, "    Trigger: n/a");
        }
        None => {}
    }
    last_run(o, s, zone);
    if let Some(inv) = &s.invocation {
        let _ = writeln!(o, " Invocation: {inv}");
    }
}

/// `Wait for:` each condition and whether it holds; `Controls:` each
/// resource control and whether it is applied.
fn conditions_and_controls(o: &mut String, s: &StatusInfo) {
    for (i, c) in s.conditions.iter().enumerate() {
        let label = if i == 0 { "Wait for:" } else { "" };
        let now = if c.holds { "holds" } else { "does not hold" };
        let _ = writeln!(o, "{label:>12} {} ({now})", c.condition);
    }
    let lists = [
        ("On failure:", s.on_failure.join(" ")),
        ("On success:", s.on_success.join(" ")),
        ("After:", s.after.join(" ")),
        (
            "Environment:",
            s.environment
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        ("Env files:", s.environment_files.join(" ")),
    ];
    for (label, value) in lists {
        if !value.is_empty() {
            let _ = writeln!(o, "{label:>12} {value}");
        }
    }
    for (i, c) in s.controls.iter().enumerate() {
        let label = if i == 0 { "Controls:" } else { "" };
        let how = c
            .why_not
            .as_ref()
            .map_or_else(|| "applied".to_owned(), |w| format!("not applied: {w}"));
        let _ = writeln!(o, "{label:>12} {} ({how})", c.control);
    }
}

/// `Last run:` start, length, result, trigger.
fn last_run(o: &mut String, s: &StatusInfo, zone: &Zone) {
    let now = s.now_usec;
    if let Some(r) = &s.last_run {
        let took = r.end_usec.map_or_else(String::new, |e| {
            format!(
                ", took {}",
                timespan::format_usec(u64::try_from(e - r.start_usec).unwrap_or(0), 1000)
            )
        });
        let status = super::history::status_text(r.exit_status.as_ref());
        let reason = r
            .reason
            .as_ref()
            .map_or(String::new(), |x| format!(" ({x})"));
        let _ = writeln!(
            o,
            "   Last run: {}; {}{took}; result {} (status {status}){reason}; trigger {}",
            timestamp::format(r.start_usec, zone),
            timestamp::format_relative(r.start_usec, now),
            r.result.map_or("unknown", RunResult::as_str),
            r.trigger
        );
    }
}

/// The run in progress: its processes, their figures, its last lines.
fn describe_run(o: &mut String, s: &StatusInfo) {
    let j = &s.job;
    if let Some(pid) = j.pid {
        let main_cmd = s.processes.first().map_or("", |p| p.cmdline.as_str());
        let _ = writeln!(o, "   Main PID: {pid} ({main_cmd})");
        let _ = writeln!(o, "      Tasks: {}", s.processes.len());
        if let Some(m) = s.memory_bytes {
            let _ = writeln!(o, "     Memory: {}", bytes(m));
        }
        if let Some(c) = s.cpu_usec {
            let _ = writeln!(o, "        CPU: {}", timespan::format_usec(c, 1000));
        }
    }
    let _ = writeln!(o, "   Restarts: {}", j.restarts);
    let dropped = if s.log_to_file > 0 {
        format!(
            " ({} lines in its file: journald would not take them; `jobd logs` shows them)",
            s.log_to_file
        )
    } else {
        String::new()
    };
    let _ = writeln!(o, "       Logs: {}{dropped}", s.logs);
    match &s.cgroup {
        Some(c) => {
            let _ = writeln!(o, "     CGroup: {c}");
        }
        None if !s.processes.is_empty() => {
            let _ = writeln!(
                o,
                "      Group: process group {} (no delegated cgroup: held by process group and subreaping)",
                j.pid.or(s.processes.first().map(|p| p.pid)).unwrap_or(0)
            );
        }
        None => {}
    }
    if !s.processes.is_empty() {
        let _ = writeln!(o, "    Process tree:");
        for p in &s.processes {
            let indent = "  ".repeat(p.depth as usize);
            let _ = writeln!(
                o,
                "             {indent}{}{} {}",
                if p.depth > 0 { "└─" } else { "" },
                p.pid,
                p.cmdline
            );
        }
    }
    if !s.log.is_empty() {
        o.push('\n');
        for line in &s.log {
            let _ = writeln!(o, "{line}");
        }
    }
}
