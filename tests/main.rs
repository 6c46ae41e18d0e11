//! The integration test binary (one binary keeps link time down).

mod support;

mod adapters;
mod apply;
mod broken_workspaces;
mod cache;
mod cli;
mod contract;
mod example_calendar;
mod faults;
mod fuzz;
mod html;
mod init;
mod plan;
mod watch;
mod workflows;
