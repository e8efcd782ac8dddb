//! Reading PEM X.509 certificates and judging them: does a certificate chain to one of a set of
//! trust anchors, when is it valid, and is its key ECDSA P-256. Time is never part of the chain
//! check, so that an expired certificate is reported as expired rather than as untrusted.

use std::fmt;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::nid::Nid;
use openssl::pkey::Id;
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509VerifyFlags;
use openssl::x509::{X509, X509NameRef, X509Ref, X509StoreContext};

/// A certificate this close to its expiry (in days) is due for renewal.
pub const RENEW_WITHIN_DAYS: i64 = 30;

/// Why a certificate file could not be used.
#[derive(Debug)]
pub enum CertError {
    /// No file at the path.
    Missing,
    /// The file exists but could not be read.
    Unreadable(std::io::Error),
    /// The file holds no PEM certificate, or one that does not parse.
    NotPem(String),
}

impl fmt::Display for CertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertError::Missing => write!(f, "the file does not exist"),
            CertError::Unreadable(e) => write!(f, "the file cannot be read: {e}"),
            CertError::NotPem(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for CertError {}

/// Reads every certificate of a PEM file, in file order; the first is the certificate itself,
/// any others are the intermediates that came with it.
pub fn read_certificates(path: &Path) -> Result<Vec<X509>, CertError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(CertError::Missing),
        Err(e) => return Err(CertError::Unreadable(e)),
    };
    parse_certificates(&bytes)
}

/// Parses PEM text holding one or more `CERTIFICATE` blocks.
pub fn parse_certificates(pem: &[u8]) -> Result<Vec<X509>, CertError> {
    if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
        let why = if pem.first() == Some(&0x30) {
            "the file looks like a DER certificate; PEM (`-----BEGIN CERTIFICATE-----`) is expected"
        } else {
            "no `-----BEGIN CERTIFICATE-----` block in the file"
        };
        return Err(CertError::NotPem(why.into()));
    }
    match X509::stack_from_pem(pem) {
        Ok(certs) if !certs.is_empty() => Ok(certs),
        Ok(_) => Err(CertError::NotPem(
            "no certificate could be read from the PEM blocks".into(),
        )),
        Err(e) => Err(CertError::NotPem(format!(
            "the PEM certificate does not parse: {e}"
        ))),
    }
}

/// Whether `cert` (with the `intermediates` that came with it) chains to one of `anchors`,
/// whatever the date: validity is judged on its own by `Validity`.
/// `Err` carries OpenSSL's reason when it does not.
pub fn chains_to(cert: &X509Ref, intermediates: &[X509], anchors: &[X509]) -> Result<(), String> {
    let run = || -> Result<Result<(), String>, openssl::error::ErrorStack> {
        let mut store = X509StoreBuilder::new()?;
        for anchor in anchors {
            store.add_cert(anchor.clone())?;
        }
        // An anchor is trusted as it stands, root or intermediate.
        store.set_flags(X509VerifyFlags::NO_CHECK_TIME | X509VerifyFlags::PARTIAL_CHAIN)?;
        let store = store.build();
        let mut chain = Stack::new()?;
        for i in intermediates {
            chain.push(i.clone())?;
        }
        let mut context = X509StoreContext::new()?;
        context.init(&store, cert, &chain, |ctx| {
            Ok(if ctx.verify_cert()? {
                Ok(())
            } else {
                Err(ctx.error().error_string().to_string())
            })
        })
    };
    run().unwrap_or_else(|e| Err(e.to_string()))
}

/// The validity period of a certificate, as UTC instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
}

impl Validity {
    pub fn of(cert: &X509Ref) -> Validity {
        Validity {
            not_before: not_before(cert),
            not_after: not_after(cert),
        }
    }

    /// Whether the certificate is valid on some part of `day` (UTC).
    pub fn covers(&self, day: NaiveDate) -> bool {
        self.not_before.date_naive() <= day && day <= self.not_after.date_naive()
    }

    /// Whole days from `day` to the expiry date (negative once expired).
    pub fn days_left(&self, day: NaiveDate) -> i64 {
        (self.not_after.date_naive() - day).num_days()
    }
}

pub fn not_before(cert: &X509Ref) -> DateTime<Utc> {
    asn1_to_utc(cert.not_before())
}

pub fn not_after(cert: &X509Ref) -> DateTime<Utc> {
    asn1_to_utc(cert.not_after())
}

fn asn1_to_utc(time: &Asn1TimeRef) -> DateTime<Utc> {
    let epoch = Asn1Time::from_unix(0).expect("the Unix epoch is a valid ASN.1 time");
    let diff = epoch
        .diff(time)
        .expect("a parsed certificate time differs from the epoch by a representable amount");
    let seconds = i64::from(diff.days) * 86_400 + i64::from(diff.secs);
    DateTime::from_timestamp(seconds, 0).expect("certificate times lie within chrono's range")
}

/// Whether the certificate's public key is an EC key on prime256v1 (NIST P-256).
pub fn is_p256(cert: &X509Ref) -> bool {
    cert.public_key()
        .ok()
        .and_then(|k| k.ec_key().ok())
        .is_some_and(|k| k.group().curve_name() == Some(Nid::X9_62_PRIME256V1))
}

/// A short description of the certificate's key: `RSA 2048-bit`, `EC secp384r1`, `Ed25519`.
pub fn key_description(cert: &X509Ref) -> String {
    let Ok(key) = cert.public_key() else {
        return "an unreadable key".into();
    };
    match key.id() {
        Id::RSA => format!("RSA {}-bit", key.bits()),
        Id::EC => match key.ec_key().ok().and_then(|k| k.group().curve_name()) {
            Some(nid) => format!("EC {}", nid.short_name().unwrap_or("unknown curve")),
            None => "EC with explicit curve parameters".into(),
        },
        Id::ED25519 => "Ed25519".into(),
        Id::ED448 => "Ed448".into(),
        Id::DSA => format!("DSA {}-bit", key.bits()),
        other => format!("key type {}", other.as_raw()),
    }
}

/// A distinguished name as one line, `CN=…, O=…`.
pub fn name_line(name: &X509NameRef) -> String {
    name.entries()
        .map(|e| {
            let field = e.object().nid().short_name().unwrap_or("?").to_string();
            let value = e.data().to_string().unwrap_or_else(|_| "?".into());
            format!("{field}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(path: &str) -> X509 {
        let file = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(path);
        read_certificates(&file).unwrap().remove(0)
    }

    #[test]
    fn validity_dates_are_read_exactly() {
        let seal = fixture("H1004-certificate-expiring/pki/seals/council.crt");
        let v = Validity::of(&seal);
        assert_eq!(v.not_before.to_rfc3339(), "2026-01-01T00:00:00+00:00");
        assert_eq!(v.not_after.to_rfc3339(), "2027-02-01T00:00:00+00:00");
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(v.days_left(day("2027-01-15")), 17);
        assert!(v.covers(day("2026-01-01")) && v.covers(day("2027-02-01")));
        assert!(!v.covers(day("2025-12-31")) && !v.covers(day("2027-02-02")));
    }

    #[test]
    fn text_and_der_are_not_pem() {
        assert!(matches!(
            parse_certificates(b"hello"),
            Err(CertError::NotPem(_))
        ));
        let der = fixture("H1004-certificate-expiring/pki/ca.crt")
            .to_der()
            .unwrap();
        let Err(CertError::NotPem(why)) = parse_certificates(&der) else {
            panic!("DER accepted")
        };
        assert!(why.contains("DER"), "{why}");
        let broken = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            parse_certificates(broken),
            Err(CertError::NotPem(_))
        ));
        assert!(matches!(
            read_certificates(Path::new("/nonexistent/x.crt")),
            Err(CertError::Missing)
        ));
    }

    #[test]
    fn chains_only_to_the_issuing_anchor_and_keys_are_told_apart() {
        let ca = fixture("H1004-certificate-expiring/pki/ca.crt");
        let expired = fixture("H1005-certificate-expired/pki/seals/council.crt");
        assert_eq!(
            chains_to(&expired, &[], std::slice::from_ref(&ca)),
            Ok(()),
            "time must not matter"
        );
        let stranger = fixture("H1003-certificate-not-chained/pki/seals/council.crt");
        assert!(chains_to(&stranger, &[], std::slice::from_ref(&ca)).is_err());
        assert!(chains_to(&stranger, &[], &[]).is_err());
        let p384 = fixture("H1007-seal-key-not-p256/pki/seals/council.crt");
        assert!(is_p256(&expired) && !is_p256(&p384));
        assert_eq!(key_description(&p384), "EC secp384r1");
    }
}
