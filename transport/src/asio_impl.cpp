// The one translation unit that compiles Asio (ASIO_SEPARATE_COMPILATION); its TLS part is
// in asio_ssl_impl.cpp, built only where OpenSSL is.
#include <asio/impl/src.hpp>
