//! The `OnCalendar=` grammar (systemd.time(7), "Calendar Events").
//!
//! Follows `calendar_spec_from_string` of systemd 252 step by step, so that
//! exactly the same strings are accepted: the zone suffix is split off first
//! (` UTC`, then one of the local zone's two abbreviations, then a zone
//! file name), then a shortcut (`daily`, …) or weekdays, a date or
//! `@EPOCH`, and a time. Where systemd only says "Invalid argument", this
//! parser says what is wrong and at which column.

use std::sync::Arc;

use super::spec::{CalendarSpec, Chain, Component, Evaluation, MAX_YEAR, MIN_YEAR, USEC_PER_SEC};
use super::tm::gmtime;
use super::zone::Zone;

/// Where the parser finds time zones: the local one (`$TZ`), and named ones
/// by the rules of systemd's `timezone_is_valid` (a TZif file under
/// `/usr/share/zoneinfo`). Implemented over the file system by
/// `crate::tzdb`, and by tables in tests.
pub trait ZoneSource {
    /// The zone expressions without a suffix are evaluated in.
    fn local(&self) -> &Zone;
    /// The zone called `name`, if systemd would accept it as a suffix.
    fn named(&self, name: &str) -> Option<Arc<Zone>>;
}

/// Why an expression was refused, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid calendar expression {expr:?}: at column {column}: {message}")]
pub struct CalendarError {
    /// The expression as given.
    pub expr: String,
    /// 1-based column of the problem.
    pub column: usize,
    /// What is wrong, and what to write instead where that is clear.
    pub message: String,
}

/// Most list items one field may have (systemd's
/// `CALENDARSPEC_COMPONENTS_MAX` + 1).
const MAX_ITEMS: usize = 241;

const WEEKDAYS: [(&str, u8); 14] = [
    ("Monday", 0),
    ("Mon", 0),
    ("Tuesday", 1),
    ("Tue", 1),
    ("Wednesday", 2),
    ("Wed", 2),
    ("Thursday", 3),
    ("Thu", 3),
    ("Friday", 4),
    ("Fri", 4),
    ("Saturday", 5),
    ("Sat", 5),
    ("Sunday", 6),
    ("Sun", 6),
];

/// Parses, normalises and validates a calendar expression.
pub fn parse(expr: &str, zones: &dyn ZoneSource) -> Result<CalendarSpec, CalendarError> {
    let mut p = Parser {
        expr,
        s: expr.as_bytes(),
        i: 0,
        end: expr.len(),
        fields: Vec::new(),
    };
    let mut spec = CalendarSpec::empty();
    p.split_zone(&mut spec, zones);
    if p.end == 0 {
        return Err(p.error(
            0,
            "empty expression; write e.g. \"daily\" or \"*-*-* 04:00:00\"",
        ));
    }
    if !p.shortcut(&mut spec) {
        p.weekdays(&mut spec)?;
        if !p.date(&mut spec)? {
            p.time(&mut spec)?;
        }
        if p.i < p.end {
            return Err(p.error(
                p.i,
                "unexpected text; an expression is [WEEKDAYS] [DATE] [TIME] [ZONE]",
            ));
        }
    }
    spec.normalize();
    if !spec.is_valid() {
        return Err(p.invalid_field(&spec));
    }
    Ok(spec)
}

/// A field as parsed, for locating validity errors.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
}

struct Parser<'a> {
    expr: &'a str,
    s: &'a [u8],
    i: usize,
    /// End of the text left once the zone suffix is split off.
    end: usize,
    /// Start column of each field parsed.
    fields: Vec<(Field, usize)>,
}

impl Parser<'_> {
    fn error(&self, at: usize, message: &str) -> CalendarError {
        CalendarError {
            expr: self.expr.to_owned(),
            column: at + 1,
            message: message.to_owned(),
        }
    }

    fn peek(&self) -> Option<u8> {
        if self.i < self.end {
            Some(self.s[self.i])
        } else {
            None
        }
    }

    fn at(&self, i: usize) -> Option<u8> {
        if i < self.end { Some(self.s[i]) } else { None }
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    /// Splits a trailing zone off, in systemd's order.
    fn split_zone(&mut self, spec: &mut CalendarSpec, zones: &dyn ZoneSource) {
        let s = self.s;
        if s.len() >= 4 && s[s.len() - 4..].eq_ignore_ascii_case(b" UTC") {
            spec.evaluation = Evaluation::Utc;
            self.end = s.len() - 4;
            return;
        }
        let local = zones.local();
        for dst in [false, true] {
            let name = local.tzname(dst).as_bytes();
            if name.is_empty() || s.len() <= name.len() {
                continue;
            }
            let at = s.len() - name.len();
            if s[at..].eq_ignore_ascii_case(name) && s[at - 1] == b' ' {
                spec.evaluation = Evaluation::LocalDst {
                    dst,
                    abbreviation: local.tzname(dst).to_owned(),
                };
                self.end = at - 1;
                return;
            }
        }
        if let Some(space) = s.iter().rposition(|&b| b == b' ')
            && let Some(zone) = zones.named(&self.expr[space + 1..])
        {
            spec.evaluation = Evaluation::Zone(zone);
            self.end = space;
        }
    }

    /// `minutely` … `semiannually`: the whole remaining text, any case.
    fn shortcut(&mut self, spec: &mut CalendarSpec) -> bool {
        let word = &self.expr[..self.end];
        let is = |names: &[&str]| names.iter().any(|n| word.eq_ignore_ascii_case(n));
        let zero = Some(vec![Component::value(0)]);
        let one = Some(vec![Component::value(1)]);
        let months = |m: &[i32]| Some(m.iter().map(|&m| Component::value(m)).collect());
        if is(&["minutely"]) {
            spec.microsecond = zero;
        } else if is(&["hourly"]) {
            (spec.minute, spec.microsecond) = (zero.clone(), zero);
        } else if is(&["daily"]) {
            (spec.hour, spec.minute, spec.microsecond) = (zero.clone(), zero.clone(), zero);
        } else if is(&["monthly"]) {
            spec.day = one;
            (spec.hour, spec.minute, spec.microsecond) = (zero.clone(), zero.clone(), zero);
        } else if is(&["annually", "yearly", "anually"]) {
            (spec.month, spec.day) = (one.clone(), one);
            (spec.hour, spec.minute, spec.microsecond) = (zero.clone(), zero.clone(), zero);
        } else if is(&["weekly"]) {
            spec.weekdays = Some(1);
            (spec.hour, spec.minute, spec.microsecond) = (zero.clone(), zero.clone(), zero);
        } else if is(&["quarterly"]) {
            (spec.month, spec.day) = (months(&[1, 4, 7, 10]), one);
            (spec.hour, spec.minute, spec.microsecond) = (zero.clone(), zero.clone(), zero);
        } else if is(&["biannually", "bi-annually", "semiannually", "semi-annually"]) {
            (spec.month, spec.day) = (months(&[1, 7]), one);
            (spec.hour, spec.minute, spec.microsecond) = (zero.clone(), zero.clone(), zero);
        } else {
            return false;
        }
        true
    }

    /// The weekday name here and its number; `None` if there is none
    /// where one may be missing (`first`: the expression has no weekdays).
    fn weekday_at(&self, first: bool) -> Result<Option<(&'static str, u8)>, CalendarError> {
        let rest = &self.s[self.i..self.end];
        let found = WEEKDAYS.iter().find(|(name, _)| {
            rest.len() >= name.len() && rest[..name.len()].eq_ignore_ascii_case(name.as_bytes())
        });
        let Some(&(name, nr)) = found else {
            if first {
                return Ok(None);
            }
            return Err(self.error(self.i, "expected a weekday (Mon … Sun) after ','"));
        };
        if !matches!(
            self.at(self.i + name.len()),
            None | Some(b'-' | b'.' | b',' | b' ')
        ) {
            return Err(self.error(
                self.i,
                "unknown weekday; write Mon, Tue, Wed, Thu, Fri, Sat, Sun or the full English name",
            ));
        }
        Ok(Some((name, nr)))
    }

    fn weekdays(&mut self, spec: &mut CalendarSpec) -> Result<(), CalendarError> {
        let mut bits = 0u8;
        let mut range_start: Option<u8> = None;
        let mut first = true;
        loop {
            let Some((name, nr)) = self.weekday_at(first)? else {
                return Ok(());
            };
            bits |= 1 << nr;
            if let Some(from) = range_start {
                if from > nr {
                    return Err(self.error(
                        self.i,
                        "weekday ranges run Mon to Sun and cannot wrap; write e.g. Fri..Sun,Mon",
                    ));
                }
                for d in from + 1..nr {
                    bits |= 1 << d;
                }
            }
            self.i += name.len();
            spec.weekdays = Some(bits);
            match self.peek() {
                None => return Ok(()),
                Some(b' ') => {
                    self.skip_spaces();
                    return Ok(());
                }
                Some(b'.') => {
                    if range_start.is_some() {
                        return Err(self.error(
                            self.i,
                            "weekday ranges cannot be chained; use a list: Mon..Wed,Fri",
                        ));
                    }
                    if self.at(self.i + 1) != Some(b'.') {
                        return Err(self.error(
                            self.i,
                            "a weekday range is written with '..', as in Mon..Fri",
                        ));
                    }
                    range_start = Some(nr);
                    self.i += 2;
                }
                Some(b'-') => {
                    if range_start.is_some() {
                        return Err(self.error(
                            self.i,
                            "weekday ranges cannot be chained; use a list: Mon..Wed,Fri",
                        ));
                    }
                    range_start = Some(nr);
                    self.i += 1;
                }
                _ => {
                    // ','
                    range_start = None;
                    self.i += 1;
                }
            }
            if matches!(self.peek(), None | Some(b' ')) {
                self.skip_spaces();
                if range_start.is_some() {
                    return Err(self.error(
                        self.i.saturating_sub(1),
                        "open weekday range; write its end, as in Mon..Fri",
                    ));
                }
                return Ok(());
            }
            first = false;
        }
    }

    /// A plain decimal (seconds: with up to six fraction digits, in µs).
    fn decimal(&mut self, usec: bool) -> Result<i32, CalendarError> {
        let start = self.i;
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            let message = match self.peek() {
                Some(b'*') => {
                    "'*' cannot be part of a list, range or repetition; write e.g. 0/10 for every 10th value"
                }
                Some(b'-' | b'+') => "values are plain decimal numbers without a sign",
                Some(b' ') => "unexpected space",
                None => "expected a number at the end of the expression",
                _ => "expected a number",
            };
            return Err(self.error(start, message));
        }
        let mut value: u64 = 0;
        let mut overflow = false;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            match value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(d - b'0')))
            {
                Some(v) => value = v,
                None => overflow = true,
            }
            self.i += 1;
        }
        let expr = self.expr;
        let too_big = || CalendarError {
            expr: expr.to_owned(),
            column: start + 1,
            message: "number out of range".to_owned(),
        };
        if overflow {
            return Err(too_big());
        }
        if usec {
            value = value.checked_mul(USEC_PER_SEC as u64).ok_or_else(too_big)?;
            if self.peek() == Some(b'.') && self.at(self.i + 1) != Some(b'.') {
                self.i += 1;
                value = value
                    .checked_add(u64::from(self.fraction()?))
                    .ok_or_else(too_big)?;
            }
        }
        i32::try_from(value).map_err(|_| too_big())
    }

    /// systemd's `parse_fractional_part_u` with 6 digits: pads, rounds on
    /// the 7th digit and skips the rest.
    fn fraction(&mut self) -> Result<u32, CalendarError> {
        let mut value = 0u32;
        for n in 0..6 {
            match self.peek() {
                Some(d @ b'0'..=b'9') => {
                    value = value * 10 + u32::from(d - b'0');
                    self.i += 1;
                }
                _ if n == 0 => {
                    return Err(self.error(self.i, "expected digits after the decimal point"));
                }
                _ => {
                    value *= 10u32.pow(6 - n);
                    break;
                }
            }
        }
        if matches!(self.peek(), Some(b'5'..=b'9')) {
            value += 1;
        }
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        Ok(value)
    }

    /// A field: `*`, or a list of `v`, `a..b`, `a/r`, `a..b/r`.
    fn chain(&mut self, field: Field) -> Result<Chain, CalendarError> {
        let usec = field == Field::Second;
        self.fields.push((field, self.i));
        if self.peek() == Some(b'*') {
            self.i += 1;
            if self.peek() == Some(b'/') {
                return Err(self.error(
                    self.i - 1,
                    "'*' cannot take a repetition; write 0/N (cron's */N)",
                ));
            }
            if self.peek() == Some(b',') {
                return Err(self.error(self.i - 1, "'*' cannot be part of a list"));
            }
            return Ok(usec.then(|| {
                vec![Component {
                    start: 0,
                    stop: -1,
                    repeat: USEC_PER_SEC,
                }]
            }));
        }
        let mut items = Vec::new();
        loop {
            if items.len() >= MAX_ITEMS {
                return Err(self.error(self.i, "too many list items in one field (at most 241)"));
            }
            let item_at = self.i;
            let start = self.decimal(usec)?;
            let mut stop = -1;
            let mut repeat = 0;
            if self.peek() == Some(b'.') && self.at(self.i + 1) == Some(b'.') {
                self.i += 2;
                stop = self.decimal(usec)?;
                repeat = if usec { USEC_PER_SEC } else { 1 };
            }
            if self.peek() == Some(b'/') {
                self.i += 1;
                let at = self.i;
                repeat = self.decimal(usec)?;
                if repeat == 0 {
                    return Err(self.error(at, "a repetition must be at least 1 (a fraction of a second only in the seconds field)"));
                }
            } else {
                if start > i32::MAX - repeat {
                    return Err(self.error(item_at, "number out of range"));
                }
                if usec && stop >= 0 && start + repeat > stop {
                    return Err(self.error(
                        item_at,
                        "a seconds range steps by 1 s unless it says otherwise; it must span at least 1 s (or add /STEP)",
                    ));
                }
            }
            if !matches!(self.peek(), None | Some(b' ' | b',' | b'-' | b'~' | b':')) {
                let message = if self.peek() == Some(b'.') && !usec {
                    "only seconds may have a fraction"
                } else {
                    "unexpected character in a field; items are N, A..B, A/STEP or A..B/STEP, separated by ','"
                };
                return Err(self.error(self.i, message));
            }
            items.push(Component {
                start,
                stop,
                repeat,
            });
            if self.peek() == Some(b',') {
                self.i += 1;
                continue;
            }
            return Ok(Some(items));
        }
    }

    /// A date, `@EPOCH`, or nothing. Returns true for `@EPOCH`, after which
    /// no time may follow.
    fn date(&mut self, spec: &mut CalendarSpec) -> Result<bool, CalendarError> {
        if self.peek().is_none() {
            return Ok(false);
        }
        if self.peek() == Some(b'@') {
            self.epoch(spec)?;
            return Ok(true);
        }
        let save = (self.i, self.fields.len());
        let first = self.chain(Field::Year)?;
        if matches!(self.peek(), None | Some(b':')) {
            // It was the hour of a time.
            (self.i, _) = save;
            self.fields.truncate(save.1);
            return Ok(false);
        }
        match self.peek() {
            Some(b'~') => spec.end_of_month = true,
            Some(b'-') => {}
            _ => {
                return Err(self.error(
                    self.i,
                    "expected '-' or '~' between the parts of a date, or ':' in a time",
                ));
            }
        }
        self.i += 1;
        let second = self.chain(Field::Month)?;
        if matches!(self.peek(), None | Some(b' ')) {
            // Two parts: month and day.
            let n = self.fields.len();
            self.fields[n - 2].0 = Field::Month;
            self.fields[n - 1].0 = Field::Day;
            self.skip_spaces();
            (spec.month, spec.day) = (first, second);
            return Ok(false);
        }
        if spec.end_of_month {
            return Err(self.error(
                self.i,
                "'~' may only stand between the month and the day, as in *-02~1",
            ));
        }
        match self.peek() {
            Some(b'~') => spec.end_of_month = true,
            Some(b'-') => {}
            _ => return Err(self.error(self.i, "expected '-' or '~' before the day")),
        }
        self.i += 1;
        let third = self.chain(Field::Day)?;
        if !matches!(self.peek(), None | Some(b' ')) {
            return Err(self.error(self.i, "expected a space after the date"));
        }
        self.skip_spaces();
        (spec.year, spec.month, spec.day) = (first, second, third);
        Ok(false)
    }

    /// `@EPOCH`, read like C's `strtoul` (leading white space and a sign
    /// are accepted, as systemd accepts them).
    fn epoch(&mut self, spec: &mut CalendarSpec) -> Result<(), CalendarError> {
        self.i += 1;
        let at = self.i;
        while matches!(
            self.peek(),
            Some(b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
        ) {
            self.i += 1;
        }
        let negative = match self.peek() {
            Some(b'-') => {
                self.i += 1;
                true
            }
            Some(b'+') => {
                self.i += 1;
                false
            }
            _ => false,
        };
        let digits = self.i;
        let mut value: u64 = 0;
        let mut overflow = false;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            match value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(d - b'0')))
            {
                Some(v) => value = v,
                None => overflow = true,
            }
            self.i += 1;
        }
        if self.i == digits {
            return Err(self.error(at, "expected seconds since the epoch after '@'"));
        }
        let out_of_range = || self.error(at, "@EPOCH must lie between 1970 and 2199");
        if overflow {
            return Err(out_of_range());
        }
        // strtoul negates in unsigned arithmetic; as a time_t that is -value.
        let t = if negative {
            -(value as i128)
        } else {
            value as i128
        };
        let t = i64::try_from(t).map_err(|_| out_of_range())?;
        let days = t.div_euclid(86_400);
        let year = super::tm::civil_from_days(days).0;
        if !(i64::from(MIN_YEAR)..=i64::from(MAX_YEAR)).contains(&year) {
            return Err(out_of_range());
        }
        let tm = gmtime(t);
        let one = |v: i32| Some(vec![Component::value(v)]);
        spec.year = one(tm.year + 1900);
        spec.month = one(tm.mon + 1);
        spec.day = one(tm.mday);
        spec.hour = one(tm.hour);
        spec.minute = one(tm.min);
        spec.microsecond = one(tm.sec * USEC_PER_SEC);
        spec.evaluation = Evaluation::Utc;
        if self.peek().is_some() {
            return Err(self.error(self.i, "nothing may follow @EPOCH except a time zone"));
        }
        Ok(())
    }

    /// `H:M` or `H:M:S`; nothing means 00:00:00.
    fn time(&mut self, spec: &mut CalendarSpec) -> Result<(), CalendarError> {
        let zero = || Some(vec![Component::value(0)]);
        if self.peek().is_none() {
            (spec.hour, spec.minute, spec.microsecond) = (zero(), zero(), zero());
            return Ok(());
        }
        spec.hour = self.chain(Field::Hour)?;
        if self.peek() != Some(b':') {
            return Err(self.error(
                self.i,
                "expected ':' after the hour; a time is H:M or H:M:S",
            ));
        }
        self.i += 1;
        spec.minute = self.chain(Field::Minute)?;
        match self.peek() {
            None => {
                spec.microsecond = zero();
                return Ok(());
            }
            Some(b':') => self.i += 1,
            Some(b' ') => {
                return Err(self.error(
                    self.i,
                    "unexpected space after the time (a time zone must be a valid name)",
                ));
            }
            _ => return Err(self.error(self.i, "expected ':' before the seconds")),
        }
        spec.microsecond = self.chain(Field::Second)?;
        if self.peek().is_some() {
            let message = if self.peek() == Some(b' ') {
                "unexpected space after the time (a time zone must be a valid name)"
            } else {
                "unexpected text after the seconds"
            };
            return Err(self.error(self.i, message));
        }
        Ok(())
    }

    /// Names the first field that `calendar_spec_valid` refuses.
    fn invalid_field(&self, spec: &CalendarSpec) -> CalendarError {
        let checks: [(Field, &Chain, &str, i32, i32); 6] = [
            (Field::Year, &spec.year, "year", MIN_YEAR, MAX_YEAR),
            (Field::Month, &spec.month, "month", 1, 12),
            (
                Field::Day,
                &spec.day,
                "day",
                1,
                if spec.end_of_month { 28 } else { 31 },
            ),
            (Field::Hour, &spec.hour, "hour", 0, 23),
            (Field::Minute, &spec.minute, "minute", 0, 59),
            (Field::Second, &spec.microsecond, "second", 0, 59),
        ];
        for (field, chain, name, from, to) in checks {
            let single = CalendarSpec {
                year: None,
                month: None,
                day: None,
                hour: None,
                minute: None,
                microsecond: None,
                ..spec.clone()
            };
            let mut probe = single;
            let slot = match field {
                Field::Year => &mut probe.year,
                Field::Month => &mut probe.month,
                Field::Day => &mut probe.day,
                Field::Hour => &mut probe.hour,
                Field::Minute => &mut probe.minute,
                Field::Second => &mut probe.microsecond,
            };
            *slot = chain.clone();
            if probe.is_valid() {
                continue;
            }
            let column = self
                .fields
                .iter()
                .find(|(f, _)| *f == field)
                .map_or(0, |&(_, c)| c);
            let range = if spec.end_of_month && field == Field::Day {
                "~1..~28 (days from the end of the month)".to_owned()
            } else {
                format!("{from}..{to}")
            };
            return self.error(
                column,
                &format!(
                    "{name} out of range: values must lie in {range}, ranges must not run backwards, and a repetition A/STEP must fire at least twice within that range"
                ),
            );
        }
        self.error(0, "invalid expression")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// UTC as the local zone, and only "Europe/Berlin" as a named zone.
    struct Zones(Zone);

    impl ZoneSource for Zones {
        fn local(&self) -> &Zone {
            &self.0
        }
        fn named(&self, name: &str) -> Option<Arc<Zone>> {
            (name == "Europe/Berlin")
                .then(|| Arc::new(crate::tzdb::named_zone(name).expect("tzdata installed")))
        }
    }

    fn norm(expr: &str) -> String {
        parse(expr, &Zones(Zone::utc()))
            .unwrap_or_else(|e| panic!("{e}"))
            .to_string()
    }

    #[test]
    fn every_grammar_feature_normalizes_like_systemd() {
        let cases = [
            ("Sat,Thu,Mon-Wed", "Mon..Thu,Sat *-*-* 00:00:00"),
            ("monday..FRIDAY 9:00", "Mon..Fri *-*-* 09:00:00"),
            ("Wednesday,", "Wed *-*-* 00:00:00"),
            ("Fri,Sat,Sun", "Fri..Sun *-*-* 00:00:00"),
            ("Mon,Sun", "Mon,Sun *-*-* 00:00:00"),
            ("Mon..Sun 12:00", "*-*-* 12:00:00"),
            ("12,14,13,12:20,10,30", "*-*-* 12,13,14:10,20,30:00"),
            ("*:20..39/5", "*-*-* *:20..35/5:00"),
            ("*:05..10/6", "*-*-* *:05:00"),
            ("8..18/3:00", "*-*-* 08..17/3:00:00"),
            ("*:4,30:0/1,7", "*-*-* *:04,30:*"),
            ("*:*:0/0.5", "*-*-* *:*:00/0.500000"),
            ("00:00:1.0..3.8", "*-*-* 00:00:01..03"),
            ("12:00:00.0000005", "*-*-* 12:00:00.000001"),
            ("10-15", "*-10-15 00:00:00"),
            ("69-01-01", "2069-01-01 00:00:00"),
            ("0070-01-01", "1970-01-01 00:00:00"),
            ("*-*~1", "*-*~01 00:00:00"),
            ("*-02~1..8/3", "*-02~01..07/3 00:00:00"),
            ("*-*~* 06:00", "*-*-* 06:00:00"),
            ("weekly", "Mon *-*-* 00:00:00"),
            ("QUARTERLY", "*-01,04,07,10-01 00:00:00"),
            ("semi-annually", "*-01,07-01 00:00:00"),
            ("anually", "*-01-01 00:00:00"),
            ("minutely", "*-*-* *:*:00"),
            ("@1600000000", "2020-09-13 12:26:40 UTC"),
            ("Fri @ 1600000000", "Fri 2020-09-13 12:26:40 UTC"),
            ("12:00 uTc", "*-*-* 12:00:00 UTC"),
            (
                "2026-03-29 02:30 Europe/Berlin",
                "2026-03-29 02:30:00 Europe/Berlin",
            ),
            ("2026-01-01 ", "2026-01-01 00:00:00"),
            ("Wed,Sat *-2/3-5,1 *:15:30", "Wed,Sat *-02/3-01,05 *:15:30"),
            ("15..22,21:00", "*-*-* 15..22,21:00:00"),
        ];
        for (expr, want) in cases {
            assert_eq!(norm(expr), want, "{expr:?}");
        }
    }

    #[test]
    fn every_error_says_where_and_what() {
        let cases = [
            ("", 1, "empty expression"),
            ("Sun..Mon", 6, "cannot wrap"),
            ("Mon..Wed..Fri", 9, "cannot be chained"),
            ("Mon-", 4, "open weekday range"),
            ("Mond", 1, "unknown weekday"),
            ("Mon.Fri", 4, "'..'"),
            ("Mon,,Tue", 5, "expected a weekday"),
            ("*/10", 1, "0/N"),
            ("*,5:00", 1, "cannot be part of a list"),
            ("5,*:00", 3, "'*' cannot be part"),
            ("12", 3, "expected ':'"),
            ("12:00 ", 6, "unexpected space"),
            (" 12:00", 1, "unexpected space"),
            ("12:00\t", 6, "unexpected character"),
            ("2016~11-22", 8, "'~' may only"),
            ("2026-05", 1, "month out of range"),
            ("*:0/0", 5, "at least 1"),
            ("*:0/0.5", 5, "at least 1"),
            ("1.5:00", 2, "only seconds may have a fraction"),
            ("00:00:00.1..00.8", 7, "at least 1 s"),
            ("*:*:1.", 7, "digits after the decimal point"),
            ("24:00", 1, "hour out of range"),
            ("*:55/5", 3, "minute out of range"),
            ("12..1:00", 1, "hour out of range"),
            ("*-*~29", 5, "~1..~28"),
            ("2200-01-01", 1, "year out of range"),
            ("99999999999:00", 1, "number out of range"),
            ("@-1", 2, "between 1970 and 2199"),
            ("@x", 2, "seconds since the epoch"),
            ("@1600000000 12:00", 12, "nothing may follow"),
            ("daily 12:00", 1, "expected a number"),
            ("12:00 europe/berlin", 6, "unexpected space"),
        ];
        for (expr, column, text) in cases {
            let e = parse(expr, &Zones(Zone::utc())).expect_err(expr);
            assert_eq!(
                (e.column, e.message.contains(text)),
                (column, true),
                "{expr:?}: {e}"
            );
        }
        let many = (0..242)
            .map(|i| (i % 60).to_string())
            .collect::<Vec<_>>()
            .join(",");
        let e = parse(&format!("*:{many}"), &Zones(Zone::utc())).expect_err("242 items");
        assert!(e.message.contains("at most 241"), "{e}");
    }
}
