//! Moto behind TLS, as AWS's endpoints are: a test CA, a certificate for
//! `localhost` signed by it, and a TLS-terminating proxy in front of moto's
//! plain HTTP port. The functions reach it at `https://localhost:<port>` and
//! trust the CA through `AWS_CA_BUNDLE`, which replaces the built-in Amazon
//! roots (shared::adapters::aws). The benchmark's first-request figures and
//! tests/tls.rs use it.
//!
//! The proxy speaks HTTP: it keeps its clients' connections alive, as AWS
//! does, and forwards each request over a new connection to moto, whose
//! one-request-at-a-time server closes every connection after its answer.
//! Passing bytes through would close the function's connection too, and a
//! connection opened in init would never serve a request.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::header::CONNECTION;
use http::{Uri, Version};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The running proxy.
pub struct TlsFront {
    /// `https://localhost:<port>`
    pub endpoint: String,
    /// The test CA, PEM: what `AWS_CA_BUNDLE` names.
    pub ca_file: PathBuf,
    handshakes: Arc<AtomicUsize>,
}

impl TlsFront {
    /// TLS handshakes completed so far: a new connection each.
    pub fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }
}

/// Starts the proxy on the current tokio runtime, forwarding to `backend`
/// (`host:port`); writes the CA into `dir`.
pub async fn start(backend: &str, dir: &Path) -> TlsFront {
    let (ca_pem, chain, key) = certificates();
    let ca_file = dir.join("test-ca.pem");
    std::fs::write(&ca_file, ca_pem).expect("write the test CA");
    let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("the server certificate");
    // Moto speaks HTTP/1.1 only.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let endpoint = format!("https://localhost:{}", listener.local_addr().expect("address").port());
    let handshakes = Arc::new(AtomicUsize::new(0));
    tokio::spawn(serve(listener, acceptor, backend.to_owned(), handshakes.clone()));
    TlsFront { endpoint, ca_file, handshakes }
}

type Moto = Client<HttpConnector, Incoming>;

async fn serve(listener: TcpListener, acceptor: TlsAcceptor, backend: String, handshakes: Arc<AtomicUsize>) {
    let mut connector = HttpConnector::new();
    // No Nagle: small requests would wait for delayed ACKs and measure the
    // proxy, not the function.
    connector.set_nodelay(true);
    let moto: Moto = Client::builder(TokioExecutor::new()).build(connector);
    while let Ok((client, _)) = listener.accept().await {
        let (acceptor, backend, handshakes, moto) =
            (acceptor.clone(), backend.clone(), handshakes.clone(), moto.clone());
        tokio::spawn(async move {
            client.set_nodelay(true).ok();
            let Ok(tls) = acceptor.accept(client).await else { return };
            handshakes.fetch_add(1, Ordering::SeqCst);
            let forward = service_fn(move |req| forward(moto.clone(), backend.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), forward).await;
        });
    }
}

/// One request to moto, headers (the signed `Host` too) and body as they
/// came; the answer as HTTP/1.1 without moto's `Connection: close`, so that
/// the client's connection stays open.
async fn forward(moto: Moto, backend: String, mut req: Request<Incoming>) -> Result<Response<Incoming>, String> {
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    *req.uri_mut() = Uri::try_from(format!("http://{backend}{path}")).map_err(|e| e.to_string())?;
    let mut answer = moto.request(req).await.map_err(|e| e.to_string())?;
    *answer.version_mut() = Version::HTTP_11;
    answer.headers_mut().remove(CONNECTION);
    Ok(answer)
}

/// A CA (PEM) and a certificate chain and key for `localhost` it signed.
fn certificates() -> (String, Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "SMS notifications test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("CA key")).expect("CA certificate");
    let key = KeyPair::generate().expect("server key");
    let server = CertificateParams::new(vec!["localhost".to_owned()])
        .expect("server parameters")
        .signed_by(&key, &ca)
        .expect("server certificate");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    (ca.pem(), vec![server.der().clone(), ca.der().clone()], key)
}
