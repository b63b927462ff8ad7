import Foundation
import Logging
import ServiceLifecycle
import SluiceCore
import SluiceStore
import SluiceTesting
import Synchronization
import Testing

func tempPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-tests-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

func record(_ i: Int, purpose: String = "p", status: CallRecord.Status = .ok, at: Date = Date()) -> CallRecord {
    sampleRecord(i, purpose: purpose, status: status, at: at)
}

/// A store that fails its first `failures` inserts and can be slowed down.
final class FlakyStore: CallStore {
    let inner: SQLiteStore
    let failuresLeft: Mutex<Int>
    let delayMs: Int

    init(inner: SQLiteStore, failures: Int, delayMs: Int = 0) {
        self.inner = inner
        self.failuresLeft = Mutex(failures)
        self.delayMs = delayMs
    }

    struct Down: Error {}

    func insert(_ records: [CallRecord]) async throws {
        if delayMs > 0 { try await Task.sleep(for: .milliseconds(delayMs)) }
        let fail = failuresLeft.withLock { n -> Bool in
            if n > 0 { n -= 1; return true }
            return false
        }
        if fail { throw Down() }
        try await inner.insert(records)
    }
    func list(_ filter: CallFilter) async throws -> [CallRecord] { try await inner.list(filter) }
    func get(_ callID: String) async throws -> CallRecord? { try await inner.get(callID) }
    func count() async throws -> Int { try await inner.count() }
}

@Suite struct CallLogWriterTests {
    func quietLogger() -> Logger {
        var l = Logger(label: "test")
        l.logLevel = .critical
        return l
    }

    @Test func failingStoreLosesNothingAndFullQueuePushesBack() async throws {
        let sqlite = try SQLiteStore(path: tempPath("w.db"))
        try await sqlite.migrate()
        let flaky = FlakyStore(inner: sqlite, failures: 3, delayMs: 5)
        let writer = CallLogWriter(store: flaky, capacity: 8, batchSize: 4, logger: quietLogger())
        let group = ServiceGroup(configuration: .init(services: [writer], gracefulShutdownSignals: [], logger: quietLogger()))
        let runner = Task { try await group.run() }
        await withTaskGroup(of: Void.self) { tasks in
            for i in 0..<200 {
                tasks.addTask { await writer.append(record(i)) }
            }
        }
        await writer.flush()
        #expect(try await sqlite.count() == 200)
        await group.triggerGracefulShutdown()
        try await runner.value
    }

    @Test func gracefulShutdownDrainsTheQueue() async throws {
        let sqlite = try SQLiteStore(path: tempPath("d.db"))
        try await sqlite.migrate()
        let slow = FlakyStore(inner: sqlite, failures: 0, delayMs: 20)
        let writer = CallLogWriter(store: slow, capacity: 1000, batchSize: 10, logger: quietLogger())
        let group = ServiceGroup(configuration: .init(services: [writer], gracefulShutdownSignals: [], logger: quietLogger()))
        let runner = Task { try await group.run() }
        for i in 0..<100 { await writer.append(record(i)) }
        #expect(writer.pending > 0)
        await group.triggerGracefulShutdown()
        try await runner.value
        #expect(try await sqlite.count() == 100)
    }

    @Test func appendWaitsWhileTheQueueIsFull() async throws {
        let sqlite = try SQLiteStore(path: tempPath("b.db"))
        try await sqlite.migrate()
        // The store is down for a while: nothing can be written, so the 3rd append must wait.
        let flaky = FlakyStore(inner: sqlite, failures: 4, delayMs: 0)
        let writer = CallLogWriter(store: flaky, capacity: 2, batchSize: 2, logger: quietLogger())
        await writer.append(record(1))
        await writer.append(record(2))
        let done = Mutex(false)
        let third = Task {
            await writer.append(record(3))
            done.withLock { $0 = true }
            return true
        }
        try await Task.sleep(for: .milliseconds(50))
        #expect(writer.pending == 3)
        #expect(done.withLock { $0 } == false)
        let group = ServiceGroup(configuration: .init(services: [writer], gracefulShutdownSignals: [], logger: quietLogger()))
        let runner = Task { try await group.run() }
        #expect(await third.value)
        await writer.flush()
        #expect(try await sqlite.count() == 3)
        await group.triggerGracefulShutdown()
        try await runner.value
    }
}

@Suite struct WriterCancellationTests {
    /// A cancelled service group (not a graceful shutdown) still writes every queued record.
    @Test func cancellationStillDrains() async throws {
        let sqlite = try SQLiteStore(path: tempPath("c.db"))
        try await sqlite.migrate()
        let slow = FlakyStore(inner: sqlite, failures: 0, delayMs: 10)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let writer = CallLogWriter(store: slow, capacity: 1000, batchSize: 10, logger: logger)
        let runner = Task { try await writer.run() }
        for i in 0..<60 { await writer.append(record(i)) }
        runner.cancel()
        try await runner.value
        #expect(try await sqlite.count() == 60)
        // After the writer stopped, a late record is still written.
        await writer.append(record(99))
        #expect(try await sqlite.count() == 61)
    }
}
