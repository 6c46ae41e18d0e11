//! Driving one real adapter from a test: a channel pointed at a local server, a delivery, and
//! `publish` / `find` run to completion. Shared by the fake-server tests (tests/adapters.rs) and
//! the contract tests against Prism (tests/contract.rs).

#![allow(dead_code)]

use serde_json::json;
use smm::platforms::{
    adapter_for, http_client, Lookup, Outgoing, OutgoingPart, Posted, PublishError,
};
use smm::state::DeliveryKey;
use smm::workspace::Channel;

/// A channel whose credentials name fresh environment variables holding `secrets`. `name` must
/// be unique across the test binary: the variables are named after it.
pub fn channel(
    name: &str,
    platform: &str,
    account: &str,
    base: &str,
    secrets: &[(&str, &str)],
) -> Channel {
    let mut credentials = serde_json::Map::new();
    for (role, value) in secrets {
        // Unique per test and role: tests run in parallel threads of one process.
        let variable = format!(
            "SMM_ADAPTER_TEST_{}_{}",
            name.to_uppercase(),
            role.to_uppercase()
        );
        std::env::set_var(&variable, value);
        credentials.insert(role.to_string(), json!(variable));
    }
    let mut c: Channel = serde_json::from_value(json!({
        "platform": platform,
        "account": account,
        "base_url": base,
        "credentials": credentials,
    }))
    .expect("channel");
    c.name = name.to_string();
    c
}

/// A delivery of post `launch` to `channel` with one text-only part per entry of `parts`.
pub fn outgoing(channel: &str, parts: &[&str]) -> Outgoing {
    Outgoing {
        key: DeliveryKey::new("launch", channel),
        content_hash: "hash1".into(),
        publish_at: "2026-12-03T08:00:00Z".parse().expect("time"),
        parts: parts.iter().copied().map(OutgoingPart::text).collect(),
        link: None,
    }
}

pub fn publish(c: &Channel, d: &Outgoing) -> Result<Posted, PublishError> {
    let http = http_client().expect("http client");
    let adapter = adapter_for(c, &http).expect("adapter");
    runtime().block_on(adapter.publish(d))
}

pub fn find(c: &Channel, d: &Outgoing) -> Result<Lookup, PublishError> {
    let http = http_client().expect("http client");
    let adapter = adapter_for(c, &http).expect("adapter");
    runtime().block_on(adapter.find(d))
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}
