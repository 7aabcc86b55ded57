//! The state in PostgreSQL, for teams and CI runners that share it: one row per resource, so a
//! checkpoint writes one row; a lock row per workspace, renewed by a heartbeat and taken over
//! once stale (`lock`); every write checks the lock and the serial in its own transaction
//! (compare-and-swap). Statements are unnamed, so a transaction pooler is fine. The tables and
//! their migrations are in `schema`; the connection, which one worker thread owns, in
//! `connection`, its TLS in `tls` (with libpq's keys taken from the URL by `conninfo`), and
//! what a refused connection means in `explain`. Advisories are kept in a table of their own
//! (`advisories`).

mod advisories;
mod connection;
mod conninfo;
mod explain;
mod lock;
mod schema;
mod tls;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use postgres::types::Type;
use postgres::{IsolationLevel, Transaction};

use self::connection::{Failure, Session, Worker, check_name, connection, describe};
use self::lock::PgLock;
use self::schema::{Sql, migrate};
use super::{
    Backend, Catalogs, Holder, ResourceState, STATE_VERSION, State, StateError, StateLock,
};
use crate::config::PgSettings;
use crate::model::Address;
use crate::model::catalog::Catalog;

/// History rows are kept for this many writes back.
const HISTORY_WRITES: i64 = 1000;

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
        let (config, tls) = connection(settings, env)?;
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
        Ok(PgBackend {
            inner: Arc::new(Inner {
                worker: Worker::spawn(Session::new(config, tls, location.clone())),
                sql: Arc::new(Sql::new(&settings.schema)),
                workspace: settings.workspace.clone(),
                ttl: settings.lock_ttl,
                location,
            }),
        })
    }

    /// Runs `f` in one transaction of `isolation`, migrating the schema first for a write.
    fn transaction<R: Send + 'static>(
        &self,
        isolation: Isolation,
        f: impl FnOnce(&mut Transaction, &Sql, &str) -> Result<R, Failure> + Send + 'static,
    ) -> Result<R, StateError> {
        let sql = Arc::clone(&self.inner.sql);
        let workspace = self.inner.workspace.clone();
        self.inner.worker.call(move |session| {
            if isolation == Isolation::Write && !session.migrated {
                let location = session.location.clone();
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
            }?;
            let out = f(&mut tx, &sql, &workspace)?;
            tx.commit()?;
            Ok(out)
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Isolation {
    /// A consistent read of everything, taking no lock.
    Snapshot,
    /// Read committed, after making sure the tables exist.
    Write,
}

impl Catalogs for PgBackend {
    fn catalogs(&self, images: &[String]) -> Result<BTreeMap<String, Catalog>, StateError> {
        let images = images.to_vec();
        self.transaction(Isolation::Snapshot, move |tx, sql, _| {
            // A database not yet migrated to catalogs (a reader migrates nothing) has none.
            if !exists(tx, &sql.has_catalogs)? {
                return Ok(BTreeMap::new());
            }
            let rows = tx.query_typed(&sql.read_catalogs, &[(&images, Type::TEXT_ARRAY)])?;
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
        let image = image.to_string();
        let json = serde_json::to_string(catalog).expect("a catalog serializes");
        self.transaction(Isolation::Write, move |tx, sql, _| {
            tx.execute_typed(
                &sql.write_catalog,
                &[(&image, Type::TEXT), (&json, Type::TEXT)],
            )?;
            Ok(())
        })
    }
}

impl Backend for PgBackend {
    fn load(&self) -> Result<Option<State>, StateError> {
        let location = self.inner.location.clone();
        self.transaction(Isolation::Snapshot, move |tx, sql, workspace| {
            if !exists(tx, &sql.has_tables)? {
                return Ok(None);
            }
            let Some(row) = tx.query_typed_opt(&sql.read_workspace, &[(&workspace, Type::TEXT)])?
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
                }
                .into());
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
            for row in tx.query_typed(&sql.read_resources, &[(&workspace, Type::TEXT)])? {
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
        Ok(Box::new(PgLock::take(self, timeout, holder)?))
    }

    fn location(&self) -> String {
        self.inner.location.clone()
    }

    fn force_unlock(&self, id: &str) -> Result<(), StateError> {
        let id = id.to_string();
        self.transaction(Isolation::Write, move |tx, sql, workspace| {
            let dropped = tx.execute_typed(
                &sql.drop_lock,
                &[(&workspace, Type::TEXT), (&id, Type::TEXT)],
            )?;
            if dropped == 1 {
                return Ok(());
            }
            Err(StateError::NoSuchLock {
                holder: PgBackend::holder(tx, sql, workspace)?,
                id,
            }
            .into())
        })
    }
}

impl PgLock {
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
        let serial = state.serial as i64;
        let lineage = state.lineage;
        let version = state.version as i32;
        let written_by = state.written_by.clone();
        self.backend
            .transaction(Isolation::Write, move |tx, sql, workspace| {
                // Still ours? The row lock taken here also keeps a takeover out until commit.
                let renewed = tx.execute_typed(
                    &sql.renew_lock,
                    &[(&workspace, Type::TEXT), (&id, Type::TEXT)],
                )?;
                if renewed == 0 {
                    let by = PgBackend::holder(tx, sql, workspace)?
                        .unwrap_or_else(|| "nobody: the lock was removed".into());
                    return Err(StateError::LockLost { by }.into());
                }
                let expected = serial - 1;
                let swapped = tx.execute_typed(
                    &sql.write_workspace,
                    &[
                        (&workspace, Type::TEXT),
                        (&lineage, Type::UUID),
                        (&serial, Type::INT8),
                        (&version, Type::INT4),
                        (&written_by, Type::TEXT),
                        (&expected, Type::INT8),
                    ],
                )?;
                if swapped == 0 {
                    let found: i64 = tx
                        .query_typed_one(&sql.read_serial, &[(&workspace, Type::TEXT)])?
                        .get(0);
                    return Err(StateError::Conflict {
                        expected: expected as u64,
                        found: found as u64,
                    }
                    .into());
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
                )?;
                Ok(())
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
        let oldest = state.serial as i64 - HISTORY_WRITES;
        self.backend
            .transaction(Isolation::Write, move |tx, sql, workspace| {
                tx.execute_typed(
                    &sql.trim_history,
                    &[(&workspace, Type::TEXT), (&oldest, Type::INT8)],
                )?;
                Ok(())
            })
    }

    fn notice(&self) -> Option<String> {
        self.replaced.as_ref().map(|stale| {
            format!(
                "took over the lock of {stale}: its heartbeat had stopped (the run died, or lost the database)"
            )
        })
    }
}

fn to_json(entry: &ResourceState) -> String {
    serde_json::to_string(entry).expect("a resource state serializes")
}

/// Whether `query` (a `to_regclass` of a table) finds the table.
fn exists(tx: &mut Transaction, query: &str) -> Result<bool, postgres::Error> {
    Ok(tx.query_typed_one(query, &[])?.get(0))
}
