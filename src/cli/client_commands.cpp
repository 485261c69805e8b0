// RegisterClientCommands: the client half of the jobtape command (the server
// half, `serve`, lives in serve.cpp).
#include "cli/client_commands.hpp"

#include "cli/client_common.hpp"
#include "cli/commands_worker.hpp"

namespace jobtape::cli {

void RegisterClientCommands(CLI::App& app) {
  AddSubmitCommand(app);
  AddWatchCommand(app);
  AddListCommand(app);
  AddShowCommand(app);
  AddCancelCommand(app);
  AddRetryCommand(app);
  AddQueuesCommand(app);
  AddHealthCommand(app);
  AddScheduleCommand(app);
  AddBatchCommand(app);
  AddWorkerCommand(app);
}

}  // namespace jobtape::cli
