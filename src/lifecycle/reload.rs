//! A job's definition coming and going: loaded with the daemon, added,
//! changed or removed by a reload.

use std::sync::Arc;

use super::active::Then;
use super::policy::{Cause, Tracker};
use super::{Action, Lifecycle, Notice, Phase, Start, Step};
use crate::config::{Job, JobType};
use crate::run::Trigger;

impl Lifecycle {
    pub(super) fn load(&mut self, missed: bool, s: &mut Step<'_>) {
        self.plan(s.now.wall_usec, s);
        if !self.enabled() {
            return;
        }
        if let Some(d) = self.def.on_startup {
            // Counted from the daemon's start, which is `Mono::ZERO`.
            self.mono = Some((d, Trigger::Startup));
        }
        if missed {
            s.notice(Notice::CatchUp);
            self.start(Start::on(Trigger::Persistent), s);
        } else if self.def.kind == JobType::Simple {
            self.start(Start::on(Trigger::Startup), s);
        }
    }

    pub(super) fn added(&mut self, s: &mut Step<'_>) {
        self.plan(s.now.wall_usec, s);
        if !self.enabled() {
            return;
        }
        if let Some(d) = self.def.on_startup {
            // The daemon started long ago: count from now.
            self.mono = Some((s.now.mono + d, Trigger::Startup));
        }
        if self.def.kind == JobType::Simple {
            self.start(Start::on(Trigger::Reload), s);
        }
    }

    /// A new definition is a new unit: its restart count and start limit
    /// start over. A running daemon restarts with it; a running oneshot
    /// finishes as it began; a pending restart gives way to the new
    /// definition's start (never both).
    pub(super) fn changed(&mut self, def: Arc<Job>, s: &mut Step<'_>) {
        self.def = def;
        self.tracker = Tracker::default();
        self.mono = None;
        self.plan(s.now.wall_usec, s);
        if let (Some(d), true) = (self.def.on_active, self.enabled() && !self.stopped) {
            self.mono = Some((s.now.mono + d, Trigger::Active));
        }
        if self.def.kind != JobType::Simple {
            return;
        }
        match &mut self.phase {
            Phase::Running(run) if !run.stop_requested => {
                run.then = Then::Start(Trigger::Reload, Cause::Other);
                self.signal_stop(s);
            }
            Phase::Running(_) => {}
            Phase::Rest | Phase::Restarting { .. } | Phase::Held(_) => {
                if self.enabled() && !self.stopped {
                    self.start(Start::on(Trigger::Reload), s);
                }
            }
        }
    }

    pub(super) fn remove(&mut self, s: &mut Step<'_>) {
        self.removed = true;
        self.unschedule();
        if self.run().is_some() {
            self.signal_stop(s);
        } else {
            s.push(Action::Forget);
        }
    }
}
