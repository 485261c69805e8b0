#include "exec/kind_registry.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <cerrno>
#include <cstring>

namespace jobtape::exec {

namespace {

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

bool IsKindFileName(std::string_view name) {
  constexpr std::string_view kExt = ".toml";
  return name.size() > kExt.size() && name[0] != '.' &&
         name.substr(name.size() - kExt.size()) == kExt;
}

// Closes a DIR* on scope exit.
struct DirCloser {
  void operator()(DIR* d) const { closedir(d); }
};

}  // namespace

const KindSpec* KindSet::Find(std::string_view name) const {
  auto it = kinds.find(name);
  return it == kinds.end() ? nullptr : &it->second;
}

KindRegistry::KindRegistry(std::string dir)
    : dir_(std::move(dir)), current_(std::make_shared<const KindSet>()) {}

Status KindRegistry::Scan(Fingerprint& fp) const {
  struct stat st {};
  if (stat(dir_.c_str(), &st) != 0) {
    int err = errno;
    std::string msg = "kind directory " + dir_ + ": " + std::strerror(err);
    if (err == ENOENT) return Status::NotFound(std::move(msg));
    return Status::InvalidArgument(std::move(msg));
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument("kind directory " + dir_ + ": not a directory");
  }
  std::unique_ptr<DIR, DirCloser> d(opendir(dir_.c_str()));
  if (!d) {
    return Status::InvalidArgument("kind directory " + dir_ + ": " + std::strerror(errno));
  }
  fp.dir_ok = true;
  fp.dir_mtime_ns = MtimeNs(st);
  while (const dirent* e = readdir(d.get())) {
    if (!IsKindFileName(e->d_name)) continue;
    std::string path = dir_ + "/" + e->d_name;
    struct stat fst {};
    // A file deleted between readdir and stat simply is not there.
    if (stat(path.c_str(), &fst) != 0 || !S_ISREG(fst.st_mode)) continue;
    fp.files[path] = FileStamp{MtimeNs(fst), fst.st_size, fst.st_ino};
  }
  return Status::Ok();
}

std::shared_ptr<const KindSet> KindRegistry::Current() const {
  std::lock_guard lock(current_mu_);
  return current_;
}

std::shared_ptr<const KindSet> KindRegistry::Refresh() {
  std::lock_guard lock(mu_);
  Fingerprint fp;
  Status dir_status = Scan(fp);
  if (scanned_ && fp == last_) return Current();
  std::shared_ptr<const KindSet> set = Build(fp, std::move(dir_status));
  last_ = std::move(fp);
  scanned_ = true;
  std::lock_guard publish(current_mu_);
  current_ = set;
  return set;
}

std::shared_ptr<const KindSet> KindRegistry::Build(const Fingerprint& fp, Status dir_status) {
  auto set = std::make_shared<KindSet>();
  set->generation = Current()->generation + 1;
  set->dir_status = std::move(dir_status);

  // Drop cache entries of deleted files; re-parse new and changed files.
  for (auto it = cache_.begin(); it != cache_.end();) {
    it = fp.files.count(it->first) ? std::next(it) : cache_.erase(it);
  }
  for (const auto& [path, stamp] : fp.files) {
    auto it = cache_.find(path);
    if (it != cache_.end() && it->second.stamp == stamp) continue;
    parses_.fetch_add(1);
    Result<KindSpec> spec = ParseKindFile(path);
    if (it != cache_.end()) cache_.erase(it);
    cache_.emplace(path, CachedFile{stamp, std::move(spec)});
  }

  // std::map iterates in path order, which decides duplicate names.
  for (const auto& [path, cached] : cache_) {
    if (!cached.spec.ok()) {
      set->errors.push_back({path, cached.spec.status()});
      continue;
    }
    const KindSpec& spec = cached.spec.value();
    auto [it, inserted] = set->kinds.emplace(spec.name, spec);
    if (!inserted) {
      set->errors.push_back(
          {path, Status::Conflict(path + ": name: kind \"" + spec.name +
                                  "\" is already defined in " + it->second.source_path)});
    }
  }
  return set;
}

}  // namespace jobtape::exec
