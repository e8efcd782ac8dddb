//! TLS material the tests make with openssl: a self-signed P-256 certificate for `localhost`
//! and 127.0.0.1, as an operator's `--tls-cert` and `--tls-key`.

use std::path::Path;
use std::process::Command;

/// Writes a self-signed certificate with `serial` to `cert` and its key to `key` (PEM).
pub fn self_signed(cert: &Path, key: &Path, serial: u32) {
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-set_serial",
        ])
        .arg(serial.to_string())
        .arg("-keyout")
        .arg(key)
        .arg("-out")
        .arg(cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
