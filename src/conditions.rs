//! `wait_for` conditions: whether each holds now, read from the kernel's
//! own files, and why not in words (`on battery`).
//!
//! The decisions are pure functions of the files' text
//! (`/proc/net/route`, `/proc/net/ipv6_route`, `/proc/self/mountinfo`,
//! the power-supply and network attributes in sysfs); [`Roots`] says where
//! `/proc` and `/sys` are, so tests give them a tree of their own (this
//! is how AC power is tested on machines without a power supply). When
//! to look again is the daemon's business (kernel events, see
//! `daemon::watch`): nothing here polls.

use std::path::{Path, PathBuf};

use crate::config::Condition;

/// Where the kernel's files are.
#[derive(Clone, Debug)]
pub struct Roots {
    pub proc: PathBuf,
    pub sys: PathBuf,
}

impl Default for Roots {
    fn default() -> Roots {
        Roots {
            proc: PathBuf::from("/proc"),
            sys: PathBuf::from("/sys"),
        }
    }
}

/// What the conditions read, as of the last kernel event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// On mains power (or without a battery).
    pub on_ac: bool,
    pub online: bool,
    /// The daemon's mount points.
    pub mounts: Vec<PathBuf>,
}

impl Facts {
    /// Reads what `wanted` needs (the rest stays at its default).
    pub fn read(roots: &Roots, wanted: &Wanted) -> Facts {
        let text = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        Facts {
            on_ac: wanted.ac && on_ac(&roots.sys),
            online: wanted.network
                && online(
                    &text(roots.proc.join("net/route")),
                    &text(roots.proc.join("net/ipv6_route")),
                    iface_up,
                ),
            mounts: if wanted.mounts {
                mount_points(&text(roots.proc.join("self/mountinfo")))
            } else {
                Vec::new()
            },
        }
    }

    /// Why `c` does not hold, or `None` if it does.
    pub fn why_not(&self, c: &Condition) -> Option<String> {
        match c {
            Condition::AcPower(true) => (!self.on_ac).then(|| "on battery".to_owned()),
            Condition::AcPower(false) => self.on_ac.then(|| "on AC power".to_owned()),
            Condition::Network => (!self.online).then(|| "network not online".to_owned()),
            Condition::Mounted(p) => (!self.mounts.iter().any(|m| m == p))
                .then(|| format!("{} not mounted", p.display())),
            Condition::PathExists(p) => {
                (!p.exists()).then(|| format!("{} does not exist", p.display()))
            }
        }
    }

    /// Why the first of `conditions` that does not hold does not.
    pub fn first_false(&self, conditions: &[Condition]) -> Option<String> {
        conditions.iter().find_map(|c| self.why_not(c))
    }
}

/// Which kinds of condition some job waits for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    pub ac: bool,
    pub network: bool,
    pub mounts: bool,
    /// `path_exists` paths.
    pub paths: Vec<PathBuf>,
}

impl Wanted {
    pub fn of<'a>(conditions: impl IntoIterator<Item = &'a Condition>) -> Wanted {
        let mut w = Wanted::default();
        for c in conditions {
            match c {
                Condition::AcPower(_) => w.ac = true,
                Condition::Network => w.network = true,
                Condition::Mounted(_) => w.mounts = true,
                Condition::PathExists(p) => {
                    if !w.paths.contains(p) {
                        w.paths.push(p.clone());
                    }
                }
            }
        }
        w
    }

    pub fn any(&self) -> bool {
        self.ac || self.network || self.mounts || !self.paths.is_empty()
    }
}

/// systemd's `on_ac_power()`, as SPEC words it: a power supply of type
/// `Mains` is online, or there is no system battery at all (a desktop).
/// Batteries of peripherals (`scope` `Device`) do not count.
pub fn on_ac(sys: &Path) -> bool {
    let Ok(dir) = std::fs::read_dir(sys.join("class/power_supply")) else {
        return true;
    };
    let attr = |d: &Path, name: &str| {
        std::fs::read_to_string(d.join(name))
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };
    let mut battery = false;
    for entry in dir.flatten() {
        let d = entry.path();
        match attr(&d, "type").as_str() {
            "Mains" if attr(&d, "online") == "1" => return true,
            "Battery" if attr(&d, "scope") != "Device" => battery = true,
            _ => {}
        }
    }
    !battery
}

/// Whether interface `iface` of the daemon's network namespace is up
/// and running (`IFF_UP` and `IFF_RUNNING`: operstate up, or unknown for
/// devices without carrier detection). Asked with `SIOCGIFFLAGS` rather
/// than read from `/sys/class/net`, which shows the namespace of whoever
/// mounted sysfs.
pub fn iface_up(iface: &str) -> bool {
    let Ok(sock) = rustix::net::socket_with(
        rustix::net::AddressFamily::INET,
        rustix::net::SocketType::DGRAM,
        rustix::net::SocketFlags::CLOEXEC,
        None,
    ) else {
        return false;
    };
    let name = iface.as_bytes();
    // SAFETY: `ifreq` is plain old data, so all zeroes is a valid value.
    #[allow(unsafe_code)]
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    if name.is_empty() || name.len() >= req.ifr_name.len() {
        return false;
    }
    for (d, s) in req.ifr_name.iter_mut().zip(name) {
        *d = *s as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads `ifr_name` (NUL-terminated: the name is
    // shorter than the array, which was zeroed) and writes only
    // `ifr_ifru.ifru_flags` of the `ifreq` it is given, which lives for
    // the call; `sock` is an open socket.
    #[allow(unsafe_code)]
    let r = unsafe {
        libc::ioctl(
            std::os::fd::AsRawFd::as_raw_fd(&sock),
            libc::SIOCGIFFLAGS,
            &mut req,
        )
    };
    if r != 0 {
        return false;
    }
    // SAFETY: the kernel set the `ifru_flags` member of the union.
    #[allow(unsafe_code)]
    let flags = i32::from(unsafe { req.ifr_ifru.ifru_flags });
    let want = libc::IFF_UP | libc::IFF_RUNNING;
    flags & want == want
}

/// A default route (IPv4 or IPv6) that is up and goes through an
/// interface other than loopback that is up.
pub fn online(route: &str, ipv6_route: &str, up: impl Fn(&str) -> bool) -> bool {
    const RTF_UP: u32 = 0x1;
    let hex = |s: &str| u32::from_str_radix(s, 16).ok();
    // Iface Destination Gateway Flags RefCnt Use Metric Mask ...
    let v4 = route.lines().skip(1).any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() >= 8
            && f[1] == "00000000"
            && f[7] == "00000000"
            && hex(f[3]).is_some_and(|fl| fl & RTF_UP != 0)
            && f[0] != "lo"
            && up(f[0])
    });
    // dest plen src splen nexthop metric refcnt use flags iface
    let v6 = ipv6_route.lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() >= 10
            && f[0].bytes().all(|b| b == b'0')
            && f[1] == "00"
            && hex(f[8]).is_some_and(|fl| fl & RTF_UP != 0)
            && f[9] != "lo"
            && up(f[9])
    });
    v4 || v6
}

/// The mount points in a `mountinfo` text, octal escapes (`\040`) undone.
pub fn mount_points(mountinfo: &str) -> Vec<PathBuf> {
    mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape(p)))
        .collect()
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct = b
            .get(i + 1..i + 4)
            .filter(|o| o.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], oct) {
            (b'\\', Some(o)) => {
                let v = o.iter().fold(0u32, |a, c| a * 8 + u32::from(c - b'0'));
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn supply(root: &Path, name: &str, attrs: &[(&str, &str)]) {
        let d = root.join("class/power_supply").join(name);
        std::fs::create_dir_all(&d).unwrap();
        for (k, v) in attrs {
            std::fs::write(d.join(k), format!("{v}\n")).unwrap();
        }
    }

    #[test]
    fn ac_power_as_systemd_decides_it() {
        let t = tempfile::tempdir().unwrap();
        let sys = t.path();
        // No power_supply class at all: a desktop (or a container).
        assert!(on_ac(sys));
        std::fs::create_dir_all(sys.join("class/power_supply")).unwrap();
        assert!(on_ac(sys), "no supply at all");
        supply(
            sys,
            "hidpp_battery_0",
            &[("type", "Battery"), ("scope", "Device")],
        );
        assert!(on_ac(sys), "a mouse's battery is not the machine's");
        supply(
            sys,
            "BAT0",
            &[("type", "Battery"), ("status", "Discharging")],
        );
        assert!(!on_ac(sys), "a laptop without mains");
        supply(sys, "AC", &[("type", "Mains"), ("online", "0")]);
        assert!(!on_ac(sys), "unplugged");
        supply(sys, "AC", &[("type", "Mains"), ("online", "1")]);
        assert!(on_ac(sys), "plugged in");
        supply(
            sys,
            "ucsi-source-psy-USBC000:001",
            &[("type", "USB"), ("online", "1")],
        );
        supply(sys, "AC", &[("type", "Mains"), ("online", "0")]);
        assert!(!on_ac(sys), "only Mains counts, as in SPEC");
    }

    #[test]
    fn online_needs_an_up_default_route_off_loopback() {
        let head =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";
        let default = format!("{head}eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n");
        let subnet = format!("{head}eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n");
        let up = |i: &str| i == "eth0";
        assert!(online(&default, "", up));
        assert!(!online(&default, "", |_| false), "interface down");
        assert!(!online(&subnet, "", up), "no default route");
        assert!(!online(head, "", up));
        // IPv6: the kernel's unreachable default on lo does not count.
        let lo6 = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n";
        assert!(!online(head, lo6, |_| true));
        let eth6 = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000003 00000000 00000003     eth0\n";
        assert!(online(head, &format!("{lo6}{eth6}"), up));
        assert!(!online(head, eth6, |_| false));
    }

    #[test]
    fn mount_points_unescaped() {
        let info = "22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n\
                    90 22 0:50 / /mnt/my\\040disk rw - tmpfs tmpfs rw\n";
        assert_eq!(
            mount_points(info),
            [PathBuf::from("/"), PathBuf::from("/mnt/my disk")]
        );
    }

    #[test]
    fn reasons_in_words() {
        let f = Facts {
            on_ac: false,
            online: true,
            mounts: vec![PathBuf::from("/")],
        };
        let c = [
            Condition::Network,
            Condition::AcPower(true),
            Condition::Mounted("/mnt/backup".into()),
        ];
        assert_eq!(f.first_false(&c).as_deref(), Some("on battery"));
        assert_eq!(f.why_not(&c[2]).as_deref(), Some("/mnt/backup not mounted"));
        assert_eq!(f.why_not(&Condition::Mounted("/".into())), None);
        assert_eq!(f.why_not(&Condition::PathExists("/".into())), None);
    }
}
