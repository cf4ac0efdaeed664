#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace hearth {

struct ZipEntry {
  std::string name;  // relative path with '/' separators; a trailing '/' makes a directory
  std::string data;
  bool executable = false;
};

// Builds a zip archive in memory (deflate, unix permissions in the external attributes).
// Used by the CLI to package a directory and by `hearth up --demo`.
std::string buildZip(const std::vector<ZipEntry>& entries);

// Reads every regular file under `dir` (recursively, sorted by path) into zip entries. Symlinks
// and special files are skipped. Errors: kNotFound when dir does not exist.
Result<std::vector<ZipEntry>> readDirectoryForZip(const std::string& dir);

}  // namespace hearth
