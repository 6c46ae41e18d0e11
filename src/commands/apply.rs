use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use smm::apply::{ApplyError, DeliveryResult, Progress};
use smm::state::DeliveryKey;

use crate::cli::ApplyArgs;
use crate::commands::{exit, invalid_workspace, workspace_root, CommandError};

/// One line per delivery with a running count, readable in CI logs; on a terminal, a progress
/// bar under those lines as well.
struct Lines {
    total: AtomicUsize,
    done: AtomicUsize,
    /// Channels report from several threads: one writer at a time keeps the bar intact.
    terminal: Option<Mutex<()>>,
}

impl Lines {
    fn new() -> Lines {
        let tty = std::io::stderr().is_terminal();
        Lines {
            total: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            terminal: tty.then(|| Mutex::new(())),
        }
    }

    /// `[########------------] 8/20`, drawn over the current line.
    fn bar(done: usize, total: usize) -> String {
        const WIDTH: usize = 24;
        let filled = (done * WIDTH).checked_div(total).unwrap_or(WIDTH);
        format!(
            "\r\x1b[2K[{}{}] {done}/{total}",
            "#".repeat(filled),
            "-".repeat(WIDTH - filled)
        )
    }

    /// Clears the bar's line, before a result line or the summary.
    fn finish(&self) {
        if self.terminal.is_some() {
            // Cursor control, not colour: written past anstream, which strips escapes for NO_COLOR.
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}

impl Progress for Lines {
    fn start(&self, total: usize) {
        self.total.store(total, Ordering::SeqCst);
        let mut err = anstream::stderr();
        let _ = writeln!(
            err,
            "Publishing {total} {}.",
            smm::words::plural(total, "delivery", "deliveries")
        );
        if self.terminal.is_some() {
            let _ = write!(std::io::stderr(), "{}", Lines::bar(0, total));
        }
    }

    fn done(&self, key: &DeliveryKey, outcome: &DeliveryResult) {
        let _guard = self
            .terminal
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(|p| p.into_inner()));
        let n = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        let total = self.total.load(Ordering::SeqCst).max(n);
        self.finish();
        let _ = writeln!(
            anstream::stderr(),
            "[{n}/{total}] {}",
            describe(key, outcome)
        );
        if self.terminal.is_some() {
            let _ = write!(std::io::stderr(), "{}", Lines::bar(n, total));
        }
    }
}

fn describe(key: &DeliveryKey, outcome: &DeliveryResult) -> String {
    let green = anstyle::AnsiColor::Green.on_default();
    let yellow = anstyle::AnsiColor::Yellow.on_default();
    let red = anstyle::AnsiColor::Red.on_default();
    match outcome {
        DeliveryResult::Published { url } => format!(
            "{green}published{green:#} {key} {}",
            url.as_deref().unwrap_or("")
        ),
        DeliveryResult::Recovered { url } => format!(
            "{green}found{green:#} {key} {} (published by an interrupted run)",
            url.as_deref().unwrap_or("")
        ),
        DeliveryResult::Rejected(r) => format!("{red}rejected{red:#} {key}: {r}"),
        DeliveryResult::Unknown(r) => format!(
            "{yellow}unknown{yellow:#} {key}: {r}; run `smm resolve {key}` once you have checked"
        ),
        DeliveryResult::NotSent(r) => format!("{yellow}not sent{yellow:#} {key}: {r}"),
        DeliveryResult::Held => {
            format!("{yellow}skipped{yellow:#} {key}: another apply is publishing it")
        }
    }
}

pub fn run(dir: Option<&std::path::Path>, args: &ApplyArgs) -> Result<u8, CommandError> {
    let root = workspace_root(dir)?;
    let options = smm::apply::ApplyOptions {
        at: args.at,
        plan_file: args.plan.clone(),
        any_branch: args.any_branch,
        max_wait: Duration::from_secs(60),
    };
    let progress = Arc::new(Lines::new());
    let mut err = anstream::stderr();
    let result = smm::apply::apply(&root, &options, progress.clone());
    progress.finish();
    match result {
        Ok(report) => {
            let published = report
                .results
                .values()
                .filter(|o| {
                    matches!(
                        o,
                        DeliveryResult::Published { .. } | DeliveryResult::Recovered { .. }
                    )
                })
                .count();
            let _ = writeln!(
                err,
                "\nApply: {published} published, {} not done, {} need attention.",
                report.results.len() - published,
                report.attention.len()
            );
            for (key, reason) in &report.attention {
                let _ = writeln!(err, "  ! {key}: {reason}");
            }
            Ok(if report.incomplete() {
                exit::INCOMPLETE
            } else if report.held() {
                exit::LEASE
            } else {
                exit::OK
            })
        }
        Err(ApplyError::Invalid(report)) => Err(invalid_workspace(&report, "published", "apply")),
        Err(ApplyError::Frozen { reason, by, at }) => {
            let _ = writeln!(err, "Publishing is frozen since {at} by {by}: {reason}\nNothing was published. `smm unfreeze` lifts it.");
            Ok(exit::FROZEN)
        }
        Err(ApplyError::Stale(why)) => {
            let _ = writeln!(err, "The saved plan is stale: {why}.\nNothing was published. Make a new plan with `smm plan --out FILE`.");
            Ok(exit::STALE)
        }
        Err(ApplyError::Lease) => {
            let _ = writeln!(err, "Another apply kept updating the state first; this run stopped. Run again when it is done.");
            Ok(exit::LEASE)
        }
        Err(ApplyError::WrongBranch { branch, publish }) => Err(CommandError {
            message: format!(
                "apply publishes from `{publish}`, but HEAD is {}",
                branch
                    .map(|b| format!("`{b}`"))
                    .unwrap_or_else(|| "detached".into())
            ),
            help: Some(format!(
                "check out `{publish}` (merged content is what was approved), or pass --any-branch"
            )),
        }),
        Err(ApplyError::NotInGit) => Err(CommandError {
            message:
                "apply records every delivery in git, but the workspace is not in a git repository"
                    .into(),
            help: Some("run `git init` and commit the workspace".into()),
        }),
        Err(ApplyError::State(m) | ApplyError::Plan(m)) => Err(CommandError {
            message: m,
            help: None,
        }),
    }
}
