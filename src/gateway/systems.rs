//! Information systems authenticated as X-Road's security server does: a call claiming a
//! subsystem is accepted only as the subsystem's `connection` says — over TLS presenting one of
//! the client certificates the spec pins for it, or over plain HTTP from the node's own host.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::Request;
use chrono::{DateTime, Utc};

use super::peer_tls::{PeerCertificate, presented_certificate};
use crate::crypto::sha256_hex;
use crate::identity::ClientCertificates;
use crate::spec::Spec;
use crate::spec::model::{Connection, ConnectionProtocol};

/// How a call reached this node: over TLS or not, with which client certificate, from where.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub tls: bool,
    pub certificate: Option<PeerCertificate>,
    pub address: Option<SocketAddr>,
}

impl Origin {
    /// What the listener recorded about the connection of `request`.
    pub fn of<B>(request: &Request<B>) -> Origin {
        let extensions = request.extensions();
        Origin {
            tls: extensions
                .get::<std::sync::Arc<axum_server::tls::TlsInfo>>()
                .is_some(),
            certificate: presented_certificate(request),
            address: extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0),
        }
    }

    fn on_this_host(&self) -> bool {
        self.address
            .is_some_and(|a| a.ip().to_canonical().is_loopback())
    }
}

/// Whether a call that reached this node as `origin` may act as `consumer`: a declared
/// `participant/subsystem` of `spec`, or a participant calling as a whole, which a system does
/// only by satisfying the `connection` of one of that participant's subsystems. The refusal says
/// what is wrong and what to do.
pub fn authenticate(
    spec: &Spec,
    certificates: &ClientCertificates,
    consumer: &str,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<(), String> {
    if consumer.contains('/') {
        return authenticate_subsystem(spec, certificates, consumer, origin, now);
    }
    let subsystems = spec
        .participant(consumer)
        .map(|p| p.subsystems.as_slice())
        .unwrap_or_default();
    let mut refusals = Vec::new();
    for subsystem in subsystems {
        let id = format!("{consumer}/{}", subsystem.id);
        match authenticate_subsystem(spec, certificates, &id, origin, now) {
            Ok(()) => return Ok(()),
            Err(refusal) => refusals.push(refusal),
        }
    }
    Err(format!(
        "the member `{consumer}` calls as a whole only from a system that could call as one of its \
         subsystems, and this call satisfies none of their connections{}",
        match refusals.first() {
            Some(first) if refusals.len() == 1 => format!(": {first}"),
            _ => format!(" ({} subsystems declared)", refusals.len()),
        }
    ))
}

fn authenticate_subsystem(
    spec: &Spec,
    certificates: &ClientCertificates,
    consumer: &str,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let connection = spec
        .subsystem(consumer)
        .and_then(|(_, s)| s.connection.as_ref());
    match connection {
        None => Err(format!(
            "the subsystem `{consumer}` declares no `connection` in the spec, so no system may call \
             as it; declare how its systems connect (`connection \"https\" {{ client cert=\"…\" }}`)"
        )),
        Some(Connection {
            protocol: ConnectionProtocol::Http,
            ..
        }) => {
            if origin.on_this_host() {
                Ok(())
            } else {
                Err(format!(
                    "the subsystem `{consumer}` connects over plain HTTP, which the spec allows only \
                     from this node's own host, and this call came from another address; systems on \
                     other hosts call over HTTPS with a client certificate the spec lists \
                     (`connection \"https\"`)"
                ))
            }
        }
        Some(Connection {
            protocol: ConnectionProtocol::Https,
            ..
        }) => https(certificates, consumer, origin, now),
    }
}

fn https(
    certificates: &ClientCertificates,
    consumer: &str,
    origin: &Origin,
    now: DateTime<Utc>,
) -> Result<(), String> {
    if !origin.tls {
        return Err(format!(
            "the subsystem `{consumer}` connects over HTTPS with a client certificate, but this call \
             came over plain HTTP; call this node over HTTPS (it serves it with `--tls-cert` and \
             `--tls-key`) presenting a certificate the spec lists for `{consumer}`"
        ));
    }
    let Some(PeerCertificate(presented)) = &origin.certificate else {
        return Err(format!(
            "the call presented no client certificate; the subsystem `{consumer}` is authenticated by \
             the certificates its `connection` lists: present one of them"
        ));
    };
    let pinned = certificates.pinned(consumer).iter();
    let Some(found) = pinned.into_iter().find(|p| p.der[..] == presented[..]) else {
        let fingerprint = sha256_hex(presented);
        let holders = certificates.holders(presented);
        let whose = if holders.is_empty() {
            "the spec lists it for no subsystem".to_string()
        } else {
            format!("the spec lists it for {}", quoted(&holders))
        };
        return Err(format!(
            "the client certificate presented (SHA-256 {fingerprint}) is not one the spec lists for \
             the subsystem `{consumer}` ({whose}); call as the subsystem the certificate is listed \
             for, or add the certificate to `{consumer}`'s `connection`"
        ));
    };
    if now < found.not_before || now > found.not_after {
        return Err(format!(
            "the client certificate presented for the subsystem `{consumer}` is valid only from {} to \
             {}; renew it and list the new one in the spec",
            found.not_before.format("%Y-%m-%d %H:%M UTC"),
            found.not_after.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    Ok(())
}

fn quoted(list: &[&str]) -> String {
    list.iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::Duration;

    use super::*;
    use crate::crypto::dev_ca::{self, LeafProfile, LeafRequest};
    use crate::identity::Documents;
    use crate::spec::model::ClientCertificate;

    /// `examples/minimal` with `council/portal` on `http` and `council/registry` on `https`
    /// pinning a fresh certificate valid for 30 days, which is returned (DER).
    fn setup() -> (Spec, ClientCertificates, Vec<u8>) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/minimal");
        let mut spec = crate::spec::load(&root).spec;
        let name = dev_ca::ca_name("test CA", "Тест").unwrap();
        let ca = dev_ca::self_signed_ca(
            dev_ca::new_key().unwrap(),
            &name,
            &dev_ca::validity_from_now(30),
        )
        .unwrap();
        let request = LeafRequest {
            common_name: "council/registry".into(),
            organisation: "Тест".into(),
            profile: LeafProfile::Client,
            validity: dev_ca::validity_from_now(30),
        };
        let cert = dev_ca::issue(&ca, &request, &dev_ca::new_key().unwrap()).unwrap();
        let council = &mut spec.participants[0];
        council.subsystems[0].connection = Some(Connection {
            protocol: ConnectionProtocol::Http,
            clients: Vec::new(),
        });
        council.subsystems[1].connection = Some(Connection {
            protocol: ConnectionProtocol::Https,
            clients: vec![ClientCertificate {
                cert: "pki/registry.crt".into(),
            }],
        });
        let documents: Documents = [(
            "pki/registry.crt".to_string(),
            Arc::from(cert.to_pem().unwrap()),
        )]
        .into();
        let certificates = ClientCertificates::from_spec(&spec, &documents);
        (spec, certificates, cert.to_der().unwrap())
    }

    fn from(address: &str) -> Origin {
        Origin {
            address: Some(address.parse().unwrap()),
            ..Origin::default()
        }
    }

    #[test]
    fn plain_http_passes_only_on_this_host() {
        let (spec, certificates, _) = setup();
        let check = |origin: &Origin| {
            authenticate(&spec, &certificates, "council/portal", origin, Utc::now())
        };
        assert_eq!(check(&from("127.0.0.1:5000")), Ok(()));
        assert_eq!(check(&from("[::1]:5000")), Ok(()));
        assert_eq!(check(&from("[::ffff:127.0.0.1]:5000")), Ok(()));
        for elsewhere in [
            "192.0.2.7:5000",
            "[::ffff:192.0.2.7]:5000",
            "[2001:db8::1]:5000",
        ] {
            let refused = check(&from(elsewhere)).unwrap_err();
            assert!(
                refused.contains("only from this node's own host"),
                "{refused}"
            );
        }
        assert!(check(&Origin::default()).is_err(), "no address, no trust");
    }

    #[test]
    fn https_wants_the_pinned_certificate_over_tls_and_in_its_validity() {
        let (spec, certificates, der) = setup();
        let presenting = |der: &[u8]| Origin {
            tls: true,
            certificate: Some(PeerCertificate(Arc::from(der))),
            address: Some("192.0.2.7:5000".parse().unwrap()),
        };
        let now = Utc::now();
        let check = |origin: &Origin, at| {
            authenticate(&spec, &certificates, "council/registry", origin, at)
        };
        assert_eq!(check(&presenting(&der), now), Ok(()));
        let plain = Origin {
            tls: false,
            ..presenting(&der)
        };
        assert!(check(&plain, now).unwrap_err().contains("plain HTTP"));
        let later = check(&presenting(&der), now + Duration::days(60)).unwrap_err();
        assert!(later.contains("renew it"), "{later}");
        let refused = authenticate(
            &spec,
            &certificates,
            "council/portal",
            &presenting(&der),
            now,
        )
        .unwrap_err();
        assert!(
            refused.contains("only from this node's own host"),
            "{refused}"
        );

        let (_, _, other) = setup();
        let refused = check(&presenting(&other), now).unwrap_err();
        assert!(refused.contains("lists it for no subsystem"), "{refused}");
    }

    #[test]
    fn a_subsystem_without_a_connection_cannot_call() {
        let (mut spec, certificates, _) = setup();
        spec.participants[0].subsystems[0].connection = None;
        let refused = authenticate(
            &spec,
            &certificates,
            "council/portal",
            &from("127.0.0.1:5000"),
            Utc::now(),
        )
        .unwrap_err();
        assert!(refused.contains("declares no `connection`"), "{refused}");
    }
}
