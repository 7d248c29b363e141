//! Time zones as glibc sees them: `localtime(3)` and `tzname`.
//!
//! A [`Zone`] is built from the bytes of a TZif file (or a POSIX `TZ`
//! string) handed in by the caller; reading files is the caller's business
//! (see `crate::tzdb`), so this module stays pure. Offsets and the DST flag
//! come from jiff, which reads the same TZif data glibc does, including the
//! POSIX footer rule for dates past the last listed transition. On top of
//! that this module keeps what jiff does not model but glibc does:
//!
//! - leap-second records (the `right/` zones): glibc's `localtime` subtracts
//!   the accumulated correction and shows an inserted second as `:60`;
//! - `tzname[0]`/`tzname[1]`, the local zone's standard and DST
//!   abbreviations, which systemd accepts as an expression suffix
//!   (`12:00 CET`) to pin the DST flag.

use jiff::Timestamp;
use jiff::tz::{Dst, TimeZone};

use super::tm::{Tm, breakdown};

/// A time zone able to answer `localtime` the way glibc does.
#[derive(Clone, Debug)]
pub struct Zone {
    name: String,
    tz: TimeZone,
    /// A zone with one offset and no leap seconds (UTC, `Etc/GMT-14`):
    /// `localtime` is plain arithmetic.
    fixed: Option<(i32, i32)>,
    /// `(transition, accumulated correction)` from the TZif leap records.
    leaps: Vec<(i64, i64)>,
    /// glibc's `tzname[0]` (standard) and `tzname[1]` (DST).
    tzname: [String; 2],
}

/// A zone whose data could not be understood.
#[derive(Debug, thiserror::Error)]
#[error("time zone {name:?}: {reason}")]
pub struct ZoneError {
    name: String,
    reason: String,
}

impl Zone {
    /// Coordinated Universal Time.
    pub fn utc() -> Zone {
        Zone {
            name: "UTC".to_owned(),
            tz: TimeZone::UTC,
            fixed: Some((0, 0)),
            leaps: Vec::new(),
            tzname: ["UTC".to_owned(), "UTC".to_owned()],
        }
    }

    /// A zone from the contents of a TZif file (`tzfile(5)`).
    pub fn from_tzif(name: &str, data: &[u8]) -> Result<Zone, ZoneError> {
        let err = |reason: String| ZoneError {
            name: name.to_owned(),
            reason,
        };
        let tz = TimeZone::tzif(name, data).map_err(|e| err(e.to_string()))?;
        let info = TzifInfo::parse(data).ok_or_else(|| err("truncated TZif data".to_owned()))?;
        let fixed = match (&info.types[..], info.transitions, &info.footer) {
            ([(offset, isdst, _)], 0, footer)
                if info.leaps.is_empty() && footer.as_ref().is_none_or(|f| !f.contains(',')) =>
            {
                Some((*offset, i32::from(*isdst)))
            }
            _ => None,
        };
        Ok(Zone {
            name: name.to_owned(),
            tz,
            fixed,
            leaps: info.leaps,
            tzname: info.tzname,
        })
    }

    /// A zone from a POSIX `TZ` string such as `EST5EDT,M3.2.0,M11.1.0`.
    pub fn from_posix(spec: &str) -> Result<Zone, ZoneError> {
        let tz = TimeZone::posix(spec).map_err(|e| ZoneError {
            name: spec.to_owned(),
            reason: e.to_string(),
        })?;
        let (std, rest) = posix_name(spec);
        let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit() || "+-:".contains(c));
        let (dst, _) = posix_name(rest);
        let std = std.to_owned();
        let dst = if dst.is_empty() {
            std.clone()
        } else {
            dst.to_owned()
        };
        Ok(Zone {
            name: spec.to_owned(),
            fixed: None,
            tz,
            leaps: Vec::new(),
            tzname: [std, dst],
        })
    }

    /// The name the zone was loaded under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// glibc's `tzname[dst]`: the standard (`false`) or DST (`true`)
    /// abbreviation.
    pub fn tzname(&self, dst: bool) -> &str {
        &self.tzname[usize::from(dst)]
    }

    /// Whether this zone is UTC in all but name (systemd-analyze prints a
    /// "(in UTC)" line only for zones that are not).
    pub fn is_utc(&self) -> bool {
        self.fixed == Some((0, 0))
    }

    /// The zone's only UTC offset and DST flag, if it has just one and no
    /// leap seconds.
    pub fn fixed_offset(&self) -> Option<(i32, i32)> {
        self.fixed
    }

    /// `localtime(3)`: the broken-down wall time of instant `t` (seconds
    /// since the epoch), with `isdst` and `gmtoff` set.
    pub fn localtime(&self, t: i64) -> Tm {
        let (offset, isdst) = match self.fixed {
            Some(fixed) => fixed,
            None => self.offset_at(t),
        };
        if self.leaps.is_empty() {
            let mut tm = breakdown(t + i64::from(offset));
            tm.isdst = isdst;
            tm.gmtoff = offset;
            return tm;
        }
        let (correction, hit) = self.leap_at(t);
        let mut tm = breakdown(t + i64::from(offset) - correction);
        tm.sec += hit;
        tm.isdst = isdst;
        tm.gmtoff = offset;
        tm
    }

    /// The abbreviation in force at instant `t` (`%Z`).
    pub fn abbreviation(&self, t: i64) -> String {
        let mut s = String::new();
        let _ = self.write_abbreviation(&mut s, t);
        s
    }

    /// [`Zone::abbreviation`], into a writer.
    pub fn write_abbreviation(&self, out: &mut impl std::fmt::Write, t: i64) -> std::fmt::Result {
        if self.fixed.is_some() && self.tzname[0] == self.tzname[1] {
            return out.write_str(&self.tzname[0]);
        }
        out.write_str(self.tz.to_offset_info(clamp_timestamp(t)).abbreviation())
    }

    fn offset_at(&self, t: i64) -> (i32, i32) {
        let info = self.tz.to_offset_info(clamp_timestamp(t));
        (info.offset().seconds(), i32::from(info.dst() == Dst::Yes))
    }

    /// glibc's leap-second lookup (`__tzfile_compute`): the correction in
    /// force at `t`, and how many inserted seconds `t` itself is.
    fn leap_at(&self, t: i64) -> (i64, i32) {
        let Some(i) = self.leaps.iter().rposition(|&(at, _)| at <= t) else {
            return (0, 0);
        };
        let (at, correction) = self.leaps[i];
        let mut hit = 0;
        let inserted = if i == 0 {
            correction > 0
        } else {
            correction > self.leaps[i - 1].1
        };
        if t == at && inserted {
            hit = 1;
            let mut j = i;
            while j > 0
                && self.leaps[j].0 == self.leaps[j - 1].0 + 1
                && self.leaps[j].1 == self.leaps[j - 1].1 + 1
            {
                hit += 1;
                j -= 1;
            }
        }
        (correction, hit)
    }
}

/// jiff represents years -9999..=9999; glibc goes further, but nothing a
/// calendar expression can reach (years up to 2199, base times up to 9999)
/// lies outside, so clamping only guards against garbage input.
fn clamp_timestamp(t: i64) -> Timestamp {
    let t = t.clamp(Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
    Timestamp::from_second(t).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Splits a POSIX TZ zone name (`CET`, `<+0545>`) off the front of `s`.
fn posix_name(s: &str) -> (&str, &str) {
    if let Some(rest) = s.strip_prefix('<') {
        return match rest.find('>') {
            Some(end) => (&rest[..end], &rest[end + 1..]),
            None => ("", s),
        };
    }
    let end = s
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(s.len());
    (&s[..end], &s[end..])
}

/// What this module needs from a TZif file beyond what jiff models.
struct TzifInfo {
    transitions: usize,
    types: Vec<(i32, bool, u8)>,
    leaps: Vec<(i64, i64)>,
    tzname: [String; 2],
    footer: Option<String>,
}

impl TzifInfo {
    fn parse(data: &[u8]) -> Option<TzifInfo> {
        let header = |at: usize| -> Option<[usize; 6]> {
            if data.get(at..at + 4)? != b"TZif" {
                return None;
            }
            let mut counts = [0usize; 6];
            for (i, c) in counts.iter_mut().enumerate() {
                let o = at + 20 + 4 * i;
                *c = u32::from_be_bytes(data.get(o..o + 4)?.try_into().ok()?) as usize;
            }
            Some(counts)
        };
        let v1 = header(0)?;
        let version = *data.get(4)?;
        let block = |c: &[usize; 6], time_size: usize| {
            let [isut, isstd, leap, time, typ, chars] = *c;
            time * time_size + time + typ * 6 + chars + leap * (time_size + 4) + isstd + isut
        };
        // Use the 64-bit block when there is one, as glibc does.
        let (counts, start, time_size) = if version >= b'2' {
            let second = 44 + block(&v1, 4);
            (header(second)?, second + 44, 8)
        } else {
            (v1, 44, 4)
        };
        let [isut, isstd, leapcnt, timecnt, typecnt, charcnt] = counts;
        let read_time = |o: usize| -> Option<i64> {
            Some(if time_size == 8 {
                i64::from_be_bytes(data.get(o..o + 8)?.try_into().ok()?)
            } else {
                i64::from(i32::from_be_bytes(data.get(o..o + 4)?.try_into().ok()?))
            })
        };
        let idx_at = start + timecnt * time_size;
        let type_idx = data.get(idx_at..idx_at + timecnt)?;
        let types_at = idx_at + timecnt;
        let mut types = Vec::with_capacity(typecnt);
        for i in 0..typecnt {
            let o = types_at + 6 * i;
            let offset = i32::from_be_bytes(data.get(o..o + 4)?.try_into().ok()?);
            types.push((offset, *data.get(o + 4)? != 0, *data.get(o + 5)?));
        }
        let chars_at = types_at + 6 * typecnt;
        let chars = data.get(chars_at..chars_at + charcnt)?;
        let leaps_at = chars_at + charcnt;
        let mut leaps = Vec::with_capacity(leapcnt);
        for i in 0..leapcnt {
            let o = leaps_at + (time_size + 4) * i;
            let at = read_time(o)?;
            let corr = i32::from_be_bytes(
                data.get(o + time_size..o + time_size + 4)?
                    .try_into()
                    .ok()?,
            );
            leaps.push((at, i64::from(corr)));
        }
        let end = leaps_at + (time_size + 4) * leapcnt + isstd + isut;
        let footer = if time_size == 8 {
            let rest = data.get(end..)?;
            let text = rest.strip_prefix(b"\n")?;
            let line = text.split(|&b| b == b'\n').next()?;
            Some(String::from_utf8_lossy(line).into_owned()).filter(|s| !s.is_empty())
        } else {
            None
        };

        let [std, dst] = tznames(type_idx, &types, chars);
        Some(TzifInfo {
            transitions: timecnt,
            types,
            leaps,
            tzname: [std, dst],
            footer,
        })
    }
}

/// The abbreviation at index `i` of a TZif file's characters.
fn abbr(chars: &[u8], i: u8) -> String {
    let s = chars.get(usize::from(i)..).unwrap_or_default();
    let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
    String::from_utf8_lossy(&s[..end]).into_owned()
}

/// glibc's `tzname` (`__tzfile_read`): walk the transitions backwards and
/// take the first abbreviation of each flavour.
fn tznames(type_idx: &[u8], types: &[(i32, bool, u8)], chars: &[u8]) -> [String; 2] {
    let mut names: [Option<String>; 2] = [None, None];
    for &t in type_idx.iter().rev() {
        let Some(&(_, isdst, ai)) = types.get(usize::from(t)) else {
            continue;
        };
        let slot = usize::from(isdst);
        if names[slot].is_none() {
            names[slot] = Some(abbr(chars, ai));
            if names[1 - slot].is_some() {
                break;
            }
        }
    }
    let std = names[0].take().unwrap_or_else(|| abbr(chars, 0));
    let dst = names[1].take().unwrap_or_else(|| std.clone());
    [std, dst]
}
