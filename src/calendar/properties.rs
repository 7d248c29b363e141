//! Property tests of the calendar engine, independent of systemd: every
//! elapse lies after its base and matches the expression, none is skipped,
//! and the normal form is a fixed point.

use std::sync::Arc;

use proptest::prelude::*;

use super::spec::{Chain, Component, Evaluation};
use super::{CalendarSpec, MktimeState, Zone, ZoneSource, parse};

struct Zones {
    local: Zone,
}

impl ZoneSource for Zones {
    fn local(&self) -> &Zone {
        &self.local
    }
    fn named(&self, name: &str) -> Option<Arc<Zone>> {
        crate::tzdb::named_zone(name).map(Arc::new)
    }
}

fn zones(tz: &str) -> Zones {
    Zones {
        local: crate::tzdb::local_zone(Some(tz)),
    }
}

fn item(lo: i32, hi: i32) -> impl Strategy<Value = String> {
    (lo..=hi, lo..=hi, 1..=((hi - lo) / 2).max(1), 0..4u8).prop_map(move |(a, b, r, kind)| {
        let (a, b) = (a.min(b), a.max(b));
        match kind {
            0 => a.to_string(),
            1 => format!("{a}..{b}"),
            2 if a + r <= hi => format!("{a}/{r}"),
            3 if a + r <= b => format!("{a}..{b}/{r}"),
            _ => a.to_string(),
        }
    })
}

fn field(lo: i32, hi: i32) -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just("*".to_owned()),
        3 => proptest::collection::vec(item(lo, hi), 1..3).prop_map(|v| v.join(",")),
    ]
}

/// Valid expressions with whole-minute times.
fn expression() -> impl Strategy<Value = String> {
    let weekdays = prop_oneof![
        2 => Just(String::new()),
        1 => (0..7usize, 0..7usize).prop_map(|(a, b)| {
            const D: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
            format!("{}..{} ", D[a.min(b)], D[a.max(b)])
        }),
    ];
    let day = prop_oneof![
        3 => field(1, 31).prop_map(|d| format!("-{d}")),
        1 => field(1, 7).prop_map(|d| format!("~{d}")),
    ];
    (
        weekdays,
        field(2024, 2040),
        field(1, 12),
        day,
        field(0, 23),
        field(0, 59),
    )
        .prop_map(|(w, y, mo, d, h, mi)| format!("{w}{y}-{mo}{d} {h}:{mi}"))
}

fn contains(chain: &Chain, v: i32) -> bool {
    let Some(items) = chain else {
        return true;
    };
    items.iter().any(|c: &Component| c.contains(v))
}

/// Whether instant `usec` matches `spec` in `zone`, field by field.
fn matches(spec: &CalendarSpec, zone: &Zone, usec: i64) -> bool {
    let tm = zone.localtime(usec.div_euclid(1_000_000));
    let year = i64::from(tm.year) + 1900;
    let day_ok = if spec.end_of_month {
        let from_end = super::tm::days_in_month(year, (tm.mon + 1) as u32) as i32 - tm.mday + 1;
        spec.day.as_ref().is_none_or(|items| {
            items.iter().any(|c| match (c.stop, c.repeat) {
                (-1, 0) => from_end == c.start,
                (-1, r) => from_end <= c.start && (c.start - from_end) % r == 0,
                (stop, r) => {
                    from_end >= c.start && from_end <= stop && (stop - from_end) % r.max(1) == 0
                }
            })
        })
    } else {
        contains(&spec.day, tm.mday)
    };
    let weekday_ok = spec
        .weekdays
        .is_none_or(|bits| bits & (1 << ((tm.wday + 6) % 7)) != 0);
    let usec_of_minute = tm.sec * 1_000_000 + usec.rem_euclid(1_000_000) as i32;
    contains(&spec.year, tm.year + 1900)
        && contains(&spec.month, tm.mon + 1)
        && day_ok
        && weekday_ok
        && contains(&spec.hour, tm.hour)
        && contains(&spec.minute, tm.min)
        && contains(&spec.microsecond, usec_of_minute)
}

fn zone_of<'a>(spec: &'a CalendarSpec, local: &'a Zone) -> &'a Zone {
    match &spec.evaluation {
        Evaluation::Zone(z) => z,
        _ => local,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// The elapse is after the base and matches the expression, in zones
    /// with and without DST.
    #[test]
    fn elapse_after_base_and_matching(
        expr in expression(),
        tz in prop_oneof![Just("UTC"), Just("Europe/Berlin"), Just("America/New_York"), Just("Australia/Lord_Howe")],
        base in 1_704_067_200i64..1_893_456_000,
    ) {
        let zones = zones(tz);
        let parsed = parse(&expr, &zones);
        prop_assume!(parsed.is_ok(), "the generator may write invalid `~` lists");
        let spec = parsed.unwrap();
        let mut state = MktimeState::default();
        let base = base * 1_000_000;
        if let Some(next) = spec.next_elapse(base, zones.local(), &mut state).unwrap() {
            prop_assert!(next > base, "{expr}: {next} not after {base}");
            prop_assert!(matches(&spec, zone_of(&spec, zones.local()), next), "{expr} in {tz}: {next} does not match");
        }
    }

    /// No matching minute between the base and the elapse is skipped
    /// (checked minute by minute over two days; in UTC, where no DST rule
    /// deliberately skips wall times).
    #[test]
    fn no_matching_minute_skipped(expr in expression(), base in 1_704_067_200i64..1_893_456_000) {
        let zones = zones("UTC");
        let parsed = parse(&expr, &zones);
        prop_assume!(parsed.is_ok(), "the generator may write invalid `~` lists");
        let spec = parsed.unwrap();
        let mut state = MktimeState::default();
        let next = spec.next_elapse(base * 1_000_000, zones.local(), &mut state).unwrap();
        let end = next.map_or(i64::MAX, |n| n / 1_000_000).min(base + 2 * 86_400);
        let mut t = (base / 60 + 1) * 60;
        while t < end {
            prop_assert!(!matches(&spec, zones.local(), t * 1_000_000), "{expr}: {t} matches but the elapse is {next:?}");
            t += 60;
        }
    }

    /// The normal form parses back to itself.
    #[test]
    fn normal_form_is_a_fixed_point(expr in expression()) {
        let zones = zones("UTC");
        let parsed = parse(&expr, &zones);
        prop_assume!(parsed.is_ok(), "the generator may write invalid `~` lists");
        let once = parsed.unwrap().to_string();
        let twice = parse(&once, &zones).unwrap().to_string();
        prop_assert_eq!(once, twice);
    }
}

/// Found by `elapse_after_base_and_matching`: systemd 252 loops on this
/// ("Infinite loop in calendar calculation"); jobd continues to New Year.
#[test]
fn regression_month_repetition_across_dst_terminates() {
    let zones = zones("Europe/Berlin");
    let spec = parse("*-1/5-* *:*", &zones).unwrap();
    let mut state = MktimeState::default();
    // Sat 2024-11-30 23:59 CET → Wed 2025-01-01 00:00 CET.
    let next = spec
        .next_elapse(1_733_007_540_000_000, zones.local(), &mut state)
        .unwrap();
    assert_eq!(next, Some(1_735_686_000_000_000));
}

/// Valid expressions whose month never has the day: never, at once.
#[test]
fn impossible_dates_never_elapse() {
    let zones = zones("UTC");
    let mut state = MktimeState::default();
    for expr in ["*-02-30", "*-04,06,09,11-31", "*-02-30..31 12:00"] {
        let spec = parse(expr, &zones).unwrap();
        assert_eq!(
            spec.next_elapse(1_795_607_845_000_000, zones.local(), &mut state),
            Ok(None),
            "{expr}"
        );
    }
    let spec = parse("*-02,03-30", &zones).unwrap();
    assert!(
        spec.next_elapse(1_795_607_845_000_000, zones.local(), &mut state)
            .unwrap()
            .is_some()
    );
}
