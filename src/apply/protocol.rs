use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::journal::{Journal, Lost, NotRecorded, Pending};

use crate::plan::{self, Action, Item, Plan};
use crate::platforms::{
    self, Adapter, Dedup, Lookup, Outgoing, OutgoingMedia, OutgoingPart, Posted, PublishError,
};
use crate::render::Delivery;
use crate::state::{ContentRevision, DeliveryKey, Entry, Event, Store};
use crate::validate::Report;

/// How long another run leaves a delivery alone after this run announced it.
const LEASE: SignedDuration = SignedDuration::from_mins(10);
/// Attempts for a retryable failure (rate limit, or an unknown outcome where retrying is safe).
const ATTEMPTS: u32 = 4;
/// Re-plans after losing a push race before giving up on this run.
const MAX_REPLANS: u32 = 5;
/// Attempts to record a result while other runners keep pushing: a result must not be lost.
const RESULT_ATTEMPTS: u32 = 40;

pub struct ApplyOptions {
    pub at: Option<Timestamp>,
    /// Publish exactly this saved plan (refused when stale).
    pub plan_file: Option<PathBuf>,
    /// Publish from a branch other than the configured publish branch.
    pub any_branch: bool,
    /// Longest wait honoured for a rate limit within one run.
    pub max_wait: Duration,
}

/// What happened to one delivery in this run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Published {
        url: Option<String>,
    },
    /// Found on the platform from an earlier run that died.
    Recovered {
        url: Option<String>,
    },
    Rejected(String),
    Unknown(String),
    /// Nothing was sent (no connection, rate limited too long, missing credentials).
    NotSent(String),
    /// Another apply holds it right now.
    Held,
}

impl Outcome {
    /// A few words for logs: what the platform said.
    pub fn summary(&self) -> String {
        match self {
            Outcome::Published { url } | Outcome::Recovered { url } => format!(
                "published{}",
                url.as_deref()
                    .map(|u| format!(" at {u}"))
                    .unwrap_or_default()
            ),
            Outcome::Rejected(r) => format!("rejected: {r}"),
            Outcome::Unknown(r) => format!("unknown: {r}"),
            Outcome::NotSent(r) => format!("not sent: {r}"),
            Outcome::Held => "held by another apply".into(),
        }
    }
}

#[derive(Debug, Default)]
pub struct ApplyReport {
    pub results: BTreeMap<DeliveryKey, Outcome>,
    /// Deliveries left alone: missed, drift, needs a person (from the plan).
    pub attention: Vec<(DeliveryKey, String)>,
}

impl ApplyReport {
    pub fn incomplete(&self) -> bool {
        self.results.values().any(|o| {
            matches!(
                o,
                Outcome::Rejected(_) | Outcome::Unknown(_) | Outcome::NotSent(_)
            )
        })
    }

    pub fn held(&self) -> bool {
        self.results.values().any(|o| matches!(o, Outcome::Held))
    }
}

#[derive(Debug)]
pub enum ApplyError {
    Invalid(Box<Report>),
    Frozen {
        reason: String,
        by: String,
        at: Timestamp,
    },
    Stale(String),
    WrongBranch {
        branch: Option<String>,
        publish: String,
    },
    NotInGit,
    State(String),
    /// Kept losing the race for the state branch to another apply.
    Lease,
    Plan(String),
}

/// Where progress goes: a terminal bar or plain lines (CI). Never receives secrets.
pub trait Progress: Send + Sync {
    fn start(&self, total: usize);
    fn done(&self, key: &DeliveryKey, outcome: &Outcome);
}

/// Applies the workspace at `root`. Runs its own async runtime.
pub fn apply(
    root: &Path,
    options: &ApplyOptions,
    progress: Arc<dyn Progress>,
) -> Result<ApplyReport, ApplyError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| ApplyError::State(format!("cannot start: {e}")))?;
    runtime.block_on(run(root, options, progress))
}

fn run_id() -> String {
    let ci = std::env::var("GITHUB_RUN_ID")
        .map(|id| format!("gh-{id}-"))
        .unwrap_or_default();
    format!(
        "{ci}{}-{}",
        Timestamp::now().as_millisecond(),
        std::process::id()
    )
}

async fn run(
    root: &Path,
    options: &ApplyOptions,
    progress: Arc<dyn Progress>,
) -> Result<ApplyReport, ApplyError> {
    let run = run_id();
    let mut report = ApplyReport::default();
    let http = platforms::http_client().map_err(ApplyError::State)?;
    let mut adapters: BTreeMap<String, Arc<dyn Adapter>> = BTreeMap::new();
    let mut setup_failed: BTreeMap<String, String> = BTreeMap::new();
    let mut first_round = true;
    // With a saved plan, exactly the deliveries it lists for publishing (checked current).
    let mut allowed: Option<Vec<String>> = None;

    for _ in 0..MAX_REPLANS {
        let (report_ws, plan, store) = prepare(root, options).await?;
        if first_round {
            if let Some(path) = &options.plan_file {
                allowed = Some(check_saved_plan(path, &plan)?);
            }
            report.attention = plan
                .actions()
                .filter(|i| i.action.needs_attention() && !matches!(i.action, Action::Resolve))
                .map(|i| (i.key.clone(), i.reason.to_string()))
                .collect();
        }
        let work = work_of(&plan, &report_ws, allowed.as_deref())?;
        if first_round {
            progress.start(work.len());
        }
        first_round = false;
        let settings = report_ws
            .workspace
            .settings
            .as_ref()
            .ok_or_else(|| ApplyError::Plan("smm.yaml did not load".into()))?;
        for job in &work {
            if adapters.contains_key(&*job.key.channel)
                || setup_failed.contains_key(&*job.key.channel)
            {
                continue;
            }
            let Some(channel) = settings.channels.get(&*job.key.channel) else {
                continue;
            };
            match platforms::adapter_for(channel, &http) {
                Ok(a) => {
                    adapters.insert(channel.name.clone(), Arc::from(a));
                }
                Err(e) => {
                    setup_failed.insert(channel.name.clone(), e.to_string());
                }
            }
        }
        let (journal, writer) = Journal::start(store);
        let grace = settings.grace;
        let now = options.at.unwrap_or_else(Timestamp::now);
        // One task per channel: channels in parallel, each channel's deliveries in order.
        let mut by_channel: BTreeMap<String, Vec<Job>> = BTreeMap::new();
        for job in work
            .into_iter()
            .filter(|j| !report.results.contains_key(&j.key))
        {
            by_channel
                .entry(job.key.channel.to_string())
                .or_default()
                .push(job);
        }
        let mut tasks = Vec::new();
        for (channel, jobs) in by_channel {
            if let Some(reason) = setup_failed.get(&channel) {
                for job in jobs {
                    let o = Outcome::NotSent(reason.clone());
                    progress.done(&job.key, &o);
                    report.results.insert(job.key, o);
                }
                continue;
            }
            let Some(adapter) = adapters.get(&channel).cloned() else {
                continue;
            };
            let journal = journal.clone();
            let run = run.clone();
            let progress = progress.clone();
            let max_wait = options.max_wait;
            tasks.push(tokio::spawn(async move {
                let mut done = Vec::new();
                // The previous delivery's result, still on its way to the state branch: the
                // next intent goes out behind it (often in the same commit) instead of waiting
                // for it, which halves the waits per delivery. It is settled right after.
                let mut recording: Option<Recording> = None;
                for job in jobs {
                    let step =
                        deliver(&job, adapter.as_ref(), &journal, &run, now, grace, max_wait).await;
                    if let Some(r) = recording.take() {
                        let (key, o) = settle(&journal, r).await;
                        progress.done(&key, &o);
                        done.push((key, o));
                    }
                    match step {
                        Ok(Step::Done(o)) => {
                            progress.done(&job.key, &o);
                            done.push((job.key, o));
                        }
                        Ok(Step::Recording(r)) => recording = Some(*r),
                        // The state moved under us: stop this channel, re-plan with the new view.
                        Err(Lost) => return (done, true),
                    }
                }
                if let Some(r) = recording.take() {
                    let (key, o) = settle(&journal, r).await;
                    progress.done(&key, &o);
                    done.push((key, o));
                }
                (done, false)
            }));
        }
        drop(journal);
        let mut replan = false;
        for t in tasks {
            let (done, lost) = t
                .await
                .map_err(|e| ApplyError::State(format!("a channel worker failed: {e}")))?;
            report.results.extend(done);
            replan |= lost;
        }
        // Every worker is done, so the writer has answered everything and ends.
        tokio::task::block_in_place(|| writer.join())
            .map_err(|_| ApplyError::State("the state writer failed".into()))?;
        if !replan {
            return Ok(report);
        }
    }
    Err(ApplyError::Lease)
}

/// Validate, sync the state with the remote, plan.
async fn prepare(root: &Path, options: &ApplyOptions) -> Result<(Report, Plan, Store), ApplyError> {
    let root = root.to_path_buf();
    let at = options.at;
    let any_branch = options.any_branch;
    tokio::task::spawn_blocking(move || {
        // Apply shows no warnings, and reads the state below, after syncing with the remote.
        let cache = crate::cache::Cache::open(&root);
        let at_or_now = at.unwrap_or_else(Timestamp::now);
        let report =
            crate::validate::validate_with(&root, at_or_now, |_| Default::default(), &cache);
        cache.save();
        if report.errors() > 0 {
            return Err(ApplyError::Invalid(Box::new(report)));
        }
        let settings = report
            .workspace
            .settings
            .as_ref()
            .ok_or_else(|| ApplyError::Plan("smm.yaml did not load".into()))?;
        let store = Store::open(&root, &settings.state_branch)
            .map_err(|e| ApplyError::State(e.to_string()))?
            .ok_or(ApplyError::NotInGit)?;
        store.sync().map_err(|e| ApplyError::State(e.to_string()))?;
        let state = store.read().map_err(|e| ApplyError::State(e.to_string()))?;
        if let Some(f) = &state.freeze {
            return Err(ApplyError::Frozen {
                reason: f.reason.clone(),
                by: f.by.clone(),
                at: f.at,
            });
        }
        let content = ContentRevision::of(store.repository(), &root);
        if !any_branch && content.branch.as_deref() != Some(settings.publish_branch.as_str()) {
            return Err(ApplyError::WrongBranch {
                branch: content.branch.clone(),
                publish: settings.publish_branch.clone(),
            });
        }
        let now = at.unwrap_or_else(Timestamp::now);
        let plan = plan::plan(&plan::Inputs {
            report: &report,
            state: &state,
            at: now,
            show_at: true,
            content,
            base: None,
        });
        Ok((report, plan, store))
    })
    .await
    .map_err(|e| ApplyError::State(e.to_string()))?
}

/// A saved plan holds only for the content and state it was made from, until it expires.
/// Returns the keys of the deliveries it would publish.
fn check_saved_plan(path: &Path, fresh: &Plan) -> Result<Vec<String>, ApplyError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ApplyError::Stale(format!("cannot read {}: {e}", path.display())))?;
    let saved: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| ApplyError::Stale(format!("{} is not a saved plan: {e}", path.display())))?;
    if saved["format_version"] != plan::PLAN_FORMAT_VERSION {
        return Err(ApplyError::Stale(format!(
            "{} is not a saved plan of this smm version",
            path.display()
        )));
    }
    let saved_commit = saved["content"]["commit"].as_str();
    if saved_commit != fresh.content.commit.as_deref() || saved["content"]["dirty"] == true {
        return Err(ApplyError::Stale(format!(
            "the plan was made for content {}, the workspace is at {}",
            saved_commit.map(short).unwrap_or("(uncommitted)"),
            fresh
                .content
                .commit
                .as_deref()
                .map(short)
                .unwrap_or("(none)")
        )));
    }
    if saved["state_revision"].as_str() != fresh.state_revision.as_deref() {
        return Err(ApplyError::Stale(
            "the state changed since the plan was made (another apply ran)".into(),
        ));
    }
    if let Some(until) = saved["valid_until"].as_str() {
        let until: Timestamp = until
            .parse()
            .map_err(|e: jiff::Error| ApplyError::Stale(e.to_string()))?;
        if fresh.at > until {
            return Err(ApplyError::Stale(format!(
                "the plan expired at {}",
                fresh.format_timestamp(until)
            )));
        }
    }
    Ok(saved["deliveries"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|d| d["action"] == "publish")
                .filter_map(|d| d["key"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default())
}

fn short(s: &str) -> &str {
    s.get(..7).unwrap_or(s)
}

/// A delivery this run acts on.
struct Job {
    key: DeliveryKey,
    outgoing: Outgoing,
    texts: Vec<String>,
    commit: Option<String>,
    kind: JobKind,
}

enum JobKind {
    /// Due: publish it.
    Publish,
    /// An earlier run left it without a result: look it up first.
    Reconcile {
        pending: plan::Pending,
        due: Timestamp,
    },
}

fn work_of(
    plan: &Plan,
    report: &Report,
    allowed: Option<&[String]>,
) -> Result<Vec<Job>, ApplyError> {
    let deliveries: BTreeMap<DeliveryKey, &Delivery> = report
        .deliveries
        .iter()
        .map(|d| (DeliveryKey::new(d.post_id.clone(), d.channel.clone()), d))
        .collect();
    let mut jobs = Vec::new();
    for item in plan.actions() {
        let kind = match (item.action, item.pending(), &item.publish_at) {
            (Action::Publish, _, _) => JobKind::Publish,
            (Action::Resolve, Some(pending), Some(due)) => JobKind::Reconcile {
                pending,
                due: due.timestamp(),
            },
            _ => continue,
        };
        if let Some(allowed) = &allowed {
            if matches!(kind, JobKind::Publish) && !allowed.contains(&item.key.to_string()) {
                continue;
            }
        }
        let Some(d) = deliveries.get(&item.key) else {
            continue;
        };
        // Only a damaged post cache could give other content than the hash it kept with it.
        if !d.content_intact() {
            return Err(ApplyError::Plan(format!(
                "stopped before publishing {}: the post cache gave it content that does not match \
                 its hash; delete the post cache (.git/smm/posts-*) and run again",
                item.key
            )));
        }
        jobs.push(Job {
            key: item.key.clone(),
            outgoing: outgoing(d, item, &report.workspace.root),
            texts: d.parts.iter().map(|p| p.text.clone()).collect(),
            commit: plan.content.commit.clone(),
            kind,
        });
    }
    Ok(jobs)
}

fn outgoing(d: &Delivery, item: &Item, root: &Path) -> Outgoing {
    Outgoing {
        key: item.key.clone(),
        content_hash: d.content_hash(),
        publish_at: item
            .publish_at
            .as_ref()
            .map_or(Timestamp::UNIX_EPOCH, |t| t.timestamp()),
        parts: d
            .parts
            .iter()
            .map(|p| OutgoingPart {
                text: p.text.clone(),
                media: p
                    .media
                    .iter()
                    .map(|m| OutgoingMedia {
                        path: root.join(&m.file),
                        alt: m.alt.clone().unwrap_or_default(),
                    })
                    .collect(),
            })
            .collect(),
        link: d.link.clone(),
    }
}

/// How far `deliver` took a delivery.
enum Step {
    Done(Outcome),
    /// Sent; its result is submitted to the state branch but not yet confirmed.
    Recording(Box<Recording>),
}

struct Recording {
    key: DeliveryKey,
    event: Event,
    message: String,
    outcome: Outcome,
    pending: Pending,
}

/// Waits until a submitted result is durable (recording it again on top of another runner's
/// state if that runner pushed first), and says what happened to the delivery.
async fn settle(journal: &Journal, r: Recording) -> (DeliveryKey, Outcome) {
    let recorded = match r.pending.wait().await {
        Ok(()) => Ok(()),
        Err(NotRecorded::Lost(_)) => match journal.sync().await {
            Ok(()) => write_result(journal, &r.key, r.event, r.message).await,
            Err(m) => Err(m),
        },
        Err(NotRecorded::Failed(m)) => Err(m),
    };
    let outcome = match recorded {
        Ok(()) => r.outcome,
        // The platform answered but the record could not be written: the next run reconciles it.
        Err(m) => Outcome::Unknown(format!(
            "{}, but recording the result failed: {m}",
            r.outcome.summary()
        )),
    };
    (r.key, outcome)
}

async fn write(
    journal: &Journal,
    key: &DeliveryKey,
    event: Event,
    message: String,
) -> Result<(), NotRecorded> {
    let entry = Entry {
        at: Timestamp::now(),
        event,
    };
    journal.record(key, entry, message).await
}

/// Records a result. It must not be lost: a lost push race is retried on top of the new state.
async fn write_result(
    journal: &Journal,
    key: &DeliveryKey,
    event: Event,
    message: String,
) -> Result<(), String> {
    for attempt in 1..=RESULT_ATTEMPTS {
        match write(journal, key, event.clone(), message.clone()).await {
            Ok(()) => return Ok(()),
            Err(NotRecorded::Lost(_)) => {
                // Another runner pushed in between: take its state, wait a little (jittered, so
                // the two do not collide again in step) and append on top.
                tokio::time::sleep(backoff(attempt.min(3)) / 4).await;
                journal.sync().await?;
            }
            Err(NotRecorded::Failed(m)) => return Err(m),
        }
    }
    Err("the state branch kept moving; the result could not be recorded".into())
}

async fn deliver(
    job: &Job,
    adapter: &dyn Adapter,
    journal: &Journal,
    run: &str,
    now: Timestamp,
    grace: SignedDuration,
    max_wait: Duration,
) -> Result<Step, Lost> {
    let key = &job.key;
    let hash = job.outgoing.content_hash.clone();
    if let JobKind::Reconcile { pending, due } = job.kind {
        if let plan::Pending::Intent {
            lease_until: Some(until),
        } = pending
        {
            if until > now {
                return Ok(Step::Done(Outcome::Held));
            }
        }
        // An earlier run died between intent and result: look before doing anything.
        match adapter.find(&job.outgoing).await {
            Ok(Lookup::Found(posted)) => {
                let event = Event::Published {
                    content_hash: hash.clone(),
                    remote_id: posted.remote_id.clone(),
                    url: posted.url.clone(),
                };
                return Ok(Step::Done(
                    match write_result(journal, key, event, format!("found {key} on the platform"))
                        .await
                    {
                        Ok(()) => Outcome::Recovered { url: posted.url },
                        Err(m) => Outcome::Unknown(format!(
                            "published as {}, but recording it failed: {m}",
                            posted.remote_id
                        )),
                    },
                ));
            }
            Ok(Lookup::NotFound)
                if adapter.dedup() == Dedup::Safe && now.duration_since(due) <= grace => {}
            Ok(Lookup::NotFound) if adapter.dedup() == Dedup::Safe => {
                // Provably not there and too late to publish: withdrawn, so the plan shows it missed.
                let event = Event::Withdrawn { reason: "not found on the platform after an interrupted run, and past the grace window".into() };
                let _ = write_result(journal, key, event, format!("withdraw {key}")).await;
                return Ok(Step::Done(Outcome::NotSent(
                    "missed: an interrupted run did not publish it in time".into(),
                )));
            }
            // Could not ask (no connection, rate limited, signed out): check again next run.
            Err(PublishError::NotSent(r) | PublishError::Auth(r)) => {
                return Ok(Step::Done(Outcome::NotSent(format!(
                    "could not check the platform: {r}"
                ))))
            }
            Err(PublishError::RateLimited { detail, .. }) => {
                return Ok(Step::Done(Outcome::NotSent(format!(
                    "could not check the platform: {detail}"
                ))))
            }
            Ok(_) | Err(_) => {
                let reason = "an earlier run was interrupted and the platform cannot confirm whether the post exists".to_string();
                if pending != plan::Pending::Unknown {
                    let event = Event::Unknown {
                        content_hash: hash.clone(),
                        reason: reason.clone(),
                    };
                    let _ = write_result(journal, key, event, format!("mark {key} unknown")).await;
                }
                return Ok(Step::Done(Outcome::Unknown(reason)));
            }
        }
    }

    // The intent is durable (committed and pushed) before any request leaves.
    let intent = Event::Intent {
        content_hash: hash.clone(),
        commit: job.commit.clone(),
        attempt: 1,
        texts: job.texts.clone(),
        run: Some(run.to_string()),
        // On the planning clock (`--at` or now), like every other time decision of the run.
        lease_until: now.checked_add(LEASE).ok(),
    };
    match write(journal, key, intent, format!("intent {key}")).await {
        Ok(()) => {}
        Err(NotRecorded::Lost(lost)) => return Err(lost),
        Err(NotRecorded::Failed(m)) => {
            return Ok(Step::Done(Outcome::NotSent(format!(
                "could not record the intent: {m}"
            ))))
        }
    }

    let mut attempt = 0;
    let result = loop {
        attempt += 1;
        match adapter.publish(&job.outgoing).await {
            Ok(posted) => break Ok(posted),
            // Nothing was created: wait as the platform asks, within this run's patience.
            Err(PublishError::RateLimited { retry_after, .. })
                if attempt < ATTEMPTS && retry_after <= max_wait =>
            {
                tokio::time::sleep(retry_after).await;
            }
            Err(PublishError::Unknown(_))
                if attempt < ATTEMPTS && adapter.dedup() == Dedup::Safe =>
            {
                tokio::time::sleep(backoff(attempt)).await;
            }
            Err(e) => break Err(e),
        }
    };
    let (event, outcome) = match result {
        Ok(Posted { remote_id, url }) => (
            Event::Published {
                content_hash: hash,
                remote_id,
                url: url.clone(),
            },
            Outcome::Published { url },
        ),
        Err(PublishError::Rejected(r)) => (
            Event::Rejected {
                content_hash: hash,
                reason: r.clone(),
            },
            Outcome::Rejected(r),
        ),
        Err(PublishError::Unknown(r)) => (
            Event::Unknown {
                content_hash: hash,
                reason: r.clone(),
            },
            Outcome::Unknown(r),
        ),
        Err(PublishError::RateLimited {
            detail,
            retry_after,
        }) => {
            let r = format!(
                "rate limited ({detail}); retry after {}s",
                retry_after.as_secs_f64().ceil()
            );
            (Event::Withdrawn { reason: r.clone() }, Outcome::NotSent(r))
        }
        Err(PublishError::Auth(r) | PublishError::NotSent(r)) => {
            (Event::Withdrawn { reason: r.clone() }, Outcome::NotSent(r))
        }
    };
    let message = format!("result {key}");
    let entry = Entry {
        at: Timestamp::now(),
        event: event.clone(),
    };
    Ok(Step::Recording(Box::new(Recording {
        pending: journal.submit(key, entry, message.clone()),
        key: key.clone(),
        event,
        message,
        outcome,
    })))
}

/// 1 s, 2 s, 4 s … with up to 50% jitter, so runners that failed together do not retry together.
fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(500 << attempt.min(6));
    let jitter = u64::from(Timestamp::now().subsec_nanosecond().unsigned_abs())
        % (base.as_millis() as u64 / 2 + 1);
    base + Duration::from_millis(jitter)
}
