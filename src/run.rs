//! A run's vocabulary: why it started ([`Trigger`]), how its main process
//! ended ([`Exit`], [`ExitStatus`]) and what that means ([`RunResult`]).
//!
//! These are the words users see in `jobd history`, `list --json`, the
//! journal's `JOBD_TRIGGER`/`JOBD_RESULT` fields and `runs.jsonl`; each
//! is spelled once, here, as the serde and `Display` form of its enum.
//! The result names are systemd's (`systemd.exec(5)`, `$SERVICE_RESULT`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::config::JobType;

/// What started a run (`jobd history`'s TRIGGER column).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// An `on_calendar` elapse.
    Calendar,
    /// A `cron` elapse.
    Cron,
    /// `on_active`: a span after the previous start.
    Active,
    /// `on_startup`, or a `simple` job started with the daemon.
    Startup,
    /// `persistent` catch-up of an elapse missed while jobd was down.
    Persistent,
    /// `run-now`, `start`, `restart`.
    Manual,
    /// The restart policy.
    Restart,
    /// Another job's `on_failure`.
    OnFailure,
    /// Another job's `on_success`.
    OnSuccess,
    /// A reload added or changed the job.
    Reload,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Calendar => "calendar",
            Trigger::Cron => "cron",
            Trigger::Active => "active",
            Trigger::Startup => "startup",
            Trigger::Persistent => "persistent",
            Trigger::Manual => "manual",
            Trigger::Restart => "restart",
            Trigger::OnFailure => "on-failure",
            Trigger::OnSuccess => "on-success",
            Trigger::Reload => "reload",
        }
    }
}

/// How a process ended, as `wait(2)` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

/// The exit status users see: an exit code, or a signal name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ExitStatus {
    Code(i32),
    Signal(String),
}

impl From<Exit> for ExitStatus {
    fn from(exit: Exit) -> ExitStatus {
        match exit {
            Exit::Code(c) => ExitStatus::Code(c),
            Exit::Signal(s) => ExitStatus::Signal(crate::signal::name(s)),
        }
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitStatus::Code(c) => write!(f, "{c}"),
            ExitStatus::Signal(s) => f.write_str(s),
        }
    }
}

/// How a run ended, in systemd's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunResult {
    Success,
    ExitCode,
    Signal,
    Timeout,
    OomKill,
    StartFailed,
}

impl RunResult {
    pub fn as_str(self) -> &'static str {
        match self {
            RunResult::Success => "success",
            RunResult::ExitCode => "exit-code",
            RunResult::Signal => "signal",
            RunResult::Timeout => "timeout",
            RunResult::OomKill => "oom-kill",
            RunResult::StartFailed => "start-failed",
        }
    }

    /// The result of a main process that ended with `exit`.
    /// `timed_out`: the run's `timeout` passed, or a stop needed SIGKILL;
    /// `stopped_with`: the stop signal, if a stop was asked for (a death
    /// by it is then clean, whatever the signal).
    pub fn of(kind: JobType, exit: Exit, timed_out: bool, stopped_with: Option<i32>) -> RunResult {
        match exit {
            _ if timed_out => RunResult::Timeout,
            Exit::Code(0) => RunResult::Success,
            Exit::Code(_) => RunResult::ExitCode,
            Exit::Signal(s) if Some(s) == stopped_with => RunResult::Success,
            Exit::Signal(1 | 2 | 13 | 15) if kind == JobType::Simple => RunResult::Success,
            Exit::Signal(_) => RunResult::Signal,
        }
    }
}

macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
pub(crate) use display_as_str;

display_as_str!(Trigger, RunResult);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_forms_are_the_display_forms() {
        use Trigger::*;
        for t in [
            Calendar, Cron, Active, Startup, Persistent, Manual, Restart, OnFailure, OnSuccess,
            Reload,
        ] {
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{t}\""));
            assert_eq!(
                serde_json::from_str::<Trigger>(&format!("\"{t}\"")).unwrap(),
                t
            );
        }
        use RunResult::*;
        for r in [Success, ExitCode, Signal, Timeout, OomKill, StartFailed] {
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{r}\""));
        }
        assert_eq!(ExitStatus::from(Exit::Signal(15)).to_string(), "SIGTERM");
        assert_eq!(ExitStatus::from(Exit::Code(3)).to_string(), "3");
    }

    #[test]
    fn clean_signals_are_success_for_daemons_only() {
        use JobType::{Oneshot, Simple};
        let of = RunResult::of;
        for s in [1, 2, 13, 15] {
            assert_eq!(of(Simple, Exit::Signal(s), false, None), RunResult::Success);
            assert_eq!(of(Oneshot, Exit::Signal(s), false, None), RunResult::Signal);
        }
        // A stop asked for ends cleanly by its signal, whatever it is.
        assert_eq!(
            of(Oneshot, Exit::Signal(10), false, Some(10)),
            RunResult::Success
        );
        assert_eq!(
            of(Simple, Exit::Signal(9), false, Some(15)),
            RunResult::Signal
        );
        assert_eq!(of(Simple, Exit::Signal(9), false, None), RunResult::Signal);
        assert_eq!(of(Simple, Exit::Code(0), true, None), RunResult::Timeout);
        assert_eq!(of(Simple, Exit::Code(3), false, None), RunResult::ExitCode);
    }
}
