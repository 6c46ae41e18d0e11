use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use smm::plan::{Reach, Session, Update, Watched};

use crate::cli::{PlanArgs, PlanFormat};
use crate::commands::{exit, invalid_workspace, plan_or_report, workspace_root, CommandError};

pub fn run(dir: Option<&std::path::Path>, args: &PlanArgs) -> Result<u8, CommandError> {
    let root = workspace_root(dir)?;
    let options = smm::plan::Options {
        at: args.at,
        base: args.base.as_deref(),
    };
    if args.watch {
        // Events name files by their real paths (on macOS too).
        let root = root.canonicalize().unwrap_or(root);
        return watch(&root, options);
    }
    let (report, plan) = plan_or_report(&root, &options)?;
    match args.format {
        PlanFormat::Text => smm::plan::render_text_in_pieces(&plan, super::print_all),
        PlanFormat::Json => super::print(&smm::plan::render_json(&plan)),
        PlanFormat::Markdown => super::print(&smm::plan::render_markdown(&plan)),
    }
    if let Some(path) = &args.out {
        std::fs::write(path, smm::plan::render_json(&plan)).map_err(|e| CommandError {
            message: format!("cannot write the plan to {}: {e}", path.display()),
            help: None,
        })?;
        let _ = writeln!(
            anstream::stderr(),
            "Saved the plan to {}. To publish exactly this plan: smm apply {}",
            path.display(),
            path.display()
        );
    }
    let code = if args.detailed_exitcode && plan.has_changes() {
        exit::CHANGES
    } else {
        exit::OK
    };
    super::exiting((report, plan));
    Ok(code)
}

/// How long after a change smm waits for more: an editor's save, or `sed -i`, is a few events
/// within a millisecond or two.
const TOGETHER: Duration = Duration::from_millis(10);

/// `smm plan --watch`: the plan, then after each change what changed in it, until interrupted.
fn watch(root: &Path, options: smm::plan::Options<'_>) -> Result<u8, CommandError> {
    let at_now = options.at.is_none();
    use notify::Watcher as _;
    let cannot_watch = |e: notify::Error| CommandError {
        message: format!("cannot watch {} for changes: {e}", root.display()),
        help: None,
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |event| {
        let _ = tx.send(event);
    })
    .map_err(cannot_watch)?;
    // Watching starts before the workspace is read, so no change in between goes unseen.
    watcher
        .watch(root, notify::RecursiveMode::Recursive)
        .map_err(cannot_watch)?;
    let mut session = Session::start(root, options);
    for git in session.git_dirs() {
        if !git.starts_with(root) {
            watcher
                .watch(git, notify::RecursiveMode::Recursive)
                .map_err(cannot_watch)?;
        }
    }
    match session.outcome() {
        Watched::Planned(plan) => smm::plan::render_text_in_pieces(plan, super::print_all),
        _ => show_refusal(&session),
    }
    let _ = writeln!(
        anstream::stderr(),
        "Watching {} for changes (Ctrl-C to stop).",
        root.display()
    );
    loop {
        // A plan holds until what is due changes, which no file event says.
        let until = match session.outcome() {
            Watched::Planned(plan) if at_now => plan.valid_until,
            _ => None,
        };
        let first = match until {
            Some(t) => match rx.recv_timeout(wait_until(t)) {
                Ok(event) => event,
                Err(RecvTimeoutError::Timeout) => {
                    session.plan_again();
                    show_update(&session, "what is due changed");
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            },
            None => match rx.recv() {
                Ok(event) => event,
                Err(_) => break,
            },
        };
        let mut paths = BTreeSet::new();
        let mut whole = false;
        let mut take = |event: notify::Result<notify::Event>| match event {
            Ok(e) if e.kind.is_access() => {}
            Ok(e) => {
                whole |= e.need_rescan();
                paths.extend(e.paths);
            }
            // Events were lost: only reading everything again is sure.
            Err(_) => whole = true,
        };
        take(first);
        // Until a pause, or for at most a fifth of a second under a stream of writes.
        let since = std::time::Instant::now();
        while since.elapsed() < TOGETHER * 20 {
            let Ok(event) = rx.recv_timeout(TOGETHER) else {
                break;
            };
            take(event);
        }
        if paths.is_empty() && !whole {
            continue;
        }
        let update = match whole {
            true => Update::Restart,
            false => session.update(&paths),
        };
        match update {
            Update::Nothing => continue,
            Update::Restart => session = session.restart(),
            Update::Planned => {}
        }
        show_update(&session, &changed_files(&session, root, &paths));
    }
    Ok(exit::OK)
}

/// How long until `t`, and at least a second (a plan whose window ended already is not planned
/// again in a loop).
fn wait_until(t: jiff::Timestamp) -> Duration {
    let left = t.duration_since(jiff::Timestamp::now());
    Duration::try_from(left)
        .unwrap_or_default()
        .max(Duration::from_secs(1))
}

/// The files an update saw change, as its header names them.
fn changed_files(session: &Session<'_>, root: &Path, paths: &BTreeSet<PathBuf>) -> String {
    // Not an editor's temporary file that came and went.
    let named: Vec<String> = paths
        .iter()
        .filter(|p| match session.reach(p) {
            Reach::Post(_) | Reach::Restart => true,
            Reach::Other(_) => p.exists(),
            Reach::Nothing => false,
        })
        .filter_map(|p| p.strip_prefix(root).ok())
        .filter(|p| !p.starts_with(".git"))
        .map(|p| p.display().to_string())
        .collect();
    match named.as_slice() {
        [] => "the repository changed".to_string(),
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first} and {} more", rest.len()),
    }
}

/// After an update: when and `what` changed, then what changed in the plan and its summary line.
fn show_update(session: &Session<'_>, what: &str) {
    let time = jiff::ZonedDateTime::now().strftime("%H:%M:%S").to_string();
    let dim = anstyle::Style::new().dimmed();
    let mut out = format!("\n{dim}── {time} · {what}{dim:#}\n");
    match session.outcome() {
        Watched::Planned(plan) => {
            let (shown, gone) = session.changes();
            out.push_str(&smm::plan::render_update(plan, &shown, &gone));
            super::print(&out);
        }
        _ => {
            super::print(&out);
            show_refusal(session);
        }
    }
}

/// Why the session has no plan, on stderr as `smm plan` says it.
fn show_refusal(session: &Session<'_>) {
    let error = match session.outcome() {
        Watched::Planned(_) => return,
        Watched::Invalid(report) => invalid_workspace(report, "planned", "save"),
        Watched::Failed(message) => CommandError {
            message,
            help: None,
        },
    };
    error.print();
}
