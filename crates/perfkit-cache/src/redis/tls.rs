//! TLS to Redis (`rediss://`): which files name the trusted authority and the client's own
//! certificate, checked at start-up, and (with the `tls` feature) the rustls client built from
//! them.

use std::path::{Path, PathBuf};

use crate::CacheError;

/// Largest TLS file read: certificates and keys are a few KiB; this bounds a mistake such as
/// pointing at a log file.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The PEM files of a `rediss://` connection. With none set, the system's trusted roots
/// verify the server and no client certificate is sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedisTls {
    /// The authority (CA) certificates that verify the server, instead of the system's roots.
    pub ca_file: Option<PathBuf>,
    /// The client's certificate chain, for servers that require client certificates
    /// (`tls-auth-clients yes`); needs `key_file`.
    pub cert_file: Option<PathBuf>,
    /// The client's private key, for `cert_file`.
    pub key_file: Option<PathBuf>,
}

impl RedisTls {
    /// Every set file can be read and is PEM of the right kind; a certificate comes with its
    /// key.
    pub(super) fn check(&self) -> Result<(), CacheError> {
        if self.cert_file.is_some() != self.key_file.is_some() {
            return Err(CacheError::InvalidConfig(
                "a TLS client certificate needs its key and a key needs its certificate: set \
                 both files or neither"
                    .to_owned(),
            ));
        }
        for (what, path) in self.files() {
            let text = read(what, path)?;
            if !text.contains("-----BEGIN ") {
                return Err(CacheError::InvalidConfig(format!(
                    "TLS {what} file {} holds no PEM block",
                    path.display()
                )));
            }
        }
        #[cfg(feature = "tls")]
        rustls_client::client_config(self)?;
        Ok(())
    }

    fn files(&self) -> impl Iterator<Item = (&'static str, &Path)> {
        [("CA", &self.ca_file), ("certificate", &self.cert_file), ("key", &self.key_file)]
            .into_iter()
            .filter_map(|(what, path)| path.as_deref().map(|path| (what, path)))
    }
}

fn read(what: &str, path: &Path) -> Result<String, CacheError> {
    let unreadable = |why: String| {
        CacheError::InvalidConfig(format!(
            "TLS {what} file {} cannot be read: {why}",
            path.display()
        ))
    };
    let length = std::fs::metadata(path).map_err(|error| unreadable(error.to_string()))?.len();
    if length > MAX_FILE_BYTES {
        return Err(unreadable(format!("{length} bytes is more than {MAX_FILE_BYTES}")));
    }
    std::fs::read_to_string(path).map_err(|error| unreadable(error.to_string()))
}

#[cfg(feature = "tls")]
pub(super) mod rustls_client {
    //! The rustls client configuration for a `rediss://` connection.

    use std::sync::Arc;

    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use rustls::{ClientConfig, RootCertStore};

    use super::{RedisTls, read};
    use crate::CacheError;

    /// The client configuration `tls` describes: its CA or the system's roots, and its client
    /// certificate if any. The ring provider is named, not taken from a process default.
    pub(in crate::redis) fn client_config(tls: &RedisTls) -> Result<ClientConfig, CacheError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| invalid(format!("TLS protocol versions: {error}")))?;
        let mut roots = RootCertStore::empty();
        match &tls.ca_file {
            Some(path) => {
                let text = read("CA", path)?;
                for certificate in certificates("CA", path, &text)? {
                    roots.add(certificate).map_err(|error| {
                        invalid(format!("TLS CA file {}: {error}", path.display()))
                    })?;
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(found.certs);
            }
        }
        let builder = builder.with_root_certificates(roots);
        match (&tls.cert_file, &tls.key_file) {
            (Some(cert_path), Some(key_path)) => {
                let chain =
                    certificates("certificate", cert_path, &read("certificate", cert_path)?)?;
                let key = PrivateKeyDer::from_pem_slice(read("key", key_path)?.as_bytes())
                    .map_err(|error| {
                        invalid(format!("TLS key file {}: {error}", key_path.display()))
                    })?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|error| invalid(format!("TLS client certificate: {error}")))
            }
            _ => Ok(builder.with_no_client_auth()),
        }
    }

    fn certificates(
        what: &str,
        path: &std::path::Path,
        text: &str,
    ) -> Result<Vec<CertificateDer<'static>>, CacheError> {
        let certificates = CertificateDer::pem_slice_iter(text.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| invalid(format!("TLS {what} file {}: {error}", path.display())))?;
        if certificates.is_empty() {
            return Err(invalid(format!(
                "TLS {what} file {} holds no certificate",
                path.display()
            )));
        }
        Ok(certificates)
    }

    fn invalid(message: String) -> CacheError {
        CacheError::InvalidConfig(message)
    }
}
