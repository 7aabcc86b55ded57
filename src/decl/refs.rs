//! `@file` references and the text of the files they name, read through the [`Source`].

use std::path::Path;

use super::{Loader, MAX_FILE_BYTES, Problem};
use crate::model::diag::{Pos, did_you_mean};
use crate::source::{Located, ReadError, Source};

impl Loader<'_> {
    /// Resolves `@path` (relative to the folder of `file`) and `@@literal`.
    pub(super) fn resolve_text(&mut self, file: &Path, pos: Pos, text: String) -> Option<String> {
        if let Some(literal) = text.strip_prefix("@@") {
            return Some(format!("@{literal}"));
        }
        let Some(reference) = text.strip_prefix('@') else {
            return Some(text);
        };
        let located = self.locate(file, reference);
        if located.outside && !self.options.allow_outside_refs {
            // A symlink is the one way a plain-looking name leads outside; say so.
            self.error(
                file,
                pos,
                format!(
                    "`@{reference}` points outside the declarations directory{}",
                    if located.symlink {
                        " (it is a symlink)"
                    } else {
                        ""
                    }
                ),
            )
            .set_hint(
                "keep manifests next to the YAML that names them, or pass --allow-outside-refs",
            );
            return None;
        }
        let target = located.path;
        if !self.manifests.contains_key(&target) {
            let read =
                read_text(self.source, &target).map_err(|(_, message, hint)| (message, hint));
            self.manifests.insert(target.clone(), read);
        }
        let loaded = self.manifests[&target].clone();
        match loaded {
            Ok(content) => Some(content),
            Err((message, hint)) => {
                let hint = hint
                    .or_else(|| close_reference(self.source, &target, reference))
                    .unwrap_or_else(|| {
                        "the path is relative to the folder of this YAML file; write `@@text` for a literal `@`".into()
                    });
                self.error(
                    file,
                    pos,
                    format!(
                        "cannot read `@{reference}` ({}): {message}",
                        target.display()
                    ),
                )
                .set_hint(hint);
                None
            }
        }
    }
}

impl Loader<'_> {
    /// Where `reference` in `file` leads, asked of the source once per folder: locating takes
    /// a few system calls, and thousands of documents in a folder name the same few files.
    fn locate(&mut self, file: &Path, reference: &str) -> Located {
        let folder = file.parent().unwrap_or(Path::new(""));
        if let Some(located) = self
            .located
            .get(folder)
            .and_then(|refs| refs.get(reference))
        {
            return located.clone();
        }
        let located = self.source.locate(file, reference);
        self.located
            .entry(folder.to_path_buf())
            .or_default()
            .insert(reference.to_string(), located.clone());
        located
    }
}

/// "did you mean `@requirements.txt`?" when a file beside `target` has a name close to its own.
fn close_reference(source: &dyn Source, target: &Path, reference: &str) -> Option<String> {
    let name = target.file_name()?.to_str()?;
    let neighbours = source.neighbours(target);
    let close = did_you_mean(name, neighbours.iter().map(String::as_str))?;
    let folder = reference
        .rsplit_once('/')
        .map(|(folder, _)| format!("{folder}/"));
    Some(format!(
        "did you mean `@{}{close}`?",
        folder.unwrap_or_default()
    ))
}

/// Reads a UTF-8 text file of bounded size, saying where it is not UTF-8.
pub(super) fn read_text(source: &dyn Source, path: &Path) -> Result<String, Problem> {
    let bytes = source.read(path, MAX_FILE_BYTES).map_err(|e| {
        let hint = match e {
            ReadError::TooLarge { .. } => Some("split large declarations into several files"),
            ReadError::NotRegular(_) => Some("only regular files are read: name a file there"),
            ReadError::Io(_) => None,
        }
        .map(str::to_string);
        (Pos::FILE, e.to_string(), hint)
    })?;
    String::from_utf8(bytes).map_err(|err| {
        let valid = &err.as_bytes()[..err.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let col = String::from_utf8_lossy(&valid[line_start..])
            .chars()
            .count()
            + 1;
        (
            Pos::new(line as u64, col as u64),
            "file is not valid UTF-8".to_string(),
            Some("save the file as UTF-8".to_string()),
        )
    })
}
