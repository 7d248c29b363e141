//! The config file (SPEC §2): YAML → raw types ([`raw`]) → a validated
//! [`Config`] in which every expression, span and `exec` is already parsed,
//! so nothing downstream re-parses a string.
//!
//! Validation looks at the whole file and reports every mistake it finds,
//! each as `FILE:LINE:COL: message`, with a "did you mean" for misspelt
//! keys, values and job names. YAML syntax errors and unknown keys stop the
//! YAML reader, so those come one at a time.

mod controls;
pub mod envfile;
pub mod exec;
pub mod raw;
mod relations;
pub mod schema;
mod validate;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::calendar::{CalendarSpec, cron::CronSpec, timespan};
use crate::tzdb::SystemZones;

/// A validated config.
#[derive(Debug)]
pub struct Config {
    pub path: PathBuf,
    pub log_namespace: Option<String>,
    pub log_file_max: u64,
    pub log_file_keep: u32,
    /// `max_concurrent`: at most this many oneshot runs at once.
    pub max_concurrent: Option<u32>,
    /// `metrics_file`: where the daemon writes `jobd metrics` after each run.
    pub metrics_file: Option<PathBuf>,
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
    pub const ALL: [JobType; 2] = [JobType::Oneshot, JobType::Simple];

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
    /// Jobs started when a run ends with `success`.
    pub on_success: Vec<String>,
    /// Jobs whose runs a due run of this one waits for.
    pub after: Vec<String>,
    /// `environment_file`: read at every start.
    pub environment_files: Vec<EnvFile>,
    /// `nice`: the run's scheduling niceness, -20..19.
    pub nice: Option<i32>,
    /// `io_class`/`io_priority`: the run's I/O scheduling.
    pub io: Option<IoPriority>,
    /// `cpu_weight`, `memory_high`, `memory_max`, `pids_max`.
    pub limits: Limits,
    /// `wait_for`: what a due run waits for, in the file's order.
    pub wait_for: Vec<Condition>,
    /// `max_wait`: how long a due run may wait; `None`: until the next
    /// elapse.
    pub max_wait: Option<Duration>,
    /// `inhibit`: what logind is asked to hold off while a run goes.
    pub inhibit: Vec<Inhibit>,
}

impl Job {
    /// Gives back the spare capacity of the job's lists: a job lives as
    /// long as the daemon, and most hold one schedule and a short `exec`.
    pub fn shrink_to_fit(&mut self) {
        self.argv.shrink_to_fit();
        self.environment.shrink_to_fit();
        self.schedules.shrink_to_fit();
        for s in &mut self.schedules {
            if let ScheduleKind::Cron(c) = &mut s.kind {
                c.shrink_to_fit();
            }
        }
    }
}

/// An `environment_file`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvFile {
    pub path: PathBuf,
    /// Written with a leading `-`: a missing file is no error.
    pub optional: bool,
}

/// A `wait_for` condition.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Condition {
    /// `ac_power: true` (on mains) or `false` (on battery).
    AcPower(bool),
    /// `network: online`.
    Network,
    /// `mounted: PATH`.
    Mounted(PathBuf),
    /// `path_exists: PATH`.
    PathExists(PathBuf),
}

impl fmt::Display for Condition {
    /// As the config writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::AcPower(v) => write!(f, "ac_power: {v}"),
            Condition::Network => f.write_str("network: online"),
            Condition::Mounted(p) => write!(f, "mounted: {}", p.display()),
            Condition::PathExists(p) => write!(f, "path_exists: {}", p.display()),
        }
    }
}

/// The cgroup resource controls of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    pub cpu_weight: Option<u32>,
    pub memory_high: Option<Limit>,
    pub memory_max: Option<Limit>,
    pub pids_max: Option<Limit>,
}

/// A cgroup limit: a number, or none (`infinity`, the kernel's `max`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    At(u64),
    Infinity,
}

impl Limit {
    /// As the config would write it: `512M`, `100`, `infinity`.
    pub fn shown(self, bytes: bool) -> String {
        match self {
            Limit::At(n) if bytes => {
                let unit = [(40, "T"), (30, "G"), (20, "M"), (10, "K")]
                    .into_iter()
                    .find(|(shift, _)| n >= 1 << shift && n % (1 << shift) == 0);
                match unit {
                    Some((shift, u)) => format!("{}{u}", n >> shift),
                    None => n.to_string(),
                }
            }
            Limit::At(n) => n.to_string(),
            Limit::Infinity => "infinity".to_owned(),
        }
    }

    /// As a cgroup file takes it.
    pub fn cgroup_text(self) -> String {
        match self {
            Limit::At(n) => n.to_string(),
            Limit::Infinity => "max".to_owned(),
        }
    }
}

impl Limits {
    /// Each control that is set: its key, the cgroup file it is written
    /// to, the controller that file belongs to, and the value (as the
    /// file takes it, and as the config writes it).
    pub fn files(&self) -> Vec<LimitFile> {
        let mut out = Vec::new();
        if let Some(w) = self.cpu_weight {
            let v = w.to_string();
            out.push(LimitFile {
                key: "cpu_weight",
                file: "cpu.weight",
                controller: "cpu",
                value: v.clone(),
                shown: v,
            });
        }
        let limits = [
            (
                "memory_high",
                "memory.high",
                "memory",
                self.memory_high,
                true,
            ),
            ("memory_max", "memory.max", "memory", self.memory_max, true),
            ("pids_max", "pids.max", "pids", self.pids_max, false),
        ];
        for (key, file, controller, v, bytes) in limits {
            if let Some(v) = v {
                out.push(LimitFile {
                    key,
                    file,
                    controller,
                    value: v.cgroup_text(),
                    shown: v.shown(bytes),
                });
            }
        }
        out
    }
}

/// One cgroup control of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitFile {
    pub key: &'static str,
    pub file: &'static str,
    pub controller: &'static str,
    /// As the cgroup file takes it.
    pub value: String,
    /// As the config writes it.
    pub shown: String,
}

/// What a run holds off (logind's inhibitor "what").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inhibit {
    Sleep,
    Shutdown,
    Idle,
}

impl Inhibit {
    pub const ALL: [Inhibit; 3] = [Inhibit::Sleep, Inhibit::Shutdown, Inhibit::Idle];

    pub fn as_str(self) -> &'static str {
        match self {
            Inhibit::Sleep => "sleep",
            Inhibit::Shutdown => "shutdown",
            Inhibit::Idle => "idle",
        }
    }
}

/// An I/O scheduling class and level, as `ioprio_set(2)` takes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoPriority {
    Realtime(u8),
    BestEffort(u8),
    Idle,
}

impl IoPriority {
    /// The value `ioprio_set` takes: class in the top bits, level below.
    pub fn raw(self) -> i32 {
        const SHIFT: i32 = 13;
        match self {
            IoPriority::Realtime(l) => (1 << SHIFT) | i32::from(l),
            IoPriority::BestEffort(l) => (2 << SHIFT) | i32::from(l),
            IoPriority::Idle => 3 << SHIFT,
        }
    }
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
    // A FIFO or a device would block the reload (and the daemon) on read.
    if let Ok(m) = std::fs::metadata(path)
        && !m.is_file()
    {
        return Err(ConfigErrors(vec![ConfigError {
            path: path.to_owned(),
            line: 0,
            column: 0,
            message: "not a regular file; point --config at a YAML file".to_owned(),
        }]));
    }
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
    let mut v = validate::Validator {
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
    // Only words of about the same length can be typos of each other;
    // checking that first keeps a 64 KiB name against 10,000 jobs from
    // costing the event loop seconds of string comparison.
    let near = |c: &str| word.len().abs_diff(c.len()) <= 3.max(c.len() / 2);
    candidates
        .into_iter()
        .filter(|c| near(c))
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
        } else if expected.contains(" ac_power,") || expected.contains("`ac_power`") {
            ("wait_for condition", raw::CONDITION_KEYS)
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
