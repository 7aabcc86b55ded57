//! TLS to PostgreSQL with libpq's settings and meanings, through rustls with the ring provider
//! the registries already use. `sslmode`: `disable`; `prefer` and `require` encrypt and check
//! the server's certificate chain only when a root certificate is at hand; `verify-ca` checks
//! the chain; `verify-full` the chain and the host name or IP. `sslrootcert` is a file of
//! certificate authorities or `system` (the OS's store); `sslcert` and `sslkey` a client
//! certificate. Each comes from the URL, else its `PGSSL*` variable, else libpq's default file
//! under `~/.postgresql`, used when it exists. TLS is never tried over a Unix socket.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use postgres::config::SslMode as WireMode;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::explain::Refusal;
use crate::model::diag::io_reason;
use crate::state::StateError;

/// libpq's `sslmode`, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<SslMode, StateError> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(StateError::Settings(format!(
                    "sslmode {other:?} is not one of disable, prefer, require, verify-ca, verify-full"
                )));
            }
        })
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// A file setting: named (in the URL or a variable), or libpq's default, used if it exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct File {
    pub(super) path: PathBuf,
    named: bool,
}

impl File {
    /// The file, unless it is a default that does not exist.
    pub(super) fn present(&self) -> Option<&Path> {
        (self.named || self.path.exists()).then_some(&self.path)
    }
}

/// What the server's certificate is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Roots {
    File(File),
    /// The operating system's trusted certificate authorities (`sslrootcert=system`).
    System,
}

/// The TLS settings of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Tls {
    pub(super) mode: SslMode,
    roots: Option<Roots>,
    pub(super) cert: Option<File>,
    key: Option<File>,
    sni: bool,
}

impl Tls {
    /// The settings from the URL's TLS keys (`given`), else the `PGSSL*` variables, else
    /// libpq's defaults.
    pub(super) fn resolve(
        given: &[(&str, String)],
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Tls, StateError> {
        let setting = |key: &str, var: &str| {
            given
                .iter()
                .rev()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.clone())
                .or_else(|| env(var))
                .filter(|v| !v.is_empty())
        };
        let home = env("HOME").filter(|h| !h.is_empty());
        let file = |key: &str, var: &str, default: &str| match setting(key, var) {
            Some(path) => Some(File {
                path: path.into(),
                named: true,
            }),
            None => home.as_ref().map(|home| File {
                path: Path::new(home).join(".postgresql").join(default),
                named: false,
            }),
        };
        let roots = match setting("sslrootcert", "PGSSLROOTCERT").as_deref() {
            Some("system") => Some(Roots::System),
            _ => file("sslrootcert", "PGSSLROOTCERT", "root.crt").map(Roots::File),
        };
        let mode = match setting("sslmode", "PGSSLMODE") {
            Some(mode) => SslMode::parse(&mode)?,
            // As libpq: the system's roots are for checking names, or nothing.
            None if roots == Some(Roots::System) => SslMode::VerifyFull,
            None => SslMode::Prefer,
        };
        if roots == Some(Roots::System) && mode < SslMode::VerifyFull {
            return Err(StateError::Settings(format!(
                "sslmode {} may not be used with sslrootcert=system, which only verify-full checks fully",
                mode.name()
            )));
        }
        let sni = setting("sslsni", "PGSSLSNI").is_none_or(|v| v != "0");
        Ok(Tls {
            mode,
            roots,
            cert: file("sslcert", "PGSSLCERT", "postgresql.crt"),
            key: file("sslkey", "PGSSLKEY", "postgresql.key"),
            sni,
        })
    }

    /// The mode as the `postgres` crate knows it: it asks for TLS; rustls does the checking.
    pub(super) fn wire(&self, config: &postgres::Config) -> WireMode {
        let unix = |host: &postgres::config::Host| matches!(host, postgres::config::Host::Unix(_));
        if !config.get_hosts().is_empty() && config.get_hosts().iter().all(unix) {
            return WireMode::Disable;
        }
        match self.mode {
            SslMode::Disable => WireMode::Disable,
            SslMode::Prefer => WireMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => WireMode::Require,
        }
    }

    /// The connector: reads the certificate files, so it is made when first connecting.
    pub(super) fn connector(&self) -> Result<MakeRustlsConnect, Refusal> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions");
        let roots = match &self.roots {
            Some(Roots::System) => Some(system_roots()?),
            Some(Roots::File(file)) => file.present().map(file_roots).transpose()?,
            None => None,
        };
        let builder = match roots {
            None if self.mode >= SslMode::VerifyCa => {
                return Err(Refusal::new(
                    format!(
                        "sslmode={} needs the certificate authority to check the server's certificate against, and there is no sslrootcert{}",
                        self.mode.name(),
                        match &self.roots {
                            Some(Roots::File(file)) => format!(" (nor {})", file.path.display()),
                            _ => String::new(),
                        }
                    ),
                    "set sslrootcert (or PGSSLROOTCERT) to the file of the certificate authority that signed the server's certificate, or to `system` for the operating system's store",
                ));
            }
            None => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Unchecked(provider))),
            Some(roots) => {
                let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider)
                    .build()
                    .map_err(|e| {
                        Refusal::new(
                            format!("the root certificates are unusable: {e}"),
                            ROOTS_HINT,
                        )
                    })?;
                if self.mode == SslMode::VerifyFull {
                    builder.with_webpki_verifier(webpki)
                } else {
                    builder
                        .dangerous()
                        .with_custom_certificate_verifier(Arc::new(ChainOnly(webpki)))
                }
            }
        };
        let cert = self.cert.as_ref().and_then(File::present);
        let mut config = match cert {
            None => builder.with_no_client_auth(),
            Some(cert) => {
                let (certs, key) = self.client_certificate(cert)?;
                builder.with_client_auth_cert(certs, key).map_err(|e| {
                    Refusal::new(
                        format!(
                            "the client certificate {} and key do not go together: {e}",
                            cert.display()
                        ),
                        CLIENT_HINT,
                    )
                })?
            }
        };
        config.enable_sni = self.sni;
        // What PostgreSQL 17 asks of a direct TLS connection (`sslnegotiation=direct`).
        config.alpn_protocols = vec![b"postgresql".to_vec()];
        Ok(MakeRustlsConnect::new(config))
    }

    fn client_certificate(
        &self,
        cert: &Path,
    ) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), Refusal> {
        let certs = CertificateDer::pem_file_iter(cert)
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(|e| unreadable("sslcert", cert, "certificates", &e, CLIENT_HINT))?;
        if certs.is_empty() {
            return Err(Refusal::new(
                format!("sslcert {} holds no PEM certificate", cert.display()),
                CLIENT_HINT,
            ));
        }
        let Some(key) = self.key.as_ref().and_then(File::present) else {
            return Err(Refusal::new(
                format!(
                    "there is a client certificate ({}) but no key: set sslkey",
                    cert.display()
                ),
                CLIENT_HINT,
            ));
        };
        let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
            unreadable(
                "sslkey",
                key,
                "an unencrypted private key (PKCS#8, PKCS#1 or SEC1)",
                &e,
                CLIENT_HINT,
            )
        })?;
        Ok((certs, key))
    }

    /// Where the server's certificate is checked against, for messages.
    pub(super) fn roots_named(&self) -> String {
        match &self.roots {
            Some(Roots::System) => "the operating system's store (sslrootcert=system)".into(),
            Some(Roots::File(file)) => format!("sslrootcert {}", file.path.display()),
            None => "sslrootcert".into(),
        }
    }
}

const ROOTS_HINT: &str = "set sslrootcert (or PGSSLROOTCERT) to a PEM file of the certificate authorities that sign the server's certificate";
const CLIENT_HINT: &str = "sslcert and sslkey (or PGSSLCERT, PGSSLKEY) name a PEM client certificate and its unencrypted key";

fn unreadable(
    key: &str,
    path: &Path,
    what: &str,
    e: &rustls::pki_types::pem::Error,
    hint: &str,
) -> Refusal {
    use rustls::pki_types::pem::Error;
    let why = match e {
        Error::Io(io) => io_reason(io),
        Error::NoItemsFound => format!("it holds no {what} in PEM"),
        other => format!("it is not PEM: {other}"),
    };
    Refusal::new(format!("cannot read {key} {}: {why}", path.display()), hint)
}

fn file_roots(path: &Path) -> Result<Arc<RootCertStore>, Refusal> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| unreadable("sslrootcert", path, "certificates", &e, ROOTS_HINT))?;
    let mut store = RootCertStore::empty();
    let (_, unusable) = store.add_parsable_certificates(certs);
    if store.is_empty() {
        return Err(Refusal::new(
            format!(
                "sslrootcert {} holds no usable certificate{}",
                path.display(),
                if unusable > 0 {
                    " (each was refused as a certificate authority)"
                } else {
                    ""
                }
            ),
            ROOTS_HINT,
        ));
    }
    Ok(Arc::new(store))
}

fn system_roots() -> Result<Arc<RootCertStore>, Refusal> {
    let found = rustls_native_certs::load_native_certs();
    let mut store = RootCertStore::empty();
    store.add_parsable_certificates(found.certs);
    if store.is_empty() {
        let why = found
            .errors
            .first()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        return Err(Refusal::new(
            format!(
                "sslrootcert=system, but the operating system's store holds no certificate{why}"
            ),
            "install the system's certificate authorities (Debian: ca-certificates), or set sslrootcert to a file",
        ));
    }
    Ok(Arc::new(store))
}

/// `prefer` and `require` without root certificates: encrypted, the server unchecked (libpq's
/// meaning); the handshake's signatures are still verified.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl Unchecked {
    fn algorithms(&self) -> &WebPkiSupportedAlgorithms {
        &self.0.signature_verification_algorithms
    }
}

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, self.algorithms())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, self.algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms().supported_schemes()
    }
}

/// `verify-ca`: the chain checked as `verify-full` checks it, the name not.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // webpki checks the name only once the chain is good.
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::postgres::connection::tests::vars;

    fn given(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    fn named(path: &str) -> Option<File> {
        Some(File {
            path: path.into(),
            named: true,
        })
    }

    #[test]
    fn the_url_wins_over_pgssl_variables_and_libpq_defaults_fill_in() {
        let env = [
            ("PGSSLMODE", "require"),
            ("PGSSLROOTCERT", "/env/ca.crt"),
            ("PGSSLCERT", "/env/client.crt"),
            ("HOME", "/home/ci"),
        ];
        let tls = Tls::resolve(
            &given(&[("sslmode", "verify-full"), ("sslrootcert", "/url/ca.crt")]),
            vars(&env),
        )
        .unwrap();
        assert_eq!(tls.mode, SslMode::VerifyFull);
        assert_eq!(tls.roots, named("/url/ca.crt").map(Roots::File));
        assert_eq!(tls.cert, named("/env/client.crt"));
        assert_eq!(
            tls.key,
            Some(File {
                path: "/home/ci/.postgresql/postgresql.key".into(),
                named: false
            })
        );
        let defaults = Tls::resolve(&[], vars(&[])).unwrap();
        assert_eq!(defaults.mode, SslMode::Prefer);
        assert_eq!(
            (defaults.roots, defaults.cert, defaults.key),
            (None, None, None)
        );
        assert!(defaults.sni);
        let no_sni = Tls::resolve(&given(&[("sslsni", "0")]), vars(&[])).unwrap();
        assert!(!no_sni.sni);
    }

    #[test]
    fn the_system_store_means_verify_full_as_with_libpq() {
        let system = Tls::resolve(&given(&[("sslrootcert", "system")]), vars(&[])).unwrap();
        assert_eq!(
            (system.mode, system.roots),
            (SslMode::VerifyFull, Some(Roots::System))
        );
        let err = Tls::resolve(
            &given(&[("sslrootcert", "system"), ("sslmode", "require")]),
            vars(&[]),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the PostgreSQL backend's settings are invalid: sslmode require may not be used with sslrootcert=system, which only verify-full checks fully"
        );
        let err = Tls::resolve(&[], vars(&[("PGSSLMODE", "allow")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the PostgreSQL backend's settings are invalid: sslmode \"allow\" is not one of disable, prefer, require, verify-ca, verify-full"
        );
    }

    #[test]
    fn tls_is_asked_of_tcp_hosts_only() {
        let tls = Tls::resolve(&given(&[("sslmode", "verify-ca")]), vars(&[])).unwrap();
        let tcp: postgres::Config = "host=db".parse().unwrap();
        assert!(matches!(tls.wire(&tcp), WireMode::Require));
        let socket: postgres::Config = "host=/run/postgresql".parse().unwrap();
        assert!(matches!(tls.wire(&socket), WireMode::Disable));
        let prefer = Tls::resolve(&[], vars(&[])).unwrap();
        assert!(matches!(prefer.wire(&tcp), WireMode::Prefer));
    }

    #[test]
    fn missing_or_unusable_files_are_named_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str| dir.path().join(name).display().to_string();
        std::fs::write(path("empty.crt"), "not a certificate\n").unwrap();
        let refusal = |pairs: &[(&'static str, &str)], env: &[(&str, &str)]| {
            let tls = Tls::resolve(&given(pairs), vars(env)).unwrap();
            let refusal = tls.connector().err().expect("refused");
            format!("{}\nhint: {}", refusal.detail, refusal.hint)
                .replace(&dir.path().display().to_string(), "DIR")
        };
        let checks = [
            refusal(&[("sslmode", "verify-full")], &[("HOME", &path("home"))]),
            refusal(
                &[("sslmode", "verify-ca"), ("sslrootcert", &path("gone.crt"))],
                &[],
            ),
            refusal(
                &[
                    ("sslmode", "verify-ca"),
                    ("sslrootcert", &path("empty.crt")),
                ],
                &[],
            ),
            refusal(
                &[("sslmode", "require"), ("sslcert", &path("empty.crt"))],
                &[],
            ),
        ];
        let expected = [
            "sslmode=verify-full needs the certificate authority to check the server's certificate against, and there is no sslrootcert (nor DIR/home/.postgresql/root.crt)\nhint: set sslrootcert (or PGSSLROOTCERT) to the file of the certificate authority that signed the server's certificate, or to `system` for the operating system's store",
            "cannot read sslrootcert DIR/gone.crt: No such file or directory\nhint: set sslrootcert (or PGSSLROOTCERT) to a PEM file of the certificate authorities that sign the server's certificate",
            "sslrootcert DIR/empty.crt holds no usable certificate\nhint: set sslrootcert (or PGSSLROOTCERT) to a PEM file of the certificate authorities that sign the server's certificate",
            "sslcert DIR/empty.crt holds no PEM certificate\nhint: sslcert and sslkey (or PGSSLCERT, PGSSLKEY) name a PEM client certificate and its unencrypted key",
        ];
        assert_eq!(checks, expected);
        // Without a root certificate, require encrypts without checking: nothing to read.
        let require = Tls::resolve(&given(&[("sslmode", "require")]), vars(&[])).unwrap();
        assert!(require.connector().is_ok());
    }
}
