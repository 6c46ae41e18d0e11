//! One module per command: glue from arguments to the library, and exit codes.

pub mod apply;
pub mod calendar;
pub mod freeze;
pub mod history;
pub mod init;
pub mod plan;
pub mod preview;
pub mod status;
pub mod validate;

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Stable exit codes (documented in README.md).
pub mod exit {
    pub const OK: u8 = 0;
    pub const ERROR: u8 = 1;
    /// `plan --detailed-exitcode`: apply would publish or delete something now.
    pub const CHANGES: u8 = 2;
    /// apply finished, but some deliveries are unknown, failed or were not sent.
    pub const INCOMPLETE: u8 = 3;
    /// Another apply holds deliveries (or kept moving the state branch first).
    pub const LEASE: u8 = 4;
    /// The saved plan no longer matches the content, the state or the time.
    pub const STALE: u8 = 5;
    /// Publishing is frozen (`smm freeze`).
    pub const FROZEN: u8 = 6;
}

/// Writes a command's output to stdout. Where stdout takes no colours (a file, a pipe,
/// `NO_COLOR`), the styles are cut out by a scan for escape characters: anstream's stripper,
/// byte by byte, took 0.1 s for a 10,000-post plan.
pub fn print(text: &str) {
    print_all(&[text]);
}

/// [`print`] for output made in pieces.
pub fn print_all(chunks: &[impl AsRef<str>]) {
    let stdout = std::io::stdout();
    if anstream::AutoStream::choice(&stdout) == anstream::ColorChoice::Never {
        let mut out = std::io::BufWriter::new(stdout.lock());
        for chunk in chunks {
            let _ = write_without_styles(&mut out, chunk.as_ref());
        }
    } else {
        let mut out = anstream::stdout().lock();
        for chunk in chunks {
            let _ = out.write_all(chunk.as_ref().as_bytes());
        }
    }
}

/// Writes `text` without escape sequences (`ESC [ … final byte`, or ESC and one character),
/// straight to `out` (a copy of a 17 MB plan cost more than writing it).
fn write_without_styles(out: &mut impl std::io::Write, text: &str) -> std::io::Result<()> {
    let mut rest = text;
    while let Some(at) = rest.find('\x1b') {
        out.write_all(&rest.as_bytes()[..at])?;
        let mut after = rest[at + 1..].chars();
        match after.next() {
            // Parameters and intermediates up to the final byte, @ to ~.
            Some('[') => {
                let csi = after.as_str();
                let end = csi
                    .find(|c: char| ('@'..='~').contains(&c))
                    .map_or(csi.len(), |e| e + 1);
                rest = &csi[end..];
            }
            Some(_) => rest = after.as_str(),
            None => rest = "",
        }
    }
    out.write_all(rest.as_bytes())
}

/// Leaves a command's large results to the operating system, which reclaims them at exit at
/// once; freeing a big workspace's posts and deliveries one by one took 5% of `smm validate`.
pub fn exiting<T>(results: T) {
    std::mem::forget(results);
}

/// A command refused because the workspace has errors: prints them (warnings are for `smm
/// validate`) and says what was not done.
/// `not_done`: "planned", "published"; `command`: what to run again ("plan", "apply").
pub fn invalid_workspace(
    report: &smm::validate::Report,
    not_done: &str,
    command: &str,
) -> CommandError {
    let mut err = anstream::stderr();
    for d in report
        .diagnostics
        .iter()
        .filter(|d| d.severity == smm::diagnostic::Severity::Error)
    {
        let _ = writeln!(err, "{}", smm::diagnostic::render(d, &report.sources));
    }
    let n = report.errors();
    CommandError {
        message: format!(
            "the workspace has {n} {}; nothing was {not_done}",
            smm::words::plural(n, "error", "errors")
        ),
        help: Some(format!(
            "fix them (smm validate lists them with warnings too), then {command} again"
        )),
    }
}

/// No post is `wanted` (an id or a file): says so, with the closest id.
pub fn no_such_post(ws: &smm::workspace::Workspace, wanted: &str) -> CommandError {
    let help = match smm::suggest_closest(wanted, ws.posts.iter().map(|p| p.id.as_str())) {
        Some(s) => format!("did you mean `{s}`? (`smm status` lists every post)"),
        None => "`smm status` lists every post with its id".into(),
    };
    CommandError {
        message: format!("no post with id or file `{wanted}`"),
        help: Some(help),
    }
}

/// Plans the workspace; an invalid workspace prints its diagnostics and stops the command.
pub fn plan_or_report(
    root: &Path,
    options: &smm::plan::Options<'_>,
) -> Result<(smm::validate::Report, smm::plan::Plan), CommandError> {
    match smm::plan::plan_workspace(root, options) {
        Ok(r) => Ok(r),
        Err(smm::plan::PlanError::Invalid(report)) => {
            Err(invalid_workspace(&report, "planned", "plan"))
        }
        Err(smm::plan::PlanError::State(e)) => Err(CommandError {
            message: format!("cannot read the state: {e}"),
            help: None,
        }),
        Err(smm::plan::PlanError::Base(e)) => Err(CommandError {
            message: e,
            help: Some("pass an existing commit or branch with --base".into()),
        }),
    }
}

/// Writes a file the user asked for, with the path in the error.
pub fn write_file(path: &Path, contents: &str) -> Result<(), CommandError> {
    std::fs::write(path, contents).map_err(|e| CommandError {
        message: format!("cannot write {}: {e}", path.display()),
        help: None,
    })
}

/// An error that stops a command before it can report normally.
#[derive(Debug)]
pub struct CommandError {
    pub message: String,
    pub help: Option<String>,
}

impl CommandError {
    /// On stderr: `error: message`, and the help under it.
    pub fn print(&self) {
        let red = anstyle::AnsiColor::Red.on_default().bold();
        let mut err = anstream::stderr();
        let _ = writeln!(err, "{red}error{red:#}: {}", self.message);
        if let Some(help) = &self.help {
            let bold = anstyle::Style::new().bold();
            let _ = writeln!(err, "  {bold}help{bold:#}: {help}");
        }
    }
}

impl CommandError {
    /// An error whose own words say it all (state and git errors name what failed).
    pub fn plain(e: impl std::fmt::Display) -> CommandError {
        CommandError {
            message: e.to_string(),
            help: None,
        }
    }
}

/// The workspace root: `-C DIR` or the current folder, or the nearest parent with smm.yaml.
pub fn workspace_root(dir: Option<&Path>) -> Result<PathBuf, CommandError> {
    let start = match dir {
        Some(d) => d.to_path_buf(),
        None => std::env::current_dir().map_err(|e| CommandError {
            message: format!("cannot read the current folder: {e}"),
            help: None,
        })?,
    };
    if !start.is_dir() {
        return Err(CommandError {
            message: format!("{} is not a folder", start.display()),
            help: None,
        });
    }
    smm::workspace::find_root(&start).ok_or_else(|| CommandError {
        message: format!(
            "no {} in {} or any parent folder",
            smm::workspace::SETTINGS_FILE,
            start.display()
        ),
        help: Some("run smm inside a workspace, pass -C DIR, or create one with `smm init`".into()),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn styles_are_left_out_as_anstream_leaves_them_out() {
        use anstyle::{AnsiColor, Style};
        let bold = Style::new().bold();
        let red = AnsiColor::Red.on_default().bold();
        let text = format!(
            "{bold}smm plan{bold:#} · x\n  {red}!{red:#} reply 1 {}(301/300){:#}\nplain ☕ ünïcode\n\u{1b}",
            Style::new().dimmed(),
            Style::new().dimmed()
        );
        let without = |text: &str| {
            let mut out = Vec::new();
            super::write_without_styles(&mut out, text).expect("write");
            String::from_utf8(out).expect("utf-8")
        };
        assert_eq!(
            without(&text),
            anstream::adapter::strip_str(&text).to_string()
        );
        assert_eq!(without("no styles"), "no styles");
    }
}
