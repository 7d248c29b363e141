//! jobd: a per-user job scheduler and supervisor that replaces systemd user
//! timers, user services and crontabs with one daemon and one YAML file.
//!
//! Modules:
//! - [`calendar`]: pure. systemd calendar expressions, cron lines, time spans
//!   and timestamps, with next-elapse computation identical to systemd 252.
//! - [`tzdb`]: the system time-zone database, loaded the way glibc and
//!   systemd load it.
//! - [`cli`]: the `jobd` command line.

pub mod calendar;
pub mod cli;
pub mod tzdb;
