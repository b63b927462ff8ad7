import Foundation
import SluiceCore
import SluiceStore

/// The runtime keys by the hash of their secrets: the current one, and the
/// previous one while a rotation's grace period lasts.
struct RuntimeKeyIndex: Sendable {
    struct Entry: Sendable {
        var key: RuntimeKey
        /// True for the secret a rotation replaced.
        var previous: Bool
    }

    private var byHash: [String: Entry] = [:]
    /// Keys neither revoked nor expired when loaded (a later expiry still counts until the next load).
    private(set) var live = 0

    init() {}

    init(_ keys: [RuntimeKey], now: Date = Date()) {
        for k in keys {
            byHash[k.keyHash] = Entry(key: k, previous: false)
            if let old = k.previousHash, k.previousValidUntil != nil { byHash[old] = Entry(key: k, previous: true) }
            if k.revokedAt == nil, k.expiresAt.map({ $0 > now }) ?? true { live += 1 }
        }
    }

    /// The identity of the newest key named `name`; denied every purpose when it is revoked or expired.
    func identity(named name: String, now: Date) -> Identity? {
        let keys = byHash.values.filter { !$0.previous && $0.key.name == name }.map(\.key).sorted { $0.id < $1.id }
        guard let k = keys.first(where: { $0.revokedAt == nil }) ?? keys.last else { return nil }
        return (try? identity(hash: k.keyHash, now: now)) ?? Identity(keyName: name, purposes: [], isAdmin: false, keyID: k.id)
    }

    /// The identity of the key whose secret hashes to `hash`; `nil` when none;
    /// throws `invalid_api_key` for a revoked, expired or rotated-out key.
    func identity(hash: String, now: Date) throws(SluiceError) -> Identity? {
        guard let entry = byHash[hash] else { return nil }
        let k = entry.key
        if let at = k.revokedAt {
            throw SluiceError(
                .invalidAPIKey, "The API key '\(k.name)' was revoked at \(Timestamp.iso8601(at)). Ask an operator for a new key.")
        }
        if let at = k.expiresAt, at <= now {
            throw SluiceError(
                .invalidAPIKey, "The API key '\(k.name)' expired at \(Timestamp.iso8601(at)). Ask an operator for a new key.")
        }
        if entry.previous {
            guard let until = k.previousValidUntil, until > now else {
                throw SluiceError(
                    .invalidAPIKey, "The API key '\(k.name)' was rotated and this secret is no longer valid. Use the new secret.")
            }
        }
        return Identity(
            keyName: k.name, purposes: k.purposes, isAdmin: false, keyID: k.id, models: k.models,
            limits: KeyLimits(dailyBudgetUSD: k.dailyBudgetUSD, monthlyBudgetUSD: k.monthlyBudgetUSD, rpm: k.rpm, tpm: k.tpm),
            team: k.team)
    }
}
