#include "common/tls.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <filesystem>
#include <memory>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "common/env.h"
#include "common/log.h"

namespace sparkfleet {
namespace {

struct OpenSslFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
  void operator()(X509* cert) const { X509_free(cert); }
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
template <typename T>
using OpenSslPtr = std::unique_ptr<T, OpenSslFree>;

// The PEM files of one side, read and checked.
struct TlsPem {
  std::string ca;
  std::string cert;
  std::string key;
};

Env& HostEnv() {
  static Env* const env = NewRootedEnv("/").release();
  return *env;
}

// The Env takes paths from "/", so a path relative to the working directory is made
// absolute first.
std::string Absolute(const std::string& path) {
  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(path, error);
  return error ? path : absolute.string();
}

// Reads a file named in flags or config. These are the process's own credentials, not
// node state, so they are read from the real filesystem, not under an agent's --root.
absl::StatusOr<std::string> ReadPemFile(const std::string& path, absl::string_view what) {
  if (path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("no ", what, " file given"));
  }
  absl::StatusOr<std::string> content = HostEnv().ReadFile(Absolute(path));
  if (!content.ok()) {
    return absl::Status(content.status().code(),
                        absl::StrCat("cannot read the ", what, ": ", content.status().message()));
  }
  return content;
}

// Only warns: a group-readable secret mount (0640) is a common and deliberate
// deployment, and refusing it would stop the agent over a policy it cannot know.
void WarnIfKeyIsExposed(const std::string& path) {
  absl::StatusOr<FileInfo> info = HostEnv().Stat(Absolute(path));
  if (info.ok() && (info->mode & 077) != 0) {
    LogWarning("private key ", path, " is readable by group or others (mode ",
               absl::StrFormat("%04o", info->mode), "); chmod 600 it unless that is intended");
  }
}

OpenSslPtr<BIO> MemoryBio(const std::string& pem) {
  return OpenSslPtr<BIO>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

absl::Status NotPem(const std::string& path, absl::string_view expected) {
  ERR_clear_error();  // the parser's queue would leak into the next OpenSSL user
  return absl::InvalidArgumentError(
      absl::StrCat(path, " is not a PEM ", expected, " (expected a \"-----BEGIN ...\" block)"));
}

// Reads the CA, certificate and key and checks they parse and that the key is the
// certificate's, so a mix-up is reported here by file name instead of as a failed
// handshake on the other side.
absl::StatusOr<TlsPem> LoadTlsPem(const TlsFiles& files) {
  TlsPem pem;
  absl::StatusOr<std::string> ca = ReadPemFile(files.ca, "CA certificate");
  if (!ca.ok()) return ca.status();
  absl::StatusOr<std::string> cert = ReadPemFile(files.cert, "certificate");
  if (!cert.ok()) return cert.status();
  WarnIfKeyIsExposed(files.key);
  absl::StatusOr<std::string> key = ReadPemFile(files.key, "private key");
  if (!key.ok()) return key.status();

  OpenSslPtr<X509> ca_cert(PEM_read_bio_X509(MemoryBio(*ca).get(), nullptr, nullptr, nullptr));
  if (ca_cert == nullptr) return NotPem(files.ca, "certificate");
  OpenSslPtr<X509> own_cert(PEM_read_bio_X509(MemoryBio(*cert).get(), nullptr, nullptr, nullptr));
  if (own_cert == nullptr) return NotPem(files.cert, "certificate");
  OpenSslPtr<EVP_PKEY> own_key(
      PEM_read_bio_PrivateKey(MemoryBio(*key).get(), nullptr, nullptr, nullptr));
  if (own_key == nullptr) return NotPem(files.key, "private key (unencrypted)");
  if (X509_check_private_key(own_cert.get(), own_key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("private key ", files.key, " does not belong to certificate ", files.cert));
  }
  pem.ca = *std::move(ca);
  pem.cert = *std::move(cert);
  pem.key = *std::move(key);
  return pem;
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsFiles& files) {
  absl::StatusOr<TlsPem> pem = LoadTlsPem(files);
  if (!pem.ok()) return pem.status();
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = pem->ca;
  options.pem_key_cert_pairs.push_back({pem->key, pem->cert});
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeClientCredentials(
    const TlsFiles& files) {
  absl::StatusOr<TlsPem> pem = LoadTlsPem(files);
  if (!pem.ok()) return pem.status();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = pem->ca;
  options.pem_private_key = pem->key;
  options.pem_cert_chain = pem->cert;
  return grpc::SslCredentials(options);
}

void SetExpectedServerName(grpc::ChannelArguments& arguments, const std::string& server_name) {
  arguments.SetSslTargetNameOverride(server_name);
}

}  // namespace sparkfleet
