//! Where checks run: an instance runs its own jobs, shows skipped ones without running them,
//! and leaves out the ones another instance reports.

use std::time::Duration;

use crate::target::Target;
use crate::util::{free_port, normalize, run, stderr, stdout};

const CHECKS: &str = r#"checks:
  - {id: inside, name: Inside, environments: [prod], datasource: shop, cache_for: 1h, run_from: [target], request: {path: "/orders/health?c=inside"}, summary: {ok: fine}}
  - {id: shown, name: Shown, environments: [prod], datasource: shop, cache_for: 1h, run_from: [target], elsewhere: skip, request: {path: "/orders/health?c=shown"}, summary: {ok: fine}}
  - {id: anywhere, name: Anywhere, environments: [prod], datasource: shop, cache_for: 1h, request: {path: "/orders/health?c=anywhere"}, summary: {ok: fine}}
"#;

#[test]
fn an_instance_runs_its_jobs_shows_skipped_ones_and_leaves_out_the_others() {
    let target = Target::start();
    let config = crate::shop_config(&target, free_port()).execution_environment("monitoring");
    let dir = crate::fixture_with(&config, CHECKS);

    let out = run(
        dir.checkd(&["validate", "--explain"]),
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "from monitoring:\n  not mine  inside@prod\n  skip      shown@prod\n  run       anywhere@prod\n\
         from prod:\n  run       inside@prod\n  run       shown@prod\n  run       anywhere@prod\n"
    );

    let out = run(
        dir.checkd(&["once", "--format", "checkmk"]),
        Duration::from_secs(30),
    );
    let text = normalize(&stdout(&out));
    let piggyback = text
        .split_once("<<<<shop-prod>>>>\n")
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    assert_eq!(
        piggyback,
        "<<<local:sep(0)>>>\n3 \"Shown\" - not runnable from monitoring\ncached(T,3600) 0 \"Anywhere\" - fine\\n[OK] HTTP 200\n<<<<>>>>\n"
    );
    assert_eq!(target.hits(), 1, "only the job this instance may run ran");
    checkd_checkmk::validate::validate_agent_output(&stdout(&out)).expect("valid");

    // From inside prod, all three run.
    let mut cmd = dir.checkd(&["once", "--format", "table"]);
    cmd.env("CHECKD_ENVIRONMENT", "prod");
    let out = run(cmd, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(stdout(&out).lines().count(), 4, "{}", stdout(&out));
    assert_eq!(target.hits(), 3);
}
