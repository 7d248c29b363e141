//! What a job's lifecycle asks of the outside world, answered for real:
//! the schedule's next elapse with a random delay drawn for it, and fresh
//! invocation ids (`getrandom`).

use crate::calendar::{MktimeState, ZoneSource as _};
use crate::conditions::Facts;
use crate::config::{Job, JobType};
use crate::lifecycle::{Elapse, Gate, World};
use crate::schedule;
use crate::tzdb::{SystemZones, now_usec};

/// What the lifecycle asks of the outside world: the schedule's next
/// elapse, fresh invocation ids, and whether a due run may start.
pub struct Planner<'a> {
    pub zones: &'a SystemZones,
    pub mktime: &'a mut MktimeState,
    pub facts: &'a Facts,
    pub slots: Slots,
    /// Jobs running or queued (`after` waits for them).
    pub busy: &'a std::collections::HashSet<String>,
}

/// `max_concurrent` and what takes its slots now.
#[derive(Clone, Copy, Debug, Default)]
pub struct Slots {
    pub max: Option<u32>,
    /// Oneshot runs going.
    pub running: u32,
    /// Due runs queued.
    pub queued: u32,
}

impl World for Planner<'_> {
    fn next_elapse(&mut self, job: &Job, after_usec: i64) -> Option<Elapse> {
        let (usec, trigger) =
            schedule::next_elapse(job, after_usec, self.zones.local(), self.mktime)?;
        let delay = schedule::randomized_delay_usec(job.randomized_delay, random_u64());
        Some(Elapse {
            usec,
            fire_usec: usec.saturating_add(delay),
            trigger,
        })
    }

    fn invocation(&mut self) -> String {
        invocation_id()
    }

    fn gate(&mut self, job: &Job, in_turn: bool) -> Gate {
        if let Some(reason) = self.facts.first_false(&job.wait_for) {
            return Gate::Wait(reason);
        }
        if let Some(other) = job.after.iter().find(|a| self.busy.contains(*a)) {
            return Gate::Wait(format!("after {other}"));
        }
        let s = self.slots;
        match s.max {
            // A run newly due queues behind those queued before it.
            Some(max)
                if job.kind == JobType::Oneshot
                    && (s.running >= max || (!in_turn && s.queued > 0)) =>
            {
                Gate::Queue(max)
            }
            _ => Gate::Open,
        }
    }
}

fn invocation_id() -> String {
    let mut b = [0u8; 16];
    if rustix::rand::getrandom(&mut b, rustix::rand::GetRandomFlags::empty()).is_err() {
        // getrandom(2) does not fail once the pool is initialised; fall
        // back to time and pid rather than stopping a job.
        let t = now_usec().to_le_bytes();
        b[..8].copy_from_slice(&t);
        b[8..12].copy_from_slice(&std::process::id().to_le_bytes());
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    let _ = rustix::rand::getrandom(&mut b, rustix::rand::GetRandomFlags::empty());
    u64::from_le_bytes(b)
}
