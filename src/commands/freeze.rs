//! The crisis switch and settling unknown deliveries: small writes to the state branch.

use std::io::Write;

use smm::state::{DeliveryKey, Entry, Event, Freeze, Outcome, Store};

use crate::cli::{FreezeArgs, ResolveArgs};
use crate::commands::{exit, workspace_root, CommandError};

fn open_store(dir: Option<&std::path::Path>) -> Result<Store, CommandError> {
    let root = workspace_root(dir)?;
    let mut sources = smm::source::Sources::default();
    let mut diags = Vec::new();
    // Only the state settings are needed: a freeze must work even when posts have errors.
    let ws = smm::workspace::load(&root, &mut sources, &mut diags);
    let branch = ws
        .settings
        .map_or_else(|| "smm-state".to_string(), |s| s.state_branch);
    let store = Store::open(&root, &branch)
        .map_err(CommandError::plain)?
        .ok_or_else(|| CommandError {
            message: "the workspace is not in a git repository".into(),
            help: Some("the state lives in git: run `git init`".into()),
        })?;
    store.sync().map_err(|e| CommandError {
        message: format!("cannot sync the state: {e}"),
        help: None,
    })?;
    Ok(store)
}

fn who(store: &Store) -> String {
    std::env::var("GITHUB_ACTOR")
        .ok()
        .or_else(|| {
            store
                .repository()
                .config()
                .ok()
                .and_then(|c| c.get_string("user.name").ok())
        })
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".into())
}

fn push(store: &Store, before: Option<&str>) -> Result<(), CommandError> {
    store.push().map_err(|e| {
        let _ = store.reset_local(before);
        CommandError {
            message: match e {
                smm::state::PushError::Rejected => {
                    "the state branch moved on the remote meanwhile; nothing was changed".into()
                }
                smm::state::PushError::Failed(m) => format!("git push failed: {m}"),
            },
            help: Some("run the command again".into()),
        }
    })
}

pub fn freeze(dir: Option<&std::path::Path>, args: &FreezeArgs) -> Result<u8, CommandError> {
    let store = open_store(dir)?;
    let state = store.read().map_err(CommandError::plain)?;
    let f = Freeze {
        reason: args.reason.clone(),
        by: who(&store),
        at: jiff::Timestamp::now(),
    };
    store
        .set_freeze(
            state.revision.as_deref(),
            Some(&f),
            &format!("freeze: {}", args.reason),
        )
        .map_err(CommandError::plain)?;
    push(&store, state.revision.as_deref())?;
    let _ = writeln!(
        anstream::stdout(),
        "Frozen: no apply publishes anything until `smm unfreeze`."
    );
    Ok(exit::OK)
}

pub fn unfreeze(dir: Option<&std::path::Path>) -> Result<u8, CommandError> {
    let store = open_store(dir)?;
    let state = store.read().map_err(CommandError::plain)?;
    if state.freeze.is_none() {
        let _ = writeln!(anstream::stdout(), "Not frozen.");
        return Ok(exit::OK);
    }
    store
        .set_freeze(
            state.revision.as_deref(),
            None,
            &format!("unfreeze by {}", who(&store)),
        )
        .map_err(CommandError::plain)?;
    push(&store, state.revision.as_deref())?;
    let _ = writeln!(
        anstream::stdout(),
        "Unfrozen: the next apply publishes what is due (missed posts stay missed)."
    );
    Ok(exit::OK)
}

pub fn resolve(dir: Option<&std::path::Path>, args: &ResolveArgs) -> Result<u8, CommandError> {
    let key = DeliveryKey::parse(&args.delivery).ok_or_else(|| CommandError {
        message: format!("`{}` is not a delivery", args.delivery),
        help: Some("write it as POST@CHANNEL, e.g. winter-launch@x (`smm status --state unknown` lists them)".into()),
    })?;
    let store = open_store(dir)?;
    let state = store.read().map_err(CommandError::plain)?;
    let outcome = state.records.get(&key).and_then(|r| r.outcome());
    if !matches!(
        outcome,
        Some(Outcome::InFlight { .. } | Outcome::Unknown { .. })
    ) {
        return Err(CommandError {
            message: format!("{key} has nothing to resolve"),
            help: Some(
                "only deliveries in state unknown need it: `smm status --state unknown`".into(),
            ),
        });
    }
    if let Some(url) = &args.published {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(CommandError {
                message: format!("`{url}` is not a link to the post"),
                help: Some("pass the post's URL, starting with https://".into()),
            });
        }
    }
    let event = Event::Resolved {
        published: args.published.is_some(),
        url: args.published.clone(),
    };
    let entry = Entry {
        at: jiff::Timestamp::now(),
        event,
    };
    let message = format!("resolve {key} by {}", who(&store));
    store
        .append(state.revision.as_deref(), &[(key.clone(), entry)], &message)
        .map_err(CommandError::plain)?;
    push(&store, state.revision.as_deref())?;
    let what = if args.published.is_some() {
        "published"
    } else {
        "not published: it is planned again"
    };
    let _ = writeln!(anstream::stdout(), "Resolved {key} as {what}.");
    Ok(exit::OK)
}
