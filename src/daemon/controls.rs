//! Resource controls and inhibitors as the daemon applies them: which of
//! a job's controls its runs get (and why not the others), the start-up
//! warning for those they don't, and the logind inhibitor a run holds.
//!
//! The inhibitor is `systemd-inhibit --mode=block … sleep infinity`, a
//! helper process held for the run's length: logind keeps a "block"
//! lock for as long as the helper's descriptor is open, and releases it
//! when the helper dies, whatever kills it — jobd included. It costs a
//! process per inhibiting run instead of a D-Bus client in the daemon
//! (whose code would be resident in every idle jobd).

use std::os::unix::process::CommandExt as _;
use std::process::{Command, Stdio};

use super::{Daemon, JobId};
use crate::config::Job;
use crate::supervise::scope::Containment;

/// A run's inhibitor helper.
pub(super) struct Inhibitor {
    pub(super) job: JobId,
    /// Its stderr, read if it dies while the run goes (logind's refusal).
    stderr: Option<std::process::ChildStderr>,
}

/// Each control `job` sets, as written, with why its runs do not get it
/// (`None`: they do).
/// `refused`: what systemd-inhibit said when it last failed.
pub(super) fn controls(
    job: &Job,
    containment: &Containment,
    refused: Option<&str>,
) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    if let Some(n) = job.nice {
        out.push((format!("nice: {n}"), None));
    }
    if let Some(io) = job.io {
        out.push((format!("io: {}", io_text(io)), None));
    }
    for l in job.limits.files() {
        out.push((
            format!("{}: {}", l.key, l.shown),
            containment.lacks(l.controller),
        ));
    }
    if !job.inhibit.is_empty() {
        let what: Vec<&str> = job.inhibit.iter().map(|i| i.as_str()).collect();
        let why_not = match (find_inhibit(), refused) {
            (None, _) => Some("no systemd-inhibit in PATH (it comes with systemd)".to_owned()),
            (Some(_), Some(r)) => Some(format!("the last run's systemd-inhibit said: {r}")),
            (Some(_), None) => None,
        };
        out.push((format!("inhibit: {}", what.join(", ")), why_not));
    }
    out
}

fn io_text(io: crate::config::IoPriority) -> String {
    use crate::config::IoPriority::{BestEffort, Idle, Realtime};
    match io {
        Realtime(l) => format!("realtime {l}"),
        BestEffort(l) => format!("best-effort {l}"),
        Idle => "idle".to_owned(),
    }
}

fn find_inhibit() -> Option<std::path::PathBuf> {
    crate::supervise::helper("systemd-inhibit")
}

impl Daemon {
    /// One warning per job whose controls its runs will not get.
    pub(super) fn warn_controls<'a>(&self, jobs: impl IntoIterator<Item = &'a Job>) {
        for job in jobs {
            let missing: Vec<String> = controls(job, &self.containment, None)
                .into_iter()
                .filter_map(|(c, why)| why.map(|w| format!("{c} ({w})")))
                .collect();
            if !missing.is_empty() {
                crate::log_warn!(
                    "{}: runs without {}; the job runs all the same",
                    job.name,
                    missing.join(", ")
                );
            }
        }
    }

    /// Starts the inhibitor helper of a run of job `id`, if it asks for one.
    pub(super) fn hold_inhibitor(&mut self, id: JobId, job: &Job) {
        if job.inhibit.is_empty() {
            return;
        }
        let Some(program) = find_inhibit() else {
            return; // said at start-up and in `status`
        };
        let what: Vec<&str> = job.inhibit.iter().map(|i| i.as_str()).collect();
        let spawned = Command::new(program)
            .arg(format!("--what={}", what.join(":")))
            .arg("--who=jobd")
            .arg(format!("--why={} is running", job.name))
            .arg("--mode=block")
            .args(["sleep", "infinity"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn();
        match spawned {
            Ok(mut child) => {
                if let Some(slot) = self.jobs.get_mut(&id) {
                    slot.inhibit_refused = None;
                }
                let stderr = child.stderr.take();
                if let Some(e) = &stderr {
                    let _ = rustix::io::ioctl_fionbio(e, true);
                }
                // The reaper collects it (`supervise::reap`), not `child`.
                self.helpers
                    .insert(child.id(), Inhibitor { job: id, stderr });
            }
            Err(e) => crate::log_warn!(
                "{}: cannot start systemd-inhibit ({e}); the run goes on without an inhibitor",
                job.name
            ),
        }
    }

    /// The run of job `id` is over: its inhibitor goes.
    pub(super) fn release_inhibitor(&mut self, id: JobId) {
        for (&pid, _) in self.helpers.iter().filter(|(_, h)| h.job == id) {
            // The helper is an unreaped child of the daemon, so its pid
            // (and group, which it leads) is still its own.
            let _ = crate::supervise::scope::signal_group(pid, 15);
        }
    }

    /// A helper ended: if its run still goes, logind refused or dropped
    /// the inhibitor; say so with its words.
    pub(super) fn helper_exited(&mut self, pid: u32, exit: crate::run::Exit) {
        let Some(mut h) = self.helpers.remove(&pid) else {
            return;
        };
        let Some(slot) = self.jobs.get_mut(&h.job) else {
            return;
        };
        if slot.io.is_none() {
            return; // released with its run
        }
        let mut said = String::new();
        if let Some(e) = h.stderr.as_mut() {
            let _ = std::io::Read::read_to_string(e, &mut said);
        }
        let said = said.lines().next().unwrap_or("").trim().to_owned();
        slot.inhibit_refused = Some(if said.is_empty() {
            format!("it ended ({})", crate::run::ExitStatus::from(exit))
        } else {
            said.clone()
        });
        crate::log_warn!(
            "{}: no inhibitor for this run: systemd-inhibit ended ({}){}; the run goes on",
            slot.life.name(),
            crate::run::ExitStatus::from(exit),
            if said.is_empty() {
                String::new()
            } else {
                format!(": {said}")
            }
        );
    }
}
