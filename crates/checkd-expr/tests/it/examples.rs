//! The ten examples of issue 13, as the expressions a check would hold, over the bodies the
//! services would answer with.

use checkd_expr::{Expr, Names, Run, Template};

use crate::support::{names, Fixture};

/// A check's view of one response: conditions, numbers, templates, `foreach` items.
struct Check {
    fixture: Fixture,
}

impl Check {
    fn new(body: &str) -> Check {
        Check {
            fixture: Fixture::new(body),
        }
    }

    fn condition(&self, source: &str) -> bool {
        let expr = Expr::condition(source, &names()).unwrap_or_else(|p| panic!("{source}: {p:?}"));
        let response = self.fixture.response();
        let result = Run::new(&response, Run::DEFAULT_BUDGET)
            .scope()
            .eval_bool(&expr);
        result.unwrap_or_else(|e| panic!("{source}: {e}"))
    }

    fn number(&self, source: &str) -> f64 {
        let expr = Expr::compile(source, &names()).unwrap_or_else(|p| panic!("{source}: {p:?}"));
        let response = self.fixture.response();
        let result = Run::new(&response, Run::DEFAULT_BUDGET)
            .scope()
            .eval_number(&expr);
        result.unwrap_or_else(|e| panic!("{source}: {e}"))
    }

    fn text(&self, template: &str) -> String {
        let template =
            Template::compile(template, &names()).unwrap_or_else(|p| panic!("{template}: {p:?}"));
        let response = self.fixture.response();
        let result = Run::new(&response, Run::DEFAULT_BUDGET)
            .scope()
            .render(&template);
        result.unwrap_or_else(|e| panic!("{}: {e}", template.source()))
    }

    /// For each item of `items`: the rendered `name` and whether `ok` holds.
    fn foreach(&self, items: &str, name: &str, ok: &str) -> Vec<(String, bool)> {
        let names: Names = names();
        let items = Expr::compile(items, &names).expect("items compile");
        let name = Template::compile(name, &names).expect("name compiles");
        let ok = Expr::condition(ok, &names).expect("condition compiles");
        let response = self.fixture.response();
        let run = Run::new(&response, Run::DEFAULT_BUDGET);
        let scope = run.scope();
        let items = scope.items(&items).expect("items");
        (0..items.len())
            .map(|i| {
                let item = scope.with_item(&items, i);
                (
                    item.render(&name).expect("name"),
                    item.eval_bool(&ok).expect("ok"),
                )
            })
            .collect()
    }
}

#[test]
fn workers_that_are_not_healthy() {
    let workers: Vec<String> = (0..40)
        .map(|i| {
            let status = if i == 7 || i == 31 { "down" } else { "healthy" };
            format!(r#"{{"name": "w{i}", "status": "{status}"}}"#)
        })
        .collect();
    let check = Check::new(&format!(r#"{{"workers": [{}]}}"#, workers.join(",")));
    let unhealthy = "body.workers.filter(w, w.status != 'healthy').size()";
    assert_eq!(check.number(unhealthy), 2.0); // WARN at 1, CRIT at 3: WARN
    assert_eq!(
        check.text("{body.workers.filter(w, w.status != 'healthy').size()} of {size(body.workers)} workers unhealthy"),
        "2 of 40 workers unhealthy"
    );
    assert!(check.condition("body.workers.exists(w, w.status != 'healthy')"));
}

#[test]
fn share_of_failed_jobs_as_a_metric() {
    let check = Check::new(r#"{"jobs": {"failed": 31, "total": 1200}}"#);
    let share = check.number("double(body.jobs.failed) * 100.0 / double(body.jobs.total)");
    assert!((share - 2.5833).abs() < 1e-3, "{share}"); // below WARN 5 %
    let check = Check::new(r#"{"jobs": {"failed": 7, "total": 50}}"#);
    assert_eq!(
        check.number("double(body.jobs.failed) * 100.0 / double(body.jobs.total)"),
        14.0
    ); // CRIT 10 %
}

#[test]
fn sum_and_largest_over_an_array_of_disks() {
    let check = Check::new(
        r#"{"disks": [
            {"mount": "/", "used_bytes": 10000123456, "used_pct": 71.5},
            {"mount": "/var", "used_bytes": 20000123456, "used_pct": 93.25},
            {"mount": "/tmp", "used_bytes": 123, "used_pct": 3}
        ]}"#,
    );
    assert_eq!(
        check.number("sum(body.disks.map(d, d.used_bytes))"),
        30000247035.0
    );
    // `used_pct` mixes ints and doubles: max compares them as numbers
    assert_eq!(check.number("max(body.disks.map(d, d.used_pct))"), 93.25);
    assert_eq!(check.text("fullest: {body.disks.filter(d, d.used_pct == max(body.disks.map(x, x.used_pct)))[0].mount}"), "fullest: /var");
}

#[test]
fn last_success_older_than_thirty_minutes() {
    // now is 2026-12-06T03:42:17Z
    let stale = Check::new(r#"{"last_success": "2026-12-06T03:00:00Z"}"#);
    assert!(stale.condition("now - timestamp(body.last_success) > duration('30m')"));
    assert_eq!(stale.number("now - timestamp(body.last_success)"), 2537.0);
    assert_eq!(
        stale.number("seconds(now - timestamp(body.last_success))"),
        2537.0
    );
    let fresh = Check::new(r#"{"last_success": "2026-12-06T05:30:00+02:00"}"#);
    assert!(!fresh.condition("now - timestamp(body.last_success) > duration('30m')"));
    // an epoch field works the same way
    let epoch = Check::new(r#"{"last_success": 1765000000.5}"#);
    assert!(epoch.condition("now - epoch(body.last_success) > duration('30m')"));
}

#[test]
fn ready_replicas_below_replicas() {
    let check = Check::new(r#"{"spec": {"replicas": 3}, "status": {"readyReplicas": 2}}"#);
    assert!(check.condition("body.status.readyReplicas < body.spec.replicas")); // CRIT
    let check = Check::new(r#"{"spec": {"replicas": 3}, "status": {"readyReplicas": 3}}"#);
    assert!(!check.condition("body.status.readyReplicas < body.spec.replicas"));
}

#[test]
fn a_string_field_matching_a_regex() {
    let check = Check::new(r#"{"version": "2.4.7"}"#);
    assert!(check.condition(r#"body.version.matches("^2\\.4\\.")"#));
    let check = Check::new(r#"{"version": "2.40.1"}"#);
    assert!(!check.condition(r#"body.version.matches("^2\\.4\\.")"#));
}

#[test]
fn the_expected_version_per_environment_from_a_variable() {
    let mut check = Check::new(r#"{"version": "2.4.7"}"#);
    assert!(check.condition("body.version == env.vars.expected_version"));
    check
        .fixture
        .variables
        .insert("expected_version".to_owned(), "2.5.0".to_owned());
    assert!(!check.condition("body.version == env.vars.expected_version"));
    assert_eq!(
        check.text("expected {env.vars.expected_version}, found {body.version}"),
        "expected 2.5.0, found 2.4.7"
    );
}

#[test]
fn levels_per_environment_in_one_check() {
    let mut check = Check::new(r#"{"queue": {"depth": 1200}}"#);
    let warn = "body.queue.depth > (env.name == 'prod' ? 500 : 2000)";
    let crit = "body.queue.depth > (env.name == 'prod' ? 1000 : 5000)";
    assert!(check.condition(warn) && check.condition(crit)); // prod: CRIT
    check.fixture.environment = "staging".to_owned();
    assert!(!check.condition(warn) && !check.condition(crit)); // staging: OK
    assert_eq!(check.number("body.queue.depth"), 1200.0);
}

#[test]
fn one_service_per_spring_boot_health_component() {
    let check = Check::new(
        r#"{"status": "DOWN", "components": {
            "db": {"status": "UP", "details": {"database": "PostgreSQL"}},
            "diskSpace": {"status": "DOWN", "details": {"free": 1024}},
            "ping": {"status": "UP"}
        }}"#,
    );
    assert_eq!(
        check.foreach("body.components", "{item.key}", "item.value.status == 'UP'"),
        [
            ("db".to_owned(), true),
            ("diskSpace".to_owned(), false),
            ("ping".to_owned(), true)
        ]
    );
    assert_eq!(
        check.text("{body.components.filter(c, body.components[c].status != 'UP').size()} of {size(body.components)} components DOWN"),
        "1 of 3 components DOWN"
    );
}

#[test]
fn one_service_per_node_of_every_cluster() {
    let check = Check::new(
        r#"{"clusters": [
            {"name": "alpha", "nodes": [{"name": "a1", "ok": true}, {"name": "a2", "ok": false}]},
            {"name": "beta", "nodes": [{"name": "b1", "ok": true}]},
            {"name": "gamma", "nodes": []}
        ]}"#,
    );
    // the nodes alone
    assert_eq!(
        check.foreach(
            "body.clusters.map(c, c.nodes).flatten()",
            "{item.name}",
            "item.ok"
        ),
        [
            ("a1".to_owned(), true),
            ("a2".to_owned(), false),
            ("b1".to_owned(), true)
        ]
    );
    // each node with its cluster's name
    assert_eq!(
        check.foreach(
            "flatten(body.clusters.map(c, c.nodes.map(n, {'cluster': c.name, 'node': n})))",
            "{item.cluster}/{item.node.name}",
            "item.node.ok"
        ),
        [
            ("alpha/a1".to_owned(), true),
            ("alpha/a2".to_owned(), false),
            ("beta/b1".to_owned(), true)
        ]
    );
}
