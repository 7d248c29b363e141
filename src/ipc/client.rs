//! The CLI's side of the socket: blocking, one connection per command
//! (a client needs no async runtime).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use super::{Envelope, ErrorCode, Reply, Request, VERSION};

/// Why a command could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "daemon not running at {0} (start it with `jobd daemon` or `systemctl --user start jobd`)"
    )]
    NotRunning(PathBuf),
    #[error("cannot talk to the daemon at {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the daemon at {0} closed the connection without replying")]
    Closed(PathBuf),
    #[error("the daemon sent a reply this jobd cannot read: {0}")]
    Garbled(String),
    /// The daemon refused: its message, and whether it was a usage error.
    #[error("{message}")]
    Refused { code: ErrorCode, message: String },
}

pub struct Client {
    path: PathBuf,
    reader: BufReader<UnixStream>,
}

impl Client {
    pub fn connect(path: &Path) -> Result<Client, ClientError> {
        let stream = UnixStream::connect(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
                ClientError::NotRunning(path.to_owned())
            }
            _ => ClientError::Io {
                path: path.to_owned(),
                source: e,
            },
        })?;
        Ok(Client {
            path: path.to_owned(),
            reader: BufReader::new(stream),
        })
    }

    fn io(&self, source: std::io::Error) -> ClientError {
        ClientError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Sends one request.
    pub fn send(&mut self, req: Request) -> Result<(), ClientError> {
        let mut line = serde_json::to_vec(&Envelope { v: VERSION, req })
            .map_err(|e| ClientError::Garbled(e.to_string()))?;
        line.push(b'\n');
        let Err(e) = self.reader.get_mut().write_all(&line) else {
            return Ok(());
        };
        // A daemon that refuses a peer answers before reading and
        // closes; our write then fails, but its answer is there.
        match self.recv_raw() {
            Err(refused @ ClientError::Refused { .. }) => Err(refused),
            _ => Err(self.io(e)),
        }
    }

    /// Reads the next reply; a refusal becomes [`ClientError::Refused`].
    pub fn recv<T: serde::de::DeserializeOwned>(&mut self) -> Result<T, ClientError> {
        let raw = self.recv_raw()?;
        serde_json::from_str(raw.get()).map_err(|e| ClientError::Garbled(e.to_string()))
    }

    /// Reads the next reply's payload as JSON text, unparsed.
    pub fn recv_raw(&mut self) -> Result<Box<serde_json::value::RawValue>, ClientError> {
        let mut line = Vec::new();
        let n = self.reader.read_until(b'\n', &mut line);
        match n {
            Ok(0) => return Err(ClientError::Closed(self.path.clone())),
            Ok(_) => {}
            Err(e) => return Err(self.io(e)),
        }
        let reply: Reply =
            serde_json::from_slice(&line).map_err(|e| ClientError::Garbled(e.to_string()))?;
        if let Some(err) = reply.err {
            return Err(ClientError::Refused {
                code: err.code,
                message: err.message,
            });
        }
        reply
            .ok
            .ok_or_else(|| ClientError::Garbled("a reply with neither ok nor err".into()))
    }

    /// One request, one reply.
    pub fn call<T: serde::de::DeserializeOwned>(&mut self, req: Request) -> Result<T, ClientError> {
        self.send(req)?;
        self.recv()
    }
}
