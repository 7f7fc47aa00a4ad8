#!/usr/bin/env python3
"""openapi_check.py — checks hub/openapi.json, and answers of the hub against it.

  openapi_check.py DOC --lint
      the document: OpenAPI 3.1 shape, every $ref resolves, every schema a valid JSON Schema 2020-12
  openapi_check.py DOC --paths
      prints the document's paths, one a line, sorted
  openapi_check.py DOC --answer METHOD URL STATUS CONTENT_TYPE BODY_FILE
      one answer: URL (a concrete path with its query, or a full URL) is matched to its path template
      (/api/v1/... is the same route as /lens/v1/...), STATUS to its response, CONTENT_TYPE to the
      response's media type, the body to its schema; for a success (HTTP 2xx, and on the Lens face meta.code
      2000) each query parameter the operation declares must also match its schema
  openapi_check.py DOC --dir DIR [--coverage FILE]
      every answer tests/integration/openapi.sh recorded in DIR (a.*.r request, .s status and type, .b body);
      FILE gets one line "TEMPLATE STATUS CODE" per answer (CODE: meta.code, or - when there is none)

Prints one line per problem and "validated N answers, M failed"; exits 1 when anything failed.
Needs python3-jsonschema (Debian), 4.10 or later.
"""
import glob
import json
import os
import re
import sys
import urllib.parse

import jsonschema
from jsonschema import Draft202012Validator

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def resolve_pointer(doc, ref):
    """The node a local $ref (#/a/b) names, or None."""
    if not ref.startswith("#/"):
        return None
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def deref(doc, node):
    while isinstance(node, dict) and "$ref" in node and len(node) == 1:
        node = resolve_pointer(doc, node["$ref"])
    return node


def walk_refs(doc, node, where, errors):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and resolve_pointer(doc, ref) is None:
            errors.append(f"{where}: $ref {ref} does not resolve")
        for k, v in node.items():
            walk_refs(doc, v, f"{where}/{k}", errors)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            walk_refs(doc, v, f"{where}/{i}", errors)


def schemas_of(doc):
    """(where, schema) for every schema the document holds."""
    out = [(f"#/components/schemas/{k}", v) for k, v in doc.get("components", {}).get("schemas", {}).items()]
    for p, item in doc.get("paths", {}).items():
        for m, op in item.items():
            if m not in HTTP_METHODS:
                continue
            for i, prm in enumerate(op.get("parameters", [])):
                prm = deref(doc, prm)
                if "schema" in prm:
                    out.append((f"{p} {m} parameter {prm.get('name', i)}", prm["schema"]))
            for st, resp in op.get("responses", {}).items():
                resp = deref(doc, resp)
                for mt, media in resp.get("content", {}).items():
                    if "schema" in media:
                        out.append((f"{p} {m} {st} {mt}", media["schema"]))
    return out


def lint(doc):
    errors = []
    if not str(doc.get("openapi", "")).startswith("3.1."):
        errors.append("openapi: not 3.1.x")
    if doc.get("jsonSchemaDialect", "https://spec.openapis.org/oas/3.1/dialect/base") not in (
        "https://spec.openapis.org/oas/3.1/dialect/base",
        "https://json-schema.org/draft/2020-12/schema",
    ):
        errors.append("jsonSchemaDialect: not 2020-12")
    info = doc.get("info", {})
    for k in ("title", "version"):
        if not isinstance(info.get(k), str):
            errors.append(f"info.{k}: missing")
    for name, scheme in doc.get("components", {}).get("securitySchemes", {}).items():
        if scheme.get("type") not in ("apiKey", "http", "mutualTLS", "oauth2", "openIdConnect"):
            errors.append(f"securitySchemes.{name}: bad type")
    schemes = doc.get("components", {}).get("securitySchemes", {})
    for p, item in doc.get("paths", {}).items():
        if not p.startswith("/"):
            errors.append(f"path {p}: does not start with /")
        for m, op in item.items():
            if m not in HTTP_METHODS:
                errors.append(f"{p}: {m} is not an HTTP method")
                continue
            if not op.get("responses"):
                errors.append(f"{p} {m}: no responses")
            for st in op.get("responses", {}):
                if not re.fullmatch(r"[1-5][0-9][0-9]|[1-5]XX|default", st):
                    errors.append(f"{p} {m}: bad status key {st}")
            for req in op.get("security", doc.get("security", [])):
                for name in req:
                    if name not in schemes:
                        errors.append(f"{p} {m}: security scheme {name} is not defined")
            declared = set()
            for prm in op.get("parameters", []):
                prm = deref(doc, prm)
                if prm is None or prm.get("in") not in ("query", "path", "header", "cookie") or "name" not in prm:
                    errors.append(f"{p} {m}: a parameter lacks name or in")
                    continue
                declared.add((prm["in"], prm["name"]))
                if prm["in"] == "path" and prm.get("required") is not True:
                    errors.append(f"{p} {m}: path parameter {prm['name']} must be required")
            for seg in re.findall(r"\{([^}]+)\}", p):
                if ("path", seg) not in declared:
                    errors.append(f"{p} {m}: path parameter {seg} not declared")
    walk_refs(doc, doc, "#", errors)
    for where, schema in schemas_of(doc):
        try:
            Draft202012Validator.check_schema(schema)
        except jsonschema.exceptions.SchemaError as e:
            errors.append(f"{where}: not a valid 2020-12 schema: {e.message}")
    return errors


def templates(doc):
    """[(regex, template)], the templates with more literal segments first (/v1/nodes/gpuAllocation
    before /v1/nodes/{name})."""
    out = []
    for p in doc.get("paths", {}):
        rx = "^" + re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(p)) + "$"
        literal = sum(1 for s in p.split("/") if s and not s.startswith("{"))
        out.append((literal, re.compile(rx), p))
    out.sort(key=lambda t: -t[0])
    return [(rx, p) for _, rx, p in out]


def validator_for(doc, schema):
    # The document's components sit beside the schema so "#/components/…" resolves (with any jsonschema).
    return Draft202012Validator({"components": doc.get("components", {}), "allOf": [schema]})


def schema_errors(doc, schema, value):
    v = validator_for(doc, schema)
    return [
        f"at {'/'.join(str(x) for x in e.absolute_path) or '(root)'}: {e.message[:300]}"
        for e in sorted(v.iter_errors(value), key=lambda e: list(e.absolute_path))[:5]
    ]


def typed(value, schema, doc):
    """A query string value as its schema's type (integer, number, boolean), else the string."""
    schema = deref(doc, schema)
    types = schema.get("type", "string")
    types = types if isinstance(types, list) else [types]
    if "integer" in types and re.fullmatch(r"-?[0-9]+", value):
        return int(value)
    if "number" in types:
        try:
            return float(value)
        except ValueError:
            pass
    if "boolean" in types and value in ("true", "false"):
        return value == "true"
    return value


def check_answer(doc, method, url, status, ctype, body, cover):
    """Problems with one answer (a list of strings)."""
    parts = urllib.parse.urlsplit(url)
    path = urllib.parse.unquote(parts.path)
    if path.startswith("/api/v1/"):
        path = "/lens/v1/" + path[len("/api/v1/"):]
    where = f"{method} {url} → {status}"
    template, op = None, None
    for rx, p in templates(doc):
        m = rx.match(path)
        if m:
            template, op = p, doc["paths"][p].get(method.lower())
            break
    if template is None or op is None:
        unknown = "LensUnknownRoute" if path.startswith("/lens/v1/") else "V1UnknownRoute"
        resp = doc["components"]["responses"][unknown]
        template, code_key = f"(unknown route {unknown})", "404"
        if status != 404:
            return [f"{where}: no route in the document matches, yet the status is not 404"]
    else:
        code_key = str(status)
        responses = op.get("responses", {})
        resp = responses.get(code_key) or responses.get(f"{code_key[0]}XX") or responses.get("default")
        if resp is None:
            return [f"{where}: status {status} is not a documented response of {template}"]
        resp = deref(doc, resp)
    mtype = (ctype or "").split(";")[0].strip().lower()
    content = resp.get("content", {})
    if not content:
        if body:
            return [f"{where}: the document gives {template} {code_key} no body, the hub sent {len(body)} bytes"]
        cover.append(f"{template} {status} -")
        return []
    if mtype not in content:
        return [f"{where}: content type {ctype!r} is not one of {sorted(content)} for {template} {code_key}"]
    schema = content[mtype].get("schema", {})
    text = body.decode("utf-8", errors="strict")
    if mtype.endswith("json"):
        try:
            value = json.loads(text)
        except ValueError as e:
            return [f"{where}: the body is not JSON: {e}"]
    else:
        value = text
    errs = [f"{where}: body {e}" for e in schema_errors(doc, schema, value)]
    code = value.get("meta", {}).get("code", "-") if isinstance(value, dict) and isinstance(value.get("meta"), dict) else "-"
    ok = 200 <= status < 300 and code in ("-", 2000)
    if ok and op is not None:
        query = urllib.parse.parse_qs(parts.query, keep_blank_values=False)
        for prm in op.get("parameters", []):
            prm = deref(doc, prm)
            if prm.get("in") != "query" or prm["name"] not in query or "schema" not in prm:
                continue
            vals, schema = query[prm["name"]], deref(doc, prm["schema"])
            if schema.get("type") == "array":  # form, explode: name=a&name=b
                value = [typed(v, schema.get("items", {}), doc) for v in vals]
            else:
                value = typed(vals[0], schema, doc)
            for e in schema_errors(doc, schema, value):
                errs.append(f"{where}: query {prm['name']}={vals!r} answered 2xx yet {e}")
    if not errs:
        cover.append(f"{template} {status} {code}")
    return errs


def check_dir(doc, d, cover):
    problems, n = [], 0
    for req in sorted(glob.glob(os.path.join(d, "a.*.r"))):
        base = req[:-2]
        with open(req, encoding="utf-8") as f:
            method, url = f.read().split("\n")[:2]
        try:
            with open(base + ".s", encoding="utf-8") as f:
                lines = f.read().split("\n")
            status, ctype = int(lines[0]), lines[1] if len(lines) > 1 else ""
        except (OSError, ValueError):
            continue
        if status == 0:  # no answer (the hub was down): nothing to check
            continue
        try:
            with open(base + ".b", "rb") as f:
                body = f.read()
        except OSError:
            body = b""
        n += 1
        problems += check_answer(doc, method, url, status, ctype, body, cover)
    return n, problems


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    doc = load(argv[1])
    mode = argv[2]
    cover, problems, n = [], [], 0
    if mode == "--lint":
        problems = lint(doc)
        for p in problems:
            print(p)
        print(f"linted {len(doc.get('paths', {}))} paths, {len(problems)} problems")
        return 1 if problems else 0
    if mode == "--paths":
        for p in sorted(doc.get("paths", {})):
            print(p)
        return 0
    if mode == "--answer" and len(argv) == 8:
        method, url, status, ctype, body_file = argv[3:8]
        with open(body_file, "rb") as f:
            body = f.read()
        n, problems = 1, check_answer(doc, method, url, int(status), ctype, body, cover)
    elif mode == "--dir" and len(argv) in (4, 6):
        n, problems = check_dir(doc, argv[3], cover)
        if len(argv) == 6 and argv[4] == "--coverage":
            with open(argv[5], "a", encoding="utf-8") as f:
                f.write("".join(c + "\n" for c in cover))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for p in problems:
        print(p)
    print(f"validated {n} answers, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
