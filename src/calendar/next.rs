//! The next elapse of an expression after a given instant.
//!
//! This is systemd 252's `find_next` (`calendarspec.c`), step for step: the
//! search walks the broken-down wall time year → month → day → weekday →
//! hour → minute → second, takes at each level the smallest allowed value
//! not below the current one (resetting the lower fields when it moves),
//! and after each step lets `mktime` normalise the candidate. When that
//! normalisation moves the fields (February 30th, or a wall time that a DST
//! change skipped), the search resumes from the normalised time. Because
//! the search never goes backwards on the wall clock, a repeated hour in
//! autumn is used once, on the side where the search already is; which
//! side an ambiguous candidate lands on is decided by glibc's `mktime`
//! offset cache, reproduced in [`MktimeState`].
//!
//! Two deliberate differences from systemd: its guard gives up after 1000
//! steps ("Infinite loop in calendar calculation"), which 252 hits on some
//! month/day repetitions across DST changes; jobd allows far more steps and
//! so returns the elapse systemd would have found without the guard. And
//! expressions with a zone are evaluated in-process (systemd forks a child
//! per computation with `$TZ` set); the child's inherited offset cache is
//! modelled by evaluating on a copy of the caller's state.

use super::spec::{CalendarSpec, Chain, Evaluation, MAX_YEAR, USEC_PER_SEC};
use super::tm::{MktimeState, Tm, timegm};
use super::zone::Zone;

/// The largest base time systemd computes from (9999-12-30 23:59:59 UTC).
pub const USEC_TIMESTAMP_FORMATTABLE_MAX: i64 = 253_402_214_399_000_000;

/// Steps before systemd's search gives up ("Infinite loop in calendar
/// calculation"). jobd then searches again with the loop's cause removed
/// (see [`find_next`]).
const MAX_STEPS: u32 = 1000;

/// Why no elapse could be computed (other than "never").
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NextError {
    /// The base time is outside what systemd accepts.
    #[error("base time out of range (after 9999-12-30)")]
    BaseOutOfRange,
    /// The search did not converge.
    #[error("calendar search did not converge")]
    Loop,
    /// The C library could not represent an intermediate time.
    #[error("time not representable")]
    Overflow,
}

impl CalendarSpec {
    /// The first elapse strictly after `after_usec` (µs since the epoch),
    /// or `None` if the expression never elapses again. `local` is the zone
    /// of expressions without a suffix; `state` is the emulated C
    /// library's `mktime` cache (see [`MktimeState`]), updated as glibc
    /// would update it.
    pub fn next_elapse(
        &self,
        after_usec: i64,
        local: &Zone,
        state: &mut MktimeState,
    ) -> Result<Option<i64>, NextError> {
        if !self.date_possible() {
            // `*-02-30`, `*-04,06-31`: valid, but no month has that day,
            // so every search ends at the year limit. Say so at once (the
            // search would have to confirm each day exactly to elapse).
            return Ok(None);
        }
        match &self.evaluation {
            Evaluation::Utc => next_usec(self, after_usec, &mut Conv::Utc),
            Evaluation::Local | Evaluation::LocalDst { .. } => {
                next_usec(self, after_usec, &mut Conv::Local { zone: local, state })
            }
            Evaluation::Zone(zone) => {
                // systemd computes this in a forked child: its cache
                // starts as the parent's and is thrown away after.
                let mut child = *state;
                next_usec(
                    self,
                    after_usec,
                    &mut Conv::Local {
                        zone,
                        state: &mut child,
                    },
                )
            }
        }
    }

    /// Whether some allowed month has some allowed day (ignoring years and
    /// weekdays). `~` days always exist: they count back at most 28.
    fn date_possible(&self) -> bool {
        let (Some(days), false) = (&self.day, self.end_of_month) else {
            return true;
        };
        let first_day = days.iter().map(|c| c.start).min().unwrap_or(1);
        let longest = match &self.month {
            None => 31,
            Some(months) => (1..=12)
                .filter(|&m| months.iter().any(|c| c.contains(m)))
                .map(|m| match m {
                    2 => 29,
                    4 | 6 | 9 | 11 => 30,
                    _ => 31,
                })
                .max()
                .unwrap_or(0),
        };
        first_day <= longest
    }

    /// The DST flag the search asks `mktime` for (`spec->dst`).
    fn dst_request(&self) -> i32 {
        match self.evaluation {
            Evaluation::LocalDst { dst, .. } => i32::from(dst),
            _ => -1,
        }
    }
}

/// `mktime_or_timegm` and `localtime_or_gmtime_r`.
enum Conv<'a> {
    Utc,
    Local {
        zone: &'a Zone,
        state: &'a mut MktimeState,
    },
}

impl Conv<'_> {
    fn localtime(&self, t: i64) -> Tm {
        match self {
            Conv::Utc => super::tm::gmtime(t),
            Conv::Local { zone, .. } => zone.localtime(t),
        }
    }

    /// Normalises `tm`; `None` where the C function would return a
    /// negative value (an error, or a time before 1970, which systemd
    /// treats as an error too).
    fn mktime(&mut self, tm: &mut Tm) -> Option<i64> {
        let t = match self {
            Conv::Utc => {
                tm.isdst = 0;
                Some(timegm(tm))
            }
            Conv::Local { zone, state } => state.mktime(zone, tm),
        };
        t.filter(|&t| t >= 0)
    }
}

fn next_usec(
    spec: &CalendarSpec,
    usec: i64,
    conv: &mut Conv<'_>,
) -> Result<Option<i64>, NextError> {
    if !(0..=USEC_TIMESTAMP_FORMATTABLE_MAX).contains(&usec) {
        return Err(NextError::BaseOutOfRange);
    }
    let usec = usec + 1;
    let sec = i64::from(USEC_PER_SEC);
    let mut tm = conv.localtime(usec / sec);
    let mut tm_usec = (usec % sec) as i32;
    let (start_tm, start_usec) = (tm, tm_usec);
    let found = match find_next(spec, &mut tm, &mut tm_usec, conv, false) {
        Err(NextError::Loop) => {
            (tm, tm_usec) = (start_tm, start_usec);
            find_next(spec, &mut tm, &mut tm_usec, conv, true)?
        }
        other => other?,
    };
    if !found {
        return Ok(None);
    }
    let t = conv.mktime(&mut tm).ok_or(NextError::Overflow)?;
    Ok(Some(t * sec + i64::from(tm_usec)))
}

/// `find_end_of_month`: the day of `tm`'s month that is `day` days from
/// its end (1 = the last day), or -1.
fn end_of_month_day(tm: &Tm, day: i32, conv: &mut Conv<'_>) -> i32 {
    let mut t = *tm;
    t.mon += 1;
    t.mday = 1 - day;
    match conv.mktime(&mut t) {
        Some(_) if t.mon == tm.mon => t.mday,
        _ => -1,
    }
}

/// `find_matching_component`: the earliest value ≥ `*val` the chain
/// allows. `Ok(true)` if `*val` changed, `Err(())` if none is left.
fn find_matching(
    chain: &Chain,
    end_of_month: bool,
    tm: &Tm,
    val: &mut i32,
    conv: &mut Conv<'_>,
) -> Result<bool, ()> {
    let Some(items) = chain else {
        return Ok(false);
    };
    let mut best: Option<i32> = None;
    for c in items {
        let (start, stop) = if end_of_month {
            let start = end_of_month_day(tm, c.start, conv);
            let stop = end_of_month_day(tm, c.stop, conv);
            if stop > 0 {
                (stop, start)
            } else {
                (start, stop)
            }
        } else {
            (c.start, c.stop)
        };
        if start >= *val {
            if best.is_none_or(|d| start < d) {
                best = Some(start);
            }
        } else if c.repeat > 0 {
            let steps = (*val - start + c.repeat - 1) / c.repeat;
            let k = start + c.repeat * steps;
            if best.is_none_or(|d| k < d) && (stop < 0 || k <= stop) {
                best = Some(k);
            }
        }
    }
    let d = best.ok_or(())?;
    let changed = *val != d;
    *val = d;
    Ok(changed)
}

/// How a candidate fared under normalisation (`tm_within_bounds`).
enum Bounds {
    /// It exists as written.
    Exact,
    /// It did not exist; `tm` now holds the normalised time with the
    /// fields below the first one that moved reset (so that "March 33rd"
    /// resumes on April 1st, not April 2nd).
    Moved,
    /// Past the year limit, not representable, or normalised backwards.
    Out,
}

fn within_bounds(tm: &mut Tm, conv: &mut Conv<'_>, fallback: bool) -> Bounds {
    if tm.year + 1900 > MAX_YEAR {
        return Bounds::Out;
    }
    let mut t = *tm;
    if conv.mktime(&mut t).is_none() {
        return Bounds::Out;
    }
    let cmp = if t.year != tm.year {
        t.mon = 0;
        t.year.cmp(&tm.year)
    } else if t.mon != tm.mon {
        t.mday = 1;
        t.mon.cmp(&tm.mon)
    } else if t.mday != tm.mday {
        t.hour = 0;
        t.mday.cmp(&tm.mday)
    } else if t.hour != tm.hour {
        t.min = 0;
        t.hour.cmp(&tm.hour)
    } else if t.min != tm.min {
        t.sec = 0;
        t.min.cmp(&tm.min)
    } else {
        t.sec.cmp(&tm.sec)
    };
    match cmp {
        std::cmp::Ordering::Less => Bounds::Out,
        std::cmp::Ordering::Equal => Bounds::Exact,
        std::cmp::Ordering::Greater => {
            if fallback {
                // The normalised time's DST flag belongs to the time before
                // the reset of the lower fields; carried over, it can send
                // mktime back an hour across a DST change, forever.
                t.isdst = -1;
            }
            *tm = t;
            Bounds::Moved
        }
    }
}

fn matches_weekday(bits: Option<u8>, tm: &Tm, conv: &mut Conv<'_>) -> bool {
    let Some(bits) = bits else {
        return true;
    };
    let mut t = *tm;
    if conv.mktime(&mut t).is_none() {
        return false;
    }
    let monday_based = (t.wday + 6) % 7;
    bits & (1 << monday_based) != 0
}

/// `find_next`. `Ok(false)` means the expression does not elapse again.
///
/// With `fallback`, the search differs from systemd's in one point: a
/// normalised candidate does not keep its DST flag. systemd 252 loops
/// forever on some month or day repetitions that overflow into the other
/// DST state (`*-1/5-* *:*` from late November in Europe/Berlin) and gives
/// up after 1000 steps; jobd then runs this variant, which finds the elapse
/// the search was heading for.
fn find_next(
    spec: &CalendarSpec,
    tm: &mut Tm,
    usec: &mut i32,
    conv: &mut Conv<'_>,
    fallback: bool,
) -> Result<bool, NextError> {
    let mut c = *tm;
    let mut tm_usec = *usec;
    let dst = spec.dst_request();
    let mut invalidate_dst = false;

    let steps = if fallback { 100 * MAX_STEPS } else { MAX_STEPS };
    'candidate: for _ in 0..steps {
        // Normalise the current candidate.
        let _ = conv.mktime(&mut c);
        if !invalidate_dst {
            c.isdst = dst;
        }

        let mut year = c.year + 1900;
        let r = find_matching(&spec.year, false, &c, &mut year, conv);
        c.year = year - 1900;
        match r {
            Err(()) => return Ok(false),
            Ok(true) => {
                c.mon = 0;
                Level::Month.clear_below(&mut c, &mut tm_usec);
            }
            Ok(false) => {}
        }
        if !matches!(within_bounds(&mut c, conv, fallback), Bounds::Exact) {
            return Ok(false);
        }

        let mut narrow = |level: Level, chain: &Chain, eom: bool, c: &mut Tm, us: &mut i32| {
            level.narrow(chain, eom, c, us, conv, fallback)
        };
        if !narrow(Level::Month, &spec.month, false, &mut c, &mut tm_usec)
            || !narrow(
                Level::Day,
                &spec.day,
                spec.end_of_month,
                &mut c,
                &mut tm_usec,
            )
        {
            continue 'candidate;
        }
        if !matches_weekday(spec.weekdays, &c, conv) {
            Level::Hour.next_above(&mut c, &mut tm_usec);
            continue;
        }
        let mut narrow = |level: Level, chain: &Chain, c: &mut Tm, us: &mut i32| {
            level.narrow(chain, false, c, us, conv, fallback)
        };
        if !narrow(Level::Hour, &spec.hour, &mut c, &mut tm_usec)
            || !narrow(Level::Minute, &spec.minute, &mut c, &mut tm_usec)
            || !narrow(Level::Usec, &spec.microsecond, &mut c, &mut tm_usec)
        {
            continue;
        }

        // A DST gap can resolve a candidate back onto the start: then
        // step an hour on and let mktime pick the side (systemd 252).
        let start = (tm.year, tm.mon, tm.mday, tm.hour, tm.min, tm.sec);
        let found = (c.year, c.mon, c.mday, c.hour, c.min, c.sec);
        if start.cmp(&found).then((*usec).cmp(&(tm_usec + 1))).is_ge() {
            invalidate_dst = true;
            c.hour += 1;
            continue;
        }

        *tm = c;
        *usec = tm_usec;
        return Ok(true);
    }
    Err(NextError::Loop)
}

/// The components `find_next` narrows down in turn, below the year; the
/// last is seconds and microseconds together, as systemd matches them.
#[derive(Clone, Copy)]
enum Level {
    Month,
    Day,
    Hour,
    Minute,
    Usec,
}

impl Level {
    /// The component's value as the spec writes it.
    fn get(self, c: &Tm, usec: i32) -> i32 {
        match self {
            Level::Month => c.mon + 1,
            Level::Day => c.mday,
            Level::Hour => c.hour,
            Level::Minute => c.min,
            Level::Usec => c.sec * USEC_PER_SEC + usec,
        }
    }

    fn set(self, c: &mut Tm, usec: &mut i32, v: i32) {
        match self {
            Level::Month => c.mon = v - 1,
            Level::Day => c.mday = v,
            Level::Hour => c.hour = v,
            Level::Minute => c.min = v,
            Level::Usec => {
                *usec = v % USEC_PER_SEC;
                c.sec = v / USEC_PER_SEC;
            }
        }
    }

    /// Resets everything below this component to its first value.
    fn clear_below(self, c: &mut Tm, usec: &mut i32) {
        match self {
            Level::Month => (c.mday, c.hour, c.min, c.sec) = (1, 0, 0, 0),
            Level::Day => (c.hour, c.min, c.sec) = (0, 0, 0),
            Level::Hour => (c.min, c.sec) = (0, 0),
            Level::Minute => c.sec = 0,
            Level::Usec => return,
        }
        *usec = 0;
    }

    /// On to the next value of the component above, from its start.
    fn next_above(self, c: &mut Tm, usec: &mut i32) {
        let above = match self {
            Level::Month => {
                c.year += 1;
                c.mon = 0;
                Level::Month
            }
            Level::Day => {
                c.mon += 1;
                Level::Month
            }
            Level::Hour => {
                c.mday += 1;
                Level::Day
            }
            Level::Minute => {
                c.hour += 1;
                Level::Hour
            }
            Level::Usec => {
                c.min += 1;
                Level::Minute
            }
        };
        above.clear_below(c, usec);
    }

    /// One step of `find_next` for this component: the next value the
    /// chain allows. True when it holds as it is; false when the search
    /// must start over from the normalised (or advanced) candidate (an
    /// hour may not exist on a DST change day, a day in a month).
    fn narrow(
        self,
        chain: &Chain,
        end_of_month: bool,
        c: &mut Tm,
        usec: &mut i32,
        conv: &mut Conv<'_>,
        fallback: bool,
    ) -> bool {
        let mut v = self.get(c, *usec);
        let r = find_matching(chain, end_of_month, c, &mut v, conv);
        self.set(c, usec, v);
        if r == Ok(true) {
            self.clear_below(c, usec);
        }
        match r.map(|_| within_bounds(c, conv, fallback)) {
            Err(()) | Ok(Bounds::Out) => {
                self.next_above(c, usec);
                false
            }
            Ok(Bounds::Moved) => false,
            Ok(Bounds::Exact) => true,
        }
    }
}
