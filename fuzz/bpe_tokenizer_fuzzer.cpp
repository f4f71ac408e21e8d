// libFuzzer target: tokenizer.json loading (BpeTokenizer), then an encode/decode of a fixed text
// through whatever loaded.
#include "fuzz/fuzz_common.h"
#include "vlm/text/bpe_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = vlm::fuzz::write_scratch("tokenizer.json", vlm::fuzz::as_string(data, size));
  for (bool add_bos : {false, true}) {
    vlm::TokenizerSpec spec;
    spec.kind = vlm::TokenizerKind::kBpe;
    spec.file = path;
    spec.add_bos = add_bos;
    VLM_FUZZ_ACCEPT({
      const vlm::BpeTokenizer tok(spec);
      const auto ids = tok.encode("Hello <IMG_CONTEXT> the world's 123 caf\xc3\xa9\n\xff");
      (void)tok.decode(ids, true);
      (void)tok.decode({0, 1, -1, 1 << 30}, false);
      (void)tok.vocab_size();
    });
  }
  return 0;
}
