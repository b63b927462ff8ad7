import SluiceCore
import SluiceProviders

/// The provider keys an attempt used (`api_keys:` pools), carried from the provider layer
/// to the call record through ``KeyUseLog/current``.
extension AttemptRunner {
    /// `attempt` run with `log` as the task's ``KeyUseLog/current``, so the provider notes each request's key in it.
    static func noting<T: Sendable>(
        _ log: KeyUseLog, _ attempt: @escaping @Sendable (ResolvedTarget) async throws(ProviderError) -> T
    ) -> @Sendable (ResolvedTarget) async throws(ProviderError) -> T {
        { target async throws(ProviderError) -> T in
            let result = await KeyUseLog.$current.withValue(log) { () async -> Result<T, ProviderError> in
                do throws(ProviderError) { return .success(try await attempt(target)) } catch { return .failure(error) }
            }
            return try result.get()
        }
    }
}

extension Attempt {
    /// The attempt with the key of its last request and the keys that answered 429 before it.
    func noting(_ log: KeyUseLog) -> Attempt {
        let uses = log.all
        guard let last = uses.last else { return self }
        var out = self
        out.key = last.key
        out.rateLimitedKeys = uses.dropLast().filter { $0.status == 429 }.map(\.key)
        return out
    }
}
