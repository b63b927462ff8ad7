import Foundation
import SluiceCore
import SluiceStore
import Synchronization

/// Who is calling.
public struct Identity: Sendable, Equatable {
    /// The virtual key's name; `nil` for unauthenticated loopback calls.
    public var keyName: String?
    /// Purposes the caller may use; `["*"]` for all.
    public var purposes: [String]
    /// True for the admin key.
    public var isAdmin: Bool
    /// The runtime key's id; `nil` for config keys, the admin key and open mode.
    public var keyID: String? = nil
    /// Models the caller may call; empty allows all.
    public var models: [String] = []
    /// A runtime key's budgets and rate limits (config keys' come from the config).
    public var limits: KeyLimits? = nil
    /// The key's team, whose caps its calls count against too.
    public var team: String? = nil

    /// An unauthenticated loopback caller in open mode: any purpose, not admin.
    public static let openLoopback = Identity(keyName: nil, purposes: ["*"], isAdmin: false)

    /// Whether the caller may use `purpose`.
    public func allows(purpose: String) -> Bool {
        isAdmin || purposes.contains("*") || purposes.contains(purpose)
    }

    /// Whether the caller may call the model named `model`.
    public func allows(model: String) -> Bool {
        isAdmin || models.isEmpty || models.contains("*") || models.contains(model)
    }
}

/// A runtime key's budgets and rate limits.
public struct KeyLimits: Sendable, Equatable {
    /// Spending cap per UTC day.
    public var dailyBudgetUSD: Double?
    /// Spending cap per UTC calendar month.
    public var monthlyBudgetUSD: Double?
    /// Requests per minute.
    public var rpm: Int?
    /// Tokens (input + output) per minute.
    public var tpm: Int?

    /// Limits; `nil` fields do not apply.
    public init(dailyBudgetUSD: Double? = nil, monthlyBudgetUSD: Double? = nil, rpm: Int? = nil, tpm: Int? = nil) {
        self.dailyBudgetUSD = dailyBudgetUSD
        self.monthlyBudgetUSD = monthlyBudgetUSD
        self.rpm = rpm
        self.tpm = tpm
    }
}

/// Virtual keys and the admin key, held only as SHA-256 hashes: the config's
/// keys, fixed at start, and a live layer of runtime keys (``KeyBoard`` replaces
/// it whenever any node changes them).
public final class KeyRing: Sendable {
    private let byHash: [String: Identity]
    private let adminHash: String?
    private let runtime = Mutex(RuntimeKeyIndex())
    let clock: any WallClock

    /// True when no virtual keys exist (config or live runtime keys): the data plane is open to loopback callers.
    public var isOpen: Bool { byHash.isEmpty && runtime.withLock { $0.live == 0 } }
    /// True when an admin key is configured.
    public var hasAdminKey: Bool { adminHash != nil }

    /// Hashes the virtual keys and the admin key (`nil` for none); the keys themselves are not kept.
    public init(keys: [SluiceConfig.VirtualKey], adminKey: String?, clock: any WallClock = SystemClock()) {
        var map: [String: Identity] = [:]
        for k in keys {
            map[Hashing.sha256Hex(k.key)] = Identity(keyName: k.name, purposes: k.purposes, isAdmin: false, team: k.team)
        }
        byHash = map
        adminHash = adminKey.map(Hashing.sha256Hex)
        self.clock = clock
    }

    /// The config keys' names.
    public var configKeyNames: [String] { byHash.values.compactMap(\.keyName).sorted() }

    /// The identity of the runtime key named `name` (for tasks it submitted): its scope while it is
    /// live, no purpose at all once it is revoked or expired; `nil` when no runtime key has that name.
    public func runtimeIdentity(named name: String) -> Identity? {
        let now = clock.now()
        return runtime.withLock { $0.identity(named: name, now: now) }
    }

    /// Replaces the runtime keys (revoked ones included, to say so when one is presented).
    public func replaceRuntimeKeys(_ keys: [RuntimeKey], now: Date = Date()) {
        let index = RuntimeKeyIndex(keys, now: now)
        runtime.withLock { $0 = index }
    }

    /// The keys as stored (name, hash, scope).
    public var storedKeys: [StoredKey] {
        byHash.map { StoredKey(name: $0.value.keyName ?? "", keyHash: $0.key, purposes: $0.value.purposes) }
            .sorted { $0.name < $1.name }
    }

    /// Resolves a presented key. The admin key also works on the data plane.
    /// The admin key is compared in constant time, virtual keys are found by the SHA-256
    /// of the presented secret; revoked and expired runtime keys resolve to `nil`.
    public func identity(forKey key: String) -> Identity? {
        try? resolve(key)
    }

    /// The identity of `key`; `nil` when unknown, throws when it is a revoked or expired runtime key.
    func resolve(_ key: String) throws(SluiceError) -> Identity? {
        let hash = Hashing.sha256Hex(key)
        if let adminHash, Hashing.constantTimeEquals(hash, adminHash) {
            return Identity(keyName: "admin", purposes: ["*"], isAdmin: true)
        }
        // Found by the hash of the secret: how long the lookup takes says nothing about the secret.
        if let id = byHash[hash] { return id }
        return try runtime.withLock { index throws(SluiceError) in try index.identity(hash: hash, now: clock.now()) }
    }

    /// Authenticates a data-plane call.
    /// With no virtual keys configured, loopback callers are let in whatever key
    /// they send (SDKs insist on sending one).
    public func authenticateData(key: String?, fromLoopback: Bool) throws(SluiceError) -> Identity {
        if let key {
            if let id = try resolve(key) { return id }
            if !(isOpen && fromLoopback) {
                throw SluiceError(.invalidAPIKey, "The API key is not valid for this Sluice gateway. Check the key or ask an operator for one.")
            }
        }
        if isOpen {
            guard fromLoopback else {
                throw SluiceError(.invalidAPIKey, "This gateway has no keys configured and accepts unauthenticated calls from loopback only. Configure auth.keys to call it from elsewhere.")
            }
            return .openLoopback
        }
        throw SluiceError(.invalidAPIKey, "Missing API key. Send 'Authorization: Bearer <key>'.")
    }

    /// Authenticates an admin call: the admin key when one is configured; when none
    /// is and no virtual keys exist either, loopback callers are let in.
    public func authenticateAdmin(key: String?, fromLoopback: Bool) throws(SluiceError) -> Identity {
        if adminHash == nil {
            // Runtime keys do not close admin routes: they are how those keys are revoked.
            if byHash.isEmpty && fromLoopback { return Identity(keyName: nil, purposes: ["*"], isAdmin: true) }
            throw SluiceError(.forbidden, "Admin routes need the admin key, and none is configured. Set auth.admin_key.")
        }
        guard let key else {
            throw SluiceError(.forbidden, "This admin route needs the admin key. Send 'Authorization: Bearer <admin key>'.")
        }
        guard let id = identity(forKey: key), id.isAdmin else {
            throw SluiceError(.forbidden, "This admin route needs the admin key; the key sent is not it.")
        }
        return id
    }

    /// The dashboard's session cookie value: derived from the admin key's hash,
    /// so every node accepts it, it never reveals the key, and rotating the key
    /// ends every session. `nil` when no admin key is configured.
    public var dashboardSession: String? {
        adminHash.map { Hashing.hmacSHA256Hex(key: $0, message: Array("sluice-dashboard-session-v1".utf8)) }
    }

    /// True when `token` is the current dashboard session value.
    public func isDashboardSession(_ token: String) -> Bool {
        guard let expected = dashboardSession else { return false }
        return Hashing.constantTimeEquals(token, expected)
    }
}
