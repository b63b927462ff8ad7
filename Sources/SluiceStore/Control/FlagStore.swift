import Foundation

/// One live flag (`triage.variants`, `triage.model`…): a JSON value that overrides the config.
public struct StoredFlag: Sendable, Equatable {
    /// `PURPOSE.NAME`.
    public var key: String
    /// The value as JSON text.
    public var value: String
    /// Who set it.
    public var actor: String
    /// When.
    public var updatedAt: Date

    /// A flag; see the properties.
    public init(key: String, value: String, actor: String, updatedAt: Date) {
        self.key = key
        self.value = value
        self.actor = actor
        self.updatedAt = updatedAt
    }
}

/// One change to one flag: a new value, or `nil` to remove it.
public struct FlagChange: Sendable, Equatable {
    /// `PURPOSE.NAME`.
    public var key: String
    /// The new value as JSON text; `nil` removes the flag.
    public var value: String?
    /// Only apply the batch if the flag's current value is this (`.some(nil)`: absent); `nil` checks nothing.
    public var expected: String??

    /// A change; see the properties.
    public init(key: String, value: String?, expected: String?? = nil) {
        self.key = key
        self.value = value
        self.expected = expected
    }
}

/// Live flags shared by every node. A batch of changes and their audit entries
/// (old and new value of each) commit together or not at all.
public protocol FlagStore: Sendable {
    /// Every flag, by key.
    func flags() async throws -> [StoredFlag]
    /// Applies `changes` in one transaction, appending one audit entry per change (`action`,
    /// target `flag:KEY`, old and new value) with `actor`, `reason` and ids made by `auditID`.
    /// When a change has an `expected` value that does not hold, nothing is applied and `nil` is
    /// returned; otherwise the audit entries written (a change to the same value writes none).
    func changeFlags(
        _ changes: [FlagChange], actor: String, action: String, reason: String?, at: Date, auditID: @Sendable (Int) -> String
    ) async throws -> [AuditEntry]?
}

extension FlagChange {
    /// The audit entries for this batch against the current values, or `nil` when an expectation fails.
    static func plan(
        _ changes: [FlagChange], current: [String: String], actor: String, action: String, reason: String?, at: Date,
        auditID: (Int) -> String
    ) -> [AuditEntry]? {
        for c in changes {
            if let expected = c.expected, current[c.key] != expected { return nil }
        }
        var entries: [AuditEntry] = []
        for c in changes where current[c.key] != c.value {
            entries.append(
                AuditEntry(
                    id: auditID(entries.count), at: at, actor: actor, action: action, target: "flag:\(c.key)", reason: reason,
                    oldValue: current[c.key], newValue: c.value))
        }
        return entries
    }
}
