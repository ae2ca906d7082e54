//! Certificates for one TLS test, made when the test runs: a throwaway authority, a server
//! certificate for `127.0.0.1` and `localhost`, and a client certificate, all signed by it.
//! Made with the `openssl` command, so no key or certificate is ever committed.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use crate::TestingError;

/// PEM files in a temporary directory, removed when this handle drops.
///
/// ```
/// use perfkit_testing::TestCertificates;
///
/// let certificates = TestCertificates::generate().unwrap();
/// let ca = std::fs::read_to_string(certificates.ca()).unwrap();
/// assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
/// ```
#[derive(Debug)]
pub struct TestCertificates {
    dir: TempDir,
}

impl TestCertificates {
    /// Makes the authority, then the server's and the client's keys and certificates.
    ///
    /// # Errors
    /// [`TestingError::Certificate`] when `openssl` is missing or fails.
    pub fn generate() -> Result<Self, TestingError> {
        let dir = tempfile::tempdir().map_err(TestingError::Process)?;
        let at = dir.path();
        openssl(
            at,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "1",
                "-subj",
                "/CN=perfkit test authority",
            ],
        )?;
        for (name, usage) in [("server", "serverAuth"), ("client", "clientAuth")] {
            let extensions = format!(
                "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
                 keyUsage=digitalSignature\nextendedKeyUsage={usage}\n"
            );
            std::fs::write(at.join(format!("{name}.ext")), extensions)
                .map_err(TestingError::Process)?;
            openssl(
                at,
                &[
                    "req",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-keyout",
                    &format!("{name}.key"),
                    "-out",
                    &format!("{name}.csr"),
                    "-subj",
                    &format!("/CN=perfkit test {name}"),
                ],
            )?;
            openssl(
                at,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &format!("{name}.csr"),
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-out",
                    &format!("{name}.pem"),
                    "-days",
                    "1",
                    "-extfile",
                    &format!("{name}.ext"),
                ],
            )?;
        }
        Ok(TestCertificates { dir })
    }

    /// The authority's certificate: trust it to verify both sides.
    #[must_use]
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The server's certificate (for `127.0.0.1` and `localhost`) and key.
    #[must_use]
    pub fn server(&self) -> (PathBuf, PathBuf) {
        (self.dir.path().join("server.pem"), self.dir.path().join("server.key"))
    }

    /// The client's certificate and key, for servers that require one.
    #[must_use]
    pub fn client(&self) -> (PathBuf, PathBuf) {
        (self.dir.path().join("client.pem"), self.dir.path().join("client.key"))
    }
}

fn openssl(dir: &Path, args: &[&str]) -> Result<(), TestingError> {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|error| TestingError::Certificate(error.to_string()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(TestingError::Certificate(format!(
            "openssl {} failed: {}",
            args.first().copied().unwrap_or_default(),
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}
