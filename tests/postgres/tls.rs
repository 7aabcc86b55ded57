//! The shared state over TLS, on the second cluster `.ci/postgres-tls` starts: `ssl=on` with a
//! server certificate for 127.0.0.1 and localhost from a CA of its own, a pg_hba.conf that
//! takes TCP connections over TLS only, and client-certificate authentication for the role
//! dispatch_cert. Every sslmode as libpq means it, and each refusal in words pinned here.

use std::time::Duration;

use dispatch::config::PgSettings;
use dispatch::model::diag::Hint;
use dispatch::state::conformance::{self, holder};
use dispatch::state::postgres::PgBackend;
use dispatch::state::{Backend, StateError};

use super::common::{Sandbox, base_doc, contains, env, needs, ok};
use super::{Pg, SCHEMA, settings, unique};

fn url() -> String {
    env("DISPATCH_TEST_PG_TLS_URL")
}

fn password() -> String {
    env("DISPATCH_TEST_PG_TLS_PASSWORD")
}

fn port() -> u16 {
    url().parse::<postgres::Config>().unwrap().get_ports()[0]
}

/// A file `.ci/postgres-tls` made: `ca.crt`, `other-ca.crt`, `client.crt`, ...
fn cert(name: &str) -> String {
    format!("{}/{name}", env("DISPATCH_TEST_PG_TLS_CERTS"))
}

/// The server's URL with `params`.
fn with(params: &str) -> String {
    format!("{}?{params}", url())
}

/// The server's URL, checked as a team would: its CA's certificate, and its name.
fn verify_full() -> String {
    with(&format!(
        "sslmode=verify-full&sslrootcert={}",
        cert("ca.crt")
    ))
}

/// The test's own connection, over the cluster's Unix socket: TCP takes TLS only.
fn sql() -> postgres::Client {
    let socket = format!(
        "host={} port={} user=dispatch password={} dbname=dispatch_test",
        env("DISPATCH_TEST_PG_TLS_SOCKET"),
        port(),
        password()
    );
    postgres::Client::connect(&socket, postgres::NoTls).unwrap()
}

/// A backend on a workspace of `schema` at `url`, with `vars` as its environment.
fn backend_with(url: &str, schema: &str, vars: &[(&str, &str)]) -> PgBackend {
    let settings = PgSettings {
        url: Some(url.into()),
        ..settings(schema, "tls", Duration::from_secs(120))
    };
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    PgBackend::new(&settings, move |key| {
        vars.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    })
    .unwrap()
}

/// Whether the state at `url` can be read (which connects).
fn load(url: &str) -> Result<(), StateError> {
    backend_with(url, SCHEMA, &[]).load().map(drop)
}

/// What a person reads of `err`, message and hint, with the port and the certificates' folder
/// as placeholders; and never the password.
fn words(err: &StateError) -> String {
    let text = format!(
        "error: {err}\nhint: {}",
        err.hint().unwrap_or_else(|| "(none)".into())
    );
    assert!(
        !text.contains(&password()),
        "the password was shown:\n{text}"
    );
    text.replace(&env("DISPATCH_TEST_PG_TLS_CERTS"), "[certs]")
        .replace(&port().to_string(), "[port]")
}

#[test]
fn passes_the_conformance_suite_over_verify_full() {
    needs!(postgres_tls);
    conformance::run(&|| Box::new(Pg::fresh_at(verify_full(), sql)));
}

#[test]
fn each_sslmode_means_what_it_means_to_libpq() {
    needs!(postgres_tls);
    // Encrypted, the server unchecked: prefer (the default too) and require.
    for params in [
        "sslmode=prefer",
        "sslmode=require",
        "application_name=tls-test",
    ] {
        load(&with(params)).unwrap_or_else(|e| panic!("{params}: {e}"));
    }
    // The certificate names 127.0.0.1 and localhost, so either checks in full.
    load(&verify_full()).unwrap();
    load(&verify_full().replace("@127.0.0.1:", "@localhost:")).unwrap();
    // By a name it does not hold: verify-ca checks the chain only, verify-full refuses.
    let elsewhere = format!(
        "{}?hostaddr=127.0.0.1&sslrootcert={}",
        url().replace("@127.0.0.1:", "@db.elsewhere.test:"),
        cert("ca.crt")
    );
    load(&format!("{elsewhere}&sslmode=verify-ca")).unwrap();
    let err = load(&format!("{elsewhere}&sslmode=verify-full")).unwrap_err();
    insta::assert_snapshot!("name_mismatch", words(&err));
    // With a root certificate, require checks the chain too, as libpq does.
    let err = load(&with(&format!(
        "sslmode=require&sslrootcert={}",
        cert("other-ca.crt")
    )))
    .unwrap_err();
    contains(&err.to_string(), "is not signed by a certificate authority");
}

#[test]
fn a_certificate_from_another_authority_is_refused_under_verify_full() {
    needs!(postgres_tls);
    let err = load(&with(&format!(
        "sslmode=verify-full&sslrootcert={}",
        cert("other-ca.crt")
    )))
    .unwrap_err();
    insta::assert_snapshot!("unknown_issuer", words(&err));
}

#[test]
fn a_plain_connection_is_refused_by_pg_hba_and_said_so() {
    needs!(postgres_tls);
    let err = load(&with("sslmode=disable")).unwrap_err();
    insta::assert_snapshot!("plain_refused", words(&err));
}

#[test]
fn a_client_certificate_authenticates_its_user() {
    needs!(postgres_tls);
    let user = format!(
        "postgres://dispatch_cert@127.0.0.1:{}/dispatch_test?sslmode=verify-full&sslrootcert={}",
        port(),
        cert("ca.crt")
    );
    // No password anywhere: the certificate is the credential.
    let schema = unique("cert");
    let backend = backend_with(
        &format!(
            "{user}&sslcert={}&sslkey={}",
            cert("client.crt"),
            cert("client.key")
        ),
        &schema,
        &[],
    );
    let lock = backend.lock(Duration::ZERO, &holder("apply")).unwrap();
    lock.save(&mut conformance::sample(3)).unwrap();
    drop(lock);
    assert_eq!(backend.load().unwrap().unwrap().resources.len(), 3);
    // Without one, or with one from an authority the server does not trust.
    let err = backend_with(&user, &schema, &[]).load().unwrap_err();
    let words = |err: &StateError| words(err).replace(&schema, "[schema]");
    insta::assert_snapshot!("no_client_certificate", words(&err));
    let stranger = format!(
        "{user}&sslcert={}&sslkey={}",
        cert("other-client.crt"),
        cert("other-client.key")
    );
    let err = backend_with(&stranger, &schema, &[]).load().unwrap_err();
    insta::assert_snapshot!("untrusted_client_certificate", words(&err));
}

#[test]
fn pgssl_variables_and_pgport_fill_in_what_the_url_leaves_out() {
    needs!(postgres_tls);
    let bare = "postgres://dispatch@127.0.0.1/dispatch_test";
    let port = port().to_string();
    let (password, ca, other) = (password(), cert("ca.crt"), cert("other-ca.crt"));
    let vars = [
        ("PGPORT", port.as_str()),
        ("PGPASSWORD", password.as_str()),
        ("PGSSLMODE", "verify-full"),
        ("PGSSLROOTCERT", ca.as_str()),
    ];
    let backend = backend_with(bare, SCHEMA, &vars);
    backend.load().unwrap();
    assert_eq!(
        backend.location(),
        format!(
            "postgres://dispatch@127.0.0.1:{port}/dispatch_test (workspace \"tls\", schema {SCHEMA})"
        )
    );
    // The URL's keys win over the variables.
    let url = format!("{bare}?sslrootcert={other}");
    let err = backend_with(&url, SCHEMA, &vars).load().unwrap_err();
    contains(&err.to_string(), "other-ca.crt");
}

#[test]
fn dispatch_keeps_its_state_over_verify_full() {
    needs!(postgres_tls, services);
    let s = Sandbox::new("tls");
    let workspace = unique("cli");
    // No password in the file, as one kept in git: it comes from PGPASSWORD.
    let url = verify_full().replace(&format!(":{}@", password()), "@");
    s.write(
        "dispatch.toml",
        &format!("[backend]\ntype = \"postgres\"\nurl = \"{url}\"\nschema = \"{SCHEMA}\"\nworkspace = \"{workspace}\"\n"),
    );
    s.write(
        "images/bases.yaml",
        &base_doc("secure", &env("DISPATCH_TEST_BASE")),
    );
    let run = |args: &[&str]| {
        let run = s.dispatch_with(args, &[("PGPASSWORD", &password())]);
        assert!(!run.stderr.contains(&password()) && !run.stdout.contains(&password()));
        run
    };
    ok(&run(&["apply", "--auto-approve", "-q", "images"]));
    let listed = run(&["get", "base-images"]);
    ok(&listed);
    contains(&listed.stdout, "secure");
    contains(&listed.stdout, "READY");
    let pulled = run(&["state", "pull", "copy.json"]);
    ok(&pulled);
    contains(
        &std::fs::read_to_string(s.path().join("copy.json")).unwrap(),
        "BaseImage/secure",
    );
    // The same from the terminal when the server's certificate is not the one expected.
    s.write(
        "dispatch.toml",
        &format!(
            "[backend]\ntype = \"postgres\"\nurl = \"{}\"\nworkspace = \"{workspace}\"\n",
            url.replace("/ca.crt", "/other-ca.crt")
        ),
    );
    let refused = run(&["get", "base-images"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    insta::assert_snapshot!(
        "cli_unknown_issuer",
        refused
            .stderr
            .replace(&env("DISPATCH_TEST_PG_TLS_CERTS"), "[certs]")
            .replace(&port().to_string(), "[port]")
            .replace(&workspace, "[workspace]")
    );
}

#[test]
fn require_is_refused_by_a_server_without_tls() {
    needs!(postgres);
    // The first cluster (`.ci/postgres`) runs with ssl = off.
    let url = super::url();
    let port = url.parse::<postgres::Config>().unwrap().get_ports()[0];
    let err = load(&format!("{url}?sslmode=require")).unwrap_err();
    let text = format!("error: {err}\nhint: {}", err.hint().unwrap());
    insta::assert_snapshot!(
        "no_tls_on_the_server",
        text.replace(&port.to_string(), "[port]")
    );
    // prefer, the default, connects without.
    load(&format!("{url}?sslmode=prefer")).unwrap();
}
