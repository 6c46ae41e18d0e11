//! Command-line definitions (clap). No behaviour here: see `commands/`.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "smm",
    version,
    about = "Social media content as code: validate, plan and publish a content calendar kept in git",
    long_about = "smm reads a workspace (smm.yaml, campaigns/, posts/, templates/, media/), checks every post \
                  against each platform's rules and the brand's policy, and shows what will be published where and when.",
    after_help = "Examples:\n  smm validate                 check the workspace in this folder (or a parent)\n  smm -C example-calendar validate --format json\n\nDocumentation: docs/format.md (files), docs/diagnostics.md (error codes)."
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
    /// Check every file: YAML, schemas, references, times, templates, platform limits, policy
    #[command(
        after_help = "Exit status: 0 no errors (warnings allowed), 1 errors found, 2 usage error.\n\n\
        Examples:\n  smm validate\n  smm validate --format json | jq '.deliveries[] | select(.parts[].fits | not)'\n  smm validate --at 2026-12-01T08:00:00Z"
    )]
    Validate(ValidateArgs),

    /// Show what will be published where and when, against the recorded state
    #[command(after_help = "Exit status: 0 success, 1 error (an invalid workspace is refused), 2 with \
        --detailed-exitcode when apply would publish or delete something now.\n\n\
        Examples:\n  smm plan\n  smm plan --format markdown > plan.md      # a pull-request comment\n  \
        smm plan --out plan.json && smm apply plan.json\n  smm plan --at 2026-12-03T08:00:00Z --base origin/main")]
    Plan(PlanArgs),

    /// List every delivery: published (with URL), scheduled, missed, unknown, drafts
    #[command(after_help = "Examples:\n  smm status\n  smm status --state published --channel bluesky\n  smm status --campaign winter-blend-launch --format json")]
    Status(StatusArgs),

    /// Who changed a post and when (git, following moves), and when it was published (state)
    #[command(after_help = "Examples:\n  smm history winter-launch\n  smm history campaigns/winter-blend-launch/02-launch-thread.yaml\n  smm history --campaign winter-blend-launch --format json")]
    History(HistoryArgs),
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
    pub state: Option<StatusState>,

    /// As of this instant (RFC 3339); default: now
    #[arg(long, value_name = "TIME")]
    pub at: Option<jiff::Timestamp>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatusState {
    Draft,
    Scheduled,
    Due,
    Published,
    Missed,
    Unknown,
    Failed,
    Drift,
    Removed,
    Blocked,
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
