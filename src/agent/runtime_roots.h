#pragma once

// Which interpreter runs each runtime identifier, and in which root file system. Resolved once
// when an agent starts, with every interpreter's version checked, so that `python3.13` never
// silently runs on another Python.

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hearth {

class FileProbe;

// What an interpreted runtime identifier asks for.
struct RuntimeRequirement {
  std::string language;               // "Python", "Node.js"
  std::string version;                // "3.13" (major.minor) for Python, "22" (major) for Node.js
  std::vector<std::string> programs;  // the names its interpreter goes by, most specific first
  std::string bootstrap;              // Hearth's bootstrap, relative to the runtimes directory
};

// The requirement of `runtime` ("python3.13", "nodejs22.x"); nullopt for identifiers Hearth has
// no bootstrap for (provided.* needs none, java* and others have none yet).
std::optional<RuntimeRequirement> requirementOf(const std::string& runtime);

// The identifiers requirementOf() knows, in order.
std::vector<std::string> interpretedRuntimes();

// Whether the version an interpreter reports ("3.11.2", "22.3.0") is the one `wanted` names
// ("3.11", "22").
bool versionMatches(const std::string& found, const std::string& wanted);

// The version in the output of `program --version` ("Python 3.11.2" → "3.11.2",
// "v20.19.2" → "20.19.2"); "" when there is none.
std::string parseVersionOutput(const std::string& output);

// Reads the version of an interpreter.
class VersionProbe {
 public:
  virtual ~VersionProbe() = default;
  // The version `program --version` reports, run with `root` as its root directory when `root`
  // is set (`program` is then a path inside it); "" when it does not run or reports none.
  virtual std::string versionOf(const std::string& program, const std::string& root) const = 0;
};

// Runs the interpreter (chrooted into `root`, which needs root privileges) with an empty
// environment and a 10 s limit.
class SystemVersionProbe final : public VersionProbe {
 public:
  std::string versionOf(const std::string& program, const std::string& root) const override;
};

// Where runtimes come from on one agent, as the operator configured it.
struct RuntimeSources {
  // Runtime identifier, or a prefix of one ("python"), → interpreter program (a path, or a name
  // looked up in the system directories). The longest matching key wins. A mapped interpreter
  // whose version differs from the runtime's is used, as a substitution.
  std::map<std::string, std::string> interpreters;
  // Runtime identifier → a root file system directory, for example an unpacked Lambda base
  // image: the sandbox shows its system directories instead of the host's, and the interpreter
  // is looked up inside it.
  std::map<std::string, std::string> root_filesystems;
  bool sandboxed = true;  // interpreters must then lie where the sandbox shows them
};

// Where one runtime's interpreter is, or why there is none.
struct RuntimeRoot {
  std::string interpreter;      // absolute path as the EE sees it; empty when missing
  std::string root_filesystem;  // host directory shown as the EE's system; "" = the host's
  std::string version;          // the interpreter's own ("3.11.2")
  bool substitution = false;    // an operator mapping to another version than the runtime's
  std::string missing;          // why there is none: the reason a version fails with

  bool available() const { return !interpreter.empty(); }
};

// Resolves each of `runtimes` (those requirementOf() knows; others are skipped). Without an
// operator mapping, a runtime takes the first of its programs found whose version matches; an
// operator mapping is taken at whatever version it has. Pure given the probes; each program's
// version is asked once.
std::map<std::string, RuntimeRoot> resolveRuntimeRoots(const std::vector<std::string>& runtimes,
                                                       const RuntimeSources& sources,
                                                       const FileProbe& files,
                                                       const VersionProbe& versions);

// Resolves every interpreted runtime on this host (the system probes) and logs, prefixed by
// `who`, each runtime found, each substitution (a warning), the missing ones, and operator
// mappings that name no runtime.
std::map<std::string, RuntimeRoot> resolveAndLogRuntimeRoots(const RuntimeSources& sources,
                                                             const std::string& who);

// One line for the agent's log: "python3.13: /usr/bin/python3 (Python 3.11.2), substituted by
// the operator", or the reason it is missing.
std::string describeRuntimeRoot(const std::string& runtime, const RuntimeRoot& root);

}  // namespace hearth
