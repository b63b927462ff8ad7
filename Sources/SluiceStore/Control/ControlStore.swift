import Foundation

/// A kill switch: one purpose, model or provider switched off by an operator.
public struct KillSwitch: Sendable, Equatable {
    /// What a kill switch can name.
    public enum Scope: String, Sendable, CaseIterable {
        case purpose, model, provider
    }

    /// What kind of thing is switched off.
    public var scope: Scope
    /// Its name (`triage`, `fast`, `openai`).
    public var name: String
    /// Why, as the operator wrote it; sent to callers.
    public var reason: String
    /// Who switched it off.
    public var actor: String
    /// When.
    public var createdAt: Date

    /// A kill switch; see the properties.
    public init(scope: Scope, name: String, reason: String, actor: String, createdAt: Date) {
        self.scope = scope
        self.name = name
        self.reason = reason
        self.actor = actor
        self.createdAt = createdAt
    }
}

/// One entry of the audit log: who changed what, when, and why.
public struct AuditEntry: Sendable, Equatable {
    /// Time-ordered id.
    public var id: String
    /// When the change was made.
    public var at: Date
    /// Who made it (the `X-Sluice-Actor` header, or `admin`).
    public var actor: String
    /// What was done: `kill`, `unkill`, later `flags.set`…
    public var action: String
    /// What it was done to: `purpose:triage`, `provider:openai`…
    public var target: String
    /// The operator's reason, when given.
    public var reason: String?
    /// The value before, as JSON text; `nil` when there was none.
    public var oldValue: String?
    /// The value after, as JSON text; `nil` when removed.
    public var newValue: String?

    /// An entry; see the properties.
    public init(
        id: String, at: Date, actor: String, action: String, target: String, reason: String? = nil,
        oldValue: String? = nil, newValue: String? = nil
    ) {
        self.id = id
        self.at = at
        self.actor = actor
        self.action = action
        self.target = target
        self.reason = reason
        self.oldValue = oldValue
        self.newValue = newValue
    }
}

/// Operator controls shared by every node: kill switches and the audit log
/// that records every change to them.
public protocol ControlStore: Sendable {
    /// Turns a kill switch on (or replaces its reason) and appends `audit`, in one transaction.
    /// Returns the switch it replaced, if one was on.
    @discardableResult
    func setKill(_ kill: KillSwitch, audit: AuditEntry) async throws -> KillSwitch?
    /// Turns a kill switch off and appends `audit`, in one transaction; `nil` (and no audit entry) when it was not on.
    func removeKill(scope: KillSwitch.Scope, name: String, audit: AuditEntry) async throws -> KillSwitch?
    /// Every kill switch that is on.
    func kills() async throws -> [KillSwitch]
    /// Appends an audit entry on its own.
    func appendAudit(_ entry: AuditEntry) async throws
    /// Audit entries newest first, strictly older than the id `before` when given.
    func audit(limit: Int, before: String?) async throws -> [AuditEntry]
}
