//! Validation: the raw YAML types → a [`Config`] in which every
//! expression, span and `exec` is parsed, every mistake collected as
//! `FILE:LINE:COL: message` with a "did you mean" where one fits.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_saphyr::{Location, Spanned};

use super::raw::{self, RawConfig, RawJob, Scalar, Words};
use super::{
    Config, ConfigError, Env, Job, JobType, Layered, RESTART_NAMES, Restart, Schedule,
    ScheduleKind, exec, suggestion,
};
use crate::calendar::{self, ZoneSource as _, timespan};
use crate::signal;
use crate::tzdb::SystemZones;

/// Bounds of `log_file_max` (a file must hold a few lines, and a size must
/// not overflow) and `log_file_keep`.
const LOG_FILE_MIN: u64 = 4 << 10;
const LOG_FILE_MAX: u64 = 1 << 40;
const LOG_FILE_KEEP_MAX: u32 = 1000;

pub(super) struct Validator<'a> {
    pub(super) path: &'a Path,
    pub(super) zones: &'a SystemZones,
    pub(super) env: &'a Env,
    pub(super) errors: Vec<ConfigError>,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'@' | b'-'))
}

impl Validator<'_> {
    pub(super) fn error(&mut self, at: &Location, message: String) {
        self.errors.push(ConfigError {
            path: self.path.to_owned(),
            line: at.line(),
            column: at.column(),
            message,
        });
    }

    pub(super) fn config(&mut self, raw: RawConfig) -> Config {
        let log_namespace = raw.log_namespace.and_then(|ns| {
            if valid_name(&ns.value) && !ns.value.contains('@') {
                Some(ns.value)
            } else {
                self.error(
                    &ns.referenced,
                    format!(
                        "invalid log_namespace {:?}: use letters, digits, `_`, `.` and `-`",
                        ns.value
                    ),
                );
                None
            }
        });
        let log_file_max = raw
            .log_file_max
            .and_then(|s| self.size(&s))
            .unwrap_or(8 << 20);
        let log_file_keep = match raw.log_file_keep {
            None => 4,
            Some(k) if k.value <= LOG_FILE_KEEP_MAX => k.value,
            Some(k) => {
                self.error(
                    &k.referenced,
                    format!(
                        "log_file_keep {} is too many: keep at most {LOG_FILE_KEEP_MAX} old files",
                        k.value
                    ),
                );
                4
            }
        };
        let max_concurrent = raw.max_concurrent.and_then(|m| {
            if m.value == 0 {
                self.error(
                    &m.referenced,
                    "max_concurrent 0 would never start a job: write 1 or more, or leave it out for no limit".to_owned(),
                );
                None
            } else {
                Some(m.value)
            }
        });
        let mut raw_jobs = raw.jobs.unwrap_or_default().0;
        if let Some(d) = &raw.defaults {
            for (name, job) in &mut raw_jobs {
                job.inherit(d, &name.value);
            }
        }
        self.after_cycles(&raw_jobs);
        let metrics_file = raw.metrics_file.and_then(|m| self.metrics_file(&m));
        let names: Vec<String> = raw_jobs.iter().map(|(n, _)| n.value.clone()).collect();
        let mut jobs = Vec::with_capacity(raw_jobs.len());
        for (name, job) in raw_jobs {
            if !valid_name(&name.value) {
                self.error(
                    &name.referenced,
                    format!(
                        "invalid job name {:?}: use letters, digits and `_`, `.`, `@`, `-`",
                        name.value
                    ),
                );
            }
            if let Some(mut job) = self.job(name, job, &names) {
                job.shrink_to_fit();
                jobs.push(Arc::new(job));
            }
        }
        Config {
            path: self.path.to_owned(),
            log_namespace,
            log_file_max,
            log_file_keep,
            max_concurrent,
            metrics_file,
            jobs,
        }
    }

    fn size(&mut self, s: &Spanned<Scalar>) -> Option<u64> {
        let t = s.value.0.trim();
        let (num, mult) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
            None => (t, 1),
            Some((i, _)) => {
                let m = match t[i..].trim() {
                    "K" | "KiB" | "k" => 1 << 10,
                    "M" | "MiB" => 1 << 20,
                    "G" | "GiB" => 1 << 30,
                    "B" => 1,
                    _ => 0,
                };
                (&t[..i], m)
            }
        };
        match num.parse::<u64>().ok().and_then(|n| n.checked_mul(mult)) {
            Some(n) if (LOG_FILE_MIN..=LOG_FILE_MAX).contains(&n) => Some(n),
            Some(n) if mult > 0 && n > 0 => {
                self.error(
                    &s.referenced,
                    format!("log_file_max {t:?} is out of range: use 4K to 1024G"),
                );
                None
            }
            _ => {
                self.error(
                    &s.referenced,
                    format!("invalid size {t:?}: write e.g. 8M, 512K or 1048576"),
                );
                None
            }
        }
    }

    fn span(&mut self, s: &Spanned<Scalar>, key: &str) -> Option<Duration> {
        match timespan::parse(&s.value.0) {
            Ok(d) => Some(d),
            Err(e) => {
                self.error(&s.referenced, format!("{key}: {e}"));
                None
            }
        }
    }

    fn opt_span(&mut self, s: Option<&Spanned<Scalar>>, key: &str, default: Duration) -> Duration {
        s.and_then(|s| self.span(s, key)).unwrap_or(default)
    }

    fn job(&mut self, name: Spanned<String>, mut raw: RawJob, names: &[String]) -> Option<Job> {
        let before = self.errors.len();
        let at = name.referenced;
        let name = name.value;

        // Environment first: `exec` and paths expand with it.
        let environment = self.environment(raw.environment.take());
        let vars = Layered {
            top: &environment,
            base: self.env,
        };

        let argv = self.exec(raw.exec.as_ref(), &name, &at, &vars);

        let (schedules, timezone) = self.schedules(&raw);
        let (on_active, on_startup) = self.relative(&raw);
        let scheduled = !schedules.is_empty() || on_active.is_some() || on_startup.is_some();
        let kind = self.kind(raw.kind.as_ref(), scheduled);
        let working_directory = self.working_directory(raw.working_directory.as_ref(), &vars);

        let restart = self.restart(raw.restart.as_ref(), kind);
        let [
            restart_sec,
            start_limit_interval,
            stop_timeout,
            randomized_delay,
        ] = [
            (&raw.restart_sec, "restart_sec", Duration::from_millis(100)),
            (
                &raw.start_limit_interval,
                "start_limit_interval",
                Duration::from_secs(10),
            ),
            (&raw.stop_timeout, "stop_timeout", Duration::from_secs(10)),
            (&raw.randomized_delay, "randomized_delay", Duration::ZERO),
        ]
        .map(|(s, key, default)| self.opt_span(s.as_ref(), key, default));
        let restart_max_sec =
            self.opt_span(raw.restart_max_sec.as_ref(), "restart_max_sec", restart_sec);
        let wait_for = self.wait_for(raw.wait_for.as_ref(), &vars);
        let environment_files = self.environment_files(raw.environment_file.as_ref(), &vars);
        let job = Job {
            name,
            description: raw.description.take(),
            argv,
            kind,
            schedules,
            timezone: timezone.map(|(n, _)| n),
            on_active,
            on_startup,
            persistent: raw.persistent.unwrap_or(false),
            randomized_delay,
            enabled: raw.enabled.unwrap_or(true),
            working_directory,
            environment,
            timeout: self.timeout(raw.timeout.as_ref()),
            restart,
            restart_sec,
            restart_max_sec,
            start_limit_burst: raw.start_limit_burst.as_ref().map_or(5, |b| b.value),
            start_limit_interval,
            stop_signal: self.stop_signal(raw.stop_signal.as_ref()),
            stop_timeout,
            on_failure: self.job_list(raw.on_failure.as_ref(), names, "on_failure"),
            on_success: self.job_list(raw.on_success.as_ref(), names, "on_success"),
            after: self.job_list(raw.after.as_ref(), names, "after"),
            environment_files,
            nice: self.nice(raw.nice.as_ref()),
            io: self.io(raw.io_class.as_ref(), raw.io_priority.as_ref()),
            limits: self.limits(&raw),
            wait_for,
            max_wait: raw.max_wait.as_ref().and_then(|s| self.span(s, "max_wait")),
            inhibit: self.inhibit(raw.inhibit.as_ref()),
        };
        (self.errors.len() == before).then_some(job)
    }

    /// `exec`, required, split into words.
    fn exec(
        &mut self,
        raw: Option<&Spanned<Words>>,
        name: &str,
        at: &Location,
        vars: &Layered,
    ) -> Vec<String> {
        match raw {
            None => {
                self.error(
                    at,
                    format!(
                        "job `{name}` has no `exec`; add the command to run, e.g. exec: nix-index"
                    ),
                );
                Vec::new()
            }
            Some(e) => self.argv(e, vars),
        }
    }

    /// `on_active` and `on_startup`.
    fn relative(&mut self, raw: &RawJob) -> (Option<Duration>, Option<Duration>) {
        let on_active = raw
            .on_active
            .as_ref()
            .and_then(|s| self.span(s, "on_active"));
        let on_startup = raw
            .on_startup
            .as_ref()
            .and_then(|s| self.span(s, "on_startup"));
        // `on_startup: 0` is "at start-up" (crontab's @reboot); only a
        // zero `on_active` would loop.
        for (v, key) in [(&on_active, &raw.on_active)] {
            if let (Some(d), Some(s)) = (v, key)
                && d.is_zero()
                && key.is_some()
            {
                self.error(
                    &s.referenced,
                    "a zero span would run the job in a loop; use at least 1s".into(),
                );
            }
        }
        (on_active, on_startup)
    }

    /// `timeout`, never zero.
    fn timeout(&mut self, raw: Option<&Spanned<Scalar>>) -> Option<Duration> {
        let timeout = raw.and_then(|s| self.span(s, "timeout"));
        if let (Some(t), Some(s)) = (timeout, raw)
            && t.is_zero()
        {
            self.error(
                &s.referenced,
                "timeout 0 would stop every run at once; remove the key for no timeout".into(),
            );
        }
        timeout
    }

    /// `environment`: names checked, values as written.
    fn environment(&mut self, raw: Option<raw::EnvMap>) -> Vec<(String, String)> {
        let mut environment = Vec::new();
        for (k, v) in raw.map(|e| e.0).unwrap_or_default() {
            if k.value.is_empty()
                || k.value.contains('=')
                || k.value.bytes().any(|b| b == 0)
                || v.value.0.bytes().any(|b| b == 0)
            {
                self.error(
                    &k.referenced,
                    format!("invalid environment variable name {:?}", k.value),
                );
                continue;
            }
            environment.push((k.value, v.value.0));
        }
        environment
    }

    /// `on_calendar` and `cron` compiled, and `timezone` (name, zone).
    fn schedules(
        &mut self,
        raw: &RawJob,
    ) -> (Vec<Schedule>, Option<(String, Arc<calendar::Zone>)>) {
        let mut schedules = Vec::new();
        let timezone = raw.timezone.as_ref().and_then(|tz| {
            if let Some(zone) = self.zones.named(&tz.value) {
                Some((tz.value.clone(), zone))
            } else {
                self.error(
                    &tz.referenced,
                    format!(
                        "unknown time zone {:?}: use an IANA name such as Europe/Berlin (see timedatectl list-timezones)",
                        tz.value
                    ),
                );
                None
            }
        });
        if let Some(cal) = &raw.on_calendar {
            for (expr, at) in &cal.value.items {
                match calendar::parse(expr, self.zones) {
                    Ok(spec) => schedules.push(Schedule {
                        text: expr.clone(),
                        kind: ScheduleKind::Calendar(spec),
                    }),
                    Err(e) => {
                        self.error(&at.unwrap_or(cal.referenced), format!("on_calendar: {e}"))
                    }
                }
            }
        }
        if let Some(cron) = &raw.cron {
            for (expr, at) in &cron.value.items {
                let zone = timezone.as_ref().map(|(_, z)| Arc::clone(z));
                match calendar::cron::parse(expr, zone) {
                    Ok(spec) => schedules.push(Schedule {
                        text: expr.clone(),
                        kind: ScheduleKind::Cron(spec),
                    }),
                    Err(e) => self.error(&at.unwrap_or(cron.referenced), format!("cron: {e}")),
                }
            }
        }
        if let Some(tz) = &raw.timezone
            && raw.cron.is_none()
        {
            self.error(
                &tz.referenced,
                "timezone applies to `cron` only; for on_calendar, end the expression with the zone (e.g. \"*-*-* 04:00 Europe/Berlin\")".into(),
            );
        }
        (schedules, timezone)
    }

    /// `type`, defaulting by whether the job has a schedule.
    fn kind(&mut self, raw: Option<&Spanned<String>>, scheduled: bool) -> JobType {
        match raw {
            None if scheduled => JobType::Oneshot,
            None => JobType::Simple,
            Some(t) => {
                let named = JobType::ALL.into_iter().find(|k| k.as_str() == t.value);
                named.unwrap_or_else(|| {
                    let other = &t.value;
                    let all = JobType::ALL.map(JobType::as_str);
                    self.error(
                        &t.referenced,
                        format!(
                            "invalid type {other:?}: use {}{}",
                            all.join(" or "),
                            suggestion(other, all)
                        ),
                    );
                    JobType::Oneshot
                })
            }
        }
    }

    /// `working_directory`, expanded; absolute.
    fn working_directory(&mut self, raw: Option<&Spanned<String>>, vars: &Layered) -> PathBuf {
        match raw {
            None => PathBuf::from(self.env.home()),
            Some(w) => self
                .absolute(&w.value, vars, "working_directory")
                .unwrap_or_else(|m| {
                    self.error(&w.referenced, m);
                    PathBuf::new()
                }),
        }
    }

    /// `restart`, refused on a oneshot where systemd refuses it.
    fn restart(&mut self, raw: Option<&Spanned<String>>, kind: JobType) -> Restart {
        let restart = match raw {
            None => Restart::No,
            Some(r) => {
                if let Some((_, v)) = RESTART_NAMES.iter().find(|(n, _)| *n == r.value) {
                    *v
                } else {
                    let all = RESTART_NAMES.map(|(n, _)| n);
                    self.error(
                        &r.referenced,
                        format!(
                            "invalid restart {:?}: use one of {}{}",
                            r.value,
                            all.join(", "),
                            suggestion(&r.value, all)
                        ),
                    );
                    Restart::No
                }
            }
        };
        // systemd refuses the same (service_verify): a oneshot restarted
        // on success would run again the moment it ends, for ever.
        if kind == JobType::Oneshot
            && matches!(restart, Restart::Always | Restart::OnSuccess)
            && let Some(r) = raw
        {
            self.error(
                &r.referenced,
                format!(
                    "restart {:?} is not allowed for a oneshot job (it would run again as soon as it ends); use on-failure or on-abnormal, or type: simple",
                    r.value
                ),
            );
        }
        restart
    }

    /// `stop_signal` by name or number; SIGTERM by default.
    fn stop_signal(&mut self, raw: Option<&Spanned<Scalar>>) -> i32 {
        match raw {
            None => 15,
            Some(s) => signal::parse(&s.value.0).unwrap_or_else(|| {
                let upper = s.value.0.to_ascii_uppercase();
                self.error(
                    &s.referenced,
                    format!(
                        "invalid stop_signal {:?}: write a signal name such as SIGTERM or SIGINT{}",
                        s.value.0,
                        suggestion(&upper, signal::names().iter().copied())
                    ),
                );
                15
            }),
        }
    }

    fn argv(&mut self, e: &Spanned<Words>, vars: &Layered) -> Vec<String> {
        let argv = if e.value.list {
            let mut out = Vec::new();
            for (w, at) in &e.value.items {
                match exec::expand_word(w, vars) {
                    Ok(w) => out.push(w),
                    Err(m) => self.error(&at.unwrap_or(e.referenced), format!("exec: {m}")),
                }
            }
            out
        } else {
            let s = e.value.items.first().map_or("", |(s, _)| s.as_str());
            match exec::split(s, vars) {
                Ok(v) => v,
                Err(err) => {
                    // Point at the offending character (exact for a plain
                    // scalar on one line, the value's start otherwise).
                    let at = e.referenced;
                    self.errors.push(ConfigError {
                        path: self.path.to_owned(),
                        line: at.line(),
                        column: at.column() + u64::try_from(err.offset).unwrap_or(0),
                        message: format!("exec: {}", err.message),
                    });
                    return Vec::new();
                }
            }
        };
        if argv.first().is_none_or(String::is_empty) {
            self.error(
                &e.referenced,
                "exec is empty; give the command to run".into(),
            );
        }
        if argv.iter().any(|a| a.contains('\0')) {
            self.error(&e.referenced, "exec contains a NUL byte".into());
        }
        argv
    }
}
