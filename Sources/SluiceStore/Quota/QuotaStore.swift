import Foundation

/// A request for a slice of a quota window: a purpose's daily budget (in
/// nano-USD), a key's requests or tokens per minute.
///
/// Every node that shares a store shares one pool per `scope` and `window`.
/// A node takes a slice (a lease) in one atomic statement and spends it
/// locally, so the cap holds across nodes without a round trip per call.
public struct LeaseRequest: Sendable, Equatable {
    /// What the quota limits, such as `budget:purpose:triage` or `rpm:key:web`.
    public var scope: String
    /// The window the cap applies to, such as `2026-11-23` (a UTC day) or `2026-11-23T10:15` (a minute).
    public var window: String
    /// The cap of the window, in the scope's unit. The latest request's cap wins, so a config change applies.
    public var cap: Int64
    /// The slice wanted. The grant is smaller when less is left.
    public var amount: Int64
    /// The node taking the lease (for operators reading the table).
    public var node: String
    /// When an unsettled lease is returned to the pool by ``QuotaStore/reclaimExpiredLeases(now:)``.
    public var expiresAt: Date
    /// When the request is made.
    public var now: Date

    /// A lease request; see the properties.
    public init(scope: String, window: String, cap: Int64, amount: Int64, node: String, expiresAt: Date, now: Date) {
        self.scope = scope
        self.window = window
        self.cap = cap
        self.amount = amount
        self.node = node
        self.expiresAt = expiresAt
        self.now = now
    }
}

/// A granted slice of a quota window.
public struct Lease: Sendable, Equatable {
    /// The lease id, used to report use and to settle.
    public var id: String
    /// The scope it was taken from.
    public var scope: String
    /// The window it was taken from.
    public var window: String
    /// The amount granted (never more than asked, never more than was left).
    public var amount: Int64
    /// When it returns to the pool if not settled.
    public var expiresAt: Date

    /// A lease; see the properties.
    public init(id: String, scope: String, window: String, amount: Int64, expiresAt: Date) {
        self.id = id
        self.scope = scope
        self.window = window
        self.amount = amount
        self.expiresAt = expiresAt
    }
}

/// The state of one quota window across all nodes.
public struct QuotaUsage: Sendable, Equatable {
    /// The window's cap.
    public var cap: Int64
    /// Outstanding leases plus settled use: what is no longer available to new leases.
    public var allocated: Int64
    /// Use of settled leases.
    public var used: Int64
    /// Use reported so far by leases still open (calls that ended on a live node).
    public var openUsed: Int64
    /// Reserved by calls in flight, as their nodes last reported.
    public var openReserved: Int64
    /// What new leases can still take.
    public var remaining: Int64 { max(0, cap - allocated) }
    /// Every use known to be spent: settled leases and the reported use of open ones.
    public var spent: Int64 { used + openUsed }

    /// A usage snapshot; see the properties.
    public init(cap: Int64, allocated: Int64, used: Int64, openUsed: Int64 = 0, openReserved: Int64 = 0) {
        self.cap = cap
        self.allocated = allocated
        self.used = used
        self.openUsed = openUsed
        self.openReserved = openReserved
    }
}

/// Shared quota pools (budgets, request and token windows) leased out in slices.
public protocol QuotaStore: Sendable {
    /// Takes up to `request.amount` from the window in one atomic statement;
    /// `nil` when nothing is left. The sum of outstanding leases and settled use never exceeds the cap.
    func acquireLease(_ request: LeaseRequest) async throws -> Lease?
    /// Records how much of a lease has been spent so far and how much calls in flight hold, so
    /// that a node that dies does not hand its spent money back at expiry (a reclaim charges both)
    /// and other nodes can tell spent money from reserved money.
    func reportLeaseUse(_ leaseID: String, used: Int64, reserved: Int64) async throws
    /// Closes a lease: `used` is kept as spent and the rest returns to the pool.
    ///
    /// Returns `false` when the lease was already settled or reclaimed (its node was too slow).
    /// Money is never dropped even then: any part of `used` beyond what the lease already
    /// recorded is charged to the pool (counted as used and allocated), so a repeated settle
    /// charges nothing twice.
    @discardableResult
    func settleLease(_ leaseID: String, used: Int64, now: Date) async throws -> Bool
    /// Settles every lease past its expiry at its last reported use plus reservation; returns how many.
    func reclaimExpiredLeases(now: Date) async throws -> Int
    /// The window's state, or `nil` if no lease was ever taken from it.
    func quotaUsage(scope: String, window: String) async throws -> QuotaUsage?
    /// Deletes windows not touched since `before` that hold no open lease; returns how many.
    func pruneQuotaWindows(before: Date) async throws -> Int
}
