//! jobd: a per-user job scheduler and supervisor that replaces systemd user
//! timers, user services and crontabs with one daemon and one YAML file.
//!
//! Modules:
//! - [`calendar`]: pure. systemd calendar expressions, cron lines, time spans
//!   and timestamps, with next-elapse computation identical to systemd 252.
//! - [`tzdb`]: the system time-zone database, loaded the way glibc and
//!   systemd load it.
//! - [`config`]: the YAML file → a validated model, errors as FILE:LINE:COL.
//! - [`conditions`]: `wait_for` conditions read from /proc and /sys.
//! - [`schedule`]: pure. Next elapses, persistent catch-up, randomized delay.
//! - [`run`]: a run's vocabulary: triggers, exit statuses, results.
//! - [`signal`]: signal names, both ways.
//! - [`lifecycle`]: pure. One job's state machine: events in, actions out,
//!   with the restart/back-off/start-limit rules.
//! - [`supervise`]: spawning jobs (process groups or cgroups), the one
//!   reaper, whole process trees.
//! - [`journal`]: job output and daemon events to journald (native
//!   protocol), or to rotated files where there is no journal.
//! - [`state`]: the crash-safe run history.
//! - [`ipc`]: the control protocol shared by the daemon and the CLI.
//! - [`daemon`]: the event loop, the wall-clock timer, the control socket.
//! - [`import`]: systemd user units and crontabs → jobd YAML.
//! - [`cli`]: the `jobd` command line.

pub mod calendar;
pub mod cli;
pub mod conditions;
pub mod config;
pub mod daemon;
pub mod import;
pub mod ipc;
pub mod journal;
pub mod lifecycle;
pub mod run;
pub mod schedule;
pub mod signal;
pub mod state;
pub mod supervise;
pub mod tzdb;
