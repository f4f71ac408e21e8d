// Where each placement unit lives: every unit of the manifest on exactly one device.
#pragma once

#include <c10/core/Device.h>

#include <map>
#include <string>
#include <vector>

#include "vlm/model/manifest.h"

namespace vlm {

class PlacementPlan {
 public:
  // Every unit of `manifest` on `device`.
  static PlacementPlan all_on(const Manifest& manifest, c10::Device device);
  // An explicit unit -> device map; every unit of `manifest` must be present (UserError otherwise).
  static PlacementPlan from_map(const Manifest& manifest, std::map<std::string, c10::Device> map);

  c10::Device device_of(const std::string& unit) const;
  // The distinct devices, in order of first use along the execution order.
  const std::vector<c10::Device>& devices() const { return devices_; }
  const std::map<std::string, c10::Device>& map() const { return device_of_; }

 private:
  std::map<std::string, c10::Device> device_of_;
  std::vector<c10::Device> devices_;
};

}  // namespace vlm
