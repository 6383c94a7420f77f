#include "engine/alerting_config.h"

#include <filesystem>
#include <set>

#include "firewatch/protocol/keyring.h"
#include "firewatch/secret_file.h"

namespace firewatch::alerting {

const Contact* AlertingConfig::FindContact(const std::string& name) const {
  for (const auto& c : contacts) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

const notify::ChannelConfig* AlertingConfig::FindChannel(const std::string& name) const {
  for (const auto& c : channels) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::string AddressFor(const Contact& c, const std::string& channel_type) {
  if (channel_type == "smtp") return c.email;
  if (channel_type == "twilio" || channel_type == "http_sms") return c.phone;
  return "";
}

void ReadAlertingConfig(config::MapReader& top, const std::string& base_dir, AlertingConfig& out) {
  config::Errors& errors = top.errors();
  YAML::Node channels = top.Node("channels");
  const bool has_channels = channels.IsDefined() && !channels.IsNull();
  if (has_channels) out.channels = notify::ParseChannels(errors, channels, base_dir);

  schedule::KnownNames known;
  for (const auto& ch : out.channels) known.channels.insert(ch.name);

  YAML::Node contacts = top.Node("contacts");
  if (contacts.IsDefined() && !contacts.IsNull()) {
    if (!contacts.IsSequence()) {
      errors.At(contacts, "contacts: expected a list of {name, email, phone, channels}");
    } else {
      for (size_t i = 0; i < contacts.size(); ++i) {
        const std::string path = "contacts[" + std::to_string(i) + "]";
        config::MapReader r(errors, contacts[i], path);
        Contact c;
        r.String("name", c.name, true);
        r.String("email", c.email);
        r.String("phone", c.phone);
        YAML::Node list = r.Node("channels");
        if (list.IsDefined() && !list.IsNull()) {
          if (!list.IsSequence()) {
            errors.At(list, path + ".channels: expected a list of channel names");
          } else {
            for (size_t j = 0; j < list.size(); ++j) {
              const std::string name = list[j].IsScalar() ? list[j].Scalar() : "";
              if (!known.channels.count(name)) {
                errors.At(list[j], path + ".channels[" + std::to_string(j) +
                                       "]: undefined channel '" + name + "'");
              }
              c.channels.push_back(name);
            }
          }
        }
        r.Finish();
        if (!c.name.empty() && !known.contacts.insert(c.name).second) {
          errors.At(contacts[i], path + ".name: contact '" + c.name + "' is listed twice");
        }
        if (!c.phone.empty() && (c.phone[0] != '+' || c.phone.size() < 8)) {
          errors.At(contacts[i],
                    path + ".phone: expected E.164 like +15550100, got '" + c.phone + "'");
        }
        out.contacts.push_back(std::move(c));
      }
    }
  }

  schedule::ReadOnCallConfig(top, known, out.oncall);
  std::set<std::string> policies;
  for (const auto& [name, p] : out.oncall.escalation_policies) policies.insert(name);
  if (has_channels || top.Has("route")) {
    route::RouteDefaults defaults;
    route::ReadRouting(top, policies, defaults, out.routing);
  } else {
    top.Node("route");
    top.Node("inhibit_rules");
  }

  const YAML::Node al_node = top.Node("alerting");
  config::MapReader al(errors, al_node, "alerting");
  al.String("external_url", out.external_url);
  al.StringMap("runbooks", out.runbooks);
  al.Duration("retry_base", out.retry_base, std::chrono::milliseconds(10), std::chrono::hours(1));
  al.Duration("retry_max_delay", out.retry_max_delay, std::chrono::milliseconds(10),
              std::chrono::hours(24));
  al.Uint("max_attempts", out.max_attempts, 1, 100);
  al.Uint("sms_per_contact_per_hour", out.sms_per_contact_per_hour, 1, 100000);
  al.Duration("outbox_retention", out.outbox_retention, std::chrono::hours(24),
              std::chrono::hours(24 * 3650));
  al.Duration("reopen_window", out.reopen_window, std::chrono::seconds(0), std::chrono::hours(24));
  al.String("ack_secret_file", out.ack_secret_file);
  al.Duration("ack_link_ttl", out.ack_link_ttl, std::chrono::minutes(1),
              std::chrono::hours(24 * 30));
  al.String("twilio_inbound_url", out.twilio_inbound_url);
  // Reads one ack link key file (relative to base_dir) for `what`, reporting at `node`.
  auto read_ack_key = [&](std::string& path, const YAML::Node& node,
                          const std::string& what) -> std::vector<uint8_t> {
    if (std::filesystem::path(path).is_relative() && !base_dir.empty()) {
      path = (std::filesystem::path(base_dir) / path).lexically_normal().string();
    }
    auto text = ReadSecretFile(path, what);  // size, file type and permission rules
    if (!text.ok()) {
      errors.At(node, text.status().message());
      return {};
    }
    auto secret = protocol::ParseKeyText(*text);
    if (!secret.ok()) {
      errors.At(node, what + ": '" + path + "': " + secret.status().message());
    } else if (secret->size() < 16) {
      errors.At(node, what + ": key must be at least 16 bytes");
    } else {
      return std::move(secret).value();
    }
    return {};
  };
  if (!out.ack_secret_file.empty()) {
    out.ack_secret =
        read_ack_key(out.ack_secret_file, al_node["ack_secret_file"], "alerting.ack_secret_file");
  }
  if (YAML::Node prev = al.Node("ack_secret_previous_files"); prev.IsDefined() && !prev.IsNull()) {
    if (!prev.IsSequence() || prev.size() > 8) {
      errors.At(prev, "alerting.ack_secret_previous_files: expected a list of at most 8 key files");
    } else {
      for (size_t i = 0; i < prev.size(); ++i) {
        const std::string what = "alerting.ack_secret_previous_files[" + std::to_string(i) + "]";
        std::string path = prev[i].IsScalar() ? prev[i].as<std::string>() : "";
        if (path.empty()) {
          errors.At(prev[i], what + ": expected a file name");
          continue;
        }
        auto key = read_ack_key(path, prev[i], what);
        if (!key.empty()) {
          out.ack_secret_previous_files.push_back(path);
          out.ack_previous_secrets.push_back(std::move(key));
        }
      }
    }
  }
  if (!out.twilio_inbound_url.empty() && out.twilio_inbound_url.rfind("http://", 0) != 0 &&
      out.twilio_inbound_url.rfind("https://", 0) != 0) {
    errors.At(al_node["twilio_inbound_url"],
              "alerting.twilio_inbound_url: expected an http:// or https:// URL");
  }
  al.Finish();

  out.enabled = has_channels;
  if (has_channels && policies.empty()) {
    errors.At(channels, "channels are configured but no escalation_policies use them");
  }
}

}  // namespace firewatch::alerting
