//! The smm binary as users run it: exit codes, -C, output formats, colour, secrets.

use crate::support::{self, smm, stderr, stdout};

#[test]
fn validate_example_calendar_exits_0() {
    let o = smm(
        &[
            "-C",
            "example-calendar",
            "validate",
            "--at",
            "2026-11-28T12:00:00Z",
        ],
        &support::repo_root(),
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).starts_with("ok: "), "{}", stdout(&o));
}

#[test]
fn errors_exit_1_and_name_file_line_column() {
    let ws = support::workspace(Some(&support::fixtures().join("broken/unknown-channel")));
    let o = smm(&["validate", "--at", support::NOW], ws.path());
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("error[E0201]: unknown channel `blusky`"),
        "{out}"
    );
    assert!(out.contains("--> posts/notice.yaml:2:"), "{out}");
    assert!(out.contains("did you mean `bluesky`?"), "{out}");
}

#[test]
fn usage_errors_exit_2() {
    let o = smm(&["validate", "--format", "yaml"], &support::repo_root());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("invalid value 'yaml'"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn finds_the_workspace_from_a_subfolder_and_fails_clearly_outside_one() {
    let ws = support::workspace(None);
    let o = smm(
        &["validate", "--at", support::NOW],
        &ws.path().join("campaigns/launch"),
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));

    let empty = tempfile::tempdir().expect("tempdir");
    let o = smm(&["validate"], empty.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no smm.yaml in"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("help: run smm inside a workspace, pass -C DIR"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let ws = support::workspace(Some(&support::fixtures().join("broken/unknown-channel")));
    let plain = smm(&["validate", "--at", support::NOW], ws.path());
    assert!(
        !stdout(&plain).contains('\u{1b}'),
        "NO_COLOR output has escapes"
    );
    let forced = std::process::Command::new(env!("CARGO_BIN_EXE_smm"))
        .args(["validate", "--at", support::NOW])
        .current_dir(ws.path())
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .output()
        .expect("run");
    assert!(
        stdout(&forced).contains("\u{1b}["),
        "CLICOLOR_FORCE output has no colour"
    );
    assert_eq!(support::strip_ansi(&stdout(&forced)), stdout(&plain));
}

#[test]
fn json_report_follows_its_schema_and_counts_every_delivery() {
    let o = smm(
        &[
            "-C",
            "example-calendar",
            "validate",
            "--format",
            "json",
            "--at",
            "2026-11-28T12:00:00Z",
        ],
        &support::repo_root(),
    );
    assert_eq!(o.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(support::repo_root().join("schemas/validate-report.schema.json"))
            .expect("schema"),
    )
    .expect("schema json");
    let validator = jsonschema::draft202012::new(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let deliveries = report["deliveries"].as_array().expect("deliveries");
    assert!(deliveries.len() >= 60, "{}", deliveries.len());
    for d in deliveries {
        for p in d["parts"].as_array().expect("parts") {
            assert!(p["length"].as_u64() <= p["limit"].as_u64(), "{d}");
        }
    }
}

#[test]
fn json_report_shows_length_against_limit_for_a_long_post() {
    let ws = support::workspace(Some(&support::fixtures().join("broken/too-long-for-x")));
    let o = smm(
        &["validate", "--format", "json", "--at", support::NOW],
        ws.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let x = report["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .find(|d| d["channel"] == "x")
        .expect("x delivery");
    let part = &x["parts"][0];
    assert_eq!(part["limit"], 280);
    assert!(part["length"].as_u64() > Some(280));
    assert_eq!(part["fits"], false);
    let d = report["diagnostics"]
        .as_array()
        .expect("diags")
        .iter()
        .find(|d| d["code"] == "P0501")
        .expect("P0501");
    assert_eq!(d["file"], "campaigns/launch/hello.yaml");
    assert!(d["line"].as_u64().is_some() && d["column"].as_u64().is_some());
}

#[test]
fn a_pasted_secret_is_refused_and_never_printed() {
    let ws = support::workspace(None);
    let secret = "hunter2-app-pass-9f8e7d";
    let settings = std::fs::read_to_string(ws.path().join("smm.yaml")).expect("read");
    std::fs::write(
        ws.path().join("smm.yaml"),
        settings.replace("SMM_BLUESKY_APP_PASSWORD", secret),
    )
    .expect("write");
    for format in ["text", "json"] {
        let o = smm(
            &["validate", "--format", format, "--at", support::NOW],
            ws.path(),
        );
        assert_eq!(o.status.code(), Some(1));
        let all = format!("{}{}", stdout(&o), stderr(&o));
        assert!(all.contains("must name an environment variable"), "{all}");
        // The snippet quotes the YAML line; the value itself must be masked.
        assert!(
            !all.contains(secret),
            "secret leaked in {format} output:\n{all}"
        );
    }
}

#[test]
fn help_teaches_with_examples() {
    let o = smm(&["validate", "--help"], &support::repo_root());
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(
        out.contains("Examples:") && out.contains("Exit status"),
        "{out}"
    );
}

#[test]
fn completions_man_page_and_version() {
    for shell in ["bash", "zsh", "fish"] {
        let o = smm(&["completions", shell], &support::repo_root());
        assert_eq!(o.status.code(), Some(0));
        let out = stdout(&o);
        assert!(
            out.contains("validate") && out.contains("apply"),
            "{shell}: {out}"
        );
    }
    let o = smm(&["man"], &support::repo_root());
    assert!(
        stdout(&o).starts_with(".ie") && stdout(&o).contains(".TH smm 1"),
        "{}",
        stdout(&o)
    );
    let o = smm(&["--version"], &support::repo_root());
    let v = stdout(&o);
    assert!(
        v.starts_with("smm 0.1.0 (") && v.trim_end().ends_with(')'),
        "{v}"
    );
}

#[test]
fn preview_shows_each_platform_with_its_own_count() {
    let o = smm(
        &["-C", "example-calendar", "preview", "winter-launch"],
        &support::repo_root(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    for needle in [
        "bluesky (channel `bluesky`)",
        "graphemes",
        "UTF-8 bytes",
        "x (channel `x`)",
        "weighted characters",
        "reply 1",
        "[media media/",
    ] {
        assert!(out.contains(needle), "missing {needle:?}:\n{out}");
    }
    let o = smm(
        &["-C", "example-calendar", "preview", "winter-lanch"],
        &support::repo_root(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("did you mean `winter-launch`?"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn preview_json_gives_each_channels_parts_counts_and_entity_offsets() {
    let o = smm(
        &[
            "-C",
            "example-calendar",
            "preview",
            "winter-launch",
            "--format",
            "json",
        ],
        &support::repo_root(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(doc["post"], "winter-launch");
    let channels = doc["channels"].as_array().expect("channels");
    assert_eq!(channels.len(), 6, "{doc:#}");
    let mut entities = 0;
    for c in channels {
        for part in c["parts"].as_array().expect("parts") {
            let text = part["text"].as_str().expect("text");
            let m = &part["measures"][0];
            assert!(m["length"].as_u64() <= m["limit"].as_u64(), "{part:#}");
            for e in part["entities"].as_array().expect("entities") {
                // Offsets are bytes into the exact text: the slice is the entity as written.
                let (start, end) = (
                    e["start"].as_u64().expect("start"),
                    e["end"].as_u64().expect("end"),
                );
                let written = &text[start as usize..end as usize];
                let value = e["value"].as_str().expect("value");
                assert!(
                    written.contains(value.trim_start_matches("https://")),
                    "{written:?} vs {value:?}"
                );
                entities += 1;
            }
        }
    }
    assert!(
        entities > 0,
        "the launch post has links and hashtags: {doc:#}"
    );
    let x = channels.iter().find(|c| c["channel"] == "x").expect("x");
    assert_eq!(x["parts"][0]["measures"][0]["unit"], "weighted characters");
}

#[test]
fn apply_draws_a_progress_bar_only_on_a_terminal() {
    // Credentials are not set, so nothing is sent anywhere: every delivery ends "not sent".
    let ws = support::workspace(None);
    support::git_init(ws.path());
    let smm_bin = env!("CARGO_BIN_EXE_smm");
    let plain = std::process::Command::new(smm_bin)
        .args(["apply", "--at", "2027-03-02T08:30:00Z"])
        .current_dir(ws.path())
        .output()
        .expect("run");
    assert_eq!(plain.status.code(), Some(3), "{}", stderr(&plain));
    assert!(
        stderr(&plain).contains("[3/3] not sent"),
        "{}",
        stderr(&plain)
    );
    assert!(
        !stderr(&plain).contains('\u{1b}'),
        "no bar or colour in a log: {}",
        stderr(&plain)
    );

    // util-linux `script` gives the command a pseudo-terminal.
    let tty = std::process::Command::new("script")
        .args([
            "-qec",
            &format!("{smm_bin} apply --at 2027-03-02T08:30:00Z"),
            "/dev/null",
        ])
        .current_dir(ws.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("run script (util-linux)");
    let out = String::from_utf8_lossy(&tty.stdout);
    assert!(
        out.contains("\r\u{1b}[2K[########################] 3/3"),
        "{out:?}"
    );
    assert!(out.contains("[3/3] not sent"), "{out:?}");
}
