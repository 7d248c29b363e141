//! What goes into a job's lifecycle and what comes out: the events that
//! move it, the actions it asks for, the notices it logs, the answers it
//! gives clients, and the states `list` shows. Plain data, no behaviour.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::Job;
use crate::run::{Exit, ExitStatus, RunResult, Trigger};
use crate::state;

/// Monotonic time since the daemon started.
pub type Mono = Duration;

/// The two clocks at the moment of a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    pub mono: Mono,
    /// µs since the epoch.
    pub wall_usec: i64,
}

/// A client connection waiting for an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Client(pub u64);

/// A job's state as `list` and `status` show it (SPEC's words).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for its schedule or a manual start.
    Idle,
    /// A due run held by a condition.
    Waiting,
    /// A due run held by `max_concurrent`.
    Queued,
    Running,
    /// Waiting `restart_sec` before a restart.
    Restarting,
    /// Being stopped (or its leftovers are).
    Stopping,
    /// Stopped by hand.
    Stopped,
    /// The last run failed, or the start limit was hit.
    Failed,
    /// Switched off by `jobd disable`.
    Disabled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Idle => "idle",
            JobState::Waiting => "waiting",
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Restarting => "restarting",
            JobState::Stopping => "stopping",
            JobState::Stopped => "stopped",
            JobState::Failed => "failed",
            JobState::Disabled => "disabled",
        }
    }
}

crate::run::display_as_str!(JobState);

/// A calendar/cron elapse as planned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapse {
    /// The elapse itself, µs since the epoch.
    pub usec: i64,
    /// When it fires: the elapse plus its randomized delay.
    pub fire_usec: i64,
    pub trigger: Trigger,
}

/// The answers the lifecycle needs from outside.
pub trait World {
    /// The first calendar/cron elapse of `job` after `after_usec`, with
    /// a randomized delay drawn for it.
    fn next_elapse(&mut self, job: &Job, after_usec: i64) -> Option<Elapse>;
    /// A new invocation id (32 lowercase hex digits).
    fn invocation(&mut self) -> String;
    /// May a due run of `job` start now? `in_turn`: it is held already
    /// and asked again in its turn (first due, first asked), so the runs
    /// queued behind it do not hold it back.
    fn gate(&mut self, job: &Job, in_turn: bool) -> Gate;
}

/// Whether a due run may start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Gate {
    Open,
    /// A `wait_for` condition does not hold; why, in words (`on battery`).
    Wait(String),
    /// `max_concurrent` (this many) runs are going, or others wait first.
    Queue(u32),
}

/// What happens to a job.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The daemon started with this job; `missed`: a `persistent`
    /// elapse was missed while it was down.
    Load {
        missed: bool,
    },
    /// A reload added this job.
    Added,
    /// A reload changed this job's definition.
    Changed(Arc<Job>),
    /// A reload removed this job.
    Removed,
    /// The wall-clock timer fired; `changed`: because the clock was set
    /// (or the machine resumed).
    WallClock {
        changed: bool,
    },
    /// A monotonic deadline passed (a relative trigger, the restart
    /// delay, the run's `timeout`, the SIGKILL after a stop).
    Timer,
    /// `run-now`; `wait`: the client also wants the run's end.
    RunNow {
        client: Client,
        wait: bool,
    },
    /// `start`: undo a stop, clear the start limit, run now.
    Start {
        client: Client,
    },
    Stop {
        client: Client,
    },
    Restart {
        client: Client,
    },
    /// Started by another job's end (`on_failure`).
    Chained {
        trigger: Trigger,
        by: String,
        env: Vec<(String, String)>,
    },
    /// The run's main process is running.
    Spawned {
        pid: u32,
    },
    /// The run could not start.
    SpawnFailed {
        reason: String,
    },
    /// The run's main process ended.
    MainExited(Exit),
    /// After the main process ended, processes of the run are left.
    Leftovers,
    /// Nothing of the run is left, all of it reaped.
    ScopeEmpty,
    /// A condition changed or a `max_concurrent` slot came free: a held
    /// run asks the gate again.
    Recheck,
    /// The kernel's OOM killer killed a process of the run.
    OomKilled,
    /// `jobd disable`: no schedule, no restarts; a run goes on.
    Disable,
    /// `jobd enable`: back to what the file says.
    Enable,
    /// SIGTERM/SIGINT: stop, start nothing more.
    Shutdown,
}

/// What the daemon is to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Start the job's command; the answer comes back as
    /// [`Event::Spawned`] or [`Event::SpawnFailed`].
    Spawn {
        invocation: String,
        trigger: Trigger,
        env: Vec<(String, String)>,
    },
    /// Send this signal to every process of the run.
    Signal(i32),
    /// SIGKILL every process of the run.
    Kill,
    RecordStart(state::Run),
    RecordEnd(state::End),
    Notice(Notice),
    /// Answer a client; `more`: a later answer follows (the run's end).
    Answer {
        client: Client,
        answer: Answer,
        more: bool,
    },
    /// Start these jobs ([`Event::Chained`]).
    Chain {
        jobs: Vec<String>,
        trigger: Trigger,
        env: Vec<(String, String)>,
    },
    /// The run is over: let go of its processes' scope and output.
    Release,
    /// The job was removed and nothing of it runs: forget it.
    Forget,
}

/// Something worth a journal entry, as data.
#[derive(Clone, Debug, PartialEq)]
pub enum Notice {
    CatchUp,
    Started {
        invocation: String,
        pid: u32,
        trigger: Trigger,
    },
    StartFailed {
        invocation: String,
        trigger: Trigger,
        reason: String,
    },
    ShuttingDown,
    /// Logged after the run's last output line.
    Finished {
        invocation: String,
        result: RunResult,
        status: ExitStatus,
        took: Duration,
    },
    ElapseSkipped {
        elapse_usec: i64,
        invocation: String,
        pid: Option<u32>,
    },
    TimedOut {
        invocation: String,
        signal: i32,
    },
    Killing {
        invocation: String,
        after: Duration,
    },
    Leftovers {
        invocation: String,
        signal: i32,
    },
    LeftoversGone {
        invocation: String,
    },
    RestartScheduled {
        n: u32,
        delay: Duration,
    },
    StartLimitHit {
        burst: u32,
        interval: Duration,
    },
    /// A job started by `on_failure` could not start: its own
    /// `on_failure` jobs are not started (two such jobs naming each
    /// other would go on for ever).
    ChainNotFired,
    /// Not started for `by`'s failure: already running or held.
    ChainSkipped {
        by: String,
    },
    /// A due run waits for `wait_for`.
    Deferred {
        reason: String,
    },
    /// A due run waits for a `max_concurrent` slot.
    Queued {
        limit: u32,
    },
    /// A held run waited `max_wait` (or until the next elapse) in vain:
    /// its elapse is skipped.
    GaveUp {
        waited: Duration,
        reason: Option<String>,
    },
    /// An elapse came while a run of it was held already: one is enough.
    ElapseMerged {
        state: JobState,
    },
}

/// An answer to a client about one job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Answer {
    /// A run started.
    Started { pid: u32, invocation: String },
    /// The job was running already: nothing was started.
    AlreadyRunning {
        pid: Option<u32>,
        invocation: String,
    },
    /// The start failed (`start-failed`); the only answer, even to a
    /// client that waits. No invocation when nothing was tried (jobd is
    /// shutting down).
    StartFailed {
        invocation: Option<String>,
        reason: String,
    },
    /// `restart` of a running job: it is being stopped and will start
    /// again once it has ended.
    Restarting { invocation: String },
    /// `stop` of a job that was not running.
    NotRunning,
    /// The run ended.
    Ended(RunEnd),
}

/// How a run ended, as a client is told.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunEnd {
    pub invocation: String,
    pub result: RunResult,
    pub exit_status: Option<ExitStatus>,
    pub reason: Option<String>,
    /// On the monotonic clock, from the start to the main process's end.
    pub duration_usec: u64,
}
