import Foundation
import SluiceCore

/// Translates OpenAI `/embeddings` requests to Gemini `batchEmbedContents` and its answers back.
enum GeminiEmbeddings {
    static let known: Set<String> = ["model", "input", "dimensions", "encoding_format", "user", "metadata"]

    /// The `batchEmbedContents` body for an OpenAI embeddings body; token-id inputs cannot be sent.
    static func request(_ body: JSONObject, model: String) throws(ProviderError) -> JSONObject {
        for key in body.keys where !known.contains(key) && body[key]?.isNull == false {
            throw GeminiTranslation.refuse(key, "embedContent has no such parameter")
        }
        let texts = try inputs(body["input"])
        let dims = body["dimensions"]?.intValue
        let requests: [JSON] = texts.map { text in
            var r: JSONObject = ["model": .string("models/" + model), "content": ["parts": [["text": .string(text)]]]]
            if let dims { r["outputDimensionality"] = .int(dims) }
            return .object(r)
        }
        return ["requests": .array(requests)]
    }

    /// The texts of `input`; Gemini embeds text only.
    static func inputs(_ input: JSON?) throws(ProviderError) -> [String] {
        if let s = input?.stringValue { return [s] }
        var out: [String] = []
        for (i, item) in (input?.arrayValue ?? []).enumerated() {
            guard let s = item.stringValue else {
                throw GeminiTranslation.refuse("input[\(i)]", "Gemini embeds text only, not token ids")
            }
            out.append(s)
        }
        if out.isEmpty { throw GeminiTranslation.refuse("input", "Gemini embeds text only, not token ids") }
        return out
    }

    /// The OpenAI embedding list for a `batchEmbedContents` answer. Gemini reports
    /// no token usage for embeddings, so it is estimated at about four characters a token.
    static func list(_ answer: JSONObject, request: JSONObject, model: String) throws(ProviderError) -> (JSONObject, Usage) {
        guard let embeddings = answer["embeddings"]?.arrayValue else {
            throw ProviderError(.invalidResponse, status: 200, message: "upstream answered with a body that is not a Gemini embedding list")
        }
        let base64 = request["encoding_format"]?.stringValue == "base64"
        var data: [JSON] = []
        data.reserveCapacity(embeddings.count)
        for (i, e) in embeddings.enumerated() {
            let values = (e["values"]?.arrayValue ?? []).map { $0.doubleValue ?? 0 }
            data.append(["object": "embedding", "index": .int(i), "embedding": base64 ? .string(EmbeddingEncoding.base64(values)) : .array(values.map(JSON.double))])
        }
        let texts = (try? inputs(request["input"])) ?? []
        let tokens = texts.reduce(0) { $0 + max(1, ($1.utf8.count + 3) / 4) }
        let usage = Usage(inputTokens: tokens)
        let list: JSONObject = [
            "object": "list", "data": .array(data), "model": .string(model),
            "usage": ["prompt_tokens": .int(tokens), "total_tokens": .int(tokens)],
        ]
        return (list, usage)
    }
}
