import Foundation
import SluiceCore
import SluiceEngine
import SluiceProviders

/// The key pools' part of `GET /admin/breakers`: each pooled provider with its keys' states,
/// by key name (the secrets are never shown).
extension AdminControlRoutes {
    /// `[{provider, keys: [{name, weight, available, remaining_requests, remaining_tokens,
    /// requests_reset_at, tokens_reset_at, cooldown_until, available_at, calls, rate_limited}]}]`.
    static func keyPools(_ pools: [SharedKeyPool]) -> JSON {
        .array(
            pools.map { pool in
                let now = pool.now
                let keys: [JSON] = pool.snapshot().map { k in
                    let blocked = k.blockedUntil(now: now)
                    return [
                        "name": .string(k.name), "weight": .double(k.weight), "available": .bool(blocked == nil),
                        "remaining_requests": k.remainingRequests.map(JSON.int) ?? .null,
                        "remaining_tokens": k.remainingTokens.map(JSON.int) ?? .null,
                        "requests_reset_at": time(k.requestsReset), "tokens_reset_at": time(k.tokensReset),
                        "cooldown_until": time(k.cooldownUntil), "available_at": time(blocked),
                        "calls": .int(k.calls), "rate_limited": .int(k.rateLimited),
                    ]
                }
                return ["provider": .string(pool.provider), "keys": .array(keys)]
            })
    }

    static func time(_ d: Date?) -> JSON { d.map { .string(Timestamp.iso8601($0)) } ?? .null }
}
