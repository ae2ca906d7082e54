//! A lexer just good enough to find items in Rust source: words and punctuation with their
//! line numbers, while comments, strings and character literals (whose braces and keywords
//! mean nothing) are dropped.

/// One token: a word (identifier, keyword or number) or a punctuation character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Token<'a> {
    /// An identifier, a keyword, or a run of digits and letters.
    Word(&'a str),
    /// Any other character outside comments and literals.
    Punct(char),
}

/// A token and the line (from 1) it starts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Spanned<'a> {
    pub(super) token: Token<'a>,
    pub(super) line: usize,
}

/// The tokens of `source`, comments and literals left out.
pub(super) fn tokens(source: &str) -> Vec<Spanned<'_>> {
    Lexer { source, bytes: source.as_bytes(), at: 0, line: 1, out: Vec::new() }.run()
}

struct Lexer<'a> {
    source: &'a str,
    bytes: &'a [u8],
    at: usize,
    line: usize,
    out: Vec<Spanned<'a>>,
}

fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80
}

impl<'a> Lexer<'a> {
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.at + ahead).copied()
    }

    fn run(mut self) -> Vec<Spanned<'a>> {
        while let Some(byte) = self.peek(0) {
            if let Some((prefix, raw)) = self.literal_prefix() {
                if raw {
                    self.raw_string(prefix);
                } else if self.peek(prefix) == Some(b'\'') {
                    self.at += prefix;
                    self.quote();
                } else {
                    self.string(prefix);
                }
                continue;
            }
            match byte {
                b'\n' => {
                    self.line += 1;
                    self.at += 1;
                }
                b'/' if self.peek(1) == Some(b'/') => self.line_comment(),
                b'/' if self.peek(1) == Some(b'*') => self.block_comment(),
                b'"' => self.string(0),
                b'\'' => self.quote(),
                _ if is_word_byte(byte) => self.word(),
                _ if byte.is_ascii_whitespace() => self.at += 1,
                _ => {
                    self.push(Token::Punct(char::from(byte)));
                    self.at += 1;
                }
            }
        }
        self.out
    }

    fn push(&mut self, token: Token<'a>) {
        self.out.push(Spanned { token, line: self.line });
    }

    /// For a literal's prefix at the cursor (`r"`, `r#"`, `b"`, `br#"`, `b'`, `c"`, `cr"`):
    /// its length and whether the literal is raw. `None` for a word such as `r#type`.
    fn literal_prefix(&self) -> Option<(usize, bool)> {
        if !matches!(self.peek(0), Some(b'r' | b'b' | b'c')) {
            return None;
        }
        let mut len = 0;
        if matches!(self.peek(0), Some(b'b' | b'c')) {
            len += 1;
        }
        let raw = self.peek(len) == Some(b'r');
        if raw {
            len += 1;
            let mut hashes = 0;
            while self.peek(len + hashes) == Some(b'#') {
                hashes += 1;
            }
            return (self.peek(len + hashes) == Some(b'"')).then_some((len, true));
        }
        match self.peek(len) {
            Some(b'"') if len > 0 => Some((len, false)),
            Some(b'\'') if self.peek(0) == Some(b'b') && len == 1 => Some((len, false)),
            _ => None,
        }
    }

    fn line_comment(&mut self) {
        while let Some(byte) = self.peek(0) {
            if byte == b'\n' {
                return;
            }
            self.at += 1;
        }
    }

    fn block_comment(&mut self) {
        let mut depth = 0usize;
        while let Some(byte) = self.peek(0) {
            match (byte, self.peek(1)) {
                (b'/', Some(b'*')) => {
                    depth += 1;
                    self.at += 2;
                }
                (b'*', Some(b'/')) => {
                    self.at += 2;
                    depth -= 1;
                    if depth == 0 {
                        return;
                    }
                }
                (b'\n', _) => {
                    self.line += 1;
                    self.at += 1;
                }
                _ => self.at += 1,
            }
        }
    }

    /// A string with escapes, starting `prefix` bytes before its opening quote.
    fn string(&mut self, prefix: usize) {
        self.at += prefix + 1;
        while let Some(byte) = self.peek(0) {
            self.at += 1;
            match byte {
                b'\\' => {
                    if self.peek(0) == Some(b'\n') {
                        self.line += 1;
                    }
                    self.at += 1;
                }
                b'\n' => self.line += 1,
                b'"' => return,
                _ => {}
            }
        }
    }

    /// A raw string (`r#"..."#`), its `r` `prefix` bytes after the cursor.
    fn raw_string(&mut self, prefix: usize) {
        self.at += prefix;
        let mut hashes = 0;
        while self.peek(0) == Some(b'#') {
            hashes += 1;
            self.at += 1;
        }
        self.at += 1; // the opening quote
        while let Some(byte) = self.peek(0) {
            self.at += 1;
            if byte == b'\n' {
                self.line += 1;
            }
            if byte == b'"' && (0..hashes).all(|i| self.peek(i) == Some(b'#')) {
                self.at += hashes;
                return;
            }
        }
    }

    /// A character literal (`'{'`, `'\n'`, `'\u{7d}'`) is skipped; a lifetime's quote (`'a`)
    /// is kept as punctuation and its name lexed as a word.
    fn quote(&mut self) {
        if self.peek(1) == Some(b'\\') {
            self.at += 2;
            while let Some(byte) = self.peek(0) {
                self.at += 1;
                if byte == b'\'' {
                    return;
                }
            }
            return;
        }
        let rest = &self.source[self.at + 1..];
        let width = rest.chars().next().map_or(0, char::len_utf8);
        if width > 0 && rest.as_bytes().get(width) == Some(&b'\'') {
            self.at += 1 + width + 1;
        } else {
            self.push(Token::Punct('\''));
            self.at += 1;
        }
    }

    fn word(&mut self) {
        let start = self.at;
        // A raw identifier (`r#type`) is one word.
        if self.peek(0) == Some(b'r')
            && self.peek(1) == Some(b'#')
            && self.peek(2).is_some_and(is_word_byte)
        {
            self.at += 2;
        }
        while self.peek(0).is_some_and(is_word_byte) {
            self.at += 1;
        }
        self.push(Token::Word(&self.source[start..self.at]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(source: &str) -> Vec<String> {
        tokens(source)
            .into_iter()
            .map(|t| match t.token {
                Token::Word(w) => w.to_owned(),
                Token::Punct(c) => c.to_string(),
            })
            .collect()
    }

    #[test]
    fn drops_comments_strings_and_chars_but_keeps_lifetimes() {
        let source =
            "a // b {\n/* c /* d */ } */ \"e { \\\" \" r#\"f \"} \"# '{' b'}' b\"}\" x<'a> r#type";
        assert_eq!(words(source), ["a", "x", "<", "'", "a", ">", "r#type"]);
    }

    #[test]
    fn counts_lines_through_comments_and_strings() {
        let source = "a\n/* \n */ \"\n\" b\nr#\"\n\"# c";
        let lines: Vec<usize> = tokens(source).iter().map(|t| t.line).collect();
        assert_eq!(lines, [1, 4, 6]);
    }
}
