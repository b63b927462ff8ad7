import Foundation
import Logging
import SluiceCore
import SluiceStore
import Synchronization

/// Virtual keys created at runtime: created, rotated and revoked through the
/// store (audited), applied to this node's ``KeyRing`` at once and announced to
/// the others on the change feed (topic `keys`), which reload them within a second.
public final class KeyBoard: Sendable {
    /// The change-feed topic key changes are announced on.
    public static let topic = "keys"

    let ring: KeyRing
    let store: any SluiceStore
    let feed: any ChangeFeed
    /// The clock keys are created, expired and rotated by.
    public let clock: any WallClock
    let logger: Logger
    /// Loads are numbered so an older load finishing late never overwrites a newer one.
    private let generation = Mutex<(started: Int, applied: Int)>((0, 0))

    /// A board over `store` that keeps `ring`'s runtime keys current.
    public init(ring: KeyRing, store: any SluiceStore, feed: any ChangeFeed, clock: any WallClock, logger: Logger) {
        self.ring = ring
        self.store = store
        self.feed = feed
        self.clock = clock
        self.logger = logger
    }

    /// Reloads the runtime keys from the store into the key ring.
    public func reload() async throws {
        let number = generation.withLock { g -> Int in
            g.started += 1
            return g.started
        }
        let keys = try await store.runtimeKeys()
        let now = clock.now()
        generation.withLock { g in
            guard number > g.applied else { return }
            g.applied = number
            ring.replaceRuntimeKeys(keys, now: now)
        }
    }

    /// Reloads, logging instead of throwing (for change handlers).
    public func reloadLogged() async {
        do { try await reload() } catch {
            logger.error("could not reload runtime keys; keeping the ones loaded", metadata: ["error": "\(error)"])
        }
    }

    /// Every runtime key, revoked ones included, oldest first.
    public func list() async throws -> [RuntimeKey] { try await store.runtimeKeys() }

    /// One runtime key by id.
    public func key(id: String) async throws -> RuntimeKey? { try await store.runtimeKey(id: id) }

    /// Creates a key from `draft` (its id, hash, prefix and creation time are set here);
    /// returns it with its secret, which is not kept anywhere.
    public func create(_ draft: RuntimeKey, actor: String) async throws -> (key: RuntimeKey, secret: String) {
        if ring.configKeyNames.contains(draft.name) {
            throw SluiceError.invalidRequest(
                "A key named '\(draft.name)' is in the config's auth.keys; choose another name.", param: "name")
        }
        let now = clock.now()
        if try await store.runtimeKeys().contains(where: { $0.name == draft.name && $0.revokedAt == nil }) {
            throw SluiceError.invalidRequest(
                "A live key is already named '\(draft.name)'; choose another name or revoke that key first.", param: "name")
        }
        let secret = Self.makeSecret()
        var key = draft
        key.id = IDs.make("key", at: now)
        key.keyHash = Hashing.sha256Hex(secret)
        key.prefix = Self.prefix(of: secret)
        key.createdAt = now
        key.revokedAt = nil
        key.previousHash = nil
        key.previousValidUntil = nil
        let audit = AuditEntry(
            id: IDs.make("aud", at: now), at: now, actor: actor, action: "keys.create", target: "key:\(key.id)",
            newValue: Self.value(key))
        try await store.createRuntimeKey(key, audit: audit)
        await applyAndAnnounce()
        return (key, secret)
    }

    /// Revokes a live key; `nil` when no live key has that id.
    public func revoke(id: String, reason: String?, actor: String) async throws -> RuntimeKey? {
        let now = clock.now()
        let old = try await store.runtimeKey(id: id)
        let audit = AuditEntry(
            id: IDs.make("aud", at: now), at: now, actor: actor, action: "keys.revoke", target: "key:\(id)", reason: reason,
            oldValue: old.map(Self.value))
        guard let key = try await store.revokeRuntimeKey(id: id, at: now, audit: audit) else { return nil }
        await applyAndAnnounce()
        return key
    }

    /// Gives a live key a new secret; the old one keeps working for `graceSeconds`.
    /// `nil` when no live key has that id.
    public func rotate(id: String, graceSeconds: Int, actor: String) async throws -> (key: RuntimeKey, secret: String)? {
        let now = clock.now()
        let secret = Self.makeSecret()
        let until = graceSeconds > 0 ? now.addingTimeInterval(TimeInterval(graceSeconds)) : nil
        let old = try await store.runtimeKey(id: id)
        let audit = AuditEntry(
            id: IDs.make("aud", at: now), at: now, actor: actor, action: "keys.rotate", target: "key:\(id)",
            oldValue: old.map(Self.value),
            newValue: JSON.object([
                "prefix": .string(Self.prefix(of: secret)), "grace_s": .int(graceSeconds),
                "previous_valid_until": until.map { .string(Timestamp.iso8601($0)) } ?? .null,
            ]).jsonString)
        guard
            let key = try await store.rotateRuntimeKey(
                id: id, keyHash: Hashing.sha256Hex(secret), prefix: Self.prefix(of: secret), previousValidUntil: until, audit: audit)
        else { return nil }
        await applyAndAnnounce()
        return (key, secret)
    }

    /// A new secret: `sk-sl-` and 40 random base62 characters from the system's generator.
    public static func makeSecret() -> String {
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        var rng = SystemRandomNumberGenerator()
        return "sk-sl-" + String((0..<40).map { _ in alphabet[Int(rng.next(upperBound: UInt64(alphabet.count)))] })
    }

    /// What lists show of a secret: its first 10 characters and an ellipsis.
    public static func prefix(of secret: String) -> String { String(secret.prefix(10)) + "…" }

    /// A key as the audit log keeps it: its fields without any hash.
    static func value(_ k: RuntimeKey) -> String {
        var o: JSONObject = [
            "name": .string(k.name), "prefix": .string(k.prefix), "purposes": .array(k.purposes.map(JSON.string)),
            "models": .array(k.models.map(JSON.string)),
        ]
        if let t = k.team { o["team"] = .string(t) }
        if let e = k.expiresAt { o["expires_at"] = .string(Timestamp.iso8601(e)) }
        if let v = k.dailyBudgetUSD { o["daily_budget_usd"] = .double(v) }
        if let v = k.monthlyBudgetUSD { o["monthly_budget_usd"] = .double(v) }
        if let v = k.rpm { o["rpm"] = .int(v) }
        if let v = k.tpm { o["tpm"] = .int(v) }
        if let r = k.revokedAt { o["revoked_at"] = .string(Timestamp.iso8601(r)) }
        return JSON.object(o).jsonString
    }

    /// Applies a stored change here and tells the other nodes; neither failing undoes it.
    private func applyAndAnnounce() async {
        await reloadLogged()
        do {
            try await feed.publish(Change(topic: Self.topic))
        } catch {
            logger.warning("key change stored but not announced to other nodes", metadata: ["error": "\(error)"])
        }
    }
}
