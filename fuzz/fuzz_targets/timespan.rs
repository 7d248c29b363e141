//! The time-span parser: no panic; what it prints at µs accuracy (as
//! `systemd-analyze timespan` does) parses back to the same span.
#![no_main]

use jobd::calendar::timespan;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(d) = timespan::parse(text) {
        let usec = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let shown = timespan::format_usec(usec, 1);
        let back = timespan::parse(&shown).unwrap_or_else(|e| panic!("{text:?} → {shown:?}: {e}"));
        assert_eq!(back.as_micros(), d.as_micros(), "{text:?} → {shown:?}");
    }
});
