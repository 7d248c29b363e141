//! Next-elapse cost per expression: `cargo bench --bench calendar`.
//!
//! Each sample computes the next elapse after a base time that advances
//! through a year (so a run sees every month, weekday and DST state), in
//! UTC and in Europe/Berlin as the local zone. Targets (issue 2): median
//! under 1 µs for typical expressions, none over 100 µs.

use std::hint::black_box;

use jobd::calendar::{self, CalendarSpec, MktimeState, Zone, ZoneSource};
use jobd::tzdb::{SystemZones, local_zone};

fn main() {
    divan::main();
}

const TYPICAL: &[&str] = &[
    "*-*-* 04:00:00",
    "Mon..Fri 9:00",
    "*:0/15",
    "daily",
    "hourly",
    "minutely",
];

const PATHOLOGICAL: &[&str] = &[
    "Fri *-*-13 12:00",
    "Sat *-02-29",
    "Mon *-*~1..7 04:00",
    "*-*~01",
    "*-*-* 02:30:00 Europe/Berlin",
    "*:*:0/0.5",
    "2199-12-31 23:59:59",
    "*-02-30",
    "Mon 2026-01-06",
];

/// A base time stepping through 2026–2027 by an odd number of seconds.
struct Bases(i64);

impl Bases {
    fn next(&mut self) -> i64 {
        const START: i64 = 1_767_225_600; // 2026-01-01 UTC
        const SPAN: i64 = 2 * 365 * 86_400;
        self.0 = (self.0 + 7_777_777) % SPAN;
        (START + self.0) * 1_000_000
    }
}

fn bench(bencher: divan::Bencher, expr: &str, tz: &str) {
    let zones = SystemZones::with_local(local_zone(Some(tz)));
    let spec: CalendarSpec = calendar::parse(expr, &zones).expect("valid expression");
    let local: Zone = zones.local().clone();
    let mut state = MktimeState::default();
    let mut bases = Bases(0);
    bencher
        .bench_local(|| black_box(spec.next_elapse(black_box(bases.next()), &local, &mut state)));
}

#[divan::bench(args = TYPICAL)]
fn typical_utc(bencher: divan::Bencher, expr: &str) {
    bench(bencher, expr, "UTC");
}

#[divan::bench(args = TYPICAL)]
fn typical_berlin(bencher: divan::Bencher, expr: &str) {
    bench(bencher, expr, "Europe/Berlin");
}

#[divan::bench(args = PATHOLOGICAL)]
fn pathological_utc(bencher: divan::Bencher, expr: &str) {
    bench(bencher, expr, "UTC");
}

#[divan::bench(args = PATHOLOGICAL)]
fn pathological_berlin(bencher: divan::Bencher, expr: &str) {
    bench(bencher, expr, "Europe/Berlin");
}
