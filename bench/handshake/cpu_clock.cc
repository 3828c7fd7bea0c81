#include "cpu_clock.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

namespace gputls::bench {

bool pid_cpu_s(pid_t pid, double* seconds) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return false;
  // The command name (field 2) may hold spaces: fields are counted after its ')'.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  if (!rest) return false;
  *seconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  return true;
}

bool pids_cpu_s(const std::vector<pid_t>& pids, double* seconds, std::string* error) {
  *seconds = 0;
  for (pid_t p : pids) {
    double s = 0;
    if (!pid_cpu_s(p, &s)) {
      *error = "--server-pid " + std::to_string(p) + ": no such process (or /proc/" + std::to_string(p) +
               "/stat unreadable)";
      return false;
    }
    *seconds += s;
  }
  return true;
}

}  // namespace gputls::bench
