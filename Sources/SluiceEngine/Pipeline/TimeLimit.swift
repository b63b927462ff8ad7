import SluiceProviders

/// Runs one upstream attempt, giving up at `deadline`: the attempt is
/// cancelled (AsyncHTTPClient closes its connection) and `expired` is thrown.
func withAttemptDeadline<T: Sendable>(
    _ deadline: ContinuousClock.Instant, expired: ProviderError,
    _ body: @escaping @Sendable () async throws(ProviderError) -> T
) async throws(ProviderError) -> T {
    let result = await withTaskGroup(of: Result<T, ProviderError>?.self) { group in
        group.addTask {
            do throws(ProviderError) { return .success(try await body()) } catch { return .failure(error) }
        }
        group.addTask {
            try? await Task.sleep(until: deadline, clock: .continuous)
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
    guard let result else { throw expired }
    return try result.get()
}
