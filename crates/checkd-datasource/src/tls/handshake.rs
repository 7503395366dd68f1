//! The TLS handshake, made to succeed whatever the certificate says.
//!
//! An expired, untrusted or misnamed certificate must still give a result with its expiry,
//! so the handshake's verifier ([`AcceptAnyChain`]) accepts every chain and the chain and
//! name are judged afterwards, by `trust` and `cert`, with the same rustls/webpki code a
//! verifying client runs. The handshake signature is still verified: the peer proves it holds
//! the key of the certificate it presented.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{
    verify_tls12_signature, verify_tls13_signature, CryptoProvider, WebPkiSupportedAlgorithms,
};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{ClientConfig, DigitallySignedStruct, Error, SignatureScheme};
use tokio_rustls::TlsConnector;

use crate::tcp::connect::{duration, lower_first};

/// Runs the handshake on `stream` before `deadline` and returns the certificates the server
/// presented, leaf first. `Err` is the reason the datasource is unavailable.
pub(crate) async fn peer_certificates(
    stream: TcpStream,
    server_name: ServerName<'static>,
    provider: &Arc<CryptoProvider>,
    deadline: Instant,
    timeout: Duration,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let accept = AcceptAnyChain {
        algorithms: provider.signature_verification_algorithms,
    };
    let config = ClientConfig::builder_with_provider(Arc::clone(provider))
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("tls setup failed: {error}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(accept))
        .with_no_client_auth();
    let connector = TlsConnector::from(Arc::new(config));
    let mut tls = match timeout_at(deadline, connector.connect(server_name, stream)).await {
        Err(_) => {
            return Err(format!(
                "tls handshake timed out after {}",
                duration(timeout)
            ))
        }
        Ok(Err(error)) => {
            return Err(format!(
                "tls handshake failed: {}",
                lower_first(&error.to_string())
            ))
        }
        Ok(Ok(tls)) => tls,
    };
    let chain = tls.get_ref().1.peer_certificates().unwrap_or(&[]).to_vec();
    // A polite close_notify; the result does not depend on it.
    let _ = timeout_at(deadline, tls.shutdown()).await;
    Ok(chain)
}

/// Accepts any certificate chain; checks only the handshake signatures.
#[derive(Debug)]
struct AcceptAnyChain {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyChain {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
