//! The config loader on arbitrary text: errors, never a panic, and every
//! error has a message.
#![no_main]

use jobd::config::{Env, from_str};
use jobd::tzdb::SystemZones;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let zones = SystemZones::from_env();
    let env = Env::from_process();
    if let Err(errors) = from_str(text, std::path::Path::new("fuzz.yaml"), &zones, &env) {
        assert!(errors.0.iter().all(|e| !e.message.is_empty()));
    }
});
