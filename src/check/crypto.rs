//! Certificates (H10xx): every `cert=` of the system and its participants names a readable PEM
//! certificate, seals and node identities chain to a trust anchor (subsystems' client certificates
//! are pinned instead), nothing is expired or about to expire, and seal keys are ECDSA P-256. Each
//! file is read once however often it is named.

use std::collections::HashMap;
use std::fmt;

use openssl::x509::{X509, X509KeyUsage};

use crate::crypto::{self, CertError, RENEW_WITHIN_DAYS, Validity};
use crate::spec::{Diagnostic, Kind, Span};

use super::Checker;

const DEV_HELP: &str = "for development certificates run `hromada keys dev`";

/// Whose certificate a `cert=` names.
enum Role<'a> {
    Anchor(&'a str),
    Node(&'a str),
    Seal(&'a str),
    /// A client certificate of subsystem `participant/subsystem`.
    Client(&'a str, &'a str),
}

impl fmt::Display for Role<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Anchor(id) => write!(f, "trust anchor `{id}`"),
            Role::Node(id) => write!(f, "the TLS certificate of node `{id}`"),
            Role::Seal(id) => write!(f, "the seal of participant `{id}`"),
            Role::Client(p, s) => write!(f, "a client certificate of subsystem `{p}/{s}`"),
        }
    }
}

/// One `cert=` reference: whose, which file, and where it is written.
struct Reference<'a> {
    role: Role<'a>,
    path: &'a str,
    span: Option<Span>,
}

pub(super) fn check(c: &mut Checker) {
    let Some(system) = c.spec().system() else {
        return;
    };
    let mut files: HashMap<String, Result<Vec<X509>, CertError>> = HashMap::new();

    if system.trust_anchors.is_empty() {
        c.report(
            Diagnostic::error("H1006", format!("system `{}` declares no trust anchor", system.id))
                .at(c.at(Kind::System, &system.id, "/trust-anchors"))
                .detail("without a trust anchor no seal or node certificate can be verified")
                .help(format!(
                    "add `trust-anchor \"dev-ca\" cert=\"pki/ca.crt\"` naming the CA certificate; {DEV_HELP}"
                )),
        );
    }
    let mut anchors = Vec::new();
    for (i, anchor) in system.trust_anchors.iter().enumerate() {
        let r = Reference {
            role: Role::Anchor(&anchor.id),
            path: &anchor.cert,
            span: c.at(
                Kind::System,
                &system.id,
                &format!("/trust-anchors/{i}/cert"),
            ),
        };
        if let Some(certs) = load(c, &mut files, &r) {
            for cert in &certs {
                validity(c, &r, cert);
            }
            anchors.extend(certs);
        }
    }

    let mut leaves = Vec::new();
    for (i, node) in system.nodes.iter().enumerate() {
        leaves.push(Reference {
            role: Role::Node(&node.id),
            path: &node.cert,
            span: c.at(Kind::System, &system.id, &format!("/nodes/{i}/cert")),
        });
    }
    for p in &c.spec().participants {
        leaves.push(Reference {
            role: Role::Seal(&p.id),
            path: &p.seal.cert,
            span: c.at(Kind::Participant, &p.id, "/seal/cert"),
        });
    }
    for p in &c.spec().participants {
        for (i, s) in p.subsystems.iter().enumerate() {
            let clients = s.connection.iter().flat_map(|c| &c.clients);
            for (j, client) in clients.enumerate() {
                leaves.push(Reference {
                    role: Role::Client(&p.id, &s.id),
                    path: &client.cert,
                    span: c.at(
                        Kind::Participant,
                        &p.id,
                        &format!("/subsystems/{i}/connection/clients/{j}/cert"),
                    ),
                });
            }
        }
    }
    for r in &leaves {
        let Some(certs) = load(c, &mut files, r) else {
            continue;
        };
        let (cert, intermediates) = certs
            .split_first()
            .expect("a loaded file holds a certificate");
        // Client certificates are pinned, whoever issued them and whatever their profile (a
        // self-signed one made with `openssl req -x509` is a CA certificate). With no usable
        // anchor, H1006 or the anchor's own diagnostic already says why.
        let pinned = matches!(r.role, Role::Client(..));
        if !anchors.is_empty() && !pinned {
            chain(c, r, cert, intermediates, &anchors);
        }
        validity(c, r, cert);
        if !pinned {
            fitness(c, r, cert);
        }
        if matches!(r.role, Role::Seal(_)) && !crypto::is_p256(cert) {
            c.report(
                Diagnostic::error("H1007", format!(
                    "{} is not ECDSA P-256: its key is {}",
                    r.role,
                    crypto::key_description(cert)
                ))
                    .at(r.span)
                    .detail(format!(
                        "`{}` must hold a certificate for an EC key on prime256v1 (P-256), the curve every \
                         gateway verifies seals with",
                        r.path
                    ))
                    .help(format!("have the seal reissued for an EC P-256 key; {DEV_HELP}")),
            );
        }
    }
}

/// The certificates of the file `r` names, read once per file; reports H1001/H1002 otherwise.
fn load(
    c: &mut Checker,
    files: &mut HashMap<String, Result<Vec<X509>, CertError>>,
    r: &Reference,
) -> Option<Vec<X509>> {
    let file = match c.loaded.sources.resolve(r.path) {
        Ok(file) => file,
        Err(outside) => {
            c.report(
                Diagnostic::error(
                    "H1001",
                    format!("certificate file `{}` of {} is outside the spec root", r.path, r.role),
                )
                .at(r.span)
                .detail(format!("a certificate path {outside}"))
                .help("keep certificates in the spec repository, e.g. under `pki/`, and name them relative to its root"),
            );
            return None;
        }
    };
    let result = files
        .entry(file.to_string_lossy().into_owned())
        .or_insert_with(|| crypto::read_certificates(&file));
    match result {
        Ok(certs) => Some(certs.clone()),
        Err(CertError::Missing) => {
            c.report(
                Diagnostic::error(
                    "H1001",
                    format!("certificate file `{}` of {} does not exist", r.path, r.role),
                )
                .at(r.span)
                .detail(format!(
                    "looked for {}; paths are relative to the spec root",
                    file.display()
                ))
                .help(format!(
                    "put the PEM certificate at `{}` or correct the path; {DEV_HELP}",
                    r.path
                )),
            );
            None
        }
        Err(e) => {
            c.report(
                Diagnostic::error("H1002", format!("`{}` ({}) is not a PEM X.509 certificate", r.path, r.role))
                    .at(r.span)
                    .detail(e.to_string())
                    .help(format!(
                        "store the certificate in PEM (`openssl x509 -inform DER -in cert.der -out {}`); {DEV_HELP}",
                        r.path
                    )),
            );
            None
        }
    }
}

fn chain(c: &mut Checker, r: &Reference, cert: &X509, intermediates: &[X509], anchors: &[X509]) {
    let Err(reason) = crypto::chains_to(cert, intermediates, anchors) else {
        return;
    };
    let system = c.spec().system().map(|s| s.id.as_str()).unwrap_or_default();
    let names: Vec<String> = c
        .spec()
        .system()
        .into_iter()
        .flat_map(|s| &s.trust_anchors)
        .map(|a| format!("`{}`", a.id))
        .collect();
    c.report(
        Diagnostic::error("H1003", format!("{} is not issued by any trust anchor", r.role))
            .at(r.span)
            .related(c.at(Kind::System, system, "/trust-anchors"), "the trust anchors")
            .detail(format!(
                "`{}` is issued by {}; trust anchors: {}; OpenSSL says: {reason}",
                r.path,
                crypto::name_line(cert.issuer_name()),
                names.join(", ")
            ))
            .help(format!(
                "have it issued by one of the trust anchors, or add its issuing CA as a `trust-anchor`; {DEV_HELP}"
            )),
    );
}

fn validity(c: &mut Checker, r: &Reference, cert: &X509) {
    let v = Validity::of(cert);
    let today = c.today;
    let (from, until) = (v.not_before.date_naive(), v.not_after.date_naive());
    let renew = format!("renew `{}` (for development: `hromada keys dev`)", r.path);
    if until < today {
        c.report(
            Diagnostic::error("H1005", format!("{} expired on {until}", r.role))
                .at(r.span)
                .detail(format!(
                    "`{}` is valid from {from} to {until}; today is {today}",
                    r.path
                ))
                .help(renew),
        );
    } else if from > today {
        c.report(
            Diagnostic::error("H1005", format!("{} is not valid until {from}", r.role))
                .at(r.span)
                .detail(format!(
                    "`{}` is valid from {from} to {until}; today is {today}",
                    r.path
                ))
                .help("check the issuer's clock, or wait until the certificate becomes valid"),
        );
    } else if v.days_left(today) <= RENEW_WITHIN_DAYS {
        c.report(
            Diagnostic::warning("H1004", format!("{} expires on {until}, in {} days", r.role, v.days_left(today)))
                .at(r.span)
                .detail(format!("certificates due within {RENEW_WITHIN_DAYS} days are flagged so they are renewed in time"))
                .help(renew),
        );
    }
}

/// H1008: a node's or participant's certificate is an end-entity certificate, and a seal may sign.
fn fitness(c: &mut Checker, r: &Reference, cert: &X509) {
    let usage = cert.key_usage();
    let problem = if usage.is_some_and(|u| u.contains(X509KeyUsage::KEY_CERT_SIGN)) {
        "is a CA certificate, not one issued to it"
    } else if matches!(r.role, Role::Seal(_))
        && usage.is_some_and(|u| {
            !u.intersects(X509KeyUsage::DIGITAL_SIGNATURE | X509KeyUsage::NON_REPUDIATION)
        })
    {
        "may not sign: its key usage allows neither digital signature nor non-repudiation"
    } else {
        return;
    };
    c.report(
        Diagnostic::error("H1008", format!("{} {problem}", r.role))
            .at(r.span)
            .detail(format!(
                "`{}` must hold the certificate issued to this {}",
                r.path,
                match r.role {
                    Role::Seal(_) => "participant's seal",
                    _ => "node",
                }
            ))
            .help(format!(
                "point `cert=` at the right certificate; {DEV_HELP}"
            )),
    );
}
