// The schedules resource over HTTP against the real server: create, replace,
// get, list, delete, pause through PUT, validation errors (400 for what does
// not decode, 422 invalid_argument naming the field for a bad expression or
// zone), roles, and that a schedule survives a restart unchanged (the
// restart never fires twice: store contract schedule_crash_test). Firing at a
// given minute is tested in-process on a virtual clock
// (tests/unit/http/schedules_handler_test.cpp) instead of waiting here.
#include <csignal>

#include "api_fixture.hpp"

namespace jobtape::integration {
namespace {

class SchedulesApiTest : public ServerTest {};

TEST_F(SchedulesApiTest, PutGetListDelete) {
  StartServer();
  Api api(port());
  ApiReply created = api.Call("PUT", "/v1/schedules/nightly", R"({"cron":"30 2 * * *",
      "timezone":"America/New_York","job":{"kind":"backup","queue":"ops","payload":{"full":true}}})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.Header("Location"), "/v1/schedules/nightly");
  EXPECT_EQ(created.json.at("timezone"), "America/New_York");
  ASSERT_TRUE(created.json.at("next_fire_at_ms").is_int64()) << created.body;
  EXPECT_GT(created.json.at("next_fire_at_ms").as_int64(), 0);

  ApiReply paused = api.Call("PUT", "/v1/schedules/nightly", R"({"cron":"30 2 * * *",
      "timezone":"America/New_York","paused":true,"job":{"kind":"backup","queue":"ops"}})");
  ASSERT_EQ(paused.status, 200) << paused.body;
  EXPECT_EQ(paused.json.at("paused"), true);

  ApiReply got = api.Get("/v1/schedules/nightly");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.json.at("paused"), true);
  EXPECT_EQ(got.json.at("job").at("kind"), "backup");

  ASSERT_EQ(
      api.Call("PUT", "/v1/schedules/hourly", R"({"cron":"@hourly","job":{"kind":"k"}})").status,
      201);
  ApiReply list = api.Get("/v1/schedules");
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_EQ(list.json.at("schedules").as_array().size(), 2u);
  EXPECT_EQ(list.json.at("schedules").as_array()[0].at("name"), "hourly");
  EXPECT_TRUE(list.json.at("next_cursor").is_null());

  EXPECT_EQ(api.Call("DELETE", "/v1/schedules/nightly").status, 204);
  EXPECT_EQ(api.Get("/v1/schedules/nightly").status, 404);
  ApiReply gone = api.Call("DELETE", "/v1/schedules/nightly");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(gone.ErrorCode(), "not_found");
}

TEST_F(SchedulesApiTest, BadCronOrZoneIs422NamingTheField) {
  StartServer();
  Api api(port());
  ApiReply cron =
      api.Call("PUT", "/v1/schedules/x", R"({"cron":"every minute","job":{"kind":"k"}})");
  EXPECT_EQ(cron.status, 422) << cron.body;
  EXPECT_EQ(cron.ErrorCode(), "invalid_argument");
  EXPECT_EQ(cron.json.at("error").at("field"), "cron");
  ApiReply zone = api.Call("PUT", "/v1/schedules/x",
                           R"({"cron":"@daily","timezone":"Nowhere/Town","job":{"kind":"k"}})");
  EXPECT_EQ(zone.status, 422) << zone.body;
  EXPECT_EQ(zone.json.at("error").at("field"), "timezone");
  ApiReply typo = api.Call("PUT", "/v1/schedules/x", R"({"crn":"@daily","job":{"kind":"k"}})");
  EXPECT_EQ(typo.status, 400) << typo.body;
  ApiReply not_json =
      api.Call("PUT", "/v1/schedules/x", "{", {{"Content-Type", "application/json"}});
  EXPECT_EQ(not_json.status, 400) << not_json.body;
  EXPECT_EQ(api.Get("/v1/schedules/x").status, 404) << "nothing was written";
}

TEST_F(SchedulesApiTest, OnlyAdminsChangeSchedulesAndReadersRead) {
  const std::string admin = "admin-token-0123456789";
  const std::string producer = "producer-token-0123456789";
  StartServer({}, {{"JOBTAPE_TOKENS", "admin:" + admin + ",producer:" + producer}});
  const std::string body = R"({"cron":"@daily","job":{"kind":"k"}})";
  ApiReply denied = Api(port(), producer).Call("PUT", "/v1/schedules/d", body);
  EXPECT_EQ(denied.status, 403) << denied.body;
  EXPECT_EQ(Api(port()).Call("PUT", "/v1/schedules/d", body).status, 401);
  EXPECT_EQ(Api(port(), admin).Call("PUT", "/v1/schedules/d", body).status, 201);
  EXPECT_EQ(Api(port(), producer).Get("/v1/schedules/d").status, 200);
  EXPECT_EQ(Api(port(), producer).Call("DELETE", "/v1/schedules/d").status, 403);
}

TEST_F(SchedulesApiTest, ASchedulesDefinitionSurvivesARestart) {
  StartServer();
  ApiReply before = Api(port()).Call("PUT", "/v1/schedules/keep",
                                     R"({"cron":"*/10 * * * *","job":{"kind":"k","priority":7}})");
  ASSERT_EQ(before.status, 201) << before.body;
  server_->Signal(SIGTERM);  // shuts down in order, the scheduler with it
  EXPECT_EQ(server_->WaitForExit(), 0) << server_->Output();
  StartServer();  // the same data directory
  ApiReply after = Api(port()).Get("/v1/schedules/keep");
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(after.json.at("job").at("priority").as_int64(), 7);
  EXPECT_EQ(after.json.at("created_at"), before.json.at("created_at"));
  ApiReply health = Api(port()).Get("/health");
  bool listed = false;
  for (const auto& loop : health.json.at("loops").as_array())
    listed = listed || loop.at("name") == "scheduler";
  EXPECT_TRUE(listed) << health.body;
}

}  // namespace
}  // namespace jobtape::integration
