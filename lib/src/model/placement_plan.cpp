#include "vlm/model/placement_plan.h"

#include <algorithm>

#include "vlm/core/error.h"

namespace vlm {

PlacementPlan PlacementPlan::all_on(const Manifest& manifest, c10::Device device) {
  std::map<std::string, c10::Device> map;
  for (const auto& u : manifest.units) map.emplace(u.name, device);
  return from_map(manifest, std::move(map));
}

PlacementPlan PlacementPlan::from_map(const Manifest& manifest,
                                      std::map<std::string, c10::Device> map) {
  PlacementPlan plan;
  for (const auto& u : manifest.units) {
    auto it = map.find(u.name);
    check_user(it != map.end(), "placement: unit " + u.name + " is not placed on any device");
    if (std::find(plan.devices_.begin(), plan.devices_.end(), it->second) == plan.devices_.end())
      plan.devices_.push_back(it->second);
  }
  for (const auto& [name, device] : map) {
    bool known = std::any_of(manifest.units.begin(), manifest.units.end(),
                             [&](const UnitSpec& u) { return u.name == name; });
    check_user(known, "placement: " + name + " is not a unit of model " + manifest.name);
  }
  plan.device_of_ = std::move(map);
  return plan;
}

c10::Device PlacementPlan::device_of(const std::string& unit) const {
  auto it = device_of_.find(unit);
  check_internal(it != device_of_.end(), "placement: no device for unit " + unit);
  return it->second;
}

}  // namespace vlm
