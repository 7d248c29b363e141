//! sd_notify(3) to the service manager, never blocking.

/// sd_notify(3), never blocking: one datagram to `$NOTIFY_SOCKET` (a
/// path, or `@name` in the abstract namespace) with `MSG_DONTWAIT`. The
/// `sd-notify` crate sends blocking, so a reader that stops reading (a
/// full queue: 10 datagrams by the kernel's default) froze the whole
/// event loop — the fault suite's reload test found it. A message that
/// finds the queue full is dropped with a warning; systemd never lets its
/// queue fill.
pub fn notify(text: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    if let Err(e) = send_notify(&path, text) {
        crate::log_warn!(
            "sd_notify to {}: {e} (message dropped)",
            path.to_string_lossy()
        );
    }
}

fn send_notify(path: &std::ffi::OsStr, text: &str) -> std::io::Result<()> {
    use rustix::net::{AddressFamily, SendFlags, SocketAddrUnix, SocketFlags, SocketType};
    use std::os::unix::ffi::OsStrExt as _;
    let sock = rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        None,
    )?;
    let bytes = path.as_bytes();
    let addr = match bytes.strip_prefix(b"@") {
        Some(name) => SocketAddrUnix::new_abstract_name(name)?,
        None => SocketAddrUnix::new(path)?,
    };
    rustix::net::sendto(
        &sock,
        text.as_bytes(),
        SendFlags::DONTWAIT | SendFlags::NOSIGNAL,
        &addr,
    )?;
    Ok(())
}

pub fn notify_reloading() {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    let usec = now.tv_sec * 1_000_000 + now.tv_nsec / 1000;
    notify(&format!("RELOADING=1\nMONOTONIC_USEC={usec}\n"));
}
