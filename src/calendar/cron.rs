//! Crontab schedules (crontab(5), vixie/cronie flavour), compiled into the
//! calendar engine's own [`CalendarSpec`]s.
//!
//! Five fields — minute, hour, day of month, month, day of week — each `*`
//! or a list of `N`, `A-B`, `*/S`, `A-B/S` or `N/S` (cronie's "from N to the
//! end"), with `jan`…`dec` and `sun`…`sat` names, 0 or 7 for Sunday, and the
//! shortcuts `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/
//! `@midnight`, `@hourly`. `@reboot` is refused: jobd's `on_startup` is the
//! equivalent.
//!
//! Day of month and day of week follow vixie cron: when both fields are
//! restricted — neither starts with `*` — a day matches if *either* does;
//! when one starts with `*`, both must (so `0 0 */2 * MON` is odd days that
//! are Mondays). systemd ANDs weekdays with days, so an OR line becomes two
//! specs, one per field, and the earlier elapse wins — the same union a
//! `.timer` with two `OnCalendar=` lines gives. Elapses then follow
//! systemd's DST rules (a time in a spring-forward gap is skipped, a
//! repeated hour runs once), not cronie's.

use std::sync::Arc;

use super::next::NextError;
use super::spec::{CalendarSpec, Chain, Component, Evaluation};
use super::tm::MktimeState;
use super::zone::Zone;

/// A crontab schedule: one or two calendar specs whose union it is.
#[derive(Clone, Debug)]
pub struct CronSpec {
    specs: Vec<CalendarSpec>,
}

impl CronSpec {
    /// Gives back spare list capacity (the spec lives as long as its job;
    /// each spec's own lists are exact already).
    pub fn shrink_to_fit(&mut self) {
        self.specs.shrink_to_fit();
    }
}

/// Why a crontab line was refused, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid cron expression {expr:?}: at column {column}: {message}")]
pub struct CronError {
    pub expr: String,
    pub column: usize,
    pub message: String,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// One field's limits and names.
struct FieldDef {
    name: &'static str,
    lo: i32,
    hi: i32,
    names: &'static [&'static str],
    /// Value of the first name (1 for months, 0 for days).
    first_name: i32,
}

const FIELDS: [FieldDef; 5] = [
    FieldDef {
        name: "minute",
        lo: 0,
        hi: 59,
        names: &[],
        first_name: 0,
    },
    FieldDef {
        name: "hour",
        lo: 0,
        hi: 23,
        names: &[],
        first_name: 0,
    },
    FieldDef {
        name: "day of month",
        lo: 1,
        hi: 31,
        names: &[],
        first_name: 0,
    },
    FieldDef {
        name: "month",
        lo: 1,
        hi: 12,
        names: &MONTHS,
        first_name: 1,
    },
    FieldDef {
        name: "day of week",
        lo: 0,
        hi: 7,
        names: &DAYS,
        first_name: 0,
    },
];

/// A field as parsed: the values it allows, as calendar components, and
/// whether it began with `*` (vixie's `DOM_STAR`/`DOW_STAR`).
struct Parsed {
    items: Vec<Component>,
    star: bool,
    all: bool,
}

/// Parses a crontab schedule; `zone` is the job's `timezone` (`None`: the
/// local zone).
pub fn parse(expr: &str, zone: Option<Arc<Zone>>) -> Result<CronSpec, CronError> {
    let err = |column: usize, message: String| CronError {
        expr: expr.to_owned(),
        column: column + 1,
        message,
    };
    let trimmed = expr.trim();
    let lead = expr.len() - expr.trim_start().len();
    let line = match trimmed.strip_prefix('@') {
        Some(shortcut) => expand_shortcut(shortcut).map_err(|m| err(lead, m.into()))?,
        None => trimmed,
    };
    let offset = if line.as_ptr() == trimmed.as_ptr() {
        lead
    } else {
        0
    };

    let fields = words_at(line, offset);
    if fields.len() != 5 {
        let message = if fields.len() == 6 {
            "6 fields: a crontab line has 5 (minute hour day-of-month month day-of-week); jobd has no seconds field and the command goes in exec"
        } else {
            "expected 5 fields: minute hour day-of-month month day-of-week"
        };
        return Err(err(lead, message.into()));
    }
    let mut parsed = Vec::with_capacity(5);
    for ((at, word), def) in fields.iter().zip(&FIELDS) {
        parsed.push(
            parse_field(word, def).map_err(|(o, m)| err(at + o, format!("{}: {m}", def.name)))?,
        );
    }

    let chain = |p: &Parsed| -> Chain { if p.all { None } else { Some(p.items.clone()) } };
    let weekdays = weekday_bits(&parsed[4]);
    let evaluation = match zone {
        Some(zone) => Evaluation::Zone(zone),
        None => Evaluation::Local,
    };
    let base = CalendarSpec {
        weekdays: None,
        end_of_month: false,
        evaluation,
        year: None,
        month: chain(&parsed[3]),
        day: None,
        hour: chain(&parsed[1]),
        minute: chain(&parsed[0]),
        microsecond: Some(vec![Component::value(0)]),
    };
    let (dom, dow) = (&parsed[2], &parsed[4]);
    let specs = if !dom.star && !dow.star {
        // Both restricted: either may match.
        vec![
            CalendarSpec {
                day: chain(dom),
                ..base.clone()
            },
            CalendarSpec { weekdays, ..base },
        ]
    } else {
        vec![CalendarSpec {
            day: chain(dom),
            weekdays,
            ..base
        }]
    };
    let specs = specs
        .into_iter()
        .map(|mut s| {
            s.normalize();
            s
        })
        .collect();
    Ok(CronSpec { specs })
}

/// The words of `line` with their columns (`offset` added).
fn words_at(line: &str, offset: usize) -> Vec<(usize, &str)> {
    let mut fields = Vec::new();
    let mut pos = 0;
    for word in line.split_ascii_whitespace() {
        let at = offset + pos + line[pos..].find(word).unwrap_or(0);
        pos = at - offset + word.len();
        fields.push((at, word));
    }
    fields
}

/// The five fields an `@` shortcut stands for.
fn expand_shortcut(shortcut: &str) -> Result<&'static str, &'static str> {
    match shortcut.to_ascii_lowercase().as_str() {
        "yearly" | "annually" => Ok("0 0 1 1 *"),
        "monthly" => Ok("0 0 1 * *"),
        "weekly" => Ok("0 0 * * 0"),
        "daily" | "midnight" => Ok("0 0 * * *"),
        "hourly" => Ok("0 * * * *"),
        "reboot" => {
            Err("@reboot has no schedule; use on_startup: 0 for a job that runs when jobd starts")
        }
        _ => Err(
            "unknown shortcut; use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly",
        ),
    }
}

/// The day-of-week field as the calendar's weekday bits (`None`: any day).
fn weekday_bits(dow: &Parsed) -> Option<u8> {
    let mut bits = 0u8;
    for c in &dow.items {
        let stop = if c.stop < 0 { c.start } else { c.stop };
        let step = c.repeat.max(1);
        let mut d = c.start;
        while d <= stop {
            // cron: 0 and 7 are Sunday; calendar bits: Monday = bit 0.
            bits |= 1 << ((d + 6) % 7);
            d += step;
        }
    }
    if dow.all || bits == 0x7f {
        None
    } else {
        Some(bits)
    }
}

/// Parses one field into components over the field's own numbers.
fn parse_field(word: &str, def: &FieldDef) -> Result<Parsed, (usize, String)> {
    let mut items = Vec::new();
    let mut all = false;
    let mut at = 0;
    for item in word.split(',') {
        let here = at;
        at += item.len() + 1;
        if item.is_empty() {
            return Err((here, "empty list item".into()));
        }
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: i32 = s
                    .parse()
                    .ok()
                    .filter(|&s| s >= 1 && s <= def.hi - def.lo + 1)
                    .ok_or_else(|| {
                        (
                            here + r.len() + 1,
                            format!("step must be a number from 1 to {}", def.hi - def.lo + 1),
                        )
                    })?;
                (r, Some(step))
            }
            None => (item, None),
        };
        let (start, stop) = if range == "*" {
            if step.is_none() {
                all = true;
            }
            (def.lo, def.hi)
        } else if let Some((a, b)) = range.split_once('-') {
            let a = value(a, def).map_err(|m| (here, m))?;
            let b = value(b, def).map_err(|m| (here + range.find('-').unwrap_or(0) + 1, m))?;
            if a > b {
                return Err((here, format!("range {range} runs backwards")));
            }
            (a, b)
        } else {
            let a = value(range, def).map_err(|m| (here, m))?;
            // cronie: "N/S" runs from N to the end of the field.
            (a, if step.is_some() { def.hi } else { a })
        };
        // Day of week 7 is Sunday; keep 0..=7 here, folded when the
        // weekday bits are built.
        let component = match step {
            None if start == stop => Component::value(start),
            None => Component {
                start,
                stop,
                repeat: 1,
            },
            Some(s) => Component {
                start,
                stop,
                repeat: s,
            },
        };
        items.push(component);
    }
    Ok(Parsed {
        items,
        star: word.starts_with('*'),
        all: all && word == "*",
    })
}

fn value(text: &str, def: &FieldDef) -> Result<i32, String> {
    if let Some(i) = def.names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
        return Ok(i as i32 + def.first_name);
    }
    let v: i32 = text.parse().map_err(|_| {
        if def.names.is_empty() {
            format!("{text:?} is not a number")
        } else {
            format!(
                "{text:?} is neither a number nor a name ({}…)",
                def.names[..3].join(", ")
            )
        }
    })?;
    if v < def.lo || v > def.hi {
        return Err(format!("{v} is out of range {}-{}", def.lo, def.hi));
    }
    Ok(v)
}

impl CronSpec {
    /// The calendar specs whose union this schedule is.
    pub fn specs(&self) -> &[CalendarSpec] {
        &self.specs
    }

    /// The first elapse strictly after `after_usec`, or `None` if none.
    pub fn next_elapse(
        &self,
        after_usec: i64,
        local: &Zone,
        state: &mut MktimeState,
    ) -> Result<Option<i64>, NextError> {
        let mut best: Option<i64> = None;
        for spec in &self.specs {
            if let Some(t) = spec.next_elapse(after_usec, local, state)? {
                best = Some(best.map_or(t, |b| b.min(t)));
            }
        }
        Ok(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(expr: &str) -> Vec<String> {
        parse(expr, None)
            .unwrap()
            .specs()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn elapses(expr: &str, base: i64, n: usize) -> Vec<i64> {
        let spec = parse(expr, None).unwrap();
        let utc = Zone::utc();
        let mut state = MktimeState::default();
        let mut out = Vec::new();
        let mut t = base * 1_000_000;
        for _ in 0..n {
            t = spec.next_elapse(t, &utc, &mut state).unwrap().unwrap();
            out.push(t / 1_000_000);
        }
        out
    }

    #[test]
    fn fields_compile_to_calendar_specs() {
        assert_eq!(normalized("0 4 * * *"), ["*-*-* 04:00:00"]);
        assert_eq!(normalized("*/15 * * * *"), ["*-*-* *:00..45/15:00"]);
        assert_eq!(normalized("30 9 * * mon-fri"), ["Mon..Fri *-*-* 09:30:00"]);
        assert_eq!(normalized("0 0 1 jan *"), ["*-01-01 00:00:00"]);
        assert_eq!(normalized("5 0-23/6 * * *"), ["*-*-* 00..18/6:05:00"]);
        assert_eq!(normalized("0 0 * * 0"), ["Sun *-*-* 00:00:00"]);
        assert_eq!(normalized("0 0 * * 7"), ["Sun *-*-* 00:00:00"]);
        assert_eq!(normalized("0 0 * * 5-7"), ["Fri..Sun *-*-* 00:00:00"]);
        assert_eq!(normalized("0 0 * * 0-6"), ["*-*-* 00:00:00"]);
        assert_eq!(normalized("@weekly"), ["Sun *-*-* 00:00:00"]);
        assert_eq!(normalized("@hourly"), ["*-*-* *:00:00"]);
        assert_eq!(normalized("@midnight"), ["*-*-* 00:00:00"]);
        assert_eq!(normalized("@annually"), ["*-01-01 00:00:00"]);
        assert_eq!(normalized("10/20 * * * *"), ["*-*-* *:10..50/20:00"]);
    }

    #[test]
    fn vixie_day_rule() {
        // Both restricted: day 1 OR Monday (two specs).
        assert_eq!(
            normalized("0 0 1 * MON"),
            ["*-*-01 00:00:00", "Mon *-*-* 00:00:00"]
        );
        // Tue 2026-09-01 00:00:01 UTC: Mondays and the 1st.
        let base = 1_788_220_801;
        let days: Vec<i64> = elapses("0 0 1 * MON", base, 6)
            .iter()
            .map(|t| (t - base) / 86_400)
            .collect();
        // Sep 7, 14, 21, 28 (Mondays), Oct 1 (Thursday), Oct 5 (Monday).
        assert_eq!(days, [5, 12, 19, 26, 29, 33]);
        // A '*' first character makes it AND: odd days that are Mondays.
        assert_eq!(normalized("0 0 */2 * MON"), ["Mon *-*-01..31/2 00:00:00"]);
        assert_eq!(normalized("0 0 1 * *"), ["*-*-01 00:00:00"]);
    }

    #[test]
    fn errors_say_where_and_what() {
        let cases = [
            ("0 4 * *", 1, "5 fields"),
            ("0 0 4 * * *", 1, "no seconds field"),
            ("60 * * * *", 1, "minute: 60 is out of range 0-59"),
            ("0 24 * * *", 3, "hour"),
            ("0 0 * * 8", 9, "day of week: 8 is out of range 0-7"),
            (
                "0 0 * foo *",
                7,
                "month: \"foo\" is neither a number nor a name",
            ),
            ("*/0 * * * *", 3, "step must be"),
            ("0 0 5-1 * *", 5, "runs backwards"),
            ("0 0 1,,2 * *", 7, "empty list item"),
            ("@reboot", 1, "on_startup"),
            ("@sometimes", 1, "unknown shortcut"),
        ];
        for (expr, column, text) in cases {
            let e = parse(expr, None).unwrap_err();
            assert_eq!(e.column, column, "{expr}: {e}");
            assert!(e.to_string().contains(text), "{expr}: {e}");
        }
    }
}
