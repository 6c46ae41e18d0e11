//! Contract tests: the real adapters against Stoplight Prism serving each platform's official
//! API description (tests/contract/specs; where they come from, what was trimmed and the few
//! local patches: tests/contract/specs/PROVENANCE.md).
//!
//! Prism answers 2xx only to a request the spec allows, so every publish and lookup below must
//! succeed; and Prism's log must hold no request violation, which also catches calls whose
//! failure an adapter deliberately absorbs (X's lookup turns most errors into "cannot tell",
//! Slack's permalink is optional). The answers are Prism's mocks, made from the specs' examples
//! and schemas: they prove the adapters can read what the spec allows, not what a live account
//! holds, so the lookups' results follow from those examples (see each test).
//!
//! Not covered: Discord's `GET` of the webhook (not in the trimmed spec; answered by a proxy
//! below), Slack's `conversations.replies` (in the spec, but only called after a lookup found a
//! thread's first part, which the example history never holds), Slack incoming webhooks (not
//! part of the Web API spec), X with OAuth 1.0a (see the X test). Telegram and Bluesky have no
//! OpenAPI document (Bluesky is tested against a real PDS instead). Slack media uploads and X
//! videos are not implemented (refused before sending).

use std::path::PathBuf;

use serde_json::json;
use smm::platforms::{Lookup, OutgoingMedia, PublishError};

use crate::support::adapter::{channel, find, outgoing, publish};
use crate::support::fault_proxy::FaultProxy;
use crate::support::prism::{contract_dir, Prism};
use crate::support::repo_root;

fn spec(name: &str) -> PathBuf {
    contract_dir().join("specs").join(format!("{name}.json"))
}

/// Fails with Prism's complete log when it saw any request the spec does not allow, or did not
/// see every call in `expected` (`"post /2/tweets"`, in order of first appearance, a prefix
/// match on the path).
fn assert_contract_kept(prism: &Prism, expected: &[&str]) {
    let violations = prism.violations();
    assert!(
        violations.is_empty(),
        "\n{} request(s) broke the spec:\n{}\n\nPrism's log:\n{}",
        violations.len(),
        violations.join("\n"),
        prism.request_log()
    );
    let seen = prism.requests();
    for call in expected {
        assert!(
            seen.iter().any(|s| s.starts_with(call)),
            "Prism never saw `{call}`; it saw {seen:#?}"
        );
    }
}

/// The test image, with alt text.
fn image() -> OutgoingMedia {
    OutgoingMedia {
        path: repo_root().join("tests/fixtures/base/media/cup.png"),
        alt: "A cup of coffee on a wooden table".into(),
    }
}

fn ok<T: std::fmt::Debug>(what: &str, result: Result<T, PublishError>, prism: &Prism) -> T {
    result.unwrap_or_else(|e| panic!("{what}: {e:?}\n\nPrism's log:\n{}", prism.request_log()))
}

#[test]
fn contract_x_posts_threads_and_looks_up_within_the_spec() {
    let prism = Prism::start(&spec("x"));
    let c = channel(
        "contract_x",
        "x",
        "@northwind",
        &prism.url,
        &[("token", "test-user-token")],
    );
    let posted = ok(
        "text post",
        publish(&c, &outgoing("contract_x", &["Hello from smm"])),
        &prism,
    );
    assert!(!posted.remote_id.is_empty());
    let mut thread = outgoing("contract_x", &["First", "Second", "Third"]);
    thread.parts[0].media.push(image());
    ok("thread with an image", publish(&c, &thread), &prism);
    // X's lookup turns an unexpected answer into CannotTell, so the result alone proves little:
    // the log check below and the page count do. The spec's example timeline always has a
    // `next_token`, so the lookup reads its three pages and cannot rule the post out.
    let lookup = ok(
        "find",
        find(&c, &outgoing("contract_x", &["Hello from smm"])),
        &prism,
    );
    assert_eq!(lookup, Lookup::CannotTell);
    let pages = prism
        .requests()
        .iter()
        .filter(|r| *r == "get /2/users/2244994945/tweets")
        .count();
    assert_eq!(pages, 3, "every page was read: none failed");
    // Only the OAuth 2.0 user token is checked: Prism 5.14.2 has no handler for the spec's
    // `UserToken` scheme (`http`/`OAuth`, i.e. OAuth 1.0a), so it refuses every OAuth 1.0a
    // request with 401. The bodies and queries are the same in both modes.
    assert_contract_kept(
        &prism,
        &[
            "post /2/media/upload",
            "post /2/media/metadata",
            "post /2/tweets",
            "get /2/users/me",
            "get /2/users/2244994945/tweets",
        ],
    );
    let posts = prism
        .requests()
        .iter()
        .filter(|r| *r == "post /2/tweets")
        .count();
    assert_eq!(posts, 4, "one post, then a thread of three");
}

#[test]
fn contract_mastodon_posts_threads_media_and_looks_up_within_the_spec() {
    let prism = Prism::start(&spec("mastodon"));
    let c = channel(
        "contract_mastodon",
        "mastodon",
        "@northwind@mastodon.example",
        &prism.url,
        &[("token", "test-token")],
    );
    ok(
        "text post",
        publish(&c, &outgoing("contract_mastodon", &["Hello from smm"])),
        &prism,
    );
    ok(
        "thread",
        publish(&c, &outgoing("contract_mastodon", &["First", "Second"])),
        &prism,
    );
    let mut with_image = outgoing("contract_mastodon", &["With a picture"]);
    with_image.parts[0].media.push(image());
    ok("text and image", publish(&c, &with_image), &prism);
    let lookup = ok(
        "find",
        find(&c, &outgoing("contract_mastodon", &["Hello from smm"])),
        &prism,
    );
    // The example statuses are older than the delivery: none can be it.
    assert_eq!(lookup, Lookup::NotFound);
    assert_contract_kept(
        &prism,
        &[
            "post /api/v1/statuses",
            "post /api/v2/media",
            "get /api/v1/accounts/verify_credentials",
            "get /api/v1/accounts/",
        ],
    );
}

#[test]
fn contract_discord_posts_threads_and_media_within_the_spec() {
    let prism = Prism::start(&spec("discord"));
    // The adapter first reads the webhook (`GET`, for the guild in message links); the trimmed
    // spec has only execute-webhook, so the proxy answers that read as Discord documents it and
    // forwards everything else to Prism unchanged.
    let proxy = FaultProxy::start(&prism.url);
    proxy.set_faults(json!([{
        "method": "GET",
        "action": "answer",
        "json": { "type": 1, "id": "223704706495545344", "name": "smm",
                  "channel_id": "199737254929760256", "guild_id": "197038439483310086",
                  "token": "webhook-token" },
    }]));
    let url = format!("{}/webhooks/223704706495545344/webhook-token", proxy.url);
    let c = channel(
        "contract_discord",
        "discord",
        "#news",
        "",
        &[("webhook_url", &url)],
    );
    ok(
        "text post",
        publish(&c, &outgoing("contract_discord", &["Hello from smm"])),
        &prism,
    );
    ok(
        "thread",
        publish(&c, &outgoing("contract_discord", &["First", "Second"])),
        &prism,
    );
    let mut with_image = outgoing("contract_discord", &["With a picture"]);
    with_image.parts[0].media.push(image());
    ok("text and image", publish(&c, &with_image), &prism);
    assert_contract_kept(&prism, &["post /webhooks/223704706495545344/webhook-token"]);
    assert_eq!(prism.requests().len(), 4, "{:#?}", prism.requests());
}

#[test]
fn contract_slack_bot_posts_threads_and_looks_up_within_the_spec() {
    let prism = Prism::start(&spec("slack"));
    let c = channel(
        "contract_slack",
        "slack",
        "C0123ABCDEF",
        &prism.url,
        &[("token", "xoxb-test-token")],
    );
    let posted = ok(
        "text post",
        publish(&c, &outgoing("contract_slack", &["Hello from smm"])),
        &prism,
    );
    // The message link comes from chat.getPermalink (the spec's example answer).
    assert_eq!(
        posted.url.as_deref(),
        Some("https://ghostbusters.slack.com/archives/C1H9RESGA/p135854651500008")
    );
    ok(
        "thread",
        publish(&c, &outgoing("contract_slack", &["First", "Second"])),
        &prism,
    );
    // The spec's example history always has a `next_cursor`: three pages, nothing proven absent.
    let lookup = ok(
        "find",
        find(&c, &outgoing("contract_slack", &["Hello from smm"])),
        &prism,
    );
    assert_eq!(lookup, Lookup::CannotTell);
    assert_contract_kept(&prism, &[]);
    let seen = prism.requests();
    let count = |call: &str| seen.iter().filter(|s| *s == call).count();
    assert_eq!(count("post /api/chat.postMessage"), 3, "{seen:#?}");
    assert_eq!(count("get /api/chat.getPermalink"), 2, "{seen:#?}");
    assert_eq!(count("get /api/conversations.history"), 3, "{seen:#?}");
}

/// The detector can fail: a request the spec forbids (a webhook id that is not a snowflake) is
/// refused by Prism and shows up in its log.
#[test]
fn contract_a_request_breaking_the_spec_is_caught() {
    let prism = Prism::start(&spec("discord"));
    let proxy = FaultProxy::start(&prism.url);
    proxy.set_faults(json!([{
        "method": "GET", "action": "answer",
        "json": { "type": 1, "id": "1", "channel_id": "2", "token": "t" },
    }]));
    let url = format!("{}/webhooks/not-a-snowflake/webhook-token", proxy.url);
    let c = channel(
        "contract_negative",
        "discord",
        "#news",
        "",
        &[("webhook_url", &url)],
    );
    let result = publish(&c, &outgoing("contract_negative", &["Hello"]));
    assert!(
        matches!(&result, Err(PublishError::Rejected(m)) if m.contains("422")),
        "{result:?}"
    );
    let violations = prism.violations();
    assert!(
        violations
            .iter()
            .any(|l| l.contains("Violation: request.path") && l.contains("webhook_id")),
        "{violations:#?}\n\nPrism's log:\n{}",
        prism.request_log()
    );
}
