//! Telegram Bot API: message text is limited to 4096 and captions to 1024
//! UTF-16 code units, counted after entity parsing (so with `parse_mode` the
//! markup itself does not count; smm sends plain text with entities).

pub const MESSAGE_LIMIT: usize = 4096;
pub const CAPTION_LIMIT: usize = 1024;

/// Length in UTF-16 code units, the unit Telegram counts text and entity offsets in.
pub fn utf16_len(text: &str) -> usize {
    crate::utf16::len(text)
}
