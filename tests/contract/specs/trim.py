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
  * copies everything it keeps unchanged, in the original key order, applies the documented
    local PATCHES (below; PROVENANCE.md, "Local patches"), and re-serialises it with
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
        "/chat.getPermalink": ["get"],
        "/chat.postMessage": ["post"],
        "/conversations.history": ["get"],
        "/conversations.replies": ["get"],
    },
}
INDENT = {"slack": 4}

# Local patches, applied after trimming: each fixes an upstream defect that would make the
# contract check meaningless or wrong (see PROVENANCE.md, "Local patches"). `path` is a JSON
# Pointer into the trimmed document. `--check` compares the committed file with trim + patches.
PATCHES = {
    "discord": [
        # An empty oneOf is an invalid schema: Prism's validator gives up and silently skips
        # request-body validation of execute_webhook. Without it, PollLayoutTypes stays an int32.
        {"op": "remove", "path": "/components/schemas/PollLayoutTypes/oneOf", "expect": []},
    ],
    "mastodon": [
        # TextStatus / MediaStatus / PollStatus are not mutually exclusive (no
        # additionalProperties: false), so text + media_ids, which Mastodon accepts, matched two
        # branches and failed "must match exactly one schema in oneOf".
        {"op": "rename", "path": "/paths/~1api~1v1~1statuses/post/requestBody/content/application~1json/schema/oneOf",
         "to": "anyOf"},
        # CredentialAccount200Example is an update_credentials request payload, not an account
        # (no id): without it Prism answers verify_credentials from the CredentialAccount schema.
        {"op": "remove", "path": "/paths/~1api~1v1~1accounts~1verify_credentials/get/responses/200/content/application~1json/examples"},
    ],
    "slack": [
        # A `token` header is an artifact of Slack's spec generator: Slack takes the token as
        # `Authorization: Bearer` (the slackAuth security definition, which stays required) or
        # as a `token` argument, never as a header named `token`.
        {"op": "optional_param", "path": "/paths/~1auth.test/get", "in": "header", "name": "token"},
        {"op": "optional_param", "path": "/paths/~1chat.postMessage/post", "in": "header", "name": "token"},
        # The same for chat.getPermalink's `token` query argument: the bearer header replaces it
        # (Slack no longer accepts tokens in query strings from new apps).
        {"op": "optional_param", "path": "/paths/~1chat.getPermalink/get", "in": "query", "name": "token"},
        # Prism ignores Swagger 2 basePath: the operations move under it so that Prism serves
        # the real URLs (/api/chat.postMessage); the full URLs are unchanged.
        {"op": "base_path_into_paths"},
    ],
}


def pointer(path):
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def patch(name, doc):
    for p in PATCHES.get(name, []):
        op = p["op"]
        if op == "base_path_into_paths":
            base = doc["basePath"].rstrip("/")
            doc["paths"] = {base + k: v for k, v in doc["paths"].items()}
            doc["basePath"] = "/"
            continue
        *parents, last = pointer(p["path"])
        node = doc
        for key in parents:
            node = node[key]
        if op == "remove":
            if "expect" in p and node[last] != p["expect"]:
                sys.exit(f"patch {p}: found {node[last]!r}")
            del node[last]
        elif op == "rename":
            # Same position in the key order.
            items = [(p["to"] if k == last else k, v) for k, v in node.items()]
            if last not in node:
                sys.exit(f"patch {p}: nothing at {p['path']}")
            node.clear()
            node.update(items)
        elif op == "optional_param":
            params = [x for x in node[last]["parameters"] if x["in"] == p["in"] and x["name"] == p["name"]]
            if len(params) != 1:
                sys.exit(f"patch {p}: parameter not found")
            params[0]["required"] = False
        else:
            sys.exit(f"unknown patch {op}")
    return doc


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
    out = patch(name, trim(name, doc))
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
