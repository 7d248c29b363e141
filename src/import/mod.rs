//! PURE (but for reading the files named): `jobd import` — systemd user
//! units and crontabs turned into jobd's YAML, with a warning for every
//! key or feature jobd has no equivalent for (never dropped silently).
//!
//! The output is YAML text built here, values written as JSON strings
//! (a JSON string is a valid YAML double-quoted scalar), each job
//! preceded by comments saying where it came from.

pub mod crontab;
pub mod systemd;

use std::fmt::Write as _;

/// One job to write.
#[derive(Debug, Default)]
pub struct JobOut {
    pub name: String,
    /// Comment lines (without `#`) above the job.
    pub comments: Vec<String>,
    /// `key: value` pairs in order; values are already YAML.
    pub keys: Vec<(&'static str, String)>,
}

impl JobOut {
    pub fn set(&mut self, key: &'static str, value: String) {
        match self.keys.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.keys.push((key, value)),
        }
    }
}

/// What an import produced.
#[derive(Debug, Default)]
pub struct Imported {
    pub jobs: Vec<JobOut>,
    /// `SOURCE: message`, one per thing jobd cannot express.
    pub warnings: Vec<String>,
}

impl Imported {
    /// The config file text.
    pub fn yaml(&self) -> String {
        let mut o = String::from("jobs:\n");
        for j in &self.jobs {
            for c in &j.comments {
                let _ = writeln!(o, "  # {c}");
            }
            let _ = writeln!(o, "  {}:", j.name);
            for (k, v) in &j.keys {
                let _ = writeln!(o, "    {k}: {v}");
            }
        }
        o
    }
}

/// A YAML scalar for `s` (a JSON string).
pub fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

/// A YAML flow list of strings.
pub fn list(items: &[String]) -> String {
    let q: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[{}]", q.join(", "))
}

/// A YAML flow map of strings.
pub fn map(items: &[(String, String)]) -> String {
    let q: Vec<String> = items
        .iter()
        .map(|(k, v)| format!("{}: {}", quote(k), quote(v)))
        .collect();
    format!("{{{}}}", q.join(", "))
}

/// `v` trimmed, without one pair of surrounding `"` or `'`.
pub fn unquote(v: &str) -> &str {
    let v = v.trim();
    v.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
        .unwrap_or(v)
}

/// A job name from free text: jobd's `[A-Za-z0-9_.@-]+`, other runs of
/// characters become `-`.
pub fn job_name(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || "_.@-".contains(c) {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_owned();
    if out.is_empty() { "job".into() } else { out }
}

/// `name`, or `name-2`, `name-3`… if taken.
pub fn unique(name: String, taken: &[JobOut]) -> String {
    if !taken.iter().any(|j| j.name == name) {
        return name;
    }
    (2..)
        .map(|k| format!("{name}-{k}"))
        .find(|n| !taken.iter().any(|j| &j.name == n))
        .unwrap_or(name)
}
