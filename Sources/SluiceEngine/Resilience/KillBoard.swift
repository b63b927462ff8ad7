import Foundation
import Logging
import SluiceCore
import SluiceStore
import Synchronization

/// The kill switches in force on this node: a copy of the store's, read on
/// every call without touching the database, and reloaded when any node
/// announces a change (topic `kill`) or the change feed resyncs.
public final class KillBoard: Sendable {
    /// The change-feed topic kill switches are announced on.
    public static let topic = "kill"

    struct Key: Hashable {
        var scope: KillSwitch.Scope
        var name: String
    }

    let store: any ControlStore
    let feed: any ChangeFeed
    let clock: any WallClock
    let logger: Logger
    private let active = Mutex<[Key: KillSwitch]>([:])
    /// How many switches are on; read without the lock on every call.
    private let count = Atomic<Int>(0)
    /// Loads are numbered so an older load finishing late never overwrites a newer one.
    private let generation = Mutex<(started: Int, applied: Int)>((0, 0))

    /// A board over `store`, announcing changes on `feed`.
    public init(store: any ControlStore, feed: any ChangeFeed, clock: any WallClock, logger: Logger) {
        self.store = store
        self.feed = feed
        self.clock = clock
        self.logger = logger
    }

    /// The kill switch naming `name` in `scope`, if it is on.
    public func kill(_ scope: KillSwitch.Scope, _ name: String) -> KillSwitch? {
        active.withLock { $0.isEmpty ? nil : $0[Key(scope: scope, name: name)] }
    }

    /// True when no kill switch is on (the common case, checked without a lock).
    public var isEmpty: Bool { count.load(ordering: .acquiring) == 0 }

    /// Every kill switch on, sorted by scope and name.
    public var all: [KillSwitch] {
        active.withLock { Array($0.values) }.sorted { ($0.scope.rawValue, $0.name) < ($1.scope.rawValue, $1.name) }
    }

    /// Reloads the switches from the store.
    public func reload() async throws {
        let number = generation.withLock { g -> Int in
            g.started += 1
            return g.started
        }
        let kills = try await store.kills()
        generation.withLock { g in
            guard number > g.applied else { return }
            g.applied = number
            let map = Dictionary(kills.map { (Key(scope: $0.scope, name: $0.name), $0) }, uniquingKeysWith: { _, new in new })
            active.withLock { $0 = map }
            count.store(map.count, ordering: .releasing)
        }
    }

    /// Reloads, logging instead of throwing (for change handlers).
    public func reloadLogged() async {
        do { try await reload() } catch {
            logger.error("could not reload kill switches; keeping the ones loaded", metadata: ["error": "\(error)"])
        }
    }

    /// Turns a switch on, audits it, applies it here and announces it to the other nodes.
    @discardableResult
    public func set(_ scope: KillSwitch.Scope, _ name: String, reason: String, actor: String) async throws -> KillSwitch {
        let now = clock.now()
        let kill = KillSwitch(scope: scope, name: name, reason: reason, actor: actor, createdAt: now)
        let old = self.kill(scope, name)
        let audit = AuditEntry(
            id: IDs.make("aud", at: now), at: now, actor: actor, action: "kill", target: "\(scope.rawValue):\(name)",
            reason: reason, oldValue: old.map { Self.value($0) }, newValue: Self.value(kill))
        try await store.setKill(kill, audit: audit)
        await applyAndAnnounce()
        return kill
    }

    /// Turns a switch off; `nil` when it was not on.
    public func remove(_ scope: KillSwitch.Scope, _ name: String, reason: String?, actor: String) async throws -> KillSwitch? {
        let now = clock.now()
        let audit = AuditEntry(
            id: IDs.make("aud", at: now), at: now, actor: actor, action: "unkill", target: "\(scope.rawValue):\(name)",
            reason: reason, oldValue: self.kill(scope, name).map { Self.value($0) })
        let old = try await store.removeKill(scope: scope, name: name, audit: audit)
        if old != nil { await applyAndAnnounce() }
        return old
    }

    /// A switch as the audit log keeps it.
    static func value(_ k: KillSwitch) -> String {
        JSON.object([
            "reason": .string(k.reason), "actor": .string(k.actor), "created_at": .string(Timestamp.iso8601(k.createdAt)),
        ]).jsonString
    }

    /// Applies a stored change here and tells the other nodes. The change is stored
    /// already, so neither step failing undoes it: the announcement goes out even
    /// if this node's reload failed (its own notification reloads it again).
    private func applyAndAnnounce() async {
        await reloadLogged()
        do {
            try await feed.publish(Change(topic: Self.topic))
        } catch {
            // Stored already: other nodes pick it up on their next resync.
            logger.warning("kill switch stored but not announced to other nodes", metadata: ["error": "\(error)"])
        }
    }
}
