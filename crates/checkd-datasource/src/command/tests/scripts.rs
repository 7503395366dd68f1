//! Scripts that misbehave in the ways plugins do: long output, hanging, leaving children
//! behind, exiting 127, printing a megabyte, never stopping.

use checkd_model::{Levels, Metric, State};

use super::*;

#[tokio::test]
async fn multi_line_output_with_perfdata() {
    let dir = tempfile::tempdir().unwrap();
    let program = script(
        dir.path(),
        "check_queue",
        "echo 'QUEUE WARNING - depth 1830 | depth=1830;1000;5000;0'\n\
         echo 'orders: 1200'\n\
         echo 'refunds: 630 | '\"'\"'oldest age'\"'\"'=250ms;~:100;200:'\n\
         echo 'workers=2;1:;1:'\n\
         exit 1\n",
    );
    let got = service(&spec(program, &[])).await;
    let want = ServiceResult {
        service: SERVICE.to_string(),
        state: State::Warn,
        summary: "QUEUE WARNING - depth 1830".to_string(),
        details: "orders: 1200\nrefunds: 630".to_string(),
        metrics: vec![
            Metric {
                upper: Levels {
                    warn: Some(1000.0_f64.next_up()),
                    crit: Some(5000.0_f64.next_up()),
                },
                lower: Levels {
                    warn: Some(0.0),
                    crit: Some(0.0),
                },
                min: Some(0.0),
                ..Metric::new("depth", 1830.0)
            },
            Metric {
                upper: Levels {
                    warn: Some(0.1_f64.next_up()),
                    crit: None,
                },
                lower: Levels {
                    warn: None,
                    crit: Some(0.2),
                },
                ..Metric::new("oldest_age", 0.25)
            },
            Metric {
                lower: Levels {
                    warn: Some(1.0),
                    crit: Some(1.0),
                },
                ..Metric::new("workers", 2.0)
            },
        ],
        labels: labels(),
    };
    assert_eq!(got, want);
}

#[tokio::test]
async fn a_hanging_command_is_killed_with_its_whole_group() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let program = script(
        dir.path(),
        "check_hang",
        &format!(
            "echo 'starting | step=1'\nsleep 300 &\necho $$ $! > {}\nwait\n",
            pids.display()
        ),
    );
    let spec = CommandSpec {
        timeout: Duration::from_secs(1),
        ..spec(program, &[])
    };
    let started = checkd_clock::now();
    let got = service(&spec).await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        (got.state, got.summary.as_str(), got.details.as_str()),
        (
            State::Unknown,
            "timed out after 1s",
            "output before the timeout: starting"
        ),
    );
    assert_eq!(got.metrics, vec![Metric::new("step", 1.0)]);
    let pids = pids_in(&pids).await;
    // The script (the group leader) is reaped, not left a zombie; its child `sleep` was
    // killed with the group (whoever adopted it reaps it).
    assert!(
        !Path::new(&format!("/proc/{}", pids[0])).exists(),
        "zombie {}",
        pids[0]
    );
    assert!(gone(pids[1]).await, "child {} survived", pids[1]);
    // Nothing of the group runs any more.
    let group = nix::unistd::Pid::from_raw(pids[0]);
    let members = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            running(*pid)
                && nix::unistd::getpgid(Some(nix::unistd::Pid::from_raw(*pid))) == Ok(group)
        })
        .count();
    assert_eq!(members, 0);
}

#[tokio::test]
async fn children_left_behind_are_killed_and_do_not_hold_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    // The background `sleep` inherits stdout: without killing the group, reading stdout to
    // its end would wait for it until the timeout.
    let program = script(
        dir.path(),
        "check_leaves_child",
        &format!(
            "sleep 300 &\necho $$ $! > {}\necho 'OK done'\nexit 0\n",
            pids.display()
        ),
    );
    let started = checkd_clock::now();
    let got = service(&spec(program, &[])).await;
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert_eq!((got.state, got.summary.as_str()), (State::Ok, "OK done"));
    let pids = pids_in(&pids).await;
    assert!(gone(pids[1]).await, "child {} survived", pids[1]);
}

#[tokio::test]
async fn a_cancelled_run_kills_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let program = script(
        dir.path(),
        "check_slow",
        &format!("sleep 300 &\necho $$ $! > {}\nwait\n", pids.display()),
    );
    let spec = spec(program, &[]);
    let labels = labels();
    // The caller gives up first (the scheduler's own timeout drops the run).
    let cancelled =
        tokio::time::timeout(Duration::from_millis(500), run(&spec, SERVICE, &labels)).await;
    assert!(cancelled.is_err());
    let pids = pids_in(&pids).await;
    assert!(
        gone(pids[0]).await && gone(pids[1]).await,
        "{pids:?} survived"
    );
}

#[tokio::test]
async fn exit_127_and_a_missing_program_are_unknown() {
    let got = service(&CommandSpec {
        shell: true,
        ..spec("no-such-command-checkd", &[])
    })
    .await;
    assert_eq!(
        (got.state, got.summary.as_str()),
        (State::Unknown, "exited with 127: command not found?")
    );
    assert_eq!(
        got.details,
        "stderr: sh: 1: no-such-command-checkd: not found"
    );

    let got = service(&spec("/nonexistent/check_nothing", &[])).await;
    assert_eq!(
        (got.state, got.summary.as_str(), got.details.as_str()),
        (
            State::Unknown,
            "cannot run /nonexistent/check_nothing: No such file or directory",
            ""
        )
    );

    let dir = tempfile::tempdir().unwrap();
    let not_executable = dir.path().join("check_plain_file");
    std::fs::write(&not_executable, "echo OK\n").unwrap();
    let got = service(&spec(&not_executable, &[])).await;
    assert_eq!(
        (got.state, got.summary),
        (
            State::Unknown,
            format!("cannot run {}: Permission denied", not_executable.display())
        )
    );
}

#[tokio::test]
async fn killed_by_a_signal_is_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let program = script(
        dir.path(),
        "check_dies",
        "echo 'OK so far'\nkill -TERM $$\n",
    );
    let got = service(&spec(program, &[])).await;
    assert_eq!(
        (got.state, got.summary.as_str(), got.details.as_str()),
        (State::Unknown, "killed by signal 15 (SIGTERM)", "OK so far")
    );
}

#[tokio::test]
async fn a_megabyte_of_output_is_cut_to_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let program = script(
        dir.path(),
        "check_chatty",
        "echo 'OK chatty | lines=1'\nhead -c 1000000 /dev/zero | tr '\\000' x\nexit 0\n",
    );
    let got = service(&spec(program, &[])).await;
    assert_eq!(
        (got.state, got.summary.as_str(), got.details.as_str()),
        (
            State::Ok,
            "OK chatty",
            "[stdout truncated: kept 65536 of 1000020 bytes]"
        )
    );
    assert_eq!(got.metrics, vec![Metric::new("lines", 1.0)]);
}

#[tokio::test]
async fn a_command_that_never_stops_writing_is_killed_early() {
    let spec = CommandSpec {
        timeout: Duration::from_secs(60),
        ..spec("yes", &["OK"])
    };
    let started = checkd_clock::now();
    let got = service(&spec).await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(got.state, State::Unknown);
    assert_eq!(
        got.summary,
        "killed: kept writing output past 16842752 bytes"
    );
    assert!(
        got.details.starts_with("first output: OK\nOK\n"),
        "{}",
        &got.details[..40]
    );
}

#[tokio::test]
async fn only_path_lang_and_the_configured_environment_are_passed() {
    let got = service(&CommandSpec {
        env: vec![("CHECK_TOKEN".into(), "abc".into())],
        ..spec("env", &[])
    })
    .await;
    let mut names: Vec<&str> = std::iter::once(got.summary.as_str())
        .chain(got.details.lines())
        .filter_map(|line| line.split_once('=').map(|(name, _)| name))
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["CHECK_TOKEN", "LANG", "PATH"], "{got:?}");
    assert!(got.details.contains("LANG=C") || got.summary == "LANG=C");
}

#[tokio::test]
async fn shell_only_when_asked_with_args_as_positional_parameters() {
    let got = service(&CommandSpec {
        shell: true,
        ..spec("echo \"OK $1 | n=$2\"", &["hello world", "5"])
    })
    .await;
    assert_eq!(
        (got.state, got.summary.as_str(), got.metrics.clone()),
        (State::Ok, "OK hello world", vec![Metric::new("n", 5.0)])
    );
    // Without a shell the same text is a program name that does not exist.
    let got = service(&spec("echo \"OK $1\"", &[])).await;
    assert_eq!(
        got.summary,
        "cannot run echo \"OK $1\": No such file or directory"
    );
}

#[tokio::test]
async fn stdin_is_closed() {
    // `cat` would wait forever on an open stdin.
    let got = service(&CommandSpec {
        timeout: Duration::from_secs(5),
        ..spec("cat", &[])
    })
    .await;
    assert_eq!(
        (got.state, got.summary.as_str()),
        (State::Ok, "no output on stdout")
    );
}
