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

mod active;
mod events;
mod held;
pub mod policy;
mod reload;
mod switch;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use crate::config::{Job, JobType};
use crate::run::{Exit, ExitStatus, RunResult, Trigger};
use crate::state;
use active::{Ended, Then, record};
pub use active::{Held, Hold, Run};
pub use events::*;
use policy::{Cause, Policy, Tracker};

#[derive(Clone, Debug)]
enum Phase {
    Rest,
    Restarting {
        at: Mono,
    },
    /// A due run held by `wait_for` or `max_concurrent`.
    Held(Box<Held>),
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
    /// Switched off by `jobd disable` (over the file's `enabled`).
    switched_off: bool,
    shutting_down: bool,
    tracker: Tracker,
    /// The next calendar/cron elapse.
    elapse: Option<Elapse>,
    /// The next relative trigger (`on_active`, `on_startup`).
    mono: Option<(Mono, Trigger)>,
}

/// One step's inputs from outside and its actions.
struct Step<'w> {
    now: Now,
    world: &'w mut dyn World,
    out: Vec<Action>,
}

impl Step<'_> {
    fn push(&mut self, a: Action) {
        self.out.push(a);
    }

    fn notice(&mut self, n: Notice) {
        self.out.push(Action::Notice(n));
    }

    fn answer(&mut self, client: Client, answer: Answer, more: bool) {
        self.out.push(Action::Answer {
            client,
            answer,
            more,
        });
    }
}

/// Why and how a run is started.
#[derive(Clone, Debug)]
struct Start {
    trigger: Trigger,
    cause: Cause,
    env: Vec<(String, String)>,
    starter: Option<(Client, bool)>,
}

impl Start {
    /// Started by a schedule, the daemon's start-up or a reload.
    fn on(trigger: Trigger) -> Start {
        Start::by(trigger, Cause::Other)
    }

    fn by(trigger: Trigger, cause: Cause) -> Start {
        Start {
            trigger,
            cause,
            env: Vec::new(),
            starter: None,
        }
    }
}

impl Lifecycle {
    pub fn new(def: Arc<Job>) -> Lifecycle {
        Lifecycle {
            def,
            phase: Phase::Rest,
            stopped: false,
            failed: false,
            removed: false,
            switched_off: false,
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
            Phase::Held(h) if h.why == Hold::Queued => JobState::Queued,
            Phase::Held(_) => JobState::Waiting,
            Phase::Rest if self.stopped => JobState::Stopped,
            Phase::Rest if self.switched_off => JobState::Disabled,
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

    /// A oneshot run is going: it takes a `max_concurrent` slot.
    pub fn takes_slot(&self) -> bool {
        self.def.kind == JobType::Oneshot && self.run().is_some()
    }

    /// The due run held back (state `waiting` or `queued`).
    pub fn held(&self) -> Option<&Held> {
        match &self.phase {
            Phase::Held(h) => Some(h),
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
    /// counting the one pending (the journal's "restart N" line says so
    /// as it is scheduled, so `status` agrees with it).
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
            self.held().and_then(|h| h.until),
            run.and_then(|r| r.timeout_at),
            run.and_then(|r| r.kill_at),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Moves the job on by one event.
    pub fn step(&mut self, event: Event, now: Now, world: &mut dyn World) -> Vec<Action> {
        let s = &mut Step {
            now,
            world,
            out: Vec::new(),
        };
        match event {
            Event::Load { missed } => self.load(missed, s),
            Event::Added => self.added(s),
            Event::Changed(def) => self.changed(def, s),
            Event::Removed => self.remove(s),
            Event::WallClock { changed } => self.wall_clock(changed, s),
            Event::Timer => self.timer(s),
            Event::RunNow { client, wait } => self.run_now(client, wait, s),
            Event::Start { client } => {
                self.resume(s);
                self.run_now(client, false, s);
            }
            Event::Stop { client } => self.stop(client, s),
            Event::Restart { client } => self.restart(client, s),
            Event::Chained { trigger, by, env } => {
                if self.run().is_some() || self.held().is_some() {
                    s.notice(Notice::ChainSkipped { by });
                } else {
                    self.start(
                        Start {
                            env,
                            ..Start::on(trigger)
                        },
                        s,
                    );
                }
            }
            Event::Spawned { pid } => self.spawned(pid, s),
            Event::SpawnFailed { reason } => self.spawn_failed(reason, s),
            Event::MainExited(exit) => self.main_exited(exit, s),
            Event::Leftovers => self.leftovers(s),
            Event::ScopeEmpty => self.scope_empty(s),
            Event::Recheck => self.recheck(s),
            Event::Disable => self.disable(),
            Event::Enable => self.enable(s),
            Event::OomKilled => {
                if let Phase::Running(run) = &mut self.phase {
                    run.oom = true;
                }
            }
            Event::Shutdown => {
                self.shutting_down = true;
                self.stopped = true;
                self.unschedule();
                self.signal_stop(s);
            }
        }
        std::mem::take(&mut s.out)
    }

    fn wall_clock(&mut self, changed: bool, s: &mut Step<'_>) {
        let now = s.now.wall_usec;
        let due = self.elapse.filter(|e| e.fire_usec <= now);
        if changed && due.is_none() {
            self.plan(now, s);
        }
        if let Some(e) = due {
            self.plan(e.usec.max(now), s);
            self.elapse(e.trigger, e.usec, s);
        }
    }

    fn timer(&mut self, s: &mut Step<'_>) {
        let now = s.now.mono;
        if self.held().and_then(|h| h.until).is_some_and(|t| t <= now) {
            self.give_up(s);
        }
        if let Some((_, trigger)) = self.mono.filter(|(at, _)| *at <= now) {
            self.mono = None;
            if self.run().is_some()
                && let Some(d) = self.def.on_active
            {
                // Still running: count the span again from now, so a long
                // run does not end the repetition.
                self.mono = Some((now + d, Trigger::Active));
            }
            self.elapse(trigger, s.now.wall_usec, s);
        }
        if self.restart_at().is_some_and(|at| at <= now) {
            self.phase = Phase::Rest;
            self.start(Start::by(Trigger::Restart, Cause::Restart), s);
        }
        let (signal, stop_timeout) = (self.def.stop_signal, self.def.stop_timeout);
        let Phase::Running(run) = &mut self.phase else {
            return;
        };
        if run.timeout_at.is_some_and(|t| t <= now) {
            run.timeout_at = None;
            run.timed_out = true;
            let invocation = run.invocation.clone();
            s.notice(Notice::TimedOut { invocation, signal });
            s.push(Action::Signal(signal));
            run.kill_at = Some(now + stop_timeout);
        }
        if run.kill_at.is_some_and(|t| t <= now) {
            run.kill_at = None;
            if run.ended.is_none() {
                // systemd's result for a stop that needed SIGKILL.
                run.timed_out = true;
            }
            let invocation = run.invocation.clone();
            let after = stop_timeout;
            s.notice(Notice::Killing { invocation, after });
            s.push(Action::Kill);
        }
    }

    /// A schedule is due: start, unless a run is going or held.
    fn elapse(&mut self, trigger: Trigger, elapse_usec: i64, s: &mut Step<'_>) {
        if let Some(h) = self.held() {
            if self.def.max_wait.is_none() && matches!(h.why, Hold::Waiting(_)) {
                // Without `max_wait` a run waits until the next elapse,
                // which takes its place.
                self.give_up(s);
            } else {
                let state = self.state();
                return s.notice(Notice::ElapseMerged { state });
            }
        }
        if let Some(run) = self.run() {
            s.notice(Notice::ElapseSkipped {
                elapse_usec,
                invocation: run.invocation.clone(),
                pid: run.pid,
            });
            return;
        }
        self.start(Start::on(trigger), s);
    }

    fn run_now(&mut self, client: Client, wait: bool, s: &mut Step<'_>) {
        if let Phase::Running(run) = &mut self.phase {
            let (pid, invocation) = (run.pid, run.invocation.clone());
            s.answer(client, Answer::AlreadyRunning { pid, invocation }, wait);
            if wait {
                run.waiters.push(client);
            }
            return;
        }
        let starter = Some((client, wait));
        self.start(
            Start {
                starter,
                ..Start::by(Trigger::Manual, Cause::Manual)
            },
            s,
        );
    }

    /// Undoes `stop`: the schedule applies again.
    fn resume(&mut self, s: &mut Step<'_>) {
        self.stopped = false;
        if let Phase::Restarting { .. } = self.phase {
            self.phase = Phase::Rest;
        }
        self.plan(s.now.wall_usec, s);
    }

    fn stop(&mut self, client: Client, s: &mut Step<'_>) {
        self.stopped = true;
        self.unschedule();
        if let Phase::Running(run) = &mut self.phase {
            run.waiters.push(client);
            self.signal_stop(s);
        } else {
            s.answer(client, Answer::NotRunning, false);
        }
    }

    fn restart(&mut self, client: Client, s: &mut Step<'_>) {
        let Phase::Running(run) = &mut self.phase else {
            self.resume(s);
            return self.run_now(client, false, s);
        };
        self.stopped = false;
        run.then = Then::Start(Trigger::Manual, Cause::Manual);
        let invocation = run.invocation.clone();
        s.answer(client, Answer::Restarting { invocation }, false);
        self.signal_stop(s);
    }

    /// Sends the stop signal to the whole run (once) and plans the SIGKILL
    /// after `stop_timeout`; cancels a pending restart.
    fn signal_stop(&mut self, s: &mut Step<'_>) {
        let (signal, timeout) = (self.def.stop_signal, self.def.stop_timeout);
        match &mut self.phase {
            Phase::Running(run) => {
                if run.stop_requested {
                    return;
                }
                run.stop_requested = true;
                // Before the spawn's answer there is nothing to signal;
                // `spawned` sends it.
                if run.pid.is_some() {
                    s.push(Action::Signal(signal));
                }
                let at = s.now.mono + timeout;
                run.kill_at = Some(run.kill_at.map_or(at, |k| k.min(at)));
            }
            Phase::Restarting { .. } | Phase::Held(_) => self.phase = Phase::Rest,
            Phase::Rest => {}
        }
    }

    /// Starts a run, or holds it if the gate says so (`wait_for`,
    /// `max_concurrent`; runs started by hand or by the restart policy
    /// never wait).
    fn start(&mut self, start: Start, s: &mut Step<'_>) {
        if self.shutting_down {
            return refuse_start(start.starter, s);
        }
        if !matches!(start.trigger, Trigger::Manual | Trigger::Restart) {
            match s.world.gate(&self.def, false) {
                Gate::Open => {}
                gate => return self.hold(start, gate, s),
            }
        }
        self.launch(start, s);
    }

    /// Starts a run now: the spawn's answer comes back as an event.
    fn launch(&mut self, start: Start, s: &mut Step<'_>) {
        self.tracker
            .started(&Policy::of(&self.def), s.now.mono, start.cause);
        // Whatever refused restarts before, this run is going.
        self.tracker.limit_hit = false;
        let invocation = s.world.invocation();
        if let (Some(d), true) = (self.def.on_active, self.enabled() && !self.stopped) {
            self.mono = Some((s.now.mono + d, Trigger::Active));
        }
        self.phase = Phase::Running(Box::new(Run {
            invocation: invocation.clone(),
            pid: None,
            trigger: start.trigger,
            start_usec: s.now.wall_usec,
            started: s.now.mono,
            starter: start.starter,
            timeout_at: self.def.timeout.map(|t| s.now.mono + t),
            kill_at: None,
            stop_requested: false,
            timed_out: false,
            ended: None,
            leftovers: false,
            oom: false,
            waiters: Vec::new(),
            then: Then::Policy,
        }));
        s.push(Action::Spawn {
            invocation,
            trigger: start.trigger,
            env: start.env,
        });
    }

    fn spawned(&mut self, pid: u32, s: &mut Step<'_>) {
        let Phase::Running(run) = &mut self.phase else {
            return;
        };
        run.pid = Some(pid);
        s.push(Action::RecordStart(record(run)));
        s.notice(Notice::Started {
            invocation: run.invocation.clone(),
            pid,
            trigger: run.trigger,
        });
        if let Some((client, wait)) = run.starter.take() {
            let invocation = run.invocation.clone();
            s.answer(client, Answer::Started { pid, invocation }, wait);
            if wait {
                run.waiters.push(client);
            }
        }
        if run.stop_requested {
            // Stopped while it was being started: the SIGKILL is planned
            // already, the signal could not be sent until now.
            s.push(Action::Signal(self.def.stop_signal));
        }
    }

    fn spawn_failed(&mut self, reason: String, s: &mut Step<'_>) {
        let Phase::Running(run) = std::mem::replace(&mut self.phase, Phase::Rest) else {
            return;
        };
        let mut run = *run;
        let invocation = run.invocation.clone();
        s.notice(Notice::StartFailed {
            invocation: invocation.clone(),
            trigger: run.trigger,
            reason: reason.clone(),
        });
        s.push(Action::RecordStart(record(&run)));
        s.push(Action::RecordEnd(state::End {
            invocation: invocation.clone(),
            end_usec: s.now.wall_usec,
            result: RunResult::StartFailed,
            exit_status: None,
            reason: Some(reason.clone()),
        }));
        if let Some((client, _)) = run.starter.take() {
            // The whole answer, even for `--wait`: there is no run to wait for.
            let (invocation, reason) = (Some(invocation.clone()), reason.clone());
            s.answer(client, Answer::StartFailed { invocation, reason }, false);
        }
        let end = RunEnd {
            invocation,
            result: RunResult::StartFailed,
            exit_status: None,
            reason: Some(reason),
            duration_usec: 0,
        };
        self.conclude(run, end, false, s);
    }

    fn main_exited(&mut self, exit: Exit, s: &mut Step<'_>) {
        let def = &self.def;
        let Phase::Running(run) = &mut self.phase else {
            return;
        };
        if run.ended.is_some() {
            return;
        }
        let stopped_with = run.stop_requested.then_some(def.stop_signal);
        let result = if run.oom {
            RunResult::OomKill
        } else {
            RunResult::of(def.kind, exit, run.timed_out, stopped_with)
        };
        let status = ExitStatus::from(exit);
        // One clock for a run's length: the monotonic one. The recorded
        // end is the start plus that length, so `history`, the journal
        // and `--wait` agree even across a clock step.
        let took = s.now.mono.saturating_sub(run.started);
        let took_usec = i64::try_from(took.as_micros()).unwrap_or(i64::MAX);
        s.push(Action::RecordEnd(state::End {
            invocation: run.invocation.clone(),
            end_usec: run.start_usec.saturating_add(took_usec),
            result,
            exit_status: Some(status.clone()),
            reason: None,
        }));
        s.notice(Notice::Finished {
            invocation: run.invocation.clone(),
            result,
            status: status.clone(),
            took,
        });
        run.ended = Some(Ended {
            result,
            status,
            at: s.now.mono,
        });
        run.timeout_at = None;
    }

    fn leftovers(&mut self, s: &mut Step<'_>) {
        let (signal, timeout) = (self.def.stop_signal, self.def.stop_timeout);
        let Phase::Running(run) = &mut self.phase else {
            return;
        };
        if run.ended.is_none() || run.leftovers {
            return;
        }
        run.leftovers = true;
        let invocation = run.invocation.clone();
        s.notice(Notice::Leftovers { invocation, signal });
        s.push(Action::Signal(signal));
        let at = s.now.mono + timeout;
        run.kill_at = Some(run.kill_at.map_or(at, |k| k.min(at)));
    }

    fn scope_empty(&mut self, s: &mut Step<'_>) {
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
        s.push(Action::Release);
        if run.leftovers {
            let invocation = run.invocation.clone();
            s.notice(Notice::LeftoversGone { invocation });
        }
        let took = ended.at.saturating_sub(run.started);
        let end = RunEnd {
            invocation: run.invocation.clone(),
            result: ended.result,
            exit_status: Some(ended.status),
            reason: None,
            duration_usec: u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
        };
        self.conclude(run, end, true, s);
    }

    /// A run is over: tell its clients, then restart, chain, or rest as
    /// the policy says. `exited`: it ran (after a spawn failure a restart
    /// waits for a timer, never starts from inside the failed step).
    fn conclude(&mut self, run: Run, end: RunEnd, exited: bool, s: &mut Step<'_>) {
        let result = end.result;
        for client in &run.waiters {
            s.answer(*client, Answer::Ended(end.clone()), false);
        }
        self.failed = result != RunResult::Success;
        if self.removed {
            return s.push(Action::Forget);
        }
        let policy = Policy::of(&self.def);
        let uptime = Duration::from_micros(end.duration_usec);
        let stopped =
            run.stop_requested || self.stopped || self.switched_off || run.then != Then::Policy;
        let decision = self
            .tracker
            .exited(&policy, s.now.mono, uptime, result, stopped);
        if decision.limit_hit {
            let (burst, interval) = (policy.burst, policy.interval);
            s.notice(Notice::StartLimitHit { burst, interval });
        }
        match run.then {
            Then::Start(trigger, cause) => self.start(Start::by(trigger, cause), s),
            Then::Policy => {
                if let Some(delay) = decision.restart_in {
                    let n = self.tracker.restarts.saturating_add(1);
                    s.notice(Notice::RestartScheduled { n, delay });
                    if delay.is_zero() && exited {
                        self.start(Start::by(Trigger::Restart, Cause::Restart), s);
                    } else {
                        self.phase = Phase::Restarting {
                            at: s.now.mono + delay,
                        };
                    }
                }
            }
        }
        if decision.on_failure && !self.def.on_failure.is_empty() {
            if !exited && run.trigger == Trigger::OnFailure {
                s.notice(Notice::ChainNotFired);
            } else {
                let mut env = vec![
                    ("JOBD_FAILED_JOB".to_owned(), self.def.name.clone()),
                    ("JOBD_FAILED_INVOCATION".to_owned(), end.invocation.clone()),
                    ("JOBD_RESULT".to_owned(), result.to_string()),
                ];
                if let Some(status) = &end.exit_status {
                    env.push(("JOBD_EXIT_STATUS".to_owned(), status.to_string()));
                }
                s.push(Action::Chain {
                    jobs: self.def.on_failure.clone(),
                    trigger: Trigger::OnFailure,
                    env,
                });
            }
        }
        if result == RunResult::Success && !self.def.on_success.is_empty() && !self.shutting_down {
            s.push(Action::Chain {
                jobs: self.def.on_success.clone(),
                trigger: Trigger::OnSuccess,
                env: vec![
                    ("JOBD_TRIGGERED_BY".to_owned(), self.def.name.clone()),
                    (
                        "JOBD_TRIGGERED_INVOCATION".to_owned(),
                        end.invocation.clone(),
                    ),
                ],
            });
        }
    }

    /// Plans the next calendar/cron elapse after `after_usec`.
    fn plan(&mut self, after_usec: i64, s: &mut Step<'_>) {
        self.elapse = if self.stopped || !self.enabled() || self.removed {
            None
        } else {
            s.world.next_elapse(&self.def, after_usec)
        };
    }

    /// Forgets every pending trigger, a pending restart included.
    fn unschedule(&mut self) {
        self.elapse = None;
        self.mono = None;
        if let Phase::Restarting { .. } | Phase::Held(_) = self.phase {
            self.phase = Phase::Rest;
        }
    }
}

/// A start asked for while jobd shuts down: refused, and the client told.
fn refuse_start(starter: Option<(Client, bool)>, s: &mut Step<'_>) {
    s.notice(Notice::ShuttingDown);
    if let Some((client, _)) = starter {
        let answer = Answer::StartFailed {
            invocation: None,
            reason: "jobd is shutting down".to_owned(),
        };
        s.answer(client, answer, false);
    }
}
