// Chat templates and prompt text against the formulas of internvl2-architecture.md §4 and the
// Python reference (make_tokenizer_reference.py: str.format / str.replace / str.split / str.strip).
#include "vlm/text/chat_template.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/test_paths.h"
#include "vlm/core/error.h"
#include "vlm/text/tokenizer_spec.h"

namespace vlm {
namespace {

using nlohmann::json;

const std::string kSys =
    "你是由上海人工智能实验室联合商汤科技开发的书生多模态大模型，英文名叫InternVL, "
    "是一个有用无害的人工智能助手。";

json template_json(const std::string& name) {
  if (name == "phi3-chat") {
    return {{"name", name},
            {"system_template", "<|system|>\n{system_message}"},
            {"system_message", kSys},
            {"roles", {"<|user|>\n", "<|assistant|>\n"}},
            {"sep", "<|end|>"}};
  }
  return {{"name", name},
          {"system_template", "<|im_start|>system\n{system_message}"},
          {"system_message", kSys},
          {"roles", {"<|im_start|>user\n", "<|im_start|>assistant\n"}},
          {"sep", "<|im_end|>"}};
}

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

const json& reference() {
  static const json ref = [] {
    std::ifstream f(vlm::testing::testdata_dir() / "tokenizer" / "reference.json");
    return json::parse(f);
  }();
  return ref;
}

const json* find_case(const std::string& text) {
  for (const auto& c : reference()["cases"]) {
    if (c["text"] == text) return &c;
  }
  return nullptr;
}

TEST(ChatTemplate, InternLM2ChatPromptOfTheReferenceDoc) {
  const ChatTemplate t = ChatTemplate::from_json(template_json("internlm2-chat"));
  const std::string query =
      expand_image_tokens(t.render("<image>\nDescribe the image."), {13}, 256);
  const std::string want = "<|im_start|>system\n" + kSys + "<|im_end|>" + "<|im_start|>user\n" +
                           "<img>" + repeat("<IMG_CONTEXT>", 3328) + "</img>\nDescribe the image." +
                           "<|im_end|>" + "<|im_start|>assistant\n";
  EXPECT_EQ(query, want);

  // The same string is in the Python reference; its HF-slow ids carry 3328 <IMG_CONTEXT>.
  const json* c = find_case(query);
  ASSERT_NE(c, nullptr);
  json spec = {{"kind", "sentencepiece"},
               {"file", "tokenizer.model"},
               {"add_bos", true},
               {"bos_id", 1},
               {"eos_id", 2},
               {"unk_id", 0},
               {"pad_id", 2},
               {"added_tokens", json::array()},
               {"skip_ids", json::array()}};
  const json config = json::parse(
      std::ifstream(vlm::testing::testdata_dir() / "tokenizer" / "tokenizer_config.json"));
  for (const auto& [key, value] : config["added_tokens_decoder"].items()) {
    spec["added_tokens"].push_back({{"id", std::stoll(key)}, {"content", value["content"]}});
  }
  const auto tok =
      make_tokenizer(TokenizerSpec::from_json(spec, vlm::testing::testdata_dir() / "tokenizer"));
  const auto ids = tok->encode(query);
  EXPECT_EQ(ids, (*c)["ids"].get<std::vector<int64_t>>());
  const int64_t ctx = tok->token_to_id("<IMG_CONTEXT>").value();
  EXPECT_EQ(std::count(ids.begin(), ids.end(), ctx), 3328);
  EXPECT_EQ(ids.front(), 1);
}

TEST(ChatTemplate, Hermes2EqualsInternLM2Chat) {
  const ChatTemplate h = ChatTemplate::from_json(template_json("Hermes-2"));
  EXPECT_EQ(h.render("Q"), "<|im_start|>system\n" + kSys + "<|im_end|><|im_start|>user\nQ" +
                               "<|im_end|><|im_start|>assistant\n");
  EXPECT_EQ(h.render("Q"), ChatTemplate::from_json(template_json("internlm2-chat")).render("Q"));
}

TEST(ChatTemplate, Phi3Chat) {
  const ChatTemplate t = ChatTemplate::from_json(template_json("phi3-chat"));
  const std::string q = expand_image_tokens(t.render("<image>\nQ"), {1}, 256);
  EXPECT_EQ(q, "<|system|>\n" + kSys + "<|end|>" + "<|user|>\n<img>" +
                   repeat("<IMG_CONTEXT>", 256) + "</img>\nQ" + "<|end|>" + "<|assistant|>\n");
  // The reference's phi3 prompt (Python str.format + str.replace) for "Describe the image.".
  EXPECT_NE(find_case(expand_image_tokens(t.render("<image>\nDescribe the image."), {1}, 256)),
            nullptr);
}

TEST(ChatTemplate, MatchesPythonFormatAndReplace) {
  const ChatTemplate t = ChatTemplate::from_json(template_json("internlm2-chat"));
  for (const auto& [q, tiles] : std::vector<std::pair<std::string, std::vector<int>>>{
           {"<image>\nWhat color is the car?", {3}},
           {"Image-1: <image>\nImage-2: <image>\nCompare them.", {2, 1}},
           {"Hello, who are you?", {}},
           {"<image>\n问题：图片中的汽车是什么颜色？\nA. 红\nB. 蓝\n请直接回答选项字母。", {5}}}) {
    EXPECT_NE(find_case(expand_image_tokens(t.render(q), tiles, 256)), nullptr) << q;
  }
}

TEST(ChatTemplate, ExpandImageTokensInOrder) {
  EXPECT_EQ(expand_image_tokens("A<image>B<image>C", {1, 2}, 2),
            "A<img>" + repeat("<IMG_CONTEXT>", 2) + "</img>B<img>" + repeat("<IMG_CONTEXT>", 4) +
                "</img>C");
  EXPECT_EQ(expand_image_tokens("no images", {}, 256), "no images");
}

TEST(ChatTemplate, ExpandImageTokensCountMismatch) {
  try {
    expand_image_tokens("<image><image>", {1}, 256);
    FAIL() << "no error";
  } catch (const UserError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("2 <image>"), std::string::npos) << m;
    EXPECT_NE(m.find("1 image"), std::string::npos) << m;
  }
  EXPECT_THROW(expand_image_tokens("text", {1}, 256), UserError);
  EXPECT_THROW(expand_image_tokens("<image>", {0}, 256), UserError);
}

TEST(ChatTemplate, PostprocessResponse) {
  const ChatTemplate t = ChatTemplate::from_json(template_json("internlm2-chat"));
  EXPECT_EQ(t.postprocess_response("A<|im_end|>junk"), "A");
  EXPECT_EQ(t.postprocess_response("  B \n"), "B");
  EXPECT_EQ(t.postprocess_response("\u3000C\u00a0"), "C");
  EXPECT_EQ(t.postprocess_response("\u200bD"), "\u200bD");  // U+200B is not whitespace to Python
}

TEST(ChatTemplate, PostprocessMatchesPython) {
  size_t n = 0;
  for (const auto& c : reference()["postprocess"]) {
    json tj = template_json("internlm2-chat");
    tj["sep"] = c["sep"];
    const ChatTemplate t = ChatTemplate::from_json(tj);
    EXPECT_EQ(t.postprocess_response(c["decoded"]), c["expected"].get<std::string>())
        << c["decoded"].dump() << " sep " << c["sep"].dump();
    ++n;
  }
  EXPECT_GT(n, 40u);
}

TEST(ChatTemplate, FromJsonErrors) {
  auto message = [](const json& j) -> std::string {
    try {
      ChatTemplate::from_json(j);
    } catch (const UserError& e) {
      return e.what();
    }
    return "no error";
  };
  json j = template_json("x");
  j["roles"].push_back("third");
  EXPECT_EQ(message(j), "manifest.json: template.roles must have 2 entries, got 3");
  j = template_json("x");
  j.erase("sep");
  EXPECT_EQ(message(j), "manifest.json: template.sep missing");
  j = template_json("x");
  j["system_template"] = "{other}";
  EXPECT_NE(message(j).find("template.system_template"), std::string::npos);
  j = template_json("x");
  j["system_template"] = "{{literal}} {system_message}";
  EXPECT_EQ(ChatTemplate::from_json(j).render("q").substr(0, 10), "{literal} ");
}

}  // namespace
}  // namespace vlm
