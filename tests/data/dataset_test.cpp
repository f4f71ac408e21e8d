#include "vlm/data/dataset.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>

#include "data/scratch_dir.h"
#include "vlm/core/error.h"
#include "vlm/core/md5.h"
#include "vlm/data/base64.h"

namespace vlm {
namespace {

using testing::ScratchDir;

// A base64 "image" longer than 64 characters (content does not matter to Dataset).
std::string b64(const std::string& tag) {
  return base64_encode(tag + std::string(80, '#'));
}

DatasetSpec spec_for(const std::string& file, const std::string& md5 = "") {
  DatasetSpec s;
  s.name = "T";
  s.file = file;
  s.md5 = md5;
  return s;
}

TEST(Dataset, ItemsKeepFileOrderAndOptionsSkipNa) {
  ScratchDir dir;
  dir.write("t.tsv",
            "index\tquestion\tA\tB\tC\tD\tanswer\timage\tcategory\n"
            "5\tIn which direction is the front wheel?\tLeft\tStraight\tRight\t\tC\t" +
                b64("x") +
                "\tcars\n"
                "2\tHow many?\t1\t2\tNone\t4\tD\t" +
                b64("y") + "\tcount\n");
  const Dataset d(spec_for("t.tsv"), dir.path());
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].index, "5");
  EXPECT_EQ(d[0].index_int, 5);
  EXPECT_TRUE(d.index_is_int());
  EXPECT_EQ(d[1].index, "2");
  EXPECT_EQ(d[0].options, (std::vector<std::pair<char, std::string>>{
                              {'A', "Left"}, {'B', "Straight"}, {'C', "Right"}}));
  // 'None' is NaN to pandas: that option disappears (issue #677's lost option). Column D holds
  // an integer and a NaN, so pandas makes it float64 and the prompt shows '4.0'; A and B hold
  // words too, so they stay text.
  EXPECT_EQ(d[1].options,
            (std::vector<std::pair<char, std::string>>{{'A', "1"}, {'B', "2"}, {'D', "4.0"}}));
  EXPECT_EQ(d[0].answer, "C");
  EXPECT_EQ(d[1].images_b64, std::vector<std::string>{b64("y")});
  EXPECT_EQ(d[0].fields.count("image"), 0u);
  EXPECT_EQ(d[0].fields.at("category"), "cars");
  EXPECT_FALSE(d[0].fields.at("D").has_value());
  EXPECT_EQ(d.columns(), (std::vector<std::string>{"index", "question", "A", "B", "C", "D",
                                                   "answer", "image", "category"}));
  EXPECT_EQ(d[1].row, 1u);
  EXPECT_EQ(d[1].line, 3u);
  EXPECT_FALSE(d[0].error.has_value());
}

TEST(Dataset, ShortImageFieldIsAReferenceToAnotherRow) {
  ScratchDir dir;
  dir.write("t.tsv",
            "index\timage\tquestion\n"
            "10\t" +
                b64("ten") +
                "\tq10\n"
                "11\t10\tq11\n"  // reference to an earlier row
                "12\t13\tq12\n"  // reference to a later row that has its own image
                "13\t" +
                b64("thirteen") +
                "\tq13\n"
                "14\t99\tq14\n"  // dangling
                "15\t11\tq15\n"  // to an earlier reference, already resolved: works upstream
                "16\t17\tq16\n"  // to a later reference, not yet resolved: upstream asserts
                "17\t10\tq17\n"
                "18\t\tq18\n");  // NA image: dropped (skip_noimg)
  const Dataset d(spec_for("t.tsv"), dir.path());
  ASSERT_EQ(d.size(), 8u);
  EXPECT_EQ(d.dropped_without_image(), 1u);
  EXPECT_EQ(d[1].images_b64, std::vector<std::string>{b64("ten")});
  EXPECT_EQ(d[2].images_b64, std::vector<std::string>{b64("thirteen")});
  EXPECT_TRUE(d[4].images_b64.empty());
  ASSERT_TRUE(d[4].error.has_value());
  EXPECT_NE(d[4].error->find("'99'"), std::string::npos) << *d[4].error;
  EXPECT_EQ(d[5].images_b64, std::vector<std::string>{b64("ten")});
  EXPECT_TRUE(d[6].error.has_value());
  EXPECT_EQ(d[7].images_b64, std::vector<std::string>{b64("ten")});
  for (size_t i : {0, 1, 2, 3, 5, 7}) EXPECT_FALSE(d[i].error.has_value()) << i;
}

TEST(Dataset, ReferenceToADroppedRowIsDangling) {
  ScratchDir dir;
  dir.write("t.tsv", "index\timage\tquestion\n1\t\tq\n2\t1\tq\n3\t" + b64("a") + "\tq\n");
  const Dataset d(spec_for("t.tsv"), dir.path());
  ASSERT_EQ(d.size(), 2u);
  EXPECT_TRUE(d[0].error.has_value());
}

TEST(Dataset, MultiImageListAsToliststrParsesIt) {
  ScratchDir dir;
  const std::string a = b64("a"), b = b64("b");
  dir.write("t.tsv",
            "index\timage\timage_path\tquestion\n"
            "0\t['" +
                a + "', \"" + b +
                "\"]\t['0_1.jpg', '0_2.jpg']\tcompare\n"
                "1\t0\tx.jpg\tsame images\n");
  const Dataset d(spec_for("t.tsv"), dir.path());
  EXPECT_EQ(d[0].images_b64, (std::vector<std::string>{a, b}));
  EXPECT_EQ(d[0].image_paths, (std::vector<std::string>{"0_1.jpg", "0_2.jpg"}));
  EXPECT_EQ(d[0].image_path, "['0_1.jpg', '0_2.jpg']");
  EXPECT_EQ(d[1].images_b64, (std::vector<std::string>{a, b}));
  EXPECT_EQ(d[1].image_paths, std::vector<std::string>{"x.jpg"});
}

TEST(Dataset, ParseListStrFollowsPythonLiterals) {
  EXPECT_EQ(parse_list_str("abc"), std::vector<std::string>{"abc"});
  EXPECT_EQ(parse_list_str("[]"), std::vector<std::string>{});
  EXPECT_EQ(parse_list_str("['a','b',]"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(parse_list_str("[ 'it\\'s' , \"q\\\"\" , 'x' 'y', 3 ]"),
            (std::vector<std::string>{"it's", "q\"", "xy", "3"}));
  EXPECT_EQ(parse_list_str("['\\u4e2d\\x41']"), std::vector<std::string>{"\xe4\xb8\xad"
                                                                         "A"});
  EXPECT_THROW(parse_list_str("[abc]"), UserError);
  EXPECT_THROW(parse_list_str("['a' 'b]"), UserError);  // unterminated string
  // Not ending in ']': toliststr keeps the text whole.
  EXPECT_EQ(parse_list_str("['a' 'b"), std::vector<std::string>{"['a' 'b"});
  EXPECT_THROW(parse_list_str("['a'] ['b']"), UserError);
}

TEST(Dataset, MissingQuestionIsAnItemErrorNotAnException) {
  ScratchDir dir;
  dir.write("t.tsv", "index\timage\tquestion\tA\tB\n0\t" + b64("a") + "\t\tx\ty\n1\t" + b64("b") +
                         "\tok?\tx\ty\n");
  const Dataset d(spec_for("t.tsv"), dir.path());
  ASSERT_EQ(d.size(), 2u);
  ASSERT_TRUE(d[0].error.has_value());
  EXPECT_NE(d[0].error->find("question"), std::string::npos);
  EXPECT_NE(d[0].error->find("line 2"), std::string::npos) << *d[0].error;
  EXPECT_FALSE(d[1].error.has_value());
}

TEST(Dataset, IndexStaysStringWhenNotAllIntegerLike) {
  ScratchDir dir;
  dir.write("t.tsv", "index\timage\tquestion\n1\t" + b64("a") + "\tq\nb2\t1\tq\n");
  const Dataset d(spec_for("t.tsv"), dir.path());
  EXPECT_FALSE(d.index_is_int());
  EXPECT_EQ(d[1].index, "b2");
  EXPECT_FALSE(d[0].index_int.has_value());
  EXPECT_EQ(d[1].images_b64, std::vector<std::string>{b64("a")});
  dir.write("dup.tsv", "index\timage\tquestion\n1\t" + b64("a") + "\tq\n1\t" + b64("b") + "\tq\n");
  EXPECT_THROW(Dataset(spec_for("dup.tsv"), dir.path()), UserError);
  dir.write("noindex.tsv", "id\tquestion\n1\tq\n");
  EXPECT_THROW(Dataset(spec_for("noindex.tsv"), dir.path()), UserError);
  EXPECT_THROW(Dataset(spec_for("absent.tsv"), dir.path()), UserError);
}

TEST(Dataset, Md5MismatchWarnsAndUsesTheFile) {
  ScratchDir dir;
  const std::string text = "index\timage\tquestion\n0\t" + b64("a") + "\tq\n";
  const auto path = dir.write("t.tsv", text);
  const std::string actual = md5_hex(text);
  const std::string wrong = "4de008f55dc4fd008ca9e15321dc44b7";
  ::testing::internal::CaptureStderr();
  const Dataset d(spec_for("t.tsv", wrong), dir.path());
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(d.size(), 1u);
  EXPECT_EQ(d.file_md5(), actual);
  EXPECT_NE(err.find("warning"), std::string::npos) << err;
  EXPECT_NE(err.find(actual), std::string::npos) << err;
  EXPECT_NE(err.find(wrong), std::string::npos) << err;
  EXPECT_NE(err.find(path.string()), std::string::npos) << err;

  ::testing::internal::CaptureStderr();
  const Dataset ok(spec_for("t.tsv", actual), dir.path());
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

// The demo data maker's TSV, read back and compared with the JSON it writes beside it.
TEST(Dataset, DemoDataMatchesItsSidecar) {
  ScratchDir dir;
  const std::string cmd = testing::python() + " " +
                          (testing::source_dir() / "scripts/fixtures/make_demo_data.py").string() +
                          " --out " + dir.path().string() + " --name Demo --n 24 --bad-rows";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const auto sidecar = nlohmann::json::parse(testing::read_file(dir.path() / "Demo.json"));
  DatasetSpec spec = spec_for("Demo.tsv");
  const Dataset d(spec, dir.path());
  const auto& items = sidecar["items"];
  ASSERT_EQ(d.size(), items.size());
  size_t refs = 0, three_option = 0;
  for (size_t i = 0; i < d.size(); ++i) {
    const auto& want = items[i];
    const Item& got = d[i];
    EXPECT_EQ(got.index_int, want["index"].get<int64_t>());
    EXPECT_EQ(got.answer, want["answer"].get<std::string>());
    ASSERT_EQ(got.options.size(), want["options"].size());
    for (const auto& [letter, text] : got.options) {
      EXPECT_EQ(want["options"][std::string(1, letter)].get<std::string>(), text);
    }
    three_option += got.options.size() == 3;
    ASSERT_EQ(got.images_b64.size(), 1u);
    if (!want["image_ref"].is_null()) {
      ++refs;
      EXPECT_EQ(got.images_b64, d[want["image_ref"].get<size_t>()].images_b64);
    }
    if (want["question"].is_null()) {
      EXPECT_TRUE(got.error.has_value());
    } else {
      EXPECT_EQ(got.question, want["question"].get<std::string>());
      EXPECT_FALSE(got.error.has_value()) << *got.error;
    }
  }
  EXPECT_GE(refs, 1u);
  EXPECT_GE(three_option, 1u);
}

}  // namespace
}  // namespace vlm
