#!/usr/bin/env python3
"""Build step: docs/openapi.yaml (the one source of truth for the API
description) -> a C++ file defining jobtape::http::OpenApiJson(), served as
GET /openapi.json.

    embed_openapi.py INPUT.yaml OUTPUT.cpp

Without PyYAML, or without the input file, the output serves a small
placeholder document saying so (the build never fails for want of docs).
"""
import json
import os
import sys

DELIM = "jobtape_openapi"


def convert(path):
    try:
        import yaml  # python3-yaml
    except ImportError:
        return {"openapi": "3.0.3",
                "info": {"title": "jobtape", "version": "unknown",
                         "description": "built without python3-yaml: see docs/openapi.yaml"},
                "paths": {}}
    if not os.path.exists(path):
        return {"openapi": "3.0.3",
                "info": {"title": "jobtape", "version": "unknown",
                         "description": "docs/openapi.yaml was missing at build time"},
                "paths": {}}
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def main():
    src, out = sys.argv[1], sys.argv[2]
    text = json.dumps(convert(src), separators=(",", ":"), ensure_ascii=False, default=str)
    if (")" + DELIM + '"') in text:
        sys.exit("embed_openapi.py: the document contains the raw-string delimiter")
    # Raw string literals are limited in practice; split into chunks.
    chunks = [text[i:i + 16000] for i in range(0, len(text), 16000)] or [""]
    body = "\n".join('    R"%s(%s)%s"' % (DELIM, c, DELIM) for c in chunks)
    cpp = ("// Generated from docs/openapi.yaml by embed_openapi.py: do not edit.\n"
           "#include \"http/handlers/openapi.hpp\"\n\n"
           "namespace jobtape::http {\n\n"
           "std::string_view OpenApiJson() {\n"
           "  static constexpr char kJson[] =\n%s;\n"
           "  return std::string_view(kJson, sizeof kJson - 1);\n"
           "}\n\n"
           "}  // namespace jobtape::http\n") % body
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(cpp)
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
