//! The state in PostgreSQL, for teams and CI runners that share it: one row per resource, so a
//! checkpoint writes one row; a lock row per workspace, renewed by a heartbeat and taken over
//! once stale, instead of advisory locks (which collide across schemas and break behind
//! PgBouncer in transaction mode); every write checks the lock and the serial in its own
//! transaction (compare-and-swap). Statements are unnamed, so a transaction pooler is fine.
//!
//! The `postgres` client runs its own runtime and may not be called from inside another one
//! (apply checkpoints from async code), so one worker thread owns the connection and every
//! call is a job sent to it.

use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use postgres::types::Type;
use postgres::{Client, IsolationLevel, NoTls, Transaction};

use std::collections::BTreeMap;

use super::{
    Backend, Catalogs, Holder, ResourceState, STATE_VERSION, State, StateError, StateLock,
};
use crate::config::PgSettings;
use crate::model::Address;
use crate::model::catalog::Catalog;

/// History rows are kept for this many writes back.
const HISTORY_WRITES: i64 = 1000;

/// The tables, by schema version: `MIGRATIONS[n]` takes a schema from version n to n + 1.
/// `{s}` is the quoted schema name.
const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE IF NOT EXISTS {s}.workspaces (
        name text PRIMARY KEY,
        lineage uuid NOT NULL,
        serial bigint NOT NULL,
        version integer NOT NULL,
        written_by text,
        updated timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE IF NOT EXISTS {s}.resources (
        workspace text NOT NULL REFERENCES {s}.workspaces (name) ON DELETE CASCADE,
        address text NOT NULL,
        entry jsonb NOT NULL,
        serial bigint NOT NULL,
        PRIMARY KEY (workspace, address)
    );
    CREATE TABLE IF NOT EXISTS {s}.locks (
        workspace text PRIMARY KEY,
        id text NOT NULL,
        holder jsonb NOT NULL,
        since timestamptz NOT NULL,
        heartbeat timestamptz NOT NULL
    );
    CREATE TABLE IF NOT EXISTS {s}.history (
        workspace text NOT NULL,
        serial bigint NOT NULL,
        address text NOT NULL,
        before jsonb,
        at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (workspace, serial, address)
    );
",
    "
    CREATE TABLE IF NOT EXISTS {s}.catalogs (
        image text PRIMARY KEY,
        contents jsonb NOT NULL
    );
",
];

/// The statements, with the schema filled in once.
#[derive(Debug)]
struct Sql {
    schema: String,
    has_tables: String,
    has_catalogs: String,
    read_version: String,
    read_workspace: String,
    read_resources: String,
    take_lock: String,
    read_lock: String,
    renew_lock: String,
    drop_lock: String,
    write_workspace: String,
    read_serial: String,
    write_resources: String,
    trim_history: String,
    read_catalogs: String,
    write_catalog: String,
}

impl Sql {
    fn new(schema: &str) -> Sql {
        let s = format!("\"{schema}\"");
        let q = |text: &str| text.replace("{s}", &s);
        Sql {
            schema: s.clone(),
            has_tables: q("SELECT to_regclass('{s}.meta') IS NOT NULL"),
            has_catalogs: q("SELECT to_regclass('{s}.catalogs') IS NOT NULL"),
            read_version: q("SELECT value::integer FROM {s}.meta WHERE key = 'schema_version'"),
            read_workspace: q(
                "SELECT lineage, serial, version, written_by FROM {s}.workspaces WHERE name = $1",
            ),
            read_resources: q(
                "SELECT address, entry::text FROM {s}.resources WHERE workspace = $1",
            ),
            // One conditional statement: a new row, or a stale one replaced. `old` is what was
            // there before, to tell the user whose lock was taken over.
            take_lock: q("
                WITH old AS (SELECT holder FROM {s}.locks WHERE workspace = $1)
                INSERT INTO {s}.locks AS l (workspace, id, holder, since, heartbeat)
                VALUES ($1, $2, $3::jsonb, now(), now())
                ON CONFLICT (workspace) DO UPDATE
                    SET id = excluded.id, holder = excluded.holder, since = now(), heartbeat = now()
                    WHERE l.heartbeat < now() - make_interval(secs => $4)
                RETURNING (SELECT holder::text FROM old)"),
            read_lock: q("
                SELECT holder::text, extract(epoch FROM now() - heartbeat)::float8
                FROM {s}.locks WHERE workspace = $1"),
            renew_lock: q(
                "UPDATE {s}.locks SET heartbeat = now() WHERE workspace = $1 AND id = $2",
            ),
            drop_lock: q("DELETE FROM {s}.locks WHERE workspace = $1 AND id = $2"),
            // Compare-and-swap: written only over the serial this run read.
            write_workspace: q("
                INSERT INTO {s}.workspaces AS w (name, lineage, serial, version, written_by)
                VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (name) DO UPDATE
                    SET lineage = excluded.lineage, serial = excluded.serial,
                        version = excluded.version, written_by = excluded.written_by,
                        updated = now()
                    WHERE w.serial = $6"),
            read_serial: q("SELECT serial FROM {s}.workspaces WHERE name = $1"),
            // The rows given ($2, $3: address and entry, NULL for gone) against the stored
            // ones (all of them when $4, else those at the addresses given): what differs is
            // logged with its previous entry, then deleted or upserted.
            write_resources: q("
                WITH incoming AS (
                    SELECT address, entry::jsonb AS entry
                    FROM unnest($2::text[], $3::text[]) AS t (address, entry)
                ), stored AS (
                    SELECT address, entry FROM {s}.resources
                    WHERE workspace = $1 AND ($4 OR address = ANY ($2))
                ), changed AS (
                    SELECT address, s.entry AS before, i.entry AS after
                    FROM incoming i FULL JOIN stored s USING (address)
                    WHERE s.entry IS DISTINCT FROM i.entry
                ), logged AS (
                    INSERT INTO {s}.history (workspace, serial, address, before)
                    SELECT $1, $5, address, before FROM changed
                ), gone AS (
                    DELETE FROM {s}.resources r USING changed c
                    WHERE r.workspace = $1 AND r.address = c.address AND c.after IS NULL
                )
                INSERT INTO {s}.resources (workspace, address, entry, serial)
                SELECT $1, address, after, $5 FROM changed WHERE after IS NOT NULL
                ON CONFLICT (workspace, address) DO UPDATE
                    SET entry = excluded.entry, serial = excluded.serial"),
            trim_history: q("DELETE FROM {s}.history WHERE workspace = $1 AND serial <= $2"),
            read_catalogs: q(
                "SELECT image, contents::text FROM {s}.catalogs WHERE image = ANY ($1)",
            ),
            write_catalog: q("
                INSERT INTO {s}.catalogs (image, contents) VALUES ($1, $2::jsonb)
                ON CONFLICT (image) DO NOTHING"),
        }
    }
}

/// The connection, owned by the worker thread, opened when first needed and again after it
/// broke.
struct Session {
    config: postgres::Config,
    client: Option<Client>,
    /// The schema is known to be at the current version.
    migrated: bool,
    location: String,
}

impl Session {
    fn client(&mut self) -> Result<&mut Client, StateError> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.client = None;
            let client = self
                .config
                .connect(NoTls)
                .map_err(|e| database(&self.location, &e))?;
            self.client = Some(client);
        }
        Ok(self.client.as_mut().expect("connected above"))
    }
}

/// A job for the worker: runs with the session and sends its outcome back itself.
type Job = Box<dyn FnOnce(&mut Session) + Send>;

/// The thread that owns the connection. Dropping the last handle ends it and closes the
/// connection.
struct Worker {
    jobs: Mutex<mpsc::Sender<Job>>,
    location: String,
}

impl Worker {
    fn spawn(session: Session) -> Worker {
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
    fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Session) -> Result<R, StateError> + Send + 'static,
    ) -> Result<R, StateError> {
        let (reply, outcome) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |session| {
            let _ = reply.send(f(session));
        });
        let stopped = || StateError::Database {
            location: self.location.clone(),
            detail: "the database connection's thread stopped".into(),
        };
        self.jobs
            .lock()
            .expect("the job queue is never poisoned")
            .send(job)
            .map_err(|_| stopped())?;
        outcome.recv().map_err(|_| stopped())?
    }
}

/// What every handle on one backend shares.
struct Inner {
    worker: Worker,
    sql: Arc<Sql>,
    workspace: String,
    ttl: Duration,
    location: String,
}

/// A workspace's state in a PostgreSQL database.
#[derive(Clone)]
pub struct PgBackend {
    inner: Arc<Inner>,
}

impl PgBackend {
    /// A backend for `settings`; nothing is connected until the state is first used.
    /// `env` gives the `PG*` variables (libpq's), which fill in what the URL leaves out.
    pub fn new(
        settings: &PgSettings,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<PgBackend, StateError> {
        let config = connection(settings, env)?;
        check_name("schema", &settings.schema)?;
        if settings.workspace.is_empty() || settings.workspace.chars().any(char::is_control) {
            return Err(StateError::Settings(
                "the workspace must be a name without control characters".into(),
            ));
        }
        let location = format!(
            "{} (workspace {:?}, schema {})",
            describe(&config),
            settings.workspace,
            settings.schema
        );
        let session = Session {
            config,
            client: None,
            migrated: false,
            location: location.clone(),
        };
        Ok(PgBackend {
            inner: Arc::new(Inner {
                worker: Worker::spawn(session),
                sql: Arc::new(Sql::new(&settings.schema)),
                workspace: settings.workspace.clone(),
                ttl: settings.lock_ttl,
                location,
            }),
        })
    }

    /// Runs `f` in one transaction of `isolation`, migrating the schema first when `migrate`.
    fn transaction<R: Send + 'static>(
        &self,
        isolation: Isolation,
        f: impl FnOnce(&mut Transaction, &Sql, &str) -> Result<R, StateError> + Send + 'static,
    ) -> Result<R, StateError> {
        let sql = Arc::clone(&self.inner.sql);
        let workspace = self.inner.workspace.clone();
        self.inner.worker.call(move |session| {
            let location = session.location.clone();
            let fail = |e: postgres::Error| database(&location, &e);
            if isolation == Isolation::Write && !session.migrated {
                migrate(session.client()?, &sql, &location)?;
                session.migrated = true;
            }
            let client = session.client()?;
            let mut tx = match isolation {
                Isolation::Snapshot => client
                    .build_transaction()
                    .isolation_level(IsolationLevel::RepeatableRead)
                    .read_only(true)
                    .start(),
                Isolation::Write => client.transaction(),
            }
            .map_err(fail)?;
            let out = f(&mut tx, &sql, &workspace)?;
            tx.commit().map_err(fail)?;
            Ok(out)
        })
    }

    /// The holder of the lock as stored, and how long ago it last beat.
    fn holder(
        tx: &mut Transaction,
        sql: &Sql,
        workspace: &str,
    ) -> Result<Option<String>, postgres::Error> {
        let row = tx.query_typed_opt(&sql.read_lock, &[(&workspace, Type::TEXT)])?;
        Ok(row.map(|row| {
            let holder: String = row.get(0);
            let age: f64 = row.get(1);
            let name = serde_json::from_str::<Holder>(&holder)
                .map(|h| h.to_string())
                .unwrap_or(holder);
            format!("{name}, last heartbeat {}s ago", age.max(0.0).round())
        }))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Isolation {
    /// A consistent read of everything, taking no lock.
    Snapshot,
    /// Read committed, after making sure the tables exist.
    Write,
}

/// Creates the schema and tables, or brings them to this version. Two processes migrating at
/// once race on `CREATE ... IF NOT EXISTS`; the loser tries again and finds the work done.
fn migrate(client: &mut Client, sql: &Sql, location: &str) -> Result<(), StateError> {
    let mut attempts = 0;
    loop {
        match migrate_once(client, sql, location) {
            Err(MigrateError::Db(e)) if attempts < 3 && is_race(&e) => attempts += 1,
            Err(MigrateError::Db(e)) => return Err(database(location, &e)),
            Err(MigrateError::State(e)) => return Err(e),
            Ok(()) => return Ok(()),
        }
    }
}

enum MigrateError {
    Db(postgres::Error),
    State(StateError),
}

impl From<postgres::Error> for MigrateError {
    fn from(e: postgres::Error) -> Self {
        MigrateError::Db(e)
    }
}

fn migrate_once(client: &mut Client, sql: &Sql, location: &str) -> Result<(), MigrateError> {
    let mut tx = client.transaction()?;
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {s};
         CREATE TABLE IF NOT EXISTS {s}.meta (key text PRIMARY KEY, value text NOT NULL);",
        s = sql.schema
    ))?;
    // Serializes migrations: the second waits here until the first commits.
    tx.batch_execute(&format!(
        "LOCK TABLE {}.meta IN SHARE ROW EXCLUSIVE MODE",
        sql.schema
    ))?;
    let version = match tx.query_typed_opt(&sql.read_version, &[])? {
        Some(row) => row.get::<_, i32>(0) as usize,
        None => 0,
    };
    if version > MIGRATIONS.len() {
        return Err(MigrateError::State(StateError::TooNew {
            location: location.to_string(),
            found: version as u32,
            written_by: Some(format!("a newer dispatch (database schema {version})")),
        }));
    }
    for migration in &MIGRATIONS[version..] {
        tx.batch_execute(&migration.replace("{s}", &sql.schema))?;
    }
    let now = MIGRATIONS.len().to_string();
    tx.query_typed(
        &format!(
            "INSERT INTO {}.meta (key, value) VALUES ('schema_version', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            sql.schema
        ),
        &[(&now, Type::TEXT)],
    )?;
    tx.commit()?;
    Ok(())
}

/// A unique or duplicate-object error from two `CREATE ... IF NOT EXISTS` at once.
fn is_race(e: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    e.code().is_some_and(|code| {
        [
            SqlState::UNIQUE_VIOLATION,
            SqlState::DUPLICATE_OBJECT,
            SqlState::DUPLICATE_TABLE,
            SqlState::DUPLICATE_SCHEMA,
        ]
        .contains(code)
    })
}

impl Catalogs for PgBackend {
    fn catalogs(&self, images: &[String]) -> Result<BTreeMap<String, Catalog>, StateError> {
        let location = self.inner.location.clone();
        let images = images.to_vec();
        self.transaction(Isolation::Snapshot, move |tx, sql, _| {
            // A database not yet migrated to catalogs (a reader migrates nothing) has none.
            if !exists(tx, &sql.has_catalogs, &location)? {
                return Ok(BTreeMap::new());
            }
            let rows = tx
                .query_typed(&sql.read_catalogs, &[(&images, Type::TEXT_ARRAY)])
                .map_err(|e| database(&location, &e))?;
            Ok(rows
                .iter()
                .filter_map(|row| {
                    let contents = serde_json::from_str(row.get::<_, &str>(1)).ok()?;
                    Some((row.get::<_, String>(0), contents))
                })
                .collect())
        })
    }

    fn put_catalog(&self, image: &str, catalog: &Catalog) -> Result<(), StateError> {
        let location = self.inner.location.clone();
        let image = image.to_string();
        let json = serde_json::to_string(catalog).expect("a catalog serializes");
        self.transaction(Isolation::Write, move |tx, sql, _| {
            tx.execute_typed(
                &sql.write_catalog,
                &[(&image, Type::TEXT), (&json, Type::TEXT)],
            )
            .map_err(|e| database(&location, &e))
            .map(drop)
        })
    }
}

impl Backend for PgBackend {
    fn load(&self) -> Result<Option<State>, StateError> {
        let location = self.inner.location.clone();
        self.transaction(Isolation::Snapshot, move |tx, sql, workspace| {
            let fail = |e: postgres::Error| database(&location, &e);
            if !exists(tx, &sql.has_tables, &location)? {
                return Ok(None);
            }
            let Some(row) = tx
                .query_typed_opt(&sql.read_workspace, &[(&workspace, Type::TEXT)])
                .map_err(fail)?
            else {
                return Ok(None);
            };
            let version = row.get::<_, i32>(2) as u32;
            let written_by: Option<String> = row.get(3);
            if version > STATE_VERSION {
                return Err(StateError::TooNew {
                    location,
                    found: version,
                    written_by,
                });
            }
            let mut state = State {
                version,
                lineage: row.get(0),
                serial: row.get::<_, i64>(1) as u64,
                written_by,
                resources: Default::default(),
            };
            let corrupt = |message: String| StateError::Corrupt {
                location: location.clone(),
                message,
                backup: None,
            };
            for row in tx
                .query_typed(&sql.read_resources, &[(&workspace, Type::TEXT)])
                .map_err(fail)?
            {
                let address: &str = row.get(0);
                let entry: &str = row.get(1);
                let parsed = address
                    .parse::<Address>()
                    .map_err(|e| corrupt(format!("{address:?}: {e}")))?;
                let entry = serde_json::from_str::<ResourceState>(entry)
                    .map_err(|e| corrupt(format!("{parsed}: {e}")))?;
                state.resources.insert(parsed, entry);
            }
            Ok(Some(state))
        })
    }

    fn lock(&self, timeout: Duration, holder: &Holder) -> Result<Box<dyn StateLock>, StateError> {
        let deadline = Instant::now() + timeout;
        let id = holder.id.clone();
        let json = serde_json::to_string(holder).expect("a lock holder serializes");
        let ttl = self.inner.ttl.as_secs_f64();
        loop {
            let location = self.inner.location.clone();
            let (id, json) = (id.clone(), json.clone());
            let taken = self.transaction(Isolation::Write, move |tx, sql, workspace| {
                let fail = |e: postgres::Error| database(&location, &e);
                let row = tx
                    .query_typed_opt(
                        &sql.take_lock,
                        &[
                            (&workspace, Type::TEXT),
                            (&id, Type::TEXT),
                            (&json, Type::TEXT),
                            (&ttl, Type::FLOAT8),
                        ],
                    )
                    .map_err(fail)?;
                match row {
                    Some(row) => Ok(Ok(row.get::<_, Option<String>>(0))),
                    None => Ok(Err(PgBackend::holder(tx, sql, workspace).map_err(fail)?)),
                }
            })?;
            match taken {
                Ok(replaced) => {
                    return Ok(Box::new(PgLock::new(
                        self.clone(),
                        holder.id.clone(),
                        replaced.and_then(|h| serde_json::from_str(&h).ok()),
                    )));
                }
                // Released between the two statements: try again at once.
                Err(None) => continue,
                Err(Some(current)) if Instant::now() >= deadline => {
                    return Err(StateError::Locked { holder: current });
                }
                Err(Some(_)) => std::thread::sleep(
                    deadline
                        .saturating_duration_since(Instant::now())
                        .min(Duration::from_millis(200)),
                ),
            }
        }
    }

    fn location(&self) -> String {
        self.inner.location.clone()
    }

    fn force_unlock(&self, id: &str) -> Result<(), StateError> {
        let location = self.inner.location.clone();
        let id = id.to_string();
        self.transaction(Isolation::Write, move |tx, sql, workspace| {
            let fail = |e: postgres::Error| database(&location, &e);
            let dropped = tx
                .execute_typed(
                    &sql.drop_lock,
                    &[(&workspace, Type::TEXT), (&id, Type::TEXT)],
                )
                .map_err(fail)?;
            if dropped == 1 {
                return Ok(());
            }
            Err(StateError::NoSuchLock {
                holder: PgBackend::holder(tx, sql, workspace).map_err(fail)?,
                id,
            })
        })
    }
}

/// The lock row, renewed by a heartbeat thread until dropped.
struct PgLock {
    backend: PgBackend,
    id: String,
    replaced: Option<Holder>,
    heartbeat: Option<Heartbeat>,
}

/// A thread that renews a lock three times per TTL, so that one lost beat never makes the
/// lock look stale; it stops when told.
struct Heartbeat {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: JoinHandle<()>,
}

impl Heartbeat {
    fn start(backend: PgBackend, id: String) -> Heartbeat {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let told = Arc::clone(&stop);
        let every = backend.inner.ttl / 3;
        let thread = std::thread::Builder::new()
            .name("dispatch-heartbeat".into())
            .spawn(move || {
                let (stopped, wake) = &*told;
                let mut stopped = stopped.lock().expect("never poisoned");
                loop {
                    stopped = wake
                        .wait_timeout_while(stopped, every, |stopped| !*stopped)
                        .expect("never poisoned")
                        .0;
                    if *stopped {
                        return;
                    }
                    // A beat that fails is not fatal: the next write checks the lock.
                    let _ = backend.renew(&id);
                }
            })
            .expect("the heartbeat thread starts");
        Heartbeat { stop, thread }
    }

    fn stop(self) {
        *self.stop.0.lock().expect("never poisoned") = true;
        self.stop.1.notify_all();
        let _ = self.thread.join();
    }
}

impl PgLock {
    fn new(backend: PgBackend, id: String, replaced: Option<Holder>) -> PgLock {
        PgLock {
            heartbeat: Some(Heartbeat::start(backend.clone(), id.clone())),
            backend,
            id,
            replaced,
        }
    }

    /// Writes `state` (its serial already incremented): the rows at `only`, or all of them.
    fn write(&self, state: &State, only: Option<&Address>) -> Result<(), StateError> {
        let (addresses, entries): (Vec<String>, Vec<Option<String>>) = match only {
            Some(address) => (
                vec![address.to_string()],
                vec![state.resources.get(address).map(to_json)],
            ),
            None => state
                .resources
                .iter()
                .map(|(address, entry)| (address.to_string(), Some(to_json(entry))))
                .unzip(),
        };
        let whole = only.is_none();
        let id = self.id.clone();
        let location = self.backend.inner.location.clone();
        let serial = state.serial as i64;
        let lineage = state.lineage;
        let version = state.version as i32;
        let written_by = state.written_by.clone();
        self.backend
            .transaction(Isolation::Write, move |tx, sql, workspace| {
                let fail = |e: postgres::Error| database(&location, &e);
                // Still ours? The row lock taken here also keeps a takeover out until commit.
                let renewed = tx
                    .execute_typed(
                        &sql.renew_lock,
                        &[(&workspace, Type::TEXT), (&id, Type::TEXT)],
                    )
                    .map_err(fail)?;
                if renewed == 0 {
                    let by = PgBackend::holder(tx, sql, workspace)
                        .map_err(fail)?
                        .unwrap_or_else(|| "nobody: the lock was removed".into());
                    return Err(StateError::LockLost { by });
                }
                let expected = serial - 1;
                let swapped = tx
                    .execute_typed(
                        &sql.write_workspace,
                        &[
                            (&workspace, Type::TEXT),
                            (&lineage, Type::UUID),
                            (&serial, Type::INT8),
                            (&version, Type::INT4),
                            (&written_by, Type::TEXT),
                            (&expected, Type::INT8),
                        ],
                    )
                    .map_err(fail)?;
                if swapped == 0 {
                    let found: i64 = tx
                        .query_typed_one(&sql.read_serial, &[(&workspace, Type::TEXT)])
                        .map_err(fail)?
                        .get(0);
                    return Err(StateError::Conflict {
                        expected: expected as u64,
                        found: found as u64,
                    });
                }
                tx.execute_typed(
                    &sql.write_resources,
                    &[
                        (&workspace, Type::TEXT),
                        (&addresses, Type::TEXT_ARRAY),
                        (&entries, Type::TEXT_ARRAY),
                        (&whole, Type::BOOL),
                        (&serial, Type::INT8),
                    ],
                )
                .map_err(fail)?;
                Ok(())
            })
    }
}

impl PgBackend {
    /// Renews the heartbeat of lock `id`; false when it is not held any more.
    fn renew(&self, id: &str) -> Result<bool, StateError> {
        let location = self.inner.location.clone();
        let id = id.to_string();
        self.transaction(Isolation::Write, move |tx, sql, workspace| {
            Ok(tx
                .execute_typed(
                    &sql.renew_lock,
                    &[(&workspace, Type::TEXT), (&id, Type::TEXT)],
                )
                .map_err(|e| database(&location, &e))?
                == 1)
        })
    }
}

impl StateLock for PgLock {
    fn save(&self, state: &mut State) -> Result<(), StateError> {
        state.next();
        self.write(state, None)
    }

    fn checkpoint(&self, state: &mut State, address: &Address) -> Result<(), StateError> {
        // The first write of a workspace is the whole of it.
        let only = (state.serial > 0).then_some(address);
        state.next();
        self.write(state, only)
    }

    fn finish(&self, state: &mut State) -> Result<(), StateError> {
        let location = self.backend.inner.location.clone();
        let oldest = state.serial as i64 - HISTORY_WRITES;
        self.backend
            .transaction(Isolation::Write, move |tx, sql, workspace| {
                tx.execute_typed(
                    &sql.trim_history,
                    &[(&workspace, Type::TEXT), (&oldest, Type::INT8)],
                )
                .map_err(|e| database(&location, &e))
            })
            .map(drop)
    }

    fn notice(&self) -> Option<String> {
        self.replaced.as_ref().map(|stale| {
            format!(
                "took over the lock of {stale}: its heartbeat had stopped (the run died, or lost the database)"
            )
        })
    }
}

impl Drop for PgLock {
    fn drop(&mut self) {
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.stop();
        }
        let location = self.backend.inner.location.clone();
        let id = self.id.clone();
        let _ = self
            .backend
            .transaction(Isolation::Write, move |tx, sql, workspace| {
                tx.execute_typed(
                    &sql.drop_lock,
                    &[(&workspace, Type::TEXT), (&id, Type::TEXT)],
                )
                .map_err(|e| database(&location, &e))
            });
    }
}

fn to_json(entry: &ResourceState) -> String {
    serde_json::to_string(entry).expect("a resource state serializes")
}

/// A database error as the user reads it: the server's message, or what failed on the way.
/// Whether `query` (a `to_regclass` of a table) finds the table.
fn exists(tx: &mut Transaction, query: &str, location: &str) -> Result<bool, StateError> {
    let row = tx
        .query_typed_one(query, &[])
        .map_err(|e| database(location, &e))?;
    Ok(row.get(0))
}

fn database(location: &str, e: &postgres::Error) -> StateError {
    let detail = match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(more) => format!("{} ({more})", db.message()),
            None => db.message().to_string(),
        },
        None => {
            let mut detail = e.to_string();
            let mut source = std::error::Error::source(e);
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
    }
}

/// The connection settings: the URL, with what it leaves out taken from the `PG*` variables
/// as libpq does (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGCONNECT_TIMEOUT).
fn connection(
    settings: &PgSettings,
    env: impl Fn(&str) -> Option<String>,
) -> Result<postgres::Config, StateError> {
    let var = |key: &str| env(key).filter(|v| !v.is_empty());
    let invalid = |what: &str, e: &dyn std::fmt::Display| {
        StateError::Settings(format!(
            "{what} is not a PostgreSQL connection setting: {e}"
        ))
    };
    let mut config = match &settings.url {
        // The error never quotes the URL, which may hold a password.
        Some(url) => url
            .parse::<postgres::Config>()
            .map_err(|e| invalid("the url", &e))?,
        None => postgres::Config::new(),
    };
    if config.get_hosts().is_empty() {
        for host in var("PGHOST").as_deref().unwrap_or("localhost").split(',') {
            config.host(host);
        }
    }
    if config.get_ports().is_empty()
        && let Some(port) = var("PGPORT")
    {
        config.port(port.parse().map_err(|e| invalid("PGPORT", &e))?);
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
    Ok(config)
}

/// The database as messages name it: never with the password.
fn describe(config: &postgres::Config) -> String {
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
fn check_name(what: &str, name: &str) -> Result<(), StateError> {
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
mod tests {
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

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
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
        let config =
            connection(&settings(Some("postgres://app@10.0.0.5/app")), vars(&env)).unwrap();
        // A URL's host comes with its port (5432 unless it says).
        assert_eq!(describe(&config), "postgres://app@10.0.0.5:5432/app");
        assert_eq!(config.get_password(), Some(&b"from-env"[..]));
        assert_eq!(config.get_connect_timeout(), Some(&Duration::from_secs(7)));
        let config = connection(&settings(None), vars(&env)).unwrap();
        assert_eq!(describe(&config), "postgres://ci@db.internal:6432/states");
        let config = connection(&settings(None), vars(&[("USER", "me")])).unwrap();
        assert_eq!(describe(&config), "postgres://me@localhost:5432/me");
    }

    #[test]
    fn the_password_is_never_in_the_location_or_errors() {
        let config = connection(
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
