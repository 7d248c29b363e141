//! Requests that only read: `list`, `status`, `history`, `log-source`.
//! What they show is what the lifecycle says; times relative to the
//! monotonic clock become wall times here.

use super::super::{Daemon, JobId};
use crate::calendar::ZoneSource as _;
use crate::calendar::timestamp;
use crate::ipc::{
    ConditionInfo, ControlInfo, JobInfo, LogKind, LogSource, ProcessInfo, StatusInfo,
};
use crate::journal;
use crate::lifecycle::{Hold, Mono};
use crate::state::Run;
use crate::supervise;
use crate::tzdb::now_usec;

impl Daemon {
    /// Every job of the running config, in file order.
    pub(in super::super) fn list(&self) -> Vec<JobInfo> {
        let now = now_usec();
        self.config
            .jobs
            .iter()
            .filter_map(|j| self.names.get(&j.name))
            .map(|&id| self.info(id, now))
            .collect()
    }

    /// One job as `list` shows it.
    pub(super) fn list_one(&self, id: JobId) -> JobInfo {
        self.info(id, now_usec())
    }

    /// A monotonic deadline as wall time, counted from `now_usec`.
    fn wall_of(&self, at: Mono, now_usec: i64) -> i64 {
        let usec = |d: Mono| i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
        let elapsed = self.started.elapsed();
        if at >= elapsed {
            now_usec.saturating_add(usec(at - elapsed))
        } else {
            now_usec.saturating_sub(usec(elapsed - at))
        }
    }

    fn info(&self, id: JobId, now: i64) -> JobInfo {
        let life = &self.jobs[&id].life;
        let def = life.def();
        let zone = self.zones.local();
        let mono_next = life.mono_trigger().map(|t| self.wall_of(t, now));
        let next_usec = [life.wall_deadline(), mono_next]
            .into_iter()
            .flatten()
            .min();
        let last = self.store.last(&def.name);
        let ended = self.store.last_ended(&def.name);
        let rfc3339 = |t: i64| timestamp::format_rfc3339(t, zone);
        JobInfo {
            name: def.name.clone(),
            kind: def.kind,
            state: life.state(),
            state_reason: life.held().and_then(|h| match &h.why {
                Hold::Waiting(r) => Some(r.clone()),
                Hold::Queued => None,
            }),
            enabled: life.enabled(),
            schedule: def.schedule_texts(),
            next_run: next_usec.map(rfc3339),
            last_start: last.map(|r| rfc3339(r.start_usec)),
            last_exit: ended.and_then(|r| r.end_usec).map(rfc3339),
            last_result: ended.and_then(|r| r.result),
            exit_status: ended.and_then(|r| r.exit_status.clone()),
            pid: life.run().and_then(|r| r.main_pid()),
            restarts: life.restarts(),
            next_usec,
            result_start_usec: ended.map(|r| r.start_usec),
        }
    }

    pub(super) fn status(&self, id: JobId) -> StatusInfo {
        let now = now_usec();
        let slot = &self.jobs[&id];
        let life = &slot.life;
        let known = super::super::pump::known(&self.pids, &self.helpers);
        let tree = slot.io.as_ref().map(|io| {
            let t = supervise::tree(&io.scope.pids(&known));
            let memory = io.scope.memory_bytes(&t.procs);
            let cpu = io.scope.cpu_usec(&t.procs);
            (t, memory, cpu)
        });
        let run = life.run();
        StatusInfo {
            job: self.info(id, now),
            description: life.def().description.clone(),
            config: self.config.path.display().to_string(),
            exec: life.def().argv.clone(),
            last_run: self.store.last_ended(life.name()).cloned(),
            invocation: run.map(|r| r.invocation.clone()),
            processes: tree
                .as_ref()
                .map(|(t, _, _)| {
                    t.processes
                        .iter()
                        .map(|(pid, depth, cmdline)| ProcessInfo {
                            pid: *pid,
                            depth: *depth,
                            cmdline: cmdline.clone(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            memory_bytes: tree.as_ref().map(|t| t.1),
            cpu_usec: tree.as_ref().map(|t| t.2),
            containment: self.containment.as_str().to_owned(),
            cgroup: slot
                .io
                .as_ref()
                .and_then(|io| io.scope.cgroup.as_ref())
                .map(|c| c.display().to_string()),
            restart_usec: life.restart_at().map(|t| self.wall_of(t, now)),
            start_limit_hit: life.start_limit_hit(),
            logs: self.log.describe(),
            log_to_file: slot.to_file.load(std::sync::atomic::Ordering::Relaxed),
            now_usec: now,
            run_start_usec: run.map(|r| r.start_usec),
            run_trigger: run.map(|r| r.trigger),
            log: slot
                .tail
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
                .cloned()
                .collect(),
            conditions: self.conditions(life.def()),
            controls: self.controls(slot),
            held_since_usec: life.held().map(|h| self.wall_of(h.due, now)),
            environment: life.def().environment.clone(),
            environment_files: life
                .def()
                .environment_files
                .iter()
                .map(|f| format!("{}{}", if f.optional { "-" } else { "" }, f.path.display()))
                .collect(),
            on_failure: life.def().on_failure.clone(),
            on_success: life.def().on_success.clone(),
            after: life.def().after.clone(),
        }
    }

    /// Each `wait_for` condition and whether it holds now.
    fn conditions(&self, def: &crate::config::Job) -> Vec<ConditionInfo> {
        def.wait_for
            .iter()
            .map(|c| ConditionInfo {
                condition: c.to_string(),
                holds: self.watch.facts.why_not(c).is_none(),
            })
            .collect()
    }

    /// Each resource control and whether runs get it.
    fn controls(&self, slot: &super::super::Slot) -> Vec<ControlInfo> {
        super::super::controls::controls(
            slot.life.def(),
            &self.containment,
            slot.inhibit_refused.as_deref(),
        )
        .into_iter()
        .map(|(control, why_not)| ControlInfo {
            control,
            applied: why_not.is_none(),
            why_not,
        })
        .collect()
    }

    /// The job's last `n` runs, newest first.
    pub(super) fn history(&self, name: &str, n: usize) -> Vec<Run> {
        self.store.runs(name).rev().take(n).cloned().collect()
    }

    pub(super) fn log_source(&self, id: JobId) -> LogSource {
        let life = &self.jobs[&id].life;
        let name = life.name();
        // With a journal, the file holds the lines journald would not take.
        let kind = match &self.log.sink {
            journal::Sink::Journal(_) => LogKind::Journal,
            journal::Sink::Files(_) => LogKind::Files,
        };
        let dir = &self.log.files.dir;
        let files = journal::files::files_of(dir, name)
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let current_file = Some(journal::files::current(dir, name).display().to_string());
        LogSource {
            kind,
            namespace: self.log.namespace.clone(),
            files,
            current_file,
            last_invocation: life
                .run()
                .map(|r| r.invocation.clone())
                .or_else(|| self.store.last(name).map(|r| r.invocation.clone())),
        }
    }
}
