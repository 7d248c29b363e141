//! The control protocol, shared by the daemon and the CLI.
//!
//! JSON lines over the Unix socket, debuggable with `socat`:
//! - request: `{"v":1,"req":{"cmd":"run-now","name":"x","wait":true}}`
//! - reply: `{"v":1,"ok":{…}}` or `{"v":1,"err":{"code":"…","message":"…"}}`.
//!
//! Each request gets one reply line, except `run-now` with `wait`, which
//! gets the `started` line and later the `finished` line. A line longer
//! than [`MAX_REQUEST`] is refused and the connection closed (it cannot be
//! resynchronised); any other bad line gets an error reply and the
//! connection stays usable.

pub mod client;

use serde::{Deserialize, Serialize};

use crate::config::JobType;
use crate::lifecycle::{Answer, JobState};
use crate::run::{ExitStatus, RunResult, Trigger};
use crate::state::Run;

/// The protocol version this build speaks.
pub const VERSION: u32 = 1;

/// Longest request line accepted, newline included.
pub const MAX_REQUEST: usize = 64 * 1024;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub v: u32,
    pub req: T,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Request {
    List,
    Status {
        name: String,
    },
    RunNow {
        name: String,
        #[serde(default)]
        wait: bool,
    },
    Start {
        name: String,
    },
    Stop {
        name: String,
    },
    Restart {
        name: String,
    },
    Reload,
    History {
        name: String,
        #[serde(default = "default_history")]
        n: usize,
    },
    /// Where a job's lines are (for `jobd logs`).
    LogSource {
        name: String,
    },
    Disable {
        name: String,
    },
    Enable {
        name: String,
    },
    SetEnvironment {
        vars: Vec<(String, String)>,
    },
    UnsetEnvironment {
        names: Vec<String>,
    },
    ShowEnvironment,
    /// The coming elapses, merged (`jobd next`).
    Next {
        #[serde(default)]
        names: Vec<String>,
        n: usize,
        #[serde(default)]
        until_usec: Option<i64>,
    },
    /// Prometheus text (`jobd metrics`).
    Metrics,
}

impl Request {
    /// The job a request is about, if it is about one.
    pub fn job(&self) -> Option<&str> {
        match self {
            Request::Status { name }
            | Request::RunNow { name, .. }
            | Request::Start { name }
            | Request::Stop { name }
            | Request::Restart { name }
            | Request::History { name, .. }
            | Request::LogSource { name }
            | Request::Disable { name }
            | Request::Enable { name } => Some(name),
            Request::List
            | Request::Reload
            | Request::SetEnvironment { .. }
            | Request::UnsetEnvironment { .. }
            | Request::ShowEnvironment
            | Request::Next { .. }
            | Request::Metrics => None,
        }
    }
}

/// Where a job's lines are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogKind {
    /// In the journal, read with `journalctl`.
    Journal,
    /// In files under the state directory.
    Files,
}

/// Reply to `log-source`: the journal (read with `journalctl`) or files.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LogSource {
    pub kind: LogKind,
    /// The journal namespace, if any.
    pub namespace: Option<String>,
    /// The job's files, oldest first (`files` only).
    pub files: Vec<String>,
    /// The file new lines go to, whether it exists yet or not (`files`).
    pub current_file: Option<String>,
    /// The running or last run's invocation (`--invocation last`).
    pub last_invocation: Option<String>,
}

fn default_history() -> usize {
    20
}

/// Error codes in replies. `UnknownJob` and `BadRequest` are usage errors
/// (exit 2), the rest failures (exit 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    BadRequest,
    TooLarge,
    Version,
    UnknownJob,
    Failed,
    /// Too many clients connected at once; try again.
    Busy,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReplyError {
    pub code: ErrorCode,
    pub message: String,
}

/// A reply. `ok` stays serialized text end to end: the daemon writes it
/// once, and a client that only prints it (`list --json`) never parses it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Reply {
    pub v: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<Box<serde_json::value::RawValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub err: Option<ReplyError>,
}

impl Reply {
    pub fn ok(value: impl Serialize) -> Reply {
        Reply {
            v: VERSION,
            // Serializing our own types cannot fail (no maps with
            // non-string keys); `null` would be answered as "garbled".
            ok: serde_json::value::to_raw_value(&value).ok(),
            err: None,
        }
    }

    pub fn err(code: ErrorCode, message: impl Into<String>) -> Reply {
        Reply {
            v: VERSION,
            ok: None,
            err: Some(ReplyError {
                code,
                message: message.into(),
            }),
        }
    }

    /// The reply as one line, newline included.
    pub fn to_line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).unwrap_or_else(|_| b"{}".to_vec());
        line.push(b'\n');
        line
    }
}

/// Reads a request line's meaning; the error is the reply to send.
pub fn decode_request(line: &[u8]) -> Result<Request, Reply> {
    #[derive(Deserialize)]
    struct Versioned {
        v: Option<u32>,
    }
    let versioned: Versioned = serde_json::from_slice(line).map_err(|e| {
        Reply::err(
            ErrorCode::BadRequest,
            format!("request is not a JSON object: {e}; send one JSON object per line"),
        )
    })?;
    match versioned.v {
        Some(VERSION) => {}
        Some(v) => {
            return Err(Reply::err(
                ErrorCode::Version,
                format!(
                    "protocol version {v} is not supported; this daemon speaks version {VERSION}"
                ),
            ));
        }
        None => {
            return Err(Reply::err(
                ErrorCode::BadRequest,
                format!("request has no \"v\"; send {{\"v\":{VERSION},\"req\":{{…}}}}"),
            ));
        }
    }
    serde_json::from_slice::<Envelope<Request>>(line)
        .map(|e| e.req)
        .map_err(|e| Reply::err(ErrorCode::BadRequest, format!("invalid request: {e}")))
}

/// A job as `list` shows it (SPEC §5 `list --json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JobInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: JobType,
    pub state: JobState,
    /// What a `waiting` run waits for, in words (`on battery`).
    #[serde(default)]
    pub state_reason: Option<String>,
    pub enabled: bool,
    pub schedule: Vec<String>,
    pub next_run: Option<String>,
    pub last_start: Option<String>,
    pub last_exit: Option<String>,
    pub last_result: Option<RunResult>,
    pub exit_status: Option<ExitStatus>,
    /// The main process, while it runs.
    pub pid: Option<u32>,
    /// Automatic restarts since loading or the last manual start, the
    /// pending one (state `restarting`) included.
    pub restarts: u32,
    /// `next_run` in µs, for computing "left" on the client.
    pub next_usec: Option<i64>,
    /// When the run that `last_result` describes started, in µs (`list`'s
    /// LAST column; `last_start` is the newest start, a running one too).
    pub result_start_usec: Option<i64>,
}

/// What `status` shows beyond [`JobInfo`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StatusInfo {
    #[serde(flatten)]
    pub job: JobInfo,
    pub description: Option<String>,
    pub config: String,
    pub exec: Vec<String>,
    pub last_run: Option<Run>,
    pub invocation: Option<String>,
    pub processes: Vec<ProcessInfo>,
    pub memory_bytes: Option<u64>,
    pub cpu_usec: Option<u64>,
    /// How jobd holds the job's processes: `cgroup` or `process-group`.
    pub containment: String,
    /// The run's cgroup, in the cgroup mode.
    pub cgroup: Option<String>,
    /// When the pending restart starts (state `restarting`).
    pub restart_usec: Option<i64>,
    /// The start limit stopped the restarts (state `failed`).
    pub start_limit_hit: bool,
    /// Where job output goes (`journal (…)` or `files in …`).
    pub logs: String,
    /// The job's lines since the daemon started that went to its file
    /// because journald would not take them (hung, or its rate limit).
    pub log_to_file: u64,
    pub now_usec: i64,
    /// The run in progress.
    pub run_start_usec: Option<i64>,
    pub run_trigger: Option<Trigger>,
    /// The job's last output lines (at most 10), oldest first.
    pub log: Vec<String>,
    /// Each `wait_for` condition, and whether it holds now.
    #[serde(default)]
    pub conditions: Vec<ConditionInfo>,
    /// Each resource control (and `inhibit`), and whether runs get it.
    #[serde(default)]
    pub controls: Vec<ControlInfo>,
    /// Since when the due run is held (state `waiting` or `queued`).
    #[serde(default)]
    pub held_since_usec: Option<i64>,
    /// The job's `environment` (with what `defaults` gave it); never the
    /// values of its `environment_file`.
    #[serde(default)]
    pub environment: Vec<(String, String)>,
    #[serde(default)]
    pub environment_files: Vec<String>,
    #[serde(default)]
    pub on_failure: Vec<String>,
    #[serde(default)]
    pub on_success: Vec<String>,
    #[serde(default)]
    pub after: Vec<String>,
}

/// Reply to `show-environment`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EnvironmentInfo {
    /// What every run gets before its own `environment`: the daemon's
    /// environment with the `set-environment` variables over it, sorted.
    pub vars: Vec<(String, String)>,
    /// Those set with `set-environment`/`import-environment`.
    pub set: Vec<String>,
}

/// One coming elapse (`jobd next`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NextElapse {
    pub job: String,
    /// RFC 3339.
    pub time: String,
    /// The schedule entry that makes it, as written.
    pub schedule: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub usec: Option<i64>,
}

/// A `wait_for` condition in `status`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConditionInfo {
    /// As the config writes it: `network: online`.
    pub condition: String,
    pub holds: bool,
}

/// A resource control in `status`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ControlInfo {
    /// As the config writes it: `memory_max: 512M`.
    pub control: String,
    pub applied: bool,
    /// Why runs do not get it.
    pub why_not: Option<String>,
}

/// One process of a running job's tree.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProcessInfo {
    pub pid: u32,
    /// Depth in the tree, 0 for the main process.
    pub depth: u32,
    pub cmdline: String,
}

/// Reply to `run-now`, `start`, `stop`, `restart`: what the job's
/// lifecycle answered. `run-now --wait` and `stop` of a running job get a
/// second one, [`Answer::Ended`], when the run has ended.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Answered {
    pub name: String,
    #[serde(flatten)]
    pub answer: Answer,
}

/// Reply to `reload`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ReloadReport {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

impl ReloadReport {
    /// Each non-empty list with its word: `added`, `removed`, `changed`.
    pub fn parts(&self) -> impl Iterator<Item = (&'static str, &[String])> {
        [
            ("added", &self.added),
            ("removed", &self.removed),
            ("changed", &self.changed),
        ]
        .into_iter()
        .filter(|(_, l)| !l.is_empty())
        .map(|(w, l)| (w, l.as_slice()))
    }
}

/// `added a, b; removed c`, or `no changes`.
impl std::fmt::Display for ReloadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut any = false;
        for (what, list) in self.parts() {
            if any {
                f.write_str("; ")?;
            }
            write!(f, "{what} {}", list.join(", "))?;
            any = true;
        }
        if !any {
            f.write_str("no changes")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode() {
        assert_eq!(
            decode_request(br#"{"v":1,"req":{"cmd":"run-now","name":"x"}}"#).unwrap(),
            Request::RunNow {
                name: "x".into(),
                wait: false
            }
        );
        assert_eq!(
            decode_request(br#"{"v":1,"req":{"cmd":"list"}}"#).unwrap(),
            Request::List
        );
        let e = decode_request(b"garbage").unwrap_err().err.unwrap();
        assert_eq!(e.code, ErrorCode::BadRequest);
        let e = decode_request(br#"{"v":9,"req":{"cmd":"list"}}"#)
            .unwrap_err()
            .err
            .unwrap();
        assert_eq!(e.code, ErrorCode::Version);
        let e = decode_request(br#"{"v":1,"req":{"cmd":"explode"}}"#)
            .unwrap_err()
            .err
            .unwrap();
        assert_eq!(e.code, ErrorCode::BadRequest);
    }
}
