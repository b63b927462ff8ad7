import Foundation
import SluiceCore

/// The deterministic answer of the simulated provider: the same messages,
/// model and parameters always give the same text and usage.
struct SimulatedAnswer {
    var id: String
    var created: Int
    var texts: [String]
    var finishReason: String
    var usage: Usage

    static let vocabulary = [
        "the", "gateway", "routes", "each", "request", "to", "a", "model", "that", "answers", "with", "care",
        "budget", "cache", "schema", "latency", "tokens", "are", "counted", "and", "logged", "for", "every", "call",
        "retries", "keep", "failures", "small", "while", "prompts", "stay", "versioned", "in", "production",
    ]

    init(request: UpstreamRequest) {
        let body = request.body
        var hashInput = Array(request.model.utf8)
        JSON.array(body["messages"]?.arrayValue ?? []).write(to: &hashInput)
        if let seed = body["seed"] { seed.write(to: &hashInput) }
        if let temp = body["temperature"] { temp.write(to: &hashInput) }
        let digest = Hashing.sha256Hex(hashInput)
        id = "chatcmpl-sim" + digest.prefix(24)
        created = Int(Date().timeIntervalSince1970)

        let messages = body["messages"]?.arrayValue ?? []
        let lastUser = messages.last(where: { $0["role"]?.stringValue == "user" }).map { ChatText.content($0["content"]) } ?? ""
        let wantsJSON: Bool = {
            let t = body["response_format"]?["type"]?.stringValue
            return t == "json_object" || t == "json_schema"
        }()
        let n = max(1, body["n"]?.intValue ?? 1)
        let maxTokens = body["max_completion_tokens"]?.intValue ?? body["max_tokens"]?.intValue

        var texts: [String] = []
        var truncated = false
        for i in 0..<n {
            var text: String
            let seed = UInt64(digest.prefix(15), radix: 16)! &+ UInt64(i) &* 0x9E37_79B9
            if lastUser.hasPrefix("echo:") {
                text = String(lastUser.dropFirst(5)).trimmingCharacters(in: .whitespaces)
            } else {
                text = Self.sentence(seed: seed)
                if wantsJSON {
                    var out: [UInt8] = []
                    JSON.writeString(text, to: &out)
                    text = "{\"answer\":\(String(decoding: out, as: UTF8.self)),\"confidence\":0.\(seed % 90 + 10)}"
                }
            }
            if let maxTokens, maxTokens >= 0, Self.tokens(in: text) > maxTokens, !wantsJSON {
                text = String(text.prefix(maxTokens * 4))
                truncated = true
            }
            texts.append(text)
        }
        self.texts = texts
        finishReason = truncated ? "length" : "stop"

        var promptTokens = 3
        for m in messages { promptTokens += 4 + Self.tokens(in: ChatText.content(m["content"])) }
        let completionTokens = texts.reduce(0) { $0 + Self.tokens(in: $1) }
        usage = Usage(inputTokens: promptTokens, outputTokens: completionTokens)
    }

    /// About four characters a token, as for English text with OpenAI's tokenizers.
    static func tokens(in text: String) -> Int {
        text.isEmpty ? 0 : max(1, (text.utf8.count + 3) / 4)
    }

    static func sentence(seed: UInt64) -> String {
        var state = seed | 1
        func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
        let count = 8 + Int(next() % 24)
        var words: [String] = []
        for _ in 0..<count { words.append(vocabulary[Int(next() % UInt64(vocabulary.count))]) }
        words[0] = words[0].prefix(1).uppercased() + words[0].dropFirst()
        return words.joined(separator: " ") + "."
    }

    /// Splits text into stream pieces of one word each (with its leading space).
    static func pieces(of text: String) -> [String] {
        var out: [String] = []
        var current = ""
        for ch in text {
            if ch == " ", !current.isEmpty {
                out.append(current)
                current = ""
            }
            current.append(ch)
        }
        if !current.isEmpty { out.append(current) }
        return out
    }
}
