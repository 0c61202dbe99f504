// CRC-32C (Castagnoli, the polynomial of iSCSI and ext4): the checksum of log records.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace ipc::storage {

// Continues `crc` (0 to start) over `data`.
std::uint32_t crc32c(std::span<const std::uint8_t> data, std::uint32_t crc = 0) noexcept;

}  // namespace ipc::storage
