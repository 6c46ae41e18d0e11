#!/usr/bin/env python3
"""Check that every "$ref" in the trimmed API specs resolves inside the same file.

Usage: python3 tests/contract/specs/check_refs.py [FILE.json ...]
With no arguments, checks every *.json file next to this script.

A reference must be local ("#/..."); it is resolved as a JSON Pointer (RFC 6901:
"~1" -> "/", "~0" -> "~", percent-decoding). Values of `discriminator.mapping`
(OpenAPI 3) are checked the same way. Exits 1 if anything does not resolve.
Python 3.11 standard library only.
"""
import json
import sys
from pathlib import Path
from urllib.parse import unquote


def walk(node, path="#"):
    """Yield (location, reference) for every $ref and discriminator mapping value."""
    if isinstance(node, dict):
        for key, value in node.items():
            loc = f"{path}/{key}"
            if key == "$ref" and isinstance(value, str):
                yield loc, value
            elif key == "mapping" and isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
                for name, target in value.items():
                    yield f"{loc}/{name}", target
            else:
                yield from walk(value, loc)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}/{i}")


def resolve(doc, ref):
    if not ref.startswith("#"):
        raise LookupError("not a local reference (must point inside this file)")
    node = doc
    pointer = unquote(ref[1:])
    if pointer == "":
        return node
    if not pointer.startswith("/"):
        raise LookupError("malformed JSON pointer")
    for token in pointer[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise LookupError(f"no {token!r} at this point")
    return node


def check(path):
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    refs = list(walk(doc))
    bad = []
    for loc, ref in refs:
        try:
            resolve(doc, ref)
        except LookupError as err:
            bad.append((loc, ref, str(err)))
    status = "OK" if not bad else "FAIL"
    print(f"{status} {path}: {len(refs)} references, {len({r for _, r in refs})} distinct, {len(bad)} unresolved")
    for loc, ref, err in bad:
        print(f"   {loc}: {ref} -- {err}")
    return not bad


def main(argv):
    files = argv or sorted(str(p) for p in Path(__file__).resolve().parent.glob("*.json"))
    if not files:
        print("no spec files found", file=sys.stderr)
        return 1
    ok = all([check(f) for f in files])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
