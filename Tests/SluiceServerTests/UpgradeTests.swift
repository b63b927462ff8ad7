import Foundation
@testable import SluiceStore
import SluiceTesting
import Testing

/// The rolling-upgrade promise of docs/deploy.md: a node of the previous release keeps
/// working on a schema the new release migrated, because migrations only add (tables,
/// indexes, nullable columns or columns with a default) and never drop, rename or retype
/// what an older node reads or writes. A migration that breaks the rule must be listed
/// here with its reason, and its release notes must say that the nodes stop together.
@Suite struct UpgradeTests {
    /// Migrations that removed something, each with the reason a running older node never noticed.
    static let notAdditive: [String: String] = [
        "014_drop_work_queue": "work_queue was never read or written by any release (tasks have their own table)",
    ]

    @Test func postgresMigrationsOnlyAdd() {
        for migration in PostgresMigrations.all where Self.notAdditive[migration.id] == nil {
            for statement in migration.statements {
                let sql = statement.uppercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
                for word in ["DROP ", "RENAME ", "ALTER COLUMN", "TRUNCATE ", "DELETE FROM "] {
                    #expect(!sql.contains(word), "\(migration.id) removes or changes what older nodes use (\(word)): \(statement)")
                }
                if sql.contains("ADD COLUMN"), sql.contains("NOT NULL") {
                    #expect(sql.contains("DEFAULT"), "\(migration.id) adds a NOT NULL column without a default: older nodes' inserts would fail")
                }
            }
        }
    }

    /// An older node migrates first at start: with every migration it knows already applied it
    /// must do nothing (no lock, no DDL), whatever newer migrations the schema also has.
    @Test(.enabled(if: StoreBackend.postgresURL != nil)) func anOlderNodeStartsOnANewerSchema() async throws {
        try await StoreFixture.with(.postgres) { fixture in
            let new = try await fixture.open()
            let previous = try #require(PostgresMigrations.all.dropLast().last?.id)
            let older = try await fixture.open()
            let store = try #require(older as? PostgresStore)
            try await PostgresMigrations.run(on: store, through: previous)
            try await older.ping()
            try await older.close()
            try await new.close()
        }
    }
}
