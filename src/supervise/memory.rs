//! The daemon's resident memory while it idles.
//!
//! Most of an idle daemon's resident set is not its data but its code: the
//! pages of the `jobd` binary and of libc that start-up touched (parsing
//! the config, computing every schedule) and that the kernel mapped
//! around them (fault-around maps up to 64 KiB around each fault, and
//! large page-cache folios map whole). An idle jobd runs a few kilobytes
//! of that code per wake-up.
//!
//! [`shed`] tells the kernel that the daemon no longer needs the pages of
//! its read-only file mappings (`MADV_DONTNEED`): they stay in the page
//! cache, shared with every other process, and whatever code runs next is
//! mapped back on first touch (a minor fault, no disk read). Only mappings
//! that cannot hold data of the daemon's own are touched: private, not
//! writable, and without a single anonymous (copy-on-write) page, so
//! dropping them loses nothing. The part of the main thread's stack below
//! the stack pointer, which start-up's deep calls touched and nothing uses
//! now, is let go the same way, and the heap is trimmed (`malloc_trim`):
//! start-up's temporary allocations are given back.
//!
//! The daemon asks for it with [`shed_at_next_park`] after start-up and
//! after each reload; the event loop's park hook calls [`at_park`], so the
//! pages are let go at the last moment before the thread sleeps, and only
//! the few pages the sleep itself runs come back. The kernel maps code back
//! in aligned 64 KiB blocks, so the functions that run after the drop (this
//! module's and `daemon::serve`, into which the event loop's park is
//! inlined) share one text section, `.text.hot.jobd_idle`, and so lie side
//! by side.

use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the next park of the event loop should shed.
static PENDING: AtomicBool = AtomicBool::new(false);

/// Asks for a [`shed`] right before the event loop next goes to sleep.
pub fn shed_at_next_park() {
    PENDING.store(true, Ordering::Relaxed);
}

/// The event loop's park hook: sheds once when asked to.
// SAFETY: the section only places the code: `.text.hot.*` is an
// ordinary executable text section that every linker merges into `.text`
// (see `supervise::memory` for why these functions sit together).
#[allow(unsafe_code)]
#[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.jobd_idle"))]
pub fn at_park() {
    if PENDING.swap(false, Ordering::Relaxed) {
        shed();
    }
}

/// One mapping of `/proc/self/smaps` that may be dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Droppable {
    start: usize,
    len: usize,
}

/// The mappings of a `smaps` text whose pages can be dropped without loss:
/// file-backed, private, not writable, no anonymous pages.
fn droppable(smaps: &str) -> Vec<Droppable> {
    let mut out = Vec::new();
    let mut current: Option<(usize, usize, bool)> = None;
    let mut anonymous_kb: Option<u64> = None;
    let mut flush = |cur: &mut Option<(usize, usize, bool)>, anon: &mut Option<u64>| {
        if let (Some((start, end, ok)), Some(0)) = (*cur, *anon)
            && ok
        {
            out.push(Droppable {
                start,
                len: end - start,
            });
        }
        *cur = None;
        *anon = None;
    };
    for line in smaps.lines() {
        let mut f = line.split_whitespace();
        let first = f.next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-')
            && let (Ok(start), Ok(end)) =
                (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
        {
            flush(&mut current, &mut anonymous_kb);
            let perms = f.next().unwrap_or("");
            let path = f.nth(3).unwrap_or("");
            let ok = perms.len() == 4
                && perms.starts_with('r')
                && !perms.contains('w')
                && perms.ends_with('p')
                && path.starts_with('/')
                && end > start;
            current = Some((start, end, ok));
        } else if first == "Anonymous:" {
            anonymous_kb = f.next().and_then(|v| v.parse().ok());
        }
    }
    flush(&mut current, &mut anonymous_kb);
    out
}

/// The main thread's stack mapping in a `smaps` text: start and end.
fn stack_mapping(smaps: &str) -> Option<(usize, usize)> {
    let line = smaps.lines().find(|l| l.ends_with(" [stack]"))?;
    let (a, b) = line.split_whitespace().next()?.split_once('-')?;
    Some((
        usize::from_str_radix(a, 16).ok()?,
        usize::from_str_radix(b, 16).ok()?,
    ))
}

/// The whole pages of the stack mapping `(start, end)` that lie at least
/// one page below the stack pointer `sp`: nothing lives there.
fn dead_stack(mapping: (usize, usize), sp: usize) -> Option<Droppable> {
    const PAGE: usize = 4096;
    let (start, end) = mapping;
    if !(start..end).contains(&sp) {
        return None;
    }
    let top = (sp & !(PAGE - 1)).checked_sub(PAGE)?;
    (top > start).then(|| Droppable {
        start,
        len: top - start,
    })
}

/// Drops the daemon's clean file-backed pages and the unused part of the
/// main thread's stack, and trims the heap; how many kilobytes of
/// mappings were let go.
///
/// The order keeps what runs after the code is let go, and so comes back,
/// as small as can be: the heap is trimmed and every allocation freed
/// first (malloc's code lives in libc, let go after), the mappings are
/// then dropped from a list on the stack, and the one holding this
/// function's own code goes last.
// SAFETY: the section only places the code: `.text.hot.*` is an
// ordinary executable text section that every linker merges into `.text`
// (see `supervise::memory` for why these functions sit together).
#[allow(unsafe_code)]
#[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.jobd_idle"))]
pub fn shed() -> usize {
    /// More mappings than this are left alone (a process has about ten).
    const MAX: usize = 32;
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return 0;
    };
    let mut bytes = shed_stack(&smaps);
    let here = shed as *const () as usize;
    let mut list = droppable(&smaps);
    drop(smaps);
    // This function's own mapping goes to the end of the list.
    if let Some(i) = list
        .iter()
        .position(|d| (d.start..d.start + d.len).contains(&here))
    {
        let own = list.remove(i);
        list.push(own);
    }
    let mut ranges = [Droppable::default(); MAX];
    let n = list.len().min(MAX);
    ranges[..n].copy_from_slice(&list[list.len() - n..]);
    drop(list);
    trim_heap();
    for d in &ranges[..n] {
        // SAFETY: each range is one whole mapping of this process, taken
        // from /proc/self/smaps just above: private, file-backed, not
        // writable, and without anonymous (copy-on-write) pages, so every
        // page in it is a clean copy of the file. Dropping them only
        // unmaps them from this process; the next access maps the same
        // bytes again from the page cache (or the file). No Rust object
        // lives in such a mapping as data that could change, and code
        // running in it (this function included) simply faults back.
        #[allow(unsafe_code)]
        let dropped = unsafe { dont_need(d) };
        bytes += dropped;
    }
    bytes / 1024
}

/// `MADV_DONTNEED` on `d`; how many bytes were let go.
///
/// # Safety
/// Nothing may be read from `d` afterwards expecting what it held: a file
/// mapping reads back from the file, anonymous memory as zeros.
// SAFETY (of the attribute): the section only places the code:
// `.text.hot.*` is an ordinary executable text section that every linker
// merges into `.text` (see the module's text for why).
#[allow(unsafe_code)]
#[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.jobd_idle"))]
unsafe fn dont_need(d: &Droppable) -> usize {
    // SAFETY: the caller vouches for the range (above).
    #[allow(unsafe_code)]
    let r =
        unsafe { rustix::mm::madvise(d.start as *mut _, d.len, rustix::mm::Advice::LinuxDontNeed) };
    if r.is_ok() { d.len } else { 0 }
}

/// Lets go of the main thread's stack pages below this frame; bytes.
#[inline(never)]
fn shed_stack(smaps: &str) -> usize {
    let here = 0u8;
    let sp = std::hint::black_box(&here) as *const u8 as usize;
    let Some(d) = stack_mapping(smaps).and_then(|m| dead_stack(m, sp)) else {
        // Not on the main thread (or no stack mapping): nothing to do.
        return 0;
    };
    // SAFETY: the range is the part of this thread's own stack mapping
    // that lies a page or more below the current frame. The stack grows
    // down, so no frame, local or red zone lives there; a signal handler
    // frame could only be pushed there after the syscall returns. Once
    // dropped the pages read as zeros and are faulted in on next use,
    // exactly like stack never touched before.
    #[allow(unsafe_code)]
    unsafe {
        dont_need(&d)
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn trim_heap() {
    // SAFETY: malloc_trim takes a pad size and only returns free memory at
    // the top of the heaps to the kernel; it is thread-safe (it takes the
    // arena locks) and touches no memory the program owns.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim_heap() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_clean_read_only_file_mappings_are_dropped() {
        let smaps = "\
55d0c0000000-55d0c0200000 r-xp 00000000 fd:01 1234 /usr/bin/jobd
Rss:                2048 kB
Anonymous:             0 kB
55d0c0200000-55d0c0260000 r--p 00200000 fd:01 1234 /usr/bin/jobd
Anonymous:            24 kB
55d0c0260000-55d0c0270000 rw-p 00260000 fd:01 1234 /usr/bin/jobd
Anonymous:             0 kB
55d0c1000000-55d0c1100000 rw-p 00000000 00:00 0 [heap]
Anonymous:          1024 kB
7f0000000000-7f0000010000 r--p 00000000 fd:01 99 /usr/lib/locale/C.utf8/LC_CTYPE
Anonymous:             0 kB
7f0000020000-7f0000021000 r-xs 00000000 00:05 7 /dev/shm/x
Anonymous:             0 kB
7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0 [vdso]
Anonymous:             0 kB
";
        assert_eq!(
            droppable(smaps),
            [
                Droppable {
                    start: 0x55d0c0000000,
                    len: 0x200000
                },
                Droppable {
                    start: 0x7f0000000000,
                    len: 0x10000
                },
            ]
        );
    }

    #[test]
    fn only_stack_pages_a_page_below_the_stack_pointer_are_dropped() {
        let smaps = "\
7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0 [vdso]
7ffc00000000-7ffc00100000 rw-p 00000000 00:00 0                          [stack]
Rss:                  12 kB
";
        let m = stack_mapping(smaps);
        assert_eq!(m, Some((0x7ffc00000000, 0x7ffc00100000)));
        let m = m.unwrap();
        assert_eq!(
            dead_stack(m, 0x7ffc000f8123),
            Some(Droppable {
                start: 0x7ffc00000000,
                len: 0xf7000
            })
        );
        // Not in the mapping (another thread's stack), or no page to spare.
        assert_eq!(dead_stack(m, 0x7f0000000000), None);
        assert_eq!(dead_stack(m, 0x7ffc00001008), None);
    }

    #[test]
    fn shedding_keeps_the_process_working() {
        // Code and read-only data are dropped under the running test and
        // come back on first touch.
        let text = String::from("still here");
        assert!(shed() > 0);
        assert_eq!(text, "still here");
        assert_eq!(format!("{:?}", [1, 2, 3]), "[1, 2, 3]");
    }
}
