#include "coordinator/pki.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace sparkfleet {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

struct OpenSslFree {
  void operator()(X509* cert) const { X509_free(cert); }
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
  void operator()(X509_STORE* store) const { X509_STORE_free(store); }
  void operator()(X509_STORE_CTX* ctx) const { X509_STORE_CTX_free(ctx); }
};
using X509Ptr = std::unique_ptr<X509, OpenSslFree>;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

X509Ptr LoadCertificate(const std::string& path) {
  std::string pem = ReadAll(path);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), pem.size()), BIO_free);
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

bool KeyMatches(const std::string& key_path, X509* cert) {
  std::string pem = ReadAll(key_path);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), pem.size()), BIO_free);
  std::unique_ptr<EVP_PKEY, OpenSslFree> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  return key != nullptr && X509_check_private_key(cert, key.get()) == 1;
}

// X509_verify_cert of `cert` against `ca` alone, for TLS purpose `purpose`.
bool VerifiesAgainst(X509* cert, X509* ca, int purpose) {
  std::unique_ptr<X509_STORE, OpenSslFree> store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), ca);
  std::unique_ptr<X509_STORE_CTX, OpenSslFree> ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), cert, nullptr);
  X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  return X509_verify_cert(ctx.get()) == 1;
}

std::string Ia5(const ASN1_IA5STRING* s) {
  return std::string(reinterpret_cast<const char*>(s->data), s->length);
}

std::string IpText(const ASN1_OCTET_STRING* octets) {
  char text[INET6_ADDRSTRLEN] = "";
  inet_ntop(octets->length == 4 ? AF_INET : AF_INET6, octets->data, text, sizeof text);
  return text;
}

// "DNS:name", "IP:1.2.3.4", "URI:spiffe://..." for every SAN.
std::vector<std::string> SubjectAltNames(X509* cert) {
  std::vector<std::string> names;
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; sans != nullptr && i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans, i);
    if (name->type == GEN_DNS) names.push_back("DNS:" + Ia5(name->d.dNSName));
    if (name->type == GEN_URI) names.push_back("URI:" + Ia5(name->d.uniformResourceIdentifier));
    if (name->type == GEN_IPADD) names.push_back("IP:" + IpText(name->d.iPAddress));
  }
  GENERAL_NAMES_free(sans);
  return names;
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

class PkiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/pki_test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    dir_ = root_ + "/pki";  // not there yet: InitCa creates it
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::string root_;
  std::string dir_;
};

TEST_F(PkiTest, InitCreatesPrivateDirectoryAndSelfSignedCa) {
  ASSERT_TRUE(InitCa(dir_).ok());
  EXPECT_EQ(ModeOf(dir_), 0700u);
  EXPECT_EQ(ModeOf(dir_ + "/ca.key"), 0600u);
  X509Ptr ca = LoadCertificate(dir_ + "/ca.crt");
  ASSERT_NE(ca, nullptr);
  EXPECT_TRUE(KeyMatches(dir_ + "/ca.key", ca.get()));
  EXPECT_EQ(X509_check_ca(ca.get()), 1);
  EXPECT_NE(X509_get_key_usage(ca.get()) & KU_KEY_CERT_SIGN, 0u);
  EXPECT_TRUE(VerifiesAgainst(ca.get(), ca.get(), X509_PURPOSE_ANY));
  EXPECT_EQ(EVP_PKEY_get_base_id(X509_get0_pubkey(ca.get())), EVP_PKEY_EC);
}

TEST_F(PkiTest, InitTwiceIsRefusedAndKeepsTheFirstCa) {
  ASSERT_TRUE(InitCa(dir_).ok());
  std::string first = ReadAll(dir_ + "/ca.crt");
  absl::Status again = InitCa(dir_);
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(again.message(), HasSubstr("ca.crt already exists"));
  EXPECT_EQ(ReadAll(dir_ + "/ca.crt"), first);
}

TEST_F(PkiTest, NodeCertificateVerifiesAndNamesNodeAndAddresses) {
  ASSERT_TRUE(InitCa(dir_).ok());
  ASSERT_TRUE(IssueNodeCertificate(dir_, "spark-001", {"192.168.100.10", "fd00::1"}).ok());
  X509Ptr ca = LoadCertificate(dir_ + "/ca.crt");
  X509Ptr cert = LoadCertificate(dir_ + "/spark-001.crt");
  ASSERT_NE(cert, nullptr);
  EXPECT_TRUE(VerifiesAgainst(cert.get(), ca.get(), X509_PURPOSE_SSL_SERVER));
  EXPECT_TRUE(VerifiesAgainst(cert.get(), ca.get(), X509_PURPOSE_SSL_CLIENT));
  EXPECT_THAT(SubjectAltNames(cert.get()),
              UnorderedElementsAre("DNS:spark-001", "IP:192.168.100.10", "IP:fd00::1"));
  EXPECT_EQ(X509_check_host(cert.get(), "spark-001", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "192.168.100.10", 0), 1);
  EXPECT_EQ(ModeOf(dir_ + "/spark-001.key"), 0600u);
  EXPECT_TRUE(KeyMatches(dir_ + "/spark-001.key", cert.get()));
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
}

TEST_F(PkiTest, ClientCertificateCarriesItsRole) {
  ASSERT_TRUE(InitCa(dir_).ok());
  ASSERT_TRUE(IssueClientCertificate(dir_, "ops", Role::kReader).ok());
  X509Ptr ca = LoadCertificate(dir_ + "/ca.crt");
  X509Ptr cert = LoadCertificate(dir_ + "/ops.crt");
  ASSERT_NE(cert, nullptr);
  EXPECT_TRUE(VerifiesAgainst(cert.get(), ca.get(), X509_PURPOSE_SSL_CLIENT));
  EXPECT_FALSE(VerifiesAgainst(cert.get(), ca.get(), X509_PURPOSE_SSL_SERVER));
  EXPECT_THAT(SubjectAltNames(cert.get()),
              UnorderedElementsAre("URI:spiffe://sparkfleet/role/reader"));
  EXPECT_EQ(ModeOf(dir_ + "/ops.key"), 0600u);
}

TEST_F(PkiTest, CertificateFromAnotherCaDoesNotVerify) {
  std::string other = root_ + "/other";
  ASSERT_TRUE(InitCa(dir_).ok());
  ASSERT_TRUE(InitCa(other).ok());
  ASSERT_TRUE(IssueClientCertificate(other, "intruder", Role::kAdmin).ok());
  X509Ptr ca = LoadCertificate(dir_ + "/ca.crt");
  X509Ptr cert = LoadCertificate(other + "/intruder.crt");
  EXPECT_FALSE(VerifiesAgainst(cert.get(), ca.get(), X509_PURPOSE_SSL_CLIENT));
}

TEST_F(PkiTest, ReissueReplacesTheCertificate) {
  ASSERT_TRUE(InitCa(dir_).ok());
  ASSERT_TRUE(IssueNodeCertificate(dir_, "spark-001", {"10.0.0.1"}).ok());
  ASSERT_TRUE(IssueNodeCertificate(dir_, "spark-001", {"10.0.0.2"}).ok());
  X509Ptr cert = LoadCertificate(dir_ + "/spark-001.crt");
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "10.0.0.2", 0), 1);
  EXPECT_TRUE(KeyMatches(dir_ + "/spark-001.key", cert.get()));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/spark-001.key.sparkfleet.bak"));
}

TEST_F(PkiTest, BadNamesAddressesAndValidityAreRefused) {
  ASSERT_TRUE(InitCa(dir_).ok());
  absl::Status bad_name = IssueNodeCertificate(dir_, "spark_001", {});
  EXPECT_EQ(bad_name.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_name.message(), HasSubstr("spark_001"));
  EXPECT_EQ(IssueNodeCertificate(dir_, "../etc/passwd", {}).code(),
            absl::StatusCode::kInvalidArgument);
  absl::Status reserved = IssueClientCertificate(dir_, "ca", Role::kAdmin);
  EXPECT_THAT(reserved.message(), HasSubstr("reserved"));
  absl::Status bad_ip = IssueNodeCertificate(dir_, "spark-001", {"192.168.1.300"});
  EXPECT_EQ(bad_ip.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_ip.message(), HasSubstr("192.168.1.300"));
  EXPECT_EQ(IssueClientCertificate(dir_, "ops", Role::kNone).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(IssueClientCertificate(dir_, "ops", Role::kAdmin, 0).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/spark_001.crt"));
}

TEST_F(PkiTest, IssueWithoutCaSaysToRunInit) {
  absl::Status status = IssueNodeCertificate(dir_, "spark-001", {});
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("sparkctl pki init --dir"));
}

}  // namespace
}  // namespace sparkfleet
