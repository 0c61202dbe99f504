// A main() for the fuzz targets where libFuzzer is not used (a g++ build): feeds each
// file named on the command line, or each file in a directory named there, to
// LLVMFuzzerTestOneInput once. The seed corpora thus run as regression tests in every
// build, under the sanitizers too; the `fuzz` preset links libFuzzer instead.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {
void replay(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), {}};
  LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
}
}  // namespace

int main(int argc, char** argv) {
  std::size_t inputs = 0;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path path(argv[i]);
    if (std::filesystem::is_directory(path)) {
      for (const auto& entry : std::filesystem::directory_iterator(path))
        if (entry.is_regular_file()) {
          replay(entry.path());
          ++inputs;
        }
    } else {
      replay(path);
      ++inputs;
    }
  }
  std::printf("replayed %zu input(s)\n", inputs);
  return inputs > 0 ? 0 : 1;  // an empty corpus proves nothing
}
