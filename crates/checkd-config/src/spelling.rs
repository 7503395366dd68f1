//! Where a character of a scalar's value stands in the file, for a problem found inside the
//! value (an expression's, a template's): YAML spells a value differently from what it is
//! (quotes, escapes, `''`, folded lines, block indentation), so the file is read again the way
//! the parser read it, character by character, until the wanted one.
//!
//! It deliberately gives up rather than guess: when the spelling it reads does not give the
//! value back, the caller points at the value's start.

use crate::tree::{Pos, Style};

/// The place of character `offset` of `value`, a scalar of `style` whose content starts at
/// `start` in `text`; `None` when the source does not spell the value the way this reads it.
pub(crate) fn place(
    text: &str,
    start: Pos,
    style: Style,
    value: &str,
    offset: usize,
) -> Option<Pos> {
    let lines: Vec<Vec<char>> = text.lines().map(|l| l.chars().collect()).collect();
    let wanted: Vec<char> = value.chars().collect();
    let mut reader = Reader {
        lines: &lines,
        line: start.line.checked_sub(1)?,
        column: start.column.checked_sub(1)?,
    };
    // The column of the content's first character: continuation lines of blocks keep it.
    let indent = reader.column;
    let mut produced = 0;
    match style {
        Style::DoubleQuoted | Style::SingleQuoted => {
            reader.expect(if style == Style::DoubleQuoted {
                '"'
            } else {
                '\''
            })?;
        }
        Style::Plain | Style::Literal | Style::Folded => {}
    }
    loop {
        if produced == offset {
            return Some(reader.pos());
        }
        let (chars, ahead) = match style {
            Style::Literal => reader.block_char(indent, false)?,
            Style::Folded => reader.block_char(indent, true)?,
            Style::Plain => reader.flow_char(None)?,
            Style::SingleQuoted => reader.flow_char(Some('\''))?,
            Style::DoubleQuoted => reader.flow_char(Some('"'))?,
        };
        for c in chars.chars() {
            if wanted.get(produced) != Some(&c) {
                return None;
            }
            produced += 1;
        }
        reader.advance(ahead);
        if produced > offset {
            return None;
        }
    }
}

/// A position in the file, read character by character.
struct Reader<'l> {
    lines: &'l [Vec<char>],
    /// 0-based.
    line: usize,
    column: usize,
}

impl Reader<'_> {
    fn pos(&self) -> Pos {
        Pos {
            line: self.line + 1,
            column: self.column + 1,
        }
    }

    fn at(&self, ahead: usize) -> Option<char> {
        self.lines.get(self.line)?.get(self.column + ahead).copied()
    }

    fn line_ends(&self) -> bool {
        self.lines
            .get(self.line)
            .is_none_or(|l| self.column >= l.len())
    }

    fn expect(&mut self, c: char) -> Option<()> {
        (self.at(0)? == c).then(|| self.column += 1)
    }

    /// Moves past `n` characters of the current line, or to the next line with `usize::MAX`.
    fn advance(&mut self, n: Step) {
        match n {
            Step::Chars(n) => self.column += n,
            Step::NextLine(column) => {
                self.line += 1;
                self.column = column;
            }
        }
    }

    /// The next value character of a literal or folded block, and how to move past it.
    fn block_char(&self, indent: usize, folded: bool) -> Option<(String, Step)> {
        if !self.line_ends() {
            return Some((self.at(0)?.to_string(), Step::Chars(1)));
        }
        // The line break: kept in a literal block; in a folded one a space between two lines
        // of text (more-indented and blank lines keep theirs, which this does not follow).
        let next = self.lines.get(self.line + 1)?;
        if next.len() <= indent || next[..indent].iter().any(|c| *c != ' ') {
            return None;
        }
        let joined = if folded { " " } else { "\n" };
        if folded && next[indent] == ' ' {
            return None;
        }
        Some((joined.to_string(), Step::NextLine(indent)))
    }

    /// The next value character of a plain or quoted flow scalar (`quote` ends it), and how to
    /// move past it. A line break folds into a space, with the next line's indentation.
    fn flow_char(&self, quote: Option<char>) -> Option<(String, Step)> {
        if self.line_ends() {
            let next = self.lines.get(self.line + 1)?;
            let first = next.iter().position(|c| *c != ' ' && *c != '\t')?;
            return Some((" ".to_string(), Step::NextLine(first)));
        }
        let c = self.at(0)?;
        match quote {
            Some('\'') if c == '\'' => {
                // `''` is one quote; a lone one ends the value.
                (self.at(1)? == '\'').then(|| ("'".to_string(), Step::Chars(2)))
            }
            Some('"') if c == '"' => None,
            Some('"') if c == '\\' => {
                let (decoded, len) = escape(self.lines.get(self.line)?, self.column + 1)?;
                Some((decoded, Step::Chars(1 + len)))
            }
            _ => Some((c.to_string(), Step::Chars(1))),
        }
    }
}

/// How to move past what was read.
#[derive(Clone, Copy)]
enum Step {
    Chars(usize),
    /// To this column of the next line.
    NextLine(usize),
}

/// A double-quoted escape after its backslash at `at`: what it means and how many source
/// characters it takes.
fn escape(line: &[char], at: usize) -> Option<(String, usize)> {
    let c = *line.get(at)?;
    let simple = match c {
        '0' => Some('\0'),
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        't' | '\t' => Some('\t'),
        'n' => Some('\n'),
        'v' => Some('\u{b}'),
        'f' => Some('\u{c}'),
        'r' => Some('\r'),
        'e' => Some('\u{1b}'),
        ' ' => Some(' '),
        '"' => Some('"'),
        '/' => Some('/'),
        '\\' => Some('\\'),
        'N' => Some('\u{85}'),
        '_' => Some('\u{a0}'),
        'L' => Some('\u{2028}'),
        'P' => Some('\u{2029}'),
        _ => None,
    };
    if let Some(simple) = simple {
        return Some((simple.to_string(), 1));
    }
    let digits = match c {
        'x' => 2,
        'u' => 4,
        'U' => 8,
        _ => return None,
    };
    let hex: String = line.get(at + 1..at + 1 + digits)?.iter().collect();
    let decoded = char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?;
    Some((decoded.to_string(), 1 + digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where `totl` of the one value of a one-key document stands.
    fn at(text: &str) -> Option<(usize, usize)> {
        let parsed = crate::tree::parse(text);
        let root = parsed.root.unwrap();
        let crate::tree::Kind::Map(entries) = &root.kind else {
            unreachable!()
        };
        let node = &entries[0].1;
        let crate::tree::Kind::Scalar {
            text: value, style, ..
        } = &node.kind
        else {
            unreachable!()
        };
        let offset = value[..value.find("totl").unwrap()].chars().count();
        place(text, node.pos, *style, value, offset).map(|p| (p.line, p.column))
    }

    #[test]
    fn every_style_reads_back_to_its_place() {
        assert_eq!(at("k: 'size(''x'') + totl'\n"), Some((1, 19)));
        assert_eq!(at("k: \"100.0 * \\\"x\\\" + totl\"\n"), Some((1, 21)));
        assert_eq!(at("k: size(xxxxx) + totl\n"), Some((1, 18)));
        assert_eq!(at("k: >-\n  size(xxxxx) +\n  totl\n"), Some((3, 3)));
        assert_eq!(at("k: |\n  size(xxxxx) +\n  totl\n"), Some((3, 3)));
        assert_eq!(at("k: size(xxxxx) +\n  totl\n"), Some((2, 3)));
        assert_eq!(at("k: \"size(xxxxx) +\n  totl\"\n"), Some((2, 3)));
        assert_eq!(at("k: \"\\u00e9\\t(xxxxxxx) totl\"\n"), Some((1, 23)));
    }

    #[test]
    fn a_spelling_it_does_not_follow_gives_up() {
        // A more-indented line of a folded block keeps its line break.
        assert_eq!(at("k: >\n  a\n    b\n  totl\n"), None);
    }
}
