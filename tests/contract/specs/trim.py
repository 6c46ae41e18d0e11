#!/usr/bin/env python3
"""Re-create (or verify) a trimmed spec in this directory from the untouched original document.

Usage:
  python3 trim.py NAME ORIGINAL.json            # print the trimmed document to stdout
  python3 trim.py NAME ORIGINAL.json --check    # compare with NAME.json here (as parsed JSON)

NAME is one of: discord, x, mastodon, slack (see KEEP below and PROVENANCE.md for where to get
ORIGINAL.json at the recorded commit).

What it does (the same rules used to produce the committed files):
  * keeps the listed path items, and in each only the listed HTTP methods plus the path-level
    keys that are not methods (e.g. path-level `parameters`);
  * keeps every other top-level key unchanged, except that a top-level `tags` list is reduced to
    the tags used by the kept operations;
  * keeps `components.securitySchemes` (OpenAPI 3) / `securityDefinitions` (Swagger 2) whole;
  * keeps every other component (schemas, parameters, responses, examples, links, ...; Swagger 2:
    definitions, parameters, responses) only if it is reachable from the kept operations by
    following `$ref` values and `discriminator.mapping` values, transitively;
  * copies everything it keeps unchanged, in the original key order, and re-serialises it with
    json.dumps(indent=2) (Slack: indent=4, as the original).
Python 3.11 standard library only.
"""
import json
import sys

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

KEEP = {
    "discord": {"/webhooks/{webhook_id}/{webhook_token}": ["post"]},
    "x": {
        "/2/media/metadata": ["post"],
        "/2/media/upload": ["post"],
        "/2/tweets": ["post"],
        "/2/tweets/{id}": ["delete"],
        "/2/users/me": ["get"],
        "/2/users/{id}/tweets": ["get"],
    },
    "mastodon": {
        "/api/v1/accounts/{id}/statuses": ["get"],
        "/api/v1/accounts/verify_credentials": ["get"],
        "/api/v1/media/{id}": ["get"],
        "/api/v2/media": ["post"],
        "/api/v1/statuses": ["post"],
        "/api/v1/statuses/{id}": ["delete"],
    },
    "slack": {
        "/auth.test": ["get"],
        "/chat.postMessage": ["post"],
        "/conversations.history": ["get"],
    },
}
INDENT = {"slack": 4}


def refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            elif key == "mapping" and isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
                yield from value.values()
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def trim(name, doc):
    keep = KEEP[name]
    paths = {}
    for path, item in doc["paths"].items():  # original order
        if path not in keep:
            continue
        paths[path] = {k: v for k, v in item.items() if k not in METHODS or k in keep[path]}
    missing = [p for p in keep if p not in paths] + [
        f"{m.upper()} {p}" for p in keep if p in paths for m in keep[p] if m not in paths[p]]
    if missing:
        sys.exit(f"not in the original document: {missing}")

    swagger2 = "swagger" in doc
    # where each component section lives: "#/components/<sec>/<n>" (OAS3) or "#/<sec>/<n>" (Swagger 2)
    sections = {}
    if swagger2:
        for sec in ("definitions", "parameters", "responses"):
            if sec in doc:
                sections["#/%s/" % sec] = (None, sec)
    else:
        for sec in doc.get("components", {}):
            if sec != "securitySchemes":
                sections["#/components/%s/" % sec] = ("components", sec)

    def lookup(ref):
        for prefix, (parent, sec) in sections.items():
            if ref.startswith(prefix):
                return parent, sec, ref[len(prefix):]
        return None

    used = set()
    stack = list(refs(paths))
    while stack:
        ref = stack.pop()
        hit = lookup(ref)
        if hit is None or hit in used:
            continue
        parent, sec, n = hit
        container = doc[parent][sec] if parent else doc[sec]
        if n not in container:
            sys.exit(f"dangling reference in the original: {ref}")
        used.add(hit)
        stack.extend(refs(container[n]))

    op_tags = {t for item in paths.values() for k, op in item.items() if k in METHODS for t in op.get("tags", [])}
    out = {}
    for key, value in doc.items():
        if key == "paths":
            out[key] = paths
        elif key == "components" and not swagger2:
            comps = {}
            for sec, entries in value.items():
                if sec == "securitySchemes":
                    comps[sec] = entries
                    continue
                kept = {n: v for n, v in entries.items() if ("components", sec, n) in used}
                if kept:
                    comps[sec] = kept
            out[key] = comps
        elif swagger2 and key in ("definitions", "parameters", "responses"):
            kept = {n: v for n, v in value.items() if (None, key, n) in used}
            if kept:
                out[key] = kept
        elif key == "tags" and isinstance(value, list):
            out[key] = [t for t in value if t.get("name") in op_tags]
        else:
            out[key] = value
    return out


def diff(a, b, path="$", limit=20, found=None):
    found = [] if found is None else found
    if len(found) >= limit:
        return found
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                found.append(f"{path}/{k}: only in {'committed' if k in a else 'regenerated'}")
            else:
                diff(a[k], b[k], f"{path}/{k}", limit, found)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, f"{path}/{i}", limit, found)
    elif a != b or type(a) is not type(b):
        found.append(f"{path}: committed {json.dumps(a)[:80]} != regenerated {json.dumps(b)[:80]}")
    return found


def main(argv):
    if len(argv) < 2 or argv[0] not in KEEP:
        print(__doc__, file=sys.stderr)
        return 2
    name, original = argv[0], argv[1]
    with open(original, encoding="utf-8") as f:
        doc = json.load(f)
    out = trim(name, doc)
    if "--check" in argv[2:]:
        here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
        with open(f"{here}/{name}.json", encoding="utf-8") as f:
            committed = json.load(f)
        problems = diff(committed, out)
        if problems:
            print(f"{name}.json differs from the trimmed original:")
            for p in problems:
                print("  " + p)
            return 1
        print(f"{name}.json matches the trimmed original")
        return 0
    sys.stdout.write(json.dumps(out, indent=INDENT.get(name, 2), ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
