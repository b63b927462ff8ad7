import Foundation
import Logging
import SluiceStore

/// A backend the shared store suite runs against.
public enum StoreBackend: String, Sendable, CaseIterable, CustomStringConvertible {
    /// A SQLite file in a temporary directory.
    case sqlite
    /// A fresh schema in the database of `SLUICE_TEST_POSTGRES_URL`.
    case postgres

    /// SQLite always; PostgreSQL when `SLUICE_TEST_POSTGRES_URL` is set.
    public static var available: [StoreBackend] { postgresURL == nil ? [.sqlite] : [.sqlite, .postgres] }

    /// The PostgreSQL database the tests may use, from `SLUICE_TEST_POSTGRES_URL`.
    public static var postgresURL: String? {
        ProcessInfo.processInfo.environment["SLUICE_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The backend's name.
    public var description: String { rawValue }
}

/// One isolated database for a test: a temporary SQLite file, or a schema of
/// its own in the test PostgreSQL database. ``open()`` gives a new independent
/// client each time, as a second node would have.
public struct StoreFixture: Sendable {
    /// The backend.
    public let backend: StoreBackend
    /// The `storage.url` a gateway config uses to reach this database.
    public let storageURL: String

    /// A new isolated database on `backend`.
    public init(_ backend: StoreBackend) throws {
        self.backend = backend
        let tag = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        switch backend {
        case .sqlite:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-store-\(tag)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            storageURL = "sqlite://" + dir.appendingPathComponent("sluice.db").path
        case .postgres:
            guard let base = StoreBackend.postgresURL else {
                throw StorageURLError(message: "SLUICE_TEST_POSTGRES_URL is not set")
            }
            storageURL = base + (base.contains("?") ? "&" : "?") + "schema=t_\(tag)"
        }
    }

    /// A new client on this database, migrated; with a `cipher`, stored bodies are encrypted.
    public func open(statementTimeout: Duration = .seconds(10), cipher: BodyCipher? = nil) async throws -> any SluiceStore {
        switch StorageURL.parse(storageURL) {
        case .success(.sqlite(let path)):
            let store = try SQLiteStore(path: path, cipher: cipher)
            try await store.migrate()
            return store
        case .success(.postgres(let url)):
            var logger = Logger(label: "test-store")
            logger.logLevel = .error
            let store = PostgresStore(url: url, logger: logger, statementTimeout: statementTimeout, cipher: cipher)
            try await store.migrate()
            return store
        case .failure(let e):
            throw e
        }
    }

    /// Removes the database (drops the schema, or deletes the file).
    public func destroy() async {
        switch StorageURL.parse(storageURL) {
        case .success(.sqlite(let path)):
            try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent)
        case .success(.postgres(let url)):
            let store = PostgresStore(url: url, logger: Logger(label: "test-store"))
            try? await store.dropSchema()
            try? await store.close()
        case .failure:
            break
        }
    }

    /// Runs `body` with a fresh database, destroyed afterwards.
    public static func with<T>(
        _ backend: StoreBackend, _ body: (StoreFixture) async throws -> T
    ) async throws -> T {
        let fixture = try StoreFixture(backend)
        do {
            let result = try await body(fixture)
            await fixture.destroy()
            return result
        } catch {
            await fixture.destroy()
            throw error
        }
    }
}
