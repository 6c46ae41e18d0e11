//! Index bookkeeping between Rust's UTF-8 strings and the UTF-16 code unit
//! indices the JavaScript reference libraries compute with.

/// Number of UTF-16 code units in `s` (JavaScript's `String.length`).
pub fn len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// Maps between UTF-16 indices and UTF-8 byte offsets of one string.
pub(crate) struct Index {
    /// `bytes[i]` is the UTF-8 offset of UTF-16 index `i` (`len + 1` entries).
    bytes: Vec<usize>,
}

impl Index {
    pub(crate) fn new(s: &str) -> Self {
        let mut bytes = Vec::with_capacity(s.len() + 1);
        for (b, c) in s.char_indices() {
            bytes.push(b);
            if c.len_utf16() == 2 {
                // An index between the halves of a pair: JS slices there leave a
                // lone surrogate, which TextEncoder writes as U+FFFD (3 bytes).
                bytes.push(b + 3);
            }
        }
        bytes.push(s.len());
        Index { bytes }
    }

    /// UTF-8 offset of a UTF-16 index (clamped to the end of the string).
    pub(crate) fn byte(&self, utf16: usize) -> usize {
        match self.bytes.get(utf16) {
            Some(&b) => b,
            None => self.bytes.last().copied().unwrap_or(0),
        }
    }

    /// UTF-16 index of a UTF-8 offset that lies on a char boundary.
    pub(crate) fn utf16(&self, byte: usize) -> usize {
        // `bytes` is sorted; the first entry equal to `byte` is the char start.
        self.bytes.partition_point(|&b| b < byte)
    }
}
