#include "common/yaml_document.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sparkfleet {
namespace {

using ::testing::HasSubstr;

// The message of a parse that must fail.
std::string ParseError(const std::string& text) {
  absl::StatusOr<YamlDocument> doc = YamlDocument::Parse(text, "x.yaml");
  EXPECT_FALSE(doc.ok()) << "parsed: " << text;
  if (doc.ok()) return "";
  EXPECT_EQ(doc.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(doc.status().message());
}

TEST(YamlDocumentParse, KeepsOneBasedLineAndColumn) {
  absl::StatusOr<YamlDocument> doc =
      YamlDocument::Parse("name: a\nnodes:\n  - hostname: x\n    ip: \"1.2.3.4\"\n", "x.yaml");
  ASSERT_TRUE(doc.ok()) << doc.status();
  const YamlNode& root = doc->root();
  ASSERT_EQ(root.kind, YamlNode::Kind::kMap);
  ASSERT_EQ(root.entries.size(), 2u);
  EXPECT_EQ(root.entries[0].key_mark.line, 1);
  EXPECT_EQ(root.entries[0].key_mark.column, 1);
  EXPECT_EQ(root.entries[0].value.mark.column, 7);
  const YamlNode& node = root.entries[1].value.items.at(0);
  EXPECT_EQ(node.mark.line, 3);
  EXPECT_EQ(node.mark.column, 5);
  EXPECT_EQ(node.entries[1].key, "ip");
  EXPECT_EQ(node.entries[1].value.scalar, "1.2.3.4");
  EXPECT_TRUE(node.entries[1].value.quoted);
  EXPECT_FALSE(node.entries[0].value.quoted);
  EXPECT_EQ(node.entries[1].value.mark.line, 4);
  EXPECT_EQ(node.entries[1].value.mark.column, 9);
}

TEST(YamlDocumentParse, DuplicateKeyNamesBothLines) {
  EXPECT_EQ(ParseError("a: 1\nb: 2\na: 3\n"),
            "x.yaml:3:1: duplicate key \"a\" (first at line 1, column 1)");
}

TEST(YamlDocumentParse, DuplicateKeyInsideListNamesItsPath) {
  EXPECT_EQ(ParseError("nodes:\n  - hostname: a\n  - hostname: b\n    ip: 1\n    hostname: c\n"),
            "x.yaml:5:5: duplicate key \"hostname\" in nodes[1] (first at line 3, column 5)");
  EXPECT_EQ(ParseError("agent: {tls: {ca: a, ca: b}}\n"),
            "x.yaml:1:22: duplicate key \"ca\" in agent.tls (first at line 1, column 15)");
}

TEST(YamlDocumentParse, QuotedAndPlainSpellingsOfAKeyAreDuplicates) {
  EXPECT_THAT(ParseError("port: 1\n\"port\": 2\n"), HasSubstr("x.yaml:2:1: duplicate key"));
}

TEST(YamlDocumentParse, SyntaxErrorHasFileLineColumn) {
  EXPECT_EQ(ParseError("a: 1\n  b: 2\n"), "x.yaml:2:4: invalid YAML: illegal map value");
  EXPECT_EQ(ParseError("a: [1, 2\nb: 3\n"),
            "x.yaml:2:2: invalid YAML: end of sequence flow not found");
}

TEST(YamlDocumentParse, RejectsASecondDocument) {
  EXPECT_EQ(ParseError("a: 1\n---\nb: 2\n"),
            "x.yaml:3:1: a second YAML document (after \"---\") is not allowed here");
}

TEST(YamlDocumentParse, RejectsKeysThatAreNotStrings) {
  EXPECT_EQ(ParseError("? [1, 2]\n: 3\n"), "x.yaml:1:3: map keys must be plain strings");
}

TEST(YamlDocumentParse, EmptyTextIsANullRoot) {
  for (const char* text : {"", "# only a comment\n"}) {
    absl::StatusOr<YamlDocument> doc = YamlDocument::Parse(text, "x.yaml");
    ASSERT_TRUE(doc.ok()) << doc.status();
    EXPECT_EQ(doc->root().kind, YamlNode::Kind::kNull);
  }
}

TEST(YamlDocumentParse, EmptyValueIsNullAtItsKey) {
  absl::StatusOr<YamlDocument> doc = YamlDocument::Parse("a:\nb: 1\n", "x.yaml");
  ASSERT_TRUE(doc.ok()) << doc.status();
  const YamlNode& a = doc->root().entries[0].value;
  EXPECT_EQ(a.kind, YamlNode::Kind::kNull);
  EXPECT_EQ(a.mark.line, 1);
}

TEST(YamlDocumentParse, ExpandsAliases) {
  absl::StatusOr<YamlDocument> doc =
      YamlDocument::Parse("base: &b {user: nvidia}\ncopy: *b\n", "x.yaml");
  ASSERT_TRUE(doc.ok()) << doc.status();
  const YamlNode& copy = doc->root().entries[1].value;
  ASSERT_EQ(copy.kind, YamlNode::Kind::kMap);
  EXPECT_EQ(copy.entries.at(0).value.scalar, "nvidia");
  EXPECT_EQ(copy.mark.line, 2);
}

TEST(YamlDocumentParse, RejectsUnknownAndRecursiveAliases) {
  EXPECT_EQ(ParseError("a: *nope\n"),
            "x.yaml:1:4: invalid YAML: the referenced anchor is not defined");
  EXPECT_EQ(ParseError("a: &x [*x]\n"), "x.yaml:1:8: alias refers to a node that contains it");
}

TEST(YamlDocumentParse, BoundsAliasExpansion) {
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 8; ++i) {
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) text += (j ? ", *a" : "*a") + std::to_string(i - 1);
    text += "]\n";
  }
  EXPECT_THAT(ParseError(text), HasSubstr("nodes once aliases are expanded"));
}

// fuzz_cluster_config: every anchor kept an uncounted copy of its node, so anchors nested
// around one big alias made 1.7 KB of cluster.yaml take seconds and gigabytes.
TEST(YamlDocumentParse, FuzzRegressionAnchorCopiesCountAgainstTheBound) {
  std::string text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  std::string previous = "a";
  for (std::string name : {"b", "c", "d", "e"}) {
    text += name + ": &" + name + " [";
    for (int j = 0; j < 10; ++j) text += (j ? ", *" : "*") + previous;
    text += "]\n";
    previous = name;
  }
  text += "f: ";
  for (int i = 0; i < 200; ++i) text += "&f" + std::to_string(i) + " [";
  text += "*e" + std::string(200, ']') + "\n";
  EXPECT_THAT(ParseError(text), HasSubstr("nodes once aliases are expanded"));
}

class YamlFieldTest : public ::testing::Test {
 protected:
  // The value of top-level `key` in `text`.
  YamlField Field(const std::string& text, const std::string& key) {
    absl::StatusOr<YamlDocument> doc = YamlDocument::Parse(text, "c.yaml");
    EXPECT_TRUE(doc.ok()) << doc.status();
    doc_ = *std::move(doc);
    absl::StatusOr<YamlMap> map = doc_.Root().AsMap();
    EXPECT_TRUE(map.ok());
    std::optional<YamlField> field = map->Find(key);
    EXPECT_TRUE(field.has_value()) << key;
    return *field;
  }

  YamlDocument doc_;
};

TEST_F(YamlFieldTest, ReadBoolAcceptsYaml11Words) {
  for (const char* word : {"true", "True", "TRUE", "yes", "on"}) {
    bool value = false;
    EXPECT_TRUE(Field(std::string("b: ") + word, "b").ReadBool(&value).ok()) << word;
    EXPECT_TRUE(value) << word;
  }
  bool value = true;
  EXPECT_TRUE(Field("b: off", "b").ReadBool(&value).ok());
  EXPECT_FALSE(value);
}

TEST_F(YamlFieldTest, ReadBoolQuotesWhatItGot) {
  bool value = false;
  EXPECT_EQ(Field("x: 1\nenable_nccl:  yes please\n", "enable_nccl").ReadBool(&value).message(),
            "c.yaml:2:15: enable_nccl: expected true or false, got \"yes please\"");
  EXPECT_EQ(Field("b: [true]\n", "b").ReadBool(&value).message(),
            "c.yaml:1:4: b: expected true or false, got a list");
}

TEST_F(YamlFieldTest, NullLeavesTheDefault) {
  bool flag = true;
  int64_t number = 7;
  std::string text = "keep";
  EXPECT_TRUE(Field("a:\n", "a").ReadBool(&flag).ok());
  EXPECT_TRUE(Field("a: ~\n", "a").ReadInt(&number).ok());
  EXPECT_TRUE(Field("a: null\n", "a").ReadString(&text).ok());
  EXPECT_TRUE(flag);
  EXPECT_EQ(number, 7);
  EXPECT_EQ(text, "keep");
}

TEST_F(YamlFieldTest, ReadIntAndPort) {
  int64_t number = 0;
  EXPECT_TRUE(Field("n: -42\n", "n").ReadInt(&number).ok());
  EXPECT_EQ(number, -42);
  EXPECT_EQ(Field("n: 4x\n", "n").ReadInt(&number).message(),
            "c.yaml:1:4: n: expected an integer, got \"4x\"");
  EXPECT_EQ(Field("n: 99999999999999999999\n", "n").ReadInt(&number).message(),
            "c.yaml:1:4: n: expected an integer, got \"99999999999999999999\"");
  uint16_t port = 1;
  EXPECT_TRUE(Field("port: 50151\n", "port").ReadPort(&port).ok());
  EXPECT_EQ(port, 50151);
  EXPECT_EQ(Field("port: 70000\n", "port").ReadPort(&port).message(),
            "c.yaml:1:7: port: 70000 is not a TCP port (1..65535)");
}

TEST_F(YamlFieldTest, ReadStringTakesAnyScalarButNeverQuotesAWrongValue) {
  std::string text;
  EXPECT_TRUE(Field("s: 123\n", "s").ReadString(&text).ok());
  EXPECT_EQ(text, "123");
  EXPECT_EQ(Field("s: {secret: tskey-abc}\n", "s").ReadString(&text).message(),
            "c.yaml:1:4: s: expected a string, got a map");
  EXPECT_EQ(Field("s: \"\"\n", "s").ReadNonEmptyString(&text).message(),
            "c.yaml:1:4: s: must not be empty");
}

TEST_F(YamlFieldTest, ReadStringListTakesOneStringOrAList) {
  std::vector<std::string> list;
  EXPECT_TRUE(Field("l: /a\n", "l").ReadStringList(&list).ok());
  EXPECT_THAT(list, ::testing::ElementsAre("/a"));
  EXPECT_TRUE(Field("l: [/a, /b]\n", "l").ReadStringList(&list).ok());
  EXPECT_THAT(list, ::testing::ElementsAre("/a", "/b"));
  EXPECT_EQ(Field("l:\n  - /a\n  - [x]\n", "l").ReadStringList(&list).message(),
            "c.yaml:3:5: l[1]: expected a string, got a list");
}

TEST_F(YamlFieldTest, InvalidPrefixesThePathToAQuotedValue) {
  YamlField field = Field("ip: 1.2.3.300\n", "ip");
  EXPECT_EQ(field.Invalid(absl::InvalidArgumentError("\"1.2.3.300\" is not an address")).message(),
            "c.yaml:1:5: ip \"1.2.3.300\" is not an address");
  EXPECT_TRUE(field.Invalid(absl::OkStatus()).ok());
}

TEST_F(YamlFieldTest, CheckKeysSuggestsTheClosestKey) {
  YamlField nodes = Field("nodes:\n  - hostname: a\n  - hostnme: b\n", "nodes");
  absl::StatusOr<std::vector<YamlField>> items = nodes.AsList();
  ASSERT_TRUE(items.ok());
  absl::StatusOr<YamlMap> second = (*items)[1].AsMap();
  ASSERT_TRUE(second.ok());
  constexpr absl::string_view kKeys[] = {"hostname", "ip", "user"};
  EXPECT_EQ(second->CheckKeys(kKeys).message(),
            "c.yaml:3:5: unknown key \"hostnme\" in nodes[1]; did you mean \"hostname\"?");
}

TEST_F(YamlFieldTest, CheckKeysListsTheKeysWhenNothingIsClose) {
  absl::StatusOr<YamlMap> agent = Field("agent: {port: 1, colour: red}\n", "agent").AsMap();
  ASSERT_TRUE(agent.ok());
  constexpr absl::string_view kKeys[] = {"port", "tls"};
  EXPECT_EQ(agent->CheckKeys(kKeys).message(),
            "c.yaml:1:18: unknown key \"colour\" in agent; expected one of: port, tls");
}

TEST_F(YamlFieldTest, RequirePointsAtTheMapOrTheEmptyValue) {
  absl::StatusOr<YamlMap> tls = Field("x: 1\ntls:\n  ca: a\n  cert:\n", "tls").AsMap();
  ASSERT_TRUE(tls.ok());
  EXPECT_EQ(tls->Require("key", "all three").status().message(),
            "c.yaml:3:3: missing required key \"key\" in tls (all three)");
  EXPECT_EQ(tls->Require("cert").status().message(), "c.yaml:4:3: tls.cert: a value is required");
  EXPECT_TRUE(tls->Require("ca").ok());
}

TEST_F(YamlFieldTest, WrongShapesSayWhatWasFound) {
  EXPECT_EQ(Field("nodes: spark-001\n", "nodes").AsList().status().message(),
            "c.yaml:1:8: nodes: expected a list, got a string");
  EXPECT_EQ(Field("agent: [1]\n", "agent").AsMap().status().message(),
            "c.yaml:1:8: agent: expected a map of keys and values, got a list");
  absl::StatusOr<std::vector<YamlField>> none = Field("nodes:\n", "nodes").AsList();
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(FindDidYouMean, PicksTheClosestCandidateWithinReach) {
  constexpr absl::string_view kKeys[] = {"cluster_name", "enable_nccl", "enable_tailscale"};
  EXPECT_EQ(FindDidYouMean("clustername", kKeys), "cluster_name");
  EXPECT_EQ(FindDidYouMean("Enable_NCCL", kKeys), "enable_nccl");
  EXPECT_EQ(FindDidYouMean("enable_tailscal", kKeys), "enable_tailscale");
  EXPECT_EQ(FindDidYouMean("colour", kKeys), "");
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3);
  EXPECT_EQ(EditDistance("", "abc"), 3);
}

TEST(ReadConfigFile, KeepsErrnoMeaning) {
  absl::StatusOr<std::string> text = ReadConfigFile("/nonexistent/cluster.yaml");
  EXPECT_EQ(text.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(text.status().message(),
            "/nonexistent/cluster.yaml: cannot read: No such file or directory");
  EXPECT_EQ(ReadConfigFile("/").status().message(), "/: cannot read: Is a directory");
}

TEST(ResolveConfigPath, RelativeToTheBaseDirectory) {
  EXPECT_EQ(ResolveConfigPath("/etc/fleet", "pki/ca.crt"), "/etc/fleet/pki/ca.crt");
  EXPECT_EQ(ResolveConfigPath("/etc/fleet", "../ca.crt"), "/etc/ca.crt");
  EXPECT_EQ(ResolveConfigPath("/etc/fleet", "/abs/./ca.crt"), "/abs/ca.crt");
  EXPECT_EQ(ResolveConfigPath("", "ca.crt"), "ca.crt");
  EXPECT_EQ(ResolveConfigPath("/etc", ""), "");
}

}  // namespace
}  // namespace sparkfleet
