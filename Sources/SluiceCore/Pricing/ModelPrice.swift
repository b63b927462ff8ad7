/// Prices of one model in USD per million tokens.
public struct ModelPrice: Sendable, Equatable, Codable {
    /// Uncached input tokens.
    public var input: Double
    /// Output tokens.
    public var output: Double
    /// Input tokens read from the provider's prompt cache; the input price when absent.
    public var cachedInput: Double?
    /// Input tokens written to the provider's prompt cache; the input price when absent.
    public var cacheWrite: Double?
    /// Uncached input tokens sent through the provider's batch API; half of `input` when absent.
    public var batchInput: Double?
    /// Output tokens answered through the provider's batch API; half of `output` when absent.
    public var batchOutput: Double?

    /// The share of the standard price a batch costs when `batch_input`/`batch_output` are not set
    /// (OpenAI Batch and Anthropic Message Batches both take 50 % off).
    public static let defaultBatchDiscount = 0.5

    /// Prices in USD per million tokens; a `nil` cache price falls back to `input`, a `nil` batch price to half the standard one.
    public init(
        input: Double, output: Double, cachedInput: Double? = nil, cacheWrite: Double? = nil, batchInput: Double? = nil,
        batchOutput: Double? = nil
    ) {
        self.input = input
        self.output = output
        self.cachedInput = cachedInput
        self.cacheWrite = cacheWrite
        self.batchInput = batchInput
        self.batchOutput = batchOutput
    }

    /// The prices of a call made through the provider's batch API: `batch_input` and `batch_output`
    /// (half the standard prices by default); cached and cache-write input keep their ratio to `input`.
    public var batch: ModelPrice {
        let inputPrice = batchInput ?? input * Self.defaultBatchDiscount
        let ratio = input > 0 ? inputPrice / input : Self.defaultBatchDiscount
        return ModelPrice(
            input: inputPrice, output: batchOutput ?? output * Self.defaultBatchDiscount,
            cachedInput: cachedInput.map { $0 * ratio }, cacheWrite: cacheWrite.map { $0 * ratio })
    }

    /// The cost in USD of `usage`, at batch prices when `batch` (see ``batch``).
    public func cost(of usage: Usage, batch: Bool) -> Double {
        batch ? self.batch.cost(of: usage) : cost(of: usage)
    }

    /// The cost in USD of `usage` at these prices. `usage.inputTokens` counts every
    /// prompt token, cached and cache-written ones included.
    public func cost(of usage: Usage) -> Double {
        let cached = max(0, usage.cachedTokens)
        let written = max(0, usage.cacheWriteTokens)
        let plain = max(0, usage.inputTokens - cached - written)
        let micro = Double(plain) * input
            + Double(cached) * (cachedInput ?? input)
            + Double(written) * (cacheWrite ?? input)
            + Double(usage.outputTokens) * output
        return micro / 1_000_000
    }

    /// What the provider's prompt cache saved on `usage`: the cached tokens at the
    /// input price minus their cached price. Cache writes are a cost, never a saving.
    public func savings(of usage: Usage) -> Double {
        let cached = max(0, usage.cachedTokens)
        return max(0, Double(cached) * (input - (cachedInput ?? input))) / 1_000_000
    }
}

/// Looks up a model's price: `pricing:` overrides first, then the built-in table.
/// A model found in neither is unpriced, and its cost is recorded as `null`.
public struct PriceTable: Sendable {
    /// The date the built-in prices were last checked against the providers' pages.
    public static let builtInDate = "2025-10-01"

    private let overrides: [String: ModelPrice]
    private let builtIn: [String: ModelPrice]

    /// The built-in table plus `overrides` (overrides win).
    public init(overrides: [String: ModelPrice] = [:], includeBuiltIn: Bool = true) {
        self.overrides = overrides
        self.builtIn = includeBuiltIn ? BuiltInPrices.table : [:]
    }

    /// The price for a model id, overrides first.
    public func price(for model: String) -> ModelPrice? {
        Self.lookup(model, in: overrides) ?? Self.lookup(model, in: builtIn)
    }

    /// The price of a call: an override for the target's model id, then one for
    /// the answered (pinned) model; then the built-in price of the answered model
    /// (pinned versions can differ from their family), then of the target's id.
    /// The client-facing alias is never priced: it may route anywhere.
    public func price(target: String, answered: String?) -> ModelPrice? {
        if let p = Self.lookup(target, in: overrides) { return p }
        if let answered, let p = Self.lookup(answered, in: overrides) { return p }
        if let answered, let p = Self.lookup(answered, in: builtIn) { return p }
        return Self.lookup(target, in: builtIn)
    }

    /// An exact match, then the id without its date suffix (`-2024-07-18`,
    /// `-20241022`), then without a Vertex AI version (`claude-3-5-haiku@20241022`), then without
    /// a Bedrock cross-region inference prefix (`us.`, `eu.`…), then without a `provider/` prefix.
    static func lookup(_ model: String, in table: [String: ModelPrice]) -> ModelPrice? {
        if table.isEmpty { return nil }
        if let p = table[model] { return p }
        if let at = model.lastIndex(of: "@"), let p = lookup(String(model[..<at]), in: table) { return p }
        let undated = stripDateSuffix(model)
        if undated != model, let p = table[undated] { return p }
        if let dot = model.firstIndex(of: "."), bedrockGeoPrefixes.contains(String(model[..<dot])) {
            let rest = String(model[model.index(after: dot)...])
            if rest.contains("."), let p = table[rest] { return p }
        }
        if let slash = model.lastIndex(of: "/") {
            return lookup(String(model[model.index(after: slash)...]), in: table)
        }
        return nil
    }

    /// The geography prefixes of Bedrock's cross-region inference profile ids (`us.amazon.nova-pro-v1:0`).
    static let bedrockGeoPrefixes: Set<String> = ["us", "eu", "apac", "global", "us-gov", "jp", "au", "ca"]

    static func stripDateSuffix(_ model: String) -> String {
        let u = Array(model.utf8)
        func digits(_ r: Range<Int>) -> Bool { r.allSatisfy { u[$0] >= 0x30 && u[$0] <= 0x39 } }
        // -YYYY-MM-DD
        if u.count > 11, u[u.count - 11] == 0x2D, u[u.count - 6] == 0x2D, u[u.count - 3] == 0x2D,
            digits(u.count - 10..<u.count - 6), digits(u.count - 5..<u.count - 3), digits(u.count - 2..<u.count)
        {
            return String(decoding: u[0..<(u.count - 11)], as: UTF8.self)
        }
        // -YYYYMMDD
        if u.count > 9, u[u.count - 9] == 0x2D, digits(u.count - 8..<u.count) {
            return String(decoding: u[0..<(u.count - 9)], as: UTF8.self)
        }
        return model
    }
}
