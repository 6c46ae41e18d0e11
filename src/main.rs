use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

mod cli;
mod commands;

/// Loading a cached workspace is mostly many small allocations on two threads: with glibc's
/// malloc, page faults and heap growth were a third of `smm validate` on 10,000 posts (0.28 ->
/// 0.18 s warm, alternating runs; about 20% more peak memory).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay`: its place in `mi_option_e` (mimalloc.h, v3), which the Rust bindings
/// leave unnamed on purpose (a test below checks it against the option's default).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // mimalloc gives freed memory back to the system a second after it is freed: within a run,
    // whether one stage's freed pages were reused by the next or new ones taken depended on
    // timing, and a plan of 100,000 posts peaked at 363 MB in one run and 437 MB in the next.
    // With 30 ms it peaks at 333-346 MB every time, and 10,000 posts take no longer
    // (BENCHMARKS.md). `smm plan --watch` keeps its pages for a minute instead: taken from the
    // system again (zeroed) after each pause, an update of 10,000 posts took 0.17 s, not 0.06.
    let watching = matches!(&cli.command, cli::Command::Plan(args) if args.watch);
    let purge_delay_ms = if watching { 60_000 } else { 30 };
    // SAFETY: an integer option of the allocator, set before any other thread exists.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, purge_delay_ms) };
    let result = match &cli.command {
        cli::Command::Init(args) => commands::init::run(cli.dir.as_deref(), args),
        cli::Command::Validate(args) => commands::validate::run(cli.dir.as_deref(), args),
        cli::Command::Plan(args) => commands::plan::run(cli.dir.as_deref(), args),
        cli::Command::Status(args) => commands::status::run(cli.dir.as_deref(), args),
        cli::Command::History(args) => commands::history::run(cli.dir.as_deref(), args),
        cli::Command::Apply(args) => commands::apply::run(cli.dir.as_deref(), args),
        cli::Command::Freeze(args) => commands::freeze::freeze(cli.dir.as_deref(), args),
        cli::Command::Unfreeze => commands::freeze::unfreeze(cli.dir.as_deref()),
        cli::Command::Preview(args) => commands::preview::run(cli.dir.as_deref(), args),
        cli::Command::Calendar(args) => commands::calendar::run(cli.dir.as_deref(), args),
        cli::Command::Completions { shell } => {
            let mut cmd = <cli::Cli as clap::CommandFactory>::command();
            // Into a buffer first: `smm completions bash | head` must not panic on a closed pipe.
            let mut buf = Vec::new();
            clap_complete::generate(*shell, &mut cmd, "smm", &mut buf);
            let _ = std::io::stdout().write_all(&buf);
            Ok(commands::exit::OK)
        }
        cli::Command::Man => {
            let cmd = <cli::Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            match clap_mangen::Man::new(cmd).render(&mut buf) {
                Ok(()) => {
                    let _ = std::io::stdout().write_all(&buf);
                    Ok(commands::exit::OK)
                }
                Err(e) => Err(commands::CommandError {
                    message: format!("cannot render the man page: {e}"),
                    help: None,
                }),
            }
        }
        cli::Command::Resolve(args) => commands::freeze::resolve(cli.dir.as_deref(), args),
    };
    // A cached text that failed its checksum was shown empty, wherever it was read.
    let result = match result {
        Ok(_) if smm::cache::texts_were_damaged() => Err(commands::CommandError {
            message: "the post cache in .git/smm gave texts that do not match their checksum: \
                      what was shown above may have empty texts"
                .into(),
            help: Some("run the command again: the damaged texts were removed".into()),
        }),
        other => other,
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            e.print();
            ExitCode::from(commands::exit::ERROR)
        }
    }
}

#[cfg(test)]
mod tests {
    /// The option number names the purge delay: its default is 1000 ms (options.c; the header
    /// still says 10), and the option next to it (`mi_option_use_numa_nodes`) defaults to 0.
    #[test]
    fn the_purge_delay_option_is_mimallocs() {
        // SAFETY: reading integer options of the allocator.
        let (delay, next) = unsafe {
            (
                libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY),
                libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY + 1),
            )
        };
        assert_eq!((delay, next), (1000, 0));
    }
}
