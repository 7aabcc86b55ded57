//! The PostgreSQL state backend on a real server (`.ci/postgres` starts a private cluster):
//! the conformance suite every backend passes, then what only a shared database has — tables
//! made and migrated on first use, heartbeats, stale and stolen locks, compare-and-swap, one
//! row per checkpoint — and runners (separate folders, one database) taking turns. Over TLS, on
//! a second cluster (`.ci/postgres-tls`), in `tls`.

#[path = "../common/mod.rs"]
mod common;

mod tls;

use std::time::{Duration, Instant};

use dispatch::config::PgSettings;
use dispatch::state::conformance::{self, LEGACY_IMAGE, Subject, Tamper, holder};
use dispatch::state::postgres::PgBackend;
use dispatch::state::{Advisories, Backend, Catalogs, State, StateError};

use common::{Sandbox, base_doc, contains, env, ok};

/// The schema the tests share; each test has workspaces (or a schema) of its own.
const SCHEMA: &str = "dispatch_tests";

fn url() -> String {
    env("DISPATCH_TEST_PG_URL")
}

fn password() -> String {
    env("DISPATCH_TEST_PG_PASSWORD")
}

/// The URL without its password, as a dispatch.toml in git would hold it.
fn public_url() -> String {
    url().replace(&format!(":{}@", password()), "@")
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

fn settings(schema: &str, workspace: &str, ttl: Duration) -> PgSettings {
    PgSettings {
        url: Some(url()),
        schema: schema.into(),
        workspace: workspace.into(),
        lock_ttl: ttl,
        connect_timeout: Duration::from_secs(10),
    }
}

fn backend(settings: &PgSettings) -> PgBackend {
    PgBackend::new(settings, |_| None).unwrap()
}

/// A connection of the test's own, to look behind the backend.
fn sql() -> postgres::Client {
    postgres::Client::connect(&url(), postgres::NoTls).unwrap()
}

/// A workspace in the shared schema, for the conformance suite.
struct Pg {
    settings: PgSettings,
    /// The test's own connection to the same database.
    db: fn() -> postgres::Client,
}

impl Pg {
    fn fresh() -> Pg {
        Pg::fresh_at(url(), sql)
    }

    /// A workspace of the database at `url`, which `db` connects to behind the backend.
    fn fresh_at(url: String, db: fn() -> postgres::Client) -> Pg {
        let pg = Pg {
            settings: PgSettings {
                url: Some(url),
                ..settings(SCHEMA, &unique("conformance"), Duration::from_secs(120))
            },
            db,
        };
        // The tables exist before anything is tampered with.
        drop(pg.backend().lock(Duration::ZERO, &holder("setup")).unwrap());
        pg
    }
}

impl Subject for Pg {
    fn backend(&self) -> Box<dyn Backend> {
        Box::new(backend(&self.settings))
    }

    fn tamper(&self, how: Tamper) {
        let mut db = (self.db)();
        let workspace = &self.settings.workspace;
        db.execute(
            "INSERT INTO dispatch_tests.workspaces (name, lineage, serial, version)
             VALUES ($1, gen_random_uuid(), 1, 1) ON CONFLICT (name) DO NOTHING",
            &[workspace],
        )
        .unwrap();
        match how {
            Tamper::Garbage => db
                .execute(
                    "INSERT INTO dispatch_tests.resources (workspace, address, entry, serial)
                     VALUES ($1, 'BaseImage/x', '{\"garbage\": true}', 1)
                     ON CONFLICT (workspace, address) DO UPDATE SET entry = excluded.entry",
                    &[workspace],
                )
                .unwrap(),
            Tamper::Version(version) => db
                .execute(
                    "UPDATE dispatch_tests.workspaces SET version = $2 WHERE name = $1",
                    &[workspace, &(version as i32)],
                )
                .unwrap(),
            // The row as an earlier dispatch wrote it: its entry has no build inputs.
            Tamper::Legacy => db
                .execute(
                    "INSERT INTO dispatch_tests.resources (workspace, address, entry, serial)
                     VALUES ($1, $2, $3::text::jsonb, 1)",
                    &[workspace, &LEGACY_IMAGE.0, &LEGACY_IMAGE.1],
                )
                .unwrap(),
        };
    }

    /// The state before the last write: the current one with that write's history undone.
    fn previous(&self) -> Option<State> {
        let mut state = self.backend().load().unwrap()?;
        let rows = (self.db)()
            .query(
                "SELECT address, before::text FROM dispatch_tests.history
                 WHERE workspace = $1 AND serial = $2",
                &[&self.settings.workspace, &(state.serial as i64)],
            )
            .unwrap();
        for row in rows {
            let address = row.get::<_, &str>(0).parse().unwrap();
            match row.get::<_, Option<&str>>(1) {
                Some(before) => {
                    state
                        .resources
                        .insert(address, serde_json::from_str(before).unwrap());
                }
                None => {
                    state.resources.remove(&address);
                }
            }
        }
        state.serial -= 1;
        Some(state)
    }
}

#[test]
fn passes_the_conformance_suite() {
    crate::common::needs!(postgres);
    conformance::run(&|| Box::new(Pg::fresh()));
}

#[test]
fn tables_are_made_on_first_write_and_migrated_once() {
    crate::common::needs!(postgres);
    let schema = unique("fresh");
    let exists = || {
        sql()
            .query_one(
                "SELECT count(*) FROM pg_namespace WHERE nspname = $1",
                &[&schema],
            )
            .unwrap()
            .get::<_, i64>(0)
            == 1
    };
    let settings = settings(&schema, "default", Duration::from_secs(120));
    // A reader makes nothing: it may have no right to.
    assert_eq!(backend(&settings).load().unwrap(), None);
    assert!(!exists());
    // Eight runners start at once on an empty database: each gets through.
    let outcomes: Vec<_> = std::thread::scope(|scope| {
        let runners: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    backend(&settings)
                        .lock(Duration::from_secs(30), &holder("apply"))
                        .map(drop)
                })
            })
            .collect();
        runners.into_iter().map(|r| r.join().unwrap()).collect()
    });
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert!(exists());
    let version: String = sql()
        .query_one(
            &format!("SELECT value FROM {schema}.meta WHERE key = 'schema_version'"),
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(version, "3");
    // A database of the first version (before catalogs and advisories) is migrated by the
    // next writer.
    sql()
        .batch_execute(&format!(
            "DROP TABLE {schema}.catalogs; DROP TABLE {schema}.advisories;
             UPDATE {schema}.meta SET value = '1' WHERE key = 'schema_version'"
        ))
        .unwrap();
    let migrated = backend(&settings);
    // Read before any writer migrates it: no catalogs or advisories yet, and no error.
    assert!(migrated.catalogs(&["sha256:0".into()]).unwrap().is_empty());
    assert!(migrated.advisories(None).unwrap().is_empty());
    drop(migrated.lock(Duration::ZERO, &holder("apply")).unwrap());
    let catalog = dispatch::model::catalog::Catalog::default();
    migrated.put_catalog("sha256:0", &catalog).unwrap();
    let kept = migrated.catalogs(&["sha256:0".to_string()]).unwrap();
    assert_eq!(kept.get("sha256:0"), Some(&catalog));
    let record = conformance::advisory("PYSEC-1", "2024-01-01T00:00:00Z", &["PyPI"]);
    migrated
        .put_advisories(std::slice::from_ref(&record))
        .unwrap();
    assert_eq!(migrated.advisories(None).unwrap(), [record]);
    // A database migrated by a newer dispatch is refused, not written.
    sql()
        .execute(
            &format!("UPDATE {schema}.meta SET value = '99' WHERE key = 'schema_version'"),
            &[],
        )
        .unwrap();
    let err = backend(&settings)
        .lock(Duration::ZERO, &holder("apply"))
        .err()
        .unwrap();
    assert!(matches!(err, StateError::TooNew { found: 99, .. }), "{err}");
}

#[test]
fn workspaces_and_schemas_are_independent_states() {
    crate::common::needs!(postgres);
    let a = settings(SCHEMA, &unique("a"), Duration::from_secs(120));
    let b = settings(SCHEMA, &unique("b"), Duration::from_secs(120));
    let other_schema = settings(&unique("other"), &a.workspace, Duration::from_secs(120));
    let _held = backend(&a).lock(Duration::ZERO, &holder("a")).unwrap();
    // The same workspace name in another schema, and another workspace: not locked.
    for other in [&b, &other_schema] {
        let lock = backend(other).lock(Duration::ZERO, &holder("b")).unwrap();
        lock.save(&mut State::new()).unwrap();
    }
    assert_eq!(backend(&a).load().unwrap(), None);
}

#[test]
fn a_heartbeat_keeps_a_lock_alive_past_its_ttl() {
    crate::common::needs!(postgres);
    let s = settings(SCHEMA, &unique("beat"), Duration::from_secs(1));
    let _held = backend(&s).lock(Duration::ZERO, &holder("apply")).unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    let err = backend(&s)
        .lock(Duration::ZERO, &holder("second"))
        .err()
        .expect("a lock with a live heartbeat is not stale");
    assert!(matches!(err, StateError::Locked { .. }), "{err}");
    contains(&err.to_string(), "last heartbeat 0s ago");
}

#[test]
fn a_stale_lock_is_taken_over_and_its_writer_cannot_write_after() {
    crate::common::needs!(postgres);
    let s = settings(SCHEMA, &unique("stale"), Duration::from_secs(1));
    let first = backend(&s);
    let dead = first
        .lock(Duration::ZERO, &holder("dispatch apply"))
        .unwrap();
    let mut state = State::new();
    dead.save(&mut state).unwrap();
    // The holder stops beating, as a process killed or cut off from the database would: its
    // last beat long ago, and those its thread still sends land nowhere (another lock ID).
    sql()
        .execute(
            "UPDATE dispatch_tests.locks
             SET heartbeat = now() - interval '1 minute', id = id || '-cut-off'
             WHERE workspace = $1",
            &[&s.workspace],
        )
        .unwrap();
    let started = Instant::now();
    let taker = backend(&s)
        .lock(
            Duration::from_secs(10),
            &holder("dispatch apply --lock-timeout 10s"),
        )
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    let notice = taker
        .notice()
        .expect("the takeover names whose lock it was");
    contains(&notice, "took over the lock of pid");
    contains(&notice, "(`dispatch apply`)");
    // The old writer comes back: its write fails before changing anything.
    let err = dead.save(&mut state.clone()).unwrap_err();
    assert!(matches!(err, StateError::LockLost { .. }), "{err}");
    contains(&err.to_string(), "dispatch apply --lock-timeout 10s");
    assert_eq!(backend(&s).load().unwrap().unwrap().serial, 1);
    let mut latest = backend(&s).load().unwrap().unwrap();
    taker.save(&mut latest).unwrap();
    assert_eq!(latest.serial, 2);
}

#[test]
fn a_writer_whose_lock_row_was_cleared_fails_before_its_next_write() {
    crate::common::needs!(postgres);
    let s = settings(SCHEMA, &unique("stolen"), Duration::from_secs(120));
    let lock = backend(&s).lock(Duration::ZERO, &holder("apply")).unwrap();
    let mut state = State::new();
    lock.save(&mut state).unwrap();
    let before = backend(&s).load().unwrap();
    sql()
        .execute(
            "DELETE FROM dispatch_tests.locks WHERE workspace = $1",
            &[&s.workspace],
        )
        .unwrap();
    let address = "BaseImage/x".parse().unwrap();
    let err = lock.checkpoint(&mut state, &address).unwrap_err();
    assert!(matches!(err, StateError::LockLost { .. }), "{err}");
    assert_eq!(
        backend(&s).load().unwrap(),
        before,
        "the state is as it was"
    );
}

#[test]
fn a_write_over_a_serial_it_did_not_read_is_refused() {
    crate::common::needs!(postgres);
    let s = settings(SCHEMA, &unique("cas"), Duration::from_secs(120));
    let lock = backend(&s).lock(Duration::ZERO, &holder("apply")).unwrap();
    let mut state = State::new();
    lock.save(&mut state).unwrap();
    sql()
        .execute(
            "UPDATE dispatch_tests.workspaces SET serial = 7 WHERE name = $1",
            &[&s.workspace],
        )
        .unwrap();
    let err = lock.save(&mut state.clone()).unwrap_err();
    assert!(
        matches!(
            err,
            StateError::Conflict {
                expected: 1,
                found: 7
            }
        ),
        "{err}"
    );
}

#[test]
fn a_checkpoint_writes_one_row() {
    crate::common::needs!(postgres);
    let s = settings(SCHEMA, &unique("rows"), Duration::from_secs(120));
    let lock = backend(&s).lock(Duration::ZERO, &holder("apply")).unwrap();
    let mut state = conformance::sample(200);
    lock.save(&mut state).unwrap();
    let address = state.resources.keys().nth(17).unwrap().clone();
    state.resources.get_mut(&address).unwrap().reason = vec!["rebuilt".into()];
    lock.checkpoint(&mut state, &address).unwrap();
    let rows: Vec<(String, i64)> = sql()
        .query(
            "SELECT address, serial FROM dispatch_tests.resources
             WHERE workspace = $1 AND serial = $2",
            &[&s.workspace, &(state.serial as i64)],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(rows, [(address.to_string(), 2)]);
    assert_eq!(backend(&s).load().unwrap().unwrap(), state);
}

#[test]
fn force_unlock_frees_the_lock_it_names_and_its_writer_stops() {
    crate::common::needs!(postgres);
    let s = settings(SCHEMA, &unique("force"), Duration::from_secs(120));
    let held = holder("apply");
    let lock = backend(&s).lock(Duration::ZERO, &held).unwrap();
    let err = backend(&s).force_unlock("someone-else").unwrap_err();
    contains(&err.to_string(), "it is locked by pid");
    backend(&s).force_unlock(&held.id).unwrap();
    let _next = backend(&s).lock(Duration::ZERO, &holder("next")).unwrap();
    let err = lock.save(&mut State::new()).unwrap_err();
    assert!(matches!(err, StateError::LockLost { .. }), "{err}");
}

#[test]
fn connection_failures_name_the_database_but_never_the_password() {
    crate::common::needs!(postgres);
    let wrong = PgSettings {
        url: Some(url().replace(&password(), "not-the-password")),
        ..settings(SCHEMA, "default", Duration::from_secs(120))
    };
    let err = backend(&wrong).load().unwrap_err().to_string();
    contains(&err, "password authentication failed");
    contains(&err, "postgres://dispatch@127.0.0.1:");
    assert!(!err.contains("not-the-password"), "{err}");
    // Nothing listens on port 1.
    let refused = PgSettings {
        url: Some("postgres://dispatch:secret@127.0.0.1:1/dispatch".into()),
        ..wrong
    };
    let err = backend(&refused).load().unwrap_err().to_string();
    contains(&err, "postgres://dispatch@127.0.0.1:1/dispatch");
    contains(&err, "refused");
    assert!(!err.contains("secret"), "{err}");
}

/// A sandbox whose state is the workspace `workspace` of the test database, with a lock TTL of
/// `ttl`; the password only in the environment, as CI would pass it.
fn runner(name: &str, workspace: &str, ttl: &str) -> Sandbox {
    let s = Sandbox::new(name);
    s.write(
        "dispatch.toml",
        &format!(
            "[backend]\ntype = \"postgres\"\nurl = \"{}\"\nschema = \"{SCHEMA}\"\nworkspace = \"{workspace}\"\nlock-ttl = \"{ttl}\"\n",
            public_url()
        ),
    );
    s
}

/// `dispatch` in `s` with the database's password in PGPASSWORD.
fn run(s: &Sandbox, args: &[&str]) -> common::Run {
    let run = s.dispatch_with(args, &[("PGPASSWORD", &password())]);
    for output in [&run.stdout, &run.stderr] {
        assert!(
            !output.contains(&password()),
            "the password was printed:\n{output}"
        );
    }
    run
}

/// Waits until `workspace` is locked; the lock's ID.
fn locked(workspace: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(row) = sql()
            .query_opt(
                "SELECT id FROM dispatch_tests.locks WHERE workspace = $1",
                &[&workspace],
            )
            .unwrap()
        {
            return row.get(0);
        }
        assert!(
            Instant::now() < deadline,
            "the first runner never took the lock"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn two_runners_take_turns_and_share_one_state() {
    crate::common::needs!(postgres, services);
    let workspace = unique("runners");
    let first = runner("first", &workspace, "2m");
    let second = runner("second", &workspace, "2m");
    second.write(
        "images/bases.yaml",
        &base_doc("shared", &env("DISPATCH_TEST_BASE")),
    );
    let mut stuck = first.stuck_apply("6s", &[("PGPASSWORD", &password())]);
    locked(&workspace);
    // Refused at once, naming the holder.
    let refused = run(&second, &["apply", "--auto-approve", "images"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    contains(
        &refused.stderr,
        format!("state is locked by pid {}", stuck.id()),
    );
    contains(&refused.stderr, "lock ID ");
    // Waiting, it runs once the first is done.
    let waited = run(
        &second,
        &[
            "apply",
            "--auto-approve",
            "-q",
            "--lock-timeout",
            "2m",
            "images",
        ],
    );
    ok(&waited);
    assert!(
        stuck.try_wait().unwrap().is_some(),
        "the first ran to its end first"
    );
    // A third runner, with no state of its own, sees what the second applied.
    let third = runner("third", &workspace, "2m");
    let listed = run(&third, &["get", "base-images"]);
    ok(&listed);
    contains(&listed.stdout, "shared");
    contains(&listed.stdout, "READY");
}

#[test]
fn a_killed_runner_leaves_a_lock_taken_over_after_its_ttl_or_freed_by_id() {
    crate::common::needs!(postgres, services);
    let workspace = unique("killed");
    let first = runner("first", &workspace, "3s");
    let second = runner("second", &workspace, "3s");
    second.write(
        "images/bases.yaml",
        &base_doc("after", &env("DISPATCH_TEST_BASE")),
    );

    let mut stuck = first.stuck_apply("2m", &[("PGPASSWORD", &password())]);
    locked(&workspace);
    stuck.kill().unwrap();
    stuck.wait().unwrap();
    let refused = run(&second, &["apply", "--auto-approve", "images"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    contains(&refused.stderr, format!("pid {}", stuck.id()));
    let started = Instant::now();
    let took_over = run(
        &second,
        &[
            "apply",
            "--auto-approve",
            "-q",
            "--lock-timeout",
            "1m",
            "images",
        ],
    );
    ok(&took_over);
    contains(
        &took_over.stderr,
        format!("took over the lock of pid {}", stuck.id()),
    );
    assert!(started.elapsed() < Duration::from_secs(30));

    // Killed again; this time freed by hand, at once, by a runner whose TTL outlasts the
    // test however loaded the machine is.
    let patient = runner("patient", &workspace, "10m");
    patient.write(
        "images/bases.yaml",
        &base_doc("after", &env("DISPATCH_TEST_BASE")),
    );
    let mut stuck = first.stuck_apply("2m", &[("PGPASSWORD", &password())]);
    let id = locked(&workspace);
    stuck.kill().unwrap();
    stuck.wait().unwrap();
    let refused = run(&patient, &["plan", "images"]);
    ok(&refused); // readers take no lock
    let refused = run(&patient, &["state", "rm", "BaseImage/after"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    contains(&refused.stderr, format!("lock ID {id}"));
    let freed = run(&patient, &["force-unlock", &id]);
    ok(&freed);
    contains(&freed.stdout, format!("Freed the lock {id}"));
    ok(&run(&patient, &["state", "rm", "BaseImage/after"]));
}

#[test]
fn state_push_and_pull_move_a_state_keeping_its_lineage() {
    crate::common::needs!(postgres, services);
    let workspace = unique("moved");
    let s = Sandbox::new("push");
    s.write(
        "images/bases.yaml",
        &base_doc("moved", &env("DISPATCH_TEST_BASE")),
    );
    // Applied with the local file, as before the team shared its state.
    ok(&s.dispatch(&["apply", "--auto-approve", "-q", "images"]));
    let local: State = serde_json::from_str(
        &std::fs::read_to_string(s.path().join(".dispatch/state.json")).unwrap(),
    )
    .unwrap();
    let nowhere = s.dispatch(&["state", "push"]);
    assert_eq!(nowhere.code, 1);
    contains(&nowhere.stderr, "there is nowhere to copy it");

    let shared = runner("push", &workspace, "2m");
    std::fs::copy(
        s.path().join(".dispatch/state.json"),
        shared.write("old/state.json", ""),
    )
    .unwrap();
    let pushed = run(&shared, &["state", "push", "old/state.json"]);
    ok(&pushed);
    contains(
        &pushed.stdout,
        "Pushed the state (1 resource) from old/state.json to postgres://dispatch@",
    );
    let listed = run(&shared, &["get", "base-image", "moved", "-o", "json"]);
    ok(&listed);
    contains(&listed.stdout, "\"READY\"");

    // Another project's state is not pushed over it without --force.
    let other = shared.write("other.json", &serde_json::to_string(&State::new()).unwrap());
    let refused = run(&shared, &["state", "push", other.to_str().unwrap()]);
    assert_eq!(refused.code, 1);
    contains(&refused.stderr, "holds another state");
    contains(&refused.stderr, "--force");

    let pulled = run(&shared, &["state", "pull", "copy.json"]);
    ok(&pulled);
    let copy: State =
        serde_json::from_str(&std::fs::read_to_string(shared.path().join("copy.json")).unwrap())
            .unwrap();
    assert_eq!(copy.lineage, local.lineage);
    assert_eq!(copy.resources, local.resources);
}

#[test]
fn advisories_are_imported_into_the_database_and_shared_by_its_workspaces() {
    crate::common::needs!(postgres);
    let schema = unique("advisories");
    let runner = |name: &str| {
        let s = Sandbox::new(name);
        s.write(
            "dispatch.toml",
            &format!(
                "[backend]\ntype = \"postgres\"\nurl = \"{}\"\nschema = \"{schema}\"\nworkspace = \"{name}\"\n",
                public_url()
            ),
        );
        s
    };
    let osv = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/advisories/osv");
    let first = runner("first");
    let imported = run(&first, &["advisories", "import", osv]);
    ok(&imported);
    contains(&imported.stdout, "Debian:12    | 2   | 0       | 0");
    contains(&imported.stdout, "Imported 6 records from 1 path");
    // Another workspace of the schema sees them, and imports the same records unchanged.
    let second = runner("second");
    let again = run(&second, &["advisories", "import", osv, "-o", "json"]);
    ok(&again);
    let counts: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(
        counts["ecosystems"]["Debian:12"]["unchanged"], 2,
        "{counts}"
    );
    let status = run(&second, &["advisories", "status", "-o", "json"]);
    ok(&status);
    let loaded: Vec<serde_json::Value> = serde_json::from_str(&status.stdout).unwrap();
    let dsa = loaded.iter().find(|l| l["source"] == "DSA").unwrap();
    assert_eq!(dsa["count"], 2);
    assert_eq!(dsa["newest"], "2024-04-20T08:30:00Z");
}

/// `validate` against a PostgreSQL backend: the pins images declare are matched against the
/// advisories of the database (none before an import, and then nothing is said), a rule of
/// error severity fails it, and a database that does not answer is an error, never a check
/// silently skipped.
#[test]
fn validate_matches_declared_pins_against_the_database_advisories() {
    crate::common::needs!(postgres);
    let schema = unique("premerge");
    let configure = |s: &Sandbox, url: &str| {
        s.write(
            "dispatch.toml",
            &format!(
                "[backend]\ntype = \"postgres\"\nurl = \"{url}\"\nschema = \"{schema}\"\nworkspace = \"ci\"\n"
            ),
        )
    };
    let s = Sandbox::new("premerge");
    configure(&s, &public_url());
    s.write(
        "decl/all.yaml",
        "kind: BaseImage\nname: node\ndockerUrl: 127.0.0.1:5000/base/node:18\nlanguage: nodejs\n---\nkind: Image\nname: web\nbaseImageName: node\nruntimeDependencies:\n  manifest: '{\"dependencies\": {\"lodash\": \"4.17.20\"}}'\n",
    );
    let before = run(&s, &["validate", "decl"]);
    ok(&before);
    assert_eq!(before.stderr, "", "no advisories, nothing said");
    let npm = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/advisories/osv/npm.yaml"
    );
    ok(&run(&s, &["advisories", "import", npm]));
    let warned = run(&s, &["validate", "decl", "--no-color"]);
    ok(&warned);
    contains(
        &warned.stderr,
        "Warning: decl/all.yaml:10:3: \"lodash\": \"4.17.20\" is affected by GHSA-35jh-r3h4-6jhm (CVE-2021-23337; severity high)\n  hint: use lodash@>=4.17.21\n",
    );
    s.write(
        "security.yaml",
        "kind: Policy\nname: security\nvulnerabilities:\n  minSeverity: high\n",
    );
    let refused = run(&s, &["validate", "decl", "--policy", "security.yaml"]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    contains(
        &refused.stderr,
        "GHSA-35jh-r3h4-6jhm (CVE-2021-23337; severity high), which policy security does not accept",
    );
    // Nowhere to ask: the check cannot run, and says why.
    configure(&s, "postgres://dispatch@127.0.0.1:1/dispatch");
    let unreachable = run(&s, &["validate", "decl"]);
    assert_eq!(unreachable.code, 1, "{}", unreachable.stdout);
    contains(&unreachable.stderr, "127.0.0.1:1");
}
