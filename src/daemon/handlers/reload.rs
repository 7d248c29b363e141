//! `reload` and SIGHUP: re-read the config; every job added, changed or
//! removed gets that lifecycle event. A refused file changes nothing.

use std::collections::HashMap;
use std::sync::Arc;

use super::super::Daemon;
use super::super::notify::{notify, notify_reloading};
use super::super::setup::which_cached;
use crate::config::{self, Env, Job};
use crate::ipc::ReloadReport;
use crate::lifecycle::Event;

impl Daemon {
    /// Re-reads the config. Refused: the old one stays, and why comes back.
    pub(in super::super) fn reload(&mut self) -> Result<ReloadReport, String> {
        notify_reloading();
        let loaded = config::load(&self.opts.config, &self.zones, &Env::from_process());
        let config = match loaded {
            Ok(c) => Arc::new(c),
            Err(e) => {
                notify("READY=1\n");
                return Err(e.to_string());
            }
        };
        self.configure_watch_for(&config);
        let mut report = ReloadReport::default();
        let new: HashMap<&str, &Arc<Job>> =
            config.jobs.iter().map(|j| (j.name.as_str(), j)).collect();
        let mut removed: Vec<_> = self
            .names
            .iter()
            .filter(|(name, _)| !new.contains_key(name.as_str()))
            .map(|(name, id)| (name.clone(), *id))
            .collect();
        removed.sort_by_key(|(_, id)| *id);
        for (name, id) in removed {
            report.removed.push(name.clone());
            self.names.remove(&name);
            self.step(id, Event::Removed);
        }
        // Commands are looked up in PATH again, as at start-up: a binary
        // installed since is found after a reload.
        let mut paths = HashMap::new();
        let manager_path = self.manager_path();
        for slot in self.jobs.values_mut() {
            let def = new
                .get(slot.life.name())
                .copied()
                .unwrap_or(slot.life.def());
            slot.program = which_cached(&mut paths, def, manager_path.as_deref());
        }
        // Every added job is there before any event: a start may chain to
        // a job added later in the file.
        let mut events = Vec::new();
        for job in &config.jobs {
            match self.names.get(&job.name).copied() {
                None => {
                    report.added.push(job.name.clone());
                    let program = which_cached(&mut paths, job, manager_path.as_deref());
                    let id = self.add_job(Arc::clone(job), program);
                    events.push((id, Event::Added));
                }
                Some(id) if self.jobs.get(&id).is_some_and(|s| **s.life.def() != **job) => {
                    report.changed.push(job.name.clone());
                    events.push((id, Event::Changed(Arc::clone(job))));
                }
                Some(_) => {}
            }
        }
        for (id, event) in events {
            self.step(id, event);
        }
        let touched: Vec<&Job> = config
            .jobs
            .iter()
            .filter(|j| report.added.contains(&j.name) || report.changed.contains(&j.name))
            .map(|j| &**j)
            .collect();
        self.warn_controls(touched);
        self.config = config;
        // The parser's code and heap are not needed until the next reload.
        crate::supervise::memory::shed_at_next_park();
        notify("READY=1\n");
        Ok(report)
    }
}
