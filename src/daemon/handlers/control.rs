//! `run-now`, `start`, `stop`, `restart`: each is one lifecycle event for
//! the job; the lifecycle answers the client (once, or twice for
//! `run-now --wait` and `stop`: when the run has ended).

use tokio::sync::mpsc;

use super::super::{Daemon, JobId};
use crate::ipc::Reply;
use crate::lifecycle::{Client, Event};

pub enum Verb {
    RunNow { wait: bool },
    Start,
    Stop,
    Restart,
}

impl Daemon {
    pub(super) fn control(&mut self, id: JobId, verb: Verb, reply: mpsc::UnboundedSender<Reply>) {
        let client = Client(self.next_client);
        self.next_client += 1;
        self.clients.insert(client, reply);
        let event = match verb {
            Verb::RunNow { wait } => Event::RunNow { client, wait },
            Verb::Start => Event::Start { client },
            Verb::Stop => Event::Stop { client },
            Verb::Restart => Event::Restart { client },
        };
        self.step(id, event);
    }
}
