//! TLS for every outside connection (Postgres, Redis, the forward target): the one crypto
//! provider, and the roots trusted: the system's plus an optional private CA (`SLUICE_CA_FILE`).
//!
//! Every client is built on rustls with ring: aws-lc-rs, rustls's default provider, needs cmake
//! and a long C build. sqlx picks ring by its feature; redis and reqwest take the process's
//! default provider, which [`install_provider`] sets.

use std::{fmt, path::PathBuf, sync::Arc};

use base64::Engine;
use rustls::pki_types::{CertificateDer, pem::PemObject};

/// Which private CA, if any, the clients trust besides the system's roots.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct TlsConfig {
    /// PEM file of a CA trusted besides the system's roots (e.g. the RDS global bundle): by
    /// Postgres when DATABASE_URL names no `sslrootcert`, by Redis for `rediss://` URLs, and by
    /// the forward handler for `https://` targets. Read once at start-up.
    #[arg(long = "ca-file", env = "SLUICE_CA_FILE", value_name = "SLUICE_CA_FILE",
          value_parser = CaBundle::load)]
    pub ca_file: Option<CaBundle>,
}

impl TlsConfig {
    /// The private CA's certificates as PEM, if one is set.
    pub fn ca_pem(&self) -> Option<&[u8]> {
        self.ca_file.as_ref().map(|ca| &ca.pem[..])
    }

    /// The roots a `rediss://` connection trusts, as PEM, when a private CA is set: redis-rs
    /// trusts only the PEM it is given then, so the system's roots are added here.
    pub fn redis_roots(&self) -> Option<&[u8]> {
        self.ca_file.as_ref().map(|ca| &ca.with_system_roots[..])
    }
}

/// The certificates of `SLUICE_CA_FILE`, checked when the setting is parsed.
#[derive(Clone)]
pub struct CaBundle {
    path: PathBuf,
    pem: Arc<[u8]>,
    /// The file's certificates followed by the system's, as PEM (see [`TlsConfig::redis_roots`]).
    with_system_roots: Arc<[u8]>,
    count: usize,
}

impl fmt::Debug for CaBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} certificates)", self.path.display(), self.count)
    }
}

impl CaBundle {
    /// Reads and checks the PEM file at `path` (the value parser of `SLUICE_CA_FILE`, whose
    /// error clap prints next to the variable's name).
    pub fn load(path: &str) -> Result<CaBundle, String> {
        let pem = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{path} is not a PEM certificate file: {e}"))?;
        if certs.is_empty() {
            return Err(format!("{path} holds no PEM certificate"));
        }
        let count = certs.len();
        let mut roots = certs;
        // A system without a trust store still trusts the file's CA.
        roots.extend(rustls_native_certs::load_native_certs().certs);
        Ok(CaBundle {
            path: PathBuf::from(path),
            with_system_roots: to_pem(&roots).into(),
            count,
            pem: pem.into(),
        })
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

fn to_pem(certs: &[CertificateDer<'_>]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = String::new();
    for cert in certs {
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        let body = b64.encode(cert.as_ref());
        for line in body.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
    }
    out.into_bytes()
}

/// Makes ring the process's rustls provider, which redis-rs and reqwest use; idempotent.
/// Called before any client is built (the connection constructors and `Forward::new` do).
pub fn install_provider() {
    // An error means a provider is installed already: ours, by an earlier call.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_file_is_refused_with_its_path() {
        let e = CaBundle::load("/nonexistent/ca.pem").unwrap_err();
        assert!(e.contains("/nonexistent/ca.pem"), "{e}");
        let dir = std::env::temp_dir().join(format!("sluice-ca-{}", ulid::Ulid::generate()));
        std::fs::write(&dir, "not a certificate\n").unwrap();
        let e = CaBundle::load(dir.to_str().unwrap()).unwrap_err();
        let _ = std::fs::remove_file(&dir);
        assert!(e.contains("no PEM certificate"), "{e}");
    }

    #[test]
    fn pem_round_trips() {
        let der = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x01]);
        let pem = to_pem(std::slice::from_ref(&der));
        let back: Vec<_> = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back, vec![der]);
    }
}
