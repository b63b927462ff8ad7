/// Token counts of one call, as the provider reported them.
public struct Usage: Sendable, Equatable, Codable {
    /// Prompt tokens, cached ones included.
    public var inputTokens: Int
    /// Completion tokens.
    public var outputTokens: Int
    /// Prompt tokens served from the provider's prompt cache.
    public var cachedTokens: Int
    /// Prompt tokens written to the provider's prompt cache (Anthropic).
    public var cacheWriteTokens: Int

    /// Token counts; each defaults to 0.
    public init(inputTokens: Int = 0, outputTokens: Int = 0, cachedTokens: Int = 0, cacheWriteTokens: Int = 0) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cachedTokens = cachedTokens
        self.cacheWriteTokens = cacheWriteTokens
    }

    /// Reads an OpenAI `usage` object (`prompt_tokens`, `completion_tokens`,
    /// `prompt_tokens_details.cached_tokens`).
    public init?(openAI json: JSON?) {
        guard let obj = json?.objectValue else { return nil }
        self.init(
            inputTokens: obj["prompt_tokens"]?.intValue ?? 0,
            outputTokens: obj["completion_tokens"]?.intValue ?? 0,
            cachedTokens: obj["prompt_tokens_details"]?["cached_tokens"]?.intValue ?? 0
        )
    }

    /// An estimate at about four characters a token, for an upstream that reported no usage.
    public static func estimate(messages: [JSON], output: String) -> Usage {
        var input = 3
        for m in messages { input += 4 + (ChatText.content(m["content"]).utf8.count + 3) / 4 }
        return Usage(inputTokens: input, outputTokens: (output.utf8.count + 3) / 4)
    }

    /// The OpenAI `usage` object.
    public var openAIJSON: JSON {
        [
            "prompt_tokens": .int(inputTokens),
            "completion_tokens": .int(outputTokens),
            "total_tokens": .int(inputTokens + outputTokens),
            "prompt_tokens_details": ["cached_tokens": .int(cachedTokens)],
        ]
    }
}

extension Usage {
    /// The counts of two calls added together.
    public static func + (a: Usage, b: Usage) -> Usage {
        Usage(
            inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens,
            cachedTokens: a.cachedTokens + b.cachedTokens, cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens)
    }
}
