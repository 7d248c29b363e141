//! The crontab front end on arbitrary text: no panic; accepted schedules
//! give elapses after their base that are elapses themselves.
#![no_main]

use jobd::calendar::{MktimeState, ZoneSource as _};
use jobd::tzdb::{SystemZones, local_zone};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((head, rest)) = data.split_first_chunk::<8>() else {
        return;
    };
    let Ok(expr) = std::str::from_utf8(rest) else {
        return;
    };
    let base = 946_684_800_000_000
        + (i64::from_le_bytes(*head) & 0x0000_ffff_ffff_ffff) % 3_155_760_000_000_000;
    let zones = SystemZones::with_local(local_zone(Some("Europe/Berlin")));
    let Ok(spec) = jobd::calendar::cron::parse(expr, None) else {
        return;
    };
    let mut state = MktimeState::default();
    if let Ok(Some(t)) = spec.next_elapse(base, zones.local(), &mut state) {
        assert!(t > base, "{expr:?}");
        assert_eq!(
            spec.next_elapse(t - 1, zones.local(), &mut state),
            Ok(Some(t)),
            "{expr:?}"
        );
    }
});
