//! Issuing development certificates: a self-signed CA and the leaf certificates it signs — TLS
//! identities for gateway nodes and information systems, and electronic seals for participants,
//! subject-named the way eIDAS seals are (`organizationIdentifier` = `NTRUA-<EDRPOU>`). Keys are
//! ECDSA P-256, SHA-256.

use std::net::IpAddr;

use chrono::{DateTime, Duration, Utc};
use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, PKeyRef, Private};
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509Builder, X509Name, X509NameBuilder, X509Ref};

use super::certs::Validity;

/// A private key and the certificate issued for it.
pub struct Issued {
    pub key: PKey<Private>,
    pub cert: X509,
}

/// What a leaf certificate is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeafProfile {
    /// A gateway node's TLS identity, serving and calling other nodes.
    Tls { dns: Vec<String>, ips: Vec<IpAddr> },
    /// A participant's electronic seal.
    Seal { edrpou: String },
    /// An information system's TLS client certificate for its subsystem.
    Client,
    /// A person's signing certificate, subject-named as Ukrainian qualified certificates are
    /// (`serialNumber` = `TINUA-<RNOKPP>`, ETSI EN 319 412-1); `common_name` is their full name.
    Person {
        rnokpp: String,
        surname: String,
        given_name: String,
    },
}

/// A leaf certificate to issue.
#[derive(Debug, Clone)]
pub struct LeafRequest {
    pub common_name: String,
    pub organisation: String,
    pub profile: LeafProfile,
    pub validity: Validity,
}

/// A fresh ECDSA P-256 key.
pub fn new_key() -> Result<PKey<Private>, ErrorStack> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    PKey::from_ec_key(EcKey::generate(&group)?)
}

/// A validity period starting a day ago (to tolerate clock skew) and lasting `days` from now.
pub fn validity_from_now(days: i64) -> Validity {
    let now = Utc::now();
    Validity {
        not_before: now - Duration::days(1),
        not_after: now + Duration::days(days),
    }
}

/// X.509 bounds `commonName` and `organizationName` at 64 characters (RFC 5280, ub-common-name,
/// ub-organization-name); longer legal names are cut to fit.
fn bounded(value: &str) -> String {
    value.chars().take(64).collect()
}

/// The subject name of the development CA.
pub fn ca_name(common_name: &str, organisation: &str) -> Result<X509Name, ErrorStack> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COUNTRYNAME, "UA")?;
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, &bounded(organisation))?;
    name.append_entry_by_nid(Nid::COMMONNAME, &bounded(common_name))?;
    Ok(name.build())
}

/// A self-signed CA certificate for `key`, allowed to sign leaf certificates only.
pub fn self_signed_ca(
    key: PKey<Private>,
    name: &X509Name,
    validity: &Validity,
) -> Result<Issued, ErrorStack> {
    let mut builder = base(name, name, &key, validity)?;
    builder.append_extension(BasicConstraints::new().critical().ca().pathlen(0).build()?)?;
    builder.append_extension(
        KeyUsage::new()
            .critical()
            .key_cert_sign()
            .crl_sign()
            .build()?,
    )?;
    let ski = SubjectKeyIdentifier::new().build(&builder.x509v3_context(None, None))?;
    builder.append_extension(ski)?;
    builder.sign(&key, MessageDigest::sha256())?;
    Ok(Issued {
        cert: builder.build(),
        key,
    })
}

/// The subject name a leaf request is issued with.
pub fn leaf_name(request: &LeafRequest) -> Result<X509Name, ErrorStack> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COUNTRYNAME, "UA")?;
    if let LeafProfile::Person {
        rnokpp,
        surname,
        given_name,
    } = &request.profile
    {
        name.append_entry_by_nid(Nid::SURNAME, &bounded(surname))?;
        name.append_entry_by_nid(Nid::GIVENNAME, &bounded(given_name))?;
        name.append_entry_by_nid(Nid::SERIALNUMBER, &format!("TINUA-{rnokpp}"))?;
        name.append_entry_by_nid(Nid::COMMONNAME, &bounded(&request.common_name))?;
        return Ok(name.build());
    }
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, &bounded(&request.organisation))?;
    if let LeafProfile::Seal { edrpou } = &request.profile {
        name.append_entry_by_text("organizationIdentifier", &format!("NTRUA-{edrpou}"))?;
    }
    name.append_entry_by_nid(Nid::COMMONNAME, &bounded(&request.common_name))?;
    Ok(name.build())
}

/// Issues a certificate for `key` as `request` asks, signed by `ca`.
pub fn issue(
    ca: &Issued,
    request: &LeafRequest,
    key: &PKeyRef<Private>,
) -> Result<X509, ErrorStack> {
    let subject = leaf_name(request)?;
    let mut builder = base(&subject, ca.cert.subject_name(), key, &request.validity)?;
    builder.append_extension(BasicConstraints::new().critical().build()?)?;
    match &request.profile {
        LeafProfile::Tls { dns, ips } => {
            builder.append_extension(KeyUsage::new().critical().digital_signature().build()?)?;
            builder.append_extension(
                ExtendedKeyUsage::new()
                    .server_auth()
                    .client_auth()
                    .build()?,
            )?;
            let mut san = SubjectAlternativeName::new();
            for d in dns {
                san.dns(d);
            }
            for ip in ips {
                san.ip(&ip.to_string());
            }
            let san = san.build(&builder.x509v3_context(Some(&ca.cert), None))?;
            builder.append_extension(san)?;
        }
        LeafProfile::Client => {
            builder.append_extension(KeyUsage::new().critical().digital_signature().build()?)?;
            builder.append_extension(ExtendedKeyUsage::new().client_auth().build()?)?;
        }
        LeafProfile::Seal { .. } | LeafProfile::Person { .. } => {
            builder.append_extension(
                KeyUsage::new()
                    .critical()
                    .digital_signature()
                    .non_repudiation()
                    .build()?,
            )?;
        }
    }
    let ski = SubjectKeyIdentifier::new().build(&builder.x509v3_context(Some(&ca.cert), None))?;
    builder.append_extension(ski)?;
    let aki = AuthorityKeyIdentifier::new()
        .keyid(true)
        .build(&builder.x509v3_context(Some(&ca.cert), None))?;
    builder.append_extension(aki)?;
    builder.sign(&ca.key, MessageDigest::sha256())?;
    Ok(builder.build())
}

/// Whether `cert` names the subject (and, for TLS, the alternative names) `request` asks for,
/// so that an existing certificate can be kept instead of issued again.
pub fn matches(cert: &X509Ref, request: &LeafRequest) -> bool {
    let Ok(want) = leaf_name(request) else {
        return false;
    };
    if cert.subject_name().try_cmp(&want).ok() != Some(std::cmp::Ordering::Equal) {
        return false;
    }
    let (mut dns, mut ips) = (Vec::new(), Vec::new());
    for name in cert.subject_alt_names().into_iter().flatten() {
        if let Some(d) = name.dnsname() {
            dns.push(d.to_string());
        } else if let Some(ip) = name.ipaddress() {
            let ip = match ip.len() {
                4 => IpAddr::from(<[u8; 4]>::try_from(ip).expect("length checked")),
                16 => IpAddr::from(<[u8; 16]>::try_from(ip).expect("length checked")),
                _ => return false,
            };
            ips.push(ip);
        }
    }
    match &request.profile {
        LeafProfile::Tls {
            dns: want_dns,
            ips: want_ips,
        } => {
            dns.sort();
            ips.sort();
            let mut want_dns = want_dns.clone();
            let mut want_ips = want_ips.clone();
            want_dns.sort();
            want_ips.sort();
            dns == want_dns && ips == want_ips
        }
        LeafProfile::Seal { .. } | LeafProfile::Client | LeafProfile::Person { .. } => {
            dns.is_empty() && ips.is_empty()
        }
    }
}

fn base(
    subject: &X509Name,
    issuer: &openssl::x509::X509NameRef,
    key: &PKeyRef<Private>,
    validity: &Validity,
) -> Result<X509Builder, ErrorStack> {
    let mut builder = X509Builder::new()?;
    builder.set_version(2)?;
    let serial = random_serial()?;
    builder.set_serial_number(&serial)?;
    builder.set_subject_name(subject)?;
    builder.set_issuer_name(issuer)?;
    builder.set_pubkey(key)?;
    let (from, until) = (
        asn1_time(validity.not_before)?,
        asn1_time(validity.not_after)?,
    );
    builder.set_not_before(&from)?;
    builder.set_not_after(&until)?;
    Ok(builder)
}

fn random_serial() -> Result<Asn1Integer, ErrorStack> {
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    serial.to_asn1_integer()
}

fn asn1_time(t: DateTime<Utc>) -> Result<Asn1Time, ErrorStack> {
    Asn1Time::from_unix(t.timestamp() as _)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::certs::{chains_to, is_p256};

    fn ca() -> Issued {
        let name = ca_name("test CA — NOT FOR PRODUCTION", "Тестова рада").unwrap();
        self_signed_ca(new_key().unwrap(), &name, &validity_from_now(3650)).unwrap()
    }

    #[test]
    fn a_seal_chains_to_its_ca_and_not_to_another() {
        let (ca, other) = (ca(), ca());
        let request = LeafRequest {
            common_name: "КП «Водоканал»".into(),
            organisation: "КП «Водоканал»".into(),
            profile: LeafProfile::Seal {
                edrpou: "03327121".into(),
            },
            validity: validity_from_now(365),
        };
        let key = new_key().unwrap();
        let cert = issue(&ca, &request, &key).unwrap();
        assert!(is_p256(&cert));
        assert!(matches(&cert, &request));
        assert_eq!(
            chains_to(&cert, &[], std::slice::from_ref(&ca.cert)),
            Ok(())
        );
        assert!(chains_to(&cert, &[], std::slice::from_ref(&other.cert)).is_err());
        let oid = crate::crypto::certs::name_line(cert.subject_name());
        assert!(
            oid.contains("organizationIdentifier=NTRUA-03327121"),
            "{oid}"
        );
    }

    #[test]
    fn a_tls_certificate_matches_only_its_own_names() {
        let ca = ca();
        let mut request = LeafRequest {
            common_name: "gw-core".into(),
            organisation: "Рада".into(),
            profile: LeafProfile::Tls {
                dns: vec!["localhost".into(), "gw.example".into()],
                ips: vec!["127.0.0.1".parse().unwrap()],
            },
            validity: validity_from_now(365),
        };
        let cert = issue(&ca, &request, &new_key().unwrap()).unwrap();
        assert!(matches(&cert, &request));
        request.profile = LeafProfile::Tls {
            dns: vec!["localhost".into()],
            ips: vec!["127.0.0.1".parse().unwrap()],
        };
        assert!(!matches(&cert, &request));
    }
}
