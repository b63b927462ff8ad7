import AsyncHTTPClient
import NIOCore
import SluiceCore

/// Where a provider sends its key: the header and what goes before the secret (`Bearer `).
struct KeyHeader: Sendable {
    var name: String
    var prefix = ""
}

extension UpstreamHTTP {
    /// Sends `call` with a key of `pool` (without a pool: as it is, through ``send(_:clients:loop:timeout:secret:)``).
    ///
    /// The key is one with room, chosen before sending; the answer's rate-limit headers update
    /// its state. A 429 puts the key in cooldown and, when another key of the pool has room,
    /// the request goes again at once with that key: the 429 never reaches the attempt. When
    /// no key has room, nothing is sent and the call gets a 429 naming each key's reset time,
    /// retried and failed over like an upstream's. Every key of the pool is scrubbed from
    /// upstream messages, and each request's key name is noted in ``KeyUseLog/current``.
    static func send(
        _ call: UpstreamCall, pool: SharedKeyPool?, header: KeyHeader, clients: HTTPClients, loop: (any EventLoop)?,
        timeout: TimeAmount, secret: String?
    ) async throws(ProviderError) -> HTTPClientResponse {
        guard let pool else { return try await send(call, clients: clients, loop: loop, timeout: timeout, secret: secret) }
        var tried: Set<Int> = []
        var choice: SharedKeyPool.Choice
        switch pool.pick() {
        case .success(let c): choice = c
        case .failure(let exhausted): throw exhausted.providerError
        }
        while true {
            tried.insert(choice.index)
            var keyed = call
            keyed.headers.replaceOrAdd(name: header.name, value: header.prefix + choice.secret)
            let response: HTTPClientResponse
            do {
                response = try await exchange(keyed, clients: clients, loop: loop, timeout: timeout)
            } catch {
                KeyUseLog.current?.append(key: choice.name, status: nil)
                throw error
            }
            let status = Int(response.status.code)
            let now = pool.now
            let retryAfter = status == 429 ? response.headers.first(name: "retry-after").flatMap { RetryAfter.seconds($0, now: now) } : nil
            pool.answered(
                choice.index, status: status, reading: RateLimitHeaders.read(response.headers, now: now), retryAfterSeconds: retryAfter)
            KeyUseLog.current?.append(key: choice.name, status: status)
            if (200..<300).contains(status) { return response }
            var error = await failure(of: response, secrets: pool.allSecrets)
            guard status == 429 else { throw error }
            switch pool.pick(excluding: tried) {
            case .success(let next):
                choice = next
            case .failure:
                let others = pool.waits(excluding: [choice.index])
                error.message += " (key '\(choice.name)'"
                error.message += others.waits.isEmpty ? ")" : "; the other keys are rate-limited too: \(others.list))"
                throw error
            }
        }
    }
}
