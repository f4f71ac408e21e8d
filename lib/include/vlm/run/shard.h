// Which part of a dataset this process answers: data-parallel shards as torchrun, Slurm or
// --shard i/N describe them. Rank r of W takes the item positions r, r+W, r+2W, ...
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace vlm {

struct Shard {
  int rank = 0;              // this process's shard, 0 <= rank < world_size
  int world_size = 1;        // number of shards
  int local_rank = 0;        // rank among the processes of this host (picks a placement group)
  int local_world_size = 1;  // processes on this host, 0 <= local_rank < local_world_size
  std::string source = "single process";  // "--shard", "torchrun (RANK/WORLD_SIZE)", "Slurm ..."

  // "{r}of{W}", used in record file names.
  std::string tag() const;
};

// Resolves the shard from `--shard i/N` (`flag`, empty when not given), else torchrun's
// RANK/WORLD_SIZE/LOCAL_RANK, else Slurm's SLURM_PROCID/SLURM_NTASKS/SLURM_LOCALID, else a single
// process. The processes of this host: LOCAL_WORLD_SIZE (torchrun, and --shard when set); under
// Slurm SLURM_NTASKS_PER_NODE, else this node's entry of SLURM_TASKS_PER_NODE ("2(x3),1": 2 tasks
// on nodes 0-2, 1 on node 3) at SLURM_NODEID. Without them every process is taken to be on one
// host: local rank = rank, local_world_size = world_size. `getenv` returns the variable's value
// or nullopt. UserError naming the flag or variable on a malformed or out-of-range value.
Shard resolve_shard(const std::string& flag,
                    const std::function<std::optional<std::string>(const std::string&)>& getenv);

// The positions in [0, n) that `shard` takes: rank, rank + W, ...
std::vector<size_t> shard_positions(size_t n, const Shard& shard);

}  // namespace vlm
