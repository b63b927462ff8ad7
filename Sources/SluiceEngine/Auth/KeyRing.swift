import SluiceCore
import SluiceStore

/// Who is calling.
public struct Identity: Sendable, Equatable {
    /// The virtual key's name; `nil` for unauthenticated loopback calls.
    public var keyName: String?
    /// Purposes the caller may use; `["*"]` for all.
    public var purposes: [String]
    /// True for the admin key.
    public var isAdmin: Bool

    /// An unauthenticated loopback caller in open mode: any purpose, not admin.
    public static let openLoopback = Identity(keyName: nil, purposes: ["*"], isAdmin: false)

    /// Whether the caller may use `purpose`.
    public func allows(purpose: String) -> Bool {
        isAdmin || purposes.contains("*") || purposes.contains(purpose)
    }
}

/// Virtual keys and the admin key, held only as SHA-256 hashes.
public struct KeyRing: Sendable {
    private var byHash: [String: Identity]
    private let adminHash: String?

    /// True when no virtual keys exist: the data plane is open to loopback callers.
    public var isOpen: Bool { byHash.isEmpty }
    /// True when an admin key is configured.
    public var hasAdminKey: Bool { adminHash != nil }

    /// Hashes the virtual keys and the admin key (`nil` for none); the keys themselves are not kept.
    public init(keys: [SluiceConfig.VirtualKey], adminKey: String?) {
        var map: [String: Identity] = [:]
        for k in keys { map[Hashing.sha256Hex(k.key)] = Identity(keyName: k.name, purposes: k.purposes, isAdmin: false) }
        byHash = map
        adminHash = adminKey.map(Hashing.sha256Hex)
    }

    /// The keys as stored (name, hash, scope).
    public var storedKeys: [StoredKey] {
        byHash.map { StoredKey(name: $0.value.keyName ?? "", keyHash: $0.key, purposes: $0.value.purposes) }
            .sorted { $0.name < $1.name }
    }

    /// Resolves a presented key. The admin key also works on the data plane.
    public func identity(forKey key: String) -> Identity? {
        let hash = Hashing.sha256Hex(key)
        if let adminHash, Hashing.constantTimeEquals(hash, adminHash) {
            return Identity(keyName: "admin", purposes: ["*"], isAdmin: true)
        }
        return byHash[hash]
    }

    /// Authenticates a data-plane call.
    /// With no virtual keys configured, loopback callers are let in whatever key
    /// they send (SDKs insist on sending one).
    public func authenticateData(key: String?, fromLoopback: Bool) throws(SluiceError) -> Identity {
        if let key {
            if let id = identity(forKey: key) { return id }
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
            if isOpen && fromLoopback { return Identity(keyName: nil, purposes: ["*"], isAdmin: true) }
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
