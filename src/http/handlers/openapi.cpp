// GET /openapi.json: the embedded API description (openapi.hpp).
#include "http/handlers/openapi.hpp"

#include "http/handlers/routes.hpp"

namespace jobtape::http {

void AddOpenApiRoutes(Router& router, ServerContext& /*ctx*/) {
  router.Add(Method::kGet, "/openapi.json", Permission::kPublic,
             [](Request&) -> boost::asio::awaitable<Response> {
               Response response = JsonResponse(200, std::string(OpenApiJson()));
               response.SetHeader("Cache-Control", "public, max-age=300");
               co_return response;
             });
}

}  // namespace jobtape::http
