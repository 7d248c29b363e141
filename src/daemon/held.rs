//! Runs held back (`wait_for`, `max_concurrent`) and what lets them go:
//! the kernel's news about conditions, and `max_concurrent` slots coming
//! free. Whether a held run may go is its lifecycle's question to the
//! gate ([`super::world`]); this module keeps the gate's figures and asks
//! the held runs again, first due first.

use super::{Daemon, JobId};
use crate::conditions::Wanted;
use crate::config::Config;
use crate::lifecycle::{Event, JobState, Lifecycle};

/// What a job counts for in the gate's figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Load {
    /// A oneshot run going: it takes a `max_concurrent` slot.
    slot: u32,
    /// A due run queued.
    queued: u32,
    /// Running or queued: jobs `after` it wait.
    busy: bool,
}

pub(super) fn load(life: &Lifecycle) -> Load {
    let queued = life.state() == JobState::Queued;
    Load {
        slot: u32::from(life.takes_slot()),
        queued: u32::from(queued),
        busy: life.run().is_some() || queued,
    }
}

impl Daemon {
    /// Keeps the gate's figures in step with one job's step.
    pub(super) fn account(&mut self, name: &str, before: Load, after: Load) {
        let s = &mut self.slots;
        s.running = (s.running + after.slot).saturating_sub(before.slot);
        s.queued = (s.queued + after.queued).saturating_sub(before.queued);
        if after.slot < before.slot && s.queued > 0 {
            self.recheck = true;
        }
        if before.busy != after.busy {
            if after.busy {
                self.busy.insert(name.to_owned());
            } else {
                self.busy.remove(name);
                // A job `after` it may go now.
                self.recheck = true;
            }
        }
    }

    /// Opens the event sources the config's conditions need.
    pub(super) fn configure_watch(&mut self) {
        let config = std::sync::Arc::clone(&self.config);
        self.configure_watch_for(&config);
    }

    pub(super) fn configure_watch_for(&mut self, config: &Config) {
        let wanted = Wanted::of(config.jobs.iter().flat_map(|j| &j.wait_for));
        for w in self.watch.configure(wanted) {
            crate::log_warn!("{w}");
        }
        self.slots.max = config.max_concurrent;
        self.recheck = true;
    }

    /// The kernel said a condition may have changed.
    pub(super) fn on_conditions(&mut self) {
        self.watch.refresh();
        self.recheck = true;
    }

    /// Asks every held run again, first due first, until nothing more
    /// comes free.
    pub(super) fn recheck_held(&mut self) {
        // Each round starts at least one run or frees nothing: a bound
        // for the odd chain of starts that fail at once.
        for _ in 0..=self.jobs.len() {
            if !std::mem::take(&mut self.recheck) {
                return;
            }
            let mut held: Vec<(std::time::Duration, JobId)> = self
                .jobs
                .iter()
                .filter_map(|(id, s)| s.life.held().map(|h| (h.due, *id)))
                .collect();
            held.sort();
            for (_, id) in held {
                self.step(id, Event::Recheck);
            }
        }
    }
}
