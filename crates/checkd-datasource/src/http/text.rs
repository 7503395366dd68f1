//! Assertions on text: the body and response headers.

use checkd_model::plan::{HeaderAssertion, TextAssertion, TextTest};
use checkd_model::{Partial, State};

/// How much of an unexpected body a message quotes.
const QUOTED_CHARS: usize = 60;

pub(super) fn body(assertion: &TextAssertion, body: &str) -> Partial {
    let passed = holds(&assertion.test, body);
    let text = match (&assertion.test, passed) {
        // The whole body was expected to be something: say what it was instead.
        (TextTest::Equals(want), false) => format!("body is {:?}, expected {want:?}", cut(body)),
        (test, passed) => describe(test, "body", passed),
    };
    partial(assertion, passed, text)
}

/// Response header values are not quoted back: a `set-cookie` or token may be among them.
pub(super) fn header(assertion: &HeaderAssertion, headers: &[(String, String)]) -> Partial {
    let values: Vec<&str> = headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case(&assertion.name))
        .map(|(_, value)| value.as_str())
        .collect();
    let subject = format!("header {}", assertion.name);
    if values.is_empty() {
        return Partial::new(assertion.assertion.state, format!("{subject} missing"));
    }
    // Repeated fields are one comma-separated value (RFC 9110, section 5.3).
    let value = values.join(", ");
    let passed = holds(&assertion.assertion.test, &value);
    partial(
        &assertion.assertion,
        passed,
        describe(&assertion.assertion.test, &subject, passed),
    )
}

fn partial(assertion: &TextAssertion, passed: bool, text: String) -> Partial {
    Partial::new(if passed { State::Ok } else { assertion.state }, text)
}

fn holds(test: &TextTest, text: &str) -> bool {
    match test {
        TextTest::Equals(want) => text == want,
        TextTest::Contains(part) => text.contains(part.as_str()),
        TextTest::NotContains(part) => !text.contains(part.as_str()),
        TextTest::Matches(regex) => regex.is_match(text),
    }
}

fn describe(test: &TextTest, subject: &str, passed: bool) -> String {
    match (test, passed) {
        (TextTest::Equals(want), true) => format!("{subject} is {want:?}"),
        (TextTest::Equals(want), false) => format!("{subject} is not {want:?}"),
        (TextTest::Contains(part), true) | (TextTest::NotContains(part), false) => {
            format!("{subject} contains {part:?}")
        }
        (TextTest::Contains(part), false) | (TextTest::NotContains(part), true) => {
            format!("{subject} does not contain {part:?}")
        }
        (TextTest::Matches(regex), true) => format!("{subject} matches /{regex}/"),
        (TextTest::Matches(regex), false) => format!("{subject} does not match /{regex}/"),
    }
}

fn cut(text: &str) -> String {
    if text.chars().count() <= QUOTED_CHARS {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(QUOTED_CHARS).collect();
        cut.push('…');
        cut
    }
}
