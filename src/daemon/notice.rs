//! The words of every lifecycle notice: its message, priority,
//! `MESSAGE_ID` and extra `JOBD_*` fields — the one place a job's journal
//! entries are written (the README's table of MESSAGE_IDs lists them).

use std::time::Duration;

use crate::calendar::ZoneSource as _;
use crate::calendar::{timespan, timestamp};
use crate::journal::{Entry, Level, message_id as mid};
use crate::lifecycle::Notice;
use crate::run::{ExitStatus, RunResult};
use crate::signal;
use crate::tzdb::SystemZones;

/// The journal entry (and stderr line) for `notice` about job `job`.
pub fn render(job: &str, notice: &Notice, zones: &SystemZones) -> Entry {
    let (message_id, level, invocation, fields, message): (_, _, Option<&str>, _, _) = match notice
    {
        Notice::CatchUp => (
            None,
            Level::Info,
            None,
            Vec::new(),
            format!("{job}: an elapse was missed while jobd was down; running it now (persistent)"),
        ),
        Notice::Started {
            invocation,
            pid,
            trigger,
        } => (
            Some(mid::STARTED),
            Level::Info,
            Some(invocation.as_str()),
            vec![
                ("JOBD_TRIGGER", trigger.to_string()),
                ("JOBD_PID", pid.to_string()),
            ],
            format!("{job}: started (pid {pid}, invocation {invocation}, trigger {trigger})"),
        ),
        Notice::StartFailed {
            invocation,
            trigger,
            reason,
        } => (
            Some(mid::START_FAILED),
            Level::Error,
            Some(invocation.as_str()),
            vec![
                ("JOBD_RESULT", RunResult::StartFailed.to_string()),
                ("JOBD_TRIGGER", trigger.to_string()),
            ],
            format!("{job}: failed to start: {reason}"),
        ),
        Notice::ShuttingDown => (
            None,
            Level::Warn,
            None,
            Vec::new(),
            format!("{job}: not started: jobd is shutting down"),
        ),
        Notice::Finished {
            invocation,
            result,
            status,
            took,
        } => {
            let shown = match status {
                ExitStatus::Code(c) => format!("status={c}"),
                ExitStatus::Signal(s) => format!("signal={s}"),
            };
            let took_usec = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
            (
                Some(mid::FINISHED),
                Level::Info,
                Some(invocation.as_str()),
                vec![
                    ("JOBD_RESULT", result.to_string()),
                    ("JOBD_EXIT_STATUS", status.to_string()),
                    ("JOBD_DURATION_USEC", took_usec.to_string()),
                ],
                format!(
                    "{job}: finished: result {result}, {shown}, after {} (invocation {invocation})",
                    timespan::format_usec(took_usec, 1000)
                ),
            )
        }
        Notice::ElapseSkipped {
            elapse_usec,
            invocation,
            pid,
        } => (
            Some(mid::ELAPSE_SKIPPED),
            Level::Warn,
            Some(invocation.as_str()),
            vec![("JOBD_ELAPSE_USEC", elapse_usec.to_string())],
            format!(
                "{job}: elapse of {} skipped: the previous run (pid {}, invocation {invocation}) is still going",
                timestamp::format(*elapse_usec, zones.local()),
                pid.map_or_else(|| "-".to_owned(), |p| p.to_string()),
            ),
        ),
        Notice::TimedOut { invocation, signal } => (
            None,
            Level::Warn,
            Some(invocation.as_str()),
            Vec::new(),
            format!(
                "{job}: run {invocation} timed out; sending {} to all its processes",
                signal::name(*signal)
            ),
        ),
        Notice::Killing { invocation, after } => (
            None,
            Level::Warn,
            Some(invocation.as_str()),
            Vec::new(),
            format!(
                "{job}: processes still there {} after the stop signal; sending SIGKILL",
                timespan::format(*after)
            ),
        ),
        Notice::Leftovers { invocation, signal } => (
            None,
            Level::Info,
            Some(invocation.as_str()),
            Vec::new(),
            format!(
                "{job}: stopping what is left of run {invocation} ({})",
                signal::name(*signal)
            ),
        ),
        Notice::LeftoversGone { invocation } => (
            None,
            Level::Info,
            Some(invocation.as_str()),
            Vec::new(),
            format!("{job}: the rest of run {invocation} has ended"),
        ),
        Notice::RestartScheduled { n, delay } => (
            Some(mid::RESTART_SCHEDULED),
            Level::Info,
            None,
            vec![
                ("JOBD_RESTART", n.to_string()),
                ("JOBD_RESTART_USEC", delay.as_micros().to_string()),
            ],
            if delay.is_zero() {
                format!("{job}: restarting now (restart {n})")
            } else {
                format!(
                    "{job}: restarting in {} (restart {n})",
                    timespan::format(*delay)
                )
            },
        ),
        Notice::StartLimitHit { burst, interval } => (
            Some(mid::START_LIMIT_HIT),
            Level::Error,
            None,
            Vec::new(),
            format!(
                "{job}: start limit hit ({burst} starts within {}): not restarted until `jobd start {job}`",
                timespan::format(*interval)
            ),
        ),
        Notice::ChainNotFired => (
            None,
            Level::Warn,
            None,
            Vec::new(),
            format!(
                "{job}: on_failure jobs not started: {job} itself was started by on_failure and could not start"
            ),
        ),
        Notice::ChainSkipped { by } => (
            None,
            Level::Warn,
            None,
            Vec::new(),
            format!("{job}: not started for {by}'s failure: already running or waiting"),
        ),
        Notice::Deferred { reason } => (
            Some(mid::DEFERRED),
            Level::Info,
            None,
            vec![("JOBD_REASON", reason.clone())],
            format!("{job}: deferred: {reason}"),
        ),
        Notice::Queued { limit } => (
            Some(mid::DEFERRED),
            Level::Info,
            None,
            vec![("JOBD_REASON", "queued".to_owned())],
            format!(
                "{job}: queued: max_concurrent is {limit}; it starts when a run ends and those due before it have started"
            ),
        ),
        Notice::GaveUp { waited, reason } => (
            Some(mid::ELAPSE_SKIPPED),
            Level::Warn,
            None,
            reason.iter().map(|r| ("JOBD_REASON", r.clone())).collect(),
            format!(
                "{job}: elapse skipped: waited {} and still {}",
                timespan::format(Duration::from_secs(waited.as_secs())),
                reason.as_deref().unwrap_or("queued")
            ),
        ),
        Notice::ElapseMerged { state } => (
            None,
            Level::Info,
            None,
            Vec::new(),
            format!("{job}: elapse merged into the run already {state}"),
        ),
    };
    Entry {
        message_id,
        level,
        job: Some(job.to_owned()),
        invocation: invocation.map(str::to_owned),
        message,
        fields,
    }
}
