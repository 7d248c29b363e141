//! PURE: one job's lifecycle as a state machine.
//!
//! Theory of operation. Each job is a [`Lifecycle`]: its definition, the
//! phase it is in (at rest, waiting `restart_sec`, or with a run going),
//! its pending deadlines and its restart bookkeeping ([`policy`]). The
//! daemon turns what happens outside — timers, `SIGCHLD`, requests,
//! reloads, shutdown — into [`Event`]s and feeds them to
//! [`Lifecycle::step`], which changes the state and returns [`Action`]s:
//! spawn, signal the run, record in the history, log a notice, answer a
//! client, start other jobs. The daemon carries the actions out and owns
//! no per-job decision.
//!
//! Nothing here does I/O or reads a clock: `now` comes with every step
//! (monotonic time since the daemon started, and wall time), and what
//! needs the outside world's answer — the next calendar elapse with its
//! randomized delay, a fresh invocation id — is asked of a [`World`].
//! Unit tests drive it with a fake clock and a fake world (`tests.rs`).
//!
//! Invariants:
//! - at most one run per job; a pending restart, a scheduled elapse and
//!   a manual start all go through the same phase, so two copies never
//!   run (a reload during the restart delay cancels the pending restart);
//! - a run ends (its clients answered, the policy asked) only after its
//!   main process has exited *and* nothing of it is left;
//! - what `list` and `status` show is derived from the phase: there is no
//!   second copy of it to fall out of step.
//!
//! systemd's behaviour mirrored: `Restart=` and the start limit
//! (`service_shall_restart`, `unit_test_start_limit` in service.c/unit.c),
//! `OnUnitActiveSec=` counting from each start, `Persistent=` catch-up,
//! and the `stop` → SIGKILL after `TimeoutStopSec=` sequence.

pub mod policy;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{Job, JobType};
use crate::run::{Exit, ExitStatus, RunResult, Trigger};
use crate::state;
use policy::{Cause, Policy, Tracker};

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
    /// Not started for `by`'s failure: already running.
    ChainSkipped {
        by: String,
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
    /// The start failed (`start-failed`).
    StartFailed { invocation: String, reason: String },
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

/// What to do once the run has ended.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Then {
    /// Whatever the restart policy says.
    Policy,
    /// Start again (`restart`, or a reload that changed a daemon).
    Start(Trigger, Cause),
}

/// The main process's end.
#[derive(Clone, Debug)]
struct Ended {
    result: RunResult,
    status: ExitStatus,
    at: Mono,
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
    started: Mono,
    /// The client that asked for this start, and whether it waits.
    starter: Option<(Client, bool)>,
    timeout_at: Option<Mono>,
    kill_at: Option<Mono>,
    stop_requested: bool,
    /// The `timeout` passed, or a stop needed SIGKILL: result `timeout`.
    timed_out: bool,
    ended: Option<Ended>,
    leftovers: bool,
    /// Clients told of the run's end.
    waiters: Vec<Client>,
    then: Then,
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

#[derive(Clone, Debug)]
enum Phase {
    Rest,
    Restarting { at: Mono },
    Running(Box<Run>),
}

/// One job: its definition, its phase, its deadlines.
#[derive(Clone, Debug)]
pub struct Lifecycle {
    def: Arc<Job>,
    phase: Phase,
    /// Stopped by hand (or by shutdown): no schedule, no restarts.
    stopped: bool,
    /// The last run failed.
    failed: bool,
    /// Removed by a reload; forgotten once its run has ended.
    removed: bool,
    shutting_down: bool,
    tracker: Tracker,
    /// The next calendar/cron elapse.
    elapse: Option<Elapse>,
    /// The next relative trigger (`on_active`, `on_startup`).
    mono: Option<(Mono, Trigger)>,
}

/// The actions of one step.
type Out = Vec<Action>;

impl Lifecycle {
    pub fn new(def: Arc<Job>) -> Lifecycle {
        Lifecycle {
            def,
            phase: Phase::Rest,
            stopped: false,
            failed: false,
            removed: false,
            shutting_down: false,
            tracker: Tracker::default(),
            elapse: None,
            mono: None,
        }
    }

    pub fn def(&self) -> &Arc<Job> {
        &self.def
    }

    pub fn name(&self) -> &str {
        &self.def.name
    }

    pub fn state(&self) -> JobState {
        match &self.phase {
            Phase::Running(r) if r.stop_requested || r.timed_out || r.ended.is_some() => {
                JobState::Stopping
            }
            Phase::Running(_) => JobState::Running,
            Phase::Restarting { .. } => JobState::Restarting,
            Phase::Rest if self.stopped => JobState::Stopped,
            Phase::Rest if self.failed || self.tracker.limit_hit => JobState::Failed,
            Phase::Rest => JobState::Idle,
        }
    }

    /// The run in progress.
    pub fn run(&self) -> Option<&Run> {
        match &self.phase {
            Phase::Running(r) => Some(r),
            _ => None,
        }
    }

    /// `failed` because the start limit refused a restart.
    pub fn start_limit_hit(&self) -> bool {
        self.state() == JobState::Failed && self.tracker.limit_hit
    }

    /// When a pending restart starts (state `restarting`).
    pub fn restart_at(&self) -> Option<Mono> {
        match self.phase {
            Phase::Restarting { at } => Some(at),
            _ => None,
        }
    }

    /// Automatic restarts since loading or the last manual start,
    /// counting the one pending (systemd's `NRestarts`, which the
    /// "restart counter is at N" line shows as it is scheduled).
    pub fn restarts(&self) -> u32 {
        let pending = u32::from(matches!(self.phase, Phase::Restarting { .. }));
        self.tracker.restarts.saturating_add(pending)
    }

    /// When the wall-clock timer must fire for this job.
    pub fn wall_deadline(&self) -> Option<i64> {
        self.elapse.map(|e| e.fire_usec)
    }

    /// The next relative trigger, for `list`'s NEXT column.
    pub fn mono_trigger(&self) -> Option<Mono> {
        self.mono.map(|(t, _)| t)
    }

    /// The earliest monotonic deadline.
    pub fn mono_deadline(&self) -> Option<Mono> {
        let run = self.run();
        [
            self.mono_trigger(),
            self.restart_at(),
            run.and_then(|r| r.timeout_at),
            run.and_then(|r| r.kill_at),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Moves the job on by one event.
    pub fn step(&mut self, event: Event, now: Now, world: &mut dyn World) -> Vec<Action> {
        let mut out = Vec::new();
        match event {
            Event::Load { missed } => self.load(missed, now, world, &mut out),
            Event::Added => self.added(now, world, &mut out),
            Event::Changed(def) => self.changed(def, now, world, &mut out),
            Event::Removed => self.remove(now, &mut out),
            Event::WallClock { changed } => self.wall_clock(changed, now, world, &mut out),
            Event::Timer => self.timer(now, world, &mut out),
            Event::RunNow { client, wait } => self.run_now(client, wait, now, world, &mut out),
            Event::Start { client } => {
                self.resume(now, world);
                self.run_now(client, false, now, world, &mut out);
            }
            Event::Stop { client } => self.stop(client, now, &mut out),
            Event::Restart { client } => self.restart(client, now, world, &mut out),
            Event::Chained { trigger, by, env } => {
                if self.run().is_some() {
                    out.push(Action::Notice(Notice::ChainSkipped { by }));
                } else {
                    self.start(trigger, Cause::Other, env, None, now, world, &mut out);
                }
            }
            Event::Spawned { pid } => self.spawned(pid, now, &mut out),
            Event::SpawnFailed { reason } => self.spawn_failed(reason, now, world, &mut out),
            Event::MainExited(exit) => self.main_exited(exit, now, &mut out),
            Event::Leftovers => self.leftovers(now, &mut out),
            Event::ScopeEmpty => self.scope_empty(now, world, &mut out),
            Event::Shutdown => {
                self.shutting_down = true;
                self.stopped = true;
                self.unschedule();
                self.signal_stop(now, &mut out);
            }
        }
        out
    }

    fn load(&mut self, missed: bool, now: Now, world: &mut dyn World, out: &mut Out) {
        self.plan(now.wall_usec, world);
        if !self.def.enabled {
            return;
        }
        if let Some(d) = self.def.on_startup {
            // Counted from the daemon's start, which is `Mono::ZERO`.
            self.mono = Some((d, Trigger::Startup));
        }
        if missed {
            out.push(Action::Notice(Notice::CatchUp));
            self.start(
                Trigger::Persistent,
                Cause::Other,
                Vec::new(),
                None,
                now,
                world,
                out,
            );
        } else if self.def.kind == JobType::Simple {
            self.start(
                Trigger::Startup,
                Cause::Other,
                Vec::new(),
                None,
                now,
                world,
                out,
            );
        }
    }

    fn added(&mut self, now: Now, world: &mut dyn World, out: &mut Out) {
        self.plan(now.wall_usec, world);
        if !self.def.enabled {
            return;
        }
        if let Some(d) = self.def.on_startup {
            // The daemon started long ago: count from now.
            self.mono = Some((now.mono + d, Trigger::Startup));
        }
        if self.def.kind == JobType::Simple {
            self.start(
                Trigger::Reload,
                Cause::Other,
                Vec::new(),
                None,
                now,
                world,
                out,
            );
        }
    }

    /// A new definition is a new unit: its restart count and start limit
    /// start over. A running daemon restarts with it; a running oneshot
    /// finishes as it began.
    fn changed(&mut self, def: Arc<Job>, now: Now, world: &mut dyn World, out: &mut Out) {
        self.def = def;
        self.tracker = Tracker::default();
        self.mono = None;
        self.plan(now.wall_usec, world);
        if let (Some(d), true) = (self.def.on_active, self.def.enabled && !self.stopped) {
            self.mono = Some((now.mono + d, Trigger::Active));
        }
        if self.def.kind != JobType::Simple {
            return;
        }
        match &mut self.phase {
            Phase::Running(run) if !run.stop_requested => {
                run.then = Then::Start(Trigger::Reload, Cause::Other);
                self.signal_stop(now, out);
            }
            Phase::Running(_) => {}
            Phase::Rest | Phase::Restarting { .. } => {
                if self.def.enabled && !self.stopped {
                    self.start(
                        Trigger::Reload,
                        Cause::Other,
                        Vec::new(),
                        None,
                        now,
                        world,
                        out,
                    );
                }
            }
        }
    }

    fn remove(&mut self, now: Now, out: &mut Out) {
        self.removed = true;
        self.unschedule();
        if self.run().is_some() {
            self.signal_stop(now, out);
        } else {
            self.phase = Phase::Rest;
            out.push(Action::Forget);
        }
    }

    fn wall_clock(&mut self, changed: bool, now: Now, world: &mut dyn World, out: &mut Out) {
        let due = |e: &Option<Elapse>| e.is_some_and(|e| e.fire_usec <= now.wall_usec);
        if changed && !due(&self.elapse) {
            self.plan(now.wall_usec, world);
        }
        if let Some(e) = self.elapse.filter(|_| due(&self.elapse)) {
            self.plan(e.usec.max(now.wall_usec), world);
            self.elapse(e.trigger, e.usec, now, world, out);
        }
    }

    fn timer(&mut self, now: Now, world: &mut dyn World, out: &mut Out) {
        if let Some((_, trigger)) = self.mono.filter(|(at, _)| *at <= now.mono) {
            self.mono = None;
            if self.run().is_some()
                && let Some(d) = self.def.on_active
            {
                // Still running: count the span again from now, so a long
                // run does not end the repetition.
                self.mono = Some((now.mono + d, Trigger::Active));
            }
            self.elapse(trigger, now.wall_usec, now, world, out);
        }
        if self.restart_at().is_some_and(|at| at <= now.mono) {
            self.phase = Phase::Rest;
            self.start(
                Trigger::Restart,
                Cause::Restart,
                Vec::new(),
                None,
                now,
                world,
                out,
            );
        }
        let (signal, stop_timeout) = (self.def.stop_signal, self.def.stop_timeout);
        let Phase::Running(run) = &mut self.phase else {
            return;
        };
        if run.timeout_at.is_some_and(|t| t <= now.mono) {
            run.timeout_at = None;
            run.timed_out = true;
            out.push(Action::Notice(Notice::TimedOut {
                invocation: run.invocation.clone(),
                signal,
            }));
            out.push(Action::Signal(signal));
            run.kill_at = Some(now.mono + stop_timeout);
        }
        if run.kill_at.is_some_and(|t| t <= now.mono) {
            run.kill_at = None;
            if run.ended.is_none() {
                // systemd's result for a stop that needed SIGKILL.
                run.timed_out = true;
            }
            out.push(Action::Notice(Notice::Killing {
                invocation: run.invocation.clone(),
                after: stop_timeout,
            }));
            out.push(Action::Kill);
        }
    }

    /// A schedule is due: start, unless a run is going.
    fn elapse(
        &mut self,
        trigger: Trigger,
        elapse_usec: i64,
        now: Now,
        world: &mut dyn World,
        out: &mut Out,
    ) {
        if let Some(run) = self.run() {
            out.push(Action::Notice(Notice::ElapseSkipped {
                elapse_usec,
                invocation: run.invocation.clone(),
                pid: run.pid,
            }));
            return;
        }
        self.start(trigger, Cause::Other, Vec::new(), None, now, world, out);
    }

    fn run_now(
        &mut self,
        client: Client,
        wait: bool,
        now: Now,
        world: &mut dyn World,
        out: &mut Out,
    ) {
        if let Phase::Running(run) = &mut self.phase {
            out.push(Action::Answer {
                client,
                answer: Answer::AlreadyRunning {
                    pid: run.pid,
                    invocation: run.invocation.clone(),
                },
                more: wait,
            });
            if wait {
                run.waiters.push(client);
            }
            return;
        }
        let starter = Some((client, wait));
        self.start(
            Trigger::Manual,
            Cause::Manual,
            Vec::new(),
            starter,
            now,
            world,
            out,
        );
    }

    /// Undoes `stop`: the schedule applies again.
    fn resume(&mut self, now: Now, world: &mut dyn World) {
        self.stopped = false;
        if let Phase::Restarting { .. } = self.phase {
            self.phase = Phase::Rest;
        }
        self.plan(now.wall_usec, world);
    }

    fn stop(&mut self, client: Client, now: Now, out: &mut Out) {
        self.stopped = true;
        self.unschedule();
        if let Phase::Running(run) = &mut self.phase {
            run.waiters.push(client);
            self.signal_stop(now, out);
        } else {
            self.phase = Phase::Rest;
            out.push(Action::Answer {
                client,
                answer: Answer::NotRunning,
                more: false,
            });
        }
    }

    fn restart(&mut self, client: Client, now: Now, world: &mut dyn World, out: &mut Out) {
        let Phase::Running(run) = &mut self.phase else {
            self.resume(now, world);
            return self.run_now(client, false, now, world, out);
        };
        self.stopped = false;
        run.then = Then::Start(Trigger::Manual, Cause::Manual);
        out.push(Action::Answer {
            client,
            answer: Answer::Restarting {
                invocation: run.invocation.clone(),
            },
            more: false,
        });
        self.signal_stop(now, out);
    }

    /// Sends the stop signal to the whole run (once) and plans the SIGKILL
    /// after `stop_timeout`.
    fn signal_stop(&mut self, now: Now, out: &mut Out) {
        let (signal, timeout) = (self.def.stop_signal, self.def.stop_timeout);
        match &mut self.phase {
            Phase::Running(run) => {
                if run.stop_requested {
                    return;
                }
                run.stop_requested = true;
                if run.pid.is_some() {
                    out.push(Action::Signal(signal));
                }
                let at = now.mono + timeout;
                run.kill_at = Some(run.kill_at.map_or(at, |k| k.min(at)));
            }
            Phase::Restarting { .. } => self.phase = Phase::Rest,
            Phase::Rest => {}
        }
    }

    /// Starts a run: the spawn's answer comes back as an event.
    #[allow(clippy::too_many_arguments)]
    fn start(
        &mut self,
        trigger: Trigger,
        cause: Cause,
        env: Vec<(String, String)>,
        starter: Option<(Client, bool)>,
        now: Now,
        world: &mut dyn World,
        out: &mut Out,
    ) {
        if self.shutting_down {
            out.push(Action::Notice(Notice::ShuttingDown));
            if let Some((client, wait)) = starter {
                let reason = "jobd is shutting down".to_owned();
                out.push(Action::Answer {
                    client,
                    answer: Answer::StartFailed {
                        invocation: String::new(),
                        reason: reason.clone(),
                    },
                    more: wait,
                });
                if wait {
                    out.push(Action::Answer {
                        client,
                        answer: Answer::Ended(RunEnd {
                            invocation: String::new(),
                            result: RunResult::StartFailed,
                            exit_status: None,
                            reason: Some(reason),
                            duration_usec: 0,
                        }),
                        more: false,
                    });
                }
            }
            return;
        }
        self.tracker
            .started(&Policy::of(&self.def), now.mono, cause);
        // Whatever refused restarts before, this run is going.
        self.tracker.limit_hit = false;
        let invocation = world.invocation();
        if let (Some(d), true) = (self.def.on_active, self.def.enabled && !self.stopped) {
            self.mono = Some((now.mono + d, Trigger::Active));
        }
        self.phase = Phase::Running(Box::new(Run {
            invocation: invocation.clone(),
            pid: None,
            trigger,
            start_usec: now.wall_usec,
            started: now.mono,
            starter,
            timeout_at: self.def.timeout.map(|t| now.mono + t),
            kill_at: None,
            stop_requested: false,
            timed_out: false,
            ended: None,
            leftovers: false,
            waiters: Vec::new(),
            then: Then::Policy,
        }));
        out.push(Action::Spawn {
            invocation,
            trigger,
            env,
        });
    }

    fn spawned(&mut self, pid: u32, now: Now, out: &mut Out) {
        let Phase::Running(run) = &mut self.phase else {
            return;
        };
        run.pid = Some(pid);
        out.push(Action::RecordStart(record(run)));
        out.push(Action::Notice(Notice::Started {
            invocation: run.invocation.clone(),
            pid,
            trigger: run.trigger,
        }));
        if let Some((client, wait)) = run.starter.take() {
            out.push(Action::Answer {
                client,
                answer: Answer::Started {
                    pid,
                    invocation: run.invocation.clone(),
                },
                more: wait,
            });
            if wait {
                run.waiters.push(client);
            }
        }
        if run.stop_requested {
            // Stopped while it was being started: the SIGKILL is planned
            // already, the signal could not be sent until now.
            out.push(Action::Signal(self.def.stop_signal));
        }
        let _ = now;
    }

    fn spawn_failed(&mut self, reason: String, now: Now, world: &mut dyn World, out: &mut Out) {
        let Phase::Running(run) = std::mem::replace(&mut self.phase, Phase::Rest) else {
            return;
        };
        let mut run = *run;
        out.push(Action::Notice(Notice::StartFailed {
            invocation: run.invocation.clone(),
            trigger: run.trigger,
            reason: reason.clone(),
        }));
        out.push(Action::RecordStart(record(&run)));
        let end = state::End {
            invocation: run.invocation.clone(),
            end_usec: now.wall_usec,
            result: RunResult::StartFailed,
            exit_status: None,
            reason: Some(reason.clone()),
        };
        out.push(Action::RecordEnd(end));
        if let Some((client, wait)) = run.starter.take() {
            out.push(Action::Answer {
                client,
                answer: Answer::StartFailed {
                    invocation: run.invocation.clone(),
                    reason: reason.clone(),
                },
                more: wait,
            });
            if wait {
                run.waiters.push(client);
            }
        }
        let ended = RunEnd {
            invocation: run.invocation.clone(),
            result: RunResult::StartFailed,
            exit_status: None,
            reason: Some(reason),
            duration_usec: 0,
        };
        self.conclude(run, ended, now, world, out, false);
    }

    fn main_exited(&mut self, exit: Exit, now: Now, out: &mut Out) {
        let def = &self.def;
        let Phase::Running(run) = &mut self.phase else {
            return;
        };
        if run.ended.is_some() {
            return;
        }
        let stopped_with = run.stop_requested.then_some(def.stop_signal);
        let result = RunResult::of(def.kind, exit, run.timed_out, stopped_with);
        let status = ExitStatus::from(exit);
        // One clock for a run's length: the monotonic one. The recorded
        // end is the start plus that length, so `history`, the journal
        // and `--wait` agree even across a clock step.
        let took = now.mono.saturating_sub(run.started);
        let took_usec = i64::try_from(took.as_micros()).unwrap_or(i64::MAX);
        out.push(Action::RecordEnd(state::End {
            invocation: run.invocation.clone(),
            end_usec: run.start_usec.saturating_add(took_usec),
            result,
            exit_status: Some(status.clone()),
            reason: None,
        }));
        out.push(Action::Notice(Notice::Finished {
            invocation: run.invocation.clone(),
            result,
            status: status.clone(),
            took,
        }));
        run.ended = Some(Ended {
            result,
            status,
            at: now.mono,
        });
        run.timeout_at = None;
    }

    fn leftovers(&mut self, now: Now, out: &mut Out) {
        let (signal, timeout) = (self.def.stop_signal, self.def.stop_timeout);
        let Phase::Running(run) = &mut self.phase else {
            return;
        };
        if run.ended.is_none() || run.leftovers {
            return;
        }
        run.leftovers = true;
        out.push(Action::Notice(Notice::Leftovers {
            invocation: run.invocation.clone(),
            signal,
        }));
        out.push(Action::Signal(signal));
        let at = now.mono + timeout;
        run.kill_at = Some(run.kill_at.map_or(at, |k| k.min(at)));
    }

    fn scope_empty(&mut self, now: Now, world: &mut dyn World, out: &mut Out) {
        if !self.run().is_some_and(Run::finishing) {
            return;
        }
        let Phase::Running(run) = std::mem::replace(&mut self.phase, Phase::Rest) else {
            return;
        };
        let run = *run;
        let Some(ended) = run.ended.clone() else {
            return;
        };
        out.push(Action::Release);
        if run.leftovers {
            out.push(Action::Notice(Notice::LeftoversGone {
                invocation: run.invocation.clone(),
            }));
        }
        let took = ended.at.saturating_sub(run.started);
        let end = RunEnd {
            invocation: run.invocation.clone(),
            result: ended.result,
            exit_status: Some(ended.status),
            reason: None,
            duration_usec: u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
        };
        self.conclude(run, end, now, world, out, true);
    }

    /// A run is over: tell its clients, then restart, chain, or rest as
    /// the policy says. `exited`: it ran (a spawn failure restarts only
    /// through a timer, never from inside the step that failed).
    fn conclude(
        &mut self,
        run: Run,
        end: RunEnd,
        now: Now,
        world: &mut dyn World,
        out: &mut Out,
        exited: bool,
    ) {
        let result = end.result;
        for client in &run.waiters {
            out.push(Action::Answer {
                client: *client,
                answer: Answer::Ended(end.clone()),
                more: false,
            });
        }
        self.failed = result != RunResult::Success;
        if self.removed {
            out.push(Action::Forget);
            return;
        }
        let policy = Policy::of(&self.def);
        let uptime = Duration::from_micros(end.duration_usec);
        let stopped = run.stop_requested || self.stopped || run.then != Then::Policy;
        let decision = self
            .tracker
            .exited(&policy, now.mono, uptime, result, stopped);
        if decision.limit_hit {
            out.push(Action::Notice(Notice::StartLimitHit {
                burst: policy.burst,
                interval: policy.interval,
            }));
        }
        match run.then {
            Then::Start(trigger, cause) => {
                self.start(trigger, cause, Vec::new(), None, now, world, out);
            }
            Then::Policy => {
                if let Some(delay) = decision.restart_in {
                    let n = self.tracker.restarts.saturating_add(1);
                    out.push(Action::Notice(Notice::RestartScheduled { n, delay }));
                    if delay.is_zero() && exited {
                        self.start(
                            Trigger::Restart,
                            Cause::Restart,
                            Vec::new(),
                            None,
                            now,
                            world,
                            out,
                        );
                    } else {
                        self.phase = Phase::Restarting {
                            at: now.mono + delay,
                        };
                    }
                }
            }
        }
        if decision.on_failure && !self.def.on_failure.is_empty() {
            if !exited && run.trigger == Trigger::OnFailure {
                out.push(Action::Notice(Notice::ChainNotFired));
            } else {
                out.push(Action::Chain {
                    jobs: self.def.on_failure.clone(),
                    trigger: Trigger::OnFailure,
                    env: vec![
                        ("JOBD_FAILED_JOB".to_owned(), self.def.name.clone()),
                        ("JOBD_RESULT".to_owned(), result.as_str().to_owned()),
                    ],
                });
            }
        }
    }

    /// Plans the next calendar/cron elapse after `after_usec`.
    fn plan(&mut self, after_usec: i64, world: &mut dyn World) {
        self.elapse = if self.stopped || !self.def.enabled || self.removed {
            None
        } else {
            world.next_elapse(&self.def, after_usec)
        };
    }

    /// Forgets every pending trigger.
    fn unschedule(&mut self) {
        self.elapse = None;
        self.mono = None;
        if let Phase::Restarting { .. } = self.phase {
            self.phase = Phase::Rest;
        }
    }
}

/// A run as the history records its start.
fn record(run: &Run) -> state::Run {
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

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "client {}", self.0)
    }
}
