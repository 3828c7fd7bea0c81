// Environment variables set for a scope and put back as they were after it.
// gputls reads its settings (GPUTLS_*) when the provider loads, so fixtures
// set them before loading it; they must leave nothing behind for the next
// test in the same process, and must not clobber what the person running the
// tests had set (GPUTLS_POLICY on a GPU machine, say).
#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gputls::host::testing {

class ScopedEnv {
 public:
  ScopedEnv() = default;
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ~ScopedEnv() { restore(); }

  // Sets `name` (unsets it when value is null), remembering the first value
  // it had in this scope.
  void set(const char* name, const char* value) {
    bool known = false;
    for (const Saved& s : saved_) known = known || s.name == name;
    if (!known) {
      const char* old = std::getenv(name);
      saved_.push_back({name, old ? std::optional<std::string>(old) : std::nullopt});
    }
    if (value) setenv(name, value, 1);
    else unsetenv(name);
  }

  // Puts every variable back (latest first); the scope is empty again.
  void restore() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->old) setenv(it->name.c_str(), it->old->c_str(), 1);
      else unsetenv(it->name.c_str());
    }
    saved_.clear();
  }

 private:
  struct Saved {
    std::string name;
    std::optional<std::string> old;
  };
  std::vector<Saved> saved_;
};

}  // namespace gputls::host::testing
