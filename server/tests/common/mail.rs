//! Real mail servers for the email tests: an aiosmtpd SMTP sink started per
//! test (receives our outbound replies into a Maildir), the Dovecot IMAP
//! server `make test` starts (`AYUDA_TEST_IMAP`), and a real SMTP client
//! (lettre) that delivers raw messages to Ayuda's listener.

use lettre::address::Envelope;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// aiosmtpd writing every message it accepts into a Maildir.
pub struct SmtpSink {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl SmtpSink {
    pub fn start() -> SmtpSink {
        SmtpSink::start_on(free_port())
    }

    pub fn start_on(port: u16) -> SmtpSink {
        let python = std::env::var("AYUDA_TEST_SMTP_SINK").expect(
            "email tests need AYUDA_TEST_SMTP_SINK (a Python with aiosmtpd); `make test` sets it",
        );
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new(python)
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(dir.path().join("maildir"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        SmtpSink { port, dir, child }
    }

    pub fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.dir.path().join("maildir").join(sub)) {
                for e in entries.flatten() {
                    out.push(
                        String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()).into_owned(),
                    );
                }
            }
        }
        out
    }

    /// Waits until at least `n` messages arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let m = self.messages();
            if m.len() >= n {
                return m;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} messages at the sink, got {}",
                m.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Delivers `raw` to an SMTP server with a real client; returns the
/// server's answer (code) or the refusal's text.
pub async fn deliver(
    server: SocketAddr,
    from: &str,
    to: &[&str],
    raw: &[u8],
) -> Result<u16, String> {
    let transport =
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server.ip().to_string())
            .port(server.port())
            .timeout(Some(Duration::from_secs(20)))
            .build();
    let from: Address = from.parse().unwrap();
    let to: Vec<Address> = to.iter().map(|t| t.parse().unwrap()).collect();
    let envelope = Envelope::new(Some(from), to).unwrap();
    match transport.send_raw(&envelope, raw).await {
        Ok(r) => Ok(u16::from(r.code())),
        Err(e) => Err(e.to_string()),
    }
}

/// The Dovecot server `make test` started.
pub fn imap_server() -> (String, u16) {
    let addr = std::env::var("AYUDA_TEST_IMAP")
        .expect("IMAP tests need AYUDA_TEST_IMAP (host:port of a Dovecot); `make test` starts one");
    let (host, port) = addr.rsplit_once(':').unwrap();
    (host.to_string(), port.parse().unwrap())
}

pub const IMAP_PASSWORD: &str = "test-password";

/// A message with the given headers and a text body.
pub fn email(headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut out = String::new();
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("Content-Type"))
    {
        out.push_str("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n");
    }
    out.push_str("\r\n");
    out.push_str(&body.replace('\n', "\r\n"));
    out.push_str("\r\n");
    out.into_bytes()
}

/// The value of `name` in a raw message's header block (unfolded).
pub fn header(raw: &str, name: &str) -> Option<String> {
    let head = raw.split("\r\n\r\n").next().unwrap_or(raw);
    let head = head
        .replace("\r\n ", " ")
        .replace("\r\n\t", " ")
        .replace("\n ", " ");
    let prefix = format!("{}:", name.to_ascii_lowercase());
    head.lines()
        .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim().to_string())
}
