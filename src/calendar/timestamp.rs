//! systemd timestamps (systemd.time(7), "Parsing Timestamps") and the way
//! systemd prints them.
//!
//! Accepted: `@EPOCH[.frac]`, `now`, `today`, `yesterday`, `tomorrow`,
//! `epoch`, `+SPAN`, `-SPAN`, `SPAN ago`, `SPAN left`, and
//! `[WEEKDAY] [YYYY-]MM-DD [HH:MM[:SS[.frac]]]` or `HH:MM[:SS]` with an
//! optional ` UTC`, local abbreviation or zone name at the end. Wall times are
//! resolved with `mktime`, as systemd's `parse_timestamp` resolves them.
//! "Now" is a parameter.

use std::sync::Arc;

use super::parse::ZoneSource;
use super::timespan;
use super::tm::{MktimeState, Tm, timegm};
use super::zone::Zone;

const USEC_PER_SEC: i64 = 1_000_000;
const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const LONG_WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// A timestamp that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid timestamp {text:?}: {message}; write e.g. @1795607845, \"2026-03-29 01:30:00\", \"2026-03-29 01:30 UTC\", now or today"
)]
pub struct TimestampError {
    pub text: String,
    pub message: &'static str,
}

/// Where a wall time is resolved.
enum In<'a> {
    Local(i32),
    Utc,
    Zone(&'a Zone),
}

/// Parses a timestamp into µs since the epoch. `now_usec` is the current
/// time; `state` is the process's `mktime` cache (see `tm`).
pub fn parse(
    text: &str,
    now_usec: i64,
    zones: &dyn ZoneSource,
    state: &mut MktimeState,
) -> Result<i64, TimestampError> {
    let err = |message| TimestampError {
        text: text.to_owned(),
        message,
    };
    let t = text.trim();
    if let Some(epoch) = t.strip_prefix('@') {
        return parse_epoch(epoch).ok_or_else(|| err("expected seconds since the epoch after '@'"));
    }
    if let Some(relative) = relative(t, now_usec) {
        return relative.map_err(err);
    }
    let local = zones.local();
    let zone_arc;
    let (body, how) = match zone_suffix(t, zones) {
        (body, Suffix::Zone(z)) => {
            zone_arc = z;
            (body, In::Zone(&zone_arc))
        }
        (body, Suffix::Utc) => (body, In::Utc),
        (body, Suffix::Local(dst)) => (body, In::Local(dst)),
    };
    // The current wall time, for "today" and time-only forms.
    let now_sec = now_usec.div_euclid(USEC_PER_SEC);
    let today = match &how {
        In::Utc => super::tm::gmtime(now_sec),
        In::Local(_) => local.localtime(now_sec),
        In::Zone(z) => z.localtime(now_sec),
    };
    let mut tm = Tm {
        year: today.year,
        mon: today.mon,
        mday: today.mday,
        isdst: -1,
        ..Tm::default()
    };
    let (weekday, rest) = weekday_prefix(body);
    let mut frac = 0i64;
    match rest {
        "today" => {}
        "yesterday" => tm.mday -= 1,
        "tomorrow" => tm.mday += 1,
        "epoch" => return Ok(0),
        _ => {
            let (date, time) = match rest.split_once(' ') {
                Some((d, t)) => (Some(d), Some(t.trim_start_matches(' '))),
                None if rest.contains('-') => (Some(rest), None),
                None => (None, Some(rest)),
            };
            if let Some(date) = date {
                (tm.year, tm.mon, tm.mday) = parse_date(date).map_err(err)?;
            }
            if let Some(time) = time {
                let (h, m, s, f) = parse_time(time).map_err(err)?;
                (tm.hour, tm.min, tm.sec, frac) = (h, m, s, f);
            }
        }
    }
    let t = resolve(&how, local, &mut tm, state).ok_or_else(|| err("time out of range"))?;
    if let Some(w) = weekday
        && tm.wday != w
    {
        return Err(err("the weekday does not match the date"));
    }
    t.checked_mul(USEC_PER_SEC)
        .and_then(|t| t.checked_add(frac))
        .ok_or_else(|| err("time out of range"))
}

/// The wall time `tm` as seconds since the epoch, where `how` says.
fn resolve(how: &In<'_>, local: &Zone, tm: &mut Tm, state: &mut MktimeState) -> Option<i64> {
    match how {
        In::Utc => Some(timegm(tm)),
        In::Local(dst) => {
            tm.isdst = *dst;
            state.mktime(local, tm)
        }
        In::Zone(zone) => {
            // A named zone's mktime state is thrown away, as systemd
            // computes it in a forked child.
            let mut child = *state;
            child.mktime(zone, tm)
        }
    }
}

/// `now`, `+SPAN`, `-SPAN`, `SPAN ago`, `SPAN left`; `None` for any
/// other form.
fn relative(t: &str, now_usec: i64) -> Option<Result<i64, &'static str>> {
    let span = |s: &str| -> Result<i64, &'static str> {
        let d = timespan::parse_usec(s, USEC_PER_SEC as u64).map_err(|_| "invalid time span")?;
        i64::try_from(d).map_err(|_| "too far")
    };
    let (s, sign) = if t == "now" {
        return Some(Ok(now_usec));
    } else if let Some(s) = t.strip_prefix('+').or_else(|| t.strip_suffix(" left")) {
        (s, 1)
    } else if let Some(s) = t.strip_prefix('-').or_else(|| t.strip_suffix(" ago")) {
        (s, -1)
    } else {
        return None;
    };
    Some(span(s).and_then(|d| {
        if sign > 0 {
            now_usec.checked_add(d)
        } else {
            now_usec.checked_sub(d)
        }
        .ok_or("too far")
    }))
}

/// A zone suffix as the calendar parser reads it.
enum Suffix {
    Local(i32),
    Utc,
    Zone(Arc<Zone>),
}

/// Splits the zone suffix off, in the calendar parser's order: ` UTC`,
/// the local zone's own abbreviations (which pin DST), an IANA name.
fn zone_suffix<'t>(t: &'t str, zones: &dyn ZoneSource) -> (&'t str, Suffix) {
    let local = zones.local();
    if t.len() > 4 && t[t.len() - 4..].eq_ignore_ascii_case(" UTC") {
        return (&t[..t.len() - 4], Suffix::Utc);
    }
    if let Some((dst, rest)) = [false, true].iter().find_map(|&dst| {
        let name = local.tzname(dst);
        let cut = t.len().checked_sub(name.len() + 1)?;
        (!name.is_empty()
            && t.is_char_boundary(cut)
            && t[cut + 1..].eq_ignore_ascii_case(name)
            && t.as_bytes()[cut] == b' ')
            .then(|| (dst, &t[..cut]))
    }) {
        return (rest, Suffix::Local(i32::from(dst)));
    }
    if let Some(space) = t.rfind(' ')
        && let Some(zone) = zones.named(&t[space + 1..])
    {
        return (&t[..space], Suffix::Zone(zone));
    }
    (t, Suffix::Local(-1))
}

/// A leading weekday name (`Mon`, `Monday`), and the rest.
fn weekday_prefix(body: &str) -> (Option<i32>, &str) {
    for (i, (short, long)) in WEEKDAYS.iter().zip(LONG_WEEKDAYS).enumerate() {
        for name in [long, *short] {
            if body.len() > name.len()
                && body[..name.len()].eq_ignore_ascii_case(name)
                && body.as_bytes()[name.len()] == b' '
            {
                return (Some(i as i32), body[name.len()..].trim_start_matches(' '));
            }
        }
    }
    (None, body)
}

/// `YYYY-MM-DD` (or `YY-MM-DD`) as `Tm`'s year, month and day.
fn parse_date(date: &str) -> Result<(i32, i32, i32), &'static str> {
    let parts: Vec<&str> = date.split('-').collect();
    let num = |s: &str| -> Option<i32> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
    };
    let (y, m, d) = match parts[..] {
        [y, m, d] => (num(y), num(m), num(d)),
        _ => return Err("a date is YYYY-MM-DD"),
    };
    let (Some(mut y), Some(m), Some(d)) = (y, m, d) else {
        return Err("a date is YYYY-MM-DD");
    };
    if parts[0].len() <= 2 {
        y += if y < 69 { 2000 } else { 1900 };
    }
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err("month or day out of range");
    }
    Ok((y - 1900, m - 1, d))
}

/// `HH:MM`, `HH:MM:SS` or `HH:MM:SS.FFFFFF`: hours, minutes, seconds and
/// the fraction in µs.
fn parse_time(time: &str) -> Result<(i32, i32, i32, i64), &'static str> {
    let (hms, f) = match time.split_once('.') {
        Some((hms, f)) => (hms, Some(f)),
        None => (time, None),
    };
    let fields: Vec<&str> = hms.split(':').collect();
    let num = |s: &str, max: i32| -> Option<i32> {
        (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok().filter(|&v| v <= max))?
    };
    let (h, m, s) = match fields[..] {
        [h, m] => (num(h, 23), num(m, 59), Some(0)),
        [h, m, s] => (num(h, 23), num(m, 59), num(s, 60)),
        _ => return Err("a time is HH:MM or HH:MM:SS"),
    };
    let (Some(h), Some(m), Some(s)) = (h, m, s) else {
        return Err("a time is HH:MM or HH:MM:SS, with two digits each");
    };
    let mut frac = 0;
    if let Some(f) = f {
        if fields.len() != 3 || f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
            return Err("a fraction follows the seconds");
        }
        let digits = &f[..f.len().min(6)];
        frac = digits.parse::<i64>().unwrap_or(0) * 10i64.pow(6 - digits.len() as u32);
    }
    Ok((h, m, s, frac))
}

fn parse_epoch(s: &str) -> Option<i64> {
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (s, None),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: i64 = whole.parse().ok()?;
    let mut usec = secs.checked_mul(USEC_PER_SEC)?;
    if let Some(f) = frac {
        if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits = &f[..f.len().min(6)];
        usec += digits.parse::<i64>().ok()? * 10i64.pow(6 - digits.len() as u32);
    }
    Some(usec)
}

/// `Thu 2026-11-26 04:00:00 UTC`: systemd's `format_timestamp`, in `zone`.
pub fn format(usec: i64, zone: &Zone) -> String {
    let mut s = String::with_capacity(32);
    let _ = write(&mut s, usec, zone);
    s
}

/// [`format`], into a writer (no allocation).
pub fn write(out: &mut impl std::fmt::Write, usec: i64, zone: &Zone) -> std::fmt::Result {
    let t = usec.div_euclid(USEC_PER_SEC);
    let tm = zone.localtime(t);
    write!(
        out,
        "{} {:04}-{:02}-{:02} {:02}:{:02}:{:02} ",
        WEEKDAYS[tm.wday.rem_euclid(7) as usize],
        tm.year + 1900,
        tm.mon + 1,
        tm.mday,
        tm.hour,
        tm.min,
        tm.sec,
    )?;
    zone.write_abbreviation(out, t)
}

/// `Thu 2026-11-26 04:00:00 UTC` in UTC (systemd's `TABLE_TIMESTAMP_UTC`).
pub fn format_utc(usec: i64) -> String {
    format(usec, &Zone::utc())
}

/// `16h left`, `1 day 15h left`, `14h ago`: systemd's
/// `format_timestamp_relative`.
pub fn format_relative(usec: i64, now_usec: i64) -> String {
    const MIN: u64 = 60 * 1_000_000;
    const HOUR: u64 = 60 * MIN;
    const DAY: u64 = 24 * HOUR;
    const WEEK: u64 = 7 * DAY;
    const MONTH: u64 = 2_629_800 * 1_000_000;
    const YEAR: u64 = 31_557_600 * 1_000_000;
    let (d, suffix) = if now_usec > usec {
        (now_usec.abs_diff(usec), " ago")
    } else {
        (usec.abs_diff(now_usec), " left")
    };
    let plural = |n: u64, one: &'static str, many: &'static str| if n == 1 { one } else { many };
    if d >= YEAR {
        let (y, m) = (d / YEAR, (d % YEAR) / MONTH);
        format!(
            "{y} {} {m} {}{suffix}",
            plural(y, "year", "years"),
            plural(m, "month", "months")
        )
    } else if d >= MONTH {
        let (m, days) = (d / MONTH, (d % MONTH) / DAY);
        format!(
            "{m} {} {days} {}{suffix}",
            plural(m, "month", "months"),
            plural(days, "day", "days")
        )
    } else if d >= WEEK {
        let (w, days) = (d / WEEK, (d % WEEK) / DAY);
        format!(
            "{w} {} {days} {}{suffix}",
            plural(w, "week", "weeks"),
            plural(days, "day", "days")
        )
    } else if d >= 2 * DAY {
        format!("{} days{suffix}", d / DAY)
    } else if d >= 25 * HOUR {
        format!("1 day {}h{suffix}", (d - DAY) / HOUR)
    } else if d >= 6 * HOUR {
        format!("{}h{suffix}", d / HOUR)
    } else if d >= HOUR {
        format!("{}h {}min{suffix}", d / HOUR, (d % HOUR) / MIN)
    } else if d >= 5 * MIN {
        format!("{}min{suffix}", d / MIN)
    } else if d >= MIN {
        format!("{}min {}s{suffix}", d / MIN, (d % MIN) / 1_000_000)
    } else if d >= 1_000_000 {
        format!("{}s{suffix}", d / 1_000_000)
    } else if d >= 1000 {
        format!("{}ms{suffix}", d / 1000)
    } else if d > 0 {
        format!("{d}us{suffix}")
    } else {
        "now".to_owned()
    }
}

/// `2026-11-26T04:00:00+01:00`: RFC 3339 with the zone's offset at that
/// instant, whole seconds (for `--json` output).
pub fn format_rfc3339(usec: i64, zone: &Zone) -> String {
    let t = usec.div_euclid(USEC_PER_SEC);
    let tm = zone.localtime(t);
    let off = tm.gmtoff;
    let sign = if off < 0 { '-' } else { '+' };
    let off = off.unsigned_abs();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        tm.year + 1900,
        tm.mon + 1,
        tm.mday,
        tm.hour,
        tm.min,
        tm.sec.min(59),
        off / 3600,
        off % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_like_systemd() {
        let now = 1_795_607_845_000_000;
        let h = 3_600_000_000;
        assert_eq!(format_relative(now + 15 * h + 60_000_000, now), "15h left");
        assert_eq!(format_relative(now + 39 * h, now), "1 day 15h left");
        assert_eq!(format_relative(now + 48 * h, now), "2 days left");
        assert_eq!(format_relative(now - 14 * h, now), "14h ago");
        assert_eq!(format_relative(now + 90 * 60_000_000, now), "1h 30min left");
        assert_eq!(format_relative(now, now), "now");
    }

    #[test]
    fn format_utc_like_systemd() {
        assert_eq!(
            format_utc(1_795_665_600_000_000),
            "Thu 2026-11-26 04:00:00 UTC"
        );
    }
}
