use std::io::Write;

use crate::cli::{Format, StatusArgs, StatusState};
use crate::commands::{exit, plan_or_report, workspace_root, CommandError};
use smm::status::DeliveryState;

pub fn run(dir: Option<&std::path::Path>, args: &StatusArgs) -> Result<u8, CommandError> {
    let root = workspace_root(dir)?;
    let (_report, plan) = plan_or_report(
        &root,
        &smm::plan::Options {
            at: args.at,
            base: None,
        },
    )?;
    let filter = smm::status::Filter {
        campaign: args.campaign.as_deref(),
        channel: args.channel.as_deref(),
        state: args.state.map(|s| match s {
            StatusState::Draft => DeliveryState::Draft,
            StatusState::Scheduled => DeliveryState::Scheduled,
            StatusState::Due => DeliveryState::Due,
            StatusState::Published => DeliveryState::Published,
            StatusState::Missed => DeliveryState::Missed,
            StatusState::Unknown => DeliveryState::Unknown,
            StatusState::Failed => DeliveryState::Failed,
            StatusState::Drift => DeliveryState::Drift,
            StatusState::Removed => DeliveryState::Removed,
            StatusState::Blocked => DeliveryState::Blocked,
        }),
    };
    let rows = smm::status::rows(&plan, &filter);
    let text = match args.format {
        Format::Text => smm::status::render_text(&plan, &rows),
        Format::Json => smm::status::render_json(&rows),
    };
    let _ = anstream::stdout().write_all(text.as_bytes());
    Ok(exit::OK)
}
