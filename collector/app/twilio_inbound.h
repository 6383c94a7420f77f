// SMS replies through Twilio's inbound webhook (DESIGN.md "Alerting"; docs/api.md):
//
//   POST /api/v1/twilio/inbound   application/x-www-form-urlencoded (From, Body, ...)
//
// X-Twilio-Signature must equal base64(HMAC-SHA1(auth_token, url + each POST parameter's
// name and value concatenated, sorted by name)), where url is alerting.twilio_inbound_url
// used verbatim and auth_token is that of the first channel of type twilio, or one of
// its auth_token_previous_files (a rotation: Twilio signs with its primary token, which
// is the old one until it is promoted; docs/security.md). Missing or wrong signature:
// 403 (counted; logged at most once a minute). Access::kPublic: the signature is the
// credential.
//
// Body "ACK <id>" (case-insensitive, surrounding spaces ok) acks the incident only when
// `From` is the phone number (E.164; spaces, dashes, dots and parentheses ignored) of a
// contact who was paged for that incident (AlertingEngine::PagedContacts), as
// "<contact> (sms)". Anyone else gets a refusal, learns nothing about the incident, and
// is counted. The reply is always TwiML (text/xml) saying what happened; every reply is
// counted in firewatch_sms_replies_total{result} with result acked, refused,
// unknown_incident or not_understood. Registered only when both the URL and a twilio
// channel are configured.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/alerting_config.h"
#include "engine/engine.h"
#include "http/http_server.h"

namespace firewatch::collector {

class CollectorMetrics;

// base64(HMAC-SHA1(auth_token, url + sorted name/value pairs)).
std::string TwilioSignature(const std::string& auth_token, const std::string& url,
                            const std::map<std::string, std::string>& params);

// True when `signature` (the X-Twilio-Signature header) is TwilioSignature under one of
// `tokens` (the current one, then those of a rotation). Every token is tried, in
// constant time in the signature's contents.
bool TwilioSignatureValid(const std::vector<std::string>& tokens, const std::string& url,
                          const std::map<std::string, std::string>& params,
                          std::string_view signature);

// The TwiML reply carrying one message (XML-escaped).
std::string TwiMLMessage(const std::string& text);

// "+1 (555) 010-0001" -> "+15550100001": what is compared between From and contacts.
std::string NormalizePhone(std::string_view phone);

// Registers the endpoint when alerting.twilio_inbound_url and a twilio channel are set.
// `metrics` (may be null) counts the replies.
void RegisterTwilioInbound(HttpServer& server, alerting::AlertingEngine& engine,
                           const alerting::AlertingConfig& config, CollectorMetrics* metrics);

}  // namespace firewatch::collector
