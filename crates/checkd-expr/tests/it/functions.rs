//! Our functions, each with its edge cases, and the parts of CEL's standard library the checks
//! lean on (timestamps, durations, regexes, conversions).

use crate::support::{check_all, BODY};

#[test]
fn sum_is_an_int_for_ints_and_a_double_otherwise() {
    check_all(
        BODY,
        &[
            ("sum([])", "Int(0)"),
            ("sum([1, 2, 3])", "Int(6)"),
            ("[1, 2, 3].sum()", "Int(6)"),
            ("sum([1, 2.5])", "Double(3.5)"),
            ("sum([0.5, 1])", "Double(1.5)"),
            ("sum([1u, 2])", "Int(3)"),
            ("sum(body.disks.map(d, d.used_bytes))", "Int(350)"),
            ("sum(body.disks.map(d, d.used_pct))", "Double(143.75)"),
            ("sum([9223372036854775807, 1])", "error: sum: int overflow"),
            (
                "sum([-9223372036854775807, -2])",
                "error: sum: int overflow",
            ),
            ("sum([body.big, 1])", "error: sum: int overflow"),
            ("sum([1.0, body.big])", "Double(1.8446744073709552e19)"),
            (
                "sum([1, 'a'])",
                "error: sum: element 1 is a string, not a number",
            ),
            ("sum(1)", "error: `sum` cannot be called with (int)"),
            ("sum(body.jobs)", "error: `sum` cannot be called with (map)"),
        ],
    );
}

#[test]
fn min_and_max_order_numbers_strings_and_times() {
    check_all(
        BODY,
        &[
            ("min([3, 1, 2])", "Int(1)"),
            ("max([3, 1, 2])", "Int(3)"),
            ("max([1, 2.5, 2u])", "Double(2.5)"),
            ("min([1, 0.5])", "Double(0.5)"),
            ("body.disks.map(d, d.used_pct).max()", "Double(93.25)"),
            ("max(['b', 'c', 'a'])", "String(\"c\")"),
            ("min([duration('1m'), duration('2s')])", "Duration(TimeDelta { secs: 2, nanos: 0 })"),
            ("max([timestamp('2026-01-01T00:00:00Z'), epoch(0)]) == timestamp('2026-01-01T00:00:00Z')", "Bool(true)"),
            ("min([])", "error: min of an empty list"),
            ("max([])", "error: max of an empty list"),
            ("max([1, 'a'])", "error: max: cannot compare string and int"),
            ("min([[1], [2]])", "error: min: cannot order list"),
            ("max([1.0, double('NaN')])", "error: max: cannot compare double and double"),
        ],
    );
}

#[test]
fn avg_is_a_double_and_refuses_an_empty_list() {
    check_all(
        BODY,
        &[
            ("avg([1, 2])", "Double(1.5)"),
            ("avg([1, 2.0, 3u])", "Double(2.0)"),
            ("body.workers.map(w, w.load).avg()", "Double(0.5)"),
            ("avg([])", "error: avg of an empty list"),
            (
                "avg(['a'])",
                "error: avg: element 0 is a string, not a number",
            ),
        ],
    );
}

#[test]
fn flatten_removes_one_level_of_nesting() {
    check_all(
        BODY,
        &[
            (
                "flatten(body.nested)",
                "List([Int(1), Int(2), Int(3), Int(4)])",
            ),
            (
                "body.nested.flatten()",
                "List([Int(1), Int(2), Int(3), Int(4)])",
            ),
            ("flatten([[1, [2]], []])", "List([Int(1), List([Int(2)])])"),
            ("flatten([])", "List([])"),
            (
                "flatten(body.workers.map(w, [w.name, w.status])).size()",
                "Int(6)",
            ),
            (
                "flatten('a')",
                "error: `flatten` cannot be called with (string)",
            ),
        ],
    );
}

#[test]
fn distinct_keeps_the_first_of_equal_elements() {
    check_all(
        BODY,
        &[
            (
                "distinct([1, 1.0, 2, 1u, 2.5, 2.5])",
                "List([Int(1), Int(2), Double(2.5)])",
            ),
            (
                "distinct(['a', 'b', 'a'])",
                "List([String(\"a\"), String(\"b\")])",
            ),
            (
                "body.workers.map(w, w.status).distinct()",
                "List([String(\"healthy\"), String(\"down\")])",
            ),
            (
                "distinct([[1, 2], [1, 2], [2, 1]])",
                "List([List([Int(1), Int(2)]), List([Int(2), Int(1)])])",
            ),
            (
                "distinct([{'a': 1, 'b': 2}, {'b': 2, 'a': 1}]).size()",
                "Int(1)",
            ),
            (
                "distinct(['1', 1, true, null, null])",
                "List([String(\"1\"), Int(1), Bool(true), Null])",
            ),
            ("distinct([])", "List([])"),
        ],
    );
}

#[test]
fn capture_gives_the_first_group_or_the_whole_match() {
    check_all(
        BODY,
        &[
            (r#"capture(body.version, "^(\\d+)\\.")"#, "String(\"2\")"),
            (r#"body.version.capture("\\d+\\.\\d+")"#, "String(\"2.4\")"),
            (r#"capture("a=1 b=2", "b=(\\d)")"#, "String(\"2\")"),
            (r#"capture("ab", "(x)?b")"#, "String(\"\")"),
            (
                r#"capture(body.version, "^3\\.")"#,
                "error: no match for /^3\\./",
            ),
            (
                r#"capture(body.version, body.escaped)"#,
                "error: no match for /a\"bé/",
            ),
            (
                r#"capture(body.version, "(" + "")"#,
                "error: invalid regex /(/: unclosed group",
            ),
            (
                r#"capture(1, "a")"#,
                "error: `capture` cannot be called with (int, string)",
            ),
        ],
    );
}

#[test]
fn captures_lists_every_match() {
    check_all(
        BODY,
        &[
            (
                r#"captures("a1b22c333", "\\d+")"#,
                r#"List([String("1"), String("22"), String("333")])"#,
            ),
            (
                r#"captures("k=1, k=2", "k=(\\d)")"#,
                r#"List([String("1"), String("2")])"#,
            ),
            (r#"captures("none", "\\d")"#, "List([])"),
            (r#"size(captures(text, "healthy"))"#, "Int(2)"),
        ],
    );
}

#[test]
fn matches_is_cel_s_own_with_a_cached_regex() {
    check_all(
        BODY,
        &[
            (r#"body.version.matches("^2\\.4\\.")"#, "Bool(true)"),
            (r#"matches(body.version, "^2\\.5\\.")"#, "Bool(false)"),
            // a partial match, as in CEL
            (r#"body.version.matches("4")"#, "Bool(true)"),
            (
                r#"body.version.matches(env.vars.expected_version)"#,
                "Bool(true)",
            ),
            (
                r#"body.version.matches("(" + "")"#,
                "error: invalid regex /(/: unclosed group",
            ),
            (
                r#"body.jobs.matches("a")"#,
                "error: `matches` cannot be called on map with (string)",
            ),
            // linear time: no catastrophic backtracking
            (
                r#""aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!".matches("^(a*)*$")"#,
                "Bool(false)",
            ),
        ],
    );
}

#[test]
fn epoch_turns_seconds_into_a_timestamp() {
    check_all(
        BODY,
        &[
            ("epoch(0)", "Timestamp(1970-01-01T00:00:00+00:00)"),
            ("epoch(1765000000)", "Timestamp(2025-12-06T05:46:40+00:00)"),
            ("epoch(1.5)", "Timestamp(1970-01-01T00:00:01.500+00:00)"),
            ("epoch(-1.25)", "Timestamp(1969-12-31T23:59:58.750+00:00)"),
            ("epoch(0u)", "Timestamp(1970-01-01T00:00:00+00:00)"),
            (
                "string(epoch(253402300799))",
                "String(\"9999-12-31T23:59:59Z\")",
            ),
            (
                "epoch(253402300800)",
                "error: epoch: 253402300800 is out of range",
            ),
            (
                "epoch(-62135596801)",
                "error: epoch: -62135596801 is out of range",
            ),
            ("epoch(1e300)", "error: epoch: 1e300 is out of range"),
            ("epoch(double('NaN'))", "error: epoch: NaN is out of range"),
            (
                "epoch(body.big)",
                "error: epoch: 18446744073709551615 is out of range",
            ),
            (
                "epoch('0')",
                "error: `epoch` cannot be called with (string)",
            ),
            ("now - epoch(1765000000) > duration('1h')", "Bool(true)"),
        ],
    );
}

#[test]
fn seconds_of_a_duration_is_a_double() {
    check_all(
        BODY,
        &[
            ("seconds(elapsed)", "Double(1.5)"),
            ("seconds(duration('-1m30.25s'))", "Double(-90.25)"),
            (
                "seconds(now - timestamp(body.last_success))",
                "Double(2537.0)",
            ),
            ("elapsed.getSeconds()", "Int(1)"),
            ("seconds(1)", "error: `seconds` cannot be called with (int)"),
        ],
    );
}

#[test]
fn timestamps_and_durations_are_cel_s() {
    check_all(
        BODY,
        &[
            (
                "timestamp(body.last_success)",
                "Timestamp(2026-12-06T03:00:00+00:00)",
            ),
            (
                "timestamp('2026-12-06T05:00:00+02:00') == timestamp(body.last_success)",
                "Bool(true)",
            ),
            (
                "(now - timestamp(body.last_success)).getSeconds()",
                "Int(2537)",
            ),
            (
                "now - timestamp(body.last_success) > duration('30m')",
                "Bool(true)",
            ),
            (
                "duration('1h2m3.5s')",
                "Duration(TimeDelta { secs: 3723, nanos: 500000000 })",
            ),
            ("elapsed < duration('2s')", "Bool(true)"),
            ("now.getHours()", "Int(3)"),
            ("now.getHours('Europe/Berlin')", "Int(4)"),
            (
                "timestamp('yesterday')",
                "error: timestamp: premature end of input",
            ),
            (
                "timestamp('2026-13-01T00:00:00Z')",
                "error: timestamp: input is out of range",
            ),
            (
                "duration('5 minutes')",
                "error: duration: not a duration like \"1h30m\" or \"2.5s\"",
            ),
            (
                "now + duration('2562047h')",
                "Timestamp(2319-03-18T02:42:17+00:00)",
            ),
            (
                "timestamp('9999-12-31T23:59:59Z') + duration('1s')",
                "error: overflow: 9999-12-31T23:59:59Z + 1s",
            ),
        ],
    );
}

#[test]
fn conversions_say_why_they_fail() {
    check_all(
        BODY,
        &[
            ("int('42') + 1", "Int(43)"),
            ("double(body.jobs.failed) / 2.0", "Double(1.5)"),
            ("int(2.9)", "Int(2)"),
            ("string(2.5)", "String(\"2.5\")"),
            ("string(body.flag)", "String(\"true\")"),
            (
                "int('x')",
                "error: int: string parse error: invalid digit found in string",
            ),
            ("int(1e300)", "error: int: integer overflow"),
            ("uint(-1)", "error: uint: unsigned integer overflow"),
        ],
    );
}
