//! Finding 3: a process that reaches a node must not pass as a subsystem it is not. Real
//! `hromada serve` nodes of `examples/federation`, whose council subsystems connect over HTTPS
//! with pinned client certificates; callers present the right one, another subsystem's, a forged
//! one or none, come over plain HTTP, or call a plain-HTTP subsystem from another host.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hromada::crypto::dev_ca::{self, LeafProfile, LeafRequest};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::common::appliance::Appliance;
use crate::common::federation::{Federation, UNGRANTED_NOTE};
use crate::common::xroad::{self, Reply};

const REFUSED: &str = "Server.ClientProxy.SslAuthenticationFailed";

/// What an information system presents in the TLS handshake: a certificate chain and its key.
struct Credentials {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Credentials {
    fn from_pem(cert: &[u8], key: &[u8]) -> Credentials {
        Credentials {
            chain: CertificateDer::pem_slice_iter(cert)
                .collect::<Result<_, _>>()
                .unwrap(),
            key: PrivateKeyDer::from_pem_slice(key).unwrap(),
        }
    }

    /// The development client certificate `keys dev` made for a council subsystem.
    fn council(fed: &Federation, subsystem: &str) -> Credentials {
        let read = |path: String| std::fs::read(fed.root.join(path)).unwrap();
        Credentials::from_pem(
            &read(format!("pki/systems/council-{subsystem}.crt")),
            &read(format!("dev-keys/systems/council-{subsystem}.key")),
        )
    }

    /// A certificate naming `council/registry` that nobody listed: self-signed, or issued by a
    /// CA of the caller's own.
    fn forged(self_signed: bool) -> Credentials {
        let name = dev_ca::ca_name("council/registry", "Щасливська сільська рада").unwrap();
        let validity = dev_ca::validity_from_now(30);
        let own = dev_ca::self_signed_ca(dev_ca::new_key().unwrap(), &name, &validity).unwrap();
        let (cert, key) = if self_signed {
            (own.cert, own.key)
        } else {
            let key = dev_ca::new_key().unwrap();
            let request = LeafRequest {
                common_name: "council/registry".into(),
                organisation: "Щасливська сільська рада".into(),
                profile: LeafProfile::Client,
                validity,
            };
            (dev_ca::issue(&own, &request, &key).unwrap(), key)
        };
        Credentials::from_pem(
            &cert.to_pem().unwrap(),
            &key.private_key_to_pem_pkcs8().unwrap(),
        )
    }
}

/// An HTTPS client trusting the federation's development CA, presenting `credentials` if any.
fn https(fed: &Federation, credentials: Option<Credentials>) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    let ca = std::fs::read(fed.root.join("pki/ca.crt")).unwrap();
    for cert in CertificateDer::pem_slice_iter(&ca) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match credentials {
        Some(c) => builder.with_client_auth_cert(c.chain, c.key).unwrap(),
        None => builder.with_no_client_auth(),
    };
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn get(client: &reqwest::Client, url: &str, claimed: &str) -> Reply {
    let response = client
        .get(url)
        .header("X-Road-Client", claimed)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e:?}"));
    Reply {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

/// Starts `node` serving HTTPS to systems with its development node certificate, and waits
/// (over HTTPS, without a client certificate) until it applied a revision.
async fn start_tls(fed: &Federation, data: &Path, node: &str, extra: &[&str]) -> Appliance {
    let cert = fed.root.join(format!("pki/nodes/{node}.crt"));
    let key = fed.root.join(format!("dev-keys/nodes/{node}.key"));
    let mut args = vec![
        "--node",
        node,
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let appliance = Appliance::start(&fed.root, data, &args);
    assert!(appliance.url.starts_with("https://"), "{}", appliance.url);
    let client = https(fed, None);
    let start = Instant::now();
    loop {
        let status = client
            .get(format!("{}/api/status", appliance.url))
            .send()
            .await;
        if let Ok(status) = status {
            let status: serde_json::Value = status.json().await.unwrap();
            if status["applied"]["revision"].is_string() {
                return appliance;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{node} applied no revision within 60 s:\n{}",
            appliance.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn assert_refused(reply: &Reply, mentions: &[&str]) {
    xroad::assert_refused(reply, 403, REFUSED, mentions[0]);
    for m in &mentions[1..] {
        assert!(reply.body.contains(m), "`{m}` not in {}", reply.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_system_passes_only_as_the_subsystem_its_pinned_certificate_is_listed_for() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    let vodokanal = start_tls(&fed, &dir.path().join("vodokanal"), "gw-vodokanal", &[]).await;
    let core = start_tls(&fed, &dir.path().join("core"), "gw-core", &[]).await;
    xroad::wait_for_peer_listener(&vodokanal);
    let registry = fed.registry_client();
    let residents = format!("{}{}", core.url, fed.residents_path("/persons/2900000001"));
    let balance = format!(
        "{}{}",
        core.url,
        fed.balance_path("/accounts/120045/balance")
    );

    // The happy path: the registry's system with the registry's certificate, locally and
    // across the two nodes (the README's example).
    let right = https(&fed, Some(Credentials::council(&fed, "registry")));
    let reply = get(&right, &residents, &registry).await;
    assert_eq!(reply.status, 200, "{}\n{}", reply.body, core.log());
    assert!(reply.body.contains("full_name") && !reply.body.contains(UNGRANTED_NOTE));
    let reply = get(&right, &balance, &registry).await;
    assert_eq!(reply.status, 200, "{}\n{}", reply.body, core.log());
    assert!(reply.body.contains("holder_name"), "{}", reply.body);
    let seen = fed.upstream.seen.lock().unwrap().len();
    assert_eq!(seen, 2);

    // The portal's certificate is genuine, but listed for the portal, not for the registry.
    let portal = https(&fed, Some(Credentials::council(&fed, "portal")));
    let reply = get(&portal, &residents, &registry).await;
    assert_refused(
        &reply,
        &["council/registry", "lists it for `council/portal`"],
    );
    let reply = get(&portal, &balance, &registry).await;
    assert_refused(&reply, &["council/registry"]);

    // Certificates naming the registry that the spec does not list.
    for self_signed in [true, false] {
        let forged = https(&fed, Some(Credentials::forged(self_signed)));
        let reply = get(&forged, &residents, &registry).await;
        assert_refused(
            &reply,
            &["not one the spec lists", "lists it for no subsystem"],
        );
    }

    // No certificate at all: the listener lets the caller in (health probes, the catalogue),
    // the gateway does not.
    let anonymous = https(&fed, None);
    let reply = get(&anonymous, &residents, &registry).await;
    assert_refused(&reply, &["no client certificate", "council/registry"]);
    let catalogue = anonymous
        .get(format!("{}/api/catalogue", core.url))
        .send()
        .await
        .unwrap();
    assert_eq!(catalogue.status(), 200);

    // The metaservices answer only an authenticated caller: what the registry may call is
    // not for the portal's system to learn.
    let allowed = format!(
        "{}/r1/{}/COM/35418773/billing/allowedMethods",
        core.url, fed.instance
    );
    let reply = get(&portal, &allowed, &registry).await;
    assert_refused(&reply, &["council/registry"]);
    let reply = get(&right, &allowed, &registry).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.contains("balance"), "{}", reply.body);

    assert_eq!(
        fed.upstream.seen.lock().unwrap().len(),
        seen,
        "no refused call reached an upstream"
    );

    // The image's health check: `hromada status` over HTTPS trusts exactly the served
    // certificate, and no other.
    let status = |cert: &str| {
        Command::new(env!("CARGO_BIN_EXE_hromada"))
            .args(["status", "--url", &core.url, "--tls-cert"])
            .arg(fed.root.join(cert))
            .env_remove("HROMADA_TLS_CERT")
            .output()
            .unwrap()
    };
    let served = status("pki/nodes/gw-core.crt");
    assert!(
        served.status.success(),
        "{}",
        String::from_utf8_lossy(&served.stderr)
    );
    assert_eq!(status("pki/nodes/gw-vodokanal.crt").status.code(), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_cannot_claim_a_subsystem_that_connects_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    let core = xroad::start(&fed, &dir.path().join("core"), "gw-core", &[]);
    let reply = xroad::get(
        &core,
        &fed.residents_path("/persons/1"),
        &fed.registry_client(),
    )
    .await;
    assert_refused(&reply, &["came over plain HTTP", "--tls-cert"]);
    assert!(fed.upstream.seen.lock().unwrap().is_empty());
}

/// A `hromada serve` listening on every interface, which `Appliance` (loopback only) is not.
struct Everywhere {
    child: Child,
    port: u16,
}

impl Drop for Everywhere {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Everywhere {
    fn start(root: &Path, data: &Path, node: &str) -> Everywhere {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_hromada"))
            .arg("serve")
            .arg(root)
            .arg("--data-dir")
            .arg(data)
            .args(["--listen", "0.0.0.0:0", "--node", node])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut first).unwrap();
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let port = first
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("serve did not print its address: {first}"));
        Everywhere { child, port }
    }
}

/// An address of this machine that is not loopback: the source address of a route outwards
/// (a UDP `connect` sends nothing).
fn outward_address() -> IpAddr {
    let socket = UdpSocket::bind("0.0.0.0:0").unwrap();
    socket
        .connect("192.0.2.1:9")
        .or_else(|_| socket.connect("198.51.100.1:9"))
        .expect("this test needs a network interface besides loopback");
    let ip = socket.local_addr().unwrap().ip();
    assert!(
        !ip.is_loopback() && !ip.is_unspecified(),
        "no outward address: {ip}"
    );
    ip
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_http_subsystem_is_served_only_to_the_nodes_own_host() {
    let dir = tempfile::tempdir().unwrap();
    let fed = Federation::new(dir.path()).await;
    fed.systems_over_http();
    let core = Everywhere::start(&fed.root, &dir.path().join("core"), "gw-core");
    let path = fed.residents_path("/persons/2900000001");
    let call = |ip: IpAddr| {
        let url = format!("http://{}{path}", SocketAddr::new(ip, core.port));
        let registry = fed.registry_client();
        async move { get(&xroad::http(), &url, &registry).await }
    };
    let start = Instant::now();
    let mut reply = call(IpAddr::from([127, 0, 0, 1])).await;
    while reply.status == 503 && start.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        reply = call(IpAddr::from([127, 0, 0, 1])).await;
    }
    assert_eq!(reply.status, 200, "from this host: {}", reply.body);

    let reply = call(outward_address()).await;
    assert_refused(
        &reply,
        &[
            "only from this node's own host",
            "HTTPS with a client certificate",
        ],
    );
    assert_eq!(fed.upstream.seen.lock().unwrap().len(), 1);
}

#[test]
fn validate_warns_about_plain_http_and_refuses_https_without_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("federation");
    crate::common::copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/federation"),
        &root,
    );
    let validate = |deny: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hromada"));
        command.arg("validate").arg(&root);
        if deny {
            command.arg("--deny-warnings");
        }
        let out = command.output().unwrap();
        let said = [out.stdout, out.stderr].concat();
        (
            out.status.code(),
            String::from_utf8_lossy(&said).into_owned(),
        )
    };
    assert_eq!(validate(true).0, Some(0), "{}", validate(true).1);

    let council = root.join("spec/council.kdl");
    let text = std::fs::read_to_string(&council).unwrap();
    let https_registry = "connection \"https\" {\n            client cert=\"pki/systems/council-registry.crt\"\n        }";
    assert!(text.contains(https_registry));
    std::fs::write(
        &council,
        text.replace(https_registry, "connection \"http\""),
    )
    .unwrap();
    let (code, out) = validate(false);
    assert_eq!(code, Some(0), "a warning only: {out}");
    assert!(
        out.contains("H1009") && out.contains("council/registry"),
        "{out}"
    );
    assert_eq!(validate(true).0, Some(1), "--deny-warnings refuses it");

    std::fs::write(
        &council,
        text.replace(https_registry, "connection \"https\""),
    )
    .unwrap();
    let (code, out) = validate(false);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("H1010") && out.contains("lists no client certificate"),
        "{out}"
    );
}
