//! The system time-zone database, read the way glibc and systemd read it,
//! and the system clock ([`now_usec`]).
//!
//! - The local zone follows glibc's `tzset(3)`: `$TZ` unset means
//!   `/etc/localtime`; empty means UTC; a leading `:` is dropped; a name is a
//!   TZif file under `/usr/share/zoneinfo` (or an absolute path), and failing
//!   that a POSIX TZ rule string; failing that, UTC.
//! - A zone named in a calendar expression is accepted by the rules of
//!   systemd's `verify_timezone`: letters, digits, `-`, `_`, `+` and single
//!   `/` between parts, naming a regular file that starts with the TZif magic.
//!   Names are case-sensitive, as the file system is.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::calendar::{Zone, ZoneSource};

/// The real-time clock in µs since the epoch (0 before 1970). The one
/// place jobd reads it; pure code takes "now" as a parameter.
pub fn now_usec() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// Where TZif files live by default (glibc's and systemd's `TZDIR`).
pub const ZONEINFO: &str = "/usr/share/zoneinfo";

/// Where TZif files live here: `$TZDIR` (as glibc reads it), else
/// `/usr/share/zoneinfo`, else `/etc/zoneinfo` (NixOS has no
/// /usr/share/zoneinfo; its systemd reads /etc/zoneinfo).
pub fn zoneinfo() -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("TZDIR").filter(|d| !d.is_empty()) {
        return dir.into();
    }
    [ZONEINFO, "/etc/zoneinfo"]
        .iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.is_dir())
        .unwrap_or_else(|| ZONEINFO.into())
}

/// The local zone for a given value of `$TZ` (`None`: unset).
pub fn local_zone(tz: Option<&str>) -> Zone {
    let name = match tz {
        None => "/etc/localtime",
        Some("") => return Zone::utc(),
        Some(tz) => tz.strip_prefix(':').unwrap_or(tz),
    };
    let path = if name.starts_with('/') {
        Path::new(name).to_path_buf()
    } else {
        zoneinfo().join(name)
    };
    let display = if tz.is_none() { "localtime" } else { name };
    if let Ok(data) = std::fs::read(&path)
        && let Ok(zone) = Zone::from_tzif(display, &data)
    {
        return zone;
    }
    Zone::from_posix(name).unwrap_or_else(|_| Zone::utc())
}

/// Whether systemd would accept `name` as a zone suffix, before looking at
/// the file (`verify_timezone` in systemd 252).
fn plausible_zone_name(name: &str) -> bool {
    if name.is_empty() || name.starts_with('/') || name.ends_with('/') || name.contains("//") {
        return false;
    }
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'/'))
}

/// Loads the zone `name` if systemd would accept it.
pub fn named_zone(name: &str) -> Option<Zone> {
    if !plausible_zone_name(name) {
        return None;
    }
    let path = zoneinfo().join(name);
    if !std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
        // systemd always accepts "UTC", even without tzdata installed.
        return (name == "UTC").then(Zone::utc);
    }
    let data = std::fs::read(&path).ok()?;
    if !data.starts_with(b"TZif") {
        return None;
    }
    Zone::from_tzif(name, &data).ok()
}

/// The zones of this machine: the local one and, loaded on first use and
/// kept, every named one.
pub struct SystemZones {
    local: Zone,
    named: Mutex<HashMap<String, Option<Arc<Zone>>>>,
}

impl SystemZones {
    /// The local zone from the process's `$TZ`.
    pub fn from_env() -> SystemZones {
        let tz = std::env::var("TZ").ok();
        SystemZones::with_local(local_zone(tz.as_deref()))
    }

    /// With a given local zone.
    pub fn with_local(local: Zone) -> SystemZones {
        SystemZones {
            local,
            named: Mutex::new(HashMap::new()),
        }
    }
}

impl ZoneSource for SystemZones {
    fn local(&self) -> &Zone {
        &self.local
    }

    fn named(&self, name: &str) -> Option<Arc<Zone>> {
        let mut cache = self
            .named
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache
            .entry(name.to_owned())
            .or_insert_with(|| named_zone(name).map(Arc::new))
            .clone()
    }
}
