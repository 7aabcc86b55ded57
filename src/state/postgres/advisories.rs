//! Advisories in PostgreSQL: the `advisories` table, a row per record with its OSV ecosystems
//! indexed, shared by every workspace of the schema as the catalogs are. An import is one
//! transaction; a row is replaced only by a record modified later, in the statement itself.

use std::collections::HashMap;

use postgres::types::Type;
use postgres::{Row, Transaction};

use super::schema::Sql;
use super::{Isolation, PgBackend, exists};
use crate::model::advisory::{Advisory, Stored};
use crate::state::{Advisories, StateError};

/// Records written per statement: the arrays stay a few megabytes.
const BATCH: usize = 2_000;

impl PgBackend {
    /// The records the query `read` returns (their JSON in its first column); none from a
    /// database not yet migrated to advisories (a reader migrates nothing).
    fn read_advisories(
        &self,
        read: impl FnOnce(&mut Transaction, &Sql) -> Result<Vec<Row>, postgres::Error> + Send + 'static,
    ) -> Result<Vec<Advisory>, StateError> {
        let location = self.inner.location.clone();
        self.transaction(Isolation::Snapshot, move |tx, sql, _| {
            if !exists(tx, &sql.has_advisories)? {
                return Ok(Vec::new());
            }
            let rows = read(tx, sql)?;
            rows.iter()
                .map(|row| {
                    serde_json::from_str(row.get::<_, &str>(0)).map_err(|e| {
                        StateError::Corrupt {
                            location: location.clone(),
                            message: format!("an advisory: {e}"),
                            backup: None,
                        }
                        .into()
                    })
                })
                .collect()
        })
    }
}

impl Advisories for PgBackend {
    fn advisories(&self, ecosystems: Option<&[String]>) -> Result<Vec<Advisory>, StateError> {
        let ecosystems = ecosystems.map(<[String]>::to_vec);
        self.read_advisories(move |tx, sql| {
            tx.query_typed(&sql.read_advisories, &[(&ecosystems, Type::TEXT_ARRAY)])
        })
    }

    fn advisories_imported_after(&self, since: &str) -> Result<Vec<Advisory>, StateError> {
        let since_text = since.to_string();
        let mut found = self.read_advisories(move |tx, sql| {
            tx.query_typed(
                &sql.read_advisories_imported_after,
                &[(&since_text, Type::TEXT)],
            )
        })?;
        // The text comparison narrows the rows down; the times' own comparison decides.
        found.retain(|a| a.imported_after(since));
        Ok(found)
    }

    fn put_advisories(&self, records: &[Advisory]) -> Result<Vec<Stored>, StateError> {
        let rows: Vec<(String, i64, String, String)> = records
            .iter()
            .map(|a| {
                let modified = i64::try_from(a.modified_at().as_nanos()).unwrap_or(i64::MAX);
                let json = serde_json::to_string(a).expect("an advisory serializes");
                (a.id.clone(), modified, a.ecosystems().join("\n"), json)
            })
            .collect();
        let ids: Vec<String> = records.iter().map(|a| a.id.clone()).collect();
        let written = self.transaction(Isolation::Write, move |tx, sql, _| {
            let mut written: HashMap<String, bool> = HashMap::new();
            for batch in rows.chunks(BATCH) {
                let column = |f: fn(&(String, i64, String, String)) -> String| {
                    batch.iter().map(f).collect::<Vec<String>>()
                };
                let modified: Vec<i64> = batch.iter().map(|r| r.1).collect();
                let found = tx.query_typed(
                    &sql.write_advisories,
                    &[
                        (&column(|r| r.0.clone()), Type::TEXT_ARRAY),
                        (&modified, Type::INT8_ARRAY),
                        (&column(|r| r.2.clone()), Type::TEXT_ARRAY),
                        (&column(|r| r.3.clone()), Type::TEXT_ARRAY),
                    ],
                )?;
                written.extend(found.iter().map(|row| (row.get(0), row.get(1))));
            }
            Ok(written)
        })?;
        Ok(ids
            .iter()
            .map(|id| match written.get(id) {
                Some(true) => Stored::New,
                Some(false) => Stored::Updated,
                None => Stored::Unchanged,
            })
            .collect())
    }
}
