//! The record of deliveries, kept in git on a branch of its own (default `smm-state`).
//!
//! One small JSON-lines file per delivery (`deliveries/<channel>/<post id>.jsonl`), appended to,
//! never rewritten; every change is one commit, and the branch moves only by compare-and-swap,
//! so two writers can never silently overwrite each other. Content history stays on the content
//! branch; the working tree is never touched.

mod record;
mod store;

pub use record::{DeliveryKey, Entry, Event, Outcome, Record};
pub use store::{
    in_repository, ContentRevision, Freeze, PushError, State, StateError, Store, WorkspaceStatus,
};
