//! PURE: journald's native protocol and splitting output into entries.
//!
//! An entry is a sequence of fields (systemd's `journal-native-protocol`
//! document): `KEY=value\n` when the value holds no newline and is valid
//! UTF-8, otherwise `KEY\n`, the value's length as a little-endian u64,
//! the bytes, `\n` — so binary and multi-line values arrive intact.

/// Appends one field.
pub fn field(buf: &mut Vec<u8>, key: &str, value: &[u8]) {
    buf.extend_from_slice(key.as_bytes());
    if value.contains(&b'\n') || std::str::from_utf8(value).is_err() {
        buf.push(b'\n');
        buf.extend_from_slice(&(value.len() as u64).to_le_bytes());
        buf.extend_from_slice(value);
    } else {
        buf.push(b'=');
        buf.extend_from_slice(value);
    }
    buf.push(b'\n');
}

/// A line's priority: `<N>` at its start (N in 0..=7, sd-daemon(3)) is
/// taken off and gives the priority; otherwise `default`.
pub fn priority(line: &[u8], default: u8) -> (u8, &[u8]) {
    match line {
        [b'<', d @ b'0'..=b'7', b'>', rest @ ..] => (d - b'0', rest),
        _ => (default, line),
    }
}

/// The most one entry's MESSAGE holds; longer lines are split
/// (SPEC §4: journald's 48 KiB stream limit does not apply).
pub const LINE_MAX: usize = 1 << 20;

/// Splits a byte stream into lines as it arrives: a line ends at `\n`
/// (not included; `\r` stays inside), is cut into [`LINE_MAX`] pieces, and
/// what is left without a newline at the end is a line of its own.
#[derive(Debug, Default)]
pub struct Lines {
    partial: Vec<u8>,
}

impl Lines {
    /// Feeds `chunk`; calls `emit` for each complete line, in order.
    pub fn feed(&mut self, mut chunk: &[u8], mut emit: impl FnMut(&[u8])) {
        while !chunk.is_empty() {
            let room = LINE_MAX - self.partial.len();
            // One byte past the room: a full line followed by its newline
            // is one entry, not a full one and an empty one.
            let look = chunk.len().min(room + 1);
            if let Some(n) = chunk[..look].iter().position(|&b| b == b'\n') {
                if self.partial.is_empty() {
                    emit(&chunk[..n]);
                } else {
                    self.partial.extend_from_slice(&chunk[..n]);
                    emit(&self.partial);
                    self.partial.clear();
                }
                chunk = &chunk[n + 1..];
            } else if room == 0 {
                emit(&self.partial);
                self.partial.clear();
            } else {
                let take = chunk.len().min(room);
                self.partial.extend_from_slice(&chunk[..take]);
                chunk = &chunk[take..];
            }
        }
        // One long line must not keep its megabyte for the stream's life.
        if self.partial.is_empty() && self.partial.capacity() > 64 * 1024 {
            self.partial = Vec::new();
        }
    }

    /// The stream ended: a last line without newline is emitted.
    pub fn finish(&mut self, mut emit: impl FnMut(&[u8])) {
        if !self.partial.is_empty() {
            emit(&self.partial);
            self.partial.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(mut b: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        while !b.is_empty() {
            let eol = b.iter().position(|&c| c == b'\n').unwrap();
            let head = &b[..eol];
            if let Some(eq) = head.iter().position(|&c| c == b'=') {
                out.push((
                    String::from_utf8(head[..eq].to_vec()).unwrap(),
                    head[eq + 1..].to_vec(),
                ));
                b = &b[eol + 1..];
            } else {
                let key = String::from_utf8(head.to_vec()).unwrap();
                let len = u64::from_le_bytes(b[eol + 1..eol + 9].try_into().unwrap()) as usize;
                let v = b[eol + 9..eol + 9 + len].to_vec();
                assert_eq!(b[eol + 9 + len], b'\n');
                out.push((key, v));
                b = &b[eol + 10 + len..];
            }
        }
        out
    }

    #[test]
    fn fields_round_trip_binary_and_newlines() {
        let mut buf = Vec::new();
        field(&mut buf, "MESSAGE", b"plain text \r with cr");
        field(&mut buf, "BIN", b"\xff\xfe not utf-8");
        field(&mut buf, "MULTI", b"two\nlines");
        field(&mut buf, "EMPTY", b"");
        assert!(buf.starts_with(b"MESSAGE=plain text \r with cr\n"));
        assert_eq!(
            decode(&buf),
            [
                ("MESSAGE".into(), b"plain text \r with cr".to_vec()),
                ("BIN".into(), b"\xff\xfe not utf-8".to_vec()),
                ("MULTI".into(), b"two\nlines".to_vec()),
                ("EMPTY".into(), b"".to_vec()),
            ]
        );
    }

    #[test]
    fn priority_prefix() {
        assert_eq!(priority(b"<3>disk on fire", 6), (3, &b"disk on fire"[..]));
        assert_eq!(priority(b"<7>", 6), (7, &b""[..]));
        assert_eq!(priority(b"<8>not a level", 6), (6, &b"<8>not a level"[..]));
        assert_eq!(priority(b"<3", 6), (6, &b"<3"[..]));
        assert_eq!(priority(b"plain", 4), (4, &b"plain"[..]));
    }

    fn split(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut l = Lines::default();
        let mut out = Vec::new();
        for c in chunks {
            l.feed(c, |x| out.push(x.to_vec()));
        }
        l.finish(|x| out.push(x.to_vec()));
        out
    }

    #[test]
    fn lines_across_chunks_and_the_last_without_newline() {
        let got = split(&[b"a\nb", b"c\r50%\rdone\n\n", b"tail"]);
        assert_eq!(
            got,
            [
                b"a".to_vec(),
                b"bc\r50%\rdone".to_vec(),
                b"".to_vec(),
                b"tail".to_vec()
            ]
        );
    }

    #[test]
    fn long_lines_are_cut_at_one_mebibyte() {
        let big = vec![b'x'; LINE_MAX * 2 + 10];
        let mut input = big.clone();
        input.push(b'\n');
        // Fed in odd-sized chunks.
        let chunks: Vec<&[u8]> = input.chunks(65_537).collect();
        let got = split(&chunks);
        let lens: Vec<usize> = got.iter().map(Vec::len).collect();
        assert_eq!(lens, [LINE_MAX, LINE_MAX, 10]);
        assert_eq!(got.concat(), big);
        // Exactly one MiB then its newline, in two chunks: one entry.
        let mut exact = vec![b'y'; LINE_MAX];
        exact.push(b'\n');
        let (a, b) = exact.split_at(LINE_MAX);
        let lens: Vec<usize> = split(&[a, b]).iter().map(Vec::len).collect();
        assert_eq!(lens, [LINE_MAX]);
    }
}
