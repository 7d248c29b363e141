//! PURE: what happens after a run ends — restart or not, after how long,
//! whether the start limit is hit, whether `on_failure` fires.
//!
//! No clock is read here: every call gets `now` as a [`Duration`] on the
//! daemon's monotonic clock (time since it started), so the unit tests
//! drive a fake clock.
//!
//! The rules, and where they come from:
//! - Results and `restart` follow systemd.service(5)'s table (the code is
//!   `service_shall_restart` in service.c): `on-failure` restarts after
//!   any result but `success`; `on-abnormal` after `signal` and `timeout`
//!   only; a stop by hand never restarts.
//! - A clean exit is exit 0, and for `simple` jobs also death by SIGHUP,
//!   SIGINT, SIGTERM or SIGPIPE (systemd's `EXIT_CLEAN_DAEMON`; a oneshot
//!   is clean with 0 only, `EXIT_CLEAN_COMMAND`).
//! - Start limit (systemd's `StartLimitIntervalSec=`/`StartLimitBurst=`):
//!   every start counts; an automatic restart that would be the
//!   `burst + 1`-th start inside `interval` is refused and the job is
//!   `failed` until started by hand, which clears the count. Scheduled
//!   elapses and manual starts are never refused: a schedule limits itself
//!   and a user asked. `burst` or `interval` 0 turns the limit off, as in
//!   systemd.
//! - Back-off (systemd 254's `RestartSteps=`/`RestartMaxDelaySec=`, with
//!   the reset systemd lacks): the n-th consecutive restart waits
//!   `restart_sec · 2ⁿ`, capped at `restart_max_sec`. A run that stayed up
//!   for `restart_max_sec` was healthy: the next failure starts again at
//!   `restart_sec`.
//! - A failure streak is a run that failed plus the automatic restarts
//!   that follow it while they keep failing, each within
//!   `max(restart_max_sec, start_limit_interval)` of its start (a run that
//!   outlives a start-limit window is not part of a crash loop). A
//!   success, a manual start or a scheduled start ends the streak.
//!   `on_failure` fires once per streak, at its first failure —
//!   not only when restarts are given up, as systemd's `OnFailure=` does,
//!   so a crash is reported at once, and not on every attempt.

use std::collections::VecDeque;
use std::time::Duration;

use crate::config::{Job, Restart};
use crate::run::RunResult;

/// systemd's `Restart=` table.
pub fn shall_restart(policy: Restart, result: RunResult) -> bool {
    match policy {
        Restart::No => false,
        Restart::Always => true,
        Restart::OnSuccess => result == RunResult::Success,
        Restart::OnFailure => result != RunResult::Success,
        Restart::OnAbnormal => matches!(result, RunResult::Signal | RunResult::Timeout),
    }
}

/// The part of a job's definition the rules read.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    pub restart: Restart,
    pub restart_sec: Duration,
    pub restart_max_sec: Duration,
    pub burst: u32,
    pub interval: Duration,
}

impl Policy {
    pub fn of(job: &Job) -> Policy {
        Policy {
            restart: job.restart,
            restart_sec: job.restart_sec,
            restart_max_sec: job.restart_max_sec,
            burst: job.start_limit_burst,
            interval: job.start_limit_interval,
        }
    }

    /// The delay before the `n`-th consecutive restart (0-based).
    pub fn delay(&self, n: u32) -> Duration {
        let cap = self.restart_max_sec;
        if cap <= self.restart_sec {
            return self.restart_sec;
        }
        // With restart_sec 0 there is nothing to double: the first
        // restart is immediate, then 100 ms, 200 ms, ...
        let (base, exp) = if self.restart_sec.is_zero() {
            if n == 0 {
                return Duration::ZERO;
            }
            (Duration::from_millis(100), n - 1)
        } else {
            (self.restart_sec, n)
        };
        base.checked_mul(1u32.checked_shl(exp).unwrap_or(u32::MAX))
            .map_or(cap, |d| d.min(cap))
    }
}

/// Who started a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// `start`, `restart`, `run-now`.
    Manual,
    /// The restart policy.
    Restart,
    /// A schedule, the daemon's start-up, a reload, `on_failure`.
    Other,
}

/// What to do after a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Start again after this long.
    pub restart_in: Option<Duration>,
    /// The restart was refused by the start limit: the job is `failed`.
    pub limit_hit: bool,
    /// Start the job's `on_failure` jobs.
    pub on_failure: bool,
}

/// A job's restart bookkeeping.
#[derive(Clone, Debug, Default)]
pub struct Tracker {
    /// Start times inside the current start-limit interval.
    starts: VecDeque<Duration>,
    /// Consecutive automatic restarts since the streak began.
    streak: u32,
    /// The current streak has had its failure reported.
    failing: bool,
    /// Automatic restarts since loading or the last manual start
    /// (systemd's `NRestarts`).
    pub restarts: u32,
    /// The start limit was hit; cleared by a manual start.
    pub limit_hit: bool,
}

impl Tracker {
    /// A run started at `now`.
    pub fn started(&mut self, p: &Policy, now: Duration, cause: Cause) {
        match cause {
            Cause::Manual => {
                self.starts.clear();
                self.limit_hit = false;
                self.restarts = 0;
                self.streak = 0;
                self.failing = false;
            }
            Cause::Restart => self.restarts = self.restarts.saturating_add(1),
            Cause::Other => {
                self.streak = 0;
                self.failing = false;
            }
        }
        self.forget_before(p, now);
        if p.burst > 0 && !p.interval.is_zero() {
            self.starts.push_back(now);
        }
    }

    fn forget_before(&mut self, p: &Policy, now: Duration) {
        while self
            .starts
            .front()
            .is_some_and(|&t| now.saturating_sub(t) >= p.interval)
        {
            self.starts.pop_front();
        }
    }

    /// A run ended at `now` after `uptime` with `result`; `stopped`: a
    /// stop was asked for (by hand, a reload, the daemon's shutdown).
    pub fn exited(
        &mut self,
        p: &Policy,
        now: Duration,
        uptime: Duration,
        result: RunResult,
        stopped: bool,
    ) -> Decision {
        if uptime >= p.restart_max_sec {
            // It was healthy for a while: back-off starts over.
            self.streak = 0;
        }
        if uptime >= p.restart_max_sec.max(p.interval) {
            // It outlived a start-limit window too: not part of a crash
            // loop, so this failure is reported as a new one.
            self.failing = false;
        }
        let failed = result != RunResult::Success;
        let on_failure = failed && !self.failing;
        if failed {
            self.failing = true;
        } else {
            self.failing = false;
            self.streak = 0;
        }
        let mut d = Decision {
            restart_in: None,
            limit_hit: false,
            on_failure,
        };
        if stopped || !shall_restart(p.restart, result) {
            return d;
        }
        let delay = p.delay(self.streak);
        let at = now + delay;
        self.forget_before(p, at);
        if p.burst > 0 && !p.interval.is_zero() && self.starts.len() >= p.burst as usize {
            self.limit_hit = true;
            d.limit_hit = true;
            return d;
        }
        self.streak = self.streak.saturating_add(1);
        d.restart_in = Some(delay);
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn policy(restart: Restart, sec: u64, max: u64) -> Policy {
        Policy {
            restart,
            restart_sec: ms(sec),
            restart_max_sec: ms(max),
            burst: 5,
            interval: ms(10_000),
        }
    }

    #[test]
    fn systemd_restart_table() {
        use RunResult::*;
        let rows = [
            // result, no, always, on-success, on-failure, on-abnormal
            (Success, [false, true, true, false, false]),
            (ExitCode, [false, true, false, true, false]),
            (Signal, [false, true, false, true, true]),
            (Timeout, [false, true, false, true, true]),
            (StartFailed, [false, true, false, true, false]),
        ];
        let policies = [
            Restart::No,
            Restart::Always,
            Restart::OnSuccess,
            Restart::OnFailure,
            Restart::OnAbnormal,
        ];
        for (result, want) in rows {
            for (p, w) in policies.iter().zip(want) {
                assert_eq!(shall_restart(*p, result), w, "{p:?} after {result:?}");
            }
        }
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let p = policy(Restart::Always, 100, 1000);
        let got: Vec<u64> = (0..6).map(|n| p.delay(n).as_millis() as u64).collect();
        assert_eq!(got, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(policy(Restart::Always, 100, 100).delay(7), ms(100));
        assert_eq!(policy(Restart::Always, 500, 100).delay(3), ms(500));
        let z = policy(Restart::Always, 0, 1000);
        let got: Vec<u64> = (0..6).map(|n| z.delay(n).as_millis() as u64).collect();
        assert_eq!(got, [0, 100, 200, 400, 800, 1000]);
        // Huge counts saturate at the cap instead of overflowing.
        assert_eq!(p.delay(200), ms(1000));
    }

    /// Runs a crash loop on a fake clock: each run lives `uptime`, then
    /// fails; returns the delays chosen until the policy stops.
    fn crash_loop(p: &Policy, t: &mut Tracker, uptime: Duration, runs: usize) -> Vec<Decision> {
        let mut now = Duration::from_secs(100);
        let mut out = Vec::new();
        let mut cause = Cause::Manual;
        for _ in 0..runs {
            t.started(p, now, cause);
            now += uptime;
            let d = t.exited(p, now, uptime, RunResult::Signal, false);
            out.push(d);
            match d.restart_in {
                Some(delay) => now += delay,
                None => break,
            }
            cause = Cause::Restart;
        }
        out
    }

    #[test]
    fn backoff_resets_after_a_stable_run() {
        let mut p = policy(Restart::Always, 100, 800);
        p.burst = 0;
        let mut t = Tracker::default();
        let d = crash_loop(&p, &mut t, ms(10), 5);
        let delays: Vec<_> = d.iter().map(|d| d.restart_in.unwrap()).collect();
        assert_eq!(delays, [ms(100), ms(200), ms(400), ms(800), ms(800)]);
        assert_eq!(t.restarts, 4);
        // The next run stays up 800 ms: the delay is back to 100 ms; still
        // the same failure streak (shorter than the 10 s start-limit window).
        t.started(&p, Duration::from_secs(200), Cause::Restart);
        let d = t.exited(
            &p,
            Duration::from_secs(201),
            ms(800),
            RunResult::Signal,
            false,
        );
        assert_eq!(d.restart_in, Some(ms(100)));
        assert!(!d.on_failure);
        // One that outlives the window is a new failure, reported again.
        t.started(&p, Duration::from_secs(300), Cause::Restart);
        let d = t.exited(
            &p,
            Duration::from_secs(311),
            ms(11_000),
            RunResult::Signal,
            false,
        );
        assert_eq!(d.restart_in, Some(ms(100)));
        assert!(d.on_failure);
    }

    #[test]
    fn start_limit_refuses_the_sixth_start_and_a_manual_start_clears_it() {
        let p = policy(Restart::Always, 100, 100);
        let mut t = Tracker::default();
        let d = crash_loop(&p, &mut t, ms(10), 10);
        assert_eq!(d.len(), 5, "five starts, then refused");
        assert!(
            d[..4]
                .iter()
                .all(|d| d.restart_in.is_some() && !d.limit_hit)
        );
        assert!(d[4].limit_hit && d[4].restart_in.is_none());
        assert!(t.limit_hit);
        assert_eq!(t.restarts, 4);
        t.started(&p, Duration::from_secs(300), Cause::Manual);
        assert!(!t.limit_hit);
        assert_eq!(t.restarts, 0);
        let d = t.exited(
            &p,
            Duration::from_secs(300),
            ms(5),
            RunResult::ExitCode,
            false,
        );
        assert_eq!(d.restart_in, Some(ms(100)));
    }

    #[test]
    fn start_limit_window_slides() {
        // Runs of 3 s: never more than 4 starts in 10 s.
        let p = policy(Restart::Always, 100, 100);
        let mut t = Tracker::default();
        let d = crash_loop(&p, &mut t, ms(3000), 30);
        assert_eq!(d.len(), 30);
        assert!(d.iter().all(|d| !d.limit_hit));
    }

    #[test]
    fn limit_off_with_zero_burst_or_interval() {
        for (burst, interval) in [(0, 10_000), (5, 0)] {
            let mut p = policy(Restart::Always, 0, 0);
            p.burst = burst;
            p.interval = ms(interval);
            let mut t = Tracker::default();
            assert_eq!(crash_loop(&p, &mut t, ms(1), 100).len(), 100);
        }
    }

    #[test]
    fn on_failure_once_per_streak() {
        let p = policy(Restart::OnFailure, 100, 100);
        let mut t = Tracker::default();
        let d = crash_loop(&p, &mut t, ms(10), 10);
        let fired: Vec<bool> = d.iter().map(|d| d.on_failure).collect();
        assert_eq!(fired, [true, false, false, false, false]);
        // A success ends the streak; the next failure reports again.
        t.started(&p, Duration::from_secs(500), Cause::Manual);
        let d = t.exited(
            &p,
            Duration::from_secs(500),
            ms(1),
            RunResult::Success,
            false,
        );
        assert!(!d.on_failure && d.restart_in.is_none());
        t.started(&p, Duration::from_secs(501), Cause::Other);
        let d = t.exited(
            &p,
            Duration::from_secs(501),
            ms(1),
            RunResult::ExitCode,
            false,
        );
        assert!(d.on_failure);
        // A scheduled run is a streak of its own even when it fails fast.
        t.started(&p, Duration::from_secs(600), Cause::Other);
        let d = t.exited(
            &p,
            Duration::from_secs(600),
            ms(1),
            RunResult::ExitCode,
            false,
        );
        assert!(d.on_failure);
    }

    #[test]
    fn a_stop_by_hand_never_restarts() {
        let p = policy(Restart::Always, 100, 100);
        let mut t = Tracker::default();
        t.started(&p, ms(0), Cause::Manual);
        let d = t.exited(&p, ms(50), ms(50), RunResult::Success, true);
        assert_eq!(d.restart_in, None);
        assert!(!d.limit_hit);
    }
}
