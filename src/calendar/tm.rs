//! Broken-down wall-clock time and the C library's conversions on it.
//!
//! systemd's calendar search (`calendarspec.c`, `find_next`) works on a C
//! `struct tm` and leans on `mktime(3)` both to normalise out-of-range fields
//! ("February 30th" → "March 2nd") and to resolve wall times in a DST gap or
//! fold. Which instant a repeated wall time resolves to is *not* specified by
//! POSIX: glibc starts its search from the UTC offset of the previous
//! `mktime` call (a process-wide cache) and keeps the first candidate that
//! matches. To land on the same instants as `systemd-analyze`, this module
//! reproduces glibc 2.36's `__mktime_internal` probing, cache included
//! ([`MktimeState`]), on top of an exact `localtime` ([`Zone::localtime`]).
//!
//! Everything here is pure arithmetic on integers: no clock, no environment.

use super::zone::Zone;

/// Seconds per day.
const DAY: i64 = 86_400;

/// C's `struct tm`, with C's conventions: `mon` is 0–11, `year` counts from
/// 1900, `wday` is 0 for Sunday, `yday` is 0-based, `isdst` is -1 (unknown),
/// 0 or 1. Fields may be out of range before normalisation, as in C.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tm {
    pub sec: i32,
    pub min: i32,
    pub hour: i32,
    pub mday: i32,
    pub mon: i32,
    pub year: i32,
    pub wday: i32,
    pub yday: i32,
    pub isdst: i32,
    /// Seconds east of UTC of the resolved time (`tm_gmtoff`).
    pub gmtoff: i32,
}

/// Whether `year` (a full Gregorian year) is a leap year.
#[inline]
pub fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days before each month (0-based month) in a common and in a leap year.
const MON_YDAY: [[i64; 13]; 2] = [
    [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365],
    [0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366],
];

/// Number of days in `month` (1–12) of `year`.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    let m = (month as usize).clamp(1, 12);
    let table = &MON_YDAY[usize::from(is_leap(year))];
    (table[m] - table[m - 1]) as u32
}

/// Days from 1970-01-01 to January 1st of `year` (proleptic Gregorian).
#[inline]
fn days_to_jan1(year: i64) -> i64 {
    let y = year - 1;
    let leap_days = if y >= 0 {
        // The common case, without the sign fix-ups of div_euclid.
        y / 4 - y / 100 + y / 400
    } else {
        y.div_euclid(4) - y.div_euclid(100) + y.div_euclid(400)
    };
    365 * (year - 1970) + leap_days - 477
}

/// Days from 1970-01-01 to the given civil date (`month` 1–12).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let m = (month as usize).clamp(1, 12);
    days_to_jan1(year) + MON_YDAY[usize::from(is_leap(year))][m - 1] + i64::from(day) - 1
}

/// The civil date `(year, month 1–12, day)` of a day count from 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Breaks seconds since the epoch (already shifted into local time) into a
/// `Tm`; `isdst` and `gmtoff` are left for the caller.
pub fn breakdown(local_secs: i64) -> Tm {
    let days = local_secs.div_euclid(DAY);
    let rem = local_secs.rem_euclid(DAY);
    let (year, month, day) = civil_from_days(days);
    Tm {
        sec: (rem % 60) as i32,
        min: ((rem / 60) % 60) as i32,
        hour: (rem / 3600) as i32,
        mday: day as i32,
        mon: month as i32 - 1,
        year: (year - 1900) as i32,
        wday: (days + 4).rem_euclid(7) as i32,
        yday: (days - days_to_jan1(year)) as i32,
        isdst: 0,
        gmtoff: 0,
    }
}

/// Seconds from the epoch to a broken-down time given as (tm_year, yday,
/// hour, min, sec), counting 60-second minutes; `yday` may be out of range.
#[inline]
fn ydhms_seconds(a: (i64, i64, i64, i64, i64)) -> i64 {
    let days = days_to_jan1(a.0 + 1900) + a.1;
    ((days * 24 + a.2) * 60 + a.3) * 60 + a.4
}

/// glibc's `ydhms_diff`: the difference in seconds between two broken-down
/// times.
#[inline]
fn ydhms_diff(a: (i64, i64, i64, i64, i64), b: (i64, i64, i64, i64, i64)) -> i64 {
    ydhms_seconds(a) - ydhms_seconds(b)
}

fn ydhms_of(tm: &Tm) -> (i64, i64, i64, i64, i64) {
    (
        i64::from(tm.year),
        i64::from(tm.yday),
        i64::from(tm.hour),
        i64::from(tm.min),
        i64::from(tm.sec),
    )
}

/// The year (tm_year) and 0-based day of year that the possibly
/// out-of-range `mon`/`mday` of `tm` denote, as glibc computes them.
fn year_and_yday(tm: &Tm) -> (i64, i64) {
    let mon = i64::from(tm.mon);
    let rem = mon % 12;
    let negative = i64::from(rem < 0);
    let year = i64::from(tm.year) + mon / 12 - negative;
    let month_index = (rem + 12 * negative) as usize;
    let yday = MON_YDAY[usize::from(is_leap(year + 1900))][month_index] - 1 + i64::from(tm.mday);
    (year, yday)
}

/// Whether every field of `tm` is already in its normal range, so that
/// normalising it changes nothing but the derived fields.
fn in_range(tm: &Tm) -> bool {
    (0..=59).contains(&tm.sec)
        && (0..=59).contains(&tm.min)
        && (0..=23).contains(&tm.hour)
        && (0..=11).contains(&tm.mon)
        && tm.mday >= 1
        && tm.mday as u32 <= days_in_month(i64::from(tm.year) + 1900, (tm.mon + 1) as u32)
}

/// `timegm(3)`: normalises `tm` as UTC and returns the instant.
pub fn timegm(tm: &mut Tm) -> i64 {
    let (year, yday) = year_and_yday(tm);
    let t = ydhms_seconds((year, yday, tm.hour.into(), tm.min.into(), tm.sec.into()));
    if in_range(tm) {
        tm.wday = (t.div_euclid(DAY) + 4).rem_euclid(7) as i32;
        tm.yday = yday as i32;
        tm.isdst = 0;
        tm.gmtoff = 0;
    } else {
        *tm = breakdown(t);
    }
    t
}

/// `gmtime(3)`.
pub fn gmtime(t: i64) -> Tm {
    breakdown(t)
}

/// glibc's `localtime_offset`: the offset guess `mktime` starts from, i.e.
/// `t - local` of the previous result. One per emulated process (see the
/// module docs); 0 in a fresh process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MktimeState {
    offset: i64,
}

/// glibc's `isdst_differ`.
fn isdst_differ(a: i32, b: i32) -> bool {
    ((a == 0) != (b == 0)) && a >= 0 && b >= 0
}

impl MktimeState {
    /// `mktime(3)` in `zone`, exactly as glibc 2.36 computes it: normalises
    /// `tm` in place and returns the instant, or `None` where glibc fails
    /// (`EOVERFLOW`).
    pub fn mktime(&mut self, zone: &Zone, tm: &mut Tm) -> Option<i64> {
        let sec_requested = i64::from(tm.sec);
        // ydhms_diff assumes 60-second minutes: leap seconds and other
        // out-of-range seconds are added back at the end.
        let sec = sec_requested.clamp(0, 59);
        let isdst = tm.isdst;
        let (year, yday) = year_and_yday(tm);
        let want = (year, yday, i64::from(tm.hour), i64::from(tm.min), sec);

        let off = self.offset;
        let local = ydhms_seconds(want);

        if let Some(fixed) = zone.fixed_offset() {
            return Some(self.mktime_fixed(zone, fixed, tm, local, yday, sec_requested - sec));
        }

        let t0 = local + off;
        let (mut t, mut t1, mut t2) = (t0, t0, t0);
        let mut dst2 = false;
        let mut remaining_probes = 6;
        let mut found = zone.localtime(t);

        'search: {
            loop {
                let dt = ydhms_diff(want, ydhms_of(&found));
                if dt == 0 {
                    break;
                }
                let oscillating = t == t1
                    && t != t2
                    && (found.isdst < 0
                        || if isdst < 0 {
                            // Prefer stopping on the DST side.
                            !dst2 || found.isdst != 0
                        } else {
                            (isdst != 0) != (found.isdst != 0)
                        });
                if oscillating {
                    // Inside a spring-forward gap: glibc keeps the probe it
                    // is at, which lands the wall time on the far side.
                    break 'search;
                }
                remaining_probes -= 1;
                if remaining_probes == 0 {
                    return None;
                }
                t1 = t2;
                t2 = t;
                t += dt;
                dst2 = found.isdst != 0;
                found = zone.localtime(t);
            }

            if isdst_differ(isdst, found.isdst) {
                t = requested_dst_side(zone, isdst, found.isdst, want, t);
                found = zone.localtime(t);
            }
        }

        self.offset = t - t0 + off;

        if sec_requested != i64::from(found.sec) {
            let adjustment = i64::from(sec == 0 && found.sec == 60) - sec + sec_requested;
            t += adjustment;
            found = zone.localtime(t);
        }
        *tm = found;
        Some(t)
    }

    /// `mktime` in a zone of one offset and no leap seconds: the probing
    /// always ends at `local - gmtoff` (a DST flag the zone never has makes
    /// glibc assume one-hour DST), so that is computed directly.
    /// `extra_sec`: the seconds beyond 59 asked for (leap seconds).
    fn mktime_fixed(
        &mut self,
        zone: &Zone,
        (gmtoff, zone_isdst): (i32, i32),
        tm: &mut Tm,
        local: i64,
        yday: i64,
        extra_sec: i64,
    ) -> i64 {
        let isdst = tm.isdst;
        let mut t = local - i64::from(gmtoff);
        if isdst_differ(isdst, zone_isdst) {
            t += 3600 * (i64::from(isdst == 0) - i64::from(zone_isdst == 0));
        }
        self.offset = t - local;
        t += extra_sec;
        if t == local - i64::from(gmtoff) && in_range(tm) {
            // Already normal: only the derived fields change.
            tm.wday = (local.div_euclid(DAY) + 4).rem_euclid(7) as i32;
            tm.yday = yday as i32;
            tm.isdst = zone_isdst;
            tm.gmtoff = gmtoff;
        } else {
            *tm = zone.localtime(t);
        }
        t
    }
}

/// The wall time `want` exists at `t`, but with the other DST flag than
/// requested: the time that gives it with the offset of the nearest
/// moment that has the requested flag (glibc's probe strides and bound),
/// or one hour over if there is none.
fn requested_dst_side(
    zone: &Zone,
    isdst: i32,
    found_isdst: i32,
    want: (i64, i64, i64, i64, i64),
    t: i64,
) -> i64 {
    const STRIDE: i64 = 601_200;
    const DELTA_BOUND: i64 = 457_243_200 / 2 + STRIDE;
    let mut delta = STRIDE;
    while delta < DELTA_BOUND {
        for direction in [-1, 1] {
            let ot = t + delta * direction;
            let otm = zone.localtime(ot);
            if !isdst_differ(isdst, otm.isdst) {
                return ot + ydhms_diff(want, ydhms_of(&otm));
            }
        }
        delta += STRIDE;
    }
    t + 3600 * (i64::from(isdst == 0) - i64::from(found_isdst == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [
            -800_000, -1, 0, 1, 59, 365, 10_957, 11_016, 83_000, 2_932_896,
        ] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn breakdown_fields() {
        // 2026-11-25 11:57:25 UTC, a Wednesday, day 329 of the year.
        let tm = breakdown(1_795_607_845);
        assert_eq!(
            (
                tm.year, tm.mon, tm.mday, tm.hour, tm.min, tm.sec, tm.wday, tm.yday
            ),
            (126, 10, 25, 11, 57, 25, 3, 328)
        );
        let tm = breakdown(-1);
        assert_eq!(
            (tm.year, tm.mon, tm.mday, tm.hour, tm.wday),
            (69, 11, 31, 23, 3)
        );
    }

    #[test]
    fn timegm_normalises_like_c() {
        let mut tm = Tm {
            year: 126,
            mon: 1,
            mday: 30,
            hour: 25,
            min: -1,
            sec: 61,
            ..Tm::default()
        };
        let t = timegm(&mut tm);
        // Feb 30 2026 = Mar 2; 25:-1:61 = +1 day 01:00:01.
        assert_eq!((tm.mon, tm.mday, tm.hour, tm.min, tm.sec), (2, 3, 1, 0, 1));
        assert_eq!(t, days_from_civil(2026, 3, 3) * DAY + 3601);
        let mut tm = Tm {
            year: 126,
            mon: -1,
            mday: 1,
            ..Tm::default()
        };
        timegm(&mut tm);
        assert_eq!((tm.year, tm.mon, tm.mday), (125, 11, 1));
    }

    #[test]
    fn days_in_month_leap_rules() {
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2100, 2), 28);
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(2026, 4), 30);
        assert_eq!(days_in_month(2026, 12), 31);
    }
}
