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
