// Clients for the live tape streams, each bounded by a guard timeout:
// SseClient reads Server-Sent Events over a plain socket (so a test can also
// open one and then never read, with a tiny receive buffer), WsClient reads
// WebSocket messages through Beast.
//
// Thread-safety: one thread per client.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "server_process.hpp"

namespace jobtape::integration {

struct SseEvent {
  std::string id;
  std::string event;
  std::string data;
};

class SseClient {
 public:
  // `rcvbuf` > 0 shrinks the socket's receive buffer (a watcher that stalls quickly).
  explicit SseClient(uint16_t port, std::chrono::milliseconds guard = kGuard, int rcvbuf = 0);
  ~SseClient();
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  // Sends GET `target` and reads the response head. False on failure.
  bool Open(const std::string& target,
            const std::vector<std::pair<std::string, std::string>>& headers = {});
  int status() const { return status_; }
  const std::string& head() const { return head_; }

  // The next event (comments and retry hints are skipped, counted in
  // comments()); nullopt at the end of the stream or when the guard runs out.
  std::optional<SseEvent> Next();
  // Reads until `n` comments (keep-alives) have arrived in all; false at the
  // end of the stream or when the guard runs out. Events read meanwhile are dropped.
  bool WaitForComments(int n);
  bool ended() const { return ended_; }  // the server closed the stream
  bool timed_out() const { return timed_out_; }
  int comments() const { return comments_; }
  void Close();

 private:
  bool Fill();  // reads more bytes into buf_; false at EOF/error/timeout

  int fd_ = -1;
  std::string buf_;
  std::string head_;
  int status_ = 0;
  bool ended_ = false;
  bool timed_out_ = false;
  int comments_ = 0;
};

class WsClient {
 public:
  explicit WsClient(uint16_t port, std::chrono::milliseconds guard = kGuard);
  ~WsClient();
  // Performs the upgrade on `target`; false if refused or failed.
  bool Connect(const std::string& target,
               const std::vector<std::pair<std::string, std::string>>& headers = {});
  // The next text message; nullopt once closed (see close_code()) or timed out.
  std::optional<std::string> Read();
  int close_code() const { return close_code_; }

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  int close_code_ = 0;
};

}  // namespace jobtape::integration
