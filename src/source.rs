//! Source files as loaded from the workspace, and byte spans into them.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A byte range into one source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start,
            end: end.max(start),
        }
    }
}

/// Identifies a file in [`Sources`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub(crate) usize);

/// One file's text, with its path relative to the workspace root (as users see it).
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    /// The text: read with the file, or on first use for a file the post cache knew unchanged
    /// (only a diagnostic about it needs its text then).
    text: OnceLock<String>,
    /// Where to read the text from when it was not read with the file.
    unread: Option<PathBuf>,
    /// What the bytes are (for the post cache and for comparing with git): computed from the
    /// text on first use, or known from the post cache.
    content: OnceLock<ContentId>,
    /// Where each line starts; computed when a diagnostic first needs a line number.
    line_starts: OnceLock<Vec<usize>>,
}

/// The identity of a file's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContentId {
    pub sha256: [u8; 32],
    /// The id git gives the bytes as a file (SHA-1 of a header and the bytes).
    pub git_blob: [u8; 20],
}

impl ContentId {
    pub fn of(text: &str) -> ContentId {
        use sha1::Digest as _;
        let mut git = sha1::Sha1::new();
        git.update(format!("blob {}\0", text.len()));
        git.update(text);
        ContentId {
            sha256: sha2::Sha256::digest(text).into(),
            git_blob: git.finalize().into(),
        }
    }
}

impl SourceFile {
    pub fn new(path: PathBuf, text: String) -> SourceFile {
        SourceFile {
            path,
            text: OnceLock::from(text),
            unread: None,
            content: OnceLock::new(),
            line_starts: OnceLock::new(),
        }
    }

    /// A file known to hold the bytes `content` identifies, read from `from` only if its text
    /// is needed.
    pub fn unread(path: PathBuf, from: PathBuf, content: ContentId) -> SourceFile {
        SourceFile {
            path,
            text: OnceLock::new(),
            unread: Some(from),
            content: OnceLock::from(content),
            line_starts: OnceLock::new(),
        }
    }

    pub fn text(&self) -> &str {
        self.text.get_or_init(|| {
            // The cache vouched for these bytes a moment ago; a file changed or removed since
            // then only costs the positions of this run's diagnostics about it.
            let bytes = self.unread.as_ref().and_then(|p| std::fs::read(p).ok());
            String::from_utf8_lossy(&bytes.unwrap_or_default()).into_owned()
        })
    }

    pub fn content(&self) -> &ContentId {
        self.content.get_or_init(|| ContentId::of(self.text()))
    }

    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text().match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        })
    }

    /// The span widened to character boundaries and kept inside the text.
    pub fn clamp(&self, span: Span) -> Span {
        let fix = |mut i: usize| {
            i = i.min(self.text().len());
            while !self.text().is_char_boundary(i) {
                i += 1;
            }
            i
        };
        Span::new(fix(span.start), fix(span.end))
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text().len());
        let line = self.line_starts().partition_point(|&s| s <= offset).max(1) - 1;
        let start = self.line_starts()[line];
        let col = self
            .text()
            .get(start..offset)
            .map_or(0, |s| s.chars().count());
        (line + 1, col + 1)
    }

    /// Byte range of a 1-based line, without its line break.
    pub fn line_span(&self, line: usize) -> Span {
        let starts = self.line_starts();
        let idx = line.saturating_sub(1).min(starts.len() - 1);
        let start = starts[idx];
        let end = starts.get(idx + 1).map_or(self.text().len(), |&e| e - 1);
        let end = if self.text()[start..end].ends_with('\r') {
            end - 1
        } else {
            end
        };
        Span::new(start, end)
    }

    /// Byte offset of a 1-based line and 1-based character column.
    pub fn offset_of(&self, line: usize, col: usize) -> usize {
        let span = self.line_span(line);
        let text = &self.text()[span.start..span.end];
        span.start
            + text
                .char_indices()
                .nth(col.saturating_sub(1))
                .map_or(text.len(), |(i, _)| i)
    }
}

/// Every file read during a run, so diagnostics can quote them.
#[derive(Debug, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    pub fn add(&mut self, file: SourceFile) -> FileId {
        self.files.push(file);
        FileId(self.files.len() - 1)
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0]
    }

    pub fn path(&self, id: FileId) -> &Path {
        &self.files[id.0].path
    }

    /// How many files were added.
    pub fn count(&self) -> usize {
        self.files.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_not_bytes() {
        let f = SourceFile::new("a.yaml".into(), "ab\nxé: 1\n".into());
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (2, 1));
        // 'é' is two bytes; ':' is the third character of line 2.
        assert_eq!(f.line_col(6), (2, 3));
        assert_eq!(f.offset_of(2, 3), 6);
        assert_eq!(f.line_span(2), Span::new(3, 9));
    }
}
