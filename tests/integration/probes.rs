//! `tcp`, `tls` and `command` checks through the real binary: a TCP port on 127.0.0.1, an
//! `openssl s_server` with a certificate made for the test, and the real Monitoring Plugins.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::config::DaemonConfig;
use crate::target::Target;
use crate::util::{free_port, normalize, refused_addr, run, stderr, stdout, Dir};

const LIMIT: Duration = Duration::from_secs(60);
const PLUGINS: &str = "/usr/lib/nagios/plugins";

/// `openssl s_server` with a self-signed certificate for `localhost` valid for `days`.
struct TlsServer {
    child: Child,
    addr: SocketAddr,
}

impl TlsServer {
    fn start(dir: &Path, days: u32) -> TlsServer {
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        let made = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=localhost",
            ])
            .args([
                "-addext",
                "subjectAltName=DNS:localhost",
                "-days",
                &days.to_string(),
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(Stdio::null())
            .status()
            .expect("openssl (scripts/test installs it)");
        assert!(made.success(), "openssl req failed");
        let port = free_port();
        let child = Command::new("openssl")
            .args(["s_server", "-quiet", "-accept", &port.to_string()])
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server");
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(Instant::now() < deadline, "openssl s_server did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        TlsServer { child, addr }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn tcp_tls_and_command_checks_report_through_the_binary() {
    let target = Target::start();
    let dir = Dir::new();
    let tls = TlsServer::start(dir.path(), 5);
    let http = target.url();
    let http_port = http.rsplit(':').next().unwrap();
    let refused = refused_addr();
    let (refused_port, tls_port) = (refused.port().to_string(), tls.addr.port().to_string());
    DaemonConfig::new()
        .environment("prod", "probes")
        .variable("prod", "port", http_port)
        .datasource(
            "web-port",
            &[
                ("type", "tcp"),
                ("host", "127.0.0.1"),
                ("port", http_port),
                ("timeout", "5s"),
            ],
        )
        .datasource(
            "closed",
            &[
                ("type", "tcp"),
                ("host", "127.0.0.1"),
                ("port", &refused_port),
                ("timeout", "5s"),
            ],
        )
        .datasource(
            "cert",
            &[
                ("type", "tls"),
                ("host", "127.0.0.1"),
                ("port", &tls_port),
                ("server_name", "localhost"),
                ("tls_verify", "false"),
            ],
        )
        .datasource("plugins", &[("type", "command"), ("timeout", "10s")])
        .no_listen()
        .layers(&["{type: memory}"])
        .write(&dir);
    dir.write(
        "checks/probes.yaml",
        &format!(
            r#"checks:
  - {{name: Web port, environments: [prod], datasource: web-port, cache_for: 1m,
      tcp: {{connect_time: {{warn: 5s, crit: 9s}}}}}}
  - {{name: Closed port, environments: [prod], datasource: closed, cache_for: 1m}}
  - {{name: Certificate, environments: [prod], datasource: cert, cache_for: 1h,
      tls: {{days_left: {{warn: 14, crit: 7}}}}}}
  - name: Dummy
    environments: [prod]
    datasource: plugins
    cache_for: 1m
    command: {{program: {PLUGINS}/check_dummy, args: ["1", "dummy says warn"]}}
  - name: Plugin tcp
    environments: [prod]
    datasource: plugins
    cache_for: 1m
    command: {{program: {PLUGINS}/check_tcp, args: [-H, 127.0.0.1, -p, "${{port}}"]}}
  - name: Plugin http
    environments: [prod]
    datasource: plugins
    cache_for: 1m
    command:
      program: {PLUGINS}/check_http
      args: [-H, 127.0.0.1, -p, "${{port}}", -u, /orders/health, -s, degraded]
  - name: Script
    environments: [prod]
    datasource: plugins
    cache_for: 1m
    command:
      program: 'printf "disk fine|used=5MB;10;20;0;100\nsecond line\n"; exit 0'
      shell: true
  - name: Missing program
    environments: [prod]
    datasource: plugins
    cache_for: 1m
    command: {{program: /nonexistent/check_nothing}}
"#
        ),
    );
    let out = run(dir.checkd(&["once", "--format", "checkmk"]), LIMIT);
    let text = stdout(&out);
    checkd_checkmk::validate::validate_agent_output(&text).expect("valid agent output");
    let text = normalize(&text);
    let line = |service: &str| {
        let quoted = format!("\"{service}\"");
        text.lines()
            .find(|l| l.contains(&quoted))
            .unwrap_or_else(|| panic!("no {service}: {text}\n{}", stderr(&out)))
            .to_string()
    };
    let web = line("Web port");
    assert!(
        web.starts_with("cached(T,60) 0 \"Web port\" connect_time="),
        "{web}"
    );
    assert!(web.contains(";5;9 connected to 127.0.0.1:PORT"), "{web}");
    let closed = line("Closed port");
    assert!(
        closed.starts_with("3 \"Closed port\" - datasource unavailable: ")
            && closed.contains("refused"),
        "{closed}"
    );
    let cert = line("Certificate");
    assert!(
        cert.starts_with("cached(T,3600) 2 \"Certificate\" days_left="),
        "{cert}"
    );
    assert!(
        cert.contains(";14:;7: certificate expires in "),
        "lower levels: {cert}"
    );
    assert!(cert.contains("(crit below 7 days)"), "{cert}");
    assert_eq!(
        line("Dummy"),
        "cached(T,60) 1 \"Dummy\" - WARNING: dummy says warn"
    );
    let plugin_tcp = line("Plugin tcp");
    assert!(
        plugin_tcp.starts_with("cached(T,60) 0 \"Plugin tcp\" time="),
        "{plugin_tcp}"
    );
    assert!(plugin_tcp.contains("TCP OK"), "{plugin_tcp}");
    let plugin_http = line("Plugin http");
    assert!(
        plugin_http.starts_with("cached(T,60) 2 \"Plugin http\" "),
        "{plugin_http}"
    );
    assert!(plugin_http.contains("HTTP CRITICAL"), "{plugin_http}");
    // MB in base units; Nagios `10` alerts outside 0..=10, so Checkmk gets the same range
    // with its "at or above" upper end just past 10 MB.
    assert_eq!(
        line("Script"),
        "cached(T,60) 0 \"Script\" used=5000000;0:10000000.000000002;0:20000000.000000004;0;100000000 disk fine\\nsecond line"
    );
    let missing = line("Missing program");
    assert!(
        missing.starts_with(
            "cached(T,60) 3 \"Missing program\" - cannot run /nonexistent/check_nothing"
        ),
        "{missing}"
    );
    // Unavailable (refused) is UNKNOWN, and it is the worst state after CRIT: exit code 2.
    assert_eq!(out.status.code(), Some(2), "{text}");
}
