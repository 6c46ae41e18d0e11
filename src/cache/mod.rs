//! The post cache: what loading and rendering made of each post file, keyed by a hash of
//! everything that went into it, so an unchanged post costs a read and a hash instead of a
//! parse, a schema check and a render.
//!
//! Only posts that loaded and rendered without a single diagnostic are kept, and every check
//! still runs on every post, so a cached post is exactly what a fresh load and render would
//! give. The key covers the smm build (a hash of its sources), smm.yaml, templates/, the post's
//! campaign.yaml, the post's path and its bytes. The cache is one file in the git directory:
//! never committed, one per clone. A run appends the posts it rendered; the file is rewritten
//! with only the entries a run used once those are fewer than the rest (or it is damaged).
//! Outside git there is none; `SMM_NO_CACHE=1` turns it off.

mod codec;

use std::collections::HashMap;
use std::io::{Read as _, Seek as _, Write as _};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock};

use jiff::tz::TimeZone;
use sha2::{Digest, Sha256};

use crate::render::Delivery;
use crate::source::FileId;
use crate::workspace::{Post, PostSpec};
use codec::{Codec, Reader, Writer};

/// The environment variable that turns the cache off (for measuring, or to rule it out).
pub const DISABLE_VAR: &str = "SMM_NO_CACHE";

const MAGIC: &[u8] = b"smm post cache\n";
const BUILD_ID: &str = env!("SMM_BUILD_ID");

/// A post's key: SHA-256 of its inputs.
pub type Key = [u8; 32];

/// What loading found in the cache for one post.
#[derive(Debug)]
pub enum Cached {
    /// No cache, or the post had a diagnostic: render it, keep nothing.
    No,
    /// Render it; keep it under this key if it renders without a diagnostic.
    Miss(Key),
    /// Loaded from the cache, with its deliveries already rendered.
    Hit(Vec<Delivery>),
}

/// The workspace-wide inputs of a post's rendering, hashed once per campaign.
#[derive(Clone)]
pub struct Inputs(Sha256);

impl Inputs {
    /// These inputs and one more file.
    pub fn with(&self, name: &str, text: &str) -> Inputs {
        let mut h = self.0.clone();
        hash_field(&mut h, name);
        hash_field(&mut h, text);
        Inputs(h)
    }
}

fn hash_field(h: &mut Sha256, field: &str) {
    h.update((field.len() as u64).to_le_bytes());
    h.update(field);
}

/// The cache of one workspace for one run: read when opened, written by [`Cache::save`].
pub struct Cache {
    file: Option<PathBuf>,
    /// The file as opened: read again to rewrite it after [`Cache::release`] (another run may
    /// have replaced the file at `file` meanwhile; this handle still reads the one indexed).
    handle: Option<std::fs::File>,
    /// Its bytes until released.
    bytes: RwLock<Vec<u8>>,
    /// The file was missing or empty.
    fresh: bool,
    index: HashMap<Key, Range<usize>>,
    /// Entries in the file, superseded ones included.
    stored: usize,
    /// The file is unreadable past some point, or an entry failed its checksum.
    damaged: AtomicBool,
    /// Entries this run used or made: what a rewritten file holds.
    keep: Mutex<HashMap<Key, Entry>>,
}

/// An entry (checksum and payload): still in the file read, or made by this run.
enum Entry {
    Old(Range<usize>),
    New(Vec<u8>),
}

impl Cache {
    /// The cache of the workspace at `root`: empty when it cannot be read, off outside git or
    /// when `SMM_NO_CACHE` is set.
    pub fn open(root: &Path) -> Cache {
        if std::env::var_os(DISABLE_VAR).is_some_and(|v| !v.is_empty() && v != "0") {
            return Cache::off();
        }
        let Some(file) = cache_file(root) else {
            return Cache::off();
        };
        let mut handle = std::fs::File::open(&file).ok();
        let mut bytes = Vec::new();
        if let Some(h) = &mut handle {
            if h.read_to_end(&mut bytes).is_err() {
                bytes.clear();
            }
        }
        let read = index(&bytes);
        Cache {
            file: Some(file),
            handle,
            fresh: bytes.is_empty(),
            bytes: RwLock::new(bytes),
            index: read.index,
            stored: read.stored,
            damaged: AtomicBool::new(read.damaged),
            keep: Mutex::default(),
        }
    }

    /// No cache: every post is loaded and rendered.
    pub fn off() -> Cache {
        Cache {
            file: None,
            handle: None,
            bytes: RwLock::default(),
            fresh: true,
            index: HashMap::new(),
            stored: 0,
            damaged: AtomicBool::new(false),
            keep: Mutex::default(),
        }
    }

    /// Hashes the workspace-wide inputs (smm.yaml, templates, a campaign), in a fixed order;
    /// `None` with the cache off.
    pub fn inputs<'a>(&self, texts: impl IntoIterator<Item = (String, &'a str)>) -> Option<Inputs> {
        self.file.as_ref()?;
        let mut h = Sha256::new();
        h.update(BUILD_ID);
        for (name, text) in texts {
            hash_field(&mut h, &name);
            hash_field(&mut h, text);
        }
        Some(Inputs(h))
    }

    /// The key of a post file with these inputs, path and text.
    pub fn key(inputs: &Inputs, rel: &Path, text: &str) -> Key {
        let mut h = inputs.0.clone();
        hash_field(&mut h, &rel.to_string_lossy());
        h.update(text);
        h.finalize().into()
    }

    /// The post and its deliveries stored under `key`, if any (a damaged entry is a miss).
    /// Deliveries carry post index 0 until the caller places them.
    pub fn get(
        &self,
        key: &Key,
        file: FileId,
        campaign: Option<&str>,
        zone: &TimeZone,
    ) -> Option<(Post, Vec<Delivery>)> {
        let range = self.index.get(key)?;
        let bytes = self.bytes.read().unwrap_or_else(|e| e.into_inner());
        // The key hashes the inputs, not the entry: a damaged entry is caught by its checksum.
        let (check, payload) = bytes.get(range.clone())?.split_at_checked(CHECK)?;
        if check != checksum(payload) {
            self.damaged.store(true, Ordering::Relaxed);
            return None;
        }
        let mut r = Reader::new(payload);
        let id = String::get(&mut r)?;
        let explicit_id = bool::get(&mut r)?;
        let when = codec::get_when(&mut r, zone)?;
        let spec = PostSpec::get(&mut r)?;
        let deliveries = (0..usize::get(&mut r)?)
            .map(|_| codec::get_delivery(&mut r, 0))
            .collect::<Option<Vec<_>>>()?;
        if !r.is_empty() {
            return None;
        }
        self.lock().insert(*key, Entry::Old(range.clone()));
        let post = Post {
            file,
            doc: Default::default(),
            id,
            explicit_id,
            campaign: campaign.map(str::to_string),
            when,
            spec,
        };
        Some((post, deliveries))
    }

    /// Keeps a post that loaded and rendered without a diagnostic.
    pub fn put(&self, key: Key, post: &Post, deliveries: &[Delivery]) {
        let mut w = Writer::default();
        post.id.put(&mut w);
        post.explicit_id.put(&mut w);
        codec::put_when(&post.when, &mut w);
        post.spec.put(&mut w);
        deliveries.len().put(&mut w);
        for d in deliveries {
            codec::put_delivery(d, &mut w);
        }
        let mut entry = checksum(&w.0).to_vec();
        entry.extend_from_slice(&w.0);
        self.lock().insert(key, Entry::New(entry));
    }

    /// Appends the entries this run made; rewrites the file with only the entries this run used
    /// or made when the others would outnumber them, or when it was damaged. A cache that cannot
    /// be written only costs time, so failures are ignored.
    pub fn save(&self) {
        let Some(file) = &self.file else { return };
        let keep = self.lock();
        let mut new: Vec<(&Key, &[u8])> = keep
            .iter()
            .filter_map(|(k, e)| match e {
                Entry::New(bytes) => Some((k, bytes.as_slice())),
                Entry::Old(_) => None,
            })
            .collect();
        new.sort_unstable_by_key(|(k, _)| *k);
        let unused = (self.stored + new.len()).saturating_sub(keep.len());
        if self.fresh || self.damaged.load(Ordering::Relaxed) || unused > keep.len() {
            let kept = self.bytes.read().unwrap_or_else(|e| e.into_inner());
            let reread = match (&self.handle, kept.is_empty()) {
                (Some(file), true) => {
                    let mut handle: &std::fs::File = file;
                    let mut again = Vec::new();
                    let _ = handle
                        .seek(std::io::SeekFrom::Start(0))
                        .and_then(|_| handle.read_to_end(&mut again));
                    again
                }
                _ => Vec::new(),
            };
            let old: &[u8] = if kept.is_empty() { &reread } else { &kept };
            let mut all: Vec<(&Key, &[u8])> = keep
                .iter()
                .filter_map(|(k, e)| match e {
                    Entry::Old(range) => old.get(range.clone()).map(|b| (k, b)),
                    Entry::New(bytes) => Some((k, bytes.as_slice())),
                })
                .collect();
            all.sort_unstable_by_key(|(k, _)| *k);
            let _ = rewrite(file, &all);
        } else if !new.is_empty() {
            let _ = append(file, &new);
        }
    }

    /// Frees the file's bytes once every lookup is done (18 MB at 10,000 posts); later lookups
    /// miss.
    pub fn release(&self) {
        *self.bytes.write().unwrap_or_else(|e| e.into_inner()) = Vec::new();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        self.keep.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Bytes of an entry's checksum.
const CHECK: usize = 16;

fn checksum(payload: &[u8]) -> [u8; CHECK] {
    let digest = Sha256::digest(payload);
    let mut out = [0; CHECK];
    out.copy_from_slice(&digest[..CHECK]);
    out
}

/// What reading a cache file found.
struct Read {
    index: HashMap<Key, Range<usize>>,
    stored: usize,
    damaged: bool,
}

/// `MAGIC`, the build id and a newline, then per entry: key, length (u32 LE), entry (a
/// checksum of the payload, then the payload). A later entry for a key wins. Reading stops at
/// a damaged tail, keeping what came before.
fn index(bytes: &[u8]) -> Read {
    let mut read = Read {
        index: HashMap::new(),
        stored: 0,
        damaged: !bytes.is_empty(),
    };
    let Some(rest) = bytes
        .strip_prefix(MAGIC)
        .and_then(|r| r.strip_prefix(BUILD_ID.as_bytes()))
        .and_then(|r| r.strip_prefix(b"\n"))
    else {
        return read;
    };
    let mut at = bytes.len() - rest.len();
    while at < bytes.len() {
        let entry = || {
            let key: Key = bytes.get(at..at + 32)?.try_into().ok()?;
            let len = u32::from_le_bytes(bytes.get(at + 32..at + 36)?.try_into().ok()?) as usize;
            let start = at + 36;
            bytes.get(start..start + len)?;
            Some((key, start..start + len))
        };
        let Some((key, range)) = entry() else {
            return read;
        };
        at = range.end;
        read.index.insert(key, range);
        read.stored += 1;
    }
    read.damaged = false;
    read
}

/// An entry's key and length, as written before it.
fn entry_head(key: &Key, entry: &[u8]) -> std::io::Result<[u8; 36]> {
    let len = u32::try_from(entry.len()).map_err(std::io::Error::other)?;
    let mut head = [0; 36];
    head[..32].copy_from_slice(key);
    head[32..].copy_from_slice(&len.to_le_bytes());
    Ok(head)
}

/// The whole file, renamed into place: a concurrent run reads the old file or the new one.
fn rewrite(file: &Path, entries: &[(&Key, &[u8])]) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    let mut out = std::io::BufWriter::new(tmp.as_file_mut());
    out.write_all(MAGIC)?;
    out.write_all(BUILD_ID.as_bytes())?;
    out.write_all(b"\n")?;
    for (key, entry) in entries {
        out.write_all(&entry_head(key, entry)?)?;
        out.write_all(entry)?;
    }
    out.flush()?;
    drop(out);
    tmp.persist(file).map_err(|e| e.error)?;
    Ok(())
}

/// New entries at the end, in one write: runs appending at once do not interleave, and a torn
/// tail is found by the next reader (which then rewrites the file).
fn append(file: &Path, entries: &[(&Key, &[u8])]) -> std::io::Result<()> {
    let mut out = Vec::new();
    for (key, entry) in entries {
        out.extend_from_slice(&entry_head(key, entry)?);
        out.extend_from_slice(entry);
    }
    std::fs::OpenOptions::new()
        .append(true)
        .open(file)?
        .write_all(&out)
}

/// `<git dir>/smm/posts-<hash of the workspace's place in the repository>.cache`, so two
/// workspaces in one repository do not evict each other's posts.
fn cache_file(root: &Path) -> Option<PathBuf> {
    let root = root.canonicalize().ok()?;
    for dir in root.ancestors() {
        let dot_git = dir.join(".git");
        let git_dir = if dot_git.is_dir() {
            dot_git
        } else if dot_git.is_file() {
            // A worktree or submodule: `.git` names the real git directory.
            let text = std::fs::read_to_string(&dot_git).ok()?;
            dir.join(text.strip_prefix("gitdir:")?.trim())
        } else {
            continue;
        };
        let place = root.strip_prefix(dir).ok()?.to_string_lossy().into_owned();
        let hash = Sha256::digest(place.as_bytes());
        let name: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
        return Some(git_dir.join("smm").join(format!("posts-{name}.cache")));
    }
    None
}
