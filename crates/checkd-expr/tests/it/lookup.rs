//! What a run offers besides evaluating: JSON pointers, the body not parsed, why it is not
//! JSON, and which names an expression uses.

use checkd_expr::{Expr, Names, Run, Template};

use crate::support::Fixture;

#[test]
fn pointers_find_values_as_json_and_none_where_nothing_is() {
    let fixture = Fixture::new(r#"{"a": {"b": [10, {"c": "x"}], "d/e": true}, "n": null}"#);
    let response = fixture.response();
    let run = Run::new(&response, Run::DEFAULT_BUDGET);
    let scope = run.scope();
    let at = |p: &str| scope.pointer("body", p);
    assert_eq!(at("/a/b/0"), Some(serde_json::json!(10)));
    assert_eq!(at("/a/b/1"), Some(serde_json::json!({"c": "x"})));
    assert_eq!(at("/a/d~1e"), Some(serde_json::json!(true)));
    assert_eq!(at("/n"), Some(serde_json::Value::Null));
    assert_eq!(
        at(""),
        Some(serde_json::json!({"a": {"b": [10, {"c": "x"}], "d/e": true}, "n": null}))
    );
    for missing in ["/nope", "/a/b/2", "/a/b/x", "/a/b/0/deeper", "/n/x"] {
        assert_eq!(at(missing), None, "{missing}");
    }
    assert_eq!(scope.pointer("nobody", ""), None);
}

#[test]
fn a_body_that_is_not_json_says_why_and_is_text() {
    let fixture = Fixture::new("OK all good");
    let response = fixture.response();
    let run = Run::new(&response, Run::DEFAULT_BUDGET);
    assert!(!run.body_is_json());
    assert_eq!(run.body_error(), Some("expected value at line 1 column 1"));
    let expr = Expr::compile("body", &Names::response()).unwrap();
    assert_eq!(run.scope().eval(&expr).unwrap().to_string(), "OK all good");
}

#[test]
fn without_json_the_body_is_not_parsed() {
    let fixture = Fixture::new(r#"{"a": 1}"#);
    let mut response = fixture.response();
    response.json = false;
    let run = Run::new(&response, Run::DEFAULT_BUDGET);
    assert!(!run.body_is_json());
    assert_eq!(run.body_error(), None);
    let expr = Expr::compile("body", &Names::response()).unwrap();
    assert_eq!(run.scope().eval(&expr).unwrap().to_string(), r#"{"a": 1}"#);
}

#[test]
fn expressions_and_templates_say_which_names_they_use() {
    let names = Names::response().with("total");
    let expr = Expr::compile("body.workers.filter(w, w.ok).size() < total", &names).unwrap();
    assert!(expr.uses("body") && expr.uses("total"));
    assert!(!expr.uses("w") && !expr.uses("status"));
    let template = Template::compile("{status} of {total}", &names).unwrap();
    assert!(template.uses("status") && template.uses("total") && !template.uses("body"));
}
