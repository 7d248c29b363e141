//! `jobd calendar`: `systemd-analyze calendar`, with a JSON mode.
//!
//! Text mode prints the same table systemd-analyze prints (original form
//! when it differs, normalized form, each elapse with "(in UTC)" when the
//! local zone is not UTC, and "From now" relative to the real current time).
//! JSON mode prints one object per expression per line with the elapses in
//! µs since the epoch. One emulated `mktime` cache serves the whole run, as
//! one systemd-analyze process has one, so results match it exactly.

use std::io::{self, Write as _};

use serde::Serialize;

use super::Outcome;
use crate::calendar::{self, CalendarSpec, MktimeState, ZoneSource, timestamp};
use crate::tzdb::{SystemZones, now_usec};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Compute elapses after this time instead of now (`@EPOCH`,
    /// `2026-03-29 01:30:00`, `... UTC`, `now`, `today`).
    #[arg(long, value_name = "TS")]
    base_time: Option<String>,
    /// How many elapses to show per expression.
    #[arg(long, value_name = "N", default_value_t = 1)]
    iterations: u32,
    /// One JSON object per expression per line.
    #[arg(long)]
    json: bool,
    /// Calendar expressions (put `--` before one that begins with `-`).
    #[arg(value_name = "EXPR", required = true)]
    exprs: Vec<String>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum JsonLine<'a> {
    Ok {
        expr: &'a str,
        normalized: String,
        next: Vec<i64>,
    },
    Err {
        expr: &'a str,
        error: String,
    },
}

/// The elapses of `spec` after `base`: up to `n`, fewer if it ends.
pub fn elapses(
    spec: &CalendarSpec,
    base: i64,
    n: u32,
    zones: &dyn ZoneSource,
    state: &mut MktimeState,
) -> Result<Vec<i64>, calendar::NextError> {
    let mut out = Vec::new();
    let mut after = base;
    for _ in 0..n {
        match spec.next_elapse(after, zones.local(), state)? {
            Some(next) => {
                out.push(next);
                after = next;
            }
            None => break,
        }
    }
    Ok(out)
}

pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    let zones = SystemZones::from_env();
    let mut state = MktimeState::default();
    let now = now_usec();
    let base = match &args.base_time {
        Some(ts) => match timestamp::parse(ts, now, &zones, &mut state) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("jobd: --base-time: {e}");
                return Ok(Outcome::Usage);
            }
        },
        None => now,
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut failed = false;
    for (i, expr) in args.exprs.iter().enumerate() {
        let result = calendar::parse(expr, &zones)
            .map_err(|e| e.to_string())
            .and_then(|spec| {
                elapses(&spec, base, args.iterations, &zones, &mut state)
                    .map(|next| (spec, next))
                    .map_err(|e| format!("cannot compute the next elapse of {expr:?}: {e}"))
            });
        if args.json {
            let line = match &result {
                Ok((spec, next)) => JsonLine::Ok {
                    expr,
                    normalized: spec.to_string(),
                    next: next.clone(),
                },
                Err(error) => JsonLine::Err {
                    expr,
                    error: error.clone(),
                },
            };
            serde_json::to_writer(&mut out, &line)?;
            writeln!(out)?;
        } else {
            match &result {
                Ok((spec, next)) => write_table(&mut out, expr, spec, next, &zones, now)?,
                Err(error) => {
                    out.flush()?;
                    eprintln!("jobd: {error}");
                }
            }
            if i + 1 < args.exprs.len() {
                writeln!(out)?;
            }
        }
        failed |= result.is_err();
    }
    out.flush()?;
    Ok(if failed {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}

fn write_table(
    out: &mut impl io::Write,
    expr: &str,
    spec: &CalendarSpec,
    next: &[i64],
    zones: &dyn ZoneSource,
    now: i64,
) -> io::Result<()> {
    use std::fmt::Write as _;
    let local = zones.local();
    let normalized = spec.to_string();
    // systemd-analyze right-aligns the labels; "Normalized form:" is the
    // widest unless there are ten million iterations.
    let width = "Normalized form:"
        .len()
        .max(format!("Iter. #{}:", next.len()).len());
    if normalized != expr {
        writeln!(out, "{:>width$} {expr}", "Original form:")?;
    }
    writeln!(out, "{:>width$} {normalized}", "Normalized form:")?;
    if next.is_empty() {
        writeln!(out, "{:>width$} never", "Next elapse:")?;
    }
    let mut line = String::with_capacity(64);
    let mut label = String::with_capacity(16);
    for (i, &t) in next.iter().enumerate() {
        label.clear();
        if i == 0 {
            label.push_str("Next elapse:");
        } else {
            let _ = write!(label, "Iter. #{}:", i + 1);
        }
        line.clear();
        let _ = timestamp::write(&mut line, t, local);
        writeln!(out, "{label:>width$} {line}")?;
        if !local.is_utc() {
            line.clear();
            let _ = timestamp::write(&mut line, t, &crate::calendar::Zone::utc());
            writeln!(out, "{:>width$} {line}", "(in UTC):")?;
        }
        writeln!(
            out,
            "{:>width$} {}",
            "From now:",
            timestamp::format_relative(t, now)
        )?;
    }
    Ok(())
}
