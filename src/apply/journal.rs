//! The run's writer of the state branch. Every channel worker sends its intents and results
//! here; a single thread commits whatever has arrived as ONE commit and pushes it (group
//! commit), then answers each sender. A sender continues only once its entry is durable on the
//! remote, exactly as if it had committed alone, but ten channels publishing at once cost one
//! push per round instead of one each.

use std::thread::JoinHandle;

use tokio::sync::{mpsc, oneshot};

use crate::state::{DeliveryKey, Entry, PushError, Store};

/// This run lost the race for the state branch: what it tried to record does not count.
pub struct Lost;

/// Why a record did not become durable.
pub enum NotRecorded {
    /// Another runner pushed first (nothing of this batch reached the remote).
    Lost(Lost),
    /// Git itself failed (the message names the reason, never a credential).
    Failed(String),
}

enum Request {
    Record {
        key: DeliveryKey,
        entry: Box<Entry>,
        message: String,
        reply: oneshot::Sender<Result<(), NotRecorded>>,
    },
    /// Take the remote's state (after a lost race), so the next record goes on top of it.
    Sync {
        reply: oneshot::Sender<Result<(), String>>,
    },
}

/// An event handed to the writer; `wait` tells whether it became durable.
pub struct Pending(oneshot::Receiver<Result<(), NotRecorded>>);

impl Pending {
    pub async fn wait(self) -> Result<(), NotRecorded> {
        self.0
            .await
            .unwrap_or_else(|_| Err(NotRecorded::Failed("the state writer stopped".into())))
    }
}

#[derive(Clone)]
pub struct Journal {
    tx: mpsc::UnboundedSender<Request>,
}

impl Journal {
    /// Starts the writer thread; it ends when the last `Journal` clone is dropped.
    pub fn start(store: Store) -> (Journal, JoinHandle<()>) {
        let (tx, mut rx) = mpsc::unbounded_channel::<Request>();
        let thread = std::thread::spawn(move || {
            while let Some(first) = rx.blocking_recv() {
                let mut batch = vec![first];
                while let Ok(more) = rx.try_recv() {
                    batch.push(more);
                }
                serve(&store, batch);
            }
        });
        (Journal { tx }, thread)
    }

    /// Records one event; returns once it is committed and (with a remote) pushed.
    pub async fn record(
        &self,
        key: &DeliveryKey,
        entry: Entry,
        message: String,
    ) -> Result<(), NotRecorded> {
        self.submit(key, entry, message).wait().await
    }

    /// Hands one event to the writer and returns at once. Events are committed in the order
    /// they were submitted: one submitted later never lands before this one.
    pub fn submit(&self, key: &DeliveryKey, entry: Entry, message: String) -> Pending {
        let (reply, answer) = oneshot::channel();
        let request = Request::Record {
            key: key.clone(),
            entry: Box::new(entry),
            message,
            reply,
        };
        // If the writer is gone the reply sender is dropped with the request: `wait` says so.
        let _ = self.tx.send(request);
        Pending(answer)
    }

    pub async fn sync(&self) -> Result<(), String> {
        let (reply, answer) = oneshot::channel();
        if self.tx.send(Request::Sync { reply }).is_err() {
            return Err("the state writer stopped".into());
        }
        answer
            .await
            .unwrap_or_else(|_| Err("the state writer stopped".into()))
    }
}

/// Commits every record of the batch at once, then runs the syncs.
fn serve(store: &Store, batch: Vec<Request>) {
    let mut entries = Vec::new();
    let mut messages = Vec::new();
    let mut replies = Vec::new();
    let mut syncs = Vec::new();
    for request in batch {
        match request {
            Request::Record {
                key,
                entry,
                message,
                reply,
            } => {
                entries.push((key, *entry));
                messages.push(message);
                replies.push(reply);
            }
            Request::Sync { reply } => syncs.push(reply),
        }
    }
    if !entries.is_empty() {
        let message = commit_message(&messages);
        let outcome = commit_and_push(store, &entries, &message);
        for reply in replies {
            // A worker that stopped waiting has nothing left to do with the answer.
            let _ = reply.send(match &outcome {
                Ok(()) => Ok(()),
                Err(NotRecorded::Lost(_)) => Err(NotRecorded::Lost(Lost)),
                Err(NotRecorded::Failed(m)) => Err(NotRecorded::Failed(m.clone())),
            });
        }
    }
    for reply in syncs {
        let _ = reply.send(store.sync().map_err(|e| e.to_string()));
    }
}

/// One line per event: the subject lists them while it stays short, the body always does.
fn commit_message(messages: &[String]) -> String {
    match messages {
        [one] => one.clone(),
        many => {
            let joined = many.join("; ");
            let subject = if joined.len() <= 72 {
                joined
            } else {
                format!("{} events: {}; …", many.len(), many[0])
            };
            format!("{subject}\n\n{}", many.join("\n"))
        }
    }
}

fn commit_and_push(
    store: &Store,
    entries: &[(DeliveryKey, Entry)],
    message: &str,
) -> Result<(), NotRecorded> {
    let before = store.revision();
    store
        .append(before.as_deref(), entries, message)
        .map_err(|e| NotRecorded::Failed(e.to_string()))?;
    match store.push() {
        Ok(()) => Ok(()),
        Err(PushError::Rejected) => {
            // Our commit never reached the remote: it does not count. Drop it.
            let _ = store.reset_local(before.as_deref());
            Err(NotRecorded::Lost(Lost))
        }
        Err(PushError::Failed(m)) => {
            let _ = store.reset_local(before.as_deref());
            Err(NotRecorded::Failed(m))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::commit_message;

    #[test]
    fn a_commit_of_several_events_names_each_in_its_body() {
        let one = vec!["intent a@x".to_string()];
        assert_eq!(commit_message(&one), "intent a@x");
        let two = vec!["result a@x".to_string(), "intent b@x".to_string()];
        assert_eq!(
            commit_message(&two),
            "result a@x; intent b@x\n\nresult a@x\nintent b@x"
        );
        let many: Vec<String> = (0..9).map(|n| format!("intent post-{n}@bluesky")).collect();
        let message = commit_message(&many);
        let (subject, body) = message.split_once("\n\n").expect("a body");
        assert_eq!(subject, "9 events: intent post-0@bluesky; …");
        assert_eq!(body.lines().count(), 9);
    }
}
