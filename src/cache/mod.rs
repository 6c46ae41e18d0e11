//! The post cache: what loading and rendering made of each post file, keyed by a hash of
//! everything that went into it, so an unchanged post costs a read and a hash instead of a
//! parse, a schema check and a render.
//!
//! Only posts that loaded and rendered without a single diagnostic are kept, and every check
//! still runs on every post, so a cached post is exactly what a fresh load and render would
//! give. The key covers the smm build (a hash of its sources), smm.yaml, templates/, the post's
//! campaign.yaml, the post's path and its bytes. The cache is one file in the git directory:
//! never committed, one per clone, rewritten only when something changed. Outside git there is
//! none; `SMM_NO_CACHE=1` turns it off.

mod codec;

use std::collections::HashMap;
use std::io::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

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
    Hit(Key, Vec<Delivery>),
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
    bytes: Vec<u8>,
    index: HashMap<Key, Range<usize>>,
    /// What the next cache file holds: entries this run used or made.
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
        let bytes = std::fs::read(&file).unwrap_or_default();
        let index = index(&bytes).unwrap_or_default();
        Cache {
            file: Some(file),
            bytes,
            index,
            keep: Mutex::default(),
        }
    }

    /// No cache: every post is loaded and rendered.
    pub fn off() -> Cache {
        Cache {
            file: None,
            bytes: Vec::new(),
            index: HashMap::new(),
            keep: Mutex::default(),
        }
    }

    /// Hashes the workspace-wide inputs (smm.yaml, templates, a campaign), in a fixed order;
    /// `None` with the cache off.
    pub fn inputs<'a>(
        &self,
        texts: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Option<Inputs> {
        self.file.as_ref()?;
        let mut h = Sha256::new();
        h.update(BUILD_ID);
        for (name, text) in texts {
            hash_field(&mut h, name);
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
        // The key hashes the inputs, not the entry: a damaged entry is caught by its checksum.
        let (check, payload) = self.bytes.get(range.clone())?.split_at_checked(CHECK)?;
        if check != checksum(payload) {
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

    /// Writes the entries this run used or made, when they differ from what was read. A cache
    /// that cannot be written only costs time, so failures are ignored.
    pub fn save(&self) {
        let Some(file) = &self.file else { return };
        let keep = self.lock();
        let unchanged =
            keep.len() == self.index.len() && keep.values().all(|e| matches!(e, Entry::Old(_)));
        if unchanged {
            return;
        }
        let mut entries: Vec<(&Key, &[u8])> = keep
            .iter()
            .map(|(k, e)| {
                let bytes = match e {
                    Entry::Old(range) => &self.bytes[range.clone()],
                    Entry::New(bytes) => bytes.as_slice(),
                };
                (k, bytes)
            })
            .collect();
        entries.sort_unstable_by_key(|(k, _)| *k);
        let _ = write_file(file, &entries);
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

/// `MAGIC`, the build id and a newline, then per entry: key, length (u32 LE), entry (a
/// checksum of the payload, then the payload).
fn index(bytes: &[u8]) -> Option<HashMap<Key, Range<usize>>> {
    let rest = bytes.strip_prefix(MAGIC)?;
    let rest = rest
        .strip_prefix(BUILD_ID.as_bytes())?
        .strip_prefix(b"\n")?;
    let mut at = bytes.len() - rest.len();
    let mut index = HashMap::new();
    while at < bytes.len() {
        let key: Key = bytes.get(at..at + 32)?.try_into().ok()?;
        let len = u32::from_le_bytes(bytes.get(at + 32..at + 36)?.try_into().ok()?) as usize;
        let start = at + 36;
        bytes.get(start..start + len)?;
        index.insert(key, start..start + len);
        at = start + len;
    }
    Some(index)
}

fn write_file(file: &Path, entries: &[(&Key, &[u8])]) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    let mut out = std::io::BufWriter::new(tmp.as_file_mut());
    out.write_all(MAGIC)?;
    out.write_all(BUILD_ID.as_bytes())?;
    out.write_all(b"\n")?;
    for (key, entry) in entries {
        let len = u32::try_from(entry.len()).map_err(std::io::Error::other)?;
        out.write_all(&key[..])?;
        out.write_all(&len.to_le_bytes())?;
        out.write_all(entry)?;
    }
    out.flush()?;
    drop(out);
    // Renamed into place: a concurrent run reads the old file or the new one, never half.
    tmp.persist(file).map_err(|e| e.error)?;
    Ok(())
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
