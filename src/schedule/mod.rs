//! Pure scheduling decisions: when a job's calendar/cron schedule next
//! elapses, whether a persistent job missed an elapse while the daemon was
//! down, and where a randomized delay puts an elapse. No clock, no
//! randomness of its own: `now` and the random draw are parameters.
//!
//! Mirrors systemd.timer(5): the next elapse of several `OnCalendar=` is
//! the earliest of them; `Persistent=` fires once at start-up if an elapse
//! was missed since the last start; `RandomizedDelaySec=` delays each
//! elapse by a uniform random span in `[0, delay]`.

use std::time::Duration;

use crate::calendar::{MktimeState, Zone};
use crate::config::{Job, ScheduleKind};
use crate::run::Trigger;

/// The first calendar/cron elapse of `job` strictly after `after_usec`
/// (µs since the epoch) and the trigger that gives it, or `None` if it
/// has none.
pub fn next_elapse(
    job: &Job,
    after_usec: i64,
    local: &Zone,
    state: &mut MktimeState,
) -> Option<(i64, Trigger)> {
    job.schedules
        .iter()
        .filter_map(|s| entry_elapse(s, after_usec, local, state))
        .min_by_key(|(t, _)| *t)
}

/// The first elapse of one `on_calendar`/`cron` entry after `after_usec`.
fn entry_elapse(
    s: &crate::config::Schedule,
    after_usec: i64,
    local: &Zone,
    state: &mut MktimeState,
) -> Option<(i64, Trigger)> {
    match &s.kind {
        ScheduleKind::Calendar(spec) => spec
            .next_elapse(after_usec, local, state)
            .ok()
            .flatten()
            .map(|t| (t, Trigger::Calendar)),
        ScheduleKind::Cron(spec) => spec
            .next_elapse(after_usec, local, state)
            .ok()
            .flatten()
            .map(|t| (t, Trigger::Cron)),
    }
}

/// The coming elapses of `job`'s calendar and cron entries after
/// `after_usec`, at most `n` and none past `until_usec`, in time order,
/// each with the entry as written (`jobd next`; randomized delays left
/// out).
pub fn upcoming(
    job: &Job,
    after_usec: i64,
    until_usec: Option<i64>,
    n: usize,
    local: &Zone,
    state: &mut MktimeState,
) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    for s in &job.schedules {
        let mut t = after_usec;
        for _ in 0..n {
            match entry_elapse(s, t, local, state) {
                Some((e, _)) if until_usec.is_none_or(|u| e <= u) => {
                    out.push((e, s.text.clone()));
                    t = e;
                }
                _ => break,
            }
        }
    }
    out.sort();
    out.dedup_by_key(|(t, _)| *t);
    out.truncate(n);
    out
}

/// `persistent`: whether the first elapse after the last recorded start
/// is already past at `now_usec`. A job never started does not catch up.
pub fn missed_elapse(
    job: &Job,
    last_start_usec: Option<i64>,
    now_usec: i64,
    local: &Zone,
    state: &mut MktimeState,
) -> bool {
    job.persistent
        && last_start_usec
            .and_then(|last| next_elapse(job, last, local, state))
            .is_some_and(|(t, _)| t <= now_usec)
}

/// The randomized delay for one elapse: `random` (uniform over `u64`)
/// scaled to `[0, delay]`, in µs.
pub fn randomized_delay_usec(delay: Duration, random: u64) -> i64 {
    let max = u64::try_from(delay.as_micros()).unwrap_or(u64::MAX);
    if max == 0 {
        return 0;
    }
    // Multiply-shift keeps the draw uniform without a modulo bias worth
    // caring about at µs resolution.
    let scaled = (u128::from(random) * (u128::from(max) + 1)) >> 64;
    i64::try_from(scaled).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{self, Env};
    use crate::tzdb::{SystemZones, local_zone};
    use std::path::Path;

    fn job(yaml: &str) -> std::sync::Arc<Job> {
        let zones = SystemZones::with_local(local_zone(Some("UTC")));
        let c = config::from_str(yaml, Path::new("t.yaml"), &zones, &Env::from_process()).unwrap();
        c.jobs[0].clone()
    }

    const H: i64 = 3_600_000_000;

    #[test]
    fn earliest_of_several_schedules() {
        let j = job(
            "jobs:\n  a:\n    exec: x\n    on_calendar: ['*-*-* 04:00', '*-*-* 02:00']\n    cron: '30 1 * * *'\n",
        );
        let utc = Zone::utc();
        let mut st = MktimeState::default();
        // 1970-01-02 00:00 → 01:30 (cron) first.
        assert_eq!(
            next_elapse(&j, 24 * H, &utc, &mut st),
            Some((24 * H + H + H / 2, Trigger::Cron))
        );
        assert_eq!(
            next_elapse(&j, 24 * H + 3 * H, &utc, &mut st),
            Some((28 * H, Trigger::Calendar))
        );
    }

    #[test]
    fn persistent_catch_up() {
        let p =
            job("jobs:\n  a:\n    exec: x\n    on_calendar: '*-*-* 04:00'\n    persistent: true\n");
        let np = job("jobs:\n  a:\n    exec: x\n    on_calendar: '*-*-* 04:00'\n");
        let utc = Zone::utc();
        let mut st = MktimeState::default();
        let last = 24 * H + 4 * H; // day 1, 04:00
        assert!(missed_elapse(&p, Some(last), 48 * H + 5 * H, &utc, &mut st));
        assert!(!missed_elapse(
            &p,
            Some(last),
            48 * H + 3 * H,
            &utc,
            &mut st
        ));
        assert!(!missed_elapse(&p, None, 480 * H, &utc, &mut st));
        assert!(!missed_elapse(&np, Some(last), 480 * H, &utc, &mut st));
    }

    #[test]
    fn randomized_delay_bounds() {
        let d = Duration::from_secs(10);
        assert_eq!(randomized_delay_usec(d, 0), 0);
        assert_eq!(randomized_delay_usec(d, u64::MAX), 10_000_000);
        assert_eq!(randomized_delay_usec(d, u64::MAX / 2), 5_000_000);
        assert_eq!(randomized_delay_usec(Duration::ZERO, 12345), 0);
    }
}
