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

    public init(input: Double, output: Double, cachedInput: Double? = nil, cacheWrite: Double? = nil) {
        self.input = input
        self.output = output
        self.cachedInput = cachedInput
        self.cacheWrite = cacheWrite
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
}

/// Looks up a model's price: `pricing:` overrides first, then the built-in table.
/// A model found in neither is unpriced, and its cost is recorded as `null`.
public struct PriceTable: Sendable {
    /// The date the built-in prices were last checked against the providers' pages.
    public static let builtInDate = "2025-10-01"

    private var prices: [String: ModelPrice]

    /// The built-in table merged with `overrides` (overrides win).
    public init(overrides: [String: ModelPrice] = [:], includeBuiltIn: Bool = true) {
        prices = includeBuiltIn ? BuiltInPrices.table : [:]
        for (k, v) in overrides { prices[k] = v }
    }

    /// The price for a model id: an exact match first, then the id with its date
    /// suffix (`-2024-07-18`, `-20241022`) removed, then without a `provider/` prefix.
    public func price(for model: String) -> ModelPrice? {
        if let p = prices[model] { return p }
        let undated = Self.stripDateSuffix(model)
        if undated != model, let p = prices[undated] { return p }
        if let slash = model.lastIndex(of: "/") {
            return price(for: String(model[model.index(after: slash)...]))
        }
        return nil
    }

    /// The cost of `usage` on the first of `models` that has a price; `nil` when none has.
    public func cost(of usage: Usage, models: [String]) -> Double? {
        for m in models { if let p = price(for: m) { return p.cost(of: usage) } }
        return nil
    }

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
