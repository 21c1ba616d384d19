//! A forward target speaking https only: rustls on hyper, presenting a certificate of the test's
//! PKI, recording the body of every request and answering 200.

use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, body::Bytes, service::service_fn};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use sluice_testkit::servers::TestPki;
use tokio_rustls::TlsAcceptor;

pub struct HttpsTarget {
    pub port: u16,
    pub bodies: Arc<Mutex<Vec<Bytes>>>,
    task: tokio::task::JoinHandle<()>,
}

impl HttpsTarget {
    /// Listens on 127.0.0.1 with the certificate `cert` of `pki`.
    pub async fn start(pki: &TestPki, cert: &str) -> HttpsTarget {
        sluice_shared::tls::install_provider();
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(pki.file(&format!("{cert}.pem")))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
        let key = PrivateKeyDer::from_pem_file(pki.file(&format!("{cert}.key"))).unwrap();
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let bodies: Arc<Mutex<Vec<Bytes>>> = Arc::default();
        let seen = bodies.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, seen) = (acceptor.clone(), seen.clone());
                tokio::spawn(async move {
                    // A client that refuses our certificate ends here, as it should.
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let seen = seen.clone();
                        async move {
                            let body = req.into_body().collect().await?.to_bytes();
                            seen.lock().unwrap().push(body);
                            Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::from_static(
                                b"ok",
                            ))))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        HttpsTarget { port, bodies, task }
    }

    pub fn url(&self) -> String {
        format!("https://localhost:{}/hook", self.port)
    }

    pub fn bodies(&self) -> Vec<Bytes> {
        self.bodies.lock().unwrap().clone()
    }
}

impl Drop for HttpsTarget {
    fn drop(&mut self) {
        self.task.abort();
    }
}
