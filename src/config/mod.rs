//! The config file (SPEC §2): YAML → raw types ([`raw`]) → a validated
//! [`Config`] in which every expression, span and `exec` is already parsed,
//! so nothing downstream re-parses a string.
//!
//! Validation looks at the whole file and reports every mistake it finds,
//! each as `FILE:LINE:COL: message`, with a "did you mean" for misspelt
//! keys, values and job names. YAML syntax errors and unknown keys stop the
//! YAML reader, so those come one at a time.

pub mod exec;
pub mod raw;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_saphyr::{Location, Spanned};

use crate::calendar::{self, CalendarSpec, ZoneSource, cron::CronSpec, timespan};
use crate::signal;
use crate::tzdb::SystemZones;
use raw::{RawConfig, RawJob, Scalar, Words};

/// A validated config.
#[derive(Debug)]
pub struct Config {
    pub path: PathBuf,
    pub log_namespace: Option<String>,
    pub log_file_max: u64,
    pub log_file_keep: u32,
    /// In file order.
    pub jobs: Vec<Arc<Job>>,
}

/// `oneshot` or `simple` (systemd's `Type=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobType {
    Oneshot,
    Simple,
}

impl JobType {
    pub fn as_str(self) -> &'static str {
        match self {
            JobType::Oneshot => "oneshot",
            JobType::Simple => "simple",
        }
    }
}

impl fmt::Display for JobType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// systemd's `Restart=` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restart {
    No,
    OnSuccess,
    OnFailure,
    OnAbnormal,
    Always,
}

const RESTART_NAMES: [(&str, Restart); 5] = [
    ("no", Restart::No),
    ("on-success", Restart::OnSuccess),
    ("on-failure", Restart::OnFailure),
    ("on-abnormal", Restart::OnAbnormal),
    ("always", Restart::Always),
];

/// One `on_calendar` or `cron` entry: as written, and compiled.
#[derive(Clone, Debug)]
pub struct Schedule {
    pub text: String,
    pub kind: ScheduleKind,
}

#[derive(Clone, Debug)]
pub enum ScheduleKind {
    Calendar(CalendarSpec),
    Cron(CronSpec),
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        // Same text and kind compile to the same spec (the zone database
        // does not change under a running daemon).
        self.text == other.text
            && matches!(
                (&self.kind, &other.kind),
                (ScheduleKind::Calendar(_), ScheduleKind::Calendar(_))
                    | (ScheduleKind::Cron(_), ScheduleKind::Cron(_))
            )
    }
}

/// A job, every value parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub name: String,
    pub description: Option<String>,
    pub argv: Vec<String>,
    pub kind: JobType,
    pub schedules: Vec<Schedule>,
    pub timezone: Option<String>,
    pub on_active: Option<Duration>,
    pub on_startup: Option<Duration>,
    pub persistent: bool,
    pub randomized_delay: Duration,
    pub enabled: bool,
    pub working_directory: PathBuf,
    pub environment: Vec<(String, String)>,
    pub timeout: Option<Duration>,
    pub restart: Restart,
    pub restart_sec: Duration,
    pub restart_max_sec: Duration,
    pub start_limit_burst: u32,
    pub start_limit_interval: Duration,
    pub stop_signal: i32,
    pub stop_timeout: Duration,
    pub on_failure: Vec<String>,
}

impl Job {
    /// A variable the job's `environment` sets (the last one wins).
    pub fn env_var(&self, name: &str) -> Option<&str> {
        self.environment
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The schedule as written, for `list`.
    pub fn schedule_texts(&self) -> Vec<String> {
        let mut out: Vec<String> = self.schedules.iter().map(|s| s.text.clone()).collect();
        if let Some(d) = self.on_active {
            out.push(format!("on_active {}", timespan::format(d)));
        }
        if let Some(d) = self.on_startup {
            out.push(format!("on_startup {}", timespan::format(d)));
        }
        out
    }
}

/// One thing wrong with a config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    /// 1-based; 0 when unknown.
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.path.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

/// All the mistakes in a file (at least one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The environment a config is read in: variables for `${VAR}` and `~`.
pub struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    /// The daemon's own environment.
    pub fn from_process() -> Env {
        Env {
            vars: std::env::vars().collect(),
        }
    }

    pub fn home(&self) -> &str {
        self.vars.get("HOME").map_or("/", String::as_str)
    }
}

struct Layered<'a> {
    top: &'a [(String, String)],
    base: &'a Env,
}

impl exec::Vars for Layered<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.top
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .or_else(|| self.base.vars.get(name).map(String::as_str))
    }
}

/// Reads and validates the file at `path`.
pub fn load(path: &Path, zones: &SystemZones, env: &Env) -> Result<Config, ConfigErrors> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ConfigErrors(vec![ConfigError {
                path: path.to_owned(),
                line: 0,
                column: 0,
                message: "no such file; create it (see config/jobd.yaml in jobd's sources for an example) or pass --config FILE".to_owned(),
            }]));
        }
        Err(e) => {
            return Err(ConfigErrors(vec![ConfigError {
                path: path.to_owned(),
                line: 0,
                column: 0,
                message: format!("cannot read: {e}"),
            }]));
        }
    };
    from_str(&text, path, zones, env)
}

/// Validates config text; `path` is only used in messages.
pub fn from_str(
    text: &str,
    path: &Path,
    zones: &SystemZones,
    env: &Env,
) -> Result<Config, ConfigErrors> {
    let raw = raw::parse(text).map_err(|(at, message)| {
        let (line, column) = at.unwrap_or((0, 0));
        ConfigErrors(vec![ConfigError {
            path: path.to_owned(),
            line,
            column,
            message: explain_yaml_error(&message),
        }])
    })?;
    let mut v = Validator {
        path,
        zones,
        env,
        errors: Vec::new(),
    };
    let config = v.config(raw);
    if v.errors.is_empty() {
        Ok(config)
    } else {
        Err(ConfigErrors(v.errors))
    }
}

/// The closest candidate, if close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

fn suggestion<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    did_you_mean(word, candidates).map_or(String::new(), |c| format!("; did you mean `{c}`?"))
}

/// Rewrites serde's messages into ours: unknown keys get a "did you mean".
fn explain_yaml_error(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some(end) = rest.find('`')
    {
        let key = &rest[..end];
        let expected = rest.split_once("expected").map_or("", |(_, e)| e);
        let (place, keys) = if expected.contains(" exec,") || expected.contains("`exec`") {
            ("job key", raw::JOB_KEYS)
        } else {
            ("top-level key", raw::TOP_KEYS)
        };
        let hint = match did_you_mean(key, keys.iter().copied()) {
            Some(k) => format!("did you mean `{k}`?"),
            None => format!("known keys: {}", keys.join(", ")),
        };
        return format!("unknown {place} `{key}`; {hint}");
    }
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest
            .split(", set DuplicateKeyPolicy")
            .next()
            .unwrap_or(rest);
        return format!(
            "duplicate key `{key}`: a job name or key may appear only once; rename or merge the two"
        );
    }
    if message.starts_with("invalid boolean") {
        return "invalid boolean: write true or false".into();
    }
    // serde's "invalid u32" for a negative or fractional count.
    let unsigned = |t: &str| {
        t.strip_prefix('u')
            .is_some_and(|d| d.chars().all(|c| c.is_ascii_digit()))
    };
    if message.strip_prefix("invalid ").is_some_and(unsigned) {
        return "expected a whole number (0 or more)".into();
    }
    message.to_owned()
}

struct Validator<'a> {
    path: &'a Path,
    zones: &'a SystemZones,
    env: &'a Env,
    errors: Vec<ConfigError>,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'@' | b'-'))
}

impl Validator<'_> {
    fn error(&mut self, at: &Location, message: String) {
        self.errors.push(ConfigError {
            path: self.path.to_owned(),
            line: at.line(),
            column: at.column(),
            message,
        });
    }

    fn config(&mut self, raw: RawConfig) -> Config {
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
        let log_file_keep = raw.log_file_keep.map_or(4, |k| k.value);
        let raw_jobs = raw.jobs.unwrap_or_default().0;
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
            if let Some(job) = self.job(name, job, &names) {
                jobs.push(Arc::new(job));
            }
        }
        Config {
            path: self.path.to_owned(),
            log_namespace,
            log_file_max,
            log_file_keep,
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
        match num.parse::<u64>() {
            Ok(n) if mult > 0 && n > 0 => Some(n * mult),
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
        let restart_sec = self.opt_span(
            raw.restart_sec.as_ref(),
            "restart_sec",
            Duration::from_millis(100),
        );
        let restart_max_sec =
            self.opt_span(raw.restart_max_sec.as_ref(), "restart_max_sec", restart_sec);
        let start_limit_interval = self.opt_span(
            raw.start_limit_interval.as_ref(),
            "start_limit_interval",
            Duration::from_secs(10),
        );
        let stop_timeout = self.opt_span(
            raw.stop_timeout.as_ref(),
            "stop_timeout",
            Duration::from_secs(10),
        );
        let randomized_delay = self.opt_span(
            raw.randomized_delay.as_ref(),
            "randomized_delay",
            Duration::ZERO,
        );
        let timeout = self.timeout(raw.timeout.as_ref());
        let stop_signal = self.stop_signal(raw.stop_signal.as_ref());

        let on_failure = self.on_failure(raw.on_failure.as_ref(), names);

        if self.errors.len() > before {
            return None;
        }
        Some(Job {
            name,
            description: raw.description,
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
            timeout,
            restart,
            restart_sec,
            restart_max_sec,
            start_limit_burst: raw.start_limit_burst.map_or(5, |b| b.value),
            start_limit_interval,
            stop_signal,
            stop_timeout,
            on_failure,
        })
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
            Some(t) => match t.value.as_str() {
                "oneshot" => JobType::Oneshot,
                "simple" => JobType::Simple,
                other => {
                    self.error(
                        &t.referenced,
                        format!(
                            "invalid type {other:?}: use oneshot or simple{}",
                            suggestion(other, ["oneshot", "simple"])
                        ),
                    );
                    JobType::Oneshot
                }
            },
        }
    }

    /// `working_directory`, expanded; absolute.
    fn working_directory(&mut self, raw: Option<&Spanned<String>>, vars: &Layered) -> PathBuf {
        match raw {
            None => PathBuf::from(self.env.home()),
            Some(w) => {
                let expanded = if w.value == "~" {
                    Ok(self.env.home().to_owned())
                } else {
                    exec::expand_word(&w.value, vars)
                };
                match expanded {
                    Ok(p) if Path::new(&p).is_absolute() => PathBuf::from(p),
                    Ok(p) => {
                        self.error(
                            &w.referenced,
                            format!("working_directory {p:?} is relative; write an absolute path or one starting with ~/"),
                        );
                        PathBuf::new()
                    }
                    Err(m) => {
                        self.error(&w.referenced, format!("working_directory: {m}"));
                        PathBuf::new()
                    }
                }
            }
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

    /// `on_failure`: names of jobs in this file.
    fn on_failure(&mut self, raw: Option<&Spanned<Words>>, names: &[String]) -> Vec<String> {
        let mut on_failure = Vec::new();
        if let Some(list) = raw {
            for (other, at) in &list.value.items {
                if names.iter().any(|n| n == other) {
                    on_failure.push(other.clone());
                } else {
                    self.error(
                        &at.unwrap_or(list.referenced),
                        format!(
                            "on_failure names unknown job `{other}`{}",
                            suggestion(other, names.iter().map(String::as_str))
                        ),
                    );
                }
            }
        }
        on_failure
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
