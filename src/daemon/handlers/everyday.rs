//! The everyday requests: `disable`/`enable` (a switch kept in the state
//! directory), the environment every run gets (`set-environment` and
//! friends, kept in memory as systemd keeps its manager's), `next` (the
//! agenda across jobs) and `metrics`.

use std::collections::HashMap;

use super::super::{Daemon, JobId, metrics, setup::which_cached};
use crate::calendar::ZoneSource as _;
use crate::calendar::timestamp;
use crate::config::envfile::is_var_name;
use crate::ipc::{EnvironmentInfo, ErrorCode, NextElapse, Reply};
use crate::lifecycle::Event;
use crate::schedule;
use crate::state::switches;
use crate::tzdb::now_usec;

impl Daemon {
    /// `disable` (`on` false) or `enable`: saved first, so what the
    /// reply says is what the next daemon will do.
    pub(super) fn switch(&mut self, id: JobId, on: bool) -> Reply {
        let name = self.jobs[&id].life.name().to_owned();
        let mut next = self.switches.clone();
        if on {
            next.remove(&name);
        } else {
            next.insert(name.clone());
        }
        if let Err(e) = switches::save(&self.opts.state_dir, &next) {
            return Reply::err(
                ErrorCode::Failed,
                format!(
                    "cannot save the switch in {}: {e}",
                    self.opts.state_dir.display()
                ),
            );
        }
        self.switches = next;
        self.step(id, if on { Event::Enable } else { Event::Disable });
        crate::log_info!("{name}: {}", if on { "enabled" } else { "disabled" });
        Reply::ok(self.list_one(id))
    }

    /// `set-environment`: names must be variable names.
    pub(super) fn set_environment(&mut self, vars: Vec<(String, String)>) -> Reply {
        if let Some((k, _)) = vars
            .iter()
            .find(|(k, v)| !is_var_name(k) || v.contains('\0'))
        {
            return Reply::err(
                ErrorCode::BadRequest,
                format!("{k:?} is not a variable name (letters, digits, `_`, not first a digit)"),
            );
        }
        for (k, v) in vars {
            self.manager_env.retain(|(o, _)| *o != k);
            self.manager_env.push((k, v));
        }
        self.resolve_programs();
        Reply::ok(self.environment())
    }

    pub(super) fn unset_environment(&mut self, names: &[String]) -> Reply {
        self.manager_env.retain(|(k, _)| !names.contains(k));
        self.resolve_programs();
        Reply::ok(self.environment())
    }

    /// What every run gets before its own `environment`.
    pub(super) fn environment(&self) -> EnvironmentInfo {
        let mut vars: HashMap<String, String> = std::env::vars()
            .filter(|(k, _)| !crate::supervise::hygiene::MANAGER_ENV.contains(&k.as_str()))
            .collect();
        vars.extend(self.manager_env.iter().cloned());
        let mut vars: Vec<(String, String)> = vars.into_iter().collect();
        vars.sort();
        let mut set: Vec<String> = self.manager_env.iter().map(|(k, _)| k.clone()).collect();
        set.sort();
        EnvironmentInfo { vars, set }
    }

    /// Commands are looked up again in the `PATH` runs now get.
    pub(in super::super) fn resolve_programs(&mut self) {
        let path = self.manager_path();
        let mut cache = HashMap::new();
        for slot in self.jobs.values_mut() {
            slot.program = which_cached(&mut cache, slot.life.def(), path.as_deref());
        }
    }

    /// The `PATH` set with `set-environment`, if any.
    pub(in super::super) fn manager_path(&self) -> Option<String> {
        self.manager_env
            .iter()
            .rev()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.clone())
    }

    /// `next`: every scheduled job's coming elapses (or those of `names`),
    /// merged in time order.
    pub(super) fn next(&mut self, names: &[String], n: usize, until: Option<i64>) -> Reply {
        for name in names {
            if let Err(reply) = self.job_id(name) {
                return reply;
            }
        }
        let now = now_usec();
        let elapsed = self.started.elapsed();
        let mut all: Vec<(i64, String, String)> = Vec::new();
        let config = std::sync::Arc::clone(&self.config);
        for def in config
            .jobs
            .iter()
            .filter(|j| names.is_empty() || names.contains(&j.name))
        {
            let Some(life) = self
                .names
                .get(&def.name)
                .and_then(|id| self.jobs.get(id))
                .map(|s| &s.life)
            else {
                continue;
            };
            if life.wall_deadline().is_none() && life.mono_trigger().is_none() {
                continue; // disabled, stopped, or nothing scheduled
            }
            for (t, text) in
                schedule::upcoming(def, now, until, n, self.zones.local(), &mut self.mktime)
            {
                all.push((t, def.name.clone(), text));
            }
            // Relative triggers: the pending one, then `on_active` apart.
            if let Some(at) = life.mono_trigger() {
                let usec =
                    |d: std::time::Duration| i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
                let mut t = now.saturating_add(usec(at.saturating_sub(elapsed)));
                let step = def.on_active.map(usec).filter(|s| *s > 0);
                let label = def
                    .schedule_texts()
                    .into_iter()
                    .find(|s| s.starts_with("on_active") || s.starts_with("on_startup"))
                    .unwrap_or_default();
                for _ in 0..n {
                    if until.is_some_and(|u| t > u) {
                        break;
                    }
                    all.push((t, def.name.clone(), label.clone()));
                    let Some(step) = step else { break };
                    t = t.saturating_add(step);
                }
            }
        }
        all.sort();
        all.truncate(n);
        let zone = self.zones.local();
        let out: Vec<NextElapse> = all
            .into_iter()
            .map(|(t, job, schedule)| NextElapse {
                job,
                time: timestamp::format_rfc3339(t, zone),
                schedule,
                usec: Some(t),
            })
            .collect();
        Reply::ok(out)
    }

    /// `metrics`: Prometheus text.
    pub(super) fn metrics(&self) -> Reply {
        Reply::ok(metrics::render(self))
    }
}
