//! What every AWS client shares: one HTTP client (hyper, rustls on ring)
//! that trusts the roots AWS's endpoints chain to, and nothing else.

use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use rustls::pki_types::{CertificateDer, pem::PemObject};

/// Amazon Root CA 1 to 4 and Starfield Services Root CA G2, which
/// cross-signs them (<https://www.amazontrust.com/repository/>; the files
/// as Mozilla's CA list ships them). Every endpoint of the `aws` partition
/// chains to one. Built in, a cold start reads no certificate files (the
/// system's 145 roots took 2 to 2.5 ms of every init here), and no other CA
/// can stand in for DynamoDB, SNS or S3.
const AMAZON_ROOTS: &[u8] = include_bytes!("amazon-roots.pem");

/// The certificates a TLS connection may chain to, as PEM, checked whole.
#[derive(Debug, Clone)]
pub struct TrustRoots(Vec<u8>);

impl TrustRoots {
    pub fn amazon() -> Self {
        TrustRoots(AMAZON_ROOTS.to_vec())
    }

    /// A PEM bundle (`AWS_CA_BUNDLE`: an emulator behind TLS, an
    /// inspecting proxy, another partition), refused unless every
    /// certificate in it is one rustls can trust: the SDK parses it only
    /// when it opens its first connection, and panics there on one it
    /// cannot use.
    pub fn from_pem(pem: Vec<u8>) -> Result<Self, String> {
        let certs = CertificateDer::pem_slice_iter(&pem).collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())?;
        if certs.is_empty() {
            return Err("no PEM certificate in it".to_owned());
        }
        let mut store = rustls::RootCertStore::empty();
        for cert in certs {
            store.add(cert).map_err(|e| e.to_string())?;
        }
        Ok(TrustRoots(pem))
    }
}

/// The HTTP client of every AWS client: the SDK's own (hyper, rustls), with
/// ring as rustls's crypto provider instead of the default aws-lc, which is
/// the larger, and `roots` as its only trust anchors.
pub fn http_client(roots: &TrustRoots) -> SharedHttpClient {
    let trust = TrustStore::empty().with_pem_certificate(roots.0.clone());
    let tls = TlsContext::builder().with_trust_store(trust).build().expect("a trust store alone always builds");
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .tls_context(tls)
        .build_https()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_amazon_roots_are_five_certificates_rustls_trusts() {
        let count = CertificateDer::pem_slice_iter(AMAZON_ROOTS).count();
        assert_eq!(count, 5);
        assert!(TrustRoots::from_pem(AMAZON_ROOTS.to_vec()).is_ok());
    }

    #[test]
    fn a_bundle_without_a_usable_certificate_is_refused() {
        assert_eq!(TrustRoots::from_pem(b"not a certificate".to_vec()).unwrap_err(), "no PEM certificate in it");
        let broken = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".to_vec();
        assert!(TrustRoots::from_pem(broken).is_err());
    }
}
