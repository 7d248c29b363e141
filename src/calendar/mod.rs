//! Calendar events exactly as systemd 252 computes them, and the other
//! time syntaxes jobd accepts (crontab lines, time spans, timestamps).
//!
//! Pure code: no clock, no environment, no files. "Now", the local zone and
//! the zone database are parameters ([`ZoneSource`]); `crate::tzdb` provides
//! the real ones.
//!
//! - [`parse`] reads an `OnCalendar=` expression into a [`CalendarSpec`]
//!   (systemd.time(7), `calendar_spec_from_string`); its `Display` is the
//!   normalised form `systemd-analyze calendar` prints.
//! - [`CalendarSpec::next_elapse`] is `calendar_spec_next_usec`, DST gaps and
//!   folds resolved as glibc's `mktime` resolves them (module `tm`).
//! - [`cron`] compiles crontab lines into the same specs.
//! - [`timespan`] and [`timestamp`] parse systemd's span and timestamp syntax.
//!
//! ```
//! use jobd::calendar::{self, MktimeState, ZoneSource};
//! use jobd::tzdb::{SystemZones, local_zone};
//!
//! let zones = SystemZones::with_local(local_zone(Some("UTC")));
//! let spec = calendar::parse("mon..fri 9:00", &zones).unwrap();
//! assert_eq!(spec.to_string(), "Mon..Fri *-*-* 09:00:00");
//! // Wed 2026-11-25 11:57:25 UTC → Thu 2026-11-26 09:00:00 UTC.
//! let mut state = MktimeState::default();
//! let next = spec.next_elapse(1_795_607_845_000_000, zones.local(), &mut state).unwrap();
//! assert_eq!(next, Some(1_795_683_600_000_000));
//! ```

pub mod cron;
mod next;
mod parse;
mod spec;
pub mod timespan;
pub mod timestamp;
pub mod tm;
mod zone;

pub use next::{NextError, USEC_TIMESTAMP_FORMATTABLE_MAX};
pub use parse::{CalendarError, ZoneSource, parse};
pub use spec::{CalendarSpec, Component, Evaluation};
pub use tm::MktimeState;
pub use zone::{Zone, ZoneError};

#[cfg(test)]
mod properties;
