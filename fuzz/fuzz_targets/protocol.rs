//! The control protocol's request decoder on arbitrary bytes: a request or
//! a refusal, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = jobd::ipc::decode_request(data);
});
