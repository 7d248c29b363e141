//! journald's rate limit, kept on jobd's side so that nothing is
//! suppressed.
//!
//! journald lets a unit (for a user unit: the user manager's bucket, shared
//! by all its units) log `RateLimitBurst=` entries per
//! `RateLimitIntervalSec=` and silently drops the rest until the interval is
//! over. Its interval starts at the first entry after the last one ended,
//! which jobd cannot see; any journald interval overlaps at most two of
//! jobd's own (fixed, same length), so jobd lets job lines have half the
//! burst per interval, less a reserve for its own lifecycle entries (which
//! are always sent). What a job prints beyond that goes to its file, and
//! the journal says how many lines went there.
//!
//! The figures come from journald's configuration: `journald.conf` (or
//! `journald@NS.conf` for a namespace) and its drop-ins, the last setting
//! winning; 10,000 per 30 s where nothing is set. journald raises the
//! burst with free disk space; the configured figure is the safe one.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// journald's defaults.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_BURST: u64 = 10_000;

/// journald's limit: `None` when rate limiting is off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub interval: Duration,
    pub burst: u64,
}

/// Reads the limit from journald's configuration for `namespace`.
pub fn configured(namespace: Option<&str>) -> Option<Limit> {
    let base = match namespace {
        Some(ns) => format!("journald@{ns}.conf"),
        None => "journald.conf".to_owned(),
    };
    let mut files = vec![PathBuf::from("/etc/systemd").join(&base)];
    let mut dropins: Vec<PathBuf> = Vec::new();
    for dir in ["/usr/lib/systemd", "/run/systemd", "/etc/systemd"] {
        let Ok(rd) = std::fs::read_dir(Path::new(dir).join(format!("{base}.d"))) else {
            continue;
        };
        dropins.extend(
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "conf")),
        );
    }
    // Drop-ins apply in file-name order whatever their directory (one
    // name in /etc masks the same name further down).
    dropins.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    dropins.dedup_by(|a, b| a.file_name() == b.file_name());
    files.extend(dropins);
    let texts: Vec<String> = files
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .collect();
    parse(texts.iter().map(String::as_str))
}

/// The limit the `[Journal]` sections of `texts` set, in order (PURE).
pub fn parse<'a>(texts: impl IntoIterator<Item = &'a str>) -> Option<Limit> {
    let mut interval = DEFAULT_INTERVAL;
    let mut burst = DEFAULT_BURST;
    for text in texts {
        let mut in_journal = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                in_journal = line == "[Journal]";
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            if !in_journal {
                continue;
            }
            match k.trim() {
                "RateLimitIntervalSec" | "RateLimitInterval" => {
                    if let Ok(d) = crate::calendar::timespan::parse(v.trim()) {
                        interval = d;
                    }
                }
                "RateLimitBurst" => {
                    if let Ok(b) = v.trim().parse() {
                        burst = b;
                    }
                }
                _ => {}
            }
        }
    }
    (!interval.is_zero() && burst > 0).then_some(Limit { interval, burst })
}

/// How many job lines may go to the journal now (PURE, given the clock).
#[derive(Debug)]
pub struct Budget {
    limit: Option<Limit>,
    window: Option<Instant>,
    used: u64,
}

impl Budget {
    pub fn new(limit: Option<Limit>) -> Budget {
        Budget {
            limit,
            window: None,
            used: 0,
        }
    }

    /// Job lines per window: half the burst, less the reserve kept for
    /// jobd's own entries (a tenth of the burst).
    fn quota(l: Limit) -> u64 {
        (l.burst / 2).saturating_sub(l.burst.div_ceil(10))
    }

    fn roll(&mut self, now: Instant) {
        let Some(l) = self.limit else {
            return;
        };
        match self.window {
            Some(start) if now.duration_since(start) < l.interval => {}
            Some(start) => {
                // Windows stay aligned to the first: whole intervals later.
                let n = now.duration_since(start).as_nanos() / l.interval.as_nanos().max(1);
                let step = l.interval * u32::try_from(n).unwrap_or(u32::MAX);
                self.window = Some(start + step);
                self.used = 0;
            }
            None => {
                self.window = Some(now);
                self.used = 0;
            }
        }
    }

    /// Takes up to `n` job lines' worth; returns how many were granted.
    pub fn take(&mut self, n: usize, now: Instant) -> usize {
        let Some(l) = self.limit else {
            return n;
        };
        self.roll(now);
        let left = Budget::quota(l).saturating_sub(self.used);
        let granted = left.min(n as u64);
        self.used += granted;
        usize::try_from(granted).unwrap_or(n)
    }

    /// Counts one of jobd's own entries; false once jobd's whole share of
    /// journald's burst (half of it a window, the reserve included) is
    /// used: an entry about a job then goes to the job's file, so that
    /// even many jobs starting every second never make journald suppress
    /// anything.
    pub fn own(&mut self, now: Instant) -> bool {
        let Some(l) = self.limit else {
            return true;
        };
        self.roll(now);
        if self.used >= l.burst / 2 {
            return false;
        }
        self.used += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sections_and_later_files_win() {
        assert_eq!(
            parse([""]),
            Some(Limit {
                interval: DEFAULT_INTERVAL,
                burst: DEFAULT_BURST
            })
        );
        let l = parse([
            "[Journal]\nRateLimitBurst=500\n[Other]\nRateLimitBurst=7\n",
            "# drop-in\n[Journal]\nRateLimitIntervalSec=2s\n",
        ]);
        assert_eq!(
            l,
            Some(Limit {
                interval: Duration::from_secs(2),
                burst: 500
            })
        );
        assert_eq!(parse(["[Journal]\nRateLimitBurst=0\n"]), None);
        assert_eq!(parse(["[Journal]\nRateLimitIntervalSec=0\n"]), None);
    }

    /// A steady flood for 60 s: a request for 1,000 job lines every 100 ms
    /// and one of jobd's own entries every `own_every` requests; what was
    /// sent, (time, entries).
    fn flood(limit: Limit, own_every: u32) -> Vec<(Instant, usize)> {
        let mut b = Budget::new(Some(limit));
        let t0 = Instant::now();
        let mut sent = Vec::new();
        for k in 0..600u32 {
            let now = t0 + Duration::from_millis(100) * k;
            let got = b.take(1000, now);
            let own = usize::from(k % own_every == 0 && b.own(now));
            sent.push((now, got + own));
        }
        sent
    }

    /// The most entries any window of journald's (wherever it starts) saw.
    fn busiest(sent: &[(Instant, usize)], interval: Duration) -> usize {
        sent.iter()
            .map(|&(from, _)| {
                sent.iter()
                    .filter(|(t, _)| *t >= from && *t < from + interval)
                    .map(|(_, n)| n)
                    .sum()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn no_journald_interval_sees_more_than_the_burst() {
        let limit = Limit {
            interval: Duration::from_secs(10),
            burst: 100,
        };
        let sent = flood(limit, 10);
        assert!(busiest(&sent, limit.interval) <= 100);
        // And it is not starved: 40 job lines and 10 own entries a window.
        assert_eq!(sent.iter().map(|(_, n)| n).sum::<usize>(), 6 * 50);
        assert_eq!(Budget::new(None).take(7, Instant::now()), 7);
    }

    #[test]
    fn own_entries_beyond_the_reserve_do_not_overflow_journald() {
        // One own entry every 100 ms: 100 a window, ten times the reserve.
        let limit = Limit {
            interval: Duration::from_secs(10),
            burst: 100,
        };
        let sent = flood(limit, 1);
        assert!(busiest(&sent, limit.interval) <= 100);
        // Half the burst a window still goes out.
        assert_eq!(sent.iter().map(|(_, n)| n).sum::<usize>(), 6 * 50);
    }
}
