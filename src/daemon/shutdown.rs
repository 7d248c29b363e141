//! Shutdown (SIGTERM/SIGINT): every job stopped as `stop` would, every
//! child reaped, state and the last lines delivered.

use std::time::{Duration, Instant};

use super::Daemon;
use super::signals::Signals;
use crate::lifecycle::Event;
use crate::supervise;

impl Daemon {
    /// SIGTERM/SIGINT: stop every job (stop signal, then SIGKILL after its
    /// stop_timeout), wait for them, flush state.
    pub(super) async fn shut_down(&mut self, signals: &mut Signals) {
        let start = Instant::now();
        let running = self.ids_where(|l| l.run().is_some());
        let longest = running
            .iter()
            .filter_map(|id| self.jobs.get(id))
            .map(|s| s.life.def().stop_timeout)
            .max()
            .unwrap_or_default();
        for id in self.ids_where(|_| true) {
            self.step(id, Event::Shutdown);
        }
        crate::log_info!("stopping {} running job(s)", running.len());
        let deadline = start + longest;
        while self.jobs.values().any(|s| s.life.run().is_some()) {
            let next = self
                .mono_deadline()
                .unwrap_or(deadline + Duration::from_secs(1));
            tokio::select! {
                _ = signals.recv() => self.reap(),
                () = tokio::time::sleep_until(next.into()) => self.on_mono(),
            }
            if Instant::now() > deadline + Duration::from_secs(5) {
                crate::log_error!("jobs did not end after SIGKILL; exiting anyway");
                break;
            }
        }
        for io in self.jobs.values().filter_map(|s| s.io.as_ref()) {
            io.scope.kill(&|_| false);
        }
        // SIGKILL is not instant: wait (briefly) for what it hit to be
        // reaped, so the daemon leaves no zombie behind.
        let until = Instant::now() + Duration::from_secs(2);
        loop {
            self.reap();
            // Every child left is an orphan of some run, maybe one that was
            // exiting when its run was looked at: none outlives the daemon.
            let left = supervise::kill_children().map_or(true, |n| n > 0)
                || self.jobs.values().any(|s| s.life.run().is_some());
            if !left || Instant::now() > until {
                break;
            }
            // A child that died since the reap above has its SIGCHLD pending.
            tokio::select! {
                _ = signals.recv() => {}
                () = tokio::time::sleep_until(until.into()) => {}
            }
        }
        if let Err(e) = self.store.sync() {
            crate::log_error!("cannot flush the state store: {e}");
        }
        // The last lines of the runs, and their `finished`, come first.
        self.log.drained(Duration::from_secs(1)).await;
        crate::log_info!("jobd stopped");
        // The journal gets the daemon's last lines before the process goes.
        self.log.flush(Duration::from_secs(2)).await;
    }
}
