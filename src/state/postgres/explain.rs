//! Why a connection failed, where the bare error would not say what to do: the server's
//! certificate refused (its issuer unknown, another name, expired), the client certificate
//! refused or missing, TLS asked of a server without it, and pg_hba.conf refusing a plain
//! connection. Each is what failed plus a hint, never with the password.

use postgres::error::SqlState;
use rustls::{AlertDescription, CertificateError};

use super::tls::Tls;
use crate::state::StateError;

/// A connection refused on this side, or explained: what failed and what to do.
#[derive(Debug)]
pub(super) struct Refusal {
    pub(super) detail: String,
    pub(super) hint: String,
}

impl Refusal {
    pub(super) fn new(detail: impl Into<String>, hint: impl Into<String>) -> Refusal {
        Refusal {
            detail: detail.into(),
            hint: hint.into(),
        }
    }

    pub(super) fn at(self, location: &str) -> StateError {
        StateError::Database {
            location: location.to_string(),
            detail: self.detail,
            hint: Some(self.hint),
        }
    }
}

const ISSUER_HINT: &str = "set sslrootcert (or PGSSLROOTCERT) to the file of the certificate authority that signed the server's certificate (a managed database's provider publishes it); sslmode=require encrypts without checking the server";
const NAME_HINT: &str = "connect by a name the certificate holds (in its subjectAltName), or set sslmode=verify-ca to check its signature but not its name";
const CLIENT_HINT: &str = "the server accepts client certificates signed by a certificate authority in its ssl_ca_file: set sslcert and sslkey (or PGSSLCERT, PGSSLKEY) to one of those and its key";

/// What failed in connecting, when words can say more than the error: `None` for the rest.
pub(super) fn explain(e: &postgres::Error, tls: &Tls) -> Option<Refusal> {
    if let Some(db) = e.as_db_error() {
        return refused_by_server(db, tls);
    }
    let Some(error) = rustls_error(e) else {
        // The `postgres` crate's words when the server answers TLS with no.
        let no_tls = causes(e).any(|c| c.to_string() == "server does not support TLS");
        return no_tls.then(|| {
            Refusal::new(
                format!("the server does not take TLS connections, and sslmode={} requires TLS", tls.mode.name()),
                "turn ssl on in the server's postgresql.conf, or on a trusted network connect with sslmode=prefer or disable",
            )
        });
    };
    Some(match error {
        rustls::Error::InvalidCertificate(cert) => server_certificate(cert, tls),
        rustls::Error::AlertReceived(alert) if client_alert(*alert) => {
            match tls.cert.as_ref().and_then(|c| c.present()) {
                Some(cert) => Refusal::new(
                    format!(
                        "the server refused the client certificate {}: {}",
                        cert.display(),
                        alert_words(*alert)
                    ),
                    CLIENT_HINT,
                ),
                None => Refusal::new(
                    format!(
                        "the server wants a client certificate, and none is set ({})",
                        alert_words(*alert)
                    ),
                    CLIENT_HINT,
                ),
            }
        }
        other => Refusal::new(
            format!("the TLS handshake with the server failed: {other}"),
            "check the server's TLS settings (ssl_cert_file, ssl_min_protocol_version) and sslmode",
        ),
    })
}

/// An error of the server's: pg_hba.conf refusing this connection as it was made.
fn refused_by_server(db: &postgres::error::DbError, tls: &Tls) -> Option<Refusal> {
    if db.code() != &SqlState::INVALID_AUTHORIZATION_SPECIFICATION {
        return None;
    }
    let message = db.message();
    // The server's words (in English unless its lc_messages says otherwise).
    if message.ends_with("no encryption") {
        Some(Refusal::new(
            format!(
                "the server takes this connection only over TLS, and sslmode={} does not use TLS ({message})",
                tls.mode.name()
            ),
            "set sslmode=verify-full and sslrootcert (the certificate authority's file) in the url, or PGSSLMODE and PGSSLROOTCERT; sslmode=require encrypts without checking the server",
        ))
    } else if message.contains("requires a valid client certificate") {
        Some(Refusal::new(
            format!(
                "the server authenticates this user by a client certificate, and none was sent ({message})"
            ),
            CLIENT_HINT,
        ))
    } else if message.starts_with("certificate authentication failed") {
        Some(Refusal::new(
            message,
            "the client certificate's common name (CN) must be the user's name, or map to it in the server's pg_ident.conf",
        ))
    } else {
        None
    }
}

fn server_certificate(cert: &CertificateError, tls: &Tls) -> Refusal {
    match cert {
        CertificateError::UnknownIssuer => Refusal::new(
            format!(
                "the server's certificate is not signed by a certificate authority in {}",
                tls.roots_named()
            ),
            ISSUER_HINT,
        ),
        CertificateError::NotValidForNameContext {
            expected,
            presented,
        } => Refusal::new(
            format!(
                "the server's certificate is not for {}: it names {}",
                expected.to_str(),
                presented
                    .iter()
                    .map(|name| bare(name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            NAME_HINT,
        ),
        CertificateError::NotValidForName => Refusal::new(
            "the server's certificate is not for the host connected to",
            NAME_HINT,
        ),
        CertificateError::Expired
        | CertificateError::ExpiredContext { .. }
        | CertificateError::NotValidYet
        | CertificateError::NotValidYetContext { .. } => Refusal::new(
            format!("the server's certificate is out of date: {cert}"),
            "the server needs a current certificate, or this machine's clock is wrong",
        ),
        other => Refusal::new(
            format!("the server's certificate is refused: {other}"),
            ISSUER_HINT,
        ),
    }
}

/// `DnsName("db.example")` (how rustls lists a certificate's names) as `db.example`.
fn bare(name: &str) -> &str {
    name.split_once('(')
        .and_then(|(_, inner)| inner.strip_suffix(')'))
        .map_or(name, |inner| inner.trim_matches('"'))
}

/// The alerts a server sends about the client's certificate.
fn client_alert(alert: AlertDescription) -> bool {
    matches!(
        alert,
        AlertDescription::UnknownCA
            | AlertDescription::BadCertificate
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::CertificateUnknown
            | AlertDescription::CertificateRequired
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::AccessDenied
    )
}

fn alert_words(alert: AlertDescription) -> String {
    match alert {
        AlertDescription::UnknownCA => {
            "it does not trust the certificate authority that signed it".into()
        }
        AlertDescription::CertificateExpired => "it has expired".into(),
        AlertDescription::CertificateRevoked => "it was revoked".into(),
        AlertDescription::CertificateRequired => "the server requires one".into(),
        other => format!("the TLS alert {other:?}"),
    }
}

/// What `e` says it was caused by, in order.
fn causes(e: &postgres::Error) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
    std::iter::successors(std::error::Error::source(e), |cause| cause.source())
}

/// The rustls error under `e`, which the TLS stream wraps in an I/O error.
fn rustls_error(e: &postgres::Error) -> Option<&rustls::Error> {
    causes(e).find_map(|cause| {
        cause.downcast_ref::<rustls::Error>().or_else(|| {
            cause
                .downcast_ref::<std::io::Error>()?
                .get_ref()?
                .downcast_ref::<rustls::Error>()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rustls_names_are_shown_bare() {
        assert_eq!(bare("DnsName(\"db.example\")"), "db.example");
        assert_eq!(bare("IpAddress(127.0.0.1)"), "127.0.0.1");
        assert_eq!(bare("plain"), "plain");
    }
}
