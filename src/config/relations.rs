//! Validation of what ties jobs together or to outside files:
//! `on_failure`/`on_success`/`after` name jobs of the file, `after` must
//! not loop, `environment_file` and `metrics_file` are absolute paths.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_saphyr::{Location, Spanned};

use super::raw::{RawJob, Words};
use super::validate::Validator;
use super::{EnvFile, Layered, exec, suggestion};

impl Validator<'_> {
    /// A list of names of jobs in this file (`on_failure`, `on_success`,
    /// `after`).
    pub(super) fn job_list(
        &mut self,
        raw: Option<&Spanned<Words>>,
        names: &[String],
        key: &str,
    ) -> Vec<String> {
        let mut out = Vec::new();
        let Some(list) = raw else {
            return out;
        };
        for (other, at) in &list.value.items {
            if names.iter().any(|n| n == other) {
                if !out.contains(other) {
                    out.push(other.clone());
                }
            } else {
                self.error(
                    &at.unwrap_or(list.referenced),
                    format!(
                        "{key} names unknown job `{other}`{}",
                        suggestion(other, names.iter().map(String::as_str))
                    ),
                );
            }
        }
        out
    }

    /// `after` must not loop: every `after` entry on a cycle is an error
    /// at its own line.
    pub(super) fn after_cycles(&mut self, jobs: &[(Spanned<String>, RawJob)]) {
        let edges: HashMap<&str, Vec<(&str, Location)>> = jobs
            .iter()
            .map(|(name, job)| {
                let list = job.after.as_ref().map_or_else(Vec::new, |l| {
                    l.value
                        .items
                        .iter()
                        .map(|(n, at)| (n.as_str(), at.unwrap_or(l.referenced)))
                        .collect()
                });
                (name.value.as_str(), list)
            })
            .collect();
        for (name, _) in jobs {
            let from = name.value.as_str();
            for (to, at) in edges.get(from).into_iter().flatten() {
                if let Some(path) = path_between(&edges, to, from) {
                    let cycle: Vec<String> = std::iter::once(from)
                        .chain(path)
                        .map(|n| format!("`{n}`"))
                        .collect();
                    self.error(
                        at,
                        format!(
                            "after makes a cycle ({}): ordering must not loop back; remove one of them",
                            cycle.join(" after ")
                        ),
                    );
                }
            }
        }
    }

    /// `environment_file`: one path or a list, each absolute or `~/…`,
    /// a leading `-` for "may be missing".
    pub(super) fn environment_files(
        &mut self,
        raw: Option<&Spanned<Words>>,
        vars: &Layered,
    ) -> Vec<EnvFile> {
        let mut out = Vec::new();
        let Some(list) = raw else {
            return out;
        };
        for (p, at) in &list.value.items {
            let at = at.unwrap_or(list.referenced);
            let (optional, p) = match p.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, p.as_str()),
            };
            match self.absolute(p, vars, "environment_file") {
                Ok(path) => out.push(EnvFile { path, optional }),
                Err(m) => self.error(&at, m),
            }
        }
        out
    }

    /// `metrics_file`: absolute or `~/…`.
    pub(super) fn metrics_file(&mut self, raw: &Spanned<String>) -> Option<PathBuf> {
        let vars = Layered {
            top: &[],
            base: self.env,
        };
        match self.absolute(&raw.value, &vars, "metrics_file") {
            Ok(p) => Some(p),
            Err(m) => {
                self.error(&raw.referenced, m);
                None
            }
        }
    }

    /// `p`, the value of `key`, expanded (`~`, `${VAR}`); the error for
    /// `key` unless it is absolute.
    pub(super) fn absolute(&self, p: &str, vars: &Layered, key: &str) -> Result<PathBuf, String> {
        let expanded = if p == "~" {
            Ok(self.env.home().to_owned())
        } else {
            exec::expand_word(p, vars)
        };
        match expanded {
            Ok(x) if Path::new(&x).is_absolute() => Ok(PathBuf::from(x)),
            Ok(x) => Err(format!(
                "{key} {x:?} is relative; write an absolute path or one starting with ~/"
            )),
            Err(m) => Err(format!("{key}: {m}")),
        }
    }
}

/// A path of `after` edges from `from` to `to` (the nodes after `from`),
/// if there is one.
fn path_between<'a>(
    edges: &HashMap<&'a str, Vec<(&'a str, Location)>>,
    from: &'a str,
    to: &'a str,
) -> Option<Vec<&'a str>> {
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![(from, vec![from])];
    while let Some((n, path)) = stack.pop() {
        if n == to {
            return Some(path);
        }
        if !seen.insert(n) {
            continue;
        }
        for (next, _) in edges.get(n).into_iter().flatten() {
            let mut p = path.clone();
            p.push(next);
            stack.push((next, p));
        }
    }
    None
}
