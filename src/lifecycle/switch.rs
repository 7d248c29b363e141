//! `jobd disable`/`enable`: a switch over the file's `enabled`. Disabled,
//! a job has no schedule, no pending restart and no held run, and is not
//! restarted; a run in progress goes on; manual starts still work.

use super::{Lifecycle, Phase, Start, Step};
use crate::config::JobType;
use crate::run::Trigger;

impl Lifecycle {
    /// Whether the job starts on its own: the file's `enabled`, unless
    /// switched off.
    pub fn enabled(&self) -> bool {
        self.def.enabled && !self.switched_off
    }

    /// Switched off by `jobd disable`.
    pub fn switched_off(&self) -> bool {
        self.switched_off
    }

    /// Switched off before the job is loaded (the switch outlives the
    /// daemon).
    pub fn switch_off(&mut self) {
        self.switched_off = true;
    }

    pub(super) fn disable(&mut self) {
        self.switched_off = true;
        self.unschedule();
    }

    /// Back to the file's `enabled`: planned again, and a daemon (simple
    /// job) that is not running starts, as it would with the daemon.
    pub(super) fn enable(&mut self, s: &mut Step<'_>) {
        if !self.switched_off {
            return;
        }
        self.switched_off = false;
        self.plan(s.now.wall_usec, s);
        if !self.enabled() || self.stopped {
            return;
        }
        if let Some(d) = self.def.on_active {
            self.mono = Some((s.now.mono + d, Trigger::Active));
        }
        if self.def.kind == JobType::Simple && matches!(self.phase, Phase::Rest) {
            self.start(Start::on(Trigger::Startup), s);
        }
    }
}
