import CSluiceRuntime
import ServiceLifecycle

/// Hands memory freed after a burst back to the system. glibc keeps freed heap pages mapped
/// for reuse, so after 2,000 open streams ended a gateway stayed near its peak RSS for good
/// (bench/run.sh's `streams` point); `malloc_trim` every `interval` returns what is free.
/// A trim with little free memory costs microseconds. Elsewhere than glibc it does nothing.
public struct MemoryTrimmer: Service {
    /// How often free memory is returned.
    public let interval: Duration

    /// A trimmer running every `interval`.
    public init(interval: Duration = .seconds(10)) {
        self.interval = interval
    }

    /// Trims until shutdown.
    public func run() async throws {
        let interval = self.interval
        while true {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return  // shutdown or cancellation
            }
            Self.trim()
        }
    }

    /// Returns the heap's free pages to the system now.
    public static func trim() {
        _ = csluice_malloc_trim()
    }
}
