//! The control socket's requests, one exhaustive `match`: job names are
//! resolved here (an unknown one gets a "did you mean"), then each group
//! of requests has a module of its own — [`query`] reads, [`control`]
//! turns a request into a lifecycle event, [`reload`] re-reads the config.

mod control;
mod everyday;
mod query;
mod reload;

use super::server::Incoming;
use super::{Daemon, JobId};
use crate::config;
use crate::ipc::{ErrorCode, Reply, Request};

impl Daemon {
    pub(super) fn handle(&mut self, inc: Incoming) {
        let Incoming { req, reply } = inc;
        // Waiters whose client hung up: their connection is gone already.
        self.clients.retain(|_, tx| !tx.is_closed());
        let id = match req.job().map(|name| self.job_id(name)).transpose() {
            Ok(id) => id,
            Err(unknown) => {
                let _ = reply.send(unknown);
                return;
            }
        };
        let reply_now = match (req, id) {
            (Request::List, _) => Reply::ok(self.list()),
            (Request::Reload, _) => match self.reload() {
                Ok(report) => {
                    crate::log_info!("reloaded: {report}");
                    Reply::ok(report)
                }
                Err(e) => {
                    crate::log_error!(
                        "reload refused, the running config is kept: {}",
                        e.replace('\n', "; ")
                    );
                    Reply::err(ErrorCode::Failed, e)
                }
            },
            (Request::Status { .. }, Some(id)) => Reply::ok(self.status(id)),
            (Request::History { name, n }, Some(_)) => Reply::ok(self.history(&name, n)),
            (Request::LogSource { .. }, Some(id)) => Reply::ok(self.log_source(id)),
            (Request::RunNow { wait, .. }, Some(id)) => {
                return self.control(id, control::Verb::RunNow { wait }, reply);
            }
            (Request::Start { .. }, Some(id)) => {
                return self.control(id, control::Verb::Start, reply);
            }
            (Request::Stop { .. }, Some(id)) => {
                return self.control(id, control::Verb::Stop, reply);
            }
            (Request::Restart { .. }, Some(id)) => {
                return self.control(id, control::Verb::Restart, reply);
            }
            (Request::Disable { .. }, Some(id)) => self.switch(id, false),
            (Request::Enable { .. }, Some(id)) => self.switch(id, true),
            (Request::SetEnvironment { vars }, _) => self.set_environment(vars),
            (Request::UnsetEnvironment { names }, _) => self.unset_environment(&names),
            (Request::ShowEnvironment, _) => Reply::ok(self.environment()),
            (
                Request::Next {
                    names,
                    n,
                    until_usec,
                },
                _,
            ) => self.next(&names, n, until_usec),
            (Request::Metrics, _) => self.metrics(),
            // `job()` names a job for every other request.
            (_, None) => Reply::err(ErrorCode::BadRequest, "request needs a job name"),
        };
        let _ = reply.send(reply_now);
    }

    /// The job of the running config called `name`, or the reply that
    /// says there is none. Every id in `names` is in `jobs` (a job is
    /// added to both, and `Forget` removes it from both), so the handlers
    /// index `jobs` with it.
    fn job_id(&self, name: &str) -> Result<JobId, Reply> {
        self.names.get(name).copied().ok_or_else(|| {
            let hint = config::did_you_mean(name, self.names.keys().map(String::as_str))
                .map_or(String::new(), |c| format!("; did you mean `{c}`?"));
            Reply::err(
                ErrorCode::UnknownJob,
                format!("unknown job `{name}`{hint} (see `jobd list`)"),
            )
        })
    }
}
