//! rpm's ndb `Packages.db` (SUSE): laid out as rpm's lib/backend/ndb/rpmpkg.c lays it out,
//! everything little-endian. A 32-byte header (`RpmP`, version 0, generation, the number of
//! 4096-byte slot pages, the next package index), then 16-byte slots (`Slot`, package index,
//! block offset, block count; an offset of 0 is a free slot) to the end of the slot pages,
//! then the blobs in 16-byte blocks: a head (`BlbS`, package index, time, length), the header
//! blob, zeros to the block, a tail (adler32, length, `BlbE`). Checked as rpm checks it when it
//! reads (the adler32 is not: rpm reads past it too).

use super::{Each, Problem};

const HEADER_MAGIC: &[u8; 4] = b"RpmP";
const SLOT_MAGIC: &[u8; 4] = b"Slot";
const HEAD_MAGIC: &[u8; 4] = b"BlbS";
const TAIL_MAGIC: &[u8; 4] = b"BlbE";
const PAGE: u64 = 4096;
const BLOCK: u64 = 16;
const HEAD: u64 = 16;
const TAIL: u64 = 12;

/// Why an ndb `Packages.db` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NdbError {
    #[error("it is not an rpm ndb database")]
    NotNdb,
    #[error("its version {0} is not 0, the one rpm writes")]
    Version(u32),
    #[error("it is truncated: its {0} bytes are not whole 16-byte blocks")]
    Blocks(usize),
    #[error("it is truncated: it claims {claimed} slot pages, the file holds {held} bytes")]
    Slots { claimed: u32, held: usize },
    #[error("slot {0} is damaged")]
    Slot(u64),
    #[error("slot {0} points outside the file")]
    Outside(u64),
    #[error("the blobs of packages {0} and {1} overlap")]
    Overlap(u32, u32),
    #[error("the blob of package {0} is damaged")]
    Blob(u32),
}

/// A package's slot: its index, and where its blocks are.
struct Slot {
    index: u32,
    offset: u64,
    count: u64,
}

/// Hands `each` every package index and header blob of the `Packages.db` in `bytes`, in the
/// order of their blobs in the file, stopping at its error.
pub fn read(bytes: &[u8], each: &mut Each<'_>) -> Result<(), Problem> {
    let number = |at: u64| -> u32 {
        let at = at as usize;
        u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or_default())
    };
    if bytes.len() < 32 || &bytes[..4] != HEADER_MAGIC {
        return Err(NdbError::NotNdb.into());
    }
    match number(4) {
        0 => {}
        version => return Err(NdbError::Version(version).into()),
    }
    if !(bytes.len() as u64).is_multiple_of(BLOCK) {
        return Err(NdbError::Blocks(bytes.len()).into());
    }
    let pages = number(12);
    let end = u64::from(pages) * PAGE;
    if pages == 0 || end > bytes.len() as u64 {
        return Err(NdbError::Slots {
            claimed: pages,
            held: bytes.len(),
        }
        .into());
    }
    let blocks = bytes.len() as u64 / BLOCK;
    let mut slots = Vec::new();
    // The header takes the first two slots' room.
    for at in (32..end).step_by(16) {
        let number_of_slot = at / 16;
        if &bytes[at as usize..at as usize + 4] != SLOT_MAGIC {
            return Err(NdbError::Slot(number_of_slot).into());
        }
        let (index, offset, count) = (number(at + 4), number(at + 8), number(at + 12));
        if offset == 0 {
            continue;
        }
        let (offset, count) = (u64::from(offset), u64::from(count));
        if index == 0 || count == 0 || offset < end / BLOCK {
            return Err(NdbError::Slot(number_of_slot).into());
        }
        if offset + count > blocks {
            return Err(NdbError::Outside(number_of_slot).into());
        }
        slots.push(Slot {
            index,
            offset,
            count,
        });
    }
    slots.sort_by_key(|slot| slot.offset);
    for pair in slots.windows(2) {
        if pair[0].offset + pair[0].count > pair[1].offset {
            return Err(NdbError::Overlap(pair[0].index, pair[1].index).into());
        }
    }
    for slot in &slots {
        each(
            slot.index,
            blob(bytes, slot).ok_or(NdbError::Blob(slot.index))?,
        )?;
    }
    Ok(())
}

/// The header blob `slot` points at, if its head and tail are whole and agree with it.
fn blob<'a>(bytes: &'a [u8], slot: &Slot) -> Option<&'a [u8]> {
    let start = (slot.offset * BLOCK) as usize;
    let blocks = bytes.get(start..start + (slot.count * BLOCK) as usize)?;
    let number = |at: usize| u32::from_le_bytes(blocks[at..at + 4].try_into().unwrap_or_default());
    let length = u64::from(number(12));
    let fits = (HEAD + length + TAIL).div_ceil(BLOCK) == slot.count;
    if !fits || &blocks[..4] != HEAD_MAGIC || number(4) != slot.index {
        return None;
    }
    let tail = blocks.len() - TAIL as usize;
    let whole = u64::from(number(tail + 4)) == length && &blocks[tail + 8..] == TAIL_MAGIC;
    whole.then(|| &blocks[HEAD as usize..(HEAD + length) as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &[u8] = include_bytes!("../../../testdata/rpm/Packages.db");

    fn blobs(bytes: &[u8]) -> Result<Vec<(u32, usize)>, Problem> {
        let mut found = Vec::new();
        read(bytes, &mut |index, blob: &[u8]| {
            found.push((index, blob.len()));
            Ok(())
        })?;
        Ok(found)
    }

    fn patched(at: usize, patch: &[u8]) -> Vec<u8> {
        let mut bytes = FIXTURE.to_vec();
        bytes[at..at + patch.len()].copy_from_slice(patch);
        bytes
    }

    /// Where the fixture's first slot is: right after the header.
    const SLOT: usize = 32;

    #[test]
    fn reads_the_headers_of_each_slot() {
        assert_eq!(
            blobs(FIXTURE).unwrap(),
            [(1, 1844), (2, 1832), (3, 1856), (4, 20624), (5, 1564)]
        );
    }

    #[test]
    fn hostile_databases_are_refused_with_a_reason() {
        let error = |bytes: &[u8]| blobs(bytes).unwrap_err().to_string();
        assert_eq!(error(&FIXTURE[..31]), "it is not an rpm ndb database");
        assert_eq!(
            error(b"RpmPRpmPRpmPRpmPRpmPRpmPRpmPRpmP"),
            "its version 1349349458 is not 0, the one rpm writes"
        );
        assert_eq!(
            error(&FIXTURE[..FIXTURE.len() - 1]),
            format!(
                "it is truncated: its {} bytes are not whole 16-byte blocks",
                FIXTURE.len() - 1
            )
        );
        assert_eq!(
            error(&FIXTURE[..FIXTURE.len() - 16]),
            "slot 6 points outside the file"
        );
        assert_eq!(
            error(&patched(12, &u32::MAX.to_le_bytes())),
            format!(
                "it is truncated: it claims 4294967295 slot pages, the file holds {} bytes",
                FIXTURE.len()
            )
        );
        assert_eq!(error(&patched(SLOT, b"Slop")), "slot 2 is damaged");
        // A slot pointing into the slot pages.
        assert_eq!(
            error(&patched(SLOT + 8, &1u32.to_le_bytes())),
            "slot 2 is damaged"
        );
        // Two slots pointing at one blob: the second one's blocks again.
        let second = &FIXTURE[SLOT + 16 + 8..SLOT + 16 + 16];
        assert_eq!(
            error(&patched(SLOT + 8, second)),
            "the blobs of packages 1 and 2 overlap"
        );
        // A blob claiming 4 GB, or one byte more than it holds.
        let first =
            u32::from_le_bytes(FIXTURE[SLOT + 8..SLOT + 12].try_into().unwrap()) as usize * 16;
        assert_eq!(
            error(&patched(first + 12, &u32::MAX.to_le_bytes())),
            "the blob of package 1 is damaged"
        );
        assert_eq!(
            error(&patched(first + 12, &1845u32.to_le_bytes())),
            "the blob of package 1 is damaged"
        );
        assert_eq!(
            error(&patched(first, b"BlbX")),
            "the blob of package 1 is damaged"
        );
        assert_eq!(
            error(&patched(first + 4, &9u32.to_le_bytes())),
            "the blob of package 1 is damaged"
        );
        // A free slot is passed over.
        let free = patched(SLOT + 8, &0u32.to_le_bytes());
        assert_eq!(
            blobs(&free).unwrap(),
            [(2, 1832), (3, 1856), (4, 20624), (5, 1564)]
        );
    }
}
