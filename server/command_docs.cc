#include "server/command_docs.h"

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/commands/args.h"
#include "engine/commands/command_table.h"
#include "engine/util/assert.h"

namespace allot::server {

namespace {

struct DocSource {
  std::string_view name;     // lower case, as Redis names commands in its replies
  std::string_view encoded;  // tools/gen_command_docs.py's encode()
};

#include "server/command_docs_data.inc"

static_assert(std::size(kDocStrings) == std::size(kDocStringIsStatus));

// Reads the generator's compact form back into the reply tree Redis sent.
class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}

  Reply value() {
    ALLOT_CHECK(pos_ < in_.size());
    char type = in_[pos_++];
    size_t n = number();
    switch (type) {
      case '%':
      case '*':
      case '~': {
        std::vector<Reply> elems;
        size_t count = type == '%' ? 2 * n : n;
        elems.reserve(count);
        for (size_t i = 0; i < count; ++i) elems.push_back(value());
        if (type == '%') return Reply::Map(std::move(elems));
        return type == '*' ? Reply::Array(std::move(elems)) : Reply::Set(std::move(elems));
      }
      case ':':
        return Reply::Int(static_cast<int64_t>(n));
      case '#':
      case '!':
        ALLOT_CHECK(n < std::size(kDocStrings));
        return type == '#' ? Reply::Bulk(kDocStrings[n]) : Reply::Status(kDocStrings[n]);
      case '$':
      case '+': {
        ALLOT_CHECK(pos_ + n <= in_.size());
        std::string_view s = in_.substr(pos_, n);
        pos_ += n;
        return type == '$' ? Reply::Bulk(s) : Reply::Status(s);
      }
    }
    ALLOT_CHECK(false && "bad command docs data");
    return Reply();
  }

  bool done() const { return pos_ == in_.size(); }

 private:
  // A decimal number ended by ','; Redis's docs carry no negative integers.
  size_t number() {
    size_t n = 0;
    while (pos_ < in_.size() && in_[pos_] != ',') {
      ALLOT_CHECK(in_[pos_] >= '0' && in_[pos_] <= '9');
      n = n * 10 + static_cast<size_t>(in_[pos_++] - '0');
    }
    ALLOT_CHECK(pos_ < in_.size());
    ++pos_;
    return n;
  }

  std::string_view in_;
  size_t pos_ = 0;
};

struct DocIndex {
  std::vector<std::pair<std::string, Reply>> docs;  // in the generated order
  std::unordered_map<std::string, size_t> by_name;  // name or "name|sub" -> doc
  std::vector<const Reply*> subcommands;            // by_name values >= docs.size()
};

const DocIndex& Index() {
  static const DocIndex* const index = [] {
    auto* idx = new DocIndex;
    for (const DocSource& src : kDocSources) {
      Decoder d(src.encoded);
      Reply doc = d.value();
      ALLOT_CHECK(d.done() && doc.is_map());
      idx->docs.emplace_back(std::string(src.name), std::move(doc));
    }
    for (size_t i = 0; i < idx->docs.size(); ++i) {
      const auto& [name, doc] = idx->docs[i];
      idx->by_name.emplace(name, i);
      // Subcommands ("config|get") are found inside their parent's "subcommands" map.
      if (const Reply* subs = doc.find("subcommands")) {
        const std::vector<Reply>& kv = subs->array();
        for (size_t k = 0; k + 1 < kv.size(); k += 2) {
          idx->by_name.emplace(kv[k].string(), idx->docs.size() + idx->subcommands.size());
          idx->subcommands.push_back(&kv[k + 1]);
        }
      }
    }
    return idx;
  }();
  return *index;
}

// The name Redis replies with and the doc, or nullptr.
const Reply* Find(std::string_view name, std::string* full) {
  const DocIndex& idx = Index();
  *full = internal::ToLower(name);
  auto it = idx.by_name.find(*full);
  if (it == idx.by_name.end()) return nullptr;
  if (it->second < idx.docs.size()) return &idx.docs[it->second].second;
  return idx.subcommands[it->second - idx.docs.size()];
}

}  // namespace

const Reply* CommandDoc(std::string_view name) {
  std::string full;
  return Find(name, &full);
}

Reply CommandDocs(std::span<const std::string_view> args) {
  std::vector<Reply> out;
  if (args.size() <= 2) {
    // Every command allotd runs, in the command table's order.
    for (const internal::CommandSpec& s : internal::CommandTable::Get().all()) {
      std::string full;
      if (const Reply* doc = Find(s.name, &full)) {
        out.push_back(Reply::Bulk(full));
        out.push_back(*doc);
      }
    }
    return Reply::Map(std::move(out));
  }
  for (size_t i = 2; i < args.size(); ++i) {
    std::string full;
    if (const Reply* doc = Find(args[i], &full)) {
      out.push_back(Reply::Bulk(full));
      out.push_back(*doc);
    }
  }
  return Reply::Map(std::move(out));
}

}  // namespace allot::server
