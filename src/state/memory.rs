//! A state kept in memory, for fast tests of what writes the state (apply's checkpoints, say).
//! It passes the same conformance suite as every real backend.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use std::collections::BTreeMap;

use super::{Advisories, Backend, Catalogs, Holder, STATE_VERSION, State, StateError, StateLock};
use crate::model::Address;
use crate::model::advisory::{Advisory, Stored};
use crate::model::catalog::Catalog;

#[derive(Debug, Default)]
struct Shared {
    /// The stored state as JSON, as a real backend keeps bytes, so tampering is possible.
    stored: Option<String>,
    previous: Option<String>,
    holder: Option<Holder>,
    /// Every state saved, in order.
    saves: Vec<State>,
    catalogs: BTreeMap<String, Catalog>,
    advisories: BTreeMap<String, Advisory>,
}

/// A backend whose handles (clones) all share one state.
#[derive(Debug, Clone, Default)]
pub struct MemoryBackend {
    shared: Arc<(Mutex<Shared>, Condvar)>,
}

impl MemoryBackend {
    /// Every state saved so far, in order.
    pub fn saves(&self) -> Vec<State> {
        self.shared.0.lock().unwrap().saves.clone()
    }

    /// The images whose catalogs are kept.
    pub fn ids(&self) -> Vec<String> {
        self.shared
            .0
            .lock()
            .unwrap()
            .catalogs
            .keys()
            .cloned()
            .collect()
    }

    pub fn tamper(&self, json: String) {
        self.shared.0.lock().unwrap().stored = Some(json);
    }

    pub fn previous(&self) -> Option<State> {
        let shared = self.shared.0.lock().unwrap();
        shared
            .previous
            .as_deref()
            .map(|json| serde_json::from_str(json).unwrap())
    }
}

impl Catalogs for MemoryBackend {
    fn catalogs(&self, images: &[String]) -> Result<BTreeMap<String, Catalog>, StateError> {
        let shared = self.shared.0.lock().unwrap();
        Ok(images
            .iter()
            .filter_map(|i| Some((i.clone(), shared.catalogs.get(i)?.clone())))
            .collect())
    }

    fn put_catalog(&self, image: &str, catalog: &Catalog) -> Result<(), StateError> {
        let mut shared = self.shared.0.lock().unwrap();
        shared.catalogs.insert(image.to_string(), catalog.clone());
        Ok(())
    }
}

impl Advisories for MemoryBackend {
    fn advisories(&self, ecosystems: Option<&[String]>) -> Result<Vec<Advisory>, StateError> {
        let shared = self.shared.0.lock().unwrap();
        let wanted = |a: &Advisory| {
            ecosystems.is_none_or(|e| a.ecosystems().iter().any(|x| e.iter().any(|w| w == x)))
        };
        Ok(shared
            .advisories
            .values()
            .filter(|a| wanted(a))
            .cloned()
            .collect())
    }

    fn put_advisories(&self, records: &[Advisory]) -> Result<Vec<Stored>, StateError> {
        let mut shared = self.shared.0.lock().unwrap();
        let mut outcomes = Vec::new();
        for record in records {
            let outcome = Stored::of(shared.advisories.get(&record.id), record);
            if outcome != Stored::Unchanged {
                shared.advisories.insert(record.id.clone(), record.clone());
            }
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }
}

impl Backend for MemoryBackend {
    fn load(&self) -> Result<Option<State>, StateError> {
        let stored = self.shared.0.lock().unwrap().stored.clone();
        stored
            .map(|json| super::local::parse("memory".as_ref(), &json, None))
            .transpose()
    }

    fn lock(&self, timeout: Duration, holder: &Holder) -> Result<Box<dyn StateLock>, StateError> {
        let (mutex, released) = &*self.shared;
        let deadline = Instant::now() + timeout;
        let mut shared = mutex.lock().unwrap();
        while let Some(current) = &shared.holder {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(StateError::Locked {
                    holder: current.to_string(),
                });
            }
            shared = released.wait_timeout(shared, left).unwrap().0;
        }
        shared.holder = Some(holder.clone());
        Ok(Box::new(MemoryLock {
            backend: self.clone(),
            id: holder.id.clone(),
        }))
    }

    fn location(&self) -> String {
        "memory".into()
    }

    fn force_unlock(&self, id: &str) -> Result<(), StateError> {
        let (mutex, released) = &*self.shared;
        let mut shared = mutex.lock().unwrap();
        match &shared.holder {
            Some(holder) if holder.id == id => {
                shared.holder = None;
                released.notify_all();
                Ok(())
            }
            other => Err(StateError::NoSuchLock {
                id: id.to_string(),
                holder: other.as_ref().map(Holder::to_string),
            }),
        }
    }
}

struct MemoryLock {
    backend: MemoryBackend,
    id: String,
}

impl StateLock for MemoryLock {
    fn save(&self, state: &mut State) -> Result<(), StateError> {
        assert_eq!(state.version, STATE_VERSION);
        let mut shared = self.backend.shared.0.lock().unwrap();
        match &shared.holder {
            Some(holder) if holder.id == self.id => {}
            other => {
                return Err(StateError::LockLost {
                    by: other.as_ref().map_or("nobody".into(), Holder::to_string),
                });
            }
        }
        state.next();
        shared.previous = shared.stored.take();
        shared.stored = Some(serde_json::to_string(state).expect("state serializes"));
        shared.saves.push(state.clone());
        Ok(())
    }

    fn checkpoint(&self, state: &mut State, _: &Address) -> Result<(), StateError> {
        self.save(state)
    }

    fn finish(&self, _: &mut State) -> Result<(), StateError> {
        Ok(())
    }
}

impl Drop for MemoryLock {
    fn drop(&mut self) {
        let (mutex, released) = &*self.backend.shared;
        let mut shared = mutex.lock().unwrap();
        if shared.holder.as_ref().is_some_and(|h| h.id == self.id) {
            shared.holder = None;
            released.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::conformance::{self, Subject, Tamper};

    impl Subject for MemoryBackend {
        fn backend(&self) -> Box<dyn Backend> {
            Box::new(self.clone())
        }

        fn tamper(&self, how: Tamper) {
            MemoryBackend::tamper(self, how.json());
        }

        fn previous(&self) -> Option<State> {
            MemoryBackend::previous(self)
        }
    }

    #[test]
    fn passes_the_conformance_suite() {
        conformance::run(&|| Box::new(MemoryBackend::default()));
    }
}
