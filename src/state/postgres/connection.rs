//! The connection: its settings (the URL, with libpq's `PG*` variables filling in what it
//! leaves out; TLS in `tls`) and the worker thread that owns it. The `postgres` client runs its own runtime
//! and may not be called from inside another one (apply checkpoints from async code), so every
//! call is a job sent to that thread. A job's database error becomes a [`StateError`] there,
//! in one place, naming the database.

use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;

use postgres::Client;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::conninfo;
use super::explain::{Refusal, explain};
use super::tls::Tls;
use crate::config::PgSettings;
use crate::state::StateError;

/// Why a job failed: the database, a state error it found itself (a lock lost, a conflict),
/// or a connection refused in words of its own.
pub(super) enum Failure {
    Db(postgres::Error),
    State(StateError),
    Refused(Refusal),
}

impl From<postgres::Error> for Failure {
    fn from(e: postgres::Error) -> Self {
        Failure::Db(e)
    }
}

impl From<StateError> for Failure {
    fn from(e: StateError) -> Self {
        Failure::State(e)
    }
}

impl Failure {
    /// The error as the user reads it: the server's message, or what failed on the way.
    fn at(self, location: &str) -> StateError {
        let e = match self {
            Failure::State(e) => return e,
            Failure::Refused(refusal) => return refusal.at(location),
            Failure::Db(e) => e,
        };
        let detail = match e.as_db_error() {
            Some(db) => match db.detail() {
                Some(more) => format!("{} ({more})", db.message()),
                None => db.message().to_string(),
            },
            None => {
                let mut detail = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    let text = cause.to_string();
                    if !detail.contains(&text) {
                        detail = format!("{detail}: {text}");
                    }
                    source = cause.source();
                }
                detail
            }
        };
        StateError::Database {
            location: location.to_string(),
            detail,
            hint: None,
        }
    }
}

/// The connection, owned by the worker thread, opened when first needed and again after it
/// broke.
pub(super) struct Session {
    config: postgres::Config,
    tls: Tls,
    /// Made from `tls` when first connecting (it reads the certificate files).
    connector: Option<MakeRustlsConnect>,
    client: Option<Client>,
    /// The schema is known to be at the current version.
    pub(super) migrated: bool,
    pub(super) location: String,
}

impl Session {
    pub(super) fn new(config: postgres::Config, tls: Tls, location: String) -> Session {
        Session {
            config,
            tls,
            connector: None,
            client: None,
            migrated: false,
            location,
        }
    }

    pub(super) fn client(&mut self) -> Result<&mut Client, Failure> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.client = None;
            if self.connector.is_none() {
                self.connector = Some(self.tls.connector().map_err(Failure::Refused)?);
            }
            let connector = self.connector.clone().expect("made above");
            let client = self
                .config
                .connect(connector)
                .map_err(|e| explain(&e, &self.tls).map_or(Failure::Db(e), Failure::Refused))?;
            self.client = Some(client);
        }
        Ok(self.client.as_mut().expect("connected above"))
    }
}

/// A job for the worker: runs with the session and sends its outcome back itself.
type Job = Box<dyn FnOnce(&mut Session) + Send>;

/// The thread that owns the connection. Dropping the last handle ends it and closes the
/// connection.
pub(super) struct Worker {
    jobs: Mutex<mpsc::Sender<Job>>,
    location: String,
}

impl Worker {
    pub(super) fn spawn(session: Session) -> Worker {
        let location = session.location.clone();
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("dispatch-postgres".into())
            .spawn(move || {
                let mut session = session;
                for job in queue {
                    job(&mut session);
                }
            })
            .expect("a thread for the database connection starts");
        Worker {
            jobs: Mutex::new(jobs),
            location,
        }
    }

    /// Runs `f` on the worker and waits for its outcome.
    pub(super) fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Session) -> Result<R, Failure> + Send + 'static,
    ) -> Result<R, StateError> {
        let (reply, outcome) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |session| {
            let _ = reply.send(f(session).map_err(|e| e.at(&session.location)));
        });
        let stopped = || StateError::Database {
            location: self.location.clone(),
            detail: "the database connection's thread stopped".into(),
            hint: None,
        };
        self.jobs
            .lock()
            .expect("the job queue is never poisoned")
            .send(job)
            .map_err(|_| stopped())?;
        outcome.recv().map_err(|_| stopped())?
    }
}

/// The connection settings: the URL, with what it leaves out taken from the `PG*` variables
/// as libpq does (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGCONNECT_TIMEOUT, and the
/// TLS settings' PGSSLMODE, PGSSLROOTCERT, PGSSLCERT, PGSSLKEY, PGSSLSNI).
pub(super) fn connection(
    settings: &PgSettings,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(postgres::Config, Tls), StateError> {
    let var = |key: &str| env(key).filter(|v| !v.is_empty());
    let invalid = |what: &str, e: &dyn std::fmt::Display| {
        StateError::Settings(format!(
            "{what} is not a PostgreSQL connection setting: {e}"
        ))
    };
    let port = var("PGPORT")
        .map(|port| port.parse::<u16>().map_err(|e| invalid("PGPORT", &e)))
        .transpose()?;
    let (mut config, tls) = match &settings.url {
        Some(url) => {
            let split = conninfo::split(url, port);
            // The error never quotes the URL, which may hold a password.
            let config = split
                .rest
                .parse::<postgres::Config>()
                .map_err(|e| invalid("the url", &e))?;
            (config, Tls::resolve(&split.tls, var)?)
        }
        None => (postgres::Config::new(), Tls::resolve(&[], var)?),
    };
    if config.get_hosts().is_empty() {
        for host in var("PGHOST").as_deref().unwrap_or("localhost").split(',') {
            config.host(host);
        }
    }
    if config.get_ports().is_empty()
        && let Some(port) = port
    {
        config.port(port);
    }
    if config.get_user().is_none() {
        let user = var("PGUSER").or_else(|| var("USER")).ok_or_else(|| {
            StateError::Settings("no user: put one in the url, or set PGUSER".into())
        })?;
        config.user(&user);
    }
    if config.get_dbname().is_none()
        && let Some(dbname) = var("PGDATABASE")
    {
        config.dbname(&dbname);
    }
    if config.get_password().is_none()
        && let Some(password) = var("PGPASSWORD")
    {
        config.password(password);
    }
    if config.get_connect_timeout().is_none() {
        let timeout = match var("PGCONNECT_TIMEOUT") {
            Some(secs) => {
                Duration::from_secs(secs.parse().map_err(|e| invalid("PGCONNECT_TIMEOUT", &e))?)
            }
            None => settings.connect_timeout,
        };
        config.connect_timeout(timeout);
    }
    if config.get_application_name().is_none() {
        config.application_name("dispatch");
    }
    config.ssl_mode(tls.wire(&config));
    Ok((config, tls))
}

/// The database as messages name it: never with the password.
pub(super) fn describe(config: &postgres::Config) -> String {
    use postgres::config::Host;
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = config
                .get_ports()
                .get(i)
                .or(config.get_ports().first())
                .copied()
                .unwrap_or(5432);
            match host {
                Host::Tcp(name) if name.contains(':') => format!("[{name}]:{port}"),
                Host::Tcp(name) => format!("{name}:{port}"),
                Host::Unix(path) => format!("{}:{port}", path.display()),
            }
        })
        .collect();
    let user = config.get_user().unwrap_or_default();
    let dbname = config.get_dbname().unwrap_or(user);
    format!("postgres://{user}@{}/{dbname}", hosts.join(","))
}

/// A schema name, which goes into SQL quoted: letters, digits and underscores.
pub(super) fn check_name(what: &str, name: &str) -> Result<(), StateError> {
    let valid = name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(StateError::Settings(format!(
            "the {what} {name:?} is not a name of letters, digits and underscores (at most 63)"
        )))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    fn settings(url: Option<&str>) -> PgSettings {
        PgSettings {
            url: url.map(str::to_string),
            schema: "dispatch".into(),
            workspace: "default".into(),
            lock_ttl: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(7),
        }
    }

    /// An environment of `pairs`, for the readers of settings.
    pub(in crate::state::postgres) fn vars<'a>(
        pairs: &'a [(&'a str, &'a str)],
    ) -> impl Fn(&str) -> Option<String> + 'a {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_url_wins_and_pg_variables_fill_in_the_rest() {
        let env = [
            ("PGHOST", "db.internal"),
            ("PGPORT", "6432"),
            ("PGUSER", "ci"),
            ("PGPASSWORD", "from-env"),
            ("PGDATABASE", "states"),
        ];
        let (config, _) =
            connection(&settings(Some("postgres://app@10.0.0.5/app")), vars(&env)).unwrap();
        // A URL's host without a port takes PGPORT, as with libpq.
        assert_eq!(describe(&config), "postgres://app@10.0.0.5:6432/app");
        assert_eq!(config.get_password(), Some(&b"from-env"[..]));
        assert_eq!(config.get_connect_timeout(), Some(&Duration::from_secs(7)));
        let (config, _) = connection(&settings(None), vars(&env)).unwrap();
        assert_eq!(describe(&config), "postgres://ci@db.internal:6432/states");
        let (config, _) = connection(&settings(None), vars(&[("USER", "me")])).unwrap();
        assert_eq!(describe(&config), "postgres://me@localhost:5432/me");
        let (config, _) =
            connection(&settings(Some("postgres://app@10.0.0.5/app")), vars(&[])).unwrap();
        assert_eq!(describe(&config), "postgres://app@10.0.0.5:5432/app");
    }

    #[test]
    fn libpq_tls_keys_are_read_from_the_url_and_the_rest_left_to_postgres() {
        let url = "postgres://app@db.internal/app?sslmode=verify-full&sslrootcert=/etc/ca.crt&application_name=ci";
        let (config, tls) = connection(&settings(Some(url)), vars(&[])).unwrap();
        assert_eq!(tls.mode, super::super::tls::SslMode::VerifyFull);
        assert!(matches!(
            config.get_ssl_mode(),
            postgres::config::SslMode::Require
        ));
        assert_eq!(config.get_application_name(), Some("ci"));
        let (config, _) = connection(
            &settings(Some("host=db user=app sslmode=disable")),
            vars(&[("PGSSLMODE", "require")]),
        )
        .unwrap();
        assert!(matches!(
            config.get_ssl_mode(),
            postgres::config::SslMode::Disable
        ));
    }

    #[test]
    fn the_password_is_never_in_the_location_or_errors() {
        let (config, _) = connection(
            &settings(Some(
                "postgres://app:hunter2@[::1]:5433/app?sslmode=disable",
            )),
            vars(&[]),
        )
        .unwrap();
        assert_eq!(describe(&config), "postgres://app@[::1]:5433/app");
        let err = connection(
            &settings(Some("postgres://app:hunter2@host:notaport/app")),
            vars(&[]),
        )
        .unwrap_err()
        .to_string();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(
            err.contains("the url is not a PostgreSQL connection setting"),
            "{err}"
        );
    }

    #[test]
    fn schemas_are_plain_names() {
        assert!(check_name("schema", "dispatch_2").is_ok());
        for bad in ["", "1st", "a-b", "a\"; DROP SCHEMA x; --", &"x".repeat(64)] {
            assert!(check_name("schema", bad).is_err(), "{bad:?}");
        }
    }
}
