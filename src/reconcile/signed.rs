//! The reconciler's guard on commit signatures: a revision whose commit is not signed by a key
//! `serve` trusts is refused (H0007) like an invalid one, and the last good revision keeps
//! serving. The check itself is `git::verify`.

use crate::git::verify::{Signature, Verdict};
use crate::identity::short;
use crate::spec::Diagnostic;

/// The error refusing a revision whose signature is not trusted; `None` for a trusted one.
pub fn untrusted(signature: &Signature) -> Option<Diagnostic> {
    let revision = short(&signature.revision);
    let summary = match signature.verdict {
        Verdict::Trusted => return None,
        Verdict::Unsigned => format!("commit {revision} is not signed"),
        Verdict::Untrusted => format!(
            "commit {revision} is signed by {}, which is not a trusted key",
            signature.signer()
        ),
        Verdict::Bad => format!(
            "the signature of commit {revision} ({}) does not match the commit",
            signature.signer()
        ),
        Verdict::Uncommitted => {
            format!("revision {revision} is not a commit, so no signature covers it")
        }
        Verdict::Unverifiable => {
            format!("the signature of commit {revision} could not be checked")
        }
    };
    let mut diagnostic = Diagnostic::error("H0007", summary).help(
        "sign the commit with a key listed in serve's --git-allowed-signers (SSH) or \
         --git-trusted-keys (OpenPGP), e.g. `git commit -S`, and push it; the last good \
         revision keeps serving meanwhile",
    );
    if let Some(reason) = &signature.reason {
        diagnostic = diagnostic.detail(reason.clone());
    }
    Some(diagnostic)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signature(verdict: Verdict) -> Signature {
        Signature {
            revision: "0123456789abcdef0123456789abcdef01234567".into(),
            verdict,
            format: Some("ssh".into()),
            fingerprint: Some("SHA256:k".into()),
            principal: None,
            reason: Some("the SSH key is not in the allowed signers /etc/signers".into()),
        }
    }

    #[test]
    fn only_a_trusted_signature_passes_and_each_refusal_names_the_commit() {
        assert!(untrusted(&signature(Verdict::Trusted)).is_none());
        for verdict in [
            Verdict::Unsigned,
            Verdict::Untrusted,
            Verdict::Bad,
            Verdict::Uncommitted,
            Verdict::Unverifiable,
        ] {
            let d = untrusted(&signature(verdict)).unwrap();
            assert_eq!(d.code, "H0007");
            assert!(d.is_error());
            assert!(d.summary.contains("0123456789ab"), "{}", d.summary);
        }
        let d = untrusted(&signature(Verdict::Untrusted)).unwrap();
        assert!(d.summary.contains("SSH key SHA256:k"), "{}", d.summary);
        assert!(d.detail.contains("/etc/signers"), "{}", d.detail);
    }
}
