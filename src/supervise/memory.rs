//! The daemon's resident memory while it idles.
//!
//! Most of an idle daemon's resident set is not its data but its code: the
//! pages of the `jobd` binary and of libc that start-up touched (parsing
//! the config, computing every schedule) and that the kernel mapped
//! around them (fault-around maps up to 64 KiB around each fault, and
//! large page-cache folios map whole). An idle jobd runs a few kilobytes
//! of that code per wake-up.
//!
//! [`shed`] tells the kernel, after start-up and after each reload, that
//! the daemon no longer needs the pages of its read-only file mappings
//! (`MADV_DONTNEED`): they stay in the page cache, shared with every other
//! process, and whatever code runs next is mapped back on first touch (a
//! minor fault, no disk read). Only mappings that cannot hold data of the
//! daemon's own are touched: private, not writable, and without a single
//! anonymous (copy-on-write) page, so dropping them loses nothing. The
//! heap is trimmed too (`malloc_trim`): start-up's temporary allocations
//! are given back.

/// One mapping of `/proc/self/smaps` that may be dropped.
#[derive(Debug, PartialEq, Eq)]
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

/// Drops the daemon's clean file-backed pages and trims the heap; how
/// many kilobytes of mappings were let go (for the log).
pub fn shed() -> usize {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return 0;
    };
    let mut bytes = 0;
    for d in droppable(&smaps) {
        // SAFETY: the range is one whole mapping of this process, taken
        // from /proc/self/smaps just above: private, file-backed, not
        // writable, and without anonymous (copy-on-write) pages, so every
        // page in it is a clean copy of the file. MADV_DONTNEED only
        // unmaps those pages from this process; the next access maps the
        // same bytes again from the page cache (or the file). No Rust
        // object lives in such a mapping as data that could change, and
        // code running in it (this function included) simply faults back.
        #[allow(unsafe_code)]
        let r = unsafe {
            rustix::mm::madvise(d.start as *mut _, d.len, rustix::mm::Advice::LinuxDontNeed)
        };
        if r.is_ok() {
            bytes += d.len;
        }
    }
    trim_heap();
    bytes / 1024
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
    fn shedding_keeps_the_process_working() {
        // Code and read-only data are dropped under the running test and
        // come back on first touch.
        let text = String::from("still here");
        assert!(shed() > 0);
        assert_eq!(text, "still here");
        assert_eq!(format!("{:?}", [1, 2, 3]), "[1, 2, 3]");
    }
}
