//! Host, service and metric name rules, with the exact reasons.

use checkd_checkmk::{
    coerce_host_name, validate_host_name, validate_metric_name, validate_service_name,
};

fn check(result: Result<(), String>, expected: Result<(), &str>) {
    assert_eq!(
        result.as_ref().map(|_| ()).map_err(String::as_str),
        expected
    );
}

#[test]
fn host_names() {
    check(validate_host_name("prod-orders"), Ok(()));
    check(validate_host_name("_x.example.com"), Ok(()));
    check(validate_host_name("9lives"), Ok(()));
    check(validate_host_name(&"a".repeat(240)), Ok(()));
    check(validate_host_name(""), Err("host name is empty"));
    check(
        validate_host_name("prod orders/é é"),
        Err("host name contains ' ', '/', 'é', which Checkmk replaces with '_' (allowed: A-Z a-z 0-9 - _ .)"),
    );
    check(
        validate_host_name("-prod"),
        Err("host name starts with '-'; it must start with a letter, a digit or '_'"),
    );
    check(
        validate_host_name(".prod"),
        Err("host name starts with '.'; it must start with a letter, a digit or '_'"),
    );
    check(
        validate_host_name(&"a".repeat(241)),
        Err("host name is 241 characters long; Checkmk accepts at most 240"),
    );
}

#[test]
fn coerced_host_names_are_always_valid() {
    let cases = [
        ("prod-orders", "prod-orders"),
        ("prod orders/é", "prod_orders__"),
        ("Prod.Example_1", "Prod.Example_1"),
        ("", "_"),
        ("-x", "_x"),
        (".x", "_x"),
        ("é", "_"),
        ("a:b\nc", "a_b_c"),
    ];
    for (input, expected) in cases {
        assert_eq!(coerce_host_name(input), expected, "{input:?}");
        assert_eq!(
            validate_host_name(&coerce_host_name(input)),
            Ok(()),
            "{input:?}"
        );
    }
    assert_eq!(coerce_host_name(&"é".repeat(300)), "_".repeat(240));
}

#[test]
fn service_names() {
    check(validate_service_name("Orders API health"), Ok(()));
    check(validate_service_name(r"C:\ drive 100% ✓"), Ok(()));
    check(validate_service_name(""), Err("service name is empty"));
    check(
        validate_service_name(r#"say "hi""#),
        Err(r#"service name contains '"', which ends the quoted name"#),
    );
    check(
        validate_service_name("it's"),
        Err(r#"service name contains "'", which breaks service discovery"#),
    );
    check(
        validate_service_name("a;b"),
        Err("service name contains ';', which the monitoring core rejects or mangles"),
    );
    check(
        validate_service_name("$HOST"),
        Err("service name contains '$', which the monitoring core rejects or mangles"),
    );
    check(
        validate_service_name("a\nb"),
        Err("service name contains a line break"),
    );
    check(
        validate_service_name("a\rb"),
        Err("service name contains a line break"),
    );
    check(
        validate_service_name("a\tb"),
        Err(r"service name contains the control character '\t'"),
    );
}

#[test]
fn metric_names() {
    check(validate_metric_name("response_time"), Ok(()));
    check(validate_metric_name("a-b.c_9"), Ok(()));
    check(validate_metric_name(""), Err("metric name is empty"));
    for (name, c) in [
        ("a b", "' '"),
        ("a:b", "':'"),
        ("a/b", "'/'"),
        (r"a\b", r"'\\'"),
        ("µs", "'µ'"),
    ] {
        let expected = format!("metric name {name:?} contains {c} (allowed: A-Z a-z 0-9 - _ .)");
        check(validate_metric_name(name), Err(&expected));
    }
}
