//! Command-line definitions (clap). No behaviour here: see `commands/`.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "smm",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("SMM_GIT_COMMIT"), ")"),
    about = "Social media content as code: validate, plan and publish a content calendar kept in git",
    long_about = "smm reads a workspace (smm.yaml, campaigns/, posts/, templates/, media/), checks every post \
                  against each platform's rules and the brand's policy, and shows what will be published where and when.",
    after_help = "Examples:\n  smm validate                 check the workspace in this folder (or a parent)\n  smm -C example-calendar validate --format json\n\nUnchanged posts come from a cache in the git directory (.git/smm/); SMM_NO_CACHE=1 turns it off.\nDocumentation: docs/format.md (files), docs/diagnostics.md (error codes)."
)]
pub struct Cli {
    /// Run as if smm was started in DIR (like `git -C`)
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a workspace that validates and plans at once, with its CI workflow
    #[command(
        after_help = "Examples:\n  smm init my-brand-social\n  smm init              # in the current folder"
    )]
    Init(InitArgs),

    /// Check every file: YAML, schemas, references, times, templates, platform limits, policy
    #[command(
        after_help = "Exit status: 0 no errors (warnings allowed), 1 errors found, 2 usage error.\n\n\
        Examples:\n  smm validate\n  smm validate --format json | jq '.deliveries[] | select(.parts[].fits | not)'\n  smm validate --at 2026-12-01T08:00:00Z"
    )]
    Validate(ValidateArgs),

    /// Show what will be published where and when, against the recorded state
    #[command(
        after_help = "Exit status: 0 success, 1 error (an invalid workspace is refused), 2 with \
        --detailed-exitcode when apply would publish or delete something now.\n\n\
        Examples:\n  smm plan\n  smm plan --format markdown > plan.md      # a pull-request comment\n  \
        smm plan --out plan.json && smm apply plan.json\n  smm plan --at 2026-12-03T08:00:00Z --base origin/main\n  smm plan --watch                          # while editing: what each save changes"
    )]
    Plan(PlanArgs),

    /// List every delivery: published (with URL), scheduled, missed, unknown, drafts
    #[command(
        after_help = "Examples:\n  smm status\n  smm status --state published --channel bluesky\n  smm status --campaign winter-blend-launch --format json"
    )]
    Status(StatusArgs),

    /// Who changed a post and when (git, following moves), and when it was published (state)
    #[command(
        after_help = "Examples:\n  smm history winter-launch\n  smm history campaigns/winter-blend-launch/02-launch-thread.yaml\n  smm history --campaign winter-blend-launch --format json"
    )]
    History(HistoryArgs),

    /// Publish what is due (or exactly a saved plan), recording every delivery in the state
    #[command(
        after_help = "Exit status: 0 all done, 1 error, 3 finished with unknown, failed or unsent deliveries, \
        4 another apply holds some deliveries (or kept winning the state branch), 5 the saved plan is stale, 6 publishing is frozen.\n\n\
        Examples:\n  smm apply                 # what is due now (CI runs this on a schedule)\n  smm apply plan.json       # exactly a saved plan, if still current"
    )]
    Apply(ApplyArgs),

    /// Stop all publishing at once (recorded on the state branch, no review needed)
    #[command(
        after_help = "Example:\n  smm freeze --reason \"Incident: hold all posts until comms clears them\""
    )]
    Freeze(FreezeArgs),

    /// Lift a freeze
    Unfreeze,

    /// The agenda of what goes out when; `--ics` writes a calendar feed, `--html` a month view
    #[command(
        after_help = "Examples:\n  smm calendar                          # the next 14 days\n  smm calendar --from 2026-12-01 --to 2026-12-31 --campaign winter-blend-launch\n  smm calendar --ics calendar.ics       # for Google Calendar, Outlook, Apple Calendar\n  smm calendar --html site              # this month: site/index.html, click a post to preview it\n  smm calendar --html site --from 2026-12-01 --to 2027-02-28   # three months, e.g. for GitHub Pages"
    )]
    Calendar(CalendarArgs),

    /// Each platform's rendering of one post, with its counted length against the limit
    #[command(
        after_help = "Examples:\n  smm preview winter-launch\n  smm preview campaigns/winter-blend-launch/02-launch-thread.yaml\n  smm preview winter-launch --html winter-launch.html   # a page to share for review\n  smm preview winter-launch --format json"
    )]
    Preview(PreviewArgs),

    /// Print a shell completion script
    #[command(
        after_help = "Examples:\n  smm completions bash > ~/.local/share/bash-completion/completions/smm\n  smm completions zsh > \"${fpath[1]}/_smm\"\n  smm completions fish > ~/.config/fish/completions/smm.fish"
    )]
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },

    /// Print the man page (roff)
    #[command(after_help = "Example:\n  smm man > /usr/local/share/man/man1/smm.1")]
    Man,

    /// Settle a delivery smm could not be sure about
    #[command(
        after_help = "Examples:\n  smm resolve winter-launch@x --published https://x.com/northwind/status/1861\n  smm resolve winter-launch@x --not-published   # it will be planned again"
    )]
    Resolve(ResolveArgs),
}

#[derive(Debug, clap::Args)]
pub struct PreviewArgs {
    /// A post id, or the path of its file
    pub post: String,

    /// Write the preview as a standalone HTML page to FILE instead of printing it
    #[arg(long, value_name = "FILE", conflicts_with = "format")]
    pub html: Option<std::path::PathBuf>,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// A plan saved with `smm plan --out FILE`: publish exactly that, or refuse if it is stale
    pub plan: Option<std::path::PathBuf>,

    /// Act as if it were this instant (RFC 3339); default: now
    #[arg(long, value_name = "TIME")]
    pub at: Option<jiff::Timestamp>,

    /// Publish even though HEAD is not the publish branch (state.publish_branch, default main)
    #[arg(long)]
    pub any_branch: bool,
}

#[derive(Debug, clap::Args)]
pub struct FreezeArgs {
    /// Why (shown to everyone who runs smm until unfrozen)
    #[arg(long)]
    pub reason: String,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("outcome").required(true).args(["published", "not_published"])))]
pub struct ResolveArgs {
    /// The delivery: POST@CHANNEL, as `smm status` lists it
    pub delivery: String,

    /// It is on the platform, at this URL
    #[arg(long, value_name = "URL")]
    pub published: Option<String>,

    /// It is not on the platform: plan it again
    #[arg(long)]
    pub not_published: bool,
}

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// A post id, or the path of its file
    #[arg(required_unless_present = "campaign", conflicts_with = "campaign")]
    pub post: Option<String>,

    /// Every post of this campaign (its folder name)
    #[arg(long)]
    pub campaign: Option<String>,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,

    /// Plan as of this instant (RFC 3339); default: now
    #[arg(long, value_name = "TIME")]
    pub at: Option<jiff::Timestamp>,

    /// Compare unpublished posts with this revision [default: where HEAD left the publish branch]
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,

    /// Also save the plan (JSON) to FILE, bound to this content commit, state and time window
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,

    /// Exit 2 when apply would publish or delete something now (0 when nothing)
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Keep planning: after each change to the workspace, show what changed in the plan
    #[arg(long, conflicts_with_all = ["format", "out", "detailed_exitcode"])]
    pub watch: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Only this campaign (its folder name)
    #[arg(long)]
    pub campaign: Option<String>,

    /// Only this channel
    #[arg(long)]
    pub channel: Option<String>,

    /// Only deliveries in this state
    #[arg(long, value_name = "STATE")]
    pub state: Option<smm::status::DeliveryState>,

    /// As of this instant (RFC 3339); default: now
    #[arg(long, value_name = "TIME")]
    pub at: Option<jiff::Timestamp>,
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Folder to create the workspace in (created if missing)
    #[arg(default_value = ".", value_name = "DIR")]
    pub folder: std::path::PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct CalendarArgs {
    /// First day (YYYY-MM-DD, workspace time zone) [default: today; with --html the first day of this month]
    #[arg(long, value_name = "DATE")]
    pub from: Option<jiff::civil::Date>,

    /// Last day, inclusive [default: 13 days after --from; with --html the last day of --from's month]
    #[arg(long, value_name = "DATE")]
    pub to: Option<jiff::civil::Date>,

    /// Only this campaign (its folder name)
    #[arg(long)]
    pub campaign: Option<String>,

    /// Only this channel
    #[arg(long)]
    pub channel: Option<String>,

    /// Only posts with this label
    #[arg(long)]
    pub label: Option<String>,

    /// Write an iCalendar feed of the window to FILE instead of printing the agenda
    #[arg(long, value_name = "FILE")]
    pub ics: Option<std::path::PathBuf>,

    /// Write a month view with a preview of every post to DIR/index.html (one self-contained
    /// file: opens from disk, or publish DIR on GitHub Pages) instead of printing the agenda
    #[arg(long, value_name = "DIR", conflicts_with = "ics")]
    pub html: Option<std::path::PathBuf>,

    /// Output format of the agenda
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// As of this instant (RFC 3339); default: now
    #[arg(long, value_name = "TIME")]
    pub at: Option<jiff::Timestamp>,
}

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Check as if it were this instant (RFC 3339, e.g. 2026-12-01T08:00:00Z); default: now
    #[arg(long, value_name = "TIME")]
    pub at: Option<jiff::Timestamp>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}
