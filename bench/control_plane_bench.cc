// Control-plane micro-benchmarks: the cost of the store round trips behind the API.
#include <benchmark/benchmark.h>

#include <filesystem>

#include "store/memory_store.h"
#include "store/sqlite_store.h"

namespace hearth {
namespace {

void runCommits(benchmark::State& state, Store* store) {
  int64_t i = 0;
  for (auto _ : state) {
    Txn txn;
    txn.put("bench/" + std::to_string(i++ % 1000), std::string(512, 'x'));
    auto committed = store->commit(txn);
    benchmark::DoNotOptimize(committed);
  }
}

void BM_MemoryStoreCommit(benchmark::State& state) {
  auto store = makeMemoryStore();
  runCommits(state, store.get());
}
BENCHMARK(BM_MemoryStoreCommit);

void BM_SqliteStoreCommit(benchmark::State& state) {
  auto dir = std::filesystem::temp_directory_path() / "hearth-bench-store";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto store = SqliteStore::open((dir / "state.db").string());
  if (!store.isOk()) {
    state.SkipWithError(store.status().toString().c_str());
    return;
  }
  runCommits(state, store->get());
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_SqliteStoreCommit);

}  // namespace
}  // namespace hearth

BENCHMARK_MAIN();
