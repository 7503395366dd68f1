//! A whole agent output or spool file: section headers, piggyback blocks, every line.

use std::collections::HashMap;

use super::line::parse_local_line;
use super::watchpost::parse_watchpost_line;
use super::{Parsed, ParsedHost, ParsedSection, Problem};
use crate::names::validate_host_name;

/// Parses a whole agent output (or a spool file) and returns every problem found, each with
/// its line number, in line order.
pub fn validate_agent_output(text: &str) -> Result<Parsed, Vec<Problem>> {
    if text.is_empty() {
        return Err(vec![Problem {
            line: 1,
            message: "output is empty".into(),
        }]);
    }
    let mut reader = Reader::default();
    let body = match text.strip_suffix('\n') {
        Some(body) => body,
        None => {
            let last = text.split('\n').count();
            reader.problem(last, "no newline at the end of the output");
            text
        }
    };
    for (index, line) in body.split('\n').enumerate() {
        let line = match (index, line.strip_prefix('\u{feff}')) {
            (0, Some(rest)) => {
                reader.problem(1, "byte order mark at the start (write UTF-8 without BOM)");
                rest
            }
            _ => line,
        };
        reader.line(index + 1, line);
    }
    reader.finish()
}

/// What the lines after the current header belong to.
#[derive(Clone, Copy)]
enum Section {
    /// No section is open: Checkmk ignores data lines here.
    None,
    Local,
    /// A `watchpost` section, kept raw at this index of the host's sections and decoded.
    Watchpost {
        index: usize,
    },
    /// A `check_mk` or other section, kept raw at this index of the host's sections.
    Raw {
        index: usize,
        check_mk: bool,
    },
    /// A header that is already reported as invalid: its lines are not reported again.
    Invalid,
}

/// Which section a service line came from, for the duplicate check.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Local,
    Watchpost,
}

struct Reader {
    problems: Vec<Problem>,
    hosts: Vec<ParsedHost>,
    /// Per host: service name → the line it first appeared on, and in which kind of section.
    seen: Vec<HashMap<String, (usize, Kind)>>,
    host: usize,
    open_block: Option<(usize, String)>,
    section: Section,
}

impl Default for Reader {
    fn default() -> Reader {
        Reader {
            problems: Vec::new(),
            hosts: vec![ParsedHost {
                name: None,
                services: Vec::new(),
                watchpost: Vec::new(),
                sections: Vec::new(),
            }],
            seen: vec![HashMap::new()],
            host: 0,
            open_block: None,
            section: Section::None,
        }
    }
}

impl Reader {
    fn problem(&mut self, line: usize, message: impl Into<String>) {
        self.problems.push(Problem {
            line,
            message: message.into(),
        });
    }

    fn line(&mut self, no: usize, line: &str) {
        let line = match line.strip_suffix('\r') {
            Some(line) => {
                self.problem(no, "CRLF line ending (use LF only)");
                line
            }
            None => line,
        };
        if line.is_empty() {
            self.problem(no, "empty line");
        } else if line.len() >= 8 && line.starts_with("<<<<") && line.ends_with(">>>>") {
            self.piggyback_marker(no, &line[4..line.len() - 4]);
        } else if line.len() >= 6 && line.starts_with("<<<") && line.ends_with(">>>") {
            self.section_header(no, line, &line[3..line.len() - 3]);
        } else {
            self.data(no, line);
        }
    }

    fn piggyback_marker(&mut self, no: usize, name: &str) {
        self.section = Section::None;
        if name.is_empty() {
            if self.open_block.take().is_none() {
                self.problem(no, "<<<<>>>> closes no piggyback block");
            }
            self.host = 0;
            return;
        }
        if let Some((open_no, open_name)) = self.open_block.take() {
            let message = format!(
                "piggyback block for {name:?} opens while the block for {open_name:?} \
                 from line {open_no} is still open (close it with <<<<>>>>)"
            );
            self.problem(no, message);
        }
        if let Err(reason) = validate_host_name(name) {
            self.problem(
                no,
                format!("invalid piggyback host name {name:?}: {reason}"),
            );
        }
        self.open_block = Some((no, name.to_string()));
        self.host = match self
            .hosts
            .iter()
            .position(|h| h.name.as_deref() == Some(name))
        {
            Some(index) => index,
            None => {
                let name = Some(name.to_string());
                self.hosts.push(ParsedHost {
                    name,
                    services: Vec::new(),
                    watchpost: Vec::new(),
                    sections: Vec::new(),
                });
                self.seen.push(HashMap::new());
                self.hosts.len() - 1
            }
        };
    }

    fn section_header(&mut self, no: usize, line: &str, inner: &str) {
        self.section = Section::Invalid;
        if inner.is_empty() {
            self.problem(no, "section footer <<<>>> is not part of the protocol");
            return;
        }
        let (name, options) = match inner.split_once(':') {
            Some((name, options)) => (name, Some(options)),
            None => (inner, None),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            self.problem(
                no,
                format!("invalid section name {name:?} (allowed: A-Z a-z 0-9 _)"),
            );
            return;
        }
        let mut separator = None;
        for option in options.into_iter().flat_map(|o| o.split(':')) {
            match check_option(option) {
                Ok(Some(sep)) => separator = Some(sep),
                Ok(None) => {}
                Err(message) => self.problem(no, message),
            }
        }
        if name == "local" {
            if separator != Some(0) {
                let message = "local section without sep(0): Checkmk would split its lines \
                               on whitespace and collapse spaces in summaries";
                self.problem(no, message);
            }
            self.section = Section::Local;
            return;
        }
        let sections = &mut self.hosts[self.host].sections;
        sections.push(ParsedSection {
            name: name.to_string(),
            header: line.to_string(),
            lines: Vec::new(),
        });
        let index = sections.len() - 1;
        self.section = if name == "watchpost" {
            Section::Watchpost { index }
        } else {
            Section::Raw {
                index,
                check_mk: name == "check_mk",
            }
        };
    }

    fn data(&mut self, no: usize, line: &str) {
        match self.section {
            Section::None => self.problem(no, "line outside any section (Checkmk ignores it)"),
            Section::Invalid => {}
            Section::Local => match parse_local_line(line) {
                Err(message) => self.problem(no, message),
                Ok(parsed) => {
                    self.service_seen(no, &parsed.service, Kind::Local);
                    self.hosts[self.host].services.push(parsed);
                }
            },
            Section::Watchpost { index } => {
                self.hosts[self.host].sections[index]
                    .lines
                    .push(line.to_string());
                let parsed = match line.chars().find(|c| c.is_control() && *c != '\t') {
                    Some(c) => Err(format!("control character {c:?} in the line")),
                    None => parse_watchpost_line(line),
                };
                match parsed {
                    Err(message) => self.problem(no, message),
                    Ok(parsed) => {
                        self.service_seen(no, &parsed.service, Kind::Watchpost);
                        self.hosts[self.host].watchpost.push(parsed);
                    }
                }
            }
            Section::Raw { index, check_mk } => {
                if let Some(c) = line.chars().find(|c| c.is_control() && *c != '\t') {
                    self.problem(no, format!("control character {c:?} in the line"));
                } else if check_mk && !is_key_value(line) {
                    self.problem(no, "check_mk line is not `Key: value`");
                }
                self.hosts[self.host].sections[index]
                    .lines
                    .push(line.to_string());
            }
        }
    }

    /// Records a service of the current host, reporting a name it already has.
    fn service_seen(&mut self, no: usize, service: &str, kind: Kind) {
        let Some(&(first, first_kind)) = self.seen[self.host].get(service) else {
            self.seen[self.host].insert(service.to_string(), (no, kind));
            return;
        };
        let message = match (first_kind, kind) {
            (Kind::Local, Kind::Local) => format!(
                "duplicate service {service:?} (first on line {first}): \
                 Checkmk keeps only the last one"
            ),
            (Kind::Watchpost, Kind::Watchpost) => format!(
                "duplicate watchpost service {service:?} (first on line {first}): \
                 the watchpost plugin shows only the first one"
            ),
            _ => format!(
                "service {service:?} is both a local check and a watchpost service \
                 (first on line {first}): Checkmk allows one service of a name per host"
            ),
        };
        self.problem(no, message);
    }

    fn finish(mut self) -> Result<Parsed, Vec<Problem>> {
        if let Some((no, name)) = self.open_block.take() {
            self.problem(
                no,
                format!("piggyback block for {name:?} is not closed (end it with <<<<>>>>)"),
            );
        }
        if self.problems.is_empty() {
            Ok(Parsed { hosts: self.hosts })
        } else {
            self.problems.sort_by_key(|p| p.line);
            Err(self.problems)
        }
    }
}

/// One `name(value)` section option; `Ok(Some(code))` for `sep(code)`.
fn check_option(option: &str) -> Result<Option<u32>, String> {
    let malformed = || format!("malformed section option {option:?} (expected name(value))");
    let (key, rest) = option.split_once('(').ok_or_else(malformed)?;
    let value = rest.strip_suffix(')').ok_or_else(malformed)?;
    let digits = |v: &str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
    let ok = match key {
        "sep" => {
            return value
                .parse::<u32>()
                .ok()
                .filter(|code| digits(value) && char::from_u32(*code).is_some())
                .map(Some)
                .ok_or_else(|| format!("sep({value}) is not a character code"));
        }
        "cached" => value
            .split_once(',')
            .is_some_and(|(a, b)| digits(a) && digits(b)),
        "persist" => digits(value),
        "encoding" => !value.is_empty(),
        "nostrip" => value.is_empty(),
        _ => return Err(format!("unknown section option {key:?}")),
    };
    if ok {
        Ok(None)
    } else {
        Err(format!("invalid section option {option:?}"))
    }
}

/// `Key: value` (the value may be empty, as in the Linux agent's `OnlyFrom: `).
fn is_key_value(line: &str) -> bool {
    let Some((key, value)) = line.split_once(':') else {
        return false;
    };
    !key.is_empty()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && (value.is_empty() || value.starts_with(' '))
}
