#include "coordinator/pki.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/env.h"
#include "common/validate.h"

namespace sparkfleet {
namespace {

struct OpenSslFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
  void operator()(BIGNUM* bn) const { BN_free(bn); }
  void operator()(X509* cert) const { X509_free(cert); }
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
  void operator()(X509_EXTENSION* ext) const { X509_EXTENSION_free(ext); }
};
template <typename T>
using OpenSslPtr = std::unique_ptr<T, OpenSslFree>;

// INTERNAL with every error OpenSSL queued on this thread, which it leaves empty.
absl::Status OpenSslError(absl::string_view what) {
  std::vector<std::string> errors;
  while (unsigned long code = ERR_get_error()) {
    std::array<char, 256> text;
    ERR_error_string_n(code, text.data(), text.size());
    errors.emplace_back(text.data());
  }
  if (errors.empty()) errors.emplace_back("no OpenSSL error reported");
  return absl::InternalError(absl::StrCat(what, ": ", absl::StrJoin(errors, "; ")));
}

// The single seam to the filesystem; paths from the user are made absolute first
// because the Env takes paths from its root.
Env& HostEnv() {
  static Env* const env = NewRootedEnv("/").release();
  return *env;
}

std::string Absolute(absl::string_view path) {
  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(std::string(path), error);
  return error ? std::string(path) : absolute.lexically_normal().string();
}

// What distinguishes one certificate from another; the rest is common to all.
struct CertificateSpec {
  std::string common_name;
  int validity_days = kDefaultValidityDays;
  std::vector<std::pair<int, std::string>> extensions;  // NID, OpenSSL config value
};

// The signer of a certificate. Both null for a self-signed one.
struct Issuer {
  X509* cert = nullptr;
  EVP_PKEY* key = nullptr;
};

absl::StatusOr<OpenSslPtr<EVP_PKEY>> NewP256Key() {
  OpenSslPtr<EVP_PKEY> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (key == nullptr) return OpenSslError("generate ECDSA P-256 key");
  return key;
}

// RFC 5280 serials are positive and at most 20 bytes; 16 random bytes with the top bit
// clear keep them unique without any state in the directory.
absl::Status SetRandomSerial(X509* cert) {
  std::array<unsigned char, 16> bytes;
  if (RAND_bytes(bytes.data(), bytes.size()) != 1) return OpenSslError("random serial");
  bytes[0] &= 0x7f;
  OpenSslPtr<BIGNUM> bn(BN_bin2bn(bytes.data(), bytes.size(), nullptr));
  if (bn == nullptr || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr) {
    return OpenSslError("set serial number");
  }
  return absl::OkStatus();
}

absl::Status SetNamesAndValidity(X509* cert, const CertificateSpec& spec, X509* issuer) {
  X509_NAME* subject = X509_get_subject_name(cert);
  auto text = [](const std::string& s) {
    return reinterpret_cast<const unsigned char*>(s.c_str());
  };
  const std::string organization = "sparkfleet";
  if (X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8, text(organization), -1, -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, text(spec.common_name), -1, -1, 0) !=
          1) {
    return OpenSslError("set subject name");
  }
  X509_NAME* issuer_name = issuer == nullptr ? subject : X509_get_subject_name(issuer);
  if (X509_set_issuer_name(cert, issuer_name) != 1) return OpenSslError("set issuer name");
  // Backdated an hour so a node whose clock is a little behind still accepts it.
  if (X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert), spec.validity_days * 86400L) == nullptr) {
    return OpenSslError("set validity");
  }
  return absl::OkStatus();
}

absl::Status AddExtensions(X509* cert, const CertificateSpec& spec, X509* issuer) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer == nullptr ? cert : issuer, cert, nullptr, nullptr, 0);
  for (const auto& [nid, value] : spec.extensions) {
    OpenSslPtr<X509_EXTENSION> ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str()));
    if (ext == nullptr || X509_add_ext(cert, ext.get(), -1) != 1) {
      return OpenSslError(absl::StrCat("add extension ", OBJ_nid2sn(nid), "=", value));
    }
  }
  return absl::OkStatus();
}

// A signed X.509 v3 certificate for `key`, signed by `issuer` (self-signed when empty).
absl::StatusOr<OpenSslPtr<X509>> MakeCertificate(const CertificateSpec& spec, EVP_PKEY* key,
                                                 const Issuer& issuer) {
  OpenSslPtr<X509> cert(X509_new());
  if (cert == nullptr || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return OpenSslError("new certificate");
  }
  if (absl::Status s = SetRandomSerial(cert.get()); !s.ok()) return s;
  if (absl::Status s = SetNamesAndValidity(cert.get(), spec, issuer.cert); !s.ok()) return s;
  if (X509_set_pubkey(cert.get(), key) != 1) return OpenSslError("set public key");
  if (absl::Status s = AddExtensions(cert.get(), spec, issuer.cert); !s.ok()) return s;
  EVP_PKEY* signing_key = issuer.key == nullptr ? key : issuer.key;
  if (X509_sign(cert.get(), signing_key, EVP_sha256()) <= 0) {
    return OpenSslError("sign certificate");
  }
  return cert;
}

// PEM of a certificate or (unencrypted PKCS#8) private key.
template <typename Write>
absl::StatusOr<std::string> ToPem(Write write, absl::string_view what) {
  OpenSslPtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || write(bio.get()) != 1) return OpenSslError(absl::StrCat("encode ", what));
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

absl::Status WriteKeyAndCertificate(const std::string& dir, absl::string_view name, EVP_PKEY* key,
                                    X509* cert) {
  absl::StatusOr<std::string> key_pem = ToPem(
      [key](BIO* b) {
        return PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
      },
      "private key");
  if (!key_pem.ok()) return key_pem.status();
  absl::StatusOr<std::string> cert_pem =
      ToPem([cert](BIO* b) { return PEM_write_bio_X509(b, cert); }, "certificate");
  if (!cert_pem.ok()) return cert_pem.status();
  // No backups: a .bak copy of an old private key would be one more secret to leak.
  // Should the certificate write fail after the key's, issuing again makes a fresh pair.
  WriteOptions key_options;
  key_options.mode = 0600;
  key_options.backup = false;
  WriteOptions cert_options = key_options;
  cert_options.mode = 0644;
  absl::Status s =
      HostEnv().WriteFileAtomic(PrivateKeyPath(dir, name), *key_pem, key_options).status();
  if (!s.ok()) return s;
  return HostEnv().WriteFileAtomic(CertificatePath(dir, name), *cert_pem, cert_options).status();
}

struct Ca {
  OpenSslPtr<X509> cert;
  OpenSslPtr<EVP_PKEY> key;
};

absl::StatusOr<Ca> LoadCa(const std::string& dir) {
  std::string cert_path = CertificatePath(dir, kCaName);
  std::string key_path = PrivateKeyPath(dir, kCaName);
  if (!HostEnv().Exists(cert_path) || !HostEnv().Exists(key_path)) {
    return absl::FailedPreconditionError(absl::StrCat("no CA in ", dir, " (", cert_path, " and ",
                                                      key_path, "); run `sparkctl pki init --dir ",
                                                      dir, "` first"));
  }
  absl::StatusOr<std::string> cert_pem = HostEnv().ReadFile(cert_path);
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> key_pem = HostEnv().ReadFile(key_path);
  if (!key_pem.ok()) return key_pem.status();
  Ca ca;
  OpenSslPtr<BIO> cert_bio(BIO_new_mem_buf(cert_pem->data(), static_cast<int>(cert_pem->size())));
  ca.cert.reset(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (ca.cert == nullptr) return OpenSslError(absl::StrCat("read CA certificate ", cert_path));
  OpenSslPtr<BIO> key_bio(BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size())));
  ca.key.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (ca.key == nullptr) return OpenSslError(absl::StrCat("read CA key ", key_path));
  if (X509_check_private_key(ca.cert.get(), ca.key.get()) != 1) {
    ERR_clear_error();
    return absl::FailedPreconditionError(
        absl::StrCat(key_path, " is not the key of ", cert_path, "; the CA files are mixed up"));
  }
  return ca;
}

absl::Status ValidateIssue(const std::string& name, absl::string_view kind, int validity_days) {
  if (absl::Status s = ValidateHostname(name); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(kind, " name: ", s.message()));
  }
  if (name == kCaName) {
    return absl::InvalidArgumentError(
        absl::StrCat(kind, " name \"", name, "\" is reserved for the CA's own files"));
  }
  if (validity_days < 1 || validity_days > kMaxValidityDays) {
    return absl::InvalidArgumentError(
        absl::StrCat("validity of ", validity_days, " days is out of range 1..", kMaxValidityDays));
  }
  return absl::OkStatus();
}

// Signs a new key pair for `name` with the CA in `dir` and writes both.
absl::Status Issue(const std::string& dir, const std::string& name, CertificateSpec spec) {
  std::string absolute_dir = Absolute(dir);
  absl::StatusOr<Ca> ca = LoadCa(absolute_dir);
  if (!ca.ok()) return ca.status();
  absl::StatusOr<OpenSslPtr<EVP_PKEY>> key = NewP256Key();
  if (!key.ok()) return key.status();
  spec.extensions.insert(spec.extensions.end(), {{NID_basic_constraints, "critical,CA:FALSE"},
                                                 {NID_key_usage, "critical,digitalSignature"},
                                                 {NID_subject_key_identifier, "hash"},
                                                 {NID_authority_key_identifier, "keyid:always"}});
  absl::StatusOr<OpenSslPtr<X509>> cert =
      MakeCertificate(spec, key->get(), Issuer{ca->cert.get(), ca->key.get()});
  if (!cert.ok()) return cert.status();
  return WriteKeyAndCertificate(absolute_dir, name, key->get(), cert->get());
}

}  // namespace

std::string CertificatePath(absl::string_view dir, absl::string_view name) {
  return absl::StrCat(dir, "/", name, ".crt");
}

std::string PrivateKeyPath(absl::string_view dir, absl::string_view name) {
  return absl::StrCat(dir, "/", name, ".key");
}

absl::Status InitCa(const std::string& dir) {
  std::string absolute_dir = Absolute(dir);
  for (const std::string& path :
       {CertificatePath(absolute_dir, kCaName), PrivateKeyPath(absolute_dir, kCaName)}) {
    if (HostEnv().Exists(path)) {
      return absl::AlreadyExistsError(
          absl::StrCat(path, " already exists: ", dir,
                       " already holds a CA, and replacing it would orphan every certificate it "
                       "signed; use another --dir or remove the CA files yourself"));
    }
  }
  if (absl::Status s = HostEnv().MakeDirs(absolute_dir, 0700); !s.ok()) return s;
  absl::StatusOr<OpenSslPtr<EVP_PKEY>> key = NewP256Key();
  if (!key.ok()) return key.status();
  std::array<unsigned char, 4> tag;
  if (RAND_bytes(tag.data(), tag.size()) != 1) return OpenSslError("random CA tag");
  CertificateSpec spec;
  // A tag in the name tells two clusters' CAs apart in error messages and in `openssl x509`.
  spec.common_name = absl::StrCat("sparkfleet cluster CA ",
                                  absl::BytesToHexString(absl::string_view(
                                      reinterpret_cast<const char*>(tag.data()), tag.size())));
  spec.validity_days = kCaValidityDays;
  spec.extensions = {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                     {NID_key_usage, "critical,keyCertSign,cRLSign"},
                     {NID_subject_key_identifier, "hash"}};
  absl::StatusOr<OpenSslPtr<X509>> cert = MakeCertificate(spec, key->get(), Issuer{});
  if (!cert.ok()) return cert.status();
  return WriteKeyAndCertificate(absolute_dir, kCaName, key->get(), cert->get());
}

absl::Status IssueNodeCertificate(const std::string& dir, const std::string& node_name,
                                  const std::vector<std::string>& ips, int validity_days,
                                  const std::vector<std::string>& extra_names) {
  if (absl::Status s = ValidateIssue(node_name, "node", validity_days); !s.ok()) return s;
  std::vector<std::string> sans = {absl::StrCat("DNS:", node_name)};
  for (const std::string& name : extra_names) {
    if (absl::Status s = ValidateHostname(name); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--dns: ", s.message()));
    }
    sans.push_back(absl::StrCat("DNS:", name));
  }
  for (const std::string& ip : ips) {
    if (absl::Status s = ValidateIpAddress(ip); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--ip: ", s.message()));
    }
    sans.push_back(absl::StrCat("IP:", ip));
  }
  CertificateSpec spec;
  spec.common_name = node_name;
  spec.validity_days = validity_days;
  spec.extensions = {{NID_ext_key_usage, "serverAuth,clientAuth"},
                     {NID_subject_alt_name, absl::StrJoin(sans, ",")}};
  return Issue(dir, node_name, std::move(spec));
}

absl::Status IssueClientCertificate(const std::string& dir, const std::string& client_name,
                                    Role role, int validity_days) {
  if (absl::Status s = ValidateIssue(client_name, "client", validity_days); !s.ok()) return s;
  if (role == Role::kNone) {
    return absl::InvalidArgumentError("a client certificate needs a role: admin or reader");
  }
  CertificateSpec spec;
  spec.common_name = client_name;
  spec.validity_days = validity_days;
  spec.extensions = {{NID_ext_key_usage, "clientAuth"},
                     {NID_subject_alt_name, absl::StrCat("URI:", RoleUri(role))}};
  return Issue(dir, client_name, std::move(spec));
}

}  // namespace sparkfleet
