import ArgumentParser
import Foundation
import SluiceCore
import SluiceStore

/// `sluice dev-seed`: fills the configured store with synthetic calls for benchmarks
/// (see bench/README.md). Hidden from help: it writes fake data into the call log.
struct DevSeed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-seed",
        abstract: "Write synthetic calls into the configured store (for benchmarks; never on a real database).",
        shouldDisplay: false)

    @OptionGroup var options: ConfigOption
    @Option(help: "How many call records to write.") var calls = 1_000_000
    @Option(help: "Spread them over this many days before now.") var days = 30
    @Option(help: "How many purposes (the first is the busiest).") var purposes = 8
    @Option(help: "Records per insert (the call-log writer's batch size).") var batch = 1000
    @Option(help: "Random seed: the same seed writes the same mix of calls (their times follow the clock).") var seed: UInt64 = 1
    @Flag(help: "Write even when the call log already holds calls.") var append = false

    func validate() throws {
        guard calls >= 0 else { throw ValidationError("--calls must be 0 or more") }
        guard (1...3650).contains(days) else { throw ValidationError("--days must be from 1 to 3650") }
        guard (1...1000).contains(purposes) else { throw ValidationError("--purposes must be from 1 to 1000") }
        guard (1...10_000).contains(batch) else { throw ValidationError("--batch must be from 1 to 10000") }
    }

    func run() async throws {
        let config = try loadConfigOrExit(options.config)
        let store = try await openStore(config, logger: .init(label: "sluice"))
        // Never mix fake calls into a real call log by accident.
        let existing = calls > 0 ? try await store.count() : 0
        if existing > 0 && !append {
            try? await store.close()
            throw ValidationError("the configured call log already holds \(existing) calls; dev-seed writes fake ones. Use an empty database, or --append.")
        }
        var generator = SeedCalls(total: calls, days: days, purposes: purposes, now: Date(), seed: seed)
        let started = ContinuousClock.now
        var written = 0
        var nextReport = 100_000
        do {
            while written < calls {
                let records = generator.records(written..<min(written + batch, calls))
                try await store.insert(records)
                written += records.count
                if written >= nextReport {
                    FileHandle.standardError.write(Data("dev-seed: \(written) calls\n".utf8))
                    nextReport += 100_000
                }
            }
        } catch {
            try? await store.close()
            throw error
        }
        let seconds = Double((ContinuousClock.now - started) / .milliseconds(1)) / 1000
        let rate = seconds > 0 ? Double(written) / seconds : 0
        print(String(format: "seeded %d calls over %d days, %d purposes, in %.1f s (%.0f calls/s)", written, days, purposes, seconds, rate))
        let read = try await timeRollups(store)
        try await store.close()
        print(read)
    }

    /// Times the dashboard's read: every purpose's rollups over the seeded days, five times.
    func timeRollups(_ store: any SluiceStore) async throws -> String {
        let to = Date().addingTimeInterval(3600)
        let from = to.addingTimeInterval(-Double(days) * 86_400 - 3600)
        var times: [Double] = []
        var rows = 0
        for _ in 0..<5 {
            let t0 = ContinuousClock.now
            rows = try await store.rollups(from: from, to: to, purpose: nil).count
            times.append(Double((ContinuousClock.now - t0) / .microseconds(1)) / 1000)
        }
        times.sort()
        return String(format: "rollups(from:to:purpose: nil) over %d days: %d rows, median %.1f ms, best %.1f ms", days, rows, times[2], times[0])
    }
}
