import Foundation
import SluiceCore
import SluiceTesting
import Testing

/// The provider types the shared scenario list runs against, each with its
/// config, the priced upstream model, and readers for what it was sent.
enum ScenarioProvider: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case openai
    case openaiCompatible = "openai_compatible"
    case anthropic
    case gemini
    case azureOpenAI = "azure_openai"
    case bedrock
    /// `type: vertex` with a Gemini model (Google's publisher).
    case vertexGemini = "vertex_gemini"
    /// `type: vertex` with a Claude model (Anthropic's publisher, `rawPredict`).
    case vertexClaude = "vertex_claude"

    var testDescription: String { rawValue }

    /// A gateway whose model `m` goes to this provider type at `upstream`: `http://`, or
    /// `https://` with the upstream's CA as the provider's `ca_file` when it serves TLS
    /// (`trustCA: false` leaves `ca_file` out, so that verification fails).
    func config(_ upstream: FakeUpstream, trustCA: Bool = true, extra: String = "") throws -> String {
        let url = upstream.origin
        let ca = trustCA ? upstream.caFile.map { #", ca_file: "\#($0)""# } ?? "" : ""
        let provider: String
        switch self {
        case .openai: provider = #"{ type: openai, base_url: "\#(url)/v1", api_key: "sk-scenario-secret-1"\#(ca) }"#
        case .openaiCompatible: provider = #"{ type: openai_compatible, base_url: "\#(url)/v1"\#(ca) }"#
        case .anthropic: provider = #"{ type: anthropic, base_url: "\#(url)/v1", api_key: "sk-ant-scenario-1"\#(ca) }"#
        case .gemini: provider = #"{ type: gemini, base_url: "\#(url)/v1beta", api_key: "gem-scenario-1"\#(ca) }"#
        case .azureOpenAI: provider = #"{ type: azure_openai, base_url: "\#(url)", api_key: "azure-scenario-1"\#(ca) }"#
        case .bedrock:
            provider = trustCA ? BedrockFixture.provider(upstream) : BedrockFixture.provider(upstream).replacingOccurrences(of: ca, with: "")
        case .vertexGemini, .vertexClaude:
            // The fake's token endpoint verifies the service account's JWTs with PyJWT; without it, a static token.
            let entry = try VertexFixture.provider(upstream, accessToken: pythonHasPyJWT ? nil : "ya29.scenario-static")
            provider = trustCA ? entry : entry.replacingOccurrences(of: ca, with: "")
        }
        return """
            providers:
              p: \(provider)
            models:
              m: { targets: [ { provider: p, model: "\(upstreamModel)" } ] }
            pricing:
              llama-3.1-8b: { input: 0.05, output: 0.08, cached_input: 0.01 }
            \(noRetry)
            \(extra)
            """
    }

    /// The upstream model id; all but the self-hosted one are priced by the built-in table.
    var upstreamModel: String {
        switch self {
        case .openai, .azureOpenAI: "gpt-4o-mini"
        case .openaiCompatible: "llama-3.1-8b"
        case .anthropic: "claude-sonnet-4-5"
        case .gemini, .vertexGemini: "gemini-2.5-flash"
        case .bedrock: "anthropic.claude-3-5-haiku-20241022-v1:0"
        case .vertexClaude: "claude-3-5-haiku@20241022"
        }
    }

    /// The usage the cache scenario scripts: 1M prompt tokens of which 400k read
    /// from the provider's cache (and, for Anthropic, 100k written), 100k out.
    var cacheUsage: Usage {
        Usage(inputTokens: 1_000_000, outputTokens: 100_000, cachedTokens: 400_000, cacheWriteTokens: isAnthropic ? 100_000 : 0)
    }

    /// The cost of ``cacheUsage`` worked out by hand from the price table (USD per million).
    var handComputedCost: Double {
        switch self {
        // 600k × 0.15 + 400k × 0.075 + 100k × 0.60
        case .openai, .azureOpenAI: 0.09 + 0.03 + 0.06
        // 600k × 0.05 + 400k × 0.01 + 100k × 0.08 (the `pricing:` override)
        case .openaiCompatible: 0.03 + 0.004 + 0.008
        // 500k × 3.00 + 400k read × 0.30 + 100k written × 3.75 + 100k × 15.00
        case .anthropic: 1.5 + 0.12 + 0.375 + 1.5
        // 600k × 0.30 + 400k × 0.075 + 100k × 2.50
        case .gemini, .vertexGemini: 0.18 + 0.03 + 0.25
        // Claude 3.5 Haiku: 600k × 0.80 + 400k read × 0.08 + 100k × 4.00
        case .bedrock: 0.48 + 0.032 + 0.4
        // 500k × 0.80 + 400k read × 0.08 + 100k written × 1.00 + 100k × 4.00
        case .vertexClaude: 0.4 + 0.032 + 0.1 + 0.4
        }
    }

    /// What the provider's prompt cache saved: 400k cached tokens at input minus cached price.
    var handComputedSavings: Double {
        switch self {
        case .openai, .azureOpenAI: 400_000 * (0.15 - 0.075) / 1e6
        case .openaiCompatible: 400_000 * (0.05 - 0.01) / 1e6
        case .anthropic: 400_000 * (3.0 - 0.30) / 1e6
        case .gemini, .vertexGemini: 400_000 * (0.30 - 0.075) / 1e6
        case .bedrock, .vertexClaude: 400_000 * (0.80 - 0.08) / 1e6
        }
    }

    /// The API the upstream speaks, which decides how to read what it was sent.
    enum Dialect { case openAI, anthropic, gemini, bedrock }

    var dialect: Dialect {
        switch self {
        case .openai, .openaiCompatible, .azureOpenAI: .openAI
        case .anthropic, .vertexClaude: .anthropic
        case .gemini, .vertexGemini: .gemini
        case .bedrock: .bedrock
        }
    }

    /// Whether the upstream speaks Anthropic's Messages API.
    var isAnthropic: Bool { self == .anthropic || self == .vertexClaude }

    /// Whether the upstream speaks Gemini's generateContent API.
    var isGemini: Bool { self == .gemini || self == .vertexGemini }

    /// An error body in this provider's own shape.
    func errorBody(_ message: String) -> String {
        switch self {
        case .bedrock:
            JSON.object(["__type": "ValidationException", "message": .string(message)]).jsonString
        case .anthropic, .vertexClaude:
            JSON.object(["type": "error", "error": ["type": "invalid_request_error", "message": .string(message)]]).jsonString
        case .gemini, .vertexGemini:
            JSON.object(["error": ["code": 400, "message": .string(message), "status": "INVALID_ARGUMENT"]]).jsonString
        default:
            JSON.object(["error": ["message": .string(message), "type": "invalid_request_error", "param": nil, "code": nil]]).jsonString
        }
    }

    /// The path the request went to, for the stream flag.
    func expectedPath(stream: Bool) -> String {
        switch self {
        case .openai, .openaiCompatible: "/v1/chat/completions"
        case .azureOpenAI: "/openai/deployments/gpt-4o-mini/chat/completions"
        case .anthropic: "/v1/messages"
        case .gemini: "/v1beta/models/gemini-2.5-flash" + (stream ? ":streamGenerateContent" : ":generateContent")
        case .bedrock: "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0" + (stream ? "/converse-stream" : "/converse")
        case .vertexGemini: VertexFixture.path(upstreamModel, stream ? "streamGenerateContent" : "generateContent")
        case .vertexClaude: VertexFixture.path(upstreamModel, stream ? "streamRawPredict" : "rawPredict")
        }
    }

    // MARK: Reading what the upstream received, in provider-neutral terms

    /// The system prompt as sent.
    func systemText(_ sent: JSON) -> String? {
        switch dialect {
        case .anthropic:
            sent["system"]?.stringValue ?? sent["system"]?.arrayValue?.compactMap { $0["text"]?.stringValue }.joined()
        case .gemini:
            sent["systemInstruction"]?["parts"]?.arrayValue?.compactMap { $0["text"]?.stringValue }.joined()
        case .bedrock:
            bedrockSystem(sent)
        case .openAI:
            sent["messages"]?.arrayValue?.first { $0["role"]?.stringValue == "system" }?["content"]?.stringValue
        }
    }

    /// The conversation turns as sent: (role as user/assistant, text), system excluded.
    func turns(_ sent: JSON) -> [String] {
        switch dialect {
        case .gemini:
            (sent["contents"]?.arrayValue ?? []).map { c in
                let role = c["role"]?.stringValue == "model" ? "assistant" : "user"
                return role + ":" + (c["parts"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined()
            }
        case .bedrock:
            bedrockTurns(sent)
        case .openAI, .anthropic:
            (sent["messages"]?.arrayValue ?? []).filter { $0["role"]?.stringValue != "system" }.map { m in
                (m["role"]?.stringValue ?? "?") + ":" + ChatText.content(m["content"])
            }
        }
    }

    /// The tool results as sent: (call reference, result text).
    func toolResults(_ sent: JSON) -> [String] {
        switch dialect {
        case .anthropic:
            (sent["messages"]?.arrayValue ?? []).flatMap { m in
                (m["content"]?.arrayValue ?? []).filter { $0["type"]?.stringValue == "tool_result" }.map { b in
                    (b["tool_use_id"]?.stringValue ?? "?") + "=" + ChatText.content(b["content"])
                }
            }
        case .gemini:
            (sent["contents"]?.arrayValue ?? []).flatMap { c in
                (c["parts"]?.arrayValue ?? []).compactMap { $0["functionResponse"] }.map { r in
                    (r["name"]?.stringValue ?? "?") + "=" + (r["response"]?.jsonString ?? "")
                }
            }
        case .bedrock:
            bedrockToolResults(sent)
        case .openAI:
            (sent["messages"]?.arrayValue ?? []).filter { $0["role"]?.stringValue == "tool" }.map { m in
                (m["tool_call_id"]?.stringValue ?? "?") + "=" + ChatText.content(m["content"])
            }
        }
    }

    /// The names of the tools offered, and the forced one if any.
    func tools(_ sent: JSON) -> (names: [String], forced: String?) {
        switch dialect {
        case .anthropic:
            let names = (sent["tools"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
            return (names, sent["tool_choice"]?["type"]?.stringValue == "tool" ? sent["tool_choice"]?["name"]?.stringValue : nil)
        case .gemini:
            let names = (sent["tools"]?.arrayValue ?? []).flatMap { ($0["functionDeclarations"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue } }
            return (names, sent["toolConfig"]?["functionCallingConfig"]?["allowedFunctionNames"]?.arrayValue?.first?.stringValue)
        case .bedrock:
            return bedrockTools(sent)
        case .openAI:
            let names = (sent["tools"]?.arrayValue ?? []).compactMap { $0["function"]?["name"]?.stringValue }
            return (names, sent["tool_choice"]?["function"]?["name"]?.stringValue)
        }
    }

    /// The JSON schema the provider was asked to answer in, by its native mechanism.
    func requestedSchema(_ sent: JSON) -> JSON? {
        switch dialect {
        case .anthropic:
            let forced = sent["tool_choice"]?["name"]?.stringValue
            return sent["tools"]?.arrayValue?.first { $0["name"]?.stringValue == forced }?["input_schema"]
        case .gemini:
            let config = sent["generationConfig"]
            guard config?["responseMimeType"] == "application/json" else { return nil }
            return config?["responseSchema"] ?? config?["responseJsonSchema"]
        case .bedrock:
            return bedrockSchema(sent)
        case .openAI:
            return sent["response_format"]?["json_schema"]?["schema"]
        }
    }

    /// The images as sent, each as `url:…` or `base64:MIME:DATA`.
    func images(_ sent: JSON) -> [String] {
        switch dialect {
        case .anthropic:
            (sent["messages"]?.arrayValue ?? []).flatMap { m in
                (m["content"]?.arrayValue ?? []).filter { $0["type"]?.stringValue == "image" }.map { b in
                    let s = b["source"]
                    return s?["type"]?.stringValue == "url"
                        ? "url:" + (s?["url"]?.stringValue ?? "")
                        : "base64:" + (s?["media_type"]?.stringValue ?? "") + ":" + (s?["data"]?.stringValue ?? "")
                }
            }
        case .gemini:
            (sent["contents"]?.arrayValue ?? []).flatMap { c in
                (c["parts"]?.arrayValue ?? []).compactMap { p -> String? in
                    if let f = p["fileData"] { return "url:" + (f["fileUri"]?.stringValue ?? "") }
                    if let d = p["inlineData"] {
                        return "base64:" + (d["mimeType"]?.stringValue ?? "") + ":" + (d["data"]?.stringValue ?? "")
                    }
                    return nil
                }
            }
        case .bedrock:
            bedrockImages(sent)
        case .openAI:
            (sent["messages"]?.arrayValue ?? []).flatMap { m in
                (m["content"]?.arrayValue ?? []).compactMap { $0["image_url"]?["url"]?.stringValue }.map { url in
                    url.hasPrefix("data:") ? "base64:" + url.dropFirst(5).replacingOccurrences(of: ";base64,", with: ":") : "url:" + url
                }
            }
        }
    }
}
