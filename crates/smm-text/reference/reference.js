#!/usr/bin/env node
// Oracle for tests/reference.rs: reads a JSON array of strings from the file
// named by argv[2] and prints, per string, what the official libraries say.
// All offsets are converted from UTF-16 indices to UTF-8 byte offsets here
// (a slice ending inside a surrogate pair counts its lone half as 3 bytes,
// like TextEncoder).
'use strict';
const fs = require('fs');
const twitter = require('twitter-text');
const { RichText } = require('@atproto/api');

const inputs = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const byteOf = (s, i) => Buffer.byteLength(s.slice(0, i), 'utf8');

const out = inputs.map((text) => {
  const p = twitter.parseTweet(text);
  const entities = twitter.extractEntitiesWithIndices(text).map((e) => {
    let kind, value;
    if (e.url !== undefined) { kind = 'url'; value = e.url; }
    else if (e.screenName !== undefined) { kind = 'mention'; value = e.screenName + (e.listSlug || ''); }
    else if (e.hashtag !== undefined) { kind = 'hashtag'; value = e.hashtag; }
    else { kind = 'cashtag'; value = e.cashtag; }
    return [kind, value, byteOf(text, e.indices[0]), byteOf(text, e.indices[1])];
  });
  const rt = new RichText({ text });
  rt.detectFacetsWithoutResolution();
  const facets = (rt.facets || []).map((f) => {
    const feat = f.features[0];
    let kind, value;
    if (feat.$type === 'app.bsky.richtext.facet#link') { kind = 'link'; value = feat.uri; }
    else if (feat.$type === 'app.bsky.richtext.facet#mention') { kind = 'mention'; value = feat.did; }
    else { kind = 'tag'; value = feat.tag; }
    return [kind, value, f.index.byteStart, f.index.byteEnd];
  });
  return {
    x: [p.weightedLength, p.valid, p.permillage, p.validRangeStart, p.validRangeEnd, p.displayRangeStart, p.displayRangeEnd],
    xe: entities,
    bg: rt.graphemeLength,
    bl: rt.length,
    bf: facets,
  };
});
process.stdout.write(JSON.stringify(out));
