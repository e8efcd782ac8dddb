//! `hromada keys dev` on a copy of `examples/minimal`: the certificates (the subsystems' client
//! certificates too) land where the spec's `cert=` paths point and chain to the development CA, the
//! keys stay out of the versioned spec, and running again keeps what is still valid.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hromada::crypto::{chains_to, is_p256, read_certificates};

const CERTS: [&str; 5] = [
    "pki/ca.crt",
    "pki/nodes/gw-core.crt",
    "pki/seals/council.crt",
    "pki/systems/council-portal.crt",
    "pki/systems/council-registry.crt",
];

/// A copy of the minimal example's spec without its certificates or keys.
fn minimal_tree() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for folder in ["spec", "policies"] {
        common::copy_tree(&common::minimal().join(folder), &tmp.path().join(folder));
    }
    tmp
}

fn keys_dev(root: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hromada"))
        .args(["keys", "dev"])
        .arg(root)
        .args(extra)
        .output()
        .unwrap()
}

fn succeed(root: &Path, extra: &[&str]) -> String {
    let output = keys_dev(root, extra);
    assert!(
        output.status.success(),
        "keys dev failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn read_all(root: &Path) -> Vec<Vec<u8>> {
    CERTS
        .iter()
        .map(|c| std::fs::read(root.join(c)).unwrap())
        .collect()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect()
}

#[test]
fn certificates_chain_to_the_dev_ca_and_keys_stay_outside_the_spec() {
    let tree = minimal_tree();
    let root = tree.path();
    let printed = succeed(root, &[]);
    for cert in CERTS {
        assert!(
            printed.contains(cert),
            "`{cert}` not reported in:\n{printed}"
        );
    }

    let ca = read_certificates(&root.join("pki/ca.crt")).unwrap();
    for leaf in &CERTS[1..] {
        let cert = read_certificates(&root.join(leaf)).unwrap().remove(0);
        assert_eq!(
            chains_to(&cert, &[], &ca),
            Ok(()),
            "{leaf} does not chain to the CA"
        );
        assert!(is_p256(&cert), "{leaf} is not P-256");
    }
    let seal = read_certificates(&root.join("pki/seals/council.crt"))
        .unwrap()
        .remove(0);
    let subject = hromada::crypto::name_line(seal.subject_name());
    assert!(
        subject.contains("organizationIdentifier=NTRUA-04363395"),
        "{subject}"
    );

    for folder in ["spec", "policies", "pki"] {
        for file in files_under(&root.join(folder)) {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            assert!(
                !text.contains("PRIVATE KEY"),
                "a private key in {}",
                file.display()
            );
        }
    }
    let keys: Vec<PathBuf> = files_under(&root.join("dev-keys"))
        .into_iter()
        .filter(|p| p.extension() == Some("key".as_ref()))
        .collect();
    assert_eq!(keys.len(), 7, "{keys:?}");
    for rnokpp in ["3184710691", "2745031282"] {
        let key = root.join(format!("dev-keys/citizens/{rnokpp}.key"));
        assert!(keys.contains(&key), "{} in {keys:?}", key.display());
        let cert = read_certificates(&root.join(format!("dev-keys/citizens/{rnokpp}.crt")))
            .unwrap()
            .remove(0);
        assert_eq!(chains_to(&cert, &[], &ca), Ok(()), "citizen {rnokpp}");
        let subject = hromada::crypto::name_line(cert.subject_name());
        assert!(
            subject.contains(&format!("serialNumber=TINUA-{rnokpp}")),
            "{subject}"
        );
    }
    for subsystem in ["portal", "registry"] {
        let key = root.join(format!("dev-keys/systems/council-{subsystem}.key"));
        assert!(keys.contains(&key), "{} in {keys:?}", key.display());
    }
    assert!(
        std::fs::read_to_string(root.join("dev-keys/README.txt"))
            .unwrap()
            .contains("DEVELOPMENT ONLY")
    );
    #[cfg(unix)]
    for key in &keys {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is readable by others", key.display());
    }

    let (_loaded, diagnostics) = hromada::cli::validate::validate(root, None);
    let problems: Vec<String> = diagnostics
        .iter()
        .map(|d| format!("{} {}", d.code, d.summary))
        .collect();
    assert!(
        problems.is_empty(),
        "validate after keys dev: {problems:#?}"
    );
}

#[test]
fn a_second_run_keeps_the_certificates_and_force_replaces_them() {
    let tree = minimal_tree();
    let root = tree.path();
    succeed(root, &[]);
    let first = read_all(root);

    let printed = succeed(root, &[]);
    assert_eq!(
        read_all(root),
        first,
        "a second run changed the certificates"
    );
    assert!(printed.lines().all(|l| l.starts_with("kept")), "{printed}");

    succeed(root, &["--force"]);
    let forced = read_all(root);
    for (i, cert) in CERTS.iter().enumerate() {
        assert_ne!(forced[i], first[i], "--force kept {cert}");
    }
}

#[test]
fn a_lost_ca_key_reissues_everything_and_a_lost_leaf_key_only_its_certificate() {
    let tree = minimal_tree();
    let root = tree.path();
    succeed(root, &[]);
    let first = read_all(root);

    std::fs::remove_file(root.join("dev-keys/seals/council.key")).unwrap();
    succeed(root, &[]);
    let second = read_all(root);
    assert_eq!(second[0], first[0], "the CA was reissued");
    assert_eq!(second[1], first[1], "the node certificate was reissued");
    assert_ne!(second[2], first[2], "the seal was kept without its key");

    std::fs::remove_file(root.join("dev-keys/ca.key")).unwrap();
    succeed(root, &[]);
    let third = read_all(root);
    for (i, cert) in CERTS.iter().enumerate() {
        assert_ne!(third[i], second[i], "{cert} kept after the CA key was lost");
    }
}

#[test]
fn keys_are_never_written_into_the_spec() {
    let tree = minimal_tree();
    let root = tree.path();
    let out = root.join("spec/keys");
    let output = keys_dev(root, &["--out", out.to_str().unwrap()]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("refusing to write private keys"),
        "{stderr}"
    );
    assert!(!out.exists());
    assert!(
        !root.join("pki").exists(),
        "certificates written before refusing"
    );
}

#[test]
fn a_tree_without_a_system_is_a_clear_error() {
    let tree = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tree.path().join("spec")).unwrap();
    std::fs::write(tree.path().join("spec/empty.kdl"), "// nothing\n").unwrap();
    let output = keys_dev(tree.path(), &[]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("declares no `system`"), "{stderr}");
}

#[test]
fn a_changed_node_address_reissues_only_that_node() {
    let tree = minimal_tree();
    let root = tree.path();
    succeed(root, &[]);
    let first = read_all(root);

    let system = root.join("spec/system.kdl");
    let text = std::fs::read_to_string(&system).unwrap();
    assert!(
        text.contains("https://127.0.0.1:8443"),
        "the example's node address changed"
    );
    std::fs::write(
        &system,
        text.replace(
            "https://127.0.0.1:8443",
            "https://gw.shchaslyve.example:8443",
        ),
    )
    .unwrap();
    succeed(root, &[]);
    let second = read_all(root);
    assert_eq!(second[0], first[0]);
    assert_ne!(
        second[1], first[1],
        "the node certificate kept its old address"
    );
    assert_eq!(second[2], first[2]);

    let node = read_certificates(&root.join("pki/nodes/gw-core.crt"))
        .unwrap()
        .remove(0);
    let names: Vec<String> = node
        .subject_alt_names()
        .unwrap()
        .iter()
        .filter_map(|n| n.dnsname().map(String::from))
        .collect();
    assert!(
        names.contains(&"gw.shchaslyve.example".to_string()),
        "{names:?}"
    );
    assert!(names.contains(&"localhost".to_string()), "{names:?}");
}

#[test]
fn keys_dev_never_writes_a_certificate_outside_the_root_or_over_spec_files() {
    for (path, expected) in [
        ("spec/system.kdl", "only spec files"),
        ("../escaped.crt", "without `..`"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("city");
        common::copy_tree(&common::minimal(), &root);
        let council = root.join("spec/council.kdl");
        let text = std::fs::read_to_string(&council).unwrap();
        std::fs::write(&council, text.replace("pki/seals/council.crt", path)).unwrap();
        let before = std::fs::read_to_string(root.join("spec/system.kdl")).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_hromada"))
            .args(["keys", "dev", root.to_str().unwrap()])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(expected), "{err}");
        assert_eq!(
            std::fs::read_to_string(root.join("spec/system.kdl")).unwrap(),
            before
        );
        assert!(!dir.path().join("escaped.crt").exists());
    }
}
