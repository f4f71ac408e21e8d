#include "vlm/core/config_schema.h"

#include <gtest/gtest.h>

#include <string>

#include "common/user_error.h"

namespace vlm {
namespace {

using S = ConfigSchema;
using testing::user_error;

// A schema with every kind of value: a model-config-like section with a subsection, a map and a
// list.
const ConfigSchema& schema() {
  static const S k = S::section({
      {"name", S::string()},
      {"template", S::string()},
      {"greedy", S::boolean()},
      {"budget", S::scalar("a size (40GiB)")},
      {"aliases", S::list_of(S::string())},
      {"url", S::string().or_null()},
      {"generation", S::section({{"max_new_tokens", S::integer()}})},
      {"tiles", S::map_of(S::integer())},
      {"model",
       S::map_of(S::section({{"max_new_tokens", S::integer()}, {"dataset", S::string()}}))},
  });
  return k;
}

std::string yaml_error(const std::string& text) {
  return user_error([&] { check_config(YAML::Load(text), schema(), "cfg.yaml"); });
}

std::string json_error(const std::string& text) {
  return user_error(
      [&] { check_config(nlohmann::ordered_json::parse(text), schema(), "cfg.json"); });
}

TEST(ConfigSchema, AcceptsEveryDeclaredKeyWithItsType) {
  const std::string yaml =
      "name: M\ntemplate: chat\ngreedy: true\nbudget: 40GiB\naliases: [a, b]\nurl:\n"
      "generation: {max_new_tokens: 8}\ntiles: {MME: 6}\nmodel: {X: {dataset: D}}\n";
  EXPECT_EQ(yaml_error(yaml), "");
  EXPECT_EQ(json_error(R"({"name": "M", "greedy": false, "budget": 100, "url": null,
                           "generation": {"max_new_tokens": 8}, "model": {"X": {}}})"),
            "");
  // Plain YAML scalars are text: a number is also a string.
  EXPECT_EQ(yaml_error("name: 123\n"), "");
}

TEST(ConfigSchema, UnknownKeyNamesFileKeyPathAndClosestKey) {
  const std::string m = yaml_error("name: M\ntemplte: chat\n");
  EXPECT_NE(m.find("cfg.yaml: templte: unknown key 'templte'"), std::string::npos) << m;
  EXPECT_NE(m.find("closest: template"), std::string::npos) << m;
  EXPECT_NE(m.find("known: name, template, greedy"), std::string::npos) << m;

  const std::string nested = yaml_error("generation: {max_new_token: 8}\n");
  EXPECT_NE(nested.find("cfg.yaml: generation.max_new_token: unknown key"), std::string::npos)
      << nested;
  EXPECT_NE(nested.find("closest: max_new_tokens;"), std::string::npos) << nested;

  const std::string in_map = json_error(R"({"model": {"X": {"datset": "D"}}})");
  EXPECT_NE(in_map.find("cfg.json: model.X.datset: unknown key 'datset'"), std::string::npos)
      << in_map;
  EXPECT_NE(in_map.find("closest: dataset"), std::string::npos) << in_map;
}

// A key written one level too high is pointed to where it belongs.
TEST(ConfigSchema, ClosestKeyMayBeOneOfASubsection) {
  const std::string m = yaml_error("max_new_token: 8\n");
  EXPECT_NE(m.find("cfg.yaml: max_new_token: unknown key"), std::string::npos) << m;
  EXPECT_NE(m.find("closest: generation.max_new_tokens"), std::string::npos) << m;
  // ... but a near key of the section itself wins.
  EXPECT_NE(yaml_error("nam: x\n").find("closest: name;"), std::string::npos);
}

TEST(ConfigSchema, UnknownKeysAreReportedBeforeWrongTypes) {
  const std::string m = yaml_error("greedy: maybe\ntemplte: x\n");
  EXPECT_NE(m.find("unknown key 'templte'"), std::string::npos) << m;
}

TEST(ConfigSchema, WrongTypeNamesTheExpectedType) {
  struct Case {
    std::string yaml, expect;
  };
  for (const Case& c : std::vector<Case>{
           {"generation: {max_new_tokens: many}\n",
            "cfg.yaml: generation.max_new_tokens: expected an integer, got 'many'"},
           {"generation: {max_new_tokens: 8.5}\n", "expected an integer, got '8.5'"},
           {"greedy: maybe\n", "cfg.yaml: greedy: expected true or false, got 'maybe'"},
           {"name: [a]\n", "cfg.yaml: name: expected a string, got a list"},
           {"name:\n", "cfg.yaml: name: expected a string, got nothing (null)"},
           {"budget: {a: 1}\n", "cfg.yaml: budget: expected a size (40GiB), got a mapping"},
           {"aliases: a\n", "cfg.yaml: aliases: expected a list [a string, ...], got 'a'"},
           {"aliases: [a, [b]]\n", "cfg.yaml: aliases[1]: expected a string, got a list"},
           {"tiles: {MME: six}\n", "cfg.yaml: tiles.MME: expected an integer, got 'six'"},
           {"tiles: [6]\n", "cfg.yaml: tiles: expected a mapping {name: an integer}, got a list"},
           {"generation: 8\n",
            "cfg.yaml: generation: expected a mapping with keys max_new_tokens, got '8'"},
           {"- a\n", "cfg.yaml: expected a mapping with keys name, template"},
       }) {
    const std::string m = yaml_error(c.yaml);
    EXPECT_NE(m.find(c.expect), std::string::npos) << c.yaml << " -> " << m;
  }
}

// JSON values must have the JSON type itself.
TEST(ConfigSchema, JsonTypesAreStrict) {
  EXPECT_NE(json_error(R"({"generation": {"max_new_tokens": "8"}})")
                .find("cfg.json: generation.max_new_tokens: expected an integer, got \"8\""),
            std::string::npos);
  EXPECT_NE(json_error(R"({"generation": {"max_new_tokens": 8.0}})").find("expected an integer"),
            std::string::npos);
  EXPECT_NE(json_error(R"({"generation": {"max_new_tokens": 18446744073709551615}})")
                .find("expected an integer"),
            std::string::npos);
  EXPECT_NE(json_error(R"({"greedy": "true"})").find("expected true or false"), std::string::npos);
  EXPECT_NE(json_error(R"({"name": 5})").find("cfg.json: name: expected a string, got 5"),
            std::string::npos);
  EXPECT_NE(json_error(R"({"model": {"X": []}})")
                .find("model.X: expected an object with keys max_new_tokens, dataset, got []"),
            std::string::npos);
  EXPECT_EQ(json_error(R"({"generation": {"max_new_tokens": 8}})"), "");
}

TEST(ConfigSchema, AYamlKeyThatIsAListIsAUserErrorNamingTheMapping) {
  const std::string m = yaml_error("tiles: {? [a, b]: 1}\n");
  EXPECT_NE(m.find("cfg.yaml: tiles: a key must be a plain name"), std::string::npos) << m;
}

}  // namespace
}  // namespace vlm
