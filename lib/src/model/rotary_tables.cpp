#include "vlm/model/rotary_tables.h"

#include <algorithm>
#include <cstdint>

#include "vlm/core/error.h"
#include "vlm/model/device_handoff.h"

namespace vlm {

namespace {

std::vector<double> factor_list(const nlohmann::json& rs, const char* key, int64_t head_dim) {
  const std::string where = std::string("manifest llm.rope_scaling.") + key;
  check_user(rs.contains(key) && rs[key].is_array(), where + " is missing or not a list");
  std::vector<double> out;
  for (const auto& v : rs[key]) {
    check_user(v.is_number(), where + " holds a non-number");
    out.push_back(v.get<double>());
  }
  check_user(static_cast<int64_t>(out.size()) == head_dim / 2,
             where + " has " + std::to_string(out.size()) +
                 " entries, expected head_dim / 2 = " + std::to_string(head_dim / 2));
  return out;
}

}  // namespace

RopeScaling parse_rope_scaling(const nlohmann::json& llm, int64_t head_dim) {
  RopeScaling s;
  if (!llm.contains("rope_scaling") || llm["rope_scaling"].is_null()) return s;
  const nlohmann::json& rs = llm["rope_scaling"];
  check_user(rs.is_object() && rs.contains("type") && rs["type"].is_string(),
             "manifest llm.rope_scaling must be null or an object with a \"type\"");
  const std::string type = rs["type"].get<std::string>();
  if (type == "dynamic") {
    s.type = "dynamic";
    return s;
  }
  check_user(type == "longrope", "manifest llm.rope_scaling.type \"" + type +
                                     "\" is not supported (null, dynamic or longrope)");
  s.type = type;
  s.short_factor = factor_list(rs, "short_factor", head_dim);
  s.long_factor = factor_list(rs, "long_factor", head_dim);
  check_user(rs.contains("original_max_position_embeddings") &&
                 rs["original_max_position_embeddings"].is_number_integer(),
             "manifest llm.rope_scaling.original_max_position_embeddings is missing");
  s.original_max_position_embeddings = rs["original_max_position_embeddings"].get<int64_t>();
  check_user(rs.contains("attention_factor") && rs["attention_factor"].is_number(),
             "manifest llm.rope_scaling.attention_factor is missing");
  s.attention_factor = rs["attention_factor"].get<double>();
  return s;
}

std::pair<torch::Tensor, torch::Tensor> rope_table(double theta, int64_t head_dim, int64_t rows,
                                                   const std::vector<double>& factor,
                                                   double scale) {
  auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
  torch::Tensor exponent = torch::arange(0, head_dim, 2, f32) / static_cast<double>(head_dim);
  torch::Tensor inv_freq;
  if (factor.empty()) {
    inv_freq = 1.0 / torch::pow(theta, exponent);
  } else {
    torch::Tensor ext = torch::tensor(factor, torch::kFloat64).to(torch::kFloat32);
    inv_freq = 1.0 / (ext * torch::pow(theta, exponent));
  }
  torch::Tensor t = torch::arange(rows, f32);
  torch::Tensor freqs = torch::outer(t, inv_freq);
  torch::Tensor emb = torch::cat({freqs, freqs}, -1);
  if (scale == 1.0) return {emb.cos(), emb.sin()};
  return {emb.cos() * scale, emb.sin() * scale};
}

RotaryTables::RotaryTables(const LoadedModel& model, int64_t capacity) : capacity_(capacity) {
  const LlmConfig& llm = model.manifest().llm;
  check_user(capacity <= llm.max_position_embeddings,
             "capacity " + std::to_string(capacity) +
                 " exceeds the model's max_position_embeddings " +
                 std::to_string(llm.max_position_embeddings));
  const nlohmann::json& raw = model.manifest().raw;
  scaling_ = raw.contains("llm") ? parse_rope_scaling(raw["llm"], llm.head_dim) : RopeScaling{};
  const c10::ScalarType dtype = model.manifest().dtype;
  Tables cpu;
  if (scaling_.type == "longrope") {
    const int64_t orig = scaling_.original_max_position_embeddings;
    auto [c, s] = rope_table(llm.rope_theta, llm.head_dim, std::min(capacity, orig),
                             scaling_.short_factor, scaling_.attention_factor);
    cpu.cos = c.to(dtype);
    cpu.sin = s.to(dtype);
    if (capacity > orig) {
      auto [lc, ls] = rope_table(llm.rope_theta, llm.head_dim, capacity, scaling_.long_factor,
                                 scaling_.attention_factor);
      cpu.long_cos = lc.to(dtype);
      cpu.long_sin = ls.to(dtype);
    }
  } else {
    auto [c, s] = rope_table(llm.rope_theta, llm.head_dim, capacity, {}, 1.0);
    cpu.cos = c.to(dtype);
    cpu.sin = s.to(dtype);
  }
  for (const LoadedUnit* layer : model.layers()) {
    const std::string key = layer->device.str();
    if (per_device_.count(key)) continue;
    Tables& t = per_device_[key];
    t.cos = hand_off(cpu.cos, layer->device);
    t.sin = hand_off(cpu.sin, layer->device);
    if (cpu.long_cos.defined()) {
      t.long_cos = hand_off(cpu.long_cos, layer->device);
      t.long_sin = hand_off(cpu.long_sin, layer->device);
      // rows(p, 1) is long exactly when p + 1 > original_max, i.e. from row original_max on
      const int64_t orig = scaling_.original_max_position_embeddings;
      t.step_cos =
          torch::cat({t.cos.narrow(0, 0, orig), t.long_cos.narrow(0, orig, capacity - orig)});
      t.step_sin =
          torch::cat({t.sin.narrow(0, 0, orig), t.long_sin.narrow(0, orig, capacity - orig)});
    } else {
      t.step_cos = t.cos;
      t.step_sin = t.sin;
    }
  }
}

std::pair<torch::Tensor, torch::Tensor> RotaryTables::step_rows(
    c10::Device device, const torch::Tensor& positions) const {
  auto it = per_device_.find(device.str());
  check_internal(it != per_device_.end(), "no rotary tables on " + device.str());
  const Tables& t = it->second;
  const torch::Tensor flat = positions.reshape({-1});
  const int64_t hd = t.step_cos.size(1);
  return {t.step_cos.index_select(0, flat).view({positions.size(0), positions.size(1), hd}),
          t.step_sin.index_select(0, flat).view({positions.size(0), positions.size(1), hd})};
}

bool RotaryTables::uses_long_factors(int64_t pos, int64_t len) const {
  return scaling_.type == "longrope" && pos + len > scaling_.original_max_position_embeddings;
}

std::pair<torch::Tensor, torch::Tensor> RotaryTables::rows(c10::Device device, int64_t pos,
                                                           int64_t len) const {
  auto it = per_device_.find(device.str());
  check_internal(it != per_device_.end(), "no rotary tables on " + device.str());
  check_internal(pos + len <= capacity_, "rotary rows past capacity");
  const Tables& t = it->second;
  if (uses_long_factors(pos, len))
    return {t.long_cos.narrow(0, pos, len), t.long_sin.narrow(0, pos, len)};
  return {t.cos.narrow(0, pos, len), t.sin.narrow(0, pos, len)};
}

}  // namespace vlm
