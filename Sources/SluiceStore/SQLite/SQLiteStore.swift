import Foundation
import GRDB
import GRDBSQLite
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import SluiceCore

/// The embedded default backend: one SQLite file in WAL mode. Writes come in
/// batches from ``CallLogWriter`` (one transaction per batch, one reused statement).
public final class SQLiteStore: SluiceStore {
    let pool: DatabasePool
    /// The database file.
    public let path: String
    /// `sqlite`.
    public var backend: String { "sqlite" }
    /// In-process change notification (one node).
    public let changes: any ChangeFeed = LocalChangeFeed()
    /// Seals stored request and response bodies (`storage.encryption_key`); `nil` stores them as plaintext.
    public let cipher: BodyCipher?

    /// Opens (creating if needed) the database at `path`; with a `cipher`, call bodies are stored encrypted.
    public init(path: String, cipher: BodyCipher? = nil) throws {
        self.path = path
        self.cipher = cipher
        var config = Configuration()
        // Set when the connection opens, before any statement: processes opening one new file
        // together (nodes, `sluice migrate`) wait for each other instead of failing with SQLITE_BUSY.
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        pool = try DatabasePool(path: path, configuration: config)
    }

    /// Applies pending schema migrations.
    /// Processes opening one file together serialise on a lock file, so each migration runs once.
    public func migrate() async throws {
        let lockPath = path + ".migrate-lock"
        let fd = open(lockPath, O_CREAT | O_RDWR, 0o644)
        guard fd >= 0 else { throw StorageURLError(message: "cannot open \(lockPath): errno \(errno)") }
        defer { closeDescriptor(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw StorageURLError(message: "cannot lock \(lockPath): errno \(errno)") }
        }
        defer { flock(fd, LOCK_UN) }
        try SQLiteMigrations.migrator.migrate(pool)
    }

    /// Runs `SELECT 1` to prove the database answers.
    public func ping() async throws {
        _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    /// Closes the connection pool.
    public func close() async throws {
        (changes as? LocalChangeFeed)?.broadcaster.finish()
        try pool.close()
    }

    static let insertSQL =
        "INSERT OR REPLACE INTO calls (\(CallColumns.names.joined(separator: ", "))) VALUES ("
        + Array(repeating: "?", count: CallColumns.names.count).joined(separator: ", ") + ")"
    static let selectSQL = "SELECT \(CallColumns.names.joined(separator: ", ")) FROM calls"

    /// Writes the records in one transaction with reused statements; an existing call id is replaced.
    /// Each record's ledger entry is written (or, when it no longer gets one, deleted) and its hour's
    /// rollup updated (a replaced call's old contribution taken away) in the same transaction.
    public func insert(_ records: [CallRecord]) async throws {
        guard !records.isEmpty else { return }
        // Seal before taking the write lock, so encryption never holds up other writers.
        let cipher = self.cipher
        let rows = records.map {
            (cells: $0.cells(sealedBy: cipher), ledger: $0.ledgerCells, id: $0.callID, facts: RollupFacts($0))
        }
        try await pool.write { db in
            // Bind through the C API: reused statements, no per-row argument arrays.
            let fresh = try db.cachedStatement(sql: Self.insertNewSQL).sqliteStatement
            let call = try db.cachedStatement(sql: Self.insertSQL).sqliteStatement
            let entry = try db.cachedStatement(sql: Self.ledgerUpsertSQL).sqliteStatement
            let noEntry = try db.cachedStatement(sql: Self.ledgerDeleteSQL).sqliteStatement
            defer { for s in [fresh, call, entry, noEntry] { sqlite3_reset(s) } }
            var rollups = RollupDeltas()
            for r in rows {
                try Self.step(fresh, r.cells, db)
                if db.changesCount == 0 {  // the id exists: replace it, and its rollup contribution
                    if let old = try Self.storedFacts(r.id, db) { rollups.remove(old) }
                    try Self.step(call, r.cells, db)
                }
                rollups.add(r.facts)
                if let cells = r.ledger {
                    try Self.step(entry, cells, db)
                } else {
                    try Self.step(noEntry, [.text(r.id)], db)
                }
            }
            try Self.applyRollups(rollups, db)
        }
    }

    /// Runs a reused statement once with `cells` bound in order.
    static func step(_ stmt: OpaquePointer, _ cells: [Cell], _ db: Database) throws {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
        for (i, cell) in cells.enumerated() { cell.bind(to: stmt, at: Int32(i + 1)) }
        let rc = sqlite3_step(stmt)
        guard rc == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }

    /// Calls matching `filter`, newest first; `limit` is clamped to 1…1000.
    public func list(_ filter: CallFilter) async throws -> [CallRecord] {
        var clauses: [String] = []
        var args: [DatabaseValue] = []
        func add(_ sql: String, _ value: DatabaseValue) {
            clauses.append(sql)
            args.append(value)
        }
        if let v = filter.purpose { add("purpose = ?", v.databaseValue) }
        if let v = filter.model { add("model = ?", v.databaseValue) }
        if let v = filter.status { add("status = ?", v.databaseValue) }
        if let v = filter.runID { add("run_id = ?", v.databaseValue) }
        if let v = filter.variant { add("variant = ?", v.databaseValue) }
        if let v = filter.since {
            let ms = (v.timeIntervalSince1970 * 1000).rounded(.down)
            add("created_at_ms >= ?", Int64(exactly: ms.isFinite ? max(-1e17, min(1e17, ms)) : 0)!.databaseValue)
        }
        if let v = filter.before { add("call_id < ?", v.databaseValue) }
        var sql = Self.selectSQL
        if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
        sql += " ORDER BY call_id DESC LIMIT ?"
        args.append(max(1, min(filter.limit, 1000)).databaseValue)
        let finalSQL = sql
        let finalArgs = args
        let cipher = self.cipher
        return try await pool.read { db in
            try Row.fetchAll(db, sql: finalSQL, arguments: StatementArguments(finalArgs)).map { Self.record($0, cipher: cipher) }
        }
    }

    /// The call with this id, or `nil`.
    public func get(_ callID: String) async throws -> CallRecord? {
        let cipher = self.cipher
        return try await pool.read { db in
            try Row.fetchOne(db, sql: Self.selectSQL + " WHERE call_id = ?", arguments: [callID]).map { Self.record($0, cipher: cipher) }
        }
    }

    /// The number of stored calls.
    public func count() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM calls") ?? 0 }
    }

    /// Inserts the keys, replacing any row with the same name or hash.
    public func upsertKeys(_ keys: [StoredKey]) async throws {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        try await pool.write { db in
            // INSERT OR REPLACE removes a row that conflicts on the name or on the hash,
            // so renamed or swapped keys never block start-up.
            for k in keys {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO api_keys (name, key_hash, purposes, created_at_ms) VALUES (?, ?, ?, ?)",
                    arguments: [k.name, k.keyHash, JSON.array(k.purposes.map(JSON.string)).jsonString, now])
            }
        }
    }

    /// Every stored key, ordered by name.
    public func listKeys() async throws -> [StoredKey] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT name, key_hash, purposes FROM api_keys ORDER BY name").map { row in
                let purposes = (try? JSON.parse(row[2] as String))?.arrayValue?.compactMap(\.stringValue) ?? []
                return StoredKey(name: row[0], keyHash: row[1], purposes: purposes)
            }
        }
    }

    static func record(_ row: Row, cipher: BodyCipher?) -> CallRecord {
        CallRecord(cells: cells(row, count: CallColumns.names.count), cipher: cipher)
    }

    /// The first `count` columns of `row` as cells.
    static func cells(_ row: Row, count: Int) -> [Cell] {
        var cells: [Cell] = []
        cells.reserveCapacity(count)
        for i in 0..<count {
            switch row[i] as DatabaseValue {
            case let v where v.isNull: cells.append(.null)
            case let v:
                switch v.storage {
                case .int64(let x): cells.append(.int(x))
                case .double(let x): cells.append(.double(x))
                case .string(let x): cells.append(.text(x))
                default: cells.append(.null)
                }
            }
        }
        return cells
    }
}

private let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

extension Cell {
    /// The value as GRDB binds it.
    var databaseValue: DatabaseValue {
        switch self {
        case .null: return .null
        case .int(let v): return v.databaseValue
        case .double(let v): return v.databaseValue
        case .text(let v): return v.databaseValue
        }
    }

    func bind(to stmt: OpaquePointer, at index: Int32) {
        switch self {
        case .null: sqlite3_bind_null(stmt, index)
        case .int(let v): sqlite3_bind_int64(stmt, index, v)
        case .double(let v): sqlite3_bind_double(stmt, index, v)
        case .text(let v):
            var s = v
            s.withUTF8 { buf in
                if let base = buf.baseAddress {
                    _ = sqlite3_bind_text(stmt, index, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self), Int32(buf.count), transient)
                } else {
                    _ = sqlite3_bind_text(stmt, index, "", 0, transient)
                }
            }
        }
    }
}

/// `close(2)`; the store's own `close()` hides the unqualified name.
private func closeDescriptor(_ fd: Int32) {
    #if canImport(Glibc)
    _ = Glibc.close(fd)
    #elseif canImport(Musl)
    _ = Musl.close(fd)
    #elseif canImport(Darwin)
    _ = Darwin.close(fd)
    #endif
}
