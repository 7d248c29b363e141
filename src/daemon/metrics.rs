//! `jobd metrics` and `metrics_file`: every job's figures in Prometheus'
//! text exposition format (0.0.4), for scraping or node_exporter's
//! textfile collector. The file is written whole to a temporary file and
//! renamed over the old one after every run that ends, so a reader sees
//! the old text or the new, never half.

use std::fmt::Write as _;

use super::Daemon;
use crate::run::{ExitStatus, RunResult};

/// Each metric: name, type, help.
const METRICS: &[(&str, &str, &str)] = &[
    (
        "jobd_job_last_start_timestamp_seconds",
        "gauge",
        "When the job's newest run started.",
    ),
    (
        "jobd_job_last_success_timestamp_seconds",
        "gauge",
        "When the job's newest successful run ended.",
    ),
    (
        "jobd_job_next_run_timestamp_seconds",
        "gauge",
        "When the job is next due.",
    ),
    (
        "jobd_job_last_duration_seconds",
        "gauge",
        "How long the job's newest ended run took.",
    ),
    (
        "jobd_job_last_exit_status",
        "gauge",
        "Exit status of the newest ended run (128+N for death by signal N).",
    ),
    (
        "jobd_job_restarts_total",
        "counter",
        "Automatic restarts since the job was loaded or started by hand.",
    ),
    (
        "jobd_job_running",
        "gauge",
        "1 while a run of the job is going.",
    ),
    (
        "jobd_job_failed",
        "gauge",
        "1 if the job's newest run failed (or its start limit was hit).",
    ),
];

/// Label value escaping of the text format: `\`, `"`, newline.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn seconds(usec: i64) -> String {
    format!("{:.6}", usec as f64 / 1e6)
}

/// The text for every job of the running config.
pub(super) fn render(d: &Daemon) -> String {
    let jobs = d.list();
    let mut rows: Vec<Vec<String>> = vec![Vec::new(); METRICS.len()];
    for j in &jobs {
        let name = label(&j.name);
        let success_end = d
            .store
            .runs(&j.name)
            .rev()
            .find(|r| r.result == Some(RunResult::Success))
            .and_then(|r| r.end_usec);
        let ended = d.store.last_ended(&j.name);
        let mut put = |i: usize, labels: String, value: String| {
            rows[i].push(format!(
                "{}{{job=\"{name}\"{labels}}} {value}",
                METRICS[i].0
            ));
        };
        if let Some(r) = d.store.last(&j.name) {
            put(0, String::new(), seconds(r.start_usec));
        }
        if let Some(t) = success_end {
            put(1, String::new(), seconds(t));
        }
        if let Some(t) = j.next_usec {
            put(2, String::new(), seconds(t));
        }
        if let Some(r) = ended {
            if let Some(end) = r.end_usec {
                put(
                    3,
                    String::new(),
                    seconds(end.saturating_sub(r.start_usec).max(0)),
                );
            }
            let result = r.result.map_or("", RunResult::as_str);
            let status = match &r.exit_status {
                Some(ExitStatus::Code(c)) => Some(i64::from(*c)),
                Some(ExitStatus::Signal(s)) => crate::signal::parse(s).map(|n| 128 + i64::from(n)),
                None => None,
            };
            if let Some(v) = status {
                put(4, format!(",result=\"{}\"", label(result)), v.to_string());
            }
        }
        put(5, String::new(), j.restarts.to_string());
        put(
            6,
            String::new(),
            u8::from(j.pid.is_some() || j.state.as_str() == "running").to_string(),
        );
        put(
            7,
            String::new(),
            u8::from(j.state.as_str() == "failed").to_string(),
        );
    }
    let mut out = String::new();
    for ((name, kind, help), rows) in METRICS.iter().zip(rows) {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for r in rows {
            let _ = writeln!(out, "{r}");
        }
    }
    out
}

impl Daemon {
    /// After a run ended: the metrics file, if the config names one.
    pub(super) fn write_metrics(&mut self) {
        if !std::mem::take(&mut self.metrics_due) {
            return;
        }
        let Some(path) = self.config.metrics_file.clone() else {
            return;
        };
        match crate::state::write_atomic(&path, render(self).as_bytes(), 0o644) {
            Ok(()) => self.metrics_failing = false,
            Err(e) if !self.metrics_failing => {
                self.metrics_failing = true;
                crate::log_error!(
                    "cannot write metrics_file {}: {e}; tried again after each run",
                    path.display()
                );
            }
            Err(_) => {}
        }
    }
}
