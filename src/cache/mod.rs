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
//! post file is not even read (see `stamps`). The cache is three files in the git directory,
//! never committed, one set per clone: the entries' summaries (`.cache`: what validating and
//! planning every post needs, read whole), their texts and specs (`.texts`: read one entry at a
//! time, only when a text is used: a plan on `main` or a validation of posts that passed their
//! own checks reads none) and the stamps. A run appends the posts it rendered; the files are
//! rewritten with only the entries a run used once those are fewer than the rest (or one is
//! damaged). Outside git there is none; `SMM_NO_CACHE=1` turns it off.

mod codec;
mod stamps;

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read as _, Seek as _, Write as _};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use jiff::tz::TimeZone;
use sha2::{Digest, Sha256};

use crate::render::Delivery;
use crate::source::{ContentId, FileId};
use crate::workspace::{Post, PostSpec};
pub use codec::Names;
use codec::{Codec, Reader, Writer};
pub use stamps::Stamp;
use stamps::Stamps;

/// The environment variable that turns the cache off (for measuring, or to rule it out).
pub const DISABLE_VAR: &str = "SMM_NO_CACHE";

const MAGIC: &[u8] = b"smm post cache\n";
const TEXTS_MAGIC: &[u8] = b"smm post texts\n";
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
        deliveries: CachedDeliveries,
        checked: bool,
    },
}

/// A cached post's deliveries, still in the cache's bytes until decoded straight into the
/// report's list: decoded per post and then moved into that list, they were held twice at
/// the peak (70 MB each at 100,000 posts).
pub struct CachedDeliveries {
    source: Source,
    /// The deliveries' bytes in the cache file's.
    range: Range<usize>,
    count: usize,
}

impl std::fmt::Debug for CachedDeliveries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} cached deliveries", self.count)
    }
}

impl CachedDeliveries {
    pub fn count(&self) -> usize {
        self.count
    }

    /// Appends the deliveries, of the post at `post`, to `out`. `false`, with nothing appended,
    /// when their bytes (which passed their entry's checksum) do not decode: only a hand-made
    /// file does that, and it is discarded, so the next run renders every post again.
    /// `names`: the names decoded so far, shared rather than copied.
    pub fn decode_into(&self, post: usize, out: &mut Vec<Delivery>, names: &mut Names) -> bool {
        let before = out.len();
        let decoded = (|| {
            let r = &mut Reader::at(self.source.summary(self.range.clone())?, self.range.start);
            for _ in 0..self.count {
                out.push(codec::get_delivery(r, &self.source, post, names)?);
            }
            r.is_empty().then_some(())
        })();
        if decoded.is_none() {
            out.truncate(before);
            self.source.texts.file.discard();
        }
        decoded.is_some()
    }
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

/// A value of a cached post decoded when first used: its spec and its deliveries' parts, from
/// the cache file's bytes, and their texts, from the texts file (which validating a post that
/// passed its own checks, or planning on `main`, never reads).
#[derive(Clone)]
pub struct Deferred<T> {
    /// Boxed: most deferred values of a large workspace are never decoded, and an empty box
    /// is a pointer where a post's spec is 250 bytes.
    value: OnceLock<Box<T>>,
    stored: Option<Stored<T>>,
}

#[derive(Clone)]
struct Stored<T> {
    source: Source,
    range: Range<usize>,
    /// Reads the value at `range` of the source (which nested deferred values refer to).
    decode: fn(&Source, Range<usize>) -> Option<T>,
}

/// Where a cached entry's deferred values are: its summary, in the cache file's bytes, and its
/// texts, in the texts file.
#[derive(Clone)]
pub(crate) struct Source {
    summary: Arc<Vec<u8>>,
    texts: Arc<Texts>,
}

/// One entry's block of the texts file: read in one go when one of its texts is first used,
/// and checked against the checksum kept with the entry.
pub(crate) struct Texts {
    file: Arc<TextsFile>,
    place: Place,
    bytes: OnceLock<Option<Vec<u8>>>,
}

/// Where an entry's texts are in the texts file, and their checksum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Place {
    at: u64,
    len: u32,
    check: u64,
}

/// The texts file, open for reading while the cache lives.
#[derive(Default)]
struct TextsFile {
    /// Behind a lock: reading is a seek and a read (texts are read a few at a time).
    file: Option<Mutex<File>>,
    /// The id in its head: the cache file it goes with has the same.
    id: Option<[u8; ID]>,
    /// Its length when opened: entries whose texts lie beyond it are not used.
    len: u64,
    path: PathBuf,
    /// Discarded (see [`TextsFile::discard`]): a save keeps none of the entries read.
    discarded: AtomicBool,
}

/// Set when a cached text could not be read back (see [`texts_were_damaged`]).
static TEXTS_DAMAGED: AtomicBool = AtomicBool::new(false);

/// Whether a cached text failed its checksum in this process. The value read was then empty:
/// the command's output may show it so, and must end in an error (the damaged file is gone by
/// then, so the next run renders those posts again). Texts are read after the cache is saved
/// (to be printed) and far from it, hence a flag for the edge rather than an error returned.
pub fn texts_were_damaged() -> bool {
    TEXTS_DAMAGED.load(Ordering::Relaxed)
}

impl Texts {
    /// The block's bytes; `None` when it cannot be read or fails its checksum. Then the texts
    /// file is removed: this run may have saved the cache already (texts are mostly read to be
    /// printed, after that), and without its texts file the next run renders every post again.
    fn bytes(&self) -> Option<&[u8]> {
        self.bytes
            .get_or_init(|| {
                let bytes = self.file.read(self.place);
                if bytes.is_none() {
                    TEXTS_DAMAGED.store(true, Ordering::Relaxed);
                    self.file.discard();
                }
                bytes
            })
            .as_deref()
    }
}

impl TextsFile {
    /// For a block that failed its checksum or an entry that did not decode: none of the
    /// entries read is kept. The file is removed, if the path still names the file read
    /// (another run may have written a new one since), for when this run saved the cache
    /// already: without it, the cache file's entries are not used (a texts file goes with one
    /// cache file) and the next run writes both again.
    fn discard(&self) {
        self.discarded.store(true, Ordering::Relaxed);
        if self.is_at_path() {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    /// Whether the file at its path is still the one opened (not renamed over since).
    fn is_at_path(&self) -> bool {
        std::fs::metadata(&self.path).is_ok_and(|now| self.is(&now))
    }

    /// Whether `other` is the file this one was opened as.
    fn is(&self, other: &std::fs::Metadata) -> bool {
        let Some(file) = &self.file else { return false };
        let held = file.lock().unwrap_or_else(|e| e.into_inner()).metadata();
        held.is_ok_and(|held| same_file(&held, other))
    }

    fn read(&self, place: Place) -> Option<Vec<u8>> {
        let mut file = self
            .file
            .as_ref()?
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mut bytes = vec![0; usize::try_from(place.len).ok()?];
        file.seek(std::io::SeekFrom::Start(place.at)).ok()?;
        file.read_exact(&mut bytes).ok()?;
        (texts_checksum(&bytes) == place.check).then_some(bytes)
    }
}

impl Source {
    /// The entry's summary bytes at `range`.
    pub(super) fn summary(&self, range: Range<usize>) -> Option<&[u8]> {
        self.summary.get(range)
    }

    /// The entry's texts at `range` (relative to its block), read on first use.
    pub(super) fn texts(&self, range: Range<usize>) -> Option<&[u8]> {
        self.texts.bytes()?.get(range)
    }

    /// A source whose texts are in memory already, for decoding what was just encoded.
    #[cfg(test)]
    pub(super) fn in_memory(summary: Vec<u8>, texts: Vec<u8>) -> Source {
        Source {
            summary: Arc::new(summary),
            texts: Arc::new(Texts {
                file: Arc::default(),
                place: Place {
                    at: 0,
                    len: 0,
                    check: 0,
                },
                bytes: OnceLock::from(Some(texts)),
            }),
        }
    }
}

impl<T> Deferred<T> {
    pub fn ready(value: T) -> Deferred<T> {
        Deferred {
            value: OnceLock::from(Box::new(value)),
            stored: None,
        }
    }

    fn stored(
        source: Source,
        range: Range<usize>,
        decode: fn(&Source, Range<usize>) -> Option<T>,
    ) -> Deferred<T> {
        Deferred {
            value: OnceLock::new(),
            stored: Some(Stored {
                source,
                range,
                decode,
            }),
        }
    }
}

impl<T: Default> Deferred<T> {
    pub fn get(&self) -> &T {
        // The bytes passed their checksum and were written by this very build (the build id
        // heads the file): only a damaged or hand-made file could fail to decode. Then the
        // default stands in rather than a crash: a text that failed its checksum ends the
        // command in an error (`texts_were_damaged`), and apply, which checks a delivery's
        // decoded content against its kept hash before publishing it, refuses.
        self.value
            .get_or_init(|| Box::new(self.decode().unwrap_or_default()))
    }

    fn decode(&self) -> Option<T> {
        self.stored
            .as_ref()
            .and_then(|s| (s.decode)(&s.source, s.range.clone()))
    }

    /// Calls `f` with the value, decoding it for this call only if it was not decoded yet: for
    /// a pass that looks at many values once (the media check reads the parts of every delivery
    /// with media; kept decoded, those were 76 MB at 100,000 posts).
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        if let Some(value) = self.value.get() {
            return f(value);
        }
        match self.decode() {
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
    texts: Arc<TextsFile>,
    /// The file was missing or empty.
    fresh: bool,
    index: Index,
    /// Entries in the file, superseded ones included.
    stored: usize,
    /// The file is unreadable past some point, or an entry failed its checksum.
    damaged: AtomicBool,
    /// Entries this run made; with the ones it used from the file, what rewritten files hold.
    made: Mutex<HashMap<Key, Made>>,
    /// Until the workspace's post files are loaded (see [`Cache::saw`]).
    stamps: RwLock<Option<Stamps>>,
}

/// Where each entry of the file read is, by key.
type Index = HashMap<Key, Indexed, std::hash::BuildHasherDefault<KeyHasher>>;

/// An entry of the file read (checksum and payload), where its texts are, and whether this run
/// used it. A flag, not a shared list: both cores look entries up at once.
struct Indexed {
    range: Range<usize>,
    texts: Place,
    used: AtomicBool,
}

/// An entry made by this run: its summary (checksum and payload) and its texts.
struct Made {
    entry: Vec<u8>,
    texts: Vec<u8>,
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
        // The stamps are read beside the entries and the texts file's head, on both cores.
        let (stamps, (bytes, texts)) = rayon::join(
            || Stamps::open(file.with_extension("stamps"), root),
            || {
                let mut bytes = Vec::new();
                if let Ok(mut f) = File::open(&file) {
                    if f.read_to_end(&mut bytes).is_err() {
                        bytes.clear();
                    }
                }
                // Opened after the entries are read: texts are written before the entries that
                // refer to them, so every entry read has its texts in the file.
                (bytes, open_texts(&file.with_extension("texts")))
            },
        );
        let read = index(&bytes, &texts);
        Cache {
            stamps: RwLock::new(Some(stamps)),
            file: Some(file),
            fresh: bytes.is_empty(),
            bytes: Arc::new(bytes),
            texts: Arc::new(texts),
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
            texts: Arc::default(),
            fresh: true,
            index: Index::default(),
            stored: 0,
            damaged: AtomicBool::new(false),
            made: Mutex::default(),
            stamps: RwLock::default(),
        }
    }

    /// Whether post files under `root` may be vouched for by their stamps: `root` is the
    /// workspace the cache was opened for (not a base revision written out to render).
    pub fn stamps_for(&self, root: &Path) -> bool {
        self.read_stamps().as_ref().is_some_and(|s| s.is_for(root))
    }

    /// What the post file at `rel` holds when its stamp is the one a run recorded, so it need
    /// not be read; only for the root of [`Cache::stamps_for`].
    pub fn known_content(&self, rel: &Path, stamp: &Stamp) -> Option<ContentId> {
        self.read_stamps().as_ref()?.content(rel, stamp)
    }

    /// The post files of the workspace as this run found them, saved for the next run now:
    /// the stamps are not needed again, and at 100,000 posts they and this list are 30 MB.
    pub fn saw(&self, files: Vec<(PathBuf, Stamp, ContentId)>) {
        let stamps = self
            .stamps
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        // Only a run that loaded the workspace knows its files.
        if let Some(stamps) = stamps.filter(|_| !files.is_empty()) {
            stamps.save(files);
        }
    }

    fn read_stamps(&self) -> std::sync::RwLockReadGuard<'_, Option<Stamps>> {
        self.stamps.read().unwrap_or_else(|e| e.into_inner())
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
    /// checks, if any (a damaged entry is a miss).
    pub fn get(
        &self,
        key: &Key,
        file: FileId,
        campaign: Option<&str>,
        zone: &TimeZone,
    ) -> Option<(Post, CachedDeliveries, bool)> {
        let Indexed { range, texts, used } = self.index.get(key)?;
        let bytes = &self.bytes;
        // The key hashes the inputs, not the entry: a damaged entry is caught by its checksum.
        let (check, payload) = bytes.get(range.clone())?.split_at_checked(CHECK)?;
        if check != checksum(payload) {
            self.damaged.store(true, Ordering::Relaxed);
            return None;
        }
        let source = Source {
            summary: Arc::clone(bytes),
            texts: Arc::new(Texts {
                file: Arc::clone(&self.texts),
                place: *texts,
                bytes: OnceLock::new(),
            }),
        };
        let mut r = Reader::at(payload, range.start + CHECK);
        let id = String::get(&mut r)?;
        let explicit_id = bool::get(&mut r)?;
        let when = codec::get_when(&mut r, zone)?;
        let delete = bool::get(&mut r)?;
        let spec = codec::get_texts(&mut r, &source, codec::whole_in_texts::<PostSpec>)?;
        let checked = bool::get(&mut r)?;
        // The deliveries come last; each has at least its 32-byte digest and a byte more.
        let count = usize::get(&mut r)?;
        if count > r.remaining() / 33 {
            return None;
        }
        let deliveries = CachedDeliveries {
            range: r.offset()..range.end,
            source,
            count,
        };
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
        let mut texts = Writer::default();
        id.put(&mut w);
        explicit_id.put(&mut w);
        codec::put_when(when, &mut w);
        delete.put(&mut w);
        codec::put_texts(&mut w, &mut texts, |t| spec.put(t));
        checked.put(&mut w);
        deliveries.len().put(&mut w);
        for d in deliveries {
            codec::put_delivery(d, &mut w, &mut texts);
        }
        let mut entry = checksum(&w.0).to_vec();
        entry.extend_from_slice(&w.0);
        let texts = texts.0;
        self.lock().insert(key, Made { entry, texts });
    }

    /// Appends the entries this run made; rewrites the files with only the entries this run
    /// used or made when the others would outnumber them, or when one was damaged. A cache that
    /// cannot be written only costs time, so failures are ignored.
    pub fn save(&self) {
        let Some(file) = &self.file else { return };
        let made = self.lock();
        let mut new: Vec<(&Key, &Made)> = made.iter().collect();
        new.sort_unstable_by_key(|(k, _)| *k);
        // A key made again (its entry was damaged) is written once, as made.
        let discarded = self.texts.discarded.load(Ordering::Relaxed);
        let used: Vec<(&Key, &Indexed)> = self
            .index
            .iter()
            .filter(|(k, i)| !discarded && i.used.load(Ordering::Relaxed) && !made.contains_key(*k))
            .collect();
        let kept = used.len() + new.len();
        let unused = (self.stored + new.len()).saturating_sub(kept);
        let texts_file = &self.texts.path;
        if self.fresh || self.damaged.load(Ordering::Relaxed) || discarded || unused > kept {
            let old: &[u8] = &self.bytes;
            // Each kept entry's texts from the file read (checked again: a block that fails is
            // left out, and its post renders again).
            let kept: Vec<(&Key, &[u8], Vec<u8>)> = used
                .into_iter()
                .filter_map(|(k, i)| {
                    Some((k, old.get(i.range.clone())?, self.texts.read(i.texts)?))
                })
                .collect();
            let mut all: Vec<(&Key, &[u8], &[u8])> = kept
                .iter()
                .map(|(k, entry, texts)| (*k, *entry, texts.as_slice()))
                .chain(
                    new.into_iter()
                        .map(|(k, m)| (k, m.entry.as_slice(), m.texts.as_slice())),
                )
                .collect();
            all.sort_unstable_by_key(|(k, _, _)| *k);
            let _ = rewrite(file, texts_file, &all);
        } else if !new.is_empty() {
            let _ = append(file, &self.texts, &new);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Made>> {
        self.made.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Bytes of an entry's checksum.
const CHECK: usize = 16;

fn checksum(payload: &[u8]) -> [u8; CHECK] {
    xxhash_rust::xxh3::xxh3_128(payload).to_le_bytes()
}

fn texts_checksum(texts: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(texts)
}

/// What reading a cache file found.
struct Read {
    index: Index,
    stored: usize,
    damaged: bool,
}

/// Bytes of an entry's head: key, length (u32 LE), and where its texts are: offset (u64 LE),
/// length (u32 LE), checksum (u64 LE).
const HEAD: usize = 32 + 4 + 8 + 4 + 8;

/// Bytes of the id that pairs a cache file with its texts file.
const ID: usize = 16;

/// `MAGIC`, the build id, a newline and the id of its texts file, then per entry: its head
/// (see [`HEAD`]) and the entry (a checksum of the payload, then the payload). A later entry
/// for a key wins. Reading stops at a damaged tail, or at an entry whose texts are not in the
/// texts file, keeping what came before; a texts file of another id leaves nothing.
fn index(bytes: &[u8], texts: &TextsFile) -> Read {
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
    let Some((id, _)) = rest.split_first_chunk::<ID>() else {
        return read;
    };
    if texts.id != Some(*id) {
        return read;
    }
    let mut at = bytes.len() - rest.len() + ID;
    let u32_at = |at: usize| Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    let u64_at = |at: usize| Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?));
    while at < bytes.len() {
        let entry = || {
            let key: Key = bytes.get(at..at + 32)?.try_into().ok()?;
            let len = u32_at(at + 32)? as usize;
            let place = Place {
                at: u64_at(at + 36)?,
                len: u32_at(at + 44)?,
                check: u64_at(at + 48)?,
            };
            let start = at + HEAD;
            bytes.get(start..start + len)?;
            (place.at.checked_add(place.len.into())? <= texts.len).then_some((
                key,
                start..start + len,
                place,
            ))
        };
        let Some((key, range, place)) = entry() else {
            return read;
        };
        at = range.end;
        let used = AtomicBool::new(false);
        read.index.insert(
            key,
            Indexed {
                range,
                texts: place,
                used,
            },
        );
        read.stored += 1;
    }
    read.damaged = false;
    read
}

/// The texts file at `path`, open for reading, with its id; none when it cannot be read.
fn open_texts(path: &Path) -> TextsFile {
    let opened = || {
        let mut file = File::open(path).ok()?;
        let len = file.metadata().ok()?.len();
        let mut head = vec![0; TEXTS_MAGIC.len() + ID];
        file.read_exact(&mut head).ok()?;
        let id: [u8; ID] = head.strip_prefix(TEXTS_MAGIC)?.try_into().ok()?;
        Some(TextsFile {
            file: Some(Mutex::new(file)),
            id: Some(id),
            len,
            path: path.to_path_buf(),
            discarded: AtomicBool::new(false),
        })
    };
    opened().unwrap_or_else(|| TextsFile {
        path: path.to_path_buf(),
        ..TextsFile::default()
    })
}

/// Whether two metadata are of one file (device and inode; elsewhere than unix, sizes and
/// modification times).
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        (a.dev(), a.ino()) == (b.dev(), b.ino())
    }
    #[cfg(not(unix))]
    {
        a.len() == b.len() && a.modified().ok() == b.modified().ok()
    }
}

/// An entry's head: its key, its length and where its texts are.
fn entry_head(key: &Key, entry: &[u8], texts: Place) -> std::io::Result<[u8; HEAD]> {
    let len = u32::try_from(entry.len()).map_err(std::io::Error::other)?;
    let mut head = [0; HEAD];
    head[..32].copy_from_slice(key);
    head[32..36].copy_from_slice(&len.to_le_bytes());
    head[36..44].copy_from_slice(&texts.at.to_le_bytes());
    head[44..48].copy_from_slice(&texts.len.to_le_bytes());
    head[48..].copy_from_slice(&texts.check.to_le_bytes());
    Ok(head)
}

/// Where each entry's texts go when written one after another from `start`.
fn places<'a>(start: u64, texts: impl Iterator<Item = &'a [u8]>) -> std::io::Result<Vec<Place>> {
    let mut at = start;
    texts
        .map(|t| {
            let len = u32::try_from(t.len()).map_err(std::io::Error::other)?;
            let place = Place {
                at,
                len,
                check: texts_checksum(t),
            };
            at += u64::from(len);
            Ok(place)
        })
        .collect()
}

/// Both files whole, each renamed into place: a concurrent run reads the old files or the new
/// ones (or, between the two renames, a pair whose ids differ, which it does not use). The id
/// is a hash of the texts, so the same entries make the same files.
fn rewrite(
    file: &Path,
    texts_file: &Path,
    entries: &[(&Key, &[u8], &[u8])],
) -> std::io::Result<()> {
    let start = (TEXTS_MAGIC.len() + ID) as u64;
    let places = places(start, entries.iter().map(|(_, _, t)| *t))?;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    for (_, _, texts) in entries {
        hasher.update(texts);
    }
    let id = hasher.digest128().to_le_bytes();
    write_whole(texts_file, |out| {
        out.write_all(TEXTS_MAGIC)?;
        out.write_all(&id)?;
        for (_, _, texts) in entries {
            out.write_all(texts)?;
        }
        Ok(())
    })?;
    write_whole(file, |out| {
        out.write_all(MAGIC)?;
        out.write_all(BUILD_ID.as_bytes())?;
        out.write_all(b"\n")?;
        out.write_all(&id)?;
        for ((key, entry, _), place) in entries.iter().zip(places) {
            out.write_all(&entry_head(key, entry, place)?)?;
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

/// New entries at the end, their texts first, each file in one write: runs appending at once do
/// not interleave, an entry is never read before its texts are written, and a torn tail is found
/// by the next reader (which then rewrites the files). Only onto the pair this run read: the cache
/// file is opened first, then the texts file, which must be the one read (a rewrite renames the
/// texts file into place before the cache file, so if the texts file is unchanged, so is the
/// cache file). Appended to a pair renamed over meanwhile, the entries are only lost.
fn append(file: &Path, texts: &TextsFile, entries: &[(&Key, &Made)]) -> std::io::Result<()> {
    let mut cache_out = std::fs::OpenOptions::new().append(true).open(file)?;
    let mut texts_out = std::fs::OpenOptions::new().append(true).open(&texts.path)?;
    if !texts.is(&texts_out.metadata()?) {
        return Err(std::io::Error::other("the texts file was replaced"));
    }
    let bytes: Vec<u8> = entries
        .iter()
        .flat_map(|(_, m)| m.texts.iter().copied())
        .collect();
    texts_out.write_all(&bytes)?;
    // Where this write ended, in this handle's own position: another run's append after it
    // does not move it.
    let end = texts_out.stream_position()?;
    let places = places(
        end - bytes.len() as u64,
        entries.iter().map(|(_, m)| m.texts.as_slice()),
    )?;
    let mut out = Vec::new();
    for ((key, made), place) in entries.iter().zip(places) {
        out.extend_from_slice(&entry_head(key, &made.entry, place)?);
        out.extend_from_slice(&made.entry);
    }
    cache_out.write_all(&out)
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
