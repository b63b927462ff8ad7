import Logging
import ServiceLifecycle

/// The writers a gateway used without an HTTP server needs (`sluice eval run`):
/// the span exporter (when tracing), the call log and the cache writer, run in a service group of their own.
/// ``stop()`` shuts them down gracefully, which writes every queued record.
///
/// ```swift
/// let background = GatewayBackground.start(gateway)
/// let runs = await EvalRunner(gateway: gateway).run(plan)
/// await background.stop()   // call rows and ledger entries are written
/// ```
public final class GatewayBackground: Sendable {
    let group: ServiceGroup
    let task: Task<Void, any Error>

    init(group: ServiceGroup, task: Task<Void, any Error>) {
        self.group = group
        self.task = task
    }

    /// Starts the call log and cache writers of `gateway`.
    public static func start(_ gateway: Gateway) -> GatewayBackground {
        let group = ServiceGroup(
            configuration: .init(
                services: (gateway.traces.map { [$0.service] } ?? []) + [gateway.callLog, gateway.cache.writer],
                gracefulShutdownSignals: [], logger: gateway.logger))
        let task = Task { try await group.run() }
        return GatewayBackground(group: group, task: task)
    }

    /// Stops the writers once everything queued is written.
    public func stop() async {
        await group.triggerGracefulShutdown()
        do { try await task.value } catch { Logger(label: "sluice").error("background writers stopped with an error: \(error)") }
    }
}
