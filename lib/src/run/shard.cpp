#include "vlm/run/shard.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "vlm/core/error.h"
#include "vlm/results/work_dir.h"

namespace vlm {

namespace {

int parse_int(const std::string& text, const std::string& where) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text.c_str(), &end, 10);
  check_user(!text.empty() && end && *end == '\0' && errno == 0 && v >= 0 && v < (1L << 30),
             where + ": expected a non-negative integer, got '" + text + "'");
  return static_cast<int>(v);
}

// This node's task count in SLURM_TASKS_PER_NODE ("2(x3),1": 2 on nodes 0-2, 1 on node 3);
// nullopt when `node` is past the list.
std::optional<int> slurm_tasks_on_node(const std::string& text, int node) {
  const std::string where = "SLURM_TASKS_PER_NODE";
  size_t at = 0;
  int first = 0;  // first node of the entry at `at`
  while (at < text.size()) {
    const size_t comma = std::min(text.find(',', at), text.size());
    const std::string entry = text.substr(at, comma - at);
    const size_t paren = entry.find("(x");
    const int tasks = parse_int(entry.substr(0, paren), where + "=" + text);
    int repeat = 1;
    if (paren != std::string::npos) {
      check_user(entry.back() == ')', where + "=" + text + ": expected entries such as 2(x3)");
      repeat = parse_int(entry.substr(paren + 2, entry.size() - paren - 3), where + "=" + text);
    }
    if (node < first + repeat) return tasks;
    first += repeat;
    at = comma + 1;
  }
  return std::nullopt;
}

}  // namespace

std::string Shard::tag() const {
  return shard_tag(rank, world_size);
}

Shard resolve_shard(const std::string& flag,
                    const std::function<std::optional<std::string>(const std::string&)>& getenv) {
  Shard s;
  auto env = [&](const std::string& name) -> std::optional<std::string> {
    auto v = getenv(name);
    if (v && v->empty()) return std::nullopt;
    return v;
  };
  auto local = [&](const char* name) {
    const auto v = env(name);
    return v ? parse_int(*v, std::string(name)) : s.rank;
  };
  // Sets local_world_size from `name` (default: world_size, named `world_name`) and checks
  // local_rank against it.
  auto local_count = [&](const char* rank_name, const char* name, const std::string& world_name) {
    const auto v = env(name);
    s.local_world_size = v ? parse_int(*v, std::string(name)) : s.world_size;
    const std::string count =
        v ? std::string(name) : std::string(name) + " unset, so " + world_name;
    check_user(s.local_world_size >= 1 && s.local_rank < s.local_world_size,
               std::string(rank_name) + "=" + std::to_string(s.local_rank) + " must be < " + count +
                   "=" + std::to_string(s.local_world_size) + " (the processes on this host)");
  };
  if (!flag.empty()) {
    const size_t slash = flag.find('/');
    check_user(slash != std::string::npos,
               "--shard " + flag + ": expected i/N, e.g. --shard 0/4 for the first of 4 shards");
    s.rank = parse_int(flag.substr(0, slash), "--shard " + flag + " (i)");
    s.world_size = parse_int(flag.substr(slash + 1), "--shard " + flag + " (N)");
    s.local_rank = local("LOCAL_RANK");
    s.source = "--shard";
    check_user(s.world_size >= 1 && s.rank < s.world_size,
               "--shard " + flag + ": need 0 <= i < N and N >= 1");
    local_count("LOCAL_RANK", "LOCAL_WORLD_SIZE", "--shard N");
    return s;
  }
  if (env("WORLD_SIZE") || env("RANK")) {
    check_user(env("WORLD_SIZE") && env("RANK"),
               "torchrun environment incomplete: RANK and WORLD_SIZE must both be set");
    s.rank = parse_int(*env("RANK"), "RANK");
    s.world_size = parse_int(*env("WORLD_SIZE"), "WORLD_SIZE");
    s.local_rank = local("LOCAL_RANK");
    s.source = "torchrun (RANK/WORLD_SIZE)";
    check_user(
        s.world_size >= 1 && s.rank < s.world_size,
        "RANK=" + std::to_string(s.rank) + " must be < WORLD_SIZE=" + std::to_string(s.world_size));
    local_count("LOCAL_RANK", "LOCAL_WORLD_SIZE", "WORLD_SIZE");
    return s;
  }
  if (env("SLURM_NTASKS") && env("SLURM_PROCID")) {
    s.rank = parse_int(*env("SLURM_PROCID"), "SLURM_PROCID");
    s.world_size = parse_int(*env("SLURM_NTASKS"), "SLURM_NTASKS");
    s.local_rank = local("SLURM_LOCALID");
    s.source = "Slurm (SLURM_PROCID/SLURM_NTASKS)";
    check_user(s.world_size >= 1 && s.rank < s.world_size,
               "SLURM_PROCID=" + std::to_string(s.rank) +
                   " must be < SLURM_NTASKS=" + std::to_string(s.world_size));
    if (env("SLURM_NTASKS_PER_NODE")) {
      local_count("SLURM_LOCALID", "SLURM_NTASKS_PER_NODE", "SLURM_NTASKS");
    } else if (env("SLURM_TASKS_PER_NODE")) {
      const int node = env("SLURM_NODEID") ? parse_int(*env("SLURM_NODEID"), "SLURM_NODEID") : 0;
      const auto tasks = slurm_tasks_on_node(*env("SLURM_TASKS_PER_NODE"), node);
      check_user(tasks.has_value(), "SLURM_TASKS_PER_NODE=" + *env("SLURM_TASKS_PER_NODE") +
                                        " lists no node " + std::to_string(node) +
                                        " (SLURM_NODEID)");
      s.local_world_size = *tasks;
      check_user(s.local_rank < s.local_world_size,
                 "SLURM_LOCALID=" + std::to_string(s.local_rank) + " must be < " +
                     std::to_string(s.local_world_size) +
                     ", this node's entry of SLURM_TASKS_PER_NODE=" + *env("SLURM_TASKS_PER_NODE"));
    } else {
      local_count("SLURM_LOCALID", "SLURM_NTASKS_PER_NODE", "SLURM_NTASKS");
    }
    return s;
  }
  return s;
}

std::vector<size_t> shard_positions(size_t n, const Shard& shard) {
  std::vector<size_t> out;
  for (size_t i = static_cast<size_t>(shard.rank); i < n;
       i += static_cast<size_t>(shard.world_size))
    out.push_back(i);
  return out;
}

}  // namespace vlm
