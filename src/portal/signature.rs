//! An applicant's detached CMS signature over their application, judged: it reads (DER or PEM),
//! has one signer, over exactly the document's bytes, whose certificate chains to the spec's
//! trust anchors, is valid now and names the applicant's RNOKPP (`TINUA-…`, ETSI EN 319 412-1).

use chrono::{DateTime, Utc};
use openssl::nid::Nid;
use openssl::pkcs7::{Pkcs7, Pkcs7Flags};
use openssl::stack::Stack;
use openssl::x509::X509;
use openssl::x509::store::X509StoreBuilder;

use crate::crypto::{Validity, chains_to, name_line};

/// Why a signature is refused, said to the applicant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The upload is not a CMS signature at all.
    Unreadable(String),
    /// It holds no signer, or more than one.
    Signers(usize),
    /// It signs other bytes than this application's document.
    OtherContent,
    /// The signer's certificate is not from a provider the system trusts.
    Untrusted(String),
    /// The signer's certificate is not valid at the moment of signing.
    NotValid(Validity),
    /// The certificate names no RNOKPP, or another person's.
    NotApplicant { found: Option<String> },
}

impl Refusal {
    /// The refusal in plain Ukrainian, for the sign page.
    pub fn message(&self) -> String {
        match self {
            Refusal::Unreadable(_) => "Завантажений файл не є підписом CMS. Завантажте файл \
                 підпису (.p7s) у форматі DER або PEM, створений для цієї заяви."
                .into(),
            Refusal::Signers(n) => format!(
                "Підпис має містити рівно одного підписувача, а містить {n}. Підпишіть заяву \
                 лише своїм ключем."
            ),
            Refusal::OtherContent => "Підпис не відповідає цій заяві: підписано інший файл \
                 або заяву змінено. Завантажте application.json ще раз, підпишіть саме його і \
                 завантажте новий підпис."
                .into(),
            Refusal::Untrusted(_) => "Сертифікат підпису видав надавач, якому система не \
                 довіряє. Підпишіть заяву кваліфікованим сертифікатом від довіреного надавача."
                .into(),
            Refusal::NotValid(v) => format!(
                "Сертифікат підпису чинний з {} до {}, а не зараз. Підпишіть заяву чинним \
                 сертифікатом.",
                v.not_before.date_naive(),
                v.not_after.date_naive()
            ),
            Refusal::NotApplicant { found: None } => "Сертифікат підпису не містить РНОКПП. \
                 Підпишіть заяву власним кваліфікованим сертифікатом."
                .into(),
            Refusal::NotApplicant { found: Some(_) } => "Заяву підписано сертифікатом іншої \
                 особи. Підписати заяву може лише сам заявник власним ключем."
                .into(),
        }
    }

    /// A short reason for logs and metrics: no personal data.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Unreadable(_) => "unreadable",
            Refusal::Signers(_) => "signers",
            Refusal::OtherContent => "other-content",
            Refusal::Untrusted(_) => "untrusted",
            Refusal::NotValid(_) => "not-valid",
            Refusal::NotApplicant { .. } => "not-applicant",
        }
    }
}

/// A signature that holds: the signer's certificate and the DER of the signature as stored.
#[derive(Debug)]
pub struct Verified {
    pub signer: X509,
    pub der: Vec<u8>,
}

/// The RNOKPP a certificate's subject carries as `serialNumber` `TINUA-<10 digits>`.
pub fn rnokpp_of(cert: &X509) -> Option<String> {
    cert.subject_name()
        .entries_by_nid(Nid::SERIALNUMBER)
        .filter_map(|e| e.data().to_string().ok())
        .find_map(|s| {
            let digits = s.strip_prefix("TINUA-")?;
            (digits.len() == 10 && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| digits.to_string())
        })
}

/// Judges `upload` as `rnokpp`'s detached signature over `content` at `now`.
pub fn verify(
    upload: &[u8],
    content: &[u8],
    anchors: &[X509],
    rnokpp: &str,
    now: DateTime<Utc>,
) -> Result<Verified, Refusal> {
    let verified = judge(upload, content, anchors, now)?;
    match rnokpp_of(&verified.signer) {
        Some(found) if found == rnokpp => Ok(verified),
        found => Err(Refusal::NotApplicant { found }),
    }
}

/// Judges `upload` as someone's detached signature over `content`, valid at `at`: one signer,
/// these bytes, a chain to `anchors`. Who signed is the caller's to judge (`verified.signer`).
pub fn judge(
    upload: &[u8],
    content: &[u8],
    anchors: &[X509],
    at: DateTime<Utc>,
) -> Result<Verified, Refusal> {
    let signed = read(upload)?;
    let der = signed
        .to_der()
        .map_err(|e| Refusal::Unreadable(e.to_string()))?;
    let none = Stack::new().map_err(|e| Refusal::Unreadable(e.to_string()))?;
    let signers = signed.signers(&none, Pkcs7Flags::empty()).map_err(|e| {
        Refusal::Unreadable(format!("its signer is not among its certificates: {e}"))
    })?;
    if signers.len() != 1 {
        return Err(Refusal::Signers(signers.len()));
    }
    let signer = signers
        .get(0)
        .expect("one signer, checked above")
        .to_owned();
    let store = X509StoreBuilder::new()
        .map_err(|e| Refusal::Unreadable(e.to_string()))?
        .build();
    let mut certs = Stack::new().map_err(|e| Refusal::Unreadable(e.to_string()))?;
    certs
        .push(signer.clone())
        .map_err(|e| Refusal::Unreadable(e.to_string()))?;
    signed
        .verify(
            &certs,
            &store,
            Some(content),
            None,
            Pkcs7Flags::BINARY | Pkcs7Flags::NOVERIFY | Pkcs7Flags::NOINTERN,
        )
        .map_err(|_| Refusal::OtherContent)?;
    let intermediates: Vec<X509> = signed
        .signed()
        .and_then(|s| s.certificates())
        .map(|stack| stack.iter().map(|c| c.to_owned()).collect())
        .unwrap_or_default();
    chains_to(&signer, &intermediates, anchors).map_err(|why| {
        Refusal::Untrusted(format!(
            "the certificate of {} does not chain to a trust anchor: {why}",
            name_line(signer.issuer_name())
        ))
    })?;
    let validity = Validity::of(&signer);
    if at < validity.not_before || at > validity.not_after {
        return Err(Refusal::NotValid(validity));
    }
    Ok(Verified { signer, der })
}

/// A CMS SignedData from DER, or from PEM (`CMS`, `PKCS7` or `SIGNED DATA` blocks).
fn read(upload: &[u8]) -> Result<Pkcs7, Refusal> {
    let trimmed = upload.trim_ascii_start();
    if trimmed.starts_with(b"-----BEGIN") {
        let pem = String::from_utf8_lossy(trimmed);
        let body: String = pem
            .lines()
            .skip_while(|l| !l.starts_with("-----BEGIN"))
            .skip(1)
            .take_while(|l| !l.starts_with("-----END"))
            .collect();
        let der = openssl::base64::decode_block(body.trim())
            .map_err(|e| Refusal::Unreadable(format!("its PEM text does not decode: {e}")))?;
        return Pkcs7::from_der(&der).map_err(|e| Refusal::Unreadable(e.to_string()));
    }
    Pkcs7::from_der(upload).map_err(|e| Refusal::Unreadable(e.to_string()))
}

#[cfg(test)]
mod tests {
    use openssl::cms::{CMSOptions, CmsContentInfo};

    use super::*;
    use crate::crypto::dev_ca::{self, Issued, LeafProfile, LeafRequest};

    fn ca() -> Issued {
        let name = dev_ca::ca_name("test CA", "Місто").unwrap();
        dev_ca::self_signed_ca(
            dev_ca::new_key().unwrap(),
            &name,
            &dev_ca::validity_from_now(30),
        )
        .unwrap()
    }

    fn person(ca: &Issued, rnokpp: &str) -> Issued {
        let key = dev_ca::new_key().unwrap();
        let request = LeafRequest {
            common_name: "Петренко Олена Іванівна".into(),
            organisation: String::new(),
            profile: LeafProfile::Person {
                rnokpp: rnokpp.into(),
                surname: "Петренко".into(),
                given_name: "Олена".into(),
            },
            validity: dev_ca::validity_from_now(10),
        };
        let cert = dev_ca::issue(ca, &request, &key).unwrap();
        Issued { key, cert }
    }

    fn sign(who: &Issued, content: &[u8]) -> Vec<u8> {
        CmsContentInfo::sign(
            Some(&who.cert),
            Some(&who.key),
            None,
            Some(content),
            CMSOptions::BINARY | CMSOptions::DETACHED,
        )
        .unwrap()
        .to_der()
        .unwrap()
    }

    #[test]
    fn the_applicants_signature_over_the_document_holds_in_der_and_pem() {
        let ca = ca();
        let olena = person(&ca, "3184710691");
        let content = br#"{"a":1}"#;
        let der = sign(&olena, content);
        let anchors = [ca.cert.clone()];
        let verified = verify(&der, content, &anchors, "3184710691", Utc::now()).unwrap();
        assert_eq!(rnokpp_of(&verified.signer).as_deref(), Some("3184710691"));
        let pem = format!(
            "-----BEGIN CMS-----\n{}\n-----END CMS-----\n",
            openssl::base64::encode_block(&der)
        );
        assert!(verify(pem.as_bytes(), content, &anchors, "3184710691", Utc::now()).is_ok());
    }

    #[test]
    fn other_bytes_another_person_a_foreign_ca_garbage_and_an_expired_moment_are_refused() {
        let (ca, foreign) = (ca(), ca());
        let anchors = [ca.cert.clone()];
        let content = br#"{"a":1}"#;
        let olena = sign(&person(&ca, "3184710691"), content);
        let now = Utc::now();
        assert_eq!(
            verify(&olena, br#"{"a":2}"#, &anchors, "3184710691", now).unwrap_err(),
            Refusal::OtherContent
        );
        let andriy = sign(&person(&ca, "2945012349"), content);
        assert_eq!(
            verify(&andriy, content, &anchors, "3184710691", now).unwrap_err(),
            Refusal::NotApplicant {
                found: Some("2945012349".into())
            }
        );
        let stranger = sign(&person(&foreign, "3184710691"), content);
        assert!(matches!(
            verify(&stranger, content, &anchors, "3184710691", now),
            Err(Refusal::Untrusted(_))
        ));
        assert!(matches!(
            verify(
                b"%PDF-1.7 not a signature",
                content,
                &anchors,
                "3184710691",
                now
            ),
            Err(Refusal::Unreadable(_))
        ));
        assert!(matches!(
            verify(
                &olena,
                content,
                &anchors,
                "3184710691",
                now + chrono::Duration::days(40)
            ),
            Err(Refusal::NotValid(_))
        ));
    }
}
