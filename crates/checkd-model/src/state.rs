//! The four Checkmk states and their explicit worst-state order, OK < WARN < UNKNOWN < CRIT.
//!
//! The order is written out, not derived from the declaration order, because Checkmk's
//! numbers (CRIT 2, UNKNOWN 3) disagree with it; the numbers only serve the output and exit
//! codes.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The state of a service, as Checkmk knows it.
///
/// The *worst-state order* is OK < WARN < UNKNOWN < CRIT: CRIT is the worst even though its
/// Checkmk number (2) is below UNKNOWN's (3). `Ord` follows that order, written out in
/// [`State::severity`] instead of being derived from the declaration order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum State {
    Ok,
    Warn,
    Crit,
    Unknown,
}

impl State {
    /// All states, in Checkmk number order.
    pub const ALL: [State; 4] = [State::Ok, State::Warn, State::Crit, State::Unknown];

    /// The number Checkmk and Nagios use: 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN.
    pub const fn code(self) -> u8 {
        match self {
            State::Ok => 0,
            State::Warn => 1,
            State::Crit => 2,
            State::Unknown => 3,
        }
    }

    /// Rank in the worst-state order: OK 0 < WARN 1 < UNKNOWN 2 < CRIT 3.
    pub const fn severity(self) -> u8 {
        match self {
            State::Ok => 0,
            State::Warn => 1,
            State::Unknown => 2,
            State::Crit => 3,
        }
    }

    /// The state for a Nagios plugin exit code; anything outside 0–3 is UNKNOWN.
    pub const fn from_code(code: i64) -> State {
        match code {
            0 => State::Ok,
            1 => State::Warn,
            2 => State::Crit,
            _ => State::Unknown,
        }
    }

    /// The worse of two states.
    #[must_use]
    pub fn worst(self, other: State) -> State {
        std::cmp::max(self, other)
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warn => "WARN",
            State::Crit => "CRIT",
            State::Unknown => "UNKNOWN",
        }
    }
}

impl Ord for State {
    fn cmp(&self, other: &Self) -> Ordering {
        self.severity().cmp(&other.severity())
    }
}

impl PartialOrd for State {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::State::{self, *};

    #[test]
    fn worst_state_order_is_ok_warn_unknown_crit() {
        let mut states = vec![Crit, Unknown, Ok, Warn];
        states.sort();
        assert_eq!(states, vec![Ok, Warn, Unknown, Crit]);
        assert_eq!(Unknown.worst(Crit), Crit);
        assert_eq!(Crit.worst(Unknown), Crit);
        assert_eq!(Warn.worst(Unknown), Unknown);
        assert_eq!(Ok.worst(Warn), Warn);
    }

    #[test]
    fn codes_follow_checkmk() {
        let codes: Vec<u8> = State::ALL.iter().map(|s| s.code()).collect();
        assert_eq!(codes, vec![0, 1, 2, 3]);
        for s in State::ALL {
            assert_eq!(State::from_code(i64::from(s.code())), s);
        }
        assert_eq!(State::from_code(127), Unknown);
        assert_eq!(State::from_code(-1), Unknown);
    }
}
