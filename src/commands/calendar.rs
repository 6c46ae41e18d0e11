use std::collections::BTreeMap;
use std::io::Write;

use jiff::ToSpan;

use crate::cli::CalendarArgs;
use crate::commands::{exit, plan_or_report, workspace_root, write_file, CommandError};

/// Policy codes about the schedule itself, shown next to the entries they concern.
const SCHEDULE_CODES: [&str; 4] = ["P0508", "P0509", "P0510", "P0511"];

pub fn run(dir: Option<&std::path::Path>, args: &CalendarArgs) -> Result<u8, CommandError> {
    let root = workspace_root(dir)?;
    let (report, plan) = plan_or_report(
        &root,
        &smm::plan::Options {
            at: args.at,
            base: None,
        },
    )?;
    let today = plan.at.to_zoned_datetime(plan.zone.clone()).date();
    // The agenda looks two weeks ahead; the month view shows whole months, so by default this one.
    let (from, to) = if args.html.is_some() {
        let from = args.from.unwrap_or_else(|| today.first_of_month());
        (from, args.to.unwrap_or_else(|| from.last_of_month()))
    } else {
        let from = args.from.unwrap_or(today);
        (
            from,
            args.to
                .unwrap_or_else(|| from.checked_add(13.days()).unwrap_or(from)),
        )
    };
    if to < from {
        return Err(CommandError {
            message: format!("--to {to} is before --from {from}"),
            help: None,
        });
    }
    let labels: BTreeMap<String, Vec<String>> = report
        .workspace
        .posts
        .iter()
        .map(|p| (p.id.clone(), p.spec.labels.clone()))
        .collect();
    let mut conflicts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for d in report
        .diagnostics
        .iter()
        .filter(|d| SCHEDULE_CODES.contains(&d.code))
    {
        if let Some(loc) = d.location {
            conflicts
                .entry(report.sources.path(loc.file).display().to_string())
                .or_default()
                .push(d.message.clone());
        }
    }
    let window = smm::calendar::Window {
        from,
        to,
        campaign: args.campaign.as_deref(),
        channel: args.channel.as_deref(),
        label: args.label.as_deref(),
    };
    let entries = smm::calendar::entries(&plan, &window, &labels, &conflicts);
    match (&args.ics, &args.html) {
        (Some(path), _) => {
            write_file(path, &smm::calendar::render_ics(&plan, &entries))?;
            let events: usize = entries.iter().map(|e| e.channels.len()).sum();
            let _ = writeln!(
                anstream::stdout(),
                "Wrote {events} events ({from} to {to}) to {}.",
                path.display()
            );
        }
        (None, Some(dir)) => {
            std::fs::create_dir_all(dir).map_err(|e| CommandError {
                message: format!("cannot create {}: {e}", dir.display()),
                help: None,
            })?;
            let path = dir.join("index.html");
            write_file(
                &path,
                &smm::html::calendar(&plan, &report, &entries, &window),
            )?;
            let _ = writeln!(
                anstream::stdout(),
                "Wrote {} posts ({from} to {to}) to {}.",
                entries.len(),
                path.display()
            );
        }
        (None, None) => {
            let text = match args.format {
                crate::cli::Format::Text => smm::calendar::render_agenda(&plan, &entries, &window),
                crate::cli::Format::Json => smm::calendar::render_json(&plan, &entries, &window),
            };
            super::print(&text);
        }
    }
    Ok(exit::OK)
}
