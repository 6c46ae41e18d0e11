//! Small pieces of the English users read.

/// `one` for exactly one, else `many`: `plural(n, "delivery", "deliveries")`.
pub fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}
