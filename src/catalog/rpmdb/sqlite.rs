//! rpm's SQLite `rpmdb.sqlite` (rpm 4.16 and later): the header blobs are the `blob` column of
//! its `Packages` table, by header number `hnum`. Read by SQLite itself (rusqlite, built in),
//! from the bytes in memory: nothing is written, and no file is opened.

use rusqlite::{Connection, MAIN_DB};

use super::{Each, Problem};

/// Why an `rpmdb.sqlite` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SqliteError {
    #[error("it has no Packages table")]
    NoPackages,
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// Hands `each` every header number and header blob of the `rpmdb.sqlite` in `bytes`, in the
/// order of their numbers, stopping at its error.
pub fn read(bytes: &[u8], each: &mut Each<'_>) -> Result<(), Problem> {
    let mut copy = bytes.to_vec();
    // rpm keeps its database in WAL mode (bytes 18 and 19 of the header are 2), which SQLite
    // reads only from a file beside its `-wal`; in memory, as the rollback journal's 1. rpm
    // checkpoints the WAL when it closes the database, so an image holds none.
    if let Some(modes) = copy.get_mut(18..20)
        && modes == [2, 2]
    {
        modes.copy_from_slice(&[1, 1]);
    }
    let mut db = Connection::open_in_memory().map_err(SqliteError::from)?;
    db.deserialize_read_exact(MAIN_DB, copy.as_slice(), copy.len(), true)
        .map_err(SqliteError::from)?;
    // A hostile file could make `Packages` a view over a costly query: only a table is read.
    let kind: Option<String> = db
        .query_row(
            "SELECT type FROM sqlite_schema WHERE name = 'Packages'",
            [],
            |row| row.get(0),
        )
        .map_err(SqliteError::from)
        .or_else(|e| match e {
            SqliteError::Sqlite(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
            e => Err(e),
        })?;
    if kind.as_deref() != Some("table") {
        return Err(SqliteError::NoPackages.into());
    }
    let mut statement = db
        .prepare("SELECT hnum, blob FROM Packages ORDER BY hnum")
        .map_err(SqliteError::from)?;
    let mut rows = statement.query([]).map_err(SqliteError::from)?;
    while let Some(row) = rows.next().map_err(SqliteError::from)? {
        let number: u32 = row.get(0).map_err(SqliteError::from)?;
        let blob: Vec<u8> = row.get(1).map_err(SqliteError::from)?;
        each(number, &blob)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &[u8] = include_bytes!("../../../testdata/rpm/rpmdb.sqlite");

    fn blobs(bytes: &[u8]) -> Result<Vec<(u32, usize)>, Problem> {
        let mut found = Vec::new();
        read(bytes, &mut |number, blob: &[u8]| {
            found.push((number, blob.len()));
            Ok(())
        })?;
        Ok(found)
    }

    #[test]
    fn reads_the_blobs_rpm_wrote() {
        assert_eq!(&FIXTURE[18..20], [2, 2], "rpm wrote it in WAL mode");
        assert_eq!(
            blobs(FIXTURE).unwrap(),
            [(1, 1844), (2, 1832), (3, 1856), (4, 20624), (5, 1564)]
        );
    }

    /// An SQLite database made by `sql`, as bytes.
    fn database(sql: &str) -> Vec<u8> {
        let mut db = Connection::open_in_memory().unwrap();
        db.execute_batch(sql).unwrap();
        db.serialize(MAIN_DB).unwrap().to_vec()
    }

    #[test]
    fn what_is_no_rpm_database_is_refused_with_a_reason() {
        let error = |bytes: &[u8]| blobs(bytes).unwrap_err().to_string();
        assert_eq!(
            error(&database("CREATE TABLE Other (x)")),
            "it has no Packages table"
        );
        assert_eq!(
            error(&database(
                "CREATE TABLE Real (hnum, blob); CREATE VIEW Packages AS SELECT * FROM Real"
            )),
            "it has no Packages table"
        );
        assert!(
            error(&database(
                "CREATE TABLE Packages (hnum, blob); INSERT INTO Packages VALUES (1, 'text')"
            ))
            .contains("Invalid column type")
        );
        assert!(
            error(&FIXTURE[..FIXTURE.len() / 2]).contains("malformed"),
            "{}",
            error(&FIXTURE[..FIXTURE.len() / 2])
        );
        assert!(error(b"not a database at all, but some text").contains("not a database"));
    }
}
