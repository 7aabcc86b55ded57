//! rpm's database of installed packages, in each of its three forms: SQLite `rpmdb.sqlite`
//! (rpm 4.16 and later: Photon 4 and 5, Fedora 33 and later, RHEL 9), BerkeleyDB `Packages`
//! (older RHEL and CentOS, Amazon Linux 2, Photon 3) and ndb `Packages.db` (SUSE). Each holds
//! a header blob per package ([`header`]). Pure: a file's bytes in, its packages out. What an
//! image holds is untrusted: every read is bounded by the file, and a malformed or hostile
//! database (truncated, a blob claiming 4 GB, a loop of pages) gives its reason and no
//! packages, never a partial list.

mod bdb;
pub mod header;
mod ndb;
#[cfg(feature = "adapters")]
mod sqlite;

pub use bdb::BdbError;
pub use header::{HeaderError, Installed};
pub use ndb::NdbError;
#[cfg(feature = "adapters")]
pub use sqlite::SqliteError;

/// Where rpm keeps its database, in the order one is chosen when an image holds several
/// (a newer form is the one rpm migrated to): /var/lib/rpm, and /usr/lib/sysimage/rpm where
/// Fedora and SUSE moved it (often with a link from the first).
pub const PATHS: [&str; 6] = [
    "/var/lib/rpm/rpmdb.sqlite",
    "/usr/lib/sysimage/rpm/rpmdb.sqlite",
    "/var/lib/rpm/Packages.db",
    "/usr/lib/sysimage/rpm/Packages.db",
    "/var/lib/rpm/Packages",
    "/usr/lib/sysimage/rpm/Packages",
];

/// Why rpm's database in an image could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read rpm's database {path}: {problem}")]
pub struct RpmdbError {
    pub path: String,
    pub problem: Problem,
}

/// What is wrong with a database.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    #[error(transparent)]
    Bdb(#[from] BdbError),
    #[error(transparent)]
    Ndb(#[from] NdbError),
    #[cfg(feature = "adapters")]
    #[error(transparent)]
    Sqlite(#[from] SqliteError),
    /// The library without its adapters (the fuzz targets) has no SQLite.
    #[cfg(not(feature = "adapters"))]
    #[error("this build of dispatch reads no SQLite")]
    NoSqlite,
    #[error("its header {number}: {error}")]
    Header { number: u32, error: HeaderError },
}

/// The packages the database at `path` (one of [`PATHS`]) in `bytes` records as installed.
/// Imported signing keys (`gpg-pubkey`), which rpm records as packages, are not software
/// and left out.
pub fn read(path: &str, bytes: &[u8]) -> Result<Vec<Installed>, RpmdbError> {
    let mut installed = Vec::new();
    let mut each = |number: u32, blob: &[u8]| -> Result<(), Problem> {
        let package = header::read(blob).map_err(|error| Problem::Header { number, error })?;
        if package.name != "gpg-pubkey" {
            installed.push(package);
        }
        Ok(())
    };
    let read = if path.ends_with(".sqlite") {
        sqlite(bytes, &mut each)
    } else if path.ends_with(".db") {
        ndb::read(bytes, &mut each)
    } else {
        bdb::read(bytes, &mut each)
    };
    read.map_err(|problem| RpmdbError {
        path: path.to_string(),
        problem,
    })?;
    Ok(installed)
}

/// What a form's reader hands each header number and blob to.
type Each<'a> = dyn FnMut(u32, &[u8]) -> Result<(), Problem> + 'a;

#[cfg(feature = "adapters")]
fn sqlite(bytes: &[u8], each: &mut Each<'_>) -> Result<(), Problem> {
    sqlite::read(bytes, each)
}

#[cfg(not(feature = "adapters"))]
fn sqlite(_: &[u8], _: &mut Each<'_>) -> Result<(), Problem> {
    Err(Problem::NoSqlite)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `rpm -qa` of the fixtures' packages, as testdata/rpm/generate.sh had rpm print it:
    /// name, epoch (0 for none), version, release, arch, source rpm, license.
    const EXPECTED: &str = include_str!("../../../testdata/rpm/expected.txt");

    fn listed(installed: &[Installed]) -> String {
        let mut lines: Vec<String> = installed
            .iter()
            .map(|p| {
                let or_none =
                    |field: &Option<String>| field.clone().unwrap_or_else(|| "(none)".to_string());
                format!(
                    "{} {} {} {} {} {} {}\n",
                    p.name,
                    p.epoch.unwrap_or(0),
                    p.version,
                    p.release,
                    or_none(&p.arch),
                    or_none(&p.source),
                    or_none(&p.license)
                )
            })
            .collect();
        lines.sort();
        lines.concat()
    }

    #[test]
    fn each_form_gives_what_rpm_itself_lists_but_its_signing_keys() {
        let software: String = EXPECTED
            .lines()
            .filter(|line| !line.starts_with("gpg-pubkey "))
            .map(|line| format!("{line}\n"))
            .collect();
        assert_eq!(EXPECTED.lines().count(), 5, "four packages and a key");
        for (path, bytes) in [
            (
                PATHS[0],
                &include_bytes!("../../../testdata/rpm/rpmdb.sqlite")[..],
            ),
            (
                PATHS[3],
                &include_bytes!("../../../testdata/rpm/Packages.db")[..],
            ),
            (
                PATHS[4],
                &include_bytes!("../../../testdata/rpm/Packages")[..],
            ),
        ] {
            assert_eq!(listed(&read(path, bytes).unwrap()), software, "{path}");
        }
    }

    #[test]
    fn a_bad_database_names_its_file_and_what_is_wrong() {
        let error = read(PATHS[1], b"SQLite format 3\0 and nothing else").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("cannot read rpm's database /usr/lib/sysimage/rpm/rpmdb.sqlite: "),
            "{error}"
        );
        let error = read(PATHS[5], &[0; 4096]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot read rpm's database /usr/lib/sysimage/rpm/Packages: it is not a Berkeley DB hash database"
        );
        // A header that does not parse fails the whole database, naming it.
        let mut ndb = include_bytes!("../../../testdata/rpm/Packages.db").to_vec();
        let first = u32::from_le_bytes(ndb[40..44].try_into().unwrap()) as usize * 16;
        ndb[first + 16..first + 20].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            read(PATHS[2], &ndb).unwrap_err().to_string(),
            "cannot read rpm's database /var/lib/rpm/Packages.db: its header 1: it claims \
             4294967295 entries and 860 bytes of data, more than rpm allows (65535 and 268435455)"
        );
    }
}
