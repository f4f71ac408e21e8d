#include "vlm/run/shard.h"

#include <cerrno>
#include <cstdlib>

#include "vlm/core/error.h"

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

}  // namespace

std::string Shard::tag() const {
  return std::to_string(rank) + "of" + std::to_string(world_size);
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
