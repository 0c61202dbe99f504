// Asio's TLS layer, compiled once (ASIO_SEPARATE_COMPILATION), for builds with OpenSSL.
#include <asio/ssl/impl/src.hpp>
