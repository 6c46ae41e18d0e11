//! Platform adapters. Each platform's text rules live in the `smm-text` crate; what a channel
//! must configure to reach the platform lives here.

use smm_text::Platform;

/// The sets of credential roles a channel of this platform may name (any one set suffices),
/// each role mapped to an environment variable name in smm.yaml.
pub fn credential_sets(platform: Platform) -> &'static [&'static [&'static str]] {
    match platform {
        // The account handle is the identifier; the app password is the secret.
        Platform::Bluesky => &[&["password"]],
        Platform::Mastodon | Platform::LinkedIn | Platform::Threads => &[&["token"]],
        // OAuth 2.0 user token, or the four OAuth 1.0a user-context keys.
        Platform::X => &[
            &["token"],
            &[
                "api_key",
                "api_secret",
                "access_token",
                "access_token_secret",
            ],
        ],
        Platform::Discord => &[&["webhook_url"]],
        // A bot token can find a message again after a lost response (message metadata).
        Platform::Slack => &[&["token"], &["webhook_url"]],
        Platform::Telegram => &[&["bot_token"]],
    }
}

/// The roles still missing from the closest credential set, or `None` when one set is complete.
pub fn missing_credentials<'a>(
    platform: Platform,
    named: impl Fn(&str) -> bool + 'a,
) -> Option<Vec<&'static str>> {
    let mut best: Option<Vec<&'static str>> = None;
    for set in credential_sets(platform) {
        let missing: Vec<&'static str> = set.iter().copied().filter(|r| !named(r)).collect();
        if missing.is_empty() {
            return None;
        }
        if best.as_ref().is_none_or(|b| missing.len() < b.len()) {
            best = Some(missing);
        }
    }
    best
}
