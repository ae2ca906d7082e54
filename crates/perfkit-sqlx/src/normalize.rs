//! Statement normalization: the literals taken out of SQL text, so one statement with
//! different values is one series, as one route with different ids is one route template.
//!
//! String, number, dollar-quoted and prefixed (`E'..'`, `X'..'`) literals become `?`;
//! comments go and whitespace collapses; lists of literals (`IN (1, 2, 3)`, multi-row
//! `VALUES`) collapse to one `?` or one row, so a list's length does not make a new series.
//! Placeholders (`$1`, `?`, `:name`) and quoted identifiers stay as written. The result is at
//! most [`MAX_STATEMENT_CHARS`] characters.

/// The longest normalized statement kept; longer ones are cut and end in `…`.
pub const MAX_STATEMENT_CHARS: usize = 2048;

/// `sql` with its literals replaced by `?`, comments removed and whitespace collapsed.
///
/// ```
/// use perfkit_sqlx::normalize;
///
/// assert_eq!(
///     normalize("SELECT *  FROM posts\n WHERE user_id = 42 AND title = 'it''s' -- note"),
///     "SELECT * FROM posts WHERE user_id = ? AND title = ?",
/// );
/// assert_eq!(normalize("SELECT * FROM t WHERE id IN (1, 2, 3) AND x = $1"), "SELECT * FROM t WHERE id IN (?) AND x = $1");
/// assert_eq!(normalize("INSERT INTO t VALUES (1, 'a'), (2, 'b')"), "INSERT INTO t VALUES (?)");
/// ```
#[must_use]
pub fn normalize(sql: &str) -> String {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len().min(MAX_STATEMENT_CHARS));
    let mut i = 0;
    let mut pending_space = false;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            pending_space = true;
            i += 1;
            continue;
        }
        if c == '-' && next == Some('-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            pending_space = true;
            continue;
        }
        if c == '/' && next == Some('*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i = (i + 2).min(chars.len());
            pending_space = true;
            continue;
        }
        if pending_space && !out.is_empty() {
            out.push(' ');
        }
        pending_space = false;
        match c {
            '\'' => {
                drop_literal_prefix(&mut out);
                i = skip_quoted(&chars, i, '\'');
                out.push('?');
            }
            '"' | '`' => {
                let end = skip_quoted(&chars, i, c);
                out.extend(&chars[i..end]);
                i = end;
            }
            '$' => match next {
                Some(d) if d.is_ascii_digit() => {
                    out.push('$');
                    i += 1;
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        out.push(chars[i]);
                        i += 1;
                    }
                }
                Some(t) if t == '$' || is_ident_start(t) => match skip_dollar_quoted(&chars, i) {
                    Some(end) => {
                        out.push('?');
                        i = end;
                    }
                    None => {
                        out.push('$');
                        i += 1;
                    }
                },
                _ => {
                    out.push('$');
                    i += 1;
                }
            },
            _ if starts_number(&chars, i) => {
                i = skip_number(&chars, i);
                out.push('?');
            }
            c if is_ident_char(c) => {
                while i < chars.len() && is_ident_char(chars[i]) {
                    out.push(chars[i]);
                    i += 1;
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    let collapsed = collapse_lists(out);
    truncate(collapsed)
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether a number literal starts at `i`: a digit (or `.digit`) not inside an identifier.
fn starts_number(chars: &[char], i: usize) -> bool {
    let before = i.checked_sub(1).map(|b| chars[b]);
    // `c1`, `$1` and `t.1c` are not numbers; `1.5` is read whole by `skip_number`.
    let inside_name = |b: char| {
        is_ident_char(b) || b == '$' || (b == '.' && i >= 2 && is_ident_char(chars[i - 2]))
    };
    if before.is_some_and(inside_name) {
        return false;
    }
    match chars[i] {
        d if d.is_ascii_digit() => true,
        '.' => chars.get(i + 1).is_some_and(char::is_ascii_digit),
        _ => false,
    }
}

/// The end of a number literal starting at `i`: digits, a fraction, an exponent, hex.
fn skip_number(chars: &[char], mut i: usize) -> usize {
    if chars[i] == '0' && chars.get(i + 1).is_some_and(|x| *x == 'x' || *x == 'X') {
        i += 2;
        while i < chars.len() && chars[i].is_ascii_hexdigit() {
            i += 1;
        }
        return i;
    }
    while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.' || chars[i] == '_') {
        i += 1;
    }
    if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
        let mut j = i + 1;
        if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
            j += 1;
        }
        if j < chars.len() && chars[j].is_ascii_digit() {
            i = j;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    i
}

/// The index after a quoted run that starts at `i` with `quote`; a doubled quote is an
/// escaped one, and so is a backslash-escaped one (MySQL, PostgreSQL's `E'..'`).
fn skip_quoted(chars: &[char], i: usize, quote: char) -> usize {
    let mut j = i + 1;
    while j < chars.len() {
        if chars[j] == '\\' && quote == '\'' {
            j += 2;
            continue;
        }
        if chars[j] == quote {
            if chars.get(j + 1) == Some(&quote) {
                j += 2;
                continue;
            }
            return j + 1;
        }
        j += 1;
    }
    chars.len()
}

/// The index after a dollar-quoted string (`$$..$$`, `$tag$..$tag$`) starting at `i`, or
/// `None` when `$` does not open one.
fn skip_dollar_quoted(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < chars.len() && is_ident_char(chars[j]) {
        j += 1;
    }
    if chars.get(j) != Some(&'$') {
        return None;
    }
    let tag = &chars[i..=j];
    let mut k = j + 1;
    while k + tag.len() <= chars.len() {
        if &chars[k..k + tag.len()] == tag {
            return Some(k + tag.len());
        }
        k += 1;
    }
    Some(chars.len())
}

/// Drops a string-literal prefix (`E`, `B`, `X`, `N`, `U&`) just written, so `E'a'` is `?`.
fn drop_literal_prefix(out: &mut String) {
    let prefix_len = if out.ends_with("U&") || out.ends_with("u&") {
        2
    } else if out.ends_with(['E', 'e', 'B', 'b', 'X', 'x', 'N', 'n']) {
        1
    } else {
        return;
    };
    let before = out[..out.len() - prefix_len].chars().next_back();
    if before.is_none_or(|c| !is_ident_char(c)) {
        out.truncate(out.len() - prefix_len);
    }
}

/// `?, ?, ?` becomes `?` and `(?), (?)` becomes `(?)`, repeatedly.
fn collapse_lists(mut text: String) -> String {
    loop {
        let before = text.len();
        for (from, to) in [("?, ?", "?"), ("?,?", "?"), ("(?), (?)", "(?)"), ("(?),(?)", "(?)")] {
            while text.contains(from) {
                text = text.replace(from, to);
            }
        }
        if text.len() == before {
            return text;
        }
    }
}

fn truncate(text: String) -> String {
    if text.chars().count() <= MAX_STATEMENT_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(MAX_STATEMENT_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_go_and_everything_else_stays() {
        let table = [
            ("SELECT 1", "SELECT ?"),
            ("select * from t where a=1.5e3 and b = -2", "select * from t where a=? and b = -?"),
            (
                "SELECT * FROM t2 WHERE c3 = $1 AND d = ?",
                "SELECT * FROM t2 WHERE c3 = $1 AND d = ?",
            ),
            (
                "SELECT \"Col 1\" FROM \"t\"\"q\" WHERE x = 'a''b'",
                "SELECT \"Col 1\" FROM \"t\"\"q\" WHERE x = ?",
            ),
            ("SELECT E'\\n', X'ff', B'01', N'x'", "SELECT ?"),
            ("SELECT $$a 'b' c$$, $tag$ $$ $tag$", "SELECT ?"),
            ("SELECT /* hint */ a -- trailing\nFROM t", "SELECT a FROM t"),
            ("SELECT pg_sleep(0.25)", "SELECT pg_sleep(?)"),
            ("SELECT 0xFF, .5, t.c1", "SELECT ?, t.c1"),
            ("WHERE id IN (1,2,3)", "WHERE id IN (?)"),
            ("VALUES (1, 'a'), (2, 'b'), (3, 'c')", "VALUES (?)"),
            ("  SELECT\n\t*\nFROM t  ", "SELECT * FROM t"),
            ("SELECT 'unterminated", "SELECT ?"),
            ("SELECT price$ FROM t", "SELECT price$ FROM t"),
        ];
        for (sql, expected) in table {
            assert_eq!(normalize(sql), expected, "{sql}");
        }
    }

    #[test]
    fn statements_differing_only_in_values_are_one() {
        assert_eq!(
            normalize("SELECT * FROM posts WHERE user_id = 7 LIMIT 10"),
            normalize("SELECT * FROM posts WHERE user_id = 12345 LIMIT 50")
        );
    }

    #[test]
    fn long_statements_are_cut() {
        let long = format!("SELECT {} FROM t", "c, ".repeat(2000));
        let normalized = normalize(&long);
        assert_eq!(normalized.chars().count(), MAX_STATEMENT_CHARS);
        assert!(normalized.ends_with('…'));
    }
}
