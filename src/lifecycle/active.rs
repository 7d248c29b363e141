//! A run in progress, as the lifecycle keeps it.

use super::Mono;
use super::events::Client;
use super::policy::Cause;
use crate::run::{ExitStatus, RunResult, Trigger};
use crate::state;

/// What to do once the run has ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Then {
    /// Whatever the restart policy says.
    Policy,
    /// Start again (`restart`, or a reload that changed a daemon).
    Start(Trigger, Cause),
}

/// The main process's end.
#[derive(Clone, Debug)]
pub(super) struct Ended {
    pub(super) result: RunResult,
    pub(super) status: ExitStatus,
    pub(super) at: Mono,
}

/// A run in progress.
#[derive(Clone, Debug)]
pub struct Run {
    pub invocation: String,
    /// The main process; `None` until it is spawned.
    pub pid: Option<u32>,
    pub trigger: Trigger,
    /// µs since the epoch.
    pub start_usec: i64,
    pub(super) started: Mono,
    /// The client that asked for this start, and whether it waits.
    pub(super) starter: Option<(Client, bool)>,
    pub(super) timeout_at: Option<Mono>,
    pub(super) kill_at: Option<Mono>,
    pub(super) stop_requested: bool,
    /// The `timeout` passed, or a stop needed SIGKILL: result `timeout`.
    pub(super) timed_out: bool,
    pub(super) ended: Option<Ended>,
    pub(super) leftovers: bool,
    /// The OOM killer killed one of its processes: result `oom-kill`.
    pub(super) oom: bool,
    /// Clients told of the run's end.
    pub(super) waiters: Vec<Client>,
    pub(super) then: Then,
}

impl Run {
    /// The main process, while it runs.
    pub fn main_pid(&self) -> Option<u32> {
        self.pid.filter(|_| self.ended.is_none())
    }

    /// The main process has ended; the rest of the run is being waited for.
    pub fn finishing(&self) -> bool {
        self.ended.is_some()
    }
}

/// Why a due run is held back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hold {
    /// By `wait_for`: what does not hold, in words.
    Waiting(String),
    /// By `max_concurrent`.
    Queued,
}

/// A due run held back (state `waiting` or `queued`).
#[derive(Clone, Debug)]
pub struct Held {
    pub(super) start: super::Start,
    /// When it became due: first due, first started.
    pub due: Mono,
    /// It gives up at this point (`max_wait`).
    pub(super) until: Option<Mono>,
    pub why: Hold,
}

/// A run as the history records its start.
pub(super) fn record(run: &Run) -> state::Run {
    state::Run {
        invocation: run.invocation.clone(),
        trigger: run.trigger,
        start_usec: run.start_usec,
        pid: run.pid,
        end_usec: None,
        result: None,
        exit_status: None,
        reason: None,
    }
}
