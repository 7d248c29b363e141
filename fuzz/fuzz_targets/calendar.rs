//! The calendar parser on arbitrary text, and next-elapse properties on
//! what it accepts: no panic; an elapse lies after its base; the elapse is
//! itself an elapse (the next one after just before it is it: nothing
//! between base and it was skipped); the normal form parses and gives the
//! same elapse.
#![no_main]

use jobd::calendar::{MktimeState, ZoneSource as _, parse};
use jobd::tzdb::{SystemZones, local_zone};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((head, rest)) = data.split_first_chunk::<9>() else {
        return;
    };
    let Ok(expr) = std::str::from_utf8(rest) else {
        return;
    };
    // 2000-01-01 .. about 2100, µs; the zone a DST one or UTC.
    let base = 946_684_800_000_000
        + (i64::from_le_bytes(head[..8].try_into().unwrap_or_default()) & 0x0000_ffff_ffff_ffff)
            % 3_155_760_000_000_000;
    let tz = if head[8] & 1 == 0 {
        "UTC"
    } else {
        "Europe/Berlin"
    };
    let zones = SystemZones::with_local(local_zone(Some(tz)));
    let Ok(spec) = parse(expr, &zones) else {
        return;
    };
    let mut state = MktimeState::default();
    let Ok(Some(t)) = spec.next_elapse(base, zones.local(), &mut state) else {
        return;
    };
    assert!(t > base, "{expr:?}: elapse {t} not after base {base}");
    let again = spec.next_elapse(t - 1, zones.local(), &mut state);
    assert_eq!(
        again,
        Ok(Some(t)),
        "{expr:?}: {t} is not an elapse of itself"
    );
    let normal = spec.to_string();
    let reparsed = parse(&normal, &zones).unwrap_or_else(|e| panic!("{expr:?} → {normal:?}: {e}"));
    let mut state = MktimeState::default();
    let mut state2 = MktimeState::default();
    assert_eq!(
        reparsed.next_elapse(base, zones.local(), &mut state2),
        spec.next_elapse(base, zones.local(), &mut state),
        "{expr:?} and its normal form {normal:?} differ"
    );
});
