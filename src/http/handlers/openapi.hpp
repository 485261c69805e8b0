// The API description served as GET /openapi.json: docs/openapi.yaml (the one
// source of truth), converted to JSON at build time by embed_openapi.py.
//
// Thread-safety: a constant.
#pragma once

#include <string_view>

namespace jobtape::http {

// The OpenAPI document as compact JSON.
std::string_view OpenApiJson();

}  // namespace jobtape::http
