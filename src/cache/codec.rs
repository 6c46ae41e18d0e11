//! A compact binary form of a loaded post and its deliveries, for the cache.
//!
//! Hand-written rather than derived: `Delivery`'s serde form is the plan's JSON (and, for some
//! fields, the bytes of a content hash recorded in every state), which must not change for the
//! cache's sake. Structs are written by destructuring, so a new field fails to compile here
//! instead of being silently dropped from cached posts.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use std::sync::{Arc, OnceLock};

use jiff::tz::TimeZone;
use jiff::Timestamp;
use smm_text::{CountOptions, Platform, SpanKind};

use super::{Deferred, Source};
use crate::render::{ContentHash, Delivery, PartText, RenderedPart};
use crate::workspace::{Media, Part, PostSpec, Variant, When};

#[derive(Default)]
pub(super) struct Writer(pub(super) Vec<u8>);

pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    /// Where the bytes end in the buffer deferred values refer to.
    end: usize,
}

impl Writer {
    fn uint(&mut self, mut v: u64) {
        // LEB128: lengths and counts are small.
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(byte);
                return;
            }
            self.0.push(byte | 0x80);
        }
    }

    /// Zig-zag, so small negative numbers (instants before 1970) stay short.
    fn int(&mut self, v: i64) {
        self.uint(((v << 1) ^ (v >> 63)) as u64);
    }

    fn bytes(&mut self, b: &[u8]) {
        self.uint(b.len() as u64);
        self.0.extend_from_slice(b);
    }
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader::at(bytes, 0)
    }

    /// Reads `bytes`, which start at `offset` of the shared buffer.
    pub(super) fn at(bytes: &'a [u8], offset: usize) -> Reader<'a> {
        Reader {
            bytes,
            end: offset + bytes.len(),
        }
    }

    /// Where the bytes still to read start in the shared buffer.
    pub(super) fn offset(&self) -> usize {
        self.end - self.bytes.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Bytes still to read.
    pub(super) fn remaining(&self) -> usize {
        self.bytes.len()
    }

    fn uint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.bytes.split_first()?;
            self.bytes = rest;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn int(&mut self) -> Option<i64> {
        let z = self.uint()?;
        Some(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.uint()?).ok()?;
        if len > self.bytes.len() {
            return None;
        }
        let (b, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Some(b)
    }
}

/// A value in the cache's binary form. `get` returns `None` for bytes it cannot read (a damaged
/// cache is a miss, never an error).
pub(super) trait Codec: Sized {
    fn put(&self, w: &mut Writer);
    fn get(r: &mut Reader<'_>) -> Option<Self>;
}

impl Codec for u64 {
    fn put(&self, w: &mut Writer) {
        w.uint(*self);
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        r.uint()
    }
}

impl Codec for i64 {
    fn put(&self, w: &mut Writer) {
        w.int(*self);
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        r.int()
    }
}

impl<const N: usize> Codec for [u8; N] {
    fn put(&self, w: &mut Writer) {
        w.bytes(self);
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        r.bytes()?.try_into().ok()
    }
}

impl Codec for usize {
    fn put(&self, w: &mut Writer) {
        w.uint(*self as u64);
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        usize::try_from(r.uint()?).ok()
    }
}

impl Codec for bool {
    fn put(&self, w: &mut Writer) {
        w.uint(u64::from(*self));
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        match r.uint()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
}

impl Codec for String {
    fn put(&self, w: &mut Writer) {
        w.bytes(self.as_bytes());
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        std::str::from_utf8(r.bytes()?).ok().map(str::to_string)
    }
}

impl<T: Codec> Codec for Option<T> {
    fn put(&self, w: &mut Writer) {
        match self {
            None => w.uint(0),
            Some(v) => {
                w.uint(1);
                v.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        match r.uint()? {
            0 => Some(None),
            1 => T::get(r).map(Some),
            _ => None,
        }
    }
}

impl<T: Codec> Codec for Vec<T> {
    fn put(&self, w: &mut Writer) {
        w.uint(self.len() as u64);
        for v in self {
            v.put(w);
        }
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        let len = usize::get(r)?;
        // Each element takes at least a byte: a damaged length cannot allocate wildly.
        if len > r.bytes.len() {
            return None;
        }
        (0..len).map(|_| T::get(r)).collect()
    }
}

impl<V: Codec> Codec for BTreeMap<String, V> {
    fn put(&self, w: &mut Writer) {
        w.uint(self.len() as u64);
        for (k, v) in self {
            k.put(w);
            v.put(w);
        }
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        let len = usize::get(r)?;
        if len > r.bytes.len() {
            return None;
        }
        (0..len)
            .map(|_| Some((String::get(r)?, V::get(r)?)))
            .collect()
    }
}

impl Codec for Platform {
    fn put(&self, w: &mut Writer) {
        w.bytes(self.as_str().as_bytes());
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        Platform::parse(std::str::from_utf8(r.bytes()?).ok()?)
    }
}

impl Codec for Part {
    fn put(&self, w: &mut Writer) {
        match self {
            Part::Text(text) => {
                w.uint(0);
                text.put(w);
            }
            Part::Full { text, media } => {
                w.uint(1);
                text.put(w);
                media.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Option<Self> {
        match r.uint()? {
            0 => Some(Part::Text(Codec::get(r)?)),
            1 => Some(Part::Full {
                text: Codec::get(r)?,
                media: Codec::get(r)?,
            }),
            _ => None,
        }
    }
}

/// `Codec` for a struct, field by field in the order given. The value is destructured, so a
/// field missing from the list fails to compile.
macro_rules! struct_codec {
    ($ty:ident { $($field:ident),* $(,)? }) => {
        impl Codec for $ty {
            fn put(&self, w: &mut Writer) {
                let $ty { $($field),* } = self;
                $($field.put(w);)*
            }
            fn get(r: &mut Reader<'_>) -> Option<Self> {
                // Fields are read in the order they are written in the literal.
                Some($ty { $($field: Codec::get(r)?),* })
            }
        }
    };
}

struct_codec!(Media { file, alt });
struct_codec!(Variant {
    text,
    thread,
    media,
    link,
    skip
});
struct_codec!(PostSpec {
    id,
    publish_at,
    draft,
    delete,
    channels,
    labels,
    text,
    thread,
    media,
    link,
    variants,
});

/// `When` is written as the instant; the zone (the workspace's, part of the cache key) is given
/// back on reading.
pub(super) fn put_when(when: &When, w: &mut Writer) {
    match when {
        When::Draft => w.uint(0),
        When::At(at) => {
            w.uint(1);
            let ts = at.timestamp();
            w.int(ts.as_second());
            w.int(i64::from(ts.subsec_nanosecond()));
        }
    }
}

pub(super) fn get_when(r: &mut Reader<'_>, zone: &TimeZone) -> Option<When> {
    match r.uint()? {
        0 => Some(When::Draft),
        1 => {
            let seconds = r.int()?;
            let nanos = i32::try_from(r.int()?).ok()?;
            let ts = Timestamp::new(seconds, nanos).ok()?;
            Some(When::At(ts.to_zoned_datetime(zone.clone())))
        }
        _ => None,
    }
}

fn put_entity(e: &smm_text::Span, w: &mut Writer) {
    let smm_text::Span {
        start,
        end,
        kind,
        value,
    } = e;
    start.put(w);
    end.put(w);
    w.uint(match kind {
        SpanKind::Link => 0,
        SpanKind::Mention => 1,
        SpanKind::Hashtag => 2,
    });
    value.put(w);
}

fn get_entity(r: &mut Reader<'_>) -> Option<smm_text::Span> {
    Some(smm_text::Span {
        start: Codec::get(r)?,
        end: Codec::get(r)?,
        kind: match r.uint()? {
            0 => SpanKind::Link,
            1 => SpanKind::Mention,
            2 => SpanKind::Hashtag,
            _ => return None,
        },
        value: Codec::get(r)?,
    })
}

/// Media first; then, in the entry's texts, the text and what is counted in it, decoded only
/// when used (see [`Deferred`]).
fn put_part(p: &RenderedPart, platform: Platform, w: &mut Writer, texts: &mut Writer) {
    let PartText {
        text,
        pointer,
        measures,
        entities,
    } = &**p;
    p.media.put(w);
    p.media_pointer.put(w);
    put_texts(w, texts, |body| {
        platform.put(body);
        (!p.media.is_empty()).put(body);
        text.put(body);
        pointer.put(body);
        // Units and rules are static texts of smm-text: only the numbers are stored.
        body.uint(measures.len() as u64);
        for m in measures {
            m.length.put(body);
            m.limit.put(body);
        }
        body.uint(entities.len() as u64);
        for e in entities {
            put_entity(e, body);
        }
    });
}

/// The measures a platform applies (with or without media), numbers to be filled in: their unit
/// and rule texts are smm-text's, so they are not stored. Measured on "" once per process.
fn measure_labels(platform: Platform, caption: bool) -> &'static [smm_text::Measure] {
    type Labels = Vec<((Platform, bool), Vec<smm_text::Measure>)>;
    static LABELS: OnceLock<Labels> = OnceLock::new();
    let labels = LABELS.get_or_init(|| {
        Platform::ALL
            .iter()
            .flat_map(|&p| [false, true].map(|caption| (p, caption)))
            .map(|(p, caption)| {
                let opts = CountOptions {
                    limit: None,
                    caption,
                };
                ((p, caption), smm_text::measure(p, "", opts))
            })
            .collect()
    });
    labels
        .iter()
        .find(|(key, _)| *key == (platform, caption))
        .map_or(&[], |(_, m)| m.as_slice())
}

/// Names decoded before, given out again instead of a copy each time: a post's id is in each
/// of its deliveries, a channel's name in many posts' (800,000 names at 100,000 posts).
#[derive(Default)]
pub struct Names {
    post_id: Option<Arc<str>>,
    channels: HashSet<Arc<str>>,
}

impl Names {
    fn post_id(&mut self, r: &mut Reader<'_>) -> Option<Arc<str>> {
        let id = std::str::from_utf8(r.bytes()?).ok()?;
        match &self.post_id {
            Some(last) if **last == *id => Some(Arc::clone(last)),
            _ => Some(Arc::clone(self.post_id.insert(id.into()))),
        }
    }

    fn channel(&mut self, r: &mut Reader<'_>) -> Option<Arc<str>> {
        let name = std::str::from_utf8(r.bytes()?).ok()?;
        if let Some(known) = self.channels.get(name) {
            return Some(Arc::clone(known));
        }
        let name: Arc<str> = name.into();
        self.channels.insert(Arc::clone(&name));
        Some(name)
    }
}

/// What `write` writes, as a length-prefixed block, so reading can leave it for later.
fn put_block(w: &mut Writer, write: impl FnOnce(&mut Writer)) {
    let mut block = Writer::default();
    write(&mut block);
    w.bytes(&block.0);
}

/// What `write` writes, appended to the entry's `texts`; where it is, in the summary `w`.
pub(super) fn put_texts(w: &mut Writer, texts: &mut Writer, write: impl FnOnce(&mut Writer)) {
    let start = texts.0.len();
    write(texts);
    w.uint(start as u64);
    w.uint((texts.0.len() - start) as u64);
}

/// A value in the entry's texts (see [`put_texts`]), read from the texts file when first used.
pub(super) fn get_texts<T>(
    r: &mut Reader<'_>,
    source: &Source,
    decode: fn(&Source, Range<usize>) -> Option<T>,
) -> Option<Deferred<T>> {
    let start = usize::try_from(r.uint()?).ok()?;
    let len = usize::try_from(r.uint()?).ok()?;
    Some(Deferred::stored(
        source.clone(),
        start..start.checked_add(len)?,
        decode,
    ))
}

/// A block left in the summary (the buffer `r` reads) until used; `decode` reads it then.
fn get_deferred<T>(
    r: &mut Reader<'_>,
    source: &Source,
    decode: fn(&Source, Range<usize>) -> Option<T>,
) -> Option<Deferred<T>> {
    let len = r.bytes()?.len();
    let range = r.offset() - len..r.offset();
    Some(Deferred::stored(source.clone(), range, decode))
}

/// A value that is the whole of `range` in the entry's texts.
pub(super) fn whole_in_texts<T: Codec>(source: &Source, range: Range<usize>) -> Option<T> {
    let mut r = Reader::new(source.texts(range)?);
    let value = T::get(&mut r)?;
    r.is_empty().then_some(value)
}

/// A delivery's parts, the whole of `range` in the summary; their texts are read when used.
fn get_parts(source: &Source, range: Range<usize>) -> Option<Vec<RenderedPart>> {
    let r = &mut Reader::at(source.summary(range.clone())?, range.start);
    let parts = (0..usize::get(r)?)
        .map(|_| get_part(r, source))
        .collect::<Option<Vec<_>>>()?;
    r.is_empty().then_some(parts)
}

/// A part whose text is read from the entry's texts when used.
fn get_part(r: &mut Reader<'_>, source: &Source) -> Option<RenderedPart> {
    let media = Codec::get(r)?;
    let media_pointer = Codec::get(r)?;
    let body = get_texts(r, source, get_part_text)?;
    Some(RenderedPart::from_parts(media, media_pointer, body))
}

fn get_part_text(source: &Source, range: Range<usize>) -> Option<PartText> {
    let r = &mut Reader::new(source.texts(range)?);
    let platform = Platform::get(r)?;
    let caption = bool::get(r)?;
    let text = String::get(r)?;
    let pointer = String::get(r)?;
    let mut measures = measure_labels(platform, caption).to_vec();
    if usize::get(r)? != measures.len() {
        return None;
    }
    for m in &mut measures {
        m.length = Codec::get(r)?;
        m.limit = Codec::get(r)?;
    }
    let entities = (0..usize::get(r)?)
        .map(|_| get_entity(r))
        .collect::<Option<Vec<_>>>()?;
    r.is_empty().then_some(PartText {
        text,
        pointer,
        measures,
        entities,
    })
}

pub(super) fn put_delivery(d: &Delivery, w: &mut Writer, texts: &mut Writer) {
    let Delivery {
        post: _, // the post's index, given back on reading
        post_id,
        channel,
        platform,
        parts,
        with_media,
        link,
        hash: _, // written from digest() below
    } = d;
    d.digest().put(w);
    w.bytes(post_id.as_bytes());
    w.bytes(channel.as_bytes());
    platform.put(w);
    with_media.put(w);
    // One block: the parts are decoded only if used (not by validating a post that passed its
    // own checks and has no media).
    put_block(w, |block| {
        block.uint(parts.len() as u64);
        for p in parts.iter() {
            put_part(p, *platform, block, texts);
        }
    });
    link.put(w);
}

/// A delivery read from the summary (the buffer `r` reads); its parts are decoded, and its
/// texts read, when used.
pub(super) fn get_delivery(
    r: &mut Reader<'_>,
    source: &Source,
    post: usize,
    names: &mut Names,
) -> Option<Delivery> {
    let digest = <[u8; 32]>::get(r)?;
    let post_id = names.post_id(r)?;
    let channel = names.channel(r)?;
    let platform = Platform::get(r)?;
    let with_media = bool::get(r)?;
    let parts = get_deferred(r, source, get_parts)?;
    Some(Delivery {
        post,
        post_id,
        channel,
        platform,
        parts,
        with_media,
        link: Codec::get(r)?,
        hash: ContentHash::known(digest),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_instants_round_trip() {
        let zone = TimeZone::get("Europe/Berlin").expect("zone");
        for v in [0u64, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut w = Writer::default();
            v.put(&mut w);
            assert_eq!(u64::get(&mut Reader::new(&w.0)), Some(v));
        }
        for at in [
            "2026-12-03T08:00:00Z",
            "1969-07-20T20:17:40.5Z",
            "1969-12-31T23:59:59.5Z",
        ] {
            let when = When::At(
                at.parse::<Timestamp>()
                    .expect("ts")
                    .to_zoned_datetime(zone.clone()),
            );
            let mut w = Writer::default();
            put_when(&when, &mut w);
            assert_eq!(get_when(&mut Reader::new(&w.0), &zone), Some(when));
        }
    }

    /// A delivery of one part (post 3, on `x-main`) as rendering makes it, and that part's text.
    fn one_part(platform: Platform, text: &str, media: Vec<Media>) -> (Delivery, PartText) {
        let opts = CountOptions {
            limit: None,
            caption: !media.is_empty(),
        };
        let (measures, entities) = smm_text::analyze(platform, text, opts);
        let body = PartText {
            text: text.into(),
            pointer: "/text".into(),
            measures,
            entities,
        };
        let part = RenderedPart::from_parts(media, "/media".into(), Deferred::ready(body.clone()));
        let link = Some("https://example.com".into());
        let d = Delivery::new(3, "tea".into(), "x-main".into(), platform, vec![part], link);
        (d, body)
    }

    #[test]
    fn a_delivery_round_trips_with_its_texts_decoded_when_used() {
        let media = vec![Media {
            file: "media/cup.png".into(),
            alt: Some("A cup".into()),
        }];
        let (d, body) = one_part(
            Platform::X,
            "Tea time ☕ https://example.com #tea",
            media.clone(),
        );
        let (mut w, mut texts) = (Writer::default(), Writer::default());
        w.0.extend_from_slice(b"header");
        texts.0.extend_from_slice(b"another entry's texts");
        let start = w.0.len();
        put_delivery(&d, &mut w, &mut texts);
        let source = Source::in_memory(w.0.clone(), texts.0);
        let names = &mut Names::default();
        let back = get_delivery(&mut Reader::at(&w.0[start..], start), &source, 3, names)
            .expect("decodes");
        // Decoded again (as the next delivery of a post would be): the names are shared.
        let again = get_delivery(&mut Reader::at(&w.0[start..], start), &source, 3, names)
            .expect("decodes");
        assert!(
            Arc::ptr_eq(&back.post_id, &again.post_id)
                && Arc::ptr_eq(&back.channel, &again.channel)
        );
        assert_eq!(back.content_hash(), d.content_hash());
        assert!(back.with_media);
        assert_eq!(
            (&back.post_id, &back.channel, &back.link),
            (&d.post_id, &d.channel, &d.link)
        );
        let part = &back.parts[0];
        assert_eq!(
            (&part.media, part.media_pointer.as_str()),
            (&media, "/media")
        );
        assert_eq!(format!("{:?}", &**part), format!("{body:?}"));
    }

    #[test]
    fn a_delivery_whose_kept_text_changed_is_not_intact() {
        let (d, _) = one_part(Platform::Bluesky, "Spring tea is here.", Vec::new());
        let (mut w, mut texts) = (Writer::default(), Writer::default());
        put_delivery(&d, &mut w, &mut texts);
        let kept = Source::in_memory(w.0.clone(), texts.0.clone());
        let back =
            get_delivery(&mut Reader::new(&w.0), &kept, 3, &mut Names::default()).expect("decodes");
        assert!(back.content_intact(), "as kept");

        let at = texts
            .0
            .windows(6)
            .position(|b| b == b"Spring")
            .expect("text");
        texts.0[at] = b'X';
        let damaged = Source::in_memory(w.0.clone(), texts.0);
        let back = get_delivery(&mut Reader::new(&w.0), &damaged, 3, &mut Names::default())
            .expect("decodes");
        assert!(
            !back.content_intact(),
            "the text changed after its hash was kept"
        );
    }

    #[test]
    fn damaged_bytes_are_refused_not_trusted() {
        let mut w = Writer::default();
        vec!["tea".to_string(), "cup".to_string()].put(&mut w);
        for cut in 0..w.0.len() {
            assert_eq!(Vec::<String>::get(&mut Reader::new(&w.0[..cut])), None);
        }
        // A huge count with nothing behind it.
        assert_eq!(
            Vec::<String>::get(&mut Reader::new(&[0xff, 0xff, 0x7f])),
            None
        );
    }
}
