import Foundation
import SluiceCore
import SluiceStore
import SluiceTesting
import Testing

func record(_ i: Int, purpose: String = "p", status: CallRecord.Status = .ok, at: Date = Date()) -> CallRecord {
    sampleRecord(i, purpose: purpose, status: status, at: at)
}

/// A time with millisecond precision, as stored.
func storedNow(_ offset: TimeInterval = 0) -> Date {
    Date(timeIntervalSince1970: ((Date().timeIntervalSince1970 + offset) * 1000).rounded(.down) / 1000)
}

/// Opens a client on a fresh database, runs `body`, closes and destroys it.
func withStore(_ backend: StoreBackend, _ body: (StoreFixture, any SluiceStore) async throws -> Void) async throws {
    try await StoreFixture.with(backend) { fixture in
        let store = try await fixture.open()
        do {
            try await body(fixture, store)
            try await store.close()
        } catch {
            try? await store.close()
            throw error
        }
    }
}

@Suite struct BackendAvailabilityTests {
    /// CI must run the shared suite against a real PostgreSQL.
    @Test func postgresIsConfiguredInCI() {
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            #expect(StoreBackend.postgresURL != nil, "CI must set SLUICE_TEST_POSTGRES_URL (.ci/postgres-up)")
        }
    }
}
