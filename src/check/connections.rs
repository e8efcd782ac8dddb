//! How information systems connect (H1009, H1010, H0409): a subsystem's `connection` is `https`
//! with the client certificates its systems present, or plain `http` from the node's own host (a
//! warning: nothing authenticates such a caller); an agreement's consumer (a subsystem, or a member
//! through one of its subsystems) must be able to connect.

use crate::spec::model::{Agreement, Connection, ConnectionProtocol, Participant, Subsystem};
use crate::spec::{Diagnostic, Kind};

use super::Checker;

const HTTPS_EXAMPLE: &str =
    "connection \"https\" { client cert=\"pki/systems/<participant>-<subsystem>.crt\" }";

pub(super) fn check(c: &mut Checker) {
    let spec = c.spec();
    for p in &spec.participants {
        for (i, s) in p.subsystems.iter().enumerate() {
            if let Some(connection) = &s.connection {
                connection_form(c, p, s, i, connection);
            }
        }
    }
    for a in &spec.agreements {
        if !a.consumer.contains('/') {
            member_cannot_call(c, a);
            continue;
        }
        let Some((p, s)) = spec.subsystem(&a.consumer) else {
            continue;
        };
        let Some(why) = unusable(s.connection.as_ref()) else {
            continue;
        };
        c.report(
            Diagnostic::warning(
                "H0409",
                format!("the consumer of agreement `{}` cannot call: subsystem `{}` {why}", a.id, a.consumer),
            )
            .at(c.at(Kind::Agreement, &a.id, "/consumer"))
            .related(
                c.at(Kind::Participant, &p.id, &subsystem_pointer(p, s)),
                "the subsystem",
            )
            .detail("the gateway refuses every call that claims a subsystem without a usable connection, so this agreement grants nothing yet")
            .help(format!("declare how the subsystem's systems connect: `{HTTPS_EXAMPLE}`")),
        );
    }
}

/// Why a subsystem declaring `connection` cannot be called as, if it cannot.
fn unusable(connection: Option<&Connection>) -> Option<&'static str> {
    match connection {
        None => Some("declares no `connection`"),
        Some(Connection {
            protocol: ConnectionProtocol::Https,
            clients,
        }) if clients.is_empty() => Some("connects over HTTPS but lists no client certificate"),
        Some(_) => None,
    }
}

/// H0409 for a member consumer: it calls as a whole only from a system that satisfies the
/// `connection` of one of its subsystems, so with none usable its agreement grants nothing.
fn member_cannot_call(c: &mut Checker, a: &Agreement) {
    let Some(p) = c.spec().participant(&a.consumer) else {
        return;
    };
    if p.subsystems
        .iter()
        .any(|s| unusable(s.connection.as_ref()).is_none())
    {
        return;
    }
    c.report(
        Diagnostic::warning(
            "H0409",
            format!(
                "the consumer of agreement `{}` cannot call: member `{}` has no subsystem with a usable `connection`",
                a.id, a.consumer
            ),
        )
        .at(c.at(Kind::Agreement, &a.id, "/consumer"))
        .detail("a member calls as a whole only from a system that satisfies the connection of one of its subsystems, so this agreement grants nothing yet")
        .help(format!("declare how one of its subsystems' systems connect: `{HTTPS_EXAMPLE}`")),
    );
}

/// H1009 (plain HTTP, a warning) and H1010 (`https` without certificates, `http` with some).
fn connection_form(
    c: &mut Checker,
    p: &Participant,
    s: &Subsystem,
    i: usize,
    connection: &Connection,
) {
    let reference = format!("{}/{}", p.id, s.id);
    let at = |pointer: &str| {
        c.at(
            Kind::Participant,
            &p.id,
            &format!("/subsystems/{i}/connection{pointer}"),
        )
    };
    match connection.protocol {
        ConnectionProtocol::Http if !connection.clients.is_empty() => c.report(
            Diagnostic::error(
                "H1010",
                format!("subsystem `{reference}` connects over plain HTTP but lists client certificates"),
            )
            .at(at("/clients/0/cert"))
            .detail("a plain HTTP connection carries no certificate, so the listed ones would never be checked")
            .help("write `connection \"https\"` to have its systems present these certificates, or remove them"),
        ),
        ConnectionProtocol::Http => c.report(
            Diagnostic::warning(
                "H1009",
                format!("subsystem `{reference}` connects over plain HTTP: its systems are not authenticated"),
            )
            .at(at("/protocol"))
            .detail(
                "the gateway accepts a call claiming this subsystem from any process on the node's own host \
                 (loopback), including a reverse proxy there; nothing proves which system made it",
            )
            .help(format!("have its systems present a client certificate: `{HTTPS_EXAMPLE}`")),
        ),
        ConnectionProtocol::Https if connection.clients.is_empty() => c.report(
            Diagnostic::error(
                "H1010",
                format!("subsystem `{reference}` connects over HTTPS but lists no client certificate"),
            )
            .at(at("/protocol"))
            .detail("its systems are authenticated by the certificates listed here; with none, no system can call as it")
            .help(format!("list the certificate its systems present: `{HTTPS_EXAMPLE}`; for development `hromada keys dev` makes one")),
        ),
        ConnectionProtocol::Https => {}
    }
}

fn subsystem_pointer(p: &Participant, s: &Subsystem) -> String {
    let i = p.subsystems.iter().position(|x| x.id == s.id).unwrap_or(0);
    format!("/subsystems/{i}")
}
