#pragma once

// Shared by the files that implement FunctionRegistry (functions*.cc); not an interface.

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "artifact/code_store.h"
#include "common/clock.h"
#include "common/result.h"
#include "controlplane/functions.h"
#include "controlplane/names.h"
#include "store/store.h"

namespace hearth::functions_internal {

inline constexpr size_t kMaxZipBytes = 50u * 1024 * 1024;
inline constexpr int64_t kMaxListFunctions = 10000;
inline constexpr int64_t kDefaultListItems = 50;
inline constexpr int kCasAttempts = 5;
inline constexpr int64_t kMaxExecutionEnvironments = 15000;
// Published function versions one capacity provider may run (an AWS quota).
inline constexpr int64_t kMaxVersionsPerProvider = 100;
inline constexpr size_t kMaxTags = 50;

Status functionNotFound(const AccountContext& account, std::string_view name,
                        std::optional<std::string_view> qualifier = std::nullopt);
Status revisionMismatch();
// PublishTo is LATEST_PUBLISHED or absent, and only for a function on a capacity provider
// (`config`, when known).
Status checkPublishTo(const std::optional<std::string>& publish_to,
                      const FunctionConfiguration* config);
Status concurrentModification();
boost::json::object tagsToJson(const std::map<std::string, std::string>& tags);
std::map<std::string, std::string> tagsFromJson(const boost::json::value* v);
Status validateTags(const std::map<std::string, std::string>& tags);
std::string versionRecordJson(const FunctionVersionRecord& v);
Result<FunctionVersionRecord> parseVersionRecord(const Record& stored);
Result<std::optional<int64_t>> validateMaxItems(std::optional<int64_t> max_items, int64_t max);
Result<StoredCode> storeZip(CodeStore* code, const std::string& base64);
// The alias in a stored fa/<function>/<alias> record.
Result<AliasRecord> parseAlias(const Record& stored);

}  // namespace hearth::functions_internal

namespace hearth {

// fn/<name>: the function's $LATEST configuration and its function-level data.
struct FunctionRegistry::FunctionRecord {
  std::string name;
  FunctionConfiguration latest;  // $LATEST
  std::string code_hex;
  std::map<std::string, std::string> tags;
  int64_t next_version = 1;
  // RevisionId of $LATEST when the newest numbered version was published from it.
  std::string published_revision;
  // Being deleted: to readers the function is gone; its records are being removed.
  bool deleting = false;
  int64_t version = 0;  // store version of fn/<name>

  std::string serialize() const {
    return boost::json::serialize(
        boost::json::object{{"config", latest.toJson()},
                            {"code", code_hex},
                            {"tags", functions_internal::tagsToJson(tags)},
                            {"next_version", next_version},
                            {"published_revision", published_revision},
                            {"deleting", deleting}});
  }
};

}  // namespace hearth
