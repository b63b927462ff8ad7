extension SharedKeyPool {
    /// Runs `exchange` with a member of the pool that has room (a cloud credential set, whose
    /// answers carry no rate-limit headers): a 429 cools that member down (for its
    /// `Retry-After`) and the exchange runs again at once with another member with room, each
    /// at most once; every use is noted in ``KeyUseLog/current``. `noun` names a member in the
    /// error when none has room (`credentials`).
    func rotating<T>(noun: String, _ exchange: (Choice) async throws(ProviderError) -> (T, status: Int)) async throws(ProviderError) -> T {
        var tried: Set<Int> = []
        var choice: Choice
        switch pick() {
        case .success(let c): choice = c
        case .failure(let exhausted): throw exhausted.providerError
        }
        while true {
            tried.insert(choice.index)
            do {
                let (value, status) = try await exchange(choice)
                answered(choice.index, status: status, reading: RateLimitReading(), retryAfterSeconds: nil)
                KeyUseLog.current?.append(key: choice.name, status: status)
                return value
            } catch var error {
                KeyUseLog.current?.append(key: choice.name, status: error.status)
                guard error.status == 429 else { throw error }
                answered(choice.index, status: 429, reading: RateLimitReading(), retryAfterSeconds: error.retryAfterSeconds)
                switch pick(excluding: tried) {
                case .success(let next): choice = next
                case .failure:
                    let others = waits(excluding: [choice.index])
                    error.message += " (\(noun) '\(choice.name)'"
                    error.message += others.waits.isEmpty ? ")" : "; the others are rate-limited too: \(others.list))"
                    throw error
                }
            }
        }
    }
}
