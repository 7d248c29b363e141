//! Due runs held back: by `wait_for` (state `waiting`) or by
//! `max_concurrent` (state `queued`). The gate ([`super::World::gate`]) decides;
//! a held run asks again on [`super::Event::Recheck`], gives up at `max_wait`.

use super::{Gate, Held, Hold, Lifecycle, Notice, Phase, Start, Step};

impl Lifecycle {
    /// Holds a due run until the gate opens.
    pub(super) fn hold(&mut self, start: Start, gate: Gate, s: &mut Step<'_>) {
        let why = match gate {
            Gate::Open => return self.launch(start, s),
            Gate::Wait(reason) => {
                s.notice(Notice::Deferred {
                    reason: reason.clone(),
                });
                Hold::Waiting(reason)
            }
            Gate::Queue(limit) => {
                s.notice(Notice::Queued { limit });
                Hold::Queued
            }
        };
        self.phase = Phase::Held(Box::new(Held {
            start,
            due: s.now.mono,
            until: self.def.max_wait.map(|d| s.now.mono + d),
            why,
        }));
    }

    /// A held run asks the gate again.
    pub(super) fn recheck(&mut self, s: &mut Step<'_>) {
        let Phase::Held(h) = &mut self.phase else {
            return;
        };
        let queued = h.why == Hold::Queued;
        match s.world.gate(&self.def, true) {
            Gate::Open => {
                if let Phase::Held(h) = std::mem::replace(&mut self.phase, Phase::Rest) {
                    self.launch(h.start, s);
                }
            }
            Gate::Wait(reason) => {
                if queued {
                    // It was only queued; a condition has changed since.
                    s.notice(Notice::Deferred {
                        reason: reason.clone(),
                    });
                }
                h.why = Hold::Waiting(reason);
            }
            Gate::Queue(limit) => {
                if !queued {
                    s.notice(Notice::Queued { limit });
                }
                h.why = Hold::Queued;
            }
        }
    }

    /// A held run waited in vain: its elapse is skipped.
    pub(super) fn give_up(&mut self, s: &mut Step<'_>) {
        if let Phase::Held(h) = std::mem::replace(&mut self.phase, Phase::Rest) {
            let reason = match h.why {
                Hold::Waiting(r) => Some(r),
                Hold::Queued => None,
            };
            let waited = s.now.mono.saturating_sub(h.due);
            s.notice(Notice::GaveUp { waited, reason });
        }
    }
}
