//! An rpm header as the database keeps it (a "blob": no lead, no magic): the number of index
//! entries and the length of the data store, both big-endian u32, the entries (tag, type,
//! offset into the data store, count: four big-endian u32 each), then the data store. Only
//! the tags a catalog needs are read.

/// The most index entries and data bytes rpm accepts in a header (`HEADER_TAGS_MAX`,
/// `HEADER_DATA_MAX` in rpm's header.c).
const MAX_ENTRIES: u32 = 0xffff;
const MAX_DATA: u32 = 0x0fff_ffff;

const NAME: u32 = 1000;
const VERSION: u32 = 1001;
const RELEASE: u32 = 1002;
const EPOCH: u32 = 1003;
const LICENSE: u32 = 1014;
const ARCH: u32 = 1022;
const SOURCERPM: u32 = 1044;

/// rpm's data types that hold what is read here.
const INT32: u32 = 4;
const STRING: u32 = 6;
const STRING_ARRAY: u32 = 8;
const I18NSTRING: u32 = 9;

/// What a catalog records of one installed rpm package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub name: String,
    pub epoch: Option<u32>,
    pub version: String,
    pub release: String,
    /// `None` for packages without one (imported signing keys, `gpg-pubkey`).
    pub arch: Option<String>,
    /// The source package it was built from (`openssl-3.0.8-1.ph5.src.rpm`).
    pub source: Option<String>,
    pub license: Option<String>,
}

impl Installed {
    /// `[epoch:]version-release`, as rpm writes an installed package's version.
    pub fn evr(&self) -> String {
        match self.epoch {
            Some(epoch) => format!("{epoch}:{}-{}", self.version, self.release),
            None => format!("{}-{}", self.version, self.release),
        }
    }
}

/// Why a header blob could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("{0} bytes are too few for a header")]
    Short(usize),
    #[error(
        "it claims {entries} entries and {data} bytes of data, more than rpm allows \
         ({MAX_ENTRIES} and {MAX_DATA})"
    )]
    TooLarge { entries: u32, data: u32 },
    #[error("it claims {claimed} bytes but is {held} bytes long")]
    Size { claimed: u64, held: usize },
    #[error("its tag {tag} (of type {kind}) lies outside its data")]
    Outside { tag: u32, kind: u32 },
    #[error("it has no {0}")]
    Missing(&'static str),
    /// rpm allows no space or control character in a name, version or release.
    #[error("its {what} {text:?} holds a space or control character, which rpm does not allow")]
    Illegal { what: &'static str, text: String },
}

/// The fields of `blob` a catalog records.
pub fn read(blob: &[u8]) -> Result<Installed, HeaderError> {
    let word = |at: usize| -> Option<u32> {
        let bytes = blob.get(at..at + 4)?;
        Some(u32::from_be_bytes(bytes.try_into().ok()?))
    };
    let (Some(entries), Some(data)) = (word(0), word(4)) else {
        return Err(HeaderError::Short(blob.len()));
    };
    if entries > MAX_ENTRIES || data > MAX_DATA {
        return Err(HeaderError::TooLarge { entries, data });
    }
    let claimed = 8 + 16 * u64::from(entries) + u64::from(data);
    if claimed != blob.len() as u64 {
        return Err(HeaderError::Size {
            claimed,
            held: blob.len(),
        });
    }
    let store = &blob[8 + 16 * entries as usize..];
    let index: Vec<[u32; 4]> = (0..entries as usize)
        .map(|i| {
            let at = 8 + 16 * i;
            [at, at + 4, at + 8, at + 12].map(|at| word(at).unwrap_or_default())
        })
        .collect();
    let entry = |tag: u32| index.iter().find(|e| e[0] == tag);
    // The first string of a string tag: rpm's strings end with a NUL.
    let string = |tag: u32| -> Result<Option<String>, HeaderError> {
        let Some(&[_, kind, offset, _]) = entry(tag) else {
            return Ok(None);
        };
        let outside = HeaderError::Outside { tag, kind };
        if ![STRING, STRING_ARRAY, I18NSTRING].contains(&kind) {
            return Err(outside);
        }
        let text = store.get(offset as usize..).ok_or(outside.clone())?;
        let end = text.iter().position(|&b| b == 0).ok_or(outside)?;
        Ok(Some(String::from_utf8_lossy(&text[..end]).into_owned()))
    };
    let epoch = entry(EPOCH)
        .map(|&[tag, kind, offset, _]| {
            let bytes = store.get(offset as usize..).and_then(|s| s.get(..4));
            match (kind, bytes.and_then(|b| <[u8; 4]>::try_from(b).ok())) {
                (INT32, Some(bytes)) => Ok(u32::from_be_bytes(bytes)),
                _ => Err(HeaderError::Outside { tag, kind }),
            }
        })
        .transpose()?;
    let required = |tag: u32, what: &'static str| {
        let text = string(tag)?.ok_or(HeaderError::Missing(what))?;
        match text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            true => Err(HeaderError::Illegal { what, text }),
            false => Ok(text),
        }
    };
    Ok(Installed {
        name: required(NAME, "name")?,
        epoch,
        version: required(VERSION, "version")?,
        release: required(RELEASE, "release")?,
        arch: string(ARCH)?,
        source: string(SOURCERPM)?,
        license: string(LICENSE)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header blob holding `tags`, each a tag, a type and its data, for tests.
    fn blob(tags: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut store = Vec::new();
        for (tag, kind, data) in tags {
            for word in [*tag, *kind, store.len() as u32, 1] {
                index.extend(word.to_be_bytes());
            }
            store.extend_from_slice(data);
        }
        let mut blob = (tags.len() as u32).to_be_bytes().to_vec();
        blob.extend((store.len() as u32).to_be_bytes());
        blob.extend(index);
        blob.extend(store);
        blob
    }

    fn openssl() -> Vec<(u32, u32, &'static [u8])> {
        vec![
            (NAME, STRING, b"openssl-libs\0"),
            (VERSION, STRING, b"3.0.8\0"),
            (RELEASE, STRING, b"1.ph5\0"),
            (EPOCH, INT32, &[0, 0, 0, 2]),
            (LICENSE, STRING, b"Apache-2.0\0"),
            (ARCH, STRING, b"noarch\0"),
            (SOURCERPM, STRING, b"openssl-3.0.8-1.ph5.src.rpm\0"),
        ]
    }

    #[test]
    fn reads_what_a_catalog_records() {
        let installed = read(&blob(&openssl())).unwrap();
        assert_eq!(
            installed,
            Installed {
                name: "openssl-libs".into(),
                epoch: Some(2),
                version: "3.0.8".into(),
                release: "1.ph5".into(),
                arch: Some("noarch".into()),
                source: Some("openssl-3.0.8-1.ph5.src.rpm".into()),
                license: Some("Apache-2.0".into()),
            }
        );
        assert_eq!(installed.evr(), "2:3.0.8-1.ph5");
        let mut keyless = openssl();
        keyless.retain(|(tag, _, _)| ![EPOCH, ARCH, SOURCERPM, LICENSE].contains(tag));
        let installed = read(&blob(&keyless)).unwrap();
        assert_eq!((installed.epoch, installed.arch.as_deref()), (None, None));
        assert_eq!(installed.evr(), "3.0.8-1.ph5");
    }

    #[test]
    fn malformed_headers_say_what_is_wrong() {
        let good = blob(&openssl());
        let claims = |entries: u32, data: u32| {
            let mut bytes = good.clone();
            bytes[..4].copy_from_slice(&entries.to_be_bytes());
            bytes[4..8].copy_from_slice(&data.to_be_bytes());
            read(&bytes).unwrap_err().to_string()
        };
        assert_eq!(read(&good[..7]).unwrap_err(), HeaderError::Short(7));
        assert!(claims(7, u32::MAX).contains("more than rpm allows"));
        assert!(claims(0x10000, 10).contains("claims 65536 entries"));
        assert!(claims(7, 1000).contains("claims 1120 bytes but is"));
        assert!(read(&good[..good.len() - 1]).is_err());
        let mut unterminated = openssl();
        unterminated[6].2 = b"openssl.src.rpm";
        assert_eq!(
            read(&blob(&unterminated)).unwrap_err().to_string(),
            "its tag 1044 (of type 6) lies outside its data"
        );
        let mut far = blob(&openssl());
        far[8 + 8..8 + 12].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            read(&far),
            Err(HeaderError::Outside { tag: NAME, .. })
        ));
        // Found by the fuzz target: a release ending in a vertical tab.
        let mut tabbed = openssl();
        tabbed[2].2 = b"1.ph5\x0b\0";
        assert_eq!(
            read(&blob(&tabbed)).unwrap_err().to_string(),
            "its release \"1.ph5\\u{b}\" holds a space or control character, which rpm does not allow"
        );
        let mut short_epoch = openssl();
        short_epoch.swap(3, 6);
        short_epoch[6].2 = &[0, 1];
        assert!(matches!(
            read(&blob(&short_epoch)),
            Err(HeaderError::Outside { tag: EPOCH, .. })
        ));
        let mut nameless = openssl();
        nameless.remove(0);
        assert_eq!(
            read(&blob(&nameless)).unwrap_err(),
            HeaderError::Missing("name")
        );
        let mut numeric_name = openssl();
        numeric_name[0].1 = INT32;
        assert!(read(&blob(&numeric_name)).is_err());
    }
}
