//! The tables, by schema version, and the statements over them. A writer brings the schema to
//! this version before its first write; a reader migrates nothing.

use std::time::Duration;

use backon::{BlockingRetryable, ConstantBuilder};
use postgres::Client;
use postgres::types::Type;

use super::connection::Failure;
use crate::state::StateError;

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
    // `modified` in nanoseconds since the epoch, as dispatch compares it.
    "
    CREATE TABLE IF NOT EXISTS {s}.advisories (
        id text PRIMARY KEY,
        modified bigint NOT NULL,
        ecosystems text[] NOT NULL,
        record jsonb NOT NULL
    );
    CREATE INDEX IF NOT EXISTS advisories_ecosystems ON {s}.advisories USING gin (ecosystems);
",
];

/// The statements, with the schema filled in once.
#[derive(Debug)]
pub(super) struct Sql {
    pub(super) schema: String,
    pub(super) has_tables: String,
    pub(super) has_catalogs: String,
    pub(super) read_version: String,
    pub(super) read_workspace: String,
    pub(super) read_resources: String,
    pub(super) take_lock: String,
    pub(super) read_lock: String,
    pub(super) renew_lock: String,
    pub(super) drop_lock: String,
    pub(super) write_workspace: String,
    pub(super) read_serial: String,
    pub(super) write_resources: String,
    pub(super) trim_history: String,
    pub(super) read_catalogs: String,
    pub(super) write_catalog: String,
    pub(super) has_advisories: String,
    pub(super) read_advisories: String,
    pub(super) read_advisories_imported_after: String,
    pub(super) write_advisories: String,
}

impl Sql {
    pub(super) fn new(schema: &str) -> Sql {
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
            // Kept by content: the first writer's stays, unless a later scan read it again
            // (`scan`, absent in a catalog an older dispatch wrote).
            write_catalog: q("
                INSERT INTO {s}.catalogs (image, contents) VALUES ($1, $2::jsonb)
                ON CONFLICT (image) DO UPDATE SET contents = excluded.contents
                WHERE COALESCE({s}.catalogs.contents->'scan', '0')
                    < COALESCE(excluded.contents->'scan', '0')"),
            has_advisories: q("SELECT to_regclass('{s}.advisories') IS NOT NULL"),
            // Those of the ecosystems $1, or all when it is NULL.
            read_advisories: q("
                SELECT record::text FROM {s}.advisories
                WHERE $1::text[] IS NULL OR ecosystems && $1::text[]"),
            // `imported` is written as `host::now` writes times, which sort as text.
            read_advisories_imported_after: q("
                SELECT record::text FROM {s}.advisories WHERE record->>'imported' > $1"),
            // ($1..$4: ids, modified, ecosystems joined by newlines, records.) A row is
            // replaced only by a later one; the ids written come back, `true` for new ones.
            write_advisories: q("
                INSERT INTO {s}.advisories AS a (id, modified, ecosystems, record)
                SELECT id, modified, string_to_array(ecosystems, E'\\n'), record::jsonb
                FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[])
                    AS t (id, modified, ecosystems, record)
                ON CONFLICT (id) DO UPDATE
                    SET modified = excluded.modified, ecosystems = excluded.ecosystems,
                        record = excluded.record
                    WHERE a.modified < excluded.modified
                RETURNING id, xmax = 0"),
        }
    }
}

/// Creates the schema and tables, or brings them to this version. Two processes migrating at
/// once race on `CREATE ... IF NOT EXISTS`; the loser tries again at once (three times at
/// most) and finds the work done.
pub(super) fn migrate(client: &mut Client, sql: &Sql, location: &str) -> Result<(), Failure> {
    let again = ConstantBuilder::new()
        .with_delay(Duration::ZERO)
        .with_max_times(3);
    BlockingRetryable::retry(|| migrate_once(client, sql, location), again)
        .when(is_race)
        .call()
}

fn migrate_once(client: &mut Client, sql: &Sql, location: &str) -> Result<(), Failure> {
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
        return Err(StateError::TooNew {
            location: location.to_string(),
            found: version as u32,
            written_by: Some(format!("a newer dispatch (database schema {version})")),
        }
        .into());
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
fn is_race(failure: &Failure) -> bool {
    use postgres::error::SqlState;
    let Failure::Db(e) = failure else {
        return false;
    };
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
