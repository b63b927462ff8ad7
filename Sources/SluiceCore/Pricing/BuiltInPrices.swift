/// The built-in price table, USD per million tokens, as published by the
/// providers on ``PriceTable/builtInDate``. Dated ids fall back to their
/// undated family name; list a dated id only where its price differs.
enum BuiltInPrices {
    static let table: [String: ModelPrice] = [
        // OpenAI
        "gpt-5": .init(input: 1.25, output: 10.00, cachedInput: 0.125),
        "gpt-5-mini": .init(input: 0.25, output: 2.00, cachedInput: 0.025),
        "gpt-5-nano": .init(input: 0.05, output: 0.40, cachedInput: 0.005),
        "gpt-4.1": .init(input: 2.00, output: 8.00, cachedInput: 0.50),
        "gpt-4.1-mini": .init(input: 0.40, output: 1.60, cachedInput: 0.10),
        "gpt-4.1-nano": .init(input: 0.10, output: 0.40, cachedInput: 0.025),
        "gpt-4o": .init(input: 2.50, output: 10.00, cachedInput: 1.25),
        "gpt-4o-2024-05-13": .init(input: 5.00, output: 15.00),
        "gpt-4o-mini": .init(input: 0.15, output: 0.60, cachedInput: 0.075),
        "o1": .init(input: 15.00, output: 60.00, cachedInput: 7.50),
        "o1-mini": .init(input: 1.10, output: 4.40, cachedInput: 0.55),
        "o3": .init(input: 2.00, output: 8.00, cachedInput: 0.50),
        "o3-mini": .init(input: 1.10, output: 4.40, cachedInput: 0.55),
        "o4-mini": .init(input: 1.10, output: 4.40, cachedInput: 0.275),
        "gpt-4-turbo": .init(input: 10.00, output: 30.00),
        "gpt-3.5-turbo": .init(input: 0.50, output: 1.50),
        "text-embedding-3-small": .init(input: 0.02, output: 0),
        "text-embedding-3-large": .init(input: 0.13, output: 0),
        "text-embedding-ada-002": .init(input: 0.10, output: 0),
        // Anthropic (cache write: 5-minute TTL)
        "claude-opus-4-1": .init(input: 15.00, output: 75.00, cachedInput: 1.50, cacheWrite: 18.75),
        "claude-opus-4": .init(input: 15.00, output: 75.00, cachedInput: 1.50, cacheWrite: 18.75),
        "claude-sonnet-4-5": .init(input: 3.00, output: 15.00, cachedInput: 0.30, cacheWrite: 3.75),
        "claude-sonnet-4": .init(input: 3.00, output: 15.00, cachedInput: 0.30, cacheWrite: 3.75),
        "claude-3-7-sonnet": .init(input: 3.00, output: 15.00, cachedInput: 0.30, cacheWrite: 3.75),
        "claude-3-5-sonnet": .init(input: 3.00, output: 15.00, cachedInput: 0.30, cacheWrite: 3.75),
        // Vertex AI's name for claude-3-5-sonnet-20241022 (`claude-3-5-sonnet-v2@20241022`; `@…` is stripped).
        "claude-3-5-sonnet-v2": .init(input: 3.00, output: 15.00, cachedInput: 0.30, cacheWrite: 3.75),
        "claude-haiku-4-5": .init(input: 1.00, output: 5.00, cachedInput: 0.10, cacheWrite: 1.25),
        "claude-3-5-haiku": .init(input: 0.80, output: 4.00, cachedInput: 0.08, cacheWrite: 1.00),
        "claude-3-haiku": .init(input: 0.25, output: 1.25, cachedInput: 0.03, cacheWrite: 0.30),
        "claude-3-opus": .init(input: 15.00, output: 75.00, cachedInput: 1.50, cacheWrite: 18.75),
        // Gemini (prompts up to 200k tokens)
        "gemini-2.5-pro": .init(input: 1.25, output: 10.00, cachedInput: 0.31),
        "gemini-2.5-flash": .init(input: 0.30, output: 2.50, cachedInput: 0.075),
        "gemini-2.5-flash-lite": .init(input: 0.10, output: 0.40, cachedInput: 0.025),
        "gemini-2.0-flash": .init(input: 0.10, output: 0.40, cachedInput: 0.025),
        "gemini-2.0-flash-lite": .init(input: 0.075, output: 0.30),
        "gemini-1.5-pro": .init(input: 1.25, output: 5.00),
        "gemini-1.5-flash": .init(input: 0.075, output: 0.30),
        // AWS Bedrock on-demand, US East (N. Virginia), from aws.amazon.com/bedrock/pricing (per 1,000 tokens
        // there, per million here). Claude on Bedrock costs what Anthropic charges directly; prompt-cache
        // prices only for the models Bedrock caches. A cross-region inference profile (`us.`, `eu.`, `apac.`,
        // `global.`…) is priced as its model (PriceTable.lookup strips the prefix): AWS bills it at the
        // source region's price.
        "anthropic.claude-3-5-sonnet-20240620-v1:0": .init(input: 3.00, output: 15.00),
        "anthropic.claude-3-5-sonnet-20241022-v2:0": .init(input: 3.00, output: 15.00, cachedInput: 0.30, cacheWrite: 3.75),
        "anthropic.claude-3-7-sonnet-20250219-v1:0": .init(input: 3.00, output: 15.00, cachedInput: 0.30, cacheWrite: 3.75),
        "anthropic.claude-sonnet-4-20250514-v1:0": .init(input: 3.00, output: 15.00, cachedInput: 0.30, cacheWrite: 3.75),
        "anthropic.claude-opus-4-20250514-v1:0": .init(input: 15.00, output: 75.00, cachedInput: 1.50, cacheWrite: 18.75),
        "anthropic.claude-opus-4-1-20250805-v1:0": .init(input: 15.00, output: 75.00, cachedInput: 1.50, cacheWrite: 18.75),
        "anthropic.claude-3-opus-20240229-v1:0": .init(input: 15.00, output: 75.00),
        "anthropic.claude-3-5-haiku-20241022-v1:0": .init(input: 0.80, output: 4.00, cachedInput: 0.08, cacheWrite: 1.00),
        "anthropic.claude-3-haiku-20240307-v1:0": .init(input: 0.25, output: 1.25),
        "meta.llama3-1-8b-instruct-v1:0": .init(input: 0.22, output: 0.22),
        "meta.llama3-1-70b-instruct-v1:0": .init(input: 0.72, output: 0.72),
        "meta.llama3-1-405b-instruct-v1:0": .init(input: 2.40, output: 2.40),
        // Nova: cache reads at a 75 % discount, cache writes at no extra charge.
        "amazon.nova-micro-v1:0": .init(input: 0.035, output: 0.14, cachedInput: 0.00875, cacheWrite: 0.035),
        "amazon.nova-lite-v1:0": .init(input: 0.06, output: 0.24, cachedInput: 0.015, cacheWrite: 0.06),
        "amazon.nova-pro-v1:0": .init(input: 0.80, output: 3.20, cachedInput: 0.20, cacheWrite: 0.80),
        // The built-in simulated provider, priced like small and large real models.
        "sim-small": .init(input: 0.15, output: 0.60, cachedInput: 0.075),
        "sim-large": .init(input: 2.50, output: 10.00, cachedInput: 1.25),
    ]
}
