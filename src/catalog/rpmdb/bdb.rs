//! rpm's BerkeleyDB `Packages`: a Berkeley DB hash database whose keys are header numbers
//! (four bytes, in the database's byte order) and whose values are header blobs. Read as rpm's
//! own read-only reader (lib/backend/bdb_ro.c) reads it: the meta page, then each bucket's
//! chain of hash pages, each value on its page or on a chain of overflow pages. Every page is
//! read at most once, so a chain that loops or a value that borrows another's pages is refused
//! rather than followed.

use super::{Each, Problem};

/// Berkeley DB's hash magic number, as written in the database's byte order.
const HASH_MAGIC: u32 = 0x0006_1561;
/// The page header every page starts with: lsn, pgno, prev and next pgno, entries, hf_offset,
/// level, type.
const PAGE_HEADER: usize = 26;
/// Page types.
const HASH_UNSORTED: u8 = 2;
const OVERFLOW: u8 = 7;
const HASH_META: u8 = 8;
const HASH: u8 = 13;
/// Item types on a hash page.
const KEYDATA: u8 = 1;
const OFFPAGE: u8 = 3;

/// Why a BerkeleyDB `Packages` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BdbError {
    #[error("it is not a Berkeley DB hash database")]
    NotHash,
    #[error("its hash version {0} is not one rpm reads (8 to 10)")]
    Version(u32),
    #[error("its page size {0} is not a Berkeley DB page size")]
    PageSize(u32),
    #[error("it is truncated: it has {pages} pages of {size} bytes, the file {held} bytes")]
    Truncated { pages: u64, size: u32, held: usize },
    #[error("its bucket {0} lies past its last page")]
    Bucket(u32),
    #[error("page {0} is not one of its pages")]
    NoPage(u32),
    #[error("page {0} is reached twice (a loop of pages, or pages shared)")]
    Loop(u32),
    #[error("page {page} is of type {found}, where a {expected} page belongs")]
    PageType {
        page: u32,
        found: u8,
        expected: &'static str,
    },
    #[error("page {0} has an item outside it")]
    Item(u32),
    #[error("page {page} has an item of type {kind}, which rpm never writes")]
    ItemType { page: u32, kind: u8 },
    #[error("a value claims {claimed} bytes, more than the whole file")]
    Claims { claimed: u32 },
    #[error(
        "the overflow pages from page {first} do not hold the {claimed} bytes their value claims"
    )]
    Overflow { first: u32, claimed: u32 },
    #[error("a key of {0} bytes is no header number")]
    Key(usize),
}

/// The database in `bytes`, read once.
struct Db<'a> {
    bytes: &'a [u8],
    /// Whether it was written in the other byte order (the magic reads swapped).
    swapped: bool,
    page_size: usize,
    last: u32,
    /// Which pages were read already.
    seen: Vec<bool>,
}

/// Hands `each` every header number and header blob of the `Packages` database in `bytes`
/// but the record rpm keeps at number 0 (the last number it gave), stopping at its error.
pub fn read(bytes: &[u8], each: &mut Each<'_>) -> Result<(), Problem> {
    let meta = bytes.get(..512).ok_or(BdbError::NotHash)?;
    let swapped = match u32::from_le_bytes(word(meta, 12)) {
        HASH_MAGIC => false,
        magic if magic.swap_bytes() == HASH_MAGIC => true,
        _ => return Err(BdbError::NotHash.into()),
    };
    let meta_number = |at: usize| number(swapped, word(meta, at));
    if meta[25] != HASH_META {
        return Err(BdbError::NotHash.into());
    }
    let version = meta_number(16);
    if !(8..=10).contains(&version) {
        return Err(BdbError::Version(version).into());
    }
    let page_size = meta_number(20);
    if !page_size.is_power_of_two() || !(512..=65536).contains(&page_size) {
        return Err(BdbError::PageSize(page_size).into());
    }
    let last = meta_number(32);
    let pages = u64::from(last) + 1;
    if pages * u64::from(page_size) > bytes.len() as u64 {
        return Err(BdbError::Truncated {
            pages,
            size: page_size,
            held: bytes.len(),
        }
        .into());
    }
    let max_bucket = meta_number(72);
    let spares: Vec<u32> = (0..32).map(|i| meta_number(96 + 4 * i)).collect();
    let mut db = Db {
        bytes,
        swapped,
        page_size: page_size as usize,
        last,
        seen: vec![false; pages as usize],
    };
    if max_bucket > last {
        return Err(BdbError::Bucket(max_bucket).into());
    }
    for bucket in 0..=max_bucket {
        // A bucket's page: its number past the spare pages of its doubling.
        let doubling = (u32::BITS - bucket.leading_zeros()) as usize;
        let mut page = spares
            .get(doubling)
            .and_then(|spare| bucket.checked_add(*spare))
            .ok_or(BdbError::Bucket(bucket))?;
        while page != 0 {
            let at = db.page(page, &[HASH, HASH_UNSORTED], "hash")?;
            for (key, value) in db.items(page, at)? {
                let key = db.value(key)?;
                let key: [u8; 4] = key
                    .as_slice()
                    .try_into()
                    .map_err(|_| BdbError::Key(key.len()))?;
                let header = number(db.swapped, key);
                if header != 0 {
                    each(header, &db.value(value)?)?;
                }
            }
            page = db.number(at + 16);
        }
    }
    Ok(())
}

fn word(bytes: &[u8], at: usize) -> [u8; 4] {
    bytes
        .get(at..at + 4)
        .and_then(|w| w.try_into().ok())
        .unwrap_or_default()
}

fn number(swapped: bool, word: [u8; 4]) -> u32 {
    if swapped {
        u32::from_be_bytes(word)
    } else {
        u32::from_le_bytes(word)
    }
}

/// An item of a hash page: the page, and where the item starts and ends on it.
#[derive(Clone, Copy)]
struct Item {
    page: u32,
    start: usize,
    end: usize,
}

impl Db<'_> {
    fn number(&self, at: usize) -> u32 {
        number(self.swapped, word(self.bytes, at))
    }

    fn short(&self, at: usize) -> usize {
        let pair = [self.bytes[at], self.bytes[at + 1]];
        usize::from(if self.swapped {
            u16::from_be_bytes(pair)
        } else {
            u16::from_le_bytes(pair)
        })
    }

    /// Where page `page` starts, once it is known to be one of `kinds` and never read before.
    fn page(&mut self, page: u32, kinds: &[u8], expected: &'static str) -> Result<usize, BdbError> {
        if page == 0 || page > self.last {
            return Err(BdbError::NoPage(page));
        }
        if std::mem::replace(&mut self.seen[page as usize], true) {
            return Err(BdbError::Loop(page));
        }
        let at = page as usize * self.page_size;
        let found = self.bytes[at + 25];
        if !kinds.contains(&found) || self.number(at + 8) != page {
            return Err(BdbError::PageType {
                page,
                found,
                expected,
            });
        }
        Ok(at)
    }

    /// The key and value items of the hash page `page` starting at `at`. An item runs from its
    /// offset to the previous item's (the first to the page's end).
    fn items(&self, page: u32, at: usize) -> Result<Vec<(Item, Item)>, BdbError> {
        let entries = self.short(at + 20);
        let first = PAGE_HEADER + 2 * entries;
        if first > self.page_size {
            return Err(BdbError::Item(page));
        }
        let offsets: Vec<usize> = (0..entries)
            .map(|i| self.short(at + PAGE_HEADER + 2 * i))
            .collect();
        let item = |i: usize| {
            let start = offsets[i];
            let end = if i == 0 {
                self.page_size
            } else {
                offsets[i - 1]
            };
            (first <= start && start < end && end <= self.page_size)
                .then_some(Item {
                    page,
                    start: at + start,
                    end: at + end,
                })
                .ok_or(BdbError::Item(page))
        };
        (0..entries / 2)
            .map(|pair| Ok((item(2 * pair)?, item(2 * pair + 1)?)))
            .collect()
    }

    /// The bytes an item holds: on its page, or on its chain of overflow pages.
    fn value(&mut self, item: Item) -> Result<Vec<u8>, BdbError> {
        let Item { page, start, end } = item;
        match self.bytes[start] {
            KEYDATA => Ok(self.bytes[start + 1..end].to_vec()),
            OFFPAGE if end - start == 12 => {
                let claimed = self.number(start + 8);
                if claimed as usize > self.bytes.len() {
                    return Err(BdbError::Claims { claimed });
                }
                let first = self.number(start + 4);
                let mut value = Vec::with_capacity(claimed as usize);
                let mut next = first;
                while value.len() < claimed as usize {
                    if next == 0 {
                        return Err(BdbError::Overflow { first, claimed });
                    }
                    let at = self.page(next, &[OVERFLOW], "overflow")?;
                    let held = self.short(at + 22);
                    if held == 0 || PAGE_HEADER + held > self.page_size {
                        return Err(BdbError::Item(next));
                    }
                    if value.len() + held > claimed as usize {
                        return Err(BdbError::Overflow { first, claimed });
                    }
                    value.extend_from_slice(&self.bytes[at + PAGE_HEADER..at + PAGE_HEADER + held]);
                    next = self.number(at + 16);
                }
                Ok(value)
            }
            OFFPAGE => Err(BdbError::Item(page)),
            kind => Err(BdbError::ItemType { page, kind }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &[u8] = include_bytes!("../../../testdata/rpm/Packages");

    fn numbers(bytes: &[u8]) -> Result<Vec<(u32, usize)>, Problem> {
        let mut found = Vec::new();
        read(bytes, &mut |number, blob: &[u8]| {
            found.push((number, blob.len()));
            Ok(())
        })?;
        found.sort();
        Ok(found)
    }

    /// The fixture with `patch` applied at byte `at`.
    fn patched(at: usize, patch: &[u8]) -> Vec<u8> {
        let mut bytes = FIXTURE.to_vec();
        bytes[at..at + patch.len()].copy_from_slice(patch);
        bytes
    }

    /// Where the fixture's pages lie: 8192 bytes each, the meta page first.
    const PAGE: usize = 8192;

    #[test]
    fn reads_the_headers_berkeley_db_wrote() {
        // The header sizes rpm stored in rpmdb.sqlite: three on their bucket's page, bash's
        // on overflow pages.
        assert_eq!(
            numbers(FIXTURE).unwrap(),
            [(1, 1844), (2, 1832), (3, 1856), (4, 20624), (5, 1564)]
        );
    }

    /// The fixture as a big-endian machine's Berkeley DB would have written it: every number
    /// of the meta page and of each page header, the offsets of hash pages' items, overflow
    /// items' page and length, and the keys (header numbers, native order) byte-swapped; the
    /// headers themselves are big-endian anyway.
    fn big_endian() -> Vec<u8> {
        let mut bytes = FIXTURE.to_vec();
        let swap = |bytes: &mut [u8], at: usize, len: usize| bytes[at..at + len].reverse();
        // The bytes at 24 are single bytes (type, flags, encryption): not a number.
        for at in (8..224).step_by(4).filter(|at| *at != 24) {
            swap(&mut bytes, at, 4);
        }
        for page in (PAGE..bytes.len()).step_by(PAGE) {
            let short = |b: &[u8], at: usize| usize::from(u16::from_le_bytes([b[at], b[at + 1]]));
            let (kind, entries) = (bytes[page + 25], short(&bytes, page + 20));
            for at in [8, 12, 16] {
                swap(&mut bytes, page + at, 4);
            }
            if kind == HASH || kind == HASH_UNSORTED {
                for i in 0..entries {
                    let item = page + short(&bytes, page + PAGE_HEADER + 2 * i);
                    match bytes[item] {
                        OFFPAGE => {
                            swap(&mut bytes, item + 4, 4);
                            swap(&mut bytes, item + 8, 4);
                        }
                        KEYDATA if i % 2 == 0 => swap(&mut bytes, item + 1, 4),
                        _ => {}
                    }
                    swap(&mut bytes, page + PAGE_HEADER + 2 * i, 2);
                }
            }
            swap(&mut bytes, page + 20, 2);
            swap(&mut bytes, page + 22, 2);
        }
        bytes
    }

    #[test]
    fn a_big_endian_database_reads_the_same() {
        let bytes = big_endian();
        assert_eq!(u32::from_be_bytes(word(&bytes, 12)), HASH_MAGIC);
        assert_eq!(numbers(&bytes).unwrap(), numbers(FIXTURE).unwrap());
        // Read in the wrong byte order, its pages are not where its numbers say.
        let mut mixed = bytes[..PAGE].to_vec();
        mixed.extend_from_slice(&FIXTURE[PAGE..]);
        assert!(numbers(&mixed).is_err());
    }

    #[test]
    fn hostile_databases_are_refused_with_a_reason() {
        let error = |bytes: &[u8]| numbers(bytes).unwrap_err().to_string();
        assert_eq!(
            error(&FIXTURE[..100]),
            "it is not a Berkeley DB hash database"
        );
        assert_eq!(error(&[0; 600]), "it is not a Berkeley DB hash database");
        assert_eq!(
            error(&FIXTURE[..FIXTURE.len() - 1]),
            "it is truncated: it has 6 pages of 8192 bytes, the file 49151 bytes"
        );
        assert_eq!(
            error(&patched(16, &7u32.to_le_bytes())),
            "its hash version 7 is not one rpm reads (8 to 10)"
        );
        assert_eq!(
            error(&patched(20, &1000u32.to_le_bytes())),
            "its page size 1000 is not a Berkeley DB page size"
        );
        assert_eq!(
            error(&patched(32, &u32::MAX.to_le_bytes())),
            "it is truncated: it has 4294967296 pages of 8192 bytes, the file 49152 bytes"
        );
        assert_eq!(
            error(&patched(72, &100u32.to_le_bytes())),
            "its bucket 100 lies past its last page"
        );
        // Bucket 0's page pointing back at itself: a loop.
        let bucket = PAGE;
        let looped = patched(bucket + 16, &1u32.to_le_bytes());
        assert_eq!(
            error(&looped),
            "page 1 is reached twice (a loop of pages, or pages shared)"
        );
        assert_eq!(
            error(&patched(bucket + 25, &[OVERFLOW])),
            "page 1 is of type 7, where a hash page belongs"
        );
        assert_eq!(
            error(&patched(bucket + 20, &4000u16.to_le_bytes())),
            "page 1 has an item outside it"
        );
    }

    #[test]
    fn hostile_values_are_refused_with_a_reason() {
        let error = |bytes: &[u8]| numbers(bytes).unwrap_err().to_string();
        let (bucket, value) = offpage();
        // A value claiming 4 GB.
        assert_eq!(
            error(&patched(bucket + value + 8, &u32::MAX.to_le_bytes())),
            "a value claims 4294967295 bytes, more than the whole file"
        );
        // Claiming more than its pages hold.
        assert_eq!(
            error(&patched(bucket + value + 8, &30000u32.to_le_bytes())),
            format!(
                "the overflow pages from page {} do not hold the 30000 bytes their value claims",
                first(bucket + value)
            )
        );
        // Claiming less.
        assert_eq!(
            error(&patched(bucket + value + 8, &100u32.to_le_bytes())),
            format!(
                "the overflow pages from page {} do not hold the 100 bytes their value claims",
                first(bucket + value)
            )
        );
        // An overflow page whose next is itself.
        let page = first(bucket + value);
        assert_eq!(
            error(&patched(page as usize * PAGE + 16, &page.to_le_bytes())),
            format!("page {page} is reached twice (a loop of pages, or pages shared)")
        );
        // A chain past the last page, or none at all.
        assert_eq!(
            error(&patched(bucket + value + 4, &99u32.to_le_bytes())),
            "page 99 is not one of its pages"
        );
        assert_eq!(
            error(&patched(bucket + value + 4, &0u32.to_le_bytes())),
            "the overflow pages from page 0 do not hold the 20624 bytes their value claims"
        );
        assert_eq!(
            error(&patched(bucket + value, &[2])),
            format!(
                "page {} has an item of type 2, which rpm never writes",
                bucket / PAGE
            )
        );
    }

    /// The offset of the fixture's bucket page holding bash's overflow item, and the item's
    /// offset on that page.
    fn offpage() -> (usize, usize) {
        for bucket in [PAGE, 2 * PAGE] {
            let entries = usize::from(u16::from_le_bytes([
                FIXTURE[bucket + 20],
                FIXTURE[bucket + 21],
            ]));
            for i in 0..entries {
                let at = bucket + PAGE_HEADER + 2 * i;
                let offset = usize::from(u16::from_le_bytes([FIXTURE[at], FIXTURE[at + 1]]));
                if FIXTURE[bucket + offset] == OFFPAGE {
                    return (bucket, offset);
                }
            }
        }
        panic!("the fixture has an overflow item");
    }

    fn first(item: usize) -> u32 {
        u32::from_le_bytes(word(FIXTURE, item + 4))
    }
}
