//! systemd time spans (systemd.time(7), "Parsing Time Spans"): `90`,
//! `90s`, `1min 30s`, `1h30m`, `1.5h`, `500ms`, `2d`, `infinity`.
//!
//! Follows `parse_time` of systemd 252: a bare number is in the default
//! unit (seconds for every span jobd reads), units may be glued to the
//! number or separated by spaces, a month is 30.44 days and a year 365.25
//! days, fractions apply to their own unit, and `infinity` is the largest
//! value.

use std::time::Duration;

/// Microseconds in the units systemd knows.
const USEC_PER_SEC: u64 = 1_000_000;
const USEC_PER_MINUTE: u64 = 60 * USEC_PER_SEC;
const USEC_PER_HOUR: u64 = 60 * USEC_PER_MINUTE;
const USEC_PER_DAY: u64 = 24 * USEC_PER_HOUR;
const USEC_PER_WEEK: u64 = 7 * USEC_PER_DAY;
const USEC_PER_MONTH: u64 = 2_629_800 * USEC_PER_SEC;
const USEC_PER_YEAR: u64 = 31_557_600 * USEC_PER_SEC;
/// systemd's `USEC_INFINITY`.
pub const USEC_INFINITY: u64 = u64::MAX;

/// Unit suffixes in systemd's lookup order (longest match is not what it
/// does: the first prefix in this table wins).
const UNITS: [(&str, u64); 30] = [
    ("seconds", USEC_PER_SEC),
    ("second", USEC_PER_SEC),
    ("sec", USEC_PER_SEC),
    ("s", USEC_PER_SEC),
    ("minutes", USEC_PER_MINUTE),
    ("minute", USEC_PER_MINUTE),
    ("min", USEC_PER_MINUTE),
    ("months", USEC_PER_MONTH),
    ("month", USEC_PER_MONTH),
    ("M", USEC_PER_MONTH),
    ("msec", 1000),
    ("ms", 1000),
    ("m", USEC_PER_MINUTE),
    ("hours", USEC_PER_HOUR),
    ("hour", USEC_PER_HOUR),
    ("hr", USEC_PER_HOUR),
    ("h", USEC_PER_HOUR),
    ("days", USEC_PER_DAY),
    ("day", USEC_PER_DAY),
    ("d", USEC_PER_DAY),
    ("weeks", USEC_PER_WEEK),
    ("week", USEC_PER_WEEK),
    ("w", USEC_PER_WEEK),
    ("years", USEC_PER_YEAR),
    ("year", USEC_PER_YEAR),
    ("y", USEC_PER_YEAR),
    ("usec", 1),
    ("us", 1),
    ("\u{3bc}s", 1),
    ("\u{b5}s", 1),
];

/// A time span that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid time span {span:?}: {message}; write e.g. 90, 90s, 1min 30s, 1.5h or 500ms")]
pub struct TimespanError {
    pub span: String,
    pub message: &'static str,
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

/// Parses a span; a bare number counts in `default_unit_usec`.
/// Returns microseconds ([`USEC_INFINITY`] for `infinity`).
pub fn parse_usec(span: &str, default_unit_usec: u64) -> Result<u64, TimespanError> {
    let err = |message| TimespanError {
        span: span.to_owned(),
        message,
    };
    let s = span.as_bytes();
    let mut i = 0;
    while i < s.len() && is_space(s[i]) {
        i += 1;
    }
    if let Some(rest) = span[i..].strip_prefix("infinity") {
        return if rest.bytes().all(is_space) {
            Ok(USEC_INFINITY)
        } else {
            Err(err("unexpected text after \"infinity\""))
        };
    }
    let mut total: u64 = 0;
    let mut something = false;
    loop {
        while i < s.len() && is_space(s[i]) {
            i += 1;
        }
        if i == s.len() {
            if !something {
                return Err(err("empty"));
            }
            return Ok(total);
        }
        let (whole, fraction, after) = number(s, i).map_err(err)?;
        let (multiplier, next) = unit(span, after, default_unit_usec).map_err(err)?;
        i = next;
        total = add_term(total, whole, fraction.map(|(f, e)| &s[f..e]), multiplier).map_err(err)?;
        something = true;
    }
}

/// The number at `s[i..]`: its whole part, where its fraction's digits
/// are, and where it ends.
#[allow(clippy::type_complexity)]
fn number(s: &[u8], mut i: usize) -> Result<(u64, Option<(usize, usize)>, usize), &'static str> {
    if s[i] == b'-' {
        return Err("spans cannot be negative");
    }
    if s[i] == b'+' {
        i += 1;
    }
    let int_start = i;
    let mut whole: u64 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        whole = whole
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(s[i] - b'0')))
            .ok_or("number too large")?;
        i += 1;
    }
    let mut fraction = None;
    if i < s.len() && s[i] == b'.' {
        let f = i + 1;
        i = f;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        fraction = Some((f, i));
    } else if i == int_start {
        return Err("expected a number");
    }
    Ok((whole, fraction, i))
}

/// The unit after a number ending at `i` (spaces between allowed): its
/// µs, and where it ends. No unit: `default_unit_usec`.
fn unit(span: &str, i: usize, default_unit_usec: u64) -> Result<(u64, usize), &'static str> {
    let s = span.as_bytes();
    let mut j = i;
    while j < s.len() && is_space(s[j]) {
        j += 1;
    }
    if let Some(&(name, usec)) = UNITS.iter().find(|(name, _)| span[j..].starts_with(name)) {
        return Ok((usec, j + name.len()));
    }
    if j < s.len() && j == i {
        // A number followed by neither space nor a known unit.
        return Err("unknown unit; use us, ms, s, min, h, d, w, M or y");
    }
    Ok((default_unit_usec, j))
}

/// `total` plus `whole.fraction` units of `multiplier` µs.
fn add_term(
    total: u64,
    whole: u64,
    fraction: Option<&[u8]>,
    multiplier: u64,
) -> Result<u64, &'static str> {
    if whole >= USEC_INFINITY / multiplier {
        return Err("span too large");
    }
    let mut total = total
        .checked_add(whole * multiplier)
        .filter(|&t| t < USEC_INFINITY)
        .ok_or("span too large")?;
    let Some(fraction) = fraction else {
        return Ok(total);
    };
    if fraction.is_empty() {
        return Err("expected digits after the decimal point");
    }
    let mut m = multiplier / 10;
    for &d in fraction {
        total = total
            .checked_add(u64::from(d - b'0') * m)
            .filter(|&t| t < USEC_INFINITY)
            .ok_or("span too large")?;
        m /= 10;
    }
    Ok(total)
}

/// Parses a span whose bare numbers are seconds, as every span in jobd's
/// configuration is.
pub fn parse(span: &str) -> Result<Duration, TimespanError> {
    parse_usec(span, USEC_PER_SEC).map(Duration::from_micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(s: &str) -> u64 {
        parse_usec(s, USEC_PER_SEC).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn spec_examples() {
        assert_eq!(us("90"), 90 * USEC_PER_SEC);
        assert_eq!(us("90s"), 90 * USEC_PER_SEC);
        assert_eq!(us("1min 30s"), 90 * USEC_PER_SEC);
        assert_eq!(us("1h30m"), 90 * USEC_PER_MINUTE);
        assert_eq!(us("1.5h"), 90 * USEC_PER_MINUTE);
        assert_eq!(us("500ms"), 500_000);
        assert_eq!(us("2d"), 2 * USEC_PER_DAY);
        assert_eq!(us("1M"), 2_629_800 * USEC_PER_SEC);
        assert_eq!(us("1y"), 31_557_600 * USEC_PER_SEC);
        assert_eq!(us("3μs"), 3);
        assert_eq!(us("3µs"), 3);
        assert_eq!(us(" 5 min "), 5 * USEC_PER_MINUTE);
        assert_eq!(us("infinity"), USEC_INFINITY);
        assert_eq!(us("0.5"), 500_000);
    }

    #[test]
    fn rejections() {
        for bad in [
            "",
            "  ",
            "-1",
            "5x",
            "1.s",
            "abc",
            "infinity x",
            "99999999999999999999",
        ] {
            assert!(parse_usec(bad, USEC_PER_SEC).is_err(), "{bad:?} accepted");
        }
        let e = parse("5x").unwrap_err().to_string();
        assert!(e.contains("\"5x\"") && e.contains("unit"), "{e}");
    }

    /// Found by the fuzzer (its harness printed at systemctl's 1 ms and
    /// lost the µs): at µs accuracy every span prints back to itself.
    #[test]
    fn micro_accuracy_round_trips() {
        let d = parse("2us2").expect("valid");
        assert_eq!(d.as_micros(), 2_000_002);
        assert_eq!(format_usec(2_000_002, 1), "2.000002s");
        assert_eq!(parse(&format_usec(2_000_002, 1)).expect("valid"), d);
    }
}

/// systemd's `format_timespan`: `1min 30s`, `1.500s`, `2d`; `accuracy_usec`
/// drops what is finer (systemctl uses 1 ms, `systemd-analyze timespan` 1 µs).
pub fn format_usec(mut t: u64, accuracy_usec: u64) -> String {
    const TABLE: [(&str, u64); 9] = [
        ("y", 31_557_600 * 1_000_000),
        ("month", 2_629_800 * 1_000_000),
        ("w", 7 * 86_400 * 1_000_000),
        ("d", 86_400 * 1_000_000),
        ("h", 3_600 * 1_000_000),
        ("min", 60 * 1_000_000),
        ("s", 1_000_000),
        ("ms", 1_000),
        ("us", 1),
    ];
    if t == USEC_INFINITY {
        return "infinity".into();
    }
    if t == 0 {
        return "0".into();
    }
    let mut out = String::new();
    let mut something = false;
    for (suffix, unit) in TABLE {
        if t == 0 || (t < accuracy_usec && something) {
            break;
        }
        if t < unit {
            continue;
        }
        let a = t / unit;
        let mut b = t % unit;
        let sep = if out.is_empty() { "" } else { " " };
        let mut done = false;
        if t < 60_000_000 && b > 0 {
            let mut j: i32 = 0;
            let mut cc = unit;
            while cc > 1 {
                j += 1;
                cc /= 10;
            }
            let mut cc = accuracy_usec;
            while cc > 1 {
                b /= 10;
                j -= 1;
                cc /= 10;
            }
            if j > 0 {
                let width = usize::try_from(j).unwrap_or(0);
                out.push_str(&format!("{sep}{a}.{b:0width$}{suffix}"));
                t = 0;
                done = true;
            }
        }
        if !done {
            out.push_str(&format!("{sep}{a}{suffix}"));
            t = b;
        }
        something = true;
    }
    out
}

/// A span as systemctl prints it (millisecond accuracy).
pub fn format(d: Duration) -> String {
    format_usec(u64::try_from(d.as_micros()).unwrap_or(USEC_INFINITY), 1_000)
}

#[cfg(test)]
mod format_tests {
    use super::*;

    #[test]
    fn like_systemd_analyze_timespan() {
        // `systemd-analyze timespan` (accuracy 1 µs) printed these.
        for (span, human) in [
            ("1.5s", "1.500000s"),
            ("90", "1min 30s"),
            ("2d", "2d"),
            ("500ms", "500ms"),
            ("1y", "1y"),
            ("3us", "3us"),
            ("61.5s", "1min 1.500000s"),
        ] {
            let usec = parse_usec(span, 1_000_000).unwrap();
            assert_eq!(format_usec(usec, 1), human, "{span}");
            assert_eq!(parse_usec(&format_usec(usec, 1), 1_000_000).unwrap(), usec);
        }
        assert_eq!(format(Duration::from_millis(1500)), "1.500s");
        assert_eq!(format(Duration::from_secs(5400)), "1h 30min");
    }
}
