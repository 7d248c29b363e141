//! `environment_file`: systemd's `EnvironmentFile=` syntax. PURE.
//!
//! One `KEY=VALUE` per line; blank lines and lines starting with `#` or
//! `;` are skipped; white space around the key and the value is dropped;
//! a value in double quotes keeps its spaces and takes `\"`, `\\`, `\n`,
//! `\t` escapes, one in single quotes is taken as it is; a backslash at
//! the end of a line continues it on the next. A line that is not
//! `KEY=VALUE` is left out and reported, as systemd ignores it with a
//! warning; unlike systemd, an `export ` in front is allowed (shell
//! `.env` files have it).

/// Variables in file order.
pub type Vars = Vec<(String, String)>;

/// The variables in `text`, in order, and the lines left out (1-based
/// line, what is wrong).
pub fn parse(text: &str) -> (Vars, Vec<(usize, String)>) {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        let mut line = line.to_owned();
        while line.ends_with('\\') && !line.ends_with("\\\\") {
            line.pop();
            match lines.next() {
                Some((_, more)) => line.push_str(more),
                None => break,
            }
        }
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        let t = t.strip_prefix("export ").unwrap_or(t);
        let Some((key, value)) = t.split_once('=') else {
            bad.push((i + 1, "not KEY=VALUE".to_owned()));
            continue;
        };
        let key = key.trim();
        if is_var_name(key) {
            out.push((key.to_owned(), unquote(value.trim())));
        } else {
            bad.push((i + 1, format!("{key:?} is not a variable name")));
        }
    }
    (out, bad)
}

/// A variable name: letters, digits and `_`, not first a digit.
pub fn is_var_name(k: &str) -> bool {
    !k.is_empty()
        && !k.starts_with(|c: char| c.is_ascii_digit())
        && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn unquote(v: &str) -> String {
    if let Some(inner) = v.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return inner.to_owned();
    }
    let Some(inner) = v.strip_prefix('"').and_then(|r| r.strip_suffix('"')) else {
        return v.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemd_environment_file_syntax() {
        let text = "# a comment\n; another\n\nTOKEN=abc123\n  SPACED = two words  \nQ=\"a \\\"quoted\\\" value\"\nS='single $x'\nLONG=one\\\ntwo\nEMPTY=\n";
        assert_eq!(
            parse(text).0,
            [
                ("TOKEN", "abc123"),
                ("SPACED", "two words"),
                ("Q", "a \"quoted\" value"),
                ("S", "single $x"),
                ("LONG", "onetwo"),
                ("EMPTY", ""),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        let (vars, bad) = parse("OK=1\nnonsense\nexport E=2\n1X=2\n");
        assert_eq!(
            vars,
            [("OK", "1"), ("E", "2")].map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        assert_eq!(bad[0], (2, "not KEY=VALUE".to_owned()));
        assert_eq!(bad[1].0, 4);
    }
}
