import Synchronization

/// A store operation that did not answer in time (the database is unreachable or stuck).
public struct StoreTimeout: Error, Sendable, CustomStringConvertible {
    /// What was being done.
    public var operation: String
    /// The limit that passed.
    public var limit: Duration
    /// A sentence naming the operation and the limit.
    public var description: String { "\(operation) did not answer within \(limit)" }
}

/// Runs `operation` and gives up after `limit`, even when the operation itself
/// cannot be interrupted (a query on a connection whose peer vanished): the
/// caller gets ``StoreTimeout`` and the operation is cancelled and left to end.
public func withStoreTimeout<T: Sendable>(
    _ limit: Duration, _ operation: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let slot = ResumeOnce<T>()
    return try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, any Error>) in
        slot.set(cont)
        let work = Task {
            do { slot.resume(with: .success(try await body())) } catch { slot.resume(with: .failure(error)) }
        }
        let timer = Task {
            try? await Task.sleep(for: limit)
            guard !Task.isCancelled else { return }
            if slot.resume(with: .failure(StoreTimeout(operation: operation, limit: limit))) { work.cancel() }
        }
        slot.onResume { timer.cancel() }
    }
}

/// A continuation resumed exactly once, by whichever side finishes first.
private final class ResumeOnce<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var done = false
        var onResume: (@Sendable () -> Void)?
    }
    private let state = Mutex(State())

    func set(_ c: CheckedContinuation<T, any Error>) { state.withLock { $0.continuation = c } }

    func onResume(_ f: @escaping @Sendable () -> Void) {
        let now = state.withLock { s -> Bool in
            if s.done { return true }
            s.onResume = f
            return false
        }
        if now { f() }
    }

    @discardableResult
    func resume(with result: Result<T, any Error>) -> Bool {
        let (c, hook) = state.withLock { s -> (CheckedContinuation<T, any Error>?, (@Sendable () -> Void)?) in
            guard !s.done else { return (nil, nil) }
            s.done = true
            defer { s.continuation = nil; s.onResume = nil }
            return (s.continuation, s.onResume)
        }
        guard let c else { return false }
        c.resume(with: result)
        hook?()
        return true
    }
}
