//! Validation of the keys that say how a run is treated rather than
//! what it runs: priorities (`nice`, `io_class`, `io_priority`), cgroup
//! limits, `wait_for`/`max_wait` and `inhibit`.

use std::path::PathBuf;

use serde_saphyr::Spanned;

use super::raw::{RawJob, RawWaitFor, Scalar, Words};
use super::validate::Validator;
use super::{Condition, Inhibit, Layered, Limit, Limits, suggestion};

impl Validator<'_> {
    /// `nice`: -20..19, as `setpriority(2)` takes it.
    pub(super) fn nice(&mut self, raw: Option<&Spanned<i64>>) -> Option<i32> {
        let n = raw?;
        match i32::try_from(n.value) {
            Ok(v) if (-20..=19).contains(&v) => Some(v),
            _ => {
                self.error(
                    &n.referenced,
                    format!(
                        "nice {} is out of range: write -20 (first) to 19 (last)",
                        n.value
                    ),
                );
                None
            }
        }
    }

    /// `io_class` (`realtime`, `best-effort`, `idle`) and `io_priority`
    /// (0..7, for the first two; 4 where only the class is given, as the
    /// kernel's default level).
    pub(super) fn io(
        &mut self,
        class: Option<&Spanned<String>>,
        level: Option<&Spanned<i64>>,
    ) -> Option<crate::config::IoPriority> {
        use crate::config::IoPriority;
        const CLASSES: &[&str] = &["realtime", "best-effort", "idle"];
        let lv = match level {
            Some(l) => match u8::try_from(l.value) {
                Ok(v) if v <= 7 => Some(v),
                _ => {
                    self.error(
                        &l.referenced,
                        format!(
                            "io_priority {} is out of range: write 0 (first) to 7 (last)",
                            l.value
                        ),
                    );
                    return None;
                }
            },
            None => None,
        };
        let Some(class) = class else {
            // A level alone is systemd's IOSchedulingPriority= without a
            // class: best-effort.
            return lv.map(IoPriority::BestEffort);
        };
        match class.value.as_str() {
            "realtime" => Some(IoPriority::Realtime(lv.unwrap_or(4))),
            "best-effort" => Some(IoPriority::BestEffort(lv.unwrap_or(4))),
            "idle" => {
                if let Some(l) = level {
                    self.error(
                        &l.referenced,
                        "io_priority has no meaning with io_class: idle; remove it, or choose best-effort"
                            .to_owned(),
                    );
                }
                Some(IoPriority::Idle)
            }
            other => {
                self.error(
                    &class.referenced,
                    format!(
                        "invalid io_class {other:?}: write realtime, best-effort or idle{}",
                        suggestion(other, CLASSES.iter().copied())
                    ),
                );
                None
            }
        }
    }

    /// `cpu_weight`, `memory_high`, `memory_max`, `pids_max`.
    pub(super) fn limits(&mut self, raw: &RawJob) -> Limits {
        let cpu_weight = raw.cpu_weight.as_ref().and_then(|w| {
            match u32::try_from(w.value) {
                Ok(v) if (1..=10_000).contains(&v) => Some(v),
                _ => {
                    self.error(
                        &w.referenced,
                        format!(
                            "cpu_weight {} is out of range: write 1 to 10000 (100 is the default share)",
                            w.value
                        ),
                    );
                    None
                }
            }
        });
        Limits {
            cpu_weight,
            memory_high: raw
                .memory_high
                .as_ref()
                .and_then(|s| self.bytes(s, "memory_high")),
            memory_max: raw
                .memory_max
                .as_ref()
                .and_then(|s| self.bytes(s, "memory_max")),
            pids_max: raw.pids_max.as_ref().and_then(|s| self.tasks(s)),
        }
    }

    /// A memory size: bytes, `K`/`M`/`G`/`T` (base 1024), or `infinity`.
    fn bytes(&mut self, s: &Spanned<Scalar>, key: &str) -> Option<Limit> {
        let t = s.value.0.trim();
        if t == "infinity" {
            return Some(Limit::Infinity);
        }
        let (num, shift) = match t.as_bytes().last() {
            Some(b'K') => (&t[..t.len() - 1], 10),
            Some(b'M') => (&t[..t.len() - 1], 20),
            Some(b'G') => (&t[..t.len() - 1], 30),
            Some(b'T') => (&t[..t.len() - 1], 40),
            _ => (t, 0),
        };
        let n = num
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(1u64 << shift));
        if n.is_none() {
            self.error(
                &s.referenced,
                format!("invalid {key} {t:?}: write bytes with K, M, G or T (base 1024), e.g. 512M, or infinity"),
            );
        }
        n.map(Limit::At)
    }

    /// `pids_max`: a number of tasks, or `infinity`.
    fn tasks(&mut self, s: &Spanned<Scalar>) -> Option<Limit> {
        let t = s.value.0.trim();
        if t == "infinity" {
            return Some(Limit::Infinity);
        }
        match t.parse::<u64>() {
            Ok(n) if n > 0 => Some(Limit::At(n)),
            _ => {
                self.error(
                    &s.referenced,
                    format!(
                        "invalid pids_max {t:?}: write a number of tasks (1 or more) or infinity"
                    ),
                );
                None
            }
        }
    }

    /// `wait_for`, each condition checked; paths expanded and absolute.
    pub(super) fn wait_for(
        &mut self,
        raw: Option<&Spanned<RawWaitFor>>,
        vars: &Layered,
    ) -> Vec<Condition> {
        let Some(w) = raw else {
            return Vec::new();
        };
        let w = &w.value;
        let mut out = Vec::new();
        if let Some(ac) = &w.ac_power {
            out.push(Condition::AcPower(ac.value));
        }
        if let Some(n) = &w.network {
            if n.value == "online" {
                out.push(Condition::Network);
            } else {
                self.error(
                    &n.referenced,
                    format!(
                        "invalid network {:?}: write online{}",
                        n.value,
                        suggestion(&n.value, ["online"])
                    ),
                );
            }
        }
        for (key, list) in [("mounted", &w.mounted), ("path_exists", &w.path_exists)] {
            let Some(list) = list else { continue };
            for p in self.paths(list, key, vars) {
                out.push(if key == "mounted" {
                    Condition::Mounted(p)
                } else {
                    Condition::PathExists(p)
                });
            }
        }
        out
    }

    /// One path or a list of them, expanded; each absolute.
    fn paths(&mut self, list: &Spanned<Words>, key: &str, vars: &Layered) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for (p, at) in &list.value.items {
            match self.absolute(p, vars, key) {
                Ok(p) => out.push(p),
                Err(m) => self.error(&at.unwrap_or(list.referenced), m),
            }
        }
        out
    }

    /// `inhibit`: `sleep`, `shutdown`, `idle`.
    pub(super) fn inhibit(&mut self, raw: Option<&Spanned<Words>>) -> Vec<Inhibit> {
        let Some(list) = raw else {
            return Vec::new();
        };
        let names = Inhibit::ALL.map(Inhibit::as_str);
        let mut out = Vec::new();
        for (w, at) in &list.value.items {
            match Inhibit::ALL.iter().find(|i| i.as_str() == w) {
                Some(i) if !out.contains(i) => out.push(*i),
                Some(_) => {}
                None => self.error(
                    &at.unwrap_or(list.referenced),
                    format!(
                        "invalid inhibit {w:?}: use sleep, shutdown or idle{}",
                        suggestion(w, names)
                    ),
                ),
            }
        }
        out
    }
}
