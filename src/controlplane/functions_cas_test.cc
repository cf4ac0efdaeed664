// Compare-and-swap updates and batched deletes of functions, against a Store that can lose races,
// count what each transaction holds, and fail commits on purpose.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include "artifact/code_store.h"
#include "artifact/encoding.h"
#include "artifact/zip_writer.h"
#include "controlplane/capacity_providers.h"
#include "controlplane/functions.h"
#include "controlplane/tags.h"
#include "store/memory_store.h"
#include "store/scan.h"

namespace hearth {
namespace {
namespace json = boost::json;

// A Store that runs `before_commit` ahead of each commit (to make another writer win a race),
// records the size of each transaction, and fails commits while `fail_commits` is set.
class InterposedStore final : public Store {
 public:
  explicit InterposedStore(Store* inner) : inner_(inner) {}
  Result<std::optional<Record>> get(std::string_view key) override { return inner_->get(key); }
  Result<std::vector<Record>> list(std::string_view prefix, std::string_view start_after,
                                   size_t limit) override {
    return inner_->list(prefix, start_after, limit);
  }
  Result<int64_t> commit(const Txn& txn) override {
    if (before_commit) {
      auto hook = std::move(before_commit);
      before_commit = nullptr;
      hook();
    }
    if (fail_commits) {
      return Status(StatusCode::kUnavailable, "store down");
    }
    {
      std::lock_guard lock(sizes_mu_);  // commits may come from several threads
      txn_sizes.push_back(txn.compares.size() + txn.puts.size() + txn.deletes.size());
    }
    return inner_->commit(txn);
  }
  WatchHandlePtr watch(std::string prefix, WatchCallback callback) override {
    return inner_->watch(std::move(prefix), std::move(callback));
  }

  std::function<void()> before_commit;
  bool fail_commits = false;
  std::vector<size_t> txn_sizes;  // read only while no commit runs

 private:
  std::mutex sizes_mu_;
  Store* inner_;
};

class FunctionsCasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("hearth-cas-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    memory_ = makeMemoryStore();
    store_ = std::make_unique<InterposedStore>(memory_.get());
    code_ = std::move(CodeStore::open((dir_ / "code").string())).value();
    providers_ = std::make_unique<CapacityProviderRegistry>(store_.get(), &clock_, account_);
    functions_ = std::make_unique<FunctionRegistry>(store_.get(), code_.get(), providers_.get(),
                                                    &clock_, account_);
    // A second writer on the same Store, to win races against the first.
    other_ = std::make_unique<FunctionRegistry>(memory_.get(), code_.get(), providers_.get(),
                                                &clock_, account_);
    std::string zip = buildZip({{"index.py", "def handler(e, c):\n  return e\n", false}});
    zip_b64_ = base64Encode(zip);
    auto created = functions_->createFunction(
        json::parse(R"({"FunctionName":"fn","Runtime":"python3.13","Handler":"index.handler",
          "Role":"arn:aws:iam::123456789012:role/r","Code":{"ZipFile":")" +
                    zip_b64_ + R"("}})")
            .as_object());
    ASSERT_TRUE(created.isOk()) << created.status().toString();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string revision() {
    auto config = functions_->getFunctionConfiguration("fn", std::nullopt);
    return std::string(config->at("RevisionId").as_string());
  }

  std::filesystem::path dir_;
  FakeClock clock_;
  AccountContext account_;
  StorePtr memory_;
  std::unique_ptr<InterposedStore> store_;
  std::unique_ptr<CodeStore> code_;
  std::unique_ptr<CapacityProviderRegistry> providers_;
  std::unique_ptr<FunctionRegistry> functions_;
  std::unique_ptr<FunctionRegistry> other_;
  std::string zip_b64_;
};

TEST_F(FunctionsCasTest, ALostRaceIsRetriedAndTheUpdateLands) {
  store_->before_commit = [&] {
    ASSERT_TRUE(
        other_->updateFunctionConfiguration("fn", json::object{{"Description", "other"}}).isOk());
  };
  auto updated = functions_->updateFunctionConfiguration("fn", json::object{{"Timeout", 30}});
  ASSERT_TRUE(updated.isOk()) << updated.status().toString();
  auto config = functions_->getFunctionConfiguration("fn", std::nullopt);
  EXPECT_EQ(config->at("Timeout").as_int64(), 30);
  EXPECT_EQ(config->at("Description").as_string(), "other") << "both writes kept";
}

TEST_F(FunctionsCasTest, ARevisionChangedByTheWinnerOfARaceIsPreconditionFailed) {
  std::string seen = revision();
  store_->before_commit = [&] {
    ASSERT_TRUE(
        other_->updateFunctionConfiguration("fn", json::object{{"Description", "other"}}).isOk());
  };
  json::object request{{"ZipFile", zip_b64_}, {"RevisionId", seen}};
  auto updated = functions_->updateFunctionCode("fn", request);
  ASSERT_FALSE(updated.isOk());
  EXPECT_EQ(updated.status().code(), StatusCode::kPreconditionFailed)
      << updated.status().toString();
}

TEST_F(FunctionsCasTest, ADeleteOfManyVersionsFitsEtcdTransactionsAndTheFunctionGoesFirst) {
  for (int i = 0; i < 150; ++i) {
    ASSERT_TRUE(functions_
                    ->updateFunctionConfiguration(
                        "fn", json::object{{"Description", "v" + std::to_string(i)}})
                    .isOk());
    ASSERT_TRUE(functions_->publishVersion("fn", json::object{}).isOk());
  }
  for (int i = 0; i < 130; ++i) {
    ASSERT_TRUE(functions_
                    ->createAlias("fn", json::object{{"Name", "a" + std::to_string(i)},
                                                     {"FunctionVersion", "1"}})
                    .isOk());
  }
  store_->txn_sizes.clear();
  // The first commit is the mark: before the second, readers must already see nothing.
  bool gone_after_the_mark = false;
  store_->before_commit = [&] {
    store_->before_commit = [&] {
      gone_after_the_mark =
          functions_->getFunction("fn", std::nullopt).status().code() == StatusCode::kNotFound &&
          functions_->getFunction("fn", std::string("7")).status().code() ==
              StatusCode::kNotFound &&
          functions_->listAliases("fn", std::nullopt, std::nullopt, std::nullopt).status().code() ==
              StatusCode::kNotFound;
    };
  };
  ASSERT_TRUE(functions_->deleteFunction("fn", std::nullopt).isOk());
  EXPECT_TRUE(gone_after_the_mark);
  ASSERT_GE(store_->txn_sizes.size(), 5u);
  for (size_t size : store_->txn_sizes) {
    EXPECT_LE(size, 128u);
  }
  EXPECT_EQ(functions_->getFunction("fn", std::nullopt).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(memory_->list("f", "", 10)->empty()) << "no version, alias or record is left";
}

TEST_F(FunctionsCasTest, AnInterruptedDeleteLooksDoneAndIsFinishedAtStart) {
  ASSERT_TRUE(functions_->publishVersion("fn", json::object{}).isOk());
  // The mark commits; the batches after it fail (the server crashed).
  int commits = 0;
  std::function<void()> count;
  count = [&] {
    if (++commits == 1) {
      store_->before_commit = [&] { store_->fail_commits = true; };
    }
  };
  store_->before_commit = count;
  auto deleted = functions_->deleteFunction("fn", std::nullopt);
  EXPECT_FALSE(deleted.isOk());
  store_->fail_commits = false;
  EXPECT_EQ(functions_->getFunction("fn", std::nullopt).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(functions_->getFunction("fn", std::string("1")).status().code(), StatusCode::kNotFound);
  auto listed = functions_->listFunctions(std::nullopt, std::nullopt, std::string("ALL"));
  ASSERT_TRUE(listed.isOk());
  EXPECT_TRUE(listed->at("Functions").as_array().empty());
  EXPECT_FALSE(memory_->list("fv/", "", 10)->empty()) << "the version record is still there";
  ASSERT_TRUE(functions_->finishPendingDeletes().isOk());
  EXPECT_TRUE(memory_->list("f", "", 10)->empty());
}

TEST_F(FunctionsCasTest, ListVersionsReadsOnePageFromTheMarker) {
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(functions_
                    ->updateFunctionConfiguration(
                        "fn", json::object{{"Description", "v" + std::to_string(i)}})
                    .isOk());
    ASSERT_TRUE(functions_->publishVersion("fn", json::object{}).isOk());
  }
  std::vector<std::string> seen;
  std::optional<std::string> marker;
  do {
    auto page = functions_->listVersions("fn", marker, 5);
    ASSERT_TRUE(page.isOk()) << page.status().toString();
    for (const auto& v : page->at("Versions").as_array()) {
      seen.emplace_back(v.as_object().at("Version").as_string());
    }
    marker.reset();
    if (const auto* next = page->if_contains("NextMarker")) {
      marker = std::string(next->as_string());
    }
  } while (marker);
  ASSERT_EQ(seen.size(), 13u);
  EXPECT_EQ(seen.front(), "$LATEST");
  EXPECT_EQ(seen[1], "1");
  EXPECT_EQ(seen.back(), "12");
}

}  // namespace
}  // namespace hearth

namespace hearth {
namespace {

// Clients updating their own functions' code at once, with the collector running all the
// while: every function must keep its code. Without the grace period, a collection between a
// request's upload and its commit deleted its file.
TEST_F(FunctionsCasTest, ConcurrentCodeUpdatesNeverLoseTheirCode) {
  for (int f = 1; f < 4; ++f) {
    std::string zip = buildZip({{"index.py", "def handler(e, c):\n  return 0\n", false}});
    ASSERT_TRUE(
        functions_
            ->createFunction(json::parse(R"({"FunctionName":"fn)" + std::to_string(f) +
                                         R"(","Runtime":"python3.13","Handler":"index.handler",
          "Role":"arn:aws:iam::123456789012:role/r","Code":{"ZipFile":")" +
                                         base64Encode(zip) + R"("}})")
                                 .as_object())
            .isOk());
  }
  std::atomic<bool> done{false};
  std::thread collector([&] {
    while (!done.load()) {
      ASSERT_TRUE(functions_->collectGarbageCode().isOk());
    }
  });
  std::vector<std::thread> clients;
  for (int f = 0; f < 4; ++f) {
    clients.emplace_back([&, f] {
      std::string name = f == 0 ? "fn" : "fn" + std::to_string(f);
      for (int i = 0; i < 25; ++i) {
        std::string zip = buildZip(
            {{"index.py", "def handler(e, c):\n  return " + std::to_string(f * 1000 + i) + "\n",
              false}});
        auto updated =
            functions_->updateFunctionCode(name, json::object{{"ZipFile", base64Encode(zip)}});
        ASSERT_TRUE(updated.isOk()) << updated.status().toString();
      }
    });
  }
  for (auto& c : clients) {
    c.join();
  }
  done = true;
  collector.join();
  for (const char* name : {"fn", "fn1", "fn2", "fn3"}) {
    auto fn = functions_->resolveVersion(name, std::string("$LATEST"));
    ASSERT_TRUE(fn.isOk()) << name;
    EXPECT_TRUE(code_->contains(fn->code_hex)) << name << " lost its code";
  }
}

}  // namespace
}  // namespace hearth

namespace hearth {
namespace {

TEST_F(FunctionsCasTest, AnAliasWeightBeyondInt64IsAValidationErrorNotAThrow) {
  ASSERT_TRUE(functions_->publishVersion("fn", json::object{}).isOk());
  auto request = json::parse(R"({"Name":"big","FunctionVersion":"1",
      "RoutingConfig":{"AdditionalVersionWeights":{"1":9223372036854775808}}})")
                     .as_object();
  auto created = functions_->createAlias("fn", request);
  ASSERT_FALSE(created.isOk());
  EXPECT_EQ(created.status().code(), StatusCode::kValidation) << created.status().toString();

  ASSERT_TRUE(
      functions_->createAlias("fn", json::object{{"Name", "live"}, {"FunctionVersion", "1"}})
          .isOk());
  for (std::string_view weight : {"9223372036854775808", "18446744073709551616", "1e400", "-1"}) {
    auto update = json::parse(R"({"RoutingConfig":{"AdditionalVersionWeights":{"1":)" +
                              std::string(weight) + "}}}")
                      .as_object();
    auto updated = functions_->updateAlias("fn", "live", update);
    ASSERT_FALSE(updated.isOk()) << weight;
    EXPECT_EQ(updated.status().code(), StatusCode::kValidation) << weight;
  }
}

}  // namespace
}  // namespace hearth

namespace hearth {
namespace {

class CreateRaceTest : public FunctionsCasTest {
 protected:
  void createProvider(const std::string& name) {
    auto created = providers_->create(json::parse(R"({"CapacityProviderName":")" + name + R"(",
        "VpcConfig":{"SubnetIds":["a","b","c"]},
        "PermissionsConfig":{"CapacityProviderOperatorRoleArn":"arn:aws:iam::123456789012:role/op"}})")
                                          .as_object());
    ASSERT_TRUE(created.isOk()) << created.status().toString();
  }
  json::object functionOn(const std::string& name, const std::string& provider) {
    return json::parse(R"({"FunctionName":")" + name + R"(","Runtime":"python3.13",
        "Handler":"index.handler","Role":"arn:aws:iam::123456789012:role/r","MemorySize":2048,
        "CapacityProviderConfig":{"LambdaManagedInstancesCapacityProviderConfig":
          {"CapacityProviderArn":")" +
                       account_.capacityProviderArn(provider) + R"("}},
        "Code":{"ZipFile":")" +
                       zip_b64_ + R"("}})")
        .as_object();
  }
};

// The provider's record changes under a create (it is tagged, or turns Active): the create is
// retried against the record as it is now, not answered "already exist".
TEST_F(CreateRaceTest, AProviderChangedDuringCreateIsRetriedNotAFalseConflict) {
  createProvider("pool");
  TagRegistry tags(other_.get(), providers_.get(), account_);
  store_->before_commit = [&] {
    ASSERT_TRUE(tags.tagResource(account_.capacityProviderArn("pool"),
                                 json::object{{"Tags", json::object{{"team", "a"}}}})
                    .isOk());
  };
  auto created = functions_->createFunction(functionOn("tagged", "pool"));
  ASSERT_TRUE(created.isOk()) << created.status().toString();
  EXPECT_TRUE(functions_->getFunction("tagged", std::nullopt).isOk());

  store_->before_commit = [&] { ASSERT_TRUE(providers_->activatePending().isOk()); };
  auto published = functions_->createFunction([&] {
    auto request = functionOn("published", "pool");
    request["Publish"] = true;
    return request;
  }());
  ASSERT_TRUE(published.isOk()) << published.status().toString();
  EXPECT_EQ(published->at("Version").as_string(), "1");
}

TEST_F(CreateRaceTest, TheSameNameCreatedMeanwhileIsStillAConflict) {
  createProvider("pool");
  store_->before_commit = [&] {
    ASSERT_TRUE(other_->createFunction(functionOn("twin", "pool")).isOk());
  };
  auto created = functions_->createFunction(functionOn("twin", "pool"));
  ASSERT_FALSE(created.isOk());
  EXPECT_EQ(created.status().code(), StatusCode::kConflict) << created.status().toString();
  EXPECT_NE(created.status().message().find("already exist"), std::string::npos);
}

TEST_F(CreateRaceTest, TagWritesThatLoseARaceAreRetried) {
  createProvider("pool");
  TagRegistry tags(functions_.get(), providers_.get(), account_);
  TagRegistry other_tags(other_.get(), providers_.get(), account_);
  for (std::string arn : {account_.capacityProviderArn("pool"), account_.functionArn("fn")}) {
    store_->before_commit = [&] {
      ASSERT_TRUE(
          other_tags.tagResource(arn, json::object{{"Tags", json::object{{"a", "1"}}}}).isOk());
    };
    ASSERT_TRUE(tags.tagResource(arn, json::object{{"Tags", json::object{{"b", "2"}}}}).isOk())
        << arn;
    auto listed = tags.listTags(arn);
    ASSERT_TRUE(listed.isOk());
    EXPECT_EQ(listed->at("Tags").as_object().size(), 2u) << arn << ": both writes kept";
  }
}

}  // namespace
}  // namespace hearth
