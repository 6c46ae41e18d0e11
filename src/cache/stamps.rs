//! What each post file held when its stamp (size, inode, modification and change times) was
//! last seen, so an unchanged file is not read again: git's index does the same for `git
//! status`.
//!
//! A stamp vouches for the bytes only if any later write must change it. Writing a file sets its
//! change time (ctime) to the current time and nobody can set it back (unlike the modification
//! time, which `touch -d` and some tools do). So a file's stamp is recorded only when both its
//! times lie a margin before the run started: a write after the file was read then gets a later
//! ctime, even on a file system with coarse timestamps. Files written within the margin are read
//! again on the next run.

use std::collections::HashMap;
use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::codec::{Codec, Reader, Writer};
use crate::source::ContentId;

const MAGIC: &[u8] = b"smm file stamps 1\n";

/// How long before the run a file must have last changed for its stamp to be trusted later.
const MARGIN: Duration = Duration::from_secs(2);

/// A file's size, inode and times (seconds and nanoseconds since 1970).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    size: u64,
    inode: u64,
    modified: (i64, i64),
    changed: (i64, i64),
}

impl Stamp {
    /// The stamp of a regular file; `None` where the platform has no change time or the file
    /// system keeps none (then the file is always read).
    pub fn of(meta: &Metadata) -> Option<Stamp> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            let stamp = Stamp {
                size: meta.size(),
                inode: meta.ino(),
                modified: (meta.mtime(), meta.mtime_nsec()),
                changed: (meta.ctime(), meta.ctime_nsec()),
            };
            (meta.is_file() && stamp.changed != (0, 0)).then_some(stamp)
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            None
        }
    }

    /// Whether both times lie before `instant` (seconds, nanoseconds since 1970).
    fn before(&self, instant: (i64, i64)) -> bool {
        self.modified < instant && self.changed < instant
    }
}

/// The stamps read from the file, and the workspace they belong to.
pub(super) struct Stamps {
    file: PathBuf,
    /// The workspace root, as the cache was opened with (a base revision rendered from a
    /// temporary folder neither uses nor records stamps).
    root: PathBuf,
    known: HashMap<PathBuf, (Stamp, ContentId)>,
    /// Files that last changed before this instant are settled (the run's start less the margin).
    settled: (i64, i64),
}

impl Stamps {
    pub(super) fn open(file: PathBuf, root: &Path) -> Stamps {
        let settled = SystemTime::now()
            .checked_sub(MARGIN)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or((0, 0), |d| {
                (
                    i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                    i64::from(d.subsec_nanos()),
                )
            });
        let known = std::fs::read(&file)
            .ok()
            .and_then(|bytes| decode(&bytes))
            .unwrap_or_default();
        Stamps {
            file,
            root: root.to_path_buf(),
            known,
            settled,
        }
    }

    pub(super) fn is_for(&self, root: &Path) -> bool {
        self.root == root
    }

    /// What the file at `rel` holds, if its stamp is the one recorded.
    pub(super) fn content(&self, rel: &Path, stamp: &Stamp) -> Option<ContentId> {
        match self.known.get(rel) {
            Some((known, content)) if known == stamp => Some(*content),
            _ => None,
        }
    }

    /// Records this run's post files (path, stamp, content) for the next run: the settled ones,
    /// and only when they differ from what was read.
    pub(super) fn save(&self, mut seen: Vec<(PathBuf, Stamp, ContentId)>) {
        seen.retain(|(_, stamp, _)| stamp.before(self.settled));
        // One entry per post file: as many, each as recorded, is the same set.
        let as_known = seen.len() == self.known.len()
            && seen
                .iter()
                .all(|(path, stamp, content)| self.known.get(path) == Some(&(*stamp, *content)));
        if as_known {
            return;
        }
        // A file that cannot be written only costs reading the posts again next time.
        let bytes = encode(&mut seen);
        let _ = super::write_whole(&self.file, |out| out.write_all(&bytes));
    }
}

/// `MAGIC`, then a checksum of the rest, then the entries (path, stamp, content).
fn encode(entries: &mut [(PathBuf, Stamp, ContentId)]) -> Vec<u8> {
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut w = Writer::default();
    entries.len().put(&mut w);
    for (path, stamp, content) in entries.iter() {
        path.to_string_lossy().into_owned().put(&mut w);
        stamp.size.put(&mut w);
        stamp.inode.put(&mut w);
        for (s, ns) in [stamp.modified, stamp.changed] {
            s.put(&mut w);
            ns.put(&mut w);
        }
        content.sha256.put(&mut w);
        content.git_blob.put(&mut w);
    }
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&super::checksum(&w.0));
    out.extend_from_slice(&w.0);
    out
}

/// The stamps in a file; `None` for a file that is damaged in any way (every post is read).
fn decode(bytes: &[u8]) -> Option<HashMap<PathBuf, (Stamp, ContentId)>> {
    let (check, payload) = bytes.strip_prefix(MAGIC)?.split_at_checked(super::CHECK)?;
    if check != super::checksum(payload) {
        return None;
    }
    let mut r = Reader::new(payload);
    let count = usize::get(&mut r)?;
    let mut out = HashMap::with_capacity(count.min(payload.len()));
    for _ in 0..count {
        let path = PathBuf::from(String::get(&mut r)?);
        let stamp = Stamp {
            size: u64::get(&mut r)?,
            inode: u64::get(&mut r)?,
            modified: (i64::get(&mut r)?, i64::get(&mut r)?),
            changed: (i64::get(&mut r)?, i64::get(&mut r)?),
        };
        let content = ContentId {
            sha256: <[u8; 32]>::get(&mut r)?,
            git_blob: <[u8; 20]>::get(&mut r)?,
        };
        out.insert(path, (stamp, content));
    }
    r.is_empty().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip_and_damage_is_refused() {
        let stamp = Stamp {
            size: 120,
            inode: 7,
            modified: (1_700_000_000, 5),
            changed: (-3, 999_999_999),
        };
        let mut entries = vec![
            (PathBuf::from("posts/é.yaml"), stamp, ContentId::of("")),
            (
                PathBuf::from("campaigns/a/post.yaml"),
                stamp,
                ContentId::of("text: hi\n"),
            ),
        ];
        let bytes = encode(&mut entries);
        let stamps: HashMap<_, _> = entries.into_iter().map(|(p, s, c)| (p, (s, c))).collect();
        assert_eq!(decode(&bytes), Some(stamps));
        for at in [
            MAGIC.len(),
            MAGIC.len() + super::super::CHECK + 3,
            bytes.len() - 1,
        ] {
            let mut damaged = bytes.clone();
            damaged[at] ^= 1;
            assert_eq!(decode(&damaged), None, "flipped byte {at}");
        }
        assert_eq!(decode(&bytes[..bytes.len() - 1]), None);
    }

    #[test]
    fn only_files_settled_before_the_run_are_recorded() {
        let stamp = |changed| Stamp {
            size: 1,
            inode: 1,
            modified: (10, 0),
            changed,
        };
        assert!(stamp((19, 999)).before((20, 0)));
        assert!(!stamp((20, 0)).before((20, 0)));
        assert!(!stamp((21, 0)).before((20, 0)));
    }
}
