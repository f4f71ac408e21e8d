#include "vlm/data/dataset_spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "vlm/core/closest_names.h"
#include "vlm/core/config_schema.h"
#include "vlm/core/error.h"
#include "vlm/data/tsv_table.h"

namespace vlm {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_md5_hex(const std::string& s) {
  if (s.size() != 32) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

bool contains(const std::string& s, const char* needle) {
  return s.find(needle) != std::string::npos;
}

// The keys a dataset config may have; a key left empty (`url:`) counts as absent.
const ConfigSchema& dataset_spec_schema() {
  using S = ConfigSchema;
  static const S kSchema = S::section({
      {"name", S::string().or_null()},
      {"file", S::string().or_null()},
      {"md5", S::string().or_null()},
      {"kind", S::string().or_null()},
      {"scorer", S::string().or_null()},
      {"url", S::string().or_null()},
      {"min_new_tokens", S::integer().or_null()},
  });
  return kSchema;
}

}  // namespace

ScorerId default_scorer(DatasetKind kind, const std::string& name) {
  switch (kind) {
    case DatasetKind::kMcq: {
      // ImageMCQDataset.evaluate: circular = listinstr(['mmbench', 'ccbench'], dataset.lower());
      // mcq_vanilla_eval: MMMU_preproc when 'MMMU' in dataset_name.
      const std::string low = lower(name);
      if (contains(low, "mmbench") || contains(low, "ccbench")) return ScorerId::kMcqCircular;
      if (contains(name, "MMMU")) return ScorerId::kMcqMmmu;
      return ScorerId::kMcqExact;
    }
    case DatasetKind::kYn:
      // ImageYORNDataset.evaluate picks the rater with listinstr in this order.
      if (contains(name, "MME")) return ScorerId::kYnMme;
      if (contains(name, "Hallusion")) return ScorerId::kYnHallusion;
      if (contains(name, "POPE")) return ScorerId::kYnPope;
      return ScorerId::kYnExact;
    case DatasetKind::kVqa:
      // run.py skips the test splits without ground truth; OCRBench is a class of its own;
      // ImageVQADataset.evaluate picks the metric with these substrings, in this order.
      if (name == "DocVQA_TEST" || name == "InfoVQA_TEST") return ScorerId::kNone;
      if (contains(name, "OCRBench")) return ScorerId::kOcrBench;
      if (contains(name, "TextVQA")) return ScorerId::kVqaTextVqa;
      if (contains(name, "ChartQA")) return ScorerId::kVqaRelaxed;
      if (contains(name, "OCRVQA")) return ScorerId::kVqaExact;
      if (contains(name, "DocVQA") || contains(name, "InfoVQA")) return ScorerId::kVqaAnls;
      break;
  }
  return ScorerId::kNone;
}

DatasetSpec load_dataset_spec(const std::filesystem::path& yaml_path) {
  const std::string where = yaml_path.string();
  YAML::Node root;
  try {
    root = YAML::LoadFile(where);
  } catch (const YAML::Exception& e) {
    throw UserError(where + ": cannot parse YAML: " + e.what());
  }
  check_user(root.IsMap(), where + ": expected a mapping of dataset settings");
  check_config(root, dataset_spec_schema(), where);
  auto get = [&](const char* key, bool required) -> std::string {
    const YAML::Node node = root[key];
    if (!node || node.IsNull()) {
      check_user(!required, where + ": missing required key '" + key + "'");
      return "";
    }
    return node.Scalar();
  };
  DatasetSpec spec;
  spec.config_path = yaml_path;
  spec.name = yaml_path.stem().string();
  const std::string name = get("name", false);
  check_user(name.empty() || name == spec.name,
             where + ": name '" + name + "' differs from the file name '" + spec.name + "'");
  spec.file = get("file", true);
  check_user(!spec.file.empty(), where + ": 'file' must not be empty");
  spec.md5 = lower(get("md5", false));
  check_user(spec.md5.empty() || is_md5_hex(spec.md5),
             where + ": 'md5' must be 32 hex digits, got '" + spec.md5 + "'");
  spec.kind = parse_dataset_kind(get("kind", true), where);
  const std::string scorer = get("scorer", false);
  spec.scorer =
      scorer.empty() ? default_scorer(spec.kind, spec.name) : parse_scorer_id(scorer, where);
  const std::optional<DatasetKind> fits = scorer_kind(spec.scorer);
  check_user(!fits || *fits == spec.kind, where + ": scorer '" + to_string(spec.scorer) +
                                              "' does not fit kind " + to_string(spec.kind));
  spec.url = get("url", false);
  const std::string min_new = get("min_new_tokens", false);
  if (!min_new.empty()) {
    char* end = nullptr;
    const long long v = std::strtoll(min_new.c_str(), &end, 10);
    check_user(end != nullptr && *end == '\0' && v >= 0,
               where + ": 'min_new_tokens' must be an integer >= 0, got '" + min_new + "'");
    spec.min_new_tokens = static_cast<int64_t>(v);
  }
  return spec;
}

std::vector<std::string> known_dataset_names(const std::filesystem::path& configs_dir) {
  std::vector<std::string> names;
  std::error_code ec;
  if (!std::filesystem::is_directory(configs_dir, ec)) return names;
  for (const auto& entry : std::filesystem::directory_iterator(configs_dir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".yaml") {
      names.push_back(entry.path().stem().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

DatasetSpec resolve_dataset(const std::string& name, const std::filesystem::path& configs_dir,
                            const std::filesystem::path& data_root) {
  check_user(!name.empty(), "dataset name must not be empty");
  const std::filesystem::path yaml = configs_dir / (name + ".yaml");
  std::error_code ec;
  if (std::filesystem::is_regular_file(yaml, ec)) return load_dataset_spec(yaml);

  const std::filesystem::path tsv = data_root / (name + ".tsv");
  if (std::filesystem::is_regular_file(tsv, ec)) {
    const std::vector<std::string> header = TsvTable::read_header(tsv);
    auto has = [&](const char* c) {
      return std::find(header.begin(), header.end(), c) != header.end();
    };
    DatasetSpec spec;
    spec.name = name;
    spec.file = name + ".tsv";
    spec.kind = has("A") && has("B") ? DatasetKind::kMcq : DatasetKind::kVqa;
    spec.scorer = default_scorer(spec.kind, name);
    spec.custom = true;
    return spec;
  }

  // Unknown: suggest the closest known names (case-insensitive edit distance).
  const std::vector<std::string> known = known_dataset_names(configs_dir);
  std::string message = "unknown dataset '" + name + "': no config " + yaml.string() +
                        " and no custom TSV " + tsv.string();
  if (known.empty()) {
    message += " (no dataset configs found in " + configs_dir.string() + ")";
  } else {
    message += "; closest known names: " + join_names(closest_names(name, known, 3));
  }
  throw UserError(message);
}

}  // namespace vlm
