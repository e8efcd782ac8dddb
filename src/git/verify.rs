//! Whether a commit is signed by a key the appliance trusts, by `git verify-commit`: SSH
//! signatures against an allowed-signers file, OpenPGP ones against a keyring of its own under
//! the data folder. Neither the user's keyring nor any git config but ours decides the answer.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// What the verification found for one revision: the status shows it as whose key signed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub revision: String,
    pub verdict: Verdict,
    /// `ssh`, `openpgp` or `x509`, when the commit carries a signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The signing key's fingerprint (`SHA256:…` for SSH, hexadecimal for OpenPGP), or its key
    /// id when the key is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Whom the key belongs to: the allowed-signers principal, or the OpenPGP user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// Why the revision is not trusted, for a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Signed by a trusted key, and the signature holds.
    Trusted,
    Unsigned,
    /// Signed by a key that is not trusted (unknown, expired or revoked).
    Untrusted,
    /// The signature does not match the commit.
    Bad,
    /// The tree is not a clean checkout of a commit: there is nothing signed to check.
    Uncommitted,
    /// The check itself could not run (a file unreadable, git or gpg failing).
    Unverifiable,
}

impl Signature {
    pub fn is_trusted(&self) -> bool {
        self.verdict == Verdict::Trusted
    }

    /// "unsigned", or the key and whose it is, for a log line or the status.
    pub fn signer(&self) -> String {
        match (&self.fingerprint, &self.principal) {
            _ if self.verdict == Verdict::Unsigned => "unsigned".into(),
            (Some(key), Some(who)) => format!("{who} ({} key {key})", self.format_name()),
            (Some(key), None) => format!("{} key {key}", self.format_name()),
            (None, Some(who)) => who.clone(),
            (None, None) => "no key".into(),
        }
    }

    fn format_name(&self) -> &str {
        match self.format.as_deref() {
            Some("ssh") => "SSH",
            Some("openpgp") => "OpenPGP",
            Some("x509") => "X.509",
            _ => "signing",
        }
    }

    /// A revision that is not a clean checkout of a commit (a folder's content hash).
    pub fn uncommitted(revision: &str) -> Signature {
        Signature {
            revision: revision.into(),
            verdict: Verdict::Uncommitted,
            format: None,
            fingerprint: None,
            principal: None,
            reason: Some(
                "the spec folder is not a clean checkout of a commit (files differ from HEAD, or \
                 it is not in Git), so no signature covers what it holds; commit the change and \
                 sign the commit"
                    .into(),
            ),
        }
    }
}

/// Checks commits against the keys given to `serve`. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    allowed_signers: Option<PathBuf>,
    trusted_keys: Option<PathBuf>,
    /// The keyring the trusted keys are imported into, owned by the appliance.
    gnupg_home: PathBuf,
    /// The SHA-256 of the trusted keys file as last imported: a changed file is imported anew.
    imported: Mutex<Option<[u8; 32]>>,
}

impl Verifier {
    /// A verifier for `--git-allowed-signers` and `--git-trusted-keys`, or `None` when neither is
    /// given. Checks both files now, so that a wrong path stops `serve` at start-up.
    pub fn new(
        allowed_signers: Option<PathBuf>,
        trusted_keys: Option<PathBuf>,
        data_dir: &Path,
    ) -> Result<Option<Verifier>, String> {
        if allowed_signers.is_none() && trusted_keys.is_none() {
            return Ok(None);
        }
        let absolute = |path: PathBuf| std::path::absolute(&path).unwrap_or(path);
        let verifier = Verifier {
            inner: Arc::new(Inner {
                allowed_signers: allowed_signers.map(absolute),
                trusted_keys: trusted_keys.map(absolute),
                gnupg_home: absolute(data_dir.join("trusted-keys.gnupg")),
                imported: Mutex::new(None),
            }),
        };
        if let Some(file) = &verifier.inner.allowed_signers {
            allowed_signers_entries(file)?;
            // ssh-keygen checks SSH signatures for git: without it every commit is refused.
            Command::new("ssh-keygen")
                .arg("-?")
                .output()
                .map_err(|e| {
                    format!(
                        "--git-allowed-signers needs ssh-keygen (OpenSSH's client) to check SSH signatures, and it cannot be run: {e}"
                    )
                })?;
        }
        // The keyring always exists, empty without trusted keys, so that gpg never falls back
        // to the user's own.
        verifier.keyring()?;
        Ok(Some(verifier))
    }

    /// The files the keys come from, for the status and the log.
    pub fn sources(&self) -> Vec<String> {
        [&self.inner.allowed_signers, &self.inner.trusted_keys]
            .into_iter()
            .flatten()
            .map(|p| p.display().to_string())
            .collect()
    }

    /// Verifies `commit` of the repository holding `dir`.
    pub fn verify(&self, dir: &Path, commit: &str) -> Signature {
        let mut signature = Signature {
            revision: commit.into(),
            verdict: Verdict::Unverifiable,
            format: None,
            fingerprint: None,
            principal: None,
            reason: None,
        };
        if let Err(e) = self.keyring() {
            signature.reason = Some(e);
            return signature;
        }
        match self.inspect(dir, commit) {
            Ok(found) => found,
            Err(e) => {
                signature.reason = Some(e);
                signature
            }
        }
    }

    fn inspect(&self, dir: &Path, commit: &str) -> Result<Signature, String> {
        let raw = run(
            self.git(dir).args(["cat-file", "commit", commit]),
            "read the commit",
        )?;
        let format = signature_format(&String::from_utf8_lossy(&raw.stdout));
        let mut signature = Signature {
            revision: commit.into(),
            verdict: Verdict::Unsigned,
            format: format.map(str::to_string),
            fingerprint: None,
            principal: None,
            reason: None,
        };
        let Some(format) = format else {
            signature.reason = Some("the commit carries no signature".into());
            return Ok(signature);
        };
        let shown = run(
            self.git(dir)
                .args(["show", "-s", "--format=%G?%x00%GS%x00%GF%x00%GK"])
                .arg(commit),
            "read the commit's signature",
        )?;
        let shown = String::from_utf8_lossy(&shown.stdout);
        let mut fields = shown.trim_end_matches('\n').split('\0');
        let status = fields.next().unwrap_or_default().to_string();
        let mut field = || {
            fields
                .next()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        signature.principal = field();
        let fingerprint = field();
        let key_id = field();
        signature.fingerprint = fingerprint.or(key_id);

        let verified = self
            .git(dir)
            .args(["verify-commit", commit])
            .output()
            .map_err(|e| format!("cannot run git verify-commit: {e}; is git installed?"))?;
        if verified.status.success() {
            signature.verdict = Verdict::Trusted;
            return Ok(signature);
        }
        let said = last_lines(&verified.stderr);
        let (verdict, reason) = match (status.as_str(), format) {
            ("B", _) => (
                Verdict::Bad,
                "the signature does not match the commit: the commit was changed after it was signed"
                    .to_string(),
            ),
            ("X", _) => (Verdict::Untrusted, "the signature has expired".into()),
            ("Y", _) => (
                Verdict::Untrusted,
                "the key had expired when it signed".into(),
            ),
            ("R", _) => (Verdict::Untrusted, "the key is revoked".into()),
            (_, "ssh") if self.inner.allowed_signers.is_none() => (
                Verdict::Untrusted,
                "an SSH signature, and serve trusts no SSH key (give --git-allowed-signers)".into(),
            ),
            (_, "ssh") => (
                Verdict::Untrusted,
                format!(
                    "the SSH key is not in the allowed signers {}",
                    self.inner.allowed_signers.as_deref().unwrap().display()
                ),
            ),
            (_, "openpgp") if self.inner.trusted_keys.is_none() => (
                Verdict::Untrusted,
                "an OpenPGP signature, and serve trusts no OpenPGP key (give --git-trusted-keys)"
                    .into(),
            ),
            (_, "openpgp") => (
                Verdict::Untrusted,
                format!(
                    "the OpenPGP key is not among the trusted keys {}",
                    self.inner.trusted_keys.as_deref().unwrap().display()
                ),
            ),
            _ => (
                Verdict::Untrusted,
                "an X.509 signature, which serve does not trust; sign with SSH or OpenPGP".into(),
            ),
        };
        signature.verdict = verdict;
        signature.reason = Some(if said.is_empty() {
            reason
        } else {
            format!("{reason} (git: {said})")
        });
        Ok(signature)
    }

    /// `git -C dir` with only our own settings for signatures: no system or global config, the
    /// programs and files named here whatever the repository's own config says, and gpg on the
    /// appliance's keyring.
    fn git(&self, dir: &Path) -> Command {
        let mut command = super::at(dir);
        let missing = self.inner.gnupg_home.join("no-allowed-signers");
        let allowed = self.inner.allowed_signers.as_deref().unwrap_or(&missing);
        let settings = [
            ("gpg.program", "gpg".to_string()),
            ("gpg.openpgp.program", "gpg".into()),
            ("gpg.x509.program", "gpgsm".into()),
            ("gpg.ssh.program", "ssh-keygen".into()),
            ("gpg.ssh.allowedSignersFile", allowed.display().to_string()),
            ("gpg.minTrustLevel", "undefined".into()),
        ];
        command
            .env("GNUPGHOME", &self.inner.gnupg_home)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_COUNT", settings.len().to_string());
        for (i, (key, value)) in settings.iter().enumerate() {
            command
                .env(format!("GIT_CONFIG_KEY_{i}"), key)
                .env(format!("GIT_CONFIG_VALUE_{i}"), value);
        }
        command
    }

    /// Makes the keyring hold exactly the trusted keys file's keys, importing it again when the
    /// file changed since the last import.
    fn keyring(&self) -> Result<(), String> {
        let mut imported = self
            .inner
            .imported
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let home = &self.inner.gnupg_home;
        let digest = match &self.inner.trusted_keys {
            Some(file) => {
                let bytes = std::fs::read(file).map_err(|e| {
                    format!(
                        "cannot read the trusted keys {}: {e}; pass a readable file of armored OpenPGP public keys with --git-trusted-keys",
                        file.display()
                    )
                })?;
                openssl::sha::sha256(&bytes)
            }
            None => [0; 32],
        };
        if *imported == Some(digest) && home.is_dir() {
            return Ok(());
        }
        let staging = home.with_extension("new");
        let _ = std::fs::remove_dir_all(&staging);
        private_folder(&staging)?;
        // No agent: verifying needs none, and none may be left running.
        std::fs::write(staging.join("gpg.conf"), "no-autostart\n")
            .map_err(|e| format!("cannot write {}: {e}", staging.display()))?;
        if let Some(file) = &self.inner.trusted_keys {
            let keys = import(&staging, file)?;
            tracing::info!(
                "commit signatures: {keys} OpenPGP key(s) trusted from {}",
                file.display()
            );
        }
        let _ = std::fs::remove_dir_all(home);
        std::fs::rename(&staging, home).map_err(|e| {
            format!(
                "cannot move the keyring {} into place: {e}",
                staging.display()
            )
        })?;
        *imported = Some(digest);
        Ok(())
    }
}

/// Which kind of signature the raw commit carries in its `gpgsig` header, if any.
fn signature_format(commit: &str) -> Option<&'static str> {
    let headers = commit.split("\n\n").next().unwrap_or_default();
    let first = headers.lines().find_map(|line| {
        line.strip_prefix("gpgsig ")
            .or_else(|| line.strip_prefix("gpgsig-sha256 "))
    })?;
    Some(match first.trim() {
        "-----BEGIN SSH SIGNATURE-----" => "ssh",
        "-----BEGIN PGP SIGNATURE-----" => "openpgp",
        _ => "x509",
    })
}

/// The entries of an allowed-signers file; an error naming the file when it has none.
fn allowed_signers_entries(file: &Path) -> Result<usize, String> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        format!(
            "cannot read the allowed signers {}: {e}; pass a readable file in git's allowed_signers format (`PRINCIPAL ssh-ed25519 KEY` a line) with --git-allowed-signers",
            file.display()
        )
    })?;
    let entries = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count();
    if entries == 0 {
        return Err(format!(
            "the allowed signers {} holds no key: write one `PRINCIPAL ssh-ed25519 KEY` line per signer",
            file.display()
        ));
    }
    Ok(entries)
}

fn private_folder(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|e| {
            format!(
                "cannot create the keyring folder {}: {e}; check that the data folder is writable",
                path.display()
            )
        })
}

/// Imports the armored keys of `file` into the keyring at `home`; how many public keys it holds.
fn import(home: &Path, file: &Path) -> Result<usize, String> {
    let gpg = |args: &[&str]| {
        let mut command = Command::new("gpg");
        command
            .env("GNUPGHOME", home)
            .args(["--batch", "--no-tty", "--quiet"])
            .args(args);
        command
    };
    run(
        gpg(&["--import"]).arg(file),
        &format!("import the trusted keys {}", file.display()),
    )?;
    let listed = run(
        &mut gpg(&["--with-colons", "--list-keys"]),
        "list the trusted keys",
    )?;
    let keys = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter(|l| l.starts_with("pub:"))
        .count();
    if keys == 0 {
        return Err(format!(
            "the trusted keys {} hold no OpenPGP public key: export them with `gpg --armor --export KEY`",
            file.display()
        ));
    }
    Ok(keys)
}

/// Runs `command`; its output when it succeeds, else an error naming `what` and what it said.
fn run(command: &mut Command, what: &str) -> Result<Output, String> {
    let program = command.get_program().to_string_lossy().into_owned();
    let out = command
        .output()
        .map_err(|e| format!("cannot run {program} to {what}: {e}; is it installed?"))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "{program} failed to {what}: {}",
            last_lines(&out.stderr)
        ))
    }
}

/// The last lines a program wrote to stderr, joined: enough to say why, short enough to show.
fn last_lines(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let mut said = lines[lines.len().saturating_sub(3)..].join("; ");
    if said.len() > 400 {
        said.truncate(said.floor_char_boundary(400));
        said.push('…');
    }
    said
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_header_names_its_format() {
        let commit = |sig: &str| {
            format!(
                "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\ngpgsig {sig}\n line\n -----END-----\n\nmessage\ngpgsig -----BEGIN SSH SIGNATURE-----\n"
            )
        };
        assert_eq!(
            signature_format(&commit("-----BEGIN SSH SIGNATURE-----")),
            Some("ssh")
        );
        assert_eq!(
            signature_format(&commit("-----BEGIN PGP SIGNATURE-----")),
            Some("openpgp")
        );
        assert_eq!(
            signature_format(&commit("-----BEGIN SIGNED MESSAGE-----")),
            Some("x509")
        );
        assert_eq!(
            signature_format(
                "tree 4b82\nauthor A <a@x> 1 +0000\n\ngpgsig -----BEGIN SSH SIGNATURE-----\n"
            ),
            None,
            "a signature quoted in the message is no signature"
        );
    }

    #[test]
    fn an_empty_or_missing_allowed_signers_file_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("allowed_signers");
        std::fs::write(&file, "# nobody yet\n\n").unwrap();
        let e = Verifier::new(Some(file.clone()), None, dir.path()).unwrap_err();
        assert!(
            e.contains("holds no key") && e.contains("allowed_signers"),
            "{e}"
        );
        let e = Verifier::new(Some(dir.path().join("absent")), None, dir.path()).unwrap_err();
        assert!(e.contains("cannot read the allowed signers"), "{e}");
        assert!(Verifier::new(None, None, dir.path()).unwrap().is_none());
    }

    #[test]
    fn unsigned_and_unknown_are_said_in_words() {
        let unsigned = Signature {
            revision: "c".into(),
            verdict: Verdict::Unsigned,
            format: None,
            fingerprint: None,
            principal: None,
            reason: None,
        };
        assert_eq!(unsigned.signer(), "unsigned");
        let ssh = Signature {
            verdict: Verdict::Trusted,
            format: Some("ssh".into()),
            fingerprint: Some("SHA256:abc".into()),
            principal: Some("release@city.example".into()),
            ..unsigned
        };
        assert_eq!(ssh.signer(), "release@city.example (SSH key SHA256:abc)");
    }
}
