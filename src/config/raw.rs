//! The config file as written: serde types that mirror the YAML, unknown
//! keys rejected, every value that validation may refuse kept with its
//! position. The YAML crate (serde-saphyr) is used only in [`parse`], so it
//! can be swapped without touching the rest.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

/// Every top-level key, for "did you mean".
pub const TOP_KEYS: &[&str] = &[
    "log_namespace",
    "log_file_max",
    "log_file_keep",
    "max_concurrent",
    "metrics_file",
    "defaults",
    "jobs",
];

/// Every per-job key, for "did you mean".
pub const JOB_KEYS: &[&str] = &[
    "description",
    "exec",
    "type",
    "on_calendar",
    "cron",
    "timezone",
    "on_active",
    "on_startup",
    "persistent",
    "randomized_delay",
    "enabled",
    "working_directory",
    "environment",
    "timeout",
    "restart",
    "restart_sec",
    "restart_max_sec",
    "start_limit_burst",
    "start_limit_interval",
    "stop_signal",
    "stop_timeout",
    "on_failure",
    "on_success",
    "after",
    "environment_file",
    "nice",
    "io_class",
    "io_priority",
    "cpu_weight",
    "memory_high",
    "memory_max",
    "pids_max",
    "wait_for",
    "max_wait",
    "inhibit",
];

/// Every `wait_for` condition, for "did you mean".
pub const CONDITION_KEYS: &[&str] = &["ac_power", "network", "mounted", "path_exists"];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub log_namespace: Option<Spanned<String>>,
    pub log_file_max: Option<Spanned<Scalar>>,
    pub log_file_keep: Option<Spanned<u32>>,
    pub max_concurrent: Option<Spanned<u32>>,
    pub metrics_file: Option<Spanned<String>>,
    /// Keys every job inherits unless it sets them.
    pub defaults: Option<RawJob>,
    pub jobs: Option<Jobs>,
}

/// The `jobs` map in file order, names with their positions.
#[derive(Debug, Default)]
pub struct Jobs(pub Vec<(Spanned<String>, RawJob)>);

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawJob {
    pub description: Option<String>,
    pub exec: Option<Spanned<Words>>,
    #[serde(rename = "type")]
    pub kind: Option<Spanned<String>>,
    pub on_calendar: Option<Spanned<Words>>,
    pub cron: Option<Spanned<Words>>,
    pub timezone: Option<Spanned<String>>,
    pub on_active: Option<Spanned<Scalar>>,
    pub on_startup: Option<Spanned<Scalar>>,
    pub persistent: Option<bool>,
    pub randomized_delay: Option<Spanned<Scalar>>,
    pub enabled: Option<bool>,
    pub working_directory: Option<Spanned<String>>,
    pub environment: Option<EnvMap>,
    pub timeout: Option<Spanned<Scalar>>,
    pub restart: Option<Spanned<String>>,
    pub restart_sec: Option<Spanned<Scalar>>,
    pub restart_max_sec: Option<Spanned<Scalar>>,
    pub start_limit_burst: Option<Spanned<u32>>,
    pub start_limit_interval: Option<Spanned<Scalar>>,
    pub stop_signal: Option<Spanned<Scalar>>,
    pub stop_timeout: Option<Spanned<Scalar>>,
    pub on_failure: Option<Spanned<Words>>,
    pub on_success: Option<Spanned<Words>>,
    pub after: Option<Spanned<Words>>,
    pub environment_file: Option<Spanned<Words>>,
    pub nice: Option<Spanned<i64>>,
    pub io_class: Option<Spanned<String>>,
    pub io_priority: Option<Spanned<i64>>,
    pub cpu_weight: Option<Spanned<i64>>,
    pub memory_high: Option<Spanned<Scalar>>,
    pub memory_max: Option<Spanned<Scalar>>,
    pub pids_max: Option<Spanned<Scalar>>,
    pub wait_for: Option<Spanned<RawWaitFor>>,
    pub max_wait: Option<Spanned<Scalar>>,
    pub inhibit: Option<Spanned<Words>>,
}

/// `wait_for`: the conditions a due run waits for.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWaitFor {
    pub ac_power: Option<Spanned<bool>>,
    pub network: Option<Spanned<String>>,
    pub mounted: Option<Spanned<Words>>,
    pub path_exists: Option<Spanned<Words>>,
}

/// A string, or a list of strings: `exec`, `on_calendar`, `cron`,
/// `on_failure`. `list` records which form was written (it matters for
/// `exec`); list items keep their own positions (a single string's is the
/// enclosing `Spanned`'s, and `None` here).
#[derive(Debug, Default, Clone)]
pub struct Words {
    pub items: Vec<(String, Option<Location>)>,
    pub list: bool,
}

/// A scalar read as text, whatever YAML made of it: `90`, `1.5`, `90s`.
#[derive(Debug, Clone, Default)]
pub struct Scalar(pub String);

/// Parses the YAML text. One error (YAML stops at the first), with its
/// position when the parser knows it.
pub fn parse(text: &str) -> Result<RawConfig, (Option<(u64, u64)>, String)> {
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    options.strict_booleans = true;
    // An empty file is a document with nothing in it: a config without jobs.
    if text.trim().is_empty() {
        return Ok(RawConfig::default());
    }
    match serde_saphyr::from_str_with_options::<Option<RawConfig>>(text, options) {
        Ok(raw) => Ok(raw.unwrap_or_default()),
        Err(e) => {
            let at = e
                .location()
                .filter(|l| *l != Location::UNKNOWN)
                .map(|l| (l.line(), l.column()));
            let mut message = e.to_string();
            // The crate appends " at line L column C"; we print the position
            // in front, as FILE:LINE:COL.
            if let Some(i) = message.rfind(" at line ") {
                message.truncate(i);
            }
            Err((at, message))
        }
    }
}

impl RawJob {
    /// Takes every key `defaults` sets and this job does not; the
    /// `environment` maps are merged, the job's entries winning. A job
    /// does not inherit itself as its own `on_failure` handler (a failing
    /// handler would start itself for ever).
    pub fn inherit(&mut self, defaults: &RawJob, name: &str) {
        macro_rules! take {
            ($($key:ident),*) => {$(
                if self.$key.is_none() {
                    self.$key = defaults.$key.clone();
                }
            )*};
        }
        take!(
            description,
            exec,
            kind,
            on_calendar,
            cron,
            timezone,
            on_active,
            on_startup,
            persistent,
            randomized_delay,
            enabled,
            working_directory,
            timeout,
            restart,
            restart_sec,
            restart_max_sec,
            start_limit_burst,
            start_limit_interval,
            stop_signal,
            stop_timeout,
            on_success,
            after,
            environment_file,
            nice,
            io_class,
            io_priority,
            cpu_weight,
            memory_high,
            memory_max,
            pids_max,
            wait_for,
            max_wait,
            inhibit
        );
        if self.on_failure.is_none()
            && let Some(d) = &defaults.on_failure
        {
            let mut d = d.clone();
            d.value.items.retain(|(n, _)| n != name);
            self.on_failure = Some(d);
        }
        if let Some(env) = &defaults.environment {
            let own = self.environment.take().unwrap_or_default();
            let mut merged = env.clone();
            merged
                .0
                .retain(|(k, _)| !own.0.iter().any(|(o, _)| o.value == k.value));
            merged.0.extend(own.0);
            self.environment = Some(merged);
        }
    }
}

impl<'de> Deserialize<'de> for Jobs {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Jobs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of job names to job definitions")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Jobs, E> {
                Ok(Jobs::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Jobs, A::Error> {
                let mut jobs = Vec::new();
                while let Some(name) = map.next_key::<Spanned<String>>()? {
                    let job = map.next_value::<Option<RawJob>>()?.unwrap_or_default();
                    jobs.push((name, job));
                }
                Ok(Jobs(jobs))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Words {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Words;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Words, E> {
                Ok(Words {
                    items: vec![(v.to_owned(), None)],
                    list: false,
                })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Words, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Words, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Words, A::Error> {
                let mut items = Vec::new();
                while let Some(s) = seq.next_element::<Spanned<Scalar>>()? {
                    let at = (s.referenced != Location::UNKNOWN).then_some(s.referenced);
                    items.push((s.value.0, at));
                }
                Ok(Words { items, list: true })
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// `environment` as a map in file order.
#[derive(Clone, Debug, Default)]
pub struct EnvMap(pub Vec<(Spanned<String>, Spanned<Scalar>)>);

impl<'de> Deserialize<'de> for EnvMap {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = EnvMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of variable names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EnvMap, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    out.push(entry);
                }
                Ok(EnvMap(out))
            }
        }
        d.deserialize_map(V)
    }
}
