//! The lock: a row per workspace naming its holder, instead of advisory locks (which collide
//! across schemas and break behind PgBouncer in transaction mode). It is taken when free or
//! stale (no heartbeat for the TTL), renewed by a heartbeat thread while held, checked by every
//! write, and deleted when dropped.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use postgres::Transaction;
use postgres::types::Type;

use super::schema::Sql;
use super::{Isolation, PgBackend};
use crate::retry;
use crate::state::{Holder, StateError};

/// How often a writer tries again for a lock another holds, within its lock timeout.
const PAUSE: Duration = Duration::from_millis(200);

/// The lock row, renewed by a heartbeat thread until dropped.
pub(super) struct PgLock {
    pub(super) backend: PgBackend,
    pub(super) id: String,
    pub(super) replaced: Option<Holder>,
    heartbeat: Option<Heartbeat>,
}

impl PgLock {
    /// Takes the lock for `holder`, waiting up to `timeout` while another holds it; then
    /// refuses, naming that holder.
    pub(super) fn take(
        backend: &PgBackend,
        timeout: Duration,
        holder: &Holder,
    ) -> Result<PgLock, StateError> {
        let json = serde_json::to_string(holder).expect("a lock holder serializes");
        let replaced = retry::wait(
            timeout,
            PAUSE,
            || backend.try_lock(&holder.id, &json),
            |e| matches!(e, StateError::Locked { .. }),
        )?;
        let id = holder.id.clone();
        Ok(PgLock {
            heartbeat: Some(Heartbeat::start(backend.clone(), id.clone())),
            backend: backend.clone(),
            id,
            replaced: replaced.and_then(|h| serde_json::from_str(&h).ok()),
        })
    }
}

impl PgBackend {
    /// One try at the lock row: the stale holder it replaced (as stored) if any, or `Locked`
    /// naming the holder that keeps it.
    fn try_lock(&self, id: &str, json: &str) -> Result<Option<String>, StateError> {
        let ttl = self.inner.ttl.as_secs_f64();
        let (take_id, take_json) = (id.to_string(), json.to_string());
        let taken = self.transaction(Isolation::Write, move |tx, sql, workspace| {
            let row = tx.query_typed_opt(
                &sql.take_lock,
                &[
                    (&workspace, Type::TEXT),
                    (&take_id, Type::TEXT),
                    (&take_json, Type::TEXT),
                    (&ttl, Type::FLOAT8),
                ],
            )?;
            Ok(match row {
                Some(row) => Ok(row.get::<_, Option<String>>(0)),
                None => Err(PgBackend::holder(tx, sql, workspace)?),
            })
        })?;
        match taken {
            Ok(replaced) => Ok(replaced),
            Err(Some(holder)) => Err(StateError::Locked { holder }),
            // Released between the two statements: tried again at once.
            Err(None) => self.try_lock(id, json),
        }
    }

    /// The holder of the lock as stored, and how long ago it last beat.
    pub(super) fn holder(
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

    /// Renews the heartbeat of lock `id`; false when it is not held any more.
    fn renew(&self, id: &str) -> Result<bool, StateError> {
        let id = id.to_string();
        self.transaction(Isolation::Write, move |tx, sql, workspace| {
            Ok(tx.execute_typed(
                &sql.renew_lock,
                &[(&workspace, Type::TEXT), (&id, Type::TEXT)],
            )? == 1)
        })
    }
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

impl Drop for PgLock {
    fn drop(&mut self) {
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.stop();
        }
        let id = self.id.clone();
        let _ = self
            .backend
            .transaction(Isolation::Write, move |tx, sql, workspace| {
                Ok(tx.execute_typed(
                    &sql.drop_lock,
                    &[(&workspace, Type::TEXT), (&id, Type::TEXT)],
                )?)
            });
    }
}
