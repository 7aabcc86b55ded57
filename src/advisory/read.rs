//! Reading OSV records from bytes: a JSON or YAML file (a record, or a list of them), or the
//! entries of osv.dev's per-ecosystem `all.zip`. Pure: the bytes and the archive's reader come
//! from the caller, and every bound is checked here — what an advisory file holds is untrusted.

use std::io::{Read, Seek};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_saphyr::{Budget, Options};

use crate::model::advisory::Advisory;

/// How much is read, at most: a file or archive larger than its bound is refused before it is
/// read; an archive's entries are checked as they are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A JSON or YAML file.
    pub file: u64,
    /// A zip archive (the file itself).
    pub archive: u64,
    /// Entries in an archive.
    pub entries: usize,
    /// One entry, uncompressed.
    pub entry: u64,
    /// All of an archive's entries, uncompressed.
    pub total: u64,
    /// How many times its compressed size an entry may be, uncompressed: more is a zip bomb.
    pub ratio: u64,
}

/// osv.dev's largest `all.zip` (Debian's, npm's) is some tens of megabytes holding a few
/// hundred thousand records of a few kilobytes each.
pub const LIMITS: Limits = Limits {
    file: 64 << 20,
    archive: 512 << 20,
    entries: 1_000_000,
    entry: 16 << 20,
    total: 2 << 30,
    ratio: 200,
};

/// What cannot be read, naming the file (an archive's entry as `ARCHIVE:ENTRY`) and, when the
/// record's id could be read, the record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {detail}", .record.as_ref().map(|id| format!(": record {id}")).unwrap_or_default())]
pub struct ReadError {
    pub file: String,
    pub record: Option<String>,
    pub detail: String,
}

impl ReadError {
    pub fn new(file: &str, record: Option<&str>, detail: impl Into<String>) -> ReadError {
        ReadError {
            file: file.to_string(),
            record: record.map(str::to_string),
            detail: detail.into(),
        }
    }
}

/// How a file is written, by its name: `.json`, or `.yaml`/`.yml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

impl Format {
    /// The format a file of this name holds; `None` for a name that is neither.
    pub fn of(name: &str) -> Option<Format> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".json") {
            Some(Format::Json)
        } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Some(Format::Yaml)
        } else {
            None
        }
    }
}

/// Whether a file of this name is a zip archive.
pub fn is_archive(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".zip")
}

/// The records in `bytes`, a file named `file` in `format`: one record, or a list of them.
/// A record that does not parse is named by its id where that can be read.
pub fn records(file: &str, format: Format, bytes: &[u8]) -> Result<Vec<Advisory>, ReadError> {
    if bytes.len() as u64 > LIMITS.file {
        return Err(ReadError::new(file, None, too_large(LIMITS.file)));
    }
    match format {
        Format::Json => json(file, bytes),
        Format::Yaml => yaml(file, bytes),
    }
}

fn too_large(limit: u64) -> String {
    format!("larger than {} MiB, more than advisories take", limit >> 20)
}

/// Only the id of a record, to name it when the rest does not parse.
#[derive(Deserialize)]
struct Head {
    #[serde(default)]
    id: Option<String>,
}

fn json(file: &str, bytes: &[u8]) -> Result<Vec<Advisory>, ReadError> {
    let list = bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'[');
    let syntax = |e: serde_json::Error| ReadError::new(file, None, format!("not OSV JSON: {e}"));
    let raw: Vec<&RawValue> = if list {
        serde_json::from_slice(bytes).map_err(syntax)?
    } else {
        vec![serde_json::from_slice(bytes).map_err(syntax)?]
    };
    raw.into_iter()
        .map(|raw| {
            serde_json::from_str(raw.get()).map_err(|e| {
                let head = serde_json::from_str::<Head>(raw.get()).ok();
                named(file, head.and_then(|h| h.id), e.to_string())
            })
        })
        .collect()
}

fn yaml(file: &str, bytes: &[u8]) -> Result<Vec<Advisory>, ReadError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ReadError::new(file, None, "not OSV YAML: not UTF-8 text"))?;
    // A list starts with `- ` on its first line of content.
    let list = text
        .lines()
        .map(str::trim_end)
        .find(|l| !l.is_empty() && !l.starts_with('#') && *l != "---")
        .is_some_and(|l| l == "-" || l.starts_with("- "));
    let parsed = if list {
        parse_yaml::<Vec<Advisory>>(text)
    } else {
        parse_yaml::<Advisory>(text).map(|record| vec![record])
    };
    parsed.map_err(|e| {
        // A single record is named by its id; in a list the position says which.
        let id = (!list).then(|| parse_yaml::<Head>(text).ok()?.id).flatten();
        let detail = e.to_string();
        let first = detail.lines().next().unwrap_or_default().to_string();
        named(file, id, first)
    })
}

fn parse_yaml<T: DeserializeOwned>(text: &str) -> Result<T, serde_saphyr::Error> {
    let mut budget = Budget::default();
    budget.max_depth = 32;
    budget.flow_nesting_limit = 32;
    budget.max_nodes = 2_000_000;
    budget.max_aliases = 1_000;
    let mut options = Options::default();
    options.budget = Some(budget);
    options.strict_booleans = true;
    serde_saphyr::from_str_with_options(text, options)
}

fn named(file: &str, id: Option<String>, detail: String) -> ReadError {
    ReadError {
        file: file.to_string(),
        record: id,
        detail: format!("not an OSV record: {detail}"),
    }
}

/// The OSV files (`.json`, `.yaml`) of a zip archive named `file`, as `(ENTRY, bytes)`, read
/// within `limits`: too many entries, an entry too large or compressed too well (a zip bomb),
/// or too much in all, and nothing is returned.
pub fn archive<R: Read + Seek>(
    file: &str,
    reader: R,
    limits: &Limits,
) -> Result<Vec<(String, Vec<u8>)>, ReadError> {
    let refuse = |detail: String| ReadError::new(file, None, detail);
    let mut zip =
        zip::ZipArchive::new(reader).map_err(|e| refuse(format!("not a zip archive: {e}")))?;
    if zip.len() > limits.entries {
        return Err(refuse(format!(
            "holds {} entries, more than the {} an advisory archive may",
            zip.len(),
            limits.entries
        )));
    }
    let mut files = Vec::new();
    let mut total = 0u64;
    for i in 0..zip.len() {
        let entry = zip
            .by_index(i)
            .map_err(|e| refuse(format!("entry {i}: {e}")))?;
        let name = entry.name().map(|n| n.to_string()).unwrap_or_default();
        let at = |detail: String| ReadError::new(&format!("{file}:{name}"), None, detail);
        if entry.is_dir() || Format::of(&name).is_none() {
            continue;
        }
        let (size, packed) = (entry.size(), entry.compressed_size().max(1));
        if size > limits.entry {
            return Err(at(too_large(limits.entry)));
        }
        if size / packed > limits.ratio {
            return Err(at(format!(
                "expands {}-fold, more than the {}-fold compressed JSON does: a zip bomb?",
                size / packed,
                limits.ratio
            )));
        }
        // The sizes the archive declares may lie: what is read is bounded as well.
        let mut bytes = Vec::with_capacity(size as usize);
        entry
            .take(limits.entry + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| at(format!("cannot be read: {e}")))?;
        total += bytes.len() as u64;
        if bytes.len() as u64 > limits.entry || bytes.len() as u64 > size {
            return Err(at("is larger than the archive says".into()));
        }
        if total > limits.total {
            return Err(refuse(too_large(limits.total)));
        }
        files.push((name, bytes));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use super::*;

    const RECORD: &str = r#"{"id": "GHSA-1", "modified": "2024-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "npm", "name": "lodash"},
          "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}]}]}"#;

    #[test]
    fn json_and_yaml_hold_one_record_or_a_list() {
        let one = records("a.json", Format::Json, RECORD.as_bytes()).unwrap();
        assert_eq!(one[0].id, "GHSA-1");
        let list = format!("[{RECORD}, {}]", RECORD.replace("GHSA-1", "GHSA-2"));
        let two = records("b.json", Format::Json, list.as_bytes()).unwrap();
        assert_eq!(two.len(), 2);
        let yaml = "# a comment\nid: PYSEC-1\nmodified: 2024-01-01T00:00:00Z\naffected:\n- package: {ecosystem: PyPI, name: x}\n  versions: [1.0, 1.10]\n";
        let from_yaml = records("c.yaml", Format::Yaml, yaml.as_bytes()).unwrap();
        assert_eq!(
            from_yaml[0].affected[0].versions,
            ["1.0", "1.10"],
            "versions as written"
        );
        let yaml_list = format!(
            "- {}",
            yaml.replace('\n', "\n  ").replace("# a comment\n  ", "")
        );
        assert_eq!(
            records("d.yml", Format::Yaml, yaml_list.as_bytes())
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn what_is_no_osv_names_the_file_and_the_record() {
        let error = |name: &str, text: &str| {
            let format = Format::of(name).unwrap();
            records(name, format, text.as_bytes())
                .unwrap_err()
                .to_string()
        };
        let bad_event = RECORD.replace("\"fixed\"", "\"fixd\"");
        let message = error("a.json", &bad_event);
        assert!(
            message.starts_with("a.json: record GHSA-1: not an OSV record: unknown variant `fixd`"),
            "{message}"
        );
        let message = error(
            "b.json",
            &format!("[{RECORD}, {}]", bad_event.replace("GHSA-1", "GHSA-2")),
        );
        assert!(message.starts_with("b.json: record GHSA-2:"), "{message}");
        assert!(error("c.json", "{").starts_with("c.json: not OSV JSON"));
        assert!(error("d.json", "{\"id\": 1}").starts_with("d.json: not an OSV record"));
        let message = error(
            "e.yaml",
            "id: X-1\nmodified: 2024-01-01T00:00:00Z\naffected: 3\n",
        );
        assert!(
            message.starts_with("e.yaml: record X-1: not an OSV record"),
            "{message}"
        );
        let deep = format!("id: X-1\nmodified: {}{}", "[".repeat(100), "]".repeat(100));
        let message = error("f.yaml", &deep);
        assert!(
            message.starts_with("f.yaml: not an OSV record:"),
            "{message}"
        );
    }

    fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            out.start_file(*name, options).unwrap();
            out.write_all(bytes).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    #[test]
    fn an_archive_is_read_within_its_limits() {
        let bytes = zip(&[
            ("GHSA-1.json", RECORD.as_bytes()),
            ("README", b"not a record"),
        ]);
        let files = archive("all.zip", Cursor::new(&bytes), &LIMITS).unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].0, "GHSA-1.json");
        let refused = |limits: Limits, bytes: &[u8]| {
            archive("all.zip", Cursor::new(bytes), &limits)
                .unwrap_err()
                .to_string()
        };
        let bomb = zip(&[("bomb.json", &vec![b' '; 10 << 20])]);
        assert!(
            refused(LIMITS, &bomb).contains("all.zip:bomb.json: expands"),
            "a zip bomb"
        );
        let few = Limits {
            entries: 1,
            ..LIMITS
        };
        let two = zip(&[("a.json", b"{}"), ("b.json", b"{}")]);
        assert!(refused(few, &two).starts_with("all.zip: holds 2 entries"));
        let small = Limits {
            entry: 10,
            ..LIMITS
        };
        assert!(refused(small, &bytes).contains("GHSA-1.json: larger than"));
        let little = Limits {
            total: 10,
            entry: 1000,
            ..LIMITS
        };
        assert!(refused(little, &bytes).starts_with("all.zip: larger than"));
        assert!(refused(LIMITS, b"PK not really").starts_with("all.zip: not a zip archive"));
    }
}
