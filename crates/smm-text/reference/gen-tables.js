#!/usr/bin/env node
// Regenerates ../src/generated.rs from the pinned reference libraries, so the
// Rust port uses byte-for-byte the same regexes, character classes and TLD
// lists as twitter-text, twemoji-parser and @atproto/api.
//
//   npm ci --prefix crates/smm-text/reference
//   node crates/smm-text/reference/gen-tables.js
//
// JS regexes without the `u` flag work on UTF-16 code units; Rust regexes work
// on code points. The translator below parses the JS source, merges
// high-surrogate + low-surrogate atoms into code-point classes, expands the
// `i` flag with JS's own case canonicalisation (so no Unicode case folding
// sneaks in, e.g. KELVIN SIGN never matches `k`), and prints Rust syntax.
'use strict';
const fs = require('fs');
const path = require('path');

const ttRegex = require('twitter-text/dist/regexp/index.js');
const TT = ttRegex.default || ttRegex;
const twemojiRegex = require('twemoji-parser/dist/lib/regex').default;
const tlds = require('tlds');
const bskyUtil = require('@atproto/api/dist/rich-text/util');

// --- JS (non-unicode) case canonicalisation over BMP code units -------------
const canon = new Array(0x10000);
for (let u = 0; u < 0x10000; u++) {
  const ch = String.fromCharCode(u);
  const up = ch.toUpperCase();
  if (up.length !== 1) { canon[u] = u; continue; }
  const cu = up.charCodeAt(0);
  canon[u] = (u >= 128 && cu < 128) ? u : cu;
}
const canonMembers = new Map();
for (let u = 0; u < 0x10000; u++) {
  if (!canonMembers.has(canon[u])) canonMembers.set(canon[u], []);
  canonMembers.get(canon[u]).push(u);
}

// --- parser ------------------------------------------------------------------
function parse(src) {
  let i = 0;
  const peek = () => src[i];
  function parseAlt() {
    const alts = [parseSeq()];
    while (src[i] === '|') { i++; alts.push(parseSeq()); }
    return { t: 'alt', alts };
  }
  function parseSeq() {
    const items = [];
    while (i < src.length && src[i] !== '|' && src[i] !== ')') {
      let atom = parseAtom();
      atom = parseQuant(atom);
      items.push(atom);
    }
    return items;
  }
  function parseQuant(atom) {
    const c = peek();
    let min, max;
    if (c === '*') { min = 0; max = Infinity; i++; }
    else if (c === '+') { min = 1; max = Infinity; i++; }
    else if (c === '?') { min = 0; max = 1; i++; }
    else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i));
      if (!m) return atom;
      min = +m[1]; max = m[2] ? (m[3] === '' ? Infinity : +m[3]) : min;
      i += m[0].length;
    } else return atom;
    let lazy = false;
    if (peek() === '?') { lazy = true; i++; }
    return { t: 'quant', atom, min, max, lazy };
  }
  function escapeSet(c) {
    // returns ranges of code units for class escapes, or null
    const ranges = [];
    const test = (re) => { for (let u = 0; u < 0x10000; u++) if (re.test(String.fromCharCode(u))) ranges.push([u, u]); };
    if (c === 'd') return [[48, 57]];
    if (c === 's') { test(/^\s$/); return ranges; }
    if (c === 'w') return [[48, 57], [65, 90], [95, 95], [97, 122]];
    if (c === 'S' || c === 'D' || c === 'W') throw new Error('negated class escape \\' + c);
    return null;
  }
  function parseEscapeUnit() {
    // after backslash; returns code unit or {set}
    const c = src[i++];
    if (c === 'u') { const h = src.slice(i, i + 4); i += 4; return parseInt(h, 16); }
    if (c === 'x') { const h = src.slice(i, i + 2); i += 2; return parseInt(h, 16); }
    if (c === 'n') return 10; if (c === 'r') return 13; if (c === 't') return 9;
    if (c === 'f') return 12; if (c === 'v') return 11; if (c === '0') return 0;
    const s = escapeSet(c);
    if (s) return { set: s };
    if (/[a-zA-Z0-9]/.test(c)) throw new Error('unsupported escape \\' + c + ' at ' + i);
    return c.charCodeAt(0);
  }
  function parseClass() {
    // at '['
    i++;
    let neg = false;
    if (src[i] === '^') { neg = true; i++; }
    const ranges = [];
    const readUnit = () => {
      if (src[i] === '\\') { i++; return parseEscapeUnit(); }
      return src.charCodeAt(i++);
    };
    while (src[i] !== ']') {
      const a = readUnit();
      if (typeof a === 'object') { ranges.push(...a.set); continue; }
      if (src[i] === '-' && src[i + 1] !== ']') {
        i++;
        const b = readUnit();
        if (typeof b === 'object') throw new Error('class range to set');
        ranges.push([a, b]);
      } else ranges.push([a, a]);
    }
    i++;
    return { t: 'set', ranges, neg, cp: false };
  }
  function parseAtom() {
    const c = src[i];
    if (c === '(') {
      i++;
      let kind = 'cap';
      if (src[i] === '?') {
        const k = src[i + 1];
        if (k === ':') kind = 'nc'; else if (k === '=') kind = 'la'; else if (k === '!') kind = 'nla';
        else if (k === '<') {
          const m = /^\?<([a-zA-Z]+)>/.exec(src.slice(i));
          if (!m) throw new Error('lookbehind unsupported');
          i += m[0].length - 2; kind = 'cap';
        } else throw new Error('group kind ' + k);
        i += 2;
      }
      const body = parseAlt();
      if (src[i] !== ')') throw new Error('expected ) at ' + i);
      i++;
      return { t: 'group', kind, body };
    }
    if (c === '[') return parseClass();
    if (c === '^' || c === '$') { i++; return { t: 'assert', v: c }; }
    if (c === '.') { i++; return { t: 'set', ranges: [[10, 10], [13, 13], [0x2028, 0x2029]], neg: true, cp: false }; }
    if (c === '\\') {
      i++;
      const u = parseEscapeUnit();
      if (typeof u === 'object') return { t: 'set', ranges: u.set, neg: false, cp: false };
      return { t: 'set', ranges: [[u, u]], neg: false, cp: false };
    }
    i++;
    const u = c.charCodeAt(0);
    return { t: 'set', ranges: [[u, u]], neg: false, cp: false };
  }
  const ast = parseAlt();
  if (i !== src.length) throw new Error('trailing input at ' + i + ': ' + src.slice(i, i + 20));
  return ast;
}

// --- transformation ----------------------------------------------------------
const isHigh = (u) => u >= 0xd800 && u <= 0xdbff;
const isLow = (u) => u >= 0xdc00 && u <= 0xdfff;
function units(ranges) { const s = new Set(); for (const [a, b] of ranges) for (let u = a; u <= b; u++) s.add(u); return s; }
function allIn(set, pred) { for (const u of set) if (!pred(u)) return false; return set.size > 0; }
function toRanges(sorted) {
  const out = [];
  for (const u of sorted) {
    if (out.length && out[out.length - 1][1] === u - 1) out[out.length - 1][1] = u; else out.push([u, u]);
  }
  return out;
}

function transform(node, icase) {
  if (node.t === 'alt') return { t: 'alt', alts: node.alts.map((s) => transformSeq(s, icase)) };
  if (node.t === 'group') return { ...node, body: transform(node.body, icase) };
  if (node.t === 'quant') {
    const a = transform(node.atom, icase);
    return { ...node, atom: a };
  }
  if (node.t === 'set') return finishSet(node, icase);
  return node;
}
function transformSeq(items, icase) {
  const out = [];
  for (let k = 0; k < items.length; k++) {
    const it = items[k], nx = items[k + 1];
    if (it.t === 'set' && !it.neg && nx && nx.t === 'set' && !nx.neg) {
      const hs = units(it.ranges), ls = units(nx.ranges);
      if (allIn(hs, isHigh) && allIn(ls, isLow)) {
        const cps = [];
        for (const h of [...hs].sort((a, b) => a - b)) for (const l of [...ls].sort((a, b) => a - b)) cps.push(0x10000 + ((h - 0xd800) << 10) + (l - 0xdc00));
        out.push({ t: 'set', ranges: toRanges(cps), neg: false, cp: true });
        k++;
        continue;
      }
    }
    out.push(transform(it, icase));
  }
  return out;
}
function finishSet(node, icase) {
  if (node.cp) return node;
  let s = units(node.ranges);
  for (const u of s) if ((isHigh(u) || isLow(u)) && !node.neg) throw new Error('unpaired surrogate in class ' + u.toString(16));
  if (icase) {
    const c = new Set();
    for (const u of s) { if (isHigh(u) || isLow(u)) { c.add(u); continue; } for (const m of canonMembers.get(canon[u])) c.add(m); }
    s = c;
  }
  if (!node.neg) return { t: 'set', ranges: toRanges([...s].sort((a, b) => a - b)), neg: false, cp: true };
  let sur = 0; for (const u of s) if (isHigh(u) || isLow(u)) sur++;
  const members = [];
  if (sur === 0x800) {
    // excludes every surrogate: only BMP characters can match
    for (let u = 0; u < 0x10000; u++) if (!s.has(u) && !isHigh(u) && !isLow(u)) members.push(u);
    return { t: 'set', ranges: toRanges(members), neg: false, cp: true };
  }
  if (sur !== 0) throw new Error('negated class with some surrogates');
  // a negated class that accepts every surrogate accepts a whole astral char
  for (let u = 0; u < 0x10000; u++) if (!s.has(u) && !isHigh(u) && !isLow(u)) members.push(u);
  const r = toRanges(members);
  r.push([0x10000, 0x10ffff]);
  return { t: 'set', ranges: r, neg: false, cp: true };
}

// --- printer -----------------------------------------------------------------
function hex(u) { return '\\x{' + u.toString(16).toUpperCase() + '}'; }
function chr(u) { return (/[A-Za-z0-9_ ]/.test(String.fromCharCode(u)) && u < 128) ? String.fromCharCode(u) : hex(u); }
let dropLookaround = false;
function print(node) {
  if (dropLookaround && node.t === 'group' && (node.kind === 'la' || node.kind === 'nla')) return '';
  switch (node.t) {
    case 'alt': return node.alts.map((s) => s.map(print).join('')).join('|');
    case 'group': return ({ cap: '(', nc: '(?:', la: '(?=', nla: '(?!' })[node.kind] + print(node.body) + ')';
    case 'assert': return node.v;
    case 'quant': {
      let q;
      if (node.min === 0 && node.max === Infinity) q = '*';
      else if (node.min === 1 && node.max === Infinity) q = '+';
      else if (node.min === 0 && node.max === 1) q = '?';
      else if (node.max === Infinity) q = `{${node.min},}`;
      else if (node.min === node.max) q = `{${node.min}}`;
      else q = `{${node.min},${node.max}}`;
      return print(node.atom) + q + (node.lazy ? '?' : '');
    }
    case 'set': {
      const r = node.ranges;
      if (r.length === 1 && r[0][0] === r[0][1]) return chr(r[0][0]);
      return '[' + r.map(([a, b]) => (a === b ? chr(a) : chr(a) + '-' + chr(b))).join('') + ']';
    }
  }
  throw new Error('bad node');
}
function translate(re, forceIcase) {
  const icase = forceIcase !== undefined ? forceIcase : re.flags.includes('i');
  const src = re instanceof RegExp ? re.source : re;
  return print(transform(parse(src), icase));
}

// --- character tables computed by asking the JS engine directly --------------
function cpRanges(pred) {
  const out = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    if (pred(String.fromCodePoint(cp))) {
      if (out.length && out[out.length - 1][1] === cp - 1) out[out.length - 1][1] = cp; else out.push([cp, cp]);
    }
  }
  return out;
}
function rustRanges(name, ranges) {
  const body = ranges.map(([a, b]) => `(0x${a.toString(16)}, 0x${b.toString(16)})`).join(', ');
  return `pub(crate) const ${name}: &[(u32, u32)] = &[${body}];\n`;
}
function rustStr(name, s) {
  let h = '#';
  while (s.includes('"' + h)) h += '#';
  return `pub(crate) const ${name}: &str = r${h}"${s}"${h};\n`;
}

const jsSpace = /^\s$/u, jsPunct = /^\p{P}$/u;
let out = '';
out += '// @generated by reference/gen-tables.js from the pinned npm packages\n';
out += `// twitter-text ${require('twitter-text/package.json').version}, twemoji-parser ${require('twemoji-parser/package.json').version}, `;
out += `@atproto/api ${require('@atproto/api/package.json').version}, tlds ${require('tlds/package.json').version}, Node ${process.version} (Unicode ${process.versions.unicode}).\n`;
out += '// Do not edit by hand: rerun the script after changing reference/package.json.\n\n';

// twitter-text regexes
out += rustStr('TT_VALID_DOMAIN', translate(TT.validDomain, true));
out += rustStr('TT_VALID_URL_PRECEDING_CHARS', translate(TT.validUrlPrecedingChars));
out += rustStr('TT_VALID_TCO_URL', translate(TT.validTcoUrl));
out += rustStr('TT_INVALID_URL_WITHOUT_PROTOCOL_PRECEDING', translate(TT.invalidUrlWithoutProtocolPrecedingChars));
out += rustStr('TT_VALID_MENTION_OR_LIST', translate(TT.validMentionOrList));
out += rustStr('TT_END_MENTION_MATCH', translate(TT.endMentionMatch));
out += rustStr('TT_END_HASHTAG_MATCH', translate(TT.endHashtagMatch));

// Bluesky: regexes and the TLD list the detector consults
out += rustRanges('JS_WHITESPACE', cpRanges((s) => jsSpace.test(s)));
out += rustRanges('JS_PUNCTUATION', cpRanges((s) => jsPunct.test(s)));
out += `pub(crate) const BSKY_TLDS: &[&str] = &[${tlds.map((t) => JSON.stringify(t)).join(', ')}];\n`;

// twitter-text's URL regex, restructured so that it has no lookaround and
// runs on the `regex` crate. The only lookahead is the one after a gTLD or
// ccTLD: `(?=[^0-9a-zA-Z@+-]|$)`. Everything that may follow the domain
// (`:port`, `/path`, `?query`) starts with a character that passes it, so it
// only decides anything when the URL ends at the TLD; there it becomes a
// consumed "trail" group whose start is the real end of the match. The
// alternatives keep JS's order (port before path before query before none).
function countCaps(node) {
  if (!node || typeof node !== 'object') return 0;
  let n = node.t === 'group' && node.kind === 'cap' ? 1 : 0;
  if (node.t === 'alt') for (const sq of node.alts) for (const it of sq) n += countCaps(it);
  if (node.t === 'group') n += countCaps(node.body);
  if (node.t === 'quant') n += countCaps(node.atom);
  return n;
}
function noCaps(src) {
  if (countCaps(parse(src)) !== 0) throw new Error('unexpected capture group in ' + src.slice(0, 40));
  return src;
}
function tldList(re) {
  const s = re.source, pre = '(?:(?:', post = ')(?=[^0-9a-zA-Z@+-]|$))';
  if (!s.startsWith(pre) || !s.endsWith(post)) throw new Error('unexpected TLD regex shape');
  return '(?:' + noCaps(s.slice(pre.length, s.length - post.length)) + ')';
}
{
  const PRE = noCaps(TT.validUrlPrecedingChars.source);
  const DOMPRE = '(?:' + noCaps(TT.validSubdomain.source) + '*' + noCaps(TT.validDomainName.source) + ')';
  const TLD = '(?:' + tldList(TT.validGTLD) + '|' + tldList(TT.validCCTLD) + ')';
  const PUNY = noCaps(TT.validPunycode.source);
  const P = '(?:' + noCaps(TT.validUrlPath.source) + ')';
  const Q = '(?:' + noCaps(TT.validUrlQueryChars.source) + ')*(?:' + noCaps(TT.validUrlQueryEndingChars.source) + ')';
  const tailA = `(:([0-9]+)(\\/${P}*)?(\\?${Q})?|(\\/${P}*)(\\?${Q})?|(\\?${Q})|([^0-9a-zA-Z@+-]|$))`;
  const tailB = `((?::([0-9]+))?(\\/${P}*)?(\\?${Q})?)`;
  // groups: 1 before, 2 url, 3 protocol, 4 tail after a gTLD/ccTLD (5 port,
  // 6 path, 7 query, 8 path, 9 query, 10 query, 11 trail), 12 tail after a
  // punycode TLD (13 port, 14 path, 15 query)
  const url = `(${PRE})((https?:\\/\\/)?${DOMPRE}(?:${TLD}${tailA}|${PUNY}${tailB}))`;
  if (countCaps(parse(url)) !== 15) throw new Error('URL regex group count changed');
  out += rustStr('TT_URL_PLAIN', translate(url, true));
  // validAsciiDomain the same way: group 1 is the trail.
  const ascii = TT.validAsciiDomain.source;
  const cut = ascii.indexOf('(?:(?:(?:');
  const prefix = ascii.slice(0, ascii.lastIndexOf(')+') + 2);
  if (!prefix.startsWith('(?:(?:[')) throw new Error('unexpected validAsciiDomain shape');
  const asciiPlain = `${noCaps(prefix)}(?:${TLD}([^0-9a-zA-Z@+-]|$)|${PUNY})`;
  out += rustStr('TT_ASCII_DOMAIN_PLAIN', translate(asciiPlain, true));
  void cut;

  // The same pieces one by one, for the hand-written scanner in x.rs (which
  // runs only these small regexes, anchored, and never the whole pattern).
  const setRanges = (src, icase) => {
    const ast = transform(parse(src), icase);
    if (ast.alts.length !== 1 || ast.alts[0].length !== 1 || ast.alts[0][0].t !== 'set') throw new Error('not a class: ' + src);
    return ast.alts[0][0].ranges;
  };
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  const domainChars = TT.validDomainChars.source;
  if (DOMPRE !== `(?:(?:(?:${domainChars}(?:[_-]|${domainChars})*)?${domainChars}\\.)*(?:(?:${domainChars}(?:-|${domainChars})*)?${domainChars}\\.))`) {
    throw new Error('unexpected validSubdomain / validDomainName shape');
  }
  const pre = TT.validUrlPrecedingChars.source;
  const preParts = /^\(\?:(\[.*?[^\\]\])\|(\[.*?[^\\]\])\|\^\)$/.exec(pre);
  if (!preParts) throw new Error('unexpected validUrlPrecedingChars shape');
  const pre0 = setRanges(preParts[1], true), pre1 = setRanges(preParts[2], true);
  if (!same(pre0, setRanges(preParts[1], false)) || !same(pre1, setRanges(preParts[2], false))) throw new Error('preceding chars depend on case');
  const pre0Set = units(pre0.filter(([a]) => a < 0x10000).map(([a, b]) => [a, Math.min(b, 0xffff)]));
  for (const u of units(pre1)) if (!pre0Set.has(u)) throw new Error('validUrlPrecedingChars: second class not inside the first');
  const asciiLabel = /^\(\?:\(\?:(\[.*?[^\\]\])\+\)\\\.\)\+$/.exec(prefix);
  if (!asciiLabel) throw new Error('unexpected validAsciiDomain label shape');
  out += rustRanges('TT_URL_PRECEDING_CHARS', pre0);
  out += rustRanges('TT_DOMAIN_CHARS', setRanges(domainChars, true));
  out += rustRanges('TT_ASCII_DOMAIN_CHARS', setRanges(asciiLabel[1], true));
  out += rustStr('TT_TLD', translate(TLD, true));
  out += rustStr('TT_TLD_FOLLOW', translate('[^0-9a-zA-Z@+-]', true));
  out += rustStr('TT_PUNYCODE', translate(PUNY, true));
  out += rustStr('TT_URL_PATH', translate(`\\/${P}*`, true));
  out += rustStr('TT_URL_QUERY', translate(`\\?${Q}`, true));
  let maxTld = 0;
  for (const re of [TT.validGTLD, TT.validCCTLD]) {
    const inner = tldList(re);
    for (const alt of inner.slice(3, -1).split('|')) maxTld = Math.max(maxTld, [...alt].length);
  }
  out += `pub(crate) const TT_TLD_MAX_CHARS: usize = ${maxTld};\n`;
}

// twitter-text hashtag classes (the extraction is scanned by hand in Rust).
{
  const cls = (re) => { const r = new RegExp('^(?:' + re.source + ')$', 'i'); return cpRanges((s) => r.test(s)); };
  out += rustRanges('TT_HASHTAG_ALPHA', cls(TT.hashtagAlpha));
  out += rustRanges('TT_HASHTAG_ALPHANUMERIC', cls(TT.hashtagAlphaNumeric));
}

// The regexes with lookaround again, with the lookarounds removed: a cheap
// superset the Rust side uses to find candidate start positions for the exact
// (backtracking) regex.
// Its only lookaround is `(?!\ufe0e)` (Rust relies on this: see x.rs).
if (twemojiRegex.source.split('(?').length - 1 !== twemojiRegex.source.split('(?:').length - 1 + twemojiRegex.source.split('(?!\\ufe0e)').length - 1) {
  throw new Error('twemoji regex has other lookarounds now');
}
out += rustStr('TWEMOJI', translate(twemojiRegex));
dropLookaround = true;
out += rustStr('TWEMOJI_RELAXED', translate(twemojiRegex));
dropLookaround = false;

fs.writeFileSync(path.join(__dirname, '..', 'src', 'generated.rs'), out);
console.log('wrote src/generated.rs', out.length, 'bytes');
