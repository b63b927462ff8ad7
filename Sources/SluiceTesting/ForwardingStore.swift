import Foundation
import SluiceCore
import SluiceStore

/// A store that passes every call to `base`; test doubles conform and
/// override only what they change (fail while "down", count round trips).
public protocol ForwardingStore: SluiceStore {
    /// The store calls go to.
    var base: any SluiceStore { get }
}

extension ForwardingStore {
    public var backend: String { base.backend }
    public var changes: any ChangeFeed { base.changes }
    public func migrate() async throws { try await base.migrate() }
    public func ping() async throws { try await base.ping() }
    public func close() async throws { try await base.close() }
    public func insert(_ records: [CallRecord]) async throws { try await base.insert(records) }
    public func list(_ filter: CallFilter) async throws -> [CallRecord] { try await base.list(filter) }
    public func get(_ callID: String) async throws -> CallRecord? { try await base.get(callID) }
    public func count() async throws -> Int { try await base.count() }
    public func upsertKeys(_ keys: [StoredKey]) async throws { try await base.upsertKeys(keys) }
    public func listKeys() async throws -> [StoredKey] { try await base.listKeys() }
    public func createRuntimeKey(_ key: RuntimeKey, audit: AuditEntry) async throws { try await base.createRuntimeKey(key, audit: audit) }
    public func runtimeKeys() async throws -> [RuntimeKey] { try await base.runtimeKeys() }
    public func runtimeKey(id: String) async throws -> RuntimeKey? { try await base.runtimeKey(id: id) }
    public func revokeRuntimeKey(id: String, at: Date, audit: AuditEntry) async throws -> RuntimeKey? {
        try await base.revokeRuntimeKey(id: id, at: at, audit: audit)
    }
    public func rotateRuntimeKey(id: String, keyHash: String, prefix: String, previousValidUntil: Date?, audit: AuditEntry) async throws
        -> RuntimeKey?
    {
        try await base.rotateRuntimeKey(id: id, keyHash: keyHash, prefix: prefix, previousValidUntil: previousValidUntil, audit: audit)
    }
    public func endUserLimits() async throws -> [EndUserLimit] { try await base.endUserLimits() }
    public func failedCalls(from: Date, to: Date, limit: Int) async throws -> [FailedCall] {
        try await base.failedCalls(from: from, to: to, limit: limit)
    }
    public func negativeFeedback(from: Date, to: Date, limit: Int) async throws -> [Feedback] {
        try await base.negativeFeedback(from: from, to: to, limit: limit)
    }
    public func claimReviewPeriod(_ period: Int64, node: String, at: Date) async throws -> Bool {
        try await base.claimReviewPeriod(period, node: node, at: at)
    }
    public func putEndUserLimit(_ limit: EndUserLimit, audit: AuditEntry) async throws { try await base.putEndUserLimit(limit, audit: audit) }
    public func deleteEndUserLimit(user: String, audit: AuditEntry) async throws -> Bool {
        try await base.deleteEndUserLimit(user: user, audit: audit)
    }
    public func acquireLease(_ r: LeaseRequest) async throws -> Lease? { try await base.acquireLease(r) }
    public func reportLeaseUse(_ id: String, used: Int64, reserved: Int64) async throws {
        try await base.reportLeaseUse(id, used: used, reserved: reserved)
    }
    public func settleLease(_ id: String, used: Int64, now: Date) async throws -> Bool {
        try await base.settleLease(id, used: used, now: now)
    }
    public func reclaimExpiredLeases(now: Date) async throws -> Int { try await base.reclaimExpiredLeases(now: now) }
    public func quotaUsage(scope: String, window: String) async throws -> QuotaUsage? {
        try await base.quotaUsage(scope: scope, window: window)
    }
    public func pruneQuotaWindows(before: Date) async throws -> Int { try await base.pruneQuotaWindows(before: before) }
    public func setKill(_ kill: KillSwitch, audit: AuditEntry) async throws -> KillSwitch? {
        try await base.setKill(kill, audit: audit)
    }
    public func removeKill(scope: KillSwitch.Scope, name: String, audit: AuditEntry) async throws -> KillSwitch? {
        try await base.removeKill(scope: scope, name: name, audit: audit)
    }
    public func kills() async throws -> [KillSwitch] { try await base.kills() }
    public func appendAudit(_ entry: AuditEntry) async throws { try await base.appendAudit(entry) }
    public func audit(limit: Int, before: String?) async throws -> [AuditEntry] {
        try await base.audit(limit: limit, before: before)
    }
    public func cacheGet(_ key: String, now: Date) async throws -> CacheEntry? { try await base.cacheGet(key, now: now) }
    public func cachePut(_ entries: [CacheEntry]) async throws { try await base.cachePut(entries) }
    public func cacheScope(_ scope: String, now: Date, limit: Int) async throws -> [CacheEntry] {
        try await base.cacheScope(scope, now: now, limit: limit)
    }
    public func cachePurge(expiredAt now: Date) async throws -> Int { try await base.cachePurge(expiredAt: now) }
    public func cacheClear(purpose: String?) async throws -> Int { try await base.cacheClear(purpose: purpose) }
    public func cacheSizes() async throws -> [String: (entries: Int, bytes: Int)] { try await base.cacheSizes() }
    public func cacheUsage(since: Date) async throws -> [CacheUsageRow] { try await base.cacheUsage(since: since) }
    public func addReview(_ item: ReviewItem) async throws { try await base.addReview(item) }
    public func reviews(status: ReviewItem.Status?, purpose: String?, limit: Int, before: String?) async throws -> [ReviewItem] {
        try await base.reviews(status: status, purpose: purpose, limit: limit, before: before)
    }
    public func review(_ id: String) async throws -> ReviewItem? { try await base.review(id) }
    public func decideReview(_ id: String, _ decision: ReviewDecision) async throws -> ReviewItem? {
        try await base.decideReview(id, decision)
    }
    public func ledgerEntry(callID: String) async throws -> LedgerEntry? { try await base.ledgerEntry(callID: callID) }
    public func ledgerTotals(from: Date, to: Date, by: LedgerDimension?, purpose: String?) async throws -> [LedgerTotal] {
        try await base.ledgerTotals(from: from, to: to, by: by, purpose: purpose)
    }
    public func ledgerDaily(from: Date, to: Date, purpose: String?) async throws -> [String: Double] {
        try await base.ledgerDaily(from: from, to: to, purpose: purpose)
    }
    public func latencyPercentiles(from: Date, to: Date, by: LedgerDimension) async throws -> [GroupLatency] {
        try await base.latencyPercentiles(from: from, to: to, by: by)
    }
    public func callCounts(from: Date, to: Date, purpose: String?) async throws -> CallCounts {
        try await base.callCounts(from: from, to: to, purpose: purpose)
    }
    public func createTask(_ task: TaskRecord) async throws -> TaskCreation { try await base.createTask(task) }
    public func task(_ id: String) async throws -> TaskRecord? { try await base.task(id) }
    public func tasks(status: TaskRecord.Status?, purpose: String?, keyName: String?, limit: Int, before: String?) async throws -> [TaskRecord] {
        try await base.tasks(status: status, purpose: purpose, keyName: keyName, limit: limit, before: before)
    }
    public func claimTasks(worker: String, limit: Int, now: Date, purposes: TaskClaimFilter) async throws -> [TaskRecord] {
        try await base.claimTasks(worker: worker, limit: limit, now: now, purposes: purposes)
    }
    public func heartbeatTask(_ id: String, worker: String, attempt: Int, now: Date) async throws -> Bool {
        try await base.heartbeatTask(id, worker: worker, attempt: attempt, now: now)
    }
    public func addTaskCall(_ id: String, callID: String) async throws { try await base.addTaskCall(id, callID: callID) }
    public func finishTask(
        _ id: String, worker: String, attempt: Int, status: TaskRecord.Status, result: String?, error: String?, now: Date
    ) async throws -> TaskRecord? {
        try await base.finishTask(id, worker: worker, attempt: attempt, status: status, result: result, error: error, now: now)
    }
    public func retryTask(_ id: String, now: Date) async throws -> TaskRecord? { try await base.retryTask(id, now: now) }
    public func cancelTask(_ id: String, now: Date) async throws -> TaskRecord? { try await base.cancelTask(id, now: now) }
    public func sweepStaleTasks(heartbeatBefore: Date, message: String, now: Date) async throws -> [TaskRecord] {
        try await base.sweepStaleTasks(heartbeatBefore: heartbeatBefore, message: message, now: now)
    }
    public func recordWebhookAttempt(_ attempt: WebhookAttempt) async throws { try await base.recordWebhookAttempt(attempt) }
    public func webhookAttempts(taskID: String) async throws -> [WebhookAttempt] { try await base.webhookAttempts(taskID: taskID) }
    public func taskCounts() async throws -> [String: Int] { try await base.taskCounts() }
    public func createBatch(_ batch: TaskBatch) async throws { try await base.createBatch(batch) }
    public func batch(_ id: String) async throws -> TaskBatch? { try await base.batch(id) }
    public func openBatches() async throws -> [TaskBatch] { try await base.openBatches() }
    public func transitionBatch(
        _ id: String, from: TaskBatch.Status, to: TaskBatch.Status, upstreamID: String?, error: String?, now: Date
    ) async throws -> TaskBatch? {
        try await base.transitionBatch(id, from: from, to: to, upstreamID: upstreamID, error: error, now: now)
    }
    public func heartbeatBatchTasks(_ id: String, now: Date) async throws -> Int { try await base.heartbeatBatchTasks(id, now: now) }
    public func claimIdempotency(
        scope: String, key: String, requestHash: String, now: Date, expiredBefore: Date, abandonedBefore: Date
    ) async throws -> IdempotencyClaim {
        try await base.claimIdempotency(
            scope: scope, key: key, requestHash: requestHash, now: now, expiredBefore: expiredBefore, abandonedBefore: abandonedBefore)
    }
    public func completeIdempotency(
        scope: String, key: String, claimedAt: Date, status: Int, headers: String, body: String, now: Date
    ) async throws {
        try await base.completeIdempotency(scope: scope, key: key, claimedAt: claimedAt, status: status, headers: headers, body: body, now: now)
    }
    public func releaseIdempotency(scope: String, key: String, claimedAt: Date) async throws {
        try await base.releaseIdempotency(scope: scope, key: key, claimedAt: claimedAt)
    }
    public func pruneIdempotency(before: Date) async throws -> Int { try await base.pruneIdempotency(before: before) }
    public func flags() async throws -> [StoredFlag] { try await base.flags() }
    public func claimEvalSlot(suite: String, slot: Int64, node: String, at: Date) async throws -> Bool {
        try await base.claimEvalSlot(suite: suite, slot: slot, node: node, at: at)
    }
    public func addEvalScores(_ scores: [EvalScore]) async throws { try await base.addEvalScores(scores) }
    public func evalScores(purpose: String, limit: Int) async throws -> [EvalScore] {
        try await base.evalScores(purpose: purpose, limit: limit)
    }
    public func callStats(purpose: String, from: Date, to: Date, limit: Int) async throws -> [CallStat] {
        try await base.callStats(purpose: purpose, from: from, to: to, limit: limit)
    }
    public func feedbackScores(purpose: String, from: Date, to: Date) async throws -> [Double] {
        try await base.feedbackScores(purpose: purpose, from: from, to: to)
    }
    public func changeFlags(
        _ changes: [FlagChange], actor: String, action: String, reason: String?, at: Date, auditID: @Sendable (Int) -> String
    ) async throws -> [AuditEntry]? {
        try await base.changeFlags(changes, actor: actor, action: action, reason: reason, at: at, auditID: auditID)
    }
    public func addFeedback(_ item: Feedback) async throws { try await base.addFeedback(item) }
    public func feedback(_ id: String) async throws -> Feedback? { try await base.feedback(id) }
    public func feedback(callIDs: [String]) async throws -> [Feedback] { try await base.feedback(callIDs: callIDs) }
    public func shadowPairs(purpose: String, since: Date, limit: Int) async throws -> [ShadowPair] {
        try await base.shadowPairs(purpose: purpose, since: since, limit: limit)
    }
    public func rollups(from: Date, to: Date, purpose: String?) async throws -> [CallRollup] {
        try await base.rollups(from: from, to: to, purpose: purpose)
    }
    public func saveResponse(_ r: StoredResponse) async throws { try await base.saveResponse(r) }
    public func response(_ id: String) async throws -> StoredResponse? { try await base.response(id) }
    public func deleteResponse(_ id: String) async throws -> Bool { try await base.deleteResponse(id) }
    public func responseChain(_ id: String, limit: Int) async throws -> [StoredResponse] {
        try await base.responseChain(id, limit: limit)
    }
    public func updateResponseStatus(
        _ id: String, status: StoredResponse.Status, error: String?, now: Date, onlyFrom: [StoredResponse.Status]
    ) async throws -> StoredResponse? {
        try await base.updateResponseStatus(id, status: status, error: error, now: now, onlyFrom: onlyFrom)
    }
    public func deleteExpiredResponses(before: Date) async throws -> Int { try await base.deleteExpiredResponses(before: before) }
}

/// A sample call record for store tests: `i` sets its tokens and cost, ids sort by `i`.
public func sampleRecord(_ i: Int, purpose: String = "p", status: CallRecord.Status = .ok, at: Date = Date()) -> CallRecord {
    var r = CallRecord(callID: IDs.callID(at: at.addingTimeInterval(Double(i) / 100)), createdAt: at, purpose: purpose, model: "m")
    r.status = status
    r.usage = Usage(inputTokens: i, outputTokens: 2 * i)
    r.costUSD = i % 2 == 0 ? Double(i) / 1000 : nil
    r.attempts = [Attempt(provider: "x", model: "m-1", status: 200, latencyMs: 1.5, error: nil)]
    r.params = ["temperature": 0.5]
    return r
}
