//! The lifecycle on a fake clock: every state × every event (the table),
//! then the sequences that went wrong before the lifecycle was one
//! machine.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::config::{self, Env};
use crate::tzdb::{SystemZones, local_zone};

const SEC: i64 = 1_000_000;

/// Elapses every `period` µs (none without one); invocations `inv1`, `inv2`…
struct FakeWorld {
    period: Option<i64>,
    invocations: u32,
    /// What the gate answers every due run.
    gate: Gate,
}

impl World for FakeWorld {
    fn next_elapse(&mut self, job: &Job, after_usec: i64) -> Option<Elapse> {
        let p = self.period.filter(|_| !job.schedules.is_empty())?;
        let usec = (after_usec.div_euclid(p) + 1) * p;
        Some(Elapse {
            usec,
            fire_usec: usec,
            trigger: Trigger::Calendar,
        })
    }

    fn invocation(&mut self) -> String {
        self.invocations += 1;
        format!("inv{}", self.invocations)
    }

    fn gate(&mut self, _job: &Job, _in_turn: bool) -> Gate {
        self.gate.clone()
    }
}

fn job(yaml: &str) -> Arc<Job> {
    let zones = SystemZones::with_local(local_zone(Some("UTC")));
    let text = format!("jobs:\n  j:\n{yaml}");
    let c = config::from_str(&text, Path::new("t.yaml"), &zones, &Env::from_process())
        .expect("test config");
    Arc::clone(&c.jobs[0])
}

/// A oneshot on a 10-second calendar.
const ONESHOT: &str = "    exec: x\n    on_calendar: '*:*:0/10'\n";
/// A daemon that restarts after anything, 100 ms later.
const DAEMON: &str = "    exec: x\n    restart: always\n    restart_sec: 100ms\n";

/// One job, a fake clock and a fake world.
struct T {
    life: Lifecycle,
    world: FakeWorld,
    now: Now,
    pid: u32,
}

impl T {
    fn new(yaml: &str) -> T {
        let mut t = T {
            life: Lifecycle::new(job(yaml)),
            world: FakeWorld {
                period: Some(10 * SEC),
                invocations: 0,
                gate: Gate::Open,
            },
            now: Now {
                mono: Duration::from_secs(1),
                wall_usec: 1_000 * SEC + SEC / 2,
            },
            pid: 100,
        };
        t.ev(Event::Load { missed: false });
        t
    }

    fn ev(&mut self, e: Event) -> Vec<Action> {
        self.life.step(e, self.now, &mut self.world)
    }

    fn advance(&mut self, d: Duration) {
        self.now.mono += d;
        self.now.wall_usec += i64::try_from(d.as_micros()).unwrap_or(0);
    }

    /// Feeds `Spawned` for every spawn asked for (as the daemon does).
    fn ev_spawning(&mut self, e: Event) -> Vec<Action> {
        let mut out = self.ev(e);
        if out.iter().any(|a| matches!(a, Action::Spawn { .. })) {
            self.pid += 1;
            let pid = self.pid;
            out.extend(self.ev(Event::Spawned { pid }));
        }
        out
    }

    /// The main process exits with `code` and nothing is left.
    fn exit(&mut self, code: i32) -> Vec<Action> {
        let mut out = self.ev(Event::MainExited(Exit::Code(code)));
        out.extend(self.ev_spawning(Event::ScopeEmpty));
        out
    }

    fn state(&self) -> JobState {
        self.life.state()
    }
}

fn spawns(out: &[Action]) -> Vec<Trigger> {
    out.iter()
        .filter_map(|a| match a {
            Action::Spawn { trigger, .. } => Some(*trigger),
            _ => None,
        })
        .collect()
}

fn has(out: &[Action], f: impl Fn(&Action) -> bool) -> bool {
    out.iter().any(f)
}

fn signals(out: &[Action]) -> bool {
    has(out, |a| matches!(a, Action::Signal(15)))
}

fn notice(out: &[Action], f: impl Fn(&Notice) -> bool) -> bool {
    has(out, |a| matches!(a, Action::Notice(n) if f(n)))
}

/// The states a job can be brought to here, and how.
#[derive(Clone, Copy, Debug)]
enum Bring {
    Idle,
    Running,
    Restarting,
    Stopping,
    Stopped,
    Failed,
    /// A due run held by `wait_for` (`on battery`).
    Waiting,
    /// A due run held by `max_concurrent`.
    Queued,
}

fn bring(from: Bring) -> T {
    let mut t = match from {
        Bring::Restarting => T::new(DAEMON),
        _ => T::new(ONESHOT),
    };
    match from {
        Bring::Idle => {}
        Bring::Running => {
            t.ev_spawning(Event::RunNow {
                client: Client(1),
                wait: false,
            });
        }
        Bring::Restarting => {
            // Started with the daemon; it crashes.
            t.ev(Event::Spawned { pid: 50 });
            t.exit(1);
        }
        Bring::Stopping => {
            t.ev_spawning(Event::RunNow {
                client: Client(1),
                wait: false,
            });
            t.ev(Event::Stop { client: Client(2) });
        }
        Bring::Stopped => {
            t.ev(Event::Stop { client: Client(2) });
        }
        Bring::Failed => {
            t.ev_spawning(Event::RunNow {
                client: Client(1),
                wait: false,
            });
            t.exit(3);
        }
        Bring::Waiting | Bring::Queued => {
            t.world.gate = if matches!(from, Bring::Waiting) {
                Gate::Wait("on battery".into())
            } else {
                Gate::Queue(2)
            };
            let out = apply(&mut t, On::Elapse);
            assert!(spawns(&out).is_empty(), "{out:#?}");
        }
    }
    assert_eq!(t.state(), expected_state(from), "bringing to {from:?}");
    t
}

fn expected_state(from: Bring) -> JobState {
    match from {
        Bring::Idle => JobState::Idle,
        Bring::Running => JobState::Running,
        Bring::Restarting => JobState::Restarting,
        Bring::Stopping => JobState::Stopping,
        Bring::Stopped => JobState::Stopped,
        Bring::Failed => JobState::Failed,
        Bring::Waiting => JobState::Waiting,
        Bring::Queued => JobState::Queued,
    }
}

#[derive(Clone, Copy, Debug)]
enum On {
    /// The wall clock reaches the next elapse.
    Elapse,
    /// 150 ms pass (past `restart_sec`).
    Timer,
    RunNow,
    Start,
    Stop,
    Restart,
    MainExit,
    Changed,
    Removed,
    Shutdown,
    /// The gate opens (a condition holds, a slot is free) and held runs
    /// are asked again.
    Recheck,
}

fn apply(t: &mut T, on: On) -> Vec<Action> {
    let c = Client(9);
    match on {
        On::Elapse => {
            let at = t.life.wall_deadline();
            if let Some(at) = at {
                let d = at - t.now.wall_usec;
                t.advance(Duration::from_micros(u64::try_from(d).unwrap_or(0)));
            }
            t.ev_spawning(Event::WallClock { changed: false })
        }
        On::Timer => {
            t.advance(Duration::from_millis(150));
            t.ev_spawning(Event::Timer)
        }
        On::RunNow => t.ev_spawning(Event::RunNow {
            client: c,
            wait: false,
        }),
        On::Start => t.ev_spawning(Event::Start { client: c }),
        On::Stop => t.ev(Event::Stop { client: c }),
        On::Restart => t.ev(Event::Restart { client: c }),
        On::MainExit => {
            if t.life.run().is_some() {
                t.exit(0)
            } else {
                t.ev(Event::MainExited(Exit::Code(0)))
            }
        }
        On::Changed => {
            let mut def = (**t.life.def()).clone();
            def.description = Some("changed".into());
            t.ev_spawning(Event::Changed(Arc::new(def)))
        }
        On::Removed => t.ev(Event::Removed),
        On::Shutdown => t.ev(Event::Shutdown),
        On::Recheck => {
            t.world.gate = Gate::Open;
            t.ev_spawning(Event::Recheck)
        }
    }
}

/// Every state × every event: the state that follows and what must (or
/// must not) be asked for.
#[test]
fn state_event_table() {
    use JobState as S;
    type Check = fn(&[Action]) -> bool;
    let none: Check = |o| spawns(o).is_empty() && !signals(o);
    let rows: &[(Bring, On, JobState, &str, Check)] = &[
        // Idle oneshot on a calendar.
        (
            Bring::Idle,
            On::Elapse,
            S::Running,
            "elapse starts it",
            |o| spawns(o) == [Trigger::Calendar],
        ),
        (
            Bring::Idle,
            On::Timer,
            S::Idle,
            "nothing relative is due",
            none,
        ),
        (Bring::Idle, On::RunNow, S::Running, "run-now", |o| {
            spawns(o) == [Trigger::Manual]
        }),
        (
            Bring::Idle,
            On::Start,
            S::Running,
            "start runs it now",
            |o| spawns(o) == [Trigger::Manual],
        ),
        (
            Bring::Idle,
            On::Stop,
            S::Stopped,
            "stop answers not running",
            |o| {
                has(o, |a| {
                    matches!(
                        a,
                        Action::Answer {
                            answer: Answer::NotRunning,
                            ..
                        }
                    )
                })
            },
        ),
        (
            Bring::Idle,
            On::Restart,
            S::Running,
            "restart of an idle job starts it",
            |o| spawns(o) == [Trigger::Manual],
        ),
        (
            Bring::Idle,
            On::MainExit,
            S::Idle,
            "a stray exit is ignored",
            none,
        ),
        (
            Bring::Idle,
            On::Changed,
            S::Idle,
            "a changed oneshot waits for its schedule",
            none,
        ),
        (
            Bring::Idle,
            On::Removed,
            S::Idle,
            "forgotten at once",
            |o| has(o, |a| *a == Action::Forget),
        ),
        (
            Bring::Idle,
            On::Shutdown,
            S::Stopped,
            "nothing to stop",
            none,
        ),
        // Running oneshot.
        (
            Bring::Running,
            On::Elapse,
            S::Running,
            "elapse skipped",
            |o| spawns(o).is_empty() && notice(o, |n| matches!(n, Notice::ElapseSkipped { .. })),
        ),
        (
            Bring::Running,
            On::Timer,
            S::Running,
            "no deadline yet",
            none,
        ),
        (
            Bring::Running,
            On::RunNow,
            S::Running,
            "already running",
            |o| {
                spawns(o).is_empty()
                    && has(o, |a| {
                        matches!(
                            a,
                            Action::Answer {
                                answer: Answer::AlreadyRunning { .. },
                                ..
                            }
                        )
                    })
            },
        ),
        (
            Bring::Running,
            On::Start,
            S::Running,
            "already running",
            |o| spawns(o).is_empty(),
        ),
        (
            Bring::Running,
            On::Stop,
            S::Stopping,
            "stop signals the run",
            signals,
        ),
        (
            Bring::Running,
            On::Restart,
            S::Stopping,
            "restart stops first",
            |o| signals(o) && spawns(o).is_empty(),
        ),
        (
            Bring::Running,
            On::MainExit,
            S::Idle,
            "success ends the run",
            |o| has(o, |a| *a == Action::Release) && spawns(o).is_empty(),
        ),
        (
            Bring::Running,
            On::Changed,
            S::Running,
            "a running oneshot finishes as it began",
            none,
        ),
        (
            Bring::Running,
            On::Removed,
            S::Stopping,
            "removed: stopped",
            signals,
        ),
        (
            Bring::Running,
            On::Shutdown,
            S::Stopping,
            "shutdown stops it",
            signals,
        ),
        // A daemon waiting restart_sec.
        (
            Bring::Restarting,
            On::Elapse,
            S::Restarting,
            "no calendar",
            none,
        ),
        (
            Bring::Restarting,
            On::Timer,
            S::Running,
            "the restart",
            |o| spawns(o) == [Trigger::Restart],
        ),
        (
            Bring::Restarting,
            On::RunNow,
            S::Running,
            "run-now replaces the pending restart",
            |o| spawns(o) == [Trigger::Manual],
        ),
        (
            Bring::Restarting,
            On::Start,
            S::Running,
            "start replaces it",
            |o| spawns(o) == [Trigger::Manual],
        ),
        (
            Bring::Restarting,
            On::Stop,
            S::Stopped,
            "stop cancels the restart",
            none,
        ),
        (
            Bring::Restarting,
            On::Restart,
            S::Running,
            "restart starts at once",
            |o| spawns(o) == [Trigger::Manual],
        ),
        (
            Bring::Restarting,
            On::MainExit,
            S::Restarting,
            "nothing runs",
            none,
        ),
        (
            Bring::Restarting,
            On::Changed,
            S::Running,
            "the new definition starts",
            |o| spawns(o) == [Trigger::Reload],
        ),
        (
            Bring::Restarting,
            On::Removed,
            S::Failed,
            "removed: forgotten",
            |o| has(o, |a| *a == Action::Forget) && spawns(o).is_empty(),
        ),
        (
            Bring::Restarting,
            On::Shutdown,
            S::Stopped,
            "shutdown cancels the restart",
            none,
        ),
        // A run being stopped by hand.
        (
            Bring::Stopping,
            On::Elapse,
            S::Stopping,
            "stopped: no schedule",
            none,
        ),
        (
            Bring::Stopping,
            On::Timer,
            S::Stopping,
            "SIGKILL not due yet",
            none,
        ),
        (
            Bring::Stopping,
            On::RunNow,
            S::Stopping,
            "already running",
            |o| spawns(o).is_empty(),
        ),
        (
            Bring::Stopping,
            On::Start,
            S::Stopping,
            "still stopping",
            |o| spawns(o).is_empty(),
        ),
        (
            Bring::Stopping,
            On::Stop,
            S::Stopping,
            "signalled once only",
            none,
        ),
        (
            Bring::Stopping,
            On::Restart,
            S::Stopping,
            "restart after the stop",
            none,
        ),
        (
            Bring::Stopping,
            On::MainExit,
            S::Stopped,
            "the stop is done",
            |o| {
                has(o, |a| {
                    matches!(
                        a,
                        Action::Answer {
                            answer: Answer::Ended(_),
                            ..
                        }
                    )
                })
            },
        ),
        (
            Bring::Stopping,
            On::Changed,
            S::Stopping,
            "no restart of a stopped oneshot",
            none,
        ),
        (
            Bring::Stopping,
            On::Removed,
            S::Stopping,
            "already stopping",
            none,
        ),
        (
            Bring::Stopping,
            On::Shutdown,
            S::Stopping,
            "already stopping",
            none,
        ),
        // Stopped by hand.
        (
            Bring::Stopped,
            On::Elapse,
            S::Stopped,
            "no schedule while stopped",
            none,
        ),
        (Bring::Stopped, On::Timer, S::Stopped, "nothing due", none),
        (
            Bring::Stopped,
            On::RunNow,
            S::Running,
            "run-now works while stopped",
            |o| spawns(o) == [Trigger::Manual],
        ),
        (
            Bring::Stopped,
            On::Start,
            S::Running,
            "start undoes the stop",
            |o| spawns(o) == [Trigger::Manual],
        ),
        (Bring::Stopped, On::Stop, S::Stopped, "still stopped", none),
        (
            Bring::Stopped,
            On::Restart,
            S::Running,
            "restart undoes the stop",
            |o| spawns(o) == [Trigger::Manual],
        ),
        (Bring::Stopped, On::MainExit, S::Stopped, "ignored", none),
        (
            Bring::Stopped,
            On::Changed,
            S::Stopped,
            "a reload keeps the stop",
            none,
        ),
        (Bring::Stopped, On::Removed, S::Stopped, "forgotten", |o| {
            has(o, |a| *a == Action::Forget)
        }),
        (
            Bring::Stopped,
            On::Shutdown,
            S::Stopped,
            "nothing to stop",
            none,
        ),
        // The last run failed.
        (
            Bring::Failed,
            On::Elapse,
            S::Running,
            "the schedule goes on",
            |o| spawns(o) == [Trigger::Calendar],
        ),
        (Bring::Failed, On::Timer, S::Failed, "nothing due", none),
        (Bring::Failed, On::RunNow, S::Running, "run-now", |o| {
            spawns(o) == [Trigger::Manual]
        }),
        (Bring::Failed, On::Start, S::Running, "start", |o| {
            spawns(o) == [Trigger::Manual]
        }),
        (Bring::Failed, On::Stop, S::Stopped, "stop", none),
        (Bring::Failed, On::Restart, S::Running, "restart", |o| {
            spawns(o) == [Trigger::Manual]
        }),
        (Bring::Failed, On::MainExit, S::Failed, "ignored", none),
        (
            Bring::Failed,
            On::Changed,
            S::Failed,
            "a oneshot waits for its schedule",
            none,
        ),
        (Bring::Failed, On::Removed, S::Failed, "forgotten", |o| {
            has(o, |a| *a == Action::Forget)
        }),
        (
            Bring::Failed,
            On::Shutdown,
            S::Stopped,
            "nothing to stop",
            none,
        ),
        // A held run asked again only moves if it is held.
        (Bring::Idle, On::Recheck, S::Idle, "nothing held", none),
        (
            Bring::Running,
            On::Recheck,
            S::Running,
            "nothing held",
            none,
        ),
        (
            Bring::Restarting,
            On::Recheck,
            S::Restarting,
            "a restart is not held",
            none,
        ),
        (
            Bring::Stopping,
            On::Recheck,
            S::Stopping,
            "nothing held",
            none,
        ),
        (
            Bring::Stopped,
            On::Recheck,
            S::Stopped,
            "nothing held",
            none,
        ),
        (Bring::Failed, On::Recheck, S::Failed, "nothing held", none),
        // A due run waits for a condition (the gate still says so).
        (
            Bring::Waiting,
            On::Elapse,
            S::Waiting,
            "without max_wait the next elapse takes the waiting one's place",
            |o| {
                spawns(o).is_empty()
                    && notice(
                        o,
                        |n| matches!(n, Notice::GaveUp { reason: Some(r), .. } if r == "on battery"),
                    )
                    && notice(o, |n| matches!(n, Notice::Deferred { .. }))
            },
        ),
        (Bring::Waiting, On::Timer, S::Waiting, "no max_wait", none),
        (
            Bring::Waiting,
            On::RunNow,
            S::Running,
            "run-now does not wait",
            |o| spawns(o) == [Trigger::Manual],
        ),
        (
            Bring::Waiting,
            On::Start,
            S::Running,
            "start does not wait",
            |o| spawns(o) == [Trigger::Manual],
        ),
        (
            Bring::Waiting,
            On::Stop,
            S::Stopped,
            "stop drops the waiting run",
            |o| {
                spawns(o).is_empty()
                    && !signals(o)
                    && has(o, |a| {
                        matches!(
                            a,
                            Action::Answer {
                                answer: Answer::NotRunning,
                                ..
                            }
                        )
                    })
            },
        ),
        (
            Bring::Waiting,
            On::Restart,
            S::Running,
            "restart runs it now",
            |o| spawns(o) == [Trigger::Manual],
        ),
        (
            Bring::Waiting,
            On::MainExit,
            S::Waiting,
            "a stray exit",
            none,
        ),
        (
            Bring::Waiting,
            On::Changed,
            S::Waiting,
            "a changed oneshot keeps its waiting run (asked again after the reload)",
            none,
        ),
        (Bring::Waiting, On::Removed, S::Idle, "forgotten", |o| {
            has(o, |a| *a == Action::Forget)
        }),
        (
            Bring::Waiting,
            On::Shutdown,
            S::Stopped,
            "the waiting run is dropped",
            none,
        ),
        (
            Bring::Waiting,
            On::Recheck,
            S::Running,
            "starts the moment the condition holds, as the elapse it is",
            |o| spawns(o) == [Trigger::Calendar],
        ),
        // A due run queued behind max_concurrent.
        (
            Bring::Queued,
            On::Elapse,
            S::Queued,
            "one queued run is enough",
            |o| {
                spawns(o).is_empty()
                    && notice(o, |n| {
                        matches!(
                            n,
                            Notice::ElapseMerged {
                                state: JobState::Queued
                            }
                        )
                    })
            },
        ),
        (Bring::Queued, On::Timer, S::Queued, "nothing due", none),
        (
            Bring::Queued,
            On::RunNow,
            S::Running,
            "run-now does not queue",
            |o| spawns(o) == [Trigger::Manual],
        ),
        (
            Bring::Queued,
            On::Start,
            S::Running,
            "start does not queue",
            |o| spawns(o) == [Trigger::Manual],
        ),
        (Bring::Queued, On::Stop, S::Stopped, "dequeued", none),
        (
            Bring::Queued,
            On::Restart,
            S::Running,
            "restart runs it now",
            |o| spawns(o) == [Trigger::Manual],
        ),
        (Bring::Queued, On::MainExit, S::Queued, "a stray exit", none),
        (Bring::Queued, On::Changed, S::Queued, "stays queued", none),
        (Bring::Queued, On::Removed, S::Idle, "forgotten", |o| {
            has(o, |a| *a == Action::Forget)
        }),
        (Bring::Queued, On::Shutdown, S::Stopped, "dequeued", none),
        (
            Bring::Queued,
            On::Recheck,
            S::Running,
            "a slot came free",
            |o| spawns(o) == [Trigger::Calendar],
        ),
    ];
    let mut seen = std::collections::HashSet::new();
    for (from, on, want, why, check) in rows {
        seen.insert((format!("{from:?}"), format!("{on:?}")));
        let mut t = bring(*from);
        let out = apply(&mut t, *on);
        assert_eq!(t.state(), *want, "{from:?} × {on:?} ({why}): {out:#?}");
        assert!(check(&out), "{from:?} × {on:?} ({why}): {out:#?}");
    }
    assert_eq!(seen.len(), 8 * 11, "every state × every event");
}

/// The reload defect: a reload that changed a crashing daemon during its
/// restart delay started the new definition, and then the old pending
/// restart fired as well — two copies.
#[test]
fn reload_during_restart_delay_starts_one_copy() {
    let mut t = bring(Bring::Restarting);
    let out = apply(&mut t, On::Changed);
    assert_eq!(spawns(&out), [Trigger::Reload]);
    assert_eq!(t.life.restart_at(), None, "the pending restart is gone");
    for _ in 0..5 {
        let out = apply(&mut t, On::Timer);
        assert!(spawns(&out).is_empty(), "{out:#?}");
    }
    assert_eq!(t.state(), JobState::Running);
}

/// A stop that arrives while the spawn is under way signals the run the
/// moment it has a pid, and the run ends `stopped`.
#[test]
fn stop_during_a_start() {
    let mut t = T::new(ONESHOT);
    let out = t.ev(Event::RunNow {
        client: Client(1),
        wait: true,
    });
    assert_eq!(spawns(&out), [Trigger::Manual]);
    let out = t.ev(Event::Stop { client: Client(2) });
    assert!(!signals(&out), "nothing to signal before the pid is known");
    assert_eq!(t.state(), JobState::Stopping);
    let out = t.ev(Event::Spawned { pid: 77 });
    assert!(signals(&out), "{out:#?}");
    let out = t.ev(Event::MainExited(Exit::Signal(15)));
    assert!(notice(&out, |n| matches!(
        n,
        Notice::Finished {
            result: RunResult::Success,
            ..
        }
    )));
    let out = t.ev(Event::ScopeEmpty);
    let mut ended: Vec<Client> = out
        .iter()
        .filter_map(|a| match a {
            Action::Answer {
                client,
                answer: Answer::Ended(_),
                ..
            } => Some(*client),
            _ => None,
        })
        .collect();
    ended.sort();
    assert_eq!(ended, [Client(1), Client(2)], "both clients told");
    assert_eq!(t.state(), JobState::Stopped);
    // Still stopped: SIGKILL's deadline is gone with the run.
    assert_eq!(t.life.mono_deadline(), None);
}

/// A crash loop hits the start limit; a reload that changes the job
/// revives it as a new unit: running, no "start limit hit", counter 0.
#[test]
fn start_limit_job_revived_by_reload() {
    let mut t = bring(Bring::Restarting);
    for _ in 0..10 {
        if t.state() != JobState::Restarting {
            break;
        }
        apply(&mut t, On::Timer);
        t.exit(1);
    }
    assert_eq!(t.state(), JobState::Failed);
    assert!(t.life.start_limit_hit());
    assert_eq!(t.life.restarts(), 4);
    let out = apply(&mut t, On::Changed);
    assert_eq!(spawns(&out), [Trigger::Reload]);
    assert_eq!(t.state(), JobState::Running);
    assert!(!t.life.start_limit_hit());
    assert_eq!(t.life.restarts(), 0);
}

/// `status` shows the pending restart as counted, as the journal's
/// "restart 1" line does.
#[test]
fn pending_restart_is_counted() {
    let t = bring(Bring::Restarting);
    assert_eq!(t.life.restarts(), 1);
    assert!(t.life.restart_at().is_some());
}

/// Runs started by a reload say so.
#[test]
fn reload_starts_have_trigger_reload() {
    let mut t = T::new(DAEMON);
    t.ev(Event::Spawned { pid: 5 });
    let out = apply(&mut t, On::Changed);
    assert!(signals(&out) && spawns(&out).is_empty());
    let out = t.exit(0);
    assert_eq!(spawns(&out), [Trigger::Reload]);
    let mut added = T {
        life: Lifecycle::new(job(DAEMON)),
        ..T::new(ONESHOT)
    };
    let out = added.ev(Event::Added);
    assert_eq!(spawns(&out), [Trigger::Reload]);
}

/// A job started by another's `on_failure` that cannot start does not
/// start its own `on_failure` jobs (two such jobs would go on for ever);
/// one that ran and failed does.
#[test]
fn on_failure_chain_that_fails_to_start_ends() {
    let yaml = "    exec: x\n    type: oneshot\n    on_failure: [j]\n";
    let mut t = T::new(yaml);
    let chained = |t: &mut T| {
        t.ev(Event::Chained {
            trigger: Trigger::OnFailure,
            by: "other".into(),
            env: Vec::new(),
        })
    };
    assert_eq!(spawns(&chained(&mut t)), [Trigger::OnFailure]);
    let out = t.ev(Event::SpawnFailed {
        reason: "not found".into(),
    });
    assert!(notice(&out, |n| *n == Notice::ChainNotFired), "{out:#?}");
    assert!(!has(&out, |a| matches!(a, Action::Chain { .. })));
    // The same job, started by hand, failing to start: chains.
    t.advance(Duration::from_secs(60));
    t.ev(Event::RunNow {
        client: Client(1),
        wait: false,
    });
    let out = t.ev(Event::SpawnFailed {
        reason: "not found".into(),
    });
    assert!(has(&out, |a| matches!(a, Action::Chain { .. })), "{out:#?}");
    // Started by on_failure, ran, failed: chains too.
    chained(&mut t);
    t.ev(Event::Spawned { pid: 9 });
    t.advance(Duration::from_secs(60));
    let out = t.exit(1);
    assert!(has(
        &out,
        |a| matches!(a, Action::Chain { jobs, .. } if jobs == &["j"])
    ));
}

/// After shutdown nothing starts, from any state, by any event.
#[test]
fn shutdown_in_every_state_starts_nothing() {
    for from in [
        Bring::Idle,
        Bring::Running,
        Bring::Restarting,
        Bring::Stopping,
        Bring::Stopped,
        Bring::Failed,
    ] {
        let mut t = bring(from);
        apply(&mut t, On::Shutdown);
        assert!(
            matches!(t.state(), JobState::Stopping | JobState::Stopped),
            "{from:?}: {:?}",
            t.state()
        );
        assert_eq!(t.life.wall_deadline(), None, "{from:?}: no schedule");
        assert_eq!(t.life.restart_at(), None, "{from:?}: no restart");
        for on in [On::MainExit, On::Elapse, On::Timer, On::RunNow, On::Changed] {
            let out = apply(&mut t, on);
            assert!(spawns(&out).is_empty(), "{from:?} then {on:?}: {out:#?}");
        }
    }
}

/// A run's end is recorded on one clock: end = start + monotonic length,
/// whatever the wall clock did meanwhile.
#[test]
fn one_clock_for_a_runs_length() {
    let mut t = bring(Bring::Running);
    t.now.mono += Duration::from_secs(3);
    t.now.wall_usec -= 3600 * SEC; // the clock was set back an hour
    let out = t.exit(0);
    let end = out.iter().find_map(|a| match a {
        Action::RecordEnd(e) => Some(e.clone()),
        _ => None,
    });
    let start = t.now.wall_usec + 3600 * SEC;
    assert_eq!(end.map(|e| e.end_usec), Some(start + 3 * SEC));
}

/// Zero-delay restarts start within the step that ended the run; after a
/// failed spawn they wait for the timer (never a loop within one step).
#[test]
fn immediate_restart_only_after_a_run() {
    let mut t = T::new("    exec: x\n    restart: always\n    restart_sec: 0\n");
    t.ev(Event::Spawned { pid: 5 });
    t.ev(Event::MainExited(Exit::Code(1)));
    let out = t.ev(Event::ScopeEmpty);
    assert_eq!(spawns(&out), [Trigger::Restart]);
    let out = t.ev(Event::SpawnFailed {
        reason: "gone".into(),
    });
    assert!(spawns(&out).is_empty());
    assert_eq!(t.state(), JobState::Restarting);
    let out = t.ev_spawning(Event::Timer);
    assert_eq!(spawns(&out), [Trigger::Restart]);
}

/// `max_wait` bounds the wait: past it the elapse is skipped, said once,
/// and the schedule goes on; within it, the next elapse joins the
/// waiting run instead of replacing it.
#[test]
fn max_wait_gives_up_and_the_schedule_goes_on() {
    let mut t = T::new(&format!("{ONESHOT}    max_wait: 15s\n"));
    t.world.gate = Gate::Wait("network not online".into());
    let out = apply(&mut t, On::Elapse);
    assert!(notice(
        &out,
        |n| matches!(n, Notice::Deferred { reason } if reason == "network not online")
    ));
    assert_eq!(t.state(), JobState::Waiting);
    assert_eq!(
        t.life.mono_deadline(),
        Some(t.now.mono + Duration::from_secs(15))
    );
    // The next elapse (10 s on) comes within max_wait: merged.
    let out = apply(&mut t, On::Elapse);
    assert!(
        notice(&out, |n| matches!(
            n,
            Notice::ElapseMerged {
                state: JobState::Waiting
            }
        )),
        "{out:#?}"
    );
    assert!(
        !notice(&out, |n| matches!(n, Notice::Deferred { .. })),
        "said once"
    );
    // 15 s after it became due, it gives up.
    t.advance(Duration::from_secs(5));
    let out = t.ev(Event::Timer);
    assert!(
        notice(
            &out,
            |n| matches!(n, Notice::GaveUp { waited, reason: Some(_) } if *waited == Duration::from_secs(15))
        ),
        "{out:#?}"
    );
    assert_eq!(t.state(), JobState::Idle);
    assert!(
        t.life.wall_deadline().is_some(),
        "the next elapse is planned"
    );
    // A condition that holds by the next elapse lets it run.
    t.world.gate = Gate::Open;
    let out = apply(&mut t, On::Elapse);
    assert_eq!(spawns(&out), [Trigger::Calendar]);
}

/// Queued, then a condition fails before its slot comes: it says so, and
/// a chained start while held is not a second run.
#[test]
fn held_runs_change_reason_and_refuse_chains() {
    let mut t = T::new(ONESHOT);
    t.world.gate = Gate::Queue(1);
    let out = apply(&mut t, On::Elapse);
    assert!(notice(&out, |n| matches!(n, Notice::Queued { limit: 1 })));
    t.world.gate = Gate::Wait("on battery".into());
    let out = t.ev(Event::Recheck);
    assert!(
        notice(&out, |n| matches!(n, Notice::Deferred { .. })),
        "{out:#?}"
    );
    assert_eq!(t.state(), JobState::Waiting);
    let out = t.ev(Event::Recheck);
    assert!(
        out.is_empty(),
        "the same reason is not said again: {out:#?}"
    );
    let out = t.ev(Event::Chained {
        trigger: Trigger::OnFailure,
        by: "other".into(),
        env: Vec::new(),
    });
    assert!(notice(&out, |n| matches!(n, Notice::ChainSkipped { .. })));
    assert!(spawns(&out).is_empty());
    // Manual and restart starts never ask the gate.
    let out = t.ev_spawning(Event::RunNow {
        client: Client(1),
        wait: false,
    });
    assert_eq!(spawns(&out), [Trigger::Manual]);
}

/// The OOM killer's hit makes the run's result `oom-kill`.
#[test]
fn oom_kill_is_the_result() {
    let mut t = T::new(ONESHOT);
    t.ev_spawning(Event::RunNow {
        client: Client(1),
        wait: false,
    });
    t.ev(Event::OomKilled);
    let out = t.ev(Event::MainExited(Exit::Signal(9)));
    assert!(
        notice(&out, |n| matches!(
            n,
            Notice::Finished {
                result: RunResult::OomKill,
                ..
            }
        )),
        "{out:#?}"
    );
}
