#include "store/sqlite/sqlite_malloc.hpp"

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace jobtape::store::sqlite {
namespace {

// Each block carries a 16-byte header holding its usable size (SQLite asks
// for it back through xSize), which keeps the payload 16-byte aligned.
constexpr std::size_t kHeader = 16;
// Blocks up to kMaxCachedSize are rounded up to a multiple of kGranule and
// cached; SQLite's cursors, records, small strings and pages (4 KiB plus a
// header) fall in this range.
constexpr std::size_t kGranule = 16;
constexpr std::size_t kMaxCachedSize = 8192;
constexpr std::size_t kClasses = kMaxCachedSize / kGranule;
// A thread keeps at most this many bytes of free blocks: enough for what one
// write transaction frees and takes again, and a bound on what an idle thread
// holds.
constexpr std::size_t kMaxCachedBytes = std::size_t{1} << 20;

struct FreeBlock {
  FreeBlock* next;
};

std::size_t RoundUp(std::size_t n) {
  if (n == 0) n = 1;
  if (n <= kMaxCachedSize) return (n + kGranule - 1) / kGranule * kGranule;
  return (n + 7) & ~std::size_t{7};
}

std::size_t& SizeOf(void* payload) {
  return *reinterpret_cast<std::size_t*>(static_cast<char*>(payload) - kHeader);
}

// Set once the thread's cache is destroyed (thread exit): later frees on this
// thread go straight to the system. A plain thread_local bool has no
// destructor, so it stays readable after the cache's destructor ran.
thread_local bool tl_cache_gone = false;

struct ThreadCache {
  std::array<FreeBlock*, kClasses> heads{};
  std::size_t cached_bytes = 0;
  ~ThreadCache() {
    tl_cache_gone = true;
    for (FreeBlock* b : heads) {
      while (b != nullptr) {
        FreeBlock* next = b->next;
        std::free(reinterpret_cast<char*>(b) - kHeader);
        b = next;
      }
    }
  }
};

thread_local ThreadCache tl_cache;

void* SystemAlloc(std::size_t size) {
  char* raw = static_cast<char*>(std::malloc(kHeader + size));
  if (raw == nullptr) return nullptr;
  *reinterpret_cast<std::size_t*>(raw) = size;
  return raw + kHeader;
}

void* Malloc(int n) {
  if (n < 0) return nullptr;
  std::size_t size = RoundUp(static_cast<std::size_t>(n));
  if (size <= kMaxCachedSize && !tl_cache_gone) {
    std::size_t c = size / kGranule - 1;
    if (FreeBlock* b = tl_cache.heads[c]) {
      tl_cache.heads[c] = b->next;
      tl_cache.cached_bytes -= size;
      return b;
    }
  }
  return SystemAlloc(size);
}

void Free(void* p) {
  if (p == nullptr) return;
  std::size_t size = SizeOf(p);
  if (size <= kMaxCachedSize && !tl_cache_gone) {
    std::size_t c = size / kGranule - 1;
    if (tl_cache.cached_bytes + size <= kMaxCachedBytes) {
      FreeBlock* b = static_cast<FreeBlock*>(p);
      b->next = tl_cache.heads[c];
      tl_cache.heads[c] = b;
      tl_cache.cached_bytes += size;
      return;
    }
  }
  std::free(static_cast<char*>(p) - kHeader);
}

int Size(void* p) {
  return p == nullptr ? 0 : static_cast<int>(SizeOf(p));
}

void* Realloc(void* p, int n) {
  if (p == nullptr) return Malloc(n);
  if (n < 0) return nullptr;
  std::size_t old_size = SizeOf(p);
  std::size_t size = RoundUp(static_cast<std::size_t>(n));
  if (size == old_size) return p;
  if (old_size > kMaxCachedSize && size > kMaxCachedSize) {
    // Neither block is cached: let the system move it (or not).
    char* raw = static_cast<char*>(std::realloc(static_cast<char*>(p) - kHeader, kHeader + size));
    if (raw == nullptr) return nullptr;
    *reinterpret_cast<std::size_t*>(raw) = size;
    return raw + kHeader;
  }
  void* q = Malloc(n);
  if (q == nullptr) return nullptr;
  std::memcpy(q, p, old_size < size ? old_size : size);
  Free(p);
  return q;
}

int Roundup(int n) {
  return n < 0 ? n : static_cast<int>(RoundUp(static_cast<std::size_t>(n)));
}

int Init(void*) {
  return SQLITE_OK;
}

void Shutdown(void*) {}

const sqlite3_mem_methods kMethods = {Malloc,  Free, Realloc,  Size,
                                      Roundup, Init, Shutdown, nullptr};

}  // namespace

const sqlite3_mem_methods* CachingMemMethods() {
  return &kMethods;
}

}  // namespace jobtape::store::sqlite
