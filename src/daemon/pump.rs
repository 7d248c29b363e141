//! Carrying out what a job's lifecycle decided: each [`Action`] becomes
//! system calls, a history record, a journal entry or a reply. Nothing
//! here decides anything about a job; where an action has an outcome the
//! lifecycle must know (a spawn), it comes back as the next event.

use std::collections::VecDeque;
use std::sync::Arc;

use super::{Daemon, JobId, RunIo, notice};
use crate::ipc::{Answered, Reply};
use crate::journal;
use crate::lifecycle::{Action, Answer, Event, Notice};
use crate::supervise::{self, scope::Scope};

impl Daemon {
    pub(super) fn carry_out(
        &mut self,
        id: JobId,
        action: Action,
        queue: &mut VecDeque<(JobId, Event)>,
    ) {
        let Some(slot) = self.jobs.get_mut(&id) else {
            return;
        };
        let name = slot.life.name().to_owned();
        match action {
            Action::Spawn {
                invocation,
                trigger: _,
                env,
            } => {
                let outcome = self.spawn(id, &invocation, env);
                // Before anything else queued: the lifecycle is waiting
                // for it.
                queue.push_front((id, outcome));
            }
            Action::Signal(signo) => {
                if let Some(io) = &slot.io {
                    io.scope.signal(signo, &known(&self.pids, &self.helpers));
                }
            }
            Action::Kill => {
                if let Some(io) = &slot.io {
                    io.scope.kill(&known(&self.pids, &self.helpers));
                }
            }
            Action::RecordStart(run) => self.record(|s| s.started(&name, &run)),
            Action::RecordEnd(end) => self.record_end(&name, &end),
            Action::Notice(n) => {
                let event = notice::render(&name, &n, &self.zones);
                match (&n, &slot.io) {
                    // After the run's last output line.
                    (Notice::Finished { .. }, Some(io)) => io.output.after_output(event),
                    _ => self.log.emit(event),
                }
            }
            Action::Answer {
                client,
                answer,
                more,
            } => {
                // A run's end is told after its last output line is
                // delivered: `run-now --wait` then `logs` shows it all.
                let output = matches!(answer, Answer::Ended(_))
                    .then(|| match &slot.io {
                        Some(io) => Some(Arc::clone(&io.output)),
                        None => slot.last_output.upgrade(),
                    })
                    .flatten();
                let reply = Reply::ok(Answered { name, answer });
                let sender = if more {
                    self.clients.get(&client).cloned()
                } else {
                    self.clients.remove(&client)
                };
                if let Some(tx) = sender {
                    match output {
                        Some(o) => answer_after_output(&o, tx, reply),
                        None => {
                            let _ = tx.send(reply);
                        }
                    }
                }
            }
            Action::Chain { jobs, trigger, env } => {
                for other in &jobs {
                    if let Some(&j) = self.names.get(other) {
                        let by = name.clone();
                        let env = env.clone();
                        queue.push_back((j, Event::Chained { trigger, by, env }));
                    }
                }
            }
            Action::Release => {
                if let Some(io) = slot.io.take() {
                    slot.last_output = Arc::downgrade(&io.output);
                    io.scope.remove();
                }
                self.release_inhibitor(id);
            }
            Action::Forget => {
                self.jobs.remove(&id);
                if self.names.get(&name) == Some(&id) {
                    self.names.remove(&name);
                }
            }
        }
    }

    /// Starts a run's main process; the outcome is the lifecycle's next
    /// event.
    fn spawn(&mut self, id: JobId, invocation: &str, extra: Vec<(String, String)>) -> Event {
        let Some(slot) = self.jobs.get_mut(&id) else {
            return Event::SpawnFailed {
                reason: "the job is gone".into(),
            };
        };
        let def = Arc::clone(slot.life.def());
        let mut env = match env_files(&def) {
            Ok(vars) => vars,
            Err(reason) => return Event::SpawnFailed { reason },
        };
        env.push(("JOBD_JOB".to_owned(), def.name.clone()));
        env.push(("JOBD_INVOCATION".to_owned(), invocation.to_owned()));
        env.extend(extra);
        let spawned = self
            .containment
            .prepare(&def.name, invocation, &def.limits)
            .map_err(|e| format!("cannot create the job's cgroup: {e}"))
            .and_then(|(cgroup, warnings)| {
                for w in warnings {
                    crate::log_warn!("{}: {w}; the run goes on without it", def.name);
                }
                let manager = &self.manager_env;
                supervise::spawn(
                    &def,
                    slot.program.as_deref(),
                    manager,
                    &env,
                    cgroup.as_deref(),
                )
                .map(|sp| (sp, cgroup))
            });
        let (sp, cgroup) = match spawned {
            Ok(s) => s,
            Err(reason) => return Event::SpawnFailed { reason },
        };
        let output = self.log.run(
            &def.name,
            invocation,
            sp.pid,
            Arc::clone(&slot.tail),
            Arc::clone(&slot.to_file),
        );
        tokio::spawn(journal::forward(
            Arc::clone(&output),
            journal::Stream::Stdout,
            sp.stdout,
        ));
        tokio::spawn(journal::forward(
            Arc::clone(&output),
            journal::Stream::Stderr,
            sp.stderr,
        ));
        slot.io = Some(RunIo {
            scope: Scope::new(sp.pid, invocation, cgroup),
            output,
        });
        self.pids.insert(sp.pid, id);
        self.hold_inhibitor(id, &def);
        Event::Spawned { pid: sp.pid }
    }

    /// A run ended: recorded, and `metrics_file` due.
    fn record_end(&mut self, name: &str, end: &crate::state::End) {
        self.record(|s| s.ended(name, end));
        self.metrics_due = true;
    }

    fn record(&mut self, f: impl FnOnce(&mut crate::state::Store) -> std::io::Result<()>) {
        let r = f(&mut self.store);
        self.store_outcome(r);
    }

    /// Says once that the state store refuses writes, and once that it
    /// has taken everything it was holding.
    pub(super) fn store_outcome(&mut self, r: std::io::Result<()>) {
        match r {
            Err(e) if !self.store_failing => {
                self.store_failing = true;
                crate::log_error!(
                    "cannot record in the state store {}: {e}; runs are kept in memory \
                     and written as soon as it can take them (tried every second)",
                    self.opts.state_dir.display()
                );
            }
            Ok(()) if self.store_failing && self.store.unwritten() == 0 => {
                self.store_failing = false;
                crate::log_info!(
                    "the state store {} has taken every record it held",
                    self.opts.state_dir.display()
                );
            }
            _ => {}
        }
    }
}

/// Whether `pid` is a process the daemon started itself (a run's main
/// process, or a run's helper): never one a run's scope claims as left
/// over.
pub(super) fn known<'a, H>(
    pids: &'a std::collections::HashMap<u32, JobId>,
    helpers: &'a std::collections::HashMap<u32, H>,
) -> impl Fn(u32) -> bool + 'a {
    move |p| pids.contains_key(&p) || helpers.contains_key(&p)
}

/// The variables of a job's `environment_file`s, read now (at each
/// start, so a changed file counts from the next run; never kept).
fn env_files(def: &crate::config::Job) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for f in &def.environment_files {
        let text = match std::fs::read_to_string(&f.path) {
            Ok(t) => t,
            Err(e) if f.optional && e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(format!(
                    "environment_file {}: {e}; create it, or write -{} if it may be missing",
                    f.path.display(),
                    f.path.display()
                ));
            }
        };
        let (vars, bad) = crate::config::envfile::parse(&text);
        out.extend(vars);
        for (line, what) in bad {
            crate::log_warn!(
                "{}: environment_file {}:{line}: {what}; the line is left out (write KEY=VALUE)",
                def.name,
                f.path.display()
            );
        }
    }
    Ok(out)
}

/// How long a run's end waits to be told for output still coming (from a
/// process that escaped the run and still holds its stdout, say).
const ANSWER_OUTPUT_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// Sends `reply` once the run's output has all been delivered, or after
/// [`ANSWER_OUTPUT_GRACE`], whichever comes first.
fn answer_after_output(
    output: &journal::RunOutput,
    tx: tokio::sync::mpsc::UnboundedSender<Reply>,
    reply: Reply,
) {
    let (done, delivered) = tokio::sync::oneshot::channel();
    output.then(move || {
        let _ = done.send(());
    });
    tokio::spawn(async move {
        let _ = tokio::time::timeout(ANSWER_OUTPUT_GRACE, delivered).await;
        let _ = tx.send(reply);
    });
}
