//! A real SMTP server on loopback for the outbox tests: Python's aiosmtpd, started on a free
//! port, writing each message it accepts as JSON (envelope, decoded subject and body) into a
//! folder the test reads. Recipients whose local part starts with `refuse` get a 550. Started
//! with a certificate, it speaks TLS from the first byte (SMTPS) and wants a login.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use tempfile::TempDir;

const SERVER: &str = r#"
import email, email.policy, json, os, pathlib, signal, ssl, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

port, out = int(sys.argv[1]), pathlib.Path(sys.argv[2])
tls = sys.argv[3:7]

class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.split('@')[0].startswith('refuse'):
            return '550 5.1.1 <%s>: Recipient address rejected: user unknown' % address
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        name = '%d-%d' % (time.time_ns(), os.getpid())
        tmp = out / ('.' + name)
        tmp.write_text(json.dumps({
            'mail_from': envelope.mail_from,
            'rcpt_tos': envelope.rcpt_tos,
            'from': str(message['from']),
            'to': str(message['to']),
            'subject': str(message['subject']),
            'message_id': str(message['message-id']),
            'body': message.get_content(),
            'login': session.auth_data.login.decode() if session.auth_data else None,
        }))
        tmp.rename(out / (name + '.json'))
        return '250 Message accepted for delivery'

def authenticate(server, session, envelope, mechanism, auth_data):
    ok = (auth_data.login.decode(), auth_data.password.decode()) == (tls[2], tls[3])
    return AuthResult(success=ok, handled=False, auth_data=auth_data)

if tls:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls[0], tls[1])
    controller = Controller(Handler(), hostname='127.0.0.1', port=port, ssl_context=context,
                            authenticator=authenticate, auth_required=True,
                            # the connection is TLS from its first byte, which aiosmtpd does not see
                            auth_require_tls=False)
else:
    controller = Controller(Handler(), hostname='127.0.0.1', port=port)
controller.start()
print('ready', flush=True)
signal.signal(signal.SIGTERM, lambda *_: (controller.stop(), sys.exit(0)))
while True:
    signal.pause()
"#;

/// A message the server accepted.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    pub from: String,
    pub to: String,
    pub subject: String,
    pub message_id: String,
    pub body: String,
    /// The user name the client logged in with.
    pub login: Option<String>,
}

/// The running server (killed when dropped); it can be stopped and started again on its port.
pub struct SmtpServer {
    pub port: u16,
    dir: TempDir,
    /// Certificate and key files, user name and password of an SMTPS server.
    tls: Vec<String>,
    child: Option<Child>,
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        SmtpServer::start_with(Vec::new())
    }

    /// An SMTPS server with the certificate and key (PEM files) that accepts one login.
    pub fn start_tls(cert: &Path, key: &Path, user: &str, password: &str) -> SmtpServer {
        let tls = [
            cert.to_str().unwrap(),
            key.to_str().unwrap(),
            user,
            password,
        ];
        SmtpServer::start_with(tls.map(String::from).to_vec())
    }

    fn start_with(tls: Vec<String>) -> SmtpServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = SmtpServer {
            port,
            dir: tempfile::tempdir().unwrap(),
            tls,
            child: None,
        };
        server.resume();
        server
    }

    /// `smtp://127.0.0.1:PORT`, or `smtps://` for a TLS server.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_empty() { "smtp" } else { "smtps" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// Stops the server: connections to its port are refused until `resume`.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, keeping what it received.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "the SMTP server is already running");
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(SERVER)
            .arg(self.port.to_string())
            .arg(self.dir.path())
            .args(&self.tls)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs (aiosmtpd: pip install aiosmtpd)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            "ready",
            "the SMTP server did not start; is aiosmtpd installed (pip install aiosmtpd)?"
        );
        self.child = Some(child);
    }

    /// What the server accepted so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        received_in(self.dir.path())
    }
}

fn received_in(dir: &Path) -> Vec<Received> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap())
        .collect()
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl SmtpServer {
    /// As [`start`](Self::start), keeping each message's headers too (read by `headers`); a
    /// `resume` after `stop` starts the plain server again.
    pub fn start_keeping_headers() -> SmtpServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let script = SERVER.replace(
            "'login':",
            "'headers': [[k, str(v)] for k, v in message.items()],\n            'login':",
        );
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(port.to_string())
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs (aiosmtpd: pip install aiosmtpd)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP server did not start");
        SmtpServer {
            port,
            dir,
            tls: Vec::new(),
            child: Some(child),
        }
    }

    /// The headers (name, value) of each message received so far, oldest first, for a server
    /// started with `start_keeping_headers`.
    pub fn headers(&self) -> Vec<Vec<(String, String)>> {
        #[derive(serde::Deserialize)]
        struct Kept {
            #[serde(default)]
            headers: Vec<(String, String)>,
        }
        let mut files: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|path| {
                let kept: Kept =
                    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
                kept.headers
            })
            .collect()
    }
}
