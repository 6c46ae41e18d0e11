//! The post cache: what loading and rendering made of each post file, keyed by a hash of
//! everything that went into it, so an unchanged post costs a lookup instead of a parse, a
//! schema check and a render.
//!
//! Only posts that loaded and rendered without a single diagnostic are kept, so a cached post is
//! exactly what a fresh load and render would give. The key covers the smm build (a hash of its
//! sources), smm.yaml, templates/, the post's campaign.yaml, the post's path and its bytes. An
//! entry also says whether the post passed the checks that look at it alone (text length and
//! rules, disclosure, the same text on several platforms; they depend on nothing else the key
//! does not cover): a post that did is not checked for them again, and its texts stay encoded
//! until something prints them. The checks across posts and against media files run every time.
//!
//! A file's stamp (size, inode, times) vouches for its bytes, as in git's index, so an unchanged
//! post file is not even read (see `stamps`). The cache is two files in the git directory:
//! never committed, one per clone. A run appends the posts it rendered; the file is rewritten
//! with only the entries a run used once those are fewer than the rest (or it is damaged).
//! Outside git there is none; `SMM_NO_CACHE=1` turns it off.

mod codec;
mod stamps;

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use jiff::tz::TimeZone;
use sha2::{Digest, Sha256};

use crate::render::Delivery;
use crate::source::{ContentId, FileId};
use crate::workspace::{Post, PostSpec};
use codec::{Codec, Reader, Writer};
pub use stamps::Stamp;
use stamps::Stamps;

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
    /// Loaded from the cache, with its deliveries already rendered; `checked`: they passed
    /// the checks of a post on its own (see `check::each_post`), which need not run again.
    Hit {
        deliveries: Vec<Delivery>,
        checked: bool,
    },
}

/// What rendering leaves for the cache to do with one post once it is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pending {
    /// Nothing: not cached, or cached already.
    Nothing,
    /// Cached already, and its own checks passed when it was kept: they need not run.
    Checked,
    /// Rendered without a diagnostic: keep it under this key, with whether its checks passed.
    Keep(Key),
}

/// A value kept in the cache's bytes until first used: the texts of cached posts, which
/// validating a post that passed its text checks never reads.
#[derive(Clone)]
pub struct Deferred<T> {
    /// Boxed: most deferred values of a large workspace are never decoded, and an empty box
    /// is a pointer where a post's spec is 250 bytes.
    value: OnceLock<Box<T>>,
    stored: Option<Stored<T>>,
}

#[derive(Clone)]
struct Stored<T> {
    bytes: Arc<Vec<u8>>,
    range: Range<usize>,
    /// Reads the value at `range` of the shared bytes (which nested deferred values refer to).
    decode: fn(&Arc<Vec<u8>>, Range<usize>) -> Option<T>,
}

impl<T> Deferred<T> {
    pub fn ready(value: T) -> Deferred<T> {
        Deferred {
            value: OnceLock::from(Box::new(value)),
            stored: None,
        }
    }

    fn stored(
        bytes: Arc<Vec<u8>>,
        range: Range<usize>,
        decode: fn(&Arc<Vec<u8>>, Range<usize>) -> Option<T>,
    ) -> Deferred<T> {
        Deferred {
            value: OnceLock::new(),
            stored: Some(Stored {
                bytes,
                range,
                decode,
            }),
        }
    }
}

impl<T: Default> Deferred<T> {
    pub fn get(&self) -> &T {
        self.value.get_or_init(|| {
            // The bytes passed their entry's checksum and were written by this very build (the
            // build id heads the file): only a hand-made file could fail to decode, and then
            // the default stands in rather than a crash (apply checks a delivery's decoded
            // content against its kept hash before publishing it).
            let decoded = self
                .stored
                .as_ref()
                .and_then(|s| (s.decode)(&s.bytes, s.range.clone()));
            Box::new(decoded.unwrap_or_default())
        })
    }
}

impl<T: Default> Deferred<T> {
    /// Calls `f` with the value, decoding it for this call only if it was not decoded yet: for
    /// a pass that looks at many values once (the media check reads the parts of every delivery
    /// with media; kept decoded, those were 76 MB at 100,000 posts).
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        if let Some(value) = self.value.get() {
            return f(value);
        }
        match self
            .stored
            .as_ref()
            .and_then(|s| (s.decode)(&s.bytes, s.range.clone()))
        {
            Some(value) => f(&value),
            None => f(self.get()),
        }
    }
}

impl<T: Default> std::ops::Deref for Deferred<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.get()
    }
}

impl<T: Default + serde::Serialize> serde::Serialize for Deferred<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.get().serialize(s)
    }
}

impl<T: Default + std::fmt::Debug> std::fmt::Debug for Deferred<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
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
    /// Its bytes as read: the entries' ranges point into them, and every deferred value of a
    /// cached post refers to them for as long as it lives.
    bytes: Arc<Vec<u8>>,
    /// The file was missing or empty.
    fresh: bool,
    index: Index,
    /// Entries in the file, superseded ones included.
    stored: usize,
    /// The file is unreadable past some point, or an entry failed its checksum.
    damaged: AtomicBool,
    /// Entries this run made (checksum and payload); with the ones it used from the file, what
    /// a rewritten file holds.
    made: Mutex<HashMap<Key, Vec<u8>>>,
    stamps: Option<Stamps>,
    /// The post files this run saw (path, stamp, content), for the next run's stamps.
    seen: Mutex<Vec<(PathBuf, Stamp, ContentId)>>,
}

/// Where each entry of the file read is, by key.
type Index = HashMap<Key, Indexed, std::hash::BuildHasherDefault<KeyHasher>>;

/// An entry of the file read (checksum and payload), and whether this run used it. A flag,
/// not a shared list: both cores look entries up at once.
struct Indexed {
    range: Range<usize>,
    used: AtomicBool,
}

/// Keys are SHA-256 digests: their own bytes are a hash already, no need to hash them again.
#[derive(Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut first = [0; 8];
        let n = bytes.len().min(8);
        first[..n].copy_from_slice(&bytes[..n]);
        self.0 = self.0.rotate_left(17) ^ u64::from_le_bytes(first);
    }

    fn finish(&self) -> u64 {
        self.0
    }
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
        // The stamps are read beside the entries: two files, both cores.
        let (stamps, bytes) = rayon::join(
            || Stamps::open(file.with_extension("stamps"), root),
            || {
                let mut bytes = Vec::new();
                if let Ok(mut f) = std::fs::File::open(&file) {
                    if f.read_to_end(&mut bytes).is_err() {
                        bytes.clear();
                    }
                }
                bytes
            },
        );
        let read = index(&bytes);
        Cache {
            stamps: Some(stamps),
            seen: Mutex::default(),
            file: Some(file),
            fresh: bytes.is_empty(),
            bytes: Arc::new(bytes),
            index: read.index,
            stored: read.stored,
            damaged: AtomicBool::new(read.damaged),
            made: Mutex::default(),
        }
    }

    /// No cache: every post is loaded and rendered.
    pub fn off() -> Cache {
        Cache {
            file: None,
            bytes: Arc::default(),
            fresh: true,
            index: Index::default(),
            stored: 0,
            damaged: AtomicBool::new(false),
            made: Mutex::default(),
            stamps: None,
            seen: Mutex::default(),
        }
    }

    /// Whether post files under `root` may be vouched for by their stamps: `root` is the
    /// workspace the cache was opened for (not a base revision written out to render).
    pub fn stamps_for(&self, root: &Path) -> bool {
        self.stamps.as_ref().is_some_and(|s| s.is_for(root))
    }

    /// What the post file at `rel` holds when its stamp is the one a run recorded, so it need
    /// not be read; only for the root of [`Cache::stamps_for`].
    pub fn known_content(&self, rel: &Path, stamp: &Stamp) -> Option<ContentId> {
        self.stamps.as_ref()?.content(rel, stamp)
    }

    /// The post files of the workspace as this run found them, saved for the next run.
    pub fn saw(&self, files: Vec<(PathBuf, Stamp, ContentId)>) {
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = files;
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

    /// The key of a post file with these inputs, path and content.
    pub fn key(inputs: &Inputs, rel: &Path, content: &ContentId) -> Key {
        let mut h = inputs.0.clone();
        hash_field(&mut h, &rel.to_string_lossy());
        h.update(content.sha256);
        h.finalize().into()
    }

    /// The post and its deliveries stored under `key`, and whether they passed the post's own
    /// checks, if any (a damaged entry is a miss). Deliveries carry post index 0 until the
    /// caller places them.
    pub fn get(
        &self,
        key: &Key,
        file: FileId,
        campaign: Option<&str>,
        zone: &TimeZone,
    ) -> Option<(Post, Vec<Delivery>, bool)> {
        let Indexed { range, used } = self.index.get(key)?;
        let bytes = &self.bytes;
        // The key hashes the inputs, not the entry: a damaged entry is caught by its checksum.
        let (check, payload) = bytes.get(range.clone())?.split_at_checked(CHECK)?;
        if check != checksum(payload) {
            self.damaged.store(true, Ordering::Relaxed);
            return None;
        }
        let mut r = Reader::at(payload, range.start + CHECK);
        let id = String::get(&mut r)?;
        let explicit_id = bool::get(&mut r)?;
        let when = codec::get_when(&mut r, zone)?;
        let delete = bool::get(&mut r)?;
        let spec = codec::get_deferred(&mut r, bytes, codec::whole_at::<PostSpec>)?;
        let checked = bool::get(&mut r)?;
        let deliveries = (0..usize::get(&mut r)?)
            .map(|_| codec::get_delivery(&mut r, bytes, 0))
            .collect::<Option<Vec<_>>>()?;
        if !r.is_empty() {
            return None;
        }
        used.store(true, Ordering::Relaxed);
        let post = Post {
            file,
            doc: Default::default(),
            id,
            explicit_id,
            campaign: campaign.map(str::to_string),
            when,
            delete,
            spec,
        };
        Some((post, deliveries, checked))
    }

    /// Keeps a post that loaded and rendered without a diagnostic; `checked`: its deliveries
    /// passed the post's own checks.
    pub fn put(&self, key: Key, post: &Post, deliveries: &[Delivery], checked: bool) {
        // Destructured, so a new field fails to compile here instead of being left out.
        let Post {
            file: _,     // given back on reading
            doc: _,      // parsed again if a diagnostic needs it
            campaign: _, // from the post's folder, given back on reading
            id,
            explicit_id,
            when,
            delete,
            spec,
        } = post;
        let mut w = Writer::default();
        id.put(&mut w);
        explicit_id.put(&mut w);
        codec::put_when(when, &mut w);
        delete.put(&mut w);
        codec::put_deferred(&**spec, &mut w);
        checked.put(&mut w);
        deliveries.len().put(&mut w);
        for d in deliveries {
            codec::put_delivery(d, &mut w);
        }
        let mut entry = checksum(&w.0).to_vec();
        entry.extend_from_slice(&w.0);
        self.lock().insert(key, entry);
    }

    /// Appends the entries this run made; rewrites the file with only the entries this run used
    /// or made when the others would outnumber them, or when it was damaged. A cache that cannot
    /// be written only costs time, so failures are ignored.
    pub fn save(&self) {
        let Some(file) = &self.file else { return };
        if let Some(stamps) = &self.stamps {
            let seen = std::mem::take(&mut *self.seen.lock().unwrap_or_else(|e| e.into_inner()));
            // Only a run that loaded the workspace knows its files.
            if !seen.is_empty() {
                stamps.save(seen);
            }
        }
        let made = self.lock();
        let mut new: Vec<(&Key, &[u8])> = made.iter().map(|(k, e)| (k, e.as_slice())).collect();
        new.sort_unstable_by_key(|(k, _)| *k);
        // A key made again (its entry was damaged) is written once, as made.
        let used: Vec<(&Key, &Range<usize>)> = self
            .index
            .iter()
            .filter(|(k, i)| i.used.load(Ordering::Relaxed) && !made.contains_key(*k))
            .map(|(k, i)| (k, &i.range))
            .collect();
        let kept = used.len() + new.len();
        let unused = (self.stored + new.len()).saturating_sub(kept);
        if self.fresh || self.damaged.load(Ordering::Relaxed) || unused > kept {
            let old: &[u8] = &self.bytes;
            let mut all: Vec<(&Key, &[u8])> = used
                .into_iter()
                .filter_map(|(k, range)| old.get(range.clone()).map(|b| (k, b)))
                .chain(new)
                .collect();
            all.sort_unstable_by_key(|(k, _)| *k);
            let _ = rewrite(file, &all);
        } else if !new.is_empty() {
            let _ = append(file, &new);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Vec<u8>>> {
        self.made.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Bytes of an entry's checksum.
const CHECK: usize = 16;

fn checksum(payload: &[u8]) -> [u8; CHECK] {
    xxhash_rust::xxh3::xxh3_128(payload).to_le_bytes()
}

/// What reading a cache file found.
struct Read {
    index: Index,
    stored: usize,
    damaged: bool,
}

/// `MAGIC`, the build id and a newline, then per entry: key, length (u32 LE), entry (a
/// checksum of the payload, then the payload). A later entry for a key wins. Reading stops at
/// a damaged tail, keeping what came before.
fn index(bytes: &[u8]) -> Read {
    let mut read = Read {
        index: Index::default(),
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
        let used = AtomicBool::new(false);
        read.index.insert(key, Indexed { range, used });
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
    write_whole(file, |out| {
        out.write_all(MAGIC)?;
        out.write_all(BUILD_ID.as_bytes())?;
        out.write_all(b"\n")?;
        for (key, entry) in entries {
            out.write_all(&entry_head(key, entry)?)?;
            out.write_all(entry)?;
        }
        Ok(())
    })
}

/// Writes a file through a temporary one renamed into place, so readers see all or nothing.
fn write_whole(
    file: &Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    let mut out = std::io::BufWriter::new(tmp.as_file_mut());
    write(&mut out)?;
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
