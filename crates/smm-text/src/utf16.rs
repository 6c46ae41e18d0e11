//! Index bookkeeping between Rust's UTF-8 strings and the UTF-16 code unit
//! indices the JavaScript reference libraries compute with.

/// Number of UTF-16 code units in `s` (JavaScript's `String.length`).
pub fn len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// Maps between UTF-16 indices and UTF-8 byte offsets of one string.
pub(crate) struct Index {
    /// `bytes[i]` is the UTF-8 offset of UTF-16 index `i` (`len + 1` entries);
    /// empty for ASCII text, where both are the same.
    bytes: Vec<usize>,
    /// Length of the string in bytes.
    len: usize,
}

impl Index {
    pub(crate) fn new(s: &str) -> Self {
        if s.is_ascii() {
            return Index {
                bytes: Vec::new(),
                len: s.len(),
            };
        }
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
        Index {
            bytes,
            len: s.len(),
        }
    }

    /// UTF-8 offset of a UTF-16 index (clamped to the end of the string).
    pub(crate) fn byte(&self, utf16: usize) -> usize {
        if self.bytes.is_empty() {
            return utf16.min(self.len);
        }
        match self.bytes.get(utf16) {
            Some(&b) => b,
            None => self.bytes.last().copied().unwrap_or(0),
        }
    }

    /// UTF-16 index of a UTF-8 offset that lies on a char boundary.
    pub(crate) fn utf16(&self, byte: usize) -> usize {
        if self.bytes.is_empty() {
            return byte.min(self.len + 1);
        }
        // `bytes` is sorted; the first entry equal to `byte` is the char start.
        self.bytes.partition_point(|&b| b < byte)
    }
}

/// Converts increasing offsets of one string in a single pass (restarting
/// from the beginning if an offset goes backwards), without a table.
pub(crate) struct Cursor<'a> {
    s: &'a str,
    byte: usize,
    unit: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Cursor {
            s,
            byte: 0,
            unit: 0,
        }
    }

    /// UTF-16 index of a UTF-8 offset on a char boundary (like [`Index::utf16`]).
    pub(crate) fn utf16(&mut self, byte: usize) -> usize {
        let byte = byte.min(self.s.len());
        if byte < self.byte {
            (self.byte, self.unit) = (0, 0);
        }
        self.unit += self.s.get(self.byte..byte).map_or(0, len);
        self.byte = byte;
        self.unit
    }

    /// UTF-8 offset of a UTF-16 index (like [`Index::byte`], including an
    /// index between the halves of a pair mapping to the char start + 3).
    pub(crate) fn byte(&mut self, unit: usize) -> usize {
        if unit < self.unit {
            (self.byte, self.unit) = (0, 0);
        }
        while self.unit < unit {
            let Some(c) = self.s.get(self.byte..).and_then(|r| r.chars().next()) else {
                return self.s.len();
            };
            if self.unit + c.len_utf16() > unit {
                return self.byte + 3;
            }
            self.unit += c.len_utf16();
            self.byte += c.len_utf8();
        }
        self.byte
    }
}
