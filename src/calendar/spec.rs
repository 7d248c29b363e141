//! The parsed calendar expression: its fields, normal form and validity.
//!
//! Mirrors systemd's `CalendarSpec` (`calendarspec.c`): six chains of
//! components (year, month, day, hour, minute, and seconds held in
//! microseconds), a weekday bit set, the `~` flag, and where the expression
//! is evaluated. `normalize` and `is_valid` follow `calendar_spec_normalize`
//! and `calendar_spec_valid` of systemd 252, and `Display` prints the normal
//! form byte for byte as `systemd-analyze calendar` does.

use std::fmt::{self, Write as _};
use std::sync::Arc;

use super::zone::Zone;

/// Microseconds per second.
pub const USEC_PER_SEC: i32 = 1_000_000;
/// The first year an expression may name.
pub const MIN_YEAR: i32 = 1970;
/// The last year an expression may name, and the last local year searched.
pub const MAX_YEAR: i32 = 2199;
/// Weekday bits with every day set; systemd treats it as "no restriction".
const ALL_WEEKDAYS: u8 = 0x7f;
const WEEKDAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// One list item of a field: `start`, `start..stop`, `start/repeat` or
/// `start..stop/repeat`. `stop` is -1 when absent, `repeat` 0 when absent.
/// For `~` days, values count back from the end of the month (1 = last).
/// In the seconds field all three are microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Component {
    pub start: i32,
    pub stop: i32,
    pub repeat: i32,
}

impl Component {
    /// Whether this item allows `v` (plain fields; `~` days count from the
    /// end of the month and are matched by the search itself).
    pub fn contains(&self, v: i32) -> bool {
        match (self.stop, self.repeat) {
            (-1, 0) => v == self.start,
            (-1, r) => v >= self.start && (v - self.start) % r == 0,
            (stop, r) => v >= self.start && v <= stop && (v - self.start) % r.max(1) == 0,
        }
    }

    /// A single value.
    pub const fn value(start: i32) -> Component {
        Component {
            start,
            stop: -1,
            repeat: 0,
        }
    }
}

/// A field's list; `None` is `*` (no restriction). The seconds field is
/// never `None`: there `*` is stored as `0/1s`, as systemd does.
pub type Chain = Option<Vec<Component>>;

/// Where an expression's wall-clock fields are read.
#[derive(Clone, Debug)]
pub enum Evaluation {
    /// In the local zone (`$TZ`), DST decided by the zone.
    Local,
    /// In the local zone with the DST flag pinned by an abbreviation suffix
    /// (`12:00 CET`): `false` for `tzname[0]`, `true` for `tzname[1]`. The
    /// abbreviation is kept for printing.
    LocalDst { dst: bool, abbreviation: String },
    /// In UTC (` UTC` suffix, or an `@EPOCH` expression).
    Utc,
    /// In a named zone (`Europe/Berlin`), as typed.
    Zone(Arc<Zone>),
}

/// A parsed, normalised and valid calendar expression.
#[derive(Clone, Debug)]
pub struct CalendarSpec {
    /// Weekday bits, bit 0 = Monday; `None` is every day.
    pub weekdays: Option<u8>,
    /// The day field counts from the end of the month (`~`).
    pub end_of_month: bool,
    pub evaluation: Evaluation,
    pub year: Chain,
    pub month: Chain,
    pub day: Chain,
    pub hour: Chain,
    pub minute: Chain,
    pub microsecond: Chain,
}

impl CalendarSpec {
    /// An expression with every field `*`, evaluated locally.
    pub(crate) fn empty() -> CalendarSpec {
        CalendarSpec {
            weekdays: None,
            end_of_month: false,
            evaluation: Evaluation::Local,
            year: None,
            month: None,
            day: None,
            hour: None,
            minute: None,
            microsecond: None,
        }
    }

    /// `calendar_spec_normalize`: two-digit years, weekday sets that mean
    /// "any", and each chain sorted and de-duplicated.
    pub(crate) fn normalize(&mut self) {
        if matches!(self.weekdays, Some(bits) if bits == 0 || bits >= ALL_WEEKDAYS) {
            self.weekdays = None;
        }
        if self.end_of_month && self.day.is_none() {
            self.end_of_month = false;
        }
        if let Some(years) = &mut self.year {
            for c in years.iter_mut() {
                c.start = fix_year(c.start);
                c.stop = fix_year(c.stop);
            }
        }
        for items in [
            &mut self.year,
            &mut self.month,
            &mut self.day,
            &mut self.hour,
            &mut self.minute,
            &mut self.microsecond,
        ]
        .into_iter()
        .flatten()
        {
            normalize_chain(items);
        }
    }

    /// `calendar_spec_valid`: every value inside its field's range, and
    /// every repetition able to fire at least twice.
    pub(crate) fn is_valid(&self) -> bool {
        chain_valid(&self.year, MIN_YEAR, MAX_YEAR, false)
            && chain_valid(&self.month, 1, 12, false)
            && chain_valid(&self.day, 1, 31, self.end_of_month)
            && chain_valid(&self.hour, 0, 23, false)
            && chain_valid(&self.minute, 0, 59, false)
            && chain_valid(&self.microsecond, 0, 60 * USEC_PER_SEC - 1, false)
    }

    /// Whether the expression has no time-zone suffix of its own and so
    /// follows `$TZ`.
    pub fn is_local(&self) -> bool {
        matches!(
            self.evaluation,
            Evaluation::Local | Evaluation::LocalDst { .. }
        )
    }
}

/// systemd's `fix_year`: 0–69 → 2000–2069, 70–99 → 1970–1999.
fn fix_year(y: i32) -> i32 {
    match y {
        0..70 => y + 2000,
        70..100 => y + 1900,
        _ => y,
    }
}

/// systemd's `normalize_chain`: lower each range's end to the last value it
/// hits, drop repetitions that cannot fire twice and `a..a` ranges, then
/// sort by (start, stop, repeat) and drop exact duplicates. Overlapping
/// items are kept as they are.
fn normalize_chain(items: &mut Vec<Component>) {
    for c in items.iter_mut() {
        if c.stop > c.start && c.repeat > 0 {
            c.stop -= (c.stop - c.start) % c.repeat;
        }
        if (c.stop > c.start && c.repeat > 0 && c.start + c.repeat > c.stop) || c.start == c.stop {
            c.repeat = 0;
            c.stop = -1;
        }
    }
    items.sort_unstable();
    items.dedup();
    // A spec lives as long as its job: no spare capacity.
    items.shrink_to_fit();
}

/// systemd's `chain_valid`.
fn chain_valid(chain: &Chain, from: i32, to: i32, end_of_month: bool) -> bool {
    let Some(items) = chain else {
        return true;
    };
    // `~` days may count back at most 28 days. systemd 252 lowers that
    // limit by 3 again for each further list item (it re-applies the
    // adjustment as it recurses down the chain), so `*-*~27` is valid but
    // `*-*~15,27` is not; jobd accepts exactly what systemd accepts.
    items.iter().enumerate().all(|(i, c)| {
        let to = if end_of_month {
            to - 3 * (i as i32 + 1)
        } else {
            to
        };
        if c.start < from || c.start > to || c.repeat > to - from {
            return false;
        }
        if c.stop >= 0 {
            c.stop >= from && c.stop <= to && c.start + c.repeat <= c.stop
        } else if end_of_month {
            c.start - c.repeat >= from
        } else {
            c.start + c.repeat <= to
        }
    })
}

impl fmt::Display for CalendarSpec {
    /// The normal form, as `calendar_spec_to_string` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(bits) = self.weekdays {
            format_weekdays(f, bits)?;
            f.write_char(' ')?;
        }
        format_chain(f, 4, &self.year, false)?;
        f.write_char('-')?;
        format_chain(f, 2, &self.month, false)?;
        f.write_char(if self.end_of_month { '~' } else { '-' })?;
        format_chain(f, 2, &self.day, false)?;
        f.write_char(' ')?;
        format_chain(f, 2, &self.hour, false)?;
        f.write_char(':')?;
        format_chain(f, 2, &self.minute, false)?;
        f.write_char(':')?;
        format_chain(f, 2, &self.microsecond, true)?;
        match &self.evaluation {
            Evaluation::Local => Ok(()),
            Evaluation::Utc => f.write_str(" UTC"),
            Evaluation::Zone(zone) => write!(f, " {}", zone.name()),
            Evaluation::LocalDst { abbreviation, .. } if abbreviation.is_empty() => Ok(()),
            Evaluation::LocalDst { abbreviation, .. } => write!(f, " {abbreviation}"),
        }
    }
}

/// Mon…Sun order; runs of three or more days as `A..B`, of two as `A,B`.
fn format_weekdays(f: &mut fmt::Formatter<'_>, bits: u8) -> fmt::Result {
    let mut first = true;
    let mut day = 0;
    while day < 7 {
        if bits & (1 << day) == 0 {
            day += 1;
            continue;
        }
        let mut last = day;
        while last + 1 < 7 && bits & (1 << (last + 1)) != 0 {
            last += 1;
        }
        if !first {
            f.write_char(',')?;
        }
        first = false;
        f.write_str(WEEKDAY_NAMES[day])?;
        match last - day {
            0 => {}
            1 => write!(f, ",{}", WEEKDAY_NAMES[last])?,
            _ => write!(f, "..{}", WEEKDAY_NAMES[last])?,
        }
        day = last + 1;
    }
    Ok(())
}

fn format_chain(
    f: &mut fmt::Formatter<'_>,
    width: usize,
    chain: &Chain,
    usec: bool,
) -> fmt::Result {
    let Some(items) = chain else {
        return f.write_char('*');
    };
    let every_second = Component {
        start: 0,
        stop: -1,
        repeat: USEC_PER_SEC,
    };
    // systemd 252 prints the whole seconds list as `*` as soon as one item
    // is "every second" (`*:4,30:0/1,7` → `*:04,30:*`), although the other
    // items still count when elapses are computed.
    if usec && items.contains(&every_second) {
        return f.write_char('*');
    }
    let d = if usec { USEC_PER_SEC } else { 1 };
    for (i, c) in items.iter().enumerate() {
        if i > 0 {
            f.write_char(',')?;
        }
        write!(f, "{:0width$}", c.start / d)?;
        if c.start % d > 0 {
            write!(f, ".{:06}", c.start % d)?;
        }
        if c.stop > 0 {
            write!(f, "..{:0width$}", c.stop / d)?;
        }
        if c.stop % d > 0 {
            write!(f, ".{:06}", c.stop % d)?;
        }
        if c.repeat > 0 && !(c.stop > 0 && c.repeat == d) {
            write!(f, "/{}", c.repeat / d)?;
        }
        if c.repeat % d > 0 {
            write!(f, ".{:06}", c.repeat % d)?;
        }
    }
    Ok(())
}
