import Foundation
import SluiceCore

/// The built-in provider that needs no network: deterministic answers derived
/// from the input, realistic usage numbers, configurable latency and chunk pace.
///
/// A last user message starting with `echo:` is answered with the rest of it,
/// which makes the simulated provider handy in demos and tests.
public struct SimulatedProvider: Provider {
    /// Timing knobs.
    public struct Settings: Sendable {
        /// Delay before the answer (or the first chunk).
        public var latencyMs: Int
        /// Delay between stream chunks.
        public var chunkMs: Int

        /// Delays in milliseconds; both default to 0 (no delay).
        public init(latencyMs: Int = 0, chunkMs: Int = 0) {
            self.latencyMs = latencyMs
            self.chunkMs = chunkMs
        }
    }

    /// The model ids the simulated provider answers to.
    public static let models = ["sim-small", "sim-large"]

    /// The configured provider name.
    public let name: String
    let settings: Settings

    /// A simulated provider named `name`, with no delays by default.
    public init(name: String, settings: Settings = Settings()) {
        self.name = name
        self.settings = settings
    }

    /// The pinned version reported for a model id.
    public static func pinnedVersion(of model: String) -> String {
        models.contains(model) ? model + "-2025-01-01" : model
    }

    /// Deterministic unit vectors (`dimensions`, default 256), after `latencyMs`: the sum of one
    /// pseudo-random vector per content word, so texts sharing their words are similar
    /// ("How do I reset my password?" ≈ "how can I reset my password") and unrelated ones are not.
    public func embed(_ request: UpstreamRequest) async throws(ProviderError) -> UpstreamResponse {
        try await pause(settings.latencyMs)
        let input = request.body["input"] ?? .string("")
        let texts: [String] =
            input.stringValue.map { [$0] }
            ?? (input.arrayValue?.allSatisfy { $0.intValue != nil } == true
                ? [input.jsonString] : (input.arrayValue ?? []).map { $0.stringValue ?? $0.jsonString })
        let dims = request.body["dimensions"]?.intValue ?? 256
        var data: [JSON] = []
        var tokens = 0
        for (i, text) in texts.enumerated() {
            tokens += max(1, (text.utf8.count + 3) / 4)
            let vector = Self.bagOfWords(text, dims: dims)
            let norm = max(1e-9, vector.reduce(0) { $0 + $1 * $1 }.squareRoot())
            let unit = vector.map { $0 / norm }
            let embedding: JSON
            if request.body["encoding_format"]?.stringValue == "base64" {
                embedding = .string(EmbeddingEncoding.base64(unit))
            } else {
                embedding = .array(unit.map { .double($0) })
            }
            data.append(["object": "embedding", "index": .int(i), "embedding": embedding])
        }
        let body: JSONObject = [
            "object": "list", "data": .array(data), "model": .string(Self.pinnedVersion(of: request.model)),
            "usage": ["prompt_tokens": .int(tokens), "total_tokens": .int(tokens)],
        ]
        return UpstreamResponse(body: JSON.object(body).serialized(), json: body)
    }

    /// A deterministic chat completion after `latencyMs`; throws only when cancelled.
    public func complete(_ request: UpstreamRequest) async throws(ProviderError) -> UpstreamResponse {
        try await pause(settings.latencyMs)
        let answer = SimulatedAnswer(request: request)
        var choices: [JSON] = []
        for (i, text) in answer.texts.enumerated() {
            choices.append([
                "index": .int(i),
                "message": ["role": "assistant", "content": .string(text), "refusal": nil],
                "logprobs": nil,
                "finish_reason": .string(answer.finishReason),
            ])
        }
        let body: JSONObject = [
            "id": .string(answer.id), "object": "chat.completion", "created": .int(answer.created),
            "model": .string(Self.pinnedVersion(of: request.model)),
            "choices": .array(choices), "usage": answer.usage.openAIJSON,
            "system_fingerprint": "fp_sluice_sim",
        ]
        return UpstreamResponse(body: JSON.object(body).serialized(), json: body)
    }

    /// The same answer as chunks `chunkMs` apart, plus a usage chunk when `include_usage` is set.
    public func stream(_ request: UpstreamRequest) async throws(ProviderError) -> any ChunkStream {
        try await pause(settings.latencyMs)
        let answer = SimulatedAnswer(request: request)
        let includeUsage = request.body["stream_options"]?["include_usage"]?.boolValue ?? false
        var chunks: [JSONObject] = []
        let model = JSON.string(Self.pinnedVersion(of: request.model))
        func chunk(_ choices: [JSON], usage: JSON? = nil) -> JSONObject {
            var c: JSONObject = [
                "id": .string(answer.id), "object": "chat.completion.chunk", "created": .int(answer.created),
                "model": model, "system_fingerprint": "fp_sluice_sim", "choices": .array(choices),
            ]
            if includeUsage { c["usage"] = usage ?? .null }
            return c
        }
        for (i, text) in answer.texts.enumerated() {
            chunks.append(chunk([["index": .int(i), "delta": ["role": "assistant", "content": "", "refusal": nil], "logprobs": nil, "finish_reason": nil]]))
            for piece in SimulatedAnswer.pieces(of: text) {
                chunks.append(chunk([["index": .int(i), "delta": ["content": .string(piece)], "logprobs": nil, "finish_reason": nil]]))
            }
            chunks.append(chunk([["index": .int(i), "delta": [:], "logprobs": nil, "finish_reason": .string(answer.finishReason)]]))
        }
        if includeUsage { chunks.append(chunk([], usage: answer.usage.openAIJSON)) }
        return SimulatedChunkStream(chunks: chunks, paceMs: settings.chunkMs)
    }

    func pause(_ ms: Int) async throws(ProviderError) {
        guard ms > 0 else { return }
        do { try await Task.sleep(for: .milliseconds(ms)) } catch {
            throw ProviderError(.timeout, message: "request cancelled")
        }
    }
}

/// Plays a prepared list of chunks at a fixed pace.
final class SimulatedChunkStream: ChunkStream, @unchecked Sendable {
    // Owned by one relay task, which calls `next()` serially.
    private var chunks: [JSONObject]
    private var index = 0
    private let paceMs: Int

    init(chunks: [JSONObject], paceMs: Int) {
        self.chunks = chunks
        self.paceMs = paceMs
    }

    func next() async throws(ProviderError) -> StreamChunk? {
        guard index < chunks.count else { return nil }
        if index > 0, paceMs > 0 {
            do { try await Task.sleep(for: .milliseconds(paceMs)) } catch {
                throw ProviderError(.connection, message: "stream cancelled")
            }
        }
        defer { index += 1 }
        return StreamChunk(json: chunks[index])
    }
}

extension SimulatedProvider {
    /// Words too common to carry meaning.
    static let stopwords: Set<String> = [
        "a", "an", "the", "i", "my", "me", "you", "your", "we", "our", "it", "is", "are", "was", "be", "do", "does",
        "can", "could", "how", "what", "to", "of", "in", "on", "for", "and", "or", "please", "would", "should", "with",
    ]

    /// The sum of a SHA-256-seeded vector per content word (a plural `s` dropped); the text's own hash when it has none.
    static func bagOfWords(_ text: String, dims: Int) -> [Double] {
        var words = text.lowercased().split { !($0.isLetter || $0.isNumber) }.map(String.init).filter { !stopwords.contains($0) }
        words = words.map { $0.count > 3 && $0.hasSuffix("s") ? String($0.dropLast()) : $0 }
        if words.isEmpty { words = [text] }
        var sum = [Double](repeating: 0, count: dims)
        for w in words {
            var seed = Array(Hashing.sha256Hex(w).utf8)
            var i = 0
            while i < dims {
                for b in seed where i < dims {
                    // A hex digit 0…15, centred: zero-mean, so unrelated words are near-orthogonal.
                    let digit = b < 58 ? Int(b) - 48 : Int(b) - 87
                    sum[i] += (Double(digit) - 7.5) / 7.5
                    i += 1
                }
                seed = Array(Hashing.sha256Hex(seed).utf8)
            }
        }
        return sum
    }
}
