//! The behaviour every state [`Backend`] must have, as one suite that each backend's tests run
//! (terraform's `TestBackendStates` idea): lock exclusion and holder info, lineage and serial,
//! replacement in one step, the previous state kept, corrupt and too-new states refused.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{Backend, Holder, ResourceState, State, StateError};
use crate::conformance::Verdict;
use crate::model::advisory::{Advisory, Stored};
use crate::model::catalog::{Catalog, Ecosystem, Package};
use crate::model::inputs::{Inputs, TemplateInput};
use crate::model::reference::ImageRef;
use crate::model::{BaseImageSpec, ImageSpec, Language, Resource, Spec};

/// A backend under test, and the means to reach behind it.
pub trait Subject {
    /// A handle on the subject's storage; each call is another client (another process, another
    /// CI runner) of the same state.
    fn backend(&self) -> Box<dyn Backend>;

    /// Overwrites the stored state with bytes dispatch did not write.
    fn tamper(&self, how: Tamper);

    /// The state before the last save (the backup, or the history), if the backend keeps it.
    fn previous(&self) -> Option<State>;
}

/// What a tampered state holds.
#[derive(Debug, Clone, Copy)]
pub enum Tamper {
    /// Not a state at all.
    Garbage,
    /// A state from a dispatch that writes this format version.
    Version(u32),
    /// A built image as a dispatch that recorded no build inputs wrote it ([`LEGACY_IMAGE`]).
    Legacy,
}

/// The address and record of a built image as dispatch 0.1 wrote it, before build inputs were
/// recorded: what a state carried over from it holds.
pub const LEGACY_IMAGE: (&str, &str) = (
    "Image/legacy",
    r#"{"name": "legacy", "kind": "Image", "baseImageName": "base0", "tags": [],
        "specDigest": "sha256:00", "status": "READY", "reason": [],
        "createdTime": "2026-11-25T08:00:00Z", "modifiedTime": "2026-11-25T08:00:00Z",
        "observed": {"imageId": "sha256:1d", "reference": "dispatch/legacy:abc"}}"#,
);

impl Tamper {
    pub fn json(self) -> String {
        match self {
            Tamper::Garbage => "{\"version\": 1, \"lineage\": ".into(),
            Tamper::Version(v) => format!("{{\"version\": {v}, \"lineage\": \"x\"}}"),
            Tamper::Legacy => format!(
                "{{\"version\": 1, \"lineage\": \"{}\", \"serial\": 1, \"resources\": {{\"{}\": {}}}}}",
                uuid::Uuid::nil(),
                LEGACY_IMAGE.0,
                LEGACY_IMAGE.1
            ),
        }
    }
}

/// A lock holder for tests: this process, a fixed time, a fresh lock ID.
pub fn holder(command: &str) -> Holder {
    Holder {
        id: uuid::Uuid::new_v4().to_string(),
        pid: std::process::id(),
        host: "conformance".into(),
        user: "test".into(),
        command: command.into(),
        since: "2026-11-25T08:00:00Z".into(),
        job: None,
    }
}

/// One check of the suite.
type Check = fn(&dyn Subject);

/// Runs every check, each on a fresh subject from `fresh`; panics naming those that failed.
pub fn run(fresh: &dyn Fn() -> Box<dyn Subject>) {
    let checks: [(&str, Check); 14] = [
        ("an empty backend has no state", empty),
        ("saves round-trip, lineage kept, serial grows", round_trip),
        ("a second writer is refused and told the holder", exclusion),
        ("a writer waits for the lock, up to its timeout", waiting),
        ("the lock is released when dropped", release),
        ("the previous state is kept", previous),
        ("corrupt and too-new states are refused untouched", corrupt),
        ("a reader never sees half a save", atomic),
        (
            "checkpoints write one resource each and finish keeps them",
            checkpoints,
        ),
        ("force-unlock frees only the lock it names", unlock_by_id),
        ("catalogs are kept by image apart from the state", catalogs),
        (
            "what an image was built from is kept, in saves and checkpoints",
            build_inputs,
        ),
        (
            "an image recorded before build inputs were loads without them",
            legacy,
        ),
        (
            "advisories are kept beside the state, replaced only by later ones",
            advisories,
        ),
    ];
    let mut verdict = Verdict::new("state backend");
    for (name, check) in checks {
        let subject = fresh();
        verdict.check(name, || check(&*subject));
    }
    verdict.finish();
}

/// A state of `n` base images, for tests and benchmarks of backends.
pub fn sample(n: usize) -> State {
    let mut state = State::new();
    state.resources = (0..n).map(|i| entry(&format!("base{i}"))).collect();
    state
}

fn entry(name: &str) -> (crate::model::Address, ResourceState) {
    let resource = Resource {
        name: name.into(),
        spec: Spec::BaseImage(BaseImageSpec {
            docker_url: ImageRef::parse("127.0.0.1:5000/base/x:1").unwrap(),
            language: Language::Python3,
            tags: vec![],
            rebase: Default::default(),
        }),
    };
    (
        resource.address(),
        ResourceState::applied(resource, "2026-11-25T08:00:00Z"),
    )
}

fn empty(subject: &dyn Subject) {
    assert_eq!(subject.backend().load().unwrap(), None);
}

fn round_trip(subject: &dyn Subject) {
    let backend = subject.backend();
    let lock = backend.lock(Duration::ZERO, &holder("apply")).unwrap();
    let mut state = sample(2);
    lock.save(&mut state).unwrap();
    assert_eq!(state.serial, 1);
    assert_eq!(subject.backend().load().unwrap().as_ref(), Some(&state));
    state.resources.extend([entry("later")]);
    lock.save(&mut state).unwrap();
    let loaded = subject.backend().load().unwrap().unwrap();
    assert_eq!(loaded.serial, 2);
    assert_eq!(loaded.lineage, state.lineage);
    assert_eq!(loaded.resources, state.resources);
}

fn exclusion(subject: &dyn Subject) {
    let _held = subject
        .backend()
        .lock(Duration::ZERO, &holder("dispatch apply"))
        .unwrap();
    let err = subject
        .backend()
        .lock(Duration::ZERO, &holder("dispatch state rm"))
        .err()
        .expect("a second writer must be refused");
    let StateError::Locked { holder } = &err else {
        panic!("expected Locked, got {err}");
    };
    assert!(
        holder.contains(&format!("pid {}", std::process::id())),
        "{holder}"
    );
    assert!(holder.contains("`dispatch apply`"), "{holder}");
    assert!(
        holder.contains("lock ID "),
        "the holder names the lock's ID: {holder}"
    );
}

fn waiting(subject: &dyn Subject) {
    let held = subject
        .backend()
        .lock(Duration::ZERO, &holder("first"))
        .unwrap();
    let started = Instant::now();
    let refused = subject
        .backend()
        .lock(Duration::from_millis(300), &holder("second"));
    assert!(refused.is_err());
    assert!(started.elapsed() >= Duration::from_millis(300));
    // Released while the next writer waits: it gets the lock.
    let released = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            std::thread::sleep(Duration::from_millis(200));
            released.store(true, Ordering::SeqCst);
            drop(held);
        });
        let waited = subject
            .backend()
            .lock(Duration::from_secs(10), &holder("third"));
        assert!(waited.is_ok(), "{:?}", waited.err());
        assert!(released.load(Ordering::SeqCst));
    });
}

fn release(subject: &dyn Subject) {
    drop(
        subject
            .backend()
            .lock(Duration::ZERO, &holder("first"))
            .unwrap(),
    );
    subject
        .backend()
        .lock(Duration::ZERO, &holder("second"))
        .unwrap();
}

fn previous(subject: &dyn Subject) {
    let backend = subject.backend();
    let lock = backend.lock(Duration::ZERO, &holder("apply")).unwrap();
    let mut state = sample(1);
    lock.save(&mut state).unwrap();
    lock.save(&mut state).unwrap();
    let previous = subject.previous().expect("the previous state is kept");
    assert_eq!(previous.serial, 1);
    assert_eq!(previous.lineage, state.lineage);
}

fn corrupt(subject: &dyn Subject) {
    subject.tamper(Tamper::Garbage);
    let err = subject.backend().load().unwrap_err();
    assert!(matches!(err, StateError::Corrupt { .. }), "{err}");
    subject.tamper(Tamper::Version(99));
    let err = subject.backend().load().unwrap_err();
    assert!(matches!(err, StateError::TooNew { found: 99, .. }), "{err}");
    // Refusing did not change it.
    let err = subject.backend().load().unwrap_err();
    assert!(matches!(err, StateError::TooNew { .. }), "{err}");
}

fn atomic(subject: &dyn Subject) {
    const SAVES: usize = 40;
    let writer = subject.backend();
    let lock = writer.lock(Duration::ZERO, &holder("apply")).unwrap();
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let reader = subject.backend();
        let done = &done;
        let reads = scope.spawn(move || {
            let mut seen = BTreeSet::new();
            loop {
                let last = done.load(Ordering::SeqCst);
                if let Some(state) = reader.load().expect("every read parses") {
                    // Save n holds n resources: a mix of two saves would break this.
                    assert_eq!(state.resources.len() as u64, state.serial);
                    seen.insert(state.serial);
                }
                if last {
                    return seen;
                }
            }
        });
        let mut state = State::new();
        for i in 0..SAVES {
            state.resources.extend([entry(&format!("r{i}"))]);
            lock.save(&mut state).unwrap();
        }
        done.store(true, Ordering::SeqCst);
        let seen = reads.join().unwrap();
        assert!(
            seen.contains(&(SAVES as u64)),
            "the reader missed the last save: {seen:?}"
        );
    });
}

fn checkpoints(subject: &dyn Subject) {
    let backend = subject.backend();
    let lock = backend.lock(Duration::ZERO, &holder("apply")).unwrap();
    let mut state = sample(3);
    // The very first write may be a checkpoint.
    lock.checkpoint(&mut state, &entry("base0").0).unwrap();
    assert_eq!(subject.backend().load().unwrap().as_ref(), Some(&state));
    let (changed, removed, added) = (entry("base0").0, entry("base1").0, entry("added"));
    state.resources.get_mut(&changed).unwrap().reason = vec!["changed".into()];
    lock.checkpoint(&mut state, &changed).unwrap();
    state.resources.remove(&removed);
    lock.checkpoint(&mut state, &removed).unwrap();
    state.resources.extend([added.clone()]);
    lock.checkpoint(&mut state, &added.0).unwrap();
    assert_eq!(state.serial, 4);
    // Another client sees every checkpoint before the command ends, and after.
    assert_eq!(subject.backend().load().unwrap().as_ref(), Some(&state));
    lock.finish(&mut state).unwrap();
    assert_eq!(subject.backend().load().unwrap().as_ref(), Some(&state));
    drop(lock);
    let lock = backend.lock(Duration::ZERO, &holder("apply")).unwrap();
    let mut reloaded = subject.backend().load().unwrap().unwrap();
    lock.save(&mut reloaded).unwrap();
    assert_eq!(reloaded.serial, 5);
    assert_eq!(reloaded.resources, state.resources);
}

fn unlock_by_id(subject: &dyn Subject) {
    let held = holder("apply");
    let lock = subject.backend().lock(Duration::ZERO, &held).unwrap();
    let err = subject.backend().force_unlock("not-a-lock-id").unwrap_err();
    assert!(matches!(err, StateError::NoSuchLock { .. }), "{err}");
    // Still held.
    assert!(
        subject
            .backend()
            .lock(Duration::ZERO, &holder("second"))
            .is_err()
    );
    drop(lock);
    let err = subject.backend().force_unlock(&held.id).unwrap_err();
    assert!(matches!(err, StateError::NoSuchLock { .. }), "{err}");
}

fn catalogs(subject: &dyn Subject) {
    let package = |name: &str| Package::plain(Ecosystem::Pypi, name, "1.0");
    let base = Catalog::layered(vec![package("pip")], None);
    let image = Catalog::layered(
        vec![package("pip"), package("requests")],
        Some(("sha256:b0", &base)),
    );
    let backend = subject.backend();
    // No lock is needed, and no state: a catalog is keyed by what it describes.
    backend.put_catalog("sha256:b0", &base).unwrap();
    backend.put_catalog("sha256:i1", &image).unwrap();
    backend.put_catalog("sha256:i1", &image).unwrap();
    let ids = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let found = subject
        .backend()
        .catalogs(&ids(&["sha256:i1", "sha256:none", "sha256:b0"]))
        .unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(found["sha256:b0"], base);
    assert_eq!(found["sha256:i1"], image);
    assert!(subject.backend().catalogs(&[]).unwrap().is_empty());
    // Read again by a later scan (its sources, its operating system): that one is kept. Under
    // an id of this run's: a backend's catalogs outlive its workspaces, and so this check.
    let id = format!("sha256:{}", uuid::Uuid::new_v4().simple());
    let again = Catalog {
        scan: 1,
        ..Catalog::layered(vec![package("pip"), package("six")], None)
    };
    backend.put_catalog(&id, &base).unwrap();
    backend.put_catalog(&id, &again).unwrap();
    let found = backend.catalogs(std::slice::from_ref(&id)).unwrap();
    assert_eq!(found[&id], again);
    assert_eq!(subject.backend().load().unwrap(), None);
}

/// A built image on `base0` with its build inputs recorded.
fn built(name: &str, template: &str) -> (crate::model::Address, ResourceState) {
    let resource = Resource {
        name: name.into(),
        spec: Spec::Image(ImageSpec {
            base_image_name: "base0".into(),
            runtime_dependencies: None,
            system_dependencies: None,
            tags: vec![],
        }),
    };
    let mut entry = ResourceState::applied(resource, "2026-11-25T08:00:00Z");
    entry.build_inputs = Some(Inputs {
        template: Some(TemplateInput {
            path: "templates/python3.Dockerfile".into(),
            digest: template.into(),
        }),
        args: [("PYTHON".to_string(), "sha256:3b".to_string())].into(),
    });
    (entry.resource.address(), entry)
}

fn build_inputs(subject: &dyn Subject) {
    let backend = subject.backend();
    let lock = backend.lock(Duration::ZERO, &holder("apply")).unwrap();
    let mut state = sample(1);
    state.resources.extend([built("saved", "sha256:aa")]);
    lock.save(&mut state).unwrap();
    assert_eq!(subject.backend().load().unwrap().as_ref(), Some(&state));
    let (address, rebuilt) = built("saved", "sha256:bb");
    state.resources.insert(address.clone(), rebuilt.clone());
    lock.checkpoint(&mut state, &address).unwrap();
    let loaded = subject.backend().load().unwrap().unwrap();
    assert_eq!(
        loaded.resources[&address].build_inputs,
        rebuilt.build_inputs
    );
    lock.finish(&mut state).unwrap();
    assert_eq!(subject.backend().load().unwrap().as_ref(), Some(&state));
}

fn legacy(subject: &dyn Subject) {
    subject.tamper(Tamper::Legacy);
    let state = subject.backend().load().unwrap().unwrap();
    let address: crate::model::Address = LEGACY_IMAGE.0.parse().unwrap();
    let entry = &state.resources[&address];
    assert_eq!(
        entry.build_inputs, None,
        "not recorded is not recorded empty"
    );
    assert_eq!(
        entry.observed.as_ref().and_then(|o| o.reference.as_deref()),
        Some("dispatch/legacy:abc")
    );
    // Written again by this dispatch, with its inputs recorded, and read back so.
    let backend = subject.backend();
    let lock = backend.lock(Duration::ZERO, &holder("apply")).unwrap();
    let mut state = state;
    state.resources.get_mut(&address).unwrap().build_inputs = Some(Inputs::default());
    lock.checkpoint(&mut state, &address).unwrap();
    let loaded = subject.backend().load().unwrap().unwrap();
    assert_eq!(
        loaded.resources[&address].build_inputs,
        Some(Inputs::default())
    );
}

/// A record of id `id` affecting a package of each of `ecosystems`, modified at `modified`.
pub fn advisory(id: &str, modified: &str, ecosystems: &[&str]) -> Advisory {
    let affected: Vec<serde_json::Value> = (ecosystems.iter())
        .map(|e| {
            serde_json::json!({
                "package": {"ecosystem": e, "name": "pkg"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}]
            })
        })
        .collect();
    let record = serde_json::json!({"id": id, "modified": modified, "affected": affected});
    serde_json::from_value(record).expect("a record")
}

fn advisories(subject: &dyn Subject) {
    // The backend's advisories may be shared with other tests (one PostgreSQL table for every
    // workspace): these ids are this run's own.
    let run = uuid::Uuid::new_v4().simple().to_string();
    let id = |n: u32| format!("TEST{run}-{n}");
    let ours = |found: Vec<Advisory>| -> Vec<(String, String)> {
        let mut ours: Vec<(String, String)> = (found.into_iter())
            .filter(|a| a.id.contains(&run))
            .map(|a| (a.id, a.modified))
            .collect();
        ours.sort();
        ours
    };
    let (early, late) = ("2024-01-01T00:00:00Z", "2024-06-01T00:00:00.5Z");
    let backend = subject.backend();
    // No lock, no state: advisories are kept beside it.
    let stored = backend
        .put_advisories(&[
            advisory(&id(1), early, &["PyPI"]),
            advisory(&id(2), early, &["Debian:12", "PyPI"]),
        ])
        .unwrap();
    assert_eq!(stored, [Stored::New, Stored::New]);
    let stored = subject
        .backend()
        .put_advisories(&[
            advisory(&id(1), early, &["PyPI"]),
            advisory(&id(2), late, &["Debian:12"]),
            advisory(&id(3), late, &["npm"]),
        ])
        .unwrap();
    assert_eq!(stored, [Stored::Unchanged, Stored::Updated, Stored::New]);
    // An earlier record replaces nothing.
    let stored = subject
        .backend()
        .put_advisories(&[advisory(&id(2), early, &["PyPI"])])
        .unwrap();
    assert_eq!(stored, [Stored::Unchanged]);
    let all = ours(subject.backend().advisories(None).unwrap());
    assert_eq!(
        all,
        [
            (id(1), early.to_string()),
            (id(2), late.to_string()),
            (id(3), late.to_string())
        ]
    );
    let of = |ecosystems: &[&str]| {
        let names: Vec<String> = ecosystems.iter().map(|e| e.to_string()).collect();
        ours(subject.backend().advisories(Some(&names)).unwrap())
    };
    // Record 2 moved to Debian alone when it was updated.
    assert_eq!(of(&["PyPI"]), [(id(1), early.to_string())]);
    assert_eq!(of(&["Debian:12", "npm"]).len(), 2);
    assert_eq!(of(&["Maven"]), []);
    let read = subject
        .backend()
        .advisories(Some(&["npm".to_string()]))
        .unwrap();
    let three = read.iter().find(|a| a.id == id(3)).unwrap();
    assert_eq!(
        three,
        &advisory(&id(3), late, &["npm"]),
        "read back as stored"
    );
    // What was imported after a time: record 4 was, record 5 before it, record 6 has no
    // import time (a dispatch that kept none stored it).
    let imported = |n: u32, at: Option<&str>| Advisory {
        imported: at.map(str::to_string),
        ..advisory(&id(n), early, &["PyPI"])
    };
    subject
        .backend()
        .put_advisories(&[
            imported(4, Some("2024-06-01T00:00:01Z")),
            imported(5, Some("2024-06-01T00:00:00Z")),
            imported(6, None),
        ])
        .unwrap();
    let after = subject
        .backend()
        .advisories_imported_after("2024-06-01T00:00:00Z")
        .unwrap();
    assert_eq!(ours(after), [(id(4), early.to_string())]);
    assert_eq!(subject.backend().load().unwrap(), None);
}
