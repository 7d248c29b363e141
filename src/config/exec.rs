//! `exec` to argv: shell quoting without a shell, then systemd's variable
//! rules (systemd.service(5), "Command lines").
//!
//! - Words split on unquoted white space; `'…'` is literal, `"…"` keeps
//!   `\"`, `\\`, `\$` and `` \` `` as escapes, a backslash outside quotes
//!   escapes the next character. An unterminated quote is an error.
//! - `${VAR}` expands to its value inside one word (unset: empty), in
//!   unquoted and double-quoted text; `$$` is a literal `$`.
//! - A word that is exactly an unquoted `$VAR` becomes the value split on
//!   white space (zero or more words), as systemd does.
//! - Nothing expands inside single quotes.
//! - `~/` at the start of a word (unquoted) is `$HOME/`.
//!
//! A shell-quoting crate (shlex) cannot say which characters were quoted,
//! which the expansion rules need, so the tokenizer is ours (~100 lines).

/// Looks up variables for expansion: the job's `environment` over the
/// daemon's.
pub trait Vars {
    fn get(&self, name: &str) -> Option<&str>;
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Quote {
    None,
    Single,
    Double,
}

/// An `exec` string that cannot be split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecError {
    /// 0-based character offset in the string.
    pub offset: usize,
    pub message: String,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Adds `c` to the word, to its last segment if that is quoted alike.
fn push(word: &mut Vec<(String, Quote)>, c: char, q: Quote) {
    match word.last_mut() {
        Some((text, last)) if *last == q => text.push(c),
        _ => word.push((c.to_string(), q)),
    }
}

/// A quote opened at `start` and never closed.
fn unterminated(start: usize, what: &str) -> ExecError {
    ExecError {
        offset: start,
        message: format!("unterminated {what}"),
    }
}

/// The single-quoted text starting at `chars[start]` (a `'`) onto the
/// word; the index after the closing quote.
fn single_quoted(
    chars: &[char],
    start: usize,
    word: &mut Vec<(String, Quote)>,
) -> Result<usize, ExecError> {
    // An empty '' still makes a word: keep an empty segment.
    word.push((String::new(), Quote::Single));
    let mut i = start + 1;
    loop {
        match chars.get(i) {
            None => return Err(unterminated(start, "single quote; close it with '")),
            Some('\'') => return Ok(i + 1),
            Some(&c) => push(word, c, Quote::Single),
        }
        i += 1;
    }
}

/// The double-quoted text starting at `chars[start]` (a `"`) onto the
/// word, backslash escapes resolved; the index after the closing quote.
fn double_quoted(
    chars: &[char],
    start: usize,
    word: &mut Vec<(String, Quote)>,
) -> Result<usize, ExecError> {
    word.push((String::new(), Quote::Double));
    let mut i = start + 1;
    loop {
        match chars.get(i) {
            None => return Err(unterminated(start, "double quote; close it with \"")),
            Some('"') => return Ok(i + 1),
            Some('\\') if matches!(chars.get(i + 1), Some('"' | '\\' | '`')) => {
                push(word, chars[i + 1], Quote::Double);
                i += 1;
            }
            Some('\\') if chars.get(i + 1) == Some(&'$') => {
                // An escaped `$` is literal: mark it as quoted so
                // expansion skips it.
                word.push(("$".into(), Quote::Single));
                i += 1;
            }
            Some(&c) => push(word, c, Quote::Double),
        }
        i += 1;
    }
}

/// Splits the string form into words of (text, quoting) segments.
fn tokenize(s: &str) -> Result<Vec<Vec<(String, Quote)>>, ExecError> {
    let chars: Vec<char> = s.chars().collect();
    let mut words: Vec<Vec<(String, Quote)>> = Vec::new();
    let mut word: Vec<(String, Quote)> = Vec::new();
    let mut in_word = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                i += 1;
            }
            '\'' => {
                in_word = true;
                i = single_quoted(&chars, i, &mut word)?;
            }
            '"' => {
                in_word = true;
                i = double_quoted(&chars, i, &mut word)?;
            }
            '\\' => {
                in_word = true;
                match chars.get(i + 1) {
                    None => {
                        return Err(ExecError {
                            offset: i,
                            message: "a backslash ends the command; remove it or quote it".into(),
                        });
                    }
                    Some(&n) => push(&mut word, n, Quote::Single),
                }
                i += 2;
            }
            c => {
                in_word = true;
                push(&mut word, c, Quote::None);
                i += 1;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// Expands `${VAR}` and `$$` in text that is not single-quoted.
fn expand(text: &str, vars: &dyn Vars, out: &mut String) -> Result<(), String> {
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('{') {
            let Some(end) = tail.find('}') else {
                return Err(format!(
                    "unterminated ${{ in {text:?}; write ${{NAME}} or $$ for a literal $"
                ));
            };
            let name = &tail[..end];
            if name.is_empty() || !name.chars().all(is_name_char) {
                return Err(format!(
                    "invalid variable name {name:?}; names are letters, digits and _"
                ));
            }
            out.push_str(vars.get(name).unwrap_or(""));
            rest = &tail[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(())
}

fn expand_home(word: &mut String, first_unquoted: bool, vars: &dyn Vars) {
    if first_unquoted && word.starts_with("~/") {
        let home = vars.get("HOME").unwrap_or("");
        word.replace_range(..1, home);
    }
}

/// Splits and expands the string form of `exec`.
pub fn split(s: &str, vars: &dyn Vars) -> Result<Vec<String>, ExecError> {
    let words = tokenize(s)?;
    let mut argv = Vec::new();
    for word in words {
        // `$VAR` alone, unquoted: split on white space.
        if let [(text, Quote::None)] = word.as_slice()
            && let Some(name) = text.strip_prefix('$')
            && !name.is_empty()
            && name.chars().all(is_name_char)
        {
            if let Some(v) = vars.get(name) {
                argv.extend(v.split_whitespace().map(str::to_owned));
            }
            continue;
        }
        let mut out = String::new();
        for (text, q) in &word {
            match q {
                Quote::Single => out.push_str(text),
                _ => expand(text, vars, &mut out)
                    .map_err(|message| ExecError { offset: 0, message })?,
            }
        }
        let first_unquoted = word.first().is_some_and(|(_, q)| *q == Quote::None);
        expand_home(&mut out, first_unquoted, vars);
        argv.push(out);
    }
    Ok(argv)
}

/// Expands one word of the list form (or a path): `~/` and `${VAR}`.
pub fn expand_word(s: &str, vars: &dyn Vars) -> Result<String, String> {
    let mut out = String::new();
    expand(s, vars, &mut out)?;
    expand_home(&mut out, true, vars);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct M(HashMap<&'static str, &'static str>);
    impl Vars for M {
        fn get(&self, name: &str) -> Option<&str> {
            self.0.get(name).copied()
        }
    }

    fn vars() -> M {
        M(HashMap::from([
            ("HOME", "/home/u"),
            ("ARGS", "-a  -b"),
            ("DIR", "my dir"),
        ]))
    }

    fn sp(s: &str) -> Vec<String> {
        split(s, &vars()).unwrap()
    }

    #[test]
    fn quoting() {
        assert_eq!(sp("nix-index"), ["nix-index"]);
        assert_eq!(sp("  a   b\tc "), ["a", "b", "c"]);
        assert_eq!(
            sp(r#"sh -c 'echo "hi" $HOME'"#),
            ["sh", "-c", r#"echo "hi" $HOME"#]
        );
        assert_eq!(sp(r#"a "b c" d\ e"#), ["a", "b c", "d e"]);
        assert_eq!(sp(r#""a\"b" '' x"#), ["a\"b", "", "x"]);
        assert_eq!(sp(r#"a'b'"c""#), ["abc"]);
    }

    #[test]
    fn variables() {
        assert_eq!(sp("run ${DIR}"), ["run", "my dir"]);
        assert_eq!(sp("run $ARGS x"), ["run", "-a", "-b", "x"]);
        assert_eq!(sp("run $UNSET x"), ["run", "x"]);
        assert_eq!(
            sp("run \"${DIR}/f\" '${DIR}'"),
            ["run", "my dir/f", "${DIR}"]
        );
        assert_eq!(sp("echo $$ a$b \"\\$x\""), ["echo", "$", "a$b", "$x"]);
        assert_eq!(
            sp("ls ~/intake '~/x' ~root"),
            ["ls", "/home/u/intake", "~/x", "~root"]
        );
    }

    #[test]
    fn errors() {
        assert_eq!(split("a 'b", &vars()).unwrap_err().offset, 2);
        assert_eq!(split("a \"b", &vars()).unwrap_err().offset, 2);
        assert!(split("a b\\", &vars()).is_err());
        assert!(split("a ${X", &vars()).is_err());
    }

    #[test]
    fn list_words() {
        assert_eq!(expand_word("~/intake", &vars()).unwrap(), "/home/u/intake");
        assert_eq!(expand_word("${DIR} $x", &vars()).unwrap(), "my dir $x");
    }
}
